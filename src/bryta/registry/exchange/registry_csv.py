"""The registry CSV (docs/registry_exchange.md).

One row per intervention, lists ``;``-separated, nested items ``|``-separated.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from datetime import date
from os import PathLike
from pathlib import Path
from typing import Any

from bryta.registry.records import (
    CSV_COLUMNS,
    LISTS,
    NESTED,
    NESTED_FIELDS,
    SCALARS,
    InterventionRecord,
)
from bryta.registry.validation import Problems, check_records


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace("|", "\\|")


def _split(text: str, separator: str) -> list[str]:
    """Split at unescaped ``separator``; other escapes stay for the next split level."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
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
    """Read and check a registry CSV (UTF-8, header :data:`CSV_COLUMNS`); every problem is
    reported at once, naming the record (counted from 1) and the field."""
    path = Path(path)
    problems = Problems(path.name)
    rows: list[Any] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            problems.add("header", "columns", "the file is empty")
            problems.raise_if_any()
            return []
        missing = [c for c in ("key", "title", "form", "status") if c not in header]
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if missing or unknown:
            message = f"missing columns {missing}, unknown columns {unknown}"
            problems.add("header", "columns", message)
            problems.raise_if_any()
        for values in reader:
            if not any(values):
                continue  # records, not file lines: a text field may span several lines
            if len(values) != len(header):
                rows.append(f"{len(values)} fields, the header has {len(header)}")
                continue
            d: dict[str, Any] = dict(zip(header, values, strict=True))
            for name in LISTS:
                d[name] = _csv_list(d.get(name, ""))
            for name in NESTED:
                d[name] = _csv_items(d.get(name, ""), NESTED_FIELDS[name])
            rows.append(d)
    return check_records(rows, source=path.name, strict=False)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return value.isoformat() if isinstance(value, date) else str(value)


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
            row = [_text(getattr(record, name)) for name in SCALARS]
            row += [";".join(_escape(str(v)) for v in getattr(record, n)) for n in LISTS]
            row += [_csv_join(getattr(record, n), NESTED_FIELDS[n]) for n in NESTED]
            writer.writerow(row)
