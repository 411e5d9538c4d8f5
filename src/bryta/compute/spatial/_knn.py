"""The two engines behind :func:`bryta.compute.spatial.neighbourhoods.knn_contexts`.

Both answer, for every origin cell and every k, where the k-th nearest person lives: the
*crossing ring* (all cells at the distance where the cumulative population first reaches k),
the population and group counts strictly inside that ring, and the ring's own totals. The
public module turns that into proportional counts and radii.

* :func:`grid_crossings` — cells on a square lattice. The population of the disc of squared
  radius ``D`` (in lattice units) around a cell is a sum over its rows of differences of
  row-wise prefix sums, ``O(√D)`` per evaluation. The crossing ring is the smallest integer
  ``D`` whose disc holds at least k people. A bracketing search (interpolation alternated
  with bisection) on ``D``, starting from the previous k's ring, narrows it to an annulus
  ``D_lo < D ≤ D_hi`` about ``√D / 2`` wide; the lattice positions of that annulus are then
  walked in distance order (a shared table of offsets sorted by squared distance) and their
  cumulative population gives the exact ring, and the group counts before and through it,
  in one step. No per-cell neighbour lists; the work per cell grows with the radius rather
  than with the number of people or cells inside it. Blocks of origins run on threads.
* :func:`tree_crossings` — any points: a :class:`scipy.spatial.cKDTree` gives each origin its
  nearest cells sorted by distance; the candidate count grows (×4) for the origins whose
  window did not reach the largest k or whose crossing ring may continue past the window.

Ring membership: the grid engine compares exact integer squared distances; the tree engine
treats distances within ``RING_RTOL`` (relative) of each other as one ring.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

RING_RTOL = 1e-9
#: Elements per (cells × window) work array: bounds the memory of both engines.
_BUDGET = 1 << 19
#: The smallest part a disc evaluation is split into; origins per block of the grid engine;
#: threads working on blocks (numpy releases the GIL in the gathers and reductions).
_MIN_PART = 64
_BLOCK = 2048
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
_THREADS = max(1, min(4, _CPUS or 1))
#: The grid engine is used only when the bounding raster has at most this many positions.
MAX_RASTER = 40_000_000
#: The annulus walk: bracket slack (squared lattice units) per √D and at least; the offset
#: table's largest squared distance; elements per (cells × positions) walk array.
_SLACK_PER_ROW = 0.5
_SLACK_MIN = 32
_OFFSET_DMAX = 1 << 18
_WALK_BUDGET = 1 << 20


@dataclass
class Crossings:
    """Per origin (rows) and k (columns): population before the crossing ring and at its
    outer edge, the same for each group (last axis), and the ring's distance."""

    pop_before: np.ndarray  # (n, K)
    pop_ring: np.ndarray  # (n, K): cumulative population up to and including the ring
    grp_before: np.ndarray  # (n, K, G)
    grp_ring: np.ndarray  # (n, K, G)
    radius: np.ndarray  # (n, K)
    # with a distance decay (tree engine only): the weighted group counts before and through
    # the crossing ring
    wgrp_before: np.ndarray | None = None  # (n, K, G)
    wgrp_ring: np.ndarray | None = None  # (n, K, G)


def _empty(n: int, n_k: int, n_g: int, weighted: bool = False) -> Crossings:
    return Crossings(
        np.zeros((n, n_k)),
        np.zeros((n, n_k)),
        np.zeros((n, n_k, n_g)),
        np.zeros((n, n_k, n_g)),
        np.zeros((n, n_k)),
        np.zeros((n, n_k, n_g)) if weighted else None,
        np.zeros((n, n_k, n_g)) if weighted else None,
    )


# ---------------------------------------------------------------------------------- lattice


