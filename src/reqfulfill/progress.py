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
from reqfulfill.model.request import ServiceRequest

__all__ = ["Progress", "progress_of", "state_words", "waiting_on"]


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
    first task in progress: a supplier order by its supplier and status, a delivery
    by shipping or by the requester's confirmation, any other task by its title.
    """
    if request.state is RequestState.AWAITING_APPROVAL:
        stage = current_stage(request.approval_stages)
        who = ", ".join(pending_approvers(request)) or "an approver"
        return f"approval by {who}" + (f" (stage {stage.key})" if stage is not None else "")
    if request.state is RequestState.WAITING:
        return request.waiting_reason
    for task in request.plan:
        if task.state is not TaskState.IN_PROGRESS:
            continue
        if task.kind is TaskKind.SUPPLIER_ORDER:
            status = task.order_status.value if task.order_status else "being ordered"
            return f"supplier {task.supplier}: {status}"
        if task.kind is TaskKind.DELIVERY:
            return "your confirmation of receipt" if task.shipped else "shipping"
        return task.title
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
    )
