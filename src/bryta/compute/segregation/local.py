"""Local and pairwise measures: per unit, per group pair.

* :func:`location_quotients`: LQ_ig = p_ig / π_g (1 = the unit has the partition's share);
* :func:`local_entropy`: the diversity of each unit, −Σ_g p_ig log p_ig;
* :func:`pairwise_dissimilarity`: D between two named groups, ignoring the others;
* :func:`exposure_matrix`: exposure of each group to each group (the diagonal is isolation).

Local M scores (``ls``, ``p``) are in :func:`bryta.compute.segregation.mutual.mutual_local`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from bryta.compute.segregation._margins import Margins, entropy_of
from bryta.compute.segregation.counts import prepare_counts, take_rows
from bryta.compute.segregation.engine import long_result
from bryta.errors import CountsError


def _prepare(counts: Any, unit: str, groups: Any, by: Any, **long: Any):
    prepared = prepare_counts(counts, unit=unit, groups=groups, by=by, **long)
    return prepared, Margins(prepared.values, prepared.part)


def location_quotients(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Location quotient of every group in every unit: ``by…, unit, group, lq``.

    Formula: LQ_ig = (n_ig / t_i) / (N_g / T). Reference: Isard, W. (1960). Methods of Regional
    Analysis. Worked value: unit u1 of the example (a, b) = (30, 10): LQ_a = 0.75 / 0.5 = 1.5.

    >>> from bryta.compute.segregation._examples import example_counts
    >>> location_quotients(example_counts(), unit="unit", groups=["a", "b"])["lq"].to_list()
    [1.5, 0.5, 0.5, 1.5, 1.0, 1.0]
    """
    prepared, m = _prepare(counts, unit, groups, by, group_col=group_col, count_col=count_col)
    with np.errstate(invalid="ignore", divide="ignore"):
        lq = np.where(m.t[:, None] > 0, m.p / m.pi_rows, np.nan)
    n_groups = len(prepared.groups)
    rows = np.repeat(np.arange(len(m.t)), n_groups)
    frame = take_rows(prepared.keys, prepared.part[rows]).with_columns(prepared.units[rows])
    return frame.with_columns(
        pl.Series("group", list(prepared.groups) * len(m.t), pl.String),
        pl.Series("lq", lq.ravel()),
    )


def local_entropy(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    base: float = math.e,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Entropy (diversity) of each unit's group mix: ``by…, unit, entropy``.

    Formula: E_i = −Σ_g p_ig log p_ig. Reference: Theil (1971); White (1986).
    Worked value: unit u3 of the example (20, 20): ln 2 = 0.693147.

    >>> from bryta.compute.segregation._examples import example_counts
    >>> local_entropy(example_counts(), unit="unit", groups=["a", "b"])["entropy"].round(6)[2]
    0.693147
    """
    prepared, m = _prepare(counts, unit, groups, by, group_col=group_col, count_col=count_col)
    ent = np.where(m.t > 0, entropy_of(m.p) / math.log(base), np.nan)
    return take_rows(prepared.keys, prepared.part).with_columns(
        prepared.units, pl.Series("entropy", ent)
    )


def pairwise_dissimilarity(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Dissimilarity between two named groups, the others left out: ``by…, group, other, value``.

    Formula: D_gh = ½ Σᵢ |n_ig / N_g − n_ih / N_h|. Reference: Duncan & Duncan (1955).
    Every pair of groups (each once) unless ``pairs`` is given. NaN when either group is
    absent or fewer than two units hold either.

    >>> from bryta.compute.segregation._examples import example_counts
    >>> pairwise_dissimilarity(example_counts(), unit="unit", groups=["a", "b"]).rows()
    [('a', 'b', 0.3333333333333333)]
    """
    prepared, m = _prepare(counts, unit, groups, by, group_col=group_col, count_col=count_col)
    names = prepared.groups
    if pairs is None:
        pairs = list(itertools.combinations(names, 2))
    unknown = sorted({g for pair in pairs for g in pair} - set(names))
    if unknown:
        raise CountsError(f"groups {unknown} in pairs= are not among {list(names)}")
    ia = np.array([names.index(a) for a, _ in pairs], dtype=np.int64)
    ib = np.array([names.index(b) for _, b in pairs], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = m.n / m.per_row(m.N)
        value = 0.5 * m.segsum(np.abs(shares[:, ia] - shares[:, ib]))
    held = m.segsum(((m.n[:, ia] + m.n[:, ib]) > 0).astype(float))
    ok = (m.N[:, ia] > 0) & (m.N[:, ib] > 0) & (held >= 2)
    meta = pl.DataFrame(
        {"group": [a for a, _ in pairs], "other": [b for _, b in pairs]},
        schema={"group": pl.String, "other": pl.String},
    )
    return long_result(prepared.keys, meta, np.where(ok, value, np.nan))


def exposure_matrix(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
) -> pl.DataFrame:
    """Exposure of each group (``group``) to each group (``other``): ``by…, group, other, value``.

    Formula: P_gh = Σᵢ (n_ig / N_g)(n_ih / t_i); rows sum to 1 over ``other`` and the diagonal
    is the isolation index. Reference: Bell (1954); Lieberson (1981).

    >>> from bryta.compute.segregation._examples import example_counts
    >>> out = exposure_matrix(example_counts(), unit="unit", groups=["a", "b"])
    >>> out["value"].round(6).to_list()
    [0.583333, 0.416667, 0.416667, 0.583333]
    """
    prepared, m = _prepare(counts, unit, groups, by, group_col=group_col, count_col=count_col)
    n_groups = len(prepared.groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = m.n / m.per_row(m.N)
    cube = m.segsum(shares[:, :, None] * m.p[:, None, :])  # partitions × of × to
    ok = (m.N > 0)[:, :, None] & (m.populated_units >= 1)[:, None, None]
    cube = np.where(ok, cube, np.nan).reshape(m.n_partitions, n_groups * n_groups)
    names = list(prepared.groups)
    meta = pl.DataFrame(
        {"group": [g for g in names for _ in names], "other": names * n_groups},
        schema={"group": pl.String, "other": pl.String},
    )
    return long_result(prepared.keys, meta, cube)
