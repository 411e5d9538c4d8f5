"""The watch list page (/bevakning), its downloads and GET /api/v1/watch, through FastAPI's
TestClient on a warehouse loaded from the recorded SCB answer of the index table (TAB6586
history fixture, served through ``httpx.MockTransport`` and loaded with the project's own
client and indicator loader, as in tests/test_cli_watch.py)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import httpx
import polars as pl
import pytest
import schemathesis
from fastapi.testclient import TestClient

from bryta.app.context import Context, Settings
from bryta.compute.conditions.early_warning import WATCH_COLUMNS
from bryta.ingest.pxweb import PxWebClient
from bryta.warehouse import Warehouse
from bryta.web.app import create_app
from tests.test_cli_watch import HistoryServer, expected_crossing

PROBLEM = "application/problem+json"
KEY = "TEST-WATCH-1"
TITLE = "Läxhjälp i området"


def load_history(data_dir: Path) -> Path:
    """The TAB6586 history fixture loaded into ``data_dir``'s warehouse, offline."""
    from bryta.indicators import load_indicator

    with (
        PxWebClient(transport=httpx.MockTransport(HistoryServer()), sleep=lambda s: None) as client,
        Warehouse.open(data_dir) as wh,
    ):
        load_indicator("socioeconomic_index", client=client, warehouse=wh, level="regso")
    return data_dir


def add_registry(data_dir: Path) -> None:
    """A registry with one published intervention in 0114R003 and one unpublished."""
    from bryta.app.registry import init_registry
    from bryta.registry.records import AreaLinkRecord, InterventionRecord
    from bryta.registry.service import SYSTEM
    from bryta.vocabulary import AreaLevel, Form

    ctx = Context(Settings(data_dir=data_dir))
    try:
        init_registry(ctx)
        for key, title, published in ((KEY, TITLE, True), ("TEST-WATCH-HIDDEN", "Dold", False)):
            ctx.registry(SYSTEM).create_intervention(
                InterventionRecord(
                    key=key,
                    title=title,
                    form=Form.PROJECT,
                    published=published,
                    area_links=[AreaLinkRecord(level=AreaLevel.REGSO, area_code="0114R003")],
                )
            )
    finally:
        ctx.close()


def store_simulated_history(data_dir: Path, *, seed: int = 11) -> Path:
    """A simulated index history 2011–2024 (tests/test_early_warning.py's ``simulate``: a
    fifth of the areas drifting up) stored as SCB's dataset, with Malmö's 91 RegSO codes
    first and other RegSO codes for the rest of the 600 areas, so that Malmö's map (bundled
    boundaries) has flagged areas to outline."""
    from bryta.geography.areas import regso_table
    from bryta.ingest.provenance import Provenance
    from tests.test_early_warning import simulate

    panel, _ = simulate(n=600, periods=14, seed=seed)
    table = regso_table()
    malmo = table.filter(pl.col("kommun") == "1280").get_column("regso").to_list()
    others = table.filter(pl.col("kommun") != "1280").get_column("regso").to_list()
    codes = malmo + others[: 600 - len(malmo)]
    names = {f"a{i:04d}": f"{code}_RegSO2025" for i, code in enumerate(codes)}
    frame = panel.select(
        pl.col("area").replace_strict(names).alias("area"),
        pl.lit("regso").alias("level"),
        (pl.col("year") + 1).alias("year"),
        pl.lit(None, dtype=pl.Float64).alias("numerator"),
        pl.lit(None, dtype=pl.Float64).alias("denominator"),
        pl.col("index").alias("value"),
    )
    with Warehouse.open(data_dir) as wh:
        wh.put(
            "indicator_socioeconomic_index",
            frame,
            kind="indicator",
            provenance=Provenance(source="simulated for the tests", licence="CC0 1.0"),
        )
    return data_dir


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = load_history(tmp_path_factory.mktemp("watch-web"))
    add_registry(path)
    return path


@pytest.fixture(scope="module")
def app(data_dir):
    return create_app(Settings(data_dir=data_dir))


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def empty_client(tmp_path_factory):
    with TestClient(create_app(Settings(data_dir=tmp_path_factory.mktemp("empty")))) as client:
        yield client


@pytest.fixture(scope="module")
def ctx(data_dir):
    context = Context(Settings(data_dir=data_dir))
    yield context
    context.close()


