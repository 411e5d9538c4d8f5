"""The pages in a real browser: Debian's Chromium driven by Playwright, the app served by
uvicorn on 127.0.0.1 from a thread. Never ``playwright install``: it downloads browsers.

Without Chromium these tests skip with the reason shown; under CI (``CI=true``) they fail.
The fixtures ``server``, ``browser`` and ``page`` are in ``tests/conftest.py``.
"""

from __future__ import annotations

from tests.browser import SCREENSHOTS, assert_only_local, wait_for_map

# The Sverige page's map, its form (in place with htmx, and without JavaScript) and its
# screenshot are tested in tests/test_browser_sverige.py.


def _wait_for_charts(page) -> None:
    # plotly has drawn the map (MapLibre's canvas plus the choropleth layer) and the trend
    page.wait_for_selector("#trend.js-plotly-plot .scatterlayer .trace path.js-line")
    wait_for_map(page)


def _only_local(page, server: str) -> None:
    assert_only_local(page, server, "/vendor/plotly.min.js", "/geo/kommun.geojson")


def test_switching_language(page, server):
    page.goto(server + "/")
    _wait_for_charts(page)
    with page.expect_navigation():
        page.click("a[hreflang=en]")
    _wait_for_charts(page)
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == "Segregation in Sweden"
    stockholm = page.locator("#kommun-table tr", has_text="Stockholm").first
    assert stockholm.locator("td.num").inner_text() == "0.299"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sverige-en.png"), full_page=True)
    # the choice is remembered: the next page without ?lang= is English too
    page.goto(server + "/?index=mutual_information")
    assert page.get_attribute("html", "lang") == "en"
    with page.expect_navigation():
        page.click("a[hreflang=sv]")
    assert page.get_attribute("html", "lang") == "sv"
    _only_local(page, server)


def test_kommun_page_draws_the_indices_and_the_regso_map(page, server):
    page.goto(server + "/kommun/1280")
    # the small multiples of the indices with their bands, and Malmö's RegSO map
    page.wait_for_selector("#indices.js-plotly-plot .main-svg", state="attached")
    page.wait_for_selector("#indices .scatterlayer .trace path.js-line")
    wait_for_map(page, "regso_map")
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1").startswith("Malmö")
    # six panels (three indices × two groupings), four years each, each with its band
    assert page.locator("#indices .scatterlayer .point").count() == 6 * 4
    assert page.locator("#indices .scatterlayer .trace path.js-fill").count() == 6
    assert page.evaluate("document.querySelector('#regso_map').data[0].z.length") == 91
    assert page.locator("#regso-table tbody tr").count() == 91
    # docs/screenshots/kommun.png comes from tests/test_browser_kommun.py (registry seeded)
    assert_only_local(page, server, "/geo/regso/1280.geojson")


def test_kommun_page_from_the_sverige_table(page, server):
    page.goto(server + "/?lang=en")
    with page.expect_navigation():
        page.click("#kommun-table a[href='/kommun/0180']")
    assert page.url.endswith("/kommun/0180")
    assert page.get_attribute("html", "lang") == "en"
    page.wait_for_selector("#indices.js-plotly-plot .main-svg", state="attached")
    assert page.locator("#no-regso-map").count() == 1
    assert page.locator("#regso_map").count() == 0
