"""Durable subscriptions to the change feed: every stored event, in position order,
to a handler, with the checkpoint in the store's own database.

Made with :meth:`reqfulfill.FulfillmentService.subscribe` (or :class:`Subscription`
on a store directly)::

    sub = service.subscribe("board", handler)
    sub.run_pending()        # what is there now; returns how many events
    sub.run_forever()        # until SIGTERM/SIGINT or sub.stop()

**Two forms of handler.** ``handler(event)`` is called with each
:class:`~reqfulfill.stores.StoredEvent`; the checkpoint is stored after a batch of
calls, so after a crash the events since the last checkpoint are handled again
(at least once: make the handler idempotent, e.g. with ``event.event.event_id``).
On PostgreSQL that checkpoint commits without waiting for the WAL flush: a server
crash may lose the last ones, so events are handled again, never skipped.
``handler(event, tx)`` is also given the store's transaction that stores the
checkpoint, and what it writes through ``tx`` commits with the checkpoint or not at
all (exactly once):

- ``sqlite:///`` -- ``tx`` is the ``sqlite3.Connection`` inside the transaction;
- ``postgresql://`` -- ``tx`` is the ``psycopg.Connection`` inside the transaction;
- ``memory://`` -- ``tx`` is a :class:`~reqfulfill.stores.MemoryTx`: register the
  change with ``tx.on_commit(callback)``.

A handler writes through ``tx`` only: it does not commit or roll back, and does not
use the store object itself while it runs.

**Failures.** A handler that raises stops its subscription at that event: the events
before it are checkpointed, the exception is logged and kept in
:attr:`Subscription.failure`, and the next run starts at the same event (``run_forever``
tries again after a backoff: 0.5 s, doubling up to 60 s). An event is never skipped.
Other subscriptions are not affected. In the ``tx`` form the batch's transaction is
rolled back and the events before the failing one are handled again in a new one.

**One process at a time.** Several processes may run the same subscription: the one
holding its lease (a row in the database, ``lease`` long, renewed with every batch)
handles events, the others wait. A process that dies is taken over once its lease has
lapsed. A process that lost its lease (it stalled past it and another took over)
cannot store a checkpoint: the store checks the lease and the checkpoint in the
checkpoint's transaction, and its ``tx`` writes are rolled back with it.

**Wake-ups.** ``run_forever`` waits with ``Store.wait_for_work``: on PostgreSQL a new
event wakes it at its commit (``LISTEN``/``NOTIFY``); SQLite and memory:// poll every
``interval`` (one second by default), woken at once only by appends made through the
same store object.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any, final

import attrs

from reqfulfill.model.errors import StoreError, ValidationError
from reqfulfill.stores import Store, StoredEvent
from reqfulfill.stores._feed import MAX_READ, check_position, check_subscription_name

__all__ = ["Subscription", "SubscriptionFailure"]

log = logging.getLogger(__name__)

_BACKOFF_FIRST = 0.5
_BACKOFF_MAX = 60.0


@attrs.frozen
class SubscriptionFailure:
    """The event a subscription's handler failed on: it is handled again on the next run."""

    position: int
    request_id: str
    error: str
    attempts: int


