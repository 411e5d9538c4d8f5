"""``bryta measure`` and ``bryta indices``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal, TypedDict, cast

import typer

from bryta.cli._common import check_output, emit, index_names, split_list, user_errors
from bryta.cli.options import Result, Where
from bryta.cli.spatial_options import (
    Alpha,
    Beta,
    Boundaries,
    BoundaryCode,
    Center,
    Distance,
    Kernel,
    Metric,
    ProfileSteps,
    Standardize,
    Weights,
    check_boundaries,
    read_weights,
    spatial_parameters,
)

_EXPECTED = ("expected", "expected_se", "adjusted")

CiMethod = Literal["bias_corrected", "percentile"]


class _Common(TypedDict):
    """The arguments ``measure`` passes to the engine, the bootstrap and ``expected`` alike."""

    unit: str
    groups: list[str] | None
    by: list[str] | None
    indices: list[str]
    focal: list[str] | None
    group_col: str | None
    count_col: str | None
    b: float
    base: float
    density_optimizer: str


def measure(
    input: Annotated[Path, typer.Argument(help="Counts table (.csv, .xlsx or .parquet).")],
    unit: Annotated[str, typer.Option(help="Column naming the unit (area).")],
    groups: Annotated[
        str | None, typer.Option(help="Count columns, comma-separated (wide input).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Partition key columns, comma-separated.")] = None,
    where: Where = None,
    index: Annotated[
        list[str] | None,
        typer.Option("--index", help="Index to compute (repeatable); all when omitted."),
    ] = None,
    focal: Annotated[
        str | None, typer.Option(help="Focal group(s) for two-group indices, comma-separated.")
    ] = None,
    group_col: Annotated[
        str | None, typer.Option(help="Long input: the column naming the group.")
    ] = None,
    count_col: Annotated[
        str | None, typer.Option(help="Long input: the column holding the count.")
    ] = None,
    b: Annotated[float, typer.Option("--b", help="Atkinson's shape parameter.")] = 0.5,
    base: Annotated[
        float, typer.Option(help="Log base for mutual_information and diversity.")
    ] = math.e,
    reasons: Annotated[
        bool, typer.Option("--reasons", help="Add a column saying why a value is NaN.")
    ] = False,
    bootstrap: Annotated[
        int | None,
        typer.Option(
            "--bootstrap",
            help="Replicates of an individual-level bootstrap: adds value_bc, bias, se, "
            "ci_low, ci_high.",
        ),
    ] = None,
    expected: Annotated[
        int | None,
        typer.Option(
            "--expected",
            help="Random allocations: adds expected, expected_se and adjusted (the index "
            "under random allocation of people to units, for small-unit bias).",
        ),
    ] = None,
    random_margins: Annotated[
        bool,
        typer.Option(
            "--random-margins",
            help="With --expected: draw tables from the independence model (margins vary) "
            "instead of permuting people with every margin fixed.",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed for --bootstrap/--expected and the simulation-based indices."),
    ] = None,
    m: Annotated[
        int, typer.Option("--m", help="con_prof: the number of thresholds (PySAL's m).")
    ] = 1000,
    draws_b: Annotated[
        int,
        typer.Option("--B", help="bias_corrected_dissimilarity: the draws (PySAL's B)."),
    ] = 500,
    iterations: Annotated[
        int,
        typer.Option(help="modified_dissimilarity and modified_gini: the draws (PySAL's)."),
    ] = 500,
    density_optimizer: Annotated[
        str,
        typer.Option(
            help="density_corrected_dissimilarity: 'nelder_mead' (PySAL's optimiser and "
            "value) or 'exact' (the true modes; see docs/indices.md)."
        ),
    ] = "nelder_mead",
    ci: Annotated[float, typer.Option(help="Confidence level of the interval.")] = 0.95,
    ci_method: Annotated[
        str, typer.Option(help="'bias_corrected' (centred on value_bc) or 'percentile'.")
    ] = "bias_corrected",
    drop_totals: Annotated[
        bool,
        typer.Option(
            "--drop-totals",
            help="Drop units that are totals (Sverige, riket, totalt) and groups that are "
            "(totalt, samtliga) instead of refusing them.",
        ),
    ] = False,
    fractional: Annotated[
        bool,
        typer.Option(
            "--fractional", help="Accept counts that are not whole numbers (weighted counts)."
        ),
    ] = False,
    boundaries: Boundaries = None,
    boundary_code: BoundaryCode = None,
    distance: Distance = None,
    kernel: Kernel = "triangular",
    weights: Weights = None,
    center: Center = "mean",
    alpha: Alpha = 0.6,
    beta: Beta = 0.5,
    standardize: Standardize = True,
    profile_steps: ProfileSteps = 1000,
    metric: Metric = "euclidean",
    output: Result = None,
) -> None:
    """Compute segregation indices for every partition of a counts table.

    Example: bryta measure panel.csv --unit regso --groups born_sweden,born_abroad
    --by kommun,year -o results.csv

    --where kommun=1280 measures only the rows of one kommun (values compared as text;
    several values with commas, several columns with several --where).

    With --bootstrap N the output gains value_bc (the bias-corrected estimate = value - bias),
    bias (mean of the replicates - value), se, ci_low and ci_high; value stays the estimate.
    With --expected N it gains expected (the mean over N random allocations with the unit
    and group sizes fixed; --random-margins lets them vary), expected_se and adjusted =
    (value - expected) / (1 - expected) for indices whose maximum is 1.

    The simulation-based indices (bias_corrected_dissimilarity, modified_dissimilarity,
    modified_gini) are computed only when named with --index; --seed makes them reproducible.

    Kommun, län and RegSO codes among the --by columns get their names beside them
    (kommun_name, lan_name, regso_name). A unit or group that is a total (Sverige, riket,
    totalt, samtliga) is refused unless --drop-totals; counts must be whole numbers unless
    --fractional.

    The spatial indices (bryta indices lists them) need --boundaries FILE --boundary-code
    COLUMN: every unit needs a polygon and every polygon a unit. --bootstrap and --expected
    work with them too: people are resampled or moved at random, the boundaries stay.
    --center, --alpha, --beta, --standardize, --profile-steps and --metric are PySAL's
    parameters of the spatial indices (docs/indices.md), with PySAL's defaults.

    With --distance METRES (and --boundaries) every aspatial index is computed on egohoods:
    each group's count replaced by the kernel-weighted (--kernel) sum over the units whose
    centroids lie within METRES, rounded, as PySAL's distance= does; --weights FILE gives the
    egohoods as a table instead.
    """
    from bryta.app.tables import keep_rows, read_table
    from bryta.cli._progress import delayed_progress
    from bryta.compute.segregation.counts import drop_totals as without_totals
    from bryta.compute.segregation.engine import measure as run_measure
    from bryta.compute.segregation.engine import resolve_indices
    from bryta.compute.segregation.inference import bootstrap as run_bootstrap
    from bryta.compute.segregation.inference import expected as run_expected

    ci_method = cast("CiMethod", ci_method)  # the bootstrap refuses any other value
    with user_errors(str(input)):
        check_output(output, [input])
        names = index_names(index)
        check_boundaries(boundaries, boundary_code)
        spatial = spatial_parameters(center, alpha, beta, standardize, profile_steps, metric)
        egohood = distance is not None or weights is not None
        if egohood or kernel != "triangular":
            from bryta.compute.spatial.implicit import check_egohood

            check_egohood(distance, kernel, boundaries, names, weights)
        weight_table = read_weights(weights, split_list(by))
        specs = resolve_indices(names, spatial=boundaries is not None and not egohood)
        frame = keep_rows(read_table(input), where or [], str(input))
        group_list = split_list(groups)
        if drop_totals:
            frame, group_list = without_totals(
                frame, unit=unit, groups=group_list, group_col=group_col
            )
        common: _Common = {
            "unit": unit,
            "groups": group_list,
            "by": split_list(by),
            "indices": [s.name for s in specs],
            "focal": split_list(focal),
            "group_col": group_col,
            "count_col": count_col,
            "b": b,
            "base": base,
            "density_optimizer": density_optimizer,
        }
        if (bootstrap is not None or expected is not None) and reasons:
            raise typer.BadParameter("--reasons cannot be combined with --bootstrap/--expected")
        if random_margins and expected is None:
            raise typer.BadParameter("--random-margins needs --expected N")
        result = None
        if bootstrap is None and expected is None:
            with delayed_progress(len(specs), "measuring") as bar:
                result = run_measure(
                    frame,
                    reasons=reasons,
                    progress=bar.advance_by,
                    fractional=fractional,
                    geometry=boundaries,
                    geometry_code=boundary_code,
                    **spatial,
                    m=m,
                    B=draws_b,
                    iterations=iterations,
                    seed=seed,
                    distance=distance,
                    kernel=kernel,
                    w=weight_table,
                    **common,
                )
        elif bootstrap is not None:
            with delayed_progress(bootstrap, "bootstrap") as bar:
                result = run_bootstrap(
                    frame,
                    n_bootstrap=bootstrap,
                    seed=seed,
                    ci=ci,
                    ci_method=ci_method,
                    progress=bar.advance_by,
                    geometry=boundaries,
                    geometry_code=boundary_code,
                    spatial=spatial,
                    distance=distance,
                    kernel=kernel,
                    w=weight_table,
                    **common,
                )
        if expected is not None:
            with delayed_progress(expected, "random allocations") as bar:
                under_null = run_expected(
                    frame,
                    fixed_margins=not random_margins,
                    n_bootstrap=expected,
                    seed=seed,
                    progress=bar.advance_by,
                    geometry=boundaries,
                    geometry_code=boundary_code,
                    spatial=spatial,
                    distance=distance,
                    kernel=kernel,
                    w=weight_table,
                    **common,
                )
            if result is None:
                result = under_null
            else:  # both: the bootstrap columns, then the random-allocation ones
                keys = [c for c in under_null.columns if c not in (*_EXPECTED, "value")]
                result = result.join(
                    under_null.drop("value"), on=keys, how="left", nulls_equal=True
                )
        assert result is not None  # measured, bootstrapped or simulated above
        nan = result.get_column("value").is_nan().sum()
        note = f" ({nan} NaN: run with --reasons to see why)" if nan and not reasons else ""
        emit(result, output, [input], what="values", note=note)


def indices(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a Markdown table (for the docs).")
    ] = False,
    spatial: Annotated[
        bool,
        typer.Option("--spatial", help="With --markdown: the table of the spatial indices."),
    ] = False,
) -> None:
    """List every index with its kind, formula and literature reference."""
    from rich.console import Console
    from rich.table import Table

    from bryta.compute.segregation.indices import REGISTRY
    from bryta.compute.spatial.indices import SPATIAL_REGISTRY

    if markdown:
        typer.echo(spatial_indices_markdown() if spatial else indices_markdown())
        return
    table = Table(title="bryta indices", show_lines=True)
    for col in ("index", "kind", "formula", "reference"):
        table.add_column(col, overflow="fold")
    for spec in REGISTRY.values():
        table.add_row(spec.name, spec.kind.replace("_", "-"), spec.formula, spec.reference)
    for spec in SPATIAL_REGISTRY.values():
        kind = f"spatial {spec.kind.replace('_', '-')} (--boundaries)"
        table.add_row(spec.name, kind, spec.formula, spec.reference)
    Console().print(table)


def indices_markdown() -> str:
    """The index table as Markdown: name, kind, range, summary, formula, reference and the
    value on the worked example (focal group ``a`` for two-group indices)."""
    lines = [
        "| index | kind | range | what it measures | formula | reference | worked value |",
        "|---|---|---|---|---|---|---|",
    ]
    from bryta.compute.segregation._examples import example_counts
    from bryta.compute.segregation.engine import measure as run_measure
    from bryta.compute.segregation.indices import REGISTRY

    worked = run_measure(
        example_counts(), unit="unit", groups=["a", "b"], focal="a", indices=list(REGISTRY), seed=0
    )
    value = {name: v for name, v in worked.select("index", "value").iter_rows()}
    for s in REGISTRY.values():
        upper = "∞" if s.upper is None else f"{s.upper:g}"
        example = value.get(s.name, math.nan)
        cells = [
            f"`{s.name}`",
            s.kind.replace("_", "-"),
            f"{s.lower:g}–{upper}",
            s.summary,
            s.formula,
            s.reference,
            "—" if math.isnan(example) else f"{example:.4g}" + (" (seed 0)" if s.simulated else ""),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def spatial_indices_markdown() -> str:
    """The spatial index table as Markdown: name, range, summary, formula, reference."""
    from bryta.compute.spatial.indices import SPATIAL_REGISTRY

    lines = [
        "| index | range | what it measures | formula | reference |",
        "|---|---|---|---|---|",
    ]
    for s in SPATIAL_REGISTRY.values():
        lower = "−∞" if math.isinf(s.lower) else f"{s.lower:g}".replace("-", "−")
        upper = "∞" if s.upper is None else f"{s.upper:g}"
        cells = [f"`{s.name}`", f"{lower}–{upper}", s.summary, s.formula, s.reference]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command()(measure)
    app.command()(indices)
