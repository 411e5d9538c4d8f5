"""``bryta change``: decompose the change in M between two periods or two regions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import check_output, emit, split_list, user_errors
from bryta.cli.mutual import Base, By, CountCol, GroupCol, Groups, Output, Unit


def change(
    input: Annotated[
        Path, typer.Argument(help="Counts (.csv, .xlsx or .parquet): the first period.")
    ],
    unit: Unit,
    other: Annotated[
        Path | None,
        typer.Argument(
            help="Counts of the second period or region (or use --between with one input)."
        ),
    ] = None,
    groups: Groups = None,
    by: By = None,
    between: Annotated[
        str | None, typer.Option(help="Column telling the two periods apart (one input file).")
    ] = None,
    first_value: Annotated[
        str | None, typer.Option("--first", help="Value of --between for the first period.")
    ] = None,
    second_value: Annotated[
        str | None, typer.Option("--second", help="Value of --between for the second period.")
    ] = None,
    method: Annotated[str, typer.Option(help="shapley, km or mrc.")] = "shapley",
    precision: Annotated[float, typer.Option(help="IPF convergence precision.")] = 1e-8,
    group_col: GroupCol = None,
    count_col: CountCol = None,
    base: Base = math.e,
    output: Output = None,
) -> None:
    """Decompose the change in M into group margins, unit margins and structure (Elbers 2023).

    Example: bryta change panel.csv --between year --first 2020 --second 2023 --unit regso
    --groups born_sweden,born_abroad --by kommun --method shapley -o change.csv

    Two inputs instead: bryta change counts2020.csv counts2023.csv --unit regso ...
    """
    from bryta.app.comparisons import change as run_change
    from bryta.app.tables import read_table

    inputs = [input] if other is None else [input, other]
    with user_errors(str(input)):
        check_output(output, inputs)
        result = run_change(
            read_table(input),
            read_table(other) if other is not None else None,
            between=between,
            first_value=first_value,
            second_value=second_value,
            unit=unit,
            groups=split_list(groups),
            by=split_list(by),
            method=method,
            precision=precision,
            base=base,
            group_col=group_col,
            count_col=count_col,
        )
        emit(result, output, inputs)


def register(app: typer.Typer) -> None:
    app.command()(change)
