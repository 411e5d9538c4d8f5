"""The bootstrap, random allocation and comparisons for the spatial indices.

Replicates are stacked as partitions and every copy keeps its partition's geometry
(``Geometry.tiled``). The checks: the stacked evaluation equals measuring each replicate table
on its own; the random-allocation mean equals the exact expectation found by enumerating every
allocation of a small region; the aspatial columns do not change when boundaries are added; the
command line takes --boundaries with --bootstrap, --expected and compare.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
import shapely

import bryta
from bryta.compute.segregation.engine import plan
from bryta.compute.segregation.inference import _evaluate
from bryta.compute.spatial.indices import SPATIAL_REGISTRY
from bryta.datasets import load_demo_panel
from bryta.geography.boundaries import bundled_boundaries, write_geoparquet

GROUPS = ["born_sweden", "born_abroad"]
SPATIAL = list(SPATIAL_REGISTRY)


@pytest.fixture(scope="module")
def malmo():
    panel = load_demo_panel().filter(pl.col("kommun") == "1280", pl.col("year").is_in([2020, 2023]))
    return panel.select("year", "regso", *GROUPS), bundled_boundaries("regso_malmo")


def squares(nx: int, ny: int, side: float, origin=(370_000.0, 6_160_000.0)) -> list:
    x0, y0 = origin
    return [
        shapely.box(x0 + i * side, y0 + j * side, x0 + (i + 1) * side, y0 + (j + 1) * side)
        for j in range(ny)
        for i in range(nx)
    ]


def boundary_frame(codes, polygons) -> pl.DataFrame:
    return pl.DataFrame({"code": codes, "geometry": shapely.to_wkb(np.array(polygons))})


def test_stacked_replicates_equal_each_replicate_measured_alone(malmo):
    panel, boundaries = malmo
    rng = np.random.default_rng(5)
    n_rep = 3
    prepared, specs, focal, params = plan(
        panel,
        unit="regso",
        groups=GROUPS,
        by="year",
        indices=SPATIAL,
        focal="born_abroad",
        group_col=None,
        count_col=None,
        b=0.5,
        base=np.e,
        geometry=boundaries,
        geometry_code="code",
    )
    # replicate tables: the data with random counts (one unit emptied in one replicate)
    cells = rng.poisson(prepared.values[None, :, :], size=(n_rep, *prepared.values.shape))
    cells[1, 7, :] = 0
    stacked = _evaluate(
        cells, prepared.part, n_rep, prepared.n_partitions, specs, focal, params
    )  # (replicates, partitions, indices)
    for r in range(n_rep):
        table = prepared.keys[prepared.part].with_columns(
            regso=prepared.units,
            born_sweden=cells[r, :, 0],
            born_abroad=cells[r, :, 1],
        )
        alone = bryta.measure(
            table,
            unit="regso",
            groups=GROUPS,
            by="year",
            indices=SPATIAL,
            focal="born_abroad",
            geometry=boundaries,
        )
        wide = alone.pivot(on="index", index="year", values="value").sort("year")
        np.testing.assert_allclose(
            stacked[r], wide.select(SPATIAL).to_numpy(), rtol=1e-12, atol=1e-14
        )


def test_expected_equals_the_exact_mean_over_every_allocation():
    """Four people (two of the focal group) in three squares of a row holding 2, 1 and 1:
    under random allocation with fixed margins each of the C(4, 2) = 6 placements of the
    focal group's two people is equally likely; the expectation is their mean."""
    codes = ["u0", "u1", "u2"]
    geometry = boundary_frame(codes, squares(3, 1, 500.0))
    sizes = [2, 1, 1]
    seats = [unit for unit, size in enumerate(sizes) for _ in range(size)]
    names = ["delta", "absolute_centralization", "spatial_proximity", "distance_decay_isolation"]

    def measured(a: list[int]) -> dict[str, float]:
        b = [size - x for size, x in zip(sizes, a, strict=True)]
        frame = pl.DataFrame({"unit": codes, "a": a, "b": b})
        out = bryta.measure(
            frame, unit="unit", groups=["a", "b"], indices=names, focal="a", geometry=geometry
        )
        return dict(zip(out["index"], out["value"], strict=True))

    values = []
    for chosen in itertools.combinations(range(4), 2):
        a = [0, 0, 0]
        for seat in chosen:
            a[seats[seat]] += 1
        values.append(measured(a))
    exact = {name: np.mean([v[name] for v in values]) for name in names}
    spread = {name: np.std([v[name] for v in values]) for name in names}

    data = pl.DataFrame({"unit": codes, "a": [2, 0, 0], "b": [0, 1, 1]})
    n = 3000
    got = bryta.expected(
        data,
        unit="unit",
        groups=["a", "b"],
        indices=names,
        focal="a",
        n_bootstrap=n,
        seed=11,
        geometry=geometry,
    )
    for row in got.iter_rows(named=True):
        name = row["index"]
        assert abs(row["expected"] - exact[name]) < 4 * spread[name] / np.sqrt(n) + 1e-12, name
        assert row["expected_se"] == pytest.approx(spread[name], rel=0.1, abs=1e-12)
        assert row["value"] == pytest.approx(measured([2, 0, 0])[name], rel=1e-12)
    # delta is bounded by 1, so it is adjusted; spatial proximity is not
    by_name = {r["index"]: r for r in got.iter_rows(named=True)}
    d = by_name["delta"]
    assert d["adjusted"] == pytest.approx((d["value"] - d["expected"]) / (1 - d["expected"]))
    assert np.isnan(by_name["spatial_proximity"]["adjusted"])


