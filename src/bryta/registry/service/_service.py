"""``RegistryService``: access rules, transactions, audit and optimistic concurrency."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from bryta.errors import AccessDenied, Conflict, NotFound, StaleVersion
from bryta.registry.db import require_schema
from bryta.registry.models import (
    AreaLink,
    AuditEntry,
    Intervention,
    Organisation,
    Participation,
    RegistryError,
    User,
    new_key,
    utcnow,
)
from bryta.registry.service._data import (
    _CHILD_FIELDS,
    Actor,
    InterventionIn,
    InterventionOut,
    OrganisationIn,
    OrganisationOut,
    ParticipationData,
    UserIn,
    UserOut,
    _actor,
    _build,
    _changes,
    _check_periods,
    _date,
    _enum,
    _intervention_in,
    _intervention_out,
    _jsonable,
    _optional_text,
    _organisation_out,
    _title,
    _user_out,
)
from bryta.registry.service._more import PeopleAndLinks
from bryta.vocabulary import AuditAction, Form, OrgLevel, Role, Sector, Status, UserRole

# Roles that put an intervention in an editor's scope.
_SCOPE_ROLES = frozenset({Role.ACCOUNTABLE, Role.IMPLEMENTING})


# --- the service ----------------------------------------------------------------------------


class RegistryService(PeopleAndLinks):
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

    def _in_scope(self, participations: Iterable[Any]) -> bool:
        """Whether the actor's organisation is accountable or implementing in ``participations``."""
        assert self.actor is not None
        return any(
            p.organisation_id == self.actor.organisation_id and Role(p.role) in _SCOPE_ROLES
            for p in participations
        )

    def _check_editor_scope(self, operation: str, stored: Iterable[Any], new: Any) -> None:
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

    @staticmethod
    def _check_organisations(session: Session, participations: Iterable[ParticipationData]) -> None:
        wanted = {p.organisation_id for p in participations}
        found = set(session.scalars(sa.select(Organisation.id).where(Organisation.id.in_(wanted))))
        missing = sorted(wanted - found)
        if missing:
            raise RegistryError(f"no organisation with id {', '.join(map(str, missing))}")

    # -- organisations and users --

    def create_organisation(self, data: OrganisationIn | Mapping[str, Any]) -> OrganisationOut:
        """Add an organisation (admins only)."""
        self._require_admin("create organisations")
        item = _build(OrganisationIn, data, "organisation")
        row = Organisation(
            name=_title(item.name, "name"),
            sector=_enum(Sector, item.sector, "sector"),
            level=_enum(OrgLevel, item.level, "level"),
            org_number=_optional_text(item.org_number, "org_number"),
        )
        with self._write("create organisation") as session:
            session.add(row)
            session.flush()
            out = _organisation_out(row)
            self._audit(session, "organisations", row.id, AuditAction.CREATE, None, out)
        return out

    def create_user(self, data: UserIn | Mapping[str, Any]) -> UserOut:
        """Add a user (admins only); an editor needs an organisation."""
        self._require_admin("create users")
        item = _build(UserIn, data, "user")
        role = _enum(UserRole, item.role, "role")
        if role is UserRole.EDITOR and item.organisation_id is None:
            raise RegistryError("an editor needs an organisation_id")
        row = User(name=_title(item.name, "name"), role=role, organisation_id=item.organisation_id)
        with self._write("create user") as session:
            session.add(row)
            session.flush()
            out = _user_out(row)
            self._audit(session, "users", row.id, AuditAction.CREATE, None, out)
        return out

    # -- interventions: changes --

    def create_intervention(self, data: InterventionIn | Mapping[str, Any]) -> InterventionOut:
        """Add an unpublished intervention with its participations and area links."""
        operation = "create interventions"
        self._require_writer(operation)
        values = _intervention_in(data)
        self._check_editor_scope(operation, None, values["participations"])
        with self._write("create intervention") as session:
            self._check_organisations(session, values["participations"])
            if values["key"] is None:
                values["key"] = new_key()
            taken = session.scalar(
                sa.select(Intervention.id).where(Intervention.key == values["key"])
            )
            if taken is not None:
                raise Conflict(f"intervention {taken} has the key {values['key']!r} already")
            row = Intervention(published=False)
            self._apply(row, values)
            _check_periods(row)
            session.add(row)
            session.flush()
            out = _intervention_out(row)
            self._audit(session, "interventions", row.id, AuditAction.CREATE, None, out)
        return out

    def update_intervention(
        self, id: int, changes: Mapping[str, Any], expected_version: int
    ) -> InterventionOut:
        """Change the fields named in ``changes``; ``participations``/``area_links`` replace."""
        operation = f"update intervention {id}"
        self._require_writer(operation)
        return self._change(id, expected_version, operation, _changes(changes))

    def end_intervention(
        self, id: int, actual_end: date | str, expected_version: int
    ) -> InterventionOut:
        """Mark the intervention ended on ``actual_end``."""
        operation = f"end intervention {id}"
        self._require_writer(operation)
        values = {"status": Status.ENDED, "actual_end": _date(actual_end, "actual_end")}
        if values["actual_end"] is None:
            raise RegistryError("actual_end is required to end an intervention")
        return self._change(id, expected_version, operation, values)

    def publish(self, id: int, expected_version: int) -> InterventionOut:
        """Make the intervention public (admins only)."""
        operation = f"publish intervention {id}"
        self._require_admin(operation)
        return self._change(id, expected_version, operation, {"published": True})

    def unpublish(self, id: int, expected_version: int) -> InterventionOut:
        """Withdraw the intervention from the public (admins only)."""
        operation = f"unpublish intervention {id}"
        self._require_admin(operation)
        return self._change(id, expected_version, operation, {"published": False})

    def delete_intervention(self, id: int, expected_version: int) -> None:
        """Delete the intervention and its links (admins only); the audit keeps the record."""
        operation = f"delete intervention {id}"
        self._require_admin(operation)
        try:
            with self._write(operation) as session:
                row = self._load(session, id)
                if row.version != expected_version:
                    raise self._stale(id, expected_version, row.version)
                before = _intervention_out(row)
                session.delete(row)
                session.flush()
                self._audit(session, "interventions", id, AuditAction.DELETE, before, None)
        except StaleDataError:
            raise self._stale(id, expected_version) from None

    def _change(
        self, id: int, expected_version: int, operation: str, values: dict[str, Any]
    ) -> InterventionOut:
        try:
            with self._write(operation) as session:
                row = self._load(session, id)
                self._check_editor_scope(
                    operation, row.participations, values.get("participations")
                )
                if row.version != expected_version:
                    raise self._stale(id, expected_version, row.version)
                if "participations" in values:
                    self._check_organisations(session, values["participations"])
                before = _intervention_out(row)
                self._apply(row, values, session)
                _check_periods(row)
                # Touching the row makes every change, links included, bump the version
                # (and be checked against it) in the UPDATE.
                row.updated_at = utcnow()
                session.flush()
                after = _intervention_out(row)
                self._audit(session, "interventions", id, AuditAction.UPDATE, before, after)
        except StaleDataError:
            raise self._stale(id, expected_version) from None
        return after

    @staticmethod
    def _apply(row: Intervention, values: dict[str, Any], session: Session | None = None) -> None:
        """Set ``values`` on ``row``; child lists replace the stored ones."""
        children = {
            "participations": [
                Participation(**dataclasses.asdict(p)) for p in values.get("participations", ())
            ],
            "area_links": [AreaLink(**dataclasses.asdict(a)) for a in values.get("area_links", ())],
        }
        for name in _CHILD_FIELDS:
            if name in values:
                setattr(row, name, [])
        if session is not None and any(name in values for name in _CHILD_FIELDS):
            # Delete the old links before inserting the new: an unchanged area code would
            # otherwise break the (intervention, area code) uniqueness mid-flush.
            session.flush()
        for name, value in values.items():
            if name in _CHILD_FIELDS:
                setattr(row, name, children[name])
            elif name in {
                "age_bands",
                "group_tags",
                "settings",
                "outcome_domains",
                "evidence_references",
            }:
                setattr(row, name, list(value))
            else:
                setattr(row, name, value)

    # -- interventions: reading --

    def _load(self, session: Session, id: int) -> Intervention:
        query = (
            sa.select(Intervention)
            .where(Intervention.id == id)
            .options(
                selectinload(Intervention.participations), selectinload(Intervention.area_links)
            )
        )
        row = session.scalars(query).one_or_none()
        if row is None or (self.actor is None and not row.published):
            raise NotFound(f"intervention {id} not found")
        return row

    def id_of(self, key: str) -> int:
        """The id of the intervention with ``key`` (the public: published ones only)."""
        with self._read() as session:
            row = session.execute(
                sa.select(Intervention.id, Intervention.published).where(Intervention.key == key)
            ).one_or_none()
        if row is None or (self.actor is None and not row.published):
            raise NotFound(f"no intervention with key {key!r}")
        return int(row.id)

    def get(self, id: int) -> InterventionOut:
        """One intervention (the public: published ones only, others are not found)."""
        with self._read() as session:
            return _intervention_out(self._load(session, id))

    def list_interventions(
        self,
        kommun: str | None = None,
        form: Form | str | None = None,
        status: Status | str | None = None,
        text: str | None = None,
        published_only: bool | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        exclude_synthetic: bool = False,
    ) -> list[InterventionOut]:
        """Interventions by id, filtered.

        ``kommun`` (four digits) matches interventions linked to that kommun or to any DeSO or
        RegSO in it (their codes start with the kommun code); ``text`` matches every word,
        case-insensitively, in title, description or theory of change. The public always sees
        published interventions only; others see all unless ``published_only``.
        ``exclude_synthetic`` leaves out invented (demonstration) records.
        """
        if limit < 0 or offset < 0:
            raise RegistryError("limit and offset must not be negative")
        query = sa.select(Intervention)
        if self.actor is None or published_only:
            query = query.where(Intervention.published.is_(True))
        if exclude_synthetic:
            query = query.where(Intervention.synthetic.is_(False))
        if form is not None:
            query = query.where(Intervention.form == _enum(Form, form, "form"))
        if status is not None:
            query = query.where(Intervention.status == _enum(Status, status, "status"))
        if kommun is not None:
            if not (isinstance(kommun, str) and len(kommun) == 4 and kommun.isdigit()):
                raise RegistryError(f"kommun must be a four-digit code, not {kommun!r}")
            query = query.where(
                Intervention.area_links.any(AreaLink.area_code.startswith(kommun, autoescape=True))
            )
        with self._read() as session:
            lower = self._lower(session)
            for word in (text or "").split():
                query = query.where(
                    sa.or_(
                        *(
                            lower(column).contains(word.lower(), autoescape=True)
                            for column in (
                                Intervention.title,
                                Intervention.description,
                                Intervention.theory_of_change,
                            )
                        )
                    )
                )
            query = (
                query.order_by(Intervention.id)
                .limit(limit)
                .offset(offset)
                .options(
                    selectinload(Intervention.participations),
                    selectinload(Intervention.area_links),
                )
            )
            return [_intervention_out(row) for row in session.scalars(query)]

    @staticmethod
    def _lower(session: Session) -> Any:
        """SQL lower-casing that folds non-ASCII letters too (SQLite's lower() folds ASCII only)."""
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            return sa.func.lower
        connection.connection.dbapi_connection.create_function(
            "bryta_lower", 1, lambda s: None if s is None else s.lower(), deterministic=True
        )
        return sa.func.bryta_lower
