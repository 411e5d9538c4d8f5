"""``bryta evaluate registry`` with placebo inference and power, and the PNG figures of the
evaluation commands.

The panels: the bundled share born abroad of Malmö's RegSO, stored in the warehouse as the
indicator ``injected_pct`` with a known change added to 12 RegSO that two interventions of the
registry treat from 2022: a jump of +5 points from 2022 (an effect, no pre-trend), or a rise of
3 points a year over every year (a pre-trend, no effect).
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

import bryta.evaluate
from bryta.app import registry
from bryta.app.context import Context, Settings
from bryta.app.evaluation import evaluate_registry, record_evaluations
from bryta.app.svg import PNG_SCALE, png_or_note, svg_to_png
from bryta.cli import app
from bryta.registry import db
from bryta.registry.evaluations import EvidenceLevel
from bryta.registry.exchange import write_registry_json
from bryta.registry.service import RegistryService
from tests.test_evaluate_panel import MALMO, _record

OUTCOME = "injected_pct"
EFFECT = 5.0  # points, from 2022 on
TREND = 3.0  # points a year, every year
DRAWS = 200
SEED = 7


def _malmo_values() -> pl.DataFrame:
    """The bundled share born abroad of Malmö's RegSO with a value in every year:
    ``regso, year, value``."""
    from bryta.app.profiles import bundled_indicators

    values = (
        bundled_indicators()
        .filter(
            (pl.col("level") == "regso")
            & (pl.col("indicator") == "born_abroad_pct")
            & pl.col("area").str.starts_with(MALMO)
        )
        .select(pl.col("area").alias("regso"), pl.col("year").cast(pl.Int64), "value")
        .drop_nulls()
    )
    n_years = values.get_column("year").n_unique()
    complete = values.group_by("regso").len().filter(pl.col("len") == n_years)
    return values.join(complete.select("regso"), on="regso").sort("regso", "year")


VALUES = _malmo_values()
TREATED = VALUES.get_column("regso").unique().sort().to_list()[:12]


def _injected(kind: str) -> pl.DataFrame:
    """VALUES with the effect (``jump``) or the pre-trend (``trend``) in the treated RegSO."""
    treated = pl.col("regso").is_in(TREATED)
    if kind == "jump":
        change = pl.when(treated & (pl.col("year") >= 2022)).then(EFFECT).otherwise(0.0)
    else:
        change = pl.when(treated).then(TREND * (pl.col("year") - 2020)).otherwise(0.0)
    return VALUES.with_columns(pl.col("value") + change)


@pytest.fixture(params=["jump", "trend"])
def setup(request, registry_url, tmp_path):
    """A registry with two interventions treating the 12 RegSO from 2022 and the injected
    outcome in the warehouse; yields (kind, context, the outcome per RegSO × year)."""
    from bryta.warehouse import Provenance

    context = Context(Settings(data_dir=tmp_path / "data", database=registry_url))
    registry.init_registry(context)
    records = [
        _record("P1", "project", date(2022, 1, 1), links=[("regso", r) for r in TREATED[:6]]),
        _record("P2", "project", date(2022, 3, 1), links=[("regso", r) for r in TREATED[6:]]),
    ]
    path = tmp_path / "programmes.json"
    write_registry_json(records, path)
    registry.import_file(context, path)
    values = _injected(request.param)
    stored = values.select(
        pl.col("regso").alias("area"),
        pl.lit("regso").alias("level"),
        "year",
        "value",
        pl.lit(None, pl.Float64).alias("numerator"),
        pl.lit(None, pl.Float64).alias("denominator"),
    )
    with context.warehouse() as warehouse:
        warehouse.put(
            f"indicator_{OUTCOME}",
            stored,
            kind="indicator",
            provenance=Provenance(source="test"),
        )
    yield request.param, context, values
    context.close()


def _run(context, tmp_path, *extra):
    out = tmp_path / "out" / "malmo.csv"
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "registry",
            "--kommun",
            MALMO,
            "--outcome",
            OUTCOME,
            "--intended",
            "increase",
            "--database",
            context.settings.registry_url,
            "--data-dir",
            str(context.settings.data_dir),
            "-o",
            str(out),
            "--record",
            *(extra or ("--seed", str(SEED))),
        ],
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def _records(context):
    engine = db.connect(context.settings.registry_url)
    try:
        public = RegistryService(engine, None)
        return {key: public.evaluations(public.id_of(key)) for key in ("P1", "P2")}
    finally:
        engine.dispose()


def _by_hand(values: pl.DataFrame) -> tuple[float, float]:
    """(simple, placebo in time) of one cohort (2022) against the never-treated, by hand:
    simple = mean over 2022, 2023 of (treated − never-treated) change from 2021; placebo in
    time = (treated − never-treated) change from 2020 to 2021."""
    means = (
        values.with_columns(pl.col("regso").is_in(TREATED).alias("treated"))
        .group_by("treated", "year")
        .agg(pl.col("value").mean())
    )
    m = {(t, y): v for t, y, v in means.rows()}

    def gap(year: int, base: int) -> float:
        return (m[True, year] - m[True, base]) - (m[False, year] - m[False, base])

    return (gap(2022, 2021) + gap(2023, 2021)) / 2, gap(2021, 2020)


def test_records_reach_their_level_by_the_placebo_checks(setup, tmp_path):
    kind, context, values = setup
    out, output = _run(context, tmp_path)
    simple, in_time = _by_hand(values)
    summary = json.loads(out.with_suffix(".summary.json").read_text(encoding="utf-8"))
    records = _records(context)
    assert {key: len(found) for key, found in records.items()} == {"P1": 1, "P2": 1}
    record = records["P1"][0]
    assert record.estimate == pytest.approx(simple, abs=1e-9)
    assert summary["simple"]["estimate"] == pytest.approx(simple, abs=1e-9)
    assert summary["placebo_in_time"]["estimate"] == pytest.approx(in_time, abs=1e-9)
    assert record.n_treated == 12 and summary["n_treated"] == 12
    # the placebo MDE: the same draws on the panel as built by hand (same seed)
    panel = values.with_columns(
        pl.when(pl.col("regso").is_in(TREATED)).then(2022).otherwise(0).alias("cohort")
    )
    checks = bryta.evaluate.placebo(
        panel, unit="regso", time="year", outcome="value", cohort="cohort", draws=DRAWS, seed=SEED
    )
    assert record.mde == pytest.approx(checks.mde)
    assert summary["mde"] == pytest.approx(checks.mde)
    assert record.provenance["mde_basis"] == summary["mde_basis"] == "placebo"
    assert record.provenance["placebo"]["draws"] == DRAWS
    assert record.placebo_p == summary["placebo_p"]
    assert "12 treated units" in summary["sentence"] and repr(OUTCOME) in summary["sentence"]
    assert "placebo in space: 200 draws" in output and summary["sentence"] in output
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jump":
        # +5 points is far beyond every placebo estimate on untreated RegSO: the smallest
        # possible p-value; the treated RegSO did not drift before the start
        assert simple > EFFECT - 1
        assert record.placebo_p == pytest.approx(1 / (DRAWS + 1))
        assert record.pre_trend is False and summary["pre_trend"] is False
        assert record.ci_low > 0
        assert {found[0].evidence_level for found in records.values()} == {EvidenceLevel.EFFECTIVE}
        assert "pre-trend: none found" in output
    else:
        # 3 points a year: the estimate after the start is the trend (about +3 a year), and
        # the placebo in time finds it before the start
        assert in_time > TREND - 1
        assert summary["placebo_in_time"]["ci_low"] > 0
        assert record.pre_trend is True and summary["pre_trend"] is True
        assert record.ci_low > 0  # without the pre-trend check it would look like an effect
        assert {found[0].evidence_level for found in records.values()} == {
            EvidenceLevel.INSUFFICIENT_EVIDENCE
        }
        assert "pre-trend: yes" in output


@pytest.mark.parametrize("registry_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("setup", ["jump"], indirect=True)
def test_without_placebos_promising_at_most(setup, tmp_path):
    _, context, _ = setup
    out, output = _run(context, tmp_path, "--placebos", "0")
    summary = json.loads(out.with_suffix(".summary.json").read_text(encoding="utf-8"))
    assert summary["placebos"] == 0 and summary["placebo_p"] is None
    assert summary["mde_basis"] == "analytic" and summary["pre_trend"] is None
    record = _records(context)["P1"][0]
    assert record.placebo_p is None and record.pre_trend is None
    assert record.provenance["mde_basis"] == "analytic"
    assert record.evidence_level is EvidenceLevel.PROMISING
    assert "no placebos (--placebos 0)" in output


@pytest.mark.parametrize("setup", ["jump"], indirect=True)
def test_records_are_written_in_one_transaction(setup, tmp_path, monkeypatch):
    _, context, _ = setup
    run = evaluate_registry(
        context, tmp_path / "malmo.csv", outcome=OUTCOME, kommuner=[MALMO], placebos=20, seed=1
    )
    added = []
    original = RegistryService.add_evaluation

    def fail_on_the_second(self, id, record):
        if added:
            raise RuntimeError("the database went away")
        added.append(id)
        return original(self, id, record)

    monkeypatch.setattr(RegistryService, "add_evaluation", fail_on_the_second)
    with pytest.raises(RuntimeError, match="went away"):
        record_evaluations(context, run, direction=1)
    assert len(added) == 1  # the first record was added, then rolled back with the rest
    assert _records(context) == {"P1": [], "P2": []}


# --- PNG ------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """(width, height, rows of RGB pixels) of an 8-bit, non-interlaced PNG (the standard
    library only: chunks, zlib, the five scanline filters)."""
    assert data.startswith(PNG_SIGNATURE)
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for r in range(height):
        start = r * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride) if kind else ():
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) >> 1
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[x] = (line[x] + pred) & 255
        rows.append([tuple(line[x : x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def _dark(rows, top: int, bottom: int, left: int, right: int) -> int:
    """Pixels darker than mid-grey in the box (as text and lines are)."""
    return sum(1 for row in rows[top:bottom] for px in row[left:right] if sum(px) < 3 * 128)


def test_svg_to_png_renders_text_at_the_scale():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" viewBox="0 0 200 60" '
        'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" '
        'fill="white"/><text x="10" y="30">Järva −0,5 × år</text></svg>'
    )
    png = svg_to_png(svg, scale=1.5)
    width, height, rows = decode_png(png)
    assert (width, height) == (300, 90)
    # the text (left half, around its baseline) is drawn; the right edge stays white
    assert _dark(rows, 20, 60, 0, 200) > 100
    assert _dark(rows, 0, 90, 260, 300) == 0


def test_png_skipped_with_a_note_when_the_renderer_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # import fails as if not installed
    png, note = png_or_note("<svg/>", "out/x.png")
    assert png is None
    assert note.startswith("out/x.png: PNG not written: ") and "vl-convert-python" in note
    assert "\n" not in note


@pytest.mark.parametrize("registry_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("setup", ["jump"], indirect=True)
def test_event_study_png_is_the_svg(setup, tmp_path, monkeypatch):
    _, context, _ = setup
    out = tmp_path / "malmo.csv"
    run = evaluate_registry(context, out, outcome=OUTCOME, kommuner=[MALMO], placebos=0)
    svg = out.with_suffix(".svg").read_text(encoding="utf-8")
    png = out.with_suffix(".png").read_bytes()
    assert png == svg_to_png(svg)  # rendered from the very SVG written beside it
    width, height, rows = decode_png(png)
    assert (width, height) == (680 * PNG_SCALE, 380 * PNG_SCALE)
    scale = int(PNG_SCALE)
    assert _dark(rows, 5 * scale, 25 * scale, 70 * scale, 400 * scale) > 200  # the title
    assert _dark(rows, 50 * scale, 300 * scale, 70 * scale, 660 * scale) > 500  # the plot
    assert out.with_suffix(".png") in run.files
    # without the renderer: everything else is written, and a note says why not the PNG
    monkeypatch.setitem(sys.modules, "vl_convert", None)
    again = tmp_path / "again.csv"
    run = evaluate_registry(context, again, outcome=OUTCOME, kommuner=[MALMO], placebos=0)
    assert not again.with_suffix(".png").exists()
    assert again.with_suffix(".svg").exists() and again.with_suffix(".html").exists()
    assert [n for n in run.notes if "PNG not written" in n]


def test_synth_writes_path_png(tmp_path):
    """A small panel: unit A follows the mean of B and C, then jumps by 10 from 2015."""
    rows = []
    for unit, level, slope in (("A", 10.0, 1.0), ("B", 8.0, 0.8), ("C", 12.0, 1.2), ("D", 9, 1.1)):
        for year in range(2005, 2020):
            jump = 10.0 if unit == "A" and year >= 2015 else 0.0
            rows.append({"unit": unit, "year": year, "y": level + slope * (year - 2005) + jump})
    panel = tmp_path / "panel.csv"
    pl.DataFrame(rows).write_csv(panel)
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "synth",
            str(panel),
            "--unit",
            "unit",
            "--time",
            "year",
            "--outcome",
            "y",
            "--treated",
            "A",
            "--start",
            "2015",
            "--predictor",
            "y:2005-2014",
            "--predictor",
            "y:2014",
            "--out-dir",
            str(tmp_path / "synth"),
        ],
    )
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "synth" / "path.svg").read_text(encoding="utf-8")
    png = (tmp_path / "synth" / "path.png").read_bytes()
    assert png == svg_to_png(svg)
    width, height, rows_ = decode_png(png)
    assert (width, height) == (760 * PNG_SCALE, 650 * PNG_SCALE)
    assert _dark(rows_, 0, height, 0, width) > 2000
    assert "wrote 8 files" in result.output
