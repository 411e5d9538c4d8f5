"""The synthetic control (bryta.evaluate.synthetic_control, bryta evaluate synth).

Proposition 99's expected values are published, not computed by bryta: the donor weights of
Abadie, Diamond & Hainmueller (2010, Table 2), the pre-period RMSPE 1.756 and the average gap
1989–2000 of −19.0 packs from a Stata ``synth2`` replication, and the placebo p-value 1/39
(ADH 2010, section 4: California's post/pre RMSPE ratio is the highest of the 39 states).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bryta.compute.evaluation._synth_kernels import weights_dense
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
