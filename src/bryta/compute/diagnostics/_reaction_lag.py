"""Late interventions, second part: how long high-need areas wait for early-years work.

Helper of :func:`bryta.compute.diagnostics.earliness` (which documents the metrics).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from bryta.compute.diagnostics import _portfolio as P

REACTION_LAG_METRICS = ("reaction_lag_years", "reaction_lag_censored")


def reaction_lag(
    prepared: pl.DataFrame,
    area_links: pl.DataFrame,
    area_types: pl.DataFrame,
    by: str,
    ref: dt.date,
) -> pl.DataFrame:
    """``by``, ``reaction_lag_years``, ``reaction_lag_censored`` (one row per group with an
    area that entered type 1–2 by year(``ref``)).

    An area *enters* in the first year ≤ year(``ref``) in which ``area_types`` gives it type 1
    or 2; it is *served* in the first year y ≥ entry (and ≤ year(``ref``)) in which an
    early-years (prenatal or 0-5) intervention linked to it is active. Lag = served − entry
    (0 when early-years work is already running in the entry year). An area not served by
    year(``ref``) is censored: it has no lag and counts in ``reaction_lag_censored``.
    The area's group is its kommun (``kommun`` column, else the first four characters of the
    area code), its type in the entry year, or the entry year.
    """
    types = (
        P.conform(area_types, P.AREA_TYPES_SCHEMA, "area_types", ["area_type"])
        .drop_nulls(["area", "year", "area_type"])
        .with_columns(pl.coalesce("kommun", pl.col("area").str.slice(0, 4)).alias("kommun"))
    )
    entry = (
        types.filter(pl.col("area_type").is_in(P.HIGH_NEED_TYPES) & (pl.col("year") <= ref.year))
        .group_by("area")
        .agg(
            pl.col("year").min().alias("_entry"),
            pl.col("kommun", "area_type").sort_by("year").first(),
        )
    )
    early = prepared.filter(P.is_early()).select("id")
    served = (
        P.links(area_links, prepared, "kommun")
        .join(early, on="id", how="semi")
        .join(P.active_years(prepared), on="id")
        .filter(pl.col("year") <= ref.year)
        .select("area", "year")
    )
    first = (
        entry.join(served, on="area")
        .filter(pl.col("year") >= pl.col("_entry"))
        .group_by("area")
        .agg(_served=pl.col("year").min())
    )
    lagged = entry.join(first, on="area", how="left").with_columns(
        _lag=pl.col("_served") - pl.col("_entry")
    )
    if by == "year":
        lagged = lagged.with_columns(year=pl.col("_entry"))
    return lagged.group_by(by).agg(
        reaction_lag_years=pl.col("_lag").mean(),
        reaction_lag_censored=pl.col("_lag").is_null().sum(),
    )
