"""Fetch tables from SCB's Statistikdatabasen through PxWebApi 2.0 (and the older API v1).

One client object keeps what must be shared between calls: the HTTP connection, the sliding
window of recent calls (SCB allows 30 calls per 10 seconds per IP address), and the on-disk
cache. Everything else is a plain function of the table's metadata::

    client = PxWebClient(cache_dir="~/.cache/bryta/scb")
    result = client.fetch("TAB6574", {"Region": "*_RegSO2025", "Alder": ["totalt"],
                                      "Kon": ["1", "2"], "ContentsCode": "*", "Tid": "TOP(3)"})
    result.frame        # tidy polars frame, one row per cell
    result.provenance   # source, table id, query, retrieval time, calls, licence

What the client does for every data request:

1. Reads the table's metadata (JSON-stat 2.0, ``GET /tables/{id}/metadata``) and resolves the
   selection against it: exact codes, wildcards (``*``, ``01*``, ``*_DeSO2025``, ``??``) and
   the expressions ``TOP(n[,offset])``, ``BOTTOM(n[,offset])``, ``FROM(code)``, ``TO(code)``
   and ``RANGE(a,b)`` with the server's semantics (``TOP`` on the time variable means the
   latest periods). Variables left out are eliminated by SCB, which is only allowed where the
   metadata says ``elimination: true``; the client checks this before any data call.
2. Splits the request so that no call asks for more than ``max_cells`` cells (the product of
   the numbers of selected values): along the variable with the most values (geography, then
   time, on ties), in near-equal chunks; along a second variable too when one value of the
   first is already too much.
3. Posts each chunk as ``{"selection": [{"variableCode", "valueCodes", "codelist"}]}`` with
   ``outputFormat=json-stat2``, parses it with :func:`bryta.ingest.jsonstat.read_jsonstat`,
   and concatenates the parts in metadata order, so a split request gives the same frame as
   an unsplit one.

Calls go through the HTTP core of :mod:`bryta.ingest._http`: they wait for the sliding window,
are retried with exponential back-off on 429, 5xx and time-outs (honouring ``Retry-After``),
and are cached on disk by a hash of method, URL and body when ``cache_dir`` is given. Errors
are :class:`ScbApiError` naming the table, the HTTP status and SCB's own message. The
provenance of a fetch is a :class:`~bryta.ingest.provenance.Provenance`. See
``docs/scb_api.md`` for the documentation pages behind each of these rules.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from bryta.errors import InputError
from bryta.ingest._http import HttpCore, RateLimit
from bryta.ingest._pxweb_tables import (
    _TABLE_ID,
    Codelist,
    ScbApiError,
    ScbSelectionError,
    TableMetadata,
    Variable,
    resolve_selection,
    split_selection,
)
from bryta.ingest.jsonstat import _kind, read_jsonstat
from bryta.ingest.provenance import Provenance, Request, query_text

__all__ = [
    "DEFAULT_BASE_URL",
    "LICENCE",
    "SOURCE",
    "SOURCE_V1",
    "V1_BASE_URL",
    "Codelist",
    "PxWebClient",
    "ScbApiError",
    "ScbResult",
    "ScbSelectionError",
    "TableMetadata",
    "Variable",
    "resolve_selection",
    "split_selection",
]

#: PxWebApi 2.0 at SCB (production since October 2025).
DEFAULT_BASE_URL = "https://statistikdatabasen.scb.se/api/v2/"
#: API v1, addressed by database path: ``{V1_BASE_URL}{lang}/ssd/{path}``.
V1_BASE_URL = "https://api.scb.se/OV0104/v1/doris/"
SOURCE = "SCB PxWebApi 2.0"
SOURCE_V1 = "SCB PxWeb API v1"
LICENCE = "CC0 1.0"


# ---- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScbResult:
    """A fetched table: the tidy ``frame``, its ``provenance`` and the table ``metadata``."""

    frame: pl.DataFrame
    provenance: Provenance
    metadata: TableMetadata | None = None


class PxWebClient:
    """A client for SCB's PxWebApi 2.0 (and API v1) with splitting, rate limit, retries, cache.

    Nothing is sent until a method is called. ``transport`` is any ``httpx`` transport (tests
    pass an ``httpx.MockTransport``); ``clock`` and ``sleep`` drive the rate limit and the
    back-off, so tests can run them on a fake clock. ``retries`` is the number of retries after
    the first attempt. API v1 calls have their own window of ``v1_calls_per_window`` calls
    (SCB's limit for v1 is 10 per 10 seconds).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        lang: str = "sv",
        cache_dir: str | os.PathLike[str] | None = None,
        transport: httpx.BaseTransport | None = None,
        max_cells: int = 150_000,
        calls_per_window: int = 30,
        window_seconds: float = 10.0,
        retries: int = 4,
        backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        *,
        timeout: float = 60.0,
        v1_base_url: str = V1_BASE_URL,
        v1_calls_per_window: int = 10,
    ):
        if max_cells < 1:
            raise InputError("max_cells must be at least 1")
        self.base_url = base_url.rstrip("/") + "/"
        self.v1_base_url = v1_base_url.rstrip("/") + "/"
        self.lang = lang
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.max_cells = max_cells
        self._window = RateLimit(calls_per_window, window_seconds, clock, sleep)
        self._v1_window = RateLimit(v1_calls_per_window, window_seconds, clock, sleep)
        self.transport = transport if transport is not None else httpx.HTTPTransport()
        self._core = HttpCore(
            transport=self.transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "bryta (PxWebClient)"},
            cache_dir=self.cache_dir,
            retries=retries,
            backoff=backoff,
            sleep=sleep,
        )
        self._requests: list[Request] = []  # of the fetch under way
        self.last_provenance: Provenance | None = None

    @property
    def calls(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._core.calls

    @property
    def cache_hits(self) -> int:
        """Answers taken from the cache so far."""
        return self._core.cache_hits

    def __enter__(self) -> PxWebClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._core.close()

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        table_id: str | None = None,
        window: RateLimit | None = None,
    ) -> tuple[dict[str, Any], str]:
        """The parsed JSON answer and when it was retrieved (from the cache or now); every
        answer SCB gives (catalogue, metadata, data) is a JSON object."""
        where = f"SCB table {table_id}" if table_id else "SCB API"
        answer = self._core.request(
            method,
            url,
            params=params,
            body=body,
            limit=window or self._window,
            where=where,
            error=functools.partial(ScbApiError, table_id=table_id),
        )
        self._requests.append(answer.request)
        if not isinstance(answer.data, dict):
            raise ScbApiError(
                f"{where}: the answer is {_kind(answer.data)}, not a JSON object "
                f"({method} {answer.request.url})",
                table_id=table_id,
                url=answer.request.url,
            )
        return answer.data, answer.retrieved_at

    def _table_url(self, table_id: str, suffix: str = "") -> str:
        if not _TABLE_ID.match(table_id):
            raise ScbSelectionError(f"{table_id!r} is not a table id (like TAB6574)")
        return f"{self.base_url}tables/{table_id}{suffix}"

    # ---- PxWebApi 2.0 --------------------------------------------------------------------
    def search_tables(
        self, query: str, *, page_size: int = 100, include_discontinued: bool = False
    ) -> list[dict[str, Any]]:
        """Every table matching ``query`` (``GET /tables``), following the pages to the end."""
        tables: list[dict[str, Any]] = []
        page_number = 1
        while page_number <= 10_000:
            params: dict[str, Any] = {
                "lang": self.lang,
                "query": query,
                "pageNumber": page_number,
                "pageSize": page_size,
            }
            if include_discontinued:
                params["includeDiscontinued"] = "true"
            doc, _ = self._request("GET", f"{self.base_url}tables", params=params)
            found = doc.get("tables") or []
            tables.extend(found)
            page = doc.get("page") or {}
            links = list(page.get("links") or []) + list(doc.get("links") or [])
            has_next = any(link.get("rel") == "next" for link in links)
            if not found or not (has_next or page_number < int(page.get("totalPages") or 0)):
                break
            # The server's own "next" link carries the query unencoded; ask for the next page
            # with the same parameters instead (and keep the cache key stable).
            page_number += 1
        return tables

    def table(self, table_id: str) -> dict[str, Any]:
        """The table's catalogue entry (``GET /tables/{id}``): label, periods, paths, updated."""
        doc, _ = self._request(
            "GET", self._table_url(table_id), params={"lang": self.lang}, table_id=table_id
        )
        return doc

    def metadata(self, table_id: str, codelists: Mapping[str, str] | None = None) -> TableMetadata:
        """The table's variables, values, roles, codelists and elimination rules.

        With ``codelists`` (variable → codelist id) the values are those of the codelists.
        """
        return self._metadata(table_id, codelists)[0]

    def _metadata(
        self, table_id: str, codelists: Mapping[str, str] | None
    ) -> tuple[TableMetadata, str]:
        params: dict[str, str] = {"lang": self.lang, "outputFormat": "json-stat2"}
        for code, codelist in (codelists or {}).items():
            params[f"codelist[{code}]"] = codelist
        doc, retrieved = self._request(
            "GET", self._table_url(table_id, "/metadata"), params=params, table_id=table_id
        )
        return TableMetadata.from_jsonstat(doc, table_id), retrieved

    def _prepare(
        self,
        table_id: str,
        selection: Mapping[str, str | Sequence[str]] | None,
        codelists: Mapping[str, str] | None,
    ) -> tuple[TableMetadata, dict[str, str], list[dict[str, Any]], str]:
        meta, retrieved = self._metadata(table_id, codelists)
        lists: dict[str, str] = {}
        for code, codelist in (codelists or {}).items():
            var = meta.variable(code)
            known = [c.id for c in var.codelists]
            if known and codelist not in known:
                raise ScbSelectionError(
                    f"SCB table {table_id}: variable {var.code} has no codelist {codelist!r} "
                    f"(it has {', '.join(known)})",
                    table_id=table_id,
                )
            lists[var.code] = codelist
        resolved = resolve_selection(meta, selection)
        prefer = [v.code for v in meta.geo] + [v.code for v in meta.variables if v.role == "time"]
        bodies = []
        for part in split_selection(resolved, self.max_cells, prefer):
            items = []
            for code, values in part.items():
                item: dict[str, Any] = {"variableCode": code, "valueCodes": values}
                if code in lists:
                    item["codelist"] = lists[code]
                items.append(item)
            bodies.append({"selection": items})
        return meta, lists, bodies, retrieved

    def plan(
        self,
        table_id: str,
        selection: Mapping[str, str | Sequence[str]] | None = None,
        codelists: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The POST bodies :meth:`fetch` would send (reads only the metadata)."""
        return self._prepare(table_id, selection, codelists)[2]

    def fetch(
        self,
        table_id: str,
        selection: Mapping[str, str | Sequence[str]] | None = None,
        codelists: Mapping[str, str] | None = None,
    ) -> ScbResult:
        """Fetch a selection of a table as one tidy frame, with its provenance."""
        calls, hits = self.calls, self.cache_hits
        self._requests = []
        meta, lists, bodies, first = self._prepare(table_id, selection, codelists)
        url = self._table_url(table_id, "/data")
        params = {"lang": self.lang, "outputFormat": "json-stat2"}
        frames, times = [], [first]
        for number, body in enumerate(bodies, 1):
            doc, retrieved = self._request("POST", url, params=params, body=body, table_id=table_id)
            frames.append(read_jsonstat(doc, name=f"SCB {table_id}, call {number}/{len(bodies)}"))
            times.append(retrieved)
        frame = _in_metadata_order(pl.concat(frames, how="diagonal_relaxed"), meta)
        given = {v.code: "*" for v in meta.variables} if selection is None else selection
        asked = {
            meta.variable(code).code: spec if isinstance(spec, str) else list(spec)
            for code, spec in given.items()
        }
        provenance = Provenance(
            source=SOURCE,
            licence=LICENCE,
            table_id=table_id,
            query=query_text({"selection": asked, "codelists": lists, "language": self.lang}),
            retrieved_at=min(times),
            url=url,
            table_updated=meta.updated,
            requests=tuple(self._requests),
            calls=self.calls - calls,
            cache_hits=self.cache_hits - hits,
        )
        self.last_provenance = provenance
        return ScbResult(frame, provenance, meta)

    def data(
        self,
        table_id: str,
        selection: Mapping[str, str | Sequence[str]] | None = None,
        codelists: Mapping[str, str] | None = None,
    ) -> pl.DataFrame:
        """:meth:`fetch`'s frame alone; its provenance is left in ``last_provenance``."""
        return self.fetch(table_id, selection, codelists).frame

    # ---- API v1 --------------------------------------------------------------------------
    def data_v1(
        self,
        path: str,
        query: Mapping[str, str | Sequence[str]] | Sequence[Mapping[str, Any]],
        *,
        lang: str | None = None,
    ) -> pl.DataFrame:
        """Fetch a table by its API v1 path (``BE/BE0101/BE0101Y/FolkmDesoAldKon``).

        ``query`` maps variable codes to value codes (``"*"`` selects all), or is the v1
        ``query`` list itself. API v1 requests are not split: v1 allows 100,000 values per
        call; use :meth:`fetch` with the table's ``TAB…`` id for larger requests.
        """
        if isinstance(query, Mapping):
            items = []
            for code, spec in query.items():
                values = [spec] if isinstance(spec, str) else list(spec)
                every = values == ["*"]
                items.append(
                    {
                        "code": code,
                        "selection": {"filter": "all" if every else "item", "values": values},
                    }
                )
        else:
            items = [dict(item) for item in query]
        language = lang or self.lang
        url = (
            path
            if path.startswith(("http://", "https://"))
            else f"{self.v1_base_url}{language}/ssd/{path.strip('/')}"
        )
        body = {"query": items, "response": {"format": "json-stat2"}}
        calls, hits = self.calls, self.cache_hits
        self._requests = []
        doc, retrieved = self._request(
            "POST", url, body=body, table_id=path, window=self._v1_window
        )
        frame = read_jsonstat(doc, name=f"SCB API v1 {path}")
        self.last_provenance = Provenance(
            source=SOURCE_V1,
            licence=LICENCE,
            table_id=path,
            query=query_text(body),
            retrieved_at=retrieved,
            url=url,
            table_updated=str(doc.get("updated", "")),
            requests=tuple(self._requests),
            calls=self.calls - calls,
            cache_hits=self.cache_hits - hits,
        )
        return frame


def _in_metadata_order(frame: pl.DataFrame, meta: TableMetadata) -> pl.DataFrame:
    """Rows sorted by the metadata order of every variable; codes, labels, value, status."""
    dims = [v for v in meta.variables if v.code in frame.columns]
    if not dims or frame.is_empty():
        return frame
    keys = [f"__order_{i}" for i in range(len(dims))]
    frame = frame.with_columns(
        pl.col(v.code)
        .cast(pl.String)
        .replace_strict(
            {c: i for i, c in enumerate(v.values)}, default=len(v.values), return_dtype=pl.Int64
        )
        .alias(key)
        for v, key in zip(dims, keys, strict=True)
    )
    frame = frame.sort(keys, maintain_order=True).drop(keys)
    codes = [v.code for v in dims]
    first = codes + [f"{c}_label" for c in codes if f"{c}_label" in frame.columns]
    return frame.select(first + [c for c in frame.columns if c not in first])
