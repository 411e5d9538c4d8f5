"""PySAL's spatially implicit indices: aspatial indices on kernel egohoods, every partition at once.

PySAL ``segregation`` 2.5 computes most aspatial indices on *egohoods* when given
``distance=`` (and ``function=``) or ``w=``: every group's count in unit i is replaced by a
kernel-weighted sum over the units around it, rounded to a whole number, and the ordinary
index is computed on those counts (``SpatialImplicitIndex`` and ``_build_local_environment``
in ``segregation/_base.py``). With ``distance`` the weights are libpysal's
``Kernel.from_dataframe(data, bandwidth=distance, function=function)``:

* the points are the polygons' centroids;
* unit j is a neighbour of unit i when their distance d_ij ≤ h (the bandwidth, ``distance``;
  a fixed bandwidth, no ε factor);
* w_ij = K(z), z = d_ij / h, with K one of

  ============  ===================================
  triangular    K(z) = 1 − z (the default)
  uniform       K(z) = ½
  quadratic     K(z) = ¾ (1 − z²)
  quartic       K(z) = 15/16 (1 − z²)²
  gaussian      K(z) = (2π)^(−½) exp(−z² / 2), truncated at z = 1
  ============  ===================================

* the diagonal is then set to 1 (``fill_diagonal``: w_ii = 1 whatever K(0) is);
* each group's count becomes ñ_ig = round(Σⱼ w_ij n_jg), rounded half to even (pandas'
  ``round(0)``).

For a two-group (PySAL single-group) index PySAL smooths the focal group x, the total t and
the rest t − x as three separate columns, each rounded on its own, and computes the index on
x̃ and t̃ (``MinMax`` alone uses the rest, (t − x)~). So bryta gives the two-group indices
x̃ = round(Σ w x), t̃ = round(Σ w t) and the rest t̃ − x̃ (for ``min_max`` the separately
rounded (t − x)~), and the multigroup indices the rounded group counts ñ_ig with unit totals
Σ_g ñ_ig, exactly as PySAL does.

With ``w=`` the weights are a table (``unit_i``, ``unit_j``, ``weight``, optionally the
partition's ``by`` columns) instead of a kernel; its diagonal is set to 1 as well.

Everything runs over all partitions at once: the neighbour pairs within distance are found
once, for the distinct units (one k-d tree over their centroids), joined to the rows of every
partition holding both units, and one sparse product gives every smoothed count of every
partition. PySAL's ``network=`` egohoods (pandana/pandarm street networks) are not supported.

These egohoods are PySAL's; bryta's own bespoke neighbourhoods (the k nearest people on grid
cells, :mod:`bryta.compute.spatial.neighbourhoods` and :mod:`bryta.compute.spatial.decay`)
are a different construction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from bryta.compute.progress import Progress
from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation.counts import Counts, to_polars
from bryta.errors import InputError

__all__ = [
    "KERNELS",
    "EgohoodCounts",
    "check_egohood",
    "egohood_blocks",
    "egohood_counts",
    "kernel_weight",
    "weights_table",
]


def _triangular(z: np.ndarray) -> np.ndarray:
    return 1 - z


def _uniform(z: np.ndarray) -> np.ndarray:
    return np.ones(z.shape) * 0.5


def _quadratic(z: np.ndarray) -> np.ndarray:
    return (3.0 / 4) * (1 - z**2)


def _quartic(z: np.ndarray) -> np.ndarray:
    return (15.0 / 16) * (1 - z**2) ** 2


def _gaussian(z: np.ndarray) -> np.ndarray:
    c = (np.pi * 2) ** (-0.5)
    return np.asarray(c * np.exp(-(z**2) / 2.0))


#: libpysal's kernel functions K(z), z = d / h ≤ 1, written as libpysal writes them (the same
#: floating-point operations, so the same weights to the last bit).
KERNELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "triangular": _triangular,
    "uniform": _uniform,
    "quadratic": _quadratic,
    "quartic": _quartic,
    "gaussian": _gaussian,
}

_WEIGHT_COLUMNS = ("unit_i", "unit_j", "weight")


def kernel_weight(d: np.ndarray, distance: float, kernel: str = "triangular") -> np.ndarray:
    """The weight of a neighbour at centroid distance ``d`` ≤ ``distance``: K(d / distance).

    >>> kernel_weight(np.array([0.0, 500.0, 1000.0]), 1000.0).tolist()
    [1.0, 0.5, 0.0]
    """
    return KERNELS[kernel](np.asarray(d, dtype=np.float64) / distance)


def check_egohood(
    distance: Any,
    kernel: str,
    geometry: Any,
    indices: Sequence[str] | str | None,
    w: Any = None,
) -> None:
    """Refuse, in one line each, what an egohood cannot be: a distance that is not a positive
    number of metres, an unknown kernel, a distance without boundaries, a kernel without a
    distance, both a distance and ``w``, and any spatial index (they have their own geometry)."""
    from bryta.compute.spatial.indices import SPATIAL_REGISTRY

    if kernel not in KERNELS:
        raise InputError(
            f"unknown kernel {kernel!r} (PySAL's function=); known: {', '.join(KERNELS)}"
        )
    if distance is None:
        if kernel != "triangular" and w is None:
            raise InputError(
                f"kernel={kernel!r} needs distance= (on the command line --distance METRES)"
            )
    else:
        if w is not None:
            raise InputError("give distance= or w= for the egohoods, not both")
        if (
            isinstance(distance, bool)
            or not isinstance(distance, int | float | np.integer | np.floating)
            or not math.isfinite(float(distance))
            or distance <= 0
        ):
            raise InputError(
                f"distance must be a positive number of metres (the egohood's radius), "
                f"got {distance!r}"
            )
        if geometry is None:
            raise InputError(
                "distance= needs unit boundaries for the centroids: give geometry= and "
                "geometry_code= (on the command line --boundaries FILE --boundary-code COLUMN)"
            )
    if distance is None and w is None:
        return
    names = [indices] if isinstance(indices, str) else list(indices or [])
    spatial = [n for n in names if n in SPATIAL_REGISTRY]
    if spatial:
        raise InputError(
            f"{', '.join(map(repr, spatial))} cannot be computed on egohoods (distance=, "
            "--distance; w=): only aspatial indices are; measure the spatial ones without it"
        )


# ---- the smoothed counts --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EgohoodCounts(Counts):
    """Counts on egohoods: ``values`` holds the rounded smoothed group counts ñ_ig (what the
    multigroup indices use); ``total`` the separately rounded smoothed unit totals t̃ᵢ and
    ``rest`` the separately rounded smoothed (tᵢ − n_ig), rows × groups (what PySAL's
    single-group indices use, see the module docstring). ``distance`` and ``kernel`` are the
    egohood's (``distance`` None for a weights table)."""

    total: np.ndarray
    rest: np.ndarray
    distance: float | None
    kernel: str | None
    #: The counts before smoothing (rows × groups) and the smoothing matrix (rows × rows,
    #: block-diagonal by partition, diagonal 1): the bootstrap and random allocation draw
    #: people from ``raw`` and smooth every replicate with ``matrix``.
    raw: np.ndarray
    matrix: sp.csr_matrix


