"""Plain data in and out of the registry service besides the intervention records (actors,
organisations, users, succession links, audit entries) and the small checks on it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from bryta.registry.models import AuditEntry, Organisation, User
from bryta.registry.validation import RegistryError
from bryta.vocabulary import AuditAction, OrgLevel, Sector, SuccessionKind, UserRole

# AccessDenied (the message names the actor, the operation and the reason), NotFound (no
# such record, or one the actor may not see) and StaleVersion (changed since the caller read
# it; reload and retry) are the common kinds of bryta.errors, so a web layer maps them alike.

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who acts: a user's id, name, role and (for editors) organisation."""

    id: int | None
    name: str
    role: UserRole
    organisation_id: int | None = None

    def __str__(self) -> str:
        if self.id is None:
            return self.name
        where = f" of organisation {self.organisation_id}" if self.organisation_id else ""
        return f"user {self.name!r} ({self.role.value}{where})"


SYSTEM = Actor(id=None, name="system", role=UserRole.ADMIN)
"""Imports and set-up: admin rights, audited as ``system``."""


@dataclass(frozen=True, kw_only=True)
class OrganisationIn:
    name: str
    sector: Sector
    level: OrgLevel
    org_number: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrganisationOut(OrganisationIn):
    id: int


@dataclass(frozen=True, kw_only=True)
class UserIn:
    name: str
    role: UserRole
    organisation_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class UserOut(UserIn):
    id: int


@dataclass(frozen=True, kw_only=True)
class SuccessionIn:
    """A succession link between two stored interventions, by id (the record's
    ``successions`` name the successor by key instead)."""

    from_id: int
    to_id: int
    kind: SuccessionKind
    succeeded_on: date | None = None


@dataclass(frozen=True, kw_only=True)
class SuccessionOut(SuccessionIn):
    id: int


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One entry of the audit trail: who changed which row when, before and after."""

    id: int
    who: str
    user_id: int | None
    at: datetime
    entity: str
    entity_id: int
    action: AuditAction
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# --- checking input -------------------------------------------------------------------------


def _enum(kind: type[E], value: Any, name: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise RegistryError(f"{name}: {value!r} not allowed; use {allowed}") from None


def _date(value: Any, name: str) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise RegistryError(f"{name}: {value!r} is not a date (YYYY-MM-DD)")


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RegistryError(f"{name}: expected text, not {value!r}")
    return value


def _optional_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _title(value: Any, name: str) -> str:
    text = _text(value, name)
    if not text.strip():
        raise RegistryError(f"{name} must not be empty")
    return text


def _build(cls: type[T], data: Any, name: str) -> T:
    """``data`` (an instance of ``cls`` or a mapping of its fields) as a ``cls``."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise RegistryError(f"{name}: expected a {cls.__name__} or a mapping, not {data!r}")
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise RegistryError(f"{name}: unknown field(s) {', '.join(unknown)}")
    try:
        return cls(**data)
    except TypeError as error:  # a required field is missing
        raise RegistryError(f"{name}: {error}") from None


# --- ORM rows to plain data -----------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive timestamps; every timestamp the registry writes is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _organisation_out(row: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=row.id,
        name=row.name,
        sector=Sector(row.sector),
        level=OrgLevel(row.level),
        org_number=row.org_number,
    )


def _user_out(row: User) -> UserOut:
    return UserOut(
        id=row.id, name=row.name, role=UserRole(row.role), organisation_id=row.organisation_id
    )


def _audit_out(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        who=row.who,
        user_id=row.user_id,
        at=_utc(row.at),
        entity=row.entity,
        entity_id=row.entity_id,
        action=AuditAction(row.action),
        before=row.before,
        after=row.after,
    )


def _jsonable(value: Any) -> Any:
    """``value`` (a dataclass, or what one holds) as JSON-ready dicts, lists and strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def _actor(actor: User | UserOut | Actor | None) -> Actor | None:
    if actor is None or isinstance(actor, Actor):
        return actor
    if isinstance(actor, User | UserOut):
        return Actor(
            id=actor.id,
            name=actor.name,
            role=UserRole(actor.role),
            organisation_id=actor.organisation_id,
        )
    raise TypeError(f"actor must be a User, UserOut, Actor or None, not {actor!r}")
