"""Rank-order segregation (H^R, R^R, S^R): identities, hand cases, an independent loop with
numerical quadrature, and values published by an independent implementation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from bryta.compute.segregation.engine import UnknownIndexError, measure
from bryta.compute.segregation.rank_order import _delta_h, _delta_r, _delta_s, _moments, rank_order
from bryta.errors import CountsError
from tests.naive import two_group

ALL = ["H", "R", "S"]
LABELS = {"H": "rank_order_h", "R": "rank_order_r", "S": "rank_order_s"}
BRACKETS = [f"b{k}" for k in range(1, 7)]


def values(frame: pl.DataFrame) -> dict[str, float]:
    """{index: value} of a result without partitions."""
    return dict(frame.select("index", "value").iter_rows())


def wide(rows: list[list[float]], brackets: list[str] = BRACKETS) -> pl.DataFrame:
    return pl.DataFrame(
        {"unit": [f"u{i}" for i in range(len(rows))]}
        | {b: [float(r[k]) for r in rows] for k, b in enumerate(brackets)}
    )


@pytest.fixture(scope="module")
def income_counts() -> pl.DataFrame:
    """Eight units × six brackets, every bracket occupied, units of different sizes."""
    return wide(
        [
            [40, 25, 12, 8, 4, 1],
            [5, 10, 20, 30, 25, 10],
            [12, 14, 16, 15, 13, 10],
            [0, 2, 6, 15, 30, 47],
            [30, 30, 10, 5, 0, 0],
            [8, 9, 30, 31, 9, 8],
            [1, 1, 1, 1, 1, 1],
            [60, 5, 5, 5, 5, 60],
        ]
    )


def pysal_synthetic_tracts(seed: int = 42, n_tracts: int = 100, n_cats: int = 16):
    """The synthetic tracts of PySAL segregation's rank-order tests, regenerated: tract means
    ~ N(8, 3), bell-shaped bracket probabilities, multinomial counts of 500–1999 people."""
    rng = np.random.default_rng(seed)
    means = rng.normal(8, 3, n_tracts)
    rows = []
    for mean in means:
        weights = np.exp(-0.5 * ((np.arange(n_cats) - mean) / 3) ** 2)
        rows.append(rng.multinomial(rng.integers(500, 2000), weights / weights.sum()))
    cats = [f"cat_{i}" for i in range(1, n_cats + 1)]
    return pl.DataFrame(np.array(rows), schema=cats).with_row_index("tract"), cats


# ---- the closed-form integrals ------------------------------------------------------------------


def test_deltas_are_reardons_table():
    """δ_m = ∫ w pᵐ / ∫ w. For H^R the values PySAL segregation's tests attribute to Reardon
    (2011), Table 1; R^R and S^R as PySAL's tests state them too."""
    assert [_delta_h(m) for m in range(5)] == [
        1,
        Fraction(1, 2),
        Fraction(11, 36),
        Fraction(5, 24),
        Fraction(137, 900),
    ]
    assert [_delta_r(m) for m in range(5)] == [
        1,
        Fraction(1, 2),
        Fraction(3, 10),
        Fraction(1, 5),
        Fraction(1, 7),
    ]
    assert [_delta_s(m) for m in range(5)] == [
        1,
        Fraction(1, 2),
        Fraction(5, 16),
        Fraction(7, 32),
        Fraction(21, 128),
    ]


@pytest.mark.parametrize(
    ("name", "weight"),
    [
        ("H", lambda p: -(p * np.log(p) + (1 - p) * np.log1p(-p))),
        ("R", lambda p: p * (1 - p)),
        ("S", lambda p: np.sqrt(p * (1 - p))),
    ],
)
def test_moments_match_quadrature(name, weight):
    """μ_j = ∫ w(p) (2p − 1)ʲ dp / ∫ w(p) dp, by the trapezoid rule on a fine grid."""
    p = np.linspace(0, 1, 400_001)[1:-1]
    w = weight(p)
    want = [np.trapezoid(w * (2 * p - 1) ** j, p) / np.trapezoid(w, p) for j in range(8)]
    np.testing.assert_allclose(_moments(name, 7), want, atol=1e-6)


# ---- hand cases -------------------------------------------------------------------------------


def test_worked_example():
    """p = ¼, ¾ and H(¼) = H(¾) = 1 − (ln 2 + E(¼)) / (3 E(¼)); R = 2/9 at both."""
    df = wide([[20, 20, 0], [10, 20, 10], [0, 20, 20]], ["low", "mid", "high"])
    out = values(rank_order(df, unit="unit", groups=["low", "mid", "high"]))
    e = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert out["rank_order_h"] == pytest.approx(1 - (math.log(2) + e) / (3 * e), abs=1e-14)
    assert out["rank_order_r"] == pytest.approx(2 / 9, abs=1e-14)


