"""The synthetic control method (Abadie, Diamond & Hainmueller 2010) for one treated unit.

One area (or kommun) started an intervention in period ``start``; the others did not. The
synthetic control is the weighted average of the untreated units (the *donors*), with weights
W ≥ 0 summing to 1, that best reproduces the treated unit before ``start``; after ``start`` the
gap between the treated unit and its synthetic control estimates the effect.

How W is chosen, as in Synth (R) and synth (Stata):

* **Predictors.** Each predictor is a column summarised over pre-periods, given as a spec:
  ``NAME:FROM-TO`` (the mean over those periods, missing values left out) or ``NAME:PERIOD``
  (the value in that period). Every predictor is divided by its standard deviation over the
  treated unit and the donors, so its unit of measurement does not matter.
* **Donor weights for given predictor weights.** For a diagonal V ≥ 0, W(V) minimises
  (X₁ − X₀W)ᵀ V (X₁ − X₀W) on the simplex: a quadratic programme solved exactly by Wolfe's
  nearest-point algorithm (:mod:`._synth_kernels`).
* **Predictor weights.** V is chosen to minimise the outcome's mean squared prediction error
  over all pre-periods, MSPE(V) = mean_t (Y₁ₜ − Y₀ₜ W(V))². This nested problem has many
  local minima, so it is searched from several starts — equal weights, Synth's regression
  start (the squared coefficients of the pre-period outcomes regressed on the standardised
  predictors) and ``n_starts`` random points — by Nelder–Mead over log V, and the best is
  kept (then searched once more from there). Each predictor weight is kept at least
  ``v_floor`` (1/10,000) times the largest: with smaller ratios the search can fit the
  pre-period outcome through the tie-breaking among donors that match one predictor exactly,
  which is overfitting, not a better synthetic control (on Proposition 99 it reaches an RMSPE
  of 1.66–1.69 with the predictors all but ignored; with the floor it finds the published 1.75).

Inference (ADH 2010, section 4):

* **In-space placebos**: every donor in turn is treated as if it had started in ``start``,
  with the other donors (never the treated unit) as its donor pool, and its post/pre RMSPE
  ratio computed. The p-value is the share of units, the treated one included, whose ratio is
  at least the treated unit's: with 38 donors the smallest possible is 1/39 ≈ 0.026.
* **Leave-one-out**: the synthetic control refitted without each donor with a positive
  weight (above one in a million), to see whether one donor drives the result.

Everything is deterministic: the random starts come from ``seed``, and the placebo fits, run
in parallel threads, each have their own seed and are collected in donor order.

Reference: Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for
comparative case studies: estimating the effect of California's tobacco control program.
Journal of the American Statistical Association 105(490), 493–505.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from bryta.compute._coerce import to_float, whole_if_possible
from bryta.compute.progress import Progress
from bryta.errors import InputError

__all__ = ["Predictor", "SynthResult", "parse_predictor", "synthetic_control"]

#: Each predictor weight is at least this share of the largest (see the module text).
V_FLOOR = 1e-4
#: Donors with at least this weight are left out in turn (leave-one-out).
LOO_MIN_WEIGHT = 1e-6
_MAX_EVAL = 1500
_XTOL = 1e-3
_FTOL = 1e-8
_SPEC = re.compile(r"^\s*(?P<name>.+?)\s*:\s*(?P<first>-?\d+)\s*(?:-\s*(?P<last>-?\d+)\s*)?$")


@dataclass(frozen=True)
class Predictor:
    """A predictor: ``column`` averaged over the periods ``first`` … ``last`` (one period
    when they are equal)."""

    column: str
    first: int
    last: int

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.column}:{self.first}"
        return f"{self.column}:{self.first}-{self.last}"


def parse_predictor(spec: str | Predictor) -> Predictor:
    """``"beer:1984-1988"`` → the mean of ``beer`` over 1984…1988; ``"cigsale:1975"`` → its
    value in 1975.

    >>> parse_predictor("beer:1984-1988")
    Predictor(column='beer', first=1984, last=1988)
    >>> parse_predictor("cigsale:1975").label
    'cigsale:1975'
    """
    if isinstance(spec, Predictor):
        return spec
    match = _SPEC.match(str(spec))
    if match is None:
        raise InputError(
            f"predictor {spec!r} is not NAME:FROM-TO or NAME:PERIOD "
            "(e.g. --predictor income:2015-2019 or --predictor outcome:2017)"
        )
    first = int(match["first"])
    last = int(match["last"]) if match["last"] is not None else first
    if last < first:
        raise InputError(f"predictor {spec!r}: the periods run backwards ({first} > {last})")
    return Predictor(match["name"], first, last)


@dataclass(frozen=True)
class SynthResult:
    """A synthetic control fit with its placebos.

    Frames:
        weights: ``unit, weight`` for every donor, largest first.
        path: ``time, treated, synthetic, gap`` for every period.
        balance: ``predictor, treated, synthetic, donor_mean, v`` (v: the predictor weight,
            summing to 1).
        placebos: ``unit, time, actual, synthetic, gap`` for every donor treated in turn.
        placebo_ratios: ``unit, rmspe_pre, rmspe_post, ratio, treated`` for the treated unit
            (``treated`` true) and every placebo, highest ratio first.
        leave_one_out: ``left_out, time, synthetic, gap, rmspe_pre`` refitted without each
            donor of positive weight.

    Numbers: ``rmspe_pre`` and ``rmspe_post`` (root mean squared gap before and from
    ``start``), ``ratio`` (post/pre), ``p_value`` (placebo rank), ``average_gap`` (mean gap
    from ``start``).
    """

    treated: str
    start: int
    outcome: str
    weights: pl.DataFrame
    path: pl.DataFrame
    balance: pl.DataFrame
    placebos: pl.DataFrame
    placebo_ratios: pl.DataFrame
    leave_one_out: pl.DataFrame
    rmspe_pre: float
    rmspe_post: float
    ratio: float
    p_value: float
    average_gap: float
    details: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The numbers, the weights and the predictor balance as plain values (JSON)."""
        return {
            "treated": self.treated,
            "start": self.start,
            "outcome": self.outcome,
            "rmspe_pre": self.rmspe_pre,
            "rmspe_post": self.rmspe_post,
            "ratio": self.ratio,
            "p_value": self.p_value,
            "average_gap": self.average_gap,
            "placebos": self.placebos.get_column("unit").n_unique() if self.placebos.height else 0,
            "weights": self.weights.filter(pl.col("weight") > 0).to_dicts(),
            "balance": self.balance.to_dicts(),
            **self.details,
        }


