"""Timer benchmark: finding the due timers among 10k / 100k / 1M open requests.

Each open request has one ``sla`` timer, due some time in the next 30 days
(the worker asks ``due_timers(now)`` on every pass). The timers are loaded in
bulk -- SQLite ``executemany`` in one transaction, PostgreSQL ``COPY`` (into the
store's own schema and index, created by the store first, on a connection of
their own) and, for ``memory://``, ``set_timers`` earliest first -- then
``due_timers(now, limit=100)`` is timed when none are due (``none-due``) and
after ``set_timers`` made 10 due (``10-due``). The answers are checked first: no
timer, then exactly those 10, earliest first.

``ops_per_s`` is lookups per second, ``median_s`` seconds per lookup (median
of the rounds), ``ratio`` the row's time divided by the same store's time at
the smallest size (cost growth; 1.0 = flat). ``load_s`` is the bulk load time.

Run: ``python -m benchmarks timers [--quick]``.
"""

from __future__ import annotations

import contextlib
import io
import random
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.lifecycle import bulk_pg, bulk_sqlite, pg_dsn, pg_schema, row
from reqfulfill.stores import MemoryStore, SQLiteStore
from reqfulfill.stores._base import from_micros, to_micros

SIZES = (10_000, 100_000, 1_000_000)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _dues(size: int, seed: int = 3) -> Iterator[tuple[str, int]]:
    rng = random.Random(seed)
    base = to_micros(NOW)
    month = 30 * 86_400_000_000
    for i in range(size):
        yield f"REQ-{i:09d}", base + 1 + rng.randrange(month)


def load_memory(size: int) -> MemoryStore:
    store = MemoryStore()
    # earliest first: each timer goes in at the end of the store's sorted index
    for due, rid in sorted((due, rid) for rid, due in _dues(size)):
        store.set_timers(rid, {"sla": from_micros(due)})
    return store


def load_sqlite(path: Path, size: int) -> SQLiteStore:
    SQLiteStore(path).close()  # the store's own schema and indexes
    with bulk_sqlite(path, "rf_timers") as db:
        db.executemany(
            "INSERT INTO rf_timers (request_id, key, due) VALUES (?, 'sla', ?)", _dues(size)
        )
    return SQLiteStore(path)


def load_pg(dsn: str, schema: str, size: int) -> Any:
    from reqfulfill.stores.postgres import PostgresStore

    store = PostgresStore(dsn, schema=schema)  # the store's own schema and indexes
    buffer = io.StringIO()
    for rid, due in _dues(size):
        buffer.write(f"{rid}\tsla\t{due}\n")
    with (
        bulk_pg(dsn, schema, "rf_timers") as cur,
        cur.copy("COPY rf_timers (request_id, key, due) FROM STDIN") as copy,
    ):
        copy.write(buffer.getvalue())
    return store


def _lookup_times(store: Any, rounds: int, per_round: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            store.due_timers(NOW, limit=100)
        out.append((time.perf_counter() - start) / per_round)
    return out


def _make_due(store: Any) -> list[str]:
    ids = [f"REQ-{i * 997:09d}" for i in range(10)]
    for n, rid in enumerate(ids):
        store.set_timers(rid, {"sla": NOW - timedelta(minutes=10 - n)})
    return ids


def run(quick: bool = False, *, sizes: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Due-timer lookups per store and size, none due and 10 due."""
    sizes = sizes or ((1_000, 10_000) if quick else SIZES)
    rounds = 3 if quick else 7
    per_round = 20 if quick else 200
    rows: list[dict[str, Any]] = []
    dsn = pg_dsn()
    first: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, contextlib.ExitStack() as stack:
        for size in sizes:
            stores: list[tuple[str, Any, float]] = []
            start = time.perf_counter()
            stores.append(("memory", load_memory(size), time.perf_counter() - start))
            start = time.perf_counter()
            sqlite = load_sqlite(Path(tmp) / f"timers-{size}.db", size)
            stores.append(("sqlite", sqlite, time.perf_counter() - start))
            if dsn is not None:
                schema = stack.enter_context(pg_schema(dsn))
                start = time.perf_counter()
                stores.append(
                    ("postgresql", load_pg(dsn, schema, size), time.perf_counter() - start)
                )
            for impl, store, load_s in stores:
                if store.due_timers(NOW, limit=100):
                    raise AssertionError(f"{impl}: timers due before any is")
                none = _lookup_times(store, rounds, per_round)
                ids = _make_due(store)
                got = [t.request_id for t in store.due_timers(NOW, limit=100)]
                if got != ids:
                    raise AssertionError(f"{impl}: due timers {got} != {ids}")
                ten = _lookup_times(store, rounds, per_round)
                for case, values in (("none-due", none), ("10-due", ten)):
                    median = statistics.median(values)
                    base = first.setdefault((impl, case), median)
                    rows.append(
                        row(
                            f"timers-{case}",
                            size,
                            impl,
                            values,
                            median / base,
                            load_s=round(load_s, 2),
                        )
                    )
                store.close()
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
