"""The application factory: ``create_app(settings)`` builds the FastAPI app.

Nothing is created at import time: the settings, the context built from them and the
routers are put together here, so tests build an app per case with a temporary data folder.

``warm=True`` (what ``bryta serve`` passes) computes the barometer's table and the kommun
boundaries in a background thread as the server starts, so it accepts connections at once and
the first page does not pay for them; tests that build many apps leave it off.

``seed=True`` (what ``bryta serve`` passes) creates the registry if it is missing, brings it to
the newest schema and seeds an empty one with the real programmes before the app is returned
(:func:`bryta.app.registry.ensure_registry`, about 0.7 s the first time); without it the app
reads the registry only if it exists, and the kommun page says when there is none.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from bryta.app import barometer
from bryta.app.context import Context, Settings
from bryta.errors import BrytaError, http_status
from bryta.web import api
from bryta.web.caching import GZIP_MIN_SIZE, Caching
from bryta.web.pages import router as pages

STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    context: Context | None = None,
    warm: bool = False,
    seed: bool = False,
) -> FastAPI:
    """The web app for ``settings`` (or an existing ``context``, which tests pass with fakes).

    ``warm``: on start, compute what the first requests need in a background thread.
    ``seed``: create and seed the registry now (safe when several workers start at once).
    """
    ctx = context or Context(settings or Settings())
    if seed:
        from bryta.app.registry import ensure_registry

        ensure_registry(ctx)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=warm_caches, name="bryta-warm", daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="bryta",
        summary="Segregation in Sweden: indices, area types and profiles, as an API.",
        version="1",
        docs_url=None,  # served offline from the package, see bryta.web.api
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.context = ctx
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(BrytaError)
    async def bryta_error(request: Request, exc: BrytaError) -> JSONResponse:
        return problem(http_status(exc), str(exc), request)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: the app answers."""
        return {"status": "ok"}

    app.include_router(api.router)
    app.include_router(pages)
    # the last added runs first: cached answers skip the route and the gzip of other answers
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_SIZE, compresslevel=6)
    app.add_middleware(
        Caching,
        version=lambda: barometer.data_version(ctx),
        modified=lambda: barometer.data_modified(ctx),
        registry=lambda: _registry_version(ctx),
    )

    return app


def _registry_version(ctx: Context) -> str:
    """The registry's version for the caching of the kommun pages; a registry that cannot be
    read gives a token of its own, and the page then says what is wrong."""
    from bryta.app.registry import registry_version

    try:
        return registry_version(ctx)
    except BrytaError as exc:
        return f"unavailable: {exc}"


def warm_caches() -> None:
    """Compute the barometer's table, import plotly and simplify the kommun boundaries: what
    the first page and its map need (a few seconds; the first requests wait for the part they
    need rather than compute it again)."""
    from bryta.app import barometer
    from bryta.web.pages import kommun_geojson_bytes, plotly_graph_objects

    barometer.warm()
    plotly_graph_objects()  # the first page builds its figures with it
    kommun_geojson_bytes()


def problem(status: int, detail: str, request: Request, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem-details answer."""
    titles = {
        400: "Bad request",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict",
        422: "Unprocessable content",
        500: "Server error",
        502: "Source unavailable",
    }
    body = {
        "type": "about:blank",
        "title": titles.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")
