"""The handlers of the commands on the plan's tasks and the delivery: start,
complete, fail and skip a task, ship, confirm or dispute the delivery.
"""

from __future__ import annotations

from collections.abc import Mapping

from reqfulfill.lifecycle.batch import Batch, Handler
from reqfulfill.lifecycle.command_types import (
    Command,
    CompleteTask,
    ConfirmDelivery,
    DisputeDelivery,
    FailTask,
    Ship,
    SkipTask,
    StartTask,
)
from reqfulfill.lifecycle.guards import (
    delivery_task,
    plan_task,
    refuse,
    require_requester,
    require_task_member,
)
from reqfulfill.lifecycle.progress import advance, cancel_order, fail, notify, notify_group, start
from reqfulfill.lifecycle.stock import release_held
from reqfulfill.model import events as ev
from reqfulfill.model.enums import TaskKind, TaskState
from reqfulfill.model.errors import ValidationError

__all__ = ["HANDLERS"]


def _start_task(batch: Batch, command: StartTask) -> None:
    task = plan_task(batch, command.task_key)
    require_task_member(batch, command, task)
    done = batch.draft.finished_keys()
    if task.state is TaskState.FAILED or (
        task.state is TaskState.PENDING and all(d in done for d in task.after)
    ):
        start(batch, task, actor=command.actor)
        return
    if task.state is TaskState.IN_PROGRESS:
        return  # tasks start by themselves; starting a started task changes nothing
    raise refuse(batch, command, f"task {task.key!r} is {task.state.value}")


def _complete_task(batch: Batch, command: CompleteTask) -> None:
    task = plan_task(batch, command.task_key)
    require_task_member(batch, command, task)
    if task.state is not TaskState.IN_PROGRESS:
        raise refuse(batch, command, f"task {task.key!r} is {task.state.value}")
    if task.kind is not TaskKind.MANUAL:
        raise refuse(
            batch,
            command,
            f"task {task.key!r} is a {task.kind.value} task: it completes by itself "
            "(skip it to fulfil it another way)",
        )
    batch.emit(ev.TaskCompleted, task_key=task.key)
    advance(batch)


def _fail_task(batch: Batch, command: FailTask) -> None:
    task = plan_task(batch, command.task_key)
    require_task_member(batch, command, task)
    if task.state is not TaskState.IN_PROGRESS:
        raise refuse(batch, command, f"task {task.key!r} is {task.state.value}")
    fail(batch, task, command.reason, command.actor, None)


def _skip_task(batch: Batch, command: SkipTask) -> None:
    task = plan_task(batch, command.task_key)
    require_task_member(batch, command, task)
    if task.finished:
        raise refuse(batch, command, f"task {task.key!r} is already {task.state.value}")
    if not command.reason.strip():
        raise ValidationError.single("reason", command.reason, "skipping a task needs a reason")
    open_order = task.order_open
    batch.emit(ev.TaskSkipped, task_key=task.key, reason=command.reason)
    if open_order:
        cancel_order(batch, task, command.actor)
    release_held(batch, command.actor, batch.draft.task(task.key))
    advance(batch)


def _ship(batch: Batch, command: Ship) -> None:
    task = plan_task(batch, command.task_key)
    require_task_member(batch, command, task)
    if task.kind is not TaskKind.DELIVERY:
        raise refuse(batch, command, f"task {task.key!r} is not a delivery task")
    if task.state is not TaskState.IN_PROGRESS:
        raise refuse(batch, command, f"task {task.key!r} is {task.state.value}")
    batch.emit(ev.ItemShipped, task_key=task.key, tracking=command.tracking)
    if command.asset_tag is not None or command.serial is not None:
        batch.emit(
            ev.AssetShipped, task_key=task.key, asset_tag=command.asset_tag, serial=command.serial
        )
    request = batch.draft
    notify(
        batch,
        "item_shipped",
        request.requester.id,
        f"Your {request.item or 'item'} is on its way",
        f"Tracking: {command.tracking}" if command.tracking else "It has been shipped.",
    )


def _confirm_delivery(batch: Batch, command: ConfirmDelivery) -> None:
    require_requester(batch, command)
    task = delivery_task(batch, command)
    batch.emit(ev.ItemDelivered, task_key=task.key)
    batch.emit(ev.TaskCompleted, task_key=task.key)
    if task.shipped and (task.asset_tag is not None or task.serial is not None):
        request = batch.draft
        batch.emit(
            ev.AssetHandedOver,
            task_key=task.key,
            asset_tag=task.asset_tag,
            serial=task.serial,
            item=request.item,
            requester=request.requester.id,
        )
    advance(batch)


def _dispute_delivery(batch: Batch, command: DisputeDelivery) -> None:
    require_requester(batch, command)
    task = delivery_task(batch, command)
    if not task.shipped:
        raise refuse(batch, command, "the item has not been shipped yet")
    batch.emit(ev.DeliveryDisputed, task_key=task.key, reason=command.reason)
    notify_group(
        batch,
        "delivery_disputed",
        f"Delivery disputed on {batch.request_id}",
        f"The requester says: {command.reason}",
    )


HANDLERS: Mapping[type[Command], Handler] = {
    StartTask: _start_task,
    CompleteTask: _complete_task,
    FailTask: _fail_task,
    SkipTask: _skip_task,
    Ship: _ship,
    ConfirmDelivery: _confirm_delivery,
    DisputeDelivery: _dispute_delivery,
}
"""Per command type, its handler."""
