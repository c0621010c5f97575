"""How the worker finds and claims effects: ``run_forever`` reads due effects in batches
like ``run_pending`` and claims none ahead, so a stop leaves the ones it did not start
unleased; an effect that an outcome or a timer asks for is claimed in that outcome's
transaction and run at once; unleased notifications are sent with no claim at all."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from reqfulfill import Channel, FixedClock, FulfillmentService, RequestState, Worker, hookimpl
from reqfulfill.model import events as ev
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

AGENT = "sam.agent"


class Claims:
    """Wraps a store's ``due_effects`` (each read's limit and result size in ``calls``)
    and ``claim_effects`` (each call's limit and result size in ``claims``)."""

    def __init__(self, service: FulfillmentService) -> None:
        self.calls: list[tuple[int, int]] = []
        self.claims: list[tuple[int, int]] = []
        read = service.store.due_effects
        inner = service.store.claim_effects

        def due(now: Any, *, limit: int = 10) -> Any:
            got = read(now, limit=limit)
            self.calls.append((limit, len(got)))
            return got

        def claim(now: Any, *, worker: str, lease: timedelta, limit: int = 10) -> Any:
            got = inner(now, worker=worker, lease=lease, limit=limit)
            self.claims.append((limit, len(got)))
            return got

        service.store.due_effects = due  # type: ignore[method-assign]
        service.store.claim_effects = claim  # type: ignore[method-assign]


def resets(service: FulfillmentService, n: int) -> list[str]:
    """``n`` password resets, done and closed: two notifications each wait."""
    ids = []
    for _ in range(n):
        rid = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
        service.complete_task(rid, "reset", AGENT)
        service.close(rid, AGENT)
        ids.append(rid)
    return ids


def make(clock: FixedClock, store_url: str, *plugins: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store=store_url, plugins=list(plugins), clock=clock, load_entrypoints=False
    )


class StopAfter:
    """A notifier that asks the worker to stop once it has sent ``n`` notifications."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.sent: list[str] = []
        self.worker: Worker | None = None

    @hookimpl
    def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
        self.sent.append(notification.request_id)
        if len(self.sent) >= self.n and self.worker is not None:
            self.worker.stop()


def test_run_forever_reads_in_batches(clock: FixedClock, store_url: str) -> None:
    inbox = StopAfter(6)
    service = make(clock, store_url, inbox)
    resets(service, 3)
    claims = Claims(service)
    worker = inbox.worker = Worker(service, seed=1, allow_missing=True)
    worker.run_forever(interval=0.01)
    assert len(inbox.sent) == 6
    # one read found all six effects of the three requests; unleased notifications
    # need no claim: none was made
    assert claims.calls[0] == (10, 6)
    assert claims.claims == []
    assert service.store.outbox() == []  # type: ignore[attr-defined]


def test_a_stop_leaves_the_effects_of_the_batch_not_started_unleased(
    clock: FixedClock, store_url: str
) -> None:
    inbox = StopAfter(1)
    service = make(clock, store_url, inbox)
    ids = resets(service, 3)
    worker = inbox.worker = Worker(service, seed=1, allow_missing=True)
    thread = threading.Thread(target=worker.run_forever, kwargs={"interval": 0.01})
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    (first,) = set(inbox.sent)
    # the request in hand was finished: both its notifications sent and recorded
    assert inbox.sent == [first, first]
    delivered = [e for e in service.history(first) if isinstance(e, ev.RequesterNotified)]
    assert len(delivered) == 2
    # the other requests' effects are still in the outbox, unleased, no attempt counted
    left = service.store.outbox()  # type: ignore[attr-defined]
    assert sorted({e.request_id for e in left}) == sorted(set(ids) - {first})
    assert [(e.worker, e.lease_until, e.attempts) for e in left] == [(None, None, 0)] * 4
    # and another worker runs them at once
    assert Worker(service, name="next", allow_missing=True).run_pending() == 4


def test_a_close_timer_claims_its_requests_notifications(clock: FixedClock) -> None:
    supplier = FakeSupplier("acme-mobile", auto_deliver=True)
    inbox = StopAfter(10**6)
    service = make(clock, "memory://", supplier, inbox)
    worker = Worker(service, seed=1)
    erin = demo_requester()
    rid = service.submit(erin, "iphone-15", Channel.PORTAL, {"colour": "black"}).id
    worker.run_pending()
    service.approve(rid, "max.manager")
    service.claim(rid, AGENT)
    worker.run_pending()
    clock.advance(timedelta(days=1))
    worker.run_pending()
    service.complete_task(rid, "prepare", AGENT)
    service.ship(rid, "deliver", AGENT)
    service.confirm_delivery(rid, erin.id)
    claims = Claims(service)
    # the close timer, then the three notifications (shipped, fulfilled, closed)
    assert worker.run_pending() == 4
    assert service.get(rid).state is RequestState.CLOSED
    # claimed with the close, not by a claim of their own: the reads after it find none
    assert [got for _limit, got in claims.calls] == [0] * len(claims.calls)
    assert claims.claims == []
    kinds = [e.kind for e in service.history(rid) if isinstance(e, ev.RequesterNotified)]
    assert kinds[-3:] == ["item_shipped", "request_fulfilled", "request_closed"]
    assert service.store.outbox() == []  # type: ignore[attr-defined]
