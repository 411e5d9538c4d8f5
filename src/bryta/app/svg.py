"""Small helpers for the hand-made SVG charts the evaluation commands write beside their
tables (for reports: no JavaScript), and :func:`svg_to_png`, which renders such a chart as the
PNG written beside it."""

from __future__ import annotations

import math
from collections.abc import Callable


def axis_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (steps of 1, 2, 2.5 or 5 × a power of ten) from ``lo``
    to ``hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def tick_label(x: float) -> str:
    """A tick value as written on an axis: no trailing noise, three digits below one."""
    return f"{x:.10g}" if abs(x) >= 1 or x == 0 else f"{x:.3g}"


def value_axis(
    left: float, right: float, top: float, bottom: float, lo: float, hi: float
) -> tuple[list[str], Callable[[float], float]]:
    """A plot frame from ``left`` to ``right`` and ``top`` to ``bottom`` whose y axis spans
    ``lo``–``hi`` padded by 5 % (1 when they are equal), with grey grid lines and labels at
    round ticks. Returns the SVG elements and the map from a value to its y coordinate."""
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad

    def y(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [
        f'<rect x="{left}" y="{top}" width="{right - left}" '
        f'height="{bottom - top}" fill="none" stroke="#444"/>'
    ]
    for tick in axis_ticks(lo, hi):
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#e5e5e5"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick_label(tick)}</text>'
        )
    return parts, y


# ---- PNG for reports ---------------------------------------------------------------------------

#: PNG pixels per SVG unit: a 680 × 380 figure becomes 1360 × 760 pixels, sharp in print.
PNG_SCALE = 2.0


class PngUnavailable(RuntimeError):
    """The SVG renderer (``vl-convert-python``) cannot be loaded."""


def svg_to_png(svg: str, scale: float = PNG_SCALE) -> bytes:
    """``svg`` rendered as PNG, ``scale`` pixels per SVG unit, by ``vl_convert.svg_to_png``
    (vl-convert-python, BSD-3-Clause: resvg inside, Liberation fonts bundled, so the text
    renders the same on a machine without fonts). The PNG is rendered from the very SVG
    written beside it, so the two figures are identical.

    Raises:
        PngUnavailable: the renderer is not installed (or its library cannot be loaded).
    """
    try:
        import vl_convert
    except ImportError as exc:
        raise PngUnavailable(
            f"the SVG renderer vl-convert-python cannot be loaded ({exc}); install it "
            "(uv sync, or pip install vl-convert-python) to get PNG figures"
        ) from None
    return bytes(vl_convert.svg_to_png(svg, scale=scale))


def png_or_note(svg: str, path: object, scale: float = PNG_SCALE) -> tuple[bytes | None, str]:
    """(the PNG of ``svg``, "") or, when the renderer is missing, (None, one line naming
    ``path`` and saying why it was not written)."""
    try:
        return svg_to_png(svg, scale), ""
    except PngUnavailable as exc:
        return None, f"{path}: PNG not written: {exc}"
