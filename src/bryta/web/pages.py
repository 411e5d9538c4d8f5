"""The pages: server-rendered HTML (Jinja2) with a JSON twin, in Swedish and English.

``GET /`` is the Sverige page: the kommuner coloured by a chosen measure and year on a map,
the national trend, and a table with the same numbers so the page is complete without
JavaScript. ``GET /index.json`` (or ``/?format=json``) returns what the page shows. The page
draws its charts with plotly.js served from the installed plotly package
(``/vendor/plotly.min.js``) and the kommun boundaries from ``/geo/kommun.geojson``: nothing is
loaded from any other host.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from bryta.app import barometer
from bryta.errors import InputError
from bryta.web.i18n import LANGUAGES, N_, choose_language, number, translations

TEMPLATES = Path(__file__).parent / "templates"
COOKIE_MAX_AGE = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Measure:
    index: str
    group: str | None
    label: str  # marked for the catalogue, translated where shown
    short: str


# The measures of the Sverige page, on the birth-region grouping (born in Sweden / abroad).
MEASURES = {
    "dissimilarity": Measure(
        "dissimilarity",
        "born_abroad",
        N_("Dissimilarity index D, foreign-born"),
        N_("Dissimilarity D"),
    ),
    "theil_h": Measure("theil_h", None, N_("Theil's H, birth region"), N_("Theil's H")),
    "mutual_information": Measure(
        "mutual_information",
        None,
        N_("Mutual information M, birth region"),
        N_("Mutual information M"),
    ),
}
GROUPING = "birth_region"


@functools.cache
def _environment(language: str) -> jinja2.Environment:
    """One template environment per language, so requests never share a translation."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def _years() -> list[int]:
    riket = barometer.segregation("riket", index="dissimilarity", group="born_abroad")
    return sorted(riket.get_column("year").unique().to_list())


def _sverige_data(index: str, year: int | None, language: str) -> dict[str, Any]:
    if index not in MEASURES:
        raise InputError(f"index must be one of {', '.join(MEASURES)}, not {index!r}")
    measure = MEASURES[index]
    years = _years()
    year = year if year is not None else years[-1]
    if year not in years:
        raise InputError(f"year must be one of {', '.join(map(str, years))}, not {year}")

    def rows(level: str, **where: Any) -> pl.DataFrame:
        table = barometer.segregation(level, index=measure.index, group=measure.group, **where)
        return table.filter(pl.col("grouping") == GROUPING)

    kommuner = rows("kommun", year=year).select("code", "name", "value").sort("code")
    riket = rows("riket").select("year", "value").sort("year")
    _ = translations(language).gettext
    return {
        "language": language,
        "measure": {
            "index": measure.index,
            "group": measure.group,
            "grouping": GROUPING,
            "label": _(measure.label),
        },
        "year": year,
        "measures": [
            {"index": m.index, "group": m.group, "label": _(m.label)} for m in MEASURES.values()
        ],
        "years": years,
        "kommuner": kommuner.to_dicts(),
        "riket": riket.to_dicts(),
    }


_PLOTLY_LOCK = threading.Lock()


def plotly_graph_objects() -> Any:
    """``plotly.graph_objects``, with the pandas plotly imports lazily on first use imported
    under a lock: a second thread building a figure meanwhile would find pandas half imported
    in ``sys.modules`` (an AttributeError on the first requests of a fresh server)."""
    with _PLOTLY_LOCK:
        import plotly.graph_objects as go
        from _plotly_utils.optional_imports import get_module

        get_module("pandas")
    return go


