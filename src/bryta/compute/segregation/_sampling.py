"""Random tables for inference, vectorised over replicates and partitions.

* :func:`resample_people` is the individual-level bootstrap: for every replicate and
  partition, a multinomial over the partition's cells with its observed total N and
  probabilities n_c / N. It draws an independent Poisson(n_c) per cell (the sum T is then
  Poisson(N), and given T the cells are multinomial(T, n_c / N)), then makes the total exactly
  N: when T > N it removes T − N of the T people drawn, chosen uniformly without replacement
  (the N people left are N independent draws over the cells); when T < N it adds a
  multinomial(N − T, n_c / N). Either way the result is exactly multinomial(N, n_c / N), and
  the fix-up touches about √N people. The Poisson draws come from
  :class:`~._poisson.PoissonTable` (table inversion: one random word and one
  table lookup per cell), and the people added fall in cells drawn from an alias table of
  the partition's counts. Both are compiled loops (:mod:`._kernels`) over
  a block's replicates and partitions. Partitions with fewer than ``FIXUP_RATIO`` · √N
  cells, where the fix-up would cost more than one binomial per cell, go through
  :func:`multinomial_cells` instead. :class:`PeopleResampler` builds the tables once for
  all blocks of replicates.
* :func:`multinomial_cells` draws, for every replicate and partition, n people over the cells
  with probabilities proportional to ``masses`` (random allocation with simulated margins:
  masses = t_u N_g / T), by recursive binary splits of each partition's cells (about
  log₂(cells) numpy calls per batch, one binomial draw per cell).
* :func:`hypergeometric_allocation` allocates each group's people to units at random with
  both margins fixed (a random permutation of the group labels over the people).

No sampler loops in Python over partitions, replicates or cells: numpy calls, or numba's
compiled loops where numpy would pass over every cell about ten times.

Reproducibility: replicates are drawn in blocks whose size depends on the data only; block k
uses the k-th child of ``numpy.random.SeedSequence(seed)``, and inside a block the work is
cut into pieces whose size also depends on the data only. The same seed gives the same
numbers whatever the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from bryta.compute.segregation._poisson import PoissonTable, kernels

T = TypeVar("T")

#: Cells (replicates × cells) drawn and evaluated at once; bounds memory per thread.
BLOCK_CELLS = 2_000_000


#: Pad segments to a rectangle for numpy's multinomial while padding at most this factor.
MAX_PADDING = 4.0

#: Segments with at least this many cells per √people are resampled by Poisson + fix-up, the
#: others by the binomial tree of :func:`multinomial_cells`.
FIXUP_RATIO = 4.0

#: Cells (replicates × cells) resampled per call of the compiled loops: enough replicates per
#: cell (about 70 for 30,000 cells) that each Poisson table is read once from memory for them.
CHUNK_CELLS = 1 << 21


def resample_people(
    counts: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    n_rep: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The individual-level bootstrap of contiguous segments of cells (the partitions).

    Args:
        counts: whole people per cell (C,), int64; segment s covers cells
            seg_start[s]:seg_end[s] (non-empty, in order, together covering all cells).

    Returns:
        Counts (n_rep, C), int64: within each segment a multinomial(N_s, counts / N_s) with
        N_s the segment's people, independently for every replicate and segment.

    >>> rng = np.random.default_rng(0)
    >>> draws = resample_people(np.array([5, 0, 15, 3, 1]), np.array([0, 3]), np.array([3, 5]),
    ...                         1000, rng)
    >>> bool((draws[:, :3].sum(axis=1) == 20).all() and (draws[:, 1] == 0).all())
    True
    """
    return PeopleResampler(counts, seg_start, seg_end).draw(n_rep, rng)


