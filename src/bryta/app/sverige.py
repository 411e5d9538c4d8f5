"""The Sverige page's numbers: a measure per kommun and year, its national series, which
measures the data allows, and the country's population by area type.

The measures (keys of :data:`MEASURES`):

* ``dissimilarity``, ``theil_h``, ``mutual_information``: segregation by birth region over
  RegSO within each kommun (and within Sweden for the national series), from
  :func:`bryta.app.barometer.segregation` — the values of ``bryta measure``; 2020–2023;
* ``share_types_1_2``: the share of the population living in RegSO of SCB's official area
  type 1 or 2, from :func:`bryta.app.barometer.kommun_mix`; only for the year of the official
  types (2022);
* ``inequality``: the ojämlikhetsindex (0–100), the dissimilarity between the lowest and the
  highest income fifth over RegSO (:func:`bryta.compute.segregation.inequality.inequality_index`).
  The bundled data has no income groups, so it is available only when the warehouse holds an
  income-group dataset (:func:`income_dataset`); it is never estimated from other data.

A measure has its own years: a year another measure has is answered with the measure's nearest
year, and the view says so (:attr:`SverigeView.year_adjusted`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from bryta.app import barometer
from bryta.app.context import Context
from bryta.errors import ImportFormatError, InputError

#: The segregation measures: (index, focal group or None for a multigroup index), birth region.
SEGREGATION = {
    "dissimilarity": ("dissimilarity", "born_abroad"),
    "theil_h": ("theil_h", None),
    "mutual_information": ("mutual_information", None),
}
GROUPING = "birth_region"
#: Every measure of the page, in the order it offers them, with its scale: ``index`` (0–1),
#: ``share`` (0–1, shown as a percentage) or ``points`` (0–100).
MEASURES = {
    "dissimilarity": "index",
    "theil_h": "index",
    "mutual_information": "index",
    "share_types_1_2": "share",
    "inequality": "points",
}
#: An income-group dataset: a ``counts`` dataset of the warehouse with these columns — people
#: per RegSO and year by income fifth, ``q1`` the lowest and ``q5`` the highest (the names
#: ``bryta inequality --low q1 --high q5`` takes).
INCOME_COLUMNS = ("regso", "year", "q1", "q5")
INCOME_LOW, INCOME_HIGH = "q1", "q5"


@dataclass(frozen=True)
class Availability:
    """Whether measure ``key`` can be shown with the data at hand, for which years, and
    from what (``source``: the warehouse dataset of the ojämlikhetsindex)."""

    key: str
    scale: str
    available: bool
    years: tuple[int, ...]
    source: str | None = None


@dataclass(frozen=True)
class SverigeView:
    """What the Sverige page shows for one measure: ``kommuner`` (``code``, ``name``,
    ``value``; every kommun, ``value`` null where the measure is undefined or has no data)
    for ``year``, and ``riket`` (``year``, ``value``) over the measure's years. An unavailable
    measure has no rows and ``year`` None."""

    measure: Availability
    year: int | None
    requested_year: int | None
    kommuner: pl.DataFrame
    riket: pl.DataFrame
    measures: tuple[Availability, ...] = field(default=())

    @property
    def year_adjusted(self) -> bool:
        """A year was asked for that the measure does not have; ``year`` is its nearest."""
        return self.requested_year is not None and self.year != self.requested_year


def measures(ctx: Context) -> tuple[Availability, ...]:
    """Every measure of :data:`MEASURES` with its years and availability, in order."""
    segregation_years = tuple(_segregation_years())
    income = income_dataset(ctx)
    out = []
    for key, scale in MEASURES.items():
        if key in SEGREGATION:
            out.append(Availability(key, scale, True, segregation_years))
        elif key == "share_types_1_2":
            out.append(Availability(key, scale, True, (barometer.AREA_TYPE_YEAR,)))
        elif income is None:
            out.append(Availability(key, scale, False, ()))
        else:
            years = tuple(_inequality(*_income_key(ctx, income))[1].get_column("year").to_list())
            out.append(Availability(key, scale, bool(years), years, source=income["name"]))
    return tuple(out)


def sverige_view(ctx: Context, key: str, year: int | None = None) -> SverigeView:
    """Measure ``key`` per kommun in ``year`` (default: its latest) and over its years.

    An unknown ``key``, or a ``year`` no measure has, is an :class:`~bryta.errors.InputError`
    naming the choices; a ``year`` the measure lacks gives its nearest year (the later of two).
    """
    if key not in MEASURES:
        raise InputError(f"index must be one of {', '.join(MEASURES)}, not {key!r}")
    offered = measures(ctx)
    measure = next(m for m in offered if m.key == key)
    every_year = sorted({y for m in offered for y in m.years})
    if year is not None and year not in every_year:
        raise InputError(f"year must be one of {', '.join(map(str, every_year))}, not {year}")
    empty_kommuner = pl.DataFrame(
        schema={"code": pl.String, "name": pl.String, "value": pl.Float64}
    )
    empty_riket = pl.DataFrame(schema={"year": pl.Int64, "value": pl.Float64})
    if not measure.available:
        return SverigeView(measure, None, year, empty_kommuner, empty_riket, offered)
    shown = measure.years[-1] if year is None else _nearest(measure.years, year)
    kommuner, riket = _values(ctx, key, shown)
    names = barometer.kommuner().select("code", "name")
    kommuner = (
        names.join(kommuner.select("code", "value"), on="code", how="left")
        .with_columns(pl.col("value").cast(pl.Float64).fill_nan(None))
        .sort("code")
    )
    riket = riket.select(pl.col("year").cast(pl.Int64), pl.col("value").cast(pl.Float64)).sort(
        "year"
    )
    return SverigeView(measure, shown, year, kommuner, riket, offered)


def population_by_area_type() -> pl.DataFrame:
    """Sweden's population by SCB's official area type (:data:`barometer.AREA_TYPE_YEAR`):
    ``area_type`` (1–5), ``areas`` (RegSO), ``population`` (born in Sweden + born abroad, the
    bundled panel that year) and ``share`` of the population, by type."""
    facts = barometer._area_facts()
    table = (
        facts.filter(pl.col("area_type").is_not_null())
        .group_by("area_type")
        .agg(pl.len().cast(pl.Int64).alias("areas"), pl.col("population").sum())
        .sort("area_type")
    )
    return table.with_columns(
        pl.col("area_type").cast(pl.Int64),
        (pl.col("population") / pl.col("population").sum()).alias("share"),
    )


def income_dataset(ctx: Context) -> dict[str, Any] | None:
    """The warehouse's income-group dataset, or None: the most recently stored ``counts``
    dataset with the columns :data:`INCOME_COLUMNS` (its catalogue row)."""
    found = [
        record
        for record in barometer.warehouse_state(ctx).datasets
        if record.get("kind") == "counts"
        and all(column in record.get("columns", {}) for column in INCOME_COLUMNS)
    ]
    if not found:
        return None
    return max(found, key=lambda r: (str(r.get("stored_at")), str(r["name"])))


# ---- the values --------------------------------------------------------------------------------
def _segregation_years() -> list[int]:
    riket = barometer.segregation("riket", index="dissimilarity", group="born_abroad")
    return sorted(riket.get_column("year").unique().to_list())


def _nearest(years: tuple[int, ...], year: int) -> int:
    return min(years, key=lambda y: (abs(y - year), -y))


def _values(ctx: Context, key: str, year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    if key in SEGREGATION:
        index, group = SEGREGATION[key]

        def rows(level: str, **where: Any) -> pl.DataFrame:
            table = barometer.segregation(level, index=index, group=group, **where)
            return table.filter(pl.col("grouping") == GROUPING)

        return rows("kommun", year=year), rows("riket")
    if key == "share_types_1_2":
        mix = barometer.kommun_mix().rename({"share_types_1_2": "value"})
        totals = population_by_area_type()
        challenged = float(totals.filter(pl.col("area_type") <= 2).get_column("population").sum())
        share = challenged / float(totals.get_column("population").sum())
        riket = pl.DataFrame({"year": [barometer.AREA_TYPE_YEAR], "value": [float(share)]})
        return mix, riket
    dataset = income_dataset(ctx)
    assert dataset is not None  # measures() said it is available
    kommuner, riket = _inequality(*_income_key(ctx, dataset))
    return kommuner.filter(pl.col("year") == year), riket


def _income_key(ctx: Context, record: dict[str, Any]) -> tuple[Path, str, str]:
    return ctx.settings.data_path, str(record["name"]), str(record.get("stored_at"))


@functools.lru_cache(maxsize=8)
def _inequality(data_dir: Path, name: str, stored_at: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ojämlikhetsindex of dataset ``name`` per kommun and year (``code``, ``year``,
    ``value``) and for Sweden per year (``year``, ``value``); kept per dataset version."""
    from bryta.compute.segregation.inequality import inequality_index
    from bryta.geography.codes import add_parents
    from bryta.warehouse import Warehouse

    frame = Warehouse.open(data_dir, read_only=True).get(name)
    try:
        frame = frame.with_columns(pl.col("year").cast(pl.Int64))
    except pl.exceptions.PolarsError:
        raise ImportFormatError(
            f"dataset {name!r}: column 'year' must hold years such as 2023"
        ) from None
    if "kommun" not in frame.columns:
        frame = add_parents(frame, "regso")

    def index(by: list[str]) -> pl.DataFrame:
        return inequality_index(frame, unit="regso", by=by, low=INCOME_LOW, high=INCOME_HIGH)

    kommuner = index(["kommun", "year"]).select(pl.col("kommun").alias("code"), "year", "value")
    riket = index(["year"]).select("year", "value").sort("year")
    return kommuner, riket
