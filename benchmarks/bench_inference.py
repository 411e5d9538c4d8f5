"""Bootstrap inference: bryta's ``bootstrap`` against PySAL ``segregation``'s.

Run from the project root (timings on a 2-core machine: docs/performance.md)::

    uv run --group bench python benchmarks/bench_inference.py            # default, ~1.5 min
    uv run --group bench python benchmarks/bench_inference.py --quick    # < 1 min

Options: ``--seed``, ``--pysal-iterations N`` (default 1,000, 200 with ``--quick``; PySAL's
time is extrapolated linearly to 1,000 replicates when fewer are run).

(1) M bootstrap: synthetic data, 6,000 units × 5 groups, ~1,500 people per unit, 1,000
    replicates of the mutual information M. bryta's ``bootstrap`` is timed (best of 3) with
    the default thread pool and with ``threads=1``, and its peak memory is measured, in a
    fresh subprocess that only builds the data and runs ``bootstrap`` (started before PySAL
    is imported: Linux carries ru_maxrss over fork + exec). PySAL:
    ``SingleValueTest(MultiDivergence(...), null_approach="bootstrap")`` (MultiDivergence is M
    in nats; ``MultiInfoTheory`` is Theil's H) with its default ``n_jobs=-1`` (joblib/loky, one
    worker per core; the workers' start-up is timed separately and excluded) and with
    ``n_jobs=1``. PySAL's "bootstrap" resamples *units* (rows of the table, with replacement,
    ``simulate_bootstrap_resample``), not people: it answers a different question (variation
    over units) from bryta's individual-level bootstrap (a multinomial over the unit × group
    cells), and its standard error is printed next to bryta's. For an individual-level
    bootstrap in PySAL the analyst has to write the loop: that loop (numpy multinomial over the
    cells + ``MultiDivergence`` per replicate) is timed as well. A calibration line times
    numpy's ``Generator.poisson`` for the same cells and replicates on one thread, in the same
    subprocess: this VM's speed varies by up to 2× over a day, and that line lets runs on
    different days be compared.
(2) Panel: the bundled RegSO panel (``bryta.ingest.load_demo_panel``), by kommun × year (290 ×
    4 = 1,160 partitions), birth region (born_sweden, born_abroad), 200 replicates, the full
    index suite (``indices=None``) and M only. Best of 3, default threads and ``threads=1``.
(3) Reproducibility: the same seed with ``threads=1`` and ``threads=2`` must give bit-identical
    ``value_bc``, ``bias``, ``se``, ``ci_low``, ``ci_high`` (NaN equal to NaN); another seed
    must not (the check is not vacuous).

The R package ``segregation`` (Elbers) is not run here; its ~10 s for (1) is the published
figure quoted in the issue.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl
from _measure import maxrss_mib, vmhwm_mib

import bryta
from bryta.compute.segregation.inference import bootstrap

SEED = 20240611
N_UNITS = 6_000
MEAN_POP = 1_500.0
GROUPS = ["g1", "g2", "g3", "g4", "g5"]
SHARES = np.array([0.62, 0.17, 0.10, 0.07, 0.04])  # a majority and four minorities
SIGMA = 0.8  # segregation strength (logistic-normal spread of unit shares)
N_BOOT = 1_000
N_BOOT_PANEL = 200
BIRTH = ["born_sweden", "born_abroad"]
PANEL_BY = ["kommun", "year"]
STATS = ["value_bc", "bias", "se", "ci_low", "ci_high"]
R_PUBLISHED_S = 10.0  # R segregation, 6,000 units × 5 groups, 1,000 replicates (issue)
TARGET_M_S = 0.5
TARGET_PANEL_S = 10.0


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Wall times of ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def fmt_times(times: Sequence[float]) -> str:
    """'best of 3; all: 1.234, 1.111, 1.200 s', or '1 run' when there is one."""
    if len(times) == 1:
        return "1 run"
    return f"best of {len(times)}; all: " + ", ".join(f"{t:.3f}" for t in times) + " s"


# ---- data ---------------------------------------------------------------------------------


def synthetic(seed: int = SEED) -> pl.DataFrame:
    """6,000 units × 5 groups: unit shares logistic-normal around the city's, ~1,500 people.

    Unit shares are SHARES × exp(σ z) renormalised (z standard normal per unit and group,
    σ = 0.8), populations lognormal around 1,500, counts multinomial: M ≈ 0.17 nats.
    """
    rng = np.random.default_rng(seed)
    share = SHARES * np.exp(SIGMA * rng.standard_normal((N_UNITS, len(GROUPS))))
    share /= share.sum(axis=1, keepdims=True)
    pop = np.rint(MEAN_POP * rng.lognormal(-0.5 * 0.3**2, 0.3, N_UNITS)).astype(np.int64)
    counts = rng.multinomial(pop, share)
    units = pl.Series("unit", np.arange(N_UNITS)).cast(pl.String).str.zfill(5)
    return pl.DataFrame({"unit": units, **{g: counts[:, j] for j, g in enumerate(GROUPS)}})


def m_bootstrap(
    frame: pl.DataFrame, seed: int, threads: int | None, n_boot: int = N_BOOT
) -> pl.DataFrame:
    return bootstrap(
        frame,
        unit="unit",
        groups=GROUPS,
        indices="mutual_information",
        n_bootstrap=n_boot,
        seed=seed,
        threads=threads,
    )


def panel_bootstrap(
    panel: pl.DataFrame, indices: str | None, seed: int, threads: int | None
) -> pl.DataFrame:
    return bootstrap(
        panel,
        unit="regso",
        groups=BIRTH,
        by=PANEL_BY,
        indices=indices,
        n_bootstrap=N_BOOT_PANEL,
        seed=seed,
        threads=threads,
    )


# ---- (1) bryta in a fresh subprocess ------------------------------------------------------


def child(seed: int, repeat: int) -> None:
    """Fresh process: build the data, time the M bootstrap, print a JSON line."""
    t0 = time.perf_counter()
    frame = synthetic(seed)
    t_gen = time.perf_counter() - t0
    gc.collect()
    base = maxrss_mib()
    t_default, out = timed(lambda: m_bootstrap(frame, seed, None), repeat)
    peak_default = maxrss_mib()
    t_one, _ = timed(lambda: m_bootstrap(frame, seed, 1), repeat)
    row = out.row(0, named=True)
    # Machine calibration: numpy's own Poisson draws for the same 30,000 cells × 1,000
    # replicates on one thread (the cost of the old sampler's draws; this VM's speed varies).
    peak, hwm = maxrss_mib(), vmhwm_mib()
    lam = frame.select(GROUPS).to_numpy().reshape(-1).astype(np.float64)
    rng = np.random.default_rng(seed)

    def numpy_poisson() -> None:
        for _ in range(N_BOOT // 8):
            rng.poisson(lam, size=(8, lam.size))

    t_cal, _ = timed(numpy_poisson, 2)
    report = {
        "calibration_s": min(t_cal),
        "gen_s": t_gen,
        "people": int(frame.select(pl.sum_horizontal(GROUPS)).to_series().sum()),
        "times_default": t_default,
        "times_one": t_one,
        "base_mib": base,
        "peak_default_mib": peak_default,
        "peak_mib": peak,
        "hwm_mib": hwm,
        "cpus": os.cpu_count(),
        **{k: row[k] for k in ["value", *STATS]},
    }
    print("RESULT " + json.dumps(report))


def run_child(seed: int, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--child", "--seed", str(seed), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


# ---- (1) PySAL ----------------------------------------------------------------------------


def bench_pysal_m(frame: pl.DataFrame, iterations: int, seed: int, repeat: int) -> dict:
    """PySAL's SingleValueTest bootstrap and an individual-level loop, on the same data."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    from segregation.inference import SingleValueTest
    from segregation.multigroup import MultiDivergence

    pdf = frame.select(GROUPS).to_pandas()
    index = MultiDivergence(pdf, GROUPS)
    scale = N_BOOT / iterations

    def svt(n_jobs: int) -> Any:
        return SingleValueTest(
            index, iterations_under_null=iterations, null_approach="bootstrap", n_jobs=n_jobs
        )

    # loky starts its workers (each imports PySAL) on first use: time that apart.
    t0 = time.perf_counter()
    SingleValueTest(index, iterations_under_null=4, null_approach="bootstrap", n_jobs=-1)
    t_start = time.perf_counter() - t0
    t_par, test_par = timed(lambda: svt(-1), repeat)
    np.random.seed(seed)  # PySAL draws from numpy's global generator
    t_one, test_one = timed(lambda: svt(1), repeat)

    # Individual-level bootstrap with PySAL's index: the analyst's loop.
    counts = pdf.to_numpy().astype(np.int64)
    n_people = int(counts.sum())
    probs = (counts / n_people).ravel()
    rng = np.random.default_rng(seed)
    columns = pdf.columns

    def individual() -> np.ndarray:
        import pandas as pd

        out = np.empty(iterations)
        for r in range(iterations):
            cells = rng.multinomial(n_people, probs).reshape(counts.shape)
            out[r] = MultiDivergence(pd.DataFrame(cells, columns=columns), GROUPS).statistic
        return out

    t_ind, reps_ind = timed(individual, 1)
    return {
        "statistic": float(index.statistic),
        "iterations": iterations,
        "t_start": t_start,
        "t_par": [t * scale for t in t_par],
        "t_one": [t * scale for t in t_one],
        "t_ind": [t * scale for t in t_ind],
        "se_par": float(np.std(test_par.est_sim, ddof=1)),
        "se_one": float(np.std(test_one.est_sim, ddof=1)),
        "se_ind": float(np.std(reps_ind, ddof=1)),
        "mean_ind": float(np.mean(reps_ind)),
        "mean_one": float(np.mean(test_one.est_sim)),
    }


