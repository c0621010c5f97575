"""Strategies for approval policies: stages of every kind, and catalogs whose items name
them (:func:`catalogs_with_policies`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill.model.approval import (
    ApprovalMode,
    ApprovalPolicy,
    ApprovalStage,
    Approvers,
    IfNoApprover,
    OnExpiry,
)
from reqfulfill.model.catalog import Catalog
from reqfulfill.testing.strategies._basics import check_ids, lazy, slugs
from reqfulfill.testing.strategies._catalog import catalogs
from reqfulfill.testing.strategies._rules import conditions

__all__ = ["approval_policies", "approval_stages", "catalogs_with_policies"]

_DURATIONS = st.sampled_from(
    [None, timedelta(hours=1), timedelta(hours=4), timedelta(hours=8), timedelta(days=1)]
)


@st.composite
def _stages(
    draw: st.DrawFn, key: str, groups: Mapping[str, tuple[str, ...]], actors: tuple[str, ...]
) -> ApprovalStage:
    kinds = ["manager", "actors"] + (["group"] if groups else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "manager":
        who, size = Approvers(manager=True), 1
    elif kind == "group":
        group = draw(st.sampled_from(sorted(groups)))
        who, size = Approvers(group=group), len(set(groups[group]))
    else:
        listed = draw(st.lists(st.sampled_from(actors), min_size=1, max_size=3, unique=True))
        who, size = Approvers(actors=tuple(listed)), len(listed)
    mode = draw(st.sampled_from(ApprovalMode))
    quorum = None
    if mode is ApprovalMode.QUORUM:
        if size < 1:
            mode = ApprovalMode.ANY
        else:
            quorum = draw(st.integers(1, size))
    return ApprovalStage(
        key=key,
        approvers=who,
        mode=mode,
        quorum=quorum,
        when=draw(st.none() | conditions(max_depth=0)),
        if_no_approver=draw(st.sampled_from(IfNoApprover)),
    )


def approval_stages(
    *,
    key: str = "stage",
    groups: Mapping[str, Sequence[str]] | None = None,
    actors: Sequence[str] = ("ann.approver", "bob.approver", "cy.approver"),
) -> st.SearchStrategy[ApprovalStage]:
    """One valid stage: the requester's manager, a group of ``groups`` (id -> members) or
    some of ``actors``; any mode (a quorum no larger than the approvers it can have);
    sometimes a condition; either ``if_no_approver``.

    >>> stage = approval_stages(groups={"finance": ["fay"]}).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[ApprovalStage]:
        people = check_ids("actors", actors)
        known = {g: tuple(m) for g, m in (groups or {}).items()}
        return _stages(key, known, people)

    return lazy(build)


@st.composite
def _policies(
    draw: st.DrawFn,
    policy_id: str,
    groups: Mapping[str, tuple[str, ...]],
    actors: tuple[str, ...],
    max_stages: int,
) -> ApprovalPolicy:
    keys = draw(st.lists(slugs, min_size=1, max_size=max_stages, unique=True))
    stages = [draw(_stages(key, groups, actors)) for key in keys]
    expire = draw(_DURATIONS)
    escalate = draw(st.booleans()) and expire is not None
    return ApprovalPolicy(
        id=policy_id,
        stages=tuple(stages),
        remind_after=draw(_DURATIONS),
        expire_after=expire,
        on_expiry=OnExpiry.ESCALATE if escalate else OnExpiry.REJECT,
        escalate_to=(draw(st.sampled_from(actors)),) if escalate else (),
    )


def approval_policies(
    *,
    policy_id: str = "policy",
    groups: Mapping[str, Sequence[str]] | None = None,
    actors: Sequence[str] = ("ann.approver", "bob.approver", "cy.approver"),
    max_stages: int = 3,
) -> st.SearchStrategy[ApprovalPolicy]:
    """Valid policies of 1 to ``max_stages`` stages (see :func:`approval_stages`), with
    or without reminders and expiry, rejecting or escalating to one of ``actors``.

    >>> policy = approval_policies().example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[ApprovalPolicy]:
        if isinstance(max_stages, bool) or not isinstance(max_stages, int) or max_stages < 1:
            raise InvalidArgument(f"max_stages={max_stages!r} must be a whole number >= 1")
        people = check_ids("actors", actors)
        known = {g: tuple(m) for g, m in (groups or {}).items()}
        return _policies(policy_id, known, people, max_stages)

    return lazy(build)


@st.composite
def _with_policies(draw: st.DrawFn, base: Catalog, actors: tuple[str, ...]) -> Catalog:
    groups = {g.id: tuple(g.members) for g in base.groups}
    policy_ids = draw(st.lists(slugs, min_size=1, max_size=2, unique=True))
    policies = [draw(_policies(pid, groups, actors, 3)) for pid in policy_ids]
    items = []
    for item in base.items:
        if item.requires_approval:
            item = attrs.evolve(item, approval=draw(st.none() | st.sampled_from(policy_ids)))
        items.append(item)
    # attrs' ``converter=tuple`` confuses mypy's view of the argument types
    catalog = attrs.evolve(
        base,
        items=tuple(items),  # type: ignore[arg-type]
        approval_policies=tuple(policies),  # type: ignore[arg-type]
    )
    return catalog.validate()


def catalogs_with_policies(
    *,
    max_items: int = 4,
    actors: Sequence[str] = ("ann.approver", "bob.approver", "cy.approver"),
) -> st.SearchStrategy[Catalog]:
    """:func:`~reqfulfill.testing.strategies.catalogs` whose items needing approval
    mostly name one of one or two drawn approval policies (over the catalog's groups
    and ``actors``). They pass ``Catalog.validate`` and round-trip through their data form.

    >>> catalog = catalogs_with_policies().example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Catalog]:
        people = check_ids("actors", actors)
        return catalogs(max_items=max_items).flatmap(lambda c: _with_policies(c, people))

    return lazy(build)
