"""The DuckDB warehouse: provenance, atomic writes, readers and writers in other processes,
the data commands."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

import bryta
from bryta.app.context import Context, Settings
from bryta.cli import data as data_cli
from bryta.errors import SourceError
from bryta.warehouse import (
    FILE_NAME,
    DatasetNotFound,
    Provenance,
    Warehouse,
    WarehouseError,
    WarehouseUnavailable,
    default_data_dir,
)

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


def _fail_inserts(monkeypatch):
    real_connection, real_connect = Warehouse._connection, duckdb.connect

    @contextmanager
    def connection(self, *, write):
        with real_connection(self, write=write) as con:
            yield _Proxy(con) if write else con

    def connect(path, *args, **kwargs):  # the file built aside on a first write
        con = real_connect(path, *args, **kwargs)
        return _Proxy(con) if str(path).endswith(".tmp") else con

    monkeypatch.setattr(Warehouse, "_connection", connection)
    monkeypatch.setattr(duckdb, "connect", connect)


def test_failed_import_leaves_the_warehouse_as_it_was(warehouse, monkeypatch):
    warehouse.put("pop", frame(), kind="counts", provenance=PROV)
    before = (warehouse.list(), warehouse.get("pop"))
    _fail_inserts(monkeypatch)
    with pytest.raises(WarehouseError, match="not stored: disk full"):
        warehouse.put("pop", frame(1), kind="counts", provenance=PROV, replace=True)
    with pytest.raises(WarehouseError):
        warehouse.put("other", frame(1), kind="counts", provenance=PROV)
    monkeypatch.undo()
    assert warehouse.list().equals(before[0])
    assert warehouse.get("pop").equals(before[1])


class _Proxy:
    """A connection whose insert into the catalogue fails, as a full disk would."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args):
        if sql.startswith("insert into datasets"):
            raise RuntimeError("disk full")
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_a_failed_first_write_leaves_no_file(tmp_path, monkeypatch):
    _fail_inserts(monkeypatch)
    with pytest.raises(WarehouseError, match="not stored: disk full"):
        Warehouse.open(tmp_path).put("pop", frame(), kind="counts", provenance=PROV)
    assert list(tmp_path.iterdir()) == []


def test_a_reader_of_a_missing_warehouse_sees_it_empty_and_creates_nothing(tmp_path):
    folder = tmp_path / "never"
    with Warehouse.open(folder, read_only=True) as wh:
        assert wh.list().height == 0 and wh.list().columns[0] == "name"
        with pytest.raises(DatasetNotFound, match=r"no dataset 'pop'.*datasets: none"):
            wh.get("pop")
    with pytest.raises(DatasetNotFound):
        Warehouse.open(folder).drop("pop")
    assert not folder.exists()


def test_a_read_only_warehouse_does_not_write(tmp_path):
    with Warehouse.open(tmp_path, read_only=True) as wh, pytest.raises(RuntimeError):
        wh.put("pop", frame(), kind="counts", provenance=PROV)
    assert not (tmp_path / FILE_NAME).exists()


def test_context_passes_read_only_through(tmp_path):
    ctx = Context(Settings(data_dir=tmp_path))
    with ctx.warehouse(read_only=True) as wh:
        assert wh.read_only and wh.list().height == 0
    with ctx.warehouse() as wh:
        assert not wh.read_only
        wh.put("pop", frame(), kind="counts", provenance=PROV)
    with ctx.warehouse(read_only=True) as wh:
        assert wh.get("pop").equals(frame())


def test_open_warehouses_do_not_lock_out_each_other_in_one_process(tmp_path):
    with Warehouse.open(tmp_path) as writer, Warehouse.open(tmp_path, read_only=True) as reader:
        writer.put("pop", frame(), kind="counts", provenance=PROV)
        assert reader.get("pop").equals(frame())
        writer.put("pop", frame(1), kind="counts", provenance=PROV, replace=True)
        assert reader.get("pop").height == 1


_HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
con.close()
"""


def test_a_file_held_too_long_is_a_one_line_source_error(tmp_path):
    Warehouse.open(tmp_path).put("pop", frame(), kind="counts", provenance=PROV)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path / FILE_NAME)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        for read_only in (True, False):
            wh = Warehouse.open(tmp_path, read_only=read_only, timeout=0.2)
            with pytest.raises(WarehouseUnavailable) as caught:
                wh.list()
            message = str(caught.value)
            assert isinstance(caught.value, SourceError)
            assert "in use by another process" in message and "\n" not in message
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert Warehouse.open(tmp_path, read_only=True).get("pop").equals(frame())


_WRITER = """
import sys, polars as pl
from bryta.warehouse import Provenance, Warehouse
wh = Warehouse.open(sys.argv[1], timeout=120)
for i in range(1, int(sys.argv[2]) + 1):
    rows = pl.DataFrame({"i": [i] * (1000 * i), "kommun": ["0114"] * (1000 * i)})
    wh.put("pop", rows, kind="counts", provenance=Provenance(source="test"), replace=True)
    wh.put(f"step_{i}", rows.head(1), kind="table", provenance=Provenance(source="test"))
print("written", flush=True)
"""

_READER = """
import sys
from pathlib import Path
from bryta.warehouse import Warehouse
folder, done = sys.argv[1], Path(sys.argv[2])
wh = Warehouse.open(folder, read_only=True, timeout=120)
reads = 0
while True:
    finished = done.exists()
    names = wh.list()["name"].to_list()
    if "pop" in names:
        pop = wh.get("pop")
        i = pop["i"][0]
        assert pop.height == 1000 * i and (pop["i"] == i).all(), "a half-written dataset"
    reads += 1
    if finished:
        break
print(reads, len(names), flush=True)
"""


def test_one_process_reads_while_another_imports(tmp_path):
    """A reader in a loop and a writer storing datasets, in two processes: neither fails,
    the reader never sees a partial dataset, and the writer's every dataset arrives."""
    steps = 8
    done = tmp_path / "writer-done"
    env = {**os.environ, "PYTHONPATH": str(Path(bryta.__file__).parents[1])}
    run = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env}
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(tmp_path), str(done)], **run)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), str(steps)], **run)
    try:
        w_out, w_err = writer.communicate(timeout=300)
        assert writer.returncode == 0, w_err
        done.touch()
        r_out, r_err = reader.communicate(timeout=300)
        assert reader.returncode == 0, r_err
    finally:
        for proc in (reader, writer):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert w_out.strip() == "written"
    reads, seen = map(int, r_out.split())
    assert reads >= 1 and seen == steps + 1  # the last read came after the writer finished
    with Warehouse.open(tmp_path, read_only=True) as wh:
        assert wh.get("pop").height == 1000 * steps


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
