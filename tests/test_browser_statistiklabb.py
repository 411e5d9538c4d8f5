"""Statistiklabbet in a real browser: Debian's Chromium driven by Playwright, the app served by
uvicorn on 127.0.0.1 from a thread (fixtures ``server``, ``browser`` and ``page`` in
``tests/conftest.py``). Never ``playwright install``: it downloads browsers.

Without Chromium these tests skip with the reason shown; under CI (``CI=true``) they fail.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.browser import SCREENSHOTS, assert_only_local, wait_for_map


def _wait_for_lab(page) -> None:
    """The map (MapLibre's canvas, plotly's SVG, the style loaded) and the line chart drawn."""
    page.wait_for_selector("#chart.js-plotly-plot .scatterlayer .trace path.js-line")
    wait_for_map(page)


def _only_local(page, server: str) -> None:
    assert_only_local(page, server, "/vendor/plotly.min.js")


def test_the_lab_by_default_draws_map_chart_and_table(page, server):
    page.goto(server + "/statistiklabbet")
    _wait_for_lab(page)
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1") == "Statistiklabbet"
    # the map colours the 290 kommuner and outlines the three chosen ones
    data = page.evaluate("document.querySelector('#map.js-plotly-plot').data")
    assert len(data[0]["z"]) == 290
    assert data[1]["locations"] == ["0180", "1480", "1280"]
    # three kommuner and Sweden, four years each
    assert page.locator("#chart .scatterlayer .trace").count() == 4
    assert page.locator("#chart .scatterlayer .point").count() == 4 * 4
    assert page.locator("#lab-table tbody tr").count() == 4 * 4
    assert any(url.endswith("/geo/kommun.geojson") for url in page.requested)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "statistiklabbet.png"), full_page=True)
    _only_local(page, server)


def test_picking_areas_through_the_form_puts_the_state_in_the_url(page, server):
    page.goto(server + "/statistiklabbet")
    _wait_for_lab(page)
    page.select_option("#measure", "rental_pct")
    page.select_option("#level", "lan")
    page.select_option("#from", "2021")
    with page.expect_navigation():
        page.click("form.lab button[type=submit]")
    _wait_for_lab(page)
    # the new level's areas: the default three län; now pick two others
    page.select_option("#area", ["03", "25"])
    with page.expect_navigation():
        page.click("form.lab button[type=submit]")
    _wait_for_lab(page)
    query = parse_qs(urlsplit(page.url).query)
    assert query["measure"] == ["rental_pct"]
    assert query["level"] == ["lan"]
    assert query["from"] == ["2021"]
    assert query["area"] == ["03", "25"]
    assert any(url.endswith("/geo/lan.geojson") for url in page.requested)
    data = page.evaluate("document.querySelector('#map.js-plotly-plot').data")
    assert len(data[0]["z"]) == 21
    assert data[1]["locations"] == ["03", "25"]
    # two län and Sweden over 2021–2023
    assert page.locator("#lab-table tbody tr").count() == 3 * 3
    assert page.locator("#chart .scatterlayer .trace").count() == 3
    # the shared link opens the same state
    shared = page.url
    page.goto(shared)
    _wait_for_lab(page)
    assert page.input_value("#measure") == "rental_pct"
    assert page.input_value("#level") == "lan"
    assert sorted(
        page.eval_on_selector_all("#area option:checked", "o => o.map(e => e.value)")
    ) == [
        "03",
        "25",
    ]
    _only_local(page, server)


def test_the_regso_level_of_malmo(page, server):
    page.goto(server + "/statistiklabbet?level=regso&kommun=1280&area=1280R020,1280R001")
    _wait_for_lab(page)
    assert any(url.endswith("/geo/regso/1280.geojson") for url in page.requested)
    data = page.evaluate("document.querySelector('#map.js-plotly-plot').data")
    assert len(data[0]["z"]) == 91
    assert page.locator("#chart .scatterlayer .trace").count() == 3
    _only_local(page, server)
