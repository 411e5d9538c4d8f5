"""HTTP caching of the answers that depend only on the data: ETag, Cache-Control, gzip.

The JSON API, the pages and their JSON twins, and the kommun boundaries are computed
from the bundled data and the warehouse's datasets alone, so an answer is fixed by the data
version (:func:`bryta.app.barometer.data_version`), the path, the query string and, for pages,
the request's language. :class:`Caching` (a plain ASGI middleware) gives each such answer a weak
ETag — a hash of those —, a ``Last-Modified`` date (when the data last changed,
:func:`bryta.app.barometer.data_modified`) and a ``Cache-Control`` header; a request whose
``If-None-Match`` names the current ETag, or (without ``If-None-Match``) whose
``If-Modified-Since`` is not before that date, is answered ``304 Not Modified`` without
computing anything. It also
keeps the last answers in memory (bounded in number and size), gzipped once for clients that
accept gzip, so repeated requests cost neither the route nor the compression.

Only the paths in :data:`RULES` are cached: an answer that depends on anything else (a
signed-in actor, say) must not be listed there. The kommun pages show the registry's public
interventions as well, and the intervention pages (``/insats/{key}``) show one of them with
its evaluations, and the watch list (``/bevakning``, ``/api/v1/watch``) the interventions in
the flagged areas: their rules say so, and their ETag includes the registry's version
(:func:`bryta.app.registry.registry_version`), so an edit shows on the next request.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bryta.web.i18n import choose_language


@dataclass(frozen=True)
class Rule:
    """Paths whose answers are cached: ``cache_control`` is sent with them; ``by_language``
    says the answer depends on the request's language (pages and their JSON twins);
    ``by_registry`` that it shows the registry's public records too."""

    pattern: re.Pattern[str]
    cache_control: str
    by_language: bool
    by_registry: bool = False


#: The cached paths. A page that sets the language cookie (``?lang=``) or reads it is
#: ``private``: a shared cache must not hand one reader's language to another.
RULES = (
    Rule(re.compile(r"/api/v1/(kommuner|segregation|areas/[^/]+)"), "public, max-age=300", False),
    # the bundled boundaries change only with bryta itself
    Rule(re.compile(r"/geo/(kommun|lan)\.geojson"), "public, max-age=86400", False),
    # imported RegSO boundaries can be replaced at any time: browsers ask again (a cheap 304)
    Rule(re.compile(r"/geo/regso/\d{4}\.geojson"), "public, no-cache", False),
    Rule(
        re.compile(
            r"/|/index\.json|/metod|/omrade/[0-9A-Za-z]+(\.json)?"
            r"|/statistiklabbet(\.json|/data\.(csv|xlsx|parquet))?"
        ),
        "private, no-cache",
        True,
    ),
    # the published interventions: public, but they change with the registry
    Rule(
        re.compile(r"/api/v1/interventions(/[^/]+/evaluations)?"),
        "public, no-cache",
        False,
        by_registry=True,
    ),
    Rule(
        re.compile(r"/kommun/\d{4}(\.json|/data\.xlsx|/[a-z_]+\.csv)?"),
        "private, no-cache",
        True,
        by_registry=True,
    ),
    # the page of one published intervention and its evaluations, and its JSON twin
    Rule(re.compile(r"/insats/[^/]+"), "private, no-cache", True, by_registry=True),
    # the watch list: the index history of the warehouse, and the registry's interventions
    Rule(
        re.compile(r"/bevakning(/data\.(csv|xlsx))?"), "private, no-cache", True, by_registry=True
    ),
    Rule(re.compile(r"/api/v1/watch"), "public, no-cache", False, by_registry=True),
)
#: Answers smaller than this are sent as they are (gzip saves nothing worth the time).
GZIP_MIN_SIZE = 1000
#: How many answers are kept, and the largest kept (the whole segregation table is ~10 MB).
MAX_ENTRIES = 256
MAX_BODY = 2_000_000


@dataclass
class _Entry:
    etag: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    gzipped: bytes | None = field(default=None)


