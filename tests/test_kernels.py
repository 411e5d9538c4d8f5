"""The compiled sampler loops (bryta.compute.segregation._kernels) against independent references.

* SplitMix64 against its published first output for seed 0, and the Poisson kernel's words
  against SplitMix64 written out in numpy;
* the Poisson kernel against the inversion rule that ``test_poisson.py`` checks by brute force;
* the per-partition alias tables: shares that add up to every cell's count exactly (whole
  numbers, no tolerance);
* the fix-up: exact totals, removal without replacement (hypergeometric means and spread)
  beyond the kernel's work arrays, additions by the counts;
* uniform whole numbers: chi-square against the uniform distribution on both paths (below and
  above 2³²);
* the M and H sufficient statistics where x ln x is beyond the lookup table.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numba as nb
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from bryta.compute.segregation import _kernels, inference
from bryta.compute.segregation._poisson import PoissonTable

GAMMA = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def splitmix64(seed: int, n: int) -> np.ndarray:
    """The first n outputs of SplitMix64 from ``seed`` (Steele, Lea & Flood 2014), in Python
    integers."""
    out = []
    state = seed
    for _ in range(n):
        state = (state + GAMMA) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append(z ^ (z >> 31))
    return np.array(out, dtype=np.uint64)


@nb.njit
def _below_many(n, k, seed):
    ctr = np.uint64(seed)
    out = np.empty(k, dtype=np.int64)
    for i in range(k):
        ctr, out[i] = _kernels._below(ctr, n)
    return out


def test_splitmix64_matches_its_published_first_output():
    assert int(splitmix64(0, 1)[0]) == 0xE220A8397B1DCDAF  # the reference implementation's


def test_poisson_kernel_draws_by_the_inversion_rule_on_splitmix64_words():
    """The word of (cell i, row r) is output i · rows + r + 1 of the stream; each draw is
    what invert_words (checked against a brute-force inversion in test_poisson) gives."""
    means = np.array([0, 3, 250, 7, 1_500, 250, 32_000])
    table = PoissonTable(means)
    rows, seed = 5, 123_456_789_012
    out = np.empty((rows, means.size), dtype=np.int64)
    _kernels.poisson_draws(np.uint64(seed), *table._tables(), table.tabled, out)
    words = splitmix64(seed, rows * means.size).reshape(means.size, rows).T
    np.testing.assert_array_equal(out, table.invert(words))


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 10**6), min_size=1, max_size=40),
    cuts=st.lists(st.integers(1, 39), max_size=6),
)
# an empty segment whose width exceeds its cells: the padding column's alias pointed past the
# segment (found by hypothesis)
@example(counts=[0, 0, 0], cuts=[])
def test_cell_alias_shares_add_up_to_every_count_exactly(counts, cuts):
    """Column i of segment s gives `share` to cell start + i and N_s − share to its alias;
    summed over the columns, cell c must get counts_c · 2^b_s exactly."""
    counts = np.array(counts, dtype=np.int64)
    bounds = sorted({0, counts.size, *(c for c in cuts if c < counts.size)})
    starts, ends = np.array(bounds[:-1]), np.array(bounds[1:])
    bits, first, share, alias = _kernels.cell_alias(counts, starts, ends)
    for s, (a, b) in enumerate(zip(starts, ends, strict=True)):
        width, people = 1 << int(bits[s]), int(counts[a:b].sum())
        assert width >= b - a and (width == 1 or width // 2 < b - a)
        got = np.zeros(counts.size, dtype=object)  # exact integers
        for i in range(width):
            col = first[s] + i
            own, to = int(share[col]), int(alias[col])
            assert 0 <= own <= people and a <= to < b
            if i < b - a:
                got[a + i] += own
            else:
                assert own == 0 or people == 0  # past the segment: all to the alias
            got[to] += people - own
        want = [int(c) * width for c in counts[a:b]]
        if people:
            assert list(got[a:b]) == want


def test_uniform_numbers_below_n_are_uniform():
    """Chi-square, 0.1 % level, for n below 2³² (multiply and reject) and above (remainder
    and reject), the latter through the top bits of the numbers."""
    for n in [1, 3, 7, 1_000]:
        draws = _below_many(n, 200_000, 99 + n)
        assert draws.min() >= 0 and draws.max() < n
        if n > 1:
            observed = np.bincount(draws, minlength=n)
            chi2 = float(((observed - draws.size / n) ** 2 / (draws.size / n)).sum())
            assert chi2 < stats.chi2.ppf(0.999, n - 1), (n, chi2)
    n = 5 * (1 << 32) + 12_345
    draws = _below_many(n, 200_000, 7)
    assert draws.min() >= 0 and draws.max() < n
    observed = np.bincount(draws >> 32, minlength=6)
    p = np.array([1 << 32] * 5 + [12_345]) / n
    keep = p * draws.size >= 5
    obs = np.r_[observed[keep], observed[~keep].sum()]
    exp = np.r_[p[keep], p[~keep].sum()] * draws.size
    assert float(((obs - exp) ** 2 / exp).sum()) < stats.chi2.ppf(0.999, obs.size - 1)


def test_fix_totals_removes_without_replacement_and_adds_by_the_counts():
    """A surplus far beyond the kernel's work arrays (400 of 500 people drawn, arrays sized
    for about 144) and a shortfall from nothing. The people kept are a uniform sample without
    replacement of those drawn, so cell c keeps want · d_c / got on average (hypergeometric);
    the people added fall in cell c with probability counts_c / want."""
    rows = 4_000
    counts = np.array([10, 0, 30, 60, 5, 15], dtype=np.int64)
    seg_start, seg_end = np.array([0, 4]), np.array([4, 6])
    want = np.array([100, 20], dtype=np.int64)
    drawn = np.array([50, 0, 150, 300, 0, 0], dtype=np.int64)
    draws = np.tile(drawn, (rows, 1))
    alias = _kernels.cell_alias(counts, seg_start, seg_end)
    _kernels.fix_totals(draws, seg_start, seg_end, want, *alias, np.uint64(5))
    np.testing.assert_array_equal(draws[:, :4].sum(axis=1), 100)
    np.testing.assert_array_equal(draws[:, 4:].sum(axis=1), 20)
    assert (draws[:, :4] <= drawn[:4]).all() and (draws >= 0).all()
    # cell 2: hypergeometric variance 100 · 0.3 · 0.7 · 400/499 ≈ 16.8, se of the mean ≈ 0.065
    np.testing.assert_allclose(draws[:, :4].mean(axis=0), [10, 0, 30, 60], atol=0.3)
    np.testing.assert_allclose(draws[:, 4:].mean(axis=0), [5, 15], atol=0.3)
    # without replacement: no cell loses more people than it had, and the spread is the
    # hypergeometric one, below the binomial (with replacement) one
    assert draws[:, 2].var() < 100 * 0.3 * 0.7


def test_information_sums_beyond_the_lookup_table(monkeypatch):
    """With a table of 16 entries, cells and unit totals above 15 take x ln x computed."""
    monkeypatch.setattr(inference, "XLOGX_BITS", 4)
    gen = np.random.default_rng(8)
    cells = gen.integers(0, 60, size=(3, 7, 2))
    starts = np.array([0, 3, 7])
    f_cells, f_units, f_groups, people, populated, present = _kernels.information_sums(
        cells, starts, inference._xlogx_table(4)
    )

    def f(x: float) -> float:
        return x * math.log(x) if x > 0 else 0.0

    for r in range(3):
        for p in range(2):
            block = cells[r, starts[p] : starts[p + 1]]
            assert math.isclose(f_cells[r, p], sum(f(x) for x in block.ravel()), rel_tol=1e-12)
            units, groups = block.sum(axis=1), block.sum(axis=0)
            assert math.isclose(f_units[r, p], sum(f(x) for x in units), rel_tol=1e-12)
            assert math.isclose(f_groups[r, p], sum(f(x) for x in groups), rel_tol=1e-12)
            assert people[r, p] == block.sum()
            assert populated[r, p] == (units > 0).sum()
            assert present[r, p] == (groups > 0).sum()


def test_importing_bryta_does_not_import_numba():
    """numba costs about a second to import; only the bootstrap's first call should pay it."""
    code = "import sys, bryta; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
