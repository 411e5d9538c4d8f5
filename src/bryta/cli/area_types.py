"""``bryta area-types``: the socioeconomic index and the five area types from share columns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import check_output, emit, err_console, split_list, user_errors
from bryta.cli.mutual import Output, Unit

if TYPE_CHECKING:
    import polars as pl

# SCB's band edges, bryta.compute.conditions.area_types.OFFICIAL_CUTOFFS (the default of
# --cutoffs; copied so that the help is shown without importing polars; a test compares them).
OFFICIAL_CUTOFFS: tuple[float, ...] = (2.0, 1.0, 0.0, -1.0)
_CUTOFFS = ",".join(f"{c:g}" for c in OFFICIAL_CUTOFFS)


def _floats(text: str | None, what: str) -> list[float] | None:
    from bryta.compute.conditions.area_types import AreaTypeError

    items = split_list(text)
    if items is None:
        return None
    try:
        return [float(x) for x in items]
    except ValueError:
        raise AreaTypeError(f"--{what} must be numbers separated by commas, not {text!r}") from None


def area_types_command(
    input: Annotated[
        Path, typer.Argument(help="One row per area and period (.csv, .xlsx or .parquet).")
    ],
    unit: Unit,
    period: Annotated[str, typer.Option(help="Column naming the period (e.g. year).")],
    shares: Annotated[str, typer.Option(help="Share columns in percent (0–100), comma-separated.")],
    weights: Annotated[
        str | None,
        typer.Option(help="A weight per share, comma-separated (default: equal weights)."),
    ] = None,
    population: Annotated[
        str | None, typer.Option(help="Population column (needed for --weighted).")
    ] = None,
    weighted: Annotated[
        bool, typer.Option(help="Population-weighted mean and SD (default: unweighted).")
    ] = False,
    ddof: Annotated[int, typer.Option(help="Delta degrees of freedom of the SD: 0 or 1.")] = 0,
    cutoffs: Annotated[
        str,
        typer.Option(help="Band edges in SD from the mean, type 1 first (strictly decreasing)."),
    ] = _CUTOFFS,
    details: Annotated[
        bool, typer.Option(help="Add each period's mean and sd and each area's z.")
    ] = False,
    output: Output = None,
) -> None:
    """Socioeconomic index (mean of the shares) and area type per area and period.

    Defaults follow SCB's method: the unweighted mean of the shares; mean and SD over all
    areas of the period, unweighted, SD with ddof 0; type 1 at index >= mean + 2 SD, 2 from
    +1 SD, 3 from the mean, 4 from -1 SD, 5 below (bands closed below). Output columns:
    <unit>, <period>, index, area_type.

    Example: bryta area-types regso_shares.csv --unit regso --period year
    --shares low_income,low_education,assistance -o area_types.csv
    """
    from bryta.app.tables import read_table
    from bryta.compute.conditions.area_types import area_types

    with user_errors(str(input)):
        check_output(output, [input])
        names = split_list(shares) or []
        frame = read_table(input)
        result = area_types(
            frame,
            unit=unit,
            by=period,
            shares=names,
            weights=_floats(weights, "weights"),
            population=population,
            weighted=weighted,
            ddof=ddof,
            cutoffs=_floats(cutoffs, "cutoffs") or [],
            details=details,
        )
        if population and not details:
            result = result.drop(population)
        emit(result, output, [input], what="area × period rows")
        _summary(result, period)


def _summary(result: pl.DataFrame, period: str) -> None:
    """Areas per type and period on stderr, so a wrong input shows at a glance."""
    import polars as pl
    from rich.table import Table

    counts = (
        result.group_by(period, "area_type")
        .len()
        .sort(period, "area_type", nulls_last=True)
        .with_columns(pl.col("area_type").cast(pl.String).fill_null("none"))
    )
    periods = counts.get_column(period).unique(maintain_order=True).to_list()
    types = counts.get_column("area_type").unique(maintain_order=True).to_list()
    table = Table(title="Areas per type", title_justify="left")
    table.add_column("type")
    for value in periods:
        table.add_column(str(value), justify="right")
    lookup = {(p, t): n for p, t, n in counts.iter_rows()}
    for t in types:
        table.add_row(t, *(str(lookup.get((p, t), 0)) for p in periods))
    err_console.print(table)


def register(app: typer.Typer) -> None:
    app.command("area-types")(area_types_command)
