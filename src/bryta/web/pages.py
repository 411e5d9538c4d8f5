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
import math
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
from bryta.errors import InputError, NotFound
from bryta.web._json import finite
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


# ---- the kommun page --------------------------------------------------------------------------
# (grouping, index) → the label of the series, translated where shown
KOMMUN_LABELS = {
    ("birth_region", "dissimilarity"): N_("Dissimilarity index D, foreign-born"),
    ("birth_region", "theil_h"): N_("Theil's H, birth region"),
    ("birth_region", "mutual_information"): N_("Mutual information M, birth region"),
    ("tenure", "dissimilarity"): N_("Dissimilarity index D, rental dwellings"),
    ("tenure", "theil_h"): N_("Theil's H, tenure"),
    ("tenure", "mutual_information"): N_("Mutual information M, tenure"),
}
GROUPING_LABELS = {
    "birth_region": N_("Birth region (people born in Sweden and abroad)"),
    "tenure": N_("Tenure (dwellings: rental, tenant-owned, owner-occupied)"),
}
AREA_TYPE_LABELS = {
    1: N_("great socioeconomic challenges"),
    2: N_("socioeconomic challenges"),
    3: N_("socioeconomically mixed"),
    4: N_("good socioeconomic conditions"),
    5: N_("very good socioeconomic conditions"),
}
# Area types 1–5 on the map: steps of the cividis scale (readable with colour-vision deficiency)
AREA_TYPE_COLOURS = {1: "#00224e", 2: "#414d6b", 3: "#7c7b78", 4: "#bcaf6f", 5: "#fee838"}
# The kommuner whose RegSO boundaries are bundled (bryta.geography.boundaries)
BUNDLED_REGSO = {"1280": "regso_malmo"}


def _clean(value: float | None) -> float | None:
    """JSON has no NaN: an undefined value is null."""
    return None if value is None or value != value else float(value)


def _kommun_data(code: str, language: str) -> dict[str, Any]:
    name = barometer.kommun_name(code)  # NotFound for an unknown code
    _ = translations(language).gettext
    intervals = barometer.kommun_intervals(code)
    series: list[dict[str, Any]] = []
    for grouping, chosen in barometer.KOMMUN_INDICES.items():
        for index, group in chosen:
            rows = intervals.filter(
                (pl.col("grouping") == grouping) & (pl.col("index") == index)
            ).sort("year")
            series.append(
                {
                    "grouping": grouping,
                    "index": index,
                    "group": group,
                    "label": _(KOMMUN_LABELS[grouping, index]),
                    "values": [
                        {
                            "year": row["year"],
                            "value": _clean(row["value"]),
                            "ci_low": _clean(row["ci_low"]),
                            "ci_high": _clean(row["ci_high"]),
                            "se": _clean(row["se"]),
                        }
                        for row in rows.iter_rows(named=True)
                    ],
                }
            )
    years: list[int] = sorted(intervals.get_column("year").unique().to_list())
    latest = years[-1]

    def values_of(level: str, where: str) -> dict[str, float | None]:
        table = barometer.segregation(level, year=latest).filter(
            (pl.col("code") == where) & (pl.col("grouping") == GROUPING)
        )
        found = {}
        for measure in MEASURES.values():
            hit = table.filter(
                (pl.col("index") == measure.index)
                & (
                    pl.col("group").is_null()
                    if measure.group is None
                    else pl.col("group") == measure.group
                )
            )
            found[measure.index] = _clean(hit.get_column("value")[0]) if hit.height else None
        return found

    mix = barometer.kommun_mix()
    own = mix.filter(pl.col("code") == code).row(0, named=True)
    similar = barometer.similar_kommuner(code)
    regso = barometer.kommun_regso(code)
    return {
        "language": language,
        "code": code,
        "name": name,
        "years": years,
        "bootstrap": {
            "replicates": barometer.KOMMUN_BOOTSTRAP,
            "seed": barometer.KOMMUN_SEED,
            "level": 0.95,
            "method": "bias_corrected",
        },
        "series": series,
        "area_type_year": barometer.AREA_TYPE_YEAR,
        "population": own["population"],
        "share_types_1_2": own["share_types_1_2"],
        "regso": [
            {**row, "area_type_label": _(AREA_TYPE_LABELS[row["area_type"]])}
            if row["area_type"] is not None
            else {**row, "area_type_label": None}
            for row in regso.iter_rows(named=True)
        ],
        "regso_map": code in BUNDLED_REGSO,
        "comparison": {
            "year": latest,
            "measures": [
                {"index": m.index, "group": m.group, "label": _(m.label)} for m in MEASURES.values()
            ],
            "kommun": values_of("kommun", code),
            "riket": values_of("riket", "00"),
            "rule": _(
                "The {n} kommuner closest to {name} in size and area-type mix: the distance "
                "combines the natural log of the population and the share of the population "
                "living in area types 1–2 ({year}), each standardised over the 290 kommuner "
                "(minus its mean, divided by its standard deviation)."
            ).format(n=barometer.SIMILAR, name=name, year=barometer.AREA_TYPE_YEAR),
            "similar": [
                {**row, "values": values_of("kommun", row["code"])}
                for row in similar.iter_rows(named=True)
            ],
        },
    }


