"""The registry's use cases: create a registry, import, seed, export, list, read the audit
trail, and diagnose the portfolio with its inputs.

Every read and change goes through :class:`~bryta.registry.service.RegistryService` for an
actor (``ctx.registry(actor)``), so the public sees published interventions only. The
functions take a :class:`~bryta.app.context.Context`, return data and never print; the
command line (``bryta registry``) and a web app render what they return.

The diagnosis adds what the portfolio does not hold: the official 2022 area types of the
RegSO (a DeSO through its RegSO), the RegSO population 2022 (need coverage) and, from an
area-types file, every area's type by year (reaction lag) and socioeconomic index
(concentration index).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from bryta.app.context import Context
from bryta.errors import InputError
from bryta.registry import db
from bryta.registry.exchange import (
    ImportResult,
    import_records,
    read_programmes_csv,
    read_registry_csv,
    read_registry_json,
    synthetic_portfolio,
    write_registry_csv,
    write_registry_json,
)
from bryta.registry.records import InterventionRecord
from bryta.registry.service import SYSTEM, Actor, AuditRecord

if TYPE_CHECKING:
    from bryta.vocabulary import Form, Status

EXPORT_FORMATS = (".csv", ".json")
DIAGNOSE_BY = ("kommun", "area_type", "year")


# --- the database and who acts ----------------------------------------------------------------


def registry_url(ctx: Context) -> str:
    """The registry's URL (a plain path given as ``--database`` is a SQLite file)."""
    return db.normalise_url(ctx.settings.registry_url)


def init_registry(ctx: Context) -> str:
    """Create the registry, or bring it up to the newest schema; returns its URL."""
    url = registry_url(ctx)
    db.init(url)
    return url


def actor(ctx: Context, user_id: int | None = None, *, public: bool = False) -> Actor | None:
    """Who acts: the public (None), the registered user ``user_id``, or — whoever may open
    the database is its administrator — the ``system``."""
    if public:
        return None
    if user_id is None:
        return SYSTEM
    for user in ctx.registry(SYSTEM).list_users():
        if user.id == user_id:
            return Actor(
                id=user.id, name=user.name, role=user.role, organisation_id=user.organisation_id
            )
    raise InputError(f"--as {user_id}: no user with this id (bryta registry user list)")


#: The key of PostgreSQL's advisory lock that :func:`ensure_registry` holds while it creates and
#: seeds the registry ("bryta" in ASCII).
SETUP_LOCK_KEY = 0x6272797461


@contextlib.contextmanager
def _setup_lock(ctx: Context) -> Iterator[None]:
    """One process (and one thread) at a time sets the registry up.

    SQLite: an exclusive lock on ``<registry file>.lock`` beside the file (the registry file
    itself may not exist yet); PostgreSQL: a session advisory lock on its own connection.
    Other databases: no lock.
    """
    url = registry_url(ctx)
    path = db.sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(f"{path.name}.lock"), "a+b") as handle:
            _lock_file(handle.fileno(), lock=True)
            try:
                yield
            finally:
                _lock_file(handle.fileno(), lock=False)
        return
    engine = ctx.registry_engine()
    if engine.dialect.name != "postgresql":
        yield
        return
    import sqlalchemy as sa

    with engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK_KEY})
            connection.commit()


def _lock_file(fd: int, *, lock: bool) -> None:
    """Take (waiting for it) or release an exclusive lock on the open file ``fd``."""
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        if not lock:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            return
        while True:  # LK_LOCK gives up after 10 s; keep waiting like flock does
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX if lock else fcntl.LOCK_UN)


def ensure_registry(ctx: Context) -> ImportResult | None:
    """Create the registry if needed, bring it to the newest schema, and seed an empty one
    with the real programmes (:func:`add_programmes`, no synthetic records).

    What the web app does as it starts. Safe when several processes or threads start at once
    on one database: they take turns (:func:`_setup_lock`), and the first seeds while the
    others find the programmes there. A registry that holds any intervention is left as it
    is — edits and deletions made since are never undone — so a second start adds nothing.
    Returns what the seeding did, or None when nothing was seeded.
    """
    with _setup_lock(ctx):
        init_registry(ctx)
        if ctx.registry(SYSTEM).list_interventions(limit=1):
            return None
        return add_programmes(ctx)


