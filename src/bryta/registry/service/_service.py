"""``RegistryService``: interventions — created, changed, saved by key, read — for one actor."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bryta.errors import Conflict, NotFound
from bryta.registry.evaluations import (
    Design,
    EvaluationRecord,
    EvidenceLevel,
    check_evaluation,
)
from bryta.registry.models import AreaLink, Evaluation, Intervention, new_key, utcnow
from bryta.registry.records import (
    LISTS,
    NESTED,
    SCALARS,
    IndicatorLinkRecord,
    InterventionRecord,
)
from bryta.registry.service._base import LOAD_ALL
from bryta.registry.service._data import _date, _enum, _utc
from bryta.registry.service._more import PeopleAndLinks
from bryta.registry.validation import RegistryError, check_changes, check_record
from bryta.vocabulary import AuditAction, Form, Status

Outcome = Literal["added", "updated", "unchanged"]


def _comparable(record: InterventionRecord) -> dict[str, Any]:
    """What :meth:`RegistryService.save` compares: the fields and links, organisations by id."""
    out: dict[str, Any] = {name: getattr(record, name) for name in (*SCALARS, *LISTS)}
    out["participations"] = [
        (p.organisation_id, p.role, p.start_date, p.end_date) for p in record.participations
    ]
    out["fundings"] = [
        (f.funder_id, f.instrument, f.amount_sek, f.start_date, f.end_date) for f in record.fundings
    ]
    for name in ("area_links", "indicator_links", "successions"):
        out[name] = getattr(record, name)
    return out


class RegistryService(PeopleAndLinks):
    """Reads and changes the registry on ``engine`` on behalf of ``actor`` (None: the public)."""

    # -- interventions: changes --

    def create_intervention(
        self, data: InterventionRecord | Mapping[str, Any]
    ) -> InterventionRecord:
        """Add an intervention with its links (a key is made when it has none). It is
        unpublished unless it says otherwise, which only admins may."""
        operation = "create interventions"
        self._require_writer(operation)
        record = check_record(data)
        if record.published:
            self._require_admin("create published interventions")
        with self._write("create intervention") as session:
            self._resolve(session, record)
            self._check_editor_scope(operation, None, record.participations)
            key = record.key if record.key is not None else new_key()
            taken = session.scalar(sa.select(Intervention.id).where(Intervention.key == key))
            if taken is not None:
                raise Conflict(f"intervention {taken} has the key {key!r} already")
            row = Intervention(key=key, published=record.published)
            values = {name: getattr(record, name) for name in (*SCALARS, *LISTS, *NESTED)}
            self._apply(session, row, values)
            session.add(row)
            session.flush()
            out = self._out(self._load(session, row.id))
            self._audit(session, "interventions", row.id, AuditAction.CREATE, None, out)
        return out

    def update_intervention(
        self, id: int, changes: Mapping[str, Any], expected_version: int
    ) -> InterventionRecord:
        """Change the fields named in ``changes``; a nested list given (participations,
        fundings, area links, indicator links, successions) replaces the stored one."""
        operation = f"update intervention {id}"
        self._require_writer(operation)
        values = check_changes(changes, what=f"intervention {id}")
        return self._change(id, expected_version, operation, values)

    def set_indicator_links(
        self,
        id: int,
        links: list[IndicatorLinkRecord] | list[dict[str, Any]],
        expected_version: int,
    ) -> InterventionRecord:
        """Replace the indicators the intervention aims to move (baseline, target, actual)."""
        return self.update_intervention(id, {"indicator_links": links}, expected_version)

    def end_intervention(
        self, id: int, actual_end: date | str, expected_version: int
    ) -> InterventionRecord:
        """Mark the intervention ended on ``actual_end``."""
        operation = f"end intervention {id}"
        self._require_writer(operation)
        end = _date(actual_end, "actual_end")
        if end is None:
            raise RegistryError("actual_end is required to end an intervention")
        return self._change(
            id, expected_version, operation, {"status": Status.ENDED, "actual_end": end}
        )

    def publish(self, id: int, expected_version: int) -> InterventionRecord:
        """Make the intervention public (admins only)."""
        operation = f"publish intervention {id}"
        self._require_admin(operation)
        return self._change(id, expected_version, operation, {"published": True})

    def unpublish(self, id: int, expected_version: int) -> InterventionRecord:
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
                before = self._out(row)
                session.delete(row)
                session.flush()
                self._audit(session, "interventions", id, AuditAction.DELETE, before, None)
        except StaleDataError:
            raise self._stale(id, expected_version) from None

    def save(
        self, data: InterventionRecord | Mapping[str, Any]
    ) -> tuple[InterventionRecord, Outcome]:
        """Add the record, or update the stored intervention with its key to it, or leave
        that alone when it equals the record already (no new version, no audit entry).

        The record's ``published`` is applied too (admins only). Returns the stored record
        and what happened: ``added``, ``updated`` or ``unchanged``.
        """
        record = check_record(data)
        if record.key is None:
            return self.create_intervention(record), "added"
        with self._read() as session:
            id = session.scalar(sa.select(Intervention.id).where(Intervention.key == record.key))
            if id is not None:
                self._resolve(session, record)
        if id is None:
            return self.create_intervention(record), "added"
        stored = self.get(id)
        assert stored.version is not None
        if _comparable(stored) == _comparable(record) and stored.published == record.published:
            return stored, "unchanged"
        out = stored
        if _comparable(stored) != _comparable(record):
            changes = {name: getattr(record, name) for name in (*SCALARS, *LISTS, *NESTED)}
            for name in ("key", "published"):
                del changes[name]
            out = self.update_intervention(id, changes, stored.version)
        if stored.published != record.published:
            assert out.version is not None
            change = self.publish if record.published else self.unpublish
            out = change(id, out.version)
        return out, "updated"

    def _change(
        self, id: int, expected_version: int, operation: str, values: dict[str, Any]
    ) -> InterventionRecord:
        try:
            with self._write(operation) as session:
                row = self._load(session, id)
                if "participations" in values or "fundings" in values:
                    self._resolve(
                        session,
                        InterventionRecord(
                            title="",
                            form=Form.PROJECT,
                            participations=values.get("participations", []),
                            fundings=values.get("fundings", []),
                        ),
                    )
                self._check_editor_scope(
                    operation, row.participations, values.get("participations")
                )
                if row.version != expected_version:
                    raise self._stale(id, expected_version, row.version)
                before = self._out(row)
                if "published" in values:
                    row.published = values["published"]
                self._apply(session, row, values)
                self._check_periods(row)
                # Touching the row makes every change, links included, bump the version
                # (and be checked against it) in the UPDATE.
                row.updated_at = utcnow()
                session.flush()
                session.expire(row)
                after = self._out(self._load(session, id))
                self._audit(session, "interventions", id, AuditAction.UPDATE, before, after)
        except StaleDataError:
            raise self._stale(id, expected_version) from None
        return after

    @staticmethod
    def _check_periods(row: Intervention) -> None:
        for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
            first, last = getattr(row, start), getattr(row, end)
            if first is not None and last is not None and last < first:
                raise RegistryError(f"{end} {last} is before {start} {first}")

    # -- interventions: reading --

    def id_of(self, key: str) -> int:
        """The id of the intervention with ``key`` (the public: published ones only)."""
        with self._read() as session:
            row = session.execute(
                sa.select(Intervention.id, Intervention.published).where(Intervention.key == key)
            ).one_or_none()
        if row is None or (self.actor is None and not row.published):
            raise NotFound(f"no intervention with key {key!r}")
        return int(row.id)

    def get(self, id: int) -> InterventionRecord:
        """One intervention (the public: published ones only, others are not found)."""
        with self._read() as session:
            return self._out(self._load(session, id))

    def list_interventions(
        self,
        kommun: str | None = None,
        form: Form | str | None = None,
        status: Status | str | None = None,
        text: str | None = None,
        published_only: bool | None = None,
        limit: int | None = 100,
        offset: int = 0,
        *,
        exclude_synthetic: bool = False,
    ) -> list[InterventionRecord]:
        """Interventions by id, filtered, with every link.

        ``kommun`` (four digits) matches interventions linked to that kommun or to any DeSO or
        RegSO in it (their codes start with the kommun code); ``text`` matches every word,
        case-insensitively, in title, description or theory of change. The public always sees
        published interventions only (and successions to them only); others see all unless
        ``published_only``. ``exclude_synthetic`` leaves out invented (demonstration)
        records. ``limit=None``: all of them.
        """
        if (limit is not None and limit < 0) or offset < 0:
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
            query = query.order_by(Intervention.id).offset(offset).options(*LOAD_ALL)
            if limit is not None:
                query = query.limit(limit)
            return [self._out(row) for row in session.scalars(query)]

    # -- evaluations --

    def add_evaluation(self, intervention_id: int, record: EvaluationRecord) -> EvaluationRecord:
        """Store what an evaluation of the intervention found, with the evidence level
        derived from it (:func:`~bryta.registry.evaluations.evidence_level`; a level given in
        ``record`` is ignored). Admins, or editors whose organisation is accountable or
        implementing in the intervention; audited. The intervention's version does not move:
        an evaluation is about the intervention, not a change of it."""
        operation = f"add an evaluation to intervention {intervention_id}"
        self._require_writer(operation)
        item = check_evaluation(record)
        with self._write(operation) as session:
            parent = self._load(session, intervention_id)
            self._check_editor_scope(operation, parent.participations, None)
            provenance = dict(item.provenance)
            provenance["rule"] = {
                "direction": item.direction,
                "meaningful": item.meaningful,
                "pre_trend": item.pre_trend,
            }
            row = Evaluation(
                intervention_id=intervention_id,
                design=Design(item.design),
                outcome=item.outcome,
                aggregation=item.aggregation,
                estimate=item.estimate,
                se=item.se,
                ci_low=item.ci_low,
                ci_high=item.ci_high,
                mde=item.mde,
                placebo_p=item.placebo_p,
                n_treated=item.n_treated,
                n_control=item.n_control,
                first_year=item.first_year,
                last_year=item.last_year,
                created_at=utcnow(),
                provenance=provenance,
                evidence_level=item.derived_level(),
            )
            session.add(row)
            session.flush()
            out = _evaluation_out(row)
            self._audit(session, "evaluations", row.id, AuditAction.CREATE, None, out)
        return out

    def evaluations(self, intervention_id: int) -> list[EvaluationRecord]:
        """The intervention's evaluations, oldest first (the public: of published
        interventions only; others are not found)."""
        with self._read() as session:
            self._load(session, intervention_id)
            rows = session.scalars(
                sa.select(Evaluation)
                .where(Evaluation.intervention_id == intervention_id)
                .order_by(Evaluation.id)
            )
            return [_evaluation_out(row) for row in rows]

    @staticmethod
    def _lower(session: Session) -> Any:
        """SQL lower-casing that folds non-ASCII letters too (SQLite's lower() folds ASCII only)."""
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            return sa.func.lower
        connection.connection.dbapi_connection.create_function(  # type: ignore[union-attr]
            "bryta_lower", 1, lambda s: None if s is None else s.lower(), deterministic=True
        )
        return sa.func.bryta_lower


def _evaluation_out(row: Evaluation) -> EvaluationRecord:
    provenance = dict(row.provenance or {})
    rule = provenance.pop("rule", None) or {}
    return EvaluationRecord(
        id=row.id,
        intervention_id=row.intervention_id,
        design=Design(row.design),
        outcome=row.outcome,
        aggregation=row.aggregation,
        estimate=row.estimate,
        se=row.se,
        ci_low=row.ci_low,
        ci_high=row.ci_high,
        mde=row.mde,
        placebo_p=row.placebo_p,
        n_treated=row.n_treated,
        n_control=row.n_control,
        first_year=row.first_year,
        last_year=row.last_year,
        created_at=_utc(row.created_at),
        provenance=provenance,
        direction=rule.get("direction"),
        meaningful=rule.get("meaningful"),
        pre_trend=rule.get("pre_trend"),
        evidence_level=EvidenceLevel(row.evidence_level),
    )
