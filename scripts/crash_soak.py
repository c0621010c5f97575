"""Crash soak: SIGKILL worker processes at chosen points, restart them, check nothing broke.

Each *run* submits two requests to one SQLite store -- a phone (a supplier order)
and a CRM access right (an automation), both approved at once -- and starts worker
processes side by side. One of them is killed with SIGKILL at a point drawn at
random:

- ``before_call``   in ``place_order``, before the supplier is called (the
  attempt is already recorded);
- ``after_call``    after the supplier accepted the order, before the outcome
  is recorded;
- ``attempt_append`` inside the append that records the attempt;
- ``outcome_insert`` / ``outcome_commit`` inside the append that records the
  outcome (after the INSERT began, or just before COMMIT);
- ``after_automation`` / ``after_notify`` after the automation ran or the
  notification went out, before the outcome is recorded;
- ``random_time``   at a random moment, wherever the worker is.

Now and then a request is cancelled while its order or automation is in flight,
so the re-check and compensation run under kills too. Before an ``after_notify``
run, an earlier request still in fulfillment is cancelled, so the victim has a
notice to send first (the requester's notices are never held). Soak time runs sixty times
faster than real time on a calendar open two minutes of every four, so the
approver's "approval needed" is held until the calendar opens about half the
time, and the approval (given at once) overtakes it. After the last run, workers
are started until the outbox drains. The supplier is a :class:`JournalSupplier`: a
SQLite file every process shares, which deduplicates by idempotency key like a
real API and journals every call; the automation runner and the notifier journal
their calls, with the version of the request the worker handed them, in another.

Checks: every request that was not cancelled has its order task done and its
order delivered, or its automation done; every order of a cancelled request is
final; the supplier holds exactly one order per idempotency key, and only for keys
the store requested; a key (order, automation, notification) is sent again only
after the process that sent it was killed; no automation or notification ran on a
request that no longer wanted it (``lifecycle.why_unwanted`` of the request the
worker handed over); one that ran while a cancel overtook it is recorded after the
cancel; the outbox is empty.

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
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reqfulfill import Channel, FulfillmentService, RequestState, TaskState, Worker, hookimpl
from reqfulfill.lifecycle import replay, why_unwanted
from reqfulfill.model import events as ev
from reqfulfill.model.enums import OrderStatus, Priority
from reqfulfill.model.request import ServiceRequest, Task
from reqfulfill.model.supplier import Notification, OrderReceipt, SupplierOrder
from reqfulfill.sla import BusinessCalendar, SlaPolicy
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing._journal import JournalSupplier

SUPPLIER = "acme-mobile"
MANAGER = "max.manager"
ITEMS = ("iphone-15", "crm-access")
"""What each run orders: a phone (a supplier order) and an access right (an automation)."""
MAIN_TASK = {"iphone-15": "order", "crm-access": "grant"}

SCALE = 60
"""Soak time runs this many times faster than real time: a real second is a minute."""
SOAK_START = datetime(2026, 3, 2, tzinfo=UTC)
"""Soak time when the soak starts."""
LEASE = timedelta(seconds=2 * SCALE)
"""Two real seconds: a live worker never loses its lease; a killed worker's lapses."""

_WINDOWS = tuple(
    f"{m // 60:02d}:{m % 60:02d}-{(m + 2) // 60:02d}:{(m + 2) % 60:02d}"
    for m in range(0, 24 * 60, 4)
)
SLA = SlaPolicy(
    targets={Priority.PLANNING: timedelta(days=365)},
    calendar=BusinessCalendar(timezone="UTC", hours=dict.fromkeys(
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), _WINDOWS
    )),
    escalation=(),
    hold_notifications=True,
)  # fmt: skip
"""Open two minutes of every four (two real seconds): notifications to the approver
are held about half the time; no SLA level fires during a soak."""

