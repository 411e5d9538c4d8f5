"""The counts model: a validated table of counts by partition × unit × group.

Every computation in bryta starts here. A counts table has

* partition keys (``by``, e.g. ``kommun`` and ``year``): each distinct combination is measured
  on its own;
* a ``unit`` (the area: RegSO, DeSO, school, grid cell);
* groups, either **wide** (one count column per group, ``groups=["born_sweden", ...]``) or
  **long** (a ``group_col`` naming the group and a ``count_col`` holding the count).

It may come as a polars, pandas or Arrow table. :func:`prepare_counts` checks it and turns it
into dense arrays sorted by partition, which every index then aggregates without a Python loop
over partitions. Bad input raises :class:`bryta.errors.CountsError`, whose message names the
column and the first offending rows (1-based data rows, the header not counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from bryta.compute.segregation._margins import segment_starts
from bryta.errors import CountsError

_ROW = "__bryta_row"
_MAX_SHOWN = 5


@dataclass(frozen=True, eq=False)
class Counts:
    """Counts as dense arrays, rows sorted by partition and then unit.

    Attributes:
        keys: one row per partition with the ``by`` columns in their input types (an empty
            frame with one row when there is no ``by``).
        by: names of the partition key columns.
        unit: name of the unit column.
        groups: the group names, in the order of ``values``' columns.
        units: the unit label of each row.
        part: partition index (0 … n_partitions − 1) of each row, non-decreasing.
        values: float64 array (rows × groups) of counts.
    """

    keys: pl.DataFrame
    by: tuple[str, ...]
    unit: str
    groups: tuple[str, ...]
    units: pl.Series
    part: np.ndarray
    values: np.ndarray

    @property
    def n_partitions(self) -> int:
        return self.keys.height


def take_rows(frame: pl.DataFrame, rows: np.ndarray, columns: Sequence[str] | None = None):
    """``frame[rows]`` (optionally only ``columns``) that keeps the height with no columns."""
    if columns is not None:
        frame = frame.select(list(columns))
    if frame.width == 0:
        return pl.DataFrame(height=len(rows))
    return frame[rows]


def run_ids(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Ids 0, 1, … of the runs of equal ``columns`` values in a frame sorted by them."""
    if not columns or frame.height == 0:
        return np.zeros(frame.height, dtype=np.int64)
    changed = pl.any_horizontal([pl.col(c).ne_missing(pl.col(c).shift(1)) for c in columns])
    ids = frame.select(changed.fill_null(True).cum_sum() - 1).to_series()
    return ids.to_numpy().astype(np.int64)


