"""The worker's crash and compensation paths, held notifications, notification keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from _catalogs import ordering_catalog

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    RequestState,
    TaskState,
    Worker,
    hookimpl,
)
from reqfulfill.model import events as ev
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing import FakeSupplier

MANAGER = "max.manager"
AGENT = "sam.agent"


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


class CrashAfterPlacing(FakeSupplier):
    def __init__(self) -> None:
        super().__init__("acme-mobile")
        self.crash = True

    def place_order(self, order, idempotency_key):  # type: ignore[no-untyped-def]
        receipt = super().place_order(order, idempotency_key)
        if self.crash:
            self.crash = False
            raise Crash
        return receipt


class Inbox:
    def __init__(self) -> None:
        self.got: list[object] = []

    @hookimpl
    def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
        self.got.append(notification)


def make(clock: FixedClock, *plugins: object, sla: SlaPolicy | None = None) -> FulfillmentService:
    return FulfillmentService(
        ordering_catalog(),
        sla=sla,
        store="memory://",
        plugins=list(plugins),
        clock=clock,
        load_entrypoints=False,
    )


def test_crash_after_the_order_is_placed_is_compensated(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    supplier = CrashAfterPlacing()
    service = make(clock, supplier)
    worker = Worker(service, allow_missing=True, lease=timedelta(minutes=5))
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    with pytest.raises(Crash):
        worker.run_pending()
    assert len(supplier.orders) == 1  # placed, but the outcome was never recorded
    attempted = [e for e in service.history(rid) if isinstance(e, ev.EffectAttempted)]
    assert len(attempted) == 1
    service.skip_task(rid, "order", AGENT, "taken from stock")
    clock.advance(minutes=6)  # the dead worker's lease lapses
    Worker(service, allow_missing=True).run_pending()
    assert len(supplier.orders) == 1  # the same key: no second order
    assert supplier.duplicate_calls == 1
    assert supplier.orders[0].status is OrderStatus.CANCELLED


def test_late_order_after_closure_is_cancelled(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    supplier = FakeSupplier("acme-mobile", fail_first=1)
    service = make(clock, supplier)
    worker = Worker(service, allow_missing=True, seed=3)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    worker.run_pending()  # first attempt fails, retry scheduled
    service.skip_task(rid, "order", AGENT, "stock")
    service.complete_task(rid, "prepare", AGENT)
    service.confirm_delivery(rid, erin.id)
    worker.run_pending()
    assert service.get(rid).state is RequestState.CLOSED
    clock.advance(hours=2)
    worker.run_pending()  # the retry places the order: compensate it
    assert [o.status for o in supplier.orders] == [OrderStatus.CANCELLED]
    kinds = [type(e) for e in service.history(rid)]
    assert ev.SupplierOrderPlaced in kinds
    assert ev.SupplierOrderCancelRequested in kinds
    assert service.get(rid).state is RequestState.CLOSED


def test_cancel_before_any_attempt_places_nothing(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, supplier)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    service.cancel(rid, erin.id, "changed my mind")
    Worker(service, allow_missing=True).run_pending()
    assert supplier.place_calls == 0


def test_plugin_approvers_are_asked_at_submit(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    class Deputies:
        @hookimpl
        def reqfulfill_approvers(self, request):  # type: ignore[no-untyped-def]
            assert request.item == "iphone-15"
            return ["deputy"]

    service = make(clock, Deputies())
    request = service.submit(erin, "iphone-15", Channel.PORTAL)
    assert request.approvers == ("deputy", MANAGER)


def test_notifications_carry_their_key(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    inbox = Inbox()
    service = make(clock, inbox)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    Worker(service, allow_missing=True).run_pending()
    requested = [e for e in service.history(rid) if isinstance(e, ev.NotificationRequested)]
    assert [n.key for n in inbox.got] == [e.event_id for e in requested]  # type: ignore[attr-defined]


def test_agent_notifications_wait_for_business_hours(erin) -> None:  # type: ignore[no-untyped-def]
    # Saturday night in Helsinki: the calendar is closed until Monday 08:00 local time
    clock = FixedClock(datetime(2026, 3, 7, 21, 0, tzinfo=UTC))
    inbox = Inbox()
    service = make(clock, inbox, sla=SlaPolicy.default())
    worker = Worker(service, allow_missing=True)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    worker.run_pending()
    assert inbox.got == []  # the manager's approval request is held
    held = next(e for e in service.history(rid) if isinstance(e, ev.NotificationRequested))
    assert held.not_before == datetime(2026, 3, 9, 6, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 9, 6, 0, tzinfo=UTC))
    worker.run_pending()
    assert len(inbox.got) == 1


def test_requester_notifications_are_not_held(erin) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(datetime(2026, 3, 7, 21, 0, tzinfo=UTC))
    inbox = Inbox()
    service = make(clock, inbox, sla=SlaPolicy.default())
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.reject(rid, MANAGER, "no budget")
    Worker(service, allow_missing=True).run_pending()
    assert [n.kind for n in inbox.got] == ["request_rejected"]  # type: ignore[attr-defined]


def test_failed_notification_is_recorded_as_abandoned(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        @hookimpl
        def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
            raise OSError("smtp down")

    service = make(clock, Broken())
    worker = Worker(service, allow_missing=True, max_attempts=2)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    worker.run_pending()
    clock.advance(hours=1)
    worker.run_pending()
    abandoned = [e for e in service.history(rid) if isinstance(e, ev.EffectAbandoned)]
    assert len(abandoned) == 1
    assert "smtp down" in abandoned[0].reason
    assert abandoned[0].effect_type == "NotificationRequested"


def test_a_failing_poll_does_not_stop_the_worker(clock: FixedClock, erin) -> None:  # type: ignore[no-untyped-def]
    class Flaky(FakeSupplier):
        def order_status(self, ref):  # type: ignore[no-untyped-def]
            raise RuntimeError("garbage from the supplier")

    supplier = Flaky("acme-mobile")
    service = make(clock, supplier)
    worker = Worker(service, allow_missing=True)
    rid = service.submit(erin, "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    worker.run_pending()
    clock.advance(minutes=16)
    worker.run_pending()  # must not raise
    assert service.get(rid).task("order").state is TaskState.IN_PROGRESS
    due = service.store.due_timers(clock.now() + timedelta(minutes=16))
    assert [t.key for t in due] == ["poll"]  # polled again later
