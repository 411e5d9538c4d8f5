"""``bryta demo``: the full suite on the bundled SCB RegSO panel, offline, in seconds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import user_errors

if TYPE_CHECKING:
    import polars as pl
    from rich.console import JustifyMethod
    from rich.table import Table


def _trend_table(d: pl.DataFrame, title: str) -> Table:
    from rich.table import Table

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


def _area_type_table(both: pl.DataFrame, largest: list[str]) -> Table:
    """Population in the official area types 2022, for Sweden and the largest kommuner."""
    from rich.table import Table

    from bryta.geography.areas import kommun_names

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
    import polars as pl
    from rich.console import Console
    from rich.table import Table

    from bryta.app.demo import MIN_UNITS, run_demo

    console = Console()
    with user_errors("demo"):
        data = run_demo(out_dir)
    full, sizes, trend, ranked = data.results, data.sizes, data.trend, data.most_segregated
    console.print(
        "[bold]bryta demo[/] — SCB population by RegSO, born in Sweden / abroad, 2020–2023 "
        f"({sizes.height} kommuner, {sizes['n_regso'].sum()} RegSO; Källa: SCB)\n"
    )
    console.print(_trend_table(trend, "Dissimilarity of the foreign-born over RegSO"))

    last: int = ranked.select(pl.col("year").max()).item()
    top = Table(
        title=f"\nThe ten most segregated kommuner, {last} (dissimilarity, foreign-born; "
        f"kommuner with at least {MIN_UNITS} RegSO)",
        title_justify="left",
    )
    columns: list[tuple[str, JustifyMethod]] = [
        ("#", "right"),
        ("kommun", "left"),
        ("RegSO", "right"),
        ("D", "right"),
        ("", "left"),
    ]
    for col, just in columns:
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
    console.print(_area_type_table(data.area_types, data.largest))
    n_values = full.height
    console.print(
        f"\n{n_values:,} values (18 indices, 2 groupings: birth region and tenure) for every "
        f"kommun × year and for Sweden in {data.seconds:.1f} s.\n"
        f"Full results: {out_dir / 'demo_results.parquet'} and {out_dir / 'demo_results.csv'}; "
        f"area types: {out_dir / 'area_types_2022.csv'}"
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
