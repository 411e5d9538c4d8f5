"""What the pages share: templates per language, the language of a request, the measures
and area-type labels, and small helpers for numbers and figure JSON."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from bryta.app import maps
from bryta.errors import InputError
from bryta.web.i18n import LANGUAGES, N_, choose_language, translations

TEMPLATES = Path(__file__).parent.parent / "templates"
COOKIE_MAX_AGE = 365 * 24 * 3600


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


AREA_TYPE_LABELS = {
    1: N_("great socioeconomic challenges"),
    2: N_("socioeconomic challenges"),
    3: N_("socioeconomically mixed"),
    4: N_("good socioeconomic conditions"),
    5: N_("very good socioeconomic conditions"),
}
# Area types 1–5 on the map: steps of the cividis scale (readable with colour-vision deficiency)
AREA_TYPE_COLOURS = {1: "#00224e", 2: "#414d6b", 3: "#7c7b78", 4: "#bcaf6f", 5: "#fee838"}
# The kommuner whose RegSO boundaries are bundled (maps also read the warehouse: bryta.app.maps)
BUNDLED_REGSO = maps.BUNDLED_REGSO


@functools.cache
def environment(language: str) -> jinja2.Environment:
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


def script_json(text: str) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` can close it)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def language_of(request: Request) -> str:
    return choose_language(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )


def finish(response: Response, request: Request, language: str) -> Response:
    """Remember an explicit ``?lang=`` in a cookie; say what the answer varies by."""
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", language, max_age=COOKIE_MAX_AGE, samesite="lax")
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response


def switch_url(request: Request, language: str) -> str:
    params = dict(request.query_params)
    params["lang"] = language
    return f"{request.url.path}?{urlencode(params)}"


def year_param(request: Request, name: str = "year") -> int | None:
    """The year in the query parameter ``name`` (None when absent or empty)."""
    given = request.query_params.get(name)
    if given is None or given == "":
        return None
    try:
        return int(given)
    except ValueError:
        raise InputError(f"{name} must be a whole number such as 2023, not {given!r}") from None


def common(request: Request, language: str) -> dict[str, str]:
    other = "en" if language == "sv" else "sv"
    return {
        "language": language,
        "other_language": other,
        "switch_url": switch_url(request, other),
    }


def clean(value: float | None) -> float | None:
    """JSON has no NaN: an undefined value is null."""
    return None if value is None or value != value else float(value)


def not_found(request: Request, language: str, code: str, what: str | None = None) -> Response:
    """The page for an unknown code, with status 404."""
    template = environment(language).get_template("not_found.html")
    extra = {"what": what} if what else {}
    html = template.render(code=code, **extra, **common(request, language))
    return finish(HTMLResponse(html, status_code=404), request, language)


def area_type_map_trace(
    kommun: str, rows: list[dict[str, Any]], language: str, **extra: Any
) -> Any:
    """The choropleth of kommun ``kommun``'s RegSO coloured by area type (1–5, one colour
    step each, cividis), for the kommun and Område pages' maps. ``rows``: ``code``, ``name``,
    ``area_type`` (rows without a type are left out)."""
    go = plotly_graph_objects()
    _ = translations(language).gettext
    rows = [row for row in rows if row["area_type"] is not None]
    n = len(AREA_TYPE_COLOURS)
    scale: list[list[Any]] = []
    for t, colour in AREA_TYPE_COLOURS.items():
        scale += [[(t - 1) / n, colour], [t / n, colour]]
    return go.Choroplethmap(
        geojson=f"/geo/regso/{kommun}.geojson",
        featureidkey="properties.code",
        locations=[row["code"] for row in rows],
        z=[row["area_type"] for row in rows],
        zmin=0.5,
        zmax=n + 0.5,
        text=[
            f"{row['name']}: {row['area_type']} {_(AREA_TYPE_LABELS[row['area_type']])}"
            for row in rows
        ],
        colorscale=scale,
        marker={"line": {"width": 0.6, "color": "#ffffff"}},
        colorbar={
            "title": {"text": _("Area type")},
            "tickvals": list(AREA_TYPE_COLOURS),
            "ticktext": [f"{t} {_(AREA_TYPE_LABELS[t])}" for t in AREA_TYPE_COLOURS],
        },
        hovertemplate="%{text}<extra></extra>",
        name=_("Area type"),
        **extra,
    )
