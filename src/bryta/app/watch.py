"""The watch list as a use case: from a file, or for a kommun from what the warehouse holds.

* :func:`watch_table` — a table of the socioeconomic index (or its shares) per area and
  period → the watch list and the rule's backtest;
* :func:`watch_kommun` — the same on the index history the warehouse holds (dataset
  ``indicator_socioeconomic_index``, loaded with ``bryta indicators load socioeconomic_index``),
  computed over every RegSO in it (the thresholds are national) and reported for the
  kommun's RegSO, with the interventions the registry holds in each flagged area.

The computation is :mod:`bryta.compute.conditions.early_warning`; see docs/early_warning.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from bryta.compute.conditions.early_warning import (
    WATCH_COLUMNS,
    Backtest,
    WatchRule,
    backtest,
    watch_list,
)
from bryta.errors import NotFound

if TYPE_CHECKING:
    from bryta.app.context import Context

__all__ = ["INDEX_DATASET", "WatchReport", "watch_kommun", "watch_table"]

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
    watch list is not for a kommun); ``kommun``: the kommun's code for a kommun watch list.
    """

    watch: pl.DataFrame
    unit: str
    rule: WatchRule
    backtest: Backtest
    last_period: Any
    threshold: float | None
    interventions: dict[str, list[str]] | None = None
    kommun: str | None = None

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
    history = index_history(ctx)
    if history.is_empty():
        raise NotFound(f"{INDEX_DATASET} holds no RegSO rows; load it with: {LOAD_COMMAND}")
    base = pl.col("regso").str.replace(_SUFFIX.pattern, "")
    if history.filter(base.str.starts_with(code)).is_empty():
        raise NotFound(
            f"no RegSO of kommun {code!r} in {INDEX_DATASET} "
            f"({history.get_column('regso').n_unique()} RegSO loaded); check the code, "
            f"or load every RegSO with: {LOAD_COMMAND}"
        )
    full = watch_table(
        history,
        unit="regso",
        period="year",
        index_col="index",
        rule=rule,
        n_boot=n_boot,
        seed=seed,
        language=language,
    )
    mine = full.watch.filter(base.str.starts_with(code))
    flagged = mine.filter(pl.col("flagged")).get_column("regso").to_list()
    return WatchReport(
        watch=mine,
        unit="regso",
        rule=full.rule,
        backtest=full.backtest,
        last_period=full.last_period,
        threshold=full.threshold,
        interventions=_interventions(ctx, code, flagged),
        kommun=code,
    )


def _interventions(ctx: Context, code: str, areas: list[str]) -> dict[str, list[str]] | None:
    """Titles of the published interventions linked to each area of ``areas`` (None without
    a registry)."""
    from bryta.app.registry import published_in_kommun
    from bryta.geography.areas import load_regso_key

    records = published_in_kommun(ctx, code)
    if records is None:
        return None
    regso_of = dict(load_regso_key().select("deso", "regso").iter_rows())
    wanted = {_SUFFIX.sub("", a): a for a in areas}
    found: dict[str, list[str]] = {a: [] for a in areas}
    for record in records:  # the kommun's interventions, a handful
        linked = {_SUFFIX.sub("", link.area_code) for link in record.area_links}
        linked |= {regso_of[c] for c in linked if c in regso_of}
        for base in linked & wanted.keys():
            found[wanted[base]].append(record.title)
    return {a: sorted(set(titles)) for a, titles in found.items()}
