"""``StoreContract``: the checks every storage backend passes, one or more for each
method of the :class:`~reqfulfill.stores.Store` protocol (see
:mod:`reqfulfill.testing.contracts`)."""

from __future__ import annotations

import threading
import typing
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, ClassVar

import attrs
import hypothesis
import pytest
from hypothesis import strategies as st

from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel
from reqfulfill.model.errors import ConcurrencyError, ReqfulfillError
from reqfulfill.model.events import (
    EVENT_TYPES,
    Event,
    FeedbackRecorded,
    RequestSubmitted,
    RequestWaiting,
)
from reqfulfill.plugins import open_store
from reqfulfill.stores import RequestSummary, Store
from reqfulfill.testing.processes import contend_appends, contend_claims, run_in_processes
from reqfulfill.testing.samples import (
    T0,
    new_id,
    notification_event,
    sample_events,
    sample_summary,
    summary_fields,
    waiting_event,
    waiting_stream,
)
from reqfulfill.testing.store_contract_approvals import ApprovalIndexContract
from reqfulfill.testing.store_contract_claims import ClaimContract
from reqfulfill.testing.store_contract_feed import FeedContract
from reqfulfill.testing.store_contract_holds import HoldContract
from reqfulfill.testing.store_contract_messages import MessageLookupContract
from reqfulfill.testing.store_contract_queries import QueryContract

__all__ = ["StoreContract", "protocol_methods"]


def protocol_methods() -> list[str]:
    """The methods of the :class:`~reqfulfill.stores.Store` protocol, sorted by name."""
    return sorted(
        name for name, value in vars(Store).items() if not name.startswith("_") and callable(value)
    )


