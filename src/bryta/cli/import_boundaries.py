"""``bryta import boundaries``: area polygons from a GIS file into the warehouse (EPSG:3006)
and/or a GeoParquet file or a simplified GeoJSON for web maps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import make_context, say, user_errors
from bryta.cli.options import DataDir, Replace


def boundaries_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="GeoPackage, GeoJSON, Shapefile (.shp or .zip) or GeoParquet.")
    ],
    code: Annotated[str, typer.Option("--code", help="Column with the area codes.")],
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
        str | None, typer.Option("--name", help="Store in the warehouse under this name.")
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
    """
    from bryta.app.imports import Destination, import_boundaries

    with user_errors(str(file)):
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


def register(import_app: typer.Typer) -> None:
    import_app.command("boundaries")(boundaries_command)
