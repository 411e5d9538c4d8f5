"""The datasets in the warehouse: list, show and export them, counts protected on export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from bryta.app.context import Context
from bryta.app.tables import check_writable, write_table
from bryta.compute.disclosure import DEFAULT_THRESHOLD, suppress_small

#: Columns that are keys, never counts to protect.
KEY_COLUMNS = frozenset({"year", "år", "tid", "period"})


@dataclass(frozen=True)
class Protection:
    """Small-count protection of an export of counts: on by default."""

    threshold: int = DEFAULT_THRESHOLD
    columns: list[str] | None = None
    within: list[str] | None = None
    enabled: bool = True


@dataclass
class ExportReport:
    """What an export wrote, and what protection did (``notes``, one line each)."""

    frame: pl.DataFrame
    output: Path
    notes: list[str]


def protect(
    frame: pl.DataFrame, kind: str, protection: Protection = Protection()
) -> tuple[pl.DataFrame, list[str]]:
    """Suppress small counts in an export of counts; says what it did (nothing for other
    kinds of dataset)."""
    if kind != "counts":
        return frame, []
    if not protection.enabled:
        return frame, ["small-count protection is off for this export"]
    columns = protection.columns
    if columns is None:
        columns = [c for c, t in frame.schema.items() if t.is_numeric() and c not in KEY_COLUMNS]
    out, report = suppress_small(
        frame, values=columns, threshold=protection.threshold, within=protection.within
    )
    note = "" if protection.within else " (no --within totals given: primary suppression only)"
    return out, [report.describe() + (note if report.total else "")]


def list_datasets(ctx: Context) -> tuple[Path, pl.DataFrame]:
    """The warehouse's path and one row per dataset with its source and retrieval time."""
    with ctx.warehouse(read_only=True) as wh:
        return wh.path, wh.list()


def show_dataset(ctx: Context, name: str, rows: int = 10) -> tuple[dict[str, Any], pl.DataFrame]:
    """A dataset's provenance and columns, and its first ``rows`` rows."""
    with ctx.warehouse(read_only=True) as wh:
        return wh.info(name), wh.get(name).head(rows)


def export_dataset(
    ctx: Context, name: str, output: Path, protection: Protection = Protection()
) -> ExportReport:
    """Write a dataset to ``output`` (format by suffix); counts are protected."""
    check_writable(output)
    with ctx.warehouse(read_only=True) as wh:
        frame = wh.get(name)
        kind = wh.info(name)["kind"]
    frame, notes = protect(frame, kind, protection)
    write_table(frame, output)
    return ExportReport(frame, output, notes)
