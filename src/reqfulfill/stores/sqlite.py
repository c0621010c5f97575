"""``sqlite:///path``: the embedded default store (stdlib ``sqlite3``, WAL).

Appends run in ``BEGIN IMMEDIATE`` transactions; a unique (request_id, version)
key backs the expected-version check, so a stale writer in another process gets
``ConcurrencyError`` too. Several processes on one machine may share a file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import final

from reqfulfill.model.errors import ConcurrencyError, ValidationError
from reqfulfill.model.events import Event
from reqfulfill.serialization import event_from_json
from reqfulfill.stores._base import (
    OutboxEntry,
    RequestSummary,
    Timer,
    event_rows,
    from_micros,
    outbox_entry,
    outbox_rows,
    to_micros,
)

__all__ = ["SCHEMA_VERSION", "SQLiteStore", "path_from_url"]

SCHEMA_VERSION = 1

_SCHEMA = [
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
]


def path_from_url(url: str) -> str:
    """``sqlite:///rel/path.db`` -> ``rel/path.db``; ``sqlite:////abs.db`` -> ``/abs.db``.

    >>> path_from_url("sqlite:////tmp/x.db")
    '/tmp/x.db'
    >>> path_from_url("sqlite:///data/x.db")
    'data/x.db'
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValidationError.single(
            "store",
            url,
            "a SQLite URL is sqlite:///relative/path.db or sqlite:////absolute/path.db",
        )
    return url[len(prefix) :]


@final
class SQLiteStore:
    """The embedded store. One connection per store object, guarded by a lock."""

    def __init__(self, path: str | Path, *, busy_timeout: timedelta = timedelta(seconds=30)):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            self.path,
            timeout=busy_timeout.total_seconds(),
            isolation_level=None,
            check_same_thread=False,
        )
        self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout.total_seconds() * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self.upgrade()

    @classmethod
    def from_url(cls, url: str) -> SQLiteStore:
        """Open the store a ``sqlite:///`` URL names."""
        return cls(path_from_url(url))

    def upgrade(self) -> None:
        """Create the schema or migrate it to :data:`SCHEMA_VERSION`."""
        with self._tx():
            for statement in _SCHEMA:
                self._db.execute(statement)
            row = self._db.execute("SELECT version FROM rf_schema").fetchone()
            if row is None:
                self._db.execute("INSERT INTO rf_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise ValidationError.single(
                    "schema", row[0], f"database is newer than this release ({SCHEMA_VERSION})"
                )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
            db.executemany(
                "INSERT INTO rf_events (request_id, version, event_id, type, at, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrencyError(request_id, expected_version) from exc
        db.executemany(
            "INSERT OR IGNORE INTO rf_outbox (effect_id, request_id, kind, available_at)"
            " VALUES (?, ?, ?, ?)",
            outbox_rows(request_id, events),
        )
        if summary is not None:
            self._write_summary(db, summary, expected_version + len(rows))
        if timers:
            self._write_timers(db, request_id, timers)

    def _write_summary(self, db: sqlite3.Connection, s: RequestSummary, version: int) -> None:
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

    def _write_timers(
        self, db: sqlite3.Connection, request_id: str, timers: Mapping[str, datetime | None]
    ) -> None:
        for key, due in sorted(timers.items()):  # one order everywhere, as in PostgreSQL
            if due is None:
                db.execute(
                    "DELETE FROM rf_timers WHERE request_id = ? AND key = ?", (request_id, key)
                )
            else:
                db.execute(
                    "INSERT INTO rf_timers (request_id, key, due) VALUES (?, ?, ?)"
                    " ON CONFLICT (request_id, key) DO UPDATE SET due = excluded.due",
                    (request_id, key, to_micros(due)),
                )

    def load(self, request_id: str) -> list[Event]:
        """The stream in order."""
        return self.load_after(request_id, 0)

    def load_after(self, request_id: str, version: int) -> list[Event]:
        """The events after the first ``version`` ones, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM rf_events WHERE request_id = ? AND version > ?"
                " ORDER BY version",
                (request_id, version),
            ).fetchall()
        return [event_from_json(payload) for (payload,) in rows]

    def query(
        self,
        *,
        group: str | None = None,
        state: str | None = None,
        agent: str | None = None,
        item: str | None = None,
        requester: str | None = None,
        limit: int | None = None,
    ) -> list[RequestSummary]:
        """Matching summaries, oldest first."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (
            ("grp", group),
            ("state", state),
            ("agent", agent),
            ("item", item),
            ("requester", requester),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        sql = (
            "SELECT request_id, state, grp, agent, item, requester, priority, created_at,"
            " updated_at FROM rf_requests"
        )
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at, request_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
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

    def find_order(self, supplier_id: str, ref: str) -> str | None:
        """The request holding the order."""
        with self._lock:
            row = self._db.execute(
                "SELECT request_id FROM rf_orders WHERE supplier_id = ? AND ref = ?",
                (supplier_id, ref),
            ).fetchone()
        return None if row is None else str(row[0])

    def claim_effects(
        self, now: datetime, *, worker: str, lease: timedelta, limit: int = 10
    ) -> list[OutboxEntry]:
        """Claim due, unleased effects (one writer at a time: ``BEGIN IMMEDIATE``)."""
        t = to_micros(now)
        until = to_micros(now + lease)
        with self._tx() as db:
            rows = db.execute(
                "SELECT effect_id, request_id, kind, attempts, available_at, last_error"
                " FROM rf_outbox WHERE available_at <= ? AND (lease_until IS NULL"
                " OR lease_until <= ?) ORDER BY available_at, effect_id LIMIT ?",
                (t, t, limit),
            ).fetchall()
            db.executemany(
                "UPDATE rf_outbox SET lease_until = ?, worker = ? WHERE effect_id = ?",
                [(until, worker, r[0]) for r in rows],
            )
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

    def complete_effect(self, effect_id: str, *, worker: str) -> None:
        """Remove the effect, unless another worker holds it now."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM rf_outbox WHERE effect_id = ? AND (worker = ? OR worker IS NULL)",
                (effect_id, worker),
            )

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

    def outbox(self) -> list[OutboxEntry]:
        """Every entry still in the outbox (for tests and diagnostics)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT effect_id, request_id, kind, attempts, available_at, lease_until, worker,"
                " last_error FROM rf_outbox ORDER BY available_at"
            ).fetchall()
        return [outbox_entry(r) for r in rows]

    def set_timers(self, request_id: str, timers: Mapping[str, datetime | None]) -> None:
        """Set or delete timers."""
        with self._tx() as db:
            self._write_timers(db, request_id, timers)

    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]:
        """Due timers, earliest first (an index range scan on ``due``)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT request_id, key, due FROM rf_timers WHERE due <= ? ORDER BY due LIMIT ?",
                (to_micros(now), limit),
            ).fetchall()
        return [Timer(r[0], r[1], from_micros(r[2])) for r in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
