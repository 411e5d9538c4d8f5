"""Files the pages load from the app itself: the kommun, län and RegSO boundaries as GeoJSON and
plotly.js from the installed plotly package (no CDN, no tile server)."""

from __future__ import annotations

import functools
import json
import threading
from importlib.resources import files
from pathlib import Path
from typing import Any

import polars as pl
from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from bryta.errors import NotFound
from bryta.web.pages._common import BUNDLED_REGSO

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
        headers={"Cache-Control": "public, max-age=86400"},
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


@functools.cache
def regso_geojson_bytes(code: str) -> bytes | None:
    """The bundled RegSO boundaries of kommun ``code`` as GeoJSON, or None without them."""
    from bryta.geography.boundaries import bundled_boundaries, simplified_geojson

    level = BUNDLED_REGSO.get(code)
    if level is None:
        return None
    frame = bundled_boundaries(level).filter(pl.col("code").str.starts_with(code))
    geojson = simplified_geojson(frame, tolerance_m=20, precision=5)
    return json.dumps(geojson, separators=(",", ":"), ensure_ascii=False).encode()


@functools.cache
def regso_bounds(code: str) -> tuple[float, float, float, float]:
    """West, south, east, north (lon/lat) of the kommun's bundled RegSO boundaries."""
    geojson = json.loads(regso_geojson_bytes(code) or b'{"features": []}')
    lons: list[float] = []
    lats: list[float] = []

    def walk(coordinates: Any) -> None:
        if coordinates and isinstance(coordinates[0], (int, float)):
            lons.append(coordinates[0])
            lats.append(coordinates[1])
            return
        for part in coordinates:
            walk(part)

    for feature in geojson["features"]:
        walk(feature["geometry"]["coordinates"])
    return min(lons), min(lats), max(lons), max(lats)


@router.get("/geo/regso/{code}.geojson")
def regso_geojson(code: str) -> Response:
    """The RegSO of kommun ``code`` as GeoJSON (lon/lat), where the app has them."""
    body = regso_geojson_bytes(code)
    if body is None:
        raise NotFound(
            f"no RegSO boundaries for kommun {code!r} in the app "
            "(import them with: bryta import boundaries)"
        )
    return Response(
        body,
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=86400"},
    )
