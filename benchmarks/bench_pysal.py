"""bryta against PySAL ``segregation``: speed, memory and parity.

Run from the project root (timings on a 2-core machine: docs/performance.md)::

    uv run --group bench python benchmarks/bench_pysal.py            # default, ~1 min
    uv run --group bench python benchmarks/bench_pysal.py --quick    # smaller samples, < 1 min
    uv run --group bench python benchmarks/bench_pysal.py --large    # adds the 34.8 M-row run

Options: ``--sample-a N`` / ``--sample-b N`` PySAL sample sizes (partitions; a number at least
the number of partitions runs PySAL on all of them), ``--large-chunk-years K`` (default 1),
``--seed``.

(a) The bundled RegSO panel (``bryta.ingest.load_demo_panel``), partitioned by kommun × year,
    for two groupings: birth region (2 groups) and tenure (3 groups). bryta computes every
    index for every partition and focal group in one ``measure`` call; PySAL is run the way it
    is used today: a loop over partitions and over the index classes, one object per number.
    PySAL is timed on a deterministic random sample of partitions and extrapolated linearly to
    all partitions; its values on the sample are the independent check of bryta's values.
    Partitions where bryta gives NaN (degenerate) are compared separately, on all of them.
(b) A synthetic panel like Sweden's DeSO: 290 regions × 20 years, 6,000 units spread unevenly
    over the regions, 5 groups, ~1,500 people per unit. bryta's time and peak memory are
    measured in a fresh subprocess that only builds the data and runs ``measure`` (started
    before PySAL is loaded: Linux carries ru_maxrss over fork + exec). With ``--large``, also
    6,000 units *per region* (34.8 M unit rows × 5 groups), measured a chunk of years at a time.

PySAL's Gini is numba-jitted: it is compiled in a warm-up before any timing.
PySAL ``segregation`` 2.5.4 has no Hutchens square root index, so PySAL computes 7 two-group
indices per focal group where bryta computes 8 (the speed ratio is therefore conservative).
Its single-group Gini class is ``Gini`` (not ``GiniSeg``). PySAL's ``MultiInfoTheory`` is
Theil's H (M normalised by the entropy), compared with bryta's ``theil_h``; the mutual
information M itself is PySAL's ``MultiDivergence`` (Roberto's divergence index, which equals
M in nats).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from _measure import maxrss_mib, vmhwm_mib

import bryta

SEED = 20240611
BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
SYNTH_GROUPS = ["g1", "g2", "g3", "g4", "g5"]
PARITY_TOL = 1e-10  # relative
ABS_TOL = 1e-13  # absolute: below it a relative excess is rounding of a tiny value

# bryta index -> PySAL class name (None: not in PySAL segregation 2.5.4)
SINGLE_CLASSES: dict[str, str | None] = {
    "dissimilarity": "Dissim",
    "gini": "Gini",
    "entropy": "Entropy",
    "isolation": "Isolation",
    "exposure": "Interaction",
    "atkinson": "Atkinson",
    "correlation_ratio": "CorrelationR",
    "hutchens_square_root": None,
}
MULTI_CLASSES: dict[str, str] = {
    "mutual_information": "MultiDivergence",
    "theil_h": "MultiInfoTheory",
    "multigroup_dissimilarity": "MultiDissim",
    "multigroup_gini": "MultiGini",
    "normalized_exposure": "MultiNormExposure",
    "relative_diversity": "MultiRelativeDiversity",
    "squared_coefficient_of_variation": "MultiSquaredCoefVar",
    "simpson_concentration": "SimpsonsConcentration",
    "simpson_interaction": "SimpsonsInteraction",
    "diversity": "MultiDiversity",
}


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls, and the last result."""
    best, out = math.inf, None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ---- synthetic data -----------------------------------------------------------------------


