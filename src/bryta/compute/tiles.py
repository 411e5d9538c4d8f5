"""Bespoke neighbourhoods in tiles: the national grid on a Dask cluster, same answers.

:func:`tiled_knn_contexts` cuts the cells into square tiles and computes each tile's contexts
with :func:`bryta.compute.neighbourhoods.knn_contexts` on the tile's cells plus a *halo*: the
cells within ``halo`` metres of the tile. A context is complete when every cell up to its
radius is present, which holds when the radius is at most the distance from the cell to the
edge of the halo square (the disc of that radius then lies inside the square). Cells whose
context reaches further are computed again with the halo doubled, until every context is
complete — so the output is the single-process output, cell for cell, whatever the tile size.

Each task holds one tile and its halo, so a worker's memory is bounded by the tile size (and
the densest halo the largest k needs), not by the country. Tasks run on a Dask cluster
(``scheduler="tcp://host:8786"``), on a local one (``scheduler="local"``), or in this process
(``scheduler=None``; same results, useful for tests and small data).

k values at or above the total population are answered without tiles: every context is then
the whole population (the regional totals) and the radius is the distance to the farthest
populated cell, found from the convex hull's corners.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl
import shapely

from bryta.compute.neighbourhoods import _check_k, _prepare, knn_contexts
from bryta.errors import BrytaError

__all__ = ["tiled_knn_contexts"]

_ROW = "__bryta_cell"


def tiled_knn_contexts(
    frame: Any,
    *,
    x: str,
    y: str,
    groups: Sequence[str],
    k: int | Sequence[int],
    id: str | None = None,
    tile_size: float = 10_000.0,
    halo: float | None = None,
    scheduler: str | None = None,
    on_tile: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """:func:`~bryta.compute.neighbourhoods.knn_contexts` computed tile by tile.

    Args:
        tile_size: side of a tile in the coordinates' unit (metres).
        halo: first halo width; default: the radius a disc needs to hold the largest k at
            the region's mean density, at least a tenth of a tile. Too small only costs a
            second pass for the cells it does not cover.
        scheduler: a Dask scheduler address, ``"local"`` for a local cluster, or None to run
            the tiles in this process.
        on_tile: called with the number of cells finished after each tile (progress).

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
        raise BrytaError(f"tile_size must be positive, not {tile_size!r}")
    groups = [groups] if isinstance(groups, str) else list(groups)
    ks = np.unique(np.atleast_1d(np.asarray(k, dtype=np.int64)))
    _check_k(ks.tolist())
    # the checks and conversions of the single-process function (text columns from CSV too)
    xs, ys, counts, ids, id_name = _prepare(frame, x, y, groups, id)
    data = pl.DataFrame(
        {"__x": xs, "__y": ys, **{g: counts[:, j] for j, g in enumerate(groups)}}
    ).with_row_index(_ROW)
    ident = (ids, id_name)
    total = float(counts.sum())
    inside = ks[ks < total]
    everyone = ks[ks >= total]

    parts = []
    if inside.size and data.height:
        area = max((np.ptp(xs) + tile_size) * (np.ptp(ys) + tile_size), tile_size**2)
        first = halo if halo is not None else _halo_guess(int(inside.max()), total, area)
        first = max(first, tile_size / 10)
        parts.append(
            _run_tiles(data, xs, ys, groups, inside, ident, tile_size, first, scheduler, on_tile)
        )
    if everyone.size and data.height:
        parts.append(_everyone(data, xs, ys, groups, everyone, ident))
    if not parts:
        return knn_contexts(frame, x=x, y=y, groups=groups, k=ks.tolist(), id=id)
    out = pl.concat(parts, how="vertical_relaxed")
    return out.sort(_ROW, "k").drop(_ROW).select(id_name, "k", *groups, "radius")


def _halo_guess(kmax: int, total: float, area: float) -> float:
    density = total / area
    return float(np.sqrt(kmax / (np.pi * density))) if density > 0 else 0.0


def _tile_of(xs: np.ndarray, ys: np.ndarray, size: float) -> np.ndarray:
    tx = np.floor((xs - xs.min()) / size).astype(np.int64)
    ty = np.floor((ys - ys.min()) / size).astype(np.int64)
    return tx * (int(ty.max()) + 1) + ty


def _run_tiles(data, xs, ys, groups, ks, ident, size, first, scheduler, on_tile):
    tile = _tile_of(xs, ys, size)
    order = np.argsort(tile, kind="stable")
    starts = np.flatnonzero(np.r_[True, tile[order][1:] != tile[order][:-1]])
    todo = np.split(order, starts[1:])
    x0, y0 = xs.min(), ys.min()
    tasks = []
    for members in todo:  # one task per tile; the task carries only its tile and halo
        t = tile[members[0]]
        ny = int(np.floor((ys - y0) / size).max()) + 1
        tx, ty = divmod(int(t), ny)
        box = (x0 + tx * size, y0 + ty * size, x0 + (tx + 1) * size, y0 + (ty + 1) * size)
        tasks.append((members, box))

    def job(members: np.ndarray, box: tuple, width: float) -> tuple[pl.DataFrame, np.ndarray]:
        return _tile_job(data, xs, ys, members, box, width, groups, ks, ident)

    results = _execute(tasks, first, job, scheduler, on_tile)
    return pl.concat(results)


