"""The indicator catalogue: strict validation, checks against table metadata, loading through a
mock SCB server (no network), the offline JSON-stat path, and storage with provenance.

The recorded-shape fixtures are in ``tests/data/pxweb/`` (see the README there: which codes are
verified and which numbers are invented). Expected values are read from the fixture cubes
cell by cell, independently of the code under test.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest
import typer
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from bryta.cli import indicators as indicators_cli
from bryta.errors import BrytaError
from bryta.indicators import (
    DOMAINS,
    CatalogueError,
    IndicatorError,
    catalogue,
    check_against_metadata,
    indicator,
    indicator_from_jsonstat,
    load_catalogue,
    load_indicator,
)
from bryta.ingest.jsonstat import read_jsonstat
from bryta.ingest.pxweb import PxWebClient, ScbApiError, TableMetadata
from bryta.warehouse import Warehouse, WarehouseError

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "pxweb"
SERVED = ("TAB6574", "TAB6680", "TAB6586")
NAMED_TABLES = {"TAB6574", "TAB6571", "TAB6685", "TAB5956", "TAB6534", "TAB6680", "TAB6586"}


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def problem(status: int, title: str) -> httpx.Response:
    return httpx.Response(
        status, json={"type": "Parameter error", "title": title, "status": status}
    )


class TableServer:
    """PxWebApi 2.0 stand-in: metadata from ``<table>_metadata.json``; each data request is
    answered with the requested codes cut out of ``<table>_data.json``."""

    def __init__(self) -> None:
        self.meta = {t: load(f"{t}_metadata.json") for t in SERVED}
        self.cubes = {t: load(f"{t}_data.json") for t in SERVED}
        self.requests: list[httpx.Request] = []
        self.data_answer: httpx.Response | None = None  # given instead of any data answer

    @property
    def data_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith("/data")]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        match = re.fullmatch(r"/api/v2/tables/(\w+)/(metadata|data)", request.url.path)
        if not match or match.group(1) not in self.meta:
            return problem(404, "Non-existent table")
        table, what = match.groups()
        if what == "metadata":
            return httpx.Response(200, json=self.meta[table])
        if self.data_answer is not None:
            return self.data_answer
        return self.cut(table, json.loads(request.content))

    def cut(self, table: str, body: dict[str, Any]) -> httpx.Response:
        cube = self.cubes[table]
        asked = {item["variableCode"]: item["valueCodes"] for item in body["selection"]}
        values = np.array([np.nan if v is None else v for v in cube["value"]], dtype=float)
        marks = np.full(values.size, None, dtype=object)
        for position, symbol in cube.get("status", {}).items():
            marks[int(position)] = symbol
        keep, dims = [], {}
        for dim_id in cube["id"]:
            category = cube["dimension"][dim_id]["category"]
            if dim_id not in asked:
                return problem(400, f"this stand-in serves no elimination ({dim_id})")
            if any(code not in category["index"] for code in asked[dim_id]):
                return problem(400, "Non-existent value")
            chosen = sorted(category["index"][code] for code in asked[dim_id])
            keep.append(chosen)
            codes = sorted(category["index"], key=category["index"].get)
            codes = [codes[i] for i in chosen]
            dims[dim_id] = {
                "label": cube["dimension"][dim_id]["label"],
                "category": {
                    "index": {code: i for i, code in enumerate(codes)},
                    "label": {code: category["label"][code] for code in codes},
                },
            }
        grid = np.ix_(*keep)
        part = values.reshape(cube["size"])[grid].ravel()
        part_marks = marks.reshape(cube["size"])[grid].ravel()
        doc = {
            "version": "2.0",
            "class": "dataset",
            "label": cube["label"],
            "id": cube["id"],
            "size": [len(k) for k in keep],
            "role": cube["role"],
            "dimension": dims,
            "value": [None if np.isnan(v) else float(v) for v in part],
        }
        status = {str(i): s for i, s in enumerate(part_marks) if s is not None}
        if status:
            doc["status"] = status
        return httpx.Response(200, json=doc)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(self, request):
        raise RuntimeError(f"test tried to reach the network: {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)


@pytest.fixture
def server() -> TableServer:
    return TableServer()


@pytest.fixture
def client(server):
    with PxWebClient(transport=httpx.MockTransport(server), sleep=lambda s: None) as made:
        yield made


@pytest.fixture
def warehouse(tmp_path):
    with Warehouse.open(tmp_path / "wh") as wh:
        yield wh


def cell(name: str, **codes: str) -> float | None:
    """One cell of a fixture cube, read without the code under test."""
    frame = read_jsonstat(DATA / name)
    row = frame.filter(pl.all_horizontal(pl.col(k) == v for k, v in codes.items()))
    assert row.height == 1, codes
    return row.item(0, "value")


# --------------------------------------------------------------------------------------------
# The bundled catalogue


def test_every_bundled_entry_is_valid_and_the_named_tables_are_covered():
    entries = catalogue()
    assert len({e.id for e in entries}) == len(entries) >= 7
    assert {e.source.table for e in entries} == NAMED_TABLES
    for e in entries:
        assert e.domain in DOMAINS and e.levels and e.definition.text
        assert e.verified.status in ("verified", "partly verified", "unverified")
        assert e.verified.status == "verified" or e.verified.not_checked, e.id
        assert e.dataset == f"indicator_{e.id}"
    assert indicator("area_type").levels == ("regso",)


def test_the_docs_list_every_entry_with_its_table_and_status():
    docs = (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8")
    for e in catalogue():
        row = next((line for line in docs.splitlines() if line.startswith(f"| `{e.id}` ")), "")
        assert e.source.table in row and e.verified.status in row, e.id


def test_an_unknown_id_lists_the_known_ones():
    with pytest.raises(IndicatorError, match=r"no indicator 'nope'.*population_total"):
        indicator("nope")


GOOD = """
[[indicator]]
id = "x"
name_sv = "X"
name_en = "X"
domain = "work"
unit = "percent"
levels = ["kommun"]

