"""``bryta neighbourhoods``: bespoke k-nearest-neighbour contexts of grid cells (EquiPop)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import err_console, split_list, user_errors
from bryta.errors import InputError

if TYPE_CHECKING:
    import polars as pl


def neighbourhoods(
    input: Annotated[
        Path, typer.Argument(help="Cells: coordinates and counts (.csv, .xlsx, .parquet).")
    ],
    x: Annotated[str, typer.Option(help="Column with the x coordinate (projected, metres).")],
    y: Annotated[str, typer.Option(help="Column with the y coordinate (projected, metres).")],
    groups: Annotated[str, typer.Option(help="Count columns, comma-separated; they sum to k.")],
    k: Annotated[str, typer.Option(help="Numbers of nearest people, comma-separated.")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv, .xlsx, .parquet or .json")],
    unit: Annotated[
        str | None,
        typer.Option(help="Column naming the cell, the unit (default: row number from 1)."),
    ] = None,
    engine: Annotated[str, typer.Option(help="auto, grid (square lattice) or tree.")] = "auto",
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Run in tiles on a Dask cluster: its address (tcp://host:8786) or 'local'."
        ),
    ] = None,
    tile_size: Annotated[
        float | None,
        typer.Option(
            help="Tile side in metres (tiles with halos; default 40000 with --scheduler)."
        ),
    ] = None,
    decay: Annotated[
        str | None,
        typer.Option(
            help="Distance decay: exponential:SCALE, gaussian:SCALE or power:SCALE:EXPONENT "
            "(metres); adds <group>_decayed columns."
        ),
    ] = None,
    own_distance: Annotated[
        float,
        typer.Option(help="With --decay: distance charged to a cell's own people (metres)."),
    ] = 0.0,
) -> None:
    """Counts of each group among the k nearest people of every cell, and the radius reached.

    One row per cell and k: <unit>, k, <group counts…>, radius. The ring of cells that crosses k
    is counted proportionally, so each context holds exactly k people (docs/neighbourhoods.md).

    Example: bryta neighbourhoods grid.csv --x x --y y --groups born_sweden,born_abroad
    --k 200,400,800 --unit cell -o contexts.parquet

    With --scheduler (a Dask cluster, or 'local') or --tile-size the cells are done in tiles
    with halos wide enough that every context is complete: the same output as one process.

    With --decay each context's people are also counted weighted by distance from the cell
    (e.g. --decay gaussian:500): columns <group>_decayed after radius.
    """
    from bryta.app.tables import check_writable, read_table, write_table
    from bryta.cli._progress import delayed_progress
    from bryta.compute._coerce import whole_if_possible
    from bryta.compute.spatial.neighbourhoods import knn_contexts
    from bryta.compute.spatial.tiles import tiled_knn_contexts

    with user_errors(str(input)):
        check_writable(output, [input])
        ks = []
        for item in split_list(k) or []:
            try:
                ks.append(int(item))
            except ValueError:
                raise typer.BadParameter(f"--k must be whole numbers, not {item!r}") from None
        if not ks:
            raise typer.BadParameter("--k needs at least one number")
        frame = read_table(input)
        if unit is not None and unit in frame.columns:  # integer ids stay integers
            frame = frame.with_columns(whole_if_possible(frame.get_column(unit)))
        names = split_list(groups) or []
        _refuse_k_above_population(frame, names, ks)
        if scheduler is None and tile_size is None:
            result = knn_contexts(
                frame,
                x=x,
                y=y,
                groups=names,
                k=ks,
                unit=unit,
                engine=engine,  # type: ignore[arg-type]
                decay=decay,
                own_distance=own_distance,
            )
        else:
            with delayed_progress(frame.height, "tiles") as bar:
                result = tiled_knn_contexts(
                    frame,
                    x=x,
                    y=y,
                    groups=names,
                    k=ks,
                    unit=unit,
                    tile_size=tile_size or 40_000.0,
                    scheduler=scheduler,
                    progress=bar.advance_by,
                    decay=decay,
                    own_distance=own_distance,
                )
        write_table(result, output, [input])
    err_console.print(f"wrote {result.height} rows to {output}", highlight=False)


def _refuse_k_above_population(frame: pl.DataFrame, groups: list[str], ks: list[int]) -> None:
    """A k above the population would give rows labelled k that hold everyone (fewer)."""
    from bryta.compute._coerce import counts

    present = [g for g in groups if g in frame.columns]
    if len(present) != len(groups):
        return  # the computation names the missing column
    total = sum(float(counts(frame, g, show=[]).sum()) for g in groups)
    over = [k for k in ks if k > total]
    if over:
        raise InputError(
            f"--k {over[0]:,} is more than the {total:,.0f} people in the table: a context "
            f"cannot hold more people than there are; give k up to {total:,.0f}"
        )


def register(app: typer.Typer) -> None:
    app.command()(neighbourhoods)
