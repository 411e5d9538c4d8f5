"""Official area types as data: SCB's export of the area type per RegSO and year.

SCB publishes the area type (områdestyp 1–5) of every RegSO per year in Statistikdatabasen
(table TAB6586). :func:`read_area_types` reads such a CSV export; the bundled 2022 export is
:func:`bryta.datasets.official_area_types`.
"""

from __future__ import annotations

import polars as pl

from bryta._files import PathLike
from bryta.errors import ImportFormatError
from bryta.ingest.statdb_csv import read_scb_export

__all__ = ["area_types_from_export", "read_area_types"]


def read_area_types(path: PathLike) -> pl.DataFrame:
    """Official area types per RegSO and year from a Statistikdatabasen CSV export.

    Returns ``regso``, ``kommun``, ``lan`` (text codes), ``year`` (Int32) and ``area_type``
    (Int8, 1–5), sorted by year and RegSO.
    """
    return area_types_from_export(read_scb_export(path, level="regso"), str(path))


def area_types_from_export(export: pl.DataFrame, source: str) -> pl.DataFrame:
    """The area types of an export already read with :func:`read_scb_export`."""
    extra = [c for c in export.columns if c not in ("regso", "kommun", "lan", "year", "measure")]
    extra.remove("value")
    if extra or export.get_column("measure").n_unique() > 1:
        raise ImportFormatError(
            f"{source}: expected one area type per RegSO and year, but the export has further "
            f"dimensions or measures ({', '.join(extra) or 'several measures'})"
        )
    value = pl.col("value")
    bad = export.filter(value.is_not_null() & ~value.is_in([1.0, 2.0, 3.0, 4.0, 5.0]))
    if bad.height:
        shown = ", ".join(
            f"{r} {y}: {v}" for r, y, v in bad.select("regso", "year", "value").head(5).iter_rows()
        )
        raise ImportFormatError(f"{source}: area types must be 1–5; found {shown}")
    return export.select(
        "regso", "kommun", "lan", "year", value.cast(pl.Int8).alias("area_type")
    ).sort("year", "regso")
