"""Random tables for inference, vectorised over replicates and partitions.

Both samplers split each partition's cells recursively in halves (a binary tree), so a whole
batch of replicates × partitions costs about log₂(cells) numpy calls and one binomial or
hypergeometric draw per cell — never a Python loop over partitions, replicates or cells.

* :func:`multinomial_cells` draws, for every replicate and partition, n people over the cells
  with probabilities proportional to ``masses``: the individual-level bootstrap (masses =
  observed counts) and random allocation with simulated margins (masses = t_u N_g / T).
* :func:`hypergeometric_allocation` allocates each group's people to units at random with
  both margins fixed (a random permutation of the group labels over the people).

Reproducibility: replicates are drawn in blocks whose size depends on the data only; block k
uses the k-th child of ``numpy.random.SeedSequence(seed)``. The same seed gives the same
numbers whatever the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")

#: Cells (replicates × cells) drawn and evaluated at once; bounds memory per thread.
BLOCK_CELLS = 2_000_000


#: Pad segments to a rectangle for numpy's multinomial while padding at most this factor.
MAX_PADDING = 4.0


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
    starts = np.flatnonzero(np.r_[True, unit_part[1:] != unit_part[:-1]]) if n_units else []
    ends = np.r_[starts[1:], n_units] if n_units else []
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
    on_block: Callable[[int], None] | None = None,
) -> list[T]:
    """Run ``work(size, rng)`` for every block, each block with its own child seed, in a
    thread pool (numpy releases the GIL in the samplers and the array arithmetic)."""
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    children = seq.spawn(len(sizes))
    workers = threads or min(os.cpu_count() or 1, len(sizes)) or 1

    def one(k: int) -> T:
        result = work(sizes[k], np.random.default_rng(children[k]))
        if on_block is not None:
            on_block(sizes[k])
        return result

    if workers == 1 or len(sizes) == 1:
        return [one(k) for k in range(len(sizes))]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(len(sizes))))
