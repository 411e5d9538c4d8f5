"""The service's operations on people and on an intervention's funding and successions.

Mixed into :class:`RegistryService`; they use its access checks, transactions and audit.
Organisations and users are managed by admins. A funding row is part of its intervention:
adding or removing one is a change of the intervention (editor scope, ``expected_version``,
the version moves on). A succession links two interventions: an editor may record that an
intervention in their scope went on as another one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bryta.errors import NotFound
from bryta.registry.models import (
    Funding,
    Intervention,
    Organisation,
    RegistryError,
    Succession,
    User,
    utcnow,
)
from bryta.registry.service._data import (
    OrganisationOut,
    UserOut,
    _build,
    _date,
    _enum,
    _optional_text,
    _organisation_out,
    _title,
    _user_out,
)
from bryta.vocabulary import (
    AuditAction,
    Instrument,
    OrgLevel,
    Sector,
    SuccessionKind,
    UserRole,
)

if TYPE_CHECKING:  # the mixin relies on RegistryService's helpers
    from bryta.registry.service._service import RegistryService as _Base
else:
    _Base = object


@dataclass(frozen=True, kw_only=True)
class FundingIn:
    funder_id: int
    instrument: Instrument
    amount_sek: int
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class FundingOut(FundingIn):
    id: int
    intervention_id: int


@dataclass(frozen=True, kw_only=True)
class SuccessionIn:
    from_id: int
    to_id: int
    kind: SuccessionKind
    succeeded_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class SuccessionOut(SuccessionIn):
    id: int


def _funding_out(row: Funding) -> FundingOut:
    return FundingOut(
        id=row.id,
        intervention_id=row.intervention_id,
        funder_id=row.funder_id,
        instrument=Instrument(row.instrument),
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


class PeopleAndLinks(_Base):
    """Organisations and users (admins), fundings and successions (writers in scope)."""

    # -- organisations and users --

    def list_organisations(self) -> list[OrganisationOut]:
        """Every organisation, by id (anyone may read them: they are public actors)."""
        with self._read() as session:
            rows = session.scalars(sa.select(Organisation).order_by(Organisation.id))
            return [_organisation_out(row) for row in rows]

    def update_organisation(self, id: int, changes: dict[str, Any]) -> OrganisationOut:
        """Change an organisation's name, sector, level or organisation number (admins)."""
        self._require_admin(f"update organisation {id}")
        checks = {
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
        self, intervention_id: int, data: FundingIn | dict[str, Any], expected_version: int
    ) -> FundingOut:
        """Add a funding row to an intervention; its version moves on."""
        operation = f"add funding to intervention {intervention_id}"
        self._require_writer(operation)
        item = _build(FundingIn, data, "funding")
        amount = item.amount_sek
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise RegistryError(f"funding amount_sek: a whole number of SEK ≥ 0, not {amount!r}")
        start, end = _date(item.start_date, "start_date"), _date(item.end_date, "end_date")
        if start and end and end < start:
            raise RegistryError(f"funding ends ({end}) before it starts ({start})")
        try:
            with self._write(operation) as session:
                parent = self._parent(session, intervention_id, expected_version, operation)
                if session.get(Organisation, item.funder_id) is None:
                    raise RegistryError(f"no organisation with id {item.funder_id}")
                row = Funding(
                    intervention_id=intervention_id,
                    funder_id=item.funder_id,
                    instrument=_enum(Instrument, item.instrument, "instrument"),
                    amount_sek=amount,
                    start_date=start,
                    end_date=end,
                )
                session.add(row)
                parent.updated_at = utcnow()
                session.flush()
                out = _funding_out(row)
                self._audit(session, "fundings", row.id, AuditAction.CREATE, None, out)
        except StaleDataError:
            raise self._stale(intervention_id, expected_version) from None
        return out

    def remove_funding(self, funding_id: int, expected_version: int) -> None:
        """Remove a funding row; ``expected_version`` is its intervention's."""
        operation = f"remove funding {funding_id}"
        self._require_writer(operation)
        try:
            with self._write(operation) as session:
                row = session.get(Funding, funding_id)
                if row is None:
                    raise NotFound(f"funding {funding_id} not found")
                parent = self._parent(session, row.intervention_id, expected_version, operation)
                before = _funding_out(row)
                session.delete(row)
                parent.updated_at = utcnow()
                session.flush()
                self._audit(session, "fundings", funding_id, AuditAction.DELETE, before, None)
        except StaleDataError:
            raise self._stale(before.intervention_id, expected_version) from None

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
