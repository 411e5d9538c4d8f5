"""Registry diagnostics: pure functions over portfolio frames (no database).

The four families of the registry's *Diagnostics* section — short-termism, late
interventions, lack of collaboration and need coverage — each as one function returning a long
frame ``<by>, metric, value, label`` with one row per group × metric. ``by`` is one of
``kommun``, ``area_type`` or ``year``; ``label`` carries a name where a metric has one (the top
broker's organisation) and is otherwise null. ``docs/diagnostics.md`` lists every metric with
its formula.

Input frames (extra columns are ignored; a missing optional column is treated as all null):

``interventions``
    ``id`` str, ``title`` str, ``form`` str (project, permanent_operation, pilot,
    grant_programme, one_off, policy), ``status`` str, ``planned_start``, ``planned_end``,
    ``actual_start``, ``actual_end`` date (nullable), ``age_bands`` list[str] (prenatal, 0-5,
    6-15, 16-19, 20-64, 65+), ``prevention_level`` str (universal, selective, indicated,
    reactive), ``setting`` str, optional ``settings`` list[str] (all its settings; preferred
    over ``setting`` when given), ``outcome_domains`` list[str], ``amount_sek`` float (total
    funding, nullable), ``shared_indicator`` bool (an indicator link with baseline and target).
``participations``
    ``intervention_id``, ``organisation_id``, ``role`` (funding, accountable, implementing,
    partner), ``sector`` (state_agency, municipality, region, civil_society, business,
    housing_company, academia).
``area_links``
    ``intervention_id``, ``area`` (RegSO/DeSO/kommun code), ``kommun`` (4 digits), optional
    ``area_type`` int 1–5 (required for ``by="area_type"``), optional ``participants``
    (people reached in the area) and ``share_of_effort`` (0–1).
``successions``
    ``from_id``, ``to_id``: ``to_id`` continues ``from_id``.
``population`` (need coverage only)
    ``area``, ``population``, ``area_type``, ``kommun`` for ``by="kommun"``, optional
    ``index`` (socioeconomic index, higher = more deprived; for the concentration index).
``fundings`` (optional; short-termism)
    ``intervention_id``, ``funder_id``, ``instrument`` (core_budget, targeted_state_grant, eu,
    arvsfonden, foundation, social_investment_fund), ``amount_sek``, ``start``, ``end``.
``area_types`` (optional; reaction lag)
    ``area``, ``year``, ``area_type`` (1–5), optional ``kommun``: the type of every area in
    every year.

Group membership: an intervention belongs to every kommun and every area type it has an area
link in, and to every calendar year from its start (actual, else planned) to its end (actual,
else planned, else ``as_of``). Open-ended work therefore runs to ``as_of`` (default: today;
pass it explicitly for reproducible results). ``groups`` adds group keys with no intervention,
so that they are reported (with null shares) rather than silently missing.

Degenerate groups give null, never an exception and never a wrong number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from bryta.compute.diagnostics._portfolio import (
    AGE_BANDS,
    AREA_LINKS_SCHEMA,
    AREA_TYPES_SCHEMA,
    FUNDINGS_SCHEMA,
    INTERVENTIONS_SCHEMA,
    PARTICIPATIONS_SCHEMA,
    POPULATION_SCHEMA,
    SUCCESSIONS_SCHEMA,
    DiagnosticsInputError,
    empty_long,
    months,
)
from bryta.compute.diagnostics.collaboration import COLLABORATION_METRICS, collaboration
from bryta.compute.diagnostics.earliness import EARLINESS_METRICS, earliness
from bryta.compute.diagnostics.need_coverage import (
    NEED_COVERAGE_METRICS,
    need_coverage,
    unserved_areas,
)
from bryta.compute.diagnostics.short_termism import SHORT_TERMISM_METRICS, short_termism

METRICS = {
    "short_termism": SHORT_TERMISM_METRICS,
    "earliness": EARLINESS_METRICS,
    "collaboration": COLLABORATION_METRICS,
    "need_coverage": NEED_COVERAGE_METRICS,
}

__all__ = [
    "AGE_BANDS",
    "AREA_LINKS_SCHEMA",
    "AREA_TYPES_SCHEMA",
    "FUNDINGS_SCHEMA",
    "INTERVENTIONS_SCHEMA",
    "METRICS",
    "PARTICIPATIONS_SCHEMA",
    "POPULATION_SCHEMA",
    "SUCCESSIONS_SCHEMA",
    "DiagnosticsInputError",
    "collaboration",
    "diagnose",
    "earliness",
    "months",
    "need_coverage",
    "short_termism",
    "unserved_areas",
]


def diagnose(
    interventions: pl.DataFrame,
    participations: pl.DataFrame,
    area_links: pl.DataFrame,
    successions: pl.DataFrame,
    population: pl.DataFrame | None = None,
    *,
    by: str,
    as_of: dt.date | None = None,
    groups: Sequence[str | int] | None = None,
    fundings: pl.DataFrame | None = None,
    area_types: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """All diagnostics in one long frame (``by``, ``family``, ``metric``, ``value``, ``label``).

    Need coverage is included only when ``population`` is given. Without ``fundings`` the
    funding-period and instrument shares are null; without ``area_types`` the reaction lag is.
    """
    parts = {
        "short_termism": short_termism(
            interventions,
            area_links,
            successions,
            by=by,
            as_of=as_of,
            groups=groups,
            fundings=fundings,
        ),
        "earliness": earliness(
            interventions, area_links, by=by, as_of=as_of, groups=groups, area_types=area_types
        ),
        "collaboration": collaboration(
            interventions, participations, area_links, by=by, as_of=as_of, groups=groups
        ),
    }
    if population is not None:
        parts["need_coverage"] = need_coverage(
            interventions, area_links, population, by=by, as_of=as_of, groups=groups
        )
    frames = [
        frame.with_columns(family=pl.lit(family)).select(by, "family", "metric", "value", "label")
        for family, frame in parts.items()
    ]
    if not frames:  # pragma: no cover - there is always at least one family
        return empty_long(by)
    return pl.concat(frames).sort(by, maintain_order=True)
