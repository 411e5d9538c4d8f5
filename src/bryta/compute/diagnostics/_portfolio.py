"""Shared preparation for the registry diagnostics: schemas, dates, group membership, output.

Every diagnostic is an aggregation over the same two derived frames, built here once:

* the *prepared* interventions (effective start and end, durations, whether ended);
* the *membership* of interventions in the ``by`` groups (one row per group × intervention).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from bryta.errors import InputError
from bryta.vocabulary import AgeBand, Form, Instrument, PreventionLevel, Setting

AGE_BANDS = tuple(band.value for band in AgeBand)
EARLY_BANDS = (AgeBand.PRENATAL.value, AgeBand.AGE_0_5.value)
FORMS = tuple(form.value for form in Form)
PREVENTION_LEVELS = tuple(level.value for level in PreventionLevel)
SETTINGS = tuple(setting.value for setting in Setting)
CORE_BUDGET = Instrument.CORE_BUDGET.value
HIGH_NEED_TYPES = (1, 2)
BY = ("kommun", "area_type", "year")
DAYS_PER_MONTH = 365.25 / 12

INTERVENTIONS_SCHEMA = {
    "id": pl.String,
    "title": pl.String,
    "form": pl.String,
    "status": pl.String,
    "planned_start": pl.Date,
    "planned_end": pl.Date,
    "actual_start": pl.Date,
    "actual_end": pl.Date,
    "age_bands": pl.List(pl.String),
    "prevention_level": pl.String,
    "setting": pl.String,
    "settings": pl.List(pl.String),
    "outcome_domains": pl.List(pl.String),
    "amount_sek": pl.Float64,
    "shared_indicator": pl.Boolean,
}
PARTICIPATIONS_SCHEMA = {
    "intervention_id": pl.String,
    "organisation_id": pl.String,
    "role": pl.String,
    "sector": pl.String,
}
AREA_LINKS_SCHEMA = {
    "intervention_id": pl.String,
    "area": pl.String,
    "kommun": pl.String,
    "area_type": pl.Int64,
    "participants": pl.Float64,
    "share_of_effort": pl.Float64,
}
SUCCESSIONS_SCHEMA = {"from_id": pl.String, "to_id": pl.String}
POPULATION_SCHEMA = {
    "area": pl.String,
    "population": pl.Float64,
    "area_type": pl.Int64,
    "kommun": pl.String,
    "index": pl.Float64,
}
FUNDINGS_SCHEMA = {
    "intervention_id": pl.String,
    "funder_id": pl.String,
    "instrument": pl.String,
    "amount_sek": pl.Float64,
    "start": pl.Date,
    "end": pl.Date,
}
AREA_TYPES_SCHEMA = {
    "area": pl.String,
    "year": pl.Int64,
    "area_type": pl.Int64,
    "kommun": pl.String,
}
KEY_DTYPES = {"kommun": pl.String, "area_type": pl.Int64, "year": pl.Int64}
OPTIONAL = {
    "area_type",
    "kommun",
    "title",
    "status",
    "setting",
    "settings",
    "shared_indicator",
    "participants",
    "share_of_effort",
    "index",
    "funder_id",
    "start",
    "end",
}


class DiagnosticsInputError(InputError):
    """A portfolio frame lacks a column the diagnostics need, or ``by`` is unknown."""


def conform(
    frame: pl.DataFrame, schema: dict[str, Any], name: str, need: Iterable[str] = ()
) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``schema`` in its types.

    Columns in ``need`` and every non-optional column must be present; a missing optional
    column is added as nulls (so an empty or partial frame works everywhere).
    """
    required = (set(schema) - OPTIONAL) | set(need)
    missing = [c for c in schema if c in required and c not in frame.columns]
    if missing:
        raise DiagnosticsInputError(f"{name} lacks column(s) {', '.join(missing)}")
    return frame.select(
        [
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in schema.items()
        ]
    )


def check_by(by: str) -> str:
    if by not in BY:
        raise DiagnosticsInputError(f"by must be one of {', '.join(BY)}, not {by!r}")
    return by


