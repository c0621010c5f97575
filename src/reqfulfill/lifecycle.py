"""The request lifecycle as a pure decider: ``decide``, ``evolve``, ``replay``.

``decide(state, command, context)`` checks a command against the current state
and policy and returns the new events (or raises a typed error and writes
nothing); ``evolve(state, event)`` applies one event; ``replay(events)`` folds a
whole stream. Nothing here reads a clock, a store or a plugin: the service
passes ``now`` and a snapshot of the directory in the :class:`Context`.

The transition table is data (:data:`STATE_CHANGES`, :data:`EVENT_STATES`,
:data:`COMMAND_STATES`) and is checked when this module is imported.

>>> from reqfulfill.model.enums import RequestState
>>> RequestState.IN_FULFILLMENT in TRANSITIONS[RequestState.APPROVED]
True
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import attrs

from reqfulfill.feedback import FeedbackPolicy
from reqfulfill.model import events as ev
from reqfulfill.model._json import json_problem
from reqfulfill.model.catalog import Catalog, PlanTemplate, Requester, ServiceItem
from reqfulfill.model.enums import (
    Channel,
    Impact,
    OrderStatus,
    RequestState,
    TaskKind,
    TaskState,
    Urgency,
)
from reqfulfill.model.errors import (
    AuthorizationError,
    Problem,
    TransitionError,
    ValidationError,
    nesting_problem,
    short_repr,
)
from reqfulfill.model.request import (
    Approval,
    Assignment,
    Feedback,
    ServiceRequest,
    SlaStatus,
    Task,
)
from reqfulfill.model.supplier import Notification, OrderLine, SupplierOrder

if TYPE_CHECKING:
    from reqfulfill.rules import Rules
    from reqfulfill.sla import SlaPolicy

__all__ = [
    "COMMAND_STATES",
    "EVENT_STATES",
    "STATE_CHANGES",
    "SYSTEM",
    "TRANSITIONS",
    "WORKER",
    "Approve",
    "Assign",
    "AutoClose",
    "AutomationSucceeded",
    "Cancel",
    "Claim",
    "Close",
    "Command",
    "CompleteTask",
    "ConfirmDelivery",
    "Context",
    "Directory",
    "DisputeDelivery",
    "EffectFailed",
    "FailTask",
    "FireSla",
    "NotificationDelivered",
    "OrderCancelled",
    "OrderPlaced",
    "RecordAttempt",
    "RecordFeedback",
    "RecordSupplierUpdate",
    "Reject",
    "Reprioritize",
    "Resume",
    "Ship",
    "SkipTask",
    "StartTask",
    "StaticDirectory",
    "Submit",
    "Triage",
    "Wait",
    "decide",
    "decide_and_evolve",
    "evolve",
    "replay",
]

S = RequestState
SYSTEM = "system"
"""The actor of automatic decisions (routing, plan progress, SLA timers)."""

WORKER = "worker"
"""The actor the worker records effect outcomes as."""

_INTERNAL_ACTORS = frozenset({SYSTEM, WORKER})

_FINISHED = frozenset(s for s in TaskState if s.finished)
"""Task states that count as done (``Task.finished``), for the decider's loops."""

DEFAULT_TASK = ev.PlannedTask(key="fulfil", kind=TaskKind.MANUAL, title="Fulfil the request")
"""The one task of a request triaged without a service item."""

# ---------------------------------------------------------------------------
# The transition table, as data
# ---------------------------------------------------------------------------

_OPEN = frozenset(
    {S.SUBMITTED, S.AWAITING_APPROVAL, S.APPROVED, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}
)
_ALL = frozenset(S)
_WORKING = frozenset({S.IN_FULFILLMENT, S.WAITING})

STATE_CHANGES: Mapping[type[ev.Event], tuple[frozenset[RequestState | None], RequestState | None]]
STATE_CHANGES = {
    ev.RequestSubmitted: (frozenset({None}), S.SUBMITTED),
    ev.ApprovalRequested: (frozenset({S.SUBMITTED, S.TRIAGE}), S.AWAITING_APPROVAL),
    ev.RequestQueuedForTriage: (frozenset({S.SUBMITTED}), S.TRIAGE),
    ev.RequestApproved: (frozenset({S.AWAITING_APPROVAL}), S.APPROVED),
    ev.RequestRejected: (frozenset({S.AWAITING_APPROVAL}), S.REJECTED),
    ev.PlanStarted: (frozenset({S.SUBMITTED, S.APPROVED, S.TRIAGE}), S.IN_FULFILLMENT),
    ev.RequestWaiting: (frozenset({S.IN_FULFILLMENT, S.TRIAGE}), S.WAITING),
    # back to the state it waited in (``ServiceRequest.resume_to``)
    ev.RequestResumed: (frozenset({S.WAITING}), None),
    ev.RequestFulfilled: (frozenset({S.IN_FULFILLMENT}), S.FULFILLED),
    ev.RequestClosed: (frozenset({S.FULFILLED}), S.CLOSED),
    ev.RequestCancelled: (frozenset(_OPEN), S.CANCELLED),
}
"""Events that change the state: the states they may follow and the state they lead to."""

_ROUTING = frozenset(
    {S.SUBMITTED, S.AWAITING_APPROVAL, S.APPROVED, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}
)
_SLA = frozenset(_OPEN | {S.FULFILLED, S.CANCELLED, S.REJECTED})

