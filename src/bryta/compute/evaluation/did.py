"""Staggered difference-in-differences: Callaway & Sant'Anna (2021) group-time effects.

Units (areas) start an intervention in different periods and never stop; the *cohort* of a
unit is the first period it is treated (0 or empty: never treated within the panel). For every
cohort g and period t the group-time average treatment effect ATT(g,t) compares how the
outcome of cohort g changed from a base period to t with how it changed, over the same
periods, among comparison units not (yet) treated:

    ATT(g,t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | C]

* the base period b is g − 1 (the last period before treatment) for t ≥ g; for t < g
  (pre-periods, the placebo checks of parallel trends) R's default *varying* base period is
  used: b = t − 1, so the pre-period estimates are period-on-period changes;
* the comparison units C are the never-treated (``control="never"``) or the never-treated
  together with the units whose cohort is later than max(t, b) (``control="notyet"``);
* with covariates the comparison is adjusted by outcome regression (``method="reg"``), by
  inverse probability weighting (``"ipw"``, the normalised Hájek weights) or doubly robust
  (``"dr"``, the default); covariates are taken in the base period. Without covariates the
  three give the same numbers (the plain 2×2 difference in means).

The 2×2 estimators are those R ``did`` (2.x) calls through ``DRDID``: ``reg_did_panel``,
``std_ipw_did_panel`` and, for ``"dr"``, ``drdid_panel``, the locally efficient doubly robust
estimator of Sant'Anna & Zhao (2020, eq. 3.1) with a logit propensity score fitted by maximum
likelihood, OLS for the comparison units' outcome change, and control propensity scores over
0.995 trimmed. (``DRDID``'s "improved" estimator ``drdid_imp_panel``, with inverse probability
tilting, is the default of ``DRDID::drdid`` but not of ``did::att_gt``.)

Aggregations follow R ``aggte``, weighting cohorts by their size (share of all units):

* ``simple``: the average of all post-treatment ATT(g,t) weighted by cohort size;
* ``group``: per cohort the mean of its post-treatment ATT(g,t); overall their size-weighted
  mean;
* ``dynamic`` (event study): per event time e = t − g the size-weighted mean of ATT(g,g+e)
  over the cohorts observed at e; overall the mean over e ≥ 0;
* ``calendar``: per period t the size-weighted mean over the cohorts treated by t; overall the
  mean over those periods.

Inference. Every estimate has an influence function per unit (n values), so standard errors
are clustered by unit: se = √(mean(ψ²)/n). Aggregates that weight by estimated cohort shares
carry the extra term of those estimated weights (R's ``wif``). The multiplier bootstrap draws,
per replicate, one weight per unit (Mammen's two-point weights as R ``did``, or Rademacher),
and gives R's bootstrap standard error (interquartile range of the draws / 1.349) and the
critical value of a uniform (sup-t) band over each family of estimates (all ATT(g,t); the
per-cohort, per-event-time and per-period rows of each aggregation). Without the bootstrap the
intervals are pointwise normal ones. The draws come from ``numpy.random.default_rng(seed)``,
so a seed reproduces them exactly (not R's draws: bootstrap numbers agree with R's only up to
simulation noise).

For comparison the result also holds the two-way fixed effects regression
``y ~ D | unit + time`` (D = 1 from the cohort's first period on) with standard errors
clustered by unit. Under staggered adoption with effects that differ between cohorts or grow
over time it is biased (Goodman-Bacon 2021: already-treated units serve as controls), which is
why it is only shown beside the group-time estimates.

Why written here rather than wrapping ``moderndid`` 0.2.0: that package reproduces R ``did``
on mpdta exactly (it is used as an independent check in the tests and the benchmark), but it
takes 6–10 s to import on a loaded 2-core machine and brings statsmodels, pandas ≥ 3,
formulaic and narwhals along; ``pyfixest`` for the TWFE regression would bring matplotlib,
IPython and seaborn. What is needed here is a few hundred lines of numpy: the 2×2 estimators
run once per (g,t) cell, each vectorised over the units of the cell (no Python loop over
units), and the bootstrap is one matrix product per block of replicates.

References: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple
time periods. Journal of Econometrics 225(2), 200–230. Sant'Anna, P. H. C. & Zhao, J. (2020).
Doubly robust difference-in-differences estimators. Journal of Econometrics 219(1), 101–122.
Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
Journal of Econometrics 225(2), 254–277.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from bryta.compute._coerce import ROW, rows_text, to_float, to_number
from bryta.compute.evaluation.twfe import TwfeEventStudy, fe_ols, panel_event_study
from bryta.compute.progress import Progress
from bryta.compute.segregation.counts import to_polars
from bryta.errors import InputError

__all__ = ["AGGREGATIONS", "COLUMNS", "DidResult", "did", "twfe"]

Control = Literal["never", "notyet"]
Method = Literal["reg", "ipw", "dr"]
Multiplier = Literal["mammen", "rademacher"]
BasePeriod = Literal["varying", "universal"]

#: The columns of :attr:`DidResult.estimates`, in order.
COLUMNS = ("aggregation", "group", "time", "event_time", "estimate", "se", "ci_low", "ci_high")
#: The values of the ``aggregation`` column, in the order the rows come.
AGGREGATIONS = ("att_gt", "simple", "group", "dynamic", "calendar")

TWFE_WARNING = (
    "two-way fixed effects is biased when units start in different periods and the effect "
    "differs between cohorts or changes with time since the start; shown for comparison only"
)
_TRIM = 0.995  # DRDID's trim.level: comparison units with a propensity score above are dropped
_EPS_SE = float(np.sqrt(np.finfo(float).eps) * 10)  # R: smaller standard errors are NA
_IQR_NORMAL = 1.3489795003921634  # qnorm(0.75) − qnorm(0.25)
_BLOCK = 250  # bootstrap replicates per matrix product


@dataclass(frozen=True)
class DidResult:
    """What :func:`did` returns.

    Attributes:
        estimates: the long table (:data:`COLUMNS`): one row per ATT(g,t) (``att_gt``), then
            per aggregation its overall value (``group``, ``time``, ``event_time`` empty)
            followed by its rows per cohort (``group``), per event time (``dynamic``) or per
            period (``calendar``).
        twfe: one row: ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n_obs`` of the two-way
            fixed effects regression (clustered by unit), for comparison only.
        twfe_warning: why TWFE is not the answer (empty when adoption is not staggered).
        cohorts: ``group`` (cohort, null = never treated) and ``n_units``.
        n_units, n_periods: the panel the estimates use (after dropping units treated in the
            first period).
        control, method, covariates: as given.
        bootstrap, seed, multiplier: replicates (0: analytic), seed and weights used.
        alpha: 1 − the level of the intervals.
        band: ``"uniform"`` (bootstrap sup-t bands for the att_gt rows and the rows of each
            aggregation; overall values pointwise) or ``"pointwise"``.
        critical_values: the critical value used per family (``att_gt``, ``group``,
            ``dynamic``, ``calendar``; overall values use the normal one).
        warnings: what the caller should know (units dropped, cells that could not be
            estimated, comparisons coerced).
        anticipation, base_period, weights: as given.
        unbalanced: whether the repeated cross-section estimator was used (an unbalanced
            panel with ``allow_unbalanced``).
        panel: the prepared panel the estimates use (for :attr:`twfe_event_study`).
    """

    estimates: pl.DataFrame
    twfe: pl.DataFrame
    twfe_warning: str
    cohorts: pl.DataFrame
    n_units: int
    n_periods: int
    control: str
    method: str
    covariates: tuple[str, ...]
    bootstrap: int
    seed: int | None
    multiplier: str
    alpha: float
    band: str
    critical_values: dict[str, float]
    warnings: tuple[str, ...] = ()
    influence: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    anticipation: int = 0
    base_period: str = "varying"
    weights: str | None = None
    unbalanced: bool = False
    panel: _Panel | None = field(default=None, repr=False, compare=False)
    _lazy: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def twfe_event_study(self) -> TwfeEventStudy | None:
        """The two-way fixed effects event study (:class:`.twfe.TwfeEventStudy`, reference
        e = −1) of the same panel, for comparison only; computed on first use. None when it
        is not identified (:attr:`twfe_event_study_problem` says why)."""
        if "es" not in self._lazy:
            es: TwfeEventStudy | None = None
            if self.panel is not None:
                try:
                    es = panel_event_study(self.panel, alpha=self.alpha)
                except InputError as exc:
                    self._lazy["problem"] = str(exc)
            self._lazy["es"] = es
        return self._lazy["es"]

    @property
    def twfe_event_study_problem(self) -> str:
        """Why there is no TWFE event study (empty when there is one)."""
        self.twfe_event_study  # noqa: B018 (computes it)
        return str(self._lazy.get("problem", ""))

    @property
    def att_gt(self) -> pl.DataFrame:
        """The group-time effects: one row per cohort and period."""
        return self.estimates.filter(pl.col("aggregation") == "att_gt")

    @property
    def overall(self) -> pl.DataFrame:
        """The four overall aggregates (simple, group, dynamic, calendar), one row each."""
        return self.estimates.filter(
            (pl.col("aggregation") != "att_gt")
            & pl.col("group").is_null()
            & pl.col("time").is_null()
            & pl.col("event_time").is_null()
        )

    def aggregate(self, kind: str) -> pl.DataFrame:
        """The rows of one aggregation, its overall value first."""
        if kind not in AGGREGATIONS:
            raise InputError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, not {kind!r}")
        return self.estimates.filter(pl.col("aggregation") == kind)

    def summary(self) -> dict[str, Any]:
        """What a registry record needs: sizes, design and the overall estimates."""
        return {
            "design": "callaway_santanna",
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "n_treated": {
                int(g): int(n)
                for g, n in self.cohorts.filter(pl.col("group").is_not_null()).iter_rows()
            },
            "n_never_treated": int(
                self.cohorts.filter(pl.col("group").is_null()).get_column("n_units").sum()
            ),
            "control": self.control,
            "method": self.method,
            "covariates": list(self.covariates),
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "alpha": self.alpha,
            "band": self.band,
            "overall": self.overall.select(
                "aggregation", "estimate", "se", "ci_low", "ci_high"
            ).to_dicts(),
            "twfe": self.twfe.to_dicts()[0],
            "twfe_warning": self.twfe_warning,
            "warnings": list(self.warnings),
        }


# --- the panel ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Panel:
    units: list[Any]
    periods: np.ndarray  # sorted, int64
    y: np.ndarray  # n × T
    cohort: np.ndarray  # n, float: the cohort period, inf = never treated
    x: np.ndarray  # T × n × k covariates (k may be 0)
    dropped_first: int
    weights: np.ndarray | None = None  # n sampling weights (None: all 1)
    observed: np.ndarray | None = None  # n × T, unbalanced panels only (None: all observed)


def _whole(frame: pl.DataFrame, column: str, show: Sequence[str], what: str) -> pl.Series:
    values = to_number(frame, column, show=show)
    if values.dtype.is_integer():
        return values.cast(pl.Int64)
    finite = values.is_finite().fill_null(True)
    whole = (values == values.round()).fill_null(True)
    if not (finite & whole).all():
        bad = ~(finite & whole)
        raise InputError(
            f"column {column!r} must hold {what} as whole numbers (e.g. years), "
            + rows_text(frame.with_columns(values), bad, [*show, column])
        )
    return values.cast(pl.Int64)


def _prepare(
    data: Any,
    *,
    unit: str,
    time: str,
    outcome: str,
    cohort: str,
    covariates: Sequence[str],
    weights: str | None = None,
    allow_unbalanced: bool = False,
    anticipation: int = 0,
) -> _Panel:
    frame = to_polars(data, "the panel")
    needed = [unit, time, outcome, cohort, *covariates, *([weights] if weights else [])]
    absent = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if absent:
        raise InputError(
            f"no column {', '.join(map(repr, absent))}; the table has "
            f"{', '.join(map(repr, frame.columns[:30]))}"
        )
    frame = frame.select(list(dict.fromkeys(needed))).with_row_index(ROW)
    show = [unit, time]
    if frame.get_column(unit).null_count():
        raise InputError(
            f"column {unit!r} (the unit) has empty cells, "
            + rows_text(frame, frame.get_column(unit).is_null(), show)
        )
    if frame.get_column(time).null_count():
        raise InputError(
            f"column {time!r} (the period) has empty cells, "
            + rows_text(frame, frame.get_column(time).is_null(), show)
        )
    t = _whole(frame, time, show, "periods")
    g = to_number(frame, cohort, show=[*show, cohort])
    frame = frame.with_columns(t.alias(time), g.alias(cohort))
    periods = np.sort(frame.get_column(time).unique().to_numpy())
    # the cohort: a period of the panel, or 0 / empty for never treated
    gcol = frame.get_column(cohort)
    never = gcol.is_null() | (gcol == 0)
    bad = ~never & ~gcol.cast(pl.Float64).is_in(periods.astype(float).tolist())
    if bad.any():
        raise InputError(
            f"column {cohort!r} (the cohort) must hold the first treated period, one of the "
            f"periods in {time!r} ({periods[0]}–{periods[-1]}), or 0 / empty for never "
            f"treated; {rows_text(frame, bad, [*show, cohort])}"
        )
    # one row per unit and period
    dup = frame.select(pl.struct(unit, time).is_duplicated()).to_series()
    if dup.any():
        raise InputError(
            f"units appear more than once in a period (columns {unit!r}, {time!r}), "
            + rows_text(frame, dup, show)
        )
    y = to_float(frame, outcome, show=show)
    missing = y.is_null() | ~y.is_finite().fill_null(False)
    if missing.any() and not allow_unbalanced:
        raise InputError(
            f"column {outcome!r} (the outcome) has missing or non-finite values, "
            + rows_text(frame, missing, [*show, outcome])
            + "; the panel must be balanced: drop those units or fill the values "
            "(or use --allow-unbalanced)"
        )
    frame = frame.with_columns(y)
    if missing.any():  # allow_unbalanced: a row without the outcome is a row not observed
        frame = frame.filter(~missing)
    if weights:
        wv = to_float(frame, weights, show=show)
        bad_w = wv.is_null() | ~wv.is_finite().fill_null(False) | (wv < 0).fill_null(False)
        if bad_w.any():
            raise InputError(
                f"column {weights!r} (the sampling weights) must hold numbers 0 or more, "
                + rows_text(frame, bad_w, [*show, weights])
            )
        frame = frame.with_columns(wv)
        vary = (
            frame.group_by(unit)
            .agg(pl.col(weights).n_unique().alias("k"))
            .filter(pl.col("k") > 1)
            .get_column(unit)
            .sort()
        )
        if vary.len():
            raise InputError(
                f"column {weights!r} (the sampling weights) must be the same in every row of a "
                f"unit; it differs for {vary.len()} unit(s): "
                + ", ".join(map(repr, vary.head(5).to_list()))
            )
    for c in covariates:
        values = to_float(frame, c, show=show)
        bad_x = values.is_null() | ~values.is_finite().fill_null(False)
        if bad_x.any():
            raise InputError(
                f"covariate {c!r} has missing or non-finite values, "
                + rows_text(frame, bad_x, [*show, c])
            )
        frame = frame.with_columns(values)
    # the cohort must not change within a unit
    frame = frame.with_columns(
        pl.when(never).then(None).otherwise(pl.col(cohort)).cast(pl.Float64).alias(cohort)
    )
    varying = frame.group_by(unit).agg(pl.col(cohort).n_unique().alias("k")).filter(pl.col("k") > 1)
    if varying.height:
        names = varying.get_column(unit).sort().head(5).to_list()
        raise InputError(
            f"column {cohort!r} (the cohort) must be the same in every row of a unit; it "
            f"differs for {varying.height} unit(s): {', '.join(map(repr, names))}"
        )
    # balanced
    n_periods = len(periods)
    per_unit = frame.group_by(unit).len()
    short = per_unit.filter(pl.col("len") < n_periods)
    if short.height and not allow_unbalanced:
        names = short.get_column(unit).sort().to_list()
        listed = ", ".join(map(repr, names[:10])) + (
            f" and {len(names) - 10} more" if len(names) > 10 else ""
        )
        raise InputError(
            f"the panel is unbalanced: {len(names)} unit(s) lack some of the {n_periods} "
            f"periods {periods[0]}–{periods[-1]}: {listed}; every unit needs a row in every "
            "period (drop those units or fill the gaps, or use --allow-unbalanced)"
        )
    frame = frame.sort(unit, time)
    units = frame.get_column(unit).unique(maintain_order=True).to_list()
    n = len(units)
    observed: np.ndarray | None = None
    if short.height:  # unbalanced (allowed): n × T with NaN where a unit has no row
        ui = frame.select(pl.col(unit).rle_id()).to_series().to_numpy().astype(np.int64)
        ti = np.searchsorted(periods, frame.get_column(time).to_numpy())
        observed = np.zeros((n, n_periods), dtype=bool)
        observed[ui, ti] = True

        def wide(column: str) -> np.ndarray:
            out = np.full((n, n_periods), np.nan)
            out[ui, ti] = frame.get_column(column).cast(pl.Float64).to_numpy()
            return out

        first_row = np.flatnonzero(np.r_[True, ui[1:] != ui[:-1]])
        y_mat = wide(outcome)
        g_unit = frame.get_column(cohort).to_numpy()[first_row]
        w_unit = frame.get_column(weights).to_numpy()[first_row] if weights else None
        x = (
            np.stack([wide(c) for c in covariates], axis=-1).transpose(1, 0, 2)
            if covariates
            else np.zeros((n_periods, n, 0))
        )
    else:
        y_mat = frame.get_column(outcome).to_numpy().reshape(n, n_periods)
        g_unit = frame.get_column(cohort).to_numpy().reshape(n, n_periods)[:, 0]
        w_unit = (
            frame.get_column(weights).to_numpy().reshape(n, n_periods)[:, 0] if weights else None
        )
        if covariates:
            x = np.stack(
                [frame.get_column(c).to_numpy().reshape(n, n_periods) for c in covariates],
                axis=-1,
            ).transpose(1, 0, 2)
        else:
            x = np.zeros((n_periods, n, 0))
    g_unit = np.where(np.isnan(g_unit), np.inf, g_unit)
    # units treated from the first period (or, with anticipation, too early to have a period
    # before the anticipation window) have no pre-period: R drops them too
    first = g_unit <= periods[0] + anticipation
    dropped = int(first.sum())
    if dropped:
        keep = ~first
        units = [u for u, k in zip(units, keep, strict=True) if k]
        y_mat, g_unit, x = y_mat[keep], g_unit[keep], x[:, keep]
        w_unit = w_unit[keep] if w_unit is not None else None
        observed = observed[keep] if observed is not None else None
    if w_unit is not None:
        w_unit = w_unit.astype(float)
        if not (w_unit > 0).any():
            raise InputError(f"column {weights!r} (the sampling weights) is 0 for every unit")
    return _Panel(units, periods, y_mat, g_unit, x, dropped, w_unit, observed)


# --- the 2×2 estimators ---------------------------------------------------------------------


def _logit(d: np.ndarray, x: np.ndarray, iw: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    """Fitted probabilities of a (weighted) logit of ``d`` on ``x`` by Newton–Raphson;
    converged?"""
    beta = np.zeros(x.shape[1])
    p1 = d.mean() if iw is None else float((iw * d).sum() / iw.sum())
    beta[0] = np.log(p1 / (1 - p1))
    for _ in range(50):
        eta = np.clip(x @ beta, -35, 35)
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p) if iw is None else p * (1 - p) * iw
        grad = x.T @ (d - p) if iw is None else x.T @ (iw * (d - p))
        hess = (x * w[:, None]).T @ x
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return p, False
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(beta))):
            eta = np.clip(x @ beta, -35, 35)
            return 1 / (1 + np.exp(-eta)), True
    return 1 / (1 + np.exp(-np.clip(x @ beta, -35, 35))), False


def _ols_controls(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Coefficients of the weighted least squares of ``dy`` on ``x`` among the comparison."""
    c = d == 0
    xc = x[c] * np.sqrt(w[c])[:, None]
    beta, *_ = np.linalg.lstsq(xc, dy[c] * np.sqrt(w[c]), rcond=None)
    return beta


