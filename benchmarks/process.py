"""Process benchmark: whole requests, reqfulfill against SpiffWorkflow (BPMN + DMN).

SpiffWorkflow (3.x, pure Python, BPMN and DMN) is what a Python team would
otherwise pick to run this process. ``benchmarks/spiff/`` holds the password
reset and the phone order as BPMN (approval user task, three business-rule
tasks over DMN tables -- the first-hit routing table, the prioritization
table, the priority matrix --, the plan's parallel branches joined before
preparing: the agent claims while the supplier order is placed and polled,
delivery confirmation, close) and the DMN tables, generated from the same rule
data the reqfulfill side loads (``process_rules``). See ``spiff_model`` for how
SpiffWorkflow is driven and stored.

Rows, one request at a time from submit to closed (``ops_per_s`` requests/s):

* ``size`` ``memory`` -- reqfulfill on ``memory://`` with its worker (every event
  encoded to its stored JSON text at its append, as the SQL stores write it), and
  on ``memory://?codec=off`` (``reqfulfill-objects``: the event objects kept as
  given, never serialized), against SpiffWorkflow's workflow objects kept in
  memory, never serialized. The SpiffWorkflow row's ``ratio`` is against
  ``memory://``; its ``ratio_objects`` against ``memory://?codec=off``, the row
  where neither side serializes anything;
* ``size`` ``FULL`` / ``NORMAL`` -- SQLite in WAL mode at that
  ``synchronous`` level on both sides (every connection, read back before and
  after timing; see ``durability``): reqfulfill's SQLite store against
  SpiffWorkflow writing its instance after every step, one row per request in
  one transaction (``spiffworkflow``: the instance without its spec, the spec
  stored once -- the least its serializer writes; ``spiffworkflow-json``: the
  whole ``serialize_json`` output). These rows also give ``bytes``: the stored
  values (every column's bytes, empty store subtracted) per closed request,
  and ``file_bytes``: the database file's growth per request (pages, after a
  checkpoint), and ``commits``: the transactions that wrote, per request, counted
  (every statement traced, see ``durability``) on one more request of each side
  played after the check and before timing, the tracing off while timed.

``ratio`` is the row's time per request / reqfulfill's at the same ``size``
(how many times faster reqfulfill is; its own rows 1).

Checked before timing, for each pair: one request of each flow on both sides
ends in the same state (closed), with the same group, category and priority
and the same notifications to the same people in the same order, both placed
one supplier order per phone, and SpiffWorkflow's stored row restores a
finished workflow with the same data.

``dmn`` rows: the DMN tables alone against reqfulfill's rules on the same
rules (routing.py's synthetic tables at 20 / 200 / 1,000 rules): ``routing``
is the assignment table (``RuleSet.decide`` against
``DMNEngine.result``), ``route`` all three tables (``Rules.route`` against
routing + prioritization + matrix); checked to give the same decisions first.

Run: ``python -m benchmarks process [--quick]`` (needs SpiffWorkflow: the
bench extra).
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import routing
from benchmarks.durability import SQLiteConnections
from benchmarks.lifecycle import START, bench_catalog, play_phones, play_reset, row
from benchmarks.process_rules import check_shipped, process_rules
from benchmarks.spiff_model import (
    SpiffProcesses,
    SpiffSQLite,
    dmn_table,
    priority_matrix_dmn,
)
from reqfulfill import FulfillmentService
from reqfulfill.clock import FixedClock
from reqfulfill.model.events import NotificationSent, RequesterNotified
from reqfulfill.rules import Rule, Rules, RuleSet
from reqfulfill.testing import FakeSupplier, demo_requester
from reqfulfill.worker import Worker

FLOWS = ("password-reset", "phone-order")
LEVELS = ("FULL", "NORMAL")
SQLITE_IMPLS = ("reqfulfill", "spiffworkflow", "spiffworkflow-json")
MEMORY_IMPLS = ("reqfulfill", "reqfulfill-objects", "spiffworkflow")
ITEM = {"password-reset": "password-reset", "phone-order": "iphone-15"}

Outcome = tuple[str, str | None, str | None, int | None, tuple[tuple[str, str], ...]]
"""(state, group, category, priority, notifications as (kind, recipient))."""


class Reqfulfill:
    """reqfulfill's service and worker on one store, with the process rules."""

    def __init__(self, url: str) -> None:
        self.clock = FixedClock(START)
        self.supplier = FakeSupplier("acme-mobile", auto_deliver=True)
        self.service = FulfillmentService(
            bench_catalog(),
            process_rules(),
            store=url,
            plugins=[self.supplier],
            clock=self.clock,
            load_entrypoints=False,
        )
        self.worker = Worker(self.service, seed=1)
        self.played = 0

    def play(self, flow: str) -> str:
        self.played += 1
        if flow == "password-reset":
            return play_reset(self.service, self.worker)
        return play_phones(self.service, self.clock, self.worker, 1)[0]

    def outcome(self, rid: str) -> Outcome:
        state = self.service.get(rid)
        if state.pending_notifications or not all(t.finished for t in state.plan):
            raise AssertionError(f"reqfulfill {rid}: tasks or notifications left")
        sent = tuple(
            (e.kind, e.recipient)
            for e in self.service.history(rid)
            if isinstance(e, NotificationSent | RequesterNotified)
        )
        group = state.assignment.group if state.assignment else None
        priority = int(state.priority) if state.priority is not None else None
        return (state.state.value, group, state.category, priority, sent)

    def close(self) -> None:
        self.service.store.close()


