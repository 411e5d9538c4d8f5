"""Bespoke neighbourhoods: the k nearest people around every populated cell (EquiPop).

Swedish segregation research measures the scale of segregation with *individualised* or
*bespoke* neighbourhoods (Östh, Clark & Malmberg 2015, "Measuring the scale of segregation
using k-nearest neighbor aggregates", Geographical Analysis 47(1)): for every populated grid
cell, the composition of the k people who live nearest to it, for k from a few hundred to
tens of thousands. :func:`knn_contexts` computes those contexts for many k at once;
:func:`radius_contexts` the fixed-radius counterpart. Definitions, conventions and the
parity with the ``equipop`` package: ``docs/neighbourhoods.md``.

Input: one row per cell (or point) with coordinates ``x``, ``y`` in a projected CRS (metres,
e.g. SWEREF 99 TM, EPSG:3006) and one count column per group; the groups together are the
population that k counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

from bryta.compute._coerce import ROW as _ROW
from bryta.compute._coerce import rows_text as _rows_text
from bryta.compute._coerce import to_float
from bryta.compute.segregation.counts import _check_numeric, _require_columns, to_polars
from bryta.compute.spatial import _knn
from bryta.compute.spatial.decay import Decay
from bryta.errors import CountsError, InputError

Engine = Literal["auto", "grid", "tree"]

__all__ = ["knn_contexts", "radius_contexts"]


def knn_contexts(
    frame: Any,
    *,
    x: str,
    y: str,
    groups: Sequence[str],
    k: int | Sequence[int],
    unit: str | None = None,
    engine: Engine = "auto",
    decay: Decay | str | None = None,
    own_distance: float = 0.0,
) -> pl.DataFrame:
    """Counts of each group among the k nearest people of every cell, for every k.

    Conventions (those of ``equipop``'s default ``overshoot="proportional"``,
    ``self_rule="include"``):

    * distances are Euclidean between the cells' coordinates; the cell's own people are at
      distance 0 and are part of its context (so are those of other rows with the same
      coordinates);
    * all cells at the same distance from the origin form one *ring*; the context grows ring
      by ring, and the ring that crosses k is counted proportionally: each of its cells
      contributes the same fraction ``f = (k − people before the ring) / people in the ring``
      of its people and of each group. A context therefore holds exactly k people, in
      fractions of people;
    * ``radius`` is the distance of that crossing ring: the farthest distance at which
      anybody in the context lives. It is 0 when the cell's own people number at least k.
      (``equipop``'s default ``Dist_k`` instead interpolates inside the crossing ring and
      estimates a radius inside the own cell; see ``docs/neighbourhoods.md``);
    * if k is at least the total population, the context is everybody: the group counts are
      the regional totals (fewer than k people) and ``radius`` is the distance to the
      farthest populated cell.

    All k are answered in one pass per cell. Cells on a square lattice (detected from the
    coordinates) use an exact lattice engine: the population of a disc is a sum of row-wise
    prefix sums, and the crossing ring is found by a search over squared radii. Other points
    use k-d tree neighbour lists (``engine="tree"`` forces that; both give the same result).

    Parameters
    ----------
    frame : polars (or pandas / Arrow) table, one row per populated cell or point.
    x, y : coordinate columns, projected (metres).
    groups : count columns; their sum is the population k counts.
    k : one or more positive whole numbers of people.
    unit : column naming the cell in the output; default: ``row``, the 1-based row number.
    engine : ``"auto"`` (lattice engine when the points lie on a square lattice of at most
        40 M positions), ``"grid"`` or ``"tree"``.
    decay : optional distance decay (:class:`bryta.compute.spatial.decay.Decay`, or its text form
        ``exponential:SCALE``, ``gaussian:SCALE``, ``power:SCALE:EXPONENT``): adds the
        decayed counts ``<group>_decayed``, each person of the context weighted by w(distance
        from the origin). The context itself (who is in it, ``radius``) does not change.
        Uses the tree engine.
    own_distance : the distance charged to people at the origin's own location when
        weighting (default 0: weight 1), e.g. 0.3826 × the cell side for a square cell.

    Returns
    -------
    One row per cell and k, in input order then ascending k: ``<unit>, k, <groups…>, radius``
    and, with a decay, ``<group>_decayed…``.

    Worked example: three cells on a line, 100 m apart, holding (a, b) = (2, 0), (1, 1),
    (0, 3). For the middle cell and k = 3: its own 2 people, then the ring at 100 m (both
    neighbours, 5 people) contributes f = (3 − 2) / 5 = 0.2 of each: a = 1 + 0.2·2 = 1.4,
    b = 1 + 0.2·3 = 1.6, radius 100.

    >>> cells = pl.DataFrame({"x": [0, 100, 200], "y": [0, 0, 0], "a": [2, 1, 0], "b": [0, 1, 3]})
    >>> knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=[3]).row(1)
    (2, 3, 1.4, 1.6, 100.0)
    """
    xs, ys, counts, ids, id_name = _prepare(frame, x, y, groups, unit)
    ks = _check_k(k)
    n, n_k = len(xs), len(ks)
    spec = _decay_spec(decay, own_distance, groups)
    out, radius, decayed = _contexts(xs, ys, counts, ks, engine, None, spec, own_distance)
    columns: dict[str, Any] = {
        id_name: ids.gather(np.repeat(np.arange(n), n_k)),
        "k": np.tile(ks, n),
    }
    for g, name in enumerate(groups):
        columns[name] = out[:, :, g].ravel()
    columns["radius"] = radius.ravel()
    if decayed is not None:
        for g, name in enumerate(groups):
            columns[f"{name}_decayed"] = decayed[:, :, g].ravel()
    return pl.DataFrame(columns)


def _decay_spec(decay: Decay | str | None, own_distance: float, groups) -> Decay | None:
    if not (np.isfinite(own_distance) and own_distance >= 0):
        raise InputError(f"own_distance must be a distance ≥ 0, not {own_distance!r}")
    if decay is None:
        return None
    spec = decay if isinstance(decay, Decay) else Decay.parse(decay)
    names = [groups] if isinstance(groups, str) else list(groups)
    for g in names:
        if f"{g}_decayed" in names:
            raise CountsError(f"group column {g}_decayed clashes with the decayed count of {g!r}")
    return spec


def radius_contexts(
    frame: Any,
    *,
    x: str,
    y: str,
    groups: Sequence[str],
    radius: float | Sequence[float],
    unit: str | None = None,
) -> pl.DataFrame:
    """Counts of each group among the people living within a fixed distance of every cell.

    A cell is in the context when its distance from the origin is at most ``radius``
    (inclusive, whole cells, own cell at distance 0) — ``equipop``'s ``N_r``/``T_<var>_r``.

    ``unit`` names the cell in the output (default: ``row``, the 1-based row number).
    Returns one row per cell and radius: ``<unit>, radius, <groups…>``.

    >>> cells = pl.DataFrame({"x": [0, 100, 200], "y": [0, 0, 0], "a": [2, 1, 0], "b": [0, 1, 3]})
    >>> radius_contexts(cells, x="x", y="y", groups=["a", "b"], radius=100).row(0)
    (1, 100.0, 3.0, 1.0)
    """
    xs, ys, counts, ids, id_name = _prepare(frame, x, y, groups, unit)
    radii = np.atleast_1d(np.asarray(radius, dtype=np.float64))
    if radii.size == 0 or not np.isfinite(radii).all() or (radii < 0).any():
        raise InputError(f"radius must be one or more finite distances ≥ 0, not {radius!r}")
    radii = np.unique(radii)
    n, n_r, n_g = len(xs), len(radii), counts.shape[1]
    out = np.zeros((n, n_r, n_g))
    if n:
        pts = np.column_stack([xs, ys])
        tree = cKDTree(pts)
        block = 2048
        for j, r in enumerate(radii):
            for s in range(0, n, block):
                hits = tree.query_ball_point(pts[s : s + block], r)
                lengths = np.fromiter((len(h) for h in hits), np.int64, len(hits))
                flat = np.concatenate([np.asarray(h, np.int64) for h in hits])
                owner = np.repeat(np.arange(len(hits)), lengths)
                for g in range(n_g):
                    out[s : s + len(hits), j, g] = np.bincount(
                        owner, weights=counts[flat, g], minlength=len(hits)
                    )
    columns: dict[str, Any] = {
        id_name: ids.gather(np.repeat(np.arange(n), n_r)),
        "radius": np.tile(radii, n),
    }
    for g, name in enumerate(groups):
        columns[name] = out[:, :, g].ravel()
    return pl.DataFrame(columns)


# ----------------------------------------------------------------------------------- helpers


def _contexts(
    xs: np.ndarray,
    ys: np.ndarray,
    counts: np.ndarray,
    ks: np.ndarray,
    engine: Engine = "auto",
    origins: np.ndarray | None = None,
    decay: Decay | None = None,
    own_distance: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Group counts (origins × k × groups), radii (origins × k) and, with a decay, the
    decayed group counts of the contexts of the cells ``origins`` (row numbers; default
    all) among all the cells given."""
    pop = counts.sum(axis=1)
    total = float(pop.sum())
    keff = np.minimum(ks.astype(np.float64), total)
    n = len(xs) if origins is None else len(origins)
    n_k, n_g = len(ks), counts.shape[1]
    if n == 0 or len(xs) == 0 or total <= 0:
        empty = np.zeros((n, n_k, n_g))
        return empty, np.zeros((n, n_k)), (empty.copy() if decay is not None else None)
    if decay is not None:  # weighted sums need each cell's distance: neighbour lists

        def weight(d: np.ndarray) -> np.ndarray:
            return decay.weight(np.where(d <= 0.0, own_distance, d))

        if engine not in ("auto", "tree"):
            raise InputError(f"a distance decay needs engine='auto' or 'tree', not {engine!r}")
        cr = _knn.tree_crossings(xs, ys, pop, counts, ks, keff, origins, weight)
    else:
        step = _choose_engine(engine, xs, ys)
        if step is not None:
            cr = _knn.grid_crossings(xs, ys, pop, counts, ks, keff, step, origins)
        else:
            cr = _knn.tree_crossings(xs, ys, pop, counts, ks, keff, origins)
    ring = cr.pop_ring - cr.pop_before
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(ring > 0, (keff - cr.pop_before) / ring, 1.0)
    f = np.clip(f, 0.0, 1.0)
    out = cr.grp_before + f[:, :, None] * (cr.grp_ring - cr.grp_before)
    out[:, ks >= total, :] = counts.sum(axis=0)
    decayed = None
    if cr.wgrp_before is not None and cr.wgrp_ring is not None:
        decayed = cr.wgrp_before + f[:, :, None] * (cr.wgrp_ring - cr.wgrp_before)
    return out, cr.radius, decayed


