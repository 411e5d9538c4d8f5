"""Poisson draws with whole-number means by table inversion, vectorised over cells.

The bootstrap draws an independent Poisson(n_c) for every cell c of every replicate, with the
same means n_c (the observed counts) in every replicate. numpy's ``Generator.poisson`` redoes
its set-up (logarithms, square roots, a rejection loop) for every draw; here the set-up is
done once per distinct mean and a draw costs one 64-bit random number and one table lookup.

The table, for each distinct mean λ (a whole number):

* a window of values x = lo … hi covering λ ± 8.5 √λ (and at least 0 … λ + 16), outside
  which the Poisson mass is below 2⁻⁵⁶ (tested); the window's last value takes that mass;
* thresholds T[x] = ⌊P(X ≤ x) · 2⁴⁸⌋ (the last one 2⁴⁸): for a uniform 48-bit number r, the
  first x with r < T[x] is Poisson(λ) with every P(X ≤ x) rounded down to a multiple of 2⁻⁴⁸
  (3.6e-15, the accuracy of the double-precision sums they come from);
* a guide of 2^b buckets (2^b ≥ the window's length): bucket k holds the first x that can be
  the answer for an r in [k · 2^(48−b), (k + 1) · 2^(48−b)), packed in one 64-bit word with
  that x's threshold and a flag for buckets that span more than two values (in the tails).

A draw takes r from a 64-bit random number, looks up its bucket's word and steps once if
r ≥ T[x]; draws in flagged buckets (about 2 in 100, in the tails) walk on to the answer. The
loop is compiled (:mod:`._kernels`): one random number and one 8-byte lookup
per draw, instead of numpy's per-draw set-up. Means whose window would not fit (λ beyond
about 3.7 million, or a table beyond ``MAX_ENTRIES``) go to ``Generator.poisson``; which
cells do is decided by the data alone, so a seed gives the same numbers on any machine.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Half-width of a mean's window in standard deviations, and the slack added on the right.
WINDOW_SD = 8.5
WINDOW_SLACK = 16

#: Table entries (thresholds) kept at most: 8 bytes each, plus the guide (≤ 2 words of 8 bytes
#: per entry).
MAX_ENTRIES = 3_000_000

#: Guide buckets per window entry (rounded up to a power of two per mean).
GUIDE = 1.0

#: Windows longer than this go to numpy (15 bits hold a place in the window; λ beyond ~3.7 M).
MAX_WINDOW = 1 << 15

ONE = np.uint64(1 << 48)
FLAG = 1 << 15  # bryta.compute.segregation._kernels has the same

#: Tables with more entries than this are built on two threads.
SPLIT_BUILD = 200_000


def kernels():
    """:mod:`._kernels`, imported on first use: numba takes about a second to
    import, which every ``bryta`` command would otherwise pay."""
    from bryta.compute.segregation import _kernels

    return _kernels


def window(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last value of each mean's window (int64 arrays)."""
    lam = np.asarray(lam, dtype=np.float64)
    spread = WINDOW_SD * np.sqrt(lam)
    lo = np.maximum(0.0, np.floor(lam - spread - 1.0)).astype(np.int64)
    hi = np.ceil(lam + spread + WINDOW_SLACK).astype(np.int64)
    return lo, hi


#: Below this, Stirling's error term comes from ``math.lgamma``; above, from its series.
_STIRLING_SERIES_FROM = 16
_SMALL_ERR = np.array(
    [
        math.lgamma(k + 1.0) - (k + 0.5) * math.log(k) + k - 0.5 * math.log(2 * math.pi)
        if k
        else 0.0
        for k in range(_STIRLING_SERIES_FROM)
    ]
)


