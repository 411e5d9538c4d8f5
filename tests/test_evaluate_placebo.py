"""Placebo inference and power for staggered difference-in-differences, on real data: placebo
interventions assigned at random to the RegSO of the bundled panel (SCB, 2020–2023), an
injected known effect, the minimum detectable effect, the placebo p-value, the placebo in time
against R ``did``'s published pre-period effects on mpdta, and ``bryta evaluate did
--placebos``."""

from __future__ import annotations

import itertools
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest

from bryta.compute.evaluation.did import _prepare
from bryta.compute.evaluation.placebo import _Panel, _space_draws
from bryta.datasets import load_demo_shares
from bryta.errors import InputError
from bryta.evaluate import did, placebo

DATA = Path(__file__).parent / "data"
MPDTA = DATA / "mpdta.csv"
MPDTA_KEYS = {"unit": "countyreal", "time": "year", "outcome": "lemp", "cohort": "first.treat"}
KEYS = {"unit": "regso", "time": "year", "cohort": "start"}
COHORTS = (2021, 2022, 2023)


@pytest.fixture(scope="module")
def shares() -> pl.DataFrame:
    """Per RegSO × year: the share born abroad and the rental share (both in %)."""
    return load_demo_shares().select("regso", "year", "born_abroad_pct", "rental_pct")


@pytest.fixture(scope="module")
def regsos(shares) -> np.ndarray:
    return shares.get_column("regso").unique().sort().to_numpy()


def _design(
    shares: pl.DataFrame, regsos: np.ndarray, rng: np.random.Generator, n_treated: int
) -> pl.DataFrame:
    """``n_treated`` RegSO drawn at random, staggered evenly over 2021–2023 (column ``start``;
    0 = never)."""
    start = np.zeros(len(regsos), dtype=int)
    chosen = rng.choice(len(regsos), n_treated, replace=False)
    start[chosen] = np.resize(COHORTS, n_treated)
    return shares.join(pl.DataFrame({"regso": regsos, "start": start}), on="regso")


def _inject(panel: pl.DataFrame, outcome: str, effect: float) -> pl.DataFrame:
    """Add ``effect`` to the outcome of treated RegSO from their start year on."""
    on = (pl.col("start") > 0) & (pl.col("year") >= pl.col("start"))
    return panel.with_columns(pl.when(on).then(pl.col(outcome) + effect).otherwise(pl.col(outcome)))


# --- placebo interventions on real data -----------------------------------------------------


@pytest.mark.parametrize("outcome", ["born_abroad_pct", "rental_pct"])
def test_random_interventions_on_regso_give_zero_with_honest_intervals(
    shares, regsos, outcome
) -> None:
    """120 placebo interventions, each on 60 RegSO drawn at random (20 starting in each of
    2021, 2022, 2023): no intervention did anything, so the estimates must centre on zero and
    95 % intervals cover zero at about the nominal rate. Measured (seed 2024, 200 designs):
    born abroad 93 % (simple), 92–93 % (others); rental share 97.5 % (simple), 95.5–96.5 %.
    The bound allows for the heavy tails of small-area rates and for 120 draws (binomial
    standard deviation 2 points)."""
    rng = np.random.default_rng(2024)
    n_designs = 120
    hits = dict.fromkeys(("simple", "group", "dynamic", "calendar"), 0)
    simple = []
    for _ in range(n_designs):
        result = did(_design(shares, regsos, rng, 60), outcome=outcome, **KEYS)
        for agg, est, lo, hi in result.overall.select(
            "aggregation", "estimate", "ci_low", "ci_high"
        ).rows():
            hits[agg] += lo <= 0 <= hi
            if agg == "simple":
                simple.append(est)
    rates = {agg: n / n_designs for agg, n in hits.items()}
    assert all(0.88 <= r <= 0.99 for r in rates.values()), rates
    # under random assignment the estimate is unbiased: the mean of the draws is within
    # noise of zero
    assert abs(np.mean(simple)) < 4 * np.std(simple, ddof=1) / np.sqrt(n_designs)


def test_an_injected_effect_is_recovered_within_its_interval(shares, regsos) -> None:
    """+2 percentage points on the share born abroad from the start year: the estimate moves
    by exactly 2 (the design is linear in the outcome) and 2 lies in every interval of the
    overall estimates, while 0 does not."""
    rng = np.random.default_rng(11)
    panel = _design(shares, regsos, rng, 90)
    base = did(panel, outcome="born_abroad_pct", **KEYS)
    got = did(_inject(panel, "born_abroad_pct", 2.0), outcome="born_abroad_pct", **KEYS)
    moved = got.overall["estimate"].to_numpy() - base.overall["estimate"].to_numpy()
    np.testing.assert_allclose(moved, 2.0, atol=1e-9)
    for agg, lo, hi in got.overall.select("aggregation", "ci_low", "ci_high").rows():
        assert lo <= 2.0 <= hi, agg
        assert lo > 0, agg
    # post-treatment event times carry the effect, pre-treatment ones do not
    dynamic = got.aggregate("dynamic").filter(pl.col("event_time").is_not_null())
    for e, est, lo, hi in dynamic.select("event_time", "estimate", "ci_low", "ci_high").rows():
        target = 2.0 if e >= 0 else 0.0
        assert abs(est - target) < 4 * (hi - lo) / 3.92, (e, est)


