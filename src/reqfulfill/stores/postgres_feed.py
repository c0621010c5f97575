"""The change feed of ``postgresql://``: positions in commit order, subscriptions,
and wake-ups with ``LISTEN``/``NOTIFY`` (the SQL as constants and functions taking
the connection; :class:`~reqfulfill.stores.postgres.PostgresStore` keeps thin methods).

**Positions without skips.** A sequence hands out values when asked, not at commit,
so two appends may commit in the other order than they drew their numbers, and a
reader that has passed the later number would never see the earlier one. Here the
position comes from a one-row counter, ``rf_feed``, updated by the *last* statement
of the append (the one that inserts the events and checks the expected version).
The row lock it takes is held to the end of the transaction and released only once
the commit is visible, so the next append gets its numbers after every lower number
is visible: positions are handed out in commit order. A reader whose snapshot sees
position ``q`` sees every position below ``q``. Appends queue on the counter only
from their last statement to their commit (one round trip: the append is
pipelined); a rolled-back append leaves no gap.

**Wake-ups.** Each append (and :meth:`set_timers`) also sends ``NOTIFY`` on the
store's channel (``rf_wake_`` and a hash of the schema), delivered by the server at
commit, not before. :class:`Listener` holds one extra connection per store object
that ``LISTEN``\\ s, in a daemon thread started by the first ``wait_for_work``, and
wakes every thread waiting in that process.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, final

import psycopg
from psycopg import sql

from reqfulfill.model.errors import StoreError, mask_password
from reqfulfill.stores._base import to_micros
from reqfulfill.stores._feed import Wakeup

__all__ = [
    "APPEND_EVENTS",
    "CHECKPOINT_COMMIT",
    "NOTIFY",
    "Listener",
    "advance",
    "channel",
    "checkpoint",
    "lease",
    "read_rows",
    "release",
    "subscription_position",
]

log = logging.getLogger(__name__)

_Db = psycopg.Connection[tuple[Any, ...]]

# An append's events with their positions, and its version check, in one statement
# (the last of the append: see the module's docstring). The main query's snapshot
# does not see what the WITH parts write, so max(version) is the stream's last
# version before the append. The arrays go in binary (%b): the text form would quote
# every JSON payload's quotes.
APPEND_EVENTS = """WITH feed AS (
    UPDATE rf_feed SET last_position = last_position + %(count)s WHERE id = 1
    RETURNING last_position - %(count)s AS base
), inserted AS (
    INSERT INTO rf_events (request_id, version, event_id, type, at, payload, position)
    SELECT e.request_id, e.version, e.event_id, e.type, e.at, e.payload, feed.base + e.n
    FROM unnest(%(request_ids)b::text[], %(versions)b::integer[],
        %(event_ids)b::text[], %(types)b::text[], %(ats)b::bigint[], %(payloads)b::text[])
        WITH ORDINALITY AS e(request_id, version, event_id, type, at, payload, n),
        feed
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT rf_check_append(%(request_id)s, %(expected)s,
    (SELECT coalesce(max(version), 0) FROM rf_events WHERE request_id = %(request_id)s),
    (SELECT count(*)::integer FROM inserted), %(count)s)"""

NOTIFY = "SELECT pg_notify(%s, '')"
"""Wake the store's listeners at commit (the channel: :func:`channel`)."""


def channel(schema: str | None) -> str:
    """The ``NOTIFY`` channel of a store's schema (a short name for any schema)."""
    return f"rf_wake_{zlib.crc32((schema or '').encode('utf-8')):08x}"


def read_rows(db: _Db, after: int, limit: int) -> list[Any]:
    """(position, request_id, version, payload) after ``after``, in position order."""
    return db.execute(
        "SELECT position, request_id, version, payload FROM rf_events WHERE position > %s"
        " ORDER BY position LIMIT %s",
        (after, limit),
    ).fetchall()


CHECKPOINT_COMMIT = "SET LOCAL synchronous_commit = off"
"""How a checkpoint alone (a ``handler(event)`` subscription's) commits: without waiting
for the WAL flush. A server crash can lose the last checkpoints, which moves a
subscription back (its events are handled again, as at-least-once allows), never
forward; the ``handler(event, tx)`` form's checkpoint commits with the handler's
writes, durably like every other transaction. It saves a flush per batch (about 5 ms
on a local disk, as long as handling 1,000 events)."""


def checkpoint(
    db: _Db, name: str, owner: str, expected: int, position: int, now: datetime, span: timedelta
) -> psycopg.Cursor[Any]:
    """A ``handler(event)`` subscription's ``Store.advance_subscription``: the statements
    of a pipelined transaction (:data:`CHECKPOINT_COMMIT`, one conditional update);
    the returned cursor's ``rowcount`` is 1 once the pipeline has synced if the owner
    held the lease at ``expected``."""
    db.execute(CHECKPOINT_COMMIT, prepare=False)  # a setting: nothing to plan
    return db.execute(
        "UPDATE rf_subscriptions SET position = %s, lease_until = %s"
        " WHERE name = %s AND lease_owner = %s AND position = %s",
        (position, to_micros(now + span), name, owner, expected),
    )


def lease(db: _Db, name: str, owner: str, start: int, now: datetime, span: timedelta) -> int | None:
    """See ``Store.lease_subscription`` (one statement: creates the row, or takes the
    lease if it is free, lapsed or already ``owner``'s)."""
    row = db.execute(
        "INSERT INTO rf_subscriptions AS s (name, position, lease_owner, lease_until)"
        " VALUES (%(name)s, %(start)s, %(owner)s, %(until)s)"
        " ON CONFLICT (name) DO UPDATE SET lease_owner = excluded.lease_owner,"
        " lease_until = excluded.lease_until"
        " WHERE s.lease_owner IS NULL OR s.lease_owner = %(owner)s"
        " OR s.lease_until IS NULL OR s.lease_until <= %(now)s"
        " RETURNING s.position",
        {
            "name": name,
            "start": start,
            "owner": owner,
            "until": to_micros(now + span),
            "now": to_micros(now),
        },
    ).fetchone()
    return None if row is None else int(row[0])


def advance(
    db: _Db,
    name: str,
    owner: str,
    expected: int,
    position: int,
    now: datetime,
    span: timedelta,
    apply: Callable[[Any], None],
) -> bool:
    """A ``handler(event, tx)`` subscription's ``Store.advance_subscription``: ``db`` is in
    a transaction, and the row lock taken first keeps a process taking the lease over
    from committing between the check and the checkpoint. (The ``handler(event)``
    form's: :func:`checkpoint`.)"""
    row = db.execute(
        "SELECT position, lease_owner FROM rf_subscriptions WHERE name = %s FOR UPDATE", (name,)
    ).fetchone()
    if row is None or row[1] != owner or row[0] != expected:
        return False
    apply(db)
    db.execute(
        "UPDATE rf_subscriptions SET position = %s, lease_until = %s WHERE name = %s",
        (position, to_micros(now + span), name),
    )
    return True


def release(db: _Db, name: str, owner: str) -> None:
    """See ``Store.release_subscription``."""
    db.execute(
        "UPDATE rf_subscriptions SET lease_owner = NULL, lease_until = NULL"
        " WHERE name = %s AND lease_owner = %s",
        (name, owner),
    )


def subscription_position(db: _Db, name: str) -> int | None:
    """See ``Store.subscription_position``."""
    row = db.execute("SELECT position FROM rf_subscriptions WHERE name = %s", (name,)).fetchone()
    return None if row is None else int(row[0])


@final
class Listener:
    """The ``LISTEN`` side of a store's wake-ups: one connection in a daemon thread,
    started on first use, that bumps a :class:`Wakeup` for each notification (and
    after a reconnect, since notifications may have been missed while it was away).

    :param connect: opens a new autocommit connection to the store's database.
    """

    def __init__(self, connect: Callable[[], _Db], name: str, url: str) -> None:
        self._connect = connect
        self._channel = name
        self._url = url
        self._wakeup = Wakeup()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a notification this thread has not seen."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._listen, name=f"reqfulfill-listen-{self._channel}", daemon=True
                )
                self._thread.start()
        return self._wakeup.wait(timeout)

    def close(self) -> None:
        """Stop listening (the thread ends within a second)."""
        self._stop.set()

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                db = self._connect()
            except StoreError as exc:  # the server is away: try again in a second
                log.warning("%s: cannot listen for wake-ups (%s)", mask_password(self._url), exc)
                self._stop.wait(1.0)
                continue
            try:
                db.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                self._wakeup.bump()  # anything may have come while nobody listened
                while not self._stop.is_set():
                    for _ in db.notifies(timeout=0.5):
                        self._wakeup.bump()
            except psycopg.Error as exc:
                log.warning("%s: wake-ups interrupted (%s)", mask_password(self._url), exc)
                self._stop.wait(0.2)
            finally:
                db.close()
