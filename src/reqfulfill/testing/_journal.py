"""A supplier whose orders live in a small SQLite file, shared by processes.

``JournalSupplier`` is what crash tests need that :class:`FakeSupplier` cannot
give: several worker processes (and the processes that replace them after a
kill) talk to *one* supplier. It deduplicates by idempotency key like a real
supplier API, and its journal records every call, so a test can count, across
all processes, the orders placed per key and the calls that repeated a key.

>>> import tempfile, pathlib
>>> from reqfulfill.model.supplier import OrderLine, SupplierOrder
>>> path = pathlib.Path(tempfile.mkdtemp()) / "supplier.db"
>>> supplier = JournalSupplier("acme-mobile", path)
>>> order = SupplierOrder("acme-mobile", "REQ-1", "order", (OrderLine("phone"),), "HEL", "u1", "R")
>>> first = supplier.place_order(order, "REQ-1/7")
>>> JournalSupplier("acme-mobile", path).place_order(order, "REQ-1/7") == first
True
>>> supplier.orders_per_key(), supplier.duplicate_calls()
({'REQ-1/7': 1}, 1)
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs

from reqfulfill._hooks import hookimpl
from reqfulfill.model.enums import OrderStatus
from reqfulfill.model.errors import NotFoundError
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder

__all__ = ["JournalCall", "JournalSupplier"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS orders (ref TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL,"
    " request_id TEXT NOT NULL, task_key TEXT NOT NULL, status TEXT NOT NULL)",
    # deliberately no UNIQUE on idempotency_key: a connector bug that placed a key twice
    # must show up as two rows, not as an error that hides it
    "CREATE INDEX IF NOT EXISTS orders_key ON orders (idempotency_key)",
    "CREATE TABLE IF NOT EXISTS calls (seq INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL,"
    " idempotency_key TEXT, ref TEXT, pid INTEGER NOT NULL, repeated INTEGER NOT NULL,"
    " started REAL NOT NULL, ended REAL NOT NULL)",
)


@attrs.frozen
class JournalCall:
    """One call the supplier answered: ``op`` is ``place``, ``status`` or ``cancel``;
    ``repeated`` says the idempotency key had been seen before."""

    seq: int
    op: str
    idempotency_key: str | None
    ref: str | None
    pid: int
    repeated: bool
    started: float
    ended: float


class JournalSupplier:
    """A supplier connector (and plugin) backed by a SQLite journal file.

    :param supplier_id: the supplier's id in the catalog.
    :param path: the journal file; every process opening it sees the same supplier.
    :param deliver_on_poll: an open order reports DELIVERED when polled.
    :param call_time: seconds each ``place_order`` call takes (to widen races).
    """

    def __init__(
        self,
        supplier_id: str,
        path: str | Path,
        *,
        deliver_on_poll: bool = True,
        call_time: float = 0.0,
    ) -> None:
        self.supplier_id = supplier_id
        self.path = Path(path)
        self.deliver_on_poll = deliver_on_poll
        self.call_time = call_time
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        with self._tx() as db:
            for statement in _SCHEMA:
                db.execute(statement)

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

    def _log(
        self,
        db: sqlite3.Connection,
        op: str,
        key: str | None,
        ref: str | None,
        repeated: bool,
        started: float,
    ) -> None:
        db.execute(
            "INSERT INTO calls (op, idempotency_key, ref, pid, repeated, started, ended)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (op, key, ref, os.getpid(), int(repeated), started, time.time()),
        )

    # -- plugin ---------------------------------------------------------------------

    @hookimpl
    def reqfulfill_supplier_connectors(self) -> Sequence[JournalSupplier]:
        """This supplier, as the plugin's one connector."""
        return [self]

    # -- connector ------------------------------------------------------------------

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        """Accept an order once per idempotency key; journal the call."""
        started = time.time()
        if self.call_time:
            time.sleep(self.call_time)
        with self._tx() as db:
            row = db.execute(
                "SELECT ref, status FROM orders WHERE idempotency_key = ? ORDER BY ref LIMIT 1",
                (idempotency_key,),
            ).fetchone()
            if row is not None:
                self._log(db, "place", idempotency_key, row[0], True, started)
                return OrderReceipt(row[0], OrderStatus(row[1]))
            (count,) = db.execute("SELECT COUNT(*) FROM orders").fetchone()
            ref = f"{self.supplier_id.upper()}-{count + 1:06d}"
            db.execute(
                "INSERT INTO orders (ref, idempotency_key, request_id, task_key, status)"
                " VALUES (?, ?, ?, ?, ?)",
                (ref, idempotency_key, order.request_id, order.task_key, "placed"),
            )
            self._log(db, "place", idempotency_key, ref, False, started)
            return OrderReceipt(ref, OrderStatus.PLACED)

    def _status(self, db: sqlite3.Connection, ref: str) -> OrderStatus:
        row = db.execute("SELECT status FROM orders WHERE ref = ?", (ref,)).fetchone()
        if row is None:
            raise NotFoundError("supplier order", ref, f"{self.supplier_id}: unknown order {ref!r}")
        return OrderStatus(row[0])

    def _set(self, db: sqlite3.Connection, ref: str, status: OrderStatus) -> None:
        db.execute("UPDATE orders SET status = ? WHERE ref = ?", (status.value, ref))

    def order_status(self, ref: str) -> OrderStatus:
        """The order's status; open orders are delivered on the poll (``deliver_on_poll``)."""
        started = time.time()
        with self._tx() as db:
            status = self._status(db, ref)
            if self.deliver_on_poll and not status.final:
                status = OrderStatus.DELIVERED
                self._set(db, ref, status)
            self._log(db, "status", None, ref, False, started)
            return status

    def cancel_order(self, ref: str, idempotency_key: str) -> OrderStatus:
        """Cancel unless final; idempotent per key."""
        started = time.time()
        with self._tx() as db:
            status = self._status(db, ref)
            (seen,) = db.execute(
                "SELECT COUNT(*) FROM calls WHERE op = 'cancel' AND idempotency_key = ?",
                (idempotency_key,),
            ).fetchone()
            if not status.final:
                status = OrderStatus.CANCELLED
                self._set(db, ref, status)
            self._log(db, "cancel", idempotency_key, ref, seen > 0, started)
            return status

    # -- what the supplier saw --------------------------------------------------------

    def calls(self, op: str | None = None) -> list[JournalCall]:
        """Every call journalled (by any process), in order."""
        sql = "SELECT seq, op, idempotency_key, ref, pid, repeated, started, ended FROM calls"
        params: tuple[str, ...] = ()
        if op is not None:
            sql += " WHERE op = ?"
            params = (op,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY seq", params).fetchall()
        return [JournalCall(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows]

    def orders_per_key(self) -> dict[str, int]:
        """How many orders the supplier holds for each idempotency key (1 is right)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT idempotency_key, COUNT(*) FROM orders GROUP BY idempotency_key"
            ).fetchall()
        return {key: count for key, count in rows}

    def order_statuses(self) -> dict[str, OrderStatus]:
        """Each order's status at the supplier, by ref."""
        with self._lock:
            rows = self._db.execute("SELECT ref, status FROM orders").fetchall()
        return {ref: OrderStatus(status) for ref, status in rows}

    def duplicate_calls(self) -> int:
        """``place_order`` calls that repeated an idempotency key already placed."""
        return sum(1 for call in self.calls("place") if call.repeated)

    def close(self) -> None:
        """Close the journal file."""
        with self._lock:
            self._db.close()

    def __repr__(self) -> str:
        return f"JournalSupplier({self.supplier_id!r}, {str(self.path)!r})"
