"""Bespoke k-nearest-neighbour contexts: hand-computed cases, identities, parity with equipop."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bryta.cli.neighbourhoods import register
from bryta.compute.spatial.neighbourhoods import knn_contexts, radius_contexts
from bryta.errors import CountsError

ENGINES = ["grid", "tree"]
R2 = 100 * math.sqrt(2)

# The 3×3 grid, 100 m apart; (a, b) per cell, y increasing upwards:
#
#   y=200   (1,0)  (0,2)  (3,0)
#   y=100   (0,1)  (2,2)  (1,0)
#   y=0     (2,0)  (0,1)  (0,3)
#           x=0    x=100  x=200          totals a = 9, b = 9
#
# Centre (100,100): own cell 4 people (2,2) at distance 0; the ring at 100 m holds 5 (1,4);
# the ring at 141.4 m (corners) holds 9 (6,3).
#   k=3:  inside the own cell, f = 3/4            → (1.5, 1.5), radius 0
#   k=6:  4 + f·5 with f = 2/5                    → (2 + 0.4, 2 + 1.6) = (2.4, 3.6), radius 100
#   k=12: 9 + f·9 with f = 1/3; before = (3, 6)   → (3 + 2, 6 + 1) = (5, 7), radius 141.4
#   k=18 and k=20 (> total): everybody            → (9, 9), radius 141.4 (the farthest cell)
# Corner (0,0): own (2,0); 100 m ring (0,2); 141.4 m ring (2,2); 200 m ring (1,3).
#   k=3:  2 + ½ of the 100 m ring                 → (2, 1), radius 100
#   k=6:  4 + ½ of the 141.4 m ring               → (3, 3), radius 141.4
#   k=12: 8 + the whole 200 m ring (f = 1)        → (5, 7), radius 200
GRID3 = pl.DataFrame(
    {
        "cell": ["sw", "s", "se", "w", "c", "e", "nw", "n", "ne"],
        "x": [0, 100, 200, 0, 100, 200, 0, 100, 200],
        "y": [0, 0, 0, 100, 100, 100, 200, 200, 200],
        "a": [2, 0, 0, 0, 2, 1, 1, 0, 3],
        "b": [0, 1, 3, 1, 2, 0, 0, 2, 0],
    }
)
HAND = {
    ("c", 3): (1.5, 1.5, 0.0),
    ("c", 6): (2.4, 3.6, 100.0),
    ("c", 12): (5.0, 7.0, R2),
    ("c", 18): (9.0, 9.0, R2),
    ("c", 20): (9.0, 9.0, R2),
    ("sw", 3): (2.0, 1.0, 100.0),
    ("sw", 6): (3.0, 3.0, R2),
    ("sw", 12): (5.0, 7.0, 200.0),
}


@pytest.mark.parametrize("engine", ENGINES)
def test_hand_computed_3x3(engine):
    out = knn_contexts(
        GRID3, x="x", y="y", groups=["a", "b"], k=[20, 3, 6, 12, 18], unit="cell", engine=engine
    )
    assert out.columns == ["cell", "k", "a", "b", "radius"]
    assert out.height == 9 * 5
    assert out.get_column("k").to_list()[:5] == [3, 6, 12, 18, 20]
    got = {(r[0], r[1]): r[2:] for r in out.iter_rows()}
    for key, want in HAND.items():
        assert got[key] == pytest.approx(want, abs=1e-9), key


def test_default_id_is_the_row_number():
    out = knn_contexts(GRID3, x="x", y="y", groups=["a", "b"], k=3)
    assert out.columns == ["row", "k", "a", "b", "radius"]
    assert out.get_column("row").to_list() == list(range(1, 10))


def test_radius_contexts_hand_computed():
    out = radius_contexts(GRID3, x="x", y="y", groups=["a", "b"], radius=[0, 100, 150], unit="cell")
    got = {(r[0], r[1]): r[2:] for r in out.iter_rows()}
    assert got[("c", 0.0)] == (2.0, 2.0)
    assert got[("c", 100.0)] == (3.0, 6.0)  # inclusive: the 100 m ring is in
    assert got[("c", 150.0)] == (9.0, 9.0)
    assert got[("sw", 100.0)] == (2.0, 2.0)


# ------------------------------------------------------------------------------- invariants


@st.composite
def lattice_cells(draw):
    side = draw(st.integers(1, 7))
    n = draw(st.integers(1, side * side))
    pos = draw(st.permutations(range(side * side)))[:n]
    n_g = draw(st.integers(1, 3))
    counts = draw(
        st.lists(st.lists(st.integers(0, 12), min_size=n_g, max_size=n_g), min_size=n, max_size=n)
    )
    counts = np.array(counts, dtype=float).reshape(n, n_g)
    if counts.sum() == 0:
        counts[0, 0] = 1
    frame = pl.DataFrame(
        {
            "x": [1_000.0 + 250.0 * (p % side) for p in pos],
            "y": [6_500_000.0 + 250.0 * (p // side) for p in pos],
            **{f"g{g}": counts[:, g] for g in range(n_g)},
        }
    )
    ks = draw(st.lists(st.integers(1, int(counts.sum()) + 5), min_size=1, max_size=5))
    return frame, [f"g{g}" for g in range(n_g)], ks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lattice_cells())
def test_invariants_and_engines_agree(case):
    frame, groups, ks = case
    total = float(frame.select(groups).sum().sum_horizontal()[0])
    ks = sorted({*ks, int(total)})
    grid = knn_contexts(frame, x="x", y="y", groups=groups, k=ks, engine="grid")
    tree = knn_contexts(frame, x="x", y="y", groups=groups, k=ks, engine="tree")
    for col in [*groups, "radius"]:
        np.testing.assert_allclose(grid[col].to_numpy(), tree[col].to_numpy(), atol=1e-8)
    n, n_k = frame.height, len(ks)
    counts = grid.select(groups).to_numpy().reshape(n, n_k, len(groups))
    size = counts.sum(axis=2)
    want = np.minimum(np.array(ks, float), total)
    np.testing.assert_allclose(size, np.broadcast_to(want, size.shape), atol=1e-9)
    assert (np.diff(counts, axis=1) >= -1e-9).all()  # monotone in k
    radius = grid.get_column("radius").to_numpy().reshape(n, n_k)
    assert (np.diff(radius, axis=1) >= 0).all()
    everyone = counts[:, ks.index(int(total)), :]
    totals = frame.select(groups).sum().to_numpy()[0]
    np.testing.assert_allclose(everyone, np.broadcast_to(totals, everyone.shape), atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_scattered_points_hold_exactly_k(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    frame = pl.DataFrame(
        {"x": rng.uniform(0, 1e4, n), "y": rng.uniform(0, 1e4, n), "a": rng.integers(0, 9, n)}
    ).with_columns(b=pl.lit(1))
    total = float(frame["a"].sum() + n)
    ks = sorted({1, 5, 20, 60})
    out = knn_contexts(frame, x="x", y="y", groups=["a", "b"], k=ks)  # auto: tree engine
    size = (out["a"] + out["b"]).to_numpy().reshape(n, len(ks))
    want = np.minimum(np.array(ks, float), total)
    np.testing.assert_allclose(size, np.broadcast_to(want, size.shape), atol=1e-9)


# ---------------------------------------------------------------------------- equipop parity


def _equipop_run(x, y, counts, ks, overshoot, self_potential=0.0, **options):
    """equipop's run_knn_counts on cells of 100 m, groups g0, g1, …; ``options`` go to it."""
    pytest.importorskip("equipop")
    from equipop.cells import CellData
    from equipop.fastcounts import run_knn_counts

    cd = CellData(
        E=np.asarray(x, float),
        N=np.asarray(y, float),
        n=counts.sum(axis=1),
        binary_sums={f"g{g}": counts[:, g] for g in range(counts.shape[1])},
        unit_size=100.0,
    )
    with contextlib.redirect_stdout(io.StringIO()):
        return run_knn_counts(
            cd,
            k_values=list(ks),
            report=False,
            self_potential=self_potential,
            overshoot_mode=overshoot,
            **options,
        )


