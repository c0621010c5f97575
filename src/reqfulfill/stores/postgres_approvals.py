"""The PostgreSQL store's index of pending approvers: who each request waits for, since
when.

``rf_approvals`` (schema 4, :data:`APPROVALS_MIGRATION`) holds one row per (request,
pending approver) with the time the approver joined. :func:`write_approvers` queues the
statements that keep it in step with a request's summary inside the append's pipeline
(no statement reads: the append stays one round trip); :func:`pending_approvals`
answers :meth:`~reqfulfill.stores.Store.pending_approvals` from the ``(actor, since)``
index.
"""

from __future__ import annotations

from typing import Any

import psycopg

from reqfulfill.stores._base import RequestSummary, from_micros, to_micros

__all__ = ["APPROVALS_MIGRATION", "pending_approvals", "write_approvers"]

APPROVALS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE rf_approvals (
        request_id text NOT NULL,
        actor text NOT NULL,
        since bigint NOT NULL,
        PRIMARY KEY (request_id, actor)
    )""",
    "CREATE INDEX rf_approvals_actor ON rf_approvals (actor, since, request_id)",
    # requests already waiting (approved without a policy: the approvers of their
    # ApprovalRequested event), since that event
    "INSERT INTO rf_approvals (request_id, actor, since)"
    " SELECT r.request_id, j.actor, e.at FROM rf_requests AS r"
    " JOIN rf_events AS e ON e.request_id = r.request_id AND e.type = 'ApprovalRequested'"
    " CROSS JOIN LATERAL jsonb_array_elements_text(e.payload::jsonb -> 'approvers') AS j(actor)"
    " WHERE r.state = 'awaiting_approval'"
    " ON CONFLICT DO NOTHING",
)
"""The migration step that adds the index (and fills it for the requests waiting)."""


def write_approvers(db: psycopg.Connection[tuple[Any, ...]], s: RequestSummary) -> None:
    """Make ``rf_approvals`` hold exactly ``s.approvers`` for the request: an approver
    who stays keeps their ``since``, a new one joins at ``s.updated_at``."""
    approvers = list(s.approvers)
    db.execute(
        "DELETE FROM rf_approvals WHERE request_id = %s AND NOT (actor = ANY(%s::text[]))",
        (s.request_id, approvers),
    )
    if approvers:
        db.execute(
            "INSERT INTO rf_approvals (request_id, actor, since)"
            " SELECT %s, a, %s FROM unnest(%s::text[]) AS a ON CONFLICT DO NOTHING",
            (s.request_id, to_micros(s.updated_at), approvers),
        )


def pending_approvals(
    db: psycopg.Connection[tuple[Any, ...]], actor: str, limit: int | None
) -> list[RequestSummary]:
    """The summaries of the requests waiting for ``actor``, longest waiting first."""
    params: list[object] = [actor]
    statement = (
        "SELECT r.request_id, r.state, r.grp, r.agent, r.item, r.requester, r.priority,"
        " r.created_at, r.updated_at FROM rf_approvals AS a"
        " JOIN rf_requests AS r ON r.request_id = a.request_id"
        " WHERE a.actor = %s ORDER BY a.since, a.request_id"
    )
    if limit is not None:
        statement += " LIMIT %s"
        params.append(int(limit))
    rows = db.execute(statement, params).fetchall()
    return [
        RequestSummary(
            request_id=r[0],
            state=r[1],
            group=r[2],
            agent=r[3],
            item=r[4],
            requester=r[5],
            priority=r[6],
            created_at=from_micros(r[7]),
            updated_at=from_micros(r[8]),
        )
        for r in rows
    ]
