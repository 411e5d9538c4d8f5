"""Early warning: trajectories, crossing intervals, Markov transition risk, the watch list rule
and its backtest, on simulated histories with known drift and noise.

Expected values are computed here independently (numpy least squares, Python loops over
transitions, explicit matrix products), never read from the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import bryta
from bryta.compute.conditions.early_warning import (
    WATCH_COLUMNS,
    EarlyWarningError,
    WatchRule,
    backtest,
    reason_sv,
    trajectories,
    transition_risk,
    watch_list,
)


def simulate(
    n: int = 600,
    periods: int = 15,
    *,
    seed: int = 3,
    share_drift: float = 0.2,
    sigma: float = 0.8,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Areas with a known linear drift: most flat (drift ~ N(0, 0.05)), ``share_drift`` of
    them rising 0.4–1.2 index points per period; independent N(0, sigma) noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(20, 5, n)
    rising = rng.random(n) < share_drift
    drift = np.where(rising, rng.uniform(0.4, 1.2, n), rng.normal(0, 0.05, n))
    t = np.arange(periods)
    y = base[:, None] + drift[:, None] * t[None, :] + rng.normal(0, sigma, (n, periods))
    panel = pl.DataFrame(
        {
            "area": np.repeat([f"a{i:04d}" for i in range(n)], periods),
            "year": np.tile(2010 + t, n),
            "index": np.clip(y, 0, 100).ravel(),
        }
    )
    return panel, drift


# ---- trajectories ------------------------------------------------------------------------------


def test_trend_and_interval_equal_least_squares_by_hand():
    rng = np.random.default_rng(5)
    years = np.arange(2015, 2023)
    ys = {f"r{i}": 15 + 0.5 * i + rng.normal(0, 1, years.size) for i in range(6)}
    panel = pl.DataFrame(
        {
            "regso": [a for a in ys for _ in years],
            "year": np.tile(years, len(ys)),
            "index": np.concatenate(list(ys.values())),
        }
    )
    out = trajectories(panel, unit="regso", period="year", index_col="index", level=0.9)
    from scipy.stats import t as student

    last = np.array([y[-1] for y in ys.values()])
    threshold = last.mean() + last.std()  # ddof 0, as SCB
    for row in out.iter_rows(named=True):
        y = ys[row["regso"]]
        x = years.astype(float)
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (intercept + slope * x)
        se = math.sqrt(resid @ resid / (x.size - 2) / ((x - x.mean()) ** 2).sum())
        q = student.ppf(0.95, x.size - 2)
        assert row["trend"] == pytest.approx(slope, abs=1e-9)
        assert row["trend_low"] == pytest.approx(slope - q * se, abs=1e-9)
        assert row["trend_high"] == pytest.approx(slope + q * se, abs=1e-9)
        assert row["threshold"] == pytest.approx(threshold)
        assert row["gap"] == pytest.approx(threshold - y[-1])
        if slope > 0:
            assert row["crossing_at"] == pytest.approx((threshold - intercept) / slope)


def test_crossing_period_is_the_first_period_at_or_after_the_line_reaches_the_threshold():
    # ten flat areas 10…28 and one at 20 rising 1 a year: 2023's threshold by hand
    flat = {f"f{i}": 10.0 + 2 * i for i in range(10)}
    years = [2019, 2020, 2021, 2022, 2023]
    rows = [(a, y, v) for a, v in flat.items() for y in years]
    rows += [("up", y, 20.0 + (y - 2023)) for y in years]
    panel = pl.DataFrame(rows, schema=["regso", "year", "index"], orient="row")
    last = np.array([*flat.values(), 20.0])
    threshold = last.mean() + last.std()
    out = trajectories(panel, unit="regso", period="year", index_col="index", horizon=10)
    up = out.filter(pl.col("regso") == "up").row(0, named=True)
    assert up["crossing_at"] == pytest.approx(2023 + (threshold - 20.0))
    assert up["crossing_period"] == 2023 + math.ceil(threshold - 20.0)
    # an exact line: Fieller's interval shrinks to the point
    assert up["crossing_low"] == pytest.approx(up["crossing_at"])
    short = trajectories(panel, unit="regso", period="year", index_col="index", horizon=2)
    assert short.filter(pl.col("regso") == "up").item(0, "crossing_period") is None
    assert out.filter(pl.col("regso") != "up").get_column("crossing_period").null_count() == 10


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_crossing_interval_covers_the_true_crossing_at_its_nominal_rate(level):
    """4,000 simulated histories (8 periods, slopes 0.6–1.2, N(0, 1) noise): the share of
    Fieller intervals holding the true line's crossing of the threshold is within 5 points
    of ``level`` (an unbounded interval, slope not significant, counts as holding it)."""
    rng = np.random.default_rng(11)
    n, years = 4000, np.arange(2016, 2024)
    start = rng.normal(20, 3, n)
    slope = rng.uniform(0.6, 1.2, n)
    mean = start[:, None] + slope[:, None] * (years - years[0])[None, :]
    y = mean + rng.normal(0, 1, mean.shape)
    panel = pl.DataFrame(
        {
            "area": np.repeat([f"a{i:04d}" for i in range(n)], years.size),
            "year": np.tile(years, n),
            "index": y.ravel(),
        }
    )
    out = trajectories(panel, unit="area", period="year", index_col="index", level=level)
    out = out.sort(pl.col("area").str.slice(1).cast(pl.Int64))
    threshold = out.item(0, "threshold")
    truth = years[0] + (threshold - start) / slope
    low = out.get_column("crossing_low").fill_null(-np.inf).to_numpy()
    high = out.get_column("crossing_high").fill_null(np.inf).to_numpy()
    coverage = np.mean((low <= truth) & (truth <= high))
    assert abs(coverage - level) <= 0.05, coverage
    assert out.get_column("crossing_low").null_count() < 0.05 * n  # almost all bounded


# ---- transition risk ---------------------------------------------------------------------------


def test_markov_risk_equals_a_matrix_power_by_hand():
    # 10 areas × 4 years; the types come from bryta.area_types (tested on its own); the
    # transitions are counted and the matrix raised to powers here by plain loops
    values = {
        "a": [30, 31, 22, 21],
        "b": [22, 30, 31, 30],
        "c": [20, 20, 20, 26],
        "d": [18, 18, 18, 18],
        "e": [16, 16, 17, 16],
        "f": [14, 14, 14, 14],
        "g": [12, 12, 12, 12],
        "h": [10, 11, 10, 10],
        "i": [24, 25, 26, 27],
        "j": [20, 21, 22, 23],
    }
    years = [2020, 2021, 2022, 2023]
    panel = pl.DataFrame(
        [(a, y, float(v)) for a, vs in values.items() for y, v in zip(years, vs, strict=True)],
        schema=["regso", "year", "index"],
        orient="row",
    )
    typed = bryta.area_types(panel, unit="regso", by="year", shares=["index"])
    kind = {(r, y): t for r, y, t in typed.select("regso", "year", "area_type").iter_rows()}
    counts = [[0] * 5 for _ in range(5)]
    for area in values:
        for y in years[:-1]:
            counts[kind[(area, y)] - 1][kind[(area, y + 1)] - 1] += 1
    p = [
        [c / sum(row) for c in row] if sum(row) else [float(i == j) for j in range(5)]
        for i, row in enumerate(counts)
    ]

    def power(m, h):
        out = [[float(i == j) for j in range(5)] for i in range(5)]
        for _ in range(h):
            out = [[sum(out[i][k] * m[k][j] for k in range(5)) for j in range(5)] for i in range(5)]
        return out

    risk = transition_risk(panel, unit="regso", period="year", index_col="index", n_boot=0)
    for h in (1, 3, 5):
        ph = power(p, h)
        for area, got in risk.select("regso", f"markov_{h}").iter_rows():
            k = kind[(area, 2023)] - 1
            assert got == pytest.approx(ph[k][0] + ph[k][1], abs=1e-12), (area, h)


def test_risks_have_bootstrap_intervals_over_areas_that_are_seeded():
    panel, _ = simulate(n=200, periods=8, seed=4)
    one = transition_risk(panel, unit="area", period="year", index_col="index", n_boot=60, seed=1)
    two = transition_risk(panel, unit="area", period="year", index_col="index", n_boot=60, seed=1)
    assert one.equals(two)
    for h in (1, 3, 5):
        low, high = one.get_column(f"risk_{h}_low"), one.get_column(f"risk_{h}_high")
        assert (low <= high).all() and low.min() >= 0 and high.max() <= 1
    rising = one.filter(pl.col("trend_class") == "rising")
    assert rising.height > 0


def test_the_trend_conditioned_risk_separates_rising_from_falling_areas():
    panel, _ = simulate(n=600, periods=12, seed=8, share_drift=0.3)
    risk = watch_list(panel, unit="area", period="year", index_col="index", n_boot=0)
    by = risk.filter(pl.col("type_last") == 3).group_by("trend_class").agg(pl.col("risk_5").mean())
    mean = dict(by.iter_rows())
    assert mean["rising"] > mean["stable"]


# ---- the watch list and its backtest -----------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_backtest_recall_on_simulated_histories_with_known_drift(seed):
    """600 areas × 15 periods, 20 % drifting up 0.4–1.2 points a period, N(0, 0.5) noise
    (a tenth of the spread between areas): of the areas that enter type 1 or 2 at least two
    periods after an origin, the rule flags at least 80 % at that origin, at a precision of
    at least 45 % (flags followed by an entry within the horizon)."""
    panel, drift = simulate(seed=seed, sigma=0.5)
    record = backtest(panel, unit="area", period="year", index_col="index")
    assert record.complete and len(record.origins) == 15 - 5 - 4 + 1
    assert record.recall_lead is not None and record.recall_lead >= 0.80
    assert record.precision is not None and record.precision >= 0.45
    # scored independently from the pairs: entries with at least two periods' lead
    pairs = record.pairs
    late = pairs.filter(pl.col("entered") & (pl.col("lead") >= 2))
    assert record.recall_lead == pytest.approx(late.get_column("flagged").mean())
    hits = pairs.filter(pl.col("flagged") & pl.col("entered")).height
    assert record.precision == pytest.approx(hits / pairs.get_column("flagged").sum())
    # the areas that drift are the ones flagged
    drifting = [f"a{i:04d}" for i in np.flatnonzero(drift > 0.3)]
    flagged = pairs.filter("flagged").get_column("area")
    assert flagged.is_in(drifting).mean() > 0.6
    assert record.lines()[1].startswith(f"  {record.flags} flags")


def test_with_more_noise_the_entries_a_trend_cannot_foresee_lower_the_recall():
    """With N(0, 0.8) noise, flat areas near the threshold enter type 2 by chance; the rule
    still flags at least 85 % of the drifting areas' entries two periods ahead, and at least
    75 % of all (docs/early_warning.md gives the numbers)."""
    panel, drift = simulate(seed=1, sigma=0.8)
    record = backtest(panel, unit="area", period="year", index_col="index")
    late = record.pairs.filter(pl.col("entered") & (pl.col("lead") >= 2))
    drifting = [f"a{i:04d}" for i in np.flatnonzero(drift > 0.3)]
    assert late.filter(pl.col("area").is_in(drifting)).get_column("flagged").mean() >= 0.85
    assert record.recall_lead is not None and record.recall_lead >= 0.75
    assert record.precision is not None and record.precision >= 0.45


def test_the_backtest_uses_no_data_after_the_origin():
    panel, _ = simulate(n=150, periods=10, seed=2)
    record = backtest(
        panel, unit="area", period="year", index_col="index", rule=WatchRule(horizon=3)
    )
    origin = record.origins[0]
    past = panel.filter(pl.col("year") <= origin)
    direct = watch_list(past, unit="area", period="year", index_col="index", n_boot=0, horizon=3)
    eligible = direct.filter(pl.col("type_last") >= 3)
    at_origin = record.pairs.filter(pl.col("origin") == origin).sort("area")
    assert at_origin.get_column("flagged").to_list() == eligible.get_column("flagged").to_list()


def test_flags_follow_the_stated_rule_and_have_reasons():
    panel, _ = simulate(n=300, periods=10, seed=6)
    rule = WatchRule(risk_threshold=0.2)
    out = watch_list(panel, unit="area", period="year", index_col="index", rule=rule, n_boot=0)
    eligible = out.get_column("type_last") >= 3
    expected = eligible & (
        out.get_column("crossing_period").is_not_null()
        | (out.get_column("risk_5") >= 0.2).fill_null(False)
    )
    assert out.get_column("flagged").to_list() == expected.fill_null(False).to_list()
    reasons = out.filter("flagged").get_column("reason")
    assert reasons.str.len_chars().min() > 20
    assert (out.filter(~pl.col("flagged")).get_column("reason") == "").all()
    crossing = out.filter(pl.col("crossing_period").is_not_null() & pl.col("flagged"))
    assert crossing.get_column("reason").str.contains("type-2 threshold").all()
    swedish = reason_sv(out.with_columns(pl.lit(None).alias("_by_trend")).drop("_by_trend"), rule)
    assert swedish.filter(out.get_column("flagged")).str.contains("tröskeln").all()
    assert set(WATCH_COLUMNS) <= set(out.columns)


def test_swedish_reasons_use_decimal_commas():
    panel, _ = simulate(n=300, periods=10, seed=6)
    out = watch_list(panel, unit="area", period="year", index_col="index", n_boot=0, language="sv")
    text = out.filter(pl.col("crossing_period").is_not_null()).item(0, "reason")
    assert "index " in text and "," in text and "trenden når tröskeln för typ 2" in text


def test_shares_give_the_same_watch_list_as_their_mean():
    panel, _ = simulate(n=120, periods=8, seed=9)
    shares = panel.with_columns(
        (pl.col("index") - 2).clip(0, 100).alias("s1"),
        (pl.col("index") + 2).clip(0, 100).alias("s2"),
    ).with_columns((3 * pl.col("index") - pl.col("s1") - pl.col("s2")).alias("s3"))
    shares = shares.filter(pl.col("s3").is_between(0, 100))
    mean = shares.with_columns(((pl.col("s1") + pl.col("s2") + pl.col("s3")) / 3).alias("mean"))
    by_shares = watch_list(shares, unit="area", period="year", shares=["s1", "s2", "s3"], n_boot=0)
    by_index = watch_list(mean, unit="area", period="year", index_col="mean", n_boot=0)
    assert by_shares.select(WATCH_COLUMNS).equals(by_index.select(WATCH_COLUMNS))


def test_bad_inputs_are_user_errors():
    panel, _ = simulate(n=20, periods=4)
    with pytest.raises(EarlyWarningError, match="either the index column"):
        watch_list(panel, unit="area", period="year", n_boot=0)
    with pytest.raises(EarlyWarningError, match="whole periods"):
        watch_list(
            panel.with_columns(pl.lit("spring").alias("year")),
            unit="area",
            period="year",
            index_col="index",
        )
    with pytest.raises(EarlyWarningError, match="horizon"):
        WatchRule(horizon=0)
    with pytest.raises(bryta.InputError, match="'nope' not found"):
        watch_list(panel, unit="area", period="year", index_col="nope")


# ---- invariants ----------------------------------------------------------------------------


@st.composite
def panels(draw):
    n = draw(st.integers(4, 12))
    periods = draw(st.integers(3, 6))
    values = draw(
        st.lists(
            st.floats(0, 60, allow_nan=False).map(lambda v: round(v, 1)),
            min_size=n * periods,
            max_size=n * periods,
        )
    )
    return pl.DataFrame(
        {
            "area": np.repeat([f"x{i:02d}" for i in range(n)], periods),
            "year": np.tile(np.arange(2000, 2000 + periods), n),
            "index": values,
        }
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(panels(), st.randoms(use_true_random=False))
def test_invariants(panel, rnd):
    last = panel.filter(pl.col("year") == pl.col("year").max()).get_column("index")
    assume(last.n_unique() > 1)
    out = watch_list(panel, unit="area", period="year", index_col="index", n_boot=20, seed=3)
    for h in (1, 3, 5):
        for column in (f"risk_{h}", f"markov_{h}", f"risk_{h}_low", f"risk_{h}_high"):
            values = out.get_column(column).drop_nulls()
            assert ((values >= -1e-12) & (values <= 1 + 1e-12)).all(), column
        both = out.drop_nulls([f"risk_{h}_low", f"risk_{h}_high"])
        assert (both.get_column(f"risk_{h}_low") <= both.get_column(f"risk_{h}_high")).all()
    fitted = out.drop_nulls(["trend", "trend_low"])
    assert (fitted["trend_low"] <= fitted["trend"] + 1e-12).all()
    assert (fitted["trend"] <= fitted["trend_high"] + 1e-12).all()
    bounded = out.drop_nulls(["crossing_low"])
    assert (bounded["crossing_low"] <= bounded["crossing_at"] + 1e-6).all()
    assert (bounded["crossing_at"] <= bounded["crossing_high"] + 1e-6).all()
    # areas already in type 1 or 2 are never flagged
    assert not out.filter(pl.col("type_last") <= 2).get_column("flagged").any()
    # a longer horizon never removes a crossing
    longer = watch_list(panel, unit="area", period="year", index_col="index", n_boot=0, horizon=8)
    crossing = out.get_column("crossing_period").is_not_null()
    assert longer.filter(crossing).get_column("crossing_period").is_not_null().all()
    # the order of the rows changes nothing, bootstrap included
    order = list(range(panel.height))
    rnd.shuffle(order)
    shuffled = watch_list(
        panel[order], unit="area", period="year", index_col="index", n_boot=20, seed=3
    )
    assert_frame_equal(shuffled, out, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def test_the_facade_exposes_the_functions():
    assert bryta.watch_list is watch_list
    assert bryta.trajectories is trajectories
    assert bryta.transition_risk is transition_risk
    assert bryta.backtest_watch is backtest
