"""Conformance kits for plugin authors: ``StoreContract`` and ``SupplierConnectorContract``.

Subclass a kit in your test suite, give it its fixtures, and pytest runs every
check against your plugin (the fsspec habit). For a storage backend::

    import pytest
    from reqfulfill.testing.contracts import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store_url(self, tmp_path):
            return f"mystore:///{tmp_path}/db"  # a fresh, empty store

and for a supplier connector::

    from reqfulfill.testing.contracts import SupplierConnectorContract

    class TestAcme(SupplierConnectorContract):
        @pytest.fixture
        def connector(self):
            return AcmeConnector(sandbox=True)

        @pytest.fixture
        def order(self):
            return SupplierOrder("acme", "REQ-1", "order", (OrderLine("phone"),), ...)

A backend that cannot do something says so with a capability flag (a class
attribute, like SQLAlchemy's requirements); the checks that need it are then
skipped, with the flag named in the reason.

This module needs the ``testing`` extra (pytest, hypothesis).
"""

from __future__ import annotations

import enum
import multiprocessing
import queue
import threading
import traceback
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import hypothesis
import pytest
from hypothesis import strategies as st

from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel, OrderStatus
from reqfulfill.model.errors import ConcurrencyError, ReqfulfillError, SupplierError
from reqfulfill.model.events import (
    EVENT_TYPES,
    Event,
    FeedbackRecorded,
    NotificationRequested,
    RequestSubmitted,
    RequestWaiting,
)
from reqfulfill.model.supplier import Notification, OrderReceipt, SupplierOrder
from reqfulfill.plugins import open_store
from reqfulfill.stores._base import RequestSummary, Store

__all__ = [
    "StoreContract",
    "SupplierConnectorContract",
    "run_in_processes",
    "sample_event",
    "sample_events",
]

T0 = datetime(2025, 3, 3, 9, 0, 0, 123456, tzinfo=UTC)
"""The instant the kit's sample events happen (a Monday morning, with microseconds)."""

# -- sample events --------------------------------------------------------------------------

_SAMPLE_MAPPING: Mapping[str, Any] = {
    "cost": 899,
    "from_stock": False,
    "ratio": 0.5,
    "note": "Toimitus Helsinkiin ✓",
    "tags": ["a", "b"],
    "nested": {"depth": 2, "none": None},
}


