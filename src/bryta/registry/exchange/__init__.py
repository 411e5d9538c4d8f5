"""Registry exchange formats: the registry CSV and JSON, programmes.csv, a demo portfolio.

The readers parse files into :class:`~bryta.registry.records.InterventionRecord` values,
checked by :mod:`bryta.registry.validation` (every problem collected, with record and field;
one :class:`~bryta.registry.validation.RecordError`, never part of a file); the writers
serialise records. The database is reached only through the service:
:func:`import_records` saves records by key (audited); an export is the service's list of
records written out (:mod:`bryta.app.registry`). :func:`load_into` (tests and benchmarks)
adds rows without the service. The formats and the mapping of the bundled
``programmes.csv`` are described in ``docs/registry_exchange.md``.
"""

from bryta.registry.exchange.database import ImportResult, import_records, load_into
from bryta.registry.exchange.programmes import (
    PROGRAMMES_FORMS,
    PROGRAMMES_SECTORS,
    read_programmes_csv,
)
from bryta.registry.exchange.registry_csv import read_registry_csv, write_registry_csv
from bryta.registry.exchange.registry_json import read_registry_json, write_registry_json
from bryta.registry.exchange.synthetic import (
    STATE_AGENCIES,
    SYNTHETIC_KOMMUNER,
    synthetic_portfolio,
)
from bryta.registry.records import CSV_COLUMNS

__all__ = [
    "CSV_COLUMNS",
    "PROGRAMMES_FORMS",
    "PROGRAMMES_SECTORS",
    "STATE_AGENCIES",
    "SYNTHETIC_KOMMUNER",
    "ImportResult",
    "import_records",
    "load_into",
    "read_programmes_csv",
    "read_registry_csv",
    "read_registry_json",
    "synthetic_portfolio",
    "write_registry_csv",
    "write_registry_json",
]
