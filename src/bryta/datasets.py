"""The bundled datasets, as functions: SCB open data (CC0) that ships with the package.

* :func:`load_demo_panel` — counts per RegSO × year 2020–2023: birth region and tenure;
* :func:`load_demo_shares` — proxy inputs for the area-type method, derived from the panel;
* :func:`official_area_types` — SCB's official area type per RegSO, 2022.

Each is read once per process and returned as a fresh copy. Provenance of every file:
``bryta/data/PROVENANCE.md``. The boundaries are in :mod:`bryta.geography.boundaries`, the
names and the DeSO → RegSO key in :mod:`bryta.geography.areas`.

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

from bryta._files import bundled_file
from bryta.errors import ImportFormatError
from bryta.geography.areas import regso_table
from bryta.ingest.official_types import area_types_from_export
from bryta.ingest.statdb_csv import read_scb_export

__all__ = [
    "AREA_TYPE_EXPORT",
    "BIRTH_REGION_EXPORT",
    "TENURE_EXPORT",
    "load_demo_panel",
    "load_demo_shares",
    "official_area_types",
]

#: Bundled export: population per RegSO by birth region (Sverige / totalt), 2020–2023.
BIRTH_REGION_EXPORT = "regso_birth_region_2020_2023.csv"
#: Bundled export: dwellings per RegSO by tenure, 2020–2023.
TENURE_EXPORT = "regso_tenure_2020_2023.csv"
#: Bundled export: the official area type per RegSO, 2022.
AREA_TYPE_EXPORT = "regso_area_type_2022.csv"

_BIRTH_COLUMNS = {"born_sweden": "Sverige", "_total": "totalt"}
_TENURE_COLUMNS = {
    "rental": "hyresrätt",
    "tenant_owned": "bostadsrätt",
    "owner_occupied": "äganderätt",
    "tenure_unknown": "uppgift saknas",
}
_PANEL_KEYS = ["lan", "kommun", "regso", "year"]


def load_demo_panel() -> pl.DataFrame:
    """The bundled RegSO panel 2020–2023, one row per RegSO × year (3,363 × 4 rows).

    Columns: ``lan``, ``kommun``, ``regso`` (text codes), ``year`` (Int32) and the counts
    (Int64) ``born_sweden``, ``born_abroad`` (total population minus born in Sweden) from
    :data:`BIRTH_REGION_EXPORT`, and the dwellings by tenure ``rental`` (hyresrätt),
    ``tenant_owned`` (bostadsrätt), ``owner_occupied`` (äganderätt) and ``tenure_unknown``
    (uppgift saknas) from :data:`TENURE_EXPORT`. Source: SCB, Statistikdatabasen (CC0).

    >>> panel = load_demo_panel()
    >>> panel.height
    13452
    >>> panel.filter(year=2020).select(pl.col("born_sweden") + pl.col("born_abroad")).sum().item()
    10379295
    """
    return _demo_panel().clone()


@functools.cache
def _demo_panel() -> pl.DataFrame:
    birth = _read_bundled_export(BIRTH_REGION_EXPORT).filter(pl.col("kön") == "totalt")
    birth = _widen(birth, "födelseregion", _BIRTH_COLUMNS, BIRTH_REGION_EXPORT)
    birth = birth.with_columns(
        (pl.col("_total") - pl.col("born_sweden")).alias("born_abroad")
    ).drop("_total")
    tenure = _widen(
        _read_bundled_export(TENURE_EXPORT), "upplåtelseform", _TENURE_COLUMNS, TENURE_EXPORT
    )
    panel = birth.join(tenure, on=_PANEL_KEYS, how="full", coalesce=True)
    expected = regso_table().height * panel["year"].n_unique()
    if panel.height != expected or panel.null_count().sum_horizontal().item():
        raise ImportFormatError(
            f"the bundled exports do not cover every RegSO and year ({panel.height} rows, "
            f"expected {expected}, or missing values)"
        )
    if panel.filter(pl.col("born_abroad") < 0).height:
        raise ImportFormatError(f"{BIRTH_REGION_EXPORT}: more born in Sweden than in total")
    counts = ["born_sweden", "born_abroad", *_TENURE_COLUMNS]
    return panel.select(*_PANEL_KEYS, *counts).sort("regso", "year")


def _read_bundled_export(name: str) -> pl.DataFrame:
    return read_scb_export(bundled_file(name), level="regso")


def _widen(long: pl.DataFrame, dimension: str, columns: dict[str, str], name: str) -> pl.DataFrame:
    """One column per category of ``dimension`` (counts as Int64), one row per RegSO × year."""
    duplicated = long.select(*_PANEL_KEYS, dimension).is_duplicated()
    if duplicated.any():
        raise ImportFormatError(f"bryta/data/scb/{name}: RegSO × year × {dimension} repeats")
    not_whole = long.filter(pl.col("value") != pl.col("value").round())
    if not_whole.height:
        raise ImportFormatError(f"bryta/data/scb/{name}: counts that are not whole numbers")
    return long.group_by(_PANEL_KEYS, maintain_order=True).agg(
        pl.col("value").filter(pl.col(dimension) == category).first().cast(pl.Int64).alias(out)
        for out, category in columns.items()
    )


def official_area_types() -> pl.DataFrame:
    """SCB's official area types per RegSO, 2022: ``regso``, ``kommun``, ``lan``, ``year``,
    ``area_type`` (Int8, 1–5).

    >>> types = official_area_types()
    >>> types.group_by("area_type").len().sort("area_type")["len"].to_list()
    [160, 289, 855, 1770, 289]
    """
    return _official_types().clone()


@functools.cache
def _official_types() -> pl.DataFrame:
    export = read_scb_export(bundled_file(AREA_TYPE_EXPORT), level="regso")
    return area_types_from_export(export, f"bryta/data/scb/{AREA_TYPE_EXPORT}")


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
