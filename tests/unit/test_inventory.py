"""From stock or from the supplier: the ``stock_or_order`` task, reservations, releases
and the asset handed over (issue 18), on the memory store."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from reqfulfill import (
    AuthorizationError,
    Catalog,
    Channel,
    FixedClock,
    FulfillmentService,
    InventoryError,
    OrderStatus,
    RequestState,
    StockReservation,
    TaskState,
    ValidationError,
    Worker,
    hookimpl,
    lifecycle,
)
from reqfulfill.metrics import metrics_rows, request_facts
from reqfulfill.model import events as ev
from reqfulfill.testing import DEMO_CATALOG, FakeInventory, FakeSupplier, demo_catalog
from reqfulfill.testing import demo_requester as _erin

MANAGER = "max.manager"
AGENT = "sam.agent"
FAKE = "FakeInventory"  # the name the plugin manager registers it under


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing catches it."""


class CrashAfterReserving(FakeInventory):
    """Reserves, then dies before the worker records it (once)."""

    crash = True

    @hookimpl
    def reqfulfill_reserve_stock(self, item, quantity, location, key):  # type: ignore[no-untyped-def]
        found = super().reqfulfill_reserve_stock(item, quantity, location, key)
        if self.crash:
            self.crash = False
            raise Crash
        return found


def make(clock: FixedClock, *plugins: object, catalog: Catalog | None = None) -> FulfillmentService:
    return FulfillmentService(
        catalog or demo_catalog(),
        store="memory://",
        plugins=list(plugins),
        clock=clock,
        load_entrypoints=False,
    )


def phone(service: FulfillmentService, answers: dict[str, Any] | None = None) -> str:
    rid = service.submit(_erin(), "iphone-15", Channel.PORTAL, answers or {}).id
    service.approve(rid, MANAGER)
    return rid


def types(service: FulfillmentService, rid: str) -> list[type[ev.Event]]:
    return [type(e) for e in service.history(rid)]


# -- from stock, from the supplier -----------------------------------------------------


def test_in_stock_the_task_is_done_from_stock(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 2})
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, inventory, supplier)
    rid = phone(service, {"quantity": 2})
    Worker(service).run_pending()
    request = service.get(rid)
    order = request.task("order")
    assert (order.state, order.source) == (TaskState.DONE, "stock")
    assert order.reservation == StockReservation("RES-00001", "Helsinki HQ", 2)
    assert order.reserved_by == FAKE
    assert request.task("prepare").state is TaskState.IN_PROGRESS
    reserved = [e for e in service.history(rid) if isinstance(e, ev.StockReserved)]
    assert [(e.task_key, e.reservation.ref, e.plugin) for e in reserved] == [
        ("order", "RES-00001", FAKE)
    ]
    asked = next(e for e in service.history(rid) if isinstance(e, ev.StockReservationRequested))
    assert (asked.item, asked.quantity, asked.location) == ("iphone-15", 2, "Helsinki HQ")
    assert supplier.orders == []
    assert inventory.stock == {"iphone-15": 0}
    assert "from stock" in (service.progress(rid).coming_from or "")


def test_out_of_stock_the_supplier_order_is_placed_and_tracked(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 0})
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, inventory, supplier)
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()
    order = service.get(rid).task("order")
    assert (order.state, order.source) == (TaskState.IN_PROGRESS, "supplier")
    assert order.order_ref == supplier.order_for(rid).ref
    kinds = types(service, rid)
    assert kinds.index(ev.StockUnavailable) < kinds.index(ev.SupplierOrderRequested)
    assert "acme-mobile" in (service.progress(rid).coming_from or "")
    supplier.advance(order.order_ref, OrderStatus.DELIVERED)
    clock.advance(timedelta(hours=1))
    worker.run_pending()
    order = service.get(rid).task("order")
    assert (order.state, order.source) == (TaskState.DONE, "supplier")
    assert inventory.reservations == []


def test_the_requesters_location_decides_which_stock_room_serves(clock: FixedClock) -> None:
    berlin = FakeInventory(stock={"iphone-15": 5}, location="Berlin")
    helsinki = FakeInventory(stock={"iphone-15": 5}, location="Helsinki HQ")
    service = make(clock, berlin, helsinki, FakeSupplier("acme-mobile"))
    rid = phone(service)
    Worker(service).run_pending()
    assert berlin.reservations == []
    assert [r.request_id for r in helsinki.reservations] == [rid]


def test_the_first_inventory_registered_that_has_it_wins(clock: FixedClock) -> None:
    first, second = FakeInventory(stock={"iphone-15": 1}), FakeInventory(stock={"iphone-15": 1})
    service = make(clock, first, second, FakeSupplier("acme-mobile"))
    Worker(service).run_pending()
    rid = phone(service)
    Worker(service).run_pending()
    assert len(first.held) == 1
    assert second.held == []
    assert service.get(rid).task("order").source == "stock"


