"""Read CSV exports from SCB's Statistikdatabasen with RegSO labels.

SCB's Statistikdatabasen (PxWeb) exports a table as CSV with one row per region and
descriptive category, and the years as columns. A typical export looks like this (UTF-8 with
a byte-order mark, every row ending in ``\\r\\r\\n``, all text fields quoted)::

    "region","födelseregion","kön","Antal 2020","Antal 2021","Antal 2022","Antal 2023"
    "Upplands Väsby (Bollstanäs)","Sverige","totalt",5002,4972,4916,4843
    "Upplands Väsby (Bollstanäs)","totalt","totalt",6062,6019,5982,5920
    ...

* The first column holds the region. RegSO are labelled ``Kommunnamn (RegSO name)`` and carry
  no code, so the labels are matched against SCB's DeSO–RegSO key (bundled) after
  normalising white space and dashes (see :func:`normalise_label`).
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

The importer returns the data in long form; :func:`load_demo_panel` builds the wide
RegSO × year panel of the bundled exports that the demos use.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import polars as pl

from bryta.errors import ImportFormatError

__all__ = [
    "BIRTH_REGION_EXPORT",
    "KEY_FILE",
    "MISSING_MARKERS",
    "TENURE_EXPORT",
    "bundled_file",
    "kommun_names",
    "lan_names",
    "load_demo_panel",
    "load_regso_key",
    "normalise_label",
    "read_scb_export",
    "regso_table",
]

PathLike = str | os.PathLike[str] | Traversable

#: Bundled SCB key DeSO 2018 -> RegSO 2020 -> kommun.
KEY_FILE = "deso2018_regso2020_key.csv"
#: Bundled export: population per RegSO by birth region (Sverige / totalt), 2020–2023.
BIRTH_REGION_EXPORT = "regso_birth_region_2020_2023.csv"
#: Bundled export: dwellings per RegSO by tenure, 2020–2023.
TENURE_EXPORT = "regso_tenure_2020_2023.csv"
_KOMMUN_FILE = "kommun.csv"
_LAN_FILE = "lan.csv"

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

_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_WHITESPACE = re.compile(r"\s+")  # str patterns: includes NBSP (U+00A0) and U+202F
_SPACE_AFTER_OPEN = re.compile(r"\(\s+")
_SPACE_BEFORE_CLOSE = re.compile(r"\s+\)")


# --------------------------------------------------------------------------------------------
# Labels


def normalise_label(text: str) -> str:
    """Normalise a region label so that export labels and key labels compare equal.

    Steps: Unicode NFC; zero-width characters removed; every dash-like character (hyphen
    U+2010/U+2011, figure dash, en dash, em dash, horizontal bar, minus sign U+2212) becomes
    ``-``; runs of white space (including no-break spaces) become one space; leading and
    trailing white space is removed, and so is white space just inside parentheses (SCB's
    exports write ``Luleå (Tuna )`` where the key says ``Tuna``). White space around hyphens is
    kept: no bundled label needs that.

    >>> normalise_label("Sotenäs (Kungshamn–Smögen-Hovenäset–Väjern)")
    'Sotenäs (Kungshamn-Smögen-Hovenäset-Väjern)'
    >>> normalise_label(" Göteborg (Kortedala\\u00a0 södra ) ")
    'Göteborg (Kortedala södra)'
    """
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _DASHES.sub("-", text)
    text = _WHITESPACE.sub(" ", text).strip()
    text = _SPACE_AFTER_OPEN.sub("(", text)
    return _SPACE_BEFORE_CLOSE.sub(")", text)


def _normalise_column(series: pl.Series, known: pl.Series | None = None) -> pl.Series:
    """Apply :func:`normalise_label` to a string column (once per distinct value).

    Values found in ``known`` (labels that are already normalised) are kept as they are.
    """
    unique = series.drop_nulls().unique()
    if known is not None:
        unique = (
            unique.to_frame("_raw")
            .join(known.to_frame("_raw"), on="_raw", how="anti")
            .get_column("_raw")
        )
    mapping = pl.DataFrame(
        {"_raw": unique, "_norm": [normalise_label(v) for v in unique.to_list()]},
        schema={"_raw": pl.String, "_norm": pl.String},
    )
    return series.replace(mapping.get_column("_raw"), mapping.get_column("_norm"))


# --------------------------------------------------------------------------------------------
# Bundled files


def bundled_file(name: str) -> Traversable:
    """Return the bundled SCB file ``name`` (see ``bryta/data/PROVENANCE.md``).

    >>> bundled_file("lan.csv").name
    'lan.csv'
    """
    resource = files("bryta.data").joinpath("scb", name)
    if not resource.is_file():
        raise FileNotFoundError(f"no bundled data file named {name!r} in bryta/data/scb")
    return resource


def _read_bytes(path: PathLike) -> tuple[bytes, str]:
    """Return the content of ``path`` and a name for it to use in messages."""
    if isinstance(path, str | os.PathLike):
        return Path(path).read_bytes(), os.fspath(path)
    return path.read_bytes(), str(path)


def _decode(data: bytes) -> str:
    """Decode a CSV file: UTF-8 (with or without BOM), else Windows-1252, else Latin-1.

    Windows-1252 is tried before Latin-1 because "Latin-1" exports saved on Windows use it
    for en dashes and the like; for the Swedish letters both are identical.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _split_lines(text: str) -> list[str]:
    """Split into lines, dropping every carriage return (``\\r\\n`` and ``\\r\\r\\n``)."""
    if "\n" not in text:
        return text.split("\r")
    return text.replace("\r", "").split("\n")


