"""The Metod and Område pages: in Swedish and English, the Område page's JSON twin equal to
the area profile, and the 404 of an unknown code."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bryta.app.context import Settings
from bryta.app.profiles import area_profile
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


def _no_nan(value):
    """The profile as JSON carries it: every NaN is null."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


@pytest.mark.parametrize("code", ["1280R020", "0114R001"])
def test_omrade_json_is_the_area_profile(client, code):
    response = client.get(f"/omrade/{code}.json")
    assert response.status_code == 200
    assert response.json() == _no_nan(area_profile(code).to_dict())
    assert client.get(f"/omrade/{code}?format=json").json() == response.json()


def _rows(html: str, table_id: str) -> list[str]:
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    return re.findall(r"<tr data-[^>]*>.*?</tr>|<tr>.*?</tr>", table.split("<tbody>")[1])


def test_omrade_in_swedish(client):
    client.cookies.clear()
    html = client.get("/omrade/1280R020").text
    assert '<html lang="sv">' in html
    profile = area_profile("1280R020")
    assert f"<h1>{profile.name} " in html
    assert '<a href="/kommun/1280">Malmö</a>' in html
    assert "Skåne län" in html
    # one row per indicator and year, the value with a decimal comma, the ranks as given
    indicators = profile.indicators
    rows = _rows(html, "indicator-table")
    assert len(rows) == indicators.height
    born = indicators.filter(indicator="born_abroad_pct", year=2023).row(0, named=True)
    row = next(r for r in rows if 'data-indicator="born_abroad_pct" data-year="2023"' in r)
    assert "Utrikes födda, andel av befolkningen (%)" in row
    assert f"{born['value']:.1f}".replace(".", ",") in row
    assert f"{born['rank_kommun']} av {born['n_kommun']}" in row
    assert f"{born['rank_area_type']} av {born['n_area_type']}" in row
    # the type history: SCB's type of 2022 and the proxy years
    types = profile.area_types
    assert len(_rows(html, "type-table")) == types.height
    official = types.filter(source="official").row(0, named=True)
    assert f"SCB:s områdestyp {official['year']}: typ {official['area_type']}" in html
    # the local segregation measures, with a decimal comma
    local = profile.segregation
    seg_rows = _rows(html, "segregation-table")
    assert len(seg_rows) == local.height
    lq = local.filter(dimension="birth_region", index="location_quotient", year=2023)["value"][0]
    row = next(
        r
        for r in seg_rows
        if 'data-index="location_quotient" data-dimension="birth_region" data-year="2023"' in r
    )
    assert "Lokaliseringskvot, utrikes födda" in row
    assert f"{lq:.3f}".replace(".", ",") in row


def test_omrade_in_english(client):
    html = client.get("/omrade/1280R020?lang=en").text
    assert '<html lang="en">' in html
    assert "Indicators, ranked" in html
    assert "Born abroad, share of the population (%)" in html
    assert "Location quotient, born abroad" in html


@pytest.mark.parametrize("code", ["9999R999", "1280", "abc"])
def test_unknown_omrade_is_404(client, code):
    client.cookies.clear()
    page = client.get(f"/omrade/{code}")
    assert page.status_code == 404
    assert "Det finns ingen RegSO med koden" in page.text
    answer = client.get(f"/omrade/{code}.json")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert code in answer.json()["detail"]


def test_kommun_regso_table_links_to_omrade(client):
    html = client.get("/kommun/1280").text
    table = html[html.index('id="regso-table"') :]
    table = table[: table.index("</table>")]
    assert table.count('<a href="/omrade/1280R') == 91
    assert '<a href="/omrade/1280R020">' in table


def test_omrade_is_cached(client):
    first = client.get("/omrade/1280R020.json")
    again = client.get("/omrade/1280R020.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_omrade_notes_are_in_the_page_language(client):
    """The profile's note comes from the app layer in English; the Swedish page shows it in
    Swedish, with no English passage left for screen readers to mispronounce."""
    client.cookies.clear()
    swedish = client.get("/omrade/1280R020?lang=sv").text
    assert "brytas ersättningstyper rangordnar" in swedish
    assert "Proxy area types rank" not in swedish and ' lang="en">' not in swedish
    english = client.get("/omrade/1280R020?lang=en").text
    assert "Proxy area types rank areas" in english


def test_metod_explains_the_spatial_pattern_and_the_kommun_page_links_to_it(client):
    client.cookies.clear()
    html = client.get("/metod").text
    assert 'id="spatial"' in html
    assert "Rumsligt mönster: var områdena ligger" in html
    for dimension in ("jämnhet över gränserna", "koncentration", "centralisering", "klustring"):
        assert dimension in html
    english = client.get("/metod?lang=en").text
    assert "Spatial pattern: where the areas lie" in english
    client.cookies.clear()
    assert 'href="/metod#spatial"' in client.get("/kommun/1280").text
