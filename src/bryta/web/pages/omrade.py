"""The Område page (``/omrade/{code}``): a RegSO's indicators ranked among the kommun's areas
and same-type areas, its area types over the years, segregation within it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bryta.errors import NotFound
from bryta.web._json import finite
from bryta.web.i18n import N_, number, translations
from bryta.web.pages._common import (
    AREA_TYPE_LABELS,
    common,
    environment,
    finish,
    language_of,
    not_found,
)

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
    template = environment(language).get_template("omrade.html")
    html = template.render(
        data=data,
        json_url=f"/omrade/{code}.json",
        **_omrade_view(data, language),
        **common(request, language),
    )
    return finish(HTMLResponse(html), request, language)
