"""Swedish statistical geography: riket → län → kommun → RegSO → DeSO.

Codes (SCB): riket ``00``; län two digits (``01``); kommun four digits (``0114``, the first two
are the län); RegSO ``0114R001``; DeSO ``0114A0010`` (``^\\d{4}[ABC]\\d{4}$``). The 2018 DeSO /
2020 RegSO division is the bundled one; in SCB's API the 2025 versions carry suffixes
(``0114A0010_DeSO2025``, ``0114R001_RegSO2025``). A RegSO or DeSO code starts with its kommun.

* :func:`validate_codes` checks a column of codes for a level and version;
* :func:`level_of` tells the level of a column of codes, :func:`add_parents` adds the kommun
  and län read from the codes.
"""

from __future__ import annotations

import re

import polars as pl

from bryta.errors import ImportFormatError, InputError

LEVELS = ("riket", "lan", "kommun", "regso", "deso")
VERSIONS = {"regso": ("2020", "2025"), "deso": ("2018", "2025")}
_BASE = {
    "riket": r"00",
    "lan": r"\d{2}",
    "kommun": r"\d{4}",
    "regso": r"\d{4}R\d{3}",
    "deso": r"\d{4}[ABC]\d{4}",
}
_SUFFIX = {("regso", "2025"): "_RegSO2025", ("deso", "2025"): "_DeSO2025"}
_MAX_LISTED = 10


def code_pattern(level: str, version: str | None = None) -> str:
    """The regular expression of a level's codes (the 2025 versions with SCB's suffix)."""
    if level not in _BASE:
        raise InputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    suffix = _SUFFIX.get((level, version or ""), "")
    if version is not None and level in VERSIONS and version not in VERSIONS[level]:
        raise InputError(f"{level} versions: {', '.join(VERSIONS[level])}, not {version!r}")
    return rf"^{_BASE[level]}{re.escape(suffix)}$"


def validate_codes(
    codes: pl.Series, level: str, *, version: str | None = None, source: str = ""
) -> None:
    """Raise :class:`ImportFormatError` naming the first invalid codes and their rows.

    >>> validate_codes(pl.Series("kommun", ["0114", "0180"]), "kommun")
    >>> validate_codes(pl.Series("kommun", ["0114", "114"]), "kommun")
    Traceback (most recent call last):
    ...
    bryta.errors.ImportFormatError: column 'kommun': 1 code is not a kommun code ...: row 2 '114'
    """
    text = codes.cast(pl.String)
    bad = ~text.str.contains(code_pattern(level, version)).fill_null(False)
    if not bad.any():
        return
    rows = bad.arg_true()
    shown = ", ".join(f"row {i + 1} {text[i]!r}" for i in rows[:_MAX_LISTED].to_list())
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    where = f"{source}: " if source else ""
    noun = "code is" if len(rows) == 1 else "codes are"
    raise ImportFormatError(
        f"{where}column {codes.name!r}: {len(rows)} {noun} not a {level} code "
        f"{code_pattern(level, version)}: {shown}{more}"
    )


_PREFIX = {"kommun": 4, "lan": 2}


def code_at(code: pl.Expr, to: str) -> pl.Expr:
    """The code of the area at level ``to`` that contains ``code`` (read from the code)."""
    return pl.lit("00") if to == "riket" else code.str.slice(0, _PREFIX[to])


def level_of(codes: pl.Series) -> str | None:
    """The level (any version) all of ``codes`` belong to, or None.

    >>> level_of(pl.Series(["0114R001_RegSO2025", "0180R010_RegSO2025"]))
    'regso'
    """
    text = codes.cast(pl.String).drop_nulls()
    if text.len() == 0:
        return None
    for level in ("deso", "regso", "kommun", "lan"):
        for version in (None, *VERSIONS.get(level, ())):
            if text.str.contains(code_pattern(level, version)).all():
                return level
    return None


def add_parents(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Add ``kommun`` and ``lan`` columns read from the codes in ``column`` (RegSO, DeSO or
    kommun codes of any version); the frame is returned unchanged for other columns.

    >>> add_parents(pl.DataFrame({"Region": ["0114R001"]}), "Region").row(0)
    ('0114R001', '0114', '01')
    """
    level = level_of(frame.get_column(column))
    if level not in ("deso", "regso", "kommun"):
        return frame
    code = pl.col(column).cast(pl.String)
    extra = [code_at(code, "kommun").alias("kommun"), code_at(code, "lan").alias("lan")]
    return frame.with_columns([e for e in extra if e.meta.output_name() not in frame.columns])
