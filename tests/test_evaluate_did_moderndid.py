"""Staggered difference-in-differences against an independent implementation: ``moderndid``
0.2.0 (a port of R ``did``), where R's values are not published (covariates, not-yet-treated
controls, inverse probability weighting). Its own file because importing moderndid takes
10–20 s on a loaded machine; skipped when it is not installed (it is a dev dependency)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bryta.evaluate import did

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"
KEYS = {"unit": "countyreal", "time": "year", "outcome": "lemp", "cohort": "first.treat"}


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    return pl.read_csv(MPDTA)


@pytest.mark.parametrize(
    ("method", "control", "covariates"),
    [
        ("reg", "never", ["lpop"]),
        ("ipw", "never", ["lpop"]),
        ("dr", "never", ["lpop"]),
        ("dr", "notyet", None),
        ("ipw", "notyet", ["lpop"]),
    ],
)
def test_agrees_with_moderndid(mpdta, method, control, covariates) -> None:
    """moderndid 0.2.0 ports R did; with covariates and not-yet-treated controls (where R's
    values are not published) every estimate and analytic SE must agree closely."""
    md = pytest.importorskip("moderndid")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = md.att_gt(
            data=mpdta,
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            est_method=method,
            xformla="~lpop" if covariates else None,
            control_group="notyettreated" if control == "notyet" else "nevertreated",
            boot=False,
        )
        aggs = {
            k: md.aggte(ref, type=k, boot=False, cband=False)
            for k in ("simple", "group", "dynamic", "calendar")
        }
    ours = did(mpdta, method=method, control=control, covariates=covariates, **KEYS)
    att = ours.att_gt
    np.testing.assert_allclose(att["estimate"].to_numpy(), ref.att_gt, atol=1e-9)
    np.testing.assert_allclose(att["se"].to_numpy(), ref.se_gt, rtol=1e-6)
    overall = ours.overall
    for agg, est, se in overall.select("aggregation", "estimate", "se").rows():
        assert est == pytest.approx(aggs[agg].overall_att, abs=1e-9)
        assert se == pytest.approx(aggs[agg].overall_se, rel=1e-6)
    for agg, key in (("group", "group"), ("dynamic", "event_time"), ("calendar", "time")):
        rows = ours.aggregate(agg).drop_nulls(key)
        np.testing.assert_allclose(rows[key].to_numpy(), aggs[agg].event_times)
        np.testing.assert_allclose(rows["estimate"].to_numpy(), aggs[agg].att_by_event, atol=1e-9)
        np.testing.assert_allclose(rows["se"].to_numpy(), aggs[agg].se_by_event, rtol=1e-6)
