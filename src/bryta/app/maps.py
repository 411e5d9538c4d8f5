"""RegSO boundaries for maps: from the warehouse where they were imported, else bundled.

The pages draw a kommun's RegSO where boundaries exist. They come from, in this order:

1. the warehouse of the context (``bryta import boundaries --scb RegSO_2020`` stores them
   there): any ``geometries`` dataset of level ``regso`` holding the kommun's areas, the
   layer ``stat:RegSO_2020`` first (the division of the bundled statistics), then boundary
   files imported with ``--level regso``; SCB's ``RegSO_2025`` layer is left out, since its
   areas are not those of the 2020 division the pages' numbers are for, even where the codes
   are the same;
2. the bundled boundaries (Malmö's RegSO).

What is read is kept per **warehouse version** (the file's modification time and size), so a
fresh import shows on the next request and nothing is read again while the file is unchanged.

>>> regso_boundaries(None, "1280").height, regso_boundaries(None, "0180") is None
(91, True)
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from bryta.app.context import Context

#: The kommuner whose RegSO boundaries are bundled, and the bundled level holding them.
BUNDLED_REGSO = {"1280": "regso_malmo"}
#: The SCB layer the pages prefer, and layers never used for the pages' RegSO maps.
PREFERRED_LAYER = "stat:RegSO_2020"
OTHER_DIVISIONS = frozenset({"stat:RegSO_2025"})
#: How to get boundaries, for pages and messages.
HOW_TO_IMPORT = "bryta import boundaries --scb RegSO_2020"

_LOCK = threading.Lock()


def warehouse_version(ctx: Context | None) -> str:
    """A token that changes whenever the context's warehouse file changes ("none" without one).

    Cheap (one ``stat``), so it can be asked on every request.
    """
    if ctx is None:
        return "none"
    from bryta.warehouse import FILE_NAME

    try:
        info = (Path(ctx.settings.data_path) / FILE_NAME).stat()
    except OSError:
        return "none"
    return f"{info.st_mtime_ns}-{info.st_size}"


def regso_source(ctx: Context | None, kommun: str) -> str | None:
    """Where kommun ``kommun``'s RegSO boundaries come from: ``warehouse:<dataset>``,
    ``bundled``, or None when there are none."""
    if ctx is not None:
        version = warehouse_version(ctx)
        if version != "none":
            name = _index(str(ctx.settings.data_path), version).get(kommun)
            if name is not None:
                return f"warehouse:{name}"
    return "bundled" if kommun in BUNDLED_REGSO else None


def has_regso_boundaries(ctx: Context | None, kommun: str) -> bool:
    """Whether a RegSO map of ``kommun`` can be drawn."""
    return regso_source(ctx, kommun) is not None


def regso_boundaries(ctx: Context | None, kommun: str) -> pl.DataFrame | None:
    """The RegSO of ``kommun`` (``code``, ``name``, ``geometry`` as WKB in EPSG:3006), from
    the warehouse or the bundled files; None where there are none."""
    source = regso_source(ctx, kommun)
    if source is None:
        return None
    if source == "bundled":
        from bryta.geography.boundaries import bundled_boundaries

        frame = bundled_boundaries(BUNDLED_REGSO[kommun])
        return frame.filter(pl.col("code").str.starts_with(kommun))
    assert ctx is not None
    return warehouse_regso(
        str(ctx.settings.data_path), warehouse_version(ctx), source.split(":", 1)[1], kommun
    )


def regso_geojson(ctx: Context | None, kommun: str) -> bytes | None:
    """The kommun's RegSO as GeoJSON (lon/lat, simplified to 20 m), or None without them."""
    source = regso_source(ctx, kommun)
    if source is None:
        return None
    if source == "bundled" or ctx is None:
        path, version = "", "bundled"
    else:
        path, version = str(ctx.settings.data_path), warehouse_version(ctx)
    with _LOCK:
        return _geojson(path, version, source, kommun)


def regso_bounds(ctx: Context | None, kommun: str) -> tuple[float, float, float, float]:
    """West, south, east, north (lon/lat) of the kommun's RegSO boundaries."""
    geojson = json.loads(regso_geojson(ctx, kommun) or b'{"features": []}')
    lons: list[float] = []
    lats: list[float] = []

    def walk(coordinates: Any) -> None:
        if coordinates and isinstance(coordinates[0], (int, float)):
            lons.append(coordinates[0])
            lats.append(coordinates[1])
            return
        for part in coordinates:
            walk(part)

    for feature in geojson["features"]:
        walk(feature["geometry"]["coordinates"])
    if not lons:
        raise ValueError(f"no RegSO boundaries for kommun {kommun!r}")
    return min(lons), min(lats), max(lons), max(lats)


# ---- cached reads, per warehouse version ---------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _geojson(path: str, version: str, source: str, kommun: str) -> bytes | None:
    from bryta.geography.boundaries import simplified_geojson

    frame: pl.DataFrame | None
    if path:
        frame = warehouse_regso(path, version, source.split(":", 1)[1], kommun)
    else:
        frame = regso_boundaries(None, kommun)
    if frame is None or frame.is_empty():
        return None
    geojson = simplified_geojson(frame, tolerance_m=20, precision=5)
    return json.dumps(geojson, separators=(",", ":"), ensure_ascii=False).encode()


@functools.lru_cache(maxsize=4)
def _index(path: str, version: str) -> dict[str, str]:
    """kommun code → the warehouse dataset with its RegSO, for one version of the file."""
    from bryta.warehouse import Warehouse, WarehouseError

    found: dict[str, str] = {}
    try:
        with Warehouse.open(path, read_only=True) as wh:
            listed = wh.list().filter(pl.col("kind") == "geometries")
            candidates = []
            for name in listed.get_column("name").to_list():
                query = _query(wh.info(name).get("query"))
                layer = query.get("layer")
                if query.get("level") != "regso" or layer in OTHER_DIVISIONS:
                    continue
                # the preferred layer first, then by name
                rank = 0 if layer == PREFERRED_LAYER else 1
                candidates.append((rank, name))
            for _, name in sorted(candidates):
                codes = _dataset(path, version, name).get_column("code")
                for kommun in codes.str.slice(0, 4).unique().to_list():
                    found.setdefault(kommun, name)
    except WarehouseError:
        return {}  # an unreadable warehouse draws what is bundled; the page says no more
    return found


@functools.lru_cache(maxsize=32)
def warehouse_regso(path: str, version: str, name: str, kommun: str) -> pl.DataFrame:
    """The RegSO of ``kommun`` in the warehouse at ``path`` (boundary dataset ``name``),
    cached per warehouse ``version``: the maps and the spatial indices share one read."""
    frame = _dataset(path, version, name)
    return frame.filter(pl.col("code").str.starts_with(kommun)).sort("code")


@functools.lru_cache(maxsize=2)
def _dataset(path: str, version: str, name: str) -> pl.DataFrame:
    """A whole boundary dataset, read once per warehouse version (all RegSO of Sweden are
    some tens of MB; only the latest two are kept)."""
    from bryta.warehouse import Warehouse

    with Warehouse.open(path, read_only=True) as wh:
        return wh.get(name)


def _query(text: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
