"""Evaluation records in the registry: the migration, the evidence rule, the service's access
rules and audit, the API and ``bryta evaluate registry --record`` — on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from statistics import NormalDist

import polars as pl
import pytest
import schemathesis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bryta.app import registry as app_registry
from bryta.app.context import Context, Settings
from bryta.cli import app as cli
from bryta.registry import db
from bryta.registry.evaluations import (
    MIN_TREATED,
    Design,
    EvaluationRecord,
    EvidenceLevel,
    evidence_level,
)
from bryta.registry.exchange import write_registry_json
from bryta.registry.models import AuditEntry, Intervention
from bryta.registry.records import IndicatorLinkRecord
from bryta.registry.service import SYSTEM, AccessDenied, NotFound, RegistryService
from bryta.registry.validation import RegistryError
from bryta.vocabulary import AuditAction, Form, Status

E = EvidenceLevel

# --- the evidence rule, branch by branch -------------------------------------------------------

# A credible design: enough treated units, placebos run and passed, a meaningful effect of 1.
BASE = {
    "estimate": 2.0,
    "ci_low": 1.0,
    "ci_high": 3.0,
    "mde": 1.5,
    "n_treated": 20,
    "direction": 1,
    "meaningful": 1.0,
    "placebo_p": 0.01,
    "pre_trend": False,
}


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        # 1. not credible
        ({"n_treated": MIN_TREATED - 1}, E.INSUFFICIENT_EVIDENCE),
        ({"pre_trend": True}, E.INSUFFICIENT_EVIDENCE),
        ({"ci_low": None, "ci_high": None}, E.INSUFFICIENT_EVIDENCE),
        ({"mde": None}, E.INSUFFICIENT_EVIDENCE),
        ({"mde": float("nan")}, E.INSUFFICIENT_EVIDENCE),
        # 2. the interval excludes zero
        ({}, E.EFFECTIVE),
        ({"n_treated": MIN_TREATED}, E.EFFECTIVE),
        (  # a decrease intended and found
            {"estimate": -2.0, "ci_low": -3.0, "ci_high": -1.0, "direction": -1},
            E.EFFECTIVE,
        ),
        ({"placebo_p": 0.2}, E.PROMISING),  # the placebo does not set it apart
        ({"placebo_p": 0.05}, E.PROMISING),  # the level is strict
        ({"placebo_p": None, "pre_trend": None}, E.PROMISING),  # no placebos run
        ({"pre_trend": None}, E.PROMISING),  # no placebo in time run
        ({"direction": None}, E.INSUFFICIENT_EVIDENCE),  # no direction stated
        ({"direction": -1}, E.NO_DETECTABLE_EFFECT),  # the opposite of what was intended
        # 3. the interval includes zero
        ({"estimate": 0.8, "ci_low": -0.2, "ci_high": 1.8, "mde": 1.5}, E.PROMISING),  # ≥ mde/2
        ({"estimate": 0.75, "ci_low": -0.2, "ci_high": 1.7, "mde": 1.5}, E.PROMISING),  # = mde/2
        ({"estimate": 0.7, "ci_low": -0.2, "ci_high": 1.6, "mde": 1.5}, E.INSUFFICIENT_EVIDENCE),
        ({"estimate": 0.3, "ci_low": -0.3, "ci_high": 0.9, "mde": 0.9}, E.NO_DETECTABLE_EFFECT),
        ({"estimate": 0.3, "ci_low": -0.3, "ci_high": 0.9, "mde": 1.0}, E.NO_DETECTABLE_EFFECT),
        ({"estimate": -0.3, "ci_low": -0.9, "ci_high": 0.3, "mde": 0.9}, E.NO_DETECTABLE_EFFECT),
        (  # promising needs a direction: without one, the MDE decides
            {"estimate": 0.8, "ci_low": -0.2, "ci_high": 1.8, "mde": 0.9, "direction": None},
            E.NO_DETECTABLE_EFFECT,
        ),
        (  # a design that could not see a meaningful effect
            {"estimate": 0.3, "ci_low": -1.7, "ci_high": 2.3, "mde": 2.8},
            E.INSUFFICIENT_EVIDENCE,
        ),
        (  # no meaningful effect stated
            {"estimate": 0.3, "ci_low": -0.3, "ci_high": 0.9, "mde": 0.9, "meaningful": None},
            E.INSUFFICIENT_EVIDENCE,
        ),
        # an interval ending at zero includes it: 2.0 ≥ 1.5 / 2 on the intended side
        ({"ci_low": 0.0}, E.PROMISING),
    ],
)
def test_evidence_rule(changes, level):
    assert evidence_level(**{**BASE, **changes}) is level


def test_evidence_rule_refuses_a_bad_direction():
    with pytest.raises(ValueError, match="direction"):
        evidence_level(**{**BASE, "direction": 2})


# --- the migration -----------------------------------------------------------------------------


def test_upgrade_from_0002_keeps_the_data(registry_url):
    db.upgrade(registry_url, "0002")
    engine = db.connect(registry_url)
    try:
        with Session(engine) as session, session.begin():
            session.add(
                Intervention(
                    key="K-1",
                    title="Språkförskola",
                    form=Form.PROJECT,
                    status=Status.ACTIVE,
                    evidence_references=["https://example.org/r"],
                    planned_start=date(2021, 1, 1),
                    published=True,
                    version=1,
                )
            )
        with engine.connect() as connection:
            assert "evaluations" not in sa.inspect(connection).get_table_names()
        db.upgrade(registry_url, "head")
        with engine.connect() as connection:
            assert "evaluations" in sa.inspect(connection).get_table_names()
            rows = connection.execute(
                sa.text("SELECT key, title, planned_start, published FROM interventions")
            ).all()
            assert connection.execute(sa.text("SELECT count(*) FROM evaluations")).scalar() == 0
        assert [(k, t, str(s), bool(p)) for k, t, s, p in rows] == [
            ("K-1", "Språkförskola", "2021-01-01", True)
        ]
        service = RegistryService(engine, SYSTEM)
        id = service.id_of("K-1")
        assert service.get(id).evidence_references == ["https://example.org/r"]
        service.add_evaluation(id, _evaluation())
        assert len(service.evaluations(id)) == 1
    finally:
        engine.dispose()


# --- the service -------------------------------------------------------------------------------


def _evaluation(**changes) -> EvaluationRecord:
    fields = {
        "design": Design.DID,
        "outcome": "born_abroad_pct",
        "aggregation": "simple",
        "estimate": 0.3,
        "se": 0.3,
        "ci_low": 0.3 - 1.96 * 0.3,
        "ci_high": 0.3 + 1.96 * 0.3,
        "mde": 0.84,
        "n_treated": 12,
        "n_control": 40,
        "first_year": 2020,
        "last_year": 2023,
        "direction": -1,
        "meaningful": 1.0,
        "provenance": {"datasets": "bundled", "bryta": "0.1.0"},
        **changes,
    }
    return EvaluationRecord(**fields)


@pytest.fixture
def people(registry_engine):
    system = RegistryService(registry_engine, SYSTEM)
    a = system.create_organisation(
        {"name": "Malmö stad", "sector": "municipality", "level": "local"}
    )
    b = system.create_organisation({"name": "IM", "sector": "civil_society", "level": "local"})
    users = {
        "admin": system.create_user({"name": "ada", "role": "admin"}),
        "editor": system.create_user({"name": "eva", "role": "editor", "organisation_id": a.id}),
        "partner_editor": system.create_user(
            {"name": "otto", "role": "editor", "organisation_id": b.id}
        ),
        "viewer": system.create_user({"name": "vera", "role": "viewer"}),
        "public": None,
    }
    ids = {}
    for key, published in (("PUB", True), ("HIDDEN", False)):
        record = system.create_intervention(
            {
                "key": key,
                "title": f"Intervention {key}",
                "form": "project",
                "status": "active",
                "published": published,
                "participations": [
                    {"organisation_id": a.id, "role": "accountable"},
                    {"organisation_id": b.id, "role": "partner"},
                ],
            }
        )
        ids[key] = record.id
    return registry_engine, users, ids


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("admin", True),
        ("editor", True),
        ("partner_editor", False),  # a partner, not accountable or implementing
        ("viewer", False),
        ("public", False),
    ],
)
def test_who_may_add_an_evaluation(people, who, allowed):
    engine, users, ids = people
    service = RegistryService(engine, users[who])
    if allowed:
        out = service.add_evaluation(ids["PUB"], _evaluation())
        assert out.id is not None and out.intervention_id == ids["PUB"]
    else:
        with pytest.raises(AccessDenied):
            service.add_evaluation(ids["PUB"], _evaluation())
        assert RegistryService(engine, SYSTEM).evaluations(ids["PUB"]) == []


def test_adding_is_audited_and_leaves_the_version(people):
    engine, users, ids = people
    before = RegistryService(engine, SYSTEM).get(ids["PUB"]).version
    out = RegistryService(engine, users["editor"]).add_evaluation(ids["PUB"], _evaluation())
    with Session(engine) as session:
        entries = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.entity == "evaluations")
        ).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.who == "eva" and entry.user_id == users["editor"].id
    assert entry.entity_id == out.id and AuditAction(entry.action) is AuditAction.CREATE
    assert entry.before is None
    assert entry.after["estimate"] == 0.3 and entry.after["evidence_level"] == out.evidence_level
    assert RegistryService(engine, SYSTEM).get(ids["PUB"]).version == before


def test_the_level_is_derived_not_given(people):
    engine, _users, ids = people
    # 0.3 ± 1.96·0.3 includes zero, the estimate is against the intended decrease, MDE 0.84 ≤ 1
    given = _evaluation(evidence_level=EvidenceLevel.EFFECTIVE)
    out = RegistryService(engine, SYSTEM).add_evaluation(ids["PUB"], given)
    assert out.evidence_level is EvidenceLevel.NO_DETECTABLE_EFFECT
    stored = RegistryService(engine, None).evaluations(ids["PUB"])
    assert stored == [out]
    assert stored[0].direction == -1 and stored[0].meaningful == 1.0
    assert stored[0].provenance == {"datasets": "bundled", "bryta": "0.1.0"}


def test_public_reads_evaluations_of_published_interventions_only(people):
    engine, users, ids = people
    system = RegistryService(engine, SYSTEM)
    for key in ids:
        system.add_evaluation(ids[key], _evaluation())
    public = RegistryService(engine, None)
    assert len(public.evaluations(ids["PUB"])) == 1
    with pytest.raises(NotFound):
        public.evaluations(ids["HIDDEN"])
    assert len(RegistryService(engine, users["viewer"]).evaluations(ids["HIDDEN"])) == 1
    with pytest.raises(NotFound):
        system.add_evaluation(10_000, _evaluation())


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"design": "rct"}, "design"),
        ({"ci_low": 2.0, "ci_high": 1.0}, "ci_low"),
        ({"placebo_p": 1.5}, "placebo_p"),
        ({"se": -1.0}, "se"),
        ({"last_year": 2019}, "last_year"),
        ({"estimate": float("nan")}, "estimate"),
    ],
)
def test_bad_records_are_refused_whole(people, changes, named):
    engine, _users, ids = people
    with pytest.raises(RegistryError, match=named):
        RegistryService(engine, SYSTEM).add_evaluation(ids["PUB"], _evaluation(**changes))
    with Session(engine) as session:
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity == "evaluations")
            )
            == 0
        )


def test_evaluations_go_with_their_intervention(people):
    engine, _users, ids = people
    system = RegistryService(engine, SYSTEM)
    system.add_evaluation(ids["PUB"], _evaluation())
    system.delete_intervention(ids["PUB"], system.get(ids["PUB"]).version)
    with Session(engine) as session:
        assert session.scalar(sa.text("SELECT count(*) FROM evaluations")) == 0


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def web(people, tmp_path):
    from bryta.web.app import create_app

    engine, _users, ids = people
    RegistryService(engine, SYSTEM).add_evaluation(ids["PUB"], _evaluation())
    RegistryService(engine, SYSTEM).add_evaluation(ids["HIDDEN"], _evaluation())
    url = engine.url.render_as_string(hide_password=False)
    application = create_app(Settings(data_dir=tmp_path / "data", database=url))
    with TestClient(application) as client:
        yield application, client


def test_api_serves_the_evaluations(web):
    _app, client = web
    response = client.get("/api/v1/interventions/PUB/evaluations")
    assert response.status_code == 200
    [row] = response.json()
    assert row["design"] == "did" and row["outcome"] == "born_abroad_pct"
    assert row["estimate"] == 0.3 and row["mde"] == 0.84 and row["placebo_p"] is None
    assert row["evidence_level"] == "no_detectable_effect"
    assert row["provenance"] == {"datasets": "bundled", "bryta": "0.1.0"}
    assert row["first_year"] == 2020 and row["last_year"] == 2023


def test_api_answers_follow_the_registry(web, people):
    _app, client = web
    engine, _users, ids = people
    assert len(client.get("/api/v1/interventions/PUB/evaluations").json()) == 1
    RegistryService(engine, SYSTEM).add_evaluation(ids["PUB"], _evaluation(estimate=-2.0))
    rows = client.get("/api/v1/interventions/PUB/evaluations").json()
    assert [r["estimate"] for r in rows] == [0.3, -2.0]


@pytest.mark.parametrize("key", ["HIDDEN", "NO-SUCH-KEY"])
def test_api_unknown_or_unpublished_is_a_404_problem(web, key):
    _app, client = web
    response = client.get(f"/api/v1/interventions/{key}/evaluations")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert key in response.json()["detail"]


def test_api_evaluations_conform_to_their_schema(web):
    application, _client = web
    schema = schemathesis.openapi.from_asgi("/openapi.json", application)
    operation = schema["/api/v1/interventions/{key}/evaluations"]["GET"]
    for key, status in (("PUB", 200), ("HIDDEN", 404)):
        response = operation.Case(path_parameters={"key": key}).call_and_validate()
        assert response.status_code == status


# --- bryta evaluate registry --record ----------------------------------------------------------


def test_cli_records_an_evaluation_per_intervention_used(registry_url, tmp_path):
    from tests.test_evaluate_panel import MALMO, RECORDS

    context = Context(Settings(data_dir=tmp_path / "data", database=registry_url))
    app_registry.init_registry(context)
    # A (R1) means to lower the share born abroad: baseline 40, target 30
    records = [
        replace(
            r,
            indicator_links=[
                IndicatorLinkRecord(indicator_id="born_abroad_pct", baseline=40.0, target=30.0)
            ],
        )
        if r.key == "A"
        else r
        for r in RECORDS
    ]
    path = tmp_path / "malmo.json"
    write_registry_json(records, path)
    app_registry.import_file(context, path)
    context.close()
    out = tmp_path / "out" / "malmo.csv"
    args = [
        "evaluate",
        "registry",
        "--kommun",
        MALMO,
        "--outcome",
        "born_abroad_pct",
        "--database",
        registry_url,
        "--data-dir",
        str(tmp_path / "data"),
        "-o",
        str(out),
        "--placebos",  # the analytic MDE; the placebo one: tests/test_evaluate_registry_power.py
        "0",
    ]
    result = CliRunner().invoke(cli, [*args, "--record"])
    assert result.exit_code == 0, result.output
    simple = pl.read_csv(out).filter(pl.col("aggregation") == "simple").row(0, named=True)
    engine = db.connect(registry_url)
    try:
        public = RegistryService(engine, None)
        found = {}
        for key in ("A", "B", "C", "E"):  # the interventions that treat RegSO (by hand)
            [evaluation] = public.evaluations(public.id_of(key))
            found[key] = evaluation
            assert f"recorded evaluation {evaluation.id} of {key}: " in result.output
        for key in ("D", "G"):  # a kommun link, a cancelled one: not used
            assert public.evaluations(public.id_of(key)) == []
        a = found["A"]
        assert a.design is Design.DID and a.aggregation == "simple"
        assert a.estimate == pytest.approx(simple["estimate"], abs=1e-9)
        assert (a.ci_low, a.ci_high) == pytest.approx((simple["ci_low"], simple["ci_high"]))
        mde_factor = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
        assert a.mde == pytest.approx(mde_factor * simple["se"])
        assert a.placebo_p is None and a.pre_trend is None
        assert a.provenance["mde_basis"] == "analytic"
        assert (a.n_treated, a.first_year, a.last_year) == (4, 2020, 2023)  # R1–R4
        assert a.direction == -1 and a.meaningful == 10.0
        assert found["B"].direction is None
        # four treated RegSO are fewer than the rule's minimum of five
        assert {e.evidence_level for e in found.values()} == {E.INSUFFICIENT_EVIDENCE}
        assert a.provenance["datasets"] == "bundled" and a.provenance["bryta"]
        with Session(engine) as session:
            audited = session.scalars(
                sa.select(AuditEntry).where(AuditEntry.entity == "evaluations")
            ).all()
        assert {e.who for e in audited} == {"system"} and len(audited) == 4
    finally:
        engine.dispose()
    # without --record nothing is added; --intended needs --record
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "recorded evaluation" not in again.output
    refused = CliRunner().invoke(cli, [*args, "--intended", "increase"])
    assert refused.exit_code == 2 and "--intended needs --record" in refused.output
