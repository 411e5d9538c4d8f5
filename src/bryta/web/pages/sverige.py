"""The Sverige page (``/``): the kommuner coloured by a chosen measure and year on a map, the
national trend, and a table with the same numbers so the page is complete without JavaScript.
``/index.json`` (or ``/?format=json``) returns what the page shows."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bryta.app import barometer
from bryta.errors import InputError
from bryta.web.i18n import number, translations
from bryta.web.pages._common import (
    GROUPING,
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
    return {"map": script_json(fig_map.to_json()), "trend": script_json(fig_trend.to_json())}


@router.get("/", response_model=None)
def sverige(request: Request) -> Response:
    """The Sverige page (``?format=json`` for its data)."""
    language = language_of(request)
    index = request.query_params.get("index") or "dissimilarity"
    data = _sverige_data(index, year_param(request), language)
    if request.query_params.get("format") == "json":
        return finish(JSONResponse(data), request, language)
    for row in data["kommuner"]:
        row["shown"] = number(row["value"], language)
    for row in data["riket"]:
        row["shown"] = number(row["value"], language)
    template = environment(language).get_template("sverige.html")
    html = template.render(
        data=data,
        figures=_figures(data, language),
        language=language,
        other_language="en" if language == "sv" else "sv",
        switch_url=switch_url(request, "en" if language == "sv" else "sv"),
        json_url="/index.json?" + urlencode({"index": index, "year": data["year"]}),
    )
    return finish(HTMLResponse(html), request, language)


@router.get("/index.json", response_model=None)
def sverige_json(request: Request) -> Response:
    """The Sverige page's data as JSON."""
    language = language_of(request)
    index = request.query_params.get("index") or "dissimilarity"
    data = _sverige_data(index, year_param(request), language)
    return finish(JSONResponse(data), request, language)
