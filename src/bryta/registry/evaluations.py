"""Evaluation records: what an evaluation of an intervention found, and how strong the evidence
is (docs/evaluation.md, "Results in the registry").

An :class:`EvaluationRecord` holds one estimate of an intervention's effect on one outcome:
the design, the estimate with its standard error and 95 % interval, the minimum detectable
effect (MDE), the placebo p-value when placebos were run, the sizes, the years covered and
the data it came from. Its ``evidence_level`` is derived by :func:`evidence_level`, a pure
function of those numbers, never typed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bryta.registry.validation import RegistryError


class Design(StrEnum):
    """How the estimate was made."""

    DID = "did"  # staggered difference-in-differences (Callaway–Sant'Anna)
    SYNTH = "synth"  # synthetic control
    TWFE = "twfe"  # two-way fixed effects regression


class EvidenceLevel(StrEnum):
    EFFECTIVE = "effective"
    PROMISING = "promising"
    NO_DETECTABLE_EFFECT = "no_detectable_effect"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


#: Fewer treated units than this and no estimate is evidence of anything.
MIN_TREATED = 5
#: The placebo p-value an effective result must be below.
PLACEBO_LEVEL = 0.05


def evidence_level(
    *,
    estimate: float,
    ci_low: float | None,
    ci_high: float | None,
    mde: float | None,
    n_treated: int,
    direction: int | None,
    meaningful: float | None,
    placebo_p: float | None = None,
    pre_trend: bool | None = None,
) -> EvidenceLevel:
    """The evidence level of one estimate, by this rule (checked in this order):

    1. ``insufficient_evidence`` when the design is not credible: fewer than
       :data:`MIN_TREATED` treated units, a pre-trend flagged (``pre_trend`` True: the
       placebo in time found an effect before the start), or no interval or no MDE.
    2. When the 95 % interval excludes zero:

       * no intended ``direction`` (+1: the intervention means to raise the outcome, −1: to
         lower it; None: not stated) → ``insufficient_evidence`` (an effect, but nobody said
         which way would be success);
       * on the intended side → ``effective`` if the placebo checks were run and passed
         (``placebo_p`` < :data:`PLACEBO_LEVEL` and ``pre_trend`` False), else ``promising``
         (an analytic interval alone does not make a design credible);
       * on the other side → ``no_detectable_effect`` (no effect in the intended direction;
         as in CrimeSolutions' "no effects", this includes a harmful one: read the estimate).

    3. When the interval includes zero:

       * the estimate lies on the intended side and is at least half the MDE →
         ``promising`` (an effect of that size is within reach of the design; a larger or
         longer study could confirm it);
       * else, the MDE is at most the smallest ``meaningful`` effect (so a meaningful effect
         would most likely, with 80 % power, have been seen) → ``no_detectable_effect``;
       * else → ``insufficient_evidence`` (the design could not have seen a meaningful
         effect, or no meaningful effect was stated).

    >>> evidence_level(estimate=2.0, ci_low=1.0, ci_high=3.0, mde=1.5, n_treated=20,
    ...                direction=1, meaningful=1.0, placebo_p=0.01, pre_trend=False)
    <EvidenceLevel.EFFECTIVE: 'effective'>
    >>> evidence_level(estimate=0.1, ci_low=-0.4, ci_high=0.6, mde=0.7, n_treated=20,
    ...                direction=1, meaningful=1.0)
    <EvidenceLevel.NO_DETECTABLE_EFFECT: 'no_detectable_effect'>
    """
    insufficient = EvidenceLevel.INSUFFICIENT_EVIDENCE
    numbers = (estimate, ci_low, ci_high, mde)
    if any(x is None or not math.isfinite(x) for x in numbers):
        return insufficient
    assert ci_low is not None and ci_high is not None and mde is not None
    if n_treated < MIN_TREATED or pre_trend is True:
        return insufficient
    if direction not in (None, 1, -1):
        raise ValueError(f"direction must be 1, -1 or None, not {direction!r}")
    excludes_zero = ci_low > 0 or ci_high < 0
    if excludes_zero:
        if direction is None:
            return insufficient
        if (ci_low > 0) == (direction > 0):
            checked = placebo_p is not None and placebo_p < PLACEBO_LEVEL and pre_trend is False
            return EvidenceLevel.EFFECTIVE if checked else EvidenceLevel.PROMISING
        return EvidenceLevel.NO_DETECTABLE_EFFECT
    if direction is not None and estimate * direction > 0 and abs(estimate) >= mde / 2:
        return EvidenceLevel.PROMISING
    if meaningful is not None and meaningful > 0 and mde <= meaningful:
        return EvidenceLevel.NO_DETECTABLE_EFFECT
    return insufficient


@dataclass(frozen=True, kw_only=True)
class EvaluationRecord:
    """One evaluation of an intervention (see the module text).

    ``outcome`` is an indicator id; ``aggregation`` which overall estimate (``simple``, …);
    ``first_year``–``last_year`` the years of data covered; ``provenance`` where the data
    came from (``datasets``: the warehouse datasets with their checksums, or ``"bundled"``;
    ``bryta``: the version) and the inputs of the evidence rule. ``evidence_level`` is
    derived when the record is stored; ``id`` and ``created_at`` are set by the registry.
    """

    design: Design
    outcome: str
    aggregation: str
    estimate: float
    se: float | None
    ci_low: float | None
    ci_high: float | None
    mde: float | None
    n_treated: int
    n_control: int
    first_year: int
    last_year: int
    placebo_p: float | None = None
    pre_trend: bool | None = None
    direction: int | None = None
    meaningful: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    evidence_level: EvidenceLevel | None = None
    id: int | None = None
    intervention_id: int | None = None
    created_at: datetime | None = None

    def derived_level(self) -> EvidenceLevel:
        """:func:`evidence_level` of this record's numbers."""
        return evidence_level(
            estimate=self.estimate,
            ci_low=self.ci_low,
            ci_high=self.ci_high,
            mde=self.mde,
            n_treated=self.n_treated,
            direction=self.direction,
            meaningful=self.meaningful,
            placebo_p=self.placebo_p,
            pre_trend=self.pre_trend,
        )


def check_evaluation(record: EvaluationRecord) -> EvaluationRecord:
    """``record`` checked (a :class:`RegistryError` naming the field otherwise)."""
    problems: list[str] = []
    try:
        Design(record.design)
    except ValueError:
        problems.append(f"design must be did, synth or twfe, not {record.design!r}")
    if not record.outcome:
        problems.append("outcome is required")
    if not math.isfinite(record.estimate):
        problems.append(f"estimate must be a number, not {record.estimate!r}")
    for name in ("se", "mde"):
        value = getattr(record, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            problems.append(f"{name} must be a number ≥ 0, not {value!r}")
    if (
        record.ci_low is not None
        and record.ci_high is not None
        and not record.ci_low <= record.ci_high
    ):
        problems.append(f"ci_low {record.ci_low} is above ci_high {record.ci_high}")
    if record.placebo_p is not None and not 0 <= record.placebo_p <= 1:
        problems.append(f"placebo_p must be between 0 and 1, not {record.placebo_p!r}")
    for name in ("n_treated", "n_control"):
        if getattr(record, name) < 0:
            problems.append(f"{name} must not be negative")
    if record.last_year < record.first_year:
        problems.append(f"last_year {record.last_year} is before first_year {record.first_year}")
    if record.direction not in (None, 1, -1):
        problems.append(f"direction must be 1, -1 or empty, not {record.direction!r}")
    if problems:
        raise RegistryError("evaluation: " + "; ".join(problems))
    return record
