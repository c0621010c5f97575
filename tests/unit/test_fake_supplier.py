"""FakeSupplier's knobs, its contract, and the supplier path through the service with it:
lagging and stale polls, duplicate and out-of-order pushes, rejection, delivery, cancellation."""

from __future__ import annotations

from pathlib import Path

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    RequestState,
    SupplierError,
    TaskState,
    Worker,
)
from reqfulfill.connectors import SupplierConnector
from reqfulfill.model import events as ev
from reqfulfill.model.supplier import OrderLine, SupplierOrder
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester
from reqfulfill.testing._journal import JournalSupplier
from reqfulfill.testing.contracts import SupplierConnectorContract

MANAGER = "max.manager"
AGENT = "sam.agent"


def an_order(item: str = "iphone-15") -> SupplierOrder:
    return SupplierOrder(
        "acme-mobile", "REQ-1", "order", (OrderLine(item),), "Helsinki", "erin.user", "REQ-1/order"
    )


class TestFakeSupplierContract(SupplierConnectorContract):
    @pytest.fixture
    def connector(self) -> FakeSupplier:
        return FakeSupplier("acme-mobile", reject_items={"pager"})

    @pytest.fixture
    def order(self) -> SupplierOrder:
        return an_order()

    @pytest.fixture
    def refused_order(self) -> SupplierOrder:
        return an_order("pager")

    @pytest.fixture
    def unreachable_connector(self) -> FakeSupplier:
        return FakeSupplier("acme-mobile", failure_rate=1.0)

    def advance_order(self, connector: SupplierConnector, ref: str) -> bool:
        assert isinstance(connector, FakeSupplier)
        following = {
            OrderStatus.PLACED: OrderStatus.CONFIRMED,
            OrderStatus.CONFIRMED: OrderStatus.SHIPPED,
            OrderStatus.SHIPPED: OrderStatus.DELIVERED,
        }.get(connector.order_status(ref))
        if following is None:
            return False
        connector.advance(ref, following)
        return True


class TestJournalSupplierContract(SupplierConnectorContract):
    can_refuse = False  # a journal for the crash soak: it accepts every order
    can_be_unreachable = False

    @pytest.fixture
    def connector(self, tmp_path: Path) -> JournalSupplier:
        return JournalSupplier("acme-mobile", tmp_path / "supplier.db", deliver_on_poll=False)

    @pytest.fixture
    def order(self) -> SupplierOrder:
        return an_order()


# -- knobs ---------------------------------------------------------------------------------


def test_latency_hides_each_change_for_that_many_polls() -> None:
    supplier = FakeSupplier("acme-mobile", latency=2)
    ref = supplier.place_order(an_order(), "k1").ref
    assert supplier.order_status(ref) is OrderStatus.PLACED
    supplier.advance(ref, OrderStatus.SHIPPED)
    assert [supplier.order_status(ref) for _ in range(3)] == [
        OrderStatus.PLACED,
        OrderStatus.PLACED,
        OrderStatus.SHIPPED,
    ]
    supplier.advance(ref, OrderStatus.DELIVERED)  # the lag applies to every change
    assert [supplier.order_status(ref) for _ in range(3)] == [
        OrderStatus.SHIPPED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    ]


def test_failure_rate_raises_retryable_errors_reproducibly() -> None:
    def failures(seed: int) -> list[bool]:
        supplier = FakeSupplier("acme-mobile", failure_rate=0.5, seed=seed)
        out = []
        retryable = []
        for i in range(40):
            try:
                supplier.place_order(an_order(), f"k{i}")
                out.append(False)
            except SupplierError as exc:
                retryable.append(exc.retryable)
                out.append(True)
        assert all(retryable)
        assert supplier.failures == sum(out)
        return out

    first = failures(1)
    assert 5 < sum(first) < 35
    assert failures(1) == first


def test_rejection_is_permanent() -> None:
    supplier = FakeSupplier("acme-mobile", reject_items={"iphone-15"})
    with pytest.raises(SupplierError) as info:
        supplier.place_order(an_order(), "k1")
    assert info.value.retryable is False
    assert "iphone-15" in info.value.message
    assert supplier.place_order(an_order("pixel-9"), "k2").ref
    with pytest.raises(SupplierError) as info:
        FakeSupplier("acme-mobile", reject=True).place_order(an_order("pixel-9"), "k3")
    assert info.value.retryable is False


