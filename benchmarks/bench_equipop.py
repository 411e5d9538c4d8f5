"""bryta's k-nearest-neighbour contexts against ``equipop``: speed, peak memory and parity.

Run from the project root (timings on a 2-core machine: docs/performance.md)::

    uv run --group bench python benchmarks/bench_equipop.py          # 100,000 cells, 2.1 M people
    uv run --group bench python benchmarks/bench_equipop.py --quick  # 20,000 cells, 420,000

Options: ``--cells N``, ``--people P``, ``--seed S``.

A synthetic 250 m grid (seeded): 40 towns of random size and spread over a sparse background,
about 15 % of the raster populated, people per cell skewed (median 6, a few cells with
thousands), three groups whose shares vary west to east. k = 200, 400, …, 25,600 (8 values).

Each library runs in its own fresh subprocess that builds the same data, imports only itself
and computes every k in one call: the wall time of that call, and the peak resident memory of
the whole process (/proc VmHWM: data, imports and computation). equipop 1.62.1 runs
``run_knn_counts`` (its vectorised engine) with its default proportional overshoot, whose group
counts bryta reproduces; ``self_potential=0`` (only its Dist_k depends on that). Parity: the
largest absolute difference between bryta's group counts and equipop's ``T_<group>_<k>`` over
all cells and k.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KS = [200 * 2**i for i in range(8)]
GROUPS = ["a", "b", "c"]


def synthetic_grid(n_cells: int, people: int, seed: int, cell: float = 250.0):
    """x, y (cell midpoints, metres) and counts (n_cells × 3) of a clustered synthetic grid."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_cells / 0.15)))
    gx, gy = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    gx, gy = gx.ravel(), gy.ravel()
    n_towns = 40
    cx, cy = rng.uniform(0, side, n_towns), rng.uniform(0, side, n_towns)
    sd = rng.uniform(0.01, 0.05, n_towns) * side
    weight = rng.pareto(1.2, n_towns) + 0.2
    intensity = np.full(gx.size, 0.05)
    for i in range(n_towns):
        intensity += weight[i] * np.exp(-((gx - cx[i]) ** 2 + (gy - cy[i]) ** 2) / (2 * sd[i] ** 2))
    chosen = rng.choice(gx.size, size=n_cells, replace=False, p=intensity / intensity.sum())
    lam = intensity[chosen] * rng.lognormal(0, 0.7, n_cells)
    pop = 1 + rng.multinomial(people - n_cells, lam / lam.sum())
    share_a = 0.15 + 0.6 * gx[chosen] / side
    a = rng.binomial(pop, np.clip(share_a * (1 - rng.uniform(0, 0.3, n_cells)), 0, 1))
    b = rng.binomial(pop - a, 0.4)
    counts = np.column_stack([a, b, pop - a - b]).astype(np.float64)
    return gx[chosen] * cell + cell / 2, gy[chosen] * cell + cell / 2, counts


def _vmhwm_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _child(which: str, cells: int, people: int, seed: int, out: str) -> None:
    x, y, counts = synthetic_grid(cells, people, seed)
    if which == "bryta":
        import polars as pl

        from bryta.compute.spatial.neighbourhoods import knn_contexts

        frame = pl.DataFrame({"x": x, "y": y, **{g: counts[:, i] for i, g in enumerate(GROUPS)}})
        t0 = time.perf_counter()
        res = knn_contexts(frame, x="x", y="y", groups=GROUPS, k=KS)
        wall = time.perf_counter() - t0
        table = np.stack([res[g].to_numpy().reshape(cells, len(KS)) for g in GROUPS], axis=2)
    else:
        from equipop.cells import CellData
        from equipop.fastcounts import run_knn_counts

        cd = CellData(
            E=x,
            N=y,
            n=counts.sum(axis=1),
            binary_sums={g: counts[:, i] for i, g in enumerate(GROUPS)},
            unit_size=250.0,
        )
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            res = run_knn_counts(cd, k_values=KS, report=False, self_potential=0)
        wall = time.perf_counter() - t0
        table = np.stack(
            [np.column_stack([res[f"T_{g}_{k}"].to_numpy() for k in KS]) for g in GROUPS], axis=2
        )
    np.save(out, table)
    print(json.dumps({"wall": wall, "peak_mib": _vmhwm_mib()}))


def _run(which: str, cells: int, people: int, seed: int, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", which, "--cells", str(cells)]
    cmd += ["--people", str(people), "--seed", str(seed), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 cells, 420,000 people")
    parser.add_argument("--cells", type=int)
    parser.add_argument("--people", type=int)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--child", choices=["bryta", "equipop"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cells = args.cells or (20_000 if args.quick else 100_000)
    people = args.people or 21 * cells
    if args.child:
        _child(args.child, cells, people, args.seed, args.out)
        return
    print(f"synthetic 250 m grid: {cells:,} populated cells, {people:,} people, 3 groups")
    print(f"k = {', '.join(f'{k:,}' for k in KS)}  (seed {args.seed})")
    with tempfile.TemporaryDirectory() as tmp:
        mine = _run("bryta", cells, people, args.seed, Path(tmp, "bryta.npy"))
        print(f"bryta   knn_contexts   {mine['wall']:8.2f} s   peak {mine['peak_mib']:7.0f} MiB")
        theirs = _run("equipop", cells, people, args.seed, Path(tmp, "equipop.npy"))
        print(
            f"equipop run_knn_counts {theirs['wall']:8.2f} s   peak {theirs['peak_mib']:7.0f} MiB"
        )
        diff = np.abs(np.load(Path(tmp, "bryta.npy")) - np.load(Path(tmp, "equipop.npy"))).max()
    print(
        f"ratio: bryta {theirs['wall'] / mine['wall']:.1f}x faster, "
        f"peak memory {mine['peak_mib'] / theirs['peak_mib']:.2f}x equipop's"
    )
    print(f"parity: max |bryta − equipop| over all group counts = {diff:.2e}")


if __name__ == "__main__":
    main()
