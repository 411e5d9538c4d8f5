"""Official area types as data, and the bundled proxy inputs for trying the method.

SCB publishes the area type (områdestyp 1–5) of every RegSO per year in Statistikdatabasen
(table TAB6586). :func:`read_area_types` reads such a CSV export; without a path it returns the
bundled 2022 export (160 / 289 / 855 / 1,770 / 289 RegSO of types 1–5).

The three inputs of the official socioeconomic index (low economic standard, low education,
long-term assistance or unemployment) are not open at RegSO level offline. So that the method,
transitions and profiles can be tried on bundled data, :func:`load_demo_shares` derives two
percentages that the bundled panel does carry — the share of the population born abroad and
the share of rental dwellings. An index built from them is a **proxy**, not SCB's index: it
ranks areas by migration background and tenure, not by income, education and employment.
"""

from __future__ import annotations

import functools

import polars as pl

from bryta.errors import ImportFormatError
from bryta.ingest.scb_csv import PathLike, bundled_file, load_demo_panel, read_scb_export

__all__ = ["AREA_TYPE_EXPORT", "load_demo_shares", "read_area_types"]

#: Bundled export: the official area type per RegSO, 2022.
AREA_TYPE_EXPORT = "regso_area_type_2022.csv"


def read_area_types(path: PathLike | None = None) -> pl.DataFrame:
    """Official area types per RegSO and year from a Statistikdatabasen CSV export.

    Returns ``regso``, ``kommun``, ``lan`` (text codes), ``year`` (Int32) and ``area_type``
    (Int8, 1–5), sorted by year and RegSO. Without ``path``, the bundled 2022 export.

    >>> types = read_area_types()
    >>> types.group_by("area_type").len().sort("area_type")["len"].to_list()
    [160, 289, 855, 1770, 289]
    """
    if path is None:
        return _bundled_types().clone()
    return _types(read_scb_export(path, level="regso"), str(path))


@functools.cache
def _bundled_types() -> pl.DataFrame:
    export = read_scb_export(bundled_file(AREA_TYPE_EXPORT), level="regso")
    return _types(export, f"bryta/data/scb/{AREA_TYPE_EXPORT}")


def _types(export: pl.DataFrame, source: str) -> pl.DataFrame:
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


def load_demo_shares() -> pl.DataFrame:
    """Proxy inputs from the bundled panel, one row per RegSO × year 2020–2023.

    Columns: ``lan``, ``kommun``, ``regso``, ``year``, ``population`` (born in Sweden + born
    abroad), ``born_abroad_pct`` (born abroad, % of the population) and ``rental_pct`` (rental
    dwellings, % of dwellings with known tenure; null where there are none). Source: SCB,
    Statistikdatabasen (CC0). See the module text for why this is a proxy.

    >>> shares = load_demo_shares()
    >>> shares.height, shares.filter(year=2022)["population"].sum()
    (13452, 10521556)
    """
    panel = load_demo_panel()
    population = pl.col("born_sweden") + pl.col("born_abroad")
    dwellings = pl.col("rental") + pl.col("tenant_owned") + pl.col("owner_occupied")
    return panel.select(
        "lan",
        "kommun",
        "regso",
        "year",
        population.alias("population"),
        pl.when(population > 0)
        .then(100 * pl.col("born_abroad") / population)
        .alias("born_abroad_pct"),
        pl.when(dwellings > 0).then(100 * pl.col("rental") / dwellings).alias("rental_pct"),
    )
