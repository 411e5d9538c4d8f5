"""Statistiklabbet: the page and its JSON twin at every level, the numbers against independent
computations (the bundled SCB export read by hand, ``bryta measure``), the downloads against
the table, small-count protection, bad parameters, and the state round trip through the URL."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlencode

import polars as pl
import pytest
from fastapi.testclient import TestClient

import bryta
from bryta.app import statistiklabb
from bryta.app.context import Settings
from bryta.app.tables import read_table
from bryta.datasets import load_demo_panel
from bryta.web.app import create_app


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path)))


def _json(client: TestClient, **params) -> dict:
    r = client.get("/statistiklabbet.json?" + urlencode(params, doseq=True))
    assert r.status_code == 200, r.text
    return r.json()


LEVEL_CASES = {
    "riket": ({"level": "riket", "measure": "theil_h_tenure"}, 4),
    "lan": ({"level": "lan", "measure": "rental_pct"}, (3 + 1) * 4),
    "kommun": ({}, (3 + 1) * 4),
    "regso": ({"level": "regso", "area": ["1280R020", "1280R001"]}, (2 + 1) * 4),
}


@pytest.mark.parametrize("case", LEVEL_CASES, ids=LEVEL_CASES.keys())
def test_page_and_twin_at_every_level(client, case):
    params, n_rows = LEVEL_CASES[case]
    r = client.get("/statistiklabbet?" + urlencode(params, doseq=True))
    assert r.status_code == 200
    html = r.text
    assert "<h1>Statistiklabbet</h1>" in html
    assert 'aria-current="page">Statistiklabbet</a>' in html  # the navigation
    body = re.search(r'<table class="numbers" id="lab-table">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body and body.group(1).count("<tr") == n_rows
    data = _json(client, **params)
    assert len(data["rows"]) == n_rows
    # the twin is the use case's answer, row for row
    q = data["query"]
    table = statistiklabb.query(
        q["measure"],
        q["level"],
        years=q["years"],
        areas=q["areas"],
        kommun=q["kommun"] if q["level"] == "regso" else None,
        reference=q["reference"] == "riket",
    )
    assert data["columns"] == table.frame.columns
    assert data["rows"] == table.frame.to_dicts()


def test_kommun_born_abroad_share_from_the_bundled_export(client):
    """The default page: Stockholm, Göteborg and Malmö, the share born abroad as the kommun's
    count over its total, summed by hand from SCB's export (born abroad = total − Sweden)."""
    path = files("bryta") / "data" / "scb" / "regso_birth_region_2020_2023.csv"
    with path.open(encoding="utf-8-sig") as handle:
        rows = [r for r in csv.reader(handle) if len(r) == 7][1:]
    expected = {}
    for code, name in (("0180", "Stockholm"), ("1480", "Göteborg"), ("1280", "Malmö")):
        for i, year in enumerate((2020, 2021, 2022, 2023)):
            total = sum(
                int(r[3 + i]) for r in rows if r[0].startswith(f"{name} (") and r[1] == "totalt"
            )
            sweden = sum(
                int(r[3 + i]) for r in rows if r[0].startswith(f"{name} (") and r[1] == "Sverige"
            )
            expected[code, year] = (total - sweden, total, 100 * (total - sweden) / total)
    data = _json(client)
    assert data["query"]["measure"] == "born_abroad_pct"
    got = {
        (row["code"], row["year"]): (row["born_abroad"], row["population"], row["value"])
        for row in data["rows"]
        if row["level"] == "kommun"
    }
    assert got.keys() == expected.keys()
    for key, (abroad, total, share) in expected.items():
        assert got[key][:2] == (abroad, total)
        assert got[key][2] == pytest.approx(share, rel=1e-12)
    # not the mean of the RegSO shares
    panel = load_demo_panel().filter((pl.col("kommun") == "0180") & (pl.col("year") == 2023))
    mean_of_shares = (
        100 * panel["born_abroad"] / (panel["born_abroad"] + panel["born_sweden"])
    ).mean()
    assert abs(got["0180", 2023][2] - mean_of_shares) > 0.1
    # riket is the reference: Sweden's count over Sweden's total
    riket = [row for row in data["rows"] if row["code"] == "00"]
    assert [row["year"] for row in riket] == [2020, 2021, 2022, 2023]
    total = sum(int(r[6]) for r in rows if r[1] == "totalt")
    sweden = sum(int(r[6]) for r in rows if r[1] == "Sverige")
    assert riket[-1]["value"] == pytest.approx(100 * (total - sweden) / total, rel=1e-12)