class _HandlerFailed(Exception):
    """A handler raised on the ``index``-th event of a batch (carried out of the store's
    transaction, which it rolls back)."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(index)
        self.index = index
        self.cause = cause


def _takes_tx(handler: object) -> bool:
    """Whether ``handler`` is the ``handler(event, tx)`` form (two positional
    parameters) or ``handler(event)``; anything else is a ``ValidationError``."""
    if not callable(handler):
        raise ValidationError.single("handler", handler, "expected a callable")
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError) as exc:
        raise ValidationError.single(
            "handler", handler, f"its signature cannot be read ({exc})"
        ) from None
    positional = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(positional) not in (1, 2):
        raise ValidationError.single(
            "handler", handler, "expected handler(event) or handler(event, tx)"
        )
    return len(positional) == 2


@final
class Subscription:
    """A named, durable subscription of one handler to a store's change feed.

    :param store: the store to follow.
    :param name: a plain identifier (``crm_sync``), the key of its checkpoint.
    :param handler: ``handler(event)`` or ``handler(event, tx)`` (see the module).
    :param after: where a *new* subscription starts: after this position (default 0,
        every event). A subscription that has a checkpoint goes on from it.
    :param batch: events per transaction (1..10,000).
    :param lease: how long a process holds the subscription without renewing it; a
        killed process is taken over after this.
    :param interval: seconds ``run_forever`` waits when idle (woken earlier on
        PostgreSQL by ``NOTIFY``).
    """

    def __init__(
        self,
        store: Store,
        name: str,
        handler: Callable[..., Any],
        *,
        after: int | None = None,
        batch: int = 500,
        lease: timedelta = timedelta(seconds=30),
        interval: float = 1.0,
    ) -> None:
        self.name = check_subscription_name(name)
        self._transactional = _takes_tx(handler)
        self._start = 0 if after is None else check_position("after", after)
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_READ:
            raise ValidationError.single(
                "batch", batch, f"expected a whole number in 1..{MAX_READ}"
            )
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise ValidationError.single("lease", lease, "expected a positive timedelta")
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int | float)
            or not 0 < interval < math.inf  # NaN fails both
        ):
            raise ValidationError.single("interval", interval, "expected finite seconds > 0")
        self.store = store
        self.handler = handler
        self.batch = batch
        self.lease = lease
        self.interval = float(interval)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        """Who holds the lease while this object runs (host, process, a random tag)."""
        self.failure: SubscriptionFailure | None = None
        """The event the handler last failed on, until it is handled."""
        self._stop = threading.Event()

    @property
    def position(self) -> int | None:
        """The stored checkpoint (``None`` before the first run)."""
        return self.store.subscription_position(self.name)

    def run_pending(self) -> int:
        """Handle the events stored after the checkpoint, up to the end of the feed as
        it is now; return how many were handled. Returns early (0 if nothing) when
        another process holds the lease or the handler fails (see :attr:`failure`)."""
        handled = 0
        checkpoint: int | None = None
        while not self._stop.is_set():
            if checkpoint is None:
                checkpoint = self.store.lease_subscription(
                    self.name, owner=self.owner, start=self._start, now=_now(), lease=self.lease
                )
                if checkpoint is None:
                    return handled  # another process runs it
            events = self.store.read_all(checkpoint, self.batch)
            if not events:
                return handled
            done = self._handle(checkpoint, events)
            handled += done
            if done < len(events):
                return handled
            # the batch's checkpoint renewed the lease: go on without asking again
            checkpoint = events[-1].position
        return handled

    def _handle(self, checkpoint: int, events: Sequence[StoredEvent]) -> int:
        """Handle one batch and store its checkpoint; the number of events handled."""
        if self._transactional:
            return self._handle_in_tx(checkpoint, events)
        done = 0
        for stored in events:
            try:
                self.handler(stored)
            except Exception as exc:  # the handler's own: stop at this event
                self._failed(stored, exc)
                break
            done += 1
        if done and not self._advance(checkpoint, events[done - 1].position, None):
            return 0
        if done == len(events):
            self.failure = None
        return done

    def _handle_in_tx(self, checkpoint: int, events: Sequence[StoredEvent]) -> int:
        batch = list(events)
        failed = False
        while batch:
            try:
                if not self._advance(checkpoint, batch[-1].position, self._applier(batch)):
                    return 0
                break
            except _HandlerFailed as failure:
                self._failed(batch[failure.index], failure.cause)
                failed = True
                batch = batch[: failure.index]  # those before it, again, in a new transaction
        if not failed:
            self.failure = None
        return len(batch)

    def _applier(self, batch: Sequence[StoredEvent]) -> Callable[[Any], None]:
        """The store's ``apply`` for a batch: the handler on each event, with ``tx``."""

        def apply(tx: Any) -> None:
            for index, stored in enumerate(batch):
                try:
                    self.handler(stored, tx)
                except Exception as exc:  # the handler's own: roll the batch back
                    raise _HandlerFailed(index, exc) from exc

        return apply

    def _advance(self, checkpoint: int, position: int, apply: Callable[[Any], None] | None) -> bool:
        stored = self.store.advance_subscription(
            self.name,
            owner=self.owner,
            expected=checkpoint,
            position=position,
            now=_now(),
            lease=self.lease,
            apply=apply,
        )
        if not stored:
            log.warning("subscription %s: the lease passed to another process", self.name)
        return stored

    def _failed(self, stored: StoredEvent, exc: Exception) -> None:
        previous = self.failure
        attempts = previous.attempts + 1 if previous and previous.position == stored.position else 1
        self.failure = SubscriptionFailure(
            position=stored.position,
            request_id=stored.request_id,
            error=f"{type(exc).__name__}: {exc}",
            attempts=attempts,
        )
        log.error(
            "subscription %s: the handler failed at position %s (%s, attempt %s)",
            self.name,
            stored.position,
            stored.request_id,
            attempts,
            exc_info=exc,
        )

    def run_forever(self) -> None:
        """Handle events as they come until SIGTERM/SIGINT or :meth:`stop`, then give up
        the lease. A failing handler is retried after a backoff (0.5 s, doubling to
        60 s); a store fault is logged and retried the same way. Signal handlers are
        installed only in the main thread and restored on return."""
        previous: dict[signal.Signals, Any] = {}

        def handle(signum: int, frame: FrameType | None) -> None:
            log.info("subscription %s stopping on signal %s", self.name, signum)
            self._stop.set()

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, handle)
        faults = 0
        try:
            while not self._stop.is_set():
                try:
                    handled = self.run_pending()
                    faults = 0
                except StoreError:
                    faults += 1
                    log.exception("subscription %s: the store failed", self.name)
                    self._stop.wait(_backoff(faults))
                    continue
                if self.failure is not None:
                    self._stop.wait(_backoff(self.failure.attempts))
                elif not handled:
                    self._idle(self.interval)
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            self.release()

    def _idle(self, seconds: float) -> None:
        """Wait for new events (the store's wake-ups), at most ``seconds``; a stop
        request ends the wait within a quarter of a second."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.store.wait_for_work(min(left, 0.25)):
                return

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return after the batch in hand."""
        self._stop.set()

    def release(self) -> None:
        """Give up the lease now, so another process can take over at once."""
        try:
            self.store.release_subscription(self.name, owner=self.owner)
        except StoreError:
            log.exception("subscription %s: could not release its lease", self.name)


def _now() -> datetime:
    # leases are between processes: wall-clock time, not the service's clock
    return datetime.now(UTC)


def _backoff(attempts: int) -> float:
    return float(min(_BACKOFF_FIRST * 2 ** max(attempts - 1, 0), _BACKOFF_MAX))
