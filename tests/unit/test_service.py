"""Commands through the service: states, authorization, refusals that write nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from _catalogs import conditional_catalog

from reqfulfill import (
    AuthorizationError,
    Channel,
    FixedClock,
    FulfillmentService,
    Impact,
    NotFoundError,
    OrderStatus,
    Priority,
    RequestState,
    TaskState,
    TransitionError,
    Urgency,
    ValidationError,
    Worker,
    lifecycle,
)
from reqfulfill.model import events as ev
from reqfulfill.testing import FakeSupplier

AGENT = "sam.agent"
OTHER_AGENT = "tia.agent"
MANAGER = "max.manager"


@pytest.fixture
def phone(service: FulfillmentService, erin) -> str:  # type: ignore[no-untyped-def]
    return service.submit(erin, "iphone-15", Channel.PORTAL).id


def approved(service: FulfillmentService, rid: str) -> None:
    service.approve(rid, MANAGER)


def test_submit_waits_for_the_managers_approval(service, phone) -> None:  # type: ignore[no-untyped-def]
    request = service.get(phone)
    assert request.state is RequestState.AWAITING_APPROVAL
    assert request.approvers == (MANAGER,)
    assert request.version == len(service.history(phone))


def test_requester_can_never_approve_own_request(service, phone, erin) -> None:  # type: ignore[no-untyped-def]
    before = service.history(phone)
    with pytest.raises(AuthorizationError) as info:
        service.approve(phone, erin.id)
    assert info.value.actor == erin.id
    assert service.history(phone) == before


def test_stranger_cannot_approve(service, phone) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthorizationError):
        service.approve(phone, AGENT)
    assert service.get(phone).state is RequestState.AWAITING_APPROVAL


def test_approval_routes_from_item_defaults(service, phone) -> None:  # type: ignore[no-untyped-def]
    request = service.approve(phone, MANAGER)
    assert request.state is RequestState.IN_FULFILLMENT
    assert request.group == "service-desk"
    assert request.category == "Hardware/Mobile"
    assert (request.impact, request.urgency) == (Impact.LOW, Urgency.MEDIUM)
    assert request.priority is Priority.LOW
    assigned = [e for e in service.history(phone) if isinstance(e, ev.RequestAssigned)]
    assert assigned[-1].rule == "item default"
    assert request.task("order").state is TaskState.IN_PROGRESS
    assert request.task("prepare").state is TaskState.PENDING


def test_reject_ends_the_request(service, phone) -> None:  # type: ignore[no-untyped-def]
    request = service.reject(phone, MANAGER, "budget")
    assert request.state is RequestState.REJECTED
    assert request.approval is not None
    assert request.approval.approved is False
    with pytest.raises(TransitionError) as info:
        service.approve(phone, MANAGER)
    assert info.value.state is RequestState.REJECTED
    assert info.value.command == "approve"
    assert info.value.request_id == phone


def test_item_without_approval_goes_straight_to_fulfillment(service, erin) -> None:  # type: ignore[no-untyped-def]
    request = service.submit(erin, "password-reset", Channel.PORTAL)
    assert request.state is RequestState.IN_FULFILLMENT
    assert request.task("reset").state is TaskState.IN_PROGRESS
    request = service.complete_task(request.id, "reset", AGENT)
    assert request.state is RequestState.FULFILLED
    request = service.close(request.id, AGENT)
    assert request.state is RequestState.CLOSED
    # closing again changes nothing
    assert service.close(request.id, AGENT).version == request.version


def test_portal_request_needs_an_item(service, erin) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as info:
        service.submit(erin, None, Channel.PORTAL)
    assert info.value.paths == ["item"]


def test_unknown_item_is_named(service, erin) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as info:
        service.submit(erin, "iphone-99", Channel.PORTAL)
    assert info.value.problems[0].value == "iphone-99"


def test_unknown_request_id(service) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError):
        service.get("REQ-NOPE")
    with pytest.raises(NotFoundError):
        service.approve("REQ-NOPE", MANAGER)


def test_email_without_item_waits_in_triage(service, erin) -> None:  # type: ignore[no-untyped-def]
    request = service.submit(erin, None, Channel.EMAIL, {"subject": "need a phone"})
    assert request.state is RequestState.TRIAGE
    assert request.group == "service-desk"
    with pytest.raises(AuthorizationError):
        service.triage(request.id, "ida.admin", item="iphone-15")
    request = service.triage(request.id, AGENT, item="iphone-15", urgency=Urgency.HIGH)
    # the phone needs approval: triage hands it to the manager
    assert request.state is RequestState.AWAITING_APPROVAL
    assert request.item == "iphone-15"
    triaged = [e for e in service.history(request.id) if isinstance(e, ev.RequestTriaged)]
    assert triaged[0].rule == "manual"
    assert triaged[0].actor == AGENT
    request = service.approve(request.id, MANAGER)
    assert request.state is RequestState.IN_FULFILLMENT
    assert request.urgency is Urgency.HIGH  # the manual decision survives routing
    assert request.impact is Impact.LOW


def test_triage_without_item_gets_one_manual_task(service, erin) -> None:  # type: ignore[no-untyped-def]
    rid = service.submit(erin, None, Channel.PHONE).id
    request = service.triage(rid, AGENT, category="Other/Question", impact=Impact.LOW)
    assert request.state is RequestState.IN_FULFILLMENT
    assert [t.key for t in request.plan] == ["fulfil"]
    assert request.category == "Other/Question"


def test_claim_only_by_group_members(service, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    with pytest.raises(AuthorizationError):
        service.claim(phone, "ida.admin")
    assert service.claim(phone, AGENT).agent == AGENT
    assert service.claim(phone, OTHER_AGENT).agent == OTHER_AGENT


def test_assign_checks_group_and_agent(service, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    with pytest.raises(ValidationError):
        service.assign(phone, AGENT, "nowhere")
    with pytest.raises(ValidationError):
        service.assign(phone, AGENT, "desk-l2", agent=AGENT)
    request = service.assign(phone, AGENT, "desk-l2", agent="lee.expert")
    assert (request.group, request.agent) == ("desk-l2", "lee.expert")
    with pytest.raises(AuthorizationError):  # no longer in the assigned group
        service.assign(phone, AGENT, "service-desk")


def test_stock_answer_leaves_the_supplier_task_out(clock, erin) -> None:  # type: ignore[no-untyped-def]
    service = FulfillmentService(
        conditional_catalog(), store="memory://", clock=clock, load_entrypoints=False
    )
    rid = service.submit(erin, "iphone-15", Channel.PORTAL, {"from_stock": True}).id
    request = service.approve(rid, MANAGER)
    assert [t.key for t in request.plan] == ["prepare", "deliver"]
    assert request.task("prepare").state is TaskState.IN_PROGRESS
    started = next(e for e in service.history(rid) if isinstance(e, ev.PlanStarted))
    assert started.left_out == ("order",)


def test_skip_supplier_task_cancels_the_open_order(service, worker, supplier, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    worker.run_pending()
    ref = supplier.order_for(phone).ref
    request = service.skip_task(phone, "order", AGENT, "taken from stock")
    assert request.task("order").state is TaskState.SKIPPED
    assert request.task("prepare").state is TaskState.IN_PROGRESS
    worker.run_pending()
    assert supplier.order_for(phone).status is OrderStatus.CANCELLED
    updates = [e for e in service.history(phone) if isinstance(e, ev.SupplierOrderUpdated)]
    assert updates[-1].ref == ref
    assert updates[-1].status is OrderStatus.CANCELLED


def test_skip_needs_a_reason(service, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    with pytest.raises(ValidationError):
        service.skip_task(phone, "order", AGENT, "  ")


def test_complete_task_only_for_manual_tasks(service, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    with pytest.raises(TransitionError):
        service.complete_task(phone, "order", AGENT)
    with pytest.raises(ValidationError):
        service.complete_task(phone, "nope", AGENT)


def test_fail_and_restart_a_task(service, erin) -> None:  # type: ignore[no-untyped-def]
    rid = service.submit(erin, "password-reset", Channel.PORTAL).id
    request = service.fail_task(rid, "reset", AGENT, "directory down")
    assert request.task("reset").state is TaskState.FAILED
    assert request.state is RequestState.IN_FULFILLMENT
    assert any(
        isinstance(e, ev.NotificationRequested) and e.notification.kind == "task_failed"
        for e in service.history(rid)
    )
    request = service.start_task(rid, "reset", AGENT)
    assert request.task("reset").state is TaskState.IN_PROGRESS
    # starting a started task changes nothing
    assert service.start_task(rid, "reset", AGENT).version == request.version


def test_delivery_confirmation_only_by_requester(service, worker, supplier, phone, erin) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    service.skip_task(phone, "order", AGENT, "stock")
    service.complete_task(phone, "prepare", AGENT)
    with pytest.raises(AuthorizationError):
        service.confirm_delivery(phone, AGENT)
    service.ship(phone, "deliver", AGENT, tracking="T1")
    request = service.dispute_delivery(phone, erin.id, "not here")
    assert request.task("deliver").shipped is False
    service.ship(phone, "deliver", AGENT, tracking="T2")
    request = service.confirm_delivery(phone, erin.id)
    assert request.state is RequestState.FULFILLED
    worker.run_pending()
    assert service.get(phone).state is RequestState.CLOSED


def test_feedback_once_only_by_requester_after_closure(service, erin) -> None:  # type: ignore[no-untyped-def]
    rid = service.submit(erin, "password-reset", Channel.PORTAL).id
    with pytest.raises(TransitionError):
        service.record_feedback(rid, erin.id, 5)
    service.complete_task(rid, "reset", AGENT)
    service.close(rid, AGENT)
    with pytest.raises(AuthorizationError):
        service.record_feedback(rid, AGENT, 5)
    with pytest.raises(ValidationError):
        service.record_feedback(rid, erin.id, 6)
    request = service.record_feedback(rid, erin.id, 2, "slow")
    assert request.feedback is not None
    assert request.feedback.rating == 2
    assert isinstance(service.history(rid)[-1], ev.ReviewRequested)
    with pytest.raises(TransitionError):
        service.record_feedback(rid, erin.id, 4)


def test_cancel_by_requester_or_group_only(service, phone, erin) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AuthorizationError):
        service.cancel(phone, "ida.admin", "no")
    request = service.cancel(phone, erin.id, "changed my mind")
    assert request.state is RequestState.CANCELLED
    with pytest.raises(TransitionError):
        service.cancel(phone, erin.id, "again")


def test_cancel_compensates_open_orders(service, worker, supplier, phone, erin) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    worker.run_pending()
    service.cancel(phone, erin.id, "left the company")
    worker.run_pending()
    assert supplier.order_for(phone).status is OrderStatus.CANCELLED
    assert any(isinstance(e, ev.SupplierOrderCancelRequested) for e in service.history(phone))


def test_cancel_before_the_order_is_placed_places_nothing(
    service, worker, supplier, phone, erin
) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    service.cancel(phone, erin.id, "oops")
    worker.run_pending()
    assert supplier.orders == []
    assert supplier.place_calls == 0


def test_supplier_updates_forward_only_and_idempotent(service, worker, supplier, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    worker.run_pending()
    ref = supplier.order_for(phone).ref
    v1 = service.record_supplier_update("acme-mobile", ref, OrderStatus.SHIPPED).version
    assert service.record_supplier_update("acme-mobile", ref, OrderStatus.SHIPPED).version == v1
    assert service.record_supplier_update("acme-mobile", ref, OrderStatus.CONFIRMED).version == v1
    request = service.record_supplier_update("acme-mobile", ref, OrderStatus.DELIVERED)
    assert request.task("order").state is TaskState.DONE
    assert request.task("prepare").state is TaskState.IN_PROGRESS
    with pytest.raises(NotFoundError):
        service.record_supplier_update("acme-mobile", "NOPE", OrderStatus.SHIPPED)
    with pytest.raises(NotFoundError):
        service.record_supplier_update("globex", ref, OrderStatus.SHIPPED)


def test_worker_retries_with_backoff_then_succeeds(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    from reqfulfill.testing import demo_catalog

    supplier = FakeSupplier("acme-mobile", fail_first=2)
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[supplier], clock=clock, load_entrypoints=False
    )
    worker = Worker(service, allow_missing=True, seed=1)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    worker.run_pending()
    assert supplier.orders == []
    outbox = service.store.outbox()  # type: ignore[attr-defined]
    entry = next(e for e in outbox if e.kind == "SupplierOrderRequested")
    assert entry.attempts == 1
    assert entry.available_at > clock.now()
    clock.advance(hours=1)
    worker.run_pending()
    clock.advance(hours=1)
    worker.run_pending()
    assert len(supplier.orders) == 1
    assert service.get(rid).task("order").order_ref == supplier.orders[0].ref


def test_permanent_supplier_error_fails_the_task(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    from reqfulfill.testing import demo_catalog

    supplier = FakeSupplier("acme-mobile", reject=True)
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[supplier], clock=clock, load_entrypoints=False
    )
    worker = Worker(service, allow_missing=True)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    worker.run_pending()
    request = service.get(rid)
    assert request.task("order").state is TaskState.FAILED
    assert "not sold" in request.task("order").reason
    # an agent switches to stock: restart is possible, skipping too
    supplier.reject = False
    request = service.start_task(rid, "order", AGENT)
    worker.run_pending()
    assert len(supplier.orders) == 1


def test_retries_stop_after_max_attempts(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    from reqfulfill.testing import demo_catalog

    supplier = FakeSupplier("acme-mobile", fail_first=100)
    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[supplier], clock=clock, load_entrypoints=False
    )
    worker = Worker(service, allow_missing=True, max_attempts=3)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    for _ in range(5):
        worker.run_pending()
        clock.advance(hours=2)
    assert supplier.place_calls == 3
    assert service.get(rid).task("order").state is TaskState.FAILED


def test_automation_runs_through_the_hook(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    from reqfulfill import hookimpl
    from reqfulfill.testing import demo_catalog

    calls: list[str] = []

    class Grants:
        @hookimpl
        def reqfulfill_run_automation(self, task, request, idempotency_key):  # type: ignore[no-untyped-def]
            calls.append(idempotency_key)
            return {"granted": task.key}

    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[Grants()], clock=clock, load_entrypoints=False
    )
    rid = service.submit(erin, "crm-access", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    Worker(service, allow_missing=True).run_pending()
    request = service.get(rid)
    assert request.task("grant").state is TaskState.DONE
    assert request.task("grant").result == {"granted": "grant"}
    assert request.task("verify").state is TaskState.IN_PROGRESS
    assert len(calls) == 1
    with pytest.raises(AuthorizationError):  # the verify task belongs to identity
        service.complete_task(rid, "verify", AGENT)
    assert service.complete_task(rid, "verify", "ida.admin").state is RequestState.FULFILLED


def test_plugin_approvers_widen_approval(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    from reqfulfill import hookimpl
    from reqfulfill.testing import demo_catalog

    class Delegates:
        @hookimpl
        def reqfulfill_approvers(self, request):  # type: ignore[no-untyped-def]
            return ["deputy", request.requester.id]

    service = FulfillmentService(
        demo_catalog(),
        store="memory://",
        plugins=[Delegates()],
        clock=clock,
        load_entrypoints=False,
    )
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    with pytest.raises(AuthorizationError):
        service.approve(rid, erin.id)
    assert service.approve(rid, "deputy").state is RequestState.IN_FULFILLMENT


def test_wait_and_resume_pause_the_sla(service, clock, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    request = service.wait(phone, AGENT, "waiting for the requester")
    assert request.state is RequestState.WAITING
    assert request.sla.paused
    used = request.sla.used
    clock.advance(days=3)
    request = service.resume(phone, AGENT)
    assert request.state is RequestState.IN_FULFILLMENT
    assert not request.sla.paused
    assert request.sla.used == used


def test_reprioritize_keeps_used_time(service, clock, phone) -> None:  # type: ignore[no-untyped-def]
    approved(service, phone)
    clock.advance(hours=2)
    request = service.reprioritize(phone, AGENT, impact=Impact.HIGH, urgency=Urgency.HIGH)
    assert request.priority is Priority.CRITICAL
    assert request.sla.target == service.sla.target_for(Priority.CRITICAL)
    assert request.sla.used > timedelta(0)


def test_queue_and_progress(service, clock, phone, erin) -> None:  # type: ignore[no-untyped-def]
    clock.advance(minutes=1)
    other = service.submit(erin, "password-reset", Channel.PORTAL).id
    assert [r.id for r in service.queue(group="service-desk")] == [other]
    approved(service, phone)
    assert [r.id for r in service.queue(group="service-desk")] == [phone, other]
    assert [r.id for r in service.queue(state="awaiting_approval")] == []
    progress = service.progress(phone)
    assert progress.state == "in_fulfillment"
    assert progress.waiting_on == "the stock room: reserving"
    assert "Take the phone from stock, or order it from the supplier" in progress.open


def test_observers_see_committed_events(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    from reqfulfill import hookimpl
    from reqfulfill.testing import demo_catalog

    seen: list[str] = []

    class Audit:
        @hookimpl
        def reqfulfill_on_event(self, event):  # type: ignore[no-untyped-def]
            seen.append(event.type)

    service = FulfillmentService(
        demo_catalog(), store="memory://", plugins=[Audit()], clock=clock, load_entrypoints=False
    )
    rid = service.submit(erin, "password-reset", Channel.PORTAL).id
    assert seen == [e.type for e in service.history(rid)]


def test_decide_rejects_commands_on_missing_request() -> None:
    from datetime import UTC, datetime

    from reqfulfill.testing import demo_catalog

    context = lifecycle.Context(catalog=demo_catalog(), now=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(TransitionError):
        lifecycle.decide(None, lifecycle.Approve(actor=MANAGER), context)
