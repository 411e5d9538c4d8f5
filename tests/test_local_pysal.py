"""PySAL ``segregation`` 2.5's distortion indices and local measures against bryta's.

PySAL computes one region at a time; bryta every partition in one pass. Each value must equal
PySAL's for that region alone, to 1e-10 relative: on Malmö's RegSO (bundled counts and
boundaries), on jittered square and hexagon grids measured together as partitions (one with an
empty unit, one whose set of units changes between years) and on exact grids, where many
units are at equal distances and the order PySAL gives them must be followed.

Polygons are given to PySAL moved near the origin, as in ``tests/test_spatial_pysal.py`` (its
note explains why); the distortion and the local relative centralization take differences of
centroid coordinates, so moving them changes no digit that matters, and the exact grids are
built at the origin for both.

The local measures where PySAL's number is an artefact of ``nansum`` (documented in
:mod:`bryta.compute.spatial.local`): an empty unit's diversity, entropy and Simpson measures
(PySAL 0, bryta NaN) and a local relative centralization whose neighbourhood lacks the focal
group or everyone else (PySAL 0, bryta NaN) are checked as such.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import shapely

import bryta
from bryta.compute.spatial.indices import SPATIAL_REGISTRY
from bryta.compute.spatial.local import LOCAL_MEASURES
from bryta.datasets import load_demo_panel
from bryta.errors import InputError
from bryta.geography.boundaries import bundled_boundaries
from tests.polygon_grids import hexagons, jitter, near_origin, squares

segregation = pytest.importorskip("segregation")
gpd = pytest.importorskip("geopandas")

from segregation import local as L  # noqa: E402
from segregation.multigroup import GlobalDistortion  # noqa: E402

assert segregation.__version__.startswith("2.5"), segregation.__version__

RTOL, ATOL = 1e-10, 1e-12
TENURE = ["rental", "tenant_owned", "owner_occupied", "tenure_unknown"]
BORN = ["born_sweden", "born_abroad"]
PER_UNIT = {
    "multi_local_diversity": L.MultiLocalDiversity,
    "multi_local_entropy": L.MultiLocalEntropy,
    "multi_local_simpson_concentration": L.MultiLocalSimpsonConcentration,
    "multi_local_simpson_interaction": L.MultiLocalSimpsonInteraction,
}


def test_every_local_measure_of_pysal_2_5_is_there():
    pysal = sorted(L.__all__ if hasattr(L, "__all__") else [n for n in dir(L) if n[0].isupper()])
    assert sorted(spec.pysal for spec in LOCAL_MEASURES.values()) == pysal
    assert SPATIAL_REGISTRY["global_distortion"].kind == "multigroup"


def frame_for(polygons, counts: dict[str, np.ndarray], shift: bool = True):
    if shift:
        polygons = near_origin(polygons)
    return gpd.GeoDataFrame(counts, geometry=list(polygons), crs="EPSG:3006")


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def pysal_local(frame, groups):
    """PySAL's value of every local measure: name → array (units) or {group: array}."""
    out = {name: quiet(cls, frame, groups).statistics for name, cls in PER_UNIT.items()}
    lq = quiet(L.MultiLocationQuotient, frame, groups).statistics
    out["multi_location_quotient"] = {g: lq[:, j] for j, g in enumerate(groups)}
    out["local_distortion"] = np.asarray(quiet(L.LocalDistortion, frame, groups).statistics)
    total = frame[groups].sum(axis=1)
    rce = {}
    for g in groups:
        data = frame.assign(_total=total)
        rce[g] = quiet(L.LocalRelativeCentralization, data, g, "_total").statistics
    out["local_relative_centralization"] = rce
    return out