@dataclass
class SyntheticPanel:
    """Regions of unequal size, units with their own group mix, counts drawn year by year.

    Each region has group shares drawn from a Dirichlet (a large first group and smaller
    minorities, varying by region, at least 1 % each) and a segregation strength σ; each unit
    draws its shares around its region's (logistic-normal: region share × exp(σ z), z
    standard normal per unit and group, renormalised), and its population around 1,500
    (lognormal). Every year the shares drift by a group trend plus unit noise, and counts are
    negative binomial (gamma-Poisson) around the unit's expected count.
    """

    n_regions: int = 290
    n_years: int = 20
    n_units: int | None = 6_000  # in total, spread unevenly over the regions
    units_per_region: int | None = None  # the alternative: the same number in every region
    n_groups: int = 5
    mean_pop: float = 1_500.0
    seed: int = SEED
    int_keys: bool = False  # integer region/unit ids (saves memory for the large variant)
    sizes: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        if self.units_per_region is not None:
            self.sizes = np.full(self.n_regions, self.units_per_region, dtype=np.int64)
        else:
            assert self.n_units is not None and self.n_units >= 2 * self.n_regions
            weights = rng.lognormal(0.0, 1.0, self.n_regions)
            extra = rng.multinomial(self.n_units - 2 * self.n_regions, weights / weights.sum())
            self.sizes = 2 + extra
        self.region = np.repeat(np.arange(self.n_regions, dtype=np.int32), self.sizes)
        n = self.region.size
        alpha = np.array([6.0, 2.0, 1.2, 0.8, 0.5, 0.4, 0.3][: self.n_groups])
        region_share = rng.dirichlet(alpha, size=self.n_regions)
        region_share = np.maximum(region_share, 0.01)  # every group lives in every region
        region_share /= region_share.sum(axis=1, keepdims=True)
        sigma = rng.uniform(0.3, 1.2, self.n_regions)  # high: segregated
        z = rng.standard_normal((n, self.n_groups))
        share = region_share[self.region] * np.exp(sigma[self.region, None] * z)
        self.share = share / share.sum(axis=1, keepdims=True)
        self.pop = self.mean_pop * rng.lognormal(-0.5 * 0.35**2, 0.35, n)
        self.trend = rng.normal(0.0, 0.02, self.n_groups)
        self.rng = rng

    @property
    def total_units(self) -> int:
        return int(self.sizes.sum())

    def year_frame(self, year_index: int) -> pl.DataFrame:
        """Counts of one year (draws continue the generator: call years in order)."""
        rng = self.rng
        n = self.total_units
        drift = year_index * self.trend + rng.normal(0.0, 0.03, (n, self.n_groups))
        share = self.share * np.exp(drift)
        share /= share.sum(axis=1, keepdims=True)
        mean = (self.pop * (1 + 0.005 * year_index))[:, None] * share
        k = 20.0  # negative binomial shape: variance = mean + mean² / k
        counts = rng.poisson(rng.gamma(k, mean / k)).astype(np.int32)
        unit_id = np.arange(n, dtype=np.int32)
        year = np.full(n, 2004 + year_index, dtype=np.int16)
        if self.int_keys:
            keys = {"region": self.region, "year": year, "unit": unit_id}
        else:
            keys = {
                "region": pl.Series(self.region).cast(pl.String).str.zfill(4),
                "year": year,
                "unit": pl.Series(unit_id).cast(pl.String).str.zfill(8),
            }
        groups = {g: counts[:, j] for j, g in enumerate(SYNTH_GROUPS[: self.n_groups])}
        return pl.DataFrame({**keys, **groups})

    def frame(self, years: Sequence[int] | None = None) -> pl.DataFrame:
        years = range(self.n_years) if years is None else years
        return pl.concat([self.year_frame(y) for y in years])


def synthetic_default() -> SyntheticPanel:
    return SyntheticPanel(n_regions=290, n_years=20, n_units=6_000)


# ---- PySAL --------------------------------------------------------------------------------


