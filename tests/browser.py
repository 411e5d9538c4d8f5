"""What the browser tests share: Chromium or a clear skip, the app served on 127.0.0.1 in a
thread, waiting for a plotly map, the check that no request left the app, and where the
screenshots go. The fixtures built on these are in ``tests/conftest.py``."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def require_chromium() -> str:
    """Debian's Chromium; without it the test skips with the reason (under CI it fails)."""
    path = shutil.which("chromium")
    if path is None:
        reason = "Chromium is not installed (apt-get install chromium); browser tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + ", and under CI they must run")
        pytest.skip(reason)
    return path


@contextlib.contextmanager
def serve_app(app: Any, name: str = "uvicorn") -> Iterator[str]:
    """``app`` on 127.0.0.1 at a free port in a uvicorn thread; yields its base URL and stops
    it on exit."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", workers=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            pytest.fail("uvicorn did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for_map(page: Any, element: str = "map") -> None:
    """Wait until plotly has drawn the map in ``#element`` (MapLibre's canvas, plotly's SVG,
    the map style loaded) and the network is idle."""
    page.wait_for_selector(f"#{element}.js-plotly-plot canvas", state="attached")
    page.wait_for_selector(f"#{element}.js-plotly-plot .main-svg", state="attached")
    page.wait_for_function(
        f"() => {{ const m = document.querySelector('#{element}.js-plotly-plot');"
        " return m && m._fullLayout && m._fullLayout.map && m._fullLayout.map._subplot"
        " && m._fullLayout.map._subplot.map.loaded() }"
    )
    page.wait_for_load_state("networkidle")


def assert_only_local(page: Any, server: str, *loaded: str) -> None:
    """No request of ``page`` left the app's host, and a request ended with each of ``loaded``
    (say ``/vendor/plotly.min.js``: the files came from the app)."""
    host = urlsplit(server).hostname
    away = [
        url
        for url in page.requested
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != host
    ]
    assert not away, f"requests left {host}: {away}"
    for suffix in loaded:
        assert any(url.endswith(suffix) for url in page.requested), f"{suffix} was not loaded"
