"""Staggered difference-in-differences: bryta's Callaway–Sant'Anna against ``moderndid``.

Run from the project root (figures on a 2-core machine: docs/performance.md)::

    uv run python benchmarks/bench_did.py            # ~1–2 min, most of it moderndid
    uv run python benchmarks/bench_did.py --quick    # bryta only, no coverage run

(1) mpdta (500 counties × 5 years, 3 cohorts), doubly robust, never-treated controls, 1,000
    multiplier bootstrap replicates: ATT(g,t) and the four aggregations (simple, group,
    dynamic, calendar) with uniform bands. bryta: ``bryta.evaluate.did(..., bootstrap=1000)``,
    one call. moderndid 0.2.0: ``att_gt(boot=True, biters=1000)`` and ``aggte`` of the four
    kinds (each with its own bootstrap). Target: under 1 s.
(2) A synthetic panel the size of Sweden's RegSO: 3,363 units × 15 years × 6 cohorts
    (tests/did_panels.py), the same work. Target: under 10 s.
(3) Placebo inference: ``bryta.evaluate.placebo(..., draws=200)`` on both panels (200
    pseudo-treatments among the never-treated units, the four aggregations each, the placebo
    in time and the MDE), and on mpdta with a covariate (``lpop``: no vectorised path, the
    estimator runs once per draw).
(4) Coverage: 200 simulated panels (300 units × 8 years, three cohorts with effects that
    differ by cohort and grow with time since the start): share of 95 % intervals covering
    the true value of each aggregation (acceptance 90–99 %), bias of CS and of TWFE.

Times are the best of 3 (bryta) and of 2 (moderndid), after one warm-up call, import time
excluded (printed separately). R ``did`` is not installed on this machine and is not run.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.did_panels import staggered_panel, truth  # noqa: E402

MPDTA = ROOT / "tests" / "data" / "mpdta.csv"
KEYS = {"unit": "countyreal", "time": "year", "outcome": "lemp", "cohort": "first.treat"}
BIG_PERIODS = tuple(range(2008, 2023))  # 15 years
BIG_SHARES = {2011: 0.05, 2013: 0.05, 2015: 0.05, 2017: 0.05, 2019: 0.05, 2021: 0.05}
BIG_TAU = dict.fromkeys(BIG_SHARES, 0.3)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_bryta(frame: pl.DataFrame, keys: dict[str, str]) -> None:
    from bryta.evaluate import did

    did(frame, **keys, bootstrap=1000, seed=1)


def run_moderndid(frame: pl.DataFrame, keys: dict[str, str]) -> None:
    import moderndid as md

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = md.att_gt(
            data=frame,
            yname=keys["outcome"],
            tname=keys["time"],
            idname=keys["unit"],
            gname=keys["cohort"],
            est_method="dr",
            boot=True,
            biters=1000,
            random_state=1,
        )
        for kind in ("simple", "group", "dynamic", "calendar"):
            md.aggte(res, type=kind, boot=True, biters=1000, random_state=1)


def compare(name: str, frame: pl.DataFrame, keys: dict[str, str], quick: bool) -> None:
    run_bryta(frame, keys)  # warm-up
    ours = best(lambda: run_bryta(frame, keys), 3)
    line = f"{name}: bryta {ours:.3f} s"
    if not quick:
        run_moderndid(frame, keys)
        theirs = best(lambda: run_moderndid(frame, keys), 2)
        line += f"; moderndid 0.2.0 {theirs:.3f} s; ratio moderndid/bryta {theirs / ours:.1f}×"
    print(line, flush=True)


def placebos(name: str, frame: pl.DataFrame, keys: dict[str, str], **options) -> None:
    from bryta.evaluate import placebo

    placebo(frame, **keys, draws=200, seed=1, **options)  # warm-up
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        result = placebo(frame, **keys, draws=200, seed=1, **options)
        timings.append((time.perf_counter() - start, result.seconds))
    total, draws = min(timings)
    print(
        f"{name}: 200 placebo draws {draws:.3f} s (whole call with the real estimate and the "
        f"placebo in time {total:.3f} s); MDE (simple) {result.mde:.4f}, placebo p "
        f"{result.p_value:.3f}",
        flush=True,
    )


def regso_design(n_treated: int) -> pl.DataFrame:
    """The bundled RegSO panel with ``n_treated`` RegSO drawn at random (seed 2024) to start
    in 2021, 2022 or 2023 (column ``start``; 0 = never)."""
    from bryta.datasets import load_demo_shares

    shares = load_demo_shares().select("regso", "year", "born_abroad_pct")
    regsos = shares.get_column("regso").unique().sort().to_numpy()
    start = np.zeros(len(regsos), dtype=int)
    chosen = np.random.default_rng(2024).choice(len(regsos), n_treated, replace=False)
    start[chosen] = np.resize([2021, 2022, 2023], n_treated)
    return shares.join(pl.DataFrame({"regso": regsos, "start": start}), on="regso")


def coverage(n_panels: int = 200) -> None:
    from bryta.evaluate import did

    rng = np.random.default_rng(20240518)
    true = truth()
    hits = dict.fromkeys(true, 0)
    errors: dict[str, list[float]] = {k: [] for k in true}
    twfe = []
    start = time.perf_counter()
    for _ in range(n_panels):
        result = did(
            staggered_panel(rng, 300), unit="unit", time="year", outcome="y", cohort="cohort"
        )
        for agg, est, lo, hi in result.overall.select(
            "aggregation", "estimate", "ci_low", "ci_high"
        ).rows():
            hits[agg] += lo <= true[agg] <= hi
            errors[agg].append(est - true[agg])
        twfe.append(result.twfe["estimate"][0] - true["simple"])
    took = time.perf_counter() - start
    print(f"coverage of 95 % intervals over {n_panels} panels ({took:.1f} s):")
    for agg in true:
        print(
            f"  {agg:<9} truth {true[agg]:.4f}  covered {hits[agg] / n_panels:.1%}  "
            f"mean error {np.mean(errors[agg]):+.4f}"
        )
    print(f"  TWFE      mean error against the simple truth {np.mean(twfe):+.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bryta only, no coverage run")
    args = parser.parse_args()

    start = time.perf_counter()
    import bryta.evaluate  # noqa: F401
    from bryta.compute.evaluation import did as _did  # noqa: F401

    print(f"import bryta's did (numpy, polars loaded): {time.perf_counter() - start:.2f} s")
    if not args.quick:
        start = time.perf_counter()
        import moderndid  # noqa: F401

        print(f"import moderndid: {time.perf_counter() - start:.2f} s")
    print("R did: not installed on this machine, not run")

    mpdta = pl.read_csv(MPDTA)
    compare("mpdta, 500 units × 5 years, 1,000 bootstrap replicates", mpdta, KEYS, args.quick)
    big = staggered_panel(
        np.random.default_rng(7), 3363, periods=BIG_PERIODS, shares=BIG_SHARES, tau=BIG_TAU
    )
    keys = {"unit": "unit", "time": "year", "outcome": "y", "cohort": "cohort"}
    compare(
        "synthetic, 3,363 units × 15 years × 6 cohorts, 1,000 replicates", big, keys, args.quick
    )
    placebos("mpdta", mpdta, KEYS)
    placebos("mpdta, covariate lpop, method dr", mpdta, KEYS, covariates=["lpop"])
    placebos("synthetic, 3,363 units × 15 years × 6 cohorts", big, keys)
    placebos(
        "bundled RegSO panel 2020–2023, share born abroad, 60 RegSO drawn at random",
        regso_design(60),
        {"unit": "regso", "time": "year", "outcome": "born_abroad_pct", "cohort": "start"},
    )
    if not args.quick:
        coverage()


if __name__ == "__main__":
    main()
