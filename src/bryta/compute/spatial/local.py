"""PySAL ``segregation`` 2.5's local measures, for every unit of every partition in one pass.

:func:`local_measures` computes any of them and returns one row per partition × unit (× group
for the per-group ones). Names are PySAL's classes in snake case:

========================================  =========  ========================================
measure                                   per        PySAL 2.5 class
========================================  =========  ========================================
``multi_local_diversity``                 unit       ``MultiLocalDiversity``
``multi_local_entropy``                   unit       ``MultiLocalEntropy``
``multi_local_simpson_concentration``     unit       ``MultiLocalSimpsonConcentration``
``multi_local_simpson_interaction``       unit       ``MultiLocalSimpsonInteraction``
``multi_location_quotient``               group      ``MultiLocationQuotient``
``local_distortion``                      unit       ``LocalDistortion`` (boundaries)
``local_relative_centralization``         group      ``LocalRelativeCentralization``
                                                     (boundaries)
========================================  =========  ========================================

Notation: n_ig the count of group g in unit i, tᵢ = Σ_g n_ig, p_ig = n_ig / tᵢ, π_g = N_g / T
the partition's shares, K the number of groups listed.

Deliberate differences from PySAL, where PySAL's number is an artefact of ``nansum`` rather
than a value: an empty unit (tᵢ = 0) has NaN for the diversity, entropy and Simpson measures
(PySAL 0) and for the location quotients (PySAL NaN too); a local relative centralization
whose neighbourhood holds none of the focal group or no one else is NaN (PySAL 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation.counts import Counts, prepare_counts, take_rows
from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.compute.spatial.geometry import Geometry

__all__ = ["LOCAL_MEASURES", "LocalMeasure", "local_measures"]


@dataclass(frozen=True)
class _Context:
    counts: Counts
    m: Margins
    geometry: Geometry | None
    metric: Any
    k: int


@dataclass(frozen=True)
class LocalMeasure:
    """A local measure: its function (rows, or rows × groups when ``per_group``), whether it
    needs boundaries, and its PySAL class."""

    name: str
    func: Callable[[_Context], np.ndarray]
    per_group: bool
    spatial: bool
    pysal: str


def _shares(c: _Context) -> np.ndarray:
    """p_ig, NaN for an empty unit."""
    t = c.m.t[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(t > 0, c.m.n / t, np.nan)


def _plogp(p: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)


def _empty_nan(c: _Context, values: np.ndarray) -> np.ndarray:
    return np.where(c.m.t > 0, values, np.nan)


def multi_local_diversity(c: _Context) -> np.ndarray:
    """Local diversity: the entropy of the unit's group mix, in nats.

    Formula: LDᵢ = −Σ_g p_ig ln p_ig
    Reference: Theil, H. (1972). Statistical Decomposition Analysis. North-Holland; PySAL
    ``MultiLocalDiversity``.
    """
    return _empty_nan(c, -_plogp(_shares(c)).sum(axis=1))


def multi_local_entropy(c: _Context) -> np.ndarray:
    """Local entropy: the unit's diversity relative to its largest possible, 0 to 1.

    Formula: LEᵢ = −Σ_g p_ig ln p_ig / ln K, K the number of groups listed
    Reference: Reardon, S. F. & O'Sullivan, D. (2004). Measures of spatial segregation.
    Sociological Methodology 34(1), 121–162 (eq. 6, one unit); PySAL ``MultiLocalEntropy``.
    """
    k = c.m.n.shape[1]
    return _empty_nan(c, -(_plogp(_shares(c)) / math.log(k)).sum(axis=1))


def multi_local_simpson_concentration(c: _Context) -> np.ndarray:
    """Local Simpson concentration: the chance that two of the unit's people share a group.

    Formula: LSCᵢ = Σ_g p_ig²
    Reference: Reardon, S. F. & Firebaugh, G. (2002). Measures of multigroup segregation.
    Sociological Methodology 32, 33–67 (eq. 1, one unit); PySAL
    ``MultiLocalSimpsonConcentration``.
    """
    p = _shares(c)
    return _empty_nan(c, np.nan_to_num(p * p).sum(axis=1))


def multi_local_simpson_interaction(c: _Context) -> np.ndarray:
    """Local Simpson interaction: the chance that two of the unit's people are of different groups.

    Formula: LSIᵢ = Σ_g p_ig (1 − p_ig) = 1 − LSCᵢ
    Reference: Reardon & Firebaugh (2002); PySAL ``MultiLocalSimpsonInteraction``.
    """
    p = _shares(c)
    return _empty_nan(c, np.nan_to_num(p * (1 - p)).sum(axis=1))


def multi_location_quotient(c: _Context) -> np.ndarray:
    """Location quotient: the group's share in the unit against its share in the partition.

    Formula: LQ_ig = (n_ig / tᵢ) / (N_g / T)
    Reference: Isard, W. (1960). Methods of Regional Analysis. MIT Press; PySAL
    ``MultiLocationQuotient``.
    """
    m = c.m
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(_shares(c) / m.per_row(m.N / m.T[:, None]))


def local_distortion(c: _Context) -> np.ndarray:
    """Local distortion: how far the unit's surroundings, grown outward, are from the whole.

    Formula: Dᵢ = Σⱼ₌₁ⁿ Σ_g q⁽ʲ⁾ᵢg ln(q⁽ʲ⁾ᵢg / π_g), q⁽ʲ⁾ᵢ the group shares of the j units
    nearest to unit i by centroid distance (``metric``), steps holding no one adding nothing
    Reference: Olteanu, M., Randon-Furling, J. & Clark, W. A. V. (2019). Segregation through
    the multiscalar lens. PNAS 116(25), 12250–12254; PySAL ``LocalDistortion``.
    """
    from bryta.compute.spatial.distortion import local_distortion_values

    assert c.geometry is not None
    return local_distortion_values(c.m, c.geometry, c.metric)


def local_relative_centralization(c: _Context) -> np.ndarray:
    """Local relative centralization: the focal group nearer the unit than the others, −1 to 1.

    Formula: LRCEᵢ = Σⱼ Xⱼ₋₁Yⱼ − Σⱼ XⱼYⱼ₋₁ over unit i and its k nearest units (centroids,
    k = 5), ordered by distance from i's centroid, Xⱼ and Yⱼ the cumulative shares of the
    focal group and of the others within them
    Reference: Folch, D. C. & Rey, S. J. (2016). The centralization index: a measure of local
    spatial segregation. Papers in Regional Science 95(3), 555–576; PySAL
    ``LocalRelativeCentralization``.
    """
    assert c.geometry is not None
    m = c.m
    seq = _neighbourhoods(c.geometry, c.k)  # rows × (k + 1) local positions, −1 padding
    rows = m.starts[m.part][:, None] + seq
    pad = seq < 0
    rows = np.where(pad, 0, rows)
    x = np.where(pad[:, :, None], 0.0, m.n[rows])  # rows × (k + 1) × groups
    t = np.where(pad, 0.0, m.t[rows])[:, :, None]
    y = t - x
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.cumsum(x, axis=1) / x.sum(axis=1, keepdims=True)
        cy = np.cumsum(y, axis=1) / y.sum(axis=1, keepdims=True)
    ahead = (cx[:, :-1] * cy[:, 1:]).sum(axis=1)
    behind = (cx[:, 1:] * cy[:, :-1]).sum(axis=1)
    out = ahead - behind
    few = (seq >= 0).sum(axis=1) < 2
    return np.asarray(np.where(few[:, None], np.nan, out))


def _neighbourhoods(geo: Geometry, k: int) -> np.ndarray:
    """Per row: unit i and its k nearest units (libpysal's ``KNN``: a k-d tree over the
    centroids, leaf size 10), ordered by distance from i's centroid as PySAL orders them
    (every unit of a partition of k units or fewer); local positions within the partition,
    −1 padding. Built once per distinct set of units."""
    key = f"neighbourhoods:{k}"
    if key not in geo._cache:
        from scipy.spatial import cKDTree

        sizes = np.diff(geo.g_offset)
        seq = np.full((geo.n_units, k + 1), -1, dtype=np.int64)
        cx, cy = geo.code_cx[geo.g_code], geo.code_cy[geo.g_code]
        for b in range(sizes.size):  # geometry, once per distinct set of units
            a, z = int(geo.g_offset[b]), int(geo.g_offset[b + 1])
            n = z - a
            kk = min(k, n - 1)
            if kk < 1:
                continue
            xs, ys = cx[a:z], cy[a:z]
            if kk == k:
                points = np.column_stack((xs, ys))
                _, idx = cKDTree(points, 10).query(points, k=k + 1, p=2)
                idx = np.asarray(idx).reshape(n, k + 1)
                not_self = idx != np.arange(n)[:, None]
                not_self[not_self.sum(axis=1) == k + 1, -1] = False
                neighbours = idx[not_self].reshape(n, k)
            for i in range(n):
                # PySAL: the k neighbours in the tree's order, then the unit; a partition of
                # k units or fewer: all of them in order (PySAL's RelativeCentralization)
                members = np.r_[neighbours[i], i] if kk == k else np.arange(n)
                dist = np.sqrt((xs[members] - xs[i]) ** 2 + (ys[members] - ys[i]) ** 2)
                seq[a + i, : kk + 1] = members[np.argsort(dist)]
        geo._cache[key] = seq
    result: np.ndarray = geo._cache[key][geo.gunit]
    return result


_MEASURES = [
    LocalMeasure(
        "multi_local_diversity", multi_local_diversity, False, False, "MultiLocalDiversity"
    ),
    LocalMeasure("multi_local_entropy", multi_local_entropy, False, False, "MultiLocalEntropy"),
    LocalMeasure(
        "multi_local_simpson_concentration",
        multi_local_simpson_concentration,
        False,
        False,
        "MultiLocalSimpsonConcentration",
    ),
    LocalMeasure(
        "multi_local_simpson_interaction",
        multi_local_simpson_interaction,
        False,
        False,
        "MultiLocalSimpsonInteraction",
    ),
    LocalMeasure(
        "multi_location_quotient", multi_location_quotient, True, False, "MultiLocationQuotient"
    ),
    LocalMeasure("local_distortion", local_distortion, False, True, "LocalDistortion"),
    LocalMeasure(
        "local_relative_centralization",
        local_relative_centralization,
        True,
        True,
        "LocalRelativeCentralization",
    ),
]

LOCAL_MEASURES: dict[str, LocalMeasure] = {spec.name: spec for spec in _MEASURES}
"""PySAL's local measures, by name, in the order results are reported."""


