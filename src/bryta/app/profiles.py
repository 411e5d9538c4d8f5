"""Area profiles: everything bryta knows about one area, as data for reports and web pages.

:func:`area_profile` gathers, for one RegSO, kommun, län or the whole country:

* **indicators** — every indicator available for the area and year, each with its rank among
  comparable areas (1 = highest value): a RegSO among the RegSO of its kommun and among all
  RegSO of its official area type; a kommun among the kommuner of its län and of the country;
  a län among the 21 län;
* **area types** — the official types (bundled: 2022) and the proxy types of the bundled
  panel (see :mod:`bryta.ingest.official_types`) for a RegSO; for a larger area the population
  living in each type;
* **segregation** — for a kommun, län or the country, the indices over its RegSO per year
  (birth region and tenure) with the rank among areas of the same level; for a RegSO, its local
  measures within its kommun (location quotients and its share of the kommun's M).

The data source is explicit. By default the profile is of the bundled SCB data (2020–2023),
whose tables are computed once per process and cached. With ``context`` the indicators loaded
into that context's warehouse (``bryta indicators load``) are added and ranked with the
bundled ones; they are read afresh on every call, never cached. ``indicators`` adds a long
table of your own (``level, area, year, indicator, value``). Every table is computed for all
areas at once and the profile is a filter of it, so profiles of many areas cost little more
than one.

>>> p = area_profile("0114")
>>> p.name, p.level, p.parents
('Upplands Väsby', 'kommun', [('lan', '01', 'Stockholm')])
>>> p.indicators.filter(indicator="population", year=2023).select(
...     "value", "rank_riket", "n_riket").row(0)
(50110.0, 50, 290)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from bryta._files import bundled_file
from bryta.compute.conditions.area_types import area_types
from bryta.compute.conditions.transitions import population_by_type
from bryta.compute.segregation.engine import measure
from bryta.compute.segregation.local import location_quotients
from bryta.compute.segregation.mutual import mutual_local, mutual_total
from bryta.datasets import load_demo_panel, load_demo_shares, official_area_types
from bryta.errors import InputError, NotFound
from bryta.geography.areas import areas, lan_names
from bryta.geography.codes import level_of
from bryta.ingest.statdb_csv import read_scb_export

if TYPE_CHECKING:
    from bryta.app.context import Context

__all__ = ["BUNDLED_INDICATORS", "AreaProfile", "area_profile", "bundled_indicators"]

#: The indicators computed from the bundled data: id -> (name, domain, unit, levels).
BUNDLED_INDICATORS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "population": ("Population", "population", "persons", ("regso", "kommun", "lan", "riket")),
    "born_abroad_pct": (
        "Born abroad, % of the population",
        "population",
        "percent",
        ("regso", "kommun", "lan", "riket"),
    ),
    "rental_pct": (
        "Rental dwellings, % of dwellings of known tenure",
        "housing",
        "percent",
        ("regso", "kommun", "lan", "riket"),
    ),
    "mean_wage_income": (
        "Mean wage income, all persons, thousand SEK",
        "income",
        "thousand SEK",
        ("regso",),
    ),
    "challenged_pop_pct": (
        "Population in areas of type 1–2 (official), % of the population",
        "population",
        "percent",
        ("kommun", "lan", "riket"),
    ),
}

_WAGE_EXPORT = "regso_wage_income_2020_2023.csv"
_LEVEL_COLUMN = {"regso": "regso", "kommun": "kommun", "lan": "lan", "riket": "riket"}
#: comparison groups per level: (name, column of the indicator table holding the group key)
_COMPARISONS = {
    "regso": (("kommun", "kommun"), ("area_type", "official_type")),
    "kommun": (("lan", "lan"), ("riket", "riket")),
    "lan": (("riket", "riket"),),
    "riket": (("riket", "riket"),),
}
_BIRTH = ["born_sweden", "born_abroad"]
_TENURE = ["rental", "tenant_owned", "owner_occupied"]


@dataclass
class AreaProfile:
    """One area's profile; every table is a polars frame (see :func:`area_profile`)."""

    code: str
    level: str
    name: str
    parents: list[tuple[str, str, str]]
    indicators: pl.DataFrame
    area_types: pl.DataFrame
    segregation: pl.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-ready Python data (the web page's JSON twin)."""
        return {
            "code": self.code,
            "level": self.level,
            "name": self.name,
            "parents": [{"level": lv, "code": c, "name": n} for lv, c, n in self.parents],
            "indicators": self.indicators.to_dicts(),
            "area_types": self.area_types.to_dicts(),
            "segregation": self.segregation.to_dicts(),
            "notes": list(self.notes),
        }


def area_profile(
    code: str,
    *,
    context: Context | None = None,
    indicators: pl.DataFrame | None = None,
    year: int | None = None,
) -> AreaProfile:
    """The profile of a RegSO (``0114R001``), kommun (``0114``), län (``01``) or riket (``00``).

    Args:
        code: the area code (bundled division: RegSO 2020).
        context: add the indicators loaded into this context's warehouse (read-only, read on
            every call); None: the bundled data alone.
        indicators: extra indicators as a long frame ``level, area, year, indicator, value``;
            ranked together with the bundled ones (and those of the warehouse).
        year: keep this year only in the indicator and segregation tables; a year with no
            data is an :class:`~bryta.errors.InputError` naming the years there are.
    """
    level = _level(code)
    known = areas(level)
    row = known.filter(pl.col("code") == code)
    if row.is_empty():
        raise NotFound(f"{code!r} is not a {level} of the bundled geography")
    name = row.get_column("name").item()
    parents = _parents(code, level)

    extra = [indicators] if indicators is not None else []
    if context is not None:
        from bryta.indicators import stored_indicators

        with context.warehouse(read_only=True) as warehouse:
            extra.append(stored_indicators(warehouse))
    table = _ranked(_combined(extra))
    compared = [
        f"{what}_{name}" for name, _ in _COMPARISONS[level] for what in ("rank", "n", "median")
    ]
    mine = (
        table.filter(level=level, area=code)
        .join(_indicator_meta(), on="indicator", how="left")
        .select("indicator", "name", "domain", "unit", "year", "value", *compared)
        .sort("domain", "indicator", "year")
    )
    types = _types_of(code, level)
    segregation = _segregation_of(code, level)
    if year is not None:
        years = sorted(set(mine["year"].to_list()) | set(segregation["year"].to_list()))
        if year not in years:
            raise InputError(
                f"no data for the year {year} in the profile of {code} ({name}); "
                f"years with data: {_spans(years) or 'none'}"
            )
        mine = mine.filter(year=year)
        segregation = segregation.filter(year=year)
    notes = [PROXY_TYPES_NOTE]
    return AreaProfile(code, level, name, parents, mine, types, segregation, notes)


#: The note every profile carries (the web app translates it)
PROXY_TYPES_NOTE = (
    "Proxy area types rank areas by the share born abroad and the share of rental "
    "dwellings (bundled data), not by SCB's socioeconomic index; official types: 2022."
)


def _spans(years: list[int]) -> str:
    """``[2020, 2021, 2022, 2024]`` as ``2020–2022, 2024``."""
    spans: list[list[int]] = []
    for y in years:
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _level(code: str) -> str:
    if code == "00":
        return "riket"
    level = level_of(pl.Series([code]))
    if level not in ("regso", "kommun", "lan"):
        raise NotFound(
            f"{code!r} is not a RegSO (0114R001), kommun (0114), län (01) or riket (00) code"
        )
    return level


def _parents(code: str, level: str) -> list[tuple[str, str, str]]:
    out = []
    if level == "regso":
        kommun = code[:4]
        out.append(("kommun", kommun, areas("kommun").filter(code=kommun)["name"].item()))
    if level in ("regso", "kommun"):
        out.append(("lan", code[:2], lan_names()[code[:2]]))
    return out


# --------------------------------------------------------------------------------------------
# Indicators


def bundled_indicators() -> pl.DataFrame:
    """Every bundled indicator for every area and year: ``level, area, year, indicator,
    value`` (see :data:`BUNDLED_INDICATORS`), RegSO to riket."""
    return _bundled_indicators().clone()


@functools.cache
def _bundled_indicators() -> pl.DataFrame:
    panel = load_demo_panel().with_columns(riket=pl.lit("00"))
    official = official_area_types().select("regso", "year", "area_type")
    panel = panel.join(official, on=["regso", "year"], how="left")
    parts = []
    for level, column in _LEVEL_COLUMN.items():
        population = pl.col("born_sweden") + pl.col("born_abroad")
        dwellings = pl.col("rental") + pl.col("tenant_owned") + pl.col("owner_occupied")
        sums = panel.group_by(column, "year").agg(
            population.sum().alias("population"),
            pl.col("born_abroad").sum().alias("_abroad"),
            pl.col("rental").sum().alias("_rental"),
            dwellings.sum().alias("_dwellings"),
            population.filter(pl.col("area_type") <= 2).sum().alias("_challenged"),
            pl.col("area_type").is_not_null().any().alias("_typed"),
        )
        wide = sums.select(
            pl.lit(level).alias("level"),
            pl.col(column).alias("area"),
            "year",
            pl.col("population").cast(pl.Float64),
            (100 * pl.col("_abroad") / pl.col("population")).alias("born_abroad_pct"),
            (100 * pl.col("_rental") / pl.col("_dwellings")).alias("rental_pct"),
            pl.when(pl.col("_typed") & (level != "regso"))
            .then(100 * pl.col("_challenged") / pl.col("population"))
            .alias("challenged_pop_pct"),
        )
        parts.append(wide.unpivot(index=["level", "area", "year"], variable_name="indicator"))
    wage = read_scb_export(bundled_file(_WAGE_EXPORT), level="regso").select(
        pl.lit("regso").alias("level"),
        pl.col("regso").alias("area"),
        "year",
        pl.lit("mean_wage_income").alias("indicator"),
        "value",
    )
    return (
        pl.concat([*parts, wage])
        .drop_nulls("value")
        .with_columns(pl.col("year").cast(pl.Int32))
        .sort("level", "area", "indicator", "year")
    )


@functools.cache
def _indicator_meta() -> pl.DataFrame:
    """Name, domain and unit of the bundled indicators and of the catalogue's entries."""
    from bryta.indicators import catalogue

    rows = [
        (key, name, domain, unit) for key, (name, domain, unit, _) in BUNDLED_INDICATORS.items()
    ]
    rows += [
        (e.id, e.name_en, e.domain, e.unit) for e in catalogue() if e.id not in BUNDLED_INDICATORS
    ]
    return pl.DataFrame(rows, schema=["indicator", "name", "domain", "unit"], orient="row")


@functools.cache
def _ranked_bundled() -> pl.DataFrame:
    return _rank(_bundled_indicators())


def _combined(extra: list[pl.DataFrame]) -> pl.DataFrame | None:
    """The extra indicator tables as one (a later table's indicator replaces an earlier's)."""
    parts: list[pl.DataFrame] = []
    for frame in extra:
        missing = {"level", "area", "year", "indicator", "value"} - set(frame.columns)
        if missing:
            raise InputError(f"indicators need the columns {', '.join(sorted(missing))}")
        frame = frame.select(
            pl.col("level").cast(pl.String),
            pl.col("area").cast(pl.String),
            pl.col("year").cast(pl.Int32),
            pl.col("indicator").cast(pl.String),
            pl.col("value").cast(pl.Float64),
        )
        replaced = frame["indicator"].unique().to_list()
        parts = [p.filter(~pl.col("indicator").is_in(replaced)) for p in parts] + [frame]
    return pl.concat(parts) if parts else None


def _ranked(extra: pl.DataFrame | None) -> pl.DataFrame:
    """The bundled indicators (ranked once per process) or, with ``extra``, the bundled ones
    with ``extra``'s indicators in place of theirs (ranked on every call)."""
    if extra is None:
        return _ranked_bundled()
    table = _bundled_indicators()
    table = pl.concat(
        [table.filter(~pl.col("indicator").is_in(extra["indicator"].unique().to_list())), extra]
    )
    return _rank(table)


def _rank(table: pl.DataFrame) -> pl.DataFrame:
    """Rank every area among its comparison groups, for every indicator and year at once."""
    official = official_area_types().select(
        pl.col("regso").alias("area"), pl.col("area_type").alias("official_type")
    )
    keyed = table.join(official, on="area", how="left").with_columns(
        pl.when(pl.col("level").is_in(["regso", "kommun"]))
        .then(pl.col("area").str.slice(0, 4))
        .alias("kommun"),
        pl.when(pl.col("level") != "riket").then(pl.col("area").str.slice(0, 2)).alias("lan"),
        pl.lit("00").alias("riket"),
    )
    ranked = []
    for level, groups in _COMPARISONS.items():
        part = keyed.filter(level=level)
        over = ["indicator", "year"]
        for name, column in groups:
            window = [*over, column]
            part = part.with_columns(
                pl.col("value").rank("min", descending=True).over(window).alias(f"rank_{name}"),
                pl.col("value").count().over(window).alias(f"n_{name}"),
                pl.col("value").median().over(window).alias(f"median_{name}"),
            )
        ranked.append(part.drop("kommun", "lan", "riket", "official_type"))
    return pl.concat(ranked, how="diagonal_relaxed").with_columns(
        pl.col("^rank.*$", "^n.*$").cast(pl.Int32)
    )


# --------------------------------------------------------------------------------------------
# Area types


@functools.cache
def _all_types() -> pl.DataFrame:
    official = official_area_types().select(
        "regso", "year", "area_type", pl.lit("official").alias("source")
    )
    shares = load_demo_shares()
    proxy = area_types(
        shares,
        unit="regso",
        by="year",
        shares=["born_abroad_pct", "rental_pct"],
        population="population",
    ).select("regso", "year", "area_type", pl.lit("proxy").alias("source"))
    population = shares.select("regso", "year", "population")
    return pl.concat([official, proxy]).join(population, on=["regso", "year"], how="left")


@functools.cache
def _all_type_population() -> pl.DataFrame:
    """Areas and population per type for every kommun, län and the country, both sources."""
    types = _all_types()
    parts = [
        population_by_type(types.filter(source=source), "population", level)
        .rename({level: "area"})
        .with_columns(pl.lit(level).alias("level"), pl.lit(source).alias("source"))
        for level in ("kommun", "lan", "riket")
        for source in ("official", "proxy")
    ]
    return pl.concat(parts).select(
        "level", "area", "source", "year", "area_type", "areas", "population", "share"
    )


def _types_of(code: str, level: str) -> pl.DataFrame:
    if level == "regso":
        types = _all_types().filter(regso=code)
        return types.select("source", "year", "area_type").sort("source", "year")
    return (
        _all_type_population()
        .filter(level=level, area=code)
        .drop("level", "area")
        .sort("source", "year", "area_type", nulls_last=True)
    )


# --------------------------------------------------------------------------------------------
# Segregation


@functools.cache
def _all_indices() -> pl.DataFrame:
    """Indices over RegSO for every kommun, län and the country, every year, with ranks."""
    panel = load_demo_panel().with_columns(riket=pl.lit("00"))
    parts = []
    for level in ("kommun", "lan", "riket"):
        birth = measure(
            panel,
            unit="regso",
            groups=_BIRTH,
            by=[level, "year"],
            indices=["dissimilarity", "isolation", "exposure"],
            focal="born_abroad",
        ).with_columns(pl.lit("birth_region").alias("dimension"))
        tenure = mutual_total(panel, unit="regso", groups=_TENURE, by=[level, "year"])
        tenure = tenure.unpivot(
            index=[level, "year"], on=["M", "H"], variable_name="index"
        ).with_columns(pl.lit("tenure").alias("dimension"), pl.lit(None, pl.String).alias("group"))
        both = pl.concat([birth, tenure], how="diagonal_relaxed").rename({level: "area"})
        both = both.with_columns(pl.lit(level).alias("level"))
        parts.append(both)
    table = pl.concat(parts, how="diagonal_relaxed")
    window = ["level", "dimension", "index", "year"]
    return table.with_columns(
        pl.col("value").rank("min", descending=True).over(window).cast(pl.Int32).alias("rank"),
        pl.col("value").count().over(window).cast(pl.Int32).alias("n"),
    ).select("level", "area", "dimension", "index", "group", "year", "value", "rank", "n")


@functools.cache
def _all_local() -> pl.DataFrame:
    """Each RegSO's local measures within its kommun, every year."""
    panel = load_demo_panel()
    parts = []
    for dimension, groups, focal in (
        ("birth_region", _BIRTH, "born_abroad"),
        ("tenure", _TENURE, "rental"),
    ):
        lq = location_quotients(panel, unit="regso", groups=groups, by=["kommun", "year"])
        parts.append(
            lq.filter(group=focal).select(
                "regso",
                pl.lit(dimension).alias("dimension"),
                pl.lit("location_quotient").alias("index"),
                "group",
                "year",
                pl.col("lq").alias("value"),
            )
        )
    for dimension, groups in (("birth_region", _BIRTH), ("tenure", _TENURE)):
        local = mutual_local(panel, unit="regso", groups=groups, by=["kommun", "year"])
        share = local.with_columns(
            (
                100
                * pl.col("p")
                * pl.col("ls")
                / (pl.col("p") * pl.col("ls")).sum().over("kommun", "year")
            ).alias("value")
        )
        parts.append(
            share.select(
                "regso",
                pl.lit(dimension).alias("dimension"),
                pl.lit("local_M_share_pct").alias("index"),
                pl.lit(None, pl.String).alias("group"),
                "year",
                "value",
            )
        )
    return pl.concat(parts).sort("regso", "dimension", "index", "group", "year")


def _segregation_of(code: str, level: str) -> pl.DataFrame:
    if level == "regso":
        return _all_local().filter(regso=code).drop("regso")
    return _all_indices().filter(level=level, area=code).drop("level", "area")
