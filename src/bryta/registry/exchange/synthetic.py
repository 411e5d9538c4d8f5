"""A synthetic portfolio for the demo."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bryta.registry.records import (
    AreaLinkRecord,
    FundingRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
from bryta.vocabulary import (
    AgeBand,
    AreaLevel,
    EvaluationType,
    Form,
    Instrument,
    OrgLevel,
    OutcomeDomain,
    PreventionLevel,
    Role,
    Sector,
    Setting,
    Status,
    SuccessionKind,
)

STATE_AGENCIES = (
    "Arbetsförmedlingen",
    "Boverket",
    "Brottsförebyggande rådet",
    "Delegationen mot segregation",
    "Försäkringskassan",
    "Kriminalvården",
    "Polismyndigheten",
    "Skolinspektionen",
    "Skolverket",
    "Socialstyrelsen",
    "Säkerhetspolisen",
)
"""The eleven agencies of the first coordination meetings (docs/product.md)."""

SYNTHETIC_KOMMUNER = {
    "0180": 20,
    "1480": 18,
    "1280": 15,
    "0127": 8,
    "0181": 7,
    "0126": 6,
    "0380": 7,
    "1880": 7,
    "0580": 6,
    "1490": 6,
}
"""Kommun code → weight: Stockholm, Göteborg, Malmö, Botkyrka, Södertälje, Huddinge, Uppsala,
Örebro, Linköping, Borås."""

# (activity, age bands, prevention level, settings, outcome domains, weight)
_ACTIVITIES = (
    (
        "Utökade hembesök",
        ("prenatal", "0-5"),
        "selective",
        ("child_health_centre",),
        ("health",),
        2,
    ),
    ("Språkförskola", ("0-5",), "universal", ("preschool",), ("education",), 2),
    ("Läxhjälp", ("6-15",), "selective", ("compulsory_school",), ("education",), 4),
    ("Sommarskola", ("6-15",), "selective", ("compulsory_school",), ("education",), 2),
    ("Fritidsgård med mentorer", ("6-15", "16-19"), "selective", ("leisure",), ("safety",), 4),
    ("Avhopparverksamhet", ("16-19", "20-64"), "indicated", ("police_justice",), ("safety",), 3),
    ("Sommarjobb för unga", ("16-19",), "selective", ("labour_market",), ("work", "income"), 4),
    ("Jobbspår", ("20-64",), "indicated", ("labour_market",), ("work", "income"), 5),
    ("Trygghetsvandringar", ("20-64", "65+"), "reactive", ("police_justice",), ("safety",), 3),
    ("Områdespolis", ("16-19", "20-64"), "reactive", ("police_justice",), ("safety",), 3),
    (
        "Boendedialog och renovering",
        ("20-64", "65+"),
        "selective",
        ("housing_property",),
        ("housing", "democracy_civil_society"),
        2,
    ),
    ("Föräldraskapsstöd", ("0-5", "6-15"), "selective", ("social_services",), ("health",), 2),
    (
        "Samhällsorientering",
        ("20-64",),
        "selective",
        ("local_civil_society",),
        ("democracy_civil_society",),
        2,
    ),
    ("Digital vägledning", ("16-19", "20-64"), "universal", ("digital",), ("work",), 1),
    ("Gymnasiecoacher", ("16-19",), "indicated", ("upper_secondary",), ("education",), 2),
)
_FORMS = (
    ("project", 55),
    ("pilot", 10),
    ("one_off", 8),
    ("permanent_operation", 18),
    ("grant_programme", 7),
    ("policy", 1),
)
_PROJECT_MONTHS = ((6, 2), (10, 3), (12, 5), (18, 2), (24, 2), (36, 1))
_CIVIL_SOCIETY = (
    "Föreningen Framtidens Förort",
    "Idrottsalliansen",
    "Kvinnojouren Syd",
    "Läxhjälpsnätverket",
    "Fritidsforum Lokal",
    "Mentorföreningen",
)
_EVALUATIONS = (
    ("none", 60),
    ("follow_up", 25),
    ("process", 10),
    ("quasi_experimental", 4),
    ("randomised", 1),
)
_REFERENCE_DAY = date(2025, 1, 1)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _end_after(start: date, months: int) -> date:
    """The inclusive end of a period of ``months`` whole months from the first ``start``."""
    return _add_months(start, months) - timedelta(days=1)


def synthetic_portfolio(n: int = 300, seed: int = 0) -> list[InterventionRecord]:
    """``n`` invented interventions in ten kommuner's RegSO, deterministic for ``seed``.

    State agencies, municipalities, housing companies and civil society as accountable,
    implementing, funding and partner organisations; mostly short projects; every record has
    ``synthetic=True``, a title starting ``[synthetic]`` and is unpublished (invented records
    never reach the public unless an admin publishes one). Status is as of 2025-01-01.
    """
    from bryta.geography.areas import regso_table

    rng = random.Random(seed)
    regso = regso_table().filter(regso_table()["kommun"].is_in(list(SYNTHETIC_KOMMUNER)))
    areas_by_kommun: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, str] = {}
    for code, name, kommun, kommun_name in regso.select(
        "regso", "regso_name", "kommun", "kommun_name"
    ).iter_rows():
        areas_by_kommun.setdefault(kommun, []).append((code, name))
        names[kommun] = kommun_name
    records: list[InterventionRecord] = []
    kommun_of: list[str] = []
    for i in range(n):
        kommun = rng.choices(list(SYNTHETIC_KOMMUNER), list(SYNTHETIC_KOMMUNER.values()))[0]
        title, ages, prevention, settings, domains, _ = rng.choices(
            _ACTIVITIES, [a[-1] for a in _ACTIVITIES]
        )[0]
        form = Form(_pick(rng, _FORMS))
        start = date(rng.randint(2015, 2024), rng.randint(1, 12), 1)
        if form in (Form.PERMANENT_OPERATION, Form.POLICY):
            months = None if rng.random() < 0.85 else rng.randint(24, 96)
        elif form is Form.GRANT_PROGRAMME:
            months = rng.choice((12, 24, 36))
        else:
            months = _pick(rng, _PROJECT_MONTHS) if form is not Form.ONE_OFF else rng.randint(1, 3)
        planned_end = _end_after(start, months) if months else None
        actual_end = planned_end
        if months and rng.random() < 0.15:  # some end early, some run over
            actual_end = _end_after(start, max(1, months + rng.choice((-6, -3, 3, 6))))
        status = Status.ACTIVE
        if start > _REFERENCE_DAY:
            status, actual_start, actual_end = Status.PLANNED, None, None
        else:
            actual_start = start
            if actual_end and actual_end < _REFERENCE_DAY:
                status = Status.ENDED
            elif actual_end:
                actual_end = None
        if status is Status.ACTIVE and rng.random() < 0.03:
            status, actual_end = Status.CANCELLED, _REFERENCE_DAY
        chosen = rng.sample(
            areas_by_kommun[kommun],
            k=min(rng.choice((1, 1, 1, 2, 3)), len(areas_by_kommun[kommun])),
        )
        shares = [round(1 / len(chosen), 3)] * len(chosen)
        areas = [
            AreaLinkRecord(
                level=AreaLevel.REGSO,
                area_code=code,
                share_of_effort=share,
                reach_participants=rng.randint(10, 400),
            )
            for (code, _), share in zip(chosen, shares, strict=True)
        ]
        kommun_org = f"{names[kommun]} kommun"
        lead_kind = rng.choices(
            ("municipality", "state_agency", "civil_society", "housing_company"), (55, 20, 18, 7)
        )[0]
        if lead_kind == "state_agency":
            lead, lead_sector = rng.choice(STATE_AGENCIES), Sector.STATE_AGENCY
        elif lead_kind == "civil_society":
            lead, lead_sector = (
                f"{rng.choice(_CIVIL_SOCIETY)} {names[kommun]}",
                Sector.CIVIL_SOCIETY,
            )
        elif lead_kind == "housing_company":
            lead, lead_sector = f"Allmännyttan {names[kommun]} AB", Sector.HOUSING_COMPANY
        else:
            lead, lead_sector = kommun_org, Sector.MUNICIPALITY
        level = OrgLevel.NATIONAL if lead_sector is Sector.STATE_AGENCY else OrgLevel.LOCAL
        participations = [
            ParticipationRecord(
                organisation=lead, sector=lead_sector, role=Role.ACCOUNTABLE, level=level
            ),
            ParticipationRecord(
                organisation=lead, sector=lead_sector, role=Role.IMPLEMENTING, level=level
            ),
        ]
        if rng.random() < 0.35:  # a cross-sector partner
            partner = rng.choice(
                [
                    (kommun_org, Sector.MUNICIPALITY, OrgLevel.LOCAL),
                    (rng.choice(STATE_AGENCIES), Sector.STATE_AGENCY, OrgLevel.NATIONAL),
                    (
                        f"{rng.choice(_CIVIL_SOCIETY)} {names[kommun]}",
                        Sector.CIVIL_SOCIETY,
                        OrgLevel.LOCAL,
                    ),
                    (f"Allmännyttan {names[kommun]} AB", Sector.HOUSING_COMPANY, OrgLevel.LOCAL),
                ]
            )
            if partner[0] != lead:
                participations.append(
                    ParticipationRecord(
                        organisation=partner[0],
                        sector=partner[1],
                        role=Role.PARTNER,
                        level=partner[2],
                    )
                )
        yearly = rng.choice((200_000, 500_000, 1_000_000, 2_500_000, 5_000_000))
        funder, funder_sector, instrument = kommun_org, Sector.MUNICIPALITY, Instrument.CORE_BUDGET
        if form is not Form.PERMANENT_OPERATION and rng.random() < 0.6:
            funder, funder_sector, instrument = rng.choice(
                (
                    (
                        rng.choice(
                            (
                                "Delegationen mot segregation",
                                "Socialstyrelsen",
                                "Arbetsförmedlingen",
                            )
                        ),
                        Sector.STATE_AGENCY,
                        Instrument.TARGETED_STATE_GRANT,
                    ),
                    ("Svenska ESF-rådet", Sector.STATE_AGENCY, Instrument.EU),
                    ("Allmänna arvsfonden", Sector.STATE_AGENCY, Instrument.ARVSFONDEN),
                    ("Stiftelsen Framtidsfonden", Sector.CIVIL_SOCIETY, Instrument.FOUNDATION),
                )
            )
        funding_end = planned_end or _end_after(start, 12)
        funding = [
            FundingRecord(
                funder=funder,
                funder_sector=funder_sector,
                instrument=instrument,
                amount_sek=yearly * max(1, round(((funding_end - start).days) / 365)),
                start_date=start,
                end_date=funding_end,
            )
        ]
        if funder != lead:
            participations.append(
                ParticipationRecord(organisation=funder, sector=funder_sector, role=Role.FUNDING)
            )
        records.append(
            InterventionRecord(
                key=f"SYN-{seed}-{i + 1:04d}",
                title=f"[synthetic] {title} i {chosen[0][1]}",
                description="Invented for the bryta demo; not a real intervention.",
                form=form,
                status=status,
                planned_start=start,
                planned_end=planned_end,
                actual_start=actual_start,
                actual_end=actual_end,
                age_bands=[AgeBand(a) for a in ages],
                prevention_level=PreventionLevel(prevention),
                settings=[Setting(s) for s in settings],
                outcome_domains=[OutcomeDomain(d) for d in domains],
                evaluation_type=EvaluationType(_pick(rng, _EVALUATIONS)),
                reported_by=f"bryta synthetic_portfolio(seed={seed})",
                published=False,
                synthetic=True,
                participations=participations,
                fundings=funding,
                area_links=areas,
            )
        )
        kommun_of.append(kommun)
    _link_successions(rng, records, kommun_of)
    return records


def _link_successions(
    rng: random.Random, records: list[InterventionRecord], kommun_of: list[str]
) -> None:
    """About a fifth of ended projects go on as a later intervention in the same kommun."""
    taken: set[str] = set()
    for a, record in enumerate(records):
        if record.status is not Status.ENDED or record.form not in (Form.PROJECT, Form.PILOT):
            continue
        if rng.random() >= 0.2:
            continue
        end = record.actual_end
        assert end is not None  # an ended record has an actual end
        for b, other in enumerate(records):
            start = other.actual_start or other.planned_start
            if (
                b == a
                or other.key is None
                or other.key in taken
                or kommun_of[b] != kommun_of[a]
                or start is None
                or not 0 <= (start - end).days <= 365
            ):
                continue
            permanent = other.form is Form.PERMANENT_OPERATION
            kind = SuccessionKind.INSTITUTIONALISED if permanent else SuccessionKind.CONTINUED
            record.successions.append(SuccessionRecord(to=other.key, kind=kind, succeeded_on=start))
            if permanent:
                record.status = Status.INSTITUTIONALISED
            taken.add(other.key)
            break