def _sample_value(hint: Any, name: str, at: datetime) -> Any:
    """A non-default value of type ``hint`` for field ``name`` (raises for unknown types)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        chosen = next(a for a in args if a is not type(None))
        return _sample_value(chosen, name, at)
    if hint is Any:
        return {"value": name}
    if hint is bool:
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return list(hint)[-1]
    if hint is int:
        return 3
    if hint is float:
        return 0.75
    if hint is str:
        return f"{name} «sample» ✓"
    if hint is datetime:
        return at + timedelta(hours=4, microseconds=7)
    if hint is timedelta:
        return timedelta(hours=2, minutes=15)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (_sample_value(args[0], name, at), _sample_value(args[0], name + "2", at))
        return tuple(_sample_value(a, name, at) for a in args)
    if origin in (Mapping, dict):
        return dict(_SAMPLE_MAPPING)
    if isinstance(hint, type) and attrs.has(hint):
        return _sample_attrs(hint, when=at)
    raise TypeError(f"the contract kit cannot build a sample {name}: {hint!r}; teach _sample_value")


def _sample_attrs(cls: type[Any], when: datetime, **given: Any) -> Any:
    hints = typing.get_type_hints(cls)
    values = dict(given)
    for field in attrs.fields(cls):
        if field.name not in values and field.init:
            values[field.name] = _sample_value(hints[field.name], field.name, when)
    return cls(**values)


def sample_event(
    cls: type[Event], request_id: str, version: int, *, at: datetime = T0, actor: str = "tester"
) -> Event:
    """An instance of event class ``cls`` with every field set to a non-default value.

    ``event_id`` is ``"<request_id>/<version>"``, as the service makes them.

    >>> from reqfulfill.model.events import RequestWaiting
    >>> sample_event(RequestWaiting, "REQ-1", 7).event_id
    'REQ-1/7'
    """
    return typing.cast(
        Event,
        _sample_attrs(
            cls,
            when=at,
            event_id=f"{request_id}/{version}",
            request_id=request_id,
            at=at,
            actor=actor,
        ),
    )


def sample_events(request_id: str, *, start: int = 1, at: datetime = T0) -> list[Event]:
    """One sample of every event type (sorted by name), numbered from version ``start``."""
    return [
        sample_event(cls, request_id, start + i, at=at + timedelta(seconds=i))
        for i, cls in enumerate(sorted(EVENT_TYPES.values(), key=lambda c: c.__name__))
    ]


def _waiting(request_id: str, version: int, reason: str, at: datetime = T0) -> Event:
    return RequestWaiting(
        event_id=f"{request_id}/{version}",
        request_id=request_id,
        at=at,
        actor="tester",
        reason=reason,
    )


def _stream(request_id: str, count: int, *, start: int = 1, at: datetime = T0) -> list[Event]:
    return [
        _waiting(request_id, start + i, f"step {start + i}", at + timedelta(seconds=i))
        for i in range(count)
    ]


def _notification(request_id: str, version: int, at: datetime = T0) -> Event:
    return NotificationRequested(
        event_id=f"{request_id}/{version}",
        request_id=request_id,
        at=at,
        actor="tester",
        notification=Notification(
            kind="request_fulfilled",
            recipient="erin.user",
            request_id=request_id,
            subject="Done",
            body="Your request is fulfilled.",
        ),
    )


def _summary(request_id: str, **changes: Any) -> RequestSummary:
    base = RequestSummary(
        request_id=request_id,
        state="in_fulfillment",
        group="service-desk",
        agent=None,
        item="password-reset",
        requester="erin.user",
        priority=3,
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(base, **changes)


def _fields(summary: RequestSummary) -> tuple[Any, ...]:
    """A summary without ``orders`` (stores index orders but need not return them)."""
    return attrs.astuple(attrs.evolve(summary, orders=()), recurse=False)


def _new_id(prefix: str = "REQ") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


# -- processes --------------------------------------------------------------------------------


def _process_main(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    start: Any,
    results: Any,
    index: int,
) -> None:
    try:
        start.wait(timeout=60)
        results.put((index, True, target(*args)))
    except BaseException:
        results.put((index, False, traceback.format_exc()))


def run_in_processes(
    target: Callable[..., Any], calls: Sequence[tuple[Any, ...]], *, timeout: float = 120.0
) -> list[Any]:
    """Run ``target(*args)`` for each args tuple in its own fresh (spawned) process.

    The processes start their calls together (a barrier) so they really
    contend; returns the results in call order and fails if any process raised.
    ``target`` must be importable by module and name (a module-level function).
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(calls) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_process_main, args=(target, args, start, results, i), daemon=True)
        for i, args in enumerate(calls)
    ]
    for process in processes:
        process.start()
    try:
        start.wait(timeout=timeout)
        out: dict[int, Any] = {}
        failures: list[str] = []
        for _ in calls:
            try:
                index, ok, value = results.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"a contention process did not finish within {timeout} s")
            if ok:
                out[index] = value
            else:
                failures.append(value)
        for process in processes:
            process.join(timeout=timeout)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        results.close()
    if failures:
        pytest.fail("a contention process failed:\n" + "\n".join(failures))
    return [out[i] for i in range(len(calls))]


def _contend_appends(
    url: str, worker: int, request_ids: Sequence[str], appends: int
) -> list[tuple[str, str]]:
    """Append ``appends`` tagged events over ``request_ids``, retrying stale versions."""
    store = open_store(url)
    acknowledged: list[tuple[str, str]] = []
    try:
        for i in range(appends):
            request_id = request_ids[(worker + i) % len(request_ids)]
            tag = f"w{worker}-{i}"
            for _attempt in range(10_000):
                version = len(store.load(request_id))
                event = _waiting(request_id, version + 1, tag, T0 + timedelta(seconds=i))
                try:
                    store.append(request_id, [event], version)
                except ConcurrencyError:
                    continue
                acknowledged.append((request_id, tag))
                break
            else:  # pragma: no cover - a livelock is a failure of the store
                raise AssertionError(f"{request_id}: no append succeeded in 10,000 attempts")
    finally:
        store.close()
    return acknowledged


def _contend_claims(url: str, worker: int, now: datetime) -> list[str]:
    """Claim and complete effects until none is left for this worker."""
    store = open_store(url)
    done: list[str] = []
    try:
        while True:
            entries = store.claim_effects(
                now, worker=f"worker-{worker}", lease=timedelta(hours=1), limit=3
            )
            if not entries:
                return done
            for entry in entries:
                done.append(entry.effect_id)
                store.complete_effect(entry.effect_id, worker=f"worker-{worker}")
    finally:
        store.close()


# -- the store contract ----------------------------------------------------------------------