def _kommun_figures(data: dict[str, Any], language: str) -> dict[str, str]:
    """The indices with their intervals (small multiples) and, where boundaries are bundled,
    the RegSO map, as plotly figure JSON."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    _ = translations(language).gettext
    separators = ",\u00a0" if language == "sv" else ".,"
    shorts = [_(m.short) for m in MEASURES.values()]
    groupings = list(barometer.KOMMUN_INDICES)
    fig = make_subplots(
        rows=len(groupings),
        cols=len(shorts),
        subplot_titles=[
            f"{short} – {_(GROUPING_SHORT[grouping])}" for grouping in groupings for short in shorts
        ],
        horizontal_spacing=0.07,
        vertical_spacing=0.2,
    )
    band = _("95 % interval")
    for position, entry in enumerate(data["series"]):
        row, col = divmod(position, len(shorts))
        points = [v for v in entry["values"] if v["value"] is not None]
        years = [v["year"] for v in points]
        low = [v["ci_low"] for v in points]
        high = [v["ci_high"] for v in points]
        first = position == 0
        fig.add_trace(
            go.Scatter(
                x=years + years[::-1],
                y=high + low[::-1],
                mode="lines",
                fill="toself",
                fillcolor="rgba(44, 62, 117, 0.22)",
                line={"width": 0},
                hoverinfo="skip",
                name=band,
                legendgroup="band",
                showlegend=first,
            ),
            row=row + 1,
            col=col + 1,
        )
        fig.add_trace(
            go.Scatter(
                x=years,
                y=[v["value"] for v in points],
                mode="lines+markers",
                line={"color": "#2c3e75", "width": 2},
                marker={"size": 7},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [max(v["ci_high"] - v["value"], 0.0) for v in points],
                    "arrayminus": [max(v["value"] - v["ci_low"], 0.0) for v in points],
                    "color": "#2c3e75",
                    "thickness": 1.5,
                    "width": 5,
                },
                customdata=[[v["ci_low"], v["ci_high"]] for v in points],
                hovertemplate="%{x}: %{y:.3f} (%{customdata[0]:.3f}–%{customdata[1]:.3f})"
                "<extra></extra>",
                name=data["name"],
                legendgroup="value",
                showlegend=first,
            ),
            row=row + 1,
            col=col + 1,
        )
        # the band must be visible: the axis spans the values and intervals, and at least
        # MIN_SPAN, so sampling noise is not drawn as a change
        if points:
            shown = low + high + [v["value"] for v in points]
            low_end, high_end = min(shown), max(shown)
            middle, span = (low_end + high_end) / 2, max(high_end - low_end, MIN_SPAN)
            bottom = max(0.0, middle - span * 0.6)
            fig.update_yaxes(range=[bottom, bottom + span * 1.2], row=row + 1, col=col + 1)
    fig.update_xaxes(dtick=1, tickformat="d")
    fig.update_yaxes(tickformat=".3f")
    fig.update_layout(
        height=560,
        margin={"l": 50, "r": 20, "t": 40, "b": 40},
        separators=separators,
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.1},
    )
    figures = {"indices": _script_json(fig.to_json())}
    if data["regso_map"]:
        figures["regso_map"] = _script_json(_regso_map(data, language).to_json())
    return figures


MIN_SPAN = 0.05  # the smallest span of a y axis on the kommun page's charts
GROUPING_SHORT = {"birth_region": N_("birth region"), "tenure": N_("tenure")}


def _regso_map(data: dict[str, Any], language: str) -> Any:
    import plotly.graph_objects as go

    _ = translations(language).gettext
    rows = [row for row in data["regso"] if row["area_type"] is not None]
    n = len(AREA_TYPE_COLOURS)
    scale = []
    for t, colour in AREA_TYPE_COLOURS.items():
        scale += [[(t - 1) / n, colour], [t / n, colour]]
    west, south, east, north = _regso_bounds(data["code"])
    # the zoom at which the kommun fits about 700 × 480 pixels (512-pixel tiles, Mercator)
    stretch = 1 / math.cos(math.radians((south + north) / 2))
    fits = min(
        math.log2(360 * 700 / (512 * max(east - west, 1e-6))),
        math.log2(360 * 480 / (512 * max(north - south, 1e-6) * stretch)),
    )
    zoom = max(1.0, min(13.0, fits))
    fig = go.Figure(
        go.Choroplethmap(
            geojson=f"/geo/regso/{data['code']}.geojson",
            featureidkey="properties.code",
            locations=[row["code"] for row in rows],
            z=[row["area_type"] for row in rows],
            zmin=0.5,
            zmax=n + 0.5,
            text=[f"{row['name']}: {row['area_type_label']}" for row in rows],
            colorscale=scale,
            marker={"line": {"width": 0.6, "color": "#ffffff"}},
            colorbar={
                "title": {"text": _("Area type")},
                "tickvals": list(AREA_TYPE_COLOURS),
                "ticktext": [f"{t} {_(AREA_TYPE_LABELS[t])}" for t in AREA_TYPE_COLOURS],
            },
            hovertemplate="%{text}<extra></extra>",
        )
    )
    fig.update_layout(
        map={
            "style": "white-bg",
            "center": {"lat": (south + north) / 2, "lon": (west + east) / 2},
            "zoom": zoom,
        },
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=520,
        separators=",\u00a0" if language == "sv" else ".,",
    )
    return fig


@functools.cache
def _regso_geojson(code: str) -> bytes | None:
    """The bundled RegSO boundaries of kommun ``code`` as GeoJSON, or None without them."""
    from bryta.geography.boundaries import bundled_boundaries, simplified_geojson

    level = BUNDLED_REGSO.get(code)
    if level is None:
        return None
    frame = bundled_boundaries(level).filter(pl.col("code").str.starts_with(code))
    geojson = simplified_geojson(frame, tolerance_m=20, precision=5)
    return json.dumps(geojson, separators=(",", ":"), ensure_ascii=False).encode()


@functools.cache
def _regso_bounds(code: str) -> tuple[float, float, float, float]:
    """West, south, east, north (lon/lat) of the kommun's bundled RegSO boundaries."""
    geojson = json.loads(_regso_geojson(code) or b'{"features": []}')
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