def assert_local_equal(got: pl.DataFrame, expected: dict, counts: dict[str, np.ndarray], where):
    total = sum(counts.values())
    empty = total == 0
    for name, value in expected.items():
        rows = got.filter(measure=name)
        per_group = value if isinstance(value, dict) else {None: value}
        for group, theirs in per_group.items():
            ours = (rows if group is None else rows.filter(group=group))["value"].to_numpy()
            theirs = np.asarray(theirs, dtype=float)
            assert ours.size == theirs.size == total.size, (where, name, group)
            if name in PER_UNIT:
                assert np.isnan(ours[empty]).all() and (theirs[empty] == 0).all()
                ours, theirs = ours[~empty], theirs[~empty]
            if name == "local_relative_centralization":
                # PySAL's 0 where the neighbourhood lacks the focal group or everyone else
                gap = np.isnan(ours)
                assert (theirs[gap] == 0).all(), (where, group)
                assert counts[group].sum() == 0 or gap.sum() < gap.size, (where, group)
                ours, theirs = ours[~gap], theirs[~gap]
            np.testing.assert_allclose(
                ours,
                theirs,
                rtol=RTOL,
                atol=ATOL,
                equal_nan=True,
                err_msg=f"{where} {name} {group}",
            )


# ---- Malmö's RegSO --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def malmo():
    panel = load_demo_panel().filter(pl.col("kommun") == "1280", pl.col("year").is_in([2020, 2023]))
    boundaries = bundled_boundaries("regso_malmo")
    polygons = dict(
        zip(boundaries["code"], shapely.from_wkb(boundaries["geometry"].to_numpy()), strict=True)
    )
    return panel, boundaries, polygons


@pytest.mark.parametrize("groups", [BORN, TENURE])
def test_malmo_global_distortion_equals_pysal(malmo, groups):
    panel, boundaries, polygons = malmo
    result = bryta.measure(
        panel,
        unit="regso",
        groups=groups,
        by="year",
        indices="global_distortion",
        geometry=boundaries,
    )
    for year in (2020, 2023):
        rows = panel.filter(year=year).sort("regso")
        geoms = np.array([polygons[c] for c in rows["regso"]])
        frame = frame_for(geoms, {g: rows[g].to_numpy() for g in groups})
        expected = quiet(GlobalDistortion, frame, groups).statistic
        ours = result.filter(year=year)["value"].item()
        assert ours == pytest.approx(expected, rel=RTOL), (year, groups)


def test_malmo_global_distortion_with_another_metric(malmo):
    panel, boundaries, polygons = malmo
    rows = panel.filter(year=2023).sort("regso")
    geoms = np.array([polygons[c] for c in rows["regso"]])
    frame = frame_for(geoms, {g: rows[g].to_numpy() for g in TENURE})
    for metric in ("cityblock", "chebyshev"):
        expected = quiet(GlobalDistortion, frame, TENURE, metric=metric).statistic
        ours = bryta.measure(
            rows,
            unit="regso",
            groups=TENURE,
            indices="global_distortion",
            geometry=boundaries,
            metric=metric,
        )["value"].item()
        assert ours == pytest.approx(expected, rel=RTOL), metric
    euclidean = quiet(GlobalDistortion, frame, TENURE).statistic
    assert abs(expected - euclidean) > 1e-6  # the metric does change the value


def test_malmo_local_measures_equal_pysal(malmo):
    panel, boundaries, polygons = malmo
    result = bryta.local_measures(
        panel, unit="regso", groups=TENURE, by="year", geometry=boundaries
    )
    assert result.columns == ["year", "regso", "measure", "group", "value"]
    # one row per unit × measure, per group for the two per-group measures
    assert result.height == 2 * 91 * (5 + 2 * 4)
    for year in (2020, 2023):
        rows = panel.filter(year=year).sort("regso")
        counts = {g: rows[g].to_numpy() for g in TENURE}
        geoms = np.array([polygons[c] for c in rows["regso"]])
        expected = pysal_local(frame_for(geoms, counts), TENURE)
        got = result.filter(year=year)
        assert got["regso"].unique(maintain_order=True).to_list() == rows["regso"].to_list()
        assert_local_equal(got, expected, counts, ("malmö", year))


def test_global_distortion_is_the_weighted_mean_of_the_local(malmo):
    panel, boundaries, _ = malmo
    local = bryta.local_measures(
        panel,
        unit="regso",
        groups=BORN,
        by="year",
        measures="local_distortion",
        geometry=boundaries,
    )
    weights = panel.sort("year", "regso").select(t=pl.col("born_sweden") + pl.col("born_abroad"))
    mean = (
        local.with_columns(weights)
        .group_by("year")
        .agg((pl.col("value") * pl.col("t")).sum() / pl.col("t").sum())
        .sort("year")
    )
    glob = bryta.measure(
        panel,
        unit="regso",
        groups=BORN,
        by="year",
        indices="global_distortion",
        geometry=boundaries,
    ).sort("year")
    np.testing.assert_allclose(mean["value"], glob["value"], rtol=1e-12)


