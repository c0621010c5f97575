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
import time
from collections.abc import Iterable
from datetime import timedelta
from types import FrameType
from typing import Any

from reqfulfill import inventory, lifecycle
from reqfulfill.model import events as ev
from reqfulfill.model.errors import (
    AutomationError,
    ConcurrencyError,
    InventoryError,
    NotFoundError,
    PluginError,
    ReqfulfillError,
    StoreError,
    SupplierError,
)
from reqfulfill.model.request import ServiceRequest
from reqfulfill.needs import check_served
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

_TIMER_COMMANDS: dict[str, lifecycle.Command] = {
    "sla": lifecycle.FireSla(actor=lifecycle.SYSTEM),
    "close": lifecycle.AutoClose(actor=lifecycle.SYSTEM),
    "approval": lifecycle.FireApproval(actor=lifecycle.SYSTEM),
}
"""The command each timer key runs (then the timer is set from the request again)."""


_ATTEMPTED_FIRST = (ev.SupplierOrderRequested, ev.StockReservationRequested)
"""Effects whose attempt is recorded before their call (it may reach the supplier or
the inventory from then on): the claim of a request's effects records it when one
comes first among them."""

_CLAIM_TRIES = 20
"""Reads of the due effects in a row whose claims all lost a race, before a run ends."""


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
    """Supplier, automation, inventory and plugin errors say so (a plugin that raised
    while answering may do better next time, one that failed to load will not); a
    concurrent write is worth another try; any other reqfulfill error is a refusal that
    will not change; anything else (network, a connector's bug) is tried again."""
    if isinstance(exc, SupplierError | AutomationError | InventoryError | PluginError):
        return exc.retryable
    if isinstance(exc, ConcurrencyError):
        return True
    return not isinstance(exc, ReqfulfillError)


