"""``bryta import scb-csv``: files users downloaded from Statistikdatabasen by hand."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer

from bryta.cli._common import user_errors
from bryta.cli.data import DataDir, save
from bryta.store import Provenance

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
    level: Annotated[str, typer.Option(help="Level of the region labels (regso).")] = "regso",
    name: Name = None,
    output: Output = None,
    replace: Replace = False,
    data_dir: DataDir = None,
) -> None:
    """Import a Statistikdatabasen CSV export: labels resolved to codes, years to rows.

    Example: bryta import scb-csv befolkning.csv --level regso --name population
    """
    from bryta.ingest.scb_csv import read_scb_export

    with user_errors(str(file)):
        if not file.exists():
            raise typer.BadParameter(f"{file}: no such file")
        frame = read_scb_export(file, level=level)
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


def register(import_app: typer.Typer) -> None:
    import_app.command("scb-csv")(scb_csv)
