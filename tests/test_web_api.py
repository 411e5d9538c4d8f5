"""The JSON API (/api/v1) and its offline docs, through FastAPI's TestClient and schemathesis.

Expected values are computed here with ``bryta.measure`` on the bundled panel, the call
``bryta measure`` makes, never read back from the API.
"""

from __future__ import annotations

import json
import math
import re
import typing
from pathlib import Path

import polars as pl
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

import bryta
from bryta.app import barometer
from bryta.app.context import Settings
from bryta.compute.segregation.indices import REGISTRY
from bryta.datasets import load_demo_panel
from bryta.errors import InputError
from bryta.web import api
from bryta.web.app import create_app

BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("web")))


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def expected_values() -> pl.DataFrame:
    """Every index per level, grouping, year: bryta.measure on the bundled panel."""
    panel = load_demo_panel()
    parts = []
    for grouping, groups in (("birth_region", BIRTH), ("tenure", TENURE)):
        levels = (("riket", ["year"]), ("lan", ["lan", "year"]), ("kommun", ["kommun", "year"]))
        for level, by in levels:
            result = bryta.measure(panel, unit="regso", groups=groups, by=by)
            code = pl.lit("00") if level == "riket" else pl.col(level)
            parts.append(
                result.select(
                    pl.lit(level).alias("level"),
                    code.alias("code"),
                    pl.lit(grouping).alias("grouping"),
                    pl.col("year").cast(pl.Int64),
                    "index",
                    "group",
                    "value",
                )
            )
    return pl.concat(parts)


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["detail"]
    return body


# --------------------------------------------------------------------------------------------
# /api/v1/kommuner


def test_kommuner(client):
    response = client.get("/api/v1/kommuner")
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 290
    assert all(set(row) == {"code", "name", "lan"} for row in rows)
    assert len({row["code"] for row in rows}) == 290
    assert {"code": "0180", "name": "Stockholm", "lan": "01"} in rows
    assert all(row["code"][:2] == row["lan"] for row in rows)


# --------------------------------------------------------------------------------------------
# /api/v1/segregation


def test_segregation_of_the_issue_example(client, expected_values):
    response = client.get(
        "/api/v1/segregation",
        params={"level": "kommun", "year": 2023, "index": "dissimilarity", "group": "born_abroad"},
    )
    assert response.status_code == 200
    rows = response.json()
    assert len(rows) == 290
    want = expected_values.filter(
        level="kommun", year=2023, index="dissimilarity", group="born_abroad"
    )
    want = dict(zip(want["code"], want["value"], strict=True))
    names = {r["code"]: r["name"] for r in client.get("/api/v1/kommuner").json()}
    for row in rows:
        assert set(row) >= {"code", "name", "year", "index", "group", "value", "grouping"}
        assert (row["year"], row["index"], row["group"]) == (2023, "dissimilarity", "born_abroad")
        assert row["name"] == names[row["code"]]
        assert row["value"] == pytest.approx(want[row["code"]], abs=1e-12, rel=0)


@pytest.mark.parametrize("level", ["riket", "lan", "kommun"])
def test_segregation_equals_measure_for_every_index_group_and_year(client, expected_values, level):
    response = client.get("/api/v1/segregation", params={"level": level})
    assert response.status_code == 200
    got = pl.DataFrame(response.json(), infer_schema_length=None)
    want = expected_values.filter(level=level).drop("level")
    assert got.height == want.height
    keys = ["code", "grouping", "year", "index", "group"]
    joined = want.join(got, on=keys, how="left", nulls_equal=True, suffix="_api")
    assert joined["value_api"].len() == want.height
    for expected, actual in zip(joined["value"], joined["value_api"], strict=True):
        if math.isnan(expected):
            assert actual is None  # NaN travels as JSON null
        else:
            assert actual == pytest.approx(expected, abs=1e-12, rel=0)
    # without `group`, the multigroup indices are there, with group null
    assert got.filter(pl.col("group").is_null()).height > 0


