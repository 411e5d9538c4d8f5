"""RegSO maps from the warehouse: imported boundaries are drawn (preferred over the bundled
ones), a fresh import shows at once, other divisions are left out, and the bundled Malmö
boundaries remain the fallback."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import polars as pl
import pytest
import shapely
from fastapi.testclient import TestClient

from bryta.app.context import Context, Settings
from bryta.app.imports import Destination, import_scb_boundaries, store_boundaries
from bryta.geography.areas import areas
from bryta.warehouse import Provenance, Warehouse
from bryta.web.app import create_app
from bryta.web.pages import geo

DATA = Path(__file__).parent / "data" / "scb_geodata"
RECORDED = ["1280R020", "1280R035", "1280R041"]


def import_recorded_malmo(data_dir: Path) -> None:
    """The recorded WFS answer (three of Malmö's RegSO) through the real import."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = "page1" if request.url.params["startIndex"] == "0" else "page2"
        return httpx.Response(200, content=(DATA / f"regso_2020_1280_{page}.json").read_bytes())

    ctx = Context(Settings(data_dir=data_dir), transport=httpx.MockTransport(handler))
    import_scb_boundaries(ctx, "RegSO_2020", Destination(), kommun="1280")


def stockholm_squares(data_dir: Path, name: str = "sthlm", layer: str | None = None) -> list[str]:
    """Squares near Stockholm under the first five real RegSO codes of kommun 0180."""
    codes = sorted(areas("regso").filter(pl.col("kommun") == "0180")["code"].to_list())[:5]
    squares = [
        shapely.box(674_000 + i * 500, 6_580_000, 674_500 + i * 500, 6_580_500) for i in range(5)
    ]
    frame = pl.DataFrame(
        {
            "code": codes,
            "name": [f"Area {i}" for i in range(5)],
            "geometry": pl.Series(shapely.to_wkb(squares), dtype=pl.Binary),
        }
    )
    query = json.dumps({"layer": layer}) if layer else ""
    with Warehouse.open(data_dir) as wh:
        store_boundaries(
            wh,
            name,
            frame,
            Provenance(source="test", licence="CC0 1.0", query=query),
            level="regso",
        )
    return codes


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


def test_imported_boundaries_are_preferred_to_the_bundled_ones(data_dir):
    import_recorded_malmo(data_dir)
    client = TestClient(create_app(Settings(data_dir=data_dir)))
    features = client.get("/geo/regso/1280.geojson").json()["features"]
    assert [f["properties"]["code"] for f in features] == RECORDED
    # lon/lat, where Malmö is
    lon, lat = shapely.get_coordinates(shapely.geometry.shape(features[0]["geometry"]))[0]
    assert 12.9 < lon < 13.1 and 55.5 < lat < 55.7
    assert client.get("/kommun/1280.json").json()["regso_map"] is True


def test_a_fresh_import_shows_on_the_next_request(data_dir):
    client = TestClient(create_app(Settings(data_dir=data_dir)))
    before = client.get("/kommun/0180")
    assert 'id="no-regso-map"' in before.text and '<div id="regso_map"' not in before.text
    assert "bryta import boundaries --scb RegSO_2020 --kommun 0180" in before.text
    assert client.get("/geo/regso/0180.geojson").status_code == 404
    codes = stockholm_squares(data_dir)
    after = client.get("/kommun/0180", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert '<div id="regso_map"' in after.text and 'id="no-regso-map"' not in after.text
    assert client.get("/kommun/0180.json").json()["regso_map"] is True
    features = client.get("/geo/regso/0180.geojson").json()["features"]
    assert [f["properties"]["code"] for f in features] == codes


def test_the_2025_division_is_not_drawn_for_2020_numbers(data_dir):
    stockholm_squares(data_dir, layer="stat:RegSO_2025")
    client = TestClient(create_app(Settings(data_dir=data_dir)))
    assert client.get("/kommun/0180.json").json()["regso_map"] is False
    assert client.get("/geo/regso/0180.geojson").status_code == 404


def test_regso_geojson_bytes_without_a_context_is_the_bundled_malmo(data_dir):
    import_recorded_malmo(data_dir)
    assert len(json.loads(geo.regso_geojson_bytes("1280"))["features"]) == 91
    assert geo.regso_geojson_bytes("0180") is None
    ctx = Context(Settings(data_dir=data_dir))
    assert len(json.loads(geo.regso_geojson_bytes("1280", ctx))["features"]) == 3


def test_omrade_page_draws_its_kommun_where_boundaries_were_imported(data_dir):
    client = TestClient(create_app(Settings(data_dir=data_dir)))
    codes = sorted(areas("regso").filter(pl.col("kommun") == "0180")["code"].to_list())
    before = client.get(f"/omrade/{codes[0]}").text
    assert 'id="no-regso-map"' in before and 'data-plot="area_map"' not in before
    assert "--kommun 0180" in before
    stockholm_squares(data_dir)
    html = client.get(f"/omrade/{codes[0]}").text
    assert 'id="no-regso-map"' not in html
    figure = json.loads(html.split('data-plot="area_map">')[1].split("</script>")[0])
    # every RegSO of Stockholm coloured by type, and this one outlined on top
    assert len(figure["data"][0]["locations"]) == len(codes)
    assert figure["data"][0]["geojson"] == "/geo/regso/0180.geojson"
    assert figure["data"][1]["locations"] == [codes[0]]
    # the charts and their tables are there either way
    assert 'data-plot="indicator_chart"' in html and 'id="indicator-table"' in html
    assert 'data-plot="type_chart"' in html and 'id="type-table"' in html