# --- files in ---------------------------------------------------------------------------------


def read_records(path: Path) -> list[InterventionRecord]:
    """The registry's CSV or JSON, or the layout of programmes.csv (told by its header)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_registry_json(path)
    if suffix != ".csv":
        raise InputError(f"{path}: a registry import reads .csv or .json, not {suffix or '(none)'}")
    with path.open(encoding="utf-8-sig") as handle:
        header = handle.readline()
    if header.startswith("id,name_sv,"):
        return read_programmes_csv(path)
    return read_registry_csv(path)


def _import(ctx: Context, records: list[InterventionRecord]) -> ImportResult:
    engine = ctx.registry_engine()
    db.require_schema(engine)
    with db.session(engine) as session:  # one transaction: all or nothing
        return import_records(session, engine, records)


def import_file(ctx: Context, path: Path) -> ImportResult:
    """Import a file as ``system``: new keys added, stored keys updated (or left alone when
    unchanged); every record checked first, all or nothing."""
    return _import(ctx, read_records(path))


def add_programmes(ctx: Context, synthetic: int = 0, seed: int = 0) -> ImportResult:
    """The real programmes 1974–2025, and ``synthetic`` invented interventions (unpublished,
    marked synthetic); seeding again adds nothing."""
    records = read_programmes_csv()
    if synthetic:
        records = [*records, *synthetic_portfolio(synthetic, seed=seed)]
    return _import(ctx, records)


# --- reading ----------------------------------------------------------------------------------


def interventions(
    ctx: Context,
    who: Actor | None,
    *,
    exclude_synthetic: bool = False,
    kommun: str | None = None,
    form: Form | str | None = None,
    status: Status | str | None = None,
    text: str | None = None,
    limit: int | None = None,
) -> list[InterventionRecord]:
    """The interventions ``who`` may see, filtered, with every link."""
    return ctx.registry(who).list_interventions(
        kommun=kommun,
        form=form,
        status=status,
        text=text,
        limit=limit,
        exclude_synthetic=exclude_synthetic,
    )


def has_registry(ctx: Context) -> bool:
    """Whether the context's registry exists at the newest schema (the web app reads it only
    then; ``bryta serve`` creates it as it starts). An unreachable server is a
    :class:`~bryta.errors.SourceError`."""
    from bryta.errors import NotFound

    try:
        db.require_schema(ctx.registry_engine())
    except NotFound:
        return False
    return True


def registry_version(ctx: Context) -> str:
    """A token that changes with every change to the registry's records ("none" without a
    registry): the newest audit entry (every write through the service is audited), and the
    interventions' count and newest ``updated_at`` (for writes that bypass the service). One
    small query, cheap enough to ask on every request of a page that shows the registry."""
    import sqlalchemy as sa

    from bryta.registry.models import AuditEntry, Intervention

    if not has_registry(ctx):
        return "none"
    with ctx.registry_engine().connect() as connection:
        audit = connection.scalar(sa.select(sa.func.max(AuditEntry.id)))
        count, newest = connection.execute(
            sa.select(sa.func.count(Intervention.id), sa.func.max(Intervention.updated_at))
        ).one()
    return f"{audit}-{count}-{newest}"


def published_in_kommun(ctx: Context, kommun: str) -> list[InterventionRecord] | None:
    """The published interventions linked to kommun ``kommun`` or to an area in it, as the
    public sees them (read through the service for the public actor); None when the context
    has no registry."""
    if not has_registry(ctx):
        return None
    return interventions(ctx, None, kommun=kommun, exclude_synthetic=True)


def audit_trail(
    ctx: Context, who: Actor | None, entity: str | None = None, entity_id: int | None = None
) -> list[AuditRecord]:
    """The audit entries ``who`` may read (signed-in users only)."""
    return ctx.registry(who).audit_trail(entity, entity_id)


def export(
    ctx: Context, output: Path, who: Actor | None, *, exclude_synthetic: bool = False
) -> int:
    """Write the interventions ``who`` may see as the registry's CSV or JSON (atomically);
    successions to interventions left out are left out. Returns how many were written."""
    suffix = output.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise InputError(f"{output}: output must be .csv or .json")
    records = interventions(ctx, who, exclude_synthetic=exclude_synthetic)
    keys = {r.key for r in records}
    for record in records:
        record.successions = [s for s in record.successions if s.to in keys]
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.partial")
    write = write_registry_csv if suffix == ".csv" else write_registry_json
    try:
        write(records, tmp)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    return len(records)


# --- diagnosis --------------------------------------------------------------------------------


def diagnose(
    ctx: Context,
    who: Actor | None,
    *,
    by: str,
    as_of: dt.date | None = None,
    area_types: Path | None = None,
    exclude_synthetic: bool = False,
) -> pl.DataFrame:
    """Short-termism, earliness, collaboration and need coverage of the portfolio ``who``
    may see, per kommun, area type or year (long: ``<by>, family, metric, value, label``)."""
    from bryta.compute.diagnostics import diagnose as run_diagnose
    from bryta.registry.portfolio import portfolio_frames

    if by not in DIAGNOSE_BY:
        raise InputError(f"--by {by}: use one of {', '.join(DIAGNOSE_BY)}")
    history = None
    frames = portfolio_frames(interventions(ctx, who, exclude_synthetic=exclude_synthetic))
    links, population = with_area_types(frames["area_links"])
    if area_types is not None:
        history, population = type_history(area_types, population)
    return run_diagnose(
        frames["interventions"],
        frames["participations"],
        links,
        frames["successions"],
        population,
        by=by,
        as_of=as_of,
        fundings=frames["fundings"],
        area_types=history,
    )


def with_area_types(area_links: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Area links with the official 2022 area type of their RegSO (a DeSO through its RegSO),
    and the bundled RegSO population 2022 with its type, for need coverage."""
    from bryta.datasets import load_demo_shares, official_area_types
    from bryta.geography.areas import load_regso_key

    types = official_area_types().select("regso", "area_type")
    deso = load_regso_key().select("deso", "regso")
    links = (
        area_links.join(deso, left_on="area", right_on="deso", how="left")
        .with_columns(pl.coalesce("regso", "area").alias("regso"))
        .join(types, on="regso", how="left")
        .drop("regso")
    )
    population = (
        load_demo_shares()
        .filter(year=2022)
        .join(types, on="regso")
        .select(pl.col("regso").alias("area"), "population", "area_type", "kommun")
    )
    return links, population


