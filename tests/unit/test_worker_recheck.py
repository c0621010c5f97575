"""Nothing runs after a cancel: every effect is checked against the request as it stands
when it is about to run, and one the request no longer wants is abandoned (never run)
with its reason in the history. Per effect kind: supplier orders, automations,
notifications (held until business hours or not), order cancellations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _catalogs import ordering_catalog

from reqfulfill import (
    AutomationError,
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    RequestState,
    TaskState,
    Worker,
    hookimpl,
    lifecycle,
)
from reqfulfill.lifecycle.wanted import ACTION_NOTICES, notice_unwanted, task_effect_unwanted
from reqfulfill.model import events as ev
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import TaskKind
from reqfulfill.model.request import Approval, ServiceRequest, Task
from reqfulfill.model.supplier import Notification
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing import FakeSupplier

MANAGER = "max.manager"
AGENT = "sam.agent"
ADMIN = "ida.admin"
SATURDAY_NIGHT = datetime(2026, 3, 7, 21, 0, tzinfo=UTC)  # the calendar is closed
MONDAY_OPEN = datetime(2026, 3, 9, 6, 0, tzinfo=UTC)  # 08:00 in Helsinki


class Inbox:
    """A notifier that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.got: list[Notification] = []

    @hookimpl
    def reqfulfill_notify(self, notification: Notification) -> None:
        self.got.append(notification)

    def kinds(self) -> list[str]:
        return [n.kind for n in self.got]


