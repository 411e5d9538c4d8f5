"""bryta: measure residential segregation, coordinate the work against it, find what works.

The measurement engine in one call::

    import bryta
    results = bryta.measure(counts, unit="regso", groups=["born_sweden", "born_abroad"],
                            by=["kommun", "year"])

See ``bryta.INDICES`` for every index with its formula and reference.
"""

from bryta.compute.area_types import area_types
from bryta.compute.change import mutual_difference
from bryta.compute.counts import Counts, prepare_counts
from bryta.compute.decay import Decay
from bryta.compute.engine import measure
from bryta.compute.indices import REGISTRY as INDICES
from bryta.compute.indices import IndexSpec
from bryta.compute.inequality import group_segregation, inequality_index
from bryta.compute.inference import bootstrap, compare, expected
from bryta.compute.local import (
    exposure_matrix,
    local_entropy,
    location_quotients,
    pairwise_dissimilarity,
)
from bryta.compute.multiscalar import multiscalar_profile
from bryta.compute.mutual import mutual_local, mutual_nested, mutual_total, mutual_within
from bryta.compute.neighbourhoods import knn_contexts, radius_contexts
from bryta.compute.rank_order import rank_order
from bryta.compute.spatial import spatial_dissimilarity
from bryta.compute.spatial_information import spatial_information
from bryta.compute.tiles import tiled_knn_contexts
from bryta.compute.transitions import (
    changed_areas,
    persistence,
    population_by_type,
    transition_matrix,
)
from bryta.errors import BrytaError, CountsError, ImportFormatError
from bryta.ingest.area_types import read_area_types
from bryta.profile import area_profile

__version__ = "0.1.0"

__all__ = [
    "INDICES",
    "BrytaError",
    "Counts",
    "CountsError",
    "Decay",
    "ImportFormatError",
    "IndexSpec",
    "area_profile",
    "area_types",
    "bootstrap",
    "changed_areas",
    "compare",
    "expected",
    "exposure_matrix",
    "group_segregation",
    "inequality_index",
    "knn_contexts",
    "local_entropy",
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
    "transition_matrix",
]
