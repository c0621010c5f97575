"""The storage contract every backend implements (see ``hookspecs.reqfulfill_storage``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import attrs

from reqfulfill.model.approval import pending_approvers
from reqfulfill.model.enums import RequestState
from reqfulfill.model.errors import StoreError, ValidationError
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.stores._facts import MetricFacts, MetricsTally, facts_of
from reqfulfill.stores._feed import StoredEvent

__all__ = [
    "LoadAfterEvent",
    "MetricFacts",
    "MetricsTally",
    "OutboxEntry",
    "RequestSummary",
    "Store",
    "StoredEvent",
    "Timer",
    "decode_events",
    "decode_feed",
    "driver_fault",
    "effect_due",
    "event_rows",
    "from_micros",
    "outbox_entry",
    "outbox_rows",
    "query_states",
    "to_micros",
]


_NO_FACTS = MetricFacts()
"""The facts of a listed summary (see :meth:`RequestSummary.listed`)."""

_STATE_VALUES: Mapping[RequestState, str] = {state: state.value for state in RequestState}
"""Each state's value, read once (an enum's ``value`` is a property)."""


# slots=False: built per append (see ServiceRequest)
@attrs.frozen(slots=False)
class RequestSummary:
    """What queries need of a request, written with every append.

    ``orders`` lists ``(supplier_id, ref)`` of the request's supplier orders so
    the store can find a request by order reference. ``facts`` are what the metrics
    need of the request (see :class:`~reqfulfill.stores.MetricFacts`: the store
    merges them into the request's facts row). ``approvers``: who the request waits
    for now (:func:`~reqfulfill.model.approval.pending_approvers`), so the store
    answers :meth:`Store.pending_approvals` from an index. ``messages``: the ids of
    the mails and chat messages recorded on it, so the store can find it by message id
    (a message id held by another request makes the append a ``ConcurrencyError``).
    """

    request_id: str
    state: str
    group: str | None
    agent: str | None
    item: str | None
    requester: str
    priority: int | None
    created_at: datetime
    updated_at: datetime
    orders: tuple[tuple[str, str], ...] = ()
    facts: MetricFacts = attrs.field(factory=MetricFacts)
    approvers: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    @classmethod
    def of(cls, request: ServiceRequest, events: Sequence[Event] = ()) -> RequestSummary:
        """The summary of a request's current state, appended with ``events`` (the
        events give the metric facts only a history has: first assignment,
        escalations, survey)."""
        assignment, priority = request.assignment, request.priority
        orders = [
            (t.supplier, t.order_ref)
            for t in request.plan
            if t.order_ref is not None and t.supplier is not None
        ]
        return cls(  # by position, in field order
            request.id,
            _STATE_VALUES[request.state],
            assignment.group if assignment is not None else None,
            assignment.agent if assignment is not None else None,
            request.item,
            request.requester.id,
            int(priority) if priority is not None else None,
            request.created_at,
            request.updated_at,
            tuple(orders) if orders else (),
            facts_of(request, events),
            pending_approvers(request),
            request.messages,
        )

    def listed(self) -> RequestSummary:
        """The summary as every store's queries (:meth:`Store.query`,
        :meth:`Store.pending_approvals`) give it back: the columns a query filters and
        orders on, with ``orders``, ``facts``, ``approvers`` and ``messages`` empty (the
        write path keeps those in indexes of their own, which the queries answer from),
        so a page compares equal whichever store it came from."""
        if self.orders or self.approvers or self.messages or self.facts != _NO_FACTS:
            return attrs.evolve(self, orders=(), facts=_NO_FACTS, approvers=(), messages=())
        return self


# slots=False: built per effect and claim (see ServiceRequest)
@attrs.frozen(slots=False)
class OutboxEntry:
    """A request-for-effect waiting in the outbox.

    ``attempts`` counts the attempts already made; ``available_at`` is when it
    may run (next attempt); ``lease_until`` is when a claim by ``worker`` lapses.
    """

    effect_id: str
    request_id: str
    kind: str
    attempts: int
    available_at: datetime
    lease_until: datetime | None = None
    worker: str | None = None
    last_error: str | None = None


@attrs.frozen
class Timer:
    """A time at which the worker must look at a request (``key`` says why)."""

    request_id: str
    key: str
    due: datetime


@runtime_checkable
class Store(Protocol):
    """An event store with an outbox and timers, for one set of requests.

    Guarantees every implementation gives (the contract kit,
    :class:`reqfulfill.testing.contracts.StoreContract`, checks each method):

    - ``append`` is atomic: all events, the summary, the outbox entries for the
      events with ``effect = True`` and the timers are written, or nothing is.
      A stale ``expected_version`` raises ``ConcurrencyError`` and writes nothing.
    - ``append_and_complete`` is an ``append`` and the completion of outbox
      entries in the same transaction (the worker records effects' outcomes with it);
      ``append_and_claim`` also claims the request's due effects in it.
    - ``load`` returns the stream in order (``[]`` for an unknown request);
      ``load_after`` the part of it after a version (the service reads only the
      events it has not folded yet), ``load_after_event`` that part only if the
      stream still holds the event the caller folded last; ``load_many`` several
      streams in one read.
    - an outbox entry is claimed by at most one worker while its lease lasts.
    - every stored event has a global position (``read_all``): strictly increasing in
      commit order, so an event committed after a reader has passed position ``p``
      never gets a position ``<= p`` (no reader skips an event).
    - a subscription's checkpoint is advanced only by the owner of its lease, in the
      transaction of its handler's writes (``advance_subscription``).
    """

    def append(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        summary: RequestSummary | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> None:
        """Append ``events`` after version ``expected_version`` (0 for a new request)."""
        ...

    def append_and_complete(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        effect_ids: Sequence[str],
        worker: str,
        summary: RequestSummary | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> None:
        """:meth:`append`, and :meth:`complete_effect` of each of ``effect_ids`` for
        ``worker``, in one transaction: a stale ``expected_version`` raises
        ``ConcurrencyError`` and neither writes the events nor completes an effect.
        With no events it still checks ``expected_version``, then completes the
        effects. An effect another worker has claimed since stays with that worker."""
        ...

    def append_and_claim(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        effect_ids: Sequence[str],
        worker: str,
        now: datetime,
        lease: timedelta,
        summary: RequestSummary | None = None,
        timers: Mapping[str, datetime | None] | None = None,
        require: Sequence[str] = (),
    ) -> list[OutboxEntry]:
        """:meth:`append_and_complete`, and in the same transaction the claim for
        ``worker`` (until ``now + lease``, as :meth:`claim_effects` would) of every due,
        unleased outbox entry of ``request_id``, those ``events`` create included;
        returns the claimed entries in stream order. The worker runs them at once, so
        an effect an outcome asks for needs no claim of its own. A stale
        ``expected_version`` raises ``ConcurrencyError``: nothing is written, completed
        or claimed.

        ``require``: outbox entries (of ``request_id``, read with :meth:`due_effects`)
        this transaction must claim; when one is gone, not due, or leased by a worker
        whose lease lasts, it raises ``ConcurrencyError`` and writes nothing. The
        worker claims a request's effects this way in the transaction that records
        a supplier order's attempt, so the attempt is never recorded by a worker that
        does not hold the effect."""
        ...

    def load(self, request_id: str) -> list[Event]:
        """The request's events in order; ``[]`` if it has none."""
        ...

    def load_after(self, request_id: str, version: int) -> list[Event]:
        """The request's events after the first ``version`` ones, in order (all of them
        for ``version <= 0``; ``[]`` for an unknown request or when there are none
        after). A fresh list each call."""
        ...

    def load_after_event(self, request_id: str, version: int, last: Event) -> list[Event] | None:
        """:meth:`load_after` of ``version``, if the request's event ``version`` is still
        ``last`` (equal to it): the events a state folded up to ``last`` has not
        folded yet. None when the stream holds another event there, or fewer than
        ``version`` events (it was written anew: a store wiped and refilled). The
        service brings its cached states up to date with it."""
        ...

    def load_many(
        self, request_ids: Sequence[str], *, after: Mapping[str, int] | None = None
    ) -> dict[str, list[Event]]:
        """The streams of several requests in one read (one statement on a SQL store):
        each distinct id of ``request_ids`` (a list or tuple, at most 10,000) to its
        events in order, or, for an id in ``after``, to those after its first
        ``after[id]`` (as :meth:`load_after`); ``[]`` for an unknown request. Fresh lists;
        bad arguments are a ``ValidationError``."""
        ...

    def query(
        self,
        *,
        group: str | None = None,
        state: str | None = None,
        agent: str | None = None,
        item: str | None = None,
        requester: str | None = None,
        limit: int | None = None,
        opened_from: datetime | None = None,
        opened_to: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        states: Sequence[str] | None = None,
    ) -> list[RequestSummary]:
        """Summaries matching every given filter, oldest first: ordered by
        ``(created_at, request_id)``, created in ``[opened_from, opened_to)``, and
        after the key ``after`` (a page's last row) when given. An index serves each
        filter combination :doc:`/queries` recommends.

        ``states``: rows in any of these states (a queue of several states in one
        read; the SQL stores merge one index range scan per state in one
        statement). Passing it with ``state``, empty, or not a list or tuple of
        request states' values is a ``ValidationError`` (see :func:`query_states`)."""
        ...

    def metric_tallies(
        self, by: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[MetricsTally]:
        """The metric sums of the requests created in ``[since, until)`` per ``by``
        (``"item"``, ``"group"`` or ``"agent"``), from the facts rows appends keep (all
        time, the SQL stores read their rollup, catching it up first: a write)."""
        ...

    def facts_to_rebuild(self, limit: int = 100) -> list[str]:
        """Requests whose facts a migration could not compute (stored before the
        store kept facts): :func:`reqfulfill.service_reads.rebuild_facts` replays them."""
        ...

    def rebuild_facts(self, request_id: str, version: int, facts: MetricFacts) -> bool:
        """Replace a request's facts with ``facts`` (whole, not merged), computed
        from its first ``version`` events; False, writing nothing, when the stream has
        moved on since (replay it again)."""
        ...

    def find_order(self, supplier_id: str, ref: str) -> str | None:
        """The id of the request that holds supplier order ``ref``, if any."""
        ...

    def pending_approvals(self, actor: str, *, limit: int | None = None) -> list[RequestSummary]:
        """The summaries of the requests waiting for ``actor``'s approval (``actor`` is in
        their summary's ``approvers``), the longest waiting first: by when the actor
        joined the request's approvers, then by request id. Answered from an index of
        (actor, request, since) written with the summaries, not by reading requests."""
        ...

    def find_message(self, message_id: str) -> str | None:
        """The id of the request that holds mail or chat message ``message_id``
        (it came in by it, or it was recorded on it as a reply), if any."""
        ...

    def claim_effects(
        self, now: datetime, *, worker: str, lease: timedelta, limit: int = 10
    ) -> list[OutboxEntry]:
        """Claim up to ``limit`` due, unleased effects for ``worker`` until ``now + lease``."""
        ...

    def due_effects(self, now: datetime, *, limit: int = 10) -> list[OutboxEntry]:
        """Up to ``limit`` effects :meth:`claim_effects` would claim at ``now`` (due,
        with no lease or a lapsed one, not held), in its order, read without claiming
        them: nothing is written. The worker holds the notifications among them
        (:meth:`hold_effects`) and claims the others with :meth:`append_and_claim`."""
        ...

    def hold_effects(self, effect_ids: Sequence[str], *, worker: str, now: datetime) -> list[str]:
        """Hold for ``worker`` each of ``effect_ids`` that is due at ``now``, has no
        lease (not even a lapsed one) and nobody holds; return the held ones. A hold
        writes nothing (no commit): it lasts until :meth:`release_holds`, or until the
        holder's process (SQLite) or connection (PostgreSQL) ends. While it lasts no
        one else holds the entry, and :meth:`claim_effects`, :meth:`due_effects` and
        the claim of :meth:`append_and_claim` pass it over (a ``require`` of it fails),
        so a live holder's effect is never run by another worker. The worker holds
        a request's notifications so, sends them, and records their deliveries with
        their completion in one transaction: no claim transaction. A store that
        cannot hold returns ``[]``: the worker claims then."""
        ...

    def release_holds(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Give up ``worker``'s holds on ``effect_ids`` (completed or not)."""
        ...

    def complete_effect(self, effect_id: str, *, worker: str) -> None:
        """Remove a finished effect from the outbox, unless another worker has claimed
        it since (this worker's lease lapsed): then that worker finishes it."""
        ...

    def retry_effect(
        self, effect_id: str, *, worker: str, available_at: datetime, error: str
    ) -> None:
        """Release a failed attempt: count it, and make it due again at ``available_at``.
        Does nothing when another worker has claimed the effect since."""
        ...

    def release_effects(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Give claimed effects back unrun: drop ``worker``'s lease on each, so any
        worker may claim it at once; no attempt is counted. An effect another worker
        has claimed since stays with that worker (a stopping worker releases what it
        claimed and did not start)."""
        ...

    def set_timers(self, request_id: str, timers: Mapping[str, datetime | None]) -> None:
        """Set (or with ``None`` delete) timers of a request outside an append."""
        ...

    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]:
        """Timers due at or before ``now``, earliest first."""
        ...

    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to ``limit`` (1..10,000) stored events with a position above ``after``
        (>= 0), in position order. Bad arguments are a ``ValidationError``."""
        ...

    def wait_for_work(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a sign that events, effects or timers may
        have been stored; ``True`` when woken early. A store without signals sleeps."""
        ...

    def lease_subscription(
        self, name: str, *, owner: str, start: int, now: datetime, lease: timedelta
    ) -> int | None:
        """Take or renew the lease of subscription ``name`` for ``owner`` until
        ``now + lease`` and return its checkpoint; a new subscription starts at
        ``start``. ``None`` (nothing changed) while another owner's lease lasts."""
        ...

    def advance_subscription(
        self,
        name: str,
        *,
        owner: str,
        expected: int,
        position: int,
        now: datetime,
        lease: timedelta,
        apply: Callable[[Any], None] | None = None,
    ) -> bool:
        """In one transaction: check ``owner`` holds the lease of ``name`` and its
        checkpoint is ``expected``, call ``apply(tx)`` (the handler's writes, see
        :mod:`reqfulfill.subscriptions` for each store's ``tx``), store ``position``
        and renew the lease. ``False``, with nothing written, when the lease is
        another's or the checkpoint moved; an exception of ``apply`` rolls back."""
        ...

    def release_subscription(self, name: str, *, owner: str) -> None:
        """Give up ``owner``'s lease of ``name`` (another process may take it at once)."""
        ...

    def subscription_position(self, name: str) -> int | None:
        """The checkpoint of subscription ``name``; ``None`` if it was never run."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class _LoadsAfter(Protocol):
    def load_after(self, request_id: str, version: int) -> list[Event]: ...


class LoadAfterEvent:
    """``Store.load_after_event`` of a store that reads the event at the version with
    the events after it (``load_after``) and compares it (the SQL stores)."""

    def load_after_event(
        self: _LoadsAfter, request_id: str, version: int, last: Event
    ) -> list[Event] | None:
        """The events after ``version``, if event ``version`` is still ``last``; else None."""
        if version < 1:
            return None
        events = self.load_after(request_id, version - 1)
        if not events or events[0] != last:
            return None
        del events[0]
        return events


def effect_due(event: Event) -> datetime:
    """When an effect event's outbox entry may first run: ``not_before`` if it has one
    (notifications held until business hours), else when it was recorded."""
    not_before: datetime | None = getattr(event, "not_before", None)
    return not_before if not_before is not None else event.at


def event_rows(
    request_id: str, events: Sequence[Event], expected_version: int
) -> list[tuple[str, int, str, str, int, str]]:
    """The rows a SQL store writes for an append: (request_id, version, event_id, type,
    at in micros, JSON payload), versions counting on from ``expected_version``."""
    from reqfulfill.serialization import event_to_json

    return [
        (
            request_id,
            expected_version + i + 1,
            e.event_id,
            e.type,
            to_micros(e.at),
            event_to_json(e),
        )
        for i, e in enumerate(events)
    ]


def outbox_rows(
    request_id: str, events: Sequence[Event], expected_version: int
) -> list[tuple[str, str, str, int, int]]:
    """The outbox rows of an append: (effect_id, request_id, kind, due in micros, version)
    for each request-for-effect event, ``version`` being its position in the stream (a
    request's effects are claimed in that order)."""
    return [
        (e.event_id, request_id, e.type, to_micros(effect_due(e)), expected_version + i + 1)
        for i, e in enumerate(events)
        if e.effect
    ]


def decode_events(
    url: str, operation: str, request_id: str, rows: Iterable[Sequence[Any]]
) -> list[Event]:
    """The events of stored rows (version, JSON payload), in the rows' order.

    A payload that is not JSON, or not an event, is a ``StoreError`` naming the store
    ``url``, the request and the version, with the codec's error as its cause: stored
    data that cannot be read, not bad input.
    """
    from reqfulfill.serialization import event_from_json

    events: list[Event] = []
    for version, payload in rows:
        try:
            events.append(event_from_json(payload))
        except (ValueError, TypeError, RecursionError) as exc:
            # what the codec raises for text it cannot decode: JSONDecodeError and
            # ValidationError (ValueErrors), TypeError for JSON that is not an object,
            # RecursionError for JSON nested too deeply
            raise _undecodable(url, operation, request_id, version, exc) from exc
    return events


def _undecodable(
    url: str, operation: str, request_id: str, version: Any, exc: Exception
) -> StoreError:
    return StoreError(
        url,
        operation,
        f"the stored event does not decode: {type(exc).__name__}: {exc}",
        request_id=request_id,
        position=int(version),
    )


def decode_feed(url: str, operation: str, rows: Iterable[Sequence[Any]]) -> list[StoredEvent]:
    """Stored events from SQL rows (position, request_id, version, JSON payload); a
    payload that does not decode is a ``StoreError`` as in :func:`decode_events`."""
    from reqfulfill.serialization import event_from_json

    out: list[StoredEvent] = []
    for position, request_id, version, payload in rows:
        try:
            event = event_from_json(payload)
        except (ValueError, TypeError, RecursionError) as exc:
            raise _undecodable(url, operation, request_id, version, exc) from exc
        out.append(StoredEvent(position, request_id, event, version))
    return out


def driver_fault(
    url: str, operation: str, exc: Exception, request_id: str | None = None
) -> StoreError:
    """The ``StoreError`` for a database driver's exception ``exc`` in ``operation``
    (the caller raises it ``from exc``)."""
    reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    return StoreError(url, operation, reason, request_id=request_id)


def outbox_entry(row: Sequence[Any]) -> OutboxEntry:
    """An outbox entry from a SQL row (effect_id, request_id, kind, attempts,
    available_at, lease_until, worker, last_error), times in micros."""
    return OutboxEntry(
        effect_id=row[0],
        request_id=row[1],
        kind=row[2],
        attempts=row[3],
        available_at=from_micros(row[4]),
        lease_until=from_micros(row[5]) if row[5] is not None else None,
        worker=row[6],
        last_error=row[7],
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_KNOWN_STATES = frozenset(s.value for s in RequestState)


def query_states(state: str | None, states: object) -> tuple[str | None, ...]:
    """The states a :meth:`Store.query` reads, one index range scan each: ``(state,)``
    without ``states`` (``(None,)``: any state), else each of ``states`` once, in the
    order given. A ``ValidationError`` for ``states`` beside ``state``, empty, or not
    a list or tuple of request states' values (so at most ten scans)."""
    if states is None:
        return (state,)
    if not isinstance(states, list | tuple) or not states:
        raise ValidationError.single("states", states, "expected a list of one state or more")
    if state is not None:
        raise ValidationError.single("states", states, "give state or states, not both")
    for index, value in enumerate(states):
        if not isinstance(value, str) or value not in _KNOWN_STATES:
            raise ValidationError.single(
                f"states[{index}]", value, "expected a request state's value, e.g. 'waiting'"
            )
    return tuple(dict.fromkeys(states))


def to_micros(at: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (sortable)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    """The inverse of :func:`to_micros`, as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=value)
