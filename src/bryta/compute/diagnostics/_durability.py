"""Short-termism, second part: funding periods and instruments, survival, continuity.

Helpers of :func:`bryta.compute.diagnostics.short_termism` (which documents the metrics); each
returns one frame keyed by the ``by`` column.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from bryta.compute.diagnostics import _portfolio as P
from bryta.vocabulary import Form

SURVIVAL_MONTHS = (12, 24, 36, 48)
SURVIVAL_METRICS = tuple(f"survival[{k}]" for k in SURVIVAL_MONTHS)


def funding_shares(
    fundings: pl.DataFrame | None, prepared: pl.DataFrame, member: pl.DataFrame, by: str
) -> pl.DataFrame:
    """``by``, ``share_sek_24_months_or_more``, ``temporary_funding_share_sek``.

    A funding row's period runs from its start to its end; a missing start or end is taken
    from its intervention (effective start; effective end, i.e. actual, planned, else
    ``as_of``). A row counts in every group its intervention belongs to.
    """
    if fundings is None:
        fundings = pl.DataFrame(schema=P.FUNDINGS_SCHEMA)
    rows = (
        P.conform(fundings, P.FUNDINGS_SCHEMA, "fundings")
        .rename({"intervention_id": "id"})
        .join(prepared.select("id", _start="start", _end="end"), on="id")
        .with_columns(_months=P.months(pl.coalesce("start", "_start"), pl.coalesce("end", "_end")))
    )
    sek = pl.col("amount_sek")
    timed = pl.col("_months").is_not_null()
    typed = pl.col("instrument").is_not_null()
    return (
        member.join(rows, on="id")
        .group_by(by)
        .agg(
            share_sek_24_months_or_more=P.ratio(
                sek.filter(timed & (pl.col("_months") >= 24)).sum(), sek.filter(timed).sum()
            ),
            temporary_funding_share_sek=P.ratio(
                sek.filter(typed & (pl.col("instrument") != P.CORE_BUDGET)).sum(),
                sek.filter(typed).sum(),
            ),
        )
    )


def survival(prepared: pl.DataFrame, member: pl.DataFrame, by: str, ref: dt.date) -> pl.DataFrame:
    """Long rows ``by``, ``metric`` (``survival[k]``), ``value``, ``label`` (null).

    Kaplan–Meier estimate over the group's projects that have started by ``ref``: a project
    with an actual end on or before ``ref`` is an event at t = months(start, actual end); any
    other is censored at t = months(start, ``ref``). With d_t events and n_t projects observed
    for t months or more, S(k) = Π_{t ≤ k} (1 − d_t / n_t). S(k) is null when the curve is not
    identified at k: no project has been observed for k months and S has not already reached 0.
    For ``by="year"`` a project belongs to the year it started (a cohort).
    """
    ref_lit = pl.lit(ref)
    projects = prepared.filter(
        (pl.col("form") == Form.PROJECT.value)
        & pl.col("start").is_not_null()
        & (pl.col("start") <= ref_lit)
    ).select(
        "id",
        "ended",
        # rounded so that equal durations tie exactly
        t=P.months(pl.col("start"), pl.when("ended").then("actual_end").otherwise(ref_lit)).round(
            9
        ),
    )
    if by == "year":
        member = prepared.select(year=pl.col("start").dt.year().cast(pl.Int64), id="id")
    steps = (
        member.join(projects, on="id")
        .group_by(by, "t")
        .agg(_d=pl.col("ended").sum(), _c=pl.len())
        .sort(by, "t")
        .with_columns(_n=pl.col("_c").cum_sum(reverse=True).over(by))
        .with_columns(_s=(1 - pl.col("_d") / pl.col("_n")).cum_prod().over(by))
    )
    horizons = pl.DataFrame({"k": SURVIVAL_MONTHS}, schema={"k": pl.Float64})
    grid = steps.group_by(by).agg(_tmax=pl.col("t").max()).join(horizons, how="cross")
    at_k = (
        steps.join(horizons, how="cross")
        .filter(pl.col("t") <= pl.col("k"))
        .group_by(by, "k")
        .agg(_s=pl.col("_s").sort_by("t").last())
    )
    s = pl.col("_s").fill_null(1.0)  # no event up to k: nothing has ended yet
    return grid.join(at_k, on=[by, "k"], how="left").select(
        by,
        metric=pl.format("survival[{}]", pl.col("k").cast(pl.Int64)),
        value=pl.when((pl.col("_tmax") >= pl.col("k")) | (s == 0)).then(s).otherwise(None),
        label=pl.lit(None, dtype=pl.String),
    )


def continuity(
    prepared: pl.DataFrame, area_links: pl.DataFrame, by: str, ref: dt.date
) -> pl.DataFrame:
    """``by``, ``coverage_continuity``.

    A cell (area, outcome domain) is *covered* in a year when an intervention linked to the
    area with that domain is active in the year. Over the cell-years covered in a year y with
    y + 1 ≤ year(``ref``) (so that the next year has been observed), the share also covered in
    y + 1. For ``by="kommun"``/``"area_type"`` the cells are the group's areas; for
    ``by="year"`` the transition y → y + 1 counts in year y.
    """
    group = [] if by == "year" else [by]
    linked = P.links(area_links, prepared, "kommun" if by == "year" else by)
    cells = (
        linked.select("id", "area", *group)
        .drop_nulls(group or None)
        .join(P.active_years(prepared), on="id")
        .join(prepared.select("id", domain="outcome_domains"), on="id")
        .explode("domain")
        .drop_nulls("domain")
        .select(*group, "area", "domain", "year")
        .unique()
    )
    cell = [*group, "area", "domain", "year"]
    following = cells.select(*group, "area", "domain", year=pl.col("year") - 1).with_columns(
        _next=pl.lit(True)
    )
    return (
        cells.filter(pl.col("year") < ref.year)
        .join(following, on=cell, how="left")
        .group_by(by)
        .agg(coverage_continuity=P.ratio(pl.col("_next").fill_null(False).sum(), pl.len()))
    )
