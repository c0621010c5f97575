"""Portal queries among many requests: the first page of ``requests(...)`` and
``queue(...)``, and ``metrics(by=...)``, on SQLite and PostgreSQL (issue #20's
targets: a first page under 10 ms and metrics under 100 ms among 1,000,000).

The store is made by the store itself (its schema, indexes and facts table), then
bulk-loaded: ``size`` summary rows and their facts rows (the fulfilled devices', items
0-9, with a source: stock, supplier or mixed) (SQLite ``executemany`` in one
transaction, PostgreSQL ``COPY``), spread over a year, 20 groups, 30 items, 200
agents, a requester per 20 requests (50,000 at a million) and the states of a year
of work (most closed), then ``ANALYZE``. The oldest 60 requests are real ones,
submitted through the service, so the queue's first page loads real requests (a
queue page is full ``ServiceRequest`` objects; a twentieth of the bulk rows are in
their group too). The answers are checked first: each page against the filters and
the order, the metrics' counts against the rows loaded.

Rows: ``requests:<filters>`` and ``queue:<filters>`` (seconds per first page of 50,
each page on a fresh service over the open store, so no request is cached) and
``metrics:<by>[:<window>]`` (seconds per call). ``ratio`` is the row's time over the
target (10 ms for a page, 100 ms for metrics): below 1.0 meets it. ``load_s`` is the
bulk load time.

All-time metrics read the metric rollup (``stores._rollup``), built after the load
(``rollup_s``: the bulk build, as ``reqfulfill db upgrade`` does it) so the timed
rounds measure the steady state; ``metrics:<by>:changed-100`` times a call that first
catches up 100 facts rows changed since the last (their agent and time to fulfil, as
appends change them: the untimed change is made before each round), and
``metrics:<by>:scan`` the same all-time figures from a scan of the facts rows (a
window covering all time: what every all-time call did before the rollup), for the
ratio in the same run. The rollup's answers are checked equal to the scan's.

Run: ``python -m benchmarks queries [--quick]`` (``size=`` in :func:`run`; 1,000,000
by default, 2,000 with ``--quick``).
"""

from __future__ import annotations

import contextlib
import io
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.lifecycle import bulk_pg, bulk_sqlite, pg_dsn, pg_schema, row
from reqfulfill import Channel, FixedClock, FulfillmentService, open_store
from reqfulfill.stores._base import to_micros
from reqfulfill.stores.postgres import PostgresStore
from reqfulfill.stores.sqlite import SQLiteStore
from reqfulfill.testing import demo_catalog, demo_requester

SIZE = 1_000_000
START = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
REAL = 60
PAGE_TARGET_S = 0.010
METRICS_TARGET_S = 0.100

# a year of work: most requests closed, a few in each open state
_STATES = [
    *["closed"] * 80,
    *["cancelled"] * 6,
    *["fulfilled"] * 3,
    *["in_fulfillment"] * 5,
    *["waiting"] * 2,
    *["awaiting_approval"] * 2,
    "submitted",
    "rejected",
]

_REQUESTS = (
    "request_id, state, grp, agent, item, requester, priority, created_at, updated_at, version"
)
_FACTS = (
    "request_id, created_at, item, grp, agent, closed, assign_ch, fulfil_ch, sla_met,"
    " rating, escalations, surveyed, source, stale"
)
# where a fulfilled device came from (items 0-9 are devices): drawn from a generator of
# its own, so the other columns are the rows loaded before the source existed
_SOURCES = [*["stock"] * 12, *["supplier"] * 7, "mixed"]


