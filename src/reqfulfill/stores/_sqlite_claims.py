"""The SQLite store's claim of one request's due effects, inside a transaction the
caller holds (:meth:`~reqfulfill.stores.SQLiteStore.append_and_claim`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from reqfulfill.stores._base import OutboxEntry, from_micros, to_micros

__all__ = ["claim_request_effects"]


def claim_request_effects(
    db: sqlite3.Connection, request_id: str, now: datetime, lease: timedelta, worker: str
) -> list[OutboxEntry]:
    """Lease ``request_id``'s due, unleased outbox entries to ``worker`` until
    ``now + lease``; return them in stream order. The caller's ``BEGIN IMMEDIATE``
    transaction keeps every other writer out meanwhile."""
    t = to_micros(now)
    until = to_micros(now + lease)
    rows = db.execute(
        "SELECT effect_id, kind, attempts, available_at, last_error FROM rf_outbox"
        " WHERE request_id = ? AND available_at <= ? AND (lease_until IS NULL"
        " OR lease_until <= ?) ORDER BY version",
        (request_id, t, t),
    ).fetchall()
    db.executemany(
        "UPDATE rf_outbox SET lease_until = ?, worker = ? WHERE effect_id = ?",
        [(until, worker, r[0]) for r in rows],
    )
    return [
        OutboxEntry(
            effect_id=r[0],
            request_id=request_id,
            kind=r[1],
            attempts=r[2],
            available_at=from_micros(r[3]),
            lease_until=from_micros(until),
            worker=worker,
            last_error=r[4],
        )
        for r in rows
    ]
