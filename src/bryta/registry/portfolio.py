"""Intervention records as the portfolio frames the diagnostics take
(:mod:`bryta.compute.diagnostics`).

Pure: the records come from the service (``RegistryService.list_interventions`` for an actor,
so the public's diagnosis sees published interventions only) or from a file. Interventions are
identified by their ``key``; organisations by their database id, or by name and sector when
the records come from a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from bryta.compute.diagnostics import (
    AREA_LINKS_SCHEMA,
    FUNDINGS_SCHEMA,
    INTERVENTIONS_SCHEMA,
    PARTICIPATIONS_SCHEMA,
    SUCCESSIONS_SCHEMA,
)
from bryta.registry.records import InterventionRecord


def _frame(rows: list[dict[str, Any]], schema: Mapping[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=dict(schema))


def _organisation(id: int | None, name: str | None, sector: str | None) -> str:
    return str(id) if id is not None else f"{name} ({sector})"


def portfolio_frames(records: Iterable[InterventionRecord]) -> dict[str, pl.DataFrame]:
    """``interventions``, ``participations``, ``area_links``, ``successions`` and ``fundings``.

    ``amount_sek`` is the intervention's total funding; ``shared_indicator`` is true when it
    has an indicator link with both a baseline and a target; ``setting`` is its first setting
    and ``settings`` all of them. Area links carry ``participants`` (reach) and
    ``share_of_effort``; ``fundings`` has one row per funding (funder, instrument, SEK, period).
    Successions to interventions not among ``records`` are left out.
    """
    records = list(records)
    keys = {r.key for r in records}
    interventions, participations, area_links, fundings, successions = [], [], [], [], []
    for r in records:
        interventions.append(
            {
                "id": r.key,
                "title": r.title,
                "form": r.form.value,
                "status": r.status.value,
                "planned_start": r.planned_start,
                "planned_end": r.planned_end,
                "actual_start": r.actual_start,
                "actual_end": r.actual_end,
                "age_bands": [a.value for a in r.age_bands],
                "prevention_level": None
                if r.prevention_level is None
                else r.prevention_level.value,
                "setting": r.settings[0].value if r.settings else None,
                "settings": [s.value for s in r.settings],
                "outcome_domains": [d.value for d in r.outcome_domains],
                "amount_sek": float(sum(f.amount_sek for f in r.fundings)) if r.fundings else None,
                "shared_indicator": any(
                    i.baseline is not None and i.target is not None for i in r.indicator_links
                ),
            }
        )
        participations += [
            {
                "intervention_id": r.key,
                "organisation_id": _organisation(p.organisation_id, p.organisation, p.sector),
                "role": p.role.value,
                "sector": None if p.sector is None else p.sector.value,
            }
            for p in r.participations
        ]
        area_links += [
            {
                "intervention_id": r.key,
                "area": a.area_code,
                "kommun": a.area_code[:4],
                "participants": None
                if a.reach_participants is None
                else float(a.reach_participants),
                "share_of_effort": a.share_of_effort,
            }
            for a in r.area_links
        ]
        fundings += [
            {
                "intervention_id": r.key,
                "funder_id": _organisation(f.funder_id, f.funder, f.funder_sector),
                "instrument": f.instrument.value,
                "amount_sek": float(f.amount_sek),
                "start": f.start_date,
                "end": f.end_date,
            }
            for f in r.fundings
        ]
        successions += [{"from_id": r.key, "to_id": s.to} for s in r.successions if s.to in keys]
    return {
        "interventions": _frame(interventions, INTERVENTIONS_SCHEMA),
        "participations": _frame(participations, PARTICIPATIONS_SCHEMA),
        "area_links": _frame(
            area_links, {k: v for k, v in AREA_LINKS_SCHEMA.items() if k != "area_type"}
        ),
        "fundings": _frame(fundings, FUNDINGS_SCHEMA),
        "successions": _frame(successions, SUCCESSIONS_SCHEMA),
    }