def _check_k(k: int | Sequence[int]) -> np.ndarray:
    values = np.atleast_1d(np.asarray(k))
    if values.size == 0:
        raise InputError("k must be one or more positive whole numbers of people, got none")
    if values.dtype.kind not in "iuf" or not np.isfinite(values).all():
        raise InputError(f"k must be positive whole numbers of people, not {k!r}")
    if (values <= 0).any() or (values != np.round(values)).any():
        raise InputError(f"k must be positive whole numbers of people, not {k!r}")
    return np.unique(values.astype(np.int64))


def _choose_engine(engine: str, xs: np.ndarray, ys: np.ndarray) -> float | None:
    """The lattice spacing if the grid engine is to be used, else None."""
    if engine not in ("auto", "grid", "tree"):
        raise InputError(f"engine must be 'auto', 'grid' or 'tree', not {engine!r}")
    if engine == "tree":
        return None
    step = _knn.lattice_step(xs, ys)
    size = 0.0
    if step is not None:
        size = ((xs.max() - xs.min()) / step + 1) * ((ys.max() - ys.min()) / step + 1)
    if step is None or size > _knn.MAX_RASTER:
        if engine == "grid":
            why = "not on a square lattice" if step is None else f"{size:.0f} lattice positions"
            raise InputError(f"engine='grid' needs cells on a square lattice: {why}")
        return None
    return step


