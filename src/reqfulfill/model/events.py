"""One event class per fact in a request's history.

Every event has ``event_id`` (``"<request_id>/<n>"``, n its 1-based position in
the stream), ``request_id``, ``at`` and ``actor``. Automatic decisions also
carry the ``rule`` that made them (``"item default"`` where no rule matched)
and a short ``reason``. Events carry everything :func:`reqfulfill.lifecycle.evolve`
needs, so replaying a stream needs no catalog, rules or calendar.

Events whose class has ``effect = True`` are *requests for effect*: the store
puts them in its outbox in the same transaction, and the worker runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs

from reqfulfill.model._json import freeze_optional, freeze_table
from reqfulfill.model.approval import ApprovalMode, OnExpiry
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel, Impact, OrderStatus, Priority, TaskKind, Urgency
from reqfulfill.model.inventory import StockReservation
from reqfulfill.model.supplier import Notification, SupplierOrder

__all__ = [
    "EVENT_TYPES",
    "OMIT_DEFAULT",
    "ApprovalDelegated",
    "ApprovalExpired",
    "ApprovalGiven",
    "ApprovalReminded",
    "ApprovalRequested",
    "ApprovalStageCompleted",
    "ApprovalStageSkipped",
    "ApprovalStageStarted",
    "AssetHandedOver",
    "AssetRegistered",
    "AssetShipped",
    "AutomationRequested",
    "DeliveryDisputed",
    "EffectAbandoned",
    "EffectAttempted",
    "Event",
    "FeedbackRecorded",
    "ItemDelivered",
    "ItemShipped",
    "ItemSuggestion",
    "NotificationRequested",
    "NotificationSent",
    "PlanStarted",
    "PlannedTask",
    "RequestApproved",
    "RequestAssigned",
    "RequestCancelled",
    "RequestCategorized",
    "RequestClaimed",
    "RequestClosed",
    "RequestEscalated",
    "RequestFulfilled",
    "RequestPrioritized",
    "RequestQueuedForTriage",
    "RequestRejected",
    "RequestResumed",
    "RequestSubmitted",
    "RequestTriaged",
    "RequestWaiting",
    "RequesterNotified",
    "RequesterReplied",
    "ReviewRequested",
    "SlaBreached",
    "SlaPaused",
    "SlaResumed",
    "SlaRetargeted",
    "SlaStarted",
    "SlaStopped",
    "SlaThresholdReached",
    "StockReleaseRequested",
    "StockReleased",
    "StockReservationRequested",
    "StockReserved",
    "StockUnavailable",
    "SupplierOrderCancelRequested",
    "SupplierOrderPlaced",
    "SupplierOrderRequested",
    "SupplierOrderUpdated",
    "TaskCompleted",
    "TaskFailed",
    "TaskSkipped",
    "TaskStarted",
]


OMIT_DEFAULT = "reqfulfill.omit_default"
"""The attrs metadata key of a field added to an event class after its events were first
written: the codec leaves it out of the stored form while it holds its default, so an
event written before reads and writes the same bytes."""

_ADDED: Mapping[str, bool] = {OMIT_DEFAULT: True}


@attrs.frozen(kw_only=True)
class Event:
    """Base of all events: what happened to which request, when, by whom."""

    effect: ClassVar[bool] = False

    event_id: str
    request_id: str
    at: datetime
    actor: str

    @property
    def type(self) -> str:
        """The event's type name, e.g. ``"RequestApproved"``."""
        return type(self).__name__


@attrs.frozen(kw_only=True)
class RequestSubmitted(Event):
    """A requester ordered a service item (or asked without one) through a channel."""

    requester: Requester
    item: str | None
    channel: Channel
    answers: Mapping[str, Any] = attrs.field(factory=dict, converter=freeze_table)
    message_id: str | None = attrs.field(default=None, metadata=_ADDED)
    """The id of the message (mail, chat) the request came in, if it came in one."""


@attrs.frozen(kw_only=True)
class ApprovalRequested(Event):
    """The request waits for one of ``approvers`` to approve or reject it."""

    approvers: tuple[str, ...]
    rule: str = "approval policy"


@attrs.frozen(kw_only=True)
class ApprovalStageStarted(Event):
    """A stage of the item's approval policy started: ``approvers`` (fixed now, the
    requester left out, delegation applied) decide; ``needed`` approvals complete it
    (``mode`` says how that number was chosen). ``remind_at`` / ``expire_at``: when the
    pending approvers are reminded and when the stage expires, in the business time of
    the service's calendar (``None``: never)."""

    stage: str
    approvers: tuple[str, ...]
    mode: ApprovalMode
    needed: int
    policy: str
    remind_at: datetime | None = None
    expire_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ApprovalStageSkipped(Event):
    """A stage did not run: its ``when`` condition was false, or nobody was left to
    approve and the stage says ``if_no_approver = "skip"`` (``reason`` says which)."""

    stage: str
    policy: str
    reason: str


