"""What every service operation shares: the actor's rights, transactions, the audit trail,
version checks, and turning stored rows into records and records into rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from bryta.errors import AccessDenied, NotFound, StaleVersion
from bryta.registry.db import require_schema
from bryta.registry.models import (
    AreaLink,
    AuditEntry,
    Funding,
    IndicatorLink,
    Intervention,
    Organisation,
    Participation,
    Succession,
    User,
    utcnow,
)
from bryta.registry.records import (
    LISTS,
    SCALARS,
    AreaLinkRecord,
    FundingRecord,
    IndicatorLinkRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
from bryta.registry.service._data import Actor, UserOut, _actor, _jsonable, _utc
from bryta.registry.validation import RegistryError
from bryta.vocabulary import (
    AgeBand,
    AreaLevel,
    AuditAction,
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
    UserRole,
)

# Roles that put an intervention in an editor's scope.
_SCOPE_ROLES = frozenset({Role.ACCOUNTABLE, Role.IMPLEMENTING})

# Everything a record holds, loaded in one query per table.
LOAD_ALL: tuple[_AbstractLoad, ...] = (
    selectinload(Intervention.participations).selectinload(Participation.organisation),
    selectinload(Intervention.fundings).selectinload(Funding.funder),
    selectinload(Intervention.area_links),
    selectinload(Intervention.indicator_links),
    selectinload(Intervention.successors).selectinload(Succession.to_intervention),
)

_FIELDS = (*(name for name in SCALARS if name not in ("key", "published")), *LISTS)
"""The fields an update may set directly on the row (lists as lists of plain text)."""


def record_out(row: Intervention, *, public: bool = False) -> InterventionRecord:
    """A stored intervention as a record (``public``: successions to unpublished
    interventions left out, so that nothing the public may not see is named)."""
    prevention = None if row.prevention_level is None else PreventionLevel(row.prevention_level)
    return InterventionRecord(
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
        prevention_level=prevention,
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
                organisation_id=p.organisation_id,
                organisation=p.organisation.name,
                sector=Sector(p.organisation.sector),
                level=OrgLevel(p.organisation.level),
                role=Role(p.role),
                start_date=p.start_date,
                end_date=p.end_date,
            )
            for p in sorted(row.participations, key=lambda p: p.id)
        ],
        fundings=[
            FundingRecord(
                id=f.id,
                funder_id=f.funder_id,
                funder=f.funder.name,
                funder_sector=Sector(f.funder.sector),
                instrument=Instrument(f.instrument),
                amount_sek=f.amount_sek,
                start_date=f.start_date,
                end_date=f.end_date,
            )
            for f in sorted(row.fundings, key=lambda f: f.id)
        ],
        area_links=[
            AreaLinkRecord(
                level=AreaLevel(a.level),
                area_code=a.area_code,
                share_of_effort=a.share_of_effort,
                reach_participants=a.reach_participants,
                reach_share=a.reach_share,
            )
            for a in sorted(row.area_links, key=lambda a: a.id)
        ],
        indicator_links=[
            IndicatorLinkRecord(
                indicator_id=i.indicator_id,
                start_date=i.start_date,
                end_date=i.end_date,
                baseline=i.baseline,
                target=i.target,
                actual=i.actual,
            )
            for i in sorted(row.indicator_links, key=lambda i: i.id)
        ],
        successions=[
            SuccessionRecord(
                to=s.to_intervention.key, kind=SuccessionKind(s.kind), succeeded_on=s.succeeded_on
            )
            for s in sorted(row.successors, key=lambda s: s.id)
            if not public or s.to_intervention.published
        ],
        id=row.id,
        version=row.version,
        updated_at=_utc(row.updated_at),
    )


class ServiceBase:
    """Reads and changes the registry on ``engine`` on behalf of ``actor`` (None: the public)."""

    def __init__(
        self,
        engine: Engine,
        actor: User | UserOut | Actor | None,
        *,
        session: Session | None = None,
    ) -> None:
        """``session``: run every change inside that session's transaction (its owner commits
        or rolls back), so that several changes, e.g. a whole import, are all or nothing."""
        self.engine = engine
        self.actor = _actor(actor)
        self._joined = session

    # -- access --

    def _who(self) -> str:
        return "the public" if self.actor is None else str(self.actor)

    def _deny(self, operation: str, reason: str) -> AccessDenied:
        return AccessDenied(f"{self._who()} may not {operation}: {reason}")

    def _require_admin(self, operation: str) -> None:
        if self.actor is None or self.actor.role is not UserRole.ADMIN:
            raise self._deny(operation, "only admins may")

    def _require_writer(self, operation: str) -> None:
        if self.actor is None:
            raise self._deny(operation, "sign in as an editor or admin")
        if self.actor.role is UserRole.VIEWER:
            raise self._deny(operation, "viewers may read but not change the registry")

    def _require_signed_in(self, operation: str) -> None:
        if self.actor is None:
            raise self._deny(operation, "sign in first")

    def _in_scope(self, participations: Iterable[Any]) -> bool:
        """Whether the actor's organisation is accountable or implementing in ``participations``."""
        assert self.actor is not None
        return any(
            p.organisation_id == self.actor.organisation_id and Role(p.role) in _SCOPE_ROLES
            for p in participations
        )

    def _check_editor_scope(
        self, operation: str, stored: Iterable[Any] | None, new: Iterable[Any] | None
    ) -> None:
        """Editors: the stored record (if any) and the result must both be in their scope."""
        if self.actor is None or self.actor.role is not UserRole.EDITOR:
            return
        organisation = f"organisation {self.actor.organisation_id}"
        if stored is not None and not self._in_scope(stored):
            raise self._deny(operation, f"{organisation} is not accountable or implementing in it")
        if new is not None and not self._in_scope(new):
            must = "must stay" if stored is not None else "must be"
            raise self._deny(operation, f"{organisation} {must} accountable or implementing")

    # -- transactions and audit --

    @contextmanager
    def _write(self, operation: str) -> Iterator[Session]:
        """One transaction: committed at the end of the block, rolled back if it raises (or the
        joined session's, flushed here and committed by its owner)."""
        try:
            if self._joined is not None:
                yield self._joined
                self._joined.flush()
                return
            require_schema(self.engine)
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except sa.exc.IntegrityError as error:
            raise RegistryError(f"{operation} failed: {error.orig}") from error

    @contextmanager
    def _read(self) -> Iterator[Session]:
        """A session for reading (the joined one, if any)."""
        if self._joined is not None:
            yield self._joined
            return
        require_schema(self.engine)
        with Session(self.engine) as session:
            yield session

    def _audit(
        self,
        session: Session,
        entity: str,
        entity_id: int,
        action: AuditAction,
        before: Any,
        after: Any,
    ) -> None:
        assert self.actor is not None
        session.add(
            AuditEntry(
                who=self.actor.name,
                user_id=self.actor.id,
                at=utcnow(),
                entity=entity,
                entity_id=entity_id,
                action=action,
                before=None if before is None else _jsonable(before),
                after=None if after is None else _jsonable(after),
            )
        )

    def _stale(self, id: int, expected: int, now: int | None = None) -> StaleVersion:
        if now is None:  # found out at flush: read what is stored now
            with Session(self.engine) as session:
                now = session.scalar(sa.select(Intervention.version).where(Intervention.id == id))
        if now is None:
            return StaleVersion(f"intervention {id} was deleted by someone else")
        return StaleVersion(
            f"intervention {id} was changed by someone else: you had version {expected}, "
            f"it is now {now}; reload and retry"
        )

    # -- reading rows --

    def _load(self, session: Session, id: int) -> Intervention:
        query = sa.select(Intervention).where(Intervention.id == id).options(*LOAD_ALL)
        row = session.scalars(query).one_or_none()
        if row is None or (self.actor is None and not row.published):
            raise NotFound(f"intervention {id} not found")
        return row

    def _out(self, row: Intervention) -> InterventionRecord:
        return record_out(row, public=self.actor is None)

    # -- records into rows --

    @staticmethod
    def _resolve(session: Session, record: InterventionRecord) -> None:
        """Fill in the organisation ids of ``record``'s participations and fundings from
        their names and sectors (an id given wins); unknown ones are a RegistryError."""
        named = {
            (p.organisation, p.sector)
            for p in record.participations
            if p.organisation_id is None and p.organisation is not None
        } | {
            (f.funder, f.funder_sector)
            for f in record.fundings
            if f.funder_id is None and f.funder is not None
        }
        found: dict[tuple[str | None, Sector | None], int] = {}
        if named:
            rows = session.execute(
                sa.select(Organisation.id, Organisation.name, Organisation.sector).where(
                    Organisation.name.in_([name for name, _ in named])
                )
            )
            found = {(name, Sector(sector)): id for id, name, sector in rows}
        missing = sorted(
            f"{name} ({sector})" for name, sector in named if (name, sector) not in found
        )
        if missing:
            raise RegistryError(f"no organisation named {', '.join(missing)}")
        for p in record.participations:
            if p.organisation_id is None:
                p.organisation_id = found[p.organisation, p.sector]
        for f in record.fundings:
            if f.funder_id is None:
                f.funder_id = found[f.funder, f.funder_sector]
        ids = {p.organisation_id for p in record.participations} | {
            f.funder_id for f in record.fundings
        }
        known = set(session.scalars(sa.select(Organisation.id).where(Organisation.id.in_(ids))))
        unknown = sorted(i for i in ids - known if i is not None)
        if unknown:
            raise RegistryError(f"no organisation with id {', '.join(map(str, unknown))}")

    @staticmethod
    def _successor_ids(session: Session, successions: Sequence[SuccessionRecord]) -> list[int]:
        keys = [s.to for s in successions]
        found = dict(
            session.execute(
                sa.select(Intervention.key, Intervention.id).where(Intervention.key.in_(keys))
            ).all()
        )
        missing = [key for key in keys if key not in found]
        if missing:
            raise RegistryError(f"successions: no intervention with key {', '.join(missing)}")
        return [int(found[key]) for key in keys]

    def _apply(self, session: Session, row: Intervention, values: dict[str, Any]) -> None:
        """Set ``values`` (checked fields, organisations resolved) on ``row``; the nested
        lists given replace the stored ones."""
        for name in _FIELDS:
            if name in values:
                value = values[name]
                setattr(row, name, [str(v) for v in value] if isinstance(value, list) else value)
        nested = [n for n in ("participations", "fundings", "area_links", "indicator_links")]
        nested = [n for n in nested if n in values]
        replace_successions = "successions" in values
        if nested or replace_successions:
            successor_ids = (
                self._successor_ids(session, values["successions"]) if replace_successions else []
            )
            if row.id in successor_ids:
                raise RegistryError("an intervention cannot succeed itself")
            # Delete the old links before inserting the new: an unchanged area code would
            # otherwise break the (intervention, area code) uniqueness mid-flush.
            for name in nested:
                setattr(row, name, [])
            if replace_successions:
                row.successors = []
            if row.id is not None:
                session.flush()
            for name in nested:
                setattr(row, name, [_child(name, item) for item in values[name]])
            if replace_successions:
                row.successors = [
                    Succession(to_id=to_id, kind=s.kind, succeeded_on=s.succeeded_on)
                    for s, to_id in zip(values["successions"], successor_ids, strict=True)
                ]


def _child(name: str, item: Any) -> Any:
    if name == "participations":
        return Participation(
            organisation_id=item.organisation_id,
            role=item.role,
            start_date=item.start_date,
            end_date=item.end_date,
        )
    if name == "fundings":
        return Funding(
            funder_id=item.funder_id,
            instrument=item.instrument,
            amount_sek=item.amount_sek,
            start_date=item.start_date,
            end_date=item.end_date,
        )
    if name == "area_links":
        return AreaLink(
            level=item.level,
            area_code=item.area_code,
            share_of_effort=item.share_of_effort,
            reach_participants=item.reach_participants,
            reach_share=item.reach_share,
        )
    return IndicatorLink(
        indicator_id=item.indicator_id,
        start_date=item.start_date,
        end_date=item.end_date,
        baseline=item.baseline,
        target=item.target,
        actual=item.actual,
    )