def lattice_step(x: np.ndarray, y: np.ndarray) -> float | None:
    """The spacing of the square lattice the points lie on, or None if they do not.

    The spacing is the greatest common divisor of the gaps between distinct x or y values
    (cells 750 m and 1,000 m apart lie on a 250 m lattice), found by Euclid's algorithm to
    1e-6 of the smallest gap, and no finer than an eighth of the smallest gap (a finer lattice
    would be mostly empty: those points are left to the tree); every coordinate must then be
    a whole number of spacings from the minimum (to 1e-6 of a spacing).
    """
    ux, uy = np.unique(x), np.unique(y)
    gaps = np.unique(np.concatenate([np.diff(ux), np.diff(uy)]))
    if gaps.size == 0:
        return 1.0
    step = float(gaps[0])
    if step <= 0:
        return None
    tol, finest = 1e-6 * step, step / 8
    for gap in gaps[1:].tolist():
        a, b = gap, step
        while b > tol:
            r = a % b
            a, b = b, (0.0 if min(r, b - r) <= tol else r)
        step = a
        if step < finest:
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
        self.pop = self._prefix(raster)
        # the counts themselves (for the annulus walk), one trailing zero for off the lattice
        self.own_pad = np.append(self.own, 0.0)
        self.grp_head, self.grp_pad = [], []
        for g in range(groups.shape[1] - 1):  # the last group: the population minus the others
            r = np.bincount(flat, weights=groups[:, g], minlength=cells).reshape(nx, ny)
            self.grp_head.append(self._prefix(r))
            self.grp_pad.append(np.append(r.ravel(), 0.0))

    def _prefix(self, raster):
        pre = np.zeros((self.nx + 2, self.ny + 1))
        np.cumsum(raster, axis=1, out=pre[1:-1, 1:])
        return pre.ravel()

    def offset_flat(self, tab):
        """The table's offsets as flat raster steps (cached for the latest table)."""
        cached = getattr(self, "_flat", None)
        if cached is None or cached[0] is not tab:
            cached = (tab, tab.dx * self.ny + tab.dy)
            self._flat = cached
        return cached[1]

    def disc(self, cx, cy, d2, prefixes):
        """Sums of each of ``prefixes``' counts (row-wise prefix sums, flat) over the lattice
        positions within squared distance ``d2`` (per cell; negative means nothing) of each
        cell ``(cx, cy)``: an array (cells × prefixes). Cells are taken in order of ``d2``,
        in parts of at most ``_BUDGET`` (cells × rows)."""
        c = len(cx)
        rows = np.sqrt(np.maximum(d2, 0).astype(np.float64)) + 1.0
        if c <= _MIN_PART or c * float(rows.max()) <= _BUDGET:
            return self._disc(cx, cy, d2, prefixes)
        order = np.argsort(d2, kind="stable")
        rows = rows[order]
        out = np.empty((c, len(prefixes)))
        start = 0
        while start < c:
            fits = (np.arange(1, c - start + 1) * rows[start:]) <= _BUDGET
            size = max(_MIN_PART, int(np.searchsorted(~fits, True)))
            part = order[start : start + size]
            out[part] = self._disc(cx[part], cy[part], d2[part], prefixes)
            start += size
        return out

    def _disc(self, cx, cy, d2, prefixes):
        out = np.zeros((len(cx), len(prefixes)))
        if len(cx) == 0:
            return out
        # floor(sqrt(n)) in float64 is exact for the integers met here (n < 2**50)
        rmax = int(np.sqrt(float(d2.max()))) if d2.max() > 0 else 0
        dx = np.arange(rmax + 1)
        w2 = d2[:, None] - dx * dx
        outside = w2 < 0
        np.maximum(w2, 0, out=w2)
        w = np.sqrt(w2, dtype=np.float64).astype(np.int64)
        ny1, empty = self.ny + 1, self.nx + 1
        lo = cy[:, None] - w
        np.maximum(lo, 0, out=lo)
        hi = cy[:, None] + 1 + w
        np.minimum(hi, self.ny, out=hi)
        hi -= outside  # rows beyond the radius: an empty segment (hi = lo = cy)
        base = ((cx + 1) * ny1)[:, None]
        plus = np.minimum(dx * ny1 + base, empty * ny1)
        p_hi, p_lo = plus + hi, plus + lo
        if rmax:
            minus = base - dx[1:] * ny1
            np.maximum(minus, 0, out=minus)
            m_hi, m_lo = minus + hi[:, 1:], minus + lo[:, 1:]
        for j, prefix in enumerate(prefixes):
            out[:, j] = (prefix[p_hi] - prefix[p_lo]).sum(axis=1)
            if rmax:
                out[:, j] += (prefix[m_hi] - prefix[m_lo]).sum(axis=1)
        return out