class Worker:
    """Runs due effects and timers of one service's store.

    >>> from reqfulfill.testing import demo_catalog
    >>> from reqfulfill import FulfillmentService
    >>> from reqfulfill.testing import FakeSupplier
    >>> service = FulfillmentService(
    ...     demo_catalog(), store="memory://", plugins=[FakeSupplier("acme-mobile")]
    ... )
    >>> Worker(service).run_pending()
    0

    :param service: the service whose store, plugins and clock the worker uses.
    :param allow_missing: the worker refuses to start (``ValidationError`` listing each
        one with its catalog path) while an item of the catalog needs a supplier no
        installed connector serves, or while a plugin failed to load. ``True`` lets
        it start whatever is missing; a list of supplier ids lets these be missing
        (a worker for part of the catalog): their orders then fail when they run.
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
        allow_missing: bool | Iterable[str] = False,
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
        self._lost = 0  # claims of due effects that lost a race in this round
        self._passed: set[str] = set()  # effects found taken in this run: read past them
        # the needs nothing serves that ``allow_missing`` allowed (the others refuse)
        self.missing = check_served(service.catalog, service.plugins, allow_missing)
        if self.missing:
            log.warning("worker starts without a plugin for %s", [n.key for n in self.missing])

    # -- the loop ---------------------------------------------------------------------

    def run_pending(self, limit: int | None = None) -> int:
        """Run every effect and timer due now (and those they make due); return how many ran.

        ``limit`` caps the number of effects and timers handled in this call (the
        effects a recorded outcome or timer claimed for its request along with it run
        too, so a call may go past it by those).
        """
        return self._run(limit, batch=10, stoppable=False)

    def _run(self, limit: int | None, *, batch: int, stoppable: bool) -> int:
        """Run due timers, then read up to ``batch`` due effects at a time and run them.

        Every outcome, and the command of an ``sla`` or ``close`` timer, is recorded in
        a transaction that also claims its request's due effects
        (:meth:`FulfillmentService.record_and_claim`); those run at once, so an effect
        that a timer or an outcome asks for needs no claim transaction of its own.
        Timers come first: a close timer due with its request's notifications closes
        the request and claims them in one transaction. The other due effects are read
        without a claim (``Store.due_effects``) and claimed request by request, a
        supplier order's attempt recorded in the claim's transaction (:meth:`_run_due`).

        With ``stoppable``, a :meth:`stop` request ends the run between two requests:
        the effects of the batch not started yet are given back unrun, so none waits
        out its lease because the worker stopped.
        """
        done = tries = 0
        fired: set[tuple[str, str, object]] = set()
        self._passed = set()
        while limit is None or done < limit:
            if stoppable and self._stop.is_set():
                break
            size = batch if limit is None else min(batch, limit - done)
            now = self.service.clock.now()
            # a timer that is still due after it ran (nothing was due yet) waits for the next
            # run instead of spinning this one
            timers = [
                t
                for t in self.service.store.due_timers(now, limit=size)
                if (t.request_id, t.key, t.due) not in fired
            ]
            for timer in timers:
                if stoppable and self._stop.is_set():
                    break
                fired.add((timer.request_id, timer.key, timer.due))
                done += 1 + self._run_timer(timer)
            if stoppable and self._stop.is_set():
                break
            room = size - len(timers)
            store, passed = self.service.store, self._passed
            due = store.due_effects(now, limit=room + len(passed)) if room > 0 else []
            entries = [e for e in due if e.effect_id not in passed][:room]
            self._lost = 0
            ran = self._run_effects(entries, stoppable)
            done += ran
            if ran or timers:
                tries = 0
            elif not entries or not self._lost or tries >= _CLAIM_TRIES:
                break
            else:
                # each request read was taken by another worker, or changed, before this
                # one claimed it: read what is due again
                tries += 1
        return done

    def run_forever(self, interval: float | None = None) -> None:
        """Loop until SIGTERM/SIGINT or :meth:`stop`; finishes the effect in hand first.

        Due effects are read in batches of ten, as :meth:`run_pending` reads them, and
        claimed request by request when their turn comes. A stop request waits for the
        request in hand: its effects (and those their outcomes claimed) are run and
        recorded; the rest of the batch was never claimed, so no effect is left
        leased by a worker that is gone. ``interval`` is how long to wait when
        nothing was due (default: one second): the wait ends early when the store
        signals new work (``Store.wait_for_work``: on PostgreSQL a ``NOTIFY`` at the
        commit of any process's append, so an effect starts within milliseconds;
        SQLite and memory:// only for appends through the same store object). Signal
        handlers are installed only in the main thread and are restored on return.
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
                    ran = self._run(100, batch=10, stoppable=True)
                except Exception:
                    log.exception("worker %s: a run failed; going on", self.name)
                    ran = 0
                if not ran:
                    self._idle(pause)
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
            log.info("worker %s stopped", self.name)

    def _idle(self, seconds: float) -> None:
        """Wait for the store's signal of new work, at most ``seconds``; a stop request
        ends the wait within a quarter of a second."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.service.store.wait_for_work(min(left, 0.25)):
                return

    def stop(self) -> None:
        """Ask :meth:`run_forever` to return."""
        self._stop.set()

    # -- effects -------------------------------------------------------------------------

    def _delay(self, attempt: int) -> timedelta:
        # ``backoff`` doubling up to ``max_backoff``, times a factor in [0.5, 1] ("equal
        # jitter"): the schedule is the upper bound, and effects that failed together
        # (a supplier outage) spread over half the interval, at the cap too
        base: timedelta = min(self.backoff * (2 ** max(0, attempt - 1)), self.max_backoff)
        return base * (0.5 + self._random.random() / 2)

    def _run_effects(self, entries: list[OutboxEntry], stoppable: bool = False) -> int:
        """Run due effects read without a claim, request by request (in claim order
        within a request), and the effects their outcomes claim; return how many ran.
        With ``stoppable``, a :meth:`stop` request ends the run between two requests
        (the effects not started yet were never claimed: nothing to give back)."""
        by_request: dict[str, list[OutboxEntry]] = {}
        for entry in entries:
            by_request.setdefault(entry.request_id, []).append(entry)
        ran = 0
        for request_id, group in by_request.items():
            if stoppable and self._stop.is_set():
                break
            ran += self._run_due(request_id, group)
        return ran

    def _run_due(self, request_id: str, due: list[OutboxEntry]) -> int:
        """Run a request's due effects, read without a claim; return how many ran.

        Notifications nobody leased are held (:meth:`_notify_held`), sent, and recorded
        with their completion: one transaction. The others are claimed first, with the
        request's other due effects, in one transaction that also records the attempt
        of a supplier order or a stock reservation first among them (from then on it
        may reach the supplier), so placing an order takes the claim and the outcome
        only. A claim that loses a race (another worker took or holds one of them, or
        the request changed since the read) runs nothing and counts in ``self._lost``:
        the run reads what is due again, past these effects (``self._passed``), so a
        worker goes on to the next request instead of ending its run with work left.
        """
        try:
            state, events = self.service.effects_of(request_id, [e.effect_id for e in due])
        except NotFoundError:
            state, events = None, {}
        except Exception as exc:  # cannot read it (StoreError...): each entry stays, retried
            for entry in due:
                self._failed(entry, exc)
            return len(due)
        if state is None:
            self._drop(request_id, due)
            return len(due)
        if all(
            entry.worker is None
            and isinstance(events.get(entry.effect_id), ev.NotificationRequested)
            for entry in due
        ):
            sent = self._notify_held(state, due, events)
            if sent is not None:
                return len(due) + self._run_request(request_id, sent)
            # another worker holds or took one, or the store cannot hold: claim them
        first = events.get(due[0].effect_id)
        commands: list[lifecycle.Command] = []
        if isinstance(first, _ATTEMPTED_FIRST) and first.event_id not in state.settled:
            commands.append(
                lifecycle.RecordAttempt(actor=lifecycle.WORKER, effect_id=first.event_id)
            )
        try:
            after, claimed = self.service.record_and_claim(
                state, commands, [], self.name, lease=self.lease, require=[e.effect_id for e in due]
            )
        except ConcurrencyError as exc:
            log.info("worker %s: the effects of %s were taken: %s", self.name, request_id, exc)
            self._lost += 1  # the run reads again, past these (another worker has them)
            self._passed.update(e.effect_id for e in due)
            return 0
        except Exception as exc:  # the store failed: nothing was claimed, nor written
            log.error("worker %s could not claim the effects of %s: %s", self.name, request_id, exc)
            return 0
        recorded = frozenset(
            key for key, n in after.attempted.items() if n > state.attempted.get(key, 0)
        )
        ran = 0
        group = claimed
        known: tuple[ServiceRequest, dict[str, ev.Event]] | None = (after, events)
        while group:
            ran += len(group)
            group = self._run_group(request_id, group, known, recorded)
            known, recorded = None, frozenset()
        return ran

    def _notify_held(
        self, state: ServiceRequest, due: list[OutboxEntry], events: dict[str, ev.Event]
    ) -> list[OutboxEntry] | None:
        """Send a request's unleased notifications under a hold (``Store.hold_effects``:
        no commit, yet no other worker runs them meanwhile) and record them with their
        completion in one transaction; return the entries that transaction claimed.
        None, having sent nothing, when the store did not hold every one of them (the
        caller claims them, or finds them taken)."""
        store = self.service.store
        ids = [e.effect_id for e in due]
        held = store.hold_effects(ids, worker=self.name, now=self.service.clock.now())
        try:
            if len(held) != len(ids):
                return None
            return self._notify_all(state, due, events)
        finally:
            if held:
                store.release_holds(held, worker=self.name)

    def _drop(self, request_id: str, due: list[OutboxEntry]) -> None:
        """Take the effects of a request that does not exist off the outbox (claimed
        first when a lapsed lease holds one: only the holder may complete it)."""
        for entry in due:
            log.error("effect %s has no request; dropping it", entry.effect_id)
        held = [e.effect_id for e in due if e.worker not in (None, self.name)]
        if held:
            try:
                self.service.store.append_and_claim(
                    request_id,
                    [],
                    0,
                    effect_ids=[],
                    worker=self.name,
                    now=self.service.clock.now(),
                    lease=self.lease,
                    require=held,
                )
            except Exception as exc:
                log.error("worker %s could not claim %s: %s", self.name, held, exc)
                self._lost += 1
                self._passed.update(e.effect_id for e in due)
                return
        for entry in due:
            self._complete(entry)

    def _run_request(self, request_id: str, group: list[OutboxEntry]) -> int:
        """Run a request's claimed effects, then those their outcomes claimed, until the
        request has none due; return how many ran."""
        ran = 0
        while group:
            ran += len(group)
            group = self._run_group(request_id, group)
        return ran

    def _run_group(
        self,
        request_id: str,
        group: list[OutboxEntry],
        known: tuple[ServiceRequest, dict[str, ev.Event]] | None = None,
        recorded: frozenset[str] = frozenset(),
    ) -> list[OutboxEntry]:
        """Run claimed effects of one request; return the entries their outcomes claimed.

        One read of the store gives the request's state and its effects' events
        (none when ``known``, the state as it stands and events read with it, has
        them all). ``recorded``: the effects whose attempt the claim recorded.
        When every effect is a notification, they are sent one after the other and
        their outcomes are recorded in one transaction that also takes them off the
        outbox and claims the request's next due effects. Other effects change what
        the next one sees (an order placed, then cancelled), so each is recorded
        before the next one runs.
        """
        state: ServiceRequest | None
        if known is not None and all(e.effect_id in known[1] for e in group):
            state, events = known
        else:
            try:
                state, events = self.service.effects_of(request_id, [e.effect_id for e in group])
            except NotFoundError:
                state, events = None, {}  # no such request: its effects are dropped below
            except Exception as exc:  # cannot read it (StoreError...): each entry stays
                for entry in group:
                    self._failed(entry, exc)
                return []
        if state is not None and all(
            isinstance(events.get(e.effect_id), ev.NotificationRequested) for e in group
        ):
            return self._notify_all(state, group, events)
        claimed: list[OutboxEntry] = []
        current = state
        for entry in group:
            effect = events.get(entry.effect_id)
            if state is None or effect is None:
                log.error("effect %s has no event; dropping it", entry.effect_id)
                self._complete(entry)
                continue
            current, more = self._run_effect(entry, effect, current, entry.effect_id in recorded)
            claimed += more
        return claimed

    def _run_effect(
        self,
        entry: OutboxEntry,
        effect: ev.Event,
        state: ServiceRequest | None,
        recorded: bool = False,
    ) -> tuple[ServiceRequest | None, list[OutboxEntry]]:
        """Run one effect and record its outcome; return the request as it then stands
        (None after a failure: the next effect reads it) and the entries claimed.
        ``recorded``: its claim recorded its attempt (a supplier order)."""
        try:
            if state is None:
                state = self.service.get(entry.request_id)
            command, state = self._perform(effect, state, recorded=recorded)
            if command is None:
                self.service.store.complete_effect(entry.effect_id, worker=self.name)
                return state, []
            # the outcome's events, the effect's completion and the claim: one transaction
            return self.service.record_and_claim(
                state, [command], [entry.effect_id], self.name, lease=self.lease
            )
        except Exception as exc:
            self._failed(entry, exc)
            return None, []

    def _notify_all(
        self, state: ServiceRequest, group: list[OutboxEntry], events: dict[str, ev.Event]
    ) -> list[OutboxEntry]:
        """Send a request's notifications, then record every delivery (and take the
        settled ones off the outbox) in one transaction; return the entries it claimed."""
        sent: list[tuple[OutboxEntry, lifecycle.Command]] = []
        settled: list[OutboxEntry] = []
        for entry in group:
            try:
                command, _ = self._perform(events[entry.effect_id], state)
            except Exception as exc:
                self._failed(entry, exc)
                continue
            if command is None:
                settled.append(entry)
            else:
                sent.append((entry, command))
        if not sent and not settled:
            return []
        done = [e for e, _ in sent] + settled
        try:
            _, claimed = self.service.record_and_claim(
                state,
                [c for _, c in sent],
                [e.effect_id for e in done],
                self.name,
                lease=self.lease,
            )
        except Exception as exc:
            for entry in done:
                self._failed(entry, exc)
            return []
        return claimed

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
            command: lifecycle.Command = lifecycle.EffectFailed(
                actor="worker", effect_id=entry.effect_id, reason=reason, effect_type=entry.kind
            )
            if entry.kind == "StockReservationRequested":
                # what the inventory holds under the effect's key goes back with it
                # (an inventory plugin that cannot say what it holds under the key keeps
                # it from being given up, for up to max_attempts more attempts)
                patient = entry.attempts + 1 < 2 * self.max_attempts
                command = inventory.give_up(
                    self.service, entry.request_id, entry.effect_id, reason, patient=patient
                )
            self.service.execute(entry.request_id, command)
        except InventoryError as exc:  # not given up yet: tried again, the backoff at its cap
            when = self.service.clock.now() + self._delay(self.max_attempts)
            log.warning(
                "effect %s is not given up yet (%s); retry at %s", entry.effect_id, exc, when
            )
            self.service.store.retry_effect(
                entry.effect_id, worker=self.name, available_at=when, error=storable_text(str(exc))
            )
            return
        except ConcurrencyError:
            return  # leave it leased; it runs again when the lease lapses
        self.service.store.complete_effect(entry.effect_id, worker=self.name)

    def _perform(
        self, effect: ev.Event, state: ServiceRequest, *, recorded: bool = False
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
            return self._place(effect, state, unwanted, recorded=recorded)
        if isinstance(effect, ev.StockReservationRequested):
            return inventory.reserve(self.service, effect, state, unwanted, recorded=recorded)
        if unwanted is not None:
            return _unwanted(effect, unwanted), state
        plugins = self.service.plugins
        if isinstance(effect, ev.NotificationRequested):
            note = effect.notification.with_key(key)
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
        self,
        effect: ev.SupplierOrderRequested,
        state: ServiceRequest,
        unwanted: str | None,
        *,
        recorded: bool = False,
    ) -> tuple[lifecycle.Command, ServiceRequest]:
        """Place a supplier order; an order no longer wanted is abandoned, unless an
        earlier attempt may have reached the supplier: it is placed again with the same
        key (the supplier answers with the order it holds) and the decider cancels it.
        ``recorded``: the claim recorded this attempt (``state`` holds it)."""
        key = effect.event_id
        if unwanted is not None and not state.attempted.get(key):
            return _unwanted(effect, unwanted), state  # never sent: nothing to place or cancel
        connector = self._connector(effect.supplier_id)
        # recorded before the call: after a crash past this point the order may exist
        # at the supplier, so it is placed again with the same key and compensated. The
        # decider records no first attempt of an order no longer wanted (a cancel that
        # came in since the read): the last look before the call. The claim transaction
        # records it when the order comes first among its request's due effects.
        after = (
            state
            if recorded
            else self.service.execute(
                state.id, lifecycle.RecordAttempt(actor=lifecycle.WORKER, effect_id=key)
            )
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

    def _run_timer(self, timer: Timer) -> int:
        """Fire a timer; return how many effects its command claimed and ran."""
        service = self.service
        ran = 0
        try:
            if timer.key in _TIMER_COMMANDS:
                # never delete a timer before its command: another worker may have re-armed it
                # (timers are not leased), and a crash in between would lose it. Run the
                # command (claiming the request's due effects with it, run here), then set
                # the timer from the request as it now stands.
                command = _TIMER_COMMANDS[timer.key]
                try:
                    state = service.get(timer.request_id)
                    _, claimed = service.record_and_claim(
                        state, [command], [], self.name, lease=self.lease
                    )
                    ran = self._run_request(timer.request_id, claimed)
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
        return ran

    def _poll(self, timer: Timer) -> None:
        service = self.service
        state = first = service.get(timer.request_id)
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
        if still_open:
            service.store.set_timers(
                state.id, {"poll": service.clock.now() + service.poll_interval}
            )
        elif not (state.version > first.version and orders_to_poll(first)):
            # an update that closed the last open order deleted the timer in its append
            # (schedule.timer_changes); else it is deleted here
            service.store.set_timers(state.id, {"poll": None})
