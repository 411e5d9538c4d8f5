"""The Område and Metod pages in a real browser (Debian's Chromium through Playwright): the
Område page's map and charts are drawn, nothing is fetched from elsewhere, the language
switch works; screenshots in docs/screenshots (omrade.png, omrade-en.png, metod.png).

The fixtures ``server``, ``browser`` and ``page`` are in ``tests/conftest.py``; without
Chromium these tests skip with the reason shown, under CI they fail.
"""

from __future__ import annotations

from tests.browser import SCREENSHOTS, assert_only_local, wait_for_map

AREA = "1280R020"  # Fågelbacken, Malmö: the bundled boundaries cover Malmö


def _wait_for_charts(page) -> None:
    for chart in ("indicator_chart", "type_chart"):
        page.wait_for_selector(f"#{chart}.js-plotly-plot .main-svg", state="attached")
        page.wait_for_selector(f"#{chart} .scatterlayer .trace path.js-line", state="attached")


def _wait_for_map(page) -> None:
    wait_for_map(page, "area_map")


def _only_local(page, server: str) -> None:
    assert_only_local(page, server)


def test_omrade_page_draws_its_map_and_charts(page, server):
    page.goto(f"{server}/omrade/{AREA}")
    _wait_for_charts(page)
    _wait_for_map(page)
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1").startswith("RegSO-Fågelbacken")
    # the map: Malmö's 91 RegSO coloured by area type, and this area outlined on top
    assert page.evaluate("document.querySelector('#area_map').data[0].z.length") == 91
    assert page.evaluate("document.querySelector('#area_map').data[1].locations") == [AREA]
    # four indicators, each with the area and the two medians, four years each
    assert page.evaluate("document.querySelector('#indicator_chart').data.length") == 12
    assert page.locator("#indicator_chart .scatterlayer .point").count() == 12 * 4
    # the proxy types of four years and SCB's official type of 2022
    assert page.locator("#type_chart .scatterlayer .point").count() == 5
    # the table alternatives are there and linked from the captions
    assert page.locator("#indicator-table tbody tr").count() == 16
    assert page.locator("figcaption a[href='#indicator-table']").count() == 1
    assert page.locator("figcaption a[href='#type-table']").count() == 2
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "omrade.png"), full_page=True)
    _only_local(page, server)
    assert any(url.endswith("/geo/regso/1280.geojson") for url in page.requested)
    assert any(url.endswith("/vendor/plotly.min.js") for url in page.requested)


def test_omrade_page_in_english(page, server):
    page.goto(f"{server}/omrade/{AREA}")
    _wait_for_charts(page)
    with page.expect_navigation():
        page.click("a[hreflang=en]")
    _wait_for_charts(page)
    _wait_for_map(page)
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#indicators-heading") == "Indicators, ranked"
    title = page.evaluate("document.querySelector('#area_map').data[0].colorbar.title.text")
    assert title == "Area type"
    page.screenshot(path=str(SCREENSHOTS / "omrade-en.png"), full_page=True)
    with page.expect_navigation():
        page.click("a[hreflang=sv]")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("#indicators-heading") == "Indikatorer med rangordning"
    _only_local(page, server)


def test_omrade_page_without_boundaries_says_how_to_get_them(page, server):
    page.goto(f"{server}/omrade/0180R001?lang=en")
    _wait_for_charts(page)
    note = page.inner_text("#no-regso-map")
    assert "bryta import boundaries --scb RegSO_2020 --kommun 0180" in note
    assert page.locator("#area_map").count() == 0
    _only_local(page, server)


def test_metod_page_opens_in_both_languages(page, server):
    page.goto(f"{server}/metod")
    page.wait_for_load_state("networkidle")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1") == "Metod"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "metod.png"), full_page=True)
    with page.expect_navigation():
        page.click("a[hreflang=en]")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "Methods"
    _only_local(page, server)
