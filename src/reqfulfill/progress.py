"""What a requester may see of their request: :class:`Progress`, read from its state.

Every answer here is a question of the request's state alone (no store, no
clock), so it is written once and asked by :meth:`FulfillmentService.progress
<reqfulfill.FulfillmentService.progress>` or by anything else holding a
:class:`~reqfulfill.model.request.ServiceRequest`.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from reqfulfill.model.enums import RequestState, TaskKind, TaskState
from reqfulfill.model.request import ServiceRequest

__all__ = ["Progress", "coming_from", "progress_of", "state_words", "waiting_on"]


@attrs.frozen
class Progress:
    """What a requester may see of their request."""

    request_id: str
    state: str
    summary: str
    done: tuple[str, ...]
    open: tuple[str, ...]
    waiting_on: str | None
    expected_by: datetime | None
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

    Approvers while it awaits approval; the reason while it is on hold; else the
    first task in progress: the stock room while a ``stock_or_order`` task reserves, a
    supplier order by its supplier and status, a delivery
    by shipping or by the requester's confirmation, any other task by its title.
    """
    if request.state is RequestState.AWAITING_APPROVAL:
        return "approval by " + (", ".join(request.approvers) or "an approver")
    if request.state is RequestState.WAITING:
        return request.waiting_reason
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


def coming_from(request: ServiceRequest) -> str | None:
    """What is on its way to the requester and where it comes from, in their words:
    the item reserved from stock (and where), or ordered from a supplier (and the
    order's status); None when nothing is (no ``stock_or_order`` or supplier task, or
    the inventory is still being asked).

    Read from the plan's first task that says where the item comes from.
    """
    what = request.item or "item"
    for task in request.plan:
        if task.kind is TaskKind.STOCK_OR_ORDER and task.source == "stock":
            where = task.reservation.location if task.reservation is not None else None
            return f"{what} from stock" + (f" at {where}" if where else "")
        if task.kind.orders and task.source != "stock" and task.order_effect is not None:
            if task.kind is TaskKind.STOCK_OR_ORDER and task.source is None:
                continue  # the inventory has not answered yet
            status = task.order_status.value if task.order_status else "being ordered"
            return f"{what} from supplier {task.supplier} ({status})"
    return None


def progress_of(request: ServiceRequest) -> Progress:
    """The request's :class:`Progress`: its state in plain words, the titles of its
    finished and open tasks, what it waits on and when the SLA expects it done."""
    return Progress(
        request_id=request.id,
        state=request.state.value,
        summary=f"Your request for {request.item or 'help'} is {state_words(request.state)}.",
        done=tuple(t.title for t in request.plan if t.finished),
        open=tuple(t.title for t in request.plan if not t.finished),
        waiting_on=waiting_on(request),
        expected_by=request.sla.due,
        coming_from=coming_from(request),
    )
