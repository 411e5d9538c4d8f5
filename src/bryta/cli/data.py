"""``bryta data``: list, show and export the datasets in the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from bryta.app.tables import check_writable, write_table
from bryta.cli._common import err_console, split_list, user_errors
from bryta.compute.disclosure import DEFAULT_THRESHOLD, suppress_small
from bryta.warehouse import Provenance, Warehouse

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of the warehouse (default: $BRYTA_DATA_DIR or ~/.local/share/bryta).",
    ),
]
Threshold = Annotated[
    int, typer.Option(help="Counts below this are suppressed in exports of counts.")
]
_KEYS = {"year", "år", "tid", "period"}


def protect(
    frame: pl.DataFrame,
    kind: str,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    columns: list[str] | None = None,
    within: list[str] | None = None,
    enabled: bool = True,
) -> pl.DataFrame:
    """Small-count protection on an export of counts; says on stderr what it did."""
    if kind != "counts":
        return frame
    if not enabled:
        err_console.print("[yellow]small-count protection is off for this export[/]")
        return frame
    if columns is None:
        columns = [c for c, t in frame.schema.items() if t.is_numeric() and c not in _KEYS]
    out, report = suppress_small(frame, values=columns, threshold=threshold, within=within)
    note = "" if within else " (no --within totals given: primary suppression only)"
    err_console.print(report.describe() + (note if report.total else ""), highlight=False)
    return out


data_app = typer.Typer(name="data", help="The datasets in the warehouse.", no_args_is_help=True)


def save(
    frame: pl.DataFrame,
    *,
    name: str | None,
    output: Path | None,
    kind: str,
    provenance: Provenance,
    data_dir: Path | None,
    replace: bool = False,
) -> None:
    """Store an imported frame in the warehouse (``name``) and/or write it to ``output``."""
    if name is None and output is None:
        raise typer.BadParameter("give --name (store in the warehouse) and/or -o FILE")
    if output is not None:
        check_writable(output)
    if name is not None:
        with Warehouse.open(data_dir) as wh:
            wh.put(name, frame, kind=kind, provenance=provenance, replace=replace)
            where = wh.path
        err_console.print(f"stored {frame.height} rows as {name!r} in {where}", highlight=False)
    if output is not None:  # a table as its publisher released it: nothing new to protect
        write_table(frame, output)
        err_console.print(f"wrote {frame.height} rows to {output}", highlight=False)


@data_app.command("list")
def list_datasets(data_dir: DataDir = None) -> None:
    """List the datasets with their source and retrieval time."""
    with user_errors(), Warehouse.open(data_dir) as wh:
        frame = wh.list()
        path = wh.path
    table = Table(title=f"datasets in {path}", title_justify="left")
    for col in frame.columns:
        table.add_column(col)
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table if frame.height else f"no datasets in {path}")


@data_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    rows: Annotated[int, typer.Option(help="Rows to show.")] = 10,
    data_dir: DataDir = None,
) -> None:
    """Show a dataset's provenance, columns and first rows."""
    with user_errors(), Warehouse.open(data_dir) as wh:
        info = wh.info(name)
        head = wh.get(name).head(rows)
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
    with user_errors(name):
        check_writable(output)
        with Warehouse.open(data_dir) as wh:
            frame = wh.get(name)
            kind = wh.info(name)["kind"]
        frame = protect(
            frame,
            kind,
            threshold=threshold,
            columns=split_list(suppress),
            within=split_list(within),
            enabled=not no_protect,
        )
        write_table(frame, output)
    err_console.print(f"wrote {frame.height} rows to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
