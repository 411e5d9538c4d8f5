"""The synthetic control from the registry (``bryta evaluate registry --synth``,
:mod:`bryta.app.evaluation_registry_synth`): on the bundled RegSO panel (2020–2023) with an
intervention from 2022, on a longer made-up panel in the warehouse where an injected effect
is recovered and a unit without one is not significant, the errors, the record; and the
placebo p-value of a perfect pre-period fit."""

from __future__ import annotations

import numpy as np
import polars as pl

from bryta.evaluate import synthetic_control


def test_perfect_pre_fit_has_a_placebo_p_value():
    """A treated unit equal to a donor before the start fits exactly (RMSPE 0, ratio
    infinite): it ranks among the units with an infinite ratio, never p = 0."""
    rng = np.random.default_rng(3)
    years = list(range(2010, 2016))
    series = {f"d{i}": rng.normal(50, 5) + rng.normal(0, 1, len(years)).cumsum() for i in range(5)}
    treated = series["d0"].copy()
    treated[years.index(2013) :] += 10
    series["T"] = treated
    frame = pl.DataFrame(
        [(u, y, float(x)) for u, v in series.items() for y, x in zip(years, v, strict=True)],
        schema=["unit", "year", "y"],
        orient="row",
    )
    result = synthetic_control(
        frame,
        unit="unit",
        time="year",
        outcome="y",
        treated="T",
        start=2013,
        predictors=["y:2010", "y:2011", "y:2012"],
        leave_one_out=False,
    )
    assert result.rmspe_pre == 0.0 and result.ratio == float("inf")
    infinite = result.placebo_ratios.filter(pl.col("ratio") == float("inf")).height
    assert result.p_value == infinite / 6 >= 1 / 6
