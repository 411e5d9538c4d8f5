"""The statistics warehouse: one embedded DuckDB file shared by the CLI, the web app and reports.

Every dataset (counts, indicator values, areas, geometries, computed results) is a table
``ds_<name>`` plus one row in ``datasets`` with its provenance: source, table id, query,
retrieval time, licence, and the file it came from with its SHA-256 where there was one.

Writes are atomic: a dataset is written inside one transaction that also records its
provenance, so a failed import leaves the warehouse exactly as it was.

Location: ``--data-dir`` on the command line, else the ``BRYTA_DATA_DIR`` environment
variable, else ``$XDG_DATA_HOME/bryta`` (``~/.local/share/bryta``); the file is
``bryta.duckdb`` in that folder. Nothing is created until a warehouse is opened.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from bryta.errors import BrytaError, Conflict, InputError, NotFound, SourceError

FILE_NAME = "bryta.duckdb"
KINDS = ("counts", "indicator", "areas", "geometries", "results", "table")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class WarehouseError(BrytaError):
    """A dataset that does not exist, a bad name, or a failed write."""


class DatasetNotFound(WarehouseError, NotFound):
    """No dataset of that name in the warehouse."""


class DatasetExists(WarehouseError, Conflict):
    """A dataset of that name exists already and replacing it was not asked for."""


class WarehouseUnavailable(WarehouseError, SourceError):
    """The warehouse file cannot be opened (held by a writer, unreadable, not DuckDB)."""


class WarehouseInputError(WarehouseError, InputError):
    """A dataset name, kind or frame the warehouse does not take."""


def default_data_dir() -> Path:
    """``BRYTA_DATA_DIR``, else ``$XDG_DATA_HOME/bryta``, else ``~/.local/share/bryta``."""
    if env := os.environ.get("BRYTA_DATA_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "bryta"


@dataclass(frozen=True)
class Provenance:
    """Where a dataset came from. ``retrieved_at`` defaults to now (UTC)."""

    source: str
    licence: str = ""
    table_id: str = ""
    query: str = ""
    file: str = ""
    sha256: str = ""
    retrieved_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )


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
    """An open warehouse file. Use as a context manager, or call :meth:`close`.

    >>> import tempfile, polars as pl
    >>> with Warehouse.open(tempfile.mkdtemp()) as wh:
    ...     _ = wh.put("tiny", pl.DataFrame({"kommun": ["0114"], "n": [3]}), kind="counts",
    ...                provenance=Provenance(source="example", licence="CC0 1.0"))
    ...     wh.get("tiny").to_dicts(), wh.list()["name"].to_list()
    ([{'kommun': '0114', 'n': 3}], ['tiny'])
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            raise WarehouseUnavailable(f"{self.path}: cannot open the warehouse ({exc})") from exc
        self._con.execute(_SCHEMA)

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str] | None = None) -> Warehouse:
        """Open (creating if needed) ``bryta.duckdb`` in ``data_dir`` or the default folder."""
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        return cls(folder / FILE_NAME)

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

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
        exists = self._con.execute(
            "select count(*) from datasets where name = ?", [name]
        ).fetchall()[0][0]
        if exists and not replace:
            raise DatasetExists(f"dataset {name!r} exists already (replace it explicitly)")
        record = {
            "name": name,
            "kind": kind,
            "rows": frame.height,
            "columns": json.dumps({c: str(t) for c, t in frame.schema.items()}),
            **asdict(provenance),
            "stored_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        con = self._con
        con.execute("begin transaction")
        try:
            con.register("__incoming", frame.to_arrow())
            con.execute(f'create or replace table "ds_{name}" as select * from __incoming')
            con.unregister("__incoming")
            con.execute("delete from datasets where name = ?", [name])
            cols = ", ".join(record)
            marks = ", ".join("?" for _ in record)
            con.execute(f"insert into datasets ({cols}) values ({marks})", list(record.values()))
            con.execute("commit")
        except Exception as exc:
            con.execute("rollback")
            raise WarehouseError(f"dataset {name!r} was not stored: {exc}") from exc
        return record

    def drop(self, name: str) -> None:
        self.info(name)
        con = self._con
        con.execute("begin transaction")
        try:
            con.execute(f'drop table if exists "ds_{name}"')
            con.execute("delete from datasets where name = ?", [name])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise

    # ---- reading ----------------------------------------------------------------------------
    def list(self) -> pl.DataFrame:
        """One row per dataset: name, kind, rows, source, table_id, retrieved_at, licence."""
        return pl.from_arrow(
            self._con.sql(
                "select name, kind, rows, source, table_id, retrieved_at, licence "
                "from datasets order by name"
            ).to_arrow_table()
        )

    def info(self, name: str) -> dict[str, Any]:
        """The provenance record of one dataset."""
        rel = self._con.execute("select * from datasets where name = ?", [name])
        rows = rel.fetchall()
        row = rows[0] if rows else None
        if row is None:
            known = ", ".join(self.list()["name"].to_list()) or "none"
            raise DatasetNotFound(f"no dataset {name!r} in {self.path} (datasets: {known})")
        record = dict(zip([d[0] for d in rel.description], row, strict=True))
        record["columns"] = json.loads(record["columns"])
        return record

    def get(self, name: str) -> pl.DataFrame:
        """The dataset as a polars frame, with the column types it was stored with."""
        self.info(name)
        return pl.from_arrow(self._con.sql(f'select * from "ds_{name}"').to_arrow_table())