@attrs.frozen(kw_only=True)
class ApprovalDelegated(Event):
    """``delegator`` is away: ``delegate`` approves in their place in ``stage`` (the
    ``reqfulfill_delegate`` hook said so when the stage started)."""

    stage: str
    delegator: str
    delegate: str


@attrs.frozen(kw_only=True)
class ApprovalGiven(Event):
    """``actor`` approved the current ``stage`` (the request is approved when the last
    applicable stage completes)."""

    stage: str


@attrs.frozen(kw_only=True)
class ApprovalStageCompleted(Event):
    """Enough approvers approved ``stage``."""

    stage: str


@attrs.frozen(kw_only=True)
class ApprovalReminded(Event):
    """The pending ``approvers`` of ``stage`` were reminded (once per stage)."""

    stage: str
    approvers: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ApprovalExpired(Event):
    """``stage`` expired: ``on_expiry`` is ``"reject"`` (a ``RequestRejected`` follows)
    or ``"escalate"``: ``added`` approvers joined the stage, which now expires at
    ``expire_at``."""

    stage: str
    on_expiry: OnExpiry
    added: tuple[str, ...] = ()
    expire_at: datetime | None = None


@attrs.frozen(kw_only=True)
class RequestApproved(Event):
    """An approver approved the request."""


@attrs.frozen(kw_only=True)
class RequestRejected(Event):
    """An approver rejected the request; it ends here."""

    reason: str


@attrs.frozen
class ItemSuggestion:
    """A catalog item the suggester proposed for a request's text: its ``confidence``
    (0 to 1) and the ``terms`` of the text that led to it."""

    item: str
    confidence: float
    terms: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class RequestQueuedForTriage(Event):
    """The request arrived without a service item and waits for manual triage, with
    the catalog items the suggester proposed for its text (best first)."""

    group: str | None
    rule: str = "no service item"
    suggestions: tuple[ItemSuggestion, ...] = attrs.field(default=(), metadata=_ADDED)


@attrs.frozen(kw_only=True)
class RequestTriaged(Event):
    """A triage agent set the item, category and/or priority by hand (``rule``
    ``"manual"``), or the suggester's top item was taken (``"suggestion"``)."""

    item: str | None = None
    category: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    rule: str = "manual"
    confidence: float | None = attrs.field(default=None, metadata=_ADDED)
    """With the rule ``"suggestion"``: the confidence of the suggestion triaged to."""
    terms: tuple[str, ...] = attrs.field(default=(), metadata=_ADDED)
    """With the rule ``"suggestion"``: the words of the text that led to the item."""


@attrs.frozen(kw_only=True)
class RequestAssigned(Event):
    """The request was assigned to a group (and maybe an agent)."""

    group: str
    agent: str | None = None
    strategy: str = "queue"
    rule: str | None = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class RequestClaimed(Event):
    """A member of the assigned group took the request."""

    agent: str


@attrs.frozen(kw_only=True)
class RequestCategorized(Event):
    """The request's category was decided."""

    category: str
    rule: str | None = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class RequestPrioritized(Event):
    """The request's impact, urgency and priority were decided."""

    impact: Impact
    urgency: Urgency
    priority: Priority
    rule: str | None = None
    reason: str = ""


@attrs.frozen
class PlannedTask:
    """A task chosen for a request's plan when the plan started."""

    key: str
    kind: TaskKind
    title: str
    after: tuple[str, ...] = ()
    group: str | None = None
    supplier: str | None = None


@attrs.frozen(kw_only=True)
class PlanStarted(Event):
    """The fulfillment plan was instantiated with ``tasks`` (``when`` already decided)."""

    plan: str | None
    tasks: tuple[PlannedTask, ...]
    left_out: tuple[str, ...] = ()
    rule: str | None = None


@attrs.frozen(kw_only=True)
class TaskStarted(Event):
    """A task started (its ``after`` tasks are done, or an agent restarted it)."""

    task_key: str


@attrs.frozen(kw_only=True)
class TaskCompleted(Event):
    """A task is done. ``result`` is an automation's result mapping, if any."""

    task_key: str
    result: Mapping[str, Any] | None = attrs.field(default=None, converter=freeze_optional)
    effect_id: str | None = None