# --- the minimum detectable effect and the placebo p-value ----------------------------------


@pytest.mark.parametrize("outcome", ["born_abroad_pct", "rental_pct"])
def test_the_mde_shrinks_as_the_number_of_treated_units_grows(shares, regsos, outcome) -> None:
    """Four times as many treated RegSO: the placebo noise and the MDE about halve
    (1/√n; the comparison pool is large)."""
    rng = np.random.default_rng(7)
    mdes = []
    for n in (15, 60, 240):
        result = placebo(
            _design(shares, regsos, rng, n), outcome=outcome, draws=200, seed=1, **KEYS
        )
        row = result.in_space.row(0, named=True)
        assert row["aggregation"] == "simple"
        assert result.mde == row["mde"] == max(row["mde_normal"], row["mde_empirical"])
        mdes.append(result.mde)
    assert mdes[0] > mdes[1] > mdes[2], mdes
    for big, small in itertools.pairwise(mdes):
        assert 1.4 < big / small < 2.9, mdes


def test_the_mde_matches_its_definition(shares, regsos) -> None:
    """normal: (z_0.975 + z_0.8) × the placebo sd; empirical: the shift of the placebo
    distribution with 80 % of the shifted draws beyond the 95 % quantile of |placebo|,
    checked here by shifting the draws."""
    panel = _design(shares, regsos, np.random.default_rng(3), 120)
    result = placebo(panel, outcome="rental_pct", draws=400, seed=5, **KEYS)
    theta = result.draws.filter(pl.col("aggregation") == "simple")["estimate"].to_numpy()
    assert len(theta) == 400
    row = result.in_space.row(0, named=True)
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    assert row["mde_normal"] == pytest.approx(z * np.std(theta, ddof=1), rel=1e-12)
    assert row["placebo_sd"] == pytest.approx(np.std(theta, ddof=1), rel=1e-12)
    c = np.quantile(np.abs(theta), 0.95)
    delta = row["mde_empirical"]
    power_up = np.mean(np.abs(theta + delta) > c)
    power_down = np.mean(np.abs(theta - delta) > c)
    assert min(power_up, power_down) >= 0.8 - 1 / len(theta)
    assert (
        min(np.mean(np.abs(theta + 0.9 * delta) > c), np.mean(np.abs(theta - 0.9 * delta) > c))
        < 0.8
    )
    assert row["mde_analytic"] == pytest.approx(z * row["se"])
    assert "120 treated units" in result.sentence
    assert "1–3 periods before the start" in result.sentence
    assert f"smaller than {result.mde:.3g}" in result.sentence


def test_placebo_p_value_is_small_for_a_large_effect_and_not_for_none(shares, regsos) -> None:
    rng = np.random.default_rng(21)
    panel = _design(shares, regsos, rng, 60)
    null = placebo(panel, outcome="born_abroad_pct", draws=200, seed=2, **KEYS)
    effect = 3 * null.mde
    big = placebo(
        _inject(panel, "born_abroad_pct", effect),
        outcome="born_abroad_pct",
        draws=200,
        seed=2,
        **KEYS,
    )
    assert big.p_value == pytest.approx(1 / 201)  # no placebo draw is as extreme
    # under random assignment the placebo p-value of no effect is uniform: over 20 designs it
    # is rarely small
    p_values = [
        placebo(
            _design(shares, regsos, rng, 60), outcome="born_abroad_pct", draws=100, seed=i, **KEYS
        ).p_value
        for i in range(20)
    ]
    assert np.mean(np.array(p_values) < 0.05) <= 0.2, p_values
    assert np.median(p_values) > 0.2, p_values
    assert min(p_values) >= 1 / 101 and max(p_values) <= 1


def test_same_seed_same_result_other_seed_other_draws(shares, regsos) -> None:
    panel = _design(shares, regsos, np.random.default_rng(4), 45)
    a = placebo(panel, outcome="rental_pct", draws=150, seed=9, **KEYS)
    b = placebo(panel, outcome="rental_pct", draws=150, seed=9, **KEYS)
    c = placebo(panel, outcome="rental_pct", draws=150, seed=10, **KEYS)
    assert a.draws.equals(b.draws) and a.in_space.equals(b.in_space) and a.in_time.equals(b.in_time)
    assert a.sentence == b.sentence
    assert not a.draws.equals(c.draws)
    assert a.in_time.equals(c.in_time)  # the placebo in time draws nothing


