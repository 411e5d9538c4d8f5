"""PySAL's remaining aspatial indices, vectorised over every partition at once.

Deterministic: :func:`con_prof` (Hong & Sadahiro's concentration profile, with
:func:`con_prof_profile` returning the curve itself), :func:`min_max` (O'Sullivan & Wong),
:func:`density_corrected_dissimilarity` (Allen et al. 2015, with PySAL's Nelder–Mead run per
unit reproduced in one compiled loop) and :func:`multigroup_divergence` (Roberto's divergence
index). Simulation-based, seeded by
``Params.seed``: :func:`bias_corrected_dissimilarity` (Allen et al. 2015),
:func:`modified_dissimilarity` and :func:`modified_gini` (Carrington & Troske 1997).

Each is named after PySAL ``segregation``'s class in snake case and has its defaults (``m``
= 1000 thresholds, ``B`` = 500 and ``iterations`` = 500 simulations). The simulations draw
all replicates of all partitions as matrices, in blocks of replicates whose size depends on
the data only (:func:`._sampling.block_sizes` and :func:`._sampling.run_blocks`), so the same
seed gives the same numbers on any number of threads.

How the simulation-based indices relate to :func:`bryta.bootstrap` and :func:`bryta.expected`
(docs/indices.md has the details):

* ``bias_corrected_dissimilarity`` = 2 D − mean(D*) is the bootstrap's ``value_bc`` for
  ``dissimilarity``, with PySAL's resampling: each group's people are redrawn over the units
  with the group's total fixed (two multinomials), where :func:`bryta.bootstrap` redraws the
  partition's N people over all unit × group cells.
* ``modified_dissimilarity`` and ``modified_gini`` are (I − E[I]) / (1 − E[I]) when I ≥ E[I]
  and (I − E[I]) / E[I] otherwise, E[I] the mean under random allocation with every unit's
  size fixed and each person in the focal group with probability P (a binomial per unit):
  :func:`bryta.expected`'s ``adjusted``, whose null also fixes the group totals
  (``fixed_margins=True``) or only the grand total (``False``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numba as nb
import numpy as np
import polars as pl

from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation._sampling import PeopleResampler, block_sizes, run_blocks
from bryta.errors import CountsError, InputError

if TYPE_CHECKING:
    from bryta.compute.segregation.indices import Params


def _thresholds(m: int) -> np.ndarray:
    """PySAL's grid of ``m`` thresholds from 0 to 1."""
    return np.linspace(0, 1, m)


# ---- deterministic -------------------------------------------------------------------------


def con_prof(m: Margins, params: Params) -> np.ndarray:
    """Concentration profile R: the focal group's concentration curve against an even one.

    Formula: v(θ) = Σᵢ xᵢ [pᵢ ≥ θ] / X on the grid θₖ = k/(m − 1), k = 0 … m − 1 (``m`` = 1000);
    R = (P − (Σ_{θₖ<P} v(θₖ) − Σ_{θₖ≥P} v(θₖ)) / m) / (1 − P)
    Reference: Hong, S.-Y. & Sadahiro, Y. (2014). Measuring geographic segregation: a
    graph-based approach. Journal of Geographical Systems 16(2), 211–231 (PySAL ConProf).
    Worked value: focal a, P = ½, p = (0.75, 0.25, 0.5), m = 1000: 500 thresholds lie below ½;
    unit u1 has 750 thresholds ≤ pᵢ (500 below P, 250 at or above), u2 250 (all below), u3
    500 (all below), so Σ_{θ<P} v = (30·500 + 10·250 + 20·500)/60 = 458.33 and Σ_{θ≥P} v =
    30·250/60 = 125; R = (½ − 333.33/1000) / ½ = 1/3.
    Range: 0 (even) to 1 (complete segregation) up to the grid's resolution: an even
    distribution can give down to −1/m, complete segregation up to 1 + 2P/(m(1 − P)).

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("con_prof", "a"), 6)
    0.333333
    """
    grid = _thresholds(params.m)
    at_or_below = np.searchsorted(grid, m.p, side="right")  # thresholds θ ≤ pᵢ, per cell
    pi = np.nan_to_num(m.pi)
    below_share = np.searchsorted(grid, pi, side="left")  # thresholds θ < P
    under = np.minimum(at_or_below, below_share[m.part])
    over = at_or_below - under
    lower = m.segsum(m.n * under)  # Σ_{θ<P} v(θ) · X: whole numbers, summed exactly
    upper = m.segsum(m.n * over)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (m.pi - (lower - upper) / (m.N * params.m)) / (1 - m.pi)


