"""Distance-decay weighted k-nearest-neighbour contexts: hand-computed, brute force, equipop."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from bryta.compute.spatial.decay import Decay
from bryta.compute.spatial.neighbourhoods import knn_contexts
from bryta.compute.spatial.tiles import tiled_knn_contexts
from tests.test_neighbourhoods import _equipop_run


def test_hand_computed_line():
    # three cells 100 m apart, (a, b) = (2, 0), (1, 1), (0, 3); middle cell, k = 3:
    # its own 2 people at weight 1, then a fifth (f = 1/5) of the ring at 100 m
    cells = pl.DataFrame({"x": [0, 100, 200], "y": [0, 0, 0], "a": [2, 1, 0], "b": [0, 1, 3]})
    out = knn_contexts(cells, x="x", y="y", groups=["a", "b"], k=[3], decay="exponential:100").row(
        1, named=True
    )
    w = math.exp(-1.0)
    assert out["a"] == pytest.approx(1.4)
    assert out["a_decayed"] == pytest.approx(1 + 0.2 * 2 * w)
    assert out["b_decayed"] == pytest.approx(1 + 0.2 * 3 * w)
    # own people at a charged distance: 50 m for the own cell
    own = knn_contexts(
        cells, x="x", y="y", groups=["a", "b"], k=[3], decay="exponential:100", own_distance=50
    ).row(1, named=True)
    assert own["a_decayed"] == pytest.approx(math.exp(-0.5) + 0.2 * 2 * w)


def test_weights_and_half_distances():
    d = np.array([0.0, 250.0, 1000.0])
    assert Decay("exponential", 500).weight(d).tolist() == pytest.approx(
        [1, math.exp(-0.5), math.exp(-2)]
    )
    assert Decay("gaussian", 500).weight(d).tolist() == pytest.approx(
        [1, math.exp(-0.125), math.exp(-2)]
    )
    assert Decay("power", 500, 2).weight(d).tolist() == pytest.approx([1, 1 / 1.5**2, 1 / 9])
    for kind in ("exponential", "gaussian", "power"):
        for p in (0.5, 1.0, 3.0):
            h = Decay.half_at(kind, 1_234.0, p)  # type: ignore[arg-type]
            assert h.weight(np.array([1_234.0]))[0] == pytest.approx(0.5, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    ["exponential", "linear:5", "power:100", "gaussian:0", "gaussian:-4", "exponential:x", "a:1:2"],
)
def test_bad_decay_text_is_refused(text):
    with pytest.raises(ValueError, match="decay"):
        Decay.parse(text)


def test_decay_needs_the_tree_engine():
    cells = pl.DataFrame({"x": [0, 100], "y": [0, 0], "a": [1, 2], "b": [0, 1]})
    with pytest.raises(ValueError, match="engine"):
        knn_contexts(
            cells, x="x", y="y", groups=["a", "b"], k=2, engine="grid", decay="gaussian:50"
        )


def _brute_force(x, y, counts, k, decay: Decay, own: float) -> np.ndarray:
    """Each origin on its own: every cell sorted by distance, rings of equal distance, the
    crossing ring taken proportionally, each person weighted by w(distance)."""
    pop = counts.sum(axis=1)
    total = pop.sum()
    out = np.zeros((len(x), counts.shape[1]))
    for i in range(len(x)):
        d = np.hypot(x - x[i], y - y[i])
        w = decay.weight(np.where(d <= 0, own, d))
        kk = min(k, total)
        taken = 0.0
        for dist in np.unique(d):
            ring = d == dist
            rp = pop[ring].sum()
            if rp == 0:
                continue
            f = min(1.0, (kk - taken) / rp)
            out[i] += f * (w[ring, None] * counts[ring]).sum(axis=0)
            taken += f * rp
            if taken >= kk - 1e-12:
                break
    return out


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["exponential", "gaussian", "power"]),
    scale=st.floats(10.0, 5_000.0),
    own=st.sampled_from([0.0, 38.26]),
    lattice=st.booleans(),
)
def test_equals_brute_force(seed, kind, scale, own, lattice):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    if lattice:  # many equal distances: rings of several cells
        x = rng.integers(0, 6, n) * 100.0
        y = rng.integers(0, 6, n) * 100.0
    else:
        x, y = rng.uniform(0, 1_000, n), rng.uniform(0, 1_000, n)
    counts = rng.integers(0, 6, (n, 2)).astype(float)
    counts[0, 0] += 1  # somebody lives somewhere
    decay = Decay(kind, scale, 1.5)
    ks = sorted({1, 3, 10, 40, int(counts.sum()) + 5})  # a k beyond everybody, once
    frame = pl.DataFrame({"x": x, "y": y, "a": counts[:, 0], "b": counts[:, 1]})
    out = knn_contexts(frame, x="x", y="y", groups=["a", "b"], k=ks, decay=decay, own_distance=own)
    got = out.select("a_decayed", "b_decayed").to_numpy().reshape(n, len(ks), 2)
    for j, k in enumerate(ks):
        want = _brute_force(x, y, counts, k, decay, own)
        np.testing.assert_allclose(got[:, j], want, rtol=1e-9, atol=1e-9)
    # the decayed counts never exceed the raw ones; the raw ones are unchanged by the decay
    raw = knn_contexts(frame, x="x", y="y", groups=["a", "b"], k=ks)
    assert_frame_equal(out.select(raw.columns), raw)
    assert (out["a_decayed"] <= out["a"] + 1e-9).all()


@pytest.mark.parametrize(
    ("model", "beta", "mine", "self_potential"),
    [
        ("negexp", -1 / 300, Decay("exponential", 300.0), 0.0),
        ("expnormal", -1 / (2 * 400.0**2), Decay("gaussian", 400.0), 0.0),
        ("power", -1.5, Decay("power", 1.0, 1.5), 0.0),
        ("negexp", -1 / 300, Decay("exponential", 300.0), 1.0),
    ],
)
def test_parity_with_equipop_decayed_totals(model, beta, mine, self_potential):
    rng = np.random.default_rng(11)
    side = 14
    gx, gy = np.divmod(rng.permutation(side * side)[:120], side)
    pop = rng.poisson(rng.lognormal(1.5, 1.0, gx.size)) + 1
    a = rng.binomial(pop, np.clip(gx / side, 0.05, 0.95))
    counts = np.column_stack([a, pop - a]).astype(float)
    x, y = 100.0 * gx + 50.0, 100.0 * gy + 50.0
    ks = [1, 10, 75, 300, 900]
    pytest.importorskip("equipop")
    from equipop.decay import Decay as EquipopDecay

    decay = EquipopDecay(model=model, beta=beta)
    ref = _equipop_run(x, y, counts, ks, "proportional", self_potential, decay=decay)
    # equipop charges the own cell the mean centre-to-point distance of a square cell
    own = 100.0 * (math.sqrt(2) + math.log(1 + math.sqrt(2))) / 6 if self_potential else 0.0
    frame = pl.DataFrame({"x": x, "y": y, "g0": counts[:, 0], "g1": counts[:, 1]})
    out = knn_contexts(frame, x="x", y="y", groups=["g0", "g1"], k=ks, decay=mine, own_distance=own)
    for k in ks:
        row = out.filter(pl.col("k") == k)
        for g in ("g0", "g1"):
            np.testing.assert_allclose(
                row[f"{g}_decayed"].to_numpy(), ref[f"TD_{g}_{k}"], rtol=1e-9, atol=1e-9
            )


def test_tiles_with_decay_equal_one_process():
    rng = np.random.default_rng(4)
    n = 500
    picked = rng.choice(40 * 40, n, replace=False)
    cells = pl.DataFrame(
        {
            "x": (picked % 40) * 250.0,
            "y": (picked // 40) * 250.0,
            "a": rng.poisson(8, n),
            "b": rng.poisson(4, n),
        }
    )
    total = int(cells["a"].sum() + cells["b"].sum())
    ks = [20, 300, total]
    kw = dict(x="x", y="y", groups=["a", "b"], k=ks, decay="gaussian:600", own_distance=95.65)
    one = knn_contexts(cells, **kw)
    tiled = tiled_knn_contexts(cells, tile_size=2_000, **kw)
    assert_frame_equal(tiled, one)


def test_cli_decay_columns_and_bad_spec(tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app

    src = tmp_path / "cells.csv"
    pl.DataFrame({"x": [0, 100, 200], "y": [0, 0, 0], "a": [2, 1, 0], "b": [0, 1, 3]}).write_csv(
        src
    )
    out = tmp_path / "out.csv"
    base = ["neighbourhoods", str(src), "--x", "x", "--y", "y", "--groups", "a,b", "--k", "3"]
    res = CliRunner().invoke(app, [*base, "--decay", "exponential:100", "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    assert got.columns == ["row", "k", "a", "b", "radius", "a_decayed", "b_decayed"]
    assert got["a_decayed"][1] == pytest.approx(1 + 0.4 * math.exp(-1.0))
    res = CliRunner().invoke(app, [*base, "--decay", "cubic:100", "-o", str(tmp_path / "x.csv")])
    assert res.exit_code != 0
    assert "exponential:SCALE" in res.output
    assert not (tmp_path / "x.csv").exists()