class Pysal:
    """The PySAL index classes (imported lazily: the memory subprocess must not load them)."""

    def __init__(self) -> None:
        warnings.filterwarnings("ignore", category=FutureWarning)
        from segregation import multigroup, singlegroup

        self.single = [
            (name, getattr(singlegroup, cls)) for name, cls in SINGLE_CLASSES.items() if cls
        ]
        self.multi = [(name, getattr(multigroup, cls)) for name, cls in MULTI_CLASSES.items()]

    def partition(
        self, sub: Any, groups: Sequence[str], safe: bool = False
    ) -> list[tuple[str, str, float]]:
        """Every PySAL index of one partition: one object per number.

        ``safe`` turns an exception into NaN (for degenerate partitions, never timed).
        """
        sub = sub.assign(total=sub[list(groups)].sum(axis=1))
        out = []
        for g in groups:
            for name, cls in self.single:
                out.append((name, g, self._stat(cls, safe, sub, g, "total")))
        for name, cls in self.multi:
            out.append((name, "", self._stat(cls, safe, sub, list(groups))))
        return out

    @staticmethod
    def _stat(cls: Any, safe: bool, *args: Any) -> float:
        if not safe:
            return float(cls(*args).statistic)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return float(cls(*args).statistic)
        except Exception:
            return float("nan")

    def warm_up(self, sub: Any, groups: Sequence[str]) -> float:
        """Run every class once so numba compiles PySAL's Gini before any timing."""
        t0 = time.perf_counter()
        self.partition(sub, groups)
        return time.perf_counter() - t0

    def run(
        self, frame: pl.DataFrame, by: Sequence[str], groups: Sequence[str], safe: bool = False
    ) -> tuple[float, pl.DataFrame]:
        """The analyst's loop over the partitions of ``frame``: time and values (long)."""
        pdf = frame.select([*by, *groups]).to_pandas()
        records: list[tuple[Any, ...]] = []
        t0 = time.perf_counter()
        for key, sub in pdf.groupby(list(by), sort=False):
            for rec in self.partition(sub, groups, safe):
                records.append((*key, *rec))
        elapsed = time.perf_counter() - t0
        schema = {c: frame.schema[c] for c in by}
        values = pl.DataFrame(
            records,
            schema={**schema, "index": pl.String, "group": pl.String, "pysal": pl.Float64},
            orient="row",
        )
        return elapsed, values


def sample_partitions(frame: pl.DataFrame, by: Sequence[str], n: int, seed: int) -> pl.DataFrame:
    """A deterministic random sample of ``n`` partition keys (all when n ≥ their number)."""
    keys = frame.select(by).unique().sort(by)
    if n >= keys.height:
        return keys
    rows = np.sort(np.random.default_rng(seed).choice(keys.height, size=n, replace=False))
    return keys[rows]


@dataclass
class Parity:
    index: str
    compared: int
    nan_pysal: int
    max_abs: float
    max_rel: float
    value_at_max_rel: float
    over_rel: int  # values beyond PARITY_TOL relative
    over_both: int  # ... and beyond ABS_TOL absolute: a real disagreement


def parity(
    bryta_long: pl.DataFrame, pysal_long: pl.DataFrame, by: Sequence[str]
) -> tuple[list[Parity], int]:
    """Max |bryta − PySAL| (absolute and relative to |PySAL|) per index on the sample.

    Partitions where bryta gives a NaN (degenerate: a focal group absent, one unit) are left
    out here and compared separately (:func:`degenerate_check`); returns their number too.
    """
    nan_keys = bryta_long.filter(pl.col("value").is_nan()).select(by).unique()
    b = bryta_long.join(nan_keys, on=by, how="anti").with_columns(pl.col("group").fill_null(""))
    joined = pysal_long.join(nan_keys, on=by, how="anti").join(
        b, on=[*by, "index", "group"], how="inner"
    )
    out = []
    for name in bryta.INDICES:
        part = joined.filter(pl.col("index") == name)
        if part.height == 0:
            continue
        bv = part.get_column("value").to_numpy()
        pv = part.get_column("pysal").to_numpy()
        p_nan = ~np.isfinite(pv)
        ok = np.isfinite(bv) & ~p_nan
        diff = np.abs(bv[ok] - pv[ok])
        scale = np.abs(pv[ok])
        rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), diff)
        worst = int(rel.argmax()) if rel.size else -1
        out.append(
            Parity(
                index=name,
                compared=int(ok.sum()),
                nan_pysal=int(p_nan.sum()),
                max_abs=float(diff.max()) if diff.size else float("nan"),
                max_rel=float(rel[worst]) if rel.size else float("nan"),
                value_at_max_rel=float(scale[worst]) if rel.size else float("nan"),
                over_rel=int((rel > PARITY_TOL).sum()),
                over_both=int(((rel > PARITY_TOL) & (diff > ABS_TOL)).sum()),
            )
        )
    return out, nan_keys.height


