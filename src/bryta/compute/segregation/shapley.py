"""Spatial structure or composition? Decomposing the difference of an index between two regions.

Two cities (or one city in two years) differ in a segregation index G for two reasons: the
*spatial structure* differs (how many units there are, their sizes, their shapes and where they
lie) and the *attributes* differ (how the focal group is spread over the units). Rey, Cortes &
Knaap (2021) separate the two with counterfactuals in a Shapley decomposition; this is PySAL
``segregation``'s ``DecomposeSegregation``, computed for every pair of partitions at once.

Write G(S_x, A_y) for the index on the spatial structure of side x with the attributes of
side y (x, y ∈ {1, 2}; 1 is ``first``, 2 is ``second``). G(S₁, A₁) and G(S₂, A₂) are the two
observed values; G(S₁, A₂) and G(S₂, A₁) are *counterfactuals*: each unit of one side gets the
value at its own quantile of the other side's distribution (:data:`COUNTERFACTUALS`). Then

    diff      = G(S₂, A₂) − G(S₁, A₁)
    spatial   = ½ [G(S₂, A₁) − G(S₁, A₁)] + ½ [G(S₂, A₂) − G(S₁, A₂)]
    attribute = ½ [G(S₁, A₂) − G(S₁, A₁)] + ½ [G(S₂, A₂) − G(S₂, A₁)]

and spatial + attribute = diff. PySAL reports first − second: its ``c_s`` is −spatial and its
``c_a`` −attribute; bryta keeps the sign of ``bryta compare`` and ``bryta change`` (positive:
the second is more segregated).

Vectorised: the two sides are paired by the ``by`` partitions (each kommun in 2020 against
itself in 2023, or each year of Malmö against the same year of Göteborg); the ranks, the
quantiles and the index values of all pairs are computed together, without a loop over pairs.

Reference: Rey, S. J., Cortes, R. X. & Knaap, E. (2021). Comparative spatial segregation
analytics. Spatial Demography.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from bryta.compute.segregation._margins import Margins, segment_starts
from bryta.compute.segregation.counts import Counts, prepare_counts, to_polars
from bryta.compute.segregation.engine import (
    compute_blocks,
    index_meta,
    long_result,
    resolve_indices,
)
from bryta.compute.segregation.indices import IndexSpec, Params
from bryta.errors import CountsError, InputError

Counterfactual = Literal["composition", "share", "dual_composition"]

#: How a counterfactual side is built (PySAL's ``counterfactual_approach``). For each unit of
#: side 1, p is its percentile rank (average rank of ties / number of units) within side 1 and
#: Q₂(p) the p-quantile (linear interpolation) of side 2's values; likewise the other way.
COUNTERFACTUALS: dict[str, str] = {
    "composition": "the focal group's share of each unit, x/t, is replaced by Q₂(p); the unit "
    "keeps its population t (x' = Q₂(p) · t)",
    "share": "the unit's share of the focal group, x/X, and of the rest, y/Y, are each "
    "replaced by Q₂(p), rescaled to sum to 1 and multiplied by side 1's X and Y; unit "
    "populations change, the group totals do not",
    "dual_composition": "the composition of the focal group (x/t) and of the rest (y/t) are "
    "each replaced by Q₂(p) and multiplied by t; the unit population becomes x' + y'",
}

#: The output columns after the partition keys, ``index`` and ``group``.
COLUMNS = (
    "value_first",
    "value_second",
    "diff",
    "spatial",
    "attribute",
    "counterfactual_first",
    "counterfactual_second",
)


# ---- ranks and quantiles, per partition -------------------------------------------------------
def percentile_ranks(values: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Each value's average rank within its partition divided by the partition's size
    (pandas' ``rank(pct=True)``: ties share the mean of their ranks, ranks count from 1).

    >>> percentile_ranks(np.array([0.3, 0.1, 0.3, 5.0, 2.0]), np.array([0, 0, 0, 1, 1]))
    array([0.83333333, 0.33333333, 0.83333333, 1.        , 0.5       ])
    """
    n = values.size
    order = np.lexsort((values, part))
    sv, sp = values[order], part[order]
    starts = segment_starts(sp)
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n) - starts[sp]
    new = np.r_[True, (sp[1:] != sp[:-1]) | (sv[1:] != sv[:-1])]
    first = np.flatnonzero(new)
    last = np.r_[first[1:], n] - 1
    average = (pos[first] + pos[last]) / 2 + 1
    out = np.empty(n)
    out[order] = average[np.cumsum(new) - 1] / sizes[sp]
    return out