# ---- (2) and (3) --------------------------------------------------------------------------


def bench_panel(panel: pl.DataFrame, seed: int, repeat: int, single: bool) -> list[dict]:
    """Default threads, and threads=1 unless ``single`` is False (--quick)."""
    rows = []
    for label, indices in [("full suite", None), ("M only", "mutual_information")]:
        t_def, out = timed(lambda i=indices: panel_bootstrap(panel, i, seed, None), repeat)
        nan = int(out.get_column("se").is_nan().sum())
        n_ind = out.get_column("index").n_unique()
        print(
            f"  {label}: {out.height:,} values ({n_ind} {'index' if n_ind == 1 else 'indices'}),"
            f" {nan} NaN se"
        )
        print(f"    default threads: {min(t_def):.3f} s ({fmt_times(t_def)})")
        row = {"label": label, "t_def": min(t_def), "repeat": repeat}
        if single:
            t_one, _ = timed(lambda i=indices: panel_bootstrap(panel, i, seed, 1), repeat)
            print(f"    threads=1:       {min(t_one):.3f} s ({fmt_times(t_one)})")
            row["t_one"] = min(t_one)
        rows.append(row)
    return rows


def stats_array(frame: pl.DataFrame) -> np.ndarray:
    return frame.select(STATS).to_numpy()


