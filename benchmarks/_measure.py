"""Measuring helpers shared by the benchmark scripts (run as ``python benchmarks/x.py``)."""

from __future__ import annotations

import resource


def maxrss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vmhwm_mib() -> float:
    """Peak RSS of this process's own address space (/proc VmHWM; not inherited over exec)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def random_partitions(counts, n: int, seed: int = 1) -> list[tuple]:
    """``n`` (kommun, year) partitions of ``counts`` drawn at random, for timing PySAL's loop
    on a subset."""
    import numpy as np

    rng = np.random.default_rng(seed)
    keys = counts.select("kommun", "year").unique().sort("kommun", "year").rows()
    return [keys[i] for i in rng.choice(len(keys), n, replace=False)]


def report_against_pysal(result, per_index, values, n_parts, subset, bryta_s, names) -> None:
    """Print PySAL's time on ``subset`` extrapolated to ``n_parts``, the ratio to
    ``bryta_s``, PySAL's seconds per partition and index, and the largest relative
    difference between bryta's ``result`` and PySAL's ``values`` ((kommun, year, index) →
    value) on the subset."""
    pysal_s = sum(per_index.values())
    scale = n_parts / len(subset)
    print(
        f"PySAL 2.5: {len(subset)} partitions (a random subset) in {pysal_s:.1f} s; "
        f"extrapolated to all {n_parts}: {pysal_s * scale:.0f} s"
    )
    print(f"ratio (PySAL extrapolated / bryta): {pysal_s * scale / bryta_s:.0f}×")
    print("per index, PySAL s per partition:")
    width = max(map(len, per_index)) + 2
    for name, seconds in per_index.items():
        print(f"  {name:{width}s} {seconds / len(subset):.4f}")
    worst = dict.fromkeys(names, 0.0)
    for (kommun, year, name), value in values.items():
        ours = result.filter(kommun=kommun, year=year, index=name)["value"].item()
        worst[name] = max(worst[name], abs(ours - value) / max(abs(value), 1e-300))
    name = max(worst, key=worst.__getitem__)
    print(f"largest relative difference from PySAL on the subset: {worst[name]:.1e} ({name})")
