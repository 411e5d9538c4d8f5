"""Registry load: concurrent writers through the service layer on SQLite and PostgreSQL.

Run from the project root (timings on a 2-core machine: docs/performance.md)::

    uv run python benchmarks/bench_registry.py                 # default, SQLite (+ PostgreSQL)
    uv run python benchmarks/bench_registry.py --quick         # 2,000 seeded, 30 updates each
    uv run python benchmarks/bench_registry.py --postgres postgresql+psycopg://...
    bash -c 'source .ci/postgres.sh && uv run python benchmarks/bench_registry.py'

Without ``--postgres`` the PostgreSQL run uses ``BRYTA_TEST_POSTGRES_URL`` when it is set;
otherwise only SQLite is run. On PostgreSQL a scratch database (``bryta_bench_registry``) is
created next to the one in the URL and dropped afterwards.

For each backend:

Options: ``--ops N`` updates per writer (100; 30 with ``--quick``), ``--hot N`` shared
interventions (50), ``--interventions N`` seeded (10,000; 2,000 with ``--quick``), ``--seed``.

(1) Seed: a fresh database migrated to head (``db.init``), then 10,000 synthetic interventions
    (``exchange.synthetic_portfolio(10_000, seed)``) through the **fast path**
    ``exchange.load_into`` (plain ORM inserts, no access checks, no audit entries): seeding is
    not what is measured. The writers' users (editors of one organisation and admins) are
    created through ``RegistryService(engine, SYSTEM)``.
(2) Load: 20 threads, each with its own engine and ``RegistryService`` acting as its own user
    (half editors of the organisation that is accountable or implementing in the most
    interventions, half admins). Each does a fixed number of read-modify-write updates on a
    shared hot set of that organisation's interventions (random picks, so writers collide):
    ``get(id)``, then ``update_intervention(id, {"group_tags": ...}, expected_version)``
    incrementing a counter tag the writer owns (``bench-w07=12``); on ``StaleVersion`` it
    re-reads and re-applies, until the update succeeds. Latency of an operation: from the
    first read to the successful update, retries included.
(3) Check: for every hot intervention and writer, the counter tag stored must equal the
    number of updates that writer saw succeed there; the sum over writers must equal the
    version increase and the number of UPDATE audit entries of that intervention. Lost
    updates = successful updates whose increment is not in the stored counters (must be 0).

SQLite: every connection of ``db.connect`` has WAL and foreign keys on, but no busy timeout
of its own (pysqlite's default is 5 s). The benchmark alone passes
``connect_args={"timeout": 30}`` so that writers queue for the single write lock instead of
failing with "database is locked"; WAL lets readers run meanwhile, but writes are serialised.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

import bryta
from bryta.registry import db
from bryta.registry.exchange import load_into, synthetic_portfolio
from bryta.registry.models import AuditEntry, Intervention, Organisation, Participation
from bryta.registry.service import SYSTEM, RegistryService, StaleVersion
from bryta.vocabulary import AuditAction, Role, UserRole

SEED = 20240611
N_INTERVENTIONS = 10_000
N_QUICK = 2_000  # seeded with --quick (load_into takes ~20 s for 10,000 on SQLite)
N_WRITERS = 20
OPS = 100  # read-modify-write updates per writer (default run)
OPS_QUICK = 30
HOT = 50  # interventions the writers share
SQLITE_TIMEOUT_S = 30.0
PG_DATABASE = "bryta_bench_registry"
TAG = "bench-w"


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def counters(tags: Sequence[str]) -> dict[int, int]:
    """Writer number → counter value from the ``bench-wNN=k`` tags."""
    out = {}
    for tag in tags:
        if tag.startswith(TAG):
            writer, value = tag[len(TAG) :].split("=")
            out[int(writer)] = int(value)
    return out


def bumped(tags: Sequence[str], writer: int) -> list[str]:
    """``tags`` with this writer's counter incremented (added at 1 if absent)."""
    prefix = f"{TAG}{writer:02d}="
    out, found = [], False
    for tag in tags:
        if tag.startswith(prefix):
            tag = f"{prefix}{int(tag[len(prefix) :]) + 1}"
            found = True
        out.append(tag)
    if not found:
        out.append(f"{prefix}1")
    return out


