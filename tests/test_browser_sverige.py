"""The Sverige page in a real browser (Debian's Chromium, Playwright; fixtures in
``tests/conftest.py``): the map, the trend and the area types drawn; the measure form sent in
place by htmx (no full page load, the URL keeps the state, the charts redrawn, focus and a
live status saying what changed) and as a plain GET form with JavaScript off; nothing
requested from any host but the app; ``docs/screenshots/sverige.png``.

Without Chromium these tests skip with the reason shown; under CI (``CI=true``) they fail.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.browser import SCREENSHOTS, assert_only_local, wait_for_map
from tests.conftest import RENDER_TIMEOUT_MS


def _wait_for_charts(page) -> None:
    # plotly has drawn the map (MapLibre's canvas plus the choropleth layer), the trend and
    # the area types
    page.wait_for_selector("#trend.js-plotly-plot .scatterlayer .trace .point", state="attached")
    page.wait_for_selector("#types.js-plotly-plot .barlayer .point", state="attached")
    wait_for_map(page)


def _only_local(page, server: str) -> None:
    assert_only_local(
        page,
        server,
        "/vendor/plotly.min.js",
        "/static/vendor/htmx/htmx.min.js",
        "/geo/kommun.geojson",
    )


def _colorbar_title(page) -> str:
    return page.evaluate(
        "document.querySelector('#map.js-plotly-plot').data[0].colorbar.title.text"
    )


def _send_in_place(page, **choices: str) -> None:
    """Choose in the form and press Show; wait for htmx to swap the view and the map to be
    drawn again."""
    page.evaluate("window.__sameDocument = true")  # gone if the whole page is loaded again
    for control, value in choices.items():
        page.select_option(f"#{control}", value)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/"):
        page.click("form.choose button[type=submit]")
    page.wait_for_function("() => document.querySelector('#sverige-status').textContent !== ''")
    _wait_for_charts(page)
    assert page.evaluate("window.__sameDocument") is True, "the form loaded a whole page"


def test_sverige_page_draws_the_map_the_trend_and_the_area_types(page, server):
    page.goto(server + "/")
    _wait_for_charts(page)
    assert page.get_attribute("html", "lang") == "sv"
    assert page.inner_text("h1") == "Segregation i Sverige"
    # the map coloured the 290 kommuner; the trend has riket's four years; five area types
    assert page.evaluate("document.querySelector('#map.js-plotly-plot').data[0].z.length") == 290
    assert page.locator("#trend .scatterlayer .point").count() == 4
    assert page.locator("#types .barlayer .point").count() == 5
    stockholm = page.locator("#kommun-table tr", has_text="Stockholm").first
    assert stockholm.locator("td.num").inner_text() == "0,299"
    assert page.evaluate("typeof htmx") == "object"
    # the ojämlikhetsindex is offered only with income data, and says how to add it
    assert page.locator("#index option[value=inequality]").is_disabled()
    assert "q1" in page.inner_text("#unavailable-inequality")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sverige.png"), full_page=True)
    _only_local(page, server)


def test_changing_the_measure_through_the_form_in_place(page, server):
    page.goto(server + "/")
    _wait_for_charts(page)
    _send_in_place(page, index="theil_h", year="2021")
    query = parse_qs(urlsplit(page.url).query)
    assert query["index"] == ["theil_h"] and query["year"] == ["2021"]  # the URL keeps the state
    assert page.input_value("#index") == "theil_h"
    assert "Theils H" in page.inner_text("#map-heading")
    assert _colorbar_title(page) == "Theils H"
    assert page.locator("#map .main-svg").count() >= 1  # plotly's SVG, drawn again
    # the focus is on the new map's heading, and the live region says what is shown
    assert page.evaluate("document.activeElement.id") == "map-heading"
    assert page.inner_text("#sverige-status") == "Visar Theils H, födelseregion, 2021."
    # the trend and the table changed with it
    assert "Theils H" in page.inner_text("#trend-heading")
    assert "Theils H, födelseregion per kommun, 2021" in page.inner_text("#kommun-table caption")
    # back to the first URL: the charts are drawn again
    page.go_back()
    page.wait_for_function("() => !location.search.includes('theil_h')")
    page.wait_for_selector("#map.js-plotly-plot .main-svg", state="attached")
    _only_local(page, server)


def test_area_type_share_follows_its_own_year(page, server):
    page.goto(server + "/")
    _wait_for_charts(page)
    assert page.input_value("#year") == "2023"
    _send_in_place(page, index="share_types_1_2")  # the year stays at 2023
    assert page.input_value("#index") == "share_types_1_2"
    # the area types exist for 2022 only: the year follows the measure, and the page says so
    assert page.locator("#year option").all_inner_texts() == ["2022"]
    assert "inte för 2023: sidan visar 2022" in page.inner_text("main")
    assert "Det finns inga siffror för 2023." in page.inner_text("#sverige-status")
    assert page.evaluate("document.querySelector('#map.js-plotly-plot').data[0].z.length") == 290
    assert _colorbar_title(page) == "Andel i områdestyp 1–2"
    assert page.locator("#trend .scatterlayer .point").count() == 1
    assert "Andel av befolkningen i områdestyp 1–2" in page.inner_text("#map-heading")
    _only_local(page, server)


def test_the_form_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False, locale="sv-SE")
    try:
        page = context.new_page()
        page.set_default_timeout(RENDER_TIMEOUT_MS)
        page.goto(server + "/")
        assert page.locator("#kommun-table tbody tr").count() == 290
        page.select_option("#index", "mutual_information")
        page.select_option("#year", "2020")
        with page.expect_navigation():
            page.click("form.choose button[type=submit]")
        query = parse_qs(urlsplit(page.url).query)
        assert query["index"] == ["mutual_information"] and query["year"] == ["2020"]
        assert "Ömsesidig information M" in page.inner_text("#kommun-table caption")
        assert page.locator("#map .main-svg").count() == 0  # nothing drawn, the tables are there
        assert page.locator("#types-table tbody tr").count() == 5
    finally:
        context.close()
