"""The pages in a real browser: Debian's Chromium driven by Playwright, the app served by
uvicorn on 127.0.0.1 from a thread. Never ``playwright install``: it downloads browsers.

Without Chromium these tests skip with the reason shown; under CI (``CI=true``) they fail.
The fixtures ``server``, ``browser`` and ``page`` are in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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


def test_kommun_page_shows_the_spatial_pattern(page, server):
    page.goto(server + "/kommun/1280")
    section = page.locator("#spatial")
    section.scroll_into_view_if_needed()
    assert section.locator("h2").inner_text() == "Rumsligt mönster för utrikes födda, 2023"
    assert section.locator("#spatial-table tbody tr[data-index]").count() == 13
    assert section.locator("#spatial-table th[scope=rowgroup]").count() == 4
    # the table fits a 1280 px window: no horizontal scrolling in its region
    fits = page.evaluate(
        "(() => { const r = document.querySelector('#spatial .wide');"
        " return r.scrollWidth <= r.clientWidth; })()"
    )
    assert fits, "the spatial table is wider than its panel"
    delta = section.locator("tr[data-index=delta] td.num").first.inner_text()
    assert "," in delta and "." not in delta
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(SCREENSHOTS / "kommun-spatial.png"))


def test_kommun_page_from_the_sverige_table(page, server):
    page.goto(server + "/?lang=en")
    with page.expect_navigation():
        page.click("#kommun-table a[href='/kommun/0180']")
    assert page.url.endswith("/kommun/0180")
    assert page.get_attribute("html", "lang") == "en"
    page.wait_for_selector("#indices.js-plotly-plot .main-svg", state="attached")
    assert page.locator("#no-regso-map").count() == 1
    assert page.locator("#regso_map").count() == 0


# ---- the intervention page (/insats/{key}) ---------------------------------------------------


@pytest.fixture(scope="module")
def insats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with the real programmes and tests/insats_seed.py's evaluated intervention."""
    from tests.insats_seed import served

    with served(tmp_path_factory.mktemp("insats")) as url:
        yield url


def test_intervention_page_from_the_kommun_page(browser, insats_server):
    from tests.insats_seed import KEY, TITLE

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    try:
        page.goto(insats_server + "/kommun/1280")
        with page.expect_navigation():
            page.click(f"#interventions-table a[href='/insats/{KEY}']")
        assert page.url.endswith(f"/insats/{KEY}")
        assert page.get_attribute("html", "lang") == "sv"
        assert page.inner_text("h1") == TITLE
        # the badges: words and a shape, never colour alone
        badges = page.locator("article.evaluation .badge")
        assert badges.count() == 2
        assert badges.nth(0).inner_text() == "ingen påvisbar effekt"
        assert badges.nth(1).inner_text() == "effektiv"
        assert badges.nth(1).locator("svg").count() == 1
        # the forest charts are drawn without JavaScript, one per outcome, beside the table
        assert page.locator("figure.forest svg").count() == 2
        box = page.locator("#forest-1 svg").bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 80
        assert page.locator("#evaluations-table tbody tr").count() == 2
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "insats.png"), full_page=True)
        with page.expect_navigation():
            page.click("a[hreflang=en]")
        assert page.locator("article.evaluation .badge").nth(1).inner_text() == "effective"
        assert_only_local(page, insats_server)
    finally:
        context.close()


# ---- the watch list (/bevakning) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def watch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a warehouse holding a simulated index history (Malmö's 91 RegSO among 600
    areas), with a registry."""
    from bryta.app.context import Settings
    from bryta.web.app import create_app
    from tests.browser import require_chromium, serve_app
    from tests.test_web_bevakning import add_registry, store_simulated_history

    require_chromium()
    data = store_simulated_history(tmp_path_factory.mktemp("watch-browser"))
    add_registry(data)
    with serve_app(create_app(Settings(data_dir=data)), "uvicorn-watch") as url:
        yield url


def test_the_watch_list_page(browser, watch_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    try:
        # the country: the kommuner coloured by their flagged RegSO
        page.goto(watch_server + "/bevakning")
        wait_for_map(page)
        assert page.evaluate("document.querySelector('#map').data[0].geojson").endswith(
            "/geo/kommun.geojson"
        )
        assert page.locator("#watch-table tbody tr").count() >= 1
        # choosing Malmö through the form (a plain GET form)
        page.select_option("#kommun", "1280")
        with page.expect_navigation():
            page.click("form.choose button")
        assert "kommun=1280" in page.url
        wait_for_map(page)
        assert page.get_attribute("html", "lang") == "sv"
        assert page.evaluate("document.querySelector('#map').data[0].locations.length") == 91
        assert page.locator("#watch-table tbody tr").count() == 91
        assert page.locator("#watch-table tbody tr.flagged").count() >= 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "bevakning.png"), full_page=True)
        with page.expect_navigation():
            page.click("a[hreflang=en]")
        assert page.get_attribute("html", "lang") == "en"
        wait_for_map(page)
        assert_only_local(page, watch_server, "/vendor/plotly.min.js", "/geo/regso/1280.geojson")
    finally:
        context.close()
