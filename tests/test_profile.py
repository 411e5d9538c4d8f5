"""Area profiles on the bundled panel: values recomputed independently from the raw exports,
ranks, identities of the local measures, type histories, errors and the CLI."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app.profiles import area_profile
from bryta.cli import app
from bryta.datasets import load_demo_panel, official_area_types
from bryta.errors import BrytaError, NotFound


@pytest.fixture(scope="module")
def panel() -> pl.DataFrame:
    return load_demo_panel().with_columns(population=pl.col("born_sweden") + pl.col("born_abroad"))


def _value(profile, indicator: str, year: int, column: str = "value"):
    return profile.indicators.filter(indicator=indicator, year=year)[column].item()


def test_kommun_indicators_and_ranks(panel):
    p = area_profile("1280")
    assert (p.name, p.level, p.parents) == ("Malmö", "kommun", [("lan", "12", "Skåne")])
    per_kommun = panel.filter(year=2023).group_by("kommun").agg(pl.col("population").sum())
    malmo = per_kommun.filter(kommun="1280")["population"].item()
    assert _value(p, "population", 2023) == malmo
    larger = per_kommun.filter(pl.col("population") > malmo).height
    assert _value(p, "population", 2023, "rank_riket") == larger + 1
    assert _value(p, "population", 2023, "n_riket") == 290
    in_lan = per_kommun.filter(pl.col("kommun").str.starts_with("12"))
    assert _value(p, "population", 2023, "n_lan") == in_lan.height == 33
    rows = panel.filter(kommun="1280", year=2023)
    share = 100 * rows["born_abroad"].sum() / rows["population"].sum()
    assert _value(p, "born_abroad_pct", 2023) == pytest.approx(share, rel=1e-12)


def test_kommun_dissimilarity_matches_a_hand_computation(panel):
    p = area_profile("0114")
    rows = panel.filter(kommun="0114", year=2021)
    a = rows["born_abroad"].to_numpy() / rows["born_abroad"].sum()
    b = rows["born_sweden"].to_numpy() / rows["born_sweden"].sum()
    d = 0.5 * np.abs(a - b).sum()
    got = p.segregation.filter(index="dissimilarity", year=2021)["value"].item()
    assert got == pytest.approx(d, rel=1e-12)
    assert p.segregation.filter(index="dissimilarity", year=2021)["n"].item() == 290


def test_population_in_challenged_areas_nationally():
    # product.md: about 1.4 million people lived in areas of types 1–2 in 2019
    p = area_profile("00")
    share = _value(p, "challenged_pop_pct", 2022)
    population = _value(p, "population", 2022)
    assert 1.3e6 < share / 100 * population < 1.5e6
    official = p.area_types.filter(source="official")
    assert official["areas"].sum() == 3363
    assert 100 * official.filter(pl.col("area_type") <= 2)["share"].sum() == pytest.approx(
        share, rel=1e-12
    )


def test_regso_profile(panel):
    p = area_profile("1280R020")
    assert p.parents == [("kommun", "1280", "Malmö"), ("lan", "12", "Skåne")]
    official = official_area_types().filter(regso="1280R020")["area_type"].item()
    types = p.area_types
    assert types.filter(source="official").select("year", "area_type").row(0) == (2022, official)
    assert sorted(types.filter(source="proxy")["year"].to_list()) == [2020, 2021, 2022, 2023]
    # compared with the RegSO of the same official type nationally
    assert (
        _value(p, "population", 2022, "n_area_type")
        == official_area_types().filter(area_type=official).height
    )
    assert _value(p, "population", 2022, "n_kommun") == 91
    rows = panel.filter(kommun="1280", year=2022)
    mine = rows.filter(regso="1280R020")
    lq = (mine["born_abroad"].item() / mine["population"].item()) / (
        rows["born_abroad"].sum() / rows["population"].sum()
    )
    got = p.segregation.filter(index="location_quotient", group="born_abroad", year=2022)
    assert got["value"].item() == pytest.approx(lq, rel=1e-12)


def test_local_shares_of_m_add_up_to_100_in_each_kommun():
    codes = [f"0114R{i:03d}" for i in range(1, 13)]
    total = sum(
        area_profile(c)
        .segregation.filter(index="local_M_share_pct", dimension="tenure", year=2020)["value"]
        .item()
        for c in codes
    )
    assert total == pytest.approx(100.0, rel=1e-12)


def test_type_population_shares_add_up():
    p = area_profile("01")
    sums = p.area_types.group_by("source", "year").agg(pl.col("share").sum())
    assert np.allclose(sums["share"].to_numpy(), 1.0, rtol=1e-12)


def test_extra_indicators_are_ranked_with_the_rest():
    extra = pl.DataFrame(
        {
            "level": ["kommun"] * 3,
            "area": ["0114", "0115", "0117"],
            "year": [2022] * 3,
            "indicator": ["voter_turnout"] * 3,
            "value": [80.0, 90.0, 70.0],
        }
    )
    p = area_profile("0114", indicators=extra)
    row = p.indicators.filter(indicator="voter_turnout")
    assert row.select("value", "rank_riket", "n_riket", "median_riket").row(0) == (
        80.0,
        2,
        3,
        80.0,
    )
    with pytest.raises(BrytaError, match="indicators need the columns value"):
        area_profile("0114", indicators=extra.drop("value"))


@pytest.mark.parametrize(
    ("code", "message"),
    [("0199", "not a kommun of the bundled"), ("x1", "is not a RegSO"), ("0114R999", "regso")],
)
def test_unknown_codes(code, message):
    with pytest.raises(NotFound, match=message):
        area_profile(code)


@pytest.mark.parametrize("code", ["x1", "", "0114R001x", "01140001", "0114A0010"])
def test_a_code_of_no_area_is_not_found(code):
    """Any string that is not the code of a profiled area is NotFound (404 on the web), not
    an input error: there is no area by that name."""
    with pytest.raises(NotFound):
        area_profile(code)


def test_json_twin_is_serialisable():
    data = area_profile("0114R001").to_dict()
    text = json.dumps(data)
    assert json.loads(text)["parents"][0] == {
        "level": "kommun",
        "code": "0114",
        "name": "Upplands Väsby",
    }
    assert {"indicators", "area_types", "segregation", "notes"} <= set(data)


def test_cli(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["profile", "1280", "--year", "2022"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "Malmö (1280, kommun)" in res.output and "dissimilarity" in res.output
    out = tmp_path / "p.json"
    res = runner.invoke(app, ["profile", "1280R020", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text(encoding="utf-8"))["code"] == "1280R020"
    res = runner.invoke(app, ["profile", "9999"])
    assert res.exit_code == 2 and "not a kommun" in res.output


def test_cli_adds_indicators_loaded_into_the_warehouse(tmp_path):
    from bryta.warehouse import Provenance, Warehouse

    stored = pl.DataFrame(
        {
            "area": ["0114", "0115", "0114"],
            "level": ["kommun", "kommun", "kommun"],
            "year": [2023, 2023, 2023],
            "sex": [None, None, "1"],
            "numerator": [70.0, 80.0, 35.0],
            "denominator": [100.0, 100.0, 50.0],
            "value": [70.0, 80.0, 70.0],
        }
    )
    with Warehouse.open(tmp_path) as wh:
        wh.put(
            "indicator_employment_rate_20_64",
            stored,
            kind="indicator",
            provenance=Provenance(source="test", licence="CC0 1.0"),
        )
    out = tmp_path / "p.json"
    res = CliRunner().invoke(app, ["profile", "0114", "--data-dir", str(tmp_path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = [
        r
        for r in json.loads(out.read_text(encoding="utf-8"))["indicators"]
        if r["indicator"] == "employment_rate_20_64"
    ]
    assert len(rows) == 1  # the sex breakdown row is left out
    assert (rows[0]["value"], rows[0]["rank_riket"], rows[0]["n_riket"]) == (70.0, 2, 2)
    assert rows[0]["domain"] == "work"


def _employment_rate(kommun: str, year: int) -> float:
    """100 · employed / all, aged 20–64, both sexes, straight from the JSON-stat file."""
    from pathlib import Path

    from bryta.ingest.jsonstat import read_jsonstat

    path = Path(__file__).parent / "data" / "pxweb" / "TAB6680_data.json"
    cells = read_jsonstat(path.read_bytes()).filter(
        Region=kommun, Kon="1+2", Alder="20-64", Tid=str(year)
    )
    employed = cells.filter(ContentsCode="0000089X")["value"].item()
    everyone = cells.filter(ContentsCode="0000089Y")["value"].item()
    return 100 * employed / everyone


@pytest.mark.parametrize("breakdown", [[], ["--breakdown", "sex"]], ids=["total", "by-sex"])
def test_profile_of_an_indicator_loaded_from_a_file(tmp_path, breakdown):
    runner = CliRunner()
    file = "tests/data/pxweb/TAB6680_data.json"
    load = ["indicators", "load", "employment_rate_20_64", "--from-file", file]
    res = runner.invoke(app, [*load, "--level", "kommun", "--data-dir", str(tmp_path), *breakdown])
    assert res.exit_code == 0, res.output
    out = tmp_path / "p.json"
    res = runner.invoke(app, ["profile", "0114", "--data-dir", str(tmp_path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = {
        r["year"]: r
        for r in json.loads(out.read_text(encoding="utf-8"))["indicators"]
        if r["indicator"] == "employment_rate_20_64"
    }
    assert sorted(rows) == [2022, 2023, 2024]
    for year, row in rows.items():
        assert row["value"] == pytest.approx(_employment_rate("0114", year))


def test_warehouse_indicators_are_read_on_every_call(tmp_path):
    from bryta.app.context import Context, Settings
    from bryta.warehouse import Provenance

    ctx = Context(Settings(data_dir=tmp_path))

    def store(value: float) -> None:
        stored = pl.DataFrame(
            {"area": ["0114"], "level": ["kommun"], "year": [2023], "value": [value]}
        )
        with ctx.warehouse() as wh:
            wh.put(
                "indicator_employment_rate_20_64",
                stored.with_columns(numerator=None, denominator=None),
                kind="indicator",
                provenance=Provenance(source="test"),
                replace=True,
            )

    def shown() -> list[float]:
        p = area_profile("0114", context=ctx)
        return p.indicators.filter(indicator="employment_rate_20_64")["value"].to_list()

    assert shown() == []  # an empty warehouse: the bundled data alone
    store(70.0)
    assert shown() == [70.0]
    store(75.0)
    assert shown() == [75.0]
    assert area_profile("0114").indicators.filter(indicator="employment_rate_20_64").is_empty()


def test_a_year_without_data_names_the_years_there_are():
    from bryta.errors import InputError

    with pytest.raises(InputError, match=r"year 2019 .* years with data: 2020–2023$"):
        area_profile("0180", year=2019)
    p = area_profile("0180", year=2021)
    assert p.indicators["year"].unique().to_list() == [2021]
    assert p.segregation["year"].unique().to_list() == [2021]
    res = CliRunner().invoke(app, ["profile", "0180", "--year", "2019"])
    assert res.exit_code == 2 and "2020–2023" in res.output
