"""Load an indicator: fetch (or import) its table, compute the values, store them.

:func:`load_indicator` builds the PxWebApi selection from the catalogue entry (the union of
the codes its numerator and denominator select, the region codes of one level, the years),
fetches it with a :class:`~bryta.ingest.pxweb.PxWebClient`, and computes per area, year and
breakdown group::

    numerator   = sum of the cells the numerator selects
    denominator = sum of the cells the denominator selects
    value       = 100 · numerator / denominator   (unit percent; ratio: without the 100)

or, for an entry with a ``value`` selection, the selected value itself (numerator and
denominator are then null). A sum over a cell SCB marks missing (``..``) is missing; so is a
ratio with a zero denominator. :func:`indicator_from_jsonstat` computes the same frame from a
JSON-stat 2.0 file downloaded from Statistikdatabasen, with no network.

The result is long: ``area, level, year, [breakdown columns], numerator, denominator, value``.
Area codes are SCB's, kept as they are: 2025 RegSO and DeSO codes keep their
``_RegSO2025``/``_DeSO2025`` suffix, as :mod:`bryta.geography.codes` reads them, so they are never
mistaken for the 2020/2018 areas of the same code. With a warehouse the frame is stored as
dataset ``indicator_<id>`` (kind ``indicator``) with its provenance, in one transaction and only
after everything was fetched and computed: a failure stores nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from bryta.geography.codes import LEVELS, VERSIONS, code_pattern
from bryta.indicators.catalogue import (
    Breakdown,
    Indicator,
    IndicatorError,
    check_against_metadata,
    indicator,
)
from bryta.ingest._pxweb_tables import TableMetadata
from bryta.ingest.jsonstat import jsonstat_provenance, read_jsonstat
from bryta.ingest.provenance import query_text
from bryta.ingest.pxweb import LICENCE, PxWebClient
from bryta.warehouse import Warehouse

__all__ = ["FILE_SOURCE", "indicator_from_jsonstat", "load_indicator", "stored_indicators"]

_PREFIX = "indicator_"
#: columns of a stored indicator that are not breakdowns
_STORED = ("area", "level", "year", "numerator", "denominator", "value")

#: The provenance source of indicators imported from a downloaded JSON-stat file.
FILE_SOURCE = "SCB Statistikdatabasen (JSON-stat file)"


def load_indicator(
    id: str | Indicator,
    *,
    client: PxWebClient,
    warehouse: Warehouse | None = None,
    level: str,
    years: Sequence[int | str] | None = None,
    breakdown: str | Sequence[str] | None = None,
    version: str | None = None,
    replace: bool = False,
) -> pl.DataFrame:
    """Fetch indicator ``id`` for every area of ``level`` and ``years`` (None: all years).

    ``breakdown`` names one or more of the entry's breakdowns (``"sex"``, ``"age"``, …); each
    becomes a column of group codes. ``version`` picks the division of RegSO (``2020``,
    ``2025``) or DeSO (``2018``, ``2025``) when the table has several; by default the newest
    the table has. With ``warehouse`` the frame is stored as ``indicator_<id>`` (``replace``
    an existing one explicitly). Before any data call the entry is checked against the table's
    metadata (:func:`~bryta.indicators.check_against_metadata`).
    """
    entry = id if isinstance(id, Indicator) else indicator(id)
    if entry.source.provider != "scb":
        raise IndicatorError(
            f"indicator {entry.id!r}: loading from {entry.source.provider!r} is not supported "
            "yet (only scb); import the values with `bryta import kolada` instead"
        )
    _check_level(entry, level)
    groups = _breakdowns(entry, breakdown)
    src = entry.source
    meta = client.metadata(src.table)
    check_against_metadata(entry, meta, breakdowns=[b.name for b in groups])
    regions, chosen = _regions_of_level(entry, meta, level, version)
    selection: dict[str, Any] = {src.region_variable: regions}
    selection.update(_codes_to_fetch(entry, groups))
    selection[src.time_variable] = [str(y) for y in years] if years is not None else "*"
    result = client.fetch(src.table, selection)
    frame = _compute(entry, result.frame, groups, {code: level for code in regions})
    if warehouse is not None:
        prov = result.provenance
        query = _query(entry, level, chosen, years, groups) | {"scb": prov.query_data}
        provenance = dataclasses.replace(prov, query=query_text(query))
        warehouse.put(
            entry.dataset, frame, kind="indicator", provenance=provenance, replace=replace
        )
    return frame


def indicator_from_jsonstat(
    id: str | Indicator,
    path: str | os.PathLike[str],
    *,
    level: str | None = None,
    years: Sequence[int | str] | None = None,
    breakdown: str | Sequence[str] | None = None,
    warehouse: Warehouse | None = None,
    replace: bool = False,
) -> pl.DataFrame:
    """Compute indicator ``id`` from a JSON-stat 2.0 file of its table (no network).

    The file is a PxWebApi answer saved with ``outputFormat=json-stat2`` (or a download in
    that format). It must hold every code the entry selects; variables the entry does not
    select must have been eliminated. Areas of every level in the file are kept unless
    ``level`` picks one; ``years`` filters the years. Provenance records the file's name and
    SHA-256.
    """
    entry = id if isinstance(id, Indicator) else indicator(id)
    if level is not None:
        _check_level(entry, level)
    groups = _breakdowns(entry, breakdown)
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IndicatorError(f"{path}: cannot read the file ({exc})") from exc
    frame = read_jsonstat(raw, name=str(path))
    meta = TableMetadata.from_jsonstat(json.loads(raw.decode("utf-8-sig")))
    check_against_metadata(entry, meta, breakdowns=[b.name for b in groups])
    src = entry.source
    region, time = meta.variable(src.region_variable).code, meta.variable(src.time_variable).code
    frame = frame.rename({region: src.region_variable, time: src.time_variable})
    if years is not None:
        wanted = [str(y) for y in years]
        frame = frame.filter(pl.col(src.time_variable).is_in(wanted))
    levels = _levels_of(frame.get_column(src.region_variable), str(path))
    if level is not None:
        levels = {code: lv for code, lv in levels.items() if lv == level}
    if not levels or frame.is_empty():
        raise IndicatorError(
            f"{path}: no rows for indicator {entry.id!r}"
            + (f" at level {level}" if level else "")
            + (f" in years {', '.join(map(str, years))}" if years is not None else "")
        )
    frame = frame.filter(pl.col(src.region_variable).is_in(list(levels)))
    result = _compute(entry, frame, groups, levels)
    if warehouse is not None:
        provenance = jsonstat_provenance(
            path,
            data=raw,
            source=FILE_SOURCE,
            licence=LICENCE,
            table_id=meta.table_id or src.table,
            query=query_text(_query(entry, level, None, years, groups)),
        )
        warehouse.put(
            entry.dataset, result, kind="indicator", provenance=provenance, replace=replace
        )
    return result


# ---- the pieces --------------------------------------------------------------------------------
def _check_level(entry: Indicator, level: str) -> None:
    if level not in LEVELS:
        raise IndicatorError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if level not in entry.levels:
        raise IndicatorError(
            f"indicator {entry.id!r} is not available per {level} "
            f"(levels: {', '.join(entry.levels)})"
        )


def _breakdowns(entry: Indicator, breakdown: str | Sequence[str] | None) -> list[Breakdown]:
    names = [breakdown] if isinstance(breakdown, str) else list(breakdown or [])
    groups = []
    for name in names:
        if name not in entry.breakdowns:
            offered = ", ".join(entry.breakdowns) or "none"
            raise IndicatorError(
                f"indicator {entry.id!r} has no breakdown {name!r} (breakdowns: {offered})"
            )
        groups.append(entry.breakdowns[name])
    if len({b.variable for b in groups}) != len(groups):
        raise IndicatorError(f"indicator {entry.id!r}: breakdowns {names} use the same variable")
    return groups


def _effective(
    selection: dict[str, tuple[str, ...]], groups: list[Breakdown]
) -> dict[str, tuple[str, ...]]:
    """A selection with each breakdown variable's codes replaced by the groups' codes."""
    out = dict(selection)
    for b in groups:
        out[b.variable] = b.values
    return out


def _codes_to_fetch(entry: Indicator, groups: list[Breakdown]) -> dict[str, list[str]]:
    """The codes of the whole area (the entry's own selections) and of every group."""
    union: dict[str, list[str]] = {}
    for sel in entry.definition.selections.values():
        for chosen in (dict(sel), _effective(dict(sel), groups)):
            for var, codes in chosen.items():
                union.setdefault(var, [])
                union[var] += [c for c in codes if c not in union[var]]
    return union


def _regions_of_level(
    entry: Indicator, meta: TableMetadata, level: str, version: str | None
) -> tuple[list[str], str | None]:
    """The table's region codes of ``level`` in ``version`` (default: the newest present)."""
    codes = pl.Series(meta.variable(entry.source.region_variable).values, dtype=pl.String)
    if version is not None:
        candidates: list[str | None] = [version]
    else:
        candidates = [*sorted(VERSIONS.get(level, ()), reverse=True)] or [None]
    for candidate in candidates:
        try:
            pattern = code_pattern(level, candidate)
        except ValueError as exc:
            raise IndicatorError(f"indicator {entry.id!r}: {exc}") from None
        found = codes.filter(codes.str.contains(pattern)).to_list()
        if found:
            return found, candidate
    which = f" (version {version})" if version else ""
    raise IndicatorError(
        f"SCB table {entry.source.table} has no {level} codes{which} in variable "
        f"{entry.source.region_variable} (first codes: {', '.join(codes.head(6).to_list())})"
    )


def _levels_of(codes: pl.Series, where: str) -> dict[str, str]:
    """Each distinct code's level (any version); codes of no level are an error."""
    found: dict[str, str] = {}
    distinct = codes.cast(pl.String).unique(maintain_order=True)
    for level in LEVELS:
        for version in (None, *VERSIONS.get(level, ())):
            hit = distinct.filter(distinct.str.contains(code_pattern(level, version)))
            found.update(dict.fromkeys(hit.to_list(), level))
    unknown = [c for c in distinct.to_list() if c not in found]
    if unknown:
        raise IndicatorError(
            f"{where}: {len(unknown)} region code(s) of no known level: {unknown[:10]}"
        )
    return found


def _sum(frame: pl.DataFrame, keys: list[str], name: str) -> pl.DataFrame:
    """Sum of ``value`` per group; missing when any summed cell is missing."""
    return frame.group_by(keys, maintain_order=True).agg(
        pl.when(pl.col("value").null_count() == 0)
        .then(pl.col("value").sum())
        .otherwise(None)
        .alias(name)
    )


def _compute(
    entry: Indicator, frame: pl.DataFrame, groups: list[Breakdown], levels: dict[str, str]
) -> pl.DataFrame:
    """The indicator per area and year; with breakdowns, the rows of the whole area (the
    breakdown columns empty) and then those of every group."""
    out = _compute_groups(entry, frame, groups, levels)
    if not groups:
        return out
    whole = _compute_groups(entry, frame, [], levels).with_columns(
        pl.lit(None, dtype=out.schema[b.name]).alias(b.name) for b in groups
    )
    return pl.concat([whole.select(out.columns), out]).sort(
        ["area", "year", *(b.name for b in groups)], nulls_last=False, maintain_order=True
    )


def _compute_groups(
    entry: Indicator, frame: pl.DataFrame, groups: list[Breakdown], levels: dict[str, str]
) -> pl.DataFrame:
    src = entry.source
    keys = [src.region_variable, src.time_variable, *(b.variable for b in groups)]
    selected = {var for sel in entry.definition.selections.values() for var in sel}
    dims = [c for c in frame.columns if c not in ("value", "status") and not c.endswith("_label")]
    stray = [c for c in dims if c not in keys and c not in selected]
    if stray:
        raise IndicatorError(
            f"indicator {entry.id!r}: the table has variable(s) {', '.join(stray)} that the "
            "entry does not select; eliminate them when downloading, or add them to the entry"
        )
    frame = frame.with_columns(pl.col(dims).cast(pl.String), pl.col("value").cast(pl.Float64))
    parts = {}
    for role, sel in entry.definition.selections.items():
        chosen = _effective(dict(sel), groups)
        rows = frame.filter(
            pl.all_horizontal(pl.col(var).is_in(list(codes)) for var, codes in chosen.items())
        )
        parts[role] = _sum(rows, keys, role)
    if entry.kind == "ratio":
        out = parts["numerator"].join(
            parts["denominator"], on=keys, how="full", coalesce=True, maintain_order="left"
        )
        scale = 100.0 if entry.unit == "percent" else 1.0
        out = out.with_columns(
            pl.when(pl.col("denominator") != 0)
            .then(scale * pl.col("numerator") / pl.col("denominator"))
            .otherwise(None)
            .alias("value")
        )
    else:
        out = parts["value"].with_columns(
            numerator=pl.lit(None, dtype=pl.Float64), denominator=pl.lit(None, dtype=pl.Float64)
        )
    year = pl.col(src.time_variable)
    if out.get_column(src.time_variable).str.contains(r"^\d{4}$").all():
        year = year.cast(pl.Int64)
    return out.select(
        pl.col(src.region_variable).alias("area"),
        pl.col(src.region_variable).replace_strict(levels, default=None).alias("level"),
        year.alias("year"),
        *(pl.col(b.variable).alias(b.name) for b in groups),
        "numerator",
        "denominator",
        "value",
    ).sort(["area", "year", *(b.name for b in groups)], maintain_order=True)


def _query(
    entry: Indicator,
    level: str | None,
    version: str | None,
    years: Sequence[int | str] | None,
    groups: list[Breakdown],
) -> dict[str, Any]:
    return {
        "indicator": entry.id,
        "table": entry.source.table,
        "level": level,
        "version": version,
        "years": [str(y) for y in years] if years is not None else "*",
        "breakdown": [b.name for b in groups],
    }


def stored_indicators(warehouse: Warehouse) -> pl.DataFrame:
    """Every indicator loaded into ``warehouse`` (datasets ``indicator_<id>``) as one long frame
    ``level, area, year, indicator, value`` — the totals only (rows of a breakdown are left
    out), ready for :func:`bryta.area_profile`'s ``indicators``.
    """
    names = [n for n in warehouse.list().get_column("name").to_list() if n.startswith(_PREFIX)]
    parts = []
    for name in names:  # one dataset per indicator; a handful at most
        frame = warehouse.get(name)
        breakdowns = [c for c in frame.columns if c not in _STORED]
        totals = frame.filter(*(pl.col(c).is_null() for c in breakdowns)) if breakdowns else frame
        parts.append(
            totals.select(
                pl.col("level").cast(pl.String),
                pl.col("area").cast(pl.String),
                pl.col("year").cast(pl.Int32),
                pl.lit(name.removeprefix(_PREFIX)).alias("indicator"),
                pl.col("value").cast(pl.Float64),
            )
        )
    schema = {
        "level": pl.String,
        "area": pl.String,
        "year": pl.Int32,
        "indicator": pl.String,
        "value": pl.Float64,
    }
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)