# -- releases: cancel, restart, skip, late answers --------------------------------------


def test_cancel_releases_the_reservation_once(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()
    assert len(inventory.held) == 1
    request = service.cancel(rid, _erin().id, "changed my mind")
    assert request.task("order").reservation is None  # on its way back
    worker.run_pending()
    worker.run_pending()
    assert inventory.held == []
    assert inventory.stock == {"iphone-15": 1}
    assert [len(r.release_keys) for r in inventory.reservations] == [1]
    assert types(service, rid).count(ev.StockReleased) == 1
    assert types(service, rid).count(ev.StockReleaseRequested) == 1


def test_killed_between_reserving_and_recording_then_cancelled(clock: FixedClock) -> None:
    inventory = CrashAfterReserving(stock={"iphone-15": 3})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    rid = phone(service)
    with pytest.raises(Crash):
        Worker(service, lease=timedelta(seconds=1)).run_pending()
    assert len(inventory.reservations) == 1  # reserved at the inventory, not recorded
    service.cancel(rid, _erin().id, "not needed")
    clock.advance(timedelta(minutes=1))  # the dead worker's lease lapses
    Worker(service).run_pending()
    assert len(inventory.reservations) == 1, "one reservation per key"
    assert inventory.duplicate_calls == 1  # asked again with the same key
    assert inventory.held == []  # and given back
    history = service.history(rid)
    reserved = next(e for e in history if isinstance(e, ev.StockReserved))
    assert service.get(rid).state is RequestState.CANCELLED
    assert any(
        isinstance(e, ev.StockReleased) and e.reservation == reserved.reservation for e in history
    )


def test_a_reservation_asked_for_but_never_sent_is_abandoned_on_cancel(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 3})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    rid = phone(service)
    service.cancel(rid, _erin().id, "not needed")
    Worker(service).run_pending()
    assert inventory.reserve_calls == 0
    abandoned = [e for e in service.history(rid) if isinstance(e, ev.EffectAbandoned)]
    assert any(e.effect_type == "StockReservationRequested" for e in abandoned)


def test_restarting_the_task_gives_back_a_late_reservation(clock: FixedClock) -> None:
    inventory = CrashAfterReserving(stock={"iphone-15": 3})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    rid = phone(service)
    with pytest.raises(Crash):
        Worker(service, lease=timedelta(seconds=1)).run_pending()
    service.fail_task(rid, "order", AGENT, "the stock room is closed today")
    service.start_task(rid, "order", AGENT)  # a new reservation effect
    clock.advance(timedelta(minutes=1))
    Worker(service).run_pending()
    assert len(inventory.reservations) == 2  # the first key once, the new key once
    assert [r.released for r in inventory.reservations] == [True, False]
    order = service.get(rid).task("order")
    assert (order.state, order.source) == (TaskState.DONE, "stock")
    assert order.reservation == inventory.held[0].reservation


def test_skipping_the_task_while_reserving_gives_the_reservation_back(clock: FixedClock) -> None:
    inventory = CrashAfterReserving(stock={"iphone-15": 3})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    rid = phone(service)
    with pytest.raises(Crash):
        Worker(service, lease=timedelta(seconds=1)).run_pending()
    service.skip_task(rid, "order", AGENT, "a spare phone was on the desk")
    clock.advance(timedelta(minutes=1))
    Worker(service).run_pending()
    assert inventory.held == []
    assert len(inventory.reservations) == 1


# -- bad input and safety --------------------------------------------------------------


class Malformed:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    @hookimpl
    def reqfulfill_reserve_stock(self, item, quantity, location, key):  # type: ignore[no-untyped-def]
        return self.answer


class NonPositive:
    @hookimpl
    def reqfulfill_reserve_stock(self, item, quantity, location, key):  # type: ignore[no-untyped-def]
        return StockReservation("R-1", location, 0)


