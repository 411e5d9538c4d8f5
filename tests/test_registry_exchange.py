"""Registry exchange: CSV/JSON round trips, one error for every problem, programmes.csv, demo."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from datetime import date
from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from bryta.errors import ImportFormatError
from bryta.geography.codes import validate_codes
from bryta.registry import db
from bryta.registry.exchange import (
    CSV_COLUMNS,
    STATE_AGENCIES,
    load_into,
    read_programmes_csv,
    read_registry_csv,
    read_registry_json,
    synthetic_portfolio,
    write_registry_csv,
    write_registry_json,
)
from bryta.registry.models import Intervention, Organisation, Succession
from bryta.registry.records import (
    AreaLinkRecord,
    FundingRecord,
    IndicatorLinkRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
from bryta.vocabulary import (
    AgeBand,
    AreaLevel,
    EvaluationType,
    Form,
    Instrument,
    OrgLevel,
    OutcomeDomain,
    PreventionLevel,
    Role,
    Sector,
    Setting,
    Status,
    SuccessionKind,
)

SHARED_PROGRAMMES = Path("/work/shared/data/programmes/programmes.csv")


def bundled_programmes() -> str:
    return files("bryta.data").joinpath("programmes", "programmes.csv").read_text("utf-8")


@pytest.fixture
def tricky_records() -> list[InterventionRecord]:
    """Unicode, separators inside names, empty lists, None dates, every nested kind."""
    return make_tricky_records()


def make_tricky_records() -> list[InterventionRecord]:
    return [
        InterventionRecord(
            key="GBG-1",
            title="Läxhjälp i Hjällbo; steg 2 | vår",
            description='Två rader\nmed "citat", komma och \\ bakstreck',
            form=Form.PROJECT,
            status=Status.ENDED,
            planned_start=date(2021, 1, 1),
            planned_end=date(2021, 12, 31),
            actual_start=date(2021, 2, 1),
            actual_end=None,
            age_bands=[AgeBand.AGE_6_15, AgeBand.AGE_16_19],
            group_tags=["nyanlända", "a;b|c"],
            prevention_level=PreventionLevel.SELECTIVE,
            settings=[Setting.COMPULSORY_SCHOOL],
            outcome_domains=[OutcomeDomain.EDUCATION],
            evaluation_type=EvaluationType.PROCESS,
            evaluation_report_url="https://example.org/rapport?a=1;b=2",
            evidence_references=["SOU 1997:118", "https://example.org/x|y"],
            reported_by="Göteborgs Stad",
            published=True,
            participations=[
                ParticipationRecord(
                    organisation="Göteborgs Stad",
                    sector=Sector.MUNICIPALITY,
                    role=Role.ACCOUNTABLE,
                    level=OrgLevel.LOCAL,
                    start_date=date(2021, 1, 1),
                ),
                ParticipationRecord(
                    organisation="Föreningen Ö|st; Väst",
                    sector=Sector.CIVIL_SOCIETY,
                    role=Role.IMPLEMENTING,
                    end_date=date(2021, 6, 30),
                ),
            ],
            fundings=[
                FundingRecord(
                    funder="Allmänna arvsfonden",
                    funder_sector=Sector.STATE_AGENCY,
                    instrument=Instrument.ARVSFONDEN,
                    amount_sek=1_250_000,
                    start_date=date(2021, 1, 1),
                    end_date=date(2022, 12, 31),
                )
            ],
            area_links=[
                AreaLinkRecord(level=AreaLevel.KOMMUN, area_code="1480"),
                AreaLinkRecord(
                    level=AreaLevel.REGSO,
                    area_code="1480R011",
                    share_of_effort=0.75,
                    reach_participants=120,
                    reach_share=0.125,
                ),
                AreaLinkRecord(level=AreaLevel.DESO, area_code="1480C1480", share_of_effort=0.25),
            ],
            indicator_links=[
                IndicatorLinkRecord(
                    indicator_id="N15419",
                    start_date=date(2021, 1, 1),
                    end_date=date(2021, 12, 31),
                    baseline=70.0,
                    target=80.0,
                    actual=74.5,
                ),
                IndicatorLinkRecord(indicator_id="employment_rate_20_64", target=0.125),
            ],
            successions=[
                SuccessionRecord(
                    to="GBG-2", kind=SuccessionKind.INSTITUTIONALISED, succeeded_on=date(2022, 1, 1)
                )
            ],
        ),
        InterventionRecord(
            key="GBG-2", title="Läxhjälp (ordinarie)", form=Form.POLICY, status=Status.ACTIVE
        ),
    ]


# --------------------------------------------------------------------------------------------
# Round trips


def test_csv_round_trip_is_lossless(tmp_path, tricky_records):
    path = tmp_path / "registry.csv"
    write_registry_csv(tricky_records, path)
    assert read_registry_csv(path) == tricky_records
    with path.open(encoding="utf-8", newline="") as handle:
        assert tuple(next(csv.reader(handle))) == CSV_COLUMNS


def test_json_round_trip_is_lossless(tmp_path, tricky_records):
    path = tmp_path / "registry.json"
    write_registry_json(tricky_records, path)
    assert read_registry_json(path) == tricky_records
    assert "Göteborgs Stad" in path.read_text(encoding="utf-8")  # not \u-escaped


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_of_programmes_and_portfolio(tmp_path, fmt):
    records = read_programmes_csv() + synthetic_portfolio(60, seed=3)
    write, read = {
        "csv": (write_registry_csv, read_registry_csv),
        "json": (write_registry_json, read_registry_json),
    }[fmt]
    write(records, tmp_path / f"all.{fmt}")
    assert read(tmp_path / f"all.{fmt}") == records


def test_empty_file_round_trips(tmp_path):
    write_registry_csv([], tmp_path / "e.csv")
    write_registry_json([], tmp_path / "e.json")
    assert read_registry_csv(tmp_path / "e.csv") == []
    assert read_registry_json(tmp_path / "e.json") == []


# --------------------------------------------------------------------------------------------
# Malformed files: one error, every problem, nothing returned


def _problems(error: pytest.ExceptionInfo) -> list[str]:
    return str(error.value).splitlines()[1:]


def test_malformed_csv_lists_every_problem(tmp_path, tricky_records):
    path = tmp_path / "bad.csv"
    write_registry_csv(tricky_records, path)
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    rows[0].update(
        form="projekt",
        planned_start="2021-13-01",
        area_links="regso|9999X001",
        participations="Göteborgs Stad|municipality",
    )
    rows[1].update(title="", key="GBG-1")
    rows.append(dict(rows[1], key="GBG-3", title="ok", age_bands="0-5;teen"))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ImportFormatError) as error:
        read_registry_csv(path)
    # Records, not file lines: the first record spans lines 2-3 (a two-line description).
    assert _problems(error) == [
        "bad.csv record 1, field form: 'projekt' is not one of project, permanent_operation, "
        "pilot, grant_programme, one_off, policy",
        "bad.csv record 1, field planned_start: '2021-13-01' is not a date YYYY-MM-DD",
        "bad.csv record 1, field participations[0].role: is required",
        "bad.csv record 1, field area_links[0].area_code: area code '9999X001' is not a regso code "
        r"(expected ^\d{4}R\d{3}$ or ^\d{4}R\d{3}_RegSO2025$)",
        "bad.csv record 2, field title: is required",
        "bad.csv record 3, field age_bands[1]: 'teen' is not one of prenatal, 0-5, 6-15, 16-19, "
        "20-64, 65+",
        "bad.csv record 2, field key: 'GBG-1' already used in record 1",
    ]
    assert str(error.value).startswith("bad.csv: 7 problems, nothing imported\n")


def test_problems_name_the_record_not_the_file_line(tmp_path):
    records = [
        InterventionRecord(
            key=f"K{i}",
            title=f"Insats {i}",
            description="Rad ett\nrad två\nrad tre",  # three physical lines per record
            form=Form.PROJECT,
            status=Status.ACTIVE,
        )
        for i in range(1, 121)
    ]
    path = tmp_path / "many.csv"
    write_registry_csv(records, path)
    text = path.read_text(encoding="utf-8").replace("\nK101,Insats 101,", "\nK101,,")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFormatError) as error:
        read_registry_csv(path)
    assert _problems(error) == ["many.csv record 101, field title: is required"]


def test_duplicate_key_in_csv(tmp_path, tricky_records):
    records = [tricky_records[1], tricky_records[1]]
    write_registry_csv(records, tmp_path / "dup.csv")
    with pytest.raises(ImportFormatError) as error:
        read_registry_csv(tmp_path / "dup.csv")
    assert _problems(error) == ["dup.csv record 2, field key: 'GBG-2' already used in record 1"]


def test_malformed_json_lists_every_problem(tmp_path, tricky_records):
    path = tmp_path / "bad.json"
    write_registry_json(tricky_records, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data[0]["age_bands"] = "6-15"  # a string, not a list
    data[0]["fundings"][0]["amount_sek"] = "1250000"  # a string, not a number
    data[0]["area_links"][1]["share_of_effort"] = 1.5
    data[0]["actual_end"] = "2021-02-30"
    del data[1]["status"]
    data.append(dict(data[1], status="active"))  # duplicate key GBG-2
    data.append(["not", "an", "object"])
    data.append(dict(data[1], key="X", form="projekt", status="active"))
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ImportFormatError) as error:
        read_registry_json(path)
    assert _problems(error) == [
        "bad.json record 1, field actual_end: '2021-02-30' is not a date YYYY-MM-DD",
        "bad.json record 1, field age_bands: expected a list, got str",
        "bad.json record 1, field fundings[0].amount_sek: '1250000' is not a whole number ≥ 0",
        "bad.json record 1, field area_links[1].share_of_effort: 1.5 is not a share between 0 "
        "and 1",
        "bad.json record 2, field status: is required",
        "bad.json record 4, field *: expected an object, got list",
        "bad.json record 5, field form: 'projekt' is not one of project, permanent_operation, "
        "pilot, grant_programme, one_off, policy",
        "bad.json record 3, field key: 'GBG-2' already used in record 2",
    ]


def test_json_that_is_not_a_list(tmp_path):
    (tmp_path / "obj.json").write_text('{"key": "A"}', encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"obj.json top level, field \*: expected a list"):
        read_registry_json(tmp_path / "obj.json")


# --------------------------------------------------------------------------------------------
# programmes.csv


@pytest.mark.parametrize(
    ("name", "sha256"),
    [
        ("programmes.csv", "252f8e3add3c39a9c197650b1d6ea117aff9977ff82434ce8d6ddc2544c5d197"),
        ("README.md", "ed87c8e469d47cf4f1171fda985898288d0019a318b2caa7a40bf89943f4fddf"),
    ],
)
def test_bundled_programmes_match_provenance(name, sha256):
    data = files("bryta.data").joinpath("programmes", name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256  # as in bryta/data/PROVENANCE.md


def test_bundled_programmes_are_the_shared_file():
    if not SHARED_PROGRAMMES.exists():
        pytest.skip("the shared data folder is not mounted")
    bundled = files("bryta.data").joinpath("programmes", "programmes.csv").read_bytes()
    assert bundled == SHARED_PROGRAMMES.read_bytes()


def test_programmes_keep_every_row_and_every_form():
    rows = list(csv.DictReader(bundled_programmes().splitlines()))
    records = read_programmes_csv()
    assert len(records) == len(rows) == 39
    assert [r.key for r in records] == [row["id"] for row in rows]
    source = Counter(row["form"] for row in rows)
    got = Counter(r.form for r in records)
    assert got[Form.POLICY] == source[""] == 3
    assert got[Form.GRANT_PROGRAMME] == source["grant_programme"] + source["agreement"]
    for form in ("project", "permanent_operation", "pilot"):
        assert got[Form(form)] == source[form]
    assert sum(got.values()) == sum(source.values())
    policy = {row["id"] for row in rows if row["form"] == ""}
    assert {r.key for r in records if r.form is Form.POLICY} == policy


def test_programmes_are_published_evidence_not_synthetic():
    rows = {row["id"]: row for row in csv.DictReader(bundled_programmes().splitlines())}
    for record in read_programmes_csv():
        row = rows[record.key]
        assert record.published and not record.synthetic
        assert record.title == row["name_sv"]
        assert record.evidence_references == row["source_urls"].split(";")
        assert record.participations[0].organisation == row["lead_organisation"]
        assert (record.status is Status.ENDED) == bool(row["actual_end"])
        if row["actual_start"]:
            assert record.actual_start.isoformat().startswith(row["actual_start"])
        codes = [a.area_code for a in record.area_links if a.level is AreaLevel.KOMMUN]
        assert len(codes) == len([m for m in row["municipalities"].split(";") if m])
    delmos = next(r for r in read_programmes_csv() if r.key == "SE-NAT-2018-DELMOS")
    assert (delmos.actual_start, delmos.actual_end) == (date(2018, 1, 1), date(2022, 12, 31))


def test_programmes_from_a_path_report_bad_rows(tmp_path):
    rows = list(csv.DictReader(bundled_programmes().splitlines()))
    rows[5]["form"] = "projekt"
    rows[6]["actual_start"] = "1999-1"
    path = tmp_path / "programmes.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ImportFormatError) as error:
        read_programmes_csv(path)
    assert _problems(error)[0].startswith("programmes.csv record 6, field form: 'projekt' is not")
    assert "programmes.csv record 7, field actual_start: '1999-1' is not YYYY or YYYY-MM" in str(
        error.value
    )


# --------------------------------------------------------------------------------------------
# Synthetic portfolio


def test_synthetic_portfolio_is_deterministic_and_marked():
    portfolio = synthetic_portfolio()
    assert portfolio == synthetic_portfolio(300, seed=0)
    assert portfolio != synthetic_portfolio(seed=1)
    assert len(portfolio) == 300
    assert all(r.synthetic and r.title.startswith("[synthetic]") for r in portfolio)
    assert len({r.key for r in portfolio}) == 300


def test_synthetic_portfolio_is_realistic():
    portfolio = synthetic_portfolio(400, seed=7)
    forms = Counter(r.form for r in portfolio)
    assert forms.most_common(1)[0][0] is Form.PROJECT
    codes = pl.Series("regso", [a.area_code for r in portfolio for a in r.area_links])
    validate_codes(codes, "regso")
    organisations = {p.organisation for r in portfolio for p in r.participations}
    assert organisations & set(STATE_AGENCIES)
    sectors = [{p.sector for p in r.participations} for r in portfolio]
    assert sum(len(s) >= 2 for s in sectors) > 40  # some cross-sector work
    assert sum(len(r.successions) for r in portfolio) > 5
    assert all(f.amount_sek > 0 for r in portfolio for f in r.fundings)
    for r in portfolio:
        for span in ((r.planned_start, r.planned_end), (r.actual_start, r.actual_end)):
            assert None in span or span[0] <= span[1]


# --------------------------------------------------------------------------------------------
# Seeding


def test_load_into_a_registry(tmp_path):
    engine = db.connect(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    db.init(engine)
    records = read_programmes_csv() + synthetic_portfolio(50)
    with db.session(engine) as session:
        rows = load_into(session, records)
        assert len(rows) == len(records)
    with db.session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Intervention)) == 89
        n_successions = sum(len(r.successions) for r in records)
        assert session.scalar(sa.select(sa.func.count()).select_from(Succession)) == n_successions
        names = session.scalars(sa.select(Organisation.name)).all()
        assert len(names) == len(set(names))  # organisations shared, not repeated
        policy = session.scalars(sa.select(Intervention).where(Intervention.form == Form.POLICY))
        assert len(policy.all()) >= 3
    engine.dispose()