def min_max(m: Margins, params: Params) -> np.ndarray:
    """Min-max index MM: one minus the overlap of x and y over units, relative to their union.

    Formula: MM = 1 − Σᵢ min(xᵢ/X, yᵢ/Y) / Σᵢ max(xᵢ/X, yᵢ/Y) = 2D / (1 + D)
    Reference: O'Sullivan, D. & Wong, D. W. S. (2007). A surface-based approach to measuring
    spatial segregation. Geographical Analysis 39(2), 147–168 (PySAL MinMax).
    Worked value: focal a: shares x/X = (½, ⅙, ⅓), y/Y = (⅙, ½, ⅓); Σ min = ⅔, Σ max = 4/3;
    MM = 1 − ½ = 0.5 (= 2 · ⅓ / (1 + ⅓)).

    >>> from bryta.compute.segregation._examples import example_value
    >>> example_value("min_max", "a")
    0.5
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        own = m.n / m.per_row(m.N)
        rest = m.other / m.per_row(m.other_totals)
        return 1 - m.segsum(np.minimum(own, rest)) / m.segsum(np.maximum(own, rest))


# ---- density-corrected dissimilarity: the folded normal's mode per unit ----------------------

#: √(2π) as scipy's ``norm.pdf`` divides by it (``np.sqrt(2 * np.pi)``).
_SQRT_2PI = float(np.sqrt(2 * np.pi))
#: PySAL's call: ``minimize(…, x0=0, method="nelder-mead", options={"xatol": 1e-5})``, scipy's
#: defaults otherwise: fatol 1e-4, 200 iterations and 200 evaluations (N · 200, N = 1), a
#: first step of 0.00025 from a zero start.
_XATOL, _FATOL, _MAX_ITER, _MAX_EVALS, _FIRST_STEP = 1e-5, 1e-4, 200, 200, 0.00025

DensityOptimizer = Literal["nelder_mead", "exact"]


@nb.njit(inline="always")
def _normal_pdf(x: float) -> float:
    """φ(x) computed as scipy's ``norm.pdf`` computes it, so comparisons of values agree."""
    return math.exp(-(x * x) / 2.0) / _SQRT_2PI


@nb.njit(inline="always")
def _neg_fold(v: float, theta: float) -> float:
    """PySAL's objective: minus the folded-normal density, −(φ(v − θ) + φ(v + θ))."""
    return -(_normal_pdf(v - theta) + _normal_pdf(v + theta))


