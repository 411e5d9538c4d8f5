"""Connecting to the registry database and migrating it.

SQLite (the default: ``registry.sqlite`` in :func:`bryta.warehouse.default_data_dir`) or
PostgreSQL (any ``postgresql+driver://`` URL). A plain file path is read as a SQLite file.
Nothing is created until :func:`init` is called: the schema comes only from the Alembic
migrations next to this module, configured here in code, so no ``alembic.ini`` is needed.
Every other use of a registry starts with :func:`require_schema` (the service calls it), which
refuses a database that was never initialised — without creating an empty SQLite file — and
turns an unreachable server into one :class:`~bryta.errors.SourceError`.

>>> engine = connect("sqlite://")
>>> engine.dialect.name
'sqlite'
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session

from bryta.errors import InputError, NotFound, SourceError
from bryta.warehouse import default_data_dir

FILE_NAME = "registry.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"
_checked: weakref.WeakSet[Engine] = weakref.WeakSet()


def default_url(data_dir: Path | None = None) -> str:
    """``sqlite:///<data dir>/registry.sqlite``; the data folder is ``data_dir``, else
    ``BRYTA_DATA_DIR`` or the XDG data folder."""
    folder = data_dir if data_dir is not None else default_data_dir()
    return URL.create("sqlite", database=str(folder / FILE_NAME)).render_as_string()


def normalise_url(url: str | None) -> str:
    """``url`` as a SQLAlchemy URL: a plain file path (``x.sqlite``, ``C:\\data\\r.sqlite``)
    becomes ``sqlite:///<path>``; None is :func:`default_url`.

    >>> normalise_url("sqlite:///r.sqlite")
    'sqlite:///r.sqlite'
    >>> normalise_url("data/r.sqlite")
    'sqlite:///data/r.sqlite'
    """
    if url is None or url == "":
        return default_url()
    if "://" not in url:
        return URL.create("sqlite", database=str(Path(url).expanduser())).render_as_string()
    return url


def _parse(url: str | None) -> URL:
    text = normalise_url(url)
    try:
        return make_url(text)
    except sa.exc.ArgumentError:
        raise InputError(
            f"--database {text!r} is neither a database URL (sqlite:///FILE, "
            "postgresql+psycopg://USER@HOST/NAME) nor a file path"
        ) from None


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL (None for other databases and for in-memory SQLite)."""
    parsed = url if isinstance(url, URL) else make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the web app read while a writer writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def connect(url: str | None = None, **engine_options: Any) -> Engine:
    """An engine for ``url`` (default :func:`default_url`; a plain path is a SQLite file).

    Creates nothing and connects to nothing: :func:`init` creates a registry,
    :func:`require_schema` checks that one is there.

    SQLite: every connection has foreign keys on and the WAL journal, and a writer waits up
    to 30 s for another one to finish (SQLite lets one writer in at a time; the driver's
    default is 5 s, and with 20 concurrent writers the slowest update took 3.4 s in the load
    benchmark — too close to it). Other URLs (PostgreSQL) are passed to
    :func:`sqlalchemy.create_engine` with ``engine_options``.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": 30, **engine_options.pop("connect_args", {})}
        engine_options["connect_args"] = connect_args
    try:
        engine = sa.create_engine(parsed, **engine_options)
    except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError, ModuleNotFoundError) as error:
        shown = parsed.render_as_string(hide_password=True)
        raise InputError(f"--database {shown}: cannot use this database ({error})") from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _unreachable(engine: Engine, error: sa.exc.DBAPIError) -> SourceError:
    reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
    return SourceError(f"cannot reach the registry database {_shown(engine)}: {reason}")


def require_schema(engine: Engine) -> None:
    """Refuse a registry that was never initialised or is at an older schema (checked once
    per engine).

    A missing SQLite file is reported without creating it; a server that cannot be reached
    is a :class:`~bryta.errors.SourceError`.
    """
    if engine in _checked:
        return
    fix = f"run `bryta registry init --database {_shown(engine)}`"
    path = sqlite_file(engine.url)
    if path is not None and not path.exists():
        raise NotFound(f"no registry at {path}: {fix} to create one")
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = connection.execute(
                    sa.text("SELECT version_num FROM alembic_version")
                ).scalar()
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise _unreachable(engine, error) from None
    if revision is None:
        raise NotFound(f"{_shown(engine)} is not an initialised registry: {fix}")
    if revision != head():
        raise NotFound(
            f"the registry {_shown(engine)} has the schema of revision {revision}, "
            f"this bryta needs {head()}: {fix} to upgrade it"
        )
    _checked.add(engine)


def alembic_config(connection: sa.Connection | None = None) -> Any:
    """An Alembic ``Config`` for the registry's migrations; ``connection`` is what they run on."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest migration's revision (what :func:`init` brings a registry to)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def upgrade(url: str | Engine | None = None, revision: str = "head") -> None:
    """Run the migrations on the database at ``url`` (or an engine) up to ``revision``.

    A SQLite file and its folder are created if missing (and removed again if the migrations
    fail on a file they created); an unreachable server is a :class:`SourceError`.
    """
    from alembic import command

    engine = url if isinstance(url, Engine) else connect(url)
    path = sqlite_file(engine.url)
    created = path is not None and not path.exists()
    try:
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(
                    f"--database {_shown(engine)}: cannot create the folder {path.parent} "
                    f"({error.strerror})"
                ) from None
        try:
            with engine.connect():
                pass
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            raise _unreachable(engine, error) from None
        try:
            with engine.begin() as connection:
                command.upgrade(alembic_config(connection), revision)
        except BaseException:
            if created and path is not None:  # leave no half-made registry behind
                engine.dispose()
                for leftover in (path, *(Path(f"{path}{s}") for s in ("-wal", "-shm"))):
                    leftover.unlink(missing_ok=True)
            raise
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
