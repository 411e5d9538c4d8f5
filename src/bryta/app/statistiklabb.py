"""Statistiklabbet: pick a measure, a level, years and areas; get one long table.

:data:`MEASURES` is the catalogue of what the lab offers, on the bundled SCB data:

* the bundled indicators (:func:`bryta.app.profiles.bundled_indicators`) — population, the
  share born abroad, the share of rental dwellings, mean wage income and the share of the
  population living in RegSO of official area type 1–2 — at every level where they can be
  computed honestly: a share at kommun, län or riket level is that area's count over its
  total (the sums of its RegSO's counts), never a mean of RegSO shares. Mean wage income is
  offered at RegSO level only: the number of persons a RegSO's mean is over is not bundled,
  so a kommun's mean cannot be formed from them. The share in area types 1–2 is offered
  above RegSO level only (a RegSO either is of type 1–2 or not);
* the segregation indices of :func:`bryta.app.barometer.segregation` (dissimilarity D,
  Theil's H and the mutual information M over birth region and over tenure) at riket, län and
  kommun level: they measure how an area's population is spread over its RegSO, so a RegSO has
  none.

:func:`query` answers ``(measure, level, years, areas)`` with a long polars frame: ``code``,
``name``, ``level``, ``year``, ``measure``, ``value`` and, for an indicator built from counts,
those counts and a ``suppressed`` flag. Every count leaves through :func:`protect`: counts
below the threshold (5) are suppressed (:func:`bryta.compute.disclosure.suppress_small`), and
so are a count whose complement within its total is below the threshold (the total minus the
count would give it away) and every share computed from a suppressed count.

>>> t = query("born_abroad_pct", "kommun", years=[2023], areas=["0180"], reference=False)
>>> t.frame.select("code", "name", "year", "born_abroad", "population").row(0)
('0180', 'Stockholm', 2023, 259382, 988943)
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from bryta.compute.disclosure import DEFAULT_THRESHOLD, suppress_small
from bryta.errors import InputError

__all__ = [
    "LEVELS",
    "MEASURES",
    "LabMeasure",
    "LabTable",
    "all_years",
    "areas_of",
    "map_values",
    "protect",
    "query",
    "years_of",
]

#: The levels, largest first.
LEVELS = ("riket", "lan", "kommun", "regso")
RIKET = ("00", "Sverige")


@dataclass(frozen=True)
class LabMeasure:
    """One measure of the lab.

    ``counts``: the count columns the value is built from (numerator, total), empty for an
    index; ``value_is_count``: the value itself is a count (population), so it is protected as
    one; ``missing``: per level where the measure is not offered, why (in English; the pages
    translate their own text).
    """

    id: str
    name: str
    kind: str  # "indicator" or "index"
    unit: str  # "persons", "percent", "thousand SEK" or "index"
    levels: tuple[str, ...]
    counts: tuple[str, ...] = ()
    value_is_count: bool = False
    missing: dict[str, str] = field(default_factory=dict)
    index: str | None = None
    group: str | None = None
    grouping: str | None = None


_WAGE_WHY = (
    "the number of persons a RegSO's mean wage income is over is not bundled, so a larger "
    "area's mean cannot be computed from its RegSO (a mean of means would weigh a small area "
    "like a large one)"
)
_TYPES_WHY = "a RegSO either is of area type 1–2 or not; its area type is on its Område page"
_INDEX_WHY = (
    "a segregation index measures how an area's population is spread over its RegSO; a RegSO "
    "has no smaller areas in the bundled data"
)


def _index(id: str, name: str, index: str, group: str | None, grouping: str) -> LabMeasure:
    return LabMeasure(
        id,
        name,
        "index",
        "index",
        ("riket", "lan", "kommun"),
        missing={"regso": _INDEX_WHY},
        index=index,
        group=group,
        grouping=grouping,
    )


#: The measures of the lab, in the order the page offers them.
MEASURES: dict[str, LabMeasure] = {
    m.id: m
    for m in (
        LabMeasure("population", "Population", "indicator", "persons", LEVELS, value_is_count=True),
        LabMeasure(
            "born_abroad_pct",
            "Born abroad, % of the population",
            "indicator",
            "percent",
            LEVELS,
            counts=("born_abroad", "population"),
        ),
        LabMeasure(
            "rental_pct",
            "Rental dwellings, % of dwellings of known tenure",
            "indicator",
            "percent",
            LEVELS,
            counts=("rental", "dwellings"),
        ),
        LabMeasure(
            "challenged_pop_pct",
            "Population in areas of type 1–2 (official), % of the population",
            "indicator",
            "percent",
            ("riket", "lan", "kommun"),
            counts=("population_types_1_2", "population"),
            missing={"regso": _TYPES_WHY},
        ),
        LabMeasure(
            "mean_wage_income",
            "Mean wage income, all persons, thousand SEK",
            "indicator",
            "thousand SEK",
            ("regso",),
            missing={level: _WAGE_WHY for level in ("riket", "lan", "kommun")},
        ),
        _index(
            "dissimilarity_born_abroad",
            "Dissimilarity index D, foreign-born",
            "dissimilarity",
            "born_abroad",
            "birth_region",
        ),
        _index("theil_h_birth_region", "Theil's H, birth region", "theil_h", None, "birth_region"),
        _index(
            "mutual_information_birth_region",
            "Mutual information M, birth region",
            "mutual_information",
            None,
            "birth_region",
        ),
        _index(
            "dissimilarity_rental",
            "Dissimilarity index D, rental dwellings",
            "dissimilarity",
            "rental",
            "tenure",
        ),
        _index(
            "dissimilarity_tenant_owned",
            "Dissimilarity index D, tenant-owned dwellings",
            "dissimilarity",
            "tenant_owned",
            "tenure",
        ),
        _index(
            "dissimilarity_owner_occupied",
            "Dissimilarity index D, owner-occupied dwellings",
            "dissimilarity",
            "owner_occupied",
            "tenure",
        ),
        _index("theil_h_tenure", "Theil's H, tenure", "theil_h", None, "tenure"),
        _index(
            "mutual_information_tenure",
            "Mutual information M, tenure",
            "mutual_information",
            None,
            "tenure",
        ),
    )
}


@dataclass
class LabTable:
    """The answer of :func:`query`.

    ``frame``: the rows (protected); ``areas``: the chosen areas' codes (the reference row
    ``00`` not among them unless the level is riket); ``suppressed``: per column, how many
    values were withheld; ``threshold``: the smallest count shown.
    """

    measure: LabMeasure
    level: str
    years: list[int]
    areas: list[str]
    kommun: str | None
    reference: bool
    frame: pl.DataFrame
    suppressed: dict[str, int]
    threshold: int

    @property
    def columns(self) -> list[str]:
        return self.frame.columns


def query(
    measure: str,
    level: str,
    *,
    years: Sequence[int] | None = None,
    areas: Sequence[str] | None = None,
    kommun: str | None = None,
    reference: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
) -> LabTable:
    """The rows of ``measure`` for ``areas`` of ``level`` in ``years``.

    Args:
        measure: an id of :data:`MEASURES`.
        level: ``riket``, ``lan``, ``kommun`` or ``regso``.
        years: the years (each one the measure has at that level); None: all it has.
        areas: codes of ``level`` (``0180`` for a kommun, ``01`` for a län, ``1280R020`` for a
            RegSO); None: all areas of the level (at RegSO level: of ``kommun``). Ignored at
            riket level.
        kommun: at RegSO level, the kommun whose RegSO are chosen from (required there unless
            every area is given); elsewhere it must be None.
        reference: add riket's rows (code ``00``) below the areas' where the measure has them.
        threshold: the smallest count shown (see :func:`protect`).

    Unknown ids, codes or years are an :class:`~bryta.errors.InputError` naming them and what
    is accepted.
    """
    lab = _measure(measure)
    _check_level(lab, level)
    chosen = _areas(level, areas, kommun)
    kommun = _kommun_of(level, chosen, kommun)
    available = _years(lab, level)
    if years is None:
        picked = available
    else:
        picked = sorted(set(years))
        for year in picked:
            if year not in available:
                raise InputError(
                    f"{lab.id} at {level} level has the years {_spans(available)}, not {year}"
                )
    rows = _rows(lab, level).filter(pl.col("code").is_in(chosen) & pl.col("year").is_in(picked))
    with_reference = reference and level != "riket" and "riket" in lab.levels
    if with_reference:
        rows = pl.concat([rows, _rows(lab, "riket").filter(pl.col("year").is_in(picked))])
    order = {code: i for i, code in enumerate([*chosen, RIKET[0]])}
    rows = rows.sort(
        pl.col("code").replace_strict(order, return_dtype=pl.Int64, default=len(order)), "year"
    )
    frame, suppressed = protect(rows, lab, threshold)
    return LabTable(
        lab, level, picked, chosen, kommun, with_reference, frame, suppressed, threshold
    )


def map_values(
    measure: str,
    level: str,
    year: int,
    *,
    kommun: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> pl.DataFrame:
    """Every area of ``level`` (at RegSO level: of ``kommun``) in ``year``, protected as in
    :func:`query`: ``code``, ``name``, ``value`` — what a map of the measure shows."""
    lab = _measure(measure)
    _check_level(lab, level)
    codes = _areas(level, None, kommun)
    rows = _rows(lab, level).filter(pl.col("code").is_in(codes) & (pl.col("year") == year))
    frame, _ = protect(rows, lab, threshold)
    return frame.select("code", "name", "value").sort("code")


def years_of(measure: str, level: str) -> list[int]:
    """The years ``measure`` has at ``level``."""
    lab = _measure(measure)
    _check_level(lab, level)
    return _years(lab, level)


def all_years() -> list[int]:
    """Every year any measure has at any level, sorted."""
    return sorted({y for m in MEASURES.values() for lv in m.levels for y in _years(m, lv)})


def areas_of(level: str, kommun: str | None = None) -> pl.DataFrame:
    """The areas one can pick at ``level``: ``code``, ``name`` (at RegSO level, of ``kommun``;
    all 3,363 without one)."""
    return _names(level).filter(
        pl.col("code").str.starts_with(kommun) if level == "regso" and kommun else pl.lit(True)
    )


def protect(
    rows: pl.DataFrame, lab: LabMeasure, threshold: int = DEFAULT_THRESHOLD
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Withhold what could identify people: ``rows`` with small counts set to null, and how
    many values of each column were withheld.

    * a count (a column of ``lab.counts``, or the value of a count measure) below
      ``threshold`` and above zero (:func:`~bryta.compute.disclosure.suppress_small`);
    * a numerator whose complement within its total (the total minus it) is below the
      threshold and above zero: with the total shown it would give the complement away;
    * a value computed from a withheld count.

    ``suppressed`` (a boolean column, added where the measure has counts) marks the rows
    where anything was withheld. An index has no counts and is returned as it is.
    """
    if lab.value_is_count:
        out, report = suppress_small(rows, values=["value"], threshold=threshold)
        out = out.with_columns(pl.col("suppressed").is_not_null())
        return out, {"value": report.primary["value"]}
    if not lab.counts:
        return rows, {}
    count, total = lab.counts
    marked = rows.with_columns(
        (pl.col(total) - pl.col(count)).alias("__rest"),
        pl.col(count).alias("__count"),
        pl.col(total).alias("__total"),
    )
    out, _ = suppress_small(marked, values=[count, total, "__rest"], threshold=threshold)
    out = (
        out.with_columns(
            (pl.col(count).is_null() & pl.col("__count").is_not_null()).alias("__hc"),
            (pl.col(total).is_null() & pl.col("__total").is_not_null()).alias("__ht"),
            (
                pl.col("__rest").is_null()
                & pl.col("__count").is_not_null()
                & pl.col("__total").is_not_null()
            ).alias("__hr"),
        )
        .with_columns(
            (pl.col("__hc") | pl.col("__hr")).alias("__drop_count"),
            (pl.col("__hc") | pl.col("__hr") | pl.col("__ht")).alias("suppressed"),
        )
        .with_columns(
            pl.when(pl.col("__drop_count")).then(None).otherwise(pl.col("__count")).alias(count),
            pl.when(pl.col("suppressed")).then(None).otherwise(pl.col("value")).alias("value"),
            (pl.col("suppressed") & pl.col("value").is_not_null()).alias("__drop_value"),
        )
    )
    withheld = {
        count: int(out["__drop_count"].sum()),
        total: int(out["__ht"].sum()),
        "value": int(out["__drop_value"].sum()),
    }
    return out.select(*rows.columns, "suppressed"), withheld


