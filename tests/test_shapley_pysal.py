"""``bryta.decompose_difference`` against PySAL ``segregation`` 2.5's ``DecomposeSegregation``.

PySAL decomposes one pair of regions at a time; bryta every pair of partitions in one call.
Each pair's values must equal PySAL's to 1e-10 relative, for each of PySAL's counterfactual
approaches. PySAL reports first − second, bryta second − first: PySAL's ``c_s`` is −spatial
and its ``c_a`` −attribute; its ``indices`` dict holds the four index values
(``s1_a2`` is bryta's ``counterfactual_first``, ``s2_a1`` its ``counterfactual_second``).

PySAL's Gini runs a numba kernel whose compilation takes half a minute per input type; the
tests run the kernel's own Python function (``py_func``) instead, the same code uncompiled.

For the spatial indices PySAL gets the polygons moved near the origin, as in
``tests/test_spatial_pysal.py`` (its distance matrix loses digits at SWEREF 99 TM's
coordinates).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
import shapely

import bryta
from bryta.datasets import load_demo_panel
from bryta.geography.boundaries import bundled_boundaries
from tests.polygon_grids import near_origin

segregation = pytest.importorskip("segregation")
gpd = pytest.importorskip("geopandas")

import segregation.singlegroup.gini as pysal_gini  # noqa: E402
from segregation import singlegroup as S  # noqa: E402
from segregation.decomposition import DecomposeSegregation  # noqa: E402

assert segregation.__version__.startswith("2.5"), segregation.__version__

APPROACHES = ["composition", "share", "dual_composition"]
BIRTH = ["born_sweden", "born_abroad"]
ASPATIAL = {
    "dissimilarity": S.Dissim,
    "gini": S.Gini,
    "entropy": S.Entropy,
    "isolation": S.Isolation,
    "exposure": S.Interaction,
    "atkinson": S.Atkinson,
    "correlation_ratio": S.CorrelationR,
    "con_prof": S.ConProf,
}
SPATIAL = {
    "absolute_concentration": S.AbsoluteConcentration,
    "relative_concentration": S.RelativeConcentration,
    "delta": S.Delta,
    "absolute_centralization": S.AbsoluteCentralization,
    "relative_centralization": S.RelativeCentralization,
    "perimeter_area_ratio_spatial_dissimilarity": S.PARDissim,
    "spatial_proximity": S.SpatialProximity,
    "absolute_clustering": S.AbsoluteClustering,
    "relative_clustering": S.RelativeClustering,
    "distance_decay_isolation": S.DistanceDecayIsolation,
    "distance_decay_exposure": S.DistanceDecayInteraction,
}


@pytest.fixture(autouse=True, scope="module")
def _pysal_quietly() -> Iterator[None]:
    """PySAL divides by zero on purpose and warns; its Gini kernel runs uncompiled."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pysal_gini, "_gini_vecp", pysal_gini._gini_vecp.py_func)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            yield


def close(got: float, want: float) -> bool:
    if math.isnan(want):
        return math.isnan(got)
    return math.isclose(got, want, rel_tol=1e-10, abs_tol=1e-13)


def check(row: dict, pysal: DecomposeSegregation, label: object) -> None:
    """bryta's row against PySAL's decomposition of the same pair."""
    want = {
        "value_first": pysal.indices["s1_a1"],
        "value_second": pysal.indices["s2_a2"],
        "counterfactual_first": pysal.indices["s1_a2"],
        "counterfactual_second": pysal.indices["s2_a1"],
        "spatial": -pysal.c_s,
        "attribute": -pysal.c_a,
        "diff": -(pysal.c_s + pysal.c_a),
    }
    for name, value in want.items():
        assert close(row[name], float(value)), (label, name, row[name], value)


def pandas_side(frame: pl.DataFrame, groups: list[str]):
    df = frame.select(groups).to_pandas()
    df["total"] = df[groups].sum(axis=1)
    return df


# ---- Malmö's RegSO, 2020 against 2023 --------------------------------------------------------
@pytest.fixture(scope="module")
def malmo() -> pl.DataFrame:
    return load_demo_panel().filter(pl.col("kommun") == "1280", pl.col("year").is_in([2020, 2023]))


@pytest.mark.parametrize("approach", APPROACHES)
def test_malmo_aspatial_equals_pysal(malmo, approach):
    out = bryta.decompose_difference(
        malmo,
        unit="regso",
        groups=BIRTH,
        between="year",
        first_value=2020,
        second_value=2023,
        indices=list(ASPATIAL),
        counterfactual=approach,
    )
    assert out.height == len(ASPATIAL) * 2
    sides = [pandas_side(malmo.filter(year=y).sort("regso"), BIRTH) for y in (2020, 2023)]
    for focal in BIRTH:
        for name, cls in ASPATIAL.items():
            pysal = DecomposeSegregation(
                cls(sides[0], focal, "total"),
                cls(sides[1], focal, "total"),
                counterfactual_approach=approach,
            )
            check(out.filter(index=name, group=focal).row(0, named=True), pysal, (name, focal))


