"""Transitions between area types: a hand-checked panel, the identities between the matrix, the
persistence rates and the population tables, bad input, the bundled panel and the CLI."""

from __future__ import annotations

from itertools import pairwise

import polars as pl
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bryta.cli.conditions import register
from bryta.compute.conditions.area_types import area_types
from bryta.compute.conditions.transitions import (
    TransitionError,
    changed_areas,
    persistence,
    population_by_type,
    transition_matrix,
)
from bryta.datasets import load_demo_shares

# Seven areas in two kommuner over two years (type, population, index):
#
#   regso     2020            2021
#   0114R001  1  100  40.0    1  110  41.0   stays 1
#   0114R002  2  200  30.0    1  210  39.0   2 -> 1
#   0114R003  3  300  20.0    3  310  20.5   stays 3
#   0114R004  4   60  15.0    (absent)       4 -> no type
#   0180R001  3  400  21.0    4  390  14.0   3 -> 4
#   0180R002  5  500   5.0    5  520   4.0   stays 5
#   0180R003  -   50   -      2   60  31.0   no type (missing index) -> 2
#   0180R004  (absent)        3   70  22.0   new area -> 3
ROWS = [
    ("0114R001", 2020, 1, 100, 40.0),
    ("0114R002", 2020, 2, 200, 30.0),
    ("0114R003", 2020, 3, 300, 20.0),
    ("0114R004", 2020, 4, 60, 15.0),
    ("0180R001", 2020, 3, 400, 21.0),
    ("0180R002", 2020, 5, 500, 5.0),
    ("0180R003", 2020, None, 50, None),
    ("0114R001", 2021, 1, 110, 41.0),
    ("0114R002", 2021, 1, 210, 39.0),
    ("0114R003", 2021, 3, 310, 20.5),
    ("0180R001", 2021, 4, 390, 14.0),
    ("0180R002", 2021, 5, 520, 4.0),
    ("0180R003", 2021, 2, 60, 31.0),
    ("0180R004", 2021, 3, 70, 22.0),
]


@pytest.fixture
def tiny_types() -> pl.DataFrame:
    return pl.DataFrame(
        ROWS,
        schema={
            "regso": pl.String,
            "year": pl.Int32,
            "area_type": pl.Int8,
            "population": pl.Int64,
            "index": pl.Float64,
        },
        orient="row",
    )


def _cells(matrix: pl.DataFrame) -> dict[tuple, tuple]:
    """Non-empty cells as {(from, to): (areas, population_first, population_second)}."""
    return {
        (r["from_type"], r["to_type"]): tuple(
            v for k, v in r.items() if k not in ("from_type", "to_type")
        )
        for r in matrix.filter(pl.col("areas") > 0).iter_rows(named=True)
    }


# ---- transition_matrix ------------------------------------------------------------------------


def test_matrix_by_hand(tiny_types):
    m = transition_matrix(tiny_types, first=2020, second=2021, population="population")
    assert m.columns == ["from_type", "to_type", "areas", "population_first", "population_second"]
    assert _cells(m) == {
        (1, 1): (1, 100, 110),
        (2, 1): (1, 200, 210),
        (3, 3): (1, 300, 310),
        (3, 4): (1, 400, 390),
        (5, 5): (1, 500, 520),
        (4, None): (1, 60, 0),
        (None, 2): (1, 50, 60),
        (None, 3): (1, 0, 70),
    }
    typed = m.head(25)
    assert typed.select("from_type", "to_type").rows() == [
        (i, j) for i in range(1, 6) for j in range(1, 6)
    ]
    assert typed.null_count().sum_horizontal().item() == 0
    # the cells with a null type come after the 25 typed cells, only where non-empty
    assert m.slice(25).rows() == [(4, None, 1, 60, 0), (None, 2, 1, 50, 60), (None, 3, 1, 0, 70)]


def test_matrix_without_population_has_only_areas(tiny_types):
    m = transition_matrix(tiny_types, first=2020, second=2021)
    assert m.columns == ["from_type", "to_type", "areas"]
    assert m.get_column("areas").sum() == 8  # every area present in either year


