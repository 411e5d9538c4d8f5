"""Tiled (Dask) k-nearest-neighbour contexts give exactly the single-process output."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from bryta.compute.spatial.neighbourhoods import knn_contexts
from bryta.compute.spatial.tiles import tiled_knn_contexts
from bryta.errors import BrytaError


def synthetic_grid(n_cells: int, seed: int, step: float = 250.0) -> pl.DataFrame:
    """Populated cells on a 250 m lattice with clustered populations of two groups."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_cells * 2)))
    picked = rng.choice(side * side, size=n_cells, replace=False)
    x, y = (picked % side) * step, (picked // side) * step
    centre = (x < side * step / 2).astype(float)
    pop = rng.poisson(20, n_cells) + 1
    a = rng.binomial(pop, 0.2 + 0.6 * centre)
    return pl.DataFrame(
        {"cell": [f"c{i}" for i in range(n_cells)], "x": x, "y": y, "a": a, "b": pop - a}
    )


@pytest.mark.parametrize(("tile", "halo"), [(1_000.0, None), (600.0, 250.0), (5_000.0, None)])
def test_tiles_equal_one_process(tile, halo):
    cells = synthetic_grid(600, seed=3)
    ks = [10, 50, 200, 1_000]
    one = knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=ks, unit="cell")
    tiled = tiled_knn_contexts(
        cells, x="x", y="y", groups=["a", "b"], k=ks, unit="cell", tile_size=tile, halo=halo
    )
    assert_frame_equal(tiled, one)


def test_points_off_a_lattice_and_k_above_the_population():
    rng = np.random.default_rng(8)
    cells = pl.DataFrame(
        {
            "x": rng.uniform(0, 3_000, 300),
            "y": rng.uniform(0, 2_000, 300),
            "a": rng.integers(0, 5, 300),
            "b": rng.integers(0, 5, 300),
        }
    )
    total = int(cells["a"].sum() + cells["b"].sum())
    ks = [5, 40, total, total + 10]
    one = knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=ks)
    tiled = tiled_knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=ks, tile_size=700)
    assert_frame_equal(tiled, one)


def test_local_dask_cluster_gives_the_same_answer():
    pytest.importorskip("distributed")
    cells = synthetic_grid(300, seed=5)
    ks = [20, 300]
    one = knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=ks, unit="cell")
    tiled = tiled_knn_contexts(
        cells,
        x="x",
        y="y",
        groups=["a", "b"],
        k=ks,
        unit="cell",
        tile_size=1_000,
        scheduler="local",
    )
    assert_frame_equal(tiled, one)


def test_bad_tile_size():
    with pytest.raises(BrytaError, match="tile_size must be positive"):
        tiled_knn_contexts(synthetic_grid(10, 1), x="x", y="y", groups=["a", "b"], k=5, tile_size=0)


def test_cli_tiles_write_the_same_file(tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app

    src = tmp_path / "grid.csv"
    synthetic_grid(200, seed=9).write_csv(src)
    outs = []
    for extra in ([], ["--tile-size", "800"]):
        out = tmp_path / f"contexts{len(extra)}.csv"
        res = CliRunner().invoke(
            app,
            [
                "neighbourhoods",
                str(src),
                "--x",
                "x",
                "--y",
                "y",
                "--groups",
                "a,b",
                "--k",
                "30,120",
                "--unit",
                "cell",
                *extra,
                "-o",
                str(out),
            ],
        )
        assert res.exit_code == 0, res.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), block=st.sampled_from([100.0, 250.0, 1_000.0, 3_000.0]))
def test_reach_bound_holds_the_largest_k(seed, block):
    """The first halo of a tile is an upper bound of its cells' largest radius, so one pass
    suffices: checked against the radii knn_contexts finds."""
    from bryta.compute.spatial.tiles import _reach_bound

    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    cells = pl.DataFrame(
        {
            "x": rng.integers(0, 60, n) * 100.0,
            "y": rng.integers(0, 30, n) * 100.0,
            "a": rng.integers(0, 20, n),
            "b": rng.integers(0, 20, n),
        }
    )
    pop = (cells["a"] + cells["b"]).to_numpy().astype(float)
    kmax = int(rng.integers(1, max(2, int(pop.sum()))))
    radius = knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=[kmax])["radius"].to_numpy()
    bound = _reach_bound(cells["x"].to_numpy(), cells["y"].to_numpy(), pop, float(kmax), block)
    assert (bound >= radius - 1e-9).all()
