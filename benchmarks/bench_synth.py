"""Synthetic control on Proposition 99: bryta against pysyncon.

Run from the project root (timings on a 2-core machine: docs/performance.md)::

    uv run python benchmarks/bench_synth.py               # bryta, then pysyncon if it installs
    uv run python benchmarks/bench_synth.py --no-pysyncon

(1) bryta: ``bryta.evaluate.synthetic_control`` on ``tests/data/smoking.csv`` with the
    predictors of Abadie, Diamond & Hainmueller (2010), the nested search over V, all 38
    in-space placebos and leave-one-out; timed with the default threads and with
    ``threads=1`` (after a warm-up call that loads the compiled kernels). The weights, the
    pre-period RMSPE and the p-value are printed beside the published ones.
(2) pysyncon 1.7 (MIT), one fit with its default optimiser (Nelder–Mead from equal V) and
    one from its OLS start, in a separate interpreter (``uv run --no-project --with
    pysyncon``: pysyncon is not a dependency of bryta; this needs the package index or uv's
    cache). Its weights and pre-period RMSPE are printed, and the ratio of the times.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "smoking.csv"
PREDICTORS = [
    "lnincome:1980-1988",
    "age15to24:1980-1988",
    "retprice:1980-1988",
    "beer:1984-1988",
    "cigsale:1975",
    "cigsale:1980",
    "cigsale:1988",
]
PUBLISHED = {
    "Colorado": 0.164,
    "Connecticut": 0.069,
    "Montana": 0.199,
    "Nevada": 0.234,
    "Utah": 0.334,
}

PYSYNCON = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, pandas as pd
    from pysyncon import Dataprep, Synth
    df = pd.read_csv(sys.argv[1])
    donors = sorted(s for s in df.state.unique() if s != "California")
    out = {}
    for initial in ("equal", "ols"):
        t0 = time.perf_counter()
        dataprep = Dataprep(
            foo=df, predictors=["lnincome", "age15to24", "retprice"], predictors_op="mean",
            time_predictors_prior=range(1980, 1989),
            special_predictors=[("beer", range(1984, 1989), "mean"),
                                ("cigsale", [1975], "mean"), ("cigsale", [1980], "mean"),
                                ("cigsale", [1988], "mean")],
            dependent="cigsale", unit_variable="state", time_variable="year",
            treatment_identifier="California", controls_identifier=donors,
            time_optimize_ssr=range(1970, 1989),
        )
        synth = Synth()
        synth.fit(dataprep=dataprep, optim_initial=initial)
        seconds = time.perf_counter() - t0
        w = synth.weights(round=6)
        z0, z1 = dataprep.make_outcome_mats(time_period=range(1970, 1989))
        gap = z1 - z0 @ w.reindex(z0.columns).fillna(0)
        out[initial] = {
            "seconds": seconds,
            "rmspe_pre": float(np.sqrt(np.mean(gap ** 2))),
            "weights": {k: float(v) for k, v in w.items() if v > 1e-3},
        }
    print(json.dumps(out))
    """
)


def bryta_run(threads: int | None) -> tuple[float, object]:
    from bryta.evaluate import synthetic_control

    frame = pl.read_csv(DATA, infer_schema=False)
    t0 = time.perf_counter()
    result = synthetic_control(
        frame,
        unit="state",
        time="year",
        outcome="cigsale",
        treated="California",
        start=1989,
        predictors=PREDICTORS,
        threads=threads,
    )
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-pysyncon", action="store_true", help="Time bryta only.")
    args = parser.parse_args()

    from bryta.evaluate import synthetic_control

    t0 = time.perf_counter()
    frame = pl.read_csv(DATA, infer_schema=False)
    synthetic_control(
        frame,
        unit="state",
        time="year",
        outcome="cigsale",
        treated="California",
        start=1989,
        predictors=PREDICTORS,
        placebos=False,
        leave_one_out=False,
    )
    print(
        f"warm-up (import, compiled kernels, one fit without placebos): "
        f"{time.perf_counter() - t0:.2f} s"
    )
    seconds, result = bryta_run(None)
    seconds_1, _ = bryta_run(1)
    weights = dict(result.weights.iter_rows())  # type: ignore[attr-defined]
    print("\nbryta: fit + 38 in-space placebos + leave-one-out")
    print(f"  time, default threads: {seconds:.2f} s; threads=1: {seconds_1:.2f} s")
    print(
        f"  pre-period RMSPE {result.rmspe_pre:.4f} (published 1.756), "  # type: ignore[attr-defined]
        f"average gap 1989-2000 {result.average_gap:.2f} (published -19.0), "  # type: ignore[attr-defined]
        f"p-value {result.p_value:.4f} (published 1/39 = 0.0256)"
    )  # type: ignore[attr-defined]
    for state, published in PUBLISHED.items():
        print(f"  {state:<12} {weights[state]:.4f}  (published {published:.3f})")
    rest = sum(w for s, w in weights.items() if s not in PUBLISHED)
    print(f"  all others   {rest:.2e}")

    if args.no_pysyncon:
        return
    print("\npysyncon 1.7: one fit (no placebos), in a separate interpreter")
    command = [
        "uv",
        "run",
        "--no-project",
        "--quiet",
        "--python",
        "3.11",
        "--with",
        "pysyncon==1.7.*",
        "--with",
        "pandas",
        "python",
        "-c",
        PYSYNCON,
        str(DATA),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  not run: {exc}", file=sys.stderr)
        return
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for initial, fit in found.items():
        shown = ", ".join(f"{k} {v:.3f}" for k, v in sorted(fit["weights"].items()))
        print(
            f"  start {initial:<5}: {fit['seconds']:.2f} s, pre-period RMSPE "
            f"{fit['rmspe_pre']:.4f}; weights {shown}"
        )
    slowest = max(fit["seconds"] for fit in found.values())
    fastest = min(fit["seconds"] for fit in found.values())
    print(
        f"\n  one pysyncon fit takes {fastest:.1f}-{slowest:.1f} s; bryta's fit with 38 placebos "
        f"and leave-one-out {seconds:.1f} s: {fastest / seconds:.2f}-{slowest / seconds:.2f}x "
        f"pysyncon's time for one fit"
    )
    if not math.isfinite(result.rmspe_pre):  # type: ignore[attr-defined]
        sys.exit(1)


if __name__ == "__main__":
    main()
