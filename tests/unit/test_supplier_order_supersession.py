"""A restarted supplier-order task cancels the order it replaces, even one placed late."""

from __future__ import annotations

from typing import Any

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    SupplierError,
    TaskState,
    Worker,
)
from reqfulfill.model import events as ev
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

ERIN = demo_requester()
AGENT = "sam.agent"
MANAGER = "max.manager"


def make(clock: FixedClock, *plugins: object, **options: Any) -> FulfillmentService:
    """A service on the demo catalog with ``plugins`` only (no entry points)."""
    options.setdefault("store", "memory://")
    return FulfillmentService(
        demo_catalog(), plugins=list(plugins), clock=clock, load_entrypoints=False, **options
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