def test_nan_is_json_null(client):
    """Ragunda's tenure indices in 2020 are undefined (no tenant-owned dwellings): null."""
    response = client.get(
        "/api/v1/segregation", params={"level": "kommun", "year": 2020, "group": "tenant_owned"}
    )
    assert response.status_code == 200
    assert "NaN" not in response.text
    rows = json.loads(response.text)  # strict JSON: no NaN
    ragunda = [r for r in rows if r["code"] == "2303"]
    assert ragunda and all(r["value"] is None for r in ragunda)


def test_segregation_filters_keep_what_they_name(client):
    rows = client.get("/api/v1/segregation", params={"level": "lan", "group": "rental"}).json()
    assert {r["group"] for r in rows} == {"rental"}
    assert {r["grouping"] for r in rows} == {"tenure"}
    assert {r["year"] for r in rows} == {2020, 2021, 2022, 2023}
    assert len({r["code"] for r in rows}) == 21
    rows = client.get(
        "/api/v1/segregation", params={"level": "riket", "index": "mutual_information"}
    ).json()
    assert {r["group"] for r in rows} == {None}
    assert {r["code"] for r in rows} == {"00"}
    assert {r["name"] for r in rows} == {"Sverige"}


@pytest.mark.parametrize(
    ("params", "parameter", "named"),
    [
        ({"level": "regso"}, "level", ["riket", "lan", "kommun"]),
        ({"index": "segregation"}, "index", ["dissimilarity", "theil_h"]),
        ({"group": "born_mars"}, "group", ["born_abroad", "rental"]),
        ({"year": "twenty"}, "year", ["integer"]),
    ],
)
def test_bad_parameters_are_422_problems_naming_the_choices(client, params, parameter, named):
    body = _problem(client.get("/api/v1/segregation", params=params), 422)
    assert parameter in body["detail"]
    for value in named:
        assert value in body["detail"]
    assert [e["parameter"] for e in body["errors"]] == [parameter]


def test_a_year_without_data_is_a_422_problem(client):
    body = _problem(client.get("/api/v1/segregation", params={"year": 1999}), 422)
    assert "year" in body["detail"] and "2020" in body["detail"]


def test_a_group_with_a_multigroup_index_is_no_rows():
    """A focal group keeps the rows of that group, so a multigroup index has none: an empty
    answer, not an error listing no choices."""
    table = barometer.segregation("lan", index="multigroup_dissimilarity", group="born_abroad")
    assert table.is_empty()
    with pytest.raises(InputError, match="group must be one of born_abroad, born_sweden, "):
        barometer.segregation("lan", index="multigroup_dissimilarity", group="born_mars")


def test_a_group_with_a_multigroup_index_answers_an_empty_list(client):
    params = {"level": "lan", "index": "multigroup_dissimilarity", "group": "born_abroad"}
    response = client.get("/api/v1/segregation", params=params)
    assert response.status_code == 200
    assert response.json() == []


def test_declared_choices_match_the_use_case():
    """The enums of /openapi.json are the values the use case knows."""
    assert set(typing.get_args(api.Level)) == set(barometer.LEVELS)
    assert set(typing.get_args(api.Grouping)) == set(barometer.GROUPINGS)
    groups = {g for groups in barometer.GROUPINGS.values() for g in groups}
    assert set(typing.get_args(api.Group)) == groups
    computed = [name for name, spec in REGISTRY.items() if not spec.simulated]
    assert list(typing.get_args(api.Index)) == computed
    years = barometer.segregation("riket", index="dissimilarity", group="born_abroad")["year"]
    assert (years.min(), years.max()) == (api.FIRST_YEAR, api.LAST_YEAR)
    assert years.n_unique() == api.LAST_YEAR - api.FIRST_YEAR + 1


# --------------------------------------------------------------------------------------------
# /api/v1/areas/{code}


