"""The synthetic control from the registry (``bryta evaluate registry --synth``,
:mod:`bryta.app.evaluation_registry_synth`): on the bundled RegSO panel (2020–2023) with an
intervention from 2022, on a longer made-up panel in the warehouse where an injected effect
is recovered and a unit without one is not significant, the errors, the record; and the
placebo p-value of a perfect pre-period fit."""

from __future__ import annotations

import json
from datetime import date
from statistics import NormalDist

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.app.evaluation_registry_synth import (
    TREATED_MEAN,
    registry_synth_input,
    synth_registry,
)
from bryta.cli import app
from bryta.errors import InputError
from bryta.evaluate import synthetic_control
from bryta.registry.exchange import write_registry_json
from bryta.registry.records import (
    AreaLinkRecord,
    InterventionRecord,
    ParticipationRecord,
)


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


MALMO = "1280"
SMALL = ["1214", "1257"]  # Svalöv and Örkelljunga: 4 RegSO each, the donors


def _regso(kommun: str) -> list[str]:
    from bryta.geography.areas import areas

    return sorted(areas("regso").filter(kommun=kommun).get_column("code").to_list())


R = _regso(MALMO)


def _record(key, start, codes):
    return InterventionRecord(
        key=key,
        title=f"Intervention {key}",
        form="project",
        status="active",
        planned_start=start,
        area_links=[AreaLinkRecord(level="regso", area_code=c) for c in codes],
        published=True,
        participations=[
            ParticipationRecord(
                role="accountable", organisation="Malmö stad", sector="municipality"
            )
        ],
    )


RECORDS = [
    _record("TWO", date(2022, 2, 1), [R[0], R[1]]),
    _record("EARLY", date(2021, 1, 1), [R[2]]),
    _record("EFFECT", date(2017, 1, 1), [R[3]]),
    _record("NOEFFECT", date(2017, 1, 1), [R[4]]),
]


@pytest.fixture
def ctx(registry_url, tmp_path):
    context = Context(Settings(data_dir=tmp_path / "data", database=registry_url))
    registry.init_registry(context)
    path = tmp_path / "records.json"
    write_registry_json(RECORDS, path)
    registry.import_file(context, path)
    yield context
    context.close()


BUNDLED = {
    "outcome": "born_abroad_pct",
    "kommuner": [MALMO, *SMALL],
    "pool_kommuner": SMALL,
    "intervention_keys": ["TWO"],
}


def _born_abroad(regso: list[str]) -> dict[int, float]:
    """The unweighted mean share born abroad of ``regso`` per year, from the raw counts."""
    from bryta.datasets import load_demo_panel

    raw = load_demo_panel().filter(pl.col("regso").is_in(regso))
    shares = raw.with_columns(
        (100 * pl.col("born_abroad") / (pl.col("born_abroad") + pl.col("born_sweden"))).alias("s")
    )
    return dict(shares.group_by("year").agg(pl.col("s").mean()).sort("year").rows())


