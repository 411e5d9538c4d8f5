"""The pages: server-rendered HTML (Jinja2) with a JSON twin, in Swedish and English.

One module per page (``sverige``, ``kommun``, ``omrade``, ``insats``, ``statistiklabb``,
``bevakning``, ``metod``) and
``geo`` for the files the pages load from the app (boundaries as GeoJSON, plotly.js from the
installed plotly package): nothing is loaded from any other host. ``_common`` holds what they share.
"""

from __future__ import annotations

from fastapi import APIRouter

from bryta.web.pages import (
    bevakning,
    geo,
    insats,
    kommun,
    metod,
    omrade,
    statistiklabb,
    sverige,
)
from bryta.web.pages._common import plotly_graph_objects
from bryta.web.pages.geo import kommun_geojson_bytes

router = APIRouter(include_in_schema=False)
for _module in (sverige, kommun, omrade, insats, statistiklabb, bevakning, metod, geo):
    router.include_router(_module.router)

__all__ = ["kommun_geojson_bytes", "plotly_graph_objects", "router"]
