"""``bryta data``: list, show and export the datasets in the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import make_context, say, split_list, user_errors
from bryta.cli.options import DataDir

# bryta.compute.disclosure.DEFAULT_THRESHOLD (the default of --threshold; copied so that the
# help is shown without importing polars; a test compares them).
DEFAULT_THRESHOLD = 5

Threshold = Annotated[
    int, typer.Option(help="Counts below this are suppressed in exports of counts.")
]

data_app = typer.Typer(name="data", help="The datasets in the warehouse.", no_args_is_help=True)


@data_app.command("list")
def list_command(ctx: typer.Context, data_dir: DataDir = None) -> None:
    """List the datasets with their source and retrieval time."""
    from rich.console import Console
    from rich.table import Table

    from bryta.app.data import list_datasets

    with user_errors():
        path, frame = list_datasets(make_context(ctx, data_dir=data_dir))
    table = Table(title=f"datasets in {path}", title_justify="left")
    for col in frame.columns:
        table.add_column(col)
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table if frame.height else f"no datasets in {path}")


@data_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    rows: Annotated[int, typer.Option(help="Rows to show.")] = 10,
    data_dir: DataDir = None,
) -> None:
    """Show a dataset's provenance, columns and first rows."""
    import polars as pl
    from rich.console import Console

    from bryta.app.data import show_dataset

    with user_errors():
        info, head = show_dataset(make_context(ctx, data_dir=data_dir), name, rows)
    console = Console()
    for key in (
        "name",
        "kind",
        "rows",
        "source",
        "table_id",
        "query",
        "file",
        "sha256",
        "retrieved_at",
        "licence",
        "stored_at",
    ):
        if info.get(key) not in (None, ""):
            console.print(f"[bold]{key}[/]: {info[key]}", highlight=False)
    console.print(
        "[bold]columns[/]: " + ", ".join(f"{c} ({t})" for c, t in info["columns"].items())
    )
    with pl.Config(tbl_rows=rows, tbl_cols=-1):
        console.print(str(head))


@data_app.command("export")
def export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv, .parquet or .json")],
    data_dir: DataDir = None,
    threshold: Threshold = DEFAULT_THRESHOLD,
    suppress: Annotated[
        str | None, typer.Option(help="Count columns to protect (default: numeric columns).")
    ] = None,
    within: Annotated[
        str | None,
        typer.Option(
            help="Columns whose rows add up to a published total (secondary suppression)."
        ),
    ] = None,
    no_protect: Annotated[
        bool, typer.Option("--no-protect", help="Export counts without suppression.")
    ] = False,
) -> None:
    """Write a dataset to CSV, Parquet or JSON; small counts are suppressed in counts."""
    from bryta.app.data import Protection, export_dataset

    protection = Protection(
        threshold=threshold,
        columns=split_list(suppress),
        within=split_list(within),
        enabled=not no_protect,
    )
    with user_errors(name):
        report = export_dataset(make_context(ctx, data_dir=data_dir), name, output, protection)
    say([*report.notes, f"wrote {report.frame.height} rows to {output}"])


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