@nb.njit(cache=True, nogil=True)
def _nelder_mead_modes(theta: np.ndarray) -> np.ndarray:
    """For each θ, the point PySAL takes as the mode of the folded normal: the SECOND vertex
    of the final simplex of scipy's Nelder–Mead (``res.final_simplex[0][1][0]``) minimising
    −(φ(v − θ) + φ(v + θ)) from v = 0.

    One dimension, so the simplex is two points, best first. The steps are the standard
    ones with scipy's non-adaptive coefficients: reflection xr = 2 x̄ − x₁ (x̄ the best point),
    expansion 3 x̄ − 2 x₁, outside contraction 1.5 x̄ − 0.5 x₁, inside contraction
    0.5 x̄ + 0.5 x₁, shrink x₀ + 0.5 (x₁ − x₀). The branches compare as scipy does (a strict
    ``<`` everywhere but the outside contraction's ``≤``; scipy's test "better than the
    second-worst point" is "better than x₀" with two points, so a reflection that is not
    better than x₀ always contracts); after every iteration the two points are reordered
    only when the second is strictly better (numpy's argsort keeps ties in place). The run
    stops when |x₁ − x₀| ≤ xatol and |f₁ − f₀| ≤ fatol, after 199
    iterations, or when the 200th evaluation has been made; an iteration that would need a
    201st evaluation is abandoned where scipy abandons it (a shrink keeps its moved point
    with the old value).
    """
    out = np.empty(theta.size)
    for k in range(theta.size):
        th = theta[k]
        x0 = 0.0
        x1 = _FIRST_STEP
        f0 = _neg_fold(x0, th)
        f1 = _neg_fold(x1, th)
        evals = 2
        if f1 < f0:
            x0, x1, f0, f1 = x1, x0, f1, f0
        iterations = 1
        while evals < _MAX_EVALS and iterations < _MAX_ITER:
            if abs(x1 - x0) <= _XATOL and abs(f0 - f1) <= _FATOL:
                break
            xbar = x0  # the centroid of all points but the worst
            xr = 2.0 * xbar - x1
            fxr = _neg_fold(xr, th)
            evals += 1
            done = True
            if fxr < f0:
                if evals < _MAX_EVALS:
                    xe = 3.0 * xbar - 2.0 * x1
                    fxe = _neg_fold(xe, th)
                    evals += 1
                    if fxe < fxr:
                        x1, f1 = xe, fxe
                    else:
                        x1, f1 = xr, fxr
                else:
                    done = False
            else:
                shrink = False
                if evals >= _MAX_EVALS:
                    done = False
                elif fxr < f1:
                    xc = 1.5 * xbar - 0.5 * x1
                    fxc = _neg_fold(xc, th)
                    evals += 1
                    if fxc <= fxr:
                        x1, f1 = xc, fxc
                    else:
                        shrink = True
                else:
                    xcc = 0.5 * xbar + 0.5 * x1
                    fxcc = _neg_fold(xcc, th)
                    evals += 1
                    if fxcc < f1:
                        x1, f1 = xcc, fxcc
                    else:
                        shrink = True
                if shrink:
                    x1 = x0 + 0.5 * (x1 - x0)
                    if evals < _MAX_EVALS:
                        f1 = _neg_fold(x1, th)
                        evals += 1
                    else:
                        done = False
            if done:
                iterations += 1
            if f1 < f0 or (f0 != f0 and f1 == f1):  # NaN sorts last, as in numpy
                x0, x1, f0, f1 = x1, x0, f1, f0
            if not done:
                break
        out[k] = x1
    return out


@nb.njit(cache=True, nogil=True)
def _exact_modes(theta: np.ndarray) -> np.ndarray:
    """The mode of the folded normal |N(θ, 1)| for each θ ≥ 0, to machine precision: 0 for
    θ ≤ 1; for θ > 1 the positive root of v = θ tanh(θ v), found by Newton's method on
    g(v) = v − θ tanh(θ v) from v = θ. g is convex on v > 0 and increasing beyond the root,
    so the iterates fall monotonically to it; they stop when they no longer fall."""
    out = np.empty(theta.size)
    for k in range(theta.size):
        th = theta[k]
        if not th > 1.0:
            out[k] = 0.0
            continue
        v = th
        for _ in range(400):
            t = math.tanh(th * v)
            slope = 1.0 - th * th * (1.0 - t) * (1.0 + t)
            step = (v - th * t) / slope
            if not step > 0.0:
                break
            v -= step
        out[k] = v
    return out


