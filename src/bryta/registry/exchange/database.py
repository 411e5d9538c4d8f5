"""The parts that talk to the database: seeding, import through the service layer, export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bryta.registry.exchange._records import (
    AreaRecord,
    FundingRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
from bryta.registry.models import RegistryError
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

# --------------------------------------------------------------------------------------------
# Seeding


def load_into(session: Any, records: Sequence[InterventionRecord]) -> dict[str, Any]:
    """Add ``records`` to ``session`` as ORM rows; returns key → ``Intervention``.

    **For seeding and tests until the service layer is wired**: no access control, no audit
    entries. Organisations are matched by (name, sector) among those already in the database
    and those added here; evidence references are stored one per line. The caller commits.
    """
    import sqlalchemy as sa

    from bryta.registry.models import (
        AreaLink,
        Funding,
        Intervention,
        Organisation,
        Participation,
        Succession,
    )

    organisations: dict[tuple[str, Sector], Organisation] = {
        (o.name, o.sector): o for o in session.scalars(sa.select(Organisation))
    }

    def organisation(name: str, sector: Sector, level: OrgLevel | None) -> Organisation:
        if (name, sector) not in organisations:
            default = OrgLevel.NATIONAL if sector is Sector.STATE_AGENCY else OrgLevel.LOCAL
            organisations[name, sector] = Organisation(
                name=name, sector=sector, level=level or default
            )
            session.add(organisations[name, sector])
        return organisations[name, sector]

    out: dict[str, Intervention] = {}
    for record in records:
        row = Intervention(
            key=record.key,
            title=record.title,
            description=record.description,
            theory_of_change=record.theory_of_change,
            form=record.form,
            status=record.status,
            planned_start=record.planned_start,
            planned_end=record.planned_end,
            actual_start=record.actual_start,
            actual_end=record.actual_end,
            age_bands=[a.value for a in record.age_bands],
            group_tags=list(record.group_tags),
            prevention_level=record.prevention_level,
            settings=[s.value for s in record.settings],
            outcome_domains=[d.value for d in record.outcome_domains],
            evaluation_type=record.evaluation_type,
            evaluation_report_url=record.evaluation_report_url,
            evidence_references=list(record.evidence_references),
            reported_by=record.reported_by,
            verified_by=record.verified_by,
            published=record.published,
            synthetic=record.synthetic,
        )
        row.participations = [
            Participation(
                organisation=organisation(p.organisation, p.sector, p.level),
                role=p.role,
                start_date=p.start,
                end_date=p.end,
            )
            for p in record.participations
        ]
        row.fundings = [
            Funding(
                funder=organisation(f.funder, f.funder_sector, None),
                instrument=f.instrument,
                amount_sek=f.amount_sek,
                start_date=f.start,
                end_date=f.end,
            )
            for f in record.funding
        ]
        row.area_links = [
            AreaLink(
                level=a.level,
                area_code=a.code,
                share_of_effort=a.share_of_effort,
                reach_participants=a.reach_participants,
                reach_share=a.reach_share,
            )
            for a in record.areas
        ]
        session.add(row)
        out[record.key] = row
    for record in records:
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


# --------------------------------------------------------------------------------------------
# Import through the service layer, export from the database


@dataclass(frozen=True)
class ImportResult:
    """What an import did: key → database id, and how many records were new, changed or
    already stored as they are in the file."""

    ids: dict[str, int]
    added: int
    updated: int
    unchanged: int


def import_records(
    session: Any, engine: Any, records: Sequence[InterventionRecord]
) -> ImportResult:
    """Add or update ``records`` through ``RegistryService(engine, SYSTEM)`` in ``session``'s
    transaction, matched by their stable ``key``.

    A key not in the database is created by the service (an audit entry), then published if
    the record is (a second, update, entry), and its fundings and successions added (an entry
    each). A key already stored is left alone when the stored intervention equals the record
    (so importing a file twice, or seeding twice, changes nothing), and otherwise updated to
    the record: its fields and links, its fundings replaced, published or withdrawn, its
    successions made those of the record. Nothing is committed here: the caller commits
    ``session`` or rolls it back, so a failure anywhere leaves the database as it was.
    Organisations are matched by (name, sector).
    """
    import dataclasses

    import sqlalchemy as sa

    from bryta.registry.db import require_schema
    from bryta.registry.models import Funding, Intervention, Organisation, Succession
    from bryta.registry.service import (
        SYSTEM,
        AreaLinkData,
        FundingIn,
        InterventionIn,
        ParticipationData,
        RegistryService,
        SuccessionIn,
    )

    require_schema(engine)
    service = RegistryService(engine, SYSTEM, session=session)
    organisations: dict[tuple[str, Sector], int] = {
        (name, sector): id
        for id, name, sector in session.execute(
            sa.select(Organisation.id, Organisation.name, Organisation.sector)
        )
    }
    stored_ids: dict[str, int] = {
        key: id for key, id in session.execute(sa.select(Intervention.key, Intervention.id))
    }

    def organisation(name: str, sector: Sector, level: OrgLevel | None) -> int:
        if (name, sector) not in organisations:
            default = OrgLevel.NATIONAL if sector is Sector.STATE_AGENCY else OrgLevel.LOCAL
            out = service.create_organisation(
                {"name": name, "sector": sector, "level": level or default}
            )
            organisations[name, sector] = out.id
        return organisations[name, sector]

    def stored_fundings(id: int) -> list[Any]:
        rows = session.scalars(
            sa.select(Funding).where(Funding.intervention_id == id).order_by(Funding.id)
        )
        return list(rows)

    def funding_values(f: Any) -> tuple[Any, ...]:
        return (f.funder_id, Instrument(f.instrument), f.amount_sek, f.start_date, f.end_date)

    ids: dict[str, int] = {}
    added = updated = unchanged = 0
    for record in records:
        participations = tuple(
            ParticipationData(
                organisation_id=organisation(p.organisation, p.sector, p.level),
                role=p.role,
                start_date=p.start,
                end_date=p.end,
            )
            for p in record.participations
        )
        fundings = [
            FundingIn(
                funder_id=organisation(f.funder, f.funder_sector, None),
                instrument=f.instrument,
                amount_sek=f.amount_sek,
                start_date=f.start,
                end_date=f.end,
            )
            for f in record.funding
        ]
        item = InterventionIn(
            key=record.key,
            title=record.title,
            form=record.form,
            status=record.status,
            description=record.description,
            theory_of_change=record.theory_of_change,
            planned_start=record.planned_start,
            planned_end=record.planned_end,
            actual_start=record.actual_start,
            actual_end=record.actual_end,
            age_bands=tuple(a.value for a in record.age_bands),
            group_tags=tuple(record.group_tags),
            prevention_level=record.prevention_level,
            settings=tuple(s.value for s in record.settings),
            outcome_domains=tuple(d.value for d in record.outcome_domains),
            evaluation_type=record.evaluation_type,
            evaluation_report_url=record.evaluation_report_url,
            evidence_references=tuple(record.evidence_references),
            reported_by=record.reported_by,
            verified_by=record.verified_by,
            synthetic=record.synthetic,
            participations=participations,
            area_links=tuple(
                AreaLinkData(
                    level=a.level,
                    area_code=a.code,
                    share_of_effort=a.share_of_effort,
                    reach_participants=a.reach_participants,
                    reach_share=a.reach_share,
                )
                for a in record.areas
            ),
        )
        wanted = {f.name: getattr(item, f.name) for f in dataclasses.fields(InterventionIn)}
        id = stored_ids.get(record.key)
        if id is None:
            out = service.create_intervention(item)
            if record.published:
                out = service.publish(out.id, out.version)
            version = out.version
            for funding in fundings:
                service.add_funding(out.id, funding, version)
                version += 1
            ids[record.key] = out.id
            added += 1
            continue
        ids[record.key] = id
        stored = service.get(id)
        have = {name: getattr(stored, name) for name in wanted}
        old_fundings = stored_fundings(id)
        same_fundings = [funding_values(f) for f in old_fundings] == [
            funding_values(f) for f in fundings
        ]
        if have == wanted and same_fundings and stored.published == record.published:
            unchanged += 1
            continue
        updated += 1
        version = stored.version
        if have != wanted:
            changes = {name: value for name, value in wanted.items() if name != "key"}
            version = service.update_intervention(id, changes, version).version
        if not same_fundings:
            for old in old_fundings:
                service.remove_funding(old.id, version)
                version += 1
            for funding in fundings:
                service.add_funding(id, funding, version)
                version += 1
        if stored.published != record.published:
            change = service.publish if record.published else service.unpublish
            change(id, version)
    present = {
        (row.from_id, row.to_id): row
        for row in session.scalars(
            sa.select(Succession).where(Succession.from_id.in_(list(ids.values())))
        )
    }
    wanted_links = {
        (ids[record.key], ids[s.to]): s for record in records for s in record.successions
    }
    for pair, row in present.items():
        s = wanted_links.get(pair)
        if s is None or (SuccessionKind(row.kind), row.succeeded_on) != (s.kind, s.succeeded_on):
            service.remove_succession(row.id)
    for pair, s in wanted_links.items():
        row = present.get(pair)
        if row is None or (SuccessionKind(row.kind), row.succeeded_on) != (s.kind, s.succeeded_on):
            service.add_succession(
                SuccessionIn(
                    from_id=pair[0], to_id=pair[1], kind=s.kind, succeeded_on=s.succeeded_on
                )
            )
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        raise RegistryError(f"import failed: {error.orig}") from error
    return ImportResult(ids=ids, added=added, updated=updated, unchanged=unchanged)


def records_from_database(
    engine: Any, *, published_only: bool = False, exclude_synthetic: bool = False
) -> list[InterventionRecord]:
    """Every intervention in the database (or the published ones, or the real ones) as
    records, by id.

    One query per table. ``key`` is the intervention's stable key; a participation's ``level``
    is its organisation's. Successions to interventions left out are left out too (the file
    could not be read back otherwise).
    """
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from bryta.registry.db import require_schema
    from bryta.registry.models import (
        AreaLink,
        Funding,
        Intervention,
        Organisation,
        Participation,
        Succession,
    )

    require_schema(engine)

    def grouped(session: Session, model: Any, column: str) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        for row in session.scalars(sa.select(model).order_by(model.id)):
            out.setdefault(getattr(row, column), []).append(row)
        return out

    with Session(engine) as session:
        query = sa.select(Intervention).order_by(Intervention.id)
        if published_only:
            query = query.where(Intervention.published.is_(True))
        if exclude_synthetic:
            query = query.where(Intervention.synthetic.is_(False))
        interventions = list(session.scalars(query))
        organisations = {o.id: o for o in session.scalars(sa.select(Organisation))}
        participations = grouped(session, Participation, "intervention_id")
        fundings = grouped(session, Funding, "intervention_id")
        areas = grouped(session, AreaLink, "intervention_id")
        successions = grouped(session, Succession, "from_id")
        kept = {row.id: row.key for row in interventions}
        records = []
        for row in interventions:
            records.append(
                InterventionRecord(
                    key=row.key,
                    title=row.title,
                    form=Form(row.form),
                    status=Status(row.status),
                    description=row.description or "",
                    theory_of_change=row.theory_of_change or "",
                    planned_start=row.planned_start,
                    planned_end=row.planned_end,
                    actual_start=row.actual_start,
                    actual_end=row.actual_end,
                    age_bands=[AgeBand(a) for a in row.age_bands or ()],
                    group_tags=list(row.group_tags or ()),
                    prevention_level=(
                        None
                        if row.prevention_level is None
                        else PreventionLevel(row.prevention_level)
                    ),
                    settings=[Setting(s) for s in row.settings or ()],
                    outcome_domains=[OutcomeDomain(d) for d in row.outcome_domains or ()],
                    evaluation_type=EvaluationType(row.evaluation_type),
                    evaluation_report_url=row.evaluation_report_url,
                    evidence_references=list(row.evidence_references or ()),
                    reported_by=row.reported_by,
                    verified_by=row.verified_by,
                    published=bool(row.published),
                    synthetic=bool(row.synthetic),
                    participations=[
                        ParticipationRecord(
                            organisation=organisations[p.organisation_id].name,
                            sector=Sector(organisations[p.organisation_id].sector),
                            role=Role(p.role),
                            level=OrgLevel(organisations[p.organisation_id].level),
                            start=p.start_date,
                            end=p.end_date,
                        )
                        for p in participations.get(row.id, ())
                    ],
                    funding=[
                        FundingRecord(
                            funder=organisations[f.funder_id].name,
                            funder_sector=Sector(organisations[f.funder_id].sector),
                            instrument=Instrument(f.instrument),
                            amount_sek=f.amount_sek,
                            start=f.start_date,
                            end=f.end_date,
                        )
                        for f in fundings.get(row.id, ())
                    ],
                    areas=[
                        AreaRecord(
                            level=AreaLevel(a.level),
                            code=a.area_code,
                            share_of_effort=a.share_of_effort,
                            reach_participants=a.reach_participants,
                            reach_share=a.reach_share,
                        )
                        for a in areas.get(row.id, ())
                    ],
                    successions=[
                        SuccessionRecord(
                            to=kept[s.to_id],
                            kind=SuccessionKind(s.kind),
                            succeeded_on=s.succeeded_on,
                        )
                        for s in successions.get(row.id, ())
                        if s.to_id in kept
                    ],
                )
            )
    return records