def _order_by_reach(ix, iy, pop, nx, ny, kmax, ox, oy):
    """Origins (lattice positions ``ox``, ``oy``) ordered by a coarse estimate of the radius
    that holds ``kmax`` of the people of all cells (``ix``, ``iy``, ``pop``), so a block of
    origins has similar radii (the block's work array is as wide as its largest)."""
    b = 8
    mx, my = (nx - 1) // b + 1, (ny - 1) // b + 1
    coarse = np.bincount((ix // b) * my + iy // b, weights=pop, minlength=mx * my)
    coarse = coarse.reshape(mx, my)
    cx, cy = ox // b, oy // b
    sat = np.zeros((mx + 1, my + 1))
    sat[1:, 1:] = coarse.cumsum(0).cumsum(1)
    est = np.full(len(ox), np.inf)
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


def grid_crossings(x, y, pop, groups, ks, keff, step, origins=None) -> Crossings:
    """Crossing rings on a square lattice with spacing ``step`` (see the module docstring),
    for the cells ``origins`` (row numbers; default all), in that order."""
    n_k, n_g = len(ks), groups.shape[1]
    origins = np.arange(len(x)) if origins is None else np.asarray(origins, np.int64)
    n = len(origins)
    out = _empty(n, n_k, n_g)
    if n == 0 or len(x) == 0:
        return out
    ix = np.round((x - x.min()) / step).astype(np.int64)
    iy = np.round((y - y.min()) / step).astype(np.int64)
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    ras = _Raster(ix, iy, pop, groups, nx, ny)
    ox, oy = ix[origins], iy[origins]
    far = np.maximum(ox, nx - 1 - ox) ** 2 + np.maximum(oy, ny - 1 - oy) ** 2
    order = _order_by_reach(ix, iy, pop, nx, ny, float(keff[-1]), ox, oy)
    offs = _OFFSETS
    blocks = [order[s : s + _BLOCK] for s in range(0, n, _BLOCK)]

    def run(sel):
        _grid_block(ras, offs, ox[sel], oy[sel], far[sel], keff, sel, out)

    if len(blocks) > 1 and _THREADS > 1:
        # numpy releases the GIL in the gathers and reductions; blocks write disjoint rows
        with ThreadPoolExecutor(min(_THREADS, len(blocks))) as pool:
            list(pool.map(run, blocks))
    else:
        for sel in blocks:
            run(sel)
    out.radius *= step
    return out


def _grid_block(ras, offs, cx, cy, far, keff, sel, out):
    c = len(cx)
    d_lo = np.full(c, -1, np.int64)  # disc(d_lo) < k   (d_lo = -1: nothing)
    n_lo = np.zeros(c)
    d_hi = far.copy()  # disc(d_hi) >= k; starts unknown
    n_hi = np.zeros(c)
    known = np.zeros(c, bool)
    own = ras.own[cx * ras.ny + cy]
    last = len(ras.grp_head)  # the last group: the population minus the others
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
            val = ras.disc(cx[todo], cy[todo], guess, (ras.pop,))[:, 0]
            hit = (val >= k) | (guess >= far[todo])  # the farthest disc holds everyone
            t_hit, t_miss = todo[hit], todo[~hit]
            d_hi[t_hit], n_hi[t_hit] = guess[hit], val[hit]
            d_lo[t_miss], n_lo[t_miss] = guess[~hit], val[~hit]
            known[t_hit] = True
            todo = t_miss
        # narrow: interpolation (area-linear); bisection when the same end of the bracket
        # moved twice running (interpolation stalling on a step). Down to adjacent integers
        # beyond the offset table; within it, only until the annulus between the ends is
        # small enough to walk through (below).
        offs.ensure(int(d_hi.max()))
        tab = offs.snapshot()
        todo = np.flatnonzero(d_hi - d_lo > _annulus_slack(d_hi, tab.dmax))
        last_hit = np.zeros(c, np.int8)  # +1 hi moved last, -1 lo moved last, 0 neither
        stall = np.zeros(c, bool)
        while todo.size:
            dl, dh, nl, nh = d_lo[todo], d_hi[todo], n_lo[todo], n_hi[todo]
            frac = (k - nl) / np.where(nh > nl, nh - nl, 1.0)
            mid = dl + np.ceil(frac * (dh - dl)).astype(np.int64)
            mid = np.where(stall[todo], (dl + dh) // 2, mid)
            mid = np.clip(mid, dl + 1, dh - 1)
            val = ras.disc(cx[todo], cy[todo], mid, (ras.pop,))[:, 0]
            hit = val >= k
            moved = np.where(hit, 1, -1).astype(np.int8)
            stall[todo] = moved == last_hit[todo]
            last_hit[todo] = moved
            d_hi[todo[hit]], n_hi[todo[hit]] = mid[hit], val[hit]
            d_lo[todo[~hit]], n_lo[todo[~hit]] = mid[~hit], val[~hit]
            dh = d_hi[todo]
            todo = todo[dh - d_lo[todo] > _annulus_slack(dh, tab.dmax)]
        # groups inside d_lo, then the annulus d_lo < D <= d_hi walked in distance order
        g_lo = ras.disc(cx, cy, d_lo, ras.grp_head)
        walk = np.flatnonzero(d_hi <= tab.dmax)
        g_hi = g_lo.copy()
        if walk.size:
            _walk_annulus(ras, tab, cx, cy, d_lo, d_hi, n_lo, n_hi, g_lo, g_hi, k, walk)
        rest = np.flatnonzero(d_hi > tab.dmax)  # narrowed to adjacent integers above
        if rest.size:
            g_hi[rest] = ras.disc(cx[rest], cy[rest], d_hi[rest], ras.grp_head)
        out.pop_before[sel, j] = n_lo
        out.pop_ring[sel, j] = n_hi
        out.grp_before[sel, j, :last] = g_lo
        out.grp_ring[sel, j, :last] = g_hi
        out.grp_before[sel, j, last] = n_lo - g_lo.sum(axis=1)
        out.grp_ring[sel, j, last] = n_hi - g_hi.sum(axis=1)
        out.radius[sel, j] = np.sqrt(d_hi.astype(np.float64))


def _annulus_slack(d_hi, dmax):
    """How far apart (in squared lattice units) the bracket may stay before the annulus walk
    (1 beyond the offset table): the walk visits about π × that many positions, a disc
    evaluation reads about 4√D prefix sums."""
    slack = np.maximum(_SLACK_MIN, _SLACK_PER_ROW * np.sqrt(d_hi.astype(np.float64)))
    return np.where(d_hi <= dmax, slack.astype(np.int64), 1)


def _walk_annulus(ras, tab, cx, cy, d_lo, d_hi, n_lo, n_hi, g_lo, g_hi, k, walk):
    """For the cells ``walk``: the crossing ring in ``d_lo < D <= d_hi`` found by walking the
    lattice positions of that annulus in distance order (from the offset table). Updates the
    bracket in place to (D* − 1, D*] and the groups to the disc before D* and up to D*."""
    first = tab.count_upto(d_lo[walk])
    length = tab.count_upto(d_hi[walk]) - first
    reach = _isqrt(d_hi[walk])
    inner = (
        (reach <= cx[walk])
        & (reach < ras.nx - cx[walk])
        & (reach <= cy[walk])
        & (reach < ras.ny - cy[walk])
    )
    order = np.lexsort((length, inner))  # border cells first, each part by annulus size
    n_border = walk.size - int(inner.sum())
    # positions past a cell's annulus repeat its last one: they come after the crossing
    end = np.maximum(first + length - 1, 0)
    start = 0
    while start < walk.size:
        border = start < n_border
        stop = n_border if border else walk.size
        width = max(int(length[order[min(start + 63, stop - 1)]]), 1)
        part = order[start : min(start + max(64, _WALK_BUDGET // width), stop)]
        start += part.size
        rows = walk[part]
        width = max(int(length[part].max()), 1)
        at = first[part, None] + np.arange(width)
        np.minimum(at, end[part, None], out=at)
        if border:
            px = cx[rows, None] + tab.dx[at]
            py = cy[rows, None] + tab.dy[at]
            ok = (px >= 0) & (px < ras.nx) & (py >= 0) & (py < ras.ny)
            flat = np.where(ok, px * ras.ny + py, ras.nx * ras.ny)  # the last slot holds 0
        else:
            flat = (cx[rows] * ras.ny + cy[rows])[:, None] + ras.offset_flat(tab)[at]
        cum = np.cumsum(ras.own_pad[flat], axis=1)
        nl = n_lo[rows]
        f = (nl[:, None] + cum < k).sum(axis=1)  # the first position that reaches k
        hit = f < length[part]
        fp = first[part]
        d_star = np.where(hit, tab.d2[np.minimum(fp + f, end[part])], d_hi[rows])
        a = tab.count_upto(d_star - 1) - fp  # positions before the crossing ring
        b = tab.count_upto(d_star) - fp  # … and through it
        r = np.arange(part.size)

        def at_end(c, i, r=r):  # the sum of the first i positions
            return np.where(i > 0, c[r, np.maximum(i - 1, 0)], 0.0)

        pb = nl + at_end(cum, a)
        n_lo[rows] = pb
        n_hi[rows] = nl + at_end(cum, b)
        d_lo[rows] = d_star - 1
        d_hi[rows] = d_star
        for g in range(g_lo.shape[1]):
            cg = np.cumsum(ras.grp_pad[g][flat], axis=1)
            gl = g_lo[rows, g]
            g_lo[rows, g] = gl + at_end(cg, a)
            g_hi[rows, g] = gl + at_end(cg, b)


class _OffsetTable:
    """Lattice offsets ``(dx, dy)`` sorted by squared distance ``d2``, for ``d2 <= dmax``;
    grown on demand (by doubling) up to ``_OFFSET_DMAX``. ``snapshot`` is safe to read while
    another thread grows the table."""

    def __init__(self):
        self._snap = _Offsets.build(_SLACK_MIN * 16)
        self._lock = threading.Lock()

    def snapshot(self):
        return self._snap

    def ensure(self, dmax):
        dmax = min(dmax, _OFFSET_DMAX)
        if dmax <= self._snap.dmax:
            return
        with self._lock:
            if dmax > self._snap.dmax:
                self._snap = _Offsets.build(min(max(dmax, 2 * self._snap.dmax), _OFFSET_DMAX))


@dataclass(frozen=True)
class _Offsets:
    dmax: int
    dx: np.ndarray
    dy: np.ndarray
    d2: np.ndarray
    upto: np.ndarray  # upto[D]: number of offsets with d2 <= D

    @staticmethod
    def build(dmax):
        r = math.isqrt(dmax)
        a = np.arange(-r, r + 1, dtype=np.int64)
        d2 = (a * a)[:, None] + (a * a)[None, :]
        keep = np.flatnonzero(d2.ravel() <= dmax)
        d2 = d2.ravel()[keep]
        order = np.argsort(d2, kind="stable")
        keep, d2 = keep[order], d2[order]
        dx, dy = np.divmod(keep, 2 * r + 1)
        upto = np.searchsorted(d2, np.arange(dmax + 1), side="right")
        return _Offsets(dmax, dx - r, dy - r, d2, upto)

    def count_upto(self, d):
        return np.where(d < 0, 0, self.upto[np.maximum(d, 0)])


#: One table for the process: it depends on nothing but the squared distance it reaches, and
#: building it (a sort of up to 800,000 offsets) costs more than a small call's whole work.
_OFFSETS = _OffsetTable()


# ------------------------------------------------------------------------------------- tree


def tree_crossings(x, y, pop, groups, ks, keff, origins=None, weight=None) -> Crossings:
    """Crossing rings for arbitrary points, from sorted k-d tree neighbour lists, for the
    cells ``origins`` (row numbers; default all), in that order. ``weight``: a function of
    the distances giving each cell's decay weight (also fills the weighted counts)."""
    n, n_k, n_g = len(x), len(ks), groups.shape[1]
    origins = np.arange(n) if origins is None else np.asarray(origins, np.int64)
    out = _empty(len(origins), n_k, n_g, weight is not None)
    if len(origins) == 0 or n == 0:
        return out
    pts = np.column_stack([x, y])
    tree = cKDTree(pts)
    mean = max(float(pop.sum()) / n, 1e-12)
    m = int(min(n, max(16, math.ceil(1.5 * keff[-1] / mean) + 8)))
    todo = np.arange(len(origins))
    while todo.size:
        size = max(1, _BUDGET // max(m, 1))
        retry = []
        for s in range(0, todo.size, size):
            sel = todo[s : s + size]
            dist, idx = tree.query(pts[origins[sel]], k=m)
            if m == 1:
                dist, idx = dist[:, None], idx[:, None]
            retry.append(_tree_block(dist, idx, pop, groups, keff, sel, out, m < n, weight))
        todo = np.concatenate(retry)
        m = min(n, 4 * m)
    return out


def _tree_block(dist, idx, pop, groups, keff, sel, out, window, weight=None):
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
        if weight is not None:
            wd = weight(dist[ok])
            cw = np.cumsum(groups[idx[ok]] * wd[:, :, None], axis=1)
            out.wgrp_ring[dst] = cw[rr, hi]
            out.wgrp_before[dst] = np.where(has_prev[:, :, None], cw[rr, prev], 0.0)
    return sel[bad]
