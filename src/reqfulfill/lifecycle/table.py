"""The transition table, as data: which events change the state, and where each may
be recorded.

:data:`STATE_CHANGES` lists the events that move a request to another state (and the
states they may follow), :data:`EVENT_STATES` the events that keep the state (and the
states they may be recorded in); :data:`TRANSITIONS` is derived from the first. The
table is checked when this module is imported: every event type is in exactly one
table, every state is reachable from ``SUBMITTED``, terminal states lead nowhere.

>>> from reqfulfill.model.enums import RequestState
>>> RequestState.IN_FULFILLMENT in TRANSITIONS[RequestState.APPROVED]
True
"""

from __future__ import annotations

from collections.abc import Mapping

from reqfulfill.model import events as ev
from reqfulfill.model.enums import RequestState, TaskState

__all__ = [
    "ALL",
    "EVENT_STATES",
    "FINISHED",
    "OPEN",
    "STATE_CHANGES",
    "TRANSITIONS",
    "WORKING",
    "S",
]

S = RequestState
"""Short for :class:`~reqfulfill.model.enums.RequestState` in the tables."""

FINISHED = frozenset(s for s in TaskState if s.finished)
"""Task states that count as done (``Task.finished``), for the decider's loops."""

OPEN = frozenset(
    {S.SUBMITTED, S.AWAITING_APPROVAL, S.APPROVED, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}
)
"""The states of a request that is neither finished nor refused."""

ALL = frozenset(S)
"""Every request state."""

WORKING = frozenset({S.IN_FULFILLMENT, S.WAITING})
"""The states in which the plan's tasks are worked on."""

STATE_CHANGES: Mapping[type[ev.Event], tuple[frozenset[RequestState | None], RequestState | None]]
STATE_CHANGES = {
    ev.RequestSubmitted: (frozenset({None}), S.SUBMITTED),
    ev.ApprovalRequested: (frozenset({S.SUBMITTED, S.TRIAGE}), S.AWAITING_APPROVAL),
    ev.RequestQueuedForTriage: (frozenset({S.SUBMITTED}), S.TRIAGE),
    ev.RequestApproved: (frozenset({S.AWAITING_APPROVAL}), S.APPROVED),
    ev.RequestRejected: (frozenset({S.AWAITING_APPROVAL}), S.REJECTED),
    ev.PlanStarted: (frozenset({S.SUBMITTED, S.APPROVED, S.TRIAGE}), S.IN_FULFILLMENT),
    ev.RequestWaiting: (frozenset({S.IN_FULFILLMENT, S.TRIAGE}), S.WAITING),
    # back to the state it waited in (``ServiceRequest.resume_to``)
    ev.RequestResumed: (frozenset({S.WAITING}), None),
    ev.RequestFulfilled: (frozenset({S.IN_FULFILLMENT}), S.FULFILLED),
    ev.RequestClosed: (frozenset({S.FULFILLED}), S.CLOSED),
    ev.RequestCancelled: (frozenset(OPEN), S.CANCELLED),
}
"""Events that change the state: the states they may follow and the state they lead to."""

_ROUTING = frozenset(
    {S.SUBMITTED, S.AWAITING_APPROVAL, S.APPROVED, S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}
)
_SLA = frozenset(OPEN | {S.FULFILLED, S.CANCELLED, S.REJECTED})

