"""Approval policies: who approves a request, in which stages, and how each stage stands.

A catalog's ``approval_policies`` hold :class:`ApprovalPolicy` values: ordered
:class:`ApprovalStage` s, each naming its :class:`Approvers` (the requester's manager,
a catalog group, or listed actors), how many of them must agree (:class:`ApprovalMode`),
an optional rule-language ``when`` condition, and what happens when nobody is left to
approve (:class:`IfNoApprover`). A policy may remind pending approvers and expire a
stage after some business time (:class:`OnExpiry`).

A request's :attr:`~reqfulfill.model.request.ServiceRequest.approval_stages` are
:class:`StageStatus` values, folded from the approval events: which stages are done,
skipped or pending, and who approved. :func:`pending_approvers` is who the request waits
for now (the stores index it for ``pending_approvals``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from reqfulfill.model.enums import RequestState
from reqfulfill.model.errors import Problem

if TYPE_CHECKING:
    from reqfulfill.model.request import ServiceRequest

__all__ = [
    "ApprovalMode",
    "ApprovalPolicy",
    "ApprovalStage",
    "Approvers",
    "IfNoApprover",
    "OnExpiry",
    "StageState",
    "StageStatus",
    "current_stage",
    "pending_approvers",
    "policy_problems",
]


class ApprovalMode(enum.Enum):
    """How many of a stage's approvers must approve: one, every one, or ``quorum``."""

    ANY = "any"
    ALL = "all"
    QUORUM = "quorum"


class OnExpiry(enum.Enum):
    """What an expired stage does: reject the request, or add ``escalate_to``."""

    REJECT = "reject"
    ESCALATE = "escalate"


class IfNoApprover(enum.Enum):
    """What a stage with nobody eligible to approve does: reject, or skip the stage."""

    REJECT = "reject"
    SKIP = "skip"


class StageState(enum.Enum):
    """Where a stage of a request stands."""

    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    REJECTED = "rejected"


def _doc(text: str) -> dict[str, Any]:
    """A field's description in its data form (the catalog's JSON Schema)."""
    return {"doc": text}


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value)


def _stage_tuple(value: Iterable[ApprovalStage]) -> tuple[ApprovalStage, ...]:
    return tuple(value)


@attrs.frozen
class Approvers:
    """Who approves in a stage. The data form is one of ``"manager"`` (the requester's
    manager), ``{ group = "finance" }`` (the members of a catalog group when the stage
    starts) or a list of actor ids."""

    manager: bool = False
    group: str | None = None
    actors: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def describe(self) -> str:
        """``manager``, ``group finance`` or the listed actors, for diagrams and errors."""
        if self.manager:
            return "manager"
        if self.group is not None:
            return f"group {self.group}"
        return ", ".join(self.actors) or "nobody"


@attrs.frozen
class ApprovalStage:
    """One stage of a policy: its approvers, how many must approve, when it applies."""

    key: str = attrs.field(metadata=_doc("the stage's name, unique in its policy"))
    approvers: Approvers = attrs.field(
        metadata=_doc(
            '"manager" (the requester\'s manager), { group = "<id>" } (its members when '
            "the stage starts) or a list of actor ids"
        )
    )
    mode: ApprovalMode = attrs.field(
        default=ApprovalMode.ANY,
        metadata=_doc("any: one approval completes it; all: every approver; quorum: quorum"),
    )
    quorum: int | None = attrs.field(
        default=None, metadata=_doc('with mode = "quorum": how many approvals complete it')
    )
    when: Mapping[str, Any] | None = attrs.field(
        default=None, metadata=_doc("a rule-language condition: the stage applies only then")
    )
    if_no_approver: IfNoApprover = attrs.field(
        default=IfNoApprover.REJECT,
        metadata=_doc("what a stage nobody can approve does: reject the request, or skip"),
    )


@attrs.frozen
class ApprovalPolicy:
    """Stages run in order; business-time reminders and expiry apply to each stage."""

    id: str = attrs.field(metadata=_doc("the policy's id, named by items' approval"))
    stages: tuple[ApprovalStage, ...] = attrs.field(
        converter=_stage_tuple, metadata=_doc("the stages, run in order")
    )
    remind_after: timedelta | None = attrs.field(
        default=None, metadata=_doc("business time until pending approvers are reminded, once")
    )
    expire_after: timedelta | None = attrs.field(
        default=None, metadata=_doc("business time until a stage expires")
    )
    on_expiry: OnExpiry = attrs.field(
        default=OnExpiry.REJECT,
        metadata=_doc("reject the request, or escalate: add escalate_to and start again"),
    )
    escalate_to: tuple[str, ...] = attrs.field(
        default=(),
        converter=_str_tuple,
        metadata=_doc('approvers added to an expired stage (on_expiry = "escalate")'),
    )

    def stage(self, key: str) -> ApprovalStage:
        """The stage with this key (``KeyError`` if none)."""
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)


@attrs.frozen
class StageStatus:
    """How one approval stage of a request stands.

    ``approvers`` were fixed when the stage started (delegation applied, the requester
    left out); ``needed`` approvals complete it; ``approved_by`` lists who approved, in
    order. ``remind_at`` and ``expire_at`` are when the reminder and the expiry fall
    (``None``: never); ``reason`` says why a stage was skipped or rejected.
    """

    key: str
    state: StageState
    policy: str = ""
    approvers: tuple[str, ...] = ()
    mode: ApprovalMode = ApprovalMode.ANY
    needed: int = 0
    approved_by: tuple[str, ...] = ()
    reason: str = ""
    started_at: datetime | None = None
    remind_at: datetime | None = None
    expire_at: datetime | None = None
    reminded: bool = False

    @property
    def pending(self) -> tuple[str, ...]:
        """The approvers who have not approved yet (while the stage is pending)."""
        if self.state is not StageState.PENDING:
            return ()
        return tuple(a for a in self.approvers if a not in self.approved_by)

    def replace(self, **changes: Any) -> StageStatus:
        """A copy with ``changes``."""
        return attrs.evolve(self, **changes)


