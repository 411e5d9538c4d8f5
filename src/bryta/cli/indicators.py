"""``bryta indicators``: list and show the indicator catalogue, load an indicator per area.

The catalogue is ``bryta/data/indicators.toml`` (see ``docs/indicators.md``). ``load`` fetches
the indicator's SCB table (needs the network) or reads a downloaded JSON-stat file
(``--from-file``), and stores the values as dataset ``indicator_<id>`` in the warehouse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bryta.cli._common import err_console, split_list, user_errors
from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.indicators import Indicator
    from bryta.ingest.pxweb import PxWebClient

# The catalogue's domains, bryta.indicators.DOMAINS (named in the help of --domain; copied so
# that the help is shown without importing the catalogue and httpx; a test compares them).
DOMAINS = (
    "work",
    "housing",
    "education",
    "democracy",
    "health",
    "safety",
    "income",
    "population",
)

indicators_app = typer.Typer(
    name="indicators",
    help="The indicator catalogue: list, show, and load indicators per area and year.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``bryta indicators ...`` to ``app``."""
    app.add_typer(indicators_app, name="indicators")


def make_client(cache_dir: Path | None) -> PxWebClient:
    """The SCB client ``load`` uses (a seam for tests, which pass a mock transport)."""
    from bryta.ingest.pxweb import PxWebClient

    return PxWebClient(cache_dir=cache_dir)


@indicators_app.command("list")
def list_indicators(
    domain: Annotated[
        str | None, typer.Option(help=f"Only this domain: {', '.join(DOMAINS)}.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the entries to a .json file.")
    ] = None,
) -> None:
    """List the indicators: id, domain, unit, source table, levels and verification status.

    Example: bryta indicators list --domain work
    """
    from rich.console import Console
    from rich.table import Table

    from bryta.app.tables import write_text
    from bryta.indicators import catalogue

    with user_errors():
        if domain is not None and domain not in DOMAINS:
            raise InputError(f"--domain must be one of {', '.join(DOMAINS)}, not {domain!r}")
        entries = [e for e in catalogue() if domain is None or e.domain == domain]
        if output is not None:
            text = json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2)
            write_text(text + "\n", output)
    if output is not None:
        typer.echo(f"wrote {len(entries)} indicators to {output}", err=True)
        return
    table = Table(title="indicators", title_justify="left")
    for column in ("id", "domain", "unit", "table", "levels", "verified", "name"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.id,
            e.domain,
            e.unit,
            e.source.table,
            ",".join(e.levels),
            e.verified.status,
            e.name_en,
        )
    Console(width=160).print(table)


@indicators_app.command("show")
def show(
    id: Annotated[str, typer.Argument(help="Indicator id, e.g. employment_rate_20_64.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the entry to a .json file.")
    ] = None,
) -> None:
    """Show one indicator: definition, source table, breakdowns, levels and what is verified.

    Example: bryta indicators show foreign_background_share
    """
    from bryta.app.tables import write_text
    from bryta.indicators import indicator

    with user_errors():
        entry = indicator(id)
        if output is not None:
            write_text(json.dumps(entry.to_dict(), ensure_ascii=False, indent=2) + "\n", output)
    if output is not None:
        typer.echo(f"wrote {id} to {output}", err=True)
        return
    for line in _describe(entry):
        typer.echo(line)


def _describe(e: Indicator) -> list[str]:
    d, s = e.definition, e.source
    lines = [
        f"{e.id}: {e.name_en} ({e.name_sv})",
        f"domain: {e.domain}    unit: {e.unit}    kind: {e.kind}",
        f"definition: {d.text}",
        f"age band: {d.age_band}",
    ]
    for role, sel in d.selections.items():
        codes = "; ".join(f"{var} = {', '.join(values)}" for var, values in sel.items())
        lines.append(f"{role}: {codes}")
    lines += [
        f"source: {s.provider} {s.table} (contents {', '.join(s.contents)}; region "
        f"{s.region_variable}, time {s.time_variable}){f'; years {s.years}' if s.years else ''}",
        f"levels: {', '.join(e.levels)}",
    ]
    for name, b in e.breakdowns.items():
        lines.append(f"breakdown {name}: {b.variable} = {', '.join(b.values)}")
    v = e.verified
    lines.append(f"verified: {v.status}")
    if v.checked:
        lines.append(f"  checked: {v.checked}")
    if v.not_checked:
        lines.append(f"  not checked: {v.not_checked}")
    lines += [f"  source: {source}" for source in v.sources]
    return lines


@indicators_app.command("load")
def load(
    id: Annotated[str, typer.Argument(help="Indicator id, e.g. employment_rate_20_64.")],
    level: Annotated[str, typer.Option(help="riket, lan, kommun, regso or deso.")] = "regso",
    year: Annotated[
        str | None, typer.Option("--year", help="Years, comma-separated (default: all).")
    ] = None,
    breakdown: Annotated[
        str | None, typer.Option(help="Breakdowns, comma-separated: sex, age, ...")
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(help="RegSO 2020/2025 or DeSO 2018/2025 (default: the newest in the table)."),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="A JSON-stat 2.0 file of the table (no network)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder of the warehouse (default: $BRYTA_DATA_DIR or ~/.local/share/bryta).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write to .csv, .parquet or .json.")
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not store in the warehouse (needs -o).")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a stored indicator_<id> dataset.")
    ] = False,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Keep SCB's answers here and reuse them.")
    ] = None,
) -> None:
    """Load an indicator per area and year into the warehouse as indicator_<id>.

    Example: bryta indicators load employment_rate_20_64 --level regso --year 2022,2023

    Without --from-file the SCB table is fetched (needs the network). Columns: area, level,
    year, one per breakdown, numerator, denominator, value.
    """
    from bryta.app.tables import check_writable, write_table
    from bryta.indicators import indicator_from_jsonstat, load_indicator
    from bryta.warehouse import Warehouse

    with user_errors(id):
        if no_store and output is None:
            raise InputError("--no-store needs -o FILE (otherwise nothing is kept)")
        if output is not None:
            check_writable(output)
        if from_file is not None and version is not None:
            raise InputError("--version chooses codes to fetch; a file keeps the codes it has")
        year_list = split_list(year)
        groups = split_list(breakdown)
        warehouse = None if no_store else Warehouse.open(data_dir)
        try:
            if from_file is not None:
                frame = indicator_from_jsonstat(
                    id,
                    from_file,
                    level=level,
                    years=year_list,
                    breakdown=groups,
                    warehouse=warehouse,
                    replace=replace,
                )
            else:
                with make_client(cache_dir) as client:
                    frame = load_indicator(
                        id,
                        client=client,
                        warehouse=warehouse,
                        level=level,
                        years=year_list,
                        breakdown=groups,
                        version=version,
                        replace=replace,
                    )
            where = None if warehouse is None else warehouse.path
        finally:
            if warehouse is not None:
                warehouse.close()
        if output is not None:
            write_table(frame, output)
    missing = frame.get_column("value").null_count()
    note = f"; {missing} without a value" if missing else ""
    if where is not None:
        err_console.print(
            f"stored {frame.height} rows as 'indicator_{id}' in {where}{note}", highlight=False
        )
    if output is not None:
        err_console.print(f"wrote {frame.height} rows to {output}{note}", highlight=False)
