"""The synthetic control as a use case: read the analyst's panel, fit, write the results.

:func:`run_synth` reads INPUT (CSV with ``;`` or ``,`` in UTF-8 or Windows-1252, Excel or
Parquet, through :mod:`bryta.app.tables`), runs :func:`bryta.evaluate.synthetic_control` and
writes into a folder:

* ``weights.csv``: ``unit, weight`` (every donor, largest weight first);
* ``path.csv``: ``time, treated, synthetic, gap``;
* ``placebos.csv``: ``unit, time, actual, synthetic, gap, rmspe_pre, rmspe_post, ratio`` for
  every donor treated in turn;
* ``leave_one_out.csv``: ``left_out, time, synthetic, gap, rmspe_pre``;
* ``summary.json``: ``rmspe_pre``, ``rmspe_post``, ``ratio``, ``p_value``, ``average_gap``, the
  positive weights and the predictor ``balance``;
* ``path.svg``: the treated unit against its synthetic control, and the gaps with the
  placebos' in grey (for reports);
* ``path.png``: the same figure as PNG, rendered from that SVG (:func:`bryta.app.svg.svg_to_png`;
  left out, with a note, when the renderer is not installed);
* ``path.html``: the same as an interactive page that opens offline (plotly.js inside).

Everything is computed before anything is written, and each file is written to a temporary
file renamed into place, so a failure leaves no half-written file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from bryta.app.svg import axis_ticks, png_or_note, tick_label, value_axis
from bryta.app.tables import check_can_create, read_table, write_content
from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.compute.evaluation.synth import SynthResult

__all__ = [
    "SynthRun",
    "check_out_dir",
    "count_donors",
    "path_svg",
    "result_contents",
    "run_synth",
    "write_results",
]

FILES = (
    "weights.csv",
    "path.csv",
    "placebos.csv",
    "leave_one_out.csv",
    "summary.json",
    "path.svg",
    "path.png",
    "path.html",
)


@dataclass(frozen=True)
class SynthRun:
    """What :func:`run_synth` did: the result, the files written and what the caller should
    know (a figure not written)."""

    result: SynthResult
    files: list[Path]
    notes: tuple[str, ...] = ()


def check_out_dir(out_dir: Path, inputs: Sequence[Path] = ()) -> None:
    """Fail before any work if ``out_dir`` cannot be a folder of results."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: is a file; --out-dir must name a folder")
    for source in inputs:
        if Path(source).name in FILES and Path(source).resolve().parent == out_dir.resolve():
            raise InputError(
                f"{out_dir}: would overwrite the input {source}; choose another folder"
            )
    check_can_create(out_dir, folder=True)


def count_donors(frame: pl.DataFrame, unit: str) -> int:
    """The number of placebo fits a run will make (the units but one), for a progress bar."""
    if unit not in frame.columns:
        return 0
    return max(frame.get_column(unit).n_unique() - 1, 0)


def run_synth(
    input: Path,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    start: int,
    predictors: Sequence[str],
    out_dir: Path,
    seed: int = 0,
    frame: pl.DataFrame | None = None,
    progress: Callable[[int], None] | None = None,
) -> SynthRun:
    """Fit the synthetic control on the panel in ``input`` and write the folder of results
    (see the module text). ``frame``: the table already read from ``input``."""
    from bryta.evaluate import synthetic_control

    check_out_dir(out_dir, [input])
    if frame is None:
        frame = read_table(input)
    try:
        result = synthetic_control(
            frame,
            unit=unit,
            time=time,
            outcome=outcome,
            treated=treated,
            start=start,
            predictors=predictors,
            seed=seed,
            progress=progress,
        )
    except InputError as exc:
        raise InputError(f"{input}: {exc}") from None
    files, notes = write_results(out_dir, result_contents(result, input))
    return SynthRun(result, files, notes)


def write_results(out_dir: Path, contents: dict[str, str]) -> tuple[list[Path], tuple[str, ...]]:
    """Write each of ``contents`` (file name → text) whole into ``out_dir``, with
    ``path.png`` rendered from ``path.svg``; the files written, and a note when the PNG could
    not be rendered."""
    out_dir = Path(out_dir)
    png, note = (
        png_or_note(contents["path.svg"], out_dir / "path.png")
        if "path.svg" in contents
        else (None, "")
    )
    data: dict[str, str | bytes] = dict(contents)
    if png is not None:
        data["path.png"] = png
    files = []
    for name in [n for n in FILES if n in data] + [n for n in data if n not in FILES]:
        path = out_dir / name
        write_content(path, data[name])
        files.append(path)
    return files, ((note,) if note else ())


