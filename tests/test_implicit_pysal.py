"""PySAL's spatially implicit indices (aspatial indices on kernel egohoods) against bryta.

PySAL ``segregation`` 2.5 computes an aspatial index on egohoods when given ``distance=``
(libpysal's ``Kernel`` over the polygons' centroids, ``function=`` its kernel) or ``w=``: every
group's count is replaced by its rounded spatial lag, the unit itself weighted 1. PySAL does
one region at a time; bryta measures every partition in one call. Each partition's value must
equal PySAL's for that region alone, to 1e-10 relative.

Unlike the spatial indices (tests/test_spatial_pysal.py), PySAL gets the polygons where they
are: the kernel uses a k-d tree's distances, which are differences of coordinates and keep
their digits at SWEREF 99 TM's 6 · 10⁶ m; moving the polygons would move the centroids by
rounding and could move a neighbour across the bandwidth.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
import shapely

import bryta
from bryta.compute.segregation.indices import REGISTRY
from bryta.datasets import load_demo_panel
from bryta.errors import InputError
from bryta.geography.boundaries import bundled_boundaries

segregation = pytest.importorskip("segregation")
gpd = pytest.importorskip("geopandas")

from segregation import multigroup as M  # noqa: E402
from segregation import singlegroup as S  # noqa: E402

assert segregation.__version__.startswith("2.5"), segregation.__version__

#: bryta's two-group indices and PySAL's deterministic single-group classes that accept
#: distance= (hutchens_square_root is not in PySAL; the simulation-based ones are random).
SINGLE = {
    "dissimilarity": S.Dissim,
    "gini": S.Gini,
    "entropy": S.Entropy,
    "isolation": S.Isolation,
    "exposure": S.Interaction,
    "atkinson": S.Atkinson,
    "correlation_ratio": S.CorrelationR,
    "con_prof": S.ConProf,
    "min_max": S.MinMax,
    "density_corrected_dissimilarity": S.DensityCorrectedDissim,
}
MULTI = {
    "mutual_information": M.MultiDivergence,
    "multigroup_divergence": M.MultiDivergence,
    "theil_h": M.MultiInfoTheory,
    "multigroup_dissimilarity": M.MultiDissim,
    "multigroup_gini": M.MultiGini,
    "normalized_exposure": M.MultiNormExposure,
    "relative_diversity": M.MultiRelativeDiversity,
    "squared_coefficient_of_variation": M.MultiSquaredCoefVar,
    "simpson_concentration": M.SimpsonsConcentration,
    "simpson_interaction": M.SimpsonsInteraction,
    "diversity": M.MultiDiversity,
}
SINGLE = {name: cls for name, cls in SINGLE.items() if name in REGISTRY}
MULTI = {name: cls for name, cls in MULTI.items() if name in REGISTRY}
KERNELS = ["triangular", "uniform", "quadratic", "quartic", "gaussian"]
BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
RTOL, ATOL = 1e-10, 1e-13


@pytest.fixture(autouse=True)
def _quiet_pysal():
    """PySAL divides by zero on purpose in places and libpysal warns of islands."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def test_every_deterministic_aspatial_index_is_compared():
    deterministic = {n for n, s in REGISTRY.items() if not s.simulated}
    assert deterministic - set(SINGLE) - set(MULTI) == {"hutchens_square_root"}


def pysal_frame(polygons, table: pl.DataFrame, groups: list[str]):
    data = {g: table[g].to_numpy() for g in groups}
    data["total"] = sum(data.values())
    return gpd.GeoDataFrame(data, geometry=list(polygons), crs="EPSG:3006")


def pysal_values(frame, groups, focal, names, **kwargs) -> dict[tuple[str, str | None], float]:
    """PySAL's value of every named index for one region."""
    out: dict[tuple[str, str | None], float] = {}
    for name in names:
        if name in SINGLE:
            for g in focal:
                out[name, g] = SINGLE[name](frame, g, "total", **kwargs).statistic
        else:
            out[name, None] = MULTI[name](frame, groups, **kwargs).statistic
    return out