@dataclass
class _Fit:
    weights: np.ndarray  # over the donors given
    v: np.ndarray  # predictor weights, summing to 1
    mspe: float


# ---- the panel ---------------------------------------------------------------------------------


@dataclass
class _Panel:
    units: list[str]
    periods: np.ndarray  # sorted whole periods
    Y: np.ndarray  # outcome, periods × units (NaN where missing)
    X: np.ndarray  # predictors, k × units
    pre: np.ndarray  # boolean over periods


def _periods(frame: pl.DataFrame, time: str) -> pl.Series:
    series = whole_if_possible(frame.get_column(time))
    if series.dtype.is_float():
        finite = series.drop_nulls()
        if finite.len() == series.len() and (finite == finite.round()).all():
            series = series.cast(pl.Int64)
    if not series.dtype.is_integer() or series.null_count():
        raise InputError(
            f"column {time!r} must hold whole periods such as years (with no empty cells)"
        )
    return series.cast(pl.Int64)


def _panel(
    data: Any,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    start: int,
    predictors: Sequence[Predictor],
    donors: Sequence[str] | None,
) -> _Panel:
    from bryta.compute.segregation.counts import to_polars

    frame = to_polars(data, "the panel")
    for role, column in (("--unit", unit), ("--time", time), ("--outcome", outcome)):
        if column not in frame.columns:
            raise InputError(
                f"no column {column!r} (given as {role}); the columns are "
                + ", ".join(map(repr, frame.columns))
            )
    frame = frame.with_row_index("__row")
    frame = frame.with_columns(
        frame.get_column(unit).cast(pl.String).alias(unit), _periods(frame, time).alias(time)
    )
    if frame.get_column(unit).null_count():
        raise InputError(f"column {unit!r} has empty cells")
    dup = frame.select(pl.struct(unit, time).is_duplicated()).to_series()
    if dup.any():
        first = frame.filter(dup).row(0, named=True)
        raise InputError(
            f"unit {first[unit]!r} has more than one row for period {first[time]} "
            f"(row {first['__row'] + 1}); give one row per unit and period"
        )
    units_all = frame.get_column(unit).unique().sort().to_list()
    treated = str(treated)
    if treated not in units_all:
        shown = ", ".join(map(repr, units_all[:10])) + (" …" if len(units_all) > 10 else "")
        raise InputError(f"treated unit {treated!r} is not in column {unit!r}; it has {shown}")
    if donors is None:
        pool = [u for u in units_all if u != treated]
    else:
        pool = [str(d) for d in donors if str(d) != treated]
        absent = [d for d in pool if d not in units_all]
        if absent:
            raise InputError(f"donor {absent[0]!r} is not in column {unit!r}")
        pool = sorted(set(pool))
    if len(pool) < 2:
        raise InputError(
            f"a synthetic control needs at least 2 donor units besides {treated!r}; "
            f"there {'is' if len(pool) == 1 else 'are'} {len(pool)}"
        )
    periods = np.array(sorted(frame.get_column(time).unique().to_list()), dtype=np.int64)
    if not periods[0] < start <= periods[-1]:
        raise InputError(
            f"start period {start} is outside the data: it must be after the first period "
            f"({periods[0]}) and at most the last ({periods[-1]}) in column {time!r}"
        )
    units = [treated, *pool]
    frame = frame.filter(pl.col(unit).is_in(units))
    position = {u: i for i, u in enumerate(units)}
    index = {int(p): i for i, p in enumerate(periods)}
    cols = frame.get_column(unit).to_list()
    rows = frame.get_column(time).to_list()
    ui = np.array([position[u] for u in cols], dtype=np.int64)
    ti = np.array([index[int(t)] for t in rows], dtype=np.int64)

    def grid(column: str, label: str) -> np.ndarray:
        values = to_float(frame, column, show=[unit, time], label=label).to_numpy()
        out = np.full((periods.size, len(units)), np.nan)
        out[ti, ui] = values
        return out

    Y = grid(outcome, "outcome column")
    pre = periods < start
    missing = np.argwhere(np.isnan(Y[pre]))
    if missing.size:
        t, u = missing[0]
        raise InputError(
            f"outcome {outcome!r} is missing for unit {units[u]!r} in period "
            f"{periods[pre][t]} (before the start {start}); the pre-period must be complete"
            + (f" ({missing.shape[0]} unit-periods in all)" if missing.shape[0] > 1 else "")
        )
    X = np.empty((len(predictors), len(units)))
    grids: dict[str, np.ndarray] = {}
    for i, spec in enumerate(predictors):
        if spec.column not in frame.columns:
            raise InputError(
                f"predictor {spec.label!r}: no column {spec.column!r}; the columns are "
                + ", ".join(map(repr, [c for c in frame.columns if c != "__row"]))
            )
        for p in (spec.first, spec.last):
            if p not in index:
                raise InputError(
                    f"predictor {spec.label!r}: period {p} is not in column {time!r} "
                    f"({periods[0]}–{periods[-1]})"
                )
        if spec.last >= start:
            raise InputError(
                f"predictor {spec.label!r} uses period {spec.last}, at or after the start "
                f"{start}; predictors must describe the units before the start"
            )
        if spec.column not in grids:
            grids[spec.column] = grid(spec.column, "predictor column")
        block = grids[spec.column][(periods >= spec.first) & (periods <= spec.last)]
        present = ~np.isnan(block)
        empty = np.flatnonzero(~present.any(axis=0))
        if empty.size:
            raise InputError(
                f"predictor {spec.label!r}: column {spec.column!r} has no value for unit "
                f"{units[empty[0]]!r} in {spec.first}"
                + (f"–{spec.last}" if spec.last != spec.first else "")
            )
        X[i] = np.where(present, block, 0.0).sum(axis=0) / present.sum(axis=0)
    return _Panel(units, periods, Y, X, pre)


