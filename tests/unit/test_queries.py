"""The portal's queries (issue #20, points 4 and 5): ``requests``, ``requests_of`` and
``queue`` page by keyset with checked cursors, and ``metrics`` adds up facts rows, on
every store; a fresh service (another process's view) reads the same pages and
accepts the cursors another service made."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from reqfulfill import FixedClock, FulfillmentService, Page, Worker, lifecycle, open_store
from reqfulfill.metrics import metrics_rows, request_facts
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel, RequestState
from reqfulfill.model.errors import NotFoundError, ValidationError
from reqfulfill.paging import make_cursor
from reqfulfill.stores import MemoryStore, RequestSummary, Store
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.samples import T0, sample_summary, waiting_stream

AGENT = "sam.agent"
ERIN = demo_requester()
MAX = Requester(id="max.manager", name="Max Manager", department="IT", location="Helsinki HQ")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
        return
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/rf.db"
        return
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn:
        pytest.skip("REQFULFILL_PG_DSN is not set")
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    schema = f"rf_queries_{os.urandom(6).hex()}"
    yield f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def service(url: str, clock: FixedClock) -> Iterator[FulfillmentService]:
    made = FulfillmentService(demo_catalog(), store=url, clock=clock, load_entrypoints=False)
    yield made
    made.store.close()


def _fresh(service: FulfillmentService, url: str) -> FulfillmentService:
    """What another process sees: a second connection (the same store for memory://)."""
    store = service.store if url.startswith("memory") else open_store(url)
    return FulfillmentService(demo_catalog(), store=store, load_entrypoints=False)


def _walk(call: Any, **filters: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = call(cursor=cursor, **filters)
        assert isinstance(page, Page)
        ids += [getattr(r, "request_id", None) or r.id for r in page]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _fill(service: FulfillmentService, clock: FixedClock) -> dict[str, str]:
    made = {}
    for name, requester, item in (
        ("reset-erin", ERIN, "password-reset"),
        ("phone-erin", ERIN, "iphone-15"),
        ("reset-max", MAX, "password-reset"),
        ("reset-erin-2", ERIN, "password-reset"),
    ):
        made[name] = service.submit(requester, item, Channel.PORTAL).id
        clock.advance(minutes=1)
    service.claim(made["reset-erin"], AGENT)
    return made


def test_requests_filter_and_page_with_cursors(
    service: FulfillmentService, clock: FixedClock, url: str
) -> None:
    made = _fill(service, clock)
    everything = _walk(service.requests, limit=1)
    assert everything == list(made.values())  # oldest first
    page = service.requests(limit=3)
    assert [type(s) for s in page] == [RequestSummary] * 3
    assert len(page) == 3
    assert page.next_cursor is not None
    assert [s.request_id for s in service.requests(cursor=page.next_cursor, limit=3)] == [
        made["reset-erin-2"]
    ]
    assert service.requests().next_cursor is None  # all on the first page
    erin = [made["reset-erin"], made["phone-erin"], made["reset-erin-2"]]
    assert _walk(service.requests_of, requester_id=ERIN.id, limit=2) == erin
    assert _walk(service.requests, requester=ERIN.id, item="password-reset") == [
        made["reset-erin"],
        made["reset-erin-2"],
    ]
    assert _walk(service.requests, agent=AGENT, limit=1) == [made["reset-erin"]]
    assert _walk(service.requests, item="iphone-15", limit=1) == [made["phone-erin"]]
    assert _walk(service.requests, group="service-desk", limit=1) == [
        made["reset-erin"],
        made["reset-max"],
        made["reset-erin-2"],
    ]
    state = service.get(made["phone-erin"]).state
    assert _walk(service.requests, state=state, limit=1) == [made["phone-erin"]]
    start = datetime(2026, 3, 2, 8, 1, tzinfo=UTC)
    window = {"opened_from": start, "opened_to": start + timedelta(minutes=2)}
    assert _walk(service.requests, limit=1, **window) == [made["phone-erin"], made["reset-max"]]
    # another process reads the same pages and continues a cursor this one made
    other = _fresh(service, url)
    try:
        first = service.requests_of(ERIN.id, limit=1)
        assert first.next_cursor is not None
        assert [s.request_id for s in other.requests_of(ERIN.id, cursor=first.next_cursor)] == (
            erin[1:]
        )
    finally:
        if other.store is not service.store:
            other.store.close()


def test_a_request_made_while_paging_is_neither_repeated_nor_skipped_before_it(
    service: FulfillmentService, clock: FixedClock
) -> None:
    made = _fill(service, clock)
    first = service.requests(limit=2)
    late = service.submit(ERIN, "password-reset", Channel.PORTAL).id  # the newest
    service.cancel(made["reset-erin"], ERIN.id, "not needed")  # changes a row already seen
    rest: list[str] = []
    cursor = first.next_cursor
    while cursor is not None:
        page = service.requests(limit=2, cursor=cursor)
        rest += [s.request_id for s in page]
        cursor = page.next_cursor
    assert [s.request_id for s in first] + rest == [*made.values(), late]


def test_queue_pages_and_filters_by_requester(
    service: FulfillmentService, clock: FixedClock
) -> None:
    made = _fill(service, clock)
    page = service.queue(group="service-desk", limit=2)
    assert [r.id for r in page] == [made["reset-erin"], made["reset-max"]]
    assert page.next_cursor is not None
    rest = service.queue(group="service-desk", limit=2, cursor=page.next_cursor)
    assert [r.id for r in rest] == [made["reset-erin-2"]]
    assert rest.next_cursor is None
    assert rest[0] == service.get(made["reset-erin-2"])
    assert [r.id for r in service.queue(requester=MAX.id)] == [made["reset-max"]]
    assert [r.id for r in service.queue(item="iphone-15")] == [made["phone-erin"]]
    assert [r.id for r in service.queue(agent=AGENT)] == [made["reset-erin"]]
    with pytest.raises(ValidationError) as info:  # a queue's cursor is not a requests cursor
        service.requests(group="service-desk", cursor=page.next_cursor)
    assert info.value.paths == ["cursor"]


def test_queue_returns_fifty_by_default() -> None:
    service = FulfillmentService(demo_catalog(), store="memory://", load_entrypoints=False)
    for _ in range(52):
        service.submit(ERIN, "password-reset", Channel.PORTAL)
    page = service.queue(group="service-desk")
    assert len(page) == 50
    assert page.next_cursor is not None
    assert len(service.queue(group="service-desk", cursor=page.next_cursor)) == 2
    assert len(service.requests()) == 50


class _CountingStore(MemoryStore):
    """A memory store that counts its stream reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def load(self, request_id: str) -> list[Any]:
        self.reads.append("load")
        return super().load(request_id)

    def load_after(self, request_id: str, version: int) -> list[Any]:
        self.reads.append("load_after")
        return super().load_after(request_id, version)

    def load_many(self, request_ids: Any, *, after: Any = None) -> dict[str, list[Any]]:
        self.reads.append("load_many")
        return super().load_many(request_ids, after=after)


def test_a_queue_page_reads_its_requests_with_one_store_call() -> None:
    store = _CountingStore()
    writer = FulfillmentService(demo_catalog(), store=store, load_entrypoints=False)
    ids = [writer.submit(ERIN, "password-reset", Channel.PORTAL).id for _ in range(12)]
    writer.claim(ids[3], AGENT)
    expected = [writer.get(request_id) for request_id in ids]
    for service in (
        FulfillmentService(demo_catalog(), store=store, load_entrypoints=False),
        writer,
    ):
        # a fresh service reads whole streams; one with the states cached, their tails
        store.reads.clear()
        page = service.queue(group="service-desk", limit=10)
        assert list(page) == expected[:10]
        assert store.reads == ["load_many"]
    fresh = FulfillmentService(demo_catalog(), store=store, load_entrypoints=False)
    store.reads.clear()
    assert fresh.get_many([ids[5], ids[0], ids[5]]) == [expected[5], expected[0], expected[5]]
    assert store.reads == ["load_many"]
    assert fresh.get_many([]) == []
    with pytest.raises(NotFoundError):
        fresh.get_many([ids[0], "REQ-NOPE"])


def _cursor_cases(good: str) -> list[object]:
    edited = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    forged = make_cursor((T0, "REQ-1"), ("requests", "someone", None, None, None, None, None, None))
    return [
        "",
        "not-a-cursor",
        good[:-1],
        edited,
        good + "A",
        "x" * 5000,
        forged,
        42,
        ["a"],
        b"bytes",
    ]


def test_a_cursor_not_made_for_the_query_is_refused_and_nothing_is_written(
    service: FulfillmentService, clock: FixedClock
) -> None:
    made = _fill(service, clock)
    good = service.requests(limit=1).next_cursor
    assert good is not None
    before = {rid: service.store.load(rid) for rid in made.values()}
    for bad in _cursor_cases(good):
        for call in (
            lambda c: service.requests(limit=1, cursor=c),
            lambda c: service.requests_of(ERIN.id, cursor=c),
            lambda c: service.queue(cursor=c),
            lambda c: service.requests(requester=ERIN.id, cursor=c),  # another query
        ):
            with pytest.raises(ValidationError) as info:
                call(bad)
            assert info.value.paths == ["cursor"], bad
    assert {rid: service.store.load(rid) for rid in made.values()} == before


@pytest.mark.parametrize("value", [0, -1, 10_001, 1.5, True, "3", None])
def test_a_limit_outside_1_to_10000_is_refused(service: FulfillmentService, value: object) -> None:
    for call in (service.requests, service.queue):
        with pytest.raises(ValidationError) as info:
            call(limit=value)
        assert info.value.paths == ["limit"]
    with pytest.raises(ValidationError) as info:
        service.requests_of(ERIN.id, limit=value)  # type: ignore[arg-type]
    assert info.value.paths == ["limit"]


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"requester": ""}, "requester"),
        ({"group": ["g"]}, "group"),
        ({"agent": 3}, "agent"),
        ({"item": "a\x00b"}, "item"),
        ({"state": "teleported"}, "state"),
        ({"opened_from": datetime(2026, 1, 1)}, "opened_from"),
        ({"opened_to": "2026-01-01"}, "opened_to"),
    ],
)
def test_bad_filters_are_refused(
    service: FulfillmentService, arguments: dict[str, Any], path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        service.requests(**arguments)
    assert info.value.paths == [path]


# -- the filters combined, on summaries written straight to a store ------------------------


_GROUPS = ("service-desk", "identity", None)
_ITEMS = ("password-reset", "iphone-15", None)
_AGENTS = ("sam.agent", None)
_REQUESTERS = ("erin.user", "max.manager")
_STATES = tuple(s.value for s in RequestState)


def _filled_store(rows: list[tuple[int, int, int, int, int, int]]) -> Store:
    store = MemoryStore(codec=False)
    for i, (minute, g, it, a, r, s) in enumerate(rows):
        summary = sample_summary(
            f"R-{i:03d}",
            group=_GROUPS[g],
            item=_ITEMS[it],
            agent=_AGENTS[a],
            requester=_REQUESTERS[r],
            state=_STATES[s],
            created_at=T0 + timedelta(minutes=minute),
        )
        store.append(summary.request_id, waiting_stream(summary.request_id, 1), 0, summary=summary)
    return store


@hypothesis.given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 6),
            st.integers(0, 2),
            st.integers(0, 2),
            st.integers(0, 1),
            st.integers(0, 1),
            st.integers(0, len(_STATES) - 1),
        ),
        max_size=25,
    ),
    filters=st.fixed_dictionaries(
        {},
        optional={
            "group": st.sampled_from(_GROUPS[:2]),
            "item": st.sampled_from(_ITEMS[:2]),
            "agent": st.sampled_from(_AGENTS[:1]),
            "requester": st.sampled_from(_REQUESTERS),
            "state": st.sampled_from(_STATES),
            "opened_from": st.integers(0, 6).map(lambda m: T0 + timedelta(minutes=m)),
            "opened_to": st.integers(0, 6).map(lambda m: T0 + timedelta(minutes=m)),
        },
    ),
    limit=st.integers(1, 7),
)
def test_pages_of_any_filters_list_what_one_scan_lists(
    rows: list[tuple[int, int, int, int, int, int]],
    filters: dict[str, Any],
    limit: int,
) -> None:
    """The service's pages (one range scan per state when a group, agent or item is
    given without a state, merged) walk exactly the matching summaries, in order.
    (``queue`` pages the same way over its states: the state machine checks it.)"""
    store = _filled_store(rows)
    service = FulfillmentService(demo_catalog(), store=store, load_entrypoints=False)
    expected = []
    for summary in store.query():
        column = {
            "group": summary.group,
            "item": summary.item,
            "agent": summary.agent,
            "requester": summary.requester,
            "state": summary.state,
        }
        if any(column[k] != v for k, v in filters.items() if k in column):
            continue
        if "opened_from" in filters and summary.created_at < filters["opened_from"]:
            continue
        if "opened_to" in filters and summary.created_at >= filters["opened_to"]:
            continue
        expected.append(summary.request_id)
    assert _walk(service.requests, limit=limit, **filters) == expected


# -- metrics from the facts rows ------------------------------------------------------------


def test_metrics_from_facts_equal_metrics_from_replays_in_a_fresh_process(
    url: str, clock: FixedClock
) -> None:
    from reqfulfill.model.enums import Priority
    from reqfulfill.sla import BusinessCalendar, EscalationLevel, SlaPolicy

    policy = SlaPolicy(
        targets={p: timedelta(hours=8) for p in Priority},
        calendar=BusinessCalendar.always(),
        escalation=(EscalationLevel(at=1.0, action="escalate"),),
        hold_notifications=False,
    )
    service = FulfillmentService(
        demo_catalog(), sla=policy, store=url, clock=clock, load_entrypoints=False
    )
    worker = Worker(service, allow_missing=True)  # no phone is ordered here
    try:
        fast = service.submit(ERIN, "password-reset", Channel.PORTAL).id
        service.claim(fast, AGENT)
        clock.advance(minutes=61)
        service.complete_task(fast, "reset", AGENT)
        service.close(fast, AGENT)
        service.record_feedback(fast, ERIN.id, 5)
        slow = service.submit(ERIN, "password-reset", Channel.PORTAL).id
        clock.advance(hours=10)
        worker.run_pending()  # breaches and escalates
        service.complete_task(slow, "reset", "lee.expert")
        service.close(slow, "lee.expert")
        service.record_feedback(slow, ERIN.id, 2)
        service.submit(MAX, "iphone-15", Channel.PORTAL)
        histories = [service.history(s.request_id) for s in service.store.query()]
        facts = [request_facts(lifecycle.replay(h), h) for h in histories]
        other = _fresh(service, url)
        for by in ("item", "group", "agent"):
            expected = metrics_rows(facts, by)  # type: ignore[arg-type]
            assert service.metrics(by=by) == expected
            assert other.metrics(by=by) == expected
        (reset,) = [r for r in service.metrics() if r.key == "password-reset"]
        assert (reset.count, reset.escalations, reset.csat, reset.sla_met_pct) == (2, 1, 3.5, 50.0)
        assert reset.fulfil_p50_h == 1.02  # 61 minutes, as the row shows hours
        since = clock.now() - timedelta(minutes=1)
        assert [r.key for r in service.metrics(since=since)] == ["iphone-15"]
        if other.store is not service.store:
            other.store.close()
    finally:
        service.store.close()


def test_metrics_by_anything_else_is_refused(service: FulfillmentService) -> None:
    with pytest.raises(ValidationError) as info:
        service.metrics(by="requester")
    assert info.value.paths == ["by"]


class _StoreBeforeStates(MemoryStore):
    """A store written before ``Store.query`` took ``states=``."""

    def query(  # type: ignore[override]
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
    ) -> list[RequestSummary]:
        return super().query(
            group=group,
            state=state,
            agent=agent,
            item=item,
            requester=requester,
            limit=limit,
            opened_from=opened_from,
            opened_to=opened_to,
            after=after,
        )


def test_pages_of_one_state_or_any_need_no_states_argument() -> None:
    # a third-party store without ``states=`` still answers every page but the ones of
    # several states (the queue's open states)
    service = FulfillmentService(demo_catalog(), store=_StoreBeforeStates(), load_entrypoints=False)
    ids = [service.submit(ERIN, "password-reset", Channel.PORTAL).id for _ in range(3)]
    service.claim(ids[1], AGENT)
    assert [s.request_id for s in service.requests(limit=2)] == ids[:2]
    assert [s.request_id for s in service.requests(state="in_fulfillment", limit=10)] == ids
    assert [s.request_id for s in service.requests_of(ERIN.id)] == ids
    assert [r.id for r in service.queue(agent=AGENT, state="in_fulfillment")] == [ids[1]]
