"""An inventory whose stock and reservations live in a small SQLite file, shared by
processes: what a crash test needs that :class:`FakeInventory` cannot give (the worker
processes that are killed and those that replace them talk to *one* inventory).

It reserves once per idempotency key like a real asset tool's API, but the table has
no UNIQUE constraint on the key: a worker that reserved a key twice shows up as two
rows, not as an error that hides it.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "inventory.db"
>>> inventory = JournalInventory(path, stock={"iphone-15": 1})
>>> first = inventory.reqfulfill_reserve_stock("iphone-15", 1, "HQ", "R-1/9")
>>> JournalInventory(path).reqfulfill_reserve_stock("iphone-15", 1, "HQ", "R-1/9") == first
True
>>> inventory.reservations_per_key(), inventory.repeated_calls()
({'R-1/9': 1}, 1)
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from reqfulfill._hooks import hookimpl
from reqfulfill.model.errors import InventoryError
from reqfulfill.model.inventory import StockReservation

__all__ = ["JournalInventory"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stock (item TEXT PRIMARY KEY, count INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reservations (ref INTEGER PRIMARY KEY AUTOINCREMENT,"
    " idempotency_key TEXT NOT NULL, item TEXT NOT NULL, quantity INTEGER NOT NULL,"
    " location TEXT NOT NULL, released INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS reservations_key ON reservations (idempotency_key)",
    "CREATE TABLE IF NOT EXISTS calls (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " op TEXT NOT NULL, idempotency_key TEXT NOT NULL, repeated INTEGER NOT NULL)",
)


class JournalInventory:
    """An inventory plugin backed by a SQLite file every process opening it shares.

    :param path: the journal file.
    :param stock: counts to add to the stock (items not named keep theirs; an item
        never stocked is unknown: reserving it is a permanent ``InventoryError``).
    """

    def __init__(self, path: str | Path, stock: Mapping[str, int] | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        with self._tx() as db:
            for statement in _SCHEMA:
                db.execute(statement)
            for item, count in (stock or {}).items():
                db.execute(
                    "INSERT INTO stock (item, count) VALUES (?, ?) ON CONFLICT (item)"
                    " DO UPDATE SET count = count + excluded.count",
                    (item, count),
                )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @hookimpl
    def reqfulfill_reserve_stock(
        self, item: str, quantity: int, location: str, key: str
    ) -> StockReservation | None:
        """Reserve once per key (a known key answers with its reservation)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT ref, location, quantity FROM reservations WHERE idempotency_key = ?"
                " ORDER BY ref LIMIT 1",
                (key,),
            ).fetchone()
            db.execute(
                "INSERT INTO calls (op, idempotency_key, repeated) VALUES ('reserve', ?, ?)",
                (key, int(row is not None)),
            )
            if row is not None:
                return StockReservation(f"RES-{row[0]}", row[1], row[2])
            found = db.execute("SELECT count FROM stock WHERE item = ?", (item,)).fetchone()
            if found is None:
                raise InventoryError(f"unknown item {item!r}", retryable=False)
            if found[0] < quantity:
                return None
            db.execute("UPDATE stock SET count = count - ? WHERE item = ?", (quantity, item))
            cursor = db.execute(
                "INSERT INTO reservations (idempotency_key, item, quantity, location)"
                " VALUES (?, ?, ?, ?)",
                (key, item, quantity, location),
            )
            return StockReservation(f"RES-{cursor.lastrowid}", location, quantity)

    @hookimpl
    def reqfulfill_release_stock(self, reservation: StockReservation, key: str) -> None:
        """Put a reservation's items back, once."""
        ref = int(reservation.ref.removeprefix("RES-"))
        with self._tx() as db:
            row = db.execute(
                "SELECT item, quantity, released FROM reservations WHERE ref = ?", (ref,)
            ).fetchone()
            if row is None:
                raise InventoryError(f"unknown reservation {reservation.ref!r}", retryable=False)
            db.execute(
                "INSERT INTO calls (op, idempotency_key, repeated) VALUES ('release', ?, ?)",
                (key, row[2]),
            )
            if not row[2]:
                db.execute("UPDATE reservations SET released = 1 WHERE ref = ?", (ref,))
                db.execute("UPDATE stock SET count = count + ? WHERE item = ?", (row[1], row[0]))

    # -- what a test looks at ------------------------------------------------------------

    def reservations_per_key(self) -> dict[str, int]:
        """How many reservations were made per idempotency key (1 each, if all is well)."""
        rows = self._db.execute("SELECT idempotency_key FROM reservations").fetchall()
        return dict(Counter(key for (key,) in rows))

    def held(self) -> dict[str, StockReservation]:
        """The reservations not given back, by idempotency key."""
        rows = self._db.execute(
            "SELECT idempotency_key, ref, location, quantity FROM reservations WHERE released = 0"
        ).fetchall()
        return {key: StockReservation(f"RES-{ref}", loc, qty) for key, ref, loc, qty in rows}

    def repeated_calls(self) -> int:
        """Reserve and release calls that repeated a key already answered."""
        (count,) = self._db.execute("SELECT COUNT(*) FROM calls WHERE repeated = 1").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the file."""
        self._db.close()