def result_contents(
    result: SynthResult,
    input: Path | str,
    *,
    weights: pl.DataFrame | None = None,
    summary: dict[str, object] | None = None,
) -> dict[str, str]:
    """The files of the results folder (see the module text), file name → text.
    ``weights``: the table for ``weights.csv`` instead of ``result.weights`` (e.g. with
    names); ``summary``: more entries for ``summary.json``."""
    placebos = result.placebos.join(
        result.placebo_ratios.drop("treated"), on="unit", how="left"
    ).sort(["unit", "time"])
    numbers = result.summary()
    numbers["input"] = str(input)
    numbers.update(summary or {})
    return {
        "weights.csv": (result.weights if weights is None else weights).write_csv(),
        "path.csv": result.path.write_csv(),
        "placebos.csv": placebos.write_csv(),
        "leave_one_out.csv": result.leave_one_out.write_csv(),
        "summary.json": json.dumps(_finite(numbers), ensure_ascii=False, indent=2) + "\n",
        "path.svg": path_svg(result),
        "path.html": _path_html(result),
    }


def _finite(value: object) -> object:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# ---- the plots ---------------------------------------------------------------------------------

_W, _H = 760, 650
#: Placebos whose pre-period MSPE exceeds this multiple of the treated unit's are not drawn
#: (ADH 2010, figure 5): their gaps say nothing about an effect.
FIT_MULTIPLE = 5.0
_LEFT, _RIGHT = 70, 20
_PANELS = ((40, 270), (350, 580))  # top, bottom of each panel's plotting area
_ACTUAL, _SYNTH, _GREY = "#00204d", "#c9a13f", "#b5b5b5"  # cividis ends: readable for all


def path_svg(result: SynthResult) -> str:
    """A plain SVG of the path (top) and the gaps with the placebos' in grey (bottom)."""
    path = result.path
    times = path.get_column("time").to_list()
    t0, t1 = min(times), max(times)

    def x(t: float) -> float:
        return float(_LEFT + (t - t0) / max(t1 - t0, 1) * (_W - _LEFT - _RIGHT))

    parts: list[str] = []

    def line(
        points: list[tuple[float, float | None]], colour: str, width: float, **extra: str
    ) -> None:
        segments: list[list[str]] = []
        current: list[str] = []
        for px, py in points:
            if py is None or not math.isfinite(py):
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(f"{px:.1f},{py:.1f}")
        if current:
            segments.append(current)
        attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in extra.items())
        for seg in segments:
            parts.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                f'stroke-width="{width}"{attrs}/>'
            )

    def panel(top: int, bottom: int, lo: float, hi: float, label: str) -> Callable[[float], float]:
        axis, y = value_axis(_LEFT, _W - _RIGHT, top, bottom, lo, hi)
        parts.extend(axis)
        for tick in axis_ticks(t0, t1, 8):
            parts.append(
                f'<text x="{x(tick):.1f}" y="{bottom + 18}" text-anchor="middle">'
                f"{tick_label(tick)}</text>"
            )
        start = x(result.start - 0.5)
        parts.append(
            f'<line x1="{start:.1f}" x2="{start:.1f}" y1="{top}" y2="{bottom}" '
            'stroke="#444" stroke-dasharray="4 3"/>'
        )
        parts.append(f'<text x="{_LEFT}" y="{top - 10}" font-weight="bold">{escape(label)}</text>')
        return y

    treated = path.get_column("treated").to_list()
    synthetic = path.get_column("synthetic").to_list()
    values = [v for v in treated + synthetic if v is not None and math.isfinite(v)]
    y1 = panel(*_PANELS[0], min(values), max(values), f"{result.outcome}: actual and synthetic")
    line(
        [(x(t), y1(v) if v is not None else None) for t, v in zip(times, synthetic, strict=True)],
        _SYNTH,
        2.5,
        stroke_dasharray="7 4",
    )
    line(
        [(x(t), y1(v) if v is not None else None) for t, v in zip(times, treated, strict=True)],
        _ACTUAL,
        2.5,
    )
    legend_y = _PANELS[0][1] - 34
    parts.append(
        f'<line x1="{_LEFT + 12}" x2="{_LEFT + 42}" y1="{legend_y}" y2="{legend_y}" '
        f'stroke="{_ACTUAL}" stroke-width="2.5"/><text x="{_LEFT + 48}" y="{legend_y + 4}">'
        f"{escape(result.treated)}</text>"
        f'<line x1="{_LEFT + 12}" x2="{_LEFT + 42}" y1="{legend_y + 18}" y2="{legend_y + 18}" '
        f'stroke="{_SYNTH}" stroke-width="2.5" stroke-dasharray="7 4"/>'
        f'<text x="{_LEFT + 48}" y="{legend_y + 22}">synthetic {escape(result.treated)}</text>'
    )

    gaps = path.get_column("gap").to_list()
    placebo_gaps = _drawn_placebos(result)
    hidden = (
        result.placebos.get_column("unit").n_unique() - placebo_gaps.get_column("unit").n_unique()
    )
    all_gaps = [v for v in gaps if v is not None and math.isfinite(v)]
    all_gaps += [
        v for v in placebo_gaps.get_column("gap").drop_nulls().to_list() if math.isfinite(v)
    ]
    y2 = panel(
        *_PANELS[1],
        min([*all_gaps, 0.0]),
        max([*all_gaps, 0.0]),
        "gap (actual − synthetic); placebos in grey"
        + (f" ({hidden} with a poor pre-period fit not drawn)" if hidden else ""),
    )
    for _, rows in placebo_gaps.group_by("unit", maintain_order=True):
        line(
            [
                (x(t), y2(v) if v is not None else None)
                for t, v in zip(rows["time"].to_list(), rows["gap"].to_list(), strict=True)
            ],
            _GREY,
            1.0,
        )
    parts.append(
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y2(0):.1f}" y2="{y2(0):.1f}" stroke="#444"/>'
    )
    line(
        [(x(t), y2(v) if v is not None else None) for t, v in zip(times, gaps, strict=True)],
        _ACTUAL,
        2.5,
    )
    title = f"Synthetic control for {result.treated} from {result.start}"
    desc = (
        f"Pre-period RMSPE {result.rmspe_pre:.3g}, post-period RMSPE {result.rmspe_post:.3g}, "
        f"ratio {result.ratio:.3g}, placebo p-value {result.p_value:.3g}, average gap from "
        f"{result.start} {result.average_gap:.3g}."
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="12" role="img" '
        f'aria-labelledby="title desc"><title id="title">{escape(title)}</title>'
        f'<desc id="desc">{escape(desc)}</desc><rect width="100%" height="100%" fill="white"/>'
        + "".join(parts)
        + f'<text x="{_LEFT}" y="{_H - 12}" fill="#444">{escape(desc)}</text></svg>\n'
    )


