"""Durability settings and commit counts, applied to every contender of a row alike.

Not a benchmark module itself: ``stores``, ``process`` and ``transactions`` use it.

**SQLite.** reqfulfill's :class:`~reqfulfill.stores.SQLiteStore` opens its own
connection, sets ``journal_mode = WAL`` and ``synchronous = NORMAL`` and offers
no URL parameter and no public attribute for either; eventsourcing's datastore
opens a pool of connections left at SQLite's default ``synchronous = FULL``.
:class:`SQLiteConnections` reaches every ``sqlite3`` connection opened while it
is active through Python's documented audit event ``sqlite3.connect/handle``
(PEP 578; no private attribute of either library is read); once the store has
set itself up, :meth:`SQLiteConnections.apply` sets the ``synchronous`` level on
each of them; :meth:`SQLiteConnections.check` reads the
setting back from every connection before anything is timed. The same hook sets a
trace callback that counts commits (:class:`CommitCount`).

**PostgreSQL.** :func:`pg_database` makes a database of its own for a run, with
``ALTER DATABASE ... SET synchronous_commit`` so every session of every
contender starts with the same setting; :func:`pg_counts` reads that database's
``pg_stat_database.xact_commit`` (every transaction, reads included) and the
server's next transaction id (one per transaction that wrote).
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs

SYNCHRONOUS_LEVELS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}
"""SQLite's ``PRAGMA synchronous`` values by name."""

_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})

_ACTIVE: list[SQLiteConnections] = []
_HOOKED: list[bool] = []
_OPENING: list[str] = []  # the database of the connection being opened


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """The process's audit hook: hands each new ``sqlite3`` connection, with the database
    it was opened on, to the innermost active capture."""
    if not _ACTIVE:
        return
    if event == "sqlite3.connect":
        _OPENING[:] = [str(args[0])]
    elif event == "sqlite3.connect/handle":
        _ACTIVE[-1].add(args[0], _OPENING.pop() if _OPENING else "")


@attrs.define
class CommitCount:
    """Commits seen by trace callbacks, per kind.

    ``commits``: ``COMMIT`` statements of transactions that changed a row, plus
    write statements run outside a transaction (each commits on its own) -- the
    commits that must reach the disk. ``empty``: ``COMMIT`` statements of
    transactions that changed nothing (``BEGIN IMMEDIATE`` around a claim that
    found no work, a read in a transaction): SQLite writes nothing for those.
    ``statements``: every statement traced.
    """

    commits: int = 0
    empty: int = 0
    statements: int = 0

    def reset(self) -> None:
        self.commits = self.empty = self.statements = 0


