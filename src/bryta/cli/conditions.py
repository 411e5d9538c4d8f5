"""``bryta transitions`` and ``bryta inequality``: how areas move between types, and the
ojämlikhetsindex with the per-group segregation index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypedDict

import typer

from bryta.cli._common import check_output, emit, split_list, user_errors
from bryta.cli.mutual import By, CountCol, DropTotals, GroupCol, Input, Output, Unit, read_counts

if TYPE_CHECKING:
    import polars as pl

Period = Annotated[str, typer.Option(help="Column naming the period (e.g. year).")]


class _Transitions(TypedDict):
    """The arguments ``transitions`` passes to each of the transition functions."""

    unit: str
    period: str
    type_col: str
    population: str | None
    n_types: int


class _Inequality(TypedDict):
    """The arguments ``inequality`` passes to either index."""

    unit: str
    by: list[str] | None
    group_col: str | None
    count_col: str | None
    reasons: bool


def _whole_periods(frame: pl.DataFrame, period: str) -> pl.DataFrame:
    """CSV periods are text: make them integers when all are, so 9 sorts before 10."""
    from bryta.compute._coerce import whole_if_possible

    if period not in frame.columns:
        return frame
    return frame.with_columns(whole_if_possible(frame.get_column(period)))


def transitions_command(
    input: Annotated[
        Path,
        typer.Argument(help="Area types, one row per area and period (.csv, .xlsx or .parquet)."),
    ],
    unit: Unit,
    period: Period,
    first: Annotated[str | None, typer.Option(help="The first period.")] = None,
    second: Annotated[str | None, typer.Option(help="The second period.")] = None,
    type_col: Annotated[str, typer.Option(help="Column holding the area type.")] = "area_type",
    population: Annotated[
        str | None, typer.Option(help="Population column: adds people to the counts of areas.")
    ] = None,
    changed: Annotated[
        bool, typer.Option("--changed", help="Write the areas whose type changed instead.")
    ] = False,
    persistence_rates: Annotated[
        bool,
        typer.Option(
            "--persistence",
            help="Write the share keeping their type per consecutive pair of periods instead.",
        ),
    ] = False,
    index_col: Annotated[
        str, typer.Option(help="Index column reported with --changed (left out if absent).")
    ] = "index",
    n_types: Annotated[int, typer.Option(help="Number of area types.")] = 5,
    output: Output = None,
) -> None:
    """Areas (and people) moving between area types from --first to --second.

    Writes the matrix from_type, to_type, areas (population_first, population_second with
    --population); all types x types cells, then rows with a null type for areas that have no
    type in one of the periods. --changed writes the areas whose type changed (with kommun,
    lan, index_first, index_second); --persistence the share of areas keeping their type for
    every pair of consecutive periods (no --first/--second needed).

    Example: bryta transitions area_types.csv --unit regso --period year --first 2020
    --second 2023 --population population -o matrix.csv
    """
    from bryta.app.tables import read_table
    from bryta.compute.conditions.transitions import changed_areas, persistence, transition_matrix

    if changed and persistence_rates:
        raise typer.BadParameter("give --changed or --persistence, not both")
    if not persistence_rates and (first is None or second is None):
        raise typer.BadParameter("give --first and --second (or --persistence)")
    with user_errors(str(input)):
        check_output(output, [input])
        frame = _whole_periods(read_table(input), period)
        common: _Transitions = {
            "unit": unit,
            "period": period,
            "type_col": type_col,
            "population": population,
            "n_types": n_types,
        }
        if persistence_rates:
            result = persistence(frame, **common)
            what = "persistence rates"
        elif changed:
            result = changed_areas(frame, first=first, second=second, index_col=index_col, **common)
            what = "changed areas"
        else:
            result = transition_matrix(frame, first=first, second=second, **common)
            what = "transition cells"
        emit(result, output, [input], what=what)


def inequality_command(
    input: Input,
    unit: Unit,
    by: By = None,
    low: Annotated[
        str | None, typer.Option(help="Lowest income group (count column or group name).")
    ] = None,
    high: Annotated[
        str | None, typer.Option(help="Highest income group (count column or group name).")
    ] = None,
    per_group: Annotated[
        bool,
        typer.Option("--per-group", help="Each of --groups against all the others instead."),
    ] = False,
    groups: Annotated[
        str | None,
        typer.Option(help="With --per-group: the groups, comma-separated (all when long)."),
    ] = None,
    group_col: GroupCol = None,
    count_col: CountCol = None,
    reasons: Annotated[bool, typer.Option(help="Add a column saying why a value is NaN.")] = False,
    drop_totals: DropTotals = False,
    output: Output = None,
) -> None:
    """Ojämlikhetsindex: dissimilarity (0-100) between the lowest and the highest income
    group over the areas of each partition (e.g. each kommun and year).

    --per-group writes instead, for each of --groups, its dissimilarity (0-100) against all
    the other groups combined.

    Example: bryta inequality income.csv --unit regso --by kommun,year --low q1 --high q5
    -o inequality.csv
    """
    from bryta.compute.segregation.inequality import group_segregation, inequality_index

    if per_group and (low or high):
        raise typer.BadParameter("--per-group takes --groups, not --low/--high")
    if not per_group and (low is None or high is None):
        raise typer.BadParameter("give --low and --high (or --per-group --groups A,B,...)")
    with user_errors(str(input)):
        check_output(output, [input])
        frame, names = read_counts(
            input, unit=unit, groups=groups, group_col=group_col, drop_totals=drop_totals
        )
        common: _Inequality = {
            "unit": unit,
            "by": split_list(by),
            "group_col": group_col,
            "count_col": count_col,
            "reasons": reasons,
        }
        if per_group:
            result = group_segregation(frame, groups=names, **common)
        else:
            assert low is not None and high is not None  # checked above
            result = inequality_index(frame, low=low, high=high, **common)
        emit(result, output, [input], what="values")


def register(app: typer.Typer) -> None:
    app.command("transitions")(transitions_command)
    app.command("inequality")(inequality_command)
