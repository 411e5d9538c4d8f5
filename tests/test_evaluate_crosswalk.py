"""Crosswalks between code versions in the evaluation panel (``build_panel(crosswalk=…)``,
``bryta evaluate registry --crosswalk``): registry links to RegSO and DeSO 2025 codes mapped to
the outcome's RegSO 2020 through a small hand-made key — a RegSO split in two, two merged, a
DeSO — and the errors."""

from __future__ import annotations

import csv
import io
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.app.evaluation import OTHER_VERSION_REASON, build_panel, read_crosswalk
from bryta.cli import app
from bryta.errors import InputError
from bryta.registry.exchange import write_registry_json
from bryta.registry.records import AreaLinkRecord, InterventionRecord, ParticipationRecord

MALMO = "1280"


def _malmo_key() -> list[tuple[str, str]]:
    """(DeSO 2018, RegSO 2020) of Malmö, read straight from the bundled key file."""
    from bryta._files import bundled_file

    text = bundled_file("deso2018_regso2020_key.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    deso = next(c for c in rows[0] if c.lower().startswith("deso"))
    regso = next(c for c in rows[0] if c.lower().startswith("regsokod"))
    kommun = next(c for c in rows[0] if c.lower() == "kommun")
    return sorted((r[deso], r[regso]) for r in rows if r[kommun].zfill(4) == MALMO)


KEY = _malmo_key()
REGSO = sorted({r for _, r in KEY})
R1, R2, R3, R4, R5 = REGSO[:5]
DESO_IN_R5 = next(d for d, r in KEY if r == R5)

# the 2025 codes of a hand-made new division of Malmö
SPLIT_A, SPLIT_B = "1280R901_RegSO2025", "1280R902_RegSO2025"  # R1 split in two
MERGED = "1280R903_RegSO2025"  # R2 (60 % of it) and R3 (40 %) merged
SAME = "1280R904_RegSO2025"  # R4 renumbered
NEW_DESO = "1280C9001_DeSO2025"  # a DeSO 2025 inside R5's DeSO 2018
UNKNOWN = "1280R999_RegSO2025"

# from 2025 to 2020; a weight is the share of the 2025 area lying in the 2020 area
CROSSWALK = pl.DataFrame(
    {
        "from": [SPLIT_A, SPLIT_B, MERGED, MERGED, SAME, NEW_DESO],
        "to": [R1, R1, R2, R3, R4, DESO_IN_R5],
        "weight": [1.0, 1.0, 0.6, 0.4, 1.0, 1.0],
    }
)


def _record(key, start, links, **extra):
    return InterventionRecord(
        key=key,
        title=f"Intervention {key}",
        form=extra.pop("form", "project"),
        status="active",
        planned_start=start,
        area_links=[AreaLinkRecord(level=level, area_code=code) for level, code in links],
        published=True,
        participations=[
            ParticipationRecord(
                role="accountable", organisation="Malmö stad", sector="municipality"
            )
        ],
        **extra,
    )


RECORDS = [
    _record("SPLIT", date(2021, 3, 1), [("regso", SPLIT_A)]),
    _record("MERGE", date(2022, 1, 1), [("regso", MERGED)]),
    _record("SAME", date(2023, 1, 1), [("regso", SAME)]),
    _record("DESO", date(2022, 5, 1), [("deso", NEW_DESO)]),
]


def _ctx(registry_url, tmp_path, records):
    context = Context(Settings(data_dir=tmp_path / "data", database=registry_url))
    registry.init_registry(context)
    path = tmp_path / "records.json"
    write_registry_json(records, path)
    registry.import_file(context, path)
    return context


@pytest.fixture
def ctx(registry_url, tmp_path):
    context = _ctx(registry_url, tmp_path, RECORDS)
    yield context
    context.close()


def _cohorts(panel) -> dict[str, int]:
    per_unit = panel.frame.select("regso", "cohort").unique()
    return {r: g for r, g in per_unit.rows() if g}


def test_without_a_crosswalk_the_new_codes_are_left_out(ctx):
    with pytest.raises(InputError, match=r"another version.*--crosswalk FILE"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO])


