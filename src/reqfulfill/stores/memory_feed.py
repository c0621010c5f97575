"""The change feed of ``memory://``: positions, subscriptions' checkpoints and leases.

:class:`MemoryFeed` belongs to one :class:`~reqfulfill.stores.memory.MemoryStore`;
the store calls it under its lock (:meth:`MemoryFeed.add` within an append), so a
position is handed out in the order appends commit.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, final

import attrs

from reqfulfill.stores._feed import MemoryTx, Wakeup

__all__ = ["MemoryFeed"]


@attrs.frozen
class _Lease:
    position: int
    owner: str | None = None
    until: datetime | None = None


@final
class MemoryFeed:
    """Every stored event's request id and version in position order (position ``i + 1``
    at index ``i``), and the subscriptions. Not locked itself: its store's lock guards it."""

    def __init__(self) -> None:
        # the request id and version of each stored event, in two parallel columns (the
        # store keeps the events): a pointer and 4 bytes per event, not a tuple each
        self._request_ids: list[str] = []
        self._versions = array("L")
        self._subscriptions: dict[str, _Lease] = {}
        self.wakeup = Wakeup()

    def add(self, request_id: str, first_version: int, count: int) -> None:
        """Give the next positions to an append's ``count`` events, versions counting
        from ``first_version``."""
        self._request_ids.extend(itertools.repeat(request_id, count))
        self._versions.extend(range(first_version, first_version + count))

    def read(self, after: int, limit: int) -> list[tuple[int, str, int]]:
        """(position, request_id, version) after ``after``, up to ``limit``."""
        end = after + limit
        return list(
            zip(
                range(after + 1, end + 1),
                self._request_ids[after:end],
                self._versions[after:end],
                strict=False,  # the range runs past the last position; the columns do not
            )
        )

    def lease(
        self, name: str, owner: str, start: int, now: datetime, lease: timedelta
    ) -> int | None:
        """See ``Store.lease_subscription``."""
        current = self._subscriptions.get(name, _Lease(start))
        if current.owner not in (None, owner) and current.until is not None and current.until > now:
            return None
        self._subscriptions[name] = _Lease(current.position, owner, now + lease)
        return current.position

    def holds(self, name: str, owner: str, expected: int) -> bool:
        """Whether ``owner`` holds ``name`` with its checkpoint at ``expected``."""
        current = self._subscriptions.get(name)
        return current is not None and current.owner == owner and current.position == expected

    def advance(
        self, name: str, owner: str, position: int, now: datetime, lease: timedelta
    ) -> None:
        """Store the checkpoint (the caller checked :meth:`holds`) and renew the lease."""
        self._subscriptions[name] = _Lease(position, owner, now + lease)

    def release(self, name: str, owner: str) -> None:
        """See ``Store.release_subscription``."""
        current = self._subscriptions.get(name)
        if current is not None and current.owner == owner:
            self._subscriptions[name] = _Lease(current.position)

    def position(self, name: str) -> int | None:
        """See ``Store.subscription_position``."""
        current = self._subscriptions.get(name)
        return None if current is None else current.position


def run_apply(apply: Callable[[Any], None] | None) -> MemoryTx:
    """Call ``apply`` with a fresh :class:`MemoryTx` (outside the store's lock: a handler
    may read the store) and return the transaction, to commit once the checkpoint is."""
    tx = MemoryTx()
    if apply is not None:
        apply(tx)
    return tx