@attrs.frozen(kw_only=True)
class TaskFailed(Event):
    """A task failed; it stays failed until restarted or the request is cancelled."""

    task_key: str
    reason: str
    effect_id: str | None = None


@attrs.frozen(kw_only=True)
class TaskSkipped(Event):
    """An agent skipped a task with a reason; it counts as done."""

    task_key: str
    reason: str


@attrs.frozen(kw_only=True)
class SupplierOrderRequested(Event):
    """Request for effect: place ``order`` with the supplier."""

    effect: ClassVar[bool] = True

    task_key: str
    supplier_id: str
    order: SupplierOrder


@attrs.frozen(kw_only=True)
class SupplierOrderPlaced(Event):
    """The supplier accepted the order under ``ref``.

    ``superseded`` marks an order whose task had since asked for a new one (it was
    restarted): the order is recorded and cancelled, the task keeps its new order.
    """

    task_key: str
    supplier_id: str
    ref: str
    status: OrderStatus
    effect_id: str
    superseded: bool = False


@attrs.frozen(kw_only=True)
class SupplierOrderUpdated(Event):
    """The supplier reported a newer status for an order (``effect_id``: the cancel
    request it answers, if any)."""

    task_key: str
    supplier_id: str
    ref: str
    status: OrderStatus
    effect_id: str | None = None


@attrs.frozen(kw_only=True)
class SupplierOrderCancelRequested(Event):
    """Request for effect: cancel the open order ``ref``."""

    effect: ClassVar[bool] = True

    task_key: str
    supplier_id: str
    ref: str | None
    order_effect: str | None = None


@attrs.frozen(kw_only=True)
class AutomationRequested(Event):
    """Request for effect: run the automation for an ``automated`` task."""

    effect: ClassVar[bool] = True

    task_key: str


@attrs.frozen(kw_only=True)
class StockReservationRequested(Event):
    """Request for effect: reserve ``quantity`` of ``item`` at ``location`` (the
    requester's) for a ``stock_or_order`` task, through the inventory plugins."""

    effect: ClassVar[bool] = True

    task_key: str
    item: str
    quantity: int
    location: str


@attrs.frozen(kw_only=True)
class StockReserved(Event):
    """The inventory plugin ``plugin`` reserved stock for the task (effect
    ``effect_id``): the task is fulfilled from stock."""

    task_key: str
    reservation: StockReservation
    plugin: str
    effect_id: str


@attrs.frozen(kw_only=True)
class StockUnavailable(Event):
    """No inventory plugin had the item in stock (effect ``effect_id``): the task orders
    it from the item's supplier."""

    task_key: str
    effect_id: str


@attrs.frozen(kw_only=True)
class StockReleaseRequested(Event):
    """Request for effect: give ``reservation`` back to the plugin that made it (the
    request was cancelled, the task restarted or skipped, or the reservation came in
    after the request moved on). ``reserve_effect``: the effect that reserved it."""

    effect: ClassVar[bool] = True

    task_key: str
    reservation: StockReservation
    plugin: str
    reserve_effect: str


@attrs.frozen(kw_only=True)
class StockReleased(Event):
    """The inventory took the reservation back (release effect ``effect_id``)."""

    task_key: str
    reservation: StockReservation
    effect_id: str


@attrs.frozen(kw_only=True)
class ItemShipped(Event):
    """The physical item of a delivery task is on its way."""

    task_key: str
    tracking: str | None = None


@attrs.frozen(kw_only=True)
class AssetShipped(Event):
    """The device shipped by a delivery task (recorded after ``ItemShipped`` when the
    agent gave its asset tag and/or serial number)."""

    task_key: str
    asset_tag: str | None
    serial: str | None


@attrs.frozen(kw_only=True)
class ItemDelivered(Event):
    """The requester confirmed receipt of the item."""

    task_key: str


@attrs.frozen(kw_only=True)
class AssetHandedOver(Event):
    """Request for effect: the requester confirmed receipt of the device shipped with
    ``asset_tag`` and/or ``serial``; the ``reqfulfill_asset_handed_over`` hook tells the
    host (its CMDB), with this event's id as the key."""

    effect: ClassVar[bool] = True

    task_key: str
    asset_tag: str | None
    serial: str | None
    item: str | None
    requester: str


@attrs.frozen(kw_only=True)
class AssetRegistered(Event):
    """The host was told of the asset handed over (effect ``effect_id``)."""

    effect_id: str


@attrs.frozen(kw_only=True)
class DeliveryDisputed(Event):
    """The requester says the item did not arrive; the delivery task reopens."""

    task_key: str
    reason: str