class StoreContract(
    FeedContract,
    QueryContract,
    ClaimContract,
    HoldContract,
    ApprovalIndexContract,
    MessageLookupContract,
):
    """The checks every storage backend passes. Needs one fixture: ``store_url``.

    Capability flags (class attributes; set one to ``False`` to skip its checks):
    """

    supports_multiprocess: ClassVar[bool] = True
    """Several processes can open ``store_url`` and share its data (``False`` for memory)."""

    supports_concurrent_threads: ClassVar[bool] = True
    """One store object can be used from many threads at once."""

    enforces_unique_event_ids: ClassVar[bool] = True
    """An append whose event id is already stored fails (and writes nothing)."""

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

    def test_opens_a_store_with_every_protocol_method(self, store: Store) -> None:
        missing = [name for name in protocol_methods() if not callable(getattr(store, name, None))]
        assert missing == [], f"{type(store).__name__} lacks Store methods: {', '.join(missing)}"
        assert isinstance(store, Store)

    def test_a_closed_store_keeps_what_it_stored(self, store_url: str) -> None:
        request_id = new_id()
        first = open_store(store_url)
        try:
            first.append(
                request_id, waiting_stream(request_id, 2), 0, summary=sample_summary(request_id)
            )
        finally:
            first.close()
        if not self.supports_multiprocess:
            return  # each open is a store of its own: nothing to read back
        second = open_store(store_url)
        try:
            assert second.load(request_id) == waiting_stream(request_id, 2)
            assert [s.request_id for s in second.query()] == [request_id]
        finally:
            second.close()

    def test_load_of_unknown_request_is_empty(self, store: Store) -> None:
        assert store.load(new_id()) == []

    def test_load_after_returns_the_events_after_a_version(self, store: Store) -> None:
        load_after = store.load_after
        request_id = new_id()
        events = sample_events(request_id)[:6]
        assert load_after(request_id, 0) == []
        store.append(request_id, events[:4], 0)
        store.append(request_id, events[4:], 4)
        other = new_id()
        store.append(other, sample_events(other)[:2], 0)
        for version in range(len(events) + 2):
            assert load_after(request_id, version) == events[version:], version
        assert load_after(request_id, -1) == events
        assert load_after(new_id(), 0) == []
        # a fresh list each time: changing it changes nothing stored
        load_after(request_id, 0).clear()
        assert store.load(request_id) == events

    def test_every_event_type_round_trips(self, store: Store) -> None:
        request_id = new_id()
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
        request_id = new_id()
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
            waiting_event(request_id, 2, reason),
            FeedbackRecorded(
                event_id=f"{request_id}/3",
                request_id=request_id,
                at=T0 + timedelta(days=1),
                actor="erin.user",
                rating=rating,
                comment=comment,
            ),
            *waiting_stream(request_id, 3, start=4),
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
        request_id = new_id()
        store.append(request_id, waiting_stream(request_id, 2), 0)
        store.append(request_id, waiting_stream(request_id, 3, start=3), 2)
        loaded = store.load(request_id)
        assert [e.event_id for e in loaded] == [f"{request_id}/{n}" for n in range(1, 6)]

    def test_empty_append_writes_nothing_but_checks_the_version(self, store: Store) -> None:
        request_id = new_id()
        store.append(request_id, waiting_stream(request_id, 2), 0)
        store.append(request_id, [], 2)
        assert len(store.load(request_id)) == 2
        with pytest.raises(ConcurrencyError):
            store.append(request_id, [], 1)

    # -- optimistic concurrency and atomicity --------------------------------------------------

    @pytest.mark.parametrize("stale", [0, 1, 3])
    def test_stale_expected_version_raises_and_writes_nothing(
        self, store: Store, stale: int
    ) -> None:
        request_id = new_id()
        store.append(
            request_id, waiting_stream(request_id, 2), 0, summary=sample_summary(request_id)
        )
        with pytest.raises(ConcurrencyError) as caught:
            store.append(
                request_id,
                [
                    notification_event(request_id, stale + 1),
                    waiting_event(request_id, stale + 2, "late"),
                ],
                stale,
                summary=sample_summary(
                    request_id, state="waiting", updated_at=T0 + timedelta(hours=1)
                ),
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
        request_id = new_id()
        with pytest.raises(ConcurrencyError):
            store.append(request_id, waiting_stream(request_id, 1), 1)
        assert store.load(request_id) == []

    def test_failed_append_writes_nothing(self, store: Store) -> None:
        if not self.enforces_unique_event_ids:
            pytest.skip("enforces_unique_event_ids = False")
        first, second = new_id(), new_id()
        store.append(first, waiting_stream(first, 1), 0)
        clash = RequestWaiting(
            event_id=f"{first}/1", request_id=second, at=T0, actor="tester", reason="same id"
        )
        with pytest.raises(ReqfulfillError):
            store.append(
                second,
                [waiting_event(second, 1, "fine"), notification_event(second, 2), clash],
                0,
                summary=sample_summary(second),
                timers={"sla": T0},
            )
        assert store.load(second) == []
        assert [e.event_id for e in store.load(first)] == [f"{first}/1"]
        assert store.query() == []
        assert store.due_timers(T0 + timedelta(days=1)) == []
        assert store.claim_effects(T0 + timedelta(days=1), worker="w", lease=timedelta(1)) == []

    # -- outbox ----------------------------------------------------------------------------------

    def test_effects_enter_the_outbox_with_their_append(self, store: Store) -> None:
        request_id = new_id()
        events = [
            waiting_event(request_id, 1, "not an effect"),
            notification_event(request_id, 2, T0 + timedelta(minutes=1)),
        ]
        store.append(request_id, events, 0)
        claimed = store.claim_effects(T0 + timedelta(hours=1), worker="w1", lease=timedelta(1))
        assert [(c.effect_id, c.request_id, c.kind, c.attempts) for c in claimed] == [
            (f"{request_id}/2", request_id, "NotificationRequested", 0)
        ]
        assert claimed[0].available_at == T0 + timedelta(minutes=1)
        assert claimed[0].worker == "w1"

    def test_effects_are_claimed_in_due_order_up_to_the_limit(self, store: Store) -> None:
        request_id = new_id()
        events = [
            notification_event(request_id, n, T0 + timedelta(minutes=10 - n)) for n in (1, 2, 3)
        ]
        store.append(request_id, events, 0)
        now = T0 + timedelta(hours=1)
        first = store.claim_effects(now, worker="w1", lease=timedelta(hours=1), limit=2)
        assert [c.effect_id for c in first] == [f"{request_id}/3", f"{request_id}/2"]
        rest = store.claim_effects(now, worker="w2", lease=timedelta(hours=1), limit=2)
        assert [c.effect_id for c in rest] == [f"{request_id}/1"]

    def test_a_requests_effects_due_together_are_claimed_in_stream_order(
        self, store: Store
    ) -> None:
        # past position 9, so an order by the ids as text ("…/11" before "…/9") shows;
        # two requests, so their effects interleave
        first, second = new_id(), new_id()
        for request_id in (first, second):
            events = [notification_event(request_id, n) for n in range(1, 13)]
            store.append(request_id, events[:7], 0)
            store.append(request_id, events[7:], 7)
        claimed: list[str] = []
        while batch := store.claim_effects(T0, worker="w1", lease=timedelta(hours=1), limit=5):
            claimed += [c.effect_id for c in batch]
        for request_id in (first, second):
            mine = [e for e in claimed if e.rpartition("/")[0] == request_id]
            assert mine == [f"{request_id}/{n}" for n in range(1, 13)], request_id

    def test_effect_is_not_claimed_before_it_is_due(self, store: Store) -> None:
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, 1, T0 + timedelta(hours=2))], 0)
        assert store.claim_effects(T0, worker="w1", lease=timedelta(minutes=5)) == []
        claimed = store.claim_effects(T0 + timedelta(hours=2), worker="w1", lease=timedelta(1))
        assert [c.effect_id for c in claimed] == [f"{request_id}/1"]

    def test_leased_effect_waits_until_the_lease_lapses(self, store: Store) -> None:
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, 1)], 0)
        lease = timedelta(minutes=10)
        claimed = store.claim_effects(T0, worker="w1", lease=lease)
        assert [(c.worker, c.lease_until) for c in claimed] == [("w1", T0 + lease)]
        assert store.claim_effects(T0 + timedelta(minutes=9), worker="w2", lease=lease) == []
        again = store.claim_effects(T0 + lease, worker="w2", lease=lease)
        assert [(c.effect_id, c.worker, c.attempts) for c in again] == [
            (f"{request_id}/1", "w2", 0)
        ]

    def test_retry_counts_attempts_and_delays_the_effect(self, store: Store) -> None:
        request_id = new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [notification_event(request_id, 1)], 0)
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
        request_id = new_id()
        store.append(
            request_id, [notification_event(request_id, 1), notification_event(request_id, 2)], 0
        )
        store.complete_effect(f"{request_id}/1", worker="w1")
        later = T0 + timedelta(days=1)
        claimed = store.claim_effects(later, worker="w1", lease=timedelta(minutes=5))
        assert [c.effect_id for c in claimed] == [f"{request_id}/2"]
        store.complete_effect(f"{request_id}/2", worker="w1")
        assert store.claim_effects(later + timedelta(days=1), worker="w", lease=timedelta(1)) == []

    def test_a_lapsed_worker_cannot_release_or_remove_a_reclaimed_effect(
        self, store: Store
    ) -> None:
        request_id = new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [notification_event(request_id, 1)], 0)
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

    def test_append_and_complete_records_outcomes_and_removes_the_effects(
        self, store: Store
    ) -> None:
        both = store.append_and_complete
        request_id = new_id()
        store.append(request_id, [notification_event(request_id, n) for n in (1, 2, 3)], 0)
        lease = timedelta(minutes=5)
        claimed = store.claim_effects(T0, worker="w1", lease=lease, limit=2)
        assert [c.effect_id for c in claimed] == [f"{request_id}/1", f"{request_id}/2"]
        outcomes = [
            waiting_event(request_id, 4, "first outcome"),
            waiting_event(request_id, 5, "second"),
        ]
        summary = sample_summary(request_id, state="waiting")
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
        assert [
            summary_fields(s) for s in store.query(state="waiting") if s.request_id == request_id
        ] == [summary_fields(summary)]
        later = T0 + timedelta(days=1)
        claimed = store.claim_effects(later, worker="w2", lease=lease)
        assert [c.effect_id for c in claimed] == [f"{request_id}/3"]
        assert (request_id, "close", T0 + timedelta(days=3)) in {
            (t.request_id, t.key, t.due) for t in store.due_timers(later + timedelta(days=3))
        }

    def test_append_and_complete_with_a_stale_version_changes_nothing(self, store: Store) -> None:
        both = store.append_and_complete
        request_id = new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [notification_event(request_id, 1)], 0)
        store.append(request_id, [waiting_event(request_id, 2, "first")], 1)
        lease = timedelta(minutes=5)
        assert len(store.claim_effects(T0, worker="w1", lease=lease)) == 1
        with pytest.raises(ConcurrencyError):
            both(
                request_id,
                [waiting_event(request_id, 2, "stale")],
                1,
                effect_ids=[effect_id],
                worker="w1",
                timers={"close": T0},
            )
        assert store.load(request_id)[1:] == [waiting_event(request_id, 2, "first")]
        later = T0 + timedelta(days=1)
        claimed = store.claim_effects(later, worker="w2", lease=lease)
        assert [c.effect_id for c in claimed] == [effect_id]
        assert store.due_timers(later) == []

    def test_append_and_complete_without_events_checks_the_version_and_completes(
        self, store: Store
    ) -> None:
        both = store.append_and_complete
        request_id = new_id()
        store.append(
            request_id, [notification_event(request_id, 1), notification_event(request_id, 2)], 0
        )
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
        both = store.append_and_complete
        request_id = new_id()
        effect_id = f"{request_id}/1"
        store.append(request_id, [notification_event(request_id, 1)], 0)
        lease = timedelta(minutes=5)
        assert len(store.claim_effects(T0, worker="slow", lease=lease)) == 1
        assert len(store.claim_effects(T0 + lease, worker="fresh", lease=lease)) == 1
        both(
            request_id,
            [waiting_event(request_id, 2, "late")],
            1,
            effect_ids=[effect_id],
            worker="slow",
        )
        assert len(store.load(request_id)) == 2
        # still the fresh worker's: nobody else gets it while its lease lasts, then it is due
        assert store.claim_effects(T0 + lease, worker="x", lease=lease) == []
        claimed = store.claim_effects(T0 + 2 * lease, worker="x", lease=lease)
        assert [c.effect_id for c in claimed] == [effect_id]

    # -- timers ----------------------------------------------------------------------------------

    def test_timers_are_set_replaced_and_deleted(self, store: Store) -> None:
        request_id = new_id()
        store.append(
            request_id,
            waiting_stream(request_id, 1),
            0,
            timers={"sla": T0 + timedelta(hours=4), "poll": T0 + timedelta(minutes=15)},
        )
        late = T0 + timedelta(days=1)
        assert {(t.key, t.due) for t in store.due_timers(late)} == {
            ("sla", T0 + timedelta(hours=4)),
            ("poll", T0 + timedelta(minutes=15)),
        }
        store.append(
            request_id,
            waiting_stream(request_id, 1, start=2),
            1,
            timers={"sla": T0 + timedelta(hours=8)},
        )
        store.set_timers(request_id, {"poll": None, "close": T0 + timedelta(hours=1)})
        assert [(t.request_id, t.key, t.due) for t in store.due_timers(late)] == [
            (request_id, "close", T0 + timedelta(hours=1)),
            (request_id, "sla", T0 + timedelta(hours=8)),
        ]
        store.set_timers(request_id, {"sla": None, "close": None, "never-set": None})
        assert store.due_timers(late) == []

    def test_due_timers_come_earliest_first_up_to_the_limit(self, store: Store) -> None:
        ids = [new_id() for _ in range(5)]
        for n, request_id in enumerate(ids):
            store.set_timers(request_id, {"sla": T0 + timedelta(minutes=10 * (5 - n))})
        due = store.due_timers(T0 + timedelta(minutes=30), limit=10)
        assert [t.request_id for t in due] == [ids[4], ids[3], ids[2]]
        assert [t.due for t in due] == sorted(t.due for t in due)
        at_limit = store.due_timers(T0 + timedelta(hours=1), limit=2)
        assert [t.request_id for t in at_limit] == [ids[4], ids[3]]

    def test_no_timer_due_gives_nothing(self, store: Store) -> None:
        request_id = new_id()
        store.set_timers(request_id, {"sla": T0 + timedelta(hours=1)})
        assert store.due_timers(T0) == []
        assert store.due_timers(T0 + timedelta(minutes=59, seconds=59)) == []
        assert len(store.due_timers(T0 + timedelta(hours=1))) == 1

    # -- queries ---------------------------------------------------------------------------------

    def _fill(self, store: Store) -> list[RequestSummary]:
        rows = [
            sample_summary("Q-1", state="in_fulfillment", group="service-desk", agent="sam.agent"),
            sample_summary(
                "Q-2", state="waiting", group="service-desk", agent=None, item="iphone-15"
            ),
            sample_summary("Q-3", state="in_fulfillment", group="identity", agent="ida.admin"),
            sample_summary(
                "Q-4",
                state="awaiting_approval",
                group=None,
                item=None,
                requester="max.manager",
                priority=None,
            ),
            sample_summary(
                "Q-5", state="in_fulfillment", group="service-desk", requester="max.manager"
            ),
        ]
        # created out of id order, so ordering by creation time is visible
        created = {"Q-1": 3, "Q-2": 1, "Q-3": 5, "Q-4": 2, "Q-5": 4}
        out = []
        for row in rows:
            row = attrs.evolve(row, created_at=T0 + timedelta(minutes=created[row.request_id]))
            store.append(row.request_id, waiting_stream(row.request_id, 1), 0, summary=row)
            out.append(row)
        return out

    def test_query_without_filters_lists_all_oldest_first(self, store: Store) -> None:
        rows = self._fill(store)
        found = store.query()
        assert [s.request_id for s in found] == ["Q-2", "Q-4", "Q-1", "Q-5", "Q-3"]
        by_id = {r.request_id: r for r in rows}
        assert [summary_fields(s) for s in found] == [
            summary_fields(by_id[s.request_id]) for s in found
        ]

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
        request_id = new_id()
        store.append(
            request_id, waiting_stream(request_id, 1), 0, summary=sample_summary(request_id)
        )
        later = sample_summary(
            request_id,
            state="waiting",
            agent="sam.agent",
            priority=1,
            updated_at=T0 + timedelta(hours=2),
        )
        store.append(request_id, waiting_stream(request_id, 1, start=2), 1, summary=later)
        assert [summary_fields(s) for s in store.query()] == [summary_fields(later)]
        assert store.query(state="in_fulfillment") == []

    def test_find_order(self, store: Store) -> None:
        request_id = new_id()
        summary = sample_summary(
            request_id, orders=(("acme-mobile", "ACME-00001"), ("globex", "G-7"))
        )
        store.append(request_id, waiting_stream(request_id, 1), 0, summary=summary)
        assert store.find_order("acme-mobile", "ACME-00001") == request_id
        assert store.find_order("globex", "G-7") == request_id
        assert store.find_order("globex", "ACME-00001") is None
        assert store.find_order("acme-mobile", "ACME-00002") is None

    # -- isolation and sharing --------------------------------------------------------------

    def test_requests_are_isolated(self, store: Store) -> None:
        first, second = new_id(), new_id()
        store.append(first, waiting_stream(first, 3), 0, timers={"sla": T0})
        store.append(second, waiting_stream(second, 1), 0)
        with pytest.raises(ConcurrencyError):
            store.append(second, waiting_stream(second, 1, start=4), 3)
        store.append(second, waiting_stream(second, 1, start=2), 1)
        assert len(store.load(first)) == 3
        assert [e.request_id for e in store.load(second)] == [second, second]
        assert [t.request_id for t in store.due_timers(T0)] == [first]

    def test_a_second_open_shares_the_data(self, store: Store, store_url: str) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        request_id = new_id()
        store.append(
            request_id, waiting_stream(request_id, 2), 0, summary=sample_summary(request_id)
        )
        other = open_store(store_url)
        try:
            assert other.load(request_id) == waiting_stream(request_id, 2)
            other.append(request_id, waiting_stream(request_id, 1, start=3), 2)
            with pytest.raises(ConcurrencyError):
                store.append(request_id, waiting_stream(request_id, 1, start=3), 2)
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
        request_ids = [new_id() for _ in range(2)]
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
                                request_id, [waiting_event(request_id, version + 1, tag)], version
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
        request_ids = [new_id() for _ in range(3)]
        results = run_in_processes(
            contend_appends,
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
            request_id = new_id()
            events = [notification_event(request_id, n) for n in range(1, 6)]
            store.append(request_id, events, 0)
            effect_ids.extend(e.event_id for e in events)
        results = run_in_processes(
            contend_claims,
            [(store_url, worker, T0) for worker in range(self.contention_processes)],
        )
        claimed = [effect_id for result in results for effect_id in result]
        assert sorted(claimed) == sorted(effect_ids), "an effect was claimed twice or never"
        assert store.claim_effects(T0 + timedelta(days=1), worker="w", lease=timedelta(1)) == []