def test_bootstrap_with_boundaries_keeps_the_aspatial_columns(malmo):
    panel, boundaries = malmo
    common = dict(unit="regso", groups=GROUPS, by="year", focal="born_abroad", n_bootstrap=40)
    plain = bryta.bootstrap(panel, indices=["dissimilarity", "theil_h"], seed=4, **common)
    spatial = bryta.bootstrap(
        panel,
        indices=["dissimilarity", "theil_h", "delta", "relative_centralization"],
        seed=4,
        geometry=boundaries,
        **common,
    )
    # the same people are drawn whatever the indices: the aspatial columns are unchanged
    same = spatial.filter(pl.col("index").is_in(["dissimilarity", "theil_h"]))
    for column in ("value", "value_bc", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(same[column].to_numpy(), plain[column].to_numpy(), rtol=1e-12)
    extra = spatial.filter(pl.col("index").is_in(["delta", "relative_centralization"]))
    measured = bryta.measure(
        panel,
        unit="regso",
        groups=GROUPS,
        by="year",
        focal="born_abroad",
        indices=["delta", "relative_centralization"],
        geometry=boundaries,
    )
    np.testing.assert_allclose(extra["value"].to_numpy(), measured["value"].to_numpy())
    se = extra["se"].to_numpy()
    assert np.all(np.isfinite(se)) and np.all(se > 0)
    assert np.all(extra["ci_low"].to_numpy() < extra["ci_high"].to_numpy())


def test_bootstrap_se_of_a_spatial_index_shrinks_with_more_people():
    """Ten times the people in every cell: the sampling error falls by about √10."""
    codes = [f"u{i}" for i in range(9)]
    geometry = boundary_frame(codes, squares(3, 3, 400.0))
    rng = np.random.default_rng(2)
    a = rng.integers(5, 40, size=9)
    b = rng.integers(5, 40, size=9)
    small = pl.DataFrame({"unit": codes, "a": a, "b": b})
    large = pl.DataFrame({"unit": codes, "a": a * 10, "b": b * 10})
    args = dict(unit="unit", groups=["a", "b"], indices="delta", focal="a", n_bootstrap=400)
    se_small = bryta.bootstrap(small, seed=1, geometry=geometry, **args)["se"][0]
    se_large = bryta.bootstrap(large, seed=1, geometry=geometry, **args)["se"][0]
    assert 2.2 < se_small / se_large < 4.5


def test_compare_two_years_with_boundaries(malmo):
    panel, boundaries = malmo
    out = bryta.compare(
        panel,
        unit="regso",
        groups=GROUPS,
        between="year",
        first=2020,
        second=2023,
        indices=["delta", "absolute_clustering"],
        focal="born_abroad",
        n_bootstrap=60,
        seed=3,
        geometry=boundaries,
    )
    for year, column in ((2020, "value_first"), (2023, "value_second")):
        alone = bryta.measure(
            panel.filter(year=year),
            unit="regso",
            groups=GROUPS,
            indices=["delta", "absolute_clustering"],
            focal="born_abroad",
            geometry=boundaries,
        )
        np.testing.assert_allclose(out[column].to_numpy(), alone["value"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        out["diff"].to_numpy(), (out["value_second"] - out["value_first"]).to_numpy()
    )
    assert np.all(out["se"].to_numpy() > 0)


def test_compare_two_regions_with_different_units():
    """Two kommuner compared (between = kommun): the boundaries cover the units of both."""
    left = squares(3, 2, 400.0)
    right = squares(2, 2, 600.0, origin=(380_000.0, 6_170_000.0))
    codes = [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(4)]
    geometry = boundary_frame(codes, left + right)
    rng = np.random.default_rng(8)
    frame = pl.DataFrame(
        {
            "kommun": ["A"] * 6 + ["B"] * 4,
            "unit": codes,
            "x": rng.integers(10, 60, size=10),
            "y": rng.integers(10, 60, size=10),
        }
    )
    out = bryta.compare(
        frame,
        unit="unit",
        groups=["x", "y"],
        between="kommun",
        first="A",
        second="B",
        indices="delta",
        focal="x",
        n_bootstrap=30,
        seed=1,
        geometry=geometry,
    )
    alone = [
        bryta.measure(
            frame.filter(kommun=k),
            unit="unit",
            groups=["x", "y"],
            indices="delta",
            focal="x",
            geometry=geometry.filter(pl.col("code").str.starts_with(k.lower())),
        )["value"][0]
        for k in ("A", "B")
    ]
    assert out["value_first"][0] == pytest.approx(alone[0], rel=1e-12)
    assert out["value_second"][0] == pytest.approx(alone[1], rel=1e-12)


def test_cli_bootstrap_expected_and_compare_with_boundaries(malmo, tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app

    panel, boundaries = malmo
    counts = tmp_path / "malmo.csv"
    panel.write_csv(counts, separator=";")
    shapes = tmp_path / "regso.parquet"
    write_geoparquet(boundaries, shapes)
    out = tmp_path / "out.csv"
    common = ["--unit", "regso", "--groups", ",".join(GROUPS), "--focal", "born_abroad"]
    geo = ["--boundaries", str(shapes), "--boundary-code", "code"]
    res = CliRunner().invoke(
        app,
        [
            "measure",
            str(counts),
            *common,
            "--by",
            "year",
            "--index",
            "delta,absolute_centralization",
            *geo,
            "--center",
            "374000,6163000",
            "--bootstrap",
            "30",
            "--expected",
            "30",
            "--seed",
            "2",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    assert {"se", "ci_low", "expected", "adjusted"} <= set(got.columns)
    centred = bryta.measure(
        panel,
        unit="regso",
        groups=GROUPS,
        by="year",
        focal="born_abroad",
        indices=["delta", "absolute_centralization"],
        geometry=boundaries,
        center=(374000.0, 6163000.0),
    )
    np.testing.assert_allclose(got["value"].to_numpy(), centred["value"].to_numpy(), rtol=1e-12)
    res = CliRunner().invoke(
        app,
        [
            "compare",
            str(counts),
            *common,
            "--between",
            "year",
            "--first",
            "2020",
            "--second",
            "2023",
            "--index",
            "spatial_proximity",
            *geo,
            "--bootstrap",
            "20",
            "--seed",
            "1",
            "-o",
            str(tmp_path / "cmp.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert pl.read_csv(tmp_path / "cmp.csv")["index"].to_list() == ["spatial_proximity"]
    bad = CliRunner().invoke(
        app, ["measure", str(counts), *common, "--index", "delta", *geo, "--center", "1,x"]
    )
    assert bad.exit_code == 2 and "--center" in bad.output


def test_permutation_of_spatial_indices_needs_the_same_units():
    left = squares(2, 1, 400.0)
    right = squares(2, 1, 400.0, origin=(380_000.0, 6_170_000.0))
    geometry = boundary_frame(["a0", "a1", "b0", "b1"], left + right)
    frame = pl.DataFrame(
        {
            "kommun": ["A", "A", "B", "B"],
            "unit": ["a0", "a1", "b0", "b1"],
            "x": [5, 9, 4, 8],
            "y": [7, 3, 6, 2],
        }
    )
    args = dict(
        unit="unit",
        groups=["x", "y"],
        between="kommun",
        first="A",
        second="B",
        indices="delta",
        focal="x",
        n_bootstrap=10,
        seed=1,
        geometry=geometry,
    )
    with pytest.raises(bryta.InputError, match="same units"):
        bryta.compare(frame, method="permutation", **args)
    extra = pl.concat([geometry, boundary_frame(["c0"], squares(1, 1, 50.0))])
    with pytest.raises(bryta.InputError, match="c0"):
        bryta.compare(frame, **{**args, "geometry": extra})


# ---- egohoods: people drawn from the counts, every replicate smoothed ------------------------

EGO_INDICES = ["dissimilarity", "gini", "theil_h", "min_max", "density_corrected_dissimilarity"]


@pytest.mark.parametrize("kernel", ["triangular", "uniform"])
def test_egohood_replicates_equal_each_replicate_measured_alone(malmo, kernel):
    from bryta.compute.segregation.inference import _Observed

    panel, boundaries = malmo
    args = dict(
        unit="regso",
        groups=GROUPS,
        by="year",
        indices=EGO_INDICES,
        focal=None,
        group_col=None,
        count_col=None,
        b=0.5,
        base=np.e,
        geometry=boundaries,
        geometry_code="code",
        distance=2000.0,
        kernel=kernel,
    )
    obs = _Observed.of(panel, "the bootstrap", **args)
    direct = bryta.measure(
        panel,
        unit="regso",
        groups=GROUPS,
        by="year",
        indices=EGO_INDICES,
        geometry=boundaries,
        distance=2000.0,
        kernel=kernel,
    )
    np.testing.assert_allclose(obs.values.ravel(), direct["value"].to_numpy(), rtol=1e-12)
    rng = np.random.default_rng(9)
    n_rep = 3
    raw = obs.people
    cells = rng.poisson(raw[None], size=(n_rep, *raw.shape))
    cells[2, 4, :] = 0
    stacked = obs.evaluate(cells, n_rep)
    keys = obs.prepared.keys[obs.prepared.part]
    for r in range(n_rep):
        table = keys.with_columns(
            regso=obs.prepared.units, born_sweden=cells[r, :, 0], born_abroad=cells[r, :, 1]
        )
        alone = bryta.measure(
            table,
            unit="regso",
            groups=GROUPS,
            by="year",
            indices=EGO_INDICES,
            geometry=boundaries,
            distance=2000.0,
            kernel=kernel,
        )
        np.testing.assert_allclose(
            stacked[r].ravel(), alone["value"].to_numpy(), rtol=1e-12, atol=1e-15
        )


def test_egohood_bootstrap_and_expected(malmo):
    panel, boundaries = malmo
    args = dict(
        unit="regso",
        groups=GROUPS,
        by="year",
        indices=["dissimilarity", "theil_h"],
        focal="born_abroad",
        n_bootstrap=60,
        seed=5,
        geometry=boundaries,
        distance=1500.0,
    )
    boot = bryta.bootstrap(panel, **args)
    plain = bryta.bootstrap(panel, **{**args, "geometry": None, "distance": None})
    # smoothing averages over neighbours: the egohood index is lower than the plain one
    assert np.all(boot["value"].to_numpy() < plain["value"].to_numpy())
    assert np.all(boot["se"].to_numpy() > 0)
    null = bryta.expected(panel, **args)
    # random allocation, then smoothing: far below the data, and below the plain expectation
    assert np.all(null["expected"].to_numpy() < 0.2 * null["value"].to_numpy())
    plain_null = bryta.expected(panel, **{**args, "geometry": None, "distance": None})
    assert np.all(null["expected"].to_numpy() < plain_null["expected"].to_numpy())


def test_cli_where_keeps_one_kommun_for_its_boundaries(tmp_path):
    """The README's path: the whole country's counts, one kommun's boundaries, --where."""
    from typer.testing import CliRunner

    from bryta.cli import app

    panel = load_demo_panel().select("kommun", "regso", "year", *GROUPS)
    counts = tmp_path / "counts.csv"
    panel.write_csv(counts, separator=";")
    shapes = tmp_path / "regso.parquet"
    write_geoparquet(bundled_boundaries("regso_malmo"), shapes)
    out = tmp_path / "out.csv"
    base = ["measure", str(counts), "--unit", "regso", "--groups", ",".join(GROUPS)]
    args = [*base, "--by", "year", "--focal", "born_abroad", "--index", "delta"]
    geo = ["--boundaries", str(shapes), "--boundary-code", "code"]
    res = CliRunner().invoke(app, [*args, *geo, "--where", "kommun=1280", "-o", str(out)])
    assert res.exit_code == 0, res.output
    malmo = panel.filter(kommun="1280")
    want = bryta.measure(
        malmo,
        unit="regso",
        groups=GROUPS,
        by="year",
        focal="born_abroad",
        indices="delta",
        geometry=bundled_boundaries("regso_malmo"),
    )
    np.testing.assert_allclose(pl.read_csv(out)["value"].to_numpy(), want["value"].to_numpy())
    for where, message in [
        ("kommun=9999", "no row has kommun = 9999"),
        ("kommune=1280", "no column 'kommune'"),
        ("kommun", "write COLUMN=VALUE"),
    ]:
        res = CliRunner().invoke(
            app, [*args, *geo, "--where", where, "-o", str(tmp_path / "x.csv")]
        )
        assert res.exit_code == 2 and message in " ".join(res.output.split()), res.output
    # without --where, the units outside Malmö have no polygon: named in the error
    res = CliRunner().invoke(app, [*args, *geo, "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "have no geometry" in " ".join(res.output.split())
    assert not (tmp_path / "x.csv").exists()


def test_cli_where_on_compare_and_local(tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app

    panel = load_demo_panel().select("kommun", "regso", "year", *GROUPS)
    counts = tmp_path / "counts.csv"
    panel.write_csv(counts)
    common = ["--unit", "regso", "--groups", ",".join(GROUPS), "--where", "kommun=1280,0180"]
    out = tmp_path / "cmp.csv"
    res = CliRunner().invoke(
        app,
        [
            "compare",
            str(counts),
            *common,
            "--by",
            "kommun",
            "--between",
            "year",
            "--first",
            "2020",
            "--second",
            "2023",
            "--index",
            "dissimilarity",
            "--focal",
            "born_abroad",
            "--bootstrap",
            "10",
            "--seed",
            "1",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert sorted(pl.read_csv(out, schema_overrides={"kommun": pl.String})["kommun"]) == [
        "0180",
        "1280",
    ]
    out = tmp_path / "local.csv"
    res = CliRunner().invoke(
        app, ["local", str(counts), *common, "--where", "year=2023", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    units = pl.read_csv(out)["regso"].unique()
    want = panel.filter(pl.col("kommun").is_in(["1280", "0180"]), year=2023)["regso"].unique()
    assert sorted(units) == sorted(want)
