"""The statistics warehouse: one embedded DuckDB file shared by the CLI, the web app and reports.

Every dataset (counts, indicator values, areas, geometries, computed results) is a table
``ds_<name>`` plus one row in ``datasets`` with its provenance (a
:class:`~bryta.ingest.provenance.Provenance`, the one type every importer returns): source,
table id, query, retrieval time, licence, and the file it came from with its SHA-256 where
there was one.

Writes are atomic: a dataset is written inside one transaction that also records its
provenance, so a failed import leaves the warehouse exactly as it was.

Readers and writers share the file. DuckDB lets one process open a file for writing, or many
for reading, never both at once; so the warehouse holds no connection: every operation opens
its own (read-only for reads) and closes it when done, and a process that finds the file held
by another waits briefly and tries again, up to ``timeout`` seconds, before raising
:class:`WarehouseUnavailable`. A reader of a warehouse that does not exist yet sees an empty
one; the file is created by the first write, in one step (built aside, then moved into
place), so no reader ever sees half a file and a failed first write leaves no file behind.

Location: ``--data-dir`` on the command line, else the ``BRYTA_DATA_DIR`` environment
variable, else ``$XDG_DATA_HOME/bryta`` (``~/.local/share/bryta``); the file is
``bryta.duckdb`` in that folder. Nothing is created until a dataset is stored.
"""

from __future__ import annotations

import builtins
import json
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from bryta.errors import BrytaError, Conflict, InputError, NotFound, SourceError
from bryta.ingest.provenance import Provenance

__all__ = [
    "DEFAULT_TIMEOUT",
    "FILE_NAME",
    "KINDS",
    "DatasetExists",
    "DatasetNotFound",
    "Provenance",
    "Warehouse",
    "WarehouseError",
    "WarehouseInputError",
    "WarehouseUnavailable",
    "default_data_dir",
]

FILE_NAME = "bryta.duckdb"
KINDS = ("counts", "indicator", "areas", "geometries", "results", "table")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Seconds an operation waits for a file another process holds before giving up.
DEFAULT_TIMEOUT = 20.0
_T = TypeVar("_T")


class WarehouseError(BrytaError):
    """A dataset that does not exist, a bad name, or a failed write."""


class DatasetNotFound(WarehouseError, NotFound):
    """No dataset of that name in the warehouse."""


class DatasetExists(WarehouseError, Conflict):
    """A dataset of that name exists already and replacing it was not asked for."""


class WarehouseUnavailable(WarehouseError, SourceError):
    """The warehouse file cannot be opened: held by another process for longer than the
    wait allowed, unreadable, or not a DuckDB file."""


class WarehouseInputError(WarehouseError, InputError):
    """A dataset name, kind or frame the warehouse does not take."""


