"""Rank-order income segregation from counts in ordered brackets (Reardon 2011).

With K ordered brackets (lowest first) there are K − 1 thresholds. At threshold k the
population is split into those in brackets 1 … k ("below") and the rest, p_k is the share
below, and a two-group index is computed for that split: Theil's H(p_k), the variation
(correlation) ratio R(p_k) or the square root index S(p_k). A polynomial in p is fitted
through the points (p_k, index) by weighted least squares and integrated over p ∈ [0, 1]
against the index's weight function, in closed form:

* H^R = 2 ∫ E(p) H(p) dp,            E(p) = −p ln p − (1 − p) ln(1 − p) (∫ E = ½);
* R^R = 6 ∫ p (1 − p) R(p) dp;
* S^R = (8/π) ∫ √(p (1 − p)) S(p) dp.

(H^R is usually written 2 ln 2 ∫ E₂(p) H(p) dp with E₂ in bits: the same number.)

Settings (Reardon 2011, as PySAL's rank-order module implements it; where bryta differs it
says so):

* the polynomial has degree 4 by default, in the *actual* shares p_k (not nominal
  percentiles);
* the fit is weighted least squares with weights w(p_k)², w the index's weight function
  (E(p)² for H, (p(1 − p))² for R, p(1 − p) for S): the points are weighted by how much
  they count in the integral. (OasisR fits unweighted; some scripts weight by E(p).)
* a polynomial of degree d needs d + 1 thresholds; with fewer the degree drops to the
  number of usable thresholds − 1 (Stata ``rankseg`` and PySAL refuse instead). With
  K − 1 = d + 1 the fit interpolates (the weights do not matter); with two brackets it is a
  constant and H^R = H(p_1).
* a threshold is *usable* when people are on both sides of it and the bracket just below
  it is not empty. A threshold below an empty bracket repeats the previous split, so it is
  skipped (PySAL keeps the repeated point): results do not change when empty brackets are
  added or removed.

Everything is vectorised over partitions: cumulative counts over the bracket axis give the
threshold splits of every row at once, segment sums give the threshold indices of every
partition, and the weighted fits of all partitions are one batched ``np.linalg.solve`` on
stacked normal equations. The fit uses the basis uᵏ with u = 2p − 1 (better conditioned than
pᵏ on [0, 1]); the closed-form integrals of pᵐ (Reardon's δ_m) are carried over to it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from bryta.compute.segregation._margins import Margins, entropy_of
from bryta.compute.segregation.counts import prepare_counts, take_rows
from bryta.compute.segregation.engine import UnknownIndexError
from bryta.errors import CountsError, InputError


# ---- the integrals: Reardon's δ_m = ∫ w(p) pᵐ dp / ∫ w(p) dp, exact ----------------------
def _delta_h(m: int) -> Fraction:
    """δ_m for w = E: ∫ pᵐ E(p) dp = 1/(m+2)² + Σₙ C(m,n)(−1)ⁿ/(n+2)², and ∫ E = ½.

    From ∫ pᵃ ln p dp = −1/(a+1)², with q = 1 − p for the (1 − p) ln(1 − p) term.
    """
    tail = sum(Fraction(math.comb(m, n) * (-1) ** n, (n + 2) ** 2) for n in range(m + 1))
    return 2 * (Fraction(1, (m + 2) ** 2) + tail)


def _delta_r(m: int) -> Fraction:
    """δ_m for w = p(1 − p): 6 ∫ pᵐ⁺¹ (1 − p) dp = 6 / ((m + 2)(m + 3))."""
    return Fraction(6, (m + 2) * (m + 3))


def _delta_s(m: int) -> Fraction:
    """δ_m for w = √(p(1 − p)): B(m + 3/2, 3/2) / B(3/2, 3/2) = 2 Πₙ₌₁ᵐ (n + ½) / (m + 2)!."""
    rising = math.prod((Fraction(2 * n + 1, 2) for n in range(1, m + 1)), start=Fraction(1))
    return 2 * rising / math.factorial(m + 2)


@cache
def _moments(name: str, degree: int) -> np.ndarray:
    """μ_j = ∫ w(p) uʲ dp / ∫ w(p) dp for u = 2p − 1, j = 0 … degree (exact, then float).

    uʲ = Σ_m C(j, m) 2ᵐ (−1)^(j−m) pᵐ, so μ_j = Σ_m C(j, m) 2ᵐ (−1)^(j−m) δ_m. The weights are
    symmetric about p = ½, so the odd moments are 0.
    """
    delta = _INDICES[name].delta
    mu = [
        sum(math.comb(j, m) * 2**m * (-1) ** (j - m) * delta(m) for m in range(j + 1))
        for j in range(degree + 1)
    ]
    return np.array([float(x) for x in mu])


# ---- the two-group index at each threshold --------------------------------------------------
def _binary_entropy(p: np.ndarray) -> np.ndarray:
    return entropy_of(np.stack([p, 1 - p], axis=-1))


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros(np.broadcast_shapes(a.shape, b.shape)), where=b > 0)


def _threshold_h(m: Margins, p_rows: np.ndarray, P: np.ndarray) -> np.ndarray:
    """H(p_k) = Σᵢ tᵢ (1 − E(pᵢₖ)/E(P_k)) / T: exactly 1 when every unit is on one side and
    exactly 0 when every unit has the share P_k (integer counts)."""
    e_all = _binary_entropy(P)
    ratio = _div(_binary_entropy(p_rows), m.per_row(e_all))
    return _div(m.segsum(m.t[:, None] * (1 - ratio)), m.T[:, None])


def _threshold_r(m: Margins, p_rows: np.ndarray, P: np.ndarray) -> np.ndarray:
    """R(p_k) = Σᵢ tᵢ (pᵢₖ − P_k)² / (T P_k (1 − P_k)): the variation (correlation) ratio."""
    sq = m.segsum(m.t[:, None] * (p_rows - m.per_row(P)) ** 2)
    return _div(sq, m.T[:, None] * P * (1 - P))


def _threshold_s(m: Margins, p_rows: np.ndarray, P: np.ndarray) -> np.ndarray:
    """S(p_k) = Σᵢ tᵢ (1 − √(pᵢₖ(1 − pᵢₖ)) / √(P_k(1 − P_k))) / T: the square root index."""
    ratio = _div(np.sqrt(p_rows * (1 - p_rows)), m.per_row(np.sqrt(P * (1 - P))))
    return _div(m.segsum(m.t[:, None] * (1 - ratio)), m.T[:, None])


@dataclass(frozen=True)
class _RankIndex:
    label: str  # name in the output
    # (margins, p per row × threshold, P per partition × threshold) -> index per threshold
    threshold: Callable[[Margins, np.ndarray, np.ndarray], np.ndarray]
    weight: Callable[[np.ndarray], np.ndarray]  # fit weight w(p)² at the thresholds
    delta: Callable[[int], Fraction]  # m -> δ_m (exact)


_INDICES: dict[str, _RankIndex] = {
    "H": _RankIndex("rank_order_h", _threshold_h, lambda p: _binary_entropy(p) ** 2, _delta_h),
    "R": _RankIndex("rank_order_r", _threshold_r, lambda p: (p * (1 - p)) ** 2, _delta_r),
    "S": _RankIndex("rank_order_s", _threshold_s, lambda p: p * (1 - p), _delta_s),
}
"""The rank-order indices by short name: H^R (information theory), R^R (variation ratio),
S^R (square root)."""


# ---- the batched weighted least squares fit ----------------------------------------------------
def _fit(
    u: np.ndarray, y: np.ndarray, w: np.ndarray, degrees: np.ndarray, degree: int
) -> np.ndarray:
    """Coefficients (partitions × degree + 1) of Σⱼ βⱼ uʲ minimising Σₖ wₖ (yₖ − ŷₖ)².

    Each partition p uses the first ``degrees[p] + 1`` powers (the rest are 0); thresholds
    with w = 0 drop out. All partitions are solved at once from stacked normal equations.
    The weighted mean is fitted first and the rest around it, so constant data (complete or
    no segregation) gives exactly that constant.
    """
    n_parts, width = y.shape[0], degree + 1
    y = np.where(w > 0, y, 0.0)
    wsum = w.sum(axis=1)
    centre = _div((w * y).sum(axis=1), wsum)
    resid = np.where(w > 0, y - centre[:, None], 0.0)
    X = u[:, :, None] ** np.arange(width)  # partitions × thresholds × powers
    A = np.einsum("pk,pkj,pkl->pjl", w, X, X)
    b = np.einsum("pk,pkj,pk->pj", w, X, resid)
    drop = np.arange(width)[None, :] > degrees[:, None]  # powers above each partition's degree
    keep = ~drop
    A = np.where(keep[:, :, None] & keep[:, None, :], A, 0.0)
    A[:, np.arange(width), np.arange(width)] += drop  # identity rows: those βⱼ solve to 0
    b = np.where(keep, b, 0.0)
    beta = np.linalg.solve(A, b[:, :, None])[:, :, 0] if n_parts else np.zeros((0, width))
    beta[:, 0] += centre
    return beta


def _as_names(indices: Sequence[str] | str) -> list[str]:
    names = [indices] if isinstance(indices, str) else list(indices)
    unknown = [n for n in names if n not in _INDICES]
    if unknown or not names:
        raise UnknownIndexError(
            f"unknown rank-order index {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"known: {', '.join(_INDICES)}"
        )
    return [n for n in _INDICES if n in names]


def rank_order(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    indices: Sequence[str] | str = ("H", "R"),
    degree: int = 4,
    thresholds: bool = False,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Rank-order segregation by an ordered variable (income brackets, lowest first).

    ``groups`` are the brackets in order, lowest first (for long input, the order of
    ``groups`` or of first appearance). ``indices`` picks ``"H"`` (information theory, H^R),
    ``"R"`` (variation ratio, R^R) and ``"S"`` (square root, S^R). Returns one row per
    partition and index: the ``by`` keys, ``index`` (``rank_order_h`` …) and ``value``.

    With ``thresholds=True`` returns the per-threshold values instead, for plotting: the
    ``by`` keys, ``threshold`` (the highest bracket below it), ``p`` (the share below), then
    per index its value at the threshold (``H`` …) and the fitted polynomial there
    (``H_fit`` …), and ``used`` (whether the threshold entered the fit).

    NaN when a partition has no one, fewer than two populated units, or everyone in one
    bracket. The polynomial degree is ``degree`` (default 4), lowered to the number of usable
    thresholds − 1 where there are fewer.

    Formula: H^R = 2 ∫₀¹ E(p) Ĥ(p) dp, R^R = 6 ∫₀¹ p(1 − p) R̂(p) dp, Ĥ and R̂ the weighted
    least squares polynomials (weights E(p_k)², (p_k(1 − p_k))²) through the two-group
    indices H(p_k), R(p_k) of the splits at the bracket thresholds
    Reference: Reardon, S. F. (2011). Measures of income segregation. CEPA Working Paper,
    Stanford; Reardon, S. F. & Bischoff, K. (2011). Income inequality and income
    segregation. American Journal of Sociology 116(4), 1092–1153.
    Worked value: three units (20, 20, 0), (10, 20, 10), (0, 20, 20) in brackets low, mid,
    high: p₁ = ¼, p₂ = ¾; H(p₁) = H(p₂) = 1 − (ln 2 + E(¼)) / (3 E(¼)) = 0.2558, so the
    (linear) fit is flat and H^R = 0.2558; R(p₁) = R(p₂) = 40 · ⅛ / (120 · 3/16) = 2/9.

    >>> import polars as pl
    >>> df = pl.DataFrame({"unit": ["u1", "u2", "u3"], "low": [20, 10, 0],
    ...                    "mid": [20, 20, 20], "high": [0, 10, 20]})
    >>> out = rank_order(df, unit="unit", groups=["low", "mid", "high"])
    >>> out.with_columns(pl.col("value").round(4)).rows()
    [('rank_order_h', 0.2558), ('rank_order_r', 0.2222)]
    """
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 0:
        raise InputError(f"degree must be a non-negative integer, got {degree!r}")
    degree = int(degree)
    names = _as_names(indices)
    prepared = prepare_counts(
        counts, unit=unit, groups=groups, by=by, group_col=group_col, count_col=count_col
    )
    n_brackets = len(prepared.groups)
    if n_brackets < 2:
        raise CountsError(f"rank-order indices need at least two ordered brackets, got {groups}")

    m = Margins(prepared.values, prepared.part)
    n_parts = m.n_partitions
    # The split at threshold k: brackets 0 … k below, k + 1 … K − 1 above (k = 0 … K − 2).
    below_rows = np.cumsum(m.n, axis=1)[:, :-1]
    p_rows = np.clip(_div(below_rows, m.t[:, None]), 0.0, 1.0)
    below = np.cumsum(m.N, axis=1)[:, :-1]
    P = np.clip(_div(below, m.T[:, None]), 0.0, 1.0)
    # Usable: the bracket just below is not empty, and someone is in a bracket above.
    someone_above = np.flip(np.cumsum(np.flip(m.N > 0, axis=1), axis=1), axis=1)[:, 1:] > 0
    used = (m.N[:, :-1] > 0) & someone_above
    n_used = used.sum(axis=1)
    degrees = np.minimum(degree, n_used - 1)
    defined = (m.T > 0) & (m.populated_units >= 2) & (n_used > 0)
    u = 2 * P - 1

    per_index: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in names:  # a handful of indices; partitions are never looped over
            spec = _INDICES[name]
            values = np.where(used, spec.threshold(m, p_rows, P), np.nan)
            weights = np.where(used, spec.weight(P), 0.0)
            beta = _fit(u, np.nan_to_num(values), weights, degrees, degree)
            result = np.where(defined, beta @ _moments(name, degree), np.nan)
            fitted = np.einsum("pj,pkj->pk", beta, u[:, :, None] ** np.arange(degree + 1))
            fitted = np.where(defined[:, None], fitted, np.nan)
            per_index[name] = (values, fitted, result)

    if thresholds:
        n_thr = n_brackets - 1
        rows = np.arange(n_parts).repeat(n_thr)
        columns = {
            "threshold": pl.Series(list(prepared.groups[:-1]) * n_parts, dtype=pl.String),
            "p": P.ravel(),
        }
        for name, (values, fitted, _) in per_index.items():
            columns[name] = np.where(defined[:, None], values, np.nan).ravel()
            columns[f"{name}_fit"] = fitted.ravel()
        columns["used"] = (used & defined[:, None]).ravel()
        return pl.concat([take_rows(prepared.keys, rows), pl.DataFrame(columns)], how="horizontal")

    n_idx = len(names)
    rows = np.arange(n_parts).repeat(n_idx)
    value = np.column_stack([per_index[n][2] for n in names]) if n_parts else np.zeros((0, 1))
    return pl.concat(
        [
            take_rows(prepared.keys, rows),
            pl.DataFrame(
                {
                    "index": pl.Series(
                        [_INDICES[n].label for n in names] * n_parts, dtype=pl.String
                    ),
                    "value": pl.Series(value.ravel(), dtype=pl.Float64),
                }
            ),
        ],
        how="horizontal",
    )
