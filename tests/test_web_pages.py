"""The pages of the web app: the Sverige page in Swedish and English, its form, its table
alternative and its JSON twin, the files it loads, and the translation catalogues."""

from __future__ import annotations

import gettext
import io
import json
import re
from importlib.resources import files
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

import bryta
from bryta.app.context import Settings
from bryta.datasets import load_demo_panel
from bryta.web.app import create_app

LOCALE = Path(bryta.__file__).parent / "web" / "locale"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    """A client of its own per test: a language cookie never leaks into the next test."""
    return TestClient(create_app(Settings(data_dir=tmp_path)))


@pytest.fixture(scope="module")
def stockholm_d_2023() -> float:
    """Dissimilarity of the foreign-born in Stockholm 2023, by its formula on the panel."""
    panel = load_demo_panel().filter((pl.col("kommun") == "0180") & (pl.col("year") == 2023))
    abroad = panel.get_column("born_abroad").to_numpy().astype(float)
    sweden = panel.get_column("born_sweden").to_numpy().astype(float)
    by_hand = 0.5 * np.abs(abroad / abroad.sum() - sweden / sweden.sum()).sum()
    engine = bryta.measure(
        load_demo_panel(),
        unit="regso",
        groups=["born_sweden", "born_abroad"],
        by=["kommun", "year"],
    ).filter(
        (pl.col("kommun") == "0180")
        & (pl.col("year") == 2023)
        & (pl.col("index") == "dissimilarity")
        & (pl.col("group") == "born_abroad")
    )
    assert engine.get_column("value")[0] == pytest.approx(by_hand, abs=1e-12)
    return float(by_hand)


def table_value(html: str, name: str) -> str:
    match = re.search(
        rf'<th scope="row"><a href="/kommun/\d{{4}}">{name}</a></th><td class="num">([^<]*)</td>',
        html,
    )
    assert match, f"no table row for {name}"
    return match.group(1)


def test_sverige_in_swedish_by_default(client, stockholm_d_2023):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="sv">' in html
    assert "bryta — segregationsbarometer" in html
    assert "Källa: SCB" in html
    assert "<h1>Segregation i Sverige</h1>" in html
    assert f"{stockholm_d_2023:.3f}" == "0.299"
    assert table_value(html, "Stockholm") == "0,299"
    # the kommuner, riket's four years and the five area types
    assert html.count('<th scope="row">') == 290 + 4 + 5
    assert 'href="/?lang=en"' in html  # the language switch


def test_sverige_in_english_on_request(client):
    r = client.get("/", params={"lang": "en"})
    html = r.text
    assert '<html lang="en">' in html
    assert "<h1>Segregation in Sweden</h1>" in html
    assert table_value(html, "Stockholm") == "0.299"
    assert 'href="/?lang=sv"' in html
    assert r.cookies.get("lang") == "en"


@pytest.mark.parametrize(
    ("query", "cookies", "accept", "want"),
    [
        ({}, {}, None, "sv"),
        ({}, {}, "en-GB,en;q=0.9", "en"),
        ({}, {}, "de-DE,en;q=0.5,sv;q=0.8", "sv"),
        ({}, {"lang": "en"}, "sv", "en"),
        ({"lang": "sv"}, {"lang": "en"}, "en", "sv"),
        ({"lang": "xx"}, {}, None, "sv"),
    ],
)
def test_language_order_query_cookie_header(tmp_path, query, cookies, accept, want):
    client = TestClient(create_app(Settings(data_dir=tmp_path)), cookies=cookies)
    headers = {"Accept-Language": accept} if accept else {}
    r = client.get("/", params=query, headers=headers)
    assert f'<html lang="{want}">' in r.text
    assert "Accept-Language" in r.headers["vary"]


def test_form_offers_the_measures_and_years(client):
    html = client.get("/").text
    form = html[html.index("<form") : html.index("</form>")]
    assert 'method="get"' in form
    options = re.findall(r'<option value="([^"]+)"( disabled)?( selected)?>', form)
    assert options == [
        ("dissimilarity", "", " selected"),
        ("theil_h", "", ""),
        ("mutual_information", "", ""),
        ("share_types_1_2", "", ""),
        ("inequality", " disabled", ""),  # no income groups in the bundled data
        ("2020", "", ""),
        ("2021", "", ""),
        ("2022", "", ""),
        ("2023", "", " selected"),
    ]
    assert '<button type="submit">' in form


