"""The registry JSON (docs/registry_exchange.md).

A list of objects, one per intervention, with nested participations, fundings, area links,
indicator links and successions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from os import PathLike
from pathlib import Path
from typing import Any

from bryta.registry.records import LISTS, NESTED, NESTED_FIELDS, SCALARS, InterventionRecord
from bryta.registry.validation import Problems, check_records


def read_registry_json(path: str | PathLike[str]) -> list[InterventionRecord]:
    """Read and check a registry JSON file (a list with one object per intervention); every
    problem is reported at once, naming the record (counted from 1) and the field."""
    path = Path(path)
    problems = Problems(path.name)
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
    items = [
        item if isinstance(item, dict) else f"expected an object, got {type(item).__name__}"
        for item in data
    ]
    return check_records(items, source=path.name, strict=True)


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


def _as_json(record: InterventionRecord) -> dict[str, Any]:
    out = {name: _json_value(getattr(record, name)) for name in (*SCALARS, *LISTS)}
    for name in NESTED:
        out[name] = [
            {n: _json_value(getattr(item, n)) for n in NESTED_FIELDS[name]}
            for item in getattr(record, name)
        ]
    return out


def write_registry_json(records: Iterable[InterventionRecord], path: str | PathLike[str]) -> None:
    """Write ``records`` as registry JSON (UTF-8, indented, non-ASCII kept as is)."""
    text = json.dumps([_as_json(r) for r in records], ensure_ascii=False, indent=2)
    Path(path).write_text(text + "\n", encoding="utf-8")
