"""``progress()`` of a request whose supplier order or automation failed says what
failed and who must act, instead of "being worked on"; after a restart it is back
to the usual words."""

from __future__ import annotations

import pytest

from reqfulfill import (
    AutomationError,
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    TaskState,
    Worker,
    hookimpl,
)
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

MANAGER = "max.manager"
AGENT = "sam.agent"


class RefusingRunner:
    @hookimpl
    def reqfulfill_run_automation(self, task, request, idempotency_key):  # type: ignore[no-untyped-def]
        raise AutomationError("the CRM refuses new accounts today", retryable=False)


def make(*plugins: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store="memory://", plugins=plugins, clock=FixedClock(),
        load_entrypoints=False,
    )  # fmt: skip


def test_a_refused_supplier_order_says_what_failed_and_who_acts() -> None:
    supplier = FakeSupplier("acme-mobile", reject=True)
    service = make(supplier)
    rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    Worker(service).run_pending()
    assert service.get(rid).task("order").state is TaskState.FAILED
    progress = service.progress(rid)
    assert progress.summary == (
        "Your request for iphone-15 is held up: the order from supplier acme-mobile failed; "
        "the support group service-desk must restart or skip it."
    )
    assert progress.waiting_on == (
        "the support group service-desk to restart or skip "
        "'Take the phone from stock, or order it from the supplier'"
    )
    assert progress.failed == ("Take the phone from stock, or order it from the supplier",)
    service.claim(rid, AGENT)  # an agent holds it now: they are the one to act
    assert service.progress(rid).waiting_on.startswith(f"{AGENT} to restart or skip")
    # restarted: back to the usual words
    supplier.reject = False
    service.start_task(rid, "order", AGENT)
    progress = service.progress(rid)
    assert progress.failed == ()
    assert progress.summary == "Your request for iphone-15 is being worked on."
    # a restarted stock_or_order task asks the stock room again first
    assert progress.waiting_on == "the stock room: reserving"


def test_a_failed_automation_says_so() -> None:
    service = make(RefusingRunner())
    rid = service.submit(demo_requester(), "crm-access", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    Worker(service, allow_missing=True).run_pending()
    progress = service.progress(rid)
    assert "the automated step 'Grant the access right' failed" in progress.summary
    assert "the support group identity must restart or skip it" in progress.summary
    assert progress.failed == ("Grant the access right",)


def test_the_group_is_told_what_to_do() -> None:
    service = make(FakeSupplier("acme-mobile", reject=True))
    rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    Worker(service).run_pending()
    (note,) = [
        e.notification
        for e in service.history(rid)
        if e.type == "NotificationRequested" and e.notification.kind == "task_failed"
    ][:1]
    assert "restart the task, skip it (done another way), or cancel the request" in note.body
    assert "Take the phone from stock, or order it from the supplier" in note.body


@pytest.mark.parametrize("status", [OrderStatus.FAILED, OrderStatus.CANCELLED])
def test_an_order_the_supplier_fails_later_says_so_too(status: OrderStatus) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = make(supplier)
    rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    Worker(service).run_pending()
    ref = supplier.order_for(rid).ref
    service.record_supplier_update("acme-mobile", ref, status)
    assert service.progress(rid).failed == (
        "Take the phone from stock, or order it from the supplier",
    )
    assert "the order from supplier acme-mobile failed" in service.progress(rid).summary
