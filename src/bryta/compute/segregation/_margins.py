"""Shared margins: computed once per call, aggregated by every index.

Rows are (partition, unit) pairs sorted by partition; columns are groups. Every quantity an
index needs is either a per-row array or a per-partition segment sum of one, so a whole batch
of partitions (regions × years, or bootstrap replicates × partitions) is handled by the same
few numpy calls. Cached properties make each shared margin cost one pass however many indices
use it.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np


def segment_starts(part: np.ndarray) -> np.ndarray:
    """First row of each partition, for a non-decreasing partition index without gaps."""
    if part.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, part[1:] != part[:-1]])


def xlogy_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num · ln(num / den) with 0 · ln 0 = 0 (den > 0 wherever num > 0)."""
    shape = np.broadcast_shapes(num.shape, den.shape)
    pos = np.broadcast_to(num > 0, shape)
    ratio = np.divide(num, den, out=np.ones(shape), where=pos)
    return np.multiply(num, np.log(ratio, out=ratio), out=np.zeros(shape), where=pos)


def entropy_of(shares: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy (nats) of shares along ``axis``, with 0 · ln 0 = 0."""
    logs = np.log(np.where(shares > 0, shares, 1.0))
    return -(shares * logs).sum(axis=axis)


class Margins:
    """Counts and their margins for many partitions at once.

    Args:
        values: counts, rows × groups (float64), rows sorted by partition.
        part: partition index of each row (non-decreasing, 0 … n − 1, no gaps).
    """

    def __init__(self, values: np.ndarray, part: np.ndarray):
        self.n = np.asarray(values, dtype=np.float64)
        self.part = np.asarray(part, dtype=np.int64)
        self.starts = segment_starts(self.part)

    # ---- segment sums -------------------------------------------------------------------
    def segsum(self, a: np.ndarray) -> np.ndarray:
        """Sum of per-row values within each partition (axis 0)."""
        if a.shape[0] == 0:
            return np.zeros((0, *a.shape[1:]))
        return np.add.reduceat(a, self.starts, axis=0)

    def per_row(self, a: np.ndarray) -> np.ndarray:
        """Broadcast a per-partition array to the rows."""
        return a[self.part]

    # ---- basic margins ------------------------------------------------------------------
    @property
    def n_partitions(self) -> int:
        return self.starts.size

    @property
    def n_groups(self) -> int:
        return self.n.shape[1]

    @cached_property
    def t(self) -> np.ndarray:
        """Unit totals over the listed groups (rows)."""
        return self.n.sum(axis=1)

    @cached_property
    def N(self) -> np.ndarray:
        """Group totals per partition (partitions × groups)."""
        return self.segsum(self.n)

    @cached_property
    def T(self) -> np.ndarray:
        """Partition totals."""
        return self.N.sum(axis=1)

    @cached_property
    def populated_units(self) -> np.ndarray:
        """Number of units with a positive total, per partition."""
        return self.segsum((self.t > 0).astype(np.float64))

    @cached_property
    def groups_present(self) -> np.ndarray:
        """Number of groups with a positive total, per partition."""
        return (self.N > 0).sum(axis=1)

    @cached_property
    def pi(self) -> np.ndarray:
        """Group shares π_g = N_g / T per partition (NaN for a zero-total partition)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.N / self.T[:, None]

    @cached_property
    def p(self) -> np.ndarray:
        """Group shares within each unit p_ig = n_ig / t_i (0 for an empty unit)."""
        t = self.t[:, None]
        return np.divide(self.n, t, out=np.zeros_like(self.n), where=t > 0)

    @cached_property
    def pi_rows(self) -> np.ndarray:
        return self.per_row(np.nan_to_num(self.pi))

    @cached_property
    def other(self) -> np.ndarray:
        """Counts of everyone but the focal group y_ig = t_i − n_ig (rows × groups)."""
        return self.t[:, None] - self.n

    @cached_property
    def other_totals(self) -> np.ndarray:
        """Y_g = T − N_g per partition."""
        return self.T[:, None] - self.N

    # ---- shared sums used by several indices ----------------------------------------------
    @cached_property
    def abs_dev(self) -> np.ndarray:
        """A_g = Σ_i t_i |p_ig − π_g| (partitions × groups)."""
        return self.segsum(self.t[:, None] * np.abs(self.p - self.pi_rows))

    @cached_property
    def sq_dev(self) -> np.ndarray:
        """Q_g = Σ_i t_i (p_ig − π_g)² (partitions × groups)."""
        return self.segsum(self.t[:, None] * (self.p - self.pi_rows) ** 2)

    @cached_property
    def simpson_interaction(self) -> np.ndarray:
        """I = Σ_g π_g (1 − π_g)."""
        pi = np.nan_to_num(self.pi)
        return (pi * (1 - pi)).sum(axis=1)

    @cached_property
    def group_entropy(self) -> np.ndarray:
        """E = −Σ_g π_g ln π_g (nats)."""
        return entropy_of(np.nan_to_num(self.pi))

    @cached_property
    def pair_abs_sum(self) -> np.ndarray:
        """S_g = Σ_{i<j} t_i t_j |p_ig − p_jg| per partition and group, in O(n log n).

        With the units of a partition sorted by p_g and C_j the total of the units before j,
        S = Σ_j t_j p_j (2 C_j + t_j − T). C_j is an exclusive cumulative sum of counts, exact
        for integer counts, so no quadratic loop and no loss of precision.
        """
        out = np.empty((self.n_partitions, self.n_groups))
        t = self.t
        T_rows = self.per_row(self.T)
        part_small = self.part.astype(np.int32 if self.n_partitions < 2**31 else np.int64)
        for g in range(self.n_groups):  # groups are few; partitions are never looped over
            # Sort by p, then a stable (radix) sort by partition: twice as fast as lexsort.
            by_p = np.argsort(self.p[:, g])
            order = by_p[np.argsort(part_small[by_p], kind="stable")]
            w = t[order]
            v = self.p[order, g]
            cum = np.cumsum(w)
            excl = cum - w
            before = excl - excl[self.starts][self.part]
            out[:, g] = self.segsum(w * v * (2 * before + w - T_rows))
        return out

    @cached_property
    def info_cells(self) -> np.ndarray:
        """n_ig ln(p_ig / π_g) per row and group: M, and the local M of units and groups,
        are sums of these cells (rows × groups)."""
        return xlogy_ratio(self.n, self.t[:, None] * self.pi_rows)

    @cached_property
    def mutual_information(self) -> np.ndarray:
        """M = Σ_i Σ_g (n_ig / T) ln(p_ig / π_g) in nats (0 for a zero-total partition)."""
        T = self.T
        total = self.segsum(self.info_cells.sum(axis=1))
        return np.divide(total, T, out=np.zeros_like(total), where=T > 0)