@pytest.mark.parametrize(
    ("measure", "groups", "index", "group"),
    [
        (
            "dissimilarity_born_abroad",
            ["born_sweden", "born_abroad"],
            "dissimilarity",
            "born_abroad",
        ),
        ("theil_h_tenure", ["rental", "tenant_owned", "owner_occupied"], "theil_h", None),
        (
            "mutual_information_birth_region",
            ["born_sweden", "born_abroad"],
            "mutual_information",
            None,
        ),
    ],
)
@pytest.mark.parametrize("level", ["riket", "lan", "kommun"])
def test_segregation_equals_bryta_measure(client, level, measure, groups, index, group):
    panel = load_demo_panel().with_columns(riket=pl.lit("00"))
    engine = bryta.measure(panel, unit="regso", groups=groups, by=[level, "year"]).filter(
        (pl.col("index") == index)
        & (pl.col("group").is_null() if group is None else pl.col("group") == group)
    )
    params = {"measure": measure, "level": level, "ref": "none"}
    if level != "riket":
        params["area"] = "all"
    data = _json(client, **params)
    got = {(row["code"], row["year"]): row["value"] for row in data["rows"]}
    want = {
        (row[level], row["year"]): (None if row["value"] != row["value"] else row["value"])
        for row in engine.iter_rows(named=True)
    }
    assert got.keys() == want.keys()
    for key, value in want.items():
        if value is None:
            assert got[key] is None
        else:
            assert got[key] == pytest.approx(value, abs=1e-12)


def test_segregation_is_not_offered_at_regso(client):
    r = client.get("/statistiklabbet.json?measure=theil_h_tenure&level=regso&kommun=1280")
    assert r.status_code == 422
    assert "RegSO" in r.json()["detail"]
    page = client.get("/statistiklabbet?measure=theil_h_tenure&level=kommun&lang=en")
    assert "Not shown at the level RegSO" in page.text


def test_mean_wage_income_only_at_regso(client):
    r = client.get("/statistiklabbet.json?measure=mean_wage_income&level=kommun")
    assert r.status_code == 422
    assert "not bundled" in r.json()["detail"]
    page = client.get("/statistiklabbet?measure=mean_wage_income&level=regso&kommun=1280&lang=en")
    assert page.status_code == 200
    text = unescape(page.text)
    for level in ("Sweden (riket)", "Län", "Kommun"):
        assert f"Not shown at the level {level}:" in text
    data = _json(client, measure="mean_wage_income", level="regso", area="1280R020")
    assert [row["code"] for row in data["rows"]] == ["1280R020"] * 4  # no riket row


def _small_rental_case() -> tuple[str, int, int]:
    panel = load_demo_panel()
    row = (
        panel.filter((pl.col("rental") > 0) & (pl.col("rental") < 5))
        .sort("regso", "year")
        .row(0, named=True)
    )
    dwellings = row["rental"] + row["tenant_owned"] + row["owner_occupied"]
    return row["regso"], row["year"], dwellings


def test_a_small_count_is_withheld_everywhere(client):
    regso, year, dwellings = _small_rental_case()
    params = {"measure": "rental_pct", "level": "regso", "area": regso, "from": year, "to": year}
    data = _json(client, **params)
    row = next(r for r in data["rows"] if r["code"] == regso)
    assert row["rental"] is None and row["value"] is None
    assert row["dwellings"] == dwellings
    assert row["suppressed"] is True
    assert data["suppression"]["withheld"]["rental"] == 1
    # the page says so and shows no number
    html = client.get("/statistiklabbet?" + urlencode(params) + "&lang=en").text
    assert 'id="suppressed-note"' in html
    assert "Counts below 5 are not shown" in html
    # the downloads too
    csv_text = client.get("/statistiklabbet/data.csv?" + urlencode(params) + "&lang=en").text
    line = next(x for x in csv_text.splitlines() if x.startswith(regso))
    fields = line.split(",")
    header = csv_text.lstrip("\ufeff").splitlines()[0].split(",")
    assert fields[header.index("rental")] == ""
    assert fields[header.index("value")] == ""
    parquet = pl.read_parquet(
        io.BytesIO(client.get("/statistiklabbet/data.parquet?" + urlencode(params)).content)
    )
    assert parquet.filter(pl.col("code") == regso)["rental"].to_list() == [None]


