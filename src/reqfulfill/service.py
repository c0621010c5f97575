"""The application layer: load -> decide -> append -> effects.

``FulfillmentService`` is what host applications call. Every command loads the
request's events, folds them, asks :func:`reqfulfill.lifecycle.decide`, and
appends the new events with the expected version; a stale write is retried on
fresh state. Side effects (supplier orders, notifications, automations) are
recorded in the store's outbox in the same append and run by the
:class:`reqfulfill.Worker`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TypeGuard

import attrs

from reqfulfill import lifecycle
from reqfulfill.clock import Clock, SystemClock
from reqfulfill.directory import DirectoryMemory, ServiceDirectory
from reqfulfill.feedback import FeedbackPolicy
from reqfulfill.lifecycle import Command, Context
from reqfulfill.lifecycle.command_types import check_command
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import Channel, RequestState
from reqfulfill.model.errors import ConcurrencyError, NotFoundError, Problem, ValidationError
from reqfulfill.model.events import Event, ItemSuggestion
from reqfulfill.model.request import ServiceRequest
from reqfulfill.plugins import PluginHost, get_plugin_manager
from reqfulfill.progress import Progress, progress_of
from reqfulfill.schedule import current_timers, timer_changes
from reqfulfill.serialization.arguments import (
    check_duration,
    check_id,
    check_instance,
    string_problem,
)
from reqfulfill.service_commands import RequestCommands
from reqfulfill.service_intake import MessageIntake
from reqfulfill.service_reads import RequestReads
from reqfulfill.stores import OutboxEntry, RequestSummary, Store
from reqfulfill.subscriptions import Subscription

if TYPE_CHECKING:
    from reqfulfill.rules import Rules
    from reqfulfill.sla import SlaPolicy

__all__ = ["FulfillmentService", "Progress", "default_store_url"]

log = logging.getLogger(__name__)

_RETRIES = 20
"""How often a command is tried on fresh state when a concurrent write wins the race."""

_CLOSING = (lifecycle.Close, lifecycle.AutoClose)
"""The commands that close a request (and may invite feedback)."""

_ASKS_APPROVERS = (RequestState.AWAITING_APPROVAL, RequestState.SUBMITTED, RequestState.TRIAGE)
"""The states in which a decision asks the ``approvers`` hook."""

_STATE_CACHE = 1024
"""How many recently used request states a service keeps, so a command folds only
the events appended since (a stream never changes below its version)."""


def _delegate_at(plugins: PluginHost, at: datetime, actor: str) -> str | None:
    """The ``reqfulfill_delegate`` hook's answer for ``actor`` at ``at``."""
    return plugins.delegate(actor, at)


def default_store_url() -> str:
    """The embedded store used when none is given.

    ``$REQFULFILL_STORE`` if set, else ``sqlite:///`` + ``$XDG_DATA_HOME/reqfulfill/reqfulfill.db``
    (``~/.local/share/reqfulfill/reqfulfill.db`` by default).
    """
    url = os.environ.get("REQFULFILL_STORE")
    if url:
        return url
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return "sqlite:///" + str(Path(base) / "reqfulfill" / "reqfulfill.db")