def _synthetic(seed, side, zero_share):
    rng = np.random.default_rng(seed)
    gx, gy = np.divmod(rng.permutation(side * side)[: int(side * side * 0.6)], side)
    n = len(gx)
    pop = rng.poisson(rng.lognormal(1.5, 1.0, n)) + 1
    pop[0] = 500  # one dense cell: small k inside the own cell
    a = rng.binomial(pop, np.clip(gx / side, 0.05, 0.95))
    a[rng.random(n) < zero_share] = 0  # cells with none of a group
    counts = np.column_stack([a, pop - a]).astype(float)
    return 100.0 * gx + 50.0, 100.0 * gy + 50.0, counts


@pytest.mark.parametrize(("seed", "side", "zero_share"), [(1, 12, 0.3), (2, 20, 0.1), (3, 9, 0.5)])
def test_parity_with_equipop_on_synthetic_grids(seed, side, zero_share):
    x, y, counts = _synthetic(seed, side, zero_share)
    ks = [1, 7, 50, 200, 801, int(counts.sum())]
    frame = pl.DataFrame({"x": x, "y": y, "g0": counts[:, 0], "g1": counts[:, 1]})
    prop = _equipop_run(x, y, counts, ks, "proportional")
    whole = _equipop_run(x, y, counts, ks, "whole")
    for engine in ENGINES:
        out = knn_contexts(frame, x="x", y="y", groups=["g0", "g1"], k=ks, engine=engine)
        n = frame.height
        for k in ks:
            mine = out.filter(pl.col("k") == k)
            assert mine.height == n
            for g in ("g0", "g1"):
                np.testing.assert_allclose(mine[g].to_numpy(), prop[f"T_{g}_{k}"], atol=1e-9)
            np.testing.assert_allclose(mine["radius"].to_numpy(), whole[f"Dist_{k}"], atol=1e-9)