def assert_equal(result: pl.DataFrame, expected: dict, **keys) -> None:
    for (name, group), want in expected.items():
        rows = result.filter(index=name, **keys)
        rows = rows.filter(pl.col("group").is_null() if group is None else pl.col("group") == group)
        got = rows["value"].item()
        if math.isnan(want):
            assert math.isnan(got), (keys, name, group, got)
        else:
            assert got == pytest.approx(want, rel=RTOL, abs=ATOL), (keys, name, group)


# ---- Malmö's RegSO: bundled boundaries and counts -------------------------------------------


@pytest.fixture(scope="module")
def malmo():
    panel = load_demo_panel().filter(pl.col("kommun") == "1280", pl.col("year").is_in([2020, 2023]))
    boundaries = bundled_boundaries("regso_malmo")
    polygons = dict(
        zip(boundaries["code"], shapely.from_wkb(boundaries["geometry"].to_numpy()), strict=True)
    )
    return panel, boundaries, polygons


@pytest.mark.parametrize("groups", [BIRTH, TENURE], ids=["birth_region", "tenure"])
def test_malmo_regso_equals_pysal(malmo, groups):
    """Every index, two years in one call, PySAL's default kernel (triangular)."""
    panel, boundaries, polygons = malmo
    names = [*SINGLE, *MULTI]
    result = bryta.measure(
        panel,
        unit="regso",
        groups=groups,
        by="year",
        indices=names,
        geometry=boundaries,
        distance=2000,
    )
    for year in (2020, 2023):
        rows = panel.filter(year=year).sort("regso")
        frame = pysal_frame([polygons[c] for c in rows["regso"]], rows, groups)
        focal = groups if len(groups) == 2 else groups[:1]
        expected = pysal_values(frame, groups, focal, names, distance=2000)
        assert_equal(result, expected, year=year)


@pytest.mark.parametrize("kernel", KERNELS)
def test_malmo_every_kernel_equals_pysal(malmo, kernel):
    panel, boundaries, polygons = malmo
    names = ["dissimilarity", "gini", "min_max", "theil_h", "multigroup_dissimilarity"]
    result = bryta.measure(
        panel.filter(year=2023),
        unit="regso",
        groups=BIRTH,
        indices=names,
        geometry=boundaries,
        distance=1500,
        kernel=kernel,
    )
    rows = panel.filter(year=2023).sort("regso")
    frame = pysal_frame([polygons[c] for c in rows["regso"]], rows, BIRTH)
    expected = pysal_values(frame, BIRTH, BIRTH, names, distance=1500, function=kernel)
    assert_equal(result, expected)


def test_malmo_egohoods_change_the_value(malmo):
    """A check of the check: the egohood values are not the aspatial ones."""
    panel, boundaries, _ = malmo
    rows = panel.filter(year=2023)
    kw = {"unit": "regso", "groups": BIRTH, "indices": "dissimilarity", "focal": "born_abroad"}
    plain = bryta.measure(rows, **kw)["value"].item()
    smooth = bryta.measure(rows, geometry=boundaries, distance=2000, **kw)["value"].item()
    assert smooth < plain - 0.05


# ---- synthetic grids: partitions of different sizes, measured together ---------------------


def grid(prefix: str, nx: int, ny: int, origin: tuple[float, float], side: float = 1000.0):
    codes, polygons = [], []
    for r in range(ny):
        for c in range(nx):
            x0, y0 = origin[0] + c * side, origin[1] + r * side
            codes.append(f"{prefix}{r:02d}{c:02d}")
            polygons.append(shapely.box(x0, y0, x0 + side, y0 + side))
    return codes, polygons


