"""Read CSV exports from SCB's Statistikdatabasen with RegSO, DeSO or kommun labels.

SCB's Statistikdatabasen (PxWeb) exports a table as CSV with one row per region and
descriptive category, and the years as columns. A typical export looks like this (UTF-8 with
a byte-order mark, every row ending in ``\\r\\r\\n``, all text fields quoted)::

    "region","födelseregion","kön","Antal 2020","Antal 2021","Antal 2022","Antal 2023"
    "Upplands Väsby (Bollstanäs)","Sverige","totalt",5002,4972,4916,4843
    "Upplands Väsby (Bollstanäs)","totalt","totalt",6062,6019,5982,5920
    ...

* The first column holds the region. RegSO are labelled ``Kommunnamn (RegSO name)`` and carry
  no code, so the labels are matched against SCB's DeSO–RegSO key (bundled) after
  normalising white space and dashes (see :func:`bryta.geography.areas.normalise_label`).
* The columns between the region and the first year column are descriptive dimensions
  (``födelseregion``, ``kön``, ``upplåtelseform``, ...).
* The year columns end in a four-digit year; the text before it is the measure
  (``Antal 2020`` -> measure ``Antal``, ``Medelvärde för samtliga, tkr 2020`` -> measure
  ``Medelvärde för samtliga, tkr``; a bare ``2022`` has no measure).
* SCB marks missing values with ``..`` (not available), ``.`` (cannot occur) or ``-``
  (nothing to report); these and empty cells become null.
* Some exports carry a footnote block after the data rows, separated by an empty row::

    Kiruna (Övre Norrmalm),4
    ,
    "Delegationen mot segregation (Delmos) och ...",
    Datatyp:,
    Stock,
    ...

  Reading stops at the first row that does not have the shape of a data row (a different
  number of fields, or an empty region field).
* Older exports and exports saved by other tools may be Latin-1 (or Windows-1252) encoded and
  separated by semicolons, with a decimal comma; both are detected.

Row numbers in error messages are line numbers in the file, the header being row 1 (a
``\\r\\r\\n`` line ending counts as one line break).

The importer returns the data in long form; :func:`to_counts` turns it into counts ready for
measuring (one column per category, totals dropped), as ``bryta import scb-csv`` writes them.
DeSO labels start with their code; kommun labels are ``0114 Upplands Väsby``, ``0114`` or the
name alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl

from bryta._files import PathLike, decode, read_bytes, split_lines
from bryta.errors import ImportFormatError
from bryta.geography.areas import normalise_label, normalise_labels, regso_table

__all__ = ["MISSING_MARKERS", "read_scb_export", "to_counts"]

#: Cell values SCB uses for "no value"; they are read as null (as are empty cells).
MISSING_MARKERS: tuple[str, ...] = ("..", ".", "-", "")

_SEPARATORS = (",", ";", "\t")
_YEAR_HEADER = re.compile(r"^(?P<measure>.*?)[\s,]*(?P<year>(?:1[89]|2[01])\d{2})$")
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_REGION_LIKE = re.compile(r"^[^()]+\([^()]+\)\s*$")
_MAX_LISTED = 10
_HEADER_SEARCH_LINES = 20
# Output names that a dimension column must not shadow.
_RESERVED = ("regso", "kommun", "lan", "deso", "year", "measure", "value")

# --------------------------------------------------------------------------------------------
# Exports


def read_scb_export(
    path: PathLike, *, level: str = "regso", key: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Read a Statistikdatabasen CSV export into long form.

    Returns the columns ``regso``, ``kommun``, ``lan`` (codes as text), then one column per
    descriptive dimension of the file, named as in its header (e.g. ``födelseregion``,
    ``kön``; values stripped of surrounding white space), then ``year`` (Int32), ``measure``
    (the header text before the year, e.g. ``Antal``; null for a bare year) and ``value``
    (Float64; SCB's ``..``, ``.``, ``-`` and empty cells are null). Rows are in file order,
    and within a row in the order of the year columns.

    ``level`` says what the region labels are: ``"regso"`` (``Kommunnamn (RegSO name)``),
    ``"deso"`` (``0114A0010``, ``0114A0010 (DeSO 2025)``; adds ``regso`` when the key knows
    every DeSO) or ``"kommun"`` (``0114 Upplands Väsby``, ``0114`` or the name; the columns
    are then ``kommun``, ``lan``). A row for the whole country gets the code ``00``.
    ``key`` is a key as returned by :func:`bryta.geography.areas.load_regso_key` (default:
    the bundled DeSO 2018 -> RegSO 2020 key).

    Raises :class:`~bryta.errors.ImportFormatError` naming the file (and the rows and
    columns) when the file is not such an export, when region labels match no region of the
    key, or when a value is not a number.

    >>> from bryta._files import bundled_file
    >>> df = read_scb_export(bundled_file("regso_tenure_2020_2023.csv"))
    >>> df.columns
    ['regso', 'kommun', 'lan', 'upplåtelseform', 'year', 'measure', 'value']
    >>> df.row(0)
    ('0114R001', '0114', '01', 'hyresrätt', 2020, 'Antal', 55.0)
    """
    data, source = read_bytes(path)
    return _read_export(data, source, level=level, key=key)


