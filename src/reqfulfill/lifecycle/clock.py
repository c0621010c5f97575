"""The request's SLA clock inside the decider: the business time used, when the
target falls due, and the events that start, retarget, pause, resume and stop it.

The arithmetic of calendars and targets is :mod:`reqfulfill.sla`'s (the policy in
the :class:`~reqfulfill.lifecycle.context.Context`); this module applies it to one
request's :class:`~reqfulfill.model.request.SlaStatus`. :func:`next_sla_deadline` is
when the service's SLA timer should fire next.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reqfulfill.lifecycle.batch import Batch
from reqfulfill.lifecycle.command_types import SYSTEM
from reqfulfill.lifecycle.context import Context
from reqfulfill.lifecycle.table import S
from reqfulfill.model import events as ev
from reqfulfill.model.request import ServiceRequest, SlaStatus

if TYPE_CHECKING:
    from reqfulfill.sla import SlaPolicy

__all__ = [
    "due",
    "next_sla_deadline",
    "retarget_sla",
    "sla_used",
    "start_sla",
    "stop_sla",
    "sync_sla",
]

_ENDED = frozenset({S.FULFILLED, S.CANCELLED, S.REJECTED, S.CLOSED})


def sla_used(sla: SlaStatus, context: Context) -> timedelta:
    """The business time the clock has used by ``context.now``."""
    if context.sla is None or not sla.running or sla.used_at is None:
        return sla.used
    return sla.used + context.sla.calendar.between(sla.used_at, context.now)


def due(context: Context, target: timedelta, used: timedelta) -> datetime:
    """When ``target`` is used up if the clock runs from now, ``used`` already gone."""
    assert context.sla is not None
    remaining = target - used
    if remaining <= timedelta(0):
        return context.now
    return context.sla.calendar.add(context.now, remaining)


def start_sla(batch: Batch) -> None:
    """Start the clock with the target of the request's priority (if a policy applies).

    A target in business days becomes business time here, counted from now
    (:meth:`~reqfulfill.sla.SlaPolicy.budget_for`); the event records that budget.
    """
    policy = batch.context.sla
    priority = batch.draft.priority
    if policy is None or priority is None:
        return
    configured = policy.target_for(priority)
    target = policy.budget_for(priority, batch.context.now)
    rule = f"priority {int(priority)} target"
    if not isinstance(configured, timedelta):
        rule += f" of {configured.days} business day{'s' if configured.days != 1 else ''}"
    batch.emit(
        ev.SlaStarted,
        actor=SYSTEM,
        target=target,
        due=due(batch.context, target, timedelta(0)),
        priority=priority,
        rule=rule,
    )


def retarget_sla(batch: Batch) -> None:
    """Give the clock the target of the request's (new) priority, keeping the time used.

    A target in business days is counted from when the clock would have started had
    it never paused: ``used`` business time before now.
    """
    policy = batch.context.sla
    request = batch.draft
    priority, sla = request.priority, request.sla
    if policy is None or priority is None or sla.target is None or sla.stopped:
        return
    used = sla_used(sla, batch.context)
    target = policy.target_for(priority)
    if not isinstance(target, timedelta):
        target = policy.budget_for(priority, policy.calendar.add(batch.context.now, -used))
    if target == sla.target:
        return
    when = None if sla.paused else due(batch.context, target, used)
    batch.emit(
        ev.SlaRetargeted, actor=SYSTEM, target=target, due=when, used=used, priority=priority
    )


def stop_sla(batch: Batch) -> None:
    """Stop the clock for good (the request is fulfilled or ended): met or not."""
    sla = batch.draft.sla
    if sla.target is None or sla.stopped or batch.context.sla is None:
        return
    used = sla_used(sla, batch.context)
    batch.emit(ev.SlaStopped, actor=SYSTEM, used=used, met=used <= sla.target)


def sync_sla(batch: Batch) -> None:
    """Pause the SLA in the policy's pause states (and awaiting approval); resume after."""
    policy = batch.context.sla
    if policy is None:
        return
    request = batch.draft
    sla = request.sla
    if sla.target is None or sla.stopped:
        return
    state = request.state
    if state in _ENDED:
        stop_sla(batch)
        return
    pause = state in policy.pause_in or state is S.AWAITING_APPROVAL
    if pause and not sla.paused:
        batch.emit(ev.SlaPaused, actor=SYSTEM, used=sla_used(sla, batch.context))
    elif not pause and sla.paused:
        batch.emit(ev.SlaResumed, actor=SYSTEM, due=due(batch.context, sla.target, sla.used))


def next_sla_deadline(state: ServiceRequest, policy: SlaPolicy) -> datetime | None:
    """When the next escalation threshold (or the breach) falls, if the clock runs.

    The service stores this time as the request's SLA timer.
    """
    sla = state.sla
    if not sla.running or sla.target is None or sla.used_at is None:
        return None
    fractions = [(level.at, i) for i, level in enumerate(policy.escalation) if i not in sla.fired]
    if not sla.breached:
        fractions.append((1.0, -1))
    if not fractions:
        return None
    at = min(f for f, _ in fractions)
    budget = sla.target * at - sla.used
    if budget <= timedelta(0):
        return sla.used_at
    return policy.calendar.add(sla.used_at, budget)
