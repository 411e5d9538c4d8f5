"""The ``bryta`` command line: one module per command group, assembled here."""

from __future__ import annotations

import typer

from bryta.cli import (
    area_types,
    change,
    compare,
    conditions,
    data,
    decompose_difference,
    demo,
    evaluate,
    import_boundaries,
    import_files,
    imports,
    indicators,
    measure,
    multiscalar,
    mutual,
    neighbourhoods,
    profile,
    registry,
    serve,
    watch,
)

app = typer.Typer(
    name="bryta",
    help="Measure residential segregation: every standard index, every region and year.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
measure.register(app)
mutual.register(app)
change.register(app)
compare.register(app)
decompose_difference.register(app)
demo.register(app)
data.register(app)
import_files.register(imports.import_app)
import_boundaries.register(imports.import_app)
imports.register(app)
registry.register(app)
area_types.register(app)
profile.register(app)
conditions.register(app)
indicators.register(app)
neighbourhoods.register(app)
multiscalar.register(app)
serve.register(app)
evaluate.register(app)
watch.register(app)


def main() -> None:
    app()
