"""Lifecycle benchmark: whole requests through the service, requests/s per store.

* ``password-reset`` -- the demo catalog's ``password-reset`` item (no
  approval, one manual task): ``submit`` -> ``complete_task`` -> ``close``,
  then the worker sends the two notifications (fulfilled, closed) and records
  their delivery; one request after the other (13 events, 4 appends per
  request);
* ``phone-worker`` -- the reference scenario's phone (``iphone-15``) through
  the worker with a :class:`~reqfulfill.testing.FakeSupplier` that delivers
  on the first poll: submit, approve, claim, the worker places the order and
  polls it, prepare, ship, confirm receipt, the worker closes the request and
  sends every notification (about 40 events and 15 effects per request).

Each store is ``memory://?codec=off`` (the service's own cost: events kept as
objects), ``memory://`` (``memory+codec``: events kept as their stored JSON text, each
decoded from it at its first read, the default), a fresh SQLite file in a temporary directory,
and (when a server answers) PostgreSQL in a schema of its own, dropped afterwards.
Before anything is timed, a request of each kind is played and its final state
and event types are checked. ``ops_per_s`` is requests per second (median of
the rounds), ``median_s`` the seconds per request, ``spread`` (max - min) /
median of the rounds, ``ratio`` the row's throughput divided by ``memory``'s.

The helpers here (:func:`row`, :func:`pg_dsn`, :func:`pg_schema`) are shared
by the other benchmark modules of issue 9.

Run: ``python -m benchmarks lifecycle [--quick]``.
"""

from __future__ import annotations

import contextlib
import copy
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reqfulfill import Channel, FulfillmentService
from reqfulfill.clock import FixedClock
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import RequestState
from reqfulfill.testing import DEMO_CATALOG, FakeSupplier, demo_requester
from reqfulfill.worker import Worker

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
AGENT = "sam.agent"
MANAGER = "max.manager"
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

RESET_EVENTS = [
    "RequestSubmitted",
    "RequestAssigned",
    "RequestCategorized",
    "RequestPrioritized",
    "PlanStarted",
    "TaskStarted",
    "TaskCompleted",
    "RequestFulfilled",
    "NotificationRequested",
    "RequestClosed",
    "NotificationRequested",
]
"""The password reset's events before the worker runs (``play_reset`` without one)."""

STORE_DEFAULTS = {
    "memory": "memory://?codec=off: events kept as objects",
    "memory+codec": "memory:// (default): events kept as stored JSON",
    "sqlite": "store defaults: WAL, synchronous=NORMAL",
    "postgresql": "server's synchronous_commit, outcomes too",
}
"""How each store runs in these rows: at its own defaults (``stores``, ``process`` and
``transactions`` set the durability explicitly)."""

RESET_EVENTS_SENT = [*RESET_EVENTS, "RequesterNotified", "RequesterNotified"]
"""... and after the worker delivered both notifications to the requester."""


# -- shared helpers ----------------------------------------------------------------------


def row(
    benchmark: str,
    size: int | str,
    impl: str,
    times: Sequence[float],
    ratio: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A result row from the per-operation times of the rounds (seconds)."""
    median = statistics.median(times)
    spread = (max(times) - min(times)) / median if median else 0.0
    out: dict[str, Any] = {
        "benchmark": benchmark,
        "size": size,
        "impl": impl,
        "ops_per_s": round(1 / median, 1) if median else 0.0,
        "median_s": median,
        "spread": round(spread, 3),
        "ratio": round(ratio, 2) if ratio is not None else 1.0,
        "checked": True,
    }
    out.update(extra)
    return out


def pg_dsn() -> str | None:
    """The PostgreSQL server to use (``$REQFULFILL_PG_DSN`` or the local one), if it answers."""
    dsn = os.environ.get("REQFULFILL_PG_DSN", DEFAULT_PG)
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3):
            return dsn
    except Exception:
        return None


@contextlib.contextmanager
def pg_schema(dsn: str, prefix: str = "bench") -> Iterator[str]:
    """A fresh schema name, dropped (with everything in it) on the way out."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        with psycopg.connect(dsn, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def pg_url(dsn: str, schema: str) -> str:
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"


@contextlib.contextmanager
def bulk_sqlite(path: Path, *tables: str) -> Iterator[sqlite3.Connection]:
    """A connection of its own to the SQLite file ``path`` (the store made its schema),
    for bulk rows in one transaction, committed and the ``tables`` analysed on the way
    out (all of them without names)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("COMMIT")
        for statement in [f"ANALYZE {t}" for t in tables] or ["ANALYZE"]:
            db.execute(statement)  # the callers' constant table names
    finally:
        db.close()


@contextlib.contextmanager
def bulk_pg(dsn: str, schema: str, *tables: str) -> Iterator[Any]:
    """A cursor on a connection of its own, in ``schema`` (the store made it), for bulk
    rows (``COPY``), committed and the ``tables`` analysed on the way out (all of them
    without names)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn) as db, db.cursor() as cur:
        cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        yield cur
        db.commit()
        for name in tables or (None,):
            cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)) if name else "ANALYZE")
        db.commit()


@contextlib.contextmanager
def store_urls(quick: bool) -> Iterator[list[tuple[str, Callable[[], str]]]]:
    """``(impl, make_url)`` for memory, SQLite and PostgreSQL; each call of
    ``make_url`` names an empty store (cleaned up on exit)."""
    dsn = pg_dsn()
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, contextlib.ExitStack() as stack:
        counter = iter(range(1_000_000))

        def sqlite_url() -> str:
            return "sqlite:///" + str(Path(tmp) / f"bench-{next(counter)}.db")

        def pg() -> str:
            assert dsn is not None
            return pg_url(dsn, stack.enter_context(pg_schema(dsn)))

        urls: list[tuple[str, Callable[[], str]]] = [
            ("memory", lambda: "memory://?codec=off"),
            ("memory+codec", lambda: "memory://"),
            ("sqlite", sqlite_url),
        ]
        if dsn is not None:
            urls.append(("postgresql", pg))
        yield urls