def test_out_of_order_polls_report_only_statuses_the_order_held() -> None:
    supplier = FakeSupplier("acme-mobile", out_of_order=True, seed=5)
    ref = supplier.place_order(an_order(), "k1").ref
    supplier.advance(ref, OrderStatus.CONFIRMED)
    supplier.advance(ref, OrderStatus.SHIPPED)
    seen = [supplier.order_status(ref) for _ in range(50)]
    assert set(seen) <= {OrderStatus.PLACED, OrderStatus.CONFIRMED, OrderStatus.SHIPPED}
    assert seen.count(OrderStatus.SHIPPED) > 25
    assert supplier.stale_reports == 50 - seen.count(OrderStatus.SHIPPED) > 0


def test_pushes_can_come_twice_and_out_of_order() -> None:
    got: list[tuple[str, str, OrderStatus]] = []
    supplier = FakeSupplier(
        "acme-mobile",
        duplicates=True,
        out_of_order=True,
        webhook=lambda s, r, st: got.append((s, r, st)),
    )
    ref = supplier.place_order(an_order(), "k1").ref
    supplier.advance(ref, OrderStatus.SHIPPED)
    assert got == [
        ("acme-mobile", ref, OrderStatus.SHIPPED),
        ("acme-mobile", ref, OrderStatus.SHIPPED),
        ("acme-mobile", ref, OrderStatus.PLACED),  # the stale one, overtaken
    ]
    assert supplier.pushes == [(ref, s) for _, _, s in got]


def test_cancel_is_idempotent_per_key_and_too_late_after_delivery() -> None:
    supplier = FakeSupplier("acme-mobile")
    ref = supplier.place_order(an_order(), "k1").ref
    assert supplier.cancel_order(ref, "c1") is OrderStatus.CANCELLED
    assert supplier.cancel_order(ref, "c1") is OrderStatus.CANCELLED
    assert supplier.orders[0].cancel_keys == ["c1"]
    delivered = supplier.place_order(an_order(), "k2").ref
    supplier.advance(delivered, OrderStatus.DELIVERED)
    assert supplier.cancel_order(delivered, "c2") is OrderStatus.DELIVERED


def test_bad_knobs_are_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        FakeSupplier("acme-mobile", failure_rate=1.5)
    with pytest.raises(ValueError, match="polls"):
        FakeSupplier("acme-mobile", latency=-1)


# -- through the service ----------------------------------------------------------------------


def service_with(clock: FixedClock, supplier: FakeSupplier) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store="memory://", plugins=[supplier], clock=clock,
        load_entrypoints=False,
    )  # fmt: skip


def ordered(service: FulfillmentService, worker: Worker) -> str:
    rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    service.approve(rid, MANAGER)
    worker.run_pending()
    return rid


def recorded_statuses(service: FulfillmentService, rid: str) -> list[OrderStatus]:
    return [e.status for e in service.history(rid) if isinstance(e, ev.SupplierOrderUpdated)]


