"""The SQLite store's claim of one request's due effects, inside a transaction the
caller holds (:meth:`~reqfulfill.stores.SQLiteStore.append_and_claim`), and the read
of the due effects (:meth:`~reqfulfill.stores.SQLiteStore.due_effects`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.stores._base import OutboxEntry, from_micros, outbox_entry, to_micros

__all__ = ["claim_request_effects", "due_effects", "require_claimable"]


def due_effects(db: sqlite3.Connection, now: datetime, limit: int) -> list[OutboxEntry]:
    """The effects a claim at ``now`` would take, in claim order, unclaimed (a plain
    read: no transaction, no write lock)."""
    t = to_micros(now)
    rows = db.execute(
        "SELECT effect_id, request_id, kind, attempts, available_at, lease_until, worker,"
        " last_error FROM rf_outbox WHERE available_at <= ? AND (lease_until IS NULL"
        " OR lease_until <= ?) ORDER BY available_at, request_id, version LIMIT ?",
        (t, t, int(limit)),
    ).fetchall()
    return [outbox_entry(r) for r in rows]


def require_claimable(
    db: sqlite3.Connection,
    request_id: str,
    expected_version: int,
    effect_ids: Sequence[str],
    now: datetime,
) -> None:
    """``ConcurrencyError`` unless each of ``effect_ids`` is an entry of ``request_id``
    that is due and unleased (or its lease lapsed) at ``now``: inside the caller's
    transaction, before it writes anything."""
    t = to_micros(now)
    for effect_id in effect_ids:
        row = db.execute(
            "SELECT 1 FROM rf_outbox WHERE effect_id = ? AND request_id = ?"
            " AND available_at <= ? AND (lease_until IS NULL OR lease_until <= ?)",
            (effect_id, request_id, t, t),
        ).fetchone()
        if row is None:
            raise ConcurrencyError(request_id, expected_version)


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
