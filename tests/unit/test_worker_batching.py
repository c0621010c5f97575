"""How the worker claims: ``run_forever`` in batches like ``run_pending``, giving back
what it claimed and did not start when it stops; an effect that an outcome or a timer
asks for is claimed in that outcome's transaction and run at once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from reqfulfill import Channel, FixedClock, FulfillmentService, RequestState, Worker, hookimpl
from reqfulfill.model import events as ev
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

AGENT = "sam.agent"


class Claims:
    """Wraps a store's ``claim_effects``, recording each call's limit and result size."""

    def __init__(self, service: FulfillmentService) -> None:
        self.calls: list[tuple[int, int]] = []
        inner = service.store.claim_effects

        def claim(now: Any, *, worker: str, lease: timedelta, limit: int = 10) -> Any:
            got = inner(now, worker=worker, lease=lease, limit=limit)
            self.calls.append((limit, len(got)))
            return got

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


def test_run_forever_claims_in_batches(clock: FixedClock, store_url: str) -> None:
    inbox = StopAfter(6)
    service = make(clock, store_url, inbox)
    resets(service, 3)
    claims = Claims(service)
    worker = inbox.worker = Worker(service, seed=1, allow_missing=True)
    worker.run_forever(interval=0.01)
    assert len(inbox.sent) == 6
    # one claim took all six effects of the three requests
    assert claims.calls[0] == (10, 6)
    assert service.store.outbox() == []  # type: ignore[attr-defined]


def test_a_stop_gives_back_the_effects_of_the_batch_not_started(
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
    # the other requests' effects are back in the outbox, unleased, no attempt counted
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
    # claimed with the close, not by a claim of their own: the claims after it find none
    assert [got for _limit, got in claims.calls] == [0] * len(claims.calls)
    kinds = [e.kind for e in service.history(rid) if isinstance(e, ev.RequesterNotified)]
    assert kinds[-3:] == ["item_shipped", "request_fulfilled", "request_closed"]
    assert service.store.outbox() == []  # type: ignore[attr-defined]
