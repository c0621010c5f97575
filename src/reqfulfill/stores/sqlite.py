"""``sqlite:///path``: the embedded default store (stdlib ``sqlite3``, WAL).

Appends run in ``BEGIN IMMEDIATE`` transactions; a unique (request_id, version)
key backs the expected-version check, so a stale writer in another process gets
``ConcurrencyError`` too. Several processes on one machine may share a file.

Every fault of the file or of ``sqlite3`` reaches the caller as a
:class:`~reqfulfill.model.errors.StoreError` naming the file and the operation: a
file that is not a database, a database of another application, a stored event
that does not decode (with its request and position), a write to a read-only file.
A file without write permission (or a URL with ``?mode=ro``) opens read-only: it
is read as it is, never migrated, and every write is refused.
"""

from __future__ import annotations

import functools
import inspect
import os
import sqlite3
import stat
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, final
from urllib.parse import parse_qsl, quote

from reqfulfill.model.errors import ConcurrencyError, StoreError, ValidationError, mask_password
from reqfulfill.model.events import Event
from reqfulfill.stores import sqlite_approvals, sqlite_feed, sqlite_rollup, sqlite_writes
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
from reqfulfill.stores._batch import SQLITE_LOAD_MANY, check_load_many, sqlite_params, streams
from reqfulfill.stores._feed import (
    StoredEvent,
    Wakeup,
    check_position,
    check_read_all,
    check_subscription_name,
)
from reqfulfill.stores._query_sql import (
    FACTS_SOURCE_MIGRATION,
    FACTS_TABLE,
    QUERY_INDEXES,
    query_sql,
    summary_of_row,
)
from reqfulfill.stores._sqlite_claims import (
    claim_due,
    claim_request_effects,
    due_effects,
    holdable,
    required,
)
from reqfulfill.stores._sqlite_holds import Holds
from reqfulfill.stores.sqlite_approvals import APPROVALS_MIGRATION
from reqfulfill.stores.sqlite_messages import MESSAGES_MIGRATION, find_message

__all__ = ["SCHEMA_VERSION", "SYNCHRONOUS", "SQLiteStore", "path_from_url"]

SCHEMA_VERSION = 8
"""The schema version this release writes; :meth:`SQLiteStore.upgrade` migrates to it."""

