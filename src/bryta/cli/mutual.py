"""``bryta decompose`` and ``bryta local``: the mutual information family on the command line,
and PySAL's local measures (``bryta local --measures``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypedDict

import typer

from bryta.cli._common import check_output, emit, split_list, user_errors
from bryta.cli.options import Result, Where
from bryta.cli.spatial_options import (
    Distance,
    Kernel,
    Weights,
    check_boundaries,
    read_weights,
)

if TYPE_CHECKING:
    import polars as pl

Input = Annotated[Path, typer.Argument(help="Counts table (.csv, .xlsx or .parquet).")]
Unit = Annotated[str, typer.Option(help="Column naming the unit (area).")]
Output = Result
Groups = Annotated[str | None, typer.Option(help="Count columns, comma-separated (wide input).")]
By = Annotated[str | None, typer.Option(help="Partition key columns, comma-separated.")]
GroupCol = Annotated[str | None, typer.Option(help="Long input: the column naming the group.")]
CountCol = Annotated[str | None, typer.Option(help="Long input: the column holding the count.")]
Base = Annotated[float, typer.Option(help="Log base for M (H does not depend on it).")]
DropTotals = Annotated[
    bool,
    typer.Option(
        "--drop-totals",
        help="Drop units that are totals (Sverige, riket, totalt) and groups that are "
        "(totalt, samtliga) instead of refusing them.",
    ),
]


def read_counts(
    input: Path,
    *,
    unit: str,
    groups: str | None,
    group_col: str | None,
    drop_totals: bool,
    where: list[str] | None = None,
) -> tuple[pl.DataFrame, list[str] | None]:
    """The counts table and its groups, the rows meeting ``where`` (``--where``); with
    ``drop_totals`` rows and columns that are totals are dropped (otherwise the computation
    refuses them)."""
    from bryta.app.tables import keep_rows, read_table
    from bryta.compute.segregation.counts import drop_totals as without_totals

    frame, names = keep_rows(read_table(input), where or [], str(input)), split_list(groups)
    if drop_totals:
        frame, names = without_totals(frame, unit=unit, groups=names, group_col=group_col)
    return frame, names


class _Decompose(TypedDict):
    """The arguments ``decompose`` passes to each of the mutual information functions."""

    unit: str
    groups: list[str] | None
    by: list[str] | None
    base: float
    group_col: str | None
    count_col: str | None


def decompose(
    input: Input,
    unit: Unit,
    groups: Groups = None,
    by: By = None,
    where: Where = None,
    within: Annotated[
        str | None,
        typer.Option(help="Strata: per-stratum components M, p, H, ent_ratio."),
    ] = None,
    levels: Annotated[
        str | None,
        typer.Option(help="Nested levels, outermost first (e.g. lan,kommun): the chain of terms."),
    ] = None,
    group_col: GroupCol = None,
    count_col: CountCol = None,
    base: Base = math.e,
    drop_totals: DropTotals = False,
    output: Output = None,
) -> None:
    """Mutual information M and Theil's H: total, per stratum, or along nested levels.

    Example: bryta decompose panel.csv --unit regso --groups born_sweden,born_abroad
    --by year --levels lan,kommun -o chain.csv
    """
    from bryta.compute.segregation.mutual import mutual_nested, mutual_total, mutual_within

    with user_errors(str(input)):
        check_output(output, [input])
        if within and levels:
            raise typer.BadParameter("give --within or --levels, not both")
        frame, names = read_counts(
            input,
            unit=unit,
            groups=groups,
            group_col=group_col,
            drop_totals=drop_totals,
            where=where,
        )
        common: _Decompose = {
            "unit": unit,
            "groups": names,
            "by": split_list(by),
            "base": base,
            "group_col": group_col,
            "count_col": count_col,
        }
        if levels:
            result = mutual_nested(frame, within=split_list(levels), **common)
        elif within:
            result = mutual_within(frame, within=split_list(within), **common)
        else:
            result = mutual_total(frame, **common)
        emit(result, output, [input])


def local(
    input: Input,
    unit: Unit,
    groups: Groups = None,
    by: By = None,
    where: Where = None,
    of: Annotated[str, typer.Option(help="'unit' or 'group': whose local scores.")] = "unit",
    group_col: GroupCol = None,
    count_col: CountCol = None,
    base: Base = math.e,
    drop_totals: DropTotals = False,
    measures: Annotated[
        str | None,
        typer.Option(
            help="PySAL's local measures instead of ls and p, comma-separated, or 'all' "
            "(multi_local_diversity, multi_local_entropy, multi_local_simpson_concentration, "
            "multi_local_simpson_interaction, multi_location_quotient; with --boundaries "
            "also local_distortion, local_relative_centralization).",
        ),
    ] = None,
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries",
            help="With --measures: unit boundaries (GeoParquet, GeoPackage, GeoJSON, "
            "Shapefile) for local_distortion and local_relative_centralization.",
        ),
    ] = None,
    boundary_code: Annotated[
        str | None,
        typer.Option("--boundary-code", help="With --boundaries: the column with the unit codes."),
    ] = None,
    metric: Annotated[
        str, typer.Option(help="With --measures: the centroid distance of local_distortion.")
    ] = "euclidean",
    k: Annotated[
        int, typer.Option(help="With --measures: neighbours of local_relative_centralization.")
    ] = 5,
    distance: Distance = None,
    kernel: Kernel = "triangular",
    weights: Weights = None,
    output: Output = None,
) -> None:
    """Local segregation scores ls and weights p of units or groups (Σ p·ls = M).

    With --measures, PySAL's local measures instead: one row per unit (and group for
    multi_location_quotient and local_relative_centralization) with measure, group and value.

    Example: bryta local panel.csv --unit regso --groups born_sweden,born_abroad --by year
    --measures all --boundaries regso.gpkg --boundary-code regso -o local.csv

    With --measures and --distance METRES (and --boundaries), or --weights FILE, the
    aspatial local measures are computed on egohoods, as PySAL's distance= and w= do.
    """
    from bryta.compute.segregation.mutual import mutual_local

    with user_errors(str(input)):
        check_output(output, [input])
        if of not in ("unit", "group"):
            raise typer.BadParameter(f"--of must be 'unit' or 'group', not {of!r}")
        if measures is None and (boundaries is not None or boundary_code is not None):
            raise typer.BadParameter("--boundaries and --boundary-code need --measures")
        check_boundaries(boundaries, boundary_code)
        egohood = distance is not None or weights is not None or kernel != "triangular"
        if measures is None and egohood:
            raise typer.BadParameter("--distance, --kernel and --weights need --measures")
        if measures is not None and of != "unit":
            raise typer.BadParameter("--of group gives ls and p; it cannot go with --measures")
        frame, names = read_counts(
            input,
            unit=unit,
            groups=groups,
            group_col=group_col,
            drop_totals=drop_totals,
            where=where,
        )
        if measures is not None:
            from bryta.compute.spatial.local import local_measures

            chosen = None if measures.strip() == "all" else split_list(measures)
            result = local_measures(
                frame,
                unit=unit,
                groups=names,
                by=split_list(by),
                measures=chosen,
                group_col=group_col,
                count_col=count_col,
                geometry=boundaries,
                geometry_code=boundary_code,
                metric=metric,
                k=k,
                distance=distance,
                kernel=kernel,
                w=read_weights(weights, split_list(by)),
            )
            emit(result, output, [input])
            return
        result = mutual_local(
            frame,
            unit=unit,
            groups=names,
            by=split_list(by),
            of=of,  # type: ignore[arg-type]  # checked above
            base=base,
            group_col=group_col,
            count_col=count_col,
        )
        emit(result, output, [input])


def register(app: typer.Typer) -> None:
    app.command()(decompose)
    app.command()(local)
