"""The spatial indices: bryta's one pass against PySAL ``segregation`` 2.5's loop over regions.

A synthetic country: 290 kommuner, each a grid of 20–60 jittered hexagons (its own size and
shape), 20 years of counts of two groups: 5,800 partitions. bryta measures every index for
every kommun and year in one call (the geometry built once per kommun and shared by its
years); PySAL computes one region and one index at a time. PySAL is timed on a random subset
of the partitions (``--pysal-partitions``, default 20) and its time per partition is
extrapolated to all 5,800; the script says so when it does.

Run: ``uv run python benchmarks/bench_spatial.py`` (``--kommuner``, ``--years`` to shrink).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
import polars as pl
import shapely
from _measure import maxrss_mib, random_partitions, report_against_pysal

import bryta
from bryta.compute.spatial.indices import SPATIAL_REGISTRY

#: The single-group spatial indices, PySAL's singlegroup classes (global_distortion is not one)
SINGLE_GROUP = [name for name, spec in SPATIAL_REGISTRY.items() if spec.kind == "two_group"]

PYSAL_CLASSES = {
    "absolute_concentration": "AbsoluteConcentration",
    "relative_concentration": "RelativeConcentration",
    "delta": "Delta",
    "absolute_centralization": "AbsoluteCentralization",
    "relative_centralization": "RelativeCentralization",
    "boundary_spatial_dissimilarity": "BoundarySpatialDissim",
    "perimeter_area_ratio_spatial_dissimilarity": "PARDissim",
    "spatial_proximity": "SpatialProximity",
    "absolute_clustering": "AbsoluteClustering",
    "relative_clustering": "RelativeClustering",
    "distance_decay_isolation": "DistanceDecayIsolation",
    "distance_decay_exposure": "DistanceDecayInteraction",
    "spatial_proximity_profile": "SpatialProxProf",
}


def hexagon_grid(n: int, rng: np.random.Generator, origin: tuple[float, float]) -> np.ndarray:
    """n jittered hexagons (radius 300 m) in rows of about √n, shared vertices moved alike."""
    radius, width = 300.0, np.sqrt(3) * 300.0
    per_row = int(np.ceil(np.sqrt(n)))
    angles = np.radians(30 + 60 * np.arange(6))
    cells = []
    for k in range(n):
        r, c = divmod(k, per_row)
        cx, cy = c * width + (r % 2) * width / 2, r * 1.5 * radius
        ring = np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)]
        cells.append(shapely.Polygon(ring))
    polygons = np.array(cells)
    coords = shapely.get_coordinates(polygons)
    # a shared vertex gets one position, bit for bit, in every hexagon holding it
    vertices, inverse = np.unique(np.round(coords, 3), axis=0, return_inverse=True)
    moved = vertices + rng.uniform(-60, 60, size=vertices.shape) + origin
    return shapely.set_coordinates(polygons, moved[inverse.ravel()])


def country(kommuner: int, years: int, seed: int = 290):
    rng = np.random.default_rng(seed)
    codes, polygons, kommun_of = [], [], []
    for k in range(kommuner):
        n = int(rng.integers(20, 61))
        origin = (300_000 + (k % 20) * 20_000, 6_200_000 + (k // 20) * 20_000)
        for i, cell in enumerate(hexagon_grid(n, rng, origin)):
            codes.append(f"{k:04d}U{i:02d}")
            polygons.append(cell)
            kommun_of.append(f"{k:04d}")
    units = len(codes)
    share = np.repeat(rng.beta(1.2, 4, size=units)[None, :], years, axis=0)
    share = np.clip(share + rng.normal(0, 0.02, size=share.shape), 0, 1)
    size = rng.integers(50, 2_000, size=(years, units))
    a = rng.binomial(size, share)
    counts = pl.DataFrame(
        {
            "kommun": np.tile(kommun_of, years),
            "year": np.repeat(np.arange(2001, 2001 + years), units),
            "unit": np.tile(codes, years),
            "a": a.ravel(),
            "b": (size - a).ravel(),
        }
    )
    boundaries = pl.DataFrame({"code": codes, "geometry": shapely.to_wkb(np.array(polygons))})
    return counts, boundaries, dict(zip(codes, polygons, strict=True))


def country_parser(doc: str, pysal_partitions: int) -> argparse.ArgumentParser:
    """The options every benchmark on the synthetic country takes."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--kommuner", type=int, default=290)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--pysal-partitions", type=int, default=pysal_partitions)
    return parser


