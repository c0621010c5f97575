"""The change feed of ``sqlite:///``: its schema step and its SQL, as functions taking
the connection (the :class:`~reqfulfill.stores.sqlite.SQLiteStore` keeps thin methods).

Positions: an append runs in a ``BEGIN IMMEDIATE`` transaction, one writer at a
time for the whole file, and gives its events the next positions after the largest
stored (an index lookup), so positions follow commit order and no reader skips an
event. Subscriptions keep their checkpoint and lease in ``rf_subscriptions``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from reqfulfill.stores._base import to_micros

__all__ = [
    "APPEND_EVENT",
    "FEED_MIGRATION",
    "advance",
    "lease",
    "read_rows",
    "release",
    "subscription_position",
]

# Schema step: a global position for every event, filled in for the events already
# stored in the order they were recorded (each stream's running latest ``at``, so a
# request's events keep their order even if its clock went back; ties by request and
# version), and the subscriptions' checkpoints and leases.
FEED_MIGRATION = (
    "ALTER TABLE rf_events ADD COLUMN position INTEGER NOT NULL DEFAULT 0",
    """UPDATE rf_events SET position = ranked.position FROM (
        SELECT request_id, version,
            row_number() OVER (ORDER BY reach, request_id, version) AS position
        FROM (SELECT request_id, version,
                max(at) OVER (PARTITION BY request_id ORDER BY version) AS reach
              FROM rf_events)
    ) AS ranked
    WHERE rf_events.request_id = ranked.request_id AND rf_events.version = ranked.version""",
    "CREATE UNIQUE INDEX rf_events_position ON rf_events (position)",
    """CREATE TABLE rf_subscriptions (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER
    ) WITHOUT ROWID""",
)

# One event of an append, with the next position (the file has one writer at a time).
APPEND_EVENT = (
    "INSERT INTO rf_events (request_id, version, event_id, type, at, payload, position)"
    " VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM rf_events))"
)


def read_rows(db: sqlite3.Connection, after: int, limit: int) -> list[Any]:
    """(position, request_id, version, payload) after ``after``, in position order."""
    return db.execute(
        "SELECT position, request_id, version, payload FROM rf_events WHERE position > ?"
        " ORDER BY position LIMIT ?",
        (after, limit),
    ).fetchall()


def lease(
    db: sqlite3.Connection, name: str, owner: str, start: int, now: datetime, span: timedelta
) -> int | None:
    """See ``Store.lease_subscription`` (``db`` in a write transaction)."""
    until = to_micros(now + span)
    row = db.execute(
        "SELECT position, lease_owner, lease_until FROM rf_subscriptions WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        db.execute(
            "INSERT INTO rf_subscriptions (name, position, lease_owner, lease_until)"
            " VALUES (?, ?, ?, ?)",
            (name, start, owner, until),
        )
        return start
    position, holder, held_until = row
    if holder not in (None, owner) and held_until is not None and held_until > to_micros(now):
        return None
    db.execute(
        "UPDATE rf_subscriptions SET lease_owner = ?, lease_until = ? WHERE name = ?",
        (owner, until, name),
    )
    return int(position)


def advance(
    db: sqlite3.Connection,
    name: str,
    owner: str,
    expected: int,
    position: int,
    now: datetime,
    span: timedelta,
    apply: Callable[[Any], None] | None,
) -> bool:
    """See ``Store.advance_subscription`` (``db`` in a write transaction; ``apply``
    gets the connection itself)."""
    row = db.execute(
        "SELECT position, lease_owner FROM rf_subscriptions WHERE name = ?", (name,)
    ).fetchone()
    if row is None or row[1] != owner or row[0] != expected:
        return False
    if apply is not None:
        apply(db)
    db.execute(
        "UPDATE rf_subscriptions SET position = ?, lease_until = ? WHERE name = ?",
        (position, to_micros(now + span), name),
    )
    return True


def release(db: sqlite3.Connection, name: str, owner: str) -> None:
    """See ``Store.release_subscription``."""
    db.execute(
        "UPDATE rf_subscriptions SET lease_owner = NULL, lease_until = NULL"
        " WHERE name = ? AND lease_owner = ?",
        (name, owner),
    )


def subscription_position(db: sqlite3.Connection, name: str) -> int | None:
    """See ``Store.subscription_position``."""
    row = db.execute("SELECT position FROM rf_subscriptions WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])
