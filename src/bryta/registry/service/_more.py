"""The service's operations on people, on an intervention's fundings and successions, and
the audit trail.

Organisations and users are managed by admins. A funding row is part of its intervention:
adding or removing one is a change of the intervention (editor scope, ``expected_version``,
the version moves on). A succession links two interventions: an editor may record that an
intervention in their scope went on as another one. The audit trail is read by signed-in
users only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bryta.errors import NotFound
from bryta.registry.models import (
    AuditEntry,
    Funding,
    Intervention,
    Organisation,
    Succession,
    User,
    utcnow,
)
from bryta.registry.records import FundingRecord
from bryta.registry.service._base import ServiceBase
from bryta.registry.service._data import (
    AuditRecord,
    OrganisationIn,
    OrganisationOut,
    SuccessionIn,
    SuccessionOut,
    UserIn,
    UserOut,
    _audit_out,
    _build,
    _date,
    _enum,
    _optional_text,
    _organisation_out,
    _title,
    _user_out,
)
from bryta.registry.validation import Problems, RegistryError, Row, as_mapping
from bryta.vocabulary import AuditAction, OrgLevel, Sector, SuccessionKind, UserRole


def _funding_out(row: Funding) -> FundingRecord:
    return FundingRecord(
        id=row.id,
        funder_id=row.funder_id,
        funder=row.funder.name if row.funder is not None else None,
        funder_sector=Sector(row.funder.sector) if row.funder is not None else None,
        instrument=row.instrument,
        amount_sek=row.amount_sek,
        start_date=row.start_date,
        end_date=row.end_date,
    )


def _succession_out(row: Succession) -> SuccessionOut:
    return SuccessionOut(
        id=row.id,
        from_id=row.from_id,
        to_id=row.to_id,
        kind=SuccessionKind(row.kind),
        succeeded_on=row.succeeded_on,
    )


def _check_funding(data: Any) -> FundingRecord:
    """One funding (a record or a mapping), checked like every record's fundings."""
    from bryta.registry.validation import _funding

    problems = Problems("funding", "nothing changed")
    r = Row(problems, "", strict=True)
    item = as_mapping(data)
    if not isinstance(item, dict):
        raise RegistryError(f"funding: expected a FundingRecord or a mapping, not {data!r}")
    out = _funding(r, "funding", item)
    problems.raise_if_any()
    assert out is not None
    return out


