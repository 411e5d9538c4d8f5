"""Why did segregation change? Decomposing the difference in M between two periods or places.

:func:`mutual_difference` splits M₂ − M₁ (``second`` against ``first``) into additive terms
(Elbers 2023):

* ``additions`` and ``removals``: what units and groups present in only one of the two
  datasets contribute. Everything else is computed on the *common* table, the units and the
  groups present in both (positive count in each);
* ``group_marginal``: the change in the group mix (more of one group, fewer of another);
* ``unit_marginal``: the change in the units' sizes (some schools or areas grow, others shrink);
* ``structural``: the change in how the groups sort over the units once both margins are held
  fixed, the part of the change that is "more or less segregation";
* ``interaction`` (``km`` only): what the two margins do together beyond their separate effects.

Three methods, as in R ``segregation``:

* ``shapley`` (default): margins are swapped between the datasets by iterative proportional
  fitting (IPF) and every order of changing group margin, unit margin and structure is averaged,
  so the result is symmetric (swapping the datasets negates every term);
* ``km`` (Karmel & Maclachlan 1988): ``first`` is given ``second``'s margins by IPF, once, forwards;
* ``mrc`` (Mora & Ruiz-Castillo 2009): an exact closed form from M = E(groups) − Σ_u p_u E(g|u).

The IPF runs of every partition (and, for ``shapley``, all six margin swaps) are stacked into
one table and fitted together: the loop is over IPF iterations only; a partition stops being
updated as soon as it has converged, so a ``by`` call gives the same numbers as one call per
partition.

Reference: Elbers, B. (2023). A method for studying differences in segregation across time and
space. Sociological Methods & Research 52(1), 5–42. doi:10.1177/0049124121986204.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from bryta.compute.segregation._margins import Margins, entropy_of, segment_starts
from bryta.compute.segregation.counts import Counts, prepare_counts, take_rows
from bryta.errors import BrytaError, CountsError, InputError

Method = Literal["shapley", "km", "mrc"]

#: The components each method returns, in the order of its output (R ``segregation``'s order).
COMPONENTS: dict[str, tuple[str, ...]] = {
    "shapley": ("group_marginal", "unit_marginal", "structural"),
    "km": ("group_marginal", "unit_marginal", "interaction", "structural"),
    "mrc": ("unit_marginal", "group_marginal", "structural"),
}
METHODS = tuple(COMPONENTS)

# Zero cells of the common table are replaced by this (or by a thousandth of the smallest
# positive count, when that is smaller) before IPF, as R segregation does: it keeps every
# margin reachable. It moves M of a fitted table only in the 11th decimal or later.
_FILL = 1e-10

_PART = "__bryta_part"
_UNIT = "__bryta_unit"
_ROW1 = "__bryta_row1"
_ROW2 = "__bryta_row2"


class IPFConvergenceError(BrytaError, RuntimeError):
    """Iterative proportional fitting did not reach the precision within ``max_iter``."""


# ---- pairing the two datasets ----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Pair:
    """Both datasets on one table: the union of (partition, unit) rows × the union of groups.

    ``n1``/``n2`` hold each dataset's counts (zero where a unit or group is absent). ``common``
    marks the rows of units present in both datasets; ``shared`` (partitions × groups) the
    groups present in both.
    """

    keys: pl.DataFrame
    groups: tuple[str, ...]
    part: np.ndarray
    n1: np.ndarray
    n2: np.ndarray
    common: np.ndarray
    shared: np.ndarray


def _columns(counts: Counts, groups: Sequence[str]) -> np.ndarray:
    """The counts of ``groups`` (zero for a group the dataset does not have)."""
    out = np.zeros((counts.values.shape[0], len(groups)))
    index = {g: j for j, g in enumerate(counts.groups)}
    for k, g in enumerate(groups):
        if g in index:
            out[:, k] = counts.values[:, index[g]]
    return out


def _pair(c1: Counts, c2: Counts) -> _Pair:
    """Align two prepared datasets on the same partitions, units and groups."""
    if c1.keys.height == 0 or c2.keys.height == 0:
        raise CountsError("both datasets need at least one row of counts")
    if not c1.keys.equals(c2.keys):
        k1 = c1.keys.select(pl.all().cast(pl.String))
        k2 = c2.keys.select(pl.all().cast(pl.String))
        only1 = k1.join(k2, on=list(c1.by), how="anti", nulls_equal=True)
        only2 = k2.join(k1, on=list(c1.by), how="anti", nulls_equal=True)
        raise CountsError(
            f"first and second must have the same {', '.join(c1.by)} partitions; "
            f"only in first: {only1.head(5).rows()}, only in second: {only2.head(5).rows()}"
        )
    groups = (*c1.groups, *(g for g in c2.groups if g not in c1.groups))
    u1, u2 = c1.units, c2.units
    if u1.dtype != u2.dtype:
        u1, u2 = u1.cast(pl.String), u2.cast(pl.String)
    f1 = pl.DataFrame({_PART: c1.part, _UNIT: u1, _ROW1: np.arange(len(u1))})
    f2 = pl.DataFrame({_PART: c2.part, _UNIT: u2, _ROW2: np.arange(len(u2))})
    rows = f1.join(f2, on=[_PART, _UNIT], how="full", coalesce=True).sort([_PART, _UNIT])
    part = rows.get_column(_PART).to_numpy().astype(np.int64)
    n1 = np.zeros((rows.height, len(groups)))
    n2 = np.zeros_like(n1)
    for n, counts, col in ((n1, c1, _ROW1), (n2, c2, _ROW2)):
        source = rows.get_column(col)
        at = source.is_not_null().to_numpy()
        n[at] = _columns(counts, groups)[source.drop_nulls().to_numpy()]
    common = (n1.sum(axis=1) > 0) & (n2.sum(axis=1) > 0)
    starts = segment_starts(part)
    shared = (np.add.reduceat(n1, starts, axis=0) > 0) & (np.add.reduceat(n2, starts, axis=0) > 0)
    no_units = np.add.reduceat(common.astype(np.int64), starts) == 0
    no_groups = ~shared.any(axis=1)
    if no_units.any() or no_groups.any():
        bad = np.flatnonzero(no_units | no_groups)
        where = f" (partitions {c1.keys[bad[:5]].rows()})" if c1.by else ""
        raise CountsError(
            "first and second have no unit or no group in common" + where + "; the difference "
            "can only be decomposed over units and groups present in both"
        )
    return _Pair(c1.keys, groups, part, n1, n2, common, shared)


# ---- iterative proportional fitting ------------------------------------------------------------
def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, and 0 where b is 0."""
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def _ratio(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """target / current, and 1 where current is 0 (an empty margin stays empty)."""
    return np.divide(target, current, out=np.ones_like(current), where=current > 0)


def ipf(
    source: np.ndarray,
    part: np.ndarray,
    row_target: np.ndarray,
    col_target: np.ndarray,
    *,
    precision: float = 1e-8,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Rescale ``source`` until its row and column shares match the targets (Deming–Stephan).

    Each partition of ``source`` (rows sorted by ``part``) is a separate rows × columns table,
    whose odds ratios IPF keeps while it alternately scales the columns (groups) and the rows
    (units) to the target shares. ``row_target`` has one share per row, ``col_target`` one row
    of shares per partition; each partition's targets sum to 1, as do the shares returned.
    Starting with the columns, a partition is fitted until every row and column share is
    within ``precision`` of its target (the convergence test of R ``segregation::ipf``); from
    then on it is left unchanged, so its result does not depend on the other partitions.

    >>> x = ipf(np.array([[4.0, 1.0], [1.0, 4.0]]), np.array([0, 0]),
    ...         np.array([0.5, 0.5]), np.array([[0.8, 0.2]]))
    >>> x.round(4).tolist()
    [[0.4826, 0.0174], [0.3174, 0.1826]]
    >>> round(float(x[0, 0] * x[1, 1] / (x[0, 1] * x[1, 0])), 4)  # the odds ratio of the source
    16.0
    """
    starts = segment_starts(part)
    total = np.add.reduceat(source.sum(axis=1), starts)
    x = source * _div(np.ones_like(total), total)[part][:, None]
    col = np.add.reduceat(x, starts, axis=0)
    row = x.sum(axis=1)
    active = np.ones(starts.size, dtype=bool)
    for step in range(2 * max_iter):
        if step % 2 == 0:
            factor = _ratio(col_target, col)
            factor[~active] = 1.0
            x *= factor[part]
        else:
            factor = _ratio(row_target, row)
            factor[~active[part]] = 1.0
            x *= factor[:, None]
        col = np.add.reduceat(x, starts, axis=0)
        row = x.sum(axis=1)
        gap = np.maximum(
            np.abs(col - col_target).max(axis=1),
            np.maximum.reduceat(np.abs(row - row_target), starts),
        )
        active &= gap > precision
        if not active.any():
            return x
    raise IPFConvergenceError(
        f"IPF did not converge to precision={precision} within max_iter={max_iter} "
        f"iterations in {int(active.sum())} of {active.size} tables; raise max_iter or "
        "loosen precision"
    )


# ---- the three methods ------------------------------------------------------------------------
def _m(values: np.ndarray, part: np.ndarray) -> np.ndarray:
    """M (nats) per partition."""
    return Margins(values, part).mutual_information


def _shares(values: np.ndarray, m: Margins) -> tuple[np.ndarray, np.ndarray]:
    """Row shares and column shares per partition of a table with margins ``m``."""
    total = m.segsum(values.sum(axis=1))
    shares = values / total[m.part][:, None]
    return shares.sum(axis=1), m.segsum(shares)


def _stack(
    blocks: list[np.ndarray], part: np.ndarray, n_partitions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Blocks of the same rows stacked as separate partitions: (values, part)."""
    stacked_part = np.concatenate([part + k * n_partitions for k in range(len(blocks))])
    return np.concatenate(blocks), stacked_part


def _shapley(
    f1: np.ndarray, f2: np.ndarray, m: Margins, m_aaa: np.ndarray, m_bbb: np.ndarray, **fit: Any
) -> dict[str, np.ndarray]:
    """Shapley decomposition over (group margin, unit margin, structure) via six IPF fits."""
    P = m.n_partitions
    row1, col1 = _shares(f1, m)
    row2, col2 = _shares(f2, m)
    # Name = (group margin, unit margin, structure) taken from first (A) or second (B).
    runs = {
        "BBA": (f1, row2, col2),
        "ABA": (f1, row2, col1),
        "BAA": (f1, row1, col2),
        "AAB": (f2, row1, col1),
        "BAB": (f2, row1, col2),
        "ABB": (f2, row2, col1),
    }
    source, part = _stack([r[0] for r in runs.values()], m.part, P)
    rows = np.concatenate([r[1] for r in runs.values()])
    cols = np.concatenate([r[2] for r in runs.values()])
    fitted = ipf(source, part, rows, cols, **fit)
    M = dict(zip(runs, _m(fitted, part).reshape(len(runs), P), strict=True))
    M["AAA"], M["BBB"] = m_aaa, m_bbb
    group = 0.25 * (
        (M["BAA"] - M["AAA"])
        + (M["BBA"] - M["ABA"])
        + (M["BBB"] - M["ABB"])
        + (M["BAB"] - M["AAB"])
    )
    unit = 0.25 * (
        (M["ABA"] - M["AAA"])
        + (M["BBA"] - M["BAA"])
        + (M["BBB"] - M["BAB"])
        + (M["ABB"] - M["AAB"])
    )
    structural = 0.5 * ((M["AAB"] - M["AAA"]) + (M["BBB"] - M["BBA"]))
    return {"group_marginal": group, "unit_marginal": unit, "structural": structural}


def _km(
    f1: np.ndarray, f2: np.ndarray, m: Margins, m1: np.ndarray, m2: np.ndarray, **fit: Any
) -> dict[str, np.ndarray]:
    """Karmel–Maclachlan: first given second's group margin, unit margin, and both (IPF)."""
    row1, col1 = _shares(f1, m)
    row2, col2 = _shares(f2, m)
    both = _m(ipf(f1, m.part, row2, col2, **fit), m.part)
    group = _m(f1 * m.per_row(_ratio(col2, col1)), m.part)
    unit = _m(f1 * _ratio(row2, row1)[:, None], m.part)
    return {
        "group_marginal": group - m1,
        "unit_marginal": unit - m1,
        "interaction": (both - m1) - (group - m1) - (unit - m1),
        "structural": m2 - both,
    }


def _mrc(a1: np.ndarray, a2: np.ndarray, part: np.ndarray) -> dict[str, np.ndarray]:
    """Mora–Ruiz-Castillo: M = E(groups) − Σ_u p_u E(groups | u), differenced term by term."""
    m1, m2 = Margins(a1, part), Margins(a2, part)
    p1, p2 = (_div(m.t, m.per_row(m.T)) for m in (m1, m2))  # unit shares
    s1, s2 = -entropy_of(m1.p), -entropy_of(m2.p)  # S_u = Σ_g p(g|u) ln p(g|u)
    return {
        "unit_marginal": 0.5 * m1.segsum((p2 - p1) * (s1 + s2)),
        "group_marginal": m2.group_entropy - m1.group_entropy,
        "structural": 0.5 * m1.segsum((p1 + p2) * (s2 - s1)),
    }


# ---- the public function ----------------------------------------------------------------------
def mutual_difference(
    first: Any,
    second: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    method: Method = "shapley",
    precision: float = 1e-8,
    max_iter: int = 10_000,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Decompose the change in M from ``first`` to ``second`` (Elbers 2023).

    Returns long form: the ``by`` keys, ``stat`` and ``value``, with the stats ``M1``, ``M2``,
    ``diff`` = M2 − M1, ``additions``, ``removals`` and the method's components (see
    :data:`COMPONENTS`), which add up to ``diff``:

        diff = additions + removals + Σ components.

    Let A be ``first`` and B ``second`` restricted to the units and groups present in both, and M(·)
    the mutual information of a table. Then additions = M2 − M(B) and removals = M(A) − M1.

    * ``mrc``: with E the group entropy, p_u the unit shares and S_u = Σ_g p(g|u) ln p(g|u),
      group_marginal = E(B) − E(A); unit_marginal = ½ Σ_u (p_u^B − p_u^A)(S_u^A + S_u^B);
      structural = ½ Σ_u (p_u^A + p_u^B)(S_u^B − S_u^A).
    * ``shapley``: write M_xyz for the table with the group margin of x, the unit margin of y
      and the odds ratios (structure) of z (x, y, z ∈ {A, B}; made by IPF). Then
      structural = ½(M_AAB − M_AAA) + ½(M_BBB − M_BBA), and the marginal rest splits into
      group_marginal = ¼[(M_BAA − M_AAA) + (M_BBA − M_ABA) + (M_BBB − M_ABB) + (M_BAB − M_AAB)]
      and unit_marginal likewise with the roles of the two margins exchanged.
    * ``km``: group_marginal = M(A with B's group margin) − M(A), unit_marginal likewise
      (one rescaling each), interaction = M_BBA − M(A) − group − unit, structural = M(B) − M_BBA.

    ``precision`` is the IPF convergence threshold: the largest gap allowed between a fitted
    row or column share and its target; ``max_iter`` bounds the IPF iterations (each scales
    the groups, then the units). R ``segregation`` stops at 1e-3 by default, before the IPF
    has converged (on its schools00 → schools05 example the components are then up to 7e-3
    off); the default here puts them within about 1e-6 of the limit. ``second`` may have other
    units and groups than ``first``; with ``by`` both must have the same partitions.

    School ``a`` doubles, ``c`` closes and ``d`` opens; the common schools keep their mix, so
    the change within them is all in the margins (structural = 0):

    >>> import polars as pl
    >>> d1 = pl.DataFrame({"u": ["a", "b", "c"], "x": [30, 10, 20], "y": [10, 30, 20]})
    >>> d2 = pl.DataFrame({"u": ["a", "b", "d"], "x": [60, 10, 5], "y": [20, 30, 5]})
    >>> out = mutual_difference(d1, d2, unit="u", groups=["x", "y"])
    >>> dict(out.select("stat", pl.col("value").round(4) + 0.0).iter_rows())
    {'M1': 0.0872, 'M2': 0.1089, 'diff': 0.0217, 'additions': -0.008, 'removals': 0.0436,
     'group_marginal': 0.0007, 'unit_marginal': -0.0146, 'structural': 0.0}

    Reference: Elbers, B. (2023). A method for studying differences in segregation across time
    and space. Sociological Methods & Research 52(1), 5–42.
    """
    if method not in COMPONENTS:
        raise InputError(f"method= must be one of {', '.join(map(repr, METHODS))}, not {method!r}")
    if not precision > 0:
        raise InputError(f"precision= must be positive, not {precision!r}")
    if max_iter < 1:
        raise InputError(f"max_iter= must be at least 1, not {max_iter!r}")

    def prepare(data: Any) -> Counts:
        return prepare_counts(
            data, unit=unit, groups=groups, by=by, group_col=group_col, count_col=count_col
        )

    pair = _pair(prepare(first), prepare(second))

    full = Margins(pair.n1, pair.part)
    M1 = full.mutual_information
    M2 = Margins(pair.n2, pair.part).mutual_information

    # The common table: units in both × groups in both (per partition), unfilled and filled.
    part = pair.part[pair.common]
    shared = pair.shared[part]
    a1 = np.where(shared, pair.n1[pair.common], 0.0)
    a2 = np.where(shared, pair.n2[pair.common], 0.0)
    common = Margins(a1, part)
    M1r, M2r = common.mutual_information, _m(a2, part)

    if method == "mrc":
        parts = _mrc(a1, a2, part)
    else:
        positive = np.where(pair.n1 > 0, pair.n1, np.inf).min(axis=1)
        positive = np.minimum(positive, np.where(pair.n2 > 0, pair.n2, np.inf).min(axis=1))
        smallest = np.minimum.reduceat(positive, full.starts)
        fill = np.where(smallest < _FILL, smallest / 1000, _FILL)[part][:, None]
        f1 = np.where(shared & (a1 == 0), fill, a1)
        f2 = np.where(shared & (a2 == 0), fill, a2)
        decompose = _shapley if method == "shapley" else _km
        parts = decompose(f1, f2, common, M1r, M2r, precision=precision, max_iter=max_iter)

    stats = {
        "M1": M1,
        "M2": M2,
        "diff": M2 - M1,
        "additions": M2 - M2r,
        "removals": M1r - M1,
        **{name: parts[name] for name in COMPONENTS[method]},
    }
    names = list(stats)
    values = np.column_stack(list(stats.values())) / math.log(base)
    n_partitions = values.shape[0]
    rows = np.arange(n_partitions).repeat(len(names))
    return take_rows(pair.keys, rows).with_columns(
        pl.Series("stat", names * n_partitions, pl.String),
        pl.Series("value", values.ravel()),
    )