def _density_terms(m: Margins, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """σᵢ, θᵢ and |p1ᵢ − p0ᵢ| for the focal groups ``columns`` (rows × columns), in PySAL's
    order of operations so that θ is bit for bit PySAL's."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p0 = m.n[:, columns] / m.per_row(m.N[:, columns])
        p1 = m.other[:, columns] / m.per_row(m.other_totals[:, columns])
        n0 = m.per_row(m.N[:, columns])
        n1 = m.per_row(m.other_totals[:, columns])
        sigma = np.sqrt(((p1 * (1 - p1)) / n1) + ((p0 * (1 - p0)) / n0))
        gap = np.abs(p1 - p0)
        theta = gap / sigma
    return sigma, theta, gap


def density_corrected_dissimilarity(
    m: Margins, params: Params, optimizer: DensityOptimizer | None = None
) -> np.ndarray:
    """Density-corrected dissimilarity: D with each unit's gap replaced by its likely size.

    Formula: Ddc = ½ Σᵢ σᵢ θ*ᵢ, σᵢ = √(p1ᵢ(1 − p1ᵢ)/Y + p0ᵢ(1 − p0ᵢ)/X), p0ᵢ = xᵢ/X,
    p1ᵢ = yᵢ/Y, θ*ᵢ the mode of the folded normal |N(θᵢ, 1)|, θᵢ = |p1ᵢ − p0ᵢ|/σᵢ, as PySAL
    2.5 finds it (scipy's Nelder–Mead from 0 with xatol 1e-5, the second vertex of the final
    simplex); a unit with σᵢ = 0 adds 0, and so, in effect, does one with θᵢ > 38.6, where
    φ underflows and the optimiser stays near 0 (docs/indices.md)
    Reference: Allen, R., Burgess, S., Davidson, R. & Windmeijer, F. (2015). More reliable
    inference for the dissimilarity index of segregation. The Econometrics Journal 18(1),
    40–66 (PySAL DensityCorrectedDissim).
    Worked value: focal a: p0 = (½, ⅙, ⅓), p1 = (⅙, ½, ⅓); σ₁ = σ₂ = √((5/36 + 9/36)/60) =
    0.0805076, so θ₁ = θ₂ = ⅓/σ₁ = 4.1403934, whose mode is θ itself to 15 digits
    (v = θ tanh(θv)); u3 has θ₃ = 0 (mode 0) and σ₃ = √(2 · 2/9 / 60) = 0.0860663. The exact
    value is ½(2 · ⅓) = 1/3. scipy's Nelder–Mead ends on points 7.8125·10⁻⁶ apart (0.00025
    halved five times); PySAL's second vertex is 4.1403984375 for θ₁ (5.1·10⁻⁶ above it)
    and 7.8125·10⁻⁶ for θ₃, so Ddc = ½(2 · 0.0805076 · 4.1403984375 + 0.0860663 ·
    7.8125·10⁻⁶) = 0.3333341.

    ``density_optimizer="exact"`` (:func:`bryta.measure`, ``--density-optimizer exact``; or
    ``optimizer=`` here) takes the true mode instead (:func:`_exact_modes`), and for σᵢ = 0
    the limit σθ* → |p1ᵢ − p0ᵢ|.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("density_corrected_dissimilarity", "a"), 7)
    0.3333341
    """
    # With two groups the second is usually the first's mirror image (its rest is the first
    # group): σ and θ are then the same numbers. Not on egohoods, where PySAL rounds the
    # smoothed total on its own (t̃ − x̃ ≠ ỹ), so the mirror is checked, not assumed.
    mirror = m.n_groups == 2 and np.array_equal(m.other[:, 0], m.n[:, 1])
    columns = np.arange(1 if mirror else m.n_groups)
    if optimizer is None:
        optimizer = cast("DensityOptimizer", params.density_optimizer)
    sigma, theta, gap = _density_terms(m, columns)
    ok = sigma > 0  # NaN (no focal group, or no one else) and σ = 0 are left out
    solve = _exact_modes if optimizer == "exact" else _nelder_mead_modes
    mode = np.zeros_like(theta)
    mode[ok] = solve(np.ascontiguousarray(theta[ok]))
    terms = np.where(ok, sigma * mode, 0.0)
    if optimizer == "exact":
        terms = np.where(sigma == 0, gap, terms)
    terms = np.where(np.isnan(sigma), np.nan, terms)
    out = m.segsum(terms) / 2
    return np.repeat(out, m.n_groups, axis=1) if mirror else out


def multigroup_divergence(m: Margins, params: Params) -> np.ndarray:
    """Divergence index: the units' mean Kullback–Leibler divergence from the group mix (= M).

    Formula: D = Σᵢ (tᵢ / T) Σ_g p_ig ln(p_ig / π_g)
    Reference: Roberto, E. (2015). The divergence index: a decomposable measure of segregation
    and inequality. arXiv:1508.01167 (PySAL MultiDivergence).
    Worked value: the two-group example: D = M = 0.0872 nats.

    >>> from bryta.compute.segregation._examples import example_value
    >>> round(example_value("multigroup_divergence"), 4)
    0.0872
    """
    return m.mutual_information.copy()


def con_prof_profile(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    focal: Sequence[str] | str | None = None,
    m: int = 1000,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """The concentration profile behind :func:`con_prof`, for every partition and focal group:
    ``by…, group, threshold, share`` with m rows each (PySAL ConProf's ``grid`` and ``curve``).

    ``share`` is v(θ), the share of the focal group living in units where its share is at
    least ``threshold`` θ; the thresholds are PySAL's grid, m points from 0 to 1.

    >>> from bryta.compute.segregation._examples import example_counts
    >>> out = con_prof_profile(example_counts(), unit="unit", groups=["a", "b"], focal="a", m=5)
    >>> out.select("threshold", "share").rows()  # θ ≤ 0.25: all; ≤ 0.5: u1 + u3; ≤ 0.75: u1
    [(0.0, 1.0), (0.25, 1.0), (0.5, 0.8333333333333334), (0.75, 0.5), (1.0, 0.0)]
    """
    from bryta.compute.segregation.counts import prepare_counts, take_rows
    from bryta.compute.segregation.engine import _focal_positions

    prepared = prepare_counts(
        counts, unit=unit, groups=groups, by=by, group_col=group_col, count_col=count_col
    )
    _check_m(m)
    focal_pos = _focal_positions(prepared, focal)
    mg = Margins(prepared.values, prepared.part)
    grid = _thresholds(m)
    n = mg.n[:, focal_pos]
    # The unit adds its xᵢ to every threshold at or below pᵢ: bin it at the count of those
    # thresholds, then a cumulative sum from the top gives v(θₖ) · X.
    at_or_below = np.searchsorted(grid, mg.p[:, focal_pos], side="right")
    n_parts, n_focal = mg.n_partitions, focal_pos.size
    cell = (mg.part[:, None] * n_focal + np.arange(n_focal)[None, :]) * (m + 1) + at_or_below
    binned = np.bincount(cell.ravel(), weights=n.ravel(), minlength=n_parts * n_focal * (m + 1))
    binned = binned.reshape(n_parts, n_focal, m + 1)
    above = np.cumsum(binned[:, :, ::-1], axis=2)[:, :, ::-1][:, :, 1:]  # Σ over bins > k
    with np.errstate(invalid="ignore", divide="ignore"):
        share = above / mg.N[:, focal_pos][:, :, None]
    parts = np.repeat(np.arange(n_parts), n_focal * m)
    names = np.array(prepared.groups, dtype=object)[focal_pos]
    return take_rows(prepared.keys, parts).with_columns(
        pl.Series("group", np.tile(np.repeat(names, m), n_parts).tolist(), pl.String),
        pl.Series("threshold", np.tile(grid, n_parts * n_focal)),
        pl.Series("share", share.ravel()),
    )


def _check_m(m: int) -> None:
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 2:
        raise InputError(f"con_prof's m (the number of thresholds) must be an integer ≥ 2, got {m}")


# ---- simulation-based ----------------------------------------------------------------------


def _whole(m: Margins, name: str) -> np.ndarray:
    rounded = np.rint(m.n)
    if not np.array_equal(rounded, m.n):
        raise CountsError(f"{name} simulates people: counts must be whole numbers")
    return rounded.astype(np.int64)


def _dissimilarity(m: Margins) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return m.abs_dev / (2 * m.T[:, None] * m.pi * (1 - m.pi))


def _gini(m: Margins) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return m.pair_abs_sum / (m.T[:, None] ** 2 * m.pi * (1 - m.pi))


Sampler = tuple[Callable[[int, np.random.Generator], np.ndarray], int]


def _simulated_groups(n_groups: int, focal: Sequence[int] | None) -> np.ndarray:
    """The focal groups to simulate. With two groups one suffices: the other's tables are its
    mirror image (the rest of one group is the other group), and D and G are symmetric."""
    if n_groups == 2:
        return np.array([0])
    chosen = range(n_groups) if focal is None else sorted(set(focal))
    return np.fromiter(chosen, dtype=np.int64)


def _spread(values: np.ndarray, chosen: np.ndarray, n_groups: int) -> np.ndarray:
    """(size, partitions, chosen) → (size, partitions, groups): NaN for groups not simulated,
    the mirror image for the second of two groups."""
    if n_groups == 2:
        return np.repeat(values, 2, axis=2)
    out = np.full((*values.shape[:2], n_groups), np.nan)
    out[:, :, chosen] = values
    return out


def _group_resampling(m: Margins, name: str, focal: Sequence[int] | None) -> Sampler:
    """PySAL's resampling for the bias correction: each focal group's X people redrawn over
    the units with probabilities xᵢ / X, the others' Y people with yᵢ / Y (two multinomials,
    :class:`._sampling.PeopleResampler`). Returns draw(size, rng) → D of ``size`` tables
    (size × partitions × groups) and the cells per replicate."""
    n = _whole(m, name)
    rows, n_groups = n.shape
    chosen = _simulated_groups(n_groups, focal)
    own = n[:, chosen]
    other = n.sum(axis=1)[:, None] - own
    k = chosen.size
    # Cells group by group, the focal group's column then the others', each column the
    # partitions' units in order: every (group, side, partition) is one segment of cells.
    cells = np.stack([own.T, other.T], axis=1).reshape(-1)
    ends = np.r_[m.starts[1:], rows]
    offsets = (np.arange(2 * k, dtype=np.int64) * rows)[:, None]
    sampler = PeopleResampler(
        cells, (offsets + m.starts[None, :]).ravel(), (offsets + ends[None, :]).ravel()
    )
    X = m.per_row(m.N[:, chosen]).T[None, :, :]  # (1, chosen, rows)
    Y = m.per_row(m.other_totals[:, chosen]).T[None, :, :]

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        out = []
        for chunk in sampler.chunks(size, rng):
            tables = chunk.reshape(chunk.shape[0], k, 2, rows)
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = np.abs(tables[:, :, 0, :] / X - tables[:, :, 1, :] / Y)
            out.append(0.5 * np.add.reduceat(gap, m.starts, axis=2).transpose(0, 2, 1))
        return _spread(np.concatenate(out, axis=0), chosen, n_groups)

    return draw, cells.size


def _padded_layout(m: Margins) -> tuple[np.ndarray, np.ndarray] | None:
    """Each partition's rows as one row of a rectangle (partitions × widest partition), and
    the mask of real cells; None when padding would more than quadruple the cells."""
    lengths = np.diff(np.r_[m.starts, m.part.size])
    width = int(lengths.max()) if lengths.size else 0
    if not lengths.size or lengths.size * width > 4 * m.part.size:
        return None
    offset = np.arange(width)[None, :]
    valid = offset < lengths[:, None]
    return np.where(valid, m.starts[:, None] + offset, 0), valid


def _gini_padded(
    x: np.ndarray, t: np.ndarray, T: np.ndarray, layout: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Gini of focal counts ``x`` (size × rows) with unit totals ``t``: every partition's units
    sorted by their share along the rows of a padded rectangle (a short sort per partition,
    no global sort), then S = Σ_j t_j p_j (2 C_j + t_j − T) as in ``Margins.pair_abs_sum``."""
    cells, valid = layout
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(t > 0, x / np.where(t > 0, t, 1), 0.0)
    p = np.where(valid, share[:, cells], 2.0)  # padding sorts last, with no people
    w = np.broadcast_to(np.where(valid, t[cells], 0.0), p.shape)
    order = np.argsort(p, axis=2, kind="stable")
    p = np.take_along_axis(p, order, axis=2)
    w = np.take_along_axis(w, order, axis=2)
    before = np.cumsum(w, axis=2) - w
    pair_sum = (w * p * (2 * before + w - T[None, :, None])).sum(axis=2)
    X = (np.where(valid, x[:, cells], 0)).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        P = X / T[None, :]
        return pair_sum / (T[None, :] ** 2 * P * (1 - P))


