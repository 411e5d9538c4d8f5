"""RegSO and DeSO boundaries from SCB's open geodata WFS (GeoServer, workspace ``stat``, CC0).

SCB publishes its statistical areas as a WFS at ``https://geodata.scb.se/geoserver/stat/wfs``.
This client asks GetFeature for GeoJSON, page by page, optionally for one kommun, and turns
the answer into bryta's boundary frame (``code``, ``name``, ``geometry`` as WKB in SWEREF 99
TM, EPSG:3006), checked and repaired like a boundary file
(:func:`bryta.geography.boundaries.boundaries_from_wkb`)::

    from bryta.ingest.scb_geodata import GeodataClient

    with GeodataClient() as wfs:
        result = wfs.boundaries("RegSO_2020", kommun="1280")
    result.frame          # code, name, geometry (WKB, EPSG:3006)
    result.areas          # code, name, kommun, lan (the layer's attributes)
    result.provenance     # source, licence, layer, the URLs asked, when

**The layers** (``stat:`` may be left out): ``RegSO_2020`` and ``DeSO_2018`` (the divisions of
SCB's statistics up to 2023), ``RegSO_2025`` and ``DeSO_2025`` (from 2024). 3,363 RegSO in both
RegSO layers; 5,984 DeSO in 2018, 6,160 in 2025.

**What the service looks like**, as read in public sources (none of it could be checked from
here, where there is no network):

* SCB's guide *SCB:s öppna geodata via WMS- och WFS-tjänster* (2025-03-03, linked from
  scb.se's page on DeSO under "Öppna geodata") names the WFS and its output formats (JSON,
  CSV, GeoPackage, Shape); the data are CC0.
* The attributes, from the layers' ``DescribeFeatureType`` recorded in the repository
  ``deno-li/fuzzy-MCP`` (``tests/fixtures/scb_geodata_describe_regso.json`` and
  ``docs/KALLKONTROLL.md``, a logged run against the live service on 2026-10-10):
  ``objectid``, ``objektidentitet``, ``objekttyp``, the area code (``regsokod`` in the RegSO
  layers, ``desokod`` in the DeSO layers, which also carry their RegSO's ``regsokod``), the
  name ``regsonamn`` (RegSO only: DeSO have no names), ``lanskod``, ``kommunkod``,
  ``version`` (``2020_v3``, ``2018_v3``, ``2025_v2``), ``ansvarig_organisation``,
  ``referensdatum`` and the geometry ``sp_geometry`` (polygons). The layers carry no kommun
  or län *names*.
* The answer to ``outputFormat=application/json`` is a GeoJSON FeatureCollection with
  ``totalFeatures``, ``numberMatched``, ``numberReturned``, ``timeStamp`` and ``crs``
  (``{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3006"}}``); each feature
  has an ``id`` such as ``DeSO_2025.1``, ``geometry``, ``geometry_name`` and ``properties``
  (same repository, ``tests/fixtures/scb_geodata_features_wgs84.json``).
* The layers' default CRS is EPSG:3006. With ``srsName=EPSG:3006`` the coordinates are
  written easting, northing; with ``srsName=EPSG:4326`` longitude, latitude (the same
  corner of DeSO 1280C1070 read both ways in that run). Other code fetching these layers
  uses WFS 2.0.0 with ``typeNames``, ``count`` and ``startIndex`` (e.g. a script paging
  ``stat:befolkning_1km_2025`` by ``numberMatched``), ``sortBy`` for a stable order, and
  ``CQL_FILTER=kommunkod='0180'`` (127 RegSO in Stockholm).

**What this client sends**: ``service=WFS&version=2.0.0&request=GetFeature``,
``typeNames=stat:<layer>``, ``outputFormat=application/json``, ``srsName`` (EPSG:3006 unless
asked otherwise), ``sortBy=<code attribute>`` (GeoServer pages reliably only in a fixed
order), ``count`` and ``startIndex``, and ``CQL_FILTER=kommunkod='1280'`` for one kommun. It
fetches pages until ``numberMatched`` features are in; a page that adds nothing before that,
a feature without code or geometry, or a code outside the kommun asked for is a
:class:`GeodataError`.

**Coordinates**: the answer's own ``crs`` member says what its coordinates are (the
``srsName`` asked when it is missing). Geographic coordinates are taken as longitude,
latitude, the order the service was seen to write; should a server write latitude first
(every point of Sweden then has x > 50), the axes are swapped back. Everything is stored in
EPSG:3006, what :func:`bryta.app.imports.store_boundaries` stores.

Requests go through :class:`bryta.ingest._http.HttpCore` (retries on 429 and 5xx, on-disk
cache, injectable ``transport``); failures are :class:`GeodataError` (a
:class:`~bryta.errors.SourceError`) naming the URL and the HTTP status; an unknown layer or a
malformed kommun code is a :class:`GeodataQueryError` (an :class:`~bryta.errors.InputError`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import polars as pl
import shapely
from shapely.errors import GEOSException
from shapely.geometry import shape as geojson_shape

from bryta.errors import ImportFormatError, InputError
from bryta.ingest._http import HttpCore, HttpSourceError
from bryta.ingest.provenance import Provenance, Request, query_text

__all__ = [
    "LAYERS",
    "LICENCE",
    "SOURCE",
    "WFS_URL",
    "GeodataClient",
    "GeodataError",
    "GeodataQueryError",
    "GeodataResult",
    "Layer",
]

WFS_URL = "https://geodata.scb.se/geoserver/stat/wfs"
WORKSPACE = "stat"
SOURCE = "SCB öppna geodata (WFS)"
LICENCE = "CC0 1.0"
ATTRIBUTION = "Källa: SCB"
#: Features asked for per request. GeoServer's default cap on one answer is often 1,000 to
#: 10,000 features; RegSO polygons of a whole country in one answer would be ~100 MB.
PAGE_SIZE = 500
KOMMUN_ATTRIBUTE = "kommunkod"
LAN_ATTRIBUTE = "lanskod"
_KOMMUN = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Layer:
    """A WFS layer: its name, the level of its areas, and its code and name attributes."""

    name: str
    level: str  # regso or deso
    code: str
    area_name: str | None
    division: str  # the division's name as SCB writes it: RegSO 2020, DeSO 2025, ...

    @property
    def type_name(self) -> str:
        return f"{WORKSPACE}:{self.name}"


LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("RegSO_2020", "regso", "regsokod", "regsonamn", "RegSO 2020"),
        Layer("RegSO_2025", "regso", "regsokod", "regsonamn", "RegSO 2025"),
        Layer("DeSO_2018", "deso", "desokod", None, "DeSO 2018"),
        Layer("DeSO_2025", "deso", "desokod", None, "DeSO 2025"),
    )
}


class GeodataError(HttpSourceError):
    """SCB's WFS failed or answered something that is not the layer's features."""


class GeodataQueryError(InputError):
    """The request cannot be made as asked (unknown layer, bad kommun code): the user's
    mistake, not the service's, so not a :class:`GeodataError`."""


