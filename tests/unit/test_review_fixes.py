"""Defects found in review, each pinned by a test that failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reqfulfill import (
    AuthorizationError,
    Channel,
    FixedClock,
    FulfillmentService,
    Impact,
    OrderStatus,
    Priority,
    TaskState,
    TransitionError,
    Urgency,
    ValidationError,
    Worker,
    hookimpl,
    lifecycle,
)
from reqfulfill.model import events as ev
from reqfulfill.sla import BusinessCalendar, SlaPolicy
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

ERIN = demo_requester()
AGENT = "sam.agent"
MANAGER = "max.manager"


def make(clock: FixedClock, *plugins: object, store: str = "memory://", **kw: object):  # type: ignore[no-untyped-def]
    return FulfillmentService(
        demo_catalog(),
        store=store,
        plugins=list(plugins),
        clock=clock,
        load_entrypoints=False,
        **kw,  # type: ignore[arg-type]
    )


def test_restarting_a_failed_order_task_cancels_the_open_order(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, supplier)
    worker = Worker(service)
    rid = service.submit(ERIN, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    worker.run_pending()
    service.fail_task(rid, "order", AGENT, "supplier too slow")
    service.start_task(rid, "order", AGENT)
    worker.run_pending()
    first, second = supplier.orders
    assert first.status is OrderStatus.CANCELLED
    assert second.status is OrderStatus.PLACED
    request = service.get(rid)
    assert request.task("order").order_ref == second.ref
    # a late update for the old order is ignored, not refused
    assert service.record_supplier_update("acme-mobile", first.ref, OrderStatus.DELIVERED)
    assert service.get(rid).task("order").state is TaskState.IN_PROGRESS


def test_a_superseded_order_placed_late_is_cancelled(clock: FixedClock) -> None:
    class AcceptsThenTimesOut(FakeSupplier):
        def place_order(self, order, idempotency_key):  # type: ignore[no-untyped-def]
            receipt = super().place_order(order, idempotency_key)
            if self.place_calls == 1:
                from reqfulfill import SupplierError

                raise SupplierError("timed out after accepting", retryable=True)
            return receipt

    supplier = AcceptsThenTimesOut("acme-mobile")
    service = make(clock, supplier)
    worker = Worker(service, seed=1)
    rid = service.submit(ERIN, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    worker.run_pending()  # accepted at the supplier, but the worker saw a timeout
    service.fail_task(rid, "order", AGENT, "no answer")
    service.start_task(rid, "order", AGENT)
    clock.advance(hours=2)
    worker.run_pending()  # the retry gets the first order back; the new order is placed
    worker.run_pending()
    statuses = sorted(o.status.value for o in supplier.orders)
    assert statuses == ["cancelled", "placed"]
    placed = [e for e in service.history(rid) if isinstance(e, ev.SupplierOrderPlaced)]
    assert sorted(e.superseded for e in placed) == [False, True]


def test_answers_must_be_json_data(clock: FixedClock, store_url: str) -> None:
    service = make(clock, store=store_url)
    with pytest.raises(ValidationError) as info:
        service.submit(ERIN, "password-reset", Channel.PORTAL, {"tags": {"a", "b"}})
    assert info.value.paths == ["answers.tags"]
    with pytest.raises(ValidationError):
        service.submit(ERIN, "password-reset", Channel.PORTAL, {"when": datetime.now(UTC)})
    assert service.store.query() == []


def test_answers_cannot_be_changed_after_they_are_recorded(
    clock: FixedClock, store_url: str
) -> None:
    service = make(clock, store=store_url)
    answers = {"apps": ["mail"]}
    request = service.submit(ERIN, "password-reset", Channel.PORTAL, answers)
    answers["apps"].append("rm -rf")
    with pytest.raises(TypeError):
        request.answers["injected"] = True  # type: ignore[index]
    with pytest.raises(TypeError):
        request.answers["apps"].append("x")
    assert service.get(request.id).answers == {"apps": ["mail"]}
    assert lifecycle.replay(service.history(request.id)) == service.get(request.id)


def test_a_non_json_automation_result_fails_the_task_once(clock: FixedClock) -> None:
    calls: list[str] = []

    class Grants:
        @hookimpl
        def reqfulfill_run_automation(self, task, request, idempotency_key):  # type: ignore[no-untyped-def]
            calls.append(idempotency_key)
            return {"groups": {"crm-users"}}

    service = make(clock, Grants(), store="memory://")
    rid = service.submit(ERIN, "crm-access", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    Worker(service).run_pending()
    task = service.get(rid).task("grant")
    assert task.state is TaskState.FAILED
    assert "not JSON data" in task.reason
    assert len(calls) == 1


def test_manual_priority_survives_approval(clock: FixedClock) -> None:
    service = make(clock)
    rid = service.submit(ERIN, "iphone-15", Channel.PORTAL).id
    service.reprioritize(rid, AGENT, impact=Impact.HIGH, urgency=Urgency.HIGH)
    assert service.approve(rid, MANAGER).priority is Priority.CRITICAL


@pytest.mark.parametrize(
    "command",
    [
        lifecycle.AutoClose(actor="mallory"),
        lifecycle.FireSla(actor="mallory"),
        lifecycle.EffectFailed(actor=ERIN.id, effect_id="x", reason="x"),
        lifecycle.NotificationDelivered(actor=ERIN.id, effect_id="x"),
        lifecycle.RecordAttempt(actor=AGENT, effect_id="x"),
    ],
)
def test_worker_commands_are_for_the_worker_only(clock: FixedClock, command: object) -> None:
    service = make(clock)
    rid = service.submit(ERIN, "password-reset", Channel.PORTAL).id
    service.complete_task(rid, "reset", AGENT)
    before = service.history(rid)
    with pytest.raises(AuthorizationError):
        service.execute(rid, command)  # type: ignore[arg-type]
    assert service.history(rid) == before


def test_sla_used_is_settled_at_the_breach(clock: FixedClock) -> None:
    policy = SlaPolicy(
        targets={p: timedelta(hours=8) for p in Priority},
        calendar=BusinessCalendar.always(),
        hold_notifications=False,
    )
    service = make(clock, sla=policy)
    rid = service.submit(ERIN, "password-reset", Channel.PORTAL).id
    clock.advance(hours=9)
    Worker(service).run_pending()
    sla = service.get(rid).sla
    assert sla.breached
    assert sla.used >= timedelta(hours=8)


def test_evolve_refuses_events_for_tasks_the_plan_does_not_have(clock: FixedClock) -> None:
    service = make(clock)
    rid = service.submit(ERIN, "password-reset", Channel.PORTAL).id
    state = service.get(rid)
    bogus = ev.TaskCompleted(
        event_id=f"{rid}/99", request_id=rid, at=clock.now(), actor=AGENT, task_key="nope"
    )
    with pytest.raises(TransitionError):
        lifecycle.evolve(state, bogus)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))


def test_two_workers_firing_the_same_sla_timer_do_not_lose_it(clock: FixedClock) -> None:
    policy = SlaPolicy(
        targets={p: timedelta(hours=8) for p in Priority},
        calendar=BusinessCalendar.always(),
        hold_notifications=False,
    )
    service = make(clock, sla=policy)
    first, second = Worker(service, name="w1"), Worker(service, name="w2")
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
    worker = Worker(make(clock), seed=5)
    delays = [worker._delay(n) for n in range(1, 12)]
    assert delays[0] >= timedelta(minutes=1)
    assert all(d <= timedelta(hours=1) for d in delays)
    assert delays[-1] == timedelta(hours=1)


def test_rules_assigning_to_an_unknown_group_are_refused(clock: FixedClock) -> None:
    from reqfulfill.rules import Rules

    rules = Rules.from_dict(
        {
            "assignment": {
                "rules": [
                    {
                        "name": "typo",
                        "when": {"item.id": "password-reset"},
                        "then": {"group": "servcie-desk"},
                    }
                ]
            }
        }
    )
    with pytest.raises(ValidationError) as info:
        make(clock, rules=rules)
    assert info.value.paths == ["assignment.rules[0].then.group"]
    assert info.value.problems[0].value == "servcie-desk"
