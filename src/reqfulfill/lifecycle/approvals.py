"""Approval policies inside the decider: stages started, skipped, approved, reminded and
expired.

An item that names an approval policy (``approval = "hardware"``) is approved stage by
stage. :func:`start_policy` records ``ApprovalRequested`` and starts the first stage
whose ``when`` holds; :func:`approve`, :func:`reject` and :func:`fire` handle the
commands on the pending stage. Each returns True when the last applicable stage is
done: the caller then records ``RequestApproved`` and sends the request on to
fulfillment (:mod:`~reqfulfill.lifecycle.intake` does that; this module does not import
it, so intake can import this one).

A stage's approvers are fixed when it starts: the requester's manager, the members of a
group as the directory has them then, or the listed actors; each replaced by their
delegate if the context's ``delegate`` names one (recorded with ``ApprovalDelegated``);
the requester left out. Reminders and expiry fall after business time on the SLA
policy's calendar, or round the clock when the service has no SLA policy;
:func:`next_approval_deadline` is when the service's ``approval`` timer fires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reqfulfill.lifecycle.batch import Batch
from reqfulfill.lifecycle.command_types import SYSTEM, Approve, Command, FireApproval, Reject
from reqfulfill.lifecycle.context import Context, facts, rules_api
from reqfulfill.lifecycle.guards import deny, refuse, require_internal
from reqfulfill.lifecycle.progress import notify
from reqfulfill.lifecycle.table import S
from reqfulfill.model import events as ev
from reqfulfill.model.approval import (
    ApprovalMode,
    ApprovalPolicy,
    ApprovalStage,
    IfNoApprover,
    OnExpiry,
    StageStatus,
    current_stage,
)
from reqfulfill.model.request import ServiceRequest

__all__ = [
    "approve",
    "fire",
    "item_policy",
    "next_approval_deadline",
    "reject",
    "reject_request",
    "start_policy",
]


def item_policy(batch: Batch) -> ApprovalPolicy | None:
    """The approval policy the request's item names, if any."""
    item_id = batch.draft.item
    catalog = batch.context.catalog
    if item_id is None or not catalog.has_item(item_id):
        return None
    policy_id = catalog.item(item_id).approval
    if policy_id is None or not catalog.has_approval_policy(policy_id):
        return None
    return catalog.approval_policy(policy_id)


def business_add(context: Context, start: datetime, span: timedelta) -> datetime:
    """``start`` plus ``span`` of business time on the SLA policy's calendar (round the
    clock without a policy)."""
    if context.sla is None:
        return start + span
    return context.sla.calendar.add(start, span)


def reject_request(batch: Batch, reason: str, actor: str | None = None) -> None:
    """Reject the request (by ``actor``, else the command's actor) and tell the requester."""
    request = batch.draft
    batch.emit(ev.RequestRejected, actor=actor, reason=reason)
    notify(
        batch,
        "request_rejected",
        request.requester.id,
        f"Your request {request.id} was rejected",
        f"Reason: {reason}",
    )


def start_policy(batch: Batch, policy: ApprovalPolicy) -> bool:
    """Ask for approval under ``policy``: start its first applicable stage. True when no
    stage applies (the request is approved at once)."""
    batch.emit(
        ev.ApprovalRequested, actor=SYSTEM, approvers=(), rule=f"approval policy {policy.id}"
    )
    return _run_stages(batch, policy, 0)


def _delegated(batch: Batch, stage: str, who: list[str]) -> list[str]:
    """``who`` with each approver replaced by their delegate (recorded), in order, once."""
    delegate = batch.context.delegate
    out: list[str] = []
    for actor in who:
        instead = delegate(actor) if delegate is not None else None
        if instead and instead != actor:
            batch.emit(
                ev.ApprovalDelegated, actor=SYSTEM, stage=stage, delegator=actor, delegate=instead
            )
            actor = instead
        if actor not in out:
            out.append(actor)
    return out


def _candidates(batch: Batch, stage: ApprovalStage) -> list[str]:
    who = stage.approvers
    if who.manager:
        manager = batch.draft.requester.manager
        return [manager] if manager else []
    if who.group is not None:
        return sorted(set(batch.context.members(who.group)))
    return list(dict.fromkeys(who.actors))


def _needed(stage: ApprovalStage, eligible: int) -> int:
    if stage.mode is ApprovalMode.ALL:
        return eligible
    if stage.mode is ApprovalMode.QUORUM and stage.quorum is not None:
        return stage.quorum
    return 1


def _run_stages(batch: Batch, policy: ApprovalPolicy, first: int) -> bool:
    """Start the first stage from index ``first`` on that applies; True when none is
    left (every remaining stage skipped), False when one started or the request was
    rejected."""
    request = batch.draft
    context = batch.context
    item = context.catalog.item(request.item) if request.item else None
    known = facts(request.requester, request.channel, request.answers, item)
    for stage in policy.stages[first:]:
        if stage.when is not None and not rules_api().matches(stage.when, known):
            batch.emit(
                ev.ApprovalStageSkipped,
                actor=SYSTEM,
                stage=stage.key,
                policy=policy.id,
                reason="its condition is false",
            )
            continue
        who = _delegated(batch, stage.key, _candidates(batch, stage))
        eligible = tuple(a for a in who if a != request.requester.id)
        needed = _needed(stage, len(eligible))
        if not eligible or len(eligible) < needed:
            why = (
                f"no eligible approver in stage {stage.key!r}"
                if not eligible
                else f"stage {stage.key!r} needs {needed} approvers, {len(eligible)} eligible"
            )
            if stage.if_no_approver is IfNoApprover.SKIP:
                batch.emit(
                    ev.ApprovalStageSkipped,
                    actor=SYSTEM,
                    stage=stage.key,
                    policy=policy.id,
                    reason=why,
                )
                continue
            # the stage starts with whom it has, and the request is rejected in it
            batch.emit(
                ev.ApprovalStageStarted,
                actor=SYSTEM,
                stage=stage.key,
                approvers=eligible,
                mode=stage.mode,
                needed=needed,
                policy=policy.id,
            )
            reject_request(batch, why, SYSTEM)
            return False
        now = context.now
        batch.emit(
            ev.ApprovalStageStarted,
            actor=SYSTEM,
            stage=stage.key,
            approvers=eligible,
            mode=stage.mode,
            needed=needed,
            policy=policy.id,
            remind_at=None
            if policy.remind_after is None
            else business_add(context, now, policy.remind_after),
            expire_at=None
            if policy.expire_after is None
            else business_add(context, now, policy.expire_after),
        )
        _ask(batch, stage.key, eligible)
        return False
    return True


