"""The barometer's numbers: segregation per riket, län and kommun and year, the kommuner.

What the web pages and the JSON API show, computed once per process from the bundled SCB
panel (RegSO 2020–2023; birth region: ``born_sweden``, ``born_abroad``; tenure: ``rental``,
``tenant_owned``, ``owner_occupied``) with the same engine call ``bryta measure`` makes, so the
values equal the command line's to the last bit. The table is computed under a lock, so two
first requests in a web server's threads compute it once; :func:`data_version` names the data
the numbers come from, for HTTP caching.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from importlib.resources import files

import polars as pl

from bryta.errors import InputError

LEVELS = ("riket", "lan", "kommun")
GROUPINGS = {
    "birth_region": ("born_sweden", "born_abroad"),
    "tenure": ("rental", "tenant_owned", "owner_occupied"),
}


def kommuner() -> pl.DataFrame:
    """Sweden's 290 kommuner: ``code``, ``name``, ``lan``, sorted by code."""
    from bryta.geography.areas import areas

    return areas("kommun").select("code", "name", "lan").sort("code")


def segregation(
    level: str = "kommun",
    *,
    year: int | None = None,
    index: str | None = None,
    group: str | None = None,
) -> pl.DataFrame:
    """Every index for every area of ``level`` and year: ``code``, ``name``, ``grouping``,
    ``year``, ``index``, ``group`` (the focal group; null for multigroup indices), ``value``.

    ``year``, ``index`` and ``group`` select rows (a ``group`` keeps the rows of that focal
    group, so multigroup indices drop out: a multigroup ``index`` with a ``group`` selects no
    rows). A value the level does not have is an :class:`~bryta.errors.InputError` naming the
    choices.
    """
    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    table = _all_levels().filter(pl.col("level") == level).drop("level")
    chosen = {"year": year, "index": index, "group": group}
    for name, value in chosen.items():
        if value is None:
            continue
        known = table.get_column(name).drop_nulls().unique().sort().to_list()
        if value not in known:
            shown = ", ".join(map(str, known))
            raise InputError(f"{name} must be one of {shown}, not {value!r}")
    for name, value in chosen.items():
        if value is not None:
            table = table.filter(pl.col(name) == value)
    return table


_LOCK = threading.Lock()
_TABLE: list[pl.DataFrame] = []


def _all_levels() -> pl.DataFrame:
    """Every level's table, computed once per process (under a lock: once, not per thread)."""
    if not _TABLE:
        with _LOCK:
            if not _TABLE:
                _TABLE.append(_compute_all_levels())
    return _TABLE[0]


def warm() -> None:
    """Compute the table now (a web server does it in the background as it starts)."""
    _all_levels()


@functools.cache
def data_version() -> str:
    """The version of the data the barometer shows: a hash of bryta's version and the bundled
    data files (the SCB exports and boundaries), so it changes with any of them.

    Where a warehouse is read, its datasets' ``stored_at`` will join it.
    """
    import bryta

    digest = hashlib.sha256(f"bryta {bryta.__version__}".encode())
    data = files("bryta") / "data"
    for folder in ("scb", "geo"):
        for entry in sorted((data / folder).iterdir(), key=lambda e: e.name):
            if entry.is_file():
                digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()[:20]


def _compute_all_levels() -> pl.DataFrame:
    from bryta.compute.segregation.engine import measure
    from bryta.datasets import load_demo_panel
    from bryta.geography.areas import areas

    panel = load_demo_panel().with_columns(riket=pl.lit("00"))
    names = {
        "riket": pl.DataFrame({"code": ["00"], "name": ["Sverige"]}),
        "lan": areas("lan").select("code", "name"),
        "kommun": areas("kommun").select("code", "name"),
    }
    parts = []
    for grouping, groups in GROUPINGS.items():
        for level in LEVELS:
            result = measure(panel, unit="regso", groups=list(groups), by=[level, "year"])
            parts.append(
                result.rename({level: "code"})
                .join(names[level], on="code", how="left")
                .select(
                    pl.lit(level).alias("level"),
                    "code",
                    "name",
                    pl.lit(grouping).alias("grouping"),
                    pl.col("year").cast(pl.Int64),
                    "index",
                    "group",
                    "value",
                )
            )
    return pl.concat(parts).sort("level", "code", "grouping", "year", "index", "group")
