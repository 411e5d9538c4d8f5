"""Statistiklabbet (``/statistiklabbet``): pick a measure, a level, years and areas and see a
map, a line chart and a table side by side; download exactly the table.

The whole state is in the query string of a plain GET form, so a link can be shared:

``measure``
    an id of :data:`bryta.app.statistiklabb.MEASURES` (default ``born_abroad_pct``);
``level``
    ``riket``, ``lan``, ``kommun`` (default) or ``regso``;
``from``, ``to``
    the first and last year (default: every year the measure has);
``area``
    area codes of the level, repeated or comma-separated, or ``all`` (default: Stockholm,
    Göteborg and Malmö; Stockholms, Västra Götalands and Skåne län; every RegSO of the kommun);
``kommun``
    at RegSO level, the kommun whose RegSO are shown (default 1280, Malmö);
``ref``
    ``riket`` (default: Sweden as a reference line and rows) or ``none``.

The rows come from :func:`bryta.app.statistiklabb.query` (counts below 5 withheld); this
module only renders them: HTML, the JSON twin ``/statistiklabbet.json`` and the downloads
``/statistiklabbet/data.csv``, ``.xlsx`` and ``.parquet``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

import bryta
from bryta.app import statistiklabb as lab
from bryta.app.context import Context
from bryta.errors import InputError
from bryta.web._json import finite
from bryta.web.i18n import N_, number, translations
from bryta.web.pages._common import (
    common,
    environment,
    finish,
    language_of,
    plotly_graph_objects,
    script_json,
    year_param,
)
from bryta.web.pages.geo import map_view, regso_bounds, regso_geojson_bytes

router = APIRouter(include_in_schema=False)

DEFAULT_MEASURE = "born_abroad_pct"
DEFAULT_LEVEL = "kommun"
DEFAULT_AREAS = {"lan": ["01", "14", "12"], "kommun": ["0180", "1480", "1280"]}
DEFAULT_KOMMUN = "1280"
#: The most lines the chart draws; the table has every selected area.
MAX_LINES = 20
SOURCE = "SCB (Statistics Sweden), open data, CC0; computed by bryta"

LABELS = {
    "population": N_("Population"),
    "born_abroad_pct": N_("Born abroad, share of the population (%)"),
    "rental_pct": N_("Rental dwellings, share of dwellings of known tenure (%)"),
    "challenged_pop_pct": N_(
        "Population in areas of type 1–2 (official), share of the population (%)"
    ),
    "mean_wage_income": N_("Mean wage income, all persons, thousand SEK"),
    "dissimilarity_born_abroad": N_("Dissimilarity index D, foreign-born"),
    "theil_h_birth_region": N_("Theil's H, birth region"),
    "mutual_information_birth_region": N_("Mutual information M, birth region"),
    "dissimilarity_rental": N_("Dissimilarity index D, rental dwellings"),
    "dissimilarity_tenant_owned": N_("Dissimilarity index D, tenant-owned dwellings"),
    "dissimilarity_owner_occupied": N_("Dissimilarity index D, owner-occupied dwellings"),
    "theil_h_tenure": N_("Theil's H, tenure"),
    "mutual_information_tenure": N_("Mutual information M, tenure"),
}
LEVEL_LABELS = {
    "riket": N_("Sweden (riket)"),
    "lan": N_("Län"),
    "kommun": N_("Kommun"),
    "regso": N_("RegSO"),
}
COLUMN_LABELS = {
    "code": N_("Code"),
    "name": N_("Name"),
    "level": N_("Level"),
    "year": N_("Year"),
    "measure": N_("Measure"),
    "value": N_("Value"),
    "born_abroad": N_("Born abroad"),
    "population": N_("Population"),
    "rental": N_("Rental dwellings"),
    "dwellings": N_("Dwellings of known tenure"),
    "population_types_1_2": N_("Population in area types 1–2"),
    "suppressed": N_("Withheld"),
}
#: Why a measure is not offered at a level (the app's reasons, translated).
MISSING = {
    "mean_wage_income": N_(
        "The number of persons a RegSO's mean wage income is over is not in the bundled data, "
        "so the mean of a kommun, län or Sweden cannot be computed from its RegSO (a mean of "
        "the RegSO means would weigh a small area like a large one). Mean wage income is shown "
        "for RegSO only."
    ),
    "challenged_pop_pct": N_(
        "A RegSO either is of area type 1–2 or not, so this share is shown for kommuner, län "
        "and Sweden; a RegSO's area type is on its area page."
    ),
    "index": N_(
        "A segregation index measures how the population of an area is spread over its RegSO; "
        "a RegSO has no smaller areas in the bundled data, so the indices are shown for "
        "kommuner, län and Sweden."
    ),
}
UNIT_PATTERNS = {"persons": "#,##0", "percent": "0.0", "thousand SEK": "0.0", "index": "0.000"}
UNIT_TICKS = {"persons": ",.0f", "percent": ".1f", "thousand SEK": ".0f", "index": ".3f"}
# Okabe–Ito colours (told apart with colour-vision deficiency), each line also its own dash
LINE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#882255"]
LINE_DASHES = ["solid", "dot", "dash", "longdash", "dashdot"]


@dataclass
class Choice:
    """The lab's state as read from the query string (before the app validates it)."""

    measure: str = DEFAULT_MEASURE
    level: str = DEFAULT_LEVEL
    first: int | None = None
    last: int | None = None
    areas: list[str] | None = None
    kommun: str | None = None
    reference: bool = True
    all_areas: bool = False
    given_areas: list[str] = field(default_factory=list)

    def query_string(self, **change: Any) -> str:
        """The URL query of this state (``change`` replaces parts), for links."""
        params: list[tuple[str, str]] = [("measure", self.measure), ("level", self.level)]
        if self.first is not None:
            params.append(("from", str(self.first)))
        if self.last is not None:
            params.append(("to", str(self.last)))
        if self.level == "regso" and self.kommun:
            params.append(("kommun", self.kommun))
        if self.all_areas:
            params.append(("area", "all"))
        elif self.given_areas:
            params += [("area", code) for code in self.given_areas]
        if not self.reference:
            params.append(("ref", "none"))
        replaced = dict(change)
        params = [(k, v) for k, v in params if k not in replaced]
        for key, value in replaced.items():
            if value is None:
                continue
            params += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
        return urlencode(params)


