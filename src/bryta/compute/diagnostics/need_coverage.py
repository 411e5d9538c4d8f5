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
    "targeting_ratio_sek",
    "high_need_areas",
    "unserved_high_need_areas",
    "early_years_coverage_type1",
    "concentration_index",
)


def _area_counts(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    population: pl.DataFrame,
    by: str,
    as_of: dt.date | None,
    groups: Sequence[str | int] | None,
) -> pl.DataFrame:
    """One row per group × populated area: ``by``, ``area``, ``area_type``, ``population``,
    ``index``, and over the group's interventions linked to the area: ``n`` (how many),
    ``sek`` (their SEK allocated to the area), ``_sek_known`` (how many have a known amount)
    and ``_early`` (whether an early-years one is active: on ``as_of``, or in the year)."""
    ref = as_of if as_of is not None else dt.date.today()
    need = ["kommun"] if by == "kommun" else []
    pop = (
        P.conform(population, P.POPULATION_SCHEMA, "population", need)
        .drop_nulls("area")
        .unique("area", keep="first", maintain_order=True)
    )
    prepared = P.prepare(interventions, ref)
    running = (pl.col("start") <= pl.lit(ref)) & (pl.col("end") >= pl.lit(ref))
    link = (
        P.links(area_links, prepared, "kommun")
        .select("id", "area", "share_of_effort")
        .join(
            prepared.select("id", "amount_sek", _is_early=P.is_early(), _running=running), on="id"
        )
        .with_columns(
            _sek=pl.col("amount_sek")
            * pl.coalesce("share_of_effort", 1 / pl.len().over("id").cast(pl.Float64))
        )
    )
    sums = {
        "n": pl.len(),
        "sek": pl.col("_sek").sum(),
        "_sek_known": pl.col("amount_sek").is_not_null().sum(),
    }
    if by == "year":
        years = P.active_years(prepared)
        key = P.keys(by, years, groups=groups)
        areas = key.join(pop, how="cross")
        counts = (
            link.join(years, on="id")
            .group_by("year", "area")
            .agg(**sums, _early=pl.col("_is_early").any())
        )
    else:
        key = P.keys(by, pop, groups=groups)
        areas = key.join(pop.drop_nulls(by), on=by, how="left")
        counts = (
            link.join(pop.select("area", by), on="area")
            .group_by(by, "area")
            .agg(**sums, _early=(pl.col("_is_early") & pl.col("_running")).any())
        )
    return areas.join(counts, on=[by, "area"], how="left").with_columns(
        pl.col("n", "sek", "_sek_known").fill_null(0), pl.col("_early").fill_null(False)
    )


def _concentration(areas: pl.DataFrame, by: str) -> pl.DataFrame:
    """``by``, ``concentration_index``, ``_unit`` (see :func:`need_coverage`)."""
    ranked = areas.filter(pl.col("index").is_not_null() & (pl.col("population") > 0))
    # tied areas share one fractional rank, the midpoint of their joint population
    ranks = (
        ranked.group_by(by, "index")
        .agg(_p=pl.col("population").sum())
        .sort(by, "index")
        .with_columns(
            _r=(pl.col("_p").cum_sum().over(by) - pl.col("_p") / 2) / pl.col("_p").sum().over(by)
        )
    )
    use_sek = pl.col("_sek_known").sum().over(by) > 0
    return (
        ranked.join(ranks.select(by, "index", "_r"), on=[by, "index"])
        .with_columns(_sek_unit=use_sek)
        .with_columns(_e=pl.when("_sek_unit").then("sek").otherwise(pl.col("n").cast(pl.Float64)))
        .group_by(by)
        .agg(
            concentration_index=P.ratio(2 * (pl.col("_e") * pl.col("_r")).sum(), pl.col("_e").sum())
            - 1,
            _unit=pl.when(pl.col("_sek_unit").first())
            .then(pl.lit("sek"))
            .otherwise(pl.lit("interventions")),
        )
        .with_columns(_unit=pl.when(pl.col("concentration_index").is_not_null()).then("_unit"))
    )


