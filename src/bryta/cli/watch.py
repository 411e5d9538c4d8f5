"""``bryta watch``: the early-warning watch list, from a file, for a kommun or the country."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import err_console, make_context, split_list, user_errors
from bryta.cli.options import Database, DataDir, Result
from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.app.watch import WatchReport

# The defaults of bryta.compute.conditions.early_warning.WatchRule, copied so that the help is
# shown without importing polars (a test compares them).
HORIZON = 5
RISK_THRESHOLD = 0.5
LEVEL = 0.95
BOOTSTRAP = 200
#: Flagged areas listed on the screen beside the file.
SHOWN = 30


def watch_command(
    ctx: typer.Context,
    input: Annotated[
        Path | None,
        typer.Argument(
            help="The index (or its shares) per area and period (.csv, .xlsx or .parquet); "
            "leave out with --kommun or --country."
        ),
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Column naming the area.")] = None,
    period: Annotated[
        str | None, typer.Option(help="Column naming the period (whole numbers, e.g. year).")
    ] = None,
    index: Annotated[
        str | None, typer.Option(help="Column holding the socioeconomic index.")
    ] = None,
    shares: Annotated[
        str | None,
        typer.Option(help="Instead of --index: share columns (0–100), averaged as area-types."),
    ] = None,
    horizon: Annotated[
        int, typer.Option(help="Periods ahead within which a crossing is flagged.")
    ] = HORIZON,
    risk_threshold: Annotated[
        float,
        typer.Option(help="Flag when the risk of type 1 or 2 after 5 periods is this or more."),
    ] = RISK_THRESHOLD,
    level: Annotated[
        float, typer.Option(help="Confidence level of the intervals (0.95: 95 %).")
    ] = LEVEL,
    window: Annotated[
        int | None, typer.Option(help="Fit the trend on the latest N periods (default: all).")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples of the areas for the risks' intervals.")
    ] = BOOTSTRAP,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    kommun: Annotated[
        str | None,
        typer.Option(help="Watch list of this kommun from the warehouse's index history."),
    ] = None,
    country: Annotated[
        bool,
        typer.Option(
            "--country",
            help="Watch list of every RegSO in the warehouse's index history (the whole country).",
        ),
    ] = False,
    data_dir: DataDir = None,
    database: Database = None,
    output: Result = None,
) -> None:
    """Early warning: areas whose index is heading for type 2, with the rule's track record.

    Flags an area not in type 1 or 2 when the trend of its socioeconomic index reaches the
    type-2 threshold (mean + 1 SD of the last period) within --horizon periods, or when its
    probability of type 1 or 2 after 5 periods is at least --risk-threshold. Output columns:
    <unit>, index_last, trend, trend_low, trend_high, crossing_period, risk_1, risk_3, risk_5,
    flagged, reason. The backtest (precision, recall, lead time of the rule on the same
    history) is printed beside the list. See docs/early_warning.md.

    Example: bryta watch regso_index.csv --unit regso --period year --index index -o watch.csv

    Example: bryta watch --kommun 1280 -o malmo_watch.xlsx

    Example: bryta watch --country -o sweden_watch.csv
    """
    from bryta.app import watch as use_case
    from bryta.app.tables import check_writable, read_table, write_table
    from bryta.compute.conditions.early_warning import WatchRule

    with user_errors(str(input) if input is not None else ""):
        rule = WatchRule(horizon=horizon, risk_threshold=risk_threshold, level=level, window=window)
        if bootstrap < 0:
            raise InputError(f"--bootstrap must be 0 or more, not {bootstrap}")
        inputs = [input] if input is not None else []
        if output is not None:
            check_writable(output, inputs)
        if kommun is not None and country:
            raise InputError("give either --kommun CODE or --country, not both")
        if kommun is not None or country:
            form = "--country" if country else "--kommun"
            if input is not None or unit or period or index or shares:
                raise InputError(
                    f"{form} reads the warehouse: give no INPUT, --unit, --period, "
                    "--index or --shares with it"
                )
            context = make_context(ctx, data_dir=data_dir, database=database)
            try:
                if country:
                    report = use_case.watch_country(context, rule=rule, n_boot=bootstrap, seed=seed)
                else:
                    assert kommun is not None
                    report = use_case.watch_kommun(
                        context, kommun, rule=rule, n_boot=bootstrap, seed=seed
                    )
            finally:
                context.close()
        else:
            if input is None:
                raise InputError(
                    "give INPUT (a table per area and period), --kommun CODE or --country"
                )
            if unit is None or period is None:
                raise InputError("INPUT needs --unit and --period")
            names = split_list(shares)
            if (index is None) == (not names):
                raise InputError("give either --index COLUMN or --shares A,B,C")
            report = use_case.watch_table(
                read_table(input),
                unit=unit,
                period=period,
                index_col=index,
                shares=names,
                rule=rule,
                n_boot=bootstrap,
                seed=seed,
            )
        if output is not None:
            write_table(report.table(), output, inputs)
    if output is None:
        from bryta.cli._common import emit

        emit(report.table(), None)
    else:
        err_console.print(f"wrote {report.table().height} areas to {output}", highlight=False)
    _summary(report)


def _summary(report: WatchReport) -> None:
    """The flagged areas with their reasons (and interventions), then the backtest."""
    from bryta.cli._common import say

    flagged = report.flagged
    if report.kommun:
        where = f"kommun {report.kommun}"
    else:
        where = "the country" if report.country else "the input"
    threshold = "" if report.threshold is None else f" (type-2 threshold {report.threshold:.1f})"
    lines = [
        f"{flagged.height} of {report.watch.height} areas of {where} flagged in "
        f"{report.last_period}{threshold}:"
    ]
    for area, reason in flagged.select(report.unit, "reason").head(SHOWN).iter_rows():
        lines.append(f"  {area}: {reason}")
        if report.interventions is not None:
            titles = report.interventions.get(str(area), [])
            lines.append("    interventions: " + ("; ".join(titles) if titles else "none"))
    if flagged.height > SHOWN:
        lines.append(f"  … and {flagged.height - SHOWN} more (see the file)")
    if (report.kommun or report.country) and report.interventions is None:
        lines.append("  (no registry, so no interventions listed: bryta registry init creates it)")
    say(lines + report.backtest.lines())


def register(app: typer.Typer) -> None:
    app.command("watch")(watch_command)
