"""One published intervention as the public sees it, with its evaluation records: what the
intervention page (``/insats/{key}``) shows.

* :func:`intervention_view` — the record read through the registry service for the public
  (an unpublished, invented or unknown key is :class:`~bryta.errors.NotFound`, so nothing the
  public may not see leaves the server): its fields, organisations with their roles, the
  areas it is linked to with their names, its indicator links with the indicators' names,
  fundings, successions to other published interventions, the kommuner whose pages list it,
  and its evaluation records (:func:`bryta.app.evaluation.evaluations_of`), each with the
  outcome's name and unit and the reasons for its evidence level.
* :func:`evidence_reasons` — why an evaluation record has its evidence level: the steps of
  :func:`bryta.registry.evaluations.evidence_level` that decided it, as codes with their
  numbers (the web layer writes them in words).
* :func:`forest_svg` — the estimates with their intervals and the zero line as a plain SVG.

Functions return plain, JSON-ready data; the web layer translates and renders it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from bryta.errors import NotFound

if TYPE_CHECKING:
    from bryta.app.context import Context
    from bryta.registry.records import InterventionRecord

__all__ = [
    "ForestRow",
    "evidence_reasons",
    "forest_svg",
    "indicator_names",
    "intervention_view",
    "suggested_command",
]

#: The roles in the order the page lists an organisation's roles.
ROLE_ORDER = ("accountable", "implementing", "funding", "partner")
#: The outcome the suggested ``bryta evaluate registry`` command uses when the intervention
#: names no indicator that exists per RegSO.
DEFAULT_OUTCOME = "born_abroad_pct"


# ---- indicators -------------------------------------------------------------------------------


def indicator_names(ids: Sequence[str]) -> dict[str, dict[str, str | None]]:
    """``name`` (English), ``name_sv`` (None where only English exists) and ``unit`` (None
    when unknown) of each indicator id: the bundled indicators first, then the catalogue's
    entries (those ``bryta indicators load`` stores); an id neither knows is named by itself."""
    from bryta.app.profiles import BUNDLED_INDICATORS
    from bryta.indicators import catalogue

    entries = {entry.id: entry for entry in catalogue()}
    out: dict[str, dict[str, str | None]] = {}
    for id in ids:
        if id in BUNDLED_INDICATORS:
            name, _domain, unit, _levels = BUNDLED_INDICATORS[id]
            out[id] = {"name": name, "name_sv": None, "unit": unit}
        elif id in entries:
            entry = entries[id]
            out[id] = {"name": entry.name_en, "name_sv": entry.name_sv, "unit": entry.unit}
        else:
            out[id] = {"name": id, "name_sv": None, "unit": None}
    return out


# ---- the evidence level, explained -------------------------------------------------------------


def evidence_reasons(row: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The evidence level that :func:`bryta.registry.evaluations.evidence_level` gives the
    numbers of ``row`` (an evaluation record as :func:`~bryta.app.evaluation.evaluations_of`
    returns it), and the steps of the rule that decided it, in order: each a ``code`` with the
    numbers it names. The codes:

    ``no_numbers`` (no interval or no MDE), ``few_treated`` (``n``, ``minimum``),
    ``pre_trend``, ``excludes_zero`` / ``includes_zero`` (``low``, ``high``),
    ``no_direction``, ``intended_side`` / ``against_direction`` (``direction``),
    ``placebo_passed`` (``p``, ``level``), ``placebo_not_passed`` (``p``, ``level``: None when
    no placebos were run), ``within_reach`` (``estimate``, ``half_mde``), ``powered`` /
    ``underpowered`` (``mde``, ``meaningful``), ``no_meaningful``.
    """
    from bryta.registry.evaluations import MIN_TREATED, PLACEBO_LEVEL

    estimate, low, high, mde = row["estimate"], row["ci_low"], row["ci_high"], row["mde"]
    direction, meaningful = row.get("direction"), row.get("meaningful")
    placebo_p, pre_trend = row.get("placebo_p"), row.get("pre_trend")
    insufficient = "insufficient_evidence"
    if any(x is None or not math.isfinite(x) for x in (estimate, low, high, mde)):
        return insufficient, [{"code": "no_numbers"}]
    if row["n_treated"] < MIN_TREATED:
        return insufficient, [
            {"code": "few_treated", "n": row["n_treated"], "minimum": MIN_TREATED}
        ]
    if pre_trend is True:
        return insufficient, [{"code": "pre_trend"}]
    interval = {"low": low, "high": high}
    if low > 0 or high < 0:
        steps: list[dict[str, Any]] = [{"code": "excludes_zero", **interval}]
        if direction is None:
            return insufficient, [*steps, {"code": "no_direction"}]
        if (low > 0) == (direction > 0):
            steps.append({"code": "intended_side", "direction": direction})
            if placebo_p is not None and placebo_p < PLACEBO_LEVEL and pre_trend is False:
                return "effective", [
                    *steps,
                    {"code": "placebo_passed", "p": placebo_p, "level": PLACEBO_LEVEL},
                ]
            return "promising", [
                *steps,
                {"code": "placebo_not_passed", "p": placebo_p, "level": PLACEBO_LEVEL},
            ]
        return "no_detectable_effect", [
            *steps,
            {"code": "against_direction", "direction": direction},
        ]
    steps = [{"code": "includes_zero", **interval}]
    if direction is not None and estimate * direction > 0 and abs(estimate) >= mde / 2:
        return "promising", [
            *steps,
            {"code": "within_reach", "estimate": estimate, "half_mde": mde / 2},
        ]
    if meaningful is not None and meaningful > 0:
        if mde <= meaningful:
            return "no_detectable_effect", [
                *steps,
                {"code": "powered", "mde": mde, "meaningful": meaningful},
            ]
        return insufficient, [
            *steps,
            {"code": "underpowered", "mde": mde, "meaningful": meaningful},
        ]
    return insufficient, [*steps, {"code": "no_meaningful"}]


