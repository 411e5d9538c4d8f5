"""Tests of the SCB PxWebApi client against hand-written responses (no network).

Every client here talks to an ``httpx.MockTransport`` serving ``tests/data/pxweb/`` (see the
README there for where each response's shape comes from). The data endpoint cuts the
requested selection out of one full cube, as SCB's server does, so a split request can be
compared with an unsplit one. Time runs on a fake clock: waits are recorded, not slept.
"""

from __future__ import annotations

import json
import math
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bryta.errors import BrytaError
from bryta.ingest.provenance import Provenance
from bryta.ingest.pxweb import (
    LICENCE,
    SOURCE,
    PxWebClient,
    ScbApiError,
    ScbSelectionError,
    TableMetadata,
    resolve_selection,
    split_selection,
)

DATA = Path(__file__).parent / "data" / "pxweb"
BASE = "https://statistikdatabasen.scb.se/api/v2"
V1_URL = "https://api.scb.se/OV0104/v1/doris/sv/ssd/BE/BE0101/BE0101Y/FolkmDesoAldKon"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def cells(body: dict[str, Any]) -> int:
    return math.prod(len(item["valueCodes"]) for item in body["selection"])


class FakeClock:
    """``clock`` and ``sleep`` for the client: sleeping moves the time on and is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def problem(status: int, title: str) -> httpx.Response:
    body = {"type": "Parameter error", "title": title, "status": status}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


class ScbServer:
    """A stand-in for SCB's PxWebApi 2.0 and API v1 serving the recorded responses.

    ``queue`` holds responses (or exceptions) to give before the normal answers, in order;
    ``requests`` records every request the client made.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.queue: deque[httpx.Response | Exception] = deque()
        self.cube = load("TAB6574_data.json")
        self.meta = load("TAB6574_metadata.json")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.queue:
            answer = self.queue.popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer
        path, method = request.url.path, request.method
        if request.url.host == "api.scb.se" and method == "POST":
            return httpx.Response(200, json=load("v1_FolkmDesoAldKon.json"))
        if path == "/api/v2/tables" and method == "GET":
            return httpx.Response(
                200, json=load(f"tables_page{request.url.params['pageNumber']}.json")
            )
        if path == "/api/v2/tables/TAB6574" and method == "GET":
            return httpx.Response(200, json=load("TAB6574_table.json"))
        if path == "/api/v2/tables/TAB6574/metadata" and method == "GET":
            return httpx.Response(200, json=self.meta)
        if path == "/api/v2/tables/TAB6574/data" and method == "POST":
            return self.data(json.loads(request.content))
        return httpx.Response(404, json=load("problem_404_nonexistent_table.json"))

    @property
    def data_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/data")]

    def data(self, body: dict[str, Any]) -> httpx.Response:
        """Cut the selection out of the full cube; eliminated variables are summed away."""
        cube, dims = self.cube, self.cube["dimension"]
        chosen = {item["variableCode"]: item["valueCodes"] for item in body["selection"]}
        values = np.array([np.nan if v is None else v for v in cube["value"]], dtype=float)
        status = np.full(len(values), None, dtype=object)
        for position, symbol in cube.get("status", {}).items():
            status[int(position)] = symbol
        values, status = values.reshape(cube["size"]), status.reshape(cube["size"])
        out_ids, out_dims, summed = [], {}, []
        for axis, dim_id in enumerate(cube["id"]):
            index = dims[dim_id]["category"]["index"]
            if dim_id not in chosen:
                if not self.meta["dimension"][dim_id]["extension"]["elimination"]:
                    return problem(400, "Missing selection for mandantory variable")
                summed.append(axis)
                continue
            if any(code not in index for code in chosen[dim_id]):
                return problem(400, "Non-existent value")
            keep = sorted(index[code] for code in chosen[dim_id])
            values, status = values.take(keep, axis=axis), status.take(keep, axis=axis)
            codes = [code for code in index if index[code] in keep]
            labels = dims[dim_id]["category"]["label"]
            out_ids.append(dim_id)
            out_dims[dim_id] = {
                "label": dims[dim_id]["label"],
                "category": {
                    "index": {code: i for i, code in enumerate(codes)},
                    "label": {code: labels[code] for code in codes},
                },
            }
        if summed:
            values = values.sum(axis=tuple(summed))
            status = np.full(values.shape, None, dtype=object)
        flat = [None if np.isnan(v) else float(v) for v in values.ravel()]
        doc = {
            "version": "2.0",
            "class": "dataset",
            "label": cube["label"],
            "source": "SCB",
            "updated": cube["updated"],
            "role": {k: [d for d in v if d in out_ids] for k, v in cube["role"].items()},
            "id": out_ids,
            "size": [len(out_dims[d]["category"]["index"]) for d in out_ids],
            "dimension": out_dims,
            "value": flat,
        }
        marks = {str(i): s for i, s in enumerate(status.ravel()) if s is not None}
        if marks:
            doc["status"] = marks
        return httpx.Response(200, json=doc)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to use a real connection fails the test."""

    def refuse(self, request):
        raise RuntimeError(f"test tried to reach the network: {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)


@pytest.fixture
def server() -> ScbServer:
    return ScbServer()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(server, clock):
    """A client on the mock transport and the fake clock; keyword arguments override."""
    made: list[PxWebClient] = []

    def make(**overrides: Any) -> PxWebClient:
        options = {"transport": httpx.MockTransport(server), "clock": clock, "sleep": clock.sleep}
        client = PxWebClient(**(options | overrides))
        assert isinstance(client.transport, httpx.MockTransport)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def metadata() -> TableMetadata:
    return TableMetadata.from_jsonstat(load("TAB6574_metadata.json"), "TAB6574")


ALL_REGSO = {"Region": "*_RegSO2025", "Alder": "*", "Kon": "*", "ContentsCode": "*", "Tid": "*"}


# --------------------------------------------------------------------------------------------
# No network


def test_a_client_without_a_mock_transport_cannot_reach_the_network():
    with PxWebClient() as client, pytest.raises(RuntimeError, match="reach the network"):
        client.table("TAB6574")


def test_nothing_is_created_before_the_first_answer(make_client, tmp_path):
    make_client(cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


# --------------------------------------------------------------------------------------------
# Table search, table info, metadata


def test_search_follows_the_pages_to_the_end(make_client, server):
    client = make_client()
    tables = client.search_tables("folkmängd region", page_size=2)
    assert [t["id"] for t in tables] == ["TAB6574", "TAB6571", "TAB638"]
    params = [dict(r.url.params) for r in server.requests]
    assert [p["pageNumber"] for p in params] == ["1", "2"]
    assert all(p["query"] == "folkmängd region" and p["pageSize"] == "2" for p in params)
    assert all(p["lang"] == "sv" for p in params)
    assert all(r.url.path == "/api/v2/tables" for r in server.requests)


def test_table_info(make_client, server):
    info = make_client(lang="en").table("TAB6574")
    assert (info["id"], info["firstPeriod"], info["lastPeriod"]) == ("TAB6574", "2010", "2024")
    assert str(server.requests[0].url) == f"{BASE}/tables/TAB6574?lang=en"


def test_metadata_is_parsed(make_client, server):
    meta = make_client().metadata("TAB6574")
    assert [v.code for v in meta.variables] == ["Region", "Alder", "Kon", "ContentsCode", "Tid"]
    region, alder, kon, contents, tid = meta.variables
    assert (region.role, tid.role, contents.role, alder.role) == ("geo", "time", "metric", None)
    assert meta.time is tid and meta.geo == (region,)
    assert [v.eliminable for v in meta.variables] == [False, True, True, False, False]
    assert alder.elimination_value == "totalt" and kon.elimination_value is None
    assert [c.id for c in region.codelists] == ["vs_DeSO2025", "vs_RegSO2025"]
    assert region.codelists[0].type == "Valueset"
    assert region.values[:2] == ("0114A0010_DeSO2025", "0114A0020_DeSO2025")
    assert alder.value_labels["80-"] == "80+ år" and tid.values == ("2022", "2023", "2024")
    assert meta.label.startswith("Folkmängden per region") and meta.updated.endswith("Z")
    assert meta.official_statistics is True and meta.notes
    params = server.requests[0].url.params
    assert (params["lang"], params["outputFormat"]) == ("sv", "json-stat2")


def test_metadata_reads_the_older_codeLists_spelling():
    doc = load("TAB6574_metadata.json")
    ext = doc["dimension"]["Region"]["extension"]
    ext["codeLists"] = ext.pop("codelists")
    meta = TableMetadata.from_jsonstat(doc)
    assert meta.table_id == "TAB6574"  # from extension.px.tableid
    assert [c.id for c in meta.variable("region").codelists] == ["vs_DeSO2025", "vs_RegSO2025"]


# --------------------------------------------------------------------------------------------
# Selections: value codes, wildcards and expressions, resolved against the metadata


@pytest.mark.parametrize(
    ("variable", "spec", "want"),
    [
        ("Tid", "TOP(2)", ["2023", "2024"]),  # on time, TOP means the latest periods
        ("Tid", "TOP(1,1)", ["2023"]),
        ("Tid", "BOTTOM(1)", ["2022"]),
        ("Alder", "TOP(2)", ["-4", "5-9"]),  # elsewhere, the first values
        ("Alder", "bottom(1)", ["totalt"]),
        ("Tid", "FROM(2023)", ["2023", "2024"]),
        ("Tid", "TO(2023)", ["2022", "2023"]),
        ("Tid", "RANGE(2024,2023)", ["2023", "2024"]),
        ("Region", "*_DeSO2025", ["0114A0010_DeSO2025", "0114A0020_DeSO2025"]),
        ("Region", "0114R*", ["0114R001_RegSO2025", "0114R002_RegSO2025"]),
        ("Region", "*a0020*", ["0114A0020_DeSO2025"]),
        ("Kon", "?", ["1", "2"]),
        ("Kon", "*", ["1", "2"]),
        (
            "Region",
            ["0114r002_regso2025", "0114A0010_DeSO2025"],
            ["0114A0010_DeSO2025", "0114R002_RegSO2025"],
        ),
        ("Tid", ["2024", "TOP(1)", "2022"], ["2022", "2024"]),  # duplicates once, in order
    ],
)
def test_selection_expressions(metadata, variable, spec, want):
    selection = {"Region": "0114A0010_DeSO2025", "ContentsCode": "*", "Tid": "2024", variable: spec}
    assert resolve_selection(metadata, selection)[variable] == want


def test_left_out_variables_are_eliminated_only_where_allowed(metadata):
    resolved = resolve_selection(metadata, {"region": "*", "contentscode": "*", "tid": "*"})
    assert list(resolved) == ["Region", "ContentsCode", "Tid"]
    with pytest.raises(ScbSelectionError, match=r"Tid \(år\) cannot be left out"):
        resolve_selection(metadata, {"Region": "*", "ContentsCode": "*"})
    assert resolve_selection(metadata, None)["Alder"] == ["-4", "5-9", "80-", "totalt"]


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ({"Kommun": "*"}, r"no variable 'Kommun'; the table has Region \(region\), Alder"),
        ({"Tid": "2031"}, r"value '2031', which variable Tid does not have"),
        ({"Tid": "FROM(1999)"}, r"names value '1999'"),
        ({"Region": "01*4"}, r"'\*' may only stand at the start and/or the end"),
        ({"Region": "*_DeSO2018"}, r"'\*_DeSO2018' matches no value of Region"),
        ({"Tid": []}, r"no values selected for Tid"),
        ({"Tid": "TOP(0)"}, r"the count must be at least 1"),
    ],
)
def test_bad_selections_name_the_problem(metadata, selection, message):
    full = {"Region": "*", "ContentsCode": "*", "Tid": "*"} | selection
    with pytest.raises(ScbSelectionError, match=message) as caught:
        resolve_selection(metadata, full)
    assert "TAB6574" in str(caught.value) and isinstance(caught.value, BrytaError)


def test_split_parts_cover_the_selection_and_stay_under_the_limit():
    selection = {"Region": [f"r{i}" for i in range(7)], "Kon": ["1", "2"], "Tid": ["a", "b", "c"]}
    for limit in (1, 2, 5, 6, 13, 42, 100):
        parts = split_selection(selection, limit, prefer=["Region"])
        assert all(math.prod(len(v) for v in p.values()) <= limit for p in parts)
        combos = {(r, k, t) for p in parts for r in p["Region"] for k in p["Kon"] for t in p["Tid"]}
        assert len(combos) == 42 == sum(math.prod(len(v) for v in p.values()) for p in parts)
    assert len(split_selection(selection, 42)) == 1


# --------------------------------------------------------------------------------------------
# Data: splitting, request shape, order, elimination, codelists


def test_a_split_request_gives_the_same_frame_as_an_unsplit_one(make_client, server):
    whole = make_client().fetch("TAB6574", ALL_REGSO)
    assert len(server.data_requests) == 1
    server.requests.clear()
    split = make_client(max_cells=10).fetch("TAB6574", ALL_REGSO)
    bodies = [json.loads(r.content) for r in server.data_requests]
    assert len(bodies) >= 3
    assert all(cells(b) <= 10 for b in bodies)
    assert sum(cells(b) for b in bodies) == 2 * 4 * 2 * 1 * 3 == whole.frame.height
    assert_frame_equal(split.frame, whole.frame)
    assert split.provenance.calls == 1 + len(bodies)  # the metadata, then the parts


def test_the_frame_is_tidy_and_in_metadata_order(make_client, metadata):
    frame = make_client(max_cells=7).data("TAB6574", {**ALL_REGSO, "Region": "*"})
    dims = ["Region", "Alder", "Kon", "ContentsCode", "Tid"]
    assert frame.columns == [*dims, *(f"{d}_label" for d in dims), "value", "status"]
    assert frame.height == 96
    order = [pl.col(v.code).cast(pl.Enum(list(v.values))) for v in metadata.variables]
    assert_frame_equal(frame, frame.sample(fraction=1.0, shuffle=True, seed=1).sort(order))
    assert frame["Region"].unique(maintain_order=True).to_list()[0] == "0114A0010_DeSO2025"
    missing = frame.filter(pl.col("status") == "..")
    assert missing.select(["Region", "Alder", "Kon", "Tid"]).row(0) == (
        "0114A0020_DeSO2025",
        "80-",
        "2",
        "2022",
    )
    assert missing["value"].to_list() == [None]
    assert frame["value"].dtype == pl.Float64 and frame["Kon_label"][0] == "män"


def test_post_bodies_have_the_documented_shape(make_client, server):
    make_client().fetch(
        "TAB6574",
        {"region": ["0114R001_RegSO2025"], "Kon": "1", "ContentsCode": "*", "Tid": "TOP(1)"},
        codelists={"Region": "vs_RegSO2025"},
    )
    meta_request, data_request = server.requests
    assert meta_request.url.params["codelist[Region]"] == "vs_RegSO2025"
    assert data_request.method == "POST"
    assert str(data_request.url) == f"{BASE}/tables/TAB6574/data?lang=sv&outputFormat=json-stat2"
    assert data_request.headers["content-type"] == "application/json"
    assert json.loads(data_request.content) == {
        "selection": [
            {
                "variableCode": "Region",
                "valueCodes": ["0114R001_RegSO2025"],
                "codelist": "vs_RegSO2025",
            },
            {"variableCode": "Kon", "valueCodes": ["1"]},
            {"variableCode": "ContentsCode", "valueCodes": ["000007Y7"]},
            {"variableCode": "Tid", "valueCodes": ["2024"]},
        ]
    }


def test_an_unknown_codelist_is_refused_before_any_data_call(make_client, server):
    with pytest.raises(ScbSelectionError, match="no codelist 'vs_Kommun'"):
        make_client().fetch("TAB6574", ALL_REGSO, codelists={"Region": "vs_Kommun"})
    assert not server.data_requests


def test_eliminated_variables_are_not_sent(make_client, server):
    frame = make_client().data(
        "TAB6574", {"Region": "*_RegSO2025", "ContentsCode": "*", "Tid": "*"}
    )
    (body,) = [json.loads(r.content) for r in server.data_requests]
    assert [item["variableCode"] for item in body["selection"]] == ["Region", "ContentsCode", "Tid"]
    assert "Alder" not in frame.columns and frame.height == 2 * 3


def test_plan_shows_the_calls_without_fetching_data(make_client, server):
    bodies = make_client(max_cells=4).plan(
        "TAB6574", {"Region": "*", "ContentsCode": "*", "Tid": "*"}
    )
    assert [cells(b) for b in bodies] == [3, 3, 3, 3]  # 4 regions × 3 years, split by region
    assert not server.data_requests


# --------------------------------------------------------------------------------------------
# Provenance


def test_provenance_records_source_query_time_calls_and_licence(make_client):
    client = make_client()
    selection = {"Region": "*_RegSO2025", "ContentsCode": "*", "Tid": "TOP(2)"}
    frame = client.data("TAB6574", selection)
    prov = client.last_provenance
    assert prov is not None and frame.height == 4
    assert (prov.source, prov.table_id, prov.licence) == (SOURCE, "TAB6574", LICENCE)
    assert prov.source == "SCB PxWebApi 2.0" and prov.licence == "CC0 1.0"
    assert isinstance(prov, Provenance)
    query = prov.query_data
    assert query["selection"] == selection and query["language"] == "sv"
    assert (prov.calls, prov.cache_hits) == (2, 0)
    assert datetime.fromisoformat(prov.retrieved_at).utcoffset().total_seconds() == 0
    assert prov.table_updated == "2025-02-21T07:00:00Z"
    assert json.loads(prov.query)["selection"]["Tid"] == "TOP(2)"
    assert prov.to_dict()["licence"] == "CC0 1.0"
    assert [r.method for r in prov.requests] == ["GET", "POST"]  # the metadata, the data
    assert prov.record()["query"] == prov.query  # what the warehouse stores


# --------------------------------------------------------------------------------------------
# Rate limit, retries, errors


def test_the_31st_call_in_ten_seconds_waits(make_client, clock, server):
    client = make_client()
    for _ in range(30):
        client.table("TAB6574")
    assert clock.sleeps == []
    client.table("TAB6574")
    assert clock.sleeps == [10.0] and len(server.requests) == 31


def test_the_window_slides(make_client, clock):
    client = make_client(calls_per_window=3, window_seconds=10.0)
    for moment in (0.0, 4.0, 8.0):
        clock.now = moment
        client.table("TAB6574")
    clock.now = 9.0
    client.table("TAB6574")  # the call at 0 leaves the window at 10
    client.table("TAB6574")  # then the one at 4 at 14
    assert clock.sleeps == [1.0, 4.0]


def test_429_is_retried_after_the_time_scb_asks_for(make_client, server, clock):
    text = (DATA / "rate_limited_429.txt").read_text(encoding="utf-8")
    server.queue.append(httpx.Response(429, text=text, headers={"Retry-After": "7"}))
    info = make_client().table("TAB6574")
    assert info["id"] == "TAB6574"
    assert clock.sleeps == [7.0] and len(server.requests) == 2


def test_5xx_and_time_outs_are_retried_with_exponential_back_off(make_client, server, clock):
    server.queue.extend(
        [httpx.Response(503), httpx.ReadTimeout("slow"), httpx.Response(502), httpx.Response(500)]
    )
    assert make_client(backoff=0.5).table("TAB6574")["id"] == "TAB6574"
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0] and len(server.requests) == 5


def test_the_client_gives_up_after_the_retries(make_client, server, clock):
    text = (DATA / "rate_limited_429.txt").read_text(encoding="utf-8")
    server.queue.extend(httpx.Response(429, text=text) for _ in range(3))
    with pytest.raises(ScbApiError) as caught:
        make_client(retries=2).table("TAB6574")
    error = caught.value
    assert error.status == 429 and error.table_id == "TAB6574"
    assert "SCB table TAB6574: HTTP 429 after 3 attempts" in str(error)
    assert "maximum admitted 30 per 10s" in str(error)
    assert len(server.requests) == 3 and clock.sleeps == [1.0, 2.0]


def test_no_answer_at_all_is_an_scb_api_error(make_client, server):
    server.queue.extend(httpx.ConnectError("refused") for _ in range(2))
    with pytest.raises(ScbApiError, match=r"no answer after 2 attempts \(ConnectError"):
        make_client(retries=1).table("TAB6574")


def test_an_answer_that_is_not_a_json_object_is_an_scb_api_error(make_client, server):
    server.queue.append(httpx.Response(200, json=["TAB6574"]))
    with pytest.raises(ScbApiError, match=r"SCB table TAB6574: the answer is an array, not a JSON"):
        make_client().table("TAB6574")
    server.queue.append(httpx.Response(200, json="tables"))
    with pytest.raises(ScbApiError, match=r"SCB API: the answer is a string.*\(GET https://"):
        make_client().search_tables("befolkning")


def test_a_400_shows_scbs_message_and_is_not_retried(make_client, server, tmp_path):
    client = make_client(cache_dir=tmp_path)
    client.metadata("TAB6574")  # cached: the next request is the data call
    server.queue.append(httpx.Response(400, json=load("problem_400_nonexistent_value.json")))
    with pytest.raises(ScbApiError) as caught:
        client.fetch("TAB6574", {"Region": "*", "ContentsCode": "*", "Tid": "*"})
    error = caught.value
    assert (error.status, error.detail, error.table_id) == (400, "Non-existent value", "TAB6574")
    assert str(error).startswith("SCB table TAB6574: HTTP 400: Non-existent value (POST ")
    assert len(server.requests) == 2  # the metadata, one data call


def test_an_unknown_table_is_a_404_with_scbs_message(make_client):
    with pytest.raises(ScbApiError, match=r"SCB table TAB9999: HTTP 404: Non-existent table"):
        make_client().metadata("TAB9999")
    for bad in ("../config", "..", "TAB 1"):
        with pytest.raises(ScbSelectionError, match="not a table id"):
            make_client().metadata(bad)


# --------------------------------------------------------------------------------------------
# Cache


def test_a_cache_hit_makes_no_http_call(make_client, server, tmp_path):
    first = make_client(cache_dir=tmp_path).fetch("TAB6574", ALL_REGSO)
    sent = len(server.requests)
    assert sent == 2 and len(list(tmp_path.glob("*.json"))) == 2

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"cache miss: {request.method} {request.url}")

    offline = PxWebClient(cache_dir=tmp_path, transport=httpx.MockTransport(refuse))
    again = offline.fetch("TAB6574", ALL_REGSO)
    assert_frame_equal(again.frame, first.frame)
    assert (again.provenance.calls, again.provenance.cache_hits) == (0, 2)
    assert again.provenance.retrieved_at == first.provenance.retrieved_at
    assert len(server.requests) == sent


def test_a_different_query_is_a_different_cache_entry(make_client, server, tmp_path):
    client = make_client(cache_dir=tmp_path)
    client.data("TAB6574", {"Region": "*", "ContentsCode": "*", "Tid": "2024"})
    client.data("TAB6574", {"Region": "*", "ContentsCode": "*", "Tid": "2023"})
    assert len(server.data_requests) == 2 and len(server.requests) == 3  # metadata cached


# --------------------------------------------------------------------------------------------
# API v1


def test_v1_request_body_has_the_documented_shape(make_client, server):
    client = make_client()
    frame = client.data_v1(
        "BE/BE0101/BE0101Y/FolkmDesoAldKon",
        {
            "Region": ["0114A0010", "0114A0020"],
            "Alder": "totalt",
            "Kon": "*",
            "ContentsCode": ["000007Y7"],
            "Tid": ["2023"],
        },
    )
    (request,) = server.requests
    assert (request.method, str(request.url)) == ("POST", V1_URL)
    assert json.loads(request.content) == {
        "query": [
            {
                "code": "Region",
                "selection": {"filter": "item", "values": ["0114A0010", "0114A0020"]},
            },
            {"code": "Alder", "selection": {"filter": "item", "values": ["totalt"]}},
            {"code": "Kon", "selection": {"filter": "all", "values": ["*"]}},
            {"code": "ContentsCode", "selection": {"filter": "item", "values": ["000007Y7"]}},
            {"code": "Tid", "selection": {"filter": "item", "values": ["2023"]}},
        ],
        "response": {"format": "json-stat2"},
    }
    assert frame.height == 4 and frame["value"].sum() == 712 + 709 + 905 + 921
    prov = client.last_provenance
    assert prov.source == "SCB PxWeb API v1" and prov.table_id.endswith("FolkmDesoAldKon")
    assert prov.licence == "CC0 1.0" and prov.calls == 1


def test_v1_takes_a_raw_query_list_and_has_its_own_window(make_client, server, clock):
    client = make_client()
    query = [{"code": "Tid", "selection": {"filter": "top", "values": ["1"]}}]
    for _ in range(11):
        client.data_v1("BE/BE0101/BE0101Y/FolkmDesoAldKon", query, lang="sv")
    assert json.loads(server.requests[0].content)["query"] == query
    assert clock.sleeps == [10.0]  # v1 allows 10 calls per 10 seconds
