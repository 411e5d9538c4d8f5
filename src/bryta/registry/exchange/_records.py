"""The plain-data records the readers return and the writers take, and their field names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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


@dataclass(kw_only=True)
class ParticipationRecord:
    """An organisation's role in an intervention (organisations are identified by name)."""

    organisation: str
    sector: Sector
    role: Role
    level: OrgLevel | None = None
    start: date | None = None
    end: date | None = None


@dataclass(kw_only=True)
class FundingRecord:
    funder: str
    funder_sector: Sector
    instrument: Instrument
    amount_sek: int
    start: date | None = None
    end: date | None = None


@dataclass(kw_only=True)
class AreaRecord:
    level: AreaLevel
    code: str
    share_of_effort: float | None = None
    reach_participants: int | None = None
    reach_share: float | None = None


@dataclass(kw_only=True)
class SuccessionRecord:
    """This intervention went on as the one with key ``to``."""

    to: str
    kind: SuccessionKind
    succeeded_on: date | None = None


@dataclass(kw_only=True)
class InterventionRecord:
    """One intervention with its links, as plain data; ``key`` is unique within a file."""

    key: str
    title: str
    form: Form
    status: Status
    description: str = ""
    theory_of_change: str = ""
    planned_start: date | None = None
    planned_end: date | None = None
    actual_start: date | None = None
    actual_end: date | None = None
    age_bands: list[AgeBand] = field(default_factory=list)
    group_tags: list[str] = field(default_factory=list)
    prevention_level: PreventionLevel | None = None
    settings: list[Setting] = field(default_factory=list)
    outcome_domains: list[OutcomeDomain] = field(default_factory=list)
    evaluation_type: EvaluationType = EvaluationType.NONE
    evaluation_report_url: str | None = None
    evidence_references: list[str] = field(default_factory=list)
    reported_by: str | None = None
    verified_by: str | None = None
    published: bool = False
    synthetic: bool = False
    participations: list[ParticipationRecord] = field(default_factory=list)
    funding: list[FundingRecord] = field(default_factory=list)
    areas: list[AreaRecord] = field(default_factory=list)
    successions: list[SuccessionRecord] = field(default_factory=list)


_SCALARS = (
    "key",
    "title",
    "description",
    "theory_of_change",
    "form",
    "status",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "prevention_level",
    "evaluation_type",
    "evaluation_report_url",
    "reported_by",
    "verified_by",
    "published",
    "synthetic",
)
_LISTS = ("age_bands", "group_tags", "settings", "outcome_domains", "evidence_references")
_NESTED = ("participations", "funding", "areas", "successions")
CSV_COLUMNS = (*_SCALARS, *_LISTS, *_NESTED)
"""The columns of the registry CSV, in order (docs/registry_exchange.md)."""

_PARTICIPATION = ("organisation", "sector", "role", "level", "start", "end")
_FUNDING = ("funder", "funder_sector", "instrument", "amount_sek", "start", "end")
_AREA = ("level", "code", "share_of_effort", "reach_participants", "reach_share")
_SUCCESSION = ("to", "kind", "succeeded_on")


_NESTED_FIELDS = {
    "participations": _PARTICIPATION,
    "funding": _FUNDING,
    "areas": _AREA,
    "successions": _SUCCESSION,
}