def _drawn_placebos(result: SynthResult) -> pl.DataFrame:
    """The placebo paths whose pre-period MSPE is at most :data:`FIT_MULTIPLE` times the
    treated unit's."""
    limit = math.sqrt(FIT_MULTIPLE) * result.rmspe_pre
    good = result.placebo_ratios.filter(~pl.col("treated") & (pl.col("rmspe_pre") <= limit))
    return result.placebos.filter(pl.col("unit").is_in(good.get_column("unit").implode()))


def _path_html(result: SynthResult) -> str:
    """The path and the gaps as an interactive plotly page with plotly.js inside."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=(
            f"{result.outcome}: {result.treated} and its synthetic control",
            "Gap (actual − synthetic); placebos with a comparable pre-period fit in grey",
        ),
    )
    path = result.path
    times = path.get_column("time").to_list()
    fig.add_trace(
        go.Scatter(
            x=times,
            y=path["treated"].to_list(),
            name=result.treated,
            line={"color": _ACTUAL, "width": 3},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=times,
            y=path["synthetic"].to_list(),
            name=f"synthetic {result.treated}",
            line={"color": _SYNTH, "width": 3, "dash": "dash"},
        ),
        row=1,
        col=1,
    )
    for (unit,), rows in _drawn_placebos(result).group_by("unit", maintain_order=True):
        fig.add_trace(
            go.Scatter(
                x=rows["time"].to_list(),
                y=rows["gap"].to_list(),
                name=str(unit),
                line={"color": _GREY, "width": 1},
                showlegend=False,
                hovertemplate=f"{escape(str(unit))}: %{{y:.3g}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=times,
            y=path["gap"].to_list(),
            name=f"gap {result.treated}",
            line={"color": _ACTUAL, "width": 3},
            showlegend=False,
        ),
        row=2,
        col=1,
    )
    for row in (1, 2):
        fig.add_vline(x=result.start - 0.5, line_dash="dot", line_color="#444", row=row, col=1)
    fig.update_layout(
        template="plotly_white",
        height=760,
        title=(
            f"Synthetic control for {result.treated} from {result.start}: RMSPE before "
            f"{result.rmspe_pre:.3g}, placebo p-value {result.p_value:.3g}"
        ),
    )
    html: str = fig.to_html(include_plotlyjs=True, full_html=True)
    return html
