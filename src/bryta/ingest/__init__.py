"""Importers for official statistics (SCB Statistikdatabasen CSV exports) and bundled data."""

from bryta.ingest.scb_csv import (
    BIRTH_REGION_EXPORT,
    KEY_FILE,
    MISSING_MARKERS,
    TENURE_EXPORT,
    bundled_file,
    kommun_names,
    lan_names,
    load_demo_panel,
    load_regso_key,
    normalise_label,
    read_scb_export,
    regso_table,
)

__all__ = [
    "BIRTH_REGION_EXPORT",
    "KEY_FILE",
    "MISSING_MARKERS",
    "TENURE_EXPORT",
    "bundled_file",
    "kommun_names",
    "lan_names",
    "load_demo_panel",
    "load_regso_key",
    "normalise_label",
    "read_scb_export",
    "regso_table",
]
