"""Approval benchmark: ``pending_approvals(actor)`` among 10k / 100k open requests.

Each open request waits for one approver (of 2,000, so an approver has about 50
requests waiting at 100,000), and the approver asked has 20 more, the oldest.
The summaries and the index of pending approvers are loaded in bulk -- SQLite
``executemany`` in one transaction, PostgreSQL ``COPY`` (into the store's own schema
and indexes, created by the store first, on a connection of their own), ``memory://``
one append per request with its summary (``codec=off``) -- then
one real request is submitted through a service (its item needs the manager's
approval) and ``service.pending_approvals(actor)`` is timed. The answer is checked
first: the 20 bulk requests oldest first, then the real one, for the actor asked;
nothing for an actor with none.

``ops_per_s`` is lookups per second, ``median_s`` seconds per lookup (median of the
rounds), ``ratio`` the row's time divided by the same store's time at the smallest
size (cost growth; 1.0 = flat). ``load_s`` is the bulk load time. The target of
issue 17 is under 5 ms at 100,000 on SQLite and PostgreSQL.

Run: ``python -m benchmarks approvals [--quick]``.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.lifecycle import bulk_pg, bulk_sqlite, pg_dsn, pg_schema, pg_url, row
from reqfulfill import Channel, FixedClock, FulfillmentService, Requester
from reqfulfill.stores import MemoryStore, RequestSummary, SQLiteStore, Store
from reqfulfill.stores._base import from_micros, to_micros
from reqfulfill.testing import demo_catalog
from reqfulfill.testing.samples import waiting_stream

SIZES = (10_000, 100_000)
APPROVERS = 2_000
ASKED = "max.manager"
OWN = 20
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)


def _rows(size: int) -> Iterator[tuple[str, str, int]]:
    """(request id, approver, since in micros): the asked approver's 20 first."""
    base = to_micros(T0)
    for i in range(size):
        actor = ASKED if i < OWN else f"approver-{i % APPROVERS:04d}"
        yield f"REQ-{i:09d}", actor, base + i * 1_000_000


def _summary(request_id: str, since: int, actor: str) -> RequestSummary:
    at = from_micros(since)
    return RequestSummary(
        request_id=request_id,
        state="awaiting_approval",
        group=None,
        agent=None,
        item="iphone-15",
        requester="erin.user",
        priority=None,
        created_at=at,
        updated_at=at,
        approvers=(actor,),
    )


def load_memory(size: int) -> MemoryStore:
    store = MemoryStore(codec=False)
    for rid, actor, since in _rows(size):  # one append each: the summary's approvers indexed
        at = from_micros(since)
        store.append(rid, waiting_stream(rid, 1, at=at), 0, summary=_summary(rid, since, actor))
    return store


_REQUEST_ROW = (
    "INSERT INTO rf_requests (request_id, state, grp, agent, item, requester, priority,"
    " created_at, updated_at, version) VALUES (?, 'awaiting_approval', NULL, NULL,"
    " 'iphone-15', 'erin.user', NULL, ?, ?, 1)"
)


def load_sqlite(path: Path, size: int) -> SQLiteStore:
    SQLiteStore(path).close()  # the store's own schema and indexes
    with bulk_sqlite(path) as db:
        db.executemany(_REQUEST_ROW, ((rid, since, since) for rid, _, since in _rows(size)))
        db.executemany(
            "INSERT INTO rf_approvals (request_id, actor, since) VALUES (?, ?, ?)", _rows(size)
        )
    return SQLiteStore(path)


def load_pg(dsn: str, schema: str, size: int) -> None:
    from reqfulfill.stores.postgres import PostgresStore

    PostgresStore(dsn, schema=schema).close()  # the store's own schema and indexes
    requests, approvals = io.StringIO(), io.StringIO()
    for rid, actor, since in _rows(size):
        requests.write(f"{rid}\tawaiting_approval\tiphone-15\terin.user\t{since}\t{since}\t1\n")
        approvals.write(f"{rid}\t{actor}\t{since}\n")
    with bulk_pg(dsn, schema, "rf_requests", "rf_approvals") as cur:
        columns = "request_id, state, item, requester, created_at, updated_at, version"
        with cur.copy(f"COPY rf_requests ({columns}) FROM STDIN") as copy:  # constant text
            copy.write(requests.getvalue())
        with cur.copy("COPY rf_approvals (request_id, actor, since) FROM STDIN") as copy:
            copy.write(approvals.getvalue())


def _service(store: Store) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store=store, clock=FixedClock(NOW), load_entrypoints=False
    )


def _check(service: FulfillmentService, impl: str) -> None:
    erin = Requester("erin.user", "Erin", "Finance", "HQ", manager=ASKED)
    real = service.submit(erin, "iphone-15", Channel.PORTAL).id
    got = [s.request_id for s in service.pending_approvals(ASKED)]
    wanted = [f"REQ-{i:09d}" for i in range(OWN)] + [real]
    if got != wanted:
        raise AssertionError(f"{impl}: pending_approvals gave {got[:3]}..., not {wanted[:3]}...")
    if service.pending_approvals("nobody.at.all"):
        raise AssertionError(f"{impl}: requests wait for an actor who approves nothing")


def _times(service: FulfillmentService, rounds: int, per_round: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            service.pending_approvals(ASKED)
        out.append((time.perf_counter() - start) / per_round)
    return out


def run(quick: bool = False, *, sizes: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """``pending_approvals`` per store and size."""
    sizes = sizes or ((1_000, 10_000) if quick else SIZES)
    rounds = 3 if quick else 7
    per_round = 20 if quick else 200
    rows: list[dict[str, Any]] = []
    dsn = pg_dsn()
    first: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, contextlib.ExitStack() as stack:
        for size in sizes:
            loaded: list[tuple[str, Store, float]] = []
            start = time.perf_counter()
            loaded.append(("memory", load_memory(size), time.perf_counter() - start))
            start = time.perf_counter()
            sqlite = load_sqlite(Path(tmp) / f"approvals-{size}.db", size)
            loaded.append(("sqlite", sqlite, time.perf_counter() - start))
            if dsn is not None:
                schema = stack.enter_context(pg_schema(dsn))
                start = time.perf_counter()
                load_pg(dsn, schema, size)
                load_s = time.perf_counter() - start
                loaded.append(("postgresql", _pg_store(pg_url(dsn, schema)), load_s))
            for impl, store, load_s in loaded:
                service = _service(store)
                _check(service, impl)
                values = _times(service, rounds, per_round)
                median = statistics.median(values)
                base = first.setdefault(impl, median)
                rows.append(
                    row(
                        "pending-approvals",
                        size,
                        impl,
                        values,
                        median / base,
                        load_s=round(load_s, 2),
                        waiting=OWN + 1,
                    )
                )
                store.close()
    return rows


def _pg_store(url: str) -> Store:
    from reqfulfill.plugins import open_store

    return open_store(url)


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