def print_parity(result: tuple[list[Parity], int], label: str) -> list[Parity]:
    rows, n_excluded = result
    print(f"  parity on the sampled partitions ({label}), PySAL as the reference:")
    if n_excluded:
        print(
            f"    {n_excluded} sampled partition(s) have a NaN in bryta (degenerate) and are "
            "left out here: see 'degenerate partitions' below"
        )
    else:
        print("    no sampled partition has a NaN in bryta (0 degenerate partitions left out)")
    print(
        f"    {'index':34s} {'PySAL class':22s} {'compared':>8s} {'PySAL NaN':>9s} "
        f"{'max |abs|':>10s} {'max rel':>10s} {'at |value|':>10s}"
    )
    bad, tiny = [], 0
    for r in rows:
        cls = SINGLE_CLASSES.get(r.index) or MULTI_CLASSES.get(r.index) or "-"
        flag = ""
        if r.over_both or r.nan_pysal:
            flag = "  <-- DISAGREES"
            bad.append(r)
        elif r.over_rel:
            flag = f"  ({r.over_rel} > 1e-10 rel, abs ≤ 1e-13)"
            tiny += r.over_rel
        print(
            f"    {r.index:34s} {cls:22s} {r.compared:8d} {r.nan_pysal:9d} "
            f"{r.max_abs:10.2e} {r.max_rel:10.2e} {r.value_at_max_rel:10.2e}{flag}"
        )
    print("    hutchens_square_root               (not in PySAL 2.5.4: not compared)")
    if tiny:
        print(
            f"    {tiny} value(s) differ by more than 1e-10 relative but at most 1e-13 absolute:"
            " indices of ~1e-6 (units with almost\n    equal shares), where the rounding of"
            " O(1) terms (~1e-16) is a large relative error on either side"
        )
    return bad


def degenerate_check(
    pysal: Pysal,
    frame: pl.DataFrame,
    result: pl.DataFrame,
    by: Sequence[str],
    groups: Sequence[str],
) -> None:
    """PySAL on every partition where bryta gives a NaN (untimed): how the two agree there."""
    nan_keys = result.filter(pl.col("value").is_nan()).select(by).unique().sort(by)
    if nan_keys.height == 0:
        print("  degenerate partitions: none (no NaN in bryta's result)")
        return
    _, pv = pysal.run(frame.join(nan_keys, on=by, how="semi"), by, groups, safe=True)
    b = result.with_columns(pl.col("group").fill_null(""))
    joined = pv.join(b, on=[*by, "index", "group"], how="left")
    print(
        f"  degenerate partitions: {nan_keys.height} partition(s) have a NaN in bryta "
        f"({', '.join(' '.join(map(str, k)) for k in nan_keys.head(6).iter_rows())}"
        f"{', …' if nan_keys.height > 6 else ''}); PySAL run on all of them (untimed, "
        "exceptions → NaN):"
    )
    print(
        f"    {'index':34s} {'group':>14s} {'both NaN':>8s} {'only bryta NaN':>14s} "
        f"{'only PySAL NaN':>14s} {'both finite':>11s} {'max rel':>9s}"
    )
    quiet, quiet_rel = 0, 0.0
    for (name, group), part in joined.group_by(["index", "group"], maintain_order=True):
        bv = part.get_column("value").to_numpy()
        pv_ = part.get_column("pysal").to_numpy()
        bn, pn = ~np.isfinite(bv), ~np.isfinite(pv_)
        ok = ~bn & ~pn
        rel = np.abs(bv[ok] - pv_[ok]) / np.maximum(np.abs(pv_[ok]), 1e-300)
        if not (bn | pn).any():  # nothing degenerate about this index: summarise
            quiet += 1
            quiet_rel = max(quiet_rel, float(rel.max()))
            continue
        max_rel = f"{rel.max():9.1e}" if rel.size else f"{'-':>9s}"
        only_b = np.unique(pv_[bn & ~pn])
        there = ""
        if only_b.size:
            shown = ", ".join(f"{v:.3g}" for v in only_b[:3]) + (", …" if only_b.size > 3 else "")
            there = f"  PySAL gives {shown}"
        print(
            f"    {name:34s} {group or '(multigroup)':>14s} {int((bn & pn).sum()):8d} "
            f"{int((bn & ~pn).sum()):14d} {int((~bn & pn).sum()):14d} {int(ok.sum()):11d} "
            f"{max_rel}{there}"
        )
    if quiet:
        print(
            f"    the other {quiet} index × group columns: finite on both sides, "
            f"max rel {quiet_rel:.1e}"
        )
    # bryta computes multigroup indices over the groups present: PySAL on those groups only.
    pdf = frame.join(nan_keys, on=by, how="semi").select([*by, *groups]).to_pandas()
    records = []
    for key, sub in pdf.groupby(list(by), sort=False):
        present = [g for g in groups if sub[g].sum() > 0]
        for name, cls in pysal.multi:
            records.append((*key, name, "", Pysal._stat(cls, True, sub, present)))
    schema = {c: frame.schema[c] for c in by}
    present_vals = pl.DataFrame(
        records,
        schema={**schema, "index": pl.String, "group": pl.String, "pysal": pl.Float64},
        orient="row",
    )
    joined = present_vals.join(b, on=[*by, "index", "group"], how="left")
    bv = joined.get_column("value").to_numpy()
    pv_ = joined.get_column("pysal").to_numpy()
    ok = np.isfinite(bv) & np.isfinite(pv_)
    rel = np.abs(bv[ok] - pv_[ok]) / np.maximum(np.abs(pv_[ok]), 1e-300)
    print(
        f"    multigroup indices vs PySAL run on the groups present only: {int(ok.sum())} of "
        f"{joined.height} values finite on both sides, max rel "
        f"{rel.max() if rel.size else float('nan'):.1e}"
    )


