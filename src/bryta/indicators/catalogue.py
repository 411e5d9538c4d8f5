"""The indicator catalogue: a declarative TOML file of indicators and its strict loader.

Each entry of ``bryta/data/indicators.toml`` says what an indicator measures (domain, unit,
a plain-language definition, the age band), how to compute it from one statistics table
(a *selection* of value codes per variable for the numerator and the denominator, or for a
published value), which breakdowns the table offers (sex, birth region, background, age) and
at which levels (riket, län, kommun, RegSO, DeSO), and what of all this has been verified
and where. ``docs/indicators.md`` describes every field.

* :func:`catalogue` returns every bundled entry, :func:`indicator` one of them;
* :func:`load_catalogue` reads and validates another file (or TOML text);
* :func:`check_against_metadata` checks an entry against a table's metadata.

The loader is strict: an unknown key, a missing field, an unknown domain, unit, level or
breakdown, or a selection that is not a list of codes is a :class:`CatalogueError` naming
the entry and the field.

>>> entry = indicator("employment_rate_20_64")
>>> entry.domain, entry.source.table, entry.kind
('work', 'TAB6680', 'ratio')
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from bryta.indicators._reader import load_catalogue
from bryta.indicators.model import (
    BREAKDOWNS,
    DOMAINS,
    PROVIDERS,
    RATIO_UNITS,
    STATUSES,
    UNITS,
    Breakdown,
    CatalogueError,
    Definition,
    Indicator,
    IndicatorError,
    Source,
    Verification,
)
from bryta.ingest._pxweb_tables import TableMetadata

__all__ = [
    "BREAKDOWNS",
    "DOMAINS",
    "PROVIDERS",
    "RATIO_UNITS",
    "STATUSES",
    "UNITS",
    "Breakdown",
    "CatalogueError",
    "Definition",
    "Indicator",
    "IndicatorError",
    "Source",
    "Verification",
    "catalogue",
    "check_against_metadata",
    "indicator",
    "load_catalogue",
]


@cache
def _bundled() -> dict[str, Indicator]:
    return load_catalogue()


def catalogue() -> list[Indicator]:
    """Every indicator of the bundled catalogue, in file order (read on first use)."""
    return list(_bundled().values())


def indicator(id: str) -> Indicator:
    """The bundled indicator ``id``; an :class:`IndicatorError` lists the known ids."""
    entries = _bundled()
    if id not in entries:
        raise IndicatorError(f"no indicator {id!r} in the catalogue (known: {', '.join(entries)})")
    return entries[id]


# ---- checking an entry against a table ---------------------------------------------------------
def check_against_metadata(
    entry: Indicator, meta: TableMetadata, *, breakdowns: Sequence[str] | None = None
) -> None:
    """Raise :class:`IndicatorError` unless every variable and value code ``entry`` uses
    exists in ``meta``; the message lists each problem with the field that names it.

    ``breakdowns`` limits the breakdowns checked (default: all of the entry's). Variable codes
    match case-insensitively, value codes exactly.
    """
    problems: list[str] = []
    table = entry.source.table
    if meta.table_id and meta.table_id.lower() != table.lower():
        problems.append(f"source.table is {table}, but the metadata are of {meta.table_id}")
    variables = {v.code.lower(): v for v in meta.variables}

    def check(var: str, codes: tuple[str, ...], field: str) -> None:
        found = variables.get(var.lower())
        if found is None:
            have = ", ".join(v.code for v in meta.variables)
            problems.append(f"{field}: no variable {var!r} in the table (it has {have})")
            return
        missing = [c for c in codes if c not in found.values]
        if missing:
            shown = ", ".join(found.values[:10]) + (", …" if len(found.values) > 10 else "")
            problems.append(
                f"{field}: variable {found.code} has no value {', '.join(map(repr, missing))} "
                f"(it has {shown})"
            )

    for role, sel in entry.definition.selections.items():
        for var, codes in sel.items():
            check(var, codes, f"definition.{role}.{var}")
    for var, name in ((entry.source.region_variable, "region"), (entry.source.time_variable, "")):
        check(var, (), f"source.{name or 'time'}_variable")
    for name, b in entry.breakdowns.items():
        if breakdowns is not None and name not in breakdowns:
            continue
        check(b.variable, b.values, f"breakdowns.{name}")
    if problems:
        listed = "\n  ".join(problems)
        raise IndicatorError(
            f"indicator {entry.id!r} does not fit table {meta.table_id or table}:\n  {listed}"
        )