def test_chosen_measure_and_year_are_shown(client):
    html = client.get("/", params={"index": "theil_h", "year": "2021"}).text
    assert '<option value="theil_h" selected>' in html
    assert '<option value="2021" selected>' in html
    assert "Theils H, födelseregion per kommun, 2021" in html
    want = bryta.measure(
        load_demo_panel().filter(pl.col("year") == 2021),
        unit="regso",
        groups=["born_sweden", "born_abroad"],
        by=["kommun"],
    ).filter((pl.col("kommun") == "1280") & (pl.col("index") == "theil_h"))
    shown = f"{want.get_column('value')[0]:.3f}".replace(".", ",")
    assert table_value(html, "Malmö") == shown


def test_json_twin_has_what_the_page_shows(client, stockholm_d_2023):
    data = client.get("/index.json").json()
    assert data == client.get("/", params={"format": "json"}).json()
    assert data["measure"]["index"] == "dissimilarity"
    assert data["measure"]["group"] == "born_abroad"
    assert data["year"] == 2023
    assert data["years"] == [2020, 2021, 2022, 2023]
    assert [m["index"] for m in data["measures"]] == [
        "dissimilarity",
        "theil_h",
        "mutual_information",
        "share_types_1_2",
        "inequality",
    ]
    assert [m["available"] for m in data["measures"]] == [True, True, True, True, False]
    assert len(data["kommuner"]) == 290
    stockholm = next(row for row in data["kommuner"] if row["code"] == "0180")
    assert stockholm["name"] == "Stockholm"
    assert stockholm["value"] == pytest.approx(stockholm_d_2023, abs=1e-12)
    assert [row["year"] for row in data["riket"]] == [2020, 2021, 2022, 2023]


def test_json_twin_of_a_multigroup_index(client):
    data = client.get("/index.json", params={"index": "mutual_information", "lang": "en"}).json()
    assert data["measure"]["group"] is None
    assert data["measure"]["label"] == "Mutual information M, birth region"
    assert len(data["kommuner"]) == 290  # birth region only, not tenure as well


