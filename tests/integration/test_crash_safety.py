"""Crash safety of the worker: SIGKILL soak, graceful shutdown, workers side by side,
automations under the same retry and idempotency rules."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reqfulfill import (
    AutomationError,
    Channel,
    FixedClock,
    FulfillmentService,
    RequestState,
    TaskState,
    Worker,
    hookimpl,
)
from reqfulfill.lifecycle import replay, why_unwanted
from reqfulfill.model import events as ev
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester
from reqfulfill.testing._journal import JournalSupplier

ROOT = Path(__file__).resolve().parents[2]
SOAK = ROOT / "scripts" / "crash_soak.py"
MANAGER = "max.manager"

posix_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")


# -- the SIGKILL soak ----------------------------------------------------------------------


def run_soak(workdir: Path, runs: int) -> dict[str, Any]:
    seed = int.from_bytes(os.urandom(4), "big")
    command = [sys.executable, str(SOAK), "--runs", str(runs), "--seed", str(seed)]
    proc = subprocess.run(
        [*command, "--workdir", str(workdir), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.stdout, f"seed {seed}: the soak printed nothing:\n{proc.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(proc.stdout)
    assert report["problems"] == [], f"seed {seed}: {report}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"seed {seed}:\n{proc.stderr[-3000:]}"
    return report


MAIN_TASK = {"iphone-15": "order", "crm-access": "grant"}


def check_independently(workdir: Path) -> tuple[int, int]:
    """Read the store and the journals ourselves; (requests, orders)."""
    service = FulfillmentService(
        demo_catalog(), store=f"sqlite:///{workdir / 'rf.db'}", load_entrypoints=False
    )
    supplier = JournalSupplier("acme-mobile", workdir / "supplier.db")
    try:
        assert service.store.outbox() == []  # type: ignore[attr-defined]  # no effect lost
        order_effects: set[str] = set()
        rows = service.store.query()
        histories = {row.request_id: service.history(row.request_id) for row in rows}
        for rid, history in histories.items():
            request = replay(history)
            order_effects |= {
                e.event_id for e in history if isinstance(e, ev.SupplierOrderRequested)
            }
            if request.state is not RequestState.CANCELLED:
                task = request.task(MAIN_TASK[request.item or ""])
                assert task.state is TaskState.DONE, rid
        per_key = supplier.orders_per_key()
        assert set(per_key.values()) == {1}  # exactly one order per idempotency key
        assert set(per_key) <= order_effects  # and only for keys the store asked for
        assert all(status.final for status in supplier.order_statuses().values())
        # every automation and notification ran on a request that still wanted it
        with closing(sqlite3.connect(workdir / "effects.db")) as journal:
            calls = journal.execute("SELECT key, request_id, version FROM calls").fetchall()
        assert calls
        for key, rid, version in calls:
            history = histories[rid]
            effect = next(e for e in history if e.event_id == key)
            assert why_unwanted(replay(history[:version]), effect) is None, (key, version)
        return len(rows), len(per_key)
    finally:
        supplier.close()
        service.store.close()


@posix_only
def test_sigkilled_workers_never_order_twice_nor_lose_an_order(tmp_path: Path) -> None:
    report = run_soak(tmp_path, runs=200)
    figures = report["figures"]
    assert figures["runs"] == 200
    assert figures["kills"] >= 100  # most runs really killed a worker
    assert len(figures["kills_by_point"]) == 8  # every kill point was hit
    assert figures["duplicate_placements"] == 0
    assert figures["orders_per_key_max"] == 1
    assert figures["duplicate_calls"] > 0  # kills after the call did resend the key
    # nothing ran that its request no longer wanted, and cancels and approvals did
    # overtake automations and (held) notices, which were abandoned instead
    assert figures["unwanted_runs"] == 0
    assert figures["automation_calls"] > 0
    assert figures["notify_calls"] > 0
    assert figures["held_abandoned"] > 0
    abandoned = figures["abandoned"]
    # which in-flight effect a cancel overtakes is timing (about 30 cancels a soak): an
    # automation usually, sometimes only an order or a reservation
    overtaken = [
        f"{kind}: no longer wanted: request cancelled"
        for kind in ("AutomationRequested", "SupplierOrderRequested", "StockReservationRequested")
    ]
    assert sum(abandoned.get(k, 0) for k in overtaken) > 0, abandoned
    assert abandoned["NotificationRequested: no longer wanted: request approved"] > 0
    requests, orders = check_independently(tmp_path)
    assert requests == 400
    assert orders == figures["orders"]


@posix_only
@pytest.mark.slow
def test_sigkill_soak_long(tmp_path: Path) -> None:
    if "REQFULFILL_SLOW_RUNS" not in os.environ:
        pytest.skip("set REQFULFILL_SLOW_RUNS (make test-slow) for the long soak")
    runs = int(os.environ["REQFULFILL_SLOW_RUNS"])
    report = run_soak(tmp_path, runs=runs)
    assert report["figures"]["duplicate_placements"] == 0
    check_independently(tmp_path)


# -- graceful shutdown -------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from reqfulfill import FulfillmentService, Worker
    from reqfulfill.testing import FakeSupplier, demo_catalog

    work = Path(sys.argv[1])

    class Slow(FakeSupplier):
        def place_order(self, order, idempotency_key):
            (work / "calling").write_text(idempotency_key)
            time.sleep(1.0)
            receipt = super().place_order(order, idempotency_key)
            with open(work / "placed", "a") as out:
                out.write(idempotency_key + "\\n")
            return receipt

    service = FulfillmentService(
        demo_catalog(), store=f"sqlite:///{work}/rf.db", plugins=[Slow("acme-mobile")],
        load_entrypoints=False,
    )
    Worker(service, allow_missing=True).run_forever(interval=0.05)
    print("stopped", flush=True)
    """
)


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_forever_stops_on_signal_after_the_effect_in_hand(
    tmp_path: Path, sig: signal.Signals
) -> None:
    service = FulfillmentService(
        demo_catalog(), store=f"sqlite:///{tmp_path}/rf.db", load_entrypoints=False
    )
    erin = demo_requester()
    rids = [service.submit(erin, "iphone-15", Channel.PORTAL).id for _ in range(2)]
    for rid in rids:
        service.approve(rid, MANAGER)
    script = tmp_path / "worker.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "calling").exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the worker never called the supplier"
            time.sleep(0.01)
        child.send_signal(sig)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert out.strip() == "stopped"
    placed = (tmp_path / "placed").read_text().split()
    assert len(placed) == 1  # the order in hand was finished, no other was started
    key = placed[0]
    done = next(r for r in rids if key.startswith(r + "/"))
    other = next(r for r in rids if r != done)
    history = service.history(done)
    assert any(isinstance(e, ev.SupplierOrderPlaced) for e in history)  # outcome recorded
    left = {e.request_id: e for e in service.store.outbox()}  # type: ignore[attr-defined]
    assert done not in left or left[done].kind != "SupplierOrderRequested"
    # the other phone's first effect (the stock room is asked before the supplier) waits
    assert left[other].kind in ("StockReservationRequested", "SupplierOrderRequested")
    assert left[other].worker is None  # not claimed: the next worker takes it at once