@pytest.mark.parametrize(
    ("plugin", "words"),
    [
        (Malformed({"ref": "R-1"}), "not a StockReservation"),
        (Malformed(StockReservation("R-1", "HQ", 3)), "reserved 3"),
        (NonPositive(), "quantity must be a positive whole number"),
    ],
    ids=["not-a-reservation", "wrong-quantity", "non-positive"],
)
def test_a_bad_answer_is_an_inventory_error_naming_the_plugin_and_is_retried(
    clock: FixedClock, plugin: object, words: str
) -> None:
    service = make(clock, plugin, FakeSupplier("acme-mobile"))
    worker = Worker(service, max_attempts=3, backoff=timedelta(minutes=1))
    rid = phone(service)
    before = service.get(rid)
    host = service.plugins
    with pytest.raises(InventoryError) as caught:
        host.reserve_stock("iphone-15", 1, "HQ", "k")
    assert caught.value.plugin == type(plugin).__qualname__  # the name it is registered under
    assert words in str(caught.value)
    assert type(plugin).__qualname__ in str(caught.value)
    worker.run_pending()
    after = service.get(rid)
    order = after.task("order")
    assert order.state is TaskState.IN_PROGRESS  # not done, not failed: retried
    assert order.order_effect not in after.settled
    assert ev.StockReserved not in types(service, rid)
    new = {type(e) for e in service.history(rid)[before.version :]}
    assert ev.EffectAttempted in new
    assert not new & {ev.StockReserved, ev.StockUnavailable, ev.TaskCompleted, ev.TaskFailed}
    # given up after max_attempts; when the give-up's last ask gets no usable answer
    # either, after max_attempts more (it may hold something under the key)
    for _ in range(8):
        clock.advance(timedelta(hours=1))
        worker.run_pending()
    failed = service.get(rid).task("order")
    assert failed.state is TaskState.FAILED
    assert type(plugin).__qualname__ in failed.reason
    assert service.store.outbox() == []  # type: ignore[attr-defined]


def test_an_unknown_item_is_a_permanent_error_naming_the_plugin(clock: FixedClock) -> None:
    service = make(clock, FakeInventory(stock={"ipad": 1}), FakeSupplier("acme-mobile"))
    rid = phone(service)
    Worker(service).run_pending()
    order = service.get(rid).task("order")
    assert order.state is TaskState.FAILED
    assert "unknown item 'iphone-15'" in order.reason
    assert FAKE in order.reason


def test_a_failing_inventory_is_retried_with_the_same_key(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1}, fail_first=2)
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    worker = Worker(service, backoff=timedelta(minutes=1))
    rid = phone(service)
    for _ in range(4):
        worker.run_pending()
        clock.advance(timedelta(minutes=10))
    assert inventory.failures == 2
    assert len(inventory.reservations) == 1
    assert service.get(rid).task("order").source == "stock"