KILL_POINTS = (
    "before_call",
    "after_call",
    "attempt_append",
    "outcome_insert",
    "outcome_commit",
    "after_automation",
    "after_notify",
    "random_time",
)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class SoakClock:
    """Soak time: :data:`SOAK_START` at ``started`` (a ``time.time()`` reading), running
    :data:`SCALE` times faster than real time; the same in every process."""

    def __init__(self, started: float) -> None:
        self.started = started

    def now(self) -> datetime:
        return SOAK_START + timedelta(seconds=(time.time() - self.started) * SCALE)

    def real(self, at: datetime) -> float:
        """The ``time.time()`` reading at soak time ``at``."""
        return self.started + (at - SOAK_START).total_seconds() / SCALE


class EffectJournal:
    """The soak's automation runner and notifier: every call is journalled in a SQLite
    file every process shares, with the version of the request the worker handed over
    (for a notification, the request it was rendered with).

    ``at`` is called after each call with the kill point's name (``after_automation``,
    ``after_notify``).
    """

    def __init__(self, path: Path, at: Callable[[str], None] = lambda point: None) -> None:
        self._db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 30000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS calls (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " op TEXT NOT NULL, key TEXT NOT NULL, request_id TEXT NOT NULL,"
            " version INTEGER NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL)"
        )
        self.at = at
        self._rendered: dict[str, int] = {}

    def _log(self, op: str, key: str, request_id: str, version: int) -> None:
        self._db.execute(
            "INSERT INTO calls (op, key, request_id, version, pid, started)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (op, key, request_id, version, os.getpid(), time.time()),
        )

    @hookimpl
    def reqfulfill_run_automation(
        self, task: Task, request: ServiceRequest, idempotency_key: str
    ) -> Mapping[str, Any]:
        self._log("automation", idempotency_key, request.id, request.version)
        self.at("after_automation")
        return {"granted": task.key}

    @hookimpl
    def reqfulfill_render_notification(
        self, notification: Notification, request: ServiceRequest
    ) -> None:
        self._rendered[notification.key] = request.version  # the default text is sent

    @hookimpl
    def reqfulfill_notify(self, notification: Notification) -> None:
        version = self._rendered.pop(notification.key)
        self._log("notify", notification.key, notification.request_id, version)
        self.at("after_notify")

    def calls(self) -> list[tuple[str, str, str, int, int, float]]:
        """Every call: (op, key, request id, version handed over, pid, start time)."""
        return self._db.execute(
            "SELECT op, key, request_id, version, pid, started FROM calls ORDER BY seq"
        ).fetchall()

    def close(self) -> None:
        self._db.close()


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

    def at(self, point: str) -> None:
        """Die here if ``point`` is the kill point and this is its ``nth`` occurrence."""
        if self.kill == point:
            self.seen[point] += 1
            if self.seen[point] == self.nth:
                _die()

    @hookimpl
    def reqfulfill_supplier_connectors(self) -> list[CrashingConnector]:
        return [self]

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        self.at("before_call")
        receipt = self.inner.place_order(order, idempotency_key)
        self.at("after_call")
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
                self.at("attempt_append")
            elif self.outcome_pending:
                self.at("outcome_insert")
        elif statement == "COMMIT" and self.outcome_pending:
            self.outcome_pending = False
            self.at("outcome_commit")


def make_service(
    workdir: Path, clock: SoakClock, plugins: Sequence[object] = ()
) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        sla=SLA,
        store=f"sqlite:///{workdir / 'rf.db'}",
        plugins=list(plugins),
        clock=clock,
        poll_interval=timedelta(0),
        load_entrypoints=False,
    )


