"""The barometer's numbers: segregation per riket, län and kommun and year, the kommuner.

What the web pages and the JSON API show, computed once per process from the bundled SCB
panel (RegSO 2020–2023; birth region: ``born_sweden``, ``born_abroad``; tenure: ``rental``,
``tenant_owned``, ``owner_occupied``) with the same engine call ``bryta measure`` makes, so the
values equal the command line's to the last bit. The table is computed under a lock, so two
first requests in a web server's threads compute it once; :func:`data_version` names the data
the numbers come from (the bundled files and the warehouse's datasets) and
:func:`data_modified` says when it last changed, for HTTP caching.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from bryta.errors import InputError

if TYPE_CHECKING:
    from bryta.app.context import Context

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


def data_version(ctx: Context | None = None) -> str:
    """The version of the data the barometer shows: a hash of bryta's version and the bundled
    data files (the SCB exports and boundaries) and, with a context, of what its warehouse
    holds (every dataset's name, kind, rows, columns, file checksum and ``stored_at``), so it
    changes with any of them: storing, replacing or dropping a dataset gives a new version.

    Cheap to call on every request: the warehouse's catalogue is read again only when its file
    changed (size or modification time).
    """
    bundled = _bundled_version()
    if ctx is None:
        return bundled
    state = warehouse_state(ctx)
    if not state.datasets:
        return bundled
    return state.version(bundled)


def data_modified(ctx: Context | None = None) -> datetime:
    """When the data of :func:`data_version` last changed (UTC, whole seconds, for
    ``Last-Modified``): the newest of the bundled data files' modification times and, with a
    context, the warehouse file's modification time and its newest ``stored_at``."""
    newest = _bundled_modified()
    if ctx is not None:
        state = warehouse_state(ctx)
        if state.modified is not None:
            newest = max(newest, state.modified)
    return newest


@functools.cache
def _bundled_version() -> str:
    import bryta

    digest = hashlib.sha256(f"bryta {bryta.__version__}".encode())
    for entry in _bundled_files():
        digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    return digest.hexdigest()[:20]


@functools.cache
def _bundled_modified() -> datetime:
    newest = max(entry.stat().st_mtime for entry in _bundled_files())
    return datetime.fromtimestamp(int(newest), UTC)


def _bundled_files() -> list[Path]:
    data = Path(str(files("bryta") / "data"))
    return [
        entry
        for folder in ("scb", "geo")
        for entry in sorted((data / folder).iterdir(), key=lambda e: e.name)
        if entry.is_file()
    ]


@dataclass(frozen=True)
class WarehouseState:
    """What a warehouse holds: its catalogue rows (``datasets``, sorted by name), the file's
    newest change (``modified``), and the file's size and times it was read at."""

    signature: tuple[tuple[int, int], ...] | None
    datasets: tuple[dict[str, Any], ...]
    modified: datetime | None

    def version(self, bundled: str) -> str:
        digest = hashlib.sha256(bundled.encode())
        for record in self.datasets:
            what = {k: record.get(k) for k in _VERSIONED}
            digest.update(json.dumps(what, sort_keys=True, default=str).encode() + b"\0")
        return digest.hexdigest()[:20]


_VERSIONED = ("name", "kind", "rows", "columns", "sha256", "stored_at")
_STATES: dict[Path, WarehouseState] = {}
_STATE_LOCK = threading.Lock()
#: Seconds a web request waits for a warehouse file held by a writer before it keeps the
#: catalogue it read last (a new import is then seen by the next request).
STATE_TIMEOUT = 2.0


def warehouse_state(ctx: Context) -> WarehouseState:
    """The catalogue of the context's warehouse, read again only when the file changed."""
    from bryta.warehouse import FILE_NAME, Warehouse, WarehouseUnavailable

    path = ctx.settings.data_path / FILE_NAME
    signature = _signature(path)
    known = _STATES.get(path)
    if known is not None and known.signature == signature:
        return known
    with _STATE_LOCK:
        known = _STATES.get(path)
        if known is not None and known.signature == signature:
            return known
        if signature is None:
            state = WarehouseState(None, (), None)
        else:
            try:
                records = Warehouse(path, read_only=True, timeout=STATE_TIMEOUT).catalogue()
            except WarehouseUnavailable:
                if known is not None:
                    return known  # held by a writer: the next request reads it again
                raise
            newest = max(mtime for _, mtime in signature) // 1_000_000_000
            stored = [_parse_time(r.get("stored_at")) for r in records]
            times = [datetime.fromtimestamp(newest, UTC), *(t for t in stored if t is not None)]
            state = WarehouseState(signature, tuple(records), max(times))
        _STATES[path] = state
        return state


def _signature(path: Path) -> tuple[tuple[int, int], ...] | None:
    """Size and modification time of the warehouse file and its write-ahead log."""
    parts = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            continue
        parts.append((stat.st_size, stat.st_mtime_ns))
    return tuple(parts) if parts else None


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


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


# ---- one kommun -------------------------------------------------------------------------------
#: The kommun page's indices per grouping: (index, focal group or None for a multigroup index).
KOMMUN_INDICES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "birth_region": (
        ("dissimilarity", "born_abroad"),
        ("theil_h", None),
        ("mutual_information", None),
    ),
    "tenure": (("dissimilarity", "rental"), ("theil_h", None), ("mutual_information", None)),
}
#: Bootstrap replicates and seed of the kommun page: fixed, so a page shows the same numbers
#: on every request and in every worker.
KOMMUN_BOOTSTRAP = 200
KOMMUN_SEED = 2020
#: How many similar kommuner a kommun is compared with, and the year of the comparison (the
#: year of SCB's official area types).
SIMILAR = 10
AREA_TYPE_YEAR = 2022


