"""bryta: measure residential segregation, coordinate the work against it, find what works.

The measurement engine in one call::

    import bryta
    results = bryta.measure(counts, unit="regso", groups=["born_sweden", "born_abroad"],
                            by=["kommun", "year"])

See ``bryta.INDICES`` for every index with its formula and reference.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> (module, attribute). Imported on first use, so that ``import bryta`` and the
# command line start fast: scipy, shapely, numba and the like load only where they are used.
_PUBLIC: dict[str, tuple[str, str]] = {
    "BrytaError": ("bryta.errors", "BrytaError"),
    "Counts": ("bryta.compute.segregation.counts", "Counts"),
    "CountsError": ("bryta.errors", "CountsError"),
    "Decay": ("bryta.compute.spatial.decay", "Decay"),
    "INDICES": ("bryta.compute.segregation.indices", "REGISTRY"),
    "LOCAL_MEASURES": ("bryta.compute.spatial.local", "LOCAL_MEASURES"),
    "ImportFormatError": ("bryta.errors", "ImportFormatError"),
    "IndexSpec": ("bryta.compute.segregation.indices", "IndexSpec"),
    "InputError": ("bryta.errors", "InputError"),
    "NotFound": ("bryta.errors", "NotFound"),
    "SPATIAL_INDICES": ("bryta.compute.spatial.indices", "SPATIAL_REGISTRY"),
    "SourceError": ("bryta.errors", "SourceError"),
    "WatchRule": ("bryta.compute.conditions.early_warning", "WatchRule"),
    "area_profile": ("bryta.app.profiles", "area_profile"),
    "area_types": ("bryta.compute.conditions.area_types", "area_types"),
    "backtest_watch": ("bryta.compute.conditions.early_warning", "backtest"),
    "bootstrap": ("bryta.compute.segregation.inference", "bootstrap"),
    "changed_areas": ("bryta.compute.conditions.transitions", "changed_areas"),
    "compare": ("bryta.compute.segregation.inference", "compare"),
    "con_prof_profile": ("bryta.compute.segregation.variants", "con_prof_profile"),
    "decompose_difference": ("bryta.compute.segregation.shapley", "decompose_difference"),
    "expected": ("bryta.compute.segregation.inference", "expected"),
    "exposure_matrix": ("bryta.compute.segregation.local", "exposure_matrix"),
    "group_segregation": ("bryta.compute.segregation.inequality", "group_segregation"),
    "inequality_index": ("bryta.compute.segregation.inequality", "inequality_index"),
    "knn_contexts": ("bryta.compute.spatial.neighbourhoods", "knn_contexts"),
    "local_entropy": ("bryta.compute.segregation.local", "local_entropy"),
    "local_measures": ("bryta.compute.spatial.local", "local_measures"),
    "location_quotients": ("bryta.compute.segregation.local", "location_quotients"),
    "measure": ("bryta.compute.segregation.engine", "measure"),
    "multiscalar_profile": ("bryta.compute.spatial.multiscalar", "multiscalar_profile"),
    "mutual_difference": ("bryta.compute.segregation.change", "mutual_difference"),
    "mutual_local": ("bryta.compute.segregation.mutual", "mutual_local"),
    "mutual_nested": ("bryta.compute.segregation.mutual", "mutual_nested"),
    "mutual_total": ("bryta.compute.segregation.mutual", "mutual_total"),
    "mutual_within": ("bryta.compute.segregation.mutual", "mutual_within"),
    "pairwise_dissimilarity": ("bryta.compute.segregation.local", "pairwise_dissimilarity"),
    "persistence": ("bryta.compute.conditions.transitions", "persistence"),
    "population_by_type": ("bryta.compute.conditions.transitions", "population_by_type"),
    "prepare_counts": ("bryta.compute.segregation.counts", "prepare_counts"),
    "radius_contexts": ("bryta.compute.spatial.neighbourhoods", "radius_contexts"),
    "rank_order": ("bryta.compute.segregation.rank_order", "rank_order"),
    "read_area_types": ("bryta.ingest.official_types", "read_area_types"),
    "spatial_dissimilarity": ("bryta.compute.spatial.dissimilarity", "spatial_dissimilarity"),
    "spatial_information": ("bryta.compute.spatial.information", "spatial_information"),
    "tiled_knn_contexts": ("bryta.compute.spatial.tiles", "tiled_knn_contexts"),
    "trajectories": ("bryta.compute.conditions.early_warning", "trajectories"),
    "transition_matrix": ("bryta.compute.conditions.transitions", "transition_matrix"),
    "transition_risk": ("bryta.compute.conditions.early_warning", "transition_risk"),
    "watch_list": ("bryta.compute.conditions.early_warning", "watch_list"),
}

__all__ = [
    "INDICES",
    "LOCAL_MEASURES",
    "SPATIAL_INDICES",
    "BrytaError",
    "Counts",
    "CountsError",
    "Decay",
    "ImportFormatError",
    "IndexSpec",
    "InputError",
    "NotFound",
    "SourceError",
    "WatchRule",
    "area_profile",
    "area_types",
    "backtest_watch",
    "bootstrap",
    "changed_areas",
    "compare",
    "con_prof_profile",
    "decompose_difference",
    "expected",
    "exposure_matrix",
    "group_segregation",
    "inequality_index",
    "knn_contexts",
    "local_entropy",
    "local_measures",
    "location_quotients",
    "measure",
    "multiscalar_profile",
    "mutual_difference",
    "mutual_local",
    "mutual_nested",
    "mutual_total",
    "mutual_within",
    "pairwise_dissimilarity",
    "persistence",
    "population_by_type",
    "prepare_counts",
    "radius_contexts",
    "rank_order",
    "read_area_types",
    "spatial_dissimilarity",
    "spatial_information",
    "tiled_knn_contexts",
    "trajectories",
    "transition_matrix",
    "transition_risk",
    "watch_list",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'bryta' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


if TYPE_CHECKING:
    from bryta.app.profiles import area_profile
    from bryta.compute.conditions.area_types import area_types
    from bryta.compute.conditions.early_warning import (
        WatchRule,
        trajectories,
        transition_risk,
        watch_list,
    )
    from bryta.compute.conditions.early_warning import backtest as backtest_watch
    from bryta.compute.conditions.transitions import (
        changed_areas,
        persistence,
        population_by_type,
        transition_matrix,
    )
    from bryta.compute.segregation.change import mutual_difference
    from bryta.compute.segregation.counts import Counts, prepare_counts
    from bryta.compute.segregation.engine import measure
    from bryta.compute.segregation.indices import REGISTRY as INDICES
    from bryta.compute.segregation.indices import IndexSpec
    from bryta.compute.segregation.inequality import group_segregation, inequality_index
    from bryta.compute.segregation.inference import bootstrap, compare, expected
    from bryta.compute.segregation.local import (
        exposure_matrix,
        local_entropy,
        location_quotients,
        pairwise_dissimilarity,
    )
    from bryta.compute.segregation.mutual import (
        mutual_local,
        mutual_nested,
        mutual_total,
        mutual_within,
    )
    from bryta.compute.segregation.rank_order import rank_order
    from bryta.compute.segregation.shapley import decompose_difference
    from bryta.compute.segregation.variants import con_prof_profile
    from bryta.compute.spatial.decay import Decay
    from bryta.compute.spatial.dissimilarity import spatial_dissimilarity
    from bryta.compute.spatial.indices import SPATIAL_REGISTRY as SPATIAL_INDICES
    from bryta.compute.spatial.information import spatial_information
    from bryta.compute.spatial.local import LOCAL_MEASURES, local_measures
    from bryta.compute.spatial.multiscalar import multiscalar_profile
    from bryta.compute.spatial.neighbourhoods import knn_contexts, radius_contexts
    from bryta.compute.spatial.tiles import tiled_knn_contexts
    from bryta.errors import (
        BrytaError,
        CountsError,
        ImportFormatError,
        InputError,
        NotFound,
        SourceError,
    )
    from bryta.ingest.official_types import read_area_types
