"""One context for every use case: the settings, and the factories built from them.

The command line builds a :class:`Context` from its options (``--data-dir``, ``--database``,
``--cache-dir``, ``--scheduler``) and the environment; the web app builds one per process from
its settings. Use cases take the context and ask it for what they need — the warehouse, the
registry engine or a service acting for an actor, the HTTP clients of SCB and Kolada — so a test
hands a use case a context with fakes (a ``transport`` for the HTTP clients, a temporary data
folder) instead of patching classes.

>>> import tempfile
>>> ctx = Context(Settings(data_dir=tempfile.mkdtemp()))
>>> with ctx.warehouse() as wh:
...     wh.list().height
0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.engine import Engine

    from bryta.ingest.kolada import KoladaClient
    from bryta.ingest.pxweb import PxWebClient
    from bryta.ingest.scb_geodata import GeodataClient
    from bryta.registry.service import Actor, RegistryService
    from bryta.warehouse import Warehouse


@dataclass(frozen=True)
class Settings:
    """Where bryta keeps its data and how it reaches the outside world.

    ``data_dir``: the warehouse (``bryta.duckdb``) and the default SQLite registry;
    ``database``: the registry URL (default ``sqlite:///<data_dir>/registry.sqlite``);
    ``cache_dir``: answers of SCB's API and Kolada kept on disk (default: none);
    ``scheduler``: a Dask scheduler address, or ``"local"``, for tiled work (default: none).
    """

    data_dir: Path | str | None = None
    database: str | None = None
    cache_dir: Path | str | None = None
    scheduler: str | None = None

    @property
    def data_path(self) -> Path:
        """``data_dir``, else the default data folder (:func:`bryta.warehouse.default_data_dir`)."""
        if self.data_dir is not None:
            return Path(self.data_dir)
        from bryta.warehouse import default_data_dir

        return default_data_dir()

    @property
    def registry_url(self) -> str:
        """``database``, else the SQLite registry in the data folder."""
        if self.database:
            return self.database
        from bryta.registry.db import default_url

        return default_url(self.data_path)

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied where they are not None."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


@dataclass
class Context:
    """The settings and the factories of a run; ``transport`` is handed to the HTTP clients
    (tests pass an ``httpx.MockTransport``), ``sleep`` to their back-off."""

    settings: Settings = field(default_factory=Settings)
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None
    _engine: Engine | None = field(default=None, repr=False)

    # --- the warehouse ---------------------------------------------------------------------

    @contextmanager
    def warehouse(self, *, read_only: bool = False) -> Iterator[Warehouse]:
        """The warehouse in ``settings.data_dir`` for the block.

        ``read_only`` for readers: they never create the file and can run while other
        processes read too. Each operation opens the file and closes it again, so readers and
        writers in other processes are not locked out for the length of the block.
        """
        from bryta.warehouse import Warehouse

        wh = Warehouse.open(self.settings.data_path, read_only=read_only)
        try:
            yield wh
        finally:
            wh.close()

    # --- the registry ----------------------------------------------------------------------

    def registry_engine(self) -> Engine:
        """The registry's engine (one per context, created on first use)."""
        if self._engine is None:
            from bryta.registry.db import connect

            self._engine = connect(self.settings.registry_url)
        return self._engine

    def registry(self, actor: Actor | None = None) -> RegistryService:
        """The registry service acting for ``actor`` (None: the public)."""
        from bryta.registry.service import RegistryService

        return RegistryService(self.registry_engine(), actor)

    # --- the outside world -----------------------------------------------------------------

    def pxweb(self, **options: Any) -> PxWebClient:
        """A client of SCB's API with this context's cache and transport."""
        from bryta.ingest.pxweb import PxWebClient

        extra: dict[str, Any] = {"sleep": self.sleep} if self.sleep is not None else {}
        return PxWebClient(
            cache_dir=self.settings.cache_dir, transport=self.transport, **extra, **options
        )

    def kolada(self, **options: Any) -> KoladaClient:
        """A client of Kolada's API with this context's cache and transport."""
        from bryta.ingest.kolada import KoladaClient

        extra: dict[str, Any] = {"sleep": self.sleep} if self.sleep is not None else {}
        return KoladaClient(
            cache_dir=self.settings.cache_dir, transport=self.transport, **extra, **options
        )

    def geodata(self, **options: Any) -> GeodataClient:
        """A client of SCB's geodata WFS (RegSO and DeSO boundaries) with this context's cache
        and transport."""
        from bryta.ingest.scb_geodata import GeodataClient

        extra: dict[str, Any] = {"sleep": self.sleep} if self.sleep is not None else {}
        return GeodataClient(
            cache_dir=self.settings.cache_dir, transport=self.transport, **extra, **options
        )

    def close(self) -> None:
        """Release what the context opened (the registry's connection pool)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
