"""The table-inversion Poisson sampler: its tables against scipy's Poisson distribution, its
guide and tail search against a brute-force inversion of the same thresholds, its draws
against the exact probabilities.

References are independent of the code under test: scipy.stats.poisson (its own algorithms),
``math.lgamma``, and ``numpy.searchsorted`` over the thresholds for the inversion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bryta.compute.segregation import _poisson
from bryta.compute.segregation._poisson import PoissonTable, log_pmf, window

MEANS = [0, 1, 2, 7, 10, 17, 63, 250, 900, 3_439, 20_000, 250_000, 3_000_000]


def _window_of(table: PoissonTable, mean_cell: int) -> tuple[np.ndarray, int]:
    """Thresholds and first value of the window of a tabled cell (by its place in
    ``table.tabled``)."""
    start, last = table.cell_start[mean_cell], table.cell_last[mean_cell]
    return table.thresholds[start : last + 1], int(table.cell_lo[mean_cell])


def test_log_pmf_matches_direct_formula_and_scipy():
    x = np.arange(0, 200)
    for lam in [0.5, 1.0, 3.0, 17.0, 120.0]:
        direct = np.array([k * math.log(lam) - lam - math.lgamma(k + 1.0) for k in x])
        got = log_pmf(x, np.full(x.size, lam))
        assert np.allclose(got, direct, rtol=1e-12, atol=1e-12)
    for lam in [900.0, 20_000.0, 3e6]:
        # scipy's x ln λ − λ − ln x! loses ~1e-16 of its ~λ ln λ terms (1e-8 at 3e6), so it is
        # a loose reference here; the ratio of neighbours, λ / (x + 1), and the total, 1,
        # are exact ones.
        sd = math.sqrt(lam)
        x = np.arange(int(lam - 9 * sd), int(lam + 9 * sd))
        got = log_pmf(x, np.full(x.size, lam))
        assert np.allclose(got, stats.poisson.logpmf(x, lam), rtol=0, atol=1e-16 * lam * 50)
        # relative error ≤ 5e-15 √λ: times the pmf (≤ 0.4 / √λ), below 2⁻⁴⁸ in probability
        assert np.allclose(np.diff(got), np.log(lam / x[1:]), rtol=0, atol=5e-15 * sd)
        assert abs(math.fsum(np.exp(got)) - 1) < 1e-13
    assert log_pmf(np.array([0, 1]), np.array([0.0, 0.0])).tolist() == [0.0, -math.inf]


def test_windows_leave_out_less_than_2_to_the_minus_56():
    """Poisson mass outside each window, bounded with math.lgamma: beyond hi the ratio of
    consecutive probabilities is below λ/(hi + 2), below lo below (lo − 1)/λ."""
    lams = np.unique(np.r_[np.arange(0, 3000), np.geomspace(3000, 3.6e6, 300).astype(int)])
    lo, hi = window(lams)
    for lam, a, b in zip(lams.tolist(), lo.tolist(), hi.tolist(), strict=True):
        if lam == 0:
            continue

        def lp(k: int, lam: float = lam) -> float:
            return k * math.log(lam) - lam - math.lgamma(k + 1.0)

        right = lp(b + 1) - math.log(1 - lam / (b + 2))
        assert right < -56 * math.log(2), lam
        if a > 0:
            left = lp(a - 1) - math.log(1 - (a - 1) / lam)
            assert left < -56 * math.log(2), lam


def test_thresholds_are_the_cdf_to_2_to_the_minus_48():
    """Against scipy's cdf up to λ = 20,000 (beyond, scipy's own incomplete-gamma cdf is off
    by up to 7e-9 at 3e6; the probabilities there are checked through log_pmf above)."""
    small = [m for m in MEANS if m <= 20_000]
    table = PoissonTable(np.array(small))
    for i, lam in enumerate(small):
        t, lo = _window_of(table, i)
        x = lo + np.arange(t.size)
        cdf = stats.poisson.cdf(x, lam) if lam else np.ones(t.size)
        got = t.astype(np.float64) / 2.0**48
        assert np.all(np.diff(t.astype(np.int64)) >= 0)
        assert t[-1] == 2**48
        assert np.max(np.abs(got[:-1] - cdf[:-1])) < 2.0**-46, lam


@settings(max_examples=40, deadline=None)
@given(
    means=st.lists(
        st.one_of(st.integers(0, 5_000), st.sampled_from([32_000, 250_000, 3_000_000])),
        min_size=1,
        max_size=12,
    ),
    seed=st.integers(0, 2**32 - 1),
    guide=st.sampled_from([0.25, 0.5, 1.0, 2.0]),
)
def test_guide_and_tail_search_equal_brute_force_inversion(means, seed, guide):
    """For any 64-bit words — including the extremes and words on a threshold — the draw is
    the first x with r < T[x]: the guide, the one step and the flagged-bucket search agree
    with numpy.searchsorted over the whole window."""
    old = _poisson.GUIDE
    _poisson.GUIDE = guide
    try:
        table = PoissonTable(np.array(means))
    finally:
        _poisson.GUIDE = old
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64 - 1, size=(64, len(means)), dtype=np.uint64, endpoint=True)
    words[0] = 0
    words[1] = np.uint64(2**64 - 1)
    # words whose 48-bit number sits exactly on, and just below, a threshold
    for c in range(len(means)):
        t, _ = _window_of(table, c)
        pick = t[rng.integers(0, t.size, size=30)]
        words[2:32, c] = np.minimum(pick, 2**48 - 1) << np.uint64(16)
        words[32:62, c] = (np.maximum(pick, 1) - np.uint64(1)) << np.uint64(16)
    got = table.invert(words.copy())
    for c in range(len(means)):
        t, lo = _window_of(table, c)
        r = words[:, c] >> np.uint64(16)
        expected = lo + np.searchsorted(t, r, side="right")
        assert np.array_equal(got[:, c], expected), (means[c], c)


@pytest.mark.parametrize("lam", [1, 7, 63, 900])
def test_draws_follow_the_poisson_pmf(lam):
    """Chi-square goodness of fit against scipy's pmf, 200,000 draws (0.1 % level)."""
    table = PoissonTable(np.array([lam]))
    draws = table.draw(200_000, np.random.default_rng(lam))[:, 0]
    k = np.arange(draws.max() + 1)
    observed = np.bincount(draws, minlength=k.size)
    expected = stats.poisson.pmf(k, lam) * draws.size
    keep = expected >= 5
    obs = np.r_[observed[keep], observed[~keep].sum()]
    exp = np.r_[expected[keep], draws.size - expected[keep].sum()]
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    assert chi2 < stats.chi2.ppf(0.999, obs.size - 1), (chi2, obs.size)


