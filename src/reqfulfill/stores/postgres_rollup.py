"""The PostgreSQL store's metric tallies: all-time ones from the rollup (caught up
first, see :mod:`reqfulfill.stores._rollup`), windowed ones from a scan of the facts
rows (``stores._query_sql``).

A catch-up runs in one READ COMMITTED transaction holding a transaction-level advisory
lock, so catch-ups take turns while appends go on: an append committed after the
catch-up read a facts row bumps its ``seq``, the catch-up's mark (``WHERE seq = ?``)
then misses it, and the row stays dirty for the next one. An append waiting on a row
the catch-up marked waits for its commit (it locks nothing the catch-up waits for: the
rollup tables are the catch-up's alone). The first catch-up (or ``db upgrade``) builds
the rollup in bulk with the facts table locked against writes (``EXCLUSIVE``: reads go
on) for the few seconds it takes, then vacuums the facts table (the bulk mark leaves as
many dead entries in the index of dirty rows as there are rows, which the probe for a
dirty row would otherwise step over until autovacuum runs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

import psycopg

from reqfulfill.stores import _rollup
from reqfulfill.stores._facts import MetricsTally, tally_rows
from reqfulfill.stores._query_sql import metric_queries, pg, window_params

__all__ = ["ROLLUP_MIGRATION", "Transaction", "catch_up", "metric_tallies"]

ROLLUP_MIGRATION = (
    *_rollup.rollup_migration("BYTEA"),
    # histogram blobs stored as they are: a catch-up rewrites them, a read decodes
    # them at once, and compressing (pglz) costs more than it saves on either
    *(
        f"ALTER TABLE rf_metric_rollup ALTER COLUMN {name} SET STORAGE EXTERNAL"
        for name in _rollup.HISTOGRAMS
    ),
)
"""Schema step 9: the rollup (see :func:`reqfulfill.stores._rollup.rollup_migration`)."""

_Connection = psycopg.Connection[tuple[Any, ...]]


class Transaction(Protocol):
    """The store's transaction factory (``PostgresStore._tx``)."""

    def __call__(
        self, *, pipeline: bool = False, single: bool = False
    ) -> AbstractContextManager[_Connection]: ...


_BATCH = 5000
"""Facts rows a catch-up reads at a time."""

_WRITES = (
    ("rf_metric_rollup", "INSERT"),
    ("rf_metric_rollup", "UPDATE"),
    ("rf_facts_rolled", "INSERT"),
    ("rf_facts_rolled", "UPDATE"),
    ("rf_request_facts", "UPDATE"),
)
"""What a catch-up writes (one privilege per call: with a list, ``has_table_privilege``
is true if *any* of them is held)."""

_PROBE = (
    f"SELECT EXISTS ({_rollup.DIRTY_PROBE}),"
    " current_setting('transaction_read_only') = 'off'"
    + "".join(f" AND has_table_privilege('{table}', '{what}')" for table, what in _WRITES)
)
"""(facts rows to catch up, whether this connection may write what a catch-up writes):
a read, no lock."""


def _probe(transaction: Transaction) -> tuple[bool, bool]:
    with transaction(single=True) as db:
        row = db.execute(_PROBE).fetchone()
    assert row is not None  # a SELECT without FROM gives one row
    return bool(row[0]), bool(row[1])


def catch_up(
    transaction: Transaction,
    lock: tuple[int, int],
    *,
    batch: int = _BATCH,
    between: Callable[[], None] | None = None,
) -> int:
    """Catch the rollup up with the facts rows changed since the last catch-up (none:
    one read, no lock); return how many facts rows it rolled up. ``lock`` is the
    advisory lock's two keys (the store's, per schema)."""
    dirty, _ = _probe(transaction)
    return _catch_up(transaction, lock, batch, between) if dirty else 0


def _catch_up(
    transaction: Transaction,
    lock: tuple[int, int],
    batch: int,
    between: Callable[[], None] | None,
) -> int:
    built = False
    with transaction() as tx:
        # READ COMMITTED whatever the server's default: each statement after the lock
        # sees what the catch-up before committed, and a mark re-checks the newest row
        # (at REPEATABLE READ or SERIALIZABLE it would fail on a row an append changed)
        tx.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        tx.execute("SELECT pg_advisory_xact_lock(%s, %s)", lock)

        def fetch(statement: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
            # binary results: the blobs as they are, not in hex
            return tx.execute(pg(statement), params, binary=True).fetchall()

        def many(statement: str, params: Sequence[Sequence[Any]]) -> None:
            with tx.cursor() as cur:
                cur.executemany(pg(statement), params)

        def before_build() -> None:
            nonlocal built
            tx.execute("LOCK TABLE rf_request_facts IN EXCLUSIVE MODE")
            built = True

        done = _rollup.catch_up(
            fetch, many, batch=batch, between=between, before_build=before_build
        )
    if built:  # every facts row rewritten: clear the dirty index of its dead entries
        with transaction(single=True) as db:
            db.execute("VACUUM (ANALYZE) rf_request_facts")
    return done


def metric_tallies(
    transaction: Transaction,
    lock: tuple[int, int],
    by: str,
    since: datetime | None,
    until: datetime | None,
) -> list[MetricsTally]:
    """The metric sums per ``by`` of the facts rows created in ``[since, until)``: from
    the rollup when the window is all time (caught up first; a connection that may not
    write it while it has changes to catch up scans instead), else from a scan of the
    window's rows (one snapshot for the three statements)."""
    statements = metric_queries(by)  # checks ``by``
    if since is None and until is None:
        dirty, writable = _probe(transaction)
        if dirty and writable:
            _catch_up(transaction, lock, _BATCH, None)
        if writable or not dirty:
            with transaction(single=True) as db:
                rows = db.execute(pg(_rollup.ROLLUP_READ), (by,), binary=True).fetchall()
            return _rollup.tallies_of(rows)
        # changes not rolled up on a connection that may not write them (a read-only
        # transaction, a hot standby, a role without the privileges): the scan
    window = window_params(since, until)
    with transaction() as db:
        db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        counters, assign, fulfil = (db.execute(pg(q), window).fetchall() for q in statements)
    return tally_rows(counters, assign, fulfil)
