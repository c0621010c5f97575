"""The handlers of the commands on the request as a whole: approval, triage,
assignment, waiting, priority, closing, cancelling, feedback.

Each handler checks its command against the batch's request and the context (raising
and writing nothing when it does not hold), then emits the command's events.
"""

from __future__ import annotations

from collections.abc import Mapping

from reqfulfill.lifecycle import approvals
from reqfulfill.lifecycle.batch import Batch, Handler
from reqfulfill.lifecycle.clock import retarget_sla, sync_sla
from reqfulfill.lifecycle.command_types import (
    SYSTEM,
    Approve,
    Assign,
    AutoClose,
    Cancel,
    Claim,
    Close,
    Command,
    FireApproval,
    RecordFeedback,
    Reject,
    Reprioritize,
    Resume,
    Triage,
    Wait,
)
from reqfulfill.lifecycle.guards import (
    approvers,
    deny,
    refuse,
    require_group_member,
    require_internal,
    require_requester,
    responsible_group,
)
from reqfulfill.lifecycle.intake import enter_fulfillment, prioritize, request_approval
from reqfulfill.lifecycle.progress import advance, cancel_order, notify
from reqfulfill.lifecycle.stock import release_held
from reqfulfill.lifecycle.table import S
from reqfulfill.model import events as ev
from reqfulfill.model.enums import Impact, Urgency
from reqfulfill.model.errors import Problem, ValidationError
from reqfulfill.model.request import Assignment

__all__ = ["HANDLERS"]


def _approve(batch: Batch, command: Approve) -> None:
    request = batch.draft
    if request.approval_stages:
        if approvals.approve(batch, command):
            batch.emit(ev.RequestApproved)
            enter_fulfillment(batch)
        return
    if command.actor == request.requester.id:
        raise deny(batch, command, "a requester can never approve their own request")
    if command.actor not in approvers(batch):
        raise deny(batch, command, "not an approver of this request")
    batch.emit(ev.RequestApproved)
    enter_fulfillment(batch)


def _reject(batch: Batch, command: Reject) -> None:
    request = batch.draft
    if request.approval_stages:
        approvals.reject(batch, command)
        return
    if command.actor == request.requester.id or command.actor not in approvers(batch):
        raise deny(batch, command, "not an approver of this request")
    batch.emit(ev.RequestRejected, reason=command.reason)
    notify(
        batch,
        "request_rejected",
        request.requester.id,
        f"Your request {request.id} was rejected",
        f"Reason: {command.reason}",
    )


def _triage(batch: Batch, command: Triage) -> None:
    context = batch.context
    triage_group = context.catalog.triage_group
    require_group_member(batch, command, triage_group)
    problems = []
    if command.item is not None and not context.catalog.has_item(command.item):
        problems.append(Problem("item", command.item, f"unknown service item {command.item!r}"))
    if command.impact is not None and not isinstance(command.impact, Impact):
        problems.append(Problem("impact", command.impact, "expected an Impact"))
    if command.urgency is not None and not isinstance(command.urgency, Urgency):
        problems.append(Problem("urgency", command.urgency, "expected an Urgency"))
    if problems:
        raise ValidationError(problems)
    batch.emit(
        ev.RequestTriaged,
        item=command.item,
        category=command.category,
        impact=command.impact,
        urgency=command.urgency,
    )
    request = batch.draft
    if (
        request.impact is not None
        and request.urgency is not None
        and (command.impact is not None or command.urgency is not None)
    ):
        prioritize(batch, request.impact, request.urgency, "triage", "set in triage")
    if request.item is not None and context.catalog.item(request.item).requires_approval:
        request_approval(batch)
    else:
        enter_fulfillment(batch)


def _assign(batch: Batch, command: Assign) -> None:
    request = batch.draft
    require_group_member(batch, command, responsible_group(batch))
    catalog = batch.context.catalog
    if not catalog.has_group(command.group):
        raise ValidationError.single("group", command.group, f"unknown group {command.group!r}")
    if command.agent is not None and not batch.context.is_member(command.group, command.agent):
        raise ValidationError.single(
            "agent", command.agent, f"{command.agent!r} is not a member of {command.group!r}"
        )
    if request.assignment == Assignment(command.group, command.agent):
        return
    batch.emit(ev.RequestAssigned, group=command.group, agent=command.agent, rule="manual")


def _claim(batch: Batch, command: Claim) -> None:
    request = batch.draft
    if request.group is None:
        raise refuse(batch, command, "the request is not assigned to a group")
    require_group_member(batch, command, request.group)
    if request.agent == command.actor:
        return
    batch.emit(ev.RequestClaimed, agent=command.actor)


