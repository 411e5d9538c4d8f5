"""Reading and writing the analyst's tables: every command that reads or writes a table uses
these two functions.

Input
    * **CSV** (also ``.tsv``/``.txt``): the separator (``,``, ``;`` or tab) is detected from
      the header line, the encoding too: UTF-8 (with or without a byte-order mark), UTF-16
      with a byte-order mark, else Windows-1252 (what Excel on Windows writes for "CSV"). The
      text is decoded strictly, so å, ä and ö are never replaced by U+FFFD.
    * **Excel** ``.xlsx`` (the first sheet).
    * **Parquet**.

    CSV and Excel columns are read as text, so codes such as ``0114`` keep their leading
    zeros; count and share columns are converted by :mod:`bryta.compute._coerce` when a
    computation validates them (decimal commas and space thousands separators accepted).
    A table with a header and no data rows is an error.

Output
    ``.csv`` (UTF-8), ``.xlsx``, ``.parquet`` or ``.json`` (an array of records). Before any
    work is done :func:`check_writable` refuses an unknown suffix, a path that is an existing
    folder, a folder that cannot be written and a path equal to an input file. Writes are
    atomic: a temporary file in the same folder is renamed into place, so a failed write
    leaves no partial file.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl

from bryta.errors import InputError

DELIMITED = (".csv", ".tsv", ".txt")
READABLE = (*DELIMITED, ".xlsx", ".parquet")
WRITABLE = (".csv", ".xlsx", ".parquet", ".json")
#: Rows an Excel sheet holds, the header included.
EXCEL_MAX_ROWS = 1_048_576
_SEPARATORS = (",", ";", "\t")
_QUOTED = re.compile(r'"[^"]*"')


def read_table(path: Path) -> pl.DataFrame:
    """Read a CSV, Excel (.xlsx) or Parquet file (see the module text).

    Raises :class:`bryta.errors.InputError` naming the file when it cannot be read, is not of
    a supported kind, or has no data rows.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise InputError(
            f"{path}: input must be {', '.join(READABLE)}, not {suffix or 'no suffix'}"
        )
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    if suffix in DELIMITED:
        frame = _read_delimited(path)
    elif suffix == ".xlsx":
        frame = _read_excel(path)
    else:
        try:
            frame = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    if frame.height == 0:
        raise InputError(f"{path}: no data rows (only a header)")
    return frame


def keep_rows(frame: pl.DataFrame, where: Iterable[str], source: str) -> pl.DataFrame:
    """The rows of ``frame`` that meet every condition ``COLUMN=VALUE[,VALUE…]`` (compared as
    text, so ``kommun=0180`` keeps its leading zero). ``source`` names the table in messages.

    >>> frame = pl.DataFrame({"kommun": ["0180", "1280", "1480"], "n": [1, 2, 3]})
    >>> keep_rows(frame, ["kommun=1280,1480"], "counts.csv")["n"].to_list()
    [2, 3]
    """
    for condition in where:
        column, sep, values = condition.partition("=")
        column = column.strip()
        wanted = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not column or not wanted:
            raise InputError(f"--where {condition!r}: write COLUMN=VALUE, e.g. kommun=1280")
        if column not in frame.columns:
            raise InputError(
                f"{source}: --where {condition!r}: no column {column!r} "
                f"(columns: {', '.join(frame.columns)})"
            )
        text = frame.get_column(column).cast(pl.String)
        kept = frame.filter(text.is_in(wanted))
        if kept.height == 0:
            present = text.drop_nulls().unique().sort().head(10).to_list()
            raise InputError(
                f"{source}: --where {condition!r}: no row has {column} = "
                f"{' or '.join(wanted)} (values include {', '.join(present)})"
            )
        frame = kept
    return frame


