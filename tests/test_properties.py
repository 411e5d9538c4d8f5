"""Identities and invariants, parametrised over the index registry, on random counts."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bryta
from tests import naive

INDEX_NAMES = list(bryta.INDICES)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def counts_tables(draw, min_groups: int = 2, max_groups: int = 4) -> pl.DataFrame:
    """A wide counts table: region, unit, g0 … g{k-1}, with 1–4 regions of 1–7 units."""
    n_groups = draw(st.integers(min_groups, max_groups))
    n_regions = draw(st.integers(1, 4))
    rows = []
    for r in range(n_regions):
        for u in range(draw(st.integers(1, 7))):
            counts = draw(st.lists(st.integers(0, 60), min_size=n_groups, max_size=n_groups))
            rows.append(
                {"region": f"r{r}", "unit": f"u{u}", **{f"g{g}": c for g, c in enumerate(counts)}}
            )
    return pl.DataFrame(rows)


def groups_of(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("g")]


def run(frame: pl.DataFrame, **kw) -> pl.DataFrame:
    return bryta.measure(frame, unit="unit", groups=groups_of(frame), by="region", **kw)


@SETTINGS
@given(counts_tables())
def test_engine_equals_textbook_loops(frame):
    """The vectorised engine equals plain per-partition loops over the formulas."""
    out = run(frame)
    groups = groups_of(frame)
    for row in out.filter(pl.col("value").is_not_nan()).iter_rows(named=True):
        part = frame.filter(pl.col("region") == row["region"])
        table = part.select(groups).rows()
        if row["group"] is None:
            want = naive.multigroup(row["index"], [list(r) for r in table])
        else:
            g = groups.index(row["group"])
            x = [r[g] for r in table]
            t = [sum(r) for r in table]
            want = naive.two_group(row["index"], x, t)
        assert math.isclose(row["value"], want, rel_tol=1e-9, abs_tol=1e-12), row


@SETTINGS
@given(counts_tables())
def test_values_within_declared_range(frame):
    out = run(frame)
    for name, spec in bryta.INDICES.items():
        v = out.filter(pl.col("index") == name)["value"].drop_nans().to_numpy()
        assert (v >= spec.lower - 1e-12).all(), name
        if spec.upper is not None:
            assert (v <= spec.upper + 1e-12).all(), name


@SETTINGS
@given(counts_tables(), st.integers(2, 9))
def test_invariant_to_scaling_all_counts(frame, k):
    """Every index but density_corrected_dissimilarity, whose correction for sampling noise
    shrinks, by design, as the counts grow (σᵢ falls as 1/√X)."""
    scaled = frame.with_columns(pl.col(groups_of(frame)) * k)
    names = [n for n in INDEX_NAMES if n != "density_corrected_dissimilarity"]
    names = [n for n in names if not bryta.INDICES[n].simulated]
    a = run(frame, indices=names)["value"].to_numpy()
    b = run(scaled, indices=names)["value"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(counts_tables(), st.randoms(use_true_random=False))
def test_invariant_to_reordering_units(frame, rnd):
    order = list(range(frame.height))
    rnd.shuffle(order)
    a, b = run(frame), run(frame[order])
    assert a.select("region", "index", "group").equals(b.select("region", "index", "group"))
    np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=1e-12)


@SETTINGS
@given(counts_tables())
def test_partitions_are_independent(frame):
    """Measuring all regions at once equals measuring each on its own."""
    together = run(frame)
    for region in frame["region"].unique():
        alone = run(frame.filter(pl.col("region") == region))
        mine = together.filter(pl.col("region") == region)
        np.testing.assert_allclose(mine["value"].to_numpy(), alone["value"].to_numpy(), rtol=1e-12)


@SETTINGS
@given(counts_tables())
def test_swapping_groups_and_units_leaves_m_unchanged(frame):
    groups = groups_of(frame)
    long = frame.unpivot(index=["region", "unit"], on=groups, variable_name="group", value_name="n")
    a = bryta.mutual_total(long, unit="unit", by="region", group_col="group", count_col="n")
    b = bryta.mutual_total(long, unit="group", by="region", group_col="unit", count_col="n")
    np.testing.assert_allclose(a["M"].to_numpy(), b["M"].to_numpy(), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(counts_tables(min_groups=2, max_groups=3))
def test_between_plus_within_equals_total(frame):
    """M(unit) = M(strata) + M(unit within strata), the regions acting as strata."""
    groups = groups_of(frame)
    framed = frame.with_columns(pl.concat_str("region", "unit").alias("cell"))
    total = bryta.mutual_total(framed, unit="cell", groups=groups)
    between = bryta.mutual_total(
        framed.group_by("region").agg(pl.col(groups).sum()), unit="region", groups=groups
    )
    within = bryta.mutual_total(framed, unit="cell", within="region", groups=groups)
    for stat in ("M", "H"):
        want = total[stat][0]
        got = between[stat][0] + within[stat][0]
        if math.isnan(want):
            continue
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    nested = bryta.mutual_nested(framed, unit="cell", within=["region"], groups=groups)
    if not math.isnan(total["M"][0]):
        assert math.isclose(nested["M"].sum(), total["M"][0], rel_tol=1e-9, abs_tol=1e-12)
    comps = bryta.mutual_within(framed, unit="cell", within="region", groups=groups)
    weighted = (comps["p"] * comps["M"]).fill_nan(0).sum()
    assert math.isclose(weighted, within["M"][0], rel_tol=1e-9, abs_tol=1e-12)


@SETTINGS
@given(counts_tables())
def test_local_scores_add_up_to_m(frame):
    groups = groups_of(frame)
    total = bryta.mutual_total(frame, unit="unit", groups=groups, by="region")
    for of in ("unit", "group"):
        local = bryta.mutual_local(frame, unit="unit", groups=groups, by="region", of=of)
        sums = (
            local.with_columns((pl.col("p") * pl.col("ls")).fill_nan(0).alias("pls"))
            .group_by("region")
            .agg(pl.col("pls").sum())
            .sort("region")
        )
        np.testing.assert_allclose(
            sums["pls"].to_numpy(), total["M"].to_numpy(), rtol=1e-9, atol=1e-12
        )


@SETTINGS
@given(counts_tables(min_groups=2, max_groups=2))
def test_two_group_theil_h_equals_entropy(frame):
    out = run(frame, indices=["theil_h", "entropy"])
    h = out.filter(pl.col("index") == "theil_h").select("region", "value")
    e = out.filter(pl.col("index") == "entropy").select("region", "value")
    joined = e.join(h, on="region", suffix="_h")
    np.testing.assert_allclose(
        joined["value"].to_numpy(), joined["value_h"].to_numpy(), rtol=1e-9, atol=1e-12
    )


@SETTINGS
@given(counts_tables())
def test_weights_equal_expanded_microdata(frame):
    """Counts give the same M as one row per person counted with weight 1."""
    groups = groups_of(frame)
    long = frame.unpivot(
        index=["region", "unit"], on=groups, variable_name="group", value_name="n"
    ).filter(pl.col("n") > 0)
    people = long.select(pl.exclude("n").repeat_by(pl.col("n"))).explode(pl.all())
    micro = people.group_by("region", "unit", "group").len("n")
    a = bryta.mutual_total(long, unit="unit", by="region", group_col="group", count_col="n")
    b = bryta.mutual_total(micro, unit="unit", by="region", group_col="group", count_col="n")
    np.testing.assert_allclose(a["M"].to_numpy(), b["M"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "d"), [([10, 10], [10, 10], 0.0), ([8, 2], [2, 8], 0.6), ([10, 0], [0, 10], 1.0)]
)
def test_dissimilarity_hand_cases(x, y, d):
    frame = pl.DataFrame({"unit": ["a", "b"], "x": x, "y": y})
    out = bryta.measure(frame, unit="unit", groups=["x", "y"], indices="dissimilarity", focal="x")
    assert math.isclose(out["value"][0], d, abs_tol=1e-15)
