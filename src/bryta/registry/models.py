"""The registry's tables as SQLAlchemy 2.0 typed models (the data model of docs/registry.md).

Rows only: what may be stored is checked before, by :mod:`bryta.registry.validation` (the
service checks every record it writes), and last by the database's constraints.

Portable on purpose: enumerations are stored as text with a CHECK constraint, lists of
vocabulary values (age bands, settings, outcome domains, group tags) as JSON lists, money as
whole SEK in a BIGINT, so SQLite and PostgreSQL hold the same schema. The schema itself is
created by the Alembic migrations in ``migrations/`` (see :func:`bryta.registry.db.init`),
never by ``metadata.create_all``; a test keeps the two identical.

Every period is a pair of nullable dates ``start_date``/``end_date`` (end inclusive); a missing
end means open-ended.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.mutable import MutableList
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bryta.registry.evaluations import Design, EvidenceLevel
from bryta.vocabulary import (
    AreaLevel,
    AuditAction,
    EvaluationType,
    Form,
    Instrument,
    OrgLevel,
    PreventionLevel,
    Role,
    Sector,
    Status,
    SuccessionKind,
    UserRole,
)

_DAYS_PER_MONTH = 365.25 / 12
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Now in UTC, timezone-aware (what every timestamp in the registry records)."""
    return datetime.now(UTC)


def new_key() -> str:
    """A fresh stable key for an intervention that came without one (a random UUID)."""
    return str(uuid.uuid4())


def _enum(kind: type[StrEnum], name: str) -> sa.Enum:
    """Text column holding ``kind``'s values (not its member names), checked by a constraint."""
    return sa.Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def _json_list() -> Any:
    """A JSON list whose in-place changes (``append``) are noticed by the session."""
    return MutableList.as_mutable(sa.JSON())


def _months(start: date | None, end: date | None) -> float | None:
    """Length of ``start``–``end`` (end inclusive) in months of 365.25/12 days, one decimal."""
    if start is None or end is None:
        return None
    return round(((end - start).days + 1) / _DAYS_PER_MONTH, 1)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    org_number: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    sector: Mapped[Sector] = mapped_column(_enum(Sector, "sector"))
    level: Mapped[OrgLevel] = mapped_column(_enum(OrgLevel, "org_level"))

    # An organisation still named in participations or fundings cannot be deleted (RESTRICT):
    # the record of who did what outlives the organisation's row.
    participations: Mapped[list[Participation]] = relationship(
        back_populates="organisation", passive_deletes="all"
    )
    fundings: Mapped[list[Funding]] = relationship(back_populates="funder", passive_deletes="all")
    users: Mapped[list[User]] = relationship(back_populates="organisation", passive_deletes="all")

    def __repr__(self) -> str:
        return f"Organisation(id={self.id!r}, name={self.name!r})"