class PeopleResampler:
    """:func:`resample_people` set up once for many blocks of replicates.

    :meth:`chunks` yields the replicates in pieces of about ``CHUNK_CELLS`` cells (a number
    of rows that depends on the data only), so a caller can evaluate each piece as it comes
    and hold only one at a time.
    """

    def __init__(
        self,
        counts: np.ndarray,
        seg_start: np.ndarray,
        seg_end: np.ndarray,
        threads: int | None = None,
    ) -> None:
        counts = np.asarray(counts, dtype=np.int64)
        seg_start, seg_end = np.asarray(seg_start, np.int64), np.asarray(seg_end, np.int64)
        lengths = seg_end - seg_start
        people = np.add.reduceat(counts, seg_start) if seg_start.size else seg_start
        # The fix-up handles about √N people per segment, the tree one binomial per cell: the
        # Poisson route pays where cells outnumber √N (a rule on the data only: reproducible).
        poisson = lengths >= FIXUP_RATIO * np.sqrt(people)
        self.n_cells = counts.size
        self.rows = max(1, CHUNK_CELLS // max(1, counts.size))  # depends on the data only
        self.routes: list[_PoissonRoute | _TreeRoute] = []
        for by_poisson in (True, False):
            chosen = poisson if by_poisson else ~poisson
            if not chosen.any():
                continue
            ends = np.cumsum(lengths[chosen])
            cells = None if chosen.all() else np.flatnonzero(np.repeat(chosen, lengths))
            sub = counts if cells is None else counts[cells]
            route: _PoissonRoute | _TreeRoute
            if by_poisson:
                route = _PoissonRoute(sub, ends - lengths[chosen], ends, cells, threads)
            else:
                route = _TreeRoute(sub, ends - lengths[chosen], ends, cells)
            self.routes.append(route)

    def chunks(self, n_rep: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
        """Replicates (rows, C) in pieces, ``n_rep`` rows in all."""
        for r0 in range(0, n_rep, self.rows):
            rows = min(self.rows, n_rep - r0)
            if len(self.routes) == 1 and self.routes[0].cells is None:
                yield self.routes[0].draw(rows, rng)
                continue
            out = np.empty((rows, self.n_cells), dtype=np.int64)
            for route in self.routes:
                out[:, route.cells] = route.draw(rows, rng)
            yield out

    def draw(self, n_rep: int, rng: np.random.Generator) -> np.ndarray:
        """Replicates (n_rep, C), int64."""
        parts = list(self.chunks(n_rep, rng))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


class _TreeRoute:
    """Segments with few cells per √people: the binomial tree of :func:`multinomial_cells`."""

    def __init__(
        self,
        counts: np.ndarray,
        seg_start: np.ndarray,
        seg_end: np.ndarray,
        cells: np.ndarray | None,
    ) -> None:
        self.counts, self.seg_start, self.seg_end, self.cells = counts, seg_start, seg_end, cells
        self.people = np.add.reduceat(counts, seg_start)

    def draw(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        n = np.broadcast_to(self.people, (rows, self.people.size))
        return multinomial_cells(self.counts, self.seg_start, self.seg_end, n, rng)


class _PoissonRoute:
    """Poisson draws per cell (:class:`~._poisson.PoissonTable`), then the exact
    fix-up of every segment's total (see the module docstring).

    Within each segment the cells are drawn in order of their counts, so that neighbouring
    cells share a Poisson table while it is in the CPU cache; the draws are put back in the
    segment's order before they are returned (a segment's multinomial does not depend on the
    order of its cells)."""

    def __init__(
        self,
        counts: np.ndarray,
        seg_start: np.ndarray,
        seg_end: np.ndarray,
        cells: np.ndarray | None,
        threads: int | None = None,
    ) -> None:
        self.seg_start, self.seg_end, self.cells = seg_start, seg_end, cells
        segment = np.repeat(np.arange(seg_start.size), seg_end - seg_start)
        order = np.lexsort((counts, segment))  # by count within each segment
        self.unsort = None if np.all(order[1:] > order[:-1]) else np.argsort(order)
        counts = counts if self.unsort is None else counts[order]
        self.table = PoissonTable(counts, threads=threads)
        cum = np.cumsum(counts)
        self.want = cum[seg_end - 1] - (cum - counts)[seg_start]
        self.alias = kernels().cell_alias(counts, seg_start, seg_end)

    def draw(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        draws = self.table.draw(rows, rng)
        self._fix_totals(draws, rng)
        return draws if self.unsort is None else draws.take(self.unsort, axis=1)

    def _fix_totals(self, draws: np.ndarray, rng: np.random.Generator) -> None:
        """Make each replicate's segment total equal the observed one, in place: removes a
        uniform sample of the surplus people, adds a multinomial shortfall (a compiled loop,
        :func:`._kernels.fix_totals`, on a stream seeded from ``rng``)."""
        seed = np.uint64(rng.bit_generator.random_raw())
        kernels().fix_totals(draws, self.seg_start, self.seg_end, self.want, *self.alias, seed)


def multinomial_cells(
    masses: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    n: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Multinomial draws over contiguous segments of cells.

    Args:
        masses: non-negative cell weights (C,); segment s covers cells seg_start[s]:seg_end[s].
        n: people to draw per replicate and segment, shape (R, S).

    Returns:
        Counts (R, C), int64: within each segment a multinomial(n, masses / segment mass).

    Segments of similar length go through numpy's own multinomial on a padded rectangle
    (the padding sits before the real cells, where a zero probability costs nothing and the
    last real cell takes the remainder exactly); very uneven segments through the tree.
    """
    lengths = (seg_end - seg_start).astype(np.int64)
    n_seg = lengths.size
    width = int(lengths.max()) if n_seg else 0
    if n_seg and n_seg * width <= MAX_PADDING * masses.size:
        offset = np.arange(width)[None, :] - (width - lengths)[:, None]
        valid = offset >= 0
        cells = np.where(valid, seg_start[:, None] + offset, 0)
        probs = np.where(valid, masses[cells], 0.0)
        totals = probs.sum(axis=1, keepdims=True)
        empty = totals[:, 0] <= 0
        probs = np.divide(probs, totals, out=np.zeros_like(probs), where=totals > 0)
        probs[empty, -1] = 1.0  # nothing to draw there (n is 0); keeps numpy's check happy
        draws = rng.multinomial(n.astype(np.int64), probs)
        return draws[:, valid]
    return _multinomial_tree(masses, seg_start, seg_end, n, rng)


def _multinomial_tree(
    masses: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    n: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Multinomial draws by recursive binomial halving: log₂(cells) vectorised calls."""
    n_rep, n_seg = n.shape
    n_cells = masses.size
    cum = np.concatenate([[0.0], np.cumsum(masses, dtype=np.float64)])
    out = np.zeros(n_rep * n_cells, dtype=np.int64)
    lo = np.tile(seg_start.astype(np.int64), n_rep)
    hi = np.tile(seg_end.astype(np.int64), n_rep)
    base = np.repeat(np.arange(n_rep, dtype=np.int64) * n_cells, n_seg)
    left = n.astype(np.int64).ravel()
    while lo.size:
        leaf = hi - lo == 1
        out[base[leaf] + lo[leaf]] = left[leaf]
        keep = ~leaf & (left > 0)
        lo, hi, base, left = lo[keep], hi[keep], base[keep], left[keep]
        if not lo.size:
            break
        mid = (lo + hi) // 2
        total = cum[hi] - cum[lo]
        prob = np.divide(cum[mid] - cum[lo], total, out=np.full(total.shape, 0.5), where=total > 0)
        drawn = rng.binomial(left, np.clip(prob, 0.0, 1.0))
        lo = np.concatenate([lo, mid])
        hi = np.concatenate([mid, hi])
        base = np.concatenate([base, base])
        left = np.concatenate([drawn, left - drawn])
    return out.reshape(n_rep, n_cells)


def hypergeometric_allocation(
    unit_totals: np.ndarray,
    group_totals: np.ndarray,
    unit_part: np.ndarray,
    n_rep: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Random tables with both margins fixed, for ``n_rep`` replicates.

    Args:
        unit_totals: people per unit (U,), integer; units sorted by partition.
        group_totals: people per partition and group (P, G), integer, rows summing to the
            partition's unit totals.
        unit_part: partition of each unit (U,), non-decreasing.

    Returns:
        Counts (R, U, G), int64.
    """
    n_units = unit_totals.size
    n_parts, n_groups = group_totals.shape
    none = np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, unit_part[1:] != unit_part[:-1]]) if n_units else none
    ends = np.r_[starts[1:], n_units] if n_units else none
    capacity = np.tile(unit_totals.astype(np.int64), (n_rep, 1))
    out = np.zeros((n_rep, n_units, n_groups), dtype=np.int64)
    seg_lo = np.tile(np.asarray(starts, dtype=np.int64), n_rep)
    seg_hi = np.tile(np.asarray(ends, dtype=np.int64), n_rep)
    seg_rep = np.repeat(np.arange(n_rep, dtype=np.int64), n_parts)
    for g in range(n_groups - 1):  # the last group takes the capacity that is left
        cum = np.concatenate([np.zeros((n_rep, 1), np.int64), np.cumsum(capacity, 1)], axis=1)
        lo, hi, rep = seg_lo, seg_hi, seg_rep
        left = np.tile(group_totals[:, g].astype(np.int64), n_rep)
        placed = np.zeros((n_rep, n_units), dtype=np.int64)
        while lo.size:
            leaf = hi - lo == 1
            placed[rep[leaf], lo[leaf]] = left[leaf]
            keep = ~leaf & (left > 0)
            lo, hi, rep, left = lo[keep], hi[keep], rep[keep], left[keep]
            if not lo.size:
                break
            mid = (lo + hi) // 2
            good = cum[rep, mid] - cum[rep, lo]
            bad = cum[rep, hi] - cum[rep, mid]
            drawn = rng.hypergeometric(good, bad, left)
            lo = np.concatenate([lo, mid])
            hi = np.concatenate([mid, hi])
            rep = np.concatenate([rep, rep])
            left = np.concatenate([drawn, left - drawn])
        out[:, :, g] = placed
        capacity -= placed
    if n_groups:
        out[:, :, n_groups - 1] = capacity
    return out


#: At least this many blocks when there are enough replicates, so threads stay busy.
MIN_BLOCKS = 16


def block_sizes(n_rep: int, cells_per_rep: int) -> list[int]:
    """Replicates per block: depends on the data and ``n_rep`` only, never on the number of
    threads (so a seed gives the same numbers on any machine)."""
    per_block = max(1, min(BLOCK_CELLS // max(1, cells_per_rep), -(-n_rep // MIN_BLOCKS)))
    sizes = [per_block] * (n_rep // per_block)
    if n_rep % per_block:
        sizes.append(n_rep % per_block)
    return sizes


def run_blocks(
    sizes: list[int],
    seed: int | np.random.SeedSequence | None,
    work: Callable[[int, np.random.Generator], T],
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[T]:
    """Run ``work(size, rng)`` for every block, each block with its own child seed, in a
    thread pool (numpy releases the GIL in the samplers and the array arithmetic);
    ``progress`` is given each finished block's size."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    children = seq.spawn(len(sizes))
    workers = threads or min(os.cpu_count() or 1, len(sizes)) or 1

    def one(k: int) -> T:
        result = work(sizes[k], np.random.default_rng(children[k]))
        if progress is not None:
            progress(sizes[k])
        return result

    if workers == 1 or len(sizes) == 1:
        return [one(k) for k in range(len(sizes))]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(len(sizes))))
