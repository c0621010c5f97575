"""Plan progress and notices, shared by the handlers: start a task (asking the
supplier, the inventory or the automation), start whatever is ready and fulfil the request when all
is done, fail a task, cancel an open supplier order, notify a person or a group.
"""

from __future__ import annotations

from reqfulfill.lifecycle.batch import Batch
from reqfulfill.lifecycle.clock import stop_sla
from reqfulfill.lifecycle.command_types import SYSTEM
from reqfulfill.lifecycle.plan import supplier_order
from reqfulfill.lifecycle.stock import release_held, request_reservation
from reqfulfill.lifecycle.table import FINISHED, S
from reqfulfill.model import events as ev
from reqfulfill.model.enums import TaskKind, TaskState
from reqfulfill.model.request import Task
from reqfulfill.model.supplier import Notification

__all__ = [
    "advance",
    "cancel_order",
    "fail",
    "notify",
    "notify_group",
    "request_order",
    "start",
]


def start(batch: Batch, task: Task, actor: str = SYSTEM) -> None:
    """Start ``task`` (or restart it after a failure): a supplier task asks for a new
    order (cancelling the old one if still open), a ``stock_or_order`` task asks the
    inventory (giving back a reservation it still holds), an automated task for its
    run."""
    if task.kind.orders and task.order_ref is not None and task.order_open:
        # a restart asks for a new order: the old one must not be left open at the supplier
        cancel_order(batch, task, actor)
    if task.reservation is not None:
        release_held(batch, actor, task)
    batch.emit(ev.TaskStarted, actor=actor, task_key=task.key)
    if task.kind is TaskKind.SUPPLIER_ORDER:
        request_order(batch, task, actor)
    elif task.kind is TaskKind.STOCK_OR_ORDER:
        request_reservation(batch, task, actor)
    elif task.kind is TaskKind.AUTOMATED:
        batch.emit(ev.AutomationRequested, actor=actor, task_key=task.key)


def request_order(batch: Batch, task: Task, actor: str) -> None:
    """Ask for ``task``'s supplier order (a supplier task, or a ``stock_or_order`` task
    with nothing in stock)."""
    order = supplier_order(batch.draft, batch.context.catalog, task)
    batch.emit(
        ev.SupplierOrderRequested,
        actor=actor,
        task_key=task.key,
        supplier_id=order.supplier_id,
        order=order,
    )


def advance(batch: Batch) -> None:
    """Start every task whose ``after`` tasks are done; fulfil when all are done."""
    request = batch.draft
    if request.state is not S.IN_FULFILLMENT:
        return
    while True:
        plan = request.plan  # the tasks as they are before these start
        done = {t.key for t in plan if t.state in FINISHED}
        ready = [t for t in plan if t.state is TaskState.PENDING and done.issuperset(t.after)]
        if not ready:
            break
        for task in ready:
            start(batch, task)
    if plan and all(t.state in FINISHED for t in plan):
        rid = request.id
        subject = f"Your request {rid} is fulfilled"
        body = f"Everything for your request {rid} ({request.item or 'request'}) is done."
        batch.emit(ev.RequestFulfilled, actor=SYSTEM)
        stop_sla(batch)
        notify(batch, "request_fulfilled", request.requester.id, subject, body)


def notify(batch: Batch, kind: str, recipient: str, subject: str, body: str) -> None:
    """Ask for a notification to ``recipient``; one to someone other than the
    requester waits for the SLA calendar to open when the policy holds notifications."""
    note = Notification(kind, recipient, batch.request_id, subject, body)  # by position
    policy = batch.context.sla
    not_before = None
    if policy is not None and policy.hold_notifications:
        # no escalation mails to agents at midnight: hold them until the calendar opens
        # (the requester hears about their own request at once)
        now = batch.context.now
        if recipient != batch.draft.requester.id and not policy.calendar.is_open(now):
            not_before = policy.calendar.next_open(now)
    batch.emit(ev.NotificationRequested, actor=SYSTEM, notification=note, not_before=not_before)


def notify_group(batch: Batch, kind: str, subject: str, body: str) -> None:
    """Notify the assigned group, and the assigned agent if there is one."""
    assignment = batch.draft.assignment
    if assignment is None:
        return
    notify(batch, kind, f"group:{assignment.group}", subject, body)
    if assignment.agent:
        notify(batch, kind, assignment.agent, subject, body)


def fail(batch: Batch, task: Task, reason: str, actor: str, effect_id: str | None) -> None:
    """Mark ``task`` failed and tell the group."""
    batch.emit(ev.TaskFailed, actor=actor, task_key=task.key, reason=reason, effect_id=effect_id)
    notify_group(
        batch,
        "task_failed",
        f"Task failed on {batch.request_id}: {task.title}",
        f"Task {task.key!r} ({task.title}) failed: {reason}. The request waits for you: "
        "restart the task, skip it (done another way), or cancel the request.",
    )


def cancel_order(batch: Batch, task: Task, actor: str) -> None:
    """Ask the supplier to cancel ``task``'s order."""
    assert task.supplier is not None
    batch.emit(
        ev.SupplierOrderCancelRequested,
        actor=actor,
        task_key=task.key,
        supplier_id=task.supplier,
        ref=task.order_ref,
        order_effect=task.order_effect,
    )
