"""bryta against values published by R segregation (Elbers) and PySAL segregation.

Closed-form values must agree to 1e-12 relative (tests/data/PROVENANCE.md).
"""

from __future__ import annotations

import math

import polars as pl
import pytest

import bryta

REL = 1e-12


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=REL, abs_tol=0)


def value(frame: pl.DataFrame, index: str, group: str | None = None, **keys) -> float:
    f = frame.filter(pl.col("index") == index)
    if group is not None:
        f = f.filter(pl.col("group") == group)
    for k, v in keys.items():
        f = f.filter(pl.col(k) == v)
    assert f.height == 1, f
    return f["value"][0]


RACE = {"group_col": "race", "count_col": "n"}


def test_schools00_mutual_information(schools00, expected):
    ref = expected["schools00"]
    out = bryta.measure(
        schools00, unit="school", indices=["mutual_information", "theil_h", "diversity"], **RACE
    )
    assert close(value(out, "mutual_information"), ref["mutual_information_race_by_school"])
    assert close(value(out, "theil_h"), ref["theil_h_race_by_school"])
    assert close(value(out, "diversity"), ref["entropy_of_race_nats"])
    base2 = bryta.measure(schools00, unit="school", indices="mutual_information", base=2, **RACE)
    assert close(value(base2, "mutual_information"), ref["mutual_information_base2"])


def test_schools00_roles_swapped(schools00, expected):
    """M is symmetric in units and groups; H normalises by the other entropy."""
    ref = expected["schools00"]
    out = bryta.mutual_total(schools00, unit="race", group_col="school", count_col="n")
    assert close(out["M"][0], ref["mutual_information_race_by_school"])
    assert close(out["H"][0], ref["theil_h_school_by_race (roles swapped; M is symmetric)"])
    div = bryta.measure(
        schools00, unit="race", indices="diversity", group_col="school", count_col="n"
    )
    assert close(div["value"][0], ref["entropy_of_school_nats"])


@pytest.mark.parametrize(
    ("unit", "within", "key"),
    [
        ("state", None, "race_by_state"),
        ("district", None, "race_by_district"),
        ("school", "state", "race_by_school_within_state"),
        ("school", "district", "race_by_school_within_district"),
    ],
)
def test_schools00_between_within(schools00, expected, unit, within, key):
    ref = expected["schools00"][key]
    keep = [unit, within] if within else [unit]
    data = schools00.group_by([*keep, "race"]).agg(pl.col("n").sum())
    out = bryta.mutual_total(data, unit=unit, within=within, **RACE)
    assert close(out["M"][0], ref["M"])
    assert close(out["H"][0], ref["H"])


def test_schools00_nested_chain(schools00, expected):
    ref = expected["schools00"]["nested_state_district_school"]
    out = bryta.mutual_nested(schools00, unit="school", within=["state", "district"], **RACE)
    assert out["between"].to_list() == ["state", "district", "school"]
    assert out["within"].to_list() == ["", "state", "state, district"]
    for row, key in zip(out.iter_rows(named=True), ref, strict=True):
        assert close(row["M"], ref[key]["M"]), key
        assert close(row["H"], ref[key]["H"]), key


def test_schools00_within_state_components(schools00, expected):
    ref = expected["schools00"][
        "within_state_components (M, p = population share of stratum, H, entropy ratio)"
    ]
    out = bryta.mutual_within(schools00, unit="school", within="state", **RACE)
    for row in out.iter_rows(named=True):
        m, p, h, ratio = ref[row["state"]]
        assert close(row["M"], m) and close(row["p"], p)
        assert close(row["H"], h) and close(row["ent_ratio"], ratio)


def test_schools00_local_groups_and_units(schools00, expected):
    ref = expected["schools00"]
    groups = bryta.mutual_local(schools00, unit="school", of="group", **RACE)
    for row in groups.iter_rows(named=True):
        ls, p = ref["local_segregation_of_races (ls, p); sum(p*ls) = M"][row["group"]]
        assert close(row["ls"], ls) and close(row["p"], p)
    units = bryta.mutual_local(schools00, unit="school", **RACE)
    first = ref["local_segregation_of_schools_first_rows (ls, p)"]
    for row in units.filter(pl.col("school").is_in(list(first))).iter_rows(named=True):
        ls, p = first[row["school"]]
        assert close(row["ls"], ls) and close(row["p"], p)


@pytest.mark.parametrize(
    ("a", "b", "key"),
    [
        ("black", "white", "dissimilarity_black_white (only these two groups, by school)"),
        ("white", "asian", "dissimilarity_white_asian"),
    ],
)
def test_schools00_pairwise_dissimilarity(schools00, expected, a, b, key):
    out = bryta.pairwise_dissimilarity(schools00, unit="school", pairs=[(a, b)], **RACE)
    assert close(out["value"][0], expected["schools00"][key])


def test_schools00_isolation_and_exposure(schools00, expected):
    ref = expected["schools00"]
    out = bryta.measure(schools00, unit="school", indices="isolation", **RACE)
    for group, v in ref["isolation (cross-checked with PySAL to 1e-15)"].items():
        assert close(value(out, "isolation", group), v)
    matrix = bryta.exposure_matrix(schools00, unit="school", **RACE)
    for pair, v in ref["exposure (of -> to)"].items():
        of, to = pair.split("->")
        row = matrix.filter((pl.col("group") == of) & (pl.col("other") == to))
        assert close(row["value"][0], v), pair


def test_schools05(schools05, expected):
    ref = expected["schools05"]
    out = bryta.mutual_total(schools05, unit="school", **RACE)
    assert close(out["M"][0], ref["mutual_information_race_by_school"])
    assert close(out["H"][0], ref["theil_h_race_by_school"])


@pytest.mark.parametrize("group", ["ethnic_group", "ses_quintile"])
def test_school_ses_from_microdata(school_ses, expected, group):
    """One row per student: counting the rows gives the long counts."""
    ref = expected["school_ses"][f"{group}_by_school"]
    counts = school_ses.group_by("school_id", group).len("n")
    out = bryta.mutual_total(counts, unit="school_id", group_col=group, count_col="n")
    assert close(out["M"][0], ref["M"])
    assert close(out["H"][0], ref["H"])


def test_sids2_every_aspatial_index(sids2_long, expected):
    """All 18 indices for both years in one call, against PySAL segregation."""
    out = bryta.measure(
        sids2_long, unit="county", by="year", group_col="group", count_col="n", focal="nonwhite"
    )
    names = {k.split(" ")[0]: k for k in expected["sids2"]["1974"]}
    assert set(names) | {"mutual_information"} <= set(bryta.INDICES)  # the 18 of PySAL 2.6's
    # tests; PySAL's other aspatial indices are checked in tests/test_aspatial_pysal.py
    for year in ("1974", "1979"):
        ref = expected["sids2"][year]
        m = ref["theil_h"] * ref["diversity (entropy of group shares)"]  # M = H · E
        assert close(value(out, "mutual_information", year=year), m)
        for name, key in names.items():
            two = bryta.INDICES[name].kind == "two_group"
            got = value(out, name, "nonwhite" if two else None, year=year)
            assert close(got, expected["sids2"][year][key]), (year, name)
