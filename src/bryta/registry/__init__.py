"""The intervention and collaboration registry (docs/registry.md): models, database, migrations.

Build an engine with :func:`connect`, create or update the schema with :func:`init`.
"""

from bryta.registry.db import connect, default_url, init, session, upgrade
from bryta.registry.models import RegistryError

__all__ = ["RegistryError", "connect", "default_url", "init", "session", "upgrade"]
