"""What every store shares for the change feed: the :class:`StoredEvent` that
``Store.read_all`` returns, the checks of its arguments and of subscription names,
and :class:`Wakeup`, the in-process signal behind ``Store.wait_for_work``."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import attrs

from reqfulfill.model.errors import ValidationError
from reqfulfill.model.events import Event

__all__ = [
    "MAX_READ",
    "MemoryTx",
    "StoredEvent",
    "Wakeup",
    "check_position",
    "check_read_all",
    "check_subscription_name",
]

MAX_READ = 10_000
"""The largest ``limit`` of one :meth:`~reqfulfill.stores.Store.read_all` call."""

_MAX_NAME = 64


@attrs.frozen
class StoredEvent:
    """An event as the change feed gives it: its global ``position`` (strictly
    increasing across the store, in commit order), its request and its place in that
    request's stream (``version``)."""

    position: int
    request_id: str
    event: Event
    version: int


_MAX_POSITION = 2**63 - 1  # a 64-bit integer column's largest value


def check_position(path: str, value: object) -> int:
    """``value`` as a feed position (an ``int`` in 0..2**63-1), else ``ValidationError``
    at ``path``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_POSITION:
        raise ValidationError.single(path, value, "expected a whole number >= 0 (64-bit)")
    return value


def check_read_all(after: object, limit: object) -> tuple[int, int]:
    """The arguments of ``read_all`` checked: ``after`` >= 0, ``limit`` in 1..10,000."""
    position = check_position("after", after)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_READ:
        raise ValidationError.single("limit", limit, f"expected a whole number in 1..{MAX_READ}")
    return position, limit


def check_subscription_name(name: object) -> str:
    """A subscription name: a plain ASCII identifier (``crm_sync``), at most 64 characters."""
    if (
        not isinstance(name, str)
        or not name.isascii()
        or not name.isidentifier()
        or len(name) > _MAX_NAME
    ):
        raise ValidationError.single(
            "name",
            name,
            f"a subscription name is a plain identifier (letters, digits, _), at most {_MAX_NAME}",
        )
    return name


class Wakeup:
    """A signal for threads of one process that wait for work (``Store.wait_for_work``).

    :meth:`bump` says "something may be new"; :meth:`wait` returns ``True`` as soon as
    there was a bump the calling thread has not seen yet (at once if one came while
    it was busy), ``False`` after ``timeout`` seconds without one. Each thread keeps
    its own mark, so a worker and a subscription in two threads of one process are
    both woken by one bump. A thread's first wait returns ``True`` at once: it cannot
    know what happened before it started looking.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        # each bump writes a new number (``next`` of a counter is atomic): a thread that
        # saw one value sees any later bump as a change, whatever order two bumps land in
        self._counter = itertools.count(1)
        self._generation = 0
        self._waiting = 0  # threads inside ``wait_for``, counted under the condition
        self._seen = threading.local()

    def bump(self) -> None:
        """Wake every waiting thread, and every thread's next wait.

        The condition is taken only when a thread waits: a waiter counts itself before
        it checks the generation, so either it sees this bump's number, or this bump
        sees it counted and notifies it (the usual append, with nobody waiting, takes
        no lock)."""
        self._generation = next(self._counter)
        if self._waiting:
            with self._condition:
                self._condition.notify_all()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a bump this thread has not seen."""
        seen: int | None = getattr(self._seen, "generation", None)
        with self._condition:
            if seen is None or seen != self._generation:
                self._seen.generation = self._generation
                return True
            self._waiting += 1
            try:
                woken = self._condition.wait_for(
                    lambda: self._generation != seen, timeout=max(timeout, 0.0)
                )
            finally:
                self._waiting -= 1
            self._seen.generation = self._generation
            return woken


class MemoryTx:
    """The ``tx`` a ``handler(event, tx)`` subscription gets on ``memory://``.

    The memory store has no tables of the host's, so what the handler changes goes
    through :meth:`on_commit`: the callbacks run, in order, only when the checkpoint
    that covers the event is stored, and never when the batch is rolled back (a
    handler raised, or the subscription's lease was lost), which makes an in-memory
    projection exactly-once like a table written through a SQL store's ``tx``.
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], Any]] = []

    def on_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback()`` when (and only if) this transaction commits."""
        self._callbacks.append(callback)

    def commit(self) -> None:
        """Run the callbacks (the store calls this once the checkpoint is stored)."""
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()
