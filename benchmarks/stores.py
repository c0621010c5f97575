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

Checked before timing: every stream reads back with the events appended, in
order (reqfulfill ``load``, eventsourcing ``select_events``). ``ops_per_s`` is
events per second, ``median_s`` the seconds per event, ``ratio`` the row's
throughput divided by eventsourcing's on the same database (>= 1: reqfulfill
at least as fast). ``size`` is events per round.

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

from benchmarks.lifecycle import START, pg_dsn, pg_schema, pg_url, play_reset, row
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


def _eventsourcing_sqlite(path: str) -> _Theirs | None:
    try:
        from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
    except ImportError:
        return None
    datastore = SQLiteDatastore(path)
    return _Theirs(SQLiteApplicationRecorder(datastore), datastore.close)


def _eventsourcing_pg(dsn: str, schema: str) -> _Theirs | None:
    try:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    except ImportError:
        return None
    parts = urlsplit(dsn)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "localhost",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        schema=schema,
    )
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    return _Theirs(PostgresApplicationRecorder(datastore), datastore.close)


def run(quick: bool = False, *, requests: int | None = None) -> list[dict[str, Any]]:
    """Events/s per store; rounds interleaved across the four contenders."""
    rounds = 2 if quick else 5
    per_round = requests or (10 if quick else 200)
    batches = record_appends(per_round * (rounds + 1))
    events_per_round = sum(len(call[1]) for b in batches[:per_round] for call in b)
    slices = [batches[i * per_round : (i + 1) * per_round] for i in range(rounds + 1)]
    rows: list[dict[str, Any]] = []
    dsn = pg_dsn()
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, contextlib.ExitStack() as stack:
        contenders: dict[str, tuple[str, Any]] = {
            "reqfulfill-sqlite": ("sqlite", _Ours(SQLiteStore(Path(tmp) / "rf.db"))),
        }
        theirs = _eventsourcing_sqlite(str(Path(tmp) / "es.db"))
        if theirs is not None:
            contenders["eventsourcing-sqlite"] = ("sqlite", theirs)
        if dsn is not None:
            from reqfulfill.stores.postgres import PostgresStore

            ours_schema = stack.enter_context(pg_schema(dsn))
            contenders["reqfulfill-postgresql"] = (
                "postgresql",
                _Ours(PostgresStore.from_url(pg_url(dsn, ours_schema))),
            )
            their_schema = stack.enter_context(pg_schema(dsn))
            theirs_pg = _eventsourcing_pg(dsn, their_schema)
            if theirs_pg is not None:
                contenders["eventsourcing-postgresql"] = ("postgresql", theirs_pg)
        # the first slice is the answers check (and warms connections and caches)
        inputs: dict[str, list[Any]] = {}
        for name, (_db, c) in contenders.items():
            prepared = [c.prepare(s) if isinstance(c, _Theirs) else s for s in slices]
            c.write(prepared[0])
            c.check(slices[0])
            inputs[name] = prepared[1:]
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for r in range(rounds):
            for name, (_db, c) in contenders.items():
                start = time.perf_counter()
                c.write(inputs[name][r])
                times[name].append((time.perf_counter() - start) / events_per_round)
        for _db, c in contenders.values():
            c.check(slices[-1])
        for name, (db, _c) in contenders.items():
            peer = times.get(f"eventsourcing-{db}")
            ratio = statistics.median(peer) / statistics.median(times[name]) if peer else None
            rows.append(row("append", events_per_round, name, times[name], ratio))
        for _db, c in contenders.values():
            c.close()
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
