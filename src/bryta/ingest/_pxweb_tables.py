"""SCB PxWebApi tables: errors, metadata and selections (used by :mod:`bryta.ingest.pxweb`).

A selection maps each variable to codes, wildcards (``*``, ``?``), or expressions
(``TOP(n)``, ``BOTTOM(n)``, ``FROM(c)``, ``TO(c)``, ``RANGE(a,b)``); :func:`resolve_selection`
expands it against the table's metadata and :func:`split_selection` cuts it into requests under
the cell limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bryta.errors import InputError
from bryta.ingest._http import HttpSourceError

_TABLE_ID = re.compile(r"^[A-Za-z0-9_\-]+$")
_COUNT = re.compile(r"^(TOP|BOTTOM)\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$", re.IGNORECASE)
_SINGLE = re.compile(r"^(FROM|TO)\((.+)\)$", re.IGNORECASE)
_RANGE = re.compile(r"^RANGE\(([^,]+),([^,)]+)\)$", re.IGNORECASE)


# ---- errors ----------------------------------------------------------------------------------
class ScbApiError(HttpSourceError):
    """SCB's API refused a request, or could not be reached after the retries.

    ``table_id``, ``status`` (HTTP status, ``None`` when no answer came) and ``detail`` (SCB's
    own message) are kept as attributes; the message names all three.
    """

    def __init__(
        self,
        message: str,
        *,
        table_id: str | None = None,
        status: int | None = None,
        detail: str = "",
        url: str = "",
    ):
        super().__init__(message, status=status, detail=detail, url=url)
        self.table_id = table_id


class ScbSelectionError(InputError, ScbApiError):
    """A selection that does not fit the table's metadata (found before any data call)."""


# ---- metadata --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Codelist:
    """An alternative value set (``vs_…``) or aggregation (``agg_…``) for a variable."""

    id: str
    label: str
    type: str = ""


