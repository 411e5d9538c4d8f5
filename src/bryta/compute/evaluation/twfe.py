"""The two-way fixed effects event-study regression, shown beside the staggered estimates.

    y_it = α_i + λ_t + Σ_{e ≠ −1} β_e · 1{t − g_i = e} + ε_it

with unit effects α_i, period effects λ_t and one dummy per period relative to the start
(event time e = t − g_i) for the units that are ever treated; never-treated units have no
dummy, and e = −1 (the period before the start) is the reference. ``bin_min`` and ``bin_max``
bin the endpoints: every event time below ``bin_min`` shares the dummy of ``bin_min``, every
one above ``bin_max`` that of ``bin_max``.

Standard errors are clustered by unit with fixest's default small-sample correction
(``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)``): the sandwich is multiplied by
G/(G − 1) · (N − 1)/(N − K), G the number of units, N the observations, and K the
coefficients plus the fixed effects *not* nested in the clusters: the unit effects are nested
in the unit clusters and are not counted, the period effects count T − 1. (The same factor as
:func:`.did.twfe`.)

How it is computed: the unit effects are removed by (weighted) demeaning within unit, and the
period effects enter as T − 1 dummy columns; by Frisch–Waugh–Lovell the coefficients and
residuals are those of the full dummy-variable regression, and since the unit effects are
nested in the clusters the cluster-robust sandwich of the partialled regression is the
coefficient block of the full one. Exact, no iteration, and it works on unbalanced panels and
with sampling weights.

Under staggered adoption with effects that differ between cohorts or change with time since
the start, the β_e are contaminated by the effects at other event times and in other cohorts
(Sun & Abraham 2021): they are shown only for comparison with the Callaway & Sant'Anna event
study.

Reference: Sun, L. & Abraham, S. (2021). Estimating dynamic treatment effects in event
studies with heterogeneous treatment effects. Journal of Econometrics 225(2), 175–199.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.compute.evaluation.did import _Panel

__all__ = ["TWFE_ES_WARNING", "TwfeEventStudy", "twfe_event_study"]

TWFE_ES_WARNING = (
    "biased when adoption is staggered and effects differ: the two-way fixed effects event "
    "study mixes in effects of other cohorts and event times; shown for comparison only"
)
#: The columns of :attr:`TwfeEventStudy.estimates`.
TWFE_COLUMNS = ("event_time", "estimate", "se", "ci_low", "ci_high")


@dataclass(frozen=True)
class TwfeEventStudy:
    """What :func:`twfe_event_study` returns.

    Attributes:
        estimates: ``event_time, estimate, se, ci_low, ci_high``, one row per event time in
            order, the reference e = −1 included with estimate 0 and empty se and interval.
            With binning, the ``bin_min`` and ``bin_max`` rows stand for all event times at
            or beyond them.
        warning: why this is not the answer (empty with a single cohort).
        n_obs, n_units: observations and clusters used.
        bin_min, bin_max: the binning (None: none).
    """

    estimates: pl.DataFrame
    warning: str
    n_obs: int
    n_units: int
    bin_min: int | None
    bin_max: int | None


def twfe_event_study_arrays(
    y: np.ndarray,
    unit: np.ndarray,
    period: np.ndarray,
    cohort: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    bin_min: int | None = None,
    bin_max: int | None = None,
    alpha: float = 0.05,
) -> TwfeEventStudy:
    """The event study on long arrays: one entry per observation.

    Args:
        y: outcomes.
        unit: unit codes (any integers; the clusters).
        period: periods (whole numbers).
        cohort: the unit's first treated period, ``inf`` (or NaN) for never treated.
        weights: sampling weights per observation (constant within unit), or None.
        bin_min, bin_max: bin the event times below / above these.
        alpha: 1 − the level of the intervals.
    """
    y = np.asarray(y, dtype=float)
    cohort = np.where(np.isnan(cohort), np.inf, np.asarray(cohort, dtype=float))
    treated = np.isfinite(cohort)
    if not treated.any():
        raise InputError("the event study needs treated units: no unit has a first period")
    if bin_min is not None and bin_min > -1:
        raise InputError(f"bin_min must be −1 or less (the reference is −1), not {bin_min}")
    if bin_max is not None and bin_max < 0:
        raise InputError(f"bin_max must be 0 or more, not {bin_max}")
    event = np.where(treated, period - np.where(treated, cohort, 0), np.nan)
    if bin_min is not None:
        event = np.where(treated & (event < bin_min), bin_min, event)
    if bin_max is not None:
        event = np.where(treated & (event > bin_max), bin_max, event)
    levels = np.unique(event[treated]).astype(int)
    keep = levels[levels != -1]
    n_obs = len(y)
    x = (event[:, None] == keep[None, :]).astype(float)
    coef, vcov, n_units = fe_ols(y, x, unit, period, weights)
    m = len(keep)
    est = coef[:m]
    se = np.sqrt(np.diag(vcov)[:m])
    z_crit = NormalDist().inv_cdf(1 - alpha / 2)
    rows: list[dict[str, float | int | None]] = [
        {
            "event_time": int(e),
            "estimate": float(b),
            "se": float(s),
            "ci_low": float(b - z_crit * s),
            "ci_high": float(b + z_crit * s),
        }
        for e, b, s in zip(keep, est, se, strict=True)
    ]
    if -1 in levels:
        rows.append(
            {"event_time": -1, "estimate": 0.0, "se": None, "ci_low": None, "ci_high": None}
        )
    frame = pl.DataFrame(
        rows,
        schema={
            "event_time": pl.Int64,
            "estimate": pl.Float64,
            "se": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    ).sort("event_time")
    n_cohorts = np.unique(cohort[treated]).size
    return TwfeEventStudy(
        estimates=frame,
        warning=TWFE_ES_WARNING if n_cohorts > 1 else "",
        n_obs=n_obs,
        n_units=n_units,
        bin_min=bin_min,
        bin_max=bin_max,
    )


def fe_ols(
    y: np.ndarray,
    x: np.ndarray,
    unit: np.ndarray,
    period: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """``y ~ x | unit + period`` by (weighted) least squares, clustered by unit (CR1 with
    fixest's default small-sample factor); returns the coefficients of ``x``, their
    covariance and the number of clusters. Raises InputError when ``x`` is collinear with the
    fixed effects."""
    n_obs, m = x.shape
    w = np.ones(n_obs) if weights is None else np.asarray(weights, dtype=float)
    u_codes, u_idx = np.unique(unit, return_inverse=True)
    t_codes, t_idx = np.unique(period, return_inverse=True)
    n_units, n_t = len(u_codes), len(t_codes)
    tdum = (t_idx[:, None] == np.arange(1, n_t)[None, :]).astype(float)
    z = np.column_stack([x, tdum, y])
    # within-unit weighted demeaning removes the unit effects
    wsum = np.bincount(u_idx, weights=w, minlength=n_units)
    means = (
        np.stack(
            [np.bincount(u_idx, weights=w * z[:, j], minlength=n_units) for j in range(z.shape[1])],
            axis=1,
        )
        / np.where(wsum > 0, wsum, 1)[:, None]
    )
    zt = z - means[u_idx]
    design, yt = np.ascontiguousarray(zt[:, :-1]), zt[:, -1]
    wd = design * w[:, None]
    gram = wd.T @ design
    # the normal equations (k × k, k = coefficients + T − 1): collinearity shows as a
    # (scaled) gram matrix of deficient rank
    scale = np.sqrt(np.where(np.diag(gram) > 0, np.diag(gram), 1.0))
    scaled = gram / np.outer(scale, scale)
    if (np.diag(gram) <= 1e-12).any() or np.linalg.matrix_rank(scaled, tol=1e-10) < len(gram):
        raise InputError(
            "the fixed-effects regression is not identified (the regressors are collinear "
            "with the unit and period effects, e.g. relative-time dummies without "
            "never-treated units): bin the endpoints (bin_min, bin_max)"
        )
    bread = np.linalg.inv(gram)
    coef = bread @ (wd.T @ yt)
    resid = yt - design @ coef
    wr = w * resid
    scores = np.stack(
        [
            np.bincount(u_idx, weights=design[:, j] * wr, minlength=n_units)
            for j in range(len(gram))
        ],
        axis=1,
    )
    k = m + (n_t - 1)
    factor = n_units / (n_units - 1) * (n_obs - 1) / (n_obs - k)
    vcov = factor * bread @ (scores.T @ scores) @ bread
    return coef[:m], vcov[:m, :m], n_units


def twfe_event_study(
    panel: Any,
    *,
    unit: str,
    time: str,
    outcome: str,
    cohort: str,
    weights: str | None = None,
    bin_min: int | None = None,
    bin_max: int | None = None,
    allow_unbalanced: bool = False,
    alpha: float = 0.05,
) -> TwfeEventStudy:
    """The two-way fixed effects event study of a panel, for comparison only.

    Args:
        panel, unit, time, outcome, cohort, weights, allow_unbalanced: as for
            :func:`.did.did` (the same checks of the panel).
        bin_min, bin_max: bin the event times below ``bin_min`` (≤ −1) and above
            ``bin_max`` (≥ 0) into the endpoint dummies.
        alpha: 1 − the level of the intervals.

    Returns:
        A :class:`TwfeEventStudy`.
    """
    from bryta.compute.evaluation.did import _prepare

    data = _prepare(
        panel,
        unit=unit,
        time=time,
        outcome=outcome,
        cohort=cohort,
        covariates=(),
        weights=weights,
        allow_unbalanced=allow_unbalanced,
    )
    return panel_event_study(data, bin_min=bin_min, bin_max=bin_max, alpha=alpha)


def panel_event_study(
    data: _Panel, *, bin_min: int | None = None, bin_max: int | None = None, alpha: float = 0.05
) -> TwfeEventStudy:
    """The event study of a prepared panel (:class:`.did._Panel`)."""
    y = data.y
    n, n_t = y.shape
    observed = data.observed if data.observed is not None else np.ones((n, n_t), bool)
    uu, tt = np.nonzero(observed)
    w = None if data.weights is None else data.weights[uu]
    return twfe_event_study_arrays(
        y[uu, tt],
        uu,
        data.periods[tt],
        data.cohort[uu],
        weights=w,
        bin_min=bin_min,
        bin_max=bin_max,
        alpha=alpha,
    )
