"""``QueryContract``: the store checks of keyset pages and metric facts (a base class
of :class:`~reqfulfill.testing.contracts.StoreContract`).

- ``query(after=, opened_from=, opened_to=)``: pages after a key, in
  ``(created_at, request_id)`` order, never repeat or skip a row, with any filter;
  ``query(states=...)`` pages the rows of several states merged in that order;
- ``metric_tallies(by, since=, until=)``: sums and histograms of the facts every
  append merges (first assignment kept, escalations added, survey kept until the
  next closing), per dimension, over a creation window;
- ``facts_to_rebuild`` and ``rebuild_facts``: whole facts replace the merged ones,
  and only for the stream version they were computed from;
- ``load_many``: several streams in one read, each as ``load_after`` gives it;
- ``load_after_event``: ``load_after`` only while the stream holds the event given at
  that version (an equal one), else None.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import attrs
import hypothesis
import pytest
from hypothesis import strategies as st

from reqfulfill.model.errors import ValidationError
from reqfulfill.model.events import Event
from reqfulfill.plugins import open_store
from reqfulfill.stores import MetricFacts, MetricsTally, RequestSummary, Store
from reqfulfill.testing.samples import T0, new_id, sample_events, sample_summary, waiting_stream

__all__ = ["QueryContract"]

_STATES = ("in_fulfillment", "waiting", "closed")
_GROUPS = ("service-desk", "identity", None)


def _other_time(event: Event) -> Event:
    """``event`` as if recorded a day earlier: the same id, another event."""
    return attrs.evolve(event, at=event.at - timedelta(days=1))


def _keys(rows: list[RequestSummary]) -> list[str]:
    return [r.request_id for r in rows]


class QueryContract:
    """Keyset pages and metric facts (mixed into ``StoreContract``)."""

    supports_multiprocess: ClassVar[bool]

    def _put(self, store: Store, summary: RequestSummary, version: int = 0) -> None:
        events = waiting_stream(summary.request_id, 1, start=version + 1)
        store.append(summary.request_id, events, version, summary=summary)

    # -- keyset pages ----------------------------------------------------------------------------

    def test_pages_after_a_key_cover_every_row_once_in_order(self, store: Store) -> None:
        # three requests share a creation time: the id breaks the tie
        minutes = {"P-5": 0, "P-1": 2, "P-3": 2, "P-2": 2, "P-4": 1, "P-6": 3}
        for rid, minute in minutes.items():
            self._put(store, sample_summary(rid, created_at=T0 + timedelta(minutes=minute)))
        every = _keys(store.query())
        assert every == ["P-5", "P-4", "P-1", "P-2", "P-3", "P-6"]
        for size in (1, 2, 4, 6):
            seen: list[str] = []
            after = None
            while True:
                page = store.query(limit=size, after=after)
                seen += _keys(page)
                if len(page) < size:
                    break
                after = (page[-1].created_at, page[-1].request_id)
            assert seen == every, f"pages of {size}"
        after_tie = (T0 + timedelta(minutes=2), "P-1")
        assert _keys(store.query(after=after_tie)) == ["P-2", "P-3", "P-6"]

    def test_pages_keep_their_filters_and_window(self, store: Store) -> None:
        for i in range(8):
            self._put(
                store,
                sample_summary(
                    f"W-{i}",
                    group="identity" if i % 2 else "service-desk",
                    created_at=T0 + timedelta(hours=i),
                ),
            )
        since, until = T0 + timedelta(hours=2), T0 + timedelta(hours=7)
        window = store.query(opened_from=since, opened_to=until)
        assert _keys(window) == ["W-2", "W-3", "W-4", "W-5", "W-6"]
        first = store.query(
            group="service-desk",
            state="in_fulfillment",
            limit=1,
            opened_from=since,
            opened_to=until,
        )
        assert _keys(first) == ["W-2"]
        rest = store.query(
            group="service-desk",
            state="in_fulfillment",
            after=(first[0].created_at, first[0].request_id),
            opened_from=since,
            opened_to=until,
        )
        assert _keys(rest) == ["W-4", "W-6"]
        assert store.query(requester="erin.user", opened_from=T0 + timedelta(days=1)) == []

    @hypothesis.given(
        rows=st.lists(
            st.tuples(st.integers(0, 5), st.sampled_from(_STATES), st.sampled_from(_GROUPS)),
            max_size=12,
        ),
        size=st.integers(1, 5),
        state=st.sampled_from((None, *_STATES)),
    )
    @hypothesis.settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
    )
    def test_any_page_size_walks_the_same_rows_as_one_query(
        self,
        store_url: str,
        rows: list[tuple[int, str, str | None]],
        size: int,
        state: str | None,
    ) -> None:
        store = open_store(store_url)  # examples keep apart by their request ids
        try:
            prefix = new_id("H") + "-"
            for i, (minute, row_state, group) in enumerate(rows):
                created = T0 + timedelta(minutes=minute)
                self._put(
                    store,
                    sample_summary(
                        f"{prefix}{i}", state=row_state, group=group, created_at=created
                    ),
                )
            mine = [r for r in store.query(state=state) if r.request_id.startswith(prefix)]
            expected = sorted(mine, key=lambda r: (r.created_at, r.request_id))
            assert _keys(mine) == _keys(expected)
            seen: list[str] = []
            after = None
            while True:
                page = store.query(state=state, limit=size, after=after)
                seen += [r for r in _keys(page) if r.startswith(prefix)]
                if len(page) < size:
                    break
                after = (page[-1].created_at, page[-1].request_id)
            assert seen == _keys(expected)
        finally:
            store.close()

    @hypothesis.given(
        rows=st.lists(
            st.tuples(st.integers(0, 5), st.sampled_from(_STATES), st.booleans()),
            max_size=12,
        ),
        states=st.lists(st.sampled_from(_STATES), min_size=1, max_size=4),
        since=st.none() | st.integers(0, 5),
        size=st.integers(1, 5),
    )
    @hypothesis.settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
    )
    def test_several_states_page_as_each_state_merged(
        self,
        store_url: str,
        rows: list[tuple[int, str, bool]],
        states: list[str],
        since: int | None,
        size: int,
    ) -> None:
        # a queue of several states in one read: the rows of each state (each once,
        # however often it is named), merged in key order, paged as one query
        store = open_store(store_url)  # examples keep apart by their groups
        try:
            prefix = new_id("S") + "-"
            group = prefix + "queue"
            for i, (minute, row_state, in_group) in enumerate(rows):
                summary = sample_summary(
                    f"{prefix}{i}",
                    state=row_state,
                    group=group if in_group else prefix + "other",
                    created_at=T0 + timedelta(minutes=minute),
                )
                self._put(store, summary)
            window = None if since is None else T0 + timedelta(minutes=since)
            each = [
                r
                for state in dict.fromkeys(states)
                for r in store.query(group=group, state=state, opened_from=window)
            ]
            expected = _keys(sorted(each, key=lambda r: (r.created_at, r.request_id)))
            merged = store.query(group=group, states=states, opened_from=window)
            assert _keys(merged) == expected
            assert all(r.group == group and r.state in states for r in merged)
            seen: list[str] = []
            after = None
            while True:
                page = store.query(
                    group=group, states=tuple(states), limit=size, after=after, opened_from=window
                )
                seen += _keys(page)
                if len(page) < size:
                    break
                after = (page[-1].created_at, page[-1].request_id)
            assert seen == expected
        finally:
            store.close()

    def test_states_that_are_not_a_list_of_states_are_refused(self, store: Store) -> None:
        self._put(store, sample_summary(new_id()))
        for bad, path in (
            ((), "states"),
            ([], "states"),
            ("in_fulfillment", "states"),
            (["in_fulfillment", 7], "states[1]"),
            (["waiting", "no-such-state"], "states[1]"),
        ):
            with pytest.raises(ValidationError) as info:
                store.query(states=bad)  # type: ignore[arg-type]
            assert info.value.paths == [path]
        with pytest.raises(ValidationError) as both:
            store.query(state="in_fulfillment", states=["in_fulfillment"])
        assert both.value.paths == ["states"]

    # -- many streams at once --------------------------------------------------------------------

    def test_load_many_reads_each_stream_as_load_after_does(self, store: Store) -> None:
        first, second, unknown = new_id(), new_id(), new_id()
        events = sample_events(first)[:5]
        store.append(first, events[:3], 0)
        store.append(first, events[3:], 3)
        store.append(second, waiting_stream(second, 2), 0)
        got = store.load_many([second, unknown, first, second])
        assert list(got) == [second, unknown, first]  # each id once, in the order given
        assert got == {second: waiting_stream(second, 2), unknown: [], first: events}
        assert store.load_many((first,), after={first: 3}) == {first: events[3:]}
        assert store.load_many([first], after={first: -1}) == {first: events}
        assert store.load_many([first, second], after={first: 5, second: 1}) == {
            first: [],
            second: waiting_stream(second, 2)[1:],
        }
        assert store.load_many([]) == {}
        # fresh lists: changing one changes nothing stored
        store.load_many([first])[first].clear()
        assert store.load(first) == events

    @hypothesis.given(
        lengths=st.lists(st.integers(0, 4), min_size=1, max_size=6),
        picks=st.lists(st.tuples(st.integers(0, 5), st.none() | st.integers(-1, 5)), max_size=8),
    )
    @hypothesis.settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
    )
    def test_load_many_is_load_after_of_each(
        self,
        store_url: str,
        lengths: list[int],
        picks: list[tuple[int, int | None]],
    ) -> None:
        store = open_store(store_url)  # examples keep apart by their request ids
        try:
            ids = [new_id("B") for _ in lengths]
            for request_id, length in zip(ids, lengths, strict=True):
                if length:
                    store.append(request_id, waiting_stream(request_id, length), 0)
            wanted = [ids[index % len(ids)] for index, _ in picks]
            after = {ids[index % len(ids)]: v for index, v in picks if v is not None}
            got = store.load_many(wanted, after=after)
            assert list(got) == list(dict.fromkeys(wanted))
            for request_id in wanted:
                assert got[request_id] == store.load_after(request_id, after.get(request_id, 0))
        finally:
            store.close()

    # -- the events after the one a state folded last ---------------------------------------

    def test_load_after_event_reads_on_only_from_the_same_event(self, store: Store) -> None:
        request_id, other = new_id(), new_id()
        events = sample_events(request_id)[:5]
        store.append(request_id, events[:3], 0)
        store.append(request_id, events[3:], 3)
        store.append(other, sample_events(other)[:5], 0)
        # before anything is read back: the last event appended, an equal copy, another
        assert store.load_after_event(request_id, 5, events[4]) == []
        assert store.load_after_event(request_id, 5, attrs.evolve(events[4])) == []
        assert store.load_after_event(request_id, 5, _other_time(events[4])) is None
        assert store.load_after_event(other, 5, events[4]) is None
        loaded = store.load(request_id)
        for version in range(1, 6):
            # the event appended, the one read back and an equal copy all say "the same"
            for last in (
                events[version - 1],
                loaded[version - 1],
                attrs.evolve(loaded[version - 1]),
            ):
                assert store.load_after_event(request_id, version, last) == events[version:]
            # another event there: the stream is not the one folded
            changed = _other_time(events[version - 1])
            assert store.load_after_event(request_id, version, changed) is None
            assert store.load_after_event(other, version, events[version - 1]) is None
        assert store.load_after_event(request_id, 6, events[4]) is None  # fewer events
        assert store.load_after_event(request_id, 0, events[0]) is None
        assert store.load_after_event(new_id(), 1, events[0]) is None
        # a fresh list each time: changing it changes nothing stored
        got = store.load_after_event(request_id, 1, events[0])
        assert got is not None
        got.clear()
        assert store.load(request_id) == events

    @hypothesis.given(
        length=st.integers(1, 5),
        version=st.integers(-1, 6),
        appended=st.booleans(),
        days=st.integers(-1, 1),
    )
    @hypothesis.settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
    )
    def test_load_after_event_is_load_after_when_the_event_is_there(
        self, store_url: str, length: int, version: int, appended: bool, days: int
    ) -> None:
        store = open_store(store_url)  # examples keep apart by their request ids
        try:
            request_id = new_id("E")
            events = waiting_stream(request_id, length)
            store.append(request_id, events, 0)
            # the event at ``version`` (or the nearest there is), as appended or read back
            index = min(max(version, 1), length) - 1
            pick = events[index] if appended else store.load(request_id)[index]
            last = attrs.evolve(pick, at=pick.at + timedelta(days=days)) if days else pick
            same = 0 < version <= length and days == 0
            want = store.load_after(request_id, version) if same else None
            assert store.load_after_event(request_id, version, last) == want
        finally:
            store.close()

    @pytest.mark.parametrize(
        ("request_ids", "after", "path"),
        [
            ("REQ-1", None, "request_ids"),
            (["REQ-1", 7], None, "request_ids[1]"),
            (["REQ-1"] * 10_001, None, "request_ids"),
            (["REQ-1"], [("REQ-1", 1)], "after"),
            (["REQ-1"], {"REQ-2": 1}, "after['REQ-2']"),
            (["REQ-1"], {"REQ-1": True}, "after['REQ-1']"),
            (["REQ-1"], {"REQ-1": "2"}, "after['REQ-1']"),
        ],
    )
    def test_load_many_refuses_bad_arguments(
        self, store: Store, request_ids: object, after: object, path: str
    ) -> None:
        with pytest.raises(ValidationError) as raised:
            store.load_many(request_ids, after=after)  # type: ignore[arg-type]
        assert raised.value.problems[0].path == path

    # -- metric facts ------------------------------------------------------------------------------

    def test_tallies_add_up_the_merged_facts_per_dimension(self, store: Store) -> None:
        one = sample_summary(
            "M-1",
            item="iphone-15",
            agent="sam.agent",
            facts=MetricFacts(assign_ch=50, escalations=1),
        )
        self._put(store, one)
        # a later append: assignment kept from the first, escalations added, closed
        # with a survey and a rating
        closed = attrs.evolve(
            one,
            state="closed",
            facts=MetricFacts(
                assign_ch=900, fulfil_ch=250, sla_met=True, rating=4, escalations=2, surveyed=True
            ),
        )
        self._put(store, closed, version=1)
        self._put(
            store,
            sample_summary(
                "M-2",
                item="iphone-15",
                agent=None,
                created_at=T0 + timedelta(days=1),
                facts=MetricFacts(fulfil_ch=250, sla_met=False),
            ),
        )
        self._put(
            store,
            sample_summary("M-3", item=None, facts=MetricFacts(fulfil_ch=100, rating=5)),
        )
        tallies = {t.key: t for t in store.metric_tallies("item")}
        assert tallies == {
            "iphone-15": MetricsTally(
                "iphone-15",
                count=2,
                with_sla=2,
                sla_met=1,
                escalations=3,
                rated=1,
                rating_sum=4,
                surveyed=1,
                answered=1,
                assign=((50, 1),),
                fulfil=((250, 2),),
            ),
            # a rating of a request not closed counts nowhere
            None: MetricsTally(None, 1, 0, 0, 0, 0, 0, 0, 0, fulfil=((100, 1),)),
        }
        by_agent = {t.key: t.count for t in store.metric_tallies("agent")}
        assert by_agent == {"sam.agent": 1, None: 2}
        assert {t.key for t in store.metric_tallies("group")} == {"service-desk"}
        window = store.metric_tallies("item", since=T0 + timedelta(hours=1))
        assert [(t.key, t.count) for t in window] == [("iphone-15", 1)]
        assert store.metric_tallies("item", until=T0) == []

    def test_a_later_closing_replaces_the_survey_flag(self, store: Store) -> None:
        first = sample_summary("S-1", state="closed", facts=MetricFacts(surveyed=True))
        self._put(store, first)
        self._put(store, attrs.evolve(first, state="in_fulfillment", facts=MetricFacts()), 1)
        self._put(store, attrs.evolve(first, facts=MetricFacts(surveyed=False)), 2)
        (tally,) = store.metric_tallies("group")
        assert (tally.count, tally.surveyed) == (1, 0)

    def test_tallies_by_anything_else_are_refused(self, store: Store) -> None:
        for by in ("requester", "grp", "item; DROP TABLE rf_events"):
            with pytest.raises(ValidationError) as info:
                store.metric_tallies(by)
            assert info.value.paths == ["by"]

    def test_rebuilt_facts_replace_the_merged_ones_for_their_version_only(
        self, store: Store
    ) -> None:
        assert store.facts_to_rebuild() == []
        self._put(store, sample_summary("F-1", facts=MetricFacts(escalations=3)))
        whole = MetricFacts(assign_ch=10, escalations=1)
        assert store.rebuild_facts("F-1", 2, whole) is False  # the stream is at version 1
        (tally,) = store.metric_tallies("item")
        assert tally.escalations == 3
        assert store.rebuild_facts("F-1", 1, whole) is True
        (tally,) = store.metric_tallies("item")
        assert (tally.escalations, tally.assign) == (1, ((10, 1),))
        assert store.rebuild_facts("F-NONE", 0, whole) is False
        assert store.facts_to_rebuild() == []

    def test_the_facts_persist(self, store_url: str) -> None:
        first = open_store(store_url)
        try:
            self._put(first, sample_summary("D-1", facts=MetricFacts(fulfil_ch=7)))
        finally:
            first.close()
        if not self.supports_multiprocess:
            return  # each open is a store of its own: nothing to read back
        second = open_store(store_url)
        try:
            (tally,) = second.metric_tallies("item")
            assert tally.fulfil == ((7, 1),)
        finally:
            second.close()