def values_per_partition(n_groups: int) -> tuple[int, int]:
    """Values per partition: bryta (all 18 indices) and PySAL (17, no Hutchens)."""
    n_two = sum(1 for s in bryta.INDICES.values() if s.kind == "two_group")
    n_multi = len(bryta.INDICES) - n_two
    return n_two * n_groups + n_multi, (n_two - 1) * n_groups + n_multi


# ---- (a) the bundled RegSO panel ------------------------------------------------------------


def bench_regso(pysal: Pysal, sample_n: int, seed: int) -> tuple[list[dict], list[Parity]]:
    from bryta.datasets import load_demo_panel

    panel = load_demo_panel()
    by = ["kommun", "year"]
    n_parts = panel.select(by).n_unique()
    sample = sample_partitions(panel, by, sample_n, seed)
    sampled = panel.join(sample, on=by, how="semi")
    print(
        f"\n(a) bundled RegSO panel: {panel.height:,} RegSO × year rows, "
        f"{panel.get_column('regso').n_unique():,} RegSO, {n_parts:,} kommun × year partitions"
    )
    if sample.height < n_parts:
        print(
            f"    PySAL timed on a random sample of {sample.height} partitions "
            f"({sampled.height:,} rows, seed {seed}) and extrapolated linearly to all {n_parts:,}"
        )
    else:
        print(f"    PySAL timed on all {n_parts:,} partitions (no extrapolation)")
    rows, bad = [], []
    for label, groups in [("birth region", BIRTH), ("tenure", TENURE)]:

        def run(groups: list[str] = groups) -> pl.DataFrame:
            return bryta.measure(panel, unit="regso", groups=groups, by=by)

        t_bryta, result = best_of(run)
        n_b, n_p = values_per_partition(len(groups))
        t_sample, pysal_vals = pysal.run(sampled, by, groups)
        t_pysal = t_sample * n_parts / sample.height
        ratio = t_pysal / t_bryta
        print(f"\n  {label} ({', '.join(groups)}):")
        print(
            f"    bryta: {result.height:,} values ({n_b} per partition, "
            f"{result.get_column('value').is_nan().sum()} NaN) in one measure call: "
            f"{t_bryta:.4f} s (best of 3, validation included)"
        )
        extra = (
            f"{t_pysal:.1f} s extrapolated to {n_parts:,} partitions ({n_p * n_parts:,} values)"
            if sample.height < n_parts
            else "all partitions, nothing extrapolated"
        )
        print(
            f"    PySAL: {pysal_vals.height:,} values on {sample.height} partitions "
            f"({n_p} per partition, no Hutchens): {t_sample:.2f} s measured, {extra}"
        )
        print(f"    ratio PySAL / bryta: {ratio:,.0f}×")
        sub = result.join(sample, on=by, how="semi")
        par = parity(sub, pysal_vals, by)
        bad += print_parity(par, label)
        degenerate_check(pysal, panel, result, by, groups)
        rows.append(
            {
                "name": f"(a) RegSO {label}, {len(groups)} groups",
                "values": result.height,
                "bryta_s": t_bryta,
                "pysal_s": t_pysal,
                "ratio": ratio,
            }
        )
    return rows, bad


