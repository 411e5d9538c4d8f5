"""The spatial single-group indices against PySAL ``segregation`` 2.5, and the geometry layer.

PySAL computes one region at a time; bryta computes every partition in one pass. Each
partition's value must equal PySAL's for that region alone, to 1e-10 relative.

PySAL gets the same polygons moved near the origin (all coordinates less the corner of their
bounding box). Distances, areas and centroids do not change, but PySAL's distance matrix
(scikit-learn's ``euclidean_distances``, which expands |a − b|² = |a|² + |b|² − 2a·b) loses
about eight digits at SWEREF 99 TM's coordinates of 6 · 10⁶ m; near the origin it keeps them.
bryta takes differences of coordinates and does not lose them.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import shapely

import bryta
from bryta.compute.spatial.indices import SPATIAL_REGISTRY
from bryta.datasets import load_demo_panel
from bryta.errors import InputError
from bryta.geography.boundaries import bundled_boundaries, write_geoparquet
from tests.polygon_grids import hexagons, jitter, near_origin, squares

segregation = pytest.importorskip("segregation")
gpd = pytest.importorskip("geopandas")

from segregation import singlegroup as S  # noqa: E402

assert segregation.__version__.startswith("2.5"), segregation.__version__

PYSAL = {
    "absolute_concentration": S.AbsoluteConcentration,
    "relative_concentration": S.RelativeConcentration,
    "delta": S.Delta,
    "absolute_centralization": S.AbsoluteCentralization,
    "relative_centralization": S.RelativeCentralization,
    "boundary_spatial_dissimilarity": S.BoundarySpatialDissim,
    "perimeter_area_ratio_spatial_dissimilarity": S.PARDissim,
    "spatial_proximity": S.SpatialProximity,
    "absolute_clustering": S.AbsoluteClustering,
    "relative_clustering": S.RelativeClustering,
    "distance_decay_isolation": S.DistanceDecayIsolation,
    "distance_decay_exposure": S.DistanceDecayInteraction,
    "spatial_proximity_profile": S.SpatialProxProf,
}
RTOL, ATOL = 1e-10, 1e-13


def test_every_spatial_index_has_a_pysal_counterpart():
    # the multigroup global_distortion is checked in tests/test_local_pysal.py
    single = [name for name, spec in SPATIAL_REGISTRY.items() if spec.kind == "two_group"]
    assert list(PYSAL) == single


def pysal_values(geoms, x, t, **kwargs):
    """PySAL's value of every index for one region (polygons moved near the origin)."""
    frame = gpd.GeoDataFrame({"x": x, "t": t}, geometry=near_origin(geoms), crs="EPSG:3006")
    out = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name, cls in PYSAL.items():
            out[name] = cls(frame, "x", "t", **kwargs.get(name, {})).statistic
    return out


# ---- Malmö's RegSO: bundled boundaries and counts -------------------------------------------


@pytest.fixture(scope="module")
def malmo():
    panel = load_demo_panel().filter(pl.col("kommun") == "1280", pl.col("year").is_in([2020, 2023]))
    return panel, bundled_boundaries("regso_malmo")


def test_malmo_regso_equals_pysal(malmo):
    panel, boundaries = malmo
    result = bryta.measure(
        panel,
        unit="regso",
        groups=["born_sweden", "born_abroad"],
        by="year",
        indices=list(SPATIAL_REGISTRY),
        geometry=boundaries,
    )
    geoms = dict(
        zip(boundaries["code"], shapely.from_wkb(boundaries["geometry"].to_numpy()), strict=True)
    )
    for year in (2020, 2023):
        rows = panel.filter(year=year).sort("regso")
        polygons = np.array([geoms[c] for c in rows["regso"]])
        total = (rows["born_sweden"] + rows["born_abroad"]).to_numpy()
        for focal in ("born_abroad", "born_sweden"):
            expected = pysal_values(polygons, rows[focal].to_numpy(), total)
            got = result.filter(year=year, group=focal)
            for name, value in expected.items():
                ours = got.filter(index=name)["value"].item()
                assert ours == pytest.approx(value, rel=RTOL, abs=ATOL), (year, focal, name)