def need_coverage(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    population: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence[str | int] | None = None,
) -> pl.DataFrame:
    """Need-coverage diagnostics per ``by`` group (kommun, area_type or year).

    ``population`` has one row per area: ``area``, ``population``, ``area_type`` (1–5), for
    ``by="kommun"`` ``kommun``, and optionally ``index``, the socioeconomic index of
    :func:`bryta.area_types` (higher = more deprived). Intervention effort in
    an area is n_a = the number of interventions linked to the area (an intervention in three
    areas counts in each; links to codes that are not in ``population``, such as whole-kommun
    links, are not counted), or in SEK s_a = Σ amount_sek × w over the interventions with a
    known amount, w being the link's ``share_of_effort``, else 1 / (number of the
    intervention's area links). For ``by="year"`` only interventions active in the year count
    (each with its whole amount), against the same population.

    With I = Σ n_a, S = Σ s_a and P = Σ population over the group's areas, and I_h, S_h, P_h the
    same sums over its high-need areas (types 1–2):

    * ``population`` = P;
    * ``interventions_per_1000`` = 1000 · I / P;
    * ``targeting_ratio`` = (I_h / P_h) / (I / P): 1 when high-need areas get effort in
      proportion to their population, > 1 when they get more. For ``by="area_type"`` each
      group is one type, so the ratio compares it with all areas instead:
      (I_t / P_t) / (I_all / P_all);
    * ``targeting_ratio_sek`` = the same with S in place of I;
    * ``high_need_areas`` = number of type 1–2 areas; ``unserved_high_need_areas`` = those with
      n_a = 0 (listed by :func:`unserved_areas`);
    * ``early_years_coverage_type1`` = #{type-1 areas with an active early-years (prenatal or
      0-5) intervention} / #{type-1 areas}; active = running on ``as_of`` (start ≤ ``as_of`` ≤
      end), for ``by="year"`` active in the year;
    * ``concentration_index`` = 2 Σ_a (e_a / E) R_a − 1 = 2 cov_w(h, R) / μ over the group's
      areas with an ``index`` and a positive population (Kakwani, Wagstaff & van Doorslaer 1997;
      O'Donnell et al. 2008, ch. 8): h_a = e_a / pop_a is effort per inhabitant, μ its
      population-weighted mean and R_a the fractional rank of the area's population with areas
      ordered from least to most deprived (R_a = (population of less deprived areas +
      pop_a / 2) / P; tied indices share one rank). **Sign:** > 0 means effort per inhabitant
      is concentrated in the more deprived areas, < 0 in the less deprived; 0 when it is
      proportional to population; range −1…1. Effort e_a is s_a when any intervention linked
      to these areas has a known amount, else n_a; ``label`` says which (``sek`` or
      ``interventions``). Null without an ``index`` column.

    Ratios are null when a denominator is zero (no population, no high-need population, no
    intervention in the group, no SEK, no type-1 area).

    Worked example: a kommun with a type-1 area of 1 000 inhabitants and one intervention and
    a type-4 area of 3 000 inhabitants and one intervention has I/P = 2/4 000, I_h/P_h =
    1/1 000 and targeting_ratio = 0.001 / 0.0005 = 2. If the type-1 area is the more deprived,
    R = (3 000 + 500)/4 000 = 0.875 for it and 1 500/4 000 = 0.375 for the other; with no SEK
    known the effort shares are 1/2 each and concentration_index = 2 (0.5 · 0.875 + 0.5 ·
    0.375) − 1 = 0.25.

    Returns:
        ``by``, ``metric``, ``value``, ``label`` (the effort unit on ``concentration_index``,
        otherwise null), one row per group × metric.
    """
    by = P.check_by(by)
    areas = _area_counts(interventions, area_links, population, by, as_of, groups)
    if areas.is_empty():
        return P.empty_long(by)
    high = pl.col("area_type").is_in(P.HIGH_NEED_TYPES)
    type1 = pl.col("area_type") == 1
    wide = areas.group_by(by).agg(
        population=pl.col("population").sum(),
        _i=pl.col("n").sum(),
        _ih=pl.col("n").filter(high).sum(),
        _s=pl.col("sek").sum(),
        _sh=pl.col("sek").filter(high).sum(),
        _ph=pl.col("population").filter(high).sum(),
        high_need_areas=high.sum(),
        unserved_high_need_areas=(high & (pl.col("n") == 0)).sum(),
        early_years_coverage_type1=P.ratio((type1 & pl.col("_early")).sum(), type1.sum()),
    )

    def targeting(effort: str, high_effort: str) -> pl.Expr:
        rate = P.ratio(effort, "population")
        if by == "area_type":
            return P.ratio(rate, P.ratio(pl.col(effort).sum(), pl.col("population").sum()))
        return P.ratio(P.ratio(high_effort, "_ph"), rate)

    wide = wide.with_columns(
        interventions_per_1000=1000 * P.ratio("_i", "population"),
        targeting_ratio=targeting("_i", "_ih"),
        targeting_ratio_sek=targeting("_s", "_sh"),
    ).join(_concentration(areas, by), on=by, how="left")
    long = P.to_long(wide.sort(by), by, NEED_COVERAGE_METRICS)
    units = wide.select(by, "_unit", metric=pl.lit("concentration_index"))
    return long.join(units, on=[by, "metric"], how="left", maintain_order="left").select(
        by, "metric", "value", label=pl.coalesce("label", "_unit")
    )


def unserved_areas(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    population: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence[str | int] | None = None,
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