# ---- the tables behind the measures ------------------------------------------------------------
def _measure(measure: str) -> LabMeasure:
    if measure not in MEASURES:
        raise InputError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    return MEASURES[measure]


def _check_level(lab: LabMeasure, level: str) -> None:
    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if level not in lab.levels:
        raise InputError(f"{lab.id} is not offered at {level} level: {lab.missing[level]}")


_EXAMPLES = {
    "lan": "01 for Stockholms län",
    "kommun": "0180 for Stockholm",
    "regso": "1280R020 for Fågelbacken in Malmö",
}


def _areas(level: str, areas: Sequence[str] | None, kommun: str | None) -> list[str]:
    """The chosen codes, validated, in the order given (repeats dropped)."""
    if level == "riket":
        if kommun:
            raise InputError("kommun narrows the RegSO level; at riket level leave it out")
        return [RIKET[0]]
    if level != "regso" and kommun:
        raise InputError(f"kommun narrows the RegSO level; at {level} level leave it out")
    names = _names(level)
    known = set(names.get_column("code").to_list())
    if level == "regso" and kommun is not None and kommun not in set(_names("kommun")["code"]):
        raise InputError(f"kommun {kommun!r} is not a kommun code (e.g. {_EXAMPLES['kommun']})")
    if not areas:
        if level == "regso" and kommun is None:
            raise InputError("at RegSO level choose a kommun (kommun=1280) or RegSO codes")
        return areas_of(level, kommun).get_column("code").to_list()
    chosen: list[str] = []
    for code in areas:
        if code not in known:
            word = {"lan": "län", "kommun": "kommun", "regso": "RegSO"}[level]
            raise InputError(f"{code!r} is not a {word} code (e.g. {_EXAMPLES[level]})")
        if level == "regso" and kommun is not None and not code.startswith(kommun):
            raise InputError(f"{code!r} is not a RegSO of kommun {kommun}")
        if code not in chosen:
            chosen.append(code)
    return chosen


