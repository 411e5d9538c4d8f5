"""Comparing two periods or regions: the change in M decomposed, and differences of any index
tested against chance. Two inputs, or one input split by a column (``between``)."""

from __future__ import annotations

from typing import Any

import polars as pl

from bryta.errors import InputError


def split_between(
    frame: pl.DataFrame, between: str, first: str, second: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows with ``between`` = ``first`` and those with ``between`` = ``second``, without
    the ``between`` column; values are compared as text (as given on a command line).

    >>> one, two = split_between(pl.DataFrame({"year": [2020, 2023], "n": [1, 2]}),
    ...                          "year", "2020", "2023")
    >>> one["n"].to_list(), two["n"].to_list()
    ([1], [2])
    """
    if between not in frame.columns:
        raise InputError(
            f"--between column {between!r} not found (columns: {', '.join(frame.columns)})"
        )
    values = frame.get_column(between).cast(pl.String)
    parts = []
    for option, value in (("--first", first), ("--second", second)):
        part = frame.filter(values == value).drop(between)
        if part.height == 0:
            present = values.unique().sort().head(10).to_list()
            raise InputError(
                f"{option} {value!r}: no rows with {between} = {value!r} "
                f"(values: {', '.join(map(str, present))})"
            )
        parts.append(part)
    return parts[0], parts[1]


def change(
    first: pl.DataFrame,
    second: pl.DataFrame | None = None,
    *,
    between: str | None = None,
    first_value: str | None = None,
    second_value: str | None = None,
    **spec: Any,
) -> pl.DataFrame:
    """The decomposition of the change in M (:func:`bryta.mutual_difference`) between two
    inputs, or between two values of ``between`` in one input."""
    from bryta.compute.segregation.change import mutual_difference

    if second is None:
        if not (between and first_value is not None and second_value is not None):
            raise InputError("give a second input file, or --between with --first and --second")
        first, second = split_between(first, between, first_value, second_value)
    elif between is not None:
        raise InputError("give either a second input file or --between, not both")
    return mutual_difference(first, second, **spec)


def compare(frame: pl.DataFrame, *, between: str, **spec: Any) -> pl.DataFrame:
    """Differences of each index between two values of ``between``, with intervals and
    p-values (:func:`bryta.compare`); ``between`` is compared as text."""
    from bryta.compute.segregation.inference import compare as run_compare

    if between in frame.columns:
        frame = frame.with_columns(frame.get_column(between).cast(pl.String))
    return run_compare(frame, between=between, **spec)
