"""Client for the Kolada API v3: Swedish municipal and regional key figures (RKA).

Kolada (https://www.kolada.se, run by Rådet för främjande av kommunala analyser, RKA) publishes
some 6,000 key figures (KPIs, *nyckeltal*) per kommun, region and year, many split by sex.
This module reads them through the JSON API at ``https://api.kolada.se/v3``::

    from bryta.ingest.kolada import KoladaClient

    with KoladaClient(cache_dir="~/.cache/bryta/kolada") as kolada:
        kolada.search_kpis("invånare")            # id, title, description, ...
        frame = kolada.data(["N01951"], ["0180", "1480"], [2022, 2023])
        kolada.last_provenance.record()           # source, licence, query, retrieved_at

What the API looks like (docs/kolada.md says which page each fact was checked against):

* Every answer is ``{"count": n, "values": [...], "next_url": ..., "previous_url": ...}``;
  ``count`` is the number of items on *this* page, and the next page is fetched from the
  full URL in ``next_url`` until it is missing or null. ``per_page`` (at most 5,000) sets the
  page size.
* Data paths name two or three of the dimensions kpi, municipality and year, in that order:
  ``/data/kpi/{ids}/municipality/{ids}/year/{years}``, ``/data/kpi/{ids}/year/{years}``,
  ``/data/kpi/{ids}/municipality/{ids}``, ``/data/municipality/{ids}/year/{years}``. Each
  path segment holds a comma-separated list of at most 25 ids.
* A data item is ``{"kpi", "municipality", "period", "values": [{"gender": "T|K|M",
  "count", "status", "value", "isdeleted"}]}``; one row per sex (T total, K women, M men).
* Municipality ids are text: ``"0180"`` (kommun, four digits), ``"0001"`` (region, ``00``
  and the län code), ``"0000"`` (riket); groups start with ``G``.

Nothing happens at import time: the HTTP client is made when a :class:`KoladaClient` is
made, and no request is sent before a method asks for data.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from bryta.errors import InputError
from bryta.ingest._http import RETRY_STATUSES, HttpCore, HttpSourceError
from bryta.ingest.provenance import Provenance, Request

__all__ = [
    "BASE_URL",
    "DATA_SCHEMA",
    "LICENCE",
    "MAX_IDS_PER_SEGMENT",
    "MAX_URL_LENGTH",
    "SOURCE",
    "KoladaClient",
    "KoladaError",
    "KoladaQueryError",
]

BASE_URL = "https://api.kolada.se/v3"
SOURCE = "Kolada (RKA) API v3"
TERMS_URL = "https://www.kolada.se/om-oss/api/"
ATTRIBUTION = "Källa: Kolada"
#: Kolada's terms of use as read on TERMS_URL; they name no Creative Commons licence.
LICENCE = (
    "Kolada terms of use (https://www.kolada.se/om-oss/api/): free of charge, no agreement "
    "needed, commercial use allowed; a service using the data must give the source as "
    "'Källa: Kolada'; data you have processed yourself must not be given Kolada as its source. "
    "No Creative Commons licence is named."
)
#: Ids per comma-separated path segment: v3 answers longer lists with an error (reported by
#: rKolada 0.3.0 and other v3 clients; not in the official pages read, see docs/kolada.md).
MAX_IDS_PER_SEGMENT = 25
#: Longest URL sent. Kolada states no limit for v3 (its v2 notes said a too long URL gives
#: HTTP 400); 2,000 characters is the conventional safe length for servers and proxies. With
#: 25 ids per segment a data URL stays far below it: this is a safety net for long ids.
MAX_URL_LENGTH = 2000
MAX_PER_PAGE = 5000
RETRY_STATUS = RETRY_STATUSES

#: Columns and types of :meth:`KoladaClient.data`.
DATA_SCHEMA: dict[str, pl.DataType] = {
    "kpi": pl.String(),
    "municipality": pl.String(),
    "year": pl.Int32(),
    "gender": pl.String(),
    "value": pl.Float64(),
    "count": pl.Int64(),
    "status": pl.String(),
}
_KPI_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "title": pl.String(),
    "description": pl.String(),
    "municipality_type": pl.String(),
    "operating_area": pl.String(),
    "has_ou_data": pl.Boolean(),
    "is_divided_by_gender": pl.Boolean(),
    "auspice": pl.String(),
    "perspective": pl.String(),
    "publication_date": pl.String(),
    "prel_publication_date": pl.String(),
    "publ_period": pl.String(),
}
_MUNICIPALITY_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "title": pl.String(),
    "type": pl.String(),
}
_OU_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "title": pl.String(),
    "municipality": pl.String(),
}
_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class KoladaError(HttpSourceError):
    """A Kolada request failed; the message names the URL path and the HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        status: int | None = None,
        detail: str = "",
        url: str = "",
    ):
        super().__init__(message, status=status, detail=detail, url=url)
        self.path = path


