"""``bryta import scb`` (SCB's API), ``scb-csv`` (files downloaded from Statistikdatabasen) and
``kolada`` (key figures from Kolada): into the warehouse and/or a file, with provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import make_context, say, split_list, user_errors
from bryta.cli.options import CacheDir, DataDir, Name, Output, Replace

__all__ = ["Name", "Output", "Replace", "register"]


def scb_csv(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A CSV file exported from Statistikdatabasen.")],
    level: Annotated[
        str, typer.Option(help="Level of the region labels: regso, deso or kommun.")
    ] = "regso",
    name: Name = None,
    output: Output = None,
    replace: Replace = False,
    data_dir: DataDir = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="The dimension whose categories become count columns (needed when several vary).",
        ),
    ] = None,
    long: Annotated[
        bool,
        typer.Option(
            "--long",
            help="Write the export as published instead: one row per region, category and "
            "year, totals included.",
        ),
    ] = False,
) -> None:
    """Import a Statistikdatabasen CSV export as counts ready for bryta measure.

    Labels are resolved to codes (kommun and lan added), rows for the whole country and
    total categories (totalt) are dropped, and each category of the dimension becomes a count
    column: födelseregion gives born_sweden and born_abroad (totalt - Sverige). --long keeps
    the export's long shape instead.

    Example: bryta import scb-csv befolkning.csv -o counts.csv, then bryta measure
    counts.csv --unit regso --groups born_sweden,born_abroad --by kommun,year -o out.csv
    """
    from bryta.app.imports import Destination, import_scb_csv

    with user_errors(str(file)):
        report = import_scb_csv(
            make_context(ctx, data_dir=data_dir),
            file,
            Destination(name, output, replace),
            level=level,
            columns=columns,
            long=long,
        )
    say(report.lines())


def kolada(
    ctx: typer.Context,
    kpi: Annotated[list[str], typer.Argument(help="Kolada KPI ids, e.g. N00945.")],
    kommun: Annotated[
        str | None, typer.Option(help="Kommun (or region) codes, comma-separated (e.g. 0180).")
    ] = None,
    year: Annotated[str | None, typer.Option("--year", help="Years, comma-separated.")] = None,
    name: Name = None,
    output: Output = None,
    replace: Replace = False,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> None:
    """Fetch key figures from Kolada (v3) per kommun and year. Needs the network.

    Example: bryta import kolada N00945 --kommun 0180,1480 --year 2022,2023 --name k
    """
    from bryta.app.imports import Destination, import_kolada

    year_list = []
    for item in split_list(year) or []:
        if not item.isdigit():
            raise typer.BadParameter(f"--year takes years such as 2023, not {item!r}")
        year_list.append(int(item))
    with user_errors("kolada"):
        report = import_kolada(
            make_context(ctx, data_dir=data_dir, cache_dir=cache_dir),
            list(kpi),
            Destination(name, output, replace),
            municipalities=split_list(kommun),
            years=year_list or None,
        )
    say(report.lines())


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise typer.BadParameter(f"{what} must look like VARIABLE=VALUES, not {item!r}")
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def scb(
    ctx: typer.Context,
    table_id: Annotated[str, typer.Argument(help="SCB table id, e.g. TAB6574.")],
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="VARIABLE=CODES (comma-separated, or *, TOP(n)); repeatable. "
            "Variables left out are eliminated where SCB allows it."
        ),
    ] = None,
    codelist: Annotated[
        list[str] | None, typer.Option(help="VARIABLE=CODELIST, e.g. Region=vs_RegSO2025.")
    ] = None,
    lang: Annotated[str, typer.Option(help="sv or en.")] = "sv",
    name: Name = None,
    output: Output = None,
    replace: Replace = False,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> None:
    """Fetch an SCB table through PxWebApi 2.0 (split under SCB's limits). Needs the network.

    Example: bryta import scb TAB6574 --select Region=0114,0180 --select Tid=TOP(4)
    --name population
    """
    from bryta.app.imports import Destination, import_scb

    selection = {
        k: v if v in ("*",) or "(" in v else v.split(",")
        for k, v in _pairs(select, "--select").items()
    } or None
    codelists = _pairs(codelist, "--codelist") or None
    with user_errors(table_id):
        report = import_scb(
            make_context(ctx, data_dir=data_dir, cache_dir=cache_dir),
            table_id,
            Destination(name, output, replace),
            selection=selection,
            codelists=codelists,
            lang=lang,
        )
    say(report.lines())


def register(import_app: typer.Typer) -> None:
    import_app.command("scb")(scb)
    import_app.command("scb-csv")(scb_csv)
    import_app.command("kolada")(kolada)
