"""The measurement engine: any set of indices, for every partition, in one pass.

``measure`` validates the counts once, computes the shared margins once, and asks each
requested index of the registry for its values over all partitions at once. The loop is over
the (few) requested index *functions*, each a handful of numpy calls over every partition; there
is no loop over partitions and no object per number.

Degenerate partitions give NaN, never an exception and never a wrong number. The reasons
(``reasons=True`` adds them as a ``reason`` column):

* ``zero total``: the partition has no people in the listed groups;
* ``fewer than two populated units``: segregation over one area is undefined (the diversity
  measures ``diversity`` and ``simpson_*`` describe the partition and are still given);
* ``focal group absent`` / ``no one outside the focal group``: a two-group index compares the
  focal group with the rest, so both must be present;
* ``fewer than two groups present``: a multigroup segregation index needs two groups.
  Multigroup indices are otherwise computed over the groups present in the partition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from bryta.compute.progress import Progress
from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation.counts import Counts, prepare_counts, take_rows
from bryta.compute.segregation.indices import REGISTRY, IndexSpec, Params
from bryta.errors import InputError

REASONS = (
    None,
    "zero total",
    "fewer than two populated units",
    "focal group absent",
    "no one outside the focal group",
    "fewer than two groups present",
)
_ZERO, _UNITS, _ABSENT, _EVERYONE, _GROUPS = 1, 2, 3, 4, 5


class UnknownIndexError(InputError):
    """An index or focal group name that bryta does not know."""


def resolve_indices(
    indices: Sequence[str] | str | None, *, spatial: bool = False
) -> list[IndexSpec]:
    """Index specs in registry order, the aspatial ones first; ``None`` means all but the
    simulation-based ones (they are random and cost a simulation each, so they are computed
    only when named), the spatial ones too when ``spatial``, i.e. when there are boundaries.
    A spatial index named without boundaries is refused."""
    from bryta.compute.spatial.indices import SPATIAL_REGISTRY

    known = {**REGISTRY, **SPATIAL_REGISTRY}
    if indices is None:
        return [spec for spec in (known if spatial else REGISTRY).values() if not spec.simulated]
    names = [indices] if isinstance(indices, str) else list(indices)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownIndexError(
            f"unknown index {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    lacking = [n for n in names if n in SPATIAL_REGISTRY and not spatial]
    if lacking:
        raise InputError(
            f"{', '.join(map(repr, lacking))} need unit boundaries: give geometry= and "
            "geometry_code= (on the command line --boundaries FILE --boundary-code COLUMN)"
        )
    return [spec for name, spec in known.items() if name in names]


def _focal_positions(counts: Counts, focal: Sequence[str] | str | None) -> np.ndarray:
    if focal is None:
        return np.arange(len(counts.groups))
    names = [str(focal)] if isinstance(focal, str | int) else [str(g) for g in focal]
    unknown = [g for g in names if g not in counts.groups]
    if unknown:
        raise UnknownIndexError(
            f"focal group {', '.join(map(repr, unknown))} is not among the groups "
            f"{', '.join(counts.groups)}"
        )
    return np.array([counts.groups.index(g) for g in names], dtype=np.int64)


def compute_blocks(
    m: Margins,
    specs: Sequence[IndexSpec],
    focal: np.ndarray,
    params: Params,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """Values and NaN reasons for ``specs`` over all partitions.

    Returns ``values`` and ``reason`` codes (partitions × columns) and, per column, the index
    name and the focal group position (−1 for a multigroup index). Bootstrap and other
    callers that stack many replicates as partitions use this directly.
    """
    zero = m.T <= 0
    few_units = m.populated_units < 2
    base_reason = np.where(zero, _ZERO, np.where(few_units, _UNITS, 0))
    blocks, reasons, columns = [], [], []
    for spec in specs:
        own = replace(params, focal=tuple(int(g) for g in focal)) if spec.simulated else params
        raw = np.asarray(spec.func(m, own), dtype=np.float64)
        if spec.kind == "two_group":
            raw = raw[:, focal]
            N = m.N[:, focal]
            reason = np.where(N <= 0, _ABSENT, np.where(m.T[:, None] <= N, _EVERYONE, 0))
            general = base_reason if spec.needs_units else np.where(zero, _ZERO, 0)
            reason = np.where(general[:, None] > 0, general[:, None], reason)
            columns += [(spec.name, int(g)) for g in focal]
        else:
            raw = raw[:, None]
            if spec.needs_units:
                reason = np.where(
                    base_reason > 0, base_reason, np.where(m.groups_present < 2, _GROUPS, 0)
                )
            else:
                reason = np.where(zero, _ZERO, 0)
            reason = reason[:, None]
            columns.append((spec.name, -1))
        blocks.append(np.where(reason > 0, np.nan, raw))
        reasons.append(reason)
        if progress is not None:
            progress(1)
    n_parts = m.n_partitions
    if not blocks:
        return np.zeros((n_parts, 0)), np.zeros((n_parts, 0), dtype=np.int64), []
    return np.hstack(blocks), np.hstack(reasons).astype(np.int64), columns


def index_meta(groups: Sequence[str], columns: Sequence[tuple[str, int]]) -> pl.DataFrame:
    """One row per result column: ``index`` and ``group`` (null for a multigroup index)."""
    return pl.DataFrame(
        {
            "index": [name for name, _ in columns],
            "group": [groups[g] if g >= 0 else None for _, g in columns],
        },
        schema={"index": pl.String, "group": pl.String},
    )


def long_result(
    keys: pl.DataFrame,
    meta: pl.DataFrame,
    values: np.ndarray,
    reason: np.ndarray | None = None,
    value_name: str = "value",
) -> pl.DataFrame:
    """Assemble partitions × columns into a long result: the partition keys, the column's
    ``meta`` (one row per column of ``values``) and the value."""
    n_parts, n_cols = values.shape
    part_idx = np.repeat(np.arange(n_parts), n_cols)
    col_idx = np.tile(np.arange(n_cols), n_parts)
    parts = [take_rows(keys, part_idx), meta[col_idx], pl.DataFrame({value_name: values.ravel()})]
    if reason is not None:
        parts.append(pl.DataFrame({"reason": pl.Series(REASONS, dtype=pl.String)[reason.ravel()]}))
    return pl.concat(parts, how="horizontal")


def plan(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None,
    by: Sequence[str] | str | None,
    indices: Sequence[str] | str | None,
    focal: Sequence[str] | str | None,
    group_col: str | None,
    count_col: str | None,
    b: float,
    base: float,
    drop_totals: bool = False,
    fractional: bool = False,
    geometry: Any = None,
    geometry_code: str | None = None,
    spatial: dict[str, Any] | None = None,
    m: int = 1000,
    B: int = 500,
    iterations: int = 500,
    seed: int | None = None,
    attach_geometry: bool = True,
    density_optimizer: str = "nelder_mead",
    distance: float | None = None,
    kernel: str = "triangular",
    w: Any = None,
) -> tuple[Counts, list[IndexSpec], np.ndarray, Params]:
    """Validate everything a measurement needs before any work is done. With ``geometry``
    the unit geometry is built (once per distinct set of units) and ``spatial`` holds the
    parameters of the spatial indices (:class:`bryta.compute.spatial.indices.SpatialParams`).
    ``attach_geometry=False`` accepts the spatial indices but leaves the geometry to the
    caller (:func:`with_geometry`), for tables assembled after planning.
    With ``distance`` (and ``kernel``) or ``w`` the counts returned are on egohoods
    (:class:`bryta.compute.spatial.implicit.EgohoodCounts`)."""
    egohood = distance is not None or w is not None
    if egohood or kernel != "triangular":
        from bryta.compute.spatial.implicit import check_egohood

        check_egohood(distance, kernel, geometry, indices, w)
    specs = resolve_indices(indices, spatial=geometry is not None and not egohood)
    params = Params(
        b=b,
        base=base,
        m=m,
        B=B,
        iterations=iterations,
        seed=seed,
        density_optimizer=density_optimizer,
    )
    prepared = prepare_counts(
        counts,
        unit=unit,
        groups=groups,
        by=by,
        group_col=group_col,
        count_col=count_col,
        drop_totals=drop_totals,
        fractional=fractional,
    )
    focal_pos = _focal_positions(prepared, focal)
    if egohood:
        from bryta.compute.spatial.implicit import egohood_counts

        prepared = egohood_counts(
            prepared,
            geometry=geometry,
            geometry_code=geometry_code,
            distance=distance,
            kernel=kernel,
            w=w,
        )
    if attach_geometry:
        params = with_geometry(params, specs, prepared, geometry, geometry_code, spatial)
    return prepared, specs, focal_pos, params


def with_geometry(
    params: Params,
    specs: Sequence[IndexSpec],
    counts: Counts,
    geometry: Any,
    geometry_code: str | None,
    spatial: dict[str, Any] | None = None,
) -> Params:
    """``params`` with the geometry of ``counts``' rows and the spatial parameters, when a
    spatial index is asked for and there are boundaries; ``params`` unchanged otherwise."""
    if geometry is None or not any(spec.spatial for spec in specs):
        return params
    from bryta.compute.spatial.geometry import build_geometry
    from bryta.compute.spatial.indices import SpatialParams

    settings = SpatialParams(build_geometry(counts, geometry, geometry_code), **(spatial or {}))
    return replace(params, spatial=settings)


def measure(
    counts: Any,
    *,
    unit: str,
    groups: Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
    indices: Sequence[str] | str | None = None,
    focal: Sequence[str] | str | None = None,
    group_col: str | None = None,
    count_col: str | None = None,
    b: float = 0.5,
    base: float = math.e,
    reasons: bool = False,
    progress: Progress | None = None,
    drop_totals: bool = False,
    fractional: bool = False,
    names: bool = False,
    geometry: Any = None,
    geometry_code: str | None = None,
    center: str | tuple[float, float] = "mean",
    alpha: float = 0.6,
    beta: float = 0.5,
    standardize: bool = True,
    profile_steps: int = 1000,
    metric: Any = "euclidean",
    m: int = 1000,
    B: int = 500,
    iterations: int = 500,
    seed: int | None = None,
    density_optimizer: str = "nelder_mead",
    distance: float | None = None,
    kernel: str = "triangular",
    w: Any = None,
) -> pl.DataFrame:
    """Compute segregation indices for every partition of a counts table in one pass.

    Args:
        counts: polars, pandas or Arrow table, wide (``groups`` are count columns) or long
            (``group_col`` and ``count_col``).
        unit: the column naming the unit (area).
        groups: the group count columns (wide), or a selection of groups (long).
        by: partition key columns; every distinct combination is measured on its own.
        indices: names from :data:`bryta.INDICES`; when omitted, all but the simulation-based
            ones (``bias_corrected_dissimilarity``, ``modified_dissimilarity``,
            ``modified_gini``), which are computed only when named.
        focal: focal group(s) for the two-group indices; every group in turn when omitted.
        b: Atkinson's shape parameter.
        base: base of the logarithm for ``mutual_information`` and ``diversity``.
        reasons: add a ``reason`` column saying why a value is NaN.
        progress: called with 1 as each index is computed; the steps add up to the number
            of indices (see :mod:`bryta.compute.progress`).
        drop_totals: drop units that are totals (``Sverige``, ``riket``, ``totalt``, …) and
            groups that are (``totalt``, ``samtliga``, …) instead of refusing them.
        fractional: accept counts that are not whole numbers (weighted counts); by default
            ``12.5`` people is refused, naming the rows.
        names: add the area names beside Swedish codes in the ``by`` columns
            (``kommun_name`` after ``kommun``, ``lan_name`` after ``lan``, ``regso_name``
            after ``regso``; see :func:`bryta.geography.areas.with_area_names`).
        geometry: unit boundaries for the spatial indices: a boundary file (GeoParquet,
            GeoPackage, GeoJSON, Shapefile; read with
            :func:`bryta.geography.boundaries.read_boundaries`), a frame as that returns
            (WKB ``geometry`` in EPSG:3006) or a GeoPandas GeoDataFrame. Every unit of the
            counts needs a polygon and every polygon a unit. With it, "all indices" includes
            the spatial ones (:mod:`bryta.compute.spatial.indices`).
        geometry_code: the column of ``geometry`` holding the unit codes (``code`` for a
            frame; required for a file).
        center, alpha, beta, standardize, profile_steps, metric: PySAL's parameters of the
            spatial indices (see :class:`bryta.compute.spatial.indices.SpatialParams`).
        m: the number of thresholds of ``con_prof`` (PySAL's default 1000).
        B: the draws of ``bias_corrected_dissimilarity`` (PySAL's default 500).
        iterations: the draws of ``modified_dissimilarity`` and ``modified_gini`` (500).
        seed: seed of those simulations: the same seed gives the same numbers on any machine
            and number of threads; None draws fresh randomness.
        density_optimizer: how ``density_corrected_dissimilarity`` finds each unit's mode:
            ``nelder_mead`` (PySAL's optimiser, step for step: PySAL's value) or ``exact``
            (the true mode; PySAL's normal density underflows for units with θ > 38.6,
            which then add nearly nothing, see docs/indices.md).
        distance: PySAL's spatially implicit indices: every aspatial index is computed on
            egohoods, each group's count replaced by round(Σⱼ K(dᵢⱼ / distance) nⱼ) over the
            units whose centroids (of ``geometry``) lie within ``distance`` metres, the unit
            itself weighted 1 (PySAL's ``distance=``; see
            :mod:`bryta.compute.spatial.implicit`). Not with the spatial indices.
        kernel: the kernel K of ``distance`` (PySAL's ``function=``): ``triangular``
            (default), ``uniform``, ``quadratic``, ``quartic`` or ``gaussian``.
        w: egohoods from a weights table instead of a distance (PySAL's ``w=``): columns
            ``unit_i``, ``unit_j``, ``weight`` and optionally the ``by`` columns; the
            diagonal is set to 1. Needs no geometry.

    Returns:
        One row per partition × index (× focal group for two-group indices): the ``by``
        columns in their input types (with their names beside codes), ``index``, ``group``
        (null for multigroup indices) and ``value``.

    >>> import polars as pl
    >>> df = pl.DataFrame({"kommun": ["0114"] * 3, "area": ["u1", "u2", "u3"],
    ...                    "a": [30, 10, 20], "b": [10, 30, 20]})
    >>> measure(df, unit="area", groups=["a", "b"], by="kommun",
    ...         indices=["dissimilarity", "theil_h"], focal="a")
    shape: (2, 4)
    ┌────────┬───────────────┬───────┬──────────┐
    │ kommun ┆ index         ┆ group ┆ value    │
    │ ---    ┆ ---           ┆ ---   ┆ ---      │
    │ str    ┆ str           ┆ str   ┆ f64      │
    ╞════════╪═══════════════╪═══════╪══════════╡
    │ 0114   ┆ dissimilarity ┆ a     ┆ 0.333333 │
    │ 0114   ┆ theil_h       ┆ null  ┆ 0.125815 │
    └────────┴───────────────┴───────┴──────────┘
    """
    prepared, specs, focal_pos, params = plan(
        counts,
        unit=unit,
        groups=groups,
        by=by,
        indices=indices,
        focal=focal,
        group_col=group_col,
        count_col=count_col,
        b=b,
        base=base,
        drop_totals=drop_totals,
        fractional=fractional,
        geometry=geometry,
        geometry_code=geometry_code,
        spatial={
            "center": center,
            "alpha": alpha,
            "beta": beta,
            "standardize": standardize,
            "profile_steps": profile_steps,
            "metric": metric,
        },
        m=m,
        B=B,
        iterations=iterations,
        seed=seed,
        density_optimizer=density_optimizer,
        distance=distance,
        kernel=kernel,
        w=w,
    )
    if distance is not None or w is not None:
        from bryta.compute.spatial.implicit import EgohoodCounts, egohood_blocks

        assert isinstance(prepared, EgohoodCounts)
        values, reason, columns = egohood_blocks(prepared, specs, focal_pos, params, progress)
    else:
        margins = Margins(prepared.values, prepared.part)
        values, reason, columns = compute_blocks(margins, specs, focal_pos, params, progress)
    meta = index_meta(prepared.groups, columns)
    result = long_result(prepared.keys, meta, values, reason if reasons else None)
    if not names:
        return result
    from bryta.geography.areas import with_area_names

    return with_area_names(result)
