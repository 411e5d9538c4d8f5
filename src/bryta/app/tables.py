"""Reading and writing the analyst's tables: CSV, Parquet (and JSON output); writes are atomic."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from bryta.errors import BrytaError

READABLE = (".csv", ".parquet")
WRITABLE = (".csv", ".parquet", ".json")


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV or Parquet file. CSV columns are read as text, so key codes such as
    ``0114`` keep their leading zeros; count columns are converted when validated."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise BrytaError(f"{path}: no such file")
    if suffix == ".csv":
        try:
            return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
        except pl.exceptions.PolarsError as exc:
            raise BrytaError(f"{path}: not a readable CSV file ({exc})") from exc
    if suffix == ".parquet":
        try:
            return pl.read_parquet(path)
        except pl.exceptions.PolarsError as exc:
            raise BrytaError(f"{path}: not a readable Parquet file ({exc})") from exc
    raise BrytaError(f"{path}: input must be {' or '.join(READABLE)}, not {suffix or 'no suffix'}")


def check_writable(path: Path) -> None:
    """Fail before any work is done if the output format is not supported."""
    if path.suffix.lower() not in WRITABLE:
        raise BrytaError(f"{path}: output must be {', '.join(WRITABLE)}")


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` atomically (a temporary file renamed into place)."""
    check_writable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame.write_csv(tmp)
        elif suffix == ".parquet":
            frame.write_parquet(tmp)
        else:
            frame.write_json(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