def read_choice(request: Request) -> Choice:
    """The state in the query string; a malformed year or ``ref`` is an InputError."""
    params = request.query_params
    given = [
        code.strip()
        for value in params.getlist("area")
        for code in value.split(",")
        if code.strip()
    ]
    reference = params.get("ref") or "riket"
    if reference not in ("riket", "none"):
        raise InputError(f"ref must be riket or none, not {reference!r}")
    choice = Choice(
        measure=params.get("measure") or DEFAULT_MEASURE,
        level=params.get("level") or DEFAULT_LEVEL,
        kommun=params.get("kommun") or None,
        reference=reference == "riket",
        given_areas=given,
    )
    choice.all_areas = "all" in given
    if choice.all_areas:
        choice.given_areas = []
    choice.first, choice.last = year_param(request, "from"), year_param(request, "to")
    if choice.level == "regso" and choice.kommun is None and not given:
        choice.kommun = DEFAULT_KOMMUN
    if choice.all_areas:
        choice.areas = None
    elif given:
        choice.areas = given
    else:
        choice.areas = DEFAULT_AREAS.get(choice.level)
    return choice


def run(choice: Choice) -> lab.LabTable:
    """The app's answer for ``choice``: the years of the range the measure has."""
    measure = lab.MEASURES.get(choice.measure)
    years = None
    if measure is not None and choice.level in measure.levels:
        available = lab.years_of(choice.measure, choice.level)
        for name, year in (("from", choice.first), ("to", choice.last)):
            if year is not None and not available[0] - 50 <= year <= available[-1] + 50:
                raise InputError(f"{name} must be a year such as {available[-1]}, not {year}")
        low = choice.first if choice.first is not None else available[0]
        high = choice.last if choice.last is not None else available[-1]
        if low > high:
            raise InputError(f"from ({low}) must not be after to ({high})")
        years = [y for y in available if low <= y <= high]
        if not years:
            raise InputError(
                f"{choice.measure} at {choice.level} level has data for "
                f"{', '.join(map(str, available))}; no year between {low} and {high}"
            )
    return lab.query(
        choice.measure,
        choice.level,
        years=years,
        areas=choice.areas,
        kommun=choice.kommun if choice.level == "regso" else None,
        reference=choice.reference,
    )


