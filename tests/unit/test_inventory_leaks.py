"""No reservation outlives the effect that made it (issue 18): a reservation a plugin
holds under a reserve effect's key is given back, once, whatever ends the effect: a
malformed answer given up on, an answer lost then a permanent failure, another
plugin's answer on a retry, a cancel while the effect is in flight."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    InventoryError,
    RequestState,
    StockReservation,
    TaskState,
    ValidationError,
    Worker,
    hookimpl,
    lifecycle,
)
from reqfulfill.inventory import give_up
from reqfulfill.model import events as ev
from reqfulfill.model.inventory import PluginReservation
from reqfulfill.testing import FakeInventory, FakeSupplier, demo_catalog
from reqfulfill.testing import demo_requester as _erin


class LosingInventory(FakeInventory):
    """Reserves, then loses the next ``lose`` answers (a retryable error after reserving)."""

    def __init__(self, stock: dict[str, int], lose: int = 1, **options: Any) -> None:
        super().__init__(stock=stock, **options)
        self.lose = lose

    @hookimpl
    def reqfulfill_reserve_stock(self, item, quantity, location, key):  # type: ignore[no-untyped-def]
        found = super().reqfulfill_reserve_stock(item, quantity, location, key)
        if self.lose:
            self.lose -= 1
            raise InventoryError("the connection dropped after reserving (simulated)")
        return found


class WrongQuantity(FakeInventory):
    """Reserves one more than asked for (idempotently, by key): a malformed answer."""

    @hookimpl
    def reqfulfill_reserve_stock(self, item, quantity, location, key):  # type: ignore[no-untyped-def]
        return super().reqfulfill_reserve_stock(item, quantity + 1, location, key)


class Refusing:
    """Refuses every call for good once ``refuse`` is set; answers None before."""

    refuse = False

    @hookimpl
    def reqfulfill_reserve_stock(self, item, quantity, location, key):  # type: ignore[no-untyped-def]
        if self.refuse:
            raise InventoryError("the stock room is closed for good", retryable=False)
        return None


def make(clock: FixedClock, *plugins: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        store="memory://",
        plugins=[*plugins, FakeSupplier("acme-mobile")],
        clock=clock,
        load_entrypoints=False,
    )


def phone(service: FulfillmentService) -> str:
    rid = service.submit(_erin(), "iphone-15", Channel.PORTAL).id
    service.approve(rid, "max.manager")
    return rid


def drain(service: FulfillmentService, clock: FixedClock, worker: Worker) -> None:
    for _ in range(12):
        clock.advance(timedelta(hours=2))
        worker.run_pending()


def released(service: FulfillmentService, rid: str) -> list[StockReservation]:
    return [e.reservation for e in service.history(rid) if isinstance(e, ev.StockReleased)]


def test_a_malformed_reservation_is_given_back_when_the_effect_is_given_up(
    clock: FixedClock,
) -> None:
    inventory = WrongQuantity(stock={"iphone-15": 5})
    service = make(clock, inventory)
    worker = Worker(service, max_attempts=3)
    rid = phone(service)
    worker.run_pending()
    assert service.get(rid).task("order").state is TaskState.IN_PROGRESS  # retried
    assert len(inventory.held) == 1  # held by the plugin, unrecorded
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert order.state is TaskState.FAILED
    assert "reserved 2 of 'iphone-15' where 1 was asked for" in order.reason
    assert "giving back 1 reservation" in order.reason
    assert inventory.held == []
    assert [len(r.release_keys) for r in inventory.reservations] == [1]
    assert released(service, rid) == [inventory.reservations[0].reservation]
    assert inventory.stock == {"iphone-15": 5}


def test_an_answer_lost_then_a_permanent_error_gives_the_reservation_back(
    clock: FixedClock,
) -> None:
    refusing = Refusing()
    holding = LosingInventory(stock={"iphone-15": 1})
    service = make(clock, refusing, holding)
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()  # nothing at the first; the second reserves and the answer is lost
    assert len(holding.held) == 1
    refusing.refuse = True
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert order.state is TaskState.FAILED
    assert "closed for good" in order.reason
    assert "Refusing" in order.reason
    assert holding.held == []
    assert len(released(service, rid)) == 1
    asked = [e for e in service.history(rid) if isinstance(e, ev.StockReleaseRequested)]
    assert [(e.plugin, e.reserve_effect) for e in asked] == [
        ("LosingInventory", order.order_effect)
    ]


def test_a_retry_keeps_one_answer_and_gives_the_other_plugins_back(clock: FixedClock) -> None:
    first = FakeInventory(stock={"iphone-15": 0})
    second = LosingInventory(stock={"iphone-15": 1})
    service = make(clock, first, second)
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()  # the first has none; the second reserves, the answer is lost
    first.stock["iphone-15"] = 1  # restocked meanwhile: the retry finds it at the first
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert (order.state, order.source, order.reserved_by) == (
        TaskState.DONE,
        "stock",
        "FakeInventory",
    )
    assert [r.reservation for r in first.held] == [order.reservation]
    assert second.held == []  # not kept: given back, once
    assert [len(r.release_keys) for r in second.reservations] == [1]
    assert released(service, rid) == [second.reservations[0].reservation]


def test_a_permanent_error_after_the_kept_answer_does_not_lose_it(clock: FixedClock) -> None:
    holding = LosingInventory(stock={"iphone-15": 1})
    refusing = Refusing()
    service = make(clock, holding, refusing)
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()  # reserved, the answer lost
    refusing.refuse = True  # the retry asks every plugin: this one refuses
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert (order.state, order.source) == (TaskState.DONE, "stock")
    assert [r.reservation for r in holding.held] == [order.reservation]


def test_cancelled_while_the_answer_was_lost_every_plugin_gives_back(clock: FixedClock) -> None:
    first = FakeInventory(stock={"iphone-15": 0})
    second = LosingInventory(stock={"iphone-15": 1})
    service = make(clock, first, second)
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()
    first.stock["iphone-15"] = 1
    service.cancel(rid, _erin().id, "changed my mind")
    drain(service, clock, worker)
    assert service.get(rid).state is RequestState.CANCELLED
    assert first.held == []
    assert second.held == []
    for inventory in (first, second):
        assert all(len(r.release_keys) == 1 for r in inventory.reservations)
    assert len(released(service, rid)) == len(first.reservations) + len(second.reservations)


def test_answers_lost_until_the_last_attempt_are_given_back(clock: FixedClock) -> None:
    inventory = LosingInventory(stock={"iphone-15": 1}, lose=3)
    service = make(clock, inventory)
    worker = Worker(service, max_attempts=3)
    rid = phone(service)
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert order.state is TaskState.FAILED
    assert inventory.held == []  # the give-up asked once more and gave it back
    assert len(inventory.reservations) == 1  # one per key, however often asked
    # the task restarted: a new key, a new reservation, kept
    inventory.lose = 0
    service.start_task(rid, "order", "sam.agent")
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert (order.state, order.source) == (TaskState.DONE, "stock")
    assert [r.reservation for r in inventory.held] == [order.reservation]


def test_a_plugin_failing_for_a_while_at_the_give_up_is_asked_again_later(
    clock: FixedClock,
) -> None:
    inventory = WrongQuantity(stock={"iphone-15": 5})
    service = make(clock, inventory)
    worker = Worker(service, max_attempts=2)
    rid = phone(service)
    worker.run_pending()  # attempt 1: one too many
    inventory.fail_first = inventory.reserve_calls + 3  # the give-up's ask fails, 3 times
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert order.state is TaskState.FAILED
    assert inventory.failures == 3
    assert inventory.held == []  # asked again until it answered, then given back
    assert service.store.outbox() == []  # type: ignore[attr-defined]


def test_a_plugin_refusing_for_good_at_the_give_up_is_named(clock: FixedClock) -> None:
    inventory = LosingInventory(stock={"iphone-15": 1})
    service = make(clock, inventory)
    worker = Worker(service)
    rid = phone(service)
    worker.run_pending()  # reserved, the answer lost
    inventory.reject = True  # from now on every call is refused for good
    drain(service, clock, worker)
    order = service.get(rid).task("order")
    assert order.state is TaskState.FAILED
    # what it holds cannot be given back: the history says so, naming the plugin
    assert "could not ask what is held under the key" in order.reason
    assert "LosingInventory" in order.reason
    assert [r.key for r in inventory.held] == [order.order_effect]


def test_a_reserve_effect_never_attempted_is_given_up_without_asking(clock: FixedClock) -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    service = make(clock, inventory)
    rid = phone(service)
    effect = service.get(rid).task("order").order_effect
    assert effect is not None
    command = give_up(service, rid, effect, "the worker gave up")
    assert command == lifecycle.EffectFailed(
        actor=lifecycle.WORKER,
        effect_id=effect,
        reason="the worker gave up",
        effect_type="StockReservationRequested",
    )
    assert inventory.reserve_calls == 0


def test_a_failed_reserve_record_keeps_no_reservation(clock: FixedClock) -> None:
    service = make(clock, FakeInventory(stock={"iphone-15": 1}))
    rid = phone(service)
    effect = service.get(rid).task("order").order_effect
    assert effect is not None
    before = service.get(rid).version
    with pytest.raises(ValidationError) as caught:
        service.execute(
            rid,
            lifecycle.RecordReservation(
                actor=lifecycle.WORKER,
                effect_id=effect,
                reservation=StockReservation("R-1", "HQ", 1),
                plugin="FakeInventory",
                failure="broken",
            ),
        )
    assert caught.value.problems[0].path == "failure"
    assert service.get(rid).version == before
    with pytest.raises(ValueError, match="plugin"):
        PluginReservation("", StockReservation("R-1", "HQ", 1))