def _rows(html: str) -> list[str]:
    body = html.split('id="watch-table"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr[^>]*>.*?</tr>", body.split("<tbody>", 1)[1], flags=re.S)


def _plot(html: str, name: str) -> dict:
    found = re.search(rf'<script type="application/json" data-plot="{name}">(.*?)</script>', html)
    assert found, f"no figure {name}"
    return json.loads(found.group(1))


# ---- the page ---------------------------------------------------------------------------------


def test_the_country_in_swedish(client, ctx):
    from bryta.app.watch import watch_country

    response = client.get("/bevakning?lang=sv")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="sv">' in html
    assert "Tidig varning" in html
    assert 'href="/bevakning" aria-current="page"' in html
    # the chooser: the whole country first, then the kommuner the history holds
    assert '<option value="" selected>Hela landet</option>' in html
    for code in ("0114", "0180", "1280"):
        assert f'<option value="{code}">' in html
    # the country's list holds its flagged areas only, with the registry's interventions
    report = watch_country(ctx, language="sv")
    flagged = report.flagged.get_column("regso").to_list()
    rows = _rows(html)
    assert len(rows) == len(flagged) > 0
    row = next(r for r in rows if "0114R003" in r)
    assert f'<a href="/insats/{KEY}">{TITLE}</a>' in row
    assert "Dold" not in html
    assert "flaggad" in row
    # the reason in Swedish, with a decimal comma
    assert "med en trend på +0,99 per period" in row
    # the track record in words, the meaning box and the method link
    assert "Precision" in html and "Täckning" in html and "Mediantid" in html
    assert 'href="/metod#bevakning"' in html
    assert "Vad en flagga betyder" in html
    # the kommun map of the country: every kommun with a flagged area outlined
    figure = _plot(html, "map")
    assert figure["data"][1]["geojson"] == "/geo/kommun.geojson"
    counts = dict(zip(figure["data"][1]["locations"], figure["data"][1]["z"], strict=True))
    expected = {}
    for area in flagged:
        expected[area[:4]] = expected.get(area[:4], 0) + 1
    assert {k: v for k, v in counts.items() if v} == expected
    assert sorted(figure["data"][-1]["locations"]) == sorted(expected)
    # the kommuner without RegSO in the history: grey, so the country is drawn whole
    assert len(figure["data"][0]["locations"]) == 290 - 3


def test_a_kommun_in_english_with_its_map(client, ctx):
    from bryta.app.watch import watch_kommun

    response = client.get("/bevakning?kommun=1280&lang=en")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="en">' in html
    assert "Early warning" in html
    assert '<option value="1280" selected>' in html
    report = watch_kommun(ctx, "1280")
    rows = _rows(html)
    assert len(rows) == report.watch.height == 8  # every area of a kommun
    # flagged first, then by the risk in five years
    flags = ["flagged" in r.split("</td>")[5] for r in rows]
    assert flags == sorted(flags, reverse=True)
    # Malmö's bundled boundaries: the RegSO coloured by trend, the flagged ones outlined
    figure = _plot(html, "map")
    trend = figure["data"][0]
    assert trend["geojson"] == "/geo/regso/1280.geojson"
    want = dict(
        report.watch.select(pl.col("regso").str.slice(0, 8), "trend").drop_nulls().iter_rows()
    )
    assert dict(zip(trend["locations"], trend["z"], strict=True)) == pytest.approx(want)
    outlined = set(figure["data"][-1]["locations"])
    assert outlined == {a[:8] for a in report.flagged.get_column("regso").to_list()}
    assert "Precision" in html and "Recall" in html


def test_a_kommun_without_boundaries_names_the_import(client):
    response = client.get("/bevakning?kommun=0114")
    assert response.status_code == 200
    assert 'id="no-map"' in response.text
    assert "bryta import boundaries --scb RegSO_2020 --kommun 0114" in response.text
    # the crossing year and its interval, computed from the fixture with numpy alone
    row = next(r for r in _rows(response.text) if "0114R003" in r)
    assert f">{expected_crossing('0114R003_RegSO2025')} (" in row


def test_a_kommun_outside_the_history_and_an_unknown_code(client):
    response = client.get("/bevakning?kommun=0115")
    assert response.status_code == 200
    assert 'id="missing-kommun"' in response.text
    assert "bryta indicators load socioeconomic_index --level regso" in response.text
    assert client.get("/bevakning?kommun=9999").status_code == 404
    assert client.get("/bevakning?kommun=abc").status_code == 404


def test_without_the_index_history_the_page_says_how_to_load_it(empty_client):
    for lang, words in (("sv", "Ingen indexhistorik"), ("en", "No index history")):
        response = empty_client.get(f"/bevakning?lang={lang}")
        assert response.status_code == 200
        assert 'id="no-history"' in response.text
        assert words in response.text
        assert "<code>bryta indicators load socioeconomic_index --level regso</code>" in (
            response.text
        )
        assert "data-plot" not in response.text
    problem = empty_client.get("/bevakning/data.csv")
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith(PROBLEM)


def test_the_kommun_page_links_to_its_watch_list(client):
    html = client.get("/kommun/0114").text
    assert 'href="/bevakning?kommun=0114"' in html


def test_the_method_page_has_the_section(client):
    html = client.get("/metod").text
    assert 'id="bevakning"' in html and 'href="/bevakning"' in html


def test_the_page_is_cached_by_data_and_registry(client):
    first = client.get("/bevakning?kommun=0114")
    assert first.headers["cache-control"] == "private, no-cache"
    again = client.get("/bevakning?kommun=0114", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    api = client.get("/api/v1/watch?kommun=0114")
    assert api.headers["cache-control"] == "public, no-cache" and api.headers["etag"]


# ---- downloads --------------------------------------------------------------------------------


def test_the_csv_download_is_the_file_of_bryta_watch(client, ctx):
    from bryta.app.watch import watch_kommun

    swedish = client.get("/bevakning/data.csv?kommun=0114&lang=sv")
    assert swedish.status_code == 200
    assert swedish.content.startswith(b"\xef\xbb\xbf")
    assert 'filename="bevakning-0114.csv"' in swedish.headers["content-disposition"]
    header = swedish.content.decode("utf-8-sig").splitlines()[0]
    assert header == ";".join(["regso", *WATCH_COLUMNS])
    frame = pl.read_csv(
        io.BytesIO(swedish.content),
        separator=";",
        decimal_comma=True,
        schema_overrides={"regso": pl.String},
    )
    want = watch_kommun(ctx, "0114", language="sv").table()
    assert frame.get_column("regso").to_list() == want.get_column("regso").to_list()
    assert frame.get_column("index_last").to_list() == pytest.approx(
        want.get_column("index_last").to_list()
    )
    assert frame.get_column("reason").fill_null("").to_list() == want.get_column("reason").to_list()
    english = client.get("/bevakning/data.csv?lang=en")
    lines = english.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(["regso", *WATCH_COLUMNS])
    assert len(lines) == 1 + 24  # the country: every area of the history


def test_the_excel_download(client):
    response = client.get("/bevakning/data.xlsx?kommun=1280")
    assert response.status_code == 200
    data = pl.read_excel(io.BytesIO(response.content), sheet_name="data")
    assert data.columns == ["regso", *WATCH_COLUMNS]
    assert data.height == 8
    source = pl.read_excel(io.BytesIO(response.content), sheet_name="source")
    assert "backtest" in source.get_column("field").to_list()


# ---- the API ----------------------------------------------------------------------------------


def test_the_api_equals_watch_kommun(client, ctx):
    from bryta.app.watch import watch_kommun

    response = client.get("/api/v1/watch", params={"kommun": "0114"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"kommun", "last_period", "threshold", "rule", "backtest", "areas"}
    report = watch_kommun(ctx, "0114")
    assert body["kommun"] == "0114" and body["last_period"] == 2024
    assert body["threshold"] == pytest.approx(report.threshold, abs=1e-12)
    assert body["rule"] == {"horizon": 5, "risk_threshold": 0.5, "level": 0.95}
    assert body["backtest"]["flags"] == report.backtest.flags
    want = {row["regso"]: row for row in report.watch.to_dicts()}
    assert {a["regso"] for a in body["areas"]} == set(want)
    for area in body["areas"]:
        row = want[area["regso"]]
        for column in ("index_last", "trend", "trend_low", "trend_high", "risk_1", "risk_5"):
            assert area[column] == pytest.approx(row[column], abs=1e-12), column
        assert area["crossing_period"] == row["crossing_period"]
        assert area["crossing_period"] == expected_crossing(area["regso"])
        assert area["flagged"] == row["flagged"] and area["reason"] == row["reason"]
    flagged = next(a for a in body["areas"] if a["regso"] == "0114R003_RegSO2025")
    assert flagged["interventions"] == [{"key": KEY, "title": TITLE}]


def test_the_api_for_the_country(client):
    body = client.get("/api/v1/watch").json()
    assert body["kommun"] is None and len(body["areas"]) == 24


@pytest.mark.parametrize(("query", "status"), [("kommun=0115", 404), ("kommun=12a4", 422)])
def test_api_errors_are_problems(client, query, status):
    response = client.get(f"/api/v1/watch?{query}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM)


def test_the_api_without_history_is_a_404_naming_the_command(empty_client):
    response = empty_client.get("/api/v1/watch")
    assert response.status_code == 404
    assert "bryta indicators load socioeconomic_index" in response.json()["detail"]


def test_the_api_conforms_to_its_schema(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema["/api/v1/watch"]["GET"]
    for query in ({"kommun": "0114"}, {"kommun": "1280"}, {}):
        response = operation.Case(query=query).call_and_validate()
        assert response.status_code == 200
