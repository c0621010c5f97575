"""How the worker stores effects' outcomes: one read per request, a request's
notifications recorded in one append, the effects taken off the outbox in the same
transaction (``append_and_claim``, which also claims the request's next due effects).
Also: appends leave out timers that are unset before and after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from reqfulfill import Channel, FixedClock, FulfillmentService, RequestState, Worker, hookimpl
from reqfulfill.model import events as ev
from reqfulfill.stores import MemoryStore
from reqfulfill.testing import FakeSupplier, demo_catalog

AGENT = "sam.agent"
MANAGER = "max.manager"


class Recording:
    """A store that records what the service asks of it."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def append(
        self,
        request_id: str,
        events: Sequence[ev.Event],
        expected_version: int,
        **kw: Any,
    ) -> None:
        self.calls.append(("append", ([e.type for e in events], kw.get("timers"))))
        self.inner.append(request_id, events, expected_version, **kw)

    def append_and_complete(
        self,
        request_id: str,
        events: Sequence[ev.Event],
        expected_version: int,
        *,
        effect_ids: Sequence[str],
        worker: str,
        **kw: Any,
    ) -> None:
        self.calls.append(("append_and_complete", ([e.type for e in events], list(effect_ids))))
        self.inner.append_and_complete(
            request_id, events, expected_version, effect_ids=effect_ids, worker=worker, **kw
        )

    def append_and_claim(
        self,
        request_id: str,
        events: Sequence[ev.Event],
        expected_version: int,
        *,
        effect_ids: Sequence[str],
        worker: str,
        **kw: Any,
    ) -> list[Any]:
        self.calls.append(("append_and_claim", ([e.type for e in events], list(effect_ids))))
        return self.inner.append_and_claim(
            request_id, events, expected_version, effect_ids=effect_ids, worker=worker, **kw
        )

    def complete_effect(self, effect_id: str, *, worker: str) -> None:
        self.calls.append(("complete_effect", effect_id))
        self.inner.complete_effect(effect_id, worker=worker)

    def load_after(self, request_id: str, version: int) -> list[ev.Event]:
        self.calls.append(("load_after", version))
        return self.inner.load_after(request_id, version)

    def load_after_event(
        self, request_id: str, version: int, last: ev.Event
    ) -> list[ev.Event] | None:
        self.calls.append(("load_after_event", version))
        return self.inner.load_after_event(request_id, version, last)

    def set_timers(self, request_id: str, timers: Mapping[str, datetime | None]) -> None:
        self.calls.append(("set_timers", dict(timers)))
        self.inner.set_timers(request_id, timers)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


class Inbox:
    def __init__(self, refuse: str | None = None) -> None:
        self.got: list[Any] = []
        self.refuse = refuse

    @hookimpl
    def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
        if notification.kind == self.refuse:
            raise OSError(f"mail server refused {notification.kind}")
        self.got.append(notification)


def reset(
    clock: FixedClock, store: Recording, inbox: Inbox, **kw: Any
) -> tuple[FulfillmentService, str]:
    """A password reset (no approval, one manual task), completed and closed:
    two notifications wait in the outbox."""
    service = FulfillmentService(
        demo_catalog(), store=store, plugins=[inbox], clock=clock, load_entrypoints=False, **kw
    )
    request = service.submit(_erin(), "password-reset", Channel.PORTAL)
    service.complete_task(request.id, "reset", AGENT)
    service.close(request.id, AGENT)
    return service, request.id


def _erin():  # type: ignore[no-untyped-def]
    from reqfulfill.testing import demo_requester

    return demo_requester()


def delivered(service: FulfillmentService, rid: str) -> list[str]:
    return [
        e.effect_id  # type: ignore[attr-defined]
        for e in service.history(rid)
        if isinstance(e, ev.NotificationSent | ev.RequesterNotified)
    ]


def test_a_requests_notifications_are_recorded_in_one_append(clock: FixedClock) -> None:
    store, inbox = Recording(), Inbox()
    service, rid = reset(clock, store, inbox)
    requested = [e.event_id for e in service.history(rid) if e.type == "NotificationRequested"]
    assert len(requested) == 2
    store.calls.clear()
    assert Worker(service, allow_missing=True).run_pending() == 2
    assert sorted(n.key for n in inbox.got) == sorted(requested)
    assert sorted(delivered(service, rid)) == sorted(requested)
    assert store.inner.outbox() == []
    writes = [c for c in store.calls if c[0] not in ("load_after", "load_after_event")]
    # one transaction: both deliveries and both completions (and the claim of whatever
    # else the request has due: nothing here)
    assert [k for k, _ in writes] == ["append_and_claim"]
    types, effects = writes[0][1]
    assert len(types) == 2
    assert sorted(effects) == sorted(requested)
    # the state and both effects' events came from a single read: the events this
    # service appended, the store asked only whether the request changed since
    assert [k for k in store.kinds() if k.startswith("load")] == ["load_after_event"]