def _rows(size: int, seed: int = 20) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(summary row, facts row) of each bulk request, after the real ones in time."""
    rng = random.Random(seed)
    sources = random.Random(seed + 1)
    first = to_micros(START + timedelta(hours=1))
    step = (365 * 86_400_000_000) // max(size, 1)
    for n in range(size):
        created = first + n * step
        state = rng.choice(_STATES)
        # group-0 is the demo catalog's service-desk, the real requests' group
        number = rng.randrange(20)
        group = f"group-{number}" if number else "service-desk"
        number_of_item = rng.randrange(30)
        item = f"item-{number_of_item}"
        agent = f"agent-{rng.randrange(200)}" if rng.random() < 0.8 else None
        done = state in ("closed", "fulfilled")
        closed = state == "closed"
        rating = rng.randint(1, 5) if closed and rng.random() < 0.3 else None
        source = sources.choice(_SOURCES) if done and number_of_item < 10 else None
        yield (
            (
                f"B-{n:08d}",
                state,
                group,
                agent,
                item,
                f"user-{rng.randrange(max(size // 20, 10))}",
                3,
                created,
                created,
                5,
            ),
            (
                f"B-{n:08d}",
                created,
                item,
                group,
                agent,
                int(closed),
                int(rng.lognormvariate(3, 1.2)) if agent else None,
                int(rng.lognormvariate(6, 1.0)) if done else None,
                (1 if rng.random() < 0.9 else 0) if done else None,
                rating,
                1 if rng.random() < 0.05 else 0,
                (1 if rng.random() < 0.5 else 0) if closed else None,
                source,
                0,
            ),
        )


def _service(url: str, clock: FixedClock | None = None) -> FulfillmentService:
    return FulfillmentService(demo_catalog(), store=url, clock=clock, load_entrypoints=False)


def _real_requests(url: str) -> None:
    clock = FixedClock(START)
    service = _service(url, clock)
    try:
        for _ in range(REAL):
            service.submit(demo_requester(), "password-reset", Channel.PORTAL)
            clock.advance(seconds=30)
    finally:
        service.store.close()


def load_sqlite(path: Path, size: int) -> str:
    url = f"sqlite:///{path}"
    _real_requests(url)
    pairs = list(_rows(size))
    with bulk_sqlite(path) as db:
        db.executemany(
            f"INSERT INTO rf_requests ({_REQUESTS}) VALUES ({', '.join('?' * 10)})",
            (p[0] for p in pairs),
        )
        db.executemany(
            f"INSERT INTO rf_request_facts ({_FACTS}) VALUES ({', '.join('?' * 14)})",
            (p[1] for p in pairs),
        )
    return url


def _copy_text(rows: Iterator[tuple[Any, ...]]) -> str:
    buffer = io.StringIO()
    for values in rows:
        buffer.write("\t".join(r"\N" if v is None else str(v) for v in values) + "\n")
    return buffer.getvalue()


def load_pg(dsn: str, schema: str, size: int) -> str:

    url = f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    _real_requests(url)
    pairs = list(_rows(size))
    with bulk_pg(dsn, schema) as cur:
        with cur.copy(f"COPY rf_requests ({_REQUESTS}) FROM STDIN") as copy:  # constant text
            copy.write(_copy_text(p[0] for p in pairs))
        with cur.copy(f"COPY rf_request_facts ({_FACTS}) FROM STDIN") as copy:
            copy.write(_copy_text(p[1] for p in pairs))
    return url


def _pages(size: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, method, arguments) of the first pages timed."""
    return [
        ("requests:requester", "requests", {"requester": "user-7"}),
        ("requests:group+state", "requests", {"group": "group-3", "state": "in_fulfillment"}),
        ("requests:agent", "requests", {"agent": "agent-4"}),
        ("requests:item", "requests", {"item": "item-5"}),
        ("requests:state", "requests", {"state": "waiting"}),
        ("requests:all", "requests", {}),
        (
            "requests:month",
            "requests",
            {"opened_from": START + timedelta(days=200), "opened_to": START + timedelta(days=230)},
        ),
        ("queue:group", "queue", {"group": "service-desk"}),
    ]


def _check_page(name: str, page: Any, arguments: dict[str, Any], method: str) -> None:
    items = list(page)
    if method == "queue":
        keys = [(r.created_at, r.id) for r in items]
        if name == "queue:group" and len(items) != 50:
            raise AssertionError(f"{name}: {len(items)} requests, not the 50 real ones")
        if any(r.group != arguments["group"] for r in items):
            raise AssertionError(f"{name}: a request of another group")
    else:
        keys = [(s.created_at, s.request_id) for s in items]
        columns = {"requester": "requester", "group": "group", "agent": "agent", "item": "item"}
        for s in items:
            for key, attribute in columns.items():
                if key in arguments and getattr(s, attribute) != arguments[key]:
                    raise AssertionError(f"{name}: {s.request_id} does not match {key}")
            if "state" in arguments and s.state != arguments["state"]:
                raise AssertionError(f"{name}: {s.request_id} is {s.state}")
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        raise AssertionError(f"{name}: not in (created_at, request_id) order")
    if not items:
        raise AssertionError(f"{name}: an empty page")


