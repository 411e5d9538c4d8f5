"""Small helpers for the hand-made SVG charts the evaluation commands write beside their
tables (for reports: no JavaScript, no dependency)."""

from __future__ import annotations

import math


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
