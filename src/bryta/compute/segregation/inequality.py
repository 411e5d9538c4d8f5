"""The ojämlikhetsindex and per-group segregation: income groups over the areas of a region.

Segregationsbarometern's **ojämlikhetsindex** (inequality index) says how unevenly the
people in the lowest and in the highest income fifth are spread over the areas (RegSO) of a
kommun or län: the index of dissimilarity between the two groups, on a 0–100 scale,

    D = 50 · Σᵢ |lᵢ/L − hᵢ/H|

with lᵢ, hᵢ the counts of the lowest and the highest group in area i and L, H their totals in
the kommun (län). D = 0 when both groups are spread in the same proportions, 100 when no area
holds both; D is the percentage of either group that would have to move to other areas for the
two distributions to be equal. The middle groups do not enter. Reported national values are
about 27 for 1990 and 41 for 2018.

The **per-group segregation index** gives, for every income group g, the dissimilarity of g
against all the other listed groups combined (xᵢ = n_ig, yᵢ = Σ_{h≠g} n_ih), also 0–100.

Both are computed by the measurement engine (:func:`bryta.measure`, index
``dissimilarity``) for every partition at once — each kommun, län, year — and only rescaled
here. The engine's two-group indices already compare a focal group with the rest of the listed
groups, so the per-group index is one engine call with every group in turn as the focal group.
Degenerate partitions (a kommun with one populated area, a group absent) give NaN with the
engine's reasons.

Reference: Duncan, O. D. & Duncan, B. (1955). A methodological analysis of segregation
indexes. American Sociological Review 20(2), 210–217; Delegationen mot segregation,
Segregationsbarometern (method notes on ojämlikhetsindex).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from bryta.compute.segregation.counts import to_polars
from bryta.compute.segregation.engine import measure
from bryta.errors import CountsError

__all__ = ["group_segregation", "inequality_index"]

_SCALE = 100.0
_ENGINE = ("index", "group", "value", "reason")


def _key_columns(result: pl.DataFrame) -> list[str]:
    return [c for c in result.columns if c not in _ENGINE]


def _check_long_groups(counts: Any, group_col: str | None, groups: Sequence[str] | None) -> Any:
    """Long counts treat an absent group as zero people; here an absent group is a typo."""
    if group_col is None or groups is None:
        return counts
    frame = to_polars(counts)
    if group_col not in frame.columns:
        return frame  # the engine names the missing column
    present = frame.get_column(group_col).cast(pl.String).unique().sort().to_list()
    absent = [str(g) for g in groups if str(g) not in present]
    if absent:
        raise CountsError(
            f"group {', '.join(map(repr, absent))} does not occur in column {group_col!r}; "
            f"it has {', '.join(map(repr, present[:20]))}"
        )
    return frame


def inequality_index(
    counts: Any,
    *,
    unit: str,
    low: str,
    high: str,
    by: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
    reasons: bool = False,
) -> pl.DataFrame:
    """The ojämlikhetsindex: dissimilarity between the ``low`` and the ``high`` income group
    over the areas of each partition (kommun, län, year …), 0–100.

    Args:
        counts: polars, pandas or Arrow table; wide (``low`` and ``high`` are count columns,
            e.g. ``q1`` and ``q5``) or long (``group_col`` names the group, ``count_col``
            holds the count; ``low`` and ``high`` are group names).
        unit: the column naming the area (e.g. ``regso``).
        low, high: the lowest and the highest income group (with long counts both must
            occur in ``group_col``).
        by: partition key columns (e.g. ``["kommun", "year"]``); None (default): one
            partition.
        reasons: add the engine's ``reason`` column saying why a value is NaN.

    Returns:
        One row per partition: the ``by`` columns, ``index`` (``"inequality"``), ``low``,
        ``high`` and ``value`` = 100 × D.

    Formula: 50 · Σᵢ |lᵢ/L − hᵢ/H|. Worked value: three areas with lowest-fifth counts
    (30, 10, 20) and highest-fifth counts (10, 30, 20): 50 · (|½ − ⅙| + |⅙ − ½| + 0) = 33.3.

    >>> counts = pl.DataFrame({"kommun": "0114", "regso": ["r1", "r2", "r3"],
    ...                        "q1": [30, 10, 20], "q3": [50, 50, 50], "q5": [10, 30, 20]})
    >>> inequality_index(counts, unit="regso", by="kommun", low="q1", high="q5").row(0)
    ('0114', 'inequality', 'q1', 'q5', 33.33333333333333)
    """
    if str(low) == str(high):
        raise CountsError(f"low and high must be two different groups, both are {low!r}")
    counts = _check_long_groups(counts, group_col, [low, high])
    result = measure(
        counts,
        unit=unit,
        groups=[low, high],
        by=by,
        indices="dissimilarity",
        focal=low,
        group_col=group_col,
        count_col=count_col,
        reasons=reasons,
    )
    return result.select(
        *_key_columns(result),
        pl.lit("inequality").alias("index"),
        pl.lit(str(low)).alias("low"),
        pl.lit(str(high)).alias("high"),
        (pl.col("value") * _SCALE).alias("value"),
        *(["reason"] if reasons else []),
    )


def group_segregation(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
    reasons: bool = False,
) -> pl.DataFrame:
    """Per-group segregation: the dissimilarity of each group against all the other
    ``groups`` combined, over the areas of each partition, 0–100.

    Args:
        counts: wide or long counts, as in :func:`inequality_index`.
        unit: the column naming the area.
        groups: the groups (count columns when wide, e.g. ``q1 … q5``); when long, a
            selection of groups, all groups when omitted. At least two.
        by: partition key columns; None (default): one partition.
        reasons: add the engine's ``reason`` column.

    Returns:
        One row per partition × group: the ``by`` columns, ``index``
        (``"group_segregation"``), ``group`` and ``value`` = 100 × D(g, rest).

    Formula: 50 · Σᵢ |xᵢ/X − yᵢ/Y| with xᵢ the group's count in area i and yᵢ the count of
    all other groups. Worked value: groups a (30, 10, 20), b (10, 30, 20), c (0, 0, 20) in
    three areas; for a the rest is (10, 30, 40), so D = 50 · (|½ − ⅛| + |⅙ − ⅜| + |⅓ − ½|)
    = 37.5; for c the rest is (40, 40, 40), so D = 50 · (⅓ + ⅓ + |1 − ⅓|) = 66.7.

    >>> counts = pl.DataFrame({"regso": ["r1", "r2", "r3"],
    ...                        "a": [30, 10, 20], "b": [10, 30, 20], "c": [0, 0, 20]})
    >>> result = group_segregation(counts, unit="regso", groups=["a", "b", "c"])
    >>> result.select("group", pl.col("value").round(2)).rows()
    [('a', 37.5), ('b', 37.5), ('c', 66.67)]
    """
    if groups is not None and len(groups) < 2:
        raise CountsError(f"per-group segregation needs at least two groups, got {list(groups)}")
    counts = _check_long_groups(counts, group_col, groups)
    result = measure(
        counts,
        unit=unit,
        groups=groups,
        by=by,
        indices="dissimilarity",
        group_col=group_col,
        count_col=count_col,
        reasons=reasons,
    )
    return result.select(
        *_key_columns(result),
        pl.lit("group_segregation").alias("index"),
        "group",
        (pl.col("value") * _SCALE).alias("value"),
        *(["reason"] if reasons else []),
    )