def type_history(path: Path, population: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Area types by year from ``path`` (the output of ``bryta area-types``: an area column,
    year, area_type, optionally index) for the reaction lag, and the latest year's index
    joined to the population for the concentration index."""
    from bryta.app.tables import read_table

    frame = read_table(path)
    unit = next((c for c in ("area", "regso", "deso") if c in frame.columns), None)
    missing = [c for c in ("year", "area_type") if c not in frame.columns]
    if unit is None or missing:
        raise InputError(
            f"{path}: needs an area column (area, regso or deso), year and area_type; "
            f"it has {', '.join(frame.columns)}"
        )
    columns: list[Any] = [
        pl.col(unit).cast(pl.String).alias("area"),
        pl.col("year").cast(pl.Int64),
        pl.col("area_type").cast(pl.Int64),
        pl.col(unit).cast(pl.String).str.slice(0, 4).alias("kommun"),
    ]
    if "index" in frame.columns:
        columns.append(pl.col("index").cast(pl.Float64))
    try:
        history = frame.select(columns).drop_nulls(["area", "year", "area_type"])
    except pl.exceptions.InvalidOperationError as exc:
        raise InputError(f"{path}: year, area_type and index must be numbers ({exc})") from exc
    if "index" in history.columns:
        latest = history.filter(pl.col("year") == pl.col("year").max()).select("area", "index")
        population = population.join(latest, on="area", how="left")
        history = history.drop("index")
    return history, population
