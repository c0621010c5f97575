"""What a decision needs besides the state: :class:`Context` (catalog, time, rules,
SLA policy, directory), the :class:`Directory` protocol and :class:`StaticDirectory`,
and the rules the decider falls back to when the context names none.

Nothing in the decider reads a clock, a store or a plugin: the service passes ``now``
and a snapshot of the directory here. :mod:`reqfulfill.rules` is imported on first use
(:func:`rules_api`), so that ``import reqfulfill`` stays short; it imports nothing of
the lifecycle, so the late import makes no cycle.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from reqfulfill.feedback import FeedbackPolicy
from reqfulfill.model.catalog import Catalog, Requester, ServiceItem
from reqfulfill.model.enums import Channel

if TYPE_CHECKING:
    from reqfulfill.rules import Rules
    from reqfulfill.sla import SlaPolicy

__all__ = [
    "Context",
    "Directory",
    "RulesApi",
    "StaticDirectory",
    "facts",
    "rules_api",
    "rules_of",
]


class Directory(Protocol):
    """Who is in a group, who is available, how much open work each agent has.

    The service builds one from the catalog and the directory hooks; tests can
    pass a :class:`StaticDirectory`.
    """

    def members(self, group_id: str) -> tuple[str, ...]:
        """The agents of a group."""
        ...

    def available(self, agent_id: str) -> bool:
        """True when the agent can take work now."""
        ...

    def open_work(self, agent_id: str) -> int:
        """How many open requests the agent holds."""
        ...

    def assigned_count(self, group_id: str) -> int:
        """How many requests were assigned to an agent of the group so far (round robin)."""
        ...


@attrs.frozen
class StaticDirectory:
    """A directory given as values: group members, unavailable agents, open work."""

    groups: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    unavailable: frozenset[str] = frozenset()
    work: Mapping[str, int] = attrs.field(factory=dict)
    assigned: Mapping[str, int] = attrs.field(factory=dict)

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> StaticDirectory:
        """Members as the catalog lists them; everyone available; no open work."""
        return cls(groups={g.id: tuple(g.members) for g in catalog.groups})

    def members(self, group_id: str) -> tuple[str, ...]:
        """The agents of a group."""
        return tuple(self.groups.get(group_id, ()))

    def available(self, agent_id: str) -> bool:
        """True unless the agent is listed as unavailable."""
        return agent_id not in self.unavailable

    def open_work(self, agent_id: str) -> int:
        """Open requests held by the agent."""
        return self.work.get(agent_id, 0)

    def assigned_count(self, group_id: str) -> int:
        """Assignments to agents of the group so far."""
        return self.assigned.get(group_id, 0)


# slots=False: built per decision (see ServiceRequest)
@attrs.frozen(slots=False)
class Context:
    """What ``decide`` needs besides the state: catalog, policy, time, directory.

    ``approvers`` are the actors a plugin adds as approvers (besides the
    requester's manager; the requester never approves). ``survey`` says whether
    closing the request now invites feedback (the service samples it with the
    ``feedback`` policy).
    """

    catalog: Catalog
    now: datetime
    rules: Rules | None = None
    sla: SlaPolicy | None = None
    directory: Directory | None = None
    approvers: frozenset[str] = frozenset()
    feedback: FeedbackPolicy = attrs.field(factory=FeedbackPolicy)
    survey: bool = True
    delegate: Callable[[str], str | None] | None = None

    def members(self, group_id: str) -> tuple[str, ...]:
        """Members of a group, from the directory or else the catalog."""
        if self.directory is not None:
            return self.directory.members(group_id)
        if self.catalog.has_group(group_id):
            return tuple(self.catalog.group(group_id).members)
        return ()

    def is_member(self, group_id: str | None, actor: str) -> bool:
        """True when ``actor`` belongs to the group."""
        return group_id is not None and actor in self.members(group_id)

    def is_any_member(self, actor: str) -> bool:
        """True when ``actor`` belongs to some group of the catalog."""
        return any(actor in self.members(g.id) for g in self.catalog.groups)


@attrs.frozen
class RulesApi:
    """The parts of :mod:`reqfulfill.rules` the decider calls: the default
    :class:`~reqfulfill.rules.Rules`, ``build_facts`` and ``matches``."""

    default: Rules
    build_facts: Callable[..., dict[str, object]]
    matches: Callable[..., bool]


@functools.cache
def rules_api() -> RulesApi:
    """:mod:`reqfulfill.rules`, imported on first use (``import reqfulfill`` stays
    short), once."""
    from reqfulfill.rules import Rules, build_facts, matches

    return RulesApi(Rules(), build_facts, matches)


def rules_of(context: Context) -> Rules:
    """The context's rules, or the default rules when it names none."""
    if context.rules is not None:
        return context.rules
    return rules_api().default


def facts(
    requester: Requester, channel: Channel, answers: Mapping[str, Any], item: ServiceItem | None
) -> dict[str, object]:
    """The facts routing rules and plan conditions are matched against."""
    return rules_api().build_facts(item=item, requester=requester, channel=channel, answers=answers)
