"""Distortion coefficients (Olteanu et al.): KL divergence along each unit's distance profile.

For a unit i, order the units of its partition by the distance of their centroid from i's
centroid (i first), and grow a neighbourhood one unit at a time. The neighbourhood's group
shares q⁽ʲ⁾ after j units diverge from the partition's shares π by

    KL(q⁽ʲ⁾ ‖ π) = Σ_g q⁽ʲ⁾_g ln(q⁽ʲ⁾_g / π_g),

which reaches 0 when the neighbourhood is the whole partition. The **local distortion** of
unit i sums the divergences over the n steps, Dᵢ = Σⱼ KL(q⁽ʲ⁾ ‖ π) (a step whose
neighbourhood holds no one adds nothing), and the **global distortion** is its
population-weighted mean, Σᵢ tᵢ Dᵢ / T.

This is PySAL ``segregation`` 2.5's ``compute_divergence_profiles`` summed per observation
(``LocalDistortion``, ``GlobalDistortion``). The distance order depends only on the geometry,
so it is computed once per distinct set of units (a kommun in every year) with
``scipy.spatial.distance.pdist`` and ``numpy.argsort`` as PySAL does, which also gives PySAL's
order among units at equal distances; one compiled pass then walks every partition.

Reference: Olteanu, M., Randon-Furling, J. & Clark, W. A. V. (2019). Segregation through the
multiscalar lens. PNAS 116(25), 12250–12254; de Bézenac, C., Clark, W. A. V., Olteanu, M. &
Randon-Furling, J. (2022). Measuring and visualizing patterns of ethnic concentration: the role
of distortion coefficients. Geographical Analysis 54(1), 173–196.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np

from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation.indices import Params
from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.compute.spatial.geometry import Geometry

__all__ = ["check_metric", "distance_order", "global_distortion", "local_distortion_values"]


def check_metric(metric: Any) -> None:
    """Refuse a distance metric ``scipy.spatial.distance.pdist`` does not know."""
    from scipy.spatial.distance import _METRICS_NAMES

    if callable(metric):
        return
    if not isinstance(metric, str) or metric not in _METRICS_NAMES:
        raise InputError(
            f"metric must be a distance scipy.spatial.distance.pdist knows "
            f"({', '.join(sorted(_METRICS_NAMES))}), not {metric!r}"
        )


def distance_order(geo: Geometry, metric: Any = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """For every geometry unit, the units of its block in order of centroid distance from it
    (local positions, the unit itself first unless another shares its centroid), flattened
    block by block (row-major, sizeᵦ² entries each); and each block's first entry."""
    key = f"distance_order:{metric!r}"
    cache = geo._cache
    if key not in cache:
        from scipy.spatial.distance import pdist, squareform

        sizes = np.diff(geo.g_offset)
        start = np.r_[0, np.cumsum(sizes * sizes)].astype(np.int64)
        flat = np.empty(int(start[-1]), dtype=np.int64)
        cx, cy = geo.code_cx[geo.g_code], geo.code_cy[geo.g_code]
        for b in range(sizes.size):  # geometry, once per distinct set of units
            a, z = geo.g_offset[b], geo.g_offset[b + 1]
            coords = np.column_stack((cx[a:z], cy[a:z]))
            dist = squareform(pdist(coords, metric=metric))
            order = np.empty(dist.shape, dtype=np.int64)
            for i, row in enumerate(dist):  # numpy's argsort of each row, as PySAL sorts it
                order[i] = np.argsort(row)
            flat[start[b] : start[b + 1]] = order.ravel()
        cache[key] = (flat, start)
    result: tuple[np.ndarray, np.ndarray] = cache[key]
    return result


@nb.njit(cache=True)
def _distortion(values, starts, block, order, ostart, sizes, totals, grand):  # pragma: no cover
    rows, n_groups = values.shape
    n_parts = starts.size
    out = np.zeros(rows)
    acc = np.empty(n_groups)
    r = np.empty(n_groups)
    for p in range(n_parts):
        a = starts[p]
        z = starts[p + 1] if p + 1 < n_parts else rows
        b = block[p]
        size = sizes[b]
        o0 = ostart[b]
        for g in range(n_groups):
            r[g] = totals[p, g] / grand[p]
        for u in range(z - a):
            acc[:] = 0.0
            total = 0.0
            for j in range(size):
                v = order[o0 + u * size + j]
                pop = 0.0
                for g in range(n_groups):
                    acc[g] += values[a + v, g]
                    pop += acc[g]
                if not pop > 0:
                    continue  # no one yet: PySAL's 0/0 divergence is left out of its sum
                kl = 0.0
                for g in range(n_groups):
                    q = acc[g] / pop
                    if q > 0:
                        kl += q * np.log(q / r[g])
                total += kl
            out[a + u] = total
    return out


def local_distortion_values(m: Margins, geo: Geometry, metric: Any = "euclidean") -> np.ndarray:
    """The local distortion coefficient Dᵢ of every row (module docstring); NaN in a partition
    with no people."""
    order, ostart = distance_order(geo, metric)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = _distortion(
            np.ascontiguousarray(m.n, dtype=np.float64),
            m.starts.astype(np.int64),
            geo.block.astype(np.int64),
            order,
            ostart,
            np.diff(geo.g_offset).astype(np.int64),
            np.ascontiguousarray(m.N, dtype=np.float64),
            np.asarray(m.T, dtype=np.float64),
        )
    return np.where(m.per_row(m.T) > 0, out, np.nan)


def global_distortion(m: Margins, params: Params) -> np.ndarray:
    """Global distortion: how far people's surroundings, grown outward, are from the whole.

    Formula: GD = Σᵢ tᵢ Dᵢ / T, Dᵢ = Σⱼ₌₁ⁿ KL(q⁽ʲ⁾ᵢ ‖ π) = Σⱼ Σ_g q⁽ʲ⁾ᵢg ln(q⁽ʲ⁾ᵢg / π_g), q⁽ʲ⁾ᵢ
    the group shares of the j units nearest to unit i (by centroid distance, ``metric``,
    euclidean by default; steps holding no one add nothing)
    Reference: Olteanu, M., Randon-Furling, J. & Clark, W. A. V. (2019). Segregation through
    the multiscalar lens. PNAS 116(25), 12250–12254; de Bézenac et al. (2022), Geographical
    Analysis 54(1), 173–196; PySAL ``GlobalDistortion``.
    """
    from bryta.compute.spatial.indices import _spatial

    spatial = _spatial(params)
    local = local_distortion_values(m, spatial.geometry, spatial.metric)
    with np.errstate(invalid="ignore", divide="ignore"):
        return m.segsum(m.t * local) / m.T
