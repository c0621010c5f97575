"""The handlers of what the outside world reports, recorded by the worker or a
supplier: supplier order updates and outcomes, automation results, failed effects,
attempts, delivered notifications, and SLA thresholds that fall due.

A retried outcome (its effect already settled) changes nothing; an outcome that comes
after the request or the task moved on is recorded, and a late supplier order is
cancelled. Whether an effect is still wanted is :mod:`~reqfulfill.lifecycle.wanted`'s
to say, here as in the worker.
"""

from __future__ import annotations

from collections.abc import Mapping

from reqfulfill.lifecycle.batch import Batch, Handler
from reqfulfill.lifecycle.clock import sla_used
from reqfulfill.lifecycle.command_types import (
    SYSTEM,
    AutomationSucceeded,
    Command,
    EffectFailed,
    FireSla,
    NotificationDelivered,
    OrderCancelled,
    OrderPlaced,
    RecordAttempt,
    RecordSupplierUpdate,
)
from reqfulfill.lifecycle.guards import require_internal
from reqfulfill.lifecycle.progress import advance, cancel_order, fail, notify, notify_group
from reqfulfill.lifecycle.table import WORKING
from reqfulfill.lifecycle.wanted import effect_task, task_effect_unwanted
from reqfulfill.model import events as ev
from reqfulfill.model._json import json_problem
from reqfulfill.model.enums import OrderStatus, TaskState
from reqfulfill.model.errors import ValidationError
from reqfulfill.model.request import Task

__all__ = ["HANDLERS"]


def _order_task(batch: Batch, supplier_id: str, ref: str) -> Task | None:
    for task in batch.draft.plan:
        if task.kind.orders and task.supplier == supplier_id and task.order_ref == ref:
            return task
    return None


def _record_supplier_update(batch: Batch, command: RecordSupplierUpdate) -> None:
    task = _order_task(batch, command.supplier_id, command.ref)
    if task is None:
        # an order this request no longer follows (its task was restarted and the old
        # order cancelled): updates for it are ignored, not refused
        return
    _apply_order_status(batch, task, command.status, command.actor)


