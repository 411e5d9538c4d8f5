"""``bryta import scb-csv``: from a downloaded file to the warehouse, atomically."""

from __future__ import annotations

import shutil
from importlib.resources import files

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from bryta.app.context import Context
from bryta.cli import import_files
from bryta.warehouse import Warehouse

runner = CliRunner()


@pytest.fixture
def app():
    app = typer.Typer()
    sub = typer.Typer()
    import_files.register(sub)
    app.add_typer(sub, name="import")
    return app


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "befolkning.csv"
    src = files("bryta.data").joinpath("scb", "regso_birth_region_2020_2023.csv")
    with src.open("rb") as fh, path.open("wb") as out:
        shutil.copyfileobj(fh, out)
    return path


def test_import_to_warehouse_and_file(app, export, tmp_path):
    out = tmp_path / "pop.parquet"
    res = runner.invoke(
        app,
        [
            "import",
            "scb-csv",
            str(export),
            "--level",
            "regso",
            "--name",
            "population",
            "-o",
            str(out),
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    with Warehouse.open(tmp_path) as wh:
        info = wh.info("population")
        stored = wh.get("population")
    assert info["file"] == "befolkning.csv" and len(info["sha256"]) == 64
    assert info["licence"] == "CC0 1.0"
    assert stored.equals(pl.read_parquet(out))  # as SCB published it
    total = stored.filter(pl.col("year") == 2023).select(pl.col("born_sweden", "born_abroad"))
    assert total.sum().sum_horizontal().item() == 10_551_707


def test_bad_file_changes_nothing(app, export, tmp_path):
    assert (
        runner.invoke(
            app,
            ["import", "scb-csv", str(export), "--name", "population", "--data-dir", str(tmp_path)],
        ).exit_code
        == 0
    )
    text = export.read_text(encoding="utf-8-sig").replace("(Bollstanäs)", "(Nowhere)")
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8-sig")
    res = runner.invoke(
        app,
        [
            "import",
            "scb-csv",
            str(bad),
            "--name",
            "population",
            "--replace",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2
    assert "bad.csv" in res.output and "Nowhere" in res.output
    with Warehouse.open(tmp_path) as wh:
        assert wh.info("population")["file"] == "befolkning.csv"


def test_needs_a_destination(app, export):
    res = runner.invoke(app, ["import", "scb-csv", str(export)])
    assert res.exit_code == 2 and "--name" in res.output


def test_import_kolada_from_a_recorded_answer(app, tmp_path):
    """The command wires the client to the warehouse; the client is tested offline in
    test_kolada.py, here the context hands it a recorded transport (no network)."""
    import httpx

    page = {
        "count": 1,
        "values": [
            {
                "kpi": "N00945",
                "municipality": "0180",
                "period": 2023,
                "values": [{"gender": "T", "count": 1, "status": "", "value": 12.5}],
            }
        ],
        "next_url": None,
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=page))
    res = runner.invoke(
        app,
        [
            "import",
            "kolada",
            "N00945",
            "--kommun",
            "0180",
            "--year",
            "2023",
            "--name",
            "kolada_n00945",
            "--data-dir",
            str(tmp_path),
        ],
        obj=Context(transport=transport),
    )
    assert res.exit_code == 0, res.output
    with Warehouse.open(tmp_path) as wh:
        stored = wh.get("kolada_n00945")
        info = wh.info("kolada_n00945")
    assert stored.row(0, named=True)["value"] == 12.5
    assert stored.row(0, named=True)["municipality"] == "0180"
    assert "Kolada" in info["source"] and info["kind"] == "indicator"
    res = runner.invoke(app, ["import", "kolada", "N00945", "--name", "x"])
    assert res.exit_code == 2


@pytest.fixture
def offline_scb():
    """A context whose SCB client talks to the recorded PxWebApi server of test_pxweb."""
    import httpx

    from tests.test_pxweb import ScbServer

    return Context(transport=httpx.MockTransport(ScbServer()))


def test_import_scb_table_from_the_recorded_server(app, tmp_path, offline_scb):
    """`bryta import scb` on the recorded PxWebApi server of test_pxweb (no network)."""
    res = runner.invoke(
        app,
        [
            "import",
            "scb",
            "TAB6574",
            "--select",
            "Region=0114R001_RegSO2025,0114R002_RegSO2025",
            "--select",
            "Tid=TOP(2)",
            "--select",
            "Alder=totalt",
            "--select",
            "ContentsCode=*",
            "--select",
            "Kon=*",
            "--name",
            "population",
            "--data-dir",
            str(tmp_path),
        ],
        obj=offline_scb,
    )
    assert res.exit_code == 0, res.output
    with Warehouse.open(tmp_path) as wh:
        stored = wh.get("population")
        info = wh.info("population")
    assert set(stored["Region"]) == {"0114R001_RegSO2025", "0114R002_RegSO2025"}
    assert set(stored["Tid"]) == {"2023", "2024"}
    assert info["table_id"] == "TAB6574" and "TOP(2)" in info["query"]
    bad = runner.invoke(
        app,
        [
            "import",
            "scb",
            "TAB6574",
            "--select",
            "Region",
            "--name",
            "x",
            "--data-dir",
            str(tmp_path),
        ],
        obj=offline_scb,
    )
    assert bad.exit_code == 2 and "VARIABLE=VALUES" in bad.output


def test_two_commands_from_table_id_to_indices_per_kommun_and_year(tmp_path, offline_scb):
    """The promise of the data issue: `bryta import scb …` then `bryta measure …`."""
    from bryta.cli import app as bryta_app

    table = tmp_path / "tab6574.parquet"
    res = runner.invoke(
        bryta_app,
        [
            "import",
            "scb",
            "TAB6574",
            "--select",
            "Region=0114R001_RegSO2025,0114R002_RegSO2025",
            "--select",
            "Alder=totalt",
            "--select",
            "ContentsCode=*",
            "--select",
            "Kon=*",
            "--select",
            "Tid=*",
            "-o",
            str(table),
        ],
        obj=offline_scb,
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "indices.csv"
    res = runner.invoke(
        bryta_app,
        [
            "measure",
            str(table),
            "--unit",
            "Region",
            "--group-col",
            "Kon",
            "--count-col",
            "value",
            "--by",
            "kommun,Tid",
            "--index",
            "dissimilarity",
            "--focal",
            "1",
            "-o",
            str(out),
        ],
        obj=offline_scb,
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String, "Tid": pl.String})
    assert got["kommun"].to_list() == ["0114"] * 3
    assert got["Tid"].to_list() == ["2022", "2023", "2024"]
    assert got["value"].is_between(0, 1).all()
