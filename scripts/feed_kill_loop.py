"""Kill loop for durable subscriptions: writers append, two processes compete for one
subscription, and the one holding its lease is killed with SIGKILL again and again.

Writer processes (``--writers``, 8 by default) append events to requests of their
own while two subscription processes run the same subscription in the exactly-once
form: the handler inserts a row per event into a projection table through ``tx``,
in the transaction that stores the checkpoint. Every ``--min-gap``..``--max-gap``
seconds one subscription process is killed with SIGKILL (the lease holder three
times in four, else either) and a new one started in its place. Leases are short
(``--lease``), so the survivor takes over quickly. Once the writers are done and the
kills made, the subscription is left to catch up and stopped with SIGTERM.

Checks: each stored event is in the projection exactly once (0 skipped, 0
duplicated), the projection's rows were written in position order, the checkpoint
is the last position.

    python scripts/feed_kill_loop.py postgresql://postgres@127.0.0.1/test --kills 50
    python scripts/feed_kill_loop.py sqlite:////tmp/kill.db --kills 20 --writers 4 --json

``postgresql://`` URLs get a fresh schema of their own (dropped at the end unless
``--keep``). The exit status is 0 when every check holds, 1 otherwise. Needs a
POSIX system (``os.fork``, SIGKILL).
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from multiprocessing.process import BaseProcess
from typing import Any

from reqfulfill.plugins import open_store
from reqfulfill.stores.sqlite import path_from_url
from reqfulfill.subscriptions import Subscription
from reqfulfill.testing.samples import waiting_stream

NAME = "kill_loop"
_CREATE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS kill_seen (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " position INTEGER NOT NULL, request_id TEXT NOT NULL, owner TEXT NOT NULL)",
    "postgresql": "CREATE TABLE IF NOT EXISTS kill_seen (id bigserial PRIMARY KEY,"
    " position bigint NOT NULL, request_id text NOT NULL, owner text NOT NULL)",
}
_INSERT = {
    "sqlite": "INSERT INTO kill_seen (position, request_id, owner) VALUES (?, ?, ?)",
    "postgresql": "INSERT INTO kill_seen (position, request_id, owner) VALUES (%s, %s, %s)",
}


def _kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite:") else "postgresql"


class _Db:
    """A plain connection to the store's database, for the projection and the checks."""

    def __init__(self, url: str) -> None:
        self.kind = _kind(url)
        if self.kind == "sqlite":
            self.db: Any = sqlite3.connect(path_from_url(url), isolation_level=None, timeout=30)
        else:
            import psycopg
            from psycopg import sql

            from reqfulfill.stores.postgres import split_url

            dsn, schema = split_url(url)
            self.db = psycopg.connect(dsn, autocommit=True)
            if schema is not None:
                self.db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of ``statement`` (``?`` placeholders, for either database)."""
        if self.kind == "postgresql":
            statement = statement.replace("?", "%s")
        return list(self.db.execute(statement, params).fetchall())

    def close(self) -> None:
        self.db.close()


def _writer(url: str, index: int, appends: int, pace: float) -> None:
    store = open_store(url)
    versions: dict[str, int] = {}
    for i in range(appends):
        time.sleep(pace * random.uniform(0.5, 1.5))
        request_id = f"W{index}-{i % 7}"
        version = versions.get(request_id, 0)
        count = 1 + i % 3
        store.append(request_id, waiting_stream(request_id, count, start=version + 1), version)
        versions[request_id] = version + count
    store.close()


def _subscriber(url: str, lease: float, batch: int) -> None:
    store = open_store(url)
    insert = _INSERT[_kind(url)]

    def project(event: Any, tx: Any) -> None:
        tx.execute(insert, (event.position, event.request_id, subscription.owner))

    subscription = Subscription(
        store,
        NAME,
        project,
        batch=batch,
        lease=timedelta(seconds=lease),
        interval=min(0.05, lease / 4),
    )
    subscription.run_forever()  # until SIGTERM
    store.close()


def _holder_pid(db: _Db) -> int | None:
    rows = db.rows("SELECT lease_owner FROM rf_subscriptions WHERE name = ?", (NAME,))
    if not rows or rows[0][0] is None:
        return None
    return int(str(rows[0][0]).split(":")[1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One kill loop; the figures and the problems found."""
    url = args.url
    store = open_store(url)  # creates or migrates the schema
    store.close()
    db = _Db(url)
    db.db.execute(_CREATE[db.kind])
    context = multiprocessing.get_context("fork")
    rng = random.Random(args.seed)
    # the writers spread their appends over the kill loop, so kills land mid-work
    pace = args.kills * (args.min_gap + args.max_gap) / 2 / max(args.appends, 1)

    def start_subscriber() -> BaseProcess:
        process = context.Process(target=_subscriber, args=(url, args.lease, args.batch))
        process.start()
        return process

    subscribers = [start_subscriber(), start_subscriber()]
    writers = [
        context.Process(target=_writer, args=(url, index, args.appends, pace))
        for index in range(args.writers)
    ]
    for process in writers:
        process.start()
    kills = holder_kills = 0
    started = time.monotonic()
    try:
        while kills < args.kills:
            time.sleep(rng.uniform(args.min_gap, args.max_gap))
            holder = _holder_pid(db)
            pids = [p.pid for p in subscribers]
            if holder in pids and rng.random() < 0.75:
                index = pids.index(holder)
                holder_kills += 1
            else:
                index = rng.randrange(len(subscribers))
            victim = subscribers[index]
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            victim.join()
            subscribers[index] = start_subscriber()
            kills += 1
        for process in writers:
            process.join(timeout=args.timeout)
        failed_writers = [p.exitcode for p in writers if p.exitcode != 0]
        (last,) = db.rows("SELECT coalesce(max(position), 0) FROM rf_events")[0]
        deadline = time.monotonic() + args.timeout
        checkpoint = None
        while time.monotonic() < deadline:
            rows = db.rows("SELECT position FROM rf_subscriptions WHERE name = ?", (NAME,))
            checkpoint = rows[0][0] if rows else None
            if checkpoint == last:
                break
            time.sleep(0.05)
    finally:
        for process in subscribers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in subscribers:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        for process in writers:
            if process.is_alive():
                process.kill()
    elapsed = time.monotonic() - started
    stored = [p for (p,) in db.rows("SELECT position FROM rf_events ORDER BY position")]
    seen = db.rows("SELECT position, owner FROM kill_seen ORDER BY id")
    db.close()
    positions = [p for p, _ in seen]
    duplicated = len(positions) - len(set(positions))
    skipped = len(set(stored) - set(positions))
    out_of_order = sum(1 for a, b in itertools.pairwise(positions) if b <= a)
    problems = []
    if failed_writers:
        problems.append(f"writers failed: {failed_writers}")
    if duplicated or skipped or out_of_order:
        problems.append(f"{skipped} skipped, {duplicated} duplicated, {out_of_order} out of order")
    if checkpoint != last:
        problems.append(f"checkpoint {checkpoint} is not the last position {last}")
    if len(stored) != args.writers * sum(1 + i % 3 for i in range(args.appends)):
        problems.append(f"{len(stored)} events stored, not what the writers wrote")
    return {
        "store": _kind(url),
        "kills": kills,
        "holder_kills": holder_kills,
        "writers": args.writers,
        "events": len(stored),
        "skipped": skipped,
        "duplicated": duplicated,
        "out_of_order": out_of_order,
        "owners": len({owner for _, owner in seen}),
        "seconds": round(elapsed, 2),
        "problems": problems,
    }


def _fresh_schema(url: str) -> tuple[str, str | None]:
    """A ``postgresql://`` URL with a new schema of its own (and the schema's name)."""
    if _kind(url) != "postgresql":
        return url, None
    schema = f"rf_kill_{uuid.uuid4().hex[:10]}"
    return f"{url}{'&' if '?' in url else '?'}schema={schema}", schema


def _drop(url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url.partition("?")[0], autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the loop, print the figures; 0 when every check holds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="sqlite:///… or postgresql://… (a fresh schema is made)")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument(
        "--appends", type=int, default=150, help="appends per writer, spread over the kills"
    )
    parser.add_argument("--lease", type=float, default=0.2, help="lease, seconds")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--min-gap", type=float, default=0.05)
    parser.add_argument("--max-gap", type=float, default=0.4)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    base = args.url
    args.url, schema = _fresh_schema(base)
    try:
        report = run(args)
    finally:
        if schema is not None and not args.keep:
            _drop(base, schema)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