def test_polls_with_latency_and_stale_reports_only_move_forward(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile", latency=1, out_of_order=True, seed=3)
    service = service_with(clock, supplier)
    worker = Worker(service)
    rid = ordered(service, worker)
    ref = supplier.order_for(rid).ref
    for status in (OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        supplier.advance(ref, status)
        for _ in range(4):
            clock.advance(minutes=15)
            worker.run_pending()
    statuses = recorded_statuses(service, rid)
    assert statuses[-1] is OrderStatus.DELIVERED
    ranks = [s.rank for s in statuses]
    assert ranks == sorted(set(ranks))  # strictly forward, stale polls ignored
    assert supplier.stale_reports > 0
    assert service.get(rid).task("order").state is TaskState.DONE
    assert service.store.due_timers(clock.now().replace(year=2100)) == []  # polling stopped


def test_duplicate_and_out_of_order_pushes_are_recorded_once(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile", duplicates=True, out_of_order=True)
    service = service_with(clock, supplier)
    supplier.webhook = service.record_supplier_update
    worker = Worker(service)
    rid = ordered(service, worker)
    ref = supplier.order_for(rid).ref
    supplier.advance(ref, OrderStatus.SHIPPED)
    supplier.advance(ref, OrderStatus.DELIVERED)
    assert len(supplier.pushes) == 6
    assert recorded_statuses(service, rid) == [OrderStatus.SHIPPED, OrderStatus.DELIVERED]
    assert service.get(rid).task("order").state is TaskState.DONE


def test_permanent_rejection_fails_the_task_and_tells_the_group(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile", reject_items={"iphone-15"})
    service = service_with(clock, supplier)
    rid = ordered(service, Worker(service))
    assert supplier.place_calls == 1  # not retried
    assert service.get(rid).task("order").state is TaskState.FAILED
    notes = [e for e in service.history(rid) if isinstance(e, ev.NotificationRequested)]
    assert notes[-1].notification.kind == "task_failed"
    assert notes[-1].notification.recipient == "group:service-desk"


def test_delivery_from_supplier_to_confirmed_receipt(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = service_with(clock, supplier)
    worker = Worker(service)
    erin = demo_requester()
    rid = ordered(service, worker)
    supplier.advance(supplier.order_for(rid).ref, OrderStatus.DELIVERED)
    clock.advance(minutes=15)
    worker.run_pending()
    service.complete_task(rid, "prepare", AGENT)
    assert service.get(rid).task("deliver").state is TaskState.IN_PROGRESS
    service.ship(rid, "deliver", AGENT, tracking="TRK-1")
    assert service.progress(rid).waiting_on == "your confirmation of receipt"
    request = service.dispute_delivery(rid, erin.id, "nothing arrived")
    assert request.task("deliver").state is TaskState.IN_PROGRESS  # reopened
    assert request.task("deliver").shipped is False
    assert service.progress(rid).waiting_on == "shipping"
    service.ship(rid, "deliver", AGENT, tracking="TRK-2")
    request = service.confirm_delivery(rid, erin.id)
    assert request.task("deliver").state is TaskState.DONE
    assert request.state is RequestState.FULFILLED
    worker.run_pending()
    assert service.get(rid).state is RequestState.CLOSED
    kinds = [type(e) for e in service.history(rid)]
    assert kinds.count(ev.ItemShipped) == 2
    assert ev.DeliveryDisputed in kinds
    assert ev.ItemDelivered in kinds


def test_cancel_with_open_orders_cancels_each_once(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile", failure_rate=0.0)
    service = service_with(clock, supplier)
    worker = Worker(service)
    erin = demo_requester()
    rids = [ordered(service, worker) for _ in range(3)]
    for rid in rids:
        service.cancel(rid, erin.id, "left the company")
    worker.run_pending()
    worker.run_pending()  # nothing more to do: each cancel ran once
    assert supplier.cancel_calls == 3
    for rid in rids:
        placed = supplier.order_for(rid)
        cancel = next(
            e for e in service.history(rid) if isinstance(e, ev.SupplierOrderCancelRequested)
        )
        assert placed.cancel_keys == [cancel.event_id]  # the cancel's own key, once
        assert placed.status is OrderStatus.CANCELLED
        assert recorded_statuses(service, rid) == [OrderStatus.CANCELLED]
        assert service.get(rid).state is RequestState.CANCELLED


def test_a_retried_cancel_keeps_its_key(clock: FixedClock) -> None:
    class FlakyCancel(FakeSupplier):
        def cancel_order(self, ref: str, idempotency_key: str) -> OrderStatus:
            self.keys.append(idempotency_key)
            if len(self.keys) == 1:
                raise SupplierError("acme: 503", retryable=True)
            return super().cancel_order(ref, idempotency_key)

    supplier = FlakyCancel("acme-mobile")
    supplier.keys: list[str] = []  # type: ignore[misc]
    service = service_with(clock, supplier)
    worker = Worker(service, seed=1)
    rid = ordered(service, worker)
    service.cancel(rid, demo_requester().id, "not needed")
    worker.run_pending()
    assert supplier.order_for(rid).status is OrderStatus.PLACED
    clock.advance(minutes=2)
    worker.run_pending()
    assert len(supplier.keys) == 2
    assert len(set(supplier.keys)) == 1
    assert supplier.order_for(rid).status is OrderStatus.CANCELLED
    assert recorded_statuses(service, rid) == [OrderStatus.CANCELLED]


def test_cancel_after_delivery_records_nothing_to_cancel(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile")
    service = service_with(clock, supplier)
    worker = Worker(service)
    rid = ordered(service, worker)
    supplier.advance(supplier.order_for(rid).ref, OrderStatus.DELIVERED)
    clock.advance(minutes=15)
    worker.run_pending()
    service.cancel(rid, demo_requester().id, "not needed after all")
    worker.run_pending()
    assert supplier.cancel_calls == 0  # the order was final: no cancel request
    assert supplier.order_for(rid).status is OrderStatus.DELIVERED
