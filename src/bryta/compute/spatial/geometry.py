"""Unit geometry for the spatial indices, built once and shared by every partition.

The measurement engine holds counts as rows (partition, unit) sorted by partition. The spatial
indices need, for each row, its unit's area, perimeter and centroid, and, within each
partition, the shared boundary lengths, the queen contiguity and the centroid distances of
its units. Partitions with the same set of units (a kommun in every year) have the same
geometry, so it is built once per **distinct set of units** (a *block*) and every partition
points to its block:

* per boundary code: area (m²), perimeter (m) and centroid, computed once;
* per block: the *geometry units* (the block's units, in the partition's row order), stacked
  into one index space of G units; matrices over it are block-diagonal ``scipy.sparse``
  matrices (the shared boundary lengths, the queen contiguity, the centroid distances);
* the row of a partition maps to its geometry unit by its position in the partition.

A matrix M is applied to per-row vectors of all partitions at once (:meth:`Geometry.apply`):
the vectors go into a sparse G × (partitions · columns) matrix and one sparse product gives
Σⱼ M_ij vⱼ for every row i of every partition. No Python loop runs over partitions; the
graph distances of the spatial proximity profile are computed per block.

Geometry comes from :func:`bryta.geography.boundaries.read_boundaries` (a file), a frame in
its shape (``code`` and WKB ``geometry`` in EPSG:3006), or a GeoPandas GeoDataFrame (any
projected or geographic CRS; reprojected to EPSG:3006).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
import shapely

from bryta.compute.segregation.counts import Counts
from bryta.errors import InputError

__all__ = ["Geometry", "build_geometry", "load_geometry", "matched_boundaries"]

_LISTED = 10


def load_geometry(geometry: Any, code: str | None) -> tuple[pl.DataFrame, str]:
    """Boundaries as a polars frame (``code``, WKB ``geometry`` in EPSG:3006) and a label for
    messages (the file, or ``geometry``)."""
    from bryta.geography.boundaries import boundaries_from_wkb, read_boundaries

    if isinstance(geometry, str | Path):
        if code is None:
            raise InputError(
                f"{geometry}: give the column holding the unit codes (geometry_code=, "
                "--boundary-code)"
            )
        return read_boundaries(geometry, code=code), str(geometry)
    column = code or "code"
    module = type(geometry).__module__.split(".")[0]
    if module == "geopandas":
        if column not in geometry.columns:
            raise InputError(
                f"geometry: no column {column!r} (columns: {', '.join(map(str, geometry.columns))})"
                "; name the code column with geometry_code="
            )
        if geometry.crs is None:
            raise InputError("geometry: the GeoDataFrame has no CRS; set it with set_crs()")
        codes = [None if c is None else str(c) for c in geometry[column].tolist()]
        wkb = shapely.to_wkb(np.asarray(geometry.geometry.values, dtype=object))
        frame = boundaries_from_wkb("geometry", codes, [None] * len(codes), list(wkb), geometry.crs)
        return frame, "geometry"
    from bryta.compute.segregation.counts import to_polars

    frame = to_polars(geometry, what="geometry")
    missing = [c for c in (column, "geometry") if c not in frame.columns]
    if missing:
        raise InputError(
            f"geometry: no column {', '.join(map(repr, missing))} (columns: "
            f"{', '.join(frame.columns)}); name the code column with geometry_code="
        )
    frame = frame.select(pl.col(column).cast(pl.String).alias("code"), "geometry")
    if frame.get_column("code").is_duplicated().any():
        dup = frame.filter(pl.col("code").is_duplicated()).get_column("code").unique().sort()
        raise InputError(f"geometry: codes repeat in column {column!r}: {_first(dup.to_list())}")
    return frame, "geometry"


def _first(codes: list[str]) -> str:
    shown = ", ".join(codes[:_LISTED])
    return shown + (f" and {len(codes) - _LISTED} more" if len(codes) > _LISTED else "")


@dataclass
class Geometry:
    """Geometry of every row of a measurement (see the module docstring).

    Per row (aligned with the engine's rows): ``area``, ``perimeter``, ``cx``, ``cy``,
    ``gunit`` (the geometry unit). Per partition: ``block``. Per geometry unit: ``g_block``,
    ``g_area``, ``g_cx``, ``g_cy``, ``g_code`` (index into ``polygons``). ``shared``: the
    shared boundary lengths (G × G, symmetric, CSR).
    """

    part: np.ndarray
    block: np.ndarray
    gunit: np.ndarray
    g_block: np.ndarray
    g_offset: np.ndarray
    g_code: np.ndarray
    polygons: np.ndarray
    code_area: np.ndarray
    code_perimeter: np.ndarray
    code_cx: np.ndarray
    code_cy: np.ndarray
    shared: sp.csr_matrix
    queen: sp.csr_matrix
    _cache: dict[str, Any] = field(default_factory=dict)

    # ---- per row --------------------------------------------------------------------------
    @cached_property
    def area(self) -> np.ndarray:
        return self.code_area[self.g_code[self.gunit]]

    @cached_property
    def perimeter(self) -> np.ndarray:
        return self.code_perimeter[self.g_code[self.gunit]]

    @cached_property
    def cx(self) -> np.ndarray:
        return self.code_cx[self.g_code[self.gunit]]

    @cached_property
    def cy(self) -> np.ndarray:
        return self.code_cy[self.g_code[self.gunit]]

    @property
    def n_units(self) -> int:
        return int(self.g_code.size)

    @property
    def n_partitions(self) -> int:
        return int(self.block.size)

    def tiled(self, n_rep: int) -> Geometry:
        """The geometry of ``n_rep`` copies of every partition stacked as partitions, copy r of
        partition p being partition r·P + p: the layout in which the bootstrap and random
        allocation evaluate their replicates. The geometry units, and every structure already
        built on them (proximity, paths, neighbourhoods), are shared, not rebuilt."""
        if n_rep == 1:
            return self
        n_parts = self.n_partitions
        reps = np.arange(n_rep, dtype=np.int64)[:, None]
        return replace(
            self,
            part=(reps * n_parts + self.part[None, :]).ravel(),
            block=np.tile(self.block, n_rep),
            gunit=np.tile(self.gunit, n_rep),
            _cache=self._cache,
        )

    # ---- products over all partitions -----------------------------------------------------
    def apply(self, matrix: sp.csr_matrix, v: np.ndarray) -> np.ndarray:
        """(M v)_r = Σ_s M[g(r), g(s)] v_s over the rows s of r's partition, for every row r
        and column of ``v`` (rows × k), in one sparse product."""
        v = np.asarray(v, dtype=np.float64)
        k = v.shape[1]
        cols = (self.part[:, None] * k + np.arange(k)[None, :]).ravel()
        rows = np.repeat(self.gunit, k)
        stacked = sp.csc_matrix(
            (v.ravel(), (rows, cols)), shape=(self.n_units, self.n_partitions * k)
        )
        product = sp.csr_matrix(matrix @ stacked)
        product.sort_indices()
        return np.asarray(product[rows, cols]).reshape(-1, k)

    def pairs(self, matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every stored entry of a block-diagonal ``matrix`` for every partition, as rows:
        (row i, row j, value). For sparse matrices (contiguity), not the dense distances."""
        coo = matrix.tocoo()
        gi, gj, val = coo.row, coo.col, coo.data
        order = np.argsort(self.g_block[gi], kind="stable")
        gi, gj, val = gi[order], gj[order], val[order]
        n_blocks = self.g_offset.size - 1
        per_block = np.bincount(self.g_block[gi], minlength=n_blocks)
        first = np.r_[0, np.cumsum(per_block)[:-1]]
        counts = per_block[self.block]
        total = int(counts.sum())
        part = np.repeat(np.arange(self.n_partitions), counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        entry = first[self.block][part] + within
        start = self.row_start[part] - self.g_offset[self.block][part]
        return start + gi[entry], start + gj[entry], val[entry]

    @cached_property
    def row_start(self) -> np.ndarray:
        return np.flatnonzero(np.r_[True, self.part[1:] != self.part[:-1]])

    # ---- centroid distances ---------------------------------------------------------------
    @cached_property
    def _dense_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every ordered pair (i ≠ j) of geometry units in the same block."""
        sizes = np.diff(self.g_offset)
        sq = sizes * sizes
        blk = np.repeat(np.arange(sizes.size), sq)
        local = np.arange(int(sq.sum())) - np.repeat(np.cumsum(sq) - sq, sq)
        n = sizes[blk]
        gi = self.g_offset[blk] + local // n
        gj = self.g_offset[blk] + local % n
        keep = gi != gj
        return gi[keep], gj[keep]

    def proximity(self, alpha: float, beta: float) -> tuple[sp.csr_matrix, np.ndarray]:
        """PySAL's proximity c (see :mod:`bryta.compute.spatial.indices`): the off-diagonal
        part as a sparse matrix, c_ij = 1 − exp(−d_ij / s_j) with s_j = Σ_k d_jk, and the
        diagonal per geometry unit, c_ii = 1 − exp(−(α a_i)^β)."""
        key = "proximity_off"
        if key not in self._cache:
            gi, gj = self._dense_pairs
            cx, cy = self.code_cx[self.g_code], self.code_cy[self.g_code]
            d = np.hypot(cx[gi] - cx[gj], cy[gi] - cy[gj])
            s = np.bincount(gi, weights=d, minlength=self.n_units)
            with np.errstate(invalid="ignore", divide="ignore"):
                c = 1 - np.exp(-(d / s[gj]))
            self._cache[key] = sp.csr_matrix((c, (gi, gj)), shape=(self.n_units,) * 2)
        area = self.code_area[self.g_code]
        diag = 1 - np.exp(-((alpha * area) ** beta))
        return self._cache[key], diag

    def hops(self) -> tuple[np.ndarray, np.ndarray]:
        """Shortest-path lengths in the queen graph within each block, flattened block by
        block (row-major); and each block's first entry (n_blocks + 1). inf when not
        connected."""
        if "hops" not in self._cache:
            from scipy.sparse.csgraph import shortest_path

            sizes = np.diff(self.g_offset)
            flat = np.empty(int((sizes * sizes).sum()))
            start = np.r_[0, np.cumsum(sizes * sizes)]
            for b in range(sizes.size):  # graph building, once per distinct set of units
                a, z = self.g_offset[b], self.g_offset[b + 1]
                sub = self.queen[a:z, a:z]
                flat[start[b] : start[b + 1]] = shortest_path(
                    sub, directed=False, unweighted=True
                ).ravel()
            self._cache["hops"] = (flat, start)
        result: tuple[np.ndarray, np.ndarray] = self._cache["hops"]
        return result


def matched_boundaries(counts: Counts, geometry: Any, code: str | None) -> pl.DataFrame:
    """The boundaries of ``counts``' units (``code``, WKB ``geometry``; see
    :func:`load_geometry`). Every unit of the counts needs a polygon and every polygon a unit:
    the first ten codes missing on either side are named."""
    frame, label = load_geometry(geometry, code)
    column = code or "code"
    codes = frame.get_column("code").cast(pl.String)
    units = counts.units.cast(pl.String)
    known = set(codes.to_list())
    present = set(units.unique().to_list())
    lacking = sorted(present - known)
    if lacking:
        raise InputError(
            f"{label}: {len(lacking)} units of the counts have no geometry in column "
            f"{column!r}: {_first(lacking)}"
        )
    extra = sorted(known - present)
    if extra:
        raise InputError(
            f"{label}: {len(extra)} areas in column {column!r} have no counts (measure the "
            f"same units as the boundaries, or filter the boundaries): {_first(extra)}"
        )
    return frame


def build_geometry(counts: Counts, geometry: Any, code: str | None) -> Geometry:
    """The :class:`Geometry` of ``counts``' rows from boundaries (see
    :func:`matched_boundaries`)."""
    frame = matched_boundaries(counts, geometry, code)
    codes = frame.get_column("code").cast(pl.String)
    units = counts.units.cast(pl.String)
    polygons = shapely.from_wkb(frame.get_column("geometry").to_numpy())
    index = dict(zip(codes.to_list(), range(codes.len()), strict=True))

    part = counts.part
    starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]]) if part.size else part
    sizes = np.diff(np.r_[starts, part.size])
    # one block per distinct set of units (rows within a partition are sorted by unit)
    signature = pl.DataFrame({"part": part, "unit": units}).group_by("part", maintain_order=True)
    sigs = signature.agg(pl.col("unit").str.join("\x1f")).get_column("unit")
    first_of = sigs.is_first_distinct().to_numpy()
    block = (sigs.rank("dense").to_numpy() - 1).astype(np.int64)
    rep = np.flatnonzero(first_of)  # one partition per block, in first-seen order
    renumber = np.empty(rep.size, dtype=np.int64)
    renumber[block[rep]] = np.arange(rep.size)
    block = renumber[block]
    rep_sizes = sizes[rep]
    g_offset = np.r_[0, np.cumsum(rep_sizes)].astype(np.int64)
    g_block = np.repeat(np.arange(rep.size), rep_sizes)
    g_rows = starts[rep][g_block] + np.arange(int(rep_sizes.sum())) - g_offset[g_block]
    unit_list = units.to_list()
    g_code = np.array([index[unit_list[r]] for r in g_rows], dtype=np.int64)
    gunit = g_offset[block[part]] + np.arange(part.size) - starts[part]

    shared, queen = _contiguity(polygons, g_code, g_block)
    centroids = shapely.centroid(polygons)
    return Geometry(
        part=part,
        block=block,
        gunit=gunit,
        g_block=g_block,
        g_offset=g_offset,
        g_code=g_code,
        polygons=polygons,
        code_area=shapely.area(polygons),
        code_perimeter=shapely.length(polygons),
        code_cx=shapely.get_x(centroids),
        code_cy=shapely.get_y(centroids),
        shared=shared,
        queen=queen,
    )


def _contiguity(
    polygons: np.ndarray, g_code: np.ndarray, g_block: np.ndarray
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Shared boundary lengths and queen contiguity between geometry units of the same block.
    Each pair of polygons is intersected once, whatever the number of blocks holding it."""
    used = np.unique(g_code)
    tree = shapely.STRtree(polygons[used])
    left, right = tree.query(polygons[used], predicate="intersects")
    keep = left < right
    a, b = used[left[keep]], used[right[keep]]
    length = shapely.length(shapely.intersection(polygons[a], polygons[b]))
    pairs = pl.DataFrame({"a": a, "b": b, "length": length})
    pairs = pl.concat([pairs, pairs.select(a="b", b="a", length="length")])
    members = pl.DataFrame({"g": np.arange(g_code.size), "code": g_code, "block": g_block})
    linked = pairs.join(members.rename({"g": "gi", "code": "a"}), on="a").join(
        members.rename({"g": "gj", "code": "b"}), on=["b", "block"]
    )
    gi, gj = linked.get_column("gi").to_numpy(), linked.get_column("gj").to_numpy()
    n = g_code.size
    lengths = linked.get_column("length").to_numpy()
    shared = sp.csr_matrix((lengths, (gi, gj)), shape=(n, n))
    shared.eliminate_zeros()
    queen = sp.csr_matrix((np.ones(gi.size), (gi, gj)), shape=(n, n))
    return shared, queen