class Intervention(Base):
    __tablename__ = "interventions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True, default=new_key)
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    theory_of_change: Mapped[str] = mapped_column(sa.Text, default="")
    form: Mapped[Form] = mapped_column(_enum(Form, "form"))
    status: Mapped[Status] = mapped_column(_enum(Status, "status"))
    planned_start: Mapped[date | None]
    planned_end: Mapped[date | None]
    actual_start: Mapped[date | None]
    actual_end: Mapped[date | None]
    age_bands: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    group_tags: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    prevention_level: Mapped[PreventionLevel | None] = mapped_column(
        _enum(PreventionLevel, "prevention_level")
    )
    settings: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    outcome_domains: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    evaluation_type: Mapped[EvaluationType] = mapped_column(
        _enum(EvaluationType, "evaluation_type"), default=EvaluationType.NONE
    )
    evaluation_report_url: Mapped[str | None] = mapped_column(sa.String(2000))
    evidence_references: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    reported_by: Mapped[str | None] = mapped_column(sa.String(300))
    verified_by: Mapped[str | None] = mapped_column(sa.String(300))
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    published: Mapped[bool] = mapped_column(default=False)
    synthetic: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads a dict)

    participations: Mapped[list[Participation]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True
    )
    fundings: Mapped[list[Funding]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True
    )
    area_links: Mapped[list[AreaLink]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True
    )
    indicator_links: Mapped[list[IndicatorLink]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True
    )
    evaluations: Mapped[list[Evaluation]] = relationship(
        back_populates="intervention", cascade="all, delete-orphan", passive_deletes=True
    )
    successors: Mapped[list[Succession]] = relationship(
        foreign_keys="Succession.from_id",
        back_populates="from_intervention",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    predecessors: Mapped[list[Succession]] = relationship(
        foreign_keys="Succession.to_id",
        back_populates="to_intervention",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def planned_duration_months(self) -> float | None:
        """Planned start to planned end (inclusive) in months; None while either is unknown."""
        return _months(self.planned_start, self.planned_end)

    @property
    def actual_duration_months(self) -> float | None:
        """Actual start to actual end (inclusive) in months; None while either is unknown."""
        return _months(self.actual_start, self.actual_end)

    @property
    def duration_months(self) -> float | None:
        """The actual duration when known, else the planned one."""
        actual = self.actual_duration_months
        return actual if actual is not None else self.planned_duration_months

    def __repr__(self) -> str:
        return f"Intervention(id={self.id!r}, title={self.title!r})"


class Participation(Base):
    """An organisation's role in an intervention; one organisation may hold several roles."""

    __tablename__ = "participations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    intervention_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]

    organisation: Mapped[Organisation] = relationship(back_populates="participations")
    intervention: Mapped[Intervention] = relationship(back_populates="participations")


class Funding(Base):
    __tablename__ = "fundings"
    __table_args__ = (sa.CheckConstraint("amount_sek >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    funder_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    instrument: Mapped[Instrument] = mapped_column(_enum(Instrument, "instrument"))
    amount_sek: Mapped[int] = mapped_column(sa.BigInteger)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]

    intervention: Mapped[Intervention] = relationship(back_populates="fundings")
    funder: Mapped[Organisation] = relationship(back_populates="fundings")

    @property
    def duration_months(self) -> float | None:
        """Length of the funding period in months (None while open-ended)."""
        return _months(self.start_date, self.end_date)


class AreaLink(Base):
    """Where an intervention works: one kommun, RegSO or DeSO (any version of the code)."""

    __tablename__ = "area_links"
    __table_args__ = (
        sa.UniqueConstraint("intervention_id", "area_code", name="uq_area_links_intervention_area"),
        sa.CheckConstraint(
            "share_of_effort IS NULL OR (share_of_effort >= 0 AND share_of_effort <= 1)",
            name="share_of_effort_range",
        ),
        sa.CheckConstraint(
            "reach_share IS NULL OR (reach_share >= 0 AND reach_share <= 1)",
            name="reach_share_range",
        ),
        sa.CheckConstraint(
            "reach_participants IS NULL OR reach_participants >= 0",
            name="reach_participants_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[AreaLevel] = mapped_column(_enum(AreaLevel, "area_level"))
    area_code: Mapped[str] = mapped_column(sa.String(32), index=True)
    share_of_effort: Mapped[float | None] = mapped_column(sa.Float)
    reach_participants: Mapped[int | None]
    reach_share: Mapped[float | None] = mapped_column(sa.Float)

    intervention: Mapped[Intervention] = relationship(back_populates="area_links")


class IndicatorLink(Base):
    """An indicator an intervention aims to move, with baseline, target and actual by period."""

    __tablename__ = "indicator_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    indicator_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    baseline: Mapped[float | None] = mapped_column(sa.Float)
    target: Mapped[float | None] = mapped_column(sa.Float)
    actual: Mapped[float | None] = mapped_column(sa.Float)

    intervention: Mapped[Intervention] = relationship(back_populates="indicator_links")


class Evaluation(Base):
    """What one evaluation of the intervention found (:mod:`bryta.registry.evaluations`):
    design, outcome, estimate, interval, MDE, sizes, years, provenance and evidence level."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    intervention_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    design: Mapped[Design] = mapped_column(_enum(Design, "design"))
    outcome: Mapped[str] = mapped_column(sa.String(100))
    aggregation: Mapped[str] = mapped_column(sa.String(32))
    estimate: Mapped[float] = mapped_column(sa.Float)
    se: Mapped[float | None] = mapped_column(sa.Float)
    ci_low: Mapped[float | None] = mapped_column(sa.Float)
    ci_high: Mapped[float | None] = mapped_column(sa.Float)
    mde: Mapped[float | None] = mapped_column(sa.Float)
    placebo_p: Mapped[float | None] = mapped_column(sa.Float)
    n_treated: Mapped[int]
    n_control: Mapped[int]
    first_year: Mapped[int]
    last_year: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    provenance: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    evidence_level: Mapped[EvidenceLevel] = mapped_column(_enum(EvidenceLevel, "evidence_level"))

    intervention: Mapped[Intervention] = relationship(back_populates="evaluations")


class Succession(Base):
    """Intervention ``from`` went on as intervention ``to`` (e.g. project → permanent operation)."""

    __tablename__ = "successions"
    __table_args__ = (
        sa.UniqueConstraint("from_id", "to_id", name="uq_successions_from_to"),
        sa.CheckConstraint("from_id <> to_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    to_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interventions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[SuccessionKind] = mapped_column(_enum(SuccessionKind, "succession_kind"))
    succeeded_on: Mapped[date | None]

    from_intervention: Mapped[Intervention] = relationship(
        foreign_keys=[from_id], back_populates="successors"
    )
    to_intervention: Mapped[Intervention] = relationship(
        foreign_keys=[to_id], back_populates="predecessors"
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role <> 'editor' OR organisation_id IS NOT NULL", name="editor_has_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    role: Mapped[UserRole] = mapped_column(_enum(UserRole, "user_role"))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")


class AuditEntry(Base):
    """One change: who, when (UTC), which row, and the row before and after as JSON."""

    __tablename__ = "audit_entries"
    __table_args__ = (sa.Index("ix_audit_entries_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    who: Mapped[str] = mapped_column(sa.String(200))
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    entity: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[int]
    action: Mapped[AuditAction] = mapped_column(_enum(AuditAction, "audit_action"))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
