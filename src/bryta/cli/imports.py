"""``bryta import``: turn files from statistics offices into tidy tables.

One command per source format, all in the ``import_app`` sub-app. Each command reads its
input with an importer from :mod:`bryta.ingest`, writes the table with
:func:`~bryta.app.tables.write_table` (CSV, Parquet or JSON, atomically) and reports what it
wrote on stderr. To add an importer (``scb``, ``scb-csv``, ``kolada``, ...), write a function
like :func:`jsonstat` and decorate it with ``@import_app.command("name")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import err_console, user_errors
from bryta.errors import InputError

if TYPE_CHECKING:
    import polars as pl

import_app = typer.Typer(
    name="import",
    help="Import tables from statistics offices: into the warehouse or tidy files.",
    no_args_is_help=True,
)

Output = Annotated[Path, typer.Option("-o", "--output", help=".csv, .parquet or .json")]


def register(app: typer.Typer) -> None:
    """Add ``bryta import ...`` to ``app``."""
    app.add_typer(import_app, name="import")


@import_app.command("jsonstat")
def jsonstat(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON-stat 2.0 file, e.g. a PxWebApi 2 response saved with "
            "outputFormat=json-stat2."
        ),
    ],
    output: Output,
    dataset: Annotated[
        str | None,
        typer.Option(help="Which dataset, when the file holds several: a name or a position."),
    ] = None,
) -> None:
    """Convert a JSON-stat 2.0 dataset into a table with one row per cell.

    Example: bryta import jsonstat TAB0000.json -o population.csv

    Columns: one per dimension with the category codes as text (0114 keeps its zero),
    <dimension>_label per dimension, value (null where missing) and status (e.g. '..').

    Prints the number of rows and dimensions written and the count per status symbol.
    """
    from bryta.app.tables import check_writable, write_table
    from bryta.ingest.jsonstat import read_jsonstat

    with user_errors():
        check_writable(output)
        _check_readable(file)
        frame = read_jsonstat(file, dataset=dataset)
        write_table(frame, output)
    _report(frame, output)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")


def _report(frame: pl.DataFrame, output: Path) -> None:
    """Rows and dimensions written, values missing and the count per status symbol."""
    dimensions = frame.columns[: (frame.width - 2) // 2]
    missing = frame.get_column("value").null_count()
    lines = [
        f"wrote {frame.height} rows, {len(dimensions)} dimensions ({', '.join(dimensions)}) "
        f"to {output}" + (f"; {missing} without a value" if missing else "")
    ]
    counts = frame.get_column("status").drop_nulls().value_counts(sort=True)
    if counts.height:
        symbols = ", ".join(
            f"{symbol!r} on {n} row{'s' if n != 1 else ''}" for symbol, n in counts.iter_rows()
        )
        lines.append(f"status symbols: {symbols}")
    for line in lines:
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
