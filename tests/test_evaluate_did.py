"""Staggered difference-in-differences (Callaway & Sant'Anna): parity with R ``did`` on mpdta,
an independent check against ``moderndid``, the bootstrap, two-way fixed effects, the errors,
simulated staggered panels with a known truth, properties, and ``bryta evaluate did``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bryta.compute.evaluation.did import COLUMNS, twfe
from bryta.errors import InputError
from bryta.evaluate import did
from tests.did_panels import SHARES, staggered_panel, truth

DATA = Path(__file__).parent / "data"
MPDTA = DATA / "mpdta.csv"
KEYS = {"unit": "countyreal", "time": "year", "outcome": "lemp", "cohort": "first.treat"}

# R `did`'s README and `aggte` reference on mpdta: no covariates, never-treated controls,
# varying base period (tests/data/PROVENANCE.md). Published to four decimals.
R_ATT_GT = {
    (2004, 2004): -0.0105,
    (2004, 2005): -0.0704,
    (2004, 2006): -0.1373,
    (2004, 2007): -0.1008,
    (2006, 2004): 0.0065,
    (2006, 2005): -0.0028,
    (2006, 2006): -0.0046,
    (2006, 2007): -0.0412,
    (2007, 2004): 0.0305,
    (2007, 2005): -0.0027,
    (2007, 2006): -0.0311,
    (2007, 2007): -0.0261,
}
R_OVERALL = {"simple": -0.0400, "group": -0.0310, "dynamic": -0.0772, "calendar": -0.0417}
R_OVERALL_SE = {"simple": 0.0120, "group": 0.0124, "dynamic": 0.0200, "calendar": 0.0160}
R_BOOT_SE = {"simple": 0.0119, "group": 0.0126, "dynamic": 0.0208, "calendar": 0.0175}
R_GROUP = {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
R_EVENT = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}
R_TWFE = -0.0365
TOL = 5e-4  # the acceptance bound; the published values are rounded to 1e-4


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    return pl.read_csv(MPDTA)


@pytest.fixture(scope="module")
def reference(mpdta: pl.DataFrame):
    return did(mpdta, **KEYS)


def _by(frame: pl.DataFrame, key: str) -> dict:
    keys, values = frame.get_column(key).to_list(), frame.get_column("estimate").to_list()
    return dict(zip(keys, values, strict=True))


# --- parity with R did ----------------------------------------------------------------------


def test_every_group_time_effect_matches_r(reference) -> None:
    got = {(g, t): v for g, t, v in reference.att_gt.select("group", "time", "estimate").rows()}
    assert set(got) == set(R_ATT_GT)
    errors = {k: abs(got[k] - v) for k, v in R_ATT_GT.items()}
    assert max(errors.values()) < TOL, errors


def test_event_time_is_time_minus_group(reference) -> None:
    att = reference.att_gt
    assert (att["event_time"] == att["time"] - att["group"]).all()


@pytest.mark.parametrize("method", ["reg", "dr", "ipw"])
def test_overall_aggregates_and_their_analytic_se_match_r(mpdta, method) -> None:
    result = did(mpdta, method=method, **KEYS)
    overall = result.overall
    assert overall.get_column("aggregation").to_list() == list(R_OVERALL)
    for agg, est, se in overall.select("aggregation", "estimate", "se").rows():
        assert abs(est - R_OVERALL[agg]) < TOL, agg
        assert abs(se / R_OVERALL_SE[agg] - 1) < 0.05, agg


def test_by_group_and_by_event_time_match_r(reference) -> None:
    group = _by(reference.aggregate("group").drop_nulls("group"), "group")
    assert group.keys() == R_GROUP.keys()
    assert max(abs(group[g] - v) for g, v in R_GROUP.items()) < TOL
    event = _by(reference.aggregate("dynamic").drop_nulls("event_time"), "event_time")
    assert event.keys() == R_EVENT.keys()
    assert max(abs(event[e] - v) for e, v in R_EVENT.items()) < TOL


def test_calendar_rows_are_size_weighted_means_of_the_cells(reference) -> None:
    """Calendar 2006: cohorts 2004 (20 units) and 2006 (40 units) are treated by then."""
    att = {(g, t): v for g, t, v in reference.att_gt.select("group", "time", "estimate").rows()}
    expected = (20 * att[(2004, 2006)] + 40 * att[(2006, 2006)]) / 60
    calendar = _by(reference.aggregate("calendar").drop_nulls("time"), "time")
    assert calendar[2006] == pytest.approx(expected, abs=1e-12)


def test_not_yet_treated_controls_give_the_published_values(mpdta) -> None:
    result = did(mpdta, control="notyet", **KEYS)
    att = {(g, t): v for g, t, v in result.att_gt.select("group", "time", "estimate").rows()}
    assert abs(att[(2004, 2004)] - (-0.0194)) < TOL
    overall = _by(result.overall, "aggregation")
    assert abs(overall["group"] - (-0.0305)) < TOL
    assert abs(overall["calendar"] - (-0.0443)) < TOL
    # the last cohort's cells have only never-treated comparisons: same as with "never"
    never = did(mpdta, **KEYS).att_gt.filter(pl.col("group") == 2007, pl.col("time") == 2007)
    assert att[(2007, 2007)] == pytest.approx(never["estimate"][0], abs=1e-12)


def test_twfe_matches_the_reference(reference) -> None:
    assert abs(reference.twfe["estimate"][0] - R_TWFE) < TOL
    assert "biased" in reference.twfe_warning


def test_twfe_equals_the_dummy_variable_regression() -> None:
    """The within transformation against least squares with explicit unit and time dummies,
    and the clustered variance against its sandwich formula written out."""
    rng = np.random.default_rng(3)
    n, t = 12, 5
    y = rng.normal(size=(n, t))
    d = np.zeros((n, t))
    d[:4, 2:] = 1
    d[4:7, 3:] = 1
    est, se, _, _ = twfe(y, d)
    unit = np.repeat(np.eye(n), t, axis=0)
    time = np.tile(np.eye(t), (n, 1))[:, 1:]
    x = np.column_stack([d.ravel(), unit, time])
    beta, *_ = np.linalg.lstsq(x, y.ravel(), rcond=None)
    assert est == pytest.approx(beta[0], abs=1e-12)
    resid = y.ravel() - x @ beta
    xtx_inv = np.linalg.pinv(x.T @ x)
    meat = np.zeros((x.shape[1], x.shape[1]))
    for i in range(n):
        rows = slice(i * t, (i + 1) * t)
        s = x[rows].T @ resid[rows]
        meat += np.outer(s, s)
    v = xtx_inv @ meat @ xtx_inv
    factor = n / (n - 1) * (n * t - 1) / (n * t - t)
    assert se == pytest.approx(np.sqrt(factor * v[0, 0]), rel=1e-9)


def test_the_result_holds_what_the_registry_needs(reference) -> None:
    assert reference.estimates.columns == list(COLUMNS)
    assert reference.n_units == 500
    assert reference.n_periods == 5
    summary = reference.summary()
    assert summary["n_treated"] == {2004: 20, 2006: 40, 2007: 131}
    assert summary["n_never_treated"] == 309
    assert summary["control"] == "never" and summary["method"] == "dr"
    json.dumps(summary)  # serialisable as it is


# --- the bootstrap --------------------------------------------------------------------------


def test_bootstrap_is_reproducible_with_a_seed(mpdta) -> None:
    a = did(mpdta, bootstrap=200, seed=7, **KEYS).estimates
    b = did(mpdta, bootstrap=200, seed=7, **KEYS).estimates
    c = did(mpdta, bootstrap=200, seed=8, **KEYS).estimates
    assert a.equals(b)
    assert not a.get_column("se").equals(c.get_column("se"))
    # the point estimates do not depend on the bootstrap
    assert a.get_column("estimate").equals(did(mpdta, **KEYS).estimates.get_column("estimate"))


def test_bootstrap_se_is_close_to_r_and_to_the_analytic_se(mpdta, reference) -> None:
    """R's published bootstrap SEs depend on R's draws; averaged over five seeds ours must be
    within 10 % of them, and within 5 % of the analytic SEs the bootstrap estimates."""
    runs = [did(mpdta, bootstrap=1000, seed=s, **KEYS).overall for s in range(5)]
    se = {
        a: np.mean([r.filter(pl.col("aggregation") == a)["se"][0] for r in runs]) for a in R_OVERALL
    }
    analytic = dict(reference.overall.select("aggregation", "se").rows())
    for agg, value in se.items():
        assert abs(value / R_BOOT_SE[agg] - 1) < 0.10, (agg, value)
        assert abs(value / analytic[agg] - 1) < 0.05, (agg, value)


def test_uniform_bands_are_wider_than_pointwise_intervals(mpdta) -> None:
    result = did(mpdta, bootstrap=1000, seed=1, **KEYS)
    assert result.band == "uniform"
    z = 1.959963984540054
    for family in ("att_gt", "group", "dynamic", "calendar"):
        assert result.critical_values[family] > z
    att = result.att_gt
    half = (att["ci_high"] - att["ci_low"]) / 2
    assert np.allclose(half.to_numpy(), result.critical_values["att_gt"] * att["se"].to_numpy())
    # overall values keep pointwise intervals
    overall = result.overall
    half = (overall["ci_high"] - overall["ci_low"]) / 2
    assert np.allclose(half.to_numpy(), z * overall["se"].to_numpy())


def test_rademacher_weights_and_progress(mpdta) -> None:
    steps: list[int] = []
    ses = []
    for seed in range(3):
        result = did(
            mpdta, bootstrap=1000, seed=seed, multiplier="rademacher", progress=steps.append, **KEYS
        )
        ses.append(result.overall["se"].to_numpy())
    assert sum(steps) == 3000
    analytic = np.array(list(R_OVERALL_SE.values()))
    assert (np.abs(np.mean(ses, axis=0) / analytic - 1) < 0.1).all()


# --- errors ---------------------------------------------------------------------------------


def test_a_cohort_that_is_not_a_period_is_refused(mpdta) -> None:
    bad = mpdta.with_columns(
        pl.when(pl.col("countyreal") == 8001)
        .then(2010)
        .otherwise(pl.col("first.treat"))
        .alias("first.treat")
    )
    with pytest.raises(InputError, match=r"'first\.treat'.*2003–2007.*row 1 "):
        did(bad, **KEYS)


def test_no_never_treated_units(mpdta) -> None:
    treated = mpdta.filter(pl.col("first.treat") > 0)
    with pytest.raises(InputError, match=r"no never-treated units.*--control notyet"):
        did(treated, **KEYS)
    # not-yet-treated: R's rule, the last cohort is the comparison until it starts
    result = did(treated, control="notyet", **KEYS)
    assert any("2007 serves as the comparison" in w for w in result.warnings)
    assert result.att_gt["group"].unique().sort().to_list() == [2004, 2006]
    assert result.att_gt["time"].max() == 2006
    one = treated.filter(pl.col("first.treat") == 2006)
    with pytest.raises(InputError, match="no not-yet-treated comparisons"):
        did(one, control="notyet", **KEYS)


def test_too_few_pre_periods(mpdta) -> None:
    first = mpdta.with_columns(
        pl.when(pl.col("first.treat") > 0).then(2003).otherwise(0).alias("first.treat")
    )
    with pytest.raises(InputError, match="no treated units with a period before treatment"):
        did(first, **KEYS)
    some = mpdta.with_columns(
        pl.when(pl.col("first.treat") == 2004)
        .then(2003)
        .otherwise(pl.col("first.treat"))
        .alias("first.treat")
    )
    result = did(some, **KEYS)
    assert result.n_units == 480
    assert any("20 unit(s) treated from the first period" in w for w in result.warnings)


def test_an_unbalanced_panel_names_the_units(mpdta) -> None:
    gappy = mpdta.filter(~((pl.col("countyreal").is_in([8001, 8019])) & (pl.col("year") == 2005)))
    with pytest.raises(InputError, match=r"unbalanced: 2 unit\(s\).*8001, 8019"):
        did(gappy, **KEYS)
    missing = mpdta.with_columns(
        pl.when(pl.int_range(pl.len()) == 6).then(None).otherwise(pl.col("lemp")).alias("lemp")
    )
    with pytest.raises(InputError, match=r"'lemp'.*row 7 "):
        did(missing, **KEYS)


def test_duplicated_unit_periods_are_refused(mpdta) -> None:
    doubled = pl.concat([mpdta, mpdta.slice(3, 1)])
    with pytest.raises(InputError, match=r"more than once.*rows: row 4 .*row 2501"):
        did(doubled, **KEYS)


def test_bad_columns_and_options(mpdta) -> None:
    with pytest.raises(InputError, match="no column 'pop'"):
        did(mpdta, covariates=["pop"], **KEYS)
    with pytest.raises(InputError, match="method must be"):
        did(mpdta, method="ols", **KEYS)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="control must be"):
        did(mpdta, control="all", **KEYS)  # type: ignore[arg-type]
    changing = mpdta.with_columns(
        pl.when((pl.col("countyreal") == 8001) & (pl.col("year") == 2006))
        .then(2006)
        .otherwise(pl.col("first.treat"))
        .alias("first.treat")
    )
    with pytest.raises(InputError, match=r"same in every row of a unit.*8001"):
        did(changing, **KEYS)


def test_text_columns_as_read_from_a_csv_give_the_same_numbers(mpdta, reference) -> None:
    text = mpdta.with_columns(pl.all().cast(pl.String)).with_columns(
        pl.col("lemp").str.replace(".", ",", literal=True),  # decimal commas
        pl.when(pl.col("first.treat") == "0")
        .then(pl.lit(""))
        .otherwise(pl.col("first.treat"))
        .alias("first.treat"),
    )
    got = did(text, **KEYS).estimates
    np.testing.assert_allclose(
        got["estimate"].to_numpy(), reference.estimates["estimate"].to_numpy(), atol=1e-12
    )


# --- simulated staggered panels -------------------------------------------------------------


def test_simulated_panels_cs_covers_the_truth_where_twfe_is_biased() -> None:
    """200 panels of 300 units × 8 years, three cohorts with effects that differ by cohort and
    grow with time since the start (tests/did_panels.py). The truth of each aggregation is
    known; 95 % intervals must cover it in 90–99 % of the panels, and TWFE must miss it."""
    rng = np.random.default_rng(20240518)
    true = truth()
    covered = {a: 0 for a in true}
    twfe_est, cs_est, cs_se = [], [], []
    n_panels = 200
    for _ in range(n_panels):
        result = did(
            staggered_panel(rng, 300), unit="unit", time="year", outcome="y", cohort="cohort"
        )
        for agg, est, se, lo, hi in result.overall.select(
            "aggregation", "estimate", "se", "ci_low", "ci_high"
        ).rows():
            covered[agg] += lo <= true[agg] <= hi
            if agg == "simple":
                cs_est.append(est)
                cs_se.append(se)
        twfe_est.append(result.twfe["estimate"][0])
    for agg, hits in covered.items():
        assert 0.90 <= hits / n_panels <= 0.99, (agg, hits)
    # on average CS is within two SEs of the truth, TWFE far from it
    mean_se = float(np.mean(cs_se))
    assert abs(np.mean(cs_est) - true["simple"]) < 3 * mean_se / np.sqrt(n_panels)
    assert abs(cs_est[0] - true["simple"]) < 2 * cs_se[0]
    assert abs(np.mean(twfe_est) - true["simple"]) > 3 * mean_se


def test_no_effect_gives_estimates_centred_on_zero() -> None:
    rng = np.random.default_rng(5)
    zero = {g: 0.0 for g in SHARES}
    estimates = []
    for _ in range(40):
        panel = staggered_panel(rng, 200, tau=zero)
        result = did(panel, unit="unit", time="year", outcome="y", cohort="cohort", method="reg")
        estimates.append(result.overall["estimate"].to_numpy())
    estimates = np.array(estimates)
    centre = estimates.mean(axis=0)
    spread = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert (np.abs(centre) < 3 * spread).all(), (centre, spread)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    shift=st.floats(-1e3, 1e3, allow_nan=False),
    slope=st.floats(-5, 5, allow_nan=False),
)
def test_unit_and_period_constants_and_relabelling_change_nothing(seed, shift, slope) -> None:
    """DiD differences out anything constant within a unit or within a period; the units'
    names and the order of the rows do not matter."""
    rng = np.random.default_rng(seed)
    panel = staggered_panel(rng, 60)
    keys = {"unit": "unit", "time": "year", "outcome": "y", "cohort": "cohort"}
    base = did(panel, **keys).estimates
    moved = panel.with_columns(
        pl.col("y") + shift + slope * (pl.col("year") - 2011) + 0.01 * pl.col("unit")
    )
    got = did(moved, **keys).estimates
    np.testing.assert_allclose(got["estimate"].to_numpy(), base["estimate"].to_numpy(), atol=1e-8)
    np.testing.assert_allclose(got["se"].to_numpy(), base["se"].to_numpy(), rtol=1e-6)
    perm = rng.permutation(60)
    relabelled = panel.with_columns(
        ("u" + pl.col("unit").replace_strict(list(range(60)), perm.tolist()).cast(pl.String)).alias(
            "unit"
        )
    ).sample(fraction=1.0, shuffle=True, seed=seed)
    got = did(relabelled, **keys).estimates
    np.testing.assert_allclose(got["estimate"].to_numpy(), base["estimate"].to_numpy(), atol=1e-10)
    np.testing.assert_allclose(got["se"].to_numpy(), base["se"].to_numpy(), rtol=1e-8)


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


def test_cli_writes_the_long_table_and_prints_the_summary(tmp_path, reference) -> None:
    out = tmp_path / "did.csv"
    res = _run(MPDTA, *CLI_KEYS, "-o", out)
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    assert got.columns == list(COLUMNS)
    assert got.height == reference.estimates.height == 30
    np.testing.assert_allclose(
        got["estimate"].to_numpy(), reference.estimates["estimate"].to_numpy(), atol=1e-12
    )
    simple = got.filter(pl.col("aggregation") == "simple")
    assert simple.height == 1
    assert simple.select("group", "time", "event_time").row(0) == (None, None, None)
    text = (tmp_path / "did.csv").read_text(encoding="utf-8").splitlines()
    assert text[13].startswith("simple,,,,")  # empty cells, not "null"
    for agg in ("simple", "group", "dynamic", "calendar", "TWFE"):
        assert agg in res.output
    assert "-0.0400" in res.output and "-0.0365" in res.output and "biased" in res.output


def test_cli_reads_windows_1252_with_semicolons_and_writes_parquet_and_json(tmp_path) -> None:
    """An Excel-style export: ';' separators, decimal commas, Swedish unit names."""
    frame = pl.read_csv(MPDTA).with_columns(
        ("Område " + pl.col("countyreal").cast(pl.String) + " Åby").alias("område"),
        pl.col("lemp").cast(pl.String).str.replace(".", ",", literal=True),
        pl.col("lpop").cast(pl.String).str.replace(".", ",", literal=True),
    )
    source = tmp_path / "panel.csv"
    source.write_bytes(frame.write_csv(separator=";").encode("cp1252"))
    keys = ("--unit", "område", "--time", "year", "--outcome", "lemp", "--cohort", "first.treat")
    parquet = tmp_path / "did.parquet"
    res = _run(source, *keys, "--covariates", "lpop", "--method", "reg", "-o", parquet)
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(parquet)
    want = did(pl.read_csv(MPDTA), method="reg", covariates=["lpop"], **KEYS).estimates
    np.testing.assert_allclose(got["estimate"].to_numpy(), want["estimate"].to_numpy(), atol=1e-9)
    js = tmp_path / "did.json"
    res = _run(source, *keys, "--control", "notyet", "--bootstrap", "200", "--seed", "3", "-o", js)
    assert res.exit_code == 0, res.output
    records = json.loads(js.read_text(encoding="utf-8"))
    assert records[0]["aggregation"] == "att_gt"
    overall = [r for r in records if r["aggregation"] == "group" and r["group"] is None]
    assert len(overall) == 1 and abs(overall[0]["estimate"] - (-0.0305)) < TOL
    assert "bootstrap (200 replicates, seed 3)" in res.output


def test_cli_errors_name_the_file_row_and_column(tmp_path) -> None:
    frame = pl.read_csv(MPDTA).with_columns(pl.col("first.treat").cast(pl.String))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 9)
        .then(pl.lit("2009"))
        .otherwise(pl.col("first.treat"))
        .alias("first.treat")
    )
    source = tmp_path / "bad.csv"
    frame.write_csv(source)
    out = tmp_path / "out.csv"
    res = _run(source, *CLI_KEYS, "-o", out)
    assert res.exit_code == 2
    assert "bad.csv" in res.output and "'first.treat'" in res.output and "row 10 " in res.output
    assert not out.exists()
    res = _run(MPDTA, *CLI_KEYS, "--seed", "1", "-o", out)
    assert res.exit_code == 2 and "--bootstrap" in res.output
    res = _run(MPDTA, *CLI_KEYS, "--method", "ols", "-o", out)
    assert res.exit_code == 2 and "--method" in res.output
    res = _run(MPDTA, *CLI_KEYS, "--covariates", "pop", "-o", out)
    assert res.exit_code == 2 and "no column 'pop'" in res.output
    assert not out.exists()
