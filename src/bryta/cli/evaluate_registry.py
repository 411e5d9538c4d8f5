"""``bryta evaluate registry``: the staggered design on a panel built from the registry and
the data (:mod:`bryta.app.evaluation`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bryta.cli._common import err_console, make_context, say, split_list, user_errors
from bryta.cli.options import Database, DataDir

if TYPE_CHECKING:
    from bryta.app.context import Context
    from bryta.app.evaluation import RegistryEvaluation
    from bryta.app.evaluation_registry_synth import RegistrySynth

_CONTROLS = ("never", "notyet")
_METHODS = ("reg", "ipw", "dr")
_SOURCES = ("official", "proxy")
_DIRECTIONS = {"increase": 1, "decrease": -1}


def registry_command(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="The estimates (.csv, .xlsx, .parquet or .json); the event study is written "
            "beside it as .html, .svg and .png, the placebo and power summary as "
            ".summary.json.",
        ),
    ],
    outcome: Annotated[
        str | None,
        typer.Option(
            help="Indicator per RegSO × year: born_abroad_pct, rental_pct, mean_wage_income, "
            "population, or one loaded with bryta indicators load. With --outcomes: the "
            "outcome's name in the report, plots and records (default: the value column's)."
        ),
    ] = None,
    # --- the outcome from your own table ---
    outcomes: Annotated[
        str | None,
        typer.Option(
            help="Your own table of the outcome per RegSO × year instead of an indicator: a "
            "file (.csv with , or ; in UTF-8 or Windows-1252, decimal commas fine; .xlsx; "
            ".parquet), e.g. bryta local -o output, or dataset:NAME, a dataset in the "
            "warehouse (bryta data list)."
        ),
    ] = None,
    outcomes_unit: Annotated[
        str, typer.Option(help="With --outcomes: the column of RegSO codes.")
    ] = "regso",
    outcomes_time: Annotated[
        str, typer.Option(help="With --outcomes: the column of years.")
    ] = "year",
    outcomes_value: Annotated[
        str | None,
        typer.Option(
            help="With --outcomes: the column of the outcome (default: the one other column)."
        ),
    ] = None,
    kommun: Annotated[
        str | None,
        typer.Option(help="The panel's kommun (code, e.g. 1280; several comma-separated)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="The panel: every RegSO of Sweden.")] = False,
    form: Annotated[
        str | None,
        typer.Option(help="Only interventions of these forms (project, permanent_operation, …)."),
    ] = None,
    prevention: Annotated[
        str | None,
        typer.Option(help="Only these prevention levels (universal, selective, indicated, …)."),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(help="Only interventions with one of these outcome domains (work, …)."),
    ] = None,
    min_months: Annotated[
        float | None,
        typer.Option(help="Only interventions planned for at least this many months."),
    ] = None,
    organisation: Annotated[
        str | None,
        typer.Option(help="Only interventions an organisation takes part in (names or ids)."),
    ] = None,
    kommun_links: Annotated[
        bool,
        typer.Option(
            "--kommun-links", help="Let a link to a whole kommun treat every RegSO of it."
        ),
    ] = False,
    pool_type: Annotated[
        str | None,
        typer.Option(help="Compare only with never-treated RegSO of these area types (1,2)."),
    ] = None,
    pool_kommun: Annotated[
        str | None,
        typer.Option(help="Compare only with never-treated RegSO of these kommuner."),
    ] = None,
    type_source: Annotated[
        str,
        typer.Option(help="Area types for --pool-type: official (2022) or proxy (first year)."),
    ] = "official",
    drop_incomplete: Annotated[
        bool,
        typer.Option("--drop-incomplete", help="Leave out RegSO lacking the outcome in some year."),
    ] = False,
    control: Annotated[
        str,
        typer.Option(
            help="Comparison units: never (never treated) or notyet (also those treated later)."
        ),
    ] = "never",
    method: Annotated[str, typer.Option(help="reg, ipw or dr (doubly robust).")] = "dr",
    bootstrap: Annotated[
        int,
        typer.Option(help="Multiplier bootstrap replicates: uniform bands (0: analytic)."),
    ] = 0,
    placebos: Annotated[
        int,
        typer.Option(
            help="Placebo draws among the never-treated RegSO: the placebo p-value, a pre-trend "
            "check (placebo in time) and the minimum detectable effect from the placebo "
            "distribution. 0: none; then there is no placebo p-value and no pre-trend check, "
            "the MDE is the analytic one (unreliable with few treated RegSO) and --record "
            "reaches promising at most."
        ),
    ] = 200,
    placebo_shift: Annotated[
        int,
        typer.Option(
            help="The placebo in time pretends each cohort started this many years early."
        ),
    ] = 1,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the bootstrap and the placebos (same seed, same numbers; without "
            "it one is drawn and printed)."
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Store the overall estimate as an evaluation record of every intervention "
            'used, with its evidence level (docs/evaluation.md, "Results in the registry").',
        ),
    ] = False,
    intended: Annotated[
        str | None,
        typer.Option(
            help="With --record: the direction the interventions mean to move the outcome, "
            "increase or decrease (default: from each one's indicator target and baseline)."
        ),
    ] = None,
    per_intervention: Annotated[
        bool,
        typer.Option(
            "--per-intervention",
            help="Also evaluate each intervention used on its own (its RegSO against the "
            "same never-treated pool, the other interventions' RegSO left out), with its own "
            "placebo p-value, MDE and pre-trend: a table of one row per intervention beside -o "
            "(OUT-stem_interventions); with --record each intervention gets its own estimate.",
        ),
    ] = False,
    # --- one intervention, code versions, synthetic control ---
    intervention: Annotated[
        str | None,
        typer.Option(help="Only these interventions (registry keys, comma-separated)."),
    ] = None,
    crosswalk: Annotated[
        Path | None,
        typer.Option(
            help="Key between code versions (.csv, .xlsx, .parquet): maps area links of "
            "another version (e.g. RegSO 2025) to the outcome's codes."
        ),
    ] = None,
    crosswalk_from: Annotated[
        str, typer.Option(help="The key's column of the links' codes.")
    ] = "from",
    crosswalk_to: Annotated[
        str, typer.Option(help="The key's column of the outcome's codes.")
    ] = "to",
    crosswalk_weight: Annotated[
        str | None,
        typer.Option(help="The key's column of weights (share of the from area in the to area)."),
    ] = None,
    crosswalk_min_weight: Annotated[
        float | None,
        typer.Option(help="A to area is treated from this weight on (default: any above 0)."),
    ] = None,
    synth: Annotated[
        bool,
        typer.Option(
            "--synth",
            help="Also fit a synthetic control of the treated RegSO (one start year) against "
            "the never-treated ones; results in the folder OUT-stem_synth beside -o.",
        ),
    ] = False,
    synth_level: Annotated[
        str,
        typer.Option(
            help="With --synth: the treated unit, regso (the treated RegSO) or kommun (the "
            "kommun the intervention works in, against kommuner without one; the outcome per "
            "kommun from summed counts; the staggered design is not run).",
        ),
    ] = "regso",
    predictor: Annotated[
        list[str] | None,
        typer.Option(
            help="With --synth: NAME:FROM-TO or NAME:YEAR (NAME: outcome or an indicator id); "
            "default: the outcome in each year before the start.",
        ),
    ] = None,
    data_dir: DataDir = None,
    database: Database = None,
) -> None:
    """Did the RegSO where the registry's interventions started develop differently? Builds
    the panel from the registry (published interventions) and the data, and runs the
    staggered difference-in-differences design (as bryta evaluate did).

    A RegSO is treated from the start year of the first qualifying intervention linked to it
    or to a DeSO in it; links to a whole kommun count only with --kommun-links. Prints what
    went into the panel and what was left out, the overall estimates and the placebo checks:
    the placebo p-value of the simple estimate, the placebo in time (a pre-trend check) and
    the smallest effect the design could detect with 80 % power. Writes the estimates to -o
    and beside it the event study (.html, offline; .svg; .png) and the summary of the
    placebo checks (.summary.json). See docs/evaluation.md, "From the registry".

    With --record, the overall estimate is stored in the registry as an evaluation record of
    every intervention used, with the placebo p-value, the pre-trend flag, the minimum
    detectable effect and its evidence level (effective, promising, no_detectable_effect,
    insufficient_evidence); the API serves them at /api/v1/interventions/{key}/evaluations.

    With --crosswalk, links to area codes of another version than the outcome's (RegSO or
    DeSO 2025 when the outcome is RegSO 2020, say) are mapped through the key. With --synth,
    a synthetic control of the treated RegSO (their unweighted mean when several) is fitted
    as well and written to the folder OUT-stem_synth beside -o (the files of bryta evaluate
    synth); --record then stores it (design synth) instead of the staggered estimate.

    With --per-intervention, each intervention used is also evaluated on its own and a table
    of one row per intervention is written beside -o (OUT-stem_interventions); --record then
    stores each intervention's own estimate instead of the pooled one.

    With --outcomes FILE, the outcome is your own table per RegSO and year (an Excel export,
    a CSV, the per-RegSO output of a bryta command, or dataset:NAME from the warehouse)
    instead of an indicator; --outcome then only names it. The records made with --record
    name the file and its SHA-256.

    Example: bryta evaluate registry --kommun 0180 --outcome born_abroad_pct
    --form permanent_operation -o jarva.csv
    """
    from typing import Literal, cast

    from bryta.app.evaluation import evaluate_registry, record_evaluations
    from bryta.cli._progress import delayed_progress
    from bryta.cli.evaluate_did import placebo_lines, summary_lines

    if outcome is None and outcomes is None:
        raise typer.BadParameter(
            "give --outcome INDICATOR or --outcomes FILE (your own table per RegSO and year)"
        )
    if outcomes is not None and synth_level == "kommun":
        raise typer.BadParameter(
            "--outcomes holds values per RegSO, which cannot be taken to kommun level without "
            "the counts behind them: --synth-level kommun needs an indicator (--outcome)"
        )
    if (kommun is None) == (not all_):
        raise typer.BadParameter("give --kommun CODE or --all (one of them)")
    if control not in _CONTROLS:
        raise typer.BadParameter(f"--control takes never or notyet, not {control!r}")
    if method not in _METHODS:
        raise typer.BadParameter(f"--method takes reg, ipw or dr, not {method!r}")
    if type_source not in _SOURCES:
        raise typer.BadParameter(f"--type-source takes official or proxy, not {type_source!r}")
    if intended is not None and intended not in _DIRECTIONS:
        raise typer.BadParameter(f"--intended takes increase or decrease, not {intended!r}")
    if intended is not None and not record:
        raise typer.BadParameter("--intended needs --record")
    if bootstrap < 0:
        raise typer.BadParameter(f"--bootstrap takes a number of replicates, not {bootstrap}")
    if placebos < 0:
        raise typer.BadParameter(f"--placebos takes a number of draws (0: none), not {placebos}")
    if placebo_shift < 1:
        raise typer.BadParameter(f"--placebo-shift takes 1 year or more, not {placebo_shift}")
    if seed is not None and not bootstrap and not placebos and not synth:
        raise typer.BadParameter("--seed needs --bootstrap N, --placebos N or --synth")
    if predictor and not synth:
        raise typer.BadParameter("--predictor needs --synth")
    if synth_level not in ("regso", "kommun"):
        raise typer.BadParameter(f"--synth-level takes regso or kommun, not {synth_level!r}")
    if synth_level != "regso" and not synth:
        raise typer.BadParameter("--synth-level needs --synth")
    if per_intervention and synth:
        raise typer.BadParameter(
            "--per-intervention and --synth do not go together: the synthetic control has "
            "one treated unit (choose the intervention with --intervention KEY)"
        )
    types: list[int] | None = None
    if pool_type is not None:
        try:
            types = [int(t) for t in split_list(pool_type)]
        except ValueError:
            raise typer.BadParameter(
                f"--pool-type takes area types 1–5, not {pool_type!r}"
            ) from None
    context = make_context(ctx, data_dir=data_dir, database=database)
    panel_options: dict[str, Any] = {
        "outcome": outcome,
        "kommuner": split_list(kommun) if kommun else None,
        "forms": split_list(form),
        "prevention_levels": split_list(prevention),
        "outcome_domains": split_list(domain),
        "min_months": min_months,
        "organisations": split_list(organisation),
        "kommun_links": kommun_links,
        "pool_types": types,
        "pool_kommuner": split_list(pool_kommun),
        "type_source": cast("Literal['official', 'proxy']", type_source),
        "control": cast("Literal['never', 'notyet']", control),
        "drop_incomplete": drop_incomplete,
        "intervention_keys": split_list(intervention),
        "crosswalk": crosswalk,
        "crosswalk_from": crosswalk_from,
        "crosswalk_to": crosswalk_to,
        "crosswalk_weight": crosswalk_weight,
        "crosswalk_min_weight": crosswalk_min_weight,
        "outcomes": outcomes,
        "outcomes_unit": outcomes_unit,
        "outcomes_time": outcomes_time,
        "outcomes_value": outcomes_value,
    }
    fitted: RegistrySynth | None = None
    if synth_level == "kommun":
        try:
            with user_errors("evaluate registry"):
                fitted = _fit_synth(
                    context, output, predictor, seed or 0, panel_options, level="kommun"
                )
                from bryta.app.evaluation_registry_synth import (
                    record_synth,
                    synth_dir,
                    write_registry_synth,
                )

                fitted = write_registry_synth(fitted, synth_dir(output))
                direction = _DIRECTIONS[intended] if intended else None
                recorded = record_synth(context, fitted, direction=direction) if record else []
        finally:
            context.close()
        say(fitted.lines())
        say([f"note: {note}" for note in fitted.notes])
        err_console.print(
            f"wrote {len(fitted.files)} files to {synth_dir(output)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        say(
            [
                f"recorded evaluation {r.record.id} of {r.key or r.title}: "
                f"{r.record.evidence_level}"
                for r in recorded
            ]
        )
        return
    try:
        with user_errors("evaluate registry"):
            if synth:  # fitted first: a synthetic control that cannot be fitted writes nothing
                fitted = _fit_synth(context, output, predictor, seed or 0, panel_options)
            with delayed_progress(max(bootstrap + placebos, 1), _work(bootstrap, placebos)) as bar:
                run = evaluate_registry(
                    context,
                    output,
                    **panel_options,
                    method=cast("Literal['reg', 'ipw', 'dr']", method),
                    bootstrap=bootstrap,
                    placebos=placebos,
                    placebo_shift=placebo_shift,
                    seed=seed,
                    progress=(lambda n: bar.advance_by(n, "bootstrap")) if bootstrap else None,
                    placebo_progress=lambda n: bar.advance_by(n, "placebos"),
                    per_intervention=per_intervention,
                )
            direction = _DIRECTIONS[intended] if intended else None
            if fitted is not None:
                from bryta.app.evaluation_registry_synth import (
                    record_synth,
                    synth_dir,
                    write_registry_synth,
                )

                fitted = write_registry_synth(fitted, synth_dir(output))
                recorded = record_synth(context, fitted, direction=direction) if record else []
            else:
                recorded = record_evaluations(context, run, direction=direction) if record else []
    finally:
        context.close()
    say(run.panel.report.lines())
    lines = summary_lines(run.result)
    if run.placebo is not None:
        lines = [line for line in lines if not line.startswith("note: ")]
        checks = placebo_lines(run.placebo, run.result)
        # the pre-trend verdict right after the placebo in time, before the MDE sentence
        checks.insert(checks.index(run.placebo.sentence), _pre_trend_line(run.pre_trend))
        lines += checks
    else:
        lines.append(
            "no placebos (--placebos 0): no placebo p-value, no pre-trend check, MDE "
            "analytic; --record reaches promising at most"
        )
    say(lines)
    say([f"note: {note}" for note in run.notes])
    table, *beside = run.files
    err_console.print(
        f"wrote {run.result.estimates.height} estimates to {table}; beside it "
        + ", ".join(str(path) for path in beside),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if run.per_intervention:
        say(_intervention_lines(run))
    if fitted is not None:
        say(fitted.lines())
        say([f"note: {note}" for note in fitted.notes])
        err_console.print(
            f"wrote {len(fitted.files)} files to {synth_dir(output)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    say(
        [
            f"recorded evaluation {r.record.id} of {r.key or r.title}: {r.record.evidence_level}"
            for r in recorded
        ]
    )
    if record and fitted is None:
        say(
            [
                f"not recorded: {r.key or r.title} (not estimated on its own)"
                for r in run.per_intervention
                if r.run is None
            ]
        )


def _intervention_lines(run: RegistryEvaluation) -> list[str]:
    """Each intervention's own estimate, one line each."""
    out = [
        "each intervention on its own (its RegSO against the never-treated pool; the other "
        "interventions' RegSO left out):"
    ]
    for row in (r.row() for r in run.per_intervention):
        name = row["key"] or row["title"]
        if row["estimate"] is None:
            out.append(f"  {name}: not estimated, {row['note']}")
            continue
        ci = (
            f" [{row['ci_low']:.4g}, {row['ci_high']:.4g}]"
            if row["ci_low"] is not None and row["ci_high"] is not None
            else ""
        )
        extra = [f"{row['n_treated']} RegSO"]
        if row["mde"] is not None:
            extra.append(f"MDE {row['mde']:.4g}")
        if row["placebo_p"] is not None:
            extra.append(f"placebo p {row['placebo_p']:.3f}")
        if row["pre_trend"] is not None:
            extra.append("pre-trend" if row["pre_trend"] else "no pre-trend")
        out.append(f"  {name}: {row['estimate']:+.4g}{ci}; " + ", ".join(extra))
    return out


