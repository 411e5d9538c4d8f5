"""``bryta evaluate did``: staggered difference-in-differences (Callaway & Sant'Anna) on a
panel file, with two-way fixed effects beside it for comparison."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer

from bryta.cli._common import check_output, emit, err_console, split_list, user_errors
from bryta.cli.options import Result

if TYPE_CHECKING:
    from bryta.compute.evaluation.did import DidResult
    from bryta.compute.evaluation.placebo import PlaceboResult

_CONTROLS = ("never", "notyet")
_METHODS = ("reg", "ipw", "dr")
_BASE_PERIODS = ("varying", "universal")


def did_command(
    input: Annotated[
        Path,
        typer.Argument(
            help="Panel, one row per unit and period (.csv, .xlsx or .parquet); balanced "
            "unless --allow-unbalanced."
        ),
    ],
    unit: Annotated[str, typer.Option(help="Column naming the unit (area).")],
    time: Annotated[str, typer.Option(help="Column holding the period (e.g. year).")],
    outcome: Annotated[str, typer.Option(help="Column holding the outcome.")],
    cohort: Annotated[
        str,
        typer.Option(help="Column holding the first treated period; 0 or empty: never treated."),
    ],
    control: Annotated[
        str,
        typer.Option(
            help="Comparison units: never (never treated) or notyet (also those treated later)."
        ),
    ] = "never",
    method: Annotated[
        str,
        typer.Option(
            help="reg (outcome regression), ipw (inverse probability weighting) or dr "
            "(doubly robust); the same without --covariates."
        ),
    ] = "dr",
    covariates: Annotated[
        str | None,
        typer.Option(help="Columns to adjust for, comma-separated (values in the base period)."),
    ] = None,
    bootstrap: Annotated[
        int,
        typer.Option(
            help="Multiplier bootstrap replicates: bootstrap standard errors and uniform bands "
            "(0: analytic standard errors, pointwise intervals)."
        ),
    ] = 0,
    placebos: Annotated[
        int,
        typer.Option(
            help="Placebo draws among the never-treated units: placebo p-values, a placebo in "
            "time and the minimum detectable effect; written to OUT's stem + _placebo and "
            "_placebo_draws (0: none)."
        ),
    ] = 0,
    placebo_shift: Annotated[
        int,
        typer.Option(
            help="The placebo in time pretends each cohort started this many periods early."
        ),
    ] = 1,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the bootstrap and the placebos (same seed, same numbers)."),
    ] = None,
    anticipation: Annotated[
        int,
        typer.Option(
            help="Periods before its start in which a cohort may already react (announcement "
            "effects): the comparison is made with the period before that window."
        ),
    ] = 0,
    base_period: Annotated[
        str,
        typer.Option(
            help="varying (pre-start estimates compare each period with the one before) or "
            "universal (every estimate compares with the period before the start, reported "
            "as 0)."
        ),
    ] = "varying",
    weights: Annotated[
        str | None,
        typer.Option(
            help="Column of sampling weights, the same in every row of a unit (e.g. the "
            "population)."
        ),
    ] = None,
    allow_unbalanced: Annotated[
        bool,
        typer.Option(
            "--allow-unbalanced",
            help="Accept units lacking some periods (repeated cross-section estimator, "
            "standard errors still clustered by unit).",
        ),
    ] = False,
    twfe_out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the two-way fixed effects event study (event_time, estimate, se, "
            "ci_low, ci_high; reference −1) to this file (.csv, .parquet or .json), for "
            "comparison only: biased when adoption is staggered and effects differ."
        ),
    ] = None,
    output: Result = None,
) -> None:
    """Did units develop differently after their intervention started? Group-time effects
    ATT(g,t) of Callaway & Sant'Anna (2021) and their aggregations: simple, by cohort
    (group), by time since the start (dynamic, the event study) and by period (calendar).

    Writes one row per estimate: aggregation, group, time, event_time, estimate, se, ci_low,
    ci_high; columns that do not apply are empty, each overall value is one row with group,
    time and event_time empty. Two-way fixed effects is printed beside the overall values for
    comparison: it is biased when units start in different periods and effects differ.
    What the design assumes and how to read it: docs/evaluation.md.

    With --placebos N, pseudo-treatments are drawn N times among the never-treated units
    (same cohorts, same estimator), giving each overall estimate a placebo p-value and the
    minimum detectable effect at 80 % power, and each cohort is also given a start
    --placebo-shift periods early (a pre-trend check). With -o OUT.csv they are written to
    OUT_placebo.csv (one row per check: test, aggregation, group, time, event_time, estimate,
    se, ci_low, ci_high, placebo_mean, placebo_sd, p_value, mde, mde_normal, mde_empirical,
    mde_analytic, draws) and OUT_placebo_draws.csv (draw, aggregation, estimate); the same
    suffix as OUT.

    --anticipation, --base-period, --weights and --allow-unbalanced are R did's
    anticipation, base_period, weightsname and allow_unbalanced_panel. --twfe-out FILE writes
    the two-way fixed effects event study (reference period −1) for comparison.

    Example: bryta evaluate did panel.csv --unit regso --time year --outcome employment
    --cohort start_year --control notyet --bootstrap 999 --placebos 200 --seed 1 -o did.csv
    """
    from bryta.app.tables import read_table
    from bryta.cli._progress import delayed_progress
    from bryta.errors import InputError
    from bryta.evaluate import did, placebo

    if control not in _CONTROLS:
        raise typer.BadParameter(f"--control takes never or notyet, not {control!r}")
    if method not in _METHODS:
        raise typer.BadParameter(f"--method takes reg, ipw or dr, not {method!r}")
    if bootstrap < 0:
        raise typer.BadParameter(f"--bootstrap takes a number of replicates, not {bootstrap}")
    if placebos < 0:
        raise typer.BadParameter(f"--placebos takes a number of draws, not {placebos}")
    if placebo_shift < 1:
        raise typer.BadParameter(f"--placebo-shift takes 1 period or more, not {placebo_shift}")
    if seed is not None and not bootstrap and not placebos:
        raise typer.BadParameter("--seed needs --bootstrap N or --placebos N")
    if anticipation < 0:
        raise typer.BadParameter(f"--anticipation takes 0 periods or more, not {anticipation}")
    if base_period not in _BASE_PERIODS:
        raise typer.BadParameter(f"--base-period takes varying or universal, not {base_period!r}")
    extra = placebo_paths(output) if placebos and output is not None else []
    with user_errors(str(input)):
        check_output(output, [input])
        for path in [*extra, *([twfe_out] if twfe_out is not None else [])]:
            check_output(path, [input])
        frame = read_table(input)
        # the design, the same for the estimates and their placebos
        design: dict[str, Any] = {
            "unit": unit,
            "time": time,
            "outcome": outcome,
            "cohort": cohort,
            "control": cast("Literal['never', 'notyet']", control),
            "method": cast("Literal['reg', 'ipw', 'dr']", method),
            "covariates": split_list(covariates),
        }
        with delayed_progress(max(bootstrap, 1), "bootstrap") as bar:
            result = did(
                frame,
                **design,
                bootstrap=bootstrap,
                seed=seed,
                progress=bar.advance_by if bootstrap else None,
                anticipation=anticipation,
                base_period=cast("Literal['varying', 'universal']", base_period),
                weights=weights,
                allow_unbalanced=allow_unbalanced,
            )
        checks = None
        if placebos:
            with delayed_progress(placebos, "placebos") as bar:
                checks = placebo(
                    frame,
                    **design,
                    draws=placebos,
                    seed=seed,
                    shift=placebo_shift,
                    progress=bar.advance_by,
                    anticipation=anticipation,
                    base_period=cast("Literal['varying', 'universal']", base_period),
                    weights=weights,
                    allow_unbalanced=allow_unbalanced,
                )
        if twfe_out is not None and result.twfe_event_study is None:
            raise InputError(f"--twfe-out: {result.twfe_event_study_problem}")
        emit(result.estimates, output, [input], what="estimates")
        if twfe_out is not None and result.twfe_event_study is not None:
            emit(
                result.twfe_event_study.estimates,
                twfe_out,
                [input],
                what="TWFE event-study rows",
            )
        if checks is not None:
            if extra:
                emit(checks.table(), extra[0], [input], what="placebo rows")
                emit(checks.draws, extra[1], [input], what="placebo draws")
            else:
                emit(checks.table(), None)
        lines = summary_lines(result, full=output is not None)
        if checks is not None:
            lines = [line for line in lines if not line.startswith("note: ")]
            lines += placebo_lines(checks, result)
        for line in lines:
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)


def placebo_paths(output: Path) -> list[Path]:
    """Where ``--placebos`` writes beside OUT: its stem + ``_placebo`` and ``_placebo_draws``,
    with OUT's suffix."""
    return [
        output.with_name(f"{output.stem}_placebo{output.suffix}"),
        output.with_name(f"{output.stem}_placebo_draws{output.suffix}"),
    ]