@dataclass(frozen=True)
class Smoothed:
    """Smoothed, rounded counts of stacked tables: group counts, totals and rests, as
    :class:`EgohoodCounts` holds them, and each row's partition."""

    values: np.ndarray
    total: np.ndarray
    rest: np.ndarray
    part: np.ndarray


def smooth(
    matrix: sp.csr_matrix, cells: np.ndarray, n_rep: int, part: np.ndarray, n_parts: int
) -> Smoothed:
    """round(W n), round(W t) and round(W (t − n)) for ``n_rep`` stacked tables of raw counts
    (``cells``: n_rep × rows × groups, any shape of that size; t the row totals), in one
    sparse product, rounded half to even as pandas' ``round(0)``. Table r's partition p
    (``part``, ``n_parts`` partitions) becomes partition r·P + p."""
    rows = part.size
    cube = np.asarray(cells, dtype=np.float64).reshape(n_rep, rows, -1)
    k = cube.shape[2]
    t = cube.sum(axis=2)  # n_rep × rows
    stacked = np.concatenate(
        [
            cube.transpose(1, 0, 2).reshape(rows, n_rep * k),
            t.T,
            (t[:, :, None] - cube).transpose(1, 0, 2).reshape(rows, n_rep * k),
        ],
        axis=1,
    )
    lag = np.round(np.asarray(matrix @ stacked))

    def back(block: np.ndarray) -> np.ndarray:
        return block.reshape(rows, n_rep, k).transpose(1, 0, 2).reshape(n_rep * rows, k)

    return Smoothed(
        values=back(lag[:, : n_rep * k]),
        total=lag[:, n_rep * k : n_rep * k + n_rep].T.ravel(),
        rest=back(lag[:, n_rep * k + n_rep :]),
        part=(np.arange(n_rep, dtype=np.int64)[:, None] * n_parts + part[None, :]).ravel(),
    )


