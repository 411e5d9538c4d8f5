"""The two engines behind :func:`bryta.compute.neighbourhoods.knn_contexts`.

Both answer, for every origin cell and every k, where the k-th nearest person lives: the
*crossing ring* (all cells at the distance where the cumulative population first reaches k),
the population and group counts strictly inside that ring, and the ring's own totals. The
public module turns that into proportional counts and radii.

* :func:`grid_crossings` — cells on a square lattice. The population of the disc of squared
  radius ``D`` (in lattice units) around a cell is a sum over its rows of differences of
  row-wise prefix sums, ``O(√D)`` per evaluation. The crossing ring is the smallest integer
  ``D`` whose disc holds at least k people, found by a bracketing search (interpolation
  alternated with bisection) on ``D``: no neighbour lists, no sorting, and the work per cell
  grows with the radius rather than with the number of people or cells inside it.
* :func:`tree_crossings` — any points: a :class:`scipy.spatial.cKDTree` gives each origin its
  nearest cells sorted by distance; the candidate count grows (×4) for the origins whose
  window did not reach the largest k or whose crossing ring may continue past the window.

Ring membership: the grid engine compares exact integer squared distances; the tree engine
treats distances within ``RING_RTOL`` (relative) of each other as one ring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

RING_RTOL = 1e-9
#: Elements per (cells × window) work array: bounds the memory of both engines.
_BUDGET = 1 << 19
#: The grid engine is used only when the bounding raster has at most this many positions.
MAX_RASTER = 40_000_000


@dataclass
class Crossings:
    """Per origin (rows) and k (columns): population before the crossing ring and at its
    outer edge, the same for each group (last axis), and the ring's distance."""

    pop_before: np.ndarray  # (n, K)
    pop_ring: np.ndarray  # (n, K): cumulative population up to and including the ring
    grp_before: np.ndarray  # (n, K, G)
    grp_ring: np.ndarray  # (n, K, G)
    radius: np.ndarray  # (n, K)


def _empty(n: int, n_k: int, n_g: int) -> Crossings:
    return Crossings(
        np.zeros((n, n_k)),
        np.zeros((n, n_k)),
        np.zeros((n, n_k, n_g)),
        np.zeros((n, n_k, n_g)),
        np.zeros((n, n_k)),
    )


# ---------------------------------------------------------------------------------- lattice


def lattice_step(x: np.ndarray, y: np.ndarray) -> float | None:
    """The spacing of the square lattice the points lie on, or None if they do not.

    The spacing is the smallest gap between distinct x or y values; every coordinate must
    then be a whole number of spacings from the minimum (to 1e-6 of a spacing).
    """
    ux, uy = np.unique(x), np.unique(y)
    gaps = np.concatenate([np.diff(ux), np.diff(uy)])
    if gaps.size == 0:
        return 1.0
    step = float(gaps.min())
    if step <= 0:
        return None
    for v in (ux, uy):
        q = (v - v[0]) / step
        if np.abs(q - np.round(q)).max() > 1e-6:
            return None
    return step


def _isqrt(a: np.ndarray) -> np.ndarray:
    """Integer square root of a non-negative int64 array (exact for a < 2**52)."""
    r = np.sqrt(a.astype(np.float64)).astype(np.int64)
    r -= r * r > a
    r += (r + 1) * (r + 1) <= a
    return r


class _Raster:
    """Counts on the lattice and their row-wise prefix sums (rows along x), with an empty row
    before and after the lattice so that rows outside it read as zero."""

    def __init__(self, ix, iy, pop, groups, nx, ny):
        self.nx, self.ny = nx, ny
        flat = ix * ny + iy
        cells = nx * ny
        raster = np.bincount(flat, weights=pop, minlength=cells).reshape(nx, ny)
        self.own = raster.ravel()
        pre = np.zeros((nx + 2, ny + 1))
        np.cumsum(raster, axis=1, out=pre[1:-1, 1:])
        self.pop = pre.ravel()
        n_g = groups.shape[1] - 1  # the last group is the population minus the others
        gpre = np.zeros((nx + 2, ny + 1, n_g))
        for g in range(n_g):
            r = np.bincount(flat, weights=groups[:, g], minlength=cells).reshape(nx, ny)
            np.cumsum(r, axis=1, out=gpre[1:-1, 1:, g])
        self.grp_head = gpre.reshape((nx + 2) * (ny + 1), n_g)

    def disc(self, cx, cy, d2, prefix):
        """Sum of ``prefix``'s counts over the lattice positions within squared distance
        ``d2`` (per cell; negative means nothing) of each cell ``(cx, cy)``."""
        out_shape = (len(cx), *prefix.shape[1:])
        if len(cx) == 0:
            return np.zeros(out_shape)
        # floor(sqrt(n)) in float64 is exact for the integers met here (n < 2**50)
        rmax = int(np.sqrt(float(d2.max()))) if d2.max() > 0 else 0
        dx = np.arange(rmax + 1)
        w2 = d2[:, None] - dx * dx
        outside = w2 < 0
        w = np.sqrt(np.maximum(w2, 0), dtype=np.float64).astype(np.int64)
        ny1, empty = self.ny + 1, self.nx + 1
        lo = np.clip(cy[:, None] - w, 0, self.ny)
        hi = np.minimum(cy[:, None] + w + 1, self.ny)
        plus = np.minimum(cx[:, None] + 1 + dx, empty)
        plus[outside] = empty
        plus *= ny1
        total = (prefix[plus + hi] - prefix[plus + lo]).sum(axis=1)
        if rmax:
            minus = np.maximum(cx[:, None] + 1 - dx[1:], 0)
            minus[outside[:, 1:]] = 0
            minus *= ny1
            total += (prefix[minus + hi[:, 1:]] - prefix[minus + lo[:, 1:]]).sum(axis=1)
        return total


