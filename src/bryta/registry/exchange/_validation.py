"""Validation of parsed rows into records: every problem collected, raised together."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from bryta.errors import ImportFormatError
from bryta.registry.exchange._records import (
    _NESTED_FIELDS,
    AreaRecord,
    FundingRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
from bryta.registry.models import RegistryError, check_area_code
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

E = TypeVar("E", bound=StrEnum)


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, row: str, name: str, message: str) -> None:
        self.items.append(f"{self.source} {row}, field {name}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            n = len(self.items)
            head = f"{self.source}: {n} problem{'s' if n > 1 else ''}, nothing imported"
            raise ImportFormatError("\n".join([head, *self.items]))


class _Row:
    """Checks the fields of one row; ``strict`` (JSON) also checks the JSON types."""

    def __init__(self, problems: _Problems, row: str, *, strict: bool) -> None:
        self.problems, self.row, self.strict = problems, row, strict
        self.start = len(problems.items)

    @property
    def ok(self) -> bool:
        return len(self.problems.items) == self.start

    def bad(self, name: str, message: str) -> None:
        self.problems.add(self.row, name, message)

    def _blank(self, value: Any) -> bool:
        return value is None or (isinstance(value, str) and value == "" and not self.strict)

    def text(self, name: str, value: Any, *, required: bool = False) -> str | None:
        if self._blank(value) or (required and value == ""):
            if required:
                self.bad(name, "is required")
            return None
        if not isinstance(value, str):
            self.bad(name, f"expected a string, got {type(value).__name__}")
            return None
        return value

    def enum(self, name: str, kind: type[E], value: Any, *, required: bool = False) -> E | None:
        value = self.text(name, value, required=required)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            self.bad(name, f"{value!r} is not one of {', '.join(kind)}")
            return None

    def date(self, name: str, value: Any) -> date | None:
        value = self.text(name, value)
        if value is None:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.bad(name, f"{value!r} is not a date YYYY-MM-DD")
            return None

    def integer(self, name: str, value: Any, *, required: bool = False) -> int | None:
        if self._blank(value):
            if required:
                self.bad(name, "is required")
            return None
        if isinstance(value, str) and not self.strict and re.fullmatch(r"\d+", value.strip()):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.bad(name, f"{value!r} is not a whole number ≥ 0")
        return None

    def share(self, name: str, value: Any) -> float | None:
        if self._blank(value):
            return None
        number: float | None = None
        if isinstance(value, str) and not self.strict:
            with contextlib.suppress(ValueError):
                number = float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        if number is None or not 0 <= number <= 1:
            self.bad(name, f"{value!r} is not a share between 0 and 1")
            return None
        return number

    def boolean(self, name: str, value: Any) -> bool:
        if self._blank(value):
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and not self.strict and value in ("true", "false"):
            return value == "true"
        self.bad(name, f"{value!r} is not true or false")
        return False

    def items(self, name: str, value: Any) -> list[Any]:
        """A JSON list (strict) — absent or null is an empty list."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(name, f"expected a list, got {type(value).__name__}")
            return []
        return value

    def enums(self, name: str, kind: type[E], values: list[Any]) -> list[E]:
        out = [self.enum(f"{name}[{i}]", kind, v, required=True) for i, v in enumerate(values)]
        return [v for v in out if v is not None]

    def texts(self, name: str, values: list[Any]) -> list[str]:
        out = [self.text(f"{name}[{i}]", v, required=True) for i, v in enumerate(values)]
        return [v for v in out if v is not None]

    def area(self, name: str, level: AreaLevel | None, code: str | None) -> None:
        if level is not None and code is not None:
            try:
                check_area_code(code, level)
            except RegistryError as error:
                self.bad(name, str(error))


def _participation(r: _Row, name: str, d: dict[str, Any]) -> ParticipationRecord | None:
    values = dict(
        organisation=r.text(f"{name}.organisation", d.get("organisation"), required=True),
        sector=r.enum(f"{name}.sector", Sector, d.get("sector"), required=True),
        role=r.enum(f"{name}.role", Role, d.get("role"), required=True),
        level=r.enum(f"{name}.level", OrgLevel, d.get("level")),
        start=r.date(f"{name}.start", d.get("start")),
        end=r.date(f"{name}.end", d.get("end")),
    )
    return ParticipationRecord(**values) if r.ok else None


def _funding(r: _Row, name: str, d: dict[str, Any]) -> FundingRecord | None:
    values = dict(
        funder=r.text(f"{name}.funder", d.get("funder"), required=True),
        funder_sector=r.enum(
            f"{name}.funder_sector", Sector, d.get("funder_sector"), required=True
        ),
        instrument=r.enum(f"{name}.instrument", Instrument, d.get("instrument"), required=True),
        amount_sek=r.integer(f"{name}.amount_sek", d.get("amount_sek"), required=True),
        start=r.date(f"{name}.start", d.get("start")),
        end=r.date(f"{name}.end", d.get("end")),
    )
    return FundingRecord(**values) if r.ok else None


