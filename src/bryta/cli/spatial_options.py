"""The options of the spatial indices, defined once for ``measure``, ``compare`` and
``local``: the boundaries, PySAL's parameters (``center``, ``alpha``, ``beta``,
``standardize``, ``profile_steps``, ``metric``; see
:class:`bryta.compute.spatial.indices.SpatialParams`) and the egohoods (``--distance``,
``--kernel``, ``--weights``; :mod:`bryta.compute.spatial.implicit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

Boundaries = Annotated[
    Path | None,
    typer.Option(
        "--boundaries",
        help="Unit boundaries (GeoParquet, GeoPackage, GeoJSON, Shapefile) for the spatial "
        "indices; with it, all indices include the spatial ones.",
    ),
]
BoundaryCode = Annotated[
    str | None,
    typer.Option("--boundary-code", help="With --boundaries: the column with the unit codes."),
]
Center = Annotated[
    str,
    typer.Option(
        help="Centralization's centre: mean, median, population_weighted_mean, "
        "largest_population (of the unit centroids) or a point X,Y in EPSG:3006 metres."
    ),
]
Alpha = Annotated[
    float, typer.Option("--alpha", help="Proximity's diagonal 1 - exp(-(alpha a)^beta): alpha.")
]
Beta = Annotated[float, typer.Option("--beta", help="Proximity's diagonal: beta.")]
Standardize = Annotated[
    bool,
    typer.Option(
        "--standardize/--no-standardize",
        help="Row-standardise the shared-boundary weights of the two boundary dissimilarities.",
    ),
]
ProfileSteps = Annotated[
    int, typer.Option(help="Thresholds of spatial_proximity_profile (PySAL's m).")
]
Metric = Annotated[
    str, typer.Option(help="Centroid distance of global_distortion (a scipy pdist metric).")
]


Distance = Annotated[
    float | None,
    typer.Option(
        "--distance",
        help="With --boundaries: compute the aspatial indices on egohoods of this radius "
        "in metres (PySAL's spatially implicit indices, distance=).",
    ),
]
Kernel = Annotated[
    str,
    typer.Option(
        "--kernel",
        help="With --distance: the kernel weighting the egohood (PySAL's function=): "
        "triangular, uniform, quadratic, quartic or gaussian.",
    ),
]
Weights = Annotated[
    Path | None,
    typer.Option(
        "--weights",
        help="Egohoods from a weights table (.csv, .xlsx, .parquet: unit_i, unit_j, "
        "weight, optionally the --by columns) instead of --distance (PySAL's w=).",
    ),
]


def read_weights(weights: Path | None, by: list[str] | None) -> Any:
    """The weights table of --weights, checked (None without it)."""
    if weights is None:
        return None
    from bryta.app.tables import read_table
    from bryta.cli._common import user_errors
    from bryta.compute.spatial.implicit import weights_table

    with user_errors(str(weights)):
        return weights_table(read_table(weights), by or [], label=str(weights))


def check_boundaries(boundaries: Path | None, boundary_code: str | None) -> None:
    """--boundaries and --boundary-code come together."""
    if boundary_code is not None and boundaries is None:
        raise typer.BadParameter("--boundary-code needs --boundaries FILE")
    if boundaries is not None and boundary_code is None:
        raise typer.BadParameter("--boundaries needs --boundary-code COLUMN")


def spatial_parameters(
    center: str, alpha: float, beta: float, standardize: bool, profile_steps: int, metric: str
) -> dict[str, Any]:
    """The keyword arguments of the spatial indices; ``center`` "X,Y" becomes a point.

    >>> spatial_parameters("374000, 6163000", 0.6, 0.5, True, 1000, "euclidean")["center"]
    (374000.0, 6163000.0)
    """
    point: str | tuple[float, float] = center
    if "," in center:
        parts = [p.strip() for p in center.split(",")]
        try:
            x, y = (float(p) for p in parts)
        except ValueError:
            raise typer.BadParameter(
                f"--center {center!r}: give a point as X,Y in metres (EPSG:3006), e.g. "
                "374000,6163000, or mean, median, population_weighted_mean, largest_population"
            ) from None
        point = (x, y)
    return {
        "center": point,
        "alpha": alpha,
        "beta": beta,
        "standardize": standardize,
        "profile_steps": profile_steps,
        "metric": metric,
    }