@pytest.fixture(scope="module")
def grids():
    """Four regions of 3×3 to 8×6 squares of 1 km (centroid distances of exactly 1000 m,
    1414 m, 2000 m …), three groups, one region with an empty unit, one with an empty unit
    whose neighbours are empty too."""
    rng = np.random.default_rng(7)
    frames, codes_all, polygons_all = [], [], []
    for k, (nx, ny) in enumerate([(3, 3), (5, 4), (8, 6), (4, 7)]):
        codes, polygons = grid(f"R{k}", nx, ny, (400_000 + 50_000 * k, 6_150_000))
        n = len(codes)
        size = rng.integers(20, 800, size=n)
        mix = rng.dirichlet([0.6, 0.6, 0.6], size=n)
        counts = np.array([rng.multinomial(s, p) for s, p in zip(size, mix, strict=True)])
        if k == 1:
            counts[3] = 0
        if k == 2:
            counts[[0, 1, 8, 9]] = 0  # a corner of empty units
        frames.append(
            pl.DataFrame(
                {
                    "region": f"R{k}",
                    "unit": codes,
                    "a": counts[:, 0],
                    "b": counts[:, 1],
                    "c": counts[:, 2],
                }
            )
        )
        codes_all += codes
        polygons_all += polygons
    table = pl.concat(frames)
    boundaries = pl.DataFrame({"code": codes_all, "geometry": shapely.to_wkb(polygons_all)})
    return table, boundaries, dict(zip(codes_all, polygons_all, strict=True))


@pytest.mark.parametrize(
    ("distance", "kernel"),
    [
        (1000, "uniform"),  # neighbours exactly at the bandwidth count (d ≤ h)
        (1000, "gaussian"),
        (1500, "triangular"),
        (2000, "quadratic"),  # z = ½ for the second ring: weights with ties at .5
        (2500, "quartic"),
        (400, "triangular"),  # no neighbours: the aspatial values, empty units stay empty
    ],
)
def test_grids_equal_pysal(grids, distance, kernel):
    table, boundaries, polygons = grids
    groups = ["a", "b", "c"]
    names = [*SINGLE, *MULTI]
    result = bryta.measure(
        table,
        unit="unit",
        groups=groups,
        by="region",
        indices=names,
        geometry=boundaries,
        distance=distance,
        kernel=kernel,
    )
    for region in table["region"].unique().sort():
        rows = table.filter(region=region).sort("unit")
        frame = pysal_frame([polygons[c] for c in rows["unit"]], rows, groups)
        expected = pysal_values(frame, groups, ["a"], names, distance=distance, function=kernel)
        assert_equal(result, expected, region=region)


def test_smoothed_counts_by_hand():
    """Three units in a row 1 km apart, uniform kernel of 1 km: each unit gets half of its
    neighbours' counts, rounded half to even; the totals are rounded on their own."""
    from bryta.compute.segregation.counts import prepare_counts
    from bryta.compute.spatial.implicit import egohood_counts

    table = pl.DataFrame({"unit": ["u1", "u2", "u3"], "a": [3, 1, 0], "b": [0, 2, 5]})
    boundaries = pl.DataFrame(
        {
            "code": ["u1", "u2", "u3"],
            "geometry": shapely.to_wkb(
                [shapely.box(k * 1000, 0, k * 1000 + 10, 10) for k in (0, 1, 2)]
            ),
        }
    )
    prepared = prepare_counts(table, unit="unit", groups=["a", "b"], by=None)
    smooth = egohood_counts(prepared, geometry=boundaries, distance=1000, kernel="uniform")
    # a: 3 + 0.5 = 3.5 → 4, 1 + 1.5 = 2.5 → 2, 0 + 0.5 = 0.5 → 0
    # b: 0 + 1 = 1, 2 + 2.5 = 4.5 → 4, 5 + 1 = 6
    assert smooth.values.tolist() == [[4, 1], [2, 4], [0, 6]]
    # t: 3 + 1.5 = 4.5 → 4, 3 + 4 = 7, 5 + 1.5 = 6.5 → 6
    assert smooth.total.tolist() == [4, 7, 6]


