"""``bryta profile``: everything bryta knows about one area, as tables or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.app.context import Context, Settings
from bryta.cli._common import err_console, user_errors
from bryta.errors import InputError

if TYPE_CHECKING:
    import polars as pl
    from rich.table import Table

    from bryta.app.profiles import AreaProfile


def profile(
    code: Annotated[str, typer.Argument(help="RegSO (0114R001), kommun (0114), län (01) or 00.")],
    year: Annotated[
        int | None,
        typer.Option(help="This year only (default: all years; tables show the latest)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the whole profile as JSON to a .json file."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Warehouse folder: add the indicators loaded with 'bryta indicators load'.",
        ),
    ] = None,
) -> None:
    """Indicators with ranks among comparable areas, area types and segregation of one area.

    Example: bryta profile 1280 --year 2022
    """
    from bryta.app.profiles import area_profile
    from bryta.app.tables import write_text

    with user_errors(code):
        context = Context(Settings(data_dir=data_dir)) if data_dir is not None else None
        if output is not None and output.suffix.lower() != ".json":
            raise InputError(f"-o {output}: a profile is written as .json")
        result = area_profile(code, context=context, year=year)
        if output is not None:
            text = json.dumps(result.to_dict(), ensure_ascii=False, indent=1)
            write_text(text + "\n", output)
            err_console.print(f"wrote the profile of {code} to {output}", highlight=False)
        else:
            _show(result, year)


def _show(p: AreaProfile, year: int | None) -> None:
    import polars as pl
    from rich.console import Console

    console = Console()
    parents = ", ".join(f"{name} ({code})" for _, code, name in p.parents)
    console.print(f"[bold]{p.name}[/] ({p.code}, {p.level}){' — ' + parents if parents else ''}")
    latest: int | None = year or p.indicators.select(pl.col("year").max()).item()
    console.print(
        _table(p.indicators.filter(year=latest).drop("name", "year"), f"Indicators {latest}")
    )
    console.print(_table(p.area_types, "Area types"))
    console.print(_table(p.segregation.filter(year=latest).drop("year"), f"Segregation {latest}"))
    for note in p.notes:
        console.print(f"[dim]{note}[/]")


def _table(frame: pl.DataFrame, title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        numeric = frame.schema[column].is_numeric()
        table.add_column(column, justify="right" if numeric else "left")
    for row in frame.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def register(app: typer.Typer) -> None:
    app.command()(profile)
