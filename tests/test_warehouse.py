"""The DuckDB warehouse: provenance, atomic writes, the data commands."""

from __future__ import annotations

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from bryta.cli import data as data_cli
from bryta.warehouse import Provenance, Warehouse, WarehouseError, default_data_dir

PROV = Provenance(
    source="SCB Statistikdatabasen",
    licence="CC0 1.0",
    table_id="TAB6574",
    query='{"Region": ["0114"]}',
)


@pytest.fixture
def warehouse(tmp_path):
    with Warehouse.open(tmp_path) as wh:
        yield wh


def frame(n: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {"kommun": ["0114", "0180", "2584"][:n], "year": [2023] * n, "value": [1.5, 2.0, None][:n]}
    )


def test_round_trip_keeps_types_and_provenance(warehouse):
    warehouse.put("pop", frame(), kind="counts", provenance=PROV)
    got = warehouse.get("pop")
    assert got.equals(frame())
    info = warehouse.info("pop")
    assert info["source"] == "SCB Statistikdatabasen" and info["table_id"] == "TAB6574"
    assert info["rows"] == 3 and info["columns"]["kommun"] == "String"
    assert info["retrieved_at"].endswith("+00:00")
    assert warehouse.list()["name"].to_list() == ["pop"]


def test_names_kinds_and_replacing(warehouse):
    with pytest.raises(WarehouseError, match="lower-case"):
        warehouse.put("Pop Data", frame(), kind="counts", provenance=PROV)
    with pytest.raises(WarehouseError, match="kind must be"):
        warehouse.put("pop", frame(), kind="stuff", provenance=PROV)
    warehouse.put("pop", frame(), kind="counts", provenance=PROV)
    with pytest.raises(WarehouseError, match="exists already"):
        warehouse.put("pop", frame(1), kind="counts", provenance=PROV)
    warehouse.put("pop", frame(1), kind="counts", provenance=PROV, replace=True)
    assert warehouse.get("pop").height == 1
    with pytest.raises(WarehouseError, match=r"no dataset 'nope'.*datasets: pop"):
        warehouse.get("nope")
    warehouse.drop("pop")
    assert warehouse.list().height == 0


def test_failed_import_leaves_the_warehouse_as_it_was(warehouse, monkeypatch):
    warehouse.put("pop", frame(), kind="counts", provenance=PROV)
    before = (warehouse.list(), warehouse.get("pop"))
    real = warehouse._con.execute

    def failing(sql, *args):
        if sql.startswith("insert into datasets"):
            raise RuntimeError("disk full")
        return real(sql, *args)

    monkeypatch.setattr(warehouse, "_con", _Proxy(warehouse._con, failing))
    with pytest.raises(WarehouseError, match="not stored: disk full"):
        warehouse.put("pop", frame(1), kind="counts", provenance=PROV, replace=True)
    with pytest.raises(WarehouseError):
        warehouse.put("other", frame(1), kind="counts", provenance=PROV)
    monkeypatch.undo()
    assert warehouse.list().equals(before[0])
    assert warehouse.get("pop").equals(before[1])


class _Proxy:
    def __init__(self, con, execute):
        self._con, self.execute = con, execute

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_data_survives_reopening(tmp_path):
    with Warehouse.open(tmp_path) as wh:
        wh.put("pop", frame(), kind="counts", provenance=PROV)
    with Warehouse.open(tmp_path) as wh:
        assert wh.get("pop").equals(frame())


def test_default_location(monkeypatch, tmp_path):
    monkeypatch.setenv("BRYTA_DATA_DIR", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"
    monkeypatch.delenv("BRYTA_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "bryta"


def test_data_commands(tmp_path):
    with Warehouse.open(tmp_path) as wh:
        wh.put("pop", frame(), kind="counts", provenance=PROV)
    app = typer.Typer()
    data_cli.register(app)
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    res = runner.invoke(app, ["data", "list", "--data-dir", str(tmp_path)], env=env)
    assert res.exit_code == 0 and "pop" in res.output and "TAB6574" in res.output
    res = runner.invoke(app, ["data", "show", "pop", "--data-dir", str(tmp_path)], env=env)
    assert res.exit_code == 0 and "CC0 1.0" in res.output and "0114" in res.output
    out = tmp_path / "pop.csv"
    res = runner.invoke(app, ["data", "export", "pop", "-o", str(out), "--data-dir", str(tmp_path)])
    assert res.exit_code == 0
    assert out.read_text().splitlines()[1].startswith("0114,2023,")
    res = runner.invoke(app, ["data", "show", "nope", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "no dataset 'nope'" in res.output


def test_export_of_counts_suppresses_small_counts(tmp_path):
    counts = pl.DataFrame(
        {
            "regso": ["r1", "r1", "r1", "r2", "r2"],
            "year": [2023] * 5,
            "group": list("abcab"),
            "n": [3, 40, 25, 0, 70],
        }
    )
    with Warehouse.open(tmp_path) as wh:
        wh.put("counts", counts, kind="counts", provenance=PROV)
        wh.put("results", counts, kind="results", provenance=PROV)
    app = typer.Typer()
    data_cli.register(app)
    runner = CliRunner()
    out = tmp_path / "out.csv"
    base = ["data", "export", "counts", "-o", str(out), "--data-dir", str(tmp_path)]
    res = runner.invoke(app, base)
    assert res.exit_code == 0 and "suppressed 1 counts below 5" in res.output
    got = pl.read_csv(out)
    assert got["n"].to_list() == [None, 40, 25, 0, 70]  # zero discloses nobody: kept
    res = runner.invoke(app, [*base, "--within", "regso", "--suppress", "n"])
    got = pl.read_csv(out)
    assert got["n"].to_list() == [None, 40, None, 0, 70]
    assert got["suppressed"].to_list() == ["n:primary", None, "n:secondary", None, None]
    res = runner.invoke(app, [*base, "--no-protect"])
    assert "off" in res.output and pl.read_csv(out)["n"].to_list() == [3, 40, 25, 0, 70]
    res = runner.invoke(
        app, ["data", "export", "results", "-o", str(out), "--data-dir", str(tmp_path)]
    )
    assert pl.read_csv(out)["n"].to_list() == [3, 40, 25, 0, 70]  # not counts: untouched
