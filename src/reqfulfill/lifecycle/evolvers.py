"""The evolvers: for each event type, what the event changes on the request.

An evolver gets the request as it stands before the event (a
:class:`~reqfulfill.lifecycle.draft.RequestDraft`, mutable) and the event, and sets
the fields the event changes on the draft, each to a new value: it never changes a
value the draft holds (a task, a mapping) in place, since the frozen states share
them. The state change itself (``state``, ``version``, ``updated_at``) is the evolve
kernel's (:mod:`reqfulfill.lifecycle.fold`). An evolver that raises (a task the
plan lacks) may leave the draft half changed: the kernel's callers drop the draft then.

:data:`EVOLVERS` is the table event type -> evolver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reqfulfill.lifecycle.draft import RequestDraft
from reqfulfill.lifecycle.table import S
from reqfulfill.model import events as ev
from reqfulfill.model.approval import StageState, StageStatus, current_stage
from reqfulfill.model.enums import TaskKind, TaskState
from reqfulfill.model.errors import TransitionError
from reqfulfill.model.request import Approval, Assignment, Feedback, SlaStatus, Task

__all__ = ["EVOLVERS", "Evolver", "plan_with"]

Evolver = Callable[[RequestDraft, Any], None]
"""An evolver: sets what the event (second argument) changes on the draft."""


def _same(d: RequestDraft, e: ev.Event) -> None:
    """Events that change nothing but the version (the kernel's part)."""


def _no_task(d: RequestDraft, key: str) -> TransitionError:
    return TransitionError(d.id, d.state, "evolve", f"no task {key!r} in the plan")


def plan_with(d: RequestDraft, key: str, **changes: Any) -> tuple[Task, ...]:
    """The draft's plan with task ``key`` changed (``TransitionError`` if it has none)."""
    plan: list[Task] = []
    found = False
    for task in d.plan:
        if task.key == key:
            task = task.replace(**changes)
            found = True
        plan.append(task)
    if not found:
        raise _no_task(d, key)
    return tuple(plan)


def _task_of(d: RequestDraft, key: str) -> Task:
    for task in d.plan:
        if task.key == key:
            return task
    raise _no_task(d, key)


def _settle(d: RequestDraft, effect_id: str | None) -> None:
    if effect_id is not None:
        d.settled = d.settled | {effect_id}


# -- routing ---------------------------------------------------------------------------


def _e_approval_requested(d: RequestDraft, e: ev.ApprovalRequested) -> None:
    d.approvers = e.approvers


def _e_approved(d: RequestDraft, e: ev.RequestApproved) -> None:
    d.approval = Approval(True, e.actor, e.at)


def _e_rejected(d: RequestDraft, e: ev.RequestRejected) -> None:
    d.approval = Approval(False, e.actor, e.at, e.reason)
    if current_stage(d.approval_stages) is not None:
        _change_stage(d, state=StageState.REJECTED, reason=e.reason)


# -- approval stages -------------------------------------------------------------------


def _change_stage(d: RequestDraft, **changes: Any) -> None:
    """Change the pending stage (``TransitionError`` if none is pending)."""
    stages = list(d.approval_stages)
    for index in range(len(stages) - 1, -1, -1):
        if stages[index].state is StageState.PENDING:
            stages[index] = stages[index].replace(**changes)
            d.approval_stages = tuple(stages)
            return
    raise TransitionError(d.id, d.state, "evolve", "no approval stage is pending")


def _pending_stage(d: RequestDraft) -> StageStatus:
    stage = current_stage(d.approval_stages)
    if stage is None:
        raise TransitionError(d.id, d.state, "evolve", "no approval stage is pending")
    return stage


def _e_stage_started(d: RequestDraft, e: ev.ApprovalStageStarted) -> None:
    stage = StageStatus(
        key=e.stage,
        state=StageState.PENDING,
        policy=e.policy,
        approvers=e.approvers,
        mode=e.mode,
        needed=e.needed,
        started_at=e.at,
        remind_at=e.remind_at,
        expire_at=e.expire_at,
    )
    d.approval_stages = (*d.approval_stages, stage)
    d.approvers = e.approvers


def _e_stage_skipped(d: RequestDraft, e: ev.ApprovalStageSkipped) -> None:
    stage = StageStatus(key=e.stage, state=StageState.SKIPPED, policy=e.policy, reason=e.reason)
    d.approval_stages = (*d.approval_stages, stage)


def _e_approval_given(d: RequestDraft, e: ev.ApprovalGiven) -> None:
    stage = _pending_stage(d)
    if e.actor not in stage.approved_by:
        _change_stage(d, approved_by=(*stage.approved_by, e.actor))


def _e_stage_completed(d: RequestDraft, e: ev.ApprovalStageCompleted) -> None:
    _change_stage(d, state=StageState.DONE, remind_at=None, expire_at=None)


def _e_reminded(d: RequestDraft, e: ev.ApprovalReminded) -> None:
    _change_stage(d, reminded=True)


def _e_expired(d: RequestDraft, e: ev.ApprovalExpired) -> None:
    stage = _pending_stage(d)
    added = tuple(a for a in e.added if a not in stage.approvers)
    approvers = (*stage.approvers, *added)
    _change_stage(d, approvers=approvers, expire_at=e.expire_at)
    d.approvers = approvers


def _e_triaged(d: RequestDraft, e: ev.RequestTriaged) -> None:
    manual = set(d.manual)
    if e.item is not None:
        d.item = e.item
        manual.add("item")
    if e.category is not None:
        d.category = e.category
        manual.add("category")
    if e.impact is not None:
        d.impact = e.impact
        manual.add("impact")
    if e.urgency is not None:
        d.urgency = e.urgency
        manual.add("urgency")
    d.manual = tuple(sorted(manual))


def _e_assigned(d: RequestDraft, e: ev.RequestAssigned) -> None:
    d.assignment = Assignment(e.group, e.agent)
    if e.rule == "manual" and "group" not in d.manual:
        d.manual = tuple(sorted({*d.manual, "group"}))


def _e_claimed(d: RequestDraft, e: ev.RequestClaimed) -> None:
    assert d.assignment is not None
    d.assignment = Assignment(d.assignment.group, e.agent)


def _e_categorized(d: RequestDraft, e: ev.RequestCategorized) -> None:
    d.category = e.category


def _e_prioritized(d: RequestDraft, e: ev.RequestPrioritized) -> None:
    d.impact, d.urgency, d.priority = e.impact, e.urgency, e.priority
    if e.rule == "manual" and not {"impact", "urgency"} <= set(d.manual):
        # a priority set by hand survives routing at approval or after triage
        d.manual = tuple(sorted({*d.manual, "impact", "urgency"}))


# -- the plan --------------------------------------------------------------------------


def _e_plan_started(d: RequestDraft, e: ev.PlanStarted) -> None:
    d.plan = tuple(  # by position: Task's first six fields
        Task(t.key, t.kind, t.title, t.after, t.group, t.supplier) for t in e.tasks
    )


def _e_task_started(d: RequestDraft, e: ev.TaskStarted) -> None:
    d.plan = plan_with(d, e.task_key, state=TaskState.IN_PROGRESS, reason="", shipped=False)


def _e_task_completed(d: RequestDraft, e: ev.TaskCompleted) -> None:
    d.plan = plan_with(d, e.task_key, state=TaskState.DONE, result=e.result)
    _settle(d, e.effect_id)


def _e_task_failed(d: RequestDraft, e: ev.TaskFailed) -> None:
    d.plan = plan_with(d, e.task_key, state=TaskState.FAILED, reason=e.reason)
    _settle(d, e.effect_id)


def _e_task_skipped(d: RequestDraft, e: ev.TaskSkipped) -> None:
    d.plan = plan_with(d, e.task_key, state=TaskState.SKIPPED, reason=e.reason)


def _e_order_requested(d: RequestDraft, e: ev.SupplierOrderRequested) -> None:
    task = _task_of(d, e.task_key)
    changes: dict[str, Any] = {
        "order_effect": e.event_id,
        "order_ref": None,
        "order_status": None,
        "attempts": task.attempts + 1,
    }
    if task.kind is TaskKind.STOCK_OR_ORDER:
        changes["source"] = "supplier"  # nothing was in stock
    d.plan = plan_with(d, e.task_key, **changes)
    d.order_tasks = {**d.order_tasks, e.event_id: e.task_key}


def _e_reservation_requested(d: RequestDraft, e: ev.StockReservationRequested) -> None:
    """The task's current effect is the reservation (an earlier one is superseded);
    ``order_tasks`` maps it to the task, as it does an order."""
    attempts = _task_of(d, e.task_key).attempts + 1
    d.plan = plan_with(
        d,
        e.task_key,
        order_effect=e.event_id,
        order_ref=None,
        order_status=None,
        source=None,
        reservation=None,
        reserved_by=None,
        attempts=attempts,
    )
    d.order_tasks = {**d.order_tasks, e.event_id: e.task_key}


def _e_stock_reserved(d: RequestDraft, e: ev.StockReserved) -> None:
    if _task_of(d, e.task_key).order_effect == e.effect_id:
        d.plan = plan_with(
            d, e.task_key, source="stock", reservation=e.reservation, reserved_by=e.plugin
        )
    _settle(d, e.effect_id)


def _e_stock_unavailable(d: RequestDraft, e: ev.StockUnavailable) -> None:
    _settle(d, e.effect_id)


def _e_release_requested(d: RequestDraft, e: ev.StockReleaseRequested) -> None:
    """The reservation is on its way back: the task holds it no more (when it is the
    task's: another plugin's answer under the same key may be equal to it)."""
    task = _task_of(d, e.task_key)
    if task.reservation == e.reservation and task.reserved_by == e.plugin:
        d.plan = plan_with(d, e.task_key, reservation=None)


def _e_settled(d: RequestDraft, e: ev.StockReleased | ev.AssetRegistered) -> None:
    _settle(d, e.effect_id)


def _e_automation_requested(d: RequestDraft, e: ev.AutomationRequested) -> None:
    attempts = _task_of(d, e.task_key).attempts + 1
    d.plan = plan_with(d, e.task_key, order_effect=e.event_id, attempts=attempts)


def _e_order_placed(d: RequestDraft, e: ev.SupplierOrderPlaced) -> None:
    if not e.superseded:
        d.plan = plan_with(d, e.task_key, order_ref=e.ref, order_status=e.status)
    _settle(d, e.effect_id)


def _e_order_updated(d: RequestDraft, e: ev.SupplierOrderUpdated) -> None:
    if _task_of(d, e.task_key).order_ref == e.ref:
        d.plan = plan_with(d, e.task_key, order_status=e.status)
    _settle(d, e.effect_id)


def _e_cancel_requested(d: RequestDraft, e: ev.SupplierOrderCancelRequested) -> None:
    effects = dict(d.cancel_effects)
    effects[e.task_key] = (*effects.get(e.task_key, ()), e.event_id)
    d.cancel_effects = effects


def _e_shipped(d: RequestDraft, e: ev.ItemShipped) -> None:
    d.plan = plan_with(
        d, e.task_key, shipped=True, tracking=e.tracking, asset_tag=None, serial=None
    )


def _e_asset_shipped(d: RequestDraft, e: ev.AssetShipped) -> None:
    d.plan = plan_with(d, e.task_key, asset_tag=e.asset_tag, serial=e.serial)


def _e_delivered(d: RequestDraft, e: ev.ItemDelivered) -> None:
    d.delivery_confirmed = True


def _e_disputed(d: RequestDraft, e: ev.DeliveryDisputed) -> None:
    d.plan = plan_with(d, e.task_key, shipped=False, reason=e.reason)


# -- the request's state ---------------------------------------------------------------


def _e_fulfilled(d: RequestDraft, e: ev.RequestFulfilled) -> None:
    d.fulfilled_at = e.at


def _e_closed(d: RequestDraft, e: ev.RequestClosed) -> None:
    d.closed_at = e.at


def _e_cancelled(d: RequestDraft, e: ev.RequestCancelled) -> None:
    d.cancel_reason = e.reason


def _e_waiting(d: RequestDraft, e: ev.RequestWaiting) -> None:
    d.waiting_reason = e.reason
    d.resume_to = d.state  # the kernel sets WAITING after this


def _e_resumed(d: RequestDraft, e: ev.RequestResumed) -> None:
    d.state = d.resume_to or S.IN_FULFILLMENT
    d.waiting_reason = None
    d.resume_to = None


def _e_feedback(d: RequestDraft, e: ev.FeedbackRecorded) -> None:
    d.feedback = Feedback(e.rating, e.comment, e.at)


# -- effects ---------------------------------------------------------------------------


def _e_notification_requested(d: RequestDraft, e: ev.NotificationRequested) -> None:
    d.pending_notifications = {**d.pending_notifications, e.event_id: e.notification}


def _e_settled_notice(
    d: RequestDraft, e: ev.NotificationSent | ev.RequesterNotified | ev.EffectAbandoned
) -> None:
    """A notification went out or was given up (an abandoned effect of another kind
    leaves the pending notifications as they are): its effect is settled."""
    pending = dict(d.pending_notifications)
    pending.pop(e.effect_id, None)
    d.pending_notifications = pending
    _settle(d, e.effect_id)


def _e_attempted(d: RequestDraft, e: ev.EffectAttempted) -> None:
    d.attempted = {**d.attempted, e.effect_id: e.attempt}


# -- the SLA clock ---------------------------------------------------------------------


def _e_replied(d: RequestDraft, e: ev.RequesterReplied) -> None:
    d.messages = (*d.messages, e.message_id)


def _e_sla_started(d: RequestDraft, e: ev.SlaStarted) -> None:
    d.sla = SlaStatus(target=e.target, due=e.due, used_at=e.at)


def _e_sla_paused(d: RequestDraft, e: ev.SlaPaused) -> None:
    d.sla = d.sla.replace(paused=True, used=e.used, used_at=e.at, due=None)


def _e_sla_resumed(d: RequestDraft, e: ev.SlaResumed) -> None:
    d.sla = d.sla.replace(paused=False, used_at=e.at, due=e.due)


def _e_sla_retargeted(d: RequestDraft, e: ev.SlaRetargeted) -> None:
    d.sla = d.sla.replace(target=e.target, due=e.due, used=e.used, used_at=e.at)


def _e_sla_threshold(d: RequestDraft, e: ev.SlaThresholdReached) -> None:
    d.sla = d.sla.replace(fired=(*d.sla.fired, e.level), used=e.used, used_at=e.at)


def _e_sla_breached(d: RequestDraft, e: ev.SlaBreached) -> None:
    d.sla = d.sla.replace(breached=True, used=e.used, used_at=e.at)


def _e_sla_stopped(d: RequestDraft, e: ev.SlaStopped) -> None:
    sla = d.sla
    d.sla = sla.replace(
        stopped=True, used=e.used, used_at=e.at, due=None, breached=sla.breached or not e.met
    )


def _e_escalated(d: RequestDraft, e: ev.RequestEscalated) -> None:
    d.sla = d.sla.replace(level=e.level)


EVOLVERS: Mapping[type[ev.Event], Evolver] = {
    ev.RequestSubmitted: _same,
    ev.ApprovalRequested: _e_approval_requested,
    ev.RequestApproved: _e_approved,
    ev.RequestRejected: _e_rejected,
    ev.RequestQueuedForTriage: _same,
    ev.RequestTriaged: _e_triaged,
    ev.RequestAssigned: _e_assigned,
    ev.RequestClaimed: _e_claimed,
    ev.RequestCategorized: _e_categorized,
    ev.RequestPrioritized: _e_prioritized,
    ev.PlanStarted: _e_plan_started,
    ev.TaskStarted: _e_task_started,
    ev.TaskCompleted: _e_task_completed,
    ev.TaskFailed: _e_task_failed,
    ev.TaskSkipped: _e_task_skipped,
    ev.SupplierOrderRequested: _e_order_requested,
    ev.AutomationRequested: _e_automation_requested,
    ev.SupplierOrderPlaced: _e_order_placed,
    ev.SupplierOrderUpdated: _e_order_updated,
    ev.SupplierOrderCancelRequested: _e_cancel_requested,
    ev.StockReservationRequested: _e_reservation_requested,
    ev.StockReserved: _e_stock_reserved,
    ev.StockUnavailable: _e_stock_unavailable,
    ev.StockReleaseRequested: _e_release_requested,
    ev.StockReleased: _e_settled,
    ev.ItemShipped: _e_shipped,
    ev.AssetShipped: _e_asset_shipped,
    ev.AssetHandedOver: _same,
    ev.AssetRegistered: _e_settled,
    ev.ItemDelivered: _e_delivered,
    ev.DeliveryDisputed: _e_disputed,
    ev.RequestFulfilled: _e_fulfilled,
    ev.RequestClosed: _e_closed,
    ev.RequestCancelled: _e_cancelled,
    ev.RequestWaiting: _e_waiting,
    ev.RequestResumed: _e_resumed,
    ev.NotificationRequested: _e_notification_requested,
    ev.NotificationSent: _e_settled_notice,
    ev.RequesterNotified: _e_settled_notice,
    ev.SlaStarted: _e_sla_started,
    ev.SlaPaused: _e_sla_paused,
    ev.SlaResumed: _e_sla_resumed,
    ev.SlaRetargeted: _e_sla_retargeted,
    ev.SlaThresholdReached: _e_sla_threshold,
    ev.SlaBreached: _e_sla_breached,
    ev.SlaStopped: _e_sla_stopped,
    ev.RequestEscalated: _e_escalated,
    ev.ApprovalStageStarted: _e_stage_started,
    ev.ApprovalStageSkipped: _e_stage_skipped,
    ev.ApprovalDelegated: _same,
    ev.ApprovalGiven: _e_approval_given,
    ev.ApprovalStageCompleted: _e_stage_completed,
    ev.ApprovalReminded: _e_reminded,
    ev.ApprovalExpired: _e_expired,
    ev.FeedbackRecorded: _e_feedback,
    ev.EffectAttempted: _e_attempted,
    ev.EffectAbandoned: _e_settled_notice,
    ev.ReviewRequested: _same,
    ev.RequesterReplied: _e_replied,
}
"""Per event type, its evolver."""

_missing = set(ev.EVENT_TYPES.values()) - set(EVOLVERS)
if _missing:  # pragma: no cover - caught by the import itself
    raise AssertionError(f"events without an evolver: {_missing}")
