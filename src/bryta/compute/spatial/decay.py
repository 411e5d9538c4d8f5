"""Distance-decay weights for bespoke neighbourhoods.

A decay gives each person in a k-nearest-neighbour context a weight ``w(d)`` by the distance
``d`` (metres) from the origin cell to the person's cell; the *decayed* group counts of a
context are the weighted sums. Which people are in the context does not depend on the decay:
the k nearest are chosen first, exactly as without it, and the crossing ring's fraction is
weighted like the rest (the convention of ``equipop``'s decayed totals ``ND_k``/``TD_<v>_k``).

Three forms, each with a scale ``s`` (metres, > 0):

* ``exponential`` (negative exponential): ``w(d) = exp(−d / s)``; the weight halves every
  ``s · ln 2`` metres.
* ``gaussian``: ``w(d) = exp(−½ (d / s)²)``; ``s`` is the kernel's standard deviation, the
  weight is ½ at ``s · √(2 ln 2)`` ≈ 1.177 s.
* ``power``: ``w(d) = (1 + d / s)^(−p)`` with exponent ``p`` > 0; the weight is ½ at
  ``s · (2^(1/p) − 1)``. With ``s = 1`` this is ``equipop``'s ``(d + 1)^β``, ``β = −p``.

All weights are 1 at distance 0 and fall monotonically. ``equipop``'s ``negexp``
``exp(β d)`` is ``exponential`` with ``s = −1/β``; its ``expnormal`` ``exp(β d²)`` is
``gaussian`` with ``s = 1 / √(−2β)``. :meth:`Decay.half_at` builds a decay from the distance
at which a neighbour counts half (equipop's "half-probability" calibration).

The own cell's people are at distance 0 and get weight 1 unless ``own_distance`` is set,
e.g. to the mean distance from a square cell's centre to a point spread evenly in it,
0.3826 × the cell side (equipop's default ``self_potential = 1`` for decay).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bryta.errors import InputError

Kind = Literal["exponential", "gaussian", "power"]
KINDS: tuple[str, ...] = ("exponential", "gaussian", "power")

__all__ = ["Decay"]


@dataclass(frozen=True)
class Decay:
    """A distance-decay function: ``kind``, ``scale`` (metres) and, for ``power``, the
    ``exponent``. See the module docstring for the formulas.

    >>> Decay("exponential", 1000.0).weight(np.array([0.0, 1000.0])).round(4).tolist()
    [1.0, 0.3679]
    >>> Decay.half_at("gaussian", 500.0).weight(np.array([500.0])).round(12).tolist()
    [0.5]
    """

    kind: Kind
    scale: float
    exponent: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"decay must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise InputError(f"the decay scale must be a positive distance, not {self.scale!r}")
        if not (math.isfinite(self.exponent) and self.exponent > 0):
            raise InputError(f"the decay exponent must be positive, not {self.exponent!r}")

    def weight(self, d: np.ndarray) -> np.ndarray:
        """w(d) for distances ``d`` (metres)."""
        u = np.asarray(d, dtype=np.float64) / self.scale
        if self.kind == "exponential":
            return np.exp(-u)
        if self.kind == "gaussian":
            return np.exp(-0.5 * u * u)
        return (1.0 + u) ** (-self.exponent)

    @classmethod
    def half_at(cls, kind: Kind, distance: float, exponent: float = 1.0) -> Decay:
        """The decay of this kind whose weight is ½ at ``distance`` metres."""
        if not (math.isfinite(distance) and distance > 0):
            raise InputError(f"the half-weight distance must be positive, not {distance!r}")
        if kind == "exponential":
            return cls(kind, distance / math.log(2.0))
        if kind == "gaussian":
            return cls(kind, distance / math.sqrt(2.0 * math.log(2.0)))
        if kind == "power":
            return cls(kind, distance / (2.0 ** (1.0 / exponent) - 1.0), exponent)
        raise InputError(f"decay must be one of {', '.join(KINDS)}, not {kind!r}")

    @classmethod
    def parse(cls, text: str) -> Decay:
        """``KIND:SCALE`` or ``power:SCALE:EXPONENT`` (the CLI's ``--decay``), e.g.
        ``exponential:2000``, ``gaussian:800``, ``power:100:2``."""
        parts = [p.strip() for p in str(text).split(":")]
        kind = parts[0].lower()
        if kind not in KINDS or len(parts) not in (2, 3) or (len(parts) == 3) != (kind == "power"):
            raise InputError(
                f"--decay must be exponential:SCALE, gaussian:SCALE or "
                f"power:SCALE:EXPONENT (metres), not {text!r}"
            )
        try:
            numbers = [float(p) for p in parts[1:]]
        except ValueError:
            raise InputError(f"--decay {text!r}: the scale and exponent must be numbers") from None
        return cls(kind, *numbers)  # type: ignore[arg-type]