class StoreContract:
    """The checks every storage backend passes. Needs one fixture: ``store_url``.

    Capability flags (class attributes; set one to ``False`` to skip its checks):
    """

    supports_multiprocess: ClassVar[bool] = True
    """Several processes can open ``store_url`` and share its data (``False`` for memory)."""

    supports_concurrent_threads: ClassVar[bool] = True
    """One store object can be used from many threads at once."""

    enforces_unique_event_ids: ClassVar[bool] = True
    """An append whose event id is already stored fails (and writes nothing)."""

    supports_load_after: ClassVar[bool] = True
    """The store has the optional ``load_after(request_id, version)``: the events after
    the first ``version`` ones (the service then reads only what it has not folded)."""

    supports_append_and_complete: ClassVar[bool] = True
    """The store has the optional ``append_and_complete(request_id, events,
    expected_version, *, effect_ids, worker, summary=None, timers=None)``: an append and
    ``complete_effect(effect_id, worker=worker)`` of each of ``effect_ids`` in one
    transaction (the worker then records effects' outcomes and removes them from the
    outbox in one step)."""

    contention_processes: ClassVar[int] = 4
    """How many processes the multi-process checks start."""

    contention_appends: ClassVar[int] = 20
    """How many appends each contention process (or thread) makes."""

    @pytest.fixture
    def store_url(self) -> str:
        """Return the URL of a fresh, empty store. Every implementer must override this."""
        raise NotImplementedError("define a store_url fixture returning a fresh store's URL")

    @pytest.fixture
    def store(self, store_url: str) -> Iterator[Store]:
        """The store ``store_url`` names, opened with :func:`reqfulfill.open_store`."""
        opened = open_store(store_url)
        try:
            yield opened
        finally:
            opened.close()

    # -- append and load ---------------------------------------------------------------------

    def test_opens_a_store(self, store: Store) -> None:
        assert isinstance(store, Store)

    def test_load_of_unknown_request_is_empty(self, store: Store) -> None:
        assert store.load(_new_id()) == []

    def test_load_after_returns_the_events_after_a_version(self, store: Store) -> None:
        if not self.supports_load_after:
            pytest.skip("supports_load_after = False")
        load_after = getattr(store, "load_after", None)
        assert load_after is not None, "set supports_load_after = False or add load_after"
        request_id = _new_id()
        events = sample_events(request_id)[:6]
        assert load_after(request_id, 0) == []
        store.append(request_id, events[:4], 0)
        store.append(request_id, events[4:], 4)
        other = _new_id()
        store.append(other, sample_events(other)[:2], 0)
        for version in range(len(events) + 2):
            assert load_after(request_id, version) == events[version:], version
        assert load_after(request_id, -1) == events
        assert load_after(_new_id(), 0) == []
        # a fresh list each time: changing it changes nothing stored
        load_after(request_id, 0).clear()
        assert store.load(request_id) == events

    def test_every_event_type_round_trips(self, store: Store) -> None:
        request_id = _new_id()
        events = sample_events(request_id)
        assert {type(e) for e in events} == set(EVENT_TYPES.values())
        store.append(request_id, events, 0)
        loaded = store.load(request_id)
        assert [e.event_id for e in loaded] == [e.event_id for e in events]
        for original, back in zip(events, loaded, strict=True):
            assert back == original, f"{original.type} did not round-trip"

    @hypothesis.settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
    )
    @hypothesis.given(
        reason=st.text(max_size=40),
        comment=st.text(max_size=40),
        rating=st.integers(min_value=1, max_value=5),
        answers=st.dictionaries(
            st.text(max_size=10),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers(min_value=-(2**53), max_value=2**53)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=10),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=8,
            ),
            max_size=4,
        ),
        cuts=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=3),
    )
    def test_arbitrary_content_round_trips_in_batches(
        self,
        store: Store,
        reason: str,
        comment: str,
        rating: int,
        answers: dict[str, Any],
        cuts: list[int],
    ) -> None:
        request_id = _new_id()
        events: list[Event] = [
            RequestSubmitted(
                event_id=f"{request_id}/1",
                request_id=request_id,
                at=T0,
                actor="erin.user",
                requester=Requester(id="erin.user", name=comment, department="", location=""),
                item=None,
                channel=Channel.EMAIL,
                answers=answers,
            ),
            _waiting(request_id, 2, reason),
            FeedbackRecorded(
                event_id=f"{request_id}/3",
                request_id=request_id,
                at=T0 + timedelta(days=1),
                actor="erin.user",
                rating=rating,
                comment=comment,
            ),
            *_stream(request_id, 3, start=4),
        ]
        version = 0
        for size in [*cuts, len(events)]:
            batch = events[version : version + size]
            if not batch:
                break
            store.append(request_id, batch, version)
            version += len(batch)
        assert store.load(request_id) == events

    def test_appends_extend_the_stream_in_order(self, store: Store) -> None:
        request_id = _new_id()
        store.append(request_id, _stream(request_id, 2), 0)
        store.append(request_id, _stream(request_id, 3, start=3), 2)
        loaded = store.load(request_id)
        assert [e.event_id for e in loaded] == [f"{request_id}/{n}" for n in range(1, 6)]

    def test_empty_append_writes_nothing_but_checks_the_version(self, store: Store) -> None:
        request_id = _new_id()
        store.append(request_id, _stream(request_id, 2), 0)
        store.append(request_id, [], 2)
        assert len(store.load(request_id)) == 2
        with pytest.raises(ConcurrencyError):
            store.append(request_id, [], 1)

    # -- optimistic concurrency and atomicity --------------------------------------------------

    @pytest.mark.parametrize("stale", [0, 1, 3])
    def test_stale_expected_version_raises_and_writes_nothing(
        self, store: Store, stale: int
    ) -> None:
        request_id = _new_id()
        store.append(request_id, _stream(request_id, 2), 0, summary=_summary(request_id))
        with pytest.raises(ConcurrencyError) as caught:
            store.append(
                request_id,
                [_notification(request_id, stale + 1), _waiting(request_id, stale + 2, "late")],
                stale,
                summary=_summary(request_id, state="waiting", updated_at=T0 + timedelta(hours=1)),
                timers={"sla": T0},
            )
        assert caught.value.request_id == request_id
        assert [e.event_id for e in store.load(request_id)] == [
            f"{request_id}/1",
            f"{request_id}/2",
        ]
        assert [(s.request_id, s.state) for s in store.query()] == [(request_id, "in_fulfillment")]
        assert store.due_timers(T0 + timedelta(days=1)) == []
        assert store.claim_effects(T0 + timedelta(days=1), worker="w", lease=timedelta(1)) == []

    def test_new_request_needs_expected_version_zero(self, store: Store) -> None:
        request_id = _new_id()
        with pytest.raises(ConcurrencyError):
            store.append(request_id, _stream(request_id, 1), 1)
        assert store.load(request_id) == []

    def test_failed_append_writes_nothing(self, store: Store) -> None:
        if not self.enforces_unique_event_ids:
            pytest.skip("enforces_unique_event_ids = False")
        first, second = _new_id(), _new_id()
        store.append(first, _stream(first, 1), 0)
        clash = RequestWaiting(
            event_id=f"{first}/1", request_id=second, at=T0, actor="tester", reason="same id"
        )
        with pytest.raises(ReqfulfillError):
            store.append(
                second,
                [_waiting(second, 1, "fine"), _notification(second, 2), clash],
                0,
                summary=_summary(second),
                timers={"sla": T0},
            )
        assert store.load(second) == []
        assert [e.event_id for e in store.load(first)] == [f"{first}/1"]
        assert store.query() == []
        assert store.due_timers(T0 + timedelta(days=1)) == []
        assert store.claim_effects(T0 + timedelta(days=1), worker="w", lease=timedelta(1)) == []

    # -- outbox ----------------------------------------------------------------------------------

    def test_effects_enter_the_outbox_with_their_append(self, store: Store) -> None:
        request_id = _new_id()
        events = [
            _waiting(request_id, 1, "not an effect"),
            _notification(request_id, 2, T0 + timedelta(minutes=1)),
        ]
        store.append(request_id, events, 0)
        claimed = store.claim_effects(T0 + timedelta(hours=1), worker="w1", lease=timedelta(1))
        assert [(c.effect_id, c.request_id, c.kind, c.attempts) for c in claimed] == [
            (f"{request_id}/2", request_id, "NotificationRequested", 0)
        ]
        assert claimed[0].available_at == T0 + timedelta(minutes=1)
        assert claimed[0].worker == "w1"

    def test_effects_are_claimed_in_due_order_up_to_the_limit(self, store: Store) -> None:
        request_id = _new_id()
        events = [_notification(request_id, n, T0 + timedelta(minutes=10 - n)) for n in (1, 2, 3)]
        store.append(request_id, events, 0)
        now = T0 + timedelta(hours=1)
        first = store.claim_effects(now, worker="w1", lease=timedelta(hours=1), limit=2)
        assert [c.effect_id for c in first] == [f"{request_id}/3", f"{request_id}/2"]
        rest = store.claim_effects(now, worker="w2", lease=timedelta(hours=1), limit=2)
        assert [c.effect_id for c in rest] == [f"{request_id}/1"]

    def test_effect_is_not_claimed_before_it_is_due(self, store: Store) -> None:
        request_id = _new_id()
        store.append(request_id, [_notification(request_id, 1, T0 + timedelta(hours=2))], 0)
        assert store.claim_effects(T0, worker="w1", lease=timedelta(minutes=5)) == []
        claimed = store.claim_effects(T0 + timedelta(hours=2), worker="w1", lease=timedelta(1))
        assert [c.effect_id for c in claimed] == [f"{request_id}/1"]

    def test_leased_effect_waits_until_the_lease_lapses(self, store: Store) -> None:
        request_id = _new_id()
        store.append(request_id, [_notification(request_id, 1)], 0)
        lease = timedelta(minutes=10)
        claimed = store.claim_effects(T0, worker="w1", lease=lease)
        assert [(c.worker, c.lease_until) for c in claimed] == [("w1", T0 + lease)]
        assert store.claim_effects(T0 + timedelta(minutes=9), worker="w2", lease=lease) == []
        again = store.claim_effects(T0 + lease, worker="w2", lease=lease)
        assert [(c.effect_id, c.worker, c.attempts) for c in again] == [
            (f"{request_id}/1", "w2", 0)
        ]

    def test_retry_counts_attempts_and_delays_the_effect(self, store: Store) -> None:
        request_id = _new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [_notification(request_id, 1)], 0)
        lease = timedelta(minutes=5)
        assert len(store.claim_effects(T0, worker="w1", lease=lease)) == 1
        store.retry_effect(
            effect_id, worker="w1", available_at=T0 + timedelta(hours=1), error="timed out"
        )
        assert store.claim_effects(T0 + timedelta(minutes=59), worker="w2", lease=lease) == []
        claimed = store.claim_effects(T0 + timedelta(hours=1), worker="w2", lease=lease)
        assert [(c.effect_id, c.attempts, c.last_error) for c in claimed] == [
            (effect_id, 1, "timed out")
        ]
        assert claimed[0].available_at == T0 + timedelta(hours=1)
        store.retry_effect(
            effect_id, worker="w2", available_at=T0 + timedelta(hours=2), error="again"
        )
        claimed = store.claim_effects(T0 + timedelta(hours=2), worker="w1", lease=lease)
        assert [(c.attempts, c.last_error) for c in claimed] == [(2, "again")]

    def test_completed_effect_leaves_the_outbox(self, store: Store) -> None:
        request_id = _new_id()
        store.append(request_id, [_notification(request_id, 1), _notification(request_id, 2)], 0)
        store.complete_effect(f"{request_id}/1", worker="w1")
        later = T0 + timedelta(days=1)
        claimed = store.claim_effects(later, worker="w1", lease=timedelta(minutes=5))
        assert [c.effect_id for c in claimed] == [f"{request_id}/2"]
        store.complete_effect(f"{request_id}/2", worker="w1")
        assert store.claim_effects(later + timedelta(days=1), worker="w", lease=timedelta(1)) == []

    def test_a_lapsed_worker_cannot_release_or_remove_a_reclaimed_effect(
        self, store: Store
    ) -> None:
        request_id = _new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [_notification(request_id, 1)], 0)
        lease = timedelta(minutes=5)
        assert len(store.claim_effects(T0, worker="slow", lease=lease)) == 1
        assert len(store.claim_effects(T0 + lease, worker="fresh", lease=lease)) == 1
        # the slow worker wakes up after its lease lapsed: the effect is not its own any more
        store.retry_effect(effect_id, worker="slow", available_at=T0, error="late")
        store.complete_effect(effect_id, worker="slow")
        assert store.claim_effects(T0 + lease + timedelta(minutes=1), worker="x", lease=lease) == []
        store.complete_effect(effect_id, worker="fresh")
        later = T0 + timedelta(days=1)
        assert store.claim_effects(later, worker="x", lease=lease) == []

    def _append_and_complete(self, store: Store) -> Any:
        if not self.supports_append_and_complete:
            pytest.skip("supports_append_and_complete = False")
        both = getattr(store, "append_and_complete", None)
        assert both is not None, (
            "set supports_append_and_complete = False or add append_and_complete"
        )
        return both

    def test_append_and_complete_records_outcomes_and_removes_the_effects(
        self, store: Store
    ) -> None:
        both = self._append_and_complete(store)
        request_id = _new_id()
        store.append(request_id, [_notification(request_id, n) for n in (1, 2, 3)], 0)
        lease = timedelta(minutes=5)
        claimed = store.claim_effects(T0, worker="w1", lease=lease, limit=2)
        assert [c.effect_id for c in claimed] == [f"{request_id}/1", f"{request_id}/2"]
        outcomes = [_waiting(request_id, 4, "first outcome"), _waiting(request_id, 5, "second")]
        summary = _summary(request_id, state="waiting")
        both(
            request_id,
            outcomes,
            3,
            effect_ids=[c.effect_id for c in claimed],
            worker="w1",
            summary=summary,
            timers={"close": T0 + timedelta(days=3)},
        )
        assert store.load(request_id)[3:] == outcomes
        assert [_fields(s) for s in store.query(state="waiting") if s.request_id == request_id] == [
            _fields(summary)
        ]
        later = T0 + timedelta(days=1)
        claimed = store.claim_effects(later, worker="w2", lease=lease)
        assert [c.effect_id for c in claimed] == [f"{request_id}/3"]
        assert (request_id, "close", T0 + timedelta(days=3)) in {
            (t.request_id, t.key, t.due) for t in store.due_timers(later + timedelta(days=3))
        }

    def test_append_and_complete_with_a_stale_version_changes_nothing(self, store: Store) -> None:
        both = self._append_and_complete(store)
        request_id = _new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [_notification(request_id, 1)], 0)
        store.append(request_id, [_waiting(request_id, 2, "first")], 1)
        lease = timedelta(minutes=5)
        assert len(store.claim_effects(T0, worker="w1", lease=lease)) == 1
        with pytest.raises(ConcurrencyError):
            both(
                request_id,
                [_waiting(request_id, 2, "stale")],
                1,
                effect_ids=[effect_id],
                worker="w1",
                timers={"close": T0},
            )
        assert store.load(request_id)[1:] == [_waiting(request_id, 2, "first")]
        later = T0 + timedelta(days=1)
        claimed = store.claim_effects(later, worker="w2", lease=lease)
        assert [c.effect_id for c in claimed] == [effect_id]
        assert store.due_timers(later) == []

    def test_append_and_complete_without_events_checks_the_version_and_completes(
        self, store: Store
    ) -> None:
        both = self._append_and_complete(store)
        request_id = _new_id()
        store.append(request_id, [_notification(request_id, 1), _notification(request_id, 2)], 0)
        lease = timedelta(minutes=5)
        assert len(store.claim_effects(T0, worker="w1", lease=lease)) == 2
        with pytest.raises(ConcurrencyError):
            both(request_id, [], 1, effect_ids=[f"{request_id}/1"], worker="w1")
        both(request_id, [], 2, effect_ids=[f"{request_id}/1"], worker="w1")
        assert len(store.load(request_id)) == 2
        later = T0 + timedelta(days=1)
        claimed = store.claim_effects(later, worker="w2", lease=lease)
        assert [c.effect_id for c in claimed] == [f"{request_id}/2"]

    def test_append_and_complete_leaves_an_effect_another_worker_reclaimed(
        self, store: Store
    ) -> None:
        both = self._append_and_complete(store)
        request_id = _new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [_notification(request_id, 1)], 0)
        lease = timedelta(minutes=5)
        assert len(store.claim_effects(T0, worker="slow", lease=lease)) == 1
        assert len(store.claim_effects(T0 + lease, worker="fresh", lease=lease)) == 1
        both(
            request_id, [_waiting(request_id, 2, "late")], 1, effect_ids=[effect_id], worker="slow"
        )
        assert len(store.load(request_id)) == 2
        # still the fresh worker's: nobody else gets it while its lease lasts, then it is due
        assert store.claim_effects(T0 + lease, worker="x", lease=lease) == []
        claimed = store.claim_effects(T0 + 2 * lease, worker="x", lease=lease)
        assert [c.effect_id for c in claimed] == [effect_id]

    # -- timers ----------------------------------------------------------------------------------

    def test_timers_are_set_replaced_and_deleted(self, store: Store) -> None:
        request_id = _new_id()
        store.append(
            request_id,
            _stream(request_id, 1),
            0,
            timers={"sla": T0 + timedelta(hours=4), "poll": T0 + timedelta(minutes=15)},
        )
        late = T0 + timedelta(days=1)
        assert {(t.key, t.due) for t in store.due_timers(late)} == {
            ("sla", T0 + timedelta(hours=4)),
            ("poll", T0 + timedelta(minutes=15)),
        }
        store.append(
            request_id, _stream(request_id, 1, start=2), 1, timers={"sla": T0 + timedelta(hours=8)}
        )
        store.set_timers(request_id, {"poll": None, "close": T0 + timedelta(hours=1)})
        assert [(t.request_id, t.key, t.due) for t in store.due_timers(late)] == [
            (request_id, "close", T0 + timedelta(hours=1)),
            (request_id, "sla", T0 + timedelta(hours=8)),
        ]
        store.set_timers(request_id, {"sla": None, "close": None, "never-set": None})
        assert store.due_timers(late) == []

    def test_due_timers_come_earliest_first_up_to_the_limit(self, store: Store) -> None:
        ids = [_new_id() for _ in range(5)]
        for n, request_id in enumerate(ids):
            store.set_timers(request_id, {"sla": T0 + timedelta(minutes=10 * (5 - n))})
        due = store.due_timers(T0 + timedelta(minutes=30), limit=10)
        assert [t.request_id for t in due] == [ids[4], ids[3], ids[2]]
        assert [t.due for t in due] == sorted(t.due for t in due)
        at_limit = store.due_timers(T0 + timedelta(hours=1), limit=2)
        assert [t.request_id for t in at_limit] == [ids[4], ids[3]]

    def test_no_timer_due_gives_nothing(self, store: Store) -> None:
        request_id = _new_id()
        store.set_timers(request_id, {"sla": T0 + timedelta(hours=1)})
        assert store.due_timers(T0) == []
        assert store.due_timers(T0 + timedelta(minutes=59, seconds=59)) == []
        assert len(store.due_timers(T0 + timedelta(hours=1))) == 1

    # -- queries ---------------------------------------------------------------------------------

    def _fill(self, store: Store) -> list[RequestSummary]:
        rows = [
            _summary("Q-1", state="in_fulfillment", group="service-desk", agent="sam.agent"),
            _summary("Q-2", state="waiting", group="service-desk", agent=None, item="iphone-15"),
            _summary("Q-3", state="in_fulfillment", group="identity", agent="ida.admin"),
            _summary(
                "Q-4",
                state="awaiting_approval",
                group=None,
                item=None,
                requester="max.manager",
                priority=None,
            ),
            _summary("Q-5", state="in_fulfillment", group="service-desk", requester="max.manager"),
        ]
        # created out of id order, so ordering by creation time is visible
        created = {"Q-1": 3, "Q-2": 1, "Q-3": 5, "Q-4": 2, "Q-5": 4}
        out = []
        for row in rows:
            row = attrs.evolve(row, created_at=T0 + timedelta(minutes=created[row.request_id]))
            store.append(row.request_id, _stream(row.request_id, 1), 0, summary=row)
            out.append(row)
        return out

    def test_query_without_filters_lists_all_oldest_first(self, store: Store) -> None:
        rows = self._fill(store)
        found = store.query()
        assert [s.request_id for s in found] == ["Q-2", "Q-4", "Q-1", "Q-5", "Q-3"]
        by_id = {r.request_id: r for r in rows}
        assert [_fields(s) for s in found] == [_fields(by_id[s.request_id]) for s in found]

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"group": "service-desk"}, ["Q-2", "Q-1", "Q-5"]),
            ({"state": "in_fulfillment"}, ["Q-1", "Q-5", "Q-3"]),
            ({"agent": "sam.agent"}, ["Q-1"]),
            ({"item": "iphone-15"}, ["Q-2"]),
            ({"requester": "max.manager"}, ["Q-4", "Q-5"]),
            ({"group": "service-desk", "state": "in_fulfillment"}, ["Q-1", "Q-5"]),
            ({"group": "identity", "agent": "sam.agent"}, []),
            ({"state": "closed"}, []),
        ],
    )
    def test_query_filters(
        self, store: Store, filters: dict[str, Any], expected: list[str]
    ) -> None:
        self._fill(store)
        assert [s.request_id for s in store.query(**filters)] == expected

    def test_query_limit(self, store: Store) -> None:
        self._fill(store)
        assert [s.request_id for s in store.query(limit=2)] == ["Q-2", "Q-4"]
        assert [s.request_id for s in store.query(group="service-desk", limit=1)] == ["Q-2"]
        assert store.query(limit=0) == []

    def test_summary_follows_the_latest_append(self, store: Store) -> None:
        request_id = _new_id()
        store.append(request_id, _stream(request_id, 1), 0, summary=_summary(request_id))
        later = _summary(
            request_id,
            state="waiting",
            agent="sam.agent",
            priority=1,
            updated_at=T0 + timedelta(hours=2),
        )
        store.append(request_id, _stream(request_id, 1, start=2), 1, summary=later)
        assert [_fields(s) for s in store.query()] == [_fields(later)]
        assert store.query(state="in_fulfillment") == []

    def test_find_order(self, store: Store) -> None:
        request_id = _new_id()
        summary = _summary(request_id, orders=(("acme-mobile", "ACME-00001"), ("globex", "G-7")))
        store.append(request_id, _stream(request_id, 1), 0, summary=summary)
        assert store.find_order("acme-mobile", "ACME-00001") == request_id
        assert store.find_order("globex", "G-7") == request_id
        assert store.find_order("globex", "ACME-00001") is None
        assert store.find_order("acme-mobile", "ACME-00002") is None

    # -- isolation and sharing --------------------------------------------------------------

    def test_requests_are_isolated(self, store: Store) -> None:
        first, second = _new_id(), _new_id()
        store.append(first, _stream(first, 3), 0, timers={"sla": T0})
        store.append(second, _stream(second, 1), 0)
        with pytest.raises(ConcurrencyError):
            store.append(second, _stream(second, 1, start=4), 3)
        store.append(second, _stream(second, 1, start=2), 1)
        assert len(store.load(first)) == 3
        assert [e.request_id for e in store.load(second)] == [second, second]
        assert [t.request_id for t in store.due_timers(T0)] == [first]

    def test_a_second_open_shares_the_data(self, store: Store, store_url: str) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        request_id = _new_id()
        store.append(request_id, _stream(request_id, 2), 0, summary=_summary(request_id))
        other = open_store(store_url)
        try:
            assert other.load(request_id) == _stream(request_id, 2)
            other.append(request_id, _stream(request_id, 1, start=3), 2)
            with pytest.raises(ConcurrencyError):
                store.append(request_id, _stream(request_id, 1, start=3), 2)
        finally:
            other.close()
        assert len(store.load(request_id)) == 3

    # -- contention ------------------------------------------------------------------------------

    def _check_streams(
        self, store: Store, request_ids: Sequence[str], acknowledged: Sequence[tuple[str, str]]
    ) -> None:
        for request_id in request_ids:
            stream = store.load(request_id)
            assert [e.event_id for e in stream] == [
                f"{request_id}/{n}" for n in range(1, len(stream) + 1)
            ], "versions are not dense"
            tags = [typing.cast(RequestWaiting, e).reason for e in stream]
            assert len(tags) == len(set(tags)), f"an append was stored twice in {request_id}"
            mine = sorted(tag for rid, tag in acknowledged if rid == request_id)
            assert sorted(tags) == mine, f"lost or unacknowledged appends in {request_id}"

    def test_concurrent_threads_lose_no_append(self, store: Store) -> None:
        if not self.supports_concurrent_threads:
            pytest.skip("supports_concurrent_threads = False")
        request_ids = [_new_id() for _ in range(2)]
        acknowledged: list[tuple[str, str]] = []
        lock = threading.Lock()
        errors: list[BaseException] = []
        start = threading.Barrier(6)

        def work(worker: int) -> None:
            try:
                start.wait(timeout=30)
                for i in range(self.contention_appends):
                    request_id = request_ids[(worker + i) % len(request_ids)]
                    tag = f"t{worker}-{i}"
                    while True:
                        version = len(store.load(request_id))
                        try:
                            store.append(
                                request_id, [_waiting(request_id, version + 1, tag)], version
                            )
                        except ConcurrencyError:
                            continue
                        with lock:
                            acknowledged.append((request_id, tag))
                        break
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert len(acknowledged) == 6 * self.contention_appends
        self._check_streams(store, request_ids, acknowledged)

    def test_processes_racing_on_few_requests_lose_no_append(
        self, store: Store, store_url: str
    ) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        request_ids = [_new_id() for _ in range(3)]
        results = run_in_processes(
            _contend_appends,
            [
                (store_url, worker, request_ids, self.contention_appends)
                for worker in range(self.contention_processes)
            ],
        )
        acknowledged = [pair for result in results for pair in result]
        assert len(acknowledged) == self.contention_processes * self.contention_appends
        self._check_streams(store, request_ids, acknowledged)

    def test_processes_claim_each_effect_once(self, store: Store, store_url: str) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        effect_ids: list[str] = []
        for _ in range(8):
            request_id = _new_id()
            events = [_notification(request_id, n) for n in range(1, 6)]
            store.append(request_id, events, 0)
            effect_ids.extend(e.event_id for e in events)
        results = run_in_processes(
            _contend_claims,
            [(store_url, worker, T0) for worker in range(self.contention_processes)],
        )
        claimed = [effect_id for result in results for effect_id in result]
        assert sorted(claimed) == sorted(effect_ids), "an effect was claimed twice or never"
        assert store.claim_effects(T0 + timedelta(days=1), worker="w", lease=timedelta(1)) == []