def _show_kommun(data: dict[str, Any], language: str) -> None:
    """Add the numbers as the page writes them (``shown`` beside each value)."""
    for entry in data["series"]:
        for row in entry["values"]:
            for key in ("value", "ci_low", "ci_high"):
                row[f"{key}_shown"] = number(row[key], language)
    for row in data["regso"]:
        row["population_shown"] = number(row["population"], language, "#,##0")
    comparison = data["comparison"]
    for values in [comparison["kommun"], comparison["riket"]] + [
        row["values"] for row in comparison["similar"]
    ]:
        values["shown"] = {k: number(v, language) for k, v in values.items() if k != "shown"}
    for row in comparison["similar"]:
        row["population_shown"] = number(row["population"], language, "#,##0")
        row["share_shown"] = number(row["share_types_1_2"] * 100, language, "0.0")
    data["population_shown"] = number(data["population"], language, "#,##0")
    data["share_shown"] = number(data["share_types_1_2"] * 100, language, "0.0")


@router.get("/kommun/{code}.json", response_model=None)
def kommun_json(code: str, request: Request) -> Response:
    """The kommun page's data as JSON (404 problem details for an unknown code)."""
    language = _language(request)
    return _finish(JSONResponse(_kommun_data(code, language)), request, language)


@router.get("/kommun/{code}", response_model=None)
def kommun(code: str, request: Request) -> Response:
    """The kommun page: its indices with bootstrap intervals, its RegSO, comparisons."""
    language = _language(request)
    other = "en" if language == "sv" else "sv"
    common = {
        "language": language,
        "other_language": other,
        "switch_url": _switch_url(request, other),
    }
    try:
        data = _kommun_data(code, language)
    except NotFound:
        template = _environment(language).get_template("not_found.html")
        html = template.render(code=code, **common)
        return _finish(HTMLResponse(html, status_code=404), request, language)
    if request.query_params.get("format") == "json":
        return _finish(JSONResponse(data), request, language)
    figures = _kommun_figures(data, language)
    _show_kommun(data, language)
    template = _environment(language).get_template("kommun.html")
    html = template.render(
        data=data,
        figures=figures,
        grouping_labels={k: translations(language).gettext(v) for k, v in GROUPING_LABELS.items()},
        json_url=f"/kommun/{code}.json?lang={language}",
        **common,
    )
    return _finish(HTMLResponse(html), request, language)


