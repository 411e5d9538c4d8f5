"""Shared fixtures, named for what they are."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from tests.browser import require_chromium, serve_app

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def expected() -> dict:
    """Values published by R segregation and PySAL segregation (tests/data/PROVENANCE.md)."""
    return json.loads((DATA / "expected_values.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def schools00() -> pl.DataFrame:
    return pl.read_csv(DATA / "schools00.csv")


@pytest.fixture(scope="session")
def schools05() -> pl.DataFrame:
    return pl.read_csv(DATA / "schools05.csv")


@pytest.fixture(scope="session")
def school_ses() -> pl.DataFrame:
    return pl.read_csv(DATA / "school_ses.csv")


@pytest.fixture(scope="session")
def sids2_long() -> pl.DataFrame:
    """sids2 births as long counts by year: year, county, group (nonwhite/white), n."""
    raw = pl.read_csv(DATA / "sids2_counts.csv")
    frames = []
    for year in ("74", "79"):
        frames.append(
            raw.select(
                pl.lit(f"19{year}").alias("year"),
                pl.col("NAME").alias("county"),
                pl.col(f"NWBIR{year}").alias("nonwhite"),
                (pl.col(f"BIR{year}") - pl.col(f"NWBIR{year}")).alias("white"),
            )
        )
    return pl.concat(frames).unpivot(
        index=["year", "county"], variable_name="group", value_name="n"
    )


@pytest.fixture
def tiny_counts() -> pl.DataFrame:
    """The three-unit worked example of the index docstrings, in two kommuner."""
    return pl.DataFrame(
        {
            "kommun": ["0114"] * 3 + ["2584"] * 3,
            "unit": ["u1", "u2", "u3"] * 2,
            "a": [30, 10, 20, 5, 5, 0],
            "b": [10, 30, 20, 5, 5, 10],
        }
    )


# ---- the registry on SQLite and, where a server is given (CI), PostgreSQL ----------------------
POSTGRES_URL = os.environ.get("BRYTA_TEST_POSTGRES_URL")
NO_POSTGRES = "PostgreSQL tests need BRYTA_TEST_POSTGRES_URL (.ci/run starts a server and sets it)"
if os.environ.get("CI") == "true" and not POSTGRES_URL:
    raise RuntimeError(
        "CI must run the registry tests on PostgreSQL: BRYTA_TEST_POSTGRES_URL unset"
    )


def _drop_everything(url: str) -> None:
    from bryta.registry import db
    from bryta.registry.models import Base

    engine = db.connect(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)),
    ]
)
def registry_url(request, tmp_path):
    """An empty database: a fresh SQLite file, or the CI PostgreSQL database wiped clean."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite'}"
        return
    _drop_everything(POSTGRES_URL)
    yield POSTGRES_URL
    _drop_everything(POSTGRES_URL)


@pytest.fixture
def registry_engine(registry_url):
    """An engine on a registry migrated to head."""
    from bryta.registry import db

    db.init(registry_url)
    engine = db.connect(registry_url)
    yield engine
    engine.dispose()


# ---- the web app in a real browser (test_browser.py, test_accessibility.py) ------------------
# Debian's Chromium driven by Playwright; never ``playwright install`` (it downloads browsers).
# Without Chromium the tests that use these fixtures skip with the reason shown; under CI
# (``CI=true``) they fail. A test module with its own ``server`` fixture (a recorded HTTP
# server) overrides this one.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RENDER_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web app on 127.0.0.1 at a free port, stopped at teardown."""
    from bryta.app.context import Settings
    from bryta.web.app import create_app

    require_chromium()
    with serve_app(create_app(Settings(data_dir=tmp_path_factory.mktemp("data")))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh page (no cookies) that records every URL it requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="sv-SE")
    page = context.new_page()
    page.set_default_timeout(RENDER_TIMEOUT_MS)
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.on("console", lambda message: print("console:", message.type, message.text))
    page.on("pageerror", lambda error: print("page error:", error))
    try:
        yield page
    finally:
        context.close()