def test_the_draws_keep_the_cohort_structure_and_leave_the_treated_out(shares, regsos) -> None:
    panel = _design(shares, regsos, np.random.default_rng(8), 30)
    result = placebo(panel, outcome="rental_pct", draws=10, seed=1, **KEYS)
    assert result.treated == result.placebo_treated == dict.fromkeys(COHORTS, 10)
    assert result.n_never_treated == len(regsos) - 30
    assert result.n_controls == len(regsos) - 60
    assert not result.warnings or all("placebo in time" in w for w in result.warnings)


def test_the_vectorised_draws_equal_the_estimator_run_on_each_draw(shares, regsos) -> None:
    """Without covariates every draw is computed at once from cohort means; the estimator's
    own functions run draw by draw must give the same numbers, with either comparison."""
    panel = _design(shares, regsos, np.random.default_rng(5), 30).filter(
        pl.col("regso").is_in(regsos[::6].tolist()) | (pl.col("start") > 0)
    )
    data = _prepare(panel, outcome="rental_pct", covariates=(), **KEYS)
    never = np.flatnonzero(~np.isfinite(data.cohort))
    pool = _Panel(
        [data.units[i] for i in never],
        data.periods,
        data.y[never],
        data.cohort[never],
        data.x[:, never],
        0,
    )
    cohorts = np.array(COHORTS, dtype=float)
    counts = np.array([10, 10, 10])
    for control in ("never", "notyet"):
        fast = _space_draws(pool, cohorts, counts, control, "dr", 25, 3, None, fast=True)
        slow = _space_draws(pool, cohorts, counts, control, "dr", 25, 3, None, fast=False)
        np.testing.assert_allclose(fast, slow, atol=1e-10)


def test_covariates_go_through_the_estimator(shares, regsos) -> None:
    panel = (
        _design(shares, regsos, np.random.default_rng(6), 24)
        .filter(pl.col("regso").is_in(regsos[::10].tolist()) | (pl.col("start") > 0))
        .with_columns(pl.col("born_abroad_pct").alias("x"))
    )
    result = placebo(
        panel, outcome="rental_pct", covariates=["x"], method="reg", draws=20, seed=1, **KEYS
    )
    assert result.draws.height == 80 and result.draws["estimate"].is_finite().all()


# --- errors ---------------------------------------------------------------------------------


def test_too_few_never_treated_units_is_a_clear_error(shares, regsos) -> None:
    panel = _design(shares, regsos, np.random.default_rng(1), 9)
    first = pl.col("regso").is_in(regsos[:5].tolist())
    small = panel.filter((pl.col("start") > 0) | first)
    never = small.filter(pl.col("start") == 0)["regso"].n_unique()
    assert never < 6
    with pytest.raises(InputError, match=r"too few never-treated units for a placebo draw") as e:
        placebo(small, outcome="rental_pct", draws=10, **KEYS)
    assert f"{never} never-treated" in str(e.value) and "'start'" in str(e.value)
    with pytest.raises(InputError, match="draws"):
        placebo(panel, outcome="rental_pct", draws=0, **KEYS)
    with pytest.raises(InputError, match="shift"):
        placebo(panel, outcome="rental_pct", shift=0, **KEYS)


def test_a_small_pool_is_split_in_half_with_a_warning(shares, regsos) -> None:
    panel = _design(shares, regsos, np.random.default_rng(2), 30).filter(
        (pl.col("start") > 0) | pl.col("regso").is_in(regsos[:40].tolist())
    )
    result = placebo(panel, outcome="rental_pct", draws=20, seed=1, **KEYS)
    n_never = result.n_never_treated
    assert n_never < 60
    assert sum(result.placebo_treated.values()) == n_never // 2
    assert all(v >= 1 for v in result.placebo_treated.values())
    assert any("half the never-treated pool" in w for w in result.warnings)


# --- placebo in time ------------------------------------------------------------------------