# ---- fitting -----------------------------------------------------------------------------------


def _fit(
    X: np.ndarray,
    Zpre: np.ndarray,
    treated: int,
    donors: np.ndarray,
    *,
    n_starts: int,
    rng: np.random.Generator,
    v_floor: float,
    extra_starts: Sequence[np.ndarray] = (),
) -> _Fit:
    """Nested fit of ``treated`` (a column of X and Zpre) on the ``donors`` (columns)."""
    from bryta.compute.evaluation._synth_kernels import nelder_mead, weights_dense

    cols = np.concatenate(([treated], donors))
    Xu = X[:, cols]
    sd = Xu.std(axis=1, ddof=1)
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
    Xs = Xu / sd[:, None]
    D = np.ascontiguousarray(Xs[:, 1:] - Xs[:, :1])
    Z0 = np.ascontiguousarray(Zpre[:, donors])
    z1 = np.ascontiguousarray(Zpre[:, treated])
    k = X.shape[0]
    lo = math.log(v_floor)
    starts = [np.ones(k), _regression_start(Xs, Zpre[:, cols]), *extra_starts]
    starts += [rng.dirichlet(np.ones(k)) for _ in range(n_starts)]
    best_theta, best = np.zeros(k), math.inf
    for v0 in starts:
        if v0 is None or not np.all(np.isfinite(v0)) or v0.max() <= 0:
            continue
        theta0 = np.clip(np.log(np.maximum(v0 / v0.max(), v_floor)), lo, 0.0)
        theta, value, _ = nelder_mead(theta0, lo, D, Z0, z1, _MAX_EVAL, _XTOL, _FTOL)
        if value < best:
            best_theta, best = theta, value
    theta, value, _ = nelder_mead(best_theta, lo, D, Z0, z1, _MAX_EVAL, _XTOL, _FTOL)
    if value < best:
        best_theta, best = theta, value
    v = np.exp(best_theta)
    w = weights_dense(v, D)
    r = z1 - Z0 @ w
    return _Fit(w, v / v.sum(), float(r @ r / r.size))


