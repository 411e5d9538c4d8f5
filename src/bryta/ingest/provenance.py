"""Where a table came from: one record for every way data enter bryta.

The SCB and Kolada clients return it with each fetch, the file readers (JSON-stat, SCB's CSV
exports) build it from the file, and the warehouse stores it beside every dataset. The
warehouse keeps the first seven fields (:meth:`Provenance.record`); the rest describe the
requests behind a fetch.

>>> p = Provenance(source="SCB PxWebApi 2.0", licence="CC0 1.0", table_id="TAB6574",
...                query='{"Tid":"TOP(2)"}', retrieved_at="2025-03-01T10:00:00+00:00")
>>> p.query_data, sorted(p.record())[:3]
({'Tid': 'TOP(2)'}, ['file', 'licence', 'query'])
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["RECORD_FIELDS", "Provenance", "Request", "now", "query_text"]

#: The fields the warehouse stores per dataset.
RECORD_FIELDS = ("source", "licence", "table_id", "query", "file", "sha256", "retrieved_at")


def now() -> str:
    """The current time in UTC, to the second, as ISO 8601 text."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Request:
    """One HTTP request behind a fetch: method, URL (path and query for Kolada), when it was
    answered (UTC; for a cached answer, when the source answered it) and whether the answer
    came from the on-disk cache."""

    url: str
    retrieved_at: str
    from_cache: bool = False
    method: str = "GET"

    @property
    def path(self) -> str:
        """The URL's path and query (as sent: the query stays percent-encoded)."""
        parts = urlsplit(self.url)
        return unquote(parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Provenance:
    """Where a table came from.

    ``source`` names the publisher and the channel (``SCB PxWebApi 2.0``, ``Kolada (RKA) API
    v3``, ``SCB Statistikdatabasen (CSV export)``); ``licence`` the terms of reuse;
    ``table_id`` the publisher's table or key-figure id; ``query`` what was asked, as text
    (compact JSON for an API query, :attr:`query_data` parses it); ``file`` and ``sha256``
    the imported file; ``retrieved_at`` when the data were retrieved (UTC; the earliest
    answer of a fetch; defaults to now).

    For a fetch also: ``url`` (the endpoint), ``table_updated`` (when the publisher last
    updated the table), ``requests`` (one :class:`Request` per page or part fetched), ``calls``
    (HTTP requests sent, retries included) and ``cache_hits`` (answers taken from the cache).
    """

    source: str
    licence: str = ""
    table_id: str = ""
    query: str = ""
    file: str = ""
    sha256: str = ""
    retrieved_at: str = field(default_factory=now)
    url: str = ""
    table_updated: str = ""
    requests: tuple[Request, ...] = ()
    calls: int = 0
    cache_hits: int = 0

    @classmethod
    def of_file(
        cls,
        path: str | os.PathLike[str],
        *,
        source: str,
        licence: str = "",
        data: bytes | None = None,
        **fields: Any,
    ) -> Provenance:
        """Provenance of an imported file: its name and the SHA-256 of its bytes (``data``
        when already read, else read from ``path``)."""
        path = Path(path)
        raw = path.read_bytes() if data is None else data
        digest = hashlib.sha256(raw).hexdigest()
        return cls(source=source, licence=licence, file=path.name, sha256=digest, **fields)

    @property
    def query_data(self) -> Any:
        """``query`` parsed as JSON (the text itself when it is not JSON)."""
        try:
            return json.loads(self.query)
        except ValueError:
            return self.query

    def record(self) -> dict[str, str]:
        """The fields the warehouse stores (:data:`RECORD_FIELDS`)."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready data."""
        return asdict(self)


def query_text(query: Any) -> str:
    """A query as compact JSON text (keys in the order given, non-ASCII kept)."""
    return json.dumps(query, ensure_ascii=False, separators=(",", ":"))
