"""Geometry of the statistical areas: boundaries in SWEREF 99 TM, served as GeoJSON.

See :mod:`bryta.geo.boundaries` and ``docs/boundaries.md``.
"""

from bryta.geo.boundaries import (
    BUNDLED,
    TARGET_CRS,
    BoundaryWarning,
    bundled_boundaries,
    read_boundaries,
    simplified_geojson,
    store_boundaries,
    write_geoparquet,
)

__all__ = [
    "BUNDLED",
    "TARGET_CRS",
    "BoundaryWarning",
    "bundled_boundaries",
    "read_boundaries",
    "simplified_geojson",
    "store_boundaries",
    "write_geoparquet",
]