def _read_export(data: bytes, source: str, *, level: str, key: pl.DataFrame | None) -> pl.DataFrame:
    matcher = _MATCHERS.get(level)
    if matcher is None:
        raise ImportFormatError(
            f"{source}: level {level!r} not supported yet (supported: {sorted(_MATCHERS)})"
        )
    lines = split_lines(decode(data))
    header_index, separator, header = _find_header(lines, source)
    columns = _classify_columns(header, source, header_index + 1)
    body = lines[header_index + 1 :]
    n_data = _count_data_rows(body, separator, len(header))
    first_row = header_index + 2  # file row (1-based) of the first data line
    _check_nothing_after(body[n_data:], separator, columns, first_row + n_data, source)
    if n_data == 0:
        raise ImportFormatError(f"{source}: no data rows after the header (row {first_row - 1})")

    names = [f"_c{i}" for i in range(len(header))]
    frame = pl.read_csv(
        io.StringIO("\n".join(body[:n_data])),
        has_header=False,
        separator=separator,
        quote_char='"',
        infer_schema_length=0,
        new_columns=names,
    )
    if frame.height != n_data:
        raise ImportFormatError(
            f"{source}: read {frame.height} data rows but the file has {n_data} "
            f"(rows {first_row}–{first_row + n_data - 1}); is a quoted field not closed?"
        )
    frame = frame.with_row_index("_row", offset=first_row).with_columns(
        pl.col("_row").cast(pl.Int64)
    )

    dims = columns.dimensions
    frame = frame.rename({"_c0": "_region"} | {f"_c{i}": name for i, name in dims})
    dim_names = [name for _, name in dims]
    frame = frame.with_columns(pl.col(d).str.strip_chars() for d in dim_names)

    codes = matcher(frame.select("_row", "_region"), key, source)
    long = _unpivot_years(frame, dim_names, columns, separator, source)
    return (
        long.join(codes, on="_row", how="left")
        .sort("_row", "_order")
        .select(*codes.columns[1:], *dim_names, "year", "measure", "value")
    )


@dataclass(frozen=True)
class _Columns:
    """What each header column of an export is."""

    header: list[str]
    dimensions: list[tuple[int, str]]  # (index, name)
    years: list[tuple[int, int, str | None]]  # (index, year, measure)


def _parse_line(line: str, separator: str) -> list[str]:
    return next(csv.reader([line], delimiter=separator, quotechar='"'), [])


def _sniff_separator(line: str) -> str:
    """The separator that occurs most often outside quotes in ``line`` (comma on a tie)."""
    unquoted = re.sub(r'"[^"]*"', '""', line)
    return max(_SEPARATORS, key=lambda s: (unquoted.count(s), s == ","))


