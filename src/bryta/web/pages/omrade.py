"""The Område page (``/omrade/{code}``): a RegSO on a map of its kommun (where boundaries
exist), its indicators ranked among the kommun's areas and same-type areas (chart and table),
its area types over the years (chart and table), segregation within it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bryta.app import barometer
from bryta.app.maps import has_regso_boundaries
from bryta.app.profiles import PROXY_TYPES_NOTE
from bryta.errors import NotFound
from bryta.web._json import finite
from bryta.web.i18n import N_, number, translations
from bryta.web.pages._common import (
    AREA_TYPE_LABELS,
    area_type_map_trace,
    common,
    environment,
    finish,
    language_of,
    not_found,
    plotly_graph_objects,
    script_json,
)
from bryta.web.pages.geo import map_view, regso_bounds

if TYPE_CHECKING:
    from bryta.app.context import Context

router = APIRouter(include_in_schema=False)


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

# the profile's notes (English in bryta.app.profiles), in the catalogue
NOTES = {
    PROXY_TYPES_NOTE: N_(
        "Proxy area types rank areas by the share born abroad and the share of rental "
        "dwellings (bundled data), not by SCB's socioeconomic index; official types: 2022."
    )
}


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
        # a note the catalogue lacks stays English, and says so to screen readers
        "notes": [
            {"text": _(NOTES[note]), "lang": None}
            if note in NOTES
            else {"text": note, "lang": None if language == "en" else "en"}
            for note in data["notes"]
        ],
    }


# the indicators charted, in this order (population first: the others are shares of it)
CHARTED = ("population", "born_abroad_pct", "rental_pct", "mean_wage_income")
# this area, the kommun's median, the area type's median: told apart by line style, not colour
SERIES_STYLES = {
    "value": {"color": "#00224e", "width": 3, "dash": "solid"},
    "median_kommun": {"color": "#575d6d", "width": 2, "dash": "dash"},
    "median_area_type": {"color": "#7d6b1f", "width": 2, "dash": "dot"},
}
HIGHLIGHT = "#d81b60"  # the outline of this area on the map (magenta: seen on every type colour)


def _separators(language: str) -> str:
    return ",\u00a0" if language == "sv" else ".,"


def _omrade_figures(
    data: dict[str, Any], view: dict[str, Any], language: str, context: Context | None
) -> dict[str, str]:
    """The Område page's figures as plotly JSON: the indicators against the kommun's and the
    area type's medians, the area types over the years, and (where the kommun's RegSO
    boundaries exist) the map of the kommun with this area outlined."""
    figures = {
        "indicator_chart": script_json(_indicator_chart(data, view, language).to_json()),
        "type_chart": script_json(_type_chart(view, language).to_json()),
    }
    if view["regso_map"]:
        figures["area_map"] = script_json(_area_map(data, view, language, context).to_json())
    return figures


def _indicator_chart(data: dict[str, Any], view: dict[str, Any], language: str) -> Any:
    go = plotly_graph_objects()
    from plotly.subplots import make_subplots

    _ = translations(language).gettext
    rows = {ind: [r for r in view["indicators"] if r["indicator"] == ind] for ind in CHARTED}
    rows = {ind: sorted(found, key=lambda r: r["year"]) for ind, found in rows.items() if found}
    official = view["official"]
    type_name = (
        _("Median, area type {type} (Sweden)").format(type=official["area_type"])
        if official
        else _("Median, area type (Sweden)")
    )
    names = {
        "value": data["name"],
        "median_kommun": _("Median, {kommun}").format(kommun=view["kommun"]["name"]),
        "median_area_type": type_name,
    }
    fig = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=[rows[ind][0]["label"] for ind in rows],
        horizontal_spacing=0.1,
        vertical_spacing=0.2,
    )
    for position, (indicator, found) in enumerate(rows.items()):
        row, col = divmod(position, 2)
        pattern = ",.0f" if indicator == "population" else ",.1f"
        for key, style in SERIES_STYLES.items():
            points = [r for r in found if r.get(key) is not None]
            fig.add_trace(
                go.Scatter(
                    x=[r["year"] for r in points],
                    y=[r[key] for r in points],
                    mode="lines+markers",
                    line=style,
                    marker={"size": 7, "color": style["color"]},
                    name=names[key],
                    legendgroup=key,
                    showlegend=position == 0,
                    hovertemplate=f"%{{x}}: %{{y:{pattern}}}<extra>{names[key]}</extra>",
                ),
                row=row + 1,
                col=col + 1,
            )
    fig.update_xaxes(dtick=1, tickformat="d")
    fig.update_yaxes(rangemode="tozero", tickformat=",~r")
    fig.update_layout(
        height=560,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        separators=_separators(language),
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.12},
    )
    fig.update_annotations(font_size=13)
    return fig


def _type_chart(view: dict[str, Any], language: str) -> Any:
    go = plotly_graph_objects()
    _ = translations(language).gettext
    fig = go.Figure()
    for source, symbol, colour, dash in (
        ("proxy", "circle", "#575d6d", "dash"),
        ("official", "diamond", "#00224e", "solid"),
    ):
        rows = [r for r in view["area_types"] if r["source"] == source and r["area_type"]]
        if not rows:
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["year"] for r in rows],
                y=[r["area_type"] for r in rows],
                mode="lines+markers",
                line={"color": colour, "width": 2, "dash": dash},
                marker={"symbol": symbol, "size": 14 if source == "official" else 9},
                name=rows[0]["source_label"],
                text=[r["label"] for r in rows],
                hovertemplate="%{x}: %{y} %{text}<extra></extra>",
            )
        )
    fig.update_xaxes(dtick=1, tickformat="d")
    fig.update_yaxes(
        range=[0.5, 5.5],
        tickvals=list(AREA_TYPE_LABELS),
        ticktext=[f"{t} {_(label)}" for t, label in AREA_TYPE_LABELS.items()],
        title={"text": _("Area type")},
    )
    fig.update_layout(
        height=320,
        margin={"l": 20, "r": 20, "t": 20, "b": 40},
        separators=_separators(language),
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def _area_map(
    data: dict[str, Any], view: dict[str, Any], language: str, context: Context | None
) -> Any:
    go = plotly_graph_objects()
    _ = translations(language).gettext
    kommun = view["kommun"]["code"]
    geojson = f"/geo/regso/{kommun}.geojson"
    fig = go.Figure(area_type_map_trace(kommun, view["kommun_regso"], language))
    # this area: no fill of its own, a thick outline over its type colour
    fig.add_trace(
        go.Choroplethmap(
            geojson=geojson,
            featureidkey="properties.code",
            locations=[data["code"]],
            z=[1],
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
            showscale=False,
            marker={"line": {"width": 4, "color": HIGHLIGHT}},
            text=[data["name"]],
            hovertemplate="%{text}<extra></extra>",
            name=data["name"],
        )
    )
    fig.update_layout(
        map={"style": "white-bg", **map_view(regso_bounds(kommun, context))},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=480,
        separators=_separators(language),
        showlegend=False,
    )
    return fig


@router.get("/omrade/{code}.json", response_model=None)
def omrade_json(code: str, request: Request) -> Response:
    """The Område page's data: the area profile (404 problem details for an unknown code)."""
    language = language_of(request)
    return finish(JSONResponse(_omrade_profile(code)), request, language)


@router.get("/omrade/{code}", response_model=None)
def omrade(code: str, request: Request) -> Response:
    """The Område page: a RegSO's indicators with ranks, its area types, its local segregation."""
    language = language_of(request)
    try:
        data = _omrade_profile(code)
    except NotFound:
        return not_found(request, language, code, what="regso")
    if request.query_params.get("format") == "json":
        return finish(JSONResponse(data), request, language)
    context = request.app.state.context
    view = _omrade_view(data, language)
    kommun = view["kommun"]["code"]
    view["regso_map"] = has_regso_boundaries(context, kommun)
    if view["regso_map"]:
        view["kommun_regso"] = barometer.kommun_regso(kommun).to_dicts()
    template = environment(language).get_template("omrade.html")
    html = template.render(
        data=data,
        json_url=f"/omrade/{code}.json",
        figures=_omrade_figures(data, view, language, context),
        **view,
        **common(request, language),
    )
    return finish(HTMLResponse(html), request, language)
