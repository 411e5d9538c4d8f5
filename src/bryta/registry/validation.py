"""The one check of intervention records: every problem collected, with record and field.

The registry CSV and JSON readers, ``programmes.csv`` and the service all check their input
here, so a problem reads the same wherever it is found::

    bad.csv: 2 problems, nothing imported
    bad.csv record 1, field form: 'projekt' is not one of project, permanent_operation, …
    bad.csv record 3, field area_links[0].area_code: area code '9999X001' is not a regso code …

and raise one :class:`RecordError` listing them all. ``strict`` (JSON and Python callers)
also checks the types (a number must be a number); the CSV reader passes text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

import polars as pl

from bryta.errors import ImportFormatError, InputError
from bryta.geography.codes import VERSIONS, code_pattern, validate_codes
from bryta.registry.records import (
    LISTS,
    NESTED,
    NESTED_FIELDS,
    NESTED_IDS,
    SCALARS,
    STORED,
    AreaLinkRecord,
    FundingRecord,
    IndicatorLinkRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
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
KEY_LENGTH = 200


class RegistryError(InputError):
    """A registry value or operation that breaks the data model (a bad area code, an unknown
    organisation, a change the database refuses)."""


class RecordError(ImportFormatError, RegistryError):
    """One or more intervention records break the data model; the message lists every
    problem (file or intervention, record, field)."""


def check_area_code(code: str, level: AreaLevel | str) -> None:
    """Raise :class:`RegistryError` unless ``code`` is a ``level`` code (any version).

    >>> check_area_code("0114A0010_DeSO2025", "deso")
    >>> check_area_code("0114", "deso")
    Traceback (most recent call last):
    ...
    bryta.registry.validation.RegistryError: area code '0114' is not a deso code ...
    """
    try:
        level = AreaLevel(level)
    except ValueError:
        allowed = ", ".join(AreaLevel)
        raise RegistryError(f"area level must be one of {allowed}, not {level!r}") from None
    versions = (None, *VERSIONS.get(level, ()))
    for version in versions:
        try:
            validate_codes(pl.Series("area_code", [code], dtype=pl.String), level, version=version)
            return
        except ImportFormatError:
            continue
    patterns = " or ".join(sorted({code_pattern(level, v) for v in versions}))
    raise RegistryError(f"area code {code!r} is not a {level} code (expected {patterns})")


class Problems:
    """Every problem found in one file or one call, raised together."""

    def __init__(self, source: str, outcome: str = "nothing imported") -> None:
        self.source, self.outcome = source, outcome
        self.items: list[str] = []

    def add(self, where: str, name: str, message: str) -> None:
        prefix = f"{self.source} " if self.source and where else self.source
        self.items.append(f"{prefix}{where}, field {name}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            n = len(self.items)
            head = f"{self.source or 'intervention'}: {n} problem{'s' if n > 1 else ''}, "
            raise RecordError("\n".join([head + self.outcome, *self.items]))


class Row:
    """Checks the fields of one record; ``strict`` also checks the types (JSON, Python)."""

    def __init__(self, problems: Problems, where: str, *, strict: bool) -> None:
        self.problems, self.where, self.strict = problems, where, strict
        self.start = len(problems.items)

    @property
    def ok(self) -> bool:
        return len(self.problems.items) == self.start

    def bad(self, name: str, message: str) -> None:
        self.problems.add(self.where, name, message)

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
        return str(value)

    def key(self, name: str, value: Any, *, required: bool) -> str | None:
        text = self.text(name, value, required=required)
        if text is not None and (text != text.strip() or len(text) > KEY_LENGTH):
            self.bad(name, f"{text!r} is not a key (1–{KEY_LENGTH} characters, no outer spaces)")
            return None
        return text

    def enum(self, name: str, kind: type[E], value: Any, *, required: bool = False) -> E | None:
        text = self.text(name, value, required=required)
        if text is None:
            return None
        try:
            return kind(text)
        except ValueError:
            self.bad(name, f"{text!r} is not one of {', '.join(kind)}")
            return None

    def date(self, name: str, value: Any) -> date | None:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        text = self.text(name, value)
        if text is None:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            self.bad(name, f"{text!r} is not a date YYYY-MM-DD")
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

    def identifier(self, name: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.bad(name, f"{value!r} is not an id")
        return None

    def number(self, name: str, value: Any) -> float | None:
        if self._blank(value):
            return None
        if isinstance(value, str) and not self.strict:
            with contextlib.suppress(ValueError):
                return float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        self.bad(name, f"{value!r} is not a number")
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
        """A list (or tuple) — absent or null is an empty list."""
        if value is None:
            return []
        if isinstance(value, str) or not isinstance(value, list | tuple):
            self.bad(name, f"expected a list, got {type(value).__name__}")
            return []
        return list(value)

    def enums(self, name: str, kind: type[E], values: Any) -> list[E]:
        items = self.items(name, values)
        out = [self.enum(f"{name}[{i}]", kind, v, required=True) for i, v in enumerate(items)]
        return [v for v in out if v is not None]

    def texts(self, name: str, values: Any) -> list[str]:
        items = self.items(name, values)
        out = [self.text(f"{name}[{i}]", v, required=True) for i, v in enumerate(items)]
        return [v for v in out if v is not None]

    def area(self, name: str, level: AreaLevel | None, code: str | None) -> None:
        if level is not None and code is not None:
            try:
                check_area_code(code, level)
            except RegistryError as error:
                self.bad(name, str(error))

    def period(self, name: str, start: dt.date | None, end: dt.date | None, end_name: str) -> None:
        if start is not None and end is not None and end < start:
            self.bad(name, f"{end_name} {end} is before {start}")


def as_mapping(item: Any) -> Any:
    """A record dataclass as a mapping of its fields (anything else as it is)."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    return item


