"""HTTP caching of the web app: ETag and 304, Cache-Control, gzip, the warm start, and the
barometer's table computed once when threads ask for it together."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

import polars as pl
import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bryta.app import barometer
from bryta.app.context import Settings
from bryta.web import app as web_app
from bryta.web.app import create_app
from bryta.web.caching import Caching

SEGREGATION = "/api/v1/segregation?level=kommun&year=2023&index=dissimilarity&group=born_abroad"
CACHED = [SEGREGATION, "/api/v1/kommuner", "/api/v1/areas/1280", "/index.json", "/"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("web")))) as client:
        yield client


@pytest.mark.parametrize("url", [*CACHED, "/geo/kommun.geojson"])
def test_if_none_match_gives_304(client, url):
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and etag.endswith('"')
    assert first.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    # a list of tags, the strong form of the same tag, and * match too (RFC 9110 weak match)
    for header in (f'"other", {etag}', etag.removeprefix("W/"), "*"):
        assert client.get(url, headers={"If-None-Match": header}).status_code == 304
    changed = client.get(url, headers={"If-None-Match": 'W/"something-else"'})
    assert changed.status_code == 200
    assert changed.content == first.content


def test_cache_control_per_kind(client):
    assert client.get("/api/v1/kommuner").headers["cache-control"] == "public, max-age=300"
    geo = client.get("/geo/kommun.geojson")
    assert geo.headers["cache-control"] == "public, max-age=86400"
    assert geo.headers["content-type"] == "application/geo+json"
    # pages and their twins depend on the language cookie: no shared cache may keep them
    assert client.get("/index.json").headers["cache-control"] == "private, no-cache"


def test_etag_depends_on_query_and_language_of_pages(client):
    tags = {
        client.get("/index.json").headers["etag"],
        client.get("/index.json?year=2021").headers["etag"],
        client.get("/index.json", headers={"Accept-Language": "en"}).headers["etag"],
    }
    assert len(tags) == 3
    english = client.get("/index.json", headers={"Accept-Language": "en"})
    swedish = client.get("/index.json", headers={"If-None-Match": english.headers["etag"]})
    assert swedish.status_code == 200  # the Swedish answer is not the cached English one
    assert swedish.json()["language"] == "sv" and english.json()["language"] == "en"
    # the API does not depend on the language
    api = [
        client.get("/api/v1/kommuner", headers={"Accept-Language": lang}).headers["etag"]
        for lang in ("sv", "en")
    ]
    assert api[0] == api[1]


def test_errors_are_not_cached(client):
    response = client.get("/api/v1/areas/0199")
    assert response.status_code == 404
    assert "etag" not in response.headers
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("url", [SEGREGATION, "/geo/kommun.geojson", "/", "/openapi.json"])
def test_gzip_when_accepted(client, url):
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    # httpx decodes the body: it equals the plain one, and the wire size is smaller
    assert zipped.content == plain.content
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2


def test_cached_answer_skips_the_route_until_the_version_changes():
    calls: list[str] = []
    version = ["1"]

    def numbers(request: Request) -> JSONResponse:
        calls.append(request.url.query)
        return JSONResponse({"n": len(calls)})

    inner = Starlette(routes=[Route("/api/v1/kommuner", numbers)])
    client = TestClient(Caching(inner, version=lambda: version[0]))
    first = client.get("/api/v1/kommuner")
    assert client.get("/api/v1/kommuner").json() == first.json() == {"n": 1}
    assert client.get("/api/v1/kommuner?x=1").json() == {"n": 2}
    assert len(calls) == 2
    version[0] = "2"  # new data: a new tag, and the route runs again
    fresh = client.get("/api/v1/kommuner", headers={"If-None-Match": first.headers["etag"]})
    assert fresh.status_code == 200 and fresh.json() == {"n": 3}
    assert fresh.headers["etag"] != first.headers["etag"]


def test_paths_outside_the_rules_pass_through():
    calls: list[int] = []

    def other(request: Request) -> PlainTextResponse:
        calls.append(1)
        return PlainTextResponse("x")

    client = TestClient(Caching(Starlette(routes=[Route("/other", other)]), version=lambda: "1"))
    for _ in range(2):
        response = client.get("/other")
        assert "etag" not in response.headers
    assert len(calls) == 2


def test_barometer_table_is_computed_once_by_concurrent_first_calls(monkeypatch):
    computed: list[int] = []
    real = barometer._compute_all_levels

    def slow() -> object:
        computed.append(1)
        time.sleep(0.2)
        return real()

    monkeypatch.setattr(barometer, "_TABLE", [])
    monkeypatch.setattr(barometer, "_compute_all_levels", slow)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(barometer.segregation("riket").height))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert computed == [1]
    assert len(results) == 6 and len(set(results)) == 1 and results[0] > 0


def test_data_version_is_stable_and_names_the_bundled_data():
    version = barometer.data_version()
    assert version == barometer.data_version()
    assert len(version) == 20 and int(version, 16) >= 0


@pytest.mark.parametrize("warm", [True, False])
def test_warm_start_runs_in_the_background(tmp_path, monkeypatch, warm):
    started, release = threading.Event(), threading.Event()

    def fake_warm() -> None:
        started.set()
        release.wait(10)

    monkeypatch.setattr(web_app, "warm_caches", fake_warm)
    app = create_app(Settings(data_dir=tmp_path), warm=warm)
    try:
        with TestClient(app) as client:
            # the app answers while the warm-up is still running
            assert client.get("/healthz").json() == {"status": "ok"}
            assert started.wait(5 if warm else 0.2) is warm
    finally:
        release.set()


# ---- Last-Modified, and the warehouse in the data version --------------------------------------
def test_last_modified_and_if_modified_since(client):
    from email.utils import format_datetime

    first = client.get("/index.json")
    stamp = first.headers["last-modified"]
    assert stamp.endswith(" GMT")
    changed = parsedate_to_datetime(stamp)
    same = client.get("/index.json", headers={"If-Modified-Since": stamp})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == first.headers["etag"]
    assert same.headers["last-modified"] == stamp
    later = format_datetime(changed + timedelta(days=1), usegmt=True)
    assert client.get("/", headers={"If-Modified-Since": later}).status_code == 304
    earlier = format_datetime(changed - timedelta(seconds=1), usegmt=True)
    assert client.get("/index.json", headers={"If-Modified-Since": earlier}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2), and a bad date is ignored
    both = {"If-Modified-Since": later, "If-None-Match": 'W/"other"'}
    assert client.get("/index.json", headers=both).status_code == 200
    bad = client.get("/index.json", headers={"If-Modified-Since": "yesterday"})
    assert bad.status_code == 200


def test_importing_a_dataset_changes_the_etag_and_the_page(tmp_path):
    from bryta.warehouse import Provenance, Warehouse

    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    before = client.get("/index.json", params={"index": "inequality"})
    assert before.json()["measure"]["available"] is False
    tag, stamp = before.headers["etag"], before.headers["last-modified"]
    assert client.get("/api/v1/kommuner").headers["etag"]
    income = pl.DataFrame(
        {
            "regso": ["1280R001", "1280R002"],
            "year": [2022, 2022],
            "q1": [30, 10],
            "q5": [10, 30],
        }
    )
    time.sleep(1.1)  # Last-Modified has whole seconds
    Warehouse.open(tmp_path).put(
        "income_groups", income, kind="counts", provenance=Provenance(source="test")
    )
    after = client.get(
        "/index.json", params={"index": "inequality"}, headers={"If-None-Match": tag}
    )
    assert after.status_code == 200  # the old tag no longer matches: the answer is new
    assert after.headers["etag"] != tag
    assert after.json()["measure"]["available"] is True
    malmo = next(row for row in after.json()["kommuner"] if row["code"] == "1280")
    assert malmo["value"] == pytest.approx(50.0, abs=1e-12)  # 50·(|¾ − ¼| + |¼ − ¾|)
    assert parsedate_to_datetime(after.headers["last-modified"]) > parsedate_to_datetime(stamp)
    since = client.get(
        "/index.json", params={"index": "inequality"}, headers={"If-Modified-Since": stamp}
    )
    assert since.status_code == 200
    # dropping it changes the version again
    version = barometer.data_version(web_context(client))
    Warehouse.open(tmp_path).drop("income_groups")
    assert barometer.data_version(web_context(client)) != version
    assert (
        client.get("/index.json", params={"index": "inequality"}).json()["measure"]["available"]
        is False
    )


def web_context(client: TestClient):
    return client.app.state.context


def test_data_version_of_a_context_without_a_warehouse_is_the_bundled_one(tmp_path):
    from bryta.app.context import Context

    ctx = Context(Settings(data_dir=tmp_path))
    assert barometer.data_version(ctx) == barometer.data_version()
    assert barometer.data_modified(ctx) == barometer.data_modified()


@pytest.mark.parametrize(
    "url",
    [
        "/statistiklabbet",
        "/statistiklabbet.json",
        "/statistiklabbet/data.csv",
        "/geo/lan.geojson",
        "/geo/regso/1280.geojson",
    ],
)
def test_the_lab_and_the_other_boundaries_are_cached_too(client, url):
    first = client.get(url)
    assert first.status_code == 200 and first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_imported_regso_boundaries_are_revalidated_not_kept_for_a_day(client):
    # an import can replace them: a browser must ask again (and gets a cheap 304)
    assert client.get("/geo/regso/1280.geojson").headers["cache-control"] == "public, no-cache"
