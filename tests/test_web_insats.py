"""The intervention page (``/insats/{key}``): a published intervention with its evaluation
records in Swedish and English, the 404 page for what the public may not see, nothing
non-public in the page or its JSON twin, the ETag following the registry, the page without
evaluations, the kommun page's link to it, and the evidence level's reasons agreeing with the
rule. The registry is filled through the service (``tests/insats_seed.py``)."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bryta.app.context import Settings
from bryta.app.intervention import evidence_reasons
from bryta.geography.areas import load_regso_key
from bryta.registry import db
from bryta.registry.evaluations import evidence_level
from bryta.registry.service import SYSTEM, RegistryService
from bryta.web.app import create_app
from tests.insats_seed import DESO, HIDDEN, HIDDEN_TITLE, KEY, TITLE, WITHOUT, did_record, seed


@pytest.fixture
def web(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    db.init(url)
    engine = db.connect(url)
    seeded = seed(engine)
    app = create_app(Settings(data_dir=tmp_path / "data", database=url))
    with TestClient(app) as client:
        yield client, engine, seeded.ids
    engine.dispose()


def sv(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}".replace(".", ",")


def test_page_in_swedish(web):
    client, _engine, _ids = web
    r = client.get(f"/insats/{KEY}")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="sv">' in html
    assert f"<h1>{TITLE}</h1>" in html
    # the facts: organisations with roles, form, prevention level, domains, period
    assert "Malmö stad (test) (ansvarig)" in html
    assert "Läxhjälpsföreningen (test) (genomförare)" in html
    assert "<dd>Projekt, pågående</dd>" in html
    assert "universell (för alla)" in html and "utbildning, arbete" in html
    assert "2021-03-01 (faktisk)" in html and "2023-12-31 (planerad)" in html
    # the areas with their names, linked to their pages, and the kommun page
    regso_name = load_regso_key().filter(regso="1280R020").get_column("regso_name").unique().item()
    assert f'<a href="/omrade/1280R020">{regso_name}</a>' in html
    assert f"DeSO {DESO}, i" in html
    assert '<a href="/kommun/1280#interventions-heading">Malmö</a>' in html
    # the indicator link with baseline and target, and the funding
    assert re.search(r"Utrikes födda[^<]*<code>born_abroad_pct</code>", html)
    assert "62,5\u00a0%" in html and "60\u00a0%" in html
    assert "1\u00a0250\u00a0000" in html
    # the evaluation records: design in words, level as a badge with text, reasons
    assert "stegvis difference-in-differences (Callaway &amp; Sant&#39;Anna)" in html
    assert "syntetisk kontroll" in html
    badges = re.findall(r'<span class="badge badge-(\w+)" data-level="\w+"><svg', html)
    assert badges[:2] == ["no_detectable_effect", "effective"]
    assert "<span>ingen påvisbar effekt</span>" in html and "<span>effektiv</span>" in html
    low, high = 0.3 - 1.96 * 0.3, 0.3 + 1.96 * 0.3
    assert f"95 %-intervallet, {sv(low, 3)} till {sv(high, 3)}, innehåller noll." in html
    assert "0,30 procentenheter" in html
    assert "effekter mindre än 0,84 procentenheter" in html
    assert "Med 12 områden med insatsen och 40 jämförelseområden under 2020–2023" in html
    assert "placebo-p-värdet är 0,020, under 0,05" in html
    # a chart per outcome, each with the table as its alternative
    assert html.count('<figure class="chart-figure forest"') == 2
    assert html.count('href="#evaluations-table"') == 2
    assert len(re.findall(r'<tr data-id="\d+" data-level=', html)) == 2


def test_page_in_english(web):
    client, _engine, _ids = web
    r = client.get(f"/insats/{KEY}", params={"lang": "en"})
    html = r.text
    assert '<html lang="en">' in html
    assert "staggered difference-in-differences (Callaway &amp; Sant&#39;Anna)" in html
    assert "<span>no detectable effect</span>" in html and "<span>effective</span>" in html
    assert "Why this level:" in html and "percentage points" in html
    assert "The placebo checks passed: placebo p-value 0.020, below 0.05" in html
    assert "Malmö stad (test) (accountable)" in html
    assert r.cookies.get("lang") == "en"


def test_the_forest_chart_puts_each_estimate_on_its_side_of_zero(web):
    client, _engine, _ids = web
    html = client.get(f"/insats/{KEY}").text
    # DiD 0.3 and synthetic control 12.5: both squares right of the dashed zero line
    for ident in ("forest-1", "forest-2"):
        svg = re.search(rf'<figure[^>]*id="{ident}".*?</svg>', html, re.S).group(0)
        zero = re.search(r'<line x1="([\d.]+)" x2="\1" [^>]*stroke="#222"', svg)
        square = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="10"', svg)
        assert float(square.group(1)) + 5 > float(zero.group(1))
        assert 'role="img"' in svg and f'aria-labelledby="{ident}-title {ident}-desc"' in svg


@pytest.mark.parametrize("key", [HIDDEN, "NO-SUCH-KEY"])
def test_unpublished_or_unknown_is_the_404_page(web, key):
    client, _engine, _ids = web
    r = client.get(f"/insats/{key}")
    assert r.status_code == 404
    assert "Det finns ingen publicerad insats med nyckeln" in r.text
    assert HIDDEN_TITLE not in r.text
    twin = client.get(f"/insats/{key}.json")
    assert twin.status_code == 404
    assert twin.headers["content-type"].startswith("application/problem+json")


def test_an_invented_record_stays_off_the_page(web):
    client, engine, _ids = web
    RegistryService(engine, SYSTEM).create_intervention(
        {
            "key": "SYNTH-1",
            "title": "Påhittad",
            "form": "project",
            "published": True,
            "synthetic": True,
        }
    )
    assert client.get("/insats/SYNTH-1").status_code == 404


def test_no_registry_is_a_404(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path)))
    assert client.get(f"/insats/{KEY}").status_code == 404


def test_nothing_non_public_leaves_the_server(web):
    client, _engine, _ids = web
    html = client.get(f"/insats/{KEY}").text
    data = client.get(f"/insats/{KEY}.json").json()
    text = json.dumps(data, ensure_ascii=False)
    # the succession to an unpublished intervention, its evaluation, and who reported
    for secret in (HIDDEN, HIDDEN_TITLE, "Anna Andersson"):
        assert secret not in html and secret not in text
    assert data["successions"] == []
    assert -5.0 not in [e["estimate"] for e in data["evaluations"]]
    for field in ("reported_by", "verified_by", "published", "synthetic", "version", "id"):
        assert field not in data
    assert [e["outcome"] for e in data["evaluations"]] == ["born_abroad_pct", "mean_wage_income"]
    assert data == client.get(f"/insats/{KEY}", params={"format": "json"}).json()


def test_the_etag_follows_the_evaluations(web):
    client, engine, ids = web
    first = client.get(f"/insats/{KEY}")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    assert client.get(f"/insats/{KEY}", headers={"If-None-Match": etag}).status_code == 304
    RegistryService(engine, SYSTEM).add_evaluation(ids[KEY], did_record(estimate=-0.9))
    again = client.get(f"/insats/{KEY}", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag
    assert len(re.findall(r'<tr data-id="\d+" data-level=', again.text)) == 3
    assert len(client.get(f"/insats/{KEY}.json").json()["evaluations"]) == 3


def test_without_evaluations_the_page_says_how_to_run_one(web):
    client, _engine, _ids = web
    html = client.get(f"/insats/{WITHOUT}").text
    assert 'id="no-evaluations"' in html
    command = re.search(r'<code id="evaluate-command">([^<]*)</code>', html).group(1)
    # linked to the kommun alone: the panel needs --kommun-links to treat its RegSO
    assert command == (
        "bryta evaluate registry --kommun 1280 --outcome born_abroad_pct --kommun-links "
        "-o evaluation.csv --record"
    )
    assert 'id="evaluations-table"' not in html


def test_the_kommun_page_links_to_the_intervention(web):
    client, _engine, _ids = web
    html = client.get("/kommun/1280").text
    assert f'<a href="/insats/{KEY}">{TITLE}</a>' in html
    assert f'href="/insats/{HIDDEN}"' not in html


NUMBERS = (-2.0, -0.4, 0.0, 0.4, 2.0)


def test_the_reasons_lead_to_the_level_the_rule_gives():
    """Every combination of the rule's inputs: the steps explained end in the rule's level."""
    for (
        estimate,
        low,
        width,
        mde,
        n,
        direction,
        meaningful,
        placebo_p,
        pre_trend,
    ) in itertools.product(
        NUMBERS,
        NUMBERS,
        (0.5, 3.0),
        (None, 0.5, 1.5),
        (3, 12),
        (None, 1, -1),
        (None, 1.0),
        (None, 0.01, 0.2),
        (None, False, True),
    ):
        inputs = {
            "estimate": estimate,
            "ci_low": low,
            "ci_high": low + width,
            "mde": mde,
            "n_treated": n,
            "direction": direction,
            "meaningful": meaningful,
            "placebo_p": placebo_p,
            "pre_trend": pre_trend,
        }
        level, steps = evidence_reasons(inputs)
        assert level == str(evidence_level(**inputs)), inputs
        assert steps
