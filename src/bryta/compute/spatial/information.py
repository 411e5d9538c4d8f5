"""The spatial information theory index H̃ (Reardon & O'Sullivan 2004) with distance kernels.

Each populated cell p has a *local environment*: the population around it, every person
weighted by a kernel φ of their distance from p,

    τ̃_pm = Σ_q φ(d_pq) τ_qm,      π̃_pm = τ̃_pm / Σ_m τ̃_pm,

and the environment's entropy Ẽ_p = −Σ_m π̃_pm ln π̃_pm. With E the entropy of the region's
group shares and T its population,

    H̃ = 1 − Σ_p τ_p Ẽ_p / (T E):

0 when every environment is as diverse as the region, 1 when every environment holds one
group. The bandwidth h sets the scale; computed over several bandwidths H̃ gives a
segregation profile.

Kernels (d the distance, h the bandwidth; all are 1 at d = 0):

========================== ================================ =============================
``kernel``                 φ(d)                             support
========================== ================================ =============================
``biweight`` (default)     (1 − (d/h)²)²                    d < h (Reardon & O'Sullivan)
``uniform``                1                                d ≤ h
``gaussian``               exp(−½ (d/h)²)                   cut at d ≤ 4h (φ < 3.4e-4)
``exponential``            exp(−d/h)                        cut at d ≤ 8h (φ < 3.4e-4)
========================== ================================ =============================

Partitions (``by``, e.g. kommun) are separate regions: environments include only people of
the same partition, and each partition gets its own H̃, all from one neighbour search.

PySAL's ``SpatialInformationTheory`` differs by construction: it rounds the kernel-weighted
environments to whole people and computes the aspatial Theil index with the environments as
units (weights τ̃_p instead of τ_p), so its values are not comparable to these.

Reference: Reardon, S. F. & O'Sullivan, D. (2004). Measures of spatial segregation.
Sociological Methodology 34, 121–162.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.spatial import cKDTree

from bryta.compute.segregation.counts import to_polars
from bryta.errors import InputError

__all__ = ["KERNELS", "spatial_information"]

Kernel = Literal["biweight", "uniform", "gaussian", "exponential"]
#: kernel name -> (support in bandwidths, weight function of d/h)
KERNELS: dict[str, tuple[float, Any]] = {
    "biweight": (1.0, lambda u: np.where(u < 1.0, (1.0 - u * u) ** 2, 0.0)),
    "uniform": (1.0, lambda u: np.where(u <= 1.0, 1.0, 0.0)),
    "gaussian": (4.0, lambda u: np.exp(-0.5 * u * u)),
    "exponential": (8.0, lambda u: np.exp(-u)),
}


def spatial_information(
    frame: Any,
    *,
    x: str,
    y: str,
    groups: Sequence[str],
    bandwidth: float | Sequence[float],
    kernel: Kernel = "biweight",
    by: Sequence[str] | str | None = None,
) -> pl.DataFrame:
    """H̃ for every partition and bandwidth: ``by…, bandwidth, value``.

    Worked value: two cells 1 km apart, (a, b) = (10, 0) and (0, 10). With a bandwidth
    under 1 km each environment is its own cell (one group): H̃ = 1. With a uniform kernel
    of 1 km both environments are (10, 10), as diverse as the region: H̃ = 0.

    >>> cells = pl.DataFrame({"x": [0.0, 1000.0], "y": 0.0, "a": [10, 0], "b": [0, 10]})
    >>> spatial_information(cells, x="x", y="y", groups=["a", "b"], bandwidth=[500, 1000],
    ...                     kernel="uniform")["value"].to_list()
    [1.0, 0.0]
    """
    if kernel not in KERNELS:
        raise InputError(f"kernel must be one of {', '.join(KERNELS)}, not {kernel!r}")
    keys = [by] if isinstance(by, str) else list(by or [])
    data = to_polars(frame)
    missing = [c for c in (x, y, *groups, *keys) if c not in data.columns]
    if missing:
        raise InputError(f"column {', '.join(map(repr, missing))} not found")
    widths = np.unique(np.atleast_1d(np.asarray(bandwidth, dtype=np.float64)))
    if widths.size == 0 or not (np.isfinite(widths) & (widths > 0)).all():
        raise InputError(f"bandwidth must be positive distances, not {bandwidth!r}")
    counts = data.select(pl.col(g).cast(pl.Float64) for g in groups).to_numpy()
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise InputError("group counts must be finite and not negative")
    pts = data.select(pl.col(x).cast(pl.Float64), pl.col(y).cast(pl.Float64)).to_numpy()
    if keys:
        part_keys = data.select(keys)
        partitions = part_keys.unique(maintain_order=False).sort(keys)
        part = (
            part_keys.with_row_index("_r")
            .join(partitions.with_row_index("_p"), on=keys, how="left")
            .sort("_r")
            .get_column("_p")
            .to_numpy()
        )
    else:
        part = np.zeros(len(pts), dtype=np.int64)
        partitions = pl.DataFrame()
    n_part = int(part.max()) + 1 if part.size else 0

    support, weight = KERNELS[kernel]
    tree = cKDTree(pts)
    pairs = tree.query_pairs(support * widths.max(), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    same = part[i] == part[j]
    i, j = i[same], j[same]
    dist = np.hypot(*(pts[i] - pts[j]).T)

    tau = counts.sum(axis=1)
    group_totals = np.zeros((n_part, counts.shape[1]))
    np.add.at(group_totals, part, counts)
    totals = group_totals.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = group_totals / totals[:, None]
        region_entropy = -np.where(shares > 0, shares * np.log(shares), 0.0).sum(axis=1)

    values = np.empty((n_part, widths.size))
    for b, h in enumerate(widths):  # a handful of bandwidths; cells and partitions vectorised
        w = np.where(dist <= support * h, weight(dist / h), 0.0)
        env = counts.copy()  # φ(0) = 1: the cell's own people
        np.add.at(env, i, w[:, None] * counts[j])
        np.add.at(env, j, w[:, None] * counts[i])
        env_total = env.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = env / env_total[:, None]
            local = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
        weighted = np.bincount(
            part, weights=tau * np.where(env_total > 0, local, 0.0), minlength=n_part
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            values[:, b] = np.where(
                (totals > 0) & (region_entropy > 0),
                1.0 - weighted / (totals * region_entropy),
                np.nan,
            )
    rows = {"bandwidth": np.tile(widths, n_part), "value": values.ravel()}
    out = pl.DataFrame(rows)
    if keys:
        out = partitions.select(pl.all().repeat_by(widths.size).explode()).hstack(out)
    return out
