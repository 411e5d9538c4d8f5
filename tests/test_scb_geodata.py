"""SCB's geodata WFS: paging, the kommun filter, attributes, CRS, provenance, the CLI, errors.

Offline, against the recorded answers in tests/data/scb_geodata (see its README).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import shapely
import typer
from pyproj import Transformer
from typer.testing import CliRunner

from bryta.app.context import Context, Settings
from bryta.app.imports import Destination, import_scb_boundaries
from bryta.cli import import_boundaries
from bryta.errors import InputError, SourceError
from bryta.ingest.scb_geodata import LAYERS, GeodataClient, GeodataError, GeodataQueryError
from bryta.warehouse import Warehouse

DATA = Path(__file__).parent / "data" / "scb_geodata"
PAGES = ["regso_2020_1280_page1.json", "regso_2020_1280_page2.json"]
CODES = ["1280R020", "1280R035", "1280R041"]
runner = CliRunner()


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class Server:
    """Answers GetFeature from the recorded pages by ``startIndex``; keeps the requests."""

    def __init__(self, pages: list[str] = PAGES, status: int = 200, body: bytes | None = None):
        self.pages, self.status, self.body = pages, status, body
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200 or self.body is not None:
            return httpx.Response(self.status, content=self.body or b"Internal Server Error")
        start = int(request.url.params["startIndex"])
        # the recorded pages hold 2 and 1 features: page 1 starts at 0, page 2 at 2
        name = self.pages[0] if start == 0 else self.pages[1]
        return httpx.Response(
            200, content=(DATA / name).read_bytes(), headers={"content-type": "application/json"}
        )

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def client(server: Server, **options) -> GeodataClient:
    return GeodataClient(transport=server.transport, sleep=lambda _: None, **options)


def expected_geometries(name: str = PAGES[0], *more: str) -> dict[str, shapely.Geometry]:
    """The recorded polygons, read with shapely alone."""
    out = {}
    for page in (name, *more):
        for feature in recorded(page)["features"]:
            out[feature["properties"]["regsokod"]] = shapely.geometry.shape(feature["geometry"])
    return out


# ---- the recorded answers are GeoServer's form -------------------------------------------------
def test_recorded_pages_have_geoservers_form():
    for name in [*PAGES, "regso_2020_1280_wgs84.json"]:
        body = recorded(name)
        assert set(body) == {
            "type",
            "features",
            "totalFeatures",
            "numberMatched",
            "numberReturned",
            "timeStamp",
            "crs",
        }
        assert body["numberReturned"] == len(body["features"])
        for feature in body["features"]:
            assert feature["id"].startswith("RegSO_2020.")
            assert shapely.geometry.shape(feature["geometry"]).is_valid
            assert feature["properties"]["kommunkod"] == "1280"


# ---- paging and the request ----------------------------------------------------------------------
def test_pages_until_every_feature_is_in_and_asks_for_one_kommun():
    server = Server()
    seen = []
    with client(server, page_size=2) as wfs:
        result = wfs.boundaries(
            "RegSO_2020", kommun="1280", progress=lambda d, t: seen.append((d, t))
        )
    assert result.frame.get_column("code").to_list() == CODES
    assert seen == [(2, 3), (3, 3)]
    assert [r.url.params["startIndex"] for r in server.requests] == ["0", "2"]
    params = server.requests[0].url.params
    assert params["service"] == "WFS" and params["request"] == "GetFeature"
    assert params["typeNames"] == "stat:RegSO_2020"
    assert params["outputFormat"] == "application/json"
    assert params["srsName"] == "EPSG:3006"
    assert params["count"] == "2" and params["sortBy"] == "regsokod"
    assert params["CQL_FILTER"] == "kommunkod='1280'"
    assert server.requests[0].url.host == "geodata.scb.se"
    assert server.requests[0].url.path == "/geoserver/stat/wfs"


def test_a_server_cap_below_count_still_pages():
    """GeoServer may send fewer features than ``count``: the next page starts after them."""
    server = Server()
    with client(server) as wfs:  # asks for 500 a page; the server sends 2, then 1
        result = wfs.boundaries("stat:RegSO_2020", kommun="1280")
    assert result.frame.height == 3
    assert [r.url.params["startIndex"] for r in server.requests] == ["0", "2"]


def test_without_kommun_there_is_no_filter():
    server = Server()
    with client(server) as wfs:
        wfs.boundaries("RegSO_2020")
    assert "CQL_FILTER" not in server.requests[0].url.params


def test_the_layers_codes_and_names():
    assert LAYERS["DeSO_2018"].code == "desokod" and LAYERS["DeSO_2018"].area_name is None
    assert LAYERS["RegSO_2025"].type_name == "stat:RegSO_2025"


# ---- attributes and coordinates ------------------------------------------------------------------
def test_attributes_become_code_name_kommun_lan():
    with client(Server()) as wfs:
        result = wfs.boundaries("RegSO_2020", kommun="1280")
    assert result.frame.columns == ["code", "name", "geometry"]
    assert result.frame.get_column("name").to_list() == [
        "Fågelbacken",
        "Hästhagen-Kronprinsen",
        "Kronborg-Pildammsparken-Teatern",
    ]
    assert result.areas.get_column("kommun").unique().to_list() == ["1280"]
    assert result.areas.get_column("lan").unique().to_list() == ["12"]


def test_sweref_answers_are_stored_as_sent():
    with client(Server()) as wfs:
        result = wfs.boundaries("RegSO_2020", kommun="1280")
    expected = expected_geometries(*PAGES)
    for code, wkb in zip(result.frame["code"], result.frame["geometry"], strict=True):
        got = shapely.from_wkb(wkb)
        assert got.equals_exact(shapely.orient_polygons(expected[code]), 1e-6)


def test_lon_lat_answers_are_projected_to_sweref():
    server = Server(pages=["regso_2020_1280_wgs84.json"] * 2)
    with client(server) as wfs:
        result = wfs.boundaries("RegSO_2020", kommun="1280", srs_name="EPSG:4326")
    assert server.requests[0].url.params["srsName"] == "EPSG:4326"
    to_sweref = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    lonlat = expected_geometries("regso_2020_1280_wgs84.json")
    sweref = expected_geometries(*PAGES)
    for code, wkb in zip(result.frame["code"], result.frame["geometry"], strict=True):
        got = shapely.from_wkb(wkb)
        ring = shapely.get_coordinates(lonlat[code])
        east, north = to_sweref.transform(ring[:, 0], ring[:, 1])
        assert got.distance(shapely.Point(east[0], north[0])) < 0.01
        # and the same place as the SWEREF answer, to the rounding of the recorded lon/lat
        assert got.symmetric_difference(sweref[code]).area < 1.0
        x0, y0, x1, y1 = got.bounds
        assert 300_000 < x0 < x1 < 400_000 and 6_100_000 < y0 < y1 < 6_200_000


def test_latitude_first_is_turned_around():
    body = recorded("regso_2020_1280_wgs84.json")
    for feature in body["features"]:
        feature["geometry"] = json.loads(
            shapely.to_geojson(
                shapely.transform(
                    shapely.geometry.shape(feature["geometry"]), lambda xy: xy[:, ::-1]
                )
            )
        )
    server = Server(body=json.dumps(body).encode())
    with client(server) as wfs:
        result = wfs.boundaries("RegSO_2020", kommun="1280", srs_name="EPSG:4326")
    x0, y0, _, _ = shapely.from_wkb(result.frame["geometry"][0]).bounds
    assert 300_000 < x0 < 400_000 and 6_100_000 < y0 < 6_200_000


# ---- errors ------------------------------------------------------------------------------------
def test_http_500_is_a_source_error_with_url_and_status():
    server = Server(status=500)
    with client(server, retries=1) as wfs, pytest.raises(GeodataError) as caught:
        wfs.boundaries("RegSO_2020", kommun="1280")
    assert isinstance(caught.value, SourceError)
    assert caught.value.status == 500
    assert "HTTP 500" in str(caught.value) and "geodata.scb.se/geoserver/stat/wfs" in str(
        caught.value
    )
    assert len(server.requests) == 2  # tried again once


def test_malformed_json_is_a_source_error():
    server = Server(body=b'{"type": "FeatureCollection", "features": [')
    with client(server) as wfs, pytest.raises(GeodataError, match="not JSON"):
        wfs.boundaries("RegSO_2020")


def test_an_xml_exception_report_is_a_source_error():
    report = b'<?xml version="1.0"?><ows:ExceptionReport><ows:ExceptionText>Unknown'
    server = Server(body=report)
    with client(server) as wfs, pytest.raises(GeodataError, match="ExceptionReport"):
        wfs.boundaries("RegSO_2020")


def test_json_that_is_not_a_feature_collection():
    server = Server(body=b'{"type": "Feature"}')
    with client(server) as wfs, pytest.raises(GeodataError, match="FeatureCollection"):
        wfs.boundaries("RegSO_2020")


def test_an_empty_page_before_the_end_is_an_error():
    body = recorded(PAGES[1])
    body["features"], body["numberReturned"] = [], 0
    answers = iter([(DATA / PAGES[0]).read_bytes(), json.dumps(body).encode()])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=next(answers))

    wfs = GeodataClient(transport=httpx.MockTransport(handler), sleep=lambda _: None)
    with wfs, pytest.raises(GeodataError, match="2 of 3 features"):
        wfs.boundaries("RegSO_2020", kommun="1280")


def test_an_area_of_another_kommun_is_an_error():
    with client(Server()) as wfs, pytest.raises(GeodataError, match="kommun '1280', not 0180"):
        wfs.boundaries("RegSO_2020", kommun="0180")


def test_unknown_layer_lists_the_known_ones():
    server = Server()
    with client(server) as wfs, pytest.raises(InputError) as caught:
        wfs.boundaries("RegSO_2018")
    message = str(caught.value)
    assert "RegSO_2018" in message
    assert all(name in message for name in ("RegSO_2020", "DeSO_2018", "RegSO_2025", "DeSO_2025"))
    assert isinstance(caught.value, GeodataQueryError) and not isinstance(caught.value, SourceError)
    assert server.requests == []


def test_a_bad_kommun_code():
    with client(Server()) as wfs, pytest.raises(InputError, match="--kommun"):
        wfs.boundaries("RegSO_2020", kommun="128")


# ---- the use case and the command line -------------------------------------------------------
def test_import_stores_with_provenance(tmp_path):
    server = Server()
    ctx = Context(Settings(data_dir=tmp_path), transport=server.transport, sleep=lambda _: None)
    report = import_scb_boundaries(ctx, "RegSO_2020", Destination(), kommun="1280")
    assert report.stored_as == "regso_2020_1280"
    with Warehouse.open(tmp_path) as wh:
        info, stored = wh.info("regso_2020_1280"), wh.get("regso_2020_1280")
    assert info["kind"] == "geometries"
    assert info["source"] == "SCB öppna geodata (WFS)" and info["licence"] == "CC0 1.0"
    assert info["table_id"] == "stat:RegSO_2020"
    assert info["retrieved_at"] and info["retrieved_at"][:4] >= "2026"
    query = json.loads(info["query"])
    assert query["crs"] == "EPSG:3006" and query["level"] == "regso"
    assert query["layer"] == "stat:RegSO_2020" and query["kommun"] == "1280"
    assert query["urls"] == [str(r.url) for r in server.requests]
    assert stored.get_column("code").to_list() == CODES


def test_a_failure_stores_nothing(tmp_path):
    answers = iter([(DATA / PAGES[0]).read_bytes(), b"<html>proxy error</html>"])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=next(answers))

    ctx = Context(
        Settings(data_dir=tmp_path), transport=httpx.MockTransport(handler), sleep=lambda _: None
    )
    with pytest.raises(SourceError):
        import_scb_boundaries(ctx, "RegSO_2020", Destination(), kommun="1280")
    with Warehouse.open(tmp_path) as wh:
        assert wh.list().height == 0


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """bryta"""

    sub = typer.Typer()
    import_boundaries.register(sub)
    app.add_typer(sub, name="import")
    return app


def test_cli_end_to_end_into_a_warehouse(app, tmp_path):
    server = Server()
    ctx = Context(Settings(), transport=server.transport, sleep=lambda _: None)
    args = ["import", "boundaries", "--scb", "RegSO_2020", "--kommun", "1280"]
    res = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], obj=ctx)
    assert res.exit_code == 0, res.output
    assert "stored 3 areas as 'regso_2020_1280'" in res.output
    with Warehouse.open(tmp_path) as wh:
        stored = wh.get("regso_2020_1280")
    assert stored.get_column("code").to_list() == CODES
    # again: the dataset exists; --replace replaces it
    res = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], obj=ctx)
    assert res.exit_code == 2 and "exists already" in res.output
    res = runner.invoke(app, [*args, "--replace", "--data-dir", str(tmp_path)], obj=ctx)
    assert res.exit_code == 0, res.output


def test_cli_writes_geojson_for_maps(app, tmp_path):
    ctx = Context(Settings(), transport=Server().transport, sleep=lambda _: None)
    out = tmp_path / "malmo.geojson"
    res = runner.invoke(
        app,
        ["import", "boundaries", "--scb", "RegSO_2020", "--kommun", "1280", "-o", str(out)],
        obj=ctx,
    )
    assert res.exit_code == 0, res.output
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert [f["properties"]["code"] for f in collection["features"]] == CODES
    lon, lat = shapely.get_coordinates(
        shapely.geometry.shape(collection["features"][0]["geometry"])
    )[0]
    assert 12.9 < lon < 13.1 and 55.5 < lat < 55.7


def test_cli_errors(app, tmp_path):
    ctx = Context(Settings(), transport=Server(status=500).transport, sleep=lambda _: None)
    base = ["import", "boundaries", "--data-dir", str(tmp_path)]
    res = runner.invoke(app, [*base, "--scb", "RegSO_2019"], obj=ctx)
    assert res.exit_code == 2 and "RegSO_2020, RegSO_2025, DeSO_2018, DeSO_2025" in res.output
    res = runner.invoke(app, [*base, "--scb", "RegSO_2020", "--kommun", "1280"], obj=ctx)
    assert res.exit_code == 3 and "HTTP 500" in res.output
    with Warehouse.open(tmp_path) as wh:
        assert wh.list().height == 0
    res = runner.invoke(app, [*base, "--scb", "RegSO_2020", "x.gpkg"], obj=ctx)
    assert res.exit_code == 2 and "not both" in res.output
    res = runner.invoke(app, base, obj=ctx)
    assert res.exit_code == 2 and "--scb" in res.output
    res = runner.invoke(app, [*base, "--scb", "RegSO_2020", "--level", "regso"], obj=ctx)
    assert res.exit_code == 2 and "--level: only for a boundary FILE" in res.output
