"""What a requester may see of their request: :class:`Progress`, read from its state.

Every answer here is a question of the request's state alone (no store, no
clock), so it is written once and asked by :meth:`FulfillmentService.progress
<reqfulfill.FulfillmentService.progress>` or by anything else holding a
:class:`~reqfulfill.model.request.ServiceRequest`.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from reqfulfill.model.approval import current_stage, pending_approvers
from reqfulfill.model.enums import RequestState, TaskKind, TaskState
from reqfulfill.model.request import ServiceRequest, Task

__all__ = [
    "Progress",
    "coming_from",
    "failure_words",
    "progress_of",
    "state_words",
    "waiting_on",
]


@attrs.frozen
class Progress:
    """What a requester may see of their request.

    ``failed`` holds the titles of the tasks that failed and wait for the service
    desk (restart or skip); while there are any, ``summary`` says what failed and
    ``waiting_on`` who must act.
    """

    request_id: str
    state: str
    summary: str
    done: tuple[str, ...]
    open: tuple[str, ...]
    waiting_on: str | None
    expected_by: datetime | None
    failed: tuple[str, ...] = ()
    coming_from: str | None = None
    """What is on its way and where it comes from (stock or a supplier), if anything."""


_STATE_WORDS = {
    RequestState.SUBMITTED: "received",
    RequestState.AWAITING_APPROVAL: "waiting for approval",
    RequestState.REJECTED: "rejected",
    RequestState.APPROVED: "approved",
    RequestState.TRIAGE: "being reviewed by the service desk",
    RequestState.IN_FULFILLMENT: "being worked on",
    RequestState.WAITING: "on hold",
    RequestState.FULFILLED: "done, about to be closed",
    RequestState.CLOSED: "closed",
    RequestState.CANCELLED: "cancelled",
}


def state_words(state: RequestState) -> str:
    """A request state in a requester's words.

    >>> state_words(RequestState.WAITING)
    'on hold'
    """
    return _STATE_WORDS[state]


def waiting_on(request: ServiceRequest) -> str | None:
    """Who or what the request waits for, in a requester's words; ``None`` when it
    waits for nothing in particular.

    Approvers while it awaits approval; the reason while it is on hold; who must
    restart or skip a failed task; else the first task in progress: the stock room
    while a ``stock_or_order`` task reserves, a supplier order by its supplier and
    status, a delivery by shipping or by the requester's confirmation, any other task
    by its title.
    """
    if request.state is RequestState.AWAITING_APPROVAL:
        stage = current_stage(request.approval_stages)
        who = ", ".join(pending_approvers(request)) or "an approver"
        return f"approval by {who}" + (f" (stage {stage.key})" if stage is not None else "")
    if request.state is RequestState.WAITING:
        return request.waiting_reason
    failed = _failed(request)
    if failed:
        return f"{_who_acts(request, failed[0])} to restart or skip {failed[0].title!r}"
    for task in request.plan:
        if task.state is not TaskState.IN_PROGRESS:
            continue
        if task.kind is TaskKind.STOCK_OR_ORDER and task.source != "supplier":
            return "the stock room: reserving"
        if task.kind.orders:
            status = task.order_status.value if task.order_status else "being ordered"
            return f"supplier {task.supplier}: {status}"
        if task.kind is TaskKind.DELIVERY:
            return "your confirmation of receipt" if task.shipped else "shipping"
        return task.title
    return None


def _failed(request: ServiceRequest) -> list[Task]:
    """The failed tasks a request in fulfilment waits on (restart or skip)."""
    if request.state is not RequestState.IN_FULFILLMENT:
        return []
    return [task for task in request.plan if task.state is TaskState.FAILED]


def _who_acts(request: ServiceRequest, task: Task) -> str:
    """Who must restart or skip ``task``: the assigned agent, else the group."""
    if request.assignment is not None and request.assignment.agent:
        return request.assignment.agent
    group = task.group or (request.assignment.group if request.assignment else None)
    return f"the support group {group}" if group else "the service desk"


def failure_words(task: Task) -> str:
    """What failed, in a requester's words.

    >>> from reqfulfill.model.enums import TaskKind
    >>> failure_words(Task(key="order", kind=TaskKind.SUPPLIER_ORDER, title="Order",
    ...                    supplier="acme-mobile", state=TaskState.FAILED))
    'the order from supplier acme-mobile failed'
    """
    if task.kind is TaskKind.STOCK_OR_ORDER and task.order_effect is None:
        return "reserving the item from stock failed"
    if task.kind.orders:
        return f"the order from supplier {task.supplier} failed"
    if task.kind is TaskKind.AUTOMATED:
        return f"the automated step {task.title!r} failed"
    return f"{task.title!r} failed"


def _summary(request: ServiceRequest) -> str:
    what = request.item or "help"
    failed = _failed(request)
    if not failed:
        return f"Your request for {what} is {state_words(request.state)}."
    first = failed[0]
    more = ""
    if len(failed) > 1:
        more = f" (and {len(failed) - 1} more step{'s' if len(failed) > 2 else ''})"
    return (
        f"Your request for {what} is held up: {failure_words(first)}{more}; "
        f"{_who_acts(request, first)} must restart or skip it."
    )


def coming_from(request: ServiceRequest) -> str | None:
    """What is on its way to the requester and where it comes from, in their words:
    the item reserved from stock (and where), or ordered from a supplier (and the
    order's status); None when nothing is (no ``stock_or_order`` or supplier task, the
    inventory is still being asked, the reservation was given back, or the request was
    cancelled or rejected).

    Read from the plan's first task that says where the item comes from.
    """
    if request.state in (RequestState.CANCELLED, RequestState.REJECTED):
        return None
    what = request.item or "item"
    for task in request.plan:
        if task.kind is TaskKind.STOCK_OR_ORDER and task.source == "stock":
            if task.reservation is None:
                continue  # given back (the task was restarted or skipped)
            where = task.reservation.location
            return f"{what} from stock" + (f" at {where}" if where else "")
        if task.kind.orders and task.source != "stock" and task.order_effect is not None:
            if task.kind is TaskKind.STOCK_OR_ORDER and task.source is None:
                continue  # the inventory has not answered yet
            status = task.order_status.value if task.order_status else "being ordered"
            return f"{what} from supplier {task.supplier} ({status})"
    return None


def progress_of(request: ServiceRequest) -> Progress:
    """The request's :class:`Progress`: its state in plain words (or, when a task
    failed, what failed and who must act), the titles of its finished, open and
    failed tasks, what it waits on and when the SLA expects it done."""
    return Progress(
        request_id=request.id,
        state=request.state.value,
        summary=_summary(request),
        done=tuple(t.title for t in request.plan if t.finished),
        open=tuple(t.title for t in request.plan if not t.finished),
        waiting_on=waiting_on(request),
        expected_by=request.sla.due,
        failed=tuple(task.title for task in _failed(request)),
        coming_from=coming_from(request),
    )
