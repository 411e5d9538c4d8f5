"""The watch list as a use case: from a file, or for a kommun from what the warehouse holds.

* :func:`watch_table` — a table of the socioeconomic index (or its shares) per area and
  period → the watch list and the rule's backtest;
* :func:`watch_kommun` — the same on the index history the warehouse holds (dataset
  ``indicator_socioeconomic_index``, loaded with ``bryta indicators load socioeconomic_index``),
  computed over every RegSO in it (the thresholds are national) and reported for the
  kommun's RegSO, with the interventions the registry holds in each flagged area;
* :func:`watch_country` — the same for every RegSO the warehouse holds;
* :func:`watch_rows`, :func:`flagged_per_kommun` — what the web page and the API show of a
  report: one record per area with its name and interventions, and the flags per kommun.

The computation over every area is done once per warehouse version, rule, bootstrap and
seed and kept (a few per process): a kommun's list and the country's share it.

The computation is :mod:`bryta.compute.conditions.early_warning`; see docs/early_warning.md.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from bryta.compute.conditions.early_warning import (
    WATCH_COLUMNS,
    Backtest,
    WatchRule,
    backtest,
    reason_sv,
    watch_list,
)
from bryta.errors import NotFound

if TYPE_CHECKING:
    from bryta.app.context import Context

__all__ = [
    "INDEX_DATASET",
    "WatchReport",
    "flagged_per_kommun",
    "watch_country",
    "watch_kommun",
    "watch_rows",
    "watch_table",
]

#: The warehouse dataset the kommun watch list reads, and the command that loads it.
INDEX_DATASET = "indicator_socioeconomic_index"
LOAD_COMMAND = (
    "bryta indicators load socioeconomic_index --level regso "
    "(or --from-file TAB6586.json for a downloaded JSON-stat file)"
)
_SUFFIX = re.compile(r"_(RegSO|DeSO)\d{4}$")


@dataclass(frozen=True)
class WatchReport:
    """A watch list with its track record.

    ``watch``: every column of :func:`bryta.compute.conditions.early_warning.watch_list`;
    ``unit``: its area column; ``backtest``: the rule scored on the same history;
    ``interventions``: for each flagged area, the titles of the published interventions the
    registry links to it (an empty list: none), or None when there is no registry (or the
    watch list is of a file); ``links``: the same as (key, title) pairs, for links to the
    interventions' pages; ``kommun``: the kommun's code for a kommun watch list;
    ``country``: True for the watch list of every area the warehouse holds.
    """

    watch: pl.DataFrame
    unit: str
    rule: WatchRule
    backtest: Backtest
    last_period: Any
    threshold: float | None
    interventions: dict[str, list[str]] | None = None
    kommun: str | None = None
    links: dict[str, list[tuple[str | None, str]]] | None = None
    country: bool = False

    def table(self) -> pl.DataFrame:
        """The file ``bryta watch`` writes: ``<unit>`` and :data:`WATCH_COLUMNS`, in order."""
        return self.watch.select(self.unit, *WATCH_COLUMNS)

    @property
    def flagged(self) -> pl.DataFrame:
        """The flagged areas, nearest crossing first, then by risk."""
        return self.watch.filter(pl.col("flagged")).sort(
            "crossing_period", pl.col("risk_5"), descending=[False, True], nulls_last=True
        )


def watch_table(
    frame: pl.DataFrame,
    *,
    unit: str,
    period: str,
    index_col: str | None = None,
    shares: Sequence[str] | None = None,
    rule: WatchRule | None = None,
    n_boot: int = 200,
    seed: int = 0,
    language: Literal["en", "sv"] = "en",
) -> WatchReport:
    """The watch list and its backtest for a table of the index (or shares) per area and
    period."""
    rule = rule or WatchRule()
    watch = watch_list(
        frame,
        unit=unit,
        period=period,
        index_col=index_col,
        shares=shares,
        rule=rule,
        n_boot=n_boot,
        seed=seed,
        language=language,
    )
    record = backtest(
        frame, unit=unit, period=period, index_col=index_col, shares=shares, rule=rule
    )
    threshold = watch.get_column("threshold").drop_nulls()
    periods = frame.get_column(period).cast(pl.String).str.strip_chars()
    return WatchReport(
        watch=watch,
        unit=unit,
        rule=rule,
        backtest=record,
        last_period=periods.cast(pl.Int64, strict=False).max(),
        threshold=float(threshold[0]) if threshold.len() else None,
    )


def index_history(ctx: Context) -> pl.DataFrame:
    """The socioeconomic index per RegSO and year the warehouse holds: ``regso``, ``year``,
    ``index``. No such dataset is :class:`~bryta.errors.NotFound`, naming the command that
    loads it."""
    with ctx.warehouse(read_only=True) as wh:
        names = wh.list().get_column("name").to_list()
        if INDEX_DATASET not in names:
            raise NotFound(
                f"the warehouse in {ctx.settings.data_path} holds no socioeconomic index "
                f"history ({INDEX_DATASET}); load it with: {LOAD_COMMAND}"
            )
        stored = wh.get(INDEX_DATASET)
    stored_columns = ("area", "level", "year", "numerator", "denominator", "value")
    extra = [c for c in stored.columns if c not in stored_columns]
    if extra:  # totals only: rows of a breakdown are left out
        stored = stored.filter(*(pl.col(c).is_null() for c in extra))
    return stored.filter(pl.col("level") == "regso").select(
        pl.col("area").cast(pl.String).alias("regso"),
        pl.col("year").cast(pl.Int64),
        pl.col("value").cast(pl.Float64).alias("index"),
    )


def watch_kommun(
    ctx: Context,
    code: str,
    *,
    rule: WatchRule | None = None,
    n_boot: int = 200,
    seed: int = 0,
    language: Literal["en", "sv"] = "en",
) -> WatchReport:
    """The watch list of kommun ``code``'s RegSO from the warehouse's index history.

    Thresholds, types and the Markov chains come from every RegSO the warehouse holds (load
    the whole country: the types are national); the list keeps the kommun's RegSO (codes
    starting with ``code``). With a registry, each flagged area lists the published
    interventions linked to it or to one of its DeSO (codes compared without SCB's
    ``_RegSO2025`` suffix; a DeSO through the bundled DeSO → RegSO key)."""
    history = _history(ctx)
    base = pl.col("regso").str.replace(_SUFFIX.pattern, "")
    if history.filter(base.str.starts_with(code)).is_empty():
        raise NotFound(
            f"no RegSO of kommun {code!r} in {INDEX_DATASET} "
            f"({history.get_column('regso').n_unique()} RegSO loaded); check the code, "
            f"or load every RegSO with: {LOAD_COMMAND}"
        )
    full = _full_report(ctx, history, rule or WatchRule(), n_boot, seed)
    mine = _in_language(full.watch.filter(base.str.starts_with(code)), full.rule, language)
    flagged = mine.filter(pl.col("flagged")).get_column("regso").to_list()
    links = _interventions(ctx, code, flagged)
    return WatchReport(
        watch=mine,
        unit="regso",
        rule=full.rule,
        backtest=full.backtest,
        last_period=full.last_period,
        threshold=full.threshold,
        interventions=_titles(links),
        kommun=code,
        links=links,
    )


def watch_country(
    ctx: Context,
    *,
    rule: WatchRule | None = None,
    n_boot: int = 200,
    seed: int = 0,
    language: Literal["en", "sv"] = "en",
) -> WatchReport:
    """The watch list of every RegSO the warehouse's index history holds: the rule of
    :func:`watch_kommun` in the same single pass over all areas, with the published
    interventions the registry links to each flagged area (None without a registry)."""
    history = _history(ctx)
    full = _full_report(ctx, history, rule or WatchRule(), n_boot, seed)
    watch = _in_language(full.watch, full.rule, language)
    flagged = watch.filter(pl.col("flagged")).get_column("regso").to_list()
    links = _interventions(ctx, None, flagged)
    return WatchReport(
        watch=watch,
        unit="regso",
        rule=full.rule,
        backtest=full.backtest,
        last_period=full.last_period,
        threshold=full.threshold,
        interventions=_titles(links),
        links=links,
        country=True,
    )


def _history(ctx: Context) -> pl.DataFrame:
    history = index_history(ctx)
    if history.is_empty():
        raise NotFound(f"{INDEX_DATASET} holds no RegSO rows; load it with: {LOAD_COMMAND}")
    return history


def _in_language(watch: pl.DataFrame, rule: WatchRule, language: str) -> pl.DataFrame:
    """``watch`` (computed with English reasons) with its reasons in ``language``."""
    if language == "sv":
        return watch.with_columns(reason_sv(watch, rule))
    return watch


#: The full computations kept: (data folder, warehouse version, rule, n_boot, seed) → report.
_FULL: OrderedDict[tuple[Any, ...], WatchReport] = OrderedDict()
_FULL_LOCK = threading.Lock()
_FULL_KEPT = 4


def _full_report(
    ctx: Context, history: pl.DataFrame, rule: WatchRule, n_boot: int, seed: int
) -> WatchReport:
    """The watch list over every RegSO of ``history`` (English reasons), computed once per
    warehouse version and kept (the kommun lists and the country's share it)."""
    from bryta.app.maps import warehouse_version

    key = (str(ctx.settings.data_path), warehouse_version(ctx), rule, n_boot, seed)
    with _FULL_LOCK:
        kept = _FULL.get(key)
        if kept is not None:
            _FULL.move_to_end(key)
            return kept
    report = watch_table(
        history, unit="regso", period="year", index_col="index", rule=rule, n_boot=n_boot, seed=seed
    )
    with _FULL_LOCK:
        _FULL[key] = report
        while len(_FULL) > _FULL_KEPT:
            _FULL.popitem(last=False)
    return report


def _titles(
    links: dict[str, list[tuple[str | None, str]]] | None,
) -> dict[str, list[str]] | None:
    if links is None:
        return None
    return {area: [title for _, title in pairs] for area, pairs in links.items()}


def _interventions(
    ctx: Context, code: str | None, areas: list[str]
) -> dict[str, list[tuple[str | None, str]]] | None:
    """The published interventions (key, title) linked to each area of ``areas``, sorted by
    title; those of kommun ``code``, or of the whole registry when None (None without a
    registry)."""
    from bryta.app.registry import has_registry, interventions, published_in_kommun
    from bryta.geography.areas import load_regso_key

    if code is not None:
        records = published_in_kommun(ctx, code)
    elif has_registry(ctx):
        records = interventions(ctx, None, exclude_synthetic=True)
    else:
        records = None
    if records is None:
        return None
    regso_of = dict(load_regso_key().select("deso", "regso").iter_rows())
    wanted = {_SUFFIX.sub("", a): a for a in areas}
    found: dict[str, set[tuple[str | None, str]]] = {a: set() for a in areas}
    for record in records:
        linked = {_SUFFIX.sub("", link.area_code) for link in record.area_links}
        linked |= {regso_of[c] for c in linked if c in regso_of}
        for base in linked & wanted.keys():
            found[wanted[base]].add((record.key, record.title))
    return {a: sorted(pairs, key=lambda p: (p[1], p[0] or "")) for a, pairs in found.items()}


# ---- what the web page and the API show -------------------------------------------------------


def _whole(value: Any) -> int | None:
    """The first whole period at or after ``value`` (a crossing time), as the reasons round."""
    if value is None or value != value or math.isinf(value):
        return None
    return math.ceil(float(value) - 1e-9)


def watch_rows(report: WatchReport) -> list[dict[str, Any]]:
    """One record per area of ``report``, flagged first, then by ``risk_5`` (highest first),
    then by crossing period and code: ``regso``, ``code`` (without SCB's version suffix),
    ``name`` (the bundled RegSO 2020 name of that code, else None), ``kommun``,
    ``type_last``, ``index_last``, ``trend``, ``trend_low``, ``trend_high``, ``threshold``,
    ``gap``, ``crossing_period``, ``crossing_low``, ``crossing_high`` (the crossing
    interval in whole periods, as the reason gives it), ``risk_1``, ``risk_3``, ``risk_5``,
    ``flagged``, ``reason`` and ``interventions`` (for a flagged area, a list of ``key`` and
    ``title``; None when there is no registry or the area is not flagged). Floats that are
    not numbers are None."""
    from bryta.geography.areas import regso_table

    names = dict(regso_table().select("regso", "regso_name").iter_rows())
    ordered = report.watch.sort(
        ["flagged", "risk_5", "crossing_period", report.unit],
        descending=[True, True, False, False],
        nulls_last=True,
    )
    links = report.links
    rows = []
    for row in ordered.iter_rows(named=True):
        area = str(row[report.unit])
        code = _SUFFIX.sub("", area)
        pairs = links.get(area) if links is not None and row["flagged"] else None
        record: dict[str, Any] = {
            "regso": area,
            "code": code,
            "name": names.get(code),
            "kommun": code[:4] if re.fullmatch(r"\d{4}R\d{3}", code) else None,
            "type_last": row["type_last"],
        }
        for column in (
            "index_last",
            "trend",
            "trend_low",
            "trend_high",
            "threshold",
            "gap",
            "risk_1",
            "risk_3",
            "risk_5",
        ):
            value = row[column]
            record[column] = None if value is None or value != value else float(value)
        record |= {
            "crossing_period": row["crossing_period"],
            "crossing_low": _whole(row["crossing_low"]) if row["crossing_period"] else None,
            "crossing_high": _whole(row["crossing_high"]) if row["crossing_period"] else None,
            "flagged": bool(row["flagged"]),
            "reason": row["reason"] or "",
            "interventions": None
            if pairs is None
            else [{"key": key, "title": title} for key, title in pairs],
        }
        rows.append(record)
    return rows


def flagged_per_kommun(report: WatchReport, *, every_kommun: bool = False) -> pl.DataFrame:
    """Per kommun of the report's areas: ``kommun``, ``name`` (null for a code the bundled
    list does not know), ``areas``, ``flagged`` (how many of its RegSO are flagged), sorted by
    kommun code (areas whose code names no kommun are left out). ``every_kommun``: Sweden's
    290 kommuner too, those without areas in the report with ``areas`` and ``flagged`` 0."""
    from bryta.geography.areas import kommun_names

    code = pl.col(report.unit).cast(pl.String).str.replace(_SUFFIX.pattern, "")
    names = kommun_names()
    counts = (
        report.watch.filter(code.str.contains(r"^\d{4}R\d{3}$"))
        .group_by(code.str.slice(0, 4).alias("kommun"))
        .agg(pl.len().alias("areas"), pl.col("flagged").sum().cast(pl.Int64).alias("flagged"))
    )
    if every_kommun:
        every = pl.DataFrame({"kommun": list(names)}, schema={"kommun": pl.String})
        counts = (
            every.join(counts, on="kommun", how="full", coalesce=True)
            .with_columns(pl.col("areas", "flagged").fill_null(0))
            .cast({"areas": pl.UInt32, "flagged": pl.Int64})
        )
    return (
        counts.sort("kommun")
        .with_columns(pl.col("kommun").replace_strict(names, default=None).alias("name"))
        .select("kommun", "name", "areas", "flagged")
    )


def has_index_history(ctx: Context) -> bool:
    """Whether the warehouse holds the socioeconomic index history (:data:`INDEX_DATASET`)
    with RegSO rows: what :func:`watch_kommun` and :func:`watch_country` need."""
    try:
        return not index_history(ctx).is_empty()
    except NotFound:
        return False
