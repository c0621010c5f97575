"""Whether a request still wants an effect: the one place that decides it.

An effect waits in the outbox between the decision that asked for it and the worker
that runs it: a notification held until business hours for days, an automation behind
a retry. Meanwhile the request may have been cancelled, rejected or approved, or the
effect's task skipped or restarted. The worker asks :func:`why_unwanted` of every
effect when it is about to run it, on the request as it now stands; an effect with a
reason is not run but abandoned (``EffectAbandoned`` with the reason). The decider asks
the same question (:func:`task_effect_unwanted`) when an attempt or an outcome comes in.

Per effect kind:

- a supplier order, a stock reservation or an automation is wanted while the request is worked on
  (IN_FULFILLMENT or WAITING), its task is in progress, and the task's current effect
  is this one (a restarted task asked for a new one);
- a cancellation of a supplier order and a release of a reservation are always wanted:
  they are the compensations; an asset handed over is always told to the host;
- a notification that asks someone to act is wanted while the action is still
  needed (:data:`ACTION_NOTICES`: "approval needed" while the request awaits
  approval, "task failed" while a task is failed, SLA warnings while the request is
  open...); a notice that tells the requester what happened (rejected, cancelled,
  fulfilled, closed, shipped) is always wanted: what it reports stays true.

>>> from reqfulfill.model.enums import RequestState
>>> notice_unwanted(RequestState.CANCELLED, None, (), "approval_requested")
'request cancelled'
>>> notice_unwanted(RequestState.CANCELLED, None, (), "request_cancelled") is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reqfulfill.lifecycle.table import OPEN, WORKING, S
from reqfulfill.model import events as ev
from reqfulfill.model.approval import pending_approvers
from reqfulfill.model.enums import RequestState, TaskState
from reqfulfill.model.request import Approval, ServiceRequest, Task

__all__ = [
    "ACTION_NOTICES",
    "effect_task",
    "notice_unwanted",
    "task_effect_unwanted",
    "why_unwanted",
]

ACTION_NOTICES: Mapping[str, frozenset[RequestState]] = {
    "approval_requested": frozenset({S.AWAITING_APPROVAL}),
    "approval_reminder": frozenset({S.AWAITING_APPROVAL}),
    "task_failed": WORKING,
    "delivery_disputed": WORKING,
    "sla_warning": OPEN,
    "sla_manager_warning": OPEN,
    "escalated": OPEN,
}
"""The notification kinds that ask someone to act, and the request states in which the
action is still needed. Other kinds tell the requester what happened: always wanted."""

_APPROVER_NOTICES = frozenset({"approval_requested", "approval_reminder"})
"""The notices that ask an approver for their decision."""

_ENDED: Mapping[RequestState, str] = {
    S.CANCELLED: "request cancelled",
    S.REJECTED: "request rejected",
    S.FULFILLED: "request fulfilled",
    S.CLOSED: "request closed",
}


def _request_moved_on(state: RequestState, approval: Approval | None) -> str:
    """Why a request in ``state`` no longer wants an effect of an earlier state."""
    ended = _ENDED.get(state)
    if ended is not None:
        return ended
    if approval is not None and approval.approved:
        return "request approved"
    return f"request {state.value.replace('_', ' ')}"


def task_effect_unwanted(
    state: RequestState, approval: Approval | None, task: Task | None
) -> str | None:
    """Why a supplier order or an automation is no longer wanted by a request in
    ``state``; None while it is. ``task`` is the task whose current effect it is
    (:func:`effect_task`): None when the task was restarted since and asked for a new
    one."""
    if state not in WORKING:
        return _request_moved_on(state, approval)
    if task is None:
        return "task restarted: a newer effect replaces this one"
    if task.state is not TaskState.IN_PROGRESS:
        return f"task {task.state.value}"
    return None


def notice_unwanted(
    state: RequestState, approval: Approval | None, plan: Iterable[Task], kind: str
) -> str | None:
    """Why a notification of ``kind`` is no longer wanted by a request in ``state``
    with ``plan``; None while it is (see :data:`ACTION_NOTICES`)."""
    needed = ACTION_NOTICES.get(kind)
    if needed is None:
        return None
    if state not in needed:
        return _request_moved_on(state, approval)
    if kind == "task_failed" and not any(t.state is TaskState.FAILED for t in plan):
        return "no task is failed any more (restarted or skipped)"
    return None


def effect_task(plan: Iterable[Task], effect_id: str) -> Task | None:
    """The task of ``plan`` whose current effect (order or automation) is ``effect_id``."""
    for task in plan:
        if task.order_effect == effect_id:
            return task
    return None


def why_unwanted(request: ServiceRequest, effect: ev.Event) -> str | None:
    """Why ``request``, as it stands, no longer wants the request-for-effect event
    ``effect`` run; None while it does.

    The worker asks this when the effect is about to run, and abandons an effect with
    a reason instead of running it. A settled effect (its outcome is recorded) is not
    this function's concern: it has run.

    >>> from datetime import datetime, timezone
    >>> from reqfulfill.lifecycle import Cancel, Context, Submit, decide, replay
    >>> from reqfulfill.model.enums import Channel
    >>> from reqfulfill.testing import demo_catalog, demo_requester
    >>> context = Context(demo_catalog(), datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    >>> submit = Submit(actor="erin.user", request_id="R-1", requester=demo_requester(),
    ...                 item="iphone-15", channel=Channel.PORTAL)
    >>> events = decide(None, submit, context)
    >>> approval_needed = next(e for e in events if isinstance(e, ev.NotificationRequested))
    >>> why_unwanted(replay(events), approval_needed) is None
    True
    >>> events += decide(replay(events), Cancel(actor="erin.user", reason="no"), context)
    >>> why_unwanted(replay(events), approval_needed)
    'request cancelled'
    """
    if isinstance(
        effect, ev.SupplierOrderRequested | ev.AutomationRequested | ev.StockReservationRequested
    ):
        task = effect_task(request.plan, effect.event_id)
        return task_effect_unwanted(request.state, request.approval, task)
    if isinstance(effect, ev.NotificationRequested):
        kind = effect.notification.kind
        why = notice_unwanted(request.state, request.approval, request.plan, kind)
        if why is None and kind in _APPROVER_NOTICES and request.approval_stages:
            # a stage of an approval policy: asked of its approvers while they are pending
            recipient = effect.notification.recipient
            if recipient not in pending_approvers(request):
                return f"the request no longer waits for {recipient}'s approval"
        return why
    # a supplier order's cancellation and a reservation's release are compensations,
    # an asset handed over stays handed over: wanted whatever happened
    return None
