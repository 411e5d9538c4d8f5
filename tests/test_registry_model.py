"""The registry's data model: migrations, constraints, round trips — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bryta.errors import BrytaError
from bryta.registry import db
from bryta.registry.models import (
    AreaLink,
    Base,
    Funding,
    IndicatorLink,
    Intervention,
    Organisation,
    Participation,
    Succession,
    User,
)
from bryta.registry.validation import RecordError, RegistryError, check_area_code, check_record
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
    UserRole,
)


def _organisation(name: str, sector: Sector = Sector.MUNICIPALITY) -> Organisation:
    return Organisation(name=name, sector=sector, level=OrgLevel.LOCAL)


def _intervention(title: str = "Språkförskola", **fields) -> Intervention:
    fields = {"form": Form.PROJECT, "status": Status.ACTIVE, **fields}
    return Intervention(title=title, **fields)


def test_init_creates_all_tables(registry_url):
    db.init(registry_url)
    db.init(registry_url)  # at head already: nothing to do, no error
    engine = db.connect(registry_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert set(Base.metadata.tables) == {
        "organisations",
        "interventions",
        "participations",
        "fundings",
        "area_links",
        "indicator_links",
        "successions",
        "users",
        "audit_entries",
        "evaluations",
    }


def test_migrations_match_models(registry_engine):
    with registry_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_uses_wal_and_foreign_keys(tmp_path):
    engine = db.connect(f"sqlite:///{tmp_path / 'sub' / 'registry.sqlite'}")
    assert not (tmp_path / "sub").exists()  # connecting creates nothing; init does
    db.init(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_default_url_is_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BRYTA_DATA_DIR", str(tmp_path / "data"))
    assert db.default_url() == f"sqlite:///{tmp_path / 'data' / 'registry.sqlite'}"
    assert not (tmp_path / "data").exists()  # nothing is created until a connection is made


def test_round_trip(registry_engine):
    with db.session(registry_engine) as s:
        kommun = _organisation("Malmö stad")
        forening = _organisation("Läxhjälpen", Sector.CIVIL_SOCIETY)
        arvsfonden = _organisation("Arvsfonden", Sector.STATE_AGENCY)
        project = _intervention(
            "Språkförskola",
            description="Extra språkstöd i förskolan",
            planned_start=date(2019, 1, 1),
            planned_end=date(2019, 12, 31),
            age_bands=[AgeBand.AGE_0_5, "6-15"],
            group_tags=["newly_arrived"],
            prevention_level=PreventionLevel.UNIVERSAL,
            settings=[Setting.PRESCHOOL],
            outcome_domains=[OutcomeDomain.EDUCATION],
            evaluation_type=EvaluationType.QUASI_EXPERIMENTAL,
            evaluation_report_url="https://example.org/report.pdf",
            reported_by="Malmö stad",
        )
        operation = _intervention("Språkförskola (ordinarie)", form=Form.PERMANENT_OPERATION)
        project.participations = [
            Participation(organisation=kommun, role=Role.ACCOUNTABLE),
            Participation(organisation=kommun, role=Role.IMPLEMENTING),
            Participation(organisation=forening, role=Role.PARTNER, start_date=date(2019, 3, 1)),
        ]
        project.fundings = [
            Funding(
                funder=arvsfonden,
                instrument=Instrument.ARVSFONDEN,
                amount_sek=1_500_000,
                start_date=date(2019, 1, 1),
                end_date=date(2019, 12, 31),
            )
        ]
        project.area_links = [
            AreaLink(level=AreaLevel.KOMMUN, area_code="1280", share_of_effort=0.5),
            AreaLink(level="regso", area_code="1280R012", reach_participants=40, reach_share=0.1),
            AreaLink(level="deso", area_code="1280C1230_DeSO2025", share_of_effort=0.25),
        ]
        project.indicator_links = [
            IndicatorLink(indicator_id="N15419", baseline=70.0, target=80.0, actual=74.5)
        ]
        project.successors = [
            Succession(to_intervention=operation, kind=SuccessionKind.INSTITUTIONALISED)
        ]
        s.add_all([project, operation])
        s.flush()
        project_id = project.id

    with Session(registry_engine) as s:
        loaded = s.get(Intervention, project_id)
        assert loaded.version == 1
        assert loaded.form is Form.PROJECT
        assert loaded.age_bands == ["0-5", "6-15"]
        assert loaded.settings == ["preschool"]
        assert loaded.planned_duration_months == 12.0
        assert loaded.actual_duration_months is None
        assert loaded.duration_months == 12.0
        roles = sorted((p.organisation.name, p.role) for p in loaded.participations)
        assert roles == [
            ("Läxhjälpen", Role.PARTNER),
            ("Malmö stad", Role.ACCOUNTABLE),
            ("Malmö stad", Role.IMPLEMENTING),
        ]
        (funding,) = loaded.fundings
        assert (funding.funder.name, funding.amount_sek) == ("Arvsfonden", 1_500_000)
        assert funding.duration_months == 12.0
        codes = {(a.level, a.area_code) for a in loaded.area_links}
        assert codes == {("kommun", "1280"), ("regso", "1280R012"), ("deso", "1280C1230_DeSO2025")}
        (succession,) = loaded.successors
        assert succession.to_intervention.form is Form.PERMANENT_OPERATION
        assert succession.to_intervention.predecessors[0].from_intervention is loaded
        assert loaded.indicator_links[0].actual == 74.5
        assert loaded.updated_at is not None

        # in-place list changes are saved; every update bumps the version
        loaded.group_tags.append("girls")
        s.commit()
        assert loaded.version == 2
        assert s.get(Intervention, project_id).group_tags == ["newly_arrived", "girls"]

        # deleting an intervention takes its links with it (ON DELETE CASCADE)
        s.delete(loaded)
        s.commit()
        for table in ("participations", "fundings", "area_links", "successions"):
            assert s.scalar(sa.text(f"SELECT count(*) FROM {table}")) == 0


def test_enum_values_are_those_of_the_docs(registry_engine):
    assert [m.value for m in Sector] == [
        "state_agency",
        "municipality",
        "region",
        "civil_society",
        "business",
        "housing_company",
        "academia",
    ]
    assert [m.value for m in Form] == [
        "project",
        "permanent_operation",
        "pilot",
        "grant_programme",
        "one_off",
        "policy",
    ]
    assert [m.value for m in Status] == [
        "planned",
        "active",
        "ended",
        "institutionalised",
        "cancelled",
    ]
    assert [m.value for m in AgeBand] == ["prenatal", "0-5", "6-15", "16-19", "20-64", "65+"]
    assert [m.value for m in PreventionLevel] == ["universal", "selective", "indicated", "reactive"]
    assert [m.value for m in Role] == ["funding", "accountable", "implementing", "partner"]
    assert [m.value for m in UserRole] == ["admin", "editor", "viewer"]
    assert [m.value for m in AreaLevel] == ["kommun", "regso", "deso"]
    # the database stores the value (not the member name) ...
    with db.session(registry_engine) as s:
        s.add(_intervention(form=Form.ONE_OFF, status=Status.INSTITUTIONALISED))
    with registry_engine.connect() as connection:
        row = connection.execute(sa.text("SELECT form, status FROM interventions")).one()
    assert tuple(row) == ("one_off", "institutionalised")
    # ... and refuses any other text
    with pytest.raises(IntegrityError), registry_engine.begin() as connection:
        connection.execute(sa.text("UPDATE interventions SET form = 'PROJECT'"))


def test_bad_vocabulary_in_lists_is_refused():
    with pytest.raises(RecordError, match=r"field age_bands\[0\]: '0-6' is not one of"):
        check_record({"title": "x", "form": "project", "age_bands": ["0-6"]})
    with pytest.raises(RecordError, match=r"settings\[0\]: 'school'"):
        check_record({"title": "x", "form": "project", "settings": ["school"]})


@pytest.mark.parametrize(
    ("level", "code"),
    [
        ("kommun", "128"),
        ("kommun", "1280R012"),
        ("regso", "1280"),
        ("deso", "1280R012"),
        ("deso", "1280C1230_RegSO2025"),
        ("deso", ""),
        ("lan", "12"),
    ],
)
def test_bad_area_code_is_refused(level, code):
    with pytest.raises(RegistryError) as raised:
        check_area_code(code, level)
    assert isinstance(raised.value, BrytaError)
    assert repr(code) in str(raised.value) or repr(level) in str(raised.value)


def test_one_check_lists_every_problem_of_a_record():
    with pytest.raises(RecordError) as raised:
        check_record(
            {
                "title": "",
                "form": "project",
                "area_links": [
                    {"level": "deso", "area_code": "0114"},
                    {"level": "kommun", "area_code": "0114", "share_of_effort": 1.5},
                ],
                "indicator_links": [{"indicator_id": "N15419", "baseline": "many"}],
            }
        )
    assert str(raised.value).splitlines() == [
        "intervention: 4 problems, nothing changed",
        "intervention, field title: is required",
        "intervention, field area_links[0].area_code: area code '0114' is not a deso code "
        r"(expected ^\d{4}[ABC]\d{4}$ or ^\d{4}[ABC]\d{4}_DeSO2025$)",
        "intervention, field area_links[1].share_of_effort: 1.5 is not a share between 0 and 1",
        "intervention, field indicator_links[0].baseline: 'many' is not a number",
    ]


def test_concurrent_edits_are_detected(registry_engine):
    with db.session(registry_engine) as s:
        s.add(_intervention())
    with Session(registry_engine) as first, Session(registry_engine) as second:
        mine = first.scalars(sa.select(Intervention)).one()
        theirs = second.scalars(sa.select(Intervention)).one()
        mine.status = Status.ENDED
        first.commit()
        theirs.status = Status.CANCELLED
        with pytest.raises(StaleDataError):
            second.commit()
    with Session(registry_engine) as s:
        saved = s.scalars(sa.select(Intervention)).one()
        assert (saved.status, saved.version) == (Status.ENDED, 2)


def test_foreign_keys_are_enforced(registry_engine):
    with pytest.raises(IntegrityError), db.session(registry_engine) as s:
        s.add(Participation(organisation_id=999, intervention_id=999, role=Role.PARTNER))
    # an organisation still named in a participation cannot be deleted
    with db.session(registry_engine) as s:
        partner = Participation(organisation=_organisation("X"), role=Role.PARTNER)
        s.add(_intervention(participations=[partner]))
    with pytest.raises(IntegrityError), registry_engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM organisations"))


def test_editor_needs_an_organisation(registry_engine):
    with pytest.raises(IntegrityError), db.session(registry_engine) as s:
        s.add(User(name="anna", role=UserRole.EDITOR))
    with db.session(registry_engine) as s:
        s.add(User(name="admin", role=UserRole.ADMIN))
        s.add(User(name="anna", role=UserRole.EDITOR, organisation=_organisation("Malmö stad")))


def test_upgrade_from_0001_keys_every_intervention_and_keeps_references(registry_url):
    db.upgrade(registry_url, "0001")
    engine = db.connect(registry_url)
    insert = sa.text(
        "INSERT INTO interventions (title, description, theory_of_change, form, status, "
        "age_bands, group_tags, settings, outcome_domains, evaluation_type, evidence_reference, "
        "updated_at, published, synthetic, version) VALUES (:title, '', '', 'project', "
        "'active', '[]', '[]', '[]', '[]', 'none', :ref, CURRENT_TIMESTAMP, false, false, 1)"
    )
    with engine.begin() as connection:
        connection.execute(insert, {"title": "A", "ref": "SOU 1997:118\nhttps://example.org"})
        connection.execute(insert, {"title": "B", "ref": None})
    with pytest.raises(BrytaError, match="revision 0001"):
        db.require_schema(engine)
    db.init(registry_url)
    with Session(engine) as s:
        rows = s.scalars(sa.select(Intervention).order_by(Intervention.id)).all()
        assert [r.evidence_references for r in rows] == [
            ["SOU 1997:118", "https://example.org"],
            [],
        ]
        assert len({r.key for r in rows}) == 2 and all(rows[0].key)
    db.require_schema(engine)
    engine.dispose()
