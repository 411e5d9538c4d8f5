"""R ``did::att_gt``'s remaining options in :func:`bryta.evaluate.did`: anticipation, the
universal base period, sampling weights and unbalanced panels.

Checked against ``moderndid`` 0.2.0 (a port of R ``did``, a dev dependency) on mpdta and on a
perturbed mpdta (a weight column; rows dropped), every ATT(g,t), the four aggregates and the
analytic standard errors, and against hand computations on tiny panels where R ``did``'s
documentation states the behaviour. Two places where moderndid 0.2.0 cannot be used as it is:

* with ``weightsname`` its ``att_gt`` leaves the unit weights of the result empty (it looks
  the weights up under the original column name after renaming it), so its ``aggte`` weights
  cohorts by their unweighted size, while R ``aggte`` uses pg = mean(w · 1{G = g}). The tests
  hand moderndid's ``aggte`` the unit weights, and check the weighted shares by hand.
* with ``allow_unbalanced_panel=True`` its ``att_gt`` fails (it reads the balanced-panel
  outcome arrays, which are not built for unbalanced panels). The tests compare the ATT(g,t)
  with its repeated cross-section estimator (``panel=False``: the same rows, so the same
  estimates) and build the unit-clustered influence functions from its ``drdid_rc``,
  ``reg_did_rc`` and ``std_ipw_did_rc`` as R ``did`` does (rows of units in the treated or
  comparison group observed in either period; influence functions scaled by units/rows and
  summed per unit), then aggregate them with its ``aggte``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bryta.errors import InputError
from bryta.evaluate import did

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"
KEYS = {"unit": "countyreal", "time": "year", "outcome": "lemp", "cohort": "first.treat"}
MD_KEYS = {"yname": "lemp", "tname": "year", "idname": "countyreal", "gname": "first.treat"}
AGG_KEY = {"group": "group", "dynamic": "event_time", "calendar": "time"}


@pytest.fixture(scope="module")
def mpdta() -> pl.DataFrame:
    return pl.read_csv(MPDTA)


@pytest.fixture(scope="module")
def weighted(mpdta) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    w = (
        mpdta.select("countyreal")
        .unique()
        .sort("countyreal")
        .with_columns(w=pl.Series(rng.uniform(0.5, 2.0, 500)))
    )
    return mpdta.join(w, on="countyreal")


@pytest.fixture(scope="module")
def unbalanced(weighted) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    drop = rng.choice(weighted.height, 150, replace=False)
    return weighted.with_row_index("i").filter(~pl.col("i").is_in(drop)).drop("i")


@pytest.fixture(scope="module")
def md():
    module = pytest.importorskip("moderndid")
    warnings.filterwarnings("ignore", module="moderndid")
    return module


def _unit_weights(frame: pl.DataFrame, ref, anticipation: int = 0) -> np.ndarray:
    """The unit weights in the order of moderndid's unit-level cohorts (by cohort, then id),
    without the units treated by the first period + anticipation (left out by both)."""
    units = (
        frame.group_by("countyreal")
        .agg(pl.col("first.treat").first(), pl.col("w").first())
        .with_columns(
            gi=pl.when(pl.col("first.treat") == 0)
            .then(float("inf"))
            .otherwise(pl.col("first.treat").cast(pl.Float64))
        )
        .filter(pl.col("gi") > 2003 + anticipation)
        .sort("gi", "countyreal")
    )
    assert np.array_equal(units["gi"].to_numpy(), np.asarray(ref.G))
    return units["w"].to_numpy()


def _assert_same(ours, ref, md, *, atol=1e-9, rtol=1e-7) -> None:
    att = ours.att_gt
    np.testing.assert_allclose(att["group"].to_numpy(), ref.groups)
    np.testing.assert_allclose(att["time"].to_numpy(), ref.times)
    np.testing.assert_allclose(att["estimate"].to_numpy(), ref.att_gt, atol=atol)
    se = att["se"].to_numpy().astype(float)
    np.testing.assert_array_equal(np.isnan(se), np.isnan(ref.se_gt))
    np.testing.assert_allclose(se, ref.se_gt, rtol=rtol)
    for agg in ("simple", "group", "dynamic", "calendar"):
        theirs = md.aggte(ref, type=agg, boot=False, cband=False)
        row = ours.overall.filter(pl.col("aggregation") == agg)
        assert row["estimate"][0] == pytest.approx(theirs.overall_att, abs=atol)
        assert row["se"][0] == pytest.approx(theirs.overall_se, rel=rtol)
        if agg == "simple":
            continue
        rows = ours.aggregate(agg).drop_nulls(AGG_KEY[agg])
        np.testing.assert_allclose(rows[AGG_KEY[agg]].to_numpy(), theirs.event_times)
        np.testing.assert_allclose(rows["estimate"].to_numpy(), theirs.att_by_event, atol=atol)
        np.testing.assert_allclose(
            rows["se"].to_numpy().astype(float), theirs.se_by_event, rtol=rtol
        )


# --- anticipation and the base period ------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "theirs"),
    [
        ({"anticipation": 1}, {"anticipation": 1}),
        ({"base_period": "universal"}, {"base_period": "universal"}),
        (
            {"base_period": "universal", "anticipation": 1},
            {"base_period": "universal", "anticipation": 1},
        ),
        (
            {"control": "notyet", "anticipation": 1},
            {"control_group": "notyettreated", "anticipation": 1},
        ),
        (
            {"control": "notyet", "base_period": "universal"},
            {"control_group": "notyettreated", "base_period": "universal"},
        ),
        (
            {"method": "ipw", "covariates": ["lpop"], "base_period": "universal"},
            {"est_method": "ipw", "xformla": "~lpop", "base_period": "universal"},
        ),
    ],
)
def test_anticipation_and_base_period_agree_with_moderndid(mpdta, md, options, theirs) -> None:
    ref = md.att_gt(data=mpdta, boot=False, **MD_KEYS, **theirs)
    _assert_same(did(mpdta, **KEYS, **options), ref, md)


def test_universal_base_period_is_zero_the_period_before_the_start(mpdta) -> None:
    """R did's documentation: with a universal base period every ATT(g,t) compares with the
    period before the start (less the anticipation), which is reported as 0; in the event
    study that is e = −1, or e = −1 − anticipation."""
    for k in (0, 1):
        result = did(mpdta, **KEYS, base_period="universal", anticipation=k)
        ref_rows = result.att_gt.filter(pl.col("event_time") == -1 - k)
        assert ref_rows.height == result.att_gt["group"].n_unique()
        assert (ref_rows["estimate"] == 0).all()
        assert ref_rows["se"].is_null().all()
        dyn = result.aggregate("dynamic").filter(pl.col("event_time") == -1 - k)
        assert dyn["estimate"][0] == 0
        # every other period is compared with that base period: a long difference
        y = mpdta.pivot(on="year", index="countyreal", values="lemp").sort("countyreal")
        g = mpdta.filter(pl.col("year") == 2003).sort("countyreal")["first.treat"].to_numpy()
        base = 2006 - 1 - k
        for t in (2003, 2004, 2007):
            if t == base:
                continue
            change = y[str(t)].to_numpy() - y[str(base)].to_numpy()
            expected = change[g == 2006].mean() - change[g == 0].mean()
            got = result.att_gt.filter((pl.col("group") == 2006) & (pl.col("time") == t))
            assert got["estimate"][0] == pytest.approx(expected, abs=1e-12)


def test_anticipation_moves_the_base_period_back_and_shortens_notyet(mpdta) -> None:
    """By hand on mpdta: with anticipation 1 the 2006 cohort's effect in 2006 is measured
    from 2004 (the last period before 2006 − 1), and with not-yet-treated comparisons a
    cohort counts as not yet treated only if it starts more than 1 period after t."""
    y = mpdta.pivot(on="year", index="countyreal", values="lemp").sort("countyreal")
    g = mpdta.filter(pl.col("year") == 2003).sort("countyreal")["first.treat"].to_numpy()
    result = did(mpdta, **KEYS, anticipation=1, control="notyet")
    change = y["2006"].to_numpy() - y["2004"].to_numpy()
    # t = 2006: comparisons never treated, or starting after 2006 + 1 (none: 2007 is too early)
    expected = change[g == 2006].mean() - change[g == 0].mean()
    got = result.att_gt.filter((pl.col("group") == 2006) & (pl.col("time") == 2006))
    assert got["estimate"][0] == pytest.approx(expected, abs=1e-12)
    # the 2004 cohort has no period before 2004 − 1 and is left out, with a note
    assert 2004 not in result.att_gt["group"].to_list()
    assert any("anticipation" in w for w in result.warnings)


def test_default_options_change_nothing(mpdta) -> None:
    plain = did(mpdta, **KEYS)
    explicit = did(
        mpdta,
        **KEYS,
        anticipation=0,
        base_period="varying",
        weights=None,
        allow_unbalanced=True,  # the panel is balanced: the same estimator
    )
    assert plain.estimates.equals(explicit.estimates)
    assert not explicit.unbalanced


def test_bad_options_are_refused(mpdta) -> None:
    with pytest.raises(InputError, match="anticipation"):
        did(mpdta, **KEYS, anticipation=-1)
    with pytest.raises(InputError, match="base_period"):
        did(mpdta, **KEYS, base_period="fixed")  # type: ignore[arg-type]


# --- sampling weights ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "theirs"),
    [
        ({}, {}),
        ({"method": "reg", "covariates": ["lpop"]}, {"est_method": "reg", "xformla": "~lpop"}),
        ({"method": "ipw", "covariates": ["lpop"]}, {"est_method": "ipw", "xformla": "~lpop"}),
        ({"method": "dr", "covariates": ["lpop"]}, {"est_method": "dr", "xformla": "~lpop"}),
        (
            {"control": "notyet", "base_period": "universal", "anticipation": 1},
            {"control_group": "notyettreated", "base_period": "universal", "anticipation": 1},
        ),
    ],
)
def test_weights_agree_with_moderndid(weighted, md, options, theirs) -> None:
    ref = md.att_gt(data=weighted, boot=False, weightsname="w", **MD_KEYS, **theirs)
    assert ref.weights_ind is None  # moderndid 0.2.0 drops them (module text); hand them on
    ref = ref._replace(weights_ind=_unit_weights(weighted, ref, options.get("anticipation", 0)))
    _assert_same(did(weighted, **KEYS, weights="w", **options), ref, md)


def test_weights_weight_the_means_and_the_cohort_shares(weighted) -> None:
    """By hand: each ATT(g,t) is a difference of weighted mean changes, and the simple
    aggregate weights the cohorts by their summed weights (R aggte: mean(w · 1{G = g}))."""
    result = did(weighted, **KEYS, weights="w")
    y = weighted.pivot(on="year", index="countyreal", values="lemp").sort("countyreal")
    first = weighted.filter(pl.col("year") == 2003).sort("countyreal")
    g, w = first["first.treat"].to_numpy(), first["w"].to_numpy()
    change = y["2007"].to_numpy() - y["2005"].to_numpy()

    def wmean(mask: np.ndarray) -> float:
        return float((w[mask] * change[mask]).sum() / w[mask].sum())

    got = result.att_gt.filter((pl.col("group") == 2006) & (pl.col("time") == 2007))
    assert got["estimate"][0] == pytest.approx(wmean(g == 2006) - wmean(g == 0), abs=1e-12)
    post = result.att_gt.filter(pl.col("time") >= pl.col("group"))
    share = {c: w[g == c].sum() for c in (2004, 2006, 2007)}
    pg = np.array([share[c] for c in post["group"]])
    expected = float(post["estimate"].to_numpy() @ pg / pg.sum())
    simple = result.overall.filter(pl.col("aggregation") == "simple")["estimate"][0]
    assert simple == pytest.approx(expected, abs=1e-12)
    # constant weights are no weights
    ones = did(weighted.with_columns(pl.lit(3.0).alias("w")), **KEYS, weights="w")
    plain = did(weighted, **KEYS)
    np.testing.assert_allclose(
        ones.estimates["estimate"].to_numpy(), plain.estimates["estimate"].to_numpy(), atol=1e-12
    )
    np.testing.assert_allclose(
        ones.estimates["se"].to_numpy(), plain.estimates["se"].to_numpy(), rtol=1e-10
    )


def test_weights_varying_within_a_unit_name_the_unit(weighted) -> None:
    bad = weighted.with_columns(
        pl.when((pl.col("countyreal") == 8019) & (pl.col("year") == 2005))
        .then(9.0)
        .otherwise(pl.col("w"))
        .alias("w")
    )
    with pytest.raises(InputError, match=r"'w'.*same in every row of a unit.*8019"):
        did(bad, **KEYS, weights="w")
    neg = weighted.with_columns(
        pl.when(pl.col("countyreal") == 8001).then(-1.0).otherwise(pl.col("w")).alias("w")
    )
    with pytest.raises(InputError, match=r"'w'.*0 or more.*row"):
        did(neg, **KEYS, weights="w")


# --- unbalanced panels ---------------------------------------------------------------------


def test_an_unbalanced_panel_without_the_flag_says_how(unbalanced) -> None:
    with pytest.raises(InputError, match=r"unbalanced.*--allow-unbalanced"):
        did(unbalanced, **KEYS)


def _rc_reference(md, frame: pl.DataFrame, method: str, covariates: bool, weights: bool):
    """R did's unbalanced-panel route built from moderndid's repeated cross-section 2×2
    estimators: per (g,t) the rows of the two periods of units in the cohort or never
    treated, the influence function scaled by units/rows and summed per unit."""
    estimator = {"dr": md.drdid_rc, "reg": md.reg_did_rc, "ipw": md.std_ipw_did_rc}[method]
    frame = frame.with_columns(
        gi=pl.when(pl.col("first.treat") == 0)
        .then(float("inf"))
        .otherwise(pl.col("first.treat").cast(pl.Float64))
    )
    units = frame.group_by("countyreal").agg(pl.col("gi").first()).sort("gi", "countyreal")
    index = {u: i for i, u in enumerate(units["countyreal"].to_list())}
    n = units.height
    periods = sorted(frame["year"].unique().to_list())
    groups, times, atts, psis = [], [], [], []
    for g in (2004, 2006, 2007):
        for j in range(1, len(periods)):
            t = periods[j]
            b = max(p for p in periods if p < g) if t >= g else periods[j - 1]
            rows = frame.filter(
                pl.col("year").is_in([t, b]) & (pl.col("gi").is_in([float(g), float("inf")]))
            )
            d = (rows["gi"] == g).cast(pl.Float64).to_numpy()
            x = np.column_stack([np.ones(rows.height), rows["lpop"].to_numpy()])
            res = estimator(
                y=rows["lemp"].to_numpy(),
                post=(rows["year"] == t).cast(pl.Int64).to_numpy(),
                d=d,
                covariates=x if covariates else None,
                i_weights=rows["w"].to_numpy() if weights else None,
                influence_func=True,
            )
            psi = np.zeros(n)
            ids = np.array([index[u] for u in rows["countyreal"].to_list()])
            np.add.at(psi, ids, res.att_inf_func * n / rows.height)
            groups.append(g)
            times.append(t)
            atts.append(res.att)
            psis.append(psi)
    return units, np.array(groups), np.array(times), np.array(atts), np.column_stack(psis)


@pytest.mark.parametrize(
    ("method", "covariates", "weights"),
    [("dr", False, False), ("dr", True, True), ("reg", True, False), ("ipw", True, True)],
)
def test_unbalanced_agrees_with_the_repeated_cross_section_route(
    unbalanced, mpdta, md, method, covariates, weights
) -> None:
    ours = did(
        unbalanced,
        **KEYS,
        method=method,
        covariates=["lpop"] if covariates else None,
        weights="w" if weights else None,
        allow_unbalanced=True,
    )
    assert ours.unbalanced
    # the estimates are the repeated cross-section estimator's on the same rows
    rc = md.att_gt(
        data=unbalanced,
        boot=False,
        panel=False,
        est_method=method,
        xformla="~lpop" if covariates else None,
        weightsname="w" if weights else None,
        **MD_KEYS,
    )
    np.testing.assert_allclose(ours.att_gt["estimate"].to_numpy(), rc.att_gt, atol=1e-9)
    # the standard errors and aggregates are clustered by unit
    units, groups, times, atts, psi = _rc_reference(md, unbalanced, method, covariates, weights)
    np.testing.assert_allclose(ours.att_gt["estimate"].to_numpy(), atts, atol=1e-9)
    se = np.sqrt((psi**2).mean(axis=0) / len(units))
    np.testing.assert_allclose(ours.att_gt["se"].to_numpy(), se, rtol=1e-7)
    template = md.att_gt(data=mpdta, boot=False, **MD_KEYS)
    assert np.array_equal(np.asarray(template.G), units["gi"].to_numpy())
    uw = (
        unbalanced.group_by("countyreal")
        .agg(pl.col("w").first())
        .join(units, on="countyreal")
        .sort("gi", "countyreal")["w"]
        .to_numpy()
        if weights
        else None
    )
    ref = template._replace(
        groups=groups,
        times=times,
        att_gt=atts,
        se_gt=se,
        influence_func=psi,
        vcov_analytical=psi.T @ psi / len(units),
        weights_ind=uw,
    )
    _assert_same(ours, ref, md)


def test_unbalanced_by_hand_on_a_tiny_panel() -> None:
    """Four units, three periods, one cohort: the repeated cross-section estimate without
    covariates is the difference of the changes in the mean outcome of the rows observed."""
    frame = pl.DataFrame(
        {
            "id": [1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5],
            "t": [1, 2, 3, 1, 3, 1, 2, 3, 2, 3, 1, 2, 3],
            "y": [1.0, 2.0, 4.0, 2.0, 7.0, 0.5, 0.7, 0.6, 1.1, 1.5, 2.0, 2.5, 2.4],
            "g": [2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0],
        }
    )
    result = did(frame, unit="id", time="t", outcome="y", cohort="g", allow_unbalanced=True)

    def mean(ids: list[int], t: int) -> float:
        return frame.filter(pl.col("id").is_in(ids) & (pl.col("t") == t))["y"].mean()

    treated, comp = [1, 2], [3, 4, 5]
    for t in (2, 3):
        expected = (mean(treated, t) - mean(treated, 1)) - (mean(comp, t) - mean(comp, 1))
        got = result.att_gt.filter(pl.col("time") == t)["estimate"][0]
        assert got == pytest.approx(expected, abs=1e-12)


# --- the command line ----------------------------------------------------------------------


def _cli(*args):
    from typer.testing import CliRunner

    from bryta.cli import app

    return CliRunner().invoke(app, ["evaluate", "did", *map(str, args)])


FLAGS = ("--unit", "countyreal", "--time", "year", "--outcome", "lemp", "--cohort", "first.treat")


def test_the_command_passes_the_options_on(tmp_path, unbalanced) -> None:
    panel = tmp_path / "panel.csv"
    unbalanced.write_csv(panel)
    out = tmp_path / "did.csv"
    res = _cli(panel, *FLAGS, "-o", out)
    assert res.exit_code == 2
    assert "--allow-unbalanced" in res.output
    assert not out.exists()
    options = ("--allow-unbalanced", "--weights", "w", "--anticipation", "1")
    res = _cli(panel, *FLAGS, *options, "--base-period", "universal", "-o", out)
    assert res.exit_code == 0, res.output
    expected = did(
        unbalanced,
        **KEYS,
        allow_unbalanced=True,
        weights="w",
        anticipation=1,
        base_period="universal",
    )
    written = pl.read_csv(out)
    assert written.columns == expected.estimates.columns
    np.testing.assert_allclose(
        written["estimate"].to_numpy(), expected.estimates["estimate"].to_numpy(), atol=1e-12
    )
    assert "anticipation 1, universal base period, weights w, unbalanced" in res.output


def test_placebos_take_the_new_options(tmp_path, weighted) -> None:
    """Once refused; the placebos now run with the options (tests/test_placebo_options.py
    checks their numbers)."""
    panel = tmp_path / "panel.csv"
    weighted.write_csv(panel)
    res = _cli(panel, *FLAGS, "--weights", "w", "--placebos", "5", "-o", tmp_path / "o.csv")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o_placebo.csv").exists()