EVENT_STATES: Mapping[type[ev.Event], frozenset[RequestState]] = {
    ev.RequestTriaged: frozenset({S.TRIAGE}),
    ev.RequestAssigned: _ROUTING,
    ev.RequestClaimed: frozenset({S.TRIAGE, S.IN_FULFILLMENT, S.WAITING}),
    ev.RequestCategorized: _ROUTING,
    ev.RequestPrioritized: _ROUTING,
    ev.TaskStarted: WORKING,
    ev.TaskCompleted: WORKING,
    ev.TaskFailed: WORKING,
    ev.TaskSkipped: WORKING,
    ev.SupplierOrderRequested: WORKING,
    ev.AutomationRequested: WORKING,
    ev.StockReservationRequested: WORKING,
    ev.ItemShipped: WORKING,
    ev.AssetShipped: WORKING,
    # recorded when delivery is confirmed (WORKING), told to the host in any state after
    ev.AssetHandedOver: WORKING,
    ev.ItemDelivered: WORKING,
    ev.DeliveryDisputed: WORKING,
    # suppliers may answer late, after the request was cancelled or closed
    ev.SupplierOrderPlaced: ALL,
    ev.SupplierOrderUpdated: ALL,
    # compensation can follow a late answer in any state
    ev.SupplierOrderCancelRequested: ALL,
    ev.EffectAttempted: ALL,
    # the inventory may answer after a cancel; a reservation is given back in any state
    ev.StockReserved: ALL,
    ev.StockUnavailable: ALL,
    ev.StockReleaseRequested: ALL,
    ev.StockReleased: ALL,
    ev.AssetRegistered: ALL,
    ev.EffectAbandoned: ALL,
    ev.NotificationRequested: ALL,
    ev.NotificationSent: ALL,
    ev.RequesterNotified: ALL,
    # a requester may answer at any time, after closure too
    ev.RequesterReplied: ALL,
    ev.SlaStarted: frozenset({S.SUBMITTED, S.APPROVED, S.TRIAGE, S.IN_FULFILLMENT}),
    ev.SlaPaused: _SLA,
    ev.SlaResumed: _SLA,
    ev.SlaRetargeted: _SLA,
    ev.SlaThresholdReached: _SLA,
    ev.SlaBreached: _SLA,
    ev.SlaStopped: _SLA,
    ev.RequestEscalated: frozenset({S.TRIAGE, S.AWAITING_APPROVAL, S.IN_FULFILLMENT, S.WAITING}),
    ev.ApprovalStageStarted: frozenset({S.AWAITING_APPROVAL}),
    ev.ApprovalStageSkipped: frozenset({S.AWAITING_APPROVAL}),
    ev.ApprovalDelegated: frozenset({S.AWAITING_APPROVAL}),
    ev.ApprovalGiven: frozenset({S.AWAITING_APPROVAL}),
    ev.ApprovalStageCompleted: frozenset({S.AWAITING_APPROVAL}),
    ev.ApprovalReminded: frozenset({S.AWAITING_APPROVAL}),
    ev.ApprovalExpired: frozenset({S.AWAITING_APPROVAL}),
    ev.FeedbackRecorded: frozenset({S.CLOSED}),
    ev.ReviewRequested: frozenset({S.CLOSED}),
}
"""Events that keep the state: the states in which they may be recorded."""


def _transitions() -> dict[RequestState, frozenset[RequestState]]:
    out: dict[RequestState, set[RequestState]] = {s: set() for s in S}
    for sources, target in STATE_CHANGES.values():
        for source in sources:
            if source is None:
                continue
            if target is None:  # resume: back to where it waited
                out[source].update(s for s in STATE_CHANGES[ev.RequestWaiting][0] if s is not None)
            else:
                out[source].add(target)
    return {s: frozenset(t) for s, t in out.items()}


TRANSITIONS: Mapping[RequestState, frozenset[RequestState]] = _transitions()
"""Every state change the lifecycle allows: state -> states it may move to."""


def _check_table() -> None:
    """Fail at import if the table is inconsistent (python-statemachine's habit)."""
    every = set(ev.EVENT_TYPES.values())
    covered = set(STATE_CHANGES) | set(EVENT_STATES)
    missing = every - covered
    if missing:
        raise AssertionError(
            f"events missing from the transition table: {sorted(map(str, missing))}"
        )
    both = set(STATE_CHANGES) & set(EVENT_STATES)
    if both:
        raise AssertionError(f"events in both tables: {both}")
    reachable = {S.SUBMITTED}
    frontier = [S.SUBMITTED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    if reachable != set(S):
        raise AssertionError(f"unreachable states: {set(S) - reachable}")
    for terminal in (S.REJECTED, S.CLOSED, S.CANCELLED):
        if TRANSITIONS[terminal]:
            raise AssertionError(f"terminal state {terminal} has transitions")


_check_table()
