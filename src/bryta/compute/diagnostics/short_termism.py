"""Short-termism: how much of the portfolio is temporary project work, and what becomes of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from bryta.compute.diagnostics import _durability as T
from bryta.compute.diagnostics import _portfolio as P
from bryta.vocabulary import Form

SHORT_TERMISM_METRICS = (
    "n_interventions",
    "project_share_count",
    "project_share_sek",
    "median_planned_months",
    "median_actual_months",
    "share_under_12_months",
    "share_36_months_or_more",
    "share_sek_24_months_or_more",
    "temporary_funding_share_sek",
    "institutionalisation_rate",
    *T.SURVIVAL_METRICS,
    "churn",
    "coverage_continuity",
)


def _institutionalised(prepared: pl.DataFrame, successions: pl.DataFrame) -> pl.DataFrame:
    """Ended projects (``id``, ``actual_end``) with ``continued``: a permanent-operation
    successor that starts no later than 12 months after the project's actual end."""
    succ = P.conform(successions, P.SUCCESSIONS_SCHEMA, "successions")
    ended = prepared.filter((pl.col("form") == Form.PROJECT.value) & pl.col("ended")).select(
        "id", "actual_end"
    )
    continued = (
        ended.join(succ, left_on="id", right_on="from_id")
        .join(prepared.select("id", "form", "start"), left_on="to_id", right_on="id")
        .filter(
            (pl.col("form") == Form.PERMANENT_OPERATION.value)
            & (pl.col("start") <= pl.col("actual_end").dt.offset_by("12mo"))
        )
        .select("id")
        .unique()
        .with_columns(continued=pl.lit(True))
    )
    return ended.join(continued, on="id", how="left").with_columns(
        pl.col("continued").fill_null(False)
    )