class Spiff:
    """SpiffWorkflow playing the same requests; with ``store``, saved after every step."""

    def __init__(self, store: Callable[[SpiffProcesses], SpiffSQLite] | None = None) -> None:
        self.processes = SpiffProcesses()
        self.store = store(self.processes) if store else None
        self.supplier = self.processes.supplier
        self.ids = (f"SPIFF-{n:06d}" for n in itertools.count(1))
        self.played = 0
        self.last: Any = None
        self.data = {flow: self.request_data(flow) for flow in FLOWS}

    @staticmethod
    def request_data(flow: str) -> dict[str, Any]:
        """A request's data on its start event, but its id (what reqfulfill's facts hold)."""
        requester, item = demo_requester(), bench_catalog().item(ITEM[flow])
        return {
            "requester_id": requester.id,
            "manager": requester.manager,
            "department": requester.department,
            "location": requester.location,
            "vip": requester.vip,
            "channel": "portal",
            "item_id": item.id,
            "item_category": item.category,
            "item_impact": item.impact.value,
            "item_urgency": item.urgency.value,
            "supplier_id": item.supplier,
        }

    def play(self, flow: str) -> str:
        self.played += 1
        rid = next(self.ids)
        p, save = self.processes, self._saver(rid, flow)
        workflow = p.start(flow.replace("-", "_"), {**self.data[flow], "request_id": rid})
        save(workflow)
        steps: list[tuple[Callable[..., None], tuple[Any, ...], dict[str, Any]]]
        if flow == "password-reset":
            steps = [(p.complete, ("reset",), {}), (p.complete, ("close",), {})]
        else:
            steps = [
                (p.complete, ("approve",), {"approved": True}),
                (p.complete, ("claim",), {}),
                (p.signal, ("poll_due",), {}),  # the next day: the supplier is polled
                (p.complete, ("prepare",), {}),
                (p.complete, ("ship",), {}),
                (p.complete, ("confirm",), {}),
            ]
        for step, args, data in steps:
            step(workflow, *args, **data)
            save(workflow)
        self.last = workflow
        return rid

    def _saver(self, rid: str, flow: str) -> Callable[[Any], None]:
        if self.store is None:
            return lambda workflow: None
        save, process = self.store.save, flow.replace("-", "_")
        return lambda workflow: save(rid, process, workflow)

    def outcome(self, rid: str) -> Outcome:
        workflow = self.last
        if not workflow.is_completed():
            raise AssertionError(f"spiff {rid}: the workflow has not finished")
        if self.store is not None:
            stored = self.store.load(rid)
            if not stored.is_completed() or stored.data != workflow.data:
                raise AssertionError(f"spiff {rid}: the stored row is not the finished workflow")
        d = workflow.data
        sent = tuple(self.processes.sent.pop(rid, []))
        return (d["state"], d["group"], d["category"], d["priority"], sent)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def check_same(flow: str, ours: Reqfulfill, theirs: Spiff) -> Outcome:
    """Both sides end one request of ``flow`` alike (see the module docstring); the outcome."""
    a, b = ours.outcome(ours.play(flow)), theirs.outcome(theirs.play(flow))
    if a != b:
        raise AssertionError(f"{flow}: reqfulfill ended {a}, SpiffWorkflow {b}")
    if a[0] != "closed" or not a[4]:
        raise AssertionError(f"{flow}: ended {a}")
    for side in (ours, theirs):
        orders = side.played if flow == "phone-order" else 0
        if side.supplier.place_calls != orders:
            raise AssertionError(
                f"{flow}: {side.supplier.place_calls} supplier orders, not {orders}"
            )
    return a


