"""The kommun page: its indices with bootstrap intervals, its RegSO and their area types,
the comparison with riket and similar kommuner, in Swedish and English, its JSON twin, and
the 404 of an unknown code. Expected values come from bryta's public functions and the
bundled data, computed here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient

import bryta
from bryta.app import barometer
from bryta.app.context import Settings
from bryta.datasets import load_demo_panel, official_area_types
from bryta.web.app import create_app

BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
INDICES = ["dissimilarity", "theil_h", "mutual_information"]


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path)))


def expected_intervals(code: str) -> pl.DataFrame:
    """``bryta.bootstrap`` on the kommun's RegSO with the page's replicates and seed."""
    panel = load_demo_panel().filter(pl.col("kommun") == code)
    parts = []
    for grouping, groups, focal in (
        ("birth_region", BIRTH, "born_abroad"),
        ("tenure", TENURE, "rental"),
    ):
        out = bryta.bootstrap(
            panel,
            unit="regso",
            groups=groups,
            by=["year"],
            indices=INDICES,
            focal=focal,
            n_bootstrap=200,
            seed=barometer.KOMMUN_SEED,
        )
        keep = (pl.col("index") != "dissimilarity") | (pl.col("group") == focal)
        parts.append(out.filter(keep).with_columns(pl.lit(grouping).alias("grouping")))
    return pl.concat(parts, how="diagonal")


def measured(code: str | None, groups: list[str], year: int | None = None) -> pl.DataFrame:
    panel = load_demo_panel()
    if code is not None:
        panel = panel.filter(pl.col("kommun") == code)
    if year is not None:
        panel = panel.filter(pl.col("year") == year)
    return bryta.measure(panel, unit="regso", groups=groups, by=["year"])


def test_kommun_page_in_swedish(client):
    r = client.get("/kommun/1280")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="sv">' in html
    assert re.search(r"<h1>Malmö <span", html)
    assert "Segregationen genom åren, med 95 %-intervall" in html
    want = (
        expected_intervals("1280")
        .filter(
            (pl.col("year") == 2023)
            & (pl.col("index") == "dissimilarity")
            & (pl.col("grouping") == "birth_region")
        )
        .row(0, named=True)
    )
    row = re.search(
        r'<tr data-index="dissimilarity" data-year="2023"><th scope="row">[^<]*utrikes födda</th>'
        r'<td>2023</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td>'
        r'<td class="num">([^<]*)</td></tr>',
        html,
    )
    assert row, "no table row for D of the foreign-born, 2023"
    shown = tuple(f"{want[k]:.3f}".replace(".", ",") for k in ("value", "ci_low", "ci_high"))
    assert row.groups() == shown
    # the rule of the comparison is on the page, and the download link to the JSON twin
    assert "De 10 kommuner som liknar Malmö mest" in html
    assert 'href="/kommun/1280.json?lang=sv"' in html
    # Malmö has bundled RegSO boundaries: a map, no note about importing them
    assert '<div id="regso_map"' in html and "bryta import boundaries" not in html


def test_kommun_page_in_english(client):
    r = client.get("/kommun/1280", params={"lang": "en"})
    html = r.text
    assert '<html lang="en">' in html
    assert "Segregation over the years, with 95 % intervals" in html
    assert "The 10 kommuner closest to Malmö in size and area-type mix" in html
    d = measured("1280", BIRTH).filter(
        (pl.col("year") == 2023)
        & (pl.col("index") == "dissimilarity")
        & (pl.col("group") == "born_abroad")
    )
    assert f'<td class="num">{d["value"][0]:.3f}</td>' in html  # decimal point
    assert r.cookies.get("lang") == "en"


def test_json_twin_equals_bootstrap_and_measure(client):
    data = client.get("/kommun/1280.json").json()
    assert data == client.get("/kommun/1280", params={"format": "json"}).json()
    assert data["code"] == "1280" and data["name"] == "Malmö"
    assert data["years"] == [2020, 2021, 2022, 2023]
    assert data["bootstrap"] == {
        "replicates": 200,
        "seed": barometer.KOMMUN_SEED,
        "level": 0.95,
        "method": "bias_corrected",
    }
    assert [(s["grouping"], s["index"], s["group"]) for s in data["series"]] == [
        ("birth_region", "dissimilarity", "born_abroad"),
        ("birth_region", "theil_h", None),
        ("birth_region", "mutual_information", None),
        ("tenure", "dissimilarity", "rental"),
        ("tenure", "theil_h", None),
        ("tenure", "mutual_information", None),
    ]
    boot = expected_intervals("1280")
    plain = {"birth_region": measured("1280", BIRTH), "tenure": measured("1280", TENURE)}
    for series in data["series"]:
        assert [v["year"] for v in series["values"]] == [2020, 2021, 2022, 2023]
        for v in series["values"]:
            where = (
                (pl.col("grouping") == series["grouping"])
                & (pl.col("index") == series["index"])
                & (pl.col("year") == v["year"])
            )
            want = boot.filter(where).row(0, named=True)
            for key in ("value", "ci_low", "ci_high", "se"):
                assert v[key] == pytest.approx(want[key], abs=1e-12), (series["index"], key)
            group = (
                pl.col("group").is_null()
                if series["group"] is None
                else pl.col("group") == series["group"]
            )
            value = plain[series["grouping"]].filter(
                (pl.col("index") == series["index"]) & (pl.col("year") == v["year"]) & group
            )["value"][0]
            assert v["value"] == pytest.approx(value, abs=1e-12)
            assert v["ci_low"] < v["ci_high"]


def test_the_same_numbers_on_every_request(client, tmp_path):
    first = client.get("/kommun/2584.json").json()
    barometer._kommun_intervals.cache_clear()
    again = TestClient(create_app(Settings(data_dir=tmp_path))).get("/kommun/2584.json").json()
    assert again == first


def test_regso_with_official_area_types_and_population(client):
    data = client.get("/kommun/1280.json").json()
    assert data["area_type_year"] == 2022
    types = official_area_types().filter((pl.col("kommun") == "1280") & (pl.col("year") == 2022))
    panel = load_demo_panel().filter((pl.col("kommun") == "1280") & (pl.col("year") == 2022))
    population = dict(
        zip(
            panel["regso"].to_list(),
            (panel["born_sweden"] + panel["born_abroad"]).to_list(),
            strict=True,
        )
    )
    rows = data["regso"]
    assert len(rows) == 91 == types.height
    assert [r["code"] for r in rows] == sorted(types["regso"].to_list())
    assert {r["code"]: r["area_type"] for r in rows} == dict(
        zip(types["regso"].to_list(), types["area_type"].to_list(), strict=True)
    )
    assert {r["code"]: r["population"] for r in rows} == population
    assert data["population"] == sum(population.values())
    # the table alternative of the map: one row per RegSO, with its type's description
    html = client.get("/kommun/1280").text
    table = html[html.index('<table class="numbers" id="regso-table">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr>") == 1 + 91
    almvik = rows[1]
    assert almvik["area_type"] == 1
    assert f"<td>{almvik['code']}</td>" in table
    assert "stora socioekonomiska utmaningar" in table
    assert re.search(
        rf"<td class=\"num\">{population[almvik['code']] // 1000}\u00a0\d{{3}}</td>", table
    )


def test_similar_kommuner_follow_the_stated_rule(client):
    data = client.get("/kommun/1280.json").json()
    comparison = data["comparison"]
    # the rule, computed here: z-scores of log population and the share in types 1–2 (2022)
    panel = load_demo_panel().filter(pl.col("year") == 2022)
    types = official_area_types().filter(pl.col("year") == 2022).select("regso", "area_type")
    joined = panel.join(types, on="regso").with_columns(
        pop=pl.col("born_sweden") + pl.col("born_abroad")
    )
    per = (
        joined.group_by("kommun")
        .agg(
            pl.col("pop").sum(), pl.col("pop").filter(pl.col("area_type") <= 2).sum().alias("high")
        )
        .sort("kommun")
    )
    codes = per["kommun"].to_list()
    size = np.log(per["pop"].to_numpy().astype(float))
    share = per["high"].to_numpy() / per["pop"].to_numpy()
    z = np.column_stack([(size - size.mean()) / size.std(), (share - share.mean()) / share.std()])
    me = codes.index("1280")
    distance = np.sqrt(((z - z[me]) ** 2).sum(axis=1))
    order = [codes[i] for i in np.lexsort((codes, distance)) if codes[i] != "1280"][:10]
    assert [row["code"] for row in comparison["similar"]] == order
    for row in comparison["similar"]:
        i = codes.index(row["code"])
        assert row["distance"] == pytest.approx(distance[i], abs=1e-12)
        assert row["share_types_1_2"] == pytest.approx(share[i], abs=1e-15)
    # each with its value, and riket's, in the latest year
    assert comparison["year"] == 2023
    birth = bryta.measure(
        load_demo_panel().filter(pl.col("year") == 2023), unit="regso", groups=BIRTH, by=["kommun"]
    )
    d = birth.filter((pl.col("index") == "dissimilarity") & (pl.col("group") == "born_abroad"))
    d = dict(zip(d["kommun"].to_list(), d["value"].to_list(), strict=True))
    for row in comparison["similar"]:
        assert row["values"]["dissimilarity"] == pytest.approx(d[row["code"]], abs=1e-12)
    assert comparison["kommun"]["dissimilarity"] == pytest.approx(d["1280"], abs=1e-12)
    riket = measured(None, BIRTH, 2023).filter(pl.col("index") == "theil_h")
    assert comparison["riket"]["theil_h"] == pytest.approx(riket["value"][0], abs=1e-12)
    # the table lists them, each linked to its own page
    html = client.get("/kommun/1280").text
    table = html[
        html.index('id="compare-table"') : html.index("</table>", html.index('id="compare-table"'))
    ]
    assert table.count('<tr data-code="') == 10
    assert f'<a href="/kommun/{order[0]}">' in table


def test_a_kommun_without_regso_boundaries_says_how_to_get_them(client):
    html = client.get("/kommun/0180").text
    assert '<div id="regso_map"' not in html
    note = re.search(r'<p class="note" id="no-regso-map">(.*?)</p>', html, re.S)
    assert note and "<code>bryta import boundaries --scb RegSO_2020" in note.group(1)
    assert client.get("/kommun/0180.json").json()["regso_map"] is False
    assert client.get("/geo/regso/0180.geojson").status_code == 404


def test_regso_geojson_of_malmo(client):
    r = client.get("/geo/regso/1280.geojson")
    assert r.headers["content-type"] == "application/geo+json"
    features = r.json()["features"]
    assert len(features) == 91
    assert all(f["properties"]["code"].startswith("1280R") for f in features)


def test_indices_chart_is_embedded_with_its_bands(client):
    html = client.get("/kommun/1280").text
    start = html.index('<script type="application/json" data-plot="indices">')
    figure = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    bands = [t for t in figure["data"] if t.get("fill") == "toself"]
    lines = [t for t in figure["data"] if t.get("mode") == "lines+markers"]
    assert len(bands) == len(lines) == 6
    assert lines[0]["x"] == [2020, 2021, 2022, 2023]


@pytest.mark.parametrize("code", ["9999", "12800", "abc"])
def test_unknown_kommun_is_a_404_page(client, code):
    r = client.get(f"/kommun/{code}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Hittades inte</h1>" in r.text
    assert f"Det finns ingen kommun med koden {code}." in r.text


def test_unknown_kommun_json_is_problem_details(client):
    r = client.get("/kommun/9999.json")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 404 and body["instance"] == "/kommun/9999.json"
    assert "9999" in body["detail"]


def test_404_page_escapes_the_code(client):
    r = client.get("/kommun/<b>x")
    assert r.status_code == 404
    assert "<b>x" not in r.text and "&lt;b&gt;x" in r.text


def test_sverige_table_links_every_kommun(client):
    html = client.get("/").text
    table = html[html.index('id="kommun-table"') :]
    assert len(re.findall(r'<th scope="row"><a href="/kommun/\d{4}">', table)) == 290
    assert '<a href="/kommun/1280">Malmö</a>' in table