# Migration steps by the version they lead to. Never edit a released step: add one.
# rf_schema holds one row, the version (a release that knows only schema 1 reads
# that row and refuses a newer database).
_SCHEMA_1 = (
    """CREATE TABLE IF NOT EXISTS rf_events (
        request_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (request_id, version)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS rf_requests (
        request_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        grp TEXT,
        agent TEXT,
        item TEXT,
        requester TEXT NOT NULL,
        priority INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS rf_requests_queue ON rf_requests (grp, state, created_at)",
    "CREATE INDEX IF NOT EXISTS rf_requests_agent ON rf_requests (agent, state)",
    """CREATE TABLE IF NOT EXISTS rf_orders (
        supplier_id TEXT NOT NULL,
        ref TEXT NOT NULL,
        request_id TEXT NOT NULL,
        PRIMARY KEY (supplier_id, ref)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS rf_outbox (
        effect_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        available_at INTEGER NOT NULL,
        lease_until INTEGER,
        worker TEXT,
        last_error TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS rf_outbox_due ON rf_outbox (available_at)",
    """CREATE TABLE IF NOT EXISTS rf_timers (
        request_id TEXT NOT NULL,
        key TEXT NOT NULL,
        due INTEGER NOT NULL,
        PRIMARY KEY (request_id, key)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS rf_timers_due ON rf_timers (due)",
    """CREATE TABLE IF NOT EXISTS rf_schema (
        version INTEGER NOT NULL
    )""",
)
# The indexes of the portal's queries (keyset order) and the metric facts, one row per
# request; the rows of requests stored before are rebuilt from their histories (stale).
_QUERIES_MIGRATION = (*QUERY_INDEXES, *FACTS_TABLE)

_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: _SCHEMA_1,
    # the position of an effect's event in its stream, so a request's effects run in
    # stream order ("REQ-1/9" before "REQ-1/11"); filled from the events for the
    # entries already waiting
    2: (
        "ALTER TABLE rf_outbox ADD COLUMN version INTEGER NOT NULL DEFAULT 0",
        "UPDATE rf_outbox SET version = coalesce("
        "(SELECT e.version FROM rf_events AS e WHERE e.event_id = rf_outbox.effect_id), 0)",
        "DROP INDEX IF EXISTS rf_outbox_due",
        "CREATE INDEX rf_outbox_due ON rf_outbox (available_at, request_id, version)",
    ),
    # the change feed: a global position per event, subscriptions (stores.sqlite_feed)
    3: sqlite_feed.FEED_MIGRATION,
    # the portal's query indexes and the metric facts (stores._query_sql)
    4: _QUERIES_MIGRATION,
    # who each request waits for: the index of pending_approvals (issue 17)
    5: APPROVALS_MIGRATION,
    # message id -> request id: a mail delivered twice makes one request (issue 19)
    6: MESSAGES_MIGRATION,
    # where each request's item came from: the facts' source (stores._query_sql)
    7: FACTS_SOURCE_MIGRATION,
    # the metric rollup and the facts rows' catch-up marks (stores.sqlite_rollup)
    8: sqlite_rollup.ROLLUP_MIGRATION,
}


def path_from_url(url: str) -> str:
    """``sqlite:///rel/path.db`` -> ``rel/path.db``; ``sqlite:////abs.db`` -> ``/abs.db``
    (a query such as ``?mode=ro`` is not part of the path).

    >>> path_from_url("sqlite:////tmp/x.db")
    '/tmp/x.db'
    >>> path_from_url("sqlite:///rf-data/x.db?mode=ro")
    'rf-data/x.db'
    """
    prefix = "sqlite:///"
    path = url[len(prefix) :].partition("?")[0]
    if not url.startswith(prefix) or not path:
        raise ValidationError.single(
            "store",
            url,
            "a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db",
        )
    _warn_if_meant_absolute(url, path)
    return path


def _warn_if_meant_absolute(url: str, path: str) -> None:
    """Warn when ``path`` is relative, its first part names an existing absolute
    folder and no such folder is here: ``sqlite:///tmp/x.db`` is about to create
    ``./tmp/x.db`` where ``/tmp/x.db`` was most likely meant."""
    if path == ":memory:" or os.path.isabs(path):
        return
    first = path.replace(os.sep, "/").split("/")[0]
    if first in ("", ".", "..") or not os.path.isdir(os.sep + first) or os.path.isdir(first):
        return
    warnings.warn(
        f"{mask_password(url)} names the relative path {path!r}, under the current "
        f"folder {os.getcwd()!r}, where there is no {first!r} yet; for the absolute "
        f"path {os.sep + path!r} write sqlite:///{os.sep + path} (four slashes)",
        UserWarning,
        stacklevel=3,
    )


SYNCHRONOUS = ("normal", "full", "extra")
"""The ``synchronous`` levels a SQLite store runs at (WAL journal): ``"normal"`` (the
default) survives an application crash, and a power loss may take the last commits;
``"full"`` and ``"extra"`` sync the WAL at every commit."""


_SYNCHRONOUS_PRAGMA = {
    "normal": "PRAGMA synchronous = NORMAL",
    "full": "PRAGMA synchronous = FULL",
    "extra": "PRAGMA synchronous = EXTRA",
}


def _url_options(url: str) -> tuple[bool, str | None]:
    """A ``sqlite:///`` URL's options: read-only (``?mode=ro``) and ``?synchronous=``."""
    options = dict(parse_qsl(url.partition("?")[2], keep_blank_values=True))
    mode = options.pop("mode", None)
    synchronous = options.pop("synchronous", None)
    if options or mode not in (None, "ro"):
        raise ValidationError.single(
            "store",
            url,
            "the parameters of a SQLite URL are mode=ro (read-only) and synchronous="
            + "|".join(SYNCHRONOUS),
        )
    return mode == "ro", synchronous


def _not_writable(path: str) -> bool:
    """Whether an existing file may not be written: no permission, or no write bit at
    all (a file its owner made read-only, which even root then only reads)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False  # missing: the store creates it
    return not os.access(path, os.W_OK) or not stat.S_IMODE(mode) & 0o222


_P = ParamSpec("_P")
_R = TypeVar("_R")
_Method = Callable[Concatenate["SQLiteStore", _P], _R]


def _guarded(operation: str, *, writes: bool) -> Callable[[_Method[_P, _R]], _Method[_P, _R]]:
    """Run a store method with ``sqlite3``'s errors turned into ``StoreError`` (naming the
    file, ``operation`` and, for a method of one request, the request); a method that
    ``writes`` is refused at once on a read-only store."""

    def wrap(method: _Method[_P, _R]) -> _Method[_P, _R]:
        names = list(inspect.signature(method).parameters)
        per_request = names[1:2] == ["request_id"]

        @functools.wraps(method)
        def call(self: SQLiteStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            request_id = str(args[0]) if per_request and args else None
            if writes and self.read_only:
                raise StoreError(
                    self.url,
                    operation,
                    "the store is open read-only (the file may not be written, or ?mode=ro)",
                    request_id=request_id,
                )
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise driver_fault(self.url, operation, exc, request_id) from exc

        return call

    return wrap


@final
class SQLiteStore(LoadAfterEvent):
    """The embedded store. One connection per store object, guarded by a lock.

    :param path: the database file (created with its directory if missing), or
        ``":memory:"``.
    :param busy_timeout: how long a write waits for another process's write.
    :param read_only: open the file read-only: no migration, every write refused
        with ``StoreError``. By default a file that may not be written (no write
        permission, or no write bit at all) opens read-only, any other read-write.
    :param synchronous: SQLite's ``synchronous`` level, one of :data:`SYNCHRONOUS`
        (URL parameter ``?synchronous=full``). The default ``"normal"`` survives an
        application crash; ``"full"`` also survives a power loss, at the cost of a
        sync of the WAL at every commit.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: timedelta = timedelta(seconds=30),
        read_only: bool | None = None,
        synchronous: str = "normal",
    ):
        if synchronous not in SYNCHRONOUS:
            raise ValidationError.single(
                "synchronous", synchronous, "expected one of " + ", ".join(SYNCHRONOUS)
            )
        self.synchronous = synchronous
        self.path = str(path)
        self.url = "sqlite:///" + self.path
        self.read_only = _not_writable(self.path) if read_only is None else read_only
        self._lock = threading.RLock()
        self._wakeup = Wakeup()
        self._holds = Holds(self.path)
        self._db = self._open(busy_timeout)
        try:
            if self.read_only:  # read as it is: no migration
                self._check_not_newer(self._current_version(self._db))
            else:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute(_SYNCHRONOUS_PRAGMA[synchronous])
                self.upgrade()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """Open the store a ``sqlite:///`` URL names (``?mode=ro``: read-only;
        ``?synchronous=full``: sync the WAL at every commit)."""
        read_only, synchronous = _url_options(url)
        level = "normal" if synchronous is None else synchronous
        return cls(path_from_url(url), read_only=read_only or None, synchronous=level)

    def _open(self, busy_timeout: timedelta) -> sqlite3.Connection:
        """Connect, and check the file is a database that is empty or ours."""
        target, uri = self.path, False
        try:
            if self.read_only:
                target, uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro", True
            elif self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                target,
                timeout=busy_timeout.total_seconds(),
                isolation_level=None,
                check_same_thread=False,
                uri=uri,
            )
        except OSError as exc:
            raise StoreError(self.url, "open", f"cannot create its folder: {exc}") from exc
        except sqlite3.Error as exc:
            raise driver_fault(self.url, "open", exc) from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout.total_seconds() * 1000)}")
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.Error as exc:
            db.close()
            raise driver_fault(self.url, "open", exc) from exc
        if tables and "rf_schema" not in tables:
            db.close()
            shown = ", ".join(sorted(tables)[:5])
            raise StoreError(
                self.url, "open", f"not a reqfulfill store (it holds {shown} but no rf_schema)"
            )
        return db

    def _current_version(self, db: sqlite3.Connection) -> int:
        """The schema version in the file (0 for an empty file)."""
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rf_schema'"
        ).fetchone()
        if exists is None:
            return 0
        (version,) = db.execute("SELECT coalesce(max(version), 0) FROM rf_schema").fetchone()
        return int(version)

    @staticmethod
    def _check_not_newer(version: int) -> None:
        if version > SCHEMA_VERSION:
            raise ValidationError.single(
                "schema", version, f"database is newer than this release ({SCHEMA_VERSION})"
            )

    @_guarded("schema_version", writes=False)
    def schema_version(self) -> int:
        """The schema version in the file (0 before the first :meth:`upgrade`)."""
        with self._lock:
            return self._current_version(self._db)

    @_guarded("upgrade", writes=False)
    def upgrade(self) -> int:
        """Create the schema or migrate it to :data:`SCHEMA_VERSION`; return the version.

        Each step keeps every row; one transaction migrates, so processes opening the
        file at once migrate it once. Raises ``ValidationError`` if the file is newer
        than this release, ``StoreError`` if it is read-only and older.
        """
        if self.read_only:
            with self._lock:
                current = self._current_version(self._db)
            self._check_not_newer(current)
            if current < SCHEMA_VERSION:
                raise StoreError(
                    self.url,
                    "upgrade",
                    f"the store is open read-only at schema {current}; this release"
                    f" writes schema {SCHEMA_VERSION}: upgrade it with write access",
                )
            return current
        with self._tx() as db:
            current = self._current_version(db)
            self._check_not_newer(current)
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version]:
                    db.execute(statement)  # constant DDL text, no parameters
            if current < SCHEMA_VERSION:
                db.execute("DELETE FROM rf_schema")
                db.execute("INSERT INTO rf_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        return SCHEMA_VERSION

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # a failed COMMIT may have ended it already
                    db.execute("ROLLBACK")
                raise

    @_guarded("append", writes=True)
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
        rows = event_rows(request_id, events, expected_version)
        with self._tx() as db:
            self._append(db, request_id, events, rows, expected_version, summary, timers)
        self._wakeup.bump()

    @_guarded("append_and_complete", writes=True)
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
        rows = event_rows(request_id, events, expected_version)
        with self._tx() as db:
            self._append(db, request_id, events, rows, expected_version, summary, timers)
            self._complete(db, effect_ids, worker)
        self._wakeup.bump()

    @_guarded("append_and_claim", writes=True)
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
        rows = event_rows(request_id, events, expected_version)
        with self._holds.claiming() as take, self._tx() as db:
            self._append(db, request_id, events, rows, expected_version, summary, timers)
            self._complete(db, effect_ids, worker)
            claimed = claim_request_effects(db, request_id, now, lease, worker, take)
            required(request_id, expected_version, require, claimed)
        self._wakeup.bump()
        return claimed

    @staticmethod
    def _complete(db: sqlite3.Connection, effect_ids: Sequence[str], worker: str) -> None:
        db.executemany(
            "DELETE FROM rf_outbox WHERE effect_id = ? AND (worker = ? OR worker IS NULL)",
            [(effect_id, worker) for effect_id in effect_ids],
        )

    def _append(
        self,
        db: sqlite3.Connection,
        request_id: str,
        events: Sequence[Event],
        rows: list[tuple[str, int, str, str, int, str]],
        expected_version: int,
        summary: RequestSummary | None,
        timers: Mapping[str, datetime | None] | None,
    ) -> None:
        (current,) = db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM rf_events WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if current != expected_version:
            raise ConcurrencyError(request_id, expected_version, current)
        if not rows:
            return
        try:
            db.executemany(sqlite_feed.APPEND_EVENT, rows)  # with the next positions
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyError(request_id, expected_version) from exc
        db.executemany(
            "INSERT OR IGNORE INTO rf_outbox (effect_id, request_id, kind, available_at, version)"
            " VALUES (?, ?, ?, ?, ?)",
            outbox_rows(request_id, events, expected_version),
        )
        if summary is not None:
            sqlite_writes.write_summary(db, summary, expected_version + len(rows))
        if timers:
            sqlite_writes.write_timers(db, request_id, timers)

    @_guarded("load", writes=False)
    def load(self, request_id: str) -> list[Event]:
        """The stream in order (``StoreError`` naming the position of an event that
        does not decode)."""
        return self._load_after("load", request_id, 0)

    @_guarded("load_after", writes=False)
    def load_after(self, request_id: str, version: int) -> list[Event]:
        """The events after the first ``version`` ones, in order."""
        return self._load_after("load_after", request_id, version)

    def _load_after(self, operation: str, request_id: str, version: int) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT version, payload FROM rf_events WHERE request_id = ? AND version > ?"
                " ORDER BY version",
                (request_id, version),
            ).fetchall()
        return decode_events(self.url, operation, request_id, rows)

    @_guarded("load_many", writes=False)
    def load_many(
        self, request_ids: Sequence[str], *, after: Mapping[str, int] | None = None
    ) -> dict[str, list[Event]]:
        """Several streams (or their parts after a version) in one statement."""
        wanted = check_load_many(request_ids, after)
        with self._lock:
            rows = self._db.execute(SQLITE_LOAD_MANY, sqlite_params(wanted)).fetchall()
        return streams(self.url, "load_many", list(wanted), rows)

    @_guarded("query", writes=False)
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
        sql, params = query_sql(columns, state, states, opened_from, opened_to, after, limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [summary_of_row(r) for r in rows]

    @_guarded("metric_tallies", writes=False)
    def metric_tallies(
        self, by: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[MetricsTally]:
        """The metric sums per ``by`` of the facts rows created in ``[since, until)``
        (all time: from the rollup, caught up first; see ``stores.sqlite_rollup``)."""
        with self._lock:
            return sqlite_rollup.metric_tallies(
                self._db, self._tx, by, since, until, read_only=self.read_only
            )

    @_guarded("roll_up_facts", writes=True)
    def roll_up_facts(self) -> int:
        """Catch the metric rollup up with the facts (``db upgrade`` builds it ahead)."""
        with self._lock:
            return sqlite_rollup.catch_up(self._db, self._tx)

    @_guarded("facts_to_rebuild", writes=False)
    def facts_to_rebuild(self, limit: int = 100) -> list[str]:
        """Requests whose facts the migration left to rebuild."""
        with self._lock:
            return sqlite_rollup.stale_facts(self._db, limit)

    @_guarded("rebuild_facts", writes=True)
    def rebuild_facts(self, request_id: str, version: int, facts: MetricFacts) -> bool:
        """Replace the facts, unless the stream has moved past ``version``."""
        with self._tx() as db:
            return sqlite_rollup.rebuild_facts(db, request_id, version, facts)

    @_guarded("pending_approvals", writes=False)
    def pending_approvals(self, actor: str, *, limit: int | None = None) -> list[RequestSummary]:
        """The requests waiting for ``actor``, longest waiting first."""
        with self._lock:
            return sqlite_approvals.pending_approvals(self._db, actor, limit)

    @_guarded("find_order", writes=False)
    def find_order(self, supplier_id: str, ref: str) -> str | None:
        """The request holding the order."""
        with self._lock:
            row = self._db.execute(
                "SELECT request_id FROM rf_orders WHERE supplier_id = ? AND ref = ?",
                (supplier_id, ref),
            ).fetchone()
        return None if row is None else str(row[0])

    @_guarded("find_message", writes=False)
    def find_message(self, message_id: str) -> str | None:
        """The request holding the message."""
        with self._lock:
            return find_message(self._db, message_id)

    @_guarded("claim_effects", writes=True)
    def claim_effects(
        self, now: datetime, *, worker: str, lease: timedelta, limit: int = 10
    ) -> list[OutboxEntry]:
        """Claim due, unleased effects (one writer at a time: ``BEGIN IMMEDIATE``), the
        earliest first and a request's effects in stream order."""
        t = to_micros(now)
        with self._lock:
            # a plain read first: a claim that finds nothing due takes no write lock
            # and opens no transaction
            probe = self._db.execute(
                "SELECT 1 FROM rf_outbox WHERE available_at <= ? AND (lease_until IS NULL"
                " OR lease_until <= ?) LIMIT 1",
                (t, t),
            ).fetchone()
        if probe is None:
            return []
        with self._holds.claiming() as take, self._tx() as db:
            return claim_due(db, now, lease, worker, limit, take)

    @_guarded("due_effects", writes=False)
    def due_effects(self, now: datetime, *, limit: int = 10) -> list[OutboxEntry]:
        """The effects :meth:`claim_effects` would claim, read without claiming them."""
        with self._lock:
            return due_effects(self._db, now, limit, self._holds.held())

    @_guarded("hold_effects", writes=True)
    def hold_effects(self, effect_ids: Sequence[str], *, worker: str, now: datetime) -> list[str]:
        """Hold with record locks on ``<path>-holds`` (``_sqlite_holds``): no commit."""

        def check(ids: list[str]) -> set[str]:
            with self._lock:
                return holdable(self._db, ids, now)

        return self._holds.hold(effect_ids, worker, check)

    @_guarded("release_holds", writes=False)
    def release_holds(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Give up ``worker``'s holds."""
        self._holds.release(effect_ids, worker)

    @_guarded("complete_effect", writes=True)
    def complete_effect(self, effect_id: str, *, worker: str) -> None:
        """Remove the effect, unless another worker holds it now."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM rf_outbox WHERE effect_id = ? AND (worker = ? OR worker IS NULL)",
                (effect_id, worker),
            )

    @_guarded("retry_effect", writes=True)
    def retry_effect(
        self, effect_id: str, *, worker: str, available_at: datetime, error: str
    ) -> None:
        """Count the attempt and release the lease."""
        with self._tx() as db:
            db.execute(
                "UPDATE rf_outbox SET attempts = attempts + 1, available_at = ?,"
                " lease_until = NULL, worker = NULL, last_error = ? WHERE effect_id = ?"
                " AND (worker = ? OR worker IS NULL)",
                (to_micros(available_at), error, effect_id, worker),
            )

    @_guarded("release_effects", writes=True)
    def release_effects(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Drop ``worker``'s lease on each effect (no attempt counted)."""
        with self._tx() as db:
            db.executemany(
                "UPDATE rf_outbox SET lease_until = NULL, worker = NULL"
                " WHERE effect_id = ? AND worker = ?",
                [(effect_id, worker) for effect_id in effect_ids],
            )

    @_guarded("outbox", writes=False)
    def outbox(self) -> list[OutboxEntry]:
        """Every entry still in the outbox (for tests and diagnostics), in claim order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT effect_id, request_id, kind, attempts, available_at, lease_until, worker,"
                " last_error FROM rf_outbox ORDER BY available_at, request_id, version"
            ).fetchall()
        return [outbox_entry(r) for r in rows]

    @_guarded("set_timers", writes=True)
    def set_timers(self, request_id: str, timers: Mapping[str, datetime | None]) -> None:
        """Set or delete timers."""
        with self._tx() as db:
            sqlite_writes.write_timers(db, request_id, timers)

    @_guarded("due_timers", writes=False)
    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]:
        """Due timers, earliest first (an index range scan on ``due``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT request_id, key, due FROM rf_timers WHERE due <= ? ORDER BY due LIMIT ?",
                (to_micros(now), limit),
            ).fetchall()
        return [Timer(r[0], r[1], from_micros(r[2])) for r in rows]

    @_guarded("read_all", writes=False)
    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Stored events after position ``after``, in position order."""
        after, limit = check_read_all(after, limit)
        with self._lock:
            rows = sqlite_feed.read_rows(self._db, after, limit)
        return decode_feed(self.url, "read_all", rows)

    def wait_for_work(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an append through this store object (other
        processes' writes are found by polling: SQLite has no signals)."""
        return self._wakeup.wait(timeout)

    @_guarded("lease_subscription", writes=True)
    def lease_subscription(
        self, name: str, *, owner: str, start: int, now: datetime, lease: timedelta
    ) -> int | None:
        """Take or renew the lease of subscription ``name``."""
        check_subscription_name(name)
        check_position("start", start)
        with self._tx() as db:
            return sqlite_feed.lease(db, name, owner, start, now, lease)

    @_guarded("advance_subscription", writes=True)
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
        """The handler's writes (``apply`` gets the ``sqlite3.Connection`` inside the
        transaction) and the checkpoint, in one transaction."""
        with self._tx() as db:
            return sqlite_feed.advance(db, name, owner, expected, position, now, lease, apply)

    @_guarded("release_subscription", writes=True)
    def release_subscription(self, name: str, *, owner: str) -> None:
        """Give up ``owner``'s lease of ``name``."""
        with self._tx() as db:
            sqlite_feed.release(db, name, owner)

    @_guarded("subscription_position", writes=False)
    def subscription_position(self, name: str) -> int | None:
        """The checkpoint of ``name`` (``None``: never run)."""
        with self._lock:
            return sqlite_feed.subscription_position(self._db, name)

    @_guarded("close", writes=False)
    def close(self) -> None:
        """Close the connection (and give up the holds file)."""
        with self._lock:
            self._db.close()
            self._holds.close()
