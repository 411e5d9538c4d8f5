"""The two-way fixed effects event study: against a dummy-variable regression written out
here with plain numpy (explicit unit and period dummies, the CR1 sandwich by hand), against
statsmodels when it is importable, and on simulated staggered panels where it is biased and
the Callaway & Sant'Anna event study is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bryta.errors import InputError
from bryta.evaluate import did, twfe_event_study

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"
KEYS = {"unit": "countyreal", "time": "year", "outcome": "lemp", "cohort": "first.treat"}


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    return pl.read_csv(MPDTA)


def _design(frame: pl.DataFrame, bin_min=None, bin_max=None):
    """y, the full dummy design [relative-time dummies, unit dummies, period dummies but the
    first], the event times of the first columns, and the cluster of each row."""
    y = frame["lemp"].to_numpy()
    g = frame["first.treat"].to_numpy().astype(float)
    t = frame["year"].to_numpy()
    e = np.where(g > 0, t - g, np.nan)
    if bin_min is not None:
        e = np.where(e < bin_min, bin_min, e)
    if bin_max is not None:
        e = np.where(e > bin_max, bin_max, e)
    events = [int(v) for v in np.unique(e[~np.isnan(e)]) if v != -1]
    rel = np.column_stack([(e == v).astype(float) for v in events])
    units = np.unique(frame["countyreal"].to_numpy())
    unit_d = (frame["countyreal"].to_numpy()[:, None] == units[None, :]).astype(float)
    years = np.unique(t)
    year_d = (t[:, None] == years[None, 1:]).astype(float)
    return (
        y,
        np.column_stack([rel, unit_d, year_d]),
        events,
        frame["countyreal"].to_numpy(),
        (len(years) - 1),
    )


def _cr1(y, x, cluster, m, k_fe, w=None):
    """OLS with the fixest CR1 sandwich: G/(G−1)·(N−1)/(N−K), K = m + (T − 1)."""
    w = np.ones(len(y)) if w is None else w
    xtwx = x.T @ (x * w[:, None])
    beta = np.linalg.solve(xtwx, x.T @ (w * y))
    resid = y - x @ beta
    bread = np.linalg.inv(xtwx)
    groups = np.unique(cluster)
    meat = np.zeros_like(xtwx)
    for c in groups:
        s = (x[cluster == c] * (w * resid)[cluster == c, None]).sum(axis=0)
        meat += np.outer(s, s)
    n, g = len(y), len(groups)
    factor = g / (g - 1) * (n - 1) / (n - (m + k_fe))
    vcov = factor * bread @ meat @ bread
    return beta[:m], np.sqrt(np.diag(vcov)[:m])


@pytest.mark.parametrize(("bin_min", "bin_max"), [(None, None), (-2, 1), (-3, 2)])
def test_equals_the_dummy_variable_regression(mpdta, bin_min, bin_max) -> None:
    y, x, events, cluster, k_fe = _design(mpdta, bin_min, bin_max)
    beta, se = _cr1(y, x, cluster, len(events), k_fe)
    result = twfe_event_study(mpdta, **KEYS, bin_min=bin_min, bin_max=bin_max)
    rows = result.estimates.filter(pl.col("event_time") != -1)
    assert rows["event_time"].to_list() == events
    np.testing.assert_allclose(rows["estimate"].to_numpy(), beta, atol=1e-10)
    np.testing.assert_allclose(rows["se"].to_numpy(), se, rtol=1e-8)
    ref = result.estimates.filter(pl.col("event_time") == -1)
    assert ref["estimate"][0] == 0 and ref["se"][0] is None
    assert "biased when adoption is staggered and effects differ" in result.warning
    assert list(result.estimates.columns) == ["event_time", "estimate", "se", "ci_low", "ci_high"]


def test_weighted_and_unbalanced_equal_the_dummy_variable_regression(mpdta) -> None:
    rng = np.random.default_rng(2)
    w = mpdta.select("countyreal").unique().with_columns(w=pl.Series(rng.uniform(0.5, 2, 500)))
    frame = mpdta.join(w, on="countyreal").sort("countyreal", "year")
    keep = rng.random(frame.height) > 0.1
    frame = frame.filter(pl.Series(keep))
    y, x, events, cluster, k_fe = _design(frame)
    beta, se = _cr1(y, x, cluster, len(events), k_fe, frame["w"].to_numpy())
    result = twfe_event_study(frame, **KEYS, weights="w", allow_unbalanced=True)
    rows = result.estimates.filter(pl.col("event_time") != -1)
    np.testing.assert_allclose(rows["estimate"].to_numpy(), beta, atol=1e-10)
    np.testing.assert_allclose(rows["se"].to_numpy(), se, rtol=1e-8)


def test_agrees_with_statsmodels(mpdta) -> None:
    sm = pytest.importorskip("statsmodels.api")
    y, x, events, cluster, k_fe = _design(mpdta)
    fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": cluster})
    # statsmodels' cluster factor is G/(G−1)·(N−1)/(N−K) with K all columns (the unit
    # dummies included); fixest leaves the unit dummies out of K (nested in the clusters)
    n, k_all, m = len(y), x.shape[1], len(events)
    se_fixest = fit.bse[:m] * np.sqrt((n - k_all) / (n - (m + k_fe)))
    result = twfe_event_study(mpdta, **KEYS)
    rows = result.estimates.filter(pl.col("event_time") != -1)
    np.testing.assert_allclose(rows["estimate"].to_numpy(), fit.params[:m], atol=1e-10)
    np.testing.assert_allclose(rows["se"].to_numpy(), se_fixest, rtol=1e-8)


def test_in_the_did_result_and_flagged_only_with_several_cohorts(mpdta) -> None:
    result = did(mpdta, **KEYS)
    assert result.twfe_event_study is not None
    alone = twfe_event_study(mpdta, **KEYS)
    assert result.twfe_event_study.estimates.equals(alone.estimates)
    one = mpdta.filter(pl.col("first.treat").is_in([0, 2006]))
    assert twfe_event_study(one, **KEYS).warning == ""


def test_bins_must_be_on_their_side_of_the_reference(mpdta) -> None:
    with pytest.raises(InputError, match="bin_min"):
        twfe_event_study(mpdta, **KEYS, bin_min=0)
    with pytest.raises(InputError, match="bin_max"):
        twfe_event_study(mpdta, **KEYS, bin_max=-1)


def _staggered_panel(rng: np.random.Generator) -> tuple[pl.DataFrame, dict[int, float]]:
    """300 units, periods 1–10, cohorts 4 and 7 (100 each) and 100 never treated; the effect
    grows with time since the start, twice as fast in the early cohort:
    τ(g, e) = (e + 1) · (1.0 if g = 4 else 0.5). Returns the panel and the true event-study
    effect per e ≥ 0 (cohorts weighted by size among those observed at e)."""
    n, periods = 300, np.arange(1, 11)
    g = np.repeat([4, 7, 0], 100)
    alpha = rng.normal(0, 1, n)
    lam = np.linspace(0, 2, len(periods))
    rows = []
    for i in range(n):
        for j, t in enumerate(periods):
            e = t - g[i] if g[i] else -99
            tau = (e + 1) * (1.0 if g[i] == 4 else 0.5) if g[i] and e >= 0 else 0.0
            rows.append((i, int(t), alpha[i] + lam[j] + tau + rng.normal(0, 0.3), int(g[i])))
    frame = pl.DataFrame(rows, schema=["id", "t", "y", "g"], orient="row")
    truth = {}
    for e in range(0, 7):
        effects = [(e + 1) * s for gg, s in ((4, 1.0), (7, 0.5)) if e + gg <= 10]
        truth[e] = float(np.mean(effects))
    return frame, truth


def test_twfe_event_study_is_biased_under_staggered_heterogeneous_effects() -> None:
    """Where effects grow with time since the start at rates that differ by cohort, each TWFE
    event-study coefficient mixes in the effects of the other cohort at other event times
    (Sun & Abraham 2021): a spurious pre-trend appears in the leads only the late cohort has
    (e = −5, −4: truth 0) and the lag only the early cohort has (e = 4: truth 5) is
    understated. The Callaway & Sant'Anna event study recovers the truth at the same points."""
    rng = np.random.default_rng(11)
    frame, truth = _staggered_panel(rng)
    keys = {"unit": "id", "time": "t", "outcome": "y", "cohort": "g"}
    result = did(frame, **keys)
    es = result.twfe_event_study
    assert es is not None and es.warning
    cs = result.aggregate("dynamic").drop_nulls("event_time")
    truth.update({-5: 0.0, -4: 0.0})
    for e in (-5, -4, 4):
        cs_row = cs.filter(pl.col("event_time") == e)
        assert abs(cs_row["estimate"][0] - truth[e]) < 3 * cs_row["se"][0]
        tw = es.estimates.filter(pl.col("event_time") == e)
        bias = tw["estimate"][0] - truth[e]
        assert abs(bias) > 4 * tw["se"][0]
        if e < 0:
            assert bias > 0.2  # a pre-trend where there is none
        else:
            assert bias < -0.05 * truth[e]  # the effect understated


