"""The placebos with did's options (anticipation, base period, sampling weights, unbalanced
panels): each placebo draw's estimates equal :func:`bryta.evaluate.did` run on the
never-treated units with that draw's pseudo-cohorts and the same options, on the vectorised
path (no covariates) and the per-draw one (covariates); the placebo in time with
anticipation equals did on the periods before the anticipation window; the command line
passes the options through."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import bryta.compute.evaluation.placebo as placebo_module
from bryta.cli import app
from bryta.evaluate import did, placebo

PERIODS = list(range(2010, 2018))
COHORTS = {2013: 8, 2015: 8}
N_NEVER = 44


def _panel(seed: int = 4, *, gaps: int = 0) -> pl.DataFrame:
    """60 units × 2010–2017: unit level + period effect + a unit trend + noise, an effect
    from the start; sampling weights ``w`` and a covariate ``x`` per unit; ``gaps`` rows
    dropped at random (an unbalanced panel)."""
    rng = np.random.default_rng(seed)
    cohort = [g for g, n in COHORTS.items() for _ in range(n)] + [0] * N_NEVER
    rows = []
    period_effect = rng.normal(0, 1, len(PERIODS))
    for i, g in enumerate(cohort):
        level, trend, w, x = (
            rng.normal(10, 2),
            rng.normal(0, 0.2),
            rng.uniform(0.5, 3),
            rng.normal(),
        )
        for t, p in enumerate(PERIODS):
            y = level + period_effect[t] + trend * t + 0.3 * x * t + rng.normal(0, 0.5)
            if g and p >= g:
                y += 1.0
            rows.append((f"u{i:03d}", p, y, g, w, x))
    frame = pl.DataFrame(rows, schema=["unit", "t", "y", "g", "w", "x"], orient="row")
    if gaps:
        drop = rng.choice(frame.height, gaps, replace=False)
        frame = frame.with_row_index("_r").filter(~pl.col("_r").is_in(drop)).drop("_r")
    return frame


DESIGN = {"unit": "unit", "time": "t", "outcome": "y", "cohort": "g"}


def _captured(monkeypatch) -> list[np.ndarray]:
    """Record the pseudo-cohort labels of every block of draws."""
    seen: list[np.ndarray] = []
    original = placebo_module._labels

    def labels(rng, pattern, r):
        out = original(rng, pattern, r)
        seen.append(out.copy())
        return out

    monkeypatch.setattr(placebo_module, "_labels", labels)
    return seen


def _did_on_draw(frame: pl.DataFrame, labels: np.ndarray, options: dict) -> dict[str, float]:
    """did() on the never-treated units, the pseudo-cohorts of one draw assigned to them."""
    pool = sorted(frame.filter(pl.col("g") == 0).get_column("unit").unique().to_list())
    cohorts = sorted(COHORTS)
    pseudo = {u: (cohorts[h] if h < len(cohorts) else 0) for u, h in zip(pool, labels, strict=True)}
    fake = frame.filter(pl.col("unit").is_in(pool)).with_columns(
        pl.col("unit").replace_strict(pseudo, return_dtype=pl.Int64).alias("g")
    )
    result = did(fake, **DESIGN, **options)
    return dict(result.overall.select("aggregation", "estimate").rows())


CASES = {
    "anticipation": ({"anticipation": 1}, 0, False),
    "universal": ({"base_period": "universal"}, 0, False),
    "anticipation notyet": ({"anticipation": 1, "control": "notyet"}, 0, False),
    "weights": ({"weights": "w"}, 0, False),
    "weights notyet": ({"weights": "w", "control": "notyet"}, 0, False),
    "unbalanced": ({"allow_unbalanced": True}, 12, False),
    "all four": (
        {"anticipation": 1, "base_period": "universal", "weights": "w", "allow_unbalanced": True},
        12,
        False,
    ),
    "covariates, weights, universal": (
        {"covariates": ["x"], "weights": "w", "base_period": "universal"},
        0,
        True,
    ),
    "covariates, unbalanced, anticipation": (
        {"covariates": ["x"], "allow_unbalanced": True, "anticipation": 1, "method": "reg"},
        12,
        True,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_draw_is_did_on_its_pseudo_cohorts(monkeypatch, case):
    options, gaps, _ = CASES[case]
    frame = _panel(gaps=gaps)
    seen = _captured(monkeypatch)
    checks = placebo(frame, **DESIGN, **options, draws=4, seed=9)
    (block,) = seen
    draws = checks.draws
    for d, labels in enumerate(block, start=1):
        expected = _did_on_draw(frame, labels, options)
        got = dict(draws.filter(draw=d).select("aggregation", "estimate").rows())
        for aggregation in ("simple", "group", "dynamic", "calendar"):
            assert got[aggregation] == pytest.approx(expected[aggregation], abs=1e-9), (
                case,
                d,
                aggregation,
            )
    # the real estimate is did's with the same options
    real = did(frame, **DESIGN, **options).overall.filter(aggregation="simple")["estimate"][0]
    assert checks.in_space.filter(aggregation="simple")["estimate"][0] == pytest.approx(real)


def test_options_change_the_draws(monkeypatch):
    """The options reach the draws: with weights the placebo distribution differs."""
    frame = _panel()
    plain = placebo(frame, **DESIGN, draws=20, seed=2)
    weighted = placebo(frame, **DESIGN, weights="w", draws=20, seed=2)
    a = plain.draws.filter(aggregation="simple")["estimate"].to_numpy()
    b = weighted.draws.filter(aggregation="simple")["estimate"].to_numpy()
    assert not np.allclose(a, b)


def test_in_time_with_anticipation_and_weights():
    """One cohort (2015), anticipation 1, shift 1: the placebo in time uses the periods
    before 2014 and pretends the start was 2013, so its estimate is did's on 2010–2013 with
    the cohort coded 2013."""
    frame = _panel().filter(pl.col("g") != 2013)
    checks = placebo(frame, **DESIGN, anticipation=1, weights="w", draws=5, seed=1)
    short = frame.filter(pl.col("t") < 2014).with_columns(
        pl.when(pl.col("g") == 2015).then(2013).otherwise(0).alias("g")
    )
    expected = did(short, **DESIGN, weights="w").overall.filter(aggregation="simple")
    got = checks.in_time.filter(aggregation="simple")
    assert got["estimate"][0] == pytest.approx(expected["estimate"][0], abs=1e-12)
    assert got["se"][0] == pytest.approx(expected["se"][0], rel=1e-9)
    assert checks.pre_periods == {2015: 4}  # 2010–2013, before the anticipation window


def test_cli_placebos_take_the_options(tmp_path):
    path = tmp_path / "panel.csv"
    _panel(gaps=12).write_csv(path)
    out = tmp_path / "did.csv"
    args = [
        "evaluate",
        "did",
        str(path),
        "--unit",
        "unit",
        "--time",
        "t",
        "--outcome",
        "y",
        "--cohort",
        "g",
        "--anticipation",
        "1",
        "--base-period",
        "universal",
        "--weights",
        "w",
        "--allow-unbalanced",
        "--placebos",
        "30",
        "--seed",
        "3",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pl.read_csv(tmp_path / "did_placebo.csv")
    direct = placebo(
        _panel(gaps=12),
        **DESIGN,
        anticipation=1,
        base_period="universal",
        weights="w",
        allow_unbalanced=True,
        draws=30,
        seed=3,
    )
    simple = table.filter(test="in_space", aggregation="simple")
    assert simple["p_value"][0] == pytest.approx(direct.p_value)
    assert simple["mde"][0] == pytest.approx(direct.mde)
