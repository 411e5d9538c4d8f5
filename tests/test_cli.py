"""The command line: exact forms users script against, round trips, clean errors."""

from __future__ import annotations

import json
import math
import re

import polars as pl
import pytest
from typer.testing import CliRunner

import bryta
from bryta.cli import app

runner = CliRunner()


@pytest.fixture
def counts_csv(tmp_path, tiny_counts):
    path = tmp_path / "counts.csv"
    tiny_counts.with_columns(pl.lit("2023").alias("year")).write_csv(path)
    return path


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_measure_round_trip_keeps_keys_as_text(tmp_path, counts_csv, tiny_counts, suffix):
    out = tmp_path / f"out{suffix}"
    res = invoke(
        "measure", counts_csv, "--unit", "unit", "--groups", "a,b", "--by", "kommun,year", "-o", out
    )
    assert res.exit_code == 0, res.output
    if suffix == ".csv":
        got = pl.read_csv(out, schema_overrides={"kommun": pl.String, "year": pl.String})
        assert out.read_text().splitlines()[0] == "kommun,kommun_name,year,index,group,value"
    elif suffix == ".parquet":
        got = pl.read_parquet(out)
    else:
        got = pl.DataFrame(json.loads(out.read_text()))
    assert got.columns == ["kommun", "kommun_name", "year", "index", "group", "value"]
    assert set(got["kommun"]) == {"0114", "2584"}
    assert set(got["kommun_name"]) == {"Upplands Väsby", "Kiruna"}
    want = bryta.measure(tiny_counts, unit="unit", groups=["a", "b"], by="kommun")
    assert got.height == want.height
    left = got.filter(pl.col("index") == "gini").sort("kommun", "group")["value"]
    right = want.filter(pl.col("index") == "gini").sort("kommun", "group")["value"]
    assert left.to_list() == pytest.approx(right.to_list(), rel=1e-12, nan_ok=True)


def test_parquet_input_keeps_types(tmp_path, tiny_counts):
    src = tmp_path / "in.parquet"
    tiny_counts.with_columns(pl.lit(2023).alias("year")).write_parquet(src)
    out = tmp_path / "out.parquet"
    res = invoke(
        "measure",
        src,
        "--unit",
        "unit",
        "--groups",
        "a,b",
        "--by",
        "kommun,year",
        "--index",
        "dissimilarity",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    got = pl.read_parquet(out)
    assert got.schema["year"] == pl.Int32 or got.schema["year"] == pl.Int64
    assert got.schema["kommun"] == pl.String


def test_long_input_index_and_focal(tmp_path, schools00, expected):
    src = tmp_path / "schools.csv"
    schools00.write_csv(src)
    out = tmp_path / "out.csv"
    res = invoke(
        "measure",
        src,
        "--unit",
        "school",
        "--group-col",
        "race",
        "--count-col",
        "n",
        "--by",
        "state",
        "--index",
        "isolation",
        "--index",
        "theil_h",
        "--focal",
        "black,white",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    assert set(got["index"]) == {"isolation", "theil_h"}
    assert set(got["group"].drop_nulls()) == {"black", "white"}
    assert got.height == 3 * (2 + 1)


def test_all_indices_by_default(tmp_path, counts_csv):
    out = tmp_path / "out.csv"
    assert (
        invoke(
            "measure", counts_csv, "--unit", "unit", "--groups", "a,b", "--by", "kommun", "-o", out
        ).exit_code
        == 0
    )
    computed = {name for name, spec in bryta.INDICES.items() if not spec.simulated}
    assert set(pl.read_csv(out)["index"]) == computed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--groups", "a,c"], r"group column 'c' not found"),
        (["--groups", "a,b", "--index", "dissim"], r"unknown index 'dissim'"),
        (["--groups", "a,b", "--b", "2"], r"Atkinson's b"),
    ],
)
def test_errors_are_one_clean_line(tmp_path, counts_csv, args, message):
    res = invoke(
        "measure", counts_csv, "--unit", "unit", "--by", "kommun", *args, "-o", tmp_path / "out.csv"
    )
    assert res.exit_code == 2
    assert re.search(message, res.output)
    assert "Traceback" not in res.output
    assert not (tmp_path / "out.csv").exists()