def quantiles(
    values: np.ndarray, part: np.ndarray, q: np.ndarray, q_part: np.ndarray
) -> np.ndarray:
    """The ``q``-quantile of ``values`` within partition ``q_part`` (one query per element),
    interpolated linearly between order statistics as numpy's (and pandas') default does:
    position (n − 1) q in the sorted values.

    >>> quantiles(np.array([4.0, 1.0, 2.0, 10.0]), np.array([0, 0, 0, 1]),
    ...           np.array([0.5, 0.25, 1.0, 0.3]), np.array([0, 0, 0, 1]))
    array([ 2. ,  1.5,  4. , 10. ])
    """
    order = np.lexsort((values, part))
    sv = values[order]
    starts = segment_starts(part[order])
    sizes = np.diff(np.r_[starts, values.size])
    n = sizes[q_part]
    h = (n - 1) * q
    below = np.floor(h)
    top = h >= n - 1
    lo = np.where(top, n - 1, np.maximum(below, 0)).astype(np.int64)
    hi = np.where(top, n - 1, np.minimum(lo + 1, n - 1)).astype(np.int64)
    a = sv[starts[q_part] + lo]
    b = sv[starts[q_part] + hi]
    t = h - below
    step = b - a
    return np.where(t >= 0.5, b - step * (1 - t), a + step * t)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, and 0 where b is 0 (pandas' ``fillna(0)`` after 0 / 0)."""
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)


def _transplant(
    own: np.ndarray, own_part: np.ndarray, other: np.ndarray, other_part: np.ndarray
) -> np.ndarray:
    """Each value of ``own`` replaced by the other side's value at its percentile rank."""
    return quantiles(other, other_part, percentile_ranks(own, own_part), own_part)


def counterfactual_counts(
    x1: np.ndarray,
    t1: np.ndarray,
    part1: np.ndarray,
    x2: np.ndarray,
    t2: np.ndarray,
    part2: np.ndarray,
    approach: Counterfactual = "composition",
) -> tuple[np.ndarray, np.ndarray]:
    """Side 1's counterfactual focal and other counts (x', y') given side 2's distribution.

    ``x`` is the focal group's count and ``t`` the unit population of each row; partition k of
    side 1 takes its distribution from partition k of side 2. See :data:`COUNTERFACTUALS`.

    >>> x, y = counterfactual_counts(
    ...     np.array([10.0, 30.0]), np.array([100.0, 100.0]), np.zeros(2, int),
    ...     np.array([5.0, 50.0, 20.0]), np.array([50.0, 100.0, 100.0]), np.zeros(3, int))
    >>> x.tolist(), y.tolist()  # percentiles 0.5 and 1 of side 2's shares 0.1, 0.2, 0.5
    ([20.0, 50.0], [80.0, 50.0])
    """
    if approach == "composition":
        x = _transplant(_ratio(x1, t1), part1, _ratio(x2, t2), part2) * t1
        return x, t1 - x
    if approach == "dual_composition":
        x = _transplant(_ratio(x1, t1), part1, _ratio(x2, t2), part2) * t1
        y = _transplant(_ratio(t1 - x1, t1), part1, _ratio(t2 - x2, t2), part2) * t1
        return x, y
    if approach == "share":
        m1, m2 = Margins(np.ones((x1.size, 1)), part1), Margins(np.ones((x2.size, 1)), part2)
        out = []
        for c1, c2 in ((x1, x2), (t1 - x1, t2 - x2)):
            total1, total2 = m1.segsum(c1), m2.segsum(c2)
            q = _transplant(_ratio(c1, total1[part1]), part1, _ratio(c2, total2[part2]), part2)
            correction = m1.segsum(q)
            out.append(_ratio(q, correction[part1]) * total1[part1])
        return out[0], out[1]
    raise InputError(
        f"counterfactual= must be one of {', '.join(map(repr, COUNTERFACTUALS))}, not {approach!r}"
    )


