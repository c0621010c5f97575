"""Intake: a new request checked and recorded, then sent where it goes first --
approval, triage, or fulfillment (routed, prioritized, its plan started, its SLA
clock started).

:func:`submit` handles :class:`~reqfulfill.lifecycle.command_types.Submit`;
:func:`enter_fulfillment` is also where an approved or triaged request goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reqfulfill.lifecycle.approvals import item_policy, start_policy
from reqfulfill.lifecycle.batch import Batch
from reqfulfill.lifecycle.clock import retarget_sla, start_sla
from reqfulfill.lifecycle.command_types import SYSTEM, Submit
from reqfulfill.lifecycle.context import Context, StaticDirectory, facts, rules_of
from reqfulfill.lifecycle.fold import start
from reqfulfill.lifecycle.guards import approvers
from reqfulfill.lifecycle.plan import plan_tasks
from reqfulfill.lifecycle.progress import advance, notify
from reqfulfill.model import events as ev
from reqfulfill.model._json import json_problem
from reqfulfill.model.catalog import Requester, ServiceItem
from reqfulfill.model.enums import Channel, Impact, Urgency
from reqfulfill.model.errors import Problem, ValidationError, nesting_problem, short_repr
from reqfulfill.model.request import Assignment

if TYPE_CHECKING:
    from reqfulfill.rules import Routing

__all__ = [
    "enter_fulfillment",
    "prioritize",
    "request_approval",
    "submit",
    "submitted_event",
]


def _validate_answers(answers: object) -> Mapping[str, Any]:
    if not isinstance(answers, Mapping):
        raise ValidationError.single("answers", answers, "answers must be a table")
    bad = [k for k in answers if not isinstance(k, str)]
    if bad:
        raise ValidationError.single(
            f"answers.{short_repr(bad[0])}", bad[0], "answer keys must be strings"
        )
    deep = nesting_problem(dict(answers), "answers")
    if deep is not None:
        raise ValidationError([deep])
    not_json = json_problem(answers, "answers")
    if not_json is not None:
        raise ValidationError([not_json])
    return dict(answers)


def _submit_problems(command: Submit, context: Context) -> list[Problem]:
    catalog = context.catalog
    problems: list[Problem] = []
    if not isinstance(command.requester, Requester):
        problems.append(Problem("requester", command.requester, "expected a Requester"))
    if not isinstance(command.channel, Channel):
        problems.append(Problem("channel", command.channel, "expected a Channel"))
    if command.item is not None and (
        not isinstance(command.item, str) or not catalog.has_item(command.item)
    ):
        problems.append(
            Problem("item", command.item, f"unknown service item {short_repr(command.item)}")
        )
    if command.item is None and command.channel is Channel.PORTAL:
        problems.append(Problem("item", None, "a portal request must name a catalog item"))
    if not command.request_id or not isinstance(command.request_id, str):
        problems.append(Problem("request_id", command.request_id, "a request needs an id"))
    if isinstance(command.suggestions, tuple):
        problems += _suggestion_problems(command, context)
    return problems


def submit(command: Submit, context: Context) -> Batch:
    """Check a new request and record it; send it to approval, triage or fulfillment.
    Returns the batch of its events."""
    problems = _submit_problems(command, context)
    if problems:
        raise ValidationError(problems)
    first = submitted_event(command, context.now, _validate_answers(command.answers))
    batch = Batch(start(first), context, command.actor, [first])
    if command.item is None:
        _queue_for_triage(batch, command.suggestions)
        _triage_by_suggestion(batch, command.suggestions)
    elif context.catalog.item(command.item).requires_approval:
        request_approval(batch)
    else:
        enter_fulfillment(batch)
    return batch


def submitted_event(
    command: Submit, now: datetime, answers: Mapping[str, Any] | None = None
) -> ev.RequestSubmitted:
    """The first event a valid ``Submit`` records (hooks use it to see the new request);
    ``answers`` are the command's, checked (the command's own when not given)."""
    return ev.RequestSubmitted(
        event_id=f"{command.request_id}/1",
        request_id=command.request_id,
        at=now,
        actor=command.actor,
        requester=command.requester,
        item=command.item,
        channel=command.channel,
        answers=dict(command.answers) if answers is None else answers,
        message_id=command.message_id,
    )


def request_approval(batch: Batch) -> None:
    """Ask the approvers, and notify each: the stages of the item's approval policy, or
    without one the requester's manager and the approvers plugins add (any one of them).
    A policy none of whose stages applies approves the request at once."""
    policy = item_policy(batch)
    if policy is not None:
        if start_policy(batch, policy):
            batch.emit(ev.RequestApproved, actor=SYSTEM)
            enter_fulfillment(batch)
        return
    who = approvers(batch)
    batch.emit(ev.ApprovalRequested, actor=SYSTEM, approvers=who)
    request = batch.draft
    for approver in who:
        notify(
            batch,
            "approval_requested",
            approver,
            f"Approval needed: {batch.request_id}",
            f"{request.requester.name} asks for {request.item}. Please approve or reject.",
        )


def _queue_for_triage(batch: Batch, suggestions: tuple[ev.ItemSuggestion, ...]) -> None:
    context = batch.context
    group = context.catalog.triage_group
    rule = "triage group"
    reason = "catalog triage group"
    if group is None:
        routing = rules_of(context).route(_facts(batch, None), item=None)
        group, rule, reason = (
            routing.group,
            routing.assignment_rule or "",
            routing.assignment_reason,
        )
    batch.emit(ev.RequestQueuedForTriage, actor=SYSTEM, group=group, suggestions=suggestions)
    if group is not None:
        batch.emit(ev.RequestAssigned, actor=SYSTEM, group=group, rule=rule, reason=reason)
    # The SLA clock starts at triage: triage is fulfillment work.
    routing = rules_of(context).route(_facts(batch, None), item=None)
    impact = routing.impact or Impact.MEDIUM
    urgency = routing.urgency or Urgency.MEDIUM
    prioritize(batch, impact, urgency, routing.priority_rule or "triage default", "")
    start_sla(batch)


def _triage_by_suggestion(batch: Batch, suggestions: tuple[ev.ItemSuggestion, ...]) -> None:
    """Triage to the top suggestion when its confidence reaches the channel's
    ``auto_triage`` threshold (no threshold: an agent triages), then go on as a
    triaged request does: to approval, or to fulfillment."""
    threshold = batch.context.catalog.intake.threshold(batch.draft.channel)
    if threshold is None or not suggestions or suggestions[0].confidence < threshold:
        return
    top = suggestions[0]
    batch.emit(
        ev.RequestTriaged,
        actor=SYSTEM,
        item=top.item,
        rule="suggestion",
        confidence=top.confidence,
        terms=top.terms,
    )
    if batch.context.catalog.item(top.item).requires_approval:
        request_approval(batch)
    else:
        enter_fulfillment(batch)


def _suggestion_problems(command: Submit, context: Context) -> list[Problem]:
    """Suggestions must be catalog items with a confidence between 0 and 1, and come
    only with a request that names no item."""
    problems: list[Problem] = []
    if command.suggestions and command.item is not None:
        problems.append(
            Problem("suggestions", len(command.suggestions), "only a request without an item")
        )
    for index, suggestion in enumerate(command.suggestions):
        where = f"suggestions[{index}]"
        if not isinstance(suggestion, ev.ItemSuggestion):
            problems.append(Problem(where, suggestion, "expected an ItemSuggestion"))
            continue
        if not isinstance(suggestion.item, str) or not context.catalog.has_item(suggestion.item):
            problems.append(Problem(f"{where}.item", suggestion.item, "not an item of the catalog"))
        confidence = suggestion.confidence
        if not isinstance(confidence, float | int) or not 0.0 <= confidence <= 1.0:
            problems.append(
                Problem(f"{where}.confidence", confidence, "a confidence between 0 and 1")
            )
    return problems


def _facts(batch: Batch, item: ServiceItem | None) -> dict[str, object]:
    request = batch.draft
    return facts(request.requester, request.channel, request.answers, item)


def prioritize(batch: Batch, impact: Impact, urgency: Urgency, rule: str, reason: str) -> None:
    """Set impact and urgency, and the priority the rules' matrix gives them."""
    priority = rules_of(batch.context).matrix.priority(impact, urgency)
    batch.emit(
        ev.RequestPrioritized,
        actor=SYSTEM if rule not in ("manual", "triage") else batch.actor,
        impact=impact,
        urgency=urgency,
        priority=priority,
        rule=rule,
        reason=reason,
    )