class Caching:
    """ETag, Last-Modified, Cache-Control, 304 and gzip for the paths of :data:`RULES` (see
    the module). ``version`` names the data, ``modified`` says when it last changed (an aware
    datetime; None: no ``Last-Modified``); both are called on every request, so they must be
    cheap. The defaults are those of the bundled data."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        version: Callable[[], str] | None = None,
        modified: Callable[[], datetime | None] | None = None,
        registry: Callable[[], str] | None = None,
    ) -> None:
        from bryta.app.barometer import data_modified, data_version

        self.app = app
        self.version = version or data_version
        if modified is None and version is None:
            modified = data_modified
        self.modified = modified
        self.registry = registry or (lambda: "none")
        self._entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        path = path.removeprefix(root) if root and path.startswith(root) else path
        rule = next((r for r in RULES if r.pattern.fullmatch(path)), None)
        if rule is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        query = scope.get("query_string", b"").decode("latin-1")
        language = _language(query, headers) if rule.by_language else ""
        key = (path, query, language)
        version = self.version()
        if rule.by_registry:
            version = f"{version}\0{self.registry()}"
        digest = hashlib.sha256("\0".join((version, *key)).encode())
        etag = f'W/"{digest.hexdigest()[:24]}"'
        vary = "Accept-Encoding"
        if rule.by_language:
            vary = "Accept-Language, Cookie, Accept-Encoding"
        common = [
            (b"etag", etag.encode()),
            (b"cache-control", rule.cache_control.encode()),
        ]
        # the registry changes without the data: its pages carry the ETag alone
        changed = self.modified() if self.modified is not None and not rule.by_registry else None
        if changed is not None:
            common.append((b"last-modified", format_datetime(changed, usegmt=True).encode()))

        if _matches(headers.get("if-none-match"), etag) or (
            "if-none-match" not in headers
            and _not_modified_since(headers.get("if-modified-since"), changed)
        ):
            common.append((b"vary", vary.encode()))
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return

        entry = self._get(key, etag)
        if entry is None:
            entry = await self._compute(scope, receive, etag)
            if entry.status != 200:
                await _send(send, entry.status, entry.headers, entry.body)
                return
            if len(entry.body) <= MAX_BODY:
                self._put(key, entry)

        wants_gzip = "gzip" in headers.get("accept-encoding", "").lower()
        body, encoding = entry.body, None
        if wants_gzip and len(entry.body) >= GZIP_MIN_SIZE:
            if entry.gzipped is None:
                entry.gzipped = await anyio.to_thread.run_sync(_gzip, entry.body)
            body, encoding = entry.gzipped, b"gzip"
        out = MutableHeaders(raw=list(entry.headers))
        for name, value in common:
            out[name.decode()] = value.decode()
        out["vary"] = _merge_vary(out.get("vary"), vary)
        if encoding:
            out["content-encoding"] = encoding.decode()
        await _send(send, 200, out.raw, body)

    async def _compute(self, scope: Scope, receive: Receive, etag: str) -> _Entry:
        """Run the route with no Accept-Encoding (the body is kept as is, gzipped here)."""
        inner: dict[str, Any] = dict(scope)
        inner["headers"] = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner, receive, capture)
        raw = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        return _Entry(etag, int(start.get("status", 500)), raw, b"".join(chunks))

    def _get(self, key: tuple[str, str, str], etag: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.etag != etag:
                return None
            self._entries.move_to_end(key)
            return entry

    def _put(self, key: tuple[str, str, str], entry: _Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)


def _language(query: str, headers: Headers) -> str:
    given = parse_qs(query).get("lang", [None])[-1]
    cookie = None
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "lang":
            cookie = value
    return choose_language(given, cookie, headers.get("accept-language"))


def _matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 §13.1.2) or is ``*``."""
    if not header:
        return False
    opaque = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


def _not_modified_since(header: str | None, changed: datetime | None) -> bool:
    """``If-Modified-Since`` is a valid date not before ``changed`` (RFC 9110 §13.1.3; an
    invalid date is ignored)."""
    if not header or changed is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:  # RFC 850 and asctime dates are GMT
        return False
    return changed.replace(microsecond=0) <= since


def _merge_vary(existing: str | None, extra: str) -> str:
    names: list[str] = []
    for name in [*(existing or "").split(","), *extra.split(",")]:
        name = name.strip()
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return ", ".join(names)


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    raw = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