# ---- (b) synthetic -------------------------------------------------------------------------


def child(mode: str, chunk_years: int) -> None:
    """Fresh process: build the data, run measure, print a JSON line with time and memory."""
    t0 = time.perf_counter()
    by = ["region", "year"]
    if mode == "synthetic":
        gen = synthetic_default()
        frame = gen.frame()
        t_gen = time.perf_counter() - t0
        gc.collect()
        base = maxrss_mib()

        def run() -> pl.DataFrame:
            return bryta.measure(frame, unit="unit", groups=SYNTH_GROUPS, by=by)

        times = []
        for _ in range(3):
            gc.collect()
            t1 = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - t1)
        report = {
            "rows": frame.height,
            "partitions": int(frame.select(by).n_unique()),
            "values": result.height,
            "nan": int(result.get_column("value").is_nan().sum()),
            "times": times,
        }
    else:  # large: 6,000 units per region, measured in chunks of years
        gen = SyntheticPanel(n_units=None, units_per_region=6_000, int_keys=True)
        gc.collect()
        base = maxrss_mib()
        t_gen = time.perf_counter() - t0
        t_measure, values, nan, rows = 0.0, 0, 0, 0
        for start in range(0, gen.n_years, chunk_years):
            t1 = time.perf_counter()
            frame = gen.frame(range(start, min(start + chunk_years, gen.n_years)))
            t_gen += time.perf_counter() - t1
            rows += frame.height
            t1 = time.perf_counter()
            result = bryta.measure(frame, unit="unit", groups=SYNTH_GROUPS, by=by)
            t_measure += time.perf_counter() - t1
            values += result.height
            nan += int(result.get_column("value").is_nan().sum())
            del frame, result
            gc.collect()
        report = {
            "rows": rows,
            "partitions": gen.n_regions * gen.n_years,
            "values": values,
            "nan": nan,
            "times": [t_measure],
        }
    report |= {"gen_s": t_gen, "base_mib": base, "peak_mib": maxrss_mib(), "hwm_mib": vmhwm_mib()}
    print("RESULT " + json.dumps(report))