def to_polars(data: Any) -> pl.DataFrame:
    """Accept a polars (lazy) frame, a pandas frame or an Arrow table; return a polars frame."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(data.reset_index(drop=True))
    if module == "pyarrow":
        return pl.from_arrow(data)
    raise CountsError(f"counts must be a polars, pandas or Arrow table, not {type(data).__name__}")


def _rows_text(frame: pl.DataFrame, mask: pl.Series | pl.Expr, show: Sequence[str]) -> str:
    """Describe the first offending rows: '3 rows, first: row 2 (kommun=0114, …), …'."""
    bad = frame.filter(mask)
    first = bad.head(_MAX_SHOWN)
    parts = []
    for rec in first.iter_rows(named=True):
        where = ", ".join(f"{c}={rec[c]!r}" for c in show)
        parts.append(f"row {rec[_ROW] + 1} ({where})")
    more = f" and {bad.height - first.height} more" if bad.height > first.height else ""
    noun = "row" if bad.height == 1 else "rows"
    return f"{bad.height} {noun}: " + "; ".join(parts) + more


def _require_columns(frame: pl.DataFrame, names: Sequence[str], role: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise CountsError(
            f"{role} column {', '.join(map(repr, missing))} not found; "
            f"the table has {', '.join(map(repr, frame.columns))}"
        )


def _check_numeric(frame: pl.DataFrame, column: str, show: Sequence[str]) -> pl.DataFrame:
    """Cast a count column to Float64, naming the rows that are not numbers."""
    dtype = frame.schema[column]
    if dtype.is_numeric():
        cast = frame.get_column(column).cast(pl.Float64)
    elif dtype in (pl.String, pl.Categorical, pl.Null):
        text = frame.get_column(column).cast(pl.String)
        cast = text.str.strip_chars().cast(pl.Float64, strict=False)
        bad = text.is_not_null() & cast.is_null()
        if bad.any():
            raise CountsError(
                f"count column {column!r} has values that are not numbers, "
                f"{_rows_text(frame, bad, [*show, column])}"
            )
    else:
        raise CountsError(f"count column {column!r} is {dtype}, not numeric")
    missing = cast.is_null()
    if missing.any():
        raise CountsError(
            f"count column {column!r} has missing values, {_rows_text(frame, missing, show)}"
        )
    bad = ~cast.is_finite() | (cast < 0)
    if bad.any():
        raise CountsError(
            f"count column {column!r} has negative or non-finite counts, "
            f"{_rows_text(frame.with_columns(cast.alias(column)), bad, [*show, column])}"
        )
    return frame.with_columns(cast.alias(column))


def prepare_counts(
    data: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
) -> Counts:
    """Validate a counts table and turn it into :class:`Counts`.

    Wide input names its count columns in ``groups``. Long input names ``group_col`` and
    ``count_col``; ``groups`` then optionally selects and orders the groups (by default every
    group in the order it first appears).

    >>> import polars as pl
    >>> c = prepare_counts(pl.DataFrame({"area": ["x", "y"], "a": [3, 1], "b": [1, 3]}),
    ...                    unit="area", groups=["a", "b"])
    >>> c.values.tolist(), c.n_partitions
    ([[3.0, 1.0], [1.0, 3.0]], 1)
    """
    frame = to_polars(data)
    by = (by,) if isinstance(by, str) else tuple(by or ())
    _require_columns(frame, [*by, unit], "key" if by else "unit")
    if unit in by:
        raise CountsError(f"column {unit!r} is both the unit and a partition key")
    frame = frame.with_row_index(_ROW)
    ident = [*by, unit]
    if frame.get_column(unit).null_count():
        raise CountsError(
            f"unit column {unit!r} has missing values, "
            f"{_rows_text(frame, pl.col(unit).is_null(), ident)}"
        )

    if group_col is not None or count_col is not None:
        if group_col is None or count_col is None:
            raise CountsError("long counts need both group_col and count_col")
        _require_columns(frame, [group_col, count_col], "group/count")
        frame = frame.with_columns(pl.col(group_col).cast(pl.String))
        if frame.get_column(group_col).null_count():
            mask = pl.col(group_col).is_null()
            raise CountsError(
                f"group column {group_col!r} has missing values, {_rows_text(frame, mask, ident)}"
            )
        if groups is None:
            groups = frame.get_column(group_col).unique(maintain_order=True).to_list()
        else:
            groups = [str(g) for g in groups]
            frame = frame.filter(pl.col(group_col).is_in(groups))
        frame = _check_numeric(frame, count_col, [*ident, group_col])
        dup = pl.struct([*ident, group_col]).is_duplicated()
        if frame.select(dup.any()).item():
            raise CountsError(
                f"duplicate {' × '.join([*ident, group_col])} rows, "
                f"{_rows_text(frame, dup, [*ident, group_col])}"
            )
        frame = frame.pivot(
            on=group_col, index=ident, values=count_col, aggregate_function=None
        ).with_row_index(_ROW)
        absent = [g for g in groups if g not in frame.columns]
        frame = frame.with_columns([pl.lit(0.0).alias(g) for g in absent])
        frame = frame.with_columns(pl.col(list(groups)).fill_null(0.0))
    else:
        if not groups:
            raise CountsError("name the count columns in groups=, or give group_col and count_col")
        _require_columns(frame, list(groups), "group")
        for g in groups:
            frame = _check_numeric(frame, g, ident)
        dup = pl.struct(ident).is_duplicated()
        if frame.select(dup.any()).item():
            raise CountsError(
                f"duplicate {' × '.join(ident)} rows, {_rows_text(frame, dup, ident)}"
            )
    groups = tuple(str(g) for g in groups)
    if len(set(groups)) != len(groups):
        raise CountsError(f"groups listed twice: {groups}")

    frame = frame.sort([*by, unit], nulls_last=True, maintain_order=True)
    part = run_ids(frame, by)
    if by:
        keys = frame.select(by)[segment_starts(part)]
    else:
        keys = pl.DataFrame(height=1 if frame.height else 0)
    values = frame.select(list(groups)).to_numpy().astype(np.float64, copy=False)
    return Counts(
        keys=keys,
        by=by,
        unit=unit,
        groups=groups,
        units=frame.get_column(unit),
        part=part,
        values=np.ascontiguousarray(values),
    )