def default_data_dir() -> Path:
    """``BRYTA_DATA_DIR``, else ``$XDG_DATA_HOME/bryta``, else ``~/.local/share/bryta``."""
    if env := os.environ.get("BRYTA_DATA_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "bryta"


_SCHEMA = """
create table if not exists datasets (
    name varchar primary key,
    kind varchar not null,
    rows bigint not null,
    columns varchar not null,
    source varchar not null,
    licence varchar,
    table_id varchar,
    query varchar,
    file varchar,
    sha256 varchar,
    retrieved_at varchar,
    stored_at varchar not null
)
"""


class Warehouse:
    """The warehouse file in a folder. Use as a context manager, or call :meth:`close`.

    No connection is held between operations: each :meth:`put`, :meth:`drop`, :meth:`list`,
    :meth:`info`, :meth:`catalogue` and :meth:`get` opens the file, does its work and closes
    it, so other processes can read and write between them. ``read_only`` warehouses never
    write (and never create the file); ``timeout`` is how long an operation waits for a file
    held by another process.

    >>> import tempfile, polars as pl
    >>> with Warehouse.open(tempfile.mkdtemp()) as wh:
    ...     _ = wh.put("tiny", pl.DataFrame({"kommun": ["0114"], "n": [3]}), kind="counts",
    ...                provenance=Provenance(source="example", licence="CC0 1.0"))
    ...     wh.get("tiny").to_dicts(), wh.list()["name"].to_list()
    ([{'kommun': '0114', 'n': 3}], ['tiny'])
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        read_only: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        self.path = Path(path)
        self.read_only = read_only
        self.timeout = timeout

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Warehouse:
        """The warehouse ``bryta.duckdb`` in ``data_dir`` or the default folder.

        Nothing is opened or created here: the file is opened by each operation, and created
        by the first :meth:`put`.
        """
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        return cls(folder / FILE_NAME, read_only=read_only, timeout=timeout)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: no connection outlives an operation."""

    # ---- connections ------------------------------------------------------------------------
    def _connect_once(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A connection, waiting (with growing, jittered pauses) while another process holds
        the file; :class:`WarehouseUnavailable` when the wait exceeds ``timeout``."""
        deadline = time.monotonic() + self.timeout
        pause = 0.005
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                if not _is_busy(exc):
                    raise WarehouseUnavailable(
                        f"{self.path}: cannot open the warehouse ({_first_line(exc)})"
                    ) from exc
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WarehouseUnavailable(
                        f"{self.path}: the warehouse is in use by another process and was not "
                        f"released within {self.timeout:g} s; try again when it has finished"
                    ) from exc
                time.sleep(min(left, pause * random.uniform(0.5, 1.5)))
                pause = min(pause * 2, 0.1)

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A connection for one operation, closed after it; None to a reader when the file
        does not exist (an empty warehouse)."""
        if not write and not self.path.exists():
            yield None
            return
        con = self._connect_once(read_only=not write)
        try:
            yield con
        finally:
            con.close()

    def _write(self, action: Callable[[duckdb.DuckDBPyConnection], _T]) -> _T:
        """Run ``action`` on a writable connection, creating the file if needed.

        A new file is built aside (schema and the first write) and moved into place only
        when the write succeeded; if another process created the file meanwhile, the write
        is done again in that file.
        """
        if self.read_only:
            raise RuntimeError(f"{self.path}: this warehouse was opened read-only")
        if not self.path.exists():
            created = self._create_with(action)
            if created is not None:
                return created[0]
        with self._connection(write=True) as con:
            assert con is not None
            con.execute(_SCHEMA)
            return action(con)

    def _create_with(self, action: Callable[[duckdb.DuckDBPyConnection], _T]) -> tuple[_T] | None:
        """``(result,)`` of ``action`` run in a new file moved into place; None when another
        process created the file first."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        aside = self.path.with_name(f".{self.path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            con = duckdb.connect(str(aside))
            try:
                con.execute(_SCHEMA)
                result = action(con)
            finally:
                con.close()
            try:
                os.link(aside, self.path)  # fails if the file appeared meanwhile
            except FileExistsError:
                return None
            except OSError:  # no hard links here (some network or FAT folders)
                if self.path.exists():
                    return None
                os.replace(aside, self.path)
            return (result,)
        finally:
            for leftover in (aside, aside.with_name(aside.name + ".wal")):
                leftover.unlink(missing_ok=True)

    # ---- writing ----------------------------------------------------------------------------
    def put(
        self,
        name: str,
        frame: pl.DataFrame,
        *,
        kind: str,
        provenance: Provenance,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Store ``frame`` as dataset ``name`` with its provenance, all or nothing."""
        if not _NAME.match(name):
            raise WarehouseInputError(
                f"dataset name {name!r}: use lower-case letters, digits and _ (start with a "
                "letter, at most 63 characters)"
            )
        if kind not in KINDS:
            raise WarehouseInputError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")

        def store(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
            exists = con.execute("select count(*) from datasets where name = ?", [name]).fetchall()[
                0
            ][0]
            if exists and not replace:
                raise DatasetExists(f"dataset {name!r} exists already (replace it explicitly)")
            record = {
                "name": name,
                "kind": kind,
                "rows": frame.height,
                "columns": json.dumps({c: str(t) for c, t in frame.schema.items()}),
                **provenance.record(),
                "stored_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            con.execute("begin transaction")
            try:
                con.register("__incoming", frame.to_arrow())
                con.execute(f'create or replace table "ds_{name}" as select * from __incoming')
                con.unregister("__incoming")
                con.execute("delete from datasets where name = ?", [name])
                cols = ", ".join(record)
                marks = ", ".join("?" for _ in record)
                con.execute(
                    f"insert into datasets ({cols}) values ({marks})", list(record.values())
                )
                con.execute("commit")
            except Exception as exc:
                con.execute("rollback")
                raise WarehouseError(f"dataset {name!r} was not stored: {exc}") from exc
            return record

        return self._write(store)

    def drop(self, name: str) -> None:
        """Remove dataset ``name`` and its provenance."""
        if self.read_only:
            raise RuntimeError(f"{self.path}: this warehouse was opened read-only")
        if not self.path.exists():
            self.info(name)  # an empty warehouse: DatasetNotFound

        def remove(con: duckdb.DuckDBPyConnection) -> None:
            self._info(con, name)
            con.execute("begin transaction")
            try:
                con.execute(f'drop table if exists "ds_{name}"')
                con.execute("delete from datasets where name = ?", [name])
                con.execute("commit")
            except Exception:
                con.execute("rollback")
                raise

        with self._connection(write=True) as con:
            assert con is not None
            con.execute(_SCHEMA)
            remove(con)

    # ---- reading ----------------------------------------------------------------------------
    def list(self) -> pl.DataFrame:
        """One row per dataset: name, kind, rows, source, table_id, retrieved_at, licence."""
        with self._connection(write=False) as con:
            return self._list(con)

    def info(self, name: str) -> dict[str, Any]:
        """The provenance record of one dataset."""
        with self._connection(write=False) as con:
            return self._info(con, name)

    def catalogue(self) -> builtins.list[dict[str, Any]]:
        """Every dataset's whole catalogue row (provenance, ``columns`` as a dict of column
        names and types, ``stored_at``), sorted by name, read in one connection."""
        with self._connection(write=False) as con:
            if con is None or not _has_catalogue(con):
                return []
            rel = con.execute("select * from datasets order by name")
            names = [d[0] for d in rel.description]
            records = [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
        for record in records:
            record["columns"] = json.loads(record["columns"])
        return records

    def get(self, name: str) -> pl.DataFrame:
        """The dataset as a polars frame, with the column types it was stored with."""
        with self._connection(write=False) as con:
            self._info(con, name)
            assert con is not None
            return _frame(con.sql(f'select * from "ds_{name}"').to_arrow_table())

    def _list(self, con: duckdb.DuckDBPyConnection | None) -> pl.DataFrame:
        if con is None or not _has_catalogue(con):
            return pl.DataFrame(schema=_LIST_SCHEMA)
        return _frame(
            con.sql(
                "select name, kind, rows, source, table_id, retrieved_at, licence "
                "from datasets order by name"
            ).to_arrow_table()
        )

    def _info(self, con: duckdb.DuckDBPyConnection | None, name: str) -> dict[str, Any]:
        row, description = None, []
        if con is not None and _has_catalogue(con):
            rel = con.execute("select * from datasets where name = ?", [name])
            rows = rel.fetchall()
            row, description = (rows[0] if rows else None), rel.description
        if row is None:
            known = ", ".join(self._list(con)["name"].to_list()) or "none"
            raise DatasetNotFound(f"no dataset {name!r} in {self.path} (datasets: {known})")
        record = dict(zip([d[0] for d in description], row, strict=True))
        record["columns"] = json.loads(record["columns"])
        return record


_LIST_SCHEMA = {
    "name": pl.String,
    "kind": pl.String,
    "rows": pl.Int64,
    "source": pl.String,
    "table_id": pl.String,
    "retrieved_at": pl.String,
    "licence": pl.String,
}


def _frame(table: Any) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _has_catalogue(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_name = 'datasets'"
    ).fetchall()
    return bool(found[0][0])


def _is_busy(exc: duckdb.Error) -> bool:
    """Whether the file is held by another process (or, in this process, by a connection
    of the other mode): worth waiting for."""
    text = str(exc)
    return (
        "Conflicting lock" in text
        or "Could not set lock" in text
        or ("different configuration" in text)
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