# ---- the data of the page and its twin -----------------------------------------------------------
def lab_data(choice: Choice, table: lab.LabTable, language: str) -> dict[str, Any]:
    """What the page shows, as JSON-ready data (the JSON twin)."""
    _ = translations(language).gettext
    measure = table.measure
    latest = table.years[-1] if table.years else None
    map_rows: list[dict[str, Any]] = []
    if table.level != "riket" and latest is not None:
        map_rows = lab.map_values(measure.id, table.level, latest, kommun=table.kommun).to_dicts()
    return {
        "language": language,
        "query": {
            "measure": measure.id,
            "level": table.level,
            "years": table.years,
            "areas": table.areas,
            "kommun": table.kommun,
            "reference": "riket" if table.reference else "none",
        },
        "measure": {
            "id": measure.id,
            "label": _(LABELS[measure.id]),
            "kind": measure.kind,
            "unit": measure.unit,
            "levels": list(measure.levels),
            "missing": {level: _missing(measure, language) for level in measure.missing},
        },
        "columns": table.columns,
        "rows": finite(table.frame.to_dicts()),
        "suppression": {
            "threshold": table.threshold,
            "withheld": table.suppressed,
            "rows": int(table.frame["suppressed"].sum()) if "suppressed" in table.columns else 0,
        },
        "map": {
            "year": latest,
            "level": table.level,
            "kommun": table.kommun,
            "values": finite(map_rows),
        },
        "source": SOURCE,
    }


def _missing(measure: lab.LabMeasure, language: str) -> str:
    key = "index" if measure.kind == "index" else measure.id
    return translations(language).gettext(MISSING[key])


