"""Spatial dissimilarity (Morrill) on polygons: hand-computed values, contiguity rules,
partitions and the identities D(adj) ≤ D; PySAL parity is checked by
benchmarks/check_spatial_dissim.py (real data, 1e-16)."""

from __future__ import annotations

import math

import polars as pl
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from bryta.compute.segregation.engine import measure
from bryta.compute.spatial.dissimilarity import contiguity_pairs, spatial_dissimilarity
from bryta.errors import BrytaError


def grid(n: int) -> pl.DataFrame:
    """An n × n grid of unit squares, codes 'r{row}c{col}'."""
    boxes = [shapely.box(c, r, c + 1, r + 1) for r in range(n) for c in range(n)]
    codes = [f"r{r}c{c}" for r in range(n) for c in range(n)]
    return pl.DataFrame({"code": codes, "geometry": shapely.to_wkb(boxes)})


def test_contiguity_on_a_grid():
    queen = contiguity_pairs(grid(3))
    rook = contiguity_pairs(grid(3), rule="rook")
    # 3 × 3: rook pairs 2·3·2 = 12 (×2 directions), queen adds 2·2·2 = 8 diagonals (×2)
    assert rook.height == 24 and queen.height == 40
    centre = queen.filter(unit="r1c1")["neighbour"].to_list()
    assert len(centre) == 8
    with pytest.raises(BrytaError, match="'queen' or 'rook'"):
        contiguity_pairs(grid(2), rule="bishop")


def test_hand_computed_2x2():
    # focal shares z: r0c0 = 1, r0c1 = 0.5, r1c0 = 0.5, r1c1 = 0 (10 people each)
    counts = pl.DataFrame(
        {"u": ["r0c0", "r0c1", "r1c0", "r1c1"], "x": [10, 5, 5, 0], "y": [0, 5, 5, 10]}
    )
    # D = ½ Σ |x_i/X − y_i/Y| = ½ (|10/20 − 0| + 0 + 0 + |0 − 10/20|) = 0.5
    # rook pairs (unordered): r0c0–r0c1 0.5, r0c0–r1c0 0.5, r0c1–r1c1 0.5, r1c0–r1c1 0.5 → 0.5
    # queen adds diagonals: r0c0–r1c1 1, r0c1–r1c0 0 → (4·0.5 + 1 + 0) / 6 = 0.5
    rook = spatial_dissimilarity(
        counts, grid(2), unit="u", groups=["x", "y"], focal="x", rule="rook"
    ).row(0, named=True)
    assert rook["dissimilarity"] == pytest.approx(0.5)
    assert rook["adjustment"] == pytest.approx(0.5)
    assert rook["value"] == pytest.approx(0.0)
    queen = spatial_dissimilarity(counts, grid(2), unit="u", groups=["x", "y"], focal="x")
    assert queen["adjustment"][0] == pytest.approx(0.5)


def test_standardised_weights():
    # four areas in a line a–b–c–d with focal shares z = 1, 0, 0, 0 (10 people each).
    # Plain weights: unordered pairs a–b 1, b–c 0, c–d 0 → 1/3.
    # Row-standardised: a (one neighbour) |1 − 0| = 1; b (a, c) (1 + 0)/2 = 0.5; c 0; d 0
    # → (1 + 0.5 + 0 + 0) / 4 = 0.375.
    line = pl.DataFrame(
        {
            "code": list("abcd"),
            "geometry": shapely.to_wkb([shapely.box(i, 0, i + 1, 1) for i in range(4)]),
        }
    )
    counts = pl.DataFrame({"u": list("abcd"), "x": [10, 0, 0, 0], "y": [0, 10, 10, 10]})
    plain = spatial_dissimilarity(counts, line, unit="u", groups=["x", "y"], focal="x")
    rows = spatial_dissimilarity(
        counts, line, unit="u", groups=["x", "y"], focal="x", standardize=True
    )
    assert plain["adjustment"][0] == pytest.approx(1 / 3)
    assert rows["adjustment"][0] == pytest.approx(0.375)


def test_partitions_and_missing_neighbours():
    counts = pl.DataFrame(
        {
            "year": [1, 1, 2, 2, 3],
            "u": ["r0c0", "r0c1", "r0c0", "r1c1", "r0c0"],
            "x": [10, 0, 4, 6, 5],
            "y": [0, 10, 6, 4, 5],
        }
    )
    out = spatial_dissimilarity(
        counts, grid(2), unit="u", groups=["x", "y"], focal="x", by="year", rule="rook"
    ).sort("year")
    assert out["year"].to_list() == [1, 2, 3]
    assert out["value"][0] == pytest.approx(0.0)  # D 1, neighbours differ by 1
    # year 2: r0c0 and r1c1 touch only at a corner: no rook pair → null adjustment
    assert out["adjustment"][1] is None and out["value"][1] is None
    with pytest.raises(BrytaError, match="focal group 'z'"):
        spatial_dissimilarity(counts, grid(2), unit="u", groups=["x", "y"], focal="z")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=9, max_size=9))
def test_adjustment_bounds_and_engine_d(cells):
    counts = pl.DataFrame(
        {
            "u": grid(3)["code"],
            "x": [a for a, _ in cells],
            "y": [b for _, b in cells],
        }
    )
    if counts["x"].sum() == 0 or counts["y"].sum() == 0:
        return
    out = spatial_dissimilarity(counts, grid(3), unit="u", groups=["x", "y"], focal="x")
    d = measure(counts, unit="u", groups=["x", "y"], indices="dissimilarity", focal="x")
    if sum(a + b > 0 for a, b in cells) < 2:
        # segregation over one populated area is undefined, in the engine and here alike
        assert math.isnan(d["value"][0]) and math.isnan(out["dissimilarity"][0])
        assert out["value"][0] is None or math.isnan(out["value"][0])
        return
    assert out["dissimilarity"][0] == pytest.approx(d["value"][0], abs=1e-15)
    assert 0.0 <= out["adjustment"][0] <= 1.0
    assert out["value"][0] <= out["dissimilarity"][0] + 1e-15