def _binomial_allocation(m: Margins, name: str, index: str, focal: Sequence[int] | None) -> Sampler:
    """Carrington & Troske's null, as PySAL draws it: every unit keeps its size tᵢ and each of
    its people is in the focal group with probability P (a binomial per unit and focal group,
    so the group totals vary). Returns draw(size, rng) → ``index`` ("dissimilarity" or "gini")
    of ``size`` tables (size × partitions × groups) and the cells per replicate."""
    t = _whole(m, name).sum(axis=1)
    rows, n_groups = m.n.shape
    n_parts = m.n_partitions
    chosen = _simulated_groups(n_groups, focal)
    share = m.pi_rows[:, chosen]  # P of each row's partition, 0 where the partition is empty
    layout = _padded_layout(m) if index == "gini" else None

    def draw(size: int, rng: np.random.Generator) -> np.ndarray:
        x = rng.binomial(t[None, :, None], share[None, :, :], size=(size, rows, chosen.size))
        if index == "dissimilarity":
            X = np.add.reduceat(x, m.starts, axis=1)  # (size, partitions, chosen)
            with np.errstate(invalid="ignore", divide="ignore"):
                P = X / m.T[None, :, None]
                dev = np.abs(x - t[None, :, None] * P[:, m.part, :])
                d = np.add.reduceat(dev, m.starts, axis=1) / (2 * m.T[None, :, None] * P * (1 - P))
            return _spread(d, chosen, n_groups)
        out = np.empty((size, n_parts, chosen.size))
        part = (np.arange(size, dtype=np.int64)[:, None] * n_parts + m.part[None, :]).ravel()
        for k in range(chosen.size):  # groups are few; partitions are never looped over
            if layout is not None:
                out[:, :, k] = _gini_padded(x[:, :, k], t.astype(np.float64), m.T, layout)
                continue
            # Very uneven partitions: the replicates stacked as partitions of one table.
            focal_x = x[:, :, k].ravel()
            stacked = Margins(np.stack([focal_x, np.tile(t, size) - focal_x], axis=1), part)
            out[:, :, k] = _gini(stacked)[:, 0].reshape(size, n_parts)
        return _spread(out, chosen, n_groups)

    return draw, rows * chosen.size


