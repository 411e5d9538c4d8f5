"""Spatially implicit indices (aspatial indices on kernel egohoods): bryta's one pass against
PySAL ``segregation`` 2.5's loop over regions.

The synthetic country of ``bench_spatial.py``: 290 kommuner, each a grid of 20–60 jittered
hexagons, 20 years of counts of two groups: 5,800 partitions. bryta measures every aspatial
index PySAL has (the two-group ones for focal group ``a``, and the multigroup ones) on
egohoods of ``--distance`` metres (triangular kernel, PySAL's default) for every kommun and
year in one call; PySAL computes one region and one index at a time, each index class
building its own kernel weights (``Dissim(frame, "x", "t", distance=…)``). PySAL is timed on
a random subset of the partitions (``--pysal-partitions``, default 20) and its time per
partition is extrapolated to all 5,800; the script says so when it does. Its values on the
subset are the check of bryta's. Both are warmed up first (PySAL's Gini is numba-jitted).

Run: ``uv run python benchmarks/bench_implicit.py`` (``--kommuner``, ``--years`` to shrink).
"""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import polars as pl
from _measure import maxrss_mib, random_partitions, report_against_pysal
from bench_spatial import country_parser, first_partition, load_country

import bryta
from bryta.compute.segregation.indices import REGISTRY

#: bryta index -> PySAL class (singlegroup: focal "a" against the total; multigroup)
SINGLE = {
    "dissimilarity": "Dissim",
    "gini": "Gini",
    "entropy": "Entropy",
    "isolation": "Isolation",
    "exposure": "Interaction",
    "atkinson": "Atkinson",
    "correlation_ratio": "CorrelationR",
    "con_prof": "ConProf",
    "min_max": "MinMax",
    "density_corrected_dissimilarity": "DensityCorrectedDissim",
}
MULTI = {
    "mutual_information": "MultiDivergence",
    "theil_h": "MultiInfoTheory",
    "multigroup_dissimilarity": "MultiDissim",
    "multigroup_gini": "MultiGini",
    "normalized_exposure": "MultiNormExposure",
    "relative_diversity": "MultiRelativeDiversity",
    "squared_coefficient_of_variation": "MultiSquaredCoefVar",
    "simpson_concentration": "SimpsonsConcentration",
    "simpson_interaction": "SimpsonsInteraction",
    "diversity": "MultiDiversity",
}
SINGLE = {k: v for k, v in SINGLE.items() if k in REGISTRY}
MULTI = {k: v for k, v in MULTI.items() if k in REGISTRY}
INDICES = [*SINGLE, *MULTI]


def run_bryta(counts: pl.DataFrame, boundaries: pl.DataFrame, distance: float) -> pl.DataFrame:
    return bryta.measure(
        counts,
        unit="unit",
        groups=["a", "b"],
        by=["kommun", "year"],
        focal="a",
        indices=INDICES,
        geometry=boundaries,
        distance=distance,
    )


def run_pysal(counts, polygons, keys, distance):
    import geopandas as gpd
    from segregation import multigroup, singlegroup

    per_index = dict.fromkeys(INDICES, 0.0)
    values = {}
    for kommun, year in keys:
        rows = counts.filter(kommun=kommun, year=year).sort("unit")
        frame = gpd.GeoDataFrame(
            {
                "a": rows["a"].to_numpy(),
                "b": rows["b"].to_numpy(),
                "t": (rows["a"] + rows["b"]).to_numpy(),
            },
            geometry=[polygons[c] for c in rows["unit"]],
            crs="EPSG:3006",
        )
        for name in INDICES:
            start = time.perf_counter()
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                if name in SINGLE:
                    cls = getattr(singlegroup, SINGLE[name])
                    value = cls(frame, "a", "t", distance=distance).statistic
                else:
                    cls = getattr(multigroup, MULTI[name])
                    value = cls(frame, ["a", "b"], distance=distance).statistic
            per_index[name] += time.perf_counter() - start
            values[kommun, year, name] = value
    return per_index, values


def main() -> None:
    parser = country_parser(__doc__, pysal_partitions=20)
    parser.add_argument("--distance", type=float, default=1500.0)
    args = parser.parse_args()
    what = f"; egohoods of {args.distance:g} m, triangular kernel"
    counts, boundaries, polygons, n_parts = load_country(args, what)
    run_bryta(*first_partition(counts, boundaries), args.distance)  # warm-up
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        result = run_bryta(counts, boundaries, args.distance)
        runs.append(time.perf_counter() - start)
    bryta_s = runs[0]  # the first full call: what a user waits for (the ratio uses it)
    rss = maxrss_mib()
    tracemalloc.start()
    run_bryta(counts, boundaries, args.distance)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"bryta: {len(INDICES)} indices × {n_parts} partitions in one call: "
        f"{bryta_s:.2f} s (first call; best of 3: {min(runs):.2f} s); "
        f"peak traced allocations {peak / 2**20:.0f} MiB, peak RSS {rss:.0f} MiB"
    )

    subset = random_partitions(counts, args.pysal_partitions)
    run_pysal(counts, polygons, subset[:1], args.distance)  # warm-up: PySAL's Gini is jitted
    per_index, values = run_pysal(counts, polygons, subset, args.distance)
    report_against_pysal(result, per_index, values, n_parts, subset, bryta_s, INDICES)


if __name__ == "__main__":
    main()