def _organisation(
    r: Row, name: str, d: Mapping[str, Any], id_name: str, name_name: str, sector_name: str
) -> tuple[int | None, str | None, Sector | None]:
    """An organisation named by id or by name and sector (at least one of the two)."""
    id = r.identifier(f"{name}.{id_name}", d.get(id_name))
    text = r.text(f"{name}.{name_name}", d.get(name_name), required=id is None)
    sector = r.enum(f"{name}.{sector_name}", Sector, d.get(sector_name), required=id is None)
    return id, text, sector


def _participation(r: Row, name: str, d: Mapping[str, Any]) -> ParticipationRecord | None:
    id, organisation, sector = _organisation(
        r, name, d, "organisation_id", "organisation", "sector"
    )
    role = r.enum(f"{name}.role", Role, d.get("role"), required=True)
    level = r.enum(f"{name}.level", OrgLevel, d.get("level"))
    start = r.date(f"{name}.start_date", d.get("start_date"))
    end = r.date(f"{name}.end_date", d.get("end_date"))
    r.period(f"{name}.end_date", start, end, "end_date")
    if not r.ok or role is None:
        return None
    return ParticipationRecord(
        organisation_id=id,
        organisation=organisation,
        sector=sector,
        role=role,
        level=level,
        start_date=start,
        end_date=end,
    )


def _funding(r: Row, name: str, d: Mapping[str, Any]) -> FundingRecord | None:
    id, funder, sector = _organisation(r, name, d, "funder_id", "funder", "funder_sector")
    instrument = r.enum(f"{name}.instrument", Instrument, d.get("instrument"), required=True)
    amount = r.integer(f"{name}.amount_sek", d.get("amount_sek"), required=True)
    start = r.date(f"{name}.start_date", d.get("start_date"))
    end = r.date(f"{name}.end_date", d.get("end_date"))
    r.period(f"{name}.end_date", start, end, "end_date")
    row_id = r.identifier(f"{name}.id", d.get("id"))
    if not r.ok or instrument is None or amount is None:
        return None
    return FundingRecord(
        funder_id=id,
        funder=funder,
        funder_sector=sector,
        instrument=instrument,
        amount_sek=amount,
        start_date=start,
        end_date=end,
        id=row_id,
    )


