"""The spatial single-group indices of PySAL ``segregation`` 2.5, over all partitions at once.

Each index is named as PySAL's class in snake case, has PySAL's defaults and gives PySAL's
value (``tests/test_spatial_pysal.py`` checks them to 1e-10 relative). They need unit
boundaries: ``bryta.measure(…, geometry=…)``, ``bryta measure … --boundaries FILE``. Like the
aspatial two-group indices, each compares a focal group (xᵢ) with the rest of the listed
groups (yᵢ = tᵢ − xᵢ) and returns partitions × groups; the geometry of every partition comes
from :class:`~bryta.compute.spatial.geometry.Geometry`, built once per distinct set of units.

Notation, beyond the aspatial indices': aᵢ the unit's area (m²), Pᵢ its perimeter (m), A the
partition's area, n its number of units (empty ones included, as PySAL counts them), zᵢ = xᵢ/tᵢ
(0 for an empty unit), wᵢⱼ the length of the boundary units i and j share.

**PySAL's proximity matrix** (``spatial_proximity``, the clustering and distance-decay
indices): with dᵢⱼ the distance between the units' centroids and sⱼ = Σₖ dⱼₖ,

    cᵢⱼ = 1 − exp(−dᵢⱼ / sⱼ) (i ≠ j),    cᵢᵢ = 1 − exp(−(α aᵢ)^β),   α = 0.6, β = 0.5.

This is PySAL 2.5's ``generate_distance_matrix`` (distances divided by their column sums) and
its diagonal, not Massey & Denton's (1988) cᵢⱼ = exp(−dᵢⱼ); bryta follows PySAL so that
values can be compared. Where PySAL's formula differs from the published one the docstring
says so.

Units: metres, from boundaries in EPSG:3006 (SWEREF 99 TM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np

from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation.indices import IndexSpec, Params
from bryta.compute.spatial.distortion import global_distortion
from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.compute.spatial.geometry import Geometry

__all__ = ["CENTERS", "SPATIAL_REGISTRY", "SpatialParams"]

CENTERS = ("mean", "median", "population_weighted_mean", "largest_population")


@dataclass(frozen=True)
class SpatialParams:
    """The geometry and the PySAL parameters of the spatial indices.

    ``center`` (centralization): ``mean`` (default), ``median``, ``population_weighted_mean``,
    ``largest_population`` of the unit centroids of each partition, or a point (x, y) in
    EPSG:3006. ``alpha``, ``beta``: the proximity's diagonal (0.6, 0.5). ``standardize``: the
    boundary weights of the two boundary dissimilarities (True, PySAL's default for both
    classes). ``profile_steps``: the thresholds of the spatial proximity profile (PySAL's
    ``m``, 1000). ``metric``: the distance between centroids in ``global_distortion`` (any
    ``scipy.spatial.distance.pdist`` metric, PySAL's default ``euclidean``).
    """

    geometry: Geometry
    center: str | tuple[float, float] = "mean"
    alpha: float = 0.6
    beta: float = 0.5
    standardize: bool = True
    profile_steps: int = 1000
    metric: Any = "euclidean"

    def __post_init__(self) -> None:
        if isinstance(self.center, str):
            if self.center not in CENTERS:
                raise InputError(
                    f"center must be one of {', '.join(CENTERS)} or a point (x, y), "
                    f"not {self.center!r}"
                )
        elif len(tuple(self.center)) != 2:
            raise InputError(f"center must be a point (x, y), not {self.center!r}")
        if not (self.alpha >= 0 and self.beta >= 0):
            raise InputError(f"alpha and beta must be 0 or more, not {self.alpha}, {self.beta}")
        if int(self.profile_steps) < 2:
            raise InputError(f"profile_steps must be 2 or more, not {self.profile_steps}")
        from bryta.compute.spatial.distortion import check_metric

        check_metric(self.metric)


def _spatial(params: Params) -> SpatialParams:
    spatial: Any = params.spatial
    if not isinstance(spatial, SpatialParams):
        raise InputError("spatial indices need unit boundaries (geometry=, --boundaries)")
    return spatial


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(a / b, dtype=np.float64)


@nb.njit(cache=True)
def _segment_cumsum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Cumulative sums of the rows (rows × k) restarting at every segment start."""
    out = np.empty_like(values)
    n_seg = starts.size
    for s in range(n_seg):
        a = starts[s]
        b = starts[s + 1] if s + 1 < n_seg else values.shape[0]
        for c in range(values.shape[1]):
            acc = 0.0
            for r in range(a, b):
                acc += values[r, c]
                out[r, c] = acc
    return out


def _cumsum(m: Margins, v: np.ndarray) -> np.ndarray:
    two = v.reshape(v.shape[0], -1)
    out = _segment_cumsum(np.ascontiguousarray(two, dtype=np.float64), m.starts)
    return np.asarray(out.reshape(v.shape))


def _rank(m: Margins) -> np.ndarray:
    """Position of each row within its partition (rows sorted by partition)."""
    return np.arange(m.part.size) - m.starts[m.part]


def _units(m: Margins) -> np.ndarray:
    return m.segsum(np.ones(m.part.size))


def _dissimilarity(m: Margins) -> np.ndarray:
    return _div(m.abs_dev, 2 * m.T[:, None] * m.pi * (1 - m.pi))


# ---- evenness and concentration -------------------------------------------------------------


def delta(m: Margins, params: Params) -> np.ndarray:
    """Delta (Hoover): the share of the focal group that would move for an even density.

    Formula: DEL = ½ Σᵢ |xᵢ/X − aᵢ/A|
    Reference: Hoover, E. M. (1941). Interstate redistribution of population, 1850–1940.
    Journal of Economic History 1, 199–205; Massey & Denton (1988); PySAL ``Delta``.
    """
    area = _spatial(params).geometry.area
    share_x = _div(m.n, m.per_row(m.N))
    share_a = _div(area, m.per_row(m.segsum(area)))
    return 0.5 * m.segsum(np.abs(share_x - share_a[:, None]))


def _concentration(m: Margins, geo: Geometry) -> tuple[np.ndarray, ...]:
    """Σ xa/X, Σ ya/Y, and the terms of the smallest (n₁) and largest (n₂) units by area
    holding as many people as the focal group: Σ ta / T₁ over each (PySAL's n₁ and n₂)."""
    area = geo.area
    asc = np.lexsort((area, m.part))
    desc = np.lexsort((-area, m.part))
    rank = _rank(m)
    t_asc = m.t[asc]
    ratio = m.per_row(_div(m.N, m.T[:, None]))  # X / T per row and group
    total = m.per_row(m.T)[:, None]
    below = _div(_cumsum(m, t_asc)[:, None], total) < ratio
    n1 = m.segsum(below.astype(np.float64)) + 1
    below_desc = _div(_cumsum(m, m.t[desc])[:, None], total) < ratio
    n2 = _units(m)[:, None] - (m.segsum(below_desc.astype(np.float64)) + 1)
    first = rank[:, None] < m.per_row(n1)
    last = rank[:, None] >= m.per_row(n2)
    ta = (t_asc * area[asc])[:, None]
    t1 = m.segsum(t_asc[:, None] * first)
    t2 = m.segsum(t_asc[:, None] * last)
    small = _div(m.segsum(ta * first), t1)
    large = _div(m.segsum(ta * last), t2)
    xa = _div(m.segsum(m.n * area[:, None]), m.N)
    ya = _div(m.segsum(m.other * area[:, None]), m.other_totals)
    return xa, ya, small, large


def absolute_concentration(m: Margins, params: Params) -> np.ndarray:
    """Absolute concentration: how little space the focal group occupies (Massey & Denton).

    Formula: ACO = 1 − (Σᵢ xᵢaᵢ/X − Σᵢ≤n₁ tᵢaᵢ/T₁) / (Σᵢ>n₂ tᵢaᵢ/T₂ − Σᵢ≤n₁ tᵢaᵢ/T₁), units
    ranked by area, n₁ the smallest units whose people reach X (T₁ their people), the units
    after n₂ the largest (T₂)
    Reference: Massey, D. S. & Denton, N. A. (1988). The dimensions of residential
    segregation. Social Forces 67(2), 281–315; PySAL ``AbsoluteConcentration``.
    """
    xa, _, small, large = _concentration(m, _spatial(params).geometry)
    return 1 - _div(xa - small, large - small)


def relative_concentration(m: Margins, params: Params) -> np.ndarray:
    """Relative concentration: the focal group's space against the others' (−1 to 1).

    Formula: RCO = ((Σᵢ xᵢaᵢ/X) / (Σᵢ yᵢaᵢ/Y) − 1) / ((Σᵢ≤n₁ tᵢaᵢ/T₁) / (Σᵢ>n₂ tᵢaᵢ/T₂) − 1)
    Reference: Massey & Denton (1988); PySAL ``RelativeConcentration``.
    """
    xa, ya, small, large = _concentration(m, _spatial(params).geometry)
    return _div(_div(xa, ya) - 1, _div(small, large) - 1)


# ---- centralization -------------------------------------------------------------------------


def _centre(m: Margins, spatial: SpatialParams) -> tuple[np.ndarray, np.ndarray]:
    geo = spatial.geometry
    cx, cy = geo.cx, geo.cy
    center = spatial.center
    if not isinstance(center, str):
        x0, y0 = (float(c) for c in center)
        return np.full(m.n_partitions, x0), np.full(m.n_partitions, y0)
    if center == "mean":
        n = _units(m)
        return m.segsum(cx) / n, m.segsum(cy) / n
    if center == "population_weighted_mean":
        return _div(m.segsum(m.t * cx), m.T), _div(m.segsum(m.t * cy), m.T)
    if center == "largest_population":
        top = m.t == m.per_row(np.maximum.reduceat(m.t, m.starts))
        k = m.segsum(top.astype(np.float64))
        return m.segsum(cx * top) / k, m.segsum(cy * top) / k
    # median of the centroids' x and of their y, as numpy's median (mean of the middle two)
    n = _units(m).astype(np.int64)
    out = []
    for v in (cx, cy):
        s = v[np.lexsort((v, m.part))]
        out.append((s[m.starts + (n - 1) // 2] + s[m.starts + n // 2]) / 2)
    return out[0], out[1]


def _centralization(m: Margins, params: Params, against_area: bool) -> np.ndarray:
    spatial = _spatial(params)
    x0, y0 = _centre(m, spatial)
    geo = spatial.geometry
    dist = np.sqrt((geo.cx - m.per_row(x0)) ** 2 + (geo.cy - m.per_row(y0)) ** 2)
    order = np.lexsort((dist, m.part))
    xi = _div(_cumsum(m, m.n[order]), m.per_row(m.N))
    if against_area:
        yi = _div(_cumsum(m, geo.area[order]), m.per_row(m.segsum(geo.area)))[:, None]
    else:
        yi = _div(_cumsum(m, m.other[order]), m.per_row(m.other_totals))
    yi = np.broadcast_to(yi, xi.shape)
    x_prev, y_prev = np.roll(xi, 1, axis=0), np.roll(yi, 1, axis=0)
    x_prev[m.starts] = 0.0
    y_prev[m.starts] = 0.0
    return m.segsum(x_prev * yi - xi * y_prev)


def absolute_centralization(m: Margins, params: Params) -> np.ndarray:
    """Absolute centralization: the focal group near the centre against the area (−1 to 1).

    Formula: ACE = Σᵢ Xᵢ₋₁Aᵢ − Σᵢ XᵢAᵢ₋₁, units ordered by the distance of their centroid from
    the centre, Xᵢ and Aᵢ the cumulative shares of the focal group and of the area; the
    centre is the mean of the centroids unless ``center`` says otherwise
    Reference: Massey & Denton (1988); PySAL ``AbsoluteCentralization``.
    """
    return _centralization(m, params, against_area=True)


def relative_centralization(m: Margins, params: Params) -> np.ndarray:
    """Relative centralization: the focal group nearer the centre than the others (−1 to 1).

    Formula: RCE = Σᵢ Xᵢ₋₁Yᵢ − Σᵢ XᵢYᵢ₋₁, units ordered by the distance of their centroid from
    the centre, Xᵢ and Yᵢ the cumulative shares of the focal group and of the others
    Reference: Massey & Denton (1988); PySAL ``RelativeCentralization``.
    """
    return _centralization(m, params, against_area=False)


# ---- boundary dissimilarities ---------------------------------------------------------------


def _boundary_pairs(m: Margins, geo: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return geo.pairs(geo.shared)


def boundary_spatial_dissimilarity(m: Margins, params: Params) -> np.ndarray:
    """Boundary spatial dissimilarity: D less share differences across shared boundaries.

    Formula: BSD = D − Σᵢⱼ cᵢⱼ |zᵢ − zⱼ| / Σᵢⱼ cᵢⱼ, cᵢⱼ = wᵢⱼ / Σₖ wᵢₖ (``standardize``, the
    default) or wᵢⱼ; a unit that shares no boundary adds nothing (PySAL gives NaN)
    Reference: Wong, D. W. S. (1993). Spatial indices of segregation. Urban Studies 30(3),
    559–572; PySAL ``BoundarySpatialDissim``.
    """
    spatial = _spatial(params)
    i, j, w = _boundary_pairs(m, spatial.geometry)
    rows = m.part.size
    if spatial.standardize:
        total = np.bincount(i, weights=w, minlength=rows)
        w = w / total[i]
        den = m.segsum((total > 0).astype(np.float64))[:, None]
    else:
        den = m.segsum(np.bincount(i, weights=w, minlength=rows))[:, None]
    diff = np.abs(m.p[i] - m.p[j]) * w[:, None]
    num = _pair_sum(m, i, diff)
    return _dissimilarity(m) - _div(num, den)


def _pair_sum(m: Margins, i: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-partition sums of per-pair values (pairs × k), the pair's first row deciding."""
    part = m.part[i]
    out = np.zeros((m.n_partitions, values.shape[1]))
    for c in range(values.shape[1]):  # over the groups
        out[:, c] = np.bincount(part, weights=values[:, c], minlength=m.n_partitions)
    return out


def perimeter_area_ratio_spatial_dissimilarity(m: Margins, params: Params) -> np.ndarray:
    """Perimeter/area ratio spatial dissimilarity: the boundary one, weighted by compactness.

    Formula: PARD = D − Σᵢⱼ cᵢⱼ |zᵢ − zⱼ| (Pᵢ/aᵢ + Pⱼ/aⱼ) / (2 maxᵢ Pᵢ/aᵢ), cᵢⱼ = wᵢⱼ / Σₖₗ wₖₗ
    (``standardize``, the default) or wᵢⱼ
    Reference: Wong (1993); PySAL ``PARDissim``.
    """
    spatial = _spatial(params)
    geo = spatial.geometry
    i, j, w = _boundary_pairs(m, geo)
    if spatial.standardize:
        w = w / m.per_row(_pair_sum(m, i, w[:, None])[:, 0])[i]
    ratio = geo.perimeter / geo.area
    weight = w * (ratio[i] + ratio[j])
    num = _pair_sum(m, i, np.abs(m.p[i] - m.p[j]) * weight[:, None])
    top = np.maximum.reduceat(ratio, m.starts)[:, None]
    return _dissimilarity(m) - _div(num, 2 * top)


# ---- proximity, clustering, distance decay --------------------------------------------------


class _Proximity:
    """c v for per-row vectors of all partitions, with PySAL's proximity c."""

    def __init__(self, m: Margins, spatial: SpatialParams):
        geo = spatial.geometry
        self.geo = geo
        self.off, diag_g = geo.proximity(spatial.alpha, spatial.beta)
        self.diag = diag_g[geo.gunit]
        self.m = m

    def __call__(self, v: np.ndarray) -> np.ndarray:
        return self.geo.apply(self.off, v) + self.diag[:, None] * v

    def total(self) -> np.ndarray:
        """Σᵢⱼ cᵢⱼ per partition."""
        rows = np.asarray(self.off.sum(axis=1)).ravel()[self.geo.gunit]
        return self.m.segsum(rows + self.diag)

    def column_sums(self) -> np.ndarray:
        """Σᵢ cᵢⱼ per row j."""
        return np.asarray(self.off.sum(axis=0)).ravel()[self.geo.gunit] + self.diag


def spatial_proximity(m: Margins, params: Params) -> np.ndarray:
    """Spatial proximity SP: proximity within groups against proximity of everyone.

    Formula: SP = (X Pxx + Y Pyy) / (T Ptt), Pxx = Σᵢⱼ xᵢxⱼcᵢⱼ / X² (Pyy, Ptt alike), c PySAL's
    proximity (module docstring)
    Reference: White, M. J. (1986). Segregation and diversity measures in population
    distribution. Population Index 52(2), 198–221; Massey & Denton (1988); PySAL
    ``SpatialProximity``.
    """
    c = _Proximity(m, _spatial(params))
    cx = c(m.n)
    ct = c(m.t[:, None])
    pxx = _div(m.segsum(m.n * cx), m.N**2)
    pyy = _div(m.segsum(m.other * (ct - cx)), m.other_totals**2)
    ptt = _div(m.segsum(m.t[:, None] * ct), m.T[:, None] ** 2)
    return _div(m.N * pxx + m.other_totals * pyy, m.T[:, None] * ptt)


def absolute_clustering(m: Margins, params: Params) -> np.ndarray:
    """Absolute clustering: the focal group's proximity to itself against to everyone.

    Formula: ACL = (Σᵢ (xᵢ/X) Σⱼ cᵢⱼxⱼ − (X/n²) Σᵢⱼ cᵢⱼ) / (Σᵢ (xᵢ/X) Σⱼ cᵢⱼtⱼ − (X/n²) Σᵢⱼ cᵢⱼ),
    c PySAL's proximity
    Reference: Massey & Denton (1988); PySAL ``AbsoluteClustering``.
    """
    c = _Proximity(m, _spatial(params))
    share = _div(m.n, m.per_row(m.N))
    base = (m.N / (_units(m) ** 2)[:, None]) * c.total()[:, None]
    num = m.segsum(share * c(m.n)) - base
    den = m.segsum(share * c(m.t[:, None])) - base
    return _div(num, den)


def relative_clustering(m: Margins, params: Params) -> np.ndarray:
    """Relative clustering: the focal group's proximity to itself against the others'.

    Formula: RCL = Pxx / Pyy − 1 with PySAL 2.5's Pxx = Σᵢⱼ cᵢⱼ xⱼ² / X² (Pyy alike): PySAL
    multiplies the proximity by xⱼ² where Massey & Denton have xᵢxⱼ; bryta follows PySAL
    Reference: Massey & Denton (1988); PySAL ``RelativeClustering``.
    """
    c = _Proximity(m, _spatial(params))
    col = c.column_sums()[:, None]
    pxx = _div(m.segsum(m.n**2 * col), m.N**2)
    pyy = _div(m.segsum(m.other**2 * col), m.other_totals**2)
    return _div(pxx, pyy) - 1


def _decay(m: Margins, params: Params, other: bool) -> np.ndarray:
    c = _Proximity(m, _spatial(params))
    r = c(m.t[:, None])  # rⱼ = Σₖ cⱼₖ tₖ
    v = m.other if other else m.n
    q = np.divide(v, r, out=np.zeros_like(v), where=r > 0)
    return m.segsum(_div(m.n, m.per_row(m.N)) * c(q))


def distance_decay_isolation(m: Margins, params: Params) -> np.ndarray:
    """Distance-decay isolation: contact of the focal group with itself, decaying with distance.

    Formula: DDxPx = Σᵢ (xᵢ/X) Σⱼ cᵢⱼ xⱼ / rⱼ, rⱼ = Σₖ cⱼₖ tₖ, c PySAL's proximity (PySAL 2.5
    divides by rⱼ, the sum of the neighbour's row, where Morgan has rᵢ)
    Reference: Morgan, B. S. (1983). An alternate approach to the development of a distance-based
    measure of racial segregation. American Journal of Sociology 88(6), 1237–1249; PySAL
    ``DistanceDecayIsolation``.
    """
    return _decay(m, params, other=False)


def distance_decay_exposure(m: Margins, params: Params) -> np.ndarray:
    """Distance-decay exposure: contact of the focal group with the others, decaying with distance.

    Formula: DDxPy = Σᵢ (xᵢ/X) Σⱼ cᵢⱼ yⱼ / rⱼ, rⱼ = Σₖ cⱼₖ tₖ, c PySAL's proximity
    Reference: Morgan (1983); PySAL ``DistanceDecayExposure``.
    """
    return _decay(m, params, other=True)


# ---- spatial proximity profile --------------------------------------------------------------


@nb.njit(cache=True)
def _profile(shares, starts, local, block, hops, hstart, sizes, grid, ratio):  # pragma: no cover
    n_parts, n_groups = ratio.shape
    rows = shares.shape[0]
    steps = grid.size
    out = np.full((n_parts, n_groups), np.nan)
    for p in range(n_parts):
        a = starts[p]
        z = starts[p + 1] if p + 1 < n_parts else rows
        b = block[p]
        size = sizes[b]
        h0 = hstart[b]
        for g in range(n_groups):
            share = shares[a:z, g]
            valid = np.flatnonzero(~np.isnan(share))
            order = valid[np.argsort(-share[valid], kind="mergesort")]
            k = order.size
            den = np.zeros(k + 1)
            for q in range(k):
                u = local[a + order[q]]
                acc = 0.0
                for r in range(q):
                    acc += hops[h0 + u * size + local[a + order[r]]]
                den[q + 1] = den[q] + 2 * acc
            low = 0.0
            high = 0.0
            inside = k
            for s in range(steps):
                t = grid[s]
                while inside > 0 and share[order[inside - 1]] < t:
                    inside -= 1
                eta = 0.0
                if inside >= 2 and np.isfinite(den[inside]) and den[inside] > 0:
                    eta = (inside * inside - inside) / den[inside]
                if t < ratio[p, g]:
                    low += eta
                else:
                    high += eta
            P = ratio[p, g]
            out[p, g] = (P - (low / steps - high / steps)) / (1 - P)
    return out


def spatial_proximity_profile(m: Margins, params: Params) -> np.ndarray:
    """Spatial proximity profile: contiguity of the units above each focal-share threshold.

    Formula: SPP = (P − (Σ_{t<P} η(t) − Σ_{t≥P} η(t)) / m) / (1 − P), η(t) = (k² − k) /
    Σᵢⱼ δᵢⱼ over the k units with zᵢ ≥ t, δ the queen path length, t over m = 1000 steps of
    [0, 1]
    Reference: Hong, S.-Y. & Sadahiro, Y. (2014). Measuring geographic segregation: a
    graph-based approach. Journal of Geographical Systems 16(2), 211–231; PySAL
    ``SpatialProxProf``.
    """
    spatial = _spatial(params)
    geo = spatial.geometry
    hops, hstart = geo.hops()
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = m.n / m.t[:, None]
    local = geo.gunit - geo.g_offset[geo.block[m.part]]
    grid = np.linspace(0, 1, int(spatial.profile_steps))
    ratio = np.ascontiguousarray(_div(m.N, m.T[:, None]))
    return np.asarray(
        _profile(
            np.ascontiguousarray(shares),
            m.starts,
            local.astype(np.int64),
            geo.block,
            hops,
            hstart.astype(np.int64),
            np.diff(geo.g_offset),
            grid,
            ratio,
        )
    )


def _spec(name: str, func: Any, lower: float = 0.0, upper: float | None = 1.0) -> IndexSpec:
    return IndexSpec(name, "two_group", func, lower=lower, upper=upper, spatial=True)


_ORDER: Sequence[IndexSpec] = [
    _spec("absolute_concentration", absolute_concentration, lower=-np.inf, upper=None),
    _spec("relative_concentration", relative_concentration, lower=-1.0),
    _spec("delta", delta),
    _spec("absolute_centralization", absolute_centralization, lower=-1.0),
    _spec("relative_centralization", relative_centralization, lower=-1.0),
    _spec("boundary_spatial_dissimilarity", boundary_spatial_dissimilarity, lower=-np.inf),
    _spec(
        "perimeter_area_ratio_spatial_dissimilarity",
        perimeter_area_ratio_spatial_dissimilarity,
        lower=-np.inf,
    ),
    _spec("spatial_proximity", spatial_proximity, upper=None),
    _spec("absolute_clustering", absolute_clustering, lower=-np.inf, upper=None),
    _spec("relative_clustering", relative_clustering, lower=-1.0, upper=None),
    _spec("distance_decay_isolation", distance_decay_isolation),
    _spec("distance_decay_exposure", distance_decay_exposure),
    _spec("spatial_proximity_profile", spatial_proximity_profile, lower=-np.inf, upper=None),
]

# ---- multigroup: distortion (bryta.compute.spatial.distortion) -------------------------------

_ORDER = [
    *_ORDER,
    IndexSpec("global_distortion", "multigroup", global_distortion, upper=None, spatial=True),
]

SPATIAL_REGISTRY: dict[str, IndexSpec] = {spec.name: spec for spec in _ORDER}
"""The spatial indices, by name, in the order results are reported (after the aspatial)."""
