"""The PostgreSQL store's claim of one request's due effects, queued inside an append's
pipelined transaction (:meth:`~reqfulfill.stores.PostgresStore.append_and_claim`), and
its holds on effects (:meth:`~reqfulfill.stores.PostgresStore.hold_effects`).

A hold is a session advisory lock on (:data:`HOLD_SPACE`, ``hashtext(effect_id)``): no
row is written, and it ends with the connection. Every claim takes the same lock for
the rows it leases (``pg_try_advisory_xact_lock``, kept to its commit; tried in the
UPDATE, on the rows the claim selected, so no more than those are locked) and passes
over a row whose lock another session holds; a holder checks the row is still unleased
after it has the lock, in a statement of its own (a fresh snapshot), so a claim that
committed first is seen. A collision of two ids' hashes only makes one wait its turn.
The store's own holds (one connection, shared by its threads: a session's advisory
locks do not exclude each other) are passed to the claims as ``held``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg import Connection

from reqfulfill.stores._base import OutboxEntry, from_micros, to_micros

__all__ = [
    "CHECK_REQUIRED",
    "CLAIM_DUE",
    "CLAIM_REQUEST",
    "DUE_EFFECTS",
    "HOLD_SPACE",
    "claim_params",
    "claimed_entries",
    "hold",
    "unheld",
]

HOLD_SPACE = 0x7266  # the first key of the store's advisory locks ("rf")

# The request's due, unleased entries, the ones the same transaction inserted
# included; rows another worker is claiming are skipped, not awaited.
CLAIM_REQUEST = (
    "WITH due AS ("
    " SELECT effect_id FROM rf_outbox WHERE request_id = %(request_id)s"
    " AND available_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s)"
    " AND NOT (effect_id = ANY(%(held)s))"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE rf_outbox AS o SET lease_until = %(until)s, worker = %(worker)s"
    " FROM due WHERE o.effect_id = due.effect_id"
    " AND pg_try_advisory_xact_lock(%(space)s, hashtext(due.effect_id))"
    " RETURNING o.effect_id, o.request_id, o.kind, o.attempts, o.available_at,"
    " o.last_error, o.version"
)

# The entries the claim had to take (``require``), counted among those it leased
# (lease_until is this claim's own); rf_check_append raises RF409 ("a concurrent write")
# when one is missing, which rolls the whole transaction back. It goes last in the
# pipeline, unprepared (see PostgresStore._append).
CHECK_REQUIRED = (
    "SELECT rf_check_append(%(request_id)s, 0, 0, (SELECT count(*)::integer FROM rf_outbox"
    " WHERE effect_id = ANY(%(required)s) AND request_id = %(request_id)s"
    " AND worker = %(worker)s AND lease_until = %(until)s), %(required_count)s)"
)

# The claim of up to %(limit)s due effects of any request (``claim_effects``): the
# earliest first; rows another worker is claiming or holding are skipped, not awaited.
CLAIM_DUE = (
    "WITH due AS ("
    " SELECT effect_id FROM rf_outbox"
    " WHERE available_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s)"
    " AND NOT (effect_id = ANY(%(held)s))"
    " ORDER BY available_at, request_id, version LIMIT %(limit)s"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE rf_outbox AS o SET lease_until = %(until)s, worker = %(worker)s"
    " FROM due WHERE o.effect_id = due.effect_id"
    " AND pg_try_advisory_xact_lock(%(space)s, hashtext(due.effect_id))"
    " RETURNING o.effect_id, o.request_id, o.kind, o.attempts, o.available_at,"
    " o.last_error, o.version"
)

# What a claim at %(now)s would take, in claim order, read without a lock.
DUE_EFFECTS = (
    "SELECT effect_id, request_id, kind, attempts, available_at, lease_until, worker,"
    " last_error FROM rf_outbox WHERE available_at <= %(now)s"
    " AND (lease_until IS NULL OR lease_until <= %(now)s) AND NOT (effect_id = ANY(%(held)s))"
    " ORDER BY available_at, request_id, version LIMIT %(limit)s"
)


_HOLD = (
    "SELECT e FROM unnest(%(ids)s::text[]) AS e WHERE pg_try_advisory_lock(%(space)s, hashtext(e))"
)
_HOLDABLE = (
    "SELECT effect_id FROM rf_outbox WHERE effect_id = ANY(%(ids)s) AND available_at <= %(now)s"
    " AND lease_until IS NULL AND worker IS NULL"
)
_UNHOLD = "SELECT pg_advisory_unlock(%(space)s, hashtext(e)) FROM unnest(%(ids)s::text[]) AS e"


def hold(db: Connection[Any], effect_ids: Sequence[str], now: datetime) -> list[str]:
    """Take the advisory lock of each of ``effect_ids`` and keep it for those whose row
    is still due and unleased once locked; return those (autocommit statements: no
    transaction writes anything)."""
    ids = list(dict.fromkeys(effect_ids))
    locked = [r[0] for r in db.execute(_HOLD, {"ids": ids, "space": HOLD_SPACE}).fetchall()]
    if not locked:
        return []
    rows = db.execute(_HOLDABLE, {"ids": locked, "now": to_micros(now)}).fetchall()
    holdable = {r[0] for r in rows}
    unheld(db, [e for e in locked if e not in holdable])
    return [e for e in ids if e in holdable]


def unheld(db: Connection[Any], effect_ids: Sequence[str]) -> None:
    """Give up the advisory locks of ``effect_ids`` (this session's)."""
    if effect_ids:
        db.execute(_UNHOLD, {"ids": list(effect_ids), "space": HOLD_SPACE}).fetchall()


def claim_params(
    request_id: str,
    worker: str,
    now: datetime,
    lease: timedelta,
    require: Sequence[str] = (),
    held: Sequence[str] = (),
) -> dict[str, Any]:
    """The parameters of :data:`CLAIM_REQUEST` (and of :data:`CHECK_REQUIRED`);
    ``held``: the store's own holds."""
    required = sorted(set(require))
    return {
        "held": list(held),
        "space": HOLD_SPACE,
        "request_id": request_id,
        "now": to_micros(now),
        "until": to_micros(now + lease),
        "worker": worker,
        "required": required,
        "required_count": len(required),
    }


def claimed_entries(rows: Sequence[Sequence[Any]], params: dict[str, Any]) -> list[OutboxEntry]:
    """The entries :data:`CLAIM_REQUEST` returned, in stream order (RETURNING keeps none)."""
    until = from_micros(params["until"])
    return [
        OutboxEntry(
            effect_id=r[0],
            request_id=r[1],
            kind=r[2],
            attempts=r[3],
            available_at=from_micros(r[4]),
            lease_until=until,
            worker=params["worker"],
            last_error=r[5],
        )
        for r in sorted(rows, key=lambda r: r[6])
    ]
