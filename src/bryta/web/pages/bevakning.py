"""The watch list page (``/bevakning``): the areas on their way towards the area types with
socioeconomic challenges, for the whole country or one kommun, as a map and a list, with the
rule's track record beside it.

``?kommun=CODE`` chooses a kommun (a plain GET form, so it works without JavaScript); without
it the page shows the whole country. Everything shown comes from :mod:`bryta.app.watch`
(:func:`~bryta.app.watch.watch_country`, :func:`~bryta.app.watch.watch_kommun`,
:func:`~bryta.app.watch.watch_rows`); this module only renders it. The downloads
``/bevakning/data.csv`` and ``/bevakning/data.xlsx`` hold the file ``bryta watch`` writes.
When the warehouse holds no index history the page says how to load it.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

import bryta
from bryta.app import watch as use_case
from bryta.app.context import Context
from bryta.app.maps import has_regso_boundaries
from bryta.errors import NotFound
from bryta.web.i18n import N_, number, translations
from bryta.web.pages._common import (
    common,
    environment,
    finish,
    language_of,
    not_found,
    plotly_graph_objects,
    script_json,
)
from bryta.web.pages.geo import map_view, regso_bounds

router = APIRouter(include_in_schema=False)

KOMMUN_CODE = re.compile(r"\d{4}")
SOURCE = "SCB (Statistics Sweden), socioeconomic index per RegSO (TAB6586), CC0; computed by bryta"
#: The command that loads the index history (shown on the page when it is missing).
LOAD_COMMAND = "bryta indicators load socioeconomic_index --level regso"
SWEDEN_VIEW = {"center": {"lat": 62.9, "lon": 17.0}, "zoom": 3.45}


def _kommun_param(request: Request) -> str | None:
    given = (request.query_params.get("kommun") or "").strip()
    return given or None


def _report(
    ctx: Context, kommun: str | None, language: str
) -> use_case.WatchReport:  # the one place the page asks the app
    lang: Literal["en", "sv"] = "sv" if language == "sv" else "en"
    if kommun is None:
        return use_case.watch_country(ctx, language=lang)
    return use_case.watch_kommun(ctx, kommun, language=lang)


def _known_kommun(code: str) -> bool:
    from bryta.geography.areas import kommun_names

    return bool(KOMMUN_CODE.fullmatch(code)) and code in kommun_names()


# ---- words and numbers ------------------------------------------------------------------------
def _pct(value: float | None, language: str) -> str:
    if value is None:
        return "–"
    return number(value * 100, language, "0") + "\u00a0%"


def _signed(value: float | None, language: str) -> str:
    if value is None:
        return "–"
    text = number(value, language, "0.00")
    return ("+" + text) if value > 0 else text.replace("-", "−")


def track_record(report: use_case.WatchReport, language: str) -> list[str]:
    """The backtest in words, a sentence per line."""
    _ = translations(language).gettext
    record = report.backtest
    if not record.origins:
        return [
            _(
                "The rule's track record cannot be computed: the history has too few years "
                "before the last one."
            )
        ]

    def share(x: float | None) -> str:
        return _("not defined") if x is None else _pct(x, language)

    lines = [
        _(
            "Applied with the data up to each of the years {first}–{last} only and scored "
            "against the {horizon} years that followed, the rule made {flags} flags; "
            "{entries} areas entered type 1 or 2."
        ).format(
            first=record.origins[0],
            last=record.origins[-1],
            horizon=record.horizon,
            flags=record.flags,
            entries=record.entries,
        ),
        _("Precision {value}: of the flags, the share followed by an entry.").format(
            value=share(record.precision)
        ),
        _(
            "Recall {value}: of the entries, the share flagged beforehand; {lead_value} of "
            "those at least {min_lead} years after the year of the flag."
        ).format(
            value=share(record.recall),
            lead_value=share(record.recall_lead),
            min_lead=record.min_lead,
        ),
        _("Median lead time: {value}.").format(
            value=_("not defined")
            if record.median_lead is None
            else _("{years} years").format(years=number(record.median_lead, language, "0.#"))
        ),
    ]
    if not record.complete:
        lines.append(
            _(
                "The latest years see less than the whole horizon after them, which lowers "
                "the precision."
            )
        )
    return lines


def _shown_rows(rows: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """The list's rows with every number written for ``language``."""
    _ = translations(language).gettext
    out = []
    for row in rows:
        crossing = "–"
        if row["crossing_period"] is not None:
            crossing = str(row["crossing_period"])
            if row["crossing_low"] is not None and row["crossing_high"] is not None:
                crossing += f" ({row['crossing_low']}–{row['crossing_high']})"
        trend = _signed(row["trend"], language)
        if row["trend_low"] is not None and row["trend_high"] is not None:
            low, high = _signed(row["trend_low"], language), _signed(row["trend_high"], language)
            trend += " (" + _("{low} to {high}").format(low=low, high=high) + ")"
        out.append(
            {
                **row,
                "index_shown": number(row["index_last"], language, "0.0"),
                "trend_shown": trend,
                "gap_shown": number(row["gap"], language, "0.0"),
                "crossing_shown": crossing,
                "risks_shown": " / ".join(_pct(row[f"risk_{h}"], language) for h in (1, 3, 5)),
                "flagged_shown": _("flagged") if row["flagged"] else _("no"),
            }
        )
    return out