@pytest.mark.parametrize(
    "params", [{"index": "gini"}, {"year": "1999"}, {"year": "last"}, {"index": "x", "lang": "en"}]
)
def test_bad_choices_are_problem_details(client, params):
    r = client.get("/", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 422


def test_page_loads_nothing_from_other_hosts(client):
    html = client.get("/").text
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert urls and all(url.startswith(("/", "#")) for url in urls), urls
    assert '<script src="/vendor/plotly.min.js">' in html
    assert "https://" not in html and "http://" not in html


def embedded_figure(html: str, plot: str) -> dict:
    start = html.index(f'<script type="application/json" data-plot="{plot}">')
    text = html[html.index(">", start) + 1 : html.index("</script>", start)]
    return json.loads(text)


def test_figures_are_embedded_for_plotly(client):
    html = client.get("/").text
    assert '<div id="map"' in html and '<div id="trend"' in html
    figure = embedded_figure(html, "map")
    (trace,) = figure["data"]
    assert trace["type"] == "choroplethmap"
    assert trace["geojson"] == "/geo/kommun.geojson"
    assert len(trace["locations"]) == 290
    assert figure["layout"]["map"]["style"] == "white-bg"
    assert figure["layout"]["separators"].startswith(",")  # decimal comma in Swedish
    trend = embedded_figure(html, "trend")
    assert trend["data"][0]["x"] == [2020, 2021, 2022, 2023]


def test_plotly_js_is_served_from_the_installed_package(client):
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.content == (files("plotly") / "package_data" / "plotly.min.js").read_bytes()


def test_kommun_geojson(client):
    r = client.get("/geo/kommun.geojson")
    assert r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert len(features) == 290
    assert {f["properties"]["code"] for f in features} >= {"0180", "1280", "2584"}
    point = features[0]["geometry"]["coordinates"]
    while isinstance(point[0], list):  # Polygon or MultiPolygon: its first vertex
        point = point[0]
    lon, lat = point[:2]
    assert 10 < lon < 25 and 55 < lat < 70


def test_pages_are_not_in_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/index.json" not in paths


@pytest.mark.parametrize("language", ["sv", "en"])
def test_compiled_catalogues_are_current(language):
    """The committed .mo holds exactly what the .po says (recompile: docs/web.md, Pages)."""
    po = LOCALE / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    want = gettext.GNUTranslations(buffer)._catalog  # type: ignore[attr-defined]
    with (po.parent / "messages.mo").open("rb") as f:
        have = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    assert have == want, "recompile: uv run pybabel compile -d src/bryta/web/locale"


def test_every_message_has_a_swedish_translation():
    with (LOCALE / "sv" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="sv")
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert not untranslated
    with (LOCALE / "messages.pot").open("rb") as f:
        template = read_po(f)
    assert {m.id for m in template if m.id} == {m.id for m in catalog if m.id}


# ---- the Sverige page's other measures, the area types, htmx ---------------------------------
def _share_types_1_2() -> dict[str, float]:
    """Each kommun's share of its 2022 population in RegSO of official type 1 or 2, by hand."""
    from bryta.datasets import official_area_types

    types = dict(official_area_types().select("regso", "area_type").iter_rows())
    panel = load_demo_panel().filter(pl.col("year") == 2022)
    high: dict[str, float] = {}
    total: dict[str, float] = {}
    for regso, kommun, sweden, abroad in panel.select(
        "regso", "kommun", "born_sweden", "born_abroad"
    ).iter_rows():
        people = float(sweden + abroad)
        total[kommun] = total.get(kommun, 0.0) + people
        if types.get(regso) in (1, 2):
            high[kommun] = high.get(kommun, 0.0) + people
    return {k: high.get(k, 0.0) / total[k] for k in total}


def test_share_in_area_types_1_2_follows_its_own_year(client):
    want = _share_types_1_2()
    # 2023 is a year of the other measures, not of the area types: the page shows 2022, says so
    data = client.get("/index.json", params={"index": "share_types_1_2", "year": 2023}).json()
    assert data["year"] == 2022 and data["requested_year"] == 2023 and data["year_adjusted"]
    assert data["years"] == [2022] and data["measure"]["scale"] == "share"
    values = {row["code"]: row["value"] for row in data["kommuner"]}
    assert len(values) == 290
    for code in ("0180", "1280", "0114", "2584"):
        assert values[code] == pytest.approx(want[code], abs=1e-12)
    assert [row["year"] for row in data["riket"]] == [2022]
    html = client.get("/", params={"index": "share_types_1_2", "year": "2023"}).text
    form = html[html.index("<form") : html.index("</form>")]
    assert re.findall(r'<option value="(\d{4})"', form) == ["2022"]  # no year without numbers
    assert "har siffror endast för 2022, inte för 2023: sidan visar 2022" in html
    malmo = f"{100 * want['1280']:.1f}".replace(".", ",") + "\u00a0%"
    assert table_value(html, "Malmö") == malmo
    figure = embedded_figure(html, "map")
    assert len(figure["data"][0]["z"]) == 290  # never an empty map


def test_year_of_no_measure_is_still_refused(client):
    r = client.get("/index.json", params={"index": "share_types_1_2", "year": 1999})
    assert r.status_code == 422 and "2020" in r.json()["detail"]


def test_inequality_without_income_groups_is_unavailable_not_estimated(client):
    html = client.get("/").text
    assert 'id="unavailable-inequality"' in html
    note = html[html.index('id="unavailable-inequality"') :]
    note = note[: note.index("</p>")]
    assert "inte tillgängligt" in note and "q1" in note and "q5" in note
    data = client.get("/index.json", params={"index": "inequality"}).json()
    assert data["measure"]["available"] is False
    assert data["kommuner"] == [] and data["riket"] == [] and data["year"] is None
    page = client.get("/", params={"index": "inequality"})
    assert page.status_code == 200
    assert 'data-plot="map"' not in page.text and 'id="kommun-table"' not in page.text


INCOME = pl.DataFrame(
    {
        # two kommuner, two years; Malmö's three RegSO and two of Upplands Väsby's
        "regso": ["1280R001", "1280R002", "1280R003", "0114R001", "0114R002"] * 2,
        "year": [2021] * 5 + [2022] * 5,
        "q1": [30, 10, 20, 5, 15, 25, 15, 20, 10, 10],
        "q3": [50] * 10,
        "q5": [10, 30, 20, 15, 5, 10, 30, 20, 10, 10],
    }
)


def _dissimilarity_0_100(low: list[float], high: list[float]) -> float:
    low_a, high_a = np.array(low, dtype=float), np.array(high, dtype=float)
    return float(50 * np.abs(low_a / low_a.sum() - high_a / high_a.sum()).sum())


def test_inequality_from_an_income_dataset_in_the_warehouse(tmp_path):
    from bryta.warehouse import Provenance, Warehouse

    Warehouse.open(tmp_path).put(
        "income_groups", INCOME, kind="counts", provenance=Provenance(source="test fixture")
    )
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    data = client.get("/index.json", params={"index": "inequality", "lang": "en"}).json()
    assert data["measure"]["available"] is True
    assert data["measure"]["source"] == "income_groups"
    assert data["years"] == [2021, 2022] and data["year"] == 2022
    values = {row["code"]: row["value"] for row in data["kommuner"]}
    # Malmö 2022: 50·(|25/60 − 10/60| + |15/60 − 30/60| + |20/60 − 20/60|) = 25
    assert values["1280"] == pytest.approx(25.0, abs=1e-12)
    assert values["0114"] == pytest.approx(0.0, abs=1e-12)  # (10, 10) and (10, 10)
    assert values["0180"] is None  # no income data for Stockholm: no value, not a guess
    riket = {row["year"]: row["value"] for row in data["riket"]}
    assert riket[2021] == pytest.approx(
        _dissimilarity_0_100([30, 10, 20, 5, 15], [10, 30, 20, 15, 5]), abs=1e-12
    )
    html = client.get("/", params={"index": "inequality", "year": 2021, "lang": "en"}).text
    assert 'id="unavailable-inequality"' not in html
    assert table_value(html, "Malmö") == f"{_dissimilarity_0_100([30, 10, 20], [10, 30, 20]):.1f}"
    assert len(embedded_figure(html, "map")["data"][0]["z"]) == 2  # only kommuner with data


def test_population_by_area_type(client):
    from bryta.datasets import official_area_types

    types = official_area_types().select("regso", "area_type")
    panel = load_demo_panel().filter(pl.col("year") == 2022).join(types, on="regso")
    want = {}
    for area_type in range(1, 6):
        rows = panel.filter(pl.col("area_type") == area_type)
        want[area_type] = (rows.height, int((rows["born_sweden"] + rows["born_abroad"]).sum()))
    data = client.get("/index.json", params={"lang": "en"}).json()["area_types"]
    assert data["year"] == 2022
    assert [(r["area_type"], r["areas"], r["population"]) for r in data["rows"]] == [
        (t, *want[t]) for t in range(1, 6)
    ]
    everyone = sum(p for _, p in want.values())
    assert data["rows"][0]["share"] == pytest.approx(want[1][1] / everyone, abs=1e-12)
    assert data["rows"][0]["label"] == "great socioeconomic challenges"
    html = client.get("/").text
    assert 'id="types-table"' in html
    bars = embedded_figure(html, "types")["data"][0]
    assert bars["type"] == "bar" and bars["x"] == [want[t][1] for t in range(1, 6)]


def test_htmx_is_vendored_and_the_form_enhanced(client):
    html = client.get("/").text
    assert '<script src="/static/vendor/htmx/htmx.min.js"></script>' in html
    form = html[html.index("<form") : html.index(">", html.index("<form"))]
    for attribute in (
        'method="get"',
        'action="/"',
        'hx-get="/"',
        'hx-select="#sverige-view"',
        'hx-target="#sverige-view"',
        'hx-push-url="true"',
    ):
        assert attribute in form
    assert 'role="status" aria-live="polite"' in html
    vendored = files("bryta") / "web" / "static" / "vendor" / "htmx"
    served = client.get("/static/vendor/htmx/htmx.min.js")
    assert served.status_code == 200
    assert served.content == (vendored / "htmx.min.js").read_bytes()
    assert (vendored / "LICENSE").is_file()
    assert b"http://" not in served.content and b"https://" not in served.content


def test_form_without_javascript_is_a_plain_get(client):
    """What a browser without JavaScript sends when the form is submitted: a full page for
    the chosen measure; htmx asks for the same URL and keeps #sverige-view of it."""
    params = {"lang": "sv", "index": "share_types_1_2", "year": "2022"}
    plain = client.get("/", params=params)
    assert plain.status_code == 200 and "<html" in plain.text
    assert '<option value="share_types_1_2" selected>' in plain.text
    assert 'data-status="Visar Andel av befolkningen i områdestyp 1–2, 2022."' in plain.text
    htmx = client.get("/", params=params, headers={"HX-Request": "true"})
    assert htmx.text == plain.text