def null_replicates(
    m: Margins, index: str, n_rep: int, seed: int | None, focal: Sequence[int] | None = None
) -> np.ndarray:
    """Every replicate of a simulation-based index's null distribution (n_rep × partitions ×
    groups; NaN for groups outside ``focal``): D of PySAL's resampled tables for
    ``bias_corrected_dissimilarity``, D or G under binomial allocation for
    ``modified_dissimilarity`` / ``modified_gini``. The indices only keep the mean; this is
    for checking the distribution."""
    draw, cells = _sampler(m, index, focal)
    return np.concatenate(run_blocks(block_sizes(n_rep, cells), seed, draw), axis=0)


def _sampler(m: Margins, index: str, focal: Sequence[int] | None) -> Sampler:
    if index == "bias_corrected_dissimilarity":
        return _group_resampling(m, index, focal)
    base = {"modified_dissimilarity": "dissimilarity", "modified_gini": "gini"}[index]
    return _binomial_allocation(m, index, base, focal)


def _null_mean(m: Margins, index: str, n_rep: int, params: Params) -> np.ndarray:
    """The mean over ``n_rep`` replicates, replicates where the index is undefined left out
    (NaN when all are), without holding more than one block of replicates."""
    draw, cells = _sampler(m, index, params.focal)

    def block(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        values = draw(size, rng)
        ok = ~np.isnan(values)
        return np.where(ok, values, 0.0).sum(axis=0), ok.sum(axis=0)

    shape = (m.n_partitions, m.n_groups)
    total, count = np.zeros(shape), np.zeros(shape)
    for s, c in run_blocks(block_sizes(n_rep, cells), params.seed, block):
        total += s
        count += c
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _carrington_troske(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(observed >= null, (observed - null) / (1 - null), (observed - null) / null)


def bias_corrected_dissimilarity(m: Margins, params: Params) -> np.ndarray:
    """Bias-corrected dissimilarity: D minus its bias, estimated by resampling each group.

    ``B`` = 500 draws, seeded by ``seed``.

    Formula: D_bc = 2D − mean_b D*_b, D*_b the dissimilarity of a table whose focal group has
    multinomial(X, xᵢ/X) people per unit and the rest multinomial(Y, yᵢ/Y)
    Reference: Allen, R., Burgess, S., Davidson, R. & Windmeijer, F. (2015). More reliable
    inference for the dissimilarity index of segregation. The Econometrics Journal 18(1),
    40–66 (PySAL BiasCorrectedDissim).
    Worked value: focal a: D = ⅓; over the 1,891² pairs of redrawn tables (multinomial(60,
    (½, ⅙, ⅓)) for a, multinomial(60, (⅙, ½, ⅓)) for b) E[D*] = 0.36758, so as B grows
    D_bc → 2/3 − 0.36758 = 0.2991 (500 draws with seed 0 give 0.2994).

    >>> from bryta.compute.segregation._examples import example_counts
    >>> from bryta.compute.segregation.engine import measure
    >>> out = measure(example_counts(), unit="unit", groups=["a", "b"], focal="a", seed=0,
    ...               indices="bias_corrected_dissimilarity")
    >>> abs(out["value"][0] - 0.2991) < 0.01
    True
    """
    return 2 * _dissimilarity(m) - _null_mean(m, "bias_corrected_dissimilarity", params.B, params)


def modified_dissimilarity(m: Margins, params: Params) -> np.ndarray:
    """Modified dissimilarity (Carrington & Troske): D against its value at random allocation.

    ``iterations`` = 500 draws, seeded by ``seed``.

    Formula: D_ct = (D − D*) / (1 − D*) if D ≥ D*, else (D − D*) / D*; D* the mean D when each
    unit keeps its size tᵢ and holds binomial(tᵢ, P) members of the focal group
    Reference: Carrington, W. J. & Troske, K. R. (1997). On measuring segregation in samples
    with small units. Journal of Business & Economic Statistics 15(4), 402–409 (PySAL
    ModifiedDissim).
    Worked value: focal a: D = ⅓; over the 41³ tables of binomial(40, ½) members of a per unit
    E[D*] = 0.10384, so as the iterations grow D_ct → (⅓ − 0.10384) / (1 − 0.10384) = 0.2561.

    >>> from bryta.compute.segregation._examples import example_counts
    >>> from bryta.compute.segregation.engine import measure
    >>> out = measure(example_counts(), unit="unit", groups=["a", "b"], focal="a", seed=0,
    ...               indices="modified_dissimilarity")
    >>> abs(out["value"][0] - 0.2561) < 0.01
    True
    """
    null = _null_mean(m, "modified_dissimilarity", params.iterations, params)
    return _carrington_troske(_dissimilarity(m), null)


def modified_gini(m: Margins, params: Params) -> np.ndarray:
    """Modified Gini (Carrington & Troske): G against its value at random allocation.

    ``iterations`` = 500 draws, seeded by ``seed``.

    Formula: G_ct = (G − G*) / (1 − G*) if G ≥ G*, else (G − G*) / G*; G* the mean G when each
    unit keeps its size tᵢ and holds binomial(tᵢ, P) members of the focal group
    Reference: Carrington, W. J. & Troske, K. R. (1997). On measuring segregation in samples
    with small units. Journal of Business & Economic Statistics 15(4), 402–409 (PySAL
    ModifiedGiniSeg).
    Worked value: focal a: G = 4/9; over the 41³ tables of binomial(40, ½) members of a per unit
    E[G*] = 0.11958, so as the iterations grow G_ct → (4/9 − 0.11958) / (1 − 0.11958) = 0.3690.

    >>> from bryta.compute.segregation._examples import example_counts
    >>> from bryta.compute.segregation.engine import measure
    >>> out = measure(example_counts(), unit="unit", groups=["a", "b"], focal="a", seed=0,
    ...               indices="modified_gini")
    >>> abs(out["value"][0] - 0.3690) < 0.01
    True
    """
    null = _null_mean(m, "modified_gini", params.iterations, params)
    return _carrington_troske(_gini(m), null)