def kommun_name(code: str) -> str:
    """The name of kommun ``code``; an unknown code is :class:`~bryta.errors.NotFound`."""
    from bryta.errors import NotFound

    found = kommuner().filter(pl.col("code") == code)
    if found.height == 0:
        raise NotFound(f"{code!r} is not a kommun of the bundled geography (e.g. 1280 for Malmö)")
    return str(found.get_column("name")[0])


def kommun_intervals(code: str) -> pl.DataFrame:
    """The kommun's segregation over its RegSO per year with 95 % bootstrap intervals:
    ``grouping``, ``year``, ``index``, ``group``, ``value``, ``se``, ``ci_low``, ``ci_high``.

    ``bryta.bootstrap`` on the bundled panel of the kommun, ``by=["year"]``, with
    :data:`KOMMUN_BOOTSTRAP` replicates and the seed :data:`KOMMUN_SEED` (intervals
    bias-corrected, the engine's default); the indices of :data:`KOMMUN_INDICES`. ``value``
    equals ``bryta measure``. Computed once per kommun and process.
    """
    kommun_name(code)
    return _kommun_intervals(code).clone()


@functools.lru_cache(maxsize=512)
def _kommun_intervals(code: str) -> pl.DataFrame:
    from bryta.compute.segregation.inference import bootstrap
    from bryta.datasets import load_demo_panel

    panel = load_demo_panel().filter(pl.col("kommun") == code)
    parts = []
    for grouping, chosen in KOMMUN_INDICES.items():
        focal = next(group for _, group in chosen if group is not None)
        result = bootstrap(
            panel,
            unit="regso",
            groups=list(GROUPINGS[grouping]),
            by=["year"],
            indices=[index for index, _ in chosen],
            focal=focal,
            n_bootstrap=KOMMUN_BOOTSTRAP,
            seed=KOMMUN_SEED,
        )
        keep = pl.any_horizontal(
            [
                (pl.col("index") == index)
                & (pl.col("group").is_null() if group is None else pl.col("group") == group)
                for index, group in chosen
            ]
        )
        parts.append(
            result.filter(keep).select(
                pl.lit(grouping).alias("grouping"),
                pl.col("year").cast(pl.Int64),
                "index",
                "group",
                "value",
                "se",
                "ci_low",
                "ci_high",
            )
        )
    return pl.concat(parts)


def kommun_regso(code: str) -> pl.DataFrame:
    """The kommun's RegSO: ``code``, ``name``, ``area_type`` (SCB's official type of
    :data:`AREA_TYPE_YEAR`, 1–5) and ``population`` (born in Sweden + born abroad, that year),
    sorted by code."""
    kommun_name(code)
    return _area_facts().filter(pl.col("kommun") == code).drop("kommun")


@functools.cache
def _area_facts() -> pl.DataFrame:
    from bryta.datasets import load_demo_panel, official_area_types
    from bryta.geography.areas import areas

    population = load_demo_panel().filter(pl.col("year") == AREA_TYPE_YEAR)
    types = official_area_types().filter(pl.col("year") == AREA_TYPE_YEAR)
    return (
        areas("regso")
        .select("code", "name", "kommun")
        .join(types.select(pl.col("regso").alias("code"), "area_type"), on="code", how="left")
        .join(
            population.select(
                pl.col("regso").alias("code"),
                (pl.col("born_sweden") + pl.col("born_abroad")).alias("population"),
            ),
            on="code",
            how="left",
        )
        .sort("code")
    )


def kommun_mix() -> pl.DataFrame:
    """Every kommun's ``population`` and ``share_types_1_2`` (the share of its population
    living in RegSO of official area type 1 or 2), in :data:`AREA_TYPE_YEAR`."""
    facts = _area_facts()
    return (
        facts.group_by("kommun")
        .agg(
            pl.col("population").sum(),
            pl.col("population").filter(pl.col("area_type") <= 2).sum().alias("high_need"),
        )
        .select(
            pl.col("kommun").alias("code"),
            "population",
            (pl.col("high_need") / pl.col("population")).alias("share_types_1_2"),
        )
        .join(kommuner().select("code", "name"), on="code")
        .select("code", "name", "population", "share_types_1_2")
        .sort("code")
    )


def similar_kommuner(code: str, n: int = SIMILAR) -> pl.DataFrame:
    """The ``n`` kommuner most like kommun ``code`` in size and area-type mix: ``code``,
    ``name``, ``population``, ``share_types_1_2``, ``distance``, nearest first.

    The distance is Euclidean over two standardised measures across the 290 kommuner (each
    minus its mean, over its standard deviation): the natural log of the population and the
    share of the population in area types 1–2, both in :data:`AREA_TYPE_YEAR`. Ties go by code.
    """
    kommun_name(code)
    mix = kommun_mix().with_columns(pl.col("population").log().alias("_size"))
    z = [
        ((pl.col(c) - pl.col(c).mean()) / pl.col(c).std(ddof=0))
        for c in ("_size", "share_types_1_2")
    ]
    mix = mix.with_columns(z[0].alias("_z_size"), z[1].alias("_z_mix"))
    me = mix.filter(pl.col("code") == code).row(0, named=True)
    return (
        mix.filter(pl.col("code") != code)
        .with_columns(
            ((pl.col("_z_size") - me["_z_size"]) ** 2 + (pl.col("_z_mix") - me["_z_mix"]) ** 2)
            .sqrt()
            .alias("distance")
        )
        .sort("distance", "code")
        .head(n)
        .select("code", "name", "population", "share_types_1_2", "distance")
    )