def _gridby():
    pytest.importorskip("equipop")
    from equipop.gridby import gridby

    people = gridby()["people"]
    return pl.DataFrame(
        {
            "x": people["x"].to_numpy(),
            "y": people["y"].to_numpy(),
            "group": people["count_group"].to_numpy(),
            "rest": (people["count_all"] - people["count_group"]).to_numpy(),
        }
    )


def _fixture(name):
    import equipop

    ref = pl.read_csv(Path(equipop.__file__).parent / "data" / name, infer_schema_length=None)
    return ref.sort(["x", "y"])


def test_parity_with_equipop_reference_fixtures():
    """equipop ships its conformance run on Gridby (seed 1848, 2,360 cells, k = 400, r = 800):
    the proportional key for the counts, the whole-ring key for the radius of the crossing
    ring (its proportional Dist_k interpolates inside the ring: a definitional difference)."""
    cells = _gridby()
    mine = knn_contexts(cells, x="x", y="y", groups=["group", "rest"], k=400)
    mine = pl.concat([cells.select("x", "y"), mine], how="horizontal").sort(["x", "y"])
    prop = _fixture("gridby_reference_proportional.csv")
    whole = _fixture("gridby_reference.csv")
    for c in ("x", "y"):
        np.testing.assert_array_equal(prop[c].cast(pl.Float64), mine[c])
    np.testing.assert_allclose(mine["group"], prop["T_count_group_400"], atol=1e-7)
    np.testing.assert_allclose(mine["group"] + mine["rest"], prop["N_400"], atol=1e-9)
    np.testing.assert_allclose(mine["radius"], whole["Dist_400"], atol=1e-6)
    within = radius_contexts(cells, x="x", y="y", groups=["group", "rest"], radius=800)
    within = pl.concat([cells.select("x", "y"), within], how="horizontal").sort(["x", "y"])
    np.testing.assert_array_equal(within["group"], prop["T_count_group_r800"])
    np.testing.assert_array_equal(within["group"] + within["rest"], prop["N_r800"])


# ------------------------------------------------------------------------------------ errors


def test_errors_name_column_and_rows():
    bad = GRID3.with_columns(a=pl.when(pl.col("cell") == "e").then(-1).otherwise(pl.col("a")))
    with pytest.raises(CountsError, match=r"'a'.*row 6"):
        knn_contexts(bad, x="x", y="y", groups=["a", "b"], k=3)
    with pytest.raises(CountsError, match="'z' not found"):
        knn_contexts(GRID3, x="x", y="z", groups=["a", "b"], k=3)
    nan_x = GRID3.with_columns(x=pl.when(pl.col("cell") == "n").then(None).otherwise(pl.col("x")))
    with pytest.raises(CountsError, match=r"coordinate column 'x'.*row 8"):
        knn_contexts(nan_x, x="x", y="y", groups=["a", "b"], k=3)
    for k in (0, [3, -1], 2.5, []):
        with pytest.raises(ValueError, match="k must be"):
            knn_contexts(GRID3, x="x", y="y", groups=["a", "b"], k=k)
    off = GRID3.with_columns(x=pl.col("x") + pl.Series([0, 0, 0, 0, 0, 0, 0, 0, 33]))
    with pytest.raises(ValueError, match="square lattice"):
        knn_contexts(off, x="x", y="y", groups=["a", "b"], k=3, engine="grid")