# -- stored bytes ------------------------------------------------------------------------------


def stored_bytes(path: str) -> tuple[int, int]:
    """(bytes of every stored value, bytes of the database file after a checkpoint)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        values = 0
        for table in tables:
            columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
            total = " + ".join(f'coalesce(length(CAST("{c}" AS BLOB)), 0)' for c in columns)
            (size,) = db.execute(f'SELECT coalesce(sum({total}), 0) FROM "{table}"').fetchone()
            values += int(size)
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        return values, int(pages) * int(page_size)
    finally:
        db.close()


def _empty_bytes(tmp: str) -> dict[str, tuple[int, int]]:
    """What an empty store of each kind holds (subtracted from the per-request figure)."""
    out = {}
    rf = str(Path(tmp) / "empty-rf.db")
    Reqfulfill("sqlite:///" + rf).close()
    out["reqfulfill"] = stored_bytes(rf)
    for impl, mode in (("spiffworkflow", "instance"), ("spiffworkflow-json", "full")):
        path = str(Path(tmp) / f"empty-{impl}.db")
        Spiff(lambda p, path=path, mode=mode: SpiffSQLite(path, mode, p.specs)).close()
        out[impl] = stored_bytes(path)
    return out


# -- whole requests --------------------------------------------------------------------------

MODES = {
    ("memory", "reqfulfill"): "memory:// store (events encoded as stored), its worker",
    ("memory", "reqfulfill-objects"): "memory://?codec=off (events as given), its worker",
    ("memory", "spiffworkflow"): "workflow objects in memory, never serialized",
    ("sqlite", "reqfulfill"): "SQLite store, WAL, synchronous={level}",
    ("sqlite", "spiffworkflow"): "instance after each step, spec once; WAL, synchronous={level}",
    ("sqlite", "spiffworkflow-json"): "serialize_json after each step; WAL, synchronous={level}",
}


class Contender:
    """One side of one row: a flow played by ``side`` (``path``: its SQLite file)."""

    def __init__(self, flow: str, size: str, impl: str, side: Any, path: str | None) -> None:
        self.flow, self.size, self.impl, self.side, self.path = flow, size, impl, side, path
        kind = "memory" if size == "memory" else "sqlite"
        self.mode = MODES[kind, impl].format(level=size)
        self.times: list[float] = []
        self.last = ""
        self.commits: int | None = None  # per request, counted on SQLite

    def play(self, count: int) -> float:
        """Seconds per request over ``count`` requests."""
        start = time.perf_counter()
        for _ in range(count):
            self.last = self.side.play(self.flow)
        return (time.perf_counter() - start) / count


def _sqlite_file(tmp: str, flow: str, impl: str, level: str) -> str:
    return str(Path(tmp) / f"{flow}-{impl}-{level}.db")


def _contenders(tmp: str) -> list[Contender]:
    out = []
    for flow in FLOWS:
        out.append(Contender(flow, "memory", "reqfulfill", Reqfulfill("memory://"), None))
        objects = Reqfulfill("memory://?codec=off")
        out.append(Contender(flow, "memory", "reqfulfill-objects", objects, None))
        out.append(Contender(flow, "memory", "spiffworkflow", Spiff(), None))
        for level in LEVELS:
            for impl in SQLITE_IMPLS:
                path = _sqlite_file(tmp, flow, impl, level)
                mode = "full" if impl == "spiffworkflow-json" else "instance"
                side = (
                    Reqfulfill("sqlite:///" + path)
                    if impl == "reqfulfill"
                    else Spiff(lambda p, path=path, mode=mode: SpiffSQLite(path, mode, p.specs))
                )
                out.append(Contender(flow, level, impl, side, path))
    return out


def _check_pairs(contenders: Sequence[Contender]) -> dict[str, Outcome]:
    """Each other contender (SpiffWorkflow's, reqfulfill's ``memory://?codec=off``) against
    reqfulfill at the same size, one request of each flow; the outcomes."""
    expected: dict[str, Outcome] = {}
    for c in contenders:
        if c.impl != "reqfulfill":
            ours = next(
                o for o in contenders if (o.flow, o.size, o.impl) == (c.flow, c.size, "reqfulfill")
            )
            expected[c.flow] = check_same(c.flow, ours.side, c.side)
    return expected


def _flow_rows(quick: bool, counts: dict[str, int] | None) -> list[dict[str, Any]]:
    """Requests/s of both flows, every contender; rounds interleaved across all."""
    rounds = 2 if quick else 5
    per = counts or ({"memory": 3, "sqlite": 2} if quick else {"memory": 40, "sqlite": 15})
    with tempfile.TemporaryDirectory(prefix="rf-bench-") as tmp, contextlib.ExitStack() as stack:
        empty = _empty_bytes(tmp)
        files = {
            _sqlite_file(tmp, flow, impl, level): level
            for flow in FLOWS
            for level in LEVELS
            for impl in SQLITE_IMPLS
        }
        conns = stack.enter_context(SQLiteConnections(by_file=files))
        contenders = _contenders(tmp)
        for c in contenders:
            stack.callback(c.side.close)
        conns.apply()
        check_shipped()
        expected = _check_pairs(contenders)
        for c in contenders:  # one more request each, its commits counted (not timed)
            if c.path is not None:
                with conns.counted(c.path) as count:
                    c.side.play(c.flow)
                c.commits = count.commits
        conns.check()
        for _ in range(rounds):
            for c in contenders:
                c.times.append(c.play(per["memory" if c.size == "memory" else "sqlite"]))
        conns.check()
        for c in contenders:  # the last request of every contender ended as checked
            if c.side.outcome(c.last) != expected[c.flow]:
                raise AssertionError(f"{c.flow} {c.size} {c.impl}: a timed request ended otherwise")
        return [_flow_row(c, contenders, empty) for c in contenders]


def _flow_row(
    c: Contender, contenders: Sequence[Contender], empty: dict[str, tuple[int, int]]
) -> dict[str, Any]:
    ours = next(o for o in contenders if (o.flow, o.size, o.impl) == (c.flow, c.size, "reqfulfill"))
    ratio = statistics.median(c.times) / statistics.median(ours.times)
    extra: dict[str, Any] = {"mode": c.mode}
    if c.size == "memory" and c.impl == "spiffworkflow":
        objects = next(
            o
            for o in contenders
            if (o.flow, o.size, o.impl) == (c.flow, c.size, "reqfulfill-objects")
        )
        extra["ratio_objects"] = statistics.median(c.times) / statistics.median(objects.times)
    if c.path is not None:
        values, pages = stored_bytes(c.path)
        base = empty[c.impl]
        extra["bytes"] = round((values - base[0]) / c.side.played)
        extra["file_bytes"] = round((pages - base[1]) / c.side.played)
        extra["commits"] = c.commits
    return row(f"process:{c.flow}", c.size, c.impl, c.times, ratio, **extra)


# -- the DMN tables alone --------------------------------------------------------------------


def _flat(facts: dict[str, Any]) -> dict[str, Any]:
    """routing.py's nested facts as the task data the DMN inputs read."""
    return {
        "item_id": facts["item"]["id"],
        "department": facts["requester"]["department"],
        "location": facts["requester"]["location"],
        "vip": facts["requester"]["vip"],
        "channel": facts["channel"],
        "cost": facts["answers"]["cost"],
    }


Decider = Callable[[dict[str, Any]], tuple[Any, ...]]


def _dmn_deciders(size: int) -> dict[tuple[str, str], tuple[str, Decider]]:
    """(part, impl) -> (mode, a function of routing.py's facts) for one table size."""
    rules = routing.routing_rules(size)
    ruleset = RuleSet([Rule(r["name"], r["when"], r["then"]) for r in rules])
    both = Rules.from_dict(
        {"assignment": {"rules": rules}, "prioritization": {"rules": routing.PRIORITY_RULES}}
    )
    spiff = SpiffProcesses(
        {
            "routing": dmn_table("routing", rules, ["group"]),
            "prioritization": dmn_table(
                "prioritization", routing.PRIORITY_RULES, ["impact", "urgency"]
            ),
            "priority_matrix": priority_matrix_dmn(),
        }
    )
    task = spiff.context()
    tables = spiff.tables

    def spiff_routing(facts: dict[str, Any]) -> tuple[Any, ...]:
        task.data = _flat(facts)
        return (tables["routing"].result(task).get("group"),)

    def spiff_route(facts: dict[str, Any]) -> tuple[Any, ...]:
        task.data = data = _flat(facts)
        data.update(tables["routing"].result(task))
        data.update(tables["prioritization"].result(task))
        data.update(tables["priority_matrix"].result(task))
        return (data.get("group"), data.get("impact"), data.get("urgency"), data.get("priority"))

    def our_routing(facts: dict[str, Any]) -> tuple[Any, ...]:
        value = ruleset.decide(facts).value
        return (value["group"] if value else None,)

    def our_route(facts: dict[str, Any]) -> tuple[Any, ...]:
        r = both.route(facts, item=None)
        levels = (r.impact.value if r.impact else None, r.urgency.value if r.urgency else None)
        return (r.group, *levels, int(r.priority) if r.priority is not None else None)

    unique = "DMNEngine.result, hit policy UNIQUE (stops at the first match)"
    return {
        ("routing", "reqfulfill"): ("RuleSet.decide, assignment table", our_routing),
        ("routing", "spiffworkflow"): (unique, spiff_routing),
        ("route", "reqfulfill"): ("Rules.route: 2 tables + matrix", our_route),
        ("route", "spiffworkflow"): ("3 DMN tables: routing, prioritization, matrix", spiff_route),
    }


def _dmn_rows(quick: bool, sizes: Sequence[int]) -> list[dict[str, Any]]:
    rounds = 3 if quick else 7
    budget = 0.03 if quick else 0.2
    rows = []
    for size in sizes:
        deciders = _dmn_deciders(size)
        facts = routing.requests(300 if quick else 2_000, routing.routing_rules(size))
        check = facts[: 20 if quick else 200]
        times: dict[tuple[str, str], list[float]] = {key: [] for key in deciders}
        chosen = {}
        for (part, impl), (_mode, decide) in deciders.items():
            want = [deciders[part, "reqfulfill"][1](f) for f in check]
            if [decide(f) for f in check] != want:
                raise AssertionError(f"dmn {part} at {size} rules: {impl} decides otherwise")
            chosen[part, impl] = facts[: _how_many(decide, facts, budget)]
        for _ in range(rounds):
            for key, (_mode, decide) in deciders.items():
                start = time.perf_counter()
                for f in chosen[key]:
                    decide(f)
                times[key].append((time.perf_counter() - start) / len(chosen[key]))
        for (part, impl), (mode, _decide) in deciders.items():
            ours = statistics.median(times[part, "reqfulfill"])
            ratio = statistics.median(times[part, impl]) / ours
            rows.append(row(f"dmn-{part}", size, impl, times[part, impl], ratio, mode=mode))
    return rows


def _how_many(decide: Decider, facts: Sequence[dict[str, Any]], budget: float) -> int:
    """How many decisions take about ``budget`` seconds (at least 3)."""
    start = time.perf_counter()
    for f in facts[:3]:
        decide(f)
    per = (time.perf_counter() - start) / 3
    return max(3, min(len(facts), int(budget / max(per, 1e-9))))


def run(
    quick: bool = False,
    *,
    counts: dict[str, int] | None = None,
    dmn_sizes: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Whole requests on both sides (memory, SQLite FULL and NORMAL), then the DMN tables.

    :param counts: requests per round for ``"memory"`` and ``"sqlite"``.
    :param dmn_sizes: table sizes of the ``dmn`` rows (20 / 200 / 1,000; quick: 20 / 200).
    """
    sizes = dmn_sizes or ((20, 200) if quick else (20, 200, 1_000))
    return _flow_rows(quick, counts) + _dmn_rows(quick, sizes)


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
