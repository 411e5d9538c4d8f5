"""WCAG 2.1 AA in a real browser: axe-core (``tests/vendor/axe-core``) run on each page type,
and the Sverige page used by keyboard alone.

Swedish public bodies must meet WCAG 2.1 AA (lag 2018:1937). axe finds what a program can find
(contrast, names, landmarks, language, table structure); it cannot judge whether a text
alternative says the right thing. The fixtures are in ``tests/conftest.py``: without Chromium
these tests skip with the reason shown; under CI (``CI=true``) they fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")

# every page type there is, in each language where it has text of its own
PAGES = {
    "sverige-sv": "/",
    "sverige-en": "/?lang=en",
    "sverige-theil-2021": "/?index=theil_h&year=2021",
    "sverige-area-types-en": "/?index=share_types_1_2&year=2023&lang=en",
    "sverige-unavailable": "/?index=inequality",
    "kommun-malmo": "/kommun/1280",
    "kommun-stockholm-en": "/kommun/0180?lang=en",
    "metod-sv": "/metod",
    "metod-en": "/metod?lang=en",
    "omrade-fagelbacken": "/omrade/1280R020",
    "omrade-en": "/omrade/0114R001?lang=en",
    "omrade-not-found": "/omrade/9999R999",
    "lab": "/statistiklabbet",
    "lab-regso-en": "/statistiklabbet?level=regso&kommun=0117&measure=rental_pct&lang=en",
    "lab-error": "/statistiklabbet?area=9999",
    "api-docs": "/api/docs",
}


def _wait_for_drawing(page) -> None:
    """Every chart the page embeds is drawn (plotly's SVG is in place), and the network idle."""
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('script[data-plot]')).every(node => {"
        " const target = document.getElementById(node.dataset.plot);"
        " return target && target.querySelector('.main-svg') !== null })"
    )
    page.wait_for_load_state("networkidle")


def _axe(page) -> list[dict]:
    """The violations axe reports for WCAG 2.0/2.1 levels A and AA."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return result["violations"]


def _readable(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [", ".join(map(str, node["target"])) for node in v["nodes"][:3]]
        more = f" (+{len(v['nodes']) - 3} more)" if len(v["nodes"]) > 3 else ""
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} — {'; '.join(targets)}{more}")
    return "\n".join(lines)


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_no_serious_or_critical_wcag_violation(page, server, path):
    page.goto(server + path)
    if path.startswith("/api/docs"):
        page.wait_for_selector(".swagger-ui .opblock")
        page.wait_for_load_state("networkidle")
    else:
        _wait_for_drawing(page)
    violations = _axe(page)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    minor = [v for v in violations if v["impact"] not in BLOCKING]
    if minor:
        print(f"axe, minor or moderate on {path}:\n{_readable(minor)}")
    assert not blocking, f"axe on {path}, serious or critical:\n{_readable(blocking)}"


def _focused(page) -> str:
    return page.evaluate(
        "() => { const e = document.activeElement; if (e.id) { return '#' + e.id }"
        " return e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') }"
    )


def test_the_sverige_page_by_keyboard(page, server):
    page.goto(server + "/")
    _wait_for_drawing(page)
    # the first Tab shows the skip link, which moves focus to the main content
    page.keyboard.press("Tab")
    assert _focused(page) == "a.skip"
    assert page.locator("a.skip").is_visible()
    assert page.evaluate("document.activeElement.getBoundingClientRect().left") >= 0
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    # Tab from there reaches the measure, the year and the button, in that order
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(_focused(page))
    assert order == ["#index", "#year", "button"], order
    # the focused control is outlined (focus is visible)
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    # choose by keyboard and submit with Enter
    page.focus("#index")
    page.keyboard.press("End")  # the last measure that can be chosen (not a disabled one)
    chosen = page.evaluate(
        "Array.from(document.querySelector('#index').options).filter(o => !o.disabled).pop().value"
    )
    assert page.input_value("#index") == chosen
    page.focus("#year")
    page.keyboard.press("Home")  # the first year
    first_year = page.evaluate("document.querySelector('#year').options[0].value")
    # a select does not submit on Enter in browsers (only text fields do): Tab to the button
    page.keyboard.press("Tab")
    assert _focused(page) == "button"
    # htmx sends the form in place: the URL keeps the choice, the focus moves to the new
    # map's heading and the live status says what is shown (the year follows the measure)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => location.search.includes('index={chosen}')")
    page.wait_for_function("() => document.querySelector('#sverige-status').textContent !== ''")
    assert f"year={first_year}" in page.url
    assert page.input_value("#index") == chosen
    shown = page.input_value("#year")
    assert shown in page.inner_text("#sverige-status")
    assert _focused(page) == "#map-heading"


# ---- the intervention page (/insats/{key}) ---------------------------------------------------


@pytest.fixture(scope="module")
def insats_server(tmp_path_factory: pytest.TempPathFactory):
    """The app with the real programmes and tests/insats_seed.py's evaluated intervention."""
    from tests.insats_seed import served

    with served(tmp_path_factory.mktemp("insats-axe"), "uvicorn-insats-axe") as url:
        yield url


INSATS_PAGES = {
    "insats-evaluated": "/insats/TEST-MALMO-LAXHJALP",
    "insats-evaluated-en": "/insats/TEST-MALMO-LAXHJALP?lang=en",
    "insats-without-evaluations": "/insats/TEST-MALMO-UTAN",
    "insats-not-found": "/insats/TEST-HIDDEN-UPPFOLJNING",
}


@pytest.mark.parametrize("path", INSATS_PAGES.values(), ids=INSATS_PAGES.keys())
def test_the_intervention_page_has_no_serious_or_critical_violation(browser, insats_server, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    try:
        page.goto(insats_server + path)
        page.wait_for_load_state("networkidle")
        violations = _axe(page)
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        others = [v for v in violations if v["impact"] not in BLOCKING]
        if others:
            print(_readable(others))
        assert not blocking, _readable(blocking)
    finally:
        context.close()


# ---- the watch list (/bevakning) ---------------------------------------------------------------


@pytest.fixture(scope="module")
def watch_server(tmp_path_factory: pytest.TempPathFactory):
    """The app on a simulated index history (Malmö's RegSO among 600 areas), with a registry."""
    from bryta.app.context import Settings
    from bryta.web.app import create_app
    from tests.browser import require_chromium, serve_app
    from tests.test_web_bevakning import add_registry, store_simulated_history

    require_chromium()
    data = store_simulated_history(tmp_path_factory.mktemp("watch-axe"))
    add_registry(data)
    with serve_app(create_app(Settings(data_dir=data)), "uvicorn-watch-axe") as url:
        yield url


WATCH_PAGES = {
    "bevakning-country": "/bevakning",
    "bevakning-malmo-en": "/bevakning?kommun=1280&lang=en",
    "bevakning-without-map": "/bevakning?kommun=0114",
    "bevakning-kommun-not-loaded": "/bevakning?kommun=2584",
}


@pytest.mark.parametrize("path", WATCH_PAGES.values(), ids=WATCH_PAGES.keys())
def test_the_watch_list_has_no_serious_or_critical_violation(browser, watch_server, path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    try:
        page.goto(watch_server + path)
        _wait_for_drawing(page)
        violations = _axe(page)
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        others = [v for v in violations if v["impact"] not in BLOCKING]
        if others:
            print(_readable(others))
        assert not blocking, _readable(blocking)
    finally:
        context.close()


def test_the_watch_list_without_history_has_no_serious_or_critical_violation(page, server):
    page.goto(server + "/bevakning?lang=en")
    page.wait_for_load_state("networkidle")
    assert page.locator("#no-history").count() == 1
    blocking = [v for v in _axe(page) if v["impact"] in BLOCKING]
    assert not blocking, _readable(blocking)
