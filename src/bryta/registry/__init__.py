"""The intervention and collaboration registry (docs/registry.md): records, validation,
models, database, migrations, the service and the exchange formats.

Build an engine with :func:`connect`, create or update the schema with :func:`init`; read and
change the registry through :class:`bryta.registry.service.RegistryService`.
"""

from bryta.registry.db import connect, default_url, init, require_schema, session, upgrade
from bryta.registry.validation import RecordError, RegistryError

__all__ = [
    "RecordError",
    "RegistryError",
    "connect",
    "default_url",
    "init",
    "require_schema",
    "session",
    "upgrade",
]