def _resolve(measures: Sequence[str] | str | None, spatial: bool) -> list[LocalMeasure]:
    if measures is None:
        return [s for s in LOCAL_MEASURES.values() if spatial or not s.spatial]
    names = [measures] if isinstance(measures, str) else list(measures)
    unknown = [n for n in names if n not in LOCAL_MEASURES]
    if unknown:
        raise InputError(
            f"unknown local measure {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(LOCAL_MEASURES)}"
        )
    lacking = [n for n in names if LOCAL_MEASURES[n].spatial and not spatial]
    if lacking:
        raise InputError(
            f"{', '.join(map(repr, lacking))} need unit boundaries: give geometry= and "
            "geometry_code= (on the command line --boundaries FILE --boundary-code COLUMN)"
        )
    return [s for name, s in LOCAL_MEASURES.items() if name in names]


def local_measures(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    measures: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
    drop_totals: bool = False,
    geometry: Any = None,
    geometry_code: str | None = None,
    metric: Any = "euclidean",
    k: int = 5,
    distance: float | None = None,
    kernel: str = "triangular",
    w: Any = None,
) -> pl.DataFrame:
    """PySAL's local measures for every unit of every partition: ``by…, unit, measure, group,
    value``.

    Args:
        counts, unit, groups, by, group_col, count_col, drop_totals: as for
            :func:`bryta.measure`.
        measures: names from :data:`LOCAL_MEASURES`; by default every measure the input
            allows (the spatial ones, ``local_distortion`` and
            ``local_relative_centralization``, only with ``geometry``).
        geometry, geometry_code: unit boundaries, as for :func:`bryta.measure`.
        metric: the centroid distance of ``local_distortion`` (a
            ``scipy.spatial.distance.pdist`` metric; PySAL's default ``euclidean``).
        k: the neighbours of ``local_relative_centralization`` (PySAL always uses 5; a
            partition with fewer than k + 1 units uses all its units).
        distance, kernel, w: the per-unit and per-group measures on egohoods, as
            :func:`bryta.measure` computes the aspatial indices on them (PySAL's
            ``distance=``, ``function=``, ``w=``; :mod:`bryta.compute.spatial.implicit`):
            each group's count replaced by its rounded kernel-weighted sum over the units
            within ``distance`` metres. Not with the spatial measures.

    Returns:
        One row per partition × unit × measure, and per group for ``multi_location_quotient``
        and ``local_relative_centralization`` (each group in turn focal against the rest);
        ``group`` is null for the per-unit measures.

    >>> from bryta.compute.segregation._examples import example_counts
    >>> out = local_measures(example_counts(), unit="unit", groups=["a", "b"],
    ...                      measures="multi_local_simpson_interaction")
    >>> out["value"].round(6).to_list()
    [0.375, 0.375, 0.5]
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise InputError(f"k must be a whole number of at least 1, got {k!r}")
    egohood = distance is not None or w is not None
    if egohood or kernel != "triangular":
        from bryta.compute.spatial.implicit import check_egohood

        check_egohood(distance, kernel, geometry, None, w)
    specs = _resolve(measures, spatial=geometry is not None or egohood)
    if egohood and measures is None:
        specs = [s for s in specs if not s.spatial]
    if egohood and any(s.spatial for s in specs):
        named = ", ".join(repr(s.name) for s in specs if s.spatial)
        raise InputError(
            f"{named} cannot be computed on egohoods (distance=, w=): only the aspatial "
            "local measures are; measure the spatial ones without it"
        )
    prepared = prepare_counts(
        counts,
        unit=unit,
        groups=groups,
        by=by,
        group_col=group_col,
        count_col=count_col,
        drop_totals=drop_totals,
    )
    if egohood:
        from bryta.compute.spatial.implicit import egohood_counts

        prepared = egohood_counts(
            prepared,
            geometry=geometry,
            geometry_code=geometry_code,
            distance=distance,
            kernel=kernel,
            w=w,
        )
    geo = None
    if any(s.spatial for s in specs):
        from bryta.compute.spatial.distortion import check_metric
        from bryta.compute.spatial.geometry import build_geometry

        check_metric(metric)
        geo = build_geometry(prepared, geometry, geometry_code)
    m = Margins(prepared.values, prepared.part)
    context = _Context(prepared, m, geo, metric, int(k))
    n_rows, n_groups = m.n.shape
    names = list(prepared.groups)
    frames = []
    for position, spec in enumerate(specs):
        values = np.asarray(spec.func(context), dtype=np.float64)
        repeat = n_groups if spec.per_group else 1
        frames.append(
            pl.DataFrame(
                {
                    "_row": np.repeat(np.arange(n_rows), repeat),
                    "_measure": np.full(n_rows * repeat, position),
                    "measure": [spec.name] * (n_rows * repeat),
                    "group": names * n_rows if spec.per_group else [None] * n_rows,
                    "value": values.ravel(),
                },
                schema={
                    "_row": pl.Int64,
                    "_measure": pl.Int64,
                    "measure": pl.String,
                    "group": pl.String,
                    "value": pl.Float64,
                },
            )
        )
    if not frames:
        raise InputError("give at least one local measure (measures=)")
    long = pl.concat(frames).sort(["_row", "_measure"], maintain_order=True)
    rows = long.get_column("_row").to_numpy()
    keys = take_rows(prepared.keys, prepared.part[rows])
    return pl.concat(
        [
            keys,
            pl.DataFrame(prepared.units[rows]),
            long.select("measure", "group", "value"),
        ],
        how="horizontal",
    )