def _area(r: _Row, name: str, d: dict[str, Any]) -> AreaRecord | None:
    level = r.enum(f"{name}.level", AreaLevel, d.get("level"), required=True)
    code = r.text(f"{name}.code", d.get("code"), required=True)
    r.area(f"{name}.code", level, code)
    values = dict(
        level=level,
        code=code,
        share_of_effort=r.share(f"{name}.share_of_effort", d.get("share_of_effort")),
        reach_participants=r.integer(f"{name}.reach_participants", d.get("reach_participants")),
        reach_share=r.share(f"{name}.reach_share", d.get("reach_share")),
    )
    return AreaRecord(**values) if r.ok else None


def _succession(r: _Row, name: str, d: dict[str, Any]) -> SuccessionRecord | None:
    values = dict(
        to=r.text(f"{name}.to", d.get("to"), required=True),
        kind=r.enum(f"{name}.kind", SuccessionKind, d.get("kind"), required=True),
        succeeded_on=r.date(f"{name}.succeeded_on", d.get("succeeded_on")),
    )
    return SuccessionRecord(**values) if r.ok else None


_NESTED_PARSERS: dict[str, Callable[[_Row, str, dict[str, Any]], Any]] = {
    "participations": _participation,
    "funding": _funding,
    "areas": _area,
    "successions": _succession,
}


def _record(r: _Row, d: dict[str, Any], nested: dict[str, list[dict[str, Any]]]) -> Any:
    """An :class:`InterventionRecord` from one row's raw values, or None after a problem."""
    out: dict[str, Any] = dict(
        key=r.text("key", d.get("key"), required=True),
        title=r.text("title", d.get("title"), required=True),
        description=r.text("description", d.get("description")) or "",
        theory_of_change=r.text("theory_of_change", d.get("theory_of_change")) or "",
        form=r.enum("form", Form, d.get("form"), required=True),
        status=r.enum("status", Status, d.get("status"), required=True),
        prevention_level=r.enum("prevention_level", PreventionLevel, d.get("prevention_level")),
        evaluation_type=r.enum("evaluation_type", EvaluationType, d.get("evaluation_type"))
        or EvaluationType.NONE,
        evaluation_report_url=r.text("evaluation_report_url", d.get("evaluation_report_url")),
        reported_by=r.text("reported_by", d.get("reported_by")),
        verified_by=r.text("verified_by", d.get("verified_by")),
        published=r.boolean("published", d.get("published")),
        synthetic=r.boolean("synthetic", d.get("synthetic")),
        age_bands=r.enums("age_bands", AgeBand, d["age_bands"]),
        group_tags=r.texts("group_tags", d["group_tags"]),
        settings=r.enums("settings", Setting, d["settings"]),
        outcome_domains=r.enums("outcome_domains", OutcomeDomain, d["outcome_domains"]),
        evidence_references=r.texts("evidence_references", d["evidence_references"]),
    )
    for name in ("planned_start", "planned_end", "actual_start", "actual_end"):
        out[name] = r.date(name, d.get(name))
    for name, parse in _NESTED_PARSERS.items():
        parsed = []
        for i, item in enumerate(nested[name]):
            if not isinstance(item, dict):
                r.bad(f"{name}[{i}]", f"expected an object, got {type(item).__name__}")
                continue
            unknown = sorted(set(item) - set(_NESTED_FIELDS[name]))
            if unknown:
                r.bad(f"{name}[{i}]", f"unknown fields {', '.join(unknown)}")
            parsed.append(parse(r, f"{name}[{i}]", item))
        out[name] = parsed
    return InterventionRecord(**out) if r.ok else None


_Rows = list[tuple[str, Any, "InterventionRecord | None"]]
"""(where, the raw key, the record or None after a problem) per row."""


def _check_keys(problems: _Problems, rows: _Rows) -> None:
    """Duplicate keys (also of rows with other problems) and successions to absent keys."""
    first: dict[str, str] = {}
    for row, key, _ in rows:
        if not isinstance(key, str) or key == "":
            continue
        if key in first:
            problems.add(row, "key", f"{key!r} already used in {first[key]}")
        else:
            first[key] = row
    for row, _, record in rows:
        for i, succession in enumerate(record.successions if record else ()):
            if succession.to not in first:
                problems.add(row, f"successions[{i}].to", f"no intervention {succession.to!r}")
            elif succession.to == record.key:
                problems.add(row, f"successions[{i}].to", "an intervention cannot succeed itself")


def _finish(problems: _Problems, rows: _Rows) -> list[InterventionRecord]:
    _check_keys(problems, rows)
    problems.raise_if_any()
    return [record for _, _, record in rows]