@dataclass(frozen=True)
class GeodataResult:
    """The boundaries of one fetch: ``frame`` (``code``, ``name``, ``geometry`` as WKB in
    EPSG:3006, what the warehouse stores), ``areas`` (``code``, ``name``, ``kommun``, ``lan``
    from the layer's attributes), the ``layer`` and the ``provenance``."""

    frame: pl.DataFrame
    areas: pl.DataFrame
    layer: Layer
    provenance: Provenance
    warnings: tuple[str, ...] = ()


def layer_of(name: str) -> Layer:
    """The known layer called ``name`` (``RegSO_2020`` or ``stat:RegSO_2020``)."""
    bare = name.strip()
    if bare.startswith(f"{WORKSPACE}:"):
        bare = bare[len(WORKSPACE) + 1 :]
    for known in LAYERS.values():
        if known.name.lower() == bare.lower():
            return known
    raise GeodataQueryError(
        f"unknown SCB geodata layer {name!r}; known layers: {', '.join(LAYERS)}"
    )


class GeodataClient:
    """A client of SCB's geodata WFS (see the module). ``transport``, ``sleep`` and
    ``cache_dir`` as for the other clients of :mod:`bryta.ingest._http`."""

    def __init__(
        self,
        base_url: str = WFS_URL,
        transport: httpx.BaseTransport | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        retries: int = 4,
        backoff: float = 1.0,
        sleep: Callable[[float], Any] = time.sleep,
        page_size: int = PAGE_SIZE,
        *,
        timeout: float = 120.0,
        max_wait: float = 60.0,
    ):
        if page_size < 1:
            raise GeodataQueryError(f"page_size must be at least 1, got {page_size}")
        self.base_url = base_url
        self.page_size = page_size
        self._core = HttpCore(
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": _user_agent()},
            cache_dir=cache_dir,
            retries=retries,
            backoff=backoff,
            max_wait=max_wait,
            sleep=sleep,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._core.close()

    def __enter__(self) -> GeodataClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the request ------------------------------------------------------------------------

    def params(
        self, layer: Layer, *, kommun: str | None, srs_name: str, start: int
    ) -> dict[str, str]:
        """The query of one GetFeature page."""
        params = {
            "service": "WFS",
            "version": "2.0.0",
            "request": "GetFeature",
            "typeNames": layer.type_name,
            "outputFormat": "application/json",
            "srsName": srs_name,
            "sortBy": layer.code,
            "count": str(self.page_size),
            "startIndex": str(start),
        }
        if kommun is not None:
            params["CQL_FILTER"] = f"{KOMMUN_ATTRIBUTE}='{kommun}'"
        return params

    def boundaries(
        self,
        layer: str,
        *,
        kommun: str | None = None,
        srs_name: str = "EPSG:3006",
        progress: Callable[[int, int], Any] | None = None,
    ) -> GeodataResult:
        """Every area of ``layer`` (of kommun ``kommun`` when given), fetched page by page.

        ``progress(done, total)`` is called after each page. ``srs_name`` is the CRS asked
        of the server (``EPSG:3006`` or ``EPSG:4326``); the frame is in EPSG:3006 either way.
        """
        chosen = layer_of(layer)
        if kommun is not None and not _KOMMUN.match(kommun):
            raise GeodataQueryError(
                f"--kommun must be a four-digit kommun code such as 1280, not {kommun!r}"
            )
        features: list[dict[str, Any]] = []
        requests: list[Request] = []
        crs_names: set[str] = set()
        calls, hits = self._core.calls, self._core.cache_hits
        total: int | None = None
        while total is None or len(features) < total:
            params = self.params(chosen, kommun=kommun, srs_name=srs_name, start=len(features))
            url = str(httpx.URL(self.base_url, params=params))
            answer = self._core.request(
                "GET",
                url,
                where=f"SCB geodata {chosen.type_name}",
                error=GeodataError,
            )
            requests.append(answer.request)
            page, matched, crs = _page(answer.data, url)
            if crs is not None:
                crs_names.add(crs)
            if total is None:
                total = matched
            elif matched != total:
                raise GeodataError(
                    f"SCB geodata {chosen.type_name}: the number of features changed while "
                    f"paging ({total}, then {matched}); try again (GET {url})",
                    status=200,
                    url=url,
                )
            if not page and len(features) < total:
                raise GeodataError(
                    f"SCB geodata {chosen.type_name}: {len(features)} of {total} features "
                    f"fetched, then an empty page (GET {url})",
                    status=200,
                    url=url,
                )
            features.extend(page)
            if progress is not None:
                progress(min(len(features), total), total)
        if len(features) > (total or 0):
            raise GeodataError(
                f"SCB geodata {chosen.type_name}: {len(features)} features sent, "
                f"{total} announced ({requests[-1].url})",
                status=200,
                url=requests[-1].url,
            )
        if len(crs_names) > 1:
            raise GeodataError(
                f"SCB geodata {chosen.type_name}: the pages came in different CRS "
                f"({', '.join(sorted(crs_names))})",
                status=200,
                url=requests[-1].url,
            )
        where = f"SCB geodata {chosen.type_name}" + (f" (kommun {kommun})" if kommun else "")
        crs = next(iter(crs_names), srs_name)
        areas, frame, warnings = _frame(chosen, features, crs, where, kommun)
        query = {
            "layer": chosen.type_name,
            "division": chosen.division,
            "kommun": kommun,
            "srs_name": srs_name,
            "answer_crs": crs,
            "features": len(features),
            "pages": len(requests),
        }
        provenance = Provenance(
            source=SOURCE,
            licence=LICENCE,
            table_id=chosen.type_name,
            query=query_text(query),
            retrieved_at=min((r.retrieved_at for r in requests), default=""),
            url=self.base_url,
            requests=tuple(requests),
            calls=self._core.calls - calls,
            cache_hits=self._core.cache_hits - hits,
        )
        return GeodataResult(frame, areas, chosen, provenance, tuple(warnings))


# -- reading the answer -----------------------------------------------------------------------


def _page(data: Any, url: str) -> tuple[list[dict[str, Any]], int, str | None]:
    """The features, ``numberMatched`` and the CRS name of one GeoJSON answer."""

    def bad(what: str) -> GeodataError:
        return GeodataError(
            f"SCB geodata answered {what}, not a GeoJSON FeatureCollection of the layer "
            f"(GET {url})",
            status=200,
            url=url,
        )

    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise bad(f"a {kind!r}")
    features = data.get("features")
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        raise bad("without a 'features' list")
    matched = data.get("numberMatched", data.get("totalFeatures"))
    if isinstance(matched, bool) or not isinstance(matched, int) or matched < 0:
        raise bad(f"with numberMatched {matched!r}")
    crs = data.get("crs")
    name = None
    if isinstance(crs, dict):
        name = (crs.get("properties") or {}).get("name")
        if not isinstance(name, str):
            raise bad(f"with an unreadable crs {crs!r}")
    elif crs is not None:
        raise bad(f"with an unreadable crs {crs!r}")
    return features, matched, name


def _frame(
    layer: Layer, features: list[dict[str, Any]], crs: str, where: str, kommun: str | None
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """The layer's attributes and the checked boundary frame (EPSG:3006)."""
    import warnings as warnings_module

    from pyproj import CRS
    from pyproj.exceptions import CRSError

    from bryta.geography.boundaries import boundaries_from_wkb

    codes, names, kommuner, lans, wkb = [], [], [], [], []
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties")
        if not isinstance(properties, dict):
            raise GeodataError(f"{where}: feature {number} ({feature.get('id')}) has no properties")
        code = properties.get(layer.code)
        if not isinstance(code, str) or not code:
            known = ", ".join(properties) or "none"
            raise GeodataError(
                f"{where}: feature {number} ({feature.get('id')}) has no {layer.code!r} "
                f"(its attributes: {known})"
            )
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict):
            raise GeodataError(f"{where}: area {code} has no geometry")
        try:
            shape = geojson_shape(geometry)
        except (GEOSException, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GeodataError(f"{where}: area {code} has an unreadable geometry ({exc})") from exc
        own = properties.get(KOMMUN_ATTRIBUTE)
        if kommun is not None and own != kommun:
            raise GeodataError(
                f"{where}: area {code} belongs to kommun {own!r}, not {kommun} as asked"
            )
        codes.append(code)
        names.append(properties.get(layer.area_name) if layer.area_name else None)
        kommuner.append(own)
        lans.append(properties.get(LAN_ATTRIBUTE))
        wkb.append(shapely.to_wkb(shape))
    try:
        source = CRS.from_user_input(crs)
    except CRSError as exc:
        raise GeodataError(f"{where}: the answer's CRS {crs!r} is unknown ({exc})") from exc
    if source.is_geographic and codes:
        # GeoServer writes lon/lat for EPSG:4326 in GeoJSON; latitude first shows as x > 50
        x, _ = shapely.get_coordinates(shapely.from_wkb(wkb[0]))[0]
        if x > 50:
            wkb = [
                shapely.to_wkb(shapely.transform(shapely.from_wkb(w), lambda xy: xy[:, ::-1]))
                for w in wkb
            ]
    with warnings_module.catch_warnings(record=True) as caught:
        warnings_module.simplefilter("always")
        try:
            frame = boundaries_from_wkb(where, codes, names, wkb, crs)
        except ImportFormatError as exc:
            raise GeodataError(str(exc)) from exc
    areas = pl.DataFrame(
        {"code": codes, "name": names, "kommun": kommuner, "lan": lans},
        schema={"code": pl.String, "name": pl.String, "kommun": pl.String, "lan": pl.String},
    )
    return areas.sort("code"), frame.sort("code"), [str(w.message) for w in caught]


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"bryta/{version('bryta')}"
    except Exception:  # not installed as a distribution (e.g. a bare source tree)
        return "bryta"
