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
from bryta.datasets import load_demo_panel, load_demo_shares, official_area_types
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


# ---- the spatial pattern ----------------------------------------------------------------------
SPATIAL = [name for name, spec in bryta.SPATIAL_INDICES.items() if spec.kind == "two_group"]


def malmo_boundaries() -> pl.DataFrame:
    from bryta.geography.boundaries import bundled_boundaries

    return bundled_boundaries("regso_malmo").filter(pl.col("code").str.starts_with("1280"))


def spatial_expected(code: str, boundaries: pl.DataFrame) -> dict[str, dict[str, float]]:
    """The spatial indices of the born abroad in the latest year of the bundled panel, through
    the library: ``measure``, and ``bootstrap``/``expected`` with the page's replicates and
    seed."""
    panel = load_demo_panel().filter(pl.col("kommun") == code)
    panel = panel.filter(pl.col("year") == panel["year"].max())
    common = {
        "unit": "regso",
        "groups": BIRTH,
        "indices": SPATIAL,
        "focal": "born_abroad",
        "geometry": boundaries,
        "geometry_code": "code",
    }
    value = bryta.measure(panel, **common)
    boot = bryta.bootstrap(panel, n_bootstrap=200, seed=barometer.KOMMUN_SEED, **common)
    random = bryta.expected(panel, n_bootstrap=200, seed=barometer.KOMMUN_SEED, **common)
    out: dict[str, dict[str, float]] = {}
    for frame in (value, boot, random):
        for row in frame.filter(pl.col("group") == "born_abroad").iter_rows(named=True):
            out.setdefault(row["index"], {}).update(row)
    return out


def test_spatial_pattern_of_malmo_equals_the_library(client):
    data = client.get("/kommun/1280.json").json()["spatial"]
    assert data["status"] == "ok" and data["year"] == 2023 and data["source"] == "bundled"
    assert data["units"] == 91 and data["missing"] == []
    assert len(SPATIAL) == 13
    assert sorted(row["index"] for row in data["indices"]) == sorted(SPATIAL)
    assert data["bootstrap"]["replicates"] == 200
    assert data["random_allocation"]["draws"] == 200
    want = spatial_expected("1280", malmo_boundaries())
    for row in data["indices"]:
        index = row["index"]
        assert row["value"] == pytest.approx(want[index]["value"], rel=1e-12, abs=1e-14), index
        for key in ("ci_low", "ci_high", "se", "expected"):
            assert row[key] == pytest.approx(want[index][key], rel=1e-12, abs=1e-14), (index, key)
        assert row["ci_low"] <= row["value"] <= row["ci_high"], index
        assert row["label"] and row["explanation"]
    # the worked value of docs/indices.md (PySAL 2.5 on the same polygons)
    delta = next(row for row in data["indices"] if row["index"] == "delta")
    assert delta["value"] == pytest.approx(0.608930, abs=5e-7)


def test_spatial_section_on_the_swedish_page(client):
    html = client.get("/kommun/1280").text
    assert "Rumsligt mönster för utrikes födda, 2023" in html
    start = html.index('id="spatial-table"')
    table = html[start : html.index("</table>", start)]
    assert table.count("<tr data-index=") == 13
    assert set(re.findall(r'<tr data-index="([a-z_]+)">', table)) == set(SPATIAL)
    # grouped by dimension, each with a header for its rows
    assert table.count('<th scope="rowgroup"') == 4
    assert "<caption" in table and table.count('<th scope="row">') == 13
    # the column of random allocation, and the plain-language line of delta
    assert "Slumpmässig fördelning" in table
    assert "skulle behöva flytta för att de skulle bo lika tätt över hela kommunens yta" in table
    want = spatial_expected("1280", malmo_boundaries())["delta"]
    row = re.search(
        r'<tr data-index="delta"><th scope="row">Delta</th><td class="explain">[^<]*</td>'
        r'<td class="num">([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td>'
        r'<td class="num">([^<]*)</td></tr>',
        table,
    )
    assert row, "no row for delta"
    keys = ("value", "ci_low", "ci_high", "expected")
    assert row.groups() == tuple(f"{want[k]:.3f}".replace(".", ",") for k in keys)
    english = client.get("/kommun/1280", params={"lang": "en"}).text
    assert "Spatial pattern of the foreign-born, 2023" in english
    assert f'<td class="num">{want["value"]:.3f}</td>' in english  # decimal point


