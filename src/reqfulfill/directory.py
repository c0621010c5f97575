"""The directory the service gives each decision: group members, availability, work.

:class:`ServiceDirectory` implements :class:`reqfulfill.lifecycle.Directory` for one
decision from the catalog, the directory hooks and the store.
:class:`DirectoryMemory` is what a service keeps between decisions so that a
snapshot costs no more than it must: the catalog's group members sorted once, and
each group's round-robin count read from the store once and then advanced by the
assignments the service stores itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import RequestState
from reqfulfill.model.events import Event, RequestAssigned
from reqfulfill.plugins import PluginHost
from reqfulfill.stores import Store

__all__ = ["DirectoryMemory", "ServiceDirectory"]

_HELD = (RequestState.TRIAGE, RequestState.IN_FULFILLMENT, RequestState.WAITING)
"""The states in which a request counts as an agent's open work."""


class DirectoryMemory:
    """What one service remembers between directory snapshots.

    Not shared between services: the round-robin counts advance only with the
    assignments this service stores (another process's assignments are seen the
    next time the service starts).
    """

    def __init__(self) -> None:
        self._catalog: Catalog | None = None
        self._members: dict[str, tuple[str, ...]] = {}
        self._turns: dict[str, int] = {}

    def catalog_members(self, catalog: Catalog, group_id: str) -> tuple[str, ...]:
        """The catalog's members of ``group_id``, sorted (``()`` for an unknown group).

        Sorted once per group for as long as the service keeps the same catalog.
        """
        if self._catalog is not catalog:
            self._catalog, self._members = catalog, {}
        members = self._members.get(group_id)
        if members is None:
            group = catalog.group(group_id) if catalog.has_group(group_id) else None
            members = tuple(sorted(set(group.members) if group is not None else ()))
            self._members[group_id] = members
        return members

    def assigned_count(self, group_id: str, store: Store) -> int:
        """How many of the group's requests an agent holds: counted from ``store`` the
        first time, then advanced by :meth:`count_assignments`."""
        turns = self._turns
        if group_id not in turns:
            turns[group_id] = sum(1 for s in store.query(group=group_id) if s.agent is not None)
        return turns[group_id]

    def count_assignments(self, events: Iterable[Event]) -> None:
        """Advance the round-robin counts by the round-robin picks among ``events``
        (stored just now) in groups already counted."""
        turns = self._turns
        if not turns:
            return
        for event in events:
            if (
                isinstance(event, RequestAssigned)
                and event.strategy == "round_robin"
                and event.agent is not None
                and event.group in turns
            ):
                turns[event.group] += 1


class ServiceDirectory:
    """The directory snapshot for one decision: catalog members and hook members,
    availability from the hook at ``at``, open work counted from the store (only
    when a decision asks)."""

    def __init__(
        self,
        catalog: Catalog,
        plugins: PluginHost,
        store: Store,
        at: datetime,
        memory: DirectoryMemory,
    ) -> None:
        self._catalog = catalog
        self._plugins = plugins
        self._store = store
        self._at = at
        self._memory = memory
        self._members: dict[str, tuple[str, ...]] = {}

    def members(self, group_id: str) -> tuple[str, ...]:
        """The group's agents: the catalog's and those the ``group_members`` hook adds."""
        members = self._members.get(group_id)
        if members is None:
            catalog = self._catalog
            if not self._plugins.pm.hook.reqfulfill_group_members.get_hookimpls():
                # no plugin adds members (asked per decision): the catalog's alone
                members = self._memory.catalog_members(catalog, group_id)
            else:
                base = (
                    set(catalog.group(group_id).members) if catalog.has_group(group_id) else set()
                )
                base |= self._plugins.group_members(group_id)
                members = tuple(sorted(base))
            self._members[group_id] = members
        return members

    def available(self, agent_id: str) -> bool:
        """Whether the ``agent_available`` hook lets the agent take work now."""
        return self._plugins.agent_available(agent_id, self._at)

    def open_work(self, agent_id: str) -> int:
        """How many requests in triage, fulfillment or on hold the agent holds."""
        store = self._store
        return sum(len(store.query(agent=agent_id, state=s.value)) for s in _HELD)

    def assigned_count(self, group_id: str) -> int:
        """How many of the group's requests an agent holds (the round-robin turn)."""
        return self._memory.assigned_count(group_id, self._store)
