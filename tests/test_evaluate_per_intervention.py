"""Each intervention evaluated on its own (``bryta evaluate registry --per-intervention``,
:func:`bryta.app.evaluation.evaluate_registry` with ``per_intervention``): on a made-up
panel in the warehouse where two interventions have different injected effects, each gets
its own estimate (recomputed here by hand from the values, with the other intervention's
RegSO out of the pool), its own record, and an intervention without treated RegSO within the
data gets a row saying why."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.app.evaluation import evaluate_registry, evaluations_of, interventions_path
from bryta.cli import app
from bryta.registry.exchange import write_registry_json
from bryta.registry.records import AreaLinkRecord, InterventionRecord, ParticipationRecord

MALMO = "1280"
YEARS = list(range(2010, 2022))


def _regso() -> list[str]:
    from bryta.geography.areas import areas

    return sorted(areas("regso").filter(kommun=MALMO).get_column("code").to_list())[:40]


R = _regso()
A, B, C = R[0:6], R[6:12], R[12:14]  # C starts after the data
EFFECT = {"A": 2.0, "B": -3.0}
START = {"A": 2016, "B": 2018, "C": 2030}


def _record(key: str, codes: list[str]) -> InterventionRecord:
    return InterventionRecord(
        key=key,
        title=f"Intervention {key}",
        form="project",
        status="active",
        planned_start=date(START[key], 3, 1),
        area_links=[AreaLinkRecord(level="regso", area_code=c) for c in codes],
        published=True,
        participations=[
            ParticipationRecord(
                role="accountable", organisation="Malmö stad", sector="municipality"
            )
        ],
    )


def _values() -> dict[str, np.ndarray]:
    """Level + a common trend + a unit trend + noise, and the injected effects."""
    rng = np.random.default_rng(11)
    t = np.arange(len(YEARS), dtype=float)
    common = 0.5 * t + np.sin(t)
    out = {}
    for code in R:
        y = rng.normal(40, 5) + common + rng.normal(0, 0.3, len(YEARS))
        for key, codes in (("A", A), ("B", B)):
            if code in codes:
                y[np.array(YEARS) >= START[key]] += EFFECT[key]
        out[code] = y
    return out


VALUES = _values()


@pytest.fixture
def ctx(registry_url, tmp_path):
    from bryta.warehouse import Provenance

    context = Context(Settings(data_dir=tmp_path / "data", database=registry_url))
    registry.init_registry(context)
    path = tmp_path / "records.json"
    write_registry_json([_record("A", A), _record("B", B), _record("C", C)], path)
    registry.import_file(context, path)
    frame = pl.DataFrame(
        {
            "area": [u for u in R for _ in YEARS],
            "level": "regso",
            "year": [y for _ in R for y in YEARS],
            "value": np.concatenate([VALUES[u] for u in R]).tolist(),
        }
    )
    with context.warehouse() as wh:
        wh.put("indicator_test_outcome", frame, kind="indicator", provenance=Provenance(source="t"))
    yield context
    context.close()


def _by_hand(treated: list[str], start: int) -> float:
    """The simple ATT of one cohort against the never-treated RegSO (those of neither A nor
    B: C's start after the data): the mean over t ≥ start of the difference in the change
    from start − 1 between the treated and the comparison RegSO."""
    pool = [u for u in R if u not in A and u not in B]
    base = YEARS.index(start - 1)

    def change(units: list[str], j: int) -> float:
        return float(np.mean([VALUES[u][j] - VALUES[u][base] for u in units]))

    post = [j for j, y in enumerate(YEARS) if y >= start]
    return float(np.mean([change(treated, j) - change(pool, j) for j in post]))


OPTIONS = {"outcome": "test_outcome", "kommuner": [MALMO]}


def test_each_intervention_on_its_own(ctx, tmp_path):
    out = tmp_path / "run.csv"
    run = evaluate_registry(ctx, out, placebos=60, seed=3, per_intervention=True, **OPTIONS)
    table = pl.read_csv(interventions_path(out))
    assert interventions_path(out).name == "run_interventions.csv"
    assert table.get_column("key").to_list() == ["A", "B", "C"]
    rows = {row["key"]: row for row in table.iter_rows(named=True)}
    for key, codes in (("A", A), ("B", B)):
        row = rows[key]
        assert row["estimate"] == pytest.approx(_by_hand(codes, START[key]), abs=1e-9)
        assert row["estimate"] == pytest.approx(EFFECT[key], abs=0.5)
        assert row["n_treated"] == 6
        assert row["n_control"] == len(R) - 12  # the other intervention's RegSO left out
        assert row["ci_low"] < EFFECT[key] < row["ci_high"]
        assert row["mde"] > 0 and row["mde_basis"] == "placebo"
        assert 0 < row["placebo_p"] <= 1 and row["pre_trend"] is not None
        assert row["cohorts"] == f"{START[key]}: 6"
        assert row["note"] is None
    assert rows["C"]["estimate"] is None
    assert "start after 2021" in rows["C"]["note"]
    # the sub-run of each: its own placebo checks, its own panel
    own = {r.key: r for r in run.per_intervention}
    assert own["A"].run is not None and own["A"].run.placebo is not None
    assert own["A"].run.placebo.treated == {2016: 6}
    assert set(own["B"].run.panel.frame.get_column("regso").unique()) == set(R) - set(A)
    # the pooled estimate is neither
    pooled = run.result.overall.filter(aggregation="simple")["estimate"][0]
    assert abs(pooled - rows["A"]["estimate"]) > 0.5 and abs(pooled - rows["B"]["estimate"]) > 0.5
    assert run.summary["per_intervention"][0]["key"] == "A"
    assert interventions_path(out) in run.files


def test_cli_records_each_own_estimate(ctx, tmp_path):
    out = tmp_path / "each.xlsx"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcome",
            "test_outcome",
            "--per-intervention",
            "--placebos",
            "40",
            "--seed",
            "1",
            "--record",
            "--database",
            ctx.settings.registry_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_excel(tmp_path / "each_interventions.xlsx")
    rows = {row["key"]: row for row in table.iter_rows(named=True)}
    for key, codes in (("A", A), ("B", B)):
        (record,) = evaluations_of(ctx, key)
        assert record["estimate"] == pytest.approx(_by_hand(codes, START[key]), abs=1e-9)
        assert record["estimate"] == pytest.approx(rows[key]["estimate"], abs=1e-12)
        assert record["mde"] == pytest.approx(rows[key]["mde"], abs=1e-12)
        assert record["placebo_p"] == pytest.approx(rows[key]["placebo_p"], abs=1e-12)
        assert record["n_treated"] == 6 and record["n_control"] == len(R) - 12
        assert record["provenance"]["estimate_of"] == "intervention"
    assert evaluations_of(ctx, "C") == []
    assert "not recorded: C" in result.output
    assert "A: +2" in result.output and "B: -3" in result.output
    assert "C: not estimated, no treated RegSO within the data" in result.output


def test_per_intervention_and_synth_refused(ctx, tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcome",
            "test_outcome",
            "--per-intervention",
            "--synth",
            "--database",
            ctx.settings.registry_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-o",
            str(tmp_path / "x.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "--per-intervention and --synth" in result.output
    assert not (tmp_path / "x.csv").exists()
