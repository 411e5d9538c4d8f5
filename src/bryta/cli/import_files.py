"""``bryta import scb`` (SCB's API), ``scb-csv`` (files downloaded from Statistikdatabasen) and
``kolada`` (key figures from Kolada): into the warehouse and/or a file, with provenance."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from bryta.app.tables import check_writable
from bryta.cli._common import user_errors
from bryta.cli.data import DataDir, save
from bryta.geography.codes import add_parents
from bryta.warehouse import Provenance

Name = Annotated[str | None, typer.Option("--name", help="Store in the warehouse under this name.")]
Output = Annotated[
    Path | None, typer.Option("-o", "--output", help="Also write to .csv, .parquet or .json.")
]
Replace = Annotated[bool, typer.Option("--replace", help="Replace a dataset of that name.")]


def file_provenance(path: Path, source: str, licence: str) -> Provenance:
    """Provenance of an imported file: its name and SHA-256."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Provenance(source=source, licence=licence, file=path.name, sha256=digest)


def scb_csv(
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
    from bryta.ingest.statdb_csv import read_scb_export, to_counts

    with user_errors(str(file)):
        if not file.exists():
            raise typer.BadParameter(f"{file}: no such file")
        if output is not None:
            check_writable(output, [file])
        frame = read_scb_export(file, level=level)
        if not long:
            frame = to_counts(frame, source=str(file), columns=columns)
        provenance = file_provenance(file, "SCB Statistikdatabasen (CSV export)", "CC0 1.0")
        save(
            frame,
            name=name,
            output=output,
            kind="counts",
            provenance=provenance,
            data_dir=data_dir,
            replace=replace,
        )


def kolada(
    kpi: Annotated[list[str], typer.Argument(help="Kolada KPI ids, e.g. N00945.")],
    municipality: Annotated[
        str | None, typer.Option(help="Kommun or region ids, comma-separated (e.g. 0180).")
    ] = None,
    years: Annotated[str | None, typer.Option(help="Years, comma-separated.")] = None,
    name: Name = None,
    output: Output = None,
    replace: Replace = False,
    data_dir: DataDir = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Keep answers here and reuse them (no network).")
    ] = None,
) -> None:
    """Fetch key figures from Kolada (v3) per kommun and year. Needs the network.

    Example: bryta import kolada N00945 --municipality 0180,1480 --years 2022,2023 --name k
    """
    from bryta.cli._common import split_list
    from bryta.ingest.kolada import KoladaClient

    with user_errors("kolada"):
        ids = split_list(municipality)
        year_list = [int(y) for y in split_list(years) or []] or None
        if ids is None and year_list is None:
            raise typer.BadParameter("give --municipality and/or --years with the KPI ids")
        with KoladaClient(cache_dir=cache_dir) as client:
            frame = client.data(list(kpi), municipalities=ids, years=year_list)
            provenance = Provenance(**client.last_provenance.as_record())
        save(
            frame,
            name=name,
            output=output,
            kind="indicator",
            provenance=provenance,
            data_dir=data_dir,
            replace=replace,
        )


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise typer.BadParameter(f"{what} must look like VARIABLE=VALUES, not {item!r}")
        key, _, value = item.partition("=")
        out[key.strip()] = value.strip()
    return out


def scb(
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
    cache_dir: Annotated[
        Path | None, typer.Option(help="Keep answers here and reuse them (no network).")
    ] = None,
) -> None:
    """Fetch an SCB table through PxWebApi 2.0 (split under SCB's limits). Needs the network.

    Example: bryta import scb TAB6574 --select Region=0114,0180 --select Tid=TOP(4)
    --name population
    """
    from bryta.ingest.pxweb import PxWebClient

    with user_errors(table_id):
        selection = {
            k: v if v in ("*",) or "(" in v else v.split(",")
            for k, v in _pairs(select, "--select").items()
        } or None
        with PxWebClient(lang=lang, cache_dir=cache_dir) as client:
            result = client.fetch(
                table_id, selection=selection, codelists=_pairs(codelist, "--codelist") or None
            )
        frame = result.frame
        for column in frame.columns:  # kommun and län of RegSO/DeSO rows, for --by kommun
            if column not in ("kommun", "lan") and frame.schema[column] == pl.String:
                frame = add_parents(frame, column)
                if "kommun" in frame.columns:
                    break
        prov = result.provenance
        provenance = Provenance(
            source=prov.source,
            licence=prov.licence,
            table_id=prov.table_id,
            query=prov.query_json,
            retrieved_at=prov.retrieved_at,
        )
        save(
            frame,
            name=name,
            output=output,
            kind="counts",
            provenance=provenance,
            data_dir=data_dir,
            replace=replace,
        )


def register(import_app: typer.Typer) -> None:
    import_app.command("scb")(scb)
    import_app.command("scb-csv")(scb_csv)
    import_app.command("kolada")(kolada)
