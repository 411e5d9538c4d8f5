"""The Sverige page (``/``): the kommuner coloured by a chosen measure and year on a map, the
national trend, a table with the same numbers (so the page is complete without JavaScript) and
the country's population by area type. ``/index.json`` (or ``/?format=json``) returns what the
page shows. The numbers come from :mod:`bryta.app.sverige`; this module only renders them.

The measure/year form is a plain GET form; with JavaScript, htmx sends it in the background,
swaps the part of the page that depends on the choice (``#sverige-view``) and pushes the URL,
and ``static/charts.js`` redraws the charts, moves the focus and says what changed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bryta.app import sverige as app_sverige
from bryta.app.barometer import AREA_TYPE_YEAR
from bryta.web._json import finite
from bryta.web.i18n import N_, number, translations
from bryta.web.pages._common import (
    AREA_TYPE_COLOURS,
    AREA_TYPE_LABELS,
    MEASURES,
    environment,
    finish,
    language_of,
    plotly_graph_objects,
    script_json,
    switch_url,
    year_param,
)

router = APIRouter(include_in_schema=False)

#: Label and short label (colour bar, axis) of the measures beyond D, H and M.
LABELS = {
    **{key: (m.label, m.short) for key, m in MEASURES.items()},
    "share_types_1_2": (
        N_("Share of the population in area types 1–2"),
        N_("Share in area types 1–2"),
    ),
    "inequality": (
        N_("Ojämlikhetsindex: lowest and highest income fifth"),
        N_("Ojämlikhetsindex"),
    ),
}
#: Per scale: plotly's tick format and hover format, and how the page writes a value.
FORMATS = {
    "index": (".2f", ".3f"),
    "share": (".0%", ".1%"),
    "points": (".0f", ".1f"),
}


def _shown(value: float | None, scale: str, language: str) -> str:
    if value is None:
        return "–"
    if scale == "share":
        return number(value * 100, language, "0.0") + "\u00a0%"
    if scale == "points":
        return number(value, language, "0.0")
    return number(value, language)


def _sverige_data(ctx: Any, index: str, year: int | None, language: str) -> dict[str, Any]:
    view = app_sverige.sverige_view(ctx, index, year)
    _ = translations(language).gettext
    measure = view.measure
    group = app_sverige.SEGREGATION.get(measure.key, (None, None))[1]
    grouping = app_sverige.GROUPING if measure.key in app_sverige.SEGREGATION else None
    types = app_sverige.population_by_area_type()
    every_year = sorted({y for m in view.measures for y in m.years})
    return {
        "language": language,
        "measure": {
            "index": measure.key,
            "group": group,
            "grouping": grouping,
            "label": _(LABELS[measure.key][0]),
            "scale": measure.scale,
            "available": measure.available,
            "years": list(measure.years),
            "source": measure.source,
        },
        "year": view.year,
        "requested_year": view.requested_year,
        "year_adjusted": view.year_adjusted,
        "years": list(measure.years) if measure.available else every_year,
        "measures": [
            {
                "index": m.key,
                "group": app_sverige.SEGREGATION.get(m.key, (None, None))[1],
                "label": _(LABELS[m.key][0]),
                "scale": m.scale,
                "available": m.available,
                "years": list(m.years),
                "source": m.source,
            }
            for m in view.measures
        ],
        "kommuner": finite(view.kommuner.to_dicts()),
        "riket": finite(view.riket.to_dicts()),
        "area_types": {
            "year": AREA_TYPE_YEAR,
            "rows": [
                {**row, "label": _(AREA_TYPE_LABELS[row["area_type"]])} for row in types.to_dicts()
            ],
        },
    }


def _figures(data: dict[str, Any], language: str) -> dict[str, str]:
    """The map, the trend and the area types as plotly figure JSON, for ``Plotly.newPlot``."""
    go = plotly_graph_objects()

    _ = translations(language).gettext
    separators = ",\u00a0" if language == "sv" else ".,"
    figures: dict[str, str] = {}
    types = data["area_types"]["rows"]
    fig_types = go.Figure(
        go.Bar(
            x=[row["population"] for row in types],
            y=[f"{row['area_type']} {row['label']}" for row in types],
            orientation="h",
            # outlined: the light steps of cividis stand out from the white background
            marker={
                "color": [AREA_TYPE_COLOURS[row["area_type"]] for row in types],
                "line": {"color": "#1b1f2a", "width": 1},
            },
            customdata=[row["share"] for row in types],
            hovertemplate="%{y}: %{x:,.0f} (%{customdata:.1%})<extra></extra>",
        )
    )
    fig_types.update_layout(
        xaxis={"title": {"text": _("Population")}, "tickformat": ",.0f", "rangemode": "tozero"},
        yaxis={"autorange": "reversed", "automargin": True},
        margin={"l": 10, "r": 20, "t": 10, "b": 50},
        height=300,
        separators=separators,
        plot_bgcolor="#ffffff",
    )
    figures["types"] = script_json(fig_types.to_json())
    if not data["measure"]["available"]:
        return figures

    tick, hover = FORMATS[data["measure"]["scale"]]
    short = _(LABELS[data["measure"]["index"]][1])
    kommuner = [row for row in data["kommuner"] if row["value"] is not None]
    fig_map = go.Figure(
        go.Choroplethmap(
            geojson="/geo/kommun.geojson",
            featureidkey="properties.code",
            locations=[row["code"] for row in kommuner],
            z=[row["value"] for row in kommuner],
            text=[row["name"] for row in kommuner],
            colorscale="Cividis",
            marker={"line": {"width": 0.3, "color": "#ffffff"}},
            colorbar={"title": {"text": short}, "tickformat": tick},
            hovertemplate=f"%{{text}} (%{{location}}): %{{z:{hover}}}<extra></extra>",
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
            marker={"size": 9},
            name=_("Sweden"),
            hovertemplate=f"%{{x}}: %{{y:{hover}}}<extra></extra>",
        )
    )
    fig_trend.update_layout(
        xaxis={"title": {"text": _("Year")}, "dtick": 1},
        # from zero, so a small change does not look like a large one
        yaxis={"title": {"text": short}, "tickformat": tick, "rangemode": "tozero"},
        margin={"l": 70, "r": 20, "t": 10, "b": 50},
        height=320,
        separators=separators,
        plot_bgcolor="#ffffff",
    )
    figures["map"] = script_json(fig_map.to_json())
    figures["trend"] = script_json(fig_trend.to_json())
    return figures


@router.get("/", response_model=None)
def sverige(request: Request) -> Response:
    """The Sverige page (``?format=json`` for its data)."""
    language = language_of(request)
    index = request.query_params.get("index") or "dissimilarity"
    ctx = request.app.state.context
    data = _sverige_data(ctx, index, year_param(request), language)
    if request.query_params.get("format") == "json":
        return finish(JSONResponse(data), request, language)
    scale = data["measure"]["scale"]
    for row in data["kommuner"]:
        row["shown"] = _shown(row["value"], scale, language)
    for row in data["riket"]:
        row["shown"] = _shown(row["value"], scale, language)
    for row in data["area_types"]["rows"]:
        row["areas_shown"] = number(row["areas"], language, "#,##0")
        row["population_shown"] = number(row["population"], language, "#,##0")
        row["share_shown"] = _shown(row["share"], "share", language)
    years = data["measure"]["years"]
    data["years_shown"] = f"{years[0]}–{years[-1]}" if len(years) > 1 else "".join(map(str, years))
    template = environment(language).get_template("sverige.html")
    query = {"index": index, **({"year": data["year"]} if data["year"] is not None else {})}
    html = template.render(
        data=data,
        figures=_figures(data, language),
        language=language,
        other_language="en" if language == "sv" else "sv",
        switch_url=switch_url(request, "en" if language == "sv" else "sv"),
        json_url="/index.json?" + urlencode(query),
    )
    return finish(HTMLResponse(html), request, language)


@router.get("/index.json", response_model=None)
def sverige_json(request: Request) -> Response:
    """The Sverige page's data as JSON."""
    language = language_of(request)
    index = request.query_params.get("index") or "dissimilarity"
    data = _sverige_data(request.app.state.context, index, year_param(request), language)
    return finish(JSONResponse(data), request, language)
