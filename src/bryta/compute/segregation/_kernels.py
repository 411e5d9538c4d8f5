"""Compiled loops (numba) for the bootstrap: Poisson tables and draws, fix-up, M and H sums.

numpy runs each step of the sampler as a pass over all cells; at about ten passes per cell
the bootstrap is bound by memory traffic (docs/performance.md). These kernels do the same
steps in one loop per cell, so a cell's count is made while its table is in the CPU cache:

* :func:`poisson_draws` draws Poisson counts by the guide-table inversion of
  :class:`~._poisson.PoissonTable` (one random word and one lookup per draw; a short walk
  in the tails). It runs over the cells in the outer loop and the replicates in the inner one,
  so each mean's table is read from the cache for all the replicates of a cell.
* :func:`poisson_tables` builds those tables: each mean's log-probabilities
  (:func:`log_pmf_many`), their exact integer running sums and the guide, in one pass.
* :func:`fix_totals` makes each replicate's partition totals equal the observed ones, as
  described in :mod:`._sampling`: it adds a multinomial shortfall, or removes a
  uniform sample, without replacement, of the surplus people (:func:`cell_alias` builds
  the alias tables the added people are drawn from).
* :func:`information_sums` gives the sufficient statistics of M and H in one pass.

Random numbers come from SplitMix64 (Steele, Lea & Flood 2014: a Weyl sequence of 64-bit
counters through a bijective mixer; it passes BigCrush), started from a seed the caller
draws from its ``numpy.random.Generator``. The words of a call are a function of that seed and
of the data's shape only, so a seed gives the same numbers with any number of threads.
Uniform whole numbers below n are taken by rejection, so they are exactly uniform.

The kernels release the GIL (``nogil``), so the bootstrap's thread pool runs them in
parallel. They are compiled on first use and the machine code is cached next to this file.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # the golden-ratio increment of SplitMix64


@nb.njit(inline="always")
def _mix(z: np.uint64) -> np.uint64:
    """SplitMix64's output function (a bijection of 64-bit words)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@nb.njit(inline="always")
def _below(ctr: np.uint64, n: np.int64) -> tuple[np.uint64, np.int64]:
    """A uniform whole number in [0, n) (n ≥ 1), exactly: below 2³² by Lemire's multiply and
    reject (a division only for the rare words near the edge), above by rejecting the top
    2⁶⁴ mod n words and taking the remainder. Returns the advanced counter and the number."""
    un = np.uint64(n)
    if n < np.int64(1) << 32:
        while True:
            ctr += _GAMMA
            m = (_mix(ctr) >> np.uint64(32)) * un  # 32-bit word × n: the number is m >> 32
            low = m & np.uint64(0xFFFFFFFF)
            if low >= un or low >= ((np.uint64(1) << np.uint64(32)) - un) % un:
                return ctr, np.int64(m >> np.uint64(32))
    reject = (np.uint64(0) - un) % un  # 2⁶⁴ mod n
    while True:
        ctr += _GAMMA
        w = _mix(ctr)
        if w >= reject:  # the words kept are a whole number of runs of n
            return ctr, np.int64(w % un)


@nb.njit(nogil=True)
def _invert_cell(words, i, first, thresholds, shift, gbase, stored, base, out, col):
    """``out[r, col]`` = the draw of tabled cell i for ``words[r]``, every r: the first x of
    its window with r < T[x], r = word >> 16 (the rule of ``PoissonTable``)."""
    high, low, s16 = np.uint64(0xFFFFFFFFFFFF0000), np.uint64(0xFFFF), np.uint64(16)
    step, flag = gbase[i], stored[i]
    for r in range(words.size):
        w = words[r] & high
        f = first[(w >> shift[i]) + step]
        # one step when T[g] ≤ r, without a branch: (T[g] − 1) − r < 0, both below 2⁴⁸
        v = np.int64(f & low) + ((np.int64(f >> s16) - np.int64(w >> s16)) >> 63 & 1)
        if v >= 32768:  # flagged (bryta.compute.segregation._poisson.FLAG): in the tails, walk on
            pos = v - 32768 + flag
            while thresholds[pos] <= w >> s16:
                pos += 1
            v = pos - flag
        out[r, col] = v + base[i]