def test_complete_segregation_is_one():
    """Every unit holds a single bracket: every threshold index is 1, so is the polynomial and
    so the integral (the weights integrate to one)."""
    df = wide([[5, 0, 0, 0, 0, 0], [0, 7, 0, 0, 0, 0], [0, 0, 9, 0, 0, 0], [0, 0, 3, 0, 0, 0],
               [0, 0, 0, 0, 2, 0], [0, 0, 0, 0, 0, 4]])  # fmt: skip
    out = values(rank_order(df, unit="unit", groups=BRACKETS, indices=ALL))
    for name in ALL:
        assert out[LABELS[name]] == pytest.approx(1.0, abs=1e-12)
    assert out["rank_order_h"] == 1.0  # exact: every H(p_k) is exactly 1 and the fit is flat


def test_no_segregation_is_exactly_zero():
    base = [3, 1, 4, 1, 5, 9]
    df = wide([[c * f for c in base] for f in (1, 2, 7, 10)])
    out = values(rank_order(df, unit="unit", groups=BRACKETS, indices=ALL))
    assert out == {LABELS[n]: 0.0 for n in ALL}


def test_two_brackets_give_the_two_group_index():
    """One threshold: the fit is a constant (degree 4 drops to 0), so each rank-order index
    is the two-group index at that threshold: Theil's H, the correlation ratio and
    Hutchens' square root index as the engine computes them with the low bracket as focal."""
    df = wide([[30, 10], [10, 30], [20, 20], [5, 0]], ["low", "high"])
    out = values(rank_order(df, unit="unit", groups=["low", "high"], indices=ALL))
    engine = measure(
        df,
        unit="unit",
        groups=["low", "high"],
        indices=["entropy", "correlation_ratio", "hutchens_square_root"],
        focal="low",
    )
    want = dict(engine.select("index", "value").iter_rows())
    assert out["rank_order_h"] == pytest.approx(want["entropy"], rel=1e-12)
    assert out["rank_order_r"] == pytest.approx(want["correlation_ratio"], rel=1e-12)
    assert out["rank_order_s"] == pytest.approx(want["hutchens_square_root"], rel=1e-12)


def test_degree_drops_to_the_thresholds_available(income_counts):
    """Three brackets (two thresholds) with degree 4 fit a line, exactly as degree 1 does;
    six brackets (five thresholds) with degree 9 fit degree 4."""
    three = income_counts.select("unit", "b1", "b2", pl.sum_horizontal("b3", "b4", "b5", "b6"))
    groups = ["b1", "b2", "b3"]
    for a, b in [
        (rank_order(three, unit="unit", groups=groups, indices=ALL),
         rank_order(three, unit="unit", groups=groups, indices=ALL, degree=1)),
        (rank_order(income_counts, unit="unit", groups=BRACKETS, degree=9),
         rank_order(income_counts, unit="unit", groups=BRACKETS, degree=4)),
    ]:  # fmt: skip
        assert a["index"].to_list() == b["index"].to_list()
        np.testing.assert_allclose(a["value"], b["value"], rtol=1e-12)


def test_as_many_thresholds_as_coefficients_interpolates(income_counts):
    """Five thresholds and degree 4: the polynomial passes through every point, so the fit
    weights do not matter and the result is the integral of the interpolating polynomial."""
    out = rank_order(income_counts, unit="unit", groups=BRACKETS, indices=ALL, thresholds=True)
    for name in ALL:
        np.testing.assert_allclose(out[f"{name}_fit"], out[name], rtol=1e-9)
    p, h = out["p"].to_numpy(), out["H"].to_numpy()
    coef = np.polyfit(p, h, 4)  # unweighted: interpolation does not depend on the weights
    grid = np.linspace(0, 1, 400_001)[1:-1]
    e = -(grid * np.log(grid) + (1 - grid) * np.log1p(-grid))
    want = 2 * np.trapezoid(e * np.polyval(coef, grid), grid)
    got = values(rank_order(income_counts, unit="unit", groups=BRACKETS))["rank_order_h"]
    assert got == pytest.approx(want, abs=1e-6)


# ---- an independent check: plain loops, numpy's lstsq and quadrature ---------------------------