# ---- random tables, many pairs in one call --------------------------------------------------
def random_sides(seed: int, pairs: int = 4) -> pl.DataFrame:
    """Pairs of tables with different numbers of units, small counts (tied shares), large
    counts, and an empty unit."""
    rng = np.random.default_rng(seed)
    rows = []
    for side in ("a", "b"):
        for k in range(pairs):
            n = int(rng.integers(3, 25))
            top = 6 if k % 2 else 300
            x, y = rng.integers(0, top, n), rng.integers(0, top, n)
            x[0] += 1  # the focal group and the rest are present
            y[1] += 1
            if k == 2:
                x[-1] = y[-1] = 0
            rows += [
                {"side": side, "k": k, "u": f"u{i:02d}", "x": int(x[i]), "y": int(y[i])}
                for i in range(n)
            ]
    return pl.DataFrame(rows)


@pytest.mark.parametrize("approach", APPROACHES)
def test_random_tables_equal_pysal(approach):
    frame = random_sides(1)
    indices = ["dissimilarity", "gini", "entropy", "isolation", "atkinson"]
    out = bryta.decompose_difference(
        frame,
        unit="u",
        groups=["x", "y"],
        by="k",
        between="side",
        first_value="a",
        second_value="b",
        indices=indices,
        counterfactual=approach,
    )
    for k in range(4):
        sides = [pandas_side(frame.filter(side=s, k=k).sort("u"), ["x", "y"]) for s in "ab"]
        for focal in ("x", "y"):
            for name in indices:
                cls = ASPATIAL[name]
                pysal = DecomposeSegregation(
                    cls(sides[0], focal, "total"),
                    cls(sides[1], focal, "total"),
                    counterfactual_approach=approach,
                )
                row = out.filter(index=name, group=focal, k=k).row(0, named=True)
                check(row, pysal, (k, focal, name))


# ---- spatial indices on Malmö's RegSO -------------------------------------------------------
@pytest.fixture(scope="module")
def malmo_geo(malmo):
    boundaries = bundled_boundaries("regso_malmo")
    geoms = dict(
        zip(boundaries["code"], shapely.from_wkb(boundaries["geometry"].to_numpy()), strict=True)
    )
    sides = []
    for year in (2020, 2023):
        rows = malmo.filter(year=year).sort("regso")
        polygons = np.array([geoms[c] for c in rows["regso"]])
        local = near_origin(polygons)
        frame = gpd.GeoDataFrame(
            {"x": rows["born_abroad"].to_numpy(), "t": (rows["born_abroad"] + rows["born_sweden"])},
            geometry=local,
            crs="EPSG:3006",
        )
        sides.append(frame)
    return boundaries, sides


# every spatial index with the default approach, four of them with the other two
QUICK = ["relative_concentration", "delta", "spatial_proximity", "absolute_clustering"]


@pytest.mark.parametrize(
    ("approach", "names"),
    [("composition", list(SPATIAL)), ("share", QUICK), ("dual_composition", QUICK)],
)
def test_malmo_spatial_equals_pysal(malmo, malmo_geo, approach, names):
    boundaries, sides = malmo_geo
    out = bryta.decompose_difference(
        malmo,
        unit="regso",
        groups=BIRTH,
        focal="born_abroad",
        between="year",
        first_value=2020,
        second_value=2023,
        indices=names,
        counterfactual=approach,
        geometry=boundaries,
    )
    for name in names:
        cls = SPATIAL[name]
        pysal = DecomposeSegregation(
            cls(sides[0], "x", "t"), cls(sides[1], "x", "t"), counterfactual_approach=approach
        )
        check(out.filter(index=name).row(0, named=True), pysal, name)


def test_pysal_counterfactuals_take_the_function_defaults(malmo, malmo_geo):
    """PySAL evaluates its counterfactuals with the index *function*'s default parameters, not
    the class's: BoundarySpatialDissim's class standardises by default, its function does not,
    so PySAL's decomposition mixes two indices. bryta uses one set of parameters for all four
    values; with standardize=False (both PySAL defaults agree) the two are equal."""
    boundaries, sides = malmo_geo
    cls = S.BoundarySpatialDissim
    spec = {
        "unit": "regso",
        "groups": BIRTH,
        "focal": "born_abroad",
        "between": "year",
        "first_value": 2020,
        "second_value": 2023,
        "indices": "boundary_spatial_dissimilarity",
        "geometry": boundaries,
    }
    default = DecomposeSegregation(cls(sides[0], "x", "t"), cls(sides[1], "x", "t"))
    ours = bryta.decompose_difference(malmo, **spec).row(0, named=True)
    unstandardised = bryta.decompose_difference(malmo, standardize=False, **spec).row(0, named=True)
    assert close(ours["value_first"], default.indices["s1_a1"])  # the class: standardised
    assert close(unstandardised["counterfactual_first"], default.indices["s1_a2"])  # function
    assert not close(ours["counterfactual_first"], default.indices["s1_a2"])
    plain = DecomposeSegregation(
        cls(sides[0], "x", "t", standardize=False), cls(sides[1], "x", "t", standardize=False)
    )
    check(unstandardised, plain, "standardize=False")