def _kommun_of(level: str, chosen: list[str], kommun: str | None) -> str | None:
    if level != "regso" or kommun is not None:
        return kommun
    kommuner = {code[:4] for code in chosen}
    return kommuner.pop() if len(kommuner) == 1 else None


def _years(lab: LabMeasure, level: str) -> list[int]:
    return sorted(_rows(lab, level).get_column("year").unique().to_list())


def _spans(years: list[int]) -> str:
    if years and years == list(range(years[0], years[-1] + 1)) and len(years) > 1:
        return f"{years[0]}–{years[-1]}"
    return ", ".join(map(str, years))


@functools.cache
def _names(level: str) -> pl.DataFrame:
    from bryta.geography.areas import areas

    if level == "riket":
        return pl.DataFrame({"code": [RIKET[0]], "name": [RIKET[1]]})
    return areas(level).select("code", "name").sort("code")


_LOCK = threading.Lock()


def _rows(lab: LabMeasure, level: str) -> pl.DataFrame:
    """All rows of ``lab`` at ``level``: code, name, level, year, measure, value, counts."""
    with _LOCK:
        return _all_rows(lab.id, level)


@functools.cache
def _all_rows(measure: str, level: str) -> pl.DataFrame:
    lab = MEASURES[measure]
    head: list[str | pl.Expr] = [
        "code",
        "name",
        pl.lit(level).alias("level"),
        pl.col("year").cast(pl.Int64),
        pl.lit(measure).alias("measure"),
        pl.col("value").cast(pl.Float64),
    ]
    if lab.kind == "index":
        from bryta.app import barometer

        table = barometer.segregation(level, index=lab.index).filter(
            (pl.col("grouping") == lab.grouping)
            & (pl.col("group").is_null() if lab.group is None else pl.col("group") == lab.group)
        )
        return table.with_columns(pl.col("value").fill_nan(None)).select(head)
    if measure == "mean_wage_income":
        from bryta.app.profiles import bundled_indicators

        wage = bundled_indicators().filter(
            (pl.col("level") == level) & (pl.col("indicator") == measure)
        )
        table = wage.select(pl.col("area").alias("code"), "year", "value")
    else:
        sums = _counts(level)
        if measure == "population":
            table = sums.select("code", "year", pl.col("population").alias("value"))
        else:
            count, total = lab.counts
            table = sums.filter(pl.col(count).is_not_null()).select(
                "code",
                "year",
                (100 * pl.col(count) / pl.col(total)).alias("value"),
                count,
                total,
            )
    table = table.join(_names(level), on="code", how="left")
    return table.select(*head, *lab.counts).sort("code", "year")


@functools.cache
def _counts(level: str) -> pl.DataFrame:
    """The bundled counts summed over the RegSO of each area of ``level``: ``code``, ``year``,
    ``population``, ``born_abroad``, ``rental``, ``dwellings`` (of known tenure) and, in the
    year of the official area types, ``population_types_1_2``."""
    from bryta.datasets import load_demo_panel, official_area_types

    types = official_area_types().select("regso", "year", "area_type")
    panel = (
        load_demo_panel()
        .with_columns(riket=pl.lit(RIKET[0]))
        .join(types, on=["regso", "year"], how="left")
    )
    population = pl.col("born_sweden") + pl.col("born_abroad")
    return (
        panel.group_by(pl.col(level).alias("code"), "year")
        .agg(
            population.sum().alias("population"),
            pl.col("born_abroad").sum(),
            pl.col("rental").sum(),
            (pl.col("rental") + pl.col("tenant_owned") + pl.col("owner_occupied"))
            .sum()
            .alias("dwellings"),
            pl.when(pl.col("area_type").is_not_null().any())
            .then(population.filter(pl.col("area_type") <= 2).sum())
            .alias("population_types_1_2"),
        )
        .sort("code", "year")
    )
