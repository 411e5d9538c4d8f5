"""The application layer: use cases called with a context, no command line involved."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app.comparisons import change, split_between
from bryta.app.context import Context, Settings
from bryta.app.data import Protection, export_dataset, list_datasets
from bryta.app.imports import Destination, store
from bryta.cli import app
from bryta.errors import InputError
from bryta.warehouse import Provenance

runner = CliRunner()


@pytest.fixture
def ctx(tmp_path):
    return Context(Settings(data_dir=tmp_path / "data"))


def test_store_then_export_protects_counts(ctx, tmp_path):
    frame = pl.DataFrame({"kommun": ["0114", "0180"], "year": [2020, 2020], "n": [3, 120]})
    store(
        ctx,
        frame,
        Destination(name="tiny"),
        kind="counts",
        provenance=Provenance(source="test", licence="CC0 1.0"),
    )
    path, listed = list_datasets(ctx)
    assert listed["name"].to_list() == ["tiny"] and path.parent == tmp_path / "data"
    report = export_dataset(ctx, "tiny", tmp_path / "out.csv", Protection(threshold=5))
    assert report.frame["n"].to_list() == [None, 120]  # 3 < 5 suppressed, 120 kept
    assert "1 primary" in report.notes[0]


def test_store_needs_a_destination_before_any_work(ctx):
    with pytest.raises(InputError, match="--name"):
        store(ctx, pl.DataFrame({"a": [1]}), Destination(), kind="counts", provenance=None)


def test_split_between_names_the_option_and_the_values():
    frame = pl.DataFrame({"year": [2020, 2021], "n": [1, 2]})
    with pytest.raises(InputError, match=r"--second '2023'.*values: 2020, 2021"):
        split_between(frame, "year", "2020", "2023")
    with pytest.raises(InputError, match="--between column 'år' not found"):
        split_between(frame, "år", "2020", "2021")


def test_change_refuses_two_files_and_between():
    frame = pl.DataFrame({"year": [2020], "u": ["a"], "x": [1], "y": [2]})
    with pytest.raises(InputError, match="not both"):
        change(frame, frame, between="year", first_value="2020", second_value="2020")


def test_context_settings_override_only_what_is_given(tmp_path):
    base = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert base.with_(data_dir=None, database="sqlite://").cache_dir == tmp_path / "cache"
    assert base.registry_url.endswith("registry.sqlite")


def test_demo_out_dir_that_is_a_file_is_one_line(tmp_path):
    """Was a traceback (FileExistsError) and no message."""
    target = tmp_path / "results"
    target.write_text("not a folder")
    res = runner.invoke(app, ["demo", "--out-dir", str(target)])
    assert res.exit_code == 2
    assert "is a file, not a folder" in res.output
    assert "Traceback" not in res.output
    assert target.read_text() == "not a folder"


def test_an_unavailable_source_exits_3_with_one_line(tmp_path, monkeypatch):
    """SCB's or Kolada's server failing is not the user's input: exit 3, no traceback."""
    import httpx

    monkeypatch.chdir(tmp_path)
    broken = httpx.MockTransport(lambda request: httpx.Response(503, text="down"))
    res = runner.invoke(
        app,
        ["import", "kolada", "N00945", "--kommun", "0180", "--name", "k", "--data-dir", "."],
        obj=Context(transport=broken, sleep=lambda seconds: None),
    )
    assert res.exit_code == 3, res.output
    assert "Traceback" not in res.output and res.output.count("\n") <= 2
    assert not (Path(".") / "bryta.duckdb").exists()  # nothing half-written


def test_a_result_without_output_is_printed_as_a_table(tmp_path):
    """-o is optional where a result fits a screen: a readable table, names beside codes."""
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "regso;kommun;year;a;b\n0180R001;0180;2020;10;0\n0180R002;0180;2020;0;10\n",
        encoding="cp1252",
    )
    args = ["--unit", "regso", "--groups", "a,b", "--by", "kommun", "--index", "dissimilarity"]
    res = runner.invoke(app, ["measure", str(counts), *args, "--focal", "b"])
    assert res.exit_code == 0, res.output
    assert "Stockholm" in res.output and "dissimilarity" in res.output
    assert " 1" in res.output  # complete segregation: D = 1
    assert [p.name for p in tmp_path.iterdir()] == ["counts.csv"]  # nothing written