def current_stage(stages: tuple[StageStatus, ...]) -> StageStatus | None:
    """The pending stage, if one is."""
    for stage in reversed(stages):
        if stage.state is StageState.PENDING:
            return stage
    return None


def pending_approvers(request: ServiceRequest) -> tuple[str, ...]:
    """Who the request waits for now: the current stage's approvers who have not
    approved; for a request without stages (``requires_approval`` alone) its approvers;
    nobody once it no longer awaits approval."""
    if request.state is not RequestState.AWAITING_APPROVAL:
        return ()
    stage = current_stage(request.approval_stages)
    if stage is not None:
        return stage.pending
    if request.approval_stages:
        return ()
    return request.approvers


ConditionCheck = Callable[[Mapping[str, Any], str], list[Problem]]


def _stage_problems(
    where: str,
    stage: ApprovalStage,
    groups: Mapping[str, tuple[str, ...]],
    conditions: ConditionCheck | None,
) -> list[Problem]:
    found: list[Problem] = []
    if not stage.key.strip():
        found.append(Problem(f"{where}.key", stage.key, "a stage needs a key"))
    who = stage.approvers
    kinds = sum((who.manager, who.group is not None, bool(who.actors)))
    if kinds != 1:
        found.append(
            Problem(
                f"{where}.approvers",
                who.describe(),
                'name one of "manager", { group = "<id>" } or a list of actor ids',
            )
        )
    size: int | None = None
    if who.group is not None:
        if who.group not in groups:
            found.append(
                Problem(f"{where}.approvers.group", who.group, f"unknown group {who.group!r}")
            )
        else:
            size = len(set(groups[who.group]))
    elif who.manager:
        size = 1
    elif who.actors:
        for ai, actor in enumerate(who.actors):
            if not actor.strip():
                found.append(Problem(f"{where}.approvers[{ai}]", actor, "an empty actor id"))
        size = len(set(who.actors))
    if stage.quorum is not None:
        if stage.mode is not ApprovalMode.QUORUM:
            found.append(Problem(f"{where}.quorum", stage.quorum, 'quorum needs mode = "quorum"'))
        elif stage.quorum < 1:
            found.append(Problem(f"{where}.quorum", stage.quorum, "a quorum is at least 1"))
        elif size is not None and stage.quorum > size:
            found.append(
                Problem(
                    f"{where}.quorum",
                    stage.quorum,
                    f"larger than the {size} approver(s) the stage can have",
                )
            )
    elif stage.mode is ApprovalMode.QUORUM:
        found.append(Problem(f"{where}.quorum", None, 'mode = "quorum" needs a quorum'))
    if stage.when is not None and conditions is not None:
        found.extend(conditions(stage.when, f"{where}.when"))
    return found


def policy_problems(
    policies: tuple[ApprovalPolicy, ...],
    groups: Mapping[str, tuple[str, ...]],
    items: tuple[tuple[str | None, bool], ...],
    conditions: ConditionCheck | None = None,
) -> list[Problem]:
    """Every problem of the catalog's approval policies: duplicate ids and stage keys,
    unknown groups, quorums that cannot be met, bad conditions and durations; and of the
    items (``(approval, requires_approval)`` each) that name an unknown policy."""
    found: list[Problem] = []
    seen: set[str] = set()
    for pi, policy in enumerate(policies):
        where = f"approval_policies[{pi}]"
        if policy.id in seen:
            found.append(Problem(f"{where}.id", policy.id, f"duplicate id {policy.id!r}"))
        seen.add(policy.id)
        if not policy.id.strip():
            found.append(Problem(f"{where}.id", policy.id, "a policy needs an id"))
        if not policy.stages:
            found.append(Problem(f"{where}.stages", [], "a policy needs at least one stage"))
        keys: set[str] = set()
        for si, stage in enumerate(policy.stages):
            if stage.key in keys:
                found.append(Problem(f"{where}.stages[{si}].key", stage.key, "duplicate stage key"))
            keys.add(stage.key)
            found.extend(_stage_problems(f"{where}.stages[{si}]", stage, groups, conditions))
        for name, value in (
            ("remind_after", policy.remind_after),
            ("expire_after", policy.expire_after),
        ):
            if value is not None and value <= timedelta(0):
                found.append(Problem(f"{where}.{name}", str(value), "must be longer than zero"))
        if policy.on_expiry is OnExpiry.ESCALATE and not policy.escalate_to:
            found.append(
                Problem(f"{where}.escalate_to", [], 'on_expiry = "escalate" needs escalate_to')
            )
        if policy.on_expiry is OnExpiry.ESCALATE and policy.expire_after is None:
            found.append(Problem(f"{where}.on_expiry", "escalate", "escalation needs expire_after"))
    for ii, (approval, requires) in enumerate(items):
        if approval is None:
            continue
        if approval not in seen:
            found.append(
                Problem(f"items[{ii}].approval", approval, f"unknown approval policy {approval!r}")
            )
        elif not requires:
            found.append(
                Problem(
                    f"items[{ii}].requires_approval",
                    False,
                    f"the item names approval policy {approval!r}: requires_approval must be true",
                )
            )
    return found