def _order_by_reach(ix, iy, pop, nx, ny, kmax):
    """Origins ordered by a coarse estimate of the radius that holds ``kmax`` people, so a
    block of origins has similar radii (the block's work array is as wide as its largest)."""
    b = 8
    cx, cy = ix // b, iy // b
    mx, my = cx.max() + 1, cy.max() + 1
    coarse = np.bincount(cx * my + cy, weights=pop, minlength=mx * my).reshape(mx, my)
    sat = np.zeros((mx + 1, my + 1))
    sat[1:, 1:] = coarse.cumsum(0).cumsum(1)
    est = np.full(len(ix), np.inf)
    h = 0
    while True:
        x0, x1 = np.clip(cx - h, 0, mx), np.clip(cx + h + 1, 0, mx)
        y0, y1 = np.clip(cy - h, 0, my), np.clip(cy + h + 1, 0, my)
        box = sat[x1, y1] - sat[x0, y1] - sat[x1, y0] + sat[x0, y0]
        est = np.where(np.isinf(est) & (box >= kmax), h, est)
        if not np.isinf(est).any() or (h > mx and h > my):
            break
        h = 2 * h + 1
    return np.argsort(est, kind="stable")


def grid_crossings(x, y, pop, groups, ks, keff, step) -> Crossings:
    """Crossing rings on a square lattice with spacing ``step`` (see the module docstring)."""
    n, n_k, n_g = len(x), len(ks), groups.shape[1]
    out = _empty(n, n_k, n_g)
    if n == 0:
        return out
    ix = np.round((x - x.min()) / step).astype(np.int64)
    iy = np.round((y - y.min()) / step).astype(np.int64)
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    ras = _Raster(ix, iy, pop, groups, nx, ny)
    far = np.maximum(ix, nx - 1 - ix) ** 2 + np.maximum(iy, ny - 1 - iy) ** 2
    order = _order_by_reach(ix, iy, pop, nx, ny, float(keff[-1]))
    start = 0
    while start < n:
        # blocks sized so (cells × rows of the widest disc) stays within the budget
        probe = order[min(start + 255, n - 1)]
        width = 2 * math.isqrt(int(far[probe])) + 2
        size = int(np.clip(_BUDGET // max(width, 1), 64, 16384))
        sel = order[start : start + size]
        _grid_block(ras, ix[sel], iy[sel], far[sel], keff, sel, out)
        start += size
    out.radius *= step
    return out


def _grid_block(ras, cx, cy, far, keff, sel, out):
    c = len(cx)
    d_lo = np.full(c, -1, np.int64)  # disc(d_lo) < k   (d_lo = -1: nothing)
    n_lo = np.zeros(c)
    d_hi = far.copy()  # disc(d_hi) >= k; starts unknown
    n_hi = np.zeros(c)
    known = np.zeros(c, bool)
    own = ras.own[cx * ras.ny + cy]
    last = ras.grp_head.shape[1]  # the last group: the population minus the others
    for j, k in enumerate(keff):
        # carry the previous crossing forward: same ring if it already holds k
        if j:
            same = n_hi >= k
            d_lo = np.where(same, d_lo, d_hi)
            n_lo = np.where(same, n_lo, n_hi)
            known = same
        else:
            start0 = own >= k  # the own cell holds k people: D = 0
            d_hi = np.where(start0, 0, far)
            n_hi = np.where(start0, own, 0.0)
            d_lo = np.where(start0, -1, 0)
            n_lo = np.where(start0, 0.0, own)
            known = start0.copy()
        # gallop outward from a density estimate until the disc holds k
        todo = np.flatnonzero(~known)
        while todo.size:
            dl, nl = d_lo[todo], n_lo[todo]
            area = np.pi * dl + 1.0
            need = np.where(nl > 0, area * k / np.maximum(nl, 1e-300), 4.0 * area)
            guess = np.ceil(1.3 * (need - 1.0) / np.pi).astype(np.int64)
            guess = np.minimum(np.maximum(guess, dl + dl // 4 + 1), far[todo])
            val = ras.disc(cx[todo], cy[todo], guess, ras.pop)
            hit = (val >= k) | (guess >= far[todo])  # the farthest disc holds everyone
            t_hit, t_miss = todo[hit], todo[~hit]
            d_hi[t_hit], n_hi[t_hit] = guess[hit], val[hit]
            d_lo[t_miss], n_lo[t_miss] = guess[~hit], val[~hit]
            known[t_hit] = True
            todo = t_miss
        # narrow to adjacent integers: interpolation (area-linear); bisection when the same
        # end of the bracket moved twice running (interpolation stalling on a step)
        todo = np.flatnonzero(d_hi - d_lo > 1)
        last_hit = np.zeros(c, np.int8)  # +1 hi moved last, -1 lo moved last, 0 neither
        stall = np.zeros(c, bool)
        while todo.size:
            dl, dh, nl, nh = d_lo[todo], d_hi[todo], n_lo[todo], n_hi[todo]
            frac = (k - nl) / np.where(nh > nl, nh - nl, 1.0)
            mid = dl + np.ceil(frac * (dh - dl)).astype(np.int64)
            mid = np.where(stall[todo], (dl + dh) // 2, mid)
            mid = np.clip(mid, dl + 1, dh - 1)
            val = ras.disc(cx[todo], cy[todo], mid, ras.pop)
            hit = val >= k
            moved = np.where(hit, 1, -1).astype(np.int8)
            stall[todo] = moved == last_hit[todo]
            last_hit[todo] = moved
            d_hi[todo[hit]], n_hi[todo[hit]] = mid[hit], val[hit]
            d_lo[todo[~hit]], n_lo[todo[~hit]] = mid[~hit], val[~hit]
            todo = todo[d_hi[todo] - d_lo[todo] > 1]
        out.pop_before[sel, j] = n_lo
        out.pop_ring[sel, j] = n_hi
        before = ras.disc(cx, cy, d_hi - 1, ras.grp_head)
        upto = ras.disc(cx, cy, d_hi, ras.grp_head)
        out.grp_before[sel, j, :last] = before
        out.grp_ring[sel, j, :last] = upto
        out.grp_before[sel, j, last] = n_lo - before.sum(axis=1)
        out.grp_ring[sel, j, last] = n_hi - upto.sum(axis=1)
        out.radius[sel, j] = np.sqrt(d_hi.astype(np.float64))


# ------------------------------------------------------------------------------------- tree


def tree_crossings(x, y, pop, groups, ks, keff) -> Crossings:
    """Crossing rings for arbitrary points, from sorted k-d tree neighbour lists."""
    n, n_k, n_g = len(x), len(ks), groups.shape[1]
    out = _empty(n, n_k, n_g)
    if n == 0:
        return out
    pts = np.column_stack([x, y])
    tree = cKDTree(pts)
    mean = max(float(pop.sum()) / n, 1e-12)
    m = int(min(n, max(16, math.ceil(1.5 * keff[-1] / mean) + 8)))
    todo = np.arange(n)
    while todo.size:
        size = max(1, _BUDGET // max(m, 1))
        retry = []
        for s in range(0, todo.size, size):
            sel = todo[s : s + size]
            dist, idx = tree.query(pts[sel], k=m)
            if m == 1:
                dist, idx = dist[:, None], idx[:, None]
            retry.append(_tree_block(dist, idx, pop, groups, keff, sel, out, m < n))
        todo = np.concatenate(retry)
        m = min(n, 4 * m)
    return out


def _tree_block(dist, idx, pop, groups, keff, sel, out, window):
    c, m = dist.shape
    cpop = np.cumsum(pop[idx], axis=1)
    # a ring ends where the next distance is (relatively) larger
    gap = dist[:, 1:] - dist[:, :-1] > RING_RTOL * np.maximum(dist[:, 1:], 1.0)
    pos = np.arange(m)
    end = np.full((c, m), m - 1)
    end[:, :-1] = np.where(gap, pos[:-1], m)
    ring_last = np.minimum.accumulate(end[:, ::-1], axis=1)[:, ::-1]
    at_end = np.take_along_axis(cpop, ring_last, axis=1)  # non-decreasing along each row
    rows = np.arange(c)
    first = np.stack([(at_end < k).sum(axis=1) for k in keff], axis=1)  # (c, K)
    bad = np.zeros(c, bool)
    if not window:  # everyone is in the window (rounding of fractional counts aside)
        first = np.minimum(first, m - 1)
    else:
        # not reached, or the crossing ring may continue beyond the window
        bad = (first >= m).any(axis=1)
        last = ring_last[rows[:, None], np.minimum(first, m - 1)]
        bad |= (last >= m - 1).any(axis=1)
    ok = np.flatnonzero(~bad)
    if ok.size:
        f = first[ok]
        hi = ring_last[ok[:, None], f]
        r = ok[:, None]
        prev = np.maximum(f - 1, 0)
        has_prev = f > 0
        cgrp = np.cumsum(groups[idx[ok]], axis=1)  # (ok, m, G)
        rr = np.arange(ok.size)[:, None]
        dst = sel[ok]
        out.pop_ring[dst] = cpop[r, hi]
        out.pop_before[dst] = np.where(has_prev, cpop[r, prev], 0.0)
        out.grp_ring[dst] = cgrp[rr, hi]
        out.grp_before[dst] = np.where(has_prev[:, :, None], cgrp[rr, prev], 0.0)
        out.radius[dst] = dist[r, hi]
    return sel[bad]
