"""The PostgreSQL store's claim of one request's due effects, queued inside an append's
pipelined transaction (:meth:`~reqfulfill.stores.PostgresStore.append_and_claim`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from reqfulfill.stores._base import OutboxEntry, from_micros, to_micros

__all__ = ["CLAIM_REQUEST", "claim_params", "claimed_entries"]

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


def claim_params(request_id: str, worker: str, now: datetime, lease: timedelta) -> dict[str, Any]:
    """The parameters of :data:`CLAIM_REQUEST`."""
    return {
        "request_id": request_id,
        "now": to_micros(now),
        "until": to_micros(now + lease),
        "worker": worker,
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
