"""``bryta watch``: the file's columns, the options, the errors, and an offline end-to-end run
from a recorded SCB answer of the index table (TAB6586) to a kommun's watch list.

The history fixture ``tests/data/pxweb/TAB6586_history_*.json`` is described in the README
there; it is served through ``httpx.MockTransport`` and loaded with the project's own PxWebApi
client and indicator loader, the path of a real import.
"""

from __future__ import annotations

import math

import httpx
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app.context import Context, Settings
from bryta.cli import app
from bryta.cli import watch as watch_cli
from bryta.compute.conditions.early_warning import WATCH_COLUMNS, WatchRule
from bryta.ingest.jsonstat import read_jsonstat
from bryta.ingest.pxweb import PxWebClient
from bryta.warehouse import Warehouse
from tests.test_early_warning import simulate
from tests.test_indicators import DATA, TableServer, load

runner = CliRunner()
COLUMNS = [
    "index_last",
    "trend",
    "trend_low",
    "trend_high",
    "crossing_period",
    "risk_1",
    "risk_3",
    "risk_5",
    "flagged",
    "reason",
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(self, request):
        raise RuntimeError(f"test tried to reach the network: {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory):
    panel, _ = simulate(n=200, periods=10, seed=5)
    path = tmp_path_factory.mktemp("watch") / "panel.csv"
    panel.write_csv(path)
    return path


def test_the_file_has_exactly_the_columns_the_issue_states(panel_csv, tmp_path):
    out = tmp_path / "watch.csv"
    done = runner.invoke(
        app,
        [
            "watch",
            str(panel_csv),
            "--unit",
            "area",
            "--period",
            "year",
            "--index",
            "index",
            "--horizon",
            "5",
            "-o",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    frame = pl.read_csv(out)
    assert frame.columns == ["area", *COLUMNS]
    assert list(WATCH_COLUMNS) == COLUMNS
    assert frame.height == 200 and frame.get_column("area").n_unique() == 200
    assert "flagged" in done.stderr and "backtest:" in done.stderr
    assert "precision" in done.stderr and "recall" in done.stderr
    flagged = frame.filter(pl.col("flagged"))
    assert flagged.height > 0
    assert flagged.get_column("reason").str.len_chars().min() > 0
    first = flagged.get_column("area")[0]
    assert first in done.stderr


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".json"])
def test_other_formats_by_suffix(panel_csv, tmp_path, suffix):
    out = tmp_path / f"watch{suffix}"
    done = runner.invoke(
        app,
        [
            "watch",
            str(panel_csv),
            "--unit",
            "area",
            "--period",
            "year",
            "--index",
            "index",
            "--bootstrap",
            "0",
            "-o",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    if suffix == ".xlsx":
        frame = pl.read_excel(out)
    elif suffix == ".parquet":
        frame = pl.read_parquet(out)
    else:
        frame = pl.read_json(out)
    assert frame.columns == ["area", *COLUMNS]


def test_shares_are_averaged_as_area_types_does(tmp_path):
    panel, _ = simulate(n=120, periods=8, seed=9)
    shares = panel.with_columns(
        (pl.col("index") * 0.5).alias("low_income"),
        (pl.col("index") * 1.5).clip(0, 100).alias("low_education"),
        pl.col("index").alias("assistance"),
    )
    path = tmp_path / "shares.csv"
    shares.write_csv(path)
    by_shares, by_index = tmp_path / "a.csv", tmp_path / "b.csv"
    done = runner.invoke(
        app,
        [
            "watch",
            str(path),
            "--unit",
            "area",
            "--period",
            "year",
            "--shares",
            "low_income,low_education,assistance",
            "-o",
            str(by_shares),
        ],
    )
    assert done.exit_code == 0, done.output
    typed = tmp_path / "typed.csv"
    done = runner.invoke(
        app,
        [
            "area-types",
            str(path),
            "--unit",
            "area",
            "--period",
            "year",
            "--shares",
            "low_income,low_education,assistance",
            "-o",
            str(typed),
        ],
    )
    assert done.exit_code == 0, done.output
    done = runner.invoke(
        app,
        [
            "watch",
            str(typed),
            "--unit",
            "area",
            "--period",
            "year",
            "--index",
            "index",
            "-o",
            str(by_index),
        ],
    )
    assert done.exit_code == 0, done.output
    a, b = pl.read_csv(by_shares), pl.read_csv(by_index)
    assert a.select("area", "flagged", "crossing_period").equals(
        b.select("area", "flagged", "crossing_period")
    )
    assert np.allclose(a["trend"].to_numpy(), b["trend"].to_numpy(), atol=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--unit", "area", "--period", "year"], "either --index COLUMN or --shares"),
        (["--unit", "area", "--period", "year", "--index", "index", "--shares", "a,b"], "either"),
        (["--period", "year", "--index", "index"], "--unit and --period"),
        (["--unit", "area", "--period", "year", "--index", "nope"], "'nope' not found"),
        (["--unit", "area", "--period", "year", "--index", "index", "--horizon", "0"], "horizon"),
        (["--kommun", "0114"], "--kommun reads the warehouse"),
    ],
)
def test_user_errors_are_one_line(panel_csv, args, message):
    done = runner.invoke(app, ["watch", str(panel_csv), *args])
    assert done.exit_code == 2, done.output
    assert message in done.stderr
    assert "Traceback" not in done.output


def test_nothing_is_written_when_the_input_is_wrong(panel_csv, tmp_path):
    out = tmp_path / "watch.csv"
    done = runner.invoke(
        app,
        [
            "watch",
            str(panel_csv),
            "--unit",
            "area",
            "--period",
            "area",
            "--index",
            "index",
            "-o",
            str(out),
        ],
    )
    assert done.exit_code == 2 and "whole periods" in done.stderr
    assert not out.exists()


def test_kommun_without_the_index_history_names_the_import_command(tmp_path):
    done = runner.invoke(app, ["watch", "--kommun", "0114", "--data-dir", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert "bryta indicators load socioeconomic_index" in done.stderr
    assert not (tmp_path / "bryta.duckdb").exists()


def test_help_defaults_agree_with_the_rule():
    rule = WatchRule()
    assert rule.horizon == watch_cli.HORIZON
    assert rule.risk_threshold == watch_cli.RISK_THRESHOLD
    assert rule.level == watch_cli.LEVEL


# ---- offline end to end: recorded SCB answer → warehouse → watch list ------------------------


class HistoryServer(TableServer):
    """The PxWebApi stand-in of the indicator tests, serving the TAB6586 history fixture."""

    def __init__(self) -> None:
        super().__init__()
        self.meta["TAB6586"] = load("TAB6586_history_metadata.json")
        self.cubes["TAB6586"] = load("TAB6586_history_data.json")


def expected_crossing(area: str, horizon: int = 5) -> int | None:
    """Area ``area``'s crossing year computed from the fixture with numpy alone."""
    cells = read_jsonstat(DATA / "TAB6586_history_data.json").filter(
        pl.col("ContentsCode") == "000008IT"
    )
    last_year = cells.filter(pl.col("Tid") == "2024").get_column("value").drop_nulls().to_numpy()
    threshold = last_year.mean() + last_year.std()
    mine = cells.filter(pl.col("Region") == area).drop_nulls("value")
    x = mine.get_column("Tid").cast(pl.Int64).to_numpy().astype(float)
    y = mine.get_column("value").to_numpy()
    slope, intercept = np.polyfit(x, y, 1)
    if slope <= 0 or y[-1] >= threshold:
        return None
    at = (threshold - intercept) / slope
    year = 2024 + max(1, math.ceil(at - 2024))
    return year if year <= 2024 + horizon else None


@pytest.fixture
def loaded(tmp_path):
    from bryta.indicators import load_indicator

    with (
        PxWebClient(transport=httpx.MockTransport(HistoryServer()), sleep=lambda s: None) as client,
        Warehouse.open(tmp_path) as wh,
    ):
        load_indicator("socioeconomic_index", client=client, warehouse=wh, level="regso")
    return tmp_path


def test_recorded_index_table_to_a_kommun_watch_list(loaded, tmp_path):
    out = tmp_path / "watch.csv"
    done = runner.invoke(
        app, ["watch", "--kommun", "0114", "--data-dir", str(loaded), "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    frame = pl.read_csv(out, schema_overrides={"regso": pl.String})
    assert frame.columns == ["regso", *COLUMNS]
    assert frame.height == 8 and frame.get_column("regso").str.starts_with("0114").all()
    crossing = dict(frame.select("regso", "crossing_period").iter_rows())
    for area, got in crossing.items():
        assert got == expected_crossing(area), area
    assert crossing["0114R003_RegSO2025"] is not None
    flagged = frame.filter("flagged").get_column("regso").to_list()
    assert "0114R003_RegSO2025" in flagged
    assert "kommun 0114" in done.stderr and "backtest:" in done.stderr
    assert "no registry" in done.stderr


def test_the_kommun_watch_list_names_the_interventions_in_flagged_areas(loaded, tmp_path):
    from bryta.app.registry import init_registry
    from bryta.registry.records import AreaLinkRecord, InterventionRecord
    from bryta.registry.service import SYSTEM
    from bryta.vocabulary import AreaLevel, Form

    ctx = Context(Settings(data_dir=loaded))
    init_registry(ctx)
    ctx.registry(SYSTEM).create_intervention(
        InterventionRecord(
            key="TEST-WATCH-1",
            title="Läxhjälp i området",
            form=Form.PROJECT,
            published=True,
            area_links=[AreaLinkRecord(level=AreaLevel.REGSO, area_code="0114R003")],
        )
    )
    ctx.close()
    done = runner.invoke(app, ["watch", "--kommun", "0114", "--data-dir", str(loaded)])
    assert done.exit_code == 0, done.output
    lines = done.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  0114R003_RegSO2025:"))
    assert lines[at + 1].strip() == "interventions: Läxhjälp i området"
    others = [line for line in lines if line.strip().startswith("interventions:")]
    assert all(line.strip() == "interventions: none" for line in others if "Läxhjälp" not in line)


# ---- the whole country ----------------------------------------------------------------------


def test_recorded_index_table_to_the_country_watch_list(loaded, tmp_path):
    out = tmp_path / "country.csv"
    done = runner.invoke(app, ["watch", "--country", "--data-dir", str(loaded), "-o", str(out)])
    assert done.exit_code == 0, done.output
    frame = pl.read_csv(out, schema_overrides={"regso": pl.String})
    assert frame.columns == ["regso", *COLUMNS]
    codes = read_jsonstat(DATA / "TAB6586_history_data.json").get_column("Region").unique()
    assert sorted(frame.get_column("regso").to_list()) == sorted(codes.to_list())
    for area, got in frame.select("regso", "crossing_period").iter_rows():
        assert got == expected_crossing(area), area
    assert "of the country flagged" in done.stderr and "backtest:" in done.stderr
    assert "no registry" in done.stderr
    # the kommun's list is the country's rows of that kommun, value for value
    kommun_out = tmp_path / "kommun.csv"
    done = runner.invoke(
        app, ["watch", "--kommun", "0114", "--data-dir", str(loaded), "-o", str(kommun_out)]
    )
    assert done.exit_code == 0, done.output
    mine = pl.read_csv(kommun_out, schema_overrides={"regso": pl.String})
    assert mine.equals(frame.filter(pl.col("regso").str.starts_with("0114")))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "--kommun", "0114"], "either --kommun CODE or --country"),
        (["--country", "panel.csv"], "--country reads the warehouse"),
        (["--country", "--unit", "area"], "--country reads the warehouse"),
        ([], "--kommun CODE or --country"),
    ],
)
def test_country_errors_are_one_line(tmp_path, args, message):
    done = runner.invoke(app, ["watch", *args, "--data-dir", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bryta.duckdb").exists()


def test_country_without_the_index_history_names_the_import_command(tmp_path):
    done = runner.invoke(app, ["watch", "--country", "--data-dir", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert "bryta indicators load socioeconomic_index" in done.stderr


def test_the_country_watch_list_names_interventions_across_kommuner(loaded):
    from bryta.app.registry import init_registry
    from bryta.app.watch import watch_country, watch_kommun, watch_rows
    from bryta.registry.records import AreaLinkRecord, InterventionRecord
    from bryta.registry.service import SYSTEM
    from bryta.vocabulary import AreaLevel, Form

    ctx = Context(Settings(data_dir=loaded))
    try:
        init_registry(ctx)
        service = ctx.registry(SYSTEM)
        for key, title, area, published in (
            ("TEST-WATCH-1", "Läxhjälp i området", "0114R003", True),
            ("TEST-WATCH-2", "Ej publicerad", "0114R003", False),
        ):
            service.create_intervention(
                InterventionRecord(
                    key=key,
                    title=title,
                    form=Form.PROJECT,
                    published=published,
                    area_links=[AreaLinkRecord(level=AreaLevel.REGSO, area_code=area)],
                )
            )
        country = watch_country(ctx, n_boot=0)
        kommuner = [watch_kommun(ctx, code, n_boot=0) for code in ("0114", "0180", "1280")]
    finally:
        ctx.close()
    flagged = set(country.flagged.get_column("regso").to_list())
    assert flagged == {a for k in kommuner for a in k.flagged.get_column("regso").to_list()}
    assert country.interventions is not None and set(country.interventions) == flagged
    assert country.interventions["0114R003_RegSO2025"] == ["Läxhjälp i området"]
    assert country.links is not None
    assert country.links["0114R003_RegSO2025"] == [("TEST-WATCH-1", "Läxhjälp i området")]
    rows = watch_rows(country)
    # flagged first, then by risk in five years
    flags = [row["flagged"] for row in rows]
    assert flags == sorted(flags, reverse=True)
    first = next(row for row in rows if row["regso"] == "0114R003_RegSO2025")
    assert first["code"] == "0114R003" and first["kommun"] == "0114"
    assert first["interventions"] == [{"key": "TEST-WATCH-1", "title": "Läxhjälp i området"}]
    assert first["gap"] == pytest.approx(first["threshold"] - first["index_last"])