def test_a_count_whose_complement_is_small_is_withheld():
    """Rental 247 of 250 dwellings would give away the 3 others: rental and the share go."""
    measure = statistiklabb.MEASURES["rental_pct"]
    rows = pl.DataFrame(
        {
            "code": ["a", "b", "c"],
            "value": [98.8, 50.0, 100.0],
            "rental": [247, 125, 250],
            "dwellings": [250, 250, 250],
        }
    )
    out, withheld = statistiklabb.protect(rows, measure)
    assert out["rental"].to_list() == [None, 125, 250]  # a complement of 0 discloses no one
    assert out["value"].to_list() == [None, 50.0, 100.0]
    assert out["dwellings"].to_list() == [250, 250, 250]
    assert out["suppressed"].to_list() == [True, False, False]
    assert withheld == {"rental": 1, "dwellings": 0, "value": 1}


def test_downloads_hold_exactly_the_table(client, tmp_path):
    params = {"measure": "born_abroad_pct", "level": "kommun", "area": ["0114", "2584"]}
    query = urlencode(params, doseq=True)
    data = _json(client, **params)
    expected = pl.DataFrame(data["rows"])
    # Swedish CSV: BOM, semicolons, decimal comma; read back as an analyst's file
    r = client.get(f"/statistiklabbet/data.csv?{query}&lang=sv")
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert (
        'filename="statistiklabbet-born_abroad_pct-kommun-2020-2023.csv"'
        in (r.headers["content-disposition"])
    )
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0] == ";".join(data["columns"])
    first = text.splitlines()[1].split(";")
    assert first[5] == repr(data["rows"][0]["value"]).replace(".", ",")
    sv_path = tmp_path / "sv.csv"
    sv_path.write_bytes(r.content)
    assert read_table(sv_path).height == len(data["rows"])
    # English CSV: commas and decimal points, the same numbers
    en = client.get(f"/statistiklabbet/data.csv?{query}&lang=en").content.decode("utf-8-sig")
    back = pl.read_csv(io.StringIO(en), schema_overrides={"code": pl.String})
    assert back.columns == data["columns"]
    assert back.equals(expected.with_columns(pl.col("year").cast(pl.Int64)))
    # Excel: the table on the first sheet, the source on the second
    xlsx = client.get(f"/statistiklabbet/data.xlsx?{query}").content
    (tmp_path / "t.xlsx").write_bytes(xlsx)
    sheet = pl.read_excel(
        tmp_path / "t.xlsx", sheet_name="data", schema_overrides={"code": pl.String}
    )
    assert sheet.columns == data["columns"]
    assert sheet["code"].to_list() == expected["code"].to_list()
    assert sheet["value"].to_list() == pytest.approx(expected["value"].to_list(), rel=1e-15)
    about = pl.read_excel(tmp_path / "t.xlsx", sheet_name="source")
    facts = dict(zip(about["field"], about["value"], strict=True))
    assert "SCB" in facts["source"] and "CC0" in facts["licence"]
    assert facts["query"].startswith("/statistiklabbet?measure=born_abroad_pct")
    # Parquet: the same frame, the source in the metadata
    raw = client.get(f"/statistiklabbet/data.parquet?{query}").content
    assert pl.read_parquet(io.BytesIO(raw)).equals(
        statistiklabb.query("born_abroad_pct", "kommun", areas=["0114", "2584"]).frame
    )
    meta = pl.read_parquet_metadata(io.BytesIO(raw))
    assert "SCB" in meta["source"]


# areas of another level or kommun only: on the page, what the form without JavaScript sends
# after a change of level or kommun (test_without_javascript_…)
LEFT_OVER = {"level=lan&area=0180", "level=regso&kommun=1280&area=0180R001"}


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("level=municipality", "'municipality'"),
        ("measure=segregation", "'segregation'"),
        ("from=x", "'x'"),
        ("from=2023&to=2020", "2023"),
        ("from=1999&to=1999", "1999"),
        ("ref=maybe", "'maybe'"),
        ("area=9999", "'9999'"),
        ("level=lan&area=0180", "'0180'"),
        ("level=regso&kommun=1280&area=0180R001", "'0180R001'"),
        ("level=regso&kommun=9999", "'9999'"),
        ("measure=challenged_pop_pct&from=2020&to=2021", "2022"),
    ],
)
def test_bad_parameters_are_422(client, query, named):
    for path in (
        "/statistiklabbet.json",
        "/statistiklabbet/data.csv",
        "/statistiklabbet/data.xlsx",
        "/statistiklabbet/data.parquet",
    ):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert named in r.json()["detail"]
    page = client.get(f"/statistiklabbet?{query}")
    if query in LEFT_OVER:  # the page takes them for the plain form's left-over areas
        assert page.status_code == 200 and 'id="notice"' in page.text
        return
    assert page.status_code == 422
    assert 'role="alert"' in page.text
    assert named in unescape(page.text)
    assert '<form class="choose lab"' in page.text  # the form beside the error