def enter_fulfillment(batch: Batch) -> None:
    """Route (assign, categorize, prioritize), instantiate the plan, start the SLA."""
    request = batch.draft
    context = batch.context
    item = context.catalog.item(request.item) if request.item else None
    known = _facts(batch, item)
    _route(batch, rules_of(context).route(known, item=item))
    tasks, left_out = plan_tasks(context, item, known)
    batch.emit(
        ev.PlanStarted,
        actor=SYSTEM,
        plan=item.plan if item else None,
        tasks=tasks,
        left_out=left_out,
        rule="item plan" if item else "no item: one manual task",
    )
    if request.sla.target is None:
        start_sla(batch)
    else:
        retarget_sla(batch)
    advance(batch)


def _route(batch: Batch, routing: Routing) -> None:
    """Assign, categorize and prioritize as routed, leaving what was set by hand."""
    request = batch.draft
    manual = set(request.manual)
    group = routing.group if routing.group else request.group
    impact = request.impact if "impact" in manual else routing.impact
    urgency = request.urgency if "urgency" in manual else routing.urgency
    if group is not None and "group" not in manual:
        agent = _pick_agent(batch.context, group, routing.strategy)
        if request.assignment != Assignment(group, agent):
            batch.emit(
                ev.RequestAssigned,
                actor=SYSTEM,
                group=group,
                agent=agent,
                strategy=routing.strategy,
                rule=routing.assignment_rule,
                reason=routing.assignment_reason,
            )
    if "category" not in manual and routing.category is not None:
        batch.emit(
            ev.RequestCategorized,
            actor=SYSTEM,
            category=routing.category,
            rule=routing.category_rule,
            reason=routing.category_reason,
        )
    if impact is None or urgency is None:
        return
    rule = routing.priority_rule or "item default"
    reason = routing.priority_reason
    if "impact" in manual and "urgency" in manual:
        rule, reason = "manual", "set in triage"
    if (request.impact, request.urgency) != (impact, urgency) or request.priority is None:
        prioritize(batch, impact, urgency, rule, reason)


def _pick_agent(context: Context, group: str, strategy: str) -> str | None:
    if strategy == "queue":
        return None
    directory = context.directory or StaticDirectory.from_catalog(context.catalog)
    members = [m for m in directory.members(group) if directory.available(m)]
    if not members:
        return None
    if strategy == "round_robin":
        ordered = sorted(members)
        return ordered[directory.assigned_count(group) % len(ordered)]
    if strategy == "least_loaded":
        return min(members, key=lambda m: (directory.open_work(m), m))
    return None
