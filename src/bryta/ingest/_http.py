"""The one HTTP core of the outside-world clients (SCB's PxWebApi, Kolada).

:class:`HttpCore` sends a JSON request and returns the parsed answer, doing for every client
what each would otherwise write again:

* **rate limit**: an optional :class:`RateLimit` (at most ``calls`` calls in any
  ``seconds``-long window) is waited for before every attempt;
* **retries**: answers 429 and 5xx, time-outs and lost connections are tried again up to
  ``retries`` times, after ``backoff * 2**attempt`` seconds, or longer when the server sends
  ``Retry-After`` (:func:`retry_after`), never longer than ``max_wait``;
* **cache**: with ``cache_dir``, every successful answer is kept on disk under a hash of
  method, URL and body, with the time it was answered, and a cached request is never sent
  again (delete the folder to refresh);
* **atomic writes**: cache entries (and any file written with :func:`atomic_write`) appear
  whole or not at all, so a reader never sees half a file;
* **errors**: a failed request raises the client's :class:`HttpSourceError` subclass (a
  :class:`~bryta.errors.SourceError`) with a one-line message naming the place, the HTTP
  status, the server's own explanation and the request.

``transport`` (tests pass an ``httpx.MockTransport``), ``clock`` and ``sleep`` are injectable,
so retries and the rate limit run on a fake clock in tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from bryta.errors import SourceError
from bryta.ingest.provenance import Request, now

__all__ = [
    "RETRY_STATUSES",
    "Answer",
    "HttpCore",
    "HttpSourceError",
    "RateLimit",
    "atomic_write",
    "retry_after",
]

#: Answers worth trying again: too many requests, and server errors.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpSourceError(SourceError):
    """A request to an outside source failed: refused, unanswered after the retries, or
    answered with something that is not JSON. ``status`` is the HTTP status (None when no
    answer came), ``detail`` the server's own explanation, ``url`` the request's URL."""

    def __init__(self, message: str, *, status: int | None = None, detail: str = "", url: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.url = url


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None.

    >>> retry_after(httpx.Response(429, headers={"Retry-After": "3"}))
    3.0
    """
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file in the same folder,
    renamed into place: readers see the old file or the new one, never half of one."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RateLimit:
    """At most ``calls`` calls in any ``seconds``-long window (waits with ``sleep``)."""

    def __init__(
        self,
        calls: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ):
        if calls < 1 or seconds <= 0:
            raise ValueError("the rate limit needs at least one call in a positive window")
        self.calls, self.seconds = calls, seconds
        self._clock, self._sleep = clock, sleep
        self._times: deque[float] = deque()

    def acquire(self) -> None:
        while True:
            now_ = self._clock()
            while self._times and now_ - self._times[0] >= self.seconds:
                self._times.popleft()
            if len(self._times) < self.calls:
                self._times.append(now_)
                return
            self._sleep(self._times[0] + self.seconds - now_)


@dataclass(frozen=True)
class Answer:
    """A parsed JSON answer, when it was answered, and how it was got."""

    data: Any
    request: Request
    attempts: int  # HTTP requests sent for it (0: from the cache)

    @property
    def retrieved_at(self) -> str:
        return self.request.retrieved_at


ErrorFactory = Callable[..., HttpSourceError]


def _body_text(response: httpx.Response, limit: int = 300) -> str:
    """A problem+json ``title: detail``, else the first ``limit`` characters of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
        if len(parts) == 2 and parts[0] == parts[1]:
            parts = parts[:1]
        if parts:
            return ": ".join(parts)
    text = " ".join(response.text.split())
    if not text:
        return response.reason_phrase or "(empty body)"
    return text[:limit] + ("…" if len(text) > limit else "")


class HttpCore:
    """One HTTP connection with retries, ``Retry-After``, rate limits and an on-disk cache.

    ``headers`` are sent with every request; ``retries`` is the number of retries after the
    first attempt; ``max_wait`` caps one wait between attempts.
    """

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], Any] = time.sleep,
        follow_redirects: bool = False,
    ):
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.client = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=follow_redirects,
            headers=dict(headers or {}),
        )
        self.calls = 0  # HTTP requests sent, retries included
        self.cache_hits = 0

    def close(self) -> None:
        self.client.close()

    def delay(self, attempt: int, asked: float | None) -> float:
        """The wait before retry ``attempt + 1``: the back-off, or longer if the server asked."""
        wait = float(self.backoff * 2**attempt)
        if asked is not None:
            wait = max(wait, asked)
        return min(wait, self.max_wait)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        limit: RateLimit | None = None,
        where: str,
        error: ErrorFactory = HttpSourceError,
        shown: Callable[[str], str] = str,
    ) -> Answer:
        """The parsed JSON answer of one request.

        ``where`` starts every error message (``SCB table TAB6574``, ``Kolada``); ``error``
        makes the exception (called with the message and ``status``, ``detail``, ``url``);
        ``shown`` turns the full URL into what messages show of it.
        """
        content = (
            None
            if body is None
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        )
        request = self.client.build_request(
            method,
            url,
            params=params,
            content=content,
            headers={"Content-Type": "application/json"} if content is not None else None,
        )
        full_url = str(request.url)
        named = f"{method} {shown(full_url)}"
        key = hashlib.sha256(
            b"\n".join([method.encode(), full_url.encode(), content or b""])
        ).hexdigest()
        if (cached := self._cache_read(key, full_url)) is not None:
            self.cache_hits += 1
            answered = Request(full_url, cached["retrieved_at"], from_cache=True, method=method)
            return Answer(cached["response"], answered, 0)
        for attempt in range(self.retries + 1):
            if limit is not None:
                limit.acquire()
            self.calls += 1
            tries = f" after {attempt + 1} attempts" if attempt else ""
            try:
                response = self.client.send(request)
            except httpx.TransportError as exc:  # time-outs, refused or lost connections
                if attempt == self.retries:
                    raise error(
                        f"{where}: no answer after {attempt + 1} attempts "
                        f"({type(exc).__name__}: {exc}) ({named})",
                        url=full_url,
                    ) from exc
                self.sleep(self.delay(attempt, None))
                continue
            status = response.status_code
            if status in RETRY_STATUSES and attempt < self.retries:
                self.sleep(self.delay(attempt, retry_after(response)))
                continue
            if response.is_error:
                detail = _body_text(response)
                raise error(
                    f"{where}: HTTP {status}{tries}: {detail} ({named})",
                    status=status,
                    detail=detail,
                    url=full_url,
                )
            try:
                data = response.json()
            except ValueError as exc:
                raise error(
                    f"{where}: HTTP {status} but not JSON: {_body_text(response, 100)} ({named})",
                    status=status,
                    url=full_url,
                ) from exc
            answered = Request(full_url, now(), method=method)
            self._cache_write(key, method, full_url, body, data, answered.retrieved_at)
            return Answer(data, answered, attempt + 1)
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- the cache ---------------------------------------------------------------------------
    def _cache_read(self, key: str, url: str) -> dict[str, Any] | None:
        if self.cache_dir is None:
            return None
        try:
            entry = json.loads((self.cache_dir / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent or damaged: fetched again and overwritten
        if not isinstance(entry, dict) or entry.get("url") != url or "response" not in entry:
            return None
        return entry

    def _cache_write(
        self, key: str, method: str, url: str, body: Any, data: Any, retrieved: str
    ) -> None:
        if self.cache_dir is None:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        entry = {"method": method, "url": url, "body": body, "retrieved_at": retrieved}
        entry["response"] = data
        atomic_write(self.cache_dir / f"{key}.json", json.dumps(entry, ensure_ascii=False))
