"""Did areas with an intervention develop differently from comparable areas?

``bryta.evaluate.did(…)`` runs the staggered difference-in-differences design,
``bryta.evaluate.twfe_event_study(…)`` the two-way fixed effects event study shown beside it
for comparison,
``bryta.evaluate.placebo(…)`` its placebo checks (in space and in time) and the minimum
detectable effect, and ``bryta.evaluate.synthetic_control(…)`` the synthetic control method;
all return result objects holding polars frames. The designs, what they assume and how to read them:
``docs/evaluation.md``. The functions live in :mod:`bryta.compute.evaluation` and are imported
on first use, so ``import bryta.evaluate`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "did": "bryta.compute.evaluation.did",
    "DidResult": "bryta.compute.evaluation.did",
    "twfe_event_study": "bryta.compute.evaluation.twfe",
    "TwfeEventStudy": "bryta.compute.evaluation.twfe",
    "placebo": "bryta.compute.evaluation.placebo",
    "PlaceboResult": "bryta.compute.evaluation.placebo",
    "synthetic_control": "bryta.compute.evaluation.synth",
    "SynthResult": "bryta.compute.evaluation.synth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bryta.evaluate' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
