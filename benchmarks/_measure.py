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
