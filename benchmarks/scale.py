"""Scale benchmark: how costs grow.

* ``replay`` -- ``lifecycle.replay`` of a request whose history is 10, 100
  and 1,000 events long (a password reset put on hold and resumed again and
  again); ``ratio`` is the cost per event relative to the 10-event history
  (1.0 = linear). ``get-warm`` is ``service.get`` on the same stream when the
  service already holds the state (it folds only new events: cost flat in the
  history length except the store read). Checked: replay equals the state the
  service returned after the last command.
* ``routing`` -- the assignment ``RuleSet.decide`` at 100 / 1,000 / 10,000
  rules (routing.py's synthetic tables); ``ratio`` is time relative to 100.
  routing.py's own ``scaling`` rows time the whole ``route``.
* ``workers`` -- effects/s when 1 and then 2 worker processes drain one
  PostgreSQL outbox (notifications of 300 password resets, 5 rounds each, the
  store's default ``outcome_commit="off"``); ``ratio`` is the throughput
  relative to one process. Checked: the outbox ends empty and each
  notification was delivered exactly once. ``cores`` gives ``os.cpu_count()``.

Run: ``python -m benchmarks scale [--quick]``.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

from benchmarks import routing
from benchmarks.lifecycle import AGENT, pg_dsn, pg_schema, pg_url, reset_service, row
from reqfulfill import Channel, FulfillmentService, lifecycle
from reqfulfill.rules import Rule, RuleSet
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.worker import Worker


def history(length: int) -> tuple[FulfillmentService, str]:
    service = reset_service("memory://?codec=off")
    request = service.submit(demo_requester(), "password-reset", Channel.PORTAL)
    state = request
    while state.version + 2 <= length:
        service.wait(request.id, AGENT, "waiting for the requester")
        state = service.resume(request.id, AGENT)
    return service, request.id


def _replay_rows(quick: bool) -> list[dict[str, Any]]:
    lengths = (10, 100) if quick else (10, 100, 1_000)
    rounds = 3 if quick else 7
    rows = []
    base: float | None = None
    for length in lengths:
        service, rid = history(length)
        events = service.history(rid)
        if lifecycle.replay(events) != service.get(rid):
            raise AssertionError("replay differs from the service's state")
        repeat = max(1, 2_000 // len(events))
        times, warm = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(repeat):
                lifecycle.replay(events)
            times.append((time.perf_counter() - start) / repeat)
            start = time.perf_counter()
            for _ in range(repeat):
                service.get(rid)
            warm.append((time.perf_counter() - start) / repeat)
        per_event = statistics.median(times) / len(events)
        base = base or per_event
        rows.append(row("replay", len(events), "replay", times, per_event / base))
        rows.append(row("replay", len(events), "get-warm", warm, None))
    return rows


def _routing_rows(quick: bool) -> list[dict[str, Any]]:
    sizes = (100, 1_000) if quick else routing.SIZES
    rounds = 3 if quick else 7
    rows = []
    base: float | None = None
    for size in sizes:
        data = routing.routing_rules(size)
        facts = routing.requests(500 if quick else 2_000, data)
        ruleset = RuleSet([Rule(r["name"], r["when"], r["then"]) for r in data])
        naive = routing.naive_impl(data)
        for f in facts[:50]:
            if (ruleset.decide(f).value or {}).get("group") != naive(f)[0]:
                raise AssertionError(f"decide disagrees with a scan at {size} rules")
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            for f in facts:
                ruleset.decide(f)
            times.append((time.perf_counter() - start) / len(facts))
        median = statistics.median(times)
        base = base or median
        rows.append(row("routing", size, "decide", times, median / base))
    return rows


def _drain(url: str, go: Any, ready: Any, out: Any) -> None:
    service = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    worker = Worker(service, allow_missing=True)  # password resets only: no supplier
    ready.release()
    go.wait()
    done = 0
    while True:
        ran = worker.run_pending()
        if not ran:
            break
        done += ran
    out.put(done)
    service.store.close()


def _worker_rows(quick: bool) -> list[dict[str, Any]]:
    dsn = pg_dsn()
    if dsn is None:
        return []
    requests = 20 if quick else 300
    rounds = 1 if quick else 5
    ctx = multiprocessing.get_context("fork")
    times: dict[int, list[float]] = {1: [], 2: []}
    effects = 0
    for _ in range(rounds):
        for procs in (1, 2):
            with pg_schema(dsn) as schema:
                url = pg_url(dsn, schema)
                service = reset_service(url)
                ids = []
                for _ in range(requests):
                    request = service.submit(demo_requester(), "password-reset", Channel.PORTAL)
                    service.complete_task(request.id, "reset", AGENT)
                    ids.append(service.close(request.id, AGENT).id)
                effects = len(service.store.outbox())
                go, ready, out = ctx.Event(), ctx.Semaphore(0), ctx.Queue()
                children = [
                    ctx.Process(target=_drain, args=(url, go, ready, out)) for _ in range(procs)
                ]
                for child in children:
                    child.start()
                for _ in children:
                    ready.acquire()
                start = time.perf_counter()
                go.set()
                ran = sum(out.get(timeout=600) for _ in children)
                elapsed = time.perf_counter() - start
                for child in children:
                    child.join()
                if service.store.outbox() or ran != effects:
                    raise AssertionError(f"{procs} workers ran {ran} of {effects} effects")
                for rid in ids:
                    state = service.get(rid)
                    sent = [e for e in service.history(rid) if e.type == "NotificationSent"]
                    if state.pending_notifications or len({e.effect_id for e in sent}) != len(sent):
                        raise AssertionError(f"{rid}: notifications not delivered exactly once")
                service.store.close()
                times[procs].append(elapsed / effects)
    one = statistics.median(times[1])
    return [
        row(
            "workers-pg",
            effects,
            f"{procs}-process",
            times[procs],
            one / statistics.median(times[procs]),
            cores=os.cpu_count(),
        )
        for procs in (1, 2)
    ]


def run(
    quick: bool = False, *, parts: Sequence[str] = ("replay", "routing", "workers")
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if "replay" in parts:
        rows += _replay_rows(quick)
    if "routing" in parts:
        rows += _routing_rows(quick)
    if "workers" in parts:
        rows += _worker_rows(quick)
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