def test_links_to_new_codes_are_mapped(ctx):
    panel = build_panel(
        ctx,
        outcome="born_abroad_pct",
        kommuner=[MALMO],
        crosswalk=CROSSWALK,
        crosswalk_weight="weight",
    )
    # by hand: SPLIT (2021) → R1; MERGE (2022) → R2 and R3 (both weights above 0);
    # SAME (2023) → R4; DESO (2022) → R5's DeSO → R5
    assert _cohorts(panel) == {R1: 2021, R2: 2022, R3: 2022, R4: 2023, R5: 2022}
    report = panel.report
    assert report.crosswalked == 4  # four links mapped
    assert report.crosswalk_below == 0
    assert report.used["key"].sort().to_list() == ["DESO", "MERGE", "SAME", "SPLIT"]
    assert dict(report.used.select("key", "n_regso").rows()) == {
        "SPLIT": 1,
        "MERGE": 2,
        "SAME": 1,
        "DESO": 1,
    }
    text = "\n".join(report.lines())
    assert "crosswalk the crosswalk key: 4 area link(s) of another code version mapped" in text


def test_minimum_weight_keeps_the_larger_overlap(ctx):
    panel = build_panel(
        ctx,
        outcome="born_abroad_pct",
        kommuner=[MALMO],
        crosswalk=CROSSWALK,
        crosswalk_weight="weight",
        crosswalk_min_weight=0.5,
    )
    # MERGE: R2 (0.6) is treated, R3 (0.4) is not
    assert _cohorts(panel) == {R1: 2021, R2: 2022, R4: 2023, R5: 2022}
    assert panel.report.crosswalk_below == 1
    assert "1 target area(s) under the minimum left out" in "\n".join(panel.report.lines())


def test_without_weights_every_target_is_treated(ctx):
    panel = build_panel(
        ctx, outcome="born_abroad_pct", kommuner=[MALMO], crosswalk=CROSSWALK.drop("weight")
    )
    assert _cohorts(panel) == {R1: 2021, R2: 2022, R3: 2022, R4: 2023, R5: 2022}


def test_a_link_code_missing_from_the_key(registry_url, tmp_path):
    records = [*RECORDS, _record("GONE", date(2022, 1, 1), [("regso", UNKNOWN)])]
    ctx = _ctx(registry_url, tmp_path, records)
    try:
        with pytest.raises(InputError) as error:
            build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], crosswalk=CROSSWALK)
        message = str(error.value)
        assert "intervention GONE" in message and UNKNOWN in message
        assert "column 'from'" in message and "--crosswalk-from" in message
        # an intervention filtered out does not need its codes in the key
        panel = build_panel(
            ctx,
            outcome="born_abroad_pct",
            kommuner=[MALMO],
            crosswalk=CROSSWALK,
            intervention_keys=["MERGE"],
        )
        assert _cohorts(panel) == {R2: 2022, R3: 2022}
    finally:
        ctx.close()


def test_key_the_wrong_way_round(ctx):
    swapped = CROSSWALK.rename({"from": "to", "to": "from"})
    with pytest.raises(InputError, match="swap --crosswalk-from and --crosswalk-to"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], crosswalk=swapped)