def _ask(batch: Batch, stage: str, who: tuple[str, ...]) -> None:
    request = batch.draft
    for approver in who:
        notify(
            batch,
            "approval_requested",
            approver,
            f"Approval needed: {batch.request_id} ({stage})",
            f"{request.requester.name} asks for {request.item}. "
            f"Please approve or reject (stage {stage}).",
        )


def _pending(batch: Batch, command: Command) -> StageStatus:
    stage = current_stage(batch.draft.approval_stages)
    if stage is None:
        raise refuse(batch, command, "no approval stage is pending")
    return stage


def _rest(batch: Batch, stage: StageStatus) -> bool:
    """Run the stages after ``stage``; True when none is left."""
    catalog = batch.context.catalog
    if not catalog.has_approval_policy(stage.policy):
        return True  # the policy left the catalog: nothing more to ask
    policy = catalog.approval_policy(stage.policy)
    keys = [s.key for s in policy.stages]
    first = keys.index(stage.key) + 1 if stage.key in keys else len(keys)
    return _run_stages(batch, policy, first)


def approve(batch: Batch, command: Approve) -> bool:
    """Record ``command.actor``'s approval of the pending stage; True when that completes
    the last applicable stage."""
    stage = _pending(batch, command)
    actor = command.actor
    if actor == batch.draft.requester.id:
        raise deny(batch, command, "a requester can never approve their own request")
    if actor not in stage.approvers:
        raise deny(batch, command, f"not an approver of stage {stage.key!r}")
    if actor in stage.approved_by:
        raise deny(batch, command, f"already approved stage {stage.key!r}")
    batch.emit(ev.ApprovalGiven, stage=stage.key)
    if len(stage.approved_by) + 1 < stage.needed:
        return False
    batch.emit(ev.ApprovalStageCompleted, stage=stage.key)
    return _rest(batch, stage)


def reject(batch: Batch, command: Reject) -> None:
    """Reject the request in the pending stage (an approver of it who has not approved)."""
    stage = _pending(batch, command)
    if command.actor == batch.draft.requester.id or command.actor not in stage.pending:
        raise deny(batch, command, f"not a pending approver of stage {stage.key!r}")
    reject_request(batch, command.reason)


def fire(batch: Batch, command: FireApproval) -> None:
    """Remind the pending approvers once, then expire the stage when due: reject, or
    escalate (add ``escalate_to``, ask them, start the expiry clock again). A timer that
    fires after the request moved on changes nothing."""
    require_internal(batch, command)
    request = batch.draft
    stage = current_stage(request.approval_stages)
    if request.state is not S.AWAITING_APPROVAL or stage is None:
        return
    context = batch.context
    now = context.now
    if stage.remind_at is not None and not stage.reminded and now >= stage.remind_at:
        pending = stage.pending
        batch.emit(ev.ApprovalReminded, actor=SYSTEM, stage=stage.key, approvers=pending)
        for approver in pending:
            notify(
                batch,
                "approval_reminder",
                approver,
                f"Reminder: approval needed on {request.id} ({stage.key})",
                f"{request.requester.name} still waits for your decision on {request.item}.",
            )
    if stage.expire_at is None or now < stage.expire_at:
        return
    catalog = context.catalog
    policy = (
        catalog.approval_policy(stage.policy) if catalog.has_approval_policy(stage.policy) else None
    )
    if (
        policy is None
        or policy.on_expiry is OnExpiry.REJECT
        or policy.expire_after is None
        or not policy.escalate_to
    ):
        batch.emit(ev.ApprovalExpired, actor=SYSTEM, stage=stage.key, on_expiry=OnExpiry.REJECT)
        reject_request(batch, f"approval expired in stage {stage.key}", SYSTEM)
        return
    who = _delegated(batch, stage.key, list(policy.escalate_to))
    added = tuple(a for a in who if a != request.requester.id and a not in stage.approvers)
    batch.emit(
        ev.ApprovalExpired,
        actor=SYSTEM,
        stage=stage.key,
        on_expiry=OnExpiry.ESCALATE,
        added=added,
        expire_at=business_add(context, now, policy.expire_after),
    )
    _ask(batch, stage.key, added)


def next_approval_deadline(state: ServiceRequest) -> datetime | None:
    """When the pending stage's reminder or expiry falls next, while the request awaits
    approval (the service stores it as the request's ``approval`` timer)."""
    if state.state is not S.AWAITING_APPROVAL:
        return None
    stage = current_stage(state.approval_stages)
    if stage is None:
        return None
    times = [stage.expire_at] if stage.expire_at is not None else []
    if stage.remind_at is not None and not stage.reminded:
        times.append(stage.remind_at)
    return min(times) if times else None
