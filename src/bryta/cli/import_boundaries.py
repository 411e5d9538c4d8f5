"""``bryta import boundaries``: area polygons from a GIS file, or RegSO/DeSO from SCB's geodata
WFS (``--scb RegSO_2020``), into the warehouse (EPSG:3006) and/or a GeoParquet file or a
simplified GeoJSON for web maps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import make_context, say, user_errors
from bryta.cli.options import DataDir, Replace
from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.app.imports import Destination


def boundaries_command(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="GeoPackage, GeoJSON, Shapefile (.shp or .zip) or GeoParquet (not with --scb)."
        ),
    ] = None,
    code: Annotated[
        str | None, typer.Option("--code", help="Column with the area codes (with FILE).")
    ] = None,
    scb: Annotated[
        str | None,
        typer.Option(
            "--scb",
            help="Fetch a layer of SCB's geodata WFS instead of reading a file: RegSO_2020, "
            "DeSO_2018, RegSO_2025 or DeSO_2025 (CC0; needs the network).",
        ),
    ] = None,
    kommun: Annotated[
        str | None,
        typer.Option("--kommun", help="With --scb: only this kommun's areas (e.g. 1280)."),
    ] = None,
    name_col: Annotated[
        str | None, typer.Option("--name-col", help="Column with the area names.")
    ] = None,
    layer: Annotated[
        str | None, typer.Option(help="Layer of a GeoPackage that holds several.")
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option(help="CRS of the coordinates when the file has none (e.g. EPSG:3006)."),
    ] = None,
    level: Annotated[
        str | None, typer.Option(help="Check the codes: lan, kommun, regso or deso.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Store in the warehouse under this name (with --scb default: the layer's "
            "name in lower case, e.g. regso_2020 or regso_2020_1280).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Also write .parquet (GeoParquet, EPSG:3006) or .geojson (simplified, lon/lat).",
        ),
    ] = None,
    tolerance: Annotated[
        float, typer.Option(help="Simplification of a .geojson output, in metres.")
    ] = 100.0,
    source: Annotated[str, typer.Option(help="Who published the file (provenance).")] = (
        "boundary file"
    ),
    licence: Annotated[str, typer.Option(help="The file's licence (provenance).")] = "",
    replace: Replace = False,
    data_dir: DataDir = None,
) -> None:
    """Import area boundaries; geometries are stored in SWEREF 99 TM (EPSG:3006).

    Example: bryta import boundaries RegSO_2025.gpkg --code regsokod --name-col regso
    --level regso --name regso_polygons -o regso.geojson

    From SCB's open geodata (what the web app's maps use): bryta import boundaries
    --scb RegSO_2020 [--kommun 1280]
    """
    from bryta.app.imports import Destination, import_boundaries

    if scb is not None:
        file_options = {
            "--name-col": name_col,
            "--layer": layer,
            "--crs": crs,
            "--level": level,
            "--source": None if source == "boundary file" else source,
            "--licence": licence or None,
        }
        given = [option for option, value in file_options.items() if value is not None]
        if given:
            with user_errors(f"--scb {scb}"):
                raise InputError(
                    f"{', '.join(given)}: only for a boundary FILE; --scb knows the layer's "
                    "columns, CRS, level, source and licence"
                )
        destination = Destination(name, output, replace)
        _from_scb(ctx, scb, file, code, kommun, destination, data_dir, tolerance)
        return
    with user_errors(str(file) if file else ""):
        if kommun is not None:
            raise InputError("--kommun is for --scb; a file is imported whole")
        if file is None:
            raise InputError("give a boundary FILE with --code, or --scb LAYER (e.g. RegSO_2020)")
        if code is None:
            raise InputError(f"{file}: give the column with the area codes with --code")
        report = import_boundaries(
            make_context(ctx, data_dir=data_dir),
            file,
            Destination(name, output, replace),
            code=code,
            name_col=name_col,
            layer=layer,
            crs=crs,
            level=level,
            tolerance=tolerance,
            source=source,
            licence=licence,
        )
    say(report.lines("areas"))


def _from_scb(
    ctx: typer.Context,
    layer: str,
    file: Path | None,
    code: str | None,
    kommun: str | None,
    destination: Destination,
    data_dir: Path | None,
    tolerance: float,
) -> None:
    from bryta.app.imports import import_scb_boundaries
    from bryta.cli._progress import delayed_progress

    with user_errors(f"--scb {layer}"):
        if file is not None or code is not None:
            raise InputError("give either a boundary FILE (with --code) or --scb LAYER, not both")
        with delayed_progress(0, f"SCB {layer}") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.advance_by(done - bar.done, f"{done}/{total} areas")

            report = import_scb_boundaries(
                make_context(ctx, data_dir=data_dir),
                layer,
                destination,
                kommun=kommun,
                tolerance=tolerance,
                progress=progress,
            )
    say(report.lines("areas"))


def register(import_app: typer.Typer) -> None:
    import_app.command("boundaries")(boundaries_command)
