"""PySAL segregation 2.5's remaining aspatial indices, against bryta's vectorised versions.

Deterministic (``con_prof``, ``min_max``, ``multigroup_divergence``,
``density_corrected_dissimilarity``, the concentration profile): equal to PySAL to 1e-10
relative on Malmö's RegSO (bundled counts) and on seeded random tables, every partition in one
bryta call against PySAL's loop. For the density-corrected dissimilarity the tables are also
built to put the units' θ where PySAL's optimiser behaves differently: 0, just below and just
above 1, around 38.6 (where the density underflows) and far beyond.

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
from bryta.compute.segregation.indices import Params
from bryta.compute.segregation.variants import (
    _exact_modes,
    _nelder_mead_modes,
    density_corrected_dissimilarity,
    null_replicates,
)
from bryta.datasets import load_demo_panel
from bryta.errors import InputError

segregation = pytest.importorskip("segregation")
from segregation.multigroup import MultiDivergence  # noqa: E402
from segregation.singlegroup import (  # noqa: E402
    BiasCorrectedDissim,
    ConProf,
    DensityCorrectedDissim,
    MinMax,
)
from segregation.singlegroup.conprof import _conprof  # noqa: E402
from segregation.singlegroup.density_corrected_dissim import (  # noqa: E402
    _return_optimal_theta,
)
from segregation.singlegroup.modified_dissim import _modified_dissim  # noqa: E402
from segregation.singlegroup.modified_gini import _modified_gini  # noqa: E402

BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
DETERMINISTIC = ["con_prof", "min_max", "multigroup_divergence"]
DCD = "density_corrected_dissimilarity"


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


# ---- density-corrected dissimilarity ---------------------------------------------------------


def pysal_dcd(frame: pl.DataFrame, groups: list[str], focal: str) -> float:
    return DensityCorrectedDissim(pysal_frame(frame, groups), focal, "total").statistic


@pytest.mark.parametrize("groups", [BIRTH, TENURE], ids=["birth_region", "tenure"])
def test_density_corrected_malmo_equal_pysal(malmo, groups):
    """2020 and 2023 in one call, every group focal (with two groups bryta solves one and
    mirrors it, with three it solves each)."""
    frame = malmo.filter(pl.col("year").is_in([2020, 2023]))
    out = bryta.measure(frame, unit="regso", groups=groups, by="year", indices=DCD)
    for year in (2020, 2023):
        for g in groups:
            want = pysal_dcd(frame.filter(year=year), groups, g)
            assert rel_close(value(out, DCD, g, year=year), want), (year, g)


def thetas(frame: pl.DataFrame, groups: list[str], focal: str) -> np.ndarray:
    """θᵢ = |yᵢ/Y − xᵢ/X| / σᵢ from Allen et al.'s formulas (units with σᵢ = 0 left out)."""
    x = frame[focal].to_numpy().astype(float)
    y = frame.select(groups).sum_horizontal().to_numpy() - x
    p0, p1 = x / x.sum(), y / y.sum()
    sigma = np.sqrt(p1 * (1 - p1) / y.sum() + p0 * (1 - p0) / x.sum())
    return (np.abs(p1 - p0) / np.where(sigma > 0, sigma, 1))[sigma > 0]


def theta_tables() -> pl.DataFrame:
    """Tables (groups a, b) whose units' θ lie where PySAL's optimiser behaves differently.

    Two filler units make X = Y in each, so a unit with a = b has θ = 0 exactly.
    ``near_one``: units (k(k−1)/2, k(k+1)/2) have (b − a)² = a + b, so θ is 1 plus a little
    (the shares' squares); with one more person in each group, (b − a)² falls just short of
    a + b and θ just below 1.
    ``underflow``: a = 10,000, b = a + d, θ ≈ d/√(a + b) from 34 to 43: across 37.6 and 38.6,
    where φ(θ) becomes subnormal and then 0 and Nelder–Mead sees a flat function.
    ``large``: θ in the hundreds. ``small``: a few people per unit, θ mostly below 1."""
    rng = np.random.default_rng(17)
    k = np.arange(2, 41)
    tri_a, tri_b = k * (k - 1) // 2, k * (k + 1) // 2
    d = np.arange(5500, 7050, 50)
    small = rng.integers(0, 6, size=(40, 2))
    tables = {
        "near_one": (
            np.r_[tri_a, tri_a + 1, 50],
            np.r_[tri_b, tri_b + 1, 50],
            10**6,
        ),
        "underflow": (np.full(d.size, 10_000), 10_000 + d, 10**6),
        "large": (
            np.array([200_000, 100_000, 50_000, 300_000]),
            np.array([100_000, 200_000, 150_000, 300_000]),
            10**6,
        ),
        "small": (small[:, 0], small[:, 1], int(small.sum()) + 20),
    }
    frames = []
    for name, (a, b, S) in tables.items():
        a = np.r_[a, S - a.sum(), S]
        b = np.r_[b, S, S - b.sum()]
        frames.append(
            pl.DataFrame({"table": name, "unit": [f"u{i}" for i in range(a.size)], "a": a, "b": b})
        )
    return pl.concat(frames)


