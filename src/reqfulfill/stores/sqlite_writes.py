"""The rows an append writes beside its events on SQLite: the request's summary, order
references, metric facts and pending approvers, and its timers. Each takes the append's
connection inside its transaction (see :meth:`reqfulfill.stores.sqlite.SQLiteStore.append`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from reqfulfill.stores import sqlite_approvals
from reqfulfill.stores._base import RequestSummary, to_micros
from reqfulfill.stores._query_sql import UPSERT_FACTS, facts_params
from reqfulfill.stores.sqlite_messages import write_messages

__all__ = ["write_summary", "write_timers"]


def write_summary(db: sqlite3.Connection, s: RequestSummary, version: int) -> None:
    """Insert or update the request's summary row (``version``: the stream's new one),
    its supplier-order references, its metric facts and who it waits for."""
    db.execute(
        "INSERT INTO rf_requests (request_id, state, grp, agent, item, requester, priority,"
        " created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (request_id) DO UPDATE SET state = excluded.state, grp = excluded.grp,"
        " agent = excluded.agent, item = excluded.item, priority = excluded.priority,"
        " updated_at = excluded.updated_at, version = excluded.version",
        (
            s.request_id,
            s.state,
            s.group,
            s.agent,
            s.item,
            s.requester,
            s.priority,
            to_micros(s.created_at),
            to_micros(s.updated_at),
            version,
        ),
    )
    db.executemany(
        "INSERT OR IGNORE INTO rf_orders (supplier_id, ref, request_id) VALUES (?, ?, ?)",
        [(supplier, ref, s.request_id) for supplier, ref in s.orders],
    )
    db.execute(UPSERT_FACTS, facts_params(s))
    sqlite_approvals.write_approvers(db, s)
    write_messages(db, s, version)


def write_timers(
    db: sqlite3.Connection, request_id: str, timers: Mapping[str, datetime | None]
) -> None:
    """Set or delete the request's timers (a due of None deletes one)."""
    for key, due in sorted(timers.items()):  # one order everywhere, as in PostgreSQL
        if due is None:
            db.execute("DELETE FROM rf_timers WHERE request_id = ? AND key = ?", (request_id, key))
        else:
            db.execute(
                "INSERT INTO rf_timers (request_id, key, due) VALUES (?, ?, ?)"
                " ON CONFLICT (request_id, key) DO UPDATE SET due = excluded.due",
                (request_id, key, to_micros(due)),
            )
