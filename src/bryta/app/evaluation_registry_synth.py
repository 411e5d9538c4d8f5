"""The synthetic control on the panel built from the registry (``bryta evaluate registry
--synth``).

The panel comes from :func:`bryta.app.evaluation.build_panel` (the same filters, pool
restrictions and crosswalk). Then:

* **The treated unit** is the treated RegSO of the panel taken together: with one RegSO, that
  RegSO; with several, the **unweighted mean** of their values in each year (every RegSO
  counts the same, whatever its size: the outcomes have different denominators — people,
  dwellings, earners — that bryta does not hold per RegSO for every indicator, so no
  population weighting is attempted). They must all start in the same year (one intervention:
  ``--intervention KEY``).
* **The donors** are the never-treated RegSO of the comparison pool (with the pool's
  restrictions by area type and kommun).
* **The predictors** are by default the outcome in each year before the start; specs
  ``NAME:FROM-TO`` or ``NAME:YEAR`` as in ``bryta evaluate synth`` can name the outcome
  (``outcome`` or its indicator id) or any other indicator at RegSO level.
* At least 2 years before the start and 2 donors are needed.

The results folder holds the files of ``bryta evaluate synth``
(:func:`bryta.app.evaluation_synth.result_contents`), with the RegSO names beside the codes
in ``weights.csv``. With ``record`` the mean post-period gap is stored as an evaluation
record (design ``synth``): p-value from the in-space placebos (rank of the post/pre RMSPE
ratio), minimum detectable effect from the placebos' mean post-period gaps (:func:`mde`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.app.context import Context
    from bryta.app.evaluation import Panel
    from bryta.compute.evaluation.synth import SynthResult

__all__ = [
    "KOMMUN_NOT_HONEST",
    "RegistrySynth",
    "SynthInput",
    "fit_registry_synth",
    "kommun_outcome",
    "kommun_synth_input",
    "mde",
    "record_synth",
    "registry_synth_input",
    "synth_dir",
    "synth_registry",
    "write_registry_synth",
]

#: How the outcome of several treated RegSO is combined, in words (output and docs).
TREATED_MEAN = "unweighted mean"


def synth_dir(output: Path) -> Path:
    """The results folder beside the table ``output``: its stem + ``_synth``."""
    output = Path(output)
    return output.with_name(f"{output.stem}_synth")


@dataclass(frozen=True)
class SynthInput:
    """The synthetic control's panel: ``frame`` has ``unit``, ``year``, the outcome (named by
    its indicator id) and the other predictor columns; the treated unit is ``treated``."""

    panel: Panel
    frame: pl.DataFrame
    treated: str
    treated_regso: tuple[str, ...]
    donors: tuple[str, ...]
    start: int
    predictors: tuple[str, ...]
    interventions: tuple[str, ...]
    level: str = "regso"  # or "kommun": treated_regso and donors are then kommun codes
    outcome_basis: str = ""  # kommun level: how the kommun's outcome was computed
    left_out: tuple[str, ...] = ()  # kommun level: kommuner lacking the outcome in some year


@dataclass(frozen=True)
class RegistrySynth:
    """A fitted synthetic control from the registry, ready to write: ``contents`` are the
    files of the results folder (name → text)."""

    input: SynthInput
    result: SynthResult
    mde: float
    mde_normal: float
    mde_empirical: float
    contents: dict[str, str]
    files: list[Path] = field(default_factory=list)
    notes: tuple[str, ...] = ()  # what the caller should know (a figure not written)

    def lines(self) -> list[str]:
        """What was fitted and found, for a terminal."""
        data, result = self.input, self.result
        if data.level == "kommun":
            return self._kommun_lines()
        n = len(data.treated_regso)
        how = (
            f"the {TREATED_MEAN} of {n} RegSO ({', '.join(data.treated_regso[:10])}"
            + (" …" if n > 10 else "")
            + ")"
            if n > 1
            else f"RegSO {data.treated_regso[0]}"
        )
        out = [
            f"synthetic control: treated unit {how}, from {data.start}; "
            f"{len(data.donors)} never-treated RegSO as donors; predictors "
            + ", ".join(data.predictors)
        ]
        names = _regso_names()
        top = result.weights.filter(pl.col("weight") >= 0.005).head(8)
        out.append("donor weights:")
        out.extend(
            f"  {unit} {names.get(unit, '')[:28]:<28} {weight:6.3f}" for unit, weight in top.rows()
        )
        out.append(
            f"RMSPE before {result.rmspe_pre:.4g}, after {result.rmspe_post:.4g} (ratio "
            f"{result.ratio:.3g}); mean gap from {data.start}: {result.average_gap:+.4g}"
        )
        total = result.placebo_ratios.height
        out.append(
            f"placebo p-value {result.p_value:.3f} (rank of the ratio among {total} units; the "
            f"smallest possible is 1/{total} = {1 / total:.3f}); MDE {self.mde:.4g} (80 % "
            f"power, from the {total - 1} placebos' mean gaps from {data.start})"
        )
        if data.start - self.panel_first_year < 5:
            out.append(
                f"note: {data.start - self.panel_first_year} years before the start: the fit "
                "before the start says little (docs/evaluation.md, synthetic control)"
            )
        return out

    def _kommun_lines(self) -> list[str]:
        data, result = self.input, self.result
        code = data.treated_regso[0]
        names = _kommun_names()
        out = [
            f"synthetic control: treated unit kommun {code} ({names.get(code, '?')}), from "
            f"{data.start} ({', '.join(data.interventions)}); {len(data.donors)} kommuner "
            "without a qualifying intervention as donors; predictors " + ", ".join(data.predictors),
            f"outcome per kommun: {data.outcome_basis}",
        ]
        if data.left_out:
            out.append(
                f"left out: {len(data.left_out)} kommun(er) lacking the outcome in some year: "
                + ", ".join(data.left_out[:10])
                + (" …" if len(data.left_out) > 10 else "")
            )
        top = result.weights.filter(pl.col("weight") >= 0.005).head(8)
        out.append("donor weights:")
        out.extend(
            f"  {unit} {names.get(unit, '')[:28]:<28} {weight:6.3f}" for unit, weight in top.rows()
        )
        total = result.placebo_ratios.height
        out.append(
            f"RMSPE before {result.rmspe_pre:.4g}, after {result.rmspe_post:.4g} (ratio "
            f"{result.ratio:.3g}); mean gap from {data.start}: {result.average_gap:+.4g}"
        )
        out.append(
            f"placebo p-value {result.p_value:.3f} (rank of the ratio among {total} units; the "
            f"smallest possible is 1/{total} = {1 / total:.3f}); MDE {self.mde:.4g} (80 % "
            f"power, from the {total - 1} placebos' mean gaps from {data.start})"
        )
        out.append(
            "the staggered design is not run at kommun level (one treated kommun); "
            "the results are in the folder only"
        )
        return out

    @property
    def panel_first_year(self) -> int:
        return self.input.panel.report.years[0]


@functools.cache
def _regso_names() -> dict[str, str]:
    from bryta.geography.areas import areas

    return dict(areas("regso").select("code", "name").rows())


def _name(code: str) -> str:
    """The RegSO's name from the bundled list (RegSO 2020); empty for other codes (a 2025
    code may reuse a 2020 code for another area)."""
    return _regso_names().get(code, "")


@functools.cache
def _kommun_names() -> dict[str, str]:
    from bryta.geography.areas import kommun_names

    return kommun_names()


def _kommun_name(code: str) -> str:
    return _kommun_names().get(code, "")


# --- the panel ---------------------------------------------------------------------------------


def registry_synth_input(
    ctx: Context, *, predictors: Sequence[str] | None = None, **panel_options: Any
) -> SynthInput:
    """Build the panel (:func:`bryta.app.evaluation.build_panel`) and the synthetic
    control's input from it (see the module text).

    Raises:
        InputError: what :func:`build_panel` raises; the treated RegSO start in different
            years; fewer than 2 years before the start or fewer than 2 donors; a predictor
            that does not parse or names an unknown indicator.
    """
    from bryta.app.evaluation import build_panel, regso_outcomes
    from bryta.compute.evaluation.synth import parse_predictor

    panel = build_panel(ctx, **panel_options)
    report, frame = panel.report, panel.frame
    outcome = report.outcome
    treated = frame.filter(pl.col("cohort") > 0)
    cohorts = treated.get_column("cohort").unique().sort().to_list()
    if len(cohorts) > 1:
        per = ", ".join(f"{g}: {n}" for g, n in report.treated.rows())
        raise InputError(
            f"the synthetic control needs one start year, and the treated RegSO start in "
            f"{len(cohorts)} ({per}); choose one intervention with --intervention KEY (or "
            "filter with --form, --min-months …)"
        )
    start = int(cohorts[0])
    years = sorted(frame.get_column("year").unique().to_list())
    pre = [y for y in years if y < start]
    donors = tuple(frame.filter(pl.col("cohort") == 0).get_column("regso").unique().sort())
    missing = []
    if len(pre) < 2:
        missing.append(
            f"2 years of {outcome} before the start {start} (there "
            + (f"is 1: {pre[0]}" if pre else "are none")
            + "; load a longer series with bryta indicators load, or choose a later "
            "intervention)"
        )
    if len(donors) < 2:
        missing.append(
            f"2 never-treated RegSO as donors (there {'is' if len(donors) == 1 else 'are'} "
            f"{len(donors)}; widen the pool: --all, --pool-type, --pool-kommun)"
        )
    if missing:
        raise InputError("too little for a synthetic control: it needs " + ", and ".join(missing))
    treated_regso = tuple(treated.get_column("regso").unique().sort())
    used = report.used.filter(pl.col("n_regso") > 0)
    keys = tuple(k or t for k, t in used.select("key", "title").rows())
    if len(treated_regso) == 1:
        label = treated_regso[0]
    else:
        who = keys[0] if len(keys) == 1 else "treated"
        label = f"{who} ({TREATED_MEAN} of {len(treated_regso)} RegSO)"

    specs = [parse_predictor(s) for s in predictors] if predictors else []
    if not specs:
        specs = [parse_predictor(f"{outcome}:{y}") for y in pre]
    renamed = []
    for spec in specs:
        column = outcome if spec.column in ("outcome", outcome) else spec.column
        renamed.append(type(spec)(column, spec.first, spec.last))
    wide = frame.select("regso", "year", pl.col("outcome").alias(outcome))
    extra = sorted({s.column for s in renamed} - {outcome})
    if extra:
        table = regso_outcomes(ctx)
        known = set(table.get_column("indicator").unique().to_list())
        for name in extra:
            if name not in known:
                raise InputError(
                    f"--predictor {name}: no indicator of that id at RegSO level (use "
                    f"outcome or {outcome} for the outcome; there are "
                    + ", ".join(sorted(known))
                    + ")"
                )
        values = table.filter(pl.col("indicator").is_in(extra)).pivot(
            "indicator", index=["regso", "year"], values="value"
        )
        wide = wide.join(values, on=["regso", "year"], how="left")
    columns = [c for c in wide.columns if c not in ("regso", "year")]
    treated_rows = (
        wide.filter(pl.col("regso").is_in(list(treated_regso)))
        .group_by("year")
        .agg(pl.col(c).mean() for c in columns)
        .with_columns(pl.lit(label).alias("regso"))
    )
    donor_rows = wide.filter(pl.col("regso").is_in(list(donors)))
    synth_frame = (
        pl.concat([treated_rows.select(wide.columns), donor_rows])
        .rename({"regso": "unit"})
        .sort("unit", "year")
    )
    return SynthInput(
        panel=panel,
        frame=synth_frame,
        treated=label,
        treated_regso=treated_regso,
        donors=donors,
        start=start,
        predictors=tuple(s.label for s in renamed),
        interventions=keys,
    )


# --- a kommun as the treated unit -------------------------------------------------------------

#: Why an outcome held per RegSO only cannot be taken to kommun level.
KOMMUN_NOT_HONEST = (
    "a kommun's value cannot be computed honestly from its RegSO's values without their "
    "numerators and denominators (a mean of RegSO shares or means is not the kommun's share "
    "or mean)"
)


def kommun_outcome(ctx: Context | None, indicator: str) -> tuple[pl.DataFrame, str]:
    """``indicator`` per kommun and year (``kommun, year, value``) and, in words, how it was
    found, the first of:

    1. loaded into the warehouse at kommun level (``bryta indicators load ID --level
       kommun``): SCB's own kommun values;
    2. loaded at RegSO level with numerators and denominators (a ratio): the sums of the
       numerators and the denominators of the kommun's RegSO, divided (× 100 for a percent);
       a kommun-year where any of its RegSO lacks them is left out;
    3. bundled at kommun level (``population``, ``born_abroad_pct``, ``rental_pct``,
       ``challenged_pop_pct``): computed from the counts of the bundled SCB exports summed
       over the kommun's RegSO (:func:`bryta.app.profiles.bundled_indicators`).

    An empty frame when there is none of them (the basis then says why).
    """
    from bryta.app.profiles import bundled_indicators

    empty = pl.DataFrame(schema={"kommun": pl.String, "year": pl.Int64, "value": pl.Float64})
    if ctx is not None:
        name = f"indicator_{indicator}"
        with ctx.warehouse(read_only=True) as warehouse:
            stored = warehouse.get(name) if name in warehouse.list()["name"].to_list() else None
        if stored is not None:
            breakdowns = [
                c
                for c in stored.columns
                if c not in ("area", "level", "year", "numerator", "denominator", "value")
            ]
            totals = stored.filter(*(pl.col(c).is_null() for c in breakdowns))
            at_kommun = totals.filter(pl.col("level") == "kommun")
            if at_kommun.height:
                return (
                    at_kommun.select(
                        pl.col("area").cast(pl.String).alias("kommun"),
                        pl.col("year").cast(pl.Int64),
                        pl.col("value").cast(pl.Float64),
                    ).drop_nulls("value"),
                    "loaded at kommun level (SCB's kommun values)",
                )
            regso = totals.filter(pl.col("level") == "regso")
            if regso.height:
                return _summed(regso, indicator)
    bundled = bundled_indicators().filter(level="kommun", indicator=indicator)
    if bundled.height:
        return (
            bundled.select(pl.col("area").alias("kommun"), pl.col("year").cast(pl.Int64), "value"),
            "the counts of the bundled SCB exports summed over the kommun's RegSO, then divided",
        )
    return empty, "none"


def _summed(regso: pl.DataFrame, indicator: str) -> tuple[pl.DataFrame, str]:
    """A loaded RegSO ratio taken to kommun level by summing numerators and denominators."""
    rows = regso.with_columns(
        pl.col("area").cast(pl.String).str.slice(0, 4).alias("kommun"),
        pl.col("year").cast(pl.Int64),
        pl.col("numerator").cast(pl.Float64),
        pl.col("denominator").cast(pl.Float64),
        pl.col("value").cast(pl.Float64),
    )
    usable = rows.filter(
        pl.col("numerator").is_not_null()
        & pl.col("denominator").is_not_null()
        & (pl.col("denominator") != 0)
        & pl.col("value").is_not_null()
    )
    if usable.is_empty():
        raise InputError(
            f"--outcome {indicator}: loaded per RegSO without numerators and denominators, "
            f"and {KOMMUN_NOT_HONEST}; load it per kommun: bryta indicators load {indicator} "
            "--level kommun"
        )
    # the scale between value and numerator / denominator: 100 for a percent, else 1
    ratio = usable.select(
        (pl.col("value") * pl.col("denominator") / pl.col("numerator")).median()
    ).item()
    scale = 100.0 if ratio is not None and abs(ratio - 100) < 1 else 1.0
    # every RegSO of the kommun seen in the data must have both in that year
    per_kommun = rows.group_by("kommun").agg(pl.col("area").n_unique().alias("_n"))
    sums = (
        usable.group_by("kommun", "year")
        .agg(
            pl.col("numerator").sum(),
            pl.col("denominator").sum(),
            pl.col("area").n_unique().alias("_have"),
        )
        .join(per_kommun, on="kommun")
        .filter(pl.col("_have") == pl.col("_n"))
    )
    out = sums.select(
        "kommun",
        "year",
        (scale * pl.col("numerator") / pl.col("denominator")).alias("value"),
    ).sort("kommun", "year")
    return out, (
        "loaded per RegSO: the numerators and denominators of the kommun's RegSO summed, then "
        "divided"
    )


def kommun_synth_input(
    ctx: Context,
    *,
    outcome: str,
    kommuner: Sequence[str] | None = None,
    forms: Sequence[str] | None = None,
    prevention_levels: Sequence[str] | None = None,
    outcome_domains: Sequence[str] | None = None,
    min_months: float | None = None,
    organisations: Sequence[str] | None = None,
    intervention_keys: Sequence[str] | None = None,
    pool_kommuner: Sequence[str] | None = None,
    pool_types: Sequence[int] | None = None,
    crosswalk: Any = None,
    predictors: Sequence[str] | None = None,
    **ignored: Any,
) -> SynthInput:
    """The synthetic control's input with a **kommun** as the treated unit.

    The treated kommun is the one the qualifying interventions (the filters of
    :func:`bryta.app.evaluation.build_panel`; ``intervention_keys`` to pick one) are linked
    to, as a whole kommun or through its RegSO or DeSO, within ``kommuner`` when given; it
    must be one. It is treated from the first start year of those interventions. The donors
    are the other kommuner with the outcome in every year and no intervention passing the
    filters (whether or not chosen with ``intervention_keys``) that starts within the data
    (all of Sweden, or ``pool_kommuner``); kommuner lacking the outcome in some year are
    left out. The outcome per kommun is :func:`kommun_outcome`.
    Other options of ``build_panel`` (``kommun_links``, ``control``, ``drop_incomplete``,
    ``type_source``) do not apply and are ignored; ``pool_types`` and ``crosswalk`` (RegSO
    matters) are refused.

    Raises:
        InputError: no value of the outcome per kommun (with why one cannot be computed from
            the RegSO's), no or several treated kommuner, a start after the data, fewer than
            2 years before the start or 2 donors, a predictor that is not an indicator per
            kommun.
    """
    from bryta.app.evaluation import (
        Panel,
        PanelReport,
        _records,
        check_filters,
        regso_outcomes,
        select_interventions,
    )
    from bryta.compute.evaluation.panel import qualify
    from bryta.compute.evaluation.synth import parse_predictor

    del ignored
    scope = tuple(dict.fromkeys(kommuner or ()))
    check_filters(scope, pool_kommuner, forms, prevention_levels, outcome_domains)
    if pool_types:
        raise InputError(
            "--pool-type chooses RegSO by area type; with --synth-level kommun restrict the "
            "donors with --pool-kommun"
        )
    if crosswalk is not None:
        raise InputError(
            "--crosswalk maps RegSO and DeSO codes between versions; --synth-level kommun "
            "reads the kommun from the first four digits of a link and needs none"
        )
    values, basis = kommun_outcome(ctx, outcome)
    if values.is_empty():
        at_regso = regso_outcomes(ctx).filter(indicator=outcome).height > 0
        if at_regso:
            raise InputError(
                f"--outcome {outcome}: no values per kommun, and {KOMMUN_NOT_HONEST}; load it "
                f"per kommun (bryta indicators load {outcome} --level kommun) or choose an "
                "outcome with counts: born_abroad_pct, rental_pct, population"
            )
        raise InputError(
            f"--outcome {outcome}: no indicator of that id per kommun (bundled: "
            "born_abroad_pct, rental_pct, population, challenged_pop_pct; or load one with "
            "bryta indicators load ID --level kommun)"
        )
    years = sorted(values.get_column("year").unique().to_list())
    first, last = years[0], years[-1]

    # the interventions and the kommuner they work in
    _, frame, links = _records(ctx, ())
    checked = qualify(
        frame,
        forms=forms,
        prevention_levels=prevention_levels,
        outcome_domains=outcome_domains,
        min_months=min_months,
        organisations=organisations,
    )
    kommun_links = (
        links.filter(pl.col("level").is_in(["kommun", "regso", "deso"]))
        .select("id", pl.col("area_code").str.slice(0, 4).alias("kommun"))
        .unique()
    )
    # kommuner with work of their own: every intervention passing the filters, also those
    # not chosen with --intervention, disqualifies a donor
    filtered = checked.filter(pl.col("reason").is_null())
    working = kommun_links.join(filtered.select("id", "start_year"), on="id")
    checked = select_interventions(frame, checked, intervention_keys, scope)
    qualifying = checked.filter(pl.col("reason").is_null())
    linked = kommun_links.join(
        qualifying.select("id", "key", "title", "start_year", "months"), on="id"
    )
    in_scope = linked.filter(pl.col("kommun").is_in(list(scope))) if scope else linked
    treated_kommuner = sorted(in_scope.get_column("kommun").unique().to_list())
    names = _kommun_names()
    if not treated_kommuner:
        where = f" to kommun {', '.join(scope)}" if scope else ""
        raise InputError(
            f"no qualifying intervention is linked{where} (as a whole kommun, or to its RegSO "
            "or DeSO); loosen the filters or choose another --intervention"
        )
    if len(treated_kommuner) > 1:
        listed = ", ".join(f"{k} ({names.get(k, '?')})" for k in treated_kommuner[:10])
        raise InputError(
            f"a kommun synthetic control has one treated kommun, and the qualifying "
            f"interventions work in {len(treated_kommuner)}: {listed}"
            + (" …" if len(treated_kommuner) > 10 else "")
            + "; choose one with --kommun CODE (or one intervention with --intervention KEY)"
        )
    kommun = treated_kommuner[0]
    own = in_scope.filter(kommun=kommun).sort("start_year", "id")
    start = int(own.get_column("start_year").min())  # type: ignore[arg-type]
    if start > last:
        raise InputError(
            f"kommun {kommun} is treated from {start}, after the last year of {outcome} "
            f"({last}): nothing to evaluate yet"
        )
    # donors: no qualifying intervention starting within the data, the outcome every year
    busy = set(working.filter(pl.col("start_year") <= last).get_column("kommun").to_list())
    complete = (
        values.filter(pl.col("value").is_not_null() & pl.col("value").is_finite())
        .group_by("kommun")
        .agg(pl.col("year").n_unique().alias("n"))
    )
    full = set(complete.filter(pl.col("n") == len(years)).get_column("kommun").to_list())
    seen = set(values.get_column("kommun").to_list())
    if kommun not in full:
        raise InputError(
            f"kommun {kommun} ({names.get(kommun, '?')}) lacks {outcome} in some of the years "
            f"{first}–{last}"
        )
    candidates = seen - {kommun} - busy
    if pool_kommuner:
        candidates &= set(pool_kommuner)
    left_out = tuple(sorted(candidates - full))
    donors = tuple(sorted(candidates & full))
    pre = [y for y in years if y < start]
    missing = []
    if len(pre) < 2:
        missing.append(
            f"2 years of {outcome} before the start {start} (there "
            + (f"is 1: {pre[0]}" if len(pre) == 1 else "are none")
            + "; load a longer series with bryta indicators load, or choose a later "
            "intervention)"
        )
    if len(donors) < 2:
        missing.append(
            f"2 kommuner without a qualifying intervention as donors (there "
            f"{'is' if len(donors) == 1 else 'are'} {len(donors)}; widen --pool-kommun)"
        )
    if missing:
        raise InputError("too little for a synthetic control: it needs " + ", and ".join(missing))

    specs = [parse_predictor(p) for p in predictors] if predictors else []
    if not specs:
        specs = [parse_predictor(f"{outcome}:{y}") for y in pre]
    renamed = [
        type(spec)(
            outcome if spec.column in ("outcome", outcome) else spec.column, spec.first, spec.last
        )
        for spec in specs
    ]
    units = [kommun, *donors]
    wide = values.filter(pl.col("kommun").is_in(units)).select(
        "kommun", "year", pl.col("value").alias(outcome)
    )
    for extra in sorted({s.column for s in renamed} - {outcome}):
        other, _ = kommun_outcome(ctx, extra)
        if other.is_empty():
            raise InputError(
                f"--predictor {extra}: no indicator of that id per kommun (use outcome or "
                f"{outcome} for the outcome)"
            )
        wide = wide.join(
            other.select("kommun", "year", pl.col("value").alias(extra)),
            on=["kommun", "year"],
            how="left",
        )
    synth_frame = wide.rename({"kommun": "unit"}).sort("unit", "year")

    # a panel and a report, for the summary and the record
    keys = tuple(k or t for k, t in own.select("key", "title").unique(maintain_order=True).rows())
    interventions = own.unique("id", maintain_order=True).select(
        "id",
        "key",
        "title",
        "start_year",
        "months",
        pl.lit(None, pl.String).alias("reason"),
        pl.lit(1, pl.UInt32).alias("n_regso"),  # the treated unit: the kommun
    )
    panel_frame = (
        values.filter(pl.col("kommun").is_in(units))
        .select(
            "kommun",
            "year",
            pl.col("value").alias("outcome"),
            pl.when(pl.col("kommun") == kommun).then(start).otherwise(0).alias("cohort"),
        )
        .sort("kommun", "year")
    )
    rule = f"kommun {', '.join(pool_kommuner)}" if pool_kommuner else ""
    report = PanelReport(
        outcome=outcome,
        years=(first, last),
        scope=scope,
        n_units=len(units),
        interventions=interventions,
        treated=pl.DataFrame({"cohort": [start], "n_units": [1]}),
        before_data=(),
        after_data=(),
        pool=len(donors),
        pool_left_out=len(left_out),
        pool_rule=rule,
        incomplete=left_out,
        control="never",
        notes=(f"outcome per kommun: {basis}",),
    )
    panel = Panel(panel_frame, report, unit="kommun")
    data = SynthInput(
        panel=panel,
        frame=synth_frame,
        treated=kommun,
        treated_regso=(kommun,),
        donors=donors,
        start=start,
        predictors=tuple(s.label for s in renamed),
        interventions=keys,
        level="kommun",
        outcome_basis=basis,
        left_out=left_out,
    )
    return data


# --- the fit -----------------------------------------------------------------------------------


def mde(placebo_gaps: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """The minimum detectable effect from the placebos' mean post-period gaps, as for the
    staggered design's placebos (docs/evaluation.md): (``mde``, ``normal``, ``empirical``).

    ``normal`` = 2.80 × their standard deviation (1.96 + 0.84: 5 % two-sided, 80 % power);
    ``empirical`` = the shift that puts 80 % of them beyond the 95 % quantile of their size;
    ``mde`` the larger of the two. NaN with fewer than 2 finite gaps.

    >>> [round(x, 3) for x in mde([-1.0, 1.0])]
    [3.962, 3.962, 1.6]
    """
    from bryta.compute.evaluation.placebo import LEVEL, MDE_FACTOR, POWER

    gaps = np.asarray(placebo_gaps, dtype=float)
    gaps = gaps[np.isfinite(gaps)]
    if gaps.size < 2:
        return math.nan, math.nan, math.nan
    normal = MDE_FACTOR * float(np.std(gaps, ddof=1))
    c = float(np.quantile(np.abs(gaps), 1 - LEVEL))
    low, high = np.quantile(gaps, [1 - POWER, POWER])
    empirical = max(c - float(low), c + float(high))
    return max(normal, empirical), normal, empirical


def _placebo_mean_gaps(result: SynthResult) -> pl.DataFrame:
    return (
        result.placebos.filter(pl.col("time") >= result.start)
        .group_by("unit")
        .agg(pl.col("gap").mean().alias("mean_gap"))
        .sort("unit")
    )


def fit_registry_synth(
    data: SynthInput,
    *,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> RegistrySynth:
    """Fit the synthetic control on ``data`` and prepare the folder's files (nothing is
    written). ``progress`` is called once per placebo fit (one per donor)."""
    from bryta.app.evaluation_synth import result_contents
    from bryta.evaluate import synthetic_control

    report = data.panel.report
    result = synthetic_control(
        data.frame,
        unit="unit",
        time="year",
        outcome=report.outcome,
        treated=data.treated,
        start=data.start,
        predictors=list(data.predictors),
        donors=list(data.donors),
        seed=seed,
        progress=progress,
    )
    gaps = _placebo_mean_gaps(result).get_column("mean_gap").to_numpy()
    m, normal, empirical = mde(gaps)
    finite = gaps[np.isfinite(gaps)]
    p_gap = (
        float((1 + np.sum(np.abs(finite) >= abs(result.average_gap) - 1e-12)) / (finite.size + 1))
        if finite.size and math.isfinite(result.average_gap)
        else math.nan
    )
    kommun = data.level == "kommun"
    namer = _kommun_name if kommun else _name
    weights = result.weights.with_columns(
        pl.col("unit").map_elements(namer, return_dtype=pl.String).alias("name")
    ).select("unit", "name", "weight")
    first, last = report.years
    treated_unit: dict[str, object] = {
        "regso": list(data.treated_regso),
        "names": [_name(r) for r in data.treated_regso],
        "combined": TREATED_MEAN if len(data.treated_regso) > 1 else "one RegSO",
    }
    if kommun:
        treated_unit = {
            "kommun": list(data.treated_regso),
            "names": [_kommun_name(k) for k in data.treated_regso],
            "combined": "one kommun",
            "outcome_basis": data.outcome_basis,
        }
    summary: dict[str, object] = {
        "estimate": result.average_gap,
        "estimate_basis": f"mean gap (actual − synthetic) over {data.start}–{last}",
        "mde": m,
        "mde_normal": normal,
        "mde_empirical": empirical,
        "mde_basis": "the placebos' mean gaps from the start, 80 % power, 5 % two-sided",
        "p_value_gap": p_gap,
        "treated_unit": treated_unit,
        "interventions": list(data.interventions),
        "panel": {
            "level": data.level,
            "outcome": report.outcome,
            "years": [first, last],
            "scope": list(report.scope),
            "pool": report.pool,
            "pool_rule": report.pool_rule,
            "crosswalk": report.crosswalk or None,
            **({"left_out": list(data.left_out)} if kommun else {}),
        },
    }
    level = "kommun" if kommun else "RegSO"
    source = f"registry: {report.outcome} per {level} × year {first}–{last}"
    contents = result_contents(result, source, weights=weights, summary=summary)
    return RegistrySynth(data, result, m, normal, empirical, contents)


def write_registry_synth(fit: RegistrySynth, out_dir: Path) -> RegistrySynth:
    """Write the folder of results (each file whole); ``fit`` with the files written."""
    from bryta.app.evaluation_synth import write_results

    files, notes = write_results(out_dir, fit.contents)
    return RegistrySynth(
        fit.input,
        fit.result,
        fit.mde,
        fit.mde_normal,
        fit.mde_empirical,
        fit.contents,
        files,
        notes,
    )


def synth_registry(
    ctx: Context,
    out_dir: Path,
    *,
    predictors: Sequence[str] | None = None,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    level: str = "regso",
    **panel_options: Any,
) -> RegistrySynth:
    """Build the panel from the registry (``panel_options``: those of
    :func:`bryta.app.evaluation.build_panel`), fit the synthetic control of its treated
    RegSO against its never-treated RegSO (``level="kommun"``: of the treated kommun against
    the kommuner without a qualifying intervention, :func:`kommun_synth_input`) and write the
    results into ``out_dir`` (the files of ``bryta evaluate synth``). Everything is computed
    before anything is written."""
    from bryta.app.evaluation_synth import check_out_dir

    if level not in ("regso", "kommun"):
        raise InputError(f"--synth-level takes regso or kommun, not {level!r}")
    check_out_dir(out_dir)
    make = kommun_synth_input if level == "kommun" else registry_synth_input
    data = make(ctx, predictors=predictors, **panel_options)
    return write_registry_synth(fit_registry_synth(data, seed=seed, progress=progress), out_dir)


# --- results back into the registry ------------------------------------------------------------


def record_synth(ctx: Context, fit: RegistrySynth, *, direction: int | None = None) -> list[Any]:
    """Store the synthetic control as an evaluation record (design ``synth``) of every
    intervention that treats RegSO of the panel, in one transaction, as the system: estimate
    = the mean post-period gap, placebo p-value = the rank of the post/pre RMSPE ratio, MDE
    from the placebos (:func:`mde`), one treated unit, the donors as the comparison; no
    standard error or interval. The intended direction and the smallest meaningful effect
    are found as for ``bryta evaluate registry --record``.

    Returns :class:`bryta.app.evaluation.RecordedEvaluation` items."""
    from bryta.app.evaluation import (
        _provenance,
        add_intervention_records,
        meaningful_fallback,
    )
    from bryta.registry import db
    from bryta.registry.evaluations import Design
    from bryta.registry.service import SYSTEM, RegistryService

    data, result = fit.input, fit.result
    report = data.panel.report
    frame = data.panel.frame
    first = frame.filter(pl.col("year") == report.years[0])
    fallback = meaningful_fallback(first.get_column("outcome"))
    provenance = _provenance(ctx, report.outcome, report.outcome_source)
    provenance["panel"] = {
        "scope": list(report.scope),
        "treated_regso": list(data.treated_regso),
        "treated_combined": TREATED_MEAN if len(data.treated_regso) > 1 else "one RegSO",
        "donors": len(data.donors),
        "predictors": list(data.predictors),
        "start": data.start,
    }
    if data.level == "kommun":
        provenance["panel"] = {
            "level": "kommun",
            "treated_kommun": data.treated_regso[0],
            "outcome_basis": data.outcome_basis,
            "donors": len(data.donors),
            "pool_rule": report.pool_rule,
            "predictors": list(data.predictors),
            "start": data.start,
        }
    p_value = result.p_value if math.isfinite(result.p_value) else None
    m = fit.mde if math.isfinite(fit.mde) else None
    engine = ctx.registry_engine()
    db.require_schema(engine)
    with db.session(engine) as session:  # one transaction: every record, or none
        service = RegistryService(engine, SYSTEM, session=session)
        return add_intervention_records(
            service,
            report,
            {**provenance, "mde_basis": "placebo"},
            fallback,
            direction=direction,
            design=Design.SYNTH,
            aggregation="mean_post_gap",
            estimate=float(result.average_gap),
            se=None,
            ci_low=None,
            ci_high=None,
            mde=m,
            placebo_p=p_value,
            pre_trend=None,
            n_treated=1,
            n_control=len(data.donors),
        )