def run_child(mode: str, chunk_years: int = 20) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--large-chunk-years", str(chunk_years)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode} failed ({proc.returncode}):\n{proc.stderr}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def bench_synthetic(
    pysal: Pysal, rep: dict, sample_n: int, seed: int
) -> tuple[list[dict], list[Parity]]:
    gen = synthetic_default()
    frame = gen.frame()
    by = ["region", "year"]
    n_parts = frame.select(by).n_unique()
    sizes = gen.sizes
    print(
        f"\n(b) synthetic: {gen.n_regions} regions × {gen.n_years} years, "
        f"{gen.total_units:,} units (per region: min {sizes.min()}, median "
        f"{int(np.median(sizes))}, max {sizes.max()}), {len(SYNTH_GROUPS)} groups, "
        f"{frame.height:,} unit rows, mean unit population "
        f"{frame.select(pl.sum_horizontal(SYNTH_GROUPS).mean()).item():,.0f}"
    )
    t_bryta = min(rep["times"])
    n_b, n_p = values_per_partition(len(SYNTH_GROUPS))
    print(
        f"    bryta, fresh subprocess (data built there: {rep['gen_s']:.2f} s): "
        f"{rep['values']:,} values ({n_b} per partition, {rep['nan']} NaN) in one call"
    )
    print(
        f"    wall time {t_bryta:.3f} s (best of 3; all: "
        f"{', '.join(f'{t:.3f}' for t in rep['times'])} s)"
    )
    print(
        f"    peak memory (ru_maxrss): {rep['peak_mib']:,.0f} MiB total, "
        f"{rep['peak_mib'] - rep['base_mib']:,.0f} MiB above the "
        f"{rep['base_mib']:,.0f} MiB after building the data (VmHWM cross-check: "
        f"{rep['hwm_mib']:,.0f} MiB)"
    )
    result = bryta.measure(frame, unit="unit", groups=SYNTH_GROUPS, by=by)
    sample = sample_partitions(frame, by, sample_n, seed)
    sampled = frame.join(sample, on=by, how="semi")
    t_sample, pysal_vals = pysal.run(sampled, by, SYNTH_GROUPS)
    t_pysal = t_sample * n_parts / sample.height
    ratio = t_pysal / t_bryta
    print(
        f"    PySAL: {pysal_vals.height:,} values on a random sample of {sample.height} "
        f"partitions (seed {seed}): {t_sample:.2f} s measured, {t_pysal:.1f} s extrapolated "
        f"linearly to {n_parts:,} partitions ({n_p * n_parts:,} values)"
    )
    print(f"    ratio PySAL / bryta: {ratio:,.0f}×")
    bad = print_parity(parity(result.join(sample, on=by, how="semi"), pysal_vals, by), "synthetic")
    degenerate_check(pysal, frame, result, by, SYNTH_GROUPS)
    row = {
        "name": "(b) synthetic 290 × 20, 6,000 units",
        "values": rep["values"],
        "bryta_s": t_bryta,
        "pysal_s": t_pysal,
        "ratio": ratio,
        "peak_mib": rep["peak_mib"],
        "delta_mib": rep["peak_mib"] - rep["base_mib"],
    }
    return [row], bad


def bench_large(rep: dict, chunk_years: int) -> dict:
    print(
        f"\n(b, large) 290 regions × 20 years × 6,000 units per region "
        f"(34.8 M unit rows × 5 groups), measured in chunks of {chunk_years} year(s) "
        f"in a fresh subprocess (integer region/unit ids)"
    )
    t = rep["times"][0]
    print(
        f"    {rep['rows']:,} rows, {rep['partitions']:,} partitions, {rep['values']:,} values "
        f"({rep['nan']} NaN); data generation {rep['gen_s']:.1f} s (not timed)"
    )
    print(f"    bryta measure, summed over the chunks: {t:.2f} s (one run)")
    print(
        f"    peak memory (ru_maxrss): {rep['peak_mib']:,.0f} MiB total, "
        f"{rep['peak_mib'] - rep['base_mib']:,.0f} MiB above the {rep['base_mib']:,.0f} MiB "
        f"before the first chunk (VmHWM cross-check: {rep['hwm_mib']:,.0f} MiB)"
    )
    return {
        "name": f"(b) large 34.8 M rows, chunks of {chunk_years} y",
        "values": rep["values"],
        "bryta_s": t,
        "pysal_s": float("nan"),
        "ratio": float("nan"),
        "peak_mib": rep["peak_mib"],
        "delta_mib": rep["peak_mib"] - rep["base_mib"],
    }


# ---- main ---------------------------------------------------------------------------------


