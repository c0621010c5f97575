"""The SQLite store's metric tallies and facts rebuilds: all-time tallies from the
rollup (caught up first, in a write transaction, see :mod:`reqfulfill.stores._rollup`),
windowed ones from a scan of the facts rows (``stores._query_sql``).

The functions take the store's connection (and its write-transaction factory) with
the store's lock held.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from reqfulfill.stores import _rollup
from reqfulfill.stores._facts import MetricFacts, MetricsTally, tally_rows
from reqfulfill.stores._query_sql import (
    REBUILD_FACTS,
    STALE_FACTS,
    metric_queries,
    rebuild_params,
    window_params,
)

__all__ = ["ROLLUP_MIGRATION", "catch_up", "metric_tallies", "rebuild_facts", "stale_facts"]

ROLLUP_MIGRATION = _rollup.rollup_migration("BLOB")
"""Schema step 8: the rollup (see :func:`reqfulfill.stores._rollup.rollup_migration`)."""

Transaction = Callable[[], AbstractContextManager[sqlite3.Connection]]


def catch_up(
    db: sqlite3.Connection,
    transaction: Transaction,
    *,
    batch: int = 5000,
    between: Callable[[], None] | None = None,
) -> int:
    """Catch the rollup up with the facts rows changed since the last catch-up (none:
    one read, no write lock); return how many facts rows it rolled up."""
    if db.execute(_rollup.DIRTY_PROBE).fetchone() is None:
        return 0
    with transaction() as tx:

        def fetch(statement: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
            return tx.execute(statement, params).fetchall()

        def many(statement: str, params: Sequence[Sequence[Any]]) -> None:
            tx.executemany(statement, params)

        return _rollup.catch_up(fetch, many, batch=batch, between=between)


def metric_tallies(
    db: sqlite3.Connection,
    transaction: Transaction,
    by: str,
    since: datetime | None,
    until: datetime | None,
    *,
    read_only: bool,
) -> list[MetricsTally]:
    """The metric sums per ``by`` of the facts rows created in ``[since, until)``: from
    the rollup when the window is all time (a read-only store with changes not yet
    rolled up scans the facts instead), else from a scan of the window's rows."""
    statements = metric_queries(by)  # checks ``by``
    if since is None and until is None:
        if not read_only:
            catch_up(db, transaction)
        if not read_only or _clean_rollup(db):
            return _rollup.tallies_of(db.execute(_rollup.ROLLUP_READ, (by,)).fetchall())
    window = window_params(since, until)
    counters, assign, fulfil = (db.execute(q, window).fetchall() for q in statements)
    return tally_rows(counters, assign, fulfil)


def _clean_rollup(db: sqlite3.Connection) -> bool:
    """Whether a store opened read-only has a rollup with nothing to catch up (a file
    of an older schema has none)."""
    exists = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rf_metric_rollup'"
    ).fetchone()
    return exists is not None and db.execute(_rollup.DIRTY_PROBE).fetchone() is None


def stale_facts(db: sqlite3.Connection, limit: int) -> list[str]:
    """Requests whose facts a migration left to rebuild (at most ``limit``)."""
    return [str(r[0]) for r in db.execute(STALE_FACTS, (int(limit),)).fetchall()]


def rebuild_facts(
    tx: sqlite3.Connection, request_id: str, version: int, facts: MetricFacts
) -> bool:
    """Replace a request's facts (marking them for the catch-up), unless its stream
    has moved past ``version``."""
    return tx.execute(REBUILD_FACTS, rebuild_params(request_id, version, facts)).rowcount == 1
