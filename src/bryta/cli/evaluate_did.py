"""``bryta evaluate did``: staggered difference-in-differences (Callaway & Sant'Anna) on a
panel file, with two-way fixed effects beside it for comparison."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from bryta.cli._common import check_output, emit, err_console, split_list, user_errors
from bryta.cli.options import Result

if TYPE_CHECKING:
    from bryta.compute.evaluation.did import DidResult

_CONTROLS = ("never", "notyet")
_METHODS = ("reg", "ipw", "dr")


def did_command(
    input: Annotated[
        Path,
        typer.Argument(
            help="Panel, one row per unit and period (.csv, .xlsx or .parquet); balanced."
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
    seed: Annotated[
        int | None, typer.Option(help="Seed of the bootstrap (same seed, same numbers).")
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

    Example: bryta evaluate did panel.csv --unit regso --time year --outcome employment
    --cohort start_year --control notyet --bootstrap 999 --seed 1 -o did.csv
    """
    from bryta.app.tables import read_table
    from bryta.cli._progress import delayed_progress
    from bryta.evaluate import did

    if control not in _CONTROLS:
        raise typer.BadParameter(f"--control takes never or notyet, not {control!r}")
    if method not in _METHODS:
        raise typer.BadParameter(f"--method takes reg, ipw or dr, not {method!r}")
    if bootstrap < 0:
        raise typer.BadParameter(f"--bootstrap takes a number of replicates, not {bootstrap}")
    if seed is not None and not bootstrap:
        raise typer.BadParameter("--seed needs --bootstrap N")
    with user_errors(str(input)):
        check_output(output, [input])
        frame = read_table(input)
        with delayed_progress(max(bootstrap, 1), "bootstrap") as bar:
            result = did(
                frame,
                unit=unit,
                time=time,
                outcome=outcome,
                cohort=cohort,
                control=cast("Literal['never', 'notyet']", control),
                method=cast("Literal['reg', 'ipw', 'dr']", method),
                covariates=split_list(covariates),
                bootstrap=bootstrap,
                seed=seed,
                progress=bar.advance_by if bootstrap else None,
            )
        emit(result.estimates, output, [input], what="estimates")
        for line in summary_lines(result, full=output is not None):
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)


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
