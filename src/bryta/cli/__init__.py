"""The ``bryta`` command line: one module per command group, assembled here."""

from __future__ import annotations

import typer

from bryta.cli import change, data, demo, import_files, measure, mutual

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
demo.register(app)
data.register(app)
import_app = typer.Typer(
    name="import", help="Bring data in: SCB exports and tables.", no_args_is_help=True
)
import_files.register(import_app)
app.add_typer(import_app, name="import")


def main() -> None:
    app()
