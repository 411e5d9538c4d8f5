"""Multiscalar profiles: the limits (k = 1 is the aspatial index over cells, k ≥ the population
gives no segregation), regions, weights, the plot and the CLI."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bryta.cli import app
from bryta.compute.segregation.engine import measure
from bryta.compute.spatial.multiscalar import multiscalar_profile, profile_figure
from bryta.errors import BrytaError


def cells(seed: int = 4) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = 150
    x, y = rng.integers(0, 40, n) * 250.0, rng.integers(0, 40, n) * 250.0
    keep = ~pl.DataFrame({"x": x, "y": y}).is_duplicated().to_numpy()
    x, y = x[keep], y[keep]
    east = x > 5_000
    a = rng.poisson(np.where(east, 25, 4)) + 1
    b = rng.poisson(np.where(east, 3, 20)) + 1
    return pl.DataFrame(
        {"x": x, "y": y, "a": a, "b": b, "kommun": np.where(y > 5_000, "0114", "0115")}
    )


def test_k_one_is_the_aspatial_index_and_k_all_is_zero():
    grid = cells()
    total = int(grid["a"].sum() + grid["b"].sum())
    p = multiscalar_profile(
        grid,
        x="x",
        y="y",
        groups=["a", "b"],
        k=[1, total],
        indices=["dissimilarity", "theil_h"],
        focal="a",
    )
    aspatial = measure(
        grid.with_row_index("cell"),
        unit="cell",
        groups=["a", "b"],
        indices=["dissimilarity", "theil_h"],
        focal="a",
    )
    # k = 1: every context lies inside its own cell (each holds ≥ 2 people), so the shares are
    # the cell's own
    for index in ("dissimilarity", "theil_h"):
        got = p.filter(k=1, index=index)["value"][0]
        want = aspatial.filter(index=index)["value"][0]
        assert got == pytest.approx(want, rel=1e-12)
        assert p.filter(k=total, index=index)["value"][0] == pytest.approx(0.0, abs=1e-12)


def test_profile_falls_with_scale_on_a_segregated_city():
    p = multiscalar_profile(
        cells(),
        x="x",
        y="y",
        groups=["a", "b"],
        k=[5, 50, 500, 5000],
        indices="dissimilarity",
        focal="a",
    )
    values = p.sort("k")["value"].to_list()
    assert values == sorted(values, reverse=True)


def test_regions_measure_their_own_cells():
    grid = cells()
    by_kommun = multiscalar_profile(
        grid,
        x="x",
        y="y",
        groups=["a", "b"],
        k=[50],
        by="kommun",
        indices="dissimilarity",
        focal="a",
    )
    assert sorted(by_kommun["kommun"].to_list()) == ["0114", "0115"]
    with pytest.raises(BrytaError, match="'lan' not found"):
        multiscalar_profile(grid, x="x", y="y", groups=["a", "b"], k=[50], by="lan")
    with pytest.raises(BrytaError, match="weight must be"):
        multiscalar_profile(grid, x="x", y="y", groups=["a", "b"], k=[50], weight="area")


def test_context_weight_uses_the_contexts_as_units():
    grid = cells()
    p = multiscalar_profile(
        grid,
        x="x",
        y="y",
        groups=["a", "b"],
        k=[100],
        indices="dissimilarity",
        focal="a",
        weight="context",
    )
    assert 0 < p["value"][0] < 1


def test_plot_is_offline_html(tmp_path):
    p = multiscalar_profile(
        cells(),
        x="x",
        y="y",
        groups=["a", "b"],
        k=[10, 100],
        by="kommun",
        indices="dissimilarity",
        focal="a",
    )
    fig = profile_figure(p, index="dissimilarity", group="a")
    assert len(fig.data) == 2
    src = tmp_path / "grid.csv"
    cells().write_csv(src)
    out, html = tmp_path / "p.csv", tmp_path / "p.html"
    res = CliRunner().invoke(
        app,
        [
            "multiscalar",
            str(src),
            "--x",
            "x",
            "--y",
            "y",
            "--groups",
            "a,b",
            "--k",
            "10,100",
            "--by",
            "kommun",
            "--index",
            "dissimilarity",
            "--focal",
            "a",
            "-o",
            str(out),
            "--plot",
            str(html),
        ],
    )
    assert res.exit_code == 0, res.output
    assert pl.read_csv(out).columns == ["kommun", "k", "index", "group", "value"]
    page = html.read_text(encoding="utf-8")
    assert '<script src="http' not in page and "plotly" in page


def test_plot_with_another_suffix_is_refused_before_any_work(tmp_path):
    """Before: --plot plot.png wrote an HTML page into a .png file."""
    src = tmp_path / "grid.csv"
    cells().write_csv(src)
    out, png = tmp_path / "p.csv", tmp_path / "plot.png"
    res = CliRunner().invoke(
        app,
        ["multiscalar", str(src), "--x", "x", "--y", "y", "--groups", "a,b", "--k", "10",
         "-o", str(out), "--plot", str(png)],
    )  # fmt: skip
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "plot.png" in text and ".html" in text and "Traceback" not in text
    assert not png.exists() and not out.exists()
