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

Columns added for the later diagnostics (they change none of the figures above):

id  settings                          shared  people reached per area link   share of effort
i1  child_health_centre               yes     A1 40                          -
i2  preschool, social_services        no      A1 60                          -
i3  upper_secondary                   yes     A1 10, A2 30                   A1 0.8, A2 0.2
i4  child_health_centre               no      A2 -                           -
i5  labour_market                     -       B1 100                         -
i6  labour_market, social_services    yes     B1 50                          -

Fundings: f1 i1 targeted_state_grant 1000 2020-01..2021-12 (24 months); f2 i3 eu 500
2021-01..2021-06 (6); f3 i4 core_budget 1200 2022-01..2024-12 (36); f4 i4 foundation 800
2022-01..2022-12 (12); f5 i5 arvsfonden 1500, no dates (i5's own 2019-01..2020-12: 24).
Socioeconomic index (higher = more deprived): A1 2.5, A2 -1.0, B1 1.5, B2 3.0.
Area types by year: A1 3 in 2018, 2 in 2019, 1 from 2020; A2 4, except 2 in 2022;
B1 2 from 2018; B2 3 until 2020, 1 from 2021.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bryta.compute.diagnostics import (
    AREA_LINKS_SCHEMA,
    AREA_TYPES_SCHEMA,
    FUNDINGS_SCHEMA,
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
    ).with_columns(
        settings=pl.Series(
            [["child_health_centre"], ["preschool", "social_services"], ["upper_secondary"],
             ["child_health_centre"], ["labour_market"], ["labour_market", "social_services"]]
        ),
        shared_indicator=pl.Series([True, False, True, False, None, True]),
    )  # fmt: skip
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
    # intervention, area, people reached, share of effort
    linked = [("i1", "A1", 40.0, None), ("i2", "A1", 60.0, None), ("i3", "A1", 10.0, 0.8),
              ("i3", "A2", 30.0, 0.2), ("i4", "A2", None, None), ("i5", "B1", 100.0, None),
              ("i6", "B1", 50.0, None)]  # fmt: skip
    area_links = pl.DataFrame(
        [(i, a, *area[a], n, w) for i, a, n, w in linked], schema=AREA_LINKS_SCHEMA, orient="row"
    )
    population = pl.DataFrame(
        [("A1", 1000.0, 1, "0180", 2.5), ("A2", 3000.0, 4, "0180", -1.0),
         ("B1", 2000.0, 2, "1480", 1.5), ("B2", 500.0, 1, "1480", 3.0)],
        schema=POPULATION_SCHEMA,
        orient="row",
    )  # fmt: skip
    fundings = pl.DataFrame(
        [("i1", "o9", "targeted_state_grant", 1000.0, D(2020, 1, 1), D(2021, 12, 31)),
         ("i3", "o9", "eu", 500.0, D(2021, 1, 1), D(2021, 6, 30)),
         ("i4", "o1", "core_budget", 1200.0, D(2022, 1, 1), D(2024, 12, 31)),
         ("i4", "o8", "foundation", 800.0, D(2022, 1, 1), D(2022, 12, 31)),
         ("i5", "o7", "arvsfonden", 1500.0, None, None)],
        schema=FUNDINGS_SCHEMA,
        orient="row",
    )  # fmt: skip
    types = {"A1": {2018: 3, 2019: 2}, "A2": {2022: 2}, "B1": {}, "B2": {2018: 3, 2019: 3, 2020: 3}}
    usual = {"A1": 1, "A2": 4, "B1": 2, "B2": 1}
    area_types = pl.DataFrame(
        [(a, y, types[a].get(y, usual[a]), area[a][0]) for a in area for y in range(2018, 2024)],
        schema=AREA_TYPES_SCHEMA,
        orient="row",
    )
    successions = pl.DataFrame({"from_id": ["i1", "i5"], "to_id": ["i2", "i6"]})
    return {
        "interventions": interventions,
        "participations": participations,
        "area_links": area_links,
        "successions": successions,
        "population": population,
        "fundings": fundings,
        "area_types": area_types,
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


# --- the diagnostics added from registry.md: funding, survival, continuity, mixes, lag ---


def test_funding_shares_and_coverage_continuity(portfolio):
    p = portfolio
    args = (p["interventions"], p["area_links"], p["successions"])
    out = short_termism(*args, by="kommun", as_of=AS_OF, fundings=p["fundings"], groups=["2480"])
    # 0180 funding rows f1 1000 (24 months), f2 500 (6), f3 1200 (36), f4 800 (12)
    # >= 24 months: f1 + f3 = 2200 of 3500; not core budget: f1 + f2 + f4 = 2300 of 3500
    assert val(out, "kommun", "0180", "share_sek_24_months_or_more") == pytest.approx(22 / 35)
    assert val(out, "kommun", "0180", "temporary_funding_share_sek") == pytest.approx(23 / 35)
    # 1480: f5 has no dates, so it runs over i5's 24 months; Arvsfonden is temporary
    assert val(out, "kommun", "1480", "share_sek_24_months_or_more") == 1
    assert val(out, "kommun", "1480", "temporary_funding_share_sek") == 1
    assert val(out, "kommun", "2480", "share_sek_24_months_or_more") is None
    # covered (area, domain, year) cells with a next year that is observed (y <= 2022):
    # A1 health 2020, 2021, 2022 all covered again; A1 crime 2021 and A2 crime 2021 not;
    # A2 health 2022 -> 2023 yes (2023 -> 2024 lies after as_of) => 4 of 6
    assert val(out, "kommun", "0180", "coverage_continuity") == pytest.approx(4 / 6)
    # B1 employment 2019 -> 2020 yes, 2020 -> 2021 no, 2022 -> 2023 yes
    assert val(out, "kommun", "1480", "coverage_continuity") == pytest.approx(2 / 3)
    assert val(out, "kommun", "2480", "coverage_continuity") is None

    by_year = short_termism(*args, by="year", as_of=AS_OF, fundings=p["fundings"])
    # 2021: i1 and i3 active -> f1 (24 months) of f1 + f2; both temporary
    assert val(by_year, "year", 2021, "share_sek_24_months_or_more") == pytest.approx(2 / 3)
    assert val(by_year, "year", 2021, "temporary_funding_share_sek") == 1
    # 2024: only i4 -> f3 1200 of 2000 is >= 24 months; f4's 800 is a foundation grant
    assert val(by_year, "year", 2024, "share_sek_24_months_or_more") == pytest.approx(3 / 5)
    assert val(by_year, "year", 2024, "temporary_funding_share_sek") == pytest.approx(2 / 5)
    # 2020: A1 health -> 2021 yes, B1 employment -> 2021 no; 2021: A1 health yes, crimes no
    assert val(by_year, "year", 2020, "coverage_continuity") == pytest.approx(1 / 2)
    assert val(by_year, "year", 2021, "coverage_continuity") == pytest.approx(1 / 3)
    assert val(by_year, "year", 2023, "coverage_continuity") is None  # 2024 not observed yet

    # without a fundings frame the funding shares are unknown, not zero
    bare = short_termism(*args, by="kommun", as_of=AS_OF)
    assert val(bare, "kommun", "0180", "temporary_funding_share_sek") is None


def test_survival_of_the_fixture_projects(portfolio):
    p = portfolio
    out = short_termism(
        p["interventions"], p["area_links"], p["successions"], by="kommun", as_of=AS_OF
    )
    # 0180 projects i1 (ended after 24 months) and i3 (after 6): S(12) = 1 - 1/2, S(24) = 0
    assert val(out, "kommun", "0180", "survival[12]") == pytest.approx(1 / 2)
    assert val(out, "kommun", "0180", "survival[24]") == 0
    assert val(out, "kommun", "0180", "survival[48]") == 0  # all have ended: 0, not unknown
    assert val(out, "kommun", "1480", "survival[12]") == 1  # i5 ran 24 months
    by_year = short_termism(
        p["interventions"], p["area_links"], p["successions"], by="year", as_of=AS_OF
    )
    assert val(by_year, "year", 2021, "survival[12]") == 0  # cohort 2021: i3, 6 months
    assert val(by_year, "year", 2022, "survival[12]") is None  # no project started in 2022


@pytest.fixture
def projects() -> dict[str, pl.DataFrame]:
    """Projects with censoring, as_of 2023-12-31.

    kommun 0180: p1 2020-01..2020-06 ended (6 months), p2 2020-01..2021-06 ended (18),
    p3 from 2022-01 running (censored at 24; planned end 2024-12), p4 from 2023-01 running
    (censored at 12), p5 2019-01..2021-12 ended (36), p6 from 2023-07 running (censored at 6);
    p7 a permanent operation (not a project), p8 a project planned to start in 2024.
    kommun 1480: q1 from 2023-01 running (censored at 12), q2 2022-07..2022-12 ended (6).
    """
    rows = [
        ("p1", "project", D(2020, 1, 1), D(2020, 6, 30), None),
        ("p2", "project", D(2020, 1, 1), D(2021, 6, 30), None),
        ("p3", "project", D(2022, 1, 1), None, D(2024, 12, 31)),
        ("p4", "project", D(2023, 1, 1), None, None),
        ("p5", "project", D(2019, 1, 1), D(2021, 12, 31), None),
        ("p6", "project", D(2023, 7, 1), None, None),
        ("p7", "permanent_operation", D(2015, 1, 1), None, None),
        ("q1", "project", D(2023, 1, 1), None, None),
        ("q2", "project", D(2022, 7, 1), D(2022, 12, 31), None),
    ]
    interventions = pl.DataFrame(
        rows,
        schema={k: INTERVENTIONS_SCHEMA[k] for k in
                ["id", "form", "actual_start", "actual_end", "planned_end"]},
        orient="row",
    ).vstack(
        pl.DataFrame({"id": ["p8"], "form": ["project"], "actual_start": [None],
                      "actual_end": [None], "planned_end": [None]},
                     schema={k: INTERVENTIONS_SCHEMA[k] for k in
                             ["id", "form", "actual_start", "actual_end", "planned_end"]})
    ).with_columns(planned_start=pl.when(pl.col("id") == "p8").then(pl.lit(D(2024, 3, 1))),
                   age_bands=pl.lit([], dtype=pl.List(pl.String)),
                   outcome_domains=pl.lit([], dtype=pl.List(pl.String)),
                   prevention_level=pl.lit(None, dtype=pl.String),
                   amount_sek=pl.lit(None, dtype=pl.Float64))  # fmt: skip
    ids = interventions["id"].to_list()
    area_links = pl.DataFrame(
        {"intervention_id": ids, "area": ["K"] * len(ids),
         "kommun": ["1480" if i.startswith("q") else "0180" for i in ids]}
    )  # fmt: skip
    return {
        "interventions": interventions,
        "area_links": area_links,
        "successions": pl.DataFrame(schema=SUCCESSIONS_SCHEMA),
    }


def test_survival_is_kaplan_meier_with_censoring_at_as_of(projects):
    p = projects
    out = short_termism(
        p["interventions"], p["area_links"], p["successions"], by="kommun", as_of=AS_OF
    )
    # 0180, times 6 (p1 ends, p6 censored), 12 (p4 censored), 18 (p2 ends), 24 (p3 censored),
    # 36 (p5 ends). At 6 all six are at risk: S = 5/6. At 18 at risk p2, p3, p5: S = 5/6 * 2/3.
    # At 36 only p5 is at risk and ends: S = 0.
    assert val(out, "kommun", "0180", "survival[12]") == pytest.approx(5 / 6)
    assert val(out, "kommun", "0180", "survival[24]") == pytest.approx(5 / 9)
    assert val(out, "kommun", "0180", "survival[36]") == 0
    assert val(out, "kommun", "0180", "survival[48]") == 0
    # 1480: q2 ends at 6 with both at risk -> 1/2; q1 has been watched for exactly 12 months,
    # so S(12) is known; nobody has been watched for 24 months and S > 0: unknown
    assert val(out, "kommun", "1480", "survival[12]") == pytest.approx(1 / 2)
    assert val(out, "kommun", "1480", "survival[24]") is None


def test_life_stage_prevention_and_setting_mix(portfolio):
    p = portfolio
    out = earliness(p["interventions"], p["area_links"], by="kommun", as_of=AS_OF, groups=["2480"])
    # SEK of 0180: i1 1000 (0-5), i2 unknown, i3 500 (16-19), i4 2000 (prenatal): 3500 known
    assert val(out, "kommun", "0180", "life_stage_share_sek[prenatal]") == pytest.approx(4 / 7)
    assert val(out, "kommun", "0180", "life_stage_share_sek[0-5]") == pytest.approx(2 / 7)
    assert val(out, "kommun", "0180", "life_stage_share_sek[6-15]") == 0  # only i2, no amount
    assert val(out, "kommun", "0180", "life_stage_share_sek[16-19]") == pytest.approx(1 / 7)
    assert val(out, "kommun", "1480", "life_stage_share_sek[20-64]") == 1  # i5; i6 unknown
    # participants in 0180: i1 40, i2 60, i3 10 + 30, i4 unknown -> 140
    assert val(out, "kommun", "0180", "life_stage_share_participants[0-5]") == pytest.approx(
        100 / 140
    )
    assert val(out, "kommun", "0180", "life_stage_share_participants[6-15]") == pytest.approx(
        60 / 140
    )
    assert val(out, "kommun", "0180", "life_stage_share_participants[16-19]") == pytest.approx(
        40 / 140
    )
    assert val(out, "kommun", "0180", "life_stage_share_participants[prenatal]") == 0
    # prevention: i1, i2 universal, i4 selective, i3 indicated
    assert val(out, "kommun", "0180", "prevention_share[universal]") == pytest.approx(1 / 2)
    assert val(out, "kommun", "0180", "prevention_share[selective]") == pytest.approx(1 / 4)
    assert val(out, "kommun", "0180", "prevention_share[reactive]") == 0
    assert val(out, "kommun", "1480", "prevention_share[reactive]") == 1
    # settings: child health centre i1, i4; preschool + social services i2; upper sec. i3
    assert val(out, "kommun", "0180", "setting_share[child_health_centre]") == pytest.approx(1 / 2)
    assert val(out, "kommun", "0180", "setting_share[social_services]") == pytest.approx(1 / 4)
    assert val(out, "kommun", "0180", "setting_share[digital]") == 0
    assert val(out, "kommun", "1480", "setting_share[labour_market]") == 1
    assert val(out, "kommun", "1480", "setting_share[social_services]") == pytest.approx(1 / 2)
    assert val(out, "kommun", "2480", "setting_share[preschool]") is None
    assert val(out, "kommun", "2480", "life_stage_share_sek[0-5]") is None

    by_type = earliness(p["interventions"], p["area_links"], by="area_type", as_of=AS_OF)
    # type 1 is A1 only (B2 has no link): i1 40, i2 60, i3 10 reached there -> 110
    assert val(by_type, "area_type", 1, "life_stage_share_participants[16-19]") == pytest.approx(
        10 / 110
    )
    # type 4 is A2: i3 30 reached there, i4 unknown
    assert val(by_type, "area_type", 4, "life_stage_share_participants[16-19]") == 1

    # a frame with one ``setting`` per intervention instead of the ``settings`` list
    single = (
        p["interventions"]
        .drop("settings")
        .with_columns(setting=pl.col("id").replace_strict({"i1": "preschool"}, default=None))
    )
    one = earliness(single, p["area_links"], by="kommun", as_of=AS_OF)
    assert val(one, "kommun", "0180", "setting_share[preschool]") == pytest.approx(1 / 4)


def test_reaction_lag(portfolio):
    p = portfolio
    args = (p["interventions"], p["area_links"])
    out = earliness(*args, by="kommun", as_of=AS_OF, area_types=p["area_types"])
    # A1 type 2 in 2019, first early-years work (i1, 0-5) in 2020: lag 1
    # A2 type 2 in 2022, i4 (prenatal) running that year: lag 0
    assert val(out, "kommun", "0180", "reaction_lag_years") == pytest.approx(0.5)
    assert val(out, "kommun", "0180", "reaction_lag_censored") == 0
    # B1 (type 2 from 2018) and B2 (type 1 from 2021) never had early-years work: censored
    assert val(out, "kommun", "1480", "reaction_lag_years") is None
    assert val(out, "kommun", "1480", "reaction_lag_censored") == 2

    by_type = earliness(*args, by="area_type", as_of=AS_OF, area_types=p["area_types"])
    # type at entry: A1, A2, B1 type 2 (lags 1, 0, censored); B2 type 1 (censored)
    assert val(by_type, "area_type", 2, "reaction_lag_years") == pytest.approx(0.5)
    assert val(by_type, "area_type", 2, "reaction_lag_censored") == 1
    assert val(by_type, "area_type", 1, "reaction_lag_censored") == 1
    assert val(by_type, "area_type", 4, "reaction_lag_censored") == 0  # nobody entered

    by_year = earliness(*args, by="year", as_of=AS_OF, area_types=p["area_types"])
    # cohorts by entry year: 2018 B1 (censored), 2019 A1 (1), 2021 B2 (censored), 2022 A2 (0)
    assert val(by_year, "year", 2018, "reaction_lag_censored") == 1
    assert val(by_year, "year", 2019, "reaction_lag_years") == 1
    assert val(by_year, "year", 2022, "reaction_lag_years") == 0

    # without area types the lag is unknown
    bare = earliness(*args, by="kommun", as_of=AS_OF)
    assert val(bare, "kommun", "0180", "reaction_lag_censored") is None


def test_centralisation_diversity_and_shared_indicators(portfolio):
    p = portfolio
    args = (p["interventions"], p["participations"], p["area_links"])
    out = collaboration(*args, by="kommun", as_of=AS_OF)
    # degrees o1 3, o2 2, o3 2, o4 3: ((3-3) + (3-2) + (3-2) + (3-3)) / ((4-1)(4-2)) = 2/6
    assert val(out, "kommun", "0180", "network_centralisation") == pytest.approx(1 / 3)
    assert val(out, "kommun", "1480", "network_centralisation") is None  # one organisation
    # A1 and A2 each see o1..o4 from three sectors
    assert val(out, "kommun", "0180", "organisations_per_area") == 4
    assert val(out, "kommun", "0180", "sectors_per_area") == 3
    assert val(out, "kommun", "1480", "organisations_per_area") == 1
    # shared indicator: i1, i3 of i1..i4; in 1480 i5 is unrecorded and i6 has one
    assert val(out, "kommun", "0180", "shared_indicator_share") == pytest.approx(1 / 2)
    assert val(out, "kommun", "1480", "shared_indicator_share") == 1

    by_year = collaboration(*args, by="year", as_of=AS_OF)
    # 2021: two separate edges o1-o3 and o2-o4, every degree 1 -> 0
    assert val(by_year, "year", 2021, "network_centralisation") == 0
    # 2021: A1 has i1 {o1, o3} and i3 {o2, o4}: 4 organisations, 3 sectors;
    # A2 has i3 only: 2 organisations, 2 sectors -> means 3 and 2.5
    assert val(by_year, "year", 2021, "organisations_per_area") == 3
    assert val(by_year, "year", 2021, "sectors_per_area") == pytest.approx(2.5)
    assert val(by_year, "year", 2021, "shared_indicator_share") == 1


def test_need_coverage_by_sek_early_years_and_concentration(portfolio):
    p = portfolio
    args = (p["interventions"], p["area_links"], p["population"])
    out = need_coverage(*args, by="kommun", as_of=AS_OF)
    # SEK per area: A1 = i1 1000 + i3 500 * 0.8 = 1400; A2 = i3 500 * 0.2 + i4 2000 = 2100;
    # 0180: (1400 / 1000) / (3500 / 4000) = 1.6
    assert val(out, "kommun", "0180", "targeting_ratio_sek") == pytest.approx(1.6)
    assert val(out, "kommun", "1480", "targeting_ratio_sek") == pytest.approx(1.0)  # all high-need
    # type-1 areas: A1 has i2 (0-5) running on as_of; B2 nothing
    assert val(out, "kommun", "0180", "early_years_coverage_type1") == 1
    assert val(out, "kommun", "1480", "early_years_coverage_type1") == 0
    # 0180 ranked least to most deprived: A2 (-1.0) R = 1500/4000, A1 (2.5) R = 3500/4000;
    # SEK shares 2100/3500, 1400/3500 -> 2 (0.6 * 0.375 + 0.4 * 0.875) - 1 = 0.15
    assert val(out, "kommun", "0180", "concentration_index") == pytest.approx(0.15)
    assert label(out, "kommun", "0180", "concentration_index") == "sek"
    # 1480: B1 (1.5) R = 1000/2500 holds all the SEK, B2 (3.0) none -> 2 * 0.4 - 1 = -0.2
    assert val(out, "kommun", "1480", "concentration_index") == pytest.approx(-0.2)

    by_type = need_coverage(*args, by="area_type", as_of=AS_OF)
    # all areas: 5000 SEK over 6500; type 1: 1400 over 1500 -> (14/15) / (10/13)
    assert val(by_type, "area_type", 1, "targeting_ratio_sek") == pytest.approx(91 / 75)
    assert val(by_type, "area_type", 2, "targeting_ratio_sek") == pytest.approx(39 / 40)
    assert val(by_type, "area_type", 4, "targeting_ratio_sek") == pytest.approx(91 / 100)
    assert val(by_type, "area_type", 1, "early_years_coverage_type1") == pytest.approx(1 / 2)
    assert val(by_type, "area_type", 2, "early_years_coverage_type1") is None

    by_year = need_coverage(*args, by="year", as_of=AS_OF)
    # 2021: i1 (0-5, A1) active -> A1 covered, B2 not
    assert val(by_year, "year", 2021, "early_years_coverage_type1") == pytest.approx(1 / 2)
    assert val(by_year, "year", 2019, "early_years_coverage_type1") == 0
    # 2021 ranks over all four areas (P = 6500): A2 1500/6500, B1 4000/6500, A1 5500/6500,
    # B2 6250/6500; SEK of i1 and i3: A1 1400, A2 100 ->
    # 2 (1400 * 11/13 + 100 * 3/13) / 1500 - 1 = 119/195
    assert val(by_year, "year", 2021, "concentration_index") == pytest.approx(119 / 195)

    # no amount known anywhere: effort is the number of interventions, A1 3 and A2 2
    # -> 2 (3/5 * 0.875 + 2/5 * 0.375) - 1 = 0.35
    counted = need_coverage(
        p["interventions"].with_columns(amount_sek=None), p["area_links"], p["population"],
        by="kommun", as_of=AS_OF,
    )  # fmt: skip
    assert val(counted, "kommun", "0180", "concentration_index") == pytest.approx(0.35)
    assert label(counted, "kommun", "0180", "concentration_index") == "interventions"
    assert val(counted, "kommun", "0180", "targeting_ratio_sek") is None

    unranked = need_coverage(
        p["interventions"], p["area_links"], p["population"].drop("index"), by="kommun",
        as_of=AS_OF,
    )  # fmt: skip
    assert val(unranked, "kommun", "0180", "concentration_index") is None
    assert label(unranked, "kommun", "0180", "concentration_index") is None


def _one_area_each(pop: list[int], index: list[float], sek: list[float]) -> pl.DataFrame:
    """need_coverage of one kommun whose area k has one intervention with sek[k] SEK."""
    n = len(pop)
    ids = [f"i{k}" for k in range(n)]
    columns = {"id": ids, "form": ["project"] * n, "planned_start": [D(2020, 1, 1)] * n,
               "planned_end": [None] * n, "actual_start": [None] * n, "actual_end": [None] * n,
               "age_bands": [[]] * n, "prevention_level": [None] * n,
               "outcome_domains": [[]] * n, "amount_sek": sek}  # fmt: skip
    interventions = pl.DataFrame(columns, schema={k: INTERVENTIONS_SCHEMA[k] for k in columns})
    areas = [f"A{k}" for k in range(n)]
    links = pl.DataFrame({"intervention_id": ids, "area": areas, "kommun": ["0180"] * n})
    population = pl.DataFrame(
        {"area": areas, "population": pop, "area_type": [3] * n, "kommun": ["0180"] * n,
         "index": index},
        schema_overrides={"population": pl.Float64, "index": pl.Float64},
    )  # fmt: skip
    out = need_coverage(interventions, links, population, by="kommun", as_of=AS_OF)
    return val(out, "kommun", "0180", "concentration_index")


areas_st = st.integers(2, 8).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 10_000), min_size=n, max_size=n),
        st.lists(st.integers(-3, 3).map(float), min_size=n, max_size=n),  # ties likely
        st.lists(st.integers(0, 1_000).map(float), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(areas_st, st.integers(1, 50))
def test_concentration_index_is_zero_for_effort_proportional_to_population(areas, per_head):
    pop, index, _ = areas
    ci = _one_area_each(pop, index, [float(per_head * p) for p in pop])
    assert ci == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(areas_st)
def test_concentration_index_changes_sign_when_the_ranking_is_reversed(areas):
    pop, index, sek = areas
    if sum(sek) == 0:
        sek[0] = 1.0
    ci = _one_area_each(pop, index, sek)
    reversed_ci = _one_area_each(pop, [-x for x in index], sek)
    assert -1 <= ci <= 1
    assert reversed_ci == pytest.approx(-ci, abs=1e-12)


def test_diagnose_passes_fundings_and_area_types(portfolio):
    p = portfolio
    out = diagnose(
        p["interventions"], p["participations"], p["area_links"], p["successions"],
        p["population"], by="kommun", as_of=AS_OF, fundings=p["fundings"],
        area_types=p["area_types"],
    )  # fmt: skip
    assert val(out, "kommun", "0180", "temporary_funding_share_sek") == pytest.approx(23 / 35)
    assert val(out, "kommun", "1480", "reaction_lag_censored") == 2


def test_portfolio_frames_from_the_registry(tmp_path):
    from bryta.registry import db
    from bryta.registry.models import (
        AreaLink,
        Funding,
        Intervention,
        Organisation,
        Participation,
    )
    from bryta.registry.portfolio import portfolio_frames
    from bryta.registry.service import SYSTEM, RegistryService
    from bryta.vocabulary import (
        AreaLevel,
        Form,
        Instrument,
        OrgLevel,
        Role,
        Sector,
        Status,
    )

    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    db.init(url)
    engine = db.connect(url)
    try:
        with db.session(engine) as s:
            kommun = Organisation(name="K", sector=Sector.MUNICIPALITY, level=OrgLevel.LOCAL)
            work = Intervention(
                title="Familjecentral", form=Form.PROJECT, status=Status.ACTIVE,
                actual_start=D(2022, 1, 1), age_bands=["0-5"],
                settings=["child_health_centre", "preschool"],
            )  # fmt: skip
            s.add_all([kommun, work])
            s.flush()
            s.add_all(
                [
                    Participation(organisation=kommun, intervention=work, role=Role.ACCOUNTABLE),
                    Funding(intervention=work, funder=kommun, instrument=Instrument.CORE_BUDGET,
                            amount_sek=300, start_date=D(2022, 1, 1), end_date=D(2023, 12, 31)),
                    Funding(intervention=work, funder=kommun, instrument=Instrument.EU,
                            amount_sek=100),
                    AreaLink(intervention=work, level=AreaLevel.REGSO, area_code="0114R001",
                             reach_participants=25, share_of_effort=0.5),
                ]
            )  # fmt: skip
        frames = portfolio_frames(RegistryService(engine, SYSTEM).list_interventions(limit=None))
    finally:
        engine.dispose()
    assert frames["interventions"]["amount_sek"].to_list() == [400.0]
    assert frames["interventions"]["settings"].to_list() == [["child_health_centre", "preschool"]]
    fundings = frames["fundings"].sort("amount_sek")
    assert fundings.schema == pl.Schema(FUNDINGS_SCHEMA)
    assert fundings.select("instrument", "amount_sek", "start").rows() == [
        ("eu", 100.0, None),
        ("core_budget", 300.0, D(2022, 1, 1)),
    ]
    assert frames["area_links"].select("participants", "share_of_effort").rows() == [(25.0, 0.5)]
    out = short_termism(
        frames["interventions"], frames["area_links"], frames["successions"], by="kommun",
        as_of=AS_OF, fundings=frames["fundings"],
    )  # fmt: skip
    # the EU 100 of 400 is temporary; core 300 runs 24 months, the EU money (no dates) runs
    # over the intervention's 2022-01..as_of = 24 months too
    assert val(out, "kommun", "0114", "temporary_funding_share_sek") == pytest.approx(1 / 4)
    assert val(out, "kommun", "0114", "share_sek_24_months_or_more") == 1


@pytest.mark.parametrize("family", list(METRICS))
def test_every_metric_is_documented(family):
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for metric in METRICS[family]:
        name = metric.split("[")[0]
        assert f"`{name}`" in doc or f"`{name}[" in doc, metric


def test_the_diagnostics_read_the_one_vocabulary():
    from bryta.compute.diagnostics import _portfolio as P
    from bryta.vocabulary import AgeBand, Form, PreventionLevel, Setting

    assert tuple(AgeBand) == P.AGE_BANDS and tuple(Form) == P.FORMS
    assert tuple(PreventionLevel) == P.PREVENTION_LEVELS and tuple(Setting) == P.SETTINGS