class SQLiteConnections:
    """Every ``sqlite3`` connection opened inside ``with``: its ``synchronous`` level set
    and, with ``count``, its commits counted into :attr:`count`.

    :param synchronous: the level (``"FULL"``, ``"NORMAL"``, ...) for every connection,
        or None to leave the levels alone.
    :param by_file: a level per database file instead (a connection to a file not
        named here is an error).
    :param count: trace every statement to count commits (costs time per statement:
        only where nothing is timed against a peer).
    """

    def __init__(
        self,
        synchronous: str | None = None,
        *,
        by_file: Mapping[str, str] | None = None,
        count: bool = False,
    ) -> None:
        levels = {str(k): v.upper() for k, v in (by_file or {}).items()}
        for level in [*levels.values(), *([synchronous.upper()] if synchronous else [])]:
            if level not in SYNCHRONOUS_LEVELS:
                raise ValueError(f"synchronous: expected one of {sorted(SYNCHRONOUS_LEVELS)}")
        self.synchronous = synchronous.upper() if synchronous else None
        self.by_file = levels
        self.connections: list[tuple[sqlite3.Connection, str]] = []
        self._applied: list[sqlite3.Connection] = []
        self.counting = count
        self.count = CommitCount()

    def __enter__(self) -> SQLiteConnections:
        if not _HOOKED:
            sys.addaudithook(_audit)  # once per process; inert while nothing is active
            _HOOKED.append(True)
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.remove(self)

    def add(self, connection: sqlite3.Connection, database: str) -> None:
        """Take a new connection (the audit event fires inside ``Connection.__init__``, so
        it is set up later, by :meth:`apply`)."""
        self.connections.append((connection, database))

    def level(self, database: str) -> str | None:
        """The level wanted for a connection to ``database``."""
        if not self.by_file:
            return self.synchronous
        try:
            return self.by_file[database]
        except KeyError:
            raise AssertionError(f"a sqlite3 connection to {database}, not named") from None

    def apply(self) -> None:
        """Set the level on every connection taken so far (again on those a store has
        since set up its own way) and, when counting, trace the new ones. Call it after
        opening a store and before timing; :meth:`check` then finds any connection
        opened since."""
        for connection, database in self.connections:
            level = self.level(database)
            if level is not None:
                connection.execute(f"PRAGMA synchronous = {level}")
            if connection not in self._applied:
                if self.counting:
                    connection.set_trace_callback(self._tracer(connection))
                self._applied.append(connection)

    @contextlib.contextmanager
    def counted(self, database: str) -> Iterator[CommitCount]:
        """Count the commits of the connections to ``database`` inside ``with`` (their
        tracing stops on the way out, so nothing timed later pays for it)."""
        count = CommitCount()
        connections = [c for c, name in self.connections if name == database]
        if not connections:
            raise AssertionError(f"no sqlite3 connection to {database} to count")
        for connection in connections:
            connection.set_trace_callback(self._tracer(connection, count))
        try:
            yield count
        finally:
            for connection in connections:
                connection.set_trace_callback(None)

    def _tracer(
        self, connection: sqlite3.Connection, count: CommitCount | None = None
    ) -> Callable[[str], None]:
        count = self.count if count is None else count
        opened: list[int] = []  # total_changes when the open transaction began

        def trace(statement: str) -> None:
            count.statements += 1
            word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
            if word == "BEGIN":
                opened[:] = [connection.total_changes]
            elif word in ("COMMIT", "END"):
                if opened and connection.total_changes == opened[0]:
                    count.empty += 1
                else:
                    count.commits += 1
                opened.clear()
            elif word == "ROLLBACK":
                opened.clear()
            elif word in _WRITES and not opened:
                count.commits += 1  # autocommit: the statement is its own transaction

        return trace

    def check(self, journal_mode: str = "wal") -> None:
        """Raise unless every connection runs ``journal_mode`` at the wanted level."""
        if not self.connections:
            raise AssertionError("no sqlite3 connection was opened inside the capture")
        if len(self._applied) != len(self.connections):
            raise AssertionError("a sqlite3 connection was opened after apply()")
        for connection, database in self.connections:
            (level,) = connection.execute("PRAGMA synchronous").fetchone()
            (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
            wanted = self.level(database)
            want = SYNCHRONOUS_LEVELS[wanted] if wanted else level
            if level != want or str(mode).lower() != journal_mode:
                raise AssertionError(
                    f"{database}: a connection runs journal_mode={mode} synchronous={level}, "
                    f"expected {journal_mode} and {want}"
                )


# -- PostgreSQL ----------------------------------------------------------------------------


def with_database(dsn: str, name: str) -> str:
    """``dsn`` (a ``postgresql://`` URL) naming the database ``name`` instead."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@contextlib.contextmanager
def pg_database(dsn: str, *, synchronous_commit: str | None = None) -> Iterator[str]:
    """A fresh database for one run (yields its URL), dropped on the way out; with
    ``synchronous_commit`` set as every new session's default."""
    import psycopg
    from psycopg import sql

    name = f"rf_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if synchronous_commit is not None:
            db.execute(
                sql.SQL("ALTER DATABASE {} SET synchronous_commit = {}").format(
                    sql.Identifier(name), sql.Literal(synchronous_commit)
                )
            )
    try:
        yield with_database(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def pg_setting(url: str, name: str) -> str:
    """A setting as a new session on ``url`` sees it (``SHOW``)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
    assert row is not None
    return str(row[0])


def pg_server_version(dsn: str) -> str:
    """The server's ``server_version``."""
    return pg_setting(dsn, "server_version")


def pg_counts(dsn: str, database: str, *, timeout: float = 15.0) -> tuple[int, int, str]:
    """``(xact_commit of database, the server's next transaction id, WAL insert position)``
    once no session is connected to ``database`` any more and its statistics settled.

    A session's counts reach ``pg_stat_database`` when it goes idle (at most once a
    second) and at the latest when it ends, so the caller closes its connections
    first; here we wait for the sessions to end and for two equal readings. Read
    from ``dsn``'s database, so this session counts nowhere in ``database``.
    """
    import psycopg

    deadline = time.monotonic() + timeout
    last: int | None = None
    with psycopg.connect(dsn, autocommit=True) as db:
        while True:
            (sessions,) = db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
            ).fetchone() or (0,)
            db.execute("SELECT pg_stat_clear_snapshot()")
            (commits,) = db.execute(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (database,)
            ).fetchone() or (0,)
            if sessions == 0 and commits == last:
                next_xid, lsn = db.execute(
                    "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint,"
                    " pg_current_wal_insert_lsn()::text"
                ).fetchone() or (0, "0/0")
                return int(commits), int(next_xid), str(lsn)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{database}: sessions or statistics did not settle")
            last = int(commits) if sessions == 0 else None
            time.sleep(0.1)


def pg_walinspect(url: str) -> bool:
    """Install ``pg_walinspect`` (PostgreSQL >= 15's contrib) into ``url``'s database, in a
    schema of its own; False when the server does not have it."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("CREATE SCHEMA IF NOT EXISTS rf_walinspect")
            db.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA rf_walinspect")
    except psycopg.Error:
        return False
    return True


_WAL_COMMITS = """
WITH records AS (
    SELECT xid, resource_manager, record_type, block_ref
    FROM rf_walinspect.pg_get_wal_records_info(%(start)s::pg_lsn, %(end)s::pg_lsn)
), ours AS (
    SELECT DISTINCT xid FROM records WHERE xid <> 0 AND block_ref LIKE %(blocks)s
)
SELECT count(*) FROM records
WHERE resource_manager = 'Transaction' AND record_type LIKE 'COMMIT%%'
  AND xid IN (SELECT xid FROM ours)"""


def pg_wal_commits(url: str, start: str, end: str) -> int:
    """Commit records written between the WAL positions ``start`` and ``end`` for
    transactions that changed a block of ``url``'s database: the commits of that
    database that flushed the WAL, whatever else ran on the server (``pg_walinspect``)."""
    import psycopg

    if start == end:
        return 0  # no WAL written in between
    with psycopg.connect(url, autocommit=True) as db:
        # an asynchronous commit's record may not be flushed yet: wait for the WAL writer
        deadline = time.monotonic() + 10
        while (
            db.execute("SELECT pg_current_wal_flush_lsn() < %s::pg_lsn", (end,)).fetchone()
            or (False,)
        )[0]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the WAL was not flushed up to {end}")
            time.sleep(0.05)
        (oid,) = db.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchone() or (0,)
        (count,) = db.execute(
            _WAL_COMMITS, {"start": start, "end": end, "blocks": f"%/{oid}/%"}
        ).fetchone() or (0,)
    return int(count)