def _regression_start(Xs: np.ndarray, Z: np.ndarray) -> np.ndarray | None:
    """Synth's regression start: the pre-period outcomes of all units regressed on the
    standardised predictors (with a constant); V ∝ the diagonal of B Bᵀ (B: the slopes)."""
    A = np.column_stack([np.ones(Xs.shape[1]), Xs.T])
    try:
        beta = np.linalg.lstsq(A, Z.T, rcond=None)[0][1:]
    except np.linalg.LinAlgError:
        return None
    return np.einsum("it,it->i", beta, beta)


def _rmspe(gap: np.ndarray) -> float:
    gap = gap[np.isfinite(gap)]
    return float(np.sqrt(np.mean(gap**2))) if gap.size else math.nan


def _synthetic(Y: np.ndarray, donors: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Y₀W over all periods; NaN where a donor with positive weight has no value."""
    used = w > 0
    return np.asarray(Y[:, donors[used]] @ w[used])


def synthetic_control(
    panel: Any,
    *,
    unit: str,
    time: str,
    outcome: str,
    treated: str,
    start: int,
    predictors: Sequence[str | Predictor],
    donors: Sequence[str] | None = None,
    placebos: bool = True,
    leave_one_out: bool = True,
    n_starts: int = 10,
    seed: int = 0,
    v_floor: float = V_FLOOR,
    threads: int | None = None,
    progress: Progress | None = None,
) -> SynthResult:
    """The synthetic control for ``treated`` from period ``start`` (see the module text).

    Args:
        panel: polars, pandas or Arrow table, one row per unit and period (long).
        unit, time, outcome: the columns naming the unit, the period (whole numbers such as
            years) and the outcome.
        treated: the treated unit (a value of ``unit``); start: its first treated period.
        predictors: specs ``NAME:FROM-TO`` (mean over those periods) or ``NAME:PERIOD``, all
            before ``start``; e.g. ``["income:2012-2016", "outcome:2014"]``.
        donors: the comparison units (default: every other unit).
        placebos: run the in-space placebos (one fit per donor) for the p-value.
        leave_one_out: refit without each donor of positive weight.
        n_starts: random starts of the predictor-weight search, besides the equal and the
            regression start.
        seed: seed of the random starts; threads: placebo fits run at once (default: the
            CPUs); progress: called with 1 after each placebo fit (one per donor).

    Returns:
        A :class:`SynthResult`.

    Raises:
        InputError: a column, the treated unit or a period is missing, a predictor spec does
            not parse or names a missing column or period, the outcome has missing values
            before ``start``, or there are fewer than 2 donors.
    """
    specs = [parse_predictor(s) for s in predictors]
    if not specs:
        raise InputError("give at least one predictor (--predictor NAME:FROM-TO)")
    if isinstance(start, str) and not start.strip().lstrip("-").isdigit():
        raise InputError(f"start period {start!r} is not a whole period such as a year")
    start = int(start)
    data = _panel(
        panel,
        unit=unit,
        time=time,
        outcome=outcome,
        treated=treated,
        start=start,
        predictors=specs,
        donors=donors,
    )
    J = len(data.units) - 1
    pool = np.arange(1, J + 1)
    Zpre = data.Y[data.pre]
    seeds = np.random.SeedSequence(seed).spawn(J + 2)

    def fit(target: int, donor_cols: np.ndarray, s: np.random.SeedSequence, extra=()) -> _Fit:
        return _fit(
            data.X,
            Zpre,
            target,
            donor_cols,
            n_starts=n_starts,
            rng=np.random.default_rng(s),
            v_floor=v_floor,
            extra_starts=extra,
        )

    main = fit(0, pool, seeds[0])
    synth = _synthetic(data.Y, pool, main.weights)
    gap = data.Y[:, 0] - synth
    post = ~data.pre
    rmspe_pre, rmspe_post = _rmspe(gap[data.pre]), _rmspe(gap[post])
    ratio = rmspe_post / rmspe_pre if rmspe_pre > 0 else math.inf
    post_gaps = gap[post][np.isfinite(gap[post])]
    average_gap = float(post_gaps.mean()) if post_gaps.size else math.nan

    weights = pl.DataFrame(
        {"unit": data.units[1:], "weight": main.weights}, schema_overrides={"unit": pl.String}
    ).sort(["weight", "unit"], descending=[True, False])
    path = pl.DataFrame(
        {"time": data.periods, "treated": data.Y[:, 0], "synthetic": synth, "gap": gap}
    ).with_columns(pl.col(c).fill_nan(None) for c in ("treated", "synthetic", "gap"))
    balance = pl.DataFrame(
        {
            "predictor": [s.label for s in specs],
            "treated": data.X[:, 0],
            "synthetic": data.X[:, 1:] @ main.weights,
            "donor_mean": data.X[:, 1:].mean(axis=1),
            "v": main.v,
        }
    )

    # in-space placebos: each donor treated in turn, the other donors as its pool
    placebo_rows: list[pl.DataFrame] = []
    ratios = [(data.units[0], rmspe_pre, rmspe_post, ratio, True)]
    if placebos:

        def placebo(j: int) -> tuple[int, _Fit]:
            others = pool[pool != j]
            result = fit(j, others, seeds[1 + j], extra=(main.v,))
            if progress is not None:
                progress(1)
            return j, result

        workers = max(1, min(threads or os.cpu_count() or 1, J))
        if workers == 1:
            fits = [placebo(int(j)) for j in pool]
        else:
            with ThreadPoolExecutor(workers) as ex:
                fits = list(ex.map(placebo, [int(j) for j in pool]))
        for j, f in fits:
            others = pool[pool != j]
            s = _synthetic(data.Y, others, f.weights)
            g = data.Y[:, j] - s
            pre_j, post_j = _rmspe(g[data.pre]), _rmspe(g[post])
            ratios.append(
                (data.units[j], pre_j, post_j, post_j / pre_j if pre_j > 0 else math.inf, False)
            )
            placebo_rows.append(
                pl.DataFrame(
                    {
                        "unit": [data.units[j]] * data.periods.size,
                        "time": data.periods,
                        "actual": data.Y[:, j],
                        "synthetic": s,
                        "gap": g,
                    },
                    schema_overrides={"unit": pl.String},
                )
            )
    placebo_schema = {
        "unit": pl.String,
        "time": pl.Int64,
        "actual": pl.Float64,
        "synthetic": pl.Float64,
        "gap": pl.Float64,
    }
    placebo_frame = (
        pl.concat(placebo_rows).with_columns(
            pl.col(c).fill_nan(None) for c in ("actual", "synthetic", "gap")
        )
        if placebo_rows
        else pl.DataFrame(schema=placebo_schema)
    )
    ratio_frame = pl.DataFrame(
        ratios,
        schema={
            "unit": pl.String,
            "rmspe_pre": pl.Float64,
            "rmspe_post": pl.Float64,
            "ratio": pl.Float64,
            "treated": pl.Boolean,
        },
        orient="row",
    ).sort(["ratio", "unit"], descending=[True, False], nulls_last=True)
    p_value = math.nan
    if placebos:
        all_ratios = np.array([r[3] for r in ratios])
        # a perfect pre-period fit gives an infinite ratio: it ranks with the other infinite ones
        threshold = ratio - 1e-12 * abs(ratio) if math.isfinite(ratio) else ratio
        p_value = float(np.mean(all_ratios >= threshold))

    loo_rows: list[pl.DataFrame] = []
    if leave_one_out:
        for j in pool[main.weights >= LOO_MIN_WEIGHT]:
            others = pool[pool != j]
            f = fit(0, others, seeds[-1], extra=(main.v,))
            s = _synthetic(data.Y, others, f.weights)
            g = data.Y[:, 0] - s
            loo_rows.append(
                pl.DataFrame(
                    {
                        "left_out": [data.units[j]] * data.periods.size,
                        "time": data.periods,
                        "synthetic": s,
                        "gap": g,
                        "rmspe_pre": [_rmspe(g[data.pre])] * data.periods.size,
                    },
                    schema_overrides={"left_out": pl.String},
                )
            )
    loo = (
        pl.concat(loo_rows).with_columns(pl.col(c).fill_nan(None) for c in ("synthetic", "gap"))
        if loo_rows
        else pl.DataFrame(
            schema={
                "left_out": pl.String,
                "time": pl.Int64,
                "synthetic": pl.Float64,
                "gap": pl.Float64,
                "rmspe_pre": pl.Float64,
            }
        )
    )
    return SynthResult(
        treated=data.units[0],
        start=start,
        outcome=outcome,
        weights=weights,
        path=path,
        balance=balance,
        placebos=placebo_frame,
        placebo_ratios=ratio_frame,
        leave_one_out=loo,
        rmspe_pre=rmspe_pre,
        rmspe_post=rmspe_post,
        ratio=ratio,
        p_value=p_value,
        average_gap=average_gap,
        details={
            "donors": J,
            "pre_periods": int(data.pre.sum()),
            "post_periods": int(post.sum()),
            "predictors": [s.label for s in specs],
            "seed": seed,
            "n_starts": n_starts,
            "v_floor": v_floor,
        },
    )
