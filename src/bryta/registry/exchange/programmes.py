"""The bundled programmes.csv (docs/registry_exchange.md § programmes.csv)."""

from __future__ import annotations

import calendar
import csv
import re
from datetime import date
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Any

from bryta.registry.records import AreaLinkRecord, InterventionRecord, ParticipationRecord
from bryta.registry.validation import Problems, Row, check_keys
from bryta.vocabulary import (
    AgeBand,
    AreaLevel,
    Form,
    OrgLevel,
    OutcomeDomain,
    PreventionLevel,
    Role,
    Sector,
    Status,
)

PROGRAMMES_FORMS = {
    "": Form.POLICY,
    "project": Form.PROJECT,
    "permanent_operation": Form.PERMANENT_OPERATION,
    "pilot": Form.PILOT,
    "grant_programme": Form.GRANT_PROGRAMME,
    "one_off": Form.ONE_OFF,
    # State–municipal agreements: time-limited national frameworks steering state money or
    # ordinary resources to named areas; closest to a grant programme (the source word is kept).
    "agreement": Form.GRANT_PROGRAMME,
}
PROGRAMMES_SECTORS = {"government": Sector.STATE_AGENCY, **{s.value: s for s in Sector}}
_PROGRAMMES_LEVELS = {"national": OrgLevel.NATIONAL, "municipal": OrgLevel.LOCAL}
_PROGRAMMES_DOMAINS = {"democracy": OutcomeDomain.DEMOCRACY_CIVIL_SOCIETY}
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def _period_day(text: str, *, end: bool) -> date | None:
    """``YYYY`` or ``YYYY-MM`` as its first day (a start) or its last day (an end)."""
    match = _PERIOD.match(text)
    if match is None:
        return None
    year, month = int(match[1]), int(match[2]) if match[2] else None
    if not end:
        return date(year, month or 1, 1)
    month = month or 12
    return date(year, month, calendar.monthrange(year, month)[1])


def read_programmes_csv(path: str | PathLike[str] | None = None) -> list[InterventionRecord]:
    """The programmes against segregation 1974–2025 (default: the bundled ``programmes.csv``).

    All rows, published, not synthetic; an empty form is :attr:`Form.POLICY`. The mapping of
    each column is in ``docs/registry_exchange.md``.
    """
    from bryta.geography.areas import regso_table

    if path is None:
        resource = files("bryta.data").joinpath("programmes", "programmes.csv")
        text, source = resource.read_text(encoding="utf-8"), "programmes.csv"
    else:
        text, source = Path(path).read_text(encoding="utf-8-sig"), Path(path).name
    regso = regso_table()
    kommun_codes = dict(zip(regso["kommun_name"], regso["kommun"], strict=True))
    problems = Problems(source)
    rows: list[tuple[str, str, InterventionRecord | None]] = []
    reader = csv.DictReader(text.splitlines(keepends=True))
    for number, raw in enumerate(reader, start=1):
        where = f"record {number}"
        r = Row(problems, where, strict=False)
        form = PROGRAMMES_FORMS.get(raw["form"])
        if form is None:
            r.bad("form", f"{raw['form']!r} is not one of {', '.join(PROGRAMMES_FORMS)}")
        sector = PROGRAMMES_SECTORS.get(raw["lead_sector"])
        if sector is None:
            r.bad(
                "lead_sector",
                f"{raw['lead_sector']!r} is not one of {', '.join(PROGRAMMES_SECTORS)}",
            )
        dates: dict[str, Any] = {}
        for name in ("planned_start", "planned_end", "actual_start", "actual_end"):
            dates[name] = _period_day(raw[name], end=name.endswith("end"))
            if raw[name] and dates[name] is None:
                r.bad(name, f"{raw[name]!r} is not YYYY or YYYY-MM")
        bands = raw["target_age_band"].split(";") if raw["target_age_band"] else []
        ages = list(AgeBand) if bands == ["all"] else r.enums("target_age_band", AgeBand, bands)
        domains = [_PROGRAMMES_DOMAINS.get(d, d) for d in raw["outcome_domains"].split(";") if d]
        kommuner = [k for k in raw["municipalities"].split(";") if k]
        areas = [
            AreaLinkRecord(level=AreaLevel.KOMMUN, area_code=kommun_codes[k])
            for k in kommuner
            if k in kommun_codes
        ]
        for k in kommuner:
            if k not in kommun_codes:
                r.bad("municipalities", f"{k!r} is not a kommun name")
        in_kommuner = regso.filter(regso["kommun_name"].is_in(kommuner))
        unmatched = []
        for name in [a for a in raw["areas"].split(";") if a]:
            hits = in_kommuner.filter(in_kommuner["regso_name"] == name)["regso"].to_list()
            if len(hits) == 1:
                areas.append(AreaLinkRecord(level=AreaLevel.REGSO, area_code=hits[0]))
            else:
                unmatched.append(name)
        notes = [
            ("English name", raw["name_en"]),
            ("Setting", raw["setting"]),
            ("Partners", raw["partner_organisations"]),
            ("Budget", raw["budget_sek"]),
            ("Funding source", raw["funding_source"]),
            ("Evaluation", raw["evaluation"]),
            ("Areas named in the source but not matched to one RegSO", "; ".join(unmatched)),
            ("Form in the source", raw["form"] if raw["form"] == "agreement" else ""),
        ]
        prevention = r.enum("prevention_level", PreventionLevel, raw["prevention_level"])
        domain_values = r.enums("outcome_domains", OutcomeDomain, domains)
        record = None
        if r.ok and form is not None and sector is not None:
            record = InterventionRecord(
                key=raw["id"],
                title=raw["name_sv"],
                description="\n".join(f"{label}: {value}" for label, value in notes if value),
                form=form,
                status=Status.ENDED if dates["actual_end"] else Status.ACTIVE,
                **dates,
                age_bands=ages,
                prevention_level=prevention,
                outcome_domains=domain_values,
                evidence_references=[u for u in raw["source_urls"].split(";") if u],
                reported_by=f"bryta {source} (compiled from the public sources listed)",
                published=True,
                synthetic=False,
                participations=[
                    ParticipationRecord(
                        organisation=raw["lead_organisation"],
                        sector=sector,
                        role=Role.ACCOUNTABLE,
                        level=_PROGRAMMES_LEVELS.get(raw["level"]),
                    )
                ],
                area_links=areas,
            )
        rows.append((where, raw["id"], record if r.ok else None))
    check_keys(problems, rows)
    problems.raise_if_any()
    return [record for _, _, record in rows if record is not None]
