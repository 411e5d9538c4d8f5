"""The evaluation panel built from the registry (bryta.app.evaluation.build_panel) and
``bryta evaluate registry``: cohorts, DeSO links, filters, kommun links, the errors, the pool
restriction and the command end to end, on a small registry of Malmö interventions and on the
real programmes."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.app.evaluation import KOMMUN_LINKS_REASON, build_panel
from bryta.cli import app
from bryta.errors import InputError, NotFound
from bryta.registry.exchange import write_registry_json
from bryta.registry.records import AreaLinkRecord, InterventionRecord, ParticipationRecord

MALMO = "1280"


def _malmo_key() -> list[tuple[str, str]]:
    """(DeSO, RegSO) of Malmö, read straight from the bundled key file."""
    from bryta._files import bundled_file

    text = bundled_file("deso2018_regso2020_key.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    deso = next(c for c in rows[0] if c.lower().startswith("deso"))
    regso = next(c for c in rows[0] if c.lower().startswith("regsokod"))
    kommun = next(c for c in rows[0] if c.lower() == "kommun")
    return sorted((r[deso], r[regso]) for r in rows if r[kommun].zfill(4) == MALMO)


KEY = _malmo_key()
REGSO = sorted({r for _, r in KEY})
R1, R2, R3, R4, R5, R6, R7 = REGSO[:7]
DESO_IN_R2 = next(d for d, r in KEY if r == R2)


def _record(key, form, start, end=None, *, links, published=True, status="active", **extra):
    return InterventionRecord(
        key=key,
        title=f"Intervention {key}",
        form=form,
        status=status,
        planned_start=start,
        planned_end=end,
        area_links=[AreaLinkRecord(level=level, area_code=code) for level, code in links],
        published=published,
        participations=[
            ParticipationRecord(
                role="accountable",
                organisation=extra.pop("organisation", "Malmö stad"),
                sector="municipality",
            )
        ],
        **extra,
    )


RECORDS = [
    # R1 from 2021 (24 months planned)
    _record("A", "project", date(2021, 3, 1), date(2023, 2, 28), links=[("regso", R1)]),
    # R2 through one of its DeSO, from 2022, open-ended
    _record("B", "permanent_operation", date(2022, 1, 1), links=[("deso", DESO_IN_R2)]),
    # R1 again (later: R1 stays 2021) and R3 from 2022, six months
    _record(
        "C", "project", date(2022, 6, 1), date(2022, 11, 30), links=[("regso", R1), ("regso", R3)]
    ),
    # the whole kommun from 2021
    _record("D", "pilot", date(2021, 1, 1), date(2021, 12, 31), links=[("kommun", MALMO)]),
    # R4 from 2023, selective, work, by another organisation
    _record(
        "E",
        "project",
        date(2023, 1, 1),
        date(2024, 12, 31),
        links=[("regso", R4)],
        prevention_level="selective",
        outcome_domains=["work"],
        organisation="Fryshuset",
    ),
    # not published: nobody outside sees it, it treats nothing
    _record("F", "project", date(2021, 1, 1), links=[("regso", R5)], published=False),
    # cancelled
    _record("G", "project", date(2021, 1, 1), links=[("regso", R6)], status="cancelled"),
    # before the data (2020–2023): no pre-period
    _record("H", "one_off", date(2019, 5, 1), date(2019, 5, 31), links=[("regso", R7)]),
]


@pytest.fixture
def ctx(registry_url, tmp_path):
    context = Context(Settings(data_dir=tmp_path / "data", database=registry_url))
    registry.init_registry(context)
    path = tmp_path / "malmo.json"
    write_registry_json(RECORDS, path)
    registry.import_file(context, path)
    yield context
    context.close()


def _cohorts(panel) -> dict[str, int]:
    per_unit = panel.frame.select("regso", "cohort").unique()
    return {r: g for r, g in per_unit.rows() if g}


def test_cohorts_are_the_first_qualifying_start(ctx):
    panel = build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO])
    # by hand: A 2021 on R1 (C 2022 later), B 2022 on R2 via its DeSO, C 2022 on R3,
    # E 2023 on R4; D is a kommun link; F unpublished; G cancelled; H before 2020 (R7 out)
    assert _cohorts(panel) == {R1: 2021, R2: 2022, R3: 2022, R4: 2023}
    assert R7 not in panel.frame["regso"].to_list()
    assert R5 in panel.frame["regso"].to_list()  # F is not visible: R5 is a comparison
    report = panel.report
    assert dict(report.treated.rows()) == {2021: 1, 2022: 2, 2023: 1}
    assert report.before_data == (R7,)
    assert report.used["key"].sort().to_list() == ["A", "B", "C", "E"]
    reasons = dict(report.left_out.select("key", "reason").rows())
    assert reasons["D"] == KOMMUN_LINKS_REASON
    assert reasons["G"] == "cancelled"
    assert "F" not in reasons
    n_malmo = len(REGSO)
    assert report.n_units == n_malmo - 1  # R7 left out
    assert report.pool == n_malmo - 1 - 4
    # balanced, one row per RegSO and year 2020–2023
    assert panel.frame.height == (n_malmo - 1) * 4
    assert set(panel.frame["year"].to_list()) == {2020, 2021, 2022, 2023}
    assert set(panel.frame["kommun"].to_list()) == {MALMO}
    text = "\n".join(report.lines())
    assert "linked to whole kommuner only" in text and "--kommun-links" in text


def test_deso_link_maps_to_its_regso(ctx):
    panel = build_panel(
        ctx, outcome="born_abroad_pct", kommuner=[MALMO], forms=["permanent_operation"]
    )
    assert _cohorts(panel) == {R2: 2022}


def test_filters_exclude_what_they_should(ctx):
    # C runs 6 months: R3 is no longer treated, R1 keeps A's 2021
    panel = build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], min_months=12)
    assert _cohorts(panel) == {R1: 2021, R2: 2022, R4: 2023}
    panel = build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], forms=["project"])
    assert _cohorts(panel) == {R1: 2021, R3: 2022, R4: 2023}
    for option in (
        {"prevention_levels": ["selective"]},
        {"outcome_domains": ["work", "health"]},
        {"organisations": ["fryshuset"]},
    ):
        panel = build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], **option)
        assert _cohorts(panel) == {R4: 2023}, option
    reasons = set(panel.report.left_out["reason"].to_list())
    assert "no organisation among fryshuset" in reasons


def test_kommun_links_only_when_asked(ctx):
    # D (2021) treats every RegSO of Malmö: nothing is left to compare with
    with pytest.raises(InputError, match="no never- or not-yet-treated RegSO") as error:
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], kommun_links=True)
    assert "--kommun-links" in str(error.value)
    # with a pool from all of Sweden, Malmö's RegSO are treated from 2021 (or earlier)
    panel = build_panel(
        ctx, outcome="born_abroad_pct", kommun_links=True, pool_kommuner=["1281", "1283"]
    )
    cohorts = _cohorts(panel)
    assert set(cohorts) == set(REGSO) - {R7}
    assert set(cohorts.values()) == {2021}


def test_errors_name_what_to_change(ctx):
    with pytest.raises(InputError, match=r"no intervention qualifies.*--form grant_programme"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], forms=["grant_programme"])
    with pytest.raises(InputError, match=r"no RegSO is treated.*--kommun-links"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], forms=["pilot"])
    with pytest.raises(InputError, match=r"too few pre-periods.*2019: 1"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], forms=["one_off"])
    with pytest.raises(InputError, match="--form bogus"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], forms=["bogus"])
    with pytest.raises(InputError, match="--outcome nothing"):
        build_panel(ctx, outcome="nothing", kommuner=[MALMO])
    # a pool of never-treated RegSO from a kommun outside the panel: none
    with pytest.raises(InputError, match=r"no never- or not-yet-treated.*--control notyet"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], pool_kommuner=["0114"])


def test_unbalanced_panel_names_the_units(ctx):
    from bryta.warehouse import Provenance

    values = pl.DataFrame(
        {
            "area": [r for r in REGSO for _ in range(3)],
            "level": "regso",
            "year": [y for _ in REGSO for y in (2019, 2020, 2021)],
            "value": 1.0,
        }
    ).filter(~((pl.col("area") == R5) & (pl.col("year") == 2020)))
    with ctx.warehouse() as wh:
        wh.put(
            "indicator_test_rate",
            values,
            kind="indicator",
            provenance=Provenance(source="test"),
        )
    with pytest.raises(InputError, match=f"unbalanced: 1 RegSO lack test_rate.*{R5}"):
        build_panel(ctx, outcome="test_rate", kommuner=[MALMO])
    panel = build_panel(ctx, outcome="test_rate", kommuner=[MALMO], drop_incomplete=True)
    assert panel.report.incomplete == (R5,)
    assert R5 not in panel.frame["regso"].to_list()
    # data 2019–2021: H (2019) has no pre-period, A (2021) has two, B, C and E start
    # after the data and count as not treated within it
    assert _cohorts(panel) == {R1: 2021}
    assert set(panel.report.after_data) == {R2, R3, R4}
    assert panel.report.years == (2019, 2021)


def test_pool_restricted_by_area_type(ctx):
    from bryta.datasets import official_area_types

    types = dict(official_area_types().select("regso", "area_type").rows())
    never = set(REGSO) - {R1, R2, R3, R4, R7}
    expected = {r for r in never if types[r] in (1, 2)}
    assert expected  # Malmö has RegSO of type 1–2
    panel = build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], pool_types=[1, 2])
    untreated = set(panel.frame.filter(cohort=0)["regso"].to_list())
    assert untreated == expected
    assert panel.report.pool == len(expected)
    assert panel.report.pool_left_out == len(never) - len(expected)
    # treated RegSO stay, whatever their type
    assert set(_cohorts(panel)) == {R1, R2, R3, R4}


def test_no_registry_says_how_to_create_one(tmp_path):
    ctx = Context(Settings(data_dir=tmp_path))
    with pytest.raises(NotFound, match=r"bryta registry init.*bryta registry add-programmes"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO])
    assert not (tmp_path / "registry.sqlite").exists()


def test_cli_end_to_end(ctx, tmp_path):
    out = tmp_path / "out" / "malmo.csv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcome",
            "born_abroad_pct",
            "--control",
            "notyet",
            "--database",
            ctx.settings.registry_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out)
    assert table.columns == [
        "aggregation",
        "group",
        "time",
        "event_time",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
    ]
    assert set(table["aggregation"].to_list()) == {
        "att_gt",
        "simple",
        "group",
        "dynamic",
        "calendar",
    }
    html = out.with_suffix(".html").read_text(encoding="utf-8")
    assert "<script src=" not in html and "plotly" in html
    svg = ET.parse(out.with_suffix(".svg")).getroot()
    assert svg.tag.endswith("svg")
    assert "treated RegSO by cohort: 2021: 1, 2022: 2, 2023: 1" in result.output
    assert "simple" in result.output


def test_cli_needs_kommun_or_all(ctx, tmp_path):
    result = CliRunner().invoke(
        app, ["evaluate", "registry", "--outcome", "born_abroad_pct", "-o", str(tmp_path / "x.csv")]
    )
    assert result.exit_code == 2 and "--kommun CODE or --all" in result.output


def test_real_programmes(tmp_path):
    """The bundled programmes name whole kommuner, rarely RegSO: in Malmö nothing can be
    evaluated without --kommun-links, and the error says so."""
    ctx = Context(Settings(data_dir=tmp_path))
    registry.init_registry(ctx)
    registry.add_programmes(ctx)
    with pytest.raises(InputError, match=r"linked to whole kommuner only.*--kommun-links"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO])
    # with them, every Malmö RegSO is treated from before the data
    with pytest.raises(InputError, match="too few pre-periods"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], kommun_links=True)
    # Stockholm: Fokus Järva (2022) is the one permanent operation linked to RegSO that
    # starts within the data
    panel = build_panel(
        ctx, outcome="born_abroad_pct", kommuner=["0180"], forms=["permanent_operation"]
    )
    assert panel.report.used["key"].to_list() == ["SE-MUN-STH-2022-FOKUSJARVA"]
    assert set(_cohorts(panel).values()) == {2022}
    ctx.close()