def test_a_release_to_a_plugin_no_longer_there_fails_for_good(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    rid = phone(service)
    Worker(service).run_pending()
    service.cancel(rid, _erin().id, "no")
    other_service = FulfillmentService(  # a worker without the inventory plugin
        demo_catalog(),
        store=service.store,
        plugins=[FakeSupplier("acme-mobile")],
        clock=clock,
        load_entrypoints=False,
    )
    Worker(other_service).run_pending()
    abandoned = [e for e in service.history(rid) if isinstance(e, ev.EffectAbandoned)]
    assert any(e.effect_type == "StockReleaseRequested" and FAKE in e.reason for e in abandoned)


def test_an_item_with_a_stock_task_and_no_supplier_is_refused_when_loading() -> None:
    data = copy.deepcopy(DEMO_CATALOG)
    del data["items"][0]["supplier"]
    with pytest.raises(ValidationError) as caught:
        Catalog.from_dict(data)
    problem = caught.value.problems[0]
    assert problem.path == "items[0].supplier"
    assert "stock_or_order" not in problem.reason  # the task and plan are named instead
    assert "'order' orders from a supplier when nothing is in stock" in problem.reason


def test_worker_commands_of_the_inventory_are_refused_to_people(clock: FixedClock) -> None:
    service = make(clock, FakeInventory(stock={"iphone-15": 1}), FakeSupplier("acme-mobile"))
    rid = phone(service)
    effect = service.get(rid).task("order").order_effect
    assert effect is not None
    before = service.history(rid)
    for command in (
        lifecycle.RecordReservation(actor=AGENT, effect_id=effect),
        lifecycle.RecordRelease(
            actor=AGENT,
            effect_id=effect,
            task_key="order",
            reservation=StockReservation("R", "HQ", 1),
        ),
        lifecycle.RecordAssetRegistered(actor=_erin().id, effect_id=effect),
    ):
        with pytest.raises(AuthorizationError):
            service.execute(rid, command)
    assert service.history(rid) == before


def test_a_reservation_for_an_effect_that_is_not_one_is_refused(clock: FixedClock) -> None:
    service = make(clock, FakeSupplier("acme-mobile"))
    rid = phone(service)
    before = service.history(rid)
    with pytest.raises(ValidationError, match="effect_id"):
        service.execute(
            rid, lifecycle.RecordReservation(actor=lifecycle.WORKER, effect_id=f"{rid}/1")
        )
    assert service.history(rid) == before


# -- the asset handed over -------------------------------------------------------------


def delivered(clock: FixedClock, inventory: FakeInventory) -> tuple[FulfillmentService, str]:
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()
    service.complete_task(rid, "prepare", AGENT)
    service.ship(rid, "deliver", AGENT, tracking="desk 4B", asset_tag="AT-0042", serial="SN123")
    service.confirm_delivery(rid, _erin().id)
    worker.run_pending()
    worker.run_pending()
    return service, rid


def test_the_asset_handed_over_is_told_to_the_host_once(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    service, rid = delivered(clock, inventory)
    handed = [e for e in service.history(rid) if isinstance(e, ev.AssetHandedOver)]
    assert [(e.asset_tag, e.serial, e.item, e.requester) for e in handed] == [
        ("AT-0042", "SN123", "iphone-15", "erin.user")
    ]
    assert list(inventory.assets) == [handed[0].event_id]
    assert inventory.assets[handed[0].event_id].asset_tag == "AT-0042"
    assert types(service, rid).count(ev.AssetRegistered) == 1
    assert service.get(rid).state in (RequestState.FULFILLED, RequestState.CLOSED)
    assert [r.request_id for r in inventory.held] == [rid]  # consumed, not released


def test_a_delivery_shipped_without_asset_tag_tells_no_cmdb(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    rid = phone(service)
    Worker(service).run_pending()
    service.complete_task(rid, "prepare", AGENT)
    service.ship(rid, "deliver", AGENT, tracking="desk 4B")
    service.confirm_delivery(rid, _erin().id)
    Worker(service).run_pending()
    assert ev.AssetHandedOver not in types(service, rid)
    assert inventory.assets == {}


def test_ship_refuses_a_bad_asset_tag_and_writes_nothing(clock: FixedClock) -> None:
    service = make(clock, FakeInventory(stock={"iphone-15": 1}), FakeSupplier("acme-mobile"))
    rid = phone(service)
    Worker(service).run_pending()
    service.complete_task(rid, "prepare", AGENT)
    before = service.history(rid)
    with pytest.raises(ValidationError, match="asset_tag"):
        service.ship(rid, "deliver", AGENT, asset_tag=42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="serial"):
        service.ship(rid, "deliver", AGENT, serial="x" * 300)
    assert service.history(rid) == before


# -- metrics ---------------------------------------------------------------------------


def test_metrics_share_and_time_to_fulfil_by_source(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    supplier = FakeSupplier("acme-mobile")
    service = make(clock, inventory, supplier)
    worker = Worker(service)
    fulfilled = []
    for hours in (1, 5):  # the first from stock in an hour, the second ordered: five
        rid = phone(service)
        worker.run_pending()
        order = service.get(rid).task("order")
        if order.source == "supplier":
            assert order.order_ref is not None
            supplier.advance(order.order_ref, OrderStatus.DELIVERED)
        clock.advance(timedelta(hours=hours))
        worker.run_pending()
        service.complete_task(rid, "prepare", AGENT)
        service.ship(rid, "deliver", AGENT)
        service.confirm_delivery(rid, _erin().id)
        fulfilled.append(service.get(rid))
    assert [r.task("order").source for r in fulfilled] == ["stock", "supplier"]
    # from the store's facts rows, the same as from the replayed histories
    histories = [service.history(s.request_id) for s in service.store.query()]
    rows = metrics_rows([request_facts(lifecycle.replay(h), h) for h in histories], "item")
    assert service.metrics(by="item") == rows
    phone_row = next(r for r in service.metrics(by="item") if r.key == "iphone-15")
    assert (phone_row.from_stock_pct, phone_row.from_supplier_pct) == (50.0, 50.0)
    assert phone_row.fulfil_p50_stock_h is not None
    assert phone_row.fulfil_p50_supplier_h is not None
    assert phone_row.fulfil_p50_stock_h < phone_row.fulfil_p50_supplier_h
    rid = service.submit(_erin(), "password-reset", Channel.PORTAL).id
    service.complete_task(rid, "reset", AGENT)
    histories = [service.history(s.request_id) for s in service.store.query()]
    rows = metrics_rows([request_facts(lifecycle.replay(h), h) for h in histories], "item")
    assert service.metrics(by="item") == rows
    reset_row = next(r for r in rows if r.key == "password-reset")
    assert reset_row.from_stock_pct is None  # neither stock nor a supplier


def test_progress_says_nothing_is_on_its_way_once_the_reservation_is_given_back(
    clock: FixedClock,
) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    service = make(clock, inventory, FakeSupplier("acme-mobile"))
    rid = phone(service)
    Worker(service).run_pending()
    assert service.progress(rid).coming_from == "iphone-15 from stock at Helsinki HQ"
    service.cancel(rid, _erin().id, "changed my mind")
    assert service.progress(rid).coming_from is None
    Worker(service).run_pending()
    assert service.progress(rid).coming_from is None
    assert inventory.held == []
