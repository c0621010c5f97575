"""SLA timers and effect retries: settled when due, fired once, never before their time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

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


@given(seed=st.integers(0, 2**32), attempt=st.integers(1, 40))
def test_a_retry_comes_between_half_and_all_of_the_scheduled_delay(seed: int, attempt: int) -> None:
    # docs/worker.md: min(backoff * 2**(n-1), max_backoff) times a factor in [0.5, 1]
    worker = Worker(make(FixedClock()), seed=seed, allow_missing=True)
    scheduled = min(timedelta(minutes=1) * 2 ** (attempt - 1), timedelta(hours=1))
    delay = worker._delay(attempt)
    assert scheduled / 2 <= delay <= scheduled


def test_the_jitter_spreads_retries_at_the_cap_too() -> None:
    # effects that failed together (a supplier outage) do not all come back at once
    capped = {Worker(make(FixedClock()), seed=s, allow_missing=True)._delay(20) for s in range(20)}
    assert len(capped) == 20
    assert max(capped) - min(capped) > timedelta(minutes=15)
