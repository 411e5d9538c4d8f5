"""The indicator catalogue: declared indicators, checked against their tables, loaded per area.

See ``docs/indicators.md``. :func:`catalogue` lists the entries of
``bryta/data/indicators.toml``; :func:`load_indicator` fetches one from SCB and
:func:`indicator_from_jsonstat` imports it from a downloaded JSON-stat file.
"""

from bryta.indicators.catalogue import (
    BREAKDOWNS,
    DOMAINS,
    UNITS,
    Breakdown,
    CatalogueError,
    Definition,
    Indicator,
    IndicatorError,
    Source,
    Verification,
    catalogue,
    check_against_metadata,
    indicator,
    load_catalogue,
)
from bryta.indicators.load import indicator_from_jsonstat, load_indicator, stored_indicators

__all__ = [
    "BREAKDOWNS",
    "DOMAINS",
    "UNITS",
    "Breakdown",
    "CatalogueError",
    "Definition",
    "Indicator",
    "IndicatorError",
    "Source",
    "Verification",
    "catalogue",
    "check_against_metadata",
    "indicator",
    "indicator_from_jsonstat",
    "load_catalogue",
    "load_indicator",
    "stored_indicators",
]
