"""The web app under load: ``bryta serve`` on loopback, 20 concurrent clients.

Run from the project root (figures on a 2-core machine: docs/performance.md, "Web")::

    uv run python benchmarks/bench_web.py                   # ~1 min
    uv run python benchmarks/bench_web.py --clients 20 --requests 50

It starts ``bryta serve`` in a subprocess on 127.0.0.1 and a free port (a temporary data
folder), waits for ``/healthz``, and measures the time from the start of the process to the
first answer of ``/`` (the target: within 5 s). Then ``--clients`` concurrent clients (asyncio
and httpx, each its own connection pool) make ``--requests`` requests each, taking the
endpoints below in turn (each client starting at a different one), and the script prints the
median, 95th percentile and maximum latency per endpoint against the targets (JSON p95 under
150 ms, full pages under 300 ms). The clients accept gzip, as browsers do, and send no
``If-None-Match`` (every request gets a full answer). Before the measured requests each
endpoint is asked once, so the figures are of a server that has seen each URL.

Bounded: loopback only, a fixed number of requests, a deadline (``--deadline`` seconds) after
which the script stops the server and exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ENDPOINTS = [
    ("/api/v1/segregation?level=kommun&year=2023&index=dissimilarity&group=born_abroad", "json"),
    ("/api/v1/kommuner", "json"),
    ("/api/v1/areas/1280", "json"),
    ("/index.json", "json"),
    ("/api/v1/interventions?kommun=1280", "json"),
    ("/statistiklabbet.json", "json"),
    ("/", "page"),
    ("/kommun/1280", "page"),
    ("/omrade/1280R020", "page"),
    ("/statistiklabbet", "page"),
    ("/statistiklabbet?measure=rental_pct&level=regso&kommun=1280", "page"),
    ("/metod", "page"),
]
TARGET_P95 = {"json": 0.150, "page": 0.300}
FIRST_ANSWER_TARGET = 5.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bryta() -> list[str]:
    script = Path(sys.executable).with_name("bryta")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bryta.cli import main; sys.exit(main())"]


def _first_answer(base: str, started: float, deadline: float) -> tuple[float, float]:
    """Seconds from the process start to the first 200 of /healthz and of /."""
    healthy = None
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.perf_counter() < deadline:
            try:
                if healthy is None and client.get("/healthz").status_code == 200:
                    healthy = time.perf_counter() - started
                if healthy is not None:
                    response = client.get("/")
                    response.raise_for_status()
                    return healthy, time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.02)
    raise TimeoutError("the server did not answer / before the deadline")


async def _load(base: str, clients: int, requests: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {url: [] for url, _ in ENDPOINTS}

    async def client(number: int) -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
            for i in range(requests):
                url = ENDPOINTS[(number + i) % len(ENDPOINTS)][0]
                began = time.perf_counter()
                response = await http.get(url)
                await response.aread()
                timings[url].append(time.perf_counter() - began)
                response.raise_for_status()

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for url, _ in ENDPOINTS:
            (await http.get(url)).raise_for_status()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="per client")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds in all")
    args = parser.parse_args(argv)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        command = [*_bryta(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--data-dir", data_dir]
        started = time.perf_counter()
        deadline = started + args.deadline
        server = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            healthy, first = _first_answer(base, started, deadline)
            began = time.perf_counter()
            timings = asyncio.run(
                asyncio.wait_for(
                    _load(base, args.clients, args.requests),
                    timeout=max(1.0, deadline - time.perf_counter()),
                )
            )
            elapsed = time.perf_counter() - began
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    total = sum(len(t) for t in timings.values())
    print(
        f"bryta serve on 127.0.0.1, {datetime.date.today()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    mark = "ok" if first <= FIRST_ANSWER_TARGET else "MISSED"
    print(
        f"first /healthz {healthy:.2f} s, first / {first:.2f} s after start "
        f"(target {FIRST_ANSWER_TARGET:.0f} s: {mark})"
    )
    print(
        f"{args.clients} clients × {args.requests} requests: {total} in {elapsed:.1f} s "
        f"({total / elapsed:.0f}/s)"
    )
    print(f"{'endpoint':<82} {'n':>4} {'p50':>7} {'p95':>7} {'max':>7}  target p95")
    missed = first > FIRST_ANSWER_TARGET
    for url, kind in ENDPOINTS:
        values = sorted(timings[url])
        p50 = statistics.median(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        ok = p95 < TARGET_P95[kind]
        missed |= not ok
        print(
            f"{url:<82} {len(values):>4} {p50 * 1000:6.1f}ms {p95 * 1000:6.1f}ms "
            f"{values[-1] * 1000:6.1f}ms  < {TARGET_P95[kind] * 1000:.0f} ms "
            f"{'ok' if ok else 'MISSED'}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