def test_density_corrected_theta_tables_equal_pysal():
    tables = theta_tables()
    groups = ["a", "b"]
    out = bryta.measure(tables, unit="unit", groups=groups, by="table", indices=DCD)
    every = []
    for name in tables["table"].unique():
        part = tables.filter(table=name)
        every.append(thetas(part, groups, "a"))
        for g in groups:
            assert rel_close(value(out, DCD, g, table=name), pysal_dcd(part, groups, g)), (name, g)
    theta = np.concatenate(every)
    # The tables reach every region of θ they are built for.
    assert (theta == 0).any() and ((theta > 0) & (theta < 0.5)).any()
    assert ((theta > 0.99) & (theta < 1)).any() and ((theta > 1) & (theta < 1.0001)).any()
    assert ((theta > 37.6) & (theta < 38.6)).any() and ((theta > 38.6) & (theta < 40)).any()
    assert (theta > 200).any()


@pytest.mark.parametrize("seed", [4, 5])
def test_density_corrected_random_tables_equal_pysal(seed):
    """2–4 groups, small and large counts, empty units and units of one group."""
    tables = random_tables(seed, n_tables=15)
    groups = [c for c in tables.columns if c.startswith("g")]
    out = bryta.measure(tables, unit="unit", groups=groups, by="table", indices=DCD)
    compared = 0
    for k in range(tables["table"].max() + 1):
        part = tables.filter(table=k)
        for g in groups:
            got = value(out, DCD, g, table=k)
            if math.isnan(got):  # no focal group, no one else, or one populated unit
                continue
            assert rel_close(got, pysal_dcd(part, groups, g)), (k, g)
            compared += 1
    assert compared > 25


def test_nelder_mead_modes_equal_scipy_run():
    """The kernel's point for each θ is PySAL's second vertex of scipy's final simplex."""
    theta = np.r_[
        0.0, 1e-9, 0.5, 1.0, np.nextafter(1.0, 2.0), 1 + 1e-6, 1.001, 1.5, 4.140393356054125,
        37.7, 38.5, 38.7, 50.0, 1e4, np.random.default_rng(3).uniform(0, 45, 60),
    ]  # fmt: skip
    got = _nelder_mead_modes(theta)
    for t, g in zip(theta, got, strict=True):
        assert rel_close(g, _return_optimal_theta(t)), t


def test_exact_mode_solves_the_fixed_point_and_beats_nelder_mead():
    """The exact mode: 0 for θ ≤ 1, else v = θ tanh(θ v) to rounding; the folded-normal
    density there is at least the density at PySAL's point (scipy's norm.pdf)."""
    from scipy.stats import norm

    theta = np.r_[
        0.0, 0.3, 1.0, np.nextafter(1.0, 2.0), 1 + 1e-9, 1 + 1e-6, 1.001, 1.01, 1.5, 2.0,
        4.140393356054125, 10.0, 38.0, 38.7, 50.0, 500.0, np.linspace(0, 60, 601),
    ]  # fmt: skip
    exact = _exact_modes(theta)
    nelder_mead = _nelder_mead_modes(theta)
    assert (exact[theta <= 1] == 0).all() and (exact[theta > 1] > 0).all()
    residual = np.abs(exact - theta * np.tanh(theta * exact))
    assert (residual <= 4 * np.spacing(np.maximum(theta, 1.0))).all()
    assert (exact <= theta).all()

    def density(v):
        return norm.pdf(v - theta) + norm.pdf(v + theta)

    # At θ = 1 the density is flat to fourth order at 0: equal up to rounding there.
    assert (density(exact) >= density(nelder_mead) * (1 - 4e-16)).all()
    strict = (theta > 1.1) & (theta < 37)
    assert (density(exact)[strict] > density(nelder_mead)[strict]).all()


def test_density_corrected_exact_on_the_worked_example_and_malmo(malmo):
    """The exact optimizer gives D where every θ is large or 0 (the worked example: 1/3),
    never more than D, and with σ = 0 the limit |p1 − p0| (complete segregation: 1)."""
    m = _margins(example(), ["a", "b"])
    exact = density_corrected_dissimilarity(m, Params(), optimizer="exact")
    assert exact[0, 0] == pytest.approx(1 / 3, rel=1e-13)
    split = pl.DataFrame({"unit": ["u1", "u2"], "a": [5, 0], "b": [0, 7]})
    m = _margins(split, ["a", "b"])
    assert density_corrected_dissimilarity(m, Params(), optimizer="exact")[0, 0] == 1
    frame = malmo.filter(year=2023).select("regso", *BIRTH)
    m = _margins(frame, BIRTH)
    exact = density_corrected_dissimilarity(m, Params(), optimizer="exact")[0, 1]
    d = value(
        bryta.measure(frame, unit="regso", groups=BIRTH, indices="dissimilarity"),
        "dissimilarity",
        "born_abroad",
    )
    assert exact <= d


