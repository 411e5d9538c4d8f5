"""Swedish statistical geography: riket → län → kommun → RegSO → DeSO.

Codes (SCB): riket ``00``; län two digits (``01``); kommun four digits (``0114``, the first two
are the län); RegSO ``0114R001``; DeSO ``0114A0010`` (``^\\d{4}[ABC]\\d{4}$``). The 2018 DeSO /
2020 RegSO division is the bundled one; in SCB's API the 2025 versions carry suffixes
(``0114A0010_DeSO2025``, ``0114R001_RegSO2025``). A RegSO or DeSO code starts with its kommun.

* :mod:`bryta.geography.codes` — levels, code patterns, validation, parents read from codes;
* :mod:`bryta.geography.areas` — names and SCB's DeSO → RegSO key (bundled);
* :mod:`bryta.geography.hierarchy` — aggregation up the hierarchy and crosswalks;
* :mod:`bryta.geography.boundaries` — boundaries in SWEREF 99 TM (imported on its own: it
  loads shapely and pyproj).
"""

from bryta.geography.areas import (
    areas,
    kommun_names,
    lan_names,
    load_regso_key,
    normalise_label,
    regso_table,
)
from bryta.geography.codes import (
    LEVELS,
    VERSIONS,
    add_parents,
    code_pattern,
    level_of,
    validate_codes,
)
from bryta.geography.hierarchy import aggregate, crosswalk

__all__ = [
    "LEVELS",
    "VERSIONS",
    "add_parents",
    "aggregate",
    "areas",
    "code_pattern",
    "crosswalk",
    "kommun_names",
    "lan_names",
    "level_of",
    "load_regso_key",
    "normalise_label",
    "regso_table",
    "validate_codes",
]