def worker_main(workdir: Path, clock: SoakClock, kill: str | None, nth: int, name: str) -> None:
    """A worker process: run until nothing is due, or die at the kill point."""
    connector = CrashingConnector(JournalSupplier(SUPPLIER, workdir / "supplier.db"), kill, nth)
    journal = EffectJournal(workdir / "effects.db", connector.at)
    service = make_service(workdir, clock, [connector, journal])
    if kill is not None and kill.endswith(("_append", "_insert", "_commit")):
        # the test reaches into the SQLite store's connection: src has no kill switch
        service.store._db.set_trace_callback(connector.on_sql)  # type: ignore[attr-defined]
    worker = Worker(
        service,
        name=name,
        lease=LEASE,
        max_attempts=1000,
        backoff=timedelta(milliseconds=5 * SCALE),
        max_backoff=timedelta(milliseconds=50 * SCALE),
    )
    while worker.run_pending():
        pass


def spawn(workdir: Path, clock: SoakClock, kill: str | None, nth: int, name: str) -> int:
    """Fork a worker process; its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            logging.disable(logging.WARNING)  # retries are expected; errors still show
            worker_main(workdir, clock, kill, nth, name)
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


def check_orders(
    service: FulfillmentService,
    supplier: JournalSupplier,
    killed_pids: set[int],
    cancelled: set[str],
) -> tuple[dict[str, Any], list[str]]:
    """The supplier orders: the figures and the problems found."""
    problems: list[str] = []
    requested: dict[str, str] = {}  # order effect id -> request id
    placed_refs: dict[str, str] = {}  # supplier ref recorded -> request id
    statuses = supplier.order_statuses()
    for row in service.store.query():
        request = service.get(row.request_id)
        for event in service.history(row.request_id):
            if isinstance(event, ev.SupplierOrderRequested):
                requested[event.event_id] = request.id
            if isinstance(event, ev.SupplierOrderPlaced):
                placed_refs[event.ref] = request.id
        if request.id in cancelled:
            if request.state is not RequestState.CANCELLED:
                problems.append(f"{request.id}: cancelled but {request.state.value}")
            continue
        task = request.task(MAIN_TASK[request.item or ""])
        if task.state is not TaskState.DONE:
            problems.append(f"{request.id}: task {task.key} {task.state.value} ({task.reason})")
        elif (
            task.key == "order" and statuses.get(task.order_ref or "") is not OrderStatus.DELIVERED
        ):
            problems.append(f"{request.id}: order {task.order_ref} not delivered")
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
    calls = [(c.idempotency_key or "", c.pid, c.started, c.ended) for c in supplier.calls("place")]
    problems += resent_while_alive("order", calls, killed_pids)
    figures = {
        "orders": len(statuses),
        "orders_per_key_max": max(per_key.values(), default=0),
        "duplicate_placements": sum(c - 1 for c in per_key.values() if c > 1),
        "duplicate_calls": supplier.duplicate_calls(),
        "place_calls": len(supplier.calls("place")),
        "cancel_calls": len(supplier.calls("cancel")),
    }
    return figures, problems


def resent_while_alive(
    what: str, calls: Sequence[tuple[str, int, float, float]], killed_pids: set[int]
) -> list[str]:
    """Problems: a key sent again though the process that sent it last was alive, or
    sent twice at once. ``calls``: (key, pid, start, end) in order."""
    problems: list[str] = []
    last: dict[str, tuple[int, float]] = {}
    for key, pid, started, ended in calls:
        before = last.get(key)
        if before is not None:
            if before[0] not in killed_pids:
                problems.append(f"{what} {key}: sent again by {pid} though {before[0]} was alive")
            if started < before[1]:
                problems.append(f"{what} {key}: two calls at once")
        last[key] = (pid, ended)
    return problems


def outcome_index(history: Sequence[ev.Event], key: str) -> int | None:
    """Where the outcome of effect ``key`` is recorded in ``history``."""
    for index, event in enumerate(history):
        if getattr(event, "effect_id", None) == key and not isinstance(
            event, ev.EffectAttempted | ev.SupplierOrderCancelRequested
        ):
            return index
    return None


def check_effects(
    service: FulfillmentService, journal: EffectJournal, killed_pids: set[int]
) -> tuple[dict[str, Any], list[str]]:
    """The automations and notifications: none ran on a request that no longer wanted
    it; one a cancel overtook in flight is recorded after the cancel; the figures."""
    problems: list[str] = []
    histories = {r.request_id: service.history(r.request_id) for r in service.store.query()}
    calls = journal.calls()
    unwanted = raced = 0
    for op, key, rid, version, pid, _started in calls:
        history = histories[rid]
        effect = next(e for e in history if e.event_id == key)
        why = why_unwanted(replay(history[:version]), effect)
        if why is not None:
            unwanted += 1
            problems.append(f"{op} {key} ran on version {version}, which did not want it: {why}")
        at = outcome_index(history, key)
        if at is None:
            problems.append(f"{op} {key}: no outcome recorded")
            continue
        if why_unwanted(replay(history[:at]), effect) is None:
            continue
        raced += 1  # a cancel (an approval) committed between the worker's read and the call
        outcome = history[at]
        if (
            op == "automation"
            and pid not in killed_pids
            and not (
                isinstance(outcome, ev.EffectAbandoned) and outcome.reason.startswith("ran, but")
            )
        ):
            problems.append(f"automation {key} ran after a cancel, recorded as {outcome.type}")
    for op in ("automation", "notify"):
        mine = [(k, p, t, t) for o, k, _r, _v, p, t in calls if o == op]
        problems += resent_while_alive(op, mine, killed_pids)
    abandoned: Counter[str] = Counter()
    held = held_abandoned = 0
    for history in histories.values():
        holds = {
            e.event_id
            for e in history
            if isinstance(e, ev.NotificationRequested) and e.not_before is not None
        }
        held += len(holds)
        for event in history:
            if isinstance(event, ev.EffectAbandoned):
                abandoned[f"{event.effect_type}: {event.reason}"] += 1
                held_abandoned += event.effect_id in holds
    figures = {
        "automation_calls": sum(1 for c in calls if c[0] == "automation"),
        "notify_calls": sum(1 for c in calls if c[0] == "notify"),
        "held_notifications": held,
        "held_abandoned": held_abandoned,
        "abandoned": dict(sorted(abandoned.items())),
        "unwanted_runs": unwanted,
        "raced_runs": raced,
    }
    return figures, problems


def check(
    workdir: Path, clock: SoakClock, killed_pids: set[int], cancelled: set[str]
) -> dict[str, Any]:
    """Verify the store and the journals; the figures and every problem found."""
    service = make_service(workdir, clock)
    supplier = JournalSupplier(SUPPLIER, workdir / "supplier.db")
    journal = EffectJournal(workdir / "effects.db")
    try:
        figures, problems = check_orders(service, supplier, killed_pids, cancelled)
        more, found = check_effects(service, journal, killed_pids)
        left = service.store.outbox()  # type: ignore[attr-defined]
        if left:
            found.append(f"{len(left)} effects left in the outbox: {left[:3]}")
        figures = {
            "requests": len(service.store.query()),
            "cancelled": len(cancelled),
            **figures,
            **more,
            "outbox_left": len(left),
        }
    finally:
        journal.close()
        supplier.close()
        service.store.close()
    return {"figures": figures, "problems": problems + found}


def drained(service: FulfillmentService, cancelled: set[str]) -> bool:
    if service.store.outbox():  # type: ignore[attr-defined]
        return False
    for row in service.store.query():
        request = service.get(row.request_id)
        task = request.task(MAIN_TASK[request.item or ""])
        if row.request_id not in cancelled and task.state is not TaskState.DONE:
            return False
    return True


def draw_kill(rng: random.Random, requests_per_run: int) -> tuple[str, int]:
    """The run's kill point and at which occurrence of it the victim dies."""
    point = rng.choice(KILL_POINTS)
    # mostly the first occurrence, so most runs do kill; sometimes a later one
    nth = 1 if rng.random() < 0.85 else rng.randint(2, max(2, requests_per_run))
    return point, nth


