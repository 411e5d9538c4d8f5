"""Outcomes that are not indicators (``bryta evaluate registry --outcomes FILE``,
:func:`bryta.app.evaluation.build_panel` with ``outcomes``): the analyst's own table of an
outcome per RegSO × year — a Windows-1252 CSV with ``;`` and decimal commas as Swedish Excel
writes it, an Excel file, a dataset in the warehouse, the output of ``bryta local`` — with a
known effect injected into the values and recovered, the estimate recomputed here by hand as
a 2×2 difference in differences; each error names the file, row and column; a record made
from the table names the file and its SHA-256."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.app.evaluation import build_panel, evaluate_registry, evaluations_of, read_outcomes
from bryta.cli import app
from bryta.errors import InputError, NotFound
from bryta.registry.exchange import write_registry_json
from bryta.registry.records import AreaLinkRecord, InterventionRecord, ParticipationRecord

MALMO = "1280"
YEARS = list(range(2015, 2022))
START = 2018
EFFECT = 2.5


def _regso() -> list[str]:
    from bryta.geography.areas import areas

    return sorted(areas("regso").filter(kommun=MALMO).get_column("code").to_list())[:30]


R = _regso()
TREATED = R[:6]
NEVER = R[6:]


def _values() -> dict[str, np.ndarray]:
    """Level + a common trend + noise, and the effect from START on in the treated RegSO."""
    rng = np.random.default_rng(5)
    t = np.arange(len(YEARS), dtype=float)
    out = {}
    for code in R:
        y = rng.normal(40, 5) + 0.7 * t + np.cos(t) + rng.normal(0, 0.3, len(YEARS))
        if code in TREATED:
            y[np.array(YEARS) >= START] += EFFECT
        out[code] = np.round(y, 3)  # as written to the file: three decimals
    return out


VALUES = _values()


def _by_hand() -> float:
    """The 2×2 difference in differences: (treated after − treated in the year before the
    start) − (never treated after − never treated in the year before), means over RegSO
    and over the years from the start on (the panel is balanced, one cohort)."""
    base = YEARS.index(START - 1)
    post = [j for j, y in enumerate(YEARS) if y >= START]

    def change(units: list[str]) -> float:
        after = np.mean([VALUES[u][j] for u in units for j in post])
        before = np.mean([VALUES[u][base] for u in units])
        return float(after - before)

    return change(TREATED) - change(NEVER)


def _record() -> InterventionRecord:
    return InterventionRecord(
        key="A",
        title="Områdesarbete",
        form="project",
        status="active",
        planned_start=date(START, 3, 1),
        area_links=[AreaLinkRecord(level="regso", area_code=c) for c in TREATED],
        published=True,
        participations=[
            ParticipationRecord(
                role="accountable", organisation="Malmö stad", sector="municipality"
            )
        ],
    )


@pytest.fixture
def ctx(registry_url, tmp_path):
    context = Context(Settings(data_dir=tmp_path / "data", database=registry_url))
    registry.init_registry(context)
    path = tmp_path / "records.json"
    write_registry_json([_record()], path)
    registry.import_file(context, path)
    yield context
    context.close()


def _swedish(x: float) -> str:
    return f"{x:.3f}".replace(".", ",")


def _rows() -> list[tuple[str, int, float]]:
    return [(u, y, float(VALUES[u][j])) for u in R for j, y in enumerate(YEARS)]


def _cp1252_csv(path: Path, rows: list[tuple[str, int, str]] | None = None) -> Path:
    """``RegSO-kod;År;Andel (%)`` in Windows-1252 with decimal commas, as Excel saves it."""
    lines = ["RegSO-kod;År;Andel (%)"]
    if rows is None:
        rows = [(u, y, _swedish(v)) for u, y, v in _rows()]
    lines += [f"{u};{y};{v}" for u, y, v in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


SWEDISH = {"outcomes_unit": "RegSO-kod", "outcomes_time": "År"}


def test_windows_1252_csv_with_decimal_commas(ctx, tmp_path):
    file = _cp1252_csv(tmp_path / "andel.csv")
    assert "Å".encode("cp1252") in file.read_bytes()  # not UTF-8
    panel = build_panel(ctx, outcomes=file, kommuner=[MALMO], **SWEDISH)
    assert panel.report.outcome == "Andel (%)"  # the value column's name
    frame = panel.frame
    assert frame.height == len(R) * len(YEARS)
    got = frame.filter(regso=R[3], year=2020).get_column("outcome").item()
    assert got == pytest.approx(VALUES[R[3]][YEARS.index(2020)])
    assert dict(panel.report.treated.rows()) == {START: len(TREATED)}
    assert panel.report.outcome_source is not None
    assert panel.report.outcome_source["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()


def test_injected_effect_recovered_from_a_csv(ctx, tmp_path):
    file = _cp1252_csv(tmp_path / "andel.csv")
    run = evaluate_registry(
        ctx,
        tmp_path / "out.csv",
        outcomes=file,
        outcome="andel_sysselsatta",
        kommuner=[MALMO],
        placebos=40,
        seed=2,
        **SWEDISH,
    )
    simple = run.result.overall.filter(aggregation="simple").row(0, named=True)
    assert simple["estimate"] == pytest.approx(_by_hand(), abs=1e-9)
    assert simple["ci_low"] < EFFECT < simple["ci_high"]
    assert run.summary["outcome"] == "andel_sysselsatta"
    assert "andel_sysselsatta" in (tmp_path / "out.svg").read_text(encoding="utf-8")


def test_xlsx(ctx, tmp_path):
    file = tmp_path / "utfall.xlsx"
    u, y, v = zip(*_rows(), strict=True)
    pl.DataFrame({"Område": u, "År": y, "Värde": v}).write_excel(file)
    run = evaluate_registry(
        ctx,
        tmp_path / "out.csv",
        outcomes=file,
        outcomes_unit="Område",
        outcomes_time="År",
        outcomes_value="Värde",
        kommuner=[MALMO],
        placebos=0,
    )
    simple = run.result.overall.filter(aggregation="simple").row(0, named=True)
    assert simple["estimate"] == pytest.approx(_by_hand(), abs=1e-9)
    assert run.panel.report.outcome == "Värde"


def test_warehouse_dataset(ctx, tmp_path):
    from bryta.warehouse import Provenance

    u, y, v = zip(*_rows(), strict=True)
    frame = pl.DataFrame({"regso": u, "year": y, "ls": v, "p": [0.1] * len(u)})
    source = tmp_path / "local.csv"
    source.write_text("made up\n", encoding="utf-8")
    with ctx.warehouse() as wh:
        wh.put(
            "local_scores",
            frame,
            kind="results",
            provenance=Provenance.of_file(source, source="bryta local"),
        )
    run = evaluate_registry(
        ctx,
        tmp_path / "out.csv",
        outcomes="dataset:local_scores",
        outcomes_value="ls",
        kommuner=[MALMO],
        placebos=0,
    )
    simple = run.result.overall.filter(aggregation="simple").row(0, named=True)
    assert simple["estimate"] == pytest.approx(_by_hand(), abs=1e-9)
    source_info = run.panel.report.outcome_source
    assert source_info is not None and source_info["dataset"] == "local_scores"
    assert source_info["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    with pytest.raises(NotFound, match="no dataset 'nothing'"):
        build_panel(ctx, outcomes="dataset:nothing", kommuner=[MALMO])


def test_output_of_bryta_local(ctx, tmp_path):
    """The per-RegSO output of ``bryta local`` goes in as it is (``--outcomes-value ls``)."""
    rng = np.random.default_rng(1)
    counts = pl.DataFrame(
        {
            "regso": [u for u in R for _ in YEARS],
            "year": [y for _ in R for y in YEARS],
            "kommun": MALMO,
            "a": rng.integers(50, 500, len(R) * len(YEARS)),
            "b": rng.integers(50, 500, len(R) * len(YEARS)),
        }
    )
    counts.write_csv(tmp_path / "counts.csv")
    scores = tmp_path / "local.csv"
    result = CliRunner().invoke(
        app,
        [
            "local",
            str(tmp_path / "counts.csv"),
            "--unit",
            "regso",
            "--groups",
            "a,b",
            "--by",
            "kommun,year",
            "-o",
            str(scores),
        ],
    )
    assert result.exit_code == 0, result.output
    panel = build_panel(ctx, outcomes=scores, outcomes_value="ls", kommuner=[MALMO])
    expected = pl.read_csv(scores, schema_overrides={"kommun": pl.String})
    row = expected.filter(regso=R[7], year=2019).row(0, named=True)
    got = panel.frame.filter(regso=R[7], year=2019).get_column("outcome").item()
    assert got == pytest.approx(row["ls"])
    assert panel.report.outcome == "ls"


# --- errors: one line naming the file, the row and the column --------------------------------


def _error(ctx, **options) -> str:
    with pytest.raises(InputError) as caught:
        build_panel(ctx, kommuner=[MALMO], **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_unknown_regso_codes_first_ten(ctx, tmp_path):
    rows = [(u, y, _swedish(v)) for u, y, v in _rows()]
    bad = [f"1280R9{i:02d}" for i in range(12)]
    rows += [(code, 2020, "1,5") for code in bad]
    file = _cp1252_csv(tmp_path / "okand.csv", rows)
    message = _error(ctx, outcomes=file, **SWEDISH)
    assert message.startswith(f"{file}: column 'RegSO-kod': 12 code(s) that are not RegSO 2020")
    first_row = len(R) * len(YEARS) + 1
    assert f"row {first_row} '1280R900'" in message
    assert "'1280R909'" in message and "'1280R910'" not in message
    assert message.endswith("and 2 more")


def test_deso_codes_refused(ctx, tmp_path):
    file = _cp1252_csv(tmp_path / "deso.csv", [("1280C1010", 2020, "3,5")])
    message = _error(ctx, outcomes=file, **SWEDISH)
    assert "row 1 '1280C1010'" in message and "DeSO" in message and "per RegSO" in message


def test_duplicate_area_and_year(ctx, tmp_path):
    rows = [(u, y, _swedish(v)) for u, y, v in _rows()]
    rows.append((R[2], 2019, "12,0"))
    file = _cp1252_csv(tmp_path / "dubbel.csv", rows)
    message = _error(ctx, outcomes=file, **SWEDISH)
    first = 2 * len(YEARS) + YEARS.index(2019) + 1
    assert message.startswith(f"{file}: 1 RegSO and year(s) in more than one row")
    assert f"rows {first}, {len(rows)} ({R[2]}, 2019)" in message


def test_value_that_is_not_a_number(ctx, tmp_path):
    rows = [(u, y, _swedish(v)) for u, y, v in _rows()]
    rows[4] = (rows[4][0], rows[4][1], "ca 40")
    file = _cp1252_csv(tmp_path / "text.csv", rows)
    message = _error(ctx, outcomes=file, **SWEDISH)
    assert message.startswith(f"{file}: column 'Andel (%)' has values that are not numbers")
    assert "row 5" in message and "'ca 40'" in message


def test_year_that_is_not_a_year(ctx, tmp_path):
    rows = [(u, y, _swedish(v)) for u, y, v in _rows()]
    rows[2] = (rows[2][0], "2017,5", rows[2][2])  # type: ignore[assignment]
    file = _cp1252_csv(tmp_path / "ar.csv", rows)
    message = _error(ctx, outcomes=file, **SWEDISH)
    assert message.startswith(f"{file}: row 3, column 'År': 2017.5 is not a year")


def test_missing_columns_name_the_option(ctx, tmp_path):
    file = _cp1252_csv(tmp_path / "andel.csv")
    message = _error(ctx, outcomes=file)
    assert message.startswith(
        f"{file}: no column 'regso' (the RegSO codes; name it with --outcomes-unit)"
    )
    wide = tmp_path / "bred.csv"
    wide.write_text(f"regso,year,a,b\n{R[0]},2020,1,2\n", encoding="utf-8")
    message = _error(ctx, outcomes=wide)
    assert message == (
        f"{wide}: which column holds the outcome? name it with --outcomes-value; the columns "
        "are 'regso', 'year', 'a', 'b'"
    )
    message = _error(ctx, outcomes=file, outcomes_value="Andel (%)", outcomes_time="År")
    assert message.startswith(
        f"{file}: no column 'regso' (the RegSO codes; name it with --outcomes-unit)"
    )
    message = _error(ctx, outcomes=file, outcomes_value="Andel (%)", outcomes_unit="RegSO-kod")
    assert "no column 'year' (the years; name it with --outcomes-time)" in message
    message = _error(ctx, outcomes=file, outcomes_value="Andel", **SWEDISH)
    assert "no column 'Andel' (the outcome's values; name it with --outcomes-value)" in message
    assert "'Andel (%)'" in message  # the columns there are
    message = _error(ctx, outcome="born_abroad_pct", outcomes_value="x")
    assert message == "--outcomes-value needs --outcomes FILE (the table it names a column of)"


def test_missing_value_makes_the_panel_unbalanced(ctx, tmp_path):
    rows = [(u, y, _swedish(v)) for u, y, v in _rows()]
    rows[len(YEARS) * 9 + 1] = (R[9], YEARS[1], "..")
    file = _cp1252_csv(tmp_path / "lucka.csv", rows)
    message = _error(ctx, outcomes=file, **SWEDISH)
    assert "unbalanced" in message and R[9] in message and "--drop-incomplete" in message
    panel = build_panel(ctx, outcomes=file, kommuner=[MALMO], drop_incomplete=True, **SWEDISH)
    assert R[9] not in panel.frame.get_column("regso").to_list()


# --- the command line and the record ---------------------------------------------------------


def test_cli_records_name_the_file(ctx, tmp_path):
    file = _cp1252_csv(tmp_path / "andel.csv")
    out = tmp_path / "did.csv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcomes",
            str(file),
            "--outcomes-unit",
            "RegSO-kod",
            "--outcomes-time",
            "År",
            "--outcome",
            "andel_sysselsatta",
            "--placebos",
            "40",
            "--seed",
            "1",
            "--record",
            "--intended",
            "increase",
            "--database",
            ctx.settings.database,
            "--data-dir",
            str(ctx.settings.data_dir),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "panel: andel_sysselsatta per RegSO × year 2015–2021" in result.output
    estimates = pl.read_csv(out)
    simple = estimates.filter(aggregation="simple").get_column("estimate").item()
    assert simple == pytest.approx(_by_hand(), abs=1e-9)
    records = evaluations_of(ctx, "A")
    assert len(records) == 1
    record = records[0]
    assert record["outcome"] == "andel_sysselsatta"
    (source,) = record["provenance"]["datasets"]
    assert source["name"] == "andel.csv" and source["file"] == str(file)
    assert source["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()
    assert source["columns"] == {"unit": "RegSO-kod", "time": "År", "value": "Andel (%)"}
    summary = json.loads((tmp_path / "did.summary.json").read_text(encoding="utf-8"))
    assert summary["outcome"] == "andel_sysselsatta"


def test_cli_error_is_one_line_and_writes_nothing(ctx, tmp_path):
    rows = [(u, y, _swedish(v)) for u, y, v in _rows()]
    rows[4] = (rows[4][0], rows[4][1], "x")
    file = _cp1252_csv(tmp_path / "text.csv", rows)
    out = tmp_path / "did.csv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcomes",
            str(file),
            "--outcomes-unit",
            "RegSO-kod",
            "--outcomes-time",
            "År",
            "--database",
            ctx.settings.database,
            "--data-dir",
            str(ctx.settings.data_dir),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert "row 5" in result.output and "'Andel (%)'" in result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.glob("did*")) == []


def test_cli_needs_an_outcome(ctx, tmp_path):
    result = CliRunner().invoke(
        app, ["evaluate", "registry", "--kommun", MALMO, "-o", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2
    assert "--outcome INDICATOR or --outcomes FILE" in result.output


def test_read_outcomes_from_a_frame():
    frame = pl.DataFrame({"regso": [R[0], R[1]], "year": ["2020", "2020"], "v": ["1,5", "2"]})
    own = read_outcomes(None, frame)
    assert own.name == "v"
    assert own.values.get_column("value").to_list() == [1.5, 2.0]
    assert own.values.get_column("year").dtype == pl.Int64


def _cli(ctx, file: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcomes",
            str(file),
            "--outcomes-unit",
            "RegSO-kod",
            "--outcomes-time",
            "År",
            "--database",
            ctx.settings.database,
            "--data-dir",
            str(ctx.settings.data_dir),
            "-o",
            str(out),
            *extra,
        ],
    )


def test_synth_record_names_the_file(ctx, tmp_path):
    file = _cp1252_csv(tmp_path / "andel.csv")
    result = _cli(ctx, file, tmp_path / "did.csv", "--synth", "--record", "--placebos", "0")
    assert result.exit_code == 0, result.output
    (record,) = evaluations_of(ctx, "A")
    assert record["design"] == "synth" and record["outcome"] == "Andel (%)"
    (source,) = record["provenance"]["datasets"]
    assert source["sha256"] == hashlib.sha256(file.read_bytes()).hexdigest()


def test_outcomes_not_at_kommun_level(ctx, tmp_path):
    file = _cp1252_csv(tmp_path / "andel.csv")
    result = _cli(ctx, file, tmp_path / "did.csv", "--synth", "--synth-level", "kommun")
    assert result.exit_code == 2
    assert "--synth-level kommun needs an indicator" in result.output
