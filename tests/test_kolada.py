"""The Kolada v3 client, against hand-written responses served by httpx.MockTransport.

No test reaches the network: every client gets a MockTransport, and an autouse fixture makes
any socket connection fail. tests/data/kolada/README.md says where the response shape comes
from; the numbers in the files are invented.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pytest

from bryta.errors import BrytaError
from bryta.ingest.kolada import (
    DATA_SCHEMA,
    LICENCE,
    SOURCE,
    KoladaClient,
    KoladaError,
    KoladaQueryError,
)
from bryta.ingest.provenance import Provenance

RECORDED = Path(__file__).parent / "data" / "kolada"
DATA_PATH = "/v3/data/kpi/N01951/municipality/0180,1480,0001/year/2022,2023"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def key(url: httpx.URL) -> str:
    """A request's path with its query parameters sorted, so routes ignore parameter order."""
    query = "&".join(f"{name}={value}" for name, value in sorted(url.params.multi_items()))
    return url.path + (f"?{query}" if query else "")


class FakeKolada:
    """A MockTransport handler: routes map path?sorted-query to a body or a callable; every
    request is logged, and an unknown request fails the test."""

    def __init__(self, routes: dict[str, dict | Callable[[httpx.Request], httpx.Response]]):
        self.routes = routes
        self.seen: list[str] = []
        self.transport = httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        where = key(request.url)
        self.seen.append(where)
        assert request.url.host == "api.kolada.se", request.url
        if where not in self.routes:
            raise AssertionError(f"unexpected request {where}")
        answer = self.routes[where]
        return answer(request) if callable(answer) else httpx.Response(200, json=answer)

    def client(self, **options) -> KoladaClient:
        sleeps = options.pop("sleeps", [])
        return KoladaClient(transport=self.transport, sleep=sleeps.append, **options)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a Kolada test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def three_pages() -> FakeKolada:
    return FakeKolada(
        {
            f"{DATA_PATH}?per_page=2": recorded("data_N01951_page1.json"),
            f"{DATA_PATH}?page=2&per_page=2": recorded("data_N01951_page2.json"),
            f"{DATA_PATH}?page=3&per_page=2": recorded("data_N01951_page3.json"),
        }
    )


def fetch_three_pages(api: FakeKolada, **options) -> tuple[pl.DataFrame, KoladaClient]:
    client = api.client(per_page=2, **options)
    frame = client.data(["N01951"], ["0180", "1480", "0001"], [2022, 2023])
    return frame, client


# -- paging, shape, genders, missing values ------------------------------------------------


def test_next_url_is_followed_through_three_pages_in_order(three_pages):
    frame, client = fetch_three_pages(three_pages)
    assert three_pages.seen == [
        f"{DATA_PATH}?per_page=2",
        f"{DATA_PATH}?page=2&per_page=2",
        f"{DATA_PATH}?page=3&per_page=2",
    ]
    expected = [
        (item["municipality"], item["period"], value["gender"])
        for page in (1, 2, 3)
        for item in recorded(f"data_N01951_page{page}.json")["values"]
        for value in item["values"]
    ]
    got = list(frame.select("municipality", "year", "gender").iter_rows())
    assert got == expected  # every row once, in the order Kolada sent them
    assert frame.height == 18 == len(set(got))
    assert isinstance(client._http._transport, httpx.MockTransport)


def test_tidy_frame_has_text_codes_and_fixed_types(three_pages):
    frame, _ = fetch_three_pages(three_pages)
    assert frame.schema == pl.Schema(DATA_SCHEMA)
    assert frame.columns == ["kpi", "municipality", "year", "gender", "value", "count", "status"]
    assert set(frame["municipality"]) == {"0180", "1480", "0001"}  # leading zeros kept
    assert set(frame["kpi"]) == {"N01951"}
    assert set(frame["count"]) == {1}


def test_gender_breakdown_women_plus_men_is_total(three_pages):
    frame, _ = fetch_three_pages(three_pages)
    assert set(frame["gender"]) == {"T", "K", "M"}
    assert frame.group_by("municipality", "year").len()["len"].to_list() == [3] * 6
    wide = frame.pivot(on="gender", index=["municipality", "year"], values="value")
    complete = wide.drop_nulls()
    assert complete.height == 5
    assert (complete["K"] + complete["M"] - complete["T"]).abs().max() == 0