# -- the two flows -----------------------------------------------------------------------


def reset_service(url: str) -> FulfillmentService:
    return FulfillmentService(
        bench_catalog(), store=url, clock=FixedClock(START), load_entrypoints=False
    )


def bench_catalog() -> Catalog:
    """The demo catalog with its phone ordered straight from the supplier (a
    ``supplier_order`` task, as in the process the peers model: submit, approve, order,
    prepare, deliver, confirm, close), not first from the stock room."""
    data = copy.deepcopy(DEMO_CATALOG)
    for plan in data["plans"]:
        for task in plan["tasks"]:
            if task.get("kind") == "stock_or_order":
                task["kind"] = "supplier_order"
                task["title"] = "Order the phone from the supplier"
    return Catalog.from_dict(data)


def play_reset(service: FulfillmentService, worker: Worker | None = None) -> str:
    """One password reset, submitted to closed, and with ``worker`` its notifications
    sent; returns its id."""
    request = service.submit(demo_requester(), "password-reset", Channel.PORTAL)
    service.complete_task(request.id, "reset", AGENT)
    service.close(request.id, AGENT)
    if worker is not None:
        worker.run_pending()
    return request.id


def check_reset(service: FulfillmentService, worker: Worker) -> None:
    rid = play_reset(service, worker)
    state = service.get(rid)
    types = [e.type for e in service.history(rid)]
    if state.state is not RequestState.CLOSED or types != RESET_EVENTS_SENT:
        raise AssertionError(f"password reset ended {state.state}: {types}")
    if state.pending_notifications or service.store.claim_effects(
        START + timedelta(days=365), worker="check", lease=timedelta(seconds=1)
    ):
        raise AssertionError("password reset: notifications left unsent")


def phone_service(url: str) -> tuple[FulfillmentService, FixedClock, Worker]:
    clock = FixedClock(START)
    supplier = FakeSupplier("acme-mobile", auto_deliver=True)
    service = FulfillmentService(
        bench_catalog(), store=url, plugins=[supplier], clock=clock, load_entrypoints=False
    )
    return service, clock, Worker(service, seed=1)


def play_phones(
    service: FulfillmentService, clock: FixedClock, worker: Worker, n: int
) -> list[str]:
    """``n`` phone requests through the reference scenario, phase by phase."""
    requester = demo_requester()
    ids = [
        service.submit(requester, "iphone-15", Channel.PORTAL, {"colour": "black"}).id
        for _ in range(n)
    ]
    worker.run_pending()  # approval notifications
    for rid in ids:
        service.approve(rid, MANAGER)
        service.claim(rid, AGENT)
    worker.run_pending()  # orders placed
    clock.advance(timedelta(days=1))
    worker.run_pending()  # polls: delivered
    for rid in ids:
        service.complete_task(rid, "prepare", AGENT)
        service.ship(rid, "deliver", AGENT)
        service.confirm_delivery(rid, requester.id)
    worker.run_pending()  # closes, notifies
    return ids


def check_phones(service: FulfillmentService, clock: FixedClock, worker: Worker) -> None:
    for rid in play_phones(service, clock, worker, 2):
        state = service.get(rid)
        if state.state is not RequestState.CLOSED or any(not t.finished for t in state.plan):
            raise AssertionError(f"phone request ended {state.state}: {state.plan}")
        if state.pending_notifications:
            raise AssertionError(f"notifications not sent: {state.pending_notifications}")


def _time(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / count


def run(quick: bool = False, *, counts: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Requests/s for both flows on every store; rounds interleaved across stores."""
    rounds = 2 if quick else 5
    per_round = counts or (
        {"memory": 20, "sqlite": 10, "postgresql": 10}
        if quick
        else {"memory": 1_000, "sqlite": 300, "postgresql": 150}
    )
    rows: list[dict[str, Any]] = []
    with store_urls(quick) as urls:
        resets: dict[str, tuple[FulfillmentService, Worker]] = {}
        phones: dict[str, tuple[FulfillmentService, FixedClock, Worker]] = {}
        for impl, make in urls:
            service = reset_service(make())
            resets[impl] = (service, Worker(service, seed=1, allow_missing=True))
            check_reset(*resets[impl])
            phones[impl] = phone_service(make())
            check_phones(*phones[impl])
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for impl, _make in urls:
                n = per_round.get(impl, per_round["memory"])
                reset = resets[impl]
                times.setdefault(("password-reset", impl), []).append(
                    _time(lambda reset=reset, n=n: [play_reset(*reset) for _ in range(n)], n)
                )
                m = max(2, n // 5)
                ph = phones[impl]
                times.setdefault(("phone-worker", impl), []).append(
                    _time(lambda ph=ph, m=m: play_phones(*ph, m), m)
                )
        for flow in ("password-reset", "phone-worker"):
            base = statistics.median(times[flow, "memory"])
            for impl, _make in urls:
                values = times[flow, impl]
                count = per_round.get(impl, per_round["memory"])
                size = count if flow == "password-reset" else max(2, count // 5)
                ratio = base / statistics.median(values)
                rows.append(row(flow, size, impl, values, ratio, mode=STORE_DEFAULTS[impl]))
        for svc, _worker in resets.values():
            svc.store.close()
        for svc, _clock, _worker in phones.values():
            svc.store.close()
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
