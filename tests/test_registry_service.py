"""The registry service: access rules, audit, optimistic concurrency, search — on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bryta.errors import BrytaError
from bryta.registry import db
from bryta.registry.models import AuditEntry, Intervention
from bryta.registry.service import (
    SYSTEM,
    AccessDenied,
    InterventionRecord,
    NotFound,
    ParticipationRecord,
    RegistryService,
    StaleVersion,
    UserOut,
)
from bryta.registry.validation import RegistryError
from bryta.vocabulary import AuditAction, Form, Role, Status, UserRole


@dataclass
class Registry:
    """Two organisations, a user of every role, one intervention of organisation ``a``."""

    engine: sa.Engine
    a: int
    b: int
    users: dict[str, UserOut | None]
    intervention: InterventionRecord

    def service(self, who: str) -> RegistryService:
        return RegistryService(self.engine, self.users[who])


def _payload(organisation: int, role: str = "accountable", **fields) -> dict:
    return {
        "title": "Språkförskola",
        "form": "project",
        "status": "active",
        "participations": [{"organisation_id": organisation, "role": role}],
        **fields,
    }


@pytest.fixture
def registry(registry_engine) -> Registry:
    system = RegistryService(registry_engine, SYSTEM)
    a = system.create_organisation(
        {"name": "Malmö stad", "sector": "municipality", "level": "local"}
    )
    b = system.create_organisation({"name": "IM", "sector": "civil_society", "level": "local"})
    users = {
        "admin": system.create_user({"name": "ada", "role": "admin"}),
        "editor": system.create_user({"name": "eva", "role": "editor", "organisation_id": a.id}),
        "other_editor": system.create_user(
            {"name": "otto", "role": "editor", "organisation_id": b.id}
        ),
        "viewer": system.create_user({"name": "vera", "role": "viewer"}),
        "public": None,
    }
    payload = _payload(
        a.id,
        participations=[
            {"organisation_id": a.id, "role": "accountable"},
            {"organisation_id": b.id, "role": "partner"},
        ],
        area_links=[{"level": "deso", "area_code": "1280C1230"}],
    )
    intervention = system.create_intervention(payload)
    return Registry(registry_engine, a.id, b.id, users, intervention)


def _audit(engine) -> list[AuditEntry]:
    with Session(engine) as s:
        return list(s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))


def _stored(engine, id: int) -> tuple:
    with Session(engine) as s:
        row = s.get(Intervention, id)
        return (row.title, row.status, row.version, row.published)


# --- every role × operation --------------------------------------------------------------------

ROLES = ("admin", "editor", "other_editor", "viewer", "public")
WRITES = {
    # operation: (call, roles allowed)
    "create_organisation": (
        lambda s, r: s.create_organisation({"name": "X", "sector": "business", "level": "local"}),
        {"admin"},
    ),
    "create_user": (lambda s, r: s.create_user({"name": "new", "role": "viewer"}), {"admin"}),
    "create_intervention": (lambda s, r: s.create_intervention(_payload(r.a)), {"admin", "editor"}),
    "update_intervention": (
        lambda s, r: s.update_intervention(r.intervention.id, {"title": "Ny"}, 1),
        {"admin", "editor"},
    ),
    "end_intervention": (
        lambda s, r: s.end_intervention(r.intervention.id, date(2024, 6, 30), 1),
        {"admin", "editor"},
    ),
    "publish": (lambda s, r: s.publish(r.intervention.id, 1), {"admin"}),
    "unpublish": (lambda s, r: s.unpublish(r.intervention.id, 1), {"admin"}),
    "delete_intervention": (lambda s, r: s.delete_intervention(r.intervention.id, 1), {"admin"}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(WRITES))
def test_who_may_change_what(registry, operation, role):
    call, allowed = WRITES[operation]
    service = registry.service(role)
    audited = len(_audit(registry.engine))
    before = _stored(registry.engine, registry.intervention.id)
    if role in allowed:
        call(service, registry)
        assert len(_audit(registry.engine)) == audited + 1
    else:
        with pytest.raises(AccessDenied) as refused:
            call(service, registry)
        assert len(_audit(registry.engine)) == audited
        assert _stored(registry.engine, registry.intervention.id) == before
        who = "the public" if role == "public" else f"user {registry.users[role].name!r}"
        assert str(refused.value).startswith(f"{who} ")
        assert " may not " in str(refused.value) and ": " in str(refused.value)
        assert isinstance(refused.value, RegistryError | BrytaError)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_read_what(registry, role):
    service = registry.service(role)
    id = registry.intervention.id
    if role == "public":
        with pytest.raises(NotFound, match=f"intervention {id} not found"):
            service.get(id)
        assert service.list_interventions() == []
        assert service.list_interventions(published_only=False) == []
        RegistryService(registry.engine, SYSTEM).publish(id, 1)
        assert service.get(id).published
    assert [i.id for i in service.list_interventions()] == [id]
    assert service.get(id) == service.list_interventions()[0]


def test_refusals_name_actor_operation_and_reason(registry):
    with pytest.raises(AccessDenied) as refused:
        registry.service("viewer").update_intervention(registry.intervention.id, {"title": "x"}, 1)
    assert str(refused.value) == (
        f"user 'vera' (viewer) may not update intervention {registry.intervention.id}: "
        "viewers may read but not change the registry"
    )
    with pytest.raises(AccessDenied, match=r"user 'otto' \(editor of organisation \d+\) may not"):
        registry.service("other_editor").end_intervention(registry.intervention.id, "2024-01-01", 1)
    with pytest.raises(AccessDenied, match="the public may not create interventions: sign in"):
        registry.service("public").create_intervention(_payload(registry.a))


# --- editor scope ------------------------------------------------------------------------------


def test_editor_scope(registry):
    editor, other = registry.service("editor"), registry.service("other_editor")
    id = registry.intervention.id
    # organisation b is only a partner: not enough to change it or to create one
    with pytest.raises(AccessDenied, match="is not accountable or implementing in it"):
        other.update_intervention(id, {"title": "x"}, 1)
    with pytest.raises(AccessDenied, match="must be accountable or implementing"):
        other.create_intervention(_payload(registry.b, role="partner"))
    with pytest.raises(AccessDenied, match="must be accountable or implementing"):
        other.create_intervention(_payload(registry.a))
    # implementing is enough
    created = other.create_intervention(_payload(registry.b, role="implementing"))
    assert [(p.organisation_id, p.organisation, p.role) for p in created.participations] == [
        (registry.b, "IM", Role.IMPLEMENTING)
    ]
    # an editor cannot drop their own organisation's role to escape the rule ...
    hand_over = [{"organisation_id": registry.b, "role": "accountable"}]
    with pytest.raises(AccessDenied, match="must stay accountable or implementing"):
        editor.update_intervention(id, {"participations": hand_over}, 1)
    assert _stored(registry.engine, id)[2] == 1
    # ... but may change it from accountable to implementing, and add partners
    moved = editor.update_intervention(
        id,
        {
            "participations": [
                {"organisation_id": registry.a, "role": "implementing"},
                {"organisation_id": registry.b, "role": "accountable"},
            ]
        },
        1,
    )
    assert moved.version == 2
    assert [p.role for p in moved.participations] == [Role.IMPLEMENTING, Role.ACCOUNTABLE]
    # an admin may hand it over entirely; then the editor is out
    RegistryService(registry.engine, registry.users["admin"]).update_intervention(
        id, {"participations": hand_over}, 2
    )
    with pytest.raises(AccessDenied):
        editor.update_intervention(id, {"title": "x"}, 3)
    assert other.update_intervention(id, {"title": "x"}, 3).title == "x"


def test_editor_needs_an_organisation(registry):
    admin = registry.service("admin")
    with pytest.raises(RegistryError, match="an editor needs an organisation_id"):
        admin.create_user({"name": "ed", "role": "editor"})


# --- audit -------------------------------------------------------------------------------------


def test_every_change_is_audited_with_before_and_after(registry):
    start = len(_audit(registry.engine))  # 2 organisations, 4 users, 1 intervention
    assert start == 7
    admin, editor = registry.service("admin"), registry.service("editor")
    id = registry.intervention.id
    editor.update_intervention(id, {"title": "Språkförskola Rosengård", "age_bands": ["0-5"]}, 1)
    editor.end_intervention(id, "2024-06-30", 2)
    admin.publish(id, 3)
    new = admin.create_intervention(_payload(registry.a, title="Läxhjälp"))
    admin.delete_intervention(new.id, 1)
    entries = _audit(registry.engine)[start:]
    assert [(e.entity, e.entity_id, e.action) for e in entries] == [
        ("interventions", id, AuditAction.UPDATE),
        ("interventions", id, AuditAction.UPDATE),
        ("interventions", id, AuditAction.UPDATE),
        ("interventions", new.id, AuditAction.CREATE),
        ("interventions", new.id, AuditAction.DELETE),
    ]
    renamed, ended, published, created, deleted = entries
    assert (renamed.who, renamed.user_id) == ("eva", registry.users["editor"].id)
    assert (published.who, published.user_id) == ("ada", registry.users["admin"].id)
    assert renamed.before["title"] == "Språkförskola" and renamed.before["age_bands"] == []
    assert renamed.after["title"] == "Språkförskola Rosengård"
    assert renamed.after["age_bands"] == ["0-5"]
    assert (renamed.before["version"], renamed.after["version"]) == (1, 2)
    assert renamed.after["area_links"] == [
        {
            "level": "deso",
            "area_code": "1280C1230",
            "share_of_effort": None,
            "reach_participants": None,
            "reach_share": None,
        }
    ]
    assert (ended.before["status"], ended.after["status"]) == ("active", "ended")
    assert ended.after["actual_end"] == "2024-06-30"
    assert (published.before["published"], published.after["published"]) == (False, True)
    assert created.before is None and created.after["title"] == "Läxhjälp"
    assert deleted.before == created.after and deleted.after is None
    assert all(e.at is not None for e in entries)
    # the system is audited as such
    first = _audit(registry.engine)[0]
    assert (first.who, first.user_id, first.entity) == ("system", None, "organisations")


def test_refused_or_failed_changes_leave_no_audit_and_no_change(registry):
    admin, viewer = registry.service("admin"), registry.service("viewer")
    id = registry.intervention.id
    audited, before = len(_audit(registry.engine)), _stored(registry.engine, id)
    failures = [
        (AccessDenied, lambda: viewer.update_intervention(id, {"title": "x"}, 1)),
        (StaleVersion, lambda: admin.update_intervention(id, {"title": "x"}, 7)),
        (NotFound, lambda: admin.update_intervention(999, {"title": "x"}, 1)),
        # a bad area code is found after the title was set and the old links were deleted
        (
            RegistryError,
            lambda: admin.update_intervention(
                id, {"title": "x", "area_links": [{"level": "deso", "area_code": "0114"}]}, 1
            ),
        ),
        (RegistryError, lambda: admin.update_intervention(id, {"published": True}, 1)),
        (RegistryError, lambda: admin.update_intervention(id, {"form": "festival"}, 1)),
        (RegistryError, lambda: admin.update_intervention(id, {"actual_start": "2025-13-01"}, 1)),
        (
            RegistryError,
            lambda: admin.update_intervention(
                id, {"actual_start": "2025-01-01", "actual_end": "2024-01-01"}, 1
            ),
        ),
        (
            RegistryError,
            lambda: admin.update_intervention(
                id, {"participations": [{"organisation_id": 999, "role": "accountable"}]}, 1
            ),
        ),
        (RegistryError, lambda: admin.create_intervention({"title": "", "form": "project"})),
        (RegistryError, lambda: admin.create_intervention({"title": "x"})),
        (RegistryError, lambda: admin.create_user({"name": "eva", "role": "viewer"})),  # taken
        (StaleVersion, lambda: admin.delete_intervention(id, 2)),
    ]
    for error, call in failures:
        with pytest.raises(error):
            call()
    assert len(_audit(registry.engine)) == audited
    assert _stored(registry.engine, id) == before
    assert admin.get(id).area_links == registry.intervention.area_links


# --- optimistic concurrency --------------------------------------------------------------------


def test_second_writer_with_an_old_version_is_refused(registry):
    id = registry.intervention.id
    mine, theirs = registry.service("editor"), registry.service("admin")
    assert mine.get(id).version == theirs.get(id).version == 1
    mine.update_intervention(id, {"title": "Mine"}, 1)
    with pytest.raises(StaleVersion) as stale:
        theirs.update_intervention(id, {"status": "cancelled"}, 1)
    assert str(stale.value) == (
        f"intervention {id} was changed by someone else: you had version 1, it is now 2; "
        "reload and retry"
    )
    assert _stored(registry.engine, id) == ("Mine", Status.ACTIVE, 2, False)
    # reload and retry works, and keeps the first change
    retried = theirs.update_intervention(id, {"status": "cancelled"}, 2)
    assert (retried.title, retried.status, retried.version) == ("Mine", Status.CANCELLED, 3)


def test_a_writer_overtaken_between_read_and_write_is_refused(registry, registry_url):
    """The version check passes, then another engine commits before our UPDATE runs."""
    id = registry.intervention.id
    slow_engine = db.connect(registry_url)
    fast = RegistryService(db.connect(registry_url), registry.users["admin"])
    overtaken = []

    @sa.event.listens_for(slow_engine, "before_cursor_execute")
    def overtake(conn, cursor, statement, parameters, context, executemany):
        # at our first write: before it, neither database holds a lock for us
        if statement.lstrip().upper().startswith(("UPDATE", "DELETE", "INSERT")) and not overtaken:
            overtaken.append(fast.update_intervention(id, {"title": "Fast"}, 1))

    slow = RegistryService(slow_engine, registry.users["editor"])
    audited = len(_audit(registry.engine))
    with pytest.raises(StaleVersion, match="you had version 1, it is now 2; reload and retry"):
        slow.update_intervention(
            id, {"title": "Slow", "area_links": [{"level": "kommun", "area_code": "0114"}]}, 1
        )
    assert overtaken
    assert _stored(registry.engine, id) == ("Fast", Status.ACTIVE, 2, False)
    assert fast.get(id).area_links == registry.intervention.area_links  # slow's links undone
    assert len(_audit(registry.engine)) == audited + 1
    slow_engine.dispose()
    fast.engine.dispose()


@pytest.mark.parametrize("field", ["title", "status"])
def test_two_threads_race_one_wins_nothing_lost(registry, registry_url, field):
    id = registry.intervention.id
    values = {"title": ["Tråd A", "Tråd B"], "status": ["ended", "cancelled"]}[field]
    engines = [db.connect(registry_url), db.connect(registry_url)]
    services = [RegistryService(e, registry.users["admin"]) for e in engines]
    read = threading.Barrier(2)
    results: list = [None, None]

    def write(n: int) -> None:
        version = services[n].get(id).version
        read.wait()
        try:
            results[n] = services[n].update_intervention(id, {field: values[n]}, version)
        except StaleVersion as error:
            results[n] = error

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    won = [r for r in results if isinstance(r, InterventionRecord)]
    lost = [r for r in results if isinstance(r, StaleVersion)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "you had version 1, it is now 2; reload and retry" in str(lost[0])
    stored = RegistryService(registry.engine, SYSTEM).get(id)
    assert stored == won[0]
    assert getattr(stored, field) == getattr(won[0], field)
    updates = [e for e in _audit(registry.engine) if e.action is AuditAction.UPDATE]
    assert len(updates) == 1 and updates[0].after["version"] == 2


# --- search and filters ------------------------------------------------------------------------


@pytest.fixture
def catalogue(registry) -> Registry:
    """Four more interventions: two published, in Malmö (1280), Stockholm (0180), Upplands Väsby."""
    admin = registry.service("admin")
    a = registry.a
    rows = [
        _payload(
            a,
            title="Läxhjälp på fritidsgården",
            form="permanent_operation",
            description="Stöd i SKOLAN efter skoltid",
            area_links=[{"level": "regso", "area_code": "1280R017"}],
        ),
        _payload(
            a,
            title="Föräldrastöd",
            theory_of_change="Trygga föräldrar ger trygga barn; 100% gratis",
            area_links=[{"level": "kommun", "area_code": "0180"}],
        ),
        _payload(
            a,
            title="Sommarjobb",
            form="one_off",
            status="ended",
            area_links=[{"level": "deso", "area_code": "0114A0010_DeSO2025"}],
        ),
        _payload(a, title="Språkcafé", form="pilot"),
    ]
    created = [admin.create_intervention(row) for row in rows]
    admin.publish(created[0].id, 1)
    admin.publish(created[2].id, 1)
    return registry


def _titles(found: list[InterventionRecord]) -> list[str]:
    return [i.title for i in found]


def test_filters_and_text_search(catalogue):
    viewer, public = catalogue.service("viewer"), catalogue.service("public")
    everything = ["Språkförskola", "Läxhjälp på fritidsgården", "Föräldrastöd", "Sommarjobb"]
    assert _titles(viewer.list_interventions()) == [*everything, "Språkcafé"]
    assert _titles(public.list_interventions()) == ["Läxhjälp på fritidsgården", "Sommarjobb"]
    assert _titles(viewer.list_interventions(published_only=True)) == _titles(
        public.list_interventions()
    )
    # kommun matches kommun, RegSO and DeSO links by the code's first four digits
    assert _titles(viewer.list_interventions(kommun="1280")) == everything[:2]
    assert _titles(viewer.list_interventions(kommun="0114")) == ["Sommarjobb"]
    assert _titles(public.list_interventions(kommun="0180")) == []
    assert _titles(viewer.list_interventions(form=Form.PILOT)) == ["Språkcafé"]
    assert _titles(viewer.list_interventions(form="one_off", status="ended")) == ["Sommarjobb"]
    # text: every word, any case (non-ASCII too), title, description or theory of change
    assert _titles(viewer.list_interventions(text="SPRÅK")) == ["Språkförskola", "Språkcafé"]
    assert _titles(viewer.list_interventions(text="skolan")) == ["Läxhjälp på fritidsgården"]
    assert _titles(viewer.list_interventions(text="trygga BARN")) == ["Föräldrastöd"]
    assert _titles(viewer.list_interventions(text="trygga skolan")) == []
    assert _titles(viewer.list_interventions(text="100%")) == ["Föräldrastöd"]
    assert _titles(viewer.list_interventions(text="%")) == ["Föräldrastöd"]  # not a wildcard
    assert _titles(viewer.list_interventions(text="språk", kommun="1280")) == ["Språkförskola"]
    assert _titles(public.list_interventions(text="språk")) == []
    # paging
    assert _titles(viewer.list_interventions(limit=2, offset=1)) == everything[1:3]
    with pytest.raises(RegistryError, match="four-digit"):
        viewer.list_interventions(kommun="Malmö")
    with pytest.raises(RegistryError, match="status: 'over' not allowed"):
        viewer.list_interventions(status="over")


def test_plain_data_in_and_out(registry):
    admin = registry.service("admin")
    made = admin.create_intervention(
        InterventionRecord(
            title="Familjecentral",
            form=Form.PERMANENT_OPERATION,
            planned_start=date(2024, 1, 1),
            participations=[ParticipationRecord(organisation_id=registry.a, role=Role.ACCOUNTABLE)],
        )
    )
    assert isinstance(made, InterventionRecord)
    assert (made.version, made.published, made.status) == (1, False, Status.PLANNED)
    assert made.updated_at.tzinfo is not None
    assert admin.get(made.id) == made
    assert isinstance(registry.users["editor"], UserOut)
    assert registry.users["editor"].role is UserRole.EDITOR
    with pytest.raises(RegistryError, match="unknown field"):
        admin.create_intervention({**_payload(registry.a), "colour": "blue"})


def test_keys_are_stable_and_unique(registry):
    from bryta.errors import Conflict

    admin = registry.service("admin")
    assert registry.intervention.key  # given one when created without
    made = admin.create_intervention(_payload(registry.a, key="MALMÖ-1"))
    assert made.key == "MALMÖ-1" and admin.id_of("MALMÖ-1") == made.id
    with pytest.raises(Conflict, match="has the key 'MALMÖ-1' already"):
        admin.create_intervention(_payload(registry.a, key="MALMÖ-1"))
    with pytest.raises(RegistryError, match="key never changes"):
        admin.update_intervention(made.id, {"key": "other"}, 1)
    with pytest.raises(NotFound):
        registry.service("public").id_of("MALMÖ-1")  # not published


def test_synthetic_records_can_be_left_out_of_lists(registry):
    admin = registry.service("admin")
    admin.create_intervention(_payload(registry.a, title="Påhittad", synthetic=True))
    assert _titles(admin.list_interventions()) == ["Språkförskola", "Påhittad"]
    assert _titles(admin.list_interventions(exclude_synthetic=True)) == ["Språkförskola"]


def test_indicator_links_are_written_through_the_service(registry):
    editor, other = registry.service("editor"), registry.service("other_editor")
    id = registry.intervention.id
    links = [
        {"indicator_id": "N15419", "baseline": 70.0, "target": 80.0, "start_date": "2024-01-01"}
    ]
    with pytest.raises(AccessDenied):
        other.set_indicator_links(id, links, 1)
    with pytest.raises(RegistryError, match=r"indicator_links\[0\].target: 'high'"):
        editor.set_indicator_links(id, [{"indicator_id": "N15419", "target": "high"}], 1)
    out = editor.set_indicator_links(id, links, 1)
    assert out.version == 2
    assert [(i.indicator_id, i.baseline, i.target, i.start_date) for i in out.indicator_links] == [
        ("N15419", 70.0, 80.0, date(2024, 1, 1))
    ]
    entry = _audit(registry.engine)[-1]
    assert (
        entry.before["indicator_links"] == [] and entry.after["indicator_links"][0]["target"] == 80
    )
    assert registry.service("viewer").get(id).indicator_links == out.indicator_links


def test_the_audit_trail_is_read_through_the_service(registry):
    with pytest.raises(AccessDenied, match="the public may not read the audit trail"):
        registry.service("public").audit_trail()
    trail = registry.service("viewer").audit_trail("interventions", registry.intervention.id)
    assert [(e.action, e.who) for e in trail] == [(AuditAction.CREATE, "system")]
    assert trail[0].after["title"] == "Språkförskola" and trail[0].at.tzinfo is not None


def test_the_public_never_sees_a_succession_to_unpublished_work(registry):
    admin = registry.service("admin")
    later = admin.create_intervention(_payload(registry.a, key="LATER"))
    first = admin.update_intervention(
        registry.intervention.id, {"successions": [{"to": "LATER", "kind": "continued"}]}, 1
    )
    assert [s.to for s in first.successions] == ["LATER"]
    admin.publish(first.id, first.version)
    public = registry.service("public")
    assert public.get(first.id).successions == []
    admin.publish(later.id, later.version)
    assert [s.to for s in public.get(first.id).successions] == ["LATER"]