def test_stop_from_another_thread_ends_run_forever(clock: FixedClock) -> None:
    service = FulfillmentService(
        demo_catalog(), store="memory://", clock=clock, load_entrypoints=False
    )
    worker = Worker(service, allow_missing=True)
    thread = threading.Thread(target=worker.run_forever, kwargs={"interval": 0.01})
    thread.start()
    time.sleep(0.05)
    worker.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


# -- workers side by side ----------------------------------------------------------------------


class InFlight:
    """A supplier that notices when one idempotency key is being placed twice at once."""

    supplier_id = "acme-mobile"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.calls: Counter[str] = Counter()
        self.overlaps: list[str] = []
        self.workers: set[str] = set()

    @hookimpl
    def reqfulfill_supplier_connectors(self) -> list[InFlight]:
        return [self]

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        with self.lock:
            if idempotency_key in self.running:
                self.overlaps.append(idempotency_key)
            self.running.add(idempotency_key)
            self.calls[idempotency_key] += 1
            self.workers.add(threading.current_thread().name)
        time.sleep(0.003)  # long enough for a second worker to collide, were leases broken
        with self.lock:
            self.running.discard(idempotency_key)
        return OrderReceipt(f"PO-{idempotency_key}")

    def order_status(self, ref: str) -> Any:
        raise NotImplementedError

    def cancel_order(self, ref: str, idempotency_key: str) -> Any:
        raise NotImplementedError


def test_workers_side_by_side_run_each_effect_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/rf.db"
    supplier = InFlight()
    setup = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    erin = demo_requester()
    rids = [setup.submit(erin, "iphone-15", Channel.PORTAL).id for _ in range(30)]
    for rid in rids:
        setup.approve(rid, MANAGER)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(n: int) -> None:
        try:
            # each worker has its own service and store connection, like a process would
            service = FulfillmentService(
                demo_catalog(),
                store=url,
                plugins=[supplier],
                poll_interval=timedelta(hours=1),
                load_entrypoints=False,
            )
            worker = Worker(service, allow_missing=True, name=f"w{n}")
            start.wait()
            while worker._run(None, batch=1, stoppable=False):
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,), name=f"w{n}") for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert supplier.overlaps == []
    assert len(supplier.calls) == 30
    assert set(supplier.calls.values()) == {1}  # no crash, so no key is ever sent twice
    assert len(supplier.workers) > 1  # the work really was shared
    for rid in rids:
        assert setup.get(rid).task("order").order_ref is not None
    assert setup.store.outbox() == []  # type: ignore[attr-defined]


