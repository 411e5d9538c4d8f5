"""Bundled data files and reading small text files: shared by geography, ingest and datasets.

Decoding follows what Swedish exports use: UTF-8 (with or without BOM), UTF-16 with a BOM,
else Windows-1252 (a superset of Latin-1 for the Swedish letters).
"""

from __future__ import annotations

import io
import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import polars as pl

PathLike = str | os.PathLike[str] | Traversable


def bundled_file(name: str) -> Traversable:
    """Return the bundled SCB file ``name`` (see ``bryta/data/PROVENANCE.md``).

    >>> bundled_file("lan.csv").name
    'lan.csv'
    """
    resource = files("bryta.data").joinpath("scb", name)
    if not resource.is_file():
        raise FileNotFoundError(f"no bundled data file named {name!r} in bryta/data/scb")
    return resource


def read_bytes(path: PathLike) -> tuple[bytes, str]:
    """Return the content of ``path`` and a name for it to use in messages."""
    if isinstance(path, str | os.PathLike):
        return Path(path).read_bytes(), os.fspath(path)
    return path.read_bytes(), str(path)


def decode(data: bytes) -> str:
    """Decode a CSV file: UTF-8 (with or without BOM), else Windows-1252, else Latin-1.

    Windows-1252 is tried before Latin-1 because "Latin-1" exports saved on Windows use it
    for en dashes and the like; for the Swedish letters both are identical.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def split_lines(text: str) -> list[str]:
    """Split into lines, dropping every carriage return (``\\r\\n`` and ``\\r\\r\\n``)."""
    if "\n" not in text:
        return text.split("\r")
    return text.replace("\r", "").split("\n")


def read_plain_csv(data: bytes) -> pl.DataFrame:
    """Read a small plain CSV (the key or the code lists) with every column as text."""
    text = "\n".join(split_lines(decode(data)))
    frame = pl.read_csv(io.StringIO(text), infer_schema_length=0)
    return frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