def _timed(call: Callable[[], Any], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


_ALL_TIME = {"since": datetime(1970, 1, 2, tzinfo=UTC), "until": datetime(2999, 1, 1, tzinfo=UTC)}
CHANGED = 100


def _change_sqlite(path: Path, size: int) -> Callable[[int], None]:
    """Change ``CHANGED`` bulk facts rows as appends would (round ``n``: other rows)."""

    def change(n: int) -> None:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.executemany(_CHANGE, _change_params(n, size))
        finally:
            db.close()

    return change


def _change_pg(dsn: str, schema: str, size: int) -> Callable[[int], None]:
    def change(n: int) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(dsn) as db, db.cursor() as cur:
            cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            cur.executemany(_CHANGE.replace("?", "%s"), _change_params(n, size))
            db.commit()

    return change


# what an append's facts upsert does to a row (stores._query_sql.UPSERT_FACTS)
_CHANGE = (
    "UPDATE rf_request_facts SET agent = ?, fulfil_ch = coalesce(fulfil_ch, 0) + 1,"
    " rolled = 0, seq = seq + 1 WHERE request_id = ?"
)


def _change_params(n: int, size: int) -> list[tuple[str, str]]:
    rng = random.Random(n)
    return [(f"agent-{rng.randrange(200)}", f"B-{rng.randrange(size):08d}") for _ in range(CHANGED)]


def _measure(
    impl: str,
    url: str,
    size: int,
    load_s: float,
    rounds: int,
    change: Callable[[int], None],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    store = open_store(url)
    try:
        if not isinstance(store, SQLiteStore | PostgresStore):
            raise AssertionError(f"{url}: not a SQL store")
        start = time.perf_counter()
        store.roll_up_facts()  # the bulk build of the rollup (db upgrade does the same)
        rollup_s = round(time.perf_counter() - start, 1)
        service = FulfillmentService(demo_catalog(), store=store, load_entrypoints=False)
        for name, method, arguments in _pages(size):
            _check_page(name, getattr(service, method)(**arguments), arguments, method)
            values = []
            for _ in range(rounds):
                # a service of its own per page, on the open store: no request cached
                fresh = FulfillmentService(demo_catalog(), store=store, load_entrypoints=False)
                start = time.perf_counter()
                getattr(fresh, method)(**arguments)
                values.append(time.perf_counter() - start)
            median = statistics.median(values)
            rows.append(
                row(
                    name,
                    size,
                    impl,
                    values,
                    median / PAGE_TARGET_S,
                    load_s=load_s,
                    rollup_s=rollup_s,
                )
            )
        windows: list[tuple[str, dict[str, Any]]] = [
            ("", {}),
            (
                ":month",
                {"since": START + timedelta(days=200), "until": START + timedelta(days=230)},
            ),
        ]
        for by in ("item", "group", "agent"):
            for label, window in windows:
                got = service.metrics(by=by, **window)
                if not window and sum(r.count for r in got) != size + REAL:
                    raise AssertionError(f"metrics by {by}: counted {sum(r.count for r in got)}")
                if by == "item" and not window:
                    sourced = {r.key for r in got if r.from_stock_pct is not None}
                    if sourced != {f"item-{n}" for n in range(10)}:  # the devices
                        raise AssertionError(f"metrics by item: sources of {sorted(sourced)}")
                if not window and got != service.metrics(by=by, **_ALL_TIME):
                    raise AssertionError(f"metrics by {by}: the rollup is not the scan")
                call = lambda by=by, window=window: service.metrics(by=by, **window)  # noqa: E731
                values = _timed(call, max(3, rounds // 2))
                rows.append(
                    _metrics_row(f"metrics:{by}{label}", size, impl, values, (load_s, rollup_s))
                )
            # the all-time figures from a scan (the path before the rollup), same run
            scan = lambda by=by: service.metrics(by=by, **_ALL_TIME)  # noqa: E731
            values = _timed(scan, 3)
            rows.append(_metrics_row(f"metrics:{by}:scan", size, impl, values, (load_s, rollup_s)))
            # a call that first catches up CHANGED facts rows changed as appends would
            values = []
            for n in range(max(3, rounds // 2)):
                change(n)
                values += _timed(lambda by=by: service.metrics(by=by), 1)  # type: ignore[misc]
            rows.append(
                _metrics_row(
                    f"metrics:{by}:changed-{CHANGED}", size, impl, values, (load_s, rollup_s)
                )
            )
            if service.metrics(by=by) != service.metrics(by=by, **_ALL_TIME):
                raise AssertionError(f"metrics by {by}: the rollup caught up is not the scan")
    finally:
        store.close()
    return rows


def _metrics_row(
    name: str, size: int, impl: str, values: list[float], times: tuple[float, float]
) -> dict[str, Any]:
    median = statistics.median(values)
    load_s, rollup_s = times
    return row(
        name, size, impl, values, median / METRICS_TARGET_S, load_s=load_s, rollup_s=rollup_s
    )


def run(quick: bool = False, *, size: int | None = None) -> list[dict[str, Any]]:
    """First pages and metrics on SQLite and (when a server answers) PostgreSQL."""
    size = size if size is not None else (2_000 if quick else SIZE)
    rounds = 3 if quick else 9
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, contextlib.ExitStack() as stack:
        start = time.perf_counter()
        path = Path(tmp) / "queries.db"
        url = load_sqlite(path, size)
        load_s = round(time.perf_counter() - start, 1)
        rows += _measure("sqlite", url, size, load_s, rounds, _change_sqlite(path, size))
        dsn = pg_dsn()
        if dsn is not None:
            schema = stack.enter_context(pg_schema(dsn))
            start = time.perf_counter()
            url = load_pg(dsn, schema, size)
            load_s = round(time.perf_counter() - start, 1)
            rows += _measure("postgresql", url, size, load_s, rounds, _change_pg(dsn, schema, size))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