def load_country(args: argparse.Namespace, what: str = ""):
    """The synthetic country of ``args`` (counts, boundaries, polygons by code, number of
    partitions), described in one printed line ending with ``what``."""
    counts, boundaries, polygons = country(args.kommuner, args.years)
    n_parts = args.kommuner * args.years
    print(
        f"synthetic country: {args.kommuner} kommuner × {args.years} years = {n_parts} "
        f"partitions, {boundaries.height} hexagons, {counts.height} rows{what}"
    )
    return counts, boundaries, polygons, n_parts


def first_partition(counts: pl.DataFrame, boundaries: pl.DataFrame):
    """The first kommun's first year and its boundaries: a small call to compile on."""
    small = counts.filter(pl.col("kommun") == counts["kommun"][0], pl.col("year") == 2001)
    return small, boundaries.filter(pl.col("code").is_in(small["unit"].implode()))


def near_origin(geoms: np.ndarray) -> np.ndarray:
    """The polygons moved so that their bounding box starts at the origin: PySAL's distance
    matrix loses digits at SWEREF 99 TM's coordinates of 6·10⁶ m."""
    x0, y0 = shapely.total_bounds(geoms)[:2]
    return shapely.transform(geoms, lambda xy: xy - [x0, y0])


def run_bryta(counts: pl.DataFrame, boundaries: pl.DataFrame) -> pl.DataFrame:
    return bryta.measure(
        counts,
        unit="unit",
        groups=["a", "b"],
        by=["kommun", "year"],
        focal="a",
        indices=SINGLE_GROUP,
        geometry=boundaries,
    )


def run_pysal(counts, polygons, keys):
    import geopandas as gpd
    from segregation import singlegroup

    per_index = dict.fromkeys(PYSAL_CLASSES, 0.0)
    values = {}
    for kommun, year in keys:
        rows = counts.filter(kommun=kommun, year=year).sort("unit")
        geoms = np.array([polygons[c] for c in rows["unit"]])
        local = near_origin(geoms)
        frame = gpd.GeoDataFrame(
            {"x": rows["a"].to_numpy(), "t": (rows["a"] + rows["b"]).to_numpy()},
            geometry=local,
            crs="EPSG:3006",
        )
        for name, cls in PYSAL_CLASSES.items():
            start = time.perf_counter()
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                values[kommun, year, name] = getattr(singlegroup, cls)(frame, "x", "t").statistic
            per_index[name] += time.perf_counter() - start
    return per_index, values


def main() -> None:
    args = country_parser(__doc__, pysal_partitions=20).parse_args()
    counts, boundaries, polygons, n_parts = load_country(args)
    run_bryta(*first_partition(counts, boundaries))  # compile
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        result = run_bryta(counts, boundaries)
        runs.append(time.perf_counter() - start)
    bryta_s = runs[0]  # the first full call: what a user waits for (the ratio uses it)
    rss = maxrss_mib()
    tracemalloc.start()
    run_bryta(counts, boundaries)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"bryta: {len(SINGLE_GROUP)} indices × {n_parts} partitions in one call: "
        f"{bryta_s:.2f} s (first call; best of 3: {min(runs):.2f} s); "
        f"peak traced allocations {peak / 2**20:.0f} MiB, peak RSS {rss:.0f} MiB"
    )

    subset = random_partitions(counts, args.pysal_partitions)
    per_index, values = run_pysal(counts, polygons, subset)
    report_against_pysal(result, per_index, values, n_parts, subset, bryta_s, PYSAL_CLASSES)


if __name__ == "__main__":
    main()
