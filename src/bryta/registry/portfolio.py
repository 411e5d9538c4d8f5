"""The registry as the portfolio frames the diagnostics take (:mod:`bryta.compute.diagnostics`).

Reading only: one query per table, no per-row lazy loading. ``published_only`` gives the
public's view (published interventions and their links).
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bryta.compute.diagnostics import (
    AREA_LINKS_SCHEMA,
    FUNDINGS_SCHEMA,
    INTERVENTIONS_SCHEMA,
    PARTICIPATIONS_SCHEMA,
    SUCCESSIONS_SCHEMA,
)
from bryta.registry.db import require_schema
from bryta.registry.models import (
    AreaLink,
    Funding,
    IndicatorLink,
    Intervention,
    Organisation,
    Participation,
    Succession,
)


def _frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def portfolio_frames(
    engine: Engine, *, published_only: bool = False, exclude_synthetic: bool = False
) -> dict[str, pl.DataFrame]:
    """``interventions``, ``participations``, ``area_links``, ``successions`` and ``fundings``.

    ``amount_sek`` is the intervention's total funding; ``shared_indicator`` is true when it
    has an indicator link with both a baseline and a target; ``setting`` is its first setting
    and ``settings`` all of them. Area links carry ``participants`` (reach) and
    ``share_of_effort``; ``fundings`` has one row per funding (funder, instrument, SEK, period).
    """
    require_schema(engine)
    with engine.connect() as con:
        i = Intervention.__table__
        query = sa.select(i)
        if published_only:
            query = query.where(i.c.published.is_(True))
        if exclude_synthetic:
            query = query.where(i.c.synthetic.is_(False))
        interventions = [dict(r) for r in con.execute(query).mappings()]
        ids = {r["id"] for r in interventions}
        f = Funding.__table__
        fundings = [
            dict(r)
            for r in con.execute(
                sa.select(
                    f.c.intervention_id,
                    f.c.funder_id,
                    f.c.instrument,
                    f.c.amount_sek,
                    f.c.start_date,
                    f.c.end_date,
                ).order_by(f.c.id)
            ).mappings()
            if r["intervention_id"] in ids
        ]
        totals: dict = {}
        for r in fundings:
            totals[r["intervention_id"]] = totals.get(r["intervention_id"], 0) + r["amount_sek"]
        il = IndicatorLink.__table__
        shared = {
            r[0]
            for r in con.execute(
                sa.select(il.c.intervention_id).where(
                    il.c.baseline.is_not(None), il.c.target.is_not(None)
                )
            )
        }
        p, o = Participation.__table__, Organisation.__table__
        participations = [
            dict(r)
            for r in con.execute(
                sa.select(p.c.intervention_id, p.c.organisation_id, p.c.role, o.c.sector).join(
                    o, o.c.id == p.c.organisation_id
                )
            ).mappings()
            if r["intervention_id"] in ids
        ]
        a = AreaLink.__table__
        areas = [
            dict(r)
            for r in con.execute(
                sa.select(
                    a.c.intervention_id, a.c.area_code, a.c.reach_participants, a.c.share_of_effort
                )
            ).mappings()
            if r["intervention_id"] in ids
        ]
        s = Succession.__table__
        successions = [
            dict(r)
            for r in con.execute(sa.select(s.c.from_id, s.c.to_id)).mappings()
            if r["from_id"] in ids and r["to_id"] in ids
        ]
    iv_rows = [
        {
            "id": str(r["id"]),
            "title": r["title"],
            "form": str(r["form"]),
            "status": str(r["status"]),
            "planned_start": r["planned_start"],
            "planned_end": r["planned_end"],
            "actual_start": r["actual_start"],
            "actual_end": r["actual_end"],
            "age_bands": list(r["age_bands"] or []),
            "prevention_level": None
            if r["prevention_level"] is None
            else str(r["prevention_level"]),
            "setting": (r["settings"] or [None])[0],
            "settings": list(r["settings"] or []),
            "outcome_domains": list(r["outcome_domains"] or []),
            "amount_sek": None if r["id"] not in totals else float(totals[r["id"]]),
            "shared_indicator": r["id"] in shared,
        }
        for r in interventions
    ]
    return {
        "interventions": _frame(iv_rows, INTERVENTIONS_SCHEMA),
        "participations": _frame(
            [
                {
                    "intervention_id": str(r["intervention_id"]),
                    "organisation_id": str(r["organisation_id"]),
                    "role": str(r["role"]),
                    "sector": str(r["sector"]),
                }
                for r in participations
            ],
            PARTICIPATIONS_SCHEMA,
        ),
        "area_links": _frame(
            [
                {
                    "intervention_id": str(r["intervention_id"]),
                    "area": r["area_code"],
                    "kommun": r["area_code"][:4],
                    "participants": None
                    if r["reach_participants"] is None
                    else float(r["reach_participants"]),
                    "share_of_effort": r["share_of_effort"],
                }
                for r in areas
            ],
            {k: v for k, v in AREA_LINKS_SCHEMA.items() if k != "area_type"},
        ),
        "fundings": _frame(
            [
                {
                    "intervention_id": str(r["intervention_id"]),
                    "funder_id": str(r["funder_id"]),
                    "instrument": str(r["instrument"]),
                    "amount_sek": float(r["amount_sek"]),
                    "start": r["start_date"],
                    "end": r["end_date"],
                }
                for r in fundings
            ],
            FUNDINGS_SCHEMA,
        ),
        "successions": _frame(
            [{"from_id": str(r["from_id"]), "to_id": str(r["to_id"])} for r in successions],
            SUCCESSIONS_SCHEMA,
        ),
    }
