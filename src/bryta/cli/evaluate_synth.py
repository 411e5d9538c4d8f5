"""``bryta evaluate synth``: the synthetic control for one treated area or kommun."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import err_console, user_errors


def synth_command(
    input: Annotated[
        Path,
        typer.Argument(help="Panel, one row per unit and period (.csv, .xlsx or .parquet)."),
    ],
    unit: Annotated[str, typer.Option(help="Column naming the unit (area, kommun).")],
    time: Annotated[
        str, typer.Option(help="Column holding the period (whole numbers, e.g. year).")
    ],
    outcome: Annotated[str, typer.Option(help="Column holding the outcome.")],
    treated: Annotated[str, typer.Option(help="The treated unit (a value of --unit).")],
    start: Annotated[int, typer.Option(help="The first period of the intervention.")],
    predictor: Annotated[
        list[str],
        typer.Option(
            help="NAME:FROM-TO (mean over those periods) or NAME:PERIOD, before --start; "
            "repeat for each predictor.",
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Folder for the results (created if needed).")
    ],
    seed: Annotated[int, typer.Option(help="Seed of the random starts of the search.")] = 0,
) -> None:
    """Synthetic control (Abadie, Diamond & Hainmueller 2010): a weighted average of the other
    units that tracks --treated before --start, and the gap after it, with every other unit
    treated in turn as a placebo for the p-value.

    Writes to --out-dir: weights.csv (unit, weight), path.csv (time, treated, synthetic, gap),
    placebos.csv, leave_one_out.csv, summary.json (rmspe_pre, rmspe_post, ratio, p_value,
    average_gap, the predictor balance), path.svg with the same figure as path.png for
    reports, and an offline path.html.

    Example: bryta evaluate synth smoking.csv --unit state --time year --outcome cigsale
    --treated California --start 1989 --predictor retprice:1980-1988
    --predictor cigsale:1975 --predictor cigsale:1988 --out-dir prop99
    """
    from bryta.app.evaluation_synth import check_out_dir, count_donors, run_synth
    from bryta.app.tables import read_table
    from bryta.cli._progress import delayed_progress

    with user_errors(str(input)):
        check_out_dir(out_dir, [input])
        frame = read_table(input)
        with delayed_progress(count_donors(frame, unit), "placebos") as bar:
            run = run_synth(
                input,
                unit=unit,
                time=time,
                outcome=outcome,
                treated=treated,
                start=start,
                predictors=predictor,
                out_dir=out_dir,
                seed=seed,
                frame=frame,
                progress=bar.advance_by,
            )
    result = run.result
    top = result.weights.filter(result.weights["weight"] >= 0.005).head(8)
    say = err_console.print
    say(f"synthetic {result.treated} (from {result.start}), donor weights:", highlight=False)
    for name, weight in top.iter_rows():
        say(f"  {name:<24} {weight:6.3f}", highlight=False, markup=False)
    say(
        f"RMSPE before {result.rmspe_pre:.4g}, after {result.rmspe_post:.4g} "
        f"(ratio {result.ratio:.3g}); average gap from {result.start}: "
        f"{result.average_gap:.4g}",
        highlight=False,
    )
    n = result.placebo_ratios.height
    say(
        f"placebo p-value {result.p_value:.3f} (rank of the ratio among {n} units; "
        f"the smallest possible is 1/{n} = {1 / n:.3f})",
        highlight=False,
    )
    for note in run.notes:
        say(f"note: {note}", highlight=False, markup=False, soft_wrap=True)
    say(f"wrote {len(run.files)} files to {out_dir}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("synth")(synth_command)