def _apply_order_status(
    batch: Batch, task: Task, status: OrderStatus, actor: str, effect_id: str | None = None
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
    if batch.draft.state not in WORKING or task.state is not TaskState.IN_PROGRESS:
        return
    if status is OrderStatus.DELIVERED:
        batch.emit(ev.TaskCompleted, actor=actor, task_key=task.key)
        advance(batch)
    elif status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
        fail(batch, task, f"supplier reported the order {status.value}", actor, None)


def _order_placed(batch: Batch, command: OrderPlaced) -> None:
    require_internal(batch, command)
    request = batch.draft
    if command.effect_id in request.settled:
        return
    task = next(
        (t for t in request.plan if t.order_effect == command.effect_id and t.kind.orders),
        None,
    )
    if task is None:
        key = request.order_tasks.get(command.effect_id)
        if key is None:
            raise ValidationError.single("effect_id", command.effect_id, "no such order request")
        # the task was restarted and asked for a new order since: record this one and
        # cancel it
        old = request.task(key)
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
    draft = batch.draft
    task = draft.task(task.key)
    if task_effect_unwanted(draft.state, draft.approval, task) is not None:
        # skipped or cancelled while the order was in flight: compensate
        cancel_order(batch, task, command.actor)
    elif command.status is not OrderStatus.PLACED:
        _apply_order_status(batch, batch.draft.task(task.key), command.status, command.actor)


def _order_cancelled(batch: Batch, command: OrderCancelled) -> None:
    require_internal(batch, command)
    request = batch.draft
    if command.effect_id in request.settled:
        return
    task = next(
        (t for t in request.plan if command.effect_id in request.cancel_effects.get(t.key, ())),
        None,
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


def _automation_succeeded(batch: Batch, command: AutomationSucceeded) -> None:
    require_internal(batch, command)
    request = batch.draft
    if command.effect_id in request.settled:
        return
    task = effect_task(request.plan, command.effect_id)
    unwanted = task_effect_unwanted(request.state, request.approval, task)
    if unwanted is not None or task is None:
        # it ran, but the request moved on meanwhile (a cancel that committed after the
        # worker's last look): the history says so, and the result is not applied
        batch.emit(
            ev.EffectAbandoned,
            effect_id=command.effect_id,
            effect_type="AutomationRequested",
            reason=f"ran, but no longer wanted: {unwanted}; its result is not applied",
        )
        return
    bad = json_problem(command.result, "result")
    if bad is not None:
        reason = f"the automation's result is not JSON data: {bad}"
        fail(batch, task, reason, command.actor, command.effect_id)
        return
    batch.emit(
        ev.TaskCompleted,
        task_key=task.key,
        result=dict(command.result),
        effect_id=command.effect_id,
    )
    advance(batch)


def _effect_failed(batch: Batch, command: EffectFailed) -> None:
    require_internal(batch, command)
    request = batch.draft
    if command.effect_id in request.settled:
        return
    task = effect_task(request.plan, command.effect_id)
    if task is not None and task_effect_unwanted(request.state, request.approval, task) is None:
        fail(batch, task, command.reason, command.actor, command.effect_id)
        return
    # not a task's wanted effect: a notification, a cancel request, or an effect no
    # longer wanted (the worker abandons those with the reason); record that it was
    # given up so the history shows it
    batch.emit(
        ev.EffectAbandoned,
        effect_id=command.effect_id,
        effect_type=command.effect_type or "effect",
        reason=command.reason,
    )


def _record_attempt(batch: Batch, command: RecordAttempt) -> None:
    require_internal(batch, command)
    request = batch.draft
    if command.effect_id in request.settled:
        return
    before = request.attempted.get(command.effect_id, 0)
    if command.effect_id in request.order_tasks and not before:
        task = effect_task(request.plan, command.effect_id)
        if task_effect_unwanted(request.state, request.approval, task) is not None:
            # never sent and no longer wanted (cancelled since the worker looked):
            # nothing to attempt; the worker sees no attempt recorded and abandons it
            return
    attempt = before + 1
    batch.emit(ev.EffectAttempted, effect_id=command.effect_id, attempt=attempt)


def _notification_delivered(batch: Batch, command: NotificationDelivered) -> None:
    require_internal(batch, command)
    request = batch.draft
    if command.effect_id in request.settled:
        return
    note = request.pending_notifications.get(command.effect_id)
    if note is None:
        return
    cls = ev.RequesterNotified if note.recipient == request.requester.id else ev.NotificationSent
    batch.emit(cls, effect_id=command.effect_id, kind=note.kind, recipient=note.recipient)


def _fire_sla(batch: Batch, command: FireSla) -> None:
    require_internal(batch, command)
    policy = batch.context.sla
    request = batch.draft
    if policy is None or not request.sla.running or request.sla.target is None:
        return
    used = sla_used(request.sla, batch.context)
    target = request.sla.target
    for index, level in enumerate(policy.escalation):
        if index in batch.draft.sla.fired or used < target * level.at:
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
    if used >= target and not batch.draft.sla.breached:
        batch.emit(ev.SlaBreached, actor=SYSTEM, used=used)


def _escalation_action(batch: Batch, action: str, fraction: float) -> None:
    request = batch.draft
    percent = f"{fraction:.0%}"
    subject = f"SLA {percent} used on {request.id}"
    body = f"Request {request.id} ({request.item or 'request'}) has used {percent} of its SLA."
    if action == "notify":
        notify_group(batch, "sla_warning", subject, body)
        return
    group = request.group
    escalates_to = None
    catalog = batch.context.catalog
    if group is not None and catalog.has_group(group):
        escalates_to = catalog.group(group).escalates_to
    if action == "notify_manager":
        recipient = f"group:{escalates_to}" if escalates_to else request.requester.manager
        if recipient:
            notify(batch, "sla_manager_warning", recipient, subject, body)
        return
    # escalate
    batch.emit(
        ev.RequestEscalated,
        actor=SYSTEM,
        from_group=group,
        to_group=escalates_to,
        level=request.sla.level + 1,
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
    notify_group(batch, "escalated", f"Escalated: {request.id}", body)


HANDLERS: Mapping[type[Command], Handler] = {
    RecordSupplierUpdate: _record_supplier_update,
    OrderPlaced: _order_placed,
    OrderCancelled: _order_cancelled,
    AutomationSucceeded: _automation_succeeded,
    EffectFailed: _effect_failed,
    RecordAttempt: _record_attempt,
    NotificationDelivered: _notification_delivered,
    FireSla: _fire_sla,
}
"""Per command type, its handler."""
