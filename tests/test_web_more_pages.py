"""The Metod and Område pages: in Swedish and English, the Område page's JSON twin equal to
the area profile, and the 404 of an unknown code."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bryta.app.context import Settings
from bryta.web.app import create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    path: Path = tmp_path_factory.mktemp("data")
    return TestClient(create_app(Settings(data_dir=path)))


def test_metod_in_swedish_by_default(client):
    client.cookies.clear()
    response = client.get("/metod")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="sv">' in html
    assert "<h1>Metod</h1>" in html
    for heading in ("Segregationsindex", "De fem områdestyperna", "Varifrån uppgifterna kommer"):
        assert heading in html
    assert "Källa: SCB" in html
    assert 'href="/metod" aria-current="page"' in html
    assert "<script" not in html  # no charts, nothing to run


def test_metod_in_english_on_request(client):
    response = client.get("/metod?lang=en")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    assert "<h1>Methods</h1>" in html
    assert "Dissimilarity index D" in html
    assert "mean + 2 SD" in html
    assert response.cookies.get("lang") == "en"


def test_every_page_links_to_metod(client):
    for path in ("/", "/kommun/1280"):
        assert 'href="/metod"' in client.get(path).text


def test_metod_is_cached_per_language(client):
    client.cookies.clear()  # the language comes from Accept-Language here
    first = client.get("/metod", headers={"Accept-Language": "en"})
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get("/metod", headers={"Accept-Language": "en", "If-None-Match": etag})
    assert again.status_code == 304
    swedish = client.get("/metod", headers={"Accept-Language": "sv"})
    assert swedish.headers["etag"] != etag
