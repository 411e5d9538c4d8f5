"""The pure parts of the evaluation panel built from the registry: which interventions
qualify, which RegSO they treat, and from which year.

Frames in, frames out; reading the registry and the data is :mod:`bryta.app.evaluation`.

* :func:`qualify` marks each intervention with the first reason it is left out (null: it
  qualifies) under the filters — form, prevention level, outcome domain, minimum planned
  duration, organisation — and for cancelled work or a missing start date;
* :func:`link_regso` maps area links to the RegSO of the panel: a RegSO link as it is, a DeSO
  link to its RegSO through the DeSO → RegSO key, a kommun link to every RegSO of the kommun
  only when ``kommun_links`` is asked for;
* :func:`assign_cohorts` gives every treated RegSO its cohort: the start year of the first
  qualifying intervention linked to it.

The duration is counted in calendar months from the planned start to the planned end, both
days included (the actual dates where the planned ones are missing), as the registry's
diagnostics count it: 2020-01-01 to 2020-12-31 is 12 months. Work with no end date is
open-ended and meets any minimum.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from bryta.compute.diagnostics import months

__all__ = ["INTERVENTION_SCHEMA", "LINK_SCHEMA", "assign_cohorts", "link_regso", "qualify"]

#: The columns :func:`qualify` reads (one row per intervention).
INTERVENTION_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64,
    "key": pl.String,
    "title": pl.String,
    "form": pl.String,
    "status": pl.String,
    "prevention_level": pl.String,
    "outcome_domains": pl.List(pl.String),
    "planned_start": pl.Date,
    "planned_end": pl.Date,
    "actual_start": pl.Date,
    "actual_end": pl.Date,
    "organisation_ids": pl.List(pl.Int64),
    "organisations": pl.List(pl.String),
}
#: The columns :func:`link_regso` reads (one row per area link).
LINK_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64,
    "level": pl.String,
    "area_code": pl.String,
}


def qualify(
    interventions: pl.DataFrame,
    *,
    forms: Sequence[str] | None = None,
    prevention_levels: Sequence[str] | None = None,
    outcome_domains: Sequence[str] | None = None,
    min_months: float | None = None,
    organisations: Sequence[str] | None = None,
) -> pl.DataFrame:
    """``interventions`` with ``start`` (actual start, else planned start), ``start_year``,
    ``months`` (planned duration, null when open-ended) and ``reason``: why it is left out,
    the first that applies, or null when it qualifies.

    ``outcome_domains``: any of them; ``organisations``: names (any case) or ids of an
    organisation taking part in any role.
    """
    start = pl.coalesce("planned_start", "actual_start")
    end = pl.coalesce("planned_end", "actual_end")
    frame = interventions.with_columns(
        pl.coalesce("actual_start", "planned_start").alias("start"),
        pl.when(end.is_not_null() & start.is_not_null())
        .then(months(start, end))
        .otherwise(None)
        .alias("months"),
    ).with_columns(pl.col("start").dt.year().cast(pl.Int64).alias("start_year"))
    reasons: list[tuple[pl.Expr, str]] = [
        (pl.col("status") == "cancelled", "cancelled"),
        (pl.col("start").is_null(), "no start date"),
    ]
    if forms:
        reasons.append((~pl.col("form").is_in(list(forms)), f"form not {', '.join(forms)}"))
    if prevention_levels:
        reasons.append(
            (
                ~pl.col("prevention_level").is_in(list(prevention_levels)).fill_null(False),
                f"prevention level not {', '.join(prevention_levels)}",
            )
        )
    if outcome_domains:
        reasons.append(
            (
                ~pl.col("outcome_domains")
                .list.eval(pl.element().is_in(list(outcome_domains)))
                .list.any()
                .fill_null(False),
                f"no outcome domain among {', '.join(outcome_domains)}",
            )
        )
    if min_months is not None:
        reasons.append(
            (
                (pl.col("months") < min_months).fill_null(False),
                f"planned duration under {min_months:g} months",
            )
        )
    if organisations:
        names = [o.casefold() for o in organisations]
        ids = [int(o) for o in organisations if o.strip().isdigit()]
        taking_part = pl.col("organisations").list.eval(
            pl.element().str.to_lowercase().is_in(names)
        ).list.any().fill_null(False) | pl.col("organisation_ids").list.eval(
            pl.element().is_in(ids)
        ).list.any().fill_null(False)
        reasons.append((~taking_part, f"no organisation among {', '.join(organisations)}"))
    reason: pl.Expr = pl.lit(None, pl.String)
    for condition, text in reversed(reasons):
        reason = pl.when(condition.fill_null(False)).then(pl.lit(text)).otherwise(reason)
    return frame.with_columns(reason.alias("reason"))


def link_regso(
    links: pl.DataFrame,
    deso_key: pl.DataFrame,
    units: pl.DataFrame,
    *,
    kommun_links: bool = False,
) -> pl.DataFrame:
    """Every (intervention ``id``, ``regso``) that the area links treat, with ``via``
    (``regso``, ``deso`` or ``kommun``); links whose area is not a RegSO of ``units``
    (``regso``, ``kommun``: the panel's units) are left out, and so are kommun links unless
    ``kommun_links``.

    ``deso_key``: ``deso`` → ``regso`` (codes of the panel's division).
    """
    links = links.select("id", pl.col("level").cast(pl.String), pl.col("area_code").cast(pl.String))
    direct = links.filter(level="regso").select("id", pl.col("area_code").alias("regso"))
    deso = (
        links.filter(level="deso")
        .join(deso_key.select("deso", "regso"), left_on="area_code", right_on="deso")
        .select("id", "regso")
    )
    parts = [
        direct.with_columns(pl.lit("regso").alias("via")),
        deso.with_columns(pl.lit("deso").alias("via")),
    ]
    if kommun_links:
        kommun = (
            links.filter(level="kommun")
            .join(units.select("regso", "kommun"), left_on="area_code", right_on="kommun")
            .select("id", "regso")
        )
        parts.append(kommun.with_columns(pl.lit("kommun").alias("via")))
    treated = pl.concat(parts)
    return (
        treated.join(units.select("regso"), on="regso", how="semi")
        .unique(["id", "regso"], keep="first", maintain_order=True)
        .sort("id", "regso")
    )


def assign_cohorts(starts: pl.DataFrame, treated: pl.DataFrame) -> pl.DataFrame:
    """The cohort of every treated RegSO: ``regso``, ``cohort`` (the earliest ``start_year``
    of the interventions linked to it), ``first_id`` (that intervention; the lowest id on a
    tie) and ``n_interventions`` (how many qualifying interventions are linked to it).

    ``starts``: ``id``, ``start_year`` of the qualifying interventions; ``treated``: ``id``,
    ``regso`` from :func:`link_regso`.
    """
    joined = treated.join(starts.select("id", "start_year"), on="id")
    return (
        joined.sort("regso", "start_year", "id")
        .group_by("regso", maintain_order=True)
        .agg(
            pl.col("start_year").first().alias("cohort"),
            pl.col("id").first().alias("first_id"),
            pl.col("id").n_unique().alias("n_interventions"),
        )
        .sort("regso")
    )
