"""The worker: runs the outbox (supplier orders, stock reservations, notifications,
automations) and timers.

Each effect runs with its event id as the idempotency key. A retryable failure
is retried with exponential backoff and jitter (the next attempt time is
persisted in the store, not slept); after the last attempt, or on a permanent
error, the task fails and the group is notified. Several workers may run side
by side: the store's leases keep them apart.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
from datetime import timedelta
from types import FrameType
from typing import Any

import attrs

from reqfulfill import inventory, lifecycle
from reqfulfill.model import events as ev
from reqfulfill.model.errors import (
    AutomationError,
    ConcurrencyError,
    InventoryError,
    NotFoundError,
    ReqfulfillError,
    StoreError,
    SupplierError,
)
from reqfulfill.model.request import ServiceRequest
from reqfulfill.schedule import orders_to_poll
from reqfulfill.serialization.arguments import (
    MIN_INTEGER,
    check_count,
    check_duration,
    check_id,
    check_instance,
    storable_text,
)
from reqfulfill.service import FulfillmentService
from reqfulfill.stores import OutboxEntry, Timer

__all__ = ["Worker"]

log = logging.getLogger(__name__)


class _Permanent(Exception):
    """An effect failed for good."""


def _abandon(effect: ev.Event, reason: str) -> lifecycle.Command:
    """The command recording that ``effect`` is given up unrun, for ``reason`` (``no
    longer wanted: ...`` when the request no longer wants it). The decider records
    ``EffectAbandoned``."""
    log.info("effect %s (%s) abandoned: %s", effect.event_id, effect.type, reason)
    return lifecycle.EffectFailed(
        actor=lifecycle.WORKER, effect_id=effect.event_id, reason=reason, effect_type=effect.type
    )


def _unwanted(effect: ev.Event, why: str) -> lifecycle.Command:
    """The command abandoning ``effect``, which the request no longer wants (``why``)."""
    return _abandon(effect, f"no longer wanted: {why}")


def _retryable(exc: Exception) -> bool:
    """Supplier, automation and inventory errors say so; a concurrent write is worth another try;
    any other reqfulfill error is a refusal that will not change; anything else
    (network, a plugin's bug) is tried again."""
    if isinstance(exc, SupplierError | AutomationError | InventoryError):
        return exc.retryable
    if isinstance(exc, ConcurrencyError):
        return True
    return not isinstance(exc, ReqfulfillError)


class Worker:
    """Runs due effects and timers of one service's store.

    >>> from reqfulfill.testing import demo_catalog
    >>> from reqfulfill import FulfillmentService
    >>> worker = Worker(FulfillmentService(demo_catalog(), store="memory://"))
    >>> worker.run_pending()
    0

    :param service: the service whose store, plugins and clock the worker uses.
    :param name: this worker's name in leases (default host:pid:thread).
    :param lease: how long a claimed effect is reserved for this worker.
    :param max_attempts: attempts per effect before the task fails.
    :param backoff: the first retry delay; doubles per attempt up to ``max_backoff``.
    :param seed: seeds the jitter (tests).

    An argument of the wrong type or out of range is a ``ValidationError`` naming it: a
    lease of zero would let a second worker claim an effect this one is running.
    """

    def __init__(
        self,
        service: FulfillmentService,
        *,
        name: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        max_attempts: int = 8,
        backoff: timedelta = timedelta(minutes=1),
        max_backoff: timedelta = timedelta(hours=1),
        seed: int | None = None,
    ) -> None:
        self.service = check_instance(
            service, FulfillmentService, "service", "a FulfillmentService"
        )
        self.name = (
            f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
            if name is None
            else check_id(name, "name")
        )
        self.lease = check_duration(lease, "lease")
        self.max_attempts = check_count(max_attempts, "max_attempts", minimum=1)
        self.backoff = check_duration(backoff, "backoff", zero=True)
        self.max_backoff = check_duration(max_backoff, "max_backoff", zero=True)
        if seed is not None:
            check_count(seed, "seed", minimum=MIN_INTEGER)
        self._random = random.Random(seed)
        self._stop = threading.Event()

    # -- the loop ---------------------------------------------------------------------

    def run_pending(self, limit: int | None = None) -> int:
        """Run every effect and timer due now (and those they make due); return how many ran.

        ``limit`` caps the number of effects and timers handled in this call.
        """
        return self._run(limit, batch=10, stoppable=False)

    def _run(self, limit: int | None, *, batch: int, stoppable: bool) -> int:
        """Claim up to ``batch`` due effects at a time and run them, then due timers.

        With ``stoppable``, a :meth:`stop` request ends the run between two
        effects; the run then claims one effect at a time, so no claimed effect
        waits out its lease because the worker stopped.
        """
        done = 0
        fired: set[tuple[str, str, object]] = set()
        while limit is None or done < limit:
            if stoppable and self._stop.is_set():
                break
            size = batch if limit is None else min(batch, limit - done)
            now = self.service.clock.now()
            entries = self.service.store.claim_effects(
                now, worker=self.name, lease=self.lease, limit=size
            )
            self._run_effects(entries)
            done += len(entries)
            room = size - len(entries)
            timers = self.service.store.due_timers(now, limit=room) if room > 0 else []
            # a timer that is still due after it ran (nothing was due yet) waits for the next
            # run instead of spinning this one
            timers = [t for t in timers if (t.request_id, t.key, t.due) not in fired]
            for timer in timers:
                if stoppable and self._stop.is_set():
                    break
                fired.add((timer.request_id, timer.key, timer.due))
                self._run_timer(timer)
                done += 1
            if not entries and not timers:
                break
        return done

    def run_forever(self, interval: float | None = None) -> None:
        """Loop until SIGTERM/SIGINT or :meth:`stop`; finishes the effect in hand first.

        Effects are claimed one at a time, so a stop request waits for at most
        one effect (or timer). ``interval`` is how long to sleep when nothing
        was due (default: one second). Signal handlers are installed only in
        the main thread and are restored on return.
        """
        pause = 1.0 if interval is None else interval
        previous: dict[signal.Signals, Any] = {}

        def handle(signum: int, frame: FrameType | None) -> None:
            log.info("worker %s stopping on signal %s", self.name, signum)
            self._stop.set()

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, handle)
        try:
            while not self._stop.is_set():
                try:
                    ran = self._run(100, batch=1, stoppable=True)
                except Exception:
                    log.exception("worker %s: a run failed; going on", self.name)
                    ran = 0
                if not ran:
                    self._stop.wait(pause)
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            log.info("worker %s stopped", self.name)

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return."""
        self._stop.set()

    # -- effects -------------------------------------------------------------------------

    def _delay(self, attempt: int) -> timedelta:
        # from ``backoff`` doubling to ``max_backoff``; the jitter only ever adds (up to a
        # quarter) so no retry comes sooner than the schedule says
        base: timedelta = min(self.backoff * (2 ** max(0, attempt - 1)), self.max_backoff)
        return min(base * (1 + self._random.random() / 4), self.max_backoff)

    def _run_effects(self, entries: list[OutboxEntry]) -> None:
        """Run claimed effects, request by request (in claim order within a request).

        One read of the store gives each request's state and its effects' events.
        When every effect of a request is a notification, they are sent one after
        the other and their outcomes are recorded in one append that also takes
        them off the outbox. Other effects change what the next one sees (an order
        placed, then cancelled), so each is recorded before the next one runs.
        """
        by_request: dict[str, list[OutboxEntry]] = {}
        for entry in entries:
            by_request.setdefault(entry.request_id, []).append(entry)
        for request_id, group in by_request.items():
            try:
                state, events = self.service.effects_of(request_id, [e.effect_id for e in group])
            except NotFoundError:
                state, events = None, {}  # no such request: its effects are dropped below
            except Exception as exc:  # cannot read it (StoreError...): each entry stays, retried
                for entry in group:
                    self._failed(entry, exc)
                continue
            if state is not None and all(
                isinstance(events.get(e.effect_id), ev.NotificationRequested) for e in group
            ):
                self._notify_all(state, group, events)
                continue
            current = state
            for entry in group:
                effect = events.get(entry.effect_id)
                if state is None or effect is None:
                    log.error("effect %s has no event; dropping it", entry.effect_id)
                    self._complete(entry)
                    continue
                self._run_effect(entry, effect, current)
                current = None  # the effect may have changed the request: the next one reads it

    def _run_effect(
        self, entry: OutboxEntry, effect: ev.Event, state: ServiceRequest | None
    ) -> None:
        try:
            if state is None:
                state = self.service.get(entry.request_id)
            command, state = self._perform(effect, state)
            if command is None:
                self.service.store.complete_effect(entry.effect_id, worker=self.name)
            else:
                # the outcome's events and the effect's completion: one transaction
                self.service.record_outcomes(state, [command], [entry.effect_id], self.name)
        except Exception as exc:
            self._failed(entry, exc)

    def _notify_all(
        self, state: ServiceRequest, group: list[OutboxEntry], events: dict[str, ev.Event]
    ) -> None:
        """Send a request's notifications, then record every delivery in one append."""
        sent: list[tuple[OutboxEntry, lifecycle.Command]] = []
        for entry in group:
            try:
                command, _ = self._perform(events[entry.effect_id], state)
            except Exception as exc:
                self._failed(entry, exc)
                continue
            if command is None:
                self._complete(entry)
            else:
                sent.append((entry, command))
        if not sent:
            return
        try:
            self.service.record_outcomes(
                state, [c for _, c in sent], [e.effect_id for e, _ in sent], self.name
            )
        except Exception as exc:
            for entry, _command in sent:
                self._failed(entry, exc)

    def _complete(self, entry: OutboxEntry) -> None:
        """Take an effect with nothing to record off the outbox; a store error makes it
        a failed attempt like any other (retried later), not the end of the run."""
        try:
            self.service.store.complete_effect(entry.effect_id, worker=self.name)
        except Exception as exc:
            self._failed(entry, exc)

    def _failed(self, entry: OutboxEntry, exc: Exception) -> None:
        """An attempt at ``entry`` raised ``exc``: retry it later, or give up on it."""
        if isinstance(exc, StoreError):
            self._store_failed(entry, exc)
            return
        if isinstance(exc, _Permanent):
            self._give_up(entry, str(exc))
            return
        attempt = entry.attempts + 1
        if attempt >= self.max_attempts or not _retryable(exc):
            self._give_up(entry, f"{type(exc).__name__}: {exc}")
            return
        when = self.service.clock.now() + self._delay(attempt)
        log.warning(
            "effect %s attempt %d failed (%s); retry at %s", entry.effect_id, attempt, exc, when
        )
        self.service.store.retry_effect(
            entry.effect_id, worker=self.name, available_at=when, error=storable_text(str(exc))
        )

    def _store_failed(self, entry: OutboxEntry, exc: StoreError) -> None:
        """The store failed (the request cannot be read, the connection is gone): the
        effect is not at fault, so it is never given up on nor taken off the outbox. The
        attempt counts and the effect is due again after the backoff; when even that
        cannot be written, its lease lapses and it is claimed again."""
        attempt = entry.attempts + 1
        # attempts go on past max_attempts here: the backoff stops growing there
        when = self.service.clock.now() + self._delay(min(attempt, self.max_attempts))
        log.error(
            "effect %s attempt %d: the store failed (%s); retry at %s",
            entry.effect_id,
            attempt,
            exc,
            when,
        )
        try:
            self.service.store.retry_effect(
                entry.effect_id, worker=self.name, available_at=when, error=str(exc)
            )
        except StoreError as again:
            log.error("effect %s stays leased: %s", entry.effect_id, again)

    def _give_up(self, entry: OutboxEntry, reason: str) -> None:
        reason = storable_text(reason)  # an error's text: recorded, never refused
        log.error("effect %s failed for good: %s", entry.effect_id, reason)
        try:
            self.service.execute(
                entry.request_id,
                lifecycle.EffectFailed(
                    actor="worker", effect_id=entry.effect_id, reason=reason, effect_type=entry.kind
                ),
            )
        except ConcurrencyError:
            return  # leave it leased; it runs again when the lease lapses
        self.service.store.complete_effect(entry.effect_id, worker=self.name)

    def _perform(
        self, effect: ev.Event, state: ServiceRequest
    ) -> tuple[lifecycle.Command | None, ServiceRequest]:
        """Run ``effect`` if ``state``, the request as it now stands, still wants it.

        Returns the command recording the outcome (None: nothing to record, the effect
        is settled already) and the state to decide it on. An effect the request no
        longer wants (:func:`reqfulfill.lifecycle.why_unwanted`) is not run: the
        command abandons it with the reason.
        """
        key = effect.event_id
        if key in state.settled:
            return None, state
        unwanted = lifecycle.why_unwanted(state, effect)
        if isinstance(effect, ev.SupplierOrderRequested):
            return self._place(effect, state, unwanted)
        if isinstance(effect, ev.StockReservationRequested):
            return inventory.reserve(self.service, effect, state, unwanted)
        if unwanted is not None:
            return _unwanted(effect, unwanted), state
        plugins = self.service.plugins
        if isinstance(effect, ev.NotificationRequested):
            note = attrs.evolve(effect.notification, key=key)
            plugins.notify(plugins.render_notification(note, state))
            return lifecycle.NotificationDelivered(actor=lifecycle.WORKER, effect_id=key), state
        if isinstance(effect, ev.SupplierOrderCancelRequested):
            return self._cancel(effect, state), state
        if isinstance(effect, ev.AutomationRequested):
            return self._automate(effect, state), state
        if isinstance(effect, ev.StockReleaseRequested):
            return inventory.release(self.service, effect), state
        if isinstance(effect, ev.AssetHandedOver):
            return inventory.hand_over(self.service, effect, state), state
        log.error("unknown effect %s (%s)", key, effect.type)
        return None, state

    def _place(
        self, effect: ev.SupplierOrderRequested, state: ServiceRequest, unwanted: str | None
    ) -> tuple[lifecycle.Command, ServiceRequest]:
        """Place a supplier order; an order no longer wanted is abandoned, unless an
        earlier attempt may have reached the supplier: it is placed again with the same
        key (the supplier answers with the order it holds) and the decider cancels it."""
        key = effect.event_id
        if unwanted is not None and not state.attempted.get(key):
            return _unwanted(effect, unwanted), state  # never sent: nothing to place or cancel
        connector = self._connector(effect.supplier_id)
        # recorded before the call: after a crash past this point the order may exist
        # at the supplier, so it is placed again with the same key and compensated. The
        # decider records no first attempt of an order no longer wanted (a cancel that
        # came in since the read): the last look before the call.
        after = self.service.execute(
            state.id, lifecycle.RecordAttempt(actor=lifecycle.WORKER, effect_id=key)
        )
        if not after.attempted.get(key):
            reason = lifecycle.why_unwanted(after, effect) or "the attempt was not recorded"
            return _unwanted(effect, reason), after
        receipt = connector.place_order(effect.order, key)
        placed = lifecycle.OrderPlaced(
            actor=lifecycle.WORKER, effect_id=key, ref=receipt.ref, status=receipt.status
        )
        return placed, after

    def _cancel(
        self, effect: ev.SupplierOrderCancelRequested, state: ServiceRequest
    ) -> lifecycle.Command:
        """Cancel a supplier order (always wanted: it is the compensation)."""
        key = effect.event_id
        ref = effect.ref
        if ref is None:
            ref = state.task(effect.task_key).order_ref
        if ref is None:
            # the place effect compensates if the order is placed after all
            return _abandon(effect, "nothing to cancel: the order was never placed")
        status = self._connector(effect.supplier_id).cancel_order(ref, key)
        return lifecycle.OrderCancelled(
            actor=lifecycle.WORKER, effect_id=key, status=status, ref=ref
        )

    def _automate(self, effect: ev.AutomationRequested, state: ServiceRequest) -> lifecycle.Command:
        """Run an automated task's automation (the caller checked it is still wanted)."""
        key = effect.event_id
        task = state.task(effect.task_key)
        try:
            result = self.service.plugins.run_automation(task, state, key)
        except AutomationError as exc:
            if not exc.retryable:
                raise _Permanent(exc.message) from exc
            raise
        if result is None:
            raise _Permanent(f"no automation runner handles task {task.key!r}")
        return lifecycle.AutomationSucceeded(
            actor=lifecycle.WORKER, effect_id=key, result=dict(result)
        )

    def _connector(self, supplier_id: str) -> Any:
        try:
            return self.service.plugins.connector(supplier_id)
        except NotFoundError as exc:
            raise _Permanent(str(exc)) from exc

    # -- timers ----------------------------------------------------------------------------

    def _run_timer(self, timer: Timer) -> None:
        service = self.service
        try:
            if timer.key in ("sla", "close"):
                # never delete a timer before its command: another worker may have re-armed it
                # (timers are not leased), and a crash in between would lose it. Run the
                # command, then set the timer from the request as it now stands.
                command: lifecycle.Command = (
                    lifecycle.FireSla(actor=lifecycle.SYSTEM)
                    if timer.key == "sla"
                    else lifecycle.AutoClose(actor=lifecycle.SYSTEM)
                )
                try:
                    service.execute(timer.request_id, command)
                finally:
                    service.refresh_timers(timer.request_id)
            elif timer.key == "poll":
                self._poll(timer)
            else:
                log.error("unknown timer %s on %s", timer.key, timer.request_id)
                service.store.set_timers(timer.request_id, {timer.key: None})
        except StoreError as exc:  # the timer stays: it fires again on a later run
            log.error("timer %s on %s: the store failed: %s", timer.key, timer.request_id, exc)
        except ReqfulfillError as exc:
            log.warning("timer %s on %s: %s", timer.key, timer.request_id, exc)
            service.store.set_timers(timer.request_id, {timer.key: None})

    def _poll(self, timer: Timer) -> None:
        service = self.service
        state = service.get(timer.request_id)
        still_open = False
        for task in orders_to_poll(state):
            if task.supplier is None or task.order_ref is None:
                continue
            try:
                status = self._connector(task.supplier).order_status(task.order_ref)
            except Exception as exc:
                log.warning("polling %s/%s failed: %s", task.supplier, task.order_ref, exc)
                still_open = True
                continue
            state = service.execute(
                state.id,
                lifecycle.RecordSupplierUpdate(
                    actor=f"supplier:{task.supplier}",
                    supplier_id=task.supplier,
                    ref=task.order_ref,
                    status=status,
                ),
            )
            if not status.final:
                still_open = True
        next_poll = service.clock.now() + service.poll_interval if still_open else None
        service.store.set_timers(state.id, {"poll": next_poll})
