"""The current state of a service request: the fold of its events.

:class:`ServiceRequest` and the values it holds (:class:`Task`, :class:`SlaStatus`,
...) are frozen; :class:`RequestQueries` holds the questions asked of a request's
fields, shared with the lifecycle's mutable draft of a request. ``Task.replace`` and
``SlaStatus.replace`` are the copies with some fields changed that the lifecycle's
evolvers make.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from reqfulfill.model.approval import StageStatus
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import (
    Channel,
    Impact,
    OrderStatus,
    Priority,
    RequestState,
    TaskKind,
    TaskState,
    Urgency,
)
from reqfulfill.model.inventory import StockReservation
from reqfulfill.model.supplier import Notification

__all__ = [
    "Approval",
    "Assignment",
    "Feedback",
    "RequestQueries",
    "ServiceRequest",
    "SlaStatus",
    "Task",
]


_T = TypeVar("_T", bound=attrs.AttrsInstance)


def _positional_copy(cls: type[_T]) -> Callable[[_T, Mapping[str, Any]], _T]:
    """A function copying an instance of the attrs class ``cls`` with some fields
    changed: what ``attrs.evolve`` does, about twice as fast. Every field is read from the
    instance's ``__dict__`` (``cls`` is a frozen attrs class without slots: ``__init__``
    writes its fields there, and nothing else, in field order) and ``__init__`` takes
    them by position, so validators and converters run as usual. ``cls.__init__`` must
    take every field by position."""
    fields = attrs.fields(cls)
    assert all(a.init and not a.kw_only and a.alias == a.name for a in fields), cls
    assert "__slots__" not in cls.__dict__, cls
    index = {a.name: i for i, a in enumerate(fields)}

    def copy(value: _T, changes: Mapping[str, Any]) -> _T:
        values = list(value.__dict__.values())
        for name, new in changes.items():
            at = index.get(name)
            if at is None:
                raise TypeError(f"{cls.__name__} has no field {name!r}")
            values[at] = new
        return cls(*values)

    return copy


@attrs.frozen
class Approval:
    """The approver's decision: ``approved`` True or False, by whom, when, why."""

    approved: bool
    by: str
    at: datetime
    reason: str = ""


@attrs.frozen
class Assignment:
    """The support group working on a request, and the agent if one holds it."""

    group: str
    agent: str | None = None


@attrs.frozen
class Feedback:
    """The requester's rating (1-5) and comment."""

    rating: int
    comment: str
    at: datetime


# slots=False: see ServiceRequest
@attrs.frozen(slots=False)
class SlaStatus:
    """The SLA clock of a request.

    ``used`` is the business time used up to ``used_at`` (the last time the clock
    was settled); while the clock runs, more is being used. ``due`` is when the
    target is used up if the clock keeps running; ``None`` while paused or when
    no SLA applies. ``level`` counts escalations; ``fired`` lists the indexes of
    the escalation levels that have fired.
    """

    target: timedelta | None = None
    due: datetime | None = None
    used: timedelta = timedelta(0)
    used_at: datetime | None = None
    paused: bool = False
    breached: bool = False
    level: int = 0
    fired: tuple[int, ...] = ()
    stopped: bool = False

    @property
    def running(self) -> bool:
        """True while business time is being counted."""
        return self.target is not None and not self.paused and not self.stopped

    def replace(self, **changes: Any) -> SlaStatus:
        """A copy with ``changes`` (``attrs.evolve``, faster: fields passed by position)."""
        return _copy_sla(self, changes)


# slots=False: see ServiceRequest
@attrs.frozen(slots=False)
class Task:
    """One task of a request's fulfillment plan, with its progress.

    A ``stock_or_order`` task says where the item comes from in ``source``: None while
    the inventory is asked, ``"stock"`` once reserved (``reservation``, made by the
    inventory plugin ``reserved_by``; None again once released), ``"supplier"`` once
    nothing was in stock and the item's supplier order was asked for. A delivery task
    holds the ``asset_tag`` and ``serial`` of the device shipped, when given.
    """

    key: str
    kind: TaskKind
    title: str
    after: tuple[str, ...] = ()
    group: str | None = None
    supplier: str | None = None
    state: TaskState = TaskState.PENDING
    order_ref: str | None = None
    order_status: OrderStatus | None = None
    order_effect: str | None = None
    tracking: str | None = None
    shipped: bool = False
    reason: str = ""
    result: Mapping[str, Any] | None = None
    attempts: int = 0
    source: str | None = None
    reservation: StockReservation | None = None
    reserved_by: str | None = None
    asset_tag: str | None = None
    serial: str | None = None

    @property
    def finished(self) -> bool:
        """Done or skipped."""
        return self.state.finished

    @property
    def order_open(self) -> bool:
        """True while this task's supplier order is requested or placed and has not
        reached a final status (delivered, failed, cancelled): the order that a
        cancellation, a skip or a restart must cancel at the supplier."""
        if not self.kind.orders or self.order_effect is None:
            return False
        if self.kind is TaskKind.STOCK_OR_ORDER and self.source != "supplier":
            return False  # asking the inventory, or served from stock: no order
        return self.order_status is None or not self.order_status.final

    def replace(self, **changes: Any) -> Task:
        """A copy with ``changes`` (``attrs.evolve``, faster: fields passed by position).

        >>> Task(key="a", kind=TaskKind.MANUAL, title="A").replace(attempts=2).attempts
        2
        """
        return _copy_task(self, changes)


