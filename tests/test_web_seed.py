"""The registry the web app starts on: created and seeded with the real programmes on first
start, untouched on later starts, and safe when several workers start at once (threads and
processes on one SQLite file; threads on one PostgreSQL database)."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.registry import db
from bryta.registry.exchange import read_programmes_csv
from bryta.registry.service import SYSTEM
from bryta.web.app import create_app

PROGRAMMES = {r.key for r in read_programmes_csv()}


def _stored_keys(url: str) -> list[str]:
    engine = db.connect(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT key FROM interventions")).scalars())
    finally:
        engine.dispose()


def test_first_start_creates_and_seeds_the_registry_in_the_data_folder(tmp_path: Path):
    app = create_app(Settings(data_dir=tmp_path), seed=True)
    assert (tmp_path / "registry.sqlite").is_file()
    keys = _stored_keys(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    assert sorted(keys) == sorted(PROGRAMMES)
    records = registry.interventions(app.state.context, SYSTEM)
    assert all(r.published and not r.synthetic for r in records)


def test_a_second_start_adds_nothing_and_keeps_edits(tmp_path: Path):
    ctx = Context(Settings(data_dir=tmp_path))
    assert registry.ensure_registry(ctx).added == len(PROGRAMMES)
    service = ctx.registry(SYSTEM)
    first = service.list_interventions(limit=1)[0]
    service.unpublish(first.id, first.version)
    ctx.close()
    again = Context(Settings(data_dir=tmp_path))
    assert registry.ensure_registry(again) is None
    assert len(_stored_keys(registry.registry_url(again))) == len(PROGRAMMES)
    assert not again.registry(SYSTEM).get(first.id).published  # the edit stays
    again.close()


def test_without_seed_the_app_creates_no_registry(tmp_path: Path):
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    assert client.get("/healthz").status_code == 200
    assert not (tmp_path / "registry.sqlite").exists()


def test_threads_starting_together_seed_once(registry_url, tmp_path: Path):
    n = 4
    barrier = threading.Barrier(n)
    results: list[object] = []
    errors: list[BaseException] = []

    def start() -> None:
        ctx = Context(Settings(data_dir=tmp_path, database=registry_url))
        try:
            barrier.wait()
            results.append(registry.ensure_registry(ctx))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            ctx.close()

    threads = [threading.Thread(target=start) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    seeded = [r for r in results if r is not None]
    assert len(results) == n and len(seeded) == 1
    assert seeded[0].added == len(PROGRAMMES)
    keys = _stored_keys(registry_url)
    assert len(keys) == len(set(keys)) == len(PROGRAMMES)


def _start_worker(data_dir: str, barrier) -> None:
    barrier.wait()
    create_app(Settings(data_dir=data_dir), seed=True)


def test_processes_starting_together_seed_once(tmp_path: Path):
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2)
    workers = [spawn.Process(target=_start_worker, args=(str(tmp_path), barrier)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    keys = _stored_keys(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    assert len(keys) == len(set(keys)) == len(PROGRAMMES)
