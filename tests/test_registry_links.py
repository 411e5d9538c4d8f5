"""The service's operations on fundings, successions, users and organisations: every role ×
operation, audit completeness, optimistic concurrency — on SQLite and PostgreSQL — and the
``bryta registry org|user`` commands."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bryta.cli import app
from bryta.registry import db
from bryta.registry.models import Funding, Succession
from bryta.registry.service import (
    SYSTEM,
    AccessDenied,
    NotFound,
    RegistryService,
    StaleVersion,
)
from bryta.registry.validation import RegistryError
from bryta.vocabulary import AuditAction, UserRole
from tests.test_registry_service import ROLES, Registry, _audit, _payload, _stored, registry

__all__ = ["registry"]  # the fixture, shared with the service tests


@pytest.fixture
def linked(registry: Registry) -> tuple[Registry, int, int]:
    """The registry with one funding on its intervention (now version 2) and a second
    intervention of organisation ``a`` to succeed it."""
    system = RegistryService(registry.engine, SYSTEM)
    funding = system.add_funding(
        registry.intervention.id,
        {"funder_id": registry.a, "instrument": "targeted_state_grant", "amount_sek": 500_000},
        1,
    )
    second = system.create_intervention(_payload(registry.a, form="permanent_operation"))
    return registry, funding.id, second.id


def _counts(engine) -> tuple[int, int]:
    with Session(engine) as s:
        return (
            s.scalar(sa.select(sa.func.count()).select_from(Funding)),
            s.scalar(sa.select(sa.func.count()).select_from(Succession)),
        )


OPERATIONS = {
    "add_funding": (
        lambda s, r, f, n: s.add_funding(
            r.intervention.id,
            {"funder_id": r.b, "instrument": "foundation", "amount_sek": 1000},
            2,
        ),
        {"admin", "editor"},
    ),
    "remove_funding": (lambda s, r, f, n: s.remove_funding(f, 2), {"admin", "editor"}),
    "add_succession": (
        lambda s, r, f, n: s.add_succession(
            {"from_id": r.intervention.id, "to_id": n, "kind": "institutionalised"}
        ),
        {"admin", "editor"},
    ),
    "update_user": (
        lambda s, r, f, n: s.update_user(r.users["viewer"].id, role="admin"),
        {"admin"},
    ),
    "update_organisation": (
        lambda s, r, f, n: s.update_organisation(r.b, {"name": "Individuell människohjälp"}),
        {"admin"},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_who_may_change_links_and_people(linked, operation, role):
    registry, funding, second = linked
    call, allowed = OPERATIONS[operation]
    service = registry.service(role)
    audited = len(_audit(registry.engine))
    before = (_stored(registry.engine, registry.intervention.id), _counts(registry.engine))
    if role in allowed:
        call(service, registry, funding, second)
        entries = _audit(registry.engine)
        assert len(entries) == audited + 1
        assert entries[-1].who == registry.users[role].name
    else:
        with pytest.raises(AccessDenied, match=" may not "):
            call(service, registry, funding, second)
        assert len(_audit(registry.engine)) == audited
        after = (_stored(registry.engine, registry.intervention.id), _counts(registry.engine))
        assert after == before


def test_funding_changes_are_versioned_and_audited(linked):
    registry, funding, _ = linked
    editor = registry.service("editor")
    id = registry.intervention.id
    assert _stored(registry.engine, id)[2] == 2  # adding the funding moved the version on
    with pytest.raises(StaleVersion, match="you had version 1, it is now 2"):
        editor.add_funding(id, {"funder_id": registry.a, "instrument": "eu", "amount_sek": 1}, 1)
    added = editor.add_funding(
        id,
        {
            "funder_id": registry.a,
            "instrument": "eu",
            "amount_sek": 2_000,
            "start_date": "2024-01-01",
            "end_date": "2025-12-31",
        },
        2,
    )
    assert (added.amount_sek, added.start_date) == (2_000, date(2024, 1, 1))
    editor.remove_funding(funding, 3)
    entries = _audit(registry.engine)[-2:]
    assert [(e.entity, e.action) for e in entries] == [
        ("fundings", AuditAction.CREATE),
        ("fundings", AuditAction.DELETE),
    ]
    assert entries[0].before is None and entries[0].after["amount_sek"] == 2_000
    assert entries[1].before["amount_sek"] == 500_000 and entries[1].after is None
    assert _counts(registry.engine) == (1, 0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"funder_id": 999, "instrument": "eu", "amount_sek": 1}, "no organisation with id 999"),
        (
            {"funder_id": 1, "instrument": "lottery", "amount_sek": 1},
            "instrument: 'lottery' is not one of",
        ),
        ({"funder_id": 1, "instrument": "eu", "amount_sek": -5}, "-5 is not a whole number"),
        (
            {
                "funder_id": 1,
                "instrument": "eu",
                "amount_sek": 5,
                "start_date": "2024-02-01",
                "end_date": "2024-01-01",
            },
            "end_date: end_date 2024-01-01 is before 2024-02-01",
        ),
        ({"funder_id": 1, "amount_sek": 5}, "instrument: is required"),
    ],
)
def test_bad_funding_is_refused_and_nothing_changes(linked, data, message):
    registry, _, _ = linked
    audited = len(_audit(registry.engine))
    data = {**data, "funder_id": registry.a} if data.get("funder_id") == 1 else data
    with pytest.raises(RegistryError, match=message):
        registry.service("admin").add_funding(registry.intervention.id, data, 2)
    assert len(_audit(registry.engine)) == audited
    assert _counts(registry.engine) == (1, 0)


def test_successions(linked):
    registry, _, second = linked
    editor, other = registry.service("editor"), registry.service("other_editor")
    link = {"from_id": registry.intervention.id, "to_id": second, "kind": "institutionalised"}
    with pytest.raises(AccessDenied, match="is not accountable or implementing in it"):
        other.add_succession(link)
    out = editor.add_succession({**link, "succeeded_on": "2025-01-01"})
    assert out.succeeded_on == date(2025, 1, 1)
    with pytest.raises(RegistryError, match="failed"):  # the same link twice
        editor.add_succession(link)
    with pytest.raises(RegistryError, match="cannot succeed itself"):
        editor.add_succession({**link, "to_id": registry.intervention.id})
    with pytest.raises(NotFound):
        editor.add_succession({**link, "to_id": 99_999})
    editor.remove_succession(out.id)
    assert _audit(registry.engine)[-1].entity == "successions"
    assert _counts(registry.engine) == (1, 0)


def test_people(registry):
    admin = registry.service("admin")
    assert [u.name for u in admin.list_users()] == ["ada", "eva", "otto", "vera"]
    with pytest.raises(AccessDenied):
        registry.service("viewer").list_users()
    assert [o.name for o in registry.service("public").list_organisations()] == [
        "Malmö stad",
        "IM",
    ]
    with pytest.raises(RegistryError, match="an editor needs an organisation_id"):
        admin.update_user(registry.users["viewer"].id, role="editor")
    moved = admin.update_user(
        registry.users["viewer"].id, role=UserRole.EDITOR, organisation_id=registry.b
    )
    assert (moved.role, moved.organisation_id) == (UserRole.EDITOR, registry.b)
    entry = _audit(registry.engine)[-1]
    assert entry.before["role"] == "viewer" and entry.after["role"] == "editor"
    with pytest.raises(RegistryError, match="unknown field"):
        admin.update_organisation(registry.a, {"colour": "red"})
    with pytest.raises(NotFound):
        admin.update_user(12345, role="viewer")


def test_import_audits_fundings_and_successions(registry_engine):
    from bryta.registry.exchange import import_records, synthetic_portfolio
    from bryta.registry.records import SuccessionRecord
    from bryta.vocabulary import SuccessionKind

    records = synthetic_portfolio(60)
    for first, then in ((0, 1), (2, 3), (2, 4)):
        records[first].successions.append(
            SuccessionRecord(to=records[then].key, kind=SuccessionKind.CONTINUED)
        )
    with db.session(registry_engine) as s:
        import_records(s, registry_engine, records)
    entries = [e for e in _audit(registry_engine) if e.entity == "interventions"]
    fundings, successions = _counts(registry_engine)
    assert fundings >= 60 and successions == 3
    # fundings and successions are part of the intervention: its audit entry holds them
    created = [e for e in entries if e.action is AuditAction.CREATE]
    assert len(created) == 60
    assert sum(len(e.after["fundings"]) for e in created) == fundings
    latest = {e.entity_id: e.after for e in entries}
    assert sum(len(after["successions"]) for after in latest.values()) == successions


def test_cli_people(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    runner = CliRunner()

    def run(*args):
        return runner.invoke(app, ["registry", *args, "--database", url])

    assert run("init").exit_code == 0
    res = run("org", "add", "Malmö stad", "--sector", "municipality", "--org-level", "local")
    assert res.exit_code == 0 and "organisation 1 added" in res.output
    assert run("user", "add", "eva", "--role", "editor", "--organisation", "1").exit_code == 0
    assert run("user", "add", "vera", "--role", "viewer").exit_code == 0
    res = run("user", "list")
    assert "eva" in res.output and "editor" in res.output
    res = run("user", "set", "1", "--role", "admin", "--as", "2")
    assert res.exit_code == 2 and "may not update user 1: only admins may" in res.output
    res = run("user", "add", "x", "--role", "editor")
    assert res.exit_code == 2 and "an editor needs an organisation_id" in res.output
    assert run("user", "set", "2", "--role", "admin").exit_code == 0
    assert run("org", "update", "1", "--name", "Malmö kommun").exit_code == 0
    assert "Malmö kommun" in run("org", "list").output
    engine = db.connect(url)
    actions = [(e.entity, e.action) for e in _audit(engine)]
    engine.dispose()
    assert actions.count(("users", AuditAction.CREATE)) == 2
    assert ("users", AuditAction.UPDATE) in actions
    assert ("organisations", AuditAction.UPDATE) in actions
