"""Connecting to the registry database and migrating it.

SQLite (the default: ``registry.sqlite`` in :func:`bryta.warehouse.default_data_dir`) or
PostgreSQL (any ``postgresql+driver://`` URL). Nothing is created until :func:`connect` or
:func:`init` is called; the schema comes only from the Alembic migrations next to this module,
configured here in code, so no ``alembic.ini`` is needed.

>>> engine = connect("sqlite://")
>>> engine.dialect.name
'sqlite'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session

from bryta.warehouse import default_data_dir

FILE_NAME = "registry.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"


def default_url() -> str:
    """``sqlite:///<data dir>/registry.sqlite`` (``BRYTA_DATA_DIR`` or the XDG data folder)."""
    return URL.create("sqlite", database=str(default_data_dir() / FILE_NAME)).render_as_string()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the web app read while a writer writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def connect(url: str | None = None, **engine_options: Any) -> Engine:
    """An engine for ``url`` (default :func:`default_url`).

    SQLite: the folder of the file is created, every connection has foreign keys on and the
    WAL journal, and a writer waits up to 30 s for another one to finish (SQLite lets one
    writer in at a time; the driver's default is 5 s, and with 20 concurrent writers the
    slowest update took 3.4 s in the load benchmark — too close to it).
    Other URLs (PostgreSQL) are passed to :func:`sqlalchemy.create_engine` unchanged, with
    ``engine_options``.
    """
    parsed = make_url(url or default_url())
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": 30, **engine_options.pop("connect_args", {})}
        engine_options["connect_args"] = connect_args
    engine = sa.create_engine(parsed, **engine_options)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(connection: sa.Connection | None = None) -> Any:
    """An Alembic ``Config`` for the registry's migrations; ``connection`` is what they run on."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | Engine | None = None, revision: str = "head") -> None:
    """Run the migrations on the database at ``url`` (or an engine) up to ``revision``."""
    from alembic import command

    engine = url if isinstance(url, Engine) else connect(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        if engine is not url:
            engine.dispose()


def init(url: str | Engine | None = None) -> None:
    """Create or bring the registry at ``url`` up to date (the migrations to head)."""
    upgrade(url, "head")


@contextmanager
def session(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    with Session(engine) as current, current.begin():
        yield current