def log_pmf(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """log P(X = x) for X ~ Poisson(lam), elementwise (x whole, lam ≥ 0).

    Written as Loader's saddle-point form, −stirlerr(x) − bd0(x, λ) − ½ ln 2πx with
    bd0 = x ln(x/λ) + λ − x, so that no two large terms cancel: the error stays near the
    rounding of x − λ even for means in the millions. stirlerr(x) = ln x! − [(x + ½) ln x −
    x + ½ ln 2π] comes from ``math.lgamma`` below 16 and from its series above. (The tables
    use the same compiled function, :func:`._kernels.log_pmf_many`.)
    """
    x, lam = np.broadcast_arrays(np.asarray(x, dtype=np.int64), np.asarray(lam, np.float64))
    flat = kernels().log_pmf_many(x.ravel(), lam.ravel(), _SMALL_ERR)
    return flat.reshape(x.shape)


def _guide_bits(size: np.ndarray) -> np.ndarray:
    """log₂ of the number of guide buckets of each mean: 2^b ≥ GUIDE × its window."""
    return np.ceil(np.log2(np.maximum(size * GUIDE, 2))).astype(np.int64)


def _build(
    distinct: np.ndarray,
    lo: np.ndarray,
    size: np.ndarray,
    start: np.ndarray,
    bits: np.ndarray,
    gbase: np.ndarray,
    stored: np.ndarray,
    threads: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds and guide words of every mean (``stored``: what a word adds to a place in
    the window), by the compiled loop :func:`._kernels.poisson_tables`. Large
    tables are built in two halves of the means on two threads; the means are independent,
    so the result is the same."""
    thresholds = np.empty(int(size.sum()), dtype=np.uint64)
    words = np.empty(int((np.int64(1) << bits).sum()), dtype=np.uint64)
    if not distinct.size:
        return thresholds, words
    args = (distinct.astype(np.float64), lo, size, start, bits, gbase, stored, _SMALL_ERR)

    def part(bounds: tuple[int, int]) -> None:
        kernels().poisson_tables(*args, *bounds, thresholds, words)

    workers = threads or os.cpu_count() or 1
    if workers < 2 or distinct.size < 2 or size.sum() < SPLIT_BUILD:
        part((0, distinct.size))
    else:
        half = np.searchsorted(np.cumsum(size), size.sum() / 2)
        half = int(np.clip(half, 1, distinct.size - 1))
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(part, [(0, half), (half, distinct.size)]))
    return thresholds, words


class PoissonTable:
    """Poisson(λ_c) draws for a fixed vector of whole-number means λ_c (the cells).

    >>> table = PoissonTable(np.array([0, 3, 3, 250]))
    >>> draws = table.draw(20_000, np.random.default_rng(1))
    >>> draws.shape, bool((draws[:, 0] == 0).all())
    ((20000, 4), True)
    >>> [round(float(m), 1) for m in draws.mean(axis=0)]
    [0.0, 3.0, 3.0, 250.0]
    """

    def __init__(
        self, means: np.ndarray, max_entries: int | None = None, threads: int | None = None
    ) -> None:
        means = np.asarray(means, dtype=np.int64)
        if means.size and means.min() < 0:
            raise ValueError("Poisson means must be non-negative")
        self.n_cells = means.size
        distinct, inverse = np.unique(means, return_inverse=True)
        lo, hi = window(distinct)
        size = hi - lo + 1
        # The largest means go to numpy when the table would outgrow its budget, or a window
        # its 15-bit positions (a rule on the data only). Windows grow with the mean, so the
        # table keeps a prefix of the distinct means.
        budget = MAX_ENTRIES if max_entries is None else max_entries
        kept = int(np.count_nonzero((np.cumsum(size) <= budget) & (size < MAX_WINDOW)))
        self.direct = np.flatnonzero(inverse >= kept)  # cells drawn by Generator.poisson
        self.direct_means = means[self.direct].astype(np.float64)
        self.tabled = np.flatnonzero(inverse < kept)
        j = inverse[self.tabled]
        distinct, lo, size = distinct[:kept], lo[:kept], size[:kept]
        start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)

        # A word stores x − base: x itself while it fits in 15 bits (then no add per draw),
        # the place in the window otherwise.
        base = np.where(lo + size - 1 < FLAG, 0, lo)
        bits = _guide_bits(size)
        gbase = np.concatenate([[0], np.cumsum(np.int64(1) << bits)[:-1]]).astype(np.int64)
        tables = _build(distinct, lo, size, start, bits, gbase, lo - base, threads)
        self.thresholds, self.first = tables
        self.cell_shift = (64 - bits).astype(np.uint64)[j]
        self.cell_gbase = gbase[j].astype(np.uint64)
        self.cell_lo = lo[j]
        self.cell_start = start[j]
        self.cell_last = (start + size - 1)[j]
        self.cell_base = base[j]
        self.cell_stored = (start - lo + base)[j]  # stored value + this = place in the tables

    def draw(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        """Poisson draws (rows, cells), int64, each cell with its own mean."""
        out = np.empty((rows, self.n_cells), dtype=np.int64)
        if self.tabled.size:
            seed = np.uint64(rng.bit_generator.random_raw())  # starts the loop's SplitMix64
            kernels().poisson_draws(seed, *self._tables(), self.tabled, out)
        if self.direct.size:
            out[:, self.direct] = rng.poisson(self.direct_means, size=(rows, self.direct.size))
        return out

    def _tables(self) -> tuple[np.ndarray, ...]:
        return (
            self.first,
            self.thresholds,
            self.cell_shift,
            self.cell_gbase,
            self.cell_stored,
            self.cell_base,
        )

    def invert(self, raw: np.ndarray) -> np.ndarray:
        """The draws (int64) for given uniform 64-bit words (rows, tabled cells), uint64: each
        draw is the first x of the cell's window with r < T[x], where r = word >> 16."""
        words = np.ascontiguousarray(raw, dtype=np.uint64)
        return kernels().invert_words(words, *self._tables())
