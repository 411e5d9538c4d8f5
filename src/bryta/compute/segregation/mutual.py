"""The mutual information index M and its decompositions (the R ``segregation`` family).

* :func:`mutual_total`: M and H per partition, or within strata when ``within`` is given;
* :func:`mutual_within`: per-stratum components M, p (population share), H, ent_ratio;
* :func:`mutual_nested`: a chain of nested levels (``within``: län → kommun, then the unit)
  whose terms add up to the total;
* :func:`mutual_local`: local segregation scores ``ls`` and weights ``p`` of units or groups,
  with Σ p · ls = M.

M decomposes exactly: M_total = M_between(strata) + Σ_s p_s M_s, and H_within = Σ_s p_s M_s / E
with E the entropy of the whole partition's group distribution. All functions return wide
frames: the partition keys, then one column per statistic. Values are in nats unless ``base``
is set (H does not depend on the base).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation.counts import Counts, prepare_counts, run_ids, take_rows
from bryta.errors import CountsError, InputError


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _as_list(cols: Sequence[str] | str | None) -> list[str]:
    if cols is None:
        return []
    return [cols] if isinstance(cols, str) else list(cols)


def _strata(
    counts: Any, unit: str, groups: Any, by: list[str], within: list[str], **long: Any
) -> tuple[Counts, Margins, Margins]:
    """Counts partitioned by ``by + within``, their margins, and the strata as units of the
    ``by`` partitions (group totals per stratum)."""
    if not within:
        raise CountsError("name the strata in within=")
    overlap = set(within) & set(by)
    if overlap:
        raise CountsError(f"column(s) {sorted(overlap)} are both in by= and within=")
    fine = prepare_counts(counts, unit=unit, groups=groups, by=[*by, *within], **long)
    m = Margins(fine.values, fine.part)
    coarse = Margins(m.N, run_ids(fine.keys, by))
    return fine, m, coarse


def mutual_total(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    within: Sequence[str] | str | None = None,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """M and H of groups over units per partition; within strata when ``within`` is given.

    >>> import polars as pl
    >>> df = pl.DataFrame({"unit": ["u1", "u2", "u3"], "a": [30, 10, 20], "b": [10, 30, 20]})
    >>> mutual_total(df, unit="unit", groups=["a", "b"]).select(pl.all().round(4)).rows()
    [(0.0872, 0.1258)]
    """
    by, within = _as_list(by), _as_list(within)
    long = {"group_col": group_col, "count_col": count_col}
    if within:
        fine, m, coarse = _strata(counts, unit, groups, by, within, **long)
        share = _div(m.T, coarse.per_row(coarse.T))
        M = coarse.segsum(np.nan_to_num(share * m.mutual_information))
        E = coarse.group_entropy
        keys = (
            fine.keys.select(by)[coarse.starts] if by else pl.DataFrame(height=coarse.n_partitions)
        )
    else:
        prepared = prepare_counts(
            counts, unit=unit, groups=groups, by=by, group_col=group_col, count_col=count_col
        )
        m = Margins(prepared.values, prepared.part)
        M, E, keys = m.mutual_information, m.group_entropy, prepared.keys
    return keys.with_columns(pl.Series("M", M / math.log(base)), pl.Series("H", _div(M, E)))


def mutual_within(
    counts: Any,
    *,
    unit: str,
    within: Sequence[str] | str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Per-stratum components of the within term: ``M``, ``p``, ``H``, ``ent_ratio``.

    ``p`` is the stratum's share of the partition's population and ``ent_ratio`` = E_s / E, so
    that Σ_s p · M = M_within and Σ_s p · ent_ratio · H = H_within.

    >>> import polars as pl
    >>> df = pl.DataFrame({"s": ["x", "x", "y", "y"], "u": [1, 2, 3, 4],
    ...                    "a": [9, 1, 5, 5], "b": [1, 9, 5, 5]})
    >>> out = mutual_within(df, unit="u", within="s", groups=["a", "b"])
    >>> out.select("s", "p", pl.col("M").round(4))
    shape: (2, 3)
    ┌─────┬─────┬────────┐
    │ s   ┆ p   ┆ M      │
    │ --- ┆ --- ┆ ---    │
    │ str ┆ f64 ┆ f64    │
    ╞═════╪═════╪════════╡
    │ x   ┆ 0.5 ┆ 0.3681 │
    │ y   ┆ 0.5 ┆ 0.0    │
    └─────┴─────┴────────┘
    """
    by, within = _as_list(by), _as_list(within)
    fine, m, coarse = _strata(
        counts, unit, groups, by, within, group_col=group_col, count_col=count_col
    )
    M = m.mutual_information
    return fine.keys.with_columns(
        pl.Series("M", M / math.log(base)),
        pl.Series("p", _div(m.T, coarse.per_row(coarse.T))),
        pl.Series("H", _div(M, m.group_entropy)),
        pl.Series("ent_ratio", _div(m.group_entropy, coarse.per_row(coarse.group_entropy))),
    )