def test_density_corrected_degenerate_units_and_partitions():
    """An empty unit adds nothing (PySAL: θ = 0/0, σ θ* = 0); units with σ = 0 add nothing
    (complete segregation over two units: D = 1, but PySAL gives 0, and so does bryta);
    the engine's degenerate partitions are NaN."""
    frame = pl.DataFrame(
        {
            "part": ["empty"] * 4 + ["split"] * 2 + ["absent"] * 2 + ["alone"] * 2,
            "unit": ["u1", "u2", "u3", "u4", "u1", "u2", "u1", "u2", "u1", "u2"],
            "a": [30, 0, 10, 20, 5, 0, 0, 0, 4, 0],
            "b": [10, 0, 30, 20, 0, 7, 5, 6, 6, 0],
        }
    )
    out = bryta.measure(frame, unit="unit", groups=["a", "b"], by="part", indices=DCD, reasons=True)
    with_empty = value(out, DCD, "a", part="empty")
    assert with_empty == value(
        bryta.measure(example(), unit="unit", groups=["a", "b"], indices=DCD), DCD, "a"
    )
    assert rel_close(with_empty, pysal_dcd(frame.filter(part="empty"), ["a", "b"], "a"))
    assert value(out, DCD, "a", part="split") == 0
    assert pysal_dcd(frame.filter(part="split"), ["a", "b"], "a") == 0
    reasons = {r["part"]: r["reason"] for r in out.filter(group="a").iter_rows(named=True)}
    assert reasons["absent"] == "focal group absent"
    assert reasons["alone"] == "fewer than two populated units"
    assert math.isnan(value(out, DCD, "a", part="absent"))


def test_density_corrected_bootstrap_expected_and_command_line(malmo, tmp_path):
    from typer.testing import CliRunner

    from bryta.cli import app

    frame = malmo.filter(year=2023).select("regso", *BIRTH)
    measured = value(
        bryta.measure(frame, unit="regso", groups=BIRTH, indices=DCD), DCD, "born_abroad"
    )
    boot = bryta.bootstrap(
        frame, unit="regso", groups=BIRTH, indices=DCD, focal="born_abroad", n_bootstrap=40, seed=2
    ).row(0, named=True)
    assert boot["value"] == measured
    assert boot["se"] > 0 and boot["ci_low"] < boot["ci_high"]
    # Under random allocation each replicate's θ* ≤ θ (up to Nelder–Mead's 10⁻⁵), so the
    # expected Ddc is below the expected D of the same replicates.
    exp = bryta.expected(
        frame,
        unit="regso",
        groups=BIRTH,
        indices=[DCD, "dissimilarity"],
        focal="born_abroad",
        n_bootstrap=40,
        seed=3,
    )
    dcd = exp.filter(index=DCD).row(0, named=True)
    d = exp.filter(index="dissimilarity").row(0, named=True)
    assert 0 <= dcd["expected"] < d["expected"] < measured
    assert dcd["adjusted"] == pytest.approx((measured - dcd["expected"]) / (1 - dcd["expected"]))
    path = tmp_path / "malmo.csv"
    frame.write_csv(path)
    res = CliRunner().invoke(
        app,
        ["measure", str(path), "--unit", "regso", "--groups", ",".join(BIRTH), "--index", DCD,
         "-o", str(tmp_path / "out.csv")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    cli = pl.read_csv(tmp_path / "out.csv")
    assert cli.filter(group="born_abroad")["value"][0] == measured


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


def test_density_corrected_exact_through_measure_equals_scipy_roots(malmo):
    """``density_optimizer="exact"`` in measure and on the command line: Ddc from each unit's
    true mode, found here with scipy's brentq on v = θ tanh(θ v) (0 for θ ≤ 1)."""
    from scipy.optimize import brentq

    frame = malmo.filter(year=2023).select("regso", *BIRTH)
    x = frame["born_abroad"].to_numpy().astype(float)
    y = frame["born_sweden"].to_numpy().astype(float)
    p0, p1 = x / x.sum(), y / y.sum()
    sigma = np.sqrt(p1 * (1 - p1) / y.sum() + p0 * (1 - p0) / x.sum())
    theta = np.abs(p1 - p0) / sigma
    modes = [
        0.0 if t <= 1 else brentq(lambda v, t=t: v - t * np.tanh(t * v), 1e-12, t, xtol=1e-15)
        for t in theta
    ]
    want = float(np.sum(sigma * np.array(modes)) / 2)
    out = bryta.measure(
        frame,
        unit="regso",
        groups=BIRTH,
        focal="born_abroad",
        indices="density_corrected_dissimilarity",
        density_optimizer="exact",
    )
    assert out["value"][0] == pytest.approx(want, rel=1e-10)
    pysal = DensityCorrectedDissim(pd.DataFrame({"x": x, "t": x + y}), "x", "t").statistic
    assert pysal < want - 0.04  # PySAL's underflow: units with θ > 38.6 add almost nothing
    with pytest.raises(InputError, match="density_optimizer"):
        bryta.measure(frame, unit="regso", groups=BIRTH, density_optimizer="newton")