def _work(bootstrap: int, placebos: int) -> str:
    return (
        " and ".join(name for name, n in (("bootstrap", bootstrap), ("placebos", placebos)) if n)
        or "estimates"
    )


def _pre_trend_line(flag: bool | None) -> str:
    if flag is None:
        return "pre-trend: not checked (no cohort has enough years before its start)"
    if flag:
        return (
            "pre-trend: yes, the placebo in time's interval excludes 0: the treated RegSO "
            "were already drifting before the start; do not trust the estimates "
            "(--record stores them as insufficient_evidence)"
        )
    return "pre-trend: none found (the placebo in time's interval covers 0)"


def _fit_synth(
    context: Context,
    output: Path,
    predictors: list[str] | None,
    seed: int,
    options: dict[str, Any],
    *,
    level: str = "regso",
) -> RegistrySynth:
    """The synthetic control of ``bryta evaluate registry --synth``, computed, not written."""
    from bryta.app.evaluation import check_outputs
    from bryta.app.evaluation_registry_synth import (
        fit_registry_synth,
        kommun_synth_input,
        registry_synth_input,
        synth_dir,
    )
    from bryta.app.evaluation_synth import check_out_dir
    from bryta.cli._progress import delayed_progress

    check_outputs(output)
    check_out_dir(synth_dir(output))
    if level == "kommun":
        data = kommun_synth_input(context, predictors=predictors, **options)
    else:
        data = registry_synth_input(context, predictors=predictors, **options)
    with delayed_progress(len(data.donors), "placebos") as bar:
        return fit_registry_synth(data, seed=seed, progress=bar.advance_by)


def register(app: typer.Typer) -> None:
    app.command("registry")(registry_command)