def _figures(data: dict[str, Any], language: str) -> dict[str, str]:
    """The map and the trend as plotly figure JSON, for ``Plotly.newPlot`` in the page."""
    go = plotly_graph_objects()

    _ = translations(language).gettext
    separators = ",\u00a0" if language == "sv" else ".,"
    short = _(MEASURES[data["measure"]["index"]].short)
    kommuner = data["kommuner"]
    fig_map = go.Figure(
        go.Choroplethmap(
            geojson="/geo/kommun.geojson",
            featureidkey="properties.code",
            locations=[row["code"] for row in kommuner],
            z=[row["value"] for row in kommuner],
            text=[row["name"] for row in kommuner],
            colorscale="Cividis",
            marker={"line": {"width": 0.3, "color": "#ffffff"}},
            colorbar={"title": {"text": short}, "tickformat": ".2f"},
            hovertemplate="%{text} (%{location}): %{z:.3f}<extra></extra>",
        )
    )
    fig_map.update_layout(
        map={"style": "white-bg", "center": {"lat": 62.9, "lon": 17.0}, "zoom": 3.7},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=620,
        separators=separators,
    )
    riket = data["riket"]
    fig_trend = go.Figure(
        go.Scatter(
            x=[row["year"] for row in riket],
            y=[row["value"] for row in riket],
            mode="lines+markers",
            line={"color": "#2c3e75", "width": 3},
            name=_("Sweden"),
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig_trend.update_layout(
        xaxis={"title": {"text": _("Year")}, "dtick": 1},
        # from zero, so a small change does not look like a large one
        yaxis={"title": {"text": short}, "tickformat": ".2f", "rangemode": "tozero"},
        margin={"l": 70, "r": 20, "t": 10, "b": 50},
        height=320,
        separators=separators,
        plot_bgcolor="#ffffff",
    )
    return {"map": _script_json(fig_map.to_json()), "trend": _script_json(fig_trend.to_json())}


def _script_json(text: str) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` can close it)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _language(request: Request) -> str:
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )


def _finish(response: Response, request: Request, language: str) -> Response:
    """Remember an explicit ``?lang=`` in a cookie; say what the answer varies by."""
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", language, max_age=COOKIE_MAX_AGE, samesite="lax")
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def _switch_url(request: Request, language: str) -> str:
    params = dict(request.query_params)
    params["lang"] = language
    return f"{request.url.path}?{urlencode(params)}"


def _year_param(request: Request) -> int | None:
    given = request.query_params.get("year")
    if given is None or given == "":
        return None
    try:
        return int(given)
    except ValueError:
        raise InputError(f"year must be a whole number such as 2023, not {given!r}") from None


@router.get("/", response_model=None)
def sverige(request: Request) -> Response:
    """The Sverige page (``?format=json`` for its data)."""
    language = _language(request)
    index = request.query_params.get("index") or "dissimilarity"
    data = _sverige_data(index, _year_param(request), language)
    if request.query_params.get("format") == "json":
        return _finish(JSONResponse(data), request, language)
    for row in data["kommuner"]:
        row["shown"] = number(row["value"], language)
    for row in data["riket"]:
        row["shown"] = number(row["value"], language)
    template = _environment(language).get_template("sverige.html")
    html = template.render(
        data=data,
        figures=_figures(data, language),
        language=language,
        other_language="en" if language == "sv" else "sv",
        switch_url=_switch_url(request, "en" if language == "sv" else "sv"),
        json_url="/index.json?" + urlencode({"index": index, "year": data["year"]}),
    )
    return _finish(HTMLResponse(html), request, language)


@router.get("/index.json", response_model=None)
def sverige_json(request: Request) -> Response:
    """The Sverige page's data as JSON."""
    language = _language(request)
    index = request.query_params.get("index") or "dissimilarity"
    data = _sverige_data(index, _year_param(request), language)
    return _finish(JSONResponse(data), request, language)


_GEOJSON_LOCK = threading.Lock()


def _kommun_geojson() -> bytes:
    """The simplified kommun boundaries, built once per process (under a lock: a few seconds)."""
    with _GEOJSON_LOCK:
        return _build_kommun_geojson()


@functools.cache
def _build_kommun_geojson() -> bytes:
    from bryta.geography.boundaries import bundled_boundaries, simplified_geojson

    geojson = simplified_geojson(bundled_boundaries("kommun"), tolerance_m=500, precision=4)
    return json.dumps(geojson, separators=(",", ":"), ensure_ascii=False).encode()


@router.get("/geo/kommun.geojson")
def kommun_geojson() -> Response:
    """The 290 kommuner as GeoJSON (lon/lat), simplified for maps."""
    return Response(_kommun_geojson(), media_type="application/geo+json")


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package (no CDN)."""
    path = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
    return FileResponse(
        path, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )
