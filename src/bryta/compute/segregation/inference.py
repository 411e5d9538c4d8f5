"""Uncertainty: bootstrap, expected values under random allocation, comparisons.

Every function takes the vocabulary of :func:`bryta.measure` (``unit``, ``groups``, ``by``,
``indices``, ``focal``) plus ``seed`` and works on all partitions at once: replicates are
stacked as extra partitions and evaluated by the same engine, in blocks (see
:mod:`._sampling`). Counts must be whole people.

* :func:`bootstrap` — individual-level resampling: each replicate draws the partition's N
  people with replacement, i.e. a multinomial over its unit × group cells. Adds ``se``,
  ``ci_low``/``ci_high``, ``bias`` = mean of the replicates − the estimate, and
  ``value_bc`` = value − bias, the bias-corrected estimate (for dissimilarity the correction
  of Allen et al. 2015). ``value`` stays the estimate on the data. The interval is by default
  the percentile interval shifted by −2 · bias, so that it is centred on the bias-corrected
  estimate: segregation indices are biased upwards in small samples, and the plain percentile
  interval (``ci_method="percentile"``) then misses the true value far more often than its
  nominal rate (measured in docs/inference.md).
* :func:`expected` — the mean (and SD) of each index when people are allocated to units at
  random: with both margins fixed (a random permutation of group labels) or with margins
  simulated (a multinomial with cell probabilities t_u N_g / T²). Also ``adjusted`` =
  (value − expected) / (1 − expected) (Carrington & Troske 1997) for indices bounded by 1.
* :func:`compare` — the difference between two periods or regions (``between`` column with
  the values ``first`` and ``second``) with a bootstrap CI and a bootstrap or permutation
  p-value, one- or two-sided.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import polars as pl

from bryta.compute.progress import Progress
from bryta.compute.segregation._margins import Margins, segment_starts
from bryta.compute.segregation._poisson import kernels
from bryta.compute.segregation._sampling import (
    PeopleResampler,
    block_sizes,
    hypergeometric_allocation,
    multinomial_cells,
    run_blocks,
)
from bryta.compute.segregation.counts import Counts, run_ids, take_rows, to_polars
from bryta.compute.segregation.engine import (
    compute_blocks,
    index_meta,
    long_result,
    plan,
    with_geometry,
)
from bryta.compute.segregation.indices import IndexSpec, Params
from bryta.errors import CountsError, InputError

Alternative = Literal["two-sided", "greater", "less"]


def _whole_people(values: np.ndarray, what: str) -> np.ndarray:
    rounded = np.rint(values)
    if not np.array_equal(rounded, values):
        raise CountsError(f"{what} resamples people: counts must be whole numbers")
    return rounded.astype(np.int64)


#: Indices evaluated on whole-people replicates from sufficient statistics (_information).
_INFORMATION = ("mutual_information", "theil_h")


def _xlogx(a: np.ndarray) -> np.ndarray:
    """x ln x (0 at 0) of whole numbers, through a table when it is smaller than ``a``."""
    top = int(a.max()) if a.size else 0
    if top < a.size:
        x = np.arange(top + 1, dtype=np.float64)
        return (x * np.log(np.maximum(x, 1.0)))[a]
    x = a.astype(np.float64)
    return x * np.log(np.maximum(x, 1.0))


#: x ln x is looked up for x below 2^XLOGX_BITS (32 MiB at most) and computed beyond.
XLOGX_BITS = 22


@functools.lru_cache(maxsize=4)
def _xlogx_table(bits: int) -> np.ndarray:
    """x ln x for x = 0 … 2^bits − 1."""
    x = np.arange(1 << bits, dtype=np.float64)
    return x * np.log(np.maximum(x, 1.0))


def _information(values: np.ndarray, part: np.ndarray, n_rep: int, specs, params) -> np.ndarray:
    """M and H of whole-people replicates from their sufficient statistics, with f = x ln x:
    T·M = Σ_ug f(n_ug) − Σ_u f(t_u) − Σ_g f(N_g) + f(T) and T·E = f(T) − Σ_g f(N_g) — one
    compiled pass over the cells (:func:`._kernels.information_sums`) instead of
    the engine's general margins. NaN where the engine
    gives NaN: no people, fewer than two populated units, or fewer than two groups present.
    """
    n_rows = part.size
    cells = values.reshape(n_rep, n_rows, -1)
    starts = np.r_[segment_starts(part), n_rows]
    bound = int(values.max(initial=0)) * cells.shape[2]  # at least every unit's total
    table = _xlogx_table(min(bound.bit_length(), XLOGX_BITS))
    sums = kernels().information_sums(cells, starts, table)
    cell_sum, unit_sum, f_groups, total, populated, present = sums
    f_total = _xlogx(total)
    info = cell_sum - unit_sum - f_groups + f_total
    entropy = f_total - f_groups
    undefined = (total <= 0) | (populated < 2) | (present < 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = {
            "mutual_information": info / total / params.log_base,
            "theil_h": info / entropy,
        }
    out = np.stack([columns[spec.name] for spec in specs], axis=-1)
    out[undefined] = np.nan
    return out


def _evaluate(
    values: np.ndarray, part: np.ndarray, n_rep: int, n_parts: int, specs, focal, params
) -> np.ndarray:
    """Index values for ``n_rep`` stacked replicates: (n_rep, partitions, columns)."""
    if values.dtype.kind in "iu" and specs and all(s.name in _INFORMATION for s in specs):
        return _information(values, part, n_rep, specs, params)
    n_rows = part.size
    rep_part = (np.arange(n_rep, dtype=np.int64)[:, None] * n_parts + part[None, :]).ravel()
    m = Margins(values.reshape(n_rep * n_rows, -1).astype(np.float64), rep_part)
    if params.spatial is not None:  # every replicate keeps its partition's geometry
        settings = replace(params.spatial, geometry=params.spatial.geometry.tiled(n_rep))
        params = replace(params, spatial=settings)
    out, _, _ = compute_blocks(m, specs, focal, params)
    return out.reshape(n_rep, n_parts, -1)


def _deterministic(specs: Sequence[IndexSpec], what: str) -> None:
    """The simulation-based indices already compare the data with simulated tables; they are
    not resampled again (their seed would not follow the replicates')."""
    simulated = [s.name for s in specs if s.simulated]
    if simulated:
        raise InputError(
            f"{', '.join(simulated)} {'is' if len(simulated) == 1 else 'are'} simulation-based; "
            f"{what} takes the deterministic indices only (drop it from --index)"
        )


@dataclass(frozen=True)
class _Observed:
    """A planned measurement, its values on the data, and the people behind them."""

    prepared: Counts
    specs: list[IndexSpec]
    focal: np.ndarray
    params: Params
    margins: Margins
    values: np.ndarray
    columns: list[tuple[str, int]]
    people: np.ndarray

    @classmethod
    def of(cls, counts: Any, what: str, **plan_args: Any) -> _Observed:
        prepared, specs, focal, params = plan(counts, **plan_args)
        _deterministic(specs, what)
        from bryta.compute.spatial.implicit import EgohoodCounts, egohood_blocks

        if isinstance(prepared, EgohoodCounts):
            # people are drawn from the counts as they are; every replicate is smoothed
            m = Margins(prepared.raw, prepared.part)
            values, _, columns = egohood_blocks(prepared, specs, focal, params)
        else:
            m = Margins(prepared.values, prepared.part)
            values, _, columns = compute_blocks(m, specs, focal, params)
        people = _whole_people(m.n, what)
        return cls(prepared, specs, focal, params, m, values, columns, people)

    def evaluate(self, cells: np.ndarray, n_rep: int) -> np.ndarray:
        m = self.margins
        from bryta.compute.spatial.implicit import (
            EgohoodCounts,
            smooth_replicates,
            smoothed_blocks,
        )

        if isinstance(self.prepared, EgohoodCounts):
            smoothed = smooth_replicates(self.prepared, cells, n_rep)
            n_parts = m.n_partitions * n_rep
            out, _, _ = smoothed_blocks(smoothed, n_parts, self.specs, self.focal, self.params)
            return out.reshape(n_rep, m.n_partitions, -1)
        return _evaluate(cells, m.part, n_rep, m.n_partitions, self.specs, self.focal, self.params)

    def result(self) -> pl.DataFrame:
        meta = index_meta(self.prepared.groups, self.columns)
        return long_result(self.prepared.keys, meta, self.values)


def _summaries(reps: np.ndarray, ci: float) -> dict[str, np.ndarray]:
    if not 0 < ci < 1:
        raise InputError(f"ci must be between 0 and 1, got {ci}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
        tail = (1 - ci) / 2
        low, high = np.nanquantile(reps, [tail, 1 - tail], axis=0)
        return {
            "mean": np.nanmean(reps, axis=0),
            "se": np.nanstd(reps, axis=0, ddof=1) if reps.shape[0] > 1 else reps[0] * np.nan,
            "low": low,
            "high": high,
        }


def _partition_segments(m: Margins, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    ends = np.r_[m.starts[1:], m.part.size]
    return m.starts * n_groups, ends * n_groups


def _replicate(
    draw: Callable[[int, np.random.Generator], np.ndarray],
    n_rep: int,
    cells: int,
    seed: Any,
    threads: int | None,
    progress: Progress | None,
) -> list:
    if n_rep < 1:
        raise InputError(f"the number of replicates must be at least 1, got {n_rep}")
    return run_blocks(block_sizes(n_rep, cells), seed, draw, threads, progress)


def bootstrap(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    indices: Sequence[str] | str | None = None,
    focal: Sequence[str] | str | None = None,
    n_bootstrap: int = 100,
    seed: int | None = None,
    ci: float = 0.95,
    ci_method: Literal["bias_corrected", "percentile"] = "bias_corrected",
    b: float = 0.5,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    geometry: Any = None,
    geometry_code: str | None = None,
    spatial: dict[str, Any] | None = None,
    density_optimizer: str = "nelder_mead",
    distance: float | None = None,
    kernel: str = "triangular",
    w: Any = None,
) -> pl.DataFrame:
    """Indices with bootstrap standard errors, percentile intervals and bias.

    Returns the columns of :func:`bryta.measure` plus ``value_bc``, ``bias``, ``se``,
    ``ci_low``, ``ci_high``. The same ``seed`` gives the same numbers on any number of
    ``threads``. ``progress`` is called with the number of replicates just finished; the
    steps add up to ``n_bootstrap`` (see :mod:`bryta.compute.progress`).

    ``density_optimizer`` is :func:`bryta.measure`'s, and so are ``distance``, ``kernel`` and
    ``w`` (egohoods): the people are drawn from the counts as given and every replicate is
    smoothed over the egohoods before the index is computed.
    ``geometry`` and ``geometry_code`` (as for :func:`bryta.measure`) add the spatial indices;
    ``spatial`` holds their parameters by name (``center``, ``alpha``, ``beta``,
    ``standardize``, ``profile_steps``, ``metric``). People are resampled within their
    partition and the units' boundaries stay: the uncertainty is the sampling of people, not
    of the map.

    >>> import polars as pl
    >>> df = pl.DataFrame({"unit": ["u1", "u2", "u3"], "a": [30, 10, 20], "b": [10, 30, 20]})
    >>> out = bootstrap(df, unit="unit", groups=["a", "b"], indices="theil_h", seed=1)
    >>> out.columns
    ['index', 'group', 'value', 'value_bc', 'bias', 'se', 'ci_low', 'ci_high']
    >>> bool(out["bias"][0] > 0)  # small samples inflate H
    True
    """
    if ci_method not in ("bias_corrected", "percentile"):
        raise InputError(f"ci_method must be 'bias_corrected' or 'percentile', not {ci_method!r}")
    obs = _Observed.of(
        counts,
        "the bootstrap",
        unit=unit,
        groups=groups,
        by=by,
        indices=indices,
        focal=focal,
        group_col=group_col,
        count_col=count_col,
        b=b,
        base=base,
        geometry=geometry,
        geometry_code=geometry_code,
        spatial=spatial,
        density_optimizer=density_optimizer,
        distance=distance,
        kernel=kernel,
        w=w,
    )
    m, estimate = obs.margins, obs.values
    seg_lo, seg_hi = _partition_segments(m, obs.people.shape[1])
    totals = obs.people.reshape(-1)

    sampler = PeopleResampler(totals, seg_lo, seg_hi, threads)

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        # Evaluate each piece of replicates as soon as it is drawn (bounds the memory).
        parts = [obs.evaluate(c, c.shape[0]) for c in sampler.chunks(size, rng)]
        return np.concatenate(parts, axis=0)

    reps = np.concatenate(
        _replicate(draw, n_bootstrap, totals.size, seed, threads, progress), axis=0
    )
    stats = _summaries(reps, ci)
    bias = stats["mean"] - estimate
    shift = 2 * bias if ci_method == "bias_corrected" else 0.0
    return obs.result().with_columns(
        pl.Series("value_bc", (estimate - bias).ravel()),
        pl.Series("bias", bias.ravel()),
        pl.Series("se", stats["se"].ravel()),
        pl.Series("ci_low", (stats["low"] - shift).ravel()),
        pl.Series("ci_high", (stats["high"] - shift).ravel()),
    )


def expected(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    indices: Sequence[str] | str | None = None,
    focal: Sequence[str] | str | None = None,
    fixed_margins: bool = True,
    n_bootstrap: int = 100,
    seed: int | None = None,
    b: float = 0.5,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    geometry: Any = None,
    geometry_code: str | None = None,
    spatial: dict[str, Any] | None = None,
    density_optimizer: str = "nelder_mead",
    distance: float | None = None,
    kernel: str = "triangular",
    w: Any = None,
) -> pl.DataFrame:
    """Each index's expected value when people are allocated to units at random.

    Returns the columns of :func:`bryta.measure` plus ``expected`` (the mean over
    ``n_bootstrap`` random allocations; the name is R ``segregation``'s), ``expected_se``
    (their standard deviation) and ``adjusted`` = (value − expected) / (1 − expected) for
    indices whose maximum is 1.
    ``fixed_margins=True`` keeps every unit's size and every group's size (a permutation of
    the group labels over the people); ``False`` draws a multinomial table from the
    independence model t_u N_g / T, so the margins vary too. ``progress`` is called with the
    number of allocations just finished; the steps add up to ``n_bootstrap``.
    ``geometry``, ``geometry_code`` and ``spatial`` add the spatial indices, as for
    :func:`bootstrap`: people move between units at random, the map stays; with
    ``distance``/``kernel``/``w`` every random table is smoothed over the egohoods.

    >>> import polars as pl
    >>> df = pl.DataFrame({"unit": ["u1", "u2"], "a": [5, 5], "b": [5, 5]})
    >>> out = expected(df, unit="unit", groups=["a", "b"], indices="dissimilarity",
    ...                focal="a", seed=3)
    >>> bool(out["value"][0] == 0 and out["expected"][0] > 0)  # random allocation is uneven
    True
    """
    obs = _Observed.of(
        counts,
        "random allocation",
        unit=unit,
        groups=groups,
        by=by,
        indices=indices,
        focal=focal,
        group_col=group_col,
        count_col=count_col,
        b=b,
        base=base,
        geometry=geometry,
        geometry_code=geometry_code,
        spatial=spatial,
        density_optimizer=density_optimizer,
        distance=distance,
        kernel=kernel,
        w=w,
    )
    m, observed, people = obs.margins, obs.values, obs.people
    n_groups = people.shape[1]
    unit_totals = people.sum(axis=1)
    group_totals = _whole_people(m.N, "random allocation")

    if fixed_margins:

        def draw(size: int, rng: np.random.Generator) -> np.ndarray:
            cells = hypergeometric_allocation(unit_totals, group_totals, m.part, size, rng)
            return obs.evaluate(cells, size)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            masses = (m.t[:, None] * m.pi_rows).reshape(-1)
        seg_lo, seg_hi = _partition_segments(m, n_groups)
        partition_n = m.T.astype(np.int64)

        def draw(size: int, rng: np.random.Generator) -> np.ndarray:
            cells = multinomial_cells(masses, seg_lo, seg_hi, np.tile(partition_n, (size, 1)), rng)
            return obs.evaluate(cells, size)

    reps = np.concatenate(
        _replicate(draw, n_bootstrap, people.size, seed, threads, progress), axis=0
    )
    stats = _summaries(reps, 0.95)
    specs = {spec.name: spec for spec in obs.specs}
    bounded = np.array([specs[name].upper == 1 for name, _ in obs.columns])
    with np.errstate(invalid="ignore", divide="ignore"):
        adjusted = np.where(bounded, (observed - stats["mean"]) / (1 - stats["mean"]), np.nan)
    return obs.result().with_columns(
        pl.Series("expected", stats["mean"].ravel()),
        pl.Series("expected_se", stats["se"].ravel()),
        pl.Series("adjusted", adjusted.ravel()),
    )


def _p_value(
    diff_obs: np.ndarray, draws: np.ndarray, alternative: Alternative, permutation: bool
) -> np.ndarray:
    """p-values from bootstrap draws of the difference, or from its permutation distribution."""
    n = np.sum(~np.isnan(draws), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if permutation:  # the null distribution of the difference: (1 + extreme) / (1 + n)
            if alternative == "two-sided":
                extreme = np.sum(np.abs(draws) >= np.abs(diff_obs) - 1e-12, axis=0)
            elif alternative == "greater":
                extreme = np.sum(draws >= diff_obs - 1e-12, axis=0)
            else:
                extreme = np.sum(draws <= diff_obs + 1e-12, axis=0)
            p = (1 + extreme) / (1 + n)
        else:  # how often the bootstrap distribution of the difference crosses zero
            below = (1 + np.sum(draws <= 0, axis=0)) / (1 + n)
            above = (1 + np.sum(draws >= 0, axis=0)) / (1 + n)
            p = {
                "two-sided": np.minimum(1.0, 2 * np.minimum(below, above)),
                "greater": below,
                "less": above,
            }[alternative]
    return np.where(np.isnan(diff_obs), np.nan, p)


@dataclass(frozen=True)
class _Side:
    """How one sample of :func:`compare` is evaluated on the rows of both samples (the units
    of either, a unit the sample lacks holding no one). The spatial indices are evaluated on
    the sample's own units, ``rows`` (None: all rows), with the sample's geometry; an empty
    area would otherwise count in the region's area and contiguity."""

    part: np.ndarray
    n_parts: int
    n_groups: int
    plain: list[IndexSpec]
    spatial: list[IndexSpec]
    focal: np.ndarray
    params: Params
    own: Params
    rows: np.ndarray | None

    def evaluate(self, cells: np.ndarray, size: int) -> np.ndarray:
        """Values of ``size`` replicates (flat cells of all rows): (size, partitions, columns)."""
        out = []
        if self.plain:
            out.append(
                _evaluate(cells, self.part, size, self.n_parts, self.plain, self.focal, self.params)
            )
        if self.spatial:
            rows, part = (
                (slice(None), self.part) if self.rows is None else (self.rows, self.part[self.rows])
            )
            own = np.asarray(cells).reshape(size, self.part.size, self.n_groups)[:, rows]
            out.append(_evaluate(own, part, size, self.n_parts, self.spatial, self.focal, self.own))
        return np.concatenate(out, axis=-1)

    def observed(self, values: np.ndarray) -> tuple[np.ndarray, list[tuple[str, int]]]:
        """The sample's values and the columns' (index, focal group)."""
        est, columns = [], []
        if self.plain:
            v, _, c = compute_blocks(
                Margins(values, self.part), self.plain, self.focal, self.params
            )
            est.append(v)
            columns += c
        if self.spatial:
            rows = slice(None) if self.rows is None else self.rows
            m = Margins(values[rows], self.part[rows])
            v, _, c = compute_blocks(m, self.spatial, self.focal, self.own)
            est.append(v)
            columns += c
        return np.hstack(est), columns


def _sides(
    units: pl.Series,
    part: np.ndarray,
    values: np.ndarray,
    keys: pl.DataFrame,
    prepared: Counts,
    specs: list[IndexSpec],
    focal: np.ndarray,
    params: Params,
    sample_rows: list[np.ndarray],
    geo: tuple[Any, str | None, dict[str, Any] | None],
) -> tuple[_Side, _Side]:
    """The two samples' evaluators; the geometry is built once when the samples have the
    same units, once per sample otherwise."""
    plain = [s for s in specs if not s.spatial]
    spatial = [s for s in specs if s.spatial]
    n_parts, n_groups = int(part.max(initial=-1)) + 1, len(prepared.groups)

    def side(rows: np.ndarray | None, own: Params) -> _Side:
        return _Side(part, n_parts, n_groups, plain, spatial, focal, params, own, rows)

    geometry, code, settings = geo
    same = all(rows.size == part.size for rows in sample_rows)
    if not spatial or same:
        both = Counts(keys, prepared.by, prepared.unit, prepared.groups, units, part, values)
        own = with_geometry(params, spatial, both, geometry, code, settings)
        return side(None, own), side(None, own)
    from bryta.compute.spatial.geometry import load_geometry

    frame, label = load_geometry(geometry, code)
    codes = frame.get_column("code")
    extra = codes.filter(~codes.is_in(units.cast(pl.String).implode())).sort()
    if extra.len():
        raise InputError(
            f"{label}: {extra.len()} areas in column {code or 'code'!r} have no counts in "
            f"either sample (filter the boundaries): {', '.join(extra.head(10).to_list())}"
        )
    sides = []
    for rows in sample_rows:
        kept = units.gather(rows)
        sub = Counts(
            keys, prepared.by, prepared.unit, prepared.groups, kept, part[rows], values[rows]
        )
        shapes = frame.filter(codes.is_in(kept.cast(pl.String).implode()))
        sides.append(side(rows, with_geometry(params, spatial, sub, shapes, "code", settings)))
    return sides[0], sides[1]


def compare(
    counts: Any,
    *,
    unit: str,
    between: str,
    first: Any,
    second: Any,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    indices: Sequence[str] | str | None = None,
    focal: Sequence[str] | str | None = None,
    method: Literal["bootstrap", "permutation"] = "bootstrap",
    alternative: Alternative = "two-sided",
    n_bootstrap: int = 500,
    seed: int | None = None,
    ci: float = 0.95,
    b: float = 0.5,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    geometry: Any = None,
    geometry_code: str | None = None,
    spatial: dict[str, Any] | None = None,
    density_optimizer: str = "nelder_mead",
) -> pl.DataFrame:
    """Compare each index between two values of ``between`` (two years, or two regions).

    For every partition of ``by`` present in both, returns ``value_first``, ``value_second``,
    ``diff`` (second − first), ``se``, ``ci_low``, ``ci_high`` (bootstrap percentile interval
    of the difference, each sample resampled on its own) and ``p_value`` for
    ``alternative``: "greater" tests whether the second is more segregated. With
    ``method="permutation"`` the p-value comes from reassigning the people of both samples to
    the two samples at random (the exact null of "no difference"); the interval is then not
    computed (NaN). ``progress`` is called with the number of draws just finished; the steps
    add up to ``n_bootstrap``. ``geometry``, ``geometry_code`` and ``spatial`` add the spatial
    indices, as for :func:`bootstrap`; the boundaries cover the units of both samples.

    >>> import polars as pl
    >>> df = pl.DataFrame({"year": [1, 1, 2, 2], "unit": ["x", "y", "x", "y"],
    ...                    "a": [40, 10, 45, 5], "b": [10, 40, 5, 45]})
    >>> out = compare(df, unit="unit", groups=["a", "b"], between="year", first=1, second=2,
    ...               indices="dissimilarity", focal="a", seed=7, alternative="greater")
    >>> round(out["diff"][0], 2), bool(out["p_value"][0] < 0.05)
    (0.2, True)
    """
    if method not in ("bootstrap", "permutation"):
        raise InputError(f"method must be 'bootstrap' or 'permutation', not {method!r}")
    if alternative not in ("two-sided", "greater", "less"):
        raise InputError(
            f"alternative must be 'two-sided', 'greater' or 'less', not {alternative!r}"
        )
    by = [by] if isinstance(by, str) else list(by or [])
    if between in by:
        raise CountsError(f"{between!r} is both in by= and between=")
    frame = to_polars(counts)
    if between not in frame.columns:
        raise CountsError(f"between column {between!r} not found")
    sides = []
    for label, value in (("first", first), ("second", second)):
        side = frame.filter(pl.col(between) == value).drop(between)
        if side.height == 0:
            raise CountsError(f"no rows with {between} == {value!r} ({label})")
        sides.append(side)
    # One table per side over the union of the units, rows aligned.
    prepared_sides = [
        plan(
            s,
            unit=unit,
            groups=groups,
            by=by,
            indices=indices,
            focal=focal,
            group_col=group_col,
            count_col=count_col,
            b=b,
            base=base,
            geometry=geometry,
            attach_geometry=False,  # built below, on the units of both samples
            density_optimizer=density_optimizer,
        )
        for s in sides
    ]
    (p1, specs, focal_pos, params), (p2, _, _, _) = prepared_sides
    _deterministic(specs, "compare")
    if p1.groups != p2.groups:
        raise CountsError(f"the groups differ: {p1.groups} and {p2.groups}")
    names = list(p1.groups)
    ident = [*by, unit]

    def table(p) -> pl.DataFrame:
        keys = take_rows(p.keys, p.part).with_columns(p.units)
        return keys.with_columns(pl.DataFrame(p.values, schema=names, orient="row"))

    t1 = table(p1).with_columns(pl.lit(1).alias("__in1"))
    t2 = table(p2).with_columns(pl.lit(1).alias("__in2"))
    both_keys = p1.keys.join(p2.keys, on=by, how="inner") if by else p1.keys
    joined = t1.join(t2, on=ident, how="full", coalesce=True, suffix="__2")
    if by:
        joined = joined.join(both_keys, on=by, how="semi")
    joined = joined.sort(ident).fill_null(0.0)
    if joined.height == 0:
        raise CountsError("no partition of by= has rows in both samples")
    v1 = joined.select(names).to_numpy().astype(np.float64)
    v2 = joined.select([f"{g}__2" for g in names]).to_numpy().astype(np.float64)
    part = run_ids(joined, by)
    keys = take_rows(joined.select(by), np.flatnonzero(np.r_[True, part[1:] != part[:-1]]))
    m1, m2 = Margins(v1, part), Margins(v2, part)
    sample_rows = [np.flatnonzero(joined.get_column(c).to_numpy() > 0) for c in ("__in1", "__in2")]
    side1, side2 = _sides(
        joined.get_column(unit),
        part,
        v1,
        keys,
        p1,
        specs,
        focal_pos,
        params,
        sample_rows,
        (geometry, geometry_code, spatial),
    )
    if method == "permutation" and side1.rows is not None:
        raise InputError(
            "a permutation test of the spatial indices needs the same units in both samples "
            "(people would move into areas the other sample lacks); use method='bootstrap'"
        )
    est1, columns = side1.observed(v1)
    est2, _ = side2.observed(v2)
    diff = est2 - est1
    n_groups = len(names)
    people1 = _whole_people(v1, "compare").reshape(-1)
    people2 = _whole_people(v2, "compare").reshape(-1)
    seg_lo, seg_hi = _partition_segments(m1, n_groups)

    if method == "bootstrap":
        sampler1 = PeopleResampler(people1, seg_lo, seg_hi, threads)
        sampler2 = PeopleResampler(people2, seg_lo, seg_hi, threads)

        def draw(size: int, rng: np.random.Generator) -> np.ndarray:
            c1, c2 = sampler1.draw(size, rng), sampler2.draw(size, rng)
            return side2.evaluate(c2, size) - side1.evaluate(c1, size)
    else:
        pooled = people1 + people2
        cell_part = np.repeat(part, n_groups)
        sizes = np.column_stack([m1.T, m2.T]).astype(np.int64)

        def draw(size: int, rng: np.random.Generator) -> np.ndarray:
            split = hypergeometric_allocation(pooled, sizes, cell_part, size, rng)
            return side2.evaluate(split[:, :, 1], size) - side1.evaluate(split[:, :, 0], size)

    draws = np.concatenate(_replicate(draw, n_bootstrap, 2 * people1.size, seed, threads, progress))
    stats = _summaries(draws, ci)
    permutation = method == "permutation"
    nan = np.full_like(diff, np.nan)
    result = long_result(keys, index_meta(p1.groups, columns), est1, value_name="value_first")
    return result.with_columns(
        pl.Series("value_second", est2.ravel()),
        pl.Series("diff", diff.ravel()),
        pl.Series("se", (nan if permutation else stats["se"]).ravel()),
        pl.Series("ci_low", (nan if permutation else stats["low"]).ravel()),
        pl.Series("ci_high", (nan if permutation else stats["high"]).ravel()),
        pl.Series("p_value", _p_value(diff, draws, alternative, permutation).ravel()),
    )