def placebo_lines(checks: PlaceboResult, result: DidResult) -> list[str]:
    """The placebo p-values, the placebo in time and the MDE sentence, for the terminal."""
    import polars as pl

    pseudo = sum(checks.placebo_treated.values())
    lines = [
        f"placebo in space: {checks.n_draws} draws of {pseudo} pseudo-treated among "
        f"{checks.n_never_treated} never-treated units (seed {checks.seed}), "
        f"{checks.seconds:.2f} s:"
    ]
    for agg, est, p, sd, mde in checks.in_space.select(
        "aggregation", "estimate", "p_value", "placebo_sd", "mde"
    ).rows():
        lines.append(
            f"  {agg:<9} {_num(est)}  placebo p {p:.3f}  placebo sd {_num(sd, signed=False)}  "
            f"MDE {_num(mde, signed=False)}"
        )
    overall = checks.in_time.filter(pl.col("aggregation") == "simple")
    if overall.height:
        est, lo, hi = overall.select("estimate", "ci_low", "ci_high").row(0)
        level = round(100 * (1 - result.alpha))
        lines.append(
            f"placebo in time (start pretended {checks.shift} period"
            f"{'s' if checks.shift != 1 else ''} early, periods before "
            f"the real start only): {_num(est)}  [{_num(lo)}, {_num(hi)}] ({level} %)"
        )
    lines.append(checks.sentence)
    lines.extend(f"note: {w}" for w in checks.warnings)
    return lines