@attrs.frozen(kw_only=True)
class RequestFulfilled(Event):
    """Every task of the plan is done or skipped."""


@attrs.frozen(kw_only=True)
class RequestClosed(Event):
    """The request is closed. ``survey`` says whether the requester was asked to rate it."""

    reason: str = ""
    survey: bool = True
    rule: str | None = None


@attrs.frozen(kw_only=True)
class RequestCancelled(Event):
    """The request was cancelled before it was fulfilled."""

    reason: str


@attrs.frozen(kw_only=True)
class RequestWaiting(Event):
    """The request waits (for the requester, a supplier...); the SLA may pause."""

    reason: str


@attrs.frozen(kw_only=True)
class RequestResumed(Event):
    """The request stopped waiting."""


@attrs.frozen(kw_only=True)
class NotificationRequested(Event):
    """Request for effect: deliver ``notification`` through the notifier hook."""

    effect: ClassVar[bool] = True

    notification: Notification
    not_before: datetime | None = None


@attrs.frozen(kw_only=True)
class EffectAttempted(Event):
    """The worker is about to call the outside world for effect ``effect_id``.

    Recorded before each supplier order attempt, so a crash after the call is
    never mistaken for an order that was never sent.
    """

    effect_id: str
    attempt: int


@attrs.frozen(kw_only=True)
class EffectAbandoned(Event):
    """An effect was given up: one that is not a task's (a notification, a cancel
    request) failed for good or had nothing to do (a cancel request whose order was
    never placed), or the request no longer wanted the effect when it was
    about to run (``reason`` starts ``no longer wanted:``), or an automation ran after
    its request moved on and its result is not applied (``ran, but no longer
    wanted:``)."""

    effect_id: str
    effect_type: str
    reason: str


@attrs.frozen(kw_only=True)
class NotificationSent(Event):
    """A notification (effect ``effect_id``) was handed to the notifiers."""

    effect_id: str
    kind: str
    recipient: str


@attrs.frozen(kw_only=True)
class RequesterNotified(Event):
    """The requester was notified (effect ``effect_id``)."""

    effect_id: str
    kind: str
    recipient: str


@attrs.frozen(kw_only=True)
class RequesterReplied(Event):
    """A reply to the request (mail or chat message ``message_id``) came in."""

    message_id: str
    text: str


@attrs.frozen(kw_only=True)
class SlaStarted(Event):
    """The SLA clock started with ``target`` business time, due at ``due``."""

    target: timedelta
    due: datetime
    priority: Priority
    rule: str | None = None


@attrs.frozen(kw_only=True)
class SlaPaused(Event):
    """The SLA clock paused with ``used`` business time used."""

    used: timedelta


@attrs.frozen(kw_only=True)
class SlaResumed(Event):
    """The SLA clock runs again; the target is now due at ``due``."""

    due: datetime


@attrs.frozen(kw_only=True)
class SlaRetargeted(Event):
    """The priority changed: new ``target`` and ``due``, keeping ``used``."""

    target: timedelta
    due: datetime | None
    used: timedelta
    priority: Priority


@attrs.frozen(kw_only=True)
class SlaThresholdReached(Event):
    """An escalation level (index ``level``, at fraction ``fraction``) fired."""

    level: int
    fraction: float
    action: str
    used: timedelta


@attrs.frozen(kw_only=True)
class SlaBreached(Event):
    """The SLA target was used up before the request was fulfilled."""

    used: timedelta


@attrs.frozen(kw_only=True)
class SlaStopped(Event):
    """The SLA clock stopped (fulfilled, cancelled): ``used`` is final, ``met`` says if in time."""

    used: timedelta
    met: bool


@attrs.frozen(kw_only=True)
class RequestEscalated(Event):
    """The request escalated one level (reassigned when the group has a next level)."""

    from_group: str | None
    to_group: str | None
    level: int
    rule: str | None = None


@attrs.frozen(kw_only=True)
class FeedbackRecorded(Event):
    """The requester rated the fulfilled request."""

    rating: int
    comment: str = ""


@attrs.frozen(kw_only=True)
class ReviewRequested(Event):
    """A low rating asks the group to review the request."""

    group: str | None
    rating: int


def _all_subclasses(cls: type[Event]) -> list[type[Event]]:
    out: list[type[Event]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


EVENT_TYPES: Mapping[str, type[Event]] = {cls.__name__: cls for cls in _all_subclasses(Event)}
"""Every event class by name (the ``type`` field of the stored form)."""
