"""Synthetic polygon grids for the parity tests against PySAL: squares, hexagons, jittered
so that no two units tie, and moved near the origin for PySAL."""

from __future__ import annotations

import numpy as np
import shapely


def squares(nx, ny, side):
    return np.array(
        [
            shapely.box(i * side, j * side, (i + 1) * side, (j + 1) * side)
            for j in range(ny)
            for i in range(nx)
        ]
    )


def hexagons(nx, ny, radius):
    w = np.sqrt(3) * radius
    cells = []
    for r in range(ny):
        for c in range(nx):
            cx, cy = c * w + (r % 2) * w / 2, r * 1.5 * radius
            angles = np.radians(30 + 60 * np.arange(6))
            cells.append(
                shapely.Polygon(np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)])
            )
    return np.array(cells)


def jitter(polygons, rng, amount, origin):
    """Move every vertex by a random amount, a shared vertex by the same in every polygon
    (no gaps, no overlaps), and place the grid at ``origin`` (SWEREF 99 TM metres): unequal
    areas and distances, so that no two units tie in the orderings."""
    coords = shapely.get_coordinates(polygons)
    # a shared vertex gets one position, bit for bit, in every polygon holding it
    vertices, inverse = np.unique(np.round(coords, 3), axis=0, return_inverse=True)
    moved = vertices + rng.uniform(-amount, amount, size=vertices.shape) + origin
    return shapely.set_coordinates(polygons.copy(), moved[inverse.ravel()])


def near_origin(polygons):
    """The polygons moved so that their bounding box starts at the origin. Distances, areas
    and centroids do not change, but PySAL's distance matrix (|a|² + |b|² − 2a·b) loses about
    eight digits at SWEREF 99 TM's coordinates of 6 · 10⁶ m and keeps them near the origin."""
    x0, y0 = shapely.total_bounds(polygons)[:2]
    return shapely.transform(polygons, lambda xy: xy - [x0, y0])
