"""The registry JSON (docs/registry_exchange.md).

A list of objects, nested participations / funding / areas / successions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from os import PathLike
from pathlib import Path
from typing import Any

from bryta.registry.exchange._records import (
    _LISTS,
    _NESTED,
    _NESTED_FIELDS,
    _SCALARS,
    CSV_COLUMNS,
    InterventionRecord,
)
from bryta.registry.exchange._validation import (
    _finish,
    _Problems,
    _record,
    _Row,
    _Rows,
)


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
        where = f"record {index + 1}"
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
