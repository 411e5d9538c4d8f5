"""Transitions between area types: who moves between the five types from one period to another.

The input is an area-types frame as :func:`bryta.area_types` returns it: one row per area and
period with the area type (an integer 1–5, type 1 the greatest socioeconomic challenges; null
where the area has no type), optionally with a population column and the socioeconomic index.

* :func:`transition_matrix` — for two periods, the areas (and people) in each cell of the
  types × types table;
* :func:`persistence` — for every pair of consecutive periods at once, the share of the areas
  (and of the people) of each type that keep their type;
* :func:`changed_areas` — the areas whose type changed between two periods, with their kommun
  and län;
* :func:`population_by_type` — the population living in each type, per kommun, län or the
  whole country and period, with shares.

**No type** (null) means either that the area is missing from that period (for instance a new
RegSO after a boundary revision) or that it is present without a type (a missing index). The
matrix never drops such areas silently: they are counted in cells where ``from_type`` or
``to_type`` is null. Every function works on all areas (and all periods) at once with polars
expressions; there is no Python loop over areas, kommuner or periods.

Periods are matched by value; ``first="2020"`` also finds an integer ``2020`` column (the value
is cast to the column's type). Consecutive periods are the distinct periods of the frame in
sorted order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from bryta.compute._coerce import ROW as _ROW
from bryta.compute._coerce import rows_text as _rows
from bryta.compute._coerce import to_number
from bryta.compute.segregation.counts import to_polars
from bryta.errors import InputError
from bryta.geography.codes import VERSIONS, add_parents, code_pattern

__all__ = [
    "TransitionError",
    "changed_areas",
    "persistence",
    "population_by_type",
    "transition_matrix",
]

Level = Literal["kommun", "lan", "riket"]
LEVELS: tuple[str, ...] = ("kommun", "lan", "riket")

_RANK = "__bryta_rank"
_TO = "__bryta_to"


class TransitionError(InputError):
    """An area-types frame that cannot be compared across periods (names column and rows)."""


# ---- validation -----------------------------------------------------------------------------


def _as_number(data: pl.DataFrame, column: str, show: Sequence[str]) -> pl.Series:
    """A numeric column; text (CSV) becomes Int64 when every value is whole, else Float64."""
    return to_number(data, column, show=show, error=TransitionError)


def _as_type(data: pl.DataFrame, column: str, n_types: int, show: Sequence[str]) -> pl.Series:
    """The type column as Int8, checked to hold whole numbers 1 … n_types or null."""
    number = _as_number(data, column, show)
    if number.dtype.is_float():
        bad = number.is_not_null() & (number != number.floor())
        if bad.any():
            raise TransitionError(
                f"column {column!r} must hold whole type numbers, " + _rows(data, bad, show)
            )
    out = number.cast(pl.Int64)
    bad = out.is_not_null() & ((out < 1) | (out > n_types))
    if bad.any():
        raise TransitionError(
            f"column {column!r} must hold types 1–{n_types} (or be empty), "
            + _rows(data.with_columns(out.alias(column)), bad, [*show, column])
        )
    return out.cast(pl.Int8).alias(column)


def _prepare(
    types: Any,
    *,
    unit: str,
    period: str | Sequence[str],
    type_col: str,
    n_types: int,
    numeric: Sequence[str | None] = (),
    keep: Sequence[str] = (),
) -> pl.DataFrame:
    """Select and check the columns: one row per unit × period (the ``period`` column, or
    every combination of the ``by`` columns given as a list), types in range, numbers."""
    if n_types < 2:
        raise TransitionError(f"n_types must be at least 2, not {n_types}")
    data = to_polars(types)
    periods = [period] if isinstance(period, str) else list(period)
    numbers = [c for c in numeric if c is not None]
    needed = list(dict.fromkeys([unit, *periods, type_col, *numbers, *keep]))
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise TransitionError(
            f"column {', '.join(map(repr, missing))} not found; "
            f"the table has {', '.join(map(repr, data.columns))}"
        )
    if unit in periods:
        raise TransitionError(f"column {unit!r} is both the unit and a period (by) column")
    data = data.select(needed).with_row_index(_ROW)
    ident = [unit, *periods]
    for column in ident:
        empty = data.get_column(column).is_null()
        if empty.any():
            raise TransitionError(
                f"column {column!r} has missing values, " + _rows(data, empty, ident)
            )
    repeated = data.select(ident).is_duplicated()
    if repeated.any():
        per = f" per {', '.join(periods)}" if periods else " (name the period column in by=)"
        raise TransitionError(
            f"each {unit} must appear once{per}; repeated in " + _rows(data, repeated, ident)
        )
    casts = [_as_type(data, type_col, n_types, ident)]
    casts += [_as_number(data, c, ident).alias(c) for c in numbers if c != type_col]
    return data.with_columns(casts)


def _period_value(data: pl.DataFrame, period: str, value: Any) -> Any:
    """``value`` in the type of the period column, checked to occur in the frame."""
    column = data.get_column(period)
    cast = pl.Series([value]).cast(column.dtype, strict=False)[0]
    if cast is None or not column.eq(cast).any():
        shown = ", ".join(map(str, column.unique().sort().head(20).to_list()))
        raise TransitionError(f"{period} {value!r} is not in the table; it has {shown}")
    return cast


def _type_grid(n_types: int, names: Sequence[str]) -> pl.DataFrame:
    """Every combination of types 1 … n_types over the columns ``names`` (Int8)."""
    grid = pl.DataFrame({names[0]: range(1, n_types + 1)}, schema={names[0]: pl.Int8})
    for name in names[1:]:
        grid = grid.join(grid.select(pl.col(names[0]).alias(name)), how="cross")
    return grid


def _share(part: str, whole: str) -> pl.Expr:
    """``part / whole`` as a float, null where ``whole`` is zero (no areas, no people)."""
    return pl.when(pl.col(whole) > 0).then(pl.col(part) / pl.col(whole)).otherwise(None)


def _pairs(
    data: pl.DataFrame,
    first: Any,
    second: Any,
    *,
    unit: str,
    period: str,
    type_col: str,
    extra: Sequence[str],
) -> pl.DataFrame:
    """One row per area present in either period: unit, from_type, to_type and, for each of
    ``extra``, ``<extra>_first`` and ``<extra>_second`` (null where the area is absent)."""
    a, b = _period_value(data, period, first), _period_value(data, period, second)

    def side(value: Any, label: str, type_name: str) -> pl.DataFrame:
        return data.filter(pl.col(period) == value).select(
            unit,
            pl.col(type_col).alias(type_name),
            *[pl.col(c).alias(f"{c}_{label}") for c in extra],
        )

    left, right = side(a, "first", "from_type"), side(b, "second", "to_type")
    return left.join(right, on=unit, how="full", coalesce=True).sort(unit)


# ---- public functions -----------------------------------------------------------------------


def transition_matrix(
    types: Any,
    *,
    first: Any,
    second: Any,
    unit: str = "regso",
    period: str = "year",
    type_col: str = "area_type",
    population: str | None = None,
    n_types: int = 5,
) -> pl.DataFrame:
    """The areas (and people) moving between area types from period ``first`` to ``second``.

    Args:
        types: one row per area and period (polars, pandas or Arrow), e.g. the output of
            :func:`bryta.area_types`.
        first, second: the two periods (values of the ``period`` column).
        unit: the column naming the area.
        period: the column naming the period.
        type_col: the area-type column (whole numbers 1 … ``n_types``; null: no type).
        population: a population column; adds the people in each cell in each period.
        n_types: the number of types (5 with the official band edges).

    Returns:
        ``from_type, to_type, areas`` (and ``population_first, population_second``: the summed
        population of the cell's areas in each period). All ``n_types`` × ``n_types`` cells
        come first, zeros included, sorted by ``from_type`` then ``to_type``. Then, only where
        non-empty, the cells with a null ``from_type`` (no type in ``first``: the area is
        missing from that period or has no index) or a null ``to_type`` (no type in
        ``second``). Row sums are the areas of each type in ``first``, column sums those in
        ``second``.

    >>> types = pl.DataFrame({
    ...     "regso": ["a", "b", "c", "a", "b", "c", "d"],
    ...     "year": [2020, 2020, 2020, 2021, 2021, 2021, 2021],
    ...     "area_type": [1, 2, 2, 1, 1, 2, 5]})
    >>> m = transition_matrix(types, first=2020, second=2021)
    >>> m.filter(pl.col("areas") > 0).rows()
    [(1, 1, 1), (2, 1, 1), (2, 2, 1), (None, 5, 1)]
    >>> m.height  # 25 cells plus the new area "d" (no type in 2020)
    26
    """
    extra = [population] if population else []
    data = _prepare(
        types, unit=unit, period=period, type_col=type_col, n_types=n_types, numeric=extra
    )
    pairs = _pairs(data, first, second, unit=unit, period=period, type_col=type_col, extra=extra)
    sums = []
    if population:
        sums = [
            pl.col(f"{population}_first").sum().alias("population_first"),
            pl.col(f"{population}_second").sum().alias("population_second"),
        ]
    cells = pairs.group_by("from_type", "to_type").agg(
        pl.len().cast(pl.Int64).alias("areas"), *sums
    )
    counted = [c for c in cells.columns if c not in ("from_type", "to_type")]
    grid = _type_grid(n_types, ["from_type", "to_type"])
    typed = grid.join(cells, on=["from_type", "to_type"], how="left").with_columns(
        pl.col(counted).fill_null(0)
    )
    untyped = cells.filter(pl.col("from_type").is_null() | pl.col("to_type").is_null())
    untyped = untyped.sort("from_type", "to_type", nulls_last=True)
    return pl.concat([typed, untyped.select(typed.columns)])


def persistence(
    types: Any,
    *,
    unit: str = "regso",
    period: str = "year",
    type_col: str = "area_type",
    population: str | None = None,
    n_types: int = 5,
) -> pl.DataFrame:
    """The share of areas (and people) keeping their type, for every pair of consecutive
    periods at once.

    An area counts for a pair when it has a type in both periods; areas missing from either
    period or without a type there are left out (see :func:`transition_matrix` for them).

    Args:
        types: one row per area and period, e.g. the output of :func:`bryta.area_types`.
        unit, period, type_col, n_types: as in :func:`transition_matrix`.
        population: a population column; adds shares of people (the population in the
            ``first`` period of the pair).

    Returns:
        One row per pair of consecutive periods × type (all ``n_types`` types, zeros
        included) and an overall row per pair with a null type: ``first, second,
        <type_col>, areas`` (typed in both periods), ``kept`` (areas with the same type in
        ``second``), ``share`` (kept / areas, null without areas) and, with ``population``,
        ``population, population_kept, population_share``. The overall ``kept`` is the trace
        of the pair's transition matrix.

    >>> types = pl.DataFrame({
    ...     "regso": ["a", "b", "c", "a", "b", "c", "a", "b", "c"],
    ...     "year": [2020] * 3 + [2021] * 3 + [2022] * 3,
    ...     "area_type": [1, 2, 2, 1, 1, 2, 1, 1, 2]})
    >>> rates = persistence(types).filter(pl.col("areas") > 0)
    >>> rates.select("first", "area_type", "areas", "kept", pl.col("share").round(3)).rows()
    [(2020, 1, 1, 1, 1.0), (2020, 2, 2, 1, 0.5), (2020, None, 3, 2, 0.667),
     (2021, 1, 2, 2, 1.0), (2021, 2, 1, 1, 1.0), (2021, None, 3, 3, 1.0)]
    """
    extra = [population] if population else []
    data = _prepare(
        types, unit=unit, period=period, type_col=type_col, n_types=n_types, numeric=extra
    )
    data = data.with_columns(pl.col(period).rank("dense").cast(pl.Int64).alias(_RANK))
    periods = data.select(pl.col(period).alias("first"), _RANK).unique().sort(_RANK)
    periods = periods.with_columns(pl.col("first").shift(-1).alias("second")).drop_nulls("second")
    typed = data.filter(pl.col(type_col).is_not_null())
    left = typed.select(unit, _RANK, type_col, *extra)
    right = typed.select(unit, (pl.col(_RANK) - 1).alias(_RANK), pl.col(type_col).alias(_TO))
    pairs = left.join(right, on=[unit, _RANK], how="inner")

    same = pl.col(type_col) == pl.col(_TO)
    aggs = [pl.len().cast(pl.Int64).alias("areas"), same.sum().cast(pl.Int64).alias("kept")]
    if population:
        aggs += [
            pl.col(population).sum().alias("population"),
            pl.col(population).filter(same).sum().alias("population_kept"),
        ]
    by_type = pairs.group_by(_RANK, type_col).agg(aggs)
    overall = pairs.group_by(_RANK).agg(aggs).with_columns(pl.lit(None, pl.Int8).alias(type_col))
    counted = [c for c in by_type.columns if c not in (_RANK, type_col)]

    grid = periods.join(_type_grid(n_types, [type_col]), how="cross")
    rows = pl.concat(
        [
            grid.join(by_type, on=[_RANK, type_col], how="left"),
            periods.with_columns(pl.lit(None, pl.Int8).alias(type_col)).join(
                overall.drop(type_col), on=_RANK, how="left"
            ),
        ],
        how="diagonal",
    ).with_columns(pl.col(counted).fill_null(0))
    shares = [_share("kept", "areas").alias("share")]
    if population:
        shares.append(_share("population_kept", "population").alias("population_share"))
    rows = rows.with_columns(shares).sort(_RANK, type_col, nulls_last=True)
    columns = ["first", "second", type_col, "areas", "kept", "share"]
    if population:
        columns += ["population", "population_kept", "population_share"]
    return rows.select(columns)


def changed_areas(
    types: Any,
    *,
    first: Any,
    second: Any,
    unit: str = "regso",
    period: str = "year",
    type_col: str = "area_type",
    index_col: str | None = "index",
    population: str | None = None,
    untyped: bool = False,
    n_types: int = 5,
) -> pl.DataFrame:
    """The areas whose type changed from period ``first`` to ``second``.

    Args:
        types, first, second, unit, period, type_col, population, n_types: as in
            :func:`transition_matrix`.
        index_col: the socioeconomic index column, reported in both periods; the index
            columns are left out when the frame has no such column (e.g. official types
            loaded with :func:`bryta.read_area_types`) or when it is None.
        untyped: also list areas with a type in only one of the two periods.

    Returns:
        One row per changed area, sorted by unit: ``<unit>``, ``kommun`` and ``lan`` (read
        from RegSO, DeSO or kommun codes; left out for other units), ``from_type, to_type``,
        ``index_first, index_second`` and, with ``population``, ``population_first,
        population_second``.

    >>> types = pl.DataFrame({
    ...     "regso": ["0114R001", "0114R002", "0180R001"] * 2,
    ...     "year": [2020] * 3 + [2021] * 3,
    ...     "index": [30.0, 12.0, 21.0, 31.0, 20.5, 22.0],
    ...     "area_type": [1, 4, 3, 1, 3, 3]})
    >>> changed_areas(types, first=2020, second=2021).rows()
    [('0114R002', '0114', '01', 4, 3, 12.0, 20.5)]
    """
    use_index = index_col is not None and index_col in to_polars(types).columns
    extra = [c for c in (index_col if use_index else None, population) if c]
    data = _prepare(
        types, unit=unit, period=period, type_col=type_col, n_types=n_types, numeric=extra
    )
    pairs = _pairs(data, first, second, unit=unit, period=period, type_col=type_col, extra=extra)
    # ne_missing: a type against no type counts as a change, no type against no type does not
    differ = pl.col("from_type").ne_missing(pl.col("to_type"))
    both = pl.col("from_type").is_not_null() & pl.col("to_type").is_not_null()
    changed = pairs.filter(differ if untyped else differ & both)
    renames: dict[str, str] = {}
    if use_index:
        renames |= {f"{index_col}_first": "index_first", f"{index_col}_second": "index_second"}
    if population:
        renames |= {
            f"{population}_first": "population_first",
            f"{population}_second": "population_second",
        }
    changed = changed.rename(renames)
    # kommun and län read from the codes, null for a code that is not one (nothing is
    # added when no code is a RegSO, DeSO or kommun code)
    lookup = _parents(data.select(unit).unique(), unit)
    located = [c for c in ("kommun", "lan") if c in lookup.columns and c != unit]
    changed = changed.join(lookup.select(unit, *located), on=unit, how="left")
    return changed.select(unit, *located, "from_type", "to_type", *renames.values())


def _parents(units: pl.DataFrame, unit: str) -> pl.DataFrame:
    """``kommun`` and ``lan`` of each code in ``unit`` that is a RegSO, DeSO or kommun code
    (any version), null for the others; the frame unchanged when no code is one."""
    text = pl.col(unit).cast(pl.String)
    valid = pl.any_horizontal(
        text.str.contains(code_pattern(level, version))
        for level in ("deso", "regso", "kommun")
        for version in (None, *VERSIONS.get(level, ()))
    ).fill_null(False)
    if not units.select(valid.any()).item():
        return units
    return units.with_columns(
        pl.when(valid).then(text.str.slice(0, 4)).alias("kommun"),
        pl.when(valid).then(text.str.slice(0, 2)).alias("lan"),
    )


def population_by_type(
    types: Any,
    population: str,
    level: Level = "kommun",
    *,
    unit: str = "regso",
    by: Sequence[str] | str | None = "year",
    type_col: str = "area_type",
    n_types: int = 5,
) -> pl.DataFrame:
    """The population living in each area type, per kommun, län or the whole country and
    period, with each type's share of the population.

    The kommun and län come from a ``kommun`` / ``lan`` column of ``types`` when there is one,
    else from the RegSO or DeSO codes of ``unit``. People in areas without a type are given in
    a row with a null type, so that the population column sums to the total population and
    the shares of a kommun (län) and period sum to 1.

    Args:
        types: one row per area and period with a population column.
        population: the population column (missing values count as 0).
        level: ``"kommun"``, ``"lan"`` or ``"riket"`` (one row set for the country, code 00).
        by: partition columns besides the level, usually the period: each area appears once
            per combination, and the shares are taken per level × combination. Default
            ``"year"``; None for a frame of one period.
        unit, type_col, n_types: as in :func:`transition_matrix`.

    Returns:
        ``<level>, <by…>, <type_col>, areas, population, share``, all types for every
        level × partition (zeros included), sorted; ``share`` is null where the kommun (län)
        has no population in that partition.

    >>> types = pl.DataFrame({
    ...     "regso": ["0114R001", "0114R002", "0180R001"], "year": 2022,
    ...     "area_type": [1, 3, 3], "population": [1000, 3000, 4000]})
    >>> population_by_type(types, "population").filter(pl.col("areas") > 0).rows()
    [('0114', 2022, 1, 1, 1000, 0.25), ('0114', 2022, 3, 1, 3000, 0.75),
     ('0180', 2022, 3, 1, 4000, 1.0)]
    """
    if level not in LEVELS:
        raise TransitionError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    columns = to_polars(types).columns
    keep = [level] if level in columns and level != unit else []
    periods = [by] if isinstance(by, str) else list(by or [])
    keys = list(dict.fromkeys([level, *periods]))
    data = _prepare(
        types,
        unit=unit,
        period=periods,
        type_col=type_col,
        n_types=n_types,
        numeric=[population],
        keep=keep,
    )
    if level == "riket":
        data = data.with_columns(pl.lit("00").alias("riket"))
    elif level not in data.columns:
        empty = pl.lit(None, pl.String).alias(level)
        data = add_parents(data, unit) if data.height else data.with_columns(empty)
        if level not in data.columns:
            raise TransitionError(
                f"cannot tell the {level} of the {unit!r} codes; "
                f"add a {level!r} column or use RegSO, DeSO or kommun codes"
            )
    counts = data.group_by(*keys, type_col).agg(
        pl.len().cast(pl.Int64).alias("areas"), pl.col(population).fill_null(0).sum()
    )
    grid = data.select(keys).unique().join(_type_grid(n_types, [type_col]), how="cross")
    typed = grid.join(counts, on=[*keys, type_col], how="left").with_columns(
        pl.col("areas", population).fill_null(0)
    )
    rows = pl.concat([typed, counts.filter(pl.col(type_col).is_null()).select(typed.columns)])
    total = pl.col(population).sum().over(keys)
    share = pl.when(total > 0).then(pl.col(population) / total).otherwise(None)
    return (
        rows.with_columns(share.alias("share"))
        .rename({population: "population"} if population != "population" else {})
        .sort(*keys, type_col, nulls_last=True)
    )
