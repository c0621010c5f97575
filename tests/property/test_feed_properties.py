"""Properties of the change feed and of subscriptions: whatever the batch sizes, the
page sizes and the handler's failures, every event is handled once, in order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reqfulfill.stores import MemoryStore, MemoryTx, StoredEvent
from reqfulfill.subscriptions import Subscription
from reqfulfill.testing.samples import waiting_stream

appends = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=12)


def _filled(plan: list[tuple[int, int]]) -> MemoryStore:
    store = MemoryStore()
    versions = [0, 0, 0, 0]
    for request, count in plan:
        rid = f"REQ-{request}"
        store.append(
            rid, waiting_stream(rid, count, start=versions[request] + 1), versions[request]
        )
        versions[request] += count
    return store


@given(plan=appends, pages=st.lists(st.integers(1, 7), min_size=1, max_size=30))
def test_paging_by_after_and_limit_rebuilds_the_feed(
    plan: list[tuple[int, int]], pages: list[int]
) -> None:
    store = _filled(plan)
    everything = store.read_all(limit=10_000)
    assert len(everything) == sum(count for _, count in plan)
    positions = [e.position for e in everything]
    assert positions == sorted(set(positions))
    for rid in {e.request_id for e in everything}:
        assert [e.event for e in everything if e.request_id == rid] == store.load(rid)
    walked: list[StoredEvent] = []
    after, i = 0, 0
    while page := store.read_all(after, pages[i % len(pages)]):
        walked.extend(page)
        after, i = page[-1].position, i + 1
    assert walked == everything


@settings(max_examples=60)
@given(
    plan=appends,
    batch=st.integers(1, 6),
    failures=st.dictionaries(st.integers(1, 48), st.integers(1, 3), max_size=6),
    transactional=st.booleans(),
)
def test_a_subscription_handles_every_event_once_in_order_whatever_fails(
    plan: list[tuple[int, int]], batch: int, failures: dict[int, int], transactional: bool
) -> None:
    store = _filled(plan)
    left = dict(failures)  # position -> how many more times its handling raises
    handled: list[int] = []

    def fail_maybe(event: StoredEvent) -> None:
        if left.get(event.position, 0) > 0:
            left[event.position] -= 1
            raise RuntimeError(f"down at {event.position}")

    def plain(event: StoredEvent) -> None:
        fail_maybe(event)
        handled.append(event.position)

    def with_tx(event: StoredEvent, tx: Any) -> None:
        assert isinstance(tx, MemoryTx)
        fail_maybe(event)
        tx.on_commit(lambda: handled.append(event.position))

    subscription = Subscription(store, "prop", with_tx if transactional else plain, batch=batch)
    for _ in range(200):
        subscription.run_pending()
        if subscription.failure is None and subscription.run_pending() == 0:
            break
    everything = [e.position for e in store.read_all(limit=10_000)]
    assert handled == everything, "an event was skipped, repeated or reordered"
    assert subscription.position == everything[-1]
    assert all(left[p] == 0 for p in left if p in everything), "a failing event was given up"