@nb.njit(cache=True, nogil=True)
def invert_words(words, first, thresholds, shift, gbase, stored, base):
    """The draws (rows, tabled cells), int64, for given 64-bit words of the same shape."""
    rows, n = words.shape
    out = np.empty((rows, n), dtype=np.int64)
    column = np.empty(rows, dtype=np.uint64)
    for i in range(n):
        column[:] = words[:, i]
        _invert_cell(column, i, first, thresholds, shift, gbase, stored, base, out, i)
    return out


@nb.njit(cache=True, nogil=True)
def poisson_draws(seed, first, thresholds, shift, gbase, stored, base, cells, out):
    """Poisson draws into ``out[r, cells[i]]`` for every tabled cell i and row r of ``out``:
    the cells in the outer loop, so a cell's table stays in the cache for all its rows. The
    word of (cell i, row r) is the (i · rows + r + 1)-th of the SplitMix64 stream from
    ``seed``."""
    rows = out.shape[0]
    words = np.empty(rows, dtype=np.uint64)
    ctr = np.uint64(seed)
    for i in range(shift.size):
        for r in range(rows):
            ctr += _GAMMA
            words[r] = _mix(ctr)
        _invert_cell(words, i, first, thresholds, shift, gbase, stored, base, out, cells[i])


@nb.njit(cache=True, nogil=True)
def cell_alias(counts, seg_start, seg_end):
    """Alias tables (Walker; Vose's construction, in whole numbers) for drawing a person's
    cell, with probability counts_c / N_s, in each segment s.

    Segment s has 2^b_s ≥ its cells columns; column i holds cell start + i (none past the
    segment's end) with ``share`` out of N_s, and gives the rest to the cell ``alias``. In
    units of 1 / (2^b_s · N_s) a cell's mass is counts_c · 2^b_s and a column holds N_s, so
    the shares are whole numbers and the draws exact.

    Returns (bits per segment, first column per segment, share per column, alias per column).
    """
    n_seg = seg_start.size
    bits = np.zeros(n_seg, dtype=np.int64)
    first = np.zeros(n_seg + 1, dtype=np.int64)
    for s in range(n_seg):
        while (1 << bits[s]) < seg_end[s] - seg_start[s]:
            bits[s] += 1
        first[s + 1] = first[s] + (1 << bits[s])
    share = np.zeros(first[n_seg], dtype=np.int64)
    alias = np.zeros(first[n_seg], dtype=np.int64)
    small = np.empty(first[n_seg], dtype=np.int64)
    large = np.empty(first[n_seg], dtype=np.int64)
    for s in range(n_seg):
        a, width, f0 = seg_start[s], np.int64(1) << bits[s], first[s]
        cap = np.int64(0)
        for c in range(a, seg_end[s]):
            cap += counts[c]
        n_small = n_large = 0
        for i in range(width):
            inside = a + i < seg_end[s]
            mass = counts[a + i] * width if inside else np.int64(0)
            share[f0 + i] = mass
            # a column past the segment's end gives all to its alias: never a cell outside the
            # segment, even when the segment holds no one and no column is topped up
            alias[f0 + i] = a + i if inside else a
            if mass < cap:
                small[n_small] = i
                n_small += 1
            else:
                large[n_large] = i
                n_large += 1
        while n_small and n_large:
            n_small -= 1
            i = small[n_small]
            j = large[n_large - 1]
            alias[f0 + i] = a + j  # column i keeps its share, cell j tops it up
            share[f0 + j] -= cap - share[f0 + i]
            if share[f0 + j] < cap:
                n_large -= 1
                small[n_small] = j
                n_small += 1
        # whatever is left holds exactly cap: its own cell every time
        for t in range(n_large):
            share[f0 + large[t]] = cap
        for t in range(n_small):
            share[f0 + small[t]] = cap
    return bits, first, share, alias