class PeopleAndLinks(ServiceBase):
    """Organisations and users (admins), fundings and successions (writers in scope)."""

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

    def list_organisations(self) -> list[OrganisationOut]:
        """Every organisation, by id (anyone may read them: they are public actors)."""
        with self._read() as session:
            rows = session.scalars(sa.select(Organisation).order_by(Organisation.id))
            return [_organisation_out(row) for row in rows]

    def update_organisation(self, id: int, changes: dict[str, Any]) -> OrganisationOut:
        """Change an organisation's name, sector, level or organisation number (admins)."""
        self._require_admin(f"update organisation {id}")
        checks: dict[str, Callable[[Any], Any]] = {
            "name": lambda v: _title(v, "name"),
            "sector": lambda v: _enum(Sector, v, "sector"),
            "level": lambda v: _enum(OrgLevel, v, "level"),
            "org_number": lambda v: _optional_text(v, "org_number"),
        }
        unknown = sorted(set(changes) - set(checks))
        if unknown:
            raise RegistryError(f"organisation: unknown field(s) {', '.join(unknown)}")
        with self._write(f"update organisation {id}") as session:
            row = session.get(Organisation, id)
            if row is None:
                raise NotFound(f"organisation {id} not found")
            before = _organisation_out(row)
            for name, value in changes.items():
                setattr(row, name, checks[name](value))
            session.flush()
            after = _organisation_out(row)
            self._audit(session, "organisations", id, AuditAction.UPDATE, before, after)
        return after

    def list_users(self) -> list[UserOut]:
        """Every user, by id (admins only)."""
        self._require_admin("list users")
        with self._read() as session:
            return [_user_out(row) for row in session.scalars(sa.select(User).order_by(User.id))]

    def update_user(
        self, id: int, *, role: UserRole | str | None = None, organisation_id: int | None = None
    ) -> UserOut:
        """Change a user's role and/or organisation (admins); an editor needs an organisation."""
        self._require_admin(f"update user {id}")
        with self._write(f"update user {id}") as session:
            row = session.get(User, id)
            if row is None:
                raise NotFound(f"user {id} not found")
            before = _user_out(row)
            new_role = UserRole(row.role) if role is None else _enum(UserRole, role, "role")
            new_organisation = row.organisation_id if organisation_id is None else organisation_id
            if new_role is UserRole.EDITOR and new_organisation is None:
                raise RegistryError("an editor needs an organisation_id")
            if organisation_id is not None and session.get(Organisation, organisation_id) is None:
                raise RegistryError(f"no organisation with id {organisation_id}")
            row.role, row.organisation_id = new_role, new_organisation
            session.flush()
            after = _user_out(row)
            self._audit(session, "users", id, AuditAction.UPDATE, before, after)
        return after

    # -- funding --

    def add_funding(
        self, intervention_id: int, data: FundingRecord | dict[str, Any], expected_version: int
    ) -> FundingRecord:
        """Add a funding row to an intervention; its version moves on."""
        operation = f"add funding to intervention {intervention_id}"
        self._require_writer(operation)
        item = _check_funding(data)
        try:
            with self._write(operation) as session:
                parent = self._parent(session, intervention_id, expected_version, operation)
                funder = item.funder_id
                if funder is None:
                    funder = session.scalar(
                        sa.select(Organisation.id).where(
                            Organisation.name == item.funder,
                            Organisation.sector == item.funder_sector,
                        )
                    )
                if funder is None or session.get(Organisation, funder) is None:
                    named = item.funder_id if item.funder_id is not None else repr(item.funder)
                    raise RegistryError(f"no organisation with id {named}")
                row = Funding(
                    intervention_id=intervention_id,
                    funder_id=funder,
                    instrument=item.instrument,
                    amount_sek=item.amount_sek,
                    start_date=item.start_date,
                    end_date=item.end_date,
                )
                session.add(row)
                parent.updated_at = utcnow()
                session.flush()
                session.refresh(row, ["funder"])
                out = _funding_out(row)
                self._audit(session, "fundings", row.id, AuditAction.CREATE, None, out)
        except StaleDataError:
            raise self._stale(intervention_id, expected_version) from None
        return out

    def remove_funding(self, funding_id: int, expected_version: int) -> None:
        """Remove a funding row; ``expected_version`` is its intervention's."""
        operation = f"remove funding {funding_id}"
        self._require_writer(operation)
        parent_id: int | None = None
        try:
            with self._write(operation) as session:
                row = session.get(Funding, funding_id)
                if row is None:
                    raise NotFound(f"funding {funding_id} not found")
                parent_id = row.intervention_id
                parent = self._parent(session, parent_id, expected_version, operation)
                before = _funding_out(row)
                session.delete(row)
                parent.updated_at = utcnow()
                session.flush()
                self._audit(session, "fundings", funding_id, AuditAction.DELETE, before, None)
        except StaleDataError:
            assert parent_id is not None
            raise self._stale(parent_id, expected_version) from None

    def _parent(
        self, session: Session, id: int, expected_version: int, operation: str
    ) -> Intervention:
        parent = self._load(session, id)
        self._check_editor_scope(operation, parent.participations, None)
        if parent.version != expected_version:
            raise self._stale(id, expected_version, parent.version)
        return parent

    # -- successions --

    def add_succession(self, data: SuccessionIn | dict[str, Any]) -> SuccessionOut:
        """Record that ``from_id`` went on as ``to_id`` (editors: ``from_id`` in their scope)."""
        item = _build(SuccessionIn, data, "succession")
        operation = f"record that intervention {item.from_id} went on as {item.to_id}"
        self._require_writer(operation)
        if item.from_id == item.to_id:
            raise RegistryError("an intervention cannot succeed itself")
        with self._write(operation) as session:
            source = self._load(session, item.from_id)
            self._load(session, item.to_id)
            self._check_editor_scope(operation, source.participations, None)
            row = Succession(
                from_id=item.from_id,
                to_id=item.to_id,
                kind=_enum(SuccessionKind, item.kind, "kind"),
                succeeded_on=_date(item.succeeded_on, "succeeded_on"),
            )
            session.add(row)
            session.flush()
            out = _succession_out(row)
            self._audit(session, "successions", row.id, AuditAction.CREATE, None, out)
        return out

    def remove_succession(self, succession_id: int) -> None:
        """Remove a succession link (editors: its ``from`` intervention in their scope)."""
        operation = f"remove succession {succession_id}"
        self._require_writer(operation)
        with self._write(operation) as session:
            row = session.get(Succession, succession_id)
            if row is None:
                raise NotFound(f"succession {succession_id} not found")
            source = self._load(session, row.from_id)
            self._check_editor_scope(operation, source.participations, None)
            before = _succession_out(row)
            session.delete(row)
            session.flush()
            self._audit(session, "successions", succession_id, AuditAction.DELETE, before, None)

    # -- the audit trail --

    def audit_trail(
        self,
        entity: str | None = None,
        entity_id: int | None = None,
        *,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """The audit entries, oldest first (of one ``entity`` — a table name such as
        ``interventions`` — and one ``entity_id`` when given); signed-in users only."""
        self._require_signed_in("read the audit trail")
        query = sa.select(AuditEntry).order_by(AuditEntry.id)
        if entity is not None:
            query = query.where(AuditEntry.entity == entity)
        if entity_id is not None:
            query = query.where(AuditEntry.entity_id == entity_id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            return [_audit_out(row) for row in session.scalars(query)]