def test_matrix_margins_are_the_type_counts(tiny_types):
    m = transition_matrix(tiny_types, first=2020, second=2021, population="population")
    for year, side, other in (
        (2020, "from_type", "population_first"),
        (2021, "to_type", "population_second"),
    ):
        counts = (
            tiny_types.filter(year=year)
            .group_by("area_type")
            .agg(pl.len().alias("n"), pl.col("population").sum().alias("pop"))
        )
        sums = m.group_by(side).agg(pl.col("areas").sum(), pl.col(other).sum())
        got = {r[0]: (r[1], r[2]) for r in sums.filter(pl.col("areas") > 0).iter_rows()}
        want = {r[0]: (r[1], r[2]) for r in counts.iter_rows()}
        if side == "from_type":  # the new area 0180R004 is in the null row, with 0 people
            want[None] = (want[None][0] + 1, want[None][1])
        else:  # 0114R004 left: no type in 2021, 0 people
            want[None] = (1, 0)
        assert got == want


def test_period_given_as_text_matches_integer_column(tiny_types):
    assert transition_matrix(tiny_types, first="2020", second="2021").equals(
        transition_matrix(tiny_types, first=2020, second=2021)
    )


def test_same_period_gives_the_diagonal(tiny_types):
    m = transition_matrix(tiny_types, first=2021, second=2021)
    off = m.filter(pl.col("from_type").ne_missing(pl.col("to_type")))
    assert off.get_column("areas").sum() == 0


def test_pandas_input(tiny_types):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(tiny_types.to_dicts())
    got = transition_matrix(frame, first=2020, second=2021)
    assert (
        got.get_column("areas").to_list()
        == transition_matrix(tiny_types, first=2020, second=2021).get_column("areas").to_list()
    )


def test_more_types_with_n_types(tiny_types):
    m = transition_matrix(
        tiny_types.with_columns(pl.col("area_type").replace(5, 6)),
        first=2020,
        second=2021,
        n_types=6,
    )
    assert m.head(36).height == 36
    assert _cells(m)[(6, 6)] == (1,)


# ---- persistence ------------------------------------------------------------------------------


def test_persistence_by_hand(tiny_types):
    p = persistence(tiny_types, population="population")
    assert p.columns == [
        "first", "second", "area_type", "areas", "kept", "share",
        "population", "population_kept", "population_share",
    ]  # fmt: skip
    got = {r[2]: r[3:] for r in p.iter_rows()}
    # typed in both years: R001 1->1, R002 2->1, R003 3->3, 0180R001 3->4, 0180R002 5->5
    assert got[1] == (1, 1, 1.0, 100, 100, 1.0)
    assert got[2] == (1, 0, 0.0, 200, 0, 0.0)
    assert got[3] == (2, 1, 0.5, 700, 300, 300 / 700)
    assert got[4] == (0, 0, None, 0, 0, None)  # 0114R004 has no type in 2021
    assert got[5] == (1, 1, 1.0, 500, 500, 1.0)
    assert got[None] == (5, 3, 0.6, 1500, 900, 0.6)
    assert set(p.select("first", "second").rows()) == {(2020, 2021)}


def test_persistence_covers_every_consecutive_pair(tiny_types):
    later = tiny_types.filter(year=2021).with_columns(pl.lit(2023, pl.Int32).alias("year"))
    p = persistence(pl.concat([tiny_types, later]))
    assert p.select("first", "second").unique(maintain_order=True).rows() == [
        (2020, 2021),
        (2021, 2023),
    ]
    overall = p.filter(pl.col("area_type").is_null(), first=2021)
    assert overall.select("areas", "kept", "share").row(0) == (7, 7, 1.0)


def test_persistence_overall_is_the_trace(tiny_types):
    m = transition_matrix(tiny_types, first=2020, second=2021)
    trace = m.filter(pl.col("from_type") == pl.col("to_type")).get_column("areas").sum()
    typed = m.drop_nulls().get_column("areas").sum()
    overall = persistence(tiny_types).filter(pl.col("area_type").is_null())
    assert overall.select("areas", "kept").row(0) == (typed, trace)


def test_persistence_with_one_period_is_empty(tiny_types):
    p = persistence(tiny_types.filter(year=2020))
    assert p.height == 0
    assert p.columns == ["first", "second", "area_type", "areas", "kept", "share"]


# ---- changed_areas ----------------------------------------------------------------------------


def test_changed_areas_by_hand(tiny_types):
    got = changed_areas(tiny_types, first=2020, second=2021, population="population")
    assert got.columns == [
        "regso", "kommun", "lan", "from_type", "to_type",
        "index_first", "index_second", "population_first", "population_second",
    ]  # fmt: skip
    assert got.rows() == [
        ("0114R002", "0114", "01", 2, 1, 30.0, 39.0, 200, 210),
        ("0180R001", "0180", "01", 3, 4, 21.0, 14.0, 400, 390),
    ]


