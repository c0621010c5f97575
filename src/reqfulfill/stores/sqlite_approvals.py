"""The SQLite store's index of pending approvers: who each request waits for, since when.

``rf_approvals`` holds one row per (request, pending approver) with the time the
approver joined; :func:`write_approvers` keeps it in step with a request's summary inside
the append's transaction, :func:`pending_approvals` answers
:meth:`~reqfulfill.stores.Store.pending_approvals` from the ``(actor, since)`` index.
"""

from __future__ import annotations

import json
import sqlite3

from reqfulfill.stores._base import RequestSummary, from_micros, to_micros

__all__ = ["APPROVALS_MIGRATION", "pending_approvals", "write_approvers"]

APPROVALS_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS rf_approvals (
        request_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (request_id, actor)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS rf_approvals_actor ON rf_approvals (actor, since, request_id)",
    # requests already waiting (approved without a policy: the approvers of their
    # ApprovalRequested event), since that event
    "INSERT OR IGNORE INTO rf_approvals (request_id, actor, since)"
    " SELECT r.request_id, j.value, e.at FROM rf_requests AS r"
    " JOIN rf_events AS e ON e.request_id = r.request_id AND e.type = 'ApprovalRequested'"
    " JOIN json_each(e.payload, '$.approvers') AS j"
    " WHERE r.state = 'awaiting_approval'",
)
"""The migration step that adds the index (and fills it for the requests waiting)."""


def write_approvers(db: sqlite3.Connection, s: RequestSummary) -> None:
    """Make ``rf_approvals`` hold exactly ``s.approvers`` for the request: an approver
    who stays keeps their ``since``, a new one joins at ``s.updated_at``."""
    db.execute(
        "DELETE FROM rf_approvals WHERE request_id = ?"
        " AND actor NOT IN (SELECT value FROM json_each(?))",
        (s.request_id, json.dumps(list(s.approvers))),
    )
    if s.approvers:
        since = to_micros(s.updated_at)
        db.executemany(
            "INSERT OR IGNORE INTO rf_approvals (request_id, actor, since) VALUES (?, ?, ?)",
            [(s.request_id, actor, since) for actor in s.approvers],
        )


def pending_approvals(
    db: sqlite3.Connection, actor: str, limit: int | None
) -> list[RequestSummary]:
    """The summaries of the requests waiting for ``actor``, longest waiting first."""
    sql = (
        "SELECT r.request_id, r.state, r.grp, r.agent, r.item, r.requester, r.priority,"
        " r.created_at, r.updated_at FROM rf_approvals AS a"
        " JOIN rf_requests AS r ON r.request_id = a.request_id"
        " WHERE a.actor = ? ORDER BY a.since, a.request_id"
    )
    params: list[object] = [actor]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    rows = db.execute(sql, params).fetchall()
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