# ---- the map ----------------------------------------------------------------------------------
def _outline(go: Any, geojson: str, codes: list[str], name: str) -> list[Any]:
    """The flagged areas: a black outline on a white halo, seen on every colour of the scale."""
    return [
        go.Choroplethmap(
            geojson=geojson,
            featureidkey="properties.code",
            locations=codes,
            z=[0] * len(codes),
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
            showscale=False,
            marker={"line": {"width": width, "color": colour}},
            hoverinfo="skip",
            name=name,
        )
        for colour, width in (("#ffffff", 6), ("#000000", 3))
    ]


def _map(
    report: use_case.WatchReport,
    rows: list[dict[str, Any]],
    per_kommun: list[dict[str, Any]],
    language: str,
    ctx: Context,
) -> str | None:
    """The map as plotly JSON: a kommun's RegSO coloured by trend, or the country's kommuner
    by their number of flagged RegSO; flagged areas outlined. None without boundaries."""
    go = plotly_graph_objects()
    _ = translations(language).gettext
    separators = ",\u00a0" if language == "sv" else ".,"
    if report.kommun is None:
        geojson = "/geo/kommun.geojson"
        loaded = [k for k in per_kommun if k["areas"]]
        without = [k["kommun"] for k in per_kommun if not k["areas"]]
        traces = [
            go.Choroplethmap(  # kommuner without RegSO in the history: light grey
                geojson=geojson,
                featureidkey="properties.code",
                locations=without,
                z=[0] * len(without),
                colorscale=[[0, "#e4e4e4"], [1, "#e4e4e4"]],
                showscale=False,
                marker={"line": {"width": 0.4, "color": "#ffffff"}},
                hoverinfo="skip",
                name=_("No RegSO in the index history"),
            ),
            go.Choroplethmap(
                geojson=geojson,
                featureidkey="properties.code",
                locations=[k["kommun"] for k in loaded],
                z=[k["flagged"] for k in loaded],
                text=[
                    _("{name}: {flagged} of {areas} RegSO flagged").format(
                        name=k["name"] or k["kommun"], flagged=k["flagged"], areas=k["areas"]
                    )
                    for k in loaded
                ],
                zmin=0,
                colorscale="Cividis",
                marker={"line": {"width": 0.4, "color": "#ffffff"}},
                colorbar={"title": {"text": _("flagged RegSO")}, "tickformat": "d"},
                hovertemplate="%{text}<extra></extra>",
                name=_("Flagged RegSO"),
            ),
            *_outline(
                go,
                geojson,
                [k["kommun"] for k in per_kommun if k["flagged"]],
                _("Kommuner with a flagged RegSO"),
            ),
        ]
        view: dict[str, Any] = SWEDEN_VIEW
    else:
        if not has_regso_boundaries(ctx, report.kommun):
            return None
        geojson = f"/geo/regso/{report.kommun}.geojson"
        with_trend = [r for r in rows if r["trend"] is not None]
        traces = [
            go.Choroplethmap(
                geojson=geojson,
                featureidkey="properties.code",
                locations=[r["code"] for r in with_trend],
                z=[r["trend"] for r in with_trend],
                text=[
                    f"{r['name'] or r['code']}: {_signed(r['trend'], language)} "
                    + _("per year")
                    + (f" — {_('flagged')}" if r["flagged"] else "")
                    for r in with_trend
                ],
                colorscale="Cividis",
                marker={"line": {"width": 0.6, "color": "#ffffff"}},
                colorbar={"title": {"text": _("trend, index points per year")}},
                hovertemplate="%{text}<extra></extra>",
                name=_("Trend"),
            ),
            *_outline(go, geojson, [r["code"] for r in rows if r["flagged"]], _("Flagged")),
        ]
        view = map_view(regso_bounds(report.kommun, ctx), width=600)
    figure = go.Figure(traces)
    figure.update_layout(
        map={"style": "white-bg", **view},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=520,
        separators=separators,
        showlegend=False,
    )
    return script_json(figure.to_json())


# ---- the page ---------------------------------------------------------------------------------
WATCH_LABEL = N_("Early warning")