# ---- databases ----------------------------------------------------------------------------


def engine_for(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return db.connect(url, connect_args={"timeout": SQLITE_TIMEOUT_S})
    return db.connect(url)


def scratch_postgres(url: str, create: bool) -> str:
    """Create (or drop) the scratch database next to ``url``; returns its URL."""
    admin = sa.create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
            if create:
                connection.execute(sa.text(f"CREATE DATABASE {PG_DATABASE}"))
    finally:
        admin.dispose()
    return make_url(url).set(database=PG_DATABASE).render_as_string(hide_password=False)


def seed(url: str, n: int, seed_: int, hot: int) -> dict[str, Any]:
    """Migrate, load ``n`` synthetic interventions (fast path), create the writers' users."""
    t0 = time.perf_counter()
    db.init(url)
    t_init = time.perf_counter() - t0
    records = synthetic_portfolio(n, seed_)
    engine = engine_for(url)
    try:
        t0 = time.perf_counter()
        with db.session(engine) as session:
            load_into(session, records)
        t_load = time.perf_counter() - t0
        scope = [Role.ACCOUNTABLE, Role.IMPLEMENTING]
        with Session(engine) as session:
            org_id, org_name, count = session.execute(
                sa.select(
                    Organisation.id,
                    Organisation.name,
                    sa.func.count(sa.distinct(Participation.intervention_id)),
                )
                .join(Participation, Participation.organisation_id == Organisation.id)
                .where(Participation.role.in_(scope))
                .group_by(Organisation.id, Organisation.name)
                .order_by(sa.func.count(sa.distinct(Participation.intervention_id)).desc())
                .limit(1)
            ).one()
            candidates = list(
                session.scalars(
                    sa.select(Participation.intervention_id)
                    .where(Participation.organisation_id == org_id, Participation.role.in_(scope))
                    .distinct()
                    .order_by(Participation.intervention_id)
                )
            )
            total = session.scalar(sa.select(sa.func.count()).select_from(Intervention))
        hot_ids = random.Random(seed_).sample(candidates, min(hot, len(candidates)))
        system = RegistryService(engine, SYSTEM)
        users = []
        for w in range(N_WRITERS):
            editor = w % 2 == 0
            users.append(
                system.create_user(
                    {
                        "name": f"bench writer {w:02d}",
                        "role": UserRole.EDITOR if editor else UserRole.ADMIN,
                        "organisation_id": org_id if editor else None,
                    }
                )
            )
        versions = {i: system.get(i).version for i in hot_ids}
    finally:
        engine.dispose()
    return {
        "t_init": t_init,
        "t_load": t_load,
        "total": total,
        "org": f"{org_name} (id {org_id}, in scope of {count:,} interventions)",
        "hot": sorted(hot_ids),
        "users": users,
        "versions": versions,
    }


# ---- the load -----------------------------------------------------------------------------


class Writer(threading.Thread):
    def __init__(self, number: int, url: str, user: Any, hot: list[int], ops: int, start: Any):
        super().__init__(name=f"writer-{number:02d}")
        self.number, self.url, self.user, self.hot, self.ops = number, url, user, hot, ops
        self.start_barrier = start
        self.latencies: list[float] = []
        self.done: Counter[int] = Counter()  # intervention id → successful updates
        self.stale = 0
        self.errors: list[str] = []

    def run(self) -> None:
        engine = engine_for(self.url)
        try:
            service = RegistryService(engine, self.user)
            service.get(self.hot[0])  # open the connection before the clock starts
            rng = random.Random(SEED * 100 + self.number)
            self.start_barrier.wait()
            for _ in range(self.ops):
                id = rng.choice(self.hot)
                t0 = time.perf_counter()
                while True:
                    try:
                        current = service.get(id)
                        service.update_intervention(
                            id,
                            {"group_tags": bumped(current.group_tags, self.number)},
                            current.version,
                        )
                        break
                    except StaleVersion:
                        self.stale += 1
                    except Exception as error:  # counted and reported
                        self.errors.append(f"{type(error).__name__}: {error}"[:200])
                        if len(self.errors) > 20:
                            return
                self.latencies.append(time.perf_counter() - t0)
                self.done[id] += 1
        finally:
            engine.dispose()


def load(url: str, seeded: dict[str, Any], ops: int) -> dict[str, Any]:
    barrier = threading.Barrier(N_WRITERS + 1)
    writers = [
        Writer(w, url, seeded["users"][w], seeded["hot"], ops, barrier) for w in range(N_WRITERS)
    ]
    for w in writers:
        w.start()
    barrier.wait()
    t0 = time.perf_counter()
    for w in writers:
        w.join()
    wall = time.perf_counter() - t0
    return {"wall": wall, "writers": writers}


def verify(url: str, seeded: dict[str, Any], writers: list[Writer]) -> dict[str, Any]:
    """Stored counters, versions and audit entries against what the writers saw succeed."""
    engine = engine_for(url)
    try:
        with Session(engine) as session:
            rows = session.execute(
                sa.select(Intervention.id, Intervention.group_tags, Intervention.version).where(
                    Intervention.id.in_(seeded["hot"])
                )
            ).all()
            audits = dict(
                session.execute(
                    sa.select(AuditEntry.entity_id, sa.func.count())
                    .where(
                        AuditEntry.entity == "interventions",
                        AuditEntry.action == AuditAction.UPDATE,
                        AuditEntry.entity_id.in_(seeded["hot"]),
                    )
                    .group_by(AuditEntry.entity_id)
                ).all()
            )
    finally:
        engine.dispose()
    lost = extra = version_mismatch = audit_mismatch = 0
    for id, tags, version in rows:
        stored = counters(tags or [])
        ok_here = 0
        for w in writers:
            expected = w.done[id]
            got = stored.get(w.number, 0)
            lost += max(expected - got, 0)
            extra += max(got - expected, 0)
            ok_here += expected
        version_mismatch += version - seeded["versions"][id] != ok_here
        audit_mismatch += audits.get(id, 0) != ok_here
    return {
        "lost": lost,
        "extra": extra,
        "version_mismatch": version_mismatch,
        "audit_mismatch": audit_mismatch,
        "audit_total": sum(audits.values()),
        "records": len(rows),
    }


def run_backend(label: str, url: str, args: argparse.Namespace, ops: int) -> dict[str, Any]:
    print(f"\n{label}: seeding {args.interventions:,} interventions (fast path) …", flush=True)
    seeded = seed(url, args.interventions, args.seed, args.hot)
    print(
        f"  migrations {seeded['t_init']:.1f} s; load_into {seeded['t_load']:.1f} s "
        f"({seeded['total']:,} interventions stored, no audit entries: exchange.load_into)"
    )
    print(
        f"  hot set: {len(seeded['hot'])} interventions of {seeded['org']}; "
        f"{N_WRITERS} writers ({N_WRITERS // 2} editors of it, {N_WRITERS - N_WRITERS // 2} "
        f"admins), {ops} updates each",
        flush=True,
    )
    res = load(url, seeded, ops)
    writers = res["writers"]
    lat = [x for w in writers for x in w.latencies]
    ok = len(lat)
    stale = sum(w.stale for w in writers)
    errors = [e for w in writers for e in w.errors]
    check = verify(url, seeded, writers)
    row = {
        "label": label,
        "ok": ok,
        "planned": N_WRITERS * ops,
        "wall": res["wall"],
        "rate": ok / res["wall"],
        "p50": pct(lat, 50) * 1e3,
        "p95": pct(lat, 95) * 1e3,
        "max": max(lat, default=float("nan")) * 1e3,
        "mean": statistics.fmean(lat) * 1e3 if lat else float("nan"),
        "stale": stale,
        "errors": len(errors),
        **check,
    }
    print(
        f"  {ok:,} of {row['planned']:,} updates in {row['wall']:.1f} s: "
        f"{row['rate']:,.0f} updates/s; latency p50 {row['p50']:.1f} ms, p95 {row['p95']:.1f} ms, "
        f"max {row['max']:.0f} ms (from first read to committed update, retries included)"
    )
    print(
        f"  StaleVersion retries {stale:,} ({stale / max(ok, 1):.2f} per update); "
        f"other errors {len(errors)}"
    )
    for e in sorted(set(errors))[:5]:
        print(f"    {e}")
    print(
        f"  check on {check['records']} hot records: lost updates {check['lost']}, "
        f"counted twice {check['extra']}, version ≠ updates on {check['version_mismatch']}, "
        f"audit entries ≠ updates on {check['audit_mismatch']} ({check['audit_total']:,} "
        f"UPDATE audit entries)"
    )
    return row


# ---- main ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def summary(rows: list[dict[str, Any]]) -> None:
    print("\nSummary")
    head = (
        f"{'backend':17s} {'updates':>8s} {'seconds':>8s} {'upd/s':>7s} {'p50 ms':>7s} "
        f"{'p95 ms':>7s} {'retries':>8s} {'errors':>6s} {'lost':>5s} {'audit ok':>8s}  target"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        audit_ok = r["audit_mismatch"] == 0 and r["version_mismatch"] == 0
        good = r["lost"] == 0 and r["extra"] == 0 and audit_ok and r["errors"] == 0
        good = good and r["ok"] == r["planned"]
        print(
            f"{r['label']:17s} {r['ok']:8,} {r['wall']:8.1f} {r['rate']:7,.0f} {r['p50']:7.1f} "
            f"{r['p95']:7.1f} {r['stale']:8,} {r['errors']:6} {r['lost']:5} "
            f"{'yes' if audit_ok else 'NO':>8s}  zero lost updates: {verdict(good)}"
        )
    print(
        f"updates: successful read-modify-write updates by {N_WRITERS} concurrent writers "
        "(each its own engine and RegistryService);\n  seconds: wall time of the concurrent "
        "phase; p50/p95: per update, first read to commit, StaleVersion retries included;\n"
        "  retries: StaleVersion caught and retried; lost: increments missing from the stored "
        "counters;\n  audit ok: per hot record, version increase and UPDATE audit entries "
        "both equal its successful updates."
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"{OPS_QUICK} updates per writer, {N_QUICK:,} interventions seeded",
    )
    ap.add_argument("--postgres", metavar="URL", help="PostgreSQL URL (postgresql+psycopg://…)")
    ap.add_argument("--ops", type=int, help=f"updates per writer (default {OPS})")
    ap.add_argument("--hot", type=int, default=HOT, help=f"shared interventions (default {HOT})")
    ap.add_argument("--interventions", type=int, help=f"seeded (default {N_INTERVENTIONS:,})")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    ops = args.ops or (OPS_QUICK if args.quick else OPS)
    args.interventions = args.interventions or (N_QUICK if args.quick else N_INTERVENTIONS)
    pg_url = args.postgres or os.environ.get("BRYTA_TEST_POSTGRES_URL")
    t_start = time.perf_counter()
    print(
        f"bryta {bryta.__version__}: registry load, sqlalchemy {sa.__version__}, "
        f"python {sys.version.split()[0]}, sqlite {__import__('sqlite3').sqlite_version}; "
        f"{os.cpu_count()} CPUs"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bryta-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'registry.sqlite'}"
        rows.append(run_backend("SQLite", url, args, ops))
    if pg_url:
        scratch = scratch_postgres(pg_url, create=True)
        try:
            engine = sa.create_engine(make_url(scratch))
            with engine.connect() as connection:
                version = connection.execute(sa.text("SHOW server_version")).scalar()
            engine.dispose()
            rows.append(run_backend(f"PostgreSQL {version.split()[0]}", scratch, args, ops))
        finally:
            scratch_postgres(pg_url, create=False)
    else:
        print("\nPostgreSQL: skipped (no --postgres and no BRYTA_TEST_POSTGRES_URL)")
    summary(rows)
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s")
    return 0 if all(r["lost"] == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