@router.get("/geo/regso/{code}.geojson")
def regso_geojson(code: str) -> Response:
    """The RegSO of kommun ``code`` as GeoJSON (lon/lat), where the app has them."""
    body = _regso_geojson(code)
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


def _common(request: Request, language: str) -> dict[str, str]:
    other = "en" if language == "sv" else "sv"
    return {
        "language": language,
        "other_language": other,
        "switch_url": _switch_url(request, other),
    }


# ---- the Metod page ---------------------------------------------------------------------------
@router.get("/metod", response_model=None)
def metod(request: Request) -> Response:
    """The Metod page: the indices, the area types and the intervals in plain language."""
    language = _language(request)
    html = _environment(language).get_template("metod.html").render(**_common(request, language))
    return _finish(HTMLResponse(html), request, language)


# ---- the Område page --------------------------------------------------------------------------
# the bundled indicators' names (bryta.app.profiles.BUNDLED_INDICATORS), translated where shown
INDICATOR_LABELS = {
    "population": N_("Population"),
    "born_abroad_pct": N_("Born abroad, share of the population (%)"),
    "rental_pct": N_("Rental dwellings, share of dwellings of known tenure (%)"),
    "mean_wage_income": N_("Mean wage income, all persons, thousand SEK"),
    "challenged_pop_pct": N_(
        "Population in areas of type 1–2 (official), share of the population (%)"
    ),
}
# how the page writes an indicator's value, by its unit
UNIT_PATTERNS = {"persons": "#,##0", "percent": "0.0", "thousand SEK": "#,##0.0"}
LOCAL_LABELS = {
    ("birth_region", "location_quotient"): N_("Location quotient, born abroad"),
    ("birth_region", "local_M_share_pct"): N_("Share of the kommun's M over birth region, %"),
    ("tenure", "location_quotient"): N_("Location quotient, rental dwellings"),
    ("tenure", "local_M_share_pct"): N_("Share of the kommun's M over tenure, %"),
}
SOURCE_LABELS = {"official": N_("SCB (official)"), "proxy": N_("bryta (proxy)")}