# ---- synthetic grids ------------------------------------------------------------------------


def synthetic(grids, rng, groups=("a", "b", "c")):
    """Counts of three groups in two years on the grids; in year 2 k2 lacks unit 3, in year 1
    k3's unit 5 is empty and group c is absent from k4."""
    codes, polygons, rows = [], [], []
    for kommun, cells in grids.items():
        for i, cell in enumerate(cells):
            code = f"{kommun}u{i:02d}"
            codes.append(code)
            polygons.append(cell)
            for year in (1, 2):
                if year == 2 and kommun == "k2" and i == 3:
                    continue
                shares = rng.dirichlet(np.full(len(groups), 0.6))
                n = rng.multinomial(int(rng.integers(5, 300)), shares)
                if kommun == "k3" and i == 5 and year == 1:
                    n[:] = 0
                if kommun == "k4" and year == 1:
                    n[-1] = 0
                rows.append((kommun, year, code, *map(int, n)))
    boundaries = pl.DataFrame({"code": codes, "geometry": shapely.to_wkb(np.array(polygons))})
    counts = pl.DataFrame(rows, schema=["kommun", "year", "unit", *groups], orient="row")
    return counts, boundaries, dict(zip(codes, polygons, strict=True))


@pytest.fixture(scope="module")
def jittered():
    rng = np.random.default_rng(2020)
    grids = {
        "k1": jitter(squares(5, 4, 400.0), rng, 90.0, (370_000, 6_160_000)),
        "k2": jitter(hexagons(6, 5, 300.0), rng, 60.0, (380_000, 6_170_000)),
        "k3": jitter(hexagons(3, 4, 800.0), rng, 150.0, (390_000, 6_150_000)),
        "k4": jitter(squares(3, 3, 1000.0), rng, 200.0, (360_000, 6_180_000)),
    }
    return synthetic(grids, rng)


@pytest.fixture(scope="module")
def exact():
    """Exact grids at the origin: many units at equal distances from each other."""
    rng = np.random.default_rng(7)
    grids = {
        "k1": squares(6, 5, 100.0),
        "k2": hexagons(5, 4, 100.0),
        "k3": squares(4, 4, 250.0),
        "k4": squares(3, 3, 100.0),
    }
    return synthetic(grids, rng)


@pytest.mark.parametrize("grids", ["jittered", "exact"])
def test_grids_equal_pysal_partition_by_partition(grids, request):
    counts, boundaries, polygons = request.getfixturevalue(grids)
    groups = ["a", "b", "c"]
    glob = bryta.measure(
        counts,
        unit="unit",
        groups=groups,
        by=["kommun", "year"],
        indices="global_distortion",
        geometry=boundaries,
        reasons=True,
    )
    assert glob.filter(pl.col("reason").is_not_null()).height == 0
    local = bryta.local_measures(
        counts, unit="unit", groups=groups, by=["kommun", "year"], geometry=boundaries
    )
    near_origin = grids == "jittered"
    for (kommun, year), rows in counts.group_by(["kommun", "year"]):
        rows = rows.sort("unit")
        geoms = np.array([polygons[c] for c in rows["unit"]])
        values = {g: rows[g].to_numpy() for g in groups}
        frame = frame_for(geoms, values, near_origin)
        expected = quiet(GlobalDistortion, frame, groups).statistic
        ours = glob.filter(kommun=kommun, year=year)["value"].item()
        assert ours == pytest.approx(expected, rel=RTOL), (grids, kommun, year)
        got = local.filter(kommun=kommun, year=year)
        assert_local_equal(got, pysal_local(frame, groups), values, (grids, kommun, year))


