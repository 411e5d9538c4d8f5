"""The kommun page in a real browser, with the registry `bryta serve` starts on: every chart
drawn, the interventions table, the downloads, no request leaving 127.0.0.1, axe on the
seeded page, and the screenshot ``docs/screenshots/kommun.png``.

This module starts its own server (the app built with ``seed=True``, as ``bryta serve``
builds it), so the page shows the real programmes; ``browser`` and ``page`` come from
``tests/conftest.py``. Without Chromium these tests skip with the reason shown; under CI
(``CI=true``) they fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bryta.app.context import Settings
from bryta.registry.exchange import read_programmes_csv
from bryta.web.app import create_app
from tests.browser import SCREENSHOTS, assert_only_local, require_chromium, serve_app

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as ``bryta serve`` builds it (registry created and seeded), on 127.0.0.1."""
    require_chromium()
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("served")), seed=True)
    with serve_app(app, "uvicorn-kommun") as url:
        yield url


def _draw(page) -> None:
    """Wait until every chart the page embeds has plotly's SVG and the network is idle."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('script[data-plot]')).every(node => {"
        " const target = document.getElementById(node.dataset.plot);"
        " return target && target.querySelector('.main-svg') !== null })"
    )
    page.wait_for_selector("#transitions .barlayer .trace path")
    page.wait_for_load_state("networkidle")


def _only_local(page, server: str) -> None:
    assert_only_local(page, server)


def test_kommun_page_draws_every_chart_and_lists_the_interventions(page, server):
    page.goto(server + "/kommun/1280")
    _draw(page)
    assert page.get_attribute("html", "lang") == "sv"
    charts = page.eval_on_selector_all(
        "script[data-plot]", "nodes => nodes.map(n => n.dataset.plot)"
    )
    assert {"indices", "transitions"} <= set(charts)
    for chart in charts:
        assert page.locator(f"#{chart} .main-svg").count() >= 1, chart
    # the stacked bars: five area types, one bar per proxy year and one for the official year
    assert page.evaluate("document.querySelector('#transitions').data.length") == 5
    bars = page.evaluate("document.querySelector('#transitions').data[0].x.length")
    assert bars == 5
    # the interventions table: the published programmes linked to Malmö
    expected = {
        r.key
        for r in read_programmes_csv()
        if r.published and any(a.area_code.startswith("1280") for a in r.area_links)
    }
    rows = page.locator("#interventions-table tbody tr")
    assert rows.count() == len(expected)
    keys = {rows.nth(i).get_attribute("data-key") for i in range(rows.count())}
    assert keys == expected
    assert page.locator("#portfolio-figures .figure").count() >= 10
    assert page.locator("#transitions-table tbody tr").count() >= 5
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "kommun.png"), full_page=True)
    # the README shows the top of the page: the indices with their intervals
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "kommun-top.png"))
    _only_local(page, server)


def test_downloads_from_the_page(page, server):
    page.goto(server + "/kommun/1280?lang=en")
    _draw(page)
    assert page.inner_text("#interventions-heading") == "Public interventions in Malmö"
    with page.expect_download() as info:
        page.click("#download-excel")
    assert info.value.suggested_filename == "kommun-1280.xlsx"
    with page.expect_download() as info:
        page.click("ul.downloads a[data-table=transitions]")
    path = info.value.path()
    assert Path(path).read_bytes().startswith(b"\xef\xbb\xbffirst_year;second_year;")
    _only_local(page, server)


def test_the_seeded_kommun_page_passes_axe(page, server):
    page.goto(server + "/kommun/1280")
    _draw(page)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    blocking = [
        f"{v['id']}: {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not blocking, "\n".join(blocking)
