"""SLA targets in business days (``"2bd"``), end to end: the clock's due dates, pauses,
a priority change, and a store read back by a new service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reqfulfill import Channel, FixedClock, FulfillmentService, Impact, Priority, Urgency
from reqfulfill.model import events as ev
from reqfulfill.sla import BusinessCalendar, BusinessDays, SlaPolicy, add_business_days
from reqfulfill.testing import demo_catalog, demo_requester

AGENT = "sam.agent"
OFFICE = BusinessCalendar(timezone="UTC")  # Monday to Friday 08:00-16:00
POLICY = SlaPolicy.from_dict(
    {
        "targets": {"1": "4h", "3": "2bd"},
        "calendar": OFFICE.to_dict(),
        "hold_notifications": False,
    }
)
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def make(clock: FixedClock, store: str) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), sla=POLICY, store=store, clock=clock, load_entrypoints=False
    )


def test_two_business_days_from_monday_10_are_due_wednesday_10(store_url: str) -> None:
    clock = FixedClock(MONDAY_10)
    service = make(clock, store_url)
    rid = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id  # P3
    request = service.get(rid)
    assert POLICY.target_for(Priority.MODERATE) == BusinessDays(2)
    assert request.sla.due == datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    assert request.sla.target == timedelta(hours=16)  # two 8-hour days of business time
    (started,) = [e for e in service.history(rid) if isinstance(e, ev.SlaStarted)]
    assert started.rule == "priority 3 target of 2 business days"
    if store_url.startswith("sqlite"):  # a new service on the same file reads the same clock
        again = make(FixedClock(MONDAY_10), store_url)
        assert again.get(rid).sla == request.sla


def test_a_pause_moves_the_deadline_by_the_business_time_it_took(store_url: str) -> None:
    clock = FixedClock(MONDAY_10)
    service = make(clock, store_url)
    rid = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
    clock.advance(hours=2)  # Monday 12:00: 2 h used
    service.wait(rid, AGENT, "waiting for the requester")
    clock.advance(days=1)  # Tuesday 12:00: a whole business day paused
    request = service.resume(rid, AGENT)
    assert request.sla.used == timedelta(hours=2)
    assert request.sla.due == add_business_days(OFFICE, MONDAY_10, 3)  # one open day later
    assert request.sla.due == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)


def test_a_priority_change_counts_business_days_from_the_clock_start(store_url: str) -> None:
    policy = SlaPolicy.from_dict(
        {"targets": {"1": "1bd", "3": "3bd"}, "calendar": OFFICE.to_dict()}
    )
    clock = FixedClock(MONDAY_10)
    service = FulfillmentService(
        demo_catalog(), sla=policy, store=store_url, clock=clock, load_entrypoints=False
    )
    rid = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
    assert service.get(rid).sla.due == datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # Thursday
    clock.advance(hours=3)
    request = service.reprioritize(rid, AGENT, impact=Impact.HIGH, urgency=Urgency.HIGH)
    assert request.priority is Priority.CRITICAL
    assert request.sla.used == timedelta(hours=3)
    assert request.sla.due == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # 1bd from Monday 10:00
