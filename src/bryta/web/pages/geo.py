"""Files the pages load from the app itself: the kommun, län and RegSO boundaries as GeoJSON and
plotly.js from the installed plotly package (no CDN, no tile server). RegSO boundaries come
from the warehouse where imported, else from the bundled files (:mod:`bryta.app.maps`)."""

from __future__ import annotations

import functools
import json
import math
import threading
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from bryta.app.maps import HOW_TO_IMPORT
from bryta.errors import NotFound

if TYPE_CHECKING:
    from bryta.app.context import Context

router = APIRouter(include_in_schema=False)


_GEOJSON_LOCK = threading.Lock()


def kommun_geojson_bytes() -> bytes:
    """The simplified kommun boundaries, built once per process (under a lock: a few seconds)."""
    with _GEOJSON_LOCK:
        return _build_kommun_geojson()


@functools.cache
def _build_kommun_geojson() -> bytes:
    from bryta.geography.boundaries import bundled_boundaries, simplified_geojson

    geojson = simplified_geojson(bundled_boundaries("kommun"), tolerance_m=500, precision=4)
    return json.dumps(geojson, separators=(",", ":"), ensure_ascii=False).encode()


def lan_geojson_bytes() -> bytes:
    """The simplified län boundaries, built once per process (under the same lock)."""
    with _GEOJSON_LOCK:
        return _build_lan_geojson()


@functools.cache
def _build_lan_geojson() -> bytes:
    from bryta.geography.boundaries import bundled_boundaries, simplified_geojson

    geojson = simplified_geojson(bundled_boundaries("lan"), tolerance_m=500, precision=4)
    return json.dumps(geojson, separators=(",", ":"), ensure_ascii=False).encode()


@router.get("/geo/lan.geojson")
def lan_geojson() -> Response:
    """The 21 län as GeoJSON (lon/lat), simplified for maps."""
    return Response(
        lan_geojson_bytes(),
        media_type="application/geo+json",
        headers={"Cache-Control": "public, no-cache"},  # an import can replace them
    )


@router.get("/geo/kommun.geojson")
def kommun_geojson() -> Response:
    """The 290 kommuner as GeoJSON (lon/lat), simplified for maps."""
    return Response(kommun_geojson_bytes(), media_type="application/geo+json")


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package (no CDN)."""
    path = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
    return FileResponse(
        path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


def regso_geojson_bytes(code: str, context: Context | None = None) -> bytes | None:
    """The RegSO boundaries of kommun ``code`` as GeoJSON (lon/lat, simplified), or None
    without them.

    With ``context`` (a page has it at ``request.app.state.context``) the boundaries imported
    into its warehouse are used (``bryta import boundaries --scb RegSO_2020``), else the
    bundled ones (Malmö). Kept per warehouse version, so a fresh import shows at once.
    """
    from bryta.app.maps import regso_geojson

    return regso_geojson(context, code)


def regso_bounds(code: str, context: Context | None = None) -> tuple[float, float, float, float]:
    """West, south, east, north (lon/lat) of the kommun's RegSO boundaries."""
    from bryta.app.maps import regso_bounds as bounds

    return bounds(context, code)


def map_view(
    bounds: tuple[float, float, float, float], width: float = 700, height: float = 480
) -> dict[str, Any]:
    """The ``center`` and ``zoom`` of a plotly map that fits ``bounds`` (west, south, east,
    north in lon/lat) into about ``width`` × ``height`` pixels (512-pixel tiles, Mercator)."""
    west, south, east, north = bounds
    stretch = 1 / math.cos(math.radians((south + north) / 2))
    fits = min(
        math.log2(360 * width / (512 * max(east - west, 1e-6))),
        math.log2(360 * height / (512 * max(north - south, 1e-6) * stretch)),
    )
    return {
        "center": {"lat": (south + north) / 2, "lon": (west + east) / 2},
        "zoom": max(1.0, min(13.0, fits)),
    }


@router.get("/geo/regso/{code}.geojson")
def regso_geojson(code: str, request: Request) -> Response:
    """The RegSO of kommun ``code`` as GeoJSON (lon/lat), where the app has them."""
    body = regso_geojson_bytes(code, request.app.state.context)
    if body is None:
        raise NotFound(
            f"no RegSO boundaries for kommun {code!r} in the app "
            f"(import them with: {HOW_TO_IMPORT})"
        )
    return Response(
        body,
        media_type="application/geo+json",
        headers={"Cache-Control": "public, no-cache"},  # an import can replace them
    )