def test_the_form_sends_a_kommun_at_every_level_and_it_is_ignored_above_regso(client):
    data = _json(client, level="kommun", kommun="1280", area="0180")
    assert data["query"]["kommun"] is None
    assert {row["code"] for row in data["rows"]} == {"0180", "00"}


def test_regso_level_without_boundaries_says_how_to_get_them(client):
    html = client.get("/statistiklabbet?level=regso&kommun=0180&lang=en").text
    assert 'id="no-map"' in html
    assert "bryta import boundaries --scb RegSO_2020" in html
    assert 'data-plot="chart"' in html
    riket = client.get("/statistiklabbet?level=riket&lang=en").text
    assert "No map at the level of Sweden" in riket


def test_malmo_regso_map_and_lan_boundaries(client):
    data = _json(client, level="regso", kommun="1280")
    assert len(data["map"]["values"]) == 91
    assert data["query"]["areas"] == [v["code"] for v in data["map"]["values"]]
    html = client.get("/statistiklabbet?level=regso&kommun=1280").text
    assert 'data-plot="map"' in html
    assert "/geo/regso/1280.geojson" in html.replace("\\u002f", "/")  # as plotly writes it
    assert "The chart shows the first" not in html  # in English only; Swedish here
    assert "Diagrammet visar de första 20 av de 91 valda områdena" in html
    lan = client.get("/geo/lan.geojson")
    assert lan.status_code == 200
    assert len(lan.json()["features"]) == 21


def test_state_round_trip_through_the_url(client):
    """The form on a page, submitted as it stands, asks for the same data again."""
    params = {
        "measure": "rental_pct",
        "level": "lan",
        "from": "2021",
        "to": "2022",
        "area": ["03", "25"],
        "ref": "none",
    }
    html = client.get("/statistiklabbet?" + urlencode(params, doseq=True)).text
    form = re.search(r'<form class="choose lab".*?</form>', html, re.S).group(0)
    submitted: list[tuple[str, str]] = []
    for select in re.finditer(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        name = select.group(1)
        for value in re.findall(r'<option value="([^"]+)" selected>', select.group(2)):
            submitted.append((name, value))
    submitted.append(("lang", "sv"))
    assert ("area", "03") in submitted and ("area", "25") in submitted
    assert ("measure", "rental_pct") in submitted and ("ref", "none") in submitted
    again = client.get("/statistiklabbet.json?" + urlencode(submitted)).json()
    first = _json(client, **params)
    assert again["rows"] == first["rows"]
    assert {row["code"] for row in first["rows"]} == {"03", "25"}
    assert {row["year"] for row in first["rows"]} == {2021, 2022}
    # the download links carry the same state
    link = re.search(r'href="(/statistiklabbet/data\.csv\?[^"]+)"', html).group(1)
    assert unescape(link).count("area=") == 2 and "from=2021" in unescape(link)


def test_numbers_per_language(client):
    sv = client.get("/statistiklabbet?area=0180&from=2023&to=2023&ref=none&lang=sv").text
    en = client.get("/statistiklabbet?area=0180&from=2023&to=2023&ref=none&lang=en").text
    panel = load_demo_panel().filter((pl.col("kommun") == "0180") & (pl.col("year") == 2023))
    share = 100 * panel["born_abroad"].sum() / (panel["born_abroad"] + panel["born_sweden"]).sum()
    assert f'<td class="num">{share:.1f}'.replace(".", ",") in sv
    assert f'<td class="num">{share:.1f}' in en
    assert '<th scope="row">Stockholm</th>' in sv


def test_without_javascript_a_new_level_drops_the_areas_of_the_old_one(client):
    """The plain form keeps the previous level's areas selected when only the level is
    changed: the page shows the new level's default areas and says so, rather than a 422.
    The JSON twin stays strict."""
    query = "measure=born_abroad_pct&level=lan&area=0180&area=1480&lang=sv"
    page = client.get(f"/statistiklabbet?{query}")
    assert page.status_code == 200
    assert 'id="notice"' in page.text and "hör till en annan nivå" in page.text
    assert client.get(f"/statistiklabbet.json?{query}").status_code == 422
    # a RegSO of another kommun after the kommun was changed
    other = client.get("/statistiklabbet?measure=population&level=regso&kommun=0180&area=1280R020")
    assert other.status_code == 200 and 'id="notice"' in other.text
    # a mix that includes a code of this level is still the user's choice, and still checked
    mixed = client.get("/statistiklabbet?measure=born_abroad_pct&level=lan&area=01&area=0180")
    assert mixed.status_code == 422 and 'id="notice"' not in mixed.text
