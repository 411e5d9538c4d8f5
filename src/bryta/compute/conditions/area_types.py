"""The socioeconomic index and the five area types (områdestyper), per area and period.

SCB and Delegationen mot segregation classify every RegSO each year by a **socioeconomic
index**: the plain mean of three percentages,

* the share of people with low economic standard (household disposable income per consumption
  unit below 60 % of the national median),
* the share aged 20–64 whose highest education is below upper secondary,
* the share aged 20–64 with economic assistance for at least 10 months and/or unemployed for
  more than 6 months.

A higher index means greater socioeconomic challenges. The **area type** comes from where the
index lies in that year's distribution over all areas, in standard deviations (SD) from the
mean; each band is closed below:

==== =========================================== ==========================================
type condition                                    SCB's name
==== =========================================== ==========================================
1    index ≥ mean + 2 SD                          stora socioekonomiska utmaningar
2    mean + 1 SD ≤ index < mean + 2 SD            socioekonomiska utmaningar
3    mean ≤ index < mean + 1 SD                   socioekonomiskt blandade områden
4    mean − 1 SD ≤ index < mean                   goda socioekonomiska förutsättningar
5    index < mean − 1 SD                          mycket goda socioekonomiska förutsättningar
==== =========================================== ==========================================

Every part of the method is a setting of :func:`area_types`, with the official reading as the
default: the index is the **unweighted** mean of the shares (``weights``); mean and SD are taken
over all areas of the period (each partition of ``by``), **unweighted** (``weighted``), the SD
with ``ddof = 0`` (``ddof``); the band edges are at +2, +1, 0 and −1 SD (``cutoffs``). Whether
SCB weights the mean and SD by population is not documented, so ``weighted=True`` gives the
population-weighted alternative (frequency weights: the variance divides by total
population − ``ddof``).

Areas with a missing share (or, when weighting, a missing population) get no index and no type
and do not enter the distribution. A period with fewer than two typed areas, or where every
index is equal (SD = 0), gets no types: the bands are undefined there.

All periods are classified in one pass (window expressions over the ``by`` columns), with the
mean and SD computed in two passes (mean first, then squared deviations), so a distribution
whose mean and SD are exact binary numbers puts an area exactly on a band edge where it belongs.

Reference: SCB and Delegationen mot segregation (2021), *Regional statistik om socioekonomiska
förutsättningar: RegSO-indelning och socioekonomiskt index* (method description of the index
and the area types, statistikdatabasen table TAB6586).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import polars as pl

from bryta.compute._coerce import ROW as _ROW
from bryta.compute._coerce import rows_text as _rows
from bryta.compute._coerce import to_float
from bryta.compute.segregation.counts import to_polars
from bryta.errors import InputError

__all__ = ["AREA_TYPE_NAMES", "OFFICIAL_CUTOFFS", "area_types"]

#: Band edges of the official method, in SD from the mean: the lower edge of types 1, 2, 3, 4.
OFFICIAL_CUTOFFS: tuple[float, ...] = (2.0, 1.0, 0.0, -1.0)

#: SCB's names of the five area types (Swedish, English).
AREA_TYPE_NAMES: dict[int, tuple[str, str]] = {
    1: ("Områden med stora socioekonomiska utmaningar", "great socioeconomic challenges"),
    2: ("Områden med socioekonomiska utmaningar", "socioeconomic challenges"),
    3: ("Socioekonomiskt blandade områden", "socioeconomically mixed"),
    4: ("Områden med goda socioekonomiska förutsättningar", "good socioeconomic conditions"),
    5: (
        "Områden med mycket goda socioekonomiska förutsättningar",
        "very good socioeconomic conditions",
    ),
}


class AreaTypeError(InputError):
    """The input to :func:`area_types` cannot be classified (names the column and rows)."""


def area_types(
    frame: Any,
    *,
    unit: str,
    shares: Sequence[str],
    by: Sequence[str] | str | None = None,
    weights: Sequence[float] | None = None,
    population: str | None = None,
    weighted: bool = False,
    ddof: int = 0,
    cutoffs: Sequence[float] = OFFICIAL_CUTOFFS,
    details: bool = False,
) -> pl.DataFrame:
    """The socioeconomic index and the area type of every area in every period.

    Args:
        frame: polars, pandas or Arrow table with one row per area and period.
        unit: the column naming the area (e.g. ``regso``).
        shares: the input percentages (0–100), e.g. low economic standard, low education,
            long-term assistance or unemployment.
        by: partition columns, usually the period (e.g. ``"year"``): each partition is
            classified against its own distribution (its own mean and SD), and each area
            must appear once per partition. None: all rows form one distribution.
        weights: a weight per share (the index is the weighted mean of the shares); equal
            weights when omitted, as in the official method.
        population: a population column, needed for ``weighted``; it is passed through to the
            output when given.
        weighted: population-weighted mean and SD instead of the unweighted ones.
        ddof: delta degrees of freedom of the SD (0: divide by n, the default; 1: by n − 1).
        cutoffs: band edges in SD from the mean, strictly decreasing; ``k`` edges make
            ``k + 1`` types, type 1 at or above the first edge. Default: +2, +1, 0, −1.
        details: add the period's ``mean`` and ``sd`` and each area's ``z`` (SD from the mean).

    Returns:
        One row per input row, sorted by the ``by`` columns and unit: ``<unit>, <by…>,
        index, area_type`` (Int8; null where undefined), then the population and, with
        ``details``, the partition's ``mean`` and ``sd`` and the area's ``z``.

    Areas exactly on a band edge belong to the band above the edge (bands are closed below):

    >>> panel = pl.DataFrame({
    ...     "regso": list("abcdefghij"), "year": [2022] * 10,
    ...     "low_income": [28, 12, 24, 16, 20, 20, 20, 20, 20, 20],
    ...     "low_education": [28, 12, 24, 16, 20, 20, 20, 20, 20, 20],
    ...     "assistance": [28, 12, 24, 16, 20, 20, 20, 20, 20, 20],
    ... })
    >>> typed = area_types(panel, unit="regso", by="year",
    ...                    shares=["low_income", "low_education", "assistance"], details=True)
    >>> typed.head(5).select("regso", "index", "area_type", "mean", "sd")
    shape: (5, 5)
    ┌───────┬───────┬───────────┬──────┬─────┐
    │ regso ┆ index ┆ area_type ┆ mean ┆ sd  │
    │ ---   ┆ ---   ┆ ---       ┆ ---  ┆ --- │
    │ str   ┆ f64   ┆ i8        ┆ f64  ┆ f64 │
    ╞═══════╪═══════╪═══════════╪══════╪═════╡
    │ a     ┆ 28.0  ┆ 1         ┆ 20.0 ┆ 4.0 │
    │ b     ┆ 12.0  ┆ 5         ┆ 20.0 ┆ 4.0 │
    │ c     ┆ 24.0  ┆ 2         ┆ 20.0 ┆ 4.0 │
    │ d     ┆ 16.0  ┆ 4         ┆ 20.0 ┆ 4.0 │
    │ e     ┆ 20.0  ┆ 3         ┆ 20.0 ┆ 4.0 │
    └───────┴───────┴───────────┴──────┴─────┘
    """
    data = to_polars(frame)
    shares = list(shares)
    keys = [by] if isinstance(by, str) else list(by or [])
    cuts = _check_settings(shares, weights, population, weighted, ddof, cutoffs)
    needed = [unit, *keys, *shares, *([population] if population else [])]
    _require(data, needed)
    data = data.select(needed).with_row_index(_ROW)
    _check_unique(data, unit, keys)
    for column in shares:
        data = _numeric(data, column, [unit, *keys], percent=True)
    if population:
        data = _numeric(data, population, [unit, *keys], percent=False)

    def per(expr: pl.Expr) -> pl.Expr:
        """``expr`` over each partition (over the whole frame without ``by``)."""
        return expr.over(keys) if keys else expr

    w = [1.0] * len(shares) if weights is None else [float(x) for x in weights]
    index = pl.sum_horizontal(pl.col(c) * wi for c, wi in zip(shares, w, strict=True)) / sum(w)
    # sum_horizontal skips nulls; an area with any missing share has no index
    index = (
        pl.when(pl.any_horizontal(pl.col(c).is_null() for c in shares)).then(None).otherwise(index)
    )
    data = data.with_columns(index.alias("index"))

    valid = pl.col("index").is_not_null()
    if weighted and population:  # _check_settings refuses weighted without a population
        valid = valid & pl.col(population).is_not_null()
        weight = pl.when(valid).then(pl.col(population)).otherwise(0.0)
    else:
        weight = pl.when(valid).then(1.0).otherwise(0.0)
    x = pl.when(valid).then(pl.col("index")).otherwise(0.0)
    total = per(weight.sum())
    mean = per((weight * x).sum()) / total
    data = data.with_columns(
        mean.alias("mean"), total.alias("__weight_total"), valid.alias("__valid")
    )
    deviation = pl.when(pl.col("__valid")).then(pl.col("index") - pl.col("mean")).otherwise(0.0)
    variance = per((weight * deviation**2).sum()) / (pl.col("__weight_total") - ddof)
    n_valid = per(pl.col("__valid").sum())
    defined = (n_valid >= 2) & (pl.col("__weight_total") > ddof)
    sd = pl.when(defined).then(variance.sqrt()).otherwise(None)
    data = data.with_columns(sd.alias("sd"))
    data = data.with_columns(pl.when(pl.col("sd") > 0).then(pl.col("sd")).otherwise(None))

    above = pl.sum_horizontal(
        (pl.col("index") >= pl.col("mean") + c * pl.col("sd")).cast(pl.Int8) for c in cuts
    )
    typed = pl.col("__valid") & pl.col("sd").is_not_null()
    area_type = pl.when(typed).then(len(cuts) + 1 - above).otherwise(None).cast(pl.Int8)
    z = pl.when(typed).then((pl.col("index") - pl.col("mean")) / pl.col("sd")).otherwise(None)
    data = data.with_columns(area_type.alias("area_type"), z.alias("z"))
    data = data.with_columns(
        pl.when(pl.col("__valid")).then(pl.col("mean")).otherwise(None).alias("mean"),
    )

    columns = [unit, *keys, "index", "area_type"]
    if population:
        columns.append(population)
    if details:
        columns += ["mean", "sd", "z"]
    return data.sort(*keys, unit, maintain_order=True).select(columns)


def _check_settings(
    shares: list[str],
    weights: Sequence[float] | None,
    population: str | None,
    weighted: bool,
    ddof: int,
    cutoffs: Sequence[float],
) -> list[float]:
    if not shares:
        raise AreaTypeError("give at least one share column")
    if len(set(shares)) != len(shares):
        raise AreaTypeError(f"share columns repeat: {', '.join(shares)}")
    if weights is not None:
        if len(weights) != len(shares):
            raise AreaTypeError(
                f"{len(weights)} weights for {len(shares)} shares: give one weight per share"
            )
        if any(not (w >= 0) for w in weights) or sum(weights) <= 0:
            raise AreaTypeError("weights must be non-negative with a positive sum")
    if weighted and not population:
        raise AreaTypeError("a population-weighted mean and SD needs a population column")
    if ddof not in (0, 1):
        raise AreaTypeError(f"ddof must be 0 or 1, not {ddof}")
    cuts = [float(c) for c in cutoffs]
    if not cuts or any(a <= b for a, b in pairwise(cuts)):
        raise AreaTypeError(
            f"cutoffs must be strictly decreasing SD multiples, e.g. 2,1,0,-1; got {cuts}"
        )
    return cuts


def _require(frame: pl.DataFrame, names: Sequence[str]) -> None:
    missing = [n for n in dict.fromkeys(names) if n not in frame.columns]
    if missing:
        raise AreaTypeError(
            f"column {', '.join(map(repr, missing))} not found; "
            f"the table has {', '.join(map(repr, frame.columns))}"
        )
    if len(set(names)) != len(names):
        raise AreaTypeError(f"a column is named twice among {', '.join(names)}")


def _check_unique(frame: pl.DataFrame, unit: str, keys: list[str]) -> None:
    repeated = frame.select(unit, *keys).is_duplicated()
    if repeated.any():
        per = f"per {', '.join(keys)}" if keys else "(name the period column in by=)"
        raise AreaTypeError(
            f"each {unit} must appear once {per}; repeated in "
            + _rows(frame, repeated, [unit, *keys])
        )


def _numeric(frame: pl.DataFrame, column: str, show: list[str], *, percent: bool) -> pl.DataFrame:
    """Cast ``column`` to Float64 (text is parsed), naming rows that are not valid values."""
    values = to_float(frame, column, show=show, error=AreaTypeError)
    low, high, what = (0.0, 100.0, "percentages (0–100)") if percent else (0.0, None, "counts")
    bad = ~values.is_finite() | (values < low)
    if high is not None:
        bad = bad | (values > high)
    bad = bad.fill_null(False)
    if bad.any():
        shown = frame.with_columns(values.alias(column))
        raise AreaTypeError(
            f"column {column!r} must hold {what}; out of range in "
            + _rows(shown, bad, [*show, column])
        )
    return frame.with_columns(values.alias(column))
