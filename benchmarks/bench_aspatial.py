"""PySAL's remaining aspatial indices: bryta's one pass against PySAL's loop over partitions.

Run from the project root (results on the 2-core machine: docs/performance.md)::

    uv run python benchmarks/bench_aspatial.py            # ~15 min
    uv run python benchmarks/bench_aspatial.py --quick    # smaller PySAL samples, ~8 min
    uv run python benchmarks/bench_aspatial.py --only density   # one family (repeatable)

A synthetic country: 290 kommuner × 20 years, each kommun 5–120 units (17,764 units per
year, 355,280 unit rows), two groups, ~1,500 people per unit. bryta computes each index
for every partition in one ``measure`` call, focal group ``g2``; PySAL (segregation 2.5.4)
is run the way it is used: a loop over partitions, one object per number. PySAL is timed on
a deterministic random sample of partitions and extrapolated linearly to all 5,800 (the
simulation-based classes take seconds per partition, so their sample is small, and
DensityCorrectedDissim, which calls scipy's minimize once per unit, about half a second).
The deterministic values on the sample are the parity check. bryta's peak memory is read before
PySAL is imported.

PySAL's ModifiedDissim and ModifiedGiniSeg run with ``n_jobs=1`` (their threads would share
two cores with bryta's); their time per partition is dominated by the 500 iterations
whatever the backend.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import polars as pl
from _measure import maxrss_mib

import bryta

SEED = 20261206
GROUPS = ["g1", "g2"]
FOCAL = "g2"
DETERMINISTIC = {"con_prof": "ConProf", "min_max": "MinMax", "multigroup_divergence": None}
#: Timed on its own: PySAL runs scipy's Nelder-Mead once per unit, so its sample is smaller.
DENSITY = {"density_corrected_dissimilarity": "DensityCorrectedDissim"}
SIMULATED = {
    "bias_corrected_dissimilarity": "BiasCorrectedDissim",
    "modified_dissimilarity": "ModifiedDissim",
    "modified_gini": "ModifiedGini",
}


PARTS = ("deterministic", "density", "simulated")


def synthetic_country(n_kommun: int = 290, n_years: int = 20, seed: int = SEED) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    units = rng.integers(5, 121, size=n_kommun)
    kommun = np.repeat(np.arange(n_kommun), units)
    unit = np.concatenate([np.arange(u) for u in units])
    share = rng.beta(2, 6, size=kommun.size)  # the focal group's share per unit
    size = rng.integers(500, 2500, size=kommun.size)
    frames = []
    for year in range(n_years):
        drift = np.clip(share + rng.normal(0, 0.01, size=share.size), 0.001, 0.999)
        g2 = rng.binomial(size, drift)
        frames.append(
            pl.DataFrame(
                {
                    "kommun": [f"k{k:03d}" for k in kommun],
                    "year": np.full(kommun.size, 2000 + year, dtype=np.int32),
                    "unit": [f"u{u}" for u in unit],
                    "g1": size - g2,
                    "g2": g2,
                }
            )
        )
    return pl.concat(frames)


def timed(f):
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start


def pysal_loop(panel, parts, index: str, cls_name: str | None) -> tuple[dict, float]:
    """PySAL on each sampled (kommun, year), one object per number; seconds per partition."""
    import segregation.multigroup as mg
    import segregation.singlegroup as sg

    values = {}
    frames = {
        key: panel.filter(kommun=key[0], year=key[1]).select(GROUPS).to_pandas() for key in parts
    }
    for df in frames.values():
        df["total"] = df[GROUPS].sum(axis=1)
    start = time.perf_counter()
    for key, df in frames.items():
        if index == "multigroup_divergence":
            values[key] = mg.MultiDivergence(df, GROUPS).statistic
        elif index in ("modified_dissimilarity", "modified_gini"):
            cls = getattr(sg, cls_name)
            values[key] = cls(df.copy(), FOCAL, "total", n_jobs=1).statistic
        else:
            values[key] = getattr(sg, cls_name)(df, FOCAL, "total").statistic
    return values, (time.perf_counter() - start) / len(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller PySAL samples")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(PARTS),
        help="time only these families (repeatable; default all)",
    )
    args = parser.parse_args()
    parts = args.only or list(PARTS)
    panel = synthetic_country()
    keys = panel.select("kommun", "year").unique().sort("kommun", "year")
    n_parts = keys.height
    print(f"synthetic country: {n_parts} partitions, {panel.height:,} unit rows, 2 groups")

    def run(indices, **kw):
        return bryta.measure(
            panel, unit="unit", groups=GROUPS, by=["kommun", "year"], indices=indices, **kw
        )

    # ---- bryta: one pass per index family, all partitions ----
    bryta.measure(
        panel.head(200),
        unit="unit",
        groups=GROUPS,
        by=["kommun", "year"],
        indices=[*SIMULATED, *DENSITY],
        focal=FOCAL,
        seed=0,
        B=2,
        iterations=2,
    )  # compile
    if "deterministic" in parts:
        det, t_det = timed(lambda: run(list(DETERMINISTIC), focal=FOCAL))
        print(f"bryta deterministic (3 indices, every partition): {t_det:.2f} s")
    if "density" in parts:
        dens, t_dens = timed(lambda: run(list(DENSITY), focal=FOCAL))
        print(f"bryta density_corrected_dissimilarity (every partition): {t_dens:.2f} s")
    sim_times = {}
    for name in SIMULATED if "simulated" in parts else ():
        _, sim_times[name] = timed(lambda name=name: run(name, focal=FOCAL, seed=1))
        print(f"bryta {name} (500 draws, every partition): {sim_times[name]:.2f} s")
    print(f"bryta peak RSS: {maxrss_mib():.0f} MiB")

    # ---- PySAL: a loop over a sample of partitions ----
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    rng = np.random.default_rng(SEED)
    order = rng.permutation(n_parts)
    n_det = 60 if args.quick else 300
    n_dens = 10 if args.quick else 40
    n_sim = {
        "bias_corrected_dissimilarity": 3 if args.quick else 10,
        "modified_dissimilarity": 2 if args.quick else 4,
        "modified_gini": 1 if args.quick else 2,
    }
    sample = [tuple(keys.row(int(i))) for i in order]
    worst = 0.0

    def parity(out: pl.DataFrame, name: str, values: dict) -> float:
        group = None if name == "multigroup_divergence" else FOCAL
        mine = out.filter(index=name)
        mine = mine.filter(pl.col("group").is_null() if group is None else pl.col("group") == group)
        lookup = {(k, y): v for k, y, v in mine.select("kommun", "year", "value").iter_rows()}
        return max(abs(lookup[key] - want) / max(abs(want), 1e-300) for key, want in values.items())

    print(f"\n{'index':<32}{'bryta s':>10}{'PySAL s (extrap.)':>20}{'ratio':>10}{'sample':>8}")
    if "deterministic" in parts:
        total_pysal_det = 0.0
        det_per_index = t_det / len(DETERMINISTIC)
        for name, cls in DETERMINISTIC.items():
            values, per = pysal_loop(panel, sample[:n_det], name, cls)
            total_pysal_det += per * n_parts
            worst = max(worst, parity(det, name, values))
            print(
                f"{name:<32}{det_per_index:>10.3f}{per * n_parts:>20.1f}"
                f"{per * n_parts / det_per_index:>10.0f}{n_det:>8}"
            )
        print(
            f"{'(the three together)':<32}{t_det:>10.3f}{total_pysal_det:>20.1f}"
            f"{total_pysal_det / t_det:>10.0f}"
        )
    if "density" in parts:
        for name, cls in DENSITY.items():
            values, per = pysal_loop(panel, sample[:n_dens], name, cls)
            worst = max(worst, parity(dens, name, values))
            print(
                f"{name:<32}{t_dens:>10.3f}{per * n_parts:>20.1f}"
                f"{per * n_parts / t_dens:>10.0f}{n_dens:>8}"
            )
    for name, cls in SIMULATED.items() if "simulated" in parts else ():
        _, per = pysal_loop(panel, sample[: n_sim[name]], name, cls)
        print(
            f"{name:<32}{sim_times[name]:>10.2f}{per * n_parts:>20.0f}"
            f"{per * n_parts / sim_times[name]:>10.0f}{n_sim[name]:>8}"
        )
    if "deterministic" in parts or "density" in parts:
        print(
            "\nparity of the deterministic indices on the sample: "
            f"max relative difference {worst:.1e}"
        )
        assert worst < 1e-10 or math.isnan(worst)


if __name__ == "__main__":
    main()
