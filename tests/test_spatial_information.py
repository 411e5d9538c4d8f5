"""The spatial information theory index: against a brute-force computation, its limits (the
aspatial Theil H at a vanishing bandwidth, 0 when every environment is the whole region),
partitions and errors."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bryta.compute.segregation.engine import measure
from bryta.compute.spatial.information import KERNELS, spatial_information
from bryta.errors import BrytaError


def random_cells(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 5_000, n), rng.uniform(0, 5_000, n)
    east = x > 2_500
    a = rng.poisson(np.where(east, 30, 5))
    b = rng.poisson(np.where(east, 5, 25))
    c = rng.poisson(8, n)
    return pl.DataFrame(
        {"x": x, "y": y, "a": a, "b": b, "c": c, "kommun": np.where(y > 2_500, "0114", "0115")}
    )


def brute_force(cells: pl.DataFrame, h: float, kernel: str) -> float:
    """H̃ from the full distance matrix, written out from Reardon & O'Sullivan (2004)."""
    pts = cells.select("x", "y").to_numpy()
    n = cells.select("a", "b", "c").to_numpy().astype(float)
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2))
    support, phi = KERNELS[kernel]
    w = np.where(d <= support * h, phi(d / h), 0.0)
    env = w @ n
    p = env / env.sum(axis=1, keepdims=True)
    local = -(np.where(p > 0, p * np.log(p), 0.0)).sum(axis=1)
    share = n.sum(axis=0) / n.sum()
    entropy = -(share * np.log(share)).sum()
    return 1.0 - (n.sum(axis=1) * local).sum() / (n.sum() * entropy)


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_matches_a_brute_force_computation(kernel):
    cells = random_cells(250, seed=2)
    got = spatial_information(
        cells, x="x", y="y", groups=["a", "b", "c"], bandwidth=[300.0, 800.0], kernel=kernel
    )
    for h, value in got.iter_rows():
        assert value == pytest.approx(brute_force(cells, h, kernel), rel=1e-12), (kernel, h)


def test_partitions_are_separate_regions():
    cells = random_cells(300, seed=4)
    together = spatial_information(
        cells, x="x", y="y", groups=["a", "b", "c"], bandwidth=600.0, by="kommun"
    )
    for kommun, value in together.select("kommun", "value").iter_rows():
        alone = cells.filter(kommun=kommun)
        assert value == pytest.approx(brute_force(alone, 600.0, "biweight"), rel=1e-12)


def test_limits():
    cells = random_cells(200, seed=6)
    # a bandwidth far below the spacing of the cells: every environment is its own cell, and
    # H̃ is the aspatial Theil index over cells
    tiny = spatial_information(cells, x="x", y="y", groups=["a", "b", "c"], bandwidth=1e-3)
    theil = measure(
        cells.with_row_index("cell"), unit="cell", groups=["a", "b", "c"], indices="theil_h"
    )
    assert tiny["value"][0] == pytest.approx(theil["value"][0], rel=1e-12)
    # a uniform kernel wider than the region: every environment is the region, H̃ = 0
    wide = spatial_information(
        cells, x="x", y="y", groups=["a", "b", "c"], bandwidth=1e5, kernel="uniform"
    )
    assert wide["value"][0] == pytest.approx(0.0, abs=1e-12)


def test_errors():
    cells = random_cells(10, seed=1)
    with pytest.raises(BrytaError, match="kernel must be one of"):
        spatial_information(cells, x="x", y="y", groups=["a", "b"], bandwidth=1, kernel="box")
    with pytest.raises(BrytaError, match="bandwidth must be positive"):
        spatial_information(cells, x="x", y="y", groups=["a", "b"], bandwidth=0)
    with pytest.raises(BrytaError, match="'z' not found"):
        spatial_information(cells, x="x", y="y", groups=["a", "z"], bandwidth=1)
