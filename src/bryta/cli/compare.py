"""``bryta compare``: is a difference between two periods or regions more than chance?"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import err_console, index_names, split_list, user_errors
from bryta.cli.mutual import By, CountCol, GroupCol, Groups, Output, Unit


def compare(
    input: Annotated[Path, typer.Argument(help="Counts table (.csv or .parquet).")],
    unit: Unit,
    between: Annotated[str, typer.Option(help="Column telling the two samples apart.")],
    first: Annotated[str, typer.Option(help="Value of --between for the first sample.")],
    second: Annotated[str, typer.Option(help="Value of --between for the second sample.")],
    output: Output,
    groups: Groups = None,
    by: By = None,
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
) -> None:
    """Difference of each index between two periods or regions, with CI and p-value.

    Example: bryta compare panel.csv --unit regso --groups born_sweden,born_abroad --by kommun
    --between year --first 2020 --second 2023 --index dissimilarity --alternative greater
    -o change.csv
    """
    from bryta.app.comparisons import compare as run_compare
    from bryta.app.tables import check_writable, read_table, write_table
    from bryta.compute.segregation.engine import resolve_indices

    with user_errors(str(input)):
        check_writable(output)
        names = index_names(index)
        specs = resolve_indices(names)
        result = run_compare(
            read_table(input),
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
            base=math.e,
        )
        write_table(result, output)
    err_console.print(f"wrote {result.height} comparisons to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(compare)