# ---- pairing the two sides --------------------------------------------------------------------
def _split(
    frame: Any, between: str, by: Sequence[str], first: Any, second: Any
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows with ``between`` = ``first`` and those with ``between`` = ``second``; a value
    given as text is compared with the column as text (so ``"2020"`` finds the year 2020)."""
    frame = to_polars(frame)
    if between in by:
        raise CountsError(f"{between!r} is both in by= and between=")
    if between not in frame.columns:
        raise CountsError(
            f"between column {between!r} not found (columns: {', '.join(frame.columns)})"
        )
    sides = []
    for label, value in (("first", first), ("second", second)):
        if value is None:
            raise InputError(f"between= needs the two values to compare: give {label}_value=")
        column = pl.col(between).cast(pl.String) if isinstance(value, str) else pl.col(between)
        side = frame.filter(column == value).drop(between)
        if side.height == 0:
            present = frame.get_column(between).unique().sort().head(10).cast(pl.String)
            raise CountsError(
                f"no rows with {between} = {value!r} ({label}_value; values: "
                f"{', '.join(present.to_list())})"
            )
        sides.append(side)
    return sides[0], sides[1]


def _pairs(c1: Counts, c2: Counts) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """The partitions present on both sides (in ``first``'s order): their keys and, for each
    side, the pair number of every partition (−1 when it has no partner)."""
    if c1.n_partitions == 0 or c2.n_partitions == 0:
        raise CountsError("both sides need at least one row of counts")
    if not c1.by:
        return c1.keys, np.zeros(1, np.int64), np.zeros(1, np.int64)
    k1 = c1.keys.with_row_index("__bryta_1")
    k2 = c2.keys.with_row_index("__bryta_2")
    if any(k1.schema[c] != k2.schema[c] for c in c1.by):
        k1 = k1.with_columns(pl.col(list(c1.by)).cast(pl.String))
        k2 = k2.with_columns(pl.col(list(c1.by)).cast(pl.String))
    both = k1.join(k2, on=list(c1.by), how="inner", nulls_equal=True).sort("__bryta_1")
    if both.height == 0:
        raise CountsError(f"no partition of by= ({', '.join(c1.by)}) has rows on both sides")
    pair1 = np.full(c1.n_partitions, -1, np.int64)
    pair2 = np.full(c2.n_partitions, -1, np.int64)
    pair1[both.get_column("__bryta_1").to_numpy()] = np.arange(both.height)
    pair2[both.get_column("__bryta_2").to_numpy()] = np.arange(both.height)
    return c1.keys[both.get_column("__bryta_1").to_numpy()], pair1, pair2


def _paired(counts: Counts, pair: np.ndarray, keys: pl.DataFrame) -> Counts:
    """The rows of ``counts`` in paired partitions, renumbered and ordered by pair."""
    of_row = pair[counts.part]
    rows = np.flatnonzero(of_row >= 0)
    rows = rows[np.argsort(of_row[rows], kind="stable")]
    return Counts(
        keys=keys,
        by=counts.by,
        unit=counts.unit,
        groups=counts.groups,
        units=counts.units[rows],
        part=of_row[rows],
        values=counts.values[rows],
    )


def _spatial_params(
    counts: Counts, geometry: Any, code: str | None, side: str, settings: dict[str, Any]
) -> Any:
    """The geometry of one side's units, from boundaries that may hold other areas too."""
    from bryta.compute.spatial.geometry import build_geometry, load_geometry
    from bryta.compute.spatial.indices import SpatialParams

    frame, label = load_geometry(geometry, code)
    units = counts.units.cast(pl.String).unique()
    lacking = units.filter(~units.is_in(frame.get_column("code").implode())).sort().to_list()
    if lacking:
        shown = ", ".join(lacking[:10]) + (
            f" and {len(lacking) - 10} more" if len(lacking) > 10 else ""
        )
        raise InputError(
            f"{label}: {len(lacking)} units of the {side} side have no geometry in column "
            f"{code or 'code'!r}: {shown}"
        )
    frame = frame.filter(pl.col("code").is_in(units.implode()))
    return SpatialParams(build_geometry(counts, frame, "code"), **settings)


def _check_specs(specs: list[IndexSpec]) -> None:
    wrong = [s.name for s in specs if s.kind != "two_group" or s.simulated]
    if wrong:
        raise InputError(
            f"{', '.join(map(repr, wrong))} cannot be decomposed: the decomposition is of a "
            "single-group index (focal group against the rest), and not of the "
            "simulation-based ones"
        )


# ---- the public function ----------------------------------------------------------------------
def decompose_difference(
    first: Any,
    second: Any = None,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    focal: Sequence[str] | str | None = None,
    indices: Sequence[str] | str | None = "dissimilarity",
    by: Sequence[str] | str | None = None,
    between: str | None = None,
    first_value: Any = None,
    second_value: Any = None,
    counterfactual: Counterfactual = "composition",
    geometry: Any = None,
    geometry_code: str | None = None,
    second_geometry: Any = None,
    group_col: str | None = None,
    count_col: str | None = None,
    b: float = 0.5,
    base: float = math.e,
    m: int = 1000,
    center: str | tuple[float, float] = "mean",
    alpha: float = 0.6,
    beta: float = 0.5,
    standardize: bool = True,
    profile_steps: int = 1000,
) -> pl.DataFrame:
    """Split the difference of a single-group index between two sides into a spatial and an
    attribute (compositional) part (Rey, Cortes & Knaap 2021; PySAL ``DecomposeSegregation``).

    Args:
        first, second: the two sides' counts (two years, or two regions); or one table in
            ``first`` with ``between``, ``first_value`` and ``second_value``.
        unit, groups, group_col, count_col: as in :func:`bryta.measure`.
        focal: the focal group(s), each against the rest; every group in turn when omitted.
        indices: two-group index name(s) (``dissimilarity`` by default; None: every
            deterministic two-group index, the spatial ones too with ``geometry``).
        by: partition columns; partition k of ``first`` is compared with partition k of
            ``second`` (partitions on one side only are left out).
        between, first_value, second_value: the column telling the sides apart in one table
            and its two values (text values are compared with the column as text).
        counterfactual: ``composition`` (default), ``share`` or ``dual_composition`` (PySAL's
            ``counterfactual_approach``; see :data:`COUNTERFACTUALS`).
        geometry, geometry_code: unit boundaries for the spatial indices (as in
            :func:`bryta.measure`; they may hold more areas than the counts);
            ``second_geometry`` when the second side's units have other boundaries.
        b, base, m, center, alpha, beta, standardize, profile_steps: the index parameters, as
            in :func:`bryta.measure`; all four values of a pair use them.

    Returns one row per pair × index × focal group: the ``by`` keys, ``index``, ``group``, and
    ``value_first`` = G(S₁, A₁), ``value_second`` = G(S₂, A₂), ``diff`` (second − first),
    ``spatial``, ``attribute`` (they add up to ``diff``), ``counterfactual_first`` =
    G(S₁, A₂) (first's spatial structure with second's attributes) and
    ``counterfactual_second`` = G(S₂, A₁). PySAL's ``c_s`` is −``spatial``, its ``c_a``
    −``attribute`` (PySAL takes first − second).

    In pair ``p`` two areas of 50 people keep their sizes while the focal group ``x`` moves
    apart (D from 5/12 to 5/6); in pair ``q`` a third, larger area is added too:

    >>> import polars as pl
    >>> one = pl.DataFrame({"k": ["p", "p", "q", "q"], "u": ["a", "b", "a", "b"],
    ...                     "x": [30, 10, 30, 10], "y": [20, 40, 20, 40]})
    >>> two = pl.DataFrame({"k": ["p", "p", "q", "q", "q"], "u": ["a", "b", "a", "b", "c"],
    ...                     "x": [40, 0, 40, 0, 10], "y": [10, 50, 10, 50, 90]})
    >>> out = decompose_difference(one, two, unit="u", groups=["x", "y"], focal="x", by="k")
    >>> out.select("k", "diff", "spatial", "attribute").with_columns(pl.col(pl.Float64).round(4))
    shape: (2, 4)
    ┌─────┬────────┬─────────┬───────────┐
    │ k   ┆ diff   ┆ spatial ┆ attribute │
    │ --- ┆ ---    ┆ ---     ┆ ---       │
    │ str ┆ f64    ┆ f64     ┆ f64       │
    ╞═════╪════════╪═════════╪═══════════╡
    │ p   ┆ 0.4167 ┆ 0.1     ┆ 0.3167    │
    │ q   ┆ 0.3167 ┆ -0.1282 ┆ 0.4449    │
    └─────┴────────┴─────────┴───────────┘

    Even in ``p`` a tenth is "spatial": with two units the percentile ranks are ½ and 1, so
    the lower unit gets the other side's *median* share (0.4, not 0), and G(S₂, A₁) = 0.2 is
    not G(S₁, A₁) = 5/12. The counterfactuals are quantile maps, exact only for many units.
    """
    if counterfactual not in COUNTERFACTUALS:
        raise InputError(
            f"counterfactual= must be one of {', '.join(map(repr, COUNTERFACTUALS))}, "
            f"not {counterfactual!r}"
        )
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if second is None:
        if between is None:
            raise InputError(
                "give second (the other side's counts), or between= with "
                "first_value= and second_value="
            )
        first, second = _split(first, between, by_cols, first_value, second_value)
    elif between is not None:
        raise InputError("give either second or between=, not both")
    if second_geometry is not None and geometry is None:
        raise InputError("second_geometry= needs geometry= for the first side")
    specs = resolve_indices(indices, spatial=geometry is not None)
    _check_specs(specs)

    def prepare(data: Any) -> Counts:
        return prepare_counts(
            data, unit=unit, groups=groups, by=by_cols, group_col=group_col, count_col=count_col
        )

    c1, c2 = prepare(first), prepare(second)
    keys, pair1, pair2 = _pairs(c1, c2)
    s1, s2 = _paired(c1, pair1, keys), _paired(c2, pair2, keys)
    if focal is None:
        names = list(c1.groups)
    else:
        names = [str(focal)] if isinstance(focal, str) else [str(g) for g in focal]
    for side, counts in (("first", c1), ("second", c2)):
        unknown = [g for g in names if g not in counts.groups]
        if unknown:
            raise InputError(
                f"focal group {', '.join(map(repr, unknown))} is not among the {side} side's "
                f"groups {', '.join(counts.groups)}"
            )

    params1 = params2 = Params(b=b, base=base, m=m)
    if geometry is not None and any(s.spatial for s in specs):
        from dataclasses import replace

        settings = {
            "center": center,
            "alpha": alpha,
            "beta": beta,
            "standardize": standardize,
            "profile_steps": profile_steps,
        }
        params1 = replace(
            params1, spatial=_spatial_params(s1, geometry, geometry_code, "first", settings)
        )
        params2 = replace(
            params2,
            spatial=_spatial_params(
                s2,
                second_geometry if second_geometry is not None else geometry,
                geometry_code,
                "second",
                settings,
            ),
        )

    def evaluate(x: np.ndarray, y: np.ndarray, part: np.ndarray, params: Params) -> np.ndarray:
        values, _, _ = compute_blocks(
            Margins(np.column_stack([x, y]), part), specs, np.zeros(1, np.int64), params
        )
        return values

    t1, t2 = s1.values.sum(axis=1), s2.values.sum(axis=1)
    blocks: dict[str, list[np.ndarray]] = {name: [] for name in COLUMNS}
    for name in names:
        x1 = s1.values[:, s1.groups.index(name)]
        x2 = s2.values[:, s2.groups.index(name)]
        cf1 = counterfactual_counts(x1, t1, s1.part, x2, t2, s2.part, counterfactual)
        cf2 = counterfactual_counts(x2, t2, s2.part, x1, t1, s1.part, counterfactual)
        g11 = evaluate(x1, t1 - x1, s1.part, params1)
        g22 = evaluate(x2, t2 - x2, s2.part, params2)
        g12 = evaluate(*cf1, s1.part, params1)
        g21 = evaluate(*cf2, s2.part, params2)
        blocks["value_first"].append(g11)
        blocks["value_second"].append(g22)
        blocks["diff"].append(g22 - g11)
        blocks["spatial"].append(0.5 * ((g21 - g11) + (g22 - g12)))
        blocks["attribute"].append(0.5 * ((g12 - g11) + (g22 - g21)))
        blocks["counterfactual_first"].append(g12)
        blocks["counterfactual_second"].append(g21)

    # partitions × (index, focal group): the order of bryta.measure
    def arrange(parts: list[np.ndarray]) -> np.ndarray:
        return np.stack(parts, axis=2).reshape(keys.height, -1)

    columns = [(s.name, c1.groups.index(g)) for s in specs for g in names]
    meta = index_meta(c1.groups, columns)
    result = long_result(keys, meta, arrange(blocks["value_first"]), value_name="value_first")
    return result.with_columns(
        pl.Series(name, arrange(blocks[name]).ravel()) for name in COLUMNS[1:]
    )