def decode_text(data: bytes, source: str) -> str:
    """UTF-16 with a BOM, UTF-8 (BOM or not), else Windows-1252; strict, never lossy."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{source}: neither UTF-8 nor Windows-1252 text (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}); save the file as CSV UTF-8"
        ) from None


def sniff_separator(header: str, next_line: str | None = None) -> str:
    """The separator of a delimited file from its header line (and the line after it).

    The candidates (``,``, ``;``, tab) are counted outside quoted fields; the most frequent
    one wins, provided the next line has as many fields. A header without any is one column.

    >>> sniff_separator("kommun;regso;antal", "0114;0114R001;12,5")
    ';'
    >>> sniff_separator('"region","Medelvärde, tkr 2020"')
    ','
    """
    head = _QUOTED.sub('""', header)
    counts = {s: head.count(s) for s in _SEPARATORS}
    ranked = sorted(_SEPARATORS, key=lambda s: -counts[s])
    if counts[ranked[0]] == 0:
        return ","
    if next_line is not None:
        body = _QUOTED.sub('""', next_line)
        for sep in ranked:
            if counts[sep] and body.count(sep) == counts[sep]:
                return sep
    return ranked[0]


def _read_delimited(path: Path) -> pl.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    text = decode_text(data, str(path))
    # every carriage return goes (SCB ends lines in \r\r\n); a file of \r alone is old Mac
    text = text.replace("\r", "") if "\n" in text else text.replace("\r", "\n")
    lines = text.split("\n")
    filled = [line for line in lines if line.strip()]
    if not filled:
        raise InputError(f"{path}: the file is empty")
    separator = sniff_separator(filled[0], filled[1] if len(filled) > 1 else None)
    try:
        frame = pl.read_csv(
            io.BytesIO("\n".join(lines).encode("utf-8")),
            separator=separator,
            infer_schema=False,
        )
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable CSV file ({first})") from None
    return _clean_header(frame, path)


def _read_excel(path: Path) -> pl.DataFrame:
    import fastexcel

    try:
        frame = pl.read_excel(path, sheet_id=1, infer_schema_length=0)
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable Excel file ({first})") from None
    return _clean_header(frame, path)


def _clean_header(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """Strip white space around column names; refuse names that repeat or are empty."""
    names = [str(c).strip() for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{path}: column names repeat: {', '.join(map(repr, repeated))}")
    if names != frame.columns:
        frame = frame.rename(dict(zip(frame.columns, names, strict=True)))
    return frame


def check_writable(path: Path, inputs: Iterable[Path] = ()) -> None:
    """Fail before any work is done if ``path`` cannot be written as a table.

    Refused: a suffix other than :data:`WRITABLE`, an existing folder, a folder that cannot be
    written (or a file where a folder is needed), and a path that is one of ``inputs``.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name for -o, e.g. {path / 'out'}.csv")
    if path.suffix.lower() not in WRITABLE:
        raise InputError(f"{path}: output must be {', '.join(WRITABLE)}")
    for source in inputs:
        if _same_file(path, Path(source)):
            raise InputError(f"{path}: -o names the input file; write the result to another file")
    check_can_create(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{path}: cannot write there (the file is read-only)")


def check_can_create(path: Path, *, folder: bool = False) -> None:
    """Fail unless files can be written at ``path`` (a file, or with ``folder`` a folder to
    write files into; neither need exist yet): the nearest existing folder on the way must be
    one we may write in."""
    parent = path if folder else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{path}: cannot write there ({parent} is a file, not a folder)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write there (no permission to write in {parent})")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def write_table(frame: pl.DataFrame, path: Path, inputs: Iterable[Path] = ()) -> None:
    """Write ``frame`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    check_writable(path, inputs)
    suffix = path.suffix.lower()
    if suffix == ".xlsx" and frame.height >= EXCEL_MAX_ROWS:
        raise InputError(
            f"{path}: {frame.height} rows do not fit in an Excel sheet "
            f"({EXCEL_MAX_ROWS - 1} at most); write .csv or .parquet"
        )
    writers: dict[str, Callable[[Path], None]] = {
        ".csv": frame.write_csv,
        ".parquet": frame.write_parquet,
        ".xlsx": lambda tmp: _write_excel(frame, tmp),
    }
    write_atomic(path, writers.get(suffix, frame.write_json))


def write_content(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) whole to ``path`` (:func:`write_atomic`)."""

    def write(tmp: Path) -> object:
        if isinstance(data, bytes):
            return tmp.write_bytes(data)
        return tmp.write_text(data, encoding="utf-8")

    write_atomic(path, write)


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a temporary file beside ``path``, then rename it into place: a failed write
    leaves neither a partial file nor a changed one."""
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    finally:
        tmp.unlink(missing_ok=True)


def _write_excel(frame: pl.DataFrame, path: Path) -> None:
    """One sheet; NaN and infinite values as empty cells (Excel has no NaN)."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    if floats:
        frame = frame.with_columns(
            pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats
        )
    frame.write_excel(path, worksheet="bryta", autofit=True)


def write_text(text: str, path: Path, inputs: Iterable[Path] = ()) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, with the checks of :func:`check_writable`
    (``path`` must end in ``.json``, ``.geojson`` or ``.html``)."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".geojson", ".html"):
        raise InputError(f"{path}: output must be .json")
    check_writable(path.with_suffix(".json"), inputs)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# ---- tables as bytes for downloads (the web app) ----------------------------------------------
UTF8_BOM = b"\xef\xbb\xbf"


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """``frame`` as the CSV Swedish Excel opens as it is: ``;`` between fields, decimal comma,
    UTF-8 with a byte-order mark (so å, ä and ö survive), undefined numbers as empty cells."""
    return UTF8_BOM + _finite(frame).write_csv(separator=";", decimal_comma=True).encode("utf-8")


def excel_bytes(sheets: dict[str, pl.DataFrame]) -> bytes:
    """An Excel workbook (.xlsx) with one sheet per frame, named by its key (at most 31
    characters); NaN and infinite values as empty cells."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as workbook:
        for name, frame in sheets.items():
            _finite(frame).write_excel(workbook, worksheet=name[:31], autofit=True)
    return buffer.getvalue()


def _finite(frame: pl.DataFrame) -> pl.DataFrame:
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    if not floats:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c).is_finite()).then(pl.col(c)).otherwise(None).alias(c) for c in floats
    )
