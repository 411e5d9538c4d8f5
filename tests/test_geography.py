"""Swedish geography: codes per level and version, aggregation, crosswalks."""

from __future__ import annotations

import polars as pl
import pytest

from bryta.errors import ImportFormatError
from bryta.geography.areas import areas
from bryta.geography.codes import validate_codes
from bryta.geography.hierarchy import aggregate, crosswalk


@pytest.mark.parametrize(
    ("level", "version", "good", "bad"),
    [
        ("lan", None, "01", "1"),
        ("kommun", None, "0114", "01140"),
        ("regso", None, "0114R001", "0114A001"),
        ("regso", "2025", "0114R001_RegSO2025", "0114R001"),
        ("deso", None, "0114A0010", "0114D0010"),
        ("deso", "2025", "0114A0010_DeSO2025", "0114A0010_RegSO2025"),
    ],
)
def test_codes_per_level_and_version(level, version, good, bad):
    validate_codes(pl.Series("code", [good]), level, version=version)
    with pytest.raises(ImportFormatError, match=rf"row 2 '{bad}'"):
        validate_codes(pl.Series("code", [good, bad]), level, version=version, source="f.csv")


def test_bundled_areas():
    assert areas("lan").height == 21
    assert areas("kommun").height == 290
    assert areas("regso").height == 3363
    assert areas("deso").height == 5984
    for level in ("kommun", "regso", "deso"):
        validate_codes(areas(level)["code"], level)


def test_aggregate_up_the_hierarchy_keeps_totals():
    from bryta.datasets import load_demo_panel

    panel = load_demo_panel().select("regso", "year", "born_sweden", "born_abroad")
    kommun = aggregate(
        panel, code="regso", level="regso", to="kommun", values=["born_sweden", "born_abroad"]
    )
    lan = aggregate(
        kommun, code="kommun", level="kommun", to="lan", values=["born_sweden", "born_abroad"]
    )
    riket = aggregate(
        panel, code="regso", level="regso", to="riket", values=["born_sweden", "born_abroad"]
    )
    assert kommun["kommun"].n_unique() == 290 and lan["lan"].n_unique() == 21
    total = (
        riket.filter(pl.col("year") == 2020)
        .select(pl.col("born_sweden") + pl.col("born_abroad"))
        .item()
    )
    assert total == 10_379_295  # SCB's year-end population 2020
    assert lan["born_sweden"].sum() == panel["born_sweden"].sum()


def test_aggregate_deso_through_the_key():
    deso = pl.DataFrame({"deso": ["0114C1010", "0114C1030", "0114C1180"], "n": [1, 2, 5]})
    out = aggregate(deso, code="deso", level="deso", to="regso", values=["n"]).sort("regso")
    assert out.rows() == [("0114R001", 3), ("0114R002", 5)]
    with pytest.raises(ValueError, match="cannot aggregate"):
        aggregate(deso, code="deso", level="deso", to="deso", values=["n"])


def test_crosswalk_with_and_without_weights():
    counts = pl.DataFrame({"area": ["a", "b"], "year": [2023, 2023], "n": [10.0, 4.0]})
    one_to_one = pl.DataFrame({"from": ["a", "b"], "to": ["x", "x"]})
    assert crosswalk(counts, one_to_one, code="area", values=["n"]).rows() == [(2023, "x", 14.0)]
    split = pl.DataFrame({"from": ["a", "a", "b"], "to": ["x", "y", "y"], "w": [0.3, 0.7, 1.0]})
    out = crosswalk(counts, split, code="area", values=["n"], weight="w").sort("area")
    assert out["n"].to_list() == pytest.approx([3.0, 11.0])
    with pytest.raises(ImportFormatError, match="several targets"):
        crosswalk(counts, split, code="area", values=["n"])
    with pytest.raises(ImportFormatError, match="not in the crosswalk key"):
        crosswalk(counts, one_to_one.head(1), code="area", values=["n"])
    with pytest.raises(ImportFormatError, match="do not sum to 1"):
        crosswalk(counts, split.with_columns(w=pl.lit(0.5)), code="area", values=["n"], weight="w")