def short_termism(
    interventions: pl.DataFrame,
    area_links: pl.DataFrame,
    successions: pl.DataFrame,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence[str | int] | None = None,
    fundings: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Short-termism diagnostics per ``by`` group (kommun, area_type or year).

    Over the interventions ``i`` of a group ``g`` (see the package docstring for membership):

    * ``n_interventions`` = |g|;
    * ``project_share_count`` = #{i: form = project} / |g|;
    * ``project_share_sek`` = Σ_{project} SEK / Σ SEK (interventions with a known amount);
    * ``median_planned_months`` = median months(planned start, planned end);
    * ``median_actual_months`` = median months(actual start, actual end or ``as_of``);
    * ``share_under_12_months`` / ``share_36_months_or_more`` = share of interventions with a
      start date whose duration months(start, end) is < 12 / ≥ 36 (start = actual else planned
      start; end = actual else planned end, else ``as_of``);
    * ``share_sek_24_months_or_more`` = Σ SEK of funding rows whose period lasts ≥ 24 months
      / Σ SEK of funding rows (``fundings``; a row's missing start or end is its
      intervention's effective start or end);
    * ``temporary_funding_share_sek`` = Σ SEK of funding rows from any instrument other than
      ``core_budget`` (targeted state grants, EU, Arvsfonden, foundations, social investment
      funds: money granted for a limited period by someone else's decision) / Σ SEK of rows
      with a known instrument. Both are null without ``fundings``;
    * ``institutionalisation_rate`` = #{ended projects with a permanent_operation successor
      starting ≤ 12 months after the actual end} / #{ended projects}; for ``by="year"`` each
      ended project counts in the year it ended;
    * ``survival[k]`` for k = 12, 24, 36, 48 = Kaplan–Meier share of projects still running k
      months after their start. A project that ended (actual end ≤ ``as_of``) is an event at
      its duration; one still running is censored at months(start, ``as_of``). S(k) =
      Π_{t ≤ k} (1 − d_t / n_t) with d_t projects ending at t months and n_t projects observed
      for t months or more. Null when no project has been observed for k months (and S has
      not reached 0). For ``by="year"`` projects form cohorts by start year;
    * ``churn`` = (S + E) / (2 A) with, summed over the group's area-years (years for
      ``by="year"``), S = interventions starting in the year, E = interventions ending (actual
      end ≤ ``as_of``) in the year and A = interventions active in the year;
    * ``coverage_continuity`` = share of (area, outcome domain, year) cells covered (an
      intervention linked to the area with that domain active in the year) that are covered
      again the next year; only years y with y + 1 ≤ year(``as_of``) count. For ``by="year"``
      the transition y → y + 1 counts in year y.

    Months are calendar months with both days included (2020-01-01 → 2020-12-31 = 12). A ratio
    whose denominator is zero (e.g. a group with no interventions) is null.

    Worked example: a kommun with a project 2020-01-01 → 2021-12-31 (1 000 SEK, ended, followed
    by a permanent operation from 2022-03-01) and a permanent operation started 2022-03-01 and
    still running at ``as_of`` = 2023-12-31 has project_share_count = 1/2, project_share_sek =
    1 000/1 000 = 1 (the operation has no amount), median_actual_months = (24 + 22)/2 = 23,
    share_under_12_months = 0, institutionalisation_rate = 1/1, survival[12] = 1 and
    survival[24] = 0 (the one project ran exactly 24 months, then ended) and churn = (2 starts
    + 1 end) / (2 × (2 + 2) active years) = 0.375.

    Returns:
        ``by``, ``metric``, ``value``, ``label`` (always null here), one row per group × metric.
    """
    by = P.check_by(by)
    ref = as_of if as_of is not None else dt.date.today()
    prepared = P.prepare(interventions, ref)
    member = P.membership(prepared, area_links, by)
    key = P.keys(by, member, groups=groups)
    if key.is_empty():
        return P.empty_long(by)
    rows = member.join(prepared, on="id")
    is_project = pl.col("form") == Form.PROJECT.value
    known = pl.col("months").is_not_null()
    wide = rows.group_by(by).agg(
        n_interventions=pl.len(),
        project_share_count=P.ratio(is_project.sum(), pl.len()),
        project_share_sek=P.ratio(
            pl.col("amount_sek").filter(is_project).sum(), pl.col("amount_sek").sum()
        ),
        median_planned_months=pl.col("planned_months").median(),
        median_actual_months=pl.col("actual_months").median(),
        share_under_12_months=P.ratio((known & (pl.col("months") < 12)).sum(), known.sum()),
        share_36_months_or_more=P.ratio((known & (pl.col("months") >= 36)).sum(), known.sum()),
    )

    inst = _institutionalised(prepared, successions)
    if by == "year":
        inst_member = inst.select(year=pl.col("actual_end").dt.year().cast(pl.Int64), id="id")
    else:
        inst_member = member
    inst_rate = (
        inst_member.join(inst, on="id")
        .group_by(by)
        .agg(institutionalisation_rate=P.ratio(pl.col("continued").sum(), pl.len()))
    )

    churn = (
        P.group_years(member, prepared, by)
        .join(prepared.select("id", "start", "actual_end", "ended"), on="id")
        .group_by(by)
        .agg(
            churn=P.ratio(
                (pl.col("active_year") == pl.col("start").dt.year()).sum()
                + (
                    pl.col("ended") & (pl.col("active_year") == pl.col("actual_end").dt.year())
                ).sum(),
                2 * pl.len(),
            )
        )
    )
    wide = (
        key.join(wide, on=by, how="left")
        .join(T.funding_shares(fundings, prepared, member, by), on=by, how="left")
        .join(inst_rate, on=by, how="left")
        .join(churn, on=by, how="left")
        .join(T.continuity(prepared, area_links, by, ref), on=by, how="left")
        .with_columns(pl.col("n_interventions").fill_null(0))
    )
    scalars = [m for m in SHORT_TERMISM_METRICS if m not in T.SURVIVAL_METRICS]
    curve = key.join(pl.DataFrame({"metric": T.SURVIVAL_METRICS}), how="cross").join(
        T.survival(prepared, member, by, ref), on=[by, "metric"], how="left"
    )
    long = pl.concat([P.to_long(wide, by, scalars), curve.select(by, "metric", "value", "label")])
    return P.order(long, by, SHORT_TERMISM_METRICS)
