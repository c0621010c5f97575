"""The PostgreSQL store's claim of one request's due effects, queued inside an append's
pipelined transaction (:meth:`~reqfulfill.stores.PostgresStore.append_and_claim`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from reqfulfill.stores._base import OutboxEntry, from_micros, to_micros

__all__ = ["CHECK_REQUIRED", "CLAIM_REQUEST", "DUE_EFFECTS", "claim_params", "claimed_entries"]

# The request's due, unleased entries, the ones the same transaction inserted
# included; rows another worker is claiming are skipped, not awaited.
CLAIM_REQUEST = (
    "WITH due AS ("
    " SELECT effect_id FROM rf_outbox WHERE request_id = %(request_id)s"
    " AND available_at <= %(now)s AND (lease_until IS NULL OR lease_until <= %(now)s)"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE rf_outbox AS o SET lease_until = %(until)s, worker = %(worker)s"
    " FROM due WHERE o.effect_id = due.effect_id"
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

# What a claim at %(now)s would take, in claim order, read without a lock.
DUE_EFFECTS = (
    "SELECT effect_id, request_id, kind, attempts, available_at, lease_until, worker,"
    " last_error FROM rf_outbox WHERE available_at <= %(now)s"
    " AND (lease_until IS NULL OR lease_until <= %(now)s)"
    " ORDER BY available_at, request_id, version LIMIT %(limit)s"
)


def claim_params(
    request_id: str, worker: str, now: datetime, lease: timedelta, require: Sequence[str] = ()
) -> dict[str, Any]:
    """The parameters of :data:`CLAIM_REQUEST` (and of :data:`CHECK_REQUIRED`)."""
    required = sorted(set(require))
    return {
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
