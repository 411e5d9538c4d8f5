"""``bryta data``: list, show and export the datasets in the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from bryta.cli._common import err_console, user_errors
from bryta.cli._io import check_writable, write_table
from bryta.store import Provenance, Warehouse

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of the warehouse (default: $BRYTA_DATA_DIR or ~/.local/share/bryta).",
    ),
]
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
    if output is not None:
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
) -> None:
    """Write a dataset to CSV, Parquet or JSON."""
    with user_errors(name):
        check_writable(output)
        with Warehouse.open(data_dir) as wh:
            frame = wh.get(name)
        write_table(frame, output)
    err_console.print(f"wrote {frame.height} rows to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
