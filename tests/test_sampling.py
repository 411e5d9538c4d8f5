"""The bootstrap sampler is exactly multinomial; the replicate evaluation equals the engine's.

Every check compares with the multinomial distribution itself (moments and probabilities
computed here from its formulas), never with numbers the sampler printed. Seeds are fixed,
so the tests are deterministic; the tolerances are several standard errors wide.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bryta.compute.segregation import _poisson, _sampling
from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation._sampling import resample_people
from bryta.compute.segregation.engine import compute_blocks, resolve_indices
from bryta.compute.segregation.indices import Params
from bryta.compute.segregation.inference import _evaluate

#: FIXUP_RATIO 0: every partition by Poisson + fix-up; inf: every one by the binomial tree.
ROUTES = [0.0, math.inf]


def _multinomial_pmf(n: int, p: np.ndarray, x: tuple[int, ...]) -> float:
    coef = math.factorial(n) / math.prod(math.factorial(k) for k in x)
    return coef * math.prod(pi**k for pi, k in zip(p, x, strict=True))


@pytest.mark.parametrize(
    "counts",
    [
        np.array([1, 1, 2]),  # N = 4: T ~ Poisson(4) misses N by ±2 typically
        np.array([3, 0, 5, 4]),  # a zero cell stays zero
    ],
)
@pytest.mark.parametrize("route", ROUTES)
def test_small_case_matches_the_multinomial_pmf(counts, route, monkeypatch):
    """Chi-square goodness of fit over every possible outcome (exact pmf), 40,000 draws."""
    monkeypatch.setattr(_sampling, "FIXUP_RATIO", route)
    n, reps = int(counts.sum()), 40_000
    p = counts / n
    draws = resample_people(counts, np.array([0]), np.array([counts.size]), reps, rng(7))
    live = np.flatnonzero(counts)
    assert (draws[:, counts == 0] == 0).all()
    outcomes = [x for x in itertools.product(range(n + 1), repeat=live.size) if sum(x) == n]
    index = {x: i for i, x in enumerate(outcomes)}
    observed = np.bincount([index[tuple(row)] for row in draws[:, live]], minlength=len(index))
    expected = reps * np.array([_multinomial_pmf(n, p[live], x) for x in outcomes])
    keep = expected >= 5  # pool the rare outcomes into one bin
    obs, exp = observed[keep], expected[keep]
    if not keep.all():
        obs, exp = np.r_[obs, observed[~keep].sum()], np.r_[exp, expected[~keep].sum()]
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    df = obs.size - 1
    # 0.1 % critical value (Wilson–Hilferty): a correct sampler fails this 1 time in 1,000
    crit = df * (1 - 2 / (9 * df) + 3.09 * math.sqrt(2 / (9 * df))) ** 3
    assert chi2 < crit, (chi2, crit, df)


@pytest.mark.parametrize(
    ("route", "table_entries"),
    [
        *((r, None) for r in ROUTES),
        (1.0, None),  # the big partition by tree, the small one by Poisson
        (0.0, 1_500),  # Poisson; the larger counts beyond the table's budget go to numpy
    ],
)
def test_moments_match_the_multinomial_in_each_partition(route, table_entries, monkeypatch):
    """Means N p, variances N p (1 − p), covariances −N p_i p_j within a partition and 0
    across partitions, for a large partition (fix-up of about √N people) and a small one."""
    monkeypatch.setattr(_sampling, "FIXUP_RATIO", route)
    if table_entries is not None:
        monkeypatch.setattr(_poisson, "MAX_ENTRIES", table_entries)
    rng_data = np.random.default_rng(3)
    big = rng_data.integers(0, 400, size=60)
    small = np.array([2, 7, 0, 1])
    counts = np.r_[big, small]
    starts, ends = np.array([0, big.size]), np.array([big.size, counts.size])
    reps = 20_000
    draws = resample_people(counts, starts, ends, reps, rng(11)).astype(np.float64)
    assert (draws[:, : big.size].sum(axis=1) == big.sum()).all()
    assert (draws[:, big.size :].sum(axis=1) == small.sum()).all()

    cov = np.cov(draws, rowvar=False)
    for lo, hi in zip(starts, ends, strict=True):
        n = counts[lo:hi].sum()
        p = counts[lo:hi] / n
        want_cov = n * (np.diag(p) - np.outer(p, p))
        got_mean = draws[:, lo:hi].mean(axis=0)
        se_mean = np.sqrt(np.diag(want_cov) / reps)
        assert np.all(np.abs(got_mean - n * p) <= 5 * se_mean + 1e-12)
        # sd of a sample (co)variance ≈ sqrt((σ_ii σ_jj + σ_ij²) / reps) for near-normal counts
        sd = np.sqrt((np.outer(np.diag(want_cov), np.diag(want_cov)) + want_cov**2) / reps)
        assert np.all(np.abs(cov[lo:hi, lo:hi] - want_cov) <= 5 * sd + 1e-12)
    across = cov[: big.size, big.size :]
    sd_across = np.sqrt(np.outer(np.diag(cov)[: big.size], np.diag(cov)[big.size :]) / reps)
    assert np.all(np.abs(across) <= 5 * sd_across + 1e-12)


def test_the_total_of_a_large_partition_is_exact_whatever_the_poisson_total(monkeypatch):
    """Partitions of very different sizes, several replicates per chunk: the fix-up adds
    and removes people in many (replicate, partition) pairs at once."""
    monkeypatch.setattr(_sampling, "FIXUP_RATIO", 0.0)
    counts = np.r_[np.full(3000, 3000), np.array([1]), np.full(50, 2)]
    starts = np.array([0, 3000, 3001])
    ends = np.array([3000, 3001, counts.size])
    draws = resample_people(counts, starts, ends, 64, rng(5))
    totals = np.add.reduceat(draws, starts, axis=1)
    np.testing.assert_array_equal(totals, np.tile([9_000_000, 1, 100], (64, 1)))
    assert (draws >= 0).all()


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_replicate_evaluation_of_m_and_h_equals_the_engine():
    """The sufficient-statistics path for M and H against the engine, including the NaN
    cases: a partition with no people, one with one populated unit, one with one group."""
    gen = np.random.default_rng(4)
    n_rep, n_groups = 6, 3
    part = np.repeat(np.arange(5), [4, 3, 2, 3, 5])
    cells = gen.integers(0, 40, size=(n_rep, part.size, n_groups))
    cells[:, 4:7] = 0  # partition 1: nobody
    cells[:, 8] = 0  # partition 2: one populated unit
    cells[:, 9:12, 1:] = 0  # partition 3: one group
    specs = resolve_indices(["theil_h", "mutual_information"])
    params = Params(base=2.0)
    fast = _evaluate(cells.reshape(n_rep, -1), part, n_rep, 5, specs, np.arange(3), params)
    rep_part = (np.arange(n_rep)[:, None] * 5 + part[None, :]).ravel()
    m = Margins(cells.reshape(-1, n_groups).astype(np.float64), rep_part)
    slow, _, _ = compute_blocks(m, specs, np.arange(3), params)
    slow = slow.reshape(n_rep, 5, -1)
    np.testing.assert_array_equal(np.isnan(fast), np.isnan(slow))
    assert np.isnan(slow[:, 1:4]).all() and not np.isnan(slow[:, [0, 4]]).any()
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-13)