EVENT_STATES: Mapping[type[ev.Event], frozenset[RequestState]] = {
    ev.RequestTriaged: frozenset({S.TRIAGE}),
    ev.RequestAssigned: _ROUTING,
    ev.RequestClaimed: frozenset({S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    ev.RequestCategorized: _ROUTING,
    ev.RequestPrioritized: _ROUTING,
    ev.TaskStarted: _WORKING,
    ev.TaskCompleted: _WORKING,
    ev.TaskFailed: _WORKING,
    ev.TaskSkipped: _WORKING,
    ev.SupplierOrderRequested: _WORKING,
    ev.AutomationRequested: _WORKING,
    ev.ItemShipped: _WORKING,
    ev.ItemDelivered: _WORKING,
    ev.DeliveryDisputed: _WORKING,
    # suppliers may answer late, after the request was cancelled or closed
    ev.SupplierOrderPlaced: _ALL,
    ev.SupplierOrderUpdated: _ALL,
    # compensation can follow a late answer in any state
    ev.SupplierOrderCancelRequested: _ALL,
    ev.EffectAttempted: _ALL,
    ev.EffectAbandoned: _ALL,
    ev.NotificationRequested: _ALL,
    ev.NotificationSent: _ALL,
    ev.RequesterNotified: _ALL,
    ev.SlaStarted: frozenset({S.SUBMITTED, S.APPROVED, S.TRIAGE, S.IN_FULFILLMENT}),
    ev.SlaPaused: _SLA,
    ev.SlaResumed: _SLA,
    ev.SlaRetargeted: _SLA,
    ev.SlaThresholdReached: _SLA,
    ev.SlaBreached: _SLA,
    ev.SlaStopped: _SLA,
    ev.RequestEscalated: frozenset({S.TRIAGE, S.AWAITING_APPROVAL, S.IN_FULFILLMENT, S.WAITING}),
    ev.FeedbackRecorded: frozenset({S.CLOSED}),
    ev.ReviewRequested: frozenset({S.CLOSED}),
}
"""Events that keep the state: the states in which they may be recorded."""


def _transitions() -> dict[RequestState, frozenset[RequestState]]:
    out: dict[RequestState, set[RequestState]] = {s: set() for s in S}
    for sources, target in STATE_CHANGES.values():
        for source in sources:
            if source is None:
                continue
            if target is None:  # resume: back to where it waited
                out[source].update(s for s in STATE_CHANGES[ev.RequestWaiting][0] if s is not None)
            else:
                out[source].add(target)
    return {s: frozenset(t) for s, t in out.items()}


TRANSITIONS: Mapping[RequestState, frozenset[RequestState]] = _transitions()
"""Every state change the lifecycle allows: state -> states it may move to."""


def _check_table() -> None:
    """Fail at import if the table is inconsistent (python-statemachine's habit)."""
    every = set(ev.EVENT_TYPES.values())
    covered = set(STATE_CHANGES) | set(EVENT_STATES)
    missing = every - covered
    if missing:
        raise AssertionError(
            f"events missing from the transition table: {sorted(map(str, missing))}"
        )
    both = set(STATE_CHANGES) & set(EVENT_STATES)
    if both:
        raise AssertionError(f"events in both tables: {both}")
    reachable = {S.SUBMITTED}
    frontier = [S.SUBMITTED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    if reachable != set(S):
        raise AssertionError(f"unreachable states: {set(S) - reachable}")
    for terminal in (S.REJECTED, S.CLOSED, S.CANCELLED):
        if TRANSITIONS[terminal]:
            raise AssertionError(f"terminal state {terminal} has transitions")


_check_table()

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Command:
    """Base of commands: who asks. ``name`` is the command's name in errors."""

    name: ClassVar[str] = "command"
    actor: str


@attrs.frozen(kw_only=True)
class Submit(Command):
    """Create a request for ``requester`` (``item`` may be None on email/phone/chat)."""

    name: ClassVar[str] = "submit"
    request_id: str
    requester: Requester
    item: str | None
    channel: Channel
    answers: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Approve(Command):
    """Approve a request waiting for approval."""

    name: ClassVar[str] = "approve"


@attrs.frozen(kw_only=True)
class Reject(Command):
    """Reject a request waiting for approval."""

    name: ClassVar[str] = "reject"
    reason: str


@attrs.frozen(kw_only=True)
class Triage(Command):
    """Set item, category and/or priority by hand on a request in triage."""

    name: ClassVar[str] = "triage"
    item: str | None = None
    category: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None


@attrs.frozen(kw_only=True)
class Assign(Command):
    """Reassign to ``group`` (and optionally ``agent``)."""

    name: ClassVar[str] = "assign"
    group: str
    agent: str | None = None


@attrs.frozen(kw_only=True)
class Claim(Command):
    """A member of the assigned group takes the request."""

    name: ClassVar[str] = "claim"


@attrs.frozen(kw_only=True)
class StartTask(Command):
    """Start (or restart after failure) a task."""

    name: ClassVar[str] = "start_task"
    task_key: str


@attrs.frozen(kw_only=True)
class CompleteTask(Command):
    """Complete a manual task."""

    name: ClassVar[str] = "complete_task"
    task_key: str


@attrs.frozen(kw_only=True)
class FailTask(Command):
    """Mark a task failed."""

    name: ClassVar[str] = "fail_task"
    task_key: str
    reason: str


@attrs.frozen(kw_only=True)
class SkipTask(Command):
    """Skip a task not yet done; it counts as done (an open order is cancelled)."""

    name: ClassVar[str] = "skip_task"
    task_key: str
    reason: str


@attrs.frozen(kw_only=True)
class Ship(Command):
    """Record that the item of a delivery task has shipped."""

    name: ClassVar[str] = "ship"
    task_key: str
    tracking: str | None = None


@attrs.frozen(kw_only=True)
class ConfirmDelivery(Command):
    """The requester confirms receipt of the delivered item."""

    name: ClassVar[str] = "confirm_delivery"


@attrs.frozen(kw_only=True)
class DisputeDelivery(Command):
    """The requester says the shipped item did not arrive."""

    name: ClassVar[str] = "dispute_delivery"
    reason: str


@attrs.frozen(kw_only=True)
class Close(Command):
    """Close a fulfilled request (a no-op on a closed one)."""

    name: ClassVar[str] = "close"


@attrs.frozen(kw_only=True)
class AutoClose(Command):
    """The worker closes a fulfilled request: its delivery was confirmed, or the
    grace period passed with no complaint."""

    name: ClassVar[str] = "close"
    reason: str = ""


@attrs.frozen(kw_only=True)
class Cancel(Command):
    """Cancel an open request."""

    name: ClassVar[str] = "cancel"
    reason: str


@attrs.frozen(kw_only=True)
class RecordFeedback(Command):
    """The requester rates a closed request (1-5) once."""

    name: ClassVar[str] = "record_feedback"
    rating: int
    comment: str = ""


@attrs.frozen(kw_only=True)
class Wait(Command):
    """Put the request in WAITING (the SLA pauses by default)."""

    name: ClassVar[str] = "wait"
    reason: str


@attrs.frozen(kw_only=True)
class Resume(Command):
    """Take the request out of WAITING."""

    name: ClassVar[str] = "resume"


@attrs.frozen(kw_only=True)
class Reprioritize(Command):
    """Change impact and/or urgency mid-flight; the SLA keeps the time used."""

    name: ClassVar[str] = "reprioritize"
    impact: Impact | None = None
    urgency: Urgency | None = None


@attrs.frozen(kw_only=True)
class RecordSupplierUpdate(Command):
    """A supplier reports ``status`` for order ``ref`` (forward-only, idempotent)."""

    name: ClassVar[str] = "record_supplier_update"
    supplier_id: str
    ref: str
    status: OrderStatus


@attrs.frozen(kw_only=True)
class OrderPlaced(Command):
    """Worker: the supplier accepted the order requested by ``effect_id``."""

    name: ClassVar[str] = "record_order_placed"
    effect_id: str
    ref: str
    status: OrderStatus = OrderStatus.PLACED


@attrs.frozen(kw_only=True)
class OrderCancelled(Command):
    """Worker: the outcome of a cancel request ``effect_id``."""

    name: ClassVar[str] = "record_order_cancelled"
    effect_id: str
    status: OrderStatus
    ref: str | None = None


@attrs.frozen(kw_only=True)
class AutomationSucceeded(Command):
    """Worker: the automation requested by ``effect_id`` succeeded."""

    name: ClassVar[str] = "record_automation"
    effect_id: str
    result: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class EffectFailed(Command):
    """Worker: the effect ``effect_id`` failed for good (last attempt or permanent)."""

    name: ClassVar[str] = "record_effect_failure"
    effect_id: str
    reason: str
    effect_type: str = ""


@attrs.frozen(kw_only=True)
class NotificationDelivered(Command):
    """Worker: the notification requested by ``effect_id`` went out."""

    name: ClassVar[str] = "record_notification"
    effect_id: str


@attrs.frozen(kw_only=True)
class RecordAttempt(Command):
    """Worker: about to call the outside world for effect ``effect_id``."""

    name: ClassVar[str] = "record_attempt"
    effect_id: str


@attrs.frozen(kw_only=True)
class FireSla(Command):
    """Worker: fire the SLA thresholds that are due now."""

    name: ClassVar[str] = "fire_sla"


COMMAND_STATES: Mapping[type[Command], frozenset[RequestState]] = {
    Approve: frozenset({S.AWAITING_APPROVAL}),
    Reject: frozenset({S.AWAITING_APPROVAL}),
    Triage: frozenset({S.TRIAGE}),
    Assign: frozenset({S.AWAITING_APPROVAL, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    Claim: frozenset({S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    StartTask: frozenset({S.IN_FULFILLMENT}),
    CompleteTask: _WORKING,
    FailTask: _WORKING,
    SkipTask: _WORKING,
    Ship: _WORKING,
    ConfirmDelivery: _WORKING,
    DisputeDelivery: _WORKING,
    Close: frozenset({S.FULFILLED, S.CLOSED}),
    AutoClose: frozenset({S.FULFILLED, S.CLOSED}),
    Cancel: _OPEN,
    RecordFeedback: frozenset({S.CLOSED}),
    Wait: frozenset({S.IN_FULFILLMENT, S.TRIAGE}),
    Resume: frozenset({S.WAITING}),
    Reprioritize: frozenset({S.AWAITING_APPROVAL, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    RecordSupplierUpdate: _ALL,
    OrderPlaced: _ALL,
    OrderCancelled: _ALL,
    AutomationSucceeded: _ALL,
    EffectFailed: _ALL,
    NotificationDelivered: _ALL,
    RecordAttempt: _ALL,
    FireSla: _ALL,
}
"""The states in which each command (other than ``Submit``) is accepted."""

# ---------------------------------------------------------------------------
# Context: everything a decision needs besides the state
# ---------------------------------------------------------------------------


class Directory(Protocol):
    """Who is in a group, who is available, how much open work each agent has.

    The service builds one from the catalog and the directory hooks; tests can
    pass a :class:`StaticDirectory`.
    """

    def members(self, group_id: str) -> tuple[str, ...]:
        """The agents of a group."""
        ...

    def available(self, agent_id: str) -> bool:
        """True when the agent can take work now."""
        ...

    def open_work(self, agent_id: str) -> int:
        """How many open requests the agent holds."""
        ...

    def assigned_count(self, group_id: str) -> int:
        """How many requests were assigned to an agent of the group so far (round robin)."""
        ...


@attrs.frozen
class StaticDirectory:
    """A directory given as values: group members, unavailable agents, open work."""

    groups: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    unavailable: frozenset[str] = frozenset()
    work: Mapping[str, int] = attrs.field(factory=dict)
    assigned: Mapping[str, int] = attrs.field(factory=dict)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> StaticDirectory:
        """Members as the catalog lists them; everyone available; no open work."""
        return cls(groups={g.id: tuple(g.members) for g in catalog.groups})

    def members(self, group_id: str) -> tuple[str, ...]:
        """The agents of a group."""
        return tuple(self.groups.get(group_id, ()))

    def available(self, agent_id: str) -> bool:
        """True unless the agent is listed as unavailable."""
        return agent_id not in self.unavailable

    def open_work(self, agent_id: str) -> int:
        """Open requests held by the agent."""
        return self.work.get(agent_id, 0)

    def assigned_count(self, group_id: str) -> int:
        """Assignments to agents of the group so far."""
        return self.assigned.get(group_id, 0)


@attrs.frozen
class Context:
    """What ``decide`` needs besides the state: catalog, policy, time, directory.

    ``approvers`` are the actors a plugin adds as approvers (besides the
    requester's manager; the requester never approves). ``survey`` says whether
    closing the request now invites feedback (the service samples it with the
    ``feedback`` policy).
    """

    catalog: Catalog
    now: datetime
    rules: Rules | None = None
    sla: SlaPolicy | None = None
    directory: Directory | None = None
    approvers: frozenset[str] = frozenset()
    feedback: FeedbackPolicy = attrs.field(factory=FeedbackPolicy)
    survey: bool = True

    def members(self, group_id: str) -> tuple[str, ...]:
        """Members of a group, from the directory or else the catalog."""
        if self.directory is not None:
            return self.directory.members(group_id)
        if self.catalog.has_group(group_id):
            return tuple(self.catalog.group(group_id).members)
        return ()

    def is_member(self, group_id: str | None, actor: str) -> bool:
        """True when ``actor`` belongs to the group."""
        return group_id is not None and actor in self.members(group_id)

    def is_any_member(self, actor: str) -> bool:
        """True when ``actor`` belongs to some group of the catalog."""
        return any(actor in self.members(g.id) for g in self.catalog.groups)


# ---------------------------------------------------------------------------
# decide
# ---------------------------------------------------------------------------


class _Batch:
    """The events of one decision, applied as they are emitted.

    ``current`` is the state after the events so far. A state the batch built itself
    and has not handed out yet (``owned``) takes the next event's changes in place;
    once ``current`` hands it out, the next event copies it, so a handler may keep
    any state it read and compare it with later ones. ``peek`` reads without handing
    out: what it returns is read there and then, never kept across an ``emit``.
    """

    __slots__ = ("actor", "context", "events", "owned", "request_id", "state")

    def __init__(
        self, state: ServiceRequest | None, request_id: str, context: Context, actor: str
    ) -> None:
        self.state = state
        self.request_id = request_id
        self.context = context
        self.actor = actor
        self.events: list[ev.Event] = []
        self.owned = False

    @property
    def current(self) -> ServiceRequest:
        """The state after the events so far; the caller may keep it."""
        assert self.state is not None
        self.owned = False
        return self.state

    @property
    def peek(self) -> ServiceRequest:
        """The state after the events so far, to read now: never kept past an ``emit``
        (the next event may change it in place)."""
        assert self.state is not None
        return self.state

    def emit(self, cls: type[ev.Event], *, actor: str | None = None, **fields: Any) -> ev.Event:
        state = self.state
        if state is None:
            event = cls(
                event_id=f"{self.request_id}/1",
                request_id=self.request_id,
                at=self.context.now,
                actor=actor if actor is not None else self.actor,
                **fields,
            )
            self.state = _first(event)
        else:
            version = state.version + 1
            event = cls(
                event_id=f"{self.request_id}/{version}",
                request_id=self.request_id,
                at=self.context.now,
                actor=actor if actor is not None else self.actor,
                **fields,
            )
            # ``_changes``, inlined: this runs for every event the decider records
            fits, target, evolver = _STEPS[cls]
            if state.state not in fits:
                raise TransitionError(
                    self.request_id, state.state, event.type, "event does not fit"
                )
            changes = evolver(state, event)
            if target is not None:
                changes["state"] = target
            changes["version"] = version
            changes["updated_at"] = event.at
            if self.owned:
                for name, value in changes.items():
                    _set_field(state, name, value)
            else:
                self.state = _copy_request(state, changes)
        self.owned = True
        self.events.append(event)
        return event


_Handler = Callable[[_Batch, Any], None]
_HANDLERS: dict[type[Command], _Handler] = {}
C = TypeVar("C", bound=Command)


def _handles(cls: type[C]) -> Callable[[Callable[[_Batch, C], None]], Callable[[_Batch, C], None]]:
    def register(fn: Callable[[_Batch, C], None]) -> Callable[[_Batch, C], None]:
        _HANDLERS[cls] = fn
        return fn

    return register


def decide(state: ServiceRequest | None, command: Command, context: Context) -> list[ev.Event]:
    """Check ``command`` against ``state`` and policy; return the new events.

    Raises :class:`TransitionError` when the command is not valid in the state,
    :class:`AuthorizationError` when the actor may not run it, and
    :class:`ValidationError` for bad arguments. Returns ``[]`` for commands that
    change nothing (a duplicate supplier update, closing a closed request).
    """
    return decide_and_evolve(state, command, context)[0]


def decide_and_evolve(
    state: ServiceRequest | None, command: Command, context: Context
) -> tuple[list[ev.Event], ServiceRequest | None]:
    """:func:`decide`, and the state after its events (``decide`` folds them anyway,
    so the caller need not apply them a second time)."""
    if isinstance(command, Submit):
        if state is not None:
            raise TransitionError(command.request_id, state.state, command.name, "already exists")
        batch = _Batch(None, command.request_id, context, command.actor)
        _submit(batch, command)
        return batch.events, batch.state
    if state is None:
        raise TransitionError(None, None, command.name, "no such request")
    allowed = COMMAND_STATES[type(command)]
    if state.state not in allowed:
        raise TransitionError(state.id, state.state, command.name)
    batch = _Batch(state, state.id, context, command.actor)
    _HANDLERS[type(command)](batch, command)
    _sync_sla(batch)
    return batch.events, batch.state


def _deny(batch: _Batch, command: Command, reason: str) -> AuthorizationError:
    return AuthorizationError(command.actor, command.name, batch.request_id, reason)


def _refuse(batch: _Batch, command: Command, reason: str) -> TransitionError:
    return TransitionError(batch.request_id, batch.current.state, command.name, reason)


def _require_group_member(batch: _Batch, command: Command, group: str | None) -> None:
    if group is None:
        if batch.context.is_any_member(command.actor):
            return
        raise _deny(batch, command, "not a member of any support group")
    if not batch.context.is_member(group, command.actor):
        raise _deny(batch, command, f"not a member of group {group!r}")


def _responsible_group(batch: _Batch) -> str | None:
    """The assigned group; before assignment, the item's group or the triage group."""
    state = batch.current
    if state.group is not None:
        return state.group
    catalog = batch.context.catalog
    if state.item is not None and catalog.has_item(state.item):
        return catalog.item(state.item).group
    return catalog.triage_group


def _require_internal(batch: _Batch, command: Command) -> None:
    """Effect outcomes and timers are recorded by the worker, never by a person."""
    if command.actor not in _INTERNAL_ACTORS:
        raise _deny(batch, command, f"only the worker ({WORKER!r} or {SYSTEM!r}) may do this")


def _require_requester(batch: _Batch, command: Command) -> None:
    if command.actor != batch.current.requester.id:
        raise _deny(batch, command, "only the requester may do this")


@functools.cache
def _rules_api() -> tuple[Rules, Callable[..., dict[str, object]], Callable[..., bool]]:
    """The default rules, ``build_facts`` and ``matches``: ``reqfulfill.rules`` is
    imported on first use (``import reqfulfill`` stays short), once."""
    from reqfulfill.rules import Rules, build_facts, matches

    return Rules(), build_facts, matches


def _rules(context: Context) -> Rules:
    if context.rules is not None:
        return context.rules
    return _rules_api()[0]


def _facts(state: ServiceRequest, item: ServiceItem | None) -> dict[str, object]:
    return _rules_api()[1](
        item=item, requester=state.requester, channel=state.channel, answers=state.answers
    )


def _validate_answers(answers: object) -> Mapping[str, Any]:
    if not isinstance(answers, Mapping):
        raise ValidationError.single("answers", answers, "answers must be a table")
    bad = [k for k in answers if not isinstance(k, str)]
    if bad:
        raise ValidationError.single(
            f"answers.{short_repr(bad[0])}", bad[0], "answer keys must be strings"
        )
    deep = nesting_problem(dict(answers), "answers")
    if deep is not None:
        raise ValidationError([deep])
    not_json = json_problem(answers, "answers")
    if not_json is not None:
        raise ValidationError([not_json])
    return dict(answers)


def _submit(batch: _Batch, command: Submit) -> None:
    catalog = batch.context.catalog
    problems: list[Problem] = []
    if not isinstance(command.requester, Requester):
        problems.append(Problem("requester", command.requester, "expected a Requester"))
    if not isinstance(command.channel, Channel):
        problems.append(Problem("channel", command.channel, "expected a Channel"))
    if command.item is not None and (
        not isinstance(command.item, str) or not catalog.has_item(command.item)
    ):
        problems.append(
            Problem("item", command.item, f"unknown service item {short_repr(command.item)}")
        )
    if command.item is None and command.channel is Channel.PORTAL:
        problems.append(Problem("item", None, "a portal request must name a catalog item"))
    if not command.request_id or not isinstance(command.request_id, str):
        problems.append(Problem("request_id", command.request_id, "a request needs an id"))
    if problems:
        raise ValidationError(problems)
    answers = _validate_answers(command.answers)
    batch.emit(
        ev.RequestSubmitted,
        requester=command.requester,
        item=command.item,
        channel=command.channel,
        answers=answers,
    )
    if command.item is None:
        _queue_for_triage(batch)
        return
    item = catalog.item(command.item)
    if item.requires_approval:
        _request_approval(batch)
    else:
        _enter_fulfillment(batch)


def submitted_event(command: Submit, now: datetime) -> ev.RequestSubmitted:
    """The first event a valid ``Submit`` records (hooks use it to see the new request)."""
    return ev.RequestSubmitted(
        event_id=f"{command.request_id}/1",
        request_id=command.request_id,
        at=now,
        actor=command.actor,
        requester=command.requester,
        item=command.item,
        channel=command.channel,
        answers=dict(command.answers),
    )


def _approvers(batch: _Batch) -> tuple[str, ...]:
    state = batch.current
    who = set(batch.context.approvers)
    if state.requester.manager:
        who.add(state.requester.manager)
    who.discard(state.requester.id)
    return tuple(sorted(who))


def _request_approval(batch: _Batch) -> None:
    approvers = _approvers(batch)
    batch.emit(ev.ApprovalRequested, actor=SYSTEM, approvers=approvers)
    item = batch.current.item
    for approver in approvers:
        _notify(
            batch,
            "approval_requested",
            approver,
            f"Approval needed: {batch.request_id}",
            f"{batch.current.requester.name} asks for {item}. Please approve or reject.",
        )


def _queue_for_triage(batch: _Batch) -> None:
    context = batch.context
    group = context.catalog.triage_group
    rule = "triage group"
    reason = "catalog triage group"
    if group is None:
        routing = _rules(context).route(_facts(batch.current, None), item=None)
        group, rule, reason = (
            routing.group,
            routing.assignment_rule or "",
            routing.assignment_reason,
        )
    batch.emit(ev.RequestQueuedForTriage, actor=SYSTEM, group=group)
    if group is not None:
        batch.emit(ev.RequestAssigned, actor=SYSTEM, group=group, rule=rule, reason=reason)
    # The SLA clock starts at triage: triage is fulfillment work.
    routing = _rules(context).route(_facts(batch.current, None), item=None)
    impact = routing.impact or Impact.MEDIUM
    urgency = routing.urgency or Urgency.MEDIUM
    _prioritize(batch, impact, urgency, routing.priority_rule or "triage default", "")
    _start_sla(batch)


def _prioritize(batch: _Batch, impact: Impact, urgency: Urgency, rule: str, reason: str) -> None:
    priority = _rules(batch.context).matrix.priority(impact, urgency)
    batch.emit(
        ev.RequestPrioritized,
        actor=SYSTEM if rule not in ("manual", "triage") else batch.actor,
        impact=impact,
        urgency=urgency,
        priority=priority,
        rule=rule,
        reason=reason,
    )


def _enter_fulfillment(batch: _Batch) -> None:
    """Route (assign, categorize, prioritize), instantiate the plan, start the SLA."""
    state = batch.peek  # read here, before the first emit
    context = batch.context
    item = context.catalog.item(state.item) if state.item else None
    facts = _facts(state, item)
    routing = _rules(context).route(facts, item=item)
    manual = set(state.manual)
    group = routing.group if routing.group else (state.group)
    impact = state.impact if "impact" in manual else routing.impact
    urgency = state.urgency if "urgency" in manual else routing.urgency
    if group is not None and "group" not in manual:
        agent = _pick_agent(context, group, routing.strategy)
        if state.assignment != Assignment(group, agent):
            batch.emit(
                ev.RequestAssigned,
                actor=SYSTEM,
                group=group,
                agent=agent,
                strategy=routing.strategy,
                rule=routing.assignment_rule,
                reason=routing.assignment_reason,
            )
    if "category" not in manual and routing.category is not None:
        batch.emit(
            ev.RequestCategorized,
            actor=SYSTEM,
            category=routing.category,
            rule=routing.category_rule,
            reason=routing.category_reason,
        )
    if impact is not None and urgency is not None:
        rule = routing.priority_rule or "item default"
        reason = routing.priority_reason
        if "impact" in manual and "urgency" in manual:
            rule, reason = "manual", "set in triage"
        current = batch.peek
        if (current.impact, current.urgency) != (impact, urgency) or current.priority is None:
            _prioritize(batch, impact, urgency, rule, reason)
    tasks, left_out = _plan_tasks(context, item, facts)
    batch.emit(
        ev.PlanStarted,
        actor=SYSTEM,
        plan=item.plan if item else None,
        tasks=tasks,
        left_out=left_out,
        rule="item plan" if item else "no item: one manual task",
    )
    if batch.peek.sla.target is None:
        _start_sla(batch)
    else:
        _retarget_sla(batch)
    _advance(batch)


def _pick_agent(context: Context, group: str, strategy: str) -> str | None:
    if strategy == "queue":
        return None
    directory = context.directory or StaticDirectory.from_catalog(context.catalog)
    members = [m for m in directory.members(group) if directory.available(m)]
    if not members:
        return None
    if strategy == "round_robin":
        ordered = sorted(members)
        return ordered[directory.assigned_count(group) % len(ordered)]
    if strategy == "least_loaded":
        return min(members, key=lambda m: (directory.open_work(m), m))
    return None


def _plan_tasks(
    context: Context, item: ServiceItem | None, facts: Mapping[str, object]
) -> _Planned:
    if item is None:
        return (DEFAULT_TASK,), ()
    template = context.catalog.plan(item.plan)
    key = (id(template), id(item))
    known = _PLANS.get(key)
    if known is not None and known[0] is template and known[1] is item:
        return known[2]
    matches = _rules_api()[2]
    keep = {t.key for t in template.tasks if t.when is None or matches(t.when, facts)}
    deps = {t.key: t.after for t in template.tasks}

    def resolve(key: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if key in keep:
            return {key}
        out: set[str] = set()
        for dep in deps.get(key, ()):
            if dep not in seen:
                out |= resolve(dep, seen | {key})
        return out

    tasks = []
    for t in template.tasks:
        if t.key not in keep:
            continue
        after: list[str] = []
        for dep in t.after:
            for resolved in sorted(resolve(dep)):
                if resolved not in after:
                    after.append(resolved)
        supplier = t.supplier or (item.supplier if t.kind is TaskKind.SUPPLIER_ORDER else None)
        tasks.append(
            ev.PlannedTask(
                key=t.key,
                kind=t.kind,
                title=t.title,
                after=tuple(after),
                group=t.group,
                supplier=supplier,
            )
        )
    left_out = tuple(t.key for t in template.tasks if t.key not in keep)
    planned = tuple(tasks), left_out
    if all(t.when is None for t in template.tasks):
        # no condition: every request for the item gets this plan (the same immutable
        # tasks); kept per template and item while both live here
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.clear()
        _PLANS[key] = (template, item, planned)
    return planned


_Planned = tuple[tuple[ev.PlannedTask, ...], tuple[str, ...]]
_PLANS: dict[tuple[int, int], tuple[PlanTemplate, ServiceItem, _Planned]] = {}
"""``_plan_tasks`` of plans without conditions, by template and item (identity)."""
_PLANS_KEPT = 256


def _supplier_order(batch: _Batch, task: Task) -> SupplierOrder:
    state = batch.current
    answers = state.answers
    quantity = answers.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        quantity = 1
    deliver_to = next(
        (
            str(answers[k])
            for k in ("delivery_address", "address", "location")
            if isinstance(answers.get(k), str) and answers[k]
        ),
        state.requester.location,
    )
    item = batch.context.catalog.item(state.item) if state.item else None
    assert task.supplier is not None
    return SupplierOrder(
        supplier_id=task.supplier,
        request_id=state.id,
        task_key=task.key,
        lines=(
            OrderLine(
                item=state.item or task.key,
                quantity=quantity,
                description=item.name if item else task.title,
            ),
        ),
        deliver_to=deliver_to,
        requester=state.requester.id,
        reference=f"{state.id}/{task.key}",
        attributes=dict(item.attributes) if item else {},
    )


def _start(batch: _Batch, task: Task, actor: str = SYSTEM) -> None:
    if task.kind is TaskKind.SUPPLIER_ORDER and task.order_ref is not None and _order_open(task):
        # a restart asks for a new order: the old one must not be left open at the supplier
        _cancel_order(batch, task, actor)
    batch.emit(ev.TaskStarted, actor=actor, task_key=task.key)
    if task.kind is TaskKind.SUPPLIER_ORDER:
        order = _supplier_order(batch, task)
        batch.emit(
            ev.SupplierOrderRequested,
            actor=actor,
            task_key=task.key,
            supplier_id=order.supplier_id,
            order=order,
        )
    elif task.kind is TaskKind.AUTOMATED:
        batch.emit(ev.AutomationRequested, actor=actor, task_key=task.key)


def _advance(batch: _Batch) -> None:
    """Start every task whose ``after`` tasks are done; fulfil when all are done."""
    if batch.peek.state is not S.IN_FULFILLMENT:
        return
    while True:
        plan = batch.peek.plan  # read before the tasks start
        done = {t.key for t in plan if t.state in _FINISHED}
        ready = [t for t in plan if t.state is TaskState.PENDING and done.issuperset(t.after)]
        if not ready:
            break
        for task in ready:
            _start(batch, task)
    state = batch.peek
    if plan and all(t.state in _FINISHED for t in plan):
        requester, subject = state.requester.id, f"Your request {state.id} is fulfilled"
        body = f"Everything for your request {state.id} ({state.item or 'request'}) is done."
        batch.emit(ev.RequestFulfilled, actor=SYSTEM)
        _stop_sla(batch)
        _notify(batch, "request_fulfilled", requester, subject, body)


def _notify(batch: _Batch, kind: str, recipient: str, subject: str, body: str) -> None:
    note = Notification(
        kind=kind, recipient=recipient, request_id=batch.request_id, subject=subject, body=body
    )
    policy = batch.context.sla
    not_before = None
    requester = batch.state.requester.id if batch.state is not None else None
    if policy is not None and policy.hold_notifications and recipient != requester:
        # no escalation mails to agents at midnight: hold them until the calendar opens
        # (the requester hears about their own request at once)
        now = batch.context.now
        if not policy.calendar.is_open(now):
            not_before = policy.calendar.next_open(now)
    batch.emit(ev.NotificationRequested, actor=SYSTEM, notification=note, not_before=not_before)


def _notify_group(batch: _Batch, kind: str, subject: str, body: str) -> None:
    assignment = batch.peek.assignment
    if assignment is None:
        return
    _notify(batch, kind, f"group:{assignment.group}", subject, body)
    if assignment.agent:
        _notify(batch, kind, assignment.agent, subject, body)


# -- SLA ------------------------------------------------------------------------------


def _sla_used(state: ServiceRequest, context: Context) -> timedelta:
    sla = state.sla
    if context.sla is None or not sla.running or sla.used_at is None:
        return sla.used
    return sla.used + context.sla.calendar.between(sla.used_at, context.now)


def _due(context: Context, target: timedelta, used: timedelta) -> datetime:
    assert context.sla is not None
    remaining = target - used
    if remaining <= timedelta(0):
        return context.now
    return context.sla.calendar.add(context.now, remaining)


def _start_sla(batch: _Batch) -> None:
    policy = batch.context.sla
    state = batch.peek
    if policy is None or state.priority is None:
        return
    target = policy.target_for(state.priority)
    batch.emit(
        ev.SlaStarted,
        actor=SYSTEM,
        target=target,
        due=_due(batch.context, target, timedelta(0)),
        priority=state.priority,
        rule=f"priority {int(state.priority)} target",
    )


def _retarget_sla(batch: _Batch) -> None:
    policy = batch.context.sla
    state = batch.peek
    if policy is None or state.priority is None or state.sla.target is None or state.sla.stopped:
        return
    target = policy.target_for(state.priority)
    if target == state.sla.target:
        return
    used = _sla_used(state, batch.context)
    due = None if state.sla.paused else _due(batch.context, target, used)
    batch.emit(
        ev.SlaRetargeted, actor=SYSTEM, target=target, due=due, used=used, priority=state.priority
    )


def _stop_sla(batch: _Batch) -> None:
    state = batch.peek
    if state.sla.target is None or state.sla.stopped or batch.context.sla is None:
        return
    used = _sla_used(state, batch.context)
    batch.emit(ev.SlaStopped, actor=SYSTEM, used=used, met=used <= state.sla.target)


def _sync_sla(batch: _Batch) -> None:
    """Pause the SLA in the policy's pause states (and awaiting approval); resume after."""
    if batch.state is None or batch.context.sla is None:
        return
    state = batch.peek
    sla = state.sla
    if sla.target is None or sla.stopped:
        return
    if state.state in (S.FULFILLED, S.CANCELLED, S.REJECTED, S.CLOSED):
        _stop_sla(batch)
        return
    pause = state.state in batch.context.sla.pause_in or state.state is S.AWAITING_APPROVAL
    if pause and not sla.paused:
        batch.emit(ev.SlaPaused, actor=SYSTEM, used=_sla_used(state, batch.context))
    elif not pause and sla.paused:
        batch.emit(ev.SlaResumed, actor=SYSTEM, due=_due(batch.context, sla.target, sla.used))


def next_sla_deadline(state: ServiceRequest, policy: SlaPolicy) -> datetime | None:
    """When the next escalation threshold (or the breach) falls, if the clock runs.

    The service stores this time as the request's SLA timer.
    """
    sla = state.sla
    if not sla.running or sla.target is None or sla.used_at is None:
        return None
    fractions = [(level.at, i) for i, level in enumerate(policy.escalation) if i not in sla.fired]
    if not sla.breached:
        fractions.append((1.0, -1))
    if not fractions:
        return None
    at = min(f for f, _ in fractions)
    budget = sla.target * at - sla.used
    if budget <= timedelta(0):
        return sla.used_at
    return policy.calendar.add(sla.used_at, budget)


# -- command handlers ------------------------------------------------------------------


@_handles(Approve)
def _approve(batch: _Batch, command: Approve) -> None:
    state = batch.current
    if command.actor == state.requester.id:
        raise _deny(batch, command, "a requester can never approve their own request")
    if command.actor not in _approvers(batch):
        raise _deny(batch, command, "not an approver of this request")
    batch.emit(ev.RequestApproved)
    _enter_fulfillment(batch)


@_handles(Reject)
def _reject(batch: _Batch, command: Reject) -> None:
    state = batch.current
    if command.actor == state.requester.id or command.actor not in _approvers(batch):
        raise _deny(batch, command, "not an approver of this request")
    batch.emit(ev.RequestRejected, reason=command.reason)
    _notify(
        batch,
        "request_rejected",
        state.requester.id,
        f"Your request {state.id} was rejected",
        f"Reason: {command.reason}",
    )


@_handles(Triage)
def _triage(batch: _Batch, command: Triage) -> None:
    context = batch.context
    triage_group = context.catalog.triage_group
    _require_group_member(batch, command, triage_group)
    problems = []
    if command.item is not None and not context.catalog.has_item(command.item):
        problems.append(Problem("item", command.item, f"unknown service item {command.item!r}"))
    if command.impact is not None and not isinstance(command.impact, Impact):
        problems.append(Problem("impact", command.impact, "expected an Impact"))
    if command.urgency is not None and not isinstance(command.urgency, Urgency):
        problems.append(Problem("urgency", command.urgency, "expected an Urgency"))
    if problems:
        raise ValidationError(problems)
    batch.emit(
        ev.RequestTriaged,
        item=command.item,
        category=command.category,
        impact=command.impact,
        urgency=command.urgency,
    )
    state = batch.current
    if (
        state.impact is not None
        and state.urgency is not None
        and (command.impact is not None or command.urgency is not None)
    ):
        _prioritize(batch, state.impact, state.urgency, "triage", "set in triage")
    if state.item is not None and context.catalog.item(state.item).requires_approval:
        _request_approval(batch)
    else:
        _enter_fulfillment(batch)


@_handles(Assign)
def _assign(batch: _Batch, command: Assign) -> None:
    state = batch.current
    _require_group_member(batch, command, _responsible_group(batch))
    catalog = batch.context.catalog
    if not catalog.has_group(command.group):
        raise ValidationError.single("group", command.group, f"unknown group {command.group!r}")
    if command.agent is not None and not batch.context.is_member(command.group, command.agent):
        raise ValidationError.single(
            "agent", command.agent, f"{command.agent!r} is not a member of {command.group!r}"
        )
    if state.assignment == Assignment(command.group, command.agent):
        return
    batch.emit(ev.RequestAssigned, group=command.group, agent=command.agent, rule="manual")


@_handles(Claim)
def _claim(batch: _Batch, command: Claim) -> None:
    state = batch.current
    if state.group is None:
        raise _refuse(batch, command, "the request is not assigned to a group")
    _require_group_member(batch, command, state.group)
    if state.agent == command.actor:
        return
    batch.emit(ev.RequestClaimed, agent=command.actor)


def _task(batch: _Batch, command: Command, key: str) -> Task:
    state = batch.current
    for task in state.plan:
        if task.key == key:
            return task
    known = ", ".join(t.key for t in state.plan) or "none"
    raise ValidationError.single("task_key", key, f"no task {key!r} in the plan (tasks: {known})")


def _require_task_member(batch: _Batch, command: Command, task: Task) -> None:
    _require_group_member(batch, command, task.group or _responsible_group(batch))


@_handles(StartTask)
def _start_task(batch: _Batch, command: StartTask) -> None:
    task = _task(batch, command, command.task_key)
    _require_task_member(batch, command, task)
    done = {t.key for t in batch.current.plan if t.state in _FINISHED}
    if task.state is TaskState.FAILED or (
        task.state is TaskState.PENDING and all(d in done for d in task.after)
    ):
        _start(batch, task, actor=command.actor)
        return
    if task.state is TaskState.IN_PROGRESS:
        return  # tasks start by themselves; starting a started task changes nothing
    raise _refuse(batch, command, f"task {task.key!r} is {task.state.value}")


@_handles(CompleteTask)
def _complete_task(batch: _Batch, command: CompleteTask) -> None:
    task = _task(batch, command, command.task_key)
    _require_task_member(batch, command, task)
    if task.state is not TaskState.IN_PROGRESS:
        raise _refuse(batch, command, f"task {task.key!r} is {task.state.value}")
    if task.kind is not TaskKind.MANUAL:
        raise _refuse(
            batch,
            command,
            f"task {task.key!r} is a {task.kind.value} task: it completes by itself "
            "(skip it to fulfil it another way)",
        )
    batch.emit(ev.TaskCompleted, task_key=task.key)
    _advance(batch)


def _fail(batch: _Batch, task: Task, reason: str, actor: str, effect_id: str | None) -> None:
    batch.emit(ev.TaskFailed, actor=actor, task_key=task.key, reason=reason, effect_id=effect_id)
    _notify_group(
        batch,
        "task_failed",
        f"Task failed on {batch.request_id}: {task.title}",
        f"Task {task.key!r} failed: {reason}. Restart it or cancel the request.",
    )


@_handles(FailTask)
def _fail_task(batch: _Batch, command: FailTask) -> None:
    task = _task(batch, command, command.task_key)
    _require_task_member(batch, command, task)
    if task.state is not TaskState.IN_PROGRESS:
        raise _refuse(batch, command, f"task {task.key!r} is {task.state.value}")
    _fail(batch, task, command.reason, command.actor, None)


def _order_open(task: Task) -> bool:
    if task.kind is not TaskKind.SUPPLIER_ORDER or task.order_effect is None:
        return False
    return task.order_status is None or not task.order_status.final


def _cancel_order(batch: _Batch, task: Task, actor: str) -> None:
    assert task.supplier is not None
    batch.emit(
        ev.SupplierOrderCancelRequested,
        actor=actor,
        task_key=task.key,
        supplier_id=task.supplier,
        ref=task.order_ref,
        order_effect=task.order_effect,
    )


@_handles(SkipTask)
def _skip_task(batch: _Batch, command: SkipTask) -> None:
    task = _task(batch, command, command.task_key)
    _require_task_member(batch, command, task)
    if task.finished:
        raise _refuse(batch, command, f"task {task.key!r} is already {task.state.value}")
    if not command.reason.strip():
        raise ValidationError.single("reason", command.reason, "skipping a task needs a reason")
    open_order = _order_open(task)
    batch.emit(ev.TaskSkipped, task_key=task.key, reason=command.reason)
    if open_order:
        _cancel_order(batch, task, command.actor)
    _advance(batch)


def _delivery_task(batch: _Batch, command: Command, key: str | None = None) -> Task:
    for task in batch.current.plan:
        if (
            task.kind is TaskKind.DELIVERY
            and (key is None or task.key == key)
            and task.state is TaskState.IN_PROGRESS
        ):
            return task
    raise _refuse(batch, command, "no delivery is in progress")


@_handles(Ship)
def _ship(batch: _Batch, command: Ship) -> None:
    task = _task(batch, command, command.task_key)
    _require_task_member(batch, command, task)
    if task.kind is not TaskKind.DELIVERY:
        raise _refuse(batch, command, f"task {task.key!r} is not a delivery task")
    if task.state is not TaskState.IN_PROGRESS:
        raise _refuse(batch, command, f"task {task.key!r} is {task.state.value}")
    batch.emit(ev.ItemShipped, task_key=task.key, tracking=command.tracking)
    state = batch.current
    _notify(
        batch,
        "item_shipped",
        state.requester.id,
        f"Your {state.item or 'item'} is on its way",
        f"Tracking: {command.tracking}" if command.tracking else "It has been shipped.",
    )


@_handles(ConfirmDelivery)
def _confirm_delivery(batch: _Batch, command: ConfirmDelivery) -> None:
    _require_requester(batch, command)
    task = _delivery_task(batch, command)
    batch.emit(ev.ItemDelivered, task_key=task.key)
    batch.emit(ev.TaskCompleted, task_key=task.key)
    _advance(batch)


@_handles(DisputeDelivery)
def _dispute_delivery(batch: _Batch, command: DisputeDelivery) -> None:
    _require_requester(batch, command)
    task = _delivery_task(batch, command)
    if not task.shipped:
        raise _refuse(batch, command, "the item has not been shipped yet")
    batch.emit(ev.DeliveryDisputed, task_key=task.key, reason=command.reason)
    _notify_group(
        batch,
        "delivery_disputed",
        f"Delivery disputed on {batch.request_id}",
        f"The requester says: {command.reason}",
    )


def _close(batch: _Batch, reason: str, rule: str | None, actor: str) -> None:
    state = batch.current
    open_tasks = [t for t in state.plan if not t.finished]
    assert not open_tasks, "a fulfilled request has no open tasks"
    survey = batch.context.survey
    batch.emit(ev.RequestClosed, actor=actor, reason=reason, rule=rule, survey=survey)
    ask = " Tell us how we did: rate it from 1 to 5." if survey else ""
    _notify(
        batch,
        "request_closed",
        state.requester.id,
        f"Your request {state.id} is closed",
        f"Your request {state.id} ({state.item or 'request'}) is closed.{ask}",
    )


@_handles(Close)
def _close_cmd(batch: _Batch, command: Close) -> None:
    state = batch.current
    _require_group_member(batch, command, state.group)
    if state.state is S.CLOSED:
        return
    _close(batch, "closed by agent", None, command.actor)


@_handles(AutoClose)
def _auto_close(batch: _Batch, command: AutoClose) -> None:
    _require_internal(batch, command)
    state = batch.current
    if state.state is S.CLOSED:
        return
    reason = command.reason or (
        "delivery confirmed by the requester"
        if state.delivery_confirmed
        else "no complaint within the grace period"
    )
    _close(batch, reason, "auto close", command.actor)


@_handles(Cancel)
def _cancel(batch: _Batch, command: Cancel) -> None:
    state = batch.current
    if command.actor != state.requester.id:
        _require_group_member(batch, command, _responsible_group(batch))
    open_orders = [t for t in state.plan if _order_open(t) and not t.finished]
    batch.emit(ev.RequestCancelled, reason=command.reason)
    for task in open_orders:
        _cancel_order(batch, task, command.actor)
    _notify(
        batch,
        "request_cancelled",
        state.requester.id,
        f"Your request {state.id} was cancelled",
        f"Reason: {command.reason}",
    )


@_handles(RecordFeedback)
def _record_feedback(batch: _Batch, command: RecordFeedback) -> None:
    _require_requester(batch, command)
    state = batch.current
    if state.feedback is not None:
        raise _refuse(batch, command, "feedback was already recorded")
    window = batch.context.feedback.window
    if (
        window is not None
        and state.closed_at is not None
        and batch.context.now > state.closed_at + window
    ):
        raise _refuse(batch, command, f"the feedback window of {window} has passed")
    rating = command.rating
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError.single("rating", rating, "a rating is a whole number from 1 to 5")
    if not isinstance(command.comment, str):
        raise ValidationError.single("comment", command.comment, "a comment is text")
    batch.emit(ev.FeedbackRecorded, rating=rating, comment=command.comment)
    if rating <= batch.context.feedback.low_rating:
        batch.emit(ev.ReviewRequested, actor=SYSTEM, group=state.group, rating=rating)


@_handles(Wait)
def _wait(batch: _Batch, command: Wait) -> None:
    _require_group_member(batch, command, _responsible_group(batch))
    batch.emit(ev.RequestWaiting, reason=command.reason)


@_handles(Resume)
def _resume(batch: _Batch, command: Resume) -> None:
    _require_group_member(batch, command, _responsible_group(batch))
    batch.emit(ev.RequestResumed)
    _sync_sla(batch)
    _advance(batch)


@_handles(Reprioritize)
def _reprioritize(batch: _Batch, command: Reprioritize) -> None:
    state = batch.current
    _require_group_member(batch, command, _responsible_group(batch))
    impact = command.impact or state.impact or Impact.MEDIUM
    urgency = command.urgency or state.urgency or Urgency.MEDIUM
    if not isinstance(impact, Impact):
        raise ValidationError.single("impact", impact, "expected an Impact")
    if not isinstance(urgency, Urgency):
        raise ValidationError.single("urgency", urgency, "expected an Urgency")
    if (impact, urgency) == (state.impact, state.urgency):
        return
    _prioritize(batch, impact, urgency, "manual", "reprioritized")
    _retarget_sla(batch)


def _order_task(batch: _Batch, supplier_id: str, ref: str) -> Task | None:
    for task in batch.current.plan:
        if (
            task.kind is TaskKind.SUPPLIER_ORDER
            and task.supplier == supplier_id
            and task.order_ref == ref
        ):
            return task
    return None


@_handles(RecordSupplierUpdate)
def _record_supplier_update(batch: _Batch, command: RecordSupplierUpdate) -> None:
    task = _order_task(batch, command.supplier_id, command.ref)
    if task is None:
        # an order this request no longer follows (its task was restarted and the old
        # order cancelled): updates for it are ignored, not refused
        return
    _apply_order_status(batch, task, command.status, command.actor)


def _apply_order_status(
    batch: _Batch, task: Task, status: OrderStatus, actor: str, effect_id: str | None = None
) -> None:
    current = task.order_status
    if current is not None and (current.final or status.rank <= current.rank):
        return  # forward-only: stale and duplicate updates are ignored
    assert task.supplier is not None
    assert task.order_ref is not None
    batch.emit(
        ev.SupplierOrderUpdated,
        actor=actor,
        task_key=task.key,
        supplier_id=task.supplier,
        ref=task.order_ref,
        status=status,
        effect_id=effect_id,
    )
    if batch.current.state not in _WORKING or task.state is not TaskState.IN_PROGRESS:
        return
    if status is OrderStatus.DELIVERED:
        batch.emit(ev.TaskCompleted, actor=actor, task_key=task.key)
        _advance(batch)
    elif status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
        _fail(batch, task, f"supplier reported the order {status.value}", actor, None)


@_handles(OrderPlaced)
def _order_placed(batch: _Batch, command: OrderPlaced) -> None:
    _require_internal(batch, command)
    state = batch.current
    if command.effect_id in state.settled:
        return
    task = next(
        (
            t
            for t in state.plan
            if t.order_effect == command.effect_id and t.kind is TaskKind.SUPPLIER_ORDER
        ),
        None,
    )
    if task is None:
        key = state.order_tasks.get(command.effect_id)
        if key is None:
            raise ValidationError.single("effect_id", command.effect_id, "no such order request")
        # the task was restarted and asked for a new order since: record this one and
        # cancel it
        old = state.task(key)
        assert old.supplier is not None
        batch.emit(
            ev.SupplierOrderPlaced,
            task_key=key,
            supplier_id=old.supplier,
            ref=command.ref,
            status=command.status,
            effect_id=command.effect_id,
            superseded=True,
        )
        batch.emit(
            ev.SupplierOrderCancelRequested,
            actor=command.actor,
            task_key=key,
            supplier_id=old.supplier,
            ref=command.ref,
            order_effect=command.effect_id,
        )
        return
    assert task.supplier is not None
    batch.emit(
        ev.SupplierOrderPlaced,
        task_key=task.key,
        supplier_id=task.supplier,
        ref=command.ref,
        status=command.status,
        effect_id=command.effect_id,
    )
    task = batch.current.task(task.key)
    wanted = batch.current.state in _WORKING and task.state is TaskState.IN_PROGRESS
    if not wanted:
        # skipped or cancelled while the order was in flight: compensate
        _cancel_order(batch, task, command.actor)
    elif command.status is not OrderStatus.PLACED:
        _apply_order_status(batch, batch.current.task(task.key), command.status, command.actor)


@_handles(OrderCancelled)
def _order_cancelled(batch: _Batch, command: OrderCancelled) -> None:
    _require_internal(batch, command)
    state = batch.current
    if command.effect_id in state.settled:
        return
    task = next(
        (t for t in state.plan if command.effect_id in state.cancel_effects.get(t.key, ())), None
    )
    if task is None:
        return
    ref = command.ref or task.order_ref
    if ref is None:
        return
    if ref == task.order_ref:
        _apply_order_status(batch, task, command.status, command.actor, command.effect_id)
        return
    assert task.supplier is not None
    batch.emit(
        ev.SupplierOrderUpdated,
        actor=command.actor,
        task_key=task.key,
        supplier_id=task.supplier,
        ref=ref,
        status=command.status,
        effect_id=command.effect_id,
    )


@_handles(AutomationSucceeded)
def _automation_succeeded(batch: _Batch, command: AutomationSucceeded) -> None:
    _require_internal(batch, command)
    state = batch.current
    if command.effect_id in state.settled:
        return
    task = next((t for t in state.plan if t.order_effect == command.effect_id), None)
    if task is None or state.state not in _WORKING or task.state is not TaskState.IN_PROGRESS:
        return
    bad = json_problem(command.result, "result")
    if bad is not None:
        reason = f"the automation's result is not JSON data: {bad}"
        _fail(batch, task, reason, command.actor, command.effect_id)
        return
    batch.emit(
        ev.TaskCompleted,
        task_key=task.key,
        result=dict(command.result),
        effect_id=command.effect_id,
    )
    _advance(batch)


@_handles(EffectFailed)
def _effect_failed(batch: _Batch, command: EffectFailed) -> None:
    _require_internal(batch, command)
    state = batch.current
    if command.effect_id in state.settled:
        return
    task = next((t for t in state.plan if t.order_effect == command.effect_id), None)
    if task is not None and state.state in _WORKING and task.state is TaskState.IN_PROGRESS:
        _fail(batch, task, command.reason, command.actor, command.effect_id)
        return
    # not a task in progress: a notification, a cancel request, or an order no longer
    # wanted; record that it was given up so the history shows it
    batch.emit(
        ev.EffectAbandoned,
        effect_id=command.effect_id,
        effect_type=command.effect_type or "effect",
        reason=command.reason,
    )


@_handles(RecordAttempt)
def _record_attempt(batch: _Batch, command: RecordAttempt) -> None:
    _require_internal(batch, command)
    state = batch.current
    if command.effect_id in state.settled:
        return
    attempt = state.attempted.get(command.effect_id, 0) + 1
    batch.emit(ev.EffectAttempted, effect_id=command.effect_id, attempt=attempt)


@_handles(NotificationDelivered)
def _notification_delivered(batch: _Batch, command: NotificationDelivered) -> None:
    _require_internal(batch, command)
    state = batch.current
    if command.effect_id in state.settled:
        return
    note = state.pending_notifications.get(command.effect_id)
    if note is None:
        return
    cls = ev.RequesterNotified if note.recipient == state.requester.id else ev.NotificationSent
    batch.emit(cls, effect_id=command.effect_id, kind=note.kind, recipient=note.recipient)


@_handles(FireSla)
def _fire_sla(batch: _Batch, command: FireSla) -> None:
    _require_internal(batch, command)
    policy = batch.context.sla
    state = batch.current
    if policy is None or not state.sla.running or state.sla.target is None:
        return
    used = _sla_used(state, batch.context)
    target = state.sla.target
    for index, level in enumerate(policy.escalation):
        if index in batch.current.sla.fired or used < target * level.at:
            continue
        batch.emit(
            ev.SlaThresholdReached,
            actor=SYSTEM,
            level=index,
            fraction=level.at,
            action=level.action,
            used=used,
        )
        _escalation_action(batch, level.action, level.at)
    if used >= target and not batch.current.sla.breached:
        batch.emit(ev.SlaBreached, actor=SYSTEM, used=used)


def _escalation_action(batch: _Batch, action: str, fraction: float) -> None:
    state = batch.current
    percent = f"{fraction:.0%}"
    subject = f"SLA {percent} used on {state.id}"
    body = f"Request {state.id} ({state.item or 'request'}) has used {percent} of its SLA."
    if action == "notify":
        _notify_group(batch, "sla_warning", subject, body)
        return
    group = state.group
    escalates_to = None
    catalog = batch.context.catalog
    if group is not None and catalog.has_group(group):
        escalates_to = catalog.group(group).escalates_to
    if action == "notify_manager":
        recipient = f"group:{escalates_to}" if escalates_to else state.requester.manager
        if recipient:
            _notify(batch, "sla_manager_warning", recipient, subject, body)
        return
    # escalate
    batch.emit(
        ev.RequestEscalated,
        actor=SYSTEM,
        from_group=group,
        to_group=escalates_to,
        level=state.sla.level + 1,
        rule=f"sla {percent}",
    )
    if escalates_to is not None:
        batch.emit(
            ev.RequestAssigned,
            actor=SYSTEM,
            group=escalates_to,
            agent=None,
            rule="sla escalation",
            reason=f"{percent} of the SLA used",
        )
    _notify_group(batch, "escalated", f"Escalated: {state.id}", body)


# ---------------------------------------------------------------------------
# evolve
# ---------------------------------------------------------------------------
#
# An evolver returns the fields an event changes (a new dict, the state untouched);
# ``evolve`` copies the state once with those changes, while ``replay`` and the
# decider's batch set them in place on a state they built themselves and nobody
# else has seen yet (see ``_Batch``).

_Changes = dict[str, Any]
_Evolver = Callable[[ServiceRequest, Any], _Changes]
_EVOLVERS: dict[type[ev.Event], _Evolver] = {}
E = TypeVar("E", bound=ev.Event)
_T = TypeVar("_T")


def _applies(
    cls: type[E],
) -> Callable[[Callable[[ServiceRequest, E], _Changes]], Callable[[ServiceRequest, E], _Changes]]:
    def register(
        fn: Callable[[ServiceRequest, E], _Changes],
    ) -> Callable[[ServiceRequest, E], _Changes]:
        _EVOLVERS[cls] = fn
        return fn

    return register


def evolve(state: ServiceRequest | None, event: ev.Event) -> ServiceRequest:
    """Apply one event to a state (``None`` before the first event).

    Raises :class:`TransitionError` when the event does not fit the state (a
    corrupt or misordered stream).
    """
    if state is None:
        return _first(event)
    return _copy_request(state, _changes(state, event))


def _first(event: ev.Event) -> ServiceRequest:
    """The state of a stream's first event (a new object: nobody else holds it)."""
    if type(event) is not ev.RequestSubmitted:
        raise TransitionError(event.request_id, None, event.type, "event does not fit")
    return ServiceRequest(
        id=event.request_id,
        requester=event.requester,
        item=event.item,
        channel=event.channel,
        answers=event.answers,
        state=S.SUBMITTED,
        created_at=event.at,
        updated_at=event.at,
        version=1,
    )


def _changes(state: ServiceRequest, event: ev.Event) -> _Changes:
    """The fields ``event`` changes on ``state`` (``state`` itself is left alone)."""
    fits, target, evolver = _STEPS[type(event)]
    if state.state not in fits:
        raise TransitionError(event.request_id, state.state, event.type, "event does not fit")
    if state.id != event.request_id:
        raise TransitionError(state.id, state.state, event.type, "event of another request")
    changes = evolver(state, event)
    if target is not None:
        changes["state"] = target
    changes["version"] = state.version + 1
    changes["updated_at"] = event.at
    return changes


_set_field = object.__setattr__


_COPIERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def _copier(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    """A function copying an instance of the attrs class ``cls`` with some fields
    changed, about twice as fast as ``attrs.evolve``: one C-level ``attrgetter`` reads
    every field and ``__init__`` gets them positionally (``attrs.evolve`` reads them
    one by one and passes keywords). Validators and converters still run. Classes
    whose ``__init__`` does not take every field positionally (or with fewer than two
    fields: ``attrgetter`` of one name returns no tuple) get ``attrs.evolve``."""
    fields = attrs.fields(cls)
    copy: Callable[[Any, dict[str, Any]], Any]
    if len(fields) < 2 or not all(a.init and not a.kw_only and a.alias == a.name for a in fields):

        def copy(inst: Any, changes: dict[str, Any]) -> Any:
            return attrs.evolve(inst, **changes)

    else:
        read = operator.attrgetter(*(a.name for a in fields))
        index = {a.name: i for i, a in enumerate(fields)}

        def copy(inst: Any, changes: dict[str, Any]) -> Any:
            values = list(read(inst))
            for key, value in changes.items():
                values[index[key]] = value
            return cls(*values)

    _COPIERS[cls] = copy
    return copy


def _replace(inst: _T, **changes: Any) -> _T:
    """``attrs.evolve`` for the frozen model classes, faster (see :func:`_copier`)."""
    copy = _COPIERS.get(type(inst)) or _copier(type(inst))
    new: _T = copy(inst, changes)
    return new


_copy_request: Callable[[ServiceRequest, _Changes], ServiceRequest] = _copier(ServiceRequest)


def replay(events: Iterable[ev.Event]) -> ServiceRequest:
    """Fold a request's whole stream into its current state.

    The same as folding :func:`evolve` over the events, without copying the state
    per event: the state being built is seen by nobody until it is returned.

    >>> replay([])
    Traceback (most recent call last):
    ...
    ValueError: cannot replay an empty stream
    """
    stream = iter(events)
    first = next(stream, None)
    if first is None:
        raise ValueError("cannot replay an empty stream")
    state = _first(first)
    for event in stream:
        # ``_changes``, inlined, and the changes set on ``state`` itself
        fits, target, evolver = _STEPS[type(event)]
        current = state.state
        if current not in fits:
            raise TransitionError(event.request_id, current, event.type, "event does not fit")
        if state.id != event.request_id:
            raise TransitionError(state.id, current, event.type, "event of another request")
        for name, value in evolver(state, event).items():
            _set_field(state, name, value)
        if target is not None:
            _set_field(state, "state", target)
        _set_field(state, "version", state.version + 1)
        _set_field(state, "updated_at", event.at)
    return state


def _same(state: ServiceRequest, event: ev.Event) -> _Changes:
    return {}


def _no_task(request: ServiceRequest, key: str) -> TransitionError:
    return TransitionError(request.id, request.state, "evolve", f"no task {key!r} in the plan")


def _plan_with(request: ServiceRequest, key: str, **changes: Any) -> tuple[Task, ...]:
    """The plan with task ``key`` changed."""
    plan: list[Task] = []
    found = False
    for task in request.plan:
        if task.key == key:
            task = _replace(task, **changes)
            found = True
        plan.append(task)
    if not found:
        raise _no_task(request, key)
    return tuple(plan)


def _task_of(request: ServiceRequest, key: str) -> Task:
    for task in request.plan:
        if task.key == key:
            return task
    raise _no_task(request, key)


def _settle(state: ServiceRequest, effect_id: str | None, changes: _Changes) -> _Changes:
    if effect_id is not None:
        changes["settled"] = state.settled | {effect_id}
    return changes


@_applies(ev.ApprovalRequested)
def _e_approval_requested(s: ServiceRequest, e: ev.ApprovalRequested) -> _Changes:
    return {"approvers": e.approvers}


@_applies(ev.RequestApproved)
def _e_approved(s: ServiceRequest, e: ev.RequestApproved) -> _Changes:
    return {"approval": Approval(True, e.actor, e.at)}


@_applies(ev.RequestRejected)
def _e_rejected(s: ServiceRequest, e: ev.RequestRejected) -> _Changes:
    return {"approval": Approval(False, e.actor, e.at, e.reason)}


@_applies(ev.RequestQueuedForTriage)
def _e_triage(s: ServiceRequest, e: ev.RequestQueuedForTriage) -> _Changes:
    return {}


@_applies(ev.RequestTriaged)
def _e_triaged(s: ServiceRequest, e: ev.RequestTriaged) -> _Changes:
    manual = set(s.manual)
    changes: _Changes = {}
    for name in ("item", "category", "impact", "urgency"):
        value = getattr(e, name)
        if value is not None:
            changes[name] = value
            manual.add(name)
    changes["manual"] = tuple(sorted(manual))
    return changes


@_applies(ev.RequestAssigned)
def _e_assigned(s: ServiceRequest, e: ev.RequestAssigned) -> _Changes:
    changes: _Changes = {"assignment": Assignment(e.group, e.agent)}
    manual = s.manual
    if e.rule == "manual" and "group" not in manual:
        changes["manual"] = tuple(sorted({*manual, "group"}))
    return changes


@_applies(ev.RequestClaimed)
def _e_claimed(s: ServiceRequest, e: ev.RequestClaimed) -> _Changes:
    assert s.assignment is not None
    return {"assignment": Assignment(s.assignment.group, e.agent)}


@_applies(ev.RequestCategorized)
def _e_categorized(s: ServiceRequest, e: ev.RequestCategorized) -> _Changes:
    return {"category": e.category}


@_applies(ev.RequestPrioritized)
def _e_prioritized(s: ServiceRequest, e: ev.RequestPrioritized) -> _Changes:
    changes: _Changes = {"impact": e.impact, "urgency": e.urgency, "priority": e.priority}
    manual = s.manual
    if e.rule == "manual" and not {"impact", "urgency"} <= set(manual):
        # a priority set by hand survives routing at approval or after triage
        changes["manual"] = tuple(sorted({*manual, "impact", "urgency"}))
    return changes


@_applies(ev.PlanStarted)
def _e_plan_started(s: ServiceRequest, e: ev.PlanStarted) -> _Changes:
    plan = tuple(
        Task(
            key=t.key,
            kind=t.kind,
            title=t.title,
            after=t.after,
            group=t.group,
            supplier=t.supplier,
        )
        for t in e.tasks
    )
    return {"plan": plan}


@_applies(ev.TaskStarted)
def _e_task_started(s: ServiceRequest, e: ev.TaskStarted) -> _Changes:
    return {
        "plan": _plan_with(s, e.task_key, state=TaskState.IN_PROGRESS, reason="", shipped=False)
    }


@_applies(ev.TaskCompleted)
def _e_task_completed(s: ServiceRequest, e: ev.TaskCompleted) -> _Changes:
    plan = _plan_with(s, e.task_key, state=TaskState.DONE, result=e.result)
    return _settle(s, e.effect_id, {"plan": plan})


@_applies(ev.TaskFailed)
def _e_task_failed(s: ServiceRequest, e: ev.TaskFailed) -> _Changes:
    plan = _plan_with(s, e.task_key, state=TaskState.FAILED, reason=e.reason)
    return _settle(s, e.effect_id, {"plan": plan})


@_applies(ev.TaskSkipped)
def _e_task_skipped(s: ServiceRequest, e: ev.TaskSkipped) -> _Changes:
    return {"plan": _plan_with(s, e.task_key, state=TaskState.SKIPPED, reason=e.reason)}


@_applies(ev.SupplierOrderRequested)
def _e_order_requested(s: ServiceRequest, e: ev.SupplierOrderRequested) -> _Changes:
    task = _task_of(s, e.task_key)
    plan = _plan_with(
        s,
        e.task_key,
        order_effect=e.event_id,
        order_ref=None,
        order_status=None,
        attempts=task.attempts + 1,
    )
    return {"order_tasks": {**s.order_tasks, e.event_id: e.task_key}, "plan": plan}


@_applies(ev.AutomationRequested)
def _e_automation_requested(s: ServiceRequest, e: ev.AutomationRequested) -> _Changes:
    task = _task_of(s, e.task_key)
    return {"plan": _plan_with(s, e.task_key, order_effect=e.event_id, attempts=task.attempts + 1)}


@_applies(ev.SupplierOrderPlaced)
def _e_order_placed(s: ServiceRequest, e: ev.SupplierOrderPlaced) -> _Changes:
    changes: _Changes = {}
    if not e.superseded:
        changes["plan"] = _plan_with(s, e.task_key, order_ref=e.ref, order_status=e.status)
    return _settle(s, e.effect_id, changes)


@_applies(ev.SupplierOrderUpdated)
def _e_order_updated(s: ServiceRequest, e: ev.SupplierOrderUpdated) -> _Changes:
    changes: _Changes = {}
    if _task_of(s, e.task_key).order_ref == e.ref:
        changes["plan"] = _plan_with(s, e.task_key, order_status=e.status)
    return _settle(s, e.effect_id, changes)


@_applies(ev.SupplierOrderCancelRequested)
def _e_cancel_requested(s: ServiceRequest, e: ev.SupplierOrderCancelRequested) -> _Changes:
    effects = dict(s.cancel_effects)
    effects[e.task_key] = (*effects.get(e.task_key, ()), e.event_id)
    return {"cancel_effects": effects}


@_applies(ev.ItemShipped)
def _e_shipped(s: ServiceRequest, e: ev.ItemShipped) -> _Changes:
    return {"plan": _plan_with(s, e.task_key, shipped=True, tracking=e.tracking)}


@_applies(ev.ItemDelivered)
def _e_delivered(s: ServiceRequest, e: ev.ItemDelivered) -> _Changes:
    return {"delivery_confirmed": True}


@_applies(ev.DeliveryDisputed)
def _e_disputed(s: ServiceRequest, e: ev.DeliveryDisputed) -> _Changes:
    return {"plan": _plan_with(s, e.task_key, shipped=False, reason=e.reason)}


@_applies(ev.RequestFulfilled)
def _e_fulfilled(s: ServiceRequest, e: ev.RequestFulfilled) -> _Changes:
    return {"fulfilled_at": e.at}


@_applies(ev.RequestClosed)
def _e_closed(s: ServiceRequest, e: ev.RequestClosed) -> _Changes:
    return {"closed_at": e.at}


@_applies(ev.RequestCancelled)
def _e_cancelled(s: ServiceRequest, e: ev.RequestCancelled) -> _Changes:
    return {"cancel_reason": e.reason}


@_applies(ev.RequestWaiting)
def _e_waiting(s: ServiceRequest, e: ev.RequestWaiting) -> _Changes:
    return {"waiting_reason": e.reason, "resume_to": s.state}


@_applies(ev.RequestResumed)
def _e_resumed(s: ServiceRequest, e: ev.RequestResumed) -> _Changes:
    back = s.resume_to or S.IN_FULFILLMENT
    return {"state": back, "waiting_reason": None, "resume_to": None}


@_applies(ev.NotificationRequested)
def _e_notification_requested(s: ServiceRequest, e: ev.NotificationRequested) -> _Changes:
    pending = dict(s.pending_notifications)
    pending[e.event_id] = e.notification
    return {"pending_notifications": pending}


def _e_notified(s: ServiceRequest, e: ev.NotificationSent | ev.RequesterNotified) -> _Changes:
    pending = dict(s.pending_notifications)
    pending.pop(e.effect_id, None)
    return _settle(s, e.effect_id, {"pending_notifications": pending})


_EVOLVERS[ev.NotificationSent] = _e_notified
_EVOLVERS[ev.RequesterNotified] = _e_notified


@_applies(ev.SlaStarted)
def _e_sla_started(s: ServiceRequest, e: ev.SlaStarted) -> _Changes:
    return {"sla": SlaStatus(target=e.target, due=e.due, used_at=e.at)}


@_applies(ev.SlaPaused)
def _e_sla_paused(s: ServiceRequest, e: ev.SlaPaused) -> _Changes:
    return {"sla": _replace(s.sla, paused=True, used=e.used, used_at=e.at, due=None)}


@_applies(ev.SlaResumed)
def _e_sla_resumed(s: ServiceRequest, e: ev.SlaResumed) -> _Changes:
    return {"sla": _replace(s.sla, paused=False, used_at=e.at, due=e.due)}


@_applies(ev.SlaRetargeted)
def _e_sla_retargeted(s: ServiceRequest, e: ev.SlaRetargeted) -> _Changes:
    return {"sla": _replace(s.sla, target=e.target, due=e.due, used=e.used, used_at=e.at)}


@_applies(ev.SlaThresholdReached)
def _e_sla_threshold(s: ServiceRequest, e: ev.SlaThresholdReached) -> _Changes:
    return {"sla": _replace(s.sla, fired=(*s.sla.fired, e.level), used=e.used, used_at=e.at)}


@_applies(ev.SlaBreached)
def _e_sla_breached(s: ServiceRequest, e: ev.SlaBreached) -> _Changes:
    return {"sla": _replace(s.sla, breached=True, used=e.used, used_at=e.at)}


@_applies(ev.SlaStopped)
def _e_sla_stopped(s: ServiceRequest, e: ev.SlaStopped) -> _Changes:
    sla = _replace(
        s.sla,
        stopped=True,
        used=e.used,
        used_at=e.at,
        due=None,
        breached=s.sla.breached or not e.met,
    )
    return {"sla": sla}


@_applies(ev.RequestEscalated)
def _e_escalated(s: ServiceRequest, e: ev.RequestEscalated) -> _Changes:
    return {"sla": _replace(s.sla, level=e.level)}


@_applies(ev.FeedbackRecorded)
def _e_feedback(s: ServiceRequest, e: ev.FeedbackRecorded) -> _Changes:
    return {"feedback": Feedback(e.rating, e.comment, e.at)}


@_applies(ev.EffectAttempted)
def _e_attempted(s: ServiceRequest, e: ev.EffectAttempted) -> _Changes:
    attempted = dict(s.attempted)
    attempted[e.effect_id] = e.attempt
    return {"attempted": attempted}


@_applies(ev.EffectAbandoned)
def _e_abandoned(s: ServiceRequest, e: ev.EffectAbandoned) -> _Changes:
    pending = dict(s.pending_notifications)
    pending.pop(e.effect_id, None)
    return _settle(s, e.effect_id, {"pending_notifications": pending})


_EVOLVERS[ev.RequestSubmitted] = _same
_EVOLVERS[ev.ReviewRequested] = _same

_missing_evolvers = set(ev.EVENT_TYPES.values()) - set(_EVOLVERS)
if _missing_evolvers:  # pragma: no cover - caught by the import itself
    raise AssertionError(f"events without an evolver: {_missing_evolvers}")
_missing_handlers = set(COMMAND_STATES) - set(_HANDLERS)
if _missing_handlers:  # pragma: no cover
    raise AssertionError(f"commands without a handler: {_missing_handlers}")


def _steps() -> dict[
    type[ev.Event], tuple[frozenset[RequestState | None], RequestState | None, _Evolver]
]:
    """Per event type, from the tables: the states it fits, the state it leads to (None:
    it keeps the state, or its evolver decides) and its evolver -- one look-up per event."""
    out: dict[
        type[ev.Event], tuple[frozenset[RequestState | None], RequestState | None, _Evolver]
    ] = {}
    for cls, (sources, target) in STATE_CHANGES.items():
        out[cls] = (sources, target, _EVOLVERS[cls])
    for cls, states in EVENT_STATES.items():
        out[cls] = (frozenset(states), None, _EVOLVERS[cls])
    return out


_STEPS = _steps()


def commands() -> Sequence[type[Command]]:
    """Every command type the decider accepts."""
    return (Submit, *COMMAND_STATES)