_copy_task = _positional_copy(Task)
_copy_sla = _positional_copy(SlaStatus)


class RequestQueries:
    """The questions asked of a request's fields, answered once for every class that
    holds them: :class:`ServiceRequest`, and the lifecycle's mutable draft
    (:class:`reqfulfill.lifecycle.draft.RequestDraft`), which has the same fields.

    A mixin without fields (``__slots__ = ()``): the subclass holds ``assignment`` and
    ``plan``.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        @property
        def assignment(self) -> Assignment | None:
            """The assigned group and agent (a field of the subclass)."""

        @property
        def plan(self) -> tuple[Task, ...]:
            """The fulfillment plan's tasks (a field of the subclass)."""

    @property
    def group(self) -> str | None:
        """The assigned group's id, if any."""
        assignment = self.assignment
        return assignment.group if assignment else None

    @property
    def agent(self) -> str | None:
        """The assigned agent's id, if any."""
        assignment = self.assignment
        return assignment.agent if assignment else None

    def task(self, key: str) -> Task:
        """The plan task with this key (``KeyError`` if none)."""
        for task in self.plan:
            if task.key == key:
                return task
        raise KeyError(key)

    def has_task(self, key: str) -> bool:
        """True when the plan has a task with this key."""
        return any(t.key == key for t in self.plan)

    def finished_keys(self) -> set[str]:
        """The keys of the plan's finished (done or skipped) tasks."""
        return {t.key for t in self.plan if t.state.finished}


# slots=False: attrs builds a frozen instance with a __dict__ by writing the fields into
# it, half the work of a slotted one's object.__setattr__ per field (a state is built
# per decision); still frozen (setting a field raises FrozenInstanceError)
@attrs.frozen(slots=False)
class ServiceRequest(RequestQueries):
    """A service request as it stands after its last event.

    ``version`` is the number of events in the request's stream; replaying those
    events with :func:`reqfulfill.lifecycle.replay` gives this value back.
    ``manual`` names the fields set by hand (triage, manual assignment), which
    automatic routing leaves alone; ``settled`` holds the ids of effects whose
    outcome is recorded (so a retried outcome is not recorded twice).
    ``approval_stages`` shows the stages of the item's approval policy: done, skipped,
    pending or rejected, and who approved each (empty for an item approved without a
    policy). ``messages``: the ids of the mails and chat messages it came in and was
    replied to by (so a message delivered twice is recorded once).
    """

    id: str
    requester: Requester
    item: str | None
    channel: Channel
    answers: Mapping[str, Any]
    state: RequestState
    created_at: datetime
    updated_at: datetime
    version: int
    approval: Approval | None = None
    assignment: Assignment | None = None
    category: str | None = None
    priority: Priority | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    plan: tuple[Task, ...] = ()
    sla: SlaStatus = SlaStatus()
    feedback: Feedback | None = None
    approvers: tuple[str, ...] = ()
    waiting_reason: str | None = None
    resume_to: RequestState | None = None
    cancel_reason: str | None = None
    delivery_confirmed: bool = False
    fulfilled_at: datetime | None = None
    closed_at: datetime | None = None
    manual: tuple[str, ...] = ()
    settled: frozenset[str] = frozenset()
    attempted: Mapping[str, int] = attrs.field(factory=dict)
    order_tasks: Mapping[str, str] = attrs.field(factory=dict)
    cancel_effects: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    pending_notifications: Mapping[str, Notification] = attrs.field(factory=dict)
    approval_stages: tuple[StageStatus, ...] = ()
    messages: tuple[str, ...] = ()
