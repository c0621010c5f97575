"""Crash soak: SIGKILL worker processes at chosen points, restart them, check nothing broke.

Each *run* submits a few phone requests (a supplier order each) to one SQLite
store and starts worker processes side by side. One of them is killed with
SIGKILL at a point drawn at random:

- ``before_call``   in ``place_order``, before the supplier is called (the
  attempt is already recorded);
- ``after_call``    after the supplier accepted the order, before the outcome
  is recorded;
- ``attempt_append`` inside the append that records the attempt;
- ``outcome_insert`` / ``outcome_commit`` inside the append that records the
  outcome (after the INSERT began, or just before COMMIT);
- ``random_time``   at a random moment, wherever the worker is.

Now and then a request is cancelled while its order is in flight, so
compensation runs under kills too. After the last run, workers are started
until the outbox drains. The supplier is a :class:`JournalSupplier`: a SQLite
file every process shares, which deduplicates by idempotency key like a real
API and journals every call.

Checks: every request that was not cancelled has its order task done and its
order delivered; every order of a cancelled request is final; the supplier
holds exactly one order per idempotency key, and only for keys the store
requested; a key is sent again only after the process that sent it was
killed; the outbox is empty.

    python scripts/crash_soak.py --runs 1000
    python scripts/crash_soak.py --runs 200 --workdir /tmp/soak --json

The exit status is 0 when every check holds, 1 otherwise. Needs a POSIX system
(``os.fork``, SIGKILL).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from reqfulfill import Channel, FulfillmentService, RequestState, TaskState, Worker, hookimpl
from reqfulfill.model import events as ev
from reqfulfill.model.enums import OrderStatus
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing._journal import JournalCall, JournalSupplier

SUPPLIER = "acme-mobile"
MANAGER = "max.manager"
LEASE = timedelta(seconds=2)
"""Long enough that a live worker never loses its lease; a killed worker's lapses."""

KILL_POINTS = (
    "before_call",
    "after_call",
    "attempt_append",
    "outcome_insert",
    "outcome_commit",
    "random_time",
)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class CrashingConnector:
    """Wraps the journal supplier; SIGKILLs its own process at the ``kill`` point.

    The count says at which occurrence of the point it dies (1 = the first).
    """

    def __init__(self, inner: JournalSupplier, kill: str | None, nth: int) -> None:
        self.supplier_id = inner.supplier_id
        self.inner = inner
        self.kill = kill
        self.nth = nth
        self.seen: Counter[str] = Counter()
        self.outcome_pending = False

    def _at(self, point: str) -> None:
        if self.kill == point:
            self.seen[point] += 1
            if self.seen[point] == self.nth:
                _die()

    @hookimpl
    def reqfulfill_supplier_connectors(self) -> list[CrashingConnector]:
        return [self]

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        self._at("before_call")
        receipt = self.inner.place_order(order, idempotency_key)
        self._at("after_call")
        self.outcome_pending = True  # the next append records this outcome
        return receipt

    def order_status(self, ref: str) -> OrderStatus:
        return self.inner.order_status(ref)

    def cancel_order(self, ref: str, idempotency_key: str) -> OrderStatus:
        return self.inner.cancel_order(ref, idempotency_key)

    def on_sql(self, statement: str) -> None:
        """SQLite trace callback of the worker's store connection: kills inside appends."""
        if statement.startswith("INSERT INTO rf_events"):
            if "EffectAttempted" in statement:
                self._at("attempt_append")
            elif self.outcome_pending:
                self._at("outcome_insert")
        elif statement == "COMMIT" and self.outcome_pending:
            self.outcome_pending = False
            self._at("outcome_commit")


def make_service(workdir: Path, plugins: Sequence[object] = ()) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        store=f"sqlite:///{workdir / 'rf.db'}",
        plugins=list(plugins),
        poll_interval=timedelta(0),
        load_entrypoints=False,
    )


def worker_main(workdir: Path, kill: str | None, nth: int, name: str) -> None:
    """A worker process: run until nothing is due, or die at the kill point."""
    connector = CrashingConnector(JournalSupplier(SUPPLIER, workdir / "supplier.db"), kill, nth)
    service = make_service(workdir, [connector])
    if kill is not None and kill.endswith(("_append", "_insert", "_commit")):
        # the test reaches into the SQLite store's connection: src has no kill switch
        service.store._db.set_trace_callback(connector.on_sql)  # type: ignore[attr-defined]
    worker = Worker(
        service,
        name=name,
        lease=LEASE,
        max_attempts=1000,
        backoff=timedelta(milliseconds=5),
        max_backoff=timedelta(milliseconds=50),
    )
    while worker.run_pending():
        pass