def test_missing_value_is_null_not_zero(three_pages):
    frame, _ = fetch_three_pages(three_pages)
    missing = frame.filter(pl.col("value").is_null())
    assert missing.select("municipality", "year", "gender").rows() == [("1480", 2023, "K")]
    assert missing["status"].to_list() == ["Missing"]
    assert frame["value"].is_nan().sum() == 0
    assert frame.filter(pl.col("value").is_not_null())["status"].null_count() == 17  # "" -> null


def test_deleted_values_are_left_out():
    path = "/v3/data/kpi/N01951/municipality/2584/year/2023"
    api = FakeKolada({f"{path}?per_page=5000": recorded("data_deleted.json")})
    frame = api.client().data(["N01951"], ["2584"], [2023])
    assert frame.rows() == [("N01951", "2584", 2023, "T", 220.0, 1, None)]


def test_empty_answer_gives_an_empty_frame_with_the_schema():
    path = "/v3/data/kpi/N01951/year/1990"
    api = FakeKolada({f"{path}?per_page=5000": recorded("kpi_unknown.json")})
    frame = api.client().data(["N01951"], None, [1990])
    assert frame.height == 0
    assert frame.schema == pl.Schema(DATA_SCHEMA)


@pytest.mark.parametrize(
    ("kpis", "municipalities", "years", "path"),
    [
        (["N01951"], None, [2023], "/v3/data/kpi/N01951/year/2023"),
        (["N01951"], ["0180"], None, "/v3/data/kpi/N01951/municipality/0180"),
        (None, ["0180"], [2023], "/v3/data/municipality/0180/year/2023"),
    ],
)
def test_each_two_dimension_path_variant(kpis, municipalities, years, path):
    api = FakeKolada({f"{path}?per_page=5000": recorded("kpi_unknown.json")})
    api.client().data(kpis, municipalities, years)
    assert api.seen == [f"{path}?per_page=5000"]


# -- splitting long id lists ----------------------------------------------------------------


def echo(request: httpx.Request) -> httpx.Response:
    """Answer any data path with one item per kpi × municipality × year it names."""
    parts = request.url.path.split("/")[3:]
    dims = dict(zip(parts[::2], (p.split(",") for p in parts[1::2]), strict=True))
    values = [
        {"kpi": k, "municipality": m, "period": int(y),
         "values": [{"gender": "T", "count": 1, "status": "", "value": 1.0, "isdeleted": False}]}
        for k in dims["kpi"] for m in dims["municipality"] for y in dims["year"]
    ]  # fmt: skip
    return httpx.Response(200, json={"count": len(values), "values": values, "next_url": None})


class Echo(FakeKolada):
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(key(request.url))
        return echo(request)


MUNICIPALITIES = [f"{i:04d}" for i in range(114, 144)]  # 30 codes, leading zeros


def test_more_than_25_ids_are_split_into_several_requests():
    api = Echo({})
    frame = api.client().data(["N01951", "N00001"], MUNICIPALITIES, [2022, 2023])
    assert len(api.seen) == 2  # 25 + 5 municipalities
    segments = [path.split("/")[6].split(",") for path in api.seen]
    assert [len(s) for s in segments] == [25, 5]
    assert [code for segment in segments for code in segment] == MUNICIPALITIES
    assert frame.height == 2 * 30 * 2
    assert frame.unique(["kpi", "municipality", "year"]).height == frame.height
    assert frame["municipality"].unique().sort().to_list() == MUNICIPALITIES


def test_every_dimension_is_split_and_all_combinations_are_asked():
    api = Echo({})
    kpis = [f"N{i:05d}" for i in range(27)]
    years = list(range(1990, 2020))
    frame = api.client().data(kpis, MUNICIPALITIES, years)
    assert len(api.seen) == 2 * 2 * 2
    assert frame.height == 27 * 30 * 30
    assert frame.unique(["kpi", "municipality", "year"]).height == frame.height


def test_url_length_limit_splits_further():
    api = Echo({})
    client = api.client(max_url_length=150)
    frame = client.data(["N01951"], MUNICIPALITIES, [2023])
    assert len(api.seen) > 2
    assert all(len("https://api.kolada.se" + path) <= 150 for path in api.seen)
    assert frame["municipality"].to_list() == MUNICIPALITIES


def test_a_url_that_cannot_be_short_enough_is_refused():
    with pytest.raises(KoladaQueryError, match="longer than 60 characters"):
        Echo({}).client(max_url_length=60).data(["N01951"], ["0180"], [2023])


# -- retries and errors --------------------------------------------------------------------


