"""Records into the database: the import through the service layer, and a quick load for
tests and benchmarks."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bryta.registry.records import SCALARS, InterventionRecord
from bryta.vocabulary import OrgLevel, Sector


@dataclass(frozen=True)
class ImportResult:
    """What an import did: key → database id, and how many records were new, changed or
    already stored as they are in the file."""

    ids: dict[str, int]
    added: int
    updated: int
    unchanged: int


def _default_level(sector: Sector) -> OrgLevel:
    return OrgLevel.NATIONAL if sector is Sector.STATE_AGENCY else OrgLevel.LOCAL


def import_records(
    session: Session, engine: Engine, records: Sequence[InterventionRecord]
) -> ImportResult:
    """Add or update ``records`` through ``RegistryService(engine, SYSTEM)`` in ``session``'s
    transaction, matched by their stable ``key`` (:meth:`RegistryService.save`).

    A key not stored yet is created (an audit entry, published as the record says); a key
    stored already is left alone when the stored intervention equals the record — so
    importing a file twice, or seeding twice, changes nothing — and otherwise updated to it.
    Organisations are matched by name and sector; new ones are created (an audit entry each)
    with the participation's level, or national for state agencies and local otherwise.
    Nothing is committed here: the caller commits ``session`` or rolls it back, so a failure
    anywhere leaves the database as it was.
    """
    from bryta.registry.db import require_schema
    from bryta.registry.models import Intervention, Organisation
    from bryta.registry.service import SYSTEM, RegistryService
    from bryta.registry.service._service import Outcome
    from bryta.registry.validation import RegistryError

    require_schema(engine)
    service = RegistryService(engine, SYSTEM, session=session)
    organisations = {
        (name, Sector(sector))
        for name, sector in session.execute(sa.select(Organisation.name, Organisation.sector))
    }
    for record in records:
        named = [(p.organisation, p.sector, p.level) for p in record.participations]
        named += [(f.funder, f.funder_sector, None) for f in record.fundings]
        for name, sector, level in named:
            if name is not None and sector is not None and (name, sector) not in organisations:
                service.create_organisation(
                    {"name": name, "sector": sector, "level": level or _default_level(sector)}
                )
                organisations.add((name, sector))
    stored = set(session.scalars(sa.select(Intervention.key)))
    outcomes: dict[str, Outcome] = {}
    ids: dict[str, int] = {}
    later: list[InterventionRecord] = []
    # Successions name their successor by key: a successor further down the file is not
    # stored yet, so such records are saved without it first and completed afterwards.
    for record in records:
        assert record.key is not None
        ready = [s for s in record.successions if s.to in stored]
        first = record if len(ready) == len(record.successions) else None
        if first is None:
            first = dataclasses.replace(record, successions=ready)
            later.append(record)
        out, outcome = service.save(first)
        assert out.id is not None
        ids[record.key], outcomes[record.key] = out.id, outcome
        stored.add(record.key)
    for record in later:
        assert record.key is not None
        _, outcome = service.save(record)
        if outcome == "updated" and outcomes[record.key] == "unchanged":
            outcomes[record.key] = "updated"
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        raise RegistryError(f"import failed: {error.orig}") from error
    counts = {kind: sum(o == kind for o in outcomes.values()) for kind in ("added", "updated")}
    unchanged = sum(o == "unchanged" for o in outcomes.values())
    return ImportResult(ids=ids, unchanged=unchanged, **counts)


def load_into(session: Session, records: Sequence[InterventionRecord]) -> dict[str, Any]:
    """Add ``records`` to ``session`` as ORM rows; returns key → ``Intervention``.

    **For tests and benchmarks only**: no checks, no access control, no audit entries.
    Organisations are matched by (name, sector) among those already in the database and
    those added here. The caller commits.
    """
    from bryta.registry.models import (
        AreaLink,
        Funding,
        IndicatorLink,
        Intervention,
        Organisation,
        Participation,
        Succession,
    )

    organisations: dict[tuple[str, Sector], Organisation] = {
        (o.name, Sector(o.sector)): o for o in session.scalars(sa.select(Organisation))
    }

    def organisation(name: str | None, sector: Sector | None, level: OrgLevel | None) -> Any:
        assert name is not None and sector is not None
        if (name, sector) not in organisations:
            organisations[name, sector] = Organisation(
                name=name, sector=sector, level=level or _default_level(sector)
            )
            session.add(organisations[name, sector])
        return organisations[name, sector]

    out: dict[str, Intervention] = {}
    for record in records:
        row = Intervention(
            **{name: getattr(record, name) for name in SCALARS},
            age_bands=[a.value for a in record.age_bands],
            group_tags=list(record.group_tags),
            settings=[s.value for s in record.settings],
            outcome_domains=[d.value for d in record.outcome_domains],
            evidence_references=list(record.evidence_references),
        )
        row.participations = [
            Participation(
                organisation=organisation(p.organisation, p.sector, p.level),
                role=p.role,
                start_date=p.start_date,
                end_date=p.end_date,
            )
            for p in record.participations
        ]
        row.fundings = [
            Funding(
                funder=organisation(f.funder, f.funder_sector, None),
                instrument=f.instrument,
                amount_sek=f.amount_sek,
                start_date=f.start_date,
                end_date=f.end_date,
            )
            for f in record.fundings
        ]
        row.area_links = [
            AreaLink(
                level=a.level,
                area_code=a.area_code,
                share_of_effort=a.share_of_effort,
                reach_participants=a.reach_participants,
                reach_share=a.reach_share,
            )
            for a in record.area_links
        ]
        row.indicator_links = [
            IndicatorLink(**dataclasses.asdict(link)) for link in record.indicator_links
        ]
        session.add(row)
        assert record.key is not None
        out[record.key] = row
    for record in records:
        assert record.key is not None
        for s in record.successions:
            session.add(
                Succession(
                    from_intervention=out[record.key],
                    to_intervention=out[s.to],
                    kind=s.kind,
                    succeeded_on=s.succeeded_on,
                )
            )
    session.flush()
    return out