def spawn(workdir: Path, kill: str | None, nth: int, name: str) -> int:
    """Fork a worker process; its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            logging.disable(logging.WARNING)  # retries are expected; errors still show
            worker_main(workdir, kill, nth, name)
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    return pid


def reap(pids: dict[int, str], timeout: float, kill_after: dict[int, float]) -> dict[int, int]:
    """Wait for the processes; SIGKILL those due in ``kill_after``. pid -> wait status."""
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + timeout
    while len(statuses) < len(pids):
        now = time.monotonic()
        for pid, at in list(kill_after.items()):
            if now >= at and pid not in statuses:
                os.kill(pid, signal.SIGKILL)
                del kill_after[pid]
        for pid in pids:
            if pid in statuses:
                continue
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                statuses[pid] = status
        if now > deadline:
            for pid in pids:
                if pid not in statuses:
                    os.kill(pid, signal.SIGKILL)
            raise SystemExit(f"worker processes hung for {timeout} s")
        time.sleep(0.002)
    return statuses


def check(workdir: Path, killed_pids: set[int], cancelled: set[str]) -> dict[str, Any]:
    """Verify the store and the supplier's journal; the figures and every problem found."""
    service = make_service(workdir)
    supplier = JournalSupplier(SUPPLIER, workdir / "supplier.db")
    problems: list[str] = []
    requested: dict[str, str] = {}  # order effect id -> request id
    placed_refs: dict[str, str] = {}  # supplier ref recorded -> request id
    statuses = supplier.order_statuses()
    requests = service.store.query()
    for row in requests:
        request = service.get(row.request_id)
        history = service.history(row.request_id)
        for event in history:
            if isinstance(event, ev.SupplierOrderRequested):
                requested[event.event_id] = request.id
            if isinstance(event, ev.SupplierOrderPlaced):
                placed_refs[event.ref] = request.id
        order = request.task("order")
        if request.id in cancelled:
            if request.state is not RequestState.CANCELLED:
                problems.append(f"{request.id}: cancelled but {request.state.value}")
            continue
        if order.state is not TaskState.DONE:
            problems.append(f"{request.id}: order task {order.state.value} ({order.reason})")
        elif order.order_ref is None or statuses.get(order.order_ref) is not OrderStatus.DELIVERED:
            problems.append(f"{request.id}: order {order.order_ref} not delivered")
    per_key = supplier.orders_per_key()
    for key, count in per_key.items():
        if count != 1:
            problems.append(f"key {key}: {count} orders placed")
        if key not in requested:
            problems.append(f"key {key}: an order nobody requested")
    for ref, status in statuses.items():
        if ref not in placed_refs:
            problems.append(f"order {ref}: placed but never recorded (lost)")
        if not status.final:
            problems.append(f"order {ref}: left {status.value} (orphaned)")
    last_caller: dict[str, JournalCall] = {}
    for call in supplier.calls("place"):
        assert call.idempotency_key is not None
        before = last_caller.get(call.idempotency_key)
        if before is not None:
            if before.pid not in killed_pids:
                problems.append(
                    f"key {call.idempotency_key}: sent again by {call.pid} though {before.pid}"
                    " was alive"
                )
            if call.started < before.ended:
                problems.append(f"key {call.idempotency_key}: two calls at once")
        last_caller[call.idempotency_key] = call
    left = service.store.outbox()  # type: ignore[attr-defined]
    if left:
        problems.append(f"{len(left)} effects left in the outbox: {left[:3]}")
    figures = {
        "requests": len(requests),
        "cancelled": len(cancelled),
        "orders": len(statuses),
        "orders_per_key_max": max(per_key.values(), default=0),
        "duplicate_placements": sum(c - 1 for c in per_key.values() if c > 1),
        "duplicate_calls": supplier.duplicate_calls(),
        "place_calls": len(supplier.calls("place")),
        "cancel_calls": len(supplier.calls("cancel")),
        "outbox_left": len(left),
    }
    supplier.close()
    service.store.close()
    return {"figures": figures, "problems": problems}