class Grants:
    """An automation runner that counts its runs; scripted outcomes first."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.keys: list[str] = []

    @hookimpl
    def reqfulfill_run_automation(
        self, task: Task, request: ServiceRequest, idempotency_key: str
    ) -> Mapping[str, Any] | None:
        self.keys.append(idempotency_key)
        outcome = self.outcomes.pop(0) if self.outcomes else {"granted": True}
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, dict)
        return outcome


def make(clock: FixedClock, *plugins: object, sla: SlaPolicy | None = None) -> FulfillmentService:
    return FulfillmentService(
        ordering_catalog(),
        sla=sla,
        store="memory://",
        plugins=list(plugins),
        clock=clock,
        load_entrypoints=False,
    )


def effect_ids(service: FulfillmentService, rid: str, cls: type[ev.Event]) -> list[str]:
    return [e.event_id for e in service.history(rid) if isinstance(e, cls)]


def abandoned(service: FulfillmentService, rid: str) -> dict[str, ev.EffectAbandoned]:
    return {e.effect_id: e for e in service.history(rid) if isinstance(e, ev.EffectAbandoned)}


def notice_id(service: FulfillmentService, rid: str, kind: str) -> str:
    (found,) = [
        e.event_id
        for e in service.history(rid)
        if isinstance(e, ev.NotificationRequested) and e.notification.kind == kind
    ]
    return found


def assert_off_the_outbox(service: FulfillmentService) -> None:
    assert service.store.outbox() == []  # type: ignore[attr-defined]


# -- automations ----------------------------------------------------------------------------


def crm_request(service: FulfillmentService, erin: Requester) -> str:
    rid = service.submit(erin, "crm-access", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    return rid


def test_automation_of_a_cancelled_request_never_runs(clock: FixedClock, erin: Requester) -> None:
    grants = Grants()
    service = make(clock, grants)
    rid = crm_request(service, erin)
    (key,) = effect_ids(service, rid, ev.AutomationRequested)
    service.cancel(rid, erin.id, "not needed after all")
    Worker(service, allow_missing=True).run_pending()
    assert grants.keys == []
    given_up = abandoned(service, rid)[key]
    assert given_up.effect_type == "AutomationRequested"
    assert given_up.reason == "no longer wanted: request cancelled"
    assert given_up.actor == lifecycle.WORKER
    assert key in service.get(rid).settled
    assert_off_the_outbox(service)


def test_automation_of_a_skipped_task_never_runs(clock: FixedClock, erin: Requester) -> None:
    grants = Grants()
    service = make(clock, grants)
    rid = crm_request(service, erin)
    (key,) = effect_ids(service, rid, ev.AutomationRequested)
    service.skip_task(rid, "grant", ADMIN, "granted by hand")
    Worker(service, allow_missing=True).run_pending()
    assert grants.keys == []
    assert abandoned(service, rid)[key].reason == "no longer wanted: task skipped"
    assert service.get(rid).task("verify").state is TaskState.IN_PROGRESS


def test_automation_of_a_failed_task_never_runs(clock: FixedClock, erin: Requester) -> None:
    grants = Grants()
    service = make(clock, grants)
    rid = crm_request(service, erin)
    (key,) = effect_ids(service, rid, ev.AutomationRequested)
    service.fail_task(rid, "grant", ADMIN, "the directory is being migrated")
    Worker(service, allow_missing=True).run_pending()
    assert grants.keys == []
    assert abandoned(service, rid)[key].reason == "no longer wanted: task failed"


def test_restarted_task_runs_only_its_new_automation(clock: FixedClock, erin: Requester) -> None:
    grants = Grants()
    service = make(clock, grants)
    rid = crm_request(service, erin)
    service.fail_task(rid, "grant", ADMIN, "wrong group")
    service.start_task(rid, "grant", ADMIN)
    old, new = effect_ids(service, rid, ev.AutomationRequested)
    Worker(service, allow_missing=True).run_pending()
    assert grants.keys == [new]
    reason = abandoned(service, rid)[old].reason
    assert reason == "no longer wanted: task restarted: a newer effect replaces this one"
    assert service.get(rid).task("grant").state is TaskState.DONE


def test_automation_that_ran_before_a_late_cancel_is_in_the_history(
    clock: FixedClock, erin: Requester
) -> None:
    """The window that remains: a cancel that commits after the worker's check. The
    automation runs; the history shows the cancel and then the run, its result unused."""
    service: FulfillmentService

    class CancelsWhileRunning(Grants):
        @hookimpl
        def reqfulfill_run_automation(  # type: ignore[override]
            self, task: Task, request: ServiceRequest, idempotency_key: str
        ) -> Mapping[str, Any] | None:
            service.cancel(request.id, erin.id, "changed my mind meanwhile")
            return super().reqfulfill_run_automation(task, request, idempotency_key)

    grants = CancelsWhileRunning()
    service = make(clock, grants)
    rid = crm_request(service, erin)
    (key,) = effect_ids(service, rid, ev.AutomationRequested)
    Worker(service, allow_missing=True).run_pending()
    assert grants.keys == [key]
    history = service.history(rid)
    cancelled = next(i for i, e in enumerate(history) if e.type == "RequestCancelled")
    ran = next(
        i for i, e in enumerate(history) if isinstance(e, ev.EffectAbandoned) and e.effect_id == key
    )
    assert cancelled < ran
    reason = abandoned(service, rid)[key].reason
    assert reason.startswith("ran, but no longer wanted: request cancelled")
    assert service.get(rid).task("grant").state is TaskState.IN_PROGRESS  # result not applied
    assert_off_the_outbox(service)


# -- supplier orders ------------------------------------------------------------------------


def phone_request(service: FulfillmentService, erin: Requester) -> str:
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    return rid


@pytest.mark.parametrize(
    ("move", "reason"),
    [
        (lambda s, rid, who: s.cancel(rid, who, "no"), "request cancelled"),
        (lambda s, rid, who: s.skip_task(rid, "order", AGENT, "from stock"), "task skipped"),
        (lambda s, rid, who: s.fail_task(rid, "order", AGENT, "supplier gone"), "task failed"),
    ],
    ids=["cancelled", "skipped", "failed"],
)
def test_supplier_order_no_longer_wanted_is_never_placed(
    clock: FixedClock, erin: Requester, move: Any, reason: str
) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, supplier)
    rid = phone_request(service, erin)
    (key,) = effect_ids(service, rid, ev.SupplierOrderRequested)
    move(service, rid, erin.id)
    Worker(service, allow_missing=True).run_pending()
    assert supplier.place_calls == 0
    assert abandoned(service, rid)[key].reason == f"no longer wanted: {reason}"
    assert key not in service.get(rid).attempted  # never attempted either
    assert_off_the_outbox(service)


def test_restarted_order_task_places_only_the_new_order(clock: FixedClock, erin: Requester) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, supplier)
    rid = phone_request(service, erin)
    service.fail_task(rid, "order", AGENT, "wrong model")
    service.start_task(rid, "order", AGENT)
    old, new = effect_ids(service, rid, ev.SupplierOrderRequested)
    Worker(service, allow_missing=True).run_pending()
    assert [o.idempotency_key for o in supplier.orders] == [new]
    assert "task restarted" in abandoned(service, rid)[old].reason


def test_cancel_between_the_read_and_the_attempt_places_nothing(
    clock: FixedClock, erin: Requester
) -> None:
    """The decider refuses the first attempt of an order no longer wanted: a cancel that
    commits after the worker read the request still stops the order."""
    service: FulfillmentService
    rid = ""

    class CancelsOnLookup(FakeSupplier):
        @hookimpl
        def reqfulfill_supplier_connectors(self) -> list[FakeSupplier]:
            # asked for the connector after the worker's read, before the attempt
            service.cancel(rid, erin.id, "cancelled at the last moment")
            return [self]

    supplier = CancelsOnLookup("acme-mobile")
    service = make(clock, supplier)
    rid = phone_request(service, erin)
    (key,) = effect_ids(service, rid, ev.SupplierOrderRequested)
    Worker(service, allow_missing=True).run_pending()
    assert supplier.place_calls == 0
    assert not any(isinstance(e, ev.EffectAttempted) for e in service.history(rid))
    assert abandoned(service, rid)[key].reason == "no longer wanted: request cancelled"
    assert_off_the_outbox(service)


def test_order_cancellation_is_still_wanted_after_a_cancel(
    clock: FixedClock, erin: Requester
) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, supplier)
    worker = Worker(service, allow_missing=True)
    rid = phone_request(service, erin)
    worker.run_pending()
    assert len(supplier.orders) == 1
    service.cancel(rid, erin.id, "no longer needed")
    worker.run_pending()
    assert supplier.cancel_calls == 1
    assert supplier.orders[0].status is OrderStatus.CANCELLED
    (cancel,) = effect_ids(service, rid, ev.SupplierOrderCancelRequested)
    assert cancel in service.get(rid).settled
    assert cancel not in abandoned(service, rid)
    assert service.get(rid).task("order").order_status is OrderStatus.CANCELLED


def test_cancel_request_for_an_order_never_placed_says_so(
    clock: FixedClock, erin: Requester
) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, supplier)
    rid = phone_request(service, erin)
    service.cancel(rid, erin.id, "no")
    (cancel,) = effect_ids(service, rid, ev.SupplierOrderCancelRequested)
    Worker(service, allow_missing=True).run_pending()
    assert supplier.cancel_calls == 0
    assert abandoned(service, rid)[cancel].reason == (
        "nothing to cancel: the order was never placed"
    )


# -- notifications --------------------------------------------------------------------------


def weekend(*plugins: object) -> tuple[FixedClock, FulfillmentService]:
    clock = FixedClock(SATURDAY_NIGHT)
    return clock, make(clock, *plugins, sla=SlaPolicy.default())


@pytest.mark.parametrize(
    ("decide", "reason", "told"),
    [
        (lambda s, rid, who: s.approve(rid, MANAGER), "request approved", None),
        (lambda s, rid, who: s.reject(rid, MANAGER, "no"), "request rejected", "request_rejected"),
        (lambda s, rid, who: s.cancel(rid, who, "no"), "request cancelled", "request_cancelled"),
    ],
    ids=["approved", "rejected", "cancelled"],
)
def test_held_approval_request_is_not_sent_once_decided(
    erin: Requester, decide: Any, reason: str, told: str | None
) -> None:
    inbox = Inbox()
    clock, service = weekend(inbox)
    worker = Worker(service, allow_missing=True)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    key = notice_id(service, rid, "approval_requested")
    worker.run_pending()
    assert inbox.got == []  # held until Monday morning
    decide(service, rid, erin.id)
    worker.run_pending()  # the requester hears at once; the approver's notice still waits
    assert inbox.kinds() == ([told] if told else [])
    clock.set(MONDAY_OPEN)
    worker.run_pending()
    assert "approval_requested" not in inbox.kinds()
    given_up = abandoned(service, rid)[key]
    assert given_up.reason == f"no longer wanted: {reason}"
    assert given_up.effect_type == "NotificationRequested"
    assert service.get(rid).pending_notifications == {}
    assert_off_the_outbox(service)


def test_held_approval_request_still_pending_is_sent(erin: Requester) -> None:
    inbox = Inbox()
    clock, service = weekend(inbox)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    clock.set(MONDAY_OPEN)
    Worker(service, allow_missing=True).run_pending()
    assert inbox.kinds() == ["approval_requested"]
    assert abandoned(service, rid) == {}


def test_held_task_failed_notice_is_dropped_once_the_task_is_restarted(
    erin: Requester,
) -> None:
    inbox = Inbox()
    grants = Grants(AutomationError("no such user", retryable=False))
    clock, service = weekend(inbox, grants)
    worker = Worker(service, allow_missing=True)
    rid = crm_request(service, erin)
    worker.run_pending()  # the automation fails for good: the group's notice is held
    assert service.get(rid).task("grant").state is TaskState.FAILED
    failed_notices = [
        e.event_id
        for e in service.history(rid)
        if isinstance(e, ev.NotificationRequested) and e.notification.kind == "task_failed"
    ]
    assert failed_notices
    service.start_task(rid, "grant", ADMIN)
    worker.run_pending()
    assert service.get(rid).task("grant").state is TaskState.DONE
    clock.set(MONDAY_OPEN)
    worker.run_pending()
    assert "task_failed" not in inbox.kinds()
    given_up = abandoned(service, rid)
    for key in failed_notices:
        assert given_up[key].reason == (
            "no longer wanted: no task is failed any more (restarted or skipped)"
        )


def test_notices_to_the_requester_are_sent_after_a_cancel(
    clock: FixedClock, erin: Requester
) -> None:
    inbox = Inbox()
    service = make(clock, inbox)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.cancel(rid, erin.id, "no")
    Worker(service, allow_missing=True).run_pending()
    assert inbox.kinds() == ["request_cancelled"]
    assert [a.effect_type for a in abandoned(service, rid).values()] == ["NotificationRequested"]
    assert service.get(rid).state is RequestState.CANCELLED


def test_a_notice_sent_before_a_late_cancel_shows_both(clock: FixedClock, erin: Requester) -> None:
    service: FulfillmentService

    class CancelsWhileSending(Inbox):
        @hookimpl
        def reqfulfill_notify(self, notification: Notification) -> None:
            super().reqfulfill_notify(notification)
            if notification.kind == "approval_requested":
                service.cancel(notification.request_id, erin.id, "too late")

    inbox = CancelsWhileSending()
    service = make(clock, inbox)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    Worker(service, allow_missing=True).run_pending()
    assert inbox.kinds() == ["approval_requested", "request_cancelled"]
    types = [e.type for e in service.history(rid)]
    assert types.index("RequestCancelled") < types.index("NotificationSent")
    assert abandoned(service, rid) == {}


# -- the check itself -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ACTION_NOTICES))
def test_action_notices_are_unwanted_once_the_request_ended(kind: str) -> None:
    for state, reason in [
        (RequestState.CANCELLED, "request cancelled"),
        (RequestState.REJECTED, "request rejected"),
        (RequestState.CLOSED, "request closed"),
    ]:
        assert notice_unwanted(state, None, (), kind) == reason


@pytest.mark.parametrize(
    "kind",
    [
        "request_rejected",
        "request_cancelled",
        "request_closed",
        "request_fulfilled",
        "item_shipped",
    ],
)
def test_notices_telling_the_requester_what_happened_are_always_wanted(kind: str) -> None:
    assert kind not in ACTION_NOTICES
    for state in RequestState:
        assert notice_unwanted(state, None, (), kind) is None


# -- the table in docs/worker.md is the code's -----------------------------------------------

WORKER_DOC = Path(__file__).resolve().parents[2] / "docs" / "worker.md"
COLUMNS = {
    "submitted, triage": RequestState.TRIAGE,
    "awaiting approval": RequestState.AWAITING_APPROVAL,
    "approved": RequestState.APPROVED,
    "in fulfillment, waiting": RequestState.IN_FULFILLMENT,
    "fulfilled": RequestState.FULFILLED,
    "closed": RequestState.CLOSED,
    "cancelled": RequestState.CANCELLED,
    "rejected": RequestState.REJECTED,
}


def _approval(state: RequestState) -> Approval | None:
    at = datetime(2026, 3, 2, tzinfo=UTC)
    if state is RequestState.REJECTED:
        return Approval(False, MANAGER, at, "no")
    if state in (RequestState.TRIAGE, RequestState.AWAITING_APPROVAL, RequestState.CANCELLED):
        return None
    return Approval(True, MANAGER, at)


def _task(state: TaskState) -> Task:
    return Task("grant", TaskKind.AUTOMATED, "Grant", state=state, order_effect="R-1/9")


FAILED = (Task("prepare", TaskKind.MANUAL, "Prepare", state=TaskState.FAILED),)
ROWS: dict[str, Callable[[RequestState, Approval | None], str | None]] = {
    "order or automation: its task in progress, this its current effect": lambda s, a: (
        task_effect_unwanted(s, a, _task(TaskState.IN_PROGRESS))
    ),
    "order or automation: its task skipped (failed, done)": lambda s, a: task_effect_unwanted(
        s, a, _task(TaskState.SKIPPED)
    ),
    "order or automation: its task restarted since": lambda s, a: task_effect_unwanted(s, a, None),
    "order cancellation": lambda s, a: None,
    "`approval_requested`": lambda s, a: notice_unwanted(s, a, (), "approval_requested"),
    "`task_failed`: a task is failed": lambda s, a: notice_unwanted(s, a, FAILED, "task_failed"),
    "`task_failed`: no task is failed": lambda s, a: notice_unwanted(s, a, (), "task_failed"),
    "`delivery_disputed`": lambda s, a: notice_unwanted(s, a, (), "delivery_disputed"),
    "`sla_warning`, `sla_manager_warning`, `escalated`": lambda s, a: notice_unwanted(
        s, a, (), "sla_warning"
    ),
    "`request_rejected`, `request_cancelled`, `request_fulfilled`, `request_closed`, "
    "`item_shipped`": lambda s, a: notice_unwanted(s, a, (), "request_closed"),
}


def test_the_wanted_table_in_the_docs_is_what_the_code_decides() -> None:
    text = WORKER_DOC.read_text(encoding="utf-8")
    lines = text.split("<!-- wanted-table -->", 1)[1].strip().splitlines()
    table = lines[: next(i for i, line in enumerate(lines) if not line.startswith("|"))]
    header, _rule, *rows = table
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells == ["effect", *COLUMNS]
    seen = []
    for line in rows:
        name, *answers = (c.strip() for c in line.strip("|").split("|"))
        seen.append(name)
        decide = ROWS[name]
        for column, answer in zip(COLUMNS, answers, strict=True):
            state = COLUMNS[column]
            reason = decide(state, _approval(state))
            assert answer == (reason or "run"), (name, column)
    assert seen == list(ROWS)
