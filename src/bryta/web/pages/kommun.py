"""The kommun page (``/kommun/{code}``): its indices over the years with bootstrap intervals,
its RegSO with their area types (a map where boundaries are available), comparisons with
riket and similar kommuner, the RegSO's moves between area types, the public interventions in
the kommun with its portfolio diagnostics in brief, and downloads. ``/kommun/{code}.json``
returns what the page shows; ``/kommun/{code}/{table}.csv`` and ``/kommun/{code}/data.xlsx``
its tables (:mod:`bryta.app.kommun`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bryta.app import barometer
from bryta.app import kommun as kommun_use_cases
from bryta.app import spatial_pattern as spatial_use_cases
from bryta.app.context import Context
from bryta.app.maps import has_regso_boundaries
from bryta.errors import NotFound
from bryta.web.i18n import N_, number, translations
from bryta.web.pages._common import (
    AREA_TYPE_COLOURS,
    AREA_TYPE_LABELS,
    GROUPING,
    MEASURES,
    area_type_map_trace,
    clean,
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


def _kommun_data(code: str, language: str, ctx: Context) -> dict[str, Any]:
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
                            "value": clean(row["value"]),
                            "ci_low": clean(row["ci_low"]),
                            "ci_high": clean(row["ci_high"]),
                            "se": clean(row["se"]),
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
            found[measure.index] = clean(hit.get_column("value")[0]) if hit.height else None
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
        "regso_map": has_regso_boundaries(ctx, code),
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
        "transitions": _transitions_data(code, language),
        "interventions": _interventions_data(ctx, code, language),
        "portfolio": _portfolio_data(ctx, code, language),
        "spatial": _spatial_data(ctx, code, language),
        "downloads": {
            "excel": f"/kommun/{code}/data.xlsx",
            "csv": {table: f"/kommun/{code}/{table}.csv" for table in kommun_use_cases.TABLES},
        },
    }


# ---- transitions, interventions, portfolio ----------------------------------------------------
SOURCE_LABELS = {
    "official": N_("official (SCB)"),
    "proxy": N_("proxy (bryta)"),
}
FORM_LABELS = {
    "project": N_("Project"),
    "permanent_operation": N_("Permanent operation"),
    "pilot": N_("Pilot"),
    "grant_programme": N_("Grant programme"),
    "one_off": N_("One-off effort"),
    "policy": N_("Policy decision"),
}
STATUS_LABELS = {
    "planned": N_("planned"),
    "active": N_("active"),
    "ended": N_("ended"),
    "institutionalised": N_("made permanent"),
    "cancelled": N_("cancelled"),
}
FAMILY_LABELS = {
    "short_termism": N_("Short-term or long-term"),
    "earliness": N_("Early or late"),
    "collaboration": N_("Coordinated or not"),
    "need_coverage": N_("Where the need is"),
}
#: metric → (what it is, the rule), both shown on the page
METRIC_LABELS = {
    "n_interventions": (
        N_("Published interventions"),
        N_("Linked to the kommun or to one of its areas, each counted once."),
    ),
    "project_share_count": (
        N_("Projects"),
        N_("Share of the interventions whose form is a time-limited project."),
    ),
    "median_planned_months": (
        N_("Median planned length, months"),
        N_("From planned start to planned end, over interventions with both dates."),
    ),
    "share_under_12_months": (
        N_("Shorter than 12 months"),
        N_("Share of the interventions with a known length (actual, else planned)."),
    ),
    "share_36_months_or_more": (
        N_("36 months or longer"),
        N_("Share of the interventions with a known length (actual, else planned)."),
    ),
    "institutionalisation_rate": (
        N_("Projects made permanent"),
        N_("Share of the ended projects continued as a permanent operation within 12 months."),
    ),
    "early_share": (
        N_("Early interventions"),
        N_("Share of the interventions whose target ages include before birth or 0–5 years."),
    ),
    "upstream_ratio": (
        N_("Prevention before reaction"),
        N_(
            "Universal and selective interventions divided by indicated and reactive ones "
            "(above 1: more prevention than reaction)."
        ),
    ),
    "share_2_or_more_sectors": (
        N_("Run by two sectors or more"),
        N_(
            "Share of the interventions whose organisations come from at least two sectors "
            "(state, kommun, region, civil society, business, housing, academia)."
        ),
    ),
    "network_organisations": (
        N_("Organisations taking part"),
        N_("Distinct organisations in any role."),
    ),
    "network_isolates": (
        N_("Organisations working alone"),
        N_("Organisations that share no intervention with another organisation."),
    ),
    "high_need_areas": (
        N_("RegSO of area type 1–2"),
        N_("SCB's official area types of 2022."),
    ),
    "unserved_high_need_areas": (
        N_("…of which with no intervention of their own"),
        N_(
            "RegSO of area type 1–2 with no intervention linked to the RegSO or its DeSO; an "
            "intervention linked to the whole kommun does not count."
        ),
    ),
}


def _share(value: float | None, language: str) -> str:
    return "–" if value is None else number(value * 100, language, "0.0") + "\u00a0%"


def _transitions_data(code: str, language: str) -> dict[str, Any]:
    _ = translations(language).gettext
    moves = kommun_use_cases.type_transitions(code)
    by_year = kommun_use_cases.protect(moves.by_year, ["population"])
    matrix = kommun_use_cases.protect(moves.matrix, ["population_first", "population_second"])
    return {
        "first": moves.first,
        "second": moves.second,
        "note": _(
            "SCB's official area types exist for {year} only. To follow the RegSO over "
            "{first}–{second}, bryta forms proxy area types each year from the bundled data: "
            "every RegSO in Sweden is ranked by the share born abroad and the share of rental "
            "dwellings, and cut into five types the way SCB cuts its socioeconomic index. "
            "The proxy types are not SCB's types; rows say which source they come from."
        ).format(year=barometer.AREA_TYPE_YEAR, first=moves.first, second=moves.second),
        "by_year": [
            {**row, "source_label": _(SOURCE_LABELS[row["source"]])}
            for row in by_year.iter_rows(named=True)
        ],
        "matrix": list(matrix.iter_rows(named=True)),
    }


def _interventions_data(ctx: Context, code: str, language: str) -> list[dict[str, Any]] | None:
    _ = translations(language).gettext
    rows = kommun_use_cases.interventions_in(ctx, code)
    if rows is None:
        return None
    return [
        {
            **row,
            "form_label": _(FORM_LABELS.get(row["form"], row["form"])),
            "status_label": _(STATUS_LABELS.get(row["status"], row["status"])),
        }
        for row in rows
    ]


def _portfolio_data(ctx: Context, code: str, language: str) -> dict[str, Any]:
    _ = translations(language).gettext
    brief = kommun_use_cases.portfolio_brief(ctx, code)
    for row in brief["figures"]:
        what, rule = METRIC_LABELS[row["metric"]]
        row["label"], row["rule"] = _(what), _(rule)
        row["family_label"] = _(FAMILY_LABELS[row["family"]])
    return brief


# ---- the spatial pattern ---------------------------------------------------------------------
#: Massey & Denton's dimensions: (heading, what they ask).
SPATIAL_DIMENSIONS = {
    "evenness_across_borders": (
        N_("Evenness across borders"),
        N_(
            "How unevenly the foreign-born are spread, when people can meet across the borders "
            "of neighbouring areas."
        ),
    ),
    "concentration": (
        N_("Concentration"),
        N_("How much of the kommun's land the foreign-born live on."),
    ),
    "centralization": (
        N_("Centralization"),
        N_(
            "How near the centre of the kommun (the mean of its RegSO's centre points) the "
            "foreign-born live."
        ),
    ),
    "clustering": (
        N_("Clustering and proximity"),
        N_(
            "Whether the areas where the foreign-born live lie next to each other, and who "
            "lives near whom."
        ),
    ),
}
#: Each spatial index: (name, what it says in one line).
SPATIAL_INDEX_LABELS = {
    "boundary_spatial_dissimilarity": (
        N_("Boundary spatial dissimilarity"),
        N_(
            "The dissimilarity index D, lowered where neighbouring areas differ (people meet "
            "across the border): close to D when the foreign-born live in large contiguous "
            "zones."
        ),
    ),
    "perimeter_area_ratio_spatial_dissimilarity": (
        N_("Perimeter/area spatial dissimilarity"),
        N_(
            "As the one above, but the borders of small or elongated areas, where more people "
            "live near a border, count more."
        ),
    ),
    "delta": (
        N_("Delta"),
        N_(
            "The share of the foreign-born who would have to move for them to live equally "
            "densely over the whole kommun's land (0 to 1)."
        ),
    ),
    "absolute_concentration": (
        N_("Absolute concentration"),
        N_(
            "How small the areas the foreign-born live in are: 1 if all lived in the smallest "
            "areas by land, 0 if all lived in the largest."
        ),
    ),
    "relative_concentration": (
        N_("Relative concentration"),
        N_(
            "Whether the foreign-born live on smaller areas than the born in Sweden: above 0 "
            "smaller, below 0 larger (−1 to 1)."
        ),
    ),
    "absolute_centralization": (
        N_("Absolute centralization"),
        N_(
            "How much nearer the kommun's centre the foreign-born live, compared with how its "
            "land is spread around the centre: above 0 nearer, below 0 farther out (−1 to 1)."
        ),
    ),
    "relative_centralization": (
        N_("Relative centralization"),
        N_(
            "Whether the foreign-born live nearer the kommun's centre than the born in Sweden: "
            "above 0 nearer, below 0 farther out (−1 to 1)."
        ),
    ),
    "spatial_proximity": (
        N_("Spatial proximity"),
        N_(
            "How much nearer to each other people of the same group live than people in "
            "general: 1 no nearer, above 1 the groups keep to themselves."
        ),
    ),
    "absolute_clustering": (
        N_("Absolute clustering"),
        N_(
            "How near the foreign-born live to other foreign-born, beyond what an even spread "
            "over the areas would give: 0 no clustering, higher more."
        ),
    ),
    "relative_clustering": (
        N_("Relative clustering"),
        N_(
            "How near the foreign-born live to each other compared with how near the born in "
            "Sweden live to each other: 0 equally near, above 0 nearer."
        ),
    ),
    "distance_decay_isolation": (
        N_("Distance-decay isolation"),
        N_(
            "The chance that a person near a foreign-born person is also foreign-born, "
            "nearer people counting more (0 to 1)."
        ),
    ),
    "distance_decay_exposure": (
        N_("Distance-decay exposure"),
        N_(
            "The chance that a person near a foreign-born person was born in Sweden, nearer "
            "people counting more (0 to 1; lower means more segregated)."
        ),
    ),
    "spatial_proximity_profile": (
        N_("Spatial proximity profile"),
        N_(
            "How well the areas with a high share of foreign-born hang together as one "
            "connected whole, over every threshold of what counts as high: higher, more "
            "connected."
        ),
    ),
}


def _spatial_data(ctx: Context, code: str, language: str) -> dict[str, Any]:
    """The spatial pattern (:func:`bryta.app.spatial_pattern.spatial_pattern`) with its
    labels; undefined values null."""
    _ = translations(language).gettext
    data = spatial_use_cases.spatial_pattern(ctx, code)
    data["indices"] = [
        {
            **{k: clean(v) if isinstance(v, float) else v for k, v in row.items()},
            "label": _(SPATIAL_INDEX_LABELS[row["index"]][0]),
            "explanation": _(SPATIAL_INDEX_LABELS[row["index"]][1]),
        }
        for row in data["indices"]
    ]
    data["dimensions"] = [
        {
            "dimension": dimension,
            "label": _(SPATIAL_DIMENSIONS[dimension][0]),
            "question": _(SPATIAL_DIMENSIONS[dimension][1]),
            "indices": list(indices),
        }
        for dimension, indices in spatial_use_cases.DIMENSIONS
    ]
    source = data["source"]
    if source is None:
        data["source_label"] = None
    elif source == "bundled":
        data["source_label"] = _("the RegSO boundaries bundled with bryta")
    else:
        data["source_label"] = _(
            "the RegSO boundaries imported into the app's data folder ({dataset})"
        ).format(dataset=source.split(":", 1)[1])
    return data


def _kommun_figures(
    data: dict[str, Any], language: str, context: Context | None = None
) -> dict[str, str]:
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
    figures = {
        "indices": script_json(fig.to_json()),
        "transitions": script_json(_transitions_chart(data, language).to_json()),
    }
    if data["regso_map"]:
        figures["regso_map"] = script_json(_regso_map(data, language, context).to_json())
    return figures


MIN_SPAN = 0.05  # the smallest span of a y axis on the kommun page's charts
GROUPING_SHORT = {"birth_region": N_("birth region"), "tenure": N_("tenure")}


def _regso_map(data: dict[str, Any], language: str, context: Context | None = None) -> Any:
    go = plotly_graph_objects()
    view = map_view(regso_bounds(data["code"], context))
    fig = go.Figure(area_type_map_trace(data["code"], data["regso"], language))
    fig.update_layout(
        map={"style": "white-bg", **view},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=520,
        separators=",\u00a0" if language == "sv" else ".,",
    )
    return fig


def _transitions_chart(data: dict[str, Any], language: str) -> Any:
    """Stacked bars: the share of the kommun's population in each area type, per year and
    source (proxy years, then the official year), steps of the cividis scale."""
    import plotly.graph_objects as go

    _ = translations(language).gettext
    rows = data["transitions"]["by_year"]
    columns = list(dict.fromkeys((row["source"], row["year"]) for row in rows))
    names = {
        (source, year): f"{year} {_(SOURCE_LABELS[source])}".replace(" (", "<br>(")
        for source, year in columns
    }
    fig = go.Figure()
    for area_type, colour in AREA_TYPE_COLOURS.items():
        cells = {(r["source"], r["year"]): r for r in rows if r["area_type"] == area_type}
        shares = [cells[c]["share"] * 100 if c in cells else 0.0 for c in columns]
        fig.add_trace(
            go.Bar(
                x=[names[c] for c in columns],
                y=shares,
                name=f"{area_type} {_(AREA_TYPE_LABELS[area_type])}",
                marker={"color": colour, "line": {"color": "#ffffff", "width": 0.5}},
                hovertemplate="%{x}: %{y:.1f} %<extra>" + str(area_type) + "</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        height=420,
        margin={"l": 60, "r": 20, "t": 20, "b": 40},
        separators=",\u00a0" if language == "sv" else ".,",
        plot_bgcolor="#ffffff",
        yaxis={"title": {"text": _("Share of the population, %")}, "range": [0, 100]},
        legend={"title": {"text": _("Area type")}, "traceorder": "normal"},
    )
    return fig


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
    for row in data["transitions"]["by_year"]:
        row["areas_shown"] = number(row["areas"], language, "#,##0")
        row["population_shown"] = number(row["population"], language, "#,##0")
        row["share_shown"] = _share(clean(row["share"]), language)
    for row in data["transitions"]["matrix"]:
        row["areas_shown"] = number(row["areas"], language, "#,##0")
        for key in ("population_first", "population_second"):
            row[f"{key}_shown"] = number(row[key], language, "#,##0")
    for row in data["spatial"]["indices"]:
        for key in ("value", "ci_low", "ci_high", "expected"):
            value = row[key]
            # a value that rounds to zero is written 0.000, not −0.000
            shown = 0.0 if value is not None and round(value, 3) == 0 else value
            row[f"{key}_shown"] = number(shown, language)
    for row in data["portfolio"]["figures"]:
        value, kind = row["value"], row["kind"]
        if kind == "share":
            row["shown"] = _share(value, language)
        elif kind == "ratio":
            row["shown"] = number(value, language, "0.0")
        else:
            row["shown"] = number(value, language, "#,##0")


@router.get("/kommun/{code}.json", response_model=None)
def kommun_json(code: str, request: Request) -> Response:
    """The kommun page's data as JSON (404 problem details for an unknown code)."""
    language = language_of(request)
    data = _kommun_data(code, language, request.app.state.context)
    return finish(JSONResponse(data), request, language)