def loop_rank_order(rows: list[list[float]], name: str, degree: int = 4) -> float:
    """Textbook version for one partition: the split at each threshold by hand, the two-group
    index from tests/naive.py, np.polyfit in powers of p (weights w², i.e. polyfit's w), and
    the integral ∫ w Ĥ / ∫ w by the trapezoid rule."""
    pairwise = {"H": "entropy", "R": "correlation_ratio", "S": "hutchens_square_root"}[name]
    weight = {
        "H": lambda p: -(p * np.log(p) + (1 - p) * np.log1p(-p)),
        "R": lambda p: p * (1 - p),
        "S": lambda p: np.sqrt(p * (1 - p)),
    }[name]
    t = [sum(r) for r in rows]
    K = len(rows[0])
    ps, hs = [], []
    for k in range(K - 1):
        below = [sum(r[: k + 1]) for r in rows]
        bracket = sum(r[k] for r in rows)
        above = sum(t) - sum(below)
        if bracket == 0 or above == 0:
            continue
        ps.append(sum(below) / sum(t))
        hs.append(two_group(pairwise, below, t))
    ps, hs = np.array(ps), np.array(hs)
    coef = np.polyfit(ps, hs, min(degree, len(ps) - 1), w=weight(ps))
    grid = np.linspace(0, 1, 400_001)[1:-1]
    w = weight(grid)
    return float(np.trapezoid(w * np.polyval(coef, grid), grid) / np.trapezoid(w, grid))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("degree", [2, 3, 4])
def test_matches_loop_and_quadrature(income_counts, name, degree):
    rows = income_counts.select(BRACKETS).rows()
    out = rank_order(income_counts, unit="unit", groups=BRACKETS, indices=name, degree=degree)
    got = values(out)
    assert got[LABELS[name]] == pytest.approx(loop_rank_order(rows, name, degree), abs=1e-6)


def test_matches_loop_with_many_brackets():
    df, cats = pysal_synthetic_tracts(seed=7, n_tracts=30)
    rows = df.select(cats).rows()
    got = values(rank_order(df, unit="tract", groups=cats, indices=ALL))
    for name in ALL:
        assert got[LABELS[name]] == pytest.approx(loop_rank_order(rows, name), abs=1e-6)


def test_published_values_of_pysal_segregation():
    """PySAL segregation's rank-order tests (segregation/tests/test_rankorder.py, commit
    2e095ce) state H^R = 0.20187570, R^R = 0.22296188, S^R = 0.16716787 for their synthetic
    tracts (numpy default_rng(42)), fitted the same way: degree 4, weights w(p)²."""
    df, cats = pysal_synthetic_tracts()
    got = values(rank_order(df, unit="tract", groups=cats, indices=ALL))
    assert got["rank_order_h"] == pytest.approx(0.20187570, abs=5e-9)
    assert got["rank_order_r"] == pytest.approx(0.22296188, abs=5e-9)
    assert got["rank_order_s"] == pytest.approx(0.16716787, abs=5e-9)


# ---- invariances ------------------------------------------------------------------------------


def test_invariant_to_scaling_counts(income_counts):
    base = rank_order(income_counts, unit="unit", groups=BRACKETS, indices=ALL)
    for factor in (7, 0.37):
        scaled = income_counts.with_columns(pl.col(BRACKETS) * factor)
        other = rank_order(scaled, unit="unit", groups=BRACKETS, indices=ALL)
        np.testing.assert_allclose(other["value"], base["value"], rtol=1e-11)


def test_invariant_to_unit_order(income_counts):
    base = rank_order(income_counts, unit="unit", groups=BRACKETS, indices=ALL)
    shuffled = income_counts.sample(fraction=1.0, shuffle=True, seed=3).with_columns(
        pl.Series("unit", [f"x{i}" for i in range(income_counts.height)])
    )
    other = rank_order(shuffled, unit="unit", groups=BRACKETS, indices=ALL)
    np.testing.assert_allclose(other["value"], base["value"], rtol=1e-11)


def test_reversing_the_brackets_changes_nothing(income_counts):
    """Reversed order maps p to 1 − p; the weights are symmetric about ½ and a polynomial fit
    does not depend on the parametrisation, so every rank-order index is unchanged."""
    base = rank_order(income_counts, unit="unit", groups=BRACKETS, indices=ALL)
    other = rank_order(income_counts, unit="unit", groups=BRACKETS[::-1], indices=ALL)
    np.testing.assert_allclose(other["value"], base["value"], rtol=1e-10)


def test_empty_brackets_change_nothing(income_counts):
    base = rank_order(income_counts, unit="unit", groups=BRACKETS, indices=ALL)
    padded = income_counts.with_columns(e0=pl.lit(0.0), e1=pl.lit(0.0), e2=pl.lit(0.0))
    groups = ["e0", "b1", "b2", "b3", "e1", "b4", "b5", "b6", "e2"]
    other = rank_order(padded, unit="unit", groups=groups, indices=ALL)
    np.testing.assert_allclose(other["value"], base["value"], rtol=1e-12)
    thr = rank_order(padded, unit="unit", groups=groups, thresholds=True)
    # a threshold is named by the bracket just below it, so the last bracket names none
    assert thr.filter(~pl.col("used"))["threshold"].to_list() == ["e0", "e1", "b6"]