@router.get("/bevakning", response_model=None)
def bevakning(request: Request) -> Response:
    """The watch list of the country or of ``?kommun=``: a map, the list and the track record;
    without the index history, the command that loads it."""
    language = language_of(request)
    ctx: Context = request.app.state.context
    kommun = _kommun_param(request)
    if kommun is not None and not _known_kommun(kommun):
        return not_found(request, language, kommun)
    env = environment(language)
    base = {"kommun": kommun, "load_command": LOAD_COMMAND, **common(request, language)}
    if not use_case.has_index_history(ctx):
        html = env.get_template("bevakning.html").render(empty=True, **base)
        return finish(HTMLResponse(html), request, language)
    country = use_case.watch_country(ctx, language="sv" if language == "sv" else "en")
    per_kommun = use_case.flagged_per_kommun(country, every_kommun=True).to_dicts()
    chooser = [k for k in per_kommun if k["name"] is not None and k["areas"]]
    missing_kommun = False
    try:
        report = country if kommun is None else _report(ctx, kommun, language)
    except NotFound:  # a kommun whose RegSO the loaded history does not hold
        report, missing_kommun = None, True
    context: dict[str, Any] = {
        "empty": False,
        "chooser": chooser,
        "missing_kommun": missing_kommun,
        **base,
    }
    if report is not None:
        rows = use_case.watch_rows(report)
        shown = rows if report.kommun else [r for r in rows if r["flagged"]]
        query = f"kommun={kommun}&" if kommun else ""
        context |= {
            "report": report,
            "name": _kommun_name(kommun, language),
            "rows": _shown_rows(shown, language),
            "n_areas": len(rows),
            "n_flagged": sum(r["flagged"] for r in rows),
            "map": _map(report, rows, per_kommun, language, ctx),
            "track_record": track_record(report, language),
            "threshold": number(report.threshold, language, "0.0"),
            "registry": report.interventions is not None,
            "level": number(report.rule.level * 100, language, "0"),
            "risk_threshold": number(report.rule.risk_threshold * 100, language, "0"),
            "links": {
                "csv": f"/bevakning/data.csv?{query}lang={language}",
                "xlsx": f"/bevakning/data.xlsx?{query}lang={language}",
                "json": "/api/v1/watch" + (f"?kommun={kommun}" if kommun else ""),
            },
        }
    html = env.get_template("bevakning.html").render(**context)
    return finish(HTMLResponse(html), request, language)


def _kommun_name(kommun: str | None, language: str) -> str:
    from bryta.geography.areas import kommun_names

    if kommun is None:
        return translations(language).gettext("Sweden")
    return kommun_names().get(kommun, kommun)


# ---- downloads --------------------------------------------------------------------------------
def _download_report(request: Request) -> tuple[str, str | None, use_case.WatchReport]:
    language = language_of(request)
    kommun = _kommun_param(request)
    if kommun is not None and not _known_kommun(kommun):
        raise NotFound(f"{kommun!r} is not a kommun code of the bundled geography")
    return language, kommun, _report(request.app.state.context, kommun, language)


def _filename(kommun: str | None, suffix: str) -> str:
    return f"bevakning-{kommun or 'sverige'}.{suffix}"


def csv_bytes(frame: pl.DataFrame, language: str) -> bytes:
    """The file in the page's language: Swedish Excel's CSV (``;``, decimal comma, UTF-8 with
    a byte-order mark) in Swedish, ``,`` and a decimal point in English."""
    from bryta.app.tables import csv_bytes as swedish_csv

    if language == "sv":
        return swedish_csv(frame)
    return frame.write_csv(include_bom=True).encode("utf-8")


@router.get("/bevakning/data.csv", response_model=None)
def download_csv(request: Request) -> Response:
    """The watch list as the file ``bryta watch`` writes, as CSV (404 without the history)."""
    language, kommun, report = _download_report(request)
    return Response(
        csv_bytes(report.table(), language),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(kommun, "csv")}"'},
    )


@router.get("/bevakning/data.xlsx", response_model=None)
def download_xlsx(request: Request) -> Response:
    """The watch list on the sheet ``data``, the source, the rule and its track record on the
    sheet ``source``."""
    from bryta.app.tables import excel_bytes

    _language, kommun, report = _download_report(request)
    rule = report.rule
    about = pl.DataFrame(
        [
            ("source", SOURCE),
            ("licence", "CC0 1.0 (SCB open data)"),
            ("areas", f"kommun {kommun}" if kommun else "every RegSO in the index history"),
            ("last period", str(report.last_period)),
            ("type-2 threshold", "" if report.threshold is None else f"{report.threshold:.3f}"),
            (
                "rule",
                f"not in type 1 or 2, and the trend reaches the type-2 threshold within "
                f"{rule.horizon} periods or risk_5 is at least {rule.risk_threshold:g} "
                f"(level {rule.level:g}); docs/early_warning.md",
            ),
            ("backtest", " ".join(line.strip() for line in report.backtest.lines())),
            ("made by", f"bryta {bryta.__version__}"),
        ],
        schema=["field", "value"],
        orient="row",
    )
    return Response(
        excel_bytes({"data": report.table(), "source": about}),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(kommun, "xlsx")}"'},
    )
