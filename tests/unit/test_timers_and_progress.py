"""The questions of a request's state the service asks: which timers it needs
(``reqfulfill.schedule``) and what a requester sees of it (``reqfulfill.progress``);
and that the service and the worker need nothing of a store but the Store protocol."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    RequestState,
    Worker,
    lifecycle,
)
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.progress import progress_of, waiting_on
from reqfulfill.schedule import close_at, current_timers, orders_to_poll, timer_changes
from reqfulfill.sla import SlaPolicy
from reqfulfill.stores import MemoryStore, Store
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester
from reqfulfill.testing.store_contract import protocol_methods
from reqfulfill.testing.strategies import histories

AGENT = "sam.agent"
MANAGER = "max.manager"
SLA = SlaPolicy.default()


def _states(events: list[Event]) -> list[ServiceRequest]:
    states: list[ServiceRequest] = []
    state: ServiceRequest | None = None
    for event in events:
        state = lifecycle.evolve(state, event)
        states.append(state)
    return states


@hypothesis.settings(deadline=None)
@hypothesis.given(
    history=histories(sla=SLA, max_steps=40),
    cuts=st.sets(st.integers(min_value=1, max_value=60)),
    close_after=st.sampled_from([None, timedelta(days=2)]),
)
def test_appends_leave_the_timers_the_last_state_calls_for(
    history: tuple[list[Event], ServiceRequest],
    cuts: set[int],
    close_after: timedelta | None,
) -> None:
    # However a stream is cut into appends, writing each append's timer changes (which
    # leave out timers unset before and after) ends with the timers of the last state.
    events, last = history
    states = _states(events)
    ends = sorted({c for c in cuts if c < len(states)} | {len(states)})
    timers: dict[str, datetime] = {}
    before: ServiceRequest | None = None
    for end in ends:
        after = states[end - 1]
        changes = timer_changes(
            before, after, sla=SLA, close_after=close_after, poll_interval=timedelta(minutes=15)
        )
        for key, due in changes.items():
            if due is None:
                timers.pop(key, None)
            else:
                timers[key] = due
        before = after
    expected = {
        k: v
        for k, v in current_timers(last, sla=SLA, close_after=close_after).items()
        if v is not None
    }
    assert {k: v for k, v in timers.items() if k != "poll"} == expected
    assert ("poll" in timers) == bool(orders_to_poll(last))


@hypothesis.settings(deadline=None)
@hypothesis.given(history=histories(sla=SLA, max_steps=40))
def test_polled_orders_are_placed_open_orders_of_tasks_in_progress(
    history: tuple[list[Event], ServiceRequest],
) -> None:
    _events, state = history
    polled = orders_to_poll(state)
    for task in state.plan:
        placed_and_open = task.order_open and task.order_ref is not None
        assert (task in polled) == (placed_and_open and task.state.value == "in_progress")
    if state.state is not RequestState.FULFILLED:
        assert close_at(state, timedelta(days=2)) is None


@pytest.fixture
def svc(clock: FixedClock, supplier: FakeSupplier) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        sla=SLA,
        store="memory://",
        plugins=[supplier],
        clock=clock,
        load_entrypoints=False,
    )


def test_progress_says_what_a_phone_request_waits_on(svc: FulfillmentService) -> None:
    rid = svc.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    assert waiting_on(svc.get(rid)) == "approval by max.manager"
    svc.approve(rid, MANAGER)
    assert svc.progress(rid).waiting_on == "the stock room: reserving"
    assert svc.progress(rid).coming_from is None  # the inventory has not answered yet
    Worker(svc).run_pending()  # no inventory plugin: nothing in stock, the supplier's turn
    assert svc.progress(rid).waiting_on == "supplier acme-mobile: placed"
    assert svc.progress(rid).coming_from == "iphone-15 from supplier acme-mobile (placed)"
    svc.wait(rid, AGENT, "the requester is on leave")
    assert svc.progress(rid).waiting_on == "the requester is on leave"
    svc.resume(rid, AGENT)
    svc.skip_task(rid, "order", AGENT, "taken from stock")
    assert svc.progress(rid).waiting_on == "Prepare the phone (enrol, install apps)"
    svc.complete_task(rid, "prepare", AGENT)
    assert svc.progress(rid).waiting_on == "shipping"
    svc.ship(rid, "deliver", AGENT, tracking="T1")
    progress = svc.progress(rid)
    assert progress.waiting_on == "your confirmation of receipt"
    assert progress == progress_of(svc.get(rid))
    assert progress.summary == "Your request for iphone-15 is being worked on."


class OnlyTheProtocol:
    """A store with exactly the Store protocol's methods (delegated to a MemoryStore),
    recording which it was asked for."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.asked: set[str] = set()


def _delegate(name: str) -> Any:
    def method(self: OnlyTheProtocol, *args: Any, **kwargs: Any) -> Any:
        self.asked.add(name)
        return getattr(self.inner, name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in protocol_methods():
    setattr(OnlyTheProtocol, _name, _delegate(_name))


def test_a_store_with_only_the_protocol_methods_runs_a_request_to_closure(
    clock: FixedClock, supplier: FakeSupplier
) -> None:
    store = OnlyTheProtocol()
    assert isinstance(store, Store)
    service = FulfillmentService(
        demo_catalog(),
        sla=SLA,
        store=store,  # type: ignore[arg-type]
        plugins=[supplier],
        clock=clock,
        load_entrypoints=False,
        close_after=timedelta(days=1),
    )
    worker = Worker(service, seed=1)
    rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL, {"colour": "black"}).id
    service.approve(rid, MANAGER)
    worker.run_pending()
    supplier.advance(supplier.order_for(rid).ref, OrderStatus.DELIVERED)
    clock.advance(timedelta(minutes=20))
    worker.run_pending()  # the poll sees the delivery
    service.complete_task(rid, "prepare", AGENT)
    service.ship(rid, "deliver", AGENT)
    service.confirm_delivery(rid, "erin.user")
    clock.advance(timedelta(days=2))
    worker.run_pending()
    assert service.get(rid).state is RequestState.CLOSED
    assert {"append", "append_and_claim", "load_after_event", "due_effects"} <= store.asked
