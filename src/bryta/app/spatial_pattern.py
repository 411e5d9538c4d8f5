"""The spatial pattern of the foreign-born in a kommun: PySAL's 13 spatial single-group indices
over its RegSO and their boundaries, with 95 % bootstrap intervals and the value under random
allocation, for the kommun page.

:func:`spatial_pattern` computes, for the latest year of the bundled panel
(:func:`bryta.datasets.load_demo_panel`), the birth-region grouping with the born abroad as the
focal group, every index of :data:`INDICES` with ``bryta.bootstrap`` (:data:`REPLICATES`
replicates, seed :data:`SEED`, bias-corrected intervals) and ``bryta.expected``
(:data:`DRAWS` random allocations with fixed margins, seed :data:`SEED`). ``value`` equals
``bryta.measure(…, geometry=…)``. The boundaries come from :func:`bryta.app.maps.regso_boundaries`
(the warehouse's imported boundaries, else the bundled Malmö RegSO), kept to the kommun's RegSO
in the panel; a RegSO of the panel without a polygon stops the computation and is named.

The result is computed once per kommun, boundary source and warehouse version, and kept for the
process (about a second for Malmö's 91 RegSO).

>>> spatial_pattern(None, "0180")["status"]
'no_boundaries'
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import polars as pl

from bryta.app import barometer, maps

if TYPE_CHECKING:
    from bryta.app.context import Context

#: The grouping, its groups and the focal group of the section.
GROUPING = "birth_region"
GROUPS = barometer.GROUPINGS[GROUPING]
FOCAL = "born_abroad"
#: Bootstrap replicates, random allocations and the seed of both (fixed, so the page is stable).
REPLICATES = 200
DRAWS = 200
SEED = barometer.KOMMUN_SEED
#: Massey & Denton's dimensions and the spatial indices in each, in the order shown.
DIMENSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "evenness_across_borders",
        ("boundary_spatial_dissimilarity", "perimeter_area_ratio_spatial_dissimilarity"),
    ),
    ("concentration", ("delta", "absolute_concentration", "relative_concentration")),
    ("centralization", ("absolute_centralization", "relative_centralization")),
    (
        "clustering",
        (
            "spatial_proximity",
            "absolute_clustering",
            "relative_clustering",
            "distance_decay_isolation",
            "distance_decay_exposure",
            "spatial_proximity_profile",
        ),
    ),
)
#: Every index of the section (PySAL's 13 spatial single-group indices).
INDICES = tuple(index for _, indices in DIMENSIONS for index in indices)
#: The columns of :func:`spatial_table`.
COLUMNS = {
    "year": pl.Int64,
    "dimension": pl.String,
    "index": pl.String,
    "group": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "se": pl.Float64,
    "expected": pl.Float64,
    "expected_se": pl.Float64,
}


def spatial_pattern(ctx: Context | None, code: str) -> dict[str, Any]:
    """The spatial indices of kommun ``code`` (see the module), as plain data.

    ``status``: ``ok``; ``no_boundaries`` (the app has no RegSO boundaries for the kommun;
    ``how_to_import`` says how to get them); ``missing_polygons`` (the boundaries lack some of
    the kommun's RegSO, listed in ``missing``). Always: ``code``, ``year``, ``grouping``,
    ``groups``, ``focal``, ``source`` (:func:`bryta.app.maps.regso_source`), ``units`` (the
    RegSO measured), ``missing``, ``bootstrap`` (``replicates``, ``seed``, ``level``,
    ``method``), ``random_allocation`` (``draws``, ``seed``, ``fixed_margins``),
    ``how_to_import`` and ``indices``: one dict per index of :data:`INDICES` (empty unless
    ``ok``) with ``dimension``, ``index``, ``value``, ``ci_low``, ``ci_high``, ``se``,
    ``expected``, ``expected_se`` (NaN where undefined). An unknown code is
    :class:`~bryta.errors.NotFound`.
    """
    barometer.kommun_name(code)
    source = maps.regso_source(ctx, code)
    version = "bundled" if source in (None, "bundled") else maps.warehouse_version(ctx)
    path = "" if ctx is None or source in (None, "bundled") else str(ctx.settings.data_path)
    status, year, units, missing, table = _pattern(code, source, version, path)
    return {
        "code": code,
        "status": status,
        "year": year,
        "grouping": GROUPING,
        "groups": list(GROUPS),
        "focal": FOCAL,
        "source": source,
        "units": units,
        "missing": list(missing),
        "bootstrap": {
            "replicates": REPLICATES,
            "seed": SEED,
            "level": 0.95,
            "method": "bias_corrected",
        },
        "random_allocation": {"draws": DRAWS, "seed": SEED, "fixed_margins": True},
        "how_to_import": maps.HOW_TO_IMPORT,
        "indices": list(table.drop("year", "group").iter_rows(named=True)),
    }


def spatial_table(ctx: Context | None, code: str) -> pl.DataFrame:
    """:func:`spatial_pattern`'s indices as a frame of :data:`COLUMNS` (no rows unless the
    status is ``ok``), for downloads."""
    barometer.kommun_name(code)
    source = maps.regso_source(ctx, code)
    version = "bundled" if source in (None, "bundled") else maps.warehouse_version(ctx)
    path = "" if ctx is None or source in (None, "bundled") else str(ctx.settings.data_path)
    return _pattern(code, source, version, path)[4].clone()


def _boundaries(code: str, source: str, version: str, path: str) -> pl.DataFrame:
    if source == "bundled":
        frame = maps.regso_boundaries(None, code)
        assert frame is not None
        return frame
    return maps.warehouse_regso(path, version, source.split(":", 1)[1], code)


@functools.lru_cache(maxsize=64)
def _pattern(
    code: str, source: str | None, version: str, path: str
) -> tuple[str, int, int, tuple[str, ...], pl.DataFrame]:
    """(status, year, units, missing RegSO, table) for one kommun, boundary source and
    warehouse version."""
    from bryta.compute.segregation.inference import bootstrap, expected
    from bryta.datasets import load_demo_panel

    panel = load_demo_panel().filter(pl.col("kommun") == code)
    year = int(panel.get_column("year").max())  # type: ignore[arg-type]
    panel = panel.filter(pl.col("year") == year).select("regso", *GROUPS)
    units = panel.get_column("regso").unique().sort().to_list()
    empty = pl.DataFrame(schema=COLUMNS)
    if source is None:
        return "no_boundaries", year, len(units), (), empty
    boundaries = _boundaries(code, source, version, path).filter(pl.col("code").is_in(units))
    have = set(boundaries.get_column("code").to_list())
    missing = tuple(unit for unit in units if unit not in have)
    if missing:
        return "missing_polygons", year, len(units), missing, empty
    common: dict[str, Any] = {
        "unit": "regso",
        "groups": list(GROUPS),
        "indices": list(INDICES),
        "focal": FOCAL,
        "n_bootstrap": REPLICATES,
        "seed": SEED,
        "geometry": boundaries.select("code", "geometry"),
        "geometry_code": "code",
    }
    intervals = bootstrap(panel, **common)
    random = expected(panel, **{**common, "n_bootstrap": DRAWS})
    dimension = {index: dim for dim, indices in DIMENSIONS for index in indices}
    table = (
        intervals.select("index", "group", "value", "ci_low", "ci_high", "se")
        .join(random.select("index", "group", "expected", "expected_se"), on=["index", "group"])
        .filter(pl.col("group") == FOCAL)
        .with_columns(
            pl.lit(year, dtype=pl.Int64).alias("year"),
            pl.col("index").replace_strict(dimension).alias("dimension"),
            pl.col("index").replace_strict({n: i for i, n in enumerate(INDICES)}).alias("_order"),
        )
        .sort("_order")
        .select(*COLUMNS)
        .cast(COLUMNS)  # type: ignore[arg-type]
    )
    return "ok", year, len(units), (), table
