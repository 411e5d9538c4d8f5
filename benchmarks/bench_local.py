"""global_distortion and PySAL's local measures: bryta's one pass against PySAL's loop.

The synthetic country of ``bench_spatial.py`` (290 kommuner of 20–60 jittered hexagons, 20
years, two groups: 5,800 partitions). bryta computes ``global_distortion`` for every kommun and
year in one ``measure`` call, and every local measure in one ``local_measures`` call; PySAL
``segregation`` 2.5 computes one region at a time (``GlobalDistortion``, and each class of
``segregation.local``). PySAL is timed on a random subset of the partitions
(``--pysal-partitions``, default 10) and extrapolated to all of them.

Run: ``uv run python benchmarks/bench_local.py`` (``--kommuner``, ``--years`` to shrink).
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import polars as pl
from _measure import maxrss_mib, random_partitions
from bench_spatial import country_parser, first_partition, load_country

import bryta

GROUPS = ["a", "b"]


def run_bryta(counts: pl.DataFrame, boundaries: pl.DataFrame) -> tuple[float, float]:
    start = time.perf_counter()
    bryta.measure(
        counts,
        unit="unit",
        groups=GROUPS,
        by=["kommun", "year"],
        indices="global_distortion",
        geometry=boundaries,
    )
    middle = time.perf_counter()
    bryta.local_measures(
        counts, unit="unit", groups=GROUPS, by=["kommun", "year"], geometry=boundaries
    )
    return middle - start, time.perf_counter() - middle


def run_pysal(counts, polygons, keys) -> tuple[float, float]:
    import geopandas as gpd
    from segregation import local
    from segregation.multigroup import GlobalDistortion

    distortion = measures = 0.0
    for kommun, year in keys:
        rows = counts.filter(kommun=kommun, year=year).sort("unit")
        geoms = np.array([polygons[c] for c in rows["unit"]])
        frame = gpd.GeoDataFrame(
            {g: rows[g].to_numpy() for g in GROUPS}, geometry=list(geoms), crs="EPSG:3006"
        )
        frame["t"] = frame[GROUPS].sum(axis=1)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            GlobalDistortion(frame, GROUPS)
            middle = time.perf_counter()
            for cls in (
                local.MultiLocalDiversity,
                local.MultiLocalEntropy,
                local.MultiLocalSimpsonConcentration,
                local.MultiLocalSimpsonInteraction,
                local.MultiLocationQuotient,
                local.LocalDistortion,
            ):
                cls(frame, GROUPS)
            for g in GROUPS:
                local.LocalRelativeCentralization(frame, g, "t")
            end = time.perf_counter()
        distortion += middle - start
        measures += end - middle
    return distortion, measures


def main() -> None:
    args = country_parser(__doc__, pysal_partitions=10).parse_args()
    counts, boundaries, polygons, n_parts = load_country(args)
    run_bryta(*first_partition(counts, boundaries))  # compile
    ours = run_bryta(counts, boundaries)
    tracemalloc.start()
    run_bryta(counts, boundaries)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"bryta, one call each: global_distortion {ours[0]:.2f} s, every local measure "
        f"{ours[1]:.2f} s; peak traced allocations {peak / 2**20:.0f} MiB, "
        f"peak RSS {maxrss_mib():.0f} MiB"
    )
    subset = random_partitions(counts, args.pysal_partitions)
    theirs = run_pysal(counts, polygons, subset)
    scale = n_parts / len(subset)
    for label, mine, pysal in zip(
        ("global_distortion", "local measures"), ours, theirs, strict=True
    ):
        print(
            f"{label}: PySAL {pysal:.2f} s for {len(subset)} partitions, extrapolated "
            f"{pysal * scale:.0f} s; ratio {pysal * scale / mine:.0f}×"
        )


if __name__ == "__main__":
    main()