def _read_table(data: bytes) -> pl.DataFrame:
    """Read a small plain CSV (the key or the code lists) with every column as text."""
    text = "\n".join(_split_lines(_decode(data)))
    frame = pl.read_csv(io.StringIO(text), infer_schema_length=0)
    return frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})


# --------------------------------------------------------------------------------------------
# Key


def _find_column(columns: list[str], pattern: str, what: str, source: str) -> str:
    for column in columns:
        if re.fullmatch(pattern, column, flags=re.IGNORECASE):
            return column
    raise ImportFormatError(
        f"{source}: no {what} column (looked for {pattern!r}) among the columns {columns}"
    )


def load_regso_key(path: PathLike | None = None) -> pl.DataFrame:
    """Load SCB's DeSO -> RegSO -> kommun key, one row per DeSO.

    The key file has the columns ``Kommun,Kommunnamn,DeSO_2018,RegSO_2020,RegSOkod_2020``
    (later editions: ``DeSO_2025`` and so on). The result has the text columns ``deso``,
    ``regso`` (code, e.g. ``0114R001``), ``regso_name``, ``kommun`` (four digits, zero-padded),
    ``kommun_name``, ``lan`` (the first two digits of ``kommun``) and ``label``
    (``Kommunnamn (RegSO name)`` normalised with :func:`normalise_label`).

    Without ``path`` the bundled key (DeSO 2018 -> RegSO 2020, 5,984 DeSO) is used.

    >>> key = load_regso_key()
    >>> key.height, key["regso"].n_unique()
    (5984, 3363)
    """
    if path is None:
        return _bundled_key().clone()
    return _load_key(*_read_bytes(path))


@functools.cache
def _bundled_key() -> pl.DataFrame:
    resource = bundled_file(KEY_FILE)
    return _load_key(resource.read_bytes(), f"bryta/data/scb/{KEY_FILE}")


def _load_key(data: bytes, source: str) -> pl.DataFrame:
    raw = _read_table(data)
    columns = raw.columns
    kommun = _find_column(columns, r"kommun(kod)?", "kommun code", source)
    kommun_name = _find_column(columns, r"kommunnamn", "kommun name", source)
    deso = _find_column(columns, r"deso(kod)?(_\d{4})?", "DeSO code", source)
    regso_code = _find_column(columns, r"regsokod(_\d{4})?", "RegSO code", source)
    regso_name = _find_column(columns, r"regso(_\d{4})?", "RegSO name", source)
    key = raw.select(
        pl.col(deso).str.strip_chars().alias("deso"),
        pl.col(regso_code).str.strip_chars().alias("regso"),
        pl.col(regso_name).str.strip_chars().alias("regso_name"),
        pl.col(kommun).str.strip_chars().str.zfill(4).alias("kommun"),
        pl.col(kommun_name).str.strip_chars().alias("kommun_name"),
    ).with_columns(pl.col("kommun").str.slice(0, 2).alias("lan"))
    labels = (key.get_column("kommun_name") + " (" + key.get_column("regso_name") + ")").alias(
        "label"
    )
    key = key.with_columns(_normalise_column(labels))

    bad_kommun = key.filter(~pl.col("kommun").str.contains(r"^\d{4}$"))
    if bad_kommun.height:
        raise ImportFormatError(
            f"{source}: kommun codes must be four digits; found "
            f"{bad_kommun['kommun'].unique().head(_MAX_LISTED).to_list()}"
        )
    return key