def test_malmo_parameters_equal_pysal(malmo):
    panel, boundaries = malmo
    rows = panel.filter(year=2023).sort("regso")
    geoms = dict(
        zip(boundaries["code"], shapely.from_wkb(boundaries["geometry"].to_numpy()), strict=True)
    )
    polygons = np.array([geoms[c] for c in rows["regso"]])
    total = (rows["born_sweden"] + rows["born_abroad"]).to_numpy()
    x = rows["born_abroad"].to_numpy()
    for center in ("median", "population_weighted_mean", "largest_population"):
        for name in ("absolute_centralization", "relative_centralization"):
            frame = gpd.GeoDataFrame({"x": x, "t": total}, geometry=polygons, crs="EPSG:3006")
            expected = PYSAL[name](frame, "x", "t", center=center).statistic
            got = bryta.measure(
                rows,
                unit="regso",
                groups=["born_sweden", "born_abroad"],
                indices=name,
                focal="born_abroad",
                geometry=boundaries,
                center=center,
            )["value"].item()
            assert got == pytest.approx(expected, rel=RTOL), (center, name)
    kwargs = {
        "spatial_proximity": {"alpha": 0.002, "beta": 0.3},
        "absolute_clustering": {"alpha": 0.002, "beta": 0.3},
        "relative_clustering": {"alpha": 0.002, "beta": 0.3},
        "distance_decay_isolation": {"alpha": 0.002, "beta": 0.3},
        "distance_decay_exposure": {"alpha": 0.002, "beta": 0.3},
        "boundary_spatial_dissimilarity": {"standardize": False},
        "perimeter_area_ratio_spatial_dissimilarity": {"standardize": False},
        "spatial_proximity_profile": {"m": 50},
    }
    expected = pysal_values(polygons, x, total, **kwargs)
    got = bryta.measure(
        rows,
        unit="regso",
        groups=["born_sweden", "born_abroad"],
        indices=list(kwargs),
        focal="born_abroad",
        geometry=boundaries,
        alpha=0.002,
        beta=0.3,
        standardize=False,
        profile_steps=50,
    )
    for name in kwargs:
        ours = got.filter(index=name)["value"].item()
        assert ours == pytest.approx(expected[name], rel=RTOL, abs=ATOL), name


# ---- synthetic polygon grids ----------------------------------------------------------------


@pytest.fixture(scope="module")
def country():
    """Four partitions (two grids of squares, two of hexagons) in two years; in the second
    year one partition lacks a unit, so its geometry differs from the first year's."""
    rng = np.random.default_rng(20)
    grids = {
        "k1": jitter(squares(5, 4, 400.0), rng, 90.0, (370_000, 6_160_000)),
        "k2": jitter(hexagons(6, 5, 300.0), rng, 60.0, (380_000, 6_170_000)),
        "k3": jitter(hexagons(3, 4, 800.0), rng, 150.0, (390_000, 6_150_000)),
        "k4": jitter(squares(3, 3, 1000.0), rng, 200.0, (360_000, 6_180_000)),
    }
    codes, polygons, rows = [], [], []
    for kommun, cells in grids.items():
        for i, cell in enumerate(cells):
            code = f"{kommun}u{i:02d}"
            codes.append(code)
            polygons.append(cell)
            for year in (1, 2):
                if year == 2 and kommun == "k2" and i == 3:
                    continue
                size = rng.integers(20, 400)
                a = int(rng.binomial(size, rng.beta(1.5, 3)))
                empty = kommun == "k3" and i == 5 and year == 1
                rows.append((kommun, year, code, 0 if empty else a, 0 if empty else size - a))
    boundaries = pl.DataFrame({"code": codes, "geometry": shapely.to_wkb(np.array(polygons))})
    counts = pl.DataFrame(rows, schema=["kommun", "year", "unit", "a", "b"], orient="row")
    return counts, boundaries, dict(zip(codes, polygons, strict=True))