def _area_link(r: Row, name: str, d: Mapping[str, Any]) -> AreaLinkRecord | None:
    level = r.enum(f"{name}.level", AreaLevel, d.get("level"), required=True)
    code = r.text(f"{name}.area_code", d.get("area_code"), required=True)
    r.area(f"{name}.area_code", level, code)
    share = r.share(f"{name}.share_of_effort", d.get("share_of_effort"))
    participants = r.integer(f"{name}.reach_participants", d.get("reach_participants"))
    reach = r.share(f"{name}.reach_share", d.get("reach_share"))
    if not r.ok or level is None or code is None:
        return None
    return AreaLinkRecord(
        level=level,
        area_code=code,
        share_of_effort=share,
        reach_participants=participants,
        reach_share=reach,
    )


def _indicator_link(r: Row, name: str, d: Mapping[str, Any]) -> IndicatorLinkRecord | None:
    indicator = r.text(f"{name}.indicator_id", d.get("indicator_id"), required=True)
    start = r.date(f"{name}.start_date", d.get("start_date"))
    end = r.date(f"{name}.end_date", d.get("end_date"))
    r.period(f"{name}.end_date", start, end, "end_date")
    values = {n: r.number(f"{name}.{n}", d.get(n)) for n in ("baseline", "target", "actual")}
    if not r.ok or indicator is None:
        return None
    return IndicatorLinkRecord(indicator_id=indicator, start_date=start, end_date=end, **values)


def _succession(r: Row, name: str, d: Mapping[str, Any]) -> SuccessionRecord | None:
    to = r.key(f"{name}.to", d.get("to"), required=True)
    kind = r.enum(f"{name}.kind", SuccessionKind, d.get("kind"), required=True)
    on = r.date(f"{name}.succeeded_on", d.get("succeeded_on"))
    if not r.ok or to is None or kind is None:
        return None
    return SuccessionRecord(to=to, kind=kind, succeeded_on=on)


_NESTED_PARSERS: dict[str, Callable[[Row, str, Mapping[str, Any]], Any]] = {
    "participations": _participation,
    "fundings": _funding,
    "area_links": _area_link,
    "indicator_links": _indicator_link,
    "successions": _succession,
}
_REQUIRED = ("title", "form")
_DEFAULTS = {f.name: f for f in dataclasses.fields(InterventionRecord)}


def _scalar(r: Row, name: str, value: Any, *, file: bool) -> Any:
    """The checked value of one field of an intervention (not a nested list)."""
    if name == "key":
        return r.key(name, value, required=file)
    if name == "title":
        return r.text(name, value, required=True)
    if name in ("description", "theory_of_change"):
        return r.text(name, value) or ""
    if name == "form":
        return r.enum(name, Form, value, required=True)
    if name == "status":
        return r.enum(name, Status, value, required=file) or Status.PLANNED
    if name == "prevention_level":
        return r.enum(name, PreventionLevel, value)
    if name == "evaluation_type":
        return r.enum(name, EvaluationType, value) or EvaluationType.NONE
    if name in ("evaluation_report_url", "reported_by", "verified_by"):
        return r.text(name, value)
    if name in ("published", "synthetic"):
        return r.boolean(name, value)
    if name in ("planned_start", "planned_end", "actual_start", "actual_end"):
        return r.date(name, value)
    if name == "age_bands":
        return r.enums(name, AgeBand, value)
    if name == "settings":
        return r.enums(name, Setting, value)
    if name == "outcome_domains":
        return r.enums(name, OutcomeDomain, value)
    if name in ("group_tags", "evidence_references"):
        return r.texts(name, value)
    raise AssertionError(name)  # pragma: no cover - every field is listed above


def _nested(r: Row, name: str, value: Any, *, file: bool) -> list[Any]:
    allowed = set(NESTED_FIELDS[name]) | (set() if file else set(NESTED_IDS[name]))
    parsed = []
    for i, item in enumerate(r.items(name, value)):
        item = as_mapping(item)
        if isinstance(item, str) and not r.strict:  # a CSV item split into too many parts
            r.bad(f"{name}[{i}]", f"{item!r} has more than {len(NESTED_FIELDS[name])} parts")
            continue
        if not isinstance(item, Mapping):
            r.bad(f"{name}[{i}]", f"expected an object, got {type(item).__name__}")
            continue
        unknown = sorted(set(item) - allowed)
        if unknown:
            r.bad(f"{name}[{i}]", f"unknown fields {', '.join(unknown)}")
        parsed.append(_NESTED_PARSERS[name](r, f"{name}[{i}]", item))
    return parsed