def test_splitting_a_unit_in_two_alike_changes_nothing(income_counts):
    first = income_counts.row(0, named=True)
    half = {b: first[b] / 2 for b in BRACKETS}
    split = pl.concat(
        [income_counts.slice(1), pl.DataFrame([{"unit": "a", **half}, {"unit": "b", **half}])]
    )
    base = rank_order(income_counts, unit="unit", groups=BRACKETS, indices=ALL)
    np.testing.assert_allclose(
        rank_order(split, unit="unit", groups=BRACKETS, indices=ALL)["value"],
        base["value"],
        rtol=1e-11,
    )


def test_partitions_are_independent(income_counts):
    """One vectorised call over partitions with different usable thresholds (and so different
    polynomial degrees) equals one call per partition."""
    parts = {
        "all": income_counts,
        "sorted": wide([[9, 1, 0, 0, 0, 0], [0, 2, 8, 1, 0, 0], [0, 0, 1, 3, 5, 9]]),
        "gap": income_counts.with_columns(b3=pl.lit(0.0), b4=pl.lit(0.0)),  # two thresholds fewer
        "two": wide([[4, 0, 0, 6, 0, 0], [1, 0, 0, 9, 0, 0], [5, 0, 0, 5, 0, 0]]),  # one threshold
        "one_unit": wide([[1, 2, 3, 4, 5, 6]]),
        "one_bracket": wide([[0, 0, 3, 0, 0, 0], [0, 0, 5, 0, 0, 0]]),
    }
    stacked = pl.concat([df.with_columns(region=pl.lit(k)) for k, df in parts.items()])
    for degree in (4, 2):
        together = rank_order(
            stacked, unit="unit", groups=BRACKETS, by="region", indices=ALL, degree=degree
        )
        for region, df in parts.items():
            alone = rank_order(df, unit="unit", groups=BRACKETS, indices=ALL, degree=degree)
            mine = together.filter(pl.col("region") == region)
            assert mine["index"].to_list() == alone["index"].to_list()
            np.testing.assert_allclose(mine["value"], alone["value"], rtol=1e-12)
    assert (
        together.filter(pl.col("region").is_in(["one_unit", "one_bracket"]))["value"].is_nan().all()
    )
    assert (
        together.filter(~pl.col("region").is_in(["one_unit", "one_bracket"]))["value"]
        .is_finite()
        .all()
    )


# ---- input and output -------------------------------------------------------------------------


def test_output_shape_and_keys(income_counts):
    df = pl.concat(
        [income_counts.with_columns(kommun=pl.lit(k), year=pl.lit(y)) for k in "ab" for y in (1, 2)]
    )
    out = rank_order(df, unit="unit", groups=BRACKETS, by=["kommun", "year"])
    assert out.columns == ["kommun", "year", "index", "value"]
    assert out.height == 8
    assert out["index"].to_list() == ["rank_order_h", "rank_order_r"] * 4
    assert out.schema["value"] == pl.Float64


def test_thresholds_frame(income_counts):
    out = rank_order(income_counts, unit="unit", groups=BRACKETS, thresholds=True)
    assert out.columns == ["threshold", "p", "H", "H_fit", "R", "R_fit", "used"]
    assert out["threshold"].to_list() == BRACKETS[:-1]
    totals = income_counts.select(BRACKETS).to_numpy().sum(axis=0)
    np.testing.assert_allclose(out["p"], np.cumsum(totals)[:-1] / totals.sum())
    assert out["used"].all()
    rows = income_counts.select(BRACKETS).rows()
    t = [sum(r) for r in rows]
    for k, h in enumerate(out["H"]):
        below = [sum(r[: k + 1]) for r in rows]
        assert h == pytest.approx(two_group("entropy", below, t), rel=1e-12)


def test_long_input_matches_wide(income_counts):
    long = income_counts.unpivot(index="unit", variable_name="bracket", value_name="n")
    got = rank_order(long, unit="unit", groups=BRACKETS, group_col="bracket", count_col="n")
    want = rank_order(income_counts, unit="unit", groups=BRACKETS)
    np.testing.assert_allclose(got["value"], want["value"], rtol=1e-12)


def test_bad_arguments(income_counts):
    with pytest.raises(UnknownIndexError, match="known: H, R, S"):
        rank_order(income_counts, unit="unit", groups=BRACKETS, indices=["H", "D"])
    with pytest.raises(ValueError, match="degree"):
        rank_order(income_counts, unit="unit", groups=BRACKETS, degree=-1)
    with pytest.raises(ValueError, match="degree"):
        rank_order(income_counts, unit="unit", groups=BRACKETS, degree=2.5)
    with pytest.raises(CountsError, match="two ordered brackets"):
        rank_order(income_counts, unit="unit", groups=["b1"])