def summary(rows: list[dict]) -> None:
    print("\nSummary")
    head = (
        f"{'benchmark':40s} {'values':>10s} {'bryta s':>9s} {'PySAL s*':>9s} {'PySAL/bryta':>12s}"
        f" {'peak MiB':>9s} {'(+data)':>8s}  target"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        pysal_s = f"{r['pysal_s']:9.1f}" if math.isfinite(r["pysal_s"]) else f"{'-':>9s}"
        ratio = f"{r['ratio']:11,.0f}×" if math.isfinite(r["ratio"]) else f"{'-':>12s}"
        peak = f"{r['peak_mib']:9,.0f}" if "peak_mib" in r else f"{'-':>9s}"
        delta = f"{r['delta_mib']:8,.0f}" if "delta_mib" in r else f"{'-':>8s}"
        if r["name"].startswith("(a)"):
            target = f"≥ 100× faster: {'met' if r['ratio'] >= 100 else 'NOT met'}"
        elif "large" in r["name"]:
            target = "(no target; reported)"
        else:
            ok_t = r["bryta_s"] < 2.0
            ok_m = r["peak_mib"] < 1024
            target = (
                f"< 2 s: {'met' if ok_t else 'NOT met'}; "
                f"< 1 GB peak: {'met' if ok_m else 'NOT met'}"
            )
        print(
            f"{r['name']:40s} {r['values']:>10,d} {r['bryta_s']:9.4f} {pysal_s} {ratio} "
            f"{peak} {delta}  {target}"
        )
    print(
        "* PySAL seconds extrapolated linearly from the sampled partitions (unless all were run);\n"
        "  numba (PySAL's Gini) compiled before timing.\n"
        "  peak MiB: ru_maxrss of the fresh subprocess (interpreter, data and measure); "
        "(+data): above the peak after building the data."
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller PySAL samples (< 1 min)")
    ap.add_argument("--large", action="store_true", help="also run 6,000 units per region")
    ap.add_argument("--sample-a", type=int, help="PySAL sample of partitions for (a)")
    ap.add_argument("--sample-b", type=int, help="PySAL sample of partitions for (b)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--large-chunk-years", type=int, default=1, help="years per chunk (--large)")
    ap.add_argument("--child", choices=["synthetic", "large"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.large_chunk_years)
        return 0

    sample_a = args.sample_a or (30 if args.quick else 240)
    sample_b = args.sample_b or (20 if args.quick else 240)
    t_start = time.perf_counter()
    # The memory subprocesses run first, while this process is still small: Linux carries
    # ru_maxrss over fork + exec, so a child started after PySAL is loaded would inherit
    # this process's peak (~0.5 GB) as its own baseline.
    print(f"bryta {bryta.__version__}: memory and time in fresh subprocesses first …", flush=True)
    rep_synth = run_child("synthetic")
    rep_large = run_child("large", args.large_chunk_years) if args.large else None

    import pandas
    import segregation

    print(
        f"bryta {bryta.__version__} vs PySAL segregation {segregation.__version__} "
        f"(numpy {np.__version__}, polars {pl.__version__}, pandas {pandas.__version__}, "
        f"python {sys.version.split()[0]})"
    )
    pysal = Pysal()
    # numba compiles PySAL's Gini per argument type on first use: warm up on the dtypes of
    # both benchmarks before any timing, so compile time is not counted.
    warm = pl.DataFrame({"a": [30, 10, 20], "b": [10, 30, 20]}).to_pandas()
    t_warm = pysal.warm_up(warm, ["a", "b"])
    t_warm += pysal.warm_up(
        synthetic_default().year_frame(0).head(50).select(SYNTH_GROUPS).to_pandas(), SYNTH_GROUPS
    )
    print(
        f"numba: PySAL's Gini compiled in a warm-up before timing ({t_warm:.1f} s, "
        "excluded from every timing)"
    )

    rows, bad = [], []
    r, b = bench_regso(pysal, sample_a, args.seed)
    rows += r
    bad += b
    r, b = bench_synthetic(pysal, rep_synth, sample_b, args.seed)
    rows += r
    bad += b
    if rep_large is not None:
        rows.append(bench_large(rep_large, args.large_chunk_years))
    summary(rows)
    if bad:
        names = ", ".join(sorted({p.index for p in bad}))
        print(
            f"\nParity: DISAGREEMENT beyond {PARITY_TOL:g} relative and {ABS_TOL:g} absolute: "
            f"{names}"
        )
    else:
        print(
            f"\nParity: every compared value agrees with PySAL's within {PARITY_TOL:g} relative or "
            f"{ABS_TOL:g} absolute (degenerate partitions reported separately)."
        )
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