def reproducible(run: Callable[[int | None, int], pl.DataFrame], seed: int) -> tuple[bool, bool]:
    """Same seed, threads=1 vs threads=2: identical? And does another seed differ?"""
    one = stats_array(run(1, seed))
    two = stats_array(run(2, seed))
    other = stats_array(run(2, seed + 1))
    same = bool(np.array_equal(one, two, equal_nan=True))
    differs = not np.array_equal(one, other, equal_nan=True)
    return same, differs


# ---- main ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def blocks(n_rep: int, cells: int) -> str:
    """How bryta splits the replicates into blocks (private API: best effort)."""
    try:
        from bryta.compute.segregation._sampling import block_sizes

        sizes = block_sizes(n_rep, cells)
    except (ImportError, AttributeError, TypeError):
        return "block sizes unknown"
    shown = ", ".join(map(str, sizes[:4])) + (", …" if len(sizes) > 4 else "")
    return f"{len(sizes)} block(s) of replicates ({shown})"


def summary(rows: list[dict], repro: list[tuple[str, bool, bool]], extrapolated: bool) -> None:
    print("\nSummary")
    head = (
        f"{'benchmark':56s} {'seconds':>8s} {'runs':>4s} {'vs bryta':>9s} {'peak MiB':>9s} "
        f"{'(+data)':>8s}  target"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        ratio = f"{r['ratio']:8.1f}×" if "ratio" in r else f"{'-':>9s}"
        peak = f"{r['peak']:9,.0f}" if "peak" in r else f"{'-':>9s}"
        delta = f"{r['delta']:8,.0f}" if "delta" in r else f"{'-':>8s}"
        line = f"{r['name']:56s} {r['s']:8.3f} {r['runs']:>4} {ratio} {peak} {delta}  "
        print((line + r.get("target", "")).rstrip())
    print(
        "seconds: the best of 'runs' runs. vs bryta: that row's seconds / bryta's M bootstrap "
        "with the default threads\n  (above 1: bryta is faster).\n"
        + (
            "* PySAL replicates extrapolated linearly to 1,000 (fewer were run).\n"
            if extrapolated
            else ""
        )
        + "  peak MiB: ru_maxrss of the fresh subprocess (interpreter, data and bootstrap); "
        "(+data): above its value after building the data."
    )
    for label, same, differs in repro:
        print(
            f"Reproducibility, {label}: threads=1 and threads=2 identical: {same} "
            f"(another seed differs: {differs})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and PySAL iterations")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--pysal-iterations", type=int, help="PySAL replicates (default 1,000)")
    ap.add_argument("--repeat", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    if args.child:
        child(args.seed, repeat)
        return 0
    quick = args.quick
    iterations = args.pysal_iterations or (200 if quick else N_BOOT)
    pysal_repeat = 2 if quick else 3
    repro_boot = 200 if quick else N_BOOT
    t_start = time.perf_counter()

    # The memory subprocess runs first, while this process is small (ru_maxrss is inherited).
    print(f"bryta {bryta.__version__}: M bootstrap in a fresh subprocess first …", flush=True)
    rep = run_child(args.seed, repeat)

    os.environ.setdefault("TQDM_DISABLE", "1")  # PySAL wraps its loop in tqdm progress bars
    import pandas
    import segregation

    print(
        f"bryta {bryta.__version__} vs PySAL segregation {segregation.__version__} "
        f"(numpy {np.__version__}, polars {pl.__version__}, pandas {pandas.__version__}, "
        f"python {sys.version.split()[0]}); {os.cpu_count()} CPUs"
    )
    rows: list[dict] = []

    # (1)
    frame = synthetic(args.seed)
    t_def, t_one = min(rep["times_default"]), min(rep["times_one"])
    print(
        f"\n(1) M bootstrap: synthetic {N_UNITS:,} units × {len(GROUPS)} groups, "
        f"{rep['people']:,} people (mean {rep['people'] / N_UNITS:,.0f} per unit), "
        f"{N_BOOT:,} replicates, seed {args.seed}; {blocks(N_BOOT, N_UNITS * len(GROUPS))}"
    )
    print(
        f"    bryta, fresh subprocess (data built there: {rep['gen_s']:.2f} s): "
        f"M = {rep['value']:.6f}, se {rep['se']:.3g}, bias {rep['bias']:.3g}, "
        f"ci_low/ci_high (default ci_method) [{rep['ci_low']:.6f}, {rep['ci_high']:.6f}]"
    )
    print(
        f"    default threads ({rep['cpus']} CPUs): {t_def:.3f} s "
        f"({fmt_times(rep['times_default'])})"
    )
    print(
        f"    threads=1:              {t_one:.3f} s ({fmt_times(rep['times_one'])}); "
        f"threads speed-up {t_one / t_def:.2f}×"
    )
    print(
        f"    machine calibration: numpy Generator.poisson for the same cells × {N_BOOT:,} "
        f"replicates, one thread: {rep['calibration_s']:.3f} s (the draws alone of the "
        f"sampler bryta used before its table inversion; it varies with this VM's load)"
    )
    print(
        f"    peak memory (ru_maxrss): {rep['peak_mib']:,.0f} MiB total "
        f"({rep['peak_default_mib']:,.0f} MiB after the default-thread runs), "
        f"{rep['peak_mib'] - rep['base_mib']:,.0f} MiB above the {rep['base_mib']:,.0f} MiB "
        f"after building the data (VmHWM cross-check: {rep['hwm_mib']:,.0f} MiB)"
    )
    py = bench_pysal_m(frame, iterations, args.seed, pysal_repeat)
    extra = (
        "" if iterations == N_BOOT else f"; {iterations:,} replicates run, extrapolated linearly"
    )
    print(
        f"    PySAL MultiDivergence on the data: {py['statistic']:.6f} "
        f"(bryta − PySAL: {rep['value'] - py['statistic']:.1e})"
    )
    print(f"    PySAL SingleValueTest(null_approach='bootstrap'), {N_BOOT:,} replicates{extra}:")
    print(
        f"      n_jobs=-1 (loky, {os.cpu_count()} workers): {min(py['t_par']):.3f} s "
        f"({fmt_times(py['t_par'])}); worker start-up {py['t_start']:.1f} s, excluded"
    )
    print(f"      n_jobs=1:                   {min(py['t_one']):.3f} s ({fmt_times(py['t_one'])})")
    print(
        f"      it resamples the {N_UNITS:,} units (rows) with replacement, not people: se "
        f"{py['se_one']:.3g} (n_jobs=1; {py['se_par']:.3g} with n_jobs=-1) against bryta's "
        f"individual-level {rep['se']:.3g}"
    )
    print(
        f"    PySAL MultiDivergence in a loop over numpy multinomial draws of the "
        f"{N_UNITS * len(GROUPS):,} cells (individual level, like bryta; 1 run{extra}):"
    )
    print(
        f"      {py['t_ind'][0]:.3f} s; se {py['se_ind']:.3g}, mean {py['mean_ind']:.6f} "
        f"(bryta: se {rep['se']:.3g}, mean of the replicates {rep['value'] + rep['bias']:.6f})"
    )
    star = "" if iterations == N_BOOT else "*"
    m_target = f"< {TARGET_M_S} s: "
    rows += [
        {
            "name": "(1) bryta M bootstrap, default threads",
            "s": t_def,
            "runs": repeat,
            "peak": rep["peak_mib"],
            "delta": rep["peak_mib"] - rep["base_mib"],
            "target": m_target + verdict(t_def < TARGET_M_S),
        },
        {
            "name": "(1) bryta M bootstrap, threads=1",
            "s": t_one,
            "runs": repeat,
            "ratio": t_one / t_def,
            "target": m_target + verdict(t_one < TARGET_M_S),
        },
        {
            "name": f"(1) PySAL SingleValueTest bootstrap (units), n_jobs=-1{star}",
            "s": min(py["t_par"]),
            "runs": pysal_repeat,
            "ratio": min(py["t_par"]) / t_def,
        },
        {
            "name": f"(1) PySAL SingleValueTest bootstrap (units), n_jobs=1{star}",
            "s": min(py["t_one"]),
            "runs": pysal_repeat,
            "ratio": min(py["t_one"]) / t_def,
        },
        {
            "name": f"(1) PySAL MultiDivergence, loop over people resamples{star}",
            "s": py["t_ind"][0],
            "runs": 1,
            "ratio": py["t_ind"][0] / t_def,
        },
        {
            "name": "(1) R segregation (published figure, not run here)",
            "s": R_PUBLISHED_S,
            "runs": "-",
            "ratio": R_PUBLISHED_S / t_def,
        },
    ]

    # (2)
    from bryta.datasets import load_demo_panel

    panel = load_demo_panel()
    n_parts = panel.select(PANEL_BY).n_unique()
    print(
        f"\n(2) panel: bundled RegSO panel, {panel.height:,} RegSO × year rows, {n_parts:,} "
        f"kommun × year partitions, birth region, {N_BOOT_PANEL} replicates; "
        f"{blocks(N_BOOT_PANEL, panel.height * len(BIRTH))}"
    )
    for r in bench_panel(panel, args.seed, repeat, single=not quick):
        for key, label in [("t_def", "default threads"), ("t_one", "threads=1")]:
            if key in r:
                rows.append(
                    {
                        "name": f"(2) panel, {r['label']}, {label}",
                        "s": r[key],
                        "runs": r["repeat"],
                        "target": f"< {TARGET_PANEL_S:g} s: {verdict(r[key] < TARGET_PANEL_S)}",
                    }
                )

    # (3)
    print("\n(3) reproducibility: same seed, threads=1 vs threads=2 (and seed + 1 as a control)")
    repro = [
        (
            f"(1) M, {repro_boot:,} replicates",
            *reproducible(lambda th, s: m_bootstrap(frame, s, th, repro_boot), args.seed),
        ),
        (
            f"(2) panel full suite, {N_BOOT_PANEL} replicates",
            *reproducible(lambda th, s: panel_bootstrap(panel, None, s, th), args.seed),
        ),
    ]
    for label, same, differs in repro:
        print(f"  {label}: identical {same}; seed + 1 differs {differs}")

    summary(rows, repro, iterations != N_BOOT)
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
