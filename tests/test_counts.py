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
    n_two = sum(s.kind == "two_group" for s in bryta.INDICES.values())
    n_multi = len(bryta.INDICES) - n_two
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