def test_exact_grids_have_ties_that_decide_the_value(exact):
    """On an exact grid the order among units at equal distances changes the distortion: a
    stable sort gives another number than PySAL's (and bryta's) numpy argsort."""
    counts, _, polygons = exact
    rows = counts.filter(kommun="k1", year=1).sort("unit")
    x = rows.select("a", "b", "c").to_numpy().astype(float)
    geoms = np.array([polygons[c] for c in rows["unit"]])
    cx, cy = shapely.get_x(shapely.centroid(geoms)), shapely.get_y(shapely.centroid(geoms))
    dist = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :])
    pi = x.sum(axis=0) / x.sum()

    def distortion(kind):
        out = []
        for i in range(len(x)):
            cum = np.cumsum(x[np.argsort(dist[i], kind=kind)], axis=0)
            q = cum / cum.sum(axis=1, keepdims=True)
            with np.errstate(all="ignore"):
                out.append(np.nansum(np.where(q > 0, q * np.log(q / pi), 0.0)))
        return np.array(out)

    stable = distortion("stable")
    ours = bryta.local_measures(
        rows,
        unit="unit",
        groups=["a", "b", "c"],
        measures="local_distortion",
        geometry=pl.DataFrame({"code": rows["unit"], "geometry": shapely.to_wkb(geoms)}),
    )["value"].to_numpy()
    assert np.abs(ours - stable).max() > 1e-6


def test_small_partitions_use_every_unit(exact):
    """With fewer than k + 1 units (PySAL's KNN refuses them) the neighbourhood is the whole
    partition: PySAL's RelativeCentralization centred on the unit."""
    from segregation.singlegroup import RelativeCentralization

    counts, boundaries, polygons = exact
    rows = counts.filter(kommun="k4", year=2).sort("unit").head(4)
    codes = rows["unit"].to_list()
    ours = (
        bryta.local_measures(
            rows,
            unit="unit",
            groups=["a", "b", "c"],
            measures="local_relative_centralization",
            geometry=boundaries.filter(pl.col("code").is_in(codes)),
        )
        .filter(group="a")["value"]
        .to_numpy()
    )
    geoms = np.array([polygons[c] for c in codes])
    t = rows.select(pl.sum_horizontal("a", "b", "c")).to_series().to_numpy()
    frame = frame_for(geoms, {"a": rows["a"].to_numpy(), "t": t}, shift=False)
    for i in range(4):
        expected = quiet(RelativeCentralization, frame, "a", "t", center=i).statistic
        assert ours[i] == pytest.approx(expected, rel=RTOL, abs=ATOL), i
    # k = 2 on a larger partition: two neighbours
    k2 = bryta.local_measures(
        counts.filter(kommun="k1", year=1),
        unit="unit",
        groups=["a", "b", "c"],
        measures="local_relative_centralization",
        geometry=boundaries.filter(pl.col("code").str.starts_with("k1")),
        k=2,
    )
    assert k2.height == 30 * 3 and k2["value"].is_not_nan().sum() > 0


# ---- aspatial measures on random tables -----------------------------------------------------


def test_random_tables_equal_pysal():
    rng = np.random.default_rng(44)
    frames = []
    for part in range(6):
        n_units, n_groups = int(rng.integers(2, 40)), 4
        shares = rng.dirichlet(np.full(n_groups, 0.5), size=n_units)
        sizes = rng.integers(0, 500, size=n_units)
        counts = np.array([rng.multinomial(s, p) for s, p in zip(sizes, shares, strict=True)])
        if part == 2:
            counts[:, 3] = 0  # a group absent from the partition
        frames.append(
            pl.DataFrame(counts, schema=["g1", "g2", "g3", "g4"], orient="row").with_columns(
                part=pl.lit(part), unit=pl.Series([f"u{i:02d}" for i in range(n_units)])
            )
        )
    table = pl.concat(frames)
    groups = ["g1", "g2", "g3", "g4"]
    result = bryta.local_measures(table, unit="unit", groups=groups, by="part")
    assert set(result["measure"]) == set(PER_UNIT) | {"multi_location_quotient"}
    for part, rows in table.group_by("part"):
        values = {g: rows[g].to_numpy() for g in groups}
        frame = gpd.GeoDataFrame(values)
        expected = {name: quiet(cls, frame, groups).statistics for name, cls in PER_UNIT.items()}
        lq = quiet(L.MultiLocationQuotient, frame, groups).statistics
        expected["multi_location_quotient"] = {g: lq[:, j] for j, g in enumerate(groups)}
        assert_local_equal(result.filter(part=part[0]), expected, values, part)


