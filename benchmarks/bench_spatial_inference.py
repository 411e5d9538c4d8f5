"""Random allocation for the spatial indices: bryta's ``expected`` against PySAL's
``SingleValueTest(null_approach="person_permutation")``, on the synthetic country of
``bench_spatial.py``.

Both draw people at random over the units with every unit's size and every group's size fixed
(PySAL: one row per person, shuffled; bryta: a hypergeometric allocation per cell) and
compute the index on each random table; the mean is the index's expected value under random
allocation. bryta does every partition in one call, replicates stacked as partitions with
their geometry shared; PySAL one region at a time (timed on a random subset and
**extrapolated**, as in ``bench_spatial.py``). The script also checks that the two means
agree within Monte-Carlo error on the subset.

    uv run python benchmarks/bench_spatial_inference.py [--draws 50] [--pysal-partitions 3]
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _measure import maxrss_mib, random_partitions
from bench_spatial import country_parser, first_partition, load_country, near_origin

import bryta

INDICES = {
    "delta": "Delta",
    "spatial_proximity": "SpatialProximity",
    "absolute_clustering": "AbsoluteClustering",
}


def run_pysal(counts, polygons, keys, draws: int) -> tuple[float, dict]:
    import geopandas as gpd
    from segregation import singlegroup
    from segregation.inference import SingleValueTest

    seconds, means = 0.0, {}
    warm = True  # the first call starts joblib's workers: not timed
    for kommun, year in keys:
        rows = counts.filter(kommun=kommun, year=year).sort("unit")
        geoms = np.array([polygons[c] for c in rows["unit"]])
        local = near_origin(geoms)
        frame = gpd.GeoDataFrame(
            {"x": rows["a"].to_numpy(), "t": (rows["a"] + rows["b"]).to_numpy()},
            geometry=local,
            crs="EPSG:3006",
        )
        for name, cls in INDICES.items():
            if warm:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    index = getattr(singlegroup, cls)(frame, "x", "t")
                    SingleValueTest(index, iterations_under_null=2, null_approach="bootstrap")
                warm = False
            start = time.perf_counter()
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                index = getattr(singlegroup, cls)(frame, "x", "t")
                test = SingleValueTest(
                    index, iterations_under_null=draws, null_approach="person_permutation"
                )
            seconds += time.perf_counter() - start
            sims = np.asarray(test.est_sim, dtype=float)
            means[kommun, year, name] = (sims.mean(), sims.std(ddof=1) / np.sqrt(sims.size))
    return seconds, means


def main() -> None:
    parser = country_parser(__doc__, pysal_partitions=3)
    parser.add_argument("--draws", type=int, default=50)
    args = parser.parse_args()
    what = f"; {len(INDICES)} spatial indices, {args.draws} random allocations each"
    counts, boundaries, polygons, n_parts = load_country(args, what)
    common = dict(
        unit="unit",
        groups=["a", "b"],
        by=["kommun", "year"],
        focal="a",
        indices=list(INDICES),
        geometry=boundaries,
    )
    small, small_bounds = first_partition(counts, boundaries)
    bryta.expected(small, n_bootstrap=2, seed=1, **{**common, "geometry": small_bounds})  # compile
    start = time.perf_counter()
    ours = bryta.expected(counts, n_bootstrap=args.draws, seed=1, **common)
    bryta_s = time.perf_counter() - start
    print(
        f"bryta.expected, all partitions in one call: {bryta_s:.1f} s, "
        f"peak RSS {maxrss_mib():.0f} MiB"
    )

    subset = random_partitions(counts, args.pysal_partitions, seed=3)
    pysal_s, means = run_pysal(counts, polygons, subset, args.draws)
    scale = n_parts / len(subset)
    print(
        f"PySAL SingleValueTest(person_permutation): {len(subset)} partitions in "
        f"{pysal_s:.1f} s; extrapolated to all {n_parts}: {pysal_s * scale:.0f} s"
    )
    print(f"ratio (PySAL extrapolated / bryta): {pysal_s * scale / bryta_s:.0f}×")
    worst = 0.0
    for (kommun, year, name), (mean, se) in means.items():
        row = ours.filter(kommun=kommun, year=year, index=name)
        ours_mean, ours_sd = row["expected"].item(), row["expected_se"].item()
        z = abs(ours_mean - mean) / np.hypot(se, ours_sd / np.sqrt(args.draws))
        worst = max(worst, z)
        print(f"  {kommun} {year} {name:20s} PySAL {mean:.6f}  bryta {ours_mean:.6f}  z {z:.1f}")
    print(f"largest |difference| / Monte-Carlo SE: {worst:.1f}")


if __name__ == "__main__":
    main()
