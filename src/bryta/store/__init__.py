"""Storage: the DuckDB statistics warehouse (and, later, the intervention registry)."""

from bryta.store.warehouse import Provenance, Warehouse, WarehouseError, default_data_dir

__all__ = ["Provenance", "Warehouse", "WarehouseError", "default_data_dir"]
