"""The areas of Swedish statistical geography: names, and SCB's DeSO → RegSO → kommun key.

The bundled tables (``bryta/data/scb``): kommun and län names, and the key DeSO 2018 →
RegSO 2020 (5,984 DeSO, 3,363 RegSO). :func:`areas` lists a level's areas with names and
parents; :func:`load_regso_key` reads the bundled key or another edition of it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import polars as pl

from bryta._files import PathLike, bundled_file, read_bytes, read_plain_csv
from bryta.errors import ImportFormatError, InputError
from bryta.geography.codes import LEVELS, level_of

#: Bundled SCB key DeSO 2018 -> RegSO 2020 -> kommun.
KEY_FILE = "deso2018_regso2020_key.csv"
_KOMMUN_FILE = "kommun.csv"
_LAN_FILE = "lan.csv"
_MAX_LISTED = 10
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


def normalise_labels(series: pl.Series, known: pl.Series | None = None) -> pl.Series:
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
    return _load_key(*read_bytes(path))


@functools.cache
def _bundled_key() -> pl.DataFrame:
    resource = bundled_file(KEY_FILE)
    return _load_key(resource.read_bytes(), f"bryta/data/scb/{KEY_FILE}")


def _load_key(data: bytes, source: str) -> pl.DataFrame:
    raw = read_plain_csv(data)
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
    key = key.with_columns(normalise_labels(labels))

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
    return read_plain_csv(bundled_file(name).read_bytes())


def areas(level: str) -> pl.DataFrame:
    """The bundled areas of ``level``: ``code``, ``name``, ``kommun``, ``lan`` (as available).

    >>> areas("kommun").filter(pl.col("code") == "0114").row(0)
    ('0114', 'Upplands Väsby', '01')
    """
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
    raise InputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")


#: Code columns that get a name column beside them, and the level of their codes.
NAMED_LEVELS = {"kommun": "kommun", "lan": "lan", "regso": "regso"}


def with_area_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``<column>_name`` right after each ``kommun``, ``lan`` and ``regso`` column that
    holds valid codes of its level (names from :func:`bryta.geography.areas.areas`; null
    for a code the bundled lists do not know). Other frames are returned unchanged.

    >>> with_area_names(pl.DataFrame({"kommun": ["0114"], "value": [0.5]})).row(0)
    ('0114', 'Upplands Väsby', 0.5)
    """
    for column, level in NAMED_LEVELS.items():
        name = f"{column}_name"
        if column not in frame.columns or name in frame.columns:
            continue
        codes = frame.get_column(column)
        if codes.dtype != pl.String or level_of(codes) != level:
            continue
        lookup = areas(level).select(pl.col("code").alias(column), pl.col("name").alias(name))
        order = list(frame.columns)
        order.insert(order.index(column) + 1, name)
        frame = frame.join(lookup, on=column, how="left", maintain_order="left").select(order)
    return frame
