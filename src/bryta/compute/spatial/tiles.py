"""Bespoke neighbourhoods in tiles: the national grid on a Dask cluster, same answers.

:func:`tiled_knn_contexts` cuts the cells into square tiles; a task computes the contexts of
one tile's cells with the engine of :func:`bryta.compute.spatial.neighbourhoods.knn_contexts`, among
the tile's cells and a *halo*: the cells within a width h of the tile. A context is complete
when every cell up to its radius is present, which holds when the radius is at most the
distance from the cell to the edge of the halo square (the disc of that radius then lies
inside the square). Each tile's first halo is an upper bound of the radius its cells need
for the largest k (from block populations, :func:`_reach_bound`), so one pass nearly always
suffices; cells whose context still reaches further go again, in tiles and a halo both
doubled, until every context is complete — so the output is the single-process output,
cell for cell, whatever the tile size.

A task receives only its tile's and halo's cells, so a worker's memory is bounded by the tile
size (and the halo the largest k needs), not by the country. Tasks run on a Dask cluster
(``scheduler="tcp://host:8786"``), on a local one (``scheduler="local"``), or in this process
(``scheduler=None``; same results, useful for tests and small data).

k values at or above the total population are answered without tiles: every context is then
the whole population (the regional totals) and the radius is the distance to the farthest
populated cell, found from the convex hull's corners.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
import shapely

from bryta.compute.progress import Progress
from bryta.compute.spatial.decay import Decay
from bryta.compute.spatial.neighbourhoods import (
    _check_k,
    _contexts,
    _decay_spec,
    _prepare,
    knn_contexts,
)
from bryta.errors import InputError

__all__ = ["tiled_knn_contexts"]

_ROW = "__bryta_cell"


def tiled_knn_contexts(
    frame: Any,
    *,
    x: str,
    y: str,
    groups: Sequence[str],
    k: int | Sequence[int],
    unit: str | None = None,
    tile_size: float = 40_000.0,
    halo: float | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    decay: Decay | str | None = None,
    own_distance: float = 0.0,
) -> pl.DataFrame:
    """:func:`~bryta.compute.spatial.neighbourhoods.knn_contexts` computed tile by tile.

    Args:
        tile_size: side of a tile in the coordinates' unit (metres).
        halo: first halo width (at least a tenth of a tile); default: per tile, an upper
            bound of the radius its cells' largest k needs. Cells whose context reaches
            beyond it go again in tiles and a halo both twice as wide.
        scheduler: a Dask scheduler address, ``"local"`` for a local cluster, or None to run
            the tiles in this process.
        progress: called with the number of cells finished after each tile; the steps add
            up to the number of cells (see :mod:`bryta.compute.progress`).
        decay, own_distance: as for ``knn_contexts`` (decayed counts ``<group>_decayed``).

    Returns: the same frame as ``knn_contexts`` (rows in input order, then ascending k).

    >>> cells = pl.DataFrame({"x": [0, 100, 200, 300], "y": 0, "a": [2, 1, 0, 4],
    ...                       "b": [0, 1, 3, 0]})
    >>> one = knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=[3, 6])
    >>> tiled = tiled_knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=[3, 6],
    ...                            tile_size=150)
    >>> tiled.equals(one)
    True
    """
    if not tile_size > 0:
        raise InputError(f"tile_size must be positive, not {tile_size!r}")
    groups = [groups] if isinstance(groups, str) else list(groups)
    ks = np.unique(np.atleast_1d(np.asarray(k, dtype=np.int64)))
    _check_k(ks.tolist())
    # the checks and conversions of the single-process function (text columns from CSV too)
    xs, ys, counts, ids, id_name = _prepare(frame, x, y, groups, unit)
    spec = _decay_spec(decay, own_distance, groups)
    weighting = (spec, own_distance)
    ident = (ids, id_name)
    total = float(counts.sum())
    inside = ks[ks < total]
    everyone = ks[ks >= total]

    parts = []
    if inside.size and len(xs):
        parts.append(
            _run_tiles(
                xs, ys, counts, groups, inside, tile_size, halo, scheduler, progress, weighting
            )
        )
    if everyone.size and len(xs):
        parts.append(_everyone(xs, ys, counts, groups, everyone, weighting))
        if not inside.size and progress is not None:  # every k holds everyone: no tiles
            progress(len(xs))
    if not parts:
        return knn_contexts(
            frame,
            x=x,
            y=y,
            groups=groups,
            k=ks.tolist(),
            unit=unit,
            decay=spec,
            own_distance=own_distance,
        )
    out = pl.concat(parts, how="vertical_relaxed").sort(_ROW, "k")
    out = out.with_columns(_ids(ident, out.get_column(_ROW)))
    extra = [f"{g}_decayed" for g in groups] if spec is not None else []
    return out.select(id_name, "k", *groups, "radius", *extra)


def _reach_bound(xs, ys, pop, kmax: float, block: float) -> np.ndarray:
    """For every cell, a distance within which at least ``kmax`` people live (an upper bound
    of its largest context's radius), from the population of square blocks of side
    ``block`` around the cell's block: if the blocks within h of the cell's block hold kmax
    people, the disc of radius (h + 1) · block · √2 around the cell holds them all."""
    bx = np.floor((xs - xs.min()) / block).astype(np.int64)
    by = np.floor((ys - ys.min()) / block).astype(np.int64)
    mx, my = int(bx.max()) + 1, int(by.max()) + 1
    coarse = np.bincount(bx * my + by, weights=pop, minlength=mx * my).reshape(mx, my)
    sat = np.zeros((mx + 1, my + 1))
    sat[1:, 1:] = coarse.cumsum(0).cumsum(1)

    def held(h: np.ndarray) -> np.ndarray:
        x0, x1 = np.clip(bx - h, 0, mx), np.clip(bx + h + 1, 0, mx)
        y0, y1 = np.clip(by - h, 0, my), np.clip(by + h + 1, 0, my)
        return sat[x1, y1] - sat[x0, y1] - sat[x1, y0] + sat[x0, y0]

    # gallop to a sufficient h, then bisect down to the smallest (per cell, vectorised)
    most = max(mx, my)
    lo = np.full(len(xs), -1, np.int64)  # held(lo) < kmax (lo = -1: nothing)
    hi = np.zeros(len(xs), np.int64)
    while (short := held(hi) < kmax * (1 - 1e-12)).any():
        lo = np.where(short, hi, lo)
        hi = np.where(short, np.minimum(2 * hi + 1, most), hi)
        if (hi[short] >= most).all():
            break
    while (gap := hi - lo > 1).any():
        mid = (lo + hi) // 2
        ok = held(mid) >= kmax * (1 - 1e-12)
        hi = np.where(gap & ok, mid, hi)
        lo = np.where(gap & ~ok, mid, lo)
    return (hi + 1) * block * np.sqrt(2.0)


class _Index:
    """The cells bucketed by column of tiles and sorted by y within a column: the cells of
    any rectangle are found by a binary search per column it spans."""

    def __init__(self, xs: np.ndarray, ys: np.ndarray, width: float) -> None:
        self.xs, self.ys, self.width, self.x0 = xs, ys, width, float(xs.min())
        col = np.floor((xs - self.x0) / width).astype(np.int64)
        self.order = np.lexsort((ys, col))
        self.ys_sorted = ys[self.order]
        self.starts = np.searchsorted(col[self.order], np.arange(int(col.max()) + 2))

    def within(self, x_lo: float, y_lo: float, x_hi: float, y_hi: float) -> np.ndarray:
        c0 = max(int(np.floor((x_lo - self.x0) / self.width)), 0)
        c1 = min(int(np.floor((x_hi - self.x0) / self.width)), len(self.starts) - 2)
        found = []
        for c in range(c0, c1 + 1):  # the columns a rectangle spans: a handful
            a, b = self.starts[c], self.starts[c + 1]
            lo = a + np.searchsorted(self.ys_sorted[a:b], y_lo, side="left")
            hi = a + np.searchsorted(self.ys_sorted[a:b], y_hi, side="right")
            found.append(self.order[lo:hi])
        rows = np.concatenate(found) if found else np.zeros(0, np.int64)
        xr = self.xs[rows]
        return np.sort(rows[(xr >= x_lo) & (xr <= x_hi)])


def _tiles(rows, xs, ys, size, x0, y0):
    """``rows`` grouped into square tiles of side ``size`` anchored at (x0, y0):
    (members, box) per populated tile."""
    tx = np.floor((xs[rows] - x0) / size).astype(np.int64)
    ty = np.floor((ys[rows] - y0) / size).astype(np.int64)
    tile = tx * (int(ty.max()) + 1) + ty
    order = np.argsort(tile, kind="stable")
    starts = np.flatnonzero(np.r_[True, tile[order][1:] != tile[order][:-1]])
    tasks = []
    for part in np.split(order, starts[1:]):  # one task per tile
        i, j = tx[part[0]], ty[part[0]]
        box = (x0 + i * size, y0 + j * size, x0 + (i + 1) * size, y0 + (j + 1) * size)
        tasks.append((rows[part], box))
    return tasks


def _run_tiles(
    xs, ys, counts, groups, ks, size, halo, scheduler, progress, weighting
) -> pl.DataFrame:
    """Every tile with its halo; cells whose context still left the halo go again, re-tiled
    with tiles and halo both doubled."""
    pop = counts.sum(axis=1)
    if halo is None:  # per tile: the largest bound of its cells, so one pass suffices
        bound = _reach_bound(xs, ys, pop, float(ks[-1]), size / 4)
    else:
        bound = np.full(len(xs), max(float(halo), size / 10))
    x0, y0 = float(xs.min()), float(ys.min())
    pending = np.arange(len(xs))
    rows_done, out_done, radius_done, decayed_done = [], [], [], []
    client = _client(scheduler)
    index = _Index(xs, ys, size)
    try:
        while pending.size:
            futures, tasks = [], []
            for members, box in _tiles(pending, xs, ys, size, x0, y0):
                width = float(bound[members].max())
                x_lo, y_lo, x_hi, y_hi = box
                near = index.within(x_lo - width, y_lo - width, x_hi + width, y_hi + width)
                local = np.searchsorted(near, members)
                args = (xs[near], ys[near], counts[near], local, box, width, ks, *weighting)
                tasks.append((members, width))
                futures.append(
                    _tile_job(*args) if client is None else client.submit(_tile_job, *args)
                )
            retry = []
            for (members, width), outcome in zip(tasks, _results(client, futures), strict=True):
                out, radius, decayed, redo = outcome
                keep = np.ones(members.size, bool)
                keep[redo] = False
                rows_done.append(members[keep])
                out_done.append(out[keep])
                radius_done.append(radius[keep])
                if decayed is not None:
                    decayed_done.append(decayed[keep])
                if progress is not None and keep.any():
                    progress(int(keep.sum()))
                if redo.size:
                    retry.append(members[redo])
                    bound[members[redo]] = 2 * width
            pending = np.concatenate(retry) if retry else np.zeros(0, np.int64)
            size *= 2
            index = _Index(xs, ys, size) if pending.size else index
    finally:
        if client is not None:
            cluster = client.cluster if scheduler == "local" else None
            client.close()
            if cluster is not None:
                cluster.close()
    rows = np.concatenate(rows_done)
    out, radius = np.concatenate(out_done), np.concatenate(radius_done)
    n_k = len(ks)
    columns = {
        _ROW: np.repeat(rows, n_k).astype(np.int64),
        "k": np.tile(ks, rows.size),
        **{g: out[:, :, j].ravel() for j, g in enumerate(groups)},
        "radius": radius.ravel(),
    }
    if decayed_done:
        decayed = np.concatenate(decayed_done)
        columns.update({f"{g}_decayed": decayed[:, :, j].ravel() for j, g in enumerate(groups)})
    return pl.DataFrame(columns)


def _results(client, futures):
    """Outcomes in task order; from a cluster, each fetched when it is ready (so progress
    shows as tiles finish, and a finished tile's result leaves the worker)."""
    if client is None:
        return futures
    return (future.result() for future in futures)


def _client(scheduler: str | None) -> Any:
    if scheduler is None:
        return None
    from distributed import Client, LocalCluster

    if scheduler == "local":
        return Client(LocalCluster(processes=False, dashboard_address=None))
    return Client(scheduler)


def _tile_job(xs, ys, counts, local, box, width, ks, decay=None, own_distance=0.0):
    """Contexts of the cells ``local`` among all the cells given (a tile and its halo):
    group counts and radii, and the positions in ``local`` whose context is incomplete —
    it reaches past the halo square, or the square holds fewer than k people."""
    out, radius, decayed = _contexts(
        xs, ys, counts, ks, origins=local, decay=decay, own_distance=own_distance
    )
    x_lo, y_lo, x_hi, y_hi = box
    mx, my = xs[local], ys[local]
    reach = np.minimum.reduce(
        [mx - (x_lo - width), (x_hi + width) - mx, my - (y_lo - width), (y_hi + width) - my]
    )
    held = out.sum(axis=2) >= ks[None, :] * (1 - 1e-9)
    complete = ((radius <= reach[:, None]) & held).all(axis=1)
    return out, radius, decayed, np.flatnonzero(~complete)


def _ids(ident: tuple[pl.Series, str], rows: pl.Series) -> pl.Series:
    ids, name = ident
    return ids.gather(rows.cast(pl.Int64)).alias(name)


def _everyone(xs, ys, counts, groups, ks, weighting) -> pl.DataFrame:
    """k ≥ the total population: the totals, and the distance to the farthest cell."""
    populated = counts.sum(axis=1) > 0
    hull = shapely.convex_hull(shapely.multipoints(np.c_[xs[populated], ys[populated]]))
    corners = shapely.get_coordinates(hull)
    far = np.sqrt(
        ((xs[:, None] - corners[None, :, 0]) ** 2 + (ys[:, None] - corners[None, :, 1]) ** 2).max(
            axis=1
        )
    )
    totals = counts.sum(axis=0)
    n, nk = len(xs), ks.size
    columns = {
        _ROW: np.repeat(np.arange(n, dtype=np.int64), nk),
        "k": np.tile(ks, n),
        **{g: np.full(n * nk, float(t)) for g, t in zip(groups, totals, strict=True)},
        "radius": np.repeat(far, nk),
    }
    decay, own_distance = weighting
    if decay is not None:  # everybody, weighted: the engine's own answer for these k
        decayed = _contexts(xs, ys, counts, ks, "tree", None, decay, own_distance)[2]
        assert decayed is not None  # _contexts returns decayed counts whenever decay is given
        for j, g in enumerate(groups):
            columns[f"{g}_decayed"] = decayed[:, :, j].ravel()
    return pl.DataFrame(columns)