def drained(service: FulfillmentService, cancelled: set[str]) -> bool:
    if service.store.outbox():  # type: ignore[attr-defined]
        return False
    for row in service.store.query():
        request = service.get(row.request_id)
        if row.request_id not in cancelled and request.task("order").state is not TaskState.DONE:
            return False
    return True


def soak(
    workdir: Path,
    *,
    runs: int,
    requests_per_run: int = 2,
    workers: int = 2,
    cancel_rate: float = 0.15,
    seed: int = 0,
    drain_timeout: float = 60.0,
) -> dict[str, Any]:
    """Play ``runs`` killed runs, drain, check; the report."""
    rng = random.Random(seed)
    started = time.monotonic()
    service = make_service(workdir)
    JournalSupplier(SUPPLIER, workdir / "supplier.db").close()  # create it before the forks
    erin = demo_requester()
    kills: Counter[str] = Counter()
    killed_pids: set[int] = set()
    cancelled: set[str] = set()
    open_ids: list[str] = []
    exits: Counter[str] = Counter()
    for run in range(runs):
        for _ in range(requests_per_run):
            rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
            service.approve(rid, MANAGER)
            open_ids.append(rid)
        point = rng.choice(KILL_POINTS)
        # mostly the first occurrence, so most runs do kill; sometimes a later one
        nth = 1 if rng.random() < 0.7 else rng.randint(2, max(2, requests_per_run))
        pids: dict[int, str] = {}
        kill_after: dict[int, float] = {}
        for k in range(workers):
            victim = k == 0
            kill = point if victim and point != "random_time" else None
            if not victim:
                time.sleep(rng.uniform(0.0, 0.01))  # the victim usually claims first
            pid = spawn(workdir, kill, nth, f"soak-{run}-{k}")
            pids[pid] = point if victim else "none"
            if victim and point == "random_time":
                kill_after[pid] = time.monotonic() + rng.uniform(0.0, 0.08)
        if open_ids and rng.random() < cancel_rate:
            # cancel a request whose order may be in flight right now
            victim_id = open_ids.pop(rng.randrange(len(open_ids)))
            if service.get(victim_id).state is RequestState.IN_FULFILLMENT:
                service.cancel(victim_id, erin.id, "no longer needed")
                cancelled.add(victim_id)
        statuses = reap(pids, timeout=60.0, kill_after=kill_after)
        for pid, status in statuses.items():
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                kills[pids[pid]] += 1
                killed_pids.add(pid)
                exits["killed"] += 1
            elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                exits["clean"] += 1
            else:
                exits[f"failed({status})"] += 1
        if len(open_ids) > 4 * requests_per_run:
            open_ids = open_ids[-4 * requests_per_run :]
    restarts = 0
    deadline = time.monotonic() + drain_timeout
    while not drained(service, cancelled):
        if time.monotonic() > deadline:
            break
        pid = spawn(workdir, None, 0, f"drain-{restarts}")
        status = reap({pid: "none"}, timeout=60.0, kill_after={})[pid]
        exits["clean" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else "failed"] += 1
        restarts += 1
        time.sleep(0.05)
    service.store.close()
    report = check(workdir, killed_pids, cancelled)
    report["figures"].update(
        runs=runs,
        kills=sum(kills.values()),
        kills_by_point=dict(sorted(kills.items())),
        drain_restarts=restarts,
        worker_exits=dict(exits),
        seconds=round(time.monotonic() - started, 1),
    )
    if any(name.startswith("failed") for name in exits):
        report["problems"].append(f"worker processes failed: {dict(exits)}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests-per-run", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="worker processes per run")
    parser.add_argument("--cancel-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    if args.workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="reqfulfill-soak-"))
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    report = soak(
        workdir,
        runs=args.runs,
        requests_per_run=args.requests_per_run,
        workers=args.workers,
        cancel_rate=args.cancel_rate,
        seed=seed,
    )
    report["figures"]["seed"] = seed
    report["figures"]["workdir"] = str(workdir)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, value in report["figures"].items():
            print(f"{name:>20}: {value}")
        for problem in report["problems"]:
            print(f"PROBLEM: {problem}")
        print("OK" if not report["problems"] else f"{len(report['problems'])} problems")
    return 0 if not report["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
