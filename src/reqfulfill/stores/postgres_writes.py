"""The rows an append writes beside its events on PostgreSQL: outbox entries (and the
completed ones deleted), the request's summary, order references and metric facts, and
its timers. Each takes the append's connection inside its transaction (see
:meth:`reqfulfill.stores.postgres.PostgresStore.append`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg

from reqfulfill.stores import postgres_approvals
from reqfulfill.stores._base import RequestSummary, to_micros
from reqfulfill.stores._query_sql import UPSERT_FACTS, facts_params, pg
from reqfulfill.stores.postgres_messages import write_messages

__all__ = ["write_outbox", "write_summary", "write_timers"]


def write_outbox(
    db: psycopg.Connection[tuple[Any, ...]],
    effects: list[tuple[str, str, str, int, int]],
    completes: tuple[Sequence[str], str] | None,
) -> None:
    """Queue an append's outbox rows and, with ``completes`` (effect ids, worker),
    the deletion of the entries whose outcomes it records."""
    with db.cursor() as cur:
        if effects:
            cur.executemany(
                "INSERT INTO rf_outbox (effect_id, request_id, kind, available_at, version)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (effect_id) DO NOTHING",
                effects,
            )
        if completes is not None:
            cur.executemany(
                "DELETE FROM rf_outbox WHERE effect_id = %s AND (worker = %s OR worker IS NULL)",
                [(effect_id, completes[1]) for effect_id in completes[0]],
            )


def write_summary(db: psycopg.Connection[tuple[Any, ...]], s: RequestSummary, version: int) -> None:
    """Insert or update the request's summary row (``version``: the stream's new one),
    its supplier-order references, its metric facts and who it waits for."""
    db.execute(
        "INSERT INTO rf_requests (request_id, state, grp, agent, item, requester, priority,"
        " created_at, updated_at, version)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
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
    if s.orders:
        with db.cursor() as cur:
            cur.executemany(
                "INSERT INTO rf_orders (supplier_id, ref, request_id) VALUES (%s, %s, %s)"
                " ON CONFLICT (supplier_id, ref) DO NOTHING",
                [(supplier, ref, s.request_id) for supplier, ref in s.orders],
            )
    db.execute(pg(UPSERT_FACTS), facts_params(s))
    postgres_approvals.write_approvers(db, s)
    write_messages(db, s)


def write_timers(
    db: psycopg.Connection[tuple[Any, ...]],
    request_id: str,
    timers: Mapping[str, datetime | None],
) -> None:
    """Set or delete the request's timers (a due of None deletes one)."""
    # keys in one order everywhere: two transactions writing the same request's
    # timers (an append, a worker's refresh) lock their rows in the same order
    for key, due in sorted(timers.items()):
        if due is None:
            db.execute(
                "DELETE FROM rf_timers WHERE request_id = %s AND key = %s", (request_id, key)
            )
        else:
            db.execute(
                "INSERT INTO rf_timers (request_id, key, due) VALUES (%s, %s, %s)"
                " ON CONFLICT (request_id, key) DO UPDATE SET due = excluded.due",
                (request_id, key, to_micros(due)),
            )
