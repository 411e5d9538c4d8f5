"""Registry exchange formats: plain records, the registry CSV and JSON, programmes.csv, a demo.

Pure on purpose: the readers parse and validate files into :class:`InterventionRecord` values,
the writers serialise them, and nothing touches the database — the service layer persists
records. The exceptions, at the end: :func:`import_records` (through the service, audited),
:func:`records_from_database` (for export) and :func:`load_into` (seeding and tests, no
audit). The formats and the mapping of the bundled ``programmes.csv`` are described in
``docs/registry_exchange.md``.

Every reader checks every row and raises one :class:`~bryta.errors.ImportFormatError` listing
every problem (file, row, field); it never returns part of a file.
"""

from __future__ import annotations

import calendar
import contextlib
import csv
import json
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

from bryta.errors import ImportFormatError
from bryta.store.registry.enums import (
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
from bryta.store.registry.models import RegistryError, check_area_code

E = TypeVar("E", bound=StrEnum)

# --------------------------------------------------------------------------------------------
# Records


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


# --------------------------------------------------------------------------------------------
# Validation: every problem collected, raised together


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


_NESTED_FIELDS = {
    "participations": _PARTICIPATION,
    "funding": _FUNDING,
    "areas": _AREA,
    "successions": _SUCCESSION,
}


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


# --------------------------------------------------------------------------------------------
# Registry CSV: one row per intervention, lists `;`-separated, nested items `|`-separated


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace("|", "\\|")


def _split(text: str, separator: str) -> list[str]:
    """Split at unescaped ``separator``; other escapes stay for the next split level."""
    parts, current, i = [], [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _csv_list(value: str) -> list[str]:
    return [] if value == "" else [_unescape(v) for v in _split(value, ";")]


def _csv_items(value: str, names: Sequence[str]) -> list[dict[str, Any] | str]:
    """``a|b|c;…`` as dicts of ``names`` (trailing parts optional); too many parts: the text."""
    out: list[dict[str, Any] | str] = []
    for item in [] if value == "" else _split(value, ";"):
        parts = [_unescape(p) for p in _split(item, "|")]
        out.append(dict(zip(names, parts, strict=False)) if len(parts) <= len(names) else item)
    return out


def read_registry_csv(path: str | PathLike[str]) -> list[InterventionRecord]:
    """Read and validate a registry CSV (UTF-8, header :data:`CSV_COLUMNS`)."""
    path = Path(path)
    problems = _Problems(path.name)
    rows: _Rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            problems.add("row 1", "header", "the file is empty")
            problems.raise_if_any()
        missing = [c for c in ("key", "title", "form", "status") if c not in header]
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if missing or unknown:
            problems.add("row 1", "header", f"missing columns {missing}, unknown columns {unknown}")
            problems.raise_if_any()
        line = reader.line_num + 1
        for values in reader:
            where = f"row {line}"
            line = reader.line_num + 1
            if not any(values):
                continue
            r = _Row(problems, where, strict=False)
            if len(values) != len(header):
                r.bad("*", f"{len(values)} fields, the header has {len(header)}")
                rows.append((where, dict(zip(header, values, strict=False)).get("key"), None))
                continue
            d = dict(zip(header, values, strict=True))
            for name in _LISTS:
                d[name] = _csv_list(d.get(name, ""))
            nested: dict[str, list[Any]] = {}
            for name, names in _NESTED_FIELDS.items():
                items = _csv_items(d.get(name, ""), names)
                for i, item in enumerate(items):
                    if isinstance(item, str):
                        r.bad(f"{name}[{i}]", f"{item!r} has more than {len(names)} parts")
                nested[name] = [item for item in items if isinstance(item, dict)]
            rows.append((where, d.get("key"), _record(r, d, nested)))
    return _finish(problems, rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if not isinstance(value, date) else value.isoformat()


def _csv_join(items: Iterable[Any], names: Sequence[str]) -> str:
    out = []
    for item in items:
        parts = [_escape(_text(getattr(item, n))) for n in names]
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()
        out.append("|".join(parts))
    return ";".join(out)


def write_registry_csv(records: Iterable[InterventionRecord], path: str | PathLike[str]) -> None:
    """Write ``records`` as a registry CSV (UTF-8, ``\\n`` line ends, header first)."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for record in records:
            row = [_text(getattr(record, name)) for name in _SCALARS]
            row += [";".join(_escape(str(v)) for v in getattr(record, n)) for n in _LISTS]
            row += [_csv_join(getattr(record, n), _NESTED_FIELDS[n]) for n in _NESTED]
            writer.writerow(row)


# --------------------------------------------------------------------------------------------
# Registry JSON: a list of objects, nested participations / funding / areas / successions


def read_registry_json(path: str | PathLike[str]) -> list[InterventionRecord]:
    """Read and validate a registry JSON file (a list with one object per intervention)."""
    path = Path(path)
    problems = _Problems(path.name)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        problems.add(f"line {error.lineno}", "*", f"not JSON: {error.msg}")
        problems.raise_if_any()
    if not isinstance(data, list):
        problems.add(
            "top level", "*", f"expected a list of interventions, got {type(data).__name__}"
        )
        problems.raise_if_any()
    rows: _Rows = []
    for index, item in enumerate(data):
        where = f"item {index}"
        r = _Row(problems, where, strict=True)
        if not isinstance(item, dict):
            r.bad("*", f"expected an object, got {type(item).__name__}")
            rows.append((where, None, None))
            continue
        unknown = sorted(set(item) - set(CSV_COLUMNS))
        if unknown:
            r.bad("*", f"unknown fields {', '.join(unknown)}")
        d = dict(item)
        for name in _LISTS:
            d[name] = r.items(name, item.get(name))
        nested = {name: r.items(name, item.get(name)) for name in _NESTED}
        record = _record(r, d, nested)
        rows.append((where, item.get("key"), record if r.ok else None))
    return _finish(problems, rows)


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def _as_json(record: InterventionRecord) -> dict[str, Any]:
    out = {name: _json_value(getattr(record, name)) for name in (*_SCALARS, *_LISTS)}
    for name in _NESTED:
        out[name] = [
            {n: _json_value(getattr(item, n)) for n in _NESTED_FIELDS[name]}
            for item in getattr(record, name)
        ]
    return out


def write_registry_json(records: Iterable[InterventionRecord], path: str | PathLike[str]) -> None:
    """Write ``records`` as registry JSON (UTF-8, indented, non-ASCII kept as is)."""
    text = json.dumps([_as_json(r) for r in records], ensure_ascii=False, indent=2)
    Path(path).write_text(text + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# The bundled programmes.csv (docs/registry_exchange.md § programmes.csv)

PROGRAMMES_FORMS = {
    "": Form.POLICY,
    "project": Form.PROJECT,
    "permanent_operation": Form.PERMANENT_OPERATION,
    "pilot": Form.PILOT,
    "grant_programme": Form.GRANT_PROGRAMME,
    "one_off": Form.ONE_OFF,
    # State–municipal agreements: time-limited national frameworks steering state money or
    # ordinary resources to named areas; closest to a grant programme (the source word is kept).
    "agreement": Form.GRANT_PROGRAMME,
}
PROGRAMMES_SECTORS = {"government": Sector.STATE_AGENCY, **{s.value: s for s in Sector}}
_PROGRAMMES_LEVELS = {"national": OrgLevel.NATIONAL, "municipal": OrgLevel.LOCAL}
_PROGRAMMES_DOMAINS = {"democracy": OutcomeDomain.DEMOCRACY_CIVIL_SOCIETY}
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def _period_day(text: str, *, end: bool) -> date | None:
    """``YYYY`` or ``YYYY-MM`` as its first day (a start) or its last day (an end)."""
    match = _PERIOD.match(text)
    if match is None:
        return None
    year, month = int(match[1]), int(match[2]) if match[2] else None
    if not end:
        return date(year, month or 1, 1)
    month = month or 12
    return date(year, month, calendar.monthrange(year, month)[1])


def read_programmes_csv(path: str | PathLike[str] | None = None) -> list[InterventionRecord]:
    """The programmes against segregation 1974–2025 (default: the bundled ``programmes.csv``).

    All rows, published, not synthetic; an empty form is :attr:`Form.POLICY`. The mapping of
    each column is in ``docs/registry_exchange.md``.
    """
    from bryta.ingest.scb_csv import regso_table

    if path is None:
        resource = files("bryta.data").joinpath("programmes", "programmes.csv")
        text, source = resource.read_text(encoding="utf-8"), "programmes.csv"
    else:
        text, source = Path(path).read_text(encoding="utf-8-sig"), Path(path).name
    regso = regso_table()
    kommun_codes = dict(zip(regso["kommun_name"], regso["kommun"], strict=True))
    problems = _Problems(source)
    rows: _Rows = []
    reader = csv.DictReader(text.splitlines(keepends=True))
    line = 2
    for raw in reader:
        where, line = f"row {line}", reader.line_num + 1
        r = _Row(problems, where, strict=False)
        form = PROGRAMMES_FORMS.get(raw["form"])
        if form is None:
            r.bad("form", f"{raw['form']!r} is not one of {', '.join(PROGRAMMES_FORMS)}")
        sector = PROGRAMMES_SECTORS.get(raw["lead_sector"])
        if sector is None:
            r.bad(
                "lead_sector",
                f"{raw['lead_sector']!r} is not one of {', '.join(PROGRAMMES_SECTORS)}",
            )
        dates = {}
        for name in ("planned_start", "planned_end", "actual_start", "actual_end"):
            dates[name] = _period_day(raw[name], end=name.endswith("end"))
            if raw[name] and dates[name] is None:
                r.bad(name, f"{raw[name]!r} is not YYYY or YYYY-MM")
        bands = raw["target_age_band"].split(";") if raw["target_age_band"] else []
        ages = list(AgeBand) if bands == ["all"] else r.enums("target_age_band", AgeBand, bands)
        domains = [_PROGRAMMES_DOMAINS.get(d, d) for d in raw["outcome_domains"].split(";") if d]
        kommuner = [k for k in raw["municipalities"].split(";") if k]
        areas = [
            AreaRecord(level=AreaLevel.KOMMUN, code=kommun_codes[k])
            for k in kommuner
            if k in kommun_codes
        ]
        for k in kommuner:
            if k not in kommun_codes:
                r.bad("municipalities", f"{k!r} is not a kommun name")
        in_kommuner = regso.filter(regso["kommun_name"].is_in(kommuner))
        unmatched = []
        for name in [a for a in raw["areas"].split(";") if a]:
            hits = in_kommuner.filter(in_kommuner["regso_name"] == name)["regso"].to_list()
            if len(hits) == 1:
                areas.append(AreaRecord(level=AreaLevel.REGSO, code=hits[0]))
            else:
                unmatched.append(name)
        notes = [
            ("English name", raw["name_en"]),
            ("Setting", raw["setting"]),
            ("Partners", raw["partner_organisations"]),
            ("Budget", raw["budget_sek"]),
            ("Funding source", raw["funding_source"]),
            ("Evaluation", raw["evaluation"]),
            ("Areas named in the source but not matched to one RegSO", "; ".join(unmatched)),
            ("Form in the source", raw["form"] if raw["form"] == "agreement" else ""),
        ]
        prevention = r.enum("prevention_level", PreventionLevel, raw["prevention_level"])
        domain_values = r.enums("outcome_domains", OutcomeDomain, domains)
        record = None
        if r.ok:
            record = InterventionRecord(
                key=raw["id"],
                title=raw["name_sv"],
                description="\n".join(f"{label}: {value}" for label, value in notes if value),
                form=form,
                status=Status.ENDED if dates["actual_end"] else Status.ACTIVE,
                **dates,
                age_bands=ages,
                prevention_level=prevention,
                outcome_domains=domain_values,
                evidence_references=[u for u in raw["source_urls"].split(";") if u],
                reported_by=f"bryta {source} (compiled from the public sources listed)",
                published=True,
                synthetic=False,
                participations=[
                    ParticipationRecord(
                        organisation=raw["lead_organisation"],
                        sector=sector,
                        role=Role.ACCOUNTABLE,
                        level=_PROGRAMMES_LEVELS.get(raw["level"]),
                    )
                ],
                areas=areas,
            )
        rows.append((where, raw["id"], record if r.ok else None))
    return _finish(problems, rows)


# --------------------------------------------------------------------------------------------
# A synthetic portfolio for the demo

STATE_AGENCIES = (
    "Arbetsförmedlingen",
    "Boverket",
    "Brottsförebyggande rådet",
    "Delegationen mot segregation",
    "Försäkringskassan",
    "Kriminalvården",
    "Polismyndigheten",
    "Skolinspektionen",
    "Skolverket",
    "Socialstyrelsen",
    "Säkerhetspolisen",
)
"""The eleven agencies of the first coordination meetings (docs/product.md)."""

SYNTHETIC_KOMMUNER = {
    "0180": 20,
    "1480": 18,
    "1280": 15,
    "0127": 8,
    "0181": 7,
    "0126": 6,
    "0380": 7,
    "1880": 7,
    "0580": 6,
    "1490": 6,
}
"""Kommun code → weight: Stockholm, Göteborg, Malmö, Botkyrka, Södertälje, Huddinge, Uppsala,
Örebro, Linköping, Borås."""

# (activity, age bands, prevention level, settings, outcome domains, weight)
_ACTIVITIES = (
    (
        "Utökade hembesök",
        ("prenatal", "0-5"),
        "selective",
        ("child_health_centre",),
        ("health",),
        2,
    ),
    ("Språkförskola", ("0-5",), "universal", ("preschool",), ("education",), 2),
    ("Läxhjälp", ("6-15",), "selective", ("compulsory_school",), ("education",), 4),
    ("Sommarskola", ("6-15",), "selective", ("compulsory_school",), ("education",), 2),
    ("Fritidsgård med mentorer", ("6-15", "16-19"), "selective", ("leisure",), ("safety",), 4),
    ("Avhopparverksamhet", ("16-19", "20-64"), "indicated", ("police_justice",), ("safety",), 3),
    ("Sommarjobb för unga", ("16-19",), "selective", ("labour_market",), ("work", "income"), 4),
    ("Jobbspår", ("20-64",), "indicated", ("labour_market",), ("work", "income"), 5),
    ("Trygghetsvandringar", ("20-64", "65+"), "reactive", ("police_justice",), ("safety",), 3),
    ("Områdespolis", ("16-19", "20-64"), "reactive", ("police_justice",), ("safety",), 3),
    (
        "Boendedialog och renovering",
        ("20-64", "65+"),
        "selective",
        ("housing_property",),
        ("housing", "democracy_civil_society"),
        2,
    ),
    ("Föräldraskapsstöd", ("0-5", "6-15"), "selective", ("social_services",), ("health",), 2),
    (
        "Samhällsorientering",
        ("20-64",),
        "selective",
        ("local_civil_society",),
        ("democracy_civil_society",),
        2,
    ),
    ("Digital vägledning", ("16-19", "20-64"), "universal", ("digital",), ("work",), 1),
    ("Gymnasiecoacher", ("16-19",), "indicated", ("upper_secondary",), ("education",), 2),
)
_FORMS = (
    ("project", 55),
    ("pilot", 10),
    ("one_off", 8),
    ("permanent_operation", 18),
    ("grant_programme", 7),
    ("policy", 1),
)
_PROJECT_MONTHS = ((6, 2), (10, 3), (12, 5), (18, 2), (24, 2), (36, 1))
_CIVIL_SOCIETY = (
    "Föreningen Framtidens Förort",
    "Idrottsalliansen",
    "Kvinnojouren Syd",
    "Läxhjälpsnätverket",
    "Fritidsforum Lokal",
    "Mentorföreningen",
)
_EVALUATIONS = (
    ("none", 60),
    ("follow_up", 25),
    ("process", 10),
    ("quasi_experimental", 4),
    ("randomised", 1),
)
_REFERENCE_DAY = date(2025, 1, 1)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _end_after(start: date, months: int) -> date:
    """The inclusive end of a period of ``months`` whole months from the first ``start``."""
    return _add_months(start, months) - timedelta(days=1)


def synthetic_portfolio(n: int = 300, seed: int = 0) -> list[InterventionRecord]:
    """``n`` invented interventions in ten kommuner's RegSO, deterministic for ``seed``.

    State agencies, municipalities, housing companies and civil society as accountable,
    implementing, funding and partner organisations; mostly short projects; every record has
    ``synthetic=True`` and a title starting ``[synthetic]``. Status is as of 2025-01-01.
    """
    from bryta.ingest.scb_csv import regso_table

    rng = random.Random(seed)
    regso = regso_table().filter(regso_table()["kommun"].is_in(list(SYNTHETIC_KOMMUNER)))
    areas_by_kommun: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, str] = {}
    for code, name, kommun, kommun_name in regso.select(
        "regso", "regso_name", "kommun", "kommun_name"
    ).iter_rows():
        areas_by_kommun.setdefault(kommun, []).append((code, name))
        names[kommun] = kommun_name
    records: list[InterventionRecord] = []
    kommun_of: list[str] = []
    for i in range(n):
        kommun = rng.choices(list(SYNTHETIC_KOMMUNER), list(SYNTHETIC_KOMMUNER.values()))[0]
        title, ages, prevention, settings, domains, _ = rng.choices(
            _ACTIVITIES, [a[-1] for a in _ACTIVITIES]
        )[0]
        form = Form(_pick(rng, _FORMS))
        start = date(rng.randint(2015, 2024), rng.randint(1, 12), 1)
        if form in (Form.PERMANENT_OPERATION, Form.POLICY):
            months = None if rng.random() < 0.85 else rng.randint(24, 96)
        elif form is Form.GRANT_PROGRAMME:
            months = rng.choice((12, 24, 36))
        else:
            months = _pick(rng, _PROJECT_MONTHS) if form is not Form.ONE_OFF else rng.randint(1, 3)
        planned_end = _end_after(start, months) if months else None
        actual_end = planned_end
        if planned_end and rng.random() < 0.15:  # some end early, some run over
            actual_end = _end_after(start, max(1, months + rng.choice((-6, -3, 3, 6))))
        status = Status.ACTIVE
        if start > _REFERENCE_DAY:
            status, actual_start, actual_end = Status.PLANNED, None, None
        else:
            actual_start = start
            if actual_end and actual_end < _REFERENCE_DAY:
                status = Status.ENDED
            elif actual_end:
                actual_end = None
        if status is Status.ACTIVE and rng.random() < 0.03:
            status, actual_end = Status.CANCELLED, _REFERENCE_DAY
        chosen = rng.sample(
            areas_by_kommun[kommun],
            k=min(rng.choice((1, 1, 1, 2, 3)), len(areas_by_kommun[kommun])),
        )
        shares = [round(1 / len(chosen), 3)] * len(chosen)
        areas = [
            AreaRecord(
                level=AreaLevel.REGSO,
                code=code,
                share_of_effort=share,
                reach_participants=rng.randint(10, 400),
            )
            for (code, _), share in zip(chosen, shares, strict=True)
        ]
        kommun_org = f"{names[kommun]} kommun"
        lead_kind = rng.choices(
            ("municipality", "state_agency", "civil_society", "housing_company"), (55, 20, 18, 7)
        )[0]
        if lead_kind == "state_agency":
            lead, lead_sector = rng.choice(STATE_AGENCIES), Sector.STATE_AGENCY
        elif lead_kind == "civil_society":
            lead, lead_sector = (
                f"{rng.choice(_CIVIL_SOCIETY)} {names[kommun]}",
                Sector.CIVIL_SOCIETY,
            )
        elif lead_kind == "housing_company":
            lead, lead_sector = f"Allmännyttan {names[kommun]} AB", Sector.HOUSING_COMPANY
        else:
            lead, lead_sector = kommun_org, Sector.MUNICIPALITY
        level = OrgLevel.NATIONAL if lead_sector is Sector.STATE_AGENCY else OrgLevel.LOCAL
        participations = [
            ParticipationRecord(
                organisation=lead, sector=lead_sector, role=Role.ACCOUNTABLE, level=level
            ),
            ParticipationRecord(
                organisation=lead, sector=lead_sector, role=Role.IMPLEMENTING, level=level
            ),
        ]
        if rng.random() < 0.35:  # a cross-sector partner
            partner = rng.choice(
                [
                    (kommun_org, Sector.MUNICIPALITY, OrgLevel.LOCAL),
                    (rng.choice(STATE_AGENCIES), Sector.STATE_AGENCY, OrgLevel.NATIONAL),
                    (
                        f"{rng.choice(_CIVIL_SOCIETY)} {names[kommun]}",
                        Sector.CIVIL_SOCIETY,
                        OrgLevel.LOCAL,
                    ),
                    (f"Allmännyttan {names[kommun]} AB", Sector.HOUSING_COMPANY, OrgLevel.LOCAL),
                ]
            )
            if partner[0] != lead:
                participations.append(
                    ParticipationRecord(
                        organisation=partner[0],
                        sector=partner[1],
                        role=Role.PARTNER,
                        level=partner[2],
                    )
                )
        yearly = rng.choice((200_000, 500_000, 1_000_000, 2_500_000, 5_000_000))
        funder, funder_sector, instrument = kommun_org, Sector.MUNICIPALITY, Instrument.CORE_BUDGET
        if form is not Form.PERMANENT_OPERATION and rng.random() < 0.6:
            funder, funder_sector, instrument = rng.choice(
                (
                    (
                        rng.choice(
                            (
                                "Delegationen mot segregation",
                                "Socialstyrelsen",
                                "Arbetsförmedlingen",
                            )
                        ),
                        Sector.STATE_AGENCY,
                        Instrument.TARGETED_STATE_GRANT,
                    ),
                    ("Svenska ESF-rådet", Sector.STATE_AGENCY, Instrument.EU),
                    ("Allmänna arvsfonden", Sector.STATE_AGENCY, Instrument.ARVSFONDEN),
                    ("Stiftelsen Framtidsfonden", Sector.CIVIL_SOCIETY, Instrument.FOUNDATION),
                )
            )
        funding_end = planned_end or _end_after(start, 12)
        funding = [
            FundingRecord(
                funder=funder,
                funder_sector=funder_sector,
                instrument=instrument,
                amount_sek=yearly * max(1, round(((funding_end - start).days) / 365)),
                start=start,
                end=funding_end,
            )
        ]
        if funder != lead:
            participations.append(
                ParticipationRecord(organisation=funder, sector=funder_sector, role=Role.FUNDING)
            )
        records.append(
            InterventionRecord(
                key=f"SYN-{seed}-{i + 1:04d}",
                title=f"[synthetic] {title} i {chosen[0][1]}",
                description="Invented for the bryta demo; not a real intervention.",
                form=form,
                status=status,
                planned_start=start,
                planned_end=planned_end,
                actual_start=actual_start,
                actual_end=actual_end,
                age_bands=[AgeBand(a) for a in ages],
                prevention_level=PreventionLevel(prevention),
                settings=[Setting(s) for s in settings],
                outcome_domains=[OutcomeDomain(d) for d in domains],
                evaluation_type=EvaluationType(_pick(rng, _EVALUATIONS)),
                reported_by=f"bryta synthetic_portfolio(seed={seed})",
                published=True,
                synthetic=True,
                participations=participations,
                funding=funding,
                areas=areas,
            )
        )
        kommun_of.append(kommun)
    _link_successions(rng, records, kommun_of)
    return records


def _link_successions(
    rng: random.Random, records: list[InterventionRecord], kommun_of: list[str]
) -> None:
    """About a fifth of ended projects go on as a later intervention in the same kommun."""
    taken: set[str] = set()
    for a, record in enumerate(records):
        if record.status is not Status.ENDED or record.form not in (Form.PROJECT, Form.PILOT):
            continue
        if rng.random() >= 0.2:
            continue
        end = record.actual_end
        for b, other in enumerate(records):
            start = other.actual_start or other.planned_start
            if (
                b == a
                or other.key in taken
                or kommun_of[b] != kommun_of[a]
                or start is None
                or not 0 <= (start - end).days <= 365
            ):
                continue
            permanent = other.form is Form.PERMANENT_OPERATION
            kind = SuccessionKind.INSTITUTIONALISED if permanent else SuccessionKind.CONTINUED
            record.successions.append(SuccessionRecord(to=other.key, kind=kind, succeeded_on=start))
            if permanent:
                record.status = Status.INSTITUTIONALISED
            taken.add(other.key)
            break


# --------------------------------------------------------------------------------------------
# Seeding


def load_into(session: Any, records: Sequence[InterventionRecord]) -> dict[str, Any]:
    """Add ``records`` to ``session`` as ORM rows; returns key → ``Intervention``.

    **For seeding and tests until the service layer is wired**: no access control, no audit
    entries. Organisations are matched by (name, sector) among those already in the database
    and those added here; evidence references are stored one per line. The caller commits.
    """
    import sqlalchemy as sa

    from bryta.store.registry.models import (
        AreaLink,
        Funding,
        Intervention,
        Organisation,
        Participation,
        Succession,
    )

    organisations: dict[tuple[str, Sector], Organisation] = {
        (o.name, o.sector): o for o in session.scalars(sa.select(Organisation))
    }

    def organisation(name: str, sector: Sector, level: OrgLevel | None) -> Organisation:
        if (name, sector) not in organisations:
            default = OrgLevel.NATIONAL if sector is Sector.STATE_AGENCY else OrgLevel.LOCAL
            organisations[name, sector] = Organisation(
                name=name, sector=sector, level=level or default
            )
            session.add(organisations[name, sector])
        return organisations[name, sector]

    out: dict[str, Intervention] = {}
    for record in records:
        row = Intervention(
            title=record.title,
            description=record.description,
            theory_of_change=record.theory_of_change,
            form=record.form,
            status=record.status,
            planned_start=record.planned_start,
            planned_end=record.planned_end,
            actual_start=record.actual_start,
            actual_end=record.actual_end,
            age_bands=[a.value for a in record.age_bands],
            group_tags=list(record.group_tags),
            prevention_level=record.prevention_level,
            settings=[s.value for s in record.settings],
            outcome_domains=[d.value for d in record.outcome_domains],
            evaluation_type=record.evaluation_type,
            evaluation_report_url=record.evaluation_report_url,
            evidence_reference="\n".join(record.evidence_references) or None,
            reported_by=record.reported_by,
            verified_by=record.verified_by,
            published=record.published,
            synthetic=record.synthetic,
        )
        row.participations = [
            Participation(
                organisation=organisation(p.organisation, p.sector, p.level),
                role=p.role,
                start_date=p.start,
                end_date=p.end,
            )
            for p in record.participations
        ]
        row.fundings = [
            Funding(
                funder=organisation(f.funder, f.funder_sector, None),
                instrument=f.instrument,
                amount_sek=f.amount_sek,
                start_date=f.start,
                end_date=f.end,
            )
            for f in record.funding
        ]
        row.area_links = [
            AreaLink(
                level=a.level,
                area_code=a.code,
                share_of_effort=a.share_of_effort,
                reach_participants=a.reach_participants,
                reach_share=a.reach_share,
            )
            for a in record.areas
        ]
        session.add(row)
        out[record.key] = row
    for record in records:
        for s in record.successions:
            session.add(
                Succession(
                    from_intervention=out[record.key],
                    to_intervention=out[s.to],
                    kind=s.kind,
                    succeeded_on=s.succeeded_on,
                )
            )
    session.flush()
    return out


# --------------------------------------------------------------------------------------------
# Import through the service layer, export from the database


def import_records(
    session: Any, engine: Any, records: Sequence[InterventionRecord]
) -> dict[str, int]:
    """Add ``records`` through ``RegistryService(engine, SYSTEM)`` in ``session``'s transaction.

    Every new organisation and intervention is created by the service (its checks, an audit
    entry each); a published record is then published through the service (a second, update,
    entry), and every funding and succession is added through the service too (an audit
    entry each). Nothing is committed here: the caller commits ``session`` or rolls it back,
    so a failure anywhere leaves the database as it was. Organisations are matched by
    (name, sector). Returns key → database id.
    """
    import sqlalchemy as sa

    from bryta.store.registry.models import Organisation
    from bryta.store.registry.service import (
        SYSTEM,
        AreaLinkData,
        FundingIn,
        InterventionIn,
        ParticipationData,
        RegistryService,
        SuccessionIn,
    )

    service = RegistryService(engine, SYSTEM, session=session)
    organisations: dict[tuple[str, Sector], int] = {
        (name, sector): id
        for id, name, sector in session.execute(
            sa.select(Organisation.id, Organisation.name, Organisation.sector)
        )
    }

    def organisation(name: str, sector: Sector, level: OrgLevel | None) -> int:
        if (name, sector) not in organisations:
            default = OrgLevel.NATIONAL if sector is Sector.STATE_AGENCY else OrgLevel.LOCAL
            out = service.create_organisation(
                {"name": name, "sector": sector, "level": level or default}
            )
            organisations[name, sector] = out.id
        return organisations[name, sector]

    ids: dict[str, int] = {}
    for record in records:
        participations = tuple(
            ParticipationData(
                organisation_id=organisation(p.organisation, p.sector, p.level),
                role=p.role,
                start_date=p.start,
                end_date=p.end,
            )
            for p in record.participations
        )
        funders = [organisation(f.funder, f.funder_sector, None) for f in record.funding]
        out = service.create_intervention(
            InterventionIn(
                title=record.title,
                form=record.form,
                status=record.status,
                description=record.description,
                theory_of_change=record.theory_of_change,
                planned_start=record.planned_start,
                planned_end=record.planned_end,
                actual_start=record.actual_start,
                actual_end=record.actual_end,
                age_bands=tuple(a.value for a in record.age_bands),
                group_tags=tuple(record.group_tags),
                prevention_level=record.prevention_level,
                settings=tuple(s.value for s in record.settings),
                outcome_domains=tuple(d.value for d in record.outcome_domains),
                evaluation_type=record.evaluation_type,
                evaluation_report_url=record.evaluation_report_url,
                evidence_reference="\n".join(record.evidence_references) or None,
                reported_by=record.reported_by,
                verified_by=record.verified_by,
                synthetic=record.synthetic,
                participations=participations,
                area_links=tuple(
                    AreaLinkData(
                        level=a.level,
                        area_code=a.code,
                        share_of_effort=a.share_of_effort,
                        reach_participants=a.reach_participants,
                        reach_share=a.reach_share,
                    )
                    for a in record.areas
                ),
            )
        )
        if record.published:
            out = service.publish(out.id, out.version)
        version = out.version
        for f, funder in zip(record.funding, funders, strict=True):
            service.add_funding(
                out.id,
                FundingIn(
                    funder_id=funder,
                    instrument=f.instrument,
                    amount_sek=f.amount_sek,
                    start_date=f.start,
                    end_date=f.end,
                ),
                version,
            )
            version += 1
        ids[record.key] = out.id
    for record in records:
        for s in record.successions:
            service.add_succession(
                SuccessionIn(
                    from_id=ids[record.key],
                    to_id=ids[s.to],
                    kind=s.kind,
                    succeeded_on=s.succeeded_on,
                )
            )
    try:
        session.flush()
    except sa.exc.IntegrityError as error:
        raise RegistryError(f"import failed: {error.orig}") from error
    return ids


def records_from_database(engine: Any, *, published_only: bool = False) -> list[InterventionRecord]:
    """Every intervention in the database (or the published ones) as records, by id.

    One query per table. ``key`` is the database id as text; a participation's ``level`` is
    its organisation's. With ``published_only``, successions to unpublished interventions are
    left out (the file could not be read back otherwise).
    """
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from bryta.store.registry.models import (
        AreaLink,
        Funding,
        Intervention,
        Organisation,
        Participation,
        Succession,
    )

    def grouped(session: Session, model: Any, column: str) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        for row in session.scalars(sa.select(model).order_by(model.id)):
            out.setdefault(getattr(row, column), []).append(row)
        return out

    with Session(engine) as session:
        query = sa.select(Intervention).order_by(Intervention.id)
        if published_only:
            query = query.where(Intervention.published.is_(True))
        interventions = list(session.scalars(query))
        organisations = {o.id: o for o in session.scalars(sa.select(Organisation))}
        participations = grouped(session, Participation, "intervention_id")
        fundings = grouped(session, Funding, "intervention_id")
        areas = grouped(session, AreaLink, "intervention_id")
        successions = grouped(session, Succession, "from_id")
        kept = {row.id for row in interventions}
        records = []
        for row in interventions:
            records.append(
                InterventionRecord(
                    key=str(row.id),
                    title=row.title,
                    form=Form(row.form),
                    status=Status(row.status),
                    description=row.description or "",
                    theory_of_change=row.theory_of_change or "",
                    planned_start=row.planned_start,
                    planned_end=row.planned_end,
                    actual_start=row.actual_start,
                    actual_end=row.actual_end,
                    age_bands=[AgeBand(a) for a in row.age_bands or ()],
                    group_tags=list(row.group_tags or ()),
                    prevention_level=(
                        None
                        if row.prevention_level is None
                        else PreventionLevel(row.prevention_level)
                    ),
                    settings=[Setting(s) for s in row.settings or ()],
                    outcome_domains=[OutcomeDomain(d) for d in row.outcome_domains or ()],
                    evaluation_type=EvaluationType(row.evaluation_type),
                    evaluation_report_url=row.evaluation_report_url,
                    evidence_references=(row.evidence_reference or "").split("\n")
                    if row.evidence_reference
                    else [],
                    reported_by=row.reported_by,
                    verified_by=row.verified_by,
                    published=bool(row.published),
                    synthetic=bool(row.synthetic),
                    participations=[
                        ParticipationRecord(
                            organisation=organisations[p.organisation_id].name,
                            sector=Sector(organisations[p.organisation_id].sector),
                            role=Role(p.role),
                            level=OrgLevel(organisations[p.organisation_id].level),
                            start=p.start_date,
                            end=p.end_date,
                        )
                        for p in participations.get(row.id, ())
                    ],
                    funding=[
                        FundingRecord(
                            funder=organisations[f.funder_id].name,
                            funder_sector=Sector(organisations[f.funder_id].sector),
                            instrument=Instrument(f.instrument),
                            amount_sek=f.amount_sek,
                            start=f.start_date,
                            end=f.end_date,
                        )
                        for f in fundings.get(row.id, ())
                    ],
                    areas=[
                        AreaRecord(
                            level=AreaLevel(a.level),
                            code=a.area_code,
                            share_of_effort=a.share_of_effort,
                            reach_participants=a.reach_participants,
                            reach_share=a.reach_share,
                        )
                        for a in areas.get(row.id, ())
                    ],
                    successions=[
                        SuccessionRecord(
                            to=str(s.to_id),
                            kind=SuccessionKind(s.kind),
                            succeeded_on=s.succeeded_on,
                        )
                        for s in successions.get(row.id, ())
                        if s.to_id in kept
                    ],
                )
            )
    return records
