"""PySAL segregation 2.5's remaining aspatial indices, against bryta's vectorised versions.

Deterministic (``con_prof``, ``min_max``, ``multigroup_divergence``, the concentration
profile): equal to PySAL to 1e-10 relative on Malmö's RegSO (bundled counts) and on seeded
random tables, every partition in one bryta call against PySAL's loop.

Simulation-based (``bias_corrected_dissimilarity``, ``modified_dissimilarity``,
``modified_gini``): they agree in distribution. What is compared is the mean of the simulated
index under the null (D* or G*), recovered from each package's result; the tolerance is five
Monte-Carlo standard errors of the difference of the two means, the standard errors taken
from the replicates themselves. Every seed is fixed, so the tests are deterministic; with
fresh seeds a correct implementation would fail one comparison in about 1.7 million.

PySAL's ModifiedDissim and ModifiedGiniSeg reseed numpy with the same seed before every
iteration, so all their iterations draw the same table and D* is a single draw
(:func:`test_pysal_modified_indices_draw_one_table`); bryta averages independent draws. Their
D* still has the same expectation, so the comparison is of PySAL's D* over many seeds against
bryta's mean over many draws.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy.stats import binom, hypergeom, multinomial

import bryta
from bryta.compute.segregation._margins import Margins
from bryta.compute.segregation.counts import prepare_counts
from bryta.compute.segregation.variants import null_replicates
from bryta.datasets import load_demo_panel
from bryta.errors import InputError

segregation = pytest.importorskip("segregation")
from segregation.multigroup import MultiDivergence  # noqa: E402
from segregation.singlegroup import (  # noqa: E402
    BiasCorrectedDissim,
    ConProf,
    MinMax,
)
from segregation.singlegroup.conprof import _conprof  # noqa: E402
from segregation.singlegroup.modified_dissim import _modified_dissim  # noqa: E402
from segregation.singlegroup.modified_gini import _modified_gini  # noqa: E402

BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
DETERMINISTIC = ["con_prof", "min_max", "multigroup_divergence"]


@pytest.fixture(autouse=True)
def _quiet_pysal():
    """PySAL divides by zero on purpose in places (np.seterr and pandas warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


@pytest.fixture(scope="module")
def malmo() -> pl.DataFrame:
    return load_demo_panel().filter(pl.col("kommun") == "1280")


def pysal_frame(frame: pl.DataFrame, groups: list[str]) -> pd.DataFrame:
    df = frame.select(groups).to_pandas()
    df["total"] = df[groups].sum(axis=1)
    return df


def rel_close(got: float, want: float, rel: float = 1e-10) -> bool:
    return math.isclose(got, want, rel_tol=rel, abs_tol=1e-14)


def value(out: pl.DataFrame, index: str, group: str | None, **keys) -> float:
    rows = out.filter(index=index, **keys)
    rows = rows.filter(pl.col("group").is_null() if group is None else pl.col("group") == group)
    assert rows.height == 1, (index, group, keys)
    return float(rows["value"][0])


# ---- deterministic --------------------------------------------------------------------------


@pytest.mark.parametrize("groups", [BIRTH, TENURE], ids=["birth_region", "tenure"])
def test_malmo_regso_equal_pysal(malmo, groups):
    """Every year in one call; PySAL one year and focal group at a time."""
    out = bryta.measure(malmo, unit="regso", groups=groups, by="year", indices=DETERMINISTIC)
    for year in malmo["year"].unique().sort():
        df = pysal_frame(malmo.filter(year=year), groups)
        for g in groups:
            assert rel_close(
                value(out, "con_prof", g, year=year), ConProf(df, g, "total").statistic
            )
            assert rel_close(value(out, "min_max", g, year=year), MinMax(df, g, "total").statistic)
        want = MultiDivergence(df, groups).statistic
        assert rel_close(value(out, "multigroup_divergence", None, year=year), want)


def random_tables(seed: int, n_tables: int = 40) -> pl.DataFrame:
    """Tables of 2–40 units and 2–4 groups: small and large counts, empty units, and units
    with a single group (shares of exactly 0 and 1, which sit on con_prof's grid)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_tables):
        n_units, n_groups = int(rng.integers(2, 41)), int(rng.integers(2, 5))
        scale = rng.choice([5, 60, 5000])
        counts = rng.poisson(rng.gamma(0.7, scale, size=(n_units, n_groups)))
        counts[rng.random(n_units) < 0.1] = 0  # empty units
        lone = rng.random(n_units) < 0.15
        counts[lone, 1:] = 0  # units with the first group only
        cols = {f"g{g}": counts[:, g].astype(np.int64) for g in range(n_groups)}
        frames.append(pl.DataFrame({"table": k, "unit": [f"u{i}" for i in range(n_units)], **cols}))
    return pl.concat(frames, how="diagonal").fill_null(0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_tables_equal_pysal(seed):
    tables = random_tables(seed)
    groups = [c for c in tables.columns if c.startswith("g")]
    out = bryta.measure(tables, unit="unit", groups=groups, by="table", indices=DETERMINISTIC)
    compared = 0
    for k in range(tables["table"].max() + 1):
        part = tables.filter(table=k)
        present = [g for g in groups if part[g].sum() > 0]
        df = pysal_frame(part, groups)
        for g in groups:
            got = value(out, "con_prof", g, table=k)
            if math.isnan(got):  # no focal group, no one else, or one populated unit: undefined
                continue
            assert rel_close(got, ConProf(df, g, "total").statistic), (k, g)
            assert rel_close(value(out, "min_max", g, table=k), MinMax(df, g, "total").statistic)
            compared += 1
        got = value(out, "multigroup_divergence", None, table=k)
        if len(present) >= 2:
            assert rel_close(got, MultiDivergence(df, groups).statistic), k
    assert compared > 60


def test_con_prof_m_and_profile_equal_pysal(malmo):
    """PySAL's ConProf always uses m = 1000 (the class does not pass m on); its function
    takes m, and returns the grid and the curve that bryta.con_prof_profile returns."""
    frame = malmo.filter(year=2022)
    df = pysal_frame(frame, BIRTH)
    for m in (2, 7, 50, 1000):
        out = bryta.measure(frame, unit="regso", groups=BIRTH, indices="con_prof", m=m)
        profile = bryta.con_prof_profile(frame, unit="regso", groups=BIRTH, m=m)
        for g in BIRTH:
            statistic, grid, curve, _ = _conprof(df, g, "total", m=m)
            assert rel_close(value(out, "con_prof", g), statistic), (m, g)
            mine = profile.filter(group=g)
            np.testing.assert_array_equal(mine["threshold"].to_numpy(), grid)
            np.testing.assert_allclose(mine["share"].to_numpy(), curve, rtol=1e-12, atol=1e-15)


def test_con_prof_profile_every_partition_at_once(malmo):
    both = bryta.con_prof_profile(malmo, unit="regso", groups=BIRTH, by="year", m=20)
    assert both.columns == ["year", "group", "threshold", "share"]
    assert both.height == 4 * 2 * 20
    alone = bryta.con_prof_profile(malmo.filter(year=2021), unit="regso", groups=BIRTH, m=20)
    np.testing.assert_array_equal(both.filter(year=2021)["share"].to_numpy(), alone["share"])


def test_parameters_are_checked():
    counts = pl.DataFrame({"unit": ["u1", "u2"], "a": [1, 2], "b": [2, 1]})
    for kwargs, message in (
        ({"m": 1}, "m must be a whole number of at least 2"),
        ({"B": 1}, "B must be"),
        ({"iterations": 2.5}, "iterations must be"),
    ):
        with pytest.raises(InputError, match=message):
            bryta.measure(counts, unit="unit", groups=["a", "b"], **kwargs)
    with pytest.raises(InputError, match="m"):
        bryta.con_prof_profile(counts, unit="unit", groups=["a", "b"], m=0)


# ---- bryta's inference on the new deterministic indices ------------------------------------


def test_expected_min_max_equals_its_exact_expectation():
    """Two units of 10 people, 10 of group a: with both margins fixed, a's count in u1 is
    hypergeometric(20, 10, 10), and min_max = 2D/(1 + D) with D = |2k − 10| / 10. bryta's
    mean over 4,000 random allocations lies within 5 standard errors of the exact mean."""
    counts = pl.DataFrame({"unit": ["u1", "u2"], "a": [5, 5], "b": [5, 5]})
    k = np.arange(11)
    d = np.abs(2 * k - 10) / 10
    mm = 2 * d / (1 + d)
    exact = float((hypergeom.pmf(k, 20, 10, 10) * mm).sum())
    out = bryta.expected(
        counts,
        unit="unit",
        groups=["a", "b"],
        indices="min_max",
        focal="a",
        n_bootstrap=4000,
        seed=5,
    )
    row = out.row(0, named=True)
    assert row["value"] == 0
    assert abs(row["expected"] - exact) < 5 * row["expected_se"] / math.sqrt(4000)
    assert row["adjusted"] == pytest.approx((0 - row["expected"]) / (1 - row["expected"]))


def test_bootstrap_con_prof_and_refuses_simulated_indices(malmo):
    frame = malmo.filter(year=2023)
    out = bryta.bootstrap(
        frame,
        unit="regso",
        groups=BIRTH,
        indices=["con_prof", "min_max"],
        focal="born_abroad",
        n_bootstrap=50,
        seed=1,
    )
    assert (out["se"] > 0).all() and (out["ci_low"] < out["value"]).all()
    with pytest.raises(InputError, match="modified_gini is simulation-based"):
        bryta.bootstrap(frame, unit="regso", groups=BIRTH, indices="modified_gini", seed=1)
    with pytest.raises(InputError, match="simulation-based"):
        bryta.expected(frame, unit="regso", groups=BIRTH, indices="modified_dissimilarity")


# ---- simulation-based ------------------------------------------------------------------------


SIMULATED = ["bias_corrected_dissimilarity", "modified_dissimilarity", "modified_gini"]


def test_simulated_indices_only_when_named_and_reproducible(malmo):
    default = bryta.measure(malmo, unit="regso", groups=BIRTH, by="year")
    assert not set(SIMULATED) & set(default["index"])

    def run(seed, **kw):
        return bryta.measure(
            malmo,
            unit="regso",
            groups=BIRTH,
            by="year",
            indices=SIMULATED,
            seed=seed,
            B=40,
            iterations=40,
            **kw,
        )["value"].to_numpy()

    first = run(7)
    np.testing.assert_array_equal(first, run(7))  # bit for bit
    assert not np.array_equal(first, run(8))


def test_simulated_indices_need_whole_counts():
    counts = pl.DataFrame({"unit": ["u1", "u2"], "a": [1.5, 2.0], "b": [2.0, 1.0]})
    with pytest.raises(bryta.CountsError, match="simulates people: counts must be whole"):
        bryta.measure(
            counts, unit="unit", groups=["a", "b"], indices="modified_gini", fractional=True
        )


def example() -> pl.DataFrame:
    return pl.DataFrame({"unit": ["u1", "u2", "u3"], "a": [30, 10, 20], "b": [10, 30, 20]})


def _margins(frame: pl.DataFrame, groups: list[str]) -> Margins:
    prepared = prepare_counts(frame, unit=frame.columns[0], groups=groups)
    return Margins(prepared.values, prepared.part)


def test_modified_indices_against_exact_enumeration():
    """The worked example: under the null each unit of 40 holds binomial(40, ½) members of a.
    E[D*] and E[G*] by enumerating the 41³ tables; bryta's mean over 20,000 draws within 5
    standard errors (taken from the draws)."""
    k = np.arange(41)
    x = np.stack(np.meshgrid(k, k, k, indexing="ij"), axis=-1).reshape(-1, 3).astype(float)
    w = np.prod(binom.pmf(x, 40, 0.5), axis=1)
    share = x.sum(axis=1) / 120
    with np.errstate(all="ignore"):
        d = np.abs(x - 40 * share[:, None]).sum(axis=1) / (2 * 120 * share * (1 - share))
        p = x / 40
        gap = np.abs(p[:, :, None] - p[:, None, :]).sum(axis=(1, 2))
        g = 1600 * gap / (2 * 120**2 * share * (1 - share))
    ok = np.isfinite(d)  # all a or no a at all: D undefined (probability 2⁻¹¹⁹)
    exact = {
        "modified_dissimilarity": (1 / 3, (d[ok] * w[ok]).sum() / w[ok].sum()),
        "modified_gini": (4 / 9, (g[ok] * w[ok]).sum() / w[ok].sum()),
    }
    m = _margins(example(), ["a", "b"])
    for name, (observed, null) in exact.items():
        draws = null_replicates(m, name, 20_000, seed=11)[:, 0, 0]
        se = draws.std(ddof=1) / math.sqrt(draws.size)
        assert abs(draws.mean() - null) < 5 * se, name
        got = value(
            bryta.measure(
                example(),
                unit="unit",
                groups=["a", "b"],
                indices=name,
                focal="a",
                seed=11,
                iterations=20_000,
            ),
            name,
            "a",
        )
        assert got == pytest.approx((observed - draws.mean()) / (1 - draws.mean()), rel=1e-12)


def test_bias_corrected_against_exact_enumeration():
    """The worked example: a's 60 people redrawn multinomial(60, (½, ⅙, ⅓)), b's
    multinomial(60, (⅙, ½, ⅓)); E[D*] over the 1,891² pairs of tables."""
    comps = np.array([(i, j, 60 - i - j) for i in range(61) for j in range(61 - i)])
    pa = multinomial.pmf(comps, 60, [1 / 2, 1 / 6, 1 / 3])
    pb = multinomial.pmf(comps, 60, [1 / 6, 1 / 2, 1 / 3])
    d = 0.5 * np.abs(comps[:, None, :] / 60 - comps[None, :, :] / 60).sum(axis=-1)
    null = float(pa @ d @ pb)
    m = _margins(example(), ["a", "b"])
    draws = null_replicates(m, "bias_corrected_dissimilarity", 20_000, seed=3)
    assert draws.shape == (20_000, 1, 2)
    # Focal b is the mirror image of focal a: the same expectation.
    for g in (0, 1):
        se = draws[:, 0, g].std(ddof=1) / math.sqrt(20_000)
        assert abs(draws[:, 0, g].mean() - null) < 5 * se


def _pysal_null(frame: pl.DataFrame, group: str, seed: int, which: str) -> float:
    """PySAL's D* (or G*) for one seed, recovered from its modified index."""
    df = pysal_frame(frame, BIRTH)
    if which == "modified_dissimilarity":
        observed = bryta.measure(
            frame, unit=frame.columns[0], groups=BIRTH, indices="dissimilarity", focal=group
        )["value"][0]
        stat = _modified_dissim(df, group, "total", iterations=2, n_jobs=1, seed=seed)[0]
    else:
        observed = bryta.measure(
            frame, unit=frame.columns[0], groups=BIRTH, indices="gini", focal=group
        )["value"][0]
        stat = _modified_gini(df, group, "total", iterations=1, n_jobs=1, seed=seed)[0]
    # Invert D_ct = (D − D*)/(1 − D*) (D ≥ D*) or (D − D*)/D* (D < D*).
    return (observed - stat) / (1 - stat) if stat >= 0 else observed / (1 + stat)


def small_units() -> pl.DataFrame:
    """Twelve small units: random allocation alone gives a large D (about 0.2)."""
    rng = np.random.default_rng(4)
    t = rng.integers(5, 25, size=12)
    born_abroad = rng.binomial(t, 0.3)
    return pl.DataFrame(
        {
            "unit": [f"u{i}" for i in range(12)],
            "born_sweden": t - born_abroad,
            "born_abroad": born_abroad,
        }
    )


@pytest.mark.parametrize("which", ["modified_dissimilarity", "modified_gini"])
def test_modified_indices_agree_with_pysal_in_distribution(which):
    frame = small_units()
    m = _margins(frame, BIRTH)
    ours = null_replicates(m, which, 4000, seed=2)[:, 0, 1]  # focal born_abroad
    theirs = np.array([_pysal_null(frame, "born_abroad", s, which) for s in range(1, 101)])
    se = math.sqrt(ours.var(ddof=1) / ours.size + theirs.var(ddof=1) / theirs.size)
    assert abs(ours.mean() - theirs.mean()) < 5 * se
    # The spread of one draw is the same too (PySAL's D* is one draw): within 30 %, about four
    # standard errors of a standard deviation estimated from 100 draws.
    assert theirs.std() == pytest.approx(ours.std(), rel=0.3)


def test_pysal_modified_indices_draw_one_table():
    """Why PySAL's D* is compared over seeds: its iterations all reseed with one seed."""
    df = pysal_frame(small_units(), BIRTH)
    two = _modified_dissim(df, "born_abroad", "total", iterations=2, n_jobs=1, seed=9)[0]
    many = _modified_dissim(df, "born_abroad", "total", iterations=60, n_jobs=1, seed=9)[0]
    assert two == pytest.approx(many, rel=1e-12)


@pytest.mark.parametrize("frame", ["small_units", "malmo_2023"])
def test_bias_corrected_agrees_with_pysal_in_distribution(frame, malmo):
    table = small_units() if frame == "small_units" else malmo.filter(year=2023).drop("lan")
    unit = table.columns[0] if frame == "small_units" else "regso"
    m = _margins(table.select(unit, *BIRTH), BIRTH)
    B = 500
    ours = null_replicates(m, "bias_corrected_dissimilarity", B, seed=4)[:, 0, 1]
    d = bryta.measure(table, unit=unit, groups=BIRTH, indices="dissimilarity", focal="born_abroad")[
        "value"
    ][0]
    np.random.seed(12)  # PySAL draws from numpy's global generator
    theirs = (
        2 * d
        - BiasCorrectedDissim(pysal_frame(table, BIRTH), "born_abroad", "total", B=B).statistic
    )
    # Both means are over B draws of the same distribution: SE of the difference √2 · sd / √B.
    assert abs(ours.mean() - theirs) < 5 * math.sqrt(2) * ours.std(ddof=1) / math.sqrt(B)
    got = bryta.measure(
        table,
        unit=unit,
        groups=BIRTH,
        indices="bias_corrected_dissimilarity",
        focal="born_abroad",
        seed=4,
        B=B,
    )["value"][0]
    assert got == pytest.approx(2 * d - ours.mean(), rel=1e-12)


def test_command_line_parameters_and_seed(tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app

    path = tmp_path / "counts.csv"
    small_units().write_csv(path)
    base = ["measure", str(path), "--unit", "unit", "--groups", ",".join(BIRTH)]
    outputs = []
    for k in range(2):
        out = tmp_path / f"out{k}.csv"
        args = [*base, "--index", "modified_gini", "--index", "con_prof", "--m", "5"]
        res = CliRunner().invoke(app, [*args, "--iterations", "50", "--seed", "3", "-o", str(out)])
        assert res.exit_code == 0, res.output
        outputs.append(pl.read_csv(out))
    assert outputs[0].equals(outputs[1])
    want = bryta.measure(
        small_units(),
        unit="unit",
        groups=BIRTH,
        indices=["con_prof", "modified_gini"],
        m=5,
        iterations=50,
        seed=3,
    )
    np.testing.assert_array_equal(outputs[0]["value"].to_numpy(), want["value"].to_numpy())
    res = CliRunner().invoke(
        app,
        [
            *base,
            "--index",
            "min_max",
            "--bootstrap",
            "5",
            "--index",
            "bias_corrected_dissimilarity",
            "-o",
            str(tmp_path / "x.csv"),
        ],
    )
    assert res.exit_code == 2 and "simulation-based" in res.output


def test_gini_of_padded_partitions_equals_the_engine():
    """The simulated Gini sorts each partition along a padded rectangle; the engine's Gini
    of the same tables (stacked as partitions) is the reference."""
    from bryta.compute.segregation.variants import _gini, _gini_padded, _padded_layout

    rng = np.random.default_rng(8)
    sizes = rng.integers(1, 30, size=25)
    part = np.repeat(np.arange(25), sizes)
    t = rng.integers(0, 40, size=part.size)
    m = Margins(np.stack([t // 2, t - t // 2], axis=1).astype(np.float64), part)
    x = rng.binomial(t[None, :], 0.3, size=(6, part.size))
    layout = _padded_layout(m)
    assert layout is not None
    got = _gini_padded(x, t.astype(np.float64), m.T, layout)
    stacked_part = (np.arange(6)[:, None] * 25 + part[None, :]).ravel()
    stacked = Margins(np.stack([x.ravel(), np.tile(t, 6) - x.ravel()], axis=1), stacked_part)
    want = _gini(stacked)[:, 0].reshape(6, 25)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