# ---- the intervention -------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _area_names() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Kommun code → name, RegSO code → name, DeSO code → RegSO code (bundled geography)."""
    from bryta.geography.areas import kommun_names, load_regso_key

    key = load_regso_key()
    regso = dict(key.select("regso", "regso_name").unique("regso").iter_rows())
    deso = dict(key.select("deso", "regso").iter_rows())
    return kommun_names(), regso, deso


def _areas(record: InterventionRecord) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The linked areas with names and pages, and the kommuner they lie in (with pages)."""
    kommuner, regso_names, deso_regso = _area_names()
    areas = []
    for link in record.area_links:
        code, level = link.area_code, str(link.level)
        kommun = code[:4]
        row: dict[str, Any] = {
            "code": code,
            "level": level,
            "name": None,
            "href": None,
            "regso": None,
            "regso_name": None,
            "kommun": kommun if kommun in kommuner else None,
            "kommun_name": kommuner.get(kommun),
        }
        if level == "kommun" and code in kommuner:
            row.update(name=kommuner[code], href=f"/kommun/{code}")
        elif level == "regso" and code in regso_names:
            row.update(name=regso_names[code], href=f"/omrade/{code}")
        elif level == "deso" and code in deso_regso:
            parent = deso_regso[code]
            row.update(
                regso=parent,
                regso_name=regso_names.get(parent),
                href=f"/omrade/{parent}" if parent in regso_names else None,
            )
        areas.append(row)
    order = {"kommun": 0, "regso": 1, "deso": 2}
    areas.sort(key=lambda a: (a["kommun"] or "9999", order.get(a["level"], 3), a["code"]))
    codes = sorted({a["kommun"] for a in areas if a["kommun"] is not None})
    pages = [{"code": c, "name": kommuner[c], "href": f"/kommun/{c}"} for c in codes]
    return areas, pages


def _organisations(record: InterventionRecord) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for p in record.participations:
        name = p.organisation or ""
        entry = found.setdefault(
            name, {"name": name, "sector": str(p.sector) if p.sector else None, "roles": []}
        )
        if str(p.role) not in entry["roles"]:
            entry["roles"].append(str(p.role))

    def rank(role: str) -> int:
        return ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER)

    for entry in found.values():
        entry["roles"].sort(key=rank)
    return sorted(found.values(), key=lambda e: (min(map(rank, e["roles"])), e["name"]))


def suggested_command(record: InterventionRecord, kommuner: Sequence[str]) -> str:
    """The ``bryta evaluate registry`` command that evaluates the intervention and records the
    result: its kommuner, the first indicator it names that exists per RegSO (else
    :data:`DEFAULT_OUTCOME`) and, when it is linked to whole kommuner only, ``--kommun-links``."""
    from bryta.app.profiles import BUNDLED_INDICATORS

    regso_level = {k for k, v in BUNDLED_INDICATORS.items() if "regso" in v[3]}
    regso_level |= {e.id for e in _catalogue() if "regso" in e.levels}
    outcome = next(
        (i.indicator_id for i in record.indicator_links if i.indicator_id in regso_level),
        DEFAULT_OUTCOME,
    )
    parts = ["bryta evaluate registry"]
    parts.append(f"--kommun {','.join(kommuner)}" if kommuner else "--all")
    parts.append(f"--outcome {outcome}")
    if not any(str(a.level) in ("regso", "deso") for a in record.area_links):
        parts.append("--kommun-links")
    parts += ["-o evaluation.csv", "--record"]
    return " ".join(parts)


def _catalogue() -> list[Any]:
    from bryta.indicators import catalogue

    return catalogue()


def _successions(ctx: Context, record: InterventionRecord) -> list[dict[str, Any]]:
    """The successions the public sees (to published interventions only), with titles."""
    service = ctx.registry(None)
    out = []
    for s in record.successions:
        try:
            title = service.get(service.id_of(s.to)).title
        except NotFound:  # withdrawn since: named nowhere
            continue
        out.append({"to": s.to, "title": title, "kind": str(s.kind), "on": _iso(s.succeeded_on)})
    return out


def intervention_view(ctx: Context, key: str) -> dict[str, Any]:
    """The published intervention ``key`` as its public page shows it (see the module);
    :class:`NotFound` for an unknown, unpublished or invented key, or without a registry.

    Keys: ``key``, ``title``, ``description``, ``theory_of_change``, ``form``, ``status``,
    ``prevention_level``, ``outcome_domains``, ``age_bands``, ``start``/``end`` (actual, else
    planned; ISO) with ``start_basis``/``end_basis`` (``actual``/``planned``/None),
    ``duration_months`` and ``duration_basis``, ``organisations`` (``name``, ``sector``,
    ``roles``), ``areas`` (``code``, ``level``, ``name``, ``href``, ``regso``,
    ``regso_name``, ``kommun``, ``kommun_name``), ``kommuner`` (``code``, ``name``,
    ``href``), ``indicators``, ``fundings``, ``successions``, ``report``, ``references``,
    ``evaluations`` and ``command`` (how to evaluate it)."""
    from bryta.app.evaluation import evaluations_of
    from bryta.app.registry import has_registry
    from bryta.registry.models import _months

    if not has_registry(ctx):
        raise NotFound(f"no intervention with key {key!r}")
    service = ctx.registry(None)
    record = service.get(service.id_of(key))
    if record.synthetic:  # invented records stay off the public pages
        raise NotFound(f"no intervention with key {key!r}")
    evaluations = evaluations_of(ctx, key)
    areas, kommuner = _areas(record)
    outcomes = [i.indicator_id for i in record.indicator_links]
    outcomes += [e["outcome"] for e in evaluations]
    names = indicator_names(list(dict.fromkeys(outcomes)))

    start, end = (
        record.actual_start or record.planned_start,
        record.actual_end or record.planned_end,
    )
    actual = _months(record.actual_start, record.actual_end)
    planned = _months(record.planned_start, record.planned_end)
    for row in evaluations:
        level, reasons = evidence_reasons(row)
        # a record stored under an earlier rule keeps its level; the steps then do not apply
        row["reasons"] = reasons if level == row["evidence_level"] else []
        row["outcome_name"] = names[row["outcome"]]["name"]
        row["outcome_name_sv"] = names[row["outcome"]]["name_sv"]
        row["unit"] = names[row["outcome"]]["unit"]
    return {
        "key": record.key,
        "title": record.title,
        "description": record.description,
        "theory_of_change": record.theory_of_change,
        "form": str(record.form),
        "status": str(record.status),
        "prevention_level": str(record.prevention_level) if record.prevention_level else None,
        "outcome_domains": [str(d) for d in record.outcome_domains],
        "age_bands": [str(a) for a in record.age_bands],
        "start": _iso(start),
        "start_basis": None if start is None else "actual" if record.actual_start else "planned",
        "end": _iso(end),
        "end_basis": None if end is None else "actual" if record.actual_end else "planned",
        "duration_months": actual if actual is not None else planned,
        "duration_basis": "actual" if actual is not None else "planned" if planned else None,
        "organisations": _organisations(record),
        "areas": areas,
        "kommuner": kommuner,
        "indicators": [
            {
                "indicator": i.indicator_id,
                **names[i.indicator_id],
                "start": _iso(i.start_date),
                "end": _iso(i.end_date),
                "baseline": i.baseline,
                "target": i.target,
                "actual": i.actual,
            }
            for i in record.indicator_links
        ],
        "fundings": [
            {
                "funder": f.funder,
                "instrument": str(f.instrument),
                "amount_sek": f.amount_sek,
                "start": _iso(f.start_date),
                "end": _iso(f.end_date),
            }
            for f in record.fundings
        ],
        "successions": _successions(ctx, record),
        "report": record.evaluation_report_url,
        "references": list(record.evidence_references),
        "evaluations": evaluations,
        "command": suggested_command(record, [k["code"] for k in kommuner]),
    }


# ---- the forest chart ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ForestRow:
    """One line of :func:`forest_svg`: a label on the left, the estimate with its interval,
    and a note on the right (say, the evidence level)."""

    label: str
    estimate: float
    low: float | None
    high: float | None
    note: str = ""


_W, _ROW, _TOP, _LEFT, _RIGHT = 800, 44, 16, 200, 160


def forest_svg(
    rows: Sequence[ForestRow],
    *,
    title: str,
    desc: str,
    axis_label: str,
    fmt: Callable[[float], str],
    ident: str = "forest",
) -> str:
    """A forest plot as plain SVG: per row the estimate (a square) and its interval (a line),
    the zero line dashed, round ticks (:func:`bryta.app.svg.axis_ticks`) written by ``fmt``.
    ``title`` and ``desc`` name it for screen readers; ``ident`` makes their ids unique."""
    from bryta.app.svg import axis_ticks

    values = [0.0]
    for r in rows:
        values += [v for v in (r.estimate, r.low, r.high) if v is not None and math.isfinite(v)]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    right = _W - _RIGHT
    bottom = _TOP + _ROW * max(len(rows), 1)
    height = bottom + 56

    def x(v: float) -> float:
        return _LEFT + (v - lo) / (hi - lo) * (right - _LEFT)

    parts = [
        f'<rect x="{_LEFT}" y="{_TOP}" width="{right - _LEFT}" height="{bottom - _TOP}" '
        'fill="none" stroke="#444"/>'
    ]
    for tick in axis_ticks(lo, hi):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{_TOP}" y2="{bottom}" '
            f'stroke="#e5e5e5"/><text x="{x(tick):.1f}" y="{bottom + 18}" '
            f'text-anchor="middle">{escape(fmt(tick))}</text>'
        )
    parts.append(
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{_TOP}" y2="{bottom}" stroke="#222" '
        'stroke-width="1.5" stroke-dasharray="5 3"/>'
    )
    for i, r in enumerate(rows):
        y = _TOP + _ROW * i + _ROW / 2
        parts.append(
            f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(_short(r.label, 34))}'
            "</text>"
        )
        if r.low is not None and r.high is not None and math.isfinite(r.low + r.high):
            parts.append(
                f'<line x1="{x(r.low):.1f}" x2="{x(r.high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#00204d" stroke-width="2"/>'
                + "".join(
                    f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{y - 6:.1f}" y2="{y + 6:.1f}" '
                    'stroke="#00204d" stroke-width="2"/>'
                    for v in (r.low, r.high)
                )
            )
        parts.append(
            f'<rect x="{x(r.estimate) - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" '
            'fill="#00204d"/>'
        )
        if r.note:
            parts.append(
                f'<text x="{right + 10}" y="{y + 4:.1f}">{escape(_short(r.note, 26))}</text>'
            )
    parts.append(
        f'<text x="{(_LEFT + right) / 2:.1f}" y="{bottom + 40}" text-anchor="middle">'
        f"{escape(axis_label)}</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" font-family="sans-serif" font-size="14" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
        '<rect width="100%" height="100%" fill="white"/>' + "".join(parts) + "</svg>"
    )


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