@pytest.mark.parametrize(
    ("code", "level", "name"),
    [
        ("0114R001", "regso", "Bollstanäs"),
        ("0114", "kommun", "Upplands Väsby"),
        ("01", "lan", "Stockholm"),
        ("00", "riket", "Sverige"),
    ],
)
def test_area_profile(client, code, level, name):
    response = client.get(f"/api/v1/areas/{code}")
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["level"], body["name"]) == (code, level, name)
    assert body["area_types"]
    assert all({"year", "area_type"} <= set(row) for row in body["area_types"])
    population = [
        r for r in body["indicators"] if r["indicator"] == "population" and r["year"] == 2023
    ]
    assert len(population) == 1
    rank_keys = [k for k in population[0] if k.startswith("rank_")]
    assert rank_keys and all(isinstance(population[0][k], int) for k in rank_keys)


def test_area_profile_population_is_the_panel_sum(client):
    panel = load_demo_panel().filter(kommun="0114", year=2023)
    expected = panel["born_sweden"].sum() + panel["born_abroad"].sum()
    body = client.get("/api/v1/areas/0114").json()
    (row,) = [r for r in body["indicators"] if r["indicator"] == "population" and r["year"] == 2023]
    assert row["value"] == expected
    # ranks among the 290 kommuner
    assert row["n_riket"] == 290 and 1 <= row["rank_riket"] <= 290


@pytest.mark.parametrize("code", ["0199", "0114R999", "99", "x1", "0114A0010", "ÅÄÖ"])
def test_unknown_area_is_a_404_problem(client, code):
    body = _problem(client.get(f"/api/v1/areas/{code}"), 404)
    assert code in body["detail"]


# --------------------------------------------------------------------------------------------
# The rest of /api, and the docs


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v2/kommuner", "/api", "/api/x/y/z"])
def test_unknown_api_paths_are_404_problems(client, path):
    _problem(client.get(path), 404)


def test_other_methods_are_405_problems(client):
    body = _problem(client.post("/api/v1/kommuner"), 405)
    assert "GET" in body["detail"]
    assert client.delete("/api/v1/areas/0114").headers["allow"] == "GET"


def test_openapi_documents_the_models(client):
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert {"Kommun", "SegregationValue", "AreaProfile", "Problem"} <= set(components)
    get = schema["paths"]["/api/v1/segregation"]["get"]
    params = {p["name"]: p["schema"] for p in get["parameters"]}
    assert params["level"]["enum"] == ["riket", "lan", "kommun"]
    assert PROBLEM in get["responses"]["422"]["content"]
    area = schema["paths"]["/api/v1/areas/{code}"]["get"]
    assert PROBLEM in area["responses"]["404"]["content"]


def test_docs_are_served_offline(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.text
    assert "swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert not re.search(r"(https?:)?//[\w.-]+", html), "every URL must be local"
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)
    assert urls
    for url in urls:
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url


def test_vendored_swagger_ui_has_its_licence_and_provenance():
    vendor = Path(api.__file__).parent / "static" / "vendor"
    assert (vendor / "swagger-ui" / "LICENSE").read_text().find("Apache License") >= 0
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert "swagger-ui-dist" in readme and "Apache-2.0" in readme


# --------------------------------------------------------------------------------------------
# schemathesis: no server error, every answer matching its schema


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_schema(api_schema, mode):
    """Generated requests, valid and invalid, to every operation: no 5xx, every answer of a
    documented status and content type matching its schema (schemathesis's default checks)."""

    @given(case=api_schema.as_strategy(generation_mode=mode))
    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate()

    check()


@pytest.mark.parametrize("code", ["0114R001", "0114", "01", "00", "2303"])
def test_area_profiles_conform_to_their_schema(api_schema, code):
    """Generated codes are almost never areas, so the profiles are checked by name."""
    operation = api_schema["/api/v1/areas/{code}"]["GET"]
    response = operation.Case(path_parameters={"code": code}).call_and_validate()
    assert response.status_code == 200


def test_filtered_segregation_conforms_to_its_schema(api_schema):
    operation = api_schema["/api/v1/segregation"]["GET"]
    query = {"level": "kommun", "year": 2020, "group": "tenant_owned"}  # has nulls
    response = operation.Case(query=query).call_and_validate()
    assert response.status_code == 200
