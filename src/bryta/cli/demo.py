"""``bryta demo``: the full suite on the bundled SCB RegSO panel, offline, in seconds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from bryta.app.tables import write_table
from bryta.cli._common import user_errors
from bryta.compute.segregation.engine import measure

BIRTH = ["born_sweden", "born_abroad"]
TENURE = ["rental", "tenant_owned", "owner_occupied"]
MIN_UNITS = 5  # kommuner with fewer RegSO are left out of the ranking (small-unit bias)


def run_demo(out_dir: Path) -> dict[str, pl.DataFrame]:
    """Measure the bundled panel per kommun × year and nationally; write the results."""
    from bryta.datasets import load_demo_panel
    from bryta.geography.areas import kommun_names

    panel = load_demo_panel()
    results = []
    for grouping, groups in (("birth_region", BIRTH), ("tenure", TENURE)):
        for scope, by in (("kommun", ["kommun", "year"]), ("riket", ["year"])):
            out = measure(panel, unit="regso", groups=groups, by=by)
            if scope == "riket":
                out = out.with_columns(pl.lit("riket").alias("kommun"))
            results.append(out.with_columns(pl.lit(grouping).alias("grouping")))
    columns = ["grouping", "kommun", "year", "index", "group", "value"]
    full = pl.concat([r.select(columns) for r in results])
    known = kommun_names()
    names = pl.DataFrame({"kommun": [*known, "riket"], "kommun_name": [*known.values(), "Sweden"]})
    full = full.join(names, on="kommun", how="left").select(
        "grouping", "kommun", "kommun_name", "year", "index", "group", "value"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_table(full, out_dir / "demo_results.parquet")
    write_table(full, out_dir / "demo_results.csv")
    sizes = (
        panel.group_by("kommun")
        .agg(
            pl.len().alias("n_regso") // panel["year"].n_unique(),
            pl.col(BIRTH).filter(pl.col("year") == pl.col("year").max()).sum(),
        )
        .with_columns((pl.col("born_sweden") + pl.col("born_abroad")).alias("population"))
    )
    return {"results": full, "sizes": sizes}


def _trend_table(d: pl.DataFrame, title: str) -> Table:
    years = sorted(d["year"].unique().to_list())
    table = Table(title=title, title_justify="left")
    table.add_column("area")
    for y in years:
        table.add_column(str(y), justify="right")
    table.add_column("change", justify="right")
    wide = d.pivot(on="year", index=["kommun", "kommun_name", "order"], values="value").sort(
        "order"
    )
    for row in wide.iter_rows(named=True):
        vals = [row[str(y)] for y in years]
        change = vals[-1] - vals[0]
        colour = "red" if change > 0 else "green"
        table.add_row(
            row["kommun_name"],
            *(f"{v:.3f}" for v in vals),
            f"[{colour}]{change:+.3f}[/]",
        )
    return table


def _area_type_table(largest: list[str], out_dir: Path) -> Table:
    """Population in the official area types 2022, for Sweden and the largest kommuner."""
    from bryta.compute.conditions.transitions import population_by_type
    from bryta.datasets import load_demo_shares, official_area_types
    from bryta.geography.areas import kommun_names

    population = load_demo_shares().filter(year=2022).select("regso", "population")
    types = official_area_types().join(population, on="regso", how="left")
    per_kommun = population_by_type(types, "population", "kommun")
    national = population_by_type(types, "population", "riket").rename({"riket": "kommun"})
    both = pl.concat([national, per_kommun])
    write_table(both, out_dir / "area_types_2022.csv")
    names = {"00": "Sweden", **kommun_names()}
    table = Table(
        title="\nPeople by official area type, 2022 (SCB; type 1: great socioeconomic "
        "challenges … 5: very good conditions)",
        title_justify="left",
    )
    table.add_column("area")
    for t in range(1, 6):
        table.add_column(f"type {t}", justify="right")
    table.add_column("types 1–2", justify="right")
    for code in ["00", *largest]:
        rows = both.filter(kommun=code).sort("area_type")
        shares = dict(zip(rows["area_type"].to_list(), rows["share"].to_list(), strict=True))
        challenged = (shares.get(1) or 0) + (shares.get(2) or 0)
        table.add_row(
            names[code],
            *(f"{100 * (shares.get(t) or 0):.0f} %" for t in range(1, 6)),
            f"[red]{100 * challenged:.0f} %[/]",
        )
    return table


def demo(
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Where the full results are written.")
    ] = Path("bryta-results"),
) -> None:
    """Measure segregation in every kommun 2020–2023 from the bundled SCB data."""
    console = Console()
    started = time.perf_counter()
    with user_errors("demo"):
        data = run_demo(out_dir)
    full, sizes = data["results"], data["sizes"]
    d = full.filter(
        (pl.col("grouping") == "birth_region")
        & (pl.col("index") == "dissimilarity")
        & (pl.col("group") == "born_abroad")
    )
    largest = sizes.sort("population", descending=True).head(5)["kommun"].to_list()
    order = {k: i for i, k in enumerate(["riket", *largest])}
    trend = d.filter(pl.col("kommun").is_in(list(order))).with_columns(
        pl.col("kommun").replace_strict(order, return_dtype=pl.Int64).alias("order")
    )
    console.print(
        "[bold]bryta demo[/] — SCB population by RegSO, born in Sweden / abroad, 2020–2023 "
        f"({sizes.height} kommuner, {sizes['n_regso'].sum()} RegSO; Källa: SCB)\n"
    )
    console.print(_trend_table(trend, "Dissimilarity of the foreign-born over RegSO"))

    last = d["year"].max()
    ranked = (
        d.filter((pl.col("year") == last) & (pl.col("kommun") != "riket"))
        .join(sizes.select("kommun", "n_regso"), on="kommun")
        .filter(pl.col("n_regso") >= MIN_UNITS)
        .sort("value", descending=True)
        .head(10)
    )
    top = Table(
        title=f"\nThe ten most segregated kommuner, {last} (dissimilarity, foreign-born; "
        f"kommuner with at least {MIN_UNITS} RegSO)",
        title_justify="left",
    )
    for col, just in (
        ("#", "right"),
        ("kommun", "left"),
        ("RegSO", "right"),
        ("D", "right"),
        ("", "left"),
    ):
        top.add_column(col, justify=just)
    for rank, row in enumerate(ranked.iter_rows(named=True), 1):
        bar = "█" * round(row["value"] * 40)
        top.add_row(
            str(rank),
            row["kommun_name"],
            str(row["n_regso"]),
            f"{row['value']:.3f}",
            f"[cyan]{bar}[/]",
        )
    console.print(top)
    console.print(_area_type_table(largest, out_dir))
    n_values = full.height
    console.print(
        f"\n{n_values:,} values (18 indices, 2 groupings: birth region and tenure) for every "
        f"kommun × year and for Sweden in {time.perf_counter() - started:.1f} s.\n"
        f"Full results: {out_dir / 'demo_results.parquet'} and {out_dir / 'demo_results.csv'}; "
        f"area types: {out_dir / 'area_types_2022.csv'}"
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
