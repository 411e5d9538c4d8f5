"""Tiled k-nearest-neighbour contexts on a local Dask cluster: a simulated national grid.

Run from the project root (results on a 2-core machine: docs/performance.md)::

    uv run python benchmarks/bench_tiles.py          # 250,000 cells, 10 M people
    uv run python benchmarks/bench_tiles.py --quick  # 20,000 cells, 800,000 people, seconds

Options: ``--cells N``, ``--people P``, ``--seed S``, ``--workers W``, ``--memory-limit M``
(per worker, e.g. ``2GiB``), ``--tile-size METRES``, ``--check-cells N`` (the equality case),
``--no-single`` (skip the single-process run on the large grid).

The grid (seeded) imitates Swedish settlement on a 250 m lattice over a long thin country,
500 × 1,500 km at 250,000 cells (the extent scales with √cells, so smaller grids keep the same
densities): three large cities in the south third, 40 towns and 400 villages, most of them in
the south, and sparse countryside thinning out towards the north. People per cell are skewed
(dense city cores, one or two people on many rural cells); three groups ``a``, ``b``, ``c``
whose shares differ by settlement type, by town and by sector of each city.

Three runs, each k = 200, 400, …, 25,600 (8 values):

1. ``tiled_knn_contexts`` on a ``distributed.LocalCluster`` (worker processes, one thread
   each, a per-worker ``memory_limit``), in a fresh subprocess: wall time of the call, peak
   resident memory (/proc VmHWM) of each worker process (read with ``client.run`` after the
   call) and of the driver process (data, cluster client, the gathered result);
2. ``knn_contexts`` in one process on the same grid, in a fresh subprocess: wall time and
   peak memory — what the tiles save — and whether both outputs are equal;
3. on a smaller grid (``--check-cells``), the tiled Dask output against ``knn_contexts``:
   ``polars.testing.assert_frame_equal`` with exact comparison (no tolerance).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import vmhwm_mib

KS = [200 * 2**i for i in range(8)]
GROUPS = ["a", "b", "c"]
CELL = 250.0


def national_grid(n_cells: int, people: int, seed: int):
    """x, y (cell midpoints, metres), counts (n_cells × 3) and settlement type of each cell.

    Types: 0 city, 1 town, 2 village, 3 countryside. The country is 500 × 1,500 km at
    250,000 cells and scales with √(cells / 250,000).
    """
    rng = np.random.default_rng(seed)
    scale = np.sqrt(n_cells / 250_000)
    nx, ny = int(2_000 * scale), int(6_000 * scale)  # lattice positions (250 m)

    # clusters: centre (lattice units), standard deviation, cells wanted, type
    cx = [0.74 * nx, 0.10 * nx, 0.22 * nx]  # a Stockholm, a Göteborg, a Malmö
    cy = [0.30 * ny, 0.20 * ny, 0.03 * ny]
    share = [0.05, 0.03, 0.02]
    kind = [0, 0, 0]
    n_towns, n_villages = 40, 400
    cx += list(rng.uniform(0.05, 0.95, n_towns) * nx)
    cy += list(rng.beta(1.3, 3.0, n_towns) * ny)
    share += list(0.20 * (w := rng.pareto(1.5, n_towns) + 1) / w.sum())
    kind += [1] * n_towns
    cx += list(rng.uniform(0.02, 0.98, n_villages) * nx)
    cy += list(rng.beta(1.2, 2.0, n_villages) * ny)
    share += list(0.20 * (w := rng.uniform(0.5, 1.5, n_villages)) / w.sum())
    kind += [2] * n_villages
    cx, cy, share, kind = map(np.asarray, (cx, cy, share, kind))
    # sd such that about half of the lattice within 2 sd of the centre is populated
    sd = np.sqrt(share * n_cells / (0.5 * np.pi)) / 2

    def sample(over: float):
        m = np.ceil(share * n_cells * over).astype(np.int64)
        who = np.repeat(np.arange(cx.size), m)
        px = np.rint(rng.normal(cx[who], sd[who]))
        py = np.rint(rng.normal(cy[who], sd[who]))
        n_rural = int(0.5 * n_cells * over)
        rx = rng.integers(0, nx, n_rural)
        ry = np.floor(rng.beta(1.1, 2.2, n_rural) * ny)  # thinning out towards the north
        px, py = np.r_[px, rx], np.r_[py, ry]
        who = np.r_[who, np.full(n_rural, -1)]
        ok = (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
        px, py, who = px[ok].astype(np.int64), py[ok].astype(np.int64), who[ok]
        _, first = np.unique(px * ny + py, return_index=True)  # one row per lattice cell
        return px[first], py[first], who[first]

    over = 1.3
    while (got := sample(over))[0].size < n_cells:
        over *= 1.3
    px, py, who = got
    pick = np.sort(rng.choice(px.size, n_cells, replace=False))
    px, py, who = px[pick], py[pick], who[pick]
    kind_of = np.where(who >= 0, kind[np.maximum(who, 0)], 3)

    # people: dense city cores, skewed everywhere, one or two on many rural cells
    w = np.array([40.0, 18.0, 8.0, 1.0])[kind_of] * rng.lognormal(0, 0.9, n_cells)
    r = np.hypot(px - cx[np.maximum(who, 0)], py - cy[np.maximum(who, 0)])
    r = r / sd[np.maximum(who, 0)]
    w *= np.where(who >= 0, 0.4 + 2.5 * np.exp(-0.5 * r**2), 1.0)
    pop = 1 + rng.multinomial(people - n_cells, w / w.sum())

    # groups: a's share by settlement type and town, and by sector within each cluster
    base = np.array([0.26, 0.18, 0.10, 0.06])[kind_of]
    offset = rng.normal(0, 0.05, cx.size)
    sector = rng.uniform(0, 2 * np.pi, cx.size)
    angle = np.arctan2(py - cy[np.maximum(who, 0)], px - cx[np.maximum(who, 0)])
    lean = np.where(
        who >= 0,
        offset[np.maximum(who, 0)]
        + 0.35 * np.maximum(0, np.cos(angle - sector[np.maximum(who, 0)])) ** 3 * (kind_of == 0),
        0.0,
    )
    share_a = np.clip(base + lean + rng.normal(0, 0.03, n_cells), 0.0, 0.95)
    a = rng.binomial(pop, share_a)
    b = rng.binomial(pop - a, np.clip(0.15 + 0.6 * share_a, 0, 1))
    counts = np.column_stack([a, b, pop - a - b]).astype(np.float64)
    return px * CELL + CELL / 2, py * CELL + CELL / 2, counts, kind_of


def _frame(cells: int, people: int, seed: int):
    import polars as pl

    x, y, counts, _ = national_grid(cells, people, seed)
    return pl.DataFrame({"x": x, "y": y, **{g: counts[:, i] for i, g in enumerate(GROUPS)}})


def _cluster(workers: int, memory_limit: str):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=None,
    )
    return cluster, Client(cluster)


def _tiled(frame, ks, address: str, tile_size: float):
    from bryta.compute.spatial.tiles import tiled_knn_contexts

    return tiled_knn_contexts(
        frame, x="x", y="y", groups=GROUPS, k=ks, tile_size=tile_size, scheduler=address
    )


def _child_dask(args, out: str) -> None:
    frame = _frame(args.cells, args.people, args.seed)
    cluster, client = _cluster(args.workers, args.memory_limit)
    start = client.run(vmhwm_mib)
    pids = client.run(lambda: __import__("os").getpid())
    t0 = time.perf_counter()
    res = _tiled(frame, KS, cluster.scheduler_address, args.tile_size)
    wall = time.perf_counter() - t0
    peaks = client.run(vmhwm_mib)
    same = client.run(lambda: __import__("os").getpid()) == pids  # no worker restarted
    res.write_parquet(out)
    driver = vmhwm_mib()
    client.close()
    cluster.close()
    print(
        json.dumps(
            {
                "wall": wall,
                "driver": driver,
                "start": sorted(start.values()),
                "peaks": sorted(peaks.values()),
                "no_restart": same,
                "rows": res.height,
            }
        )
    )


def _child_single(args, out: str) -> None:
    from bryta.compute.spatial.neighbourhoods import knn_contexts

    frame = _frame(args.cells, args.people, args.seed)
    t0 = time.perf_counter()
    res = knn_contexts(frame, x="x", y="y", groups=GROUPS, k=KS)
    wall = time.perf_counter() - t0
    res.write_parquet(out)
    print(json.dumps({"wall": wall, "peak": vmhwm_mib()}))


def _run(which: str, args, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", which, "--out", str(out)]
    cmd += ["--cells", str(args.cells), "--people", str(args.people), "--seed", str(args.seed)]
    cmd += ["--workers", str(args.workers), "--memory-limit", args.memory_limit]
    cmd += ["--tile-size", str(args.tile_size)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{which} run failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _describe(cells: int, people: int, seed: int) -> None:
    x, y, counts, kind = national_grid(cells, people, seed)
    pop = counts.sum(axis=1)
    width, height = (np.ptp(x) + CELL) / 1000, (np.ptp(y) + CELL) / 1000
    raster = (np.ptp(x) / CELL + 1) * (np.ptp(y) / CELL + 1)
    print(
        f"simulated national grid: {cells:,} populated 250 m cells, {int(pop.sum()):,} people, "
        f"3 groups, {width:,.0f} × {height:,.0f} km ({cells / raster:.1%} of the lattice)"
    )
    names = ["cities", "towns", "villages", "countryside"]
    parts = ", ".join(
        f"{n} {pop[kind == i].sum() / pop.sum():.0%} of people on {(kind == i).mean():.0%} of cells"
        for i, n in enumerate(names)
    )
    print(f"  {parts}")
    print(
        f"  people per cell: median {np.median(pop):.0f}, mean {pop.mean():.0f}, "
        f"max {pop.max():,.0f}; group shares "
        + ", ".join(f"{g} {counts[:, i].sum() / pop.sum():.0%}" for i, g in enumerate(GROUPS))
    )


def _check(args) -> None:
    """The smaller case: tiled on the cluster against one process, exactly."""
    import polars as pl
    from polars.testing import assert_frame_equal

    from bryta.compute.spatial.neighbourhoods import knn_contexts

    cells = args.check_cells
    people = 40 * cells
    frame = _frame(cells, people, args.seed + 1)
    one = knn_contexts(frame, x="x", y="y", groups=GROUPS, k=KS)
    cluster, client = _cluster(args.workers, args.memory_limit)
    try:
        tiled = _tiled(frame, KS, cluster.scheduler_address, args.tile_size)
    finally:
        client.close()
        cluster.close()
    assert_frame_equal(tiled, one, check_exact=True)
    print(
        f"equality check ({cells:,} cells, {people:,} people, seed {args.seed + 1}): tiled on "
        f"the Dask cluster == knn_contexts in one process, all {one.height:,} rows × "
        f"{one.width} columns exact (assert_frame_equal check_exact=True; "
        f".equals: {tiled.equals(one)}); max |difference| = "
        f"{max((tiled[c] - one[c]).abs().max() for c in [*GROUPS, 'radius']):.1e}"
    )
    del pl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 cells, 800,000 people")
    parser.add_argument("--cells", type=int)
    parser.add_argument("--people", type=int)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GiB", help="per worker")
    parser.add_argument("--tile-size", type=float, default=40_000.0)
    parser.add_argument("--check-cells", type=int)
    parser.add_argument("--no-single", action="store_true")
    parser.add_argument("--child", choices=["dask", "single"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.cells = args.cells or (20_000 if args.quick else 250_000)
    args.people = args.people or 40 * args.cells
    args.check_cells = args.check_cells or (5_000 if args.quick else 20_000)
    if args.child == "dask":
        _child_dask(args, args.out)
        return
    if args.child == "single":
        _child_single(args, args.out)
        return

    t_all = time.perf_counter()
    _describe(args.cells, args.people, args.seed)
    print(f"k = {', '.join(f'{k:,}' for k in KS)}  (seed {args.seed})")
    print(
        f"local Dask cluster: {args.workers} worker processes × 1 thread, memory_limit "
        f"{args.memory_limit} each; tiles {args.tile_size / 1000:g} km"
    )
    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        d = _run("dask", args, Path(tmp, "dask.parquet"))
        print(
            f"tiled on Dask   {d['wall']:8.1f} s   worker peaks "
            + ", ".join(f"{p:,.0f}" for p in d["peaks"])
            + " MiB (after start-up "
            + ", ".join(f"{p:,.0f}" for p in d["start"])
            + f"), driver peak {d['driver']:,.0f} MiB; {d['rows']:,} rows; "
            + ("no worker restarted" if d["no_restart"] else "A WORKER RESTARTED")
        )
        if not args.no_single:
            s = _run("single", args, Path(tmp, "single.parquet"))
            same = pl.read_parquet(Path(tmp, "dask.parquet")).equals(
                pl.read_parquet(Path(tmp, "single.parquet"))
            )
            print(
                f"one process     {s['wall']:8.1f} s   peak {s['peak']:,.0f} MiB; "
                f"tiled output equals it: {same}"
            )
            print(
                f"worker peak / one-process peak: {max(d['peaks']) / s['peak']:.2f}; "
                f"driver peak / one-process peak: {d['driver'] / s['peak']:.2f}"
            )
    _check(args)
    print(f"total benchmark time {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    main()
