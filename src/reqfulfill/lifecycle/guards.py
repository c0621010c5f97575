"""Who may run a command, and on which task: the checks handlers make before they
emit, raising :class:`~reqfulfill.model.errors.AuthorizationError`,
:class:`~reqfulfill.model.errors.TransitionError` or
:class:`~reqfulfill.model.errors.ValidationError` (and writing nothing).
"""

from __future__ import annotations

from reqfulfill.lifecycle.batch import Batch
from reqfulfill.lifecycle.command_types import INTERNAL_ACTORS, SYSTEM, WORKER, Command
from reqfulfill.model.enums import TaskKind, TaskState
from reqfulfill.model.errors import AuthorizationError, TransitionError, ValidationError
from reqfulfill.model.request import Task

__all__ = [
    "approvers",
    "delivery_task",
    "deny",
    "plan_task",
    "refuse",
    "require_group_member",
    "require_internal",
    "require_requester",
    "require_task_member",
    "responsible_group",
]


def deny(batch: Batch, command: Command, reason: str) -> AuthorizationError:
    """The error for an actor who may not run ``command``."""
    return AuthorizationError(command.actor, command.name, batch.request_id, reason)


def refuse(batch: Batch, command: Command, reason: str) -> TransitionError:
    """The error for a command the request's state does not allow."""
    return TransitionError(batch.request_id, batch.draft.state, command.name, reason)


def require_group_member(batch: Batch, command: Command, group: str | None) -> None:
    """The actor must belong to ``group`` (to any support group when it is None)."""
    if group is None:
        if batch.context.is_any_member(command.actor):
            return
        raise deny(batch, command, "not a member of any support group")
    if not batch.context.is_member(group, command.actor):
        raise deny(batch, command, f"not a member of group {group!r}")


def responsible_group(batch: Batch) -> str | None:
    """The assigned group; before assignment, the item's group or the triage group."""
    request = batch.draft
    if request.group is not None:
        return request.group
    catalog = batch.context.catalog
    if request.item is not None and catalog.has_item(request.item):
        return catalog.item(request.item).group
    return catalog.triage_group


def require_internal(batch: Batch, command: Command) -> None:
    """Effect outcomes and timers are recorded by the worker, never by a person."""
    if command.actor not in INTERNAL_ACTORS:
        raise deny(batch, command, f"only the worker ({WORKER!r} or {SYSTEM!r}) may do this")


def require_requester(batch: Batch, command: Command) -> None:
    """Only the requester may run ``command``."""
    if command.actor != batch.draft.requester.id:
        raise deny(batch, command, "only the requester may do this")


def approvers(batch: Batch) -> tuple[str, ...]:
    """Who may approve: the requester's manager and the context's approvers, never the
    requester."""
    request = batch.draft
    who = set(batch.context.approvers)
    if request.requester.manager:
        who.add(request.requester.manager)
    who.discard(request.requester.id)
    return tuple(sorted(who))


def plan_task(batch: Batch, key: str) -> Task:
    """The plan's task ``key``; a ``ValidationError`` naming the tasks if none."""
    plan = batch.draft.plan
    for task in plan:
        if task.key == key:
            return task
    known = ", ".join(t.key for t in plan) or "none"
    raise ValidationError.single("task_key", key, f"no task {key!r} in the plan (tasks: {known})")


def require_task_member(batch: Batch, command: Command, task: Task) -> None:
    """The actor must belong to the task's group (else the responsible group)."""
    require_group_member(batch, command, task.group or responsible_group(batch))


def delivery_task(batch: Batch, command: Command) -> Task:
    """The delivery task in progress; refused if there is none."""
    for task in batch.draft.plan:
        if task.kind is TaskKind.DELIVERY and task.state is TaskState.IN_PROGRESS:
            return task
    raise refuse(batch, command, "no delivery is in progress")