# --------------------------------------------------------------------------------------- CLI


def test_cli(tmp_path):
    app = typer.Typer()
    register(app)

    @app.command()
    def _other() -> None:  # a second command keeps typer in multi-command mode
        pass

    src = tmp_path / "grid.csv"
    GRID3.write_csv(src)
    dst = tmp_path / "out.csv"
    args = ["neighbourhoods", str(src), "--x", "x", "--y", "y", "--groups", "a,b"]
    result = CliRunner().invoke(app, [*args, "--k", "3,6,12", "--unit", "cell", "-o", str(dst)])
    assert result.exit_code == 0, result.output
    out = pl.read_csv(dst)
    assert out.columns == ["cell", "k", "a", "b", "radius"]
    row = out.filter((pl.col("cell") == "c") & (pl.col("k") == 6)).row(0)
    assert row[2:] == pytest.approx((2.4, 3.6, 100.0))
    result = CliRunner().invoke(app, [*args, "--k", "3", "-o", str(dst)])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(dst).columns == ["row", "k", "a", "b", "radius"]
    result = CliRunner().invoke(app, [*args, "--k", "3", "--groups", "a,q", "-o", str(dst)])
    assert result.exit_code == 2
    assert "'q' not found" in result.output


def test_sparse_cells_on_a_lattice_find_its_spacing():
    """Cells 750 m and 1,000 m apart lie on a 250 m lattice (the gcd of the gaps, not the
    smallest gap: hypothesis found this case); a lattice finer than an eighth of the smallest
    gap is left to the tree."""
    from bryta.compute.spatial._knn import lattice_step

    assert lattice_step(np.array([1_000.0, 1_750.0]), np.array([6.5e6, 6.501e6])) == 250.0
    assert lattice_step(np.array([0.0, 100.5]), np.array([0.0, 300.0])) is None
    frame = pl.DataFrame({"x": [1_000.0, 1_750.0], "y": [6.5e6, 6.501e6], "a": [2.0, 3.0]})
    grid = knn_contexts(frame, x="x", y="y", groups=["a"], k=[1, 4], engine="grid")
    tree = knn_contexts(frame, x="x", y="y", groups=["a"], k=[1, 4], engine="tree")
    assert np.allclose(grid["a"].to_numpy(), tree["a"].to_numpy())


def _cli():
    app = typer.Typer()
    register(app)

    @app.command()
    def _other() -> None:  # a second command keeps typer in multi-command mode
        pass

    return app


def test_cli_refuses_k_above_the_population(tmp_path):
    """Before: rows labelled k = 10,000,000 held the whole population, with no word."""
    src = tmp_path / "grid.csv"
    GRID3.write_csv(src)
    total = int(GRID3.select(pl.sum("a") + pl.sum("b")).item())
    dst = tmp_path / "out.csv"
    args = ["neighbourhoods", str(src), "--x", "x", "--y", "y", "--groups", "a,b", "-o", str(dst)]
    result = CliRunner().invoke(_cli(), [*args, "--k", "3,10000000"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "10,000,000" in text and f"{total:,}" in text and "Traceback" not in text
    assert not dst.exists()
    assert CliRunner().invoke(_cli(), [*args, "--k", str(total)]).exit_code == 0


def test_cli_integer_ids_stay_integers(tmp_path):
    src = tmp_path / "grid.csv"
    GRID3.with_columns(pl.int_range(101, 101 + GRID3.height).alias("cell")).write_parquet(
        tmp_path / "grid.parquet"
    )
    pl.read_parquet(tmp_path / "grid.parquet").write_csv(src)
    dst = tmp_path / "out.parquet"
    args = ["neighbourhoods", str(src), "--x", "x", "--y", "y", "--groups", "a,b"]
    result = CliRunner().invoke(_cli(), [*args, "--k", "3", "--unit", "cell", "-o", str(dst)])
    assert result.exit_code == 0, result.output
    out = pl.read_parquet(dst)
    assert out.schema["cell"] == pl.Int64
    assert out["cell"].to_list() == list(range(101, 101 + GRID3.height))