def summary_lines(result: DidResult, *, full: bool = True) -> list[str]:
    """The overall estimates with their intervals and TWFE beside them, for the terminal."""
    level = round(100 * (1 - result.alpha))
    lines = []
    if full:
        facts = result.summary()
        cohorts = ", ".join(f"{g}: {n}" for g, n in facts["n_treated"].items())
        lines.append(
            f"{result.n_units} units × {result.n_periods} periods; treated by cohort "
            f"{cohorts}; never treated {facts['n_never_treated']}; control {result.control}, "
            f"method {result.method}"
            + (f", covariates {', '.join(result.covariates)}" if result.covariates else "")
            + (f", anticipation {result.anticipation}" if result.anticipation else "")
            + (", universal base period" if result.base_period == "universal" else "")
            + (f", weights {result.weights}" if result.weights else "")
            + (", unbalanced (repeated cross-section estimator)" if result.unbalanced else "")
        )
        se_kind = (
            f"bootstrap ({result.bootstrap} replicates, seed {result.seed})"
            if result.bootstrap
            else "analytic"
        )
        lines.append(f"overall effects, {level} % intervals, {se_kind} standard errors:")
        for agg, est, se, lo, hi in result.overall.select(
            "aggregation", "estimate", "se", "ci_low", "ci_high"
        ).rows():
            lines.append(
                f"  {agg:<9} {_num(est)}  [{_num(lo)}, {_num(hi)}]  se {_num(se, signed=False)}"
            )
    est, se, lo, hi = result.twfe.select("estimate", "se", "ci_low", "ci_high").row(0)
    lines.append(
        f"  {'TWFE':<9} {_num(est)}  [{_num(lo)}, {_num(hi)}]  se {_num(se, signed=False)}"
    )
    if result.twfe_warning:
        lines.append(f"  TWFE: {result.twfe_warning}")
    lines.extend(f"note: {w}" for w in result.warnings)
    return lines


def _line(name: str, est: float, se: float | None, lo: float | None, hi: float | None) -> str:
    return f"  {name:<9} {_num(est)}  [{_num(lo)}, {_num(hi)}]  se {_num(se, signed=False)}"


def _num(value: float | None, *, signed: bool = True) -> str:
    if value is None or value != value:
        return "NaN"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def register(app: typer.Typer) -> None:
    app.command("did")(did_command)