def test_worked_example_by_hand():
    from bryta.compute.segregation._examples import example_counts

    out = bryta.local_measures(example_counts(), unit="unit", groups=["a", "b"])
    u1 = out.filter(unit="u1")
    value = dict(zip(u1["measure"] + "/" + u1["group"].fill_null(""), u1["value"], strict=True))
    # u1 = (30, 10): p = (0.75, 0.25), the partition's shares (0.5, 0.5)
    h = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    assert value["multi_local_diversity/"] == pytest.approx(h)
    assert value["multi_local_entropy/"] == pytest.approx(h / np.log(2))
    assert value["multi_local_simpson_concentration/"] == pytest.approx(0.625)
    assert value["multi_local_simpson_interaction/"] == pytest.approx(0.375)
    assert value["multi_location_quotient/a"] == pytest.approx(1.5)
    assert value["multi_location_quotient/b"] == pytest.approx(0.5)


# ---- errors, command line, docs -------------------------------------------------------------


def test_spatial_measures_need_boundaries_and_names_are_checked(jittered):
    counts, boundaries, _ = jittered
    with pytest.raises(InputError, match=r"'local_distortion' need unit boundaries"):
        bryta.local_measures(counts, unit="unit", groups=["a", "b"], measures="local_distortion")
    with pytest.raises(InputError, match=r"unknown local measure 'local_divergence'"):
        bryta.local_measures(counts, unit="unit", groups=["a", "b"], measures="local_divergence")
    with pytest.raises(InputError, match="metric must be"):
        bryta.measure(
            counts,
            unit="unit",
            groups=["a", "b"],
            by=["kommun", "year"],
            indices="global_distortion",
            geometry=boundaries,
            metric="manhattanish",
        )
    with pytest.raises(InputError, match="k must be"):
        bryta.local_measures(counts, unit="unit", groups=["a", "b"], k=0)
    with pytest.raises(InputError, match=r"'global_distortion' need unit boundaries"):
        bryta.measure(counts, unit="unit", groups=["a", "b"], indices="global_distortion")


def test_cli_local_measures_and_unchanged_default(malmo, tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app
    from bryta.geography.boundaries import write_geoparquet

    panel, boundaries, _ = malmo
    counts = tmp_path / "malmo.csv"
    panel.filter(year=2023).write_csv(counts)
    shapes = tmp_path / "regso.parquet"
    write_geoparquet(boundaries.with_columns(name=pl.lit("x")), shapes)
    runner = CliRunner()
    base = ["local", str(counts), "--unit", "regso", "--groups", ",".join(BORN)]
    plain = runner.invoke(app, [*base, "-o", str(tmp_path / "plain.csv")])
    assert plain.exit_code == 0, plain.output
    default = pl.read_csv(tmp_path / "plain.csv")
    assert default.columns == ["regso", "regso_name", "ls", "p"]
    out = tmp_path / "local.csv"
    res = runner.invoke(
        app,
        [
            *base,
            "--measures",
            "all",
            "--boundaries",
            str(shapes),
            "--boundary-code",
            "code",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    ours = bryta.local_measures(
        panel.filter(year=2023), unit="regso", groups=BORN, geometry=boundaries
    )
    assert got.height == ours.height == 91 * (5 + 2 * 2)
    np.testing.assert_allclose(got["value"], ours["value"], rtol=1e-12)
    bad = runner.invoke(app, [*base, "--boundaries", str(shapes), "--boundary-code", "code"])
    assert bad.exit_code != 0 and "need --measures" in bad.output
    spatial = runner.invoke(app, [*base, "--measures", "local_distortion"])
    assert spatial.exit_code == 2 and "need unit boundaries" in spatial.output


def test_indices_lists_global_distortion():
    from typer.testing import CliRunner

    from bryta.cli import app

    res = CliRunner().invoke(app, ["indices", "--markdown", "--spatial"])
    assert res.exit_code == 0 and "`global_distortion`" in res.output