# ---- figures ----------------------------------------------------------------------------------
def _figures(
    data: dict[str, Any], table: lab.LabTable, language: str, context: Context | None
) -> dict[str, Any]:
    go = plotly_graph_objects()
    _ = translations(language).gettext
    separators = ",\u00a0" if language == "sv" else ".,"
    unit = table.measure.unit
    label = data["measure"]["label"]
    figures: dict[str, Any] = {}

    # the line chart: one line per selected area (at most MAX_LINES), riket dashed grey
    frame = table.frame
    codes = [c for c in table.areas if c != "00"][:MAX_LINES] if table.level != "riket" else ["00"]
    lines = []
    for position, code in enumerate(codes):
        rows = frame.filter(pl.col("code") == code).sort("year")
        if rows.is_empty():
            continue
        lines.append(
            go.Scatter(
                x=rows["year"].to_list(),
                y=rows["value"].to_list(),
                mode="lines+markers",
                name=f"{rows['name'][0]} ({code})",
                line={
                    "color": LINE_COLOURS[position % len(LINE_COLOURS)],
                    "width": 2.5,
                    "dash": LINE_DASHES[(position // len(LINE_COLOURS)) % len(LINE_DASHES)],
                },
                marker={"size": 7},
                hovertemplate=f"{rows['name'][0]} %{{x}}: %{{y:{UNIT_TICKS[unit]}}}<extra></extra>",
            )
        )
    if table.reference:
        rows = frame.filter(pl.col("level") == "riket").sort("year")
        lines.append(
            go.Scatter(
                x=rows["year"].to_list(),
                y=rows["value"].to_list(),
                mode="lines+markers",
                name=_("Sweden"),
                line={"color": "#4a5160", "width": 2, "dash": "dash"},
                marker={"size": 6, "symbol": "diamond"},
                hovertemplate=_("Sweden") + f" %{{x}}: %{{y:{UNIT_TICKS[unit]}}}<extra></extra>",
            )
        )
    chart = go.Figure(lines)
    chart.update_layout(
        xaxis={"title": {"text": _("Year")}, "dtick": 1, "tickformat": "d"},
        # the unit, as on the map's colour bar: the measure is the chart's heading, and the
        # whole label ran off the chart's left edge
        yaxis={
            "title": {"text": _(UNIT_TITLES[unit])},
            "tickformat": UNIT_TICKS[unit],
            "rangemode": "tozero",
        },
        margin={"l": 70, "r": 20, "t": 10, "b": 50},
        height=460,
        separators=separators,
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.18},
        showlegend=True,
    )
    figures["chart"] = script_json(chart.to_json())
    figures["lines_shown"] = len(codes)

    # the map of the latest year, every area of the level, the selected ones outlined
    geojson, view = _map_source(table, context)
    if geojson is not None and data["map"]["values"]:
        values = data["map"]["values"]
        selected = [c for c in table.areas if c != "00"]
        traces = [
            go.Choroplethmap(
                geojson=geojson,
                featureidkey="properties.code",
                locations=[row["code"] for row in values],
                z=[row["value"] for row in values],
                text=[row["name"] for row in values],
                colorscale="Cividis",
                marker={"line": {"width": 0.4, "color": "#ffffff"}},
                colorbar={"title": {"text": _(UNIT_TITLES[unit])}, "tickformat": UNIT_TICKS[unit]},
                hovertemplate="%{text} (%{location}): %{z:" + UNIT_TICKS[unit] + "}<extra></extra>",
                name=label,
            )
        ]
        # the chosen areas: a black outline on a white halo, seen on every colour of the scale
        for colour, width in (("#ffffff", 5), ("#000000", 2)):
            traces.append(
                go.Choroplethmap(
                    geojson=geojson,
                    featureidkey="properties.code",
                    locations=selected,
                    z=[0] * len(selected),
                    colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
                    showscale=False,
                    marker={"line": {"width": width, "color": colour}},
                    hoverinfo="skip",
                    name=_("Selected areas"),
                )
            )
        fig_map = go.Figure(traces)
        fig_map.update_layout(
            map={"style": "white-bg", **view},
            margin={"l": 0, "r": 0, "t": 0, "b": 0},
            height=520,
            separators=separators,
            showlegend=False,
        )
        figures["map"] = script_json(fig_map.to_json())
    return figures


UNIT_TITLES = {
    "persons": N_("persons"),
    "percent": N_("%"),
    "thousand SEK": N_("thousand SEK"),
    "index": N_("index"),
}


def _map_source(table: lab.LabTable, context: Context | None) -> tuple[str | None, dict[str, Any]]:
    """The GeoJSON URL and the map's centre and zoom for the level (None: no boundaries)."""
    sweden = {"center": {"lat": 62.9, "lon": 17.0}, "zoom": 3.45}
    if table.level == "kommun":
        return "/geo/kommun.geojson", sweden
    if table.level == "lan":
        return "/geo/lan.geojson", sweden
    if table.level == "regso" and table.kommun and regso_geojson_bytes(table.kommun, context):
        view = map_view(regso_bounds(table.kommun, context), width=600)
        return f"/geo/regso/{table.kommun}.geojson", view
    return None, {}


# ---- the page -----------------------------------------------------------------------------
def _form(choice: Choice, language: str) -> dict[str, Any]:
    """The choices the form offers, for the level asked for (or the default one)."""
    _ = translations(language).gettext
    level = choice.level if choice.level in lab.LEVELS else DEFAULT_LEVEL
    measure = lab.MEASURES.get(choice.measure) or lab.MEASURES[DEFAULT_MEASURE]
    kommun = choice.kommun or DEFAULT_KOMMUN
    if level == "riket":
        areas: list[dict[str, str]] = []
    else:
        frame = lab.areas_of(level, kommun if level == "regso" else None)
        areas = frame.to_dicts()
    years = lab.all_years()
    return {
        "measures": [
            {
                "id": m.id,
                "label": _(LABELS[m.id]),
                "kind": m.kind,
                "levels": [_(LEVEL_LABELS[lv]) for lv in m.levels],
            }
            for m in lab.MEASURES.values()
        ],
        "levels": [{"id": lv, "label": _(LEVEL_LABELS[lv])} for lv in lab.LEVELS],
        "kommuner": lab.areas_of("kommun").to_dicts(),
        "kommun": kommun,
        "areas": areas,
        "years": years,
        "first": choice.first if choice.first is not None else years[0],
        "last": choice.last if choice.last is not None else years[-1],
        "selected": set(choice.given_areas or (choice.areas or [])),
        "measure_levels": ", ".join(_(LEVEL_LABELS[lv]) for lv in measure.levels),
    }


def _table_rows(table: lab.LabTable, language: str) -> list[dict[str, Any]]:
    _ = translations(language).gettext
    pattern = UNIT_PATTERNS[table.measure.unit]
    out = []
    for row in table.frame.iter_rows(named=True):
        cells = []
        for column in table.columns:
            value = row[column]
            if column == "value":
                shown = number(_clean(value), language, pattern)
            elif column in table.measure.counts:
                shown = number(value, language, "#,##0")
            elif column == "level":
                shown = _(LEVEL_LABELS[value])
            elif column == "measure":
                shown = _(LABELS[value])
            elif column == "suppressed":
                shown = _("yes") if value else ""
            else:
                shown = str(value)
            cells.append({"column": column, "shown": shown})
        out.append({"cells": cells, "code": row["code"], "level": row["level"]})
    return out


def _clean(value: float | None) -> float | None:
    return None if value is None or value != value else value


def _render(
    request: Request,
    language: str,
    choice: Choice,
    table: lab.LabTable | None,
    error: str | None,
    notice: str | None = None,
) -> Response:
    _ = translations(language).gettext
    context: dict[str, Any] = {
        "choice": choice,
        "form": _form(choice, language),
        "error": error,
        "notice": notice,
        **common(request, language),
    }
    if table is not None:
        data = lab_data(choice, table, language)
        figures = _figures(data, table, language, request.app.state.context)
        query = choice.query_string()
        context |= {
            "data": data,
            "figures": figures,
            "rows": _table_rows(table, language),
            "headers": [_(COLUMN_LABELS.get(c, c)) for c in table.columns],
            "numeric": [c in ("value", *table.measure.counts) for c in table.columns],
            "max_lines": MAX_LINES,
            "n_areas": len([c for c in table.areas if c != "00"]),
            "missing": [
                {"level": _(LEVEL_LABELS[lv]), "why": _missing(table.measure, language)}
                for lv in lab.LEVELS
                if lv in table.measure.missing
            ],
            "no_map": table.level != "riket" and "map" not in figures,
            "all_url": "/statistiklabbet?" + choice.query_string(area="all"),
            "links": {
                "json": f"/statistiklabbet.json?{query}&lang={language}",
                "csv": f"/statistiklabbet/data.csv?{query}&lang={language}",
                "xlsx": f"/statistiklabbet/data.xlsx?{query}&lang={language}",
                "parquet": f"/statistiklabbet/data.parquet?{query}&lang={language}",
            },
            "label": data["measure"]["label"],
            "latest": data["map"]["year"],
            "level_label": _(LEVEL_LABELS[table.level]),
        }
    template = environment(language).get_template("statistiklabbet.html")
    status = 422 if error else 200
    return finish(HTMLResponse(template.render(**context), status_code=status), request, language)


#: The shape of an area code at each level
CODE_SHAPES = {
    "riket": re.compile(r"00"),
    "lan": re.compile(r"\d{2}"),
    "kommun": re.compile(r"\d{4}"),
    "regso": re.compile(r"\d{4}R\d{3}"),
}


def _areas_of_another_choice(choice: Choice) -> bool:
    """Whether every area given belongs to another level, or at RegSO level to another kommun:
    what the form sends without JavaScript when only the level or the kommun was changed (the
    area list still holds the previous choice's areas)."""
    shape = CODE_SHAPES.get(choice.level)
    if not choice.given_areas or shape is None:
        return False

    def elsewhere(code: str) -> bool:
        if not shape.fullmatch(code):
            return True
        return choice.level == "regso" and bool(choice.kommun) and code[:4] != choice.kommun

    return all(elsewhere(code) for code in choice.given_areas)


@router.get("/statistiklabbet", response_model=None)
def statistiklabbet(request: Request) -> Response:
    """The lab: a map, a line chart and a table of the chosen measure, level, years, areas.
    Bad parameters give the page with the error beside the form (status 422). Areas left over
    from another level or kommun (the form without JavaScript) give way to the defaults, with
    a note; the JSON twin and the downloads stay strict."""
    language = language_of(request)
    try:
        choice = read_choice(request)
    except InputError as exc:
        return _render(request, language, Choice(), None, str(exc))
    notice = None
    if _areas_of_another_choice(choice):
        choice.given_areas, choice.areas = [], DEFAULT_AREAS.get(choice.level)
        if choice.level == "regso" and not choice.kommun:
            choice.kommun = DEFAULT_KOMMUN
        notice = translations(language).gettext(
            "The areas chosen before belong to another level or kommun: the page shows the "
            "default areas of this choice. Pick the areas again in the list."
        )
    try:
        table = run(choice)
    except InputError as exc:
        return _render(request, language, choice, None, str(exc))
    return _render(request, language, choice, table, None, notice)


def _answer(request: Request) -> tuple[str, Choice, lab.LabTable]:
    language = language_of(request)
    choice = read_choice(request)
    return language, choice, run(choice)


@router.get("/statistiklabbet.json", response_model=None)
def statistiklabbet_json(request: Request) -> Response:
    """The lab's data as JSON (422 problem details for bad parameters)."""
    language, choice, table = _answer(request)
    return finish(JSONResponse(lab_data(choice, table, language)), request, language)


def _filename(table: lab.LabTable, suffix: str) -> str:
    years = f"{table.years[0]}-{table.years[-1]}" if table.years else "none"
    return f"statistiklabbet-{table.measure.id}-{table.level}-{years}.{suffix}"


def _download(body: bytes, media_type: str, table: lab.LabTable, suffix: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{_filename(table, suffix)}"'},
    )


def csv_bytes(frame: pl.DataFrame, language: str) -> bytes:
    """The table as CSV the way a spreadsheet of ``language`` reads it: UTF-8 with a byte-order
    mark; ``;`` and a decimal comma in Swedish, ``,`` and a decimal point in English."""
    swedish = language == "sv"
    text = frame.write_csv(
        separator=";" if swedish else ",",
        decimal_comma=swedish,
        include_bom=True,
    )
    return text.encode("utf-8")


@router.get("/statistiklabbet/data.csv", response_model=None)
def download_csv(request: Request) -> Response:
    """The table as CSV (exactly its rows and columns)."""
    language, _, table = _answer(request)
    return _download(csv_bytes(table.frame, language), "text/csv; charset=utf-8", table, "csv")


def _about(choice: Choice, table: lab.LabTable) -> pl.DataFrame:
    """What a download holds: the source, the query and the withheld counts."""
    rows = [
        ("source", SOURCE),
        ("licence", "CC0 1.0 (SCB open data)"),
        ("measure", f"{table.measure.id}: {table.measure.name}"),
        ("unit", table.measure.unit),
        ("level", table.level),
        ("years", ", ".join(map(str, table.years))),
        ("areas", ", ".join(table.areas)),
        ("query", f"/statistiklabbet?{choice.query_string()}"),
        (
            "small counts",
            f"counts below {table.threshold} withheld, with the shares computed from them "
            f"and counts whose complement is below {table.threshold}: "
            + (", ".join(f"{k}: {v}" for k, v in table.suppressed.items()) or "none"),
        ),
        ("made by", f"bryta {bryta.__version__}"),
    ]
    return pl.DataFrame(rows, schema=["field", "value"], orient="row")


@router.get("/statistiklabbet/data.xlsx", response_model=None)
def download_xlsx(request: Request) -> Response:
    """The table as an Excel workbook: the sheet ``data`` and the sheet ``source``."""
    import xlsxwriter

    _, choice, table = _answer(request)
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as workbook:
        table.frame.write_excel(workbook, worksheet="data", autofit=True)
        _about(choice, table).write_excel(workbook, worksheet="source", autofit=True)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(buffer.getvalue(), media, table, "xlsx")


@router.get("/statistiklabbet/data.parquet", response_model=None)
def download_parquet(request: Request) -> Response:
    """The table as Parquet; the source and the query in the file's key-value metadata."""
    _, choice, table = _answer(request)
    buffer = io.BytesIO()
    about = dict(_about(choice, table).iter_rows())
    table.frame.write_parquet(buffer, metadata={str(k): str(v) for k, v in about.items()})
    return _download(buffer.getvalue(), "application/vnd.apache.parquet", table, "parquet")
