"""Need coverage: does the effort go where the need is (area types 1–2)?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from bryta.compute.diagnostics import _portfolio as P

NEED_COVERAGE_METRICS = (
    "population",
    "interventions_per_1000",
    "targeting_ratio",
    "high_need_areas",
    "unserved_high_need_areas",
)


def _area_counts(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    population: pl.DataFrame,
    by: str,
    as_of: dt.date | None,
    groups: Sequence | None,
) -> pl.DataFrame:
    """One row per group × populated area: ``by``, ``area``, ``area_type``, ``population``
    and ``n`` = number of the group's interventions linked to the area."""
    need = ["kommun"] if by == "kommun" else []
    pop = (
        P.conform(population, P.POPULATION_SCHEMA, "population", need)
        .drop_nulls("area")
        .unique("area", keep="first", maintain_order=True)
    )
    prepared = P.prepare(interventions, as_of)
    link = P.links(area_links, prepared, "kommun").select("id", "area")
    if by == "year":
        years = P.active_years(prepared)
        key = P.keys(by, years, groups=groups)
        areas = key.join(pop, how="cross")
        counts = link.join(years, on="id").group_by("year", "area").agg(n=pl.len())
    else:
        key = P.keys(by, pop, groups=groups)
        areas = key.join(pop.drop_nulls(by), on=by, how="left")
        counts = link.join(pop.select("area", by), on="area").group_by(by, "area").agg(n=pl.len())
    return areas.join(counts, on=[by, "area"], how="left").with_columns(pl.col("n").fill_null(0))


def need_coverage(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    population: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence | None = None,
) -> pl.DataFrame:
    """Need-coverage diagnostics per ``by`` group (kommun, area_type or year).

    ``population`` has one row per area: ``area``, ``population``, ``area_type`` (1–5) and, for
    ``by="kommun"``, ``kommun``. Intervention effort in an area is n_a = the number of
    interventions linked to the area (an intervention in three areas counts in each; links to
    codes that are not in ``population``, such as whole-kommun links, are not counted). For
    ``by="year"`` only interventions active in the year count, against the same population.

    With I = Σ n_a and P = Σ population over the group's areas, and I_h, P_h the same sums
    over its high-need areas (types 1–2):

    * ``population`` = P;
    * ``interventions_per_1000`` = 1000 · I / P;
    * ``targeting_ratio`` = (I_h / P_h) / (I / P): 1 when high-need areas get effort in
      proportion to their population, > 1 when they get more. For ``by="area_type"`` each
      group is one type, so the ratio compares it with all areas instead:
      (I_t / P_t) / (I_all / P_all);
    * ``high_need_areas`` = number of type 1–2 areas; ``unserved_high_need_areas`` = those with
      n_a = 0 (listed by :func:`unserved_areas`).

    Ratios are null when a denominator is zero (no population, no high-need population, no
    intervention in the group).

    Worked example: a kommun with a type-1 area of 1 000 inhabitants and one intervention and
    a type-4 area of 3 000 inhabitants and one intervention has I/P = 2/4 000, I_h/P_h =
    1/1 000 and targeting_ratio = 0.001 / 0.0005 = 2.

    Returns:
        ``by``, ``metric``, ``value``, ``label`` (always null here), one row per group × metric.
    """
    by = P.check_by(by)
    areas = _area_counts(interventions, area_links, population, by, as_of, groups)
    if areas.is_empty():
        return P.empty_long(by)
    high = pl.col("area_type").is_in(P.HIGH_NEED_TYPES)
    wide = areas.group_by(by).agg(
        population=pl.col("population").sum(),
        _i=pl.col("n").sum(),
        _ih=pl.col("n").filter(high).sum(),
        _ph=pl.col("population").filter(high).sum(),
        high_need_areas=high.sum(),
        unserved_high_need_areas=(high & (pl.col("n") == 0)).sum(),
    )
    rate = P.ratio("_i", "population")
    if by == "area_type":
        overall = P.ratio(pl.col("_i").sum(), pl.col("population").sum())
        targeting = P.ratio(rate, overall)
    else:
        targeting = P.ratio(P.ratio("_ih", "_ph"), rate)
    wide = wide.with_columns(interventions_per_1000=1000 * rate, targeting_ratio=targeting)
    return P.to_long(wide.sort(by), by, NEED_COVERAGE_METRICS)


def unserved_areas(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    population: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence | None = None,
) -> pl.DataFrame:
    """The high-need areas (types 1–2) with no intervention, per ``by`` group.

    Returns ``by``, ``area``, ``area_type``, ``population``, sorted; the count per group is the
    ``unserved_high_need_areas`` metric of :func:`need_coverage`.
    """
    by = P.check_by(by)
    areas = _area_counts(interventions, area_links, population, by, as_of, groups)
    cols = [by, "area"] if by == "area_type" else [by, "area", "area_type"]
    return (
        areas.filter(pl.col("area_type").is_in(P.HIGH_NEED_TYPES) & (pl.col("n") == 0))
        .select(*cols, "population")
        .sort(by, "area")
    )