def test_bundled_panel_from_2022(ctx, tmp_path):
    out = tmp_path / "two_synth"
    fit = synth_registry(ctx, out, seed=1, **BUNDLED)
    data = fit.input
    assert data.treated_regso == (R[0], R[1])
    assert data.start == 2022
    assert set(data.donors) == set(_regso("1214") + _regso("1257"))
    assert data.predictors == ("born_abroad_pct:2020", "born_abroad_pct:2021")
    assert TREATED_MEAN in data.treated and "TWO" in data.treated
    # the treated unit is the unweighted mean of the two RegSO
    path = pl.read_csv(out / "path.csv")
    expected = _born_abroad([R[0], R[1]])
    for year, value in path.select("time", "treated").rows():
        assert value == pytest.approx(expected[year], abs=1e-9)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "weights.csv",
            "path.csv",
            "placebos.csv",
            "leave_one_out.csv",
            "summary.json",
            "path.svg",
            "path.png",
            "path.html",
        ]
    )
    assert (out / "path.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    weights = pl.read_csv(out / "weights.csv", schema_overrides={"unit": pl.String})
    assert weights.columns == ["unit", "name", "weight"]
    assert weights.height == 8 and weights["name"].null_count() == 0
    assert weights["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["treated_unit"]["combined"] == TREATED_MEAN
    assert summary["treated_unit"]["regso"] == [R[0], R[1]]
    # the estimate: the mean gap over 2022–2023, from path.csv
    gaps = path.filter(pl.col("time") >= 2022)["gap"].to_list()
    assert summary["estimate"] == pytest.approx(sum(gaps) / 2, abs=1e-9)
    # the MDE from the placebos' mean gaps, computed here from placebos.csv
    placebos = pl.read_csv(out / "placebos.csv", schema_overrides={"unit": pl.String})
    means = (
        placebos.filter(pl.col("time") >= 2022).group_by("unit").agg(pl.col("gap").mean())["gap"]
    )
    assert means.len() == 8
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    assert summary["mde_normal"] == pytest.approx(z * means.std(), rel=1e-9)
    assert summary["mde"] >= summary["mde_normal"]
    ratios = placebos.unique("unit")["ratio"].to_list()
    treated_ratio = summary["ratio"]
    if treated_ratio is not None:
        rank = 1 + sum(r >= treated_ratio * (1 - 1e-12) for r in ratios if r is not None)
        assert summary["p_value"] == pytest.approx(rank / 9)


def test_too_little_for_a_synthetic_control(ctx):
    with pytest.raises(InputError, match="one start year") as error:
        registry_synth_input(ctx, outcome="born_abroad_pct", kommuner=[MALMO])
    assert "--intervention KEY" in str(error.value)
    # EARLY starts 2021: one year before it; a pool of one kommun type with no RegSO
    with pytest.raises(InputError) as error:
        registry_synth_input(
            ctx,
            outcome="born_abroad_pct",
            kommuner=[MALMO],
            intervention_keys=["EARLY"],
        )
    message = str(error.value)
    assert message.startswith("too little for a synthetic control")
    assert "2 years of born_abroad_pct before the start 2021 (there is 1: 2020" in message
    assert "donors" not in message


def _put_panel(ctx, years, units, values):
    from bryta.warehouse import Provenance

    frame = pl.DataFrame(
        {
            "area": [u for u in units for _ in years],
            "level": "regso",
            "year": [y for _ in units for y in years],
            "value": values,
        }
    )
    with ctx.warehouse() as wh:
        wh.put("indicator_test_outcome", frame, kind="indicator", provenance=Provenance(source="t"))


def test_fewer_than_two_donors(ctx):
    # the outcome exists for EARLY's RegSO and one other only
    _put_panel(ctx, [2019, 2020, 2021], [R[2], R[5]], [1.0, 2.0, 3.0, 1.5, 2.5, 3.5])
    with pytest.raises(InputError) as error:
        registry_synth_input(
            ctx, outcome="test_outcome", kommuner=[MALMO], intervention_keys=["EARLY"]
        )
    message = str(error.value)
    assert "2 never-treated RegSO as donors (there is 1; widen the pool" in message
    assert "years of" not in message


YEARS = list(range(2008, 2022))
EFFECT = 3.0


def _factor_panel() -> tuple[list[str], list[float]]:
    """20 RegSO × 2008–2021: level + loading × common factor + noise (sd 0.2); the RegSO of
    EFFECT (R[3]) is an average of three others plus EFFECT from 2017; NOEFFECT's (R[4]) an
    average of three others, without an effect."""
    rng = np.random.default_rng(7)
    units = R[:20]
    t = np.arange(len(YEARS))
    factors = np.vstack([t / 4, np.sin(t / 2), (t / 8) ** 2])
    load = rng.normal(0, 1, (len(units), 3))
    level = rng.normal(30, 5, len(units))
    load[3] = load[[6, 7, 8]].mean(axis=0)
    level[3] = level[[6, 7, 8]].mean()
    load[4] = load[[9, 10, 11]].mean(axis=0)
    level[4] = level[[9, 10, 11]].mean()
    y = level[:, None] + load @ factors + rng.normal(0, 0.2, (len(units), len(YEARS)))
    y[3, np.array(YEARS) >= 2017] += EFFECT
    return units, y.ravel().tolist()


PREDICTORS = ["outcome:2008-2010", "outcome:2011-2013", "outcome:2014-2016", "outcome:2016"]


def test_injected_effect_is_recovered(ctx, tmp_path):
    units, values = _factor_panel()
    _put_panel(ctx, YEARS, units, values)
    fit = synth_registry(
        ctx,
        tmp_path / "effect",
        outcome="test_outcome",
        kommuner=[MALMO],
        intervention_keys=["EFFECT"],
        predictors=PREDICTORS,
    )
    assert fit.input.treated == R[3] and len(fit.input.donors) == 19
    assert fit.result.average_gap == pytest.approx(EFFECT, abs=0.5)
    assert fit.result.p_value <= 0.1  # 1/20 is the smallest possible
    assert abs(fit.result.average_gap) > fit.mde / 2
    none = synth_registry(
        ctx,
        tmp_path / "none",
        outcome="test_outcome",
        kommuner=[MALMO],
        intervention_keys=["NOEFFECT"],
        predictors=PREDICTORS,
    )
    assert abs(none.result.average_gap) < 0.5
    assert none.result.p_value > 0.1


def test_cli_synth_and_record(ctx, tmp_path):
    out = tmp_path / "two.csv"
    args = [
        "evaluate",
        "registry",
        "--kommun",
        ",".join([MALMO, *SMALL]),
        "--pool-kommun",
        ",".join(SMALL),
        "--intervention",
        "TWO",
        "--outcome",
        "born_abroad_pct",
        "--synth",
        "--record",
        "--intended",
        "decrease",
        "--database",
        ctx.settings.registry_url,
        "--data-dir",
        str(tmp_path / "data"),
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "two_synth"
    assert out.exists() and (folder / "summary.json").exists()
    assert f"the {TREATED_MEAN} of 2 RegSO" in result.output
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    from bryta.app.evaluation import evaluations_of

    (record,) = evaluations_of(ctx, "TWO")
    assert record["design"] == "synth"
    assert record["n_treated"] == 1 and record["n_control"] == 8
    assert record["estimate"] == pytest.approx(summary["estimate"])
    assert record["placebo_p"] == pytest.approx(summary["p_value"])
    assert record["mde"] == pytest.approx(summary["mde"])
    assert record["ci_low"] is None and record["se"] is None
    assert record["evidence_level"] == "insufficient_evidence"  # one treated unit
    assert "recorded evaluation" in result.output


def test_cli_synth_error_writes_nothing(ctx, tmp_path):
    out = tmp_path / "early.csv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--intervention",
            "EARLY",
            "--outcome",
            "born_abroad_pct",
            "--synth",
            "--database",
            ctx.settings.registry_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert "too little for a synthetic control" in result.output
    assert not out.exists() and not (tmp_path / "early_synth").exists()