def mutual_nested(
    counts: Any,
    *,
    unit: str,
    within: Sequence[str] | str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Decompose M over a chain of nested levels: the strata ``within`` which the units nest,
    outermost first (e.g. län, kommun), then ``unit``.

    Returns one row per partition and term: ``between`` names the level, ``within`` the levels
    it sits in, then ``M`` and ``H``. The terms add up to the total M (and H) over ``unit``:
    M = M(l₁) + M(l₂ within l₁) + … + M(unit within l₁ … l_k).

    >>> import polars as pl
    >>> df = pl.DataFrame({"s": ["x", "x", "y", "y"], "u": [1, 2, 3, 4],
    ...                    "a": [9, 1, 5, 5], "b": [1, 9, 5, 5]})
    >>> out = mutual_nested(df, unit="u", within=["s"], groups=["a", "b"])
    >>> out.with_columns(pl.col("M", "H").round(4)).rows()
    [('s', '', 0.0, 0.0), ('u', 's', 0.184, 0.2655)]
    """
    by, levels = _as_list(by), _as_list(within)
    if not levels:
        raise CountsError("name at least one level in within=")
    prepared = prepare_counts(
        counts,
        unit=unit,
        groups=groups,
        by=[*by, *levels],
        group_col=group_col,
        count_col=count_col,
    )
    finest = Margins(prepared.values, prepared.part)
    outer = run_ids(prepared.keys, by)
    # M of the groups over the cells of each prefix of the chain (l1), (l1, l2), …, (…, unit).
    cumulative = []
    for depth in range(1, len(levels) + 1):
        cells = run_ids(prepared.keys, [*by, *levels[:depth]])
        totals = Margins(finest.N, cells)
        cumulative.append(Margins(totals.N, outer[totals.starts]).mutual_information)
    top = Margins(finest.N, outer)
    cumulative.append(
        top.segsum(np.nan_to_num(_div(finest.T, top.per_row(top.T)) * finest.mutual_information))
        + cumulative[-1]
    )
    terms = np.diff(np.column_stack([np.zeros(top.n_partitions), *cumulative]), axis=1)
    names = [*levels, unit]
    keys = take_rows(prepared.keys, top.starts, by)
    n_terms = len(names)
    meta = pl.DataFrame(
        {"between": names, "within": [", ".join(names[:k]) for k in range(n_terms)]}
    )
    rows = np.arange(top.n_partitions).repeat(n_terms)
    cols = np.tile(np.arange(n_terms), top.n_partitions)
    E = top.group_entropy[rows]
    flat = terms.ravel()
    return pl.concat(
        [
            take_rows(keys, rows),
            meta[cols],
            pl.DataFrame({"M": flat / math.log(base), "H": _div(flat, E)}),
        ],
        how="horizontal",
    )


def mutual_local(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    of: Literal["unit", "group"] = "unit",
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Local segregation scores: ``ls`` and weight ``p`` per unit (or per group).

    For units: ls_i = Σ_g p_ig log(p_ig / π_g), p_i = t_i / T. For groups:
    ls_g = Σ_i (n_ig / N_g) log((n_ig / N_g) / (t_i / T)), p_g = π_g. In both, Σ p · ls = M.

    >>> import polars as pl
    >>> df = pl.DataFrame({"unit": ["u1", "u2", "u3"], "a": [30, 10, 20], "b": [10, 30, 20]})
    >>> out = mutual_local(df, unit="unit", groups=["a", "b"])
    >>> out.with_columns(pl.col("ls", "p").round(4)).rows()
    [('u1', 0.1308, 0.3333), ('u2', 0.1308, 0.3333), ('u3', 0.0, 0.3333)]
    """
    prepared = prepare_counts(
        counts, unit=unit, groups=groups, by=by, group_col=group_col, count_col=count_col
    )
    m = Margins(prepared.values, prepared.part)
    cells = m.info_cells / math.log(base)
    if of == "unit":
        frame = take_rows(prepared.keys, prepared.part).with_columns(prepared.units)
        return frame.with_columns(
            pl.Series("ls", _div(cells.sum(axis=1), m.t)),
            pl.Series("p", _div(m.t, m.per_row(m.T))),
        )
    if of != "group":
        raise InputError(f"of= must be 'unit' or 'group', not {of!r}")
    n_groups = len(prepared.groups)
    rows = np.arange(m.n_partitions).repeat(n_groups)
    return take_rows(prepared.keys, rows).with_columns(
        pl.Series("group", list(prepared.groups) * m.n_partitions, pl.String),
        pl.Series("ls", _div(m.segsum(cells), m.N).ravel()),
        pl.Series("p", m.pi.ravel()),
    )