def _prepare(frame: Any, x: str, y: str, groups: Sequence[str], unit: str | None):
    if isinstance(groups, str):
        groups = [groups]
    groups = list(groups)
    if not groups:
        raise CountsError("give at least one group count column")
    if len(set(groups)) != len(groups):
        raise CountsError(f"group columns are repeated: {groups}")
    data = to_polars(frame)
    _require_columns(data, [x, y], "coordinate")
    _require_columns(data, groups, "group count")
    if unit is not None:
        _require_columns(data, [unit], "unit")
    if x in groups or y in groups:
        raise CountsError("a coordinate column is also named as a group")
    data = data.with_row_index(_ROW)
    for c in (x, y):
        data = _check_coordinate(data, c)
    for g in groups:
        data = _check_numeric(data, g, [x, y])
    xs = data.get_column(x).to_numpy().astype(np.float64)
    ys = data.get_column(y).to_numpy().astype(np.float64)
    counts = np.column_stack([data.get_column(g).to_numpy() for g in groups]).astype(np.float64)
    counts = counts.reshape(data.height, len(groups))
    if unit is None:
        ids = pl.Series("row", np.arange(1, data.height + 1, dtype=np.int64))
        id_name = "row"
    else:
        ids, id_name = data.get_column(unit), unit
        if id_name in ("k", "radius") or id_name in groups:
            raise CountsError(f"unit column {unit!r} clashes with an output column")
    return xs, ys, counts, ids, id_name


def _check_coordinate(data: pl.DataFrame, column: str) -> pl.DataFrame:
    col = data.get_column(column)
    cast = to_float(data, column, show=[column], error=CountsError, label="coordinate column")
    bad = cast.is_null() | ~cast.is_finite().fill_null(False)
    if bad.any():
        raise CountsError(
            f"coordinate column {column!r} has missing or non-numeric values, "
            f"{_rows_text(data.with_columns(col.alias(column)), bad, [column])}"
        )
    return data.with_columns(cast.alias(column))
