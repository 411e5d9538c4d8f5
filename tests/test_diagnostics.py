"""Registry diagnostics on a small portfolio whose every value is worked out by hand.

The portfolio (``as_of`` = 2023-12-31):

id  form                 planned          actual           bands      level      domain  SEK   areas
i1  project              20-01-01..21-12  20-01-01..21-12  0-5        universal  health  1000  A1
i2  permanent_operation  22-03-01..       22-03-01..       0-5, 6-15  universal  health  -     A1
i3  project              21-01-01..21-06  21-01-01..21-06  16-19      indicated  crime   500   A1 A2
i4  pilot                22-01-01..24-12  22-01-01..       prenatal   selective  health  2000  A2
i5  project              19-01-01..20-12  19-01-01..20-12  20-64      reactive   employ  1500  B1
i6  permanent_operation  -                22-06-01..       20-64      reactive   employ  -     B1

(years 20xx; every end is the last day of its month.)

Successions i1 → i2 (starts 2 months after i1 ends) and i5 → i6 (starts 17 months after).
Areas: A1 (kommun 0180, type 1, 1000 inhabitants), A2 (0180, type 4, 3000), B1 (1480, type 2,
2000), B2 (1480, type 1, 500, no intervention).
Organisations: o1, o2 municipality; o3 civil_society; o4 region; o5 civil_society.
Participants: i1 {o1, o3}, i2 {o1, o2}, i3 {o2, o4}, i4 {o1, o3, o4}, i5 {o5}, i6 {o5}.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from bryta.compute.diagnostics import (
    AREA_LINKS_SCHEMA,
    INTERVENTIONS_SCHEMA,
    METRICS,
    PARTICIPATIONS_SCHEMA,
    POPULATION_SCHEMA,
    SUCCESSIONS_SCHEMA,
    DiagnosticsInputError,
    collaboration,
    diagnose,
    earliness,
    months,
    need_coverage,
    short_termism,
    unserved_areas,
)

AS_OF = dt.date(2023, 12, 31)
D = dt.date


@pytest.fixture
def portfolio() -> dict[str, pl.DataFrame]:
    rows = [
        # id, form, planned_start, planned_end, actual_start, actual_end, bands, level, dom, sek
        ("i1", "project", D(2020, 1, 1), D(2021, 12, 31), D(2020, 1, 1), D(2021, 12, 31),
         ["0-5"], "universal", ["health"], 1000.0),
        ("i2", "permanent_operation", D(2022, 3, 1), None, D(2022, 3, 1), None,
         ["0-5", "6-15"], "universal", ["health"], None),
        ("i3", "project", D(2021, 1, 1), D(2021, 6, 30), D(2021, 1, 1), D(2021, 6, 30),
         ["16-19"], "indicated", ["crime"], 500.0),
        ("i4", "pilot", D(2022, 1, 1), D(2024, 12, 31), D(2022, 1, 1), None,
         ["prenatal"], "selective", ["health"], 2000.0),
        ("i5", "project", D(2019, 1, 1), D(2020, 12, 31), D(2019, 1, 1), D(2020, 12, 31),
         ["20-64"], "reactive", ["employment"], 1500.0),
        ("i6", "permanent_operation", None, None, D(2022, 6, 1), None,
         ["20-64"], "reactive", ["employment"], None),
    ]  # fmt: skip
    names = ["id", "form", "planned_start", "planned_end", "actual_start", "actual_end",
             "age_bands", "prevention_level", "outcome_domains", "amount_sek"]  # fmt: skip
    interventions = pl.DataFrame(
        rows, schema={n: INTERVENTIONS_SCHEMA[n] for n in names}, orient="row"
    )
    sectors = {"o1": "municipality", "o2": "municipality", "o3": "civil_society",
               "o4": "region", "o5": "civil_society"}  # fmt: skip
    members = {"i1": ["o1", "o3"], "i2": ["o1", "o2"], "i3": ["o2", "o4"],
               "i4": ["o1", "o3", "o4"], "i5": ["o5"], "i6": ["o5"]}  # fmt: skip
    participations = pl.DataFrame(
        [(i, o, "implementing", sectors[o]) for i, orgs in members.items() for o in orgs],
        schema=PARTICIPATIONS_SCHEMA,
        orient="row",
    )
    area = {"A1": ("0180", 1), "A2": ("0180", 4), "B1": ("1480", 2), "B2": ("1480", 1)}
    linked = [("i1", "A1"), ("i2", "A1"), ("i3", "A1"), ("i3", "A2"), ("i4", "A2"),
              ("i5", "B1"), ("i6", "B1")]  # fmt: skip
    area_links = pl.DataFrame(
        [(i, a, *area[a]) for i, a in linked], schema=AREA_LINKS_SCHEMA, orient="row"
    )
    population = pl.DataFrame(
        [("A1", 1000.0, 1, "0180"), ("A2", 3000.0, 4, "0180"), ("B1", 2000.0, 2, "1480"),
         ("B2", 500.0, 1, "1480")],
        schema=POPULATION_SCHEMA,
        orient="row",
    )  # fmt: skip
    successions = pl.DataFrame({"from_id": ["i1", "i5"], "to_id": ["i2", "i6"]})
    return {
        "interventions": interventions,
        "participations": participations,
        "area_links": area_links,
        "successions": successions,
        "population": population,
    }


def val(frame: pl.DataFrame, by: str, group, metric: str):
    row = frame.filter((pl.col(by) == group) & (pl.col("metric") == metric))
    assert row.height == 1, (group, metric)
    return row["value"][0]


def label(frame: pl.DataFrame, by: str, group, metric: str):
    return frame.filter((pl.col(by) == group) & (pl.col("metric") == metric))["label"][0]


def test_months_counts_calendar_months_with_both_days_included():
    dates = pl.DataFrame(
        {
            "s": [D(2020, 1, 1), D(2020, 3, 15), D(2022, 6, 1), D(2021, 1, 1)],
            "e": [D(2020, 12, 31), D(2020, 4, 14), D(2023, 12, 31), D(2021, 6, 30)],
        }
    )
    got = dates.select(m=months(pl.col("s"), pl.col("e")))["m"].to_list()
    # whole year = 12; 15 Mar..14 Apr = 1; Jun 2022..Dec 2023 = 7 + 12 = 19; Jan..Jun = 6
    assert got == pytest.approx([12.0, 1.0, 19.0, 6.0])


def test_short_termism_by_kommun(portfolio):
    p = portfolio
    out = short_termism(
        p["interventions"], p["area_links"], p["successions"], by="kommun", as_of=AS_OF,
        groups=["0180", "1480", "2480"],
    )  # fmt: skip
    assert out.columns == ["kommun", "metric", "value", "label"]
    # 0180 holds i1, i2, i3, i4
    assert val(out, "kommun", "0180", "n_interventions") == 4
    assert val(out, "kommun", "0180", "project_share_count") == pytest.approx(2 / 4)  # i1, i3
    # projects 1000 + 500 over known amounts 1000 + 500 + 2000
    assert val(out, "kommun", "0180", "project_share_sek") == pytest.approx(1500 / 3500)
    # planned: i1 24, i3 6, i4 36 (i2 has no planned end) -> median 24
    assert val(out, "kommun", "0180", "median_planned_months") == pytest.approx(24)
    # actual: i1 24, i2 Mar 2022..as_of 22, i3 6, i4 Jan 2022..as_of 24 -> median (22+24)/2
    assert val(out, "kommun", "0180", "median_actual_months") == pytest.approx(23)
    # effective durations 24, 22, 6, 36 (i4 runs to its planned end) -> one < 12, one >= 36
    assert val(out, "kommun", "0180", "share_under_12_months") == pytest.approx(1 / 4)
    assert val(out, "kommun", "0180", "share_36_months_or_more") == pytest.approx(1 / 4)
    # ended projects i1 (continued by i2 two months later) and i3 (no successor)
    assert val(out, "kommun", "0180", "institutionalisation_rate") == pytest.approx(1 / 2)
    # active years i1 2 + i2 2 + i3 1 + i4 3 = 8; 4 starts; ends i1, i3 -> 6 / 16
    assert val(out, "kommun", "0180", "churn") == pytest.approx(6 / 16)

    # 1480 holds i5, i6
    assert val(out, "kommun", "1480", "project_share_sek") == pytest.approx(1.0)  # i6 unknown
    assert val(out, "kommun", "1480", "median_planned_months") == pytest.approx(24)  # i5 only
    assert val(out, "kommun", "1480", "median_actual_months") == pytest.approx((24 + 19) / 2)
    assert val(out, "kommun", "1480", "share_under_12_months") == 0
    # i6 starts 17 months after i5 ended: not within 12 months
    assert val(out, "kommun", "1480", "institutionalisation_rate") == 0
    # active years 2 + 2 = 4; starts 2; ends 1 (i5) -> 3 / 8
    assert val(out, "kommun", "1480", "churn") == pytest.approx(3 / 8)

    # 2480 has no intervention: count 0, every share null
    assert val(out, "kommun", "2480", "n_interventions") == 0
    empty = out.filter((pl.col("kommun") == "2480") & (pl.col("metric") != "n_interventions"))
    assert empty["value"].null_count() == len(METRICS["short_termism"]) - 1


def test_short_termism_by_year(portfolio):
    p = portfolio
    out = short_termism(
        p["interventions"], p["area_links"], p["successions"], by="year", as_of=AS_OF
    )
    # i5 2019-20, i1 2020-21, i3 2021, i2 2022-23, i4 2022-24, i6 2022-23
    assert out["year"].unique().sort().to_list() == [2019, 2020, 2021, 2022, 2023, 2024]
    # 2021: i1 and i3, both projects; i3 starts, i1 and i3 end -> (1 + 2) / (2 * 2)
    assert val(out, "year", 2021, "n_interventions") == 2
    assert val(out, "year", 2021, "project_share_count") == 1
    assert val(out, "year", 2021, "churn") == pytest.approx(3 / 4)
    # projects ending in 2021: i1 continued, i3 not
    assert val(out, "year", 2021, "institutionalisation_rate") == pytest.approx(1 / 2)
    # no project ended in 2019: undefined, not zero
    assert val(out, "year", 2019, "institutionalisation_rate") is None
    # 2024: only i4 (open-ended but with a planned end in 2024)
    assert val(out, "year", 2024, "n_interventions") == 1


def test_earliness_by_kommun(portfolio):
    p = portfolio
    out = earliness(p["interventions"], p["area_links"], by="kommun", as_of=AS_OF, groups=["2480"])
    # 0180: i1 [0-5], i2 [0-5, 6-15], i3 [16-19], i4 [prenatal]
    assert val(out, "kommun", "0180", "life_stage_share[prenatal]") == pytest.approx(1 / 4)
    assert val(out, "kommun", "0180", "life_stage_share[0-5]") == pytest.approx(2 / 4)
    assert val(out, "kommun", "0180", "life_stage_share[6-15]") == pytest.approx(1 / 4)
    assert val(out, "kommun", "0180", "life_stage_share[65+]") == 0
    assert val(out, "kommun", "0180", "early_share") == pytest.approx(3 / 4)  # i1, i2, i4
    # universal i1, i2 + selective i4 over indicated i3
    assert val(out, "kommun", "0180", "upstream_ratio") == pytest.approx(3 / 1)
    # running on as_of: i2 (0-5, 6-15) and i4 (prenatal) -> 3 of 6 bands uncovered
    assert val(out, "kommun", "0180", "life_course_gaps") == 3
    # 1480: two reactive 20-64 interventions
    assert val(out, "kommun", "1480", "life_stage_share[20-64]") == 1
    assert val(out, "kommun", "1480", "early_share") == 0
    assert val(out, "kommun", "1480", "upstream_ratio") == 0  # 0 / 2
    assert val(out, "kommun", "1480", "life_course_gaps") == 5  # only 20-64 (i6) covered
    # 2480: nothing at all -> shares null, all six bands uncovered
    assert val(out, "kommun", "2480", "early_share") is None
    assert val(out, "kommun", "2480", "life_stage_share[0-5]") is None
    assert val(out, "kommun", "2480", "upstream_ratio") is None
    assert val(out, "kommun", "2480", "life_course_gaps") == 6
    assert out.filter(pl.col("kommun") == "0180")["metric"].to_list() == list(METRICS["earliness"])


def test_earliness_by_year_and_area_type(portfolio):
    p = portfolio
    by_year = earliness(p["interventions"], p["area_links"], by="year", as_of=AS_OF)
    # 2024: only i4 (selective) -> no indicated/reactive work: ratio undefined
    assert val(by_year, "year", 2024, "upstream_ratio") is None
    assert val(by_year, "year", 2024, "life_course_gaps") == 5  # prenatal only
    by_type = earliness(p["interventions"], p["area_links"], by="area_type", as_of=AS_OF)
    # type 4 (A2): i3 indicated, i4 selective
    assert val(by_type, "area_type", 4, "upstream_ratio") == pytest.approx(1.0)
    assert val(by_type, "area_type", 4, "early_share") == pytest.approx(1 / 2)  # i4


def test_collaboration_by_kommun(portfolio):
    p = portfolio
    out = collaboration(
        p["interventions"], p["participations"], p["area_links"], by="kommun", as_of=AS_OF,
        groups=["2480"],
    )  # fmt: skip
    # 0180 sectors per intervention: i1 2, i2 1 (two municipalities), i3 2, i4 3
    assert val(out, "kommun", "0180", "share_2_or_more_sectors") == pytest.approx(3 / 4)
    assert val(out, "kommun", "0180", "share_3_or_more_sectors") == pytest.approx(1 / 4)
    # nodes o1..o4; edges o1o3, o1o2, o2o4, o1o4, o3o4 -> density 2*5 / (4*3)
    assert val(out, "kommun", "0180", "network_organisations") == 4
    assert val(out, "kommun", "0180", "network_density") == pytest.approx(10 / 12)
    assert val(out, "kommun", "0180", "network_components") == 1
    assert val(out, "kommun", "0180", "network_isolates") == 0
    # only o2-o3 is not adjacent; its two shortest paths go via o1 and via o4, each gets 1/2,
    # normalised by (n-1)(n-2)/2 = 3 -> 1/6; the tie goes to the smaller id, o1
    assert val(out, "kommun", "0180", "top_broker_betweenness") == pytest.approx(1 / 6)
    assert label(out, "kommun", "0180", "top_broker_betweenness") == "o1"
    # o1o2 is the one within-sector edge (municipality); 4 external -> (4 - 1) / 5
    assert val(out, "kommun", "0180", "ei_index") == pytest.approx(3 / 5)
    # cell A1 × 0-5 × health has o1, o3 (i1) and o1, o2 (i2); o2 and o3 never work together
    assert val(out, "kommun", "0180", "uncoordinated_overlaps") == 1

    # 1480: o5 alone in i5 and i6
    assert val(out, "kommun", "1480", "share_2_or_more_sectors") == 0
    assert val(out, "kommun", "1480", "network_density") is None  # one node
    assert val(out, "kommun", "1480", "network_components") == 1
    assert val(out, "kommun", "1480", "network_isolates") == 1
    assert val(out, "kommun", "1480", "top_broker_betweenness") == 0
    assert label(out, "kommun", "1480", "top_broker_betweenness") is None
    assert val(out, "kommun", "1480", "ei_index") is None  # no ties
    assert val(out, "kommun", "1480", "uncoordinated_overlaps") == 0

    # 2480: no interventions
    assert val(out, "kommun", "2480", "share_2_or_more_sectors") is None
    assert val(out, "kommun", "2480", "network_density") is None
    assert val(out, "kommun", "2480", "network_isolates") is None
    assert val(out, "kommun", "2480", "uncoordinated_overlaps") == 0


def test_collaboration_by_year_uses_active_interventions(portfolio):
    p = portfolio
    out = collaboration(
        p["interventions"], p["participations"], p["area_links"], by="year", as_of=AS_OF
    )
    # 2021: i1 {o1, o3} and i3 {o2, o4}: two separate edges, both cross-sector
    assert val(out, "year", 2021, "network_components") == 2
    assert val(out, "year", 2021, "network_density") == pytest.approx(2 * 2 / (4 * 3))
    assert val(out, "year", 2021, "ei_index") == 1
    # 2021 cells do not overlap (A1 0-5 health vs A1/A2 16-19 crime)
    assert val(out, "year", 2021, "uncoordinated_overlaps") == 0


def test_need_coverage(portfolio):
    p = portfolio
    args = (p["interventions"], p["area_links"], p["population"])
    out = need_coverage(*args, by="kommun", as_of=AS_OF)
    # links per area: A1 3 (i1, i2, i3), A2 2 (i3, i4), B1 2 (i5, i6), B2 0
    # 0180: I = 5, P = 4000, high-need A1: 3 / 1000 -> (3/1000) / (5/4000) = 2.4
    assert val(out, "kommun", "0180", "population") == 4000
    assert val(out, "kommun", "0180", "interventions_per_1000") == pytest.approx(1.25)
    assert val(out, "kommun", "0180", "targeting_ratio") == pytest.approx(2.4)
    assert val(out, "kommun", "0180", "unserved_high_need_areas") == 0
    # 1480: all its population is high-need -> ratio 1; B2 unserved
    assert val(out, "kommun", "1480", "targeting_ratio") == pytest.approx(1.0)
    assert val(out, "kommun", "1480", "high_need_areas") == 2
    assert val(out, "kommun", "1480", "unserved_high_need_areas") == 1

    by_type = need_coverage(*args, by="area_type", as_of=AS_OF, groups=[3])
    # all areas: 7 links over 6500; type 1 (A1 + B2): 3 over 1500 -> (3/1500) / (7/6500)
    assert val(by_type, "area_type", 1, "targeting_ratio") == pytest.approx(13 / 7)
    assert val(by_type, "area_type", 2, "targeting_ratio") == pytest.approx(13 / 14)
    assert val(by_type, "area_type", 4, "targeting_ratio") == pytest.approx(13 / 21)
    assert val(by_type, "area_type", 3, "targeting_ratio") is None  # no such area

    by_year = need_coverage(*args, by="year", as_of=AS_OF)
    # 2021: i1 (A1), i3 (A1, A2): I = 3 over 6500; high-need A1 2 over 1000 + 2000 + 500
    assert val(by_year, "year", 2021, "targeting_ratio") == pytest.approx(26 / 21)
    assert val(by_year, "year", 2021, "unserved_high_need_areas") == 2  # B1, B2

    listed = unserved_areas(*args, by="kommun", as_of=AS_OF)
    assert listed.rows() == [("1480", "B2", 1, 500.0)]


def empty_frames() -> dict[str, pl.DataFrame]:
    return {
        "interventions": pl.DataFrame(schema=INTERVENTIONS_SCHEMA),
        "participations": pl.DataFrame(schema=PARTICIPATIONS_SCHEMA),
        "area_links": pl.DataFrame(schema=AREA_LINKS_SCHEMA),
        "successions": pl.DataFrame(schema=SUCCESSIONS_SCHEMA),
        "population": pl.DataFrame(schema=POPULATION_SCHEMA),
    }


@pytest.mark.parametrize("by", ["kommun", "area_type", "year"])
def test_empty_portfolio_gives_empty_frames(by):
    e = empty_frames()
    out = diagnose(
        e["interventions"], e["participations"], e["area_links"], e["successions"],
        e["population"], by=by, as_of=AS_OF,
    )  # fmt: skip
    assert out.is_empty()
    assert out.columns == [by, "family", "metric", "value", "label"]


def test_empty_portfolio_with_groups_gives_nulls():
    e = empty_frames()
    out = collaboration(
        e["interventions"], e["participations"], e["area_links"], by="kommun", as_of=AS_OF,
        groups=["0180"],
    )  # fmt: skip
    assert out["metric"].to_list() == list(METRICS["collaboration"])
    # everything undefined except the overlap count, which is a true 0
    assert out["value"].null_count() == len(METRICS["collaboration"]) - 1


def test_diagnose_covers_every_family(portfolio):
    p = portfolio
    out = diagnose(
        p["interventions"], p["participations"], p["area_links"], p["successions"],
        p["population"], by="kommun", as_of=AS_OF,
    )  # fmt: skip
    for family, metrics in METRICS.items():
        got = out.filter((pl.col("kommun") == "0180") & (pl.col("family") == family))
        assert got["metric"].to_list() == list(metrics)


def test_bad_input_raises():
    e = empty_frames()
    with pytest.raises(DiagnosticsInputError, match="by must be"):
        earliness(e["interventions"], e["area_links"], by="region")
    with pytest.raises(DiagnosticsInputError, match="form"):
        earliness(e["interventions"].drop("form"), e["area_links"], by="year")