def _ones(iw: np.ndarray | None, n: int) -> np.ndarray:
    """Sampling weights normalised to mean 1 as ``DRDID`` does (all 1 without weights)."""
    return np.ones(n) if iw is None else iw / iw.mean()


def _reg(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    n = len(d)
    wi = _ones(iw, n)
    beta = _ols_controls(dy, d, x, wi)
    out = x @ beta
    w_t = d if iw is None else wi * d
    w_c = w_t
    att_t = w_t * dy
    att_c = w_c * out
    eta_t = att_t.mean() / w_t.mean()
    eta_c = att_c.mean() / w_c.mean()
    w_ols = 1 - d if iw is None else wi * (1 - d)
    xpx = (x * w_ols[:, None]).T @ x / n
    alr = ((w_ols * (dy - out))[:, None] * x) @ np.linalg.inv(xpx)
    inf_t = (att_t - w_t * eta_t) / w_t.mean()
    m1 = (w_c[:, None] * x).mean(axis=0)
    inf_c = (att_c - w_c * eta_c + alr @ m1) / w_c.mean()
    return float(eta_t - eta_c), inf_t - inf_c


def _pscore(d: np.ndarray, x: np.ndarray, iw: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
    if x.shape[1] == 1:  # intercept only: the (weighted) share treated
        share = d.mean() if iw is None else (iw * d).sum() / iw.sum()
        return np.full(len(d), share), True
    p, ok = _logit(d, x, iw)
    return np.minimum(p, 1 - 1e-6), ok


def _ps_linrep(
    d: np.ndarray, x: np.ndarray, ps: np.ndarray, iw: np.ndarray | None = None
) -> np.ndarray:
    n = len(d)
    w = ps * (1 - ps) if iw is None else ps * (1 - ps) * iw
    hess = np.linalg.inv((x * w[:, None]).T @ x) * n
    score = d - ps if iw is None else iw * (d - ps)
    return (score[:, None] * x) @ hess


def _ipw(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray | None = None
) -> tuple[float, np.ndarray, bool]:
    wi = None if iw is None else _ones(iw, len(d))
    ps, ok = _pscore(d, x, wi)
    keep = np.where(d == 1, True, ps < _TRIM)
    w_t = keep * d if wi is None else keep * wi * d
    w_c = keep * ps * (1 - d) / (1 - ps) if wi is None else keep * wi * ps * (1 - d) / (1 - ps)
    eta_t = (w_t * dy).mean() / w_t.mean()
    eta_c = (w_c * dy).mean() / w_c.mean()
    inf_t = (w_t * dy - w_t * eta_t) / w_t.mean()
    inf_c = (w_c * dy - w_c * eta_c) / w_c.mean()
    m2 = ((w_c * (dy - eta_c))[:, None] * x).mean(axis=0) / w_c.mean()
    inf_c = inf_c + _ps_linrep(d, x, ps, wi) @ m2
    return float(eta_t - eta_c), inf_t - inf_c, ok


def _dr(
    dy: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray | None = None
) -> tuple[float, np.ndarray, bool]:
    n = len(d)
    wi = None if iw is None else _ones(iw, n)
    ps, ok = _pscore(d, x, wi)
    keep = np.where(d == 1, True, ps < _TRIM)
    beta = _ols_controls(dy, d, x, np.ones(n) if wi is None else wi)
    out = x @ beta
    w_t = keep * d if wi is None else keep * wi * d
    w_c = keep * ps * (1 - d) / (1 - ps) if wi is None else keep * wi * ps * (1 - d) / (1 - ps)
    att_t = w_t * (dy - out)
    att_c = w_c * (dy - out)
    mw_t, mw_c = w_t.mean(), w_c.mean()
    eta_t = att_t.mean() / mw_t
    eta_c = att_c.mean() / mw_c
    w_ols = 1 - d if wi is None else wi * (1 - d)
    xpx = (x * w_ols[:, None]).T @ x / n
    alr_ols = ((w_ols * (dy - out))[:, None] * x) @ np.linalg.inv(xpx)
    alr_ps = _ps_linrep(d, x, ps, wi)
    inf_t = (att_t - w_t * eta_t - alr_ols @ (w_t[:, None] * x).mean(axis=0)) / mw_t
    inf_c1 = att_c - w_c * eta_c
    inf_c2 = alr_ps @ (inf_c1[:, None] * x).mean(axis=0)
    inf_c3 = alr_ols @ (w_c[:, None] * x).mean(axis=0)
    inf_c = (inf_c1 + inf_c2 - inf_c3) / mw_c
    return float(eta_t - eta_c), inf_t - inf_c, ok


# --- the 2×2 estimators for repeated cross-sections (unbalanced panels) ---------------------
#
# R ``did`` with ``allow_unbalanced_panel = TRUE`` treats an unbalanced panel as repeated
# cross-sections: every row of the two periods compared is one observation (``DRDID``'s
# ``reg_did_rc``, ``std_ipw_did_rc`` and ``drdid_rc``, the last its "traditional" doubly robust
# estimator), and the influence functions are then summed per unit, so inference stays
# clustered by unit. Arguments: y, post (1: the later period), d (1: treated), x (intercept
# and covariates, each row in its own period), iw (weights, mean 1).


def _ols_rc(y: np.ndarray, x: np.ndarray, iw: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Fitted values of the weighted least squares of ``y`` on ``x`` among ``sel``."""
    xs = x[sel] * np.sqrt(iw[sel])[:, None]
    beta, *_ = np.linalg.lstsq(xs, y[sel] * np.sqrt(iw[sel]), rcond=None)
    return x @ beta


def _alr_ols(y: np.ndarray, x: np.ndarray, w: np.ndarray, fit: np.ndarray) -> np.ndarray:
    n = len(y)
    gram = (x * w[:, None]).T @ x / n
    return ((w * (y - fit))[:, None] * x) @ np.linalg.inv(gram)


def _reg_rc(
    y: np.ndarray, post: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray
) -> tuple[float, np.ndarray, bool]:
    c0, c1 = iw * (1 - d) * (1 - post), iw * (1 - d) * post
    out_pre = _ols_rc(y, x, iw, c0 > 0)
    out_post = _ols_rc(y, x, iw, c1 > 0)
    w_tpre, w_tpost, w_c = iw * d * (1 - post), iw * d * post, iw * d
    a_tpre, a_tpost, a_c = w_tpre * y, w_tpost * y, w_c * (out_post - out_pre)
    e_tpre = a_tpre.mean() / w_tpre.mean()
    e_tpost = a_tpost.mean() / w_tpost.mean()
    e_c = a_c.mean() / w_c.mean()
    alr_pre = _alr_ols(y, x, c0, out_pre)
    alr_post = _alr_ols(y, x, c1, out_post)
    inf_t = (a_tpost - w_tpost * e_tpost) / w_tpost.mean() - (
        a_tpre - w_tpre * e_tpre
    ) / w_tpre.mean()
    m1 = (w_c[:, None] * x).mean(axis=0)
    inf_c = (a_c - w_c * e_c + alr_post @ m1 - alr_pre @ m1) / w_c.mean()
    return float(e_tpost - e_tpre - e_c), inf_t - inf_c, True


def _ipw_rc(
    y: np.ndarray, post: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray
) -> tuple[float, np.ndarray, bool]:
    ps, ok = _pscore(d, x, iw)
    ps = np.clip(ps, 1e-6, 1 - 1e-6)
    keep = np.where(d == 1, True, ps < _TRIM)
    w = {
        "tpre": keep * iw * d * (1 - post),
        "tpost": keep * iw * d * post,
        "cpre": keep * iw * ps * (1 - d) * (1 - post) / (1 - ps),
        "cpost": keep * iw * ps * (1 - d) * post / (1 - ps),
    }
    att = {k: (v * y).mean() / v.mean() for k, v in w.items()}
    inf = {k: (v * y - v * att[k]) / v.mean() for k, v in w.items()}
    m2 = {
        k: ((w[k] * (y - att[k]))[:, None] * x).mean(axis=0) / w[k].mean()
        for k in ("cpre", "cpost")
    }
    inf_c = inf["cpost"] - inf["cpre"] + _ps_linrep(d, x, ps, iw) @ (m2["cpost"] - m2["cpre"])
    est = (att["tpost"] - att["tpre"]) - (att["cpost"] - att["cpre"])
    return float(est), inf["tpost"] - inf["tpre"] - inf_c, ok


def _dr_rc(
    y: np.ndarray, post: np.ndarray, d: np.ndarray, x: np.ndarray, iw: np.ndarray
) -> tuple[float, np.ndarray, bool]:
    ps, ok = _pscore(d, x, iw)
    ps = np.clip(ps, 1e-6, 1 - 1e-6)
    keep = np.where(d == 1, True, ps < _TRIM)
    sel = {
        "cpre": iw * (1 - d) * (1 - post),
        "cpost": iw * (1 - d) * post,
        "tpre": iw * d * (1 - post),
        "tpost": iw * d * post,
    }
    fit = {k: _ols_rc(y, x, iw, v > 0) for k, v in sel.items()}
    alr = {k: _alr_ols(y, x, v, fit[k]) for k, v in sel.items()}
    out_c = post * fit["cpost"] + (1 - post) * fit["cpre"]
    w_tpre, w_tpost = keep * iw * d * (1 - post), keep * iw * d * post
    w_cpre = keep * iw * ps * (1 - d) * (1 - post) / (1 - ps)
    w_cpost = keep * iw * ps * (1 - d) * post / (1 - ps)
    w_d, w_dt1, w_dt0 = keep * iw * d, keep * iw * d * post, keep * iw * d * (1 - post)

    def eta(w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return w * v / w.mean()

    e_tpre, e_tpost = eta(w_tpre, y - out_c), eta(w_tpost, y - out_c)
    e_cpre, e_cpost = eta(w_cpre, y - out_c), eta(w_cpost, y - out_c)
    gap_post, gap_pre = fit["tpost"] - fit["cpost"], fit["tpre"] - fit["cpre"]
    e_dpost, e_dt1 = eta(w_d, gap_post), eta(w_dt1, gap_post)
    e_dpre, e_dt0 = eta(w_d, gap_pre), eta(w_dt0, gap_pre)
    a = {
        k: v.mean()
        for k, v in {
            "tpre": e_tpre,
            "tpost": e_tpost,
            "cpre": e_cpre,
            "cpost": e_cpost,
            "dpost": e_dpost,
            "dt1": e_dt1,
            "dpre": e_dpre,
            "dt0": e_dt0,
        }.items()
    }
    est = (
        (a["tpost"] - a["tpre"])
        - (a["cpost"] - a["cpre"])
        + (a["dpost"] - a["dt1"])
        - (a["dpre"] - a["dt0"])
    )
    alr_ps = _ps_linrep(d, x, ps, iw)

    def mom(w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return (w * v)[:, None] * x

    inf_tpre = e_tpre - w_tpre * a["tpre"] / w_tpre.mean()
    inf_tpost = e_tpost - w_tpost * a["tpost"] / w_tpost.mean()
    m_tpost = -mom(w_tpost, post).mean(axis=0) / w_tpost.mean()
    m_tpre = -mom(w_tpre, 1 - post).mean(axis=0) / w_tpre.mean()
    inf_t = inf_tpost - inf_tpre + alr["cpost"] @ m_tpost + alr["cpre"] @ m_tpre
    inf_cpre = e_cpre - w_cpre * a["cpre"] / w_cpre.mean()
    inf_cpost = e_cpost - w_cpost * a["cpost"] / w_cpost.mean()
    m_cpre = mom(w_cpre, y - out_c - a["cpre"]).mean(axis=0) / w_cpre.mean()
    m_cpost = mom(w_cpost, y - out_c - a["cpost"]).mean(axis=0) / w_cpost.mean()
    inf_c_ps = alr_ps @ (m_cpost - m_cpre)
    r_cpost = -mom(w_cpost, post).mean(axis=0) / w_cpost.mean()
    r_cpre = -mom(w_cpre, 1 - post).mean(axis=0) / w_cpre.mean()
    inf_c = inf_cpost - inf_cpre + inf_c_ps + alr["cpost"] @ r_cpost + alr["cpre"] @ r_cpre
    inf_eff = (
        (e_dpost - w_d * a["dpost"] / w_d.mean())
        - (e_dt1 - w_dt1 * a["dt1"] / w_dt1.mean())
        - ((e_dpre - w_d * a["dpre"] / w_d.mean()) - (e_dt0 - w_dt0 * a["dt0"] / w_dt0.mean()))
    )
    mom_post = ((w_d / w_d.mean() - w_dt1 / w_dt1.mean())[:, None] * x).mean(axis=0)
    mom_pre = ((w_d / w_d.mean() - w_dt0 / w_dt0.mean())[:, None] * x).mean(axis=0)
    inf_or = (alr["tpost"] - alr["cpost"]) @ mom_post - (alr["tpre"] - alr["cpre"]) @ mom_pre
    return float(est), inf_t - inf_c + inf_eff + inf_or, ok


# --- group-time effects ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Cells:
    group: np.ndarray  # K cohort periods
    time: np.ndarray  # K periods
    att: np.ndarray  # K
    psi: np.ndarray  # n × K influence functions (scaled to all n units)


def _att_gt(
    panel: _Panel,
    control: Control,
    method: Method,
    warnings: list[str],
    *,
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
) -> _Cells:
    periods, g_unit = panel.periods, panel.cohort
    n, n_t = panel.y.shape
    cohorts = np.unique(g_unit[np.isfinite(g_unit)])
    universal = base_period == "universal"
    groups, times, atts, psis = [], [], [], []
    failed: list[str] = []
    empty: list[str] = []
    for g in cohorts:
        treat = g_unit == g
        pre = np.flatnonzero(periods < g - anticipation)
        if not len(pre):
            continue
        g_base = pre[-1]
        for j in range(0 if universal else 1, n_t):
            t = periods[j]
            b = g_base if (t >= g or universal) else j - 1
            if j == b:  # universal base period: the base period itself, 0 by construction
                groups.append(g)
                times.append(t)
                atts.append(0.0)
                psis.append(np.zeros(n))
                continue
            if control == "never":
                comp = ~np.isfinite(g_unit)
            else:
                edge = periods[max(j, b)] + anticipation
                comp = ~np.isfinite(g_unit) | ((g_unit > edge) & (g_unit != g))
            sub = treat | comp
            if not comp.any():
                continue
            if panel.observed is not None:
                att, psi, ok = _cell_rc(panel, treat, sub, j, b, method)
                if ok is None:
                    empty.append(f"({int(g)},{int(t)})")
                elif not ok:
                    failed.append(f"({int(g)},{int(t)})")
                groups.append(g)
                times.append(t)
                atts.append(att)
                psis.append(psi)
                continue
            d = treat[sub].astype(float)
            dy = panel.y[sub, j] - panel.y[sub, b]
            x = np.column_stack([np.ones(int(sub.sum())), panel.x[min(j, b)][sub]])
            iw = None if panel.weights is None else panel.weights[sub]
            try:
                if method == "reg":
                    att, inf = _reg(dy, d, x, iw)
                    ok = True
                elif method == "ipw":
                    att, inf, ok = _ipw(dy, d, x, iw)
                else:
                    att, inf, ok = _dr(dy, d, x, iw)
            except np.linalg.LinAlgError:
                att, inf, ok = np.nan, np.full(len(d), np.nan), False
                failed.append(f"({int(g)},{int(t)})")
            else:
                if not ok:
                    failed.append(f"({int(g)},{int(t)})")
            psi = np.zeros(n)
            psi[sub] = (n / sub.sum()) * inf
            groups.append(g)
            times.append(t)
            atts.append(att)
            psis.append(psi)
    if failed:
        warnings.append(
            "the propensity score or the regression could not be fitted (covariates collinear "
            f"or separating treated from comparison units) for ATT(g,t) {', '.join(failed)}"
        )
    if empty:
        warnings.append(
            "no treated or no comparison unit observed in one of the two periods compared, "
            f"so no estimate, for ATT(g,t) {', '.join(empty)}"
        )
    if not groups:
        raise InputError(
            "no cohort has a comparison group: with --control notyet there must be units "
            "treated later (or never) than each cohort"
        )
    return _Cells(np.asarray(groups), np.asarray(times), np.asarray(atts), np.column_stack(psis))


def _cell_rc(
    panel: _Panel, treat: np.ndarray, sub: np.ndarray, j: int, b: int, method: Method
) -> tuple[float, np.ndarray, bool | None]:
    """One ATT(g,t) of an unbalanced panel by the repeated cross-section estimator: the rows
    of units in ``sub`` observed in period j (post) or b (pre); the influence function summed
    per unit. ``ok`` is None when a treated or comparison row is missing in a period."""
    n = panel.y.shape[0]
    assert panel.observed is not None
    rows_post = np.flatnonzero(sub & panel.observed[:, j])
    rows_pre = np.flatnonzero(sub & panel.observed[:, b])
    units = np.concatenate([rows_post, rows_pre])
    post = np.concatenate([np.ones(len(rows_post)), np.zeros(len(rows_pre))])
    d = treat[units].astype(float)
    nothing = np.full(n, np.nan)
    counts = [(d * post).sum(), (d * (1 - post)).sum()]
    counts += [((1 - d) * post).sum(), ((1 - d) * (1 - post)).sum()]
    if min(counts) == 0:
        return float("nan"), nothing, None
    y = np.concatenate([panel.y[rows_post, j], panel.y[rows_pre, b]])
    x = np.column_stack(
        [np.ones(len(units)), np.concatenate([panel.x[j][rows_post], panel.x[b][rows_pre]])]
    )
    iw = np.ones(len(units)) if panel.weights is None else panel.weights[units]
    iw = iw / iw.mean()
    estimator = {"reg": _reg_rc, "ipw": _ipw_rc, "dr": _dr_rc}[method]
    try:
        att, inf, ok = estimator(y, post, d, x, iw)
    except np.linalg.LinAlgError:
        return float("nan"), nothing, False
    psi = np.bincount(units, weights=inf * (n / len(units)), minlength=n)
    return att, psi, ok


# --- aggregation ----------------------------------------------------------------------------


def _wif(
    keep_groups: np.ndarray,
    pg: np.ndarray,
    g_unit: np.ndarray,
    att: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """R ``aggte``'s term for the estimated weights pg/Σpg, times the effects: n-vector."""
    member = (g_unit[:, None] == keep_groups[None, :]).astype(float)
    if weights is not None:
        member = member * weights[:, None]
    ind = member - pg[None, :]
    total = pg.sum()
    if1 = ind / total
    if2 = np.outer(ind.sum(axis=1), pg / total**2)
    return (if1 - if2) @ att


@dataclass
class _Family:
    """One aggregation: the overall value and its rows (per cohort, event time, period)."""

    name: str
    keys: np.ndarray
    att: np.ndarray
    psi: np.ndarray  # n × len(keys)
    overall: float
    overall_psi: np.ndarray  # n


def _aggregate(
    cells: _Cells, g_unit: np.ndarray, weights: np.ndarray | None = None
) -> list[_Family]:
    n = len(g_unit)
    glist = np.unique(cells.group)
    if weights is None:
        pg_group = np.array([(g_unit == g).mean() for g in glist])
    else:  # R aggte: pg = mean(w · 1{G = g}) over units
        pg_group = np.array([(weights * (g_unit == g)).mean() for g in glist])
    pg = pg_group[np.searchsorted(glist, cells.group)]
    att, psi = cells.att, cells.psi
    post = cells.group <= cells.time
    families = []

    # simple
    k = np.flatnonzero(post)
    w = pg[k] / pg[k].sum()
    simple_psi = psi[:, k] @ w + _wif(cells.group[k], pg[k], g_unit, att[k], weights)
    families.append(
        _Family("simple", np.zeros(0), np.zeros(0), np.zeros((n, 0)), float(att[k] @ w), simple_psi)
    )

    # group
    g_att = np.empty(len(glist))
    g_psi = np.empty((n, len(glist)))
    for i, g in enumerate(glist):
        kk = np.flatnonzero(post & (cells.group == g))
        g_att[i] = att[kk].mean()
        g_psi[:, i] = psi[:, kk].mean(axis=1)
    wg = pg_group / pg_group.sum()
    families.append(
        _Family(
            "group",
            glist,
            g_att,
            g_psi,
            float(g_att @ wg),
            g_psi @ wg + _wif(glist, pg_group, g_unit, g_att, weights),
        )
    )

    # dynamic (event study)
    event = cells.time - cells.group
    elist = np.unique(event)
    e_att = np.empty(len(elist))
    e_psi = np.empty((n, len(elist)))
    for i, e in enumerate(elist):
        kk = np.flatnonzero(event == e)
        we = pg[kk] / pg[kk].sum()
        e_att[i] = att[kk] @ we
        e_psi[:, i] = psi[:, kk] @ we + _wif(cells.group[kk], pg[kk], g_unit, att[kk], weights)
    epos = elist >= 0
    families.append(
        _Family(
            "dynamic",
            elist,
            e_att,
            e_psi,
            float(e_att[epos].mean()),
            e_psi[:, epos].mean(axis=1),
        )
    )

    # calendar
    tlist = np.unique(cells.time[cells.time >= glist.min()])
    t_att = np.empty(len(tlist))
    t_psi = np.empty((n, len(tlist)))
    for i, t in enumerate(tlist):
        kk = np.flatnonzero((cells.time == t) & post)
        wt = pg[kk] / pg[kk].sum()
        t_att[i] = att[kk] @ wt
        t_psi[:, i] = psi[:, kk] @ wt + _wif(cells.group[kk], pg[kk], g_unit, att[kk], weights)
    families.append(
        _Family("calendar", tlist, t_att, t_psi, float(t_att.mean()), t_psi.mean(axis=1))
    )
    return families


# --- inference ------------------------------------------------------------------------------


def _analytic_se(psi: np.ndarray) -> np.ndarray:
    n = psi.shape[0]
    se = np.sqrt(np.mean(psi**2, axis=0) / n)
    return np.where(se <= _EPS_SE, np.nan, se)


def _draws(rng: np.random.Generator, size: tuple[int, int], kind: Multiplier) -> np.ndarray:
    if kind == "rademacher":
        return rng.integers(0, 2, size=size).astype(float) * 2 - 1
    sqrt5 = np.sqrt(5.0)
    low, high = (1 - sqrt5) / 2, (1 + sqrt5) / 2
    p_low = (sqrt5 + 1) / (2 * sqrt5)
    return np.where(rng.random(size) < p_low, low, high)


def _bootstrap(
    psi: np.ndarray,
    reps: int,
    seed: int | None,
    kind: Multiplier,
    progress: Progress | None,
) -> np.ndarray:
    """reps × m draws of √n · mean(v · ψ), one multiplier v per unit and replicate."""
    n, m = psi.shape
    rng = np.random.default_rng(seed)
    out = np.empty((reps, m))
    for start in range(0, reps, _BLOCK):
        stop = min(start + _BLOCK, reps)
        v = _draws(rng, (stop - start, n), kind)
        out[start:stop] = v @ psi / np.sqrt(n)
        if progress is not None:
            progress(stop - start)
    return out


def _boot_se(draws: np.ndarray, n: int) -> np.ndarray:
    q75 = np.quantile(draws, 0.75, axis=0, method="inverted_cdf")
    q25 = np.quantile(draws, 0.25, axis=0, method="inverted_cdf")
    sigma = (q75 - q25) / _IQR_NORMAL
    se = sigma / np.sqrt(n)
    return np.where(se <= _EPS_SE, np.nan, se)


def _sup_t(draws: np.ndarray, se: np.ndarray, n: int, alpha: float) -> float:
    ok = np.isfinite(se)
    if not ok.any():
        return float("nan")
    t = np.max(np.abs(draws[:, ok] / (se[ok] * np.sqrt(n))), axis=1)
    return float(np.quantile(t, 1 - alpha, method="inverted_cdf"))


def _z(alpha: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / 2)


# --- two-way fixed effects ------------------------------------------------------------------


def twfe(y: np.ndarray, d: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """``y ~ d | unit + time`` on a balanced n × T panel, clustered by unit.

    Returns (estimate, se, ci_low, ci_high). The small-sample factor is fixest's default
    for clustered errors with the unit effects nested in the clusters:
    G/(G − 1) · (N − 1)/(N − K), K = 1 + (T − 1) time effects.
    """
    n, n_t = y.shape

    def within(a: np.ndarray) -> np.ndarray:
        return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()

    dt, yt = within(d.astype(float)), within(y)
    sdd = float((dt * dt).sum())
    if sdd <= 0:
        return (float("nan"),) * 4
    beta = float((dt * yt).sum() / sdd)
    resid = yt - beta * dt
    scores = (dt * resid).sum(axis=1)
    n_obs = n * n_t
    k = n_t
    factor = n / (n - 1) * (n_obs - 1) / (n_obs - k)
    se = float(np.sqrt(factor * (scores**2).sum()) / sdd)
    z = _z(alpha)
    return beta, se, beta - z * se, beta + z * se


def _twfe_general(
    data: _Panel, d: np.ndarray, alpha: float
) -> tuple[float, float, float, float, int]:
    """``y ~ D | unit + time`` with sampling weights and/or an unbalanced panel."""
    n, n_t = data.y.shape
    observed = data.observed if data.observed is not None else np.ones((n, n_t), bool)
    uu, tt = np.nonzero(observed)
    w = None if data.weights is None else data.weights[uu]
    try:
        coef, vcov, _ = fe_ols(
            data.y[uu, tt], d[uu, tt].astype(float)[:, None], uu, data.periods[tt], w
        )
    except InputError:
        nan = float("nan")
        return nan, nan, nan, nan, len(uu)
    beta, se = float(coef[0]), float(np.sqrt(vcov[0, 0]))
    z = _z(alpha)
    return beta, se, beta - z * se, beta + z * se, len(uu)


# --- the entry point ------------------------------------------------------------------------


def did(
    panel: Any,
    *,
    unit: str,
    time: str,
    outcome: str,
    cohort: str,
    control: Control = "never",
    method: Method = "dr",
    covariates: Sequence[str] | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
    multiplier: Multiplier = "mammen",
    alpha: float = 0.05,
    progress: Progress | None = None,
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
    weights: str | None = None,
    allow_unbalanced: bool = False,
) -> DidResult:
    """Callaway & Sant'Anna group-time effects, their aggregations and TWFE beside them.

    Args:
        panel: a balanced panel (polars, pandas or Arrow), one row per unit and period.
        unit, time, outcome: the columns naming the unit, the period (whole numbers such as
            years) and the outcome.
        cohort: the column holding each unit's first treated period (the same in all its
            rows); 0 or empty for units never treated.
        control: ``"never"`` (default, as R ``did``): compare with never-treated units;
            ``"notyet"``: also with units treated later than the periods compared.
        method: ``"dr"`` (doubly robust, default), ``"reg"`` (outcome regression) or
            ``"ipw"`` (inverse probability weighting); the same without covariates.
        covariates: columns adjusted for (their values in the base period are used).
        bootstrap: multiplier bootstrap replicates (0: analytic standard errors, pointwise
            intervals); with replicates, bootstrap standard errors and uniform bands.
        seed: seed of the bootstrap draws (same seed, same numbers).
        multiplier: ``"mammen"`` (default, as R ``did``) or ``"rademacher"`` weights.
        alpha: 1 − the level of the intervals (0.05: 95 %).
        progress: called with the replicates just finished (see
            :mod:`bryta.compute.progress`); total ``bootstrap``.
        anticipation: periods before its start in which a cohort may already react (R's
            ``anticipation``): the base period is the last one before ``g − anticipation``,
            and not-yet-treated comparisons must start more than ``anticipation`` periods
            after the periods compared.
        base_period: ``"varying"`` (default, as R): pre-start estimates compare each period
            with the one before; ``"universal"``: every estimate compares with the period
            before ``g − anticipation``, which gets an estimate of 0 (no standard error).
        weights: column of sampling weights (the same in every row of a unit; R's
            ``weightsname``): every mean, regression and cohort share is weighted.
        allow_unbalanced: accept units lacking some periods (R's
            ``allow_unbalanced_panel``): each ATT(g,t) then uses the repeated
            cross-section estimator on the rows of its two periods, with the influence
            functions summed per unit (standard errors still clustered by unit). A balanced
            panel gives the same numbers as without it.

    Returns:
        A :class:`DidResult`.

    Raises:
        InputError: a column is missing or holds the wrong kind of values, the cohort is not
            a period (or 0/empty), a unit appears twice in a period, the panel is unbalanced,
            there are no never-treated units with ``control="never"``, no not-yet-treated
            comparisons, or no cohort with a period before its start.
    """
    if control not in ("never", "notyet"):
        raise InputError(f"control must be 'never' or 'notyet', not {control!r}")
    if method not in ("reg", "ipw", "dr"):
        raise InputError(f"method must be 'reg', 'ipw' or 'dr', not {method!r}")
    if multiplier not in ("mammen", "rademacher"):
        raise InputError(f"multiplier must be 'mammen' or 'rademacher', not {multiplier!r}")
    if bootstrap < 0:
        raise InputError(f"the number of bootstrap replicates must be 0 or more, not {bootstrap}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, not {alpha}")
    if isinstance(anticipation, bool) or not isinstance(anticipation, int) or anticipation < 0:
        raise InputError(
            f"anticipation must be a whole number of periods, 0 or more, not {anticipation!r}"
        )
    if base_period not in ("varying", "universal"):
        raise InputError(f"base_period must be 'varying' or 'universal', not {base_period!r}")
    covs = tuple(covariates or ())
    for c in covs:
        if c in (unit, time, outcome, cohort):
            raise InputError(f"covariate {c!r} is also the unit, period, outcome or cohort")
    if weights is not None and weights in (unit, time, outcome, cohort, *covs):
        raise InputError(f"the weights column {weights!r} is also another column of the design")
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
    warnings: list[str] = []
    if data.dropped_first:
        first_text = (
            f"from the first period {data.periods[0]}"
            if not anticipation
            else f"by period {data.periods[0] + anticipation} (the first period + anticipation)"
        )
        warnings.append(
            f"{data.dropped_first} unit(s) treated {first_text} have no period before "
            "treatment and are left out"
        )
    if len(data.periods) < 2:
        raise InputError(f"the panel has one period ({data.periods[0]}); at least two are needed")
    g_unit = data.cohort
    treated = np.isfinite(g_unit)
    if not treated.any():
        raise InputError(
            f"no treated units with a period before treatment: column {cohort!r} must hold, "
            f"for some units, a first treated period after the first period {data.periods[0]}"
        )
    if treated.all() and control == "never":
        raise InputError(
            f"no never-treated units (0 or empty in column {cohort!r}) to compare with; "
            "use --control notyet to compare with units treated later"
        )
    if treated.all():
        # R did: the last cohort becomes the comparison, periods from its start (less the
        # anticipation) are left out
        last = g_unit.max()
        if (np.unique(g_unit).size) < 2:
            raise InputError(
                f"no not-yet-treated comparisons: every unit starts in {int(last)} and none "
                "is never treated"
            )
        keep_t = data.periods < last - anticipation
        if keep_t.sum() < 2:
            raise InputError(
                "no not-yet-treated comparisons: too few periods before the last cohort"
            )
        warnings.append(
            f"no never-treated units: the cohort {int(last)} serves as the comparison and "
            f"the periods from {int(last - anticipation)} on are left out"
        )
        data = _Panel(
            data.units,
            data.periods[keep_t],
            data.y[:, keep_t],
            np.where(g_unit == last, np.inf, g_unit),
            data.x[keep_t],
            data.dropped_first,
            data.weights,
            None if data.observed is None else data.observed[:, keep_t],
        )
        g_unit = data.cohort
    n = len(g_unit)
    cells = _att_gt(
        data, control, method, warnings, anticipation=anticipation, base_period=base_period
    )
    families = _aggregate(cells, g_unit, data.weights)

    # inference: all influence functions side by side, one bootstrap for all
    blocks = [cells.psi] + [f.psi for f in families] + [f.overall_psi[:, None] for f in families]
    psi_all = np.column_stack(blocks)
    z = _z(alpha)
    crit: dict[str, float] = {}
    if bootstrap:
        draws = _bootstrap(np.nan_to_num(psi_all), bootstrap, seed, multiplier, progress)
        se_all = _boot_se(draws, n)
        band = "uniform"
    else:
        se_all = _analytic_se(psi_all)
        band = "pointwise"
    se_all = np.where(np.isnan(psi_all).any(axis=0), np.nan, se_all)
    sizes = [b.shape[1] for b in blocks]
    offsets = np.cumsum([0, *sizes])

    def part(i: int) -> slice:
        return slice(int(offsets[i]), int(offsets[i + 1]))

    names = ["att_gt"] + [f.name for f in families]
    for i, name in enumerate(names):
        if bootstrap and sizes[i]:
            crit[name] = _sup_t(draws[:, part(i)], se_all[part(i)], n, alpha)
        elif sizes[i]:
            crit[name] = z
    rows: list[dict[str, Any]] = []

    def add(agg: str, est: float, se: float, cv: float, **keys: Any) -> None:
        ok = np.isfinite(se) and np.isfinite(cv)
        rows.append(
            {
                "aggregation": agg,
                "group": keys.get("group"),
                "time": keys.get("time"),
                "event_time": keys.get("event_time"),
                "estimate": float(est),
                "se": float(se) if np.isfinite(se) else None,
                "ci_low": float(est - cv * se) if ok else None,
                "ci_high": float(est + cv * se) if ok else None,
            }
        )

    se_cells = se_all[part(0)]
    for g, t, a, s in zip(cells.group, cells.time, cells.att, se_cells, strict=True):
        add("att_gt", a, s, crit["att_gt"], group=int(g), time=int(t), event_time=int(t - g))
    for i, fam in enumerate(families):
        overall_se = se_all[part(1 + len(families) + i)][0]
        add(fam.name, fam.overall, overall_se, z)
        se_rows = se_all[part(1 + i)]
        cv = crit.get(fam.name, z)
        for key, a, s in zip(fam.keys, fam.att, se_rows, strict=True):
            if fam.name == "group":
                add(fam.name, a, s, cv, group=int(key))
            elif fam.name == "dynamic":
                add(fam.name, a, s, cv, event_time=int(key))
            else:
                add(fam.name, a, s, cv, time=int(key))
    estimates = pl.DataFrame(
        rows,
        schema={
            "aggregation": pl.String,
            "group": pl.Int64,
            "time": pl.Int64,
            "event_time": pl.Int64,
            "estimate": pl.Float64,
            "se": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    )

    d = np.isfinite(g_unit)[:, None] & (data.periods[None, :] >= g_unit[:, None])
    if data.weights is None and data.observed is None:
        est, se, lo, hi = twfe(data.y, d, alpha)
        n_obs = int(data.y.size)
    else:
        est, se, lo, hi, n_obs = _twfe_general(data, d, alpha)
    twfe_frame = pl.DataFrame(
        {
            "estimate": [est],
            "se": [se],
            "ci_low": [lo],
            "ci_high": [hi],
            "n_obs": [n_obs],
        }
    )

    n_cohorts = np.unique(g_unit[np.isfinite(g_unit)]).size
    cohort_frame = (
        pl.DataFrame({"group": np.where(np.isfinite(g_unit), g_unit, np.nan)})
        .with_columns(pl.col("group").fill_nan(None).cast(pl.Int64))
        .group_by("group")
        .len("n_units")
        .sort("group", nulls_last=True)
        .with_columns(pl.col("n_units").cast(pl.Int64))
    )
    return DidResult(
        estimates=estimates,
        twfe=twfe_frame,
        twfe_warning=TWFE_WARNING if n_cohorts > 1 else "",
        cohorts=cohort_frame,
        n_units=n,
        n_periods=len(data.periods),
        control=control,
        method=method,
        covariates=covs,
        bootstrap=int(bootstrap),
        seed=seed,
        multiplier=multiplier,
        alpha=alpha,
        band=band,
        critical_values=crit,
        warnings=tuple(warnings),
        influence=cells.psi,
        anticipation=anticipation,
        base_period=base_period,
        weights=weights,
        unbalanced=data.observed is not None,
        panel=data,
    )
