"""Simulated staggered-adoption panels with a known truth, for the tests and the benchmark.

Units start in cohort g with probability ``shares[g]`` (never otherwise); the effect of being
treated for e = t − g ≥ 0 periods is ``tau[g] · (1 + slope · e)`` on average, different per
cohort and growing with time since the start (the case where two-way fixed effects is biased),
times (1 + u_i) with u_i ~ N(0, 0.5²) for unit heterogeneity. Outcomes:

    y_it = α_i + λ_t + effect_it + ε_it,   α_i ~ N(0.5 · cohort index, 1), ε_it ~ N(0, 1)

so cohorts differ in level (which differencing removes) but trends are parallel. The truth of
each aggregation is computed from ``tau`` and the population cohort shares, as R ``aggte``
defines the aggregations.
"""

from __future__ import annotations

import numpy as np
import polars as pl

PERIODS = tuple(range(2011, 2019))  # 8 periods
SHARES = {2013: 0.15, 2015: 0.2, 2017: 0.25}  # the rest (0.4) never treated
TAU = {2013: 1.0, 2015: 0.5, 2017: 0.2}
SLOPE = 0.5


def effect(g: int, t: int, tau: dict[int, float] = TAU, slope: float = SLOPE) -> float:
    return tau[g] * (1 + slope * (t - g)) if t >= g else 0.0


def staggered_panel(
    rng: np.random.Generator,
    n_units: int = 300,
    *,
    periods: tuple[int, ...] = PERIODS,
    shares: dict[int, float] = SHARES,
    tau: dict[int, float] = TAU,
    slope: float = SLOPE,
) -> pl.DataFrame:
    """One panel: columns ``unit``, ``year``, ``y``, ``cohort`` (0 = never)."""
    cohorts = np.array([*shares, 0])
    probs = np.array([*shares.values(), 1 - sum(shares.values())])
    g = rng.choice(cohorts, size=n_units, p=probs)
    rank = np.searchsorted(np.sort(cohorts[cohorts > 0]), g) * (g > 0)
    alpha = rng.normal(0.5 * rank, 1.0)
    hetero = 1 + rng.normal(0, 0.5, size=n_units)
    t = np.asarray(periods)
    lam = 0.3 * (t - t[0])
    eff = np.zeros((n_units, len(t)))
    for cohort, size in tau.items():
        rows = g == cohort
        e = t[None, :] - cohort
        eff[rows] = np.where(e >= 0, size * (1 + slope * e), 0.0) * hetero[rows, None]
    y = alpha[:, None] + lam[None, :] + eff + rng.normal(size=(n_units, len(t)))
    return pl.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), len(t)),
            "year": np.tile(t, n_units),
            "y": y.ravel(),
            "cohort": np.repeat(g, len(t)),
        }
    )


def truth(
    *,
    periods: tuple[int, ...] = PERIODS,
    shares: dict[int, float] = SHARES,
    tau: dict[int, float] = TAU,
    slope: float = SLOPE,
) -> dict[str, float]:
    """The population value of each overall aggregation."""
    cells = [(g, t) for g in shares for t in periods[1:] if t >= g]

    def weighted(sel: list[tuple[int, int]]) -> float:
        w = np.array([shares[g] for g, _ in sel])
        v = np.array([effect(g, t, tau, slope) for g, t in sel])
        return float(w @ v / w.sum())

    group = {
        g: float(np.mean([effect(g, t, tau, slope) for t in periods[1:] if t >= g])) for g in shares
    }
    events = sorted({t - g for g, t in cells})
    calendar = sorted({t for _, t in cells})
    sizes = np.array(list(shares.values()))
    return {
        "simple": weighted(cells),
        "group": float(np.array(list(group.values())) @ sizes / sizes.sum()),
        "dynamic": float(
            np.mean([weighted([(g, t) for g, t in cells if t - g == e]) for e in events])
        ),
        "calendar": float(
            np.mean([weighted([(g, t) for g, t in cells if t == c]) for c in calendar])
        ),
    }