def test_one_refused_notification_does_not_hold_back_the_others(clock: FixedClock) -> None:
    store, inbox = Recording(), Inbox(refuse="request_closed")
    service, rid = reset(clock, store, inbox)
    worker = Worker(service, allow_missing=True, max_attempts=2)
    worker.run_pending()
    assert [n.kind for n in inbox.got] == ["request_fulfilled"]
    assert len(delivered(service, rid)) == 1
    (left,) = store.inner.outbox()
    assert left.attempts == 1
    assert "refused" in (left.last_error or "")
    clock.advance(timedelta(hours=2))
    worker.run_pending()  # second and last attempt fails: abandoned, off the outbox
    assert store.inner.outbox() == []
    abandoned = [e for e in service.history(rid) if isinstance(e, ev.EffectAbandoned)]
    assert [a.effect_id for a in abandoned] == [left.effect_id]
    assert service.get(rid).state is RequestState.CLOSED


def test_a_stale_state_is_read_again_before_the_outcome_is_stored(clock: FixedClock) -> None:
    # another process writes between the worker's read and its append: the append's
    # version check fails, the deliveries are decided again on the fresh state
    store, inbox = Recording(), Inbox()
    service, rid = reset(clock, store, inbox)
    other = FulfillmentService(
        demo_catalog(), store=store, clock=clock, load_entrypoints=False
    )  # shares the store, not the state cache

    class Meddler:
        done = False

        @hookimpl
        def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
            if not self.done:
                self.done = True
                other.record_feedback(rid, "erin.user", 5, "quick")

    service.plugins.pm.register(Meddler())
    Worker(service, allow_missing=True).run_pending()
    history = service.history(rid)
    assert [e.event_id for e in history] == [f"{rid}/{n}" for n in range(1, len(history) + 1)]
    assert len(delivered(service, rid)) == 2
    assert service.get(rid).feedback is not None
    assert store.inner.outbox() == []


def test_mixed_effects_of_a_request_run_one_after_the_other(clock: FixedClock) -> None:
    # an order and notifications of one request: each outcome is stored before the next
    # effect runs, as the order's placement changes what later effects see
    store, inbox = Recording(), Inbox()
    supplier = FakeSupplier("acme-mobile")
    service = FulfillmentService(
        demo_catalog(), store=store, plugins=[inbox, supplier], clock=clock, load_entrypoints=False
    )
    rid = service.submit(_erin(), "iphone-15", Channel.PORTAL, {"colour": "black"}).id
    service.approve(rid, MANAGER)
    Worker(service, allow_missing=True).run_pending()
    state = service.get(rid)
    assert state.task("order").order_ref is not None
    assert len(supplier.orders) == 1
    assert store.inner.outbox() == []
    assert not state.pending_notifications


def test_appends_leave_out_timers_unset_before_and_after(clock: FixedClock) -> None:
    store, inbox = Recording(), Inbox()
    reset(clock, store, inbox, close_after=timedelta(days=2))
    timers = [c[1][1] for c in store.calls if c[0] == "append"]
    # submit: nothing to set or delete; complete_task fulfils (close timer set);
    # close: the close timer goes
    assert timers[0] == {}
    assert set(timers[1]) == {"close"}
    assert timers[1]["close"] is not None
    assert timers[2] == {"close": None}


def test_refresh_timers_still_deletes_a_fired_timer(clock: FixedClock) -> None:
    store, inbox = Recording(), Inbox()
    service, rid = reset(clock, store, inbox, close_after=timedelta(days=2))
    store.inner.set_timers(rid, {"close": clock.now()})  # as if left behind
    service.refresh_timers(rid)
    assert store.inner.due_timers(clock.now() + timedelta(days=30)) == []


def test_a_store_error_on_the_claim_of_settled_effects_is_not_a_crash(clock: FixedClock) -> None:
    # A worker's sends of a request's notifications it claimed take so long that its
    # lease lapses and another worker claims them (and then stops): the deliveries are stored,
    # but the entries stay with the other worker. When its lease lapses they are due
    # again, settled; the next run claims them (they are held by a lapsed lease, so
    # not sent without one) and takes them off the outbox. That claim fails: nothing
    # is written, the run goes on, and a later run takes them off.
    store, inbox = Recording(), Inbox()
    service, rid = reset(clock, store, inbox)
    lease = timedelta(minutes=5)

    class Slow:
        done = False

        @hookimpl
        def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
            if not self.done:  # the first send takes the whole lease
                self.done = True
                clock.advance(lease)
                assert len(store.inner.claim_effects(clock.now(), worker="other", lease=lease)) == 2

    service.plugins.pm.register(Slow())
    # a worker that died left them leased: once the lease lapses the next one claims
    # them (with a lease of its own: they are not held)
    assert len(store.inner.claim_effects(clock.now(), worker="gone", lease=lease)) == 2
    clock.advance(lease)
    Worker(service, allow_missing=True, lease=lease).run_pending()
    assert len(delivered(service, rid)) == 2
    assert sorted(e.worker or "" for e in store.inner.outbox()) == ["other", "other"]

    failures = iter([OSError("disk full")])

    def flaky(*args: Any, **kw: Any) -> list[Any]:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return store.inner.append_and_claim(*args, **kw)

    # settled, both are claimed and taken off the outbox in one transaction
    store.append_and_claim = flaky  # type: ignore[method-assign]
    clock.advance(lease)
    worker = Worker(service, allow_missing=True, lease=lease)
    assert worker.run_pending() == 0  # must not raise
    left = store.inner.outbox()
    assert [(e.worker, e.attempts) for e in left] == [("other", 0)] * 2
    assert worker.run_pending() == 2
    assert store.inner.outbox() == []
    assert len(inbox.got) == 2  # settled: never sent again
    assert len(delivered(service, rid)) == 2
