"""Placebo inference and power for staggered difference-in-differences.

Three checks that come with every Callaway & Sant'Anna estimate (:mod:`.did`):

* **Placebo in space.** Pseudo-treatments are drawn among the *never-treated* units only, with
  the real design's cohort structure: as many pseudo-treated units per cohort as the real
  design has, as long as at least as many never-treated units are left as comparison units;
  otherwise the cohorts are scaled down in proportion until the never-treated pool is split in
  half (then the placebo design is noisier than the real one and the minimum detectable effect
  errs on the large side; a warning says so). The real treated units take no part. The same
  estimator (control group, method, covariates) and the same aggregations are computed on each
  draw; since no unit in the draws was treated, their spread is the noise of the design. The
  placebo p-value of the real overall estimate is the two-sided rank
  ``(1 + #{r : |placebo_r| ≥ |estimate|}) / (R + 1)``.

  Without covariates the 2×2 comparisons are differences of cohort means, so all draws are
  computed at once: per block of draws one matrix product of the pseudo-cohort indicators with
  the outcome matrix gives every cohort's mean per period, and the ATT(g,t) and the four
  aggregations are fixed linear maps of those means (the aggregation weights depend on the
  cohort sizes only, which are the same in every draw). With sampling weights the means are
  weighted (sums of weight × outcome over sums of weight) and the cohort shares, summed
  weights, differ by draw; with an unbalanced panel the sums run over the rows observed in
  each period (the repeated cross-section estimator without covariates is that difference of
  means); anticipation and the base period only change which periods each ATT(g,t)
  compares and which units are not yet treated. With covariates each draw calls the
  estimator's own group-time and aggregation functions on the never-treated units' arrays,
  with the same options. Either way each draw's estimates are those :func:`.did.did` gives
  on the never-treated units with the draw's pseudo-cohorts.

* **Placebo in time.** Each treated cohort g is given a pretended start ``shift`` periods
  early, and only the periods before its real start are used, so no treated outcome enters.
  The group-time effects from the pretended start to the last period before the real one are
  estimated against the same comparison units (never-treated; with ``control="notyet"`` also
  the units starting after g, untreated in all those periods) and aggregated like ``simple``
  (cohorts weighted by size), per cohort and per period since the pretended start, with
  analytic standard errors clustered by unit (including the term for the estimated cohort
  weights). An effect there is a difference in trends *before* the treatment: a pre-trend.
  Cohorts with fewer than ``shift + 1`` periods before their start are left out (a warning).
  With ``anticipation`` K the periods from g − K on may already react and are not used: the
  pretended start is ``shift`` periods before g − K.

* **Minimum detectable effect** (MDE) at 80 % power and a 5 % two-sided level, per
  aggregation, from the placebo distribution θ_1…θ_R:

  - *normal*: ``(z_0.975 + z_0.80) · sd(θ)`` = 2.80 · sd(θ), exact when θ is normal;
  - *empirical*: the shift δ of the placebo distribution for which 80 % of the shifted draws
    lie beyond the 95 % quantile c of |θ|: ``max(c − q_0.20(θ), c + q_0.80(θ))`` (the harder
    of a positive and a negative effect).

  The reported MDE (:attr:`PlaceboResult.mde` and the sentence) is the **larger of the two**:
  the normal one is stable with a few hundred draws, the empirical one is right when the
  placebo distribution has heavy tails (small areas with volatile rates); taking the larger
  never claims more power than either supports. ``mde_analytic`` = 2.80 · the real estimate's
  analytic standard error is given beside them for comparison.

The draws come from ``numpy.random.default_rng(seed)``: the same seed gives the same draws.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl

from bryta.compute.evaluation.did import (
    COLUMNS,
    BasePeriod,
    Control,
    Method,
    _aggregate,
    _analytic_se,
    _att_gt,
    _Panel,
    _prepare,
    _wif,
    _z,
    did,
)
from bryta.compute.progress import Progress
from bryta.errors import InputError

__all__ = ["OVERALL", "PlaceboResult", "placebo"]

#: The overall aggregations a placebo distribution is drawn for, in order.
OVERALL = ("simple", "group", "dynamic", "calendar")
POWER = 0.80
LEVEL = 0.05
_BLOCK = 100  # placebo draws per matrix product
#: (z_0.975 + z_0.80): the MDE in standard errors at 80 % power and a 5 % two-sided level.
MDE_FACTOR = NormalDist().inv_cdf(1 - LEVEL / 2) + NormalDist().inv_cdf(POWER)


@dataclass(frozen=True)
class PlaceboResult:
    """What :func:`placebo` returns.

    Attributes:
        in_space: one row per overall aggregation (:data:`OVERALL`): ``aggregation``, the real
            ``estimate`` and its analytic ``se``, ``placebo_mean``, ``placebo_sd``,
            ``p_value`` (two-sided rank among the draws), ``mde`` (the reported one: the
            larger of the next two), ``mde_normal``, ``mde_empirical``, ``mde_analytic``.
        draws: the placebo distribution, long: ``draw`` (1…R), ``aggregation``, ``estimate``.
        in_time: the pre-trend check in the layout of :data:`.did.COLUMNS`: ``simple`` (the
            overall row), ``group`` (per real cohort) and ``dynamic`` (per period since the
            pretended start, ``event_time`` 0…shift − 1) rows; ``group`` is the real cohort,
            the pretended start is ``group − shift`` periods. Empty when no cohort has
            ``shift + 1`` periods before its start.
        n_draws, seed: the draws.
        treated: the real design's treated units per cohort; ``placebo_treated``: the
            pseudo-treated units per cohort in each draw.
        n_never_treated: the never-treated units the draws are made among; ``n_controls``:
            those left as comparison units in each draw.
        pre_periods: per cohort the number of periods before its start.
        shift: how many periods early the placebo in time pretends the start.
        mde, mde_basis: the reported minimum detectable effect of the ``simple`` aggregate
            and which version it is (``"normal"`` or ``"empirical"``).
        p_value: the placebo p-value of the real ``simple`` estimate.
        sentence: the MDE in words.
        seconds: the time the placebo draws took.
        warnings: what the caller should know.
    """

    in_space: pl.DataFrame
    draws: pl.DataFrame
    in_time: pl.DataFrame
    n_draws: int
    seed: int | None
    treated: dict[int, int]
    placebo_treated: dict[int, int]
    n_never_treated: int
    n_controls: int
    pre_periods: dict[int, int]
    shift: int
    mde: float
    mde_basis: str
    p_value: float
    sentence: str
    seconds: float
    warnings: tuple[str, ...] = ()

    def table(self) -> pl.DataFrame:
        """One long table of both checks, as ``bryta evaluate did --placebos`` writes it:
        ``test`` (``in_space`` or ``in_time``), the :data:`.did.COLUMNS`, and
        ``placebo_mean``, ``placebo_sd``, ``p_value``, ``mde``, ``mde_normal``,
        ``mde_empirical``, ``mde_analytic``, ``draws`` (empty where they do not apply)."""
        space = self.in_space.with_columns(
            pl.lit("in_space").alias("test"),
            pl.lit(None, pl.Int64).alias("group"),
            pl.lit(None, pl.Int64).alias("time"),
            pl.lit(None, pl.Int64).alias("event_time"),
            pl.lit(None, pl.Float64).alias("ci_low"),
            pl.lit(None, pl.Float64).alias("ci_high"),
            pl.lit(self.n_draws, pl.Int64).alias("draws"),
        )
        extra = [
            "placebo_mean",
            "placebo_sd",
            "p_value",
            "mde",
            "mde_normal",
            "mde_empirical",
            "mde_analytic",
        ]
        in_time = self.in_time.with_columns(
            pl.lit("in_time").alias("test"),
            *(pl.lit(None, pl.Float64).alias(c) for c in extra),
            pl.lit(None, pl.Int64).alias("draws"),
        )
        order = ["test", *COLUMNS, *extra, "draws"]
        return pl.concat([space.select(order), in_time.select(order)])

    def summary(self) -> dict[str, Any]:
        """What a registry record needs: the MDE, the p-value, the sentence and the sizes."""
        return {
            "mde": self.mde,
            "mde_basis": self.mde_basis,
            "p_value": self.p_value,
            "sentence": self.sentence,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "treated": self.treated,
            "placebo_treated": self.placebo_treated,
            "n_never_treated": self.n_never_treated,
            "shift": self.shift,
            "in_space": self.in_space.to_dicts(),
            "in_time_simple": self.in_time.filter(pl.col("aggregation") == "simple").to_dicts(),
            "warnings": list(self.warnings),
        }


# --- the draws ------------------------------------------------------------------------------


def _placebo_counts(treated: np.ndarray, n_never: int, cohort: str) -> tuple[np.ndarray, str]:
    """Pseudo-treated units per cohort: the real counts, or scaled to half the pool."""
    n_cohorts = len(treated)
    needed = 2 * n_cohorts
    if n_never < needed:
        raise InputError(
            f"too few never-treated units for a placebo draw: {n_never} never-treated (0 or "
            f"empty in column {cohort!r}), at least {needed} needed for {n_cohorts} cohort(s) "
            "(one pseudo-treated unit per cohort and as many comparison units); run without "
            "--placebos or add never-treated units"
        )
    total = int(treated.sum())
    if n_never - total >= total:
        return treated.copy(), ""
    budget = n_never // 2
    raw = treated * budget / total
    counts = np.maximum(np.floor(raw).astype(int), 1)
    # largest remainders, keeping every cohort at one unit at least
    while counts.sum() < budget:
        counts[int(np.argmax(raw - counts))] += 1
    while counts.sum() > budget:
        counts[int(np.argmax(np.where(counts > 1, counts - raw, -np.inf)))] -= 1
    note = (
        f"only {n_never} never-treated units for {total} treated: each placebo draw has "
        f"{int(counts.sum())} pseudo-treated units instead of {total} (half the never-treated "
        "pool, cohorts scaled in proportion), so the placebo noise and the minimum detectable "
        "effect are larger than the real design's"
    )
    return counts, note


def _cells(
    periods: np.ndarray,
    cohorts: np.ndarray,
    control: Control,
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
) -> list[tuple[int, int, int, np.ndarray]]:
    """The (cohort index, period index, base index, comparison cohort mask) of every ATT(g,t),
    in the order :func:`.did._att_gt` computes them (with the same anticipation and base
    period); the mask has one entry per cohort plus the never-treated last. A cell whose
    period is its base (universal base period) is 0 by construction."""
    universal = base_period == "universal"
    out = []
    for h, g in enumerate(cohorts):
        g_base = int(np.flatnonzero(periods < g - anticipation)[-1])
        for j in range(0 if universal else 1, len(periods)):
            b = g_base if (periods[j] >= g or universal) else j - 1
            mask = np.zeros(len(cohorts) + 1, dtype=bool)
            mask[-1] = True
            if control == "notyet":
                edge = periods[max(j, b)] + anticipation
                mask[:-1] = (cohorts > edge) & (np.arange(len(cohorts)) != h)
            out.append((h, j, b, mask))
    return out


def _weights(group: np.ndarray, time: np.ndarray, share: dict[float, float]) -> np.ndarray:
    """K × 4: the overall simple, group, dynamic and calendar aggregates as linear maps of the
    K group-time effects, with the weights of :func:`.did._aggregate`."""
    pg = np.array([share[g] for g in group])
    post = group <= time
    w = np.zeros((len(group), 4))
    w[post, 0] = pg[post] / pg[post].sum()
    glist = np.unique(group)
    pg_group = np.array([share[g] for g in glist])
    for g, p in zip(glist, pg_group / pg_group.sum(), strict=True):
        k = post & (group == g)
        w[k, 1] = p / k.sum()
    event = time - group
    elist = np.unique(event[event >= 0])
    for e in elist:
        k = event == e
        w[k, 2] = pg[k] / pg[k].sum() / len(elist)
    tlist = np.unique(time[time >= glist.min()])
    for t in tlist:
        k = (time == t) & post
        w[k, 3] = pg[k] / pg[k].sum() / len(tlist)
    return w


def _labels(rng: np.random.Generator, pattern: np.ndarray, r: int) -> np.ndarray:
    """r × n labels: each row a random permutation of ``pattern``."""
    keys = rng.random((r, len(pattern)))
    return pattern[np.argsort(keys, axis=1)]


def _space_draws(
    panel: _Panel,
    cohorts: np.ndarray,
    counts: np.ndarray,
    control: Control,
    method: Method,
    draws: int,
    seed: int | None,
    progress: Progress | None,
    *,
    fast: bool,
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
) -> np.ndarray:
    """draws × 4 overall placebo estimates on the never-treated units ``panel`` (with its
    sampling weights and, for an unbalanced panel, the rows observed)."""
    n = panel.y.shape[0]
    n_c = len(cohorts)
    pattern = np.full(n, n_c)  # label n_c: comparison unit
    pattern[: int(counts.sum())] = np.repeat(np.arange(n_c), counts)
    rng = np.random.default_rng(seed)
    out = np.empty((draws, 4))
    cells = _cells(panel.periods, cohorts, control, anticipation, base_period)
    group = np.array([cohorts[h] for h, *_ in cells])
    time = np.array([panel.periods[j] for _, j, *_ in cells])
    w_unit = np.ones(n) if panel.weights is None else panel.weights
    fixed = None
    if panel.weights is None:  # the cohort shares are the same in every draw
        fixed = _weights(
            group, time, {float(g): c / n for g, c in zip(cohorts, counts, strict=True)}
        )
    observed = np.ones_like(panel.y) if panel.observed is None else panel.observed.astype(float)
    # per unit and period: weight × outcome and weight, 0 where the row is not observed
    wy = w_unit[:, None] * np.where(observed > 0, panel.y, 0.0)
    wo = w_unit[:, None] * observed
    for start in range(0, draws, _BLOCK):
        stop = min(start + _BLOCK, draws)
        labels = _labels(rng, pattern, stop - start)
        if fast:
            # sums[r, label, period] of weight × outcome, and of weight, over the rows observed:
            # every pseudo-cohort's (weighted) mean per period is their ratio
            member = np.stack([(labels == h) for h in range(n_c + 1)], axis=1).astype(float)
            sums = member @ wy
            mass = member @ wo
            att = np.empty((stop - start, len(cells)))
            with np.errstate(invalid="ignore", divide="ignore"):
                for k, (h, j, b, mask) in enumerate(cells):
                    if j == b:
                        att[:, k] = 0.0
                        continue
                    treat = sums[:, h, j] / mass[:, h, j] - sums[:, h, b] / mass[:, h, b]
                    comp = sums[:, mask, j].sum(axis=1) / mass[:, mask, j].sum(axis=1) - sums[
                        :, mask, b
                    ].sum(axis=1) / mass[:, mask, b].sum(axis=1)
                    att[:, k] = treat - comp
            if fixed is not None:
                out[start:stop] = att @ fixed
            else:  # weighted cohort shares differ from draw to draw
                unit_mass = member[:, :n_c, :] @ w_unit
                for i in range(stop - start):
                    share = {float(g): float(unit_mass[i, h]) / n for h, g in enumerate(cohorts)}
                    out[start + i] = att[i] @ _weights(group, time, share)
        else:
            for i, row in enumerate(labels):
                g_unit = np.where(row < n_c, cohorts[np.minimum(row, n_c - 1)], np.inf)
                fake = _Panel(
                    panel.units,
                    panel.periods,
                    panel.y,
                    g_unit,
                    panel.x,
                    0,
                    panel.weights,
                    panel.observed,
                )
                found = _att_gt(
                    fake, control, method, [], anticipation=anticipation, base_period=base_period
                )
                out[start + i] = [f.overall for f in _aggregate(found, g_unit, panel.weights)]
        if progress is not None:
            progress(stop - start)
    return out


# --- placebo in time ------------------------------------------------------------------------


def _in_time(
    data: _Panel,
    control: Control,
    method: Method,
    shift: int,
    alpha: float,
    anticipation: int = 0,
) -> tuple[pl.DataFrame, list[str]]:
    periods, g_unit = data.periods, data.cohort
    n = len(g_unit)
    cohorts = np.unique(g_unit[np.isfinite(g_unit)])
    notes: list[str] = []
    groups, times, events, atts, psis = [], [], [], [], []
    skipped = []
    for g in cohorts:
        # the periods before the start, less the anticipation window
        pre = np.flatnonzero(periods < g - anticipation)
        if len(pre) < shift + 1:
            skipped.append(int(g))
            continue
        fake_start = periods[pre[-shift]]
        treat = g_unit == g
        # later cohorts are untreated, and not yet anticipating, in every period used
        comp = ~np.isfinite(g_unit) if control == "never" else ~np.isfinite(g_unit) | (g_unit > g)
        sub = np.flatnonzero(treat | comp)
        fake = _Panel(
            [data.units[i] for i in sub],
            periods[pre],
            data.y[np.ix_(sub, pre)],
            np.where(treat[sub], fake_start, np.inf),
            data.x[pre][:, sub],
            0,
            None if data.weights is None else data.weights[sub],
            None if data.observed is None else data.observed[np.ix_(sub, pre)],
        )
        found = _att_gt(fake, "never", method, notes)
        keep = np.flatnonzero(found.time >= fake_start)
        for k in keep:
            psi = np.zeros(n)
            psi[sub] = found.psi[:, k] * n / len(sub)
            groups.append(g)
            times.append(found.time[k])
            events.append(found.time[k] - fake_start)
            atts.append(found.att[k])
            psis.append(psi)
    if skipped:
        notes.append(
            f"placebo in time: cohort(s) {', '.join(map(str, skipped))} have fewer than "
            f"{shift + 1} periods before the start and are left out"
        )
    schema = {
        "aggregation": pl.String,
        "group": pl.Int64,
        "time": pl.Int64,
        "event_time": pl.Int64,
        "estimate": pl.Float64,
        "se": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
    }
    if not groups:
        return pl.DataFrame(schema=schema), notes
    group, att = np.asarray(groups), np.asarray(atts)
    event = np.asarray(events)
    psi = np.column_stack(psis)
    w_unit = data.weights
    if w_unit is None:
        share = {g: float((g_unit == g).mean()) for g in cohorts}
    else:
        share = {g: float((w_unit * (g_unit == g)).mean()) for g in cohorts}
    pg = np.array([share[g] for g in group])
    rows: list[tuple[str, int | None, int | None, int | None, float, np.ndarray]] = []
    w = pg / pg.sum()
    simple_psi = psi @ w + _wif(group, pg, g_unit, att, w_unit)
    rows.append(("simple", None, None, None, float(att @ w), simple_psi))
    for g in np.unique(group):
        k = group == g
        rows.append(("group", int(g), None, None, float(att[k].mean()), psi[:, k].mean(axis=1)))
    for e in np.unique(event):
        k = event == e
        we = pg[k] / pg[k].sum()
        rows.append(
            (
                "dynamic",
                None,
                None,
                int(e),
                float(att[k] @ we),
                psi[:, k] @ we + _wif(group[k], pg[k], g_unit, att[k], w_unit),
            )
        )
    se = _analytic_se(np.column_stack([r[5] for r in rows]))
    z = _z(alpha)
    records = []
    for (agg, g_, t_, e_, est, _), s in zip(rows, se, strict=True):
        ok = bool(np.isfinite(s))
        records.append(
            {
                "aggregation": agg,
                "group": g_,
                "time": t_,
                "event_time": e_,
                "estimate": est,
                "se": float(s) if ok else None,
                "ci_low": est - z * s if ok else None,
                "ci_high": est + z * s if ok else None,
            }
        )
    return pl.DataFrame(records, schema=schema), notes


# --- the MDE --------------------------------------------------------------------------------


def _mde(theta: np.ndarray) -> tuple[float, float]:
    """(normal, empirical) minimum detectable effect from a placebo distribution."""
    finite = theta[np.isfinite(theta)]
    if len(finite) < 2:
        return float("nan"), float("nan")
    normal = MDE_FACTOR * float(np.std(finite, ddof=1))
    c = float(np.quantile(np.abs(finite), 1 - LEVEL))
    low, high = np.quantile(finite, [1 - POWER, POWER])
    return normal, max(c - float(low), c + float(high))


def _p_value(estimate: float, theta: np.ndarray) -> float:
    finite = theta[np.isfinite(theta)]
    if not np.isfinite(estimate) or not len(finite):
        return float("nan")
    return float((1 + np.sum(np.abs(finite) >= abs(estimate) - 1e-12)) / (len(finite) + 1))


def _periods_text(pre: dict[int, int]) -> str:
    low, high = min(pre.values()), max(pre.values())
    if low == high:
        return f"{low} period{'s' if low != 1 else ''} before the start"
    return f"{low}–{high} periods before the start (by cohort)"


def _number(x: float) -> str:
    if not np.isfinite(x):
        return "NaN"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


# --- the entry point ------------------------------------------------------------------------


def placebo(
    panel: Any,
    *,
    unit: str,
    time: str,
    outcome: str,
    cohort: str,
    control: Control = "never",
    method: Method = "dr",
    covariates: Sequence[str] | None = None,
    draws: int = 200,
    seed: int | None = None,
    shift: int = 1,
    alpha: float = 0.05,
    progress: Progress | None = None,
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
    weights: str | None = None,
    allow_unbalanced: bool = False,
) -> PlaceboResult:
    """Placebo in space and in time and the minimum detectable effect of a staggered design.

    Args:
        panel, unit, time, outcome, cohort, control, method, covariates, anticipation,
            base_period, weights, allow_unbalanced: as for :func:`.did.did`; the placebos use
            the same estimator with the same options (each placebo draw's estimates are those
            :func:`.did.did` gives on the never-treated units with the pseudo-cohorts).
        draws: placebo draws among the never-treated units (R).
        seed: seed of the draws (same seed, same result).
        shift: the placebo in time pretends each cohort started this many periods early.
        alpha: 1 − the level of the in-time intervals.
        progress: called with the draws just finished; total ``draws``.

    Returns:
        A :class:`PlaceboResult`.

    Raises:
        InputError: everything :func:`.did.did` refuses; fewer than two never-treated units
            per cohort; ``draws`` or ``shift`` below 1.
    """
    if draws < 1:
        raise InputError(f"the number of placebo draws must be 1 or more, not {draws}")
    if shift < 1:
        raise InputError(f"the placebo shift must be 1 period or more, not {shift}")
    covs = tuple(covariates or ())
    options: dict[str, Any] = {
        "anticipation": anticipation,
        "base_period": base_period,
        "weights": weights,
        "allow_unbalanced": allow_unbalanced,
    }
    real = did(
        panel,
        unit=unit,
        time=time,
        outcome=outcome,
        cohort=cohort,
        control=control,
        method=method,
        covariates=covs,
        alpha=alpha,
        **options,
    )
    data = _prepare(
        panel,
        unit=unit,
        time=time,
        outcome=outcome,
        cohort=cohort,
        covariates=covs,
        weights=weights,
        allow_unbalanced=allow_unbalanced,
        anticipation=anticipation,
    )
    g_unit = data.cohort
    never = ~np.isfinite(g_unit)
    cohorts = np.unique(g_unit[~never])
    treated = np.array([int((g_unit == g).sum()) for g in cohorts])
    notes: list[str] = []
    if not never.any():
        raise InputError(
            f"no never-treated units (0 or empty in column {cohort!r}) to draw placebos from; "
            "run without --placebos"
        )
    counts, note = _placebo_counts(treated, int(never.sum()), cohort)
    if note:
        notes.append(note)
    idx = np.flatnonzero(never)
    pool = _Panel(
        [data.units[i] for i in idx],
        data.periods,
        data.y[idx],
        g_unit[idx],
        data.x[:, idx],
        0,
        None if data.weights is None else data.weights[idx],
        None if data.observed is None else data.observed[idx],
    )
    start = _time.perf_counter()
    theta = _space_draws(
        pool,
        cohorts,
        counts,
        control,
        method,
        draws,
        seed,
        progress,
        fast=not covs,
        anticipation=anticipation,
        base_period=base_period,
    )
    seconds = _time.perf_counter() - start
    real_overall = {
        agg: (est, se)
        for agg, est, se in real.overall.select("aggregation", "estimate", "se").rows()
    }
    rows = []
    for i, agg in enumerate(OVERALL):
        est, se = real_overall[agg]
        normal, empirical = _mde(theta[:, i])
        rows.append(
            {
                "aggregation": agg,
                "estimate": est,
                "se": se,
                "placebo_mean": float(np.nanmean(theta[:, i])),
                "placebo_sd": float(np.nanstd(theta[:, i], ddof=1)) if draws > 1 else None,
                "p_value": _p_value(est, theta[:, i]),
                "mde": max(normal, empirical),
                "mde_normal": normal,
                "mde_empirical": empirical,
                "mde_analytic": MDE_FACTOR * se if se is not None else None,
            }
        )
    in_space = pl.DataFrame(rows, schema_overrides={"se": pl.Float64, "mde_analytic": pl.Float64})
    in_time, time_notes = _in_time(data, control, method, shift, alpha, anticipation)
    notes.extend(time_notes)
    simple = rows[0]
    mde = float(simple["mde"])
    basis = "empirical" if simple["mde_empirical"] > simple["mde_normal"] else "normal"
    pre = {int(g): int((data.periods < g - anticipation).sum()) for g in cohorts}
    n_treated = int(treated.sum())
    sentence = (
        f"With {n_treated} treated unit{'s' if n_treated != 1 else ''} and "
        f"{_periods_text(pre)}, effects smaller than {_number(mde)} (in the units of "
        f"{outcome!r}, on the simple average over treated unit-periods) cannot be told from "
        f"noise: that is the smallest effect found with {POWER * 100:.0f} % power at the "
        f"{LEVEL * 100:.0f} % level (two-sided), from {draws} placebo draws among "
        f"{int(never.sum())} never-treated units."
    )
    frame_draws = pl.DataFrame(
        {
            "draw": np.repeat(np.arange(1, draws + 1), len(OVERALL)),
            "aggregation": np.tile(np.array(OVERALL), draws),
            "estimate": theta.ravel(),
        }
    )
    return PlaceboResult(
        in_space=in_space,
        draws=frame_draws,
        in_time=in_time,
        n_draws=draws,
        seed=seed,
        treated={int(g): int(c) for g, c in zip(cohorts, treated, strict=True)},
        placebo_treated={int(g): int(c) for g, c in zip(cohorts, counts, strict=True)},
        n_never_treated=int(never.sum()),
        n_controls=int(never.sum() - counts.sum()),
        pre_periods=pre,
        shift=shift,
        mde=mde,
        mde_basis=basis,
        p_value=float(simple["p_value"]),
        sentence=sentence,
        seconds=seconds,
        warnings=tuple(dict.fromkeys([*real.warnings, *notes])),
    )
