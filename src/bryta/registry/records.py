"""The intervention as plain data: one family for the exchange formats, the service and the
diagnostics.

An :class:`InterventionRecord` carries its fields, its participations, fundings, area links,
indicator links and successions, and — once stored — its ``id``, ``version`` and
``updated_at``. The registry CSV and JSON are these records written out; the service takes
them (or mappings of the same names) and returns them; the portfolio frames of the
diagnostics are built from them. Checking is :func:`bryta.registry.validation.check_records`.

Organisations are named by id inside one database (``organisation_id``, ``funder_id``) and by
name and sector between databases and in files (``organisation``/``sector``,
``funder``/``funder_sector``); the service fills in both when it returns a record. A
succession names the intervention that went on by its ``key``, stable across databases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

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
    """An organisation's role in an intervention."""

    role: Role
    organisation: str | None = None
    sector: Sector | None = None
    level: OrgLevel | None = None
    start_date: date | None = None
    end_date: date | None = None
    organisation_id: int | None = None


@dataclass(kw_only=True)
class FundingRecord:
    """Money for an intervention: who, through which instrument, how much, for when."""

    instrument: Instrument
    amount_sek: int
    funder: str | None = None
    funder_sector: Sector | None = None
    start_date: date | None = None
    end_date: date | None = None
    funder_id: int | None = None
    id: int | None = None


@dataclass(kw_only=True)
class AreaLinkRecord:
    """Where an intervention works: one kommun, RegSO or DeSO (any version of the code)."""

    level: AreaLevel
    area_code: str
    share_of_effort: float | None = None
    reach_participants: int | None = None
    reach_share: float | None = None


@dataclass(kw_only=True)
class IndicatorLinkRecord:
    """An indicator the intervention aims to move: baseline, target and actual for a period."""

    indicator_id: str
    start_date: date | None = None
    end_date: date | None = None
    baseline: float | None = None
    target: float | None = None
    actual: float | None = None


@dataclass(kw_only=True)
class SuccessionRecord:
    """This intervention went on as the one with key ``to``."""

    to: str
    kind: SuccessionKind
    succeeded_on: date | None = None


@dataclass(kw_only=True)
class InterventionRecord:
    """One intervention with its links; ``key`` is its stable identity (unique)."""

    key: str | None = None
    title: str
    form: Form
    status: Status = Status.PLANNED
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
    fundings: list[FundingRecord] = field(default_factory=list)
    area_links: list[AreaLinkRecord] = field(default_factory=list)
    indicator_links: list[IndicatorLinkRecord] = field(default_factory=list)
    successions: list[SuccessionRecord] = field(default_factory=list)
    # set by the registry once stored
    id: int | None = None
    version: int | None = None
    updated_at: datetime | None = None


SCALARS = (
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
LISTS = ("age_bands", "group_tags", "settings", "outcome_domains", "evidence_references")
NESTED = ("participations", "fundings", "area_links", "indicator_links", "successions")
STORED = ("id", "version", "updated_at")
"""Set by the registry; never read from a file."""

NESTED_FIELDS = {
    "participations": ("organisation", "sector", "role", "level", "start_date", "end_date"),
    "fundings": ("funder", "funder_sector", "instrument", "amount_sek", "start_date", "end_date"),
    "area_links": ("level", "area_code", "share_of_effort", "reach_participants", "reach_share"),
    "indicator_links": ("indicator_id", "start_date", "end_date", "baseline", "target", "actual"),
    "successions": ("to", "kind", "succeeded_on"),
}
"""The fields of each nested kind that files carry (ids are the database's business)."""

NESTED_IDS = {
    "participations": ("organisation_id",),
    "fundings": ("funder_id", "id"),
    "area_links": (),
    "indicator_links": (),
    "successions": (),
}
"""The fields of each nested kind that only the service reads and writes."""

NESTED_CLASSES: dict[str, type] = {
    "participations": ParticipationRecord,
    "fundings": FundingRecord,
    "area_links": AreaLinkRecord,
    "indicator_links": IndicatorLinkRecord,
    "successions": SuccessionRecord,
}

CSV_COLUMNS = (*SCALARS, *LISTS, *NESTED)
"""The columns of the registry CSV and the keys of a registry JSON object, in order."""
