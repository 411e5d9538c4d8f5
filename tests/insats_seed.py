"""Interventions with evaluation records for the intervention page's tests, written through
the registry service (never by SQL): a published intervention in Malmö linked to the kommun,
a RegSO and a DeSO, with an indicator link, a funding, two evaluation records and a
succession to an unpublished intervention; a published one without evaluations; and an
unpublished one with an evaluation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bryta.registry.evaluations import Design, EvaluationRecord
from bryta.registry.service import SYSTEM, RegistryService

KEY = "TEST-MALMO-LAXHJALP"
TITLE = "Läxhjälp och föräldrasamverkan i Fågelbacken"
WITHOUT = "TEST-MALMO-UTAN"
HIDDEN = "TEST-HIDDEN-UPPFOLJNING"
HIDDEN_TITLE = "Hemlig uppföljning som inte är publicerad"
DESO = "1280C2420"  # a DeSO of RegSO 1280R020 (RegSO-Fågelbacken)


@dataclass(frozen=True)
class Seeded:
    ids: dict[str, int]


def did_record(**changes: Any) -> EvaluationRecord:
    """A pooled staggered DiD estimate on the foreign-born share: 0.3 ± 1.96 · 0.3 includes
    zero; intended decrease (-1) with a meaningful effect of 1; MDE 0.84 ≤ 1 → no detectable
    effect."""
    fields: dict[str, Any] = {
        "design": Design.DID,
        "outcome": "born_abroad_pct",
        "aggregation": "simple",
        "estimate": 0.3,
        "se": 0.3,
        "ci_low": 0.3 - 1.96 * 0.3,
        "ci_high": 0.3 + 1.96 * 0.3,
        "mde": 0.84,
        "n_treated": 12,
        "n_control": 40,
        "first_year": 2020,
        "last_year": 2023,
        "direction": -1,
        "meaningful": 1.0,
        "provenance": {"datasets": "bundled", "bryta": "0.1.0"},
        **changes,
    }
    return EvaluationRecord(**fields)


def synth_record() -> EvaluationRecord:
    """A synthetic-control estimate of mean wage income: +12.5 (interval 4.1 to 20.9), an
    intended increase, placebo p 0.02 and no pre-trend → effective."""
    return EvaluationRecord(
        design=Design.SYNTH,
        outcome="mean_wage_income",
        aggregation="post_mean",
        estimate=12.5,
        se=4.3,
        ci_low=4.1,
        ci_high=20.9,
        mde=9.8,
        placebo_p=0.02,
        pre_trend=False,
        n_treated=6,
        n_control=35,
        first_year=2020,
        last_year=2023,
        direction=1,
        meaningful=5.0,
        provenance={"datasets": "bundled", "bryta": "0.1.0"},
    )


def seed(engine: Any) -> Seeded:
    """Add the interventions and evaluation records (as the system administrator)."""
    system = RegistryService(engine, SYSTEM)
    city = system.create_organisation(
        {"name": "Malmö stad (test)", "sector": "municipality", "level": "local"}
    )
    school = system.create_organisation(
        {"name": "Läxhjälpsföreningen (test)", "sector": "civil_society", "level": "local"}
    )
    fund = system.create_organisation(
        {"name": "Stiftelsen för test", "sector": "civil_society", "level": "national"}
    )
    main = system.create_intervention(
        {
            "key": KEY,
            "title": TITLE,
            "form": "project",
            "status": "active",
            "published": True,
            "description": "Läxhjälp tre kvällar i veckan och träffar med föräldrar.",
            "prevention_level": "universal",
            "outcome_domains": ["education", "work"],
            "age_bands": ["6-15"],
            "planned_start": date(2021, 1, 1),
            "planned_end": date(2023, 12, 31),
            "actual_start": date(2021, 3, 1),
            "reported_by": "Anna Andersson, handläggare (test)",
            "participations": [
                {"organisation_id": city.id, "role": "accountable"},
                {"organisation_id": school.id, "role": "implementing"},
                {"organisation_id": fund.id, "role": "funding"},
            ],
            "fundings": [
                {
                    "funder_id": fund.id,
                    "instrument": "foundation",
                    "amount_sek": 1_250_000,
                    "start_date": date(2021, 1, 1),
                    "end_date": date(2023, 12, 31),
                }
            ],
            "area_links": [
                {"level": "kommun", "area_code": "1280"},
                {"level": "regso", "area_code": "1280R020"},
                {"level": "deso", "area_code": DESO},
            ],
            "indicator_links": [
                {
                    "indicator_id": "born_abroad_pct",
                    "start_date": date(2021, 1, 1),
                    "end_date": date(2023, 12, 31),
                    "baseline": 62.5,
                    "target": 60.0,
                }
            ],
        }
    )
    without = system.create_intervention(
        {
            "key": WITHOUT,
            "title": "Sommarjobb för unga i Malmö (test)",
            "form": "pilot",
            "status": "planned",
            "published": True,
            "participations": [{"organisation_id": city.id, "role": "accountable"}],
            "area_links": [{"level": "kommun", "area_code": "1280"}],
        }
    )
    hidden = system.create_intervention(
        {
            "key": HIDDEN,
            "title": HIDDEN_TITLE,
            "form": "project",
            "status": "planned",
            "participations": [{"organisation_id": city.id, "role": "accountable"}],
            "area_links": [{"level": "regso", "area_code": "1280R020"}],
        }
    )
    system.add_succession({"from_id": main.id, "to_id": hidden.id, "kind": "continued"})
    assert main.id is not None and hidden.id is not None and without.id is not None
    system.add_evaluation(main.id, did_record())
    system.add_evaluation(main.id, synth_record())
    system.add_evaluation(hidden.id, did_record(estimate=-5.0, ci_low=-6.0, ci_high=-4.0))
    return Seeded(ids={KEY: main.id, WITHOUT: without.id, HIDDEN: hidden.id})


@contextlib.contextmanager
def served(data_dir: Path, name: str = "uvicorn-insats") -> Iterator[str]:
    """The app as ``bryta serve`` builds it (registry created and seeded with the real
    programmes) plus :func:`seed`, on 127.0.0.1 (for the browser tests)."""
    from bryta.app.context import Settings
    from bryta.web.app import create_app
    from tests.browser import require_chromium, serve_app

    require_chromium()
    app = create_app(Settings(data_dir=data_dir), seed=True)
    seed(app.state.context.registry_engine())
    with serve_app(app, name) as url:
        yield url