def test_changed_areas_with_untyped(tiny_types):
    got = changed_areas(tiny_types, first=2020, second=2021, untyped=True)
    assert got.select("regso", "from_type", "to_type").rows() == [
        ("0114R002", 2, 1),
        ("0114R004", 4, None),
        ("0180R001", 3, 4),
        ("0180R003", None, 2),
        ("0180R004", None, 3),
    ]


def test_changed_areas_match_the_off_diagonal(tiny_types):
    m = transition_matrix(tiny_types, first=2020, second=2021).drop_nulls()
    off = m.filter(pl.col("from_type") != pl.col("to_type")).get_column("areas").sum()
    assert changed_areas(tiny_types, first=2020, second=2021).height == off


def test_changed_areas_without_index_column_or_codes(tiny_types):
    plain = tiny_types.drop("index").with_columns(("x" + pl.col("regso")).alias("regso"))
    got = changed_areas(plain, first=2020, second=2021)
    assert got.columns == ["regso", "from_type", "to_type"]
    assert got.height == 2


def test_changed_areas_empty_keeps_its_columns(tiny_types):
    got = changed_areas(tiny_types, first=2020, second=2020)
    assert got.height == 0
    assert got.columns[:3] == ["regso", "kommun", "lan"]


# ---- population_by_type -----------------------------------------------------------------------


def test_population_by_type_by_hand(tiny_types):
    got = population_by_type(tiny_types, "population", "kommun").filter(year=2020)
    assert got.columns == ["kommun", "year", "area_type", "areas", "population", "share"]
    rows = {(r[0], r[2]): (r[3], r[4]) for r in got.iter_rows()}
    assert rows[("0114", 1)] == (1, 100)
    assert rows[("0114", 4)] == (1, 60)
    assert rows[("0114", 5)] == (0, 0)
    assert rows[("0180", 3)] == (1, 400)
    assert rows[("0180", None)] == (1, 50)  # the untyped area, so the total is complete
    assert ("0114", None) not in rows
    shares = {(r[0], r[2]): r[5] for r in got.iter_rows()}
    assert shares[("0114", 3)] == pytest.approx(300 / 660)
    assert shares[("0180", 5)] == pytest.approx(500 / 950)


@pytest.mark.parametrize("level", ["kommun", "lan", "riket"])
def test_population_by_type_sums_to_the_total(tiny_types, level):
    got = population_by_type(tiny_types, "population", level)
    totals = got.group_by("year").agg(pl.col("population").sum()).sort("year")
    want = tiny_types.group_by("year").agg(pl.col("population").sum()).sort("year")
    assert totals.equals(want)
    sums = got.group_by(level, "year").agg(pl.col("share").sum())
    assert sums.get_column("share").to_list() == pytest.approx([1.0] * sums.height)
    assert got.filter(pl.col("area_type").is_not_null()).height == 5 * sums.height


def test_population_by_type_uses_a_kommun_column_when_given(tiny_types):
    own = tiny_types.with_columns(
        ("x" + pl.col("regso")).alias("regso"), pl.lit("9999").alias("kommun")
    )
    got = population_by_type(own, "population")
    assert got.get_column("kommun").unique().to_list() == ["9999"]
    with pytest.raises(TransitionError, match="cannot tell the lan"):
        population_by_type(own, "population", "lan")


def test_population_by_type_partitions_by_any_columns(tiny_types):
    one_year = tiny_types.filter(year=2020).drop("year")
    alone = population_by_type(one_year, "population", "kommun", by=None)
    assert alone.columns == ["kommun", "area_type", "areas", "population", "share"]
    per_year = population_by_type(tiny_types, "population", "kommun").filter(year=2020)
    assert alone.equals(per_year.drop("year"))
    # two scenarios of the same panel: each partition is the panel's own result
    scenarios = pl.concat(
        [tiny_types.with_columns(pl.lit(s).alias("scenario")) for s in ("low", "high")]
    )
    both = population_by_type(scenarios, "population", "kommun", by=["scenario", "year"])
    assert both.columns[:3] == ["kommun", "scenario", "year"]
    low = both.filter(scenario="low").drop("scenario")
    assert low.equals(population_by_type(tiny_types, "population", "kommun"))
    with pytest.raises(TransitionError, match="once \\(name the period column in by=\\)"):
        population_by_type(tiny_types, "population", "kommun", by=None)


