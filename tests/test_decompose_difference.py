"""``bryta.decompose_difference``: identities, vectorisation, errors and the command line.

Agreement with PySAL is in ``tests/test_shapley_pysal.py``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import bryta
from bryta.cli import app
from bryta.compute.segregation.shapley import (
    COLUMNS,
    counterfactual_counts,
    percentile_ranks,
    quantiles,
)
from bryta.datasets import load_demo_panel
from bryta.errors import CountsError, InputError

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
APPROACHES = ["composition", "share", "dual_composition"]
INDICES = ["dissimilarity", "gini", "entropy", "atkinson", "isolation"]


@st.composite
def sides(draw):
    """Two sides with 1–3 partitions each (the same ones), 2–8 units of their own."""
    n_parts = draw(st.integers(1, 3))
    rows = []
    for side in ("a", "b"):
        for k in range(n_parts):
            n = draw(st.integers(2, 8))
            for i in range(n):
                x, y = draw(st.integers(0, 60)), draw(st.integers(0, 60))
                if i == 0:
                    x, y = x + 1, y + 1
                rows.append({"side": side, "k": k, "u": f"u{i}", "x": x, "y": y})
    return pl.DataFrame(rows)


def run(frame, approach, **extra):
    return bryta.decompose_difference(
        frame,
        unit="u",
        groups=["x", "y"],
        by="k",
        between="side",
        indices=INDICES,
        counterfactual=approach,
        **{"first_value": "a", "second_value": "b", **extra},
    )


@SETTINGS
@given(sides(), st.sampled_from(APPROACHES))
def test_spatial_plus_attribute_is_the_difference(frame, approach):
    out = run(frame, approach)
    diff = out["value_second"] - out["value_first"]
    assert np.allclose(out["diff"], diff, rtol=0, atol=0, equal_nan=True)
    total = (out["spatial"] + out["attribute"]).to_numpy()
    assert np.allclose(total, out["diff"].to_numpy(), rtol=0, atol=1e-12, equal_nan=True)


@SETTINGS
@given(sides(), st.sampled_from(APPROACHES))
def test_swapping_the_sides_negates_both_parts(frame, approach):
    forward = run(frame, approach)
    backward = run(frame, approach, first_value="b", second_value="a")
    for name in ("diff", "spatial", "attribute"):
        assert np.array_equal(forward[name], -backward[name], equal_nan=True), name
    assert np.array_equal(
        forward["counterfactual_first"], backward["counterfactual_second"], equal_nan=True
    )


@SETTINGS
@given(sides(), st.sampled_from(APPROACHES))
def test_a_side_against_itself_has_no_parts(frame, approach):
    same = pl.concat(
        [frame.filter(side="a"), frame.filter(side="a").with_columns(side=pl.lit("b"))]
    )
    out = run(same, approach)
    for name in ("diff", "spatial", "attribute"):
        values = out[name].to_numpy()
        assert np.all((values == 0) | np.isnan(values)), name


def test_one_call_equals_one_call_per_pair():
    rng = np.random.default_rng(3)
    rows = [
        {
            "side": s,
            "k": k,
            "u": f"u{i}",
            "x": int(rng.integers(0, 50)),
            "y": int(rng.integers(1, 50)),
        }
        for s in "ab"
        for k in range(6)
        for i in range(int(rng.integers(3, 12)))
    ]
    frame = pl.DataFrame(rows)
    for approach in APPROACHES:
        together = run(frame, approach)
        for k in range(6):
            alone = bryta.decompose_difference(
                frame.filter(k=k).drop("k"),
                unit="u",
                groups=["x", "y"],
                between="side",
                first_value="a",
                second_value="b",
                indices=INDICES,
                counterfactual=approach,
            )
            mine = together.filter(k=k).drop("k")
            got, want = mine.select(COLUMNS).to_numpy(), alone.select(COLUMNS).to_numpy()
            assert np.allclose(got, want, rtol=1e-13, atol=1e-15, equal_nan=True), (approach, k)


def test_two_tables_equal_one_table_with_between():
    panel = load_demo_panel().filter(pl.col("lan") == "12")
    spec = {"unit": "regso", "groups": ["born_sweden", "born_abroad"], "by": "kommun"}
    one = bryta.decompose_difference(
        panel, between="year", first_value=2021, second_value=2023, **spec
    )
    two = bryta.decompose_difference(
        panel.filter(year=2021).drop("year"), panel.filter(year=2023).drop("year"), **spec
    )
    assert one.equals(two)
    assert one.height == 2 * panel["kommun"].n_unique()  # dissimilarity × both groups


# ---- the building blocks, against pandas ----------------------------------------------------
def test_ranks_and_quantiles_are_pandas():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(8)
    values = rng.integers(0, 5, 40) / 4  # many ties
    part = np.repeat([0, 1, 2], [10, 17, 13])
    ranks = percentile_ranks(values, part)
    other = rng.random(30)
    other_part = np.repeat([0, 1, 2], [5, 1, 24])
    got = quantiles(other, other_part, ranks, part)
    for k in range(3):
        mine = pd.Series(values[part == k]).rank(pct=True)
        assert ranks[part == k].tolist() == mine.tolist()
        want = mine.apply(pd.Series(other[other_part == k]).quantile)
        assert np.allclose(got[part == k], want, rtol=1e-15, atol=0)


def test_share_keeps_the_group_totals():
    x1, t1 = np.array([5.0, 20.0, 0.0, 7.0]), np.array([10.0, 40.0, 3.0, 7.0])
    x2, t2 = np.array([1.0, 9.0, 30.0]), np.array([50.0, 10.0, 60.0])
    part1, part2 = np.zeros(4, np.int64), np.zeros(3, np.int64)
    x, y = counterfactual_counts(x1, t1, part1, x2, t2, part2, "share")
    assert x.sum() == pytest.approx(x1.sum()) and y.sum() == pytest.approx((t1 - x1).sum())
    x, y = counterfactual_counts(x1, t1, part1, x2, t2, part2, "composition")
    assert np.allclose(x + y, t1)  # composition keeps each unit's population


# ---- errors ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair() -> tuple[pl.DataFrame, pl.DataFrame]:
    one = pl.DataFrame({"k": ["p", "p"], "u": ["a", "b"], "x": [3, 1], "y": [1, 3]})
    two = pl.DataFrame({"k": ["q", "q"], "u": ["a", "b"], "x": [3, 2], "y": [1, 3]})
    return one, two


def test_a_multigroup_index_is_refused(pair):
    with pytest.raises(InputError, match="'theil_h' cannot be decomposed"):
        bryta.decompose_difference(*pair, unit="u", groups=["x", "y"], indices="theil_h")


def test_no_shared_partition(pair):
    with pytest.raises(CountsError, match="no partition of by= \\(k\\) has rows on both sides"):
        bryta.decompose_difference(*pair, unit="u", groups=["x", "y"], by="k")


def test_unknown_focal_group_and_approach(pair):
    with pytest.raises(InputError, match="focal group 'z'"):
        bryta.decompose_difference(*pair, unit="u", groups=["x", "y"], focal="z")
    with pytest.raises(InputError, match="counterfactual= must be one of"):
        bryta.decompose_difference(*pair, unit="u", groups=["x", "y"], counterfactual="swap")  # type: ignore[arg-type]


def test_spatial_index_needs_boundaries(pair):
    with pytest.raises(InputError, match="need unit boundaries"):
        bryta.decompose_difference(*pair, unit="u", groups=["x", "y"], indices="delta")


# ---- the command line --------------------------------------------------------------------------
def test_command_line_writes_the_decomposition(tmp_path):
    panel = load_demo_panel().filter(pl.col("kommun").is_in(["1280", "1281"]))
    source = tmp_path / "panel.csv"
    panel.write_csv(source)
    target = tmp_path / "parts.csv"
    args = [
        "decompose-difference", str(source), "--unit", "regso",
        "--groups", "born_sweden,born_abroad", "--focal", "born_abroad", "--by", "kommun",
        "--between", "year", "--first", "2020", "--second", "2023",
        "--index", "dissimilarity,gini", "--counterfactual", "share", "-o", str(target),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = pl.read_csv(target, schema_overrides={"kommun": pl.String})
    want = bryta.decompose_difference(
        panel,
        unit="regso",
        groups=["born_sweden", "born_abroad"],
        focal="born_abroad",
        by="kommun",
        between="year",
        first_value=2020,
        second_value=2023,
        indices=["dissimilarity", "gini"],
        counterfactual="share",
    )
    assert written["kommun"].to_list() == want["kommun"].to_list()
    assert np.allclose(written.select(COLUMNS).to_numpy(), want.select(COLUMNS).to_numpy())


def test_command_line_refuses_a_missing_side(tmp_path):
    source = tmp_path / "panel.csv"
    load_demo_panel().filter(kommun="1280").write_csv(source)
    result = CliRunner().invoke(
        app,
        ["decompose-difference", str(source), "--unit", "regso", "--groups",
         "born_sweden,born_abroad", "--between", "year", "--first", "2020", "--second", "2030"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no rows with year = '2030'" in result.output