@router.get("/kommun/{code}", response_model=None)
def kommun(code: str, request: Request) -> Response:
    """The kommun page: its indices with bootstrap intervals, its RegSO, comparisons."""
    language = language_of(request)
    try:
        data = _kommun_data(code, language, request.app.state.context)
    except NotFound:
        return not_found(request, language, code)
    if request.query_params.get("format") == "json":
        return finish(JSONResponse(data), request, language)
    figures = _kommun_figures(data, language, request.app.state.context)
    _show_kommun(data, language)
    template = environment(language).get_template("kommun.html")
    html = template.render(
        data=data,
        figures=figures,
        grouping_labels={k: translations(language).gettext(v) for k, v in GROUPING_LABELS.items()},
        json_url=f"/kommun/{code}.json?lang={language}",
        table_labels={k: translations(language).gettext(v) for k, v in TABLE_LABELS.items()},
        area_type_labels={
            k: translations(language).gettext(v) for k, v in AREA_TYPE_LABELS.items()
        },
        **common(request, language),
    )
    return finish(HTMLResponse(html), request, language)


# ---- downloads -------------------------------------------------------------------------------
TABLE_LABELS = {
    "indices": N_("Segregation over the years, with 95 % intervals"),
    "regso": N_("RegSO, area type and population"),
    "comparison": N_("Comparison with Sweden and similar kommuner"),
    "area_types": N_("Population by area type and year"),
    "transitions": N_("Moves between area types"),
    "interventions": N_("Public interventions"),
    "diagnostics": N_("Portfolio diagnostics in brief"),
    "spatial": N_("Spatial pattern of the foreign-born, with 95 % intervals"),
}


@router.get("/kommun/{code}/data.xlsx", response_model=None)
def kommun_excel(code: str, request: Request) -> Response:
    """Every table of the kommun page in one Excel file, and a sheet with source and licence."""
    from bryta.app.tables import excel_bytes

    name = barometer.kommun_name(code)
    tables = kommun_use_cases.download_tables(request.app.state.context, code)
    sheets = {**tables, "source": kommun_use_cases.source_table(code, name)}
    return Response(
        excel_bytes(sheets),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="kommun-{code}.xlsx"'},
    )


@router.get("/kommun/{code}/{table}.csv", response_model=None)
def kommun_csv(code: str, table: str, request: Request) -> Response:
    """One table of the kommun page as CSV (``;``, decimal comma, UTF-8 with BOM)."""
    from bryta.app.tables import csv_bytes

    barometer.kommun_name(code)
    if table not in kommun_use_cases.TABLES:
        raise NotFound(
            f"{table!r} is not a table of the kommun page; "
            f"use one of {', '.join(kommun_use_cases.TABLES)}"
        )
    frame = kommun_use_cases.download_tables(request.app.state.context, code)[table]
    return Response(
        csv_bytes(frame),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="kommun-{code}-{table}.csv"'},
    )