def test_population_by_type_rejects_an_unknown_level(tiny_types):
    with pytest.raises(TransitionError, match="level must be one of"):
        population_by_type(tiny_types, "population", "regso")  # type: ignore[arg-type]


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (pl.col("area_type").replace(5, 7), r"types 1–5 .*0180R002"),
        (
            pl.col("regso").replace("0114R002", "0114R001"),
            r"once per year; repeated in 4 rows: row 1 \(regso='0114R001', year=2020\)",
        ),
        (pl.col("area_type").cast(pl.Float64) + 0.5, "whole type numbers"),
    ],
)
def test_bad_types_are_refused_naming_rows(tiny_types, change, message):
    with pytest.raises(TransitionError, match=message):
        transition_matrix(tiny_types.with_columns(change), first=2020, second=2021)


def test_missing_column_and_unknown_period(tiny_types):
    with pytest.raises(TransitionError, match="'pop' not found"):
        transition_matrix(tiny_types, first=2020, second=2021, population="pop")
    with pytest.raises(TransitionError, match="year 2019 is not in the table; it has 2020, 2021"):
        transition_matrix(tiny_types, first=2019, second=2021)


def test_text_columns_from_csv_are_read(tiny_types):
    text = tiny_types.with_columns(pl.all().cast(pl.String))
    m = transition_matrix(text, first="2020", second="2021", population="population")
    assert _cells(m)[(3, 4)] == (1, 400, 390)
    with pytest.raises(TransitionError, match="not numbers"):
        transition_matrix(
            text.with_columns(pl.lit("x").alias("population")),
            first="2020",
            second="2021",
            population="population",
        )


# ---- properties -------------------------------------------------------------------------------

TYPE = st.one_of(st.none(), st.integers(1, 5))
CELL = st.one_of(st.none(), st.tuples(TYPE, st.integers(0, 1000)))  # None: area absent


