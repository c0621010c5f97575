"""The reference scenario, played end to end (``reqfulfill demo``).

An end user orders a new mobile phone in the portal; the manager approves; the
request is assigned to the Service Desk and categorized/prioritized from the
item; an agent claims it; the stock room has none, so the phone is ordered from a
supplier, prepared and
delivered; the end user confirms receipt; the request is closed and the
requester notified; the requester rates it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from reqfulfill.clock import FixedClock
from reqfulfill.model import events as ev
from reqfulfill.model.enums import Channel, OrderStatus
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.service import FulfillmentService
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing import FakeInventory, FakeSupplier, demo_catalog, demo_requester
from reqfulfill.worker import Worker

__all__ = ["describe", "play_reference_scenario", "timeline"]

AGENT = "sam.agent"
MANAGER = "max.manager"


def play_reference_scenario(store: str = "memory://") -> tuple[FulfillmentService, ServiceRequest]:
    """Play the reference scenario on ``store``; return the service and the closed request."""
    clock = FixedClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    supplier = FakeSupplier("acme-mobile")
    stockroom = FakeInventory(stock={"iphone-15": 0})  # no phone in stock: order one
    service = FulfillmentService(
        demo_catalog(),
        sla=SlaPolicy.default(),
        store=store,
        plugins=[supplier, stockroom],
        clock=clock,
        load_entrypoints=False,
    )
    worker = Worker(service, seed=1)
    requester = demo_requester()

    request = service.submit(
        requester, "iphone-15", Channel.PORTAL, {"colour": "black", "quantity": 1}
    )
    rid = request.id
    worker.run_pending()  # tells the manager an approval is waiting
    clock.advance(minutes=20)
    service.approve(rid, MANAGER)
    clock.advance(minutes=10)
    service.claim(rid, AGENT)
    worker.run_pending()  # asks the stock room (none in stock), orders from the supplier
    ref = supplier.order_for(rid).ref
    clock.advance(days=1)
    supplier.advance(ref, OrderStatus.SHIPPED)
    clock.advance(minutes=15)
    worker.run_pending()  # the status poll sees SHIPPED
    clock.advance(days=1)
    supplier.advance(ref, OrderStatus.DELIVERED)
    clock.advance(minutes=15)
    worker.run_pending()  # the poll sees DELIVERED: the order task completes
    clock.advance(hours=2)
    service.complete_task(rid, "prepare", AGENT)
    clock.advance(minutes=30)
    service.ship(
        rid,
        "deliver",
        AGENT,
        tracking="internal mail, desk 4B",
        asset_tag="HEL-IT-0042",
        serial="F2LXK1234567",
    )
    clock.advance(hours=3)
    service.confirm_delivery(rid, requester.id)
    worker.run_pending()  # tells the CMDB of the asset, closes the request, notifies
    clock.advance(hours=1)
    service.record_feedback(rid, requester.id, 5, "Quick and painless, thanks!")
    return service, service.get(rid)


def _hours(value: timedelta) -> str:
    """Business time in hours and minutes (``40h``, ``21h10m``): a business day is not 24h."""
    minutes = int(value.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}m" if rest else f"{hours}h"


def describe(event: Event) -> str:
    """One line in plain words for an event (its type name when there is no phrase for it)."""
    return (
        _describe_request(event)
        or _describe_approval(event)
        or _describe_fulfilment(event)
        or _describe_stock(event)
        or _describe_upkeep(event)
        or event.type
    )


def _describe_request(event: Event) -> str | None:
    """Submission, approval, routing, closure and feedback."""
    match event:
        case ev.RequestSubmitted():
            return f"submitted {event.item or 'a request'} via {event.channel.value}"
        case ev.ApprovalRequested() if event.approvers:
            return "approval requested from " + ", ".join(event.approvers)
        case ev.ApprovalRequested():
            return "approval requested"
        case ev.RequestApproved():
            return "approved"
        case ev.RequestRejected():
            return f"rejected: {event.reason}"
        case ev.RequestAssigned():
            agent = f" / {event.agent}" if event.agent else ""
            return f"assigned to {event.group}{agent}"
        case ev.RequestClaimed():
            return f"claimed by {event.agent}"
        case ev.RequestCategorized():
            return f"categorized as {event.category}"
        case ev.RequestPrioritized():
            return (
                f"prioritized P{int(event.priority)} "
                f"(impact {event.impact.value}, urgency {event.urgency.value})"
            )
        case ev.RequestFulfilled():
            return "fulfilled"
        case ev.RequestClosed():
            return f"closed ({event.reason})" if event.reason else "closed"
        case ev.FeedbackRecorded():
            return f"rated {event.rating}/5: {event.comment}"
        case ev.RequestQueuedForTriage():
            return f"queued for triage by {event.group or 'the service desk'}"
        case ev.RequestTriaged():
            what = event.item or event.category or "a request"
            if event.rule == "suggestion":
                return f"triaged as {what} by suggestion ({event.confidence or 0:.2f})"
            return f"triaged as {what}"
        case ev.RequesterReplied():
            return f"reply {event.message_id} recorded"
        case ev.RequestCancelled():
            return f"cancelled: {event.reason}"
        case ev.RequestWaiting():
            return f"waiting: {event.reason}"
        case ev.RequestResumed():
            return "resumed"
        case ev.ReviewRequested():
            who = event.group or "the service desk"
            return f"review requested from {who} (rated {event.rating}/5)"
    return None


def _describe_approval(event: Event) -> str | None:
    """The stages of an approval policy."""
    match event:
        case ev.ApprovalStageStarted():
            return (
                f"stage {event.stage} started: {event.needed} of "
                f"{', '.join(event.approvers)} ({event.mode.value})"
            )
        case ev.ApprovalStageSkipped():
            return f"stage {event.stage} skipped: {event.reason}"
        case ev.ApprovalDelegated():
            return f"stage {event.stage}: {event.delegate} approves for {event.delegator}"
        case ev.ApprovalGiven():
            return f"approved stage {event.stage}"
        case ev.ApprovalStageCompleted():
            return f"stage {event.stage} completed"
        case ev.ApprovalReminded():
            return f"stage {event.stage}: reminded {', '.join(event.approvers)}"
        case ev.ApprovalExpired() if event.added:
            return f"stage {event.stage} expired: escalated to {', '.join(event.added)}"
        case ev.ApprovalExpired():
            return f"stage {event.stage} expired"
    return None


def _describe_fulfilment(event: Event) -> str | None:
    """The plan's tasks, supplier orders, delivery, notifications and the SLA clock."""
    match event:
        case ev.PlanStarted():
            left = f"; left out {', '.join(event.left_out)}" if event.left_out else ""
            return f"plan started: {', '.join(t.key for t in event.tasks)}{left}"
        case ev.TaskStarted():
            return f"task {event.task_key} started"
        case ev.TaskCompleted():
            return f"task {event.task_key} completed"
        case ev.TaskFailed():
            return f"task {event.task_key} failed: {event.reason}"
        case ev.TaskSkipped():
            return f"task {event.task_key} skipped: {event.reason}"
        case ev.SupplierOrderRequested():
            return f"order requested from {event.supplier_id}"
        case ev.SupplierOrderPlaced():
            return f"order placed with {event.supplier_id} as {event.ref}"
        case ev.SupplierOrderUpdated():
            return f"order {event.ref} is {event.status.value}"
        case ev.SupplierOrderCancelRequested():
            return f"cancel requested for order {event.ref or '(not yet placed)'}"
        case ev.ItemShipped():
            return f"shipped ({event.tracking})" if event.tracking else "shipped"
        case ev.ItemDelivered():
            return "receipt confirmed"
        case ev.NotificationRequested():
            return f"notify {event.notification.recipient}: {event.notification.subject}"
        case ev.RequesterNotified() | ev.NotificationSent():
            return f"notified {event.recipient} ({event.kind})"
        case ev.SlaStarted():
            return (
                f"SLA started: {_hours(event.target)} of business time, "
                f"due {event.due:%Y-%m-%d %H:%M}"
            )
        case ev.SlaStopped():
            return f"SLA stopped: {_hours(event.used)} used, {'met' if event.met else 'missed'}"
    return None


