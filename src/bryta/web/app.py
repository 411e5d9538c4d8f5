"""The application factory: ``create_app(settings)`` builds the FastAPI app.

Nothing is created at import time: the settings, the context built from them and the
routers are put together here, so tests build an app per case with a temporary data folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from bryta.app.context import Context, Settings
from bryta.errors import BrytaError, http_status
from bryta.web import api
from bryta.web.pages import router as pages

STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    """The web app for ``settings`` (or an existing ``context``, which tests pass with fakes)."""
    ctx = context or Context(settings or Settings())
    app = FastAPI(
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

    return app


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
