"""The SQLite store's claim of one request's due effects, inside a transaction the
caller holds (:meth:`~reqfulfill.stores.SQLiteStore.append_and_claim`), and the read
of the due effects (:meth:`~reqfulfill.stores.SQLiteStore.due_effects`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.stores._base import OutboxEntry, from_micros, outbox_entry, to_micros

__all__ = ["claim_due", "claim_request_effects", "due_effects", "holdable", "required"]

Take = Callable[[Sequence[str]], set[str]]
"""Of the ids given, those nobody holds, kept from holders until the claim's
transaction ends (:meth:`reqfulfill.stores._sqlite_holds.Holds.claiming`)."""


def due_effects(
    db: sqlite3.Connection, now: datetime, limit: int, held: set[str]
) -> list[OutboxEntry]:
    """The effects a claim at ``now`` would take, in claim order, unclaimed (a plain
    read: no transaction, no write lock); ``held``: this process's holds, left out."""
    t = to_micros(now)
    rows = db.execute(
        "SELECT effect_id, request_id, kind, attempts, available_at, lease_until, worker,"
        " last_error FROM rf_outbox WHERE available_at <= ? AND (lease_until IS NULL"
        " OR lease_until <= ?) ORDER BY available_at, request_id, version LIMIT ?",
        (t, t, int(limit) + len(held)),
    ).fetchall()
    return [outbox_entry(r) for r in rows if r[0] not in held][: int(limit)]


def holdable(db: sqlite3.Connection, effect_ids: Sequence[str], now: datetime) -> set[str]:
    """Of ``effect_ids``, those due at ``now`` with no lease at all (a hold's check,
    once its bytes are locked)."""
    t = to_micros(now)
    found = set()
    for effect_id in effect_ids:
        row = db.execute(
            "SELECT 1 FROM rf_outbox WHERE effect_id = ? AND available_at <= ?"
            " AND lease_until IS NULL AND worker IS NULL",
            (effect_id, t),
        ).fetchone()
        if row is not None:
            found.add(effect_id)
    return found


def required(
    request_id: str, expected_version: int, require: Sequence[str], claimed: list[OutboxEntry]
) -> None:
    """``ConcurrencyError`` (the caller's transaction rolls back) unless the claim took
    every entry of ``require``."""
    if not set(require) <= {e.effect_id for e in claimed}:
        raise ConcurrencyError(request_id, expected_version)


_DUE = (
    "SELECT effect_id, request_id, kind, attempts, available_at, last_error FROM rf_outbox"
    " WHERE available_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
    " ORDER BY available_at, request_id, version LIMIT ?"
)
"""The due, unleased entries, the earliest first (the columns :func:`_lease` reads)."""

_DUE_OF_REQUEST = (
    "SELECT effect_id, request_id, kind, attempts, available_at, last_error FROM rf_outbox"
    " WHERE request_id = ? AND available_at <= ? AND (lease_until IS NULL"
    " OR lease_until <= ?) ORDER BY version"
)
"""A request's due, unleased entries in stream order (the columns :func:`_lease` reads)."""


def claim_due(
    db: sqlite3.Connection, now: datetime, lease: timedelta, worker: str, limit: int, take: Take
) -> list[OutboxEntry]:
    """Lease up to ``limit`` due, unleased entries nobody holds to ``worker`` (the
    earliest first, a request's in stream order), inside the caller's transaction."""
    t = to_micros(now)
    until = to_micros(now + lease)
    rows = db.execute(_DUE, (t, t, limit)).fetchall()
    return _lease(db, rows, until, worker, take)


def _lease(
    db: sqlite3.Connection, rows: list[Any], until: int, worker: str, take: Take
) -> list[OutboxEntry]:
    """Lease the ``rows`` (the columns of :data:`_DUE`) nobody holds (``take``) to ``worker`` until
    ``until``, in the caller's transaction; return them as entries, in the rows' order."""
    free = take([r[0] for r in rows])
    rows = [r for r in rows if r[0] in free]
    db.executemany(
        "UPDATE rf_outbox SET lease_until = ?, worker = ? WHERE effect_id = ?",
        [(until, worker, r[0]) for r in rows],
    )
    return [
        OutboxEntry(
            effect_id=r[0],
            request_id=r[1],
            kind=r[2],
            attempts=r[3],
            available_at=from_micros(r[4]),
            lease_until=from_micros(until),
            worker=worker,
            last_error=r[5],
        )
        for r in rows
    ]


def claim_request_effects(
    db: sqlite3.Connection,
    request_id: str,
    now: datetime,
    lease: timedelta,
    worker: str,
    take: Take,
) -> list[OutboxEntry]:
    """Lease ``request_id``'s due, unleased outbox entries to ``worker`` until
    ``now + lease``, but those held (``take``); return them in stream order. The
    caller's ``BEGIN IMMEDIATE`` transaction keeps every other writer out meanwhile."""
    t = to_micros(now)
    until = to_micros(now + lease)
    rows = db.execute(_DUE_OF_REQUEST, (request_id, t, t)).fetchall()
    return _lease(db, rows, until, worker, take)
