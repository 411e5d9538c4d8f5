"""The synthetic control (bryta.evaluate.synthetic_control, bryta evaluate synth).

Proposition 99's expected values are published, not computed by bryta: the donor weights of
Abadie, Diamond & Hainmueller (2010, Table 2), the pre-period RMSPE 1.756 and the average gap
1989–2000 of −19.0 packs from a Stata ``synth2`` replication, and the placebo p-value 1/39
(ADH 2010, section 4: California's post/pre RMSPE ratio is the highest of the 39 states).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bryta.compute.evaluation._synth_kernels import weights_dense
from bryta.errors import InputError
from bryta.evaluate import synthetic_control

DATA = Path(__file__).parent / "data"
PROP99_PREDICTORS = [
    "lnincome:1980-1988",
    "age15to24:1980-1988",
    "retprice:1980-1988",
    "beer:1984-1988",
    "cigsale:1975",
    "cigsale:1980",
    "cigsale:1988",
]
PUBLISHED_WEIGHTS = {
    "Colorado": 0.164,
    "Connecticut": 0.069,
    "Montana": 0.199,
    "Nevada": 0.234,
    "Utah": 0.334,
}


@pytest.fixture(scope="module")
def smoking() -> pl.DataFrame:
    # read as text, the way the command line reads an analyst's file
    return pl.read_csv(DATA / "smoking.csv", infer_schema=False)


@pytest.fixture(scope="module")
def prop99(smoking: pl.DataFrame):
    return synthetic_control(
        smoking,
        unit="state",
        time="year",
        outcome="cigsale",
        treated="California",
        start=1989,
        predictors=PROP99_PREDICTORS,
    )


# ---- Proposition 99 ----------------------------------------------------------------------------


def test_prop99_weights_match_the_paper(prop99) -> None:
    weights = dict(prop99.weights.iter_rows())
    assert len(weights) == 38
    for state, published in PUBLISHED_WEIGHTS.items():
        assert weights[state] == pytest.approx(published, abs=0.02), state
    others = sum(w for s, w in weights.items() if s not in PUBLISHED_WEIGHTS)
    assert others < 0.02
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-12)


def test_prop99_fit_and_gap_match_the_replication(prop99) -> None:
    assert prop99.rmspe_pre == pytest.approx(1.756, rel=0.05)
    assert prop99.average_gap == pytest.approx(-19.0, abs=0.5)
    # the path's gap is the treated outcome less the synthetic one, over all 31 years
    path = prop99.path
    assert path.columns == ["time", "treated", "synthetic", "gap"]
    assert path.height == 31
    assert (path["treated"] - path["synthetic"] - path["gap"]).abs().max() < 1e-9
    post = path.filter(pl.col("time") >= 1989)
    assert post["gap"].mean() == pytest.approx(prop99.average_gap)


def test_prop99_placebos_rank_california_first(prop99) -> None:
    assert prop99.placebos.get_column("unit").n_unique() == 38
    assert prop99.p_value == pytest.approx(1 / 39)
    top = prop99.placebo_ratios.row(0, named=True)
    assert top["unit"] == "California" and top["treated"]
    assert prop99.ratio == pytest.approx(prop99.rmspe_post / prop99.rmspe_pre)


def test_prop99_balance_and_leave_one_out(prop99) -> None:
    balance = prop99.balance
    assert balance["predictor"].to_list() == PROP99_PREDICTORS
    assert balance["v"].sum() == pytest.approx(1.0)
    retprice = balance.row(2, named=True)
    assert retprice["treated"] == pytest.approx(89.42, abs=0.01)  # ADH 2010 Table 1
    left_out = set(prop99.leave_one_out["left_out"].unique().to_list())
    assert left_out == set(PUBLISHED_WEIGHTS)


# ---- the quadratic programme -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 8),
    J=st.integers(2, 30),
    seed=st.integers(0, 2**32 - 1),
    sparse_v=st.booleans(),
)
def test_simplex_solver_meets_the_kkt_conditions(k: int, J: int, seed: int, sparse_v: bool):
    rng = np.random.default_rng(seed)
    D = rng.normal(size=(k, J)) * rng.choice([1e-3, 1.0, 1e3], size=(k, 1))
    v = rng.exponential(size=k)
    if sparse_v:
        v[rng.random(k) < 0.5] = 1e-4
    w = weights_dense(v, np.ascontiguousarray(D))
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0, abs=1e-12)
    P = np.sqrt(v)[:, None] * D
    grad = P.T @ (P @ w)  # half the gradient of ‖Pw‖²
    level = w @ grad  # the multiplier of Σw = 1
    scale = (P**2).sum(axis=0).max()
    assert np.all(grad >= level - 1e-9 * scale)  # no donor could lower the objective
    assert np.all(np.abs(grad[w > 1e-12] - level) <= 1e-9 * scale)  # the used ones are level


# ---- synthetic panels --------------------------------------------------------------------------

TRUE_WEIGHTS = {"d1": 0.5, "d2": 0.3, "d3": 0.2}


def _panel(
    seed: int = 3, effect: float = 0.0, n_donors: int = 8, periods: int = 16
) -> pl.DataFrame:
    """Donors on random walks with a covariate; the treated unit ``T`` is the convex
    combination TRUE_WEIGHTS of the donors in every column, plus ``effect`` from period 11."""
    rng = np.random.default_rng(seed)
    years = np.arange(2001, 2001 + periods)
    donors = {f"d{i}": 50 + np.cumsum(rng.normal(0, 3, periods)) for i in range(1, n_donors + 1)}
    income = {d: 200 + 40 * rng.random() + rng.normal(0, 2, periods) for d in donors}
    rows = []
    for name in donors:
        rows += [(name, int(y), donors[name][t], income[name][t]) for t, y in enumerate(years)]
    treated = sum(w * donors[d] for d, w in TRUE_WEIGHTS.items())
    treated_income = sum(w * income[d] for d, w in TRUE_WEIGHTS.items())
    treated = treated + np.where(years >= 2011, effect, 0.0)
    rows += [("T", int(y), treated[t], treated_income[t]) for t, y in enumerate(years)]
    return pl.DataFrame(rows, schema=["area", "year", "y", "income"], orient="row")


SYNTH_PREDICTORS = [
    "income:2001-2010",
    "y:2002",
    "y:2004",
    "y:2006",
    "y:2008",
    "y:2009",
    "y:2010",
]


def _fit(panel: pl.DataFrame, **kw):
    options = dict(
        unit="area",
        time="year",
        outcome="y",
        treated="T",
        start=2011,
        predictors=SYNTH_PREDICTORS,
        placebos=False,
        leave_one_out=False,
    )
    return synthetic_control(panel, **(options | kw))


def test_exact_convex_combination_is_recovered() -> None:
    result = _fit(_panel())
    weights = dict(result.weights.iter_rows())
    for donor, w in weights.items():
        assert w == pytest.approx(TRUE_WEIGHTS.get(donor, 0.0), abs=1e-4), donor
    assert result.rmspe_pre < 1e-4
    assert abs(result.average_gap) < 1e-3


def test_injected_effect_is_recovered() -> None:
    result = _fit(_panel(effect=-7.5))
    post = result.path.filter(pl.col("time") >= 2011)
    assert post["gap"].to_numpy() == pytest.approx(np.full(post.height, -7.5), abs=1e-3)
    assert result.average_gap == pytest.approx(-7.5, abs=1e-3)
    assert result.rmspe_pre < 1e-4


def test_permuting_the_donors_changes_nothing() -> None:
    panel = _panel(effect=2.0)
    base = dict(_fit(panel).weights.iter_rows())
    # rename the donors so that their order reverses, and shuffle the rows
    rename = {f"d{i}": f"z{9 - i}" for i in range(1, 9)}
    shuffled = panel.with_columns(pl.col("area").replace(rename)).sample(
        fraction=1.0, shuffle=True, seed=5
    )
    again = dict(_fit(shuffled).weights.iter_rows())
    for donor, w in base.items():
        assert again[rename[donor]] == pytest.approx(w, abs=1e-6)


def test_scaling_the_outcome_and_predictors_changes_no_weight() -> None:
    noisy = _panel(seed=11).with_columns(
        pl.col("y") + pl.Series(np.random.default_rng(2).normal(0, 1.5, 9 * 16))
    )
    base = _fit(noisy)
    scaled = _fit(noisy.with_columns(pl.col("y") * 1000.0, pl.col("income") / 100.0))
    for (u1, w1), (u2, w2) in zip(
        base.weights.iter_rows(), scaled.weights.iter_rows(), strict=True
    ):
        assert u1 == u2 and w2 == pytest.approx(w1, abs=1e-6)
    assert scaled.rmspe_pre == pytest.approx(1000.0 * base.rmspe_pre, rel=1e-6)


def test_placebo_p_value_is_not_small_without_an_effect() -> None:
    rng = np.random.default_rng(21)
    years = np.arange(2001, 2017)
    common = np.cumsum(rng.normal(0, 2, years.size))
    rows = [
        (f"u{i:02d}", int(y), 40 + 5 * rng.random() + common[t] + rng.normal(0, 1.0), 100.0 + i)
        for i in range(12)
        for t, y in enumerate(years)
    ]
    panel = pl.DataFrame(rows, schema=["area", "year", "y", "income"], orient="row")
    result = _fit(panel, treated="u03", placebos=True)
    assert result.placebos.get_column("unit").n_unique() == 11
    assert result.placebo_ratios.height == 12
    assert result.p_value >= 0.2
    # the p-value is the treated unit's rank among the ratios, counted independently
    ratios = result.placebo_ratios
    mine = ratios.filter(pl.col("treated"))["ratio"].item()
    assert result.p_value == pytest.approx((ratios["ratio"] >= mine).sum() / 12)


def test_seeded_and_deterministic() -> None:
    panel = _panel(seed=4, effect=1.0).with_columns(
        pl.col("y") + pl.Series(np.random.default_rng(9).normal(0, 2, 9 * 16))
    )
    a = _fit(panel, placebos=True, seed=7, threads=2)
    b = _fit(panel, placebos=True, seed=7, threads=1)
    assert a.weights.equals(b.weights)
    assert a.placebo_ratios.equals(b.placebo_ratios)


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"treated": "Atlantis"}, "treated unit 'Atlantis' is not in column 'area'"),
        ({"start": 1999}, "start period 1999 is outside the data"),
        ({"start": 2001}, "start period 2001 is outside the data"),
        ({"predictors": ["income 2001-2005"]}, "is not NAME:FROM-TO or NAME:PERIOD"),
        ({"predictors": ["wealth:2001-2005"]}, "no column 'wealth'"),
        ({"predictors": ["income:1990-2005"]}, "period 1990 is not in column 'year'"),
        ({"predictors": ["income:2005-2012"]}, "at or after the start 2011"),
        ({"predictors": []}, "at least one predictor"),
        ({"outcome": "yy"}, "no column 'yy' (given as --outcome)"),
        ({"donors": ["d1"]}, "at least 2 donor units"),
    ],
)
def test_errors_name_what_is_wrong(change: dict, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        _fit(_panel(), **change)


def test_missing_outcome_before_the_start_is_an_error() -> None:
    panel = _panel().with_columns(
        pl.when((pl.col("area") == "d4") & (pl.col("year") == 2005))
        .then(None)
        .otherwise(pl.col("y"))
        .alias("y")
    )
    with pytest.raises(InputError, match="outcome 'y' is missing for unit 'd4' in period 2005"):
        _fit(panel)
    # after the start a missing value only leaves that period's gap empty
    later = _panel().filter(~((pl.col("area") == "T") & (pl.col("year") == 2014)))
    path = _fit(later).path
    assert path.filter(pl.col("time") == 2014)["gap"].item() is None


# ---- the command line --------------------------------------------------------------------------


def test_cli_end_to_end_with_a_windows_csv(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bryta.cli import app

    panel = _panel(effect=-4.0).with_columns(
        pl.col("area").replace({"T": "Malmö", "d1": "Växjö", "d2": "Åre"})
    )
    source = tmp_path / "panel.csv"
    text = panel.with_columns(
        pl.col("y").round(6).cast(pl.String).str.replace(".", ",", literal=True),
        pl.col("income").round(6).cast(pl.String).str.replace(".", ",", literal=True),
    ).write_csv(separator=";")
    source.write_bytes(text.encode("cp1252"))
    out = tmp_path / "result"
    args = ["evaluate", "synth", str(source), "--unit", "area", "--time", "year"]
    args += ["--outcome", "y", "--treated", "Malmö", "--start", "2011", "--out-dir", str(out)]
    for spec in SYNTH_PREDICTORS:
        args += ["--predictor", spec]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    assert "placebo p-value" in run.output
    weights = pl.read_csv(out / "weights.csv")
    assert weights.columns == ["unit", "weight"]
    found = dict(weights.iter_rows())
    assert found["Växjö"] == pytest.approx(0.5, abs=1e-3)
    assert found["Åre"] == pytest.approx(0.3, abs=1e-3)
    path = pl.read_csv(out / "path.csv")
    assert path.columns == ["time", "treated", "synthetic", "gap"]
    assert path.filter(pl.col("time") >= 2011)["gap"].mean() == pytest.approx(-4.0, abs=1e-3)
    placebos = pl.read_csv(out / "placebos.csv")
    assert placebos.columns[:5] == ["unit", "time", "actual", "synthetic", "gap"]
    assert placebos["unit"].n_unique() == 8
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("rmspe_pre", "rmspe_post", "ratio", "p_value", "average_gap", "balance"):
        assert key in summary
    assert [b["predictor"] for b in summary["balance"]] == SYNTH_PREDICTORS
    svg = (out / "path.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "Malmö" in svg
    html = (out / "path.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", html)  # plotly.js is inside: opens offline
    assert len(html) > 1_000_000
    assert not list(out.glob(".*partial*"))


def test_cli_error_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bryta.cli import app

    source = tmp_path / "panel.csv"
    _panel().write_csv(source)
    out = tmp_path / "result"
    args = ["evaluate", "synth", str(source), "--unit", "area", "--time", "year", "--outcome"]
    args += ["y", "--treated", "T", "--start", "2011", "--predictor", "income:2001-2010"]
    args += ["--predictor", "wealth:2001", "--out-dir", str(out)]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 2
    assert "no column 'wealth'" in run.output and str(source) in run.output
    assert not out.exists()
