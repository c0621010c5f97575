"""The commands the decider accepts, the states each is accepted in, and the actors
of automatic decisions.

A command says who asks (``actor``) and what; :data:`COMMAND_STATES` gives, per command
type other than :class:`Submit`, the request states in which it may run. The worker
records effect outcomes and timers as :data:`WORKER` or :data:`SYSTEM`.

The fields' declared types are what :func:`check_command` holds a command's arguments
to before anything is decided (see :mod:`reqfulfill.serialization.arguments`): a
``str`` field takes a string of at most 255 characters, a ``Text`` field free text,
an ``Id`` field a non-empty string, and no string may hold a NUL character or a
surrogate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from reqfulfill.lifecycle.table import ALL, OPEN, WORKING, S
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel, Impact, OrderStatus, RequestState, Urgency
from reqfulfill.model.errors import ValidationError
from reqfulfill.model.events import ItemSuggestion
from reqfulfill.model.inventory import PluginReservation, StockReservation
from reqfulfill.serialization.arguments import Id, Text, check_arguments

__all__ = [
    "COMMAND_STATES",
    "INTERNAL_ACTORS",
    "SYSTEM",
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
    "DisputeDelivery",
    "EffectFailed",
    "FailTask",
    "FireApproval",
    "FireSla",
    "NotificationDelivered",
    "OrderCancelled",
    "OrderPlaced",
    "RecordAssetRegistered",
    "RecordAttempt",
    "RecordFeedback",
    "RecordRelease",
    "RecordReply",
    "RecordReservation",
    "RecordSupplierUpdate",
    "Reject",
    "Reprioritize",
    "Resume",
    "Ship",
    "SkipTask",
    "StartTask",
    "Submit",
    "Triage",
    "Wait",
    "check_command",
    "commands",
]

SYSTEM = "system"
"""The actor of automatic decisions (routing, plan progress, SLA timers)."""

WORKER = "worker"
"""The actor the worker records effect outcomes as."""

INTERNAL_ACTORS = frozenset({SYSTEM, WORKER})
"""The actors that record effect outcomes and timers (never a person)."""


@attrs.frozen(kw_only=True)
class Command:
    """Base of commands: who asks. ``name`` is the command's name in errors."""

    name: ClassVar[str] = "command"
    actor: str


@attrs.frozen(kw_only=True)
class Submit(Command):
    """Create a request for ``requester`` (``item`` may be None on email/phone/chat)."""

    name: ClassVar[str] = "submit"
    request_id: Id
    requester: Requester
    item: str | None
    channel: Channel
    answers: Mapping[str, Any] = attrs.field(factory=dict)
    message_id: str | None = None
    """The id of the mail or chat message the request came in (see ``service.receive``)."""
    suggestions: tuple[ItemSuggestion, ...] = ()
    """Catalog items proposed for the message's text, best first: recorded with the
    request's queueing for triage; the first is triaged to at once when its confidence
    reaches the channel's ``auto_triage`` threshold in the catalog."""


@attrs.frozen(kw_only=True)
class RecordReply(Command):
    """The requester (or someone in the thread) answered: record message ``message_id``
    on the request and tell its assignee. A message recorded already changes nothing."""

    name: ClassVar[str] = "record_reply"
    message_id: Id
    text: Text


@attrs.frozen(kw_only=True)
class Approve(Command):
    """Approve a request waiting for approval."""

    name: ClassVar[str] = "approve"


@attrs.frozen(kw_only=True)
class Reject(Command):
    """Reject a request waiting for approval."""

    name: ClassVar[str] = "reject"
    reason: Text


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
    reason: Text


@attrs.frozen(kw_only=True)
class SkipTask(Command):
    """Skip a task not yet done; it counts as done (an open order is cancelled)."""

    name: ClassVar[str] = "skip_task"
    task_key: str
    reason: Text


@attrs.frozen(kw_only=True)
class Ship(Command):
    """Record that the item of a delivery task has shipped (the device's asset tag and
    serial number, when given, are told to the host when delivery is confirmed)."""

    name: ClassVar[str] = "ship"
    task_key: str
    tracking: Text | None = None
    asset_tag: str | None = None
    serial: str | None = None


@attrs.frozen(kw_only=True)
class ConfirmDelivery(Command):
    """The requester confirms receipt of the delivered item."""

    name: ClassVar[str] = "confirm_delivery"


@attrs.frozen(kw_only=True)
class DisputeDelivery(Command):
    """The requester says the shipped item did not arrive."""

    name: ClassVar[str] = "dispute_delivery"
    reason: Text


@attrs.frozen(kw_only=True)
class Close(Command):
    """Close a fulfilled request (a no-op on a closed one)."""

    name: ClassVar[str] = "close"


