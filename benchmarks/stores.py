"""Store benchmark: append throughput, reqfulfill's stores against eventsourcing's recorders.

The appends are the ones the service makes: the password-reset flow is played
on a recording memory store, and each recorded ``append`` (the batch of events
of one command, with its summary and timers) is replayed against each store.
Every round uses requests of its own, so each append extends a real stream.

* ``reqfulfill-sqlite`` / ``reqfulfill-postgresql`` -- ``Store.append`` with
  the events, the summary and the timers (events serialized inside the call);
* ``eventsourcing-sqlite`` / ``eventsourcing-postgresql`` -- the
  ``eventsourcing`` library's ``SQLiteApplicationRecorder`` /
  ``PostgresApplicationRecorder.insert_events`` with the same batches, the
  payloads already serialized (the recorders get the cheapest possible job).

**The same durability on both sides of every row** (``mode``), at two
settings: durable -- SQLite ``journal_mode=WAL, synchronous=FULL``, PostgreSQL
``synchronous_commit=on`` -- and relaxed -- ``WAL, synchronous=NORMAL`` /
``synchronous_commit=off``. On their own the two libraries differ: reqfulfill's
SQLite store sets ``synchronous=NORMAL``, eventsourcing's datastore leaves
SQLite's default ``FULL``; the SQLite levels are set on every connection of
both through ``durability.SQLiteConnections`` and read back before and after
timing. On PostgreSQL each setting gets a database of its own with
``ALTER DATABASE ... SET synchronous_commit``, read back with ``SHOW``.

Checked before timing: every stream reads back with the events appended, in
order (reqfulfill ``load``, eventsourcing ``select_events``). ``ops_per_s`` is
events per second, ``median_s`` the seconds per event, ``ratio`` the row's
throughput divided by eventsourcing's on the same database at the same
setting (>= 1: reqfulfill at least as fast). ``size`` is events per round.

Run: ``python -m benchmarks stores [--quick]`` (needs the bench extra).
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.durability import SQLiteConnections, pg_database, pg_setting
from benchmarks.lifecycle import START, pg_dsn, pg_url, play_reset, row
from reqfulfill import FulfillmentService
from reqfulfill.clock import FixedClock
from reqfulfill.model.events import Event
from reqfulfill.serialization import event_to_json
from reqfulfill.stores import MemoryStore, RequestSummary, SQLiteStore
from reqfulfill.testing import demo_catalog

Append = tuple[str, list[Event], int, RequestSummary | None, Mapping[str, datetime | None] | None]


def record_appends(requests: int) -> list[list[Append]]:
    """The appends of ``requests`` password resets, grouped per request."""
    store = MemoryStore()
    calls: list[Append] = []
    inner = store.append

    def append(request_id: str, events: Sequence[Event], expected_version: int, **kw: Any) -> None:
        calls.append(
            (request_id, list(events), expected_version, kw.get("summary"), kw.get("timers"))
        )
        inner(request_id, events, expected_version, **kw)

    store.append = append  # type: ignore[method-assign]
    service = FulfillmentService(
        demo_catalog(), store=store, clock=FixedClock(START), load_entrypoints=False
    )
    for _ in range(requests):
        play_reset(service)
    grouped: dict[str, list[Append]] = {}
    for call in calls:
        grouped.setdefault(call[0], []).append(call)
    return list(grouped.values())


class _Ours:
    def __init__(self, store: Any) -> None:
        self.store = store

    def write(self, batches: list[list[Append]]) -> None:
        append = self.store.append
        for appends in batches:
            for request_id, events, expected, summary, timers in appends:
                append(request_id, events, expected, summary=summary, timers=timers)

    def check(self, batches: list[list[Append]]) -> None:
        for appends in batches:
            want = [e.event_id for a in appends for e in a[1]]
            got = [e.event_id for e in self.store.load(appends[0][0])]
            if got != want:
                raise AssertionError(f"{type(self.store).__name__} read back {got} != {want}")

    def close(self) -> None:
        self.store.close()


class _Theirs:
    """eventsourcing's application recorder, fed the same batches."""

    def __init__(self, recorder: Any, closer: Callable[[], None]) -> None:
        from eventsourcing.persistence import StoredEvent

        self.recorder = recorder
        self.recorder.create_table()
        self._stored = StoredEvent
        self._closer = closer
        self._ids: dict[str, uuid.UUID] = {}

    def prepare(self, batches: list[list[Append]]) -> list[list[list[Any]]]:
        out = []
        for appends in batches:
            oid = self._ids.setdefault(appends[0][0], uuid.uuid4())
            out.append(
                [
                    [
                        self._stored(
                            originator_id=oid,
                            originator_version=expected + i + 1,
                            topic=e.type,
                            state=event_to_json(e).encode(),
                        )
                        for i, e in enumerate(events)
                    ]
                    for _rid, events, expected, _s, _t in appends
                ]
            )
        return out

    def write(self, prepared: list[list[list[Any]]]) -> None:
        insert = self.recorder.insert_events
        for appends in prepared:
            for stored in appends:
                insert(stored)

    def check(self, batches: list[list[Append]]) -> None:
        for appends in batches:
            want = [e.type for a in appends for e in a[1]]
            got = [s.topic for s in self.recorder.select_events(self._ids[appends[0][0]])]
            if got != want:
                raise AssertionError(f"eventsourcing read back {got} != {want}")

    def close(self) -> None:
        self._closer()


