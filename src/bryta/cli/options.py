"""The options every command shares, each defined once with one meaning (docs/cli.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder of the warehouse (default: $BRYTA_DATA_DIR or ~/.local/share/bryta).",
    ),
]
Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="Registry: a SQLAlchemy URL or a SQLite file "
        "(default: registry.sqlite in the data folder).",
    ),
]
CacheDir = Annotated[
    Path | None, typer.Option(help="Keep answers here and reuse them (no network).")
]
Name = Annotated[str | None, typer.Option("--name", help="Store in the warehouse under this name.")]
Output = Annotated[
    Path | None, typer.Option("-o", "--output", help="Also write to .csv, .parquet or .json.")
]
Replace = Annotated[bool, typer.Option("--replace", help="Replace a dataset of that name.")]
Result = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        help="Write the result to .csv, .xlsx, .parquet or .json (default: print it as a table).",
    ),
]
Where = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Keep only rows with COLUMN=VALUE[,VALUE] (repeatable), e.g. kommun=1280.",
    ),
]
