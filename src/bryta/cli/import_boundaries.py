"""``bryta import boundaries``: area polygons from a GIS file into the warehouse (EPSG:3006)
and/or a GeoParquet file or a simplified GeoJSON for web maps."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from bryta.cli._common import err_console, user_errors
from bryta.cli.data import DataDir
from bryta.cli.import_files import Replace, file_provenance
from bryta.errors import BrytaError

OUTPUTS = (".parquet", ".geojson", ".json")
LEVELS = ("lan", "kommun", "regso", "deso")


def boundaries_command(
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
    from bryta.geography.boundaries import (
        read_boundaries,
        simplified_geojson,
        store_boundaries,
        write_geoparquet,
    )
    from bryta.warehouse import Warehouse

    with user_errors(str(file)):
        if name is None and output is None:
            raise typer.BadParameter("give --name (store in the warehouse) and/or -o FILE")
        if output is not None and output.suffix.lower() not in OUTPUTS:
            raise BrytaError(f"{output}: output must be {', '.join(OUTPUTS)}")
        if level is not None and level not in LEVELS:
            raise typer.BadParameter(f"--level must be one of {', '.join(LEVELS)}, not {level!r}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = read_boundaries(file, code=code, name=name_col, layer=layer, crs=crs)
        for warning in caught:
            err_console.print(f"warning: {warning.message}", highlight=False, soft_wrap=True)
        if level is not None:
            _check_level(frame.get_column("code").alias(code), level, str(file))
        if name is not None:
            provenance = file_provenance(file, source, licence)
            details = {"code_column": code, "name_column": name_col, "layer": layer}
            if crs is not None:
                details["source_crs"] = crs
            provenance = dataclasses.replace(
                provenance, query=json.dumps(details, ensure_ascii=False)
            )
            with Warehouse.open(data_dir) as wh:
                store_boundaries(wh, name, frame, provenance, level=level, replace=replace)
                where = wh.path
            err_console.print(
                f"stored {frame.height} areas as {name!r} in {where}", highlight=False
            )
        if output is not None:
            if output.suffix.lower() == ".parquet":
                write_geoparquet(frame, output)
            else:
                collection = simplified_geojson(frame, tolerance_m=tolerance)
                _write_text(
                    output, json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
                )
            err_console.print(f"wrote {frame.height} areas to {output}", highlight=False)


def _check_level(codes: pl.Series, level: str, source: str) -> None:
    """Codes of ``level`` in any of its versions (RegSO 2025 carries SCB's suffix)."""
    from bryta.geography.codes import VERSIONS, code_pattern, validate_codes

    for version in VERSIONS.get(level, ()):
        if codes.str.contains(code_pattern(level, version)).all():
            return
    validate_codes(codes, level, source=source)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def register(import_app: typer.Typer) -> None:
    import_app.command("boundaries")(boundaries_command)
