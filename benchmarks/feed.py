"""Change-feed benchmarks: events delivered to a subscription's handler, and how soon
an effect starts after its commit with PostgreSQL wake-ups versus polling.

``feed-handler``: a store holding ``size`` events (appended in batches of 10 over 100
requests) is read from position 0 by a subscription whose handler counts the events
(``handler(event)``, batches of 1,000): ``ops_per_s`` is events per second handed to
the handler, checkpoints included (``ratio``: the row's rate over 50,000/s, the
issue's target). ``feed-read`` is ``read_all`` alone in pages of 1,000, for
comparison. The counts and order are checked first.

``effect-start``: a worker (``run_forever``, interval 1 s) runs on one store object
while another store object, as another process would, submits requests that
notify at once; the latency is from the submit's return (its commit) to the
notifier's call. ``wake-ups`` is the PostgreSQL store as it is; ``polling`` the same
store with ``wait_for_work`` replaced by a plain sleep (the previous behaviour).
``median_s`` is the median latency, ``p99_s`` the 99th percentile (``ratio``:
polling's p99 over wake-ups').

Run: ``python -m benchmarks feed [--quick]``.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.lifecycle import pg_dsn, pg_schema, pg_url, row
from reqfulfill import FulfillmentService, Notification, StoredEvent, Worker, hookimpl
from reqfulfill.plugins import open_store
from reqfulfill.stores import Store
from reqfulfill.subscriptions import Subscription
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.samples import waiting_stream

TARGET = 50_000


@contextmanager
def _urls(quick: bool) -> Iterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory(prefix="rf-feed-") as tmp:
        urls = [("sqlite", f"sqlite:///{Path(tmp) / 'feed.db'}")]
        dsn = pg_dsn()
        if dsn is None:
            yield urls
            return
        with pg_schema(dsn, "feed") as schema:
            yield [*urls, ("postgresql", pg_url(dsn, schema))]


def _fill(store: Store, size: int) -> None:
    versions = [0] * 100
    for i in range(size // 10):
        n = i % 100
        rid = f"REQ-{n:05d}"
        store.append(rid, waiting_stream(rid, 10, start=versions[n] + 1), versions[n])
        versions[n] += 10


def _handler_rows(impl: str, url: str, size: int, rounds: int) -> list[dict[str, Any]]:
    store = open_store(url)
    try:
        _fill(store, size)
        feed_times: list[float] = []
        read_times: list[float] = []
        for attempt in range(rounds):
            count = [0]
            last = [0]

            def handle(
                event: StoredEvent, count: list[int] = count, last: list[int] = last
            ) -> None:
                assert event.position > last[0]
                last[0] = event.position
                count[0] += 1

            subscription = Subscription(store, f"bench_{attempt}", handle, batch=1000)
            started = time.perf_counter()
            handled = subscription.run_pending()
            feed_times.append((time.perf_counter() - started) / size)
            assert handled == count[0] == size, (handled, count[0], size)
            started = time.perf_counter()
            seen, after = 0, 0
            while page := store.read_all(after, 1000):
                seen += len(page)
                after = page[-1].position
            read_times.append((time.perf_counter() - started) / size)
            assert seen == size
    finally:
        store.close()
    rate = 1 / statistics.median(feed_times)
    return [
        row("feed-handler", size, impl, feed_times, ratio=rate / TARGET, mode="handler(event)"),
        row("feed-read", size, impl, read_times, mode="read_all, pages of 1,000"),
    ]


class _Stamps:
    """A notifier that notes when each request's notification is delivered."""

    def __init__(self) -> None:
        self.delivered: dict[str, float] = {}
        self.arrived = threading.Condition()

    @hookimpl
    def reqfulfill_notify(self, notification: Notification) -> None:
        with self.arrived:
            self.delivered.setdefault(notification.request_id, time.perf_counter())
            self.arrived.notify_all()


class _Polling:
    """A store whose ``wait_for_work`` only sleeps: the worker as it polled before."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def wait_for_work(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _latencies(url: str, wrap: Callable[[Store], Any], count: int) -> list[float]:
    stamps = _Stamps()
    worker_store = open_store(url)
    service = FulfillmentService(
        demo_catalog(), store=wrap(worker_store), plugins=[stamps], load_entrypoints=False
    )
    writer = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    worker = Worker(service, seed=0)
    runner = threading.Thread(target=worker.run_forever, kwargs={"interval": 1.0})
    runner.start()
    latencies: list[float] = []
    try:
        time.sleep(0.3)
        for i in range(count):
            time.sleep(0.05 + (i % 7) * 0.031)  # arrivals spread over the poll interval
            request = writer.submit(demo_requester(), "iphone-15", "portal")
            committed = time.perf_counter()
            with stamps.arrived:
                stamps.arrived.wait_for(lambda r=request.id: r in stamps.delivered, timeout=10)
            latencies.append(stamps.delivered[request.id] - committed)
    finally:
        worker.stop()
        runner.join(timeout=30)
        worker_store.close()
        writer.store.close()
    return latencies


def _latency_rows(url: str, count: int) -> list[dict[str, Any]]:
    out = []
    figures = {}
    for mode, wrap in (("wake-ups", lambda s: s), ("polling", _Polling)):
        latencies = sorted(_latencies(url, wrap, count))
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        figures[mode] = p99
        out.append(
            row(
                "effect-start",
                count,
                "postgresql",
                latencies,
                mode=mode,
                p99_s=round(p99, 4),
            )
        )
    out[0]["ratio"] = 1.0
    out[1]["ratio"] = round(figures["polling"] / figures["wake-ups"], 1)
    return out


def run(quick: bool = False, size: int | None = None) -> list[dict[str, Any]]:
    """The rows: events to a handler and read_all on SQLite and PostgreSQL; effect
    start latency with and without wake-ups on PostgreSQL."""
    events = size or (2_000 if quick else 100_000)
    rounds = 1 if quick else 3
    rows: list[dict[str, Any]] = []
    with _urls(quick) as urls:
        for impl, url in urls:
            rows.extend(_handler_rows(impl, url, events, rounds))
        pg = [url for impl, url in urls if impl == "postgresql"]
        if pg:
            rows.extend(_latency_rows(pg[0], 3 if quick else 100))
    return rows