@st.composite
def type_panels(draw) -> pl.DataFrame:
    n_units = draw(st.integers(1, 12))
    rows = []
    for i in range(n_units):
        for year in (2020, 2021, 2022):
            cell = draw(CELL)
            if cell is not None:
                kommun = "0114" if i % 2 else "0180"
                rows.append((f"{kommun}R{i:03d}", year, cell[0], cell[1]))
    schema = {"regso": pl.String, "year": pl.Int64, "area_type": pl.Int8, "population": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row")


@settings(max_examples=60, deadline=None)
@given(type_panels())
def test_matrix_identities(panel):
    if panel.filter(year=2020).height == 0 or panel.filter(year=2022).height == 0:
        return
    m = transition_matrix(panel, first=2020, second=2022, population="population")
    present = panel.filter(pl.col("year").is_in([2020, 2022])).get_column("regso").n_unique()
    assert m.get_column("areas").sum() == present
    for year, side, pop in (
        (2020, "from_type", "population_first"),
        (2022, "to_type", "population_second"),
    ):
        part = panel.filter(year=year)
        assert m.get_column(pop).sum() == part.get_column("population").sum()
        for t in range(1, 6):
            n = part.filter(area_type=t).height
            assert m.filter(pl.col(side) == t).get_column("areas").sum() == n
    assert m.height >= 25


@settings(max_examples=60, deadline=None)
@given(type_panels())
def test_persistence_agrees_with_the_matrices(panel):
    p = persistence(panel)
    years = sorted(panel.get_column("year").unique().to_list())
    assert p.select("first", "second").unique(maintain_order=True).rows() == list(pairwise(years))
    for first, second in pairwise(years):
        m = transition_matrix(panel, first=first, second=second).drop_nulls()
        overall = p.filter(pl.col("area_type").is_null(), first=first)
        trace = m.filter(pl.col("from_type") == pl.col("to_type")).get_column("areas").sum()
        assert overall.select("areas", "kept").row(0) == (m.get_column("areas").sum(), trace)
        per_type = p.filter(pl.col("area_type").is_not_null(), first=first)
        assert per_type.get_column("kept").sum() == trace


@settings(max_examples=60, deadline=None)
@given(type_panels())
def test_population_by_type_totals(panel):
    got = population_by_type(panel, "population", "kommun")
    assert got.get_column("population").sum() == panel.get_column("population").sum()
    assert got.get_column("areas").sum() == panel.height


# ---- the bundled panel ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy_types() -> pl.DataFrame:
    shares = load_demo_shares()
    return area_types(
        shares,
        unit="regso",
        by="year",
        shares=["born_abroad_pct", "rental_pct"],
        population="population",
    )


def test_bundled_panel_transitions(proxy_types):
    m = transition_matrix(proxy_types, first=2020, second=2023, population="population")
    by_type = proxy_types.filter(year=2020).group_by("area_type").len()
    for t, n in by_type.iter_rows():
        assert m.filter(pl.col("from_type").eq_missing(t)).get_column("areas").sum() == n
    p = persistence(proxy_types, population="population").filter(pl.col("area_type").is_null())
    assert p.height == 3
    # the proxy types are stable from year to year, like SCB's (89–95 %)
    assert all(0.85 <= s <= 1.0 for s in p.get_column("share"))
    changed = changed_areas(proxy_types, first=2022, second=2023)
    assert changed.height == p.filter(first=2022).select(pl.col("areas") - pl.col("kept")).item()
    lan = population_by_type(proxy_types, "population", "lan")
    assert lan.get_column("lan").n_unique() == 21
    assert lan.filter(year=2022).get_column("population").sum() == 10521556


# ---- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def run(app: typer.Typer, *args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_transitions(tmp_path, tiny_types, cli):
    source = tmp_path / "types.csv"
    tiny_types.write_csv(source)
    out = tmp_path / "matrix.csv"
    common = ("--unit", "regso", "--period", "year")
    res = run(cli, "transitions", source, *common, "--first", "2020", "--second", "2021",
              "--population", "population", "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    assert got.columns == ["from_type", "to_type", "areas", "population_first", "population_second"]
    assert got.height == 28
    assert got.filter(from_type=3, to_type=4).row(0) == (3, 4, 1, 400, 390)

    res = run(cli, "transitions", source, *common, "--first", "2020", "--second", "2021",
              "--changed", "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out, schema_overrides={"kommun": pl.String, "lan": pl.String})
    assert got.select("regso", "kommun", "from_type", "to_type").rows() == [
        ("0114R002", "0114", 2, 1),
        ("0180R001", "0180", 3, 4),
    ]

    res = run(cli, "transitions", source, *common, "--persistence", "-o", out)
    assert res.exit_code == 0, res.output
    got = pl.read_csv(out)
    assert got.filter(pl.col("area_type").is_null()).select("first", "share").row(0) == (2020, 0.6)


def test_cli_transitions_errors(tmp_path, tiny_types, cli):
    source = tmp_path / "types.csv"
    tiny_types.write_csv(source)
    out = tmp_path / "out.csv"
    common = ("--unit", "regso", "--period", "year")
    res = run(cli, "transitions", source, *common, "-o", out)
    assert res.exit_code == 2 and "--first" in res.output
    res = run(cli, "transitions", source, *common, "--persistence", "--changed", "-o", out)
    assert res.exit_code == 2
    res = run(cli, "transitions", source, *common, "--first", "2019", "--second", "2021", "-o", out)
    assert res.exit_code == 2
    assert "year '2019' is not in the table" in res.output
    assert not out.exists()


def test_changed_areas_keep_kommun_and_lan_when_one_code_is_not_a_regso(tiny_types):
    """Before: one unknown code made kommun and lan disappear for every area."""
    odd = tiny_types.with_columns(
        pl.when(pl.col("regso") == "0180R002")
        .then(pl.lit("Skolområde 7"))
        .otherwise(pl.col("regso"))
        .alias("regso")
    )
    got = changed_areas(odd, first=2020, second=2021, untyped=True)
    assert got.columns[:3] == ["regso", "kommun", "lan"]
    located = dict(zip(got["regso"], got["kommun"], strict=True))
    assert located["0114R002"] == "0114" and located["0180R001"] == "0180"
    odd_rows = changed_areas(
        tiny_types.with_columns(
            pl.when(pl.col("regso") == "0114R002")
            .then(pl.lit("Skolområde 7"))
            .otherwise(pl.col("regso"))
            .alias("regso")
        ),
        first=2020,
        second=2021,
    )
    assert odd_rows.filter(pl.col("regso") == "Skolområde 7")["kommun"].to_list() == [None]
