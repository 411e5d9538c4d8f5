"""Multiscalar segregation profiles: every engine index over bespoke neighbourhoods, per k.

For each k, every cell's residents are given the composition of their k-nearest-neighbour
context (:func:`bryta.compute.spatial.neighbourhoods.knn_contexts`); an index is then computed over
the cells as units, with unit counts = the cell's population × its context's group shares
(``weight="population"``, the convention of Reardon & O'Sullivan's spatial indices, in which
each person is weighted once and sees their local environment). ``weight="context"`` uses the
contexts themselves as units (k people each), as PySAL's multiscalar profiles do.

A profile shows how segregation falls as the neighbourhood grows: a steep fall means
segregation at a small scale (blocks), a flat profile segregation at the scale of whole
districts (Östh, Clark & Malmberg 2015). All k and all regions (``by``) go through the
measurement engine in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import polars as pl

from bryta.compute.segregation.counts import to_polars
from bryta.compute.segregation.engine import measure
from bryta.compute.spatial.neighbourhoods import knn_contexts
from bryta.errors import InputError

__all__ = ["multiscalar_profile", "profile_figure"]

_CELL = "__bryta_cell"


def multiscalar_profile(
    frame: Any,
    *,
    x: str,
    y: str,
    groups: Sequence[str],
    k: Sequence[int],
    by: Sequence[str] | str | None = None,
    indices: Sequence[str] | str | None = None,
    focal: Sequence[str] | str | None = None,
    weight: Literal["population", "context"] = "population",
) -> pl.DataFrame:
    """Each index for each k (and region): ``by…, k, index, group, value``.

    Contexts are computed over all cells together (neighbourhoods cross regional borders, as
    people's do); ``by`` then measures the cells of each region separately.

    >>> cells = pl.DataFrame({"x": [0, 100, 1000, 1100], "y": 0, "a": [10, 10, 0, 0],
    ...                       "b": [0, 0, 10, 10]})
    >>> p = multiscalar_profile(cells, x="x", y="y", groups=["a", "b"], k=[20, 40],
    ...                         indices="dissimilarity", focal="a")
    >>> p.select("k", "value").rows()  # complete at the block scale, none at the city scale
    [(20, 1.0), (40, 0.0)]
    """
    if weight not in ("population", "context"):
        raise InputError(f"weight must be 'population' or 'context', not {weight!r}")
    keys = [by] if isinstance(by, str) else list(by or [])
    groups = list(groups)
    data = to_polars(frame).with_row_index(_CELL)
    missing = [c for c in keys if c not in data.columns]
    if missing:
        raise InputError(f"column {', '.join(map(repr, missing))} not found")
    contexts = knn_contexts(data, x=x, y=y, groups=groups, k=list(k), unit=_CELL)
    if weight == "population":
        population = data.select(
            _CELL, pl.sum_horizontal(pl.col(g).cast(pl.Float64) for g in groups).alias("_pop")
        )
        held = pl.sum_horizontal(groups)
        contexts = contexts.join(population, on=_CELL).with_columns(
            pl.when(held > 0).then(pl.col(g) * pl.col("_pop") / held).otherwise(0.0) for g in groups
        )
    if keys:
        contexts = contexts.join(data.select(_CELL, *keys), on=_CELL)
    return measure(  # contexts hold distance-weighted counts: fractional by nature
        contexts,
        unit=_CELL,
        groups=groups,
        by=[*keys, "k"],
        indices=indices,
        focal=focal,
        fractional=True,
    )


def profile_figure(profile: pl.DataFrame, *, index: str, group: str | None = None) -> Any:
    """A plotly figure of one index against k (log scale), one line per region.

    Write it with ``fig.write_html(path, include_plotlyjs=True)``: the page then carries
    plotly.js from the installed package and opens offline.
    """
    import plotly.graph_objects as go

    rows = profile.filter(pl.col("index") == index)
    if group is not None:
        rows = rows.filter(pl.col("group") == group)
    if rows.is_empty():
        raise InputError(f"no values of {index!r} in the profile")
    keys = [c for c in rows.columns if c not in ("k", "index", "group", "value", "reason")]
    fig = go.Figure()
    labelled = rows.with_columns(
        pl.concat_str([pl.col(c).cast(pl.String) for c in keys], separator=" ").alias("_line")
        if keys
        else pl.lit("all").alias("_line")
    )
    for (line,), part in labelled.sort("k").group_by("_line", maintain_order=True):
        fig.add_trace(go.Scatter(x=part["k"], y=part["value"], mode="lines+markers", name=line))
    title = f"{index}" + (f" ({group})" if group else "")
    fig.update_layout(
        title=f"Segregation by scale: {title}",
        xaxis={"title": "k nearest people", "type": "log"},
        yaxis={"title": index},
        template="plotly_white",
    )
    return fig