def check_fields(
    r: Row, data: Mapping[str, Any], *, file: bool, partial: bool = False
) -> dict[str, Any]:
    """The checked values of the fields in ``data`` (all of them unless ``partial``)."""
    allowed = {*SCALARS, *LISTS, *NESTED, *(() if file else STORED)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        r.bad("*", f"unknown fields {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name in (*SCALARS, *LISTS):
        if name in data or not partial:
            out[name] = _scalar(r, name, data.get(name), file=file)
    for name in NESTED:
        if name in data or not partial:
            out[name] = _nested(r, name, data.get(name), file=file)
    for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
        r.period(end, out.get(start), out.get(end), end)
    return out


def record_from(r: Row, data: Any, *, file: bool) -> InterventionRecord | None:
    """An :class:`InterventionRecord` from a mapping (or a record), or None after a problem."""
    data = as_mapping(data)
    if not isinstance(data, Mapping):
        r.bad("*", f"expected an object, got {type(data).__name__}")
        return None
    values = check_fields(r, data, file=file)
    if not r.ok:
        return None
    stored: dict[str, Any] = {name: data.get(name) for name in STORED if not file}
    return InterventionRecord(**values, **stored)


def check_keys(
    problems: Problems, rows: Sequence[tuple[str, Any, InterventionRecord | None]]
) -> None:
    """Duplicate keys (also of records with other problems) and successions to keys that are
    not in the file, or to the record itself."""
    first: dict[str, str] = {}
    for where, key, _ in rows:
        if not isinstance(key, str) or key == "":
            continue
        if key in first:
            problems.add(where, "key", f"{key!r} already used in {first[key]}")
        else:
            first[key] = where
    for where, _, record in rows:
        if record is None:
            continue
        for i, succession in enumerate(record.successions):
            if succession.to not in first:
                problems.add(where, f"successions[{i}].to", f"no intervention {succession.to!r}")
            elif succession.to == record.key:
                problems.add(where, f"successions[{i}].to", "an intervention cannot succeed itself")


def check_records(
    items: Iterable[Any], *, source: str, strict: bool = True
) -> list[InterventionRecord]:
    """Check a file's worth of records (mappings or records): keys required and unique,
    successions within the file. An item that is a string stands for a record the reader
    could not take apart (the string says why). Raises one :class:`RecordError` listing
    every problem."""
    problems = Problems(source)
    rows: list[tuple[str, Any, InterventionRecord | None]] = []
    for number, item in enumerate(items, start=1):
        where = f"record {number}"
        r = Row(problems, where, strict=strict)
        if isinstance(item, str):
            r.bad("*", item)
            rows.append((where, None, None))
            continue
        record = record_from(r, item, file=True)
        key = as_mapping(item).get("key") if isinstance(as_mapping(item), Mapping) else None
        rows.append((where, key, record))
    check_keys(problems, rows)
    problems.raise_if_any()
    return [record for _, _, record in rows if record is not None]


def check_record(data: Any, *, what: str = "intervention") -> InterventionRecord:
    """One record given to the service (a record or a mapping of its fields); the key may be
    missing (the service makes one). Raises :class:`RecordError` listing every problem."""
    problems = Problems(what, "nothing changed")
    r = Row(problems, "", strict=True)
    record = record_from(r, data, file=False)
    problems.raise_if_any()
    assert record is not None
    return record


def check_changes(changes: Any, *, what: str) -> dict[str, Any]:
    """The checked fields of an update (a mapping of field names to new values)."""
    problems = Problems(what, "nothing changed")
    r = Row(problems, "", strict=True)
    if not isinstance(changes, Mapping):
        r.bad("*", f"changes must be a mapping of field names to values, not {changes!r}")
        problems.raise_if_any()
    fixed = [name for name in ("key", "published", *STORED) if name in changes]
    for name in fixed:
        hint = {
            "key": "an intervention's key never changes",
            "published": "use publish or unpublish",
        }.get(name, "set by the registry")
        r.bad(name, f"cannot be changed ({hint})")
    values = check_fields(
        r, {k: v for k, v in changes.items() if k not in fixed}, file=False, partial=True
    )
    problems.raise_if_any()
    return values
