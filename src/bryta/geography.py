"""Swedish statistical geography: riket → län → kommun → RegSO → DeSO.

Codes (SCB): riket ``00``; län two digits (``01``); kommun four digits (``0114``, the first two
are the län); RegSO ``0114R001``; DeSO ``0114A0010`` (``^\\d{4}[ABC]\\d{4}$``). The 2018 DeSO /
2020 RegSO division is the bundled one; in SCB's API the 2025 versions carry suffixes
(``0114A0010_DeSO2025``, ``0114R001_RegSO2025``). A RegSO or DeSO code starts with its kommun.

* :func:`validate_codes` checks a column of codes for a level and version;
* :func:`areas` lists the bundled areas of a level with names and parents;
* :func:`aggregate` sums counts up the hierarchy (DeSO → RegSO through the key; anything →
  kommun → län → riket by code);
* :func:`crosswalk` moves counts between divisions (e.g. RegSO 2020 → RegSO 2025) with a key
  file of (from, to[, weight]) rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from bryta.errors import ImportFormatError

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
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    suffix = _SUFFIX.get((level, version or ""), "")
    if version is not None and level in VERSIONS and version not in VERSIONS[level]:
        raise ValueError(f"{level} versions: {', '.join(VERSIONS[level])}, not {version!r}")
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


def _code_at(code: pl.Expr, to: str) -> pl.Expr:
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
    extra = [_code_at(code, "kommun").alias("kommun"), _code_at(code, "lan").alias("lan")]
    return frame.with_columns([e for e in extra if e.meta.output_name() not in frame.columns])


def areas(level: str) -> pl.DataFrame:
    """The bundled areas of ``level``: ``code``, ``name``, ``kommun``, ``lan`` (as available).

    >>> areas("kommun").filter(pl.col("code") == "0114").row(0)
    ('0114', 'Upplands Väsby', '01')
    """
    from bryta.ingest.scb_csv import kommun_names, lan_names, load_regso_key

    if level == "riket":
        return pl.DataFrame({"code": ["00"], "name": ["Sverige"]})
    if level == "lan":
        names = lan_names()
        return pl.DataFrame({"code": list(names), "name": list(names.values())})
    if level == "kommun":
        names = kommun_names()
        return pl.DataFrame({"code": list(names), "name": list(names.values())}).with_columns(
            lan=pl.col("code").str.slice(0, 2)
        )
    key = load_regso_key()
    if level == "regso":
        return key.select(
            pl.col("regso").alias("code"), pl.col("regso_name").alias("name"), "kommun", "lan"
        ).unique("code", maintain_order=True)
    if level == "deso":
        return (
            key.select(pl.col("deso").alias("code"), pl.col("regso"), "kommun", "lan")
            .with_columns(name=pl.col("code"))
            .select("code", "name", "regso", "kommun", "lan")
        )
    raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")


def aggregate(
    counts: pl.DataFrame,
    *,
    code: str,
    level: str,
    to: str,
    values: Sequence[str],
    key: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Sum ``values`` from ``level`` up to ``to``, keeping every other column as a key.

    DeSO → RegSO goes through the bundled key (or ``key`` with columns ``deso``, ``regso``);
    every other step reads the parent from the code. The result's code column is named ``to``.

    >>> df = pl.DataFrame({"regso": ["0114R001", "0114R002", "0180R001"], "n": [1, 2, 4]})
    >>> aggregate(df, code="regso", level="regso", to="kommun", values=["n"]).sort("kommun").rows()
    [('0114', 3), ('0180', 4)]
    """
    if LEVELS.index(to) >= LEVELS.index(level):
        raise ValueError(f"cannot aggregate from {level!r} up to {to!r}")
    validate_codes(counts.get_column(code), level)
    others = [c for c in counts.columns if c not in (code, *values)]
    frame = counts
    if level == "deso" and to != "deso":
        mapping = (
            key if key is not None else areas("deso").select(pl.col("code").alias("deso"), "regso")
        )
        frame = frame.join(
            mapping.select("deso", "regso"), left_on=code, right_on="deso", how="left"
        )
        missing = frame.filter(pl.col("regso").is_null()).get_column(code).unique()
        if missing.len():
            raise ImportFormatError(
                f"{missing.len()} DeSO codes are not in the key: {missing.head(10).to_list()}"
            )
        frame = frame.drop(code).rename({"regso": code})
        level = "regso"
    target = pl.col(code) if to == level else _code_at(pl.col(code), to)
    return (
        frame.with_columns(target.alias(to))
        .group_by([*others, to], maintain_order=True)
        .agg(pl.col(list(values)).sum())
    )


def crosswalk(
    counts: pl.DataFrame,
    key: pl.DataFrame,
    *,
    code: str,
    values: Sequence[str],
    source: str = "from",
    target: str = "to",
    weight: str | None = None,
) -> pl.DataFrame:
    """Move counts from one division to another with a key of (source, target[, weight]).

    Without ``weight`` each source code must map to exactly one target; with it, a source's
    counts are split by the weights (which must sum to 1 per source). Codes missing from the
    key are an error that lists them. The result's code column keeps the name ``code``.
    """
    needed = [source, target] + ([weight] if weight else [])
    missing_cols = [c for c in needed if c not in key.columns]
    if missing_cols:
        raise ImportFormatError(f"crosswalk key lacks column(s) {missing_cols}")
    if weight is None:
        dup = key.filter(pl.col(source).is_duplicated()).get_column(source).unique()
        if dup.len():
            raise ImportFormatError(
                f"crosswalk key maps {dup.len()} codes to several targets without a weight: "
                f"{dup.head(10).to_list()}"
            )
    else:
        sums = key.group_by(source).agg(pl.col(weight).sum())
        off = sums.filter((pl.col(weight) - 1).abs() > 1e-9)
        if off.height:
            raise ImportFormatError(
                f"crosswalk weights do not sum to 1 for {off.height} codes: "
                f"{off.get_column(source).head(10).to_list()}"
            )
    unknown = counts.join(key, left_on=code, right_on=source, how="anti").get_column(code)
    if unknown.len():
        raise ImportFormatError(
            f"{unknown.n_unique()} codes are not in the crosswalk key: "
            f"{unknown.unique().head(10).to_list()}"
        )
    others = [c for c in counts.columns if c not in (code, *values)]
    joined = counts.join(key.select(needed), left_on=code, right_on=source, how="inner")
    scaled = [(pl.col(v) * pl.col(weight)).alias(v) if weight else pl.col(v) for v in values]
    return (
        joined.with_columns(scaled)
        .drop(code)
        .rename({target: code})
        .group_by([*others, code], maintain_order=True)
        .agg(pl.col(list(values)).sum())
    )
