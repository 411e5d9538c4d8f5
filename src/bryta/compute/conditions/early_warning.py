"""Early warning: areas on their way towards the area types with socioeconomic challenges.

The area types (:mod:`bryta.compute.conditions.area_types`) say where an area stands; this
module says where it is heading, in absolute terms beside the relative type, and how sure
that is. Everything works on a panel of the socioeconomic index per area and period (or the
shares it is computed from, exactly as :func:`bryta.area_types` computes it):

* :func:`trajectories` — per area, the index in the last period, its linear (OLS) trend per
  period with a t-based interval, the gap to the **type-2 threshold** of the last period
  (mean + 1 SD of that period's index distribution, the lower edge of type 2, as
  :func:`bryta.area_types` computes it), and the period in which the trend would reach that
  threshold within the horizon, with a Fieller interval on the crossing time;
* :func:`transition_risk` — the probability of being in type 1 or 2 after 1, 3 and 5 periods,
  from a Markov chain on the five types estimated from every observed transition (pooled over
  areas and periods), and from one whose state is the type *and* the recent trend of the
  index (falling, stable, rising), with percentile intervals from a bootstrap over areas;
* :func:`watch_list` — both, and the watch list rule (:class:`WatchRule`): an area not in
  type 1 or 2 is flagged when its trend reaches the threshold within the horizon, or when its
  risk of type 1 or 2 after 5 periods is at least ``risk_threshold``; every flag has its
  reason in words (:func:`reason_en`, :func:`reason_sv`);
* :func:`backtest` — the rule's track record: flag with the data up to each period ``t`` and
  score against the types that followed (precision, recall, recall with at least two
  periods' lead, lead time).

**The threshold is relative and moves.** The type-2 threshold is a point of each period's
distribution, not a fixed level: the crossing is computed against the threshold of the last
period, held fixed. If the whole distribution shifts, an area can reach that number and still
not change type (or change type without moving). The transition risks, estimated from the
observed types, carry the relative view; the trend, the crossing and the gap carry the
absolute one.

Periods must be whole numbers (years): the trend is per unit of the period column, which is
per period when the periods are consecutive; the horizon counts periods of the panel's step
(the smallest difference between two consecutive periods). Every area and period is computed
at once with polars and numpy; the only Python loops run over periods (the backtest's
origins), trend classes and matrix powers, never over areas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl

from bryta.compute.conditions.area_types import OFFICIAL_CUTOFFS, area_types
from bryta.compute.segregation.counts import to_polars
from bryta.errors import InputError

__all__ = [
    "TREND_CLASSES",
    "WATCH_COLUMNS",
    "Backtest",
    "EarlyWarningError",
    "WatchRule",
    "backtest",
    "reason_en",
    "reason_sv",
    "trajectories",
    "transition_risk",
    "typed_panel",
    "watch_list",
]

#: The columns of the watch list file, after the unit column, in this order.
WATCH_COLUMNS: tuple[str, ...] = (
    "index_last",
    "trend",
    "trend_low",
    "trend_high",
    "crossing_period",
    "risk_1",
    "risk_3",
    "risk_5",
    "flagged",
    "reason",
)
#: The recent-trend classes of the conditioned chain, in state order.
TREND_CLASSES: tuple[str, ...] = ("falling", "stable", "rising")
_N_TYPES = 5
_CHALLENGED = (1, 2)  # the types counted as "socioeconomic challenges"
_RANK = "__rank"
_EPS = 1e-9


class EarlyWarningError(InputError):
    """The input to the early warning cannot be used (names the column and what fixes it)."""


@dataclass(frozen=True)
class WatchRule:
    """The watch list rule, stated once.

    An area is flagged when it is **not** in type 1 or 2 in the last period and

    * the OLS trend of its index reaches the type-2 threshold of the last period within
      ``horizon`` periods (``crossing_period`` is set), or
    * its probability of being in type 1 or 2 after 5 periods (``risk_5``, the
      trend-conditioned chain) is at least ``risk_threshold``.

    ``level`` is the confidence level of the trend and crossing intervals and of the
    bootstrap intervals of the risks; ``window`` the number of latest periods the trend is
    fitted on (None: all); ``stable_band`` and ``recent`` define the recent-trend classes of
    the conditioned chain (the mean change per period over the last ``recent`` periods, in SD
    of the period's index: below −band falling, above +band rising, else stable).
    """

    horizon: int = 5
    risk_threshold: float = 0.5
    level: float = 0.95
    window: int | None = None
    stable_band: float = 0.05
    recent: int = 3

    def __post_init__(self) -> None:
        if not (isinstance(self.horizon, int) and self.horizon >= 1):
            raise EarlyWarningError(f"the horizon must be a whole number ≥ 1, not {self.horizon}")
        if not (0.0 <= self.risk_threshold <= 1.0):
            raise EarlyWarningError(
                f"the risk threshold must lie in [0, 1], not {self.risk_threshold}"
            )
        if not (0.0 < self.level < 1.0):
            raise EarlyWarningError(f"the level must lie in (0, 1), e.g. 0.95, not {self.level}")
        if self.window is not None and self.window < 3:
            raise EarlyWarningError(f"the trend window needs at least 3 periods, not {self.window}")
        if self.recent < 2 or self.stable_band < 0:
            raise EarlyWarningError("the recent-trend classes need recent ≥ 2 and a band ≥ 0")


# ---- the panel ---------------------------------------------------------------------------------


def typed_panel(
    frame: Any,
    *,
    unit: str,
    period: str,
    index_col: str | None = None,
    shares: Sequence[str] | None = None,
    cutoffs: Sequence[float] = OFFICIAL_CUTOFFS,
) -> pl.DataFrame:
    """The index, the area type and the type-2 threshold per area and period.

    ``index_col`` names a column holding the socioeconomic index; ``shares`` instead names the
    share columns it is the mean of (computed exactly as :func:`bryta.area_types` does). The
    types and the period's mean and SD come from :func:`bryta.area_types` with the index as
    its single share, so the bands are the official ones.

    Returns ``<unit>, <period>`` (Int64), ``index``, ``area_type``, ``mean``, ``sd`` and
    ``threshold`` (mean + ``cutoffs[1]`` SD: the lower edge of type 2), sorted by period and
    unit.
    """
    if (index_col is None) == (shares is None or len(shares) == 0):
        raise EarlyWarningError("give either the index column (--index) or the shares (--shares)")
    if len(cutoffs) < 2:
        raise EarlyWarningError("the early warning needs at least two band edges (types 1 and 2)")
    data = to_polars(frame, "the panel")
    if period not in data.columns:
        raise EarlyWarningError(
            f"column {period!r} not found; the table has {', '.join(map(repr, data.columns))}"
        )
    data = data.with_columns(_periods(data, period, unit))
    columns = list(shares) if shares is not None and index_col is None else [str(index_col)]
    typed = area_types(
        data, unit=unit, shares=columns, by=period, cutoffs=cutoffs, details=True
    ).drop("z")
    edge = float(cutoffs[1])
    return typed.with_columns((pl.col("mean") + edge * pl.col("sd")).alias("threshold"))


def _periods(data: pl.DataFrame, period: str, unit: str) -> pl.Series:
    column = data.get_column(period)
    if column.dtype.is_integer():
        return column.cast(pl.Int64)
    text = column.cast(pl.String).str.strip_chars()
    whole = text.cast(pl.Int64, strict=False)
    bad = whole.is_null() & column.is_not_null()
    if bad.any() or column.null_count():
        first = int((bad | column.is_null()).arg_true()[0])
        raise EarlyWarningError(
            f"column {period!r} must hold whole periods such as years; row {first + 1} "
            f"({unit}={data.get_column(unit)[first]!r}) has {column[first]!r}"
        )
    return whole.alias(period)


def _step(periods: pl.Series) -> int:
    values = periods.unique().sort()
    if values.len() < 2:
        return 1
    return int(values.diff().drop_nulls().min())  # type: ignore[arg-type]


# ---- trajectories ------------------------------------------------------------------------------


def _t_quantile(level: float, df: np.ndarray) -> np.ndarray:
    from scipy.stats import t as student

    out = np.full(df.shape, np.nan)
    ok = df >= 1
    out[ok] = student.ppf(0.5 + level / 2.0, df[ok])
    return out


def _trajectories(
    typed: pl.DataFrame,
    unit: str,
    period: str,
    *,
    horizon: int,
    level: float,
    window: int | None,
    step: int,
) -> pl.DataFrame:
    last: int = typed.select(pl.col(period).max()).item()
    at_last = typed.filter(pl.col(period) == last)
    threshold = at_last.get_column("threshold").drop_nulls()
    if threshold.len() == 0:
        raise EarlyWarningError(
            f"the last period ({last}) has no type-2 threshold: fewer than two areas "
            "with an index there, or every index equal"
        )
    thr = float(threshold[0])
    rows = typed.filter(pl.col("index").is_not_null())
    if window is not None:
        rows = rows.filter(pl.col(period) > last - window * step)
    t = pl.col(period).cast(pl.Float64)
    y = pl.col("index")
    fits = rows.group_by(unit).agg(
        pl.len().alias("n_periods"),
        t.mean().alias("_tbar"),
        y.mean().alias("_ybar"),
        ((t - t.mean()) ** 2).sum().alias("_sxx"),
        ((t - t.mean()) * (y - y.mean())).sum().alias("_sxy"),
        ((y - y.mean()) ** 2).sum().alias("_syy"),
    )
    areas = typed.select(unit).unique()
    out = (
        areas.join(fits, on=unit, how="left")
        .join(
            at_last.select(
                unit, pl.col("index").alias("index_last"), pl.col("area_type").alias("type_last")
            ),
            on=unit,
            how="left",
        )
        .sort(unit)
    )
    n = out.get_column("n_periods").fill_null(0).to_numpy().astype(float)
    tbar, ybar = _np(out, "_tbar"), _np(out, "_ybar")
    sxx, sxy, syy = _np(out, "_sxx"), _np(out, "_sxy"), _np(out, "_syy")
    with np.errstate(divide="ignore", invalid="ignore"):
        fitted = (n >= 3) & (sxx > 0)
        b = np.where(fitted, sxy / sxx, np.nan)
        s2 = np.where(fitted, np.maximum(syy - b * sxy, 0.0) / (n - 2), np.nan)
        q = _t_quantile(level, np.where(fitted, n - 2, 0))
        se = np.sqrt(s2 / sxx)
        low, high = b - q * se, b + q * se
        # Fieller: the times u (from tbar) at which the fitted line is not significantly
        # different from the threshold: (d + b u)^2 <= q^2 s2 (1/n + u^2/sxx), d = ybar - thr
        d = ybar - thr
        g, h = q * q * s2 / sxx, q * q * s2 / n
        a2 = b * b - g
        disc = np.maximum((2 * b * d) ** 2 - 4 * a2 * (d * d - h), 0.0)
        bounded = fitted & (a2 > 0) & (b > 0)
        root = np.sqrt(disc)
        c_low = np.where(bounded, tbar + (-2 * b * d - root) / (2 * a2), np.nan)
        c_high = np.where(bounded, tbar + (-2 * b * d + root) / (2 * a2), np.nan)
        at = np.where(fitted & (b > 0), tbar - d / b, np.nan)
    index_last = _np(out, "index_last")
    below = np.isfinite(index_last) & (index_last < thr)
    ahead = np.maximum(np.ceil((at - float(last)) / step - _EPS), 1.0)
    reaches = below & np.isfinite(at) & (ahead <= horizon)
    crossing = np.where(reaches, float(last) + ahead * step, np.nan)
    return out.select(unit, "type_last", "index_last", "n_periods").with_columns(
        pl.lit(thr).alias("threshold"),
        (pl.lit(thr) - pl.col("index_last")).alias("gap"),
        _series("trend", b),
        _series("trend_low", low),
        _series("trend_high", high),
        _series("crossing_at", at),
        _series("crossing_low", c_low),
        _series("crossing_high", c_high),
        _series("crossing_period", crossing).cast(pl.Int64),
    )


def _np(frame: pl.DataFrame, column: str) -> np.ndarray:
    return frame.get_column(column).cast(pl.Float64).fill_null(np.nan).to_numpy()


def _series(name: str, values: np.ndarray) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)


def trajectories(
    frame: Any,
    *,
    unit: str,
    period: str,
    index_col: str | None = None,
    shares: Sequence[str] | None = None,
    horizon: int = 5,
    level: float = 0.95,
    window: int | None = None,
) -> pl.DataFrame:
    """Per area: the index now, its trend with an interval, and when it would reach type 2.

    Args:
        frame: one row per area and period (polars, pandas or Arrow).
        unit, period: the columns naming the area and the period (whole numbers, e.g. years).
        index_col: the socioeconomic index column; or ``shares``: the share columns (0–100) it is
            the mean of, as in :func:`bryta.area_types`.
        horizon: how many periods ahead a crossing counts.
        level: confidence level of the trend and crossing intervals (0.95: 95 %).
        window: fit the trend on the latest ``window`` periods only (None: all).

    Returns:
        One row per area, sorted by unit: ``<unit>``, ``type_last`` and ``index_last`` (type
        and index in the last period; null when the area has none there), ``n_periods``
        (points in the fit), ``threshold`` (the type-2 threshold of the last period: mean +
        1 SD), ``gap`` (threshold − index_last: index points to go; ≤ 0 in types 1–2),
        ``trend``, ``trend_low``, ``trend_high`` (the OLS slope per period and its t interval
        with n − 2 degrees of freedom; null with fewer than 3 points), ``crossing_at`` (the
        time at which the fitted line reaches the threshold, on the period scale; null when
        the trend is not rising), ``crossing_low``, ``crossing_high`` (Fieller's interval on
        that time; null when the slope is not significantly positive at ``level``: the
        interval is then unbounded) and ``crossing_period`` (the first period after the last
        at or after ``crossing_at``, when within ``horizon`` periods and the area is below
        the threshold now; else null).

    The crossing interval inverts the trend line's confidence band: it holds the times at
    which the line's mean is not significantly different from the threshold. Under a linear
    trend with independent normal errors it covers the true crossing time at the nominal
    rate (Fieller's theorem); the threshold is treated as known.

    >>> panel = pl.DataFrame({
    ...     "regso": ["a"] * 4 + ["b"] * 4 + ["c"] * 4 + ["d"] * 4,
    ...     "year": [2020, 2021, 2022, 2023] * 4,
    ...     "index": [10, 11, 12, 13,  20, 20, 20, 20,  30, 30, 30, 30,  40, 40, 40, 40]})
    >>> out = trajectories(panel, unit="regso", period="year", index_col="index")
    >>> out.select("regso", "index_last", "trend", pl.col("threshold").round(2)).rows()[:2]
    [('a', 13.0, 1.0, 35.96), ('b', 20.0, 0.0, 35.96)]

    The threshold is the mean (25.75) + 1 SD (10.21, ddof 0) of 2023's index; area a, at
    13 and rising 1 per year, reaches it after the five-year horizon, so it has no crossing
    period.
    """
    rule = WatchRule(horizon=horizon, level=level, window=window)
    typed = typed_panel(frame, unit=unit, period=period, index_col=index_col, shares=shares)
    return _trajectories(
        typed,
        unit,
        period,
        horizon=rule.horizon,
        level=rule.level,
        window=rule.window,
        step=_step(typed.get_column(period)),
    )


# ---- transition risk ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chains:
    """Transition counts per area: ``plain`` (areas × 25: type → type) and ``joint``
    (areas × 225: (type, trend class) → (type, trend class)), and the state of every area in
    the last period."""

    plain: np.ndarray
    joint: np.ndarray
    type_last: np.ndarray  # 0-based type, -1 without one
    class_last: np.ndarray  # 0 falling, 1 stable, 2 rising, -1 without one


def _trend_classes(
    typed: pl.DataFrame, unit: str, period: str, *, recent: int, band: float
) -> pl.DataFrame:
    """``typed`` with the period rank and the recent-trend class (Int8 0/1/2, null)."""
    ranked = typed.with_columns(pl.col(period).rank("dense").cast(pl.Int64).alias(_RANK))
    back = ranked.select(
        unit,
        (pl.col(_RANK) + (recent - 1)).alias(_RANK),
        pl.col("index").alias("_y0"),
        pl.col(period).alias("_p0"),
    )
    joined = ranked.join(back, on=[unit, _RANK], how="left")
    slope = (pl.col("index") - pl.col("_y0")) / (pl.col(period) - pl.col("_p0")).cast(pl.Float64)
    z = slope / pl.col("sd")
    klass = (
        pl.when(z < -band)
        .then(0)
        .when(z > band)
        .then(2)
        .when(z.is_not_null())
        .then(1)
        .otherwise(None)
        .cast(pl.Int8)
    )
    return joined.with_columns(klass.alias("trend_class")).drop("_y0", "_p0")


def _chains(classed: pl.DataFrame, unit: str, units: pl.Series) -> _Chains:
    ids = pl.DataFrame({unit: units, "_id": np.arange(units.len())})
    state = classed.join(ids, on=unit, how="inner").select(
        "_id", _RANK, (pl.col("area_type") - 1).cast(pl.Int64).alias("_k"), "trend_class"
    )
    nxt = state.select(
        "_id",
        (pl.col(_RANK) - 1).alias(_RANK),
        pl.col("_k").alias("_k2"),
        pl.col("trend_class").alias("_c2"),
    )
    pairs = state.join(nxt, on=["_id", _RANK], how="inner").drop_nulls(["_k", "_k2"])
    n = units.len()
    plain = np.zeros((n, _N_TYPES * _N_TYPES))
    np.add.at(
        plain,
        (pairs.get_column("_id").to_numpy(), (pairs["_k"] * _N_TYPES + pairs["_k2"]).to_numpy()),
        1.0,
    )
    joint_pairs = pairs.drop_nulls(["trend_class", "_c2"])
    s1 = joint_pairs["_k"] * 3 + joint_pairs["trend_class"].cast(pl.Int64)
    s2 = joint_pairs["_k2"] * 3 + joint_pairs["_c2"].cast(pl.Int64)
    m = 3 * _N_TYPES
    joint = np.zeros((n, m * m))
    np.add.at(joint, (joint_pairs.get_column("_id").to_numpy(), (s1 * m + s2).to_numpy()), 1.0)
    last = classed.get_column(_RANK).max()
    now = ids.join(
        state.filter(pl.col(_RANK) == last).select("_id", "_k", "trend_class"), on="_id", how="left"
    ).sort("_id")
    return _Chains(
        plain=plain,
        joint=joint,
        type_last=now.get_column("_k").fill_null(-1).to_numpy(),
        class_last=now.get_column("trend_class").cast(pl.Int64).fill_null(-1).to_numpy(),
    )


def _normalise(counts: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Row-normalised transition matrices (``…, k, k``); rows without counts take
    ``fallback``'s row."""
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = counts / total
    return np.where(total > 0, shares, fallback)


def _matrices(plain: np.ndarray, joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plain (…, 5, 5) and joint (…, 15, 15) transition matrices from summed counts.

    A type never left from is kept (identity row); a (type, class) never left from moves as
    its type does in the plain chain and keeps its class."""
    lead = plain.shape[:-1]
    p5 = _normalise(plain.reshape(*lead, _N_TYPES, _N_TYPES), np.eye(_N_TYPES))
    m = 3 * _N_TYPES
    fallback = np.zeros((*lead, m, m))
    for c in range(3):  # the three trend classes, not areas
        fallback[..., c::3, c::3] = p5
    p15 = _normalise(joint.reshape(*lead, m, m), fallback)
    return p5, p15


def _risks(p: np.ndarray, target: np.ndarray, horizons: Sequence[int]) -> dict[int, np.ndarray]:
    """P(state in ``target`` after h steps) from every state, for each h: (…, states)."""
    out, power = {}, np.broadcast_to(np.eye(p.shape[-1]), p.shape).copy()
    for h in range(1, max(horizons) + 1):
        power = power @ p
        if h in horizons:
            out[h] = power[..., :, target].sum(axis=-1)
    return out


def _risk_frame(
    chains: _Chains,
    units: pl.Series,
    unit: str,
    *,
    horizons: Sequence[int],
    n_boot: int,
    level: float,
    seed: int,
) -> pl.DataFrame:
    p5, p15 = _matrices(chains.plain.sum(axis=0), chains.joint.sum(axis=0))
    target5 = np.array([k - 1 for k in _CHALLENGED])
    target15 = np.array([(k - 1) * 3 + c for k in _CHALLENGED for c in range(3)])
    plain_risk, joint_risk = _risks(p5, target5, horizons), _risks(p15, target15, horizons)
    typed, classed = chains.type_last >= 0, (chains.type_last >= 0) & (chains.class_last >= 0)
    k = np.maximum(chains.type_last, 0)
    s = k * 3 + np.maximum(chains.class_last, 0)
    columns: dict[str, Any] = {
        unit: units,
        "trend_class": pl.Series(
            [TREND_CLASSES[c] if c >= 0 else None for c in chains.class_last.tolist()],
            dtype=pl.String,
        ),
    }
    if n_boot > 0:
        rng = np.random.default_rng(seed)
        n = units.len()
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
        b5, b15 = _matrices(weights @ chains.plain, weights @ chains.joint)
        boot5, boot15 = _risks(b5, target5, horizons), _risks(b15, target15, horizons)
        alpha = (1.0 - level) / 2.0
    for h in horizons:
        plain = np.where(typed, plain_risk[h][k], np.nan)
        risk = np.where(classed, joint_risk[h][s], plain)
        columns[f"risk_{h}"] = _series(f"risk_{h}", risk)
        columns[f"markov_{h}"] = _series(f"markov_{h}", plain)
        if n_boot > 0:
            lo5, hi5 = np.quantile(boot5[h], [alpha, 1 - alpha], axis=0)
            lo15, hi15 = np.quantile(boot15[h], [alpha, 1 - alpha], axis=0)
            lo = np.where(classed, lo15[s], np.where(typed, lo5[k], np.nan))
            hi = np.where(classed, hi15[s], np.where(typed, hi5[k], np.nan))
        else:
            lo = hi = np.full(units.len(), np.nan)
        columns[f"risk_{h}_low"] = _series(f"risk_{h}_low", lo)
        columns[f"risk_{h}_high"] = _series(f"risk_{h}_high", hi)
    return pl.DataFrame(columns)


def _risk_of_typed(
    typed: pl.DataFrame,
    unit: str,
    period: str,
    *,
    horizons: Sequence[int],
    rule: WatchRule,
    n_boot: int,
    seed: int,
) -> pl.DataFrame:
    units = typed.get_column(unit).unique().sort()
    classed = _trend_classes(typed, unit, period, recent=rule.recent, band=rule.stable_band)
    chains = _chains(classed, unit, units)
    return _risk_frame(
        chains, units, unit, horizons=horizons, n_boot=n_boot, level=rule.level, seed=seed
    )


def transition_risk(
    frame: Any,
    *,
    unit: str,
    period: str,
    index_col: str | None = None,
    shares: Sequence[str] | None = None,
    horizons: Sequence[int] = (1, 3, 5),
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
    stable_band: float = 0.05,
    recent: int = 3,
) -> pl.DataFrame:
    """The probability of being in type 1 or 2 after ``h`` periods, per area.

    Two Markov chains are estimated from every pair of consecutive periods in which an area
    has a type, pooled over areas and periods (rows: the share of the areas of a state that
    are in each state one period later):

    * the **plain** chain on the five types (``markov_h``);
    * the **trend-conditioned** chain, whose state is the type and the recent trend of the
      index — falling, stable or rising: the mean change per period over the last
      ``recent`` periods, in SD of the period's index, below −``stable_band``, within, or
      above (``risk_h``; the plain chain where the area has no trend class yet).

    A state never left from in the data stays where it is (plain chain) or moves as its type
    does in the plain chain (conditioned chain). ``risk_h_low``, ``risk_h_high``: percentile
    intervals at ``level`` from ``n_boot`` bootstrap resamples of the **areas** (each area
    with all its transitions; seeded with ``seed``; null with ``n_boot=0``).

    Returns one row per area, sorted by unit: ``<unit>, trend_class``, then per ``h``:
    ``risk_h, markov_h, risk_h_low, risk_h_high``. Areas with no type in the last period
    have no risk.
    """
    rule = WatchRule(level=level, stable_band=stable_band, recent=recent)
    _check_horizons(horizons)
    typed = typed_panel(frame, unit=unit, period=period, index_col=index_col, shares=shares)
    return _risk_of_typed(
        typed, unit, period, horizons=horizons, rule=rule, n_boot=n_boot, seed=seed
    )


def _check_horizons(horizons: Sequence[int]) -> None:
    if not horizons or any(not isinstance(h, int) or h < 1 for h in horizons):
        raise EarlyWarningError(f"risk horizons must be whole numbers ≥ 1, not {list(horizons)}")


# ---- the watch list ----------------------------------------------------------------------------


def _num(expr: pl.Expr, digits: int, *, sign: bool = False) -> pl.Expr:
    """A number as text with ``digits`` decimals (``sign``: a leading + when positive)."""
    scaled = (expr * 10**digits).round(0).cast(pl.Int64)
    whole = scaled.abs() // 10**digits
    frac = (scaled.abs() % 10**digits).cast(pl.String).str.zfill(digits)
    prefix = (
        pl.when(scaled < 0)
        .then(pl.lit("-"))
        .when(pl.lit(sign) & (scaled > 0))
        .then(pl.lit("+"))
        .otherwise(pl.lit(""))
    )
    body = whole.cast(pl.String) if digits == 0 else pl.concat_str(whole, pl.lit("."), frac)
    return pl.concat_str(prefix, body)


def _pct(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str(_num(expr * 100, 0), pl.lit(" %"))


def _reason(
    frame: pl.DataFrame, rule: WatchRule, words: dict[str, str], *, comma: bool
) -> pl.Series:
    """The reason of every flag in words (empty where not flagged), built column-wise."""

    def num(expr: pl.Expr, digits: int, sign: bool = False) -> pl.Expr:
        text = _num(expr, digits, sign=sign)
        return text.str.replace(".", ",", literal=True) if comma else text

    level = f"{rule.level * 100:g}"
    bounds = (
        pl.when(pl.col("crossing_low").is_not_null())
        .then(
            pl.concat_str(
                pl.lit(f" ({level} % {words['interval']} "),
                num((pl.col("crossing_low") - _EPS).ceil(), 0),
                pl.lit("–"),
                num((pl.col("crossing_high") - _EPS).ceil(), 0),
                pl.lit(")"),
            )
        )
        .otherwise(pl.lit(""))
    )
    crossing = pl.concat_str(
        pl.lit(words["index"] + " "),
        num(pl.col("index_last"), 1),
        pl.lit(" " + words["trend"] + " "),
        num(pl.col("trend"), 2, sign=True),
        pl.lit(f" {words['per_period']} ({level} % {words['interval']} "),
        num(pl.col("trend_low"), 2, sign=True),
        pl.lit(" " + words["to"] + " "),
        num(pl.col("trend_high"), 2, sign=True),
        pl.lit(words["reaches"] + " "),
        num(pl.col("threshold"), 1),
        pl.lit(" " + words["in"] + " "),
        pl.col("crossing_period").cast(pl.String),
        bounds,
    )
    klass = pl.col("trend_class").replace_strict(
        {c: words[c] for c in TREND_CLASSES}, default=words["unknown"]
    )
    risk = pl.concat_str(
        pl.lit(words["risk"] + " "),
        _pct(pl.col("risk_5")),
        pl.lit(" (" + words["recent"] + " "),
        klass,
        pl.lit(f"), {words['at_least']} {rule.risk_threshold * 100:g} %"),
    )
    by_trend = pl.col("_by_trend").fill_null(False)
    by_risk = pl.col("_by_risk").fill_null(False)
    text = (
        pl.when(by_trend & by_risk)
        .then(pl.concat_str(crossing, pl.lit("; "), risk))
        .when(by_trend)
        .then(crossing)
        .when(by_risk)
        .then(risk)
        .otherwise(pl.lit(""))
    )
    return frame.select(text.alias("reason")).to_series()


_WORDS_EN = {
    "index": "index",
    "trend": "with a trend of",
    "per_period": "per period",
    "to": "to",
    "reaches": "); the trend reaches the type-2 threshold",
    "in": "in",
    "interval": "interval",
    "risk": "probability of type 1 or 2 after 5 periods",
    "recent": "recent index",
    "falling": "falling",
    "stable": "stable",
    "rising": "rising",
    "unknown": "not known",
    "at_least": "at least the threshold of",
}
_WORDS_SV = {
    "index": "index",
    "trend": "med en trend på",
    "per_period": "per period",
    "to": "till",
    "reaches": "); trenden når tröskeln för typ 2,",
    "in": "år",
    "interval": "intervall",
    "risk": "sannolikheten för typ 1 eller 2 om 5 perioder är",
    "recent": "senaste index",
    "falling": "sjunkande",
    "stable": "stabilt",
    "rising": "stigande",
    "unknown": "okänt",
    "at_least": "minst tröskeln",
}


def reason_en(watch: pl.DataFrame, rule: WatchRule | None = None) -> pl.Series:
    """The reason of every flag of ``watch`` (the output of :func:`watch_list`) in English."""
    return _reason(
        _with_rule(watch, rule or WatchRule()), rule or WatchRule(), _WORDS_EN, comma=False
    )


def reason_sv(watch: pl.DataFrame, rule: WatchRule | None = None) -> pl.Series:
    """The reason of every flag of ``watch`` in Swedish (decimal comma)."""
    return _reason(
        _with_rule(watch, rule or WatchRule()), rule or WatchRule(), _WORDS_SV, comma=True
    )


def _with_rule(watch: pl.DataFrame, rule: WatchRule) -> pl.DataFrame:
    if "_by_trend" in watch.columns:
        return watch
    return watch.with_columns(**_rule_parts(rule))


def _rule_parts(rule: WatchRule) -> dict[str, pl.Expr]:
    """The two parts of the rule as expressions (see :class:`WatchRule`)."""
    eligible = pl.col("type_last").is_not_null() & ~pl.col("type_last").is_in(list(_CHALLENGED))
    return {
        "_by_trend": eligible & pl.col("crossing_period").is_not_null(),
        "_by_risk": eligible & (pl.col("risk_5") >= rule.risk_threshold),
    }


def _watch_of_typed(
    typed: pl.DataFrame,
    unit: str,
    period: str,
    rule: WatchRule,
    *,
    n_boot: int,
    seed: int,
    language: Literal["en", "sv"] = "en",
) -> pl.DataFrame:
    step = _step(typed.get_column(period))
    traj = _trajectories(
        typed,
        unit,
        period,
        horizon=rule.horizon,
        level=rule.level,
        window=rule.window,
        step=step,
    )
    risk = _risk_of_typed(
        typed, unit, period, horizons=(1, 3, 5), rule=rule, n_boot=n_boot, seed=seed
    )
    both = traj.join(risk, on=unit, how="left").with_columns(**_rule_parts(rule))
    words = _WORDS_SV if language == "sv" else _WORDS_EN
    reason = _reason(both, rule, words, comma=language == "sv")
    flagged = (pl.col("_by_trend") | pl.col("_by_risk")).fill_null(False)
    return (
        both.with_columns(flagged.alias("flagged"), reason).drop("_by_trend", "_by_risk").sort(unit)
    )


def watch_list(
    frame: Any,
    *,
    unit: str,
    period: str,
    index_col: str | None = None,
    shares: Sequence[str] | None = None,
    rule: WatchRule | None = None,
    horizon: int | None = None,
    n_boot: int = 200,
    seed: int = 0,
    language: Literal["en", "sv"] = "en",
) -> pl.DataFrame:
    """The watch list: every area's trajectory and transition risk, and the rule's flags.

    Args:
        frame, unit, period, index_col, shares: as in :func:`trajectories`.
        rule: the watch list rule (:class:`WatchRule`; the defaults when None).
        horizon: overrides ``rule.horizon``.
        n_boot, seed: bootstrap resamples of the areas for the risks' intervals, and the seed.
        language: ``"en"`` or ``"sv"``: the language of ``reason``.

    Returns:
        One row per area, sorted by unit: the columns of :func:`trajectories`, then
        ``trend_class`` and ``risk_h, markov_h, risk_h_low, risk_h_high`` for h = 1, 3, 5
        (:func:`transition_risk`), ``flagged`` (bool) and ``reason`` (words; empty where not
        flagged). ``select(unit, *WATCH_COLUMNS)`` gives the file ``bryta watch`` writes.

    >>> panel = pl.DataFrame({
    ...     "regso": [c for c in "abcdefgh" for _ in range(4)],
    ...     "year": [2020, 2021, 2022, 2023] * 8,
    ...     "index": [10, 10, 10, 10,  12, 12, 12, 12,  14, 14, 14, 14,  16, 16, 16, 16,
    ...               18, 18, 18, 18,  20, 20, 20, 20,  22, 23, 24, 25,  40, 40, 40, 40]})
    >>> out = watch_list(panel, unit="regso", period="year", index_col="index", n_boot=0)
    >>> out.filter("flagged").select("regso", "index_last", "trend", "crossing_period").rows()
    [('g', 25.0, 1.0, 2027)]

    The 2023 threshold is 19.375 + 8.957 = 28.33; area g's line (25 in 2023, +1 a year)
    reaches it at 2026.33, so in 2027, within the horizon of five years.
    """
    rule = rule or WatchRule()
    if horizon is not None:
        rule = WatchRule(**{**rule.__dict__, "horizon": horizon})
    typed = typed_panel(frame, unit=unit, period=period, index_col=index_col, shares=shares)
    return _watch_of_typed(typed, unit, period, rule, n_boot=n_boot, seed=seed, language=language)


# ---- backtesting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backtest:
    """The rule's track record (see :func:`backtest`).

    ``pairs``: one row per origin and area not in type 1–2 there: ``origin``, ``<unit>``,
    ``flagged``, ``entered`` (in type 1 or 2 at some period after the origin, within the
    horizon), ``lead`` (periods from the origin to the first such period). ``by_origin``:
    per origin ``origin, areas, flagged, entered, hits, precision, recall``. The summary
    fields pool the scored origins: ``precision`` (hits / flags), ``recall`` (hits /
    entries), ``recall_lead`` (of the entries at least ``min_lead`` periods after the origin,
    the share flagged at the origin), ``median_lead`` (periods from a correct flag to the
    entry). ``complete``: whether every scored origin had its whole horizon observed (else
    the late origins see a shorter future, which lowers precision).
    """

    horizon: int
    min_lead: int
    origins: list[Any]
    complete: bool
    precision: float | None
    recall: float | None
    recall_lead: float | None
    median_lead: float | None
    flags: int
    entries: int
    pairs: pl.DataFrame = field(repr=False)
    by_origin: pl.DataFrame = field(repr=False)

    def lines(self) -> list[str]:
        """The track record in a few English lines, for printing beside a watch list."""
        if not self.origins:
            return ["backtest: not possible (too few periods before the last one)"]

        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{x * 100:.0f} %"

        span = f"{self.origins[0]}–{self.origins[-1]}"
        note = "" if self.complete else " (the latest origins see less than the horizon)"
        lead = "n/a" if self.median_lead is None else f"{self.median_lead:g} periods"
        return [
            f"backtest: flagged with the data up to each of {len(self.origins)} periods "
            f"({span}), scored against the types within {self.horizon} periods after{note}",
            f"  {self.flags} flags, {self.entries} entries into type 1 or 2: precision "
            f"{pct(self.precision)}, recall {pct(self.recall)}, recall with at least "
            f"{self.min_lead} periods' lead {pct(self.recall_lead)}, median lead {lead}",
        ]


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def backtest(
    frame: Any,
    *,
    unit: str,
    period: str,
    index_col: str | None = None,
    shares: Sequence[str] | None = None,
    rule: WatchRule | None = None,
    min_history: int = 4,
    min_lead: int = 2,
) -> Backtest:
    """Score the watch list rule on the panel's own history.

    For every origin period ``t`` with at least ``min_history`` periods up to it, the rule
    is applied to the data up to ``t`` only (trends, thresholds, types and the Markov chains
    re-estimated; no bootstrap) and its flags are compared with what followed: whether each
    area not in type 1–2 at ``t`` was in type 1 or 2 at some period in ``(t, t + horizon]``.
    Origins whose whole horizon lies in the data are scored; when there are none, every
    origin with a later period is (``complete`` False).
    """
    rule = rule or WatchRule()
    typed = typed_panel(frame, unit=unit, period=period, index_col=index_col, shares=shares)
    return _backtest_typed(typed, unit, period, rule, min_history=min_history, min_lead=min_lead)


def _backtest_typed(
    typed: pl.DataFrame,
    unit: str,
    period: str,
    rule: WatchRule,
    *,
    min_history: int,
    min_lead: int,
) -> Backtest:
    ranked = typed.with_columns(pl.col(period).rank("dense").cast(pl.Int64).alias(_RANK))
    periods = ranked.select(_RANK, period).unique().sort(_RANK)
    n = periods.height
    candidates = list(range(max(min_history, 3), n))  # 1-based ranks with a later period
    full = [r for r in candidates if r + rule.horizon <= n]
    scored, complete = (full, True) if full else (candidates, False)
    challenged = pl.col("area_type").is_in(list(_CHALLENGED))
    parts = []
    for r in scored:  # one origin (period) at a time; all areas at once within it
        past = ranked.filter(pl.col(_RANK) <= r).drop(_RANK)
        watch = _watch_of_typed(past, unit, period, rule, n_boot=0, seed=0)
        eligible = watch.filter(pl.col("type_last").is_not_null() & (pl.col("type_last") >= 3))
        future = (
            ranked.filter((pl.col(_RANK) > r) & (pl.col(_RANK) <= r + rule.horizon) & challenged)
            .group_by(unit)
            .agg((pl.col(_RANK).min() - r).alias("lead"))
        )
        origin = periods.filter(pl.col(_RANK) == r).get_column(period)[0]
        parts.append(
            eligible.select(unit, "flagged")
            .join(future, on=unit, how="left")
            .with_columns(
                pl.lit(origin).alias("origin"), pl.col("lead").is_not_null().alias("entered")
            )
            .select("origin", unit, "flagged", "entered", "lead")
        )
    schema: dict[str, Any] = {
        "origin": pl.Int64,
        unit: typed.schema[unit],
        "flagged": pl.Boolean,
        "entered": pl.Boolean,
        "lead": pl.Int64,
    }
    pairs = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    hit = pl.col("flagged") & pl.col("entered")
    by_origin = (
        pairs.group_by("origin")
        .agg(
            pl.len().alias("areas"),
            pl.col("flagged").sum().alias("flagged"),
            pl.col("entered").sum().alias("entered"),
            hit.sum().alias("hits"),
        )
        .sort("origin")
        .with_columns(
            (pl.col("hits") / pl.col("flagged")).alias("precision"),
            (pl.col("hits") / pl.col("entered")).alias("recall"),
        )
        .with_columns(pl.col("precision", "recall").fill_nan(None))
    )
    flags = int(pairs.get_column("flagged").sum())
    entries = int(pairs.get_column("entered").sum())
    hits = int(pairs.select(hit.sum()).item())
    late = pairs.filter(pl.col("entered") & (pl.col("lead") >= min_lead))
    leads = pairs.filter(hit).get_column("lead")
    return Backtest(
        horizon=rule.horizon,
        min_lead=min_lead,
        origins=pairs.get_column("origin").unique().sort().to_list() if parts else [],
        complete=complete,
        precision=_ratio(hits, flags),
        recall=_ratio(hits, entries),
        recall_lead=_ratio(int(late.get_column("flagged").sum()), late.height),
        median_lead=float(leads.median()) if leads.len() else None,  # type: ignore[arg-type]
        flags=flags,
        entries=entries,
        pairs=pairs,
        by_origin=by_origin,
    )
