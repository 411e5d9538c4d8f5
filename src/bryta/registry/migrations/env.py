"""Alembic environment for the registry, run by :func:`bryta.registry.db.upgrade`.

The connection comes from ``config.attributes["connection"]`` (set by ``db.upgrade``); with
the ``alembic`` command line, from ``sqlalchemy.url`` or else ``db.default_url()``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bryta.registry.models import Base

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from bryta.registry.db import connect, default_url

    engine = connect(context.config.get_main_option("sqlalchemy.url") or default_url())
    try:
        with engine.begin() as connection:
            _configure_and_run(connection)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    from bryta.registry.db import default_url

    context.configure(
        url=context.config.get_main_option("sqlalchemy.url") or default_url(),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Only inside Alembic: importing this module elsewhere (pytest --doctest-modules) does nothing.
if getattr(context, "config", None) is not None:
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()
