"""Holds on a SQLite store's outbox entries (:meth:`~reqfulfill.stores.SQLiteStore.hold_effects`):
a worker keeps every other worker off an effect while it runs it, with no row written.

A hold is a POSIX record lock (``fcntl.lockf``) on one byte of the file
``<database>-holds``, at an offset from the effect id's CRC-32, together with an entry
in this process's table of the database's holds: record locks belong to a process, so
its threads (and two stores opened on one file) are kept apart by the table. The lock
ends with the process, so a worker that dies holds nothing. Every claim takes the
same byte for each row it leases, keeps it until its transaction has ended (a holder
that checks the row after the claim committed sees the lease), and passes over a row
whose byte another process holds, or that this process holds or is claiming. A
collision of two ids' CRCs only makes one of them wait its turn.

Without ``fcntl`` (Windows), or for an in-memory database, the table alone holds
(one process sees the database); a holds file that cannot be opened (a read-only
directory) makes every hold fail: the worker claims with leases then.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["Holds"]


class _Table:
    """This process's holds and claims of one database, and its locked bytes."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd
        self.users = 0
        self.mutex = threading.Lock()
        self.held: dict[str, str] = {}  # effect id -> worker
        self.claiming: set[str] = set()
        self.bytes: Counter[int] = Counter()  # offset -> uses in this process

    def take(self, effect_id: str) -> bool:
        """Lock ``effect_id``'s byte for this process (the caller holds ``mutex``)."""
        offset = zlib.crc32(effect_id.encode())
        if not self.bytes[offset] and self.fd is not None and fcntl is not None:
            try:
                fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
            except OSError:
                return False  # another process holds or claims it
        self.bytes[offset] += 1
        return True

    def give_back(self, effect_id: str) -> None:
        """Undo a :meth:`take` (the caller holds ``mutex``)."""
        offset = zlib.crc32(effect_id.encode())
        self.bytes[offset] -= 1
        if not self.bytes[offset]:
            del self.bytes[offset]
            if self.fd is not None and fcntl is not None:
                fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)


_TABLES: dict[str, _Table] = {}
_TABLES_LOCK = threading.Lock()


class Holds:
    """The holds of one SQLite store (``path``: its database file, or ``:memory:``)."""

    def __init__(self, path: str) -> None:
        self._key = os.path.realpath(path) if path != ":memory:" else ""
        # an in-memory database is this store's alone: a table of its own
        self._table: _Table | None = None if self._key else _Table(None)
        self._broken = False

    def _open(self) -> _Table | None:
        """The process's table of this database (opened on first use); None when the
        holds file cannot be opened."""
        if self._table is not None or self._broken:
            return self._table
        with _TABLES_LOCK:
            table = _TABLES.get(self._key)
            if table is None:
                fd = None
                if fcntl is not None:
                    try:
                        fd = os.open(self._key + "-holds", os.O_RDWR | os.O_CREAT, 0o644)
                    except OSError:
                        self._broken = True
                        return None
                table = _TABLES[self._key] = _Table(fd)
            table.users += 1
            self._table = table
        return table

    def hold(
        self, effect_ids: Sequence[str], worker: str, holdable: Callable[[list[str]], set[str]]
    ) -> list[str]:
        """Hold for ``worker`` the ids nobody holds or claims whose row ``holdable`` (a
        read, made once the bytes are locked) still finds due and unleased."""
        table = self._open()
        if table is None:
            return []
        with table.mutex:
            taken = [
                e
                for e in dict.fromkeys(effect_ids)
                if e not in table.held and e not in table.claiming and table.take(e)
            ]
            table.claiming.update(taken)  # no claim of this process takes them meanwhile
        try:
            free = holdable(taken) if taken else set()
        finally:
            with table.mutex:
                table.claiming.difference_update(taken)
                for effect_id in taken:
                    if effect_id in free:
                        table.held[effect_id] = worker
                    else:
                        table.give_back(effect_id)
        return [e for e in taken if e in free]

    def release(self, effect_ids: Sequence[str], worker: str) -> None:
        """Give up ``worker``'s holds on ``effect_ids``."""
        table = self._table
        if table is None:
            return
        with table.mutex:
            for effect_id in dict.fromkeys(effect_ids):
                if table.held.get(effect_id) == worker:
                    del table.held[effect_id]
                    table.give_back(effect_id)

    def held(self) -> set[str]:
        """The ids this process holds on the database."""
        table = self._table
        if table is None:
            return set()
        with table.mutex:
            return set(table.held)

    @contextmanager
    def claiming(self) -> Iterator[Callable[[Sequence[str]], set[str]]]:
        """For a claim's transaction: a function that takes, of the ids it is given,
        those nobody holds or claims, and returns them; they are given back when the
        block ends (after the transaction has, in the caller's ``with``)."""
        table = self._open()
        taken: list[str] = []

        def take(effect_ids: Sequence[str]) -> set[str]:
            if table is None:
                return set(effect_ids)
            with table.mutex:
                got = [
                    e
                    for e in dict.fromkeys(effect_ids)
                    if e not in table.held and e not in table.claiming and table.take(e)
                ]
                table.claiming.update(got)
            taken.extend(got)
            return set(got)

        try:
            yield take
        finally:
            if table is not None and taken:
                with table.mutex:
                    table.claiming.difference_update(taken)
                    for effect_id in taken:
                        table.give_back(effect_id)

    def close(self) -> None:
        """Stop using the table (the file closes, and its locks go, with its last user)."""
        table, self._table = self._table, None
        if table is None or not self._key:
            return
        with _TABLES_LOCK:
            table.users -= 1
            if table.users == 0:
                del _TABLES[self._key]
                if table.fd is not None:
                    os.close(table.fd)