def test_bad_count_names_file_column_and_row(tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("kommun,unit,a,b\n0114,u1,3,1\n0114,u2,x,3\n")
    res = invoke(
        "measure",
        src,
        "--unit",
        "unit",
        "--groups",
        "a,b",
        "--by",
        "kommun",
        "-o",
        tmp_path / "out.csv",
    )
    assert res.exit_code == 2
    assert "bad.csv" in res.output and "'a'" in res.output and "row 2" in res.output


def test_unsupported_formats(tmp_path, counts_csv):
    res = invoke(
        "measure", counts_csv, "--unit", "unit", "--groups", "a,b", "-o", tmp_path / "out.ods"
    )
    assert res.exit_code == 2 and ".ods" in res.output


def test_indices_lists_every_index_with_reference():
    res = runner.invoke(app, ["indices"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for name in [*bryta.INDICES, *bryta.SPATIAL_INDICES]:
        assert name in res.output
    md = invoke("indices", "--markdown").output
    assert md.count("\n| `") == len(bryta.INDICES)
    spatial = invoke("indices", "--markdown", "--spatial").output
    assert spatial.count("\n| `") == len(bryta.SPATIAL_INDICES)


def test_demo_writes_results(tmp_path):
    res = runner.invoke(app, ["demo", "--out-dir", str(tmp_path)], env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    assert "Stockholm" in res.output and "most segregated" in res.output
    full = pl.read_parquet(tmp_path / "demo_results.parquet")
    assert full.filter(pl.col("kommun") == "0114").height > 0
    years = full.filter(pl.col("kommun") == "riket")["year"].unique().sort().to_list()
    assert years == [2020, 2021, 2022, 2023]
    assert (tmp_path / "demo_results.csv").exists()
    assert "People by official area type, 2022" in res.output
    types = pl.read_csv(tmp_path / "area_types_2022.csv", schema_overrides={"kommun": pl.String})
    assert types["kommun"].n_unique() == 291  # 290 kommuner and Sweden
    assert types.filter(kommun="00")["areas"].sum() == 3363


def test_decompose_total_within_and_levels(tmp_path, schools00, expected):
    src = tmp_path / "schools.parquet"
    schools00.write_parquet(src)
    ref = expected["schools00"]
    long = ["--group-col", "race", "--count-col", "n"]
    out = tmp_path / "total.csv"
    assert invoke("decompose", src, "--unit", "school", *long, "-o", out).exit_code == 0
    total = pl.read_csv(out)
    assert total["M"][0] == pytest.approx(ref["mutual_information_race_by_school"], rel=1e-12)
    out = tmp_path / "within.csv"
    assert (
        invoke(
            "decompose", src, "--unit", "school", *long, "--within", "state", "-o", out
        ).exit_code
        == 0
    )
    assert pl.read_csv(out).columns == ["state", "M", "p", "H", "ent_ratio"]
    out = tmp_path / "chain.csv"
    assert (
        invoke(
            "decompose", src, "--unit", "school", *long, "--levels", "state,district", "-o", out
        ).exit_code
        == 0
    )
    chain = pl.read_csv(out)
    assert chain["M"].sum() == pytest.approx(ref["mutual_information_race_by_school"], rel=1e-12)
    res = invoke(
        "decompose",
        src,
        "--unit",
        "school",
        *long,
        "--levels",
        "state",
        "--within",
        "state",
        "-o",
        out,
    )
    assert res.exit_code == 2


def test_local_scores(tmp_path, counts_csv):
    out = tmp_path / "local.csv"
    res = invoke(
        "local",
        counts_csv,
        "--unit",
        "unit",
        "--groups",
        "a,b",
        "--by",
        "kommun",
        "--of",
        "group",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    assert got.columns == ["kommun", "kommun_name", "group", "ls", "p"] and got.height == 4
    bad = invoke(
        "local", counts_csv, "--unit", "unit", "--groups", "a,b", "--of", "area", "-o", out
    )
    assert bad.exit_code == 2


def test_measure_bootstrap_adds_uncertainty_columns(tmp_path, counts_csv):
    out = tmp_path / "boot.csv"
    args = [
        "measure",
        counts_csv,
        "--unit",
        "unit",
        "--groups",
        "a,b",
        "--by",
        "kommun",
        "--index",
        "theil_h",
        "--bootstrap",
        "50",
        "--seed",
        "4",
        "--ci",
        "0.9",
        "-o",
        out,
    ]
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    assert got.columns == [
        "kommun",
        "kommun_name",
        "index",
        "group",
        "value",
        "value_bc",
        "bias",
        "se",
        "ci_low",
        "ci_high",
    ]
    again = tmp_path / "again.csv"
    assert invoke(*args[:-1], again).exit_code == 0
    assert out.read_text() == again.read_text()  # same seed, same numbers
    first = got.row(0, named=True)
    assert first["value_bc"] == pytest.approx(first["value"] - first["bias"])


def test_change_two_files_and_between_forms(tmp_path, schools00, schools05, expected):
    ref = expected["change_schools00_to_schools05 (race by school)"]
    f1, f2 = tmp_path / "s00.parquet", tmp_path / "s05.parquet"
    schools00.write_parquet(f1)
    schools05.write_parquet(f2)
    long = ["--group-col", "race", "--count-col", "n", "--method", "mrc"]
    out = tmp_path / "change.csv"
    res = invoke("change", f1, f2, "--unit", "school", *long, "-o", out)
    assert res.exit_code == 0, res.output
    got = dict(pl.read_csv(out).iter_rows())
    for stat, value in ref["mrc (closed form; exact)"].items():
        assert got[stat] == pytest.approx(value, rel=1e-9)
    assert got["diff"] == pytest.approx(ref["diff"], rel=1e-12)
    both = tmp_path / "both.csv"
    pl.concat(
        [schools00.with_columns(year=pl.lit(2000)), schools05.with_columns(year=pl.lit(2005))]
    ).write_csv(both)
    out2 = tmp_path / "change2.csv"
    res = invoke(
        "change",
        both,
        "--between",
        "year",
        "--first",
        "2000",
        "--second",
        "2005",
        "--unit",
        "school",
        *long,
        "-o",
        out2,
    )
    assert res.exit_code == 0, res.output
    assert out2.read_text() == out.read_text()
    bad = invoke("change", both, "--unit", "school", *long, "-o", out2)
    assert bad.exit_code == 2 and "--between" in bad.output


def test_compare_two_periods(tmp_path):
    src = tmp_path / "two.csv"
    pl.DataFrame(
        {
            "year": [2020] * 3 + [2023] * 3,
            "kommun": ["0114"] * 6,
            "unit": ["x", "y", "z"] * 2,
            "a": [400, 100, 250, 450, 50, 250],
            "b": [100, 400, 250, 50, 450, 250],
        }
    ).write_csv(src)
    out = tmp_path / "cmp.csv"
    res = invoke(
        "compare",
        src,
        "--unit",
        "unit",
        "--groups",
        "a,b",
        "--by",
        "kommun",
        "--between",
        "year",
        "--first",
        "2020",
        "--second",
        "2023",
        "--index",
        "dissimilarity",
        "--focal",
        "a",
        "--alternative",
        "greater",
        "--bootstrap",
        "200",
        "--seed",
        "1",
        "-o",
        out,
    )
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    row = got.row(0, named=True)
    assert row["kommun"] == "0114" and row["diff"] == pytest.approx(0.4 / 3)  # 0.5333 − 0.4
    assert row["p_value"] < 0.01 and row["ci_low"] > 0
    bad = invoke(
        "compare",
        src,
        "--unit",
        "unit",
        "--groups",
        "a,b",
        "--between",
        "year",
        "--first",
        "2020",
        "--second",
        "1999",
        "-o",
        out,
    )
    assert bad.exit_code == 2 and "1999" in bad.output


def test_measure_expected_values_under_random_allocation(tmp_path):
    # two identical units: no segregation, yet random allocation of 20 people is uneven
    src = tmp_path / "even.csv"
    pl.DataFrame({"u": ["a", "b"], "x": [5, 5], "y": [5, 5]}).write_csv(src)
    out = tmp_path / "expected.csv"
    expected_d = [
        *("measure", src, "--unit", "u", "--groups", "x,y"),
        *("--index", "dissimilarity", "--focal", "x", "--expected", "200", "--seed", "4"),
    ]
    res = invoke(*expected_d, "-o", out)
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out).row(0, named=True)
    assert got["value"] == 0.0 and 0 < got["expected"] < 1 and got["expected_se"] > 0
    assert got["adjusted"] == pytest.approx(-got["expected"] / (1 - got["expected"]))
    # exact: k of the 10 x-people land in unit a, k ~ hypergeometric(20, 10, 10), D = |2k-10|/10
    exact = sum(
        math.comb(10, k) * math.comb(10, 10 - k) / math.comb(20, 10) * abs(2 * k - 10) / 10
        for k in range(11)
    )
    assert abs(got["expected"] - exact) < 4 * got["expected_se"] / math.sqrt(200)
    both = tmp_path / "both.csv"
    res = invoke(*expected_d, "--random-margins", "--bootstrap", "50", "-o", both)
    assert res.exit_code == 0, res.output
    assert {"se", "ci_low", "expected", "adjusted"} <= set(pl.read_csv(both).columns)
    res = invoke("measure", src, "--unit", "u", "--groups", "x,y", "--random-margins", "-o", out)
    assert res.exit_code != 0 and "--random-margins needs --expected" in res.output


def test_progress_bar_counts_steps_from_several_threads(monkeypatch):
    """The bootstrap's blocks advance the bar from its thread pool: the bar must be created
    once, and no thread may update it before its task exists (it did, when the first block
    took longer than the delay)."""
    import threading
    import time

    from bryta.cli import _progress

    created = []
    original = _progress.Progress.add_task

    def slow_add_task(self, *args, **kwargs):  # widen the window a race would need
        time.sleep(0.05)
        created.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(_progress.Progress, "add_task", slow_add_task)
    bar = _progress.DelayedProgress(total=400, description="test", delay=0.0)
    errors = []

    def work() -> None:
        try:
            for _ in range(100):
                bar.advance_by(1)
        except Exception as exc:  # any failure in a thread is the finding
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    assert not errors and created == [1] and bar.done == 400
