"""The intervention page (``/insats/{key}``): one published intervention of the registry as
the public sees it — what it is, who runs it, where, which indicators it aims to move, its
funding — and its evaluation records with their evidence levels, a forest chart of the
estimates and a table of the same numbers. ``/insats/{key}.json`` returns the page's data
(:mod:`bryta.app.intervention`); an unknown, unpublished or invented key is the 404 page."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from bryta.app import intervention as use_cases
from bryta.errors import NotFound
from bryta.web._json import finite
from bryta.web.i18n import N_, number, translations
from bryta.web.pages._common import common, environment, finish, language_of, not_found
from bryta.web.pages.kommun import FORM_LABELS, STATUS_LABELS
from bryta.web.pages.omrade import INDICATOR_LABELS

router = APIRouter(include_in_schema=False)

DESIGN_LABELS = {
    "did": N_("staggered difference-in-differences (Callaway & Sant'Anna)"),
    "synth": N_("synthetic control"),
    "twfe": N_("two-way fixed effects regression (biased when the starts are staggered)"),
}
#: level → (the badge's words, what the level means)
EVIDENCE_LABELS = {
    "effective": (
        N_("effective"),
        N_(
            "The areas developed differently from comparable areas in the direction the "
            "intervention intended, the 95 % interval excludes zero, and the placebo checks "
            "passed."
        ),
    ),
    "promising": (
        N_("promising"),
        N_(
            "There are signs of an effect in the intended direction, but not enough to call it "
            "effective: the placebo checks were not run or not passed, or the interval still "
            "includes zero."
        ),
    ),
    "no_detectable_effect": (
        N_("no detectable effect"),
        N_(
            "No effect in the intended direction was found where the design could have seen a "
            "meaningful one. This includes an effect in the opposite direction: read the "
            "estimate."
        ),
    ),
    "insufficient_evidence": (
        N_("insufficient evidence"),
        N_(
            "The data cannot tell whether the intervention made a difference: too few treated "
            "areas, a difference already before the start, no stated direction of success, or "
            "a design too weak to see a meaningful effect."
        ),
    ),
}
REASONS = {
    "no_numbers": N_(
        "The record has no 95 % interval or no minimum detectable effect, so the rule cannot "
        "judge it."
    ),
    "few_treated": N_(
        "Only {n} treated areas: the rule needs at least {minimum} before an estimate counts "
        "as evidence."
    ),
    "pre_trend": N_(
        "The placebo in time found a difference before the start (a pre-trend), so the "
        "comparison areas do not show what would have happened without the intervention."
    ),
    "excludes_zero": N_("The 95 % interval, {low} to {high}, does not include zero."),
    "includes_zero": N_("The 95 % interval, {low} to {high}, includes zero."),
    "no_direction": N_(
        "Nobody has stated which direction would count as success (a target in the "
        "intervention's indicator link, or --intended when recording), so the effect cannot "
        "be judged."
    ),
    "intended_side_up": N_(
        "The effect lies on the intended side: the intervention means to raise the outcome."
    ),
    "intended_side_down": N_(
        "The effect lies on the intended side: the intervention means to lower the outcome."
    ),
    "placebo_passed": N_(
        "The placebo checks passed: placebo p-value {p}, below {level}, and no pre-trend."
    ),
    "placebo_not_run": N_(
        "No placebo checks were run, and an analytic interval alone does not make the design "
        "credible enough to call the result effective."
    ),
    "placebo_not_passed": N_(
        "The placebo checks did not set the result apart from chance clearly enough "
        "(placebo p-value {p}, the rule asks below {level} and no pre-trend)."
    ),
    "against_direction_up": N_(
        "The effect lies on the other side of what was intended (the intervention means to "
        "raise the outcome): no effect in the intended direction."
    ),
    "against_direction_down": N_(
        "The effect lies on the other side of what was intended (the intervention means to "
        "lower the outcome): no effect in the intended direction."
    ),
    "within_reach": N_(
        "The estimate, {estimate}, lies on the intended side and is at least half the minimum "
        "detectable effect ({half_mde}): an effect of that size is within the design's reach, "
        "and a larger or longer study could confirm it."
    ),
    "powered": N_(
        "The minimum detectable effect, {mde}, is no larger than the smallest meaningful "
        "effect, {meaningful}: a meaningful effect would most likely have been seen, and was "
        "not."
    ),
    "underpowered": N_(
        "The minimum detectable effect, {mde}, is larger than the smallest meaningful effect, "
        "{meaningful}: the design could not have seen a meaningful effect."
    ),
    "no_meaningful": N_(
        "No smallest meaningful effect is stated, so the rule cannot tell whether the design "
        "could have seen one."
    ),
    "older_rule": N_("The level was given by the rule in force when the record was stored."),
}
#: how an effect on an indicator of this unit is measured
EFFECT_UNITS = {
    "percent": N_("percentage points"),
    "thousand SEK": N_("thousand SEK"),
    "SEK": N_("SEK"),
    "persons": N_("persons"),
    "index": N_("index points"),
}
#: indicator values as written, by unit
UNIT_SYMBOLS = {"percent": "\u00a0%", "thousand SEK": "", "persons": ""}
PREVENTION_LABELS = {
    "universal": N_("universal (for everyone)"),
    "selective": N_("selective (for groups at higher risk)"),
    "indicated": N_("indicated (for people with early signs of problems)"),
    "reactive": N_("reactive (after problems have arisen)"),
}
DOMAIN_LABELS = {
    "education": N_("education"),
    "work": N_("work"),
    "housing": N_("housing"),
    "democracy_civil_society": N_("democracy and civil society"),
    "safety": N_("safety"),
    "health": N_("health"),
    "income": N_("income"),
}
AGE_LABELS = {
    "prenatal": N_("before birth"),
    "0-5": N_("0–5 years"),
    "6-15": N_("6–15 years"),
    "16-19": N_("16–19 years"),
    "20-64": N_("20–64 years"),
    "65+": N_("65 years and older"),
}
ROLE_LABELS = {
    "accountable": N_("accountable"),
    "implementing": N_("implementing"),
    "funding": N_("funding"),
    "partner": N_("partner"),
}
INSTRUMENT_LABELS = {
    "core_budget": N_("core budget"),
    "targeted_state_grant": N_("targeted state grant"),
    "eu": N_("EU funds"),
    "arvsfonden": N_("Arvsfonden"),
    "foundation": N_("foundation"),
    "social_investment_fund": N_("social investment fund"),
}
SUCCESSION_LABELS = {
    "institutionalised": N_("made permanent as"),
    "continued": N_("continued as"),
    "scaled_up": N_("scaled up as"),
    "merged": N_("merged into"),
    "split": N_("split, one part being"),
    "replaced": N_("replaced by"),
}
BASIS_LABELS = {"actual": N_("actual"), "planned": N_("planned")}


def _pattern(values: list[float | None]) -> str:
    """One number pattern for a record's numbers, by their size (three significant digits or
    so for the largest)."""
    size = max((abs(v) for v in values if v is not None), default=0.0)
    if size >= 100:
        return "#,##0"
    if size >= 10:
        return "#,##0.0"
    if size >= 1:
        return "0.0#"
    return "0.00#"


def _outcome_name(row: dict[str, Any], language: str) -> str:
    _ = translations(language).gettext
    label = INDICATOR_LABELS.get(row.get("indicator") or row.get("outcome") or "")
    if label:
        return _(label)
    if language == "sv" and row.get("name_sv"):
        return str(row["name_sv"])
    return str(row.get("name") or row.get("outcome_name") or "")


def _evaluation_view(row: dict[str, Any], language: str) -> dict[str, Any]:
    """An evaluation record with everything the page writes in words and numbers."""
    _ = translations(language).gettext
    pattern = _pattern([row["estimate"], row["ci_low"], row["ci_high"], row["mde"]])

    def num(value: float | None) -> str:
        return number(value, language, pattern)

    unit = _(EFFECT_UNITS[row["unit"]]) if row["unit"] in EFFECT_UNITS else (row["unit"] or "")
    level, meaning = EVIDENCE_LABELS[row["evidence_level"]]
    reasons = []
    for step in row["reasons"] or [{"code": "older_rule"}]:
        code = step["code"]
        if code in ("intended_side", "against_direction"):
            code += "_up" if step["direction"] > 0 else "_down"
        if code == "placebo_not_passed" and step["p"] is None:
            code = "placebo_not_run"
        amounts = ("low", "high", "estimate", "half_mde", "mde", "meaningful")
        params: dict[str, Any] = {}
        for k, v in step.items():
            if k in amounts:
                params[k] = num(v)
            elif k in ("p", "level"):
                params[k] = (
                    None if v is None else number(v, language, "0.000" if k == "p" else "0.00")
                )
            elif k != "code":
                params[k] = v
        reasons.append(_(REASONS[code]).format(**params))
    outcome = {
        "outcome": row["outcome"],
        "name": row["outcome_name"],
        "name_sv": row["outcome_name_sv"],
    }
    if row["mde"] is None:
        mde_text = _("The record has no minimum detectable effect.")
    else:
        mde_text = _(
            "With {treated} treated and {control} comparison areas over {first}–{last}, "
            "effects smaller than {mde} {unit} in either direction cannot be told from noise "
            "(the design sees an effect of that size with a probability of 80 %, at a significance "
            "level of 5 %)."
        ).format(
            treated=number(row["n_treated"], language, "#,##0"),
            control=number(row["n_control"], language, "#,##0"),
            first=row["first_year"],
            last=row["last_year"],
            mde=num(row["mde"]),
            unit=unit,
        )
    return {
        **row,
        "outcome_label": _outcome_name(outcome, language),
        "design_label": _(DESIGN_LABELS.get(row["design"], row["design"])),
        "level_label": _(level),
        "level_meaning": _(meaning),
        "reasons_shown": reasons,
        "unit_label": unit,
        "estimate_shown": num(row["estimate"]),
        "ci_low_shown": num(row["ci_low"]),
        "ci_high_shown": num(row["ci_high"]),
        "mde_shown": num(row["mde"]),
        "mde_text": mde_text,
        "placebo_shown": None
        if row["placebo_p"] is None
        else number(row["placebo_p"], language, "0.000"),
        "date": (row["created_at"] or "")[:10],
        "datasets": _datasets(row.get("provenance") or {}),
        "bryta_version": (row.get("provenance") or {}).get("bryta"),
    }


def _datasets(provenance: dict[str, Any]) -> list[str]:
    datasets = provenance.get("datasets")
    if datasets == "bundled" or datasets is None:
        return []
    return [str(d.get("name")) for d in datasets if isinstance(d, dict)]


def _tick(value: float, *, language: str, pattern: str) -> str:
    return number(value, language, pattern)


def _charts(evaluations: list[dict[str, Any]], language: str) -> list[dict[str, Any]]:
    """One forest chart per outcome (the units differ between outcomes)."""
    _ = translations(language).gettext
    charts = []
    outcomes = list(dict.fromkeys(e["outcome"] for e in evaluations))
    for position, outcome in enumerate(outcomes):
        rows = [e for e in evaluations if e["outcome"] == outcome]
        pattern = _pattern([v for e in rows for v in (e["ci_low"], e["ci_high"], e["estimate"])])
        label = rows[0]["outcome_label"]
        unit = rows[0]["unit_label"]
        ident = f"forest-{position + 1}"
        svg = use_cases.forest_svg(
            [
                use_cases.ForestRow(
                    label=f"{e['date']} · {e['first_year']}–{e['last_year']}",
                    estimate=e["estimate"],
                    low=e["ci_low"],
                    high=e["ci_high"],
                    note=e["level_label"],
                )
                for e in rows
            ],
            title=_("Estimated effect on {outcome}, with 95 % intervals").format(outcome=label),
            desc=_(
                "Each line is one evaluation: the square is the estimate, the line its 95 % "
                "interval, the dashed line zero (no effect). The table below has the same "
                "numbers."
            ),
            axis_label=_("Effect on {outcome}").format(outcome=label)
            + (f" ({unit})" if unit else ""),
            fmt=functools.partial(_tick, language=language, pattern=pattern),
            ident=ident,
        )
        charts.append({"id": ident, "outcome": outcome, "label": label, "svg": svg})
    return charts


def _view(data: dict[str, Any], language: str) -> dict[str, Any]:
    """The page's data with labels and numbers as the page writes them."""
    _ = translations(language).gettext
    view = dict(data)
    view["form_label"] = _(FORM_LABELS.get(data["form"], data["form"]))
    view["status_label"] = _(STATUS_LABELS.get(data["status"], data["status"]))
    prevention = data["prevention_level"]
    view["prevention_label"] = _(PREVENTION_LABELS[prevention]) if prevention else None
    view["domain_labels"] = [_(DOMAIN_LABELS.get(d, d)) for d in data["outcome_domains"]]
    view["age_labels"] = [_(AGE_LABELS.get(a, a)) for a in data["age_bands"]]
    for key in ("start_basis", "end_basis", "duration_basis"):
        view[f"{key}_label"] = _(BASIS_LABELS[data[key]]) if data[key] else None
    view["duration_shown"] = (
        None
        if data["duration_months"] is None
        else number(data["duration_months"], language, "#,##0.#")
    )
    view["organisations"] = [
        {**o, "role_labels": [_(ROLE_LABELS.get(r, r)) for r in o["roles"]]}
        for o in data["organisations"]
    ]
    view["indicators"] = [
        {
            **i,
            "label": _outcome_name(i, language),
            **{
                f"{k}_shown": (
                    number(i[k], language, "#,##0.##") + UNIT_SYMBOLS.get(i["unit"] or "", "")
                    if i[k] is not None
                    else "–"
                )
                for k in ("baseline", "target", "actual")
            },
        }
        for i in data["indicators"]
    ]
    view["fundings"] = [
        {
            **f,
            "instrument_label": _(INSTRUMENT_LABELS.get(f["instrument"], f["instrument"])),
            "amount_shown": number(f["amount_sek"], language, "#,##0"),
        }
        for f in data["fundings"]
    ]
    view["successions"] = [
        {**s, "kind_label": _(SUCCESSION_LABELS.get(s["kind"], s["kind"]))}
        for s in data["successions"]
    ]
    view["evaluations"] = [_evaluation_view(e, language) for e in data["evaluations"]]
    view["charts"] = _charts(view["evaluations"], language)
    view["levels"] = [
        {"level": level, "label": _(label), "meaning": _(meaning)}
        for level, (label, meaning) in EVIDENCE_LABELS.items()
    ]
    return view


def _data(request: Request, key: str) -> dict[str, Any]:
    data = finite(use_cases.intervention_view(request.app.state.context, key))
    assert isinstance(data, dict)
    return data


@router.get("/insats/{key}.json", response_model=None)
def insats_json(key: str, request: Request) -> Response:
    """The intervention page's data as JSON (404 problem details for a key the public may not
    see)."""
    language = language_of(request)
    return finish(JSONResponse(_data(request, key)), request, language)


@router.get("/insats/{key}", response_model=None)
def insats(key: str, request: Request) -> Response:
    """The page of one published intervention and its evaluations."""
    language = language_of(request)
    try:
        data = _data(request, key)
    except NotFound:
        return not_found(request, language, key, "intervention")
    if request.query_params.get("format") == "json":
        return finish(JSONResponse(data), request, language)
    template = environment(language).get_template("insats.html")
    html = template.render(
        data=_view(data, language),
        json_url=f"/insats/{quote(key, safe='')}.json?lang={language}",
        **common(request, language),
    )
    return finish(HTMLResponse(html), request, language)
