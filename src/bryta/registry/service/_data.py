"""Plain data in and out of the registry service, the checks on it, and the service's errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from bryta.registry.models import Intervention, Organisation, RegistryError, User
from bryta.vocabulary import (
    AreaLevel,
    EvaluationType,
    Form,
    OrgLevel,
    PreventionLevel,
    Role,
    Sector,
    Status,
    UserRole,
)

# AccessDenied (the message names the actor, the operation and the reason), NotFound (no
# such record, or one the actor may not see) and StaleVersion (changed since the caller read
# it; reload and retry) are the common kinds of bryta.errors, so a web layer maps them alike.


# --- plain data in and out ------------------------------------------------------------------


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
class ParticipationData:
    organisation_id: int
    role: Role
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class AreaLinkData:
    level: AreaLevel
    area_code: str
    share_of_effort: float | None = None
    reach_participants: int | None = None
    reach_share: float | None = None


@dataclass(frozen=True, kw_only=True)
class InterventionIn:
    """An intervention as a caller describes it (new ones are always unpublished)."""

    title: str
    form: Form
    key: str | None = None
    status: Status = Status.PLANNED
    description: str = ""
    theory_of_change: str = ""
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    age_bands: tuple[str, ...] = ()
    group_tags: tuple[str, ...] = ()
    prevention_level: PreventionLevel | None = None
    settings: tuple[str, ...] = ()
    outcome_domains: tuple[str, ...] = ()
    evaluation_type: EvaluationType = EvaluationType.NONE
    evaluation_report_url: str | None = None
    evidence_references: tuple[str, ...] = ()
    reported_by: str | None = None
    verified_by: str | None = None
    synthetic: bool = False
    participations: tuple[ParticipationData, ...] = ()
    area_links: tuple[AreaLinkData, ...] = ()


@dataclass(frozen=True, kw_only=True)
class InterventionOut(InterventionIn):
    """A stored intervention: its fields plus id, version (pass it back to change it), etc."""

    id: int
    version: int
    published: bool
    updated_at: datetime


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


# --- checking input -------------------------------------------------------------------------


def _enum(kind: type[StrEnum], value: Any, name: str) -> Any:
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
    if not _text(value, name).strip():
        raise RegistryError(f"{name} must not be empty")
    return value


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise RegistryError(f"{name}: expected a list of text, not {value!r}")
    return tuple(_text(v, name) for v in value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise RegistryError(f"{name}: expected true or false, not {value!r}")
    return value


def _optional(kind: type[StrEnum]) -> Any:
    return lambda value, name: None if value is None else _enum(kind, value, name)


def _required(kind: type[StrEnum]) -> Any:
    return lambda value, name: _enum(kind, value, name)


def _key(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not _text(value, name).strip() or value != value.strip() or len(value) > 200:
        raise RegistryError(f"{name}: {value!r} is not a key (1–200 characters, no outer spaces)")
    return str(value)


_INTERVENTION_FIELDS: dict[str, Any] = {
    "key": _key,
    "title": _title,
    "form": _required(Form),
    "status": _required(Status),
    "description": _text,
    "theory_of_change": _text,
    "planned_start": _date,
    "planned_end": _date,
    "actual_start": _date,
    "actual_end": _date,
    "age_bands": _strings,
    "group_tags": _strings,
    "prevention_level": _optional(PreventionLevel),
    "settings": _strings,
    "outcome_domains": _strings,
    "evaluation_type": _required(EvaluationType),
    "evaluation_report_url": _optional_text,
    "evidence_references": _strings,
    "reported_by": _optional_text,
    "verified_by": _optional_text,
    "synthetic": _bool,
}
_CHILD_FIELDS = ("participations", "area_links")


def _build(cls: type, data: Any, name: str) -> Any:
    """``data`` (an instance of ``cls`` or a mapping of its fields) as a ``cls``."""
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise RegistryError(f"{name}: expected a {cls.__name__} or a mapping, not {data!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RegistryError(f"{name}: unknown field(s) {', '.join(unknown)}")
    try:
        return cls(**data)
    except TypeError as error:  # a required field is missing
        raise RegistryError(f"{name}: {error}") from None


def _participation(data: Any) -> ParticipationData:
    p = _build(ParticipationData, data, "participation")
    if not isinstance(p.organisation_id, int) or isinstance(p.organisation_id, bool):
        raise RegistryError(f"participation: organisation_id must be an id, not {p!r}")
    return ParticipationData(
        organisation_id=p.organisation_id,
        role=_enum(Role, p.role, "participation role"),
        start_date=_date(p.start_date, "participation start_date"),
        end_date=_date(p.end_date, "participation end_date"),
    )


def _area_link(data: Any) -> AreaLinkData:
    a = _build(AreaLinkData, data, "area link")
    return dataclasses.replace(
        a,
        level=_enum(AreaLevel, a.level, "area link level"),
        area_code=_text(a.area_code, "area link area_code"),
    )


def _children(values: dict[str, Any]) -> None:
    """Normalise the child lists in ``values`` in place."""
    if "participations" in values:
        values["participations"] = tuple(map(_participation, values["participations"]))
    if "area_links" in values:
        values["area_links"] = tuple(map(_area_link, values["area_links"]))


def _intervention_in(data: InterventionIn | Mapping[str, Any]) -> dict[str, Any]:
    """The checked fields of a new intervention, child lists included."""
    item = _build(InterventionIn, data, "intervention")
    values = {f.name: getattr(item, f.name) for f in dataclasses.fields(InterventionIn)}
    for name, check in _INTERVENTION_FIELDS.items():
        values[name] = check(values[name], name)
    _children(values)
    return values


def _changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The checked fields of an update; a child list given replaces the stored one."""
    if not isinstance(changes, Mapping):
        raise RegistryError(f"changes must be a mapping of field names to values, not {changes!r}")
    unknown = sorted(set(changes) - set(_INTERVENTION_FIELDS) - set(_CHILD_FIELDS) | {"key"})
    unknown = [name for name in unknown if name in changes]
    if unknown:
        hint = " (use publish/unpublish)" if "published" in unknown else ""
        hint += " (an intervention's key never changes)" if "key" in unknown else ""
        raise RegistryError(f"cannot change field(s) {', '.join(unknown)}{hint}")
    values = {
        name: _INTERVENTION_FIELDS[name](value, name)
        for name, value in changes.items()
        if name in _INTERVENTION_FIELDS
    }
    values.update({name: changes[name] for name in _CHILD_FIELDS if name in changes})
    _children(values)
    return values