def sequence(*answers: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return answer


PATH_2584 = "/v3/data/kpi/N01951/municipality/2584/year/2023"


def test_retry_on_429_and_503_then_success():
    api = FakeKolada(
        {
            f"{PATH_2584}?per_page=5000": sequence(
                httpx.Response(429, headers={"Retry-After": "3"}),
                httpx.Response(503),
                httpx.Response(200, json=recorded("data_deleted.json")),
            )
        }
    )
    sleeps: list[float] = []
    frame = api.client(backoff=0.5, sleeps=sleeps).data(["N01951"], ["2584"], [2023])
    assert frame.height == 1
    assert len(api.seen) == 3
    assert sleeps == [3.0, 1.0]  # Retry-After beats 0.5 s; then 0.5 * 2**1


def test_timeout_is_retried():
    answer = sequence(
        httpx.ReadTimeout("slow"), httpx.Response(200, json=recorded("data_deleted.json"))
    )
    api = FakeKolada({f"{PATH_2584}?per_page=5000": answer})
    sleeps: list[float] = []
    assert api.client(sleeps=sleeps).data(["N01951"], ["2584"], [2023]).height == 1
    assert sleeps == [1.0]


def test_gives_up_with_path_and_status_in_the_message():
    api = FakeKolada({f"{PATH_2584}?per_page=5000": lambda request: httpx.Response(503)})
    sleeps: list[float] = []
    with pytest.raises(KoladaError) as caught:
        api.client(sleeps=sleeps).data(["N01951"], ["2584"], [2023])
    error = caught.value
    assert isinstance(error, BrytaError)
    assert error.status == 503
    assert error.path == f"{PATH_2584}?per_page=5000"
    assert PATH_2584 in str(error) and "HTTP 503" in str(error) and "5 attempts" in str(error)
    assert len(api.seen) == 5  # retries=4: one try and four more
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_client_errors_are_not_retried():
    api = FakeKolada(
        {f"{PATH_2584}?per_page=5000": lambda request: httpx.Response(400, text="Bad id")}
    )
    sleeps: list[float] = []
    with pytest.raises(KoladaError, match=r"HTTP 400: Bad id") as caught:
        api.client(sleeps=sleeps).data(["N01951"], ["2584"], [2023])
    assert caught.value.status == 400 and PATH_2584 in str(caught.value)
    assert len(api.seen) == 1 and sleeps == []


def test_answer_without_values_is_an_error():
    api = FakeKolada({f"{PATH_2584}?per_page=5000": {"count": 0}})
    with pytest.raises(KoladaError, match="without a 'values' list"):
        api.client().data(["N01951"], ["2584"], [2023])


def test_answer_that_is_not_json_is_an_error():
    api = FakeKolada(
        {f"{PATH_2584}?per_page=5000": lambda request: httpx.Response(200, text="<html>")}
    )
    with pytest.raises(KoladaError, match=r"HTTP 200 but not JSON: <html>") as caught:
        api.client().data(["N01951"], ["2584"], [2023])
    assert caught.value.path == f"{PATH_2584}?per_page=5000"


def test_a_next_url_loop_is_stopped():
    page = {"count": 0, "values": [], "next_url": f"https://api.kolada.se{PATH_2584}?per_page=5000"}
    api = FakeKolada({f"{PATH_2584}?per_page=5000": page})
    with pytest.raises(KoladaError, match="already fetched"):
        api.client().data(["N01951"], ["2584"], [2023])
    assert len(api.seen) == 1


@pytest.mark.parametrize(
    ("kpis", "municipalities", "years", "message"),
    [
        (["N01951"], None, None, "at least two of"),
        (["N01951"], [180], [2023], "leading zeros kept"),
        (["N01951"], "0180", [2023], "not one string"),
        (["N01951"], ["01/80"], [2023], "not a Kolada id"),
        (["N01951"], ["0180"], [23], "four-digit"),
        (["N01951"], [], [2023], "empty"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(kpis, municipalities, years, message):
    api = FakeKolada({})
    with pytest.raises(KoladaQueryError, match=message) as caught:
        api.client().data(kpis, municipalities, years)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, BrytaError)
    assert api.seen == []


# -- cache and provenance ------------------------------------------------------------------


def test_cache_hit_makes_no_call(three_pages, tmp_path):
    first, client = fetch_three_pages(three_pages, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 3
    fetched_at = client.last_provenance.retrieved_at

    offline = FakeKolada({})  # any request would fail the test
    second, again = fetch_three_pages(offline, cache_dir=tmp_path)
    assert offline.seen == []
    assert second.equals(first)
    provenance = again.last_provenance
    assert all(r.from_cache for r in provenance.requests)
    assert provenance.retrieved_at == fetched_at  # the time Kolada answered, not the cache read


def test_provenance_names_source_licence_paths_and_utc_time(three_pages):
    before = datetime.now().astimezone()
    _, client = fetch_three_pages(three_pages)
    provenance = client.last_provenance
    assert provenance.source == SOURCE == "Kolada (RKA) API v3"
    assert "Källa: Kolada" in provenance.licence and provenance.licence == LICENCE
    assert [r.path for r in provenance.requests] == three_pages.seen
    assert not any(r.from_cache for r in provenance.requests)
    retrieved = datetime.fromisoformat(provenance.retrieved_at)
    assert retrieved.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= retrieved <= datetime.now().astimezone()
    assert isinstance(provenance, Provenance) and provenance.calls == 3
    record = provenance.record()
    assert record["table_id"] == "N01951"
    assert record["query"].splitlines() == three_pages.seen
    assert set(record) == {
        "source", "licence", "table_id", "query", "file", "sha256", "retrieved_at",
    }  # fmt: skip


# -- metadata ------------------------------------------------------------------------------


def test_search_kpis_reads_every_page():
    api = FakeKolada(
        {
            "/v3/kpi?per_page=2&title=invånare": recorded("kpi_search_invanare_page1.json"),
            "/v3/kpi?page=2&per_page=2&title=invånare": recorded("kpi_search_invanare_page2.json"),
        }
    )
    frame = api.client(per_page=2).search_kpis("invånare")
    assert frame["id"].to_list() == ["N01951", "N00001", "N00002"]
    assert frame.columns[:6] == [
        "id", "title", "description", "municipality_type", "operating_area", "has_ou_data",
    ]  # fmt: skip
    assert frame.schema["has_ou_data"] == pl.Boolean
    assert frame["is_divided_by_gender"].to_list() == [True, True, False]
    assert frame["publ_period"].to_list() == ["2023"] * 3


def test_kpi_returns_one_record_and_unknown_ids_raise():
    api = FakeKolada(
        {
            "/v3/kpi/N01951?per_page=5000": recorded("kpi_N01951.json"),
            "/v3/kpi/N99999?per_page=5000": recorded("kpi_unknown.json"),
        }
    )
    client = api.client()
    assert client.kpi("N01951")["title"] == "Invånare totalt, antal"
    with pytest.raises(KoladaError, match=r"no KPI N99999 \(GET /v3/kpi/N99999"):
        client.kpi("N99999")


def test_municipalities_are_filtered_by_type_and_keep_leading_zeros():
    api = FakeKolada({"/v3/municipality?per_page=5000": recorded("municipality.json")})
    client = api.client()
    kommuner = client.municipalities()
    assert kommuner.columns == ["id", "title", "type"]
    assert kommuner["id"].to_list() == ["0114", "0180", "1480", "2584"]
    assert client.municipalities("L")["id"].to_list() == ["0001", "0014"]
    assert client.municipalities(None).height == 6


def test_construction_sends_nothing_and_default_transport_is_not_used_in_tests():
    with KoladaClient() as client:  # a real transport, but no request is made
        assert client.last_provenance is None


# -- the shared HTTP core ------------------------------------------------------------------


def test_a_refused_connection_is_retried_like_a_time_out(tmp_path):
    answer = sequence(
        httpx.ConnectError("refused"), httpx.Response(200, json=recorded("data_deleted.json"))
    )
    api = FakeKolada({f"{PATH_2584}?per_page=5000": answer})
    sleeps: list[float] = []
    client = api.client(sleeps=sleeps, cache_dir=tmp_path)
    assert client.data(["N01951"], ["2584"], [2023]).height == 1
    assert sleeps == [1.0] and len(api.seen) == 2
    assert client.last_provenance.calls == 2  # the failed attempt counts as a call
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".json")] == []


def test_errors_of_both_clients_are_source_errors_of_the_core():
    from bryta.errors import SourceError
    from bryta.ingest._http import HttpSourceError
    from bryta.ingest.pxweb import ScbApiError

    for kind in (KoladaError, ScbApiError):
        assert issubclass(kind, HttpSourceError) and issubclass(kind, SourceError)


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    import os

    from bryta.ingest._http import atomic_write

    target = tmp_path / "entry.json"
    atomic_write(target, "old")

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["entry.json"]
