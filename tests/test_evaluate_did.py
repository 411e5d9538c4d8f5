"""Staggered difference-in-differences (Callaway & Sant'Anna): parity with R ``did`` on mpdta,
an independent check against ``moderndid``, the bootstrap, two-way fixed effects, the errors,
simulated staggered panels with a known truth, properties, and ``bryta evaluate did``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bryta.compute.evaluation.did import COLUMNS, twfe
from bryta.evaluate import did

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
