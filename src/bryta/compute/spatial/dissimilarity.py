"""Spatial dissimilarity for polygons: the dissimilarity index adjusted for contiguity.

Morrill's (1991) spatial dissimilarity subtracts from D how much the focal group's share
differs between neighbouring areas:

    D(adj) = D − Σᵢⱼ cᵢⱼ |zᵢ − zⱼ| / Σᵢⱼ cᵢⱼ

with zᵢ the focal group's share of area i's population and cᵢⱼ = 1 when areas i and j are
contiguous (0 otherwise, and on the diagonal); with ``standardize``, each row of c is divided
by its sum (the convention of R ``seg``). Neighbouring areas with very different compositions
lower the index: a sharp border between two groups is less segregated, in Morrill's reading,
than the same split into far-apart areas.

Contiguity comes from the polygons (WKB, as :func:`bryta.geography.boundaries.read_boundaries`
returns them): ``queen`` — areas sharing at least one boundary point; ``rook`` — areas sharing
a boundary of positive length. D comes from the measurement engine, every partition at once;
the adjustment is a join of the neighbour pairs with each partition's shares.

Reference: Morrill, R. L. (1991). On the measure of geographic segregation. Geography
Research Forum 11, 25–36.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
import shapely

from bryta.compute.segregation.counts import to_polars
from bryta.compute.segregation.engine import measure
from bryta.errors import InputError

__all__ = ["contiguity_pairs", "spatial_dissimilarity"]

Rule = Literal["queen", "rook"]


def contiguity_pairs(boundaries: Any, *, code: str = "code", rule: Rule = "queen") -> pl.DataFrame:
    """Every ordered pair of contiguous areas: ``unit``, ``neighbour`` (both directions).

    >>> squares = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 1, 3, 2)]
    >>> frame = pl.DataFrame({"code": ["a", "b", "c"], "geometry": shapely.to_wkb(squares)})
    >>> contiguity_pairs(frame).rows()  # b and c touch at a corner only
    [('a', 'b'), ('b', 'a'), ('b', 'c'), ('c', 'b')]
    >>> contiguity_pairs(frame, rule="rook").rows()
    [('a', 'b'), ('b', 'a')]
    """
    if rule not in ("queen", "rook"):
        raise InputError(f"contiguity rule must be 'queen' or 'rook', not {rule!r}")
    frame = to_polars(boundaries)
    missing = [c for c in (code, "geometry") if c not in frame.columns]
    if missing:
        raise InputError(f"boundaries need the columns {', '.join(missing)}")
    codes = frame.get_column(code).cast(pl.String)
    if codes.is_duplicated().any():
        raise InputError(f"boundaries: codes repeat in column {code!r}")
    geoms = shapely.from_wkb(frame.get_column("geometry").to_numpy())
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left != right
    left, right = left[keep], right[keep]
    if rule == "rook" and left.size:
        shared = shapely.intersection(geoms[left], geoms[right])
        keep = shapely.length(shared) > 0
        left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    return pl.DataFrame(
        {"unit": codes.gather(left[order]), "neighbour": codes.gather(right[order])}
    )


def spatial_dissimilarity(
    counts: Any,
    boundaries: Any,
    *,
    unit: str,
    groups: Sequence[str],
    focal: str,
    by: Sequence[str] | str | None = None,
    code: str = "code",
    rule: Rule = "queen",
    standardize: bool = False,
) -> pl.DataFrame:
    """Morrill's spatial dissimilarity of ``focal`` against the other ``groups``, per partition.

    Returns the ``by`` keys, ``dissimilarity`` (D from the engine), ``adjustment`` (the
    contiguity term) and ``value`` = D − adjustment. Units without boundaries, or without a
    contiguous neighbour in the same partition, add nothing to the adjustment; a partition with
    no contiguous pair gets a null adjustment and value.

    Worked value: two adjacent areas with (focal, other) = (10, 0) and (0, 10): D = 1, the
    shares differ by 1 across the one border, so D(adj) = 1 − 1 = 0.

    >>> squares = shapely.to_wkb([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> areas = pl.DataFrame({"code": ["a", "b"], "geometry": squares})
    >>> counts = pl.DataFrame({"u": ["a", "b"], "x": [10, 0], "y": [0, 10]})
    >>> spatial_dissimilarity(counts, areas, unit="u", groups=["x", "y"], focal="x").row(0)
    (1.0, 1.0, 0.0)
    """
    if focal not in groups:
        raise InputError(f"focal group {focal!r} is not among the groups {', '.join(groups)}")
    keys = [by] if isinstance(by, str) else list(by or [])
    data = to_polars(counts)
    d = measure(
        data, unit=unit, groups=groups, by=keys or None, indices="dissimilarity", focal=focal
    )
    d = d.select(*keys, pl.col("value").alias("dissimilarity"))

    pairs = contiguity_pairs(boundaries, code=code, rule=rule)
    total = pl.sum_horizontal(pl.col(g).cast(pl.Float64) for g in groups)
    shares = data.select(
        *keys,
        pl.col(unit).cast(pl.String).alias("unit"),
        pl.when(total > 0).then(pl.col(focal).cast(pl.Float64) / total).otherwise(0.0).alias("z"),
    )
    linked = pairs.join(shares, on="unit").join(
        shares.rename({"unit": "neighbour", "z": "z_n"}), on=[*keys, "neighbour"]
    )
    group = keys or ["__all"]
    if not keys:
        d = d.with_columns(pl.lit(0).alias("__all"))
        linked = linked.with_columns(pl.lit(0).alias("__all"))
    weight = 1.0 / pl.len().over(*group, "unit") if standardize else pl.lit(1.0)
    linked = linked.with_columns(weight.alias("_w"))
    term = linked.group_by(group).agg(
        ((pl.col("z") - pl.col("z_n")).abs() * pl.col("_w")).sum().alias("_num"),
        pl.col("_w").sum().alias("_den"),
    )
    term = term.select(*group, (pl.col("_num") / pl.col("_den")).alias("adjustment"))
    out = d.join(term, on=group, how="left")
    if not keys:
        out = out.drop("__all")
    return out.with_columns((pl.col("dissimilarity") - pl.col("adjustment")).alias("value"))