@dataclass(frozen=True)
class Variable:
    """One variable (JSON-stat dimension) of a table, values in SCB's order."""

    code: str
    label: str
    values: tuple[str, ...]
    value_labels: Mapping[str, str]
    role: str | None = None  # "time", "geo", "metric" or None
    eliminable: bool = False
    elimination_value: str | None = None
    codelists: tuple[Codelist, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableMetadata:
    """A table's description, parsed from the JSON-stat 2.0 metadata response."""

    table_id: str
    label: str
    variables: tuple[Variable, ...]
    source: str = ""
    updated: str = ""
    notes: tuple[str, ...] = ()
    official_statistics: bool | None = None

    @classmethod
    def from_jsonstat(cls, doc: Mapping[str, Any], table_id: str = "") -> TableMetadata:
        """Parse ``GET /tables/{id}/metadata`` (JSON-stat 2.0 with SCB's ``extension``)."""
        roles: dict[str, str] = {}
        for role in ("metric", "geo", "time"):  # later roles win: time > geo > metric
            for code in (doc.get("role") or {}).get(role) or []:
                roles[code] = role
        variables = []
        for code in doc.get("id") or []:
            dim = doc["dimension"][code]
            category = dim.get("category") or {}
            index = category.get("index") or {}
            values = (
                tuple(sorted(index, key=index.__getitem__))
                if isinstance(index, dict)
                else tuple(index)
            )
            ext = dim.get("extension") or {}
            lists = ext.get("codelists") or ext.get("codeLists") or []
            variables.append(
                Variable(
                    code=code,
                    label=dim.get("label", code),
                    values=values,
                    value_labels=dict(category.get("label") or {}),
                    role=roles.get(code),
                    eliminable=bool(ext.get("elimination", False)),
                    elimination_value=ext.get("eliminationValueCode"),
                    codelists=tuple(
                        Codelist(c["id"], c.get("label", ""), c.get("type", "")) for c in lists
                    ),
                    notes=tuple(dim.get("note") or ()),
                )
            )
        px = (doc.get("extension") or {}).get("px") or {}
        return cls(
            table_id=table_id or px.get("tableid", ""),
            label=doc.get("label", ""),
            variables=tuple(variables),
            source=doc.get("source", ""),
            updated=doc.get("updated", ""),
            notes=tuple(doc.get("note") or ()),
            official_statistics=px.get("official-statistics"),
        )

    def variable(self, code: str) -> Variable:
        """The variable with this code (case-insensitive, as SCB matches it)."""
        for var in self.variables:
            if var.code.lower() == code.lower():
                return var
        names = ", ".join(f"{v.code} ({v.label})" for v in self.variables)
        raise ScbSelectionError(
            f"SCB table {self.table_id}: no variable {code!r}; the table has {names}",
            table_id=self.table_id,
        )

    @property
    def time(self) -> Variable | None:
        """The time variable (JSON-stat role ``time``), if the table has one."""
        return next((v for v in self.variables if v.role == "time"), None)

    @property
    def geo(self) -> tuple[Variable, ...]:
        """The geographical variables (JSON-stat role ``geo``)."""
        return tuple(v for v in self.variables if v.role == "geo")


def _match(var: Variable, item: str, table_id: str) -> list[str]:
    """The codes of ``var`` one value code or selection expression stands for."""
    codes = var.values
    n = len(codes)

    def index_of(code: str) -> int:
        for i, c in enumerate(codes):
            if c.lower() == code.strip().lower():
                return i
        raise ScbSelectionError(
            f"SCB table {table_id}: {item!r} names value {code.strip()!r}, which variable "
            f"{var.code} does not have (first values: {', '.join(codes[:8])})",
            table_id=table_id,
        )

    if m := _COUNT.match(item):
        count, offset = int(m.group(2)), int(m.group(3) or 0)
        if count < 1:
            raise ScbSelectionError(
                f"SCB table {table_id}: {item!r}: the count must be at least 1", table_id=table_id
            )
        first = (m.group(1).upper() == "TOP") != (var.role == "time")
        return list(codes[offset : offset + count] if first else codes[: n - offset][-count:])
    if m := _SINGLE.match(item):
        i = index_of(m.group(2))
        return list(codes[i:] if m.group(1).upper() == "FROM" else codes[: i + 1])
    if m := _RANGE.match(item):
        i, j = sorted((index_of(m.group(1)), index_of(m.group(2))))
        return list(codes[i : j + 1])
    if "*" in item:
        stars = item.count("*")
        inner = item.strip("*").lower()
        if item != "*" and (
            stars > 2
            or (stars == 1 and not (item.startswith("*") or item.endswith("*")))
            or (stars == 2 and not (item.startswith("*") and item.endswith("*")))
        ):
            raise ScbSelectionError(
                f"SCB table {table_id}: wildcard {item!r} for {var.code}: '*' may only stand "
                "at the start and/or the end",
                table_id=table_id,
            )
        if item == "*":
            return list(codes)
        if item.startswith("*") and item.endswith("*"):
            return [c for c in codes if inner in c.lower()]
        if item.startswith("*"):
            return [c for c in codes if c.lower().endswith(inner)]
        return [c for c in codes if c.lower().startswith(inner)]
    if "?" in item:
        pattern = re.compile(re.escape(item).replace(r"\?", "."), re.IGNORECASE)
        return [c for c in codes if pattern.fullmatch(c)]
    return [codes[index_of(item)]]


def resolve_selection(
    meta: TableMetadata, selection: Mapping[str, str | Sequence[str]] | None
) -> dict[str, list[str]]:
    """Explicit value codes per variable, in metadata order, for a selection.

    ``selection`` maps variable codes (any case) to a code, an expression or a list of them;
    ``None`` selects every value of every variable. Variables left out are eliminated, which
    SCB only allows for variables whose metadata say ``elimination: true``.

    >>> meta = TableMetadata("T1", "demo", (
    ...     Variable("Kon", "kön", ("1", "2"), {}, eliminable=True),
    ...     Variable("Tid", "år", ("2022", "2023", "2024"), {}, role="time")))
    >>> resolve_selection(meta, {"tid": "TOP(2)"})
    {'Tid': ['2023', '2024']}
    """
    table_id = meta.table_id
    given: dict[str, str | Sequence[str]] = {}
    if selection is None:
        given = {v.code: "*" for v in meta.variables}
    else:
        for code, spec in selection.items():
            given[meta.variable(code).code] = spec
    resolved: dict[str, list[str]] = {}
    for var in meta.variables:
        if var.code not in given:
            if not var.eliminable:
                raise ScbSelectionError(
                    f"SCB table {table_id}: variable {var.code} ({var.label}) cannot be left "
                    "out (SCB does not allow eliminating it); select values, e.g. '*'",
                    table_id=table_id,
                )
            continue
        spec = given[var.code]
        items = [spec] if isinstance(spec, str) else list(spec)
        if not items:
            raise ScbSelectionError(
                f"SCB table {table_id}: no values selected for {var.code}", table_id=table_id
            )
        chosen: set[str] = set()
        for item in items:
            found = _match(var, str(item).strip(), table_id)
            if not found:
                raise ScbSelectionError(
                    f"SCB table {table_id}: {item!r} matches no value of {var.code} "
                    f"(first values: {', '.join(var.values[:8])})",
                    table_id=table_id,
                )
            chosen.update(found)
        resolved[var.code] = [c for c in var.values if c in chosen]
    if not resolved:
        raise ScbSelectionError(
            f"SCB table {table_id}: the selection eliminates every variable; select at least one",
            table_id=table_id,
        )
    return resolved


def split_selection(
    selection: Mapping[str, list[str]], max_cells: int, prefer: Sequence[str] = ()
) -> list[dict[str, list[str]]]:
    """Split a resolved selection into parts of at most ``max_cells`` cells each.

    The variable with the most values is split (ties go to the first in ``prefer``, then to
    the first in ``selection``) into near-equal chunks; when one value of it still makes too
    many cells, each value is split further along the next-largest variable.

    >>> parts = split_selection({"Region": list("abcde"), "Tid": ["1", "2"]}, 4)
    >>> [p["Region"] for p in parts]
    [['a', 'b'], ['c', 'd'], ['e']]
    """
    if max_cells < 1:
        raise InputError("max_cells must be at least 1")
    total = math.prod(len(v) for v in selection.values())
    if total <= max_cells:
        return [dict(selection)]
    order = [c for c in prefer if c in selection] + [c for c in selection if c not in prefer]
    code = max(order, key=lambda c: len(selection[c]))  # first maximal: the preferred one
    values = selection[code]
    rest = total // len(values)
    if rest > max_cells:
        return [
            part
            for value in values
            for part in split_selection({**selection, code: [value]}, max_cells, prefer)
        ]
    chunks = math.ceil(len(values) / (max_cells // rest))
    size = math.ceil(len(values) / chunks)
    return [{**selection, code: values[i : i + size]} for i in range(0, len(values), size)]