def smooth_replicates(counts: EgohoodCounts, cells: np.ndarray, n_rep: int) -> Smoothed:
    """Every replicate table of raw counts smoothed with its partition's egohoods
    (:func:`smooth`)."""
    return smooth(counts.matrix, cells, n_rep, counts.part, counts.n_partitions)


def _unit_centroids(counts: Counts, geometry: Any, code: str | None) -> np.ndarray:
    """The centroid (x, y) of each row's unit, in EPSG:3006 metres. Every unit needs a
    polygon and every polygon a unit (as for the spatial indices)."""
    import shapely

    from bryta.compute.spatial.geometry import matched_boundaries

    frame = matched_boundaries(counts, geometry, code)
    codes = frame.get_column("code").cast(pl.String)
    units = counts.units.cast(pl.String)
    centroids = shapely.centroid(shapely.from_wkb(frame.get_column("geometry").to_numpy()))
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    position = pl.DataFrame({"code": codes, "_pos": np.arange(codes.len())})
    rows = pl.DataFrame({"code": units}).join(
        position, on="code", how="left", maintain_order="left"
    )
    return np.asarray(xy[rows.get_column("_pos").to_numpy()])


def _listed(codes: list[str], shown: int = 10) -> str:
    text = ", ".join(codes[:shown])
    return text + (f" and {len(codes) - shown} more" if len(codes) > shown else "")