def notice_first(service: FulfillmentService, open_ids: list[str], requester: str) -> str | None:
    """Cancel an earlier request still in fulfillment, so a notice (the requester's, never
    held) is due before the run's own effects: the victim, started first, takes it
    first. Its id, or None when no request is in fulfillment.

    Notifications are otherwise few (the approver's notice of a request not approved
    at once, held while the calendar is closed): an ``after_notify`` victim would
    mostly die elsewhere or not at all. The request chosen has no order, reservation or
    automation in the outbox (a held notice at most), so this cancel overtakes none in
    flight: the soak's other cancels do."""
    outbox = service.store.outbox()  # type: ignore[attr-defined]
    busy = {entry.request_id for entry in outbox if entry.kind != "NotificationRequested"}
    for rid in open_ids:
        if rid not in busy and service.get(rid).state is RequestState.IN_FULFILLMENT:
            open_ids.remove(rid)
            service.cancel(rid, requester, "no longer needed")
            return rid
    return None


def play_run(
    workdir: Path,
    clock: SoakClock,
    run: int,
    rng: random.Random,
    kill: tuple[str, int],
    *,
    workers: int,
) -> tuple[dict[int, str], dict[int, float]]:
    """Start the run's worker processes, the first of them doomed at ``kill`` (point,
    occurrence); (pid -> kill point, pid -> when to kill it for ``random_time``)."""
    point, nth = kill
    pids: dict[int, str] = {}
    kill_after: dict[int, float] = {}
    for k in range(workers):
        victim = k == 0
        kill = point if victim and point != "random_time" else None
        if not victim:
            time.sleep(rng.uniform(0.0, 0.01))  # the victim usually claims first
        pid = spawn(workdir, clock, kill, nth, f"soak-{run}-{k}")
        pids[pid] = point if victim else "none"
        if victim and point == "random_time":
            kill_after[pid] = time.monotonic() + rng.uniform(0.0, 0.08)
    return pids, kill_after


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
    clock = SoakClock(time.time())
    service = make_service(workdir, clock)
    JournalSupplier(SUPPLIER, workdir / "supplier.db").close()  # create them before the forks
    EffectJournal(workdir / "effects.db").close()
    erin = demo_requester()
    kills: Counter[str] = Counter()
    killed_pids: set[int] = set()
    cancelled: set[str] = set()
    open_ids: list[str] = []
    exits: Counter[str] = Counter()
    unapproved: list[str] = []
    for run in range(runs):
        kill = draw_kill(rng, requests_per_run)
        if kill[0] == "after_notify":
            first = notice_first(service, open_ids, erin.id)
            if first is not None:
                cancelled.add(first)
        for rid in unapproved:  # approved a run later: the notice went out, or is held
            service.approve(rid, MANAGER)
        unapproved = []
        for n in range(requests_per_run):
            item = ITEMS[n % len(ITEMS)]
            rid = service.submit(erin, item, Channel.PORTAL).id
            if item != "crm-access" or rng.random() < 0.5:
                service.approve(rid, MANAGER)  # overtakes the approver's notice
            else:
                unapproved.append(rid)
            open_ids.append(rid)
        pids, kill_after = play_run(workdir, clock, run, rng, kill, workers=workers)
        if open_ids and rng.random() < cancel_rate:
            # cancel a request whose order or automation may be in flight right now
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
    for rid in unapproved:
        service.approve(rid, MANAGER)
    restarts = 0
    deadline = time.monotonic() + drain_timeout
    while not drained(service, cancelled):
        if time.monotonic() > deadline:
            break
        pid = spawn(workdir, clock, None, 0, f"drain-{restarts}")
        status = reap({pid: "none"}, timeout=60.0, kill_after={})[pid]
        exits["clean" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else "failed"] += 1
        restarts += 1
        time.sleep(0.05)
    service.store.close()
    report = check(workdir, clock, killed_pids, cancelled)
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