def _describe_upkeep(event: Event) -> str | None:
    """Effect attempts, automations, disputes and the SLA clock's pauses and levels."""
    match event:
        case ev.EffectAttempted():
            return f"calling the supplier (attempt {event.attempt}, effect {event.effect_id})"
        case ev.EffectAbandoned():
            return f"gave up effect {event.effect_id} ({event.effect_type}): {event.reason}"
        case ev.AutomationRequested():
            return f"automation requested for task {event.task_key}"
        case ev.DeliveryDisputed():
            return f"delivery of {event.task_key} disputed: {event.reason}"
        case ev.SlaPaused():
            return f"SLA paused: {_hours(event.used)} used"
        case ev.SlaResumed():
            return f"SLA resumed, due {event.due:%Y-%m-%d %H:%M}"
        case ev.SlaRetargeted():
            due = f", due {event.due:%Y-%m-%d %H:%M}" if event.due else ""
            return f"SLA retargeted for P{int(event.priority)}: {_hours(event.target)}{due}"
        case ev.SlaThresholdReached():
            return f"SLA {event.fraction:.0%} of the target used: {event.action.replace('_', ' ')}"
        case ev.SlaBreached():
            return f"SLA breached after {_hours(event.used)}"
        case ev.RequestEscalated():
            return f"escalated from {event.from_group or '-'} to {event.to_group or '-'}"
    return None


def _describe_stock(event: Event) -> str | None:
    """The stock room and the asset handed over."""
    match event:
        case ev.StockReservationRequested():
            return f"stock asked for: {event.quantity} x {event.item} at {event.location}"
        case ev.StockReserved():
            where = event.reservation.location
            return f"reserved from stock at {where} as {event.reservation.ref}"
        case ev.StockUnavailable():
            return "nothing in stock: the supplier's turn"
        case ev.StockReleaseRequested():
            return f"reservation {event.reservation.ref} to be given back"
        case ev.StockReleased():
            return f"reservation {event.reservation.ref} given back"
        case ev.AssetShipped():
            return f"device shipped: asset tag {event.asset_tag}, serial {event.serial}"
        case ev.AssetHandedOver():
            return f"asset {event.asset_tag or event.serial} handed over to {event.requester}"
        case ev.AssetRegistered():
            return "the asset handed over was told to the CMDB"
    return None


def timeline(events: Iterable[Event]) -> list[str]:
    """The readable timeline: time, actor, what happened, and the rule for automatic decisions."""
    lines = []
    for event in events:
        what = describe(event)
        rule = getattr(event, "rule", None)
        reason = getattr(event, "reason", "") if rule else ""
        # the reason only when it says more than the rule's name and the line itself
        if reason and (rule in reason or reason in what):
            reason = ""
        why = f"  [rule: {rule}" + (f"; {reason}" if reason else "") + "]" if rule else ""
        lines.append(f"{event.at:%Y-%m-%d %H:%M}  {event.actor:<18} {what}{why}")
    return lines
