"""The application layer: load -> decide -> append -> effects.

``FulfillmentService`` is what host applications call. Every command loads the
request's events, folds them, asks :func:`reqfulfill.lifecycle.decide`, and
appends the new events with the expected version; a stale write is retried on
fresh state. Side effects (supplier orders, notifications, automations) are
recorded in the store's outbox in the same append and run by the
:class:`reqfulfill.Worker`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from reqfulfill import lifecycle
from reqfulfill.clock import Clock, SystemClock
from reqfulfill.feedback import FeedbackPolicy
from reqfulfill.lifecycle import Command, Context
from reqfulfill.metrics import MetricsRow, metrics_rows, request_facts
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import (
    Channel,
    Impact,
    OrderStatus,
    RequestState,
    TaskKind,
    TaskState,
    Urgency,
)
from reqfulfill.model.errors import ConcurrencyError, NotFoundError, Problem, ValidationError
from reqfulfill.model.events import Event, RequestAssigned
from reqfulfill.model.request import ServiceRequest
from reqfulfill.plugins import PluginHost, get_plugin_manager
from reqfulfill.stores import RequestSummary, Store

if TYPE_CHECKING:
    from reqfulfill.rules import Rules
    from reqfulfill.sla import SlaPolicy

__all__ = ["FulfillmentService", "Progress", "default_store_url"]

log = logging.getLogger(__name__)

_RETRIES = 20
"""How often a command is tried on fresh state when a concurrent write wins the race."""

_STATE_CACHE = 1024
"""How many recently used request states a service keeps, so a command folds only
the events appended since (a stream never changes below its version)."""


def default_store_url() -> str:
    """The embedded store used when none is given.

    ``$REQFULFILL_STORE`` if set, else ``sqlite:///`` + ``$XDG_DATA_HOME/reqfulfill/reqfulfill.db``
    (``~/.local/share/reqfulfill/reqfulfill.db`` by default).
    """
    url = os.environ.get("REQFULFILL_STORE")
    if url:
        return url
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return "sqlite:///" + str(Path(base) / "reqfulfill" / "reqfulfill.db")


@attrs.frozen
class Progress:
    """What a requester may see of their request."""

    request_id: str
    state: str
    summary: str
    done: tuple[str, ...]
    open: tuple[str, ...]
    waiting_on: str | None
    expected_by: datetime | None


_STATE_WORDS = {
    RequestState.SUBMITTED: "received",
    RequestState.AWAITING_APPROVAL: "waiting for approval",
    RequestState.REJECTED: "rejected",
    RequestState.APPROVED: "approved",
    RequestState.TRIAGE: "being reviewed by the service desk",
    RequestState.IN_FULFILLMENT: "being worked on",
    RequestState.WAITING: "on hold",
    RequestState.FULFILLED: "done, about to be closed",
    RequestState.CLOSED: "closed",
    RequestState.CANCELLED: "cancelled",
}


class _Directory:
    """The directory snapshot for one decision: catalog members, hook members,
    availability from the hook, open work counted from the store (lazily)."""

    def __init__(self, service: FulfillmentService, at: datetime) -> None:
        self._service = service
        self._at = at
        self._members: dict[str, tuple[str, ...]] = {}

    def members(self, group_id: str) -> tuple[str, ...]:
        if group_id not in self._members:
            service = self._service
            catalog = service.catalog
            if not service.plugins.pm.hook.reqfulfill_group_members.get_hookimpls():
                # no plugin adds members (asked per decision): the catalog's alone, the
                # same for every decision on this catalog, so sorted once per service
                known = service._catalog_members
                if known[0] is not catalog:
                    known = service._catalog_members = (catalog, {})
                members = known[1].get(group_id)
                if members is None:
                    group = catalog.group(group_id) if catalog.has_group(group_id) else None
                    members = tuple(sorted(set(group.members) if group is not None else ()))
                    known[1][group_id] = members
                self._members[group_id] = members
                return members
            base = set(catalog.group(group_id).members) if catalog.has_group(group_id) else set()
            base |= service.plugins.group_members(group_id)
            self._members[group_id] = tuple(sorted(base))
        return self._members[group_id]

    def available(self, agent_id: str) -> bool:
        return self._service.plugins.agent_available(agent_id, self._at)

    def open_work(self, agent_id: str) -> int:
        store = self._service.store
        return sum(
            len(store.query(agent=agent_id, state=s.value))
            for s in (RequestState.TRIAGE, RequestState.IN_FULFILLMENT, RequestState.WAITING)
        )

    def assigned_count(self, group_id: str) -> int:
        # the group's requests held by an agent, counted from the store once per service;
        # after that the service advances the count with each round-robin pick it stores
        turns = self._service._turns
        if group_id not in turns:
            store = self._service.store
            turns[group_id] = sum(1 for s in store.query(group=group_id) if s.agent is not None)
        return turns[group_id]


class FulfillmentService:
    """Runs service requests through their lifecycle on a store.

    >>> from reqfulfill.testing import demo_catalog
    >>> svc = FulfillmentService(demo_catalog(), store="memory://")
    >>> svc.catalog.item("iphone-15").group
    'service-desk'

    :param catalog: the service catalog.
    :param rules: routing rules; with none, item defaults and the ITIL matrix decide.
    :param sla: the SLA policy; with none, no SLA clock runs.
    :param store: a store URL or a :class:`~reqfulfill.stores.Store`; with none,
        the embedded SQLite store at :func:`default_store_url`.
    :param plugins: plugin objects registered for this service only.
    :param clock: where time comes from (default :class:`~reqfulfill.SystemClock`).
    :param id_factory: makes new request ids (default ``REQ-`` + 12 hex digits).
    :param poll_interval: how often the worker polls open supplier orders.
    :param close_after: a grace period after which the worker closes a fulfilled
        request nobody closed (None: an agent closes it, or the requester's
        confirmation of delivery does).
    :param feedback: when feedback is asked for and accepted (default: every
        request, within 14 days of closure).
    :param load_entrypoints: load plugins from the ``reqfulfill`` entry-point group.
    """

    def __init__(
        self,
        catalog: Catalog,
        rules: Rules | None = None,
        sla: SlaPolicy | None = None,
        store: str | Store | None = None,
        plugins: Iterable[object] = (),
        clock: Clock | None = None,
        *,
        id_factory: Callable[[], str] | None = None,
        poll_interval: timedelta = timedelta(minutes=15),
        close_after: timedelta | None = None,
        feedback: FeedbackPolicy | None = None,
        load_entrypoints: bool = True,
    ) -> None:
        if not isinstance(catalog, Catalog):
            raise ValidationError.single("catalog", catalog, "expected a Catalog")
        if rules is None:
            from reqfulfill.rules import Rules

            rules = Rules()
        _check_rule_groups(rules, catalog)
        self.catalog = catalog
        self.rules = rules
        self.sla = sla
        self.clock: Clock = clock or SystemClock()
        self.poll_interval = poll_interval
        self.close_after = close_after
        self.feedback = feedback or FeedbackPolicy()
        self.plugins = PluginHost(get_plugin_manager(plugins, load_entrypoints=load_entrypoints))
        if store is None:
            store = default_store_url()
        self.store: Store = self.plugins.storage(store) if isinstance(store, str) else store
        self._new_id = id_factory or (lambda: "REQ-" + uuid.uuid4().hex[:12].upper())
        # request id -> (state, the last event folded into it), most recent last
        self._states: dict[str, tuple[ServiceRequest, Event]] = {}
        # the catalog's group members, sorted (used while no plugin adds members)
        self._catalog_members: tuple[Catalog | None, dict[str, tuple[str, ...]]] = (None, {})
        # group -> round-robin turn: counted from the store on first use, then advanced
        # by this service's round-robin assignments (not a query per assignment)
        self._turns: dict[str, int] = {}

    # -- plumbing ---------------------------------------------------------------------

    def _context(self, state: ServiceRequest | None, command: Command | None = None) -> Context:
        now = self.clock.now()
        approvers: frozenset[str] = frozenset()
        # no plugin adds approvers (the usual case): skip building the submitted
        # request for the hook and pluggy's call; asked per command, like ``on_event``
        ask = bool(self.plugins.pm.hook.reqfulfill_approvers.get_hookimpls())
        if ask and state is None and isinstance(command, lifecycle.Submit):
            # the approvers hook takes a request: show it the request as submitted
            try:
                state = lifecycle.evolve(None, lifecycle.submitted_event(command, now))
            except (TypeError, ValueError):
                state = None  # bad input: decide reports it
        if (
            ask
            and state is not None
            and state.state
            in (
                RequestState.AWAITING_APPROVAL,
                RequestState.SUBMITTED,
                RequestState.TRIAGE,
            )
        ):
            approvers = frozenset(self.plugins.approvers(state))
        survey = True
        if isinstance(command, lifecycle.Close | lifecycle.AutoClose) and state is not None:
            survey = self._sampled(state)
        return Context(
            catalog=self.catalog,
            now=now,
            rules=self.rules,
            sla=self.sla,
            directory=_Directory(self, now),
            approvers=approvers,
            feedback=self.feedback,
            survey=survey,
        )

    def _sampled(self, state: ServiceRequest) -> bool:
        """Whether closing this request invites feedback (every Nth per requester or item)."""
        if self.feedback.every_nth == 1:
            return True
        if self.feedback.per == "item":
            closed = self.store.query(item=state.item, state=RequestState.CLOSED.value)
        else:
            closed = self.store.query(requester=state.requester.id, state=RequestState.CLOSED.value)
        return self.feedback.surveys(len(closed))

    def _load(self, request_id: str) -> ServiceRequest:
        known = self._states.get(request_id)
        load_after = getattr(self.store, "load_after", None)
        if known is not None and load_after is not None:
            # read (and decode) only the cached state's last event and what came after;
            # another process may have written since, or the stream may differ
            # altogether (a store wiped and refilled): then the last event differs
            state, last = known
            tail = load_after(request_id, state.version - 1)
            if tail and tail[0] == last:
                for event in tail[1:]:
                    state = lifecycle.evolve(state, event)
                self._remember(state, tail[-1])
                return state
        events = self.store.load(request_id)
        if not events:
            raise NotFoundError("request", request_id)
        # A stream only grows, so a state folded earlier is still the fold of the
        # stream's first ``version`` events: fold only what came after it.
        if known is not None:
            state, last = known
            if state.version <= len(events) and events[state.version - 1] == last:
                for event in events[state.version :]:
                    state = lifecycle.evolve(state, event)
                self._remember(state, events[-1])
                return state
        state = lifecycle.replay(events)
        self._remember(state, events[-1])
        return state

    def _remember(self, state: ServiceRequest, last: Event) -> None:
        states = self._states
        states.pop(state.id, None)
        if len(states) >= _STATE_CACHE:
            # another thread may have evicted it already
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                del states[next(iter(states))]
        states[state.id] = (state, last)

    def _close_at(self, state: ServiceRequest) -> datetime | None:
        if state.state is RequestState.FULFILLED and state.fulfilled_at is not None:
            if state.delivery_confirmed:
                return state.fulfilled_at
            if self.close_after is not None:
                return state.fulfilled_at + self.close_after
        return None

    def _timers(self, before: ServiceRequest | None, after: ServiceRequest) -> dict[str, Any]:
        """The timers an append sets (a time) or deletes (``None``).

        A timer that is unset both before and after the append is left out: the append
        that produced ``before`` deleted it already (or it never existed), so writing
        the deletion again would only cost statements. A timer with a time is always
        written, which re-arms one a failed timer run deleted.
        """
        timers: dict[str, datetime | None] = {}
        if self.sla is not None:
            due = lifecycle.next_sla_deadline(after, self.sla)
            if due is not None or (
                before is not None and lifecycle.next_sla_deadline(before, self.sla) is not None
            ):
                timers["sla"] = due
        close_at = self._close_at(after)
        if close_at is not None or (before is not None and self._close_at(before) is not None):
            timers["close"] = close_at
        open_orders = [
            t
            for t in after.plan
            if t.kind is TaskKind.SUPPLIER_ORDER
            and t.order_ref is not None
            and t.state is TaskState.IN_PROGRESS
            and (t.order_status is None or not t.order_status.final)
        ]
        had_open = before is not None and any(
            t.order_ref is not None
            and t.state is TaskState.IN_PROGRESS
            and (t.order_status is None or not t.order_status.final)
            for t in before.plan
            if t.kind is TaskKind.SUPPLIER_ORDER
        )
        if open_orders and not had_open:
            timers["poll"] = after.updated_at + self.poll_interval
        elif not open_orders and had_open:
            timers["poll"] = None
        return timers

    def refresh_timers(self, request_id: str) -> None:
        """Set the request's ``sla`` and ``close`` timers from its current state.

        The worker calls this after a timer's command; it is idempotent, so two
        workers firing the same timer both leave the right one behind.
        """
        state = self.get(request_id)
        timers: dict[str, datetime | None] = {"close": self._close_at(state)}
        if self.sla is not None:
            timers["sla"] = lifecycle.next_sla_deadline(state, self.sla)
        self.store.set_timers(request_id, timers)

    def _execute(
        self,
        request_id: str,
        make: Callable[[ServiceRequest | None], Command | Sequence[Command]],
        *,
        new: bool = False,
        known: ServiceRequest | None = None,
        completes: tuple[Sequence[str], str] | None = None,
    ) -> ServiceRequest:
        """Load, decide, append; on a concurrent write, again on fresh state.

        ``make`` gives the command, or several decided one after the other whose
        events go in one append. ``known``: a state the caller has just loaded; the
        first attempt decides on it without reading the store again if it is still
        the one this service folded last (a stale one fails the append's version
        check and is read afresh). ``completes``: ``(effect_ids, worker)`` of the
        outbox entries whose outcomes the commands record; they leave the outbox
        with the append (see :meth:`_append`).
        """
        for attempt in range(_RETRIES):
            if new:
                state: ServiceRequest | None = None
            elif attempt == 0 and known is not None and self._cached(request_id) is known:
                state = known
            else:
                state = self._load(request_id)
            made = make(state)
            events: list[Event] = []
            after = state
            for command in [made] if isinstance(made, Command) else made:
                decided, folded = lifecycle.decide_and_evolve(
                    after, command, self._context(after, command)
                )
                if decided:
                    events += decided
                    after = folded
            if not events:
                assert state is not None
                if completes is not None:
                    self._complete_effects(*completes)
                return state
            assert after is not None
            try:
                self._append(request_id, events, state, after, completes)
            except ConcurrencyError:
                if new or attempt == _RETRIES - 1:
                    raise
                log.debug("concurrent write on %s; retrying on fresh state", request_id)
                # a short random pause spreads racing writers apart (no pause the first time)
                if attempt:
                    time.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
                continue
            self._remember(after, events[-1])
            if self._turns:
                self._advance_turns(events)
            # no observer (the usual case): skip pluggy's call per event; asked per
            # command, so a plugin registered on ``plugins.pm`` later is still told
            if self.plugins.pm.hook.reqfulfill_on_event.get_hookimpls():
                for event in events:
                    self.plugins.on_event(event)
            return after
        raise AssertionError("unreachable")  # pragma: no cover

    def _append(
        self,
        request_id: str,
        events: list[Event],
        before: ServiceRequest | None,
        after: ServiceRequest,
        completes: tuple[Sequence[str], str] | None,
    ) -> None:
        """Append a decision's events with the summary and timers of ``after``; with
        ``completes``, also complete those outbox entries, in the same transaction when
        the store has the optional ``append_and_complete`` (else right after)."""
        expected = before.version if before is not None else 0
        summary = RequestSummary.of(after)
        timers = self._timers(before, after)
        if completes is None:
            self.store.append(request_id, events, expected, summary=summary, timers=timers)
            return
        effect_ids, worker = completes
        both = getattr(self.store, "append_and_complete", None)
        if both is not None:
            both(
                request_id,
                events,
                expected,
                effect_ids=effect_ids,
                worker=worker,
                summary=summary,
                timers=timers,
            )
            return
        self.store.append(request_id, events, expected, summary=summary, timers=timers)
        self._complete_effects(effect_ids, worker)

    def _complete_effects(self, effect_ids: Sequence[str], worker: str) -> None:
        for effect_id in effect_ids:
            self.store.complete_effect(effect_id, worker=worker)

    def _advance_turns(self, events: Iterable[Event]) -> None:
        for event in events:
            if (
                isinstance(event, RequestAssigned)
                and event.strategy == "round_robin"
                and event.agent is not None
                and event.group in self._turns
            ):
                self._turns[event.group] += 1

    def _cached(self, request_id: str) -> ServiceRequest | None:
        known = self._states.get(request_id)
        return known[0] if known is not None else None

    def _state_and_effects(
        self, request_id: str, effect_ids: Sequence[str]
    ) -> tuple[ServiceRequest, dict[str, Event]]:
        """The request's current state and its events ``effect_ids`` (for the worker;
        an id the stream lacks is left out). ``NotFoundError`` for an unknown request.

        Event ids are ``<request_id>/<n>``: with the store's optional ``load_after``,
        one read of the stream from the earliest effect's version on gives the
        effects' events and brings the cached state up to date (when the cache holds
        that version or a later one), instead of one read for each.
        """
        load_after = getattr(self.store, "load_after", None)
        versions = [_version_in(request_id, effect_id) for effect_id in effect_ids]
        events: list[Event]
        if load_after is not None and versions and None not in versions:
            first = min(v for v in versions if v is not None)
            events = load_after(request_id, first - 1)
            known = self._states.get(request_id)
            if events and known is not None:
                state, last = known
                at = state.version - first  # where the cached state's last event is
                if 0 <= at < len(events) and events[at] == last:
                    for event in events[at + 1 :]:
                        state = lifecycle.evolve(state, event)
                    self._remember(state, events[-1])
                    return state, _by_id(events, effect_ids)
        else:
            events = self.store.load(request_id)
        return self._load(request_id), _by_id(events, effect_ids)

    def _record_outcomes(
        self,
        state: ServiceRequest,
        commands: Sequence[Command],
        effect_ids: Sequence[str],
        worker: str,
    ) -> ServiceRequest:
        """Record effects' outcomes (for the worker): decide ``commands`` on ``state``
        (just loaded), append their events in one go and complete the effects with
        the append."""
        return self._execute(
            state.id, lambda _state: commands, known=state, completes=(effect_ids, worker)
        )

    def execute(self, request_id: str, command: Command) -> ServiceRequest:
        """Run any lifecycle command on a request (the typed methods call this)."""
        return self._execute(request_id, lambda _state: command)

    # -- commands -----------------------------------------------------------------------

    def submit(
        self,
        requester: Requester,
        item: str | None,
        channel: Channel,
        answers: Mapping[str, object] | None = None,
        actor: str | None = None,
        *,
        request_id: str | None = None,
    ) -> ServiceRequest:
        """Create a request. Portal requests must name a catalog item.

        Items that need approval wait for the requester's manager; items that do
        not go straight to fulfillment; requests without an item wait in triage.
        """
        rid = request_id or self._new_id()
        if isinstance(channel, str):
            try:
                channel = Channel(channel)
            except ValueError:
                raise ValidationError.single("channel", channel, "unknown channel") from None
        who = actor if actor is not None else getattr(requester, "id", None)
        command = lifecycle.Submit(
            actor=str(who),
            request_id=rid,
            requester=requester,
            item=item,
            channel=channel,
            answers=dict(answers) if isinstance(answers, Mapping) else (answers or {}),
        )
        return self._execute(rid, lambda _s: command, new=True)

    def approve(self, request_id: str, actor: str) -> ServiceRequest:
        """Approve (the requester's manager or a plugin-named approver; never the requester)."""
        return self.execute(request_id, lifecycle.Approve(actor=actor))

    def reject(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """Reject; the request ends in REJECTED and the requester is notified."""
        return self.execute(request_id, lifecycle.Reject(actor=actor, reason=reason))

    def triage(
        self,
        request_id: str,
        actor: str,
        item: str | None = None,
        category: str | None = None,
        impact: Impact | None = None,
        urgency: Urgency | None = None,
    ) -> ServiceRequest:
        """Set item, category and priority by hand on a request in TRIAGE."""
        return self.execute(
            request_id,
            lifecycle.Triage(
                actor=actor,
                item=item,
                category=category,
                impact=_enum(Impact, impact, "impact"),
                urgency=_enum(Urgency, urgency, "urgency"),
            ),
        )

    def assign(
        self, request_id: str, actor: str, group: str, agent: str | None = None
    ) -> ServiceRequest:
        """Reassign to another group (and optionally an agent of it)."""
        return self.execute(request_id, lifecycle.Assign(actor=actor, group=group, agent=agent))

    def claim(self, request_id: str, actor: str) -> ServiceRequest:
        """An agent of the assigned group takes the request."""
        return self.execute(request_id, lifecycle.Claim(actor=actor))

    def start_task(self, request_id: str, task_key: str, actor: str) -> ServiceRequest:
        """Start a task, or restart a failed one."""
        return self.execute(request_id, lifecycle.StartTask(actor=actor, task_key=task_key))

    def complete_task(self, request_id: str, task_key: str, actor: str) -> ServiceRequest:
        """Complete a manual task."""
        return self.execute(request_id, lifecycle.CompleteTask(actor=actor, task_key=task_key))

    def fail_task(self, request_id: str, task_key: str, actor: str, reason: str) -> ServiceRequest:
        """Mark a task failed; the group is notified."""
        return self.execute(
            request_id, lifecycle.FailTask(actor=actor, task_key=task_key, reason=reason)
        )

    def skip_task(self, request_id: str, task_key: str, actor: str, reason: str) -> ServiceRequest:
        """Skip a task (it counts as done); an open supplier order is cancelled."""
        return self.execute(
            request_id, lifecycle.SkipTask(actor=actor, task_key=task_key, reason=reason)
        )

    def ship(
        self, request_id: str, task_key: str, actor: str, tracking: str | None = None
    ) -> ServiceRequest:
        """Record that the item of a delivery task has shipped."""
        return self.execute(
            request_id, lifecycle.Ship(actor=actor, task_key=task_key, tracking=tracking)
        )

    def confirm_delivery(self, request_id: str, actor: str) -> ServiceRequest:
        """The requester confirms receipt; the delivery task completes."""
        return self.execute(request_id, lifecycle.ConfirmDelivery(actor=actor))

    def dispute_delivery(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """The requester says the shipped item did not arrive; the delivery reopens."""
        return self.execute(request_id, lifecycle.DisputeDelivery(actor=actor, reason=reason))

    def close(self, request_id: str, actor: str) -> ServiceRequest:
        """Close a fulfilled request; the requester is notified."""
        return self.execute(request_id, lifecycle.Close(actor=actor))

    def cancel(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """Cancel an open request; open supplier orders get cancel requests."""
        return self.execute(request_id, lifecycle.Cancel(actor=actor, reason=reason))

    def record_feedback(
        self, request_id: str, actor: str, rating: int, comment: str = ""
    ) -> ServiceRequest:
        """The requester rates the closed request (1-5), once."""
        return self.execute(
            request_id, lifecycle.RecordFeedback(actor=actor, rating=rating, comment=comment)
        )

    def wait(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """Put the request on hold (the SLA pauses)."""
        return self.execute(request_id, lifecycle.Wait(actor=actor, reason=reason))

    def resume(self, request_id: str, actor: str) -> ServiceRequest:
        """Take the request off hold."""
        return self.execute(request_id, lifecycle.Resume(actor=actor))

    def reprioritize(
        self,
        request_id: str,
        actor: str,
        impact: Impact | None = None,
        urgency: Urgency | None = None,
    ) -> ServiceRequest:
        """Change impact/urgency; the SLA keeps the business time already used."""
        return self.execute(
            request_id,
            lifecycle.Reprioritize(
                actor=actor,
                impact=_enum(Impact, impact, "impact"),
                urgency=_enum(Urgency, urgency, "urgency"),
            ),
        )

    def record_supplier_update(
        self, supplier_id: str, ref: str, status: OrderStatus, *, actor: str | None = None
    ) -> ServiceRequest:
        """A supplier pushes a status (webhooks). Forward-only and idempotent.

        Raises ``NotFoundError`` for an unknown supplier or order reference.
        """
        status = _enum(OrderStatus, status, "status")
        assert status is not None
        if supplier_id not in self.plugins.connectors() and not self._supplier_known(supplier_id):
            raise NotFoundError("supplier", supplier_id)
        request_id = self.store.find_order(supplier_id, ref)
        if request_id is None:
            raise NotFoundError("supplier order", f"{supplier_id}:{ref}")
        return self.execute(
            request_id,
            lifecycle.RecordSupplierUpdate(
                actor=actor or f"supplier:{supplier_id}",
                supplier_id=supplier_id,
                ref=ref,
                status=status,
            ),
        )

    def _supplier_known(self, supplier_id: str) -> bool:
        if any(i.supplier == supplier_id for i in self.catalog.items):
            return True
        return any(t.supplier == supplier_id for p in self.catalog.plans for t in p.tasks)

    # -- queries ------------------------------------------------------------------------

    def get(self, request_id: str) -> ServiceRequest:
        """The request's current state; ``NotFoundError`` for an unknown id."""
        return self._load(request_id)

    def history(self, request_id: str) -> list[Event]:
        """Every event of the request, in order: the audit trail."""
        events = self.store.load(request_id)
        if not events:
            raise NotFoundError("request", request_id)
        return events

    def queue(
        self,
        group: str | None = None,
        state: RequestState | str | None = None,
        *,
        agent: str | None = None,
        limit: int | None = None,
    ) -> list[ServiceRequest]:
        """Requests by group, state and/or agent, oldest first.

        With no state, every request that still needs someone: the open ones and
        the fulfilled ones waiting to be closed.
        """
        if state is None:
            wanted = [s.value for s in RequestState if s.open or s is RequestState.FULFILLED]
        else:
            st = _enum(RequestState, state, "state")
            assert st is not None
            wanted = [st.value]
        rows: list[RequestSummary] = []
        for value in wanted:
            rows.extend(self.store.query(group=group, state=value, agent=agent))
        rows.sort(key=lambda r: (r.created_at, r.request_id))
        if limit is not None:
            rows = rows[:limit]
        return [self._load(r.request_id) for r in rows]

    def progress(self, request_id: str) -> Progress:
        """What the requester may see: state in plain words, tasks, waits, expected time."""
        state = self._load(request_id)
        done = tuple(t.title for t in state.plan if t.finished)
        open_ = tuple(t.title for t in state.plan if not t.finished)
        waiting_on: str | None = None
        if state.state is RequestState.AWAITING_APPROVAL:
            waiting_on = "approval by " + (", ".join(state.approvers) or "an approver")
        elif state.state is RequestState.WAITING:
            waiting_on = state.waiting_reason
        else:
            for task in state.plan:
                if task.state is TaskState.IN_PROGRESS:
                    if task.kind is TaskKind.SUPPLIER_ORDER:
                        status = task.order_status.value if task.order_status else "being ordered"
                        waiting_on = f"supplier {task.supplier}: {status}"
                    elif task.kind is TaskKind.DELIVERY:
                        waiting_on = "your confirmation of receipt" if task.shipped else "shipping"
                    else:
                        waiting_on = task.title
                    break
        words = _STATE_WORDS[state.state]
        return Progress(
            request_id=state.id,
            state=state.state.value,
            summary=f"Your request for {state.item or 'help'} is {words}.",
            done=done,
            open=open_,
            waiting_on=waiting_on,
            expected_by=state.sla.due,
        )

    def metrics(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        by: str = "item",
    ) -> list[MetricsRow]:
        """Fulfillment metrics of the requests created in ``[since, until)``, per
        ``"item"``, ``"group"`` or ``"agent"``.

        Each :class:`~reqfulfill.metrics.MetricsRow` has the count, time to assign
        (p50), time to fulfil in business time (p50, p90), SLA attainment %,
        escalations, CSAT (mean rating) and the survey response rate.
        """
        if by not in ("item", "group", "agent"):
            raise ValidationError.single("by", by, "group metrics by 'item', 'group' or 'agent'")
        facts = []
        for row in self.store.query():
            if since is not None and row.created_at < since:
                continue
            if until is not None and row.created_at >= until:
                continue
            history = self.store.load(row.request_id)
            facts.append(request_facts(lifecycle.replay(history), history))
        return metrics_rows(facts, by)  # type: ignore[arg-type]


def _version_in(request_id: str, event_id: str) -> int | None:
    """``n`` of an event id ``<request_id>/<n>`` (None for any other form)."""
    prefix, _, number = event_id.rpartition("/")
    return int(number) if prefix == request_id and number.isdigit() else None


def _by_id(events: Iterable[Event], ids: Iterable[str]) -> dict[str, Event]:
    wanted = set(ids)
    return {e.event_id: e for e in events if e.event_id in wanted}


def _check_rule_groups(rules: Rules, catalog: Catalog) -> None:
    """An assignment rule naming a group the catalog lacks would strand every request it
    routes (no one could act on it): refuse it when the service is built."""
    problems = [
        Problem(
            f"assignment.rules[{index}].then.group",
            rule.then.get("group"),
            f"rule {rule.name!r} assigns to a group the catalog does not have",
        )
        for index, rule in enumerate(rules.assignment.rules)
        if isinstance(rule.then.get("group"), str) and not catalog.has_group(rule.then["group"])
    ]
    if problems:
        raise ValidationError(problems, source="rules")


def _enum(cls: Any, value: Any, path: str) -> Any:
    if value is None or isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValidationError.single(path, value, f"expected one of {allowed}") from None