def _check_periods(row: Intervention) -> None:
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        first, last = getattr(row, start), getattr(row, end)
        if first is not None and last is not None and last < first:
            raise RegistryError(f"{end} {last} is before {start} {first}")


# --- ORM rows to plain data -----------------------------------------------------------------


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive timestamps; every timestamp the registry writes is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _intervention_out(row: Intervention) -> InterventionOut:
    values = {name: getattr(row, name) for name in _INTERVENTION_FIELDS}
    for name in ("age_bands", "group_tags", "settings", "outcome_domains", "evidence_references"):
        values[name] = tuple(values[name] or ())
    participations = tuple(
        ParticipationData(
            organisation_id=p.organisation_id,
            role=Role(p.role),
            start_date=p.start_date,
            end_date=p.end_date,
        )
        for p in sorted(row.participations, key=lambda p: p.id)
    )
    area_links = tuple(
        AreaLinkData(
            level=AreaLevel(a.level),
            area_code=a.area_code,
            share_of_effort=a.share_of_effort,
            reach_participants=a.reach_participants,
            reach_share=a.reach_share,
        )
        for a in sorted(row.area_links, key=lambda a: a.id)
    )
    return InterventionOut(
        **values,
        participations=participations,
        area_links=area_links,
        id=row.id,
        version=row.version,
        published=row.published,
        updated_at=_utc(row.updated_at),
    )


def _organisation_out(row: Organisation) -> OrganisationOut:
    return OrganisationOut(
        id=row.id, name=row.name, sector=row.sector, level=row.level, org_number=row.org_number
    )


def _user_out(row: User) -> UserOut:
    return UserOut(id=row.id, name=row.name, role=row.role, organisation_id=row.organisation_id)


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
