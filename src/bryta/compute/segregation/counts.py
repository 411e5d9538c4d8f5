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

from bryta.compute import _coerce as coerce
from bryta.compute._coerce import ROW as _ROW
from bryta.compute._coerce import rows_text as _rows_text
from bryta.compute.segregation._margins import segment_starts
from bryta.errors import CountsError


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


def take_rows(
    frame: pl.DataFrame, rows: np.ndarray, columns: Sequence[str] | None = None
) -> pl.DataFrame:
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


def to_polars(data: Any, what: str = "counts") -> pl.DataFrame:
    """Accept a polars (lazy) frame, a pandas frame or an Arrow table; return a polars frame.
    ``what`` names the argument in the error for anything else."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return pl.from_pandas(data.reset_index(drop=True))
    if module == "pyarrow":
        frame = pl.from_arrow(data)
        return frame if isinstance(frame, pl.DataFrame) else frame.to_frame()
    raise CountsError(f"{what} must be a polars, pandas or Arrow table, not {type(data).__name__}")


def _require_columns(frame: pl.DataFrame, names: Sequence[str], role: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        present = [c for c in frame.columns if c != _ROW]
        raise CountsError(
            f"{role} column {', '.join(map(repr, missing))} not found; "
            f"the table has {', '.join(map(repr, present))}"
        )


def _check_numeric(
    frame: pl.DataFrame, column: str, show: Sequence[str], *, whole: bool = False
) -> pl.DataFrame:
    """Convert a count column to Float64 (see :func:`bryta.compute._coerce.counts`)."""
    fix = " (weighted counts: fractional=True, --fractional on the command line)"
    values = coerce.counts(frame, column, show=show, whole=whole, fix=fix)
    return frame.with_columns(values)


#: Values that name a total of the groups rather than a group (compared without case).
TOTAL_GROUPS: frozenset[str] = frozenset({"totalt", "total", "samtliga", "summa", "totalsumma"})
#: Values that name the whole country or a total rather than an area (compared without case).
TOTAL_AREAS: frozenset[str] = TOTAL_GROUPS | {"sverige", "riket", "hela riket", "00 riket"}
_DROP = "remove those rows, or drop them with --drop-totals (drop_totals=True in Python)"
#: Code columns and the pattern of a code that lost its leading zero (Excel stores codes as
#: numbers): a kommun code of 1-3 digits, a län code of 1, RegSO and DeSO codes of 3+4/3+5.
_SHORT_CODES = {
    "kommun": (r"^\d{1,3}$", "0114"),
    "lan": (r"^\d$", "01"),
    "län": (r"^\d$", "01"),
    "regso": (r"^\d{3}R\d{3}(_RegSO\d{4})?$", "0114R001"),
    "deso": (r"^\d{3}[ABC]\d{4}(_DeSO\d{4})?$", "0114A0010"),
}
#: The lengths of whole codes (SCB's 2025 codes carry a suffix): a text column whose codes all
#: have one of them holds no short code, which saves the pattern match on every call.
_CODE_LENGTHS = {
    "kommun": (4,),
    "lan": (2,),
    "län": (2,),
    "regso": (8, 18),
    "deso": (9, 19),
}


def _is_total(column: pl.Expr, names: frozenset[str]) -> pl.Expr:
    return column.cast(pl.String).str.strip_chars().str.to_lowercase().is_in(list(names))


def _check_codes(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    """Refuse kommun, län, RegSO and DeSO codes that lost their leading zero (``114``)."""
    for column in columns:
        rule = _SHORT_CODES.get(column.lower())
        if rule is None:
            continue
        pattern, example = rule
        series = frame.get_column(column)
        lengths = _CODE_LENGTHS[column.lower()]
        if series.dtype == pl.String and not series.null_count():
            sizes = series.str.len_bytes()
            whole = sizes == lengths[0]
            for length in lengths[1:]:
                whole |= sizes == length
            if whole.all():
                continue
        short = pl.col(column).cast(pl.String).str.strip_chars().str.contains(pattern)
        if not frame.select(short.fill_null(False).any()).item():
            continue
        mask = frame.select(short.fill_null(False)).to_series()
        raise CountsError(
            f"column {column!r} has codes without their leading zero "
            f"({column} codes look like {example!r}), {_rows_text(frame, mask, [column])}; "
            "Excel drops the zero when a code column is stored as numbers: format the "
            f"column as text, or pad the codes with zeros ({example!r})"
        )


def _distinct(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """The distinct values of ``column``, as a one-column frame."""
    return frame.select(pl.col(column).unique())


def _totals(
    frame: pl.DataFrame, column: str, names: frozenset[str], what: str, drop: bool
) -> pl.DataFrame:
    """Rows of ``column`` naming a total: dropped with ``drop``, else refused."""
    total = _is_total(pl.col(column), names).fill_null(False)
    if not _distinct(frame, column).select(total.any()).item():
        return frame
    mask = frame.select(total).to_series()
    if drop:
        return frame.filter(~mask)
    values = frame.filter(mask).get_column(column).cast(pl.String).unique(maintain_order=True)
    shown = ", ".join(repr(v) for v in values.head(3).to_list())
    raise CountsError(
        f"{what} column {column!r} holds a total, not {'an area' if what == 'unit' else 'a group'}"
        f": {shown}, {_rows_text(frame, mask, [column])}; measured as "
        f"{'an area' if what == 'unit' else 'a group'} it counts everyone twice: {_DROP}"
    )


def drop_totals(
    data: Any, *, unit: str, groups: Sequence[str] | None = None, group_col: str | None = None
) -> tuple[pl.DataFrame, list[str] | None]:
    """Drop the rows whose unit is a total (``Sverige``, ``riket``, ``totalt``, …), the long
    rows whose group is one (``totalt``, ``samtliga``, …) and total count columns from
    ``groups``; return the frame and the groups left (what ``drop_totals=True`` does).

    >>> frame = pl.DataFrame({"area": ["a", "Riket"], "x": [1, 9], "Totalt": [2, 9]})
    >>> kept, groups = drop_totals(frame, unit="area", groups=["x", "Totalt"])
    >>> kept["area"].to_list(), groups
    (['a'], ['x'])
    """
    frame = to_polars(data)
    _require_columns(frame, [unit], "unit")
    frame = _totals(frame, unit, TOTAL_AREAS, "unit", True)
    if group_col is not None and group_col in frame.columns:
        frame = _totals(frame, group_col, TOTAL_GROUPS, "group", True)
    if groups is not None:
        groups = [g for g in groups if str(g).strip().lower() not in TOTAL_GROUPS]
    return frame, groups


def prepare_counts(
    data: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
    drop_totals: bool = False,
    fractional: bool = True,
) -> Counts:
    """Validate a counts table and turn it into :class:`Counts`.

    Wide input names its count columns in ``groups``. Long input names ``group_col`` and
    ``count_col``; ``groups`` then optionally selects and orders the groups (by default every
    group in the order it first appears).

    A unit that is a total (``Sverige``, ``riket``, ``totalt``, ``samtliga``, … among the areas)
    or a group that is one (a long group ``totalt``/``samtliga``, a count column so named) is
    refused, since measuring it counts everyone twice; ``drop_totals=True`` drops those rows
    (or columns) instead. Key columns named ``kommun``, ``lan``, ``regso`` or ``deso`` whose
    codes lost their leading zero (``114``) are refused. ``fractional=False`` refuses counts
    that are not whole numbers (people); weighted counts need the default.

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
    _check_codes(frame, ident)
    frame = _totals(frame, unit, TOTAL_AREAS, "unit", drop_totals)
    whole = not fractional

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
            frame = _totals(frame, group_col, TOTAL_GROUPS, "group", drop_totals)
            groups = frame.get_column(group_col).unique(maintain_order=True).to_list()
        else:
            groups = [str(g) for g in groups]
            frame = frame.filter(pl.col(group_col).is_in(groups))
            frame = _totals(frame, group_col, TOTAL_GROUPS, "group", drop_totals)
            groups = [g for g in groups if g.strip().lower() not in TOTAL_GROUPS]
        frame = _check_numeric(frame, count_col, [*ident, group_col], whole=whole)
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
        totals = [g for g in groups if str(g).strip().lower() in TOTAL_GROUPS]
        if totals and not drop_totals:
            raise CountsError(
                f"count column {totals[0]!r} is a total, not a group; measured as a group it "
                "counts everyone twice: leave it out of the groups, or drop it with "
                "--drop-totals (drop_totals=True in Python)"
            )
        groups = [g for g in groups if g not in totals]
        for g in groups:
            frame = _check_numeric(frame, g, ident, whole=whole)
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