def _execute(tasks, first, job, scheduler, on_tile):
    """Run every tile; cells whose context left the halo go again with a doubled halo."""
    done: list[pl.DataFrame] = []
    width = first
    pending = tasks
    client = _client(scheduler)
    try:
        while pending:
            if client is None:
                outcomes = [job(m, box, width) for m, box in pending]
            else:
                futures = [client.submit(job, m, box, width, pure=False) for m, box in pending]
                outcomes = client.gather(futures)
            retry = []
            for (members, box), (frame, redo) in zip(pending, outcomes, strict=True):
                done.append(frame)
                if on_tile is not None:
                    on_tile(members.size - redo.size)
                if redo.size:
                    retry.append((redo, box))
            pending = retry
            width *= 2
    finally:
        if client is not None and scheduler == "local":
            client.close()
            client.cluster.close()
    return done


def _client(scheduler: str | None) -> Any:
    if scheduler is None:
        return None
    from distributed import Client, LocalCluster

    if scheduler == "local":
        return Client(LocalCluster(processes=False, dashboard_address=None))
    return Client(scheduler)


def _tile_job(data, xs, ys, members, box, width, groups, ks, ident):
    """Contexts of ``members`` (row numbers) from the cells within ``width`` of ``box``;
    returns the complete rows and the members to do again with a wider halo."""
    x_lo, y_lo, x_hi, y_hi = box
    near = np.flatnonzero(
        (xs >= x_lo - width) & (xs <= x_hi + width) & (ys >= y_lo - width) & (ys <= y_hi + width)
    )
    sub = data[near]
    contexts = knn_contexts(sub, x="__x", y="__y", groups=groups, k=ks.tolist(), id=_ROW)
    contexts = contexts.filter(pl.col(_ROW).is_in(pl.Series(members.astype(np.uint32)).implode()))
    # the distance from each member to the edge of the halo square
    mx, my = xs[members], ys[members]
    reach = np.minimum.reduce(
        [mx - (x_lo - width), (x_hi + width) - mx, my - (y_lo - width), (y_hi + width) - my]
    )
    lookup = pl.DataFrame({_ROW: members.astype(np.uint32), "_reach": reach})
    contexts = contexts.join(lookup, on=_ROW, how="left")
    # complete: the disc of the radius lies in the halo square, and the cells there hold k
    # people (with fewer, the tile's people ran out before k and the context must grow)
    held = pl.sum_horizontal(groups) >= pl.col("k") * (1 - 1e-9)
    complete = contexts.group_by(_ROW).agg(
        ((pl.col("radius") <= pl.col("_reach")) & held).all().alias("radius")
    )
    redo = complete.filter(~pl.col("radius")).get_column(_ROW).to_numpy().astype(np.int64)
    good = contexts.filter(~pl.col(_ROW).is_in(pl.Series(redo.astype(np.uint32)).implode()))
    return good.drop("_reach").with_columns(_ids(ident, good.get_column(_ROW))), np.sort(redo)


def _ids(ident: tuple[pl.Series, str], rows: pl.Series) -> pl.Series:
    ids, name = ident
    return ids.gather(rows.cast(pl.Int64)).alias(name)


def _everyone(data, xs, ys, groups, ks, ident):
    """k ≥ the total population: the totals, and the distance to the farthest cell."""
    populated = data.select(pl.sum_horizontal(groups) > 0).to_series().to_numpy()
    hull = shapely.convex_hull(shapely.multipoints(np.c_[xs[populated], ys[populated]]))
    corners = shapely.get_coordinates(hull)
    far = np.sqrt(
        ((xs[:, None] - corners[None, :, 0]) ** 2 + (ys[:, None] - corners[None, :, 1]) ** 2).max(
            axis=1
        )
    )
    totals = data.select(pl.col(g).cast(pl.Float64).sum() for g in groups).row(0)
    n, nk = data.height, ks.size
    rows = pl.Series(_ROW, np.repeat(np.arange(n, dtype=np.uint32), nk))
    frame = pl.DataFrame(
        {
            _ROW: rows,
            "k": np.tile(ks, n),
            **{g: np.full(n * nk, t) for g, t in zip(groups, totals, strict=True)},
            "radius": np.repeat(far, nk),
        }
    )
    return frame.with_columns(_ids(ident, rows))
