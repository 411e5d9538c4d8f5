"""Registry exchange formats: plain records, the registry CSV and JSON, programmes.csv, a demo.

Pure on purpose: the readers parse and validate files into :class:`InterventionRecord` values,
the writers serialise them, and nothing touches the database — the service layer persists
records. The exceptions, in :mod:`~bryta.registry.exchange.database`:
:func:`import_records` (through the service, audited), :func:`records_from_database` (for
export) and :func:`load_into` (seeding and tests, no audit). The formats and the mapping of the
bundled ``programmes.csv`` are described in ``docs/registry_exchange.md``.

Every reader checks every row and raises one :class:`~bryta.errors.ImportFormatError` listing
every problem (file, row, field); it never returns part of a file.

The modules: ``_records`` (the records and their field names), ``_validation`` (rows into
records, every problem collected), ``registry_csv``, ``registry_json``, ``programmes``,
``synthetic`` and ``database``.
"""

from bryta.registry.exchange._records import (
    CSV_COLUMNS,
    AreaRecord,
    FundingRecord,
    InterventionRecord,
    ParticipationRecord,
    SuccessionRecord,
)
from bryta.registry.exchange.database import (
    ImportResult,
    import_records,
    load_into,
    records_from_database,
)
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

__all__ = [
    "CSV_COLUMNS",
    "PROGRAMMES_FORMS",
    "PROGRAMMES_SECTORS",
    "STATE_AGENCIES",
    "SYNTHETIC_KOMMUNER",
    "AreaRecord",
    "FundingRecord",
    "ImportResult",
    "InterventionRecord",
    "ParticipationRecord",
    "SuccessionRecord",
    "import_records",
    "load_into",
    "read_programmes_csv",
    "read_registry_csv",
    "read_registry_json",
    "records_from_database",
    "synthetic_portfolio",
    "write_registry_csv",
    "write_registry_json",
]
