"""Shared fixtures, named for what they are."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def expected() -> dict:
    """Values published by R segregation and PySAL segregation (tests/data/PROVENANCE.md)."""
    return json.loads((DATA / "expected_values.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def schools00() -> pl.DataFrame:
    return pl.read_csv(DATA / "schools00.csv")


@pytest.fixture(scope="session")
def schools05() -> pl.DataFrame:
    return pl.read_csv(DATA / "schools05.csv")


@pytest.fixture(scope="session")
def school_ses() -> pl.DataFrame:
    return pl.read_csv(DATA / "school_ses.csv")


@pytest.fixture(scope="session")
def sids2_long() -> pl.DataFrame:
    """sids2 births as long counts by year: year, county, group (nonwhite/white), n."""
    raw = pl.read_csv(DATA / "sids2_counts.csv")
    frames = []
    for year in ("74", "79"):
        frames.append(
            raw.select(
                pl.lit(f"19{year}").alias("year"),
                pl.col("NAME").alias("county"),
                pl.col(f"NWBIR{year}").alias("nonwhite"),
                (pl.col(f"BIR{year}") - pl.col(f"NWBIR{year}")).alias("white"),
            )
        )
    return pl.concat(frames).unpivot(
        index=["year", "county"], variable_name="group", value_name="n"
    )


@pytest.fixture
def tiny_counts() -> pl.DataFrame:
    """The three-unit worked example of the index docstrings, in two kommuner."""
    return pl.DataFrame(
        {
            "kommun": ["0114"] * 3 + ["2584"] * 3,
            "unit": ["u1", "u2", "u3"] * 2,
            "a": [30, 10, 20, 5, 5, 0],
            "b": [10, 30, 20, 5, 5, 10],
        }
    )
