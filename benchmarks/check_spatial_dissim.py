"""Check bryta's spatial dissimilarity against PySAL ``SpatialDissim`` on real data.

Malmö's 91 RegSO (bundled SCB boundaries) with the born abroad as the focal group, every year
of the bundled panel, queen contiguity, with and without row standardisation. Prints both
values and the largest absolute difference. Run: ``uv run --group bench python
benchmarks/check_spatial_dissim.py``.
"""

from __future__ import annotations

import time

import geopandas as gpd
import polars as pl
import shapely
from libpysal.weights import Queen
from segregation.singlegroup import SpatialDissim

from bryta.compute.spatial.dissimilarity import spatial_dissimilarity
from bryta.datasets import load_demo_panel
from bryta.geography.boundaries import bundled_boundaries


def main() -> None:
    areas = bundled_boundaries("regso_malmo")
    panel = load_demo_panel().filter(kommun="1280")
    groups = ["born_sweden", "born_abroad"]
    worst = 0.0
    for standardize in (False, True):
        started = time.perf_counter()
        ours = spatial_dissimilarity(
            panel,
            areas,
            unit="regso",
            groups=groups,
            focal="born_abroad",
            by="year",
            standardize=standardize,
        ).sort("year")
        ours_s = time.perf_counter() - started
        gdf = gpd.GeoDataFrame(
            areas.select("code").to_pandas(),
            geometry=shapely.from_wkb(areas["geometry"].to_numpy()),
            crs="EPSG:3006",
        )
        w = Queen.from_dataframe(gdf, use_index=False)
        started = time.perf_counter()
        for year, value in ours.select("year", "value").iter_rows():
            rows = panel.filter(year=year).with_columns(
                (pl.col("born_sweden") + pl.col("born_abroad")).alias("total")
            )
            data = gdf.merge(rows.to_pandas(), left_on="code", right_on="regso")
            theirs = SpatialDissim(data, "born_abroad", "total", w=w, standardize=standardize)
            worst = max(worst, abs(theirs.statistic - value))
            print(
                f"standardize={standardize} {year}: bryta {value:.15f}  "
                f"PySAL {theirs.statistic:.15f}  diff {theirs.statistic - value:+.1e}"
            )
        theirs_s = time.perf_counter() - started
        print(f"  time: bryta {ours_s:.3f} s for all years, PySAL {theirs_s:.3f} s")
    print(f"largest absolute difference: {worst:.1e}")


if __name__ == "__main__":
    main()