def regso_table(key: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per RegSO: ``regso``, ``regso_name``, ``kommun``, ``kommun_name``, ``lan``,
    ``label``, sorted by RegSO code.

    ``key`` defaults to the bundled key (3,363 RegSO 2020).

    >>> regso_table().height
    3363
    """
    if key is None:
        return _bundled_regso_table().clone()
    return _regso_table(key, "the key")


@functools.cache
def _bundled_regso_table() -> pl.DataFrame:
    return _regso_table(_bundled_key(), f"bryta/data/scb/{KEY_FILE}")


def _regso_table(key: pl.DataFrame, source: str) -> pl.DataFrame:
    missing = [
        c
        for c in ("regso", "regso_name", "kommun", "kommun_name", "lan", "label")
        if c not in key.columns
    ]
    if missing:
        raise ImportFormatError(
            f"{source} lacks the columns {missing}; build it with load_regso_key()"
        )
    table = (
        key.select("regso", "regso_name", "kommun", "kommun_name", "lan", "label")
        .unique(maintain_order=True)
        .sort("regso")
    )
    for column in ("regso", "label"):
        duplicated = table.filter(pl.col(column).is_duplicated())
        if duplicated.height:
            raise ImportFormatError(
                f"{source}: {column} is not unique per RegSO; for example "
                f"{duplicated.head(_MAX_LISTED).rows()}"
            )
    return table


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

    ``level`` says what the region labels are; only ``"regso"`` (labels
    ``Kommunnamn (RegSO name)``) is supported so far. ``key`` is a key as returned by
    :func:`load_regso_key` (default: the bundled DeSO 2018 -> RegSO 2020 key).

    Raises :class:`~bryta.errors.ImportFormatError` naming the file (and the rows and
    columns) when the file is not such an export, when region labels match no region of the
    key, or when a value is not a number.

    >>> df = read_scb_export(bundled_file("regso_tenure_2020_2023.csv"))
    >>> df.columns
    ['regso', 'kommun', 'lan', 'upplåtelseform', 'year', 'measure', 'value']
    >>> df.row(0)
    ('0114R001', '0114', '01', 'hyresrätt', 2020, 'Antal', 55.0)
    """
    data, source = _read_bytes(path)
    return _read_export(data, source, level=level, key=key)


def _read_export(data: bytes, source: str, *, level: str, key: pl.DataFrame | None) -> pl.DataFrame:
    matcher = _MATCHERS.get(level)
    if matcher is None:
        raise ImportFormatError(
            f"{source}: level {level!r} not supported yet (supported: {sorted(_MATCHERS)})"
        )
    lines = _split_lines(_decode(data))
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
    table = _bundled_regso_table() if key is None else _regso_table(key, "the key")
    labels = _normalise_column(regions.get_column("_region"), known=table.get_column("label"))
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


_Matcher = Callable[[pl.DataFrame, pl.DataFrame | None, str], pl.DataFrame]
#: level -> function mapping region labels to code columns (first column ``_row``).
#: Kommun- and DeSO-level exports get their own matcher here.
_MATCHERS: dict[str, _Matcher] = {"regso": _match_regso}


# --------------------------------------------------------------------------------------------
# Demo panel and code lists


_BIRTH_COLUMNS = {"born_sweden": "Sverige", "_total": "totalt"}
_TENURE_COLUMNS = {
    "rental": "hyresrätt",
    "tenant_owned": "bostadsrätt",
    "owner_occupied": "äganderätt",
    "tenure_unknown": "uppgift saknas",
}
_PANEL_KEYS = ["lan", "kommun", "regso", "year"]


def load_demo_panel() -> pl.DataFrame:
    """The bundled RegSO panel 2020–2023, one row per RegSO × year (3,363 × 4 rows).

    Columns: ``lan``, ``kommun``, ``regso`` (text codes), ``year`` (Int32) and the counts
    (Int64) ``born_sweden``, ``born_abroad`` (total population minus born in Sweden) from
    :data:`BIRTH_REGION_EXPORT`, and the dwellings by tenure ``rental`` (hyresrätt),
    ``tenant_owned`` (bostadsrätt), ``owner_occupied`` (äganderätt) and ``tenure_unknown``
    (uppgift saknas) from :data:`TENURE_EXPORT`. Source: SCB, Statistikdatabasen (CC0).

    >>> panel = load_demo_panel()
    >>> panel.height
    13452
    >>> panel.filter(year=2020).select(pl.col("born_sweden") + pl.col("born_abroad")).sum().item()
    10379295
    """
    return _demo_panel().clone()


@functools.cache
def _demo_panel() -> pl.DataFrame:
    birth = _read_bundled_export(BIRTH_REGION_EXPORT).filter(pl.col("kön") == "totalt")
    birth = _widen(birth, "födelseregion", _BIRTH_COLUMNS, BIRTH_REGION_EXPORT)
    birth = birth.with_columns(
        (pl.col("_total") - pl.col("born_sweden")).alias("born_abroad")
    ).drop("_total")
    tenure = _widen(
        _read_bundled_export(TENURE_EXPORT), "upplåtelseform", _TENURE_COLUMNS, TENURE_EXPORT
    )
    panel = birth.join(tenure, on=_PANEL_KEYS, how="full", coalesce=True)
    expected = _bundled_regso_table().height * panel["year"].n_unique()
    if panel.height != expected or panel.null_count().sum_horizontal().item():
        raise ImportFormatError(
            f"the bundled exports do not cover every RegSO and year ({panel.height} rows, "
            f"expected {expected}, or missing values)"
        )
    if panel.filter(pl.col("born_abroad") < 0).height:
        raise ImportFormatError(f"{BIRTH_REGION_EXPORT}: more born in Sweden than in total")
    counts = ["born_sweden", "born_abroad", *_TENURE_COLUMNS]
    return panel.select(*_PANEL_KEYS, *counts).sort("regso", "year")


def _read_bundled_export(name: str) -> pl.DataFrame:
    return _read_export(
        bundled_file(name).read_bytes(), f"bryta/data/scb/{name}", level="regso", key=None
    )


def _widen(long: pl.DataFrame, dimension: str, columns: dict[str, str], name: str) -> pl.DataFrame:
    """One column per category of ``dimension`` (counts as Int64), one row per RegSO × year."""
    duplicated = long.select(*_PANEL_KEYS, dimension).is_duplicated()
    if duplicated.any():
        raise ImportFormatError(f"bryta/data/scb/{name}: RegSO × year × {dimension} repeats")
    not_whole = long.filter(pl.col("value") != pl.col("value").round())
    if not_whole.height:
        raise ImportFormatError(f"bryta/data/scb/{name}: counts that are not whole numbers")
    return long.group_by(_PANEL_KEYS, maintain_order=True).agg(
        pl.col("value").filter(pl.col(dimension) == category).first().cast(pl.Int64).alias(out)
        for out, category in columns.items()
    )


def kommun_names(*, full: bool = False) -> dict[str, str]:
    """Kommun code -> name for Sweden's 290 kommuner, from the bundled ``kommun.csv``.

    Codes are text (``"0114"``). Names are short (``"Upplands Väsby"``) unless ``full``
    (``"Upplands Väsby kommun"``).

    >>> kommun_names()["0114"]
    'Upplands Väsby'
    """
    column = "municipality_name" if full else "municipality_name_short"
    return dict(_code_list(_KOMMUN_FILE).select("municipality_code", column).iter_rows())


def lan_names(*, full: bool = False) -> dict[str, str]:
    """Län code -> name for Sweden's 21 län, from the bundled ``lan.csv``.

    Codes are text (``"01"``). Names are short (``"Stockholm"``) unless ``full``
    (``"Stockholms län"``).

    >>> lan_names()["01"], lan_names(full=True)["25"]
    ('Stockholm', 'Norrbottens län')
    """
    column = "county_name" if full else "county_name_short"
    return dict(_code_list(_LAN_FILE).select("county_code", column).iter_rows())


@functools.cache
def _code_list(name: str) -> pl.DataFrame:
    return _read_table(bundled_file(name).read_bytes())