class FulfillmentService(RequestCommands, RequestReads, MessageIntake):
    """Runs service requests through their lifecycle on a store.

    >>> from reqfulfill.testing import demo_catalog
    >>> svc = FulfillmentService(demo_catalog(), store="memory://")
    >>> svc.catalog.item("iphone-15").group
    'service-desk'

    :param catalog: the service catalog.
    :param rules: routing rules; with none, item defaults and the ITIL matrix decide.
    :param sla: the SLA policy; with none, no SLA clock runs.
    :param store: a store URL or a :class:`~reqfulfill.stores.Store`; with none,
        the embedded SQLite store at :func:`default_store_url`.
    :param plugins: plugin objects registered for this service only.
    :param clock: where time comes from (default :class:`~reqfulfill.SystemClock`).
    :param id_factory: makes new request ids (default ``REQ-`` + 12 hex digits).
    :param poll_interval: how often the worker polls open supplier orders.
    :param close_after: a grace period after which the worker closes a fulfilled
        request nobody closed (None: an agent closes it, or the requester's
        confirmation of delivery does).
    :param feedback: when feedback is asked for and accepted (default: every
        request, within 14 days of closure).
    :param load_entrypoints: load plugins from the ``reqfulfill`` entry-point group.

    An argument of the wrong type is a ``ValidationError`` naming it, here and in every
    method: nothing a caller passes is written unless a fresh service can read it back
    (see :mod:`reqfulfill.serialization.arguments`).
    """

    def __init__(
        self,
        catalog: Catalog,
        rules: Rules | None = None,
        sla: SlaPolicy | None = None,
        store: str | Store | None = None,
        plugins: Iterable[object] = (),
        clock: Clock | None = None,
        *,
        id_factory: Callable[[], str] | None = None,
        poll_interval: timedelta = timedelta(minutes=15),
        close_after: timedelta | None = None,
        feedback: FeedbackPolicy | None = None,
        load_entrypoints: bool = True,
    ) -> None:
        if not isinstance(catalog, Catalog):
            raise ValidationError.single("catalog", catalog, "expected a Catalog")
        rules = _rules_argument(rules)
        _check_rule_groups(rules, catalog)
        self.catalog = catalog
        self.rules = rules
        self.sla = _sla_argument(sla)
        if clock is not None and not isinstance(clock, Clock):
            raise ValidationError.single("clock", clock, "expected a Clock (with now())")
        self.clock: Clock = clock or SystemClock()
        self.poll_interval = check_duration(poll_interval, "poll_interval", zero=True)
        self.close_after = (
            None if close_after is None else check_duration(close_after, "close_after", zero=True)
        )
        self.feedback = (
            FeedbackPolicy()
            if feedback is None
            else check_instance(feedback, FeedbackPolicy, "feedback", "a FeedbackPolicy")
        )
        if isinstance(plugins, str | bytes | Mapping) or not isinstance(plugins, Iterable):
            raise ValidationError.single("plugins", plugins, "expected a list of plugin objects")
        check_instance(load_entrypoints, bool, "load_entrypoints", "true or false")
        if id_factory is not None and not callable(id_factory):
            raise ValidationError.single("id_factory", id_factory, "expected a function")
        self.plugins = PluginHost(get_plugin_manager(plugins, load_entrypoints=load_entrypoints))
        if store is None:
            store = default_store_url()
        if isinstance(store, str):
            store = self.plugins.storage(store)
        if not isinstance(store, Store):
            raise ValidationError.single("store", store, "expected a store URL or a Store")
        self.store: Store = store
        self._new_id = id_factory or (lambda: "REQ-" + uuid.uuid4().hex[:12].upper())
        # request id -> (state, the last event folded into it, its effect events not
        # settled yet by id), most recent last
        self._states: dict[str, _Known] = {}
        # sorted catalog members and round-robin counts, kept between decisions
        self._directory = DirectoryMemory()

    # -- plumbing ---------------------------------------------------------------------

    def _context(self, state: ServiceRequest | None, command: Command | None = None) -> Context:
        now = self.clock.now()
        hook = self.plugins.pm.hook
        approvers: frozenset[str] = frozenset()
        # no plugin adds approvers (the usual case): skip building the submitted
        # request for the hook and pluggy's call; asked per command, like ``on_event``
        if hook.reqfulfill_approvers.get_hookimpls():
            approvers = self._plugin_approvers(state, command, now)
        delegate = None
        if hook.reqfulfill_delegate.get_hookimpls():
            delegate = functools.partial(_delegate_at, self.plugins, now)
        survey = True
        if isinstance(command, _CLOSING) and state is not None:
            survey = self._sampled(state)
        return Context(  # by position, in field order (built per decision)
            self.catalog,
            now,
            self.rules,
            self.sla,
            ServiceDirectory(self.catalog, self.plugins, self.store, now, self._directory),
            approvers,
            self.feedback,
            survey,
            delegate,
        )

    def _plugin_approvers(
        self, state: ServiceRequest | None, command: Command | None, now: datetime
    ) -> frozenset[str]:
        """The approvers the ``approvers`` hook adds for a decision on ``state``."""
        if state is None and isinstance(command, lifecycle.Submit):
            # the approvers hook takes a request: show it the request as submitted
            try:
                state = lifecycle.evolve(None, lifecycle.submitted_event(command, now))
            except (TypeError, ValueError):
                return frozenset()  # bad input: decide reports it
        if state is not None and state.state in _ASKS_APPROVERS:
            return frozenset(self.plugins.approvers(state))
        return frozenset()

    def _sampled(self, state: ServiceRequest) -> bool:
        """Whether closing this request invites feedback (every Nth per requester or item)."""
        if self.feedback.every_nth == 1:
            return True
        if self.feedback.per == "item":
            closed = self.store.query(item=state.item, state=RequestState.CLOSED.value)
        else:
            closed = self.store.query(requester=state.requester.id, state=RequestState.CLOSED.value)
        return self.feedback.surveys(len(closed))

    def _load(self, request_id: str) -> ServiceRequest:
        known = self._states.get(request_id)
        if known is not None:
            current = self._brought_up(request_id, known)
            if current is not None:
                return current[0]
        events = self.store.load(request_id)
        if not events:
            raise NotFoundError("request", request_id)
        state = lifecycle.replay(events)
        self._remember(state, events[-1], _open_effects(state, _NO_EFFECTS, events))
        return state

    def _brought_up(self, request_id: str, known: _Known) -> _Known | None:
        """The cached ``known`` brought up to date, remembered; None when the stream is
        not the one folded.

        A stream only grows, so a state folded earlier is still the fold of the
        stream's first ``version`` events: read only what came after (another process
        may have written since). The stream may differ altogether (a store wiped and
        refilled): then its event ``version`` is not the one folded last, and the whole
        stream is to be read again."""
        state, last, effects = known
        tail = self.store.load_after_event(request_id, state.version, last)
        if tail is None:
            return None
        if not tail:
            return known
        for event in tail:
            state = lifecycle.evolve(state, event)
        return self._remember(state, tail[-1], _open_effects(state, effects, tail))

    def _load_many(self, request_ids: Sequence[str]) -> list[ServiceRequest]:
        """:meth:`_load` of several requests with one ``Store.load_many``: a cached
        state reads its last event and what came after, the others their streams."""
        known = {rid: self._states.get(rid) for rid in request_ids}
        after = {rid: entry[0].version - 1 for rid, entry in known.items() if entry is not None}
        found = self.store.load_many(list(known), after=after)
        out: list[ServiceRequest] = []
        for request_id in request_ids:
            events, entry = found[request_id], known[request_id]
            if entry is not None and events and events[0] == entry[1]:
                state = entry[0]
                for event in events[1:]:
                    state = lifecycle.evolve(state, event)
            elif entry is not None:  # rewritten since: read as if never seen (rare)
                self._states.pop(request_id, None)
                out.append(self._load(request_id))
                continue
            elif events:
                state = lifecycle.replay(events)
            else:
                raise NotFoundError("request", request_id)
            previous = entry[2] if entry is not None else _NO_EFFECTS
            self._remember(state, events[-1], _open_effects(state, previous, events))
            out.append(state)
        return out

    def _remember(self, state: ServiceRequest, last: Event, effects: Mapping[str, Event]) -> _Known:
        """Cache ``state``, the last event folded into it and its open ``effects``."""
        states = self._states
        states.pop(state.id, None)
        if len(states) >= _STATE_CACHE:
            # another thread may have evicted it already
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):
                del states[next(iter(states))]
        known = states[state.id] = (state, last, effects)
        return known

    def refresh_timers(self, request_id: str) -> None:
        """Set the request's ``sla`` and ``close`` timers from its current state.

        The worker calls this after a timer's command; it is idempotent, so two
        workers firing the same timer both leave the right one behind.
        """
        state = self.get(request_id)
        timers = current_timers(state, sla=self.sla, close_after=self.close_after)
        self.store.set_timers(request_id, timers)

    def _execute(
        self,
        request_id: str,
        make: Callable[[ServiceRequest | None], Command | Sequence[Command]],
        *,
        new: bool = False,
        known: ServiceRequest | None = None,
        completes: tuple[Sequence[str], str] | None = None,
        claim: _Claim | None = None,
    ) -> ServiceRequest:
        """Load, decide, append; on a concurrent write, again on fresh state.

        ``make`` gives the command, or several decided one after the other whose
        events go in one append. ``known``: a state the caller has just loaded; the
        first attempt decides on it without reading the store again if it is still
        the one this service folded last (a stale one fails the append's version
        check and is read afresh). ``completes``: ``(effect_ids, worker)`` of the
        outbox entries whose outcomes the commands record; they leave the outbox
        with the append (see :meth:`_append`). ``claim``: also claim the request's due
        effects in that transaction (with ``completes``; they go into ``claim.entries``).
        """
        for attempt in range(_RETRIES):
            if new:
                state: ServiceRequest | None = None
            elif attempt == 0 and known is not None and self._cached(request_id) is known:
                state = known
            else:
                state = self._load(request_id)
            events, after = self._decide(state, make(state))
            if not events and claim is None:
                assert state is not None
                if completes is not None:
                    self._complete_effects(*completes)
                return state
            assert after is not None  # the state itself when nothing was decided
            try:
                self._append(request_id, events, state, after, completes, claim)
            except ConcurrencyError:
                if new or attempt == _RETRIES - 1 or (claim is not None and claim.require):
                    # a claim of effects read earlier is tried once: the worker reads
                    # what is due again rather than deciding on fresh state here
                    raise
                log.debug("concurrent write on %s; retrying on fresh state", request_id)
                # a short random pause spreads racing writers apart (no pause the first time)
                if attempt:
                    time.sleep(random.uniform(0, 0.002 * min(attempt, 10)))
                continue
            if events:
                self._appended(state, after, events)
            return after
        raise AssertionError("unreachable")  # pragma: no cover

    def _decide(
        self, state: ServiceRequest | None, made: Command | Sequence[Command]
    ) -> tuple[list[Event], ServiceRequest | None]:
        """The events of ``made`` (one command, or several decided one after the other
        on the state the previous one left) and the state they lead to."""
        events: list[Event] = []
        after = state
        for command in [made] if isinstance(made, Command) else made:
            decided, folded = lifecycle.decide_and_evolve(
                after, command, self._context(after, command)
            )
            if decided:
                events += decided
                after = folded
        return events, after

    def _appended(
        self, before: ServiceRequest | None, after: ServiceRequest, events: list[Event]
    ) -> None:
        """What follows a stored append: the state cache, round-robin counts, observers."""
        known = self._states.get(after.id) if before is not None else None
        # the open effects of ``before`` (another thread may have cached another state)
        effects = known[2] if known is not None and known[0] is before else _NO_EFFECTS
        self._remember(after, events[-1], _open_effects(after, effects, events))
        self._directory.count_assignments(events)
        # no observer (the usual case): skip pluggy's call per event; asked per
        # command, so a plugin registered on ``plugins.pm`` later is still told
        if self.plugins.pm.hook.reqfulfill_on_event.get_hookimpls():
            for event in events:
                self.plugins.on_event(event)

    def _append(
        self,
        request_id: str,
        events: list[Event],
        before: ServiceRequest | None,
        after: ServiceRequest,
        completes: tuple[Sequence[str], str] | None,
        claim: _Claim | None = None,
    ) -> None:
        """Append a decision's events with the summary and timers of ``after``; with
        ``completes``, complete those outbox entries in the same transaction, and with
        ``claim`` claim the request's due effects in it too."""
        expected = before.version if before is not None else 0
        if claim is not None and completes is not None and not events:
            # nothing to record: complete and claim in one transaction
            effect_ids, worker = completes
            now, lease = self.clock.now(), claim.lease
            claim.entries += self.store.append_and_claim(
                request_id,
                [],
                expected,
                effect_ids=effect_ids,
                worker=worker,
                now=now,
                lease=lease,
                require=claim.require,
            )
            return
        summary = RequestSummary.of(after, events)
        timers = timer_changes(
            before,
            after,
            sla=self.sla,
            close_after=self.close_after,
            poll_interval=self.poll_interval,
        )
        if completes is None:
            self.store.append(request_id, events, expected, summary=summary, timers=timers)
            return
        effect_ids, worker = completes
        if claim is not None:
            claim.entries += self.store.append_and_claim(
                request_id,
                events,
                expected,
                effect_ids=effect_ids,
                worker=worker,
                now=self.clock.now(),
                lease=claim.lease,
                summary=summary,
                timers=timers,
                require=claim.require,
            )
            return
        self.store.append_and_complete(
            request_id,
            events,
            expected,
            effect_ids=effect_ids,
            worker=worker,
            summary=summary,
            timers=timers,
        )

    def _complete_effects(self, effect_ids: Sequence[str], worker: str) -> None:
        """Take effects whose outcome decided nothing off the outbox (no append)."""
        for effect_id in effect_ids:
            self.store.complete_effect(effect_id, worker=worker)

    def _cached(self, request_id: str) -> ServiceRequest | None:
        known = self._states.get(request_id)
        return known[0] if known is not None else None

    # -- for workers ----------------------------------------------------------------------

    def effects_of(
        self, request_id: str, effect_ids: Sequence[str]
    ) -> tuple[ServiceRequest, dict[str, Event]]:
        """The request's current state and its request-for-effect events ``effect_ids``
        by id (an id the stream lacks is left out). For worker implementations: the
        outbox names effects by event id, and this reads what running them needs.
        ``NotFoundError`` for an unknown request.

        Effects this service appended or read, not settled when it last folded the
        request, are kept with its cached state: then the store is only asked for what
        came after that state (:meth:`~reqfulfill.stores.Store.load_after_event`), and
        no event is read again. Otherwise, event ids being ``<request_id>/<n>``, one
        :meth:`~reqfulfill.stores.Store.load_after` from the earliest effect's version
        on gives the effects' events and brings the cached state up to date (when the
        cache holds that version or a later one), instead of one read for each.
        """
        check_id(request_id, "request_id")
        effect_ids = _id_list(effect_ids, "effect_ids")
        known = self._states.get(request_id)
        if known is not None and effect_ids and all(i in known[2] for i in effect_ids):
            # effects this service appended or read, not settled when last folded:
            # the cached state brought up to date is all there is to read
            current = self._brought_up(request_id, known)
            if current is not None:
                return current[0], _by_id(known[2].values(), effect_ids)
        versions = [_version_in(request_id, effect_id) for effect_id in effect_ids]
        events: list[Event]
        if versions and None not in versions:
            first = min(v for v in versions if v is not None)
            events = self.store.load_after(request_id, first - 1)
            if events and known is not None:
                state, last, effects = known
                at = state.version - first  # where the cached state's last event is
                if 0 <= at < len(events) and events[at] == last:
                    for event in events[at + 1 :]:
                        state = lifecycle.evolve(state, event)
                    self._remember(state, events[-1], _open_effects(state, effects, events))
                    return state, _by_id(events, effect_ids)
        else:
            events = self.store.load(request_id)
        return self._load(request_id), _by_id(events, effect_ids)

    def record_outcomes(
        self,
        state: ServiceRequest,
        commands: Sequence[Command],
        effect_ids: Sequence[str],
        worker: str,
    ) -> ServiceRequest:
        """Record effects' outcomes and take the effects off the outbox. For worker
        implementations.

        Decides ``commands`` (the worker commands such as
        :class:`~reqfulfill.lifecycle.NotificationDelivered`) one after the other on
        ``state``, the request as :meth:`effects_of` just read it, and appends their
        events together with the completion of the outbox entries ``effect_ids``
        claimed by ``worker``, in one transaction
        (:meth:`~reqfulfill.stores.Store.append_and_complete`). A concurrent write
        makes it decide again on fresh state; when the commands decide nothing (the
        outcomes were recorded already), the entries are only completed. Returns the
        request as it then stands.
        """
        effect_ids = _outcome_arguments(state, commands, effect_ids, worker)
        return self._execute(
            state.id, lambda _state: commands, known=state, completes=(effect_ids, worker)
        )

    def record_and_claim(
        self,
        state: ServiceRequest,
        commands: Sequence[Command],
        effect_ids: Sequence[str],
        worker: str,
        *,
        lease: timedelta,
        require: Sequence[str] = (),
    ) -> tuple[ServiceRequest, list[OutboxEntry]]:
        """:meth:`record_outcomes`, and in the same transaction the claim for ``worker``
        of the request's due effects (those the outcomes ask for included) for
        ``lease`` (:meth:`~reqfulfill.stores.Store.append_and_claim`). For worker
        implementations: the worker runs the claimed effects next, without a claim
        transaction of their own. ``commands`` may be a timer's (``AutoClose``,
        ``FireSla``) with no ``effect_ids``. Returns the request as it then stands and
        the claimed entries, in stream order.

        ``require``: outbox entries read with :meth:`~reqfulfill.stores.Store.due_effects`
        that the claim must take. The worker claims a request's effects with the
        attempt of a supplier order this way: one transaction for both. If one of them
        cannot be claimed (another worker took it), or the request changed since
        ``state``, ``ConcurrencyError`` is raised at once and nothing is written."""
        effect_ids = _outcome_arguments(state, commands, effect_ids, worker)
        required = tuple(_id_list(require, "require"))
        claim = _Claim(check_duration(lease, "lease"), required)
        completes = (effect_ids, worker)
        after = self._execute(
            state.id, lambda _s: commands, known=state, completes=completes, claim=claim
        )
        return after, claim.entries

    # -- commands -----------------------------------------------------------------------

    def execute(self, request_id: str, command: Command) -> ServiceRequest:
        """Run any lifecycle command on a request (the typed methods call this).

        ``ValidationError`` for a request id that is not a string, a command that is not
        one, or an argument of the command that does not fit its field's type
        (:func:`~reqfulfill.lifecycle.command_types.check_command`); nothing is decided then.
        """
        check_id(request_id, "request_id")
        check_command(command)
        return self._execute(request_id, lambda _state: command)

    def submit(
        self,
        requester: Requester,
        item: str | None,
        channel: Channel,
        answers: Mapping[str, object] | None = None,
        actor: str | None = None,
        *,
        request_id: str | None = None,
        message_id: str | None = None,
        suggestions: Sequence[ItemSuggestion] = (),
    ) -> ServiceRequest:
        """Create a request. Portal requests must name a catalog item.

        Items that need approval wait for the requester's manager; items that do
        not go straight to fulfillment; requests without an item wait in triage, with
        ``suggestions`` (catalog items proposed for the request's text, best first;
        see :meth:`receive`). ``message_id``: the mail or chat message the request
        came in (the store finds the request by it; one another request holds is a
        ``ConcurrencyError``, and nothing is written).
        """
        rid = request_id if request_id is not None else self._new_id()
        if isinstance(channel, str):
            try:
                channel = Channel(channel)
            except ValueError:
                raise ValidationError.single("channel", channel, "unknown channel") from None
        if actor is None:
            # the requester submits: a bad requester (or id) is reported as the requester's
            actor = requester.id if isinstance(requester, Requester) else ""
            actor = actor if string_problem(actor, "actor") is None else ""
        command = check_command(
            lifecycle.Submit(
                actor=actor,
                request_id=rid,
                requester=requester,
                item=item,
                channel=channel,
                answers={} if answers is None else answers,
                message_id=message_id,
                suggestions=tuple(suggestions) if _is_list(suggestions) else suggestions,  # type: ignore[arg-type]
            )
        )
        return self._execute(rid, lambda _s: command, new=True)

    # -- queries ------------------------------------------------------------------------

    def get(self, request_id: str) -> ServiceRequest:
        """The request's current state; ``NotFoundError`` for an unknown id."""
        return self._load(check_id(request_id, "request_id"))

    def get_many(self, request_ids: Sequence[str]) -> list[ServiceRequest]:
        """The current state of each request, in the order given, read with one store
        call (``Store.load_many``: one statement on SQLite and PostgreSQL) instead of
        one per request; ``NotFoundError`` for an unknown id, ``ValidationError`` for
        more than 10,000 ids."""
        ids = _id_list(request_ids, "request_ids")
        return self._load_many(ids) if ids else []

    def history(self, request_id: str) -> list[Event]:
        """Every event of the request, in order: the audit trail."""
        events = self.store.load(check_id(request_id, "request_id"))
        if not events:
            raise NotFoundError("request", request_id)
        return events

    def subscribe(
        self,
        name: str,
        handler: Callable[..., object],
        *,
        after: int | None = None,
        batch: int = 500,
        lease: timedelta = timedelta(seconds=30),
        interval: float = 1.0,
    ) -> Subscription:
        """A durable subscription ``name`` of ``handler(event)`` or ``handler(event, tx)``
        to every event of the store, in position order; nothing runs or is written until
        its ``run_pending()`` or ``run_forever()`` (see :mod:`reqfulfill.subscriptions`).
        A bad name, ``after`` or handler is a ``ValidationError``."""
        return Subscription(
            self.store, name, handler, after=after, batch=batch, lease=lease, interval=interval
        )

    def progress(self, request_id: str) -> Progress:
        """What the requester may see: state in plain words, tasks, waits, expected time
        (see :func:`reqfulfill.progress.progress_of`)."""
        return progress_of(self._load(check_id(request_id, "request_id")))