def _omrade_profile(code: str) -> dict[str, Any]:
    """The area profile of RegSO ``code`` as JSON-ready data (NotFound for any other code)."""
    from bryta.app.profiles import area_profile

    profile = area_profile(code)  # NotFound for an unknown code
    if profile.level != "regso":
        raise NotFound(f"{code!r} is a {profile.level}, not a RegSO (such as 1280R020)")
    return finite(profile.to_dict())


def _omrade_view(data: dict[str, Any], language: str) -> dict[str, Any]:
    """What the Område page shows: the profile's rows with labels and numbers as written."""
    _ = translations(language).gettext
    parents = {p["level"]: p for p in data["parents"]}
    indicators = []
    for row in sorted(data["indicators"], key=lambda r: (r["indicator"], r["year"])):
        label = INDICATOR_LABELS.get(row["indicator"])
        pattern = UNIT_PATTERNS.get(row.get("unit") or "", "0.000")
        shown = {
            **row,
            "label": _(label) if label else row["name"],
            "value_shown": number(row["value"], language, pattern),
        }
        for group in ("kommun", "area_type"):
            rank, n = row.get(f"rank_{group}"), row.get(f"n_{group}")
            shown[f"rank_{group}_shown"] = (
                _("{rank} of {n}").format(rank=rank, n=n) if rank is not None else "–"
            )
            shown[f"median_{group}_shown"] = number(row.get(f"median_{group}"), language, pattern)
        indicators.append(shown)
    area_types = [
        {
            **row,
            "source_label": _(SOURCE_LABELS[row["source"]])
            if row["source"] in SOURCE_LABELS
            else row["source"],
            "label": _(AREA_TYPE_LABELS[row["area_type"]])
            if row["area_type"] in AREA_TYPE_LABELS
            else None,
        }
        for row in sorted(data["area_types"], key=lambda r: (r["year"], r["source"]))
    ]
    official = [row for row in area_types if row["source"] == "official"]
    segregation = [
        {
            **row,
            "label": _(LOCAL_LABELS[row["dimension"], row["index"]])
            if (row["dimension"], row["index"]) in LOCAL_LABELS
            else f"{row['index']} ({row['dimension']})",
            "value_shown": number(row["value"], language),
        }
        for row in sorted(
            data["segregation"], key=lambda r: (r["dimension"], r["index"], r["year"])
        )
    ]
    return {
        "kommun": parents["kommun"],
        "lan": parents["lan"],
        "indicators": indicators,
        "area_types": area_types,
        "official": official[-1] if official else None,
        "segregation": segregation,
    }


@router.get("/omrade/{code}.json", response_model=None)
def omrade_json(code: str, request: Request) -> Response:
    """The Område page's data: the area profile (404 problem details for an unknown code)."""
    language = _language(request)
    return _finish(JSONResponse(_omrade_profile(code)), request, language)


@router.get("/omrade/{code}", response_model=None)
def omrade(code: str, request: Request) -> Response:
    """The Område page: a RegSO's indicators with ranks, its area types, its local segregation."""
    language = _language(request)
    common = _common(request, language)
    try:
        data = _omrade_profile(code)
    except NotFound:
        template = _environment(language).get_template("not_found.html")
        html = template.render(code=code, what="regso", **common)
        return _finish(HTMLResponse(html, status_code=404), request, language)
    if request.query_params.get("format") == "json":
        return _finish(JSONResponse(data), request, language)
    template = _environment(language).get_template("omrade.html")
    html = template.render(
        data=data,
        json_url=f"/omrade/{code}.json",
        **_omrade_view(data, language),
        **common,
    )
    return _finish(HTMLResponse(html), request, language)