def test_synthetic_grids_equal_pysal_partition_by_partition(country):
    counts, boundaries, polygons = country
    result = bryta.measure(
        counts,
        unit="unit",
        groups=["a", "b"],
        by=["kommun", "year"],
        indices=list(SPATIAL_REGISTRY),
        geometry=boundaries,
        reasons=True,
    )
    assert result.filter(pl.col("reason").is_not_null()).height == 0
    for (kommun, year), rows in counts.group_by(["kommun", "year"]):
        rows = rows.sort("unit")
        geoms = np.array([polygons[c] for c in rows["unit"]])
        total = (rows["a"] + rows["b"]).to_numpy()
        expected = pysal_values(geoms, rows["a"].to_numpy(), total)
        if (total == 0).any():
            # PySAL compiles the profile's threshold test with fastmath, under which an empty
            # unit's share 0/0 passes every threshold; bryta leaves empty units out of the
            # thresholded sets (they still carry paths): checked against the formula instead
            expected["spatial_proximity_profile"] = profile_by_formula(
                geoms, rows["a"].to_numpy(), total
            )
        got = result.filter(kommun=kommun, year=year, group="a")
        for name, value in expected.items():
            ours = got.filter(index=name)["value"].item()
            assert ours == pytest.approx(value, rel=RTOL, abs=ATOL), (kommun, year, name)


def profile_by_formula(geoms, x, t, steps=1000):
    """The spatial proximity profile in plain loops: queen neighbours by shared points,
    path lengths by breadth-first search, empty units in no thresholded set."""
    n = len(geoms)
    near = [
        [j for j in range(n) if j != i and shapely.intersects(geoms[i], geoms[j])] for i in range(n)
    ]
    hops = np.full((n, n), np.inf)
    for i in range(n):
        hops[i, i], frontier = 0, [i]
        while frontier:
            nxt = []
            for u in frontier:
                for v in near[u]:
                    if hops[i, v] == np.inf:
                        hops[i, v] = hops[i, u] + 1
                        nxt.append(v)
            frontier = nxt
    share = [x[i] / t[i] if t[i] > 0 else None for i in range(n)]
    ratio = x.sum() / t.sum()
    low = high = 0.0
    for level in np.linspace(0, 1, steps):
        inside = [i for i in range(n) if share[i] is not None and share[i] >= level]
        k = len(inside)
        den = sum(hops[i, j] for i in inside for j in inside)
        eta = (k * k - k) / den if k >= 2 and np.isfinite(den) else 0.0
        low, high = (low + eta, high) if level < ratio else (low, high + eta)
    return (ratio - (low / steps - high / steps)) / (1 - ratio)


def test_geometry_is_built_once_per_distinct_set_of_units(country):
    from bryta.compute.segregation.counts import prepare_counts
    from bryta.compute.spatial.geometry import build_geometry

    counts, boundaries, _ = country
    prepared = prepare_counts(counts, unit="unit", groups=["a", "b"], by=["kommun", "year"])
    geo = build_geometry(prepared, boundaries, None)
    # 8 partitions; k2 lacks a unit in year 2, so 5 distinct sets of units
    assert geo.n_partitions == 8
    assert geo.g_offset.size - 1 == 5
    assert geo.n_units == 20 + 30 + 12 + 9 + 29


def test_grids_given_as_a_geodataframe_and_a_geoparquet_file(country, tmp_path):
    counts, boundaries, polygons = country
    one = counts.filter(kommun="k2", year=1)
    ours = {}
    frame = gpd.GeoDataFrame(
        {"kod": boundaries["code"].to_list()}, geometry=list(polygons.values()), crs="EPSG:3006"
    )
    frame = frame[frame["kod"].str.startswith("k2")]
    ours["gdf"] = bryta.measure(
        one,
        unit="unit",
        groups=["a", "b"],
        indices=["delta", "spatial_proximity"],
        geometry=frame,
        geometry_code="kod",
    )
    path = tmp_path / "k2.parquet"
    write_geoparquet(
        boundaries.filter(pl.col("code").str.starts_with("k2")).with_columns(name=pl.lit("x")),
        path,
    )
    ours["file"] = bryta.measure(
        one,
        unit="unit",
        groups=["a", "b"],
        indices=["delta", "spatial_proximity"],
        geometry=path,
        geometry_code="code",
    )
    plain = bryta.measure(
        one,
        unit="unit",
        groups=["a", "b"],
        indices=["delta", "spatial_proximity"],
        geometry=boundaries.filter(pl.col("code").str.starts_with("k2")),
    )
    for got in ours.values():
        np.testing.assert_allclose(got["value"].to_numpy(), plain["value"].to_numpy(), rtol=1e-12)