@attrs.define
class _Claim:
    """A claim asked of an outcome's transaction: the lease, and what it claimed."""

    lease: timedelta
    require: tuple[str, ...] = ()
    entries: list[OutboxEntry] = attrs.Factory(list)


def _outcome_arguments(
    state: object, commands: object, effect_ids: object, worker: object
) -> list[str]:
    """Check a worker's outcome arguments (``ValidationError`` naming the bad one);
    return ``effect_ids`` as a list."""
    check_id(check_instance(state, ServiceRequest, "state", "a ServiceRequest").id, "state.id")
    if not _is_list(commands):
        raise ValidationError.single("commands", commands, "expected a list of commands")
    for command in commands:
        check_command(command)
    ids = _id_list(effect_ids, "effect_ids")
    check_id(worker, "worker")
    return ids


def _version_in(request_id: str, event_id: str) -> int | None:
    """``n`` of an event id ``<request_id>/<n>`` (None for any other form)."""
    prefix, _, number = event_id.rpartition("/")
    if prefix == request_id and number.isascii() and number.isdigit() and len(number) < 10:
        return int(number)
    return None


def _id_list(ids: object, path: str) -> list[str]:
    """``ids`` as a list, if it is a list (or another sequence) of ids; else a
    ``ValidationError`` naming ``path``."""
    if not _is_list(ids):
        raise ValidationError.single(path, ids, "expected a list of ids")
    return [check_id(one, f"{path}[{index}]") for index, one in enumerate(ids)]