def test_spatial_section_without_boundaries_says_how_to_get_them(client):
    html = client.get("/kommun/0180").text
    assert 'id="spatial-table"' not in html
    note = re.search(r'<p class="note" id="no-spatial">(.*?)</p>', html, re.S)
    assert note and "<code>bryta import boundaries --scb RegSO_2020 --kommun 0180</code>" in (
        note.group(1)
    )
    data = client.get("/kommun/0180.json").json()["spatial"]
    assert data["status"] == "no_boundaries" and data["indices"] == []
    assert data["how_to_import"] == "bryta import boundaries --scb RegSO_2020"


def store_regso(data_dir: Path, frame: pl.DataFrame, name: str) -> None:
    from bryta.app.imports import store_boundaries
    from bryta.warehouse import Provenance, Warehouse

    with Warehouse.open(data_dir) as wh:
        store_boundaries(
            wh,
            name,
            frame.select("code", "name", "geometry"),
            Provenance(source="test", licence="CC0 1.0", query=""),
            level="regso",
            replace=True,
        )


def test_spatial_section_names_regso_without_a_polygon(tmp_path):
    # imported boundaries lacking two of Malmö's RegSO: named, nothing computed
    store_regso(
        tmp_path,
        malmo_boundaries().filter(~pl.col("code").is_in(["1280R001", "1280R002"])),
        "malmo",
    )
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    data = client.get("/kommun/1280.json").json()["spatial"]
    assert data["status"] == "missing_polygons" and data["source"] == "warehouse:malmo"
    assert data["missing"] == ["1280R001", "1280R002"] and data["indices"] == []
    html = client.get("/kommun/1280").text
    note = re.search(r'<p class="note" id="spatial-missing">(.*?)</p>', html, re.S)
    assert note and "1280R001, 1280R002" in note.group(1)
    assert "bryta import boundaries --scb RegSO_2020 --kommun 1280" in note.group(1)
    assert client.get("/kommun/1280/spatial.csv").status_code == 200


def test_spatial_section_uses_imported_boundaries(tmp_path):
    # the whole of Malmö imported (one polygon moved far away): the imported ones are used,
    # and a new import is seen on the next request
    boundaries = malmo_boundaries()
    store_regso(tmp_path, boundaries, "malmo")
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    data = client.get("/kommun/1280.json").json()["spatial"]
    assert data["status"] == "ok" and data["source"] == "warehouse:malmo"
    want = spatial_expected("1280", boundaries)
    assert {r["index"]: r["value"] for r in data["indices"]} == pytest.approx(
        {index: want[index]["value"] for index in SPATIAL}, rel=1e-12
    )
    import shapely

    moved = boundaries.with_columns(
        pl.when(pl.col("code") == "1280R001")
        .then(
            pl.col("geometry").map_elements(
                lambda g: shapely.to_wkb(
                    shapely.affinity.translate(shapely.from_wkb(g), xoff=20_000)
                ),
                return_dtype=pl.Binary,
            )
        )
        .otherwise(pl.col("geometry"))
        .alias("geometry")
    )
    store_regso(tmp_path, moved, "malmo")
    again = client.get("/kommun/1280.json").json()["spatial"]
    centralization = spatial_expected("1280", moved)["absolute_centralization"]["value"]
    shown = next(r for r in again["indices"] if r["index"] == "absolute_centralization")
    assert shown["value"] == pytest.approx(centralization, rel=1e-12)
    assert shown["value"] != pytest.approx(want["absolute_centralization"]["value"], rel=1e-6)


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


# ---- transitions, interventions, portfolio, downloads -----------------------------------------
# A registry seeded as `bryta serve` seeds it, plus one unpublished intervention in Malmö that
# the public must never see, shared by the tests below (seeding costs about a second).
HIDDEN = "TEST-UNPUBLISHED-MALMO"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> TestClient:
    from bryta.registry.records import AreaLinkRecord, InterventionRecord
    from bryta.registry.service import SYSTEM
    from bryta.vocabulary import AgeBand, AreaLevel, Form

    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("seeded")), seed=True)
    app.state.context.registry(SYSTEM).create_intervention(
        InterventionRecord(
            key=HIDDEN,
            title="Hemlig insats i Rosengård",
            form=Form.PROJECT,
            age_bands=[AgeBand.AGE_0_5],
            area_links=[AreaLinkRecord(level=AreaLevel.REGSO, area_code="1280R020")],
        )
    )
    return TestClient(app)