# ---- errors ---------------------------------------------------------------------------------


def test_units_without_geometry_and_geometry_without_units_are_named(country, tmp_path):
    counts, boundaries, _ = country
    some = boundaries.filter(~pl.col("code").str.starts_with("k1"))
    with pytest.raises(
        InputError,
        match=r"20 units of the counts have no geometry.*k1u00, "
        r"k1u01.*k1u09 and 10 more",
    ):
        bryta.measure(
            counts,
            unit="unit",
            groups=["a", "b"],
            by=["kommun", "year"],
            indices="delta",
            geometry=some,
        )
    path = tmp_path / "all.parquet"
    write_geoparquet(boundaries.with_columns(name=pl.lit("x")), path)
    with pytest.raises(
        InputError, match=rf"{path}: 9 areas in column 'code' have no counts.*k4u00"
    ):
        bryta.measure(
            counts.filter(pl.col("kommun") != "k4", year=1),
            unit="unit",
            groups=["a", "b"],
            indices="delta",
            geometry=path,
            geometry_code="code",
        )


def test_spatial_index_without_boundaries_is_refused(country):
    counts, _, _ = country
    with pytest.raises(InputError, match=r"'delta' need unit boundaries.*--boundaries"):
        bryta.measure(counts, unit="unit", groups=["a", "b"], indices="delta")
    # all indices without boundaries: the aspatial ones only
    plain = bryta.measure(counts, unit="unit", groups=["a", "b"], by=["kommun", "year"])
    assert not set(plain["index"]) & set(SPATIAL_REGISTRY)


def test_bad_center_is_refused(country):
    counts, boundaries, _ = country
    with pytest.raises(InputError, match="center must be one of"):
        bryta.measure(
            counts,
            unit="unit",
            groups=["a", "b"],
            by=["kommun", "year"],
            indices="absolute_centralization",
            geometry=boundaries,
            center="middle",
        )


# ---- command line and docs ------------------------------------------------------------------


def test_cli_measure_with_boundaries(malmo, tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app

    panel, boundaries = malmo
    counts = tmp_path / "malmo.csv"
    panel.filter(year=2023).write_csv(counts)
    shapes = tmp_path / "regso.parquet"
    write_geoparquet(boundaries.rename({"code": "regsokod"}), shapes)
    out = tmp_path / "out.csv"
    args = [
        "measure",
        str(counts),
        "--unit",
        "regso",
        "--groups",
        "born_sweden,born_abroad",
        "--focal",
        "born_abroad",
        "--index",
        "delta",
        "--index",
        "spatial_proximity",
        "--boundaries",
        str(shapes),
        "--boundary-code",
        "regsokod",
        "-o",
        str(out),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    expected = bryta.measure(
        panel.filter(year=2023),
        unit="regso",
        groups=["born_sweden", "born_abroad"],
        focal="born_abroad",
        indices=["delta", "spatial_proximity"],
        geometry=boundaries,
    )
    np.testing.assert_allclose(got["value"].to_numpy(), expected["value"].to_numpy(), rtol=1e-12)
    res = CliRunner().invoke(app, [*args[:-6], "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2
    assert "need unit boundaries" in res.output


def test_docs_list_every_spatial_index():
    from pathlib import Path

    from bryta.cli.measure import spatial_indices_markdown

    text = (Path(__file__).parent.parent / "docs" / "indices.md").read_text()
    assert spatial_indices_markdown() in text, "run: uv run bryta indices --markdown --spatial"
    for name in SPATIAL_REGISTRY:
        assert f"| `{name}` | PySAL gives" in text or f"`{name}`" in text