# ---- w=: a weights table --------------------------------------------------------------------


def test_weights_table_equals_pysal_w(malmo):
    """Queen contiguity, k nearest neighbours (asymmetric) and an adaptive kernel (its own
    diagonal, replaced by 1), as tables, against PySAL's w=."""
    from libpysal.weights import KNN, Kernel, Queen

    panel, _, polygons = malmo
    rows = panel.filter(year=2023).sort("regso")
    frame = pysal_frame([polygons[c] for c in rows["regso"]], rows, BIRTH)
    codes = rows["regso"].to_list()
    names = ["dissimilarity", "min_max", "isolation", "theil_h", "multigroup_gini"]
    for w in (
        Queen.from_dataframe(frame, use_index=True),
        KNN.from_dataframe(frame, k=4),
        Kernel.from_dataframe(frame, fixed=False, k=6, function="gaussian"),
    ):
        adj = w.to_adjlist(drop_islands=True)
        table = pl.DataFrame(
            {
                "unit_i": [codes[i] for i in adj["focal"]],
                "unit_j": [codes[j] for j in adj["neighbor"]],
                "weight": adj["weight"].to_numpy(),
            }
        )
        result = bryta.measure(rows, unit="regso", groups=BIRTH, indices=names, w=table)
        expected = pysal_values(frame, BIRTH, BIRTH, names, w=w)
        assert_equal(result, expected)


def test_weights_table_per_partition():
    """With the by columns in the weights table, each partition has its own weights."""
    table = pl.DataFrame(
        {
            "year": [1, 1, 1, 2, 2, 2],
            "unit": ["u1", "u2", "u3"] * 2,
            "a": [10, 0, 0, 10, 0, 0],
            "b": [0, 10, 10, 0, 10, 10],
        }
    )
    w = pl.DataFrame(
        {"year": [1, 1], "unit_i": ["u2", "u1"], "unit_j": ["u1", "u2"], "weight": [1.0, 1.0]}
    )
    out = bryta.measure(
        table, unit="unit", groups=["a", "b"], by="year", indices="dissimilarity", focal="a", w=w
    )
    # year 1: u1 = (10, 10), u2 = (10, 10), u3 = (0, 10): D = ½ (|½ − ⅓| + |½ − ⅓| + |0 − ⅓|) = ⅓
    assert out.filter(year=1)["value"].item() == pytest.approx(1 / 3, rel=1e-12)
    assert out.filter(year=2)["value"].item() == pytest.approx(1.0, rel=1e-12)


# ---- errors ---------------------------------------------------------------------------------


def test_refusals(malmo):
    panel, boundaries, _ = malmo
    rows = panel.filter(year=2023)
    kw = {"unit": "regso", "groups": BIRTH}
    with pytest.raises(InputError, match="needs unit boundaries"):
        bryta.measure(rows, distance=1000, **kw)
    for bad in (-5, 0, float("nan"), float("inf"), "1000", True):
        with pytest.raises(InputError, match="positive number of metres"):
            bryta.measure(rows, geometry=boundaries, distance=bad, **kw)
    with pytest.raises(InputError, match="unknown kernel 'epanechnikov'"):
        bryta.measure(rows, geometry=boundaries, distance=1000, kernel="epanechnikov", **kw)
    with pytest.raises(InputError, match="'delta' cannot be computed on egohoods"):
        bryta.measure(rows, geometry=boundaries, distance=1000, indices=["gini", "delta"], **kw)
    with pytest.raises(InputError, match="needs distance="):
        bryta.measure(rows, kernel="gaussian", **kw)
    w = pl.DataFrame({"unit_i": ["x"], "unit_j": ["y"], "weight": [1.0]})
    with pytest.raises(InputError, match="not both"):
        bryta.measure(rows, geometry=boundaries, distance=1000, w=w, **kw)
    with pytest.raises(InputError, match="not in the counts: x, y"):
        bryta.measure(rows, w=w, **kw)
    with pytest.raises(InputError, match=r"w: column 'weight' has missing, negative.*row 1"):
        bryta.measure(rows, w=w.with_columns(weight=pl.lit(-1.0)), **kw)