def test_means_beyond_the_budget_go_to_numpy_and_keep_their_distribution():
    means = np.array([5, 40_000, 12, 900])
    table = PoissonTable(means, max_entries=200)  # only the small means fit
    assert table.direct.tolist() == [1, 3]
    assert table.tabled.tolist() == [0, 2]
    draws = table.draw(40_000, np.random.default_rng(3))
    mean, var = draws.mean(axis=0), draws.var(axis=0)
    se = np.sqrt(means / draws.shape[0])
    assert np.all(np.abs(mean - means) < 5 * se)
    assert np.allclose(var / means, 1, atol=0.05)


def test_same_seed_same_draws_and_zero_means_stay_zero():
    means = np.array([0, 3, 0, 250, 1])
    a = PoissonTable(means).draw(50, np.random.default_rng(9))
    b = PoissonTable(means).draw(50, np.random.default_rng(9))
    assert np.array_equal(a, b)
    assert (a[:, [0, 2]] == 0).all()
    empty = PoissonTable(np.zeros(0, dtype=np.int64))
    assert empty.draw(4, np.random.default_rng(1)).shape == (4, 0)
    with pytest.raises(ValueError, match="non-negative"):
        PoissonTable(np.array([1, -1]))


def test_tables_built_in_halves_equal_one_build(monkeypatch):
    """The two-thread build (two independent halves of the means) gives the same tables."""
    monkeypatch.setattr(_poisson, "SPLIT_BUILD", 10)
    means = np.array([0, 4, 4, 90, 1_500, 33_000, 7])
    one, two = PoissonTable(means, threads=1), PoissonTable(means, threads=2)
    assert np.array_equal(one.thresholds, two.thresholds)
    assert np.array_equal(one.first, two.first)
    rng1, rng2 = np.random.default_rng(4), np.random.default_rng(4)
    assert np.array_equal(one.draw(100, rng1), two.draw(100, rng2))
