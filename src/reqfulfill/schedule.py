"""When the worker must look at a request again: the timers the service keeps.

Three timers per request, each a pure function of the request's state and the
service's settings:

- ``sla``: the next SLA threshold (:func:`reqfulfill.lifecycle.next_sla_deadline`);
- ``close``: when a fulfilled request closes by itself (:func:`close_at`);
- ``poll``: while a placed supplier order is open (:func:`orders_to_poll`), the
  next status poll;
- ``approval``: while an approval stage is pending, its reminder or expiry
  (:func:`reqfulfill.lifecycle.next_approval_deadline`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reqfulfill import lifecycle
from reqfulfill.model.enums import RequestState, TaskState
from reqfulfill.model.request import ServiceRequest, Task

if TYPE_CHECKING:
    from reqfulfill.sla import SlaPolicy

__all__ = ["close_at", "current_timers", "orders_to_poll", "timer_changes"]


def close_at(state: ServiceRequest, close_after: timedelta | None) -> datetime | None:
    """When a fulfilled request closes without an agent: at once when the requester
    confirmed the delivery, else ``close_after`` after fulfilment (never with
    ``close_after=None``). ``None`` for a request that is not fulfilled."""
    if state.state is RequestState.FULFILLED and state.fulfilled_at is not None:
        if state.delivery_confirmed:
            return state.fulfilled_at
        if close_after is not None:
            return state.fulfilled_at + close_after
    return None


def orders_to_poll(state: ServiceRequest) -> list[Task]:
    """The tasks whose supplier order is placed (it has a ref) and still open, while
    the task is in progress: the orders whose status the worker polls."""
    # the cheap checks first: most tasks have no order ref
    return [
        t
        for t in state.plan
        if t.order_ref is not None and t.state is TaskState.IN_PROGRESS and t.order_open
    ]


def timer_changes(
    before: ServiceRequest | None,
    after: ServiceRequest,
    *,
    sla: SlaPolicy | None,
    close_after: timedelta | None,
    poll_interval: timedelta,
) -> dict[str, datetime | None]:
    """The timers an append from ``before`` to ``after`` sets (a time) or deletes
    (``None``).

    A timer that is unset both before and after the append is left out: the append
    that produced ``before`` deleted it already (or it never existed), so writing
    the deletion again would only cost statements. A timer with a time is always
    written, which re-arms one a failed timer run deleted. The poll timer is set
    when the first open order is placed and deleted when the last one closes.
    """
    timers: dict[str, datetime | None] = {}
    if sla is not None:
        due = lifecycle.next_sla_deadline(after, sla)
        if due is not None or (
            before is not None and lifecycle.next_sla_deadline(before, sla) is not None
        ):
            timers["sla"] = due
    closes = close_at(after, close_after)
    if closes is not None or (before is not None and close_at(before, close_after) is not None):
        timers["close"] = closes
    approval = lifecycle.next_approval_deadline(after)
    if approval is not None or (
        before is not None and lifecycle.next_approval_deadline(before) is not None
    ):
        timers["approval"] = approval
    if before is not None and before.plan is after.plan:
        return timers  # the poll timer follows the plan alone: it stays as it was
    polled = bool(orders_to_poll(after))
    had_polled = before is not None and bool(orders_to_poll(before))
    if polled and not had_polled:
        timers["poll"] = after.updated_at + poll_interval
    elif had_polled and not polled:
        timers["poll"] = None
    return timers


def current_timers(
    state: ServiceRequest, *, sla: SlaPolicy | None, close_after: timedelta | None
) -> dict[str, datetime | None]:
    """The ``close`` and ``approval`` timers (and with an SLA policy the ``sla`` timer)
    as ``state`` stands: a time, or ``None`` to delete it."""
    timers: dict[str, datetime | None] = {
        "close": close_at(state, close_after),
        "approval": lifecycle.next_approval_deadline(state),
    }
    if sla is not None:
        timers["sla"] = lifecycle.next_sla_deadline(state, sla)
    return timers
