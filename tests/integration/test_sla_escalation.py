"""SLA clocks, escalation, closure, feedback and metrics, end to end through the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    Impact,
    Priority,
    RequestState,
    TransitionError,
    Urgency,
    Worker,
)
from reqfulfill.feedback import FeedbackPolicy
from reqfulfill.model import events as ev
from reqfulfill.sla import BusinessCalendar, EscalationLevel, SlaPolicy
from reqfulfill.testing import demo_catalog, demo_requester

AGENT = "sam.agent"
MANAGER = "max.manager"
ERIN = demo_requester()

# 24/7 in UTC so that business time equals elapsed time and the arithmetic is plain
ALWAYS = BusinessCalendar.always()
POLICY = SlaPolicy(
    targets={p: timedelta(hours=8) for p in Priority},
    calendar=ALWAYS,
    escalation=(
        EscalationLevel(at=0.5, action="notify"),
        EscalationLevel(at=0.75, action="notify_manager"),
        EscalationLevel(at=1.0, action="escalate"),
    ),
    hold_notifications=False,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


def make(clock: FixedClock, store: str = "memory://", **kwargs: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        sla=kwargs.pop("sla", POLICY),  # type: ignore[arg-type]
        store=store,
        clock=clock,
        load_entrypoints=False,
        **kwargs,  # type: ignore[arg-type]
    )


def reset_request(service: FulfillmentService) -> str:
    return service.submit(ERIN, "password-reset", Channel.PORTAL).id


def of(service: FulfillmentService, rid: str, kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in service.history(rid) if isinstance(e, kind)]


def test_thresholds_fire_once_each_and_escalate(clock: FixedClock, store_url: str) -> None:
    service = make(clock, store_url)
    worker = Worker(service, allow_missing=True)
    rid = reset_request(service)
    service.claim(rid, AGENT)
    assert service.get(rid).sla.due == clock.now() + timedelta(hours=8)
    for _ in range(20):  # ten hours in half-hour steps, the worker running each time
        clock.advance(minutes=30)
        worker.run_pending()
    request = service.get(rid)
    reached = of(service, rid, ev.SlaThresholdReached)
    assert [(e.fraction, e.action) for e in reached] == [
        (0.5, "notify"),
        (0.75, "notify_manager"),
        (1.0, "escalate"),
    ]
    assert reached[0].at == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert len(of(service, rid, ev.SlaBreached)) == 1
    assert request.sla.breached
    assert request.sla.level == 1
    # escalate reassigns to the group's escalation group and clears the agent
    assert (request.group, request.agent) == ("desk-l2", None)
    escalated = of(service, rid, ev.RequestEscalated)
    assert [(e.from_group, e.to_group) for e in escalated] == [("service-desk", "desk-l2")]
    recipients = {e.notification.recipient for e in of(service, rid, ev.NotificationRequested)}
    assert {"group:service-desk", AGENT, "group:desk-l2"} <= recipients


def test_group_without_escalation_group_raises_level_only(clock: FixedClock) -> None:
    service = make(clock)
    worker = Worker(service, allow_missing=True)
    rid = service.submit(ERIN, "crm-access", Channel.PORTAL).id  # identity has no next level
    service.approve(rid, MANAGER)
    clock.advance(hours=9)
    worker.run_pending()
    request = service.get(rid)
    assert request.group == "identity"
    assert request.sla.level == 1
    assert of(service, rid, ev.RequestEscalated)[0].to_group is None


def test_paused_time_never_counts(clock: FixedClock) -> None:
    service = make(clock)
    worker = Worker(service, allow_missing=True)
    rid = reset_request(service)
    clock.advance(hours=2)
    service.wait(rid, AGENT, "waiting for the requester")
    clock.advance(days=3)
    worker.run_pending()
    assert of(service, rid, ev.SlaThresholdReached) == []
    request = service.resume(rid, AGENT)
    assert request.sla.used == timedelta(hours=2)
    assert request.sla.due == clock.now() + timedelta(hours=6)
    clock.advance(hours=2, minutes=1)
    worker.run_pending()
    assert [e.fraction for e in of(service, rid, ev.SlaThresholdReached)] == [0.5]


def test_priority_change_keeps_the_time_used(clock: FixedClock) -> None:
    policy = SlaPolicy(
        targets={Priority.CRITICAL: timedelta(hours=4), Priority.HIGH: timedelta(hours=8)},
        calendar=ALWAYS,
        hold_notifications=False,
    )
    service = make(clock, sla=policy)
    rid = reset_request(service)  # low impact, high urgency: P3 -> nearest is P2's 8h
    clock.advance(hours=3)
    request = service.reprioritize(rid, AGENT, impact=Impact.HIGH, urgency=Urgency.HIGH)
    assert request.priority is Priority.CRITICAL
    assert request.sla.target == timedelta(hours=4)
    assert request.sla.used == timedelta(hours=3)
    assert request.sla.due == clock.now() + timedelta(hours=1)


def test_fulfilled_request_closes_after_the_grace_period(clock: FixedClock) -> None:
    service = make(clock, close_after=timedelta(days=3))
    worker = Worker(service, allow_missing=True)
    rid = reset_request(service)
    service.complete_task(rid, "reset", AGENT)
    clock.advance(days=2)
    worker.run_pending()
    assert service.get(rid).state is RequestState.FULFILLED
    clock.advance(days=1, minutes=1)
    worker.run_pending()
    request = service.get(rid)
    assert request.state is RequestState.CLOSED
    assert of(service, rid, ev.RequestClosed)[0].reason == "no complaint within the grace period"


def test_feedback_window(clock: FixedClock) -> None:
    service = make(clock, feedback=FeedbackPolicy(window=timedelta(days=7)))
    rid = reset_request(service)
    service.complete_task(rid, "reset", AGENT)
    service.close(rid, AGENT)
    clock.advance(days=8)
    with pytest.raises(TransitionError, match="feedback window"):
        service.record_feedback(rid, ERIN.id, 4)
    assert service.get(rid).feedback is None


def test_survey_every_third_request_per_requester(clock: FixedClock) -> None:
    service = make(clock, feedback=FeedbackPolicy(every_nth=3))
    surveys = []
    for _ in range(6):
        rid = reset_request(service)
        service.complete_task(rid, "reset", AGENT)
        service.close(rid, AGENT)
        surveys.append(of(service, rid, ev.RequestClosed)[0].survey)
        clock.advance(minutes=5)
    assert surveys == [True, False, False, True, False, False]


def test_metrics_by_item_and_group(clock: FixedClock) -> None:
    service = make(clock)
    worker = Worker(service, allow_missing=True)
    fast = reset_request(service)
    service.claim(fast, AGENT)
    clock.advance(hours=1)
    service.complete_task(fast, "reset", AGENT)
    service.close(fast, AGENT)
    service.record_feedback(fast, ERIN.id, 5)
    slow = reset_request(service)
    clock.advance(hours=10)
    worker.run_pending()  # breaches and escalates
    service.complete_task(slow, "reset", "lee.expert")
    service.close(slow, "lee.expert")
    service.record_feedback(slow, ERIN.id, 2)
    (row,) = service.metrics(by="item")
    assert row.key == "password-reset"
    assert row.count == 2
    assert row.fulfilled == 2
    assert row.fulfil_p50_h == 1.0
    assert row.fulfil_p90_h == 10.0
    assert row.assign_p50_h == 0.0
    assert row.sla_met_pct == 50.0
    assert row.escalations == 1
    assert row.csat == 3.5
    assert row.response_rate == 1.0
    groups = {r.key: r for r in service.metrics(by="group")}
    assert set(groups) == {"service-desk", "desk-l2"}
    assert service.metrics(since=clock.now()) == []
