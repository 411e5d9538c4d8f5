"""Rebuild the recorded WFS answers in this folder from bryta's bundled Malmö RegSO polygons.

Run from the repository root: ``uv run python tests/data/scb_geodata/make_fixture.py``.
See README.md for what is real in them and what is not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import shapely
from pyproj import Transformer

from bryta.geography.boundaries import bundled_boundaries

HERE = Path(__file__).parent
# three neighbouring RegSO of Malmö; the names as SCB writes them without the "RegSO-" prefix
AREAS = {
    "1280R020": "Fågelbacken",
    "1280R035": "Hästhagen-Kronprinsen",
    "1280R041": "Kronborg-Pildammsparken-Teatern",
}
OBJECT_IDS = {"1280R020": 2904, "1280R035": 2919, "1280R041": 2925}  # illustrative
TOLERANCE_M = 15.0


def features(crs: str) -> list[dict]:
    frame = bundled_boundaries("regso_malmo").filter(pl.col("code").is_in(list(AREAS)))
    frame = frame.sort("code")
    uuids = dict(
        pl.read_parquet("src/bryta/data/geo/malmo_regso_boundaries.parquet")
        .select("regsokod", "uuid")
        .iter_rows()
    )
    geoms = shapely.coverage_simplify(shapely.from_wkb(frame["geometry"].to_numpy()), TOLERANCE_M)
    if crs == "EPSG:4326":
        to_lonlat = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)

        def project(xy: np.ndarray) -> np.ndarray:
            x, y = to_lonlat.transform(xy[:, 0], xy[:, 1])
            return np.round(np.column_stack([x, y]), 8)

        geoms = shapely.transform(geoms, project)
    else:
        geoms = shapely.transform(geoms, lambda xy: np.round(xy, 4))
    out = []
    for code, geom in zip(frame["code"].to_list(), geoms, strict=True):
        assert geom.is_valid, code
        out.append(
            {
                "type": "Feature",
                "id": f"RegSO_2020.{OBJECT_IDS[code]}",
                "geometry": json.loads(shapely.to_geojson(geom)),
                "geometry_name": "sp_geometry",
                "properties": {
                    "objectid": OBJECT_IDS[code],
                    "objektidentitet": uuids[code].lower(),
                    "objekttyp": "regso",
                    "regsokod": code,
                    "regsonamn": AREAS[code],
                    "lanskod": "12",
                    "kommunkod": "1280",
                    "version": "2020_v3",
                    "ansvarig_organisation": "Statistiska centralbyrån",
                    "referensdatum": "20200101",
                },
            }
        )
    return out


def collection(feats: list[dict], matched: int, crs: str, stamp: str) -> dict:
    return {
        "type": "FeatureCollection",
        "features": feats,
        "totalFeatures": matched,
        "numberMatched": matched,
        "numberReturned": len(feats),
        "timeStamp": stamp,
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs[5:]}"}},
    }


def write(name: str, body: dict) -> None:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    (HERE / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    sweref = features("EPSG:3006")
    write(
        "regso_2020_1280_page1.json",
        collection(sweref[:2], 3, "EPSG:3006", "2026-12-06T10:15:02.311Z"),
    )
    write(
        "regso_2020_1280_page2.json",
        collection(sweref[2:], 3, "EPSG:3006", "2026-12-06T10:15:02.907Z"),
    )
    write(
        "regso_2020_1280_wgs84.json",
        collection(features("EPSG:4326"), 3, "EPSG:4326", "2026-12-06T10:16:40.118Z"),
    )
