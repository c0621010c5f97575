"""``FulfillmentMachine``: a hypothesis state machine that drives a real service.

Subclass it with your catalog, rules, SLA policy and store, and hypothesis runs
random command sequences -- submit, approve, reject, triage, claim, complete,
skip, ship, confirm, cancel, feedback, wait, resume, reprioritize; mails received
(new, again, replies: ``machine_intake``) -- by random actors (some not allowed),
with clock moves, supplier status changes and worker runs, against a real
:class:`~reqfulfill.FulfillmentService`, :class:`~reqfulfill.Worker`,
:class:`~reqfulfill.testing.FakeSupplier` and :class:`~reqfulfill.FixedClock`. After
every step it checks:

- the state the service returns equals ``replay(history)`` and ``get()``;
- the stream only grows, and every state change is in
  :data:`reqfulfill.lifecycle.TRANSITIONS`;
- the SLA business time used never goes down;
- every order a fake supplier accepted matches exactly one
  ``SupplierOrderRequested`` event (its idempotency key is that event's id),
  no key was placed twice, and every recorded order reference is the
  supplier's answer to that key;
- an actor the roles do not allow never changes a request (the oracle is
  :func:`role_allows`, who may run each command written out on its own,
  independent of the decider);
- no effect ran for a request that no longer wanted it: no automation, order or
  notification the request, as the store held it when the effect ran, surely did
  not want (an oracle written out on its own: an automation of a cancelled request,
  "approval needed" once approved, ...). Rules cancel, approve and reject requests while
  their automations and held notices wait, and move the clock past business hours.

A whole test module::

    from hypothesis import settings
    from reqfulfill.testing.machine import FulfillmentMachine

    class MyMachine(FulfillmentMachine):
        catalog = Catalog.from_toml("catalog.toml")
        routing_rules = Rules.from_toml("rules.toml")
        store_url = "sqlite:///{tmp}/machine.db"  # {tmp}: a fresh directory per example

    TestMyMachine = MyMachine.TestCase
    TestMyMachine.settings = settings(max_examples=50, stateful_step_count=50)

Override :meth:`FulfillmentMachine.make_service` for anything the class
attributes do not cover (a shared store that you empty between examples, extra
plugins); override :meth:`FulfillmentMachine.allowed` when a plugin widens who
may do what. Needs the ``testing`` extra (hypothesis).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from reqfulfill.clock import FixedClock
from reqfulfill.lifecycle import TRANSITIONS, evolve
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import Channel, Impact, OrderStatus, RequestState, TaskKind, Urgency
from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.model.events import (
    EffectAbandoned,
    Event,
    NotificationRequested,
    SupplierOrderPlaced,
    SupplierOrderRequested,
)
from reqfulfill.model.request import ServiceRequest
from reqfulfill.rules import Rules
from reqfulfill.service import FulfillmentService
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing._demo import demo_catalog, demo_requester
from reqfulfill.testing._effect_watch import EffectWatch, WatchedSupplier
from reqfulfill.testing._fake_supplier import FakeSupplier
from reqfulfill.testing._roles import any_member, role_allows
from reqfulfill.testing.machine_approvals import ApprovalSteps
from reqfulfill.testing.machine_intake import IntakeSteps
from reqfulfill.testing.machine_queries import QueryInvariants
from reqfulfill.testing.machine_stock import StockMachine
from reqfulfill.worker import Worker

__all__ = ["FulfillmentMachine", "role_allows"]

_OUTSIDER = "mallory.outsider"  # no role anywhere: every command of theirs is refused

_STEPS: tuple[timedelta, ...] = tuple(timedelta(minutes=m) for m in (1, 16, 60, 540, 4320))
"""How far the clock may jump in one step: past a poll, a retry, a shift, a weekend."""


def _sla_used(state: ServiceRequest, policy: SlaPolicy | None, now: datetime) -> timedelta:
    sla = state.sla
    if policy is None or not sla.running or sla.used_at is None:
        return sla.used
    return sla.used + policy.calendar.between(sla.used_at, now)


class FulfillmentMachine(
    IntakeSteps, QueryInvariants, ApprovalSteps, StockMachine, RuleBasedStateMachine
):
    """Random fulfillment work against a real service; invariants after every step.

    Class attributes a subclass sets (all optional):

    - ``catalog``: the :class:`~reqfulfill.Catalog` (default: the demo catalog);
    - ``routing_rules``: :class:`~reqfulfill.Rules` (default: item defaults);
    - ``sla_policy``: the SLA policy (default :meth:`SlaPolicy.default`; None: no SLA);
    - ``store_url``: the store; ``{tmp}`` becomes a fresh temporary directory per
      example (default ``memory://``);
    - ``requesters``: who submits (default: the demo requester and one whose
      manager is an agent);
    - ``start``: the clock's first reading; ``max_requests``: requests per example.

    ``steps_run`` counts the rules run by every instance of the class (to size
    runs); ``outcomes`` counts accepted and refused commands by name; ``effects``
    counts the effects run (by kind) and abandoned (by kind and reason; ``held``
    for notifications that waited for business hours).
    """

    catalog: ClassVar[Catalog | None] = None
    routing_rules: ClassVar[Rules | None] = None
    sla_policy: ClassVar[SlaPolicy | None] = SlaPolicy.default()
    store_url: ClassVar[str] = "memory://"
    requesters: ClassVar[Sequence[Requester] | None] = None
    start: ClassVar[datetime] = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
    max_requests: ClassVar[int] = 6
    steps_run: ClassVar[int] = 0
    outcomes: ClassVar[Counter[str]] = Counter()
    effects: ClassVar[Counter[str]] = Counter()

    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        cls = type(self)
        if "outcomes" not in cls.__dict__:
            cls.outcomes = Counter()
        if "effects" not in cls.__dict__:
            cls.effects = Counter()
        self.clock = FixedClock(self.start)
        self._catalog = self.catalog if self.catalog is not None else demo_catalog()
        # the notifier and automation runner, told of every effect run
        self.automations = EffectWatch()
        self.suppliers: dict[str, FakeSupplier] = {
            sid: WatchedSupplier(sid, self.automations, seed=0)
            for sid in self.supplier_ids(self._catalog)
        }
        self._tmp: str | None = None
        self._token = uuid.uuid4().hex[:8].upper()
        self._count = 0
        self.service = self.make_service()
        self.automations.read = self.service.get
        self.worker = Worker(self.service, seed=0, name="machine")
        self._requesters = list(self.requesters or self._default_requesters())
        self.actors: tuple[str, ...] = tuple(
            sorted(
                any_member(self._catalog)
                | {r.id for r in self._requesters}
                | {r.manager for r in self._requesters if r.manager}
                | {_OUTSIDER}
            )
        )
        self._ids: list[str] = []
        self._states: dict[str, ServiceRequest] = {}
        self._histories: dict[str, list[Event]] = {}
        self._returned: dict[str, ServiceRequest] = {}
        self._used: dict[str, timedelta] = {}
        self._touched: set[str] = set()
        self._check_orders = False
        self._checks = 0

    # -- hooks a subclass may override -------------------------------------------------

    @staticmethod
    def supplier_ids(catalog: Catalog) -> list[str]:
        """Every supplier the catalog orders from (one ``FakeSupplier`` each)."""
        found = {i.supplier for i in catalog.items if i.supplier}
        found |= {t.supplier for p in catalog.plans for t in p.tasks if t.supplier}
        return sorted(s for s in found if s)

    def resolve_store_url(self) -> str:
        """``store_url`` with ``{tmp}`` replaced by a fresh temporary directory."""
        url = self.store_url
        if "{tmp}" in url:
            self._tmp = tempfile.mkdtemp(prefix="rf-machine-")
            url = url.replace("{tmp}", self._tmp)
        return url

    def new_request_id(self) -> str:
        """Request ids unique across examples (a shared store never sees one twice)."""
        self._count += 1
        return f"M{self._token}-{self._count}"

    def make_service(self) -> FulfillmentService:
        """The service under test: uses ``self.clock``, ``self.suppliers``, ``self.automations``.

        Override to use a store object you manage; keep the clock, the fake
        suppliers, ``self.automations`` (the notifier and automation runner that
        watches every effect run) and ``id_factory=self.new_request_id``.
        """
        return FulfillmentService(
            self._catalog,
            rules=self.routing_rules,
            sla=self.sla_policy,
            store=self.resolve_store_url(),
            plugins=[*self.suppliers.values(), self.automations, *self.stock_plugins()],
            clock=self.clock,
            id_factory=self.new_request_id,
            load_entrypoints=False,
        )

    def allowed(
        self, command: str, actor: str, state: ServiceRequest, task_key: str | None
    ) -> bool:
        """The role oracle (:func:`role_allows`); override when a plugin widens roles."""
        return role_allows(self._catalog, command, actor, state, task_key=task_key)

    def release_store(self) -> None:
        """Called at the end of every example: closes the store (override to keep a shared one)."""
        self.service.store.close()

    def _default_requesters(self) -> list[Requester]:
        agents = sorted(any_member(self._catalog))
        second_manager = agents[0] if agents else "max.manager"
        return [
            demo_requester(),
            Requester(
                id="rita.remote",
                name="Rita Remote",
                department="Sales",
                location="Oulu",
                vip=True,
                manager=second_manager,
            ),
        ]

    def teardown(self) -> None:
        """Check every request and order one last time, then release the store."""
        type(self).steps_run += max(0, self._checks - 1)
        type(self).effects.update({f"ran {k}": n for k, n in self.automations.runs.items()})
        try:
            self.drain_stock()
            if self._ids:
                self._refresh(self._ids)
                self._orders_match()
        finally:
            self.release_store()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)

    # -- helpers -----------------------------------------------------------------------------

    def _actor(
        self, data: st.DataObject, command: str, state: ServiceRequest, key: str | None
    ) -> str:
        """Mostly an allowed actor (so requests make progress), sometimes anyone."""
        fitting = [a for a in self.actors if self.allowed(command, a, state, key)]
        if fitting and data.draw(st.integers(0, 3), label="pick allowed") > 0:
            return data.draw(st.sampled_from(fitting), label="actor")
        return data.draw(st.sampled_from(self.actors), label="actor")

    def _task_key(self, data: st.DataObject, state: ServiceRequest) -> str:
        keys = [t.key for t in state.plan] or ["fulfil"]
        return data.draw(st.sampled_from([*keys, "no-such-task"]), label="task")

    def _run(
        self,
        command: str,
        request_id: str,
        actor: str,
        call: Callable[[], ServiceRequest],
        task_key: str | None = None,
    ) -> None:
        before = self._states[request_id]
        allowed = self.allowed(command, actor, before, task_key)
        try:
            after = call()
        except ReqfulfillError as exc:
            type(self).outcomes[f"{command} refused ({type(exc).__name__})"] += 1
            after = None
        else:
            type(self).outcomes[f"{command} accepted"] += 1
        self._touched.add(request_id)
        if after is None:
            return  # the invariant checks that the stream did not grow
        if after.version != before.version:
            assert allowed, (
                f"{actor!r} is not allowed to {command} {request_id} in {before.state.value}, "
                f"yet the request changed (version {before.version} -> {after.version})"
            )
        self._returned[request_id] = after

    def _refresh(self, request_ids: Iterable[str]) -> None:
        """Reload requests and check the stream, the fold and the transitions."""
        for rid in request_ids:
            history = self.service.history(rid)
            known = self._histories.get(rid, [])
            assert [e.event_id for e in history[: len(known)]] == [e.event_id for e in known], (
                f"{rid}: the stream was rewritten"
            )
            state: ServiceRequest | None = None
            for index, event in enumerate(history):
                after = evolve(state, event)
                if state is not None and after.state is not state.state:
                    assert after.state in TRANSITIONS[state.state], (
                        f"{rid}: event {index + 1} ({event.type}) moved "
                        f"{state.state.value} -> {after.state.value}, not in TRANSITIONS"
                    )
                state = after
            assert state is not None
            assert state.version == len(history)
            got = self.service.get(rid)
            assert got == state, f"{rid}: get() differs from replay(history)"
            returned = self._returned.pop(rid, None)
            if returned is not None:
                assert returned == state, f"{rid}: the command returned a state != replay(history)"
            previous = self._states.get(rid)
            if previous is not None and previous.state in (
                RequestState.CLOSED,
                RequestState.CANCELLED,
                RequestState.REJECTED,
            ):
                assert state.state is previous.state, f"{rid} left terminal state {previous.state}"
            self._states[rid] = state
            self._histories[rid] = history
            self._count_abandoned(history, len(known))

    def _count_abandoned(self, history: Sequence[Event], start: int) -> None:
        """Count the effects abandoned in ``history[start:]`` by kind and reason."""
        for event in history[start:]:
            if not isinstance(event, EffectAbandoned):
                continue
            held = any(
                isinstance(e, NotificationRequested)
                and e.event_id == event.effect_id
                and e.not_before is not None
                for e in history
            )
            kind = f"{'held ' if held else ''}{event.effect_type}"
            type(self).effects[f"abandoned {kind}: {event.reason}"] += 1

    def _orders_match(self) -> None:
        requested: dict[str, SupplierOrderRequested] = {}
        placed: list[SupplierOrderPlaced] = []
        # read afresh: a worker run asks for orders too (a stock_or_order task out of stock)
        for history in map(self.service.history, self._ids):
            for event in history:
                if isinstance(event, SupplierOrderRequested):
                    assert event.event_id not in requested, f"effect id {event.event_id} twice"
                    requested[event.event_id] = event
                elif isinstance(event, SupplierOrderPlaced):
                    placed.append(event)
        seen: set[str] = set()
        refs: dict[tuple[str, str], str] = {}
        for supplier_id, supplier in self.suppliers.items():
            for order in supplier.orders:
                key = order.idempotency_key
                assert key not in seen, f"idempotency key {key} placed twice"
                seen.add(key)
                effect = requested.get(key)
                assert effect is not None, (
                    f"{supplier_id} accepted order {order.ref} with key {key!r}, "
                    "which is no SupplierOrderRequested event"
                )
                assert effect.supplier_id == supplier_id
                assert effect.order == order.order, f"order {order.ref} differs from its request"
                refs[(supplier_id, order.ref)] = key
        for event in placed:
            assert event.effect_id is not None
            answered = refs.get((event.supplier_id, event.ref))
            assert answered == event.effect_id, (
                f"recorded order {event.supplier_id}:{event.ref} answers {answered!r}, "
                f"not its request {event.effect_id!r}"
            )

    # -- rules: requests ---------------------------------------------------------------------

    def _can_submit(self) -> bool:
        return len(self._ids) < self.max_requests

    def _submit(self, data: st.DataObject, items: Sequence[str | None]) -> Any:
        requester = data.draw(st.sampled_from(self._requesters), label="requester")
        item = data.draw(st.sampled_from(items), label="item")
        channel = data.draw(st.sampled_from(list(Channel)), label="channel")
        answers = data.draw(
            st.fixed_dictionaries(
                {}, optional={"from_stock": st.booleans(), "quantity": st.integers(0, 3)}
            ),
            label="answers",
        )
        rid = self.new_request_id()
        try:
            self.service.submit(requester, item, channel, answers, request_id=rid)
        except ReqfulfillError as exc:
            type(self).outcomes[f"submit refused ({type(exc).__name__})"] += 1
            assert self.service.store.load(rid) == [], f"refused submit of {rid} wrote events"
            return multiple()
        type(self).outcomes["submit accepted"] += 1
        self._ids.append(rid)
        self._touched.add(rid)
        return rid

    @initialize(target=requests, data=st.data())
    def first_request(self, data: st.DataObject) -> Any:
        """Every run starts with a request for a catalog item."""
        return self._submit(data, [i.id for i in self._catalog.items])

    @precondition(_can_submit)
    @rule(target=requests, data=st.data())
    def submit(self, data: st.DataObject) -> Any:
        """A requester orders an item (or asks for help without one) on some channel."""
        return self._submit(data, [None, *(i.id for i in self._catalog.items)])

    @rule(request=requests, data=st.data())
    def approve(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "approve", state, None)
        self._run("approve", request, actor, lambda: self.service.approve(request, actor))

    @rule(request=requests, data=st.data())
    def reject(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "reject", state, None)
        self._run("reject", request, actor, lambda: self.service.reject(request, actor, "no"))

    @rule(request=requests, data=st.data())
    def triage(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "triage", state, None)
        items: list[str | None] = [None, *(i.id for i in self._catalog.items)]
        item = data.draw(st.sampled_from(items), label="item")
        impact = data.draw(st.none() | st.sampled_from(list(Impact)), label="impact")
        urgency = data.draw(st.none() | st.sampled_from(list(Urgency)), label="urgency")
        self._run(
            "triage",
            request,
            actor,
            lambda: self.service.triage(request, actor, item=item, impact=impact, urgency=urgency),
        )

    @rule(request=requests, data=st.data())
    def assign(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "assign", state, None)
        group = data.draw(st.sampled_from([g.id for g in self._catalog.groups]), label="group")
        agent = data.draw(st.none() | st.sampled_from(self.actors), label="agent")
        self._run(
            "assign", request, actor, lambda: self.service.assign(request, actor, group, agent)
        )

    @rule(request=requests, data=st.data())
    def claim(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "claim", state, None)
        self._run("claim", request, actor, lambda: self.service.claim(request, actor))

    def _task_command(self, command: str, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        key = self._task_key(data, state)
        actor = self._actor(data, command, state, key)
        service = self.service
        calls: dict[str, Callable[[], ServiceRequest]] = {
            "start_task": lambda: service.start_task(request, key, actor),
            "complete_task": lambda: service.complete_task(request, key, actor),
            "fail_task": lambda: service.fail_task(request, key, actor, "broken"),
            "skip_task": lambda: service.skip_task(request, key, actor, "taken from stock"),
            "ship": lambda: service.ship(request, key, actor, tracking="TRK-1"),
        }
        self._run(command, request, actor, calls[command], task_key=key)

    @rule(request=requests, data=st.data())
    def start_task(self, request: str, data: st.DataObject) -> None:
        self._task_command("start_task", request, data)

    @rule(request=requests, data=st.data())
    def complete_task(self, request: str, data: st.DataObject) -> None:
        self._task_command("complete_task", request, data)

    @rule(request=requests, data=st.data())
    def fail_task(self, request: str, data: st.DataObject) -> None:
        self._task_command("fail_task", request, data)

    @rule(request=requests, data=st.data())
    def skip_task(self, request: str, data: st.DataObject) -> None:
        self._task_command("skip_task", request, data)

    @rule(request=requests, data=st.data())
    def ship(self, request: str, data: st.DataObject) -> None:
        self._task_command("ship", request, data)

    @rule(request=requests, data=st.data())
    def confirm_delivery(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "confirm_delivery", state, None)
        self._run(
            "confirm_delivery",
            request,
            actor,
            lambda: self.service.confirm_delivery(request, actor),
        )

    @rule(request=requests, data=st.data())
    def close(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "close", state, None)
        self._run("close", request, actor, lambda: self.service.close(request, actor))

    @rule(request=requests, data=st.data())
    def cancel(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "cancel", state, None)
        self._run(
            "cancel", request, actor, lambda: self.service.cancel(request, actor, "not needed")
        )

    @rule(request=requests, data=st.data())
    def record_feedback(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "record_feedback", state, None)
        rating = data.draw(st.integers(0, 6), label="rating")
        self._run(
            "record_feedback",
            request,
            actor,
            lambda: self.service.record_feedback(request, actor, rating, "thanks"),
        )

    @rule(request=requests, data=st.data())
    def wait(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "wait", state, None)
        self._run("wait", request, actor, lambda: self.service.wait(request, actor, "asked user"))

    @rule(request=requests, data=st.data())
    def resume(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "resume", state, None)
        self._run("resume", request, actor, lambda: self.service.resume(request, actor))

    @rule(request=requests, data=st.data())
    def reprioritize(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        actor = self._actor(data, "reprioritize", state, None)
        impact = data.draw(st.none() | st.sampled_from(list(Impact)), label="impact")
        urgency = data.draw(st.none() | st.sampled_from(list(Urgency)), label="urgency")
        self._run(
            "reprioritize",
            request,
            actor,
            lambda: self.service.reprioritize(request, actor, impact=impact, urgency=urgency),
        )

    @rule(request=requests, data=st.data(), moves=st.integers(1, 8))
    def progress(self, request: str, data: st.DataObject, moves: int) -> None:
        """The next few steps of the happy path, by allowed actors (so runs get deep)."""
        for _ in range(moves):
            self._next_move(request, data)
            if self._touched:
                self._refresh([r for r in self._ids if r in self._touched])
                self._touched.clear()

    def _next_move(self, request: str, data: st.DataObject) -> None:
        state = self._states[request]
        s = RequestState
        if state.state is s.AWAITING_APPROVAL:
            actor = self._actor(data, "approve", state, None)
            self._run("approve", request, actor, lambda: self.service.approve(request, actor))
        elif state.state is s.TRIAGE:
            items = [i.id for i in self._catalog.items]
            item = data.draw(st.sampled_from(items), label="item") if items else None
            actor = self._actor(data, "triage", state, None)
            self._run("triage", request, actor, lambda: self.service.triage(request, actor, item))
        elif state.state is s.WAITING:
            actor = self._actor(data, "resume", state, None)
            self._run("resume", request, actor, lambda: self.service.resume(request, actor))
        elif state.state is s.FULFILLED:
            actor = self._actor(data, "close", state, None)
            self._run("close", request, actor, lambda: self.service.close(request, actor))
        elif state.state is s.CLOSED and state.feedback is None:
            actor = self._actor(data, "record_feedback", state, None)
            rating = data.draw(st.integers(1, 5), label="rating")
            self._run(
                "record_feedback",
                request,
                actor,
                lambda: self.service.record_feedback(request, actor, rating),
            )
        elif state.state is s.IN_FULFILLMENT:
            self._progress_task(request, state, data)

    def _progress_task(self, request: str, state: ServiceRequest, data: st.DataObject) -> None:
        open_tasks = [t for t in state.plan if not t.finished and t.state.value != "pending"]
        if not open_tasks:
            return
        task = data.draw(st.sampled_from(open_tasks), label="task")
        service = self.service
        key = task.key
        if task.state.value == "failed":
            actor = self._actor(data, "start_task", state, key)
            call = lambda: service.start_task(request, key, actor)  # noqa: E731
            self._run("start_task", request, actor, call, task_key=key)
        elif task.kind is TaskKind.MANUAL:
            actor = self._actor(data, "complete_task", state, key)
            call = lambda: service.complete_task(request, key, actor)  # noqa: E731
            self._run("complete_task", request, actor, call, task_key=key)
        elif task.kind is TaskKind.DELIVERY and not task.shipped:
            actor = self._actor(data, "ship", state, key)
            self._run("ship", request, actor, lambda: service.ship(request, key, actor), key)
        elif task.kind is TaskKind.DELIVERY:
            actor = self._actor(data, "confirm_delivery", state, None)
            call = lambda: service.confirm_delivery(request, actor)  # noqa: E731
            self._run("confirm_delivery", request, actor, call)
        elif task.kind.orders and task.order_ref and task.supplier:
            supplier = self.suppliers.get(task.supplier)
            if supplier is not None:
                supplier.advance(task.order_ref, OrderStatus.DELIVERED)
                self.clock.advance(self.service.poll_interval)
                self._work()
        else:  # an order not placed yet, an automation: the worker's turn
            self._work()

    def _work(self, limit: int | None = None) -> None:
        self.worker.run_pending(limit=limit)
        self._touched.update(self._ids)
        self._check_orders = True

    # -- rules: time, suppliers, worker -------------------------------------------------------

    @rule(step=st.sampled_from(_STEPS))
    def advance_clock(self, step: timedelta) -> None:
        """Time passes: polls and retries fall due, SLA thresholds come closer."""
        self.clock.advance(step)

    def _has_orders(self) -> bool:
        return any(s.orders for s in self.suppliers.values())

    @precondition(_has_orders)
    @rule(data=st.data(), status=st.sampled_from(list(OrderStatus)))
    def advance_supplier_order(self, data: st.DataObject, status: OrderStatus) -> None:
        """The supplier moves an order on; the worker's next poll sees it."""
        orders = [(s, o) for s in self.suppliers.values() for o in s.orders]
        supplier, order = data.draw(st.sampled_from(orders), label="order")
        supplier.advance(order.ref, status)

    @precondition(_has_orders)
    @rule(data=st.data(), status=st.sampled_from(list(OrderStatus)))
    def supplier_pushes_update(self, data: st.DataObject, status: OrderStatus) -> None:
        """The supplier calls the webhook (forward-only, idempotent)."""
        orders = [(s, o) for s in self.suppliers.values() for o in s.orders]
        supplier, order = data.draw(st.sampled_from(orders), label="order")
        rid = self.service.store.find_order(supplier.supplier_id, order.ref)
        try:
            self.service.record_supplier_update(supplier.supplier_id, order.ref, status)
        except ReqfulfillError as exc:
            type(self).outcomes[f"supplier update refused ({type(exc).__name__})"] += 1
        if rid is not None:
            self._touched.add(rid)

    @rule(limit=st.none() | st.integers(1, 3))
    def run_worker(self, limit: int | None) -> None:
        """The worker runs due effects and timers (all, or a few: a crash-like pause)."""
        self._work(limit)

    @precondition(_can_submit)
    @rule(target=requests, data=st.data(), then=st.sampled_from(["wait", "approve", "cancel"]))
    def submit_after_hours(self, data: st.DataObject, then: str) -> Any:
        """After hours, a requester orders an item that needs approval: the approver's
        notice is held until the calendar opens. Then the manager may approve at once
        (the request's automation or order waits behind the held notice), and the
        requester may cancel right after (before the worker ran any of it)."""
        while self.sla_policy is not None and self.sla_policy.calendar.is_open(self.clock.now()):
            self.clock.advance(hours=1)
        items = [i.id for i in self._catalog.items if i.requires_approval]
        rid = self._submit(data, items or [i.id for i in self._catalog.items])
        if then != "wait" and isinstance(rid, str):
            self._refresh([rid])
            actor = self._actor(data, "approve", self._states[rid], None)
            self._run("approve", rid, actor, lambda: self.service.approve(rid, actor))
            if then == "cancel":
                self._refresh([rid])
                who = self._states[rid].requester.id
                self._run("cancel", rid, who, lambda: self.service.cancel(rid, who, "not now"))
        return rid

    @precondition(
        lambda self: self.sla_policy and not self.sla_policy.calendar.is_open(self.clock.now())
    )
    @rule()
    def business_hours_begin(self) -> None:
        """The calendar opens and the worker runs: the held notifications go out, or are
        abandoned when their request no longer wants them."""
        assert self.sla_policy is not None
        self.clock.set(self.sla_policy.calendar.next_open(self.clock.now()))
        self._work()

    def _effects_wait(self, request: str) -> bool:
        """True when a task's automation or order of the request has not run yet, or one
        of its notifications is held until business hours."""
        state = self._states[request]
        if any(t.order_effect and t.order_effect not in state.settled for t in state.plan):
            return True
        now = self.clock.now()
        return any(
            isinstance(e, NotificationRequested)
            and e.event_id in state.pending_notifications
            and e.not_before is not None
            and e.not_before > now
            for e in self._histories[request]
        )

    def _open_with_effects(self) -> list[str]:
        return [r for r, s in self._states.items() if s.state.open and self._effects_wait(r)]

    @precondition(lambda self: bool(self._open_with_effects()))
    @rule(data=st.data())
    def cancel_while_effects_wait(self, data: st.DataObject) -> None:
        """The requester cancels a request whose automation, order or held notices have
        not run yet: none of those it no longer wants may run."""
        request = data.draw(st.sampled_from(self._open_with_effects()), label="request")
        actor = self._states[request].requester.id
        call = lambda: self.service.cancel(request, actor, "no longer needed")  # noqa: E731
        self._run("cancel", request, actor, call)

    def _awaiting_with_notice(self) -> list[str]:
        return [
            r
            for r, state in self._states.items()
            if state.state is RequestState.AWAITING_APPROVAL and state.pending_notifications
        ]

    @precondition(lambda self: bool(self._awaiting_with_notice()))
    @rule(data=st.data(), approve=st.booleans())
    def decide_while_approval_notice_waits(self, data: st.DataObject, approve: bool) -> None:
        """The manager approves or rejects before the (held) "approval needed" went out."""
        request = data.draw(st.sampled_from(self._awaiting_with_notice()), label="request")
        actor = self._actor(data, "approve", self._states[request], None)
        if approve:
            self._run("approve", request, actor, lambda: self.service.approve(request, actor))
        else:
            call = lambda: self.service.reject(request, actor, "not now")  # noqa: E731
            self._run("reject", request, actor, call)

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def streams_fold_to_state(self) -> None:
        """replay(history) == get() == what the command returned; table transitions only."""
        self._checks += 1  # once after the start, then once per step
        if self._touched:
            touched = [rid for rid in self._ids if rid in self._touched]
            self._touched.clear()
            self._refresh(touched)
        assert not self._returned, f"unchecked results: {sorted(self._returned)}"

    @invariant()
    def sla_used_time_never_decreases(self) -> None:
        """The business time an SLA has used only grows (pauses stop it, nothing rewinds it)."""
        now = self.clock.now()
        for rid, state in self._states.items():
            used = _sla_used(state, self.sla_policy, now)
            before = self._used.get(rid, timedelta(0))
            assert used >= before, f"{rid}: SLA used went from {before} to {used}"
            self._used[rid] = used

    @invariant()
    def orders_match_their_requests(self) -> None:
        """Every accepted order answers one SupplierOrderRequested; no key placed twice."""
        if self._check_orders:
            self._check_orders = False
            self._orders_match()

    @invariant()
    def no_effect_ran_unwanted(self) -> None:
        """No automation, order or notification ran for a request that, as it stood when
        the effect ran, surely no longer wanted it."""
        violations = self.automations.violations
        assert not violations, violations[0]

    @invariant()
    def supplier_tasks_name_a_supplier(self) -> None:
        """Orders only go to suppliers the machine runs (so none is silently dropped)."""
        for state in self._states.values():
            for task in state.plan:
                if task.kind.orders and task.order_ref is not None:
                    assert task.supplier in self.suppliers, task.supplier