def _is_list(value: object) -> TypeGuard[Sequence[object]]:
    """Whether ``value`` is a list, a tuple or another sequence, but not a string."""
    kind = type(value)
    if kind is list or kind is tuple:
        return True
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _rules_argument(rules: object) -> Rules:
    """The routing rules a service is built with (none: the defaults)."""
    from reqfulfill.rules import Rules

    if rules is None:
        return Rules()
    return check_instance(rules, Rules, "rules", "Rules")


def _sla_argument(sla: object) -> SlaPolicy | None:
    """The SLA policy a service is built with, if any."""
    if sla is None:
        return None
    from reqfulfill.sla import SlaPolicy

    return check_instance(sla, SlaPolicy, "sla", "an SlaPolicy")


_Known = tuple[ServiceRequest, Event, Mapping[str, Event]]
"""A cached request: its state, the last event folded into it, and the effect events
(requests for effect) of its stream whose effect the state has not settled, by id."""

_NO_EFFECTS: Mapping[str, Event] = MappingProxyType({})


def _open_effects(
    state: ServiceRequest, previous: Mapping[str, Event], events: Iterable[Event]
) -> Mapping[str, Event]:
    """The effect events not settled in ``state`` among ``previous`` (those of the
    stream before ``events``) and ``events``; ``previous`` itself when that is all."""
    settled = state.settled
    new = [e for e in events if e.effect]
    if not new and not any(key in settled for key in previous):
        return previous
    out = {key: event for key, event in previous.items() if key not in settled}
    for event in new:
        if event.event_id not in settled:
            out[event.event_id] = event
    return out


def _by_id(events: Iterable[Event], ids: Iterable[str]) -> dict[str, Event]:
    wanted = set(ids)
    return {e.event_id: e for e in events if e.event_id in wanted}


def _check_rule_groups(rules: Rules, catalog: Catalog) -> None:
    """An assignment rule naming a group the catalog lacks would strand every request it
    routes (no one could act on it): refuse it when the service is built."""
    problems = [
        Problem(
            f"assignment.rules[{index}].then.group",
            rule.then.get("group"),
            f"rule {rule.name!r} assigns to a group the catalog does not have",
        )
        for index, rule in enumerate(rules.assignment.rules)
        if isinstance(rule.then.get("group"), str) and not catalog.has_group(rule.then["group"])
    ]
    if problems:
        raise ValidationError(problems, source="rules")