def published_in_malmo() -> list:
    """The real programmes linked to Malmö or an area in it, read from programmes.csv."""
    from bryta.registry.exchange import read_programmes_csv

    return [
        r
        for r in read_programmes_csv()
        if r.published and any(a.area_code.startswith("1280") for a in r.area_links)
    ]


def read_csv_download(content: bytes) -> pl.DataFrame:
    assert content.startswith(b"\xef\xbb\xbf")
    text = content[3:].decode("utf-8")
    assert text.splitlines()[0].count(";") >= 1 and "," not in text.splitlines()[0]
    return pl.read_csv(text.encode(), separator=";", decimal_comma=True, infer_schema_length=None)


def test_transitions_are_counted_from_the_proxy_types(seeded):
    shares = load_demo_shares()
    types = bryta.area_types(
        shares,
        unit="regso",
        by="year",
        shares=["born_abroad_pct", "rental_pct"],
        population="population",
    )
    malmo = types.filter(pl.col("regso").str.starts_with("1280"))
    population = {(r["regso"], r["year"]): r["population"] for r in shares.iter_rows(named=True)}
    kind = {(r["regso"], r["year"]): r["area_type"] for r in malmo.iter_rows(named=True)}
    cells: dict[tuple[int, int], list[int]] = {}
    for regso in {r for r, _ in kind}:
        a, b = kind.get((regso, 2020)), kind.get((regso, 2023))
        cell = cells.setdefault((a, b), [0, 0, 0])
        cell[0] += 1
        cell[1] += population[regso, 2020]
        cell[2] += population[regso, 2023]
    data = seeded.get("/kommun/1280.json").json()["transitions"]
    assert (data["first"], data["second"]) == (2020, 2023)
    got = {
        (r["from_type"], r["to_type"]): [r["areas"], r["population_first"], r["population_second"]]
        for r in data["matrix"]
        if r["areas"]
    }
    assert got == cells
    assert sum(c[0] for c in cells.values()) == 91  # every RegSO of Malmö, none lost
    assert len(data["matrix"]) == 25
    # per year: proxy counts per type, and the official 2022 types labelled as such
    official = official_area_types().filter(
        pl.col("regso").str.starts_with("1280") & (pl.col("year") == 2022)
    )
    for row in data["by_year"]:
        if row["source"] == "official":
            chosen = official.filter(pl.col("area_type") == row["area_type"])
            assert row["year"] == 2022
        else:
            chosen = malmo.filter(
                (pl.col("year") == row["year"]) & (pl.col("area_type") == row["area_type"])
            )
        assert row["areas"] == chosen.height, row
    assert {r["source"] for r in data["by_year"]} == {"official", "proxy"}
    html = seeded.get("/kommun/1280").text
    assert 'data-plot="transitions"' in html and 'id="transitions-table"' in html
    assert "närmevärde (bryta)" in html and "officiell (SCB)" in html
    moved = re.search(r'<tr data-from="1" data-to="2" class="moved">(.*?)</tr>', html).group(1)
    assert f'<td class="num">{cells[1, 2][0]}</td>' in moved


def test_only_published_interventions_are_shown(seeded):
    expected = {r.key for r in published_in_malmo()}
    assert expected and HIDDEN not in expected
    data = seeded.get("/kommun/1280.json").json()
    assert {r["key"] for r in data["interventions"]} == expected
    html = seeded.get("/kommun/1280").text
    table = html[html.index('id="interventions-table"') :]
    assert set(re.findall(r'<tr data-key="([^"]+)"', table)) == expected
    assert "Hemlig insats" not in html
    api = seeded.get("/api/v1/interventions", params={"kommun": "1280"}).json()
    assert {r["key"] for r in api} == expected
    assert HIDDEN not in {r["key"] for r in seeded.get("/api/v1/interventions").json()}
    csv = read_csv_download(seeded.get("/kommun/1280/interventions.csv").content)
    assert set(csv["key"]) == expected
    one = next(r for r in published_in_malmo() if r.key == "SE-MUN-MAL-2010-OMRADESPROG")
    row = next(r for r in api if r["key"] == one.key)
    assert row["form"] == "project" and row["areas"] == ["1280"] and row["other_areas"] == 0
    assert row["start"] == str(one.actual_start) and row["end"] == str(one.actual_end)


