"""``postgresql://``: the shared store for many workers on many machines (psycopg 3).

The schema mirrors the SQLite store: an events table keyed by
``(request_id, version)`` with a unique ``event_id``, a summary table written in
the same transaction, a supplier-order lookup, an outbox and timers (times are
``bigint`` microseconds since the epoch, see :func:`~reqfulfill.stores._base.to_micros`).

An append is one round trip: BEGIN, the writes, the expected-version check (a
function in the database that raises when the stream is not "the expected
version, then these events", so a stale writer gets ``ConcurrencyError`` and
writes nothing) and COMMIT are pipelined. Of two writers of the same version the
``(request_id, version)`` key makes the second wait for the first's commit; its
events are then skipped and its check fails. Workers claim
outbox entries with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease, so they
never wait for each other and never run one effect at the same time.

``postgresql://user@host:5432/db?schema=NAME`` keeps the tables in schema
``NAME`` (created on first use); any other URL parameter goes to libpq
(``connect_timeout``, 10 seconds unless the URL says otherwise).

A fault of the server or the connection reaches the caller as a
:class:`~reqfulfill.model.errors.StoreError` naming the URL (password masked) and the
operation. A command that fails because the connection dropped (a server restart, a
network cut, a killed backend) runs once more on a new connection: reads and
timer and outbox updates repeat harmlessly, and an append whose COMMIT may have
happened finds its own events on the second try and gets ``ConcurrencyError``, so
the service decides again on the stream as it is.

Example (needs a server)::

    store = PostgresStore.from_url("postgresql://postgres@localhost/test?schema=rf")
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar, final

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from reqfulfill.model.errors import ConcurrencyError, ValidationError, mask_password
from reqfulfill.model.events import Event
from reqfulfill.stores import _postgres_claims as claims
from reqfulfill.stores import postgres_approvals, postgres_feed, postgres_rollup, postgres_writes
from reqfulfill.stores._base import (
    LoadAfterEvent,
    MetricFacts,
    MetricsTally,
    OutboxEntry,
    RequestSummary,
    Timer,
    decode_events,
    decode_feed,
    driver_fault,
    event_rows,
    from_micros,
    outbox_entry,
    outbox_rows,
    to_micros,
)
from reqfulfill.stores._batch import PG_LOAD_MANY, check_load_many, pg_params, streams
from reqfulfill.stores._feed import (
    StoredEvent,
    check_position,
    check_read_all,
    check_subscription_name,
)
from reqfulfill.stores._postgres_schema import MIGRATIONS
from reqfulfill.stores._query_sql import (
    REBUILD_FACTS,
    STALE_FACTS,
    pg,
    query_sql,
    rebuild_params,
    summary_of_row,
)
from reqfulfill.stores.postgres_messages import find_message, is_taken
from reqfulfill.stores.postgres_url import connect_timeout_of, split_url, store_url, take_option

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "SCHEMA_VERSION", "PostgresStore", "split_url"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 9
"""The schema version this release writes; :meth:`PostgresStore.upgrade` migrates to it."""

# Advisory lock namespace (first key of the two-key form): "rf" in ASCII, so our
# locks do not collide with an application's own single-key advisory locks.
_LOCK_NAMESPACE = 0x7266

# The SQLSTATE rf_check_append (migration 2) raises for a stale expected version (a
# class of our own: "RF"), mapped to ConcurrencyError.
_STALE_VERSION = "RF409"

# SQLSTATEs after which an append wrote nothing and may be decided again:
# serialization_failure, deadlock_detected, lock_not_available.
_TRANSIENT = frozenset({"40001", "40P01", "55P03"})

DEFAULT_CONNECT_TIMEOUT = 10
"""Seconds to wait for the server when connecting, unless the URL or the caller says."""


_EVENT_COLUMNS = ("request_ids", "versions", "event_ids", "types", "ats", "payloads")

# The version check alone (an append with no events, which may still complete effects).
_CHECK_VERSION = """SELECT rf_check_append(%(request_id)s, %(expected)s,
    (SELECT coalesce(max(version), 0) FROM rf_events WHERE request_id = %(request_id)s),
    0, 0)"""


# ``outcome_commit``: how a worker's outcome transaction (``append_and_complete``)
# commits; one literal statement per value of PostgreSQL's synchronous_commit.
_OUTCOME_COMMIT: dict[str, str | None] = {
    "on": None,  # the server's setting, like every other transaction
    "off": "SET LOCAL synchronous_commit = off",
    "local": "SET LOCAL synchronous_commit = local",
    "remote_write": "SET LOCAL synchronous_commit = remote_write",
    "remote_apply": "SET LOCAL synchronous_commit = remote_apply",
}


def _lock_key(text: str) -> int:
    """A stable signed 32-bit key for an advisory lock (the same in every process)."""
    value = zlib.crc32(text.encode("utf-8"))
    return value - (1 << 32) if value >= (1 << 31) else value


_P = ParamSpec("_P")
_R = TypeVar("_R")
_Method = Callable[Concatenate["PostgresStore", _P], _R]


def _guarded(operation: str) -> Callable[[_Method[_P, _R]], _Method[_P, _R]]:
    """Run a store method with psycopg's errors turned into ``StoreError`` (naming the URL,
    ``operation`` and, for a method of one request, the request). A call that failed
    because the connection dropped runs once more, on a new connection."""

    def wrap(method: _Method[_P, _R]) -> _Method[_P, _R]:
        per_request = list(inspect.signature(method).parameters)[1:2] == ["request_id"]

        @functools.wraps(method)
        def call(self: PostgresStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            request_id = str(args[0]) if per_request and args else None
            try:
                return method(self, *args, **kwargs)
            except psycopg.Error as exc:
                if not self._dropped(exc):
                    raise driver_fault(self.url, operation, exc, request_id) from exc
                log.warning(
                    "%s: %s: the connection dropped (%s); trying once more",
                    mask_password(self.url),
                    operation,
                    type(exc).__name__,
                )
            try:
                return method(self, *args, **kwargs)  # _tx connects again first
            except psycopg.Error as exc:
                raise driver_fault(self.url, operation, exc, request_id) from exc

        return call

    return wrap


@final
class PostgresStore(LoadAfterEvent):
    """The PostgreSQL store: one connection per store object, guarded by a lock.

    Every method runs in its own explicit transaction. A connection that broke
    (database restart, network) is replaced on the next call.

    :param dsn: a libpq connection string or ``postgresql://`` URL (without ``schema``).
    :param schema: the schema holding the tables (default: the connection's
        ``search_path``, usually ``public``); created on first use.
    :param migrate: run :meth:`upgrade` now (the default). With ``False`` the
        schema must already be at :data:`SCHEMA_VERSION` (``reqfulfill db upgrade``).
    :param connect_timeout: seconds to wait for the server when connecting: by default
        the ``connect_timeout`` of ``dsn``, else :data:`DEFAULT_CONNECT_TIMEOUT`.
    :param outcome_commit: ``synchronous_commit`` for the transactions that store an
        effect's outcome and take it off the outbox (:meth:`append_and_complete`).
        The default ``"on"`` commits them as the server is configured, like every
        other transaction (durable: the server's ``synchronous_commit``). ``"off"``
        is the relaxed mode: it does not wait for the WAL flush, so a database crash
        can lose the last outcomes (a fraction of a second's worth), and their
        effects then run again with the same idempotency key, exactly as after a
        worker crash. URL parameter: ``?outcome_commit=off``.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        migrate: bool = True,
        connect_timeout: int | None = None,
        outcome_commit: str = "on",
    ) -> None:
        if outcome_commit not in _OUTCOME_COMMIT:
            raise ValidationError.single(
                "outcome_commit",
                outcome_commit,
                "expected one of " + ", ".join(repr(v) for v in _OUTCOME_COMMIT),
            )
        self.dsn = dsn
        self.schema = schema
        self.url = store_url(dsn, schema)
        """The store's URL, for messages (:class:`StoreError` masks its password)."""
        self.outcome_commit = outcome_commit
        if connect_timeout is None:
            connect_timeout = connect_timeout_of(dsn)
        self.connect_timeout = (
            DEFAULT_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        )
        self._lock = threading.RLock()
        self._closed = False
        self._held: dict[str, str] = {}  # effect id -> worker, of this store's holds
        self._db = self._connect()
        self._channel = postgres_feed.channel(schema)
        self._listener = postgres_feed.Listener(self._connect, self._channel, self.url)
        if migrate:
            try:
                self.upgrade()
            except BaseException:
                self.close()
                raise

    @classmethod
    def from_url(cls, url: str, *, migrate: bool = True) -> PostgresStore:
        """Open the store a ``postgresql://`` URL names (``?schema=NAME`` selects a schema,
        ``?outcome_commit=off`` lets outcomes commit without waiting for the WAL flush)."""
        url, outcome_commit = take_option(url, "outcome_commit")
        dsn, schema = split_url(url)
        return cls(dsn, schema=schema, migrate=migrate, outcome_commit=outcome_commit or "on")

    # -- connection and transactions -----------------------------------------------------

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A new connection; ``StoreError`` when the server cannot be reached, the
        database does not exist or the login is refused."""
        try:
            db = psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout)
        except psycopg.Error as exc:
            raise driver_fault(self.url, "connect", exc) from exc
        try:
            if self.schema is not None:
                # The schema may not exist yet: search_path accepts that, upgrade() creates it.
                db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        except psycopg.Error as exc:
            db.close()
            raise driver_fault(self.url, "connect", exc) from exc
        return db

    def _dropped(self, exc: psycopg.Error) -> bool:
        """Whether ``exc`` came from a connection that is gone (and may be replaced)."""
        return isinstance(exc, psycopg.OperationalError) and (self._db.closed or self._db.broken)

    @contextmanager
    def _tx(
        self, *, pipeline: bool = False, single: bool = False
    ) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """A transaction; with ``pipeline``, its statements (BEGIN and COMMIT too) are
        sent without waiting for each answer: a result fetched inside waits for it.
        With ``single`` (one statement, atomic on its own) no transaction is opened:
        the connection is in autocommit mode, so no BEGIN and COMMIT round trips."""
        with self._lock:
            if self._closed:
                raise ValidationError.single("store", self.schema or self.dsn, "store is closed")
            if self._db.closed or self._db.broken:
                self._db = self._connect()
            if single:
                yield self._db
            elif pipeline:
                yield from self._pipelined(self._db)
            else:
                with self._db.transaction():
                    yield self._db

    def _pipelined(
        self, db: psycopg.Connection[tuple[Any, ...]]
    ) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """The body of a pipelined transaction (see :meth:`_tx`).

        BEGIN, the caller's statements and COMMIT are queued and sent together. A
        statement's error may surface at any later statement or when the pipeline
        syncs; the first one is kept, raised once the pipeline has closed (so psycopg
        has no aborted pipeline to warn about on the way out), and the transaction
        block it left open is rolled back. An exception of the caller's own leaves
        the COMMIT unsent, and the block is rolled back the same way.

        A statement the server skips because an earlier one failed may be one psycopg
        was preparing just then (it prepares a statement on its sixth use); its cache
        would then name a statement the server never made. So BEGIN and COMMIT are
        never prepared, callers put the statement that is expected to fail (the
        version check) last, and any failure ends with ``Connection.rollback()``,
        which clears psycopg's cache of prepared statements.
        """
        failure: psycopg.Error | None = None
        try:
            with db.pipeline():
                try:
                    db.execute("BEGIN", prepare=False)
                    yield db
                    db.execute("COMMIT", prepare=False)
                except psycopg.Error as exc:
                    failure = exc
        except psycopg.Error as exc:
            failure = failure or exc
        finally:
            if not db.broken and db.info.transaction_status != TransactionStatus.IDLE:
                # a statement failed or the caller raised: the block is still open.
                # rollback() also makes psycopg forget its prepared statements (and
                # deallocate them), one of which the server may have skipped
                db.rollback()
        if failure is not None:
            raise failure

    # -- schema ------------------------------------------------------------------------------

    @_guarded("schema_version")
    def schema_version(self) -> int:
        """The schema version in the database (0 before the first :meth:`upgrade`)."""
        with self._tx() as db:
            return self._current_version(db)

    def _current_version(self, db: psycopg.Connection[tuple[Any, ...]]) -> int:
        exists = db.execute("SELECT to_regclass('rf_schema') IS NOT NULL").fetchone()
        if exists is None or not exists[0]:
            return 0
        row = db.execute("SELECT max(version) FROM rf_schema").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    @_guarded("upgrade")
    def upgrade(self) -> int:
        """Create the schema or migrate it to :data:`SCHEMA_VERSION`; return the version.

        Safe to run from many processes at once: an advisory lock serializes
        migrations of one schema, and each step commits with its version row.
        Raises ``ValidationError`` if the database is newer than this release. A schema
        already at this release's version is only read (no lock, no DDL), so a
        connection that may not write (a read-only role or transaction, a hot standby)
        opens an up-to-date store.
        """
        with self._tx(single=True) as db:
            if self._current_version(db) == SCHEMA_VERSION:
                return SCHEMA_VERSION
        with self._tx() as db:
            db.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                (_LOCK_NAMESPACE, _lock_key("schema:" + (self.schema or ""))),
            )
            if self.schema is not None:
                db.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
            db.execute(
                "CREATE TABLE IF NOT EXISTS rf_schema ("
                " version integer PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = self._current_version(db)
            if current > SCHEMA_VERSION:
                raise ValidationError.single(
                    "schema", current, f"database is newer than this release ({SCHEMA_VERSION})"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    db.execute(statement)  # constant DDL text, no parameters
                db.execute("INSERT INTO rf_schema (version) VALUES (%s)", (version,))
            return SCHEMA_VERSION

    # -- events --------------------------------------------------------------------------------

    @_guarded("append")
    def append(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        summary: RequestSummary | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> None:
        """Append atomically; stale ``expected_version`` raises ``ConcurrencyError``."""
        self._append(request_id, events, expected_version, summary, timers, None)

    @_guarded("append_and_complete")
    def append_and_complete(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        effect_ids: Sequence[str],
        worker: str,
        summary: RequestSummary | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> None:
        """:meth:`append` and :meth:`complete_effect` of each of ``effect_ids`` in one
        transaction."""
        self._append(request_id, events, expected_version, summary, timers, (effect_ids, worker))

    @_guarded("append_and_claim")
    def append_and_claim(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        effect_ids: Sequence[str],
        worker: str,
        now: datetime,
        lease: timedelta,
        summary: RequestSummary | None = None,
        timers: Mapping[str, datetime | None] | None = None,
        require: Sequence[str] = (),
    ) -> list[OutboxEntry]:
        """:meth:`append_and_complete` and the claim of the request's due, unleased
        effects for ``worker`` (each of ``require`` among them), in one transaction;
        returns them in stream order."""
        claim = claims.claim_params(request_id, worker, now, lease, require, list(self._held))
        rows = self._append(
            request_id, events, expected_version, summary, timers, (effect_ids, worker), claim
        )
        return claims.claimed_entries(rows, claim)

    def _append(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        summary: RequestSummary | None,
        timers: Mapping[str, datetime | None] | None,
        completes: tuple[Sequence[str], str] | None,
        claim: dict[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Append (see the comment inside); with ``claim`` (:func:`claims.claim_params`), also
        claim the request's due effects and return the claimed rows."""
        rows = event_rows(request_id, events, expected_version)
        effects = outbox_rows(request_id, events, expected_version)
        try:
            # One pipeline, one round trip: BEGIN, the writes, the events with the
            # version check, COMMIT. The events go in with ON CONFLICT DO NOTHING, so a
            # version someone else holds (or is writing: the key makes us wait for their
            # commit) is skipped rather than failing mid-pipeline. In the same statement
            # rf_check_append (schema 2) compares the stream's last version before it
            # (the statement's snapshot does not see its own inserts) with the expected
            # one, and the rows inserted with the events given; it raises on any
            # difference, which rolls all of it back. It comes last because a statement
            # after a failed one is skipped, and psycopg may be preparing it just then:
            # its cache would name a statement the server never made.
            with self._tx(pipeline=True) as db:
                setting = _OUTCOME_COMMIT[self.outcome_commit]
                if completes is not None and setting is not None:
                    db.execute(setting, prepare=False)  # an outcome: see outcome_commit
                postgres_writes.write_outbox(db, effects, completes)
                if rows and summary is not None:
                    postgres_writes.write_summary(db, summary, expected_version + len(rows))
                if rows and timers:
                    postgres_writes.write_timers(db, request_id, timers)
                claimed = None if claim is None else db.execute(claims.CLAIM_REQUEST, claim)
                params: dict[str, Any] = {
                    "request_id": request_id,
                    "expected": expected_version,
                    "count": len(rows),
                }
                if rows:
                    columns = map(list, zip(*rows, strict=True))
                    params.update(zip(_EVENT_COLUMNS, columns, strict=True))
                if rows:  # wakes the listeners at commit (postgres_feed)
                    db.execute(postgres_feed.NOTIFY, (self._channel,))
                db.execute(postgres_feed.APPEND_EVENTS if rows else _CHECK_VERSION, params)
                if claim is not None and claim["required"]:
                    db.execute(claims.CHECK_REQUIRED, claim, prepare=False)
            # the pipeline has synced and committed: the claim's rows are in
            return [] if claimed is None else claimed.fetchall()
        except psycopg.Error as exc:
            if exc.sqlstate in _TRANSIENT:
                # a deadlock, serialization failure or lock timeout: nothing was written,
                # and deciding again on fresh state is the right answer
                raise ConcurrencyError(request_id, expected_version) from exc
            if is_taken(exc):
                # another request holds one of the messages (a mail received twice)
                raise ConcurrencyError(request_id, expected_version) from exc
            if exc.sqlstate != _STALE_VERSION:
                raise
            detail = exc.diag.message_detail
            found = int(detail) if detail is not None and detail.isdigit() else None
            raise ConcurrencyError(request_id, expected_version, found) from None

    @_guarded("load")
    def load(self, request_id: str) -> list[Event]:
        """The stream in order (``StoreError`` naming the position of an event that
        does not decode)."""
        return self._load_after("load", request_id, 0)

    @_guarded("load_after")
    def load_after(self, request_id: str, version: int) -> list[Event]:
        """The events after the first ``version`` ones, in order."""
        return self._load_after("load_after", request_id, version)

    def _load_after(self, operation: str, request_id: str, version: int) -> list[Event]:
        # one statement: autocommit reads a consistent snapshot without BEGIN/COMMIT
        with self._tx(single=True) as db:
            rows = db.execute(
                "SELECT version, payload FROM rf_events WHERE request_id = %s AND version > %s"
                " ORDER BY version",
                (request_id, version),
            ).fetchall()
        return decode_events(self.url, operation, request_id, rows)

    @_guarded("load_many")
    def load_many(
        self, request_ids: Sequence[str], *, after: Mapping[str, int] | None = None
    ) -> dict[str, list[Event]]:
        """Several streams (or their parts after a version) in one statement."""
        wanted = check_load_many(request_ids, after)
        with self._tx(single=True) as db:
            rows = db.execute(PG_LOAD_MANY, pg_params(wanted)).fetchall()
        return streams(self.url, "load_many", list(wanted), rows)

    # -- queries ---------------------------------------------------------------------------------

    @_guarded("query")
    def query(
        self,
        *,
        group: str | None = None,
        state: str | None = None,
        agent: str | None = None,
        item: str | None = None,
        requester: str | None = None,
        limit: int | None = None,
        opened_from: datetime | None = None,
        opened_to: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        states: Sequence[str] | None = None,
    ) -> list[RequestSummary]:
        """Matching summaries, oldest first (index range scans: see ``_query_sql``)."""
        columns = {"grp": group, "agent": agent, "item": item, "requester": requester}
        statement, params = query_sql(columns, state, states, opened_from, opened_to, after, limit)
        with self._tx(single=True) as db:
            rows = db.execute(pg(statement), params).fetchall()
        return [summary_of_row(r) for r in rows]

    @_guarded("metric_tallies")
    def metric_tallies(
        self, by: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[MetricsTally]:
        """The metric sums per ``by`` of the facts rows created in ``[since, until)``
        (all time: from the rollup, caught up first; see ``stores.postgres_rollup``)."""
        return postgres_rollup.metric_tallies(self._tx, self._rollup_lock(), by, since, until)

    @_guarded("roll_up_facts")
    def roll_up_facts(self) -> int:
        """Catch the metric rollup up with the facts (``db upgrade`` builds it ahead)."""
        return postgres_rollup.catch_up(self._tx, self._rollup_lock())

    def _rollup_lock(self) -> tuple[int, int]:
        return (_LOCK_NAMESPACE, _lock_key("rollup:" + (self.schema or "")))

    @_guarded("facts_to_rebuild")
    def facts_to_rebuild(self, limit: int = 100) -> list[str]:
        """Requests whose facts the migration left to rebuild."""
        with self._tx(single=True) as db:
            rows = db.execute(pg(STALE_FACTS), (int(limit),)).fetchall()
        return [str(r[0]) for r in rows]

    @_guarded("rebuild_facts")
    def rebuild_facts(self, request_id: str, version: int, facts: MetricFacts) -> bool:
        """Replace the facts, unless the stream has moved past ``version``."""
        with self._tx(single=True) as db:
            done = db.execute(pg(REBUILD_FACTS), rebuild_params(request_id, version, facts))
        return done.rowcount == 1

    @_guarded("pending_approvals")
    def pending_approvals(self, actor: str, *, limit: int | None = None) -> list[RequestSummary]:
        """The requests waiting for ``actor``, longest waiting first."""
        with self._tx(single=True) as db:
            return postgres_approvals.pending_approvals(db, actor, limit)

    @_guarded("find_order")
    def find_order(self, supplier_id: str, ref: str) -> str | None:
        """The request holding the order."""
        with self._tx(single=True) as db:
            row = db.execute(
                "SELECT request_id FROM rf_orders WHERE supplier_id = %s AND ref = %s",
                (supplier_id, ref),
            ).fetchone()
        return None if row is None else str(row[0])

    @_guarded("find_message")
    def find_message(self, message_id: str) -> str | None:
        """The request holding the message."""
        with self._tx(single=True) as db:
            return find_message(db, message_id)

    # -- outbox ----------------------------------------------------------------------------------

    @_guarded("claim_effects")
    def claim_effects(
        self, now: datetime, *, worker: str, lease: timedelta, limit: int = 10
    ) -> list[OutboxEntry]:
        """Claim due, unleased effects, the earliest first and a request's in stream order;
        rows another worker is claiming are skipped, not awaited."""
        t = to_micros(now)
        until = to_micros(now + lease)
        with self._tx(single=True) as db:
            rows = db.execute(
                claims.CLAIM_DUE,
                dict(now=t, until=until, worker=worker, limit=int(limit))
                | {"held": list(self._held), "space": claims.HOLD_SPACE},
            ).fetchall()
        rows.sort(key=lambda r: (r[4], r[1], r[6]))  # RETURNING keeps no order
        return [
            OutboxEntry(
                effect_id=r[0],
                request_id=r[1],
                kind=r[2],
                attempts=r[3],
                available_at=from_micros(r[4]),
                lease_until=from_micros(until),
                worker=worker,
                last_error=r[5],
            )
            for r in rows
        ]

    @_guarded("due_effects")
    def due_effects(self, now: datetime, *, limit: int = 10) -> list[OutboxEntry]:
        """The effects :meth:`claim_effects` would claim, read without claiming them."""
        with self._tx(single=True) as db:
            params = {"now": to_micros(now), "limit": int(limit), "held": list(self._held)}
            return [outbox_entry(r) for r in db.execute(claims.DUE_EFFECTS, params).fetchall()]

    @_guarded("hold_effects")
    def hold_effects(self, effect_ids: Sequence[str], *, worker: str, now: datetime) -> list[str]:
        """Hold with session advisory locks (see ``_postgres_claims``): no commit."""
        with self._tx(single=True) as db:
            free = [e for e in effect_ids if e not in self._held]
            held = claims.hold(db, free, now)
            self._held.update(dict.fromkeys(held, worker))
            return held

    @_guarded("release_holds")
    def release_holds(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Give up ``worker``'s holds (their advisory locks)."""
        with self._tx(single=True) as db:
            mine = [e for e in dict.fromkeys(effect_ids) if self._held.get(e) == worker]
            for effect_id in mine:
                del self._held[effect_id]
            claims.unheld(db, mine)

    @_guarded("complete_effect")
    def complete_effect(self, effect_id: str, *, worker: str) -> None:
        """Remove the effect, unless another worker holds it now (its lease lapsed and
        was claimed again: that worker finishes it)."""
        with self._tx(single=True) as db:
            db.execute(
                "DELETE FROM rf_outbox WHERE effect_id = %s AND (worker = %s OR worker IS NULL)",
                (effect_id, worker),
            )

    @_guarded("retry_effect")
    def retry_effect(
        self, effect_id: str, *, worker: str, available_at: datetime, error: str
    ) -> None:
        """Count the attempt and release the lease."""
        with self._tx(single=True) as db:
            db.execute(
                "UPDATE rf_outbox SET attempts = attempts + 1, available_at = %s,"
                " lease_until = NULL, worker = NULL, last_error = %s WHERE effect_id = %s"
                " AND (worker = %s OR worker IS NULL)",
                (to_micros(available_at), error, effect_id, worker),
            )

    @_guarded("release_effects")
    def release_effects(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Drop ``worker``'s lease on each effect (no attempt counted)."""
        with self._tx(single=True) as db:
            db.execute(
                "UPDATE rf_outbox SET lease_until = NULL, worker = NULL"
                " WHERE effect_id = ANY(%s) AND worker = %s",
                (list(effect_ids), worker),
            )

    @_guarded("outbox")
    def outbox(self) -> list[OutboxEntry]:
        """Every entry still in the outbox (for tests and diagnostics), in claim order."""
        with self._tx(single=True) as db:
            rows = db.execute(
                "SELECT effect_id, request_id, kind, attempts, available_at, lease_until, worker,"
                " last_error FROM rf_outbox ORDER BY available_at, request_id, version"
            ).fetchall()
        return [outbox_entry(r) for r in rows]

    # -- timers ----------------------------------------------------------------------------------

    @_guarded("set_timers")
    def set_timers(self, request_id: str, timers: Mapping[str, datetime | None]) -> None:
        """Set or delete timers (one round trip: the statements are pipelined)."""
        with self._tx(pipeline=True) as db:
            postgres_writes.write_timers(db, request_id, timers)
            db.execute(postgres_feed.NOTIFY, (self._channel,))

    @_guarded("due_timers")
    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]:
        """Due timers, earliest first (an index range scan on ``due``)."""
        with self._tx(single=True) as db:
            rows = db.execute(
                "SELECT request_id, key, due FROM rf_timers WHERE due <= %s"
                " ORDER BY due, request_id, key LIMIT %s",
                (to_micros(now), int(limit)),
            ).fetchall()
        return [Timer(r[0], r[1], from_micros(r[2])) for r in rows]

    # -- change feed (SQL in stores.postgres_feed) -------------------------------------------

    @_guarded("read_all")
    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Stored events after position ``after``, in position (commit) order."""
        after, limit = check_read_all(after, limit)
        with self._tx(single=True) as db:
            rows = postgres_feed.read_rows(db, after, limit)
        return decode_feed(self.url, "read_all", rows)

    def wait_for_work(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a ``NOTIFY`` of an append or a timer change
        committed by any process (``LISTEN`` on a connection of its own)."""
        return self._listener.wait(timeout)

    @_guarded("lease_subscription")
    def lease_subscription(
        self, name: str, *, owner: str, start: int, now: datetime, lease: timedelta
    ) -> int | None:
        """Take or renew the lease of subscription ``name``."""
        check_subscription_name(name)
        check_position("start", start)
        with self._tx(single=True) as db:
            return postgres_feed.lease(db, name, owner, start, now, lease)

    @_guarded("advance_subscription")
    def advance_subscription(
        self,
        name: str,
        *,
        owner: str,
        expected: int,
        position: int,
        now: datetime,
        lease: timedelta,
        apply: Callable[[Any], None] | None = None,
    ) -> bool:
        """The handler's writes (``apply`` gets the ``psycopg.Connection`` inside the
        transaction) and the checkpoint, in one transaction. Without ``apply``, one
        round trip committing without waiting for the WAL flush (see
        ``postgres_feed.CHECKPOINT_COMMIT``: a crash may move it back, never forward)."""
        if apply is None:
            with self._tx(pipeline=True) as db:
                done = postgres_feed.checkpoint(db, name, owner, expected, position, now, lease)
            return done.rowcount == 1  # the pipeline has synced and committed
        with self._tx() as db:
            return postgres_feed.advance(db, name, owner, expected, position, now, lease, apply)

    @_guarded("release_subscription")
    def release_subscription(self, name: str, *, owner: str) -> None:
        """Give up ``owner``'s lease of ``name``."""
        with self._tx(single=True) as db:
            postgres_feed.release(db, name, owner)

    @_guarded("subscription_position")
    def subscription_position(self, name: str) -> int | None:
        """The checkpoint of ``name`` (``None``: never run)."""
        with self._tx(single=True) as db:
            return postgres_feed.subscription_position(db, name)

    @_guarded("close")
    def close(self) -> None:
        """Close the connections (idempotent)."""
        with self._lock:
            self._closed = True
            self._listener.close()
            self._db.close()

    def __repr__(self) -> str:
        where = f", schema={self.schema!r}" if self.schema else ""
        return f"PostgresStore({mask_password(self.dsn)!r}{where})"
