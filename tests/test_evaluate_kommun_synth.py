"""A kommun as the treated unit of the synthetic control from the registry
(``bryta evaluate registry --synth --synth-level kommun``): the kommun's outcome recomputed by
hand from the bundled SCB export (summed counts, not a mean of RegSO shares), from a loaded
RegSO ratio's numerators and denominators, an outcome that cannot be taken to kommun level,
the donors, and an effect injected into one kommun of a made-up panel recovered."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.app.evaluation_registry_synth import (
    kommun_outcome,
    kommun_synth_input,
    synth_registry,
)
from bryta.cli import app
from bryta.errors import InputError
from bryta.geography.areas import kommun_names
from bryta.registry.exchange import write_registry_json
from bryta.registry.records import AreaLinkRecord, InterventionRecord, ParticipationRecord

SVALOV = "1214"
SKANE = sorted(k for k in kommun_names() if k.startswith("12"))[:20]
TREATED = SKANE[5]  # the made-up panel's treated kommun
BUSY = SKANE[7]  # has an intervention of its own linked to one of its RegSO: never a donor


def _regso(kommun: str) -> list[str]:
    from bryta.geography.areas import areas

    return sorted(areas("regso").filter(kommun=kommun).get_column("code").to_list())


def _record(key, start, links):
    return InterventionRecord(
        key=key,
        title=f"Intervention {key}",
        form="project",
        status="active",
        planned_start=start,
        area_links=[AreaLinkRecord(level=level, area_code=code) for level, code in links],
        published=True,
        participations=[
            ParticipationRecord(role="accountable", organisation="Kommunen", sector="municipality")
        ],
    )


RECORDS = [
    _record("SVALOV", date(2022, 3, 1), [("kommun", SVALOV)]),
    _record("EFFECT", date(2017, 1, 1), [("kommun", TREATED)]),
    _record("BUSY", date(2015, 1, 1), [("regso", _regso(BUSY)[0])]),
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


def _born_abroad_by_hand(kommun_name: str) -> dict[int, float]:
    """The kommun's share born abroad per year straight from the bundled SCB export: the
    totals and the born in Sweden of its RegSO (rows "Kommun (RegSO name)") summed, then
    divided."""
    path = Path(__file__).parents[1] / "src/bryta/data/scb/regso_birth_region_2020_2023.csv"
    total: dict[int, int] = {}
    sweden: dict[int, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if not row["region"].startswith(f"{kommun_name} (") or row["kön"] != "totalt":
                continue
            target = total if row["födelseregion"] == "totalt" else sweden
            if row["födelseregion"] not in ("totalt", "Sverige"):
                continue
            for year in range(2020, 2024):
                target[year] = target.get(year, 0) + int(row[f"Antal {year}"])
    return {y: 100 * (total[y] - sweden[y]) / total[y] for y in total}


def test_kommun_outcome_from_the_bundled_counts(ctx, tmp_path):
    expected = _born_abroad_by_hand("Svalöv")
    assert len(expected) == 4
    values, basis = kommun_outcome(ctx, "born_abroad_pct")
    got = dict(values.filter(kommun=SVALOV).select("year", "value").rows())
    assert got == pytest.approx(expected, abs=1e-9)
    assert "summed" in basis
    # not the mean of the RegSO shares (the four RegSO differ in size)
    from bryta.app.evaluation import regso_outcomes

    shares = regso_outcomes(ctx).filter(
        pl.col("indicator") == "born_abroad_pct", pl.col("regso").str.starts_with(SVALOV)
    )
    mean_2020 = shares.filter(year=2020).get_column("value").mean()
    assert abs(mean_2020 - expected[2020]) > 0.01

    pool = ["1260", "1262", "1263", "1264", "1265"]
    out = tmp_path / "svalov_synth"
    fit = synth_registry(
        ctx,
        out,
        level="kommun",
        outcome="born_abroad_pct",
        intervention_keys=["SVALOV"],
        # TREATED and BUSY have interventions of their own: never donors
        pool_kommuner=[*pool, TREATED, BUSY],
    )
    assert fit.input.treated == SVALOV and fit.input.start == 2022
    assert fit.input.donors == tuple(pool)
    path = pl.read_csv(out / "path.csv")
    for year, value in path.select("time", "treated").rows():
        assert value == pytest.approx(expected[year], abs=1e-9)
    weights = pl.read_csv(out / "weights.csv", schema_overrides={"unit": pl.String})
    assert weights.columns == ["unit", "name", "weight"]
    names = kommun_names()
    assert dict(weights.select("unit", "name").rows()) == {k: names[k] for k in pool}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["treated_unit"]["kommun"] == [SVALOV]
    assert summary["treated_unit"]["names"] == ["Svalöv"]
    assert summary["panel"]["level"] == "kommun"


def test_outcomes_that_cannot_be_summed(ctx):
    with pytest.raises(InputError, match="cannot be computed honestly") as error:
        kommun_synth_input(ctx, outcome="mean_wage_income", intervention_keys=["SVALOV"])
    assert "--level kommun" in str(error.value)


def test_loaded_regso_ratio_summed(ctx):
    """A loaded RegSO ratio with numerators and denominators: the kommun's value is the sum
    of the numerators over the sum of the denominators."""
    from bryta.warehouse import Provenance

    codes = _regso(SVALOV)
    num = {c: 10.0 * (i + 1) for i, c in enumerate(codes)}
    den = {c: 40.0 * (i + 1) ** 2 for i, c in enumerate(codes)}
    frame = pl.DataFrame(
        {
            "area": codes,
            "level": "regso",
            "year": 2022,
            "numerator": [num[c] for c in codes],
            "denominator": [den[c] for c in codes],
            "value": [100 * num[c] / den[c] for c in codes],
        }
    )
    with ctx.warehouse() as wh:
        wh.put("indicator_test_ratio", frame, kind="indicator", provenance=Provenance(source="t"))
    values, basis = kommun_outcome(ctx, "test_ratio")
    expected = 100 * sum(num.values()) / sum(den.values())
    assert values.filter(kommun=SVALOV)["value"].to_list() == [pytest.approx(expected)]
    assert "numerators and denominators" in basis
    # one RegSO without them: that kommun-year is left out, not summed from the rest
    partial = frame.with_columns(
        pl.when(pl.col("area") == codes[0]).then(None).otherwise("numerator").alias("numerator")
    )
    with ctx.warehouse() as wh:
        wh.put(
            "indicator_test_ratio",
            partial,
            kind="indicator",
            provenance=Provenance(source="t"),
            replace=True,
        )
    values, _ = kommun_outcome(ctx, "test_ratio")
    assert values.filter(kommun=SVALOV).is_empty()


YEARS = list(range(2008, 2022))
EFFECT = 3.0


def _put_kommun_panel(ctx) -> None:
    """20 Skåne kommuner × 2008–2021 at kommun level: level + loadings × factors + noise;
    the treated kommun an average of three others plus EFFECT from 2017."""
    from bryta.warehouse import Provenance

    rng = np.random.default_rng(5)
    t = np.arange(len(YEARS))
    factors = np.vstack([t / 4, np.sin(t / 2), (t / 8) ** 2])
    load = rng.normal(0, 1, (len(SKANE), 3))
    level = rng.normal(30, 5, len(SKANE))
    i = SKANE.index(TREATED)
    load[i] = load[[10, 11, 12]].mean(axis=0)
    level[i] = level[[10, 11, 12]].mean()
    y = level[:, None] + load @ factors + rng.normal(0, 0.2, (len(SKANE), len(YEARS)))
    y[i, np.array(YEARS) >= 2017] += EFFECT
    frame = pl.DataFrame(
        {
            "area": [k for k in SKANE for _ in YEARS],
            "level": "kommun",
            "year": [yr for _ in SKANE for yr in YEARS],
            "value": y.ravel().tolist(),
        }
    )
    with ctx.warehouse() as wh:
        wh.put("indicator_test_outcome", frame, kind="indicator", provenance=Provenance(source="t"))


def test_injected_effect_in_a_kommun_is_recovered(ctx, tmp_path):
    _put_kommun_panel(ctx)
    fit = synth_registry(
        ctx,
        tmp_path / "effect",
        level="kommun",
        outcome="test_outcome",
        intervention_keys=["EFFECT"],
        predictors=["outcome:2008-2010", "outcome:2011-2013", "outcome:2014-2016", "outcome:2016"],
    )
    data = fit.input
    assert data.treated == TREATED and data.start == 2017
    # every other kommun of the panel, but the one with an intervention of its own
    assert set(data.donors) == set(SKANE) - {TREATED, BUSY}
    assert "loaded at kommun level" in data.outcome_basis
    assert fit.result.average_gap == pytest.approx(EFFECT, abs=0.5)
    assert fit.result.p_value <= 0.1
    assert abs(fit.result.average_gap) > fit.mde / 2


def test_several_treated_kommuner_refused(ctx):
    with pytest.raises(InputError, match="one treated kommun") as error:
        kommun_synth_input(ctx, outcome="born_abroad_pct")
    assert "--kommun CODE" in str(error.value)
    with pytest.raises(InputError, match="--pool-kommun"):
        kommun_synth_input(ctx, outcome="born_abroad_pct", kommuner=[SVALOV], pool_types=[1])


def test_cli_kommun_synth_and_record(ctx, tmp_path):
    out = tmp_path / "svalov.csv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            SVALOV,
            "--outcome",
            "born_abroad_pct",
            "--synth",
            "--synth-level",
            "kommun",
            "--pool-kommun",
            "1260,1262,1263,1264",
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
    folder = tmp_path / "svalov_synth"
    assert (folder / "weights.csv").exists() and (folder / "summary.json").exists()
    assert not out.exists()  # the staggered design is not run at kommun level
    assert "treated unit kommun 1214 (Svalöv)" in result.output
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    from bryta.app.evaluation import evaluations_of

    (record,) = evaluations_of(ctx, "SVALOV")
    assert record["design"] == "synth"
    assert record["estimate"] == pytest.approx(summary["estimate"])
    assert record["n_treated"] == 1 and record["n_control"] == 4
    assert record["provenance"]["panel"]["level"] == "kommun"
    assert record["provenance"]["panel"]["treated_kommun"] == SVALOV
