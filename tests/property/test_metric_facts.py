"""The metric facts a store merges, append after append, give the metrics of the
replayed histories: any reachable histories, appended in any split into appends, on
memory:// and SQLite (PostgreSQL runs the same merge in the state machine). Where a
request's item came from (``source_of``: stock, supplier or mixed) and the shares the
tallies give of it."""

from __future__ import annotations

import itertools
import random
import tempfile
from datetime import timedelta
from pathlib import Path

import attrs
import hypothesis
from hypothesis import strategies as st

from reqfulfill import Channel, FulfillmentService, lifecycle, open_store
from reqfulfill.metrics import (
    GroupBy,
    fulfilled_from,
    metrics_rows,
    percentile,
    request_facts,
    rows_from_tallies,
)
from reqfulfill.model.enums import TaskKind, TaskState
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest, Task
from reqfulfill.stores import RequestSummary, Store
from reqfulfill.stores._facts import SOURCES, MetricFacts, facts_of, source_of, tally
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.strategies import histories


def _append_in_splits(store: Store, events: list[Event], cuts: list[int]) -> None:
    request_id = events[0].request_id
    bounds = sorted({0, len(events), *(c % (len(events) + 1) for c in cuts)})
    for start, end in itertools.pairwise(bounds):
        state = lifecycle.replay(events[:end])
        store.append(
            request_id,
            events[start:end],
            start,
            summary=RequestSummary.of(state, events[start:end]),
        )


@hypothesis.given(
    drawn=st.lists(histories(max_steps=25), min_size=1, max_size=4),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
@hypothesis.settings(deadline=None, max_examples=40)
def test_merged_facts_give_the_metrics_of_the_replayed_histories(
    drawn: list[tuple[list[Event], ServiceRequest]], cuts: list[int]
) -> None:
    ids = [events[0].request_id for events, _ in drawn]
    hypothesis.assume(len(set(ids)) == len(ids))
    facts = [request_facts(state, events) for events, state in drawn]
    with tempfile.TemporaryDirectory() as tmp:
        for url in ("memory://", f"sqlite:///{Path(tmp) / 'facts.db'}"):
            store = open_store(url)
            try:
                for events, _ in drawn:
                    _append_in_splits(store, events, cuts)
                by: GroupBy
                for by in ("item", "group", "agent"):
                    got = rows_from_tallies(store.metric_tallies(by))
                    assert got == metrics_rows(facts, by), (url, by)
            finally:
                store.close()


_ORDERING = (TaskKind.STOCK_OR_ORDER, TaskKind.SUPPLIER_ORDER)


def _phone() -> ServiceRequest:
    """A submitted phone request (its plan replaced by the tests below)."""
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    try:
        return service.submit(demo_requester(), "iphone-15", Channel.PORTAL)
    finally:
        service.store.close()


_PHONE = _phone()

_tasks = st.builds(
    Task,
    key=st.sampled_from(["a", "b", "c", "d"]),
    kind=st.sampled_from([*_ORDERING, TaskKind.MANUAL]),
    title=st.just("t"),
    state=st.sampled_from(TaskState),
    source=st.sampled_from([None, "stock", "supplier"]),
)


@hypothesis.given(
    plan=st.lists(_tasks, max_size=6),
    fulfilled=st.booleans(),
    order=st.randoms(use_true_random=False),
)
def test_source_of_says_stock_supplier_or_mixed_from_the_done_ordering_tasks(
    plan: list[Task], fulfilled: bool, order: random.Random
) -> None:
    at = _PHONE.created_at + timedelta(hours=3) if fulfilled else None
    request = attrs.evolve(_PHONE, plan=tuple(plan), fulfilled_at=at)
    done = [t for t in plan if t.state is TaskState.DONE and t.kind in _ORDERING]
    from_stock = [t.kind is TaskKind.STOCK_OR_ORDER and t.source == "stock" for t in done]
    got = source_of(request)
    assert fulfilled_from(request) == got
    if not fulfilled or not done:
        assert got is None
    elif all(from_stock):
        assert got == "stock"
    elif not any(from_stock):
        assert got == "supplier"  # a supplier_order, or a stock_or_order out of stock
    else:
        assert got == "mixed"  # some of each: counted apart from both shares
    shuffled = list(plan)
    order.shuffle(shuffled)
    assert source_of(attrs.evolve(request, plan=tuple(shuffled))) == got  # task order
    # a task not done or not ordering changes nothing
    extra = Task("z", TaskKind.MANUAL, "z", state=TaskState.DONE, source="stock")
    assert source_of(attrs.evolve(request, plan=(*plan, extra))) == got
    if got is not None:
        assert got in SOURCES
        assert facts_of(request, []).source == got  # what an append stores


@hypothesis.given(
    sources=st.lists(st.sampled_from([None, *SOURCES]), min_size=1, max_size=12),
    hours=st.lists(st.integers(1, 400), min_size=12, max_size=12),
)
def test_tallies_share_out_of_all_three_sources(
    sources: list[str | None], hours: list[int]
) -> None:
    """The shares from stock and from a supplier are of the stock, supplier and mixed
    requests together; the medians are of the requests all from one; a tally of facts
    rows and the replayed rows agree."""
    rows = [
        ("iphone-15", False, MetricFacts(fulfil_ch=100 * h, source=s))
        for s, h in zip(sources, hours, strict=False)
    ]
    (row,) = rows_from_tallies(tally(rows))
    sourced = [s for s in sources if s is not None]
    if not sourced:
        assert row.from_stock_pct is None
        assert row.from_supplier_pct is None
    else:
        assert row.from_stock_pct == round(100 * sourced.count("stock") / len(sourced), 1)
        assert row.from_supplier_pct == round(100 * sourced.count("supplier") / len(sourced), 1)
    for name, got in (("stock", row.fulfil_p50_stock_h), ("supplier", row.fulfil_p50_supplier_h)):
        times = [float(h) for s, h in zip(sources, hours, strict=False) if s == name]
        assert got == percentile(times, 50)