def test_key_errors_name_the_file_and_column(ctx, tmp_path):
    path = tmp_path / "key.csv"
    CROSSWALK.rename({"from": "regso2025"}).write_csv(path)
    with pytest.raises(InputError, match=rf"{path}: no column 'from'.*--crosswalk-from"):
        build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], crosswalk=path)
    with pytest.raises(InputError, match=rf"{path}: no column 'andel'.*--crosswalk-weight"):
        read_crosswalk(path, source="regso2025", weight="andel")
    # MERGED's weights sum to 0.9
    bad = CROSSWALK.with_columns(
        pl.when(pl.col("to") == R3).then(0.3).otherwise(pl.col("weight")).alias("weight")
    )
    bad.write_csv(path)
    with pytest.raises(InputError) as error:
        read_crosswalk(path, weight="weight")
    message = str(error.value)
    assert str(path) in message and f"weights of {MERGED} (rows 3, 4) sum to 0.9, not 1" in message
    with pytest.raises(InputError, match="--crosswalk-min-weight needs --crosswalk-weight"):
        read_crosswalk(path, min_weight=0.5)
    with pytest.raises(InputError, match="above 0 and at most 1"):
        read_crosswalk(path, weight="weight", min_weight=50)
    with pytest.raises(InputError, match=r"row 2, column 'to': '1280X' is not a RegSO or DeSO"):
        read_crosswalk(CROSSWALK.with_columns(pl.Series("to", [R1, "1280X", R2, R3, R4, R5])))


def test_windows_1252_semicolon_key(ctx, tmp_path):
    """What Excel on Windows saves as CSV: ';', Windows-1252 (å, ä, ö), decimal commas."""
    path = tmp_path / "nyckel.csv"
    lines = ["RegSO 2025;RegSO 2020 (från);Andel"] + [
        f"{a};{b};{str(w).replace('.', ',')}" for a, b, w in CROSSWALK.rows()
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    panel = build_panel(
        ctx,
        outcome="born_abroad_pct",
        kommuner=[MALMO],
        crosswalk=path,
        crosswalk_from="RegSO 2025",
        crosswalk_to="RegSO 2020 (från)",
        crosswalk_weight="Andel",
        crosswalk_min_weight=0.5,
    )
    assert _cohorts(panel) == {R1: 2021, R2: 2022, R4: 2023, R5: 2022}
    assert panel.report.crosswalk == str(path)


def test_key_without_version_suffixes(ctx, tmp_path):
    """A key whose codes carry no suffix: the from column is read as the links' version."""
    plain = CROSSWALK.with_columns(pl.col("from").str.replace(r"_(RegSO|DeSO)2025$", ""))
    path = tmp_path / "plain.parquet"
    plain.write_parquet(path)
    panel = build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO], crosswalk=path)
    assert _cohorts(panel) == {R1: 2021, R2: 2022, R3: 2022, R4: 2023, R5: 2022}


def test_other_version_reason_without_a_key(registry_url, tmp_path):
    records = [*RECORDS, _record("OLD", date(2022, 1, 1), [("regso", R1)])]
    ctx = _ctx(registry_url, tmp_path, records)
    try:
        panel = build_panel(ctx, outcome="born_abroad_pct", kommuner=[MALMO])
        reasons = dict(panel.report.left_out.select("key", "reason").rows())
        assert reasons == {k: OTHER_VERSION_REASON for k in ("SPLIT", "MERGE", "SAME", "DESO")}
        assert "(--crosswalk FILE maps them to the outcome's codes)" in "\n".join(
            panel.report.lines()
        )
    finally:
        ctx.close()


def test_cli_crosswalk(ctx, tmp_path):
    key = tmp_path / "key.csv"
    CROSSWALK.rename({"from": "new", "to": "old", "weight": "w"}).write_csv(key, separator=";")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcome",
            "born_abroad_pct",
            "--crosswalk",
            str(key),
            "--crosswalk-from",
            "new",
            "--crosswalk-to",
            "old",
            "--crosswalk-weight",
            "w",
            "--crosswalk-min-weight",
            "0.5",
            "--database",
            ctx.settings.registry_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"crosswalk {key}: 4 area link(s) of another code version mapped" in result.output
    assert "treated RegSO by cohort: 2021: 1, 2022: 2, 2023: 1" in result.output
    assert out.exists()
    # a bad column: one line, exit 2, nothing written
    out.unlink()
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcome",
            "born_abroad_pct",
            "--crosswalk",
            str(key),
            "--database",
            ctx.settings.registry_url,
            "--data-dir",
            str(tmp_path / "data"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 2
    assert f"{key}: no column 'from'" in result.output
    assert not out.exists()
