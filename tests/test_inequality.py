"""The ojämlikhetsindex and per-group segregation: hand-computed D values, identities with the
engine, an independent numpy implementation, long input, degenerate partitions and the CLI."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from bryta.cli.conditions import register
from bryta.compute.segregation.engine import measure
from bryta.compute.segregation.inequality import group_segregation, inequality_index
from bryta.errors import CountsError

FIFTHS = ["q1", "q2", "q3", "q4", "q5"]


@pytest.fixture
def income_fifths() -> pl.DataFrame:
    """People by income fifth in three RegSO of two kommuner, two years.

    0114, 2022: q1 (30, 10, 20), q5 (10, 30, 20): D = ½ (|½ − ⅙| + |⅙ − ½| + 0) = ⅓ → 33.33.
    0180, 2022: q1 (10, 20, 30), q5 (20, 40, 60): proportional → 0.
    0114, 2023: q1 (10, 0, 0), q5 (0, 5, 5): no area holds both → 100.
    0180, 2023: q1 (10, 20, 30) (L = 60), q5 (30, 10, 0) (H = 40):
        ½ (|1/6 − 3/4| + |1/3 − 1/4| + |1/2 − 0|) = ½ (7/12 + 1/12 + 6/12) = 7/12 → 58.33.
    The middle fifths differ between areas but must not enter the index.
    """
    q1 = [30, 10, 20, 10, 20, 30, 10, 0, 0, 10, 20, 30]
    q5 = [10, 30, 20, 20, 40, 60, 0, 5, 5, 30, 10, 0]
    n = len(q1)
    return pl.DataFrame(
        {
            "kommun": ["0114"] * 3 + ["0180"] * 3 + ["0114"] * 3 + ["0180"] * 3,
            "year": [2022] * 6 + [2023] * 6,
            "regso": [f"{k}R00{i}" for k in ("0114", "0180", "0114", "0180") for i in (1, 2, 3)],
            "q1": q1,
            "q2": [7 * (i % 4) for i in range(n)],
            "q3": [50] * n,
            "q4": [3 * i for i in range(n)],
            "q5": q5,
        }
    )


HAND = {
    ("0114", 2022): 100 / 3,
    ("0180", 2022): 0.0,
    ("0114", 2023): 100.0,
    ("0180", 2023): 700 / 12,
}


def test_inequality_index_by_hand(income_fifths):
    got = inequality_index(income_fifths, unit="regso", by=["kommun", "year"], low="q1", high="q5")
    assert got.columns == ["kommun", "year", "index", "low", "high", "value"]
    assert set(got.select("index", "low", "high").rows()) == {("inequality", "q1", "q5")}
    values = {(k, y): v for k, y, *_, v in got.iter_rows()}
    assert values.keys() == HAND.keys()
    for key, want in HAND.items():
        assert values[key] == pytest.approx(want, abs=1e-12)


def test_inequality_index_is_100_times_the_engine_d(income_fifths):
    got = inequality_index(income_fifths, unit="regso", by=["kommun", "year"], low="q1", high="q5")
    engine = measure(
        income_fifths.select("kommun", "year", "regso", "q1", "q5"),
        unit="regso",
        groups=["q1", "q5"],
        by=["kommun", "year"],
        indices="dissimilarity",
        focal="q5",  # D is symmetric in the two groups
    )
    assert got.get_column("value").to_numpy() == pytest.approx(
        100 * engine.get_column("value").to_numpy()
    )


def test_inequality_index_over_lan_is_another_partition(income_fifths):
    frame = income_fifths.with_columns(pl.col("kommun").str.slice(0, 2).alias("lan"))
    got = inequality_index(frame, unit="regso", by=["lan", "year"], low="q1", high="q5")
    # both kommuner are in län 01: six areas per year
    q = frame.filter(year=2022)
    low, high = q["q1"].to_numpy() / q["q1"].sum(), q["q5"].to_numpy() / q["q5"].sum()
    assert got.filter(year=2022)["value"].item() == pytest.approx(50 * np.abs(low - high).sum())


def test_long_counts_give_the_same_index(income_fifths):
    long = income_fifths.unpivot(
        index=["kommun", "year", "regso"], variable_name="fifth", value_name="people"
    )
    wide = inequality_index(income_fifths, unit="regso", by=["kommun", "year"], low="q1", high="q5")
    got = inequality_index(
        long,
        unit="regso",
        by=["kommun", "year"],
        low="q1",
        high="q5",
        group_col="fifth",
        count_col="people",
    )
    assert got.equals(wide)


def test_degenerate_partitions_are_nan_with_a_reason():
    frame = pl.DataFrame(
        {
            "kommun": ["0114", "0180", "0180"],
            "regso": ["0114R001", "0180R001", "0180R002"],
            "q1": [10, 0, 0],
            "q5": [5, 4, 6],
        }
    )
    got = inequality_index(frame, unit="regso", by="kommun", low="q1", high="q5", reasons=True)
    assert got.get_column("value").is_nan().all()
    assert got.get_column("reason").to_list() == [
        "fewer than two populated units",
        "focal group absent",
    ]


def test_inequality_index_refuses_one_group(income_fifths):
    with pytest.raises(CountsError, match="two different groups"):
        inequality_index(income_fifths, unit="regso", by="kommun", low="q1", high="q1")
    with pytest.raises(CountsError, match="'q6' not found"):
        inequality_index(income_fifths, unit="regso", by="kommun", low="q1", high="q6")
    long = income_fifths.unpivot(index=["kommun", "year", "regso"], variable_name="fifth")
    with pytest.raises(CountsError, match="group 'q6' does not occur in column 'fifth'"):
        inequality_index(
            long, unit="regso", by=["kommun", "year"], low="q1", high="q6",
            group_col="fifth", count_col="value",
        )  # fmt: skip


# ---- per-group segregation --------------------------------------------------------------------


def numpy_group_d(values: np.ndarray) -> np.ndarray:
    """D (0–100) of each column against the sum of the other columns, written independently."""
    total = values.sum(axis=1, keepdims=True)
    out = []
    for g in range(values.shape[1]):
        x = values[:, g]
        y = total[:, 0] - x
        out.append(50 * np.abs(x / x.sum() - y / y.sum()).sum())
    return np.array(out)


def test_group_segregation_by_hand():
    # a (30, 10, 20), b (10, 30, 20), c (0, 0, 20).
    # a vs b + c = (10, 30, 40): ½ (|½ − ⅛| + |⅙ − ⅜| + |⅓ − ½|) = ½ · ¾ → 37.5 (b alike);
    # c vs a + b = (40, 40, 40): ½ (⅓ + ⅓ + ⅔) = ⅔ → 66.67.
    frame = pl.DataFrame(
        {"regso": ["r1", "r2", "r3"], "a": [30, 10, 20], "b": [10, 30, 20], "c": [0, 0, 20]}
    )
    got = group_segregation(frame, unit="regso", by=None, groups=["a", "b", "c"])
    assert got.columns == ["index", "group", "value"]
    assert got.get_column("group").to_list() == ["a", "b", "c"]
    assert got.get_column("value").to_list() == pytest.approx([37.5, 37.5, 200 / 3])


def test_group_segregation_matches_numpy_for_every_partition(income_fifths):
    got = group_segregation(income_fifths, unit="regso", by=["kommun", "year"], groups=FIFTHS)
    assert got.columns == ["kommun", "year", "index", "group", "value"]
    assert got.height == 4 * 5
    for (kommun, year), part in income_fifths.group_by("kommun", "year"):
        want = numpy_group_d(part.sort("regso").select(FIFTHS).to_numpy().astype(float))
        have = got.filter(kommun=kommun, year=year).sort("group").get_column("value").to_numpy()
        assert have == pytest.approx(want)


def test_two_groups_per_group_is_the_inequality_index(income_fifths):
    pair = group_segregation(
        income_fifths, unit="regso", by=["kommun", "year"], groups=["q1", "q5"]
    )
    index = inequality_index(
        income_fifths, unit="regso", by=["kommun", "year"], low="q1", high="q5"
    )
    for g in ("q1", "q5"):
        assert pair.filter(group=g).get_column("value").to_list() == pytest.approx(
            index.get_column("value").to_list()
        )


def test_group_segregation_long_uses_all_groups_by_default(income_fifths):
    long = income_fifths.unpivot(
        index=["kommun", "year", "regso"], variable_name="fifth", value_name="people"
    ).filter(pl.col("people") > 0)  # absent rows are zero counts
    got = group_segregation(
        long, unit="regso", by=["kommun", "year"], group_col="fifth", count_col="people"
    )
    wide = group_segregation(income_fifths, unit="regso", by=["kommun", "year"], groups=FIFTHS)
    assert got.sort("kommun", "year", "group").equals(wide.sort("kommun", "year", "group"))


def test_group_segregation_needs_two_groups(income_fifths):
    with pytest.raises(CountsError, match="at least two groups"):
        group_segregation(income_fifths, unit="regso", by="kommun", groups=["q1"])


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(2, 8), st.integers(2, 5)), elements=st.integers(1, 500))
)
def test_group_segregation_property(values):
    groups = [f"g{i}" for i in range(values.shape[1])]
    frame = pl.DataFrame(values, schema=groups).with_row_index("unit")
    got = group_segregation(frame, unit="unit", by=None, groups=groups)
    assert got.get_column("value").to_numpy() == pytest.approx(numpy_group_d(values.astype(float)))
    assert ((got["value"] >= -1e-9) & (got["value"] <= 100 + 1e-9)).all()


# ---- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run(app: typer.Typer, *args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_inequality(tmp_path, income_fifths, cli):
    source = tmp_path / "income.csv"
    income_fifths.write_csv(source)
    out = tmp_path / "inequality.csv"
    res = run(cli, "inequality", source, "--unit", "regso", "--by", "kommun,year",
              "--low", "q1", "--high", "q5", "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    assert got.columns == ["kommun", "kommun_name", "year", "index", "low", "high", "value"]
    values = {(k, y): v for k, _name, y, *_, v in got.iter_rows()}
    for key, want in HAND.items():
        assert values[key] == pytest.approx(want)

    res = run(cli, "inequality", source, "--unit", "regso", "--by", "kommun,year",
              "--per-group", "--groups", ",".join(FIFTHS), "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String})
    assert got.columns == ["kommun", "kommun_name", "year", "index", "group", "value"]
    assert got.height == 20


def test_cli_inequality_long_and_errors(tmp_path, income_fifths, cli):
    source = tmp_path / "long.csv"
    income_fifths.unpivot(
        index=["kommun", "year", "regso"], variable_name="fifth", value_name="people"
    ).write_csv(source)
    out = tmp_path / "out.csv"
    res = run(cli, "inequality", source, "--unit", "regso", "--by", "kommun,year",
              "--low", "q1", "--high", "q5", "--group-col", "fifth", "--count-col", "people",
              "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert pl.read_csv(out).height == 4

    res = run(cli, "inequality", source, "--unit", "regso", "--low", "q1", "-o", out)
    assert res.exit_code == 2 and "--high" in res.output
    res = run(cli, "inequality", source, "--unit", "regso", "--low", "q1", "--high", "q5",
              "--group-col", "fifth", "--count-col", "people", "-o", tmp_path / "x.tx")  # fmt: skip
    assert res.exit_code == 2
    assert "output must be" in res.output
    res = run(cli, "inequality", source, "--unit", "regso", "--by", "kommun,year",
              "--low", "q1", "--high", "q9", "--group-col", "fifth", "--count-col", "people",
              "-o", out)  # fmt: skip
    assert res.exit_code == 2
    assert "group 'q9' does not occur in column 'fifth'" in res.output