def _close(batch: Batch, reason: str, rule: str | None, actor: str) -> None:
    request = batch.draft
    open_tasks = [t for t in request.plan if not t.finished]
    assert not open_tasks, "a fulfilled request has no open tasks"
    survey = batch.context.survey
    batch.emit(ev.RequestClosed, actor=actor, reason=reason, rule=rule, survey=survey)
    ask = " Tell us how we did: rate it from 1 to 5." if survey else ""
    notify(
        batch,
        "request_closed",
        request.requester.id,
        f"Your request {request.id} is closed",
        f"Your request {request.id} ({request.item or 'request'}) is closed.{ask}",
    )


def _close_cmd(batch: Batch, command: Close) -> None:
    request = batch.draft
    require_group_member(batch, command, request.group)
    if request.state is S.CLOSED:
        return
    _close(batch, "closed by agent", None, command.actor)


def _auto_close(batch: Batch, command: AutoClose) -> None:
    require_internal(batch, command)
    request = batch.draft
    if request.state is S.CLOSED:
        return
    reason = command.reason or (
        "delivery confirmed by the requester"
        if request.delivery_confirmed
        else "no complaint within the grace period"
    )
    _close(batch, reason, "auto close", command.actor)


def _cancel(batch: Batch, command: Cancel) -> None:
    request = batch.draft
    if command.actor != request.requester.id:
        require_group_member(batch, command, responsible_group(batch))
    open_orders = [t for t in request.plan if t.order_open and not t.finished]
    batch.emit(ev.RequestCancelled, reason=command.reason)
    for task in open_orders:
        cancel_order(batch, task, command.actor)
    release_held(batch, command.actor)  # every reservation the request holds goes back
    notify(
        batch,
        "request_cancelled",
        request.requester.id,
        f"Your request {request.id} was cancelled",
        f"Reason: {command.reason}",
    )


def _record_feedback(batch: Batch, command: RecordFeedback) -> None:
    require_requester(batch, command)
    request = batch.draft
    if request.feedback is not None:
        raise refuse(batch, command, "feedback was already recorded")
    window = batch.context.feedback.window
    if (
        window is not None
        and request.closed_at is not None
        and batch.context.now > request.closed_at + window
    ):
        raise refuse(batch, command, f"the feedback window of {window} has passed")
    rating = command.rating
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError.single("rating", rating, "a rating is a whole number from 1 to 5")
    if not isinstance(command.comment, str):
        raise ValidationError.single("comment", command.comment, "a comment is text")
    batch.emit(ev.FeedbackRecorded, rating=rating, comment=command.comment)
    if rating <= batch.context.feedback.low_rating:
        batch.emit(ev.ReviewRequested, actor=SYSTEM, group=request.group, rating=rating)


def _wait(batch: Batch, command: Wait) -> None:
    require_group_member(batch, command, responsible_group(batch))
    batch.emit(ev.RequestWaiting, reason=command.reason)


def _resume(batch: Batch, command: Resume) -> None:
    require_group_member(batch, command, responsible_group(batch))
    batch.emit(ev.RequestResumed)
    sync_sla(batch)
    advance(batch)


def _reprioritize(batch: Batch, command: Reprioritize) -> None:
    request = batch.draft
    require_group_member(batch, command, responsible_group(batch))
    impact = command.impact or request.impact or Impact.MEDIUM
    urgency = command.urgency or request.urgency or Urgency.MEDIUM
    if not isinstance(impact, Impact):
        raise ValidationError.single("impact", impact, "expected an Impact")
    if not isinstance(urgency, Urgency):
        raise ValidationError.single("urgency", urgency, "expected an Urgency")
    if (impact, urgency) == (request.impact, request.urgency):
        return
    prioritize(batch, impact, urgency, "manual", "reprioritized")
    retarget_sla(batch)


def _fire_approval(batch: Batch, command: FireApproval) -> None:
    approvals.fire(batch, command)


HANDLERS: Mapping[type[Command], Handler] = {
    Approve: _approve,
    Reject: _reject,
    FireApproval: _fire_approval,
    Triage: _triage,
    Assign: _assign,
    Claim: _claim,
    Close: _close_cmd,
    AutoClose: _auto_close,
    Cancel: _cancel,
    RecordFeedback: _record_feedback,
    Wait: _wait,
    Resume: _resume,
    Reprioritize: _reprioritize,
}
"""Per command type, its handler."""
