"""The SQLite store's message lookup: which request a mail or chat message made or
was recorded on (``rf_messages``, schema 3), written in the append's transaction."""

from __future__ import annotations

import sqlite3

from reqfulfill.model.errors import ConcurrencyError
from reqfulfill.stores._base import RequestSummary

__all__ = ["MESSAGES_MIGRATION", "find_message", "write_messages"]

MESSAGES_MIGRATION: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS rf_messages (
        message_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL
    ) WITHOUT ROWID""",
)
"""The migration step that adds ``rf_messages`` (message id -> request id)."""


def write_messages(db: sqlite3.Connection, summary: RequestSummary, version: int) -> None:
    """Record the summary's message ids for its request. A message another request
    holds already (a second process received the same mail) is a
    ``ConcurrencyError``: the transaction rolls back and the caller finds the first."""
    if not summary.messages:
        return
    try:
        db.executemany(
            "INSERT INTO rf_messages (message_id, request_id) SELECT ?, ?"
            " WHERE NOT EXISTS (SELECT 1 FROM rf_messages WHERE message_id = ?"
            " AND request_id = ?)",
            [(m, summary.request_id, m, summary.request_id) for m in summary.messages],
        )
    except sqlite3.IntegrityError as exc:
        raise ConcurrencyError(summary.request_id, version) from exc


def find_message(db: sqlite3.Connection, message_id: str) -> str | None:
    """The id of the request that holds ``message_id``, if any."""
    row = db.execute(
        "SELECT request_id FROM rf_messages WHERE message_id = ?", (message_id,)
    ).fetchone()
    return None if row is None else str(row[0])