# -- automations: the same retry and idempotency rules -------------------------------------------


class Crash(BaseException):
    """Stands for the process dying: nothing catches it."""


class Grants:
    """An automation runner scripted with what each call does."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.keys: list[str] = []

    @hookimpl
    def reqfulfill_run_automation(self, task, request, idempotency_key):  # type: ignore[no-untyped-def]
        self.keys.append(idempotency_key)
        outcome = self.outcomes.pop(0) if self.outcomes else {"granted": True}
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def crm_request(clock: FixedClock, *plugins: object) -> tuple[FulfillmentService, str]:
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=list(plugins), clock=clock,
        load_entrypoints=False,
    )  # fmt: skip
    rid = service.submit(demo_requester(), "crm-access", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    return service, rid


def automation_key(service: FulfillmentService, rid: str) -> str:
    requested = [e for e in service.history(rid) if isinstance(e, ev.AutomationRequested)]
    assert len(requested) == 1
    return requested[0].event_id


def test_retryable_automation_error_is_retried_with_the_same_key(clock: FixedClock) -> None:
    grants = Grants(AutomationError("directory busy", retryable=True), {"granted": "crm"})
    service, rid = crm_request(clock, grants)
    worker = Worker(service, allow_missing=True, seed=1)
    worker.run_pending()
    assert service.get(rid).task("grant").state is TaskState.IN_PROGRESS
    entry = next(e for e in service.store.outbox() if e.kind == "AutomationRequested")  # type: ignore[attr-defined]
    assert entry.attempts == 1
    assert "directory busy" in (entry.last_error or "")
    worker.run_pending()  # not due yet: backoff
    assert len(grants.keys) == 1
    clock.advance(minutes=2)
    worker.run_pending()
    assert grants.keys == [automation_key(service, rid)] * 2
    assert service.get(rid).task("grant").state is TaskState.DONE
    assert service.get(rid).task("grant").result == {"granted": "crm"}


def test_permanent_automation_error_fails_the_task_at_once(clock: FixedClock) -> None:
    grants = Grants(AutomationError("no such user", retryable=False))
    service, rid = crm_request(clock, grants)
    Worker(service, allow_missing=True).run_pending()
    task = service.get(rid).task("grant")
    assert task.state is TaskState.FAILED
    assert "no such user" in task.reason
    assert len(grants.keys) == 1
    failed = [e for e in service.history(rid) if isinstance(e, ev.TaskFailed)]
    assert failed[-1].effect_id == automation_key(service, rid)
    # an agent restarts it: a new effect, a new key
    service.start_task(rid, "grant", "ida.admin")
    Worker(service, allow_missing=True).run_pending()
    assert service.get(rid).task("grant").state is TaskState.DONE
    assert len(set(grants.keys)) == 2


def test_no_automation_runner_fails_the_task_for_good(clock: FixedClock) -> None:
    class Declines:
        @hookimpl
        def reqfulfill_run_automation(self, task, request, idempotency_key):  # type: ignore[no-untyped-def]
            return None  # not mine

    service, rid = crm_request(clock, Declines())
    Worker(service, allow_missing=True, max_attempts=8).run_pending()
    task = service.get(rid).task("grant")
    assert task.state is TaskState.FAILED
    assert "no automation runner" in task.reason
    assert not any(e.kind == "AutomationRequested" for e in service.store.outbox())  # type: ignore[attr-defined]


def test_automation_rerun_after_a_crash_gets_the_same_key(clock: FixedClock) -> None:
    grants = Grants(Crash(), {"granted": "crm"})
    service, rid = crm_request(clock, grants)
    with pytest.raises(Crash):
        Worker(service, allow_missing=True, lease=timedelta(minutes=5)).run_pending()
    Worker(service, allow_missing=True).run_pending()
    assert len(grants.keys) == 1  # the dead worker's lease still holds
    clock.advance(minutes=6)
    Worker(service, allow_missing=True).run_pending()
    assert grants.keys == [automation_key(service, rid)] * 2
    assert service.get(rid).task("grant").state is TaskState.DONE


def test_fake_supplier_failures_are_retried_until_the_order_is_placed(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile", failure_rate=0.5, seed=4)
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[supplier], clock=clock,
        load_entrypoints=False,
    )  # fmt: skip
    rids = [service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id for _ in range(5)]
    for rid in rids:
        service.approve(rid, MANAGER)
    worker = Worker(service, allow_missing=True, seed=2, max_attempts=50)
    for _ in range(30):
        worker.run_pending()
        clock.advance(hours=1)
    assert supplier.failures > 0
    assert len(supplier.orders) == 5
    for rid in rids:
        assert service.get(rid).task("order").order_ref == supplier.order_for(rid).ref