def _cli(*args):
    from typer.testing import CliRunner

    from bryta.cli import app

    return CliRunner().invoke(app, ["evaluate", "did", *map(str, args)])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_the_command_writes_the_twfe_event_study(tmp_path, mpdta, suffix) -> None:
    out, twfe_out = tmp_path / "did.csv", tmp_path / f"twfe{suffix}"
    flags = ["--unit", "countyreal", "--time", "year", "--outcome", "lemp"]
    res = _cli(MPDTA, *flags, "--cohort", "first.treat", "-o", out, "--twfe-out", twfe_out)
    assert res.exit_code == 0, res.output
    plain = tmp_path / "plain.csv"
    res = _cli(MPDTA, *flags, "--cohort", "first.treat", "-o", plain)
    assert res.exit_code == 0, res.output
    # OUT is the same with or without --twfe-out
    assert out.read_bytes() == plain.read_bytes()
    read = {".csv": pl.read_csv, ".parquet": pl.read_parquet, ".json": pl.read_json}[suffix]
    written = read(twfe_out)
    expected = twfe_event_study(mpdta, **KEYS).estimates
    assert written.columns == expected.columns
    np.testing.assert_allclose(
        written["estimate"].to_numpy(), expected["estimate"].to_numpy(), atol=1e-12
    )


def test_the_plots_draw_it_beside_the_estimates_only_when_given(mpdta) -> None:
    from bryta.app.evaluation import event_study_html, event_study_svg

    result = did(mpdta, **KEYS)
    plain = event_study_svg(result, "t", "s")
    both = event_study_svg(result, "t", "s", twfe=result.twfe_event_study)
    assert "TWFE" not in plain and "TWFE" not in event_study_html(result, "t")
    assert "shown for comparison: biased under staggered adoption" in both
    # one open square per TWFE event time (the reference −1 included), circles unchanged
    assert both.count("<title>TWFE ") == result.twfe_event_study.estimates.height
    assert both.count("<circle") == plain.count("<circle")
    assert "biased under staggered adoption" in event_study_html(
        result, "t", twfe=result.twfe_event_study
    )
