"""Start-up: how long a command takes before it does any work, in fresh processes.

Run from the project root (timings on a 2-core machine: docs/performance.md, "Start-up")::

    uv run python benchmarks/bench_startup.py               # ~1 min
    uv run python benchmarks/bench_startup.py --repeat 15
    uv run python benchmarks/bench_startup.py --no-bytecode

Each command runs in a fresh subprocess, ``--repeat`` times (default 9), the commands taking
turns so that a slow minute on a shared machine hits all of them alike; the script prints the
median wall-clock time and the median CPU time (user + system of the child, steadier than the
wall clock when other work shares the cores):

* ``python -c "import bryta"``
* ``bryta --help``
* ``bryta indices``
* ``bryta measure`` of a small counts table (2 kommuner × 40 units, 2 groups, a few people
  per cell, written to a temporary folder), and the same with ``--bootstrap 200``.

The bootstrap's extra time is the difference of the two ``measure`` medians. Part of it is the
bootstrap's own compute: a further subprocess runs the same bootstrap twice in one process,
and the second run (everything loaded) is that compute; the rest is the sampler's start-up
(numba's import and its cached machine code). The table has more cells per partition than
4 √people, so the bootstrap takes the compiled Poisson route (``._sampling.FIXUP_RATIO``).

Bytecode: Python compiles a module's source on import unless it finds its bytecode (.pyc).
``pip install`` writes the bytecode of the packages it installs; ``uv`` does not by default
(``--compile-bytecode``), and Python then writes it on first import unless
``PYTHONDONTWRITEBYTECODE`` is set. The children here run without that variable and with
``PYTHONPYCACHEPREFIX`` set to a temporary folder: one unmeasured run of each command writes
the bytecode there (the installed packages are not touched) and fills numba's cache of
compiled kernels, then the measured runs read them. ``--no-bytecode`` measures the other case:
an empty prefix folder and no writing, so every import compiles from source each time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_SECOND_RUN = """
import sys, time
import polars as pl
from bryta.compute.segregation.inference import bootstrap
frame = pl.read_csv(sys.argv[1], schema_overrides={"kommun": pl.Utf8})
args = dict(unit="unit", groups=["a", "b"], by="kommun", n_bootstrap=int(sys.argv[2]), seed=1)
bootstrap(frame, **args)
wall, cpu = time.perf_counter(), time.process_time()
bootstrap(frame, **args)
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def _write_table(path: Path) -> None:
    rng = random.Random(20240611)
    lines = ["kommun,unit,a,b"]
    for kommun in ("0114", "0180"):
        for u in range(40):
            lines.append(f"{kommun},{kommun}-{u:02d},{rng.randint(0, 4)},{rng.randint(0, 4)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _bryta() -> list[str]:
    """The ``bryta`` script installed beside this interpreter (what a user types)."""
    script = Path(sys.executable).with_name("bryta")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bryta.cli import main; sys.exit(main())"]


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system of the child) of one run, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="measured runs per command")
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap replicates")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="compile every module from source"
    )
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bryta-startup-") as tmp:
        folder = Path(tmp)
        table = folder / "small.csv"
        _write_table(table)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        if opts.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"  # and the prefix folder stays empty

        bryta = _bryta()
        measure = [*bryta, "measure", str(table), "--unit", "unit", "--groups", "a,b"]
        measure += ["--by", "kommun"]
        commands = {
            'python -c "import bryta"': [sys.executable, "-c", "import bryta"],
            "bryta --help": [*bryta, "--help"],
            "bryta indices": [*bryta, "indices"],
            "bryta measure (small table)": [*measure, "-o", str(folder / "plain.csv")],
            f"  … --bootstrap {opts.replicates}": [
                *measure,
                "-o",
                str(folder / "boot.csv"),
                "--bootstrap",
                str(opts.replicates),
                "--seed",
                "1",
            ],
        }
        second = [sys.executable, "-c", _SECOND_RUN, str(table), str(opts.replicates)]

        for cmd in [*commands.values(), second]:  # bytecode and numba's cache, not measured
            _run(cmd, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        compute: list[tuple[float, float]] = []
        for _ in range(opts.repeat):
            for name, cmd in commands.items():
                wall, cpu, _ = _run(cmd, env)
                times[name].append((wall, cpu))
            out = _run(second, env)[2].split()
            compute.append((float(out[0]), float(out[1])))

    def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)

    print(
        f"{datetime.date.today()}, {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end; "
        f"Python {platform.python_version()}; "
        + ("no bytecode (every import compiled from source)" if opts.no_bytecode else "bytecode")
    )
    print(f"{f'median of {opts.repeat} fresh processes each':<44s}     wall      CPU")
    result = {name: medians(runs) for name, runs in times.items()}
    for name, (wall, cpu) in result.items():
        print(f"{name:<44s} {wall:6.2f} s {cpu:6.2f} s")
    plain = result["bryta measure (small table)"]
    boot = result[f"  … --bootstrap {opts.replicates}"]
    work = medians(compute)
    extra = (boot[0] - plain[0], boot[1] - plain[1])
    print(f"bootstrap's extra time over the plain measure  {extra[0]:6.2f} s {extra[1]:6.2f} s")
    print(f"  of which its compute (a second run)          {work[0]:6.2f} s {work[1]:6.2f} s")
    print(
        f"  start-up beyond its compute                  {extra[0] - work[0]:6.2f} s "
        f"{extra[1] - work[1]:6.2f} s"
    )


if __name__ == "__main__":
    main()