@nb.njit(inline="always")
def _sort_uniform(picks, n, below, scratch, count):
    """Sort picks[:n], whole numbers spread evenly over [0, below): a counting sort into n
    buckets, then insertion sort (each bucket holds about one). The bucket is
    ⌊pick · n / below⌋ in floating point, clamped to n − 1: a non-decreasing function of the
    pick (rounding is monotone), which is all the sort needs, without an integer division."""
    scale = n / np.float64(below)
    top = n - 1
    count[: n + 1] = 0
    for t in range(n):
        count[min(np.int64(picks[t] * scale), top) + 1] += 1
    for t in range(n):
        count[t + 1] += count[t]
    for t in range(n):
        bucket = min(np.int64(picks[t] * scale), top)
        scratch[count[bucket]] = picks[t]
        count[bucket] += 1
    for t in range(1, n):
        v = scratch[t]
        u = t - 1
        while u >= 0 and scratch[u] > v:
            scratch[u + 1] = scratch[u]
            u -= 1
        scratch[u + 1] = v
    picks[:n] = scratch[:n]


@nb.njit(nogil=True)
def _remove(draws, r, a, b, k, got, picks, scratch, count, ctr):
    """Remove a uniform sample, without replacement, of k of the ``got`` people in
    ``draws[r, a:b]``, numbered in cell order. The work arrays hold at least k + 1 (else
    larger ones are made here: a surplus that large is all but impossible). Returns the
    advanced counter."""
    if k + 1 > picks.size:
        picks = np.empty(k + 1, dtype=np.int64)
        scratch = np.empty(k + 1, dtype=np.int64)
        count = np.empty(k + 2, dtype=np.int64)
    # with replacement, keep the distinct, draw again for the duplicates: the rule treats
    # all people alike, so the set is uniform without replacement
    n = 0
    while n < k:
        while n < k:
            ctr, picks[n] = _below(ctr, got)
            n += 1
        _sort_uniform(picks, n, got, scratch, count)
        m = 1
        for j in range(1, n):
            if picks[j] != picks[m - 1]:
                picks[m] = picks[j]
                m += 1
        n = m
    picks[k] = got  # a sentinel: no person is numbered got
    j = 0
    running = np.int64(0)
    for c in range(a, b):
        running += draws[r, c]
        if picks[j] < running:  # rare: a cell is written only when it loses people
            taken = 0
            while picks[j] < running:
                taken += 1
                j += 1
            draws[r, c] -= taken
    return ctr


@nb.njit(cache=True, nogil=True)
def fix_totals(draws, seg_start, seg_end, want, bits, first, share, alias, seed):
    """Make each row's segment totals equal ``want``, in place (see the module docstring).
    A person added to segment s falls in a cell drawn from the segment's alias table
    (:func:`cell_alias`); the people removed are a uniform sample, without replacement, of
    the people drawn, numbered in cell order (:func:`_remove`). Each segment of a row is
    summed and fixed at once, while its cells are in the CPU cache."""
    rows, n_seg = draws.shape[0], seg_start.size
    # room for a surplus of 8 standard deviations; a larger one gets its own arrays
    size = np.int64(8 * np.sqrt(max(1, want.max()))) + 64 if n_seg else 64
    picks = np.empty(size, dtype=np.int64)
    scratch = np.empty(size, dtype=np.int64)
    count = np.empty(size + 1, dtype=np.int64)
    ctr = np.uint64(seed)
    for r in range(rows):
        for s in range(n_seg):
            a, b = seg_start[s], seg_end[s]
            got = np.int64(0)
            for c in range(a, b):
                got += draws[r, c]
            k = got - want[s]
            if k < 0:  # add -k people, each in cell c with probability counts_c / N_s
                shift = np.uint64(64 - bits[s])
                for _ in range(-k):
                    ctr += _GAMMA
                    col = first[s] + np.int64(_mix(ctr) >> shift) if bits[s] else first[s]
                    ctr, u = _below(ctr, want[s])
                    draws[r, a + col - first[s] if u < share[col] else alias[col]] += 1
            elif k > 0:  # remove a uniform sample of k of the got people drawn
                ctr = _remove(draws, r, a, b, k, got, picks, scratch, count, ctr)
    return ctr