SETTINGS = (("FULL", "on"), ("NORMAL", "off"))
"""(SQLite ``synchronous``, PostgreSQL ``synchronous_commit``): the durable setting
(each commit waits for the disk) and the relaxed one (a crash may lose the last
commits, never corrupt the database)."""


def _eventsourcing_sqlite(path: str) -> _Theirs | None:
    try:
        from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
    except ImportError:
        return None
    datastore = SQLiteDatastore(path)
    return _Theirs(SQLiteApplicationRecorder(datastore), datastore.close)


def _eventsourcing_pg(url: str, schema: str) -> _Theirs | None:
    try:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    except ImportError:
        return None
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    parts = urlsplit(url)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "localhost",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        schema=schema,
    )
    return _Theirs(PostgresApplicationRecorder(datastore), datastore.close)


Contenders = dict[str, tuple[str, str, Any]]
"""impl name -> (database and setting, mode label, contender)."""


def _db_file(tmp: str, lib: str, synchronous: str) -> str:
    return str(Path(tmp) / f"{lib}-{synchronous}.db")


def _sqlite_contenders(tmp: str, synchronous: str) -> Contenders:
    """Both libraries on SQLite files of their own (``_db_file``)."""
    mode = f"WAL, synchronous={synchronous}"
    key = f"sqlite {synchronous}"
    store = SQLiteStore(_db_file(tmp, "rf", synchronous))
    out: Contenders = {"reqfulfill-sqlite": (key, mode, _Ours(store))}
    theirs = _eventsourcing_sqlite(_db_file(tmp, "es", synchronous))
    if theirs is not None:
        out["eventsourcing-sqlite"] = (key, mode, theirs)
    return out


def _pg_contenders(stack: contextlib.ExitStack, dsn: str, commit: str) -> Contenders:
    url = stack.enter_context(pg_database(dsn, synchronous_commit=commit))
    if pg_setting(url, "synchronous_commit") != commit:
        raise AssertionError(f"{url}: synchronous_commit is not {commit}")
    from reqfulfill.stores.postgres import PostgresStore

    mode = f"synchronous_commit={commit}"
    key = f"postgresql {commit}"
    out: Contenders = {
        "reqfulfill-postgresql": (key, mode, _Ours(PostgresStore.from_url(pg_url(url, "rf"))))
    }
    theirs = _eventsourcing_pg(url, "es")
    if theirs is not None:
        out["eventsourcing-postgresql"] = (key, mode, theirs)
    return out


def run(quick: bool = False, *, requests: int | None = None) -> list[dict[str, Any]]:
    """Events/s per store at each durability setting; rounds interleaved across all."""
    rounds = 2 if quick else 5
    per_round = requests or (10 if quick else 200)
    batches = record_appends(per_round * (rounds + 1))
    events_per_round = sum(len(call[1]) for b in batches[:per_round] for call in b)
    slices = [batches[i * per_round : (i + 1) * per_round] for i in range(rounds + 1)]
    rows: list[dict[str, Any]] = []
    dsn = pg_dsn()
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, contextlib.ExitStack() as stack:
        contenders: dict[tuple[str, str], tuple[str, str, Any]] = {}
        files = {_db_file(tmp, lib, level): level for level, _ in SETTINGS for lib in ("rf", "es")}
        conns = stack.enter_context(SQLiteConnections(by_file=files))
        for synchronous, commit in SETTINGS:
            found = _sqlite_contenders(tmp, synchronous)
            if dsn is not None:
                found.update(_pg_contenders(stack, dsn, commit))
            for name, entry in found.items():
                contenders[name, entry[0]] = entry
        # the first slice is the answers check (and warms connections and caches)
        inputs: dict[tuple[str, str], list[Any]] = {}
        for name, (_key, _mode, c) in contenders.items():
            prepared = [c.prepare(s) if isinstance(c, _Theirs) else s for s in slices]
            c.write(prepared[0])
            c.check(slices[0])
            inputs[name] = prepared[1:]
        conns.apply()  # sets the levels; again for connections a pool opened while checking
        conns.check()
        times: dict[tuple[str, str], list[float]] = {name: [] for name in contenders}
        for r in range(rounds):
            for name, (_key, _mode, c) in contenders.items():
                start = time.perf_counter()
                c.write(inputs[name][r])
                times[name].append((time.perf_counter() - start) / events_per_round)
        conns.check()  # still at the setting, no connection opened unset
        for _key, _mode, c in contenders.values():
            c.check(slices[-1])
        for (impl, key), (_key, mode, _c) in contenders.items():
            db = impl.split("-", 1)[1]
            peer = times.get((f"eventsourcing-{db}", key))
            ours = times[impl, key]
            ratio = statistics.median(peer) / statistics.median(ours) if peer else None
            rows.append(row("append", events_per_round, impl, ours, ratio, mode=mode))
        for _key, _mode, c in contenders.values():
            c.close()
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
