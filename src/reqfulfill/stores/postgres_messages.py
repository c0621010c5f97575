"""The PostgreSQL store's message lookup: which request a mail or chat message made
or was recorded on (``rf_messages``, schema 4), written in the append's transaction.

Two processes that receive the same mail at once both try to record its id for a
request of their own: the primary key makes the second wait for the first's commit
and then fail with a unique violation, which :func:`is_taken` recognises so the
store raises ``ConcurrencyError`` (and the service finds the first request).
"""

from __future__ import annotations

from typing import Any

import psycopg

from reqfulfill.stores._base import RequestSummary

__all__ = ["find_message", "is_taken", "write_messages"]

_UNIQUE_VIOLATION = "23505"


def write_messages(db: psycopg.Connection[tuple[Any, ...]], summary: RequestSummary) -> None:
    """Queue the insertion of the summary's message ids not yet recorded for its request."""
    if not summary.messages:
        return
    db.execute(
        "INSERT INTO rf_messages (message_id, request_id)"
        " SELECT m, %(request_id)s FROM unnest(%(messages)s::text[]) AS m"
        " WHERE NOT EXISTS (SELECT 1 FROM rf_messages AS r"
        " WHERE r.message_id = m AND r.request_id = %(request_id)s)",
        {"request_id": summary.request_id, "messages": list(summary.messages)},
    )


def is_taken(error: psycopg.Error) -> bool:
    """Whether ``error`` says a message id is held by another request already."""
    return error.sqlstate == _UNIQUE_VIOLATION and error.diag.table_name == "rf_messages"


def find_message(db: psycopg.Connection[tuple[Any, ...]], message_id: str) -> str | None:
    """The id of the request that holds ``message_id``, if any."""
    row = db.execute(
        "SELECT request_id FROM rf_messages WHERE message_id = %s", (message_id,)
    ).fetchone()
    return None if row is None else str(row[0])
