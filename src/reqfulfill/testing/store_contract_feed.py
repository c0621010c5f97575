"""``FeedContract``: the change-feed checks of the store contract kit (``read_all``,
the no-skip guarantee under concurrent appends, subscriptions' checkpoints and leases,
``wait_for_work``). :class:`~reqfulfill.testing.store_contract.StoreContract`
inherits them, so every backend runs them with the rest of the kit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from reqfulfill.model.errors import ConcurrencyError, ValidationError
from reqfulfill.plugins import open_store
from reqfulfill.stores import Store, StoredEvent
from reqfulfill.testing.processes import contend_appends, run_in_processes
from reqfulfill.testing.samples import T0, new_id, waiting_stream

__all__ = ["FeedContract", "tail_until"]

_LEASE = timedelta(seconds=30)


def tail_until(store: Store, done: Callable[[], bool], *, page: int = 50) -> list[StoredEvent]:
    """Read the feed as a follower does (from the last position seen, ``page`` at a time)
    until ``done()`` and then to its end; fail if a page ever goes back or repeats."""
    seen: list[StoredEvent] = []
    last = 0
    finished = False
    while True:
        finished = finished or done()  # decided before the read: the last read sees all
        events = store.read_all(last, page)
        if events:
            positions = [e.position for e in events]
            assert positions == sorted(set(positions)), f"positions out of order: {positions}"
            assert positions[0] > last, f"read_all({last}) returned {positions[0]}"
            seen.extend(events)
            last = positions[-1]
        elif finished:
            return seen
        else:
            time.sleep(0.001)


class FeedContract:
    """The change-feed checks (mixed into ``StoreContract``; uses its fixtures and flags)."""

    supports_multiprocess: ClassVar[bool]
    supports_concurrent_threads: ClassVar[bool]
    contention_processes: ClassVar[int]
    contention_appends: ClassVar[int]

    wakes_waiters: ClassVar[bool] = True
    """``wait_for_work`` returns early when an append is made through the same store
    object (``False``: the store only sleeps)."""

    # -- read_all ---------------------------------------------------------------------------

    def test_read_all_of_an_empty_store_is_empty(self, store: Store) -> None:
        assert store.read_all() == []
        assert store.read_all(after=5, limit=1) == []

    def test_read_all_gives_every_event_in_append_order(self, store: Store) -> None:
        first, second = new_id(), new_id()
        store.append(first, waiting_stream(first, 2), 0)
        store.append(second, waiting_stream(second, 3, at=T0 - timedelta(days=1)), 0)
        store.append(first, waiting_stream(first, 1, start=3), 2)
        feed = store.read_all()
        positions = [e.position for e in feed]
        assert positions == sorted(set(positions))
        assert positions[0] >= 1
        assert [(e.request_id, e.version) for e in feed] == [
            (first, 1),
            (first, 2),
            (second, 1),
            (second, 2),
            (second, 3),
            (first, 3),
        ]
        assert [e.event for e in feed] == [
            *waiting_stream(first, 2),
            *waiting_stream(second, 3, at=T0 - timedelta(days=1)),
            *waiting_stream(first, 1, start=3),
        ]

    def test_read_all_pages_by_after_and_limit(self, store: Store) -> None:
        for _ in range(4):
            request_id = new_id()
            store.append(request_id, waiting_stream(request_id, 3), 0)
        everything = store.read_all(limit=10_000)
        assert len(everything) == 12
        for size in (1, 5, 12):
            paged: list[StoredEvent] = []
            last = 0
            while page := store.read_all(last, size):
                assert len(page) <= size
                paged.extend(page)
                last = page[-1].position
            assert paged == everything
        middle = everything[6].position
        assert store.read_all(after=middle, limit=2) == everything[7:9]
        assert store.read_all(after=everything[-1].position) == []

    @pytest.mark.parametrize(
        ("after", "limit", "path"),
        [(-1, 10, "after"), (0, 0, "limit"), (0, 10_001, "limit"), (True, 1, "after"),
         (0, 1.5, "limit"), ("3", 1, "after")],
    )  # fmt: skip
    def test_read_all_refuses_bad_arguments(
        self, store: Store, after: Any, limit: Any, path: str
    ) -> None:
        with pytest.raises(ValidationError) as caught:
            store.read_all(after, limit)
        assert caught.value.paths == [path]

    def test_a_refused_append_takes_no_position(self, store: Store) -> None:
        request_id = new_id()
        store.append(request_id, waiting_stream(request_id, 1), 0)
        with pytest.raises(ConcurrencyError):
            store.append(request_id, waiting_stream(request_id, 1, start=2), 0)
        store.append(request_id, waiting_stream(request_id, 1, start=2), 1)
        feed = store.read_all()
        assert [e.version for e in feed] == [1, 2]
        assert feed[1].position > feed[0].position

    def test_a_second_open_reads_the_same_feed(self, store: Store, store_url: str) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        request_id = new_id()
        store.append(request_id, waiting_stream(request_id, 2), 0)
        other = open_store(store_url)
        try:
            assert other.read_all() == store.read_all()
            other.append(request_id, waiting_stream(request_id, 1, start=3), 2)
        finally:
            other.close()
        assert [e.version for e in store.read_all()] == [1, 2, 3]

    # -- no reader skips an event -----------------------------------------------------------

    def _tail_while(self, store: Store, run: Callable[[], object]) -> list[StoredEvent]:
        """Tail the feed in a thread while ``run()`` appends; what the tail saw."""
        finished = threading.Event()
        seen: list[StoredEvent] = []
        errors: list[BaseException] = []

        def tail() -> None:
            try:
                seen.extend(tail_until(store, finished.is_set))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        reader = threading.Thread(target=tail)
        reader.start()
        try:
            run()
        finally:
            finished.set()
            reader.join(timeout=120)
        assert errors == [], errors
        return seen

    def test_a_tailing_reader_skips_nothing_under_concurrent_threads(self, store: Store) -> None:
        if not self.supports_concurrent_threads:
            pytest.skip("supports_concurrent_threads = False")
        request_ids = [new_id() for _ in range(4)]

        def append_all() -> None:
            threads = [
                threading.Thread(target=self._append_thread, args=(store, request_ids, n))
                for n in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)

        seen = self._tail_while(store, append_all)
        everything = store.read_all(limit=10_000)
        assert len(everything) == 4 * self.contention_appends
        assert seen == everything, "the tailing reader skipped an event"

    def _append_thread(self, store: Store, request_ids: list[str], worker: int) -> None:
        for i in range(self.contention_appends):
            request_id = request_ids[(worker + i) % len(request_ids)]
            while True:
                version = len(store.load(request_id))
                try:
                    store.append(
                        request_id, waiting_stream(request_id, 1, start=version + 1), version
                    )
                except ConcurrencyError:
                    continue
                break

    def test_a_tailing_reader_skips_nothing_under_concurrent_processes(
        self, store: Store, store_url: str
    ) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        request_ids = [new_id() for _ in range(self.contention_processes * 2)]
        calls = [
            (store_url, worker, request_ids, self.contention_appends * 2)
            for worker in range(self.contention_processes)
        ]
        seen = self._tail_while(store, lambda: run_in_processes(contend_appends, calls))
        everything = store.read_all(limit=10_000)
        assert len(everything) == self.contention_processes * self.contention_appends * 2
        assert seen == everything, "the tailing reader skipped an event"

    # -- subscriptions' checkpoints and leases ---------------------------------------------------

    def test_a_new_subscription_starts_where_asked_and_keeps_its_lease(self, store: Store) -> None:
        assert store.subscription_position("board") is None
        assert store.lease_subscription("board", owner="a", start=7, now=T0, lease=_LEASE) == 7
        assert store.subscription_position("board") == 7
        assert store.lease_subscription("board", owner="b", start=0, now=T0, lease=_LEASE) is None
        assert store.lease_subscription("board", owner="a", start=0, now=T0, lease=_LEASE) == 7
        later = T0 + _LEASE + timedelta(seconds=1)
        assert store.lease_subscription("board", owner="a", start=0, now=later, lease=_LEASE) == 7

    def test_a_lapsed_lease_is_taken_over_and_fences_the_old_owner(self, store: Store) -> None:
        store.lease_subscription("board", owner="a", start=0, now=T0, lease=_LEASE)
        later = T0 + _LEASE
        assert store.lease_subscription("board", owner="b", start=0, now=later, lease=_LEASE) == 0
        writes: list[str] = []
        assert not store.advance_subscription(
            "board",
            owner="a",
            expected=0,
            position=3,
            now=later,
            lease=_LEASE,
            apply=lambda tx: writes.append("a"),
        )
        assert writes == []
        assert store.subscription_position("board") == 0
        assert store.advance_subscription(
            "board", owner="b", expected=0, position=3, now=later, lease=_LEASE
        )
        assert store.subscription_position("board") == 3

    def test_a_checkpoint_advances_only_from_the_expected_position(self, store: Store) -> None:
        store.lease_subscription("board", owner="a", start=0, now=T0, lease=_LEASE)
        assert store.advance_subscription(
            "board", owner="a", expected=0, position=4, now=T0, lease=_LEASE
        )
        assert not store.advance_subscription(
            "board", owner="a", expected=0, position=9, now=T0, lease=_LEASE
        )
        assert not store.advance_subscription(
            "unknown", owner="a", expected=0, position=9, now=T0, lease=_LEASE
        )
        assert store.subscription_position("board") == 4
        assert store.subscription_position("unknown") is None

    def test_a_failing_apply_leaves_the_checkpoint(self, store: Store) -> None:
        store.lease_subscription("board", owner="a", start=0, now=T0, lease=_LEASE)

        def apply(tx: Any) -> None:
            raise LookupError("the handler failed")

        with pytest.raises(LookupError):
            store.advance_subscription(
                "board", owner="a", expected=0, position=5, now=T0, lease=_LEASE, apply=apply
            )
        assert store.subscription_position("board") == 0
        assert store.advance_subscription(
            "board", owner="a", expected=0, position=5, now=T0, lease=_LEASE, apply=lambda tx: None
        )

    def test_a_released_lease_is_free_at_once(self, store: Store) -> None:
        store.lease_subscription("board", owner="a", start=0, now=T0, lease=_LEASE)
        store.release_subscription("board", owner="b")  # not b's: nothing happens
        assert store.lease_subscription("board", owner="b", start=0, now=T0, lease=_LEASE) is None
        store.release_subscription("board", owner="a")
        assert store.lease_subscription("board", owner="b", start=0, now=T0, lease=_LEASE) == 0

    def test_subscriptions_are_independent(self, store: Store) -> None:
        store.lease_subscription("board", owner="a", start=0, now=T0, lease=_LEASE)
        assert store.lease_subscription("search", owner="b", start=2, now=T0, lease=_LEASE) == 2
        store.advance_subscription("board", owner="a", expected=0, position=1, now=T0, lease=_LEASE)
        assert store.subscription_position("search") == 2

    def test_a_checkpoint_outlives_the_store_object(self, store: Store, store_url: str) -> None:
        if not self.supports_multiprocess:
            pytest.skip("supports_multiprocess = False")
        now = datetime.now(UTC)
        store.lease_subscription("board", owner="a", start=0, now=now, lease=_LEASE)
        store.advance_subscription(
            "board", owner="a", expected=0, position=2, now=now, lease=_LEASE
        )
        other = open_store(store_url)
        try:
            assert other.subscription_position("board") == 2
            assert (
                other.lease_subscription("board", owner="b", start=0, now=now, lease=_LEASE) is None
            )
        finally:
            other.close()

    # -- wake-ups ----------------------------------------------------------------------------------

    def test_wait_for_work_returns_within_its_timeout(self, store: Store) -> None:
        store.wait_for_work(0.01)  # a thread's first wait may return at once
        started = time.monotonic()
        woken = store.wait_for_work(0.05)
        assert isinstance(woken, bool)
        assert time.monotonic() - started < 5.0

    def test_an_append_wakes_a_waiting_thread(self, store: Store) -> None:
        if not self.wakes_waiters:
            pytest.skip("wakes_waiters = False")
        store.wait_for_work(0.01)
        request_id = new_id()
        timer = threading.Timer(
            0.05, lambda: store.append(request_id, waiting_stream(request_id, 1), 0)
        )
        timer.start()
        try:
            assert store.wait_for_work(30.0), "an append through the same store did not wake it"
        finally:
            timer.join()