def _find_header(lines: list[str], source: str) -> tuple[int, str, list[str]]:
    """Find the header row: the first line with at least one year column.

    Lines before it (a table title, blank lines) are skipped.
    """
    for index, line in enumerate(lines[:_HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        separator = _sniff_separator(line)
        fields = [f.strip().lstrip("\ufeff").strip() for f in _parse_line(line, separator)]
        if len(fields) >= 2 and any(_YEAR_HEADER.match(f) for f in fields[1:]):
            return index, separator, fields
    raise ImportFormatError(
        f"{source}: no header row found in the first {_HEADER_SEARCH_LINES} lines: expected "
        "a region column followed by year columns such as 'Antal 2020' (a Statistikdatabasen "
        "CSV export with the years as columns)"
    )


def _classify_columns(header: list[str], source: str, row: int) -> _Columns:
    dimensions: list[tuple[int, str]] = []
    years: list[tuple[int, int, str | None]] = []
    for index, name in enumerate(header[1:], start=1):
        match = _YEAR_HEADER.match(name)
        if match:
            years.append((index, int(match["year"]), match["measure"].strip() or None))
        elif years:
            raise ImportFormatError(
                f"{source}, row {row}: column {index + 1} {name!r} comes after the year "
                "columns but does not end in a year; only exports with whole years as "
                "columns are supported"
            )
        elif not name:
            raise ImportFormatError(f"{source}, row {row}: column {index + 1} has no name")
        elif name in _RESERVED or name.startswith("_"):
            raise ImportFormatError(
                f"{source}, row {row}: dimension column {name!r} clashes with an output "
                f"column name ({', '.join(_RESERVED)}) or starts with '_'"
            )
        else:
            dimensions.append((index, name))
    names = [name for _, name in dimensions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ImportFormatError(f"{source}, row {row}: duplicated column names {duplicates}")
    seen: set[tuple[int, str | None]] = set()
    for index, year, measure in years:
        if (year, measure) in seen:
            raise ImportFormatError(
                f"{source}, row {row}: column {index + 1} {header[index]!r} repeats a year "
                "and measure"
            )
        seen.add((year, measure))
    return _Columns(header, dimensions, years)


def _data_row_mask(lines: list[str], separator: str, n_fields: int) -> pl.Series:
    """True for lines with the shape of a data row: ``n_fields`` fields, a region field."""
    sep = re.escape(separator)
    series = pl.Series("line", lines, dtype=pl.String)
    unquoted = series.str.replace_all(r'"[^"]*"', '""')
    fields = unquoted.str.count_matches(sep) + 1
    empty_first = series.str.contains(rf'^\s*(?:"\s*")?\s*(?:{sep}|$)')
    return (fields == n_fields) & ~empty_first


def _count_data_rows(body: list[str], separator: str, n_fields: int) -> int:
    """Number of lines before the first line that does not have the shape of a data row."""
    if not body:
        return 0
    not_data = (~_data_row_mask(body, separator, n_fields)).arg_true()
    return int(not_data[0]) if len(not_data) else len(body)


def _check_nothing_after(
    rest: list[str], separator: str, columns: _Columns, first_row: int, source: str
) -> None:
    """Make sure no data row hides after the end of the data (e.g. after a broken row).

    The rest of the file is the footnote block, so it must not contain a row that looks like
    a data row: a ``Name (Name)`` region and only numbers or missing markers as values.
    """
    if not rest or not any(line.strip() for line in rest):
        return
    value_indices = [index for index, _, _ in columns.years]
    reader = csv.reader(io.StringIO("\n".join(rest)), delimiter=separator, quotechar='"')
    row = first_row
    for record in _records(reader):
        if (
            len(record) == len(columns.header)
            and _REGION_LIKE.match(record[0])
            and all(_is_value(record[i], separator) for i in value_indices)
        ):
            raise ImportFormatError(
                f"{source}: the data rows end at row {first_row - 1} because row {first_row} "
                f"does not have the shape of a data row ({len(columns.header)} fields and a "
                f"region), but row {row} after it looks like a data row: {record[0]!r}. "
                "Fix the row that breaks the table (an unquoted separator?)"
            )
        row = first_row + reader.line_num


def _records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The records of ``reader``, ending quietly where the footnote text is not valid CSV."""
    try:
        yield from reader
    except csv.Error:
        return


def _is_value(text: str, separator: str) -> bool:
    cleaned = _clean_number(text.strip(), separator)
    return cleaned in MISSING_MARKERS or re.match(_NUMBER, cleaned) is not None


def _clean_number(text: str, separator: str) -> str:
    text = re.sub(r"[ \u00a0\u202f]", "", text)
    return text.replace(",", ".") if separator != "," else text


def _unpivot_years(
    frame: pl.DataFrame, dim_names: list[str], columns: _Columns, separator: str, source: str
) -> pl.DataFrame:
    """Long form of the year columns with ``year``, ``measure`` and parsed ``value``."""
    year_columns = pl.DataFrame(
        {
            "_col": [f"_c{i}" for i, _, _ in columns.years],
            "_order": list(range(len(columns.years))),
            "_header": [columns.header[i] for i, _, _ in columns.years],
            "_column_number": [i + 1 for i, _, _ in columns.years],
            "year": [year for _, year, _ in columns.years],
            "measure": [measure for _, _, measure in columns.years],
        },
        schema={
            "_col": pl.String,
            "_order": pl.Int64,
            "_header": pl.String,
            "_column_number": pl.Int64,
            "year": pl.Int32,
            "measure": pl.String,
        },
    )
    long = frame.unpivot(
        on=year_columns["_col"].to_list(),
        index=["_row", *dim_names],
        variable_name="_col",
        value_name="_raw",
    ).join(year_columns, on="_col", how="left")

    cleaned = pl.col("_raw").str.strip_chars().str.replace_all(r"[ \u00a0\u202f]", "")
    if separator != ",":
        cleaned = cleaned.str.replace(",", ".", literal=True)
    long = long.with_columns(cleaned.alias("_clean"))
    missing = pl.col("_clean").is_null() | pl.col("_clean").is_in(list(MISSING_MARKERS))
    valid = pl.col("_clean").str.contains(_NUMBER)
    bad = long.filter(~missing & ~valid.fill_null(False)).sort("_row", "_order")
    if bad.height:
        listed = "\n".join(
            f"  row {r}, column {c} {h!r}: {v!r}"
            for r, c, h, v in bad.select("_row", "_column_number", "_header", "_raw")
            .head(_MAX_LISTED)
            .iter_rows()
        )
        more = f"\n  ... and {bad.height - _MAX_LISTED} more" if bad.height > _MAX_LISTED else ""
        raise ImportFormatError(
            f"{source}: {bad.height} value(s) are not numbers (expected a number or one of "
            f"SCB's missing-value markers {list(MISSING_MARKERS)}):\n{listed}{more}"
        )
    return long.with_columns(
        pl.when(missing).then(None).otherwise(pl.col("_clean")).cast(pl.Float64).alias("value")
    )


# --------------------------------------------------------------------------------------------
# Region matching, one function per level


def _match_regso(regions: pl.DataFrame, key: pl.DataFrame | None, source: str) -> pl.DataFrame:
    """Map the ``_region`` labels (with their ``_row``) to ``regso``, ``kommun``, ``lan``."""
    table = regso_table(key)
    labels = normalise_labels(regions.get_column("_region"), known=table.get_column("label"))
    labelled = regions.with_columns(labels.alias("label"))
    matched = labelled.join(table.select("label", "regso", "kommun", "lan"), on="label", how="left")
    unmatched = matched.filter(pl.col("regso").is_null())
    if unmatched.height:
        per_label = (
            unmatched.sort("_row")
            .group_by("_region", maintain_order=True)
            .agg(pl.col("_row"))
            .with_columns(pl.col("_region").fill_null(""))
        )
        lines = []
        for label, rows in per_label.head(_MAX_LISTED).iter_rows():
            shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            lines.append(f"  {label!r} (row{'s' if len(rows) > 1 else ''} {shown})")
        more = per_label.height - _MAX_LISTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise ImportFormatError(
            f"{source}: {per_label.height} region label(s) match no RegSO in the key "
            "(compared as 'Kommunnamn (RegSO name)' after normalising white space and dashes; "
            "the bundled key is RegSO 2020):\n" + "\n".join(lines) + tail
        )
    return matched.select("_row", "regso", "kommun", "lan")


#: Region labels that name the whole country rather than an area (compared without case).
COUNTRY_LABELS: frozenset[str] = frozenset(
    {"riket", "hela riket", "sverige", "00 riket", "00 sverige", "totalt", "samtliga"}
)
_LEADING_CODE = {
    "kommun": re.compile(r"^(\d{4})(?:\s+.*)?$"),
    "deso": re.compile(r"^(\d{4}[ABC]\d{4})(?:_DeSO\d{4})?(?:\s+.*)?$"),
}


def _unmatched_error(unmatched: pl.DataFrame, source: str, what: str) -> ImportFormatError:
    per_label = (
        unmatched.sort("_row")
        .group_by("_region", maintain_order=True)
        .agg(pl.col("_row"))
        .with_columns(pl.col("_region").fill_null(""))
    )
    lines = []
    for label, rows in per_label.head(_MAX_LISTED).iter_rows():
        shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
        lines.append(f"  {label!r} (row{'s' if len(rows) > 1 else ''} {shown})")
    more = per_label.height - _MAX_LISTED
    tail = f"\n  ... and {more} more" if more > 0 else ""
    return ImportFormatError(
        f"{source}: {per_label.height} region label(s) match no {what}:\n" + "\n".join(lines) + tail
    )


def _country(regions: pl.DataFrame) -> pl.Series:
    label = pl.col("_region").str.strip_chars().str.to_lowercase()
    return regions.select(label.is_in(list(COUNTRY_LABELS)).fill_null(False)).to_series()


def _match_kommun(regions: pl.DataFrame, key: pl.DataFrame | None, source: str) -> pl.DataFrame:
    """Kommun labels: ``0114 Upplands Väsby`` (code first, as SCB's API labels them),
    ``0114``, or the name alone (``Upplands Väsby``, or ``Upplands Väsby kommun``). A row
    for the whole country (``Riket``, ``00 Riket``, ``Sverige``) gets the code ``00``."""
    from bryta.geography.areas import kommun_names

    short, full = kommun_names(), kommun_names(full=True)
    by_name = {normalise_label(n).lower(): c for c, n in short.items()}
    by_name |= {normalise_label(n).lower(): c for c, n in full.items()}
    labels = regions.get_column("_region").fill_null("").to_list()
    codes: list[str | None] = []
    for label in labels:
        text = normalise_label(label)
        found = _LEADING_CODE["kommun"].match(text)
        if found:
            codes.append(found[1] if found[1] in short else None)
        else:
            codes.append(by_name.get(text.lower()))
    frame = regions.with_columns(pl.Series("kommun", codes, dtype=pl.String))
    country = _country(regions)
    frame = frame.with_columns(
        pl.when(country).then(pl.lit("00")).otherwise(pl.col("kommun")).alias("kommun")
    )
    unmatched = frame.filter(pl.col("kommun").is_null())
    if unmatched.height:
        raise _unmatched_error(
            unmatched, source, "kommun (expected '0114 Upplands Väsby', '0114' or the name)"
        )
    lan = pl.when(pl.col("kommun") == "00").then(None).otherwise(pl.col("kommun").str.slice(0, 2))
    return frame.select("_row", "kommun", lan.alias("lan"))


def _match_deso(regions: pl.DataFrame, key: pl.DataFrame | None, source: str) -> pl.DataFrame:
    """DeSO labels start with the code: ``0114A0010``, ``0114A0010 (DeSO 2025)`` or
    ``0114A0010_DeSO2025``. The RegSO comes from the key (bundled: DeSO 2018 → RegSO 2020)
    and is given only when the key knows every DeSO of the file."""
    from bryta.geography.areas import load_regso_key

    text = regions.get_column("_region").fill_null("").str.strip_chars()
    code = text.str.extract(_LEADING_CODE["deso"].pattern, 1)
    frame = regions.with_columns(code.alias("deso"))
    country = _country(regions)
    frame = frame.with_columns(
        pl.when(country).then(pl.lit("00")).otherwise(pl.col("deso")).alias("deso")
    )
    unmatched = frame.filter(pl.col("deso").is_null())
    if unmatched.height:
        raise _unmatched_error(
            unmatched, source, "DeSO (expected a label starting with a code such as 0114A0010)"
        )
    real = pl.col("deso") != "00"
    frame = frame.with_columns(
        pl.when(real).then(pl.col("deso").str.slice(0, 4)).alias("kommun"),
        pl.when(real).then(pl.col("deso").str.slice(0, 2)).alias("lan"),
    )
    table = (key if key is not None else load_regso_key()).select("deso", "regso")
    located = frame.join(table, on="deso", how="left")
    if located.filter(real & pl.col("regso").is_null()).height == 0:
        return located.select("_row", "deso", "regso", "kommun", "lan")
    return frame.select("_row", "deso", "kommun", "lan")


_Matcher = Callable[[pl.DataFrame, pl.DataFrame | None, str], pl.DataFrame]
#: level -> function mapping region labels to code columns (first column ``_row``).
_MATCHERS: dict[str, _Matcher] = {
    "regso": _match_regso,
    "deso": _match_deso,
    "kommun": _match_kommun,
}


# --------------------------------------------------------------------------------------------
# Measurement-ready counts

#: Category values that are the total of a dimension (compared without case).
TOTAL_CATEGORIES: frozenset[str] = frozenset({"totalt", "total", "samtliga", "summa", "totalsumma"})
#: Column names of known categories, as the bundled panel names them (dimension, category).
KNOWN_COLUMNS: dict[tuple[str, str], str] = {
    ("födelseregion", "sverige"): "born_sweden",
    ("upplåtelseform", "hyresrätt"): "rental",
    ("upplåtelseform", "bostadsrätt"): "tenant_owned",
    ("upplåtelseform", "äganderätt"): "owner_occupied",
    ("upplåtelseform", "uppgift saknas"): "tenure_unknown",
}
#: Name of the remainder column (total minus the categories given), per dimension.
KNOWN_REMAINDERS: dict[str, str] = {"födelseregion": "born_abroad"}
_CODE_COLUMNS = ("deso", "regso", "kommun", "lan")


def to_counts(long: pl.DataFrame, *, source: str, columns: str | None = None) -> pl.DataFrame:
    """Measurement-ready counts from :func:`read_scb_export`'s long form: one row per area
    (and year), one column per category of a dimension, totals dropped.

    * Rows for the whole country (code ``00``) are dropped.
    * The dimension that becomes the columns is ``columns``, or the one dimension with more
      than one category. A dimension with one category only (``kön``: ``totalt``) is
      dropped; any other dimension keeps only its total category when it has one, and is
      otherwise kept as a key column.
    * In the column dimension, the total category (``totalt``, ``samtliga``) is dropped.
      When the other categories do not add up to it, the remainder becomes a column of its
      own: ``born_abroad`` for ``födelseregion`` (total minus ``Sverige``), else
      ``other``. Known categories are named as in the bundled panel (``born_sweden``,
      ``rental``, ``tenant_owned``, ...); other categories keep their text.
    * Whole numbers become Int64; SCB's missing values stay null.

    >>> from bryta._files import bundled_file
    >>> wide = to_counts(read_scb_export(bundled_file("regso_birth_region_2020_2023.csv")),
    ...                  source="export")
    >>> wide.columns
    ['regso', 'kommun', 'lan', 'year', 'born_sweden', 'born_abroad']
    """
    codes = [c for c in _CODE_COLUMNS if c in long.columns]
    dims = [c for c in long.columns if c not in (*codes, "year", "measure", "value")]
    if codes:
        long = long.filter(pl.col(codes[0]) != "00")
    measures = long.get_column("measure").unique().drop_nulls().to_list()
    if len(measures) > 1:
        raise ImportFormatError(
            f"{source}: the export has several measures ({', '.join(map(repr, measures))}); "
            "counts take one: export one measure, or write the long form with --long"
        )
    long = long.drop("measure")
    distinct = {d: long.get_column(d).unique(maintain_order=True).to_list() for d in dims}
    if columns is not None and columns not in dims:
        raise ImportFormatError(
            f"{source}: no dimension {columns!r}; the dimensions are {', '.join(dims) or 'none'}"
        )
    varying = [d for d in dims if len(distinct[d]) > 1]
    if columns is None:
        if len(varying) > 1:
            raise ImportFormatError(
                f"{source}: several dimensions vary ({', '.join(varying)}); name the one "
                "that becomes the count columns with --columns (the others keep their total "
                "or stay as key columns)"
            )
        named = [d for d in dims if str(distinct[d][0]).strip().lower() not in TOTAL_CATEGORIES]
        columns = varying[0] if varying else ([*dims, *named][-1] if dims else None)
    keys = [*codes]
    for d in dims:
        if d == columns:
            continue
        total = [v for v in distinct[d] if str(v).strip().lower() in TOTAL_CATEGORIES]
        if len(distinct[d]) == 1:
            long = long.drop(d)
        elif total:
            long = long.filter(pl.col(d) == total[0]).drop(d)
        else:
            keys.append(d)
    keys.append("year")
    if columns is None:  # no dimension: the value is the count
        out = long.select(*keys, "value")
        counted = ["value"]
    else:
        repeated = long.select(*keys, columns).is_duplicated()
        if repeated.any():
            raise ImportFormatError(
                f"{source}: {' × '.join([*keys, columns])} repeats; is a dimension missing "
                "from the export's header?"
            )
        categories = [str(v) for v in distinct[columns]]
        wide = long.pivot(on=columns, index=keys, values="value", aggregate_function=None)
        out, counted = _split_total(wide, keys, columns, categories, source)
    whole = out.select(
        pl.all_horizontal((pl.col(c) == pl.col(c).round()).fill_null(True).all() for c in counted)
    ).item()
    if whole:
        out = out.with_columns(pl.col(counted).cast(pl.Int64))
    return out.sort(keys)


def _split_total(
    wide: pl.DataFrame, keys: list[str], columns: str, categories: list[str], source: str
) -> tuple[pl.DataFrame, list[str]]:
    """Drop the total category of the column dimension; add the remainder column when the
    other categories fall short of it; name the columns (see :func:`to_counts`)."""
    names = {c: KNOWN_COLUMNS.get((columns.lower(), c.strip().lower()), c) for c in categories}
    total = [c for c in categories if c.strip().lower() in TOTAL_CATEGORIES]
    parts = [c for c in categories if c not in total]
    if total and parts:
        rest = pl.col(total[0]) - pl.sum_horizontal(pl.col(c) for c in parts)
        remainder = wide.select(rest.alias("_rest")).to_series()
        if (remainder < 0).any():
            raise ImportFormatError(
                f"{source}: in {columns!r} the categories add up to more than {total[0]!r}"
            )
        if (remainder.fill_null(0) != 0).any():
            name = KNOWN_REMAINDERS.get(columns.lower(), "other")
            wide = wide.with_columns(remainder.alias(name))
            parts.append(name)
            names[name] = name
    elif total:  # only the total: it is the count
        parts = total
    counted = [names[c] for c in parts]
    out = wide.rename({c: names[c] for c in parts if names[c] != c}).select(*keys, *counted)
    return out, counted
