"""Transactions per request: commits counted, not estimated, on SQLite and PostgreSQL.

The two flows of ``lifecycle``, one request at a time: the password reset
(submit, complete the task, close, the worker sends both notifications) and
the phone order (submit, the worker asks the manager, approve, claim, the
worker places the supplier order, a day later polls it, prepare, ship,
confirm, the worker closes and notifies). On a disk that really syncs each
commit, the number of commits sets the throughput, not the CPU.

* **SQLite** -- every statement the store's connection runs is traced
  (``sqlite3.Connection.set_trace_callback``; the connection is reached through
  the ``sqlite3.connect/handle`` audit event, see ``durability``). ``commits``:
  COMMITs of transactions that changed a row plus write statements run on
  their own (each is a transaction); ``empty``: COMMITs of transactions that
  changed nothing (SQLite writes nothing for them); ``transactions`` the two
  together.
* **PostgreSQL** -- the store runs in a database of its own, with nothing else
  connected to it. ``transactions``: the delta of ``pg_stat_database.xact_commit``
  for that database (every transaction, one-statement reads in autocommit
  included). ``commits``: the commit records in the WAL (read with
  ``pg_walinspect``, PostgreSQL >= 15's contrib module, installed into the
  benchmark's database) of transactions that changed a block of that database:
  only a transaction that writes gets a commit record and waits for the WAL
  flush, and other databases' traffic on the server does not count. Without
  ``pg_walinspect``, the delta of the server's next transaction id stands in
  (``mode`` says which; exact only while nothing else writes on the server, so
  the lowest of the repeats is taken and ``exact`` says whether they agreed).
  The statistics of a session reach the view when it ends, so each reading
  closes the store first; the cost of opening and closing the store is
  measured alone and subtracted.

``size`` is the flow, ``commits`` etc. are per request, ``ratio`` is 12 /
commits for the phone order (>= 1 meets the target of at most 12) and 1 for
the password reset; ``median_s`` is the time per request while counting.

Run: ``python -m benchmarks transactions [--quick]``; ``python -m benchmarks.transactions
--list`` lists every transaction of one phone order on SQLite
(:mod:`benchmarks.transaction_list`).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.durability import (
    SQLiteConnections,
    pg_counts,
    pg_database,
    pg_wal_commits,
    pg_walinspect,
)
from benchmarks.lifecycle import (
    START,
    bench_catalog,
    check_reset,
    pg_dsn,
    play_phones,
    play_reset,
    row,
)
from reqfulfill import FulfillmentService
from reqfulfill.clock import FixedClock
from reqfulfill.model.enums import RequestState
from reqfulfill.testing import FakeSupplier
from reqfulfill.worker import Worker

PHONE_TARGET = 12
"""At most this many commits per phone order (the issue's target)."""

Flow = Callable[[str], Callable[[], str]]
"""Given a store URL, a function that plays one request (returns its id)."""


class Services:
    """Services on one store URL that share a supplier and a clock, so a service opened
    again on the same database continues where the last one stopped."""

    def __init__(self) -> None:
        self.clock = FixedClock(START)
        self.supplier = FakeSupplier("acme-mobile", auto_deliver=True)
        self.open: list[FulfillmentService] = []

    def service(self, url: str) -> tuple[FulfillmentService, Worker]:
        service = FulfillmentService(
            bench_catalog(),
            store=url,
            plugins=[self.supplier],
            clock=self.clock,
            load_entrypoints=False,
        )
        self.open.append(service)
        return service, Worker(service, seed=1)

    def reset(self, url: str) -> Callable[[], str]:
        service, worker = self.service(url)
        return lambda: play_reset(service, worker)

    def phone(self, url: str) -> Callable[[], str]:
        service, worker = self.service(url)
        return lambda: play_phones(service, self.clock, worker, 1)[0]

    def close(self) -> None:
        for service in self.open:
            service.store.close()
        self.open.clear()


def _check_closed(services: Services, rid: str) -> None:
    state = services.open[-1].get(rid)
    if state.state is not RequestState.CLOSED or state.pending_notifications:
        raise AssertionError(f"{rid} ended {state.state}, {state.pending_notifications}")


def count_sqlite(flow: str, n: int) -> dict[str, Any]:
    """Commits per request of ``flow`` (``"password-reset"`` / ``"phone-order"``) on SQLite."""
    with (
        tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp,
        SQLiteConnections(count=True) as conns,
    ):
        services = Services()
        url = "sqlite:///" + str(Path(tmp) / "count.db")
        play = services.reset(url) if flow == "password-reset" else services.phone(url)
        conns.apply()
        if flow == "password-reset":
            check_reset(services.open[0], Worker(services.open[0], seed=1))
        _check_closed(services, play())  # warm: caches filled, first-use work done
        conns.count.reset()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            _check_closed(services, play())
            times.append(time.perf_counter() - start)
        count = conns.count
        services.close()
    per = count.commits / n
    return row(
        "commits",
        flow,
        "reqfulfill-sqlite",
        times,
        _ratio(flow, per),
        mode="COMMITs traced",
        commits=round(per, 2),
        empty=round(count.empty / n, 2),
        transactions=round((count.commits + count.empty) / n, 2),
        exact=True,
    )


def count_postgres(dsn: str, flow: str, n: int, repeats: int) -> dict[str, Any]:
    """Commits and transactions per request of ``flow`` in a database of its own."""
    with pg_database(dsn) as url:
        name = urlsplit(url).path.lstrip("/")
        wal = pg_walinspect(url)
        services = Services()
        make = services.reset if flow == "password-reset" else services.phone
        _check_closed(services, make(url)())  # migrates the schema, warms the server
        services.close()
        windows: list[tuple[tuple[int, int, str], ...]] = []
        times: list[float] = []
        for _ in range(repeats):
            before = pg_counts(dsn, name)
            make(url)
            services.close()
            middle = pg_counts(dsn, name)
            play = make(url)
            start = time.perf_counter()
            for _ in range(n):
                _check_closed(services, play())
            times.append((time.perf_counter() - start) / n)
            services.close()
            windows.append((before, middle, pg_counts(dsn, name)))
        per: dict[str, list[float]] = {"transactions": [], "commits": []}
        for before, middle, after in windows:
            opened, played = _deltas(url, wal, before, middle), _deltas(url, wal, middle, after)
            for key in per:
                per[key].append((played[key] - opened[key]) / n)
    commits = min(per["commits"])
    return row(
        "commits",
        flow,
        "reqfulfill-postgresql",
        times,
        _ratio(flow, commits),
        mode="WAL commit records" if wal else "transaction ids (idle server only)",
        commits=round(commits, 2),
        transactions=round(min(per["transactions"]), 2),
        exact=len(set(per["commits"])) == 1,
    )


def _deltas(
    url: str, wal: bool, first: tuple[int, int, str], then: tuple[int, int, str]
) -> dict[str, int]:
    """Transactions (``xact_commit``) and commits that wrote between two readings: commit
    records of this database's writing transactions with ``pg_walinspect``, else the
    transaction ids the server assigned (anything else writing on the server adds)."""
    commits = pg_wal_commits(url, first[2], then[2]) if wal else then[1] - first[1]
    return {"transactions": then[0] - first[0], "commits": commits}


def _ratio(flow: str, commits: float) -> float:
    return PHONE_TARGET / commits if flow == "phone-order" and commits else 1.0


def run(quick: bool = False, *, requests: int | None = None) -> list[dict[str, Any]]:
    """Commits per request for both flows, SQLite and (when a server answers) PostgreSQL."""
    n = requests or (2 if quick else 10)
    rows = [count_sqlite(flow, n) for flow in ("password-reset", "phone-order")]
    dsn = pg_dsn()
    if dsn is not None:
        for flow in ("password-reset", "phone-order"):
            rows.append(count_postgres(dsn, flow, n, repeats=2 if quick else 3))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    if "--list" in sys.argv:
        from benchmarks.transaction_list import print_phone_order

        print_phone_order()
    else:
        for r in run(quick="--quick" in sys.argv):
            print(r)
