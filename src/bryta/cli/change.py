"""``bryta change``: decompose the change in M between two periods or two regions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from bryta.app.tables import check_writable, read_table, write_table
from bryta.cli._common import err_console, split_list, user_errors
from bryta.cli.mutual import Base, By, CountCol, GroupCol, Groups, Output, Unit
from bryta.compute.segregation.change import mutual_difference
from bryta.errors import BrytaError


def _split(frame: pl.DataFrame, between: str, value: str) -> pl.DataFrame:
    if between not in frame.columns:
        raise BrytaError(f"--between column {between!r} not found")
    part = frame.filter(pl.col(between).cast(pl.String) == value).drop(between)
    if part.height == 0:
        raise BrytaError(f"no rows with {between} = {value!r}")
    return part


def change(
    input: Annotated[Path, typer.Argument(help="Counts (.csv or .parquet): the first period.")],
    unit: Unit,
    output: Output,
    second: Annotated[
        Path | None,
        typer.Argument(help="Counts of the second period (or use --between with one file)."),
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
) -> None:
    """Decompose the change in M into group margins, unit margins and structure (Elbers 2023).

    Example: bryta change panel.csv --between year --first 2020 --second 2023 --unit regso
    --groups born_sweden,born_abroad --by kommun --method shapley -o change.csv
    """
    with user_errors(str(input)):
        check_writable(output)
        data1 = read_table(input)
        if second is not None:
            data2 = read_table(second)
        elif between and first_value is not None and second_value is not None:
            data1, data2 = _split(data1, between, first_value), _split(data1, between, second_value)
        else:
            raise BrytaError("give a second input file, or --between with --first and --second")
        result = mutual_difference(
            data1,
            data2,
            unit=unit,
            groups=split_list(groups),
            by=split_list(by),
            method=method,
            precision=precision,
            base=base,
            group_col=group_col,
            count_col=count_col,
        )
        write_table(result, output)
    err_console.print(f"wrote {result.height} rows to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(change)
