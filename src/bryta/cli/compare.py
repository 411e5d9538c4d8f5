"""``bryta compare``: is a difference between two periods or regions more than chance?"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import check_output, emit, index_names, split_list, user_errors
from bryta.cli.mutual import Base, By, CountCol, GroupCol, Groups, Output, Unit
from bryta.cli.options import Where
from bryta.cli.spatial_options import (
    Alpha,
    Beta,
    Boundaries,
    BoundaryCode,
    Center,
    Metric,
    ProfileSteps,
    Standardize,
    check_boundaries,
    spatial_parameters,
)


def compare(
    input: Annotated[Path, typer.Argument(help="Counts table (.csv or .parquet).")],
    unit: Unit,
    between: Annotated[str, typer.Option(help="Column telling the two samples apart.")],
    first: Annotated[str, typer.Option(help="Value of --between for the first sample.")],
    second: Annotated[str, typer.Option(help="Value of --between for the second sample.")],
    groups: Groups = None,
    by: By = None,
    where: Where = None,
    index: Annotated[
        list[str] | None, typer.Option("--index", help="Index (repeatable); all when omitted.")
    ] = None,
    focal: Annotated[str | None, typer.Option(help="Focal group(s), comma-separated.")] = None,
    method: Annotated[str, typer.Option(help="bootstrap or permutation.")] = "bootstrap",
    alternative: Annotated[
        str, typer.Option(help="two-sided, greater (second more segregated) or less.")
    ] = "two-sided",
    n_bootstrap: Annotated[int, typer.Option("--bootstrap", help="Replicates.")] = 500,
    seed: Annotated[int | None, typer.Option(help="Seed.")] = None,
    ci: Annotated[float, typer.Option(help="Confidence level.")] = 0.95,
    group_col: GroupCol = None,
    count_col: CountCol = None,
    base: Base = math.e,
    boundaries: Boundaries = None,
    boundary_code: BoundaryCode = None,
    center: Center = "mean",
    alpha: Alpha = 0.6,
    beta: Beta = 0.5,
    standardize: Standardize = True,
    profile_steps: ProfileSteps = 1000,
    metric: Metric = "euclidean",
    output: Output = None,
) -> None:
    """Difference of each index between two periods or regions, with CI and p-value.

    Example: bryta compare panel.csv --unit regso --groups born_sweden,born_abroad --by kommun
    --between year --first 2020 --second 2023 --index dissimilarity --alternative greater
    -o change.csv

    The spatial indices need --boundaries FILE --boundary-code COLUMN covering the units of
    both samples; the people are resampled, the boundaries stay.
    """
    from bryta.app.comparisons import compare as run_compare
    from bryta.app.tables import keep_rows, read_table
    from bryta.cli._progress import delayed_progress
    from bryta.compute.segregation.engine import resolve_indices

    with user_errors(str(input)):
        check_output(output, [input])
        names = index_names(index)
        check_boundaries(boundaries, boundary_code)
        spatial = spatial_parameters(center, alpha, beta, standardize, profile_steps, metric)
        specs = resolve_indices(names, spatial=boundaries is not None)
        frame = keep_rows(read_table(input), where or [], str(input))
        with delayed_progress(n_bootstrap, method) as bar:
            result = run_compare(
                frame,
                unit=unit,
                between=between,
                first=first,
                second=second,
                groups=split_list(groups),
                by=split_list(by),
                indices=[s.name for s in specs],
                focal=split_list(focal),
                method=method,
                alternative=alternative,
                n_bootstrap=n_bootstrap,
                seed=seed,
                ci=ci,
                group_col=group_col,
                count_col=count_col,
                base=base,
                progress=bar.advance_by,
                geometry=boundaries,
                geometry_code=boundary_code,
                spatial=spatial,
            )
        emit(result, output, [input], what="comparisons")


def register(app: typer.Typer) -> None:
    app.command()(compare)