@attrs.frozen(kw_only=True)
class AutoClose(Command):
    """The worker closes a fulfilled request: its delivery was confirmed, or the
    grace period passed with no complaint."""

    name: ClassVar[str] = "close"
    reason: Text = ""


@attrs.frozen(kw_only=True)
class Cancel(Command):
    """Cancel an open request."""

    name: ClassVar[str] = "cancel"
    reason: Text


@attrs.frozen(kw_only=True)
class RecordFeedback(Command):
    """The requester rates a closed request (1-5) once."""

    name: ClassVar[str] = "record_feedback"
    rating: int
    comment: Text = ""


@attrs.frozen(kw_only=True)
class Wait(Command):
    """Put the request in WAITING (the SLA pauses by default)."""

    name: ClassVar[str] = "wait"
    reason: Text


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
    reason: Text
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
class RecordReservation(Command):
    """Worker: the inventory's answer to the reservation ``effect_id``: the
    ``reservation`` inventory plugin ``plugin`` made, or None when nothing is in stock.

    ``release``: reservations other plugins hold under the effect's key that the task
    will not keep (a retry asks every plugin: an earlier attempt's answer may have been
    lost), each given back to its plugin. ``failure``: the effect failed for good for
    this reason (no reservation then): the task fails as on ``EffectFailed``, and what
    ``release`` lists goes back."""

    name: ClassVar[str] = "record_reservation"
    effect_id: str
    reservation: StockReservation | None = None
    plugin: str | None = None
    release: tuple[PluginReservation, ...] = ()
    failure: Text | None = None


@attrs.frozen(kw_only=True)
class RecordRelease(Command):
    """Worker: the inventory took back ``reservation`` (release effect ``effect_id``)
    of task ``task_key``."""

    name: ClassVar[str] = "record_release"
    effect_id: str
    task_key: str
    reservation: StockReservation


@attrs.frozen(kw_only=True)
class RecordAssetRegistered(Command):
    """Worker: the host was told of the asset handed over (effect ``effect_id``)."""

    name: ClassVar[str] = "record_asset_registered"
    effect_id: str


@attrs.frozen(kw_only=True)
class FireSla(Command):
    """Worker: fire the SLA thresholds that are due now."""

    name: ClassVar[str] = "fire_sla"


@attrs.frozen(kw_only=True)
class FireApproval(Command):
    """Worker: remind the pending approvers, or expire the approval stage, when due."""

    name: ClassVar[str] = "fire_approval"


COMMAND_STATES: Mapping[type[Command], frozenset[RequestState]] = {
    Approve: frozenset({S.AWAITING_APPROVAL}),
    Reject: frozenset({S.AWAITING_APPROVAL}),
    Triage: frozenset({S.TRIAGE}),
    Assign: frozenset({S.AWAITING_APPROVAL, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    Claim: frozenset({S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    StartTask: frozenset({S.IN_FULFILLMENT}),
    CompleteTask: WORKING,
    FailTask: WORKING,
    SkipTask: WORKING,
    Ship: WORKING,
    ConfirmDelivery: WORKING,
    DisputeDelivery: WORKING,
    Close: frozenset({S.FULFILLED, S.CLOSED}),
    AutoClose: frozenset({S.FULFILLED, S.CLOSED}),
    Cancel: OPEN,
    RecordFeedback: frozenset({S.CLOSED}),
    Wait: frozenset({S.IN_FULFILLMENT, S.TRIAGE}),
    Resume: frozenset({S.WAITING}),
    Reprioritize: frozenset({S.AWAITING_APPROVAL, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    RecordSupplierUpdate: ALL,
    OrderPlaced: ALL,
    OrderCancelled: ALL,
    AutomationSucceeded: ALL,
    EffectFailed: ALL,
    NotificationDelivered: ALL,
    RecordAttempt: ALL,
    RecordReservation: ALL,
    RecordRelease: ALL,
    RecordAssetRegistered: ALL,
    FireSla: ALL,
    FireApproval: ALL,
    RecordReply: ALL,
}
"""The states in which each command (other than ``Submit``) is accepted."""


def commands() -> Sequence[type[Command]]:
    """Every command type the decider accepts."""
    return (Submit, *COMMAND_STATES)


def check_command(command: object) -> Command:
    """``command``, if it is a command whose every argument fits the type its field
    declares as the event codec writes it, in a form every store holds; else a
    ``ValidationError`` naming each bad argument (``reason: expected a string, got
    NoneType``). The service checks every command with it before deciding.

    >>> check_command(Reject(actor="max.manager", reason=None))  # type: ignore[arg-type]
    Traceback (most recent call last):
    ...
    reqfulfill.model.errors.ValidationError: reason: expected a string, got NoneType (got None)
    """
    if not isinstance(command, Command):
        raise ValidationError.single("command", command, "expected a lifecycle command")
    check_arguments(command)
    return command