def test_the_interventions_api(seeded, tmp_path):
    assert seeded.get("/api/v1/interventions", params={"kommun": "9999"}).status_code == 404
    bad = seeded.get("/api/v1/interventions", params={"kommun": "128"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "kommun"
    # without a registry nothing is published
    empty = TestClient(create_app(Settings(data_dir=tmp_path)))
    assert empty.get("/api/v1/interventions", params={"kommun": "1280"}).json() == []
    schema = seeded.get("/openapi.json").json()
    assert "/api/v1/interventions" in schema["paths"]


def test_portfolio_diagnostics_match_the_records(seeded):
    records = published_in_malmo()
    n = len(records)
    early = sum(any(b in ("prenatal", "0-5") for b in r.age_bands) for r in records)
    projects = sum(r.form == "project" for r in records)
    sectors = sum(len({p.sector for p in r.participations}) >= 2 for r in records)
    organisations = {p.organisation for r in records for p in r.participations}
    high_need = official_area_types().filter(
        pl.col("regso").str.starts_with("1280")
        & (pl.col("year") == 2022)
        & (pl.col("area_type") <= 2)
    )
    data = seeded.get("/kommun/1280.json").json()["portfolio"]
    figures = {f["metric"]: f["value"] for f in data["figures"]}
    assert figures["n_interventions"] == n
    assert figures["project_share_count"] == pytest.approx(projects / n)
    assert figures["early_share"] == pytest.approx(early / n)
    assert figures["share_2_or_more_sectors"] == pytest.approx(sectors / n)
    assert figures["network_organisations"] == len(organisations)
    assert figures["high_need_areas"] == high_need.height
    # the real programmes link to Malmö as a whole, so no area of type 1–2 has one of its own
    assert figures["unserved_high_need_areas"] == high_need.height
    assert data["kommun_wide"] == n
    assert all(row["interventions"] == 0 for row in data["by_area_type"])
    html = seeded.get("/kommun/1280").text
    shown = re.search(r'data-metric="project_share_count"><span class="value">([^<]+)<', html)
    assert shown.group(1) == f"{projects / n * 100:.1f}".replace(".", ",") + "\u00a0%"
    assert "Kortsiktigt eller långsiktigt" in html and 'href="/metod"' in html
    english = seeded.get("/kommun/1280", params={"lang": "en"}).text
    assert "Short-term or long-term" in english and "Public interventions in Malmö" in english


def test_csv_downloads_equal_the_page_tables(seeded):
    data = seeded.get("/kommun/1280.json").json()
    assert set(data["downloads"]["csv"]) == {
        "indices",
        "regso",
        "spatial",
        "comparison",
        "area_types",
        "transitions",
        "interventions",
        "diagnostics",
    }
    r = seeded.get(data["downloads"]["csv"]["transitions"])
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    matrix = read_csv_download(r.content)
    assert matrix.select("from_type", "to_type", "areas", "population_first").rows() == [
        (m["from_type"], m["to_type"], m["areas"], m["population_first"])
        for m in data["transitions"]["matrix"]
    ]
    indices = read_csv_download(seeded.get("/kommun/1280/indices.csv").content)
    for entry in data["series"]:
        for v in entry["values"]:
            hit = indices.filter(
                (pl.col("grouping") == entry["grouping"])
                & (pl.col("index") == entry["index"])
                & (pl.col("year") == v["year"])
            )
            assert hit["value"][0] == pytest.approx(v["value"], rel=1e-12)
            assert hit["ci_low"][0] == pytest.approx(v["ci_low"], rel=1e-12)
    regso = read_csv_download(seeded.get("/kommun/1280/regso.csv").content)
    assert regso.select("code", "population").rows() == [
        (r["code"], r["population"]) for r in data["regso"]
    ]
    assert "suppressed" in regso.columns
    spatial = read_csv_download(seeded.get("/kommun/1280/spatial.csv").content)
    assert spatial.select("index", "value", "ci_low", "ci_high", "expected").rows() == [
        tuple(r[k] for k in ("index", "value", "ci_low", "ci_high", "expected"))
        for r in data["spatial"]["indices"]
    ]
    assert set(spatial["year"]) == {data["spatial"]["year"]}
    # decimal commas, not points, in the numbers
    text = seeded.get("/kommun/1280/area_types.csv").content.decode("utf-8-sig")
    assert re.search(r";0,\d+", text) and not re.search(r";0\.\d+", text)
    assert seeded.get("/kommun/1280/nothing.csv").status_code == 404
    assert seeded.get("/kommun/9999/regso.csv").status_code == 404


def test_excel_download_has_a_sheet_per_table_and_the_source(seeded, tmp_path):
    r = seeded.get("/kommun/1280/data.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    path = tmp_path / "k.xlsx"
    path.write_bytes(r.content)
    sheets = pl.read_excel(path, sheet_id=0)
    assert list(sheets) == [
        "indices",
        "regso",
        "spatial",
        "comparison",
        "area_types",
        "transitions",
        "interventions",
        "diagnostics",
        "source",
    ]
    csv = read_csv_download(seeded.get("/kommun/1280/diagnostics.csv").content)
    assert sheets["diagnostics"]["metric"].to_list() == csv["metric"].to_list()
    assert sheets["transitions"]["areas"].to_list() == csv_areas(seeded)
    source = " ".join(sheets["source"]["text"].to_list())
    assert "SCB" in source and "CC0" in source


def csv_areas(client) -> list[int]:
    return read_csv_download(client.get("/kommun/1280/transitions.csv").content)["areas"].to_list()


def test_counts_of_people_below_five_are_suppressed():
    from bryta.app.kommun import protect

    frame = pl.DataFrame({"code": ["a", "b", "c"], "areas": [1, 2, 3], "population": [3, 0, 40]})
    out = protect(frame, ["population"])
    assert out["population"].to_list() == [None, 0, 40]
    assert out["suppressed"].to_list() == ["population:primary", None, None]
    assert out["areas"].to_list() == [1, 2, 3]  # areas are not people


def test_without_a_registry_the_page_says_so(client):
    html = client.get("/kommun/1280").text
    assert 'id="no-registry"' in html and "bryta serve" in html
    data = client.get("/kommun/1280.json").json()
    assert data["interventions"] is None and data["portfolio"]["available"] is False


def test_a_kommun_with_no_published_intervention_has_an_empty_state(seeded):
    linked = {a.area_code[:4] for r in published_in_malmo() for a in r.area_links}
    from bryta.registry.exchange import read_programmes_csv

    everywhere = {a.area_code[:4] for r in read_programmes_csv() for a in r.area_links}
    code = next(c for c in ("2584", "0114", "2523") if c not in everywhere | linked)
    html = seeded.get(f"/kommun/{code}").text
    assert 'id="no-interventions"' in html
    assert seeded.get(f"/kommun/{code}.json").json()["interventions"] == []


def _publish(app, key: str, title: str) -> None:
    """Add a published intervention in Rosengård (1280R020) through the service."""
    from bryta.registry.records import AreaLinkRecord, InterventionRecord
    from bryta.registry.service import SYSTEM
    from bryta.vocabulary import AgeBand, AreaLevel, Form

    service = app.state.context.registry(SYSTEM)
    created = service.create_intervention(
        InterventionRecord(
            key=key,
            title=title,
            form=Form.PROJECT,
            age_bands=[AgeBand.AGE_0_5],
            area_links=[AreaLinkRecord(level=AreaLevel.REGSO, area_code="1280R020")],
        )
    )
    service.publish(created.id, created.version)


def test_a_registry_edit_shows_on_the_next_request(tmp_path):
    """The kommun pages are cached by ETag; the registry's version is part of it, so
    publishing an intervention gives a new tag and the new row at once (and no
    Last-Modified, which would say nothing of the registry)."""
    app = create_app(Settings(data_dir=tmp_path), seed=True)
    client = TestClient(app)
    before = client.get("/kommun/1280")
    assert before.status_code == 200 and "last-modified" not in before.headers
    etag = before.headers["etag"]
    assert client.get("/kommun/1280", headers={"If-None-Match": etag}).status_code == 304
    _publish(app, "TEST-NEW-MALMO", "Läxhjälp på Lindängen")
    after = client.get("/kommun/1280", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert "Läxhjälp på Lindängen" in after.text and "Läxhjälp på Lindängen" not in before.text


def test_the_interventions_api_is_cached_until_the_registry_changes(tmp_path):
    app = create_app(Settings(data_dir=tmp_path), seed=True)
    client = TestClient(app)
    url = "/api/v1/interventions?kommun=1280"
    first = client.get(url)
    etag = first.headers["etag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    _publish(app, "TEST-API-MALMO", "Språkcafé i Seved")
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert "Språkcafé i Seved" in after.text and "Språkcafé i Seved" not in first.text
