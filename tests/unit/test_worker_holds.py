"""How the worker takes effects without a claim transaction of their own: a request's
unleased notifications are held (``Store.hold_effects``: no write), sent, and recorded
with their completion; a supplier order is claimed in the transaction that records its
attempt (``append_and_claim(require=...)``), as is a stock reservation, or not at all when
another worker took it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reqfulfill import Channel, FixedClock, FulfillmentService, Worker, hookimpl
from reqfulfill.model import events as ev
from reqfulfill.stores import MemoryStore
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

AGENT = "sam.agent"
MANAGER = "max.manager"


class Inbox:
    def __init__(self) -> None:
        self.got: list[str] = []

    @hookimpl
    def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
        self.got.append(notification.key)


class Writes(MemoryStore):
    """A memory store that records the writing calls the worker makes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, list[str]]] = []
        self.can_hold = True

    def append(self, request_id: str, events: Any, *args: Any, **kw: Any) -> None:
        self.writes.append(("append", [e.type for e in events]))
        super().append(request_id, events, *args, **kw)

    def append_and_claim(self, request_id: str, events: Any, *args: Any, **kw: Any) -> Any:
        self.writes.append(("append_and_claim", [e.type for e in events]))
        return super().append_and_claim(request_id, events, *args, **kw)

    def claim_effects(self, now: datetime, **kw: Any) -> Any:
        self.writes.append(("claim_effects", []))
        return super().claim_effects(now, **kw)

    def hold_effects(self, effect_ids: Any, *, worker: str, now: datetime) -> list[str]:
        return super().hold_effects(effect_ids, worker=worker, now=now) if self.can_hold else []


def make(clock: FixedClock, store: Writes, *plugins: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store=store, plugins=list(plugins), clock=clock, load_entrypoints=False
    )


def phone(service: FulfillmentService) -> str:
    return service.submit(demo_requester(), "iphone-15", Channel.PORTAL, {"colour": "black"}).id


def test_a_notification_is_held_sent_and_recorded_in_one_transaction(clock: FixedClock) -> None:
    store, inbox = Writes(), Inbox()
    service = make(clock, store, inbox, FakeSupplier("acme-mobile"))
    rid = phone(service)
    store.writes.clear()
    assert Worker(service, seed=1).run_pending() == 1
    assert len(inbox.got) == 1
    # no claim: the delivery and the completion are the only write
    assert store.writes == [("append_and_claim", ["NotificationSent"])]
    assert store.outbox() == []
    assert any(isinstance(e, ev.NotificationSent) for e in service.history(rid))


def test_a_notification_another_worker_holds_is_left_to_it(clock: FixedClock) -> None:
    store, inbox = Writes(), Inbox()
    service = make(clock, store, inbox, FakeSupplier("acme-mobile"))
    phone(service)
    (entry,) = store.outbox()
    assert store.hold_effects([entry.effect_id], worker="other", now=clock.now()) == [
        entry.effect_id
    ]
    store.writes.clear()
    worker = Worker(service, seed=1)
    assert worker.run_pending() == 0
    assert inbox.got == []
    assert store.writes == []  # not even a claim: it is passed over
    store.release_holds([entry.effect_id], worker="other")
    assert worker.run_pending() == 1
    assert inbox.got == [entry.effect_id]


def test_a_store_that_cannot_hold_gets_its_notifications_claimed(clock: FixedClock) -> None:
    store, inbox = Writes(), Inbox()
    store.can_hold = False
    service = make(clock, store, inbox, FakeSupplier("acme-mobile"))
    phone(service)
    store.writes.clear()
    assert Worker(service, seed=1).run_pending() == 1
    assert len(inbox.got) == 1
    # the claim, then the delivery with the completion
    assert store.writes == [
        ("append_and_claim", []),
        ("append_and_claim", ["NotificationSent"]),
    ]
    assert store.outbox() == []


def test_a_reservation_is_claimed_with_its_attempt(clock: FixedClock) -> None:
    # the demo phone is taken from stock or ordered: the reservation comes first
    store, supplier = Writes(), FakeSupplier("acme-mobile")
    service = make(clock, store, Inbox(), supplier)
    rid = phone(service)
    worker = Worker(service, seed=1)
    worker.run_pending()
    service.approve(rid, MANAGER)
    (entry,) = store.outbox()
    assert entry.kind == "StockReservationRequested"
    store.writes.clear()
    assert worker.run_pending() == 2
    assert store.writes == [
        # the claim of the reservation with its attempt, before the inventory call
        ("append_and_claim", ["EffectAttempted"]),
        # no stock: the outcome asks for a supplier order and claims it ...
        ("append_and_claim", ["StockUnavailable", "SupplierOrderRequested"]),
        # ... whose attempt is recorded before the supplier call
        ("append", ["EffectAttempted"]),
        ("append_and_claim", ["SupplierOrderPlaced"]),
    ]
    assert supplier.order_for(rid) is not None
    attempts = [e for e in service.history(rid) if isinstance(e, ev.EffectAttempted)]
    assert [a.attempt for a in attempts] == [1, 1]


def test_an_effect_taken_since_the_read_records_no_attempt(clock: FixedClock) -> None:
    store, supplier = Writes(), FakeSupplier("acme-mobile")
    service = make(clock, store, Inbox(), supplier)
    rid = phone(service)
    worker = Worker(service, seed=1)
    worker.run_pending()
    service.approve(rid, MANAGER)
    read = store.due_effects

    def due_then_taken(now: datetime, *, limit: int = 10) -> Any:
        found = read(now, limit=limit)
        # another worker claims them between this worker's read and its claim
        MemoryStore.claim_effects(store, now, worker="other", lease=worker.lease)
        return found

    store.due_effects = due_then_taken  # type: ignore[method-assign]
    assert worker.run_pending() == 0
    assert [e for e in service.history(rid) if isinstance(e, ev.EffectAttempted)] == []
    (entry,) = store.outbox()
    assert entry.worker == "other"
