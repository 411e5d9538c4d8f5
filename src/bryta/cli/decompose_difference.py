"""``bryta decompose-difference``: is a difference in segregation spatial or compositional?"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import check_output, emit, index_names, split_list, user_errors
from bryta.cli.mutual import By, CountCol, GroupCol, Groups, Output, Unit
from bryta.cli.spatial_options import check_boundaries


def decompose_difference(
    input: Annotated[
        Path, typer.Argument(help="Counts (.csv, .xlsx or .parquet): the first side.")
    ],
    unit: Unit,
    other: Annotated[
        Path | None,
        typer.Argument(help="Counts of the second side (or use --between with one input)."),
    ] = None,
    groups: Groups = None,
    by: By = None,
    between: Annotated[
        str | None, typer.Option(help="Column telling the two sides apart (one input file).")
    ] = None,
    first_value: Annotated[
        str | None, typer.Option("--first", help="Value of --between for the first side.")
    ] = None,
    second_value: Annotated[
        str | None, typer.Option("--second", help="Value of --between for the second side.")
    ] = None,
    index: Annotated[
        list[str] | None,
        typer.Option(
            "--index", help="Two-group index (repeatable or comma-separated); dissimilarity."
        ),
    ] = None,
    focal: Annotated[
        str | None, typer.Option(help="Focal group(s), comma-separated; every group if omitted.")
    ] = None,
    counterfactual: Annotated[
        str, typer.Option(help="composition, share or dual_composition (PySAL's approaches).")
    ] = "composition",
    boundaries: Annotated[
        Path | None,
        typer.Option(
            "--boundaries",
            help="Unit boundaries (GeoParquet, GeoPackage, GeoJSON, Shapefile) for the spatial "
            "indices; they may hold more areas than the counts.",
        ),
    ] = None,
    boundary_code: Annotated[
        str | None,
        typer.Option("--boundary-code", help="With --boundaries: the column with the unit codes."),
    ] = None,
    second_boundaries: Annotated[
        Path | None,
        typer.Option(
            "--second-boundaries",
            help="Boundaries of the second side when they differ (same --boundary-code).",
        ),
    ] = None,
    group_col: GroupCol = None,
    count_col: CountCol = None,
    b: Annotated[float, typer.Option(help="Atkinson's shape parameter.")] = 0.5,
    base: Annotated[float, typer.Option(help="Log base of the entropy index.")] = math.e,
    output: Output = None,
) -> None:
    """Split the difference of an index between two sides (two years, or two regions) into a
    spatial part and an attribute part (Rey, Cortes & Knaap 2021; PySAL DecomposeSegregation).

    Example: bryta decompose-difference panel.csv --between year --first 2020 --second 2023
    --unit regso --groups born_sweden,born_abroad --focal born_abroad --by kommun
    --index dissimilarity -o parts.csv

    Two inputs instead: bryta decompose-difference malmo.csv goteborg.csv --unit regso ...
    Each partition of --by on the first side is compared with the same partition on the
    second. Output: value_first, value_second, diff (second - first), spatial, attribute
    (spatial + attribute = diff) and the two counterfactual values.
    """
    from bryta.app.tables import read_table
    from bryta.compute.segregation.shapley import decompose_difference as run

    inputs = [input] if other is None else [input, other]
    with user_errors(str(input)):
        check_output(output, inputs)
        check_boundaries(boundaries, boundary_code)
        if second_boundaries is not None and boundaries is None:
            raise typer.BadParameter("--second-boundaries needs --boundaries FILE")
        if other is None and between is None:
            raise typer.BadParameter(
                "give a second input file, or --between with --first and --second"
            )
        if other is not None and between is not None:
            raise typer.BadParameter("give either a second input file or --between, not both")
        if between is not None and (first_value is None or second_value is None):
            raise typer.BadParameter("--between needs --first and --second")
        result = run(
            read_table(input),
            read_table(other) if other is not None else None,
            unit=unit,
            groups=split_list(groups),
            focal=split_list(focal),
            indices=index_names(index) or "dissimilarity",
            by=split_list(by),
            between=between,
            first_value=first_value,
            second_value=second_value,
            counterfactual=counterfactual,  # type: ignore[arg-type]  # checked by run
            geometry=boundaries,
            geometry_code=boundary_code,
            second_geometry=second_boundaries,
            group_col=group_col,
            count_col=count_col,
            b=b,
            base=base,
        )
        emit(result, output, inputs, what="decompositions")


def register(app: typer.Typer) -> None:
    app.command()(decompose_difference)
