"""The socioeconomic index and area types: the official rule on data whose types are known by
construction, the settings, identities, bad input, the bundled official types and the CLI."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bryta.cli import app
from bryta.compute.conditions.area_types import AreaTypeError, area_types
from bryta.datasets import load_demo_shares, official_area_types
from bryta.errors import ImportFormatError
from bryta.ingest.official_types import read_area_types

SHARES = ["low_income", "low_education", "assistance"]

# A distribution with mean 20 and SD 4 exactly (ddof 0): z = 2, -2, 1, -1 and six zeros give
# sum z = 0 and sum z² = 10 = n. So 28, 24, 20, 16 lie exactly on the four band edges.
EDGES = [28.0, 12.0, 24.0, 16.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0]
EDGE_TYPES = [1, 5, 2, 4, 3, 3, 3, 3, 3, 3]


def _three_shares(index: list[float]) -> dict[str, list[float]]:
    """Three different shares whose plain mean is exactly ``index`` (all values integers)."""
    return {
        "low_income": [x + 3 for x in index],
        "low_education": [x - 5 for x in index],
        "assistance": [x + 2 for x in index],
    }


def _constructed() -> tuple[pl.DataFrame, dict[tuple[str, int], int | None]]:
    """Two years with different distributions, rows shuffled, one area with a missing share.

    2021: the edge distribution above (mean 20, SD 4); 2022: the same z-scores around mean 40
    with SD 10 (60, 20, 50, 30 and six 40s); and in 2022 an area with a missing share, which
    must get no type and must not move the distribution.
    """
    rows = []
    expected: dict[tuple[str, int], int | None] = {}
    for i, (value, kind) in enumerate(zip(EDGES, EDGE_TYPES, strict=True)):
        rows.append((f"A{i:02d}", 2021, value))
        expected[(f"A{i:02d}", 2021)] = kind
    for i, (z, kind) in enumerate(zip([2, -2, 1, -1, 0, 0, 0, 0, 0, 0], EDGE_TYPES, strict=True)):
        rows.append((f"A{i:02d}", 2022, 40.0 + 10.0 * z))
        expected[(f"A{i:02d}", 2022)] = kind
    frame = pl.DataFrame(rows, schema=["regso", "year", "index"], orient="row")
    frame = frame.with_columns(
        **{k: pl.Series(v) for k, v in _three_shares(frame["index"].to_list()).items()}
    )
    missing = pl.DataFrame(
        {
            "regso": ["A99"],
            "year": [2022],
            "index": [None],
            "low_income": [None],
            "low_education": [95.0],
            "assistance": [95.0],
        },
        schema=frame.schema,
    )
    expected[("A99", 2022)] = None
    frame = pl.concat([frame, missing]).drop("index").sample(fraction=1.0, shuffle=True, seed=7)
    return frame, expected


def test_official_rule_reproduced_exactly_on_constructed_data():
    frame, expected = _constructed()
    typed = area_types(frame, unit="regso", by="year", shares=SHARES, details=True)
    assert typed.columns == ["regso", "year", "index", "area_type", "mean", "sd", "z"]
    got = {(r, y): t for r, y, t in typed.select("regso", "year", "area_type").iter_rows()}
    assert got == expected
    stats = (
        typed.drop_nulls("area_type")
        .group_by("year")
        .agg(pl.col("mean").unique(), pl.col("sd").unique())
        .sort("year")
    )
    assert stats["mean"].to_list() == [[20.0], [40.0]]
    assert stats["sd"].to_list() == [[4.0], [10.0]]


def test_output_columns_and_order_are_the_documented_ones():
    frame, _ = _constructed()
    typed = area_types(frame, unit="regso", by="year", shares=SHARES)
    assert typed.columns == ["regso", "year", "index", "area_type"]
    assert typed.schema["area_type"] == pl.Int8
    assert typed.select("year", "regso").rows() == sorted(typed.select("year", "regso").rows())


def _numpy_types(values: np.ndarray, weights: np.ndarray, cuts: list[float], ddof: int):
    mean = np.sum(weights * values) / np.sum(weights)
    sd = np.sqrt(np.sum(weights * (values - mean) ** 2) / (np.sum(weights) - ddof))
    z = (values - mean) / sd
    edges = np.array(cuts)
    return len(cuts) + 1 - (z[:, None] >= edges[None, :]).sum(axis=1), z


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 1000), min_size=3, max_size=40),
    st.lists(st.integers(1, 50), min_size=40, max_size=40),
    st.booleans(),
    st.sampled_from([0, 1]),
)
def test_types_match_an_independent_numpy_classification(values, pops, weighted, ddof):
    shares = np.array(values, dtype=float) / 10.0
    if np.ptp(shares) == 0:
        return
    pop = np.array(pops[: len(values)], dtype=float)
    frame = pl.DataFrame({"u": range(len(values)), "p": 0, "s": shares, "pop": pop})
    typed = area_types(
        frame,
        unit="u",
        by="p",
        shares=["s"],
        population="pop",
        weighted=weighted,
        ddof=ddof,
        details=True,
    )
    expected, z = _numpy_types(shares, pop if weighted else np.ones_like(pop), [2, 1, 0, -1], ddof)
    np.testing.assert_allclose(typed["z"].to_numpy(), z, rtol=1e-12, atol=1e-12)
    # compare away from the edges, where rounding order may legitimately differ
    clear = np.min(np.abs(z[:, None] - np.array([2, 1, 0, -1])[None, :]), axis=1) > 1e-9
    assert (typed["area_type"].to_numpy()[clear] == expected[clear]).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=3, max_size=25), st.data())
def test_population_weights_equal_repeated_rows(values, data):
    pops = data.draw(st.lists(st.integers(1, 6), min_size=len(values), max_size=len(values)))
    if len(set(values)) < 2:
        return
    frame = pl.DataFrame({"u": range(len(values)), "p": 0, "s": values, "pop": pops})
    weighted = area_types(
        frame, unit="u", by="p", shares=["s"], population="pop", weighted=True, details=True
    )
    expanded = frame.select(pl.all().repeat_by("pop").explode()).with_row_index("row")
    plain = area_types(expanded, unit="row", by="p", shares=["s"], details=True)
    assert weighted["mean"][0] == pytest.approx(plain["mean"][0], rel=1e-12)
    assert weighted["sd"][0] == pytest.approx(plain["sd"][0], rel=1e-12)


def test_periods_are_independent_and_row_order_does_not_matter():
    frame, _ = _constructed()
    together = area_types(frame, unit="regso", by="year", shares=SHARES)
    alone = pl.concat(
        area_types(frame.filter(year=y), unit="regso", by="year", shares=SHARES)
        for y in (2021, 2022)
    )
    assert together.equals(alone)
    reversed_input = area_types(frame.reverse(), unit="regso", by="year", shares=SHARES)
    assert together.equals(reversed_input)


def test_by_takes_no_column_or_several():
    frame, _ = _constructed()
    one_year = frame.filter(year=2022).drop("year")
    alone = area_types(one_year, unit="regso", shares=SHARES, details=True)
    assert alone.columns == ["regso", "index", "area_type", "mean", "sd", "z"]
    per_year = area_types(frame, unit="regso", by="year", shares=SHARES, details=True)
    assert alone.equals(per_year.filter(year=2022).drop("year"))
    # the same panel under two scenarios: every scenario × year is its own distribution
    scenarios = pl.concat([frame.with_columns(scenario=pl.lit(s)) for s in ("a", "b")])
    both = area_types(scenarios, unit="regso", by=["scenario", "year"], shares=SHARES)
    assert both.columns == ["regso", "scenario", "year", "index", "area_type"]
    plain = area_types(frame, unit="regso", by="year", shares=SHARES)
    for s in ("a", "b"):
        assert both.filter(scenario=s).drop("scenario").equals(plain)
    with pytest.raises(AreaTypeError, match=r"once \(name the period column in by=\)"):
        area_types(frame, unit="regso", shares=SHARES)


def test_weights_cutoffs_and_scaling():
    frame = pl.DataFrame({"u": list("abcd"), "p": 1, "x": [10.0, 20, 30, 40], "y": [0.0, 0, 0, 40]})
    heavy = area_types(frame, unit="u", by="p", shares=["x", "y"], weights=[3, 1])
    assert heavy["index"].to_list() == [7.5, 15.0, 22.5, 40.0]
    two_bands = area_types(frame, unit="u", by="p", shares=["x"], cutoffs=[0])
    assert two_bands["area_type"].to_list() == [2, 2, 1, 1]
    half = frame.with_columns(pl.col("x") / 2)
    assert area_types(half, unit="u", by="p", shares=["x"])["area_type"].equals(
        area_types(frame, unit="u", by="p", shares=["x"])["area_type"]
    )


def test_undefined_periods_get_no_types():
    frame = pl.DataFrame({"u": ["a", "b", "c", "d"], "p": [1, 1, 2, 3], "s": [5.0, 5.0, 7.0, None]})
    typed = area_types(frame, unit="u", by="p", shares=["s"])
    assert typed["area_type"].null_count() == 4  # SD 0; one area; no index
    assert typed["index"].to_list() == [5.0, 5.0, 7.0, None]


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        ({"s": ["12", "x", "3"]}, {}, r"'s' has values that are not numbers, 1 row: row 2 \(u='b'"),
        ({"s": [12.0, 130.0, 3.0]}, {}, r"percentages \(0–100\); out of range in 1 row: row 2"),
        ({"s": [12.0, -1.0, 3.0]}, {}, r"out of range in 1 row: row 2"),
        ({"u": ["a", "a", "c"]}, {}, r"each u must appear once per p; repeated in 2 rows"),
        ({}, {"shares": ["t"]}, r"column 't' not found; the table has 'u', 'p', 's'"),
        ({}, {"weighted": True}, r"needs a population column"),
        ({}, {"cutoffs": [1, 2]}, r"strictly decreasing"),
        ({}, {"weights": [1, 2]}, r"2 weights for 1 shares"),
        ({}, {"ddof": 2}, r"ddof must be 0 or 1"),
    ],
)
def test_bad_input_is_named(change, kwargs, message):
    frame = pl.DataFrame({"u": ["a", "b", "c"], "p": 1, "s": [12.0, 20.0, 3.0]})
    frame = frame.with_columns(**{k: pl.Series(v) for k, v in change.items()})
    with pytest.raises(AreaTypeError, match=message):
        area_types(frame, unit="u", by="p", **{"shares": ["s"], **kwargs})


def test_text_input_with_scb_missing_markers():
    frame = pl.DataFrame({"u": ["a", "b", "c", "d"], "p": "2022", "s": ["10", "..", "30", "20"]})
    typed = area_types(frame, unit="u", by="p", shares=["s"])
    assert typed["index"].to_list() == [10.0, None, 30.0, 20.0]


def test_bundled_official_types_2022():
    types = official_area_types()
    assert types.columns == ["regso", "kommun", "lan", "year", "area_type"]
    assert types.height == 3363 and types["regso"].n_unique() == 3363
    assert types["year"].unique().to_list() == [2022]
    counts = types.group_by("area_type").len().sort("area_type")
    assert counts.rows() == [(1, 160), (2, 289), (3, 855), (4, 1770), (5, 289)]


def test_official_types_from_a_user_export(tmp_path):
    path = tmp_path / "types.csv"
    path.write_text(
        "\ufeff,2021,2022\nUpplands Väsby (Bollstanäs),4,4\nVallentuna (Lindholmen),3,4\n,\n"
        '"Delegationen mot segregation (Delmos) och SCB ...",\n',
        encoding="utf-8",
    )
    types = read_area_types(path)
    assert types.select("regso", "year", "area_type").rows() == [
        ("0114R001", 2021, 4),
        ("0115R002", 2021, 3),
        ("0114R001", 2022, 4),
        ("0115R002", 2022, 4),
    ]
    path.write_text("\ufeff,2022\nUpplands Väsby (Bollstanäs),7\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"must be 1–5; found 0114R001 2022: 7"):
        read_area_types(path)


def test_demo_proxy_shares_are_percentages_of_the_bundled_panel():
    shares = load_demo_shares()
    assert shares.select(pl.col("born_abroad_pct", "rental_pct").is_between(0, 100).all()).row(
        0
    ) == (True, True)
    typed = area_types(shares, unit="regso", by="year", shares=["born_abroad_pct", "rental_pct"])
    assert typed["area_type"].null_count() == 0
    assert typed.height == 3363 * 4


runner = CliRunner()


def test_cli_exact_form(tmp_path):
    frame, expected = _constructed()
    src = tmp_path / "shares.csv"
    frame.write_csv(src)
    out = tmp_path / "types.csv"
    res = runner.invoke(
        app,
        [
            "area-types",
            str(src),
            "--unit",
            "regso",
            "--period",
            "year",
            "--shares",
            ",".join(SHARES),
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    typed = pl.read_csv(out)
    assert typed.columns == ["regso", "year", "index", "area_type"]
    got = {(r, y): t for r, y, t in typed.select("regso", "year", "area_type").iter_rows()}
    assert got == expected


def test_cli_settings_and_errors(tmp_path):
    src = tmp_path / "shares.csv"
    pl.DataFrame({"u": list("abcd"), "p": 1, "x": [10, 20, 30, 40], "pop": [1, 1, 1, 5]}).write_csv(
        src
    )
    out = tmp_path / "types.parquet"
    res = runner.invoke(
        app,
        [
            "area-types",
            str(src),
            "--unit",
            "u",
            "--period",
            "p",
            "--shares",
            "x",
            "--population",
            "pop",
            "--weighted",
            "--cutoffs",
            "0",
            "--details",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    typed = pl.read_parquet(out)
    assert typed.columns == ["u", "p", "index", "area_type", "pop", "mean", "sd", "z"]
    assert typed["mean"][0] == pytest.approx(260 / 8)
    assert typed["area_type"].to_list() == [2, 2, 2, 1]
    res = runner.invoke(
        app,
        [
            "area-types",
            str(src),
            "--unit",
            "u",
            "--period",
            "p",
            "--shares",
            "x",
            "--cutoffs",
            "1,a",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 2
    assert "--cutoffs must be numbers" in res.output


def test_cli_reads_a_swedish_excel_csv(tmp_path):
    """Semicolons, Windows-1252 and decimal commas, as Excel on Windows saves a sheet."""
    frame, expected = _constructed()
    text = frame.with_columns(
        pl.col(SHARES).cast(pl.String).str.replace(".", ",", literal=True)
    ).write_csv(separator=";")
    src = tmp_path / "andelar.csv"
    src.write_bytes(text.encode("cp1252"))
    out = tmp_path / "types.xlsx"
    res = runner.invoke(
        app,
        ["area-types", str(src), "--unit", "regso", "--period", "year",
         "--shares", ",".join(SHARES), "-o", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    typed = pl.read_excel(out)
    got = {(r, int(y)): t for r, y, t in typed.select("regso", "year", "area_type").iter_rows()}
    assert got == {(r, int(y)): t for (r, y), t in expected.items()}