def months(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Calendar months from ``start`` to ``end``, both days included.

    ``12·Δyear + Δmonth + Δday / 30.4375`` between ``start`` and the day after ``end``, so
    2020-01-01 → 2020-12-31 is exactly 12 and 2020-03-15 → 2020-04-14 exactly 1.
    """
    after = end.dt.offset_by("1d")
    return (
        (after.dt.year().cast(pl.Int64) - start.dt.year().cast(pl.Int64)) * 12
        + (after.dt.month().cast(pl.Int64) - start.dt.month().cast(pl.Int64))
        + (after.dt.day().cast(pl.Int64) - start.dt.day().cast(pl.Int64)) / DAYS_PER_MONTH
    ).cast(pl.Float64)


def prepare(interventions: pl.DataFrame, as_of: dt.date | None) -> pl.DataFrame:
    """Interventions with effective dates, durations and the ``ended`` flag.

    * ``start`` = actual start, else planned start;
    * ``end`` = actual end, else planned end, else ``as_of`` (open-ended work runs to ``as_of``);
    * ``ended`` = an actual end on or before ``as_of``;
    * ``planned_months`` = months(planned start, planned end);
    * ``actual_months`` = months(actual start, actual end or ``as_of``);
    * ``months`` = months(start, end), the duration used for the short/long shares.
    """
    ref = as_of if as_of is not None else dt.date.today()
    frame = conform(interventions, INTERVENTIONS_SCHEMA, "interventions").unique("id")
    return frame.with_columns(
        start=pl.coalesce("actual_start", "planned_start"),
        end=pl.coalesce("actual_end", "planned_end", pl.lit(ref)),
        ended=pl.col("actual_end").is_not_null() & (pl.col("actual_end") <= pl.lit(ref)),
        planned_months=months(pl.col("planned_start"), pl.col("planned_end")),
        actual_months=months(pl.col("actual_start"), pl.coalesce("actual_end", pl.lit(ref))),
    ).with_columns(months=months(pl.col("start"), pl.col("end")))


def is_early() -> pl.Expr:
    """True for interventions targeting prenatal or 0-5 (early years), false otherwise."""
    return (
        pl.col("age_bands").list.eval(pl.element().is_in(EARLY_BANDS)).list.any().fill_null(False)
    )


def active_years(prepared: pl.DataFrame) -> pl.DataFrame:
    """One row per intervention × calendar year from its start to its end (``id``, ``year``)."""
    return (
        prepared.filter(pl.col("start").is_not_null())
        .select(
            "id",
            year=pl.int_ranges(
                pl.col("start").dt.year().cast(pl.Int64),
                pl.col("end").dt.year().cast(pl.Int64) + 1,
            ),
        )
        .explode("year")
        .drop_nulls("year")
    )


def links(area_links: pl.DataFrame, prepared: pl.DataFrame, by: str) -> pl.DataFrame:
    """Area links of known interventions (``id``, ``area``, ``kommun``, ``area_type``)."""
    need = ["area_type"] if by == "area_type" else []
    frame = conform(area_links, AREA_LINKS_SCHEMA, "area_links", need)
    return (
        frame.rename({"intervention_id": "id"})
        .join(prepared.select("id"), on="id", how="semi")
        .unique(["id", "area"], keep="first", maintain_order=True)
    )


def membership(prepared: pl.DataFrame, area_links: pl.DataFrame, by: str) -> pl.DataFrame:
    """One row per group × intervention (columns ``by``, ``id``).

    An intervention belongs to every kommun and area type it has an area link in, and to every
    calendar year from its start to its end (interventions without any start date belong to no
    year).
    """
    if by == "year":
        return active_years(prepared)
    return (
        links(area_links, prepared, by).drop_nulls(by).select(by, "id").unique(maintain_order=True)
    )


def group_years(member: pl.DataFrame, prepared: pl.DataFrame, by: str) -> pl.DataFrame:
    """One row per group × intervention × active year (``by``, ``id``, ``active_year``)."""
    if by == "year":
        return member.with_columns(active_year=pl.col("year"))
    years = active_years(prepared).rename({"year": "active_year"})
    return member.join(years, on="id")


def keys(by: str, *frames: pl.DataFrame, groups: Sequence[str | int] | None = None) -> pl.DataFrame:
    """The sorted distinct group keys seen in ``frames`` plus those asked for in ``groups``."""
    dtype = KEY_DTYPES[by]
    parts = [f.select(pl.col(by).cast(dtype)) for f in frames]
    if groups is not None:
        parts.append(pl.DataFrame({by: pl.Series(list(groups), dtype=dtype)}))
    return pl.concat(parts).drop_nulls().unique().sort(by)


def ratio(num: pl.Expr | str, den: pl.Expr | str) -> pl.Expr:
    """``num / den``, null where the denominator is zero or null."""
    num = pl.col(num) if isinstance(num, str) else num
    den = pl.col(den) if isinstance(den, str) else den
    return pl.when(den > 0).then(num.cast(pl.Float64) / den).otherwise(None)


def to_long(wide: pl.DataFrame, by: str, metrics: Sequence[str]) -> pl.DataFrame:
    """``by``, ``metric``, ``value`` (Float64), ``label`` (null) from one column per metric."""
    if not metrics:
        return empty_long(by)
    return (
        wide.select(by, *[pl.col(m).cast(pl.Float64) for m in metrics])
        .unpivot(index=by, variable_name="metric", value_name="value")
        .sort(by, maintain_order=True)
        .with_columns(label=pl.lit(None, dtype=pl.String))
    )


def empty_long(by: str) -> pl.DataFrame:
    return pl.DataFrame(
        schema={by: KEY_DTYPES[by], "metric": pl.String, "value": pl.Float64, "label": pl.String}
    )


def order(frame: pl.DataFrame, by: str, metrics: Sequence[str]) -> pl.DataFrame:
    """Rows sorted by group, then by the position of their metric in ``metrics``."""
    rank = {m: i for i, m in enumerate(metrics)}
    return (
        frame.with_columns(_rank=pl.col("metric").replace_strict(rank, return_dtype=pl.Int64))
        .sort(by, "_rank")
        .drop("_rank")
    )