# -- the supplier connector contract -------------------------------------------------------------


class SupplierConnectorContract:
    """The checks every supplier connector passes. Needs ``connector`` and ``order``.

    ``connector`` is a fresh connector (a sandbox account, or a fake), ``order``
    a :class:`~reqfulfill.model.supplier.SupplierOrder` it accepts. The checks
    place real orders with it, so point it at a test system.
    """

    @pytest.fixture
    def connector(self) -> SupplierConnector:
        """Return a fresh connector. Every implementer must override this."""
        raise NotImplementedError("define a connector fixture returning a fresh connector")

    @pytest.fixture
    def order(self) -> SupplierOrder:
        """Return an order the connector accepts. Every implementer must override this."""
        raise NotImplementedError("define an order fixture returning a SupplierOrder")

    def test_is_a_supplier_connector(self, connector: SupplierConnector) -> None:
        assert isinstance(connector, SupplierConnector)
        assert isinstance(connector.supplier_id, str)
        assert connector.supplier_id

    def test_place_order_returns_a_receipt_with_a_ref(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        receipt = connector.place_order(order, _new_id("key"))
        assert isinstance(receipt, OrderReceipt)
        assert isinstance(receipt.ref, str)
        assert receipt.ref
        assert isinstance(receipt.status, OrderStatus)

    def test_same_idempotency_key_places_one_order(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        key = _new_id("key")
        first = connector.place_order(order, key)
        again = connector.place_order(order, key)
        assert again.ref == first.ref
        other = connector.place_order(order, _new_id("key"))
        assert other.ref != first.ref, "a new idempotency key must place a new order"

    def test_order_status_reports_an_order_status(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        receipt = connector.place_order(order, _new_id("key"))
        assert isinstance(connector.order_status(receipt.ref), OrderStatus)

    def test_cancel_order_is_idempotent_per_key(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        receipt = connector.place_order(order, _new_id("key"))
        key = _new_id("cancel")
        first = connector.cancel_order(receipt.ref, key)
        assert isinstance(first, OrderStatus)
        assert connector.cancel_order(receipt.ref, key) == first
        assert connector.order_status(receipt.ref) in (first, OrderStatus.CANCELLED)

    def test_unknown_ref_raises_supplier_error(self, connector: SupplierConnector) -> None:
        unknown = _new_id("no-such-order")
        with pytest.raises(SupplierError):
            connector.order_status(unknown)
        with pytest.raises(SupplierError):
            connector.cancel_order(unknown, _new_id("cancel"))
