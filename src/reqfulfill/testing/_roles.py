"""The role oracle of the state machine: who may run each command, written out on its
own from the role table (not from the decider), so the machine can check the decider
against it."""

from __future__ import annotations

from collections.abc import Iterable

from reqfulfill.model.approval import current_stage
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.request import ServiceRequest

__all__ = ["any_member", "role_allows"]


def _members(catalog: Catalog, group: str | None) -> frozenset[str]:
    if group is None or not catalog.has_group(group):
        return frozenset()
    return frozenset(catalog.group(group).members)


def any_member(catalog: Catalog) -> frozenset[str]:
    """Every member of every group of ``catalog``."""
    return frozenset(m for g in catalog.groups for m in g.members)


def _responsible(catalog: Catalog, state: ServiceRequest) -> str | None:
    if state.group is not None:
        return state.group
    if state.item is not None and catalog.has_item(state.item):
        return catalog.item(state.item).group
    return catalog.triage_group


def _group_or_anyone(catalog: Catalog, group: str | None) -> frozenset[str]:
    """Members of the group; with no group yet, a member of any group may act."""
    return any_member(catalog) if group is None else _members(catalog, group)


def role_allows(
    catalog: Catalog,
    command: str,
    actor: str,
    state: ServiceRequest,
    *,
    task_key: str | None = None,
    approvers: Iterable[str] = (),
) -> bool:
    """Whether the roles let ``actor`` run ``command`` on ``state``.

    The requester's manager (or one of ``approvers``, named by plugins) approves or rejects,
    never the requester; under an approval policy, a pending approver of the current
    stage does; the triage group triages; the responsible group (the
    assigned one, else the item's, else the triage group) assigns, waits, resumes,
    reprioritizes; the assigned group closes and its members claim; a task's group
    (else the responsible one) works the task; the requester confirms or disputes
    delivery and rates; the requester or the responsible group cancels; anyone but
    the system records a reply (the host decides who wrote it). With no
    group yet, a member of any group may act. Written on its own, not from the
    decider, so the machine can use it as an oracle.

    >>> from reqfulfill.testing import demo_catalog
    >>> from reqfulfill.lifecycle import replay, decide, Submit, Context
    >>> from reqfulfill.model.enums import Channel
    >>> from datetime import datetime, timezone
    >>> from reqfulfill.testing import demo_requester
    >>> cat = demo_catalog()
    >>> cmd = Submit(actor="erin.user", request_id="R-1", requester=demo_requester(),
    ...              item="iphone-15", channel=Channel.PORTAL)
    >>> state = replay(decide(None, cmd, Context(cat, datetime(2026, 3, 2, tzinfo=timezone.utc))))
    >>> role_allows(cat, "approve", "max.manager", state)
    True
    >>> role_allows(cat, "approve", "erin.user", state)
    False
    """
    requester = state.requester.id
    if command in ("approve", "reject") and state.approval_stages:
        # an approval policy: a pending approver of the current stage
        stage = current_stage(state.approval_stages)
        pending = stage.pending if stage is not None else ()
        return actor in pending and actor != requester
    if command in ("approve", "reject"):
        allowed = set(approvers)
        if state.requester.manager:
            allowed.add(state.requester.manager)
        return actor in allowed and actor != requester
    if command == "triage":
        return actor in _group_or_anyone(catalog, catalog.triage_group)
    if command in ("assign", "wait", "resume", "reprioritize"):
        return actor in _group_or_anyone(catalog, _responsible(catalog, state))
    if command == "close":
        return actor in _group_or_anyone(catalog, state.group)
    if command == "claim":
        return actor in _members(catalog, state.group)
    if command in ("start_task", "complete_task", "fail_task", "skip_task", "ship"):
        task = next((t for t in state.plan if t.key == task_key), None)
        group = (task.group if task is not None else None) or _responsible(catalog, state)
        return actor in _group_or_anyone(catalog, group)
    if command in ("confirm_delivery", "dispute_delivery", "record_feedback"):
        return actor == requester
    if command == "record_reply":
        return actor not in ("system", "worker")
    if command == "cancel":
        return actor == requester or actor in _group_or_anyone(
            catalog, _responsible(catalog, state)
        )
    raise ValueError(f"no role rule for command {command!r}")
