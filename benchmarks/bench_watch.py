"""The early-warning watch list on a synthetic country: 3,363 RegSO × 15 years.

Run from the project root (timings on a 2-core machine: docs/performance.md)::

    uv run python benchmarks/bench_watch.py
    uv run python benchmarks/bench_watch.py --areas 3363 --years 15 --bootstrap 200

The panel: each area's index starts at N(20, 5), 20 % of the areas drift up 0.4–1.2 points a
year, the others N(0, 0.05), with N(0, 0.8) noise (seed 1). Timed, best of 3 after a warm-up:
``bryta.watch_list`` (trends, crossing intervals, both Markov chains with ``--bootstrap``
resamples of the areas) and ``bryta.backtest_watch`` (the rule re-run at every origin); and
the two together, as ``bryta watch`` computes them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl


def panel(areas: int, years: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.normal(20, 5, areas)
    rising = rng.random(areas) < 0.2
    drift = np.where(rising, rng.uniform(0.4, 1.2, areas), rng.normal(0, 0.05, areas))
    t = np.arange(years)
    y = base[:, None] + drift[:, None] * t[None, :] + rng.normal(0, 0.8, (areas, years))
    return pl.DataFrame(
        {
            "regso": np.repeat([f"{i // 12:04d}R{i % 12:03d}" for i in range(areas)], years),
            "year": np.tile(2010 + t, areas),
            "index": np.clip(y, 0, 100).ravel(),
        }
    )


def best(call, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=3363)
    parser.add_argument("--years", type=int, default=15)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()

    import bryta

    data = panel(args.areas, args.years)
    options = {"unit": "regso", "period": "year", "index_col": "index"}

    def watch() -> pl.DataFrame:
        return bryta.watch_list(data, **options, n_boot=args.bootstrap, seed=0)

    def record() -> object:
        return bryta.backtest_watch(data, **options)

    watch(), record()  # warm-up: imports scipy, compiles nothing
    t_watch, t_backtest = best(watch), best(record)
    out, bt = watch(), record()
    print(f"panel: {args.areas} areas × {args.years} years = {data.height} rows")
    print(f"watch_list (bootstrap {args.bootstrap}): {t_watch:.2f} s")
    print(f"backtest_watch ({len(bt.origins)} origins): {t_backtest:.2f} s")
    print(f"both (as bryta watch): {t_watch + t_backtest:.2f} s")
    print(f"flagged: {int(out.get_column('flagged').sum())} areas")
    print("\n".join(bt.lines()))


if __name__ == "__main__":
    main()
