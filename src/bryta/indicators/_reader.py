"""The strict reader of catalogue files (used by :mod:`bryta.indicators.catalogue`).

Every problem is a :class:`CatalogueError` naming the file, the entry id and the field path.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Any

from bryta.geography.codes import LEVELS
from bryta.indicators.model import (
    BREAKDOWNS,
    DOMAINS,
    PROVIDERS,
    RATIO_UNITS,
    STATUSES,
    UNITS,
    Breakdown,
    CatalogueError,
    Definition,
    Indicator,
    Source,
    Verification,
)

_ID = re.compile(r"^[a-z][a-z0-9_]{0,52}$")  # ``indicator_<id>`` stays a valid dataset name
_ENTRY_KEYS = {
    "id",
    "name_sv",
    "name_en",
    "domain",
    "unit",
    "levels",
    "definition",
    "source",
    "breakdowns",
    "verified",
}
_DEFINITION_KEYS = {"text", "age_band", "numerator", "denominator", "value"}
_SOURCE_KEYS = {
    "provider",
    "table",
    "contents",
    "contents_variable",
    "region_variable",
    "time_variable",
    "years",
}
_BREAKDOWN_KEYS = {"variable", "values"}
_VERIFIED_KEYS = {"status", "checked", "not_checked", "sources"}


class _Entry:
    """Reads the fields of one raw entry, failing with the entry id and the field path."""

    def __init__(self, raw: Any, position: int, where: str):
        self.where = where
        if not isinstance(raw, dict):
            raise CatalogueError(f"{where}: indicator #{position + 1} must be a table")
        self.raw = raw
        self.id = raw.get("id") if isinstance(raw.get("id"), str) else f"#{position + 1}"

    def fail(self, path: str, message: str) -> CatalogueError:
        return CatalogueError(f"{self.where}: indicator {self.id!r}: {path}: {message}")

    def keys(self, table: Mapping[str, Any], allowed: set[str], path: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(
                f"{path}.{unknown[0]}" if path else unknown[0],
                f"unknown key (allowed: {', '.join(sorted(allowed))})",
            )

    def table(self, parent: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
        value = parent.get(key)
        if value is None:
            raise self.fail(path, "missing")
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table, not {type(value).__name__}")
        return value

    def text(self, parent: Mapping[str, Any], key: str, path: str, *, empty: bool = False) -> str:
        value = parent.get(key)
        if value is None:
            raise self.fail(path, "missing")
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise self.fail(path, "must be a non-empty string")
        return value

    def choice(
        self, parent: Mapping[str, Any], key: str, path: str, options: tuple[str, ...]
    ) -> str:
        value = self.text(parent, key, path)
        if value not in options:
            raise self.fail(path, f"{value!r} is not one of {', '.join(options)}")
        return value

    def codes(self, value: Any, path: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, "must be a non-empty list of value codes (strings)")
        if not all(isinstance(c, str) and c.strip() for c in value):
            raise self.fail(path, "every value code must be a non-empty string")
        if len(set(value)) != len(value):
            raise self.fail(path, "lists a value code twice")
        return tuple(value)

    def selection(self, value: Any, path: str) -> dict[str, tuple[str, ...]]:
        if not isinstance(value, dict) or not value:
            raise self.fail(path, "must be a table of variable = [value codes]")
        return {var: self.codes(codes, f"{path}.{var}") for var, codes in value.items()}


def _parse_entry(raw: Any, position: int, where: str) -> Indicator:
    e = _Entry(raw, position, where)
    if "id" not in raw:
        raise e.fail("id", "missing")
    e.keys(raw, _ENTRY_KEYS, "")
    ident = e.text(raw, "id", "id")
    if not _ID.match(ident):
        raise e.fail("id", "must be snake_case (a-z, 0-9, _; at most 53 characters)")
    names = {k: e.text(raw, k, k) for k in ("name_sv", "name_en")}
    domain = e.choice(raw, "domain", "domain", DOMAINS)
    unit = e.choice(raw, "unit", "unit", UNITS)
    levels = e.codes(raw.get("levels"), "levels") if "levels" in raw else None
    if levels is None:
        raise e.fail("levels", "missing")
    for level in levels:
        if level not in LEVELS:
            raise e.fail("levels", f"{level!r} is not one of {', '.join(LEVELS)}")

    src = e.table(raw, "source", "source")
    e.keys(src, _SOURCE_KEYS, "source")
    source = Source(
        provider=e.choice(src, "provider", "source.provider", PROVIDERS),
        table=e.text(src, "table", "source.table"),
        contents=e.codes(src.get("contents"), "source.contents"),
        region_variable=e.text(src, "region_variable", "source.region_variable"),
        time_variable=e.text(src, "time_variable", "source.time_variable"),
        contents_variable=e.text(
            {"v": src.get("contents_variable", "ContentsCode")}, "v", "source.contents_variable"
        ),
        years=e.text(src, "years", "source.years") if "years" in src else "",
    )

    d = e.table(raw, "definition", "definition")
    e.keys(d, _DEFINITION_KEYS, "definition")
    selections = {
        role: e.selection(d[role], f"definition.{role}")
        for role in ("numerator", "denominator", "value")
        if role in d
    }
    definition = Definition(
        text=e.text(d, "text", "definition.text"),
        age_band=e.text(d, "age_band", "definition.age_band"),
        **selections,
    )
    _check_definition(e, definition, source, unit)

    breakdowns: dict[str, Breakdown] = {}
    for name, spec in (raw.get("breakdowns") or {}).items():
        path = f"breakdowns.{name}"
        if name not in BREAKDOWNS:
            raise e.fail(path, f"unknown breakdown (allowed: {', '.join(BREAKDOWNS)})")
        if not isinstance(spec, dict):
            raise e.fail(path, "must be a table with variable and values")
        e.keys(spec, _BREAKDOWN_KEYS, path)
        variable = e.text(spec, "variable", f"{path}.variable")
        if variable in (source.region_variable, source.time_variable, source.contents_variable):
            raise e.fail(f"{path}.variable", f"{variable} cannot be a breakdown")
        breakdowns[name] = Breakdown(name, variable, e.codes(spec.get("values"), f"{path}.values"))

    v = e.table(raw, "verified", "verified")
    e.keys(v, _VERIFIED_KEYS, "verified")
    sources = v.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise e.fail("verified.sources", "must be a list of strings")
    verification = Verification(
        status=e.choice(v, "status", "verified.status", STATUSES),
        checked=e.text(v, "checked", "verified.checked", empty=True),
        not_checked=e.text(v, "not_checked", "verified.not_checked", empty=True),
        sources=tuple(sources),
    )
    if verification.status != "unverified" and not (verification.checked and sources):
        raise e.fail("verified", f"status {verification.status!r} needs checked and sources")
    if verification.status != "verified" and not verification.not_checked:
        raise e.fail("verified.not_checked", "say what is not verified")
    return Indicator(
        id=ident,
        domain=domain,
        unit=unit,
        levels=levels,
        definition=definition,
        source=source,
        verified=verification,
        breakdowns=breakdowns,
        **names,
    )


def _check_definition(e: _Entry, d: Definition, source: Source, unit: str) -> None:
    for role, sel in d.selections.items():
        for var in (source.region_variable, source.time_variable):
            if var in sel:
                raise e.fail(f"definition.{role}.{var}", "region and time are chosen at load")
    ratio = d.numerator is not None or d.denominator is not None
    if ratio and d.value is not None:
        raise e.fail("definition.value", "give either value or numerator and denominator")
    if not ratio and d.value is None:
        raise e.fail("definition", "needs numerator and denominator, or value")
    if ratio:
        if d.numerator is None:
            raise e.fail("definition.numerator", "missing")
        if d.denominator is None:
            raise e.fail("definition.denominator", "missing")
        if unit not in RATIO_UNITS:
            raise e.fail("unit", f"a numerator/denominator indicator is in {RATIO_UNITS}")
        if set(d.numerator) != set(d.denominator):
            raise e.fail(
                "definition.denominator",
                f"must select the same variables as the numerator ({', '.join(d.numerator)})",
            )
    elif unit != "count":
        for var, codes in (d.value or {}).items():
            if len(codes) > 1:
                raise e.fail(
                    f"definition.value.{var}",
                    f"only one code: values in {unit} cannot be summed (only counts can)",
                )
    used: set[str] = set()
    for role, sel in d.selections.items():
        if source.contents_variable not in sel:
            raise e.fail(f"definition.{role}", f"must select {source.contents_variable}")
        used.update(sel[source.contents_variable])
    if used != set(source.contents):
        raise e.fail(
            "source.contents",
            f"must list exactly the content codes the definition uses ({', '.join(sorted(used))})",
        )


def load_catalogue(source: str | PathLike[str] | None = None) -> dict[str, Indicator]:
    """Read and validate a catalogue: a path, TOML text, or (None) the bundled file.

    >>> entries = load_catalogue('''
    ... [[indicator]]
    ... id = "bad"
    ... domain = "sport"
    ... ''')
    Traceback (most recent call last):
    ...
    bryta.indicators.model.CatalogueError: <text>: indicator 'bad': name_sv: missing
    """
    if source is None:
        where = "bryta/data/indicators.toml"
        text = files("bryta.data").joinpath("indicators.toml").read_text(encoding="utf-8")
    elif isinstance(source, str) and "\n" in source:
        where, text = "<text>", source
    else:
        where = str(source)
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(f"{where}: cannot read the catalogue ({exc})") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{where}: not valid TOML ({exc})") from exc
    unknown = sorted(set(doc) - {"indicator"})
    if unknown:
        raise CatalogueError(f"{where}: unknown top-level key {unknown[0]!r} (only [[indicator]])")
    raw = doc.get("indicator", [])
    if not isinstance(raw, list):
        raise CatalogueError(f"{where}: 'indicator' must be an array of tables ([[indicator]])")
    entries: dict[str, Indicator] = {}
    for position, item in enumerate(raw):
        entry = _parse_entry(item, position, where)
        if entry.id in entries:
            raise CatalogueError(f"{where}: indicator {entry.id!r}: id: appears twice")
        entries[entry.id] = entry
    return entries
