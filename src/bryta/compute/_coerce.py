"""Text → number, once for all of bryta: counts, shares, populations, coordinates, periods.

Tables from CSV and Excel files arrive as text (so that codes keep their zeros). A column is
converted when a computation checks it, by the functions here, which read numbers the way
Swedish exports write them:

* white space is removed wherever it is, so spaces, no-break spaces (U+00A0) and thin spaces
  (U+2009, U+202F) as thousands separators are accepted: ``1 234`` → 1234;
* a single comma with no point is a decimal comma: ``48,5`` → 48.5; a value with both a comma
  and a point (``1,234.5``, ``1.234,5``) is ambiguous and refused;
* the minus sign U+2212 is read as ``-``;
* empty cells and SCB's missing-value markers ``..``, ``.`` and ``-`` are missing values.

Errors name the column and the first offending rows (data rows counted from 1), never the
internal row-number column.

>>> import polars as pl
>>> frame = pl.DataFrame({"n": ["1 234", "48,5", "..", "\\u2212 2"]})
>>> to_float(frame, "n", show=[]).to_list()
[1234.0, 48.5, None, -2.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from bryta.errors import CountsError, InputError

__all__ = ["MISSING_MARKERS", "ROW", "counts", "rows_text", "to_float", "to_number"]

#: The internal column holding each row's position (0-based) while a table is checked.
ROW = "__bryta_row"
#: Cell values read as missing (besides null): empty, and SCB's ``..``, ``.``, ``-``.
MISSING_MARKERS: tuple[str, ...] = ("", "..", ".", "-")
_MAX_SHOWN = 5


def rows_text(frame: pl.DataFrame, mask: pl.Series | pl.Expr, show: Sequence[str]) -> str:
    """Describe the first offending rows: ``'3 rows: row 2 (kommun='0114', …); … and 1 more'``.

    Rows are data rows counted from 1 (the header not counted), read from the :data:`ROW`
    column when the frame has one, else from the position in ``frame``.
    """
    if ROW not in frame.columns:
        frame = frame.with_row_index(ROW)
    bad = frame.filter(mask)
    first = bad.head(_MAX_SHOWN)
    shown = [c for c in dict.fromkeys(show) if c != ROW]
    parts = []
    for rec in first.iter_rows(named=True):
        where = ", ".join(f"{c}={rec[c]!r}" for c in shown)
        parts.append(f"row {rec[ROW] + 1}" + (f" ({where})" if where else ""))
    more = f" and {bad.height - first.height} more" if bad.height > first.height else ""
    noun = "row" if bad.height == 1 else "rows"
    return f"{bad.height} {noun}: " + "; ".join(parts) + more


def _parse(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Float64 values of a text series and the mask of cells that are missing."""
    cleaned = (
        text.cast(pl.String)
        .str.replace_all(r"\s+", "")  # Unicode white space: NBSP, thin spaces included
        .str.replace_all("\u2212", "-", literal=True)
    )
    frame = pl.DataFrame({"t": cleaned})
    t = pl.col("t")
    missing = t.is_null() | t.is_in(list(MISSING_MARKERS))
    decimal_comma = (t.str.count_matches(",", literal=True) == 1) & ~t.str.contains(
        ".", literal=True
    )
    normal = pl.when(decimal_comma).then(t.str.replace(",", ".", literal=True)).otherwise(t)
    out = frame.select(
        pl.when(missing).then(None).otherwise(normal.cast(pl.Float64, strict=False)).alias("v"),
        missing.fill_null(True).alias("m"),
    )
    return out.get_column("v").alias(text.name), out.get_column("m")


def to_number(
    frame: pl.DataFrame,
    column: str,
    *,
    show: Sequence[str],
    error: type[InputError] = InputError,
    label: str = "column",
) -> pl.Series:
    """``column`` as numbers: numeric columns as they are; text as Int64 when every value is
    whole, else Float64. Missing cells (see the module text) become null; text that is not a
    number raises ``error`` naming the column and rows."""
    series = frame.get_column(column)
    dtype = series.dtype
    if dtype.is_numeric():
        return series
    if dtype not in (pl.String, pl.Categorical, pl.Enum, pl.Null):
        raise error(f"{label} {column!r} is {dtype}, not numeric")
    values, missing = _parse(series)
    bad = ~missing & values.is_null()
    if bad.any():
        raise error(
            f"{label} {column!r} has values that are not numbers, "
            + rows_text(frame, bad, [*show, column])
        )
    finite = values.is_finite().fill_null(True)
    whole = (values == values.round()).fill_null(True)
    if finite.all() and whole.all():
        return values.cast(pl.Int64).alias(column)
    return values.alias(column)


def to_float(
    frame: pl.DataFrame,
    column: str,
    *,
    show: Sequence[str],
    error: type[InputError] = InputError,
    label: str = "column",
) -> pl.Series:
    """:func:`to_number` as Float64."""
    return to_number(frame, column, show=show, error=error, label=label).cast(pl.Float64)


def counts(
    frame: pl.DataFrame,
    column: str,
    *,
    show: Sequence[str],
    error: type[InputError] = CountsError,
    whole: bool = True,
    fix: str = "",
) -> pl.Series:
    """A count column as Float64: numbers (see the module text) that are present, finite,
    not negative and, with ``whole``, whole (people or dwellings; ``12.5`` is refused, naming
    the rows; ``fix`` is added to that message)."""
    series = frame.get_column(column)
    label = f"count column {column!r}"
    # integers are whole and finite already: only missing and negative values are left to check
    if series.dtype.is_integer() and not series.null_count() and not (series < 0).any():
        return series.cast(pl.Float64)
    values = to_float(frame, column, show=show, error=error, label="count column")
    missing = values.is_null()
    if missing.any():
        raise error(f"{label} has missing values, {rows_text(frame, missing, show)}")
    bad = ~values.is_finite() | (values < 0)
    if bad.any():
        shown = frame.with_columns(values)
        raise error(
            f"{label} has negative or non-finite counts, " + rows_text(shown, bad, [*show, column])
        )
    if whole:
        fractional = values != values.round()
        if fractional.any():
            shown = frame.with_columns(values)
            raise error(
                f"{label} has counts that are not whole numbers, "
                + rows_text(shown, fractional, [*show, column])
                + "; counts are numbers of people (or dwellings), not shares or means"
                + fix
            )
    return values


def whole_if_possible(series: pl.Series) -> pl.Series:
    """A text column of whole numbers (periods such as ``2020``, integer ids) as Int64, so
    ``9`` sorts before ``10``; any other column, and codes with a leading zero (``0114``),
    are returned unchanged."""
    if series.dtype != pl.String:
        return series
    if series.str.strip_chars().str.contains(r"^[+-]?0\d").any():
        return series
    values, missing = _parse(series)
    if values.null_count() != int(missing.sum()):
        return series
    if not (values == values.round()).fill_null(True).all():
        return series
    return values.cast(pl.Int64).alias(series.name)
