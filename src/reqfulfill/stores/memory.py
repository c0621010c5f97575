"""``memory://``: an in-process store for tests and simulations.

It keeps events in their stored form, the JSON text the SQL stores write, and loads
the events read back from that text, as they do: an event the codec refuses is refused
here too (a ``ValidationError``, nothing appended), and a second service on the same
store loads exactly what it would load from SQLite or PostgreSQL. Each event is encoded
once, when it is appended, and decoded once, when it is first read: the decoded event
(frozen, its free-form data read-only) is kept beside its text and every later load
returns it, so a stream read again and again is not decoded again and again.
``memory://?codec=off`` (``MemoryStore(codec=False)``) keeps the event objects as
given instead, for simulations and benchmarks that trust their input.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, final
from urllib.parse import parse_qsl, urlsplit

import attrs

from reqfulfill.model.errors import ConcurrencyError, ValidationError
from reqfulfill.model.events import Event
from reqfulfill.stores._base import (
    MetricFacts,
    MetricsTally,
    OutboxEntry,
    RequestSummary,
    Timer,
    effect_due,
    query_states,
)
from reqfulfill.stores._batch import check_load_many
from reqfulfill.stores._facts import METRIC_DIMENSIONS, merge_facts, tally
from reqfulfill.stores._feed import (
    StoredEvent,
    check_position,
    check_read_all,
    check_subscription_name,
)
from reqfulfill.stores.memory_feed import MemoryFeed, run_apply

__all__ = ["MemoryStore"]


@final
class MemoryStore:
    """Keeps everything in dictionaries behind one lock. Not shared across processes.

    :param codec: keep each event as its stored JSON text and load the event decoded
        from it, as the SQL stores do (the default; decoded at its first read, then kept);
        ``False`` keeps the event objects as given.
    """

    def __init__(self, *, codec: bool = True) -> None:
        self.codec = codec
        # each stream's events in their stored form (JSON text, or the events themselves)
        self._encode: Callable[[Event], Any] | None = None
        self._decode: Callable[[Any], Event] | None = None
        if codec:
            from reqfulfill.serialization import event_from_json, event_to_json

            self._encode, self._decode = event_to_json, event_from_json
        self._lock = threading.Lock()
        self._streams: dict[str, list[Any]] = {}
        # with the codec, each stream's events as decoded from their text (None: not read yet)
        self._decoded: dict[str, list[Event | None]] = {}
        self._event_ids: set[str] = set()
        # with the codec, each stream's last event as appended (a weak reference: kept
        # alive by whoever folded it): ``load_after_event`` knows it without decoding
        self._given: dict[str, weakref.ref[Event]] = {}
        self._summaries: dict[str, RequestSummary] = {}
        # each request's metric facts, merged append after append
        self._facts: dict[str, MetricFacts] = {}
        self._orders: dict[tuple[str, str], str] = {}
        # actor -> request id -> since: the pending approvers' index
        self._approvals: dict[str, dict[str, datetime]] = {}
        self._messages: dict[str, str] = {}  # message id -> request id
        self._outbox: dict[str, OutboxEntry] = {}
        self._holds: dict[str, str] = {}  # effect id -> the worker holding it (hold_effects)
        # each outbox entry's position in its stream: a request's effects in stream order
        self._positions: dict[str, int] = {}
        self._timers: dict[tuple[str, str], datetime] = {}
        # (due, request_id, key) kept sorted so due timers are found without a scan
        self._timer_index: list[tuple[datetime, str, str]] = []
        self._feed = MemoryFeed()

    @classmethod
    def from_url(cls, url: str) -> MemoryStore:
        """The store a ``memory://`` URL names: ``memory://``, or ``memory://?codec=off``
        to keep the event objects as given (``codec=on`` is the default)."""
        parts = urlsplit(url)
        if parts.scheme != "memory" or parts.netloc or parts.path or parts.fragment:
            raise ValidationError.single("store", url, "expected memory:// or memory://?codec=off")
        codec = True
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key != "codec" or value not in ("on", "off"):
                raise ValidationError.single(
                    "store", url, f"unknown option {key}={value} (memory:// takes codec=on|off)"
                )
            codec = value == "on"
        return cls(codec=codec)

    def append(
        self,
        request_id: str,
        events: Sequence[Event],
        expected_version: int,
        *,
        summary: RequestSummary | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> None:
        """Append atomically; stale ``expected_version`` raises ``ConcurrencyError``."""
        stored = self._stored(events)
        with self._lock:
            self._append(request_id, events, stored, expected_version, summary, timers)
        self._feed.wakeup.bump()

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
        """:meth:`append` and :meth:`complete_effect` of each of ``effect_ids`` as one
        atomic step."""
        stored = self._stored(events)
        with self._lock:
            self._append(request_id, events, stored, expected_version, summary, timers)
            for effect_id in effect_ids:
                self._complete(effect_id, worker)
        self._feed.wakeup.bump()

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
        """:meth:`append_and_complete`, and the claim of the request's due, unleased
        effects for ``worker``, as one atomic step; returns them in stream order. An
        entry of ``require`` that cannot be claimed raises ``ConcurrencyError`` first."""
        stored = self._stored(events)
        with self._lock:
            for effect_id in require:
                entry = self._outbox.get(effect_id)
                if (
                    entry is None
                    or entry.request_id != request_id
                    or not self._claimable(entry, now)
                ):
                    raise ConcurrencyError(request_id, expected_version)
            self._append(request_id, events, stored, expected_version, summary, timers)
            for effect_id in effect_ids:
                self._complete(effect_id, worker)
            due = [
                e
                for e in self._outbox.values()
                if e.request_id == request_id and self._claimable(e, now)
            ]
            due.sort(key=lambda e: self._positions[e.effect_id])
            claimed = [self._lease(e, now, lease, worker) for e in due]
        self._feed.wakeup.bump()
        return claimed

    def _stored(self, events: Sequence[Event]) -> Sequence[Any]:
        """The events in their stored form (written before the lock is taken: a refused
        event leaves the store as it was)."""
        encode = self._encode
        return events if encode is None else [encode(event) for event in events]

    def _loaded(self, request_id: str, start: int, stop: int | None = None) -> list[Event]:
        """The stream's events ``[start:stop]`` read back from their stored form: each
        decoded at its first read and kept (the caller holds the lock)."""
        stream = self._streams.get(request_id)
        if stream is None:
            return []
        decode = self._decode
        if decode is None:
            return stream[start:stop]
        decoded = self._decoded[request_id]
        events = decoded[start:stop]
        if None in events:
            for index, event in enumerate(events, start=start):
                if event is None:
                    decoded[index] = decode(stream[index])
            events = decoded[start:stop]
        return events  # type: ignore[return-value]  # every one decoded now

    def _append(
        self,
        request_id: str,
        events: Sequence[Event],
        stored: Sequence[Any],
        expected_version: int,
        summary: RequestSummary | None,
        timers: Mapping[str, datetime | None] | None,
    ) -> None:
        # the caller holds the lock
        stream = self._streams.get(request_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(request_id, expected_version, len(stream))
        if not events:
            return
        ids = [e.event_id for e in events]
        if len(set(ids)) != len(ids) or not self._event_ids.isdisjoint(ids):
            # the same guarantee the SQL stores give with a unique key
            raise ConcurrencyError(request_id, expected_version, len(stream))
        if (
            summary is not None
            and summary.messages
            and any(self._messages.get(m, request_id) != request_id for m in summary.messages)
        ):
            # a message another request holds: the SQL stores' unique key on it
            raise ConcurrencyError(request_id, expected_version, len(stream))
        if request_id in self._streams:
            stream.extend(stored)
        else:
            self._streams[request_id] = list(stored)
            if self._decode is not None:
                self._decoded[request_id] = []
        if self._decode is not None:
            self._decoded[request_id].extend([None] * len(stored))
            self._given[request_id] = weakref.ref(events[-1])
        self._feed.add(request_id, expected_version + 1, len(stored))
        self._event_ids.update(ids)
        for position, event in enumerate(events, start=expected_version + 1):
            if event.effect:
                self._positions[event.event_id] = position
                self._outbox[event.event_id] = OutboxEntry(  # by position
                    event.event_id, request_id, event.type, 0, effect_due(event)
                )
        if summary is not None:
            before = self._summaries.get(request_id)
            self._summaries[request_id] = summary
            self._facts[request_id] = merge_facts(self._facts.get(request_id), summary.facts)
            for supplier, ref in summary.orders:
                self._orders[(supplier, ref)] = request_id
            if summary.approvers or (before is not None and before.approvers):
                self._index_approvers(before, summary)
            for message_id in summary.messages:
                self._messages[message_id] = request_id
        if timers:
            self._set_timers(request_id, timers)

    def load(self, request_id: str) -> list[Event]:
        """The stream in order."""
        with self._lock:
            return self._loaded(request_id, 0)

    def load_after(self, request_id: str, version: int) -> list[Event]:
        """The events after the first ``version`` ones, in order."""
        with self._lock:
            return self._loaded(request_id, max(version, 0))

    def load_after_event(self, request_id: str, version: int, last: Event) -> list[Event] | None:
        """The events after ``version``, if event ``version`` is still ``last``; else None.

        A stream here never changes below its version, so the event there is ``last``
        when it is the very object this store read back or was given there: no text
        is decoded to compare. Another object is compared with the decoded event."""
        with self._lock:
            stream = self._streams.get(request_id)
            if stream is None or not 0 < version <= len(stream):
                return None
            if self._decode is None:
                held = stream[version - 1]
            else:
                held = self._decoded[request_id][version - 1]
                if held is None:
                    # the stream's last event, appended as this very object
                    given = self._given.get(request_id)
                    if version == len(stream) and given is not None and given() is last:
                        return []
                    held = self._loaded(request_id, version - 1, version)[0]
            if held is not last and held != last:
                return None
            return self._loaded(request_id, version)

    def load_many(
        self, request_ids: Sequence[str], *, after: Mapping[str, int] | None = None
    ) -> dict[str, list[Event]]:
        """Several streams (or their parts after a version) at once."""
        wanted = check_load_many(request_ids, after)
        with self._lock:
            return {rid: self._loaded(rid, max(v, 0)) for rid, v in wanted.items()}

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
        """Matching summaries, oldest first (a scan of the summaries, in memory)."""
        wanted = query_states(state, states)
        with self._lock:
            rows = [
                s
                for s in self._summaries.values()
                if (group is None or s.group == group)
                and (wanted == (None,) or s.state in wanted)
                and (agent is None or s.agent == agent)
                and (item is None or s.item == item)
                and (requester is None or s.requester == requester)
                and (opened_from is None or s.created_at >= opened_from)
                and (opened_to is None or s.created_at < opened_to)
                and (after is None or (s.created_at, s.request_id) > after)
            ]
        rows.sort(key=lambda s: (s.created_at, s.request_id))
        return [s.listed() for s in (rows[:limit] if limit is not None else rows)]

    def metric_tallies(
        self, by: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[MetricsTally]:
        """The metric sums per ``by`` of the requests created in ``[since, until)``."""
        if by not in METRIC_DIMENSIONS:
            raise ValidationError.single("by", by, "group metrics by 'item', 'group' or 'agent'")
        with self._lock:
            rows = [
                (
                    {"item": s.item, "group": s.group, "agent": s.agent}[by],
                    s.state == "closed",
                    self._facts[s.request_id],
                )
                for s in self._summaries.values()
                if (since is None or s.created_at >= since)
                and (until is None or s.created_at < until)
            ]
        return tally(rows)

    def facts_to_rebuild(self, limit: int = 100) -> list[str]:
        """None: the memory store keeps every request's facts from its first append."""
        return []

    def rebuild_facts(self, request_id: str, version: int, facts: MetricFacts) -> bool:
        """Replace the facts, unless the stream has moved past ``version``."""
        with self._lock:
            if request_id not in self._facts or len(self._streams[request_id]) != version:
                return False
            self._facts[request_id] = facts
            return True

    def _index_approvers(self, before: RequestSummary | None, after: RequestSummary) -> None:
        """Keep who a request waits for in the index: an approver who stays keeps the
        time they joined, a new one joins at the summary's ``updated_at``."""
        old = set(before.approvers) if before is not None else set()
        new = set(after.approvers)
        for actor in old - new:
            waiting = self._approvals.get(actor, {})
            waiting.pop(after.request_id, None)
            if not waiting:
                self._approvals.pop(actor, None)
        for actor in new - old:
            self._approvals.setdefault(actor, {})[after.request_id] = after.updated_at

    def pending_approvals(self, actor: str, *, limit: int | None = None) -> list[RequestSummary]:
        """The requests waiting for ``actor``, longest waiting first."""
        with self._lock:
            waiting = sorted(
                (since, request_id) for request_id, since in self._approvals.get(actor, {}).items()
            )
            if limit is not None:
                waiting = waiting[:limit]
            return [self._summaries[request_id].listed() for _, request_id in waiting]

    def find_order(self, supplier_id: str, ref: str) -> str | None:
        """The request holding the order."""
        with self._lock:
            return self._orders.get((supplier_id, ref))

    def find_message(self, message_id: str) -> str | None:
        """The request holding the message."""
        with self._lock:
            return self._messages.get(message_id)

    def claim_effects(
        self, now: datetime, *, worker: str, lease: timedelta, limit: int = 10
    ) -> list[OutboxEntry]:
        """Claim due, unleased effects: the earliest first, a request's in stream order."""
        with self._lock:
            due = sorted(
                (e for e in self._outbox.values() if self._claimable(e, now)),
                key=self._claim_order,
            )[:limit]
            return [self._lease(entry, now, lease, worker) for entry in due]

    def due_effects(self, now: datetime, *, limit: int = 10) -> list[OutboxEntry]:
        """The effects :meth:`claim_effects` would claim, unclaimed."""
        with self._lock:
            return sorted(
                (e for e in self._outbox.values() if self._claimable(e, now)),
                key=self._claim_order,
            )[:limit]

    def _claimable(self, entry: OutboxEntry, now: datetime) -> bool:
        return (
            entry.available_at <= now
            and (entry.lease_until is None or entry.lease_until <= now)
            and entry.effect_id not in self._holds
        )

    def hold_effects(self, effect_ids: Sequence[str], *, worker: str, now: datetime) -> list[str]:
        """Hold the due entries with no lease nobody holds (nothing is written)."""
        with self._lock:
            held = []
            for effect_id in dict.fromkeys(effect_ids):
                entry = self._outbox.get(effect_id)
                if entry is not None and entry.worker is None and self._claimable(entry, now):
                    self._holds[effect_id] = worker
                    held.append(effect_id)
            return held

    def release_holds(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Give up ``worker``'s holds on ``effect_ids``."""
        with self._lock:
            for effect_id in effect_ids:
                if self._holds.get(effect_id) == worker:
                    del self._holds[effect_id]

    def _lease(
        self, entry: OutboxEntry, now: datetime, lease: timedelta, worker: str
    ) -> OutboxEntry:
        # the caller holds the lock
        leased = OutboxEntry(
            entry.effect_id,
            entry.request_id,
            entry.kind,
            entry.attempts,
            entry.available_at,
            now + lease,
            worker,
            entry.last_error,
        )
        self._outbox[entry.effect_id] = leased
        return leased

    def _claim_order(self, entry: OutboxEntry) -> tuple[datetime, str, int]:
        return (entry.available_at, entry.request_id, self._positions[entry.effect_id])

    def complete_effect(self, effect_id: str, *, worker: str) -> None:
        """Remove the effect, unless another worker holds it now."""
        with self._lock:
            self._complete(effect_id, worker)

    def _complete(self, effect_id: str, worker: str) -> None:
        entry = self._outbox.get(effect_id)
        if entry is not None and entry.worker in (worker, None):
            del self._outbox[effect_id]
            del self._positions[effect_id]

    def retry_effect(
        self, effect_id: str, *, worker: str, available_at: datetime, error: str
    ) -> None:
        """Count the attempt and release the lease."""
        with self._lock:
            entry = self._outbox.get(effect_id)
            if entry is None or entry.worker not in (worker, None):
                return
            self._outbox[effect_id] = attrs.evolve(
                entry,
                attempts=entry.attempts + 1,
                available_at=available_at,
                lease_until=None,
                worker=None,
                last_error=error,
            )

    def release_effects(self, effect_ids: Sequence[str], *, worker: str) -> None:
        """Drop ``worker``'s lease on each effect (no attempt counted)."""
        with self._lock:
            for effect_id in effect_ids:
                entry = self._outbox.get(effect_id)
                if entry is not None and entry.worker == worker:
                    self._outbox[effect_id] = attrs.evolve(entry, lease_until=None, worker=None)

    def outbox(self) -> list[OutboxEntry]:
        """Every entry still in the outbox (for tests and diagnostics), in claim order."""
        with self._lock:
            return sorted(self._outbox.values(), key=self._claim_order)

    def set_timers(self, request_id: str, timers: Mapping[str, datetime | None]) -> None:
        """Set or delete timers."""
        with self._lock:
            self._set_timers(request_id, timers)

    def _set_timers(self, request_id: str, timers: Mapping[str, datetime | None]) -> None:
        for key, due in timers.items():
            old = self._timers.pop((request_id, key), None)
            if old is not None:
                index = bisect.bisect_left(self._timer_index, (old, request_id, key))
                if index < len(self._timer_index) and self._timer_index[index] == (
                    old,
                    request_id,
                    key,
                ):
                    del self._timer_index[index]
            if due is not None:
                self._timers[(request_id, key)] = due
                bisect.insort(self._timer_index, (due, request_id, key))

    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]:
        """Due timers, earliest first."""
        with self._lock:
            out: list[Timer] = []
            for due, request_id, key in self._timer_index:
                if due > now or len(out) >= limit:
                    break
                out.append(Timer(request_id, key, due))
            return out

    def read_all(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Stored events after position ``after``, in position order (the order of the
        appends)."""
        after, limit = check_read_all(after, limit)
        with self._lock:
            return [
                StoredEvent(
                    position, request_id, self._loaded(request_id, version - 1, version)[0], version
                )
                for position, request_id, version in self._feed.read(after, limit)
            ]

    def wait_for_work(self, timeout: float) -> bool:
        """Wait for an append through this store object, at most ``timeout`` seconds."""
        return self._feed.wakeup.wait(timeout)

    def lease_subscription(
        self, name: str, *, owner: str, start: int, now: datetime, lease: timedelta
    ) -> int | None:
        """Take or renew the lease of subscription ``name``."""
        check_subscription_name(name)
        check_position("start", start)
        with self._lock:
            return self._feed.lease(name, owner, start, now, lease)

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
        """Check the lease, run ``apply`` with a :class:`~reqfulfill.stores._feed.MemoryTx`,
        store the checkpoint and run the transaction's ``on_commit`` callbacks."""
        with self._lock:
            if not self._feed.holds(name, owner, expected):
                return False
        tx = run_apply(apply)
        with self._lock:
            if not self._feed.holds(name, owner, expected):
                return False
            self._feed.advance(name, owner, position, now, lease)
        tx.commit()  # outside the lock: a callback may read the store
        return True

    def release_subscription(self, name: str, *, owner: str) -> None:
        """Give up ``owner``'s lease of ``name``."""
        with self._lock:
            self._feed.release(name, owner)

    def subscription_position(self, name: str) -> int | None:
        """The checkpoint of ``name`` (``None``: never run)."""
        with self._lock:
            return self._feed.position(name)

    def close(self) -> None:
        """Nothing to release."""