@nb.njit(cache=True, nogil=True)
def information_sums(cells, starts, xlogx):
    """Sufficient statistics of M and H for whole-people replicates, in one pass.

    Args:
        cells: counts (replicates, units, groups), int64, units sorted by partition.
        starts: first unit of each partition, and the number of units at the end.
        xlogx: x ln x for x = 0 … len − 1 (larger x are computed).

    Returns:
        Per replicate and partition: Σ f(n_ug), Σ_u f(t_u), Σ_g f(N_g) (f = x ln x, float64),
        and the people, the populated units and the groups present (int64).
    """
    n_rep, _, n_groups = cells.shape
    n_parts = starts.size - 1
    f_cells = np.zeros((n_rep, n_parts))
    f_units = np.zeros((n_rep, n_parts))
    f_groups = np.zeros((n_rep, n_parts))
    people = np.zeros((n_rep, n_parts), dtype=np.int64)
    populated = np.zeros((n_rep, n_parts), dtype=np.int64)
    present = np.zeros((n_rep, n_parts), dtype=np.int64)
    top = xlogx.size
    group = np.zeros(n_groups, dtype=np.int64)
    for r in range(n_rep):
        for p in range(n_parts):
            group[:] = 0
            fc = fu = 0.0
            busy = 0
            for u in range(starts[p], starts[p + 1]):
                t = np.int64(0)
                for g in range(n_groups):
                    x = cells[r, u, g]
                    fc += xlogx[x] if x < top else x * np.log(x)
                    t += x
                    group[g] += x
                fu += xlogx[t] if t < top else t * np.log(t)
                busy += t > 0
            fg = 0.0
            total = np.int64(0)
            seen = 0
            for g in range(n_groups):
                x = group[g]
                fg += x * np.log(x) if x > 0 else 0.0
                total += x
                seen += x > 0
            f_cells[r, p], f_units[r, p], f_groups[r, p] = fc, fu, fg
            people[r, p], populated[r, p], present[r, p] = total, busy, seen
    return f_cells, f_units, f_groups, people, populated, present


@nb.njit(inline="always")
def _log_pmf(x, mean, small_err):
    """log P(X = x), X ~ Poisson(mean): Loader's saddle-point form (see
    ``._poisson.log_pmf``); ``small_err`` holds Stirling's error below 16."""
    if mean == 0.0:
        return 0.0 if x == 0 else -np.inf
    if x == 0:
        return -mean
    if x < small_err.size:
        err = small_err[x]
    else:
        inv2 = 1.0 / (np.float64(x) * x)
        err = (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680)))) / x
    diff = x - mean
    return (-err - 0.5 * np.log(2 * np.pi * x)) - (x * np.log1p(diff / mean) - diff)


@nb.njit(cache=True, nogil=True)
def log_pmf_many(x, mean, small_err):
    """:func:`_log_pmf` elementwise over equal-length arrays."""
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = _log_pmf(x[i], mean[i], small_err)
    return out


@nb.njit(cache=True, nogil=True)
def poisson_tables(lam, lo, size, start, bits, gbase, stored, small_err, m0, m1, thresholds, words):
    """The thresholds and guide words of means m0 … m1 − 1, into the whole table's arrays
    (the rules of ``PoissonTable``'s module docstring; means are independent, so any split of
    them between threads builds the same table). P(X = x) is rounded to whole units of 2⁻⁶⁰
    and summed exactly in 64-bit integers; T[x] is that running sum in units of 2⁻⁴⁸ (the
    window's last T is 2⁴⁸)."""
    one = np.uint64(1) << np.uint64(48)
    for m in range(m0, m1):
        n, at = size[m], start[m]
        running = np.uint64(0)
        for k in range(n):
            lp = _log_pmf(lo[m] + k, lam[m], small_err)
            running += np.uint64(np.rint(np.exp(lp) * 2.0**60))
            thresholds[at + k] = min(running >> np.uint64(12), one)
        thresholds[at + n - 1] = one
        # guide: bucket b holds g = #{x : T[x] ≤ b · 2^s}, flagged when the next holds ≥ g + 2
        shift = np.uint64(48 - bits[m])
        buckets = np.int64(1) << bits[m]
        g = 0
        for b in range(buckets):
            edge = np.uint64(b) << shift
            while g < n and thresholds[at + g] <= edge:
                g += 1
            word = (thresholds[at + g] - np.uint64(1)) << np.uint64(16)
            words[gbase[m] + b] = word | np.uint64(g + stored[m])
        for b in range(buckets):  # flags, from each bucket's successor
            here = np.int64(words[gbase[m] + b] & np.uint64(0x7FFF))
            if b + 1 < buckets:
                after = np.int64(words[gbase[m] + b + 1] & np.uint64(0x7FFF))
            else:
                after = n + stored[m]
            if after - here >= 2:
                words[gbase[m] + b] |= np.uint64(1 << 15)
