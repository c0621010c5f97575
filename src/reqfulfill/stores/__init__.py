"""Storage backends and the built-in storage plugin.

The built-in stores register through ``reqfulfill_storage`` exactly like
third-party ones: ``memory://`` and ``sqlite:///path`` here, ``postgresql://``
when the ``postgres`` extra is installed.
"""

from __future__ import annotations

from reqfulfill._hooks import hookimpl
from reqfulfill.stores._base import OutboxEntry, RequestSummary, Store, Timer
from reqfulfill.stores._feed import MemoryTx, StoredEvent
from reqfulfill.stores.memory import MemoryStore
from reqfulfill.stores.sqlite import SQLiteStore

__all__ = [
    "MemoryStore",
    "MemoryTx",
    "OutboxEntry",
    "RequestSummary",
    "SQLiteStore",
    "Store",
    "StoredEvent",
    "Timer",
]


class BuiltinStores:
    """The storage plugin for the stores reqfulfill ships."""

    @hookimpl(trylast=True)
    def reqfulfill_storage(self, url: str) -> Store | None:
        """``memory://``, ``sqlite:///…`` and (with psycopg) ``postgresql://…``."""
        if url == "memory://" or url.startswith("memory://"):
            return MemoryStore.from_url(url)
        if url.startswith("sqlite://"):
            return SQLiteStore.from_url(url)
        if url.startswith(("postgresql://", "postgres://")):
            try:
                from reqfulfill.stores.postgres import (
                    PostgresStore,
                )
            except ImportError as exc:  # pragma: no cover - depends on the extra
                from reqfulfill.model.errors import ValidationError

                raise ValidationError.single(
                    "store",
                    url,
                    f"PostgreSQL needs the extra: pip install 'reqfulfill[postgres]' ({exc})",
                ) from None
            store: Store = PostgresStore.from_url(url)
            return store
        return None