[indicator.definition]
text = "x"
age_band = "20-64"
numerator = { Alder = ["20-64"], ContentsCode = ["A"] }
denominator = { Alder = ["20-64"], ContentsCode = ["B"] }

[indicator.source]
provider = "scb"
table = "TAB1"
contents = ["A", "B"]
region_variable = "Region"
time_variable = "Tid"

[indicator.breakdowns]
sex = { variable = "Kon", values = ["1", "2"] }

[indicator.verified]
status = "partly verified"
checked = "c"
not_checked = "n"
sources = ["s"]
"""


def test_a_good_entry_loads():
    (entry,) = load_catalogue(GOOD).values()
    assert entry.kind == "ratio" and entry.breakdowns["sex"].values == ("1", "2")
    assert entry.to_dict()["definition"]["numerator"] == {"Alder": ["20-64"], "ContentsCode": ["A"]}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('domain = "work"', 'domain = "sport"', r"'x': domain: 'sport' is not one of work"),
        ('name_en = "X"\n', "", r"'x': name_en: missing"),
        ('unit = "percent"', 'unit = "percent"\ncolour = "red"', r"'x': colour: unknown key"),
        ('age_band = "20-64"', 'age_band = "20-64"\nweight = 1', r"definition.weight: unknown"),
        ('levels = ["kommun"]', 'levels = ["stadsdel"]', r"'x': levels: 'stadsdel' is not one"),
        ('id = "x"', 'id = "Bad-Id"', r"'Bad-Id': id: must be snake_case"),
        (
            'Alder = ["20-64"], ContentsCode = ["A"]',
            'Alder = "20-64", ContentsCode = ["A"]',
            r"definition.numerator.Alder: must be a non-empty list",
        ),
        (
            'denominator = { Alder = ["20-64"], ContentsCode = ["B"] }\n',
            "",
            r"'x': definition.denominator: missing",
        ),
        (
            "denominator = { Alder",
            'denominator = { Kon = ["1"], Alder',
            r"definition.denominator: must select the same variables",
        ),
        ('unit = "percent"', 'unit = "count"', r"'x': unit: a numerator/denominator"),
        (
            'ContentsCode = ["A"] }',
            'ContentsCode = ["A"], Tid = ["2024"] }',
            r"definition.numerator.Tid: region and time are chosen at load",
        ),
        ('contents = ["A", "B"]', 'contents = ["A"]', r"source.contents: must list exactly"),
        ('provider = "scb"', 'provider = "eurostat"', r"source.provider: 'eurostat' is not"),
        ("sex = {", "height = {", r"breakdowns.height: unknown breakdown"),
        ('sex = { variable = "Kon"', 'sex = { variable = "Tid"', r"breakdowns.sex.variable: Tid"),
        ('sources = ["s"]', "sources = []", r"'x': verified: status 'partly verified' needs"),
        ('not_checked = "n"', 'not_checked = ""', r"verified.not_checked: say what is not"),
        ('status = "partly verified"', 'status = "sure"', r"verified.status: 'sure' is not"),
        ("[indicator.verified]", "[indicator.checked]", r"'x': checked: unknown key"),
    ],
)
def test_bad_entries_name_the_entry_and_the_field(old, new, message):
    assert old in GOOD
    with pytest.raises(CatalogueError, match=message) as caught:
        load_catalogue(GOOD.replace(old, new, 1))
    assert isinstance(caught.value, BrytaError)


def test_a_published_percentage_cannot_sum_several_codes():
    text = GOOD.replace(
        'numerator = { Alder = ["20-64"], ContentsCode = ["A"] }\n'
        'denominator = { Alder = ["20-64"], ContentsCode = ["B"] }',
        'value = { Alder = ["20-64", "65-"], ContentsCode = ["A", "B"] }',
    )
    with pytest.raises(CatalogueError, match=r"definition.value.Alder: only one code"):
        load_catalogue(text)


def test_file_level_errors(tmp_path):
    with pytest.raises(CatalogueError, match=r"<text>: indicator 'x': id: appears twice"):
        load_catalogue(GOOD + GOOD)
    with pytest.raises(CatalogueError, match=r"unknown top-level key 'title'"):
        load_catalogue('title = "mine"\n' + GOOD)
    with pytest.raises(CatalogueError, match=r"not valid TOML"):
        load_catalogue("[[indicator]\nid = 1\n")
    path = tmp_path / "mine.toml"
    path.write_text(GOOD.replace('domain = "work"', 'domain = "sport"'), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"mine.toml: indicator 'x': domain"):
        load_catalogue(path)


# --------------------------------------------------------------------------------------------
# Checking an entry against a table's metadata


def test_an_entry_that_fits_the_recorded_tab6574_metadata_passes():
    meta = TableMetadata.from_jsonstat(load("TAB6574_metadata.json"), "TAB6574")
    check_against_metadata(indicator("population_total"), meta)


def test_missing_codes_are_listed_with_the_field_that_names_them():
    meta = TableMetadata.from_jsonstat(load("TAB6574_metadata.json"), "TAB6574")
    with pytest.raises(IndicatorError) as caught:
        check_against_metadata(indicator("share_aged_65_plus"), meta)
    text = str(caught.value)
    assert "indicator 'share_aged_65_plus' does not fit table TAB6574" in text
    assert (
        "definition.numerator.Alder: variable Alder has no value '65-69', '70-74', '75-79'" in text
    )
    assert "definition.denominator" not in text  # 'totalt' is there


def test_an_entry_of_another_table_is_refused():
    meta = TableMetadata.from_jsonstat(load("TAB6574_metadata.json"), "TAB6574")
    with pytest.raises(IndicatorError) as caught:
        check_against_metadata(indicator("employment_rate_20_64"), meta)
    text = str(caught.value)
    assert "source.table is TAB6680, but the metadata are of TAB6574" in text
    assert (
        "definition.numerator.ContentsCode: variable ContentsCode has no value '0000089X'" in text
    )
    assert "breakdowns.age: variable Alder has no value '15-74'" in text


# --------------------------------------------------------------------------------------------
# Loading through the (mock) API


def test_a_ratio_indicator_per_regso(client, server):
    frame = load_indicator(
        "employment_rate_20_64", client=client, warehouse=None, level="regso", years=[2023, 2024]
    )
    assert frame.columns == ["area", "level", "year", "numerator", "denominator", "value"]
    assert frame.get_column("area").unique().sort().to_list() == [
        "0114R001_RegSO2025",
        "0114R002_RegSO2025",
    ]
    assert frame.get_column("level").unique().to_list() == ["regso"]
    assert frame.get_column("year").unique().sort().to_list() == [2023, 2024]
    for area, year, num, den, value in frame.select(
        "area", "year", "numerator", "denominator", "value"
    ).iter_rows():
        codes = {"Region": area, "Kon": "1+2", "Alder": "20-64", "Tid": str(year)}
        assert num == cell("TAB6680_data.json", ContentsCode="0000089X", **codes)
        assert den == cell("TAB6680_data.json", ContentsCode="0000089Y", **codes)
        assert value == pytest.approx(100 * num / den)
    (body,) = server.data_bodies
    sent = {item["variableCode"]: item["valueCodes"] for item in body["selection"]}
    assert sent == {
        "Region": ["0114R001_RegSO2025", "0114R002_RegSO2025"],
        "Kon": ["1+2"],
        "Alder": ["20-64"],
        "ContentsCode": ["0000089X", "0000089Y"],
        "Tid": ["2023", "2024"],
    }


def test_a_breakdown_adds_a_column_and_its_groups_add_up(client):
    total = load_indicator("employment_rate_20_64", client=client, level="kommun")
    by_sex = load_indicator("employment_rate_20_64", client=client, level="kommun", breakdown="sex")
    assert by_sex.columns == ["area", "level", "year", "sex", "numerator", "denominator", "value"]
    assert by_sex.get_column("sex").unique().sort().to_list() == [None, "1", "2"]
    # the rows of the whole area (sex empty) are those of the load without a breakdown
    whole = by_sex.filter(pl.col("sex").is_null()).drop("sex")
    assert whole.equals(total)
    groups = by_sex.filter(pl.col("sex").is_not_null())
    summed = groups.group_by("area", "year").agg(pl.col("numerator", "denominator").sum())
    joined = total.join(summed, on=["area", "year"], suffix="_summed")
    assert joined.height == total.height == 3  # one kommun, three years
    assert (joined["numerator"] == joined["numerator_summed"]).all()
    assert (joined["denominator"] == joined["denominator_summed"]).all()


def test_a_missing_cell_gives_a_missing_value_not_a_zero(client):
    frame = load_indicator("employment_rate_20_64", client=client, level="deso", years=[2024])
    by_area = {row["area"]: row for row in frame.iter_rows(named=True)}
    assert by_area["0114A0010_DeSO2025"]["numerator"] is None
    assert by_area["0114A0010_DeSO2025"]["value"] is None
    assert by_area["0114A0020_DeSO2025"]["value"] is not None


def test_a_published_value_indicator(client):
    frame = load_indicator("socioeconomic_index", client=client, level="regso")
    assert frame.height == 4 * 3
    assert frame.get_column("numerator").null_count() == frame.height
    row = frame.filter(pl.col("area") == "0114R001_RegSO2025", pl.col("year") == 2023)
    assert row.item(0, "value") == cell(
        "TAB6586_data.json", Region="0114R001_RegSO2025", ContentsCode="000008IT", Tid="2023"
    )
    gap = frame.filter(pl.col("area") == "0180R002_RegSO2025", pl.col("year") == 2022)
    assert gap.item(0, "value") is None
    types = load_indicator("area_type", client=client, level="regso", years=[2024])
    assert sorted(types.get_column("value").to_list()) == [1.0, 2.0, 4.0, 5.0]


def test_a_count_is_summed_over_its_codes(client):
    frame = load_indicator("population_total", client=client, level="deso", years=[2024])
    assert frame.get_column("area").to_list() == ["0114A0010_DeSO2025", "0114A0020_DeSO2025"]
    for area, value in frame.select("area", "value").iter_rows():
        codes = {"Region": area, "Alder": "totalt", "Tid": "2024"}
        expected = [cell("TAB6574_data.json", Kon=k, **codes) for k in ("1", "2")]
        assert value == (None if None in expected else sum(expected))


def test_level_breakdown_and_version_are_checked_before_any_data_call(client, server):
    with pytest.raises(IndicatorError, match=r"not available per kommun \(levels: regso\)"):
        load_indicator("area_type", client=client, level="kommun")
    with pytest.raises(IndicatorError, match=r"has no breakdown 'age' \(breakdowns: sex\)"):
        load_indicator("population_total", client=client, level="regso", breakdown="age")
    with pytest.raises(IndicatorError, match=r"TAB6586 has no regso codes \(version 2020\)"):
        load_indicator("area_type", client=client, level="regso", version="2020")
    with pytest.raises(IndicatorError, match=r"does not fit table TAB6574"):
        load_indicator("share_aged_65_plus", client=client, level="regso")
    assert server.data_bodies == []


# --------------------------------------------------------------------------------------------
# Storage in the warehouse


def test_the_values_are_stored_with_their_provenance(client, warehouse):
    frame = load_indicator(
        "employment_rate_20_64", client=client, warehouse=warehouse, level="regso", years=[2024]
    )
    assert_frame_equal(warehouse.get("indicator_employment_rate_20_64"), frame)
    info = warehouse.info("indicator_employment_rate_20_64")
    assert (info["kind"], info["source"], info["table_id"]) == (
        "indicator",
        "SCB PxWebApi 2.0",
        "TAB6680",
    )
    assert info["licence"] == "CC0 1.0" and info["retrieved_at"]
    query = json.loads(info["query"])
    assert (query["indicator"], query["level"], query["version"]) == (
        "employment_rate_20_64",
        "regso",
        "2025",
    )
    assert query["years"] == ["2024"] and query["scb"]["selection"]["Tid"] == ["2024"]
    with pytest.raises(WarehouseError, match="exists already"):
        load_indicator("employment_rate_20_64", client=client, warehouse=warehouse, level="lan")
    again = load_indicator(
        "employment_rate_20_64", client=client, warehouse=warehouse, level="lan", replace=True
    )
    assert_frame_equal(warehouse.get("indicator_employment_rate_20_64"), again)


def test_nothing_is_stored_when_the_fetch_fails(client, server, warehouse):
    server.data_answer = problem(400, "Non-existent value")
    with pytest.raises(ScbApiError, match="HTTP 400"):
        load_indicator("employment_rate_20_64", client=client, warehouse=warehouse, level="regso")
    with pytest.raises(IndicatorError):
        load_indicator("share_aged_65_plus", client=client, warehouse=warehouse, level="regso")
    assert warehouse.list().height == 0


# --------------------------------------------------------------------------------------------
# Offline: a downloaded JSON-stat file


def test_an_indicator_from_a_downloaded_jsonstat_file(warehouse):
    path = DATA / "TAB6571_download.json"
    frame = indicator_from_jsonstat(
        "foreign_background_share", path, level="regso", warehouse=warehouse
    )
    assert frame.height == 2 * 2  # two RegSO, two years
    for area, year, value in frame.select("area", "year", "value").iter_rows():
        codes = {"Region": area, "Kon": "1+2", "Tid": str(year)}
        foreign = cell(path.name, UtlBakgrund="1", **codes)
        swedish = cell(path.name, UtlBakgrund="2", **codes)
        assert value == pytest.approx(100 * foreign / (foreign + swedish))
    info = warehouse.info("indicator_foreign_background_share")
    assert (info["source"], info["table_id"], info["file"]) == (
        "SCB Statistikdatabasen (JSON-stat file)",
        "TAB6571",
        "TAB6571_download.json",
    )
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info["licence"] == "CC0 1.0"


def test_a_file_keeps_every_level_it_holds_unless_one_is_chosen():
    path = DATA / "TAB6571_download.json"
    frame = indicator_from_jsonstat("foreign_background_share", path, years=[2024], breakdown="sex")
    assert frame.columns == ["area", "level", "year", "sex", "numerator", "denominator", "value"]
    # one kommun and two RegSO, each with its whole-area row and one row per sex
    assert dict(frame.group_by("level").len().iter_rows()) == {"kommun": 3, "regso": 6}


def test_a_file_of_another_table_is_refused():
    with pytest.raises(IndicatorError, match=r"metadata are of TAB6680"):
        indicator_from_jsonstat("foreign_background_share", DATA / "TAB6680_data.json")
    with pytest.raises(IndicatorError, match=r"no rows for indicator 'area_type' at level regso"):
        indicator_from_jsonstat(
            "area_type", DATA / "TAB6586_data.json", level="regso", years=[1999]
        )


def test_the_api_and_the_file_give_the_same_frame(client, tmp_path):
    fetched = load_indicator("employment_rate_20_64", client=client, level="deso")
    from_file = indicator_from_jsonstat(
        "employment_rate_20_64", DATA / "TAB6680_data.json", level="deso"
    )
    assert_frame_equal(fetched, from_file)


# --------------------------------------------------------------------------------------------
# The command line (on an app of its own: the main app wires register() in)


@pytest.fixture
def cli(monkeypatch, server):
    app = typer.Typer()
    indicators_cli.register(app)
    monkeypatch.setattr(
        indicators_cli,
        "make_client",
        lambda cache_dir: PxWebClient(transport=httpx.MockTransport(server)),
    )

    def run(*args: str):
        return CliRunner().invoke(app, ["indicators", *args])

    return run


def test_cli_list_and_show(cli, tmp_path):
    result = cli("list", "--domain", "work", "-o", str(tmp_path / "work.json"))
    assert result.exit_code == 0, result.output
    assert [e["id"] for e in json.loads((tmp_path / "work.json").read_text("utf-8"))] == [
        "employment_rate_20_64",
        "unemployment_rate_20_64",
    ]
    table = cli("list")
    assert table.exit_code == 0 and "TAB6586" in table.stdout
    shown = cli("show", "foreign_background_share")
    assert shown.exit_code == 0 and "source: scb TAB6571" in shown.stdout
    assert "not checked:" in shown.stdout
    assert cli("show", "area_type", "-o", str(tmp_path / "t.json")).exit_code == 0
    assert json.loads((tmp_path / "t.json").read_text("utf-8"))["levels"] == ["regso"]
    bad = cli("list", "--domain", "sport")
    assert bad.exit_code == 2 and "--domain must be one of" in bad.output


def test_cli_load_from_the_api_and_from_a_file(cli, tmp_path):
    out = tmp_path / "rate.csv"
    args = ["--level", "regso", "--year", "2023,2024", "--data-dir", str(tmp_path / "wh")]
    result = cli("load", "employment_rate_20_64", *args, "-o", str(out))
    assert result.exit_code == 0, result.output
    written = pl.read_csv(out, schema_overrides={"area": pl.String})
    assert written.height == 4 and written.columns[-1] == "value"
    with Warehouse.open(tmp_path / "wh") as wh:
        assert wh.info("indicator_employment_rate_20_64")["table_id"] == "TAB6680"
    file = str(DATA / "TAB6571_download.json")
    result = cli(
        "load",
        "foreign_background_share",
        "--from-file",
        file,
        "--no-store",
        "-o",
        str(tmp_path / "bg.parquet"),
        "--breakdown",
        "sex",
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "bg.parquet").columns[3] == "sex"
    refused = cli("load", "foreign_background_share", "--no-store")
    assert refused.exit_code == 2 and "--no-store needs -o" in refused.output
