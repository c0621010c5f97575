"""The metric facts a store merges, append after append, give the metrics of the
replayed histories: any reachable histories, appended in any split into appends, on
memory:// and SQLite (PostgreSQL runs the same merge in the state machine)."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import hypothesis
from hypothesis import strategies as st

from reqfulfill import lifecycle, open_store
from reqfulfill.metrics import (
    GroupBy,
    metrics_rows,
    request_facts,
    rows_from_tallies,
    without_sources,
)
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.stores import RequestSummary, Store
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
                    assert got == without_sources(metrics_rows(facts, by)), (url, by)
            finally:
                store.close()
