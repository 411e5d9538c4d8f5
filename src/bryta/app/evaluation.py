"""The evaluation panel built from the registry and the data: outcomes per RegSO × year,
treatment from the interventions the registry holds.

:func:`build_panel` reads the published interventions through the registry service for the
public (so only what anyone may see decides who is treated) and the outcome from the bundled
indicators and those loaded into the warehouse (``bryta indicators load``; a loaded indicator
replaces a bundled one of the same id, as in the area profiles), and returns a :class:`Panel`:
a balanced frame ready for :func:`bryta.evaluate.did` and a :class:`PanelReport` saying what
went in and what was left out, and why.

* A RegSO is treated from the start year (actual start, else planned start) of the first
  qualifying intervention linked to it: linked to the RegSO itself, or to a DeSO in it
  (through the DeSO → RegSO key). A link to a whole kommun treats none of its RegSO unless
  ``kommun_links``: most programmes name the kommun they work in, not the areas, and treating
  every RegSO of the kommun leaves nothing in the kommun to compare with.
* Qualifying: filters on form, prevention level, outcome domain, minimum planned duration
  (months) and organisation; cancelled work and work with no start date never qualify.
* The comparison pool (the RegSO never treated) can be restricted by area type (official
  2022, or the proxy type of the panel's first year) and by kommun; treated RegSO are kept
  whatever their type.
* RegSO treated from the first year of data or earlier have no year before their start and
  are left out (with a note); RegSO whose first intervention starts after the last year of
  data count as not treated within the data.

The pure steps are in :mod:`bryta.compute.evaluation.panel`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import polars as pl

from bryta.compute.evaluation.panel import (
    INTERVENTION_SCHEMA,
    LINK_SCHEMA,
    assign_cohorts,
    link_regso,
    qualify,
)
from bryta.errors import InputError, NotFound

if TYPE_CHECKING:
    from bryta.app.context import Context
    from bryta.compute.evaluation.did import DidResult
    from bryta.compute.evaluation.placebo import PlaceboResult
    from bryta.compute.evaluation.twfe import TwfeEventStudy
    from bryta.compute.progress import Progress
    from bryta.registry.records import InterventionRecord

__all__ = [
    "INTERVENTION_COLUMNS",
    "KOMMUN_LINKS_REASON",
    "InterventionRun",
    "OwnOutcomes",
    "Panel",
    "PanelReport",
    "RecordedEvaluation",
    "RegistryEvaluation",
    "VersionKey",
    "build_panel",
    "evaluate_registry",
    "evaluations_of",
    "event_study_html",
    "event_study_svg",
    "intervention_panel",
    "interventions_path",
    "interventions_table",
    "read_crosswalk",
    "read_outcomes",
    "record_evaluations",
    "regso_outcomes",
]

KOMMUN_LINKS_REASON = "linked to whole kommuner only, not to RegSO or DeSO"
KOMMUN_LINKS_HINT = "--kommun-links lets a kommun link treat every RegSO of the kommun"
BEFORE_DATA_REASON = "its RegSO are treated from the first year of data or earlier"
INCOMPLETE_REASON = "its RegSO lack the outcome in some year"
NO_AREA_REASON = "no linked RegSO or DeSO in the panel"
OTHER_VERSION_REASON = "linked to area codes of another version than the outcome's"
OTHER_VERSION_HINT = "--crosswalk FILE maps them to the outcome's codes"
NOT_SELECTED_REASON = "not among --intervention"
#: Crosswalk weights of one source code must sum to 1 within this.
WEIGHT_TOLERANCE = 1e-3
_MAX_LISTED = 10


@dataclass(frozen=True)
class PanelReport:
    """What went into the panel and what was left out.

    Attributes:
        outcome: the indicator; years: first and last year of data; scope: the kommuner of
            the panel (empty: all of Sweden).
        n_units: RegSO in the panel.
        interventions: one row per intervention seen (published, not synthetic, linked to
            the scope): ``id, key, title, start_year, months, reason`` (null: used),
            ``n_regso`` (RegSO of the panel it treats).
        treated: ``cohort, n_units`` of the treated RegSO in the panel.
        before_data: RegSO left out because treated from the first year of data or earlier.
        after_data: RegSO whose first intervention starts after the last year (not treated
            within the data).
        pool: never-treated RegSO in the comparison pool; pool_left_out: never-treated RegSO
            left out by the pool restriction; pool_rule: that restriction in words.
        incomplete: RegSO left out for missing outcome values (``drop_incomplete``).
        control: ``never`` or ``notyet``.
        crosswalk: the crosswalk key (file name), empty without one; crosswalked: area links
            of another code version mapped through it; crosswalk_below: target areas of those
            links left out for a weight under ``crosswalk_min_weight``; crosswalk_rule: the
            minimum in words.
        outcome_source: where an outcome from the analyst's own table came from (the
            provenance of :func:`read_outcomes`); None for an indicator.
    """

    outcome: str
    years: tuple[int, int]
    scope: tuple[str, ...]
    n_units: int
    interventions: pl.DataFrame
    treated: pl.DataFrame
    before_data: tuple[str, ...]
    after_data: tuple[str, ...]
    pool: int
    pool_left_out: int
    pool_rule: str
    incomplete: tuple[str, ...]
    control: str
    notes: tuple[str, ...] = field(default=())
    crosswalk: str = ""
    crosswalked: int = 0
    crosswalk_below: int = 0
    crosswalk_rule: str = ""
    outcome_source: dict[str, Any] | None = None

    @property
    def used(self) -> pl.DataFrame:
        """The interventions that treat at least one RegSO of the panel."""
        return self.interventions.filter(pl.col("reason").is_null())

    @property
    def left_out(self) -> pl.DataFrame:
        """The interventions left out, with the reason."""
        return self.interventions.filter(pl.col("reason").is_not_null())

    def reasons(self) -> dict[str, int]:
        """How many interventions were left out for each reason, most frequent first."""
        counts = self.left_out.group_by("reason").len().sort(["len", "reason"], descending=True)
        return dict(counts.iter_rows())

    def lines(self) -> list[str]:
        """The report as lines for a terminal or a log."""
        where = _scope_text(self.scope)
        out = [
            f"panel: {self.outcome} per RegSO × year {self.years[0]}–{self.years[1]}, {where}: "
            f"{self.n_units} RegSO"
        ]
        used, left = self.used, self.left_out
        out.append(
            f"interventions: {self.interventions.height} seen, {used.height} used, "
            f"{left.height} left out"
        )
        for reason, n in self.reasons().items():
            hint = {KOMMUN_LINKS_REASON: f" ({KOMMUN_LINKS_HINT})"}.get(reason, "")
            if reason == OTHER_VERSION_REASON and not self.crosswalk:
                hint = f" ({OTHER_VERSION_HINT})"
            out.append(f"  left out, {reason}: {n}{hint}")
        if self.crosswalk:
            line = (
                f"crosswalk {self.crosswalk}: {self.crosswalked} area link(s) of another code "
                f"version mapped to the outcome's codes ({self.crosswalk_rule})"
            )
            if self.crosswalk_below:
                line += f"; {self.crosswalk_below} target area(s) under the minimum left out"
            out.append(line)
        for key, title, year, n in used.select("key", "title", "start_year", "n_regso").rows():
            out.append(f"  used: {key or title} (from {year}, {n} RegSO)")
        cohorts = ", ".join(f"{g}: {n}" for g, n in self.treated.rows())
        out.append(f"treated RegSO by cohort: {cohorts or 'none'}")
        if self.before_data:
            out.append(
                f"left out: {len(self.before_data)} RegSO treated from {self.years[0]} or "
                f"earlier (no year before the start): {_listed(self.before_data)}"
            )
        if self.after_data:
            out.append(
                f"{len(self.after_data)} RegSO start after {self.years[1]}: counted as not "
                f"treated within the data ({_listed(self.after_data)})"
            )
        if self.incomplete:
            out.append(
                f"left out: {len(self.incomplete)} RegSO lacking {self.outcome} in some year: "
                f"{_listed(self.incomplete)}"
            )
        pool = f"comparison pool: {self.pool} never-treated RegSO"
        if self.pool_rule:
            pool += f" ({self.pool_rule}; {self.pool_left_out} other never-treated left out)"
        if self.control == "notyet":
            pool += ", and the RegSO treated later, until they start (control notyet)"
        out.append(pool)
        out.extend(f"note: {n}" for n in self.notes)
        return out


@dataclass(frozen=True)
class Panel:
    """A balanced panel for :func:`bryta.evaluate.did`: ``frame`` has one row per RegSO and
    year: ``regso``, ``kommun``, ``year``, ``outcome`` (the indicator's value), ``cohort`` (first
    treated year, 0 = not treated within the data), ``official_type`` (2022) and
    ``proxy_type`` (of the year; bundled years only). ``treated_by`` has one row per
    qualifying intervention and RegSO of the panel it is linked to: ``id``, ``regso`` (the
    RegSO's cohort is that of its first intervention; a RegSO linked to several appears once
    per intervention)."""

    frame: pl.DataFrame
    report: PanelReport
    unit: str = "regso"
    time: str = "year"
    outcome: str = "outcome"
    cohort: str = "cohort"
    treated_by: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"id": pl.Int64, "regso": pl.String})
    )


# --- the outcome ------------------------------------------------------------------------------


def regso_outcomes(ctx: Context | None = None) -> pl.DataFrame:
    """Every indicator at RegSO level: the bundled ones and, with ``ctx``, those loaded into
    its warehouse (a loaded indicator replaces a bundled one of the same id):
    ``regso, year, indicator, value``."""
    from bryta.app.profiles import bundled_indicators

    table = bundled_indicators().filter(level="regso")
    if ctx is not None:
        from bryta.indicators import stored_indicators

        with ctx.warehouse(read_only=True) as warehouse:
            stored = stored_indicators(warehouse).filter(level="regso")
        if stored.height:
            loaded = stored.get_column("indicator").unique().to_list()
            table = pl.concat([table.filter(~pl.col("indicator").is_in(loaded)), stored])
    return table.select(
        pl.col("area").alias("regso"),
        pl.col("year").cast(pl.Int64),
        "indicator",
        pl.col("value").cast(pl.Float64),
    )


class OwnOutcomes(NamedTuple):
    """An outcome from the analyst's own table (:func:`read_outcomes`): ``values`` has
    ``regso, year, value``; ``name`` is the value column's name; ``provenance`` says where
    the table came from (for the evaluation records)."""

    values: pl.DataFrame
    name: str
    provenance: dict[str, Any]


#: ``--outcomes dataset:NAME`` reads the warehouse dataset NAME.
DATASET_PREFIX = "dataset:"
_OUTCOME_OPTIONS = {
    "unit": ("--outcomes-unit", "the RegSO codes"),
    "time": ("--outcomes-time", "the years"),
    "value": ("--outcomes-value", "the outcome's values"),
}


def read_outcomes(
    ctx: Context | None,
    outcomes: pl.DataFrame | str | Path,
    *,
    unit: str = "regso",
    time: str = "year",
    value: str | None = None,
) -> OwnOutcomes:
    """An outcome per RegSO × year from the analyst's own table: a frame, a file (CSV with
    ``,`` or ``;``, UTF-8 or Windows-1252, decimal commas accepted; Excel ``.xlsx``; Parquet;
    read by :func:`bryta.app.tables.read_table`), or ``dataset:NAME``, a dataset stored in
    ``ctx``'s warehouse (``bryta data list``), such as segregation results per RegSO.

    ``unit`` names the column of RegSO codes (2020, or 2025 with SCB's ``_RegSO2025``
    suffix, one version in the whole table), ``time`` the column of years, ``value`` the
    column of the outcome (default: the one column that is neither, when there is one).
    Empty cells (and SCB's ``..``) are missing values: the panel then lacks that RegSO in
    that year. DeSO codes are refused: a value per DeSO (a share, a mean, a score) cannot be
    turned into one per RegSO without the counts behind it.

    Raises:
        InputError: naming the file, the data row (from 1) and the column: a missing column
            (and the option that names it), an empty or unknown RegSO code (the first 10),
            DeSO codes, a year that is not a whole number, a value that is not a number, or
            the same RegSO and year in two rows.
        NotFound: no dataset of that name in the warehouse.
    """
    import hashlib

    from bryta.app.tables import read_table
    from bryta.compute._coerce import to_float, to_number
    from bryta.geography.areas import areas

    if isinstance(outcomes, pl.DataFrame):
        frame, where = outcomes, "the outcomes table"
        digest = hashlib.sha256(outcomes.write_csv().encode("utf-8")).hexdigest()
        provenance: dict[str, Any] = {"source": "a table given to build_panel", "sha256": digest}
    elif isinstance(outcomes, str) and outcomes.startswith(DATASET_PREFIX):
        name = outcomes.removeprefix(DATASET_PREFIX).strip()
        if ctx is None:
            raise InputError(f"--outcomes {outcomes}: a warehouse dataset needs the data folder")
        with ctx.warehouse(read_only=True) as warehouse:
            info = warehouse.info(name)
            frame = warehouse.get(name)
        where = f"dataset {name!r}"
        provenance = {"dataset": name} | {
            key: info.get(key) for key in ("kind", "source", "file", "sha256", "stored_at")
        }
    else:
        path = Path(outcomes)
        frame, where = read_table(path), str(path)
        provenance = {
            "file": str(path),
            "name": path.name,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    columns = {"unit": unit, "time": time, "value": value}
    for role, column in columns.items():
        if column is not None and column not in frame.columns:
            option, what = _OUTCOME_OPTIONS[role]
            raise InputError(
                f"{where}: no column {column!r} ({what}; name it with {option}); the columns "
                "are " + ", ".join(map(repr, frame.columns))
            )
    if value is None:
        others = [c for c in frame.columns if c not in (unit, time)]
        if len(others) != 1:
            raise InputError(
                f"{where}: which column holds the outcome? name it with --outcomes-value; the "
                "columns are " + ", ".join(map(repr, frame.columns))
            )
        value = others[0]
    if len({unit, time, value}) < 3:
        raise InputError(
            f"{where}: --outcomes-unit, --outcomes-time and --outcomes-value must name three "
            f"different columns, not {unit!r}, {time!r}, {value!r}"
        )
    provenance["columns"] = {"unit": unit, "time": time, "value": value}
    rows = frame.with_row_index("row", offset=1)
    codes = rows.select("row", pl.col(unit).cast(pl.String).str.strip_chars().alias("regso"))

    def fail(bad: pl.DataFrame, column: str, what: str) -> None:
        listed = ", ".join(
            f"row {r} {c!r}" if c else f"row {r} (empty)"
            for r, c in bad.head(_MAX_LISTED).select("row", "regso").rows()
        )
        more = f" and {bad.height - _MAX_LISTED} more" if bad.height > _MAX_LISTED else ""
        raise InputError(f"{where}: column {column!r}: {what}: {listed}{more}")

    empty = codes.filter(pl.col("regso").is_null() | (pl.col("regso") == ""))
    if empty.height:
        fail(empty, unit, f"{empty.height} row(s) without a RegSO code")
    deso = codes.filter(pl.col("regso").str.contains(_AREA_PATTERNS["deso"]))
    if deso.height:
        fail(
            deso,
            unit,
            f"{deso.height} DeSO code(s); the outcome must be per RegSO (a share, mean or score "
            "per DeSO cannot be turned into one per RegSO without the counts behind it: "
            "compute it per RegSO)",
        )
    suffix = _version_suffix(codes.get_column("regso"))
    if suffix:
        known = pl.col("regso").str.contains(rf"^\d{{4}}R\d{{3}}{suffix}$")
        version = f"RegSO {suffix[-4:]} (with the suffix {suffix}, as in the rest of the table)"
    else:
        known = pl.col("regso").is_in(areas("regso").get_column("code").implode())
        version = "RegSO 2020"
    unknown = codes.filter(~known)
    if unknown.height:
        fail(unknown, unit, f"{unknown.height} code(s) that are not {version} codes")
    try:
        years = to_number(frame, time, show=[unit])
        numbers = to_float(frame, value, show=[unit, time])
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    table = codes.with_columns(years.alias("year"), numbers.alias("value"))
    odd = table.filter(
        pl.col("year").is_null() | (pl.col("year").cast(pl.Float64).round() != pl.col("year"))
    )
    if odd.height:
        first = odd.row(0, named=True)
        what = "is empty" if first["year"] is None else f"{first['year']!r} is not a year"
        more = f" ({odd.height} rows in all)" if odd.height > 1 else ""
        raise InputError(f"{where}: row {first['row']}, column {time!r}: {what}{more}")
    table = table.with_columns(pl.col("year").cast(pl.Int64))
    repeated = (
        table.group_by("regso", "year", maintain_order=True)
        .agg(pl.col("row"))
        .filter(pl.col("row").list.len() > 1)
    )
    if repeated.height:
        shown = "; ".join(
            f"rows {', '.join(map(str, r))} ({code}, {year})"
            for code, year, r in repeated.head(5).rows()
        )
        more = f" and {repeated.height - 5} more" if repeated.height > 5 else ""
        raise InputError(
            f"{where}: {repeated.height} RegSO and year(s) in more than one row "
            f"(columns {unit!r}, {time!r}): {shown}{more}; keep one value per RegSO and year"
        )
    values = table.select("regso", "year", "value").filter(pl.col("value").is_not_null())
    return OwnOutcomes(values, value, provenance)


@functools.cache
def _proxy_types() -> pl.DataFrame:
    """The proxy area type of every RegSO per bundled year (as the area profiles show it)."""
    from bryta.compute.conditions.area_types import area_types
    from bryta.datasets import load_demo_shares

    return area_types(
        load_demo_shares(),
        unit="regso",
        by="year",
        shares=["born_abroad_pct", "rental_pct"],
        population="population",
    ).select("regso", pl.col("year").cast(pl.Int64), pl.col("area_type").alias("proxy_type"))


# --- the registry -----------------------------------------------------------------------------


def _records(
    ctx: Context, kommuner: Sequence[str]
) -> tuple[list[InterventionRecord], pl.DataFrame, pl.DataFrame]:
    from bryta.app.registry import has_registry, interventions, registry_url

    if not has_registry(ctx):
        raise NotFound(
            f"no registry at {registry_url(ctx)}: create one with `bryta registry init`, then "
            "add the real programmes with `bryta registry add-programmes` (or import your own "
            "with `bryta registry import`); or give --database"
        )
    if kommuner:
        seen: dict[int | None, InterventionRecord] = {}
        for kommun in kommuner:
            for r in interventions(ctx, None, kommun=kommun, exclude_synthetic=True):
                seen[r.id] = r
        records = sorted(seen.values(), key=lambda r: r.id or 0)
    else:
        records = interventions(ctx, None, exclude_synthetic=True)
    rows = [
        {
            "id": r.id,
            "key": r.key,
            "title": r.title,
            "form": str(r.form),
            "status": str(r.status),
            "prevention_level": str(r.prevention_level) if r.prevention_level else None,
            "outcome_domains": [str(d) for d in r.outcome_domains],
            "planned_start": r.planned_start,
            "planned_end": r.planned_end,
            "actual_start": r.actual_start,
            "actual_end": r.actual_end,
            "organisation_ids": [
                p.organisation_id for p in r.participations if p.organisation_id is not None
            ],
            "organisations": [p.organisation for p in r.participations if p.organisation],
        }
        for r in records
    ]
    frame = pl.DataFrame(rows, schema=INTERVENTION_SCHEMA)
    links = pl.DataFrame(
        [
            {"id": r.id, "level": str(a.level), "area_code": a.area_code}
            for r in records
            for a in r.area_links
        ],
        schema=LINK_SCHEMA,
    )
    return records, frame, links


# --- the crosswalk between code versions ----------------------------------------------------

_VERSION = r"(_[A-Za-z]+\d{4})$"
_AREA_PATTERNS = {
    "regso": r"^\d{4}R\d{3}(_RegSO\d{4})?$",
    "deso": r"^\d{4}[ABC]\d{4}(_DeSO\d{4})?$",
}


@dataclass(frozen=True)
class VersionKey:
    """A crosswalk key between code versions, read and checked by :func:`read_crosswalk`:
    ``frame`` has ``source``, ``target``, ``level`` (of the target: ``regso`` or ``deso``),
    ``weight`` (1.0 without a weight column) and ``row`` (the data row, from 1)."""

    name: str
    frame: pl.DataFrame
    source: str
    target: str
    weight: str | None
    min_weight: float | None

    @property
    def rule(self) -> str:
        """Which target areas count as treated, in words."""
        if self.weight is None:
            return "no weights: every target area of a linked code"
        if self.min_weight is None:
            return f"target areas of weight {self.weight!r} above 0"
        return f"target areas of weight {self.weight!r} at least {self.min_weight:g}"

    def map_links(
        self,
        links: pl.DataFrame,
        checked: pl.DataFrame,
        suffix: str,
        kommuner: Sequence[str],
    ) -> tuple[pl.DataFrame, int, int]:
        """``links`` with every RegSO or DeSO link of another version than the outcome's
        (``suffix``) replaced by the target codes the key maps it to (those of weight at
        least the minimum); the number of links mapped; the number of target areas left out
        for a weight under the minimum.

        A link of a qualifying intervention (``checked``: reason null) in ``kommuner`` whose
        code is not in the key is an error naming the intervention and the code. When the
        key's source (or target) column holds no version suffix at all, its codes are
        compared without one (the source column is taken to be the links' version, the
        target column the outcome's)."""
        version = pl.col("area_code").str.extract(_VERSION).fill_null("")
        other = pl.col("level").is_in(["regso", "deso"]) & (version != suffix)
        kept = links.filter(~other)
        foreign = links.filter(other).with_row_index("_link")
        plain_source = not self.frame.get_column("source").str.contains(_VERSION).any()
        match = pl.col("area_code")
        if plain_source:
            match = match.str.replace(_VERSION, "")
        foreign = foreign.with_columns(match.alias("_match"))
        joined = foreign.join(
            self.frame, left_on="_match", right_on="source", how="inner"
        ).with_columns(self._target(suffix).alias("target"))
        self._check_missing(foreign, joined, checked, kommuner)
        self._check_targets(joined, suffix)
        floor = self.min_weight
        enough = pl.col("weight") >= floor if floor is not None else pl.col("weight") > 0
        used = joined.filter(enough)
        mapped = used.select(
            "id", pl.col("level_right").alias("level"), pl.col("target").alias("area_code")
        )
        out = pl.concat([kept.select(mapped.columns), mapped]).unique(maintain_order=True)
        below = joined.height - used.height
        return out, joined.get_column("_link").n_unique(), below

    def _target(self, suffix: str) -> pl.Expr:
        """The target code, given the outcome's suffix when the target column has none."""
        plain = not self.frame.get_column("target").str.contains(_VERSION).any()
        if plain and suffix:
            return (
                pl.when(pl.col("level_right") == "regso")
                .then(pl.col("target") + suffix)
                .otherwise(pl.col("target"))
            )
        return pl.col("target")

    def _check_missing(
        self,
        foreign: pl.DataFrame,
        joined: pl.DataFrame,
        checked: pl.DataFrame,
        kommuner: Sequence[str],
    ) -> None:
        qualifying = checked.filter(pl.col("reason").is_null()).select("id", "key", "title")
        missing = (
            foreign.join(joined.select("_link"), on="_link", how="anti")
            .filter(pl.col("area_code").str.slice(0, 4).is_in(list(kommuner)))
            .join(qualifying, on="id")
            .sort("_link")
        )
        if missing.is_empty():
            return
        first = missing.row(0, named=True)
        who = first["key"] or first["title"]
        code = first["area_code"]
        in_target = (
            self.frame.filter(
                (pl.col("target") == code) | (pl.col("target") == first["_match"])
            ).height
            > 0
        )
        fix = (
            f"it is in column {self.target!r}: swap --crosswalk-from and --crosswalk-to"
            if in_target
            else f"add it to the key, or name the key's column of these codes with "
            f"--crosswalk-from (now {self.source!r})"
        )
        more = (
            f" ({missing.height} links of qualifying interventions missing in all)"
            if missing.height > 1
            else ""
        )
        raise InputError(
            f"{self.name}: intervention {who} links to {first['level']} {code}, which is not "
            f"in column {self.source!r} of the crosswalk key; {fix}{more}"
        )

    def _check_targets(self, joined: pl.DataFrame, suffix: str) -> None:
        version = pl.col("target").str.extract(_VERSION).fill_null("")
        wrong = joined.filter(
            pl.when(pl.col("level_right") == "regso")
            .then(version != suffix)
            .otherwise((version != "") | (pl.lit(suffix) != ""))
        )
        if wrong.is_empty():
            return
        first = wrong.sort("row").row(0, named=True)
        expected = f"RegSO {suffix[-4:]}" if suffix else "RegSO 2020 or DeSO 2018"
        raise InputError(
            f"{self.name}: row {first['row']}, column {self.target!r}: {first['target']} is "
            f"not a code of the outcome's version ({expected}); the targets must be the "
            "outcome's codes (are --crosswalk-from and --crosswalk-to the right way round?)"
        )


def read_crosswalk(
    crosswalk: pl.DataFrame | str | Path,
    *,
    source: str = "from",
    target: str = "to",
    weight: str | None = None,
    min_weight: float | None = None,
) -> VersionKey:
    """Read and check a crosswalk key between code versions: a frame, or a CSV (``,`` or
    ``;``, UTF-8 or Windows-1252), Excel or Parquet file (:func:`bryta.app.tables.read_table`).

    ``source`` and ``target`` name the columns of the codes (RegSO or DeSO, with or without
    SCB's version suffix); ``weight`` the column of the share of each source area in each
    target area (decimal commas accepted), which must sum to 1 (within
    :data:`WEIGHT_TOLERANCE`) per source code. Errors name the file, the row and the column.
    """
    from bryta.app.tables import read_table
    from bryta.compute._coerce import to_float

    if isinstance(crosswalk, pl.DataFrame):
        frame, name = crosswalk, "the crosswalk key"
    else:
        frame, name = read_table(Path(crosswalk)), str(crosswalk)
    if min_weight is not None:
        if weight is None:
            raise InputError(
                "--crosswalk-min-weight needs --crosswalk-weight (the key's column of weights)"
            )
        if not (0 < min_weight <= 1):
            raise InputError(
                f"--crosswalk-min-weight takes a weight above 0 and at most 1, not {min_weight:g}"
            )
    roles = (
        ("--crosswalk-from", source, "the codes of the links' version"),
        ("--crosswalk-to", target, "the outcome's codes"),
        ("--crosswalk-weight", weight, "the weights"),
    )
    for option, column, what in roles:
        if column is not None and column not in frame.columns:
            raise InputError(
                f"{name}: no column {column!r} ({what}; name it with {option}); the columns "
                "are " + ", ".join(map(repr, frame.columns))
            )
    if source == target:
        raise InputError(f"--crosswalk-from and --crosswalk-to name the same column {source!r}")
    rows = frame.with_row_index("row", offset=1)
    codes = rows.select(
        "row",
        pl.col(source).cast(pl.String).str.strip_chars().alias("source"),
        pl.col(target).cast(pl.String).str.strip_chars().alias("target"),
    )
    for role, column in (("source", source), ("target", target)):
        values = pl.col(role)
        regso = values.str.contains(_AREA_PATTERNS["regso"])
        deso = values.str.contains(_AREA_PATTERNS["deso"])
        bad = codes.filter(values.is_null() | (values == "") | ~(regso | deso).fill_null(False))
        if bad.height:
            first = bad.row(0, named=True)
            what = "is empty" if not first[role] else f"{first[role]!r} is not a RegSO or DeSO code"
            more = f" ({bad.height} rows in all)" if bad.height > 1 else ""
            raise InputError(f"{name}: row {first['row']}, column {column!r}: {what}{more}")
    codes = codes.with_columns(
        pl.when(pl.col("target").str.contains(_AREA_PATTERNS["regso"]))
        .then(pl.lit("regso"))
        .otherwise(pl.lit("deso"))
        .alias("level")
    )
    if weight is None:
        codes = codes.with_columns(pl.lit(1.0).alias("weight"))
    else:
        try:
            weights = to_float(frame, weight, show=[source, target], label="crosswalk column")
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        codes = codes.with_columns(weights.alias("weight"))
        bad = codes.filter(
            pl.col("weight").is_null() | ~pl.col("weight").is_finite() | (pl.col("weight") < 0)
        )
        if bad.height:
            first = bad.row(0, named=True)
            raise InputError(
                f"{name}: row {first['row']}, column {weight!r}: the weight "
                + ("is empty" if first["weight"] is None else f"{first['weight']:g} is negative")
                + " (weights are shares from 0 to 1)"
            )
        sums = (
            codes.group_by("source", maintain_order=True)
            .agg(pl.col("weight").sum().alias("sum"), pl.col("row"))
            .filter((pl.col("sum") - 1).abs() > WEIGHT_TOLERANCE)
        )
        if sums.height:
            code, total, where = sums.row(0)
            more = f" ({sums.height} source codes in all)" if sums.height > 1 else ""
            raise InputError(
                f"{name}: column {weight!r}: the weights of {code} (rows "
                f"{', '.join(map(str, where[:10]))}) sum to {total:g}, not 1{more}; a weight is "
                f"the share of the {source!r} area in the {target!r} area, and the shares of "
                "one area sum to 1"
            )
    return VersionKey(
        name=name,
        frame=codes.select("source", "target", "level", "weight", "row"),
        source=source,
        target=target,
        weight=weight,
        min_weight=min_weight,
    )


# --- the panel --------------------------------------------------------------------------------


def build_panel(
    ctx: Context,
    *,
    outcome: str | None = None,
    kommuner: Sequence[str] | None = None,
    forms: Sequence[str] | None = None,
    prevention_levels: Sequence[str] | None = None,
    outcome_domains: Sequence[str] | None = None,
    min_months: float | None = None,
    organisations: Sequence[str] | None = None,
    kommun_links: bool = False,
    pool_types: Sequence[int] | None = None,
    pool_kommuner: Sequence[str] | None = None,
    type_source: Literal["official", "proxy"] = "official",
    control: Literal["never", "notyet"] = "never",
    drop_incomplete: bool = False,
    intervention_keys: Sequence[str] | None = None,
    crosswalk: pl.DataFrame | str | Path | None = None,
    crosswalk_from: str = "from",
    crosswalk_to: str = "to",
    crosswalk_weight: str | None = None,
    crosswalk_min_weight: float | None = None,
    outcomes: pl.DataFrame | str | Path | None = None,
    outcomes_unit: str = "regso",
    outcomes_time: str = "year",
    outcomes_value: str | None = None,
) -> Panel:
    """The panel of ``outcome`` per RegSO × year with treatment from the registry (see the
    module text).

    Args:
        ctx: the registry (``ctx.settings.registry_url``) and the warehouse.
        outcome: an indicator id at RegSO level (bundled, e.g. ``born_abroad_pct``, or loaded);
            with ``outcomes``, the outcome's name in the report, the plots and the records
            (default: the name of the value column).
        kommuner: the kommuner of the panel (four-digit codes); None or empty: all of Sweden.
        forms, prevention_levels, outcome_domains, min_months, organisations: the filters on
            the interventions (organisations by name or id).
        kommun_links: let a link to a whole kommun treat every RegSO of the kommun.
        pool_types: keep only never-treated RegSO of these area types (1–5).
        pool_kommuner: keep only never-treated RegSO of these kommuner.
        type_source: ``official`` (2022) or ``proxy`` (the proxy type of the first year).
        control: ``never`` or ``notyet``; decides what the pool must hold.
        drop_incomplete: leave out RegSO lacking the outcome in some year instead of failing.
        intervention_keys: only these interventions (registry keys) qualify.
        crosswalk: a key between code versions (a frame, or a CSV, Excel or Parquet file):
            area links whose codes are of another version than the outcome's (e.g. RegSO or
            DeSO 2025 when the outcome is RegSO 2020) are mapped from its ``crosswalk_from``
            column to the codes in its ``crosswalk_to`` column (RegSO of the outcome's
            version, or DeSO 2018 that the DeSO → RegSO key then maps); see
            :func:`read_crosswalk`.
        crosswalk_weight: the key's column of weights: the share of each source area in
            each target area (summing to 1 per source code); crosswalk_min_weight: a target
            area counts as treated when its weight is at least this (default: any positive
            weight).
        outcomes: the outcome from the analyst's own table instead of an indicator: a
            frame, a file (CSV, Excel or Parquet) or ``dataset:NAME`` (a warehouse
            dataset), with the columns ``outcomes_unit`` (RegSO codes), ``outcomes_time``
            (years) and ``outcomes_value`` (see :func:`read_outcomes`).

    Raises:
        NotFound: there is no registry (or no warehouse dataset of the name given).
        InputError: the outcome is unknown or the panel cannot support the design: no
            qualifying intervention, no treated RegSO, no year before any start, no never- or
            not-yet-treated RegSO to compare with, or RegSO lacking the outcome in some year;
            the crosswalk key lacks a column, has weights that do not sum to 1, or lacks the
            code of a qualifying intervention's link; the outcomes table has no such
            column, unknown or DeSO codes, values that are not numbers or repeated rows.
    """
    from bryta.datasets import official_area_types
    from bryta.geography.areas import load_regso_key

    scope = tuple(dict.fromkeys(kommuner or ()))
    check_filters(scope, pool_kommuner, forms, prevention_levels, outcome_domains)
    if type_source not in ("official", "proxy"):
        raise InputError(f"--type-source takes official or proxy, not {type_source!r}")
    for t in pool_types or ():
        if t not in (1, 2, 3, 4, 5):
            raise InputError(f"--pool-type takes area types 1–5, not {t}")
    key_of_versions = None
    if crosswalk is not None:
        key_of_versions = read_crosswalk(
            crosswalk,
            source=crosswalk_from,
            target=crosswalk_to,
            weight=crosswalk_weight,
            min_weight=crosswalk_min_weight,
        )
    elif crosswalk_weight is not None or crosswalk_min_weight is not None:
        raise InputError("--crosswalk-weight and --crosswalk-min-weight need --crosswalk FILE")

    # the outcome per RegSO × year, within the scope
    source: dict[str, Any] | None = None
    if outcomes is not None:
        own = read_outcomes(
            ctx, outcomes, unit=outcomes_unit, time=outcomes_time, value=outcomes_value
        )
        outcome, values, source = outcome or own.name, own.values, own.provenance
        where = (
            "the outcomes table" if isinstance(outcomes, pl.DataFrame) else f"--outcomes {outcomes}"
        )
    else:
        for option, given in (
            ("--outcomes-unit", outcomes_unit != "regso"),
            ("--outcomes-time", outcomes_time != "year"),
            ("--outcomes-value", outcomes_value is not None),
        ):
            if given:
                raise InputError(f"{option} needs --outcomes FILE (the table it names a column of)")
        if outcome is None:
            raise InputError(
                "give --outcome INDICATOR (an indicator per RegSO) or --outcomes FILE (your own "
                "table of the outcome per RegSO and year)"
            )
        table = regso_outcomes(ctx)
        values = table.filter(indicator=outcome)
        if values.is_empty():
            known = ", ".join(sorted(table.get_column("indicator").unique().to_list()))
            raise InputError(
                f"--outcome {outcome}: no indicator of that id at RegSO level; there are {known} "
                "(load more with bryta indicators load ID --level regso, or give your own table "
                "with --outcomes FILE)"
            )
        where = f"--outcome {outcome}"
    values = values.with_columns(pl.col("regso").str.slice(0, 4).alias("kommun"))
    if scope:
        values = values.filter(pl.col("kommun").is_in(list(scope)))
        if values.is_empty():
            raise InputError(f"{where}: no values in {_scope_text(scope)}")
    years = sorted(values.get_column("year").unique().to_list())
    first, last = years[0], years[-1]
    units = values.select("regso", "kommun").unique().sort("regso")
    suffix = _version_suffix(units.get_column("regso"))

    # the interventions and the RegSO they treat
    _, frame, links = _records(ctx, scope)
    checked = qualify(
        frame,
        forms=forms,
        prevention_levels=prevention_levels,
        outcome_domains=outcome_domains,
        min_months=min_months,
        organisations=organisations,
    )
    checked = select_interventions(frame, checked, intervention_keys, scope)
    qualifying = checked.filter(pl.col("reason").is_null())
    key = load_regso_key().select("deso", "regso")
    if suffix:  # the bundled key is DeSO 2018 → RegSO 2020
        key = key.clear()
    mapped = below = 0
    if key_of_versions is not None:
        links, mapped, below = key_of_versions.map_links(
            links, checked, suffix, units.get_column("kommun").unique().to_list()
        )
    treated = link_regso(
        links.join(qualifying.select("id"), on="id", how="semi"),
        key,
        units,
        kommun_links=kommun_links,
    )
    checked = _why_unlinked(checked, treated, links, units, suffix)
    n_regso = treated.group_by("id").agg(pl.col("regso").n_unique().alias("n_regso"))
    report_rows = (
        checked.join(n_regso, on="id", how="left")
        .with_columns(pl.col("n_regso").fill_null(0))
        .select("id", "key", "title", "start_year", "months", "reason", "n_regso")
    )
    filters = _filters_text(
        forms,
        prevention_levels,
        outcome_domains,
        min_months,
        organisations,
        kommun_links,
        intervention_keys,
    )
    if frame.is_empty():
        raise InputError(
            f"the registry holds no published intervention in {_scope_text(scope)}: add the "
            "real programmes with `bryta registry add-programmes` or import your own"
        )
    if qualifying.is_empty():
        raise InputError(
            f"no intervention qualifies{filters}: {frame.height} seen in "
            f"{_scope_text(scope)}, left out for {_reasons_text(checked)}; loosen the filters"
        )
    if treated.is_empty():
        hint = (
            f"; {KOMMUN_LINKS_HINT}"
            if report_rows.filter(reason=KOMMUN_LINKS_REASON).height
            else ""
        )
        if report_rows.filter(reason=OTHER_VERSION_REASON).height:
            hint += f"; {OTHER_VERSION_HINT}"
        raise InputError(
            f"no RegSO is treated: of the {qualifying.height} qualifying intervention(s)"
            f"{filters} in {_scope_text(scope)}, {_reasons_text(checked, only_unlinked=True)}"
            f"{hint}"
        )
    cohorts = assign_cohorts(qualifying, treated)

    # the panel: units × years with their cohort and types
    panel = units.join(cohorts.select("regso", "cohort"), on="regso", how="left").with_columns(
        pl.col("cohort").fill_null(0)
    )
    before = panel.filter((pl.col("cohort") > 0) & (pl.col("cohort") <= first))
    after = panel.filter(pl.col("cohort") > last)
    if before.height and before.height == panel.filter(pl.col("cohort") > 0).height:
        by_cohort = ", ".join(
            f"{g}: {n}" for g, n in before.group_by("cohort").len().sort("cohort").rows()
        )
        raise InputError(
            f"too few pre-periods: every treated RegSO starts in {first} (the first year of "
            f"{outcome}) or earlier (cohorts {by_cohort}), so none has a year before its "
            f"start; load a longer series (bryta indicators load) or filter to later "
            f"interventions (--form, --min-months …)"
        )
    panel = panel.filter(~pl.col("regso").is_in(before.get_column("regso").implode()))
    panel = panel.with_columns(
        pl.when(pl.col("cohort") > last).then(0).otherwise(pl.col("cohort")).alias("cohort")
    )
    official = official_area_types().select(
        "regso", pl.col("area_type").cast(pl.Int64).alias("official_type")
    )
    panel = panel.join(official, on="regso", how="left")

    # the comparison pool
    rule_parts = []
    keep_never = pl.lit(True)
    if pool_types:
        if type_source == "official":
            column = pl.col("official_type")
        else:
            base = _proxy_types().filter(pl.col("year") >= first).sort("year")
            base = base.group_by("regso", maintain_order=True).agg(
                pl.col("proxy_type").first().alias("_base_type")
            )
            panel = panel.join(base, on="regso", how="left")
            column = pl.col("_base_type")
        keep_never = keep_never & column.is_in(list(pool_types)).fill_null(False)
        rule_parts.append(
            f"area types {','.join(map(str, pool_types))} "
            + ("(official 2022)" if type_source == "official" else f"(proxy, {first})")
        )
    if pool_kommuner:
        keep_never = keep_never & pl.col("kommun").is_in(list(pool_kommuner))
        rule_parts.append(f"kommun {', '.join(pool_kommuner)}")
    never = pl.col("cohort") == 0
    left_out_pool = panel.filter(never & ~keep_never).height
    panel = panel.filter(~never | keep_never).drop("_base_type", strict=False)

    # balanced: every RegSO has the outcome in every year
    grid = panel.join(pl.DataFrame({"year": years}, schema={"year": pl.Int64}), how="cross")
    grid = grid.join(values.select("regso", "year", "value"), on=["regso", "year"], how="left")
    gaps = grid.filter(pl.col("value").is_null() | ~pl.col("value").is_finite().fill_null(False))
    incomplete: tuple[str, ...] = ()
    if gaps.height:
        lacking = gaps.get_column("regso").unique().sort().to_list()
        if not drop_incomplete:
            raise InputError(
                f"the panel is unbalanced: {len(lacking)} RegSO lack {outcome} in some of the "
                f"years {first}–{last}: {_listed(lacking)}; --drop-incomplete leaves them "
                "out, or choose another --outcome"
            )
        incomplete = tuple(lacking)
        grid = grid.filter(~pl.col("regso").is_in(lacking))
        panel = panel.filter(~pl.col("regso").is_in(lacking))

    treated_units = panel.filter(pl.col("cohort") > 0)
    n_never = panel.filter(pl.col("cohort") == 0).height
    if treated_units.is_empty():
        raise InputError(
            f"no treated RegSO is left in the panel{filters} (they start before {first} "
            "or lack the outcome)"
        )
    pool_text = f" ({'; '.join(rule_parts)})" if rule_parts else ""
    if n_never == 0 and (control == "never" or treated_units["cohort"].n_unique() < 2):
        fixes = []
        if control == "never" and treated_units["cohort"].n_unique() > 1:
            fixes.append("--control notyet compares with RegSO treated later")
        fixes.append("widen the pool (--all, --pool-type, --pool-kommun)")
        if kommun_links:
            fixes.append("drop --kommun-links (it treats every RegSO of a linked kommun)")
        raise InputError(
            f"no never- or not-yet-treated RegSO to compare with: all {panel.height} RegSO "
            f"of the panel{pool_text} are treated; {', or '.join(fixes)}"
        )
    proxy = _proxy_types()
    out = (
        grid.rename({"value": "outcome"})
        .join(proxy, on=["regso", "year"], how="left")
        .select(
            "regso",
            "kommun",
            "year",
            "outcome",
            pl.col("cohort").cast(pl.Int64),
            "official_type",
            "proxy_type",
        )
        .sort("regso", "year")
    )
    in_panel = set(out.get_column("regso").unique().to_list())
    counted = (
        treated.filter(pl.col("regso").is_in(list(in_panel)))
        .group_by("id")
        .agg(pl.col("regso").n_unique().alias("n_regso"))
    )
    dropped_before = before.get_column("regso").implode()
    why_not = (
        treated.with_columns(pl.col("regso").is_in(dropped_before).alias("_before"))
        .group_by("id")
        .agg(pl.col("_before").any())
    )
    report_rows = (
        report_rows.drop("n_regso")
        .join(counted, on="id", how="left")
        .join(why_not, on="id", how="left")
        .with_columns(pl.col("n_regso").fill_null(0))
        .with_columns(
            pl.when(pl.col("reason").is_null() & (pl.col("n_regso") == 0))
            .then(
                pl.when(pl.col("_before").fill_null(False))
                .then(pl.lit(BEFORE_DATA_REASON))
                .otherwise(pl.lit(INCOMPLETE_REASON))
            )
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
        .drop("_before")
    )
    notes = []
    if suffix:
        notes.append(f"the outcome's codes are of the {suffix.lstrip('_')} division")
    report = PanelReport(
        outcome=outcome,
        years=(first, last),
        scope=scope,
        n_units=len(in_panel),
        interventions=report_rows,
        treated=treated_units.group_by("cohort").len("n_units").sort("cohort"),
        before_data=tuple(before.get_column("regso").to_list()),
        after_data=tuple(after.get_column("regso").to_list()),
        pool=n_never,
        pool_left_out=left_out_pool,
        pool_rule="; ".join(rule_parts),
        incomplete=incomplete,
        control=control,
        notes=tuple(notes),
        crosswalk=key_of_versions.name if key_of_versions is not None else "",
        crosswalked=mapped,
        crosswalk_below=below,
        crosswalk_rule=key_of_versions.rule if key_of_versions is not None else "",
        outcome_source=source,
    )
    treated_by = (
        treated.filter(pl.col("regso").is_in(list(in_panel)))
        .select(pl.col("id").cast(pl.Int64), pl.col("regso").cast(pl.String))
        .unique(maintain_order=True)
        .sort("id", "regso")
    )
    return Panel(out, report, treated_by=treated_by)


def check_filters(
    scope: Sequence[str],
    pool_kommuner: Sequence[str] | None,
    forms: Sequence[str] | None,
    prevention_levels: Sequence[str] | None,
    outcome_domains: Sequence[str] | None,
) -> None:
    """Refuse unknown kommun codes and filter values, naming the option."""
    from bryta.geography.areas import kommun_names
    from bryta.vocabulary import Form, OutcomeDomain, PreventionLevel

    names = kommun_names()
    for code in (*scope, *(pool_kommuner or ())):
        if code not in names:
            raise InputError(f"--kommun {code}: not a kommun code (four digits, e.g. 1280)")
    for option, given, allowed in (
        ("--form", forms, Form),
        ("--prevention", prevention_levels, PreventionLevel),
        ("--domain", outcome_domains, OutcomeDomain),
    ):
        for value in given or ():
            if value not in {str(v) for v in allowed}:
                raise InputError(
                    f"{option} {value}: not one of {', '.join(str(v) for v in allowed)}"
                )


def select_interventions(
    frame: pl.DataFrame,
    checked: pl.DataFrame,
    intervention_keys: Sequence[str] | None,
    scope: Sequence[str],
) -> pl.DataFrame:
    """``checked`` with the interventions not among ``intervention_keys`` left out (reason
    :data:`NOT_SELECTED_REASON`); an unknown key is an error."""
    if not intervention_keys:
        return checked
    selected = list(dict.fromkeys(intervention_keys))
    unknown = [k for k in selected if k not in set(frame.get_column("key").to_list())]
    if unknown:
        raise InputError(
            f"--intervention {unknown[0]}: no published intervention with that key in "
            f"{_scope_text(scope)} (bryta registry list shows the keys)"
        )
    return checked.with_columns(
        pl.when(~pl.col("key").is_in(selected))
        .then(pl.lit(f"{NOT_SELECTED_REASON} {','.join(selected)}"))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )


def _why_unlinked(
    checked: pl.DataFrame,
    treated: pl.DataFrame,
    links: pl.DataFrame,
    units: pl.DataFrame,
    suffix: str,
) -> pl.DataFrame:
    """The reason of qualifying interventions that treat no RegSO of the panel."""
    linked = treated.get_column("id").unique().implode()
    scope_kommuner = units.get_column("kommun").unique().implode()
    kommun_only = (
        links.filter((pl.col("level") == "kommun") & pl.col("area_code").is_in(scope_kommuner))
        .get_column("id")
        .unique()
        .implode()
    )
    other_version = (
        links.filter(
            pl.col("level").is_in(["regso", "deso"])
            & (pl.col("area_code").str.extract(r"(_[A-Za-z]+\d{4})$").fill_null("") != suffix)
            & pl.col("area_code").str.slice(0, 4).is_in(scope_kommuner)
        )
        .get_column("id")
        .unique()
        .implode()
    )
    unlinked = pl.col("reason").is_null() & ~pl.col("id").is_in(linked)
    return checked.with_columns(
        pl.when(unlinked & pl.col("id").is_in(other_version))
        .then(pl.lit(OTHER_VERSION_REASON))
        .when(unlinked & pl.col("id").is_in(kommun_only))
        .then(pl.lit(KOMMUN_LINKS_REASON))
        .when(unlinked)
        .then(pl.lit(NO_AREA_REASON))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )


def _version_suffix(codes: pl.Series) -> str:
    """``_RegSO2025`` when the outcome's codes are of the 2025 division, else ``""``."""
    found = codes.str.extract(r"(_RegSO\d{4})$").drop_nulls().unique().to_list()
    return found[0] if found else ""


def _scope_text(scope: Sequence[str]) -> str:
    if not scope:
        return "all of Sweden"
    from bryta.geography.areas import kommun_names

    names = kommun_names()
    return "kommun " + ", ".join(f"{c} ({names.get(c, '?')})" for c in scope)


def _reasons_text(checked: pl.DataFrame, *, only_unlinked: bool = False) -> str:
    linked_reasons = [KOMMUN_LINKS_REASON, NO_AREA_REASON, OTHER_VERSION_REASON]
    rows = checked.filter(pl.col("reason").is_not_null())
    if only_unlinked:
        rows = rows.filter(pl.col("reason").is_in(linked_reasons))
    counts = rows.group_by("reason").len().sort(["len", "reason"], descending=True)
    return "; ".join(f"{reason}: {n}" for reason, n in counts.rows()) or "none"


def _filters_text(
    forms: Sequence[str] | None,
    prevention_levels: Sequence[str] | None,
    outcome_domains: Sequence[str] | None,
    min_months: float | None,
    organisations: Sequence[str] | None,
    kommun_links: bool,
    intervention_keys: Sequence[str] | None = None,
) -> str:
    parts = []
    for option, value in (
        ("--intervention", intervention_keys),
        ("--form", forms),
        ("--prevention", prevention_levels),
        ("--domain", outcome_domains),
        ("--organisation", organisations),
    ):
        if value:
            parts.append(f"{option} {','.join(value)}")
    if min_months is not None:
        parts.append(f"--min-months {min_months:g}")
    if kommun_links:
        parts.append("--kommun-links")
    return f" ({' '.join(parts)})" if parts else ""


def _listed(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:_MAX_LISTED])
    return shown + (f" and {len(codes) - _MAX_LISTED} more" if len(codes) > _MAX_LISTED else "")


# --- running the design and writing the results ---------------------------------------------


@dataclass(frozen=True)
class RegistryEvaluation:
    """What :func:`evaluate_registry` did: the panel, the estimates, the placebo checks (None
    with ``placebos=0``), the pre-trend flag, the summary written beside the table and the
    files written; ``notes``: what the caller should know (a figure not written)."""

    panel: Panel
    result: DidResult
    files: list[Path]
    placebo: PlaceboResult | None = None
    pre_trend: bool | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    per_intervention: tuple[InterventionRun, ...] = ()

    @property
    def mde(self) -> tuple[float | None, str]:
        """The minimum detectable effect of the ``simple`` estimate at 80 % power and its
        basis: from the placebo distribution (``"placebo"``) or, without placebos, 2.80 × the
        analytic standard error (``"analytic"``)."""
        if self.placebo is not None:
            mde = self.placebo.mde
            return (mde if math.isfinite(mde) else None), "placebo"
        from bryta.compute.evaluation.placebo import MDE_FACTOR

        se = _simple(self.result)["se"]
        return (None if se is None or not math.isfinite(se) else MDE_FACTOR * se), "analytic"


@dataclass(frozen=True)
class InterventionRun:
    """One intervention evaluated on its own (:func:`evaluate_registry` with
    ``per_intervention``): its treated RegSO against the never-treated comparison pool, with
    the RegSO treated by the other interventions left out. ``run`` holds its own estimates
    and placebo checks (its ``panel`` is the sub-panel; ``files`` is empty); None when it
    could not be estimated, and ``reason`` says why."""

    id: int
    key: str
    title: str
    n_treated: int
    run: RegistryEvaluation | None
    reason: str = ""

    def row(self) -> dict[str, Any]:
        """The row of the per-intervention table (:data:`INTERVENTION_COLUMNS`)."""
        row: dict[str, Any] = {
            "key": self.key,
            "title": self.title,
            "n_treated": self.n_treated,
            "n_control": None,
            "cohorts": None,
            "estimate": None,
            "se": None,
            "ci_low": None,
            "ci_high": None,
            "mde": None,
            "mde_basis": None,
            "placebo_p": None,
            "pre_trend": None,
            "note": self.reason or None,
        }
        run = self.run
        if run is None:
            return row
        simple = _simple(run.result)
        mde, basis = run.mde
        p = run.placebo.p_value if run.placebo is not None else None
        report = run.panel.report
        row.update(
            {
                "n_control": report.pool,
                "cohorts": ", ".join(f"{g}: {n}" for g, n in report.treated.rows()),
                **{k: simple[k] for k in ("estimate", "se", "ci_low", "ci_high")},
                "mde": mde,
                "mde_basis": basis,
                "placebo_p": p if p is not None and math.isfinite(p) else None,
                "pre_trend": run.pre_trend,
            }
        )
        return row


#: The columns of the per-intervention table (``OUT-stem_interventions``).
INTERVENTION_COLUMNS: dict[str, Any] = {
    "key": pl.String,
    "title": pl.String,
    "n_treated": pl.Int64,
    "n_control": pl.Int64,
    "cohorts": pl.String,
    "estimate": pl.Float64,
    "se": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "mde": pl.Float64,
    "mde_basis": pl.String,
    "placebo_p": pl.Float64,
    "pre_trend": pl.Boolean,
    "note": pl.String,
}


def interventions_path(output: Path) -> Path:
    """The per-intervention table beside ``output``: its stem + ``_interventions``, the same
    format (``did.csv``: ``did_interventions.csv``)."""
    output = Path(output)
    return output.with_name(f"{output.stem}_interventions{output.suffix}")


def interventions_table(runs: Sequence[InterventionRun]) -> pl.DataFrame:
    """One row per intervention (:data:`INTERVENTION_COLUMNS`)."""
    return pl.DataFrame([r.row() for r in runs], schema=INTERVENTION_COLUMNS)


class ResultPaths(NamedTuple):
    """Where :func:`evaluate_registry` writes: the table ``OUT`` and beside it the event
    study (``.html``, ``.svg``, ``.png``) and the summary (``.summary.json``)."""

    table: Path
    html: Path
    svg: Path
    png: Path
    summary: Path


def result_paths(output: Path) -> ResultPaths:
    """The table, and beside it the event study as ``.html``, ``.svg`` and ``.png`` and the
    placebo and power summary as ``.summary.json`` (``did.csv``: ``did.html``, ``did.svg``,
    ``did.png``, ``did.summary.json``)."""
    output = Path(output)
    return ResultPaths(
        output,
        output.with_suffix(".html"),
        output.with_suffix(".svg"),
        output.with_suffix(".png"),
        output.with_suffix(".summary.json"),
    )


def check_outputs(output: Path) -> None:
    """Fail before any work if the table or the files beside it cannot be written."""
    from bryta.app.tables import check_writable

    paths = result_paths(output)
    check_writable(paths.table)
    for path in paths[1:]:
        if path.is_dir():
            raise InputError(f"{path}: is a folder; choose another -o")


#: The rule for the pre-trend flag, in words (the summary file and docs/evaluation.md).
PRE_TREND_RULE = (
    "the placebo in time's simple estimate (each cohort's start pretended earlier, periods "
    "before the real start only) has a 95 % interval that excludes 0"
)
#: How each intervention is evaluated on its own, in words (the summary and the records).
PER_INTERVENTION_RULE = (
    "the RegSO this intervention is linked to (with their cohort: the start of the first "
    "qualifying intervention linked to each) against the same never-treated comparison pool; "
    "the RegSO treated by the other interventions only are left out"
)
#: The placebo p-value, in words.
PLACEBO_P_RULE = (
    "(1 + number of placebo simple estimates at least as far from 0 as the real one) / "
    "(number of placebo draws + 1)"
)


def pre_trend_of(checks: PlaceboResult) -> bool | None:
    """Whether the placebo in time flags a pre-trend (:data:`PRE_TREND_RULE`); None when no
    cohort had enough periods before its start for it, or its interval is not defined."""
    overall = checks.in_time.filter(pl.col("aggregation") == "simple")
    if overall.is_empty():
        return None
    low, high = overall.select("ci_low", "ci_high").row(0)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    return bool(low > 0 or high < 0)


def _estimate(
    panel: Panel,
    design: dict[str, Any],
    *,
    bootstrap: int,
    placebos: int,
    placebo_shift: int,
    seed: int | None,
    progress: Progress | None,
    placebo_progress: Progress | None,
) -> tuple[DidResult, PlaceboResult | None, bool | None]:
    """:func:`bryta.evaluate.did` on ``panel`` and, with ``placebos``, the placebo checks."""
    from bryta.evaluate import did, placebo

    result = did(panel.frame, **design, bootstrap=bootstrap, seed=seed, progress=progress)
    checks = None
    if placebos:
        # the indicator's id in place of the panel's column name, for the sentence
        outcome = panel.report.outcome
        if outcome in panel.frame.columns:
            outcome = panel.outcome
        try:
            checks = placebo(
                panel.frame.rename({panel.outcome: outcome}),
                **{**design, "outcome": outcome},
                draws=placebos,
                seed=seed,
                shift=placebo_shift,
                progress=placebo_progress,
            )
        except InputError as exc:
            text = str(exc).replace("run without --placebos", "--placebos 0 runs without them")
            raise InputError(f"placebos: {text}") from None
    return result, checks, pre_trend_of(checks) if checks is not None else None


def intervention_panel(panel: Panel, id: int) -> Panel:
    """The sub-panel of one intervention: the RegSO it treats (with the panel's cohorts) and
    the never-treated RegSO of the comparison pool; the RegSO treated by the other
    interventions (and by none of this one's links) are left out, so that their effects do
    not enter the comparison."""
    import dataclasses

    own = panel.treated_by.filter(pl.col("id") == id).get_column("regso").implode()
    frame = panel.frame.filter((pl.col(panel.cohort) == 0) | pl.col(panel.unit).is_in(own))
    units = frame.unique(panel.unit)
    treated = units.filter(pl.col(panel.cohort) > 0)
    report = dataclasses.replace(
        panel.report,
        interventions=panel.report.interventions.filter(pl.col("id") == id),
        treated=treated.group_by(panel.cohort)
        .len("n_units")
        .rename({panel.cohort: "cohort"})
        .sort("cohort"),
        n_units=units.height,
        pool=units.height - treated.height,
    )
    return dataclasses.replace(
        panel, frame=frame, report=report, treated_by=panel.treated_by.filter(pl.col("id") == id)
    )


def _per_intervention(
    panel: Panel,
    design: dict[str, Any],
    *,
    bootstrap: int,
    placebos: int,
    placebo_shift: int,
    seed: int | None,
    progress: Progress | None,
) -> tuple[InterventionRun, ...]:
    """Each intervention used, evaluated on its own (:func:`intervention_panel`); an
    intervention the design cannot be run for gets the reason instead of estimates."""
    out = []
    last = panel.report.years[1]
    used = panel.report.used.filter(pl.col("n_regso") > 0)
    for id, key, title in used.select("id", "key", "title").rows():
        sub = intervention_panel(panel, int(id))
        n_treated = int(sub.report.treated.get_column("n_units").sum())
        if n_treated == 0:
            reason = f"no treated RegSO within the data: its RegSO start after {last}"
            out.append(InterventionRun(int(id), key, title, 0, None, reason))
            if progress is not None and placebos:
                progress(placebos)
            continue
        try:
            result, checks, pre_trend = _estimate(
                sub,
                design,
                bootstrap=bootstrap,
                placebos=placebos,
                placebo_shift=placebo_shift,
                seed=seed,
                progress=None,
                placebo_progress=progress,
            )
        except InputError as exc:
            out.append(InterventionRun(int(id), key, title, n_treated, None, str(exc)))
            continue
        run = RegistryEvaluation(sub, result, [], checks, pre_trend)
        out.append(InterventionRun(int(id), key, title, n_treated, run))
    return tuple(out)


def evaluate_registry(
    ctx: Context,
    output: Path,
    *,
    method: Literal["reg", "ipw", "dr"] = "dr",
    bootstrap: int = 0,
    placebos: int = 200,
    placebo_shift: int = 1,
    seed: int | None = None,
    progress: Progress | None = None,
    placebo_progress: Progress | None = None,
    per_intervention: bool = False,
    intervention_progress: Progress | None = None,
    **panel_options: Any,
) -> RegistryEvaluation:
    """Build the panel (:func:`build_panel`, ``panel_options``), run
    :func:`bryta.evaluate.did` on it and, with ``placebos`` > 0, :func:`bryta.evaluate.placebo`
    (``placebos`` draws; placebo in time ``placebo_shift`` periods early; the same control and
    method), and write the long table to ``output`` (``.csv``, ``.xlsx``, ``.parquet`` or
    ``.json``, the columns of ``bryta evaluate did``) with, beside it (:func:`result_paths`),
    the event study as ``.html`` (interactive, offline), ``.svg`` and ``.png`` (rendered from
    that SVG; left out with a note when the renderer is missing) and the summary of the
    placebo checks and the power as ``.summary.json``.

    ``seed`` seeds the bootstrap and the placebo draws; when it is None and there is random
    work to do, a seed is drawn and reported (the summary's ``seed``), so that any run can be
    repeated. ``progress`` is called per bootstrap block, ``placebo_progress`` per block of
    placebo draws (total ``placebos``). Everything is computed before anything is written;
    each file is written whole.

    With ``per_intervention``, each intervention used is also evaluated on its own
    (:func:`intervention_panel`: its treated RegSO against the same never-treated pool, the
    other interventions' RegSO left out), with its own placebo checks (the same draws, seed
    and shift), and the table of one row per intervention is written beside ``output``
    (:func:`interventions_path`); an intervention the design cannot be run for gets a row
    saying why. ``intervention_progress`` is called per block of its placebo draws (total
    ``placebos`` per intervention used).

    Raises:
        InputError: what :func:`build_panel` and :func:`bryta.evaluate.did` refuse, and a
            panel the placebos cannot be drawn in (too few never-treated RegSO:
            ``placebos=0`` runs without them).
    """
    import dataclasses
    import json

    from bryta.app.svg import png_or_note
    from bryta.app.tables import check_writable, write_content, write_table

    if placebos < 0:
        raise InputError(f"--placebos takes a number of draws (0: none), not {placebos}")
    if placebo_shift < 1:
        raise InputError(f"--placebo-shift takes 1 period or more, not {placebo_shift}")
    check_outputs(output)
    if per_intervention:
        check_writable(interventions_path(output))
    panel = build_panel(ctx, **panel_options)
    if seed is None and (bootstrap or placebos):
        import secrets

        seed = secrets.randbelow(2**31)
    design: dict[str, Any] = {
        "unit": panel.unit,
        "time": panel.time,
        "outcome": panel.outcome,
        "cohort": panel.cohort,
        "control": panel.report.control,
        "method": method,
    }
    result, checks, pre_trend = _estimate(
        panel,
        design,
        bootstrap=bootstrap,
        placebos=placebos,
        placebo_shift=placebo_shift,
        seed=seed,
        progress=progress,
        placebo_progress=placebo_progress,
    )
    each: tuple[InterventionRun, ...] = ()
    if per_intervention:
        each = _per_intervention(
            panel,
            design,
            bootstrap=bootstrap,
            placebos=placebos,
            placebo_shift=placebo_shift,
            seed=seed,
            progress=intervention_progress,
        )
    paths = result_paths(output)
    title = _plot_title(panel.report, result)
    subtitle = _plot_subtitle(panel.report, result)
    twfe = result.twfe_event_study  # drawn in grey beside the estimates, for comparison
    svg = event_study_svg(result, title, subtitle, twfe=twfe)
    html = event_study_html(result, f"{title}<br><sub>{escape(subtitle)}</sub>", twfe=twfe)
    png, png_note = png_or_note(svg, paths.png)
    run = RegistryEvaluation(
        panel,
        result,
        [],
        checks,
        pre_trend,
        notes=(png_note,) if png_note else (),
        per_intervention=each,
    )
    summary = _run_summary(run, seed=seed)
    summary_text = json.dumps(_json_ready(summary), ensure_ascii=False, indent=2) + "\n"
    texts = [(paths.html, html), (paths.svg, svg), (paths.summary, summary_text)]
    write_table(result.estimates, paths.table)
    for path, text in texts:
        write_content(path, text)
    files = [paths.table, *(p for p, _ in texts)]
    if png is not None:
        write_content(paths.png, png)
        files.insert(3, paths.png)
    if per_intervention:
        write_table(interventions_table(each), interventions_path(output))
        files.append(interventions_path(output))
    return dataclasses.replace(run, files=files, summary=summary)


def _simple(result: DidResult) -> dict[str, Any]:
    """The overall ``simple`` row of ``result``."""
    row: dict[str, Any] = result.overall.filter(pl.col("aggregation") == "simple").row(
        0, named=True
    )
    return row


def _run_summary(run: RegistryEvaluation, *, seed: int | None) -> dict[str, Any]:
    """What the ``.summary.json`` file holds (docs/evaluation.md, "From the registry")."""
    report, result, checks = run.panel.report, run.result, run.placebo
    simple = _simple(result)
    mde, basis = run.mde
    in_time = None
    if checks is not None:
        rows = checks.in_time.filter(pl.col("aggregation") == "simple")
        if rows.height:
            in_time = {
                key: rows.row(0, named=True)[key] for key in ("estimate", "se", "ci_low", "ci_high")
            }
    from bryta.compute.evaluation.placebo import MDE_FACTOR

    se = simple["se"]
    return {
        "outcome": report.outcome,
        "scope": list(report.scope),
        "years": list(report.years),
        "n_units": result.n_units,
        "treated_by_cohort": {str(g): n for g, n in report.treated.rows()},
        "n_treated": int(report.treated.get_column("n_units").sum()),
        "n_never_treated": report.pool,
        "control": result.control,
        "method": result.method,
        "seed": seed,
        "simple": {key: simple[key] for key in ("estimate", "se", "ci_low", "ci_high")},
        "placebos": checks.n_draws if checks is not None else 0,
        "placebo_p": checks.p_value if checks is not None else None,
        "placebo_p_rule": PLACEBO_P_RULE,
        "mde": mde,
        "mde_basis": basis,
        "mde_version": checks.mde_basis if checks is not None else None,
        "mde_analytic": MDE_FACTOR * se if se is not None and math.isfinite(se) else None,
        "placebo_shift": checks.shift if checks is not None else None,
        "placebo_in_time": in_time,
        "pre_trend": run.pre_trend,
        "pre_trend_rule": PRE_TREND_RULE,
        "sentence": checks.sentence if checks is not None else None,
        "in_space": checks.in_space.to_dicts() if checks is not None else [],
        "placebo_treated": (
            {str(g): n for g, n in checks.placebo_treated.items()} if checks is not None else {}
        ),
        "notes": [*result.warnings, *(checks.warnings if checks is not None else ()), *run.notes],
        "per_intervention": [r.row() for r in run.per_intervention],
        "per_intervention_rule": PER_INTERVENTION_RULE if run.per_intervention else None,
    }


def _json_ready(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


# --- results back into the registry ------------------------------------------------------------

#: Without a target in the registry, the smallest meaningful effect is this many standard
#: deviations of the outcome across the panel's RegSO in its first year (Cohen's "small").
MEANINGFUL_SD = 0.2


@dataclass(frozen=True)
class RecordedEvaluation:
    """One evaluation record written by :func:`record_evaluations`."""

    key: str
    title: str
    record: Any  # bryta.registry.evaluations.EvaluationRecord


def _provenance(ctx: Context, outcome: str, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where the outcome came from: the analyst's own table (``source``, from
    :func:`read_outcomes`: the file and its checksum, or the warehouse dataset) when given;
    else the warehouse dataset (name, checksum, when stored) when it was loaded with
    ``bryta indicators load``, else ``"bundled"``; and bryta's version."""
    from bryta import __version__

    if source is not None:
        return {"datasets": [{"outcome": outcome, **source}], "bryta": __version__}
    name = f"indicator_{outcome}"
    datasets: Any = "bundled"
    with ctx.warehouse(read_only=True) as warehouse:
        rows = [r for r in warehouse.catalogue() if r.get("name") == name]
    if rows:
        datasets = [{key: rows[0].get(key) for key in ("name", "sha256", "source", "stored_at")}]
    return {"datasets": datasets, "bryta": __version__}


def _intended(record: InterventionRecord, outcome: str) -> tuple[int | None, float | None]:
    """(direction, meaningful effect) from the intervention's indicator link to ``outcome``:
    the sign and size of target − baseline; (None, None) without both."""
    for link in record.indicator_links:
        if link.indicator_id == outcome and link.baseline is not None and link.target is not None:
            change = link.target - link.baseline
            if change != 0:
                return (1 if change > 0 else -1), abs(change)
    return None, None


def meaningful_fallback(first_year: pl.Series) -> float | None:
    """The smallest meaningful effect when an intervention's indicator link gives none:
    :data:`MEANINGFUL_SD` standard deviations of the outcome across the RegSO in the panel's
    first year (``first_year``); None when that SD is not a number."""
    sd = first_year.std()
    return MEANINGFUL_SD * float(sd) if isinstance(sd, float) and math.isfinite(sd) else None


def add_intervention_records(
    service: Any,
    report: Any,
    provenance: dict[str, Any],
    fallback: float | None,
    *,
    direction: int | None,
    **fields: Any,
) -> list[RecordedEvaluation]:
    """One evaluation record (``fields`` of :class:`~bryta.registry.evaluations.
    EvaluationRecord`, the same for all) for every intervention of the panel ``report`` that
    treats RegSO, each with its intended direction (``direction``, else the sign of its
    indicator link to the outcome) and smallest meaningful effect (the link's, else
    ``fallback``), written through ``service``."""
    from bryta.registry.evaluations import EvaluationRecord

    out = []
    used = report.used.filter(pl.col("n_regso") > 0)
    for id, key, title in used.select("id", "key", "title").rows():
        intended, meaningful = _intended(service.get(int(id)), report.outcome)
        record = EvaluationRecord(
            outcome=report.outcome,
            first_year=report.years[0],
            last_year=report.years[1],
            direction=direction if direction is not None else intended,
            meaningful=meaningful if meaningful is not None else fallback,
            provenance={
                **provenance,
                "meaningful_basis": (
                    "indicator link" if meaningful is not None else f"{MEANINGFUL_SD} SD"
                ),
            },
            **fields,
        )
        out.append(RecordedEvaluation(key, title, service.add_evaluation(int(id), record)))
    return out


def record_evaluations(
    ctx: Context, run: RegistryEvaluation, *, direction: int | None = None
) -> list[RecordedEvaluation]:
    """Write the overall ``simple`` estimate of ``run`` as an evaluation record of every
    intervention that treats RegSO of the panel (as the system, audited, in one transaction:
    every record or none), with the evidence level of
    :func:`bryta.registry.evaluations.evidence_level`. With ``run.per_intervention`` (from
    :func:`evaluate_registry` with ``per_intervention``) each intervention gets its own
    estimate instead of the pooled one (provenance ``estimate_of: "intervention"``), and an
    intervention that could not be estimated gets no record.

    With the placebo checks (``run.placebo``, the default of :func:`evaluate_registry`) the
    record holds the placebo p-value of the ``simple`` estimate, the pre-trend flag of the
    placebo in time (:func:`pre_trend_of`) and the MDE from the placebo distribution
    (provenance ``mde_basis: "placebo"``), so it can reach ``effective``. Without them
    (``placebos=0``) the placebo p-value and the pre-trend flag are empty and the MDE is the
    analytic one, 2.80 × the standard error (``mde_basis: "analytic"``): such a record is
    ``promising`` at best. The intended direction is ``direction`` (+1 raise, −1 lower) when
    given, else the sign of target − baseline of the intervention's indicator link to the
    outcome; the smallest meaningful effect is |target − baseline| from that link, else
    :data:`MEANINGFUL_SD` standard deviations of the outcome across the panel's RegSO in its
    first year.
    """
    from bryta.registry import db
    from bryta.registry.service import SYSTEM, RegistryService

    report = run.panel.report
    first = run.panel.frame.filter(pl.col(run.panel.time) == report.years[0])
    fallback = meaningful_fallback(first.get_column(run.panel.outcome))
    provenance = _provenance(ctx, report.outcome, report.outcome_source)
    if run.per_intervention:
        runs = [(r.run, "intervention") for r in run.per_intervention if r.run is not None]
    else:
        runs = [(run, "pooled")]
    engine = ctx.registry_engine()
    db.require_schema(engine)
    out = []
    with db.session(engine) as session:  # one transaction: every record, or none
        service = RegistryService(engine, SYSTEM, session=session)
        for one, estimate_of in runs:
            out += _add_did_records(
                service, one, provenance, fallback, direction=direction, estimate_of=estimate_of
            )
    return out


def _add_did_records(
    service: Any,
    run: RegistryEvaluation,
    provenance: dict[str, Any],
    fallback: float | None,
    *,
    direction: int | None,
    estimate_of: str,
) -> list[RecordedEvaluation]:
    """The records of ``run``'s ``simple`` estimate for every intervention of its panel."""
    from bryta.registry.evaluations import Design

    report = run.panel.report
    simple = _simple(run.result)
    mde, mde_basis = run.mde
    checks = run.placebo
    placebo_p = checks.p_value if checks is not None else None
    if placebo_p is not None and not math.isfinite(placebo_p):
        placebo_p = None
    provenance = {
        **provenance,
        "panel": {
            "scope": list(report.scope),
            "control": report.control,
            "method": run.result.method,
            "n_units": run.result.n_units,
        },
        "mde_basis": mde_basis,
        "estimate_of": estimate_of,
    }
    if estimate_of == "intervention":
        provenance["estimate_rule"] = PER_INTERVENTION_RULE
    if checks is not None:
        provenance["placebo"] = {
            "draws": checks.n_draws,
            "seed": checks.seed,
            "shift": checks.shift,
            "mde_version": checks.mde_basis,
            "pre_trend_rule": PRE_TREND_RULE,
        }
    return add_intervention_records(
        service,
        report,
        provenance,
        fallback,
        direction=direction,
        design=Design.DID,
        aggregation="simple",
        estimate=float(simple["estimate"]),
        se=simple["se"],
        ci_low=simple["ci_low"],
        ci_high=simple["ci_high"],
        mde=mde,
        placebo_p=placebo_p,
        pre_trend=run.pre_trend,
        n_treated=int(report.treated.get_column("n_units").sum()),
        n_control=report.pool,
    )


def evaluations_of(ctx: Context, key: str) -> list[dict[str, Any]]:
    """The evaluation records of the published intervention ``key``, as the public sees them
    (JSON-ready: enums as text, dates ISO); :class:`NotFound` for an unknown or unpublished
    key, or when there is no registry."""
    import dataclasses

    from bryta.app.registry import has_registry

    if not has_registry(ctx):
        raise NotFound(f"no intervention with key {key!r}")
    service = ctx.registry(None)
    rows = []
    for record in service.evaluations(service.id_of(key)):
        row = dataclasses.asdict(record)
        row["design"] = str(record.design)
        row["evidence_level"] = str(record.evidence_level)
        row["created_at"] = record.created_at.isoformat() if record.created_at else None
        del row["intervention_id"]
        rows.append(row)
    return rows


def _plot_title(report: PanelReport, result: DidResult) -> str:
    return f"{report.outcome}, {_scope_text(report.scope)}: event study"


def _plot_subtitle(report: PanelReport, result: DidResult) -> str:
    cohorts = ", ".join(f"{g}: {n}" for g, n in report.treated.rows())
    level = round(100 * (1 - result.alpha))
    return (
        f"treated RegSO by cohort {cohorts}; {report.pool} never treated; control "
        f"{result.control}; {level} % {result.band} intervals"
    )


def _event_rows(result: DidResult) -> list[tuple[int, float, float | None, float | None]]:
    rows = result.aggregate("dynamic").filter(pl.col("event_time").is_not_null())
    return [
        (int(e), float(est), lo, hi)
        for e, est, lo, hi in rows.select("event_time", "estimate", "ci_low", "ci_high").rows()
        if est is not None and math.isfinite(est)
    ]


_SVG_W, _SVG_H = 680, 380
_SVG_LEFT, _SVG_RIGHT, _SVG_TOP, _SVG_BOTTOM = 70, 20, 50, 300
_PRE, _POST = "#7f7f7f", "#00204d"  # before the start in grey, after in cividis' dark end
_TWFE = "#a6a6a6"  # the TWFE event study beside them: light grey, open squares
_TWFE_LEGEND = (
    "TWFE event study, shown for comparison: biased under staggered adoption when effects differ"
)


def _twfe_rows(twfe: TwfeEventStudy | None) -> list[tuple[int, float, float | None, float | None]]:
    if twfe is None:
        return []
    return [
        (int(e), float(est), lo, hi)
        for e, est, lo, hi in twfe.estimates.select(
            "event_time", "estimate", "ci_low", "ci_high"
        ).rows()
        if est is not None and math.isfinite(est)
    ]


def event_study_svg(
    result: DidResult,
    title: str = "",
    subtitle: str = "",
    twfe: TwfeEventStudy | None = None,
) -> str:
    """A plain SVG of the event study: the estimate per year since the start (0 = the start
    year) with its interval as a bar, grey before the start, dark from it. With ``twfe``
    (:attr:`DidResult.twfe_event_study`) the two-way fixed effects event study is drawn
    beside each estimate in light grey (open squares), with a legend line saying it is
    there for comparison only."""
    from bryta.app.svg import tick_label, value_axis

    rows = _event_rows(result)
    extra = _twfe_rows(twfe)
    shift = 7.0 if extra else 0.0  # side by side when both are drawn
    level = round(100 * (1 - result.alpha))
    band = "uniform" if result.band == "uniform" else "pointwise"
    desc = (
        f"Effect by years since the start, {level} % {band} intervals; before the start "
        "(grey) it should be near 0."
    )
    parts: list[str] = []
    if rows:
        events = [r[0] for r in rows + extra]
        e0, e1 = min(events), max(events)
        values = [0.0] + [
            v for r in rows + extra for v in r[1:] if v is not None and math.isfinite(v)
        ]
        width = _SVG_W - _SVG_LEFT - _SVG_RIGHT

        def x(e: float) -> float:
            return _SVG_LEFT + (e - e0 + 0.5) / (e1 - e0 + 1) * width

        axis, y = value_axis(
            _SVG_LEFT, _SVG_W - _SVG_RIGHT, _SVG_TOP, _SVG_BOTTOM, min(values), max(values)
        )
        parts += axis
        parts.append(
            f'<line x1="{_SVG_LEFT}" x2="{_SVG_W - _SVG_RIGHT}" y1="{y(0):.1f}" '
            f'y2="{y(0):.1f}" stroke="#444"/>'
        )
        start = x(-0.5)
        parts.append(
            f'<line x1="{start:.1f}" x2="{start:.1f}" y1="{_SVG_TOP}" y2="{_SVG_BOTTOM}" '
            'stroke="#444" stroke-dasharray="4 3"/>'
        )
        for e, est, ci_lo, ci_hi in extra:
            xe = x(e) + shift
            if ci_lo is not None and ci_hi is not None and math.isfinite(ci_lo + ci_hi):
                parts.append(
                    f'<line x1="{xe:.1f}" x2="{xe:.1f}" y1="{y(ci_lo):.1f}" '
                    f'y2="{y(ci_hi):.1f}" stroke="{_TWFE}" stroke-width="2"/>'
                )
            parts.append(
                f'<rect x="{xe - 3.5:.1f}" y="{y(est) - 3.5:.1f}" width="7" height="7" '
                f'fill="white" stroke="{_TWFE}" stroke-width="1.5">'
                f"<title>TWFE {e}: {est:.4g}</title></rect>"
            )
        labelled = set()
        for e, est, ci_lo, ci_hi in rows:
            colour = _PRE if e < 0 else _POST
            xe = x(e) - shift
            if ci_lo is not None and ci_hi is not None and math.isfinite(ci_lo + ci_hi):
                parts.append(
                    f'<line x1="{xe:.1f}" x2="{xe:.1f}" y1="{y(ci_lo):.1f}" '
                    f'y2="{y(ci_hi):.1f}" stroke="{colour}" stroke-width="2"/>'
                )
            parts.append(
                f'<circle cx="{xe:.1f}" cy="{y(est):.1f}" r="4" fill="{colour}">'
                f"<title>{e}: {est:.4g} [{tick_label(ci_lo) if ci_lo is not None else ''}, "
                f"{tick_label(ci_hi) if ci_hi is not None else ''}]</title></circle>"
                f'<text x="{x(e):.1f}" y="{_SVG_BOTTOM + 18}" text-anchor="middle">{e}</text>'
            )
            labelled.add(e)
        for e in sorted({r[0] for r in extra} - labelled):
            parts.append(
                f'<text x="{x(e):.1f}" y="{_SVG_BOTTOM + 18}" text-anchor="middle">{e}</text>'
            )
        if extra:
            parts.append(
                f'<rect x="{_SVG_LEFT:.1f}" y="{_SVG_BOTTOM + 47:.1f}" width="7" height="7" '
                f'fill="white" stroke="{_TWFE}" stroke-width="1.5"/>'
                f'<text x="{_SVG_LEFT + 12}" y="{_SVG_BOTTOM + 54}" fill="#444">'
                f"{escape(_TWFE_LEGEND)}</text>"
            )
        parts.append(
            f'<text x="{_SVG_LEFT + width / 2:.1f}" y="{_SVG_BOTTOM + 38}" '
            'text-anchor="middle">years since the start</text>'
        )
    else:
        parts.append(f'<text x="{_SVG_LEFT}" y="{_SVG_TOP + 20}">no event-study estimates</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_SVG_W}" height="{_SVG_H}" '
        f'viewBox="0 0 {_SVG_W} {_SVG_H}" font-family="sans-serif" font-size="12" role="img" '
        f'aria-labelledby="title desc"><title id="title">{escape(title)}</title>'
        f'<desc id="desc">{escape(desc)}</desc><rect width="100%" height="100%" fill="white"/>'
        f'<text x="{_SVG_LEFT}" y="20" font-weight="bold">{escape(_short(title))}</text>'
        f'<text x="{_SVG_LEFT}" y="38" fill="#444">{escape(_short(subtitle, 95))}</text>'
        + "".join(parts)
        + f'<text x="20" y="{_SVG_H - 8}" fill="#444">{escape(_short(desc, 120))}'
        "</text></svg>\n"
    )


def _short(text: str, n: int = 90) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def event_study_html(result: DidResult, title: str = "", twfe: TwfeEventStudy | None = None) -> str:
    """The event study as an interactive plotly page with plotly.js inside (opens offline);
    with ``twfe`` the two-way fixed effects event study beside it in light grey, for
    comparison."""
    import plotly.graph_objects as go

    rows = _event_rows(result)
    extra = _twfe_rows(twfe)
    fig = go.Figure()
    for name, colour, part in (
        ("before the start", _PRE, [r for r in rows if r[0] < 0]),
        ("from the start", _POST, [r for r in rows if r[0] >= 0]),
    ):
        if not part:
            continue
        est = [r[1] for r in part]
        fig.add_trace(
            go.Scatter(
                x=[r[0] for r in part],
                y=est,
                mode="markers",
                name=name,
                marker={"color": colour, "size": 10},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(r[3] - r[1]) if r[3] is not None else 0 for r in part],
                    "arrayminus": [(r[1] - r[2]) if r[2] is not None else 0 for r in part],
                    "color": colour,
                },
            )
        )
    if extra:
        fig.add_trace(
            go.Scatter(
                x=[r[0] + 0.15 for r in extra],
                y=[r[1] for r in extra],
                mode="markers",
                name=_TWFE_LEGEND,
                marker={"color": _TWFE, "size": 9, "symbol": "square-open"},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(r[3] - r[1]) if r[3] is not None else 0 for r in extra],
                    "arrayminus": [(r[1] - r[2]) if r[2] is not None else 0 for r in extra],
                    "color": _TWFE,
                },
            )
        )
        fig.update_layout(legend={"orientation": "h", "y": -0.2})
    fig.add_hline(y=0, line_color="#444")
    fig.add_vline(x=-0.5, line_dash="dot", line_color="#444")
    level = round(100 * (1 - result.alpha))
    fig.update_layout(
        template="plotly_white",
        title=title,
        xaxis_title="years since the start",
        yaxis_title=f"estimated effect ({level} % {result.band} interval)",
    )
    html: str = fig.to_html(include_plotlyjs=True, full_html=True)
    return html