def test_placebo_in_time_reproduces_r_pre_period_effects_on_mpdta() -> None:
    """With the start pretended one period early and only the periods before the real start,
    each cohort's effect is R ``did``'s pre-period ATT(g, g − 1) (varying base period):
    ATT(2006, 2005) = −0.0028, ATT(2007, 2006) = −0.0311 (published to four decimals); the
    2004 cohort has one period before its start and is left out. The overall row weights
    the cohorts by size (40 and 131 counties)."""
    result = placebo(pl.read_csv(MPDTA), **MPDTA_KEYS, draws=50, seed=1)
    by_group = dict(
        result.in_time.filter(pl.col("aggregation") == "group").select("group", "estimate").rows()
    )
    assert set(by_group) == {2006, 2007}
    assert abs(by_group[2006] - (-0.0028)) < 5e-4
    assert abs(by_group[2007] - (-0.0311)) < 5e-4
    overall = result.in_time.filter(pl.col("aggregation") == "simple")["estimate"].item()
    assert overall == pytest.approx((40 * by_group[2006] + 131 * by_group[2007]) / 171)
    assert any("2004" in w and "placebo in time" in w for w in result.warnings)
    assert result.placebo_treated == {2004: 16, 2006: 32, 2007: 106}  # 309 // 2 = 154


def test_placebo_in_time_finds_a_pre_trend_and_not_its_absence(shares, regsos) -> None:
    """A treated area drifting up by 1.5 points a year before its start shows in the placebo
    in time; the same design without the drift does not."""
    panel = _design(shares, regsos, np.random.default_rng(12), 150)
    clean = placebo(panel, outcome="born_abroad_pct", draws=10, seed=1, **KEYS)
    lo, hi = (
        clean.in_time.filter(pl.col("aggregation") == "simple").select("ci_low", "ci_high").row(0)
    )
    assert lo <= 0 <= hi
    drift = (pl.col("start") > 0) & (pl.col("year") < pl.col("start"))
    trended = panel.with_columns(
        pl.when(drift)
        .then(pl.col("born_abroad_pct") + 1.5 * (pl.col("year") - 2020))
        .otherwise(pl.col("born_abroad_pct"))
    )
    shifted = placebo(trended, outcome="born_abroad_pct", draws=10, seed=1, **KEYS)
    est, lo, hi = (
        shifted.in_time.filter(pl.col("aggregation") == "simple")
        .select("estimate", "ci_low", "ci_high")
        .row(0)
    )
    assert lo > 0 and abs(est - 1.5) < 0.5


# --- the command line -----------------------------------------------------------------------


def _run(*args):
    from typer.testing import CliRunner

    from bryta.cli import app

    return CliRunner().invoke(app, ["evaluate", "did", *map(str, args)])


CLI_KEYS = (
    "--unit",
    "countyreal",
    "--time",
    "year",
    "--outcome",
    "lemp",
    "--cohort",
    "first.treat",
)


def test_cli_writes_the_placebo_files_and_prints_the_mde(tmp_path) -> None:
    out = tmp_path / "did.csv"
    res = _run(MPDTA, *CLI_KEYS, "--placebos", 200, "--seed", 1, "-o", out)
    assert res.exit_code == 0, res.output
    checks = pl.read_csv(tmp_path / "did_placebo.csv")
    draws = pl.read_csv(tmp_path / "did_placebo_draws.csv")
    want = placebo(pl.read_csv(MPDTA), **MPDTA_KEYS, draws=200, seed=1)
    assert checks.columns[:9] == ["test", *want.in_time.columns]
    assert checks.filter(pl.col("test") == "in_space")["aggregation"].to_list() == [
        "simple",
        "group",
        "dynamic",
        "calendar",
    ]
    np.testing.assert_allclose(draws["estimate"].to_numpy(), want.draws["estimate"].to_numpy())
    assert draws.height == 800
    assert "placebo p" in res.output and "cannot be told from noise" in res.output
    assert f"{want.mde:.3g}" in res.output and f"{want.p_value:.3f}" in res.output
    assert "placebo in time" in res.output
    # the estimates themselves are unchanged by --placebos
    plain = tmp_path / "plain.csv"
    assert _run(MPDTA, *CLI_KEYS, "-o", plain).exit_code == 0
    assert pl.read_csv(plain).equals(pl.read_csv(out))


def test_cli_placebo_errors(tmp_path) -> None:
    out = tmp_path / "did.parquet"
    res = _run(MPDTA, *CLI_KEYS, "--placebos", -1, "-o", out)
    assert res.exit_code == 2 and "--placebos" in res.output
    res = _run(MPDTA, *CLI_KEYS, "--placebos", 5, "--placebo-shift", 0, "-o", out)
    assert res.exit_code == 2 and "--placebo-shift" in res.output
    frame = pl.read_csv(MPDTA)
    keep = frame.filter(pl.col("first.treat") == 0)["countyreal"].unique().sort().head(4)
    few = frame.filter((pl.col("first.treat") > 0) | pl.col("countyreal").is_in(keep.to_list()))
    source = tmp_path / "few.csv"
    few.write_csv(source)
    res = _run(source, *CLI_KEYS, "--placebos", 10, "-o", out)
    assert res.exit_code == 2, res.output
    assert "few.csv" in res.output and "too few never-treated units" in res.output
    assert not out.exists() and not (tmp_path / "did_placebo.parquet").exists()