def test_all_indices_on_egohoods_are_the_aspatial_ones(malmo):
    panel, boundaries, _ = malmo
    out = bryta.measure(
        panel.filter(year=2023), unit="regso", groups=BIRTH, geometry=boundaries, distance=1000
    )
    default = bryta.measure(panel.filter(year=2023), unit="regso", groups=BIRTH)
    assert out["index"].unique().sort().to_list() == default["index"].unique().sort().to_list()


# ---- the command line -----------------------------------------------------------------------


def test_cli_distance_and_kernel(malmo, tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app
    from bryta.geography.boundaries import write_geoparquet

    panel, boundaries, polygons = malmo
    counts = tmp_path / "malmo.csv"
    panel.filter(year=2023).write_csv(counts)
    shapes = tmp_path / "regso.parquet"
    write_geoparquet(boundaries.rename({"code": "regsokod"}), shapes)
    out = tmp_path / "out.csv"
    base = ["measure", str(counts), "--unit", "regso", "--groups", "born_sweden,born_abroad"]
    geo = ["--boundaries", str(shapes), "--boundary-code", "regsokod"]
    args = [*base, "--focal", "born_abroad", "--index", "dissimilarity", "--index", "theil_h"]
    res = CliRunner().invoke(
        app, [*args, *geo, "--distance", "2000", "--kernel", "gaussian", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    rows = panel.filter(year=2023).sort("regso")
    frame = pysal_frame([polygons[c] for c in rows["regso"]], rows, BIRTH)
    want = pysal_values(
        frame,
        BIRTH,
        ["born_abroad"],
        ["dissimilarity", "theil_h"],
        distance=2000,
        function="gaussian",
    )
    assert got["value"].to_list() == pytest.approx(
        [want["dissimilarity", "born_abroad"], want["theil_h", None]], rel=RTOL
    )
    for extra, message in [
        (["--distance", "2000"], "needs unit boundaries"),
        ([*geo, "--distance", "-3"], "positive number of metres"),
        ([*geo, "--distance", "2000", "--kernel", "box"], "unknown kernel 'box'"),
        ([*geo, "--distance", "2000", "--index", "delta"], "'delta' cannot be computed"),
    ]:
        res = CliRunner().invoke(app, [*base, *extra, "-o", str(tmp_path / "x.csv")])
        assert res.exit_code == 2, (extra, res.output)
        assert message in " ".join(res.output.split()), (extra, res.output)
    assert not (tmp_path / "x.csv").exists()


def test_cli_weights_file(malmo, tmp_path):
    from libpysal.weights import Queen
    from typer.testing import CliRunner

    from bryta.cli import app

    panel, _, polygons = malmo
    rows = panel.filter(year=2023).sort("regso")
    counts = tmp_path / "malmo.csv"
    rows.write_csv(counts)
    frame = pysal_frame([polygons[c] for c in rows["regso"]], rows, BIRTH)
    queen = Queen.from_dataframe(frame, use_index=True)
    adj = queen.to_adjlist(drop_islands=True)
    codes = rows["regso"].to_list()
    weights = tmp_path / "queen.csv"
    pl.DataFrame(
        {
            "unit_i": [codes[i] for i in adj["focal"]],
            "unit_j": [codes[j] for j in adj["neighbor"]],
            "weight": adj["weight"].to_numpy(),
        }
    ).write_csv(weights)
    out = tmp_path / "out.csv"
    args = ["measure", str(counts), "--unit", "regso", "--groups", "born_sweden,born_abroad"]
    args += ["--focal", "born_abroad", "--index", "gini", "-o", str(out)]
    res = CliRunner().invoke(app, [*args, "--weights", str(weights)])
    assert res.exit_code == 0, res.output
    want = S.Gini(frame, "born_abroad", "total", w=queen).statistic
    assert pl.read_csv(out)["value"].item() == pytest.approx(want, rel=RTOL)
    bad = tmp_path / "bad.csv"
    pl.DataFrame({"unit_i": codes[:2], "unit_j": codes[1:3], "weight": [1.0, -2.0]}).write_csv(bad)
    res = CliRunner().invoke(app, [*args, "--weights", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}: column 'weight' has missing, negative" in " ".join(res.output.split())
    assert "row 2" in res.output


# ---- local measures on egohoods -------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["triangular", "gaussian"])
def test_local_measures_equal_pysal(malmo, kernel):
    from segregation import local as L

    panel, boundaries, polygons = malmo
    per_unit = {
        "multi_local_diversity": L.MultiLocalDiversity,
        "multi_local_entropy": L.MultiLocalEntropy,
        "multi_local_simpson_concentration": L.MultiLocalSimpsonConcentration,
        "multi_local_simpson_interaction": L.MultiLocalSimpsonInteraction,
    }
    result = bryta.local_measures(
        panel,
        unit="regso",
        groups=TENURE,
        by="year",
        geometry=boundaries,
        distance=1500,
        kernel=kernel,
    )
    assert set(result["measure"]) == {*per_unit, "multi_location_quotient"}
    for year in (2020, 2023):
        rows = panel.filter(year=year).sort("regso")
        frame = pysal_frame([polygons[c] for c in rows["regso"]], rows, TENURE)
        ours = result.filter(year=year).sort("regso")
        for name, cls in per_unit.items():
            want = cls(frame, TENURE, distance=1500, function=kernel).statistics
            got = ours.filter(measure=name)["value"].to_numpy()
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)
        lq = L.MultiLocationQuotient(frame, TENURE, distance=1500, function=kernel).statistics
        for j, g in enumerate(TENURE):
            got = ours.filter(measure="multi_location_quotient", group=g)["value"].to_numpy()
            np.testing.assert_allclose(got, lq[:, j], rtol=RTOL, atol=ATOL, err_msg=g)


def test_local_measures_refusals(malmo):
    panel, boundaries, _ = malmo
    kw = {"unit": "regso", "groups": BIRTH, "geometry": boundaries}
    with pytest.raises(InputError, match="'local_distortion' cannot be computed on egohoods"):
        bryta.local_measures(panel, measures="local_distortion", distance=1000, **kw)
    with pytest.raises(InputError, match="positive number of metres"):
        bryta.local_measures(panel, distance=-1, **kw)
    with pytest.raises(InputError, match="unknown kernel"):
        bryta.local_measures(panel, distance=1000, kernel="cosine", **kw)


def test_cli_local_measures_on_egohoods(malmo, tmp_path):
    from segregation import local as L
    from typer.testing import CliRunner

    from bryta.cli import app
    from bryta.geography.boundaries import write_geoparquet

    panel, boundaries, polygons = malmo
    rows = panel.filter(year=2023).sort("regso")
    counts = tmp_path / "malmo.csv"
    rows.write_csv(counts, separator=";")
    shapes = tmp_path / "regso.parquet"
    write_geoparquet(boundaries, shapes)
    out = tmp_path / "local.csv"
    base = ["local", str(counts), "--unit", "regso", "--groups", ",".join(TENURE)]
    res = CliRunner().invoke(
        app,
        [
            *base,
            "--measures",
            "multi_local_entropy",
            "--boundaries",
            str(shapes),
            "--boundary-code",
            "code",
            "--distance",
            "1500",
            "--kernel",
            "quartic",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out).sort("regso")["value"].to_numpy()
    frame = pysal_frame([polygons[c] for c in rows["regso"]], rows, TENURE)
    want = L.MultiLocalEntropy(frame, TENURE, distance=1500, function="quartic").statistics
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    res = CliRunner().invoke(app, [*base, "--distance", "1500", "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "need --measures" in res.output