def _kernel_pairs(
    counts: Counts, xy: np.ndarray, distance: float, kernel: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row i, row j, w_ij) for every ordered pair of distinct rows of the same partition whose
    centroids are within ``distance``. The pairs are found once over the distinct units (one
    k-d tree, scipy's distances as libpysal gets them) and joined to the partitions."""
    from scipy.spatial import cKDTree

    units = counts.units.cast(pl.String)
    distinct, first = np.unique(units.to_numpy().astype(str), return_index=True)
    points = xy[first]
    tree = cKDTree(points)
    found = tree.sparse_distance_matrix(tree, float(distance), output_type="ndarray")
    a, b, d = found["i"], found["j"], found["v"]
    keep = a != b
    pairs = pl.DataFrame(
        {"a": a[keep], "b": b[keep], "w": kernel_weight(d[keep], float(distance), kernel)},
        schema={"a": pl.Int64, "b": pl.Int64, "w": pl.Float64},
    )
    code = np.searchsorted(distinct, units.to_numpy().astype(str))
    return _row_pairs(counts.part, code, pairs)


def _row_pairs(
    part: np.ndarray, code: np.ndarray, pairs: pl.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit pairs (``a``, ``b``, ``w``; ``a`` ≠ ``b``, integer unit ids ``code``) as pairs of
    rows of the same partition holding both units."""
    rows = pl.DataFrame(
        {"i": np.arange(part.size), "part": part, "a": code},
        schema={"i": pl.Int64, "part": pl.Int64, "a": pl.Int64},
    )
    linked = rows.join(pairs, on="a").join(
        rows.rename({"i": "j", "a": "b"}), on=["part", "b"], how="inner"
    )
    return (
        linked.get_column("i").to_numpy(),
        linked.get_column("j").to_numpy(),
        linked.get_column("w").to_numpy(),
    )


def weights_table(w: Any, by: Sequence[str] = (), label: str = "w") -> pl.DataFrame:
    """A checked weights table: ``unit_i``, ``unit_j`` (strings), ``weight`` (finite, ≥ 0)
    and those of the ``by`` columns it has; each pair once (per partition). ``label`` names
    the table in messages (a file on the command line); rows are counted from 1."""
    table = to_polars(w, what=label)
    missing = [c for c in _WEIGHT_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"{label}: no column {', '.join(map(repr, missing))} (a weights table has unit_i, "
            f"unit_j, weight; columns: {', '.join(table.columns)})"
        )
    extra = [c for c in table.columns if c not in (*_WEIGHT_COLUMNS, *by)]
    if extra:
        raise InputError(
            f"{label}: unexpected column {', '.join(map(repr, extra))} (a weights table has "
            f"unit_i, unit_j, weight and, optionally, the by columns {', '.join(by) or '(none)'})"
        )
    from bryta.compute import _coerce as coerce

    shown = ["unit_i", "unit_j", *[c for c in by if c in table.columns]]
    weights = coerce.to_float(table, "weight", show=shown, label=f"{label}: column")
    bad = (weights.is_null() | ~weights.is_finite() | (weights < 0)).fill_null(True)
    if bad.any():
        raise InputError(
            f"{label}: column 'weight' has missing, negative or non-finite weights, "
            + coerce.rows_text(table.with_columns(weights), bad, [*shown, "weight"])
        )
    for column in ("unit_i", "unit_j"):
        empty = table.get_column(column).is_null().to_numpy()
        if empty.any():
            row = int(np.flatnonzero(empty)[0]) + 1
            raise InputError(f"{label}: row {row}, column {column!r} is empty")
    present = [c for c in by if c in table.columns]
    table = table.select(
        pl.col("unit_i").cast(pl.String),
        pl.col("unit_j").cast(pl.String),
        pl.Series("weight", weights),
        *present,
    )
    twice = table.select("unit_i", "unit_j", *present).is_duplicated().to_numpy()
    if twice.any():
        row = int(np.flatnonzero(twice)[0]) + 1
        raise InputError(
            f"{label}: row {row}: the pair ({table['unit_i'][row - 1]}, "
            f"{table['unit_j'][row - 1]}) is given more than once"
        )
    return table


def _table_pairs(counts: Counts, w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row i, row j, w_ij) from a weights table (:func:`weights_table`): with the partition's
    ``by`` columns each partition has its own weights (a partition the table does not name
    keeps its own counts), without them the weights hold in every partition holding both
    units. Pairs of a unit with itself are dropped: the diagonal is 1."""
    table = weights_table(w, counts.by)
    by = [c for c in counts.by if c in table.columns]
    keys = counts.keys.select(by)
    table = table.select(
        "unit_i",
        "unit_j",
        pl.col("weight").alias("w"),
        *[pl.col(c).cast(keys.schema[c], strict=False) for c in by],
    )
    units = counts.units.cast(pl.String)
    named = set(table.get_column("unit_i").to_list()) | set(table.get_column("unit_j").to_list())
    unknown = sorted(named - set(units.unique().to_list()))
    if unknown:
        raise InputError(
            f"w: {len(unknown)} units of the weights are not in the counts: {_listed(unknown)}"
        )
    table = table.filter(pl.col("unit_i") != pl.col("unit_j"))
    rows = pl.DataFrame(
        {"i": np.arange(counts.part.size), "part": counts.part, "unit": units},
        schema={"i": pl.Int64, "part": pl.Int64, "unit": pl.String},
    )
    if by:
        numbered = keys.with_row_index("part").with_columns(pl.col("part").cast(pl.Int64))
        table = table.join(numbered, on=by, how="inner", nulls_equal=True).drop(by)
        linked = rows.join(table, left_on=["part", "unit"], right_on=["part", "unit_i"])
    else:
        linked = rows.join(table, left_on="unit", right_on="unit_i")
    linked = linked.join(
        rows.rename({"i": "j"}), left_on=["part", "unit_j"], right_on=["part", "unit"]
    )
    return (
        linked.get_column("i").to_numpy(),
        linked.get_column("j").to_numpy(),
        linked.get_column("w").to_numpy(),
    )


def egohood_counts(
    counts: Counts,
    *,
    geometry: Any = None,
    geometry_code: str | None = None,
    distance: float | None = None,
    kernel: str = "triangular",
    w: Any = None,
) -> EgohoodCounts:
    """The counts on egohoods (see the module docstring), every partition in one sparse
    product: a kernel of radius ``distance`` metres over the centroids of ``geometry``, or the
    weights table ``w``."""
    if distance is not None:
        xy = _unit_centroids(counts, geometry, geometry_code)
        i, j, wij = _kernel_pairs(counts, xy, float(distance), kernel)
    else:
        i, j, wij = _table_pairs(counts, w)
    n_rows = counts.part.size
    # libpysal's fill_diagonal: w_ii = 1
    matrix = sp.csr_matrix(
        (np.r_[wij, np.ones(n_rows)], (np.r_[i, np.arange(n_rows)], np.r_[j, np.arange(n_rows)])),
        shape=(n_rows, n_rows),
    )
    smoothed = smooth(matrix, counts.values, 1, counts.part, counts.n_partitions)
    return EgohoodCounts(
        keys=counts.keys,
        by=counts.by,
        unit=counts.unit,
        groups=counts.groups,
        units=counts.units,
        part=counts.part,
        values=smoothed.values,
        total=smoothed.total,
        rest=smoothed.rest,
        distance=None if distance is None else float(distance),
        kernel=kernel if distance is not None else None,
        raw=counts.values,
        matrix=matrix,
    )


# ---- the indices on egohoods ----------------------------------------------------------------


class _TwoGroupMargins(Margins):
    """Margins for PySAL's single-group indices on egohoods: the unit totals are the
    separately rounded smoothed totals t̃ (not Σ_g ñ_g), and, with ``rest``, everyone but the
    focal group is the separately rounded smoothed rest (MinMax's ``group_2_pop_var``)."""

    def __init__(
        self, values: np.ndarray, part: np.ndarray, total: np.ndarray, rest: np.ndarray | None
    ):
        super().__init__(values, part)
        self._total = np.asarray(total, dtype=np.float64)
        self._rest = rest

    @cached_property
    def t(self) -> np.ndarray:
        return self._total

    @cached_property
    def T(self) -> np.ndarray:
        return self.segsum(self._total)

    @cached_property
    def other(self) -> np.ndarray:
        if self._rest is None:
            return self.t[:, None] - self.n
        return np.asarray(self._rest, dtype=np.float64)

    @cached_property
    def other_totals(self) -> np.ndarray:
        if self._rest is None:
            return self.T[:, None] - self.N
        return self.segsum(np.asarray(self._rest, dtype=np.float64))


#: The two-group indices that use PySAL's separately rounded rest (t − x)~.
_USES_REST = frozenset({"min_max"})


def egohood_blocks(
    counts: EgohoodCounts,
    specs: Sequence[Any],
    focal: np.ndarray,
    params: Any,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """:func:`bryta.compute.segregation.engine.compute_blocks` on egohood counts: each index
    gets the margins PySAL's class of it uses (see the module docstring)."""
    smoothed = Smoothed(counts.values, counts.total, counts.rest, counts.part)
    return smoothed_blocks(smoothed, counts.n_partitions, specs, focal, params, progress)


def smoothed_blocks(
    counts: Smoothed,
    n_parts: int,
    specs: Sequence[Any],
    focal: np.ndarray,
    params: Any,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """:func:`egohood_blocks` on smoothed counts of ``n_parts`` partitions (stacked
    replicates too)."""
    from bryta.compute.segregation.engine import compute_blocks

    multi = Margins(counts.values, counts.part)
    single = _TwoGroupMargins(counts.values, counts.part, counts.total, None)
    with_rest = _TwoGroupMargins(counts.values, counts.part, counts.total, counts.rest)
    values, reasons, columns = [], [], []
    for spec in specs:  # the few requested index functions, each over every partition
        m: Margins = single
        if spec.kind == "multigroup":
            m = multi
        elif spec.name in _USES_REST:
            m = with_rest
        v, r, c = compute_blocks(m, [spec], focal, params, progress)
        values.append(v)
        reasons.append(r)
        columns += c
    if not values:
        return np.zeros((n_parts, 0)), np.zeros((n_parts, 0), dtype=np.int64), []
    return np.hstack(values), np.hstack(reasons), columns
