"""SLA timers and effect retries: settled when due, fired once, never before their time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from reqfulfill import Channel, FixedClock, FulfillmentService, Priority, Worker
from reqfulfill.sla import BusinessCalendar, SlaPolicy
from reqfulfill.testing import demo_catalog, demo_requester

ERIN = demo_requester()


def make(clock: FixedClock, *plugins: object, **options: Any) -> FulfillmentService:
    """A service on the demo catalog with ``plugins`` only (no entry points)."""
    options.setdefault("store", "memory://")
    return FulfillmentService(
        demo_catalog(), plugins=list(plugins), clock=clock, load_entrypoints=False, **options
    )


def test_sla_used_is_settled_at_the_breach(clock: FixedClock) -> None:
    policy = SlaPolicy(
        targets={p: timedelta(hours=8) for p in Priority},
        calendar=BusinessCalendar.always(),
        hold_notifications=False,
    )
    service = make(clock, sla=policy)
    rid = service.submit(ERIN, "password-reset", Channel.PORTAL).id
    clock.advance(hours=9)
    Worker(service, allow_missing=True).run_pending()
    sla = service.get(rid).sla
    assert sla.breached
    assert sla.used >= timedelta(hours=8)


def test_two_workers_firing_the_same_sla_timer_do_not_lose_it(clock: FixedClock) -> None:
    policy = SlaPolicy(
        targets={p: timedelta(hours=8) for p in Priority},
        calendar=BusinessCalendar.always(),
        hold_notifications=False,
    )
    service = make(clock, sla=policy)
    first, second = (
        Worker(service, allow_missing=True, name="w1"),
        Worker(service, allow_missing=True, name="w2"),
    )
    rid = service.submit(ERIN, "password-reset", Channel.PORTAL).id
    clock.advance(hours=6)
    stale = service.store.due_timers(clock.now())  # the second worker lists the due timers
    first.run_pending()  # fires 75 % and re-arms the timer for the breach
    for timer in stale:
        second._run_timer(timer)  # then the second worker fires its stale copy
    clock.advance(hours=3)
    first.run_pending()
    request = service.get(rid)
    assert request.sla.breached
    assert request.group == "desk-l2"  # escalated at 100 %


def test_retries_never_come_before_the_schedule(clock: FixedClock) -> None:
    worker = Worker(make(clock), seed=5, allow_missing=True)
    delays = [worker._delay(n) for n in range(1, 12)]
    assert delays[0] >= timedelta(minutes=1)
    assert all(d <= timedelta(hours=1) for d in delays)
    assert delays[-1] == timedelta(hours=1)