class KoladaQueryError(InputError, KoladaError):
    """The arguments cannot make a valid Kolada request (bad id, too few dimensions, ...)."""


class KoladaClient:
    """A connection to the Kolada API v3. Use as a context manager, or call :meth:`close`.

    ``transport`` is handed to ``httpx.Client`` (tests pass an ``httpx.MockTransport``);
    ``cache_dir`` keeps every successful answer on disk keyed by its URL, and a cached URL is
    never asked again (delete the folder to refresh: Kolada revises figures without notice).
    Failed requests with status 429 or 5xx, and timeouts, are tried again up to ``retries``
    times after ``backoff * 2**attempt`` seconds (longer when the server sends
    ``Retry-After``, at most ``max_wait``); ``sleep`` is called for the waits.
    """

    def __init__(
        self,
        base_url: str = BASE_URL,
        transport: httpx.BaseTransport | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], Any] = time.sleep,
        per_page: int = MAX_PER_PAGE,
        *,
        timeout: float = 30.0,
        max_ids: int = MAX_IDS_PER_SEGMENT,
        max_url_length: int = MAX_URL_LENGTH,
        max_wait: float = 60.0,
    ):
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise KoladaQueryError(f"per_page must be 1..{MAX_PER_PAGE}, got {per_page}")
        if retries < 0 or backoff < 0:
            raise KoladaQueryError("retries and backoff must not be negative")
        if max_ids < 1:
            raise KoladaQueryError(f"max_ids must be at least 1, got {max_ids}")
        self.base_url = base_url.rstrip("/")
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.per_page = per_page
        self.max_ids = max_ids
        self.max_url_length = max_url_length
        self._core = HttpCore(
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": _user_agent()},
            cache_dir=self.cache_dir,
            retries=retries,
            backoff=backoff,
            max_wait=max_wait,
            sleep=sleep,
            follow_redirects=True,
        )
        self._http = self._core.client
        self._requests: list[Request] | None = None  # of the call under way
        self._last: Provenance | None = None

    def close(self) -> None:
        self._core.close()

    def __enter__(self) -> KoladaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def last_provenance(self) -> Provenance | None:
        """Provenance of the most recent successful call (None before the first)."""
        return self._last

    # -- metadata ---------------------------------------------------------------------------

    def search_kpis(self, title: str) -> pl.DataFrame:
        """KPIs whose title contains ``title`` (``GET /kpi?title=``), every page."""
        if not isinstance(title, str) or not title.strip():
            raise KoladaQueryError("search_kpis needs a non-empty title to search for")
        with self._record(f"kpi?title={title}"):
            rows = list(self._pages(self._url("kpi"), {"title": title}))
        return _frame(rows, _KPI_SCHEMA)

    def kpis(self, ids: Sequence[str]) -> pl.DataFrame:
        """Metadata of the given KPIs (``GET /kpi/{ids}``, 25 ids a request), in id order."""
        ids = _ids(ids, "kpi")
        with self._record(",".join(ids)):
            rows = [
                row
                for chunk in _chunks(ids, self.max_ids)
                for row in self._pages(self._url("kpi", ",".join(chunk)))
            ]
        return _frame(rows, _KPI_SCHEMA)

    def kpi(self, id: str) -> dict[str, Any]:
        """The metadata of one KPI as a dict; a :class:`KoladaError` when Kolada has none."""
        (kpi_id,) = _ids([id], "kpi")
        url = self._url("kpi", kpi_id)
        with self._record(kpi_id):
            rows = [row for row in self._pages(url) if row.get("id") == kpi_id]
        if not rows:
            raise KoladaError(f"Kolada has no KPI {kpi_id} (GET {_path(url)})", path=_path(url))
        return rows[0]

    def municipalities(self, type: str | None = "K") -> pl.DataFrame:
        """Municipalities (``type="K"``), regions (``"L"``) or all (``None``): id, title, type.

        The whole list (about 310 rows) is fetched and filtered here, so the result does not
        depend on a server-side filter.
        """
        with self._record("municipality"):
            rows = list(self._pages(self._url("municipality")))
        frame = _frame(rows, _MUNICIPALITY_SCHEMA)
        return frame if type is None else frame.filter(pl.col("type") == type)

    def ous(self, municipality: str | None = None, title: str | None = None) -> pl.DataFrame:
        """Organisational units (schools, care homes, ...): id, title, municipality."""
        params = {}
        if municipality is not None:
            params["municipality"] = ",".join(_ids([municipality], "municipality"))
        if title is not None:
            params["title"] = title
        with self._record("ou"):
            rows = list(self._pages(self._url("ou"), params))
        return _frame(rows, _OU_SCHEMA)

    # -- data -------------------------------------------------------------------------------

    def data(
        self,
        kpis: Sequence[str] | None,
        municipalities: Sequence[str] | None = None,
        years: Sequence[int] | None = None,
    ) -> pl.DataFrame:
        """Values in long form: ``kpi, municipality, year, gender, value, count, status``.

        Give at least two of ``kpis``, ``municipalities`` and ``years`` (``None`` means all);
        that is what the API accepts. Long lists are split over several requests (at most
        ``max_ids`` ids per path segment and ``max_url_length`` characters per URL) and every
        ``next_url`` is followed. Rows come in the order Kolada sends them, one per sex
        (``T`` total, ``K`` women, ``M`` men); ``value`` is null where Kolada has no value;
        an empty ``status`` becomes null; rows Kolada marks ``isdeleted`` are left out.
        """
        asked = {"kpi": kpis, "municipality": municipalities, "year": years}
        given = {name: _ids(values, name) for name, values in asked.items() if values is not None}
        if len(given) < 2:
            raise KoladaQueryError(
                "Kolada data needs at least two of kpis, municipalities and years "
                f"(got only {', '.join(given) or 'none'})"
            )
        urls = self._data_urls(given)
        with self._record(",".join(given.get("kpi", []))):
            records = [record for url in urls for record in self._pages(url)]
        return _tidy(records)

    def _data_urls(self, dims: dict[str, list[str]]) -> list[str]:
        """Split the id lists so that no segment has more than max_ids ids and no URL is
        longer than max_url_length; the product of the chunks covers every combination."""
        sizes = {name: min(self.max_ids, len(ids)) for name, ids in dims.items()}
        while True:
            chunked = {name: _chunks(ids, sizes[name]) for name, ids in dims.items()}
            urls = []
            for combo in itertools.product(*chunked.values()):
                pairs = zip(dims, combo, strict=True)
                parts = [text for name, ids in pairs for text in (name, ",".join(ids))]
                urls.append(_with_page_size(self._url("data", *parts), self.per_page))
            longest = max(urls, key=len)
            if len(longest) <= self.max_url_length:
                return urls
            shrinkable = [name for name in dims if sizes[name] > 1]
            if not shrinkable:
                raise KoladaQueryError(
                    f"a single Kolada data URL is longer than {self.max_url_length} "
                    f"characters: {longest}"
                )
            # halve the chunks of the dimension whose joined ids are longest
            widest = max(shrinkable, key=lambda n: max(len(",".join(c)) for c in chunked[n]))
            sizes[widest] = (sizes[widest] + 1) // 2

    # -- HTTP -------------------------------------------------------------------------------

    def _url(self, *parts: str) -> str:
        return "/".join([self.base_url, *parts])

    @contextmanager
    def _record(self, table_id: str) -> Iterator[None]:
        """Collect the requests of one call into its provenance: ``query`` lists the paths
        fetched, ``retrieved_at`` is the earliest answer."""
        requests: list[Request] = []
        self._requests = requests
        calls, hits = self._core.calls, self._core.cache_hits
        try:
            yield
            self._last = Provenance(
                source=SOURCE,
                licence=LICENCE,
                table_id=table_id,
                query="\n".join(_path(r.url) for r in requests),
                retrieved_at=min((r.retrieved_at for r in requests), default=""),
                url=self.base_url,
                requests=tuple(requests),
                calls=self._core.calls - calls,
                cache_hits=self._core.cache_hits - hits,
            )
        finally:
            self._requests = None

    def _pages(self, url: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Yield the items of every page, following next_url until it is empty."""
        current: str | None = _with_page_size(str(httpx.URL(url, params=params)), self.per_page)
        seen: set[str] = set()
        while current:
            path = _path(current)
            if current in seen:
                raise KoladaError(f"Kolada sent a next_url already fetched: GET {path}", path=path)
            seen.add(current)
            body = self._get_json(current)
            values = body.get("values") if isinstance(body, dict) else None
            if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
                raise KoladaError(
                    f"Kolada answered GET {path} without a 'values' list of objects",
                    path=path,
                    status=200,
                )
            yield from values
            following = body.get("next_url")
            current = str(httpx.URL(current).join(following)) if following else None

    def _get_json(self, url: str) -> Any:
        path = _path(url)
        answer = self._core.request(
            "GET",
            url,
            where="Kolada",
            error=functools.partial(KoladaError, path=path),
            shown=_path,
        )
        if self._requests is not None:
            self._requests.append(answer.request)
        return answer.data


# -- helpers --------------------------------------------------------------------------------


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"bryta/{version('bryta')}"
    except Exception:  # not installed as a distribution (e.g. a bare source tree)
        return "bryta"


def _path(url: str) -> str:
    """The path and query of a URL, as named in messages and provenance."""
    parsed = httpx.URL(url)
    query = parsed.query.decode("ascii", "replace")
    return parsed.path + (f"?{query}" if query else "")


def _with_page_size(url: str, per_page: int) -> str:
    parsed = httpx.URL(url)
    if "per_page" in parsed.params:
        return url
    return str(parsed.copy_add_param("per_page", str(per_page)))


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    text = " ".join(response.text.split())
    return (text[:limit] + "…") if len(text) > limit else (text or "(empty body)")


def _ids(values: Sequence[Any], what: str) -> list[str]:
    """Checked ids as text, duplicates dropped: codes for kpi/municipality, ints for year."""
    if isinstance(values, str):
        raise KoladaQueryError(f"{what} ids must be a list, not one string")
    out = []
    for value in values:
        if what == "year":
            if isinstance(value, bool) or not isinstance(value, int) or not 999 < value < 10000:
                raise KoladaQueryError(f"years are four-digit integers, got {value!r}")
            value = str(value)
        elif not isinstance(value, str):
            raise KoladaQueryError(
                f"{what} ids are text codes such as 'N01951' or '0180' (leading zeros kept), "
                f"got {value!r}"
            )
        elif not _ID.match(value):
            raise KoladaQueryError(f"{what} id {value!r} is not a Kolada id (letters, digits)")
        out.append(value)
    if not out:
        raise KoladaQueryError(f"the list of {what} ids is empty; pass None for all")
    return list(dict.fromkeys(out))


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _truthy(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", ""}:
        return False
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Metadata rows as a frame: the known columns first with fixed types, then any further
    keys Kolada sends as text (so a new API field shows up instead of breaking the read)."""
    extra = list(dict.fromkeys(k for row in rows for k in row if k not in schema))
    columns: dict[str, list[Any]] = {}
    for name in [*schema, *extra]:
        convert = _truthy if schema.get(name) == pl.Boolean() else _text
        columns[name] = [convert(row.get(name)) for row in rows]
    full = {**schema, **{name: pl.String() for name in extra}}
    return pl.DataFrame(columns, schema=full)


def _tidy(records: list[dict[str, Any]]) -> pl.DataFrame:
    columns: dict[str, list[Any]] = {name: [] for name in DATA_SCHEMA}
    for record in records:
        if _truthy(record.get("isdeleted")):
            continue
        try:
            year = int(record["period"])
        except (KeyError, TypeError, ValueError) as exc:
            raise KoladaError(f"Kolada data item without a year period: {record!r}") from exc
        for item in record.get("values") or []:
            if _truthy(item.get("isdeleted")):
                continue
            value = item.get("value")
            try:
                value = None if value is None else float(value)
            except (TypeError, ValueError) as exc:
                raise KoladaError(f"Kolada value is not a number: {item!r}") from exc
            count = item.get("count")
            columns["kpi"].append(_text(record.get("kpi")))
            columns["municipality"].append(_text(record.get("municipality")))
            columns["year"].append(year)
            columns["gender"].append(_text(item.get("gender")))
            columns["value"].append(value)
            columns["count"].append(None if count is None else int(count))
            columns["status"].append(_text(item.get("status")) or None)
    return pl.DataFrame(columns, schema=DATA_SCHEMA)
