"""The counts model: accepted shapes and sources, bad input, degenerate partitions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import bryta
from bryta import CountsError


def test_wide_long_pandas_and_arrow_agree(tiny_counts):
    wide = bryta.measure(tiny_counts, unit="unit", groups=["a", "b"], by="kommun")
    long = tiny_counts.unpivot(index=["kommun", "unit"], variable_name="grp", value_name="n")
    from_long = bryta.measure(long, unit="unit", by="kommun", group_col="grp", count_col="n")
    from_pandas = bryta.measure(
        tiny_counts.to_pandas(), unit="unit", groups=["a", "b"], by="kommun"
    )
    from_arrow = bryta.measure(tiny_counts.to_arrow(), unit="unit", groups=["a", "b"], by="kommun")
    for other in (from_long, from_pandas, from_arrow):
        assert other.drop("value").equals(wide.drop("value"))
        np.testing.assert_array_equal(other["value"].to_numpy(), wide["value"].to_numpy())


def test_result_shape_and_key_types(tiny_counts):
    out = bryta.measure(tiny_counts, unit="unit", groups=["a", "b"], by="kommun")
    assert out.columns == ["kommun", "index", "group", "value"]
    assert out.schema["kommun"] == pl.String
    assert set(out["kommun"]) == {"0114", "2584"}
    computed = [s for s in bryta.INDICES.values() if not s.simulated]
    n_two = sum(s.kind == "two_group" for s in computed)
    n_multi = len(computed) - n_two
    assert out.height == 2 * (2 * n_two + n_multi)
    assert out.filter(pl.col("index") == "theil_h")["group"].is_null().all()


def test_focal_narrows_two_group_indices(tiny_counts):
    out = bryta.measure(
        tiny_counts,
        unit="unit",
        groups=["a", "b"],
        by="kommun",
        indices=["dissimilarity", "gini"],
        focal="b",
    )
    assert out["group"].to_list() == ["b"] * 4


def test_integer_keys_keep_their_type():
    frame = pl.DataFrame(
        {
            "year": [2020, 2020, 2021, 2021],
            "unit": [1, 2, 1, 2],
            "a": [1, 2, 3, 4],
            "b": [4, 3, 2, 1],
        }
    )
    out = bryta.measure(frame, unit="unit", groups=["a", "b"], by="year", indices="gini")
    assert out.schema["year"] == pl.Int64
    assert out["year"].to_list() == [2020, 2020, 2021, 2021]


def test_no_by_gives_one_partition(tiny_counts):
    out = bryta.measure(
        tiny_counts.with_columns(pl.concat_str("kommun", "unit").alias("u")),
        unit="u",
        groups=["a", "b"],
        indices="mutual_information",
    )
    assert out.columns == ["index", "group", "value"] and out.height == 1


# ---- bad input ----------------------------------------------------------------------------


def test_missing_column_is_named(tiny_counts):
    with pytest.raises(CountsError, match=r"group column 'c' not found.*'kommun'"):
        bryta.measure(tiny_counts, unit="unit", groups=["a", "c"], by="kommun")
    with pytest.raises(CountsError, match=r"'lan' not found"):
        bryta.measure(tiny_counts, unit="unit", groups=["a", "b"], by="lan")


def test_non_numeric_count_names_column_and_rows(tiny_counts):
    bad = tiny_counts.with_columns(pl.col("b").cast(pl.String))
    bad = bad.with_columns(
        pl.when(pl.col("unit") == "u2").then(pl.lit("12 st")).otherwise(pl.col("b")).alias("b")
    )
    with pytest.raises(CountsError) as info:
        bryta.measure(bad, unit="unit", groups=["a", "b"], by="kommun")
    msg = str(info.value)
    assert "'b'" in msg and "not numbers" in msg and "row 2 " in msg and "row 5 " in msg
    assert "'12 st'" in msg


def test_numeric_text_is_accepted(tiny_counts):
    text = tiny_counts.with_columns(pl.col("a").cast(pl.String))
    out = bryta.measure(text, unit="unit", groups=["a", "b"], by="kommun", indices="gini")
    assert out.height == 4


@pytest.mark.parametrize("bad", [-1.0, math.inf, math.nan])
def test_negative_or_non_finite_count(tiny_counts, bad):
    frame = tiny_counts.with_columns(pl.col("a").cast(pl.Float64))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(bad).otherwise(pl.col("a")).alias("a")
    )
    with pytest.raises(CountsError, match=r"'a' has negative or non-finite counts, 1 row: row 4"):
        bryta.measure(frame, unit="unit", groups=["a", "b"], by="kommun")


def test_missing_count(tiny_counts):
    frame = tiny_counts.with_columns(
        pl.when(pl.col("unit") == "u3").then(None).otherwise(pl.col("a")).alias("a")
    )
    with pytest.raises(CountsError, match=r"'a' has missing values, 2 rows: row 3"):
        bryta.measure(frame, unit="unit", groups=["a", "b"], by="kommun")


def test_duplicate_rows_wide_and_long(tiny_counts):
    dup = pl.concat([tiny_counts, tiny_counts[1:2]])
    with pytest.raises(CountsError, match=r"duplicate kommun × unit rows, 2 rows: row 2 .*row 7"):
        bryta.measure(dup, unit="unit", groups=["a", "b"], by="kommun")
    long = dup.unpivot(index=["kommun", "unit"], variable_name="grp", value_name="n")
    with pytest.raises(CountsError, match=r"duplicate kommun × unit × grp rows"):
        bryta.measure(long, unit="unit", by="kommun", group_col="grp", count_col="n")


def test_not_a_table():
    with pytest.raises(CountsError, match="polars, pandas or Arrow"):
        bryta.measure([[1, 2]], unit="u", groups=["a"])


def test_unknown_index_and_focal(tiny_counts):
    with pytest.raises(bryta.BrytaError, match=r"unknown index 'dissim'.*dissimilarity"):
        bryta.measure(tiny_counts, unit="unit", groups=["a", "b"], indices="dissim")
    with pytest.raises(bryta.BrytaError, match=r"focal group 'c'"):
        bryta.measure(tiny_counts, unit="unit", groups=["a", "b"], by="kommun", focal="c")


def test_pandas_and_arrow_sources_are_checked_too():
    frame = pd.DataFrame({"unit": ["x", "y"], "a": [1, -2], "b": [3, 4]})
    with pytest.raises(CountsError, match="negative"):
        bryta.measure(frame, unit="unit", groups=["a", "b"])
    table = pa.table({"unit": ["x", "x"], "a": [1, 2], "b": [3, 4]})
    with pytest.raises(CountsError, match="duplicate"):
        bryta.measure(table, unit="unit", groups=["a", "b"])


# ---- degenerate partitions ------------------------------------------------------------------


def test_degenerate_partitions_give_nan_with_reason():
    frame = pl.DataFrame(
        {
            "k": ["one_unit", "absent", "absent", "zero", "zero", "ok", "ok"],
            "unit": [1, 1, 2, 1, 2, 1, 2],
            "a": [5, 0, 0, 0, 0, 3, 1],
            "b": [5, 4, 6, 0, 0, 1, 3],
            "c": [1, 1, 1, 0, 0, 2, 2],
        }
    )
    out = bryta.measure(frame, unit="unit", groups=["a", "b", "c"], by="k", reasons=True)

    def reasons(k, index, group=None):
        f = out.filter((pl.col("k") == k) & (pl.col("index") == index))
        if group:
            f = f.filter(pl.col("group") == group)
        assert f["value"].is_nan().all() == (f["reason"].is_not_null().all())
        return f["reason"][0]

    assert reasons("one_unit", "dissimilarity", "a") == "fewer than two populated units"
    assert reasons("one_unit", "mutual_information") == "fewer than two populated units"
    assert reasons("one_unit", "diversity") is None  # diversity needs no second unit
    assert reasons("absent", "gini", "a") == "focal group absent"
    assert reasons("absent", "gini", "b") is None
    assert reasons("absent", "theil_h") is None  # computed over the groups present
    assert reasons("zero", "diversity") == "zero total"
    assert reasons("zero", "atkinson", "c") == "zero total"
    ok = out.filter(pl.col("k") == "ok")
    assert ok["reason"].is_null().all() and not ok["value"].is_nan().any()


def test_only_one_group_present_gives_nan():
    frame = pl.DataFrame({"unit": [1, 2], "a": [3, 4], "b": [0, 0]})
    out = bryta.measure(frame, unit="unit", groups=["a", "b"], reasons=True)
    assert out.filter(pl.col("index") == "theil_h")["reason"][0] == "fewer than two groups present"
    assert (
        out.filter((pl.col("index") == "isolation") & (pl.col("group") == "a"))["reason"][0]
        == "no one outside the focal group"
    )


def test_missing_unit_is_named_in_long_input_too():
    long = pl.DataFrame({"unit": ["x", None], "grp": ["a", "b"], "n": [1, 2]})
    with pytest.raises(CountsError, match=r"unit column 'unit' has missing values, 1 row: row 2"):
        bryta.measure(long, unit="unit", group_col="grp", count_col="n")


def test_integer_group_codes_in_long_input():
    long = pl.DataFrame({"unit": ["x", "x", "y", "y"], "q": [1, 5, 1, 5], "n": [3, 1, 1, 3]})
    out = bryta.measure(
        long,
        unit="unit",
        group_col="q",
        count_col="n",
        groups=[1, 5],
        indices="dissimilarity",
        focal=1,
    )
    assert out["value"][0] == pytest.approx(0.5)


def test_swedish_number_forms_are_read_as_counts():
    """A decimal comma and space/no-break/thin-space thousands separators, as Swedish
    exports write them (before: 'not a number')."""
    text = pl.DataFrame(
        {
            "unit": ["u1", "u2", "u3"],
            "a": ["1\u00a0200", "1 000", "2\u202f000"],
            "b": ["3000,0", "1\u2009000", "800"],
        }
    )
    got = bryta.measure(text, unit="unit", groups=["a", "b"], indices="dissimilarity", focal="a")
    a, b = np.array([1200, 1000, 2000]), np.array([3000, 1000, 800])
    want = 0.5 * np.abs(a / a.sum() - b / b.sum()).sum()
    assert got["value"][0] == pytest.approx(want)


def test_fractional_counts_are_refused_naming_the_rows(tiny_counts):
    for value in (12.5, "12,5"):
        bad = tiny_counts.with_columns(
            pl.col("a").cast(pl.String if isinstance(value, str) else pl.Float64)
        )
        bad = bad.with_columns(
            pl.when(pl.int_range(pl.len()) == 2)
            .then(pl.lit(value))
            .otherwise(pl.col("a"))
            .alias("a")
        )
        with pytest.raises(CountsError, match=r"'a' has counts that are not whole.*row 3"):
            bryta.measure(bad, unit="unit", groups=["a", "b"], by="kommun")


def test_ambiguous_thousands_and_decimals_are_refused(tiny_counts):
    bad = tiny_counts.with_columns(pl.col("a").cast(pl.String)).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("1,234.5"))
        .otherwise(pl.col("a"))
        .alias("a")
    )
    with pytest.raises(CountsError, match=r"not numbers.*row 1 "):
        bryta.measure(bad, unit="unit", groups=["a", "b"], by="kommun")


def test_internal_row_column_never_shows_in_errors(tiny_counts):
    long = tiny_counts.unpivot(index=["kommun", "unit"], variable_name="grp", value_name="n")
    with pytest.raises(CountsError) as info:
        bryta.measure(long, unit="unit", by="kommun", group_col="grp", count_col="count")
    assert "__bryta" not in str(info.value)
    assert "'count' not found" in str(info.value)


def _dissimilarity(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())


@pytest.fixture(scope="module")
def stockholm_2020():
    from bryta.datasets import load_demo_panel

    panel = load_demo_panel()
    return panel.filter(pl.col("kommun") == "0180", pl.col("year") == 2020)


def test_a_total_group_in_a_long_scb_export_is_refused(stockholm_2020):
    """Before: 'totalt' was measured as a group beside 'Sverige' (D = 0.074, not 0.29)."""
    long = pl.concat(
        [
            stockholm_2020.select(
                "kommun", "regso", pl.lit("Sverige").alias("födelseregion"),
                pl.col("born_sweden").alias("antal"),
            ),
            stockholm_2020.select(
                "kommun", "regso", pl.lit("totalt").alias("födelseregion"),
                (pl.col("born_sweden") + pl.col("born_abroad")).alias("antal"),
            ),
        ]
    )  # fmt: skip
    with pytest.raises(
        CountsError, match=r"'födelseregion' holds a total.*'totalt'.*--drop-totals"
    ):
        bryta.measure(long, unit="regso", by="kommun", group_col="födelseregion", count_col="antal")
    wide = bryta.measure(
        stockholm_2020, unit="regso", groups=["born_sweden", "born_abroad"], by="kommun",
        indices="dissimilarity", focal="born_abroad",
    )  # fmt: skip
    want = _dissimilarity(
        stockholm_2020["born_abroad"].to_numpy(), stockholm_2020["born_sweden"].to_numpy()
    )
    assert wide["value"][0] == pytest.approx(want)
    assert round(want, 6) == 0.290012


def test_a_country_row_among_areas_is_refused_or_dropped(stockholm_2020):
    rows = stockholm_2020.select("regso", "born_sweden", "born_abroad")
    country = pl.DataFrame(
        {"regso": ["Sverige"], "born_sweden": [10_000], "born_abroad": [2_000]},
        schema=rows.schema,
    )
    with_total = pl.concat([rows, country])
    args = {"unit": "regso", "groups": ["born_sweden", "born_abroad"], "indices": "dissimilarity"}
    with pytest.raises(
        CountsError, match=rf"'regso' holds a total.*'Sverige'.*row {rows.height + 1} "
    ):
        bryta.measure(with_total, focal="born_abroad", **args)
    dropped = bryta.measure(with_total, focal="born_abroad", drop_totals=True, **args)
    plain = bryta.measure(rows, focal="born_abroad", **args)
    assert dropped["value"][0] == plain["value"][0]


def test_a_total_count_column_is_refused_or_dropped(tiny_counts):
    data = tiny_counts.with_columns((pl.col("a") + pl.col("b")).alias("Totalt"))
    with pytest.raises(CountsError, match=r"'Totalt' is a total.*--drop-totals"):
        bryta.measure(data, unit="unit", groups=["a", "b", "Totalt"], by="kommun")
    dropped = bryta.measure(
        data, unit="unit", groups=["a", "b", "Totalt"], by="kommun", drop_totals=True
    )
    assert dropped.equals(bryta.measure(tiny_counts, unit="unit", groups=["a", "b"], by="kommun"))


@pytest.mark.parametrize(
    ("column", "short"), [("kommun", "114"), ("lan", "1"), ("regso", "114R001")]
)
def test_codes_without_their_leading_zero_are_refused(tiny_counts, column, short):
    data = tiny_counts.with_columns(pl.lit(short).alias(column))
    if column == "regso":
        data = data.with_columns((pl.lit("114R00") + pl.col("unit").str.slice(1)).alias("regso"))
        by, unit = "kommun", "regso"
    else:
        by, unit = column, "unit"
    with pytest.raises(
        CountsError, match=rf"'{column}' has codes without their leading zero.*row 1"
    ):
        bryta.measure(
            data.drop("kommun") if column == "lan" else data, unit=unit, groups=["a", "b"], by=by
        )


def test_integer_kommun_codes_from_excel_are_refused(tiny_counts):
    data = tiny_counts.with_columns(pl.col("kommun").cast(pl.Int64))
    with pytest.raises(CountsError, match=r"'kommun' has codes without.*row 1 \(kommun=114\)"):
        bryta.measure(data, unit="unit", groups=["a", "b"], by="kommun")


def test_names_beside_codes():
    from bryta.geography.areas import with_area_names

    frame = pl.DataFrame({"lan": ["01"], "kommun": ["0180"], "regso": ["0114R001"], "v": [1.0]})
    got = with_area_names(frame)
    assert got.columns == ["lan", "lan_name", "kommun", "kommun_name", "regso", "regso_name", "v"]
    assert got.row(0)[1:6:2] == ("Stockholm", "Stockholm", "Bollstanäs")
    assert with_area_names(pl.DataFrame({"kommun": ["x"]})).columns == ["kommun"]
