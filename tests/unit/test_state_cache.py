"""The service's state cache: a request's state folded earlier is brought up to date
with the events after it, and read afresh when the stream is not the one folded."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from reqfulfill import Channel, FixedClock, FulfillmentService, RequestState
from reqfulfill.stores import Store
from reqfulfill.testing import demo_catalog, demo_requester

AGENT = "sam.agent"


def _service(store: str | Store, clock: FixedClock) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        store=store,
        clock=clock,
        id_factory=lambda: "REQ-1",
        load_entrypoints=False,
    )


def test_a_store_wiped_and_refilled_is_read_afresh(tmp_path: Path) -> None:
    # a service keeps REQ-1's state; the database is wiped behind its back and REQ-1
    # played again an hour later: the same event ids and types, at the same version, but
    # not the events the cached state folded, and a read must say so
    url = "sqlite:///" + str(tmp_path / "rf.db")
    clock = FixedClock()
    first = _service(url, clock)
    rid = first.submit(demo_requester(), "password-reset", Channel.PORTAL).id
    first.complete_task(rid, "reset", AGENT)
    cached = first.get(rid)
    assert cached.state is RequestState.FULFILLED
    with sqlite3.connect(tmp_path / "rf.db") as db:
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table.startswith("rf_") and table != "rf_schema":
                db.execute(f'DELETE FROM "{table}"')  # names read from the file
    clock.advance(timedelta(hours=1))
    second = _service(url, clock)
    assert second.submit(demo_requester(), "password-reset", Channel.PORTAL).id == rid
    second.complete_task(rid, "reset", AGENT)
    refilled = second.get(rid)
    assert refilled.version == cached.version
    assert refilled != cached
    assert first.get(rid) == refilled
    assert first.history(rid) == second.history(rid)


def test_a_write_of_another_service_is_folded_in() -> None:
    clock = FixedClock()
    first = _service("memory://", clock)
    rid = first.submit(demo_requester(), "password-reset", Channel.PORTAL).id
    second = _service(first.store, clock)
    second.complete_task(rid, "reset", AGENT)
    assert first.get(rid) == second.get(rid)
    assert first.get(rid).state is RequestState.FULFILLED
    first.close(rid, AGENT)
    assert second.get(rid).state is RequestState.CLOSED


def _notifications(service: FulfillmentService, rid: str) -> list[str]:
    return [e.event_id for e in service.history(rid) if e.type == "NotificationRequested"]


def test_the_effects_a_service_appended_are_read_as_a_fresh_service_reads_them() -> None:
    clock = FixedClock()
    writer = _service("memory://", clock)
    rid = writer.submit(demo_requester(), "password-reset", Channel.PORTAL).id
    writer.complete_task(rid, "reset", AGENT)
    wanted = _notifications(writer, rid)
    assert wanted
    cached = writer.effects_of(rid, wanted)
    assert cached == _service(writer.store, clock).effects_of(rid, wanted)
    assert list(cached[1]) == wanted
    # another service writes: the cached state is brought up to date, the effects kept
    _service(writer.store, clock).close(rid, AGENT)
    state, events = writer.effects_of(rid, wanted)
    assert state.state is RequestState.CLOSED
    assert (state, events) == _service(writer.store, clock).effects_of(rid, wanted)


def test_the_effects_of_a_store_wiped_and_refilled_are_read_afresh(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "rf.db")
    clock = FixedClock()
    first = _service(url, clock)
    rid = first.submit(demo_requester(), "password-reset", Channel.PORTAL).id
    first.complete_task(rid, "reset", AGENT)
    wanted = _notifications(first, rid)
    before = first.effects_of(rid, wanted)[1]
    with sqlite3.connect(tmp_path / "rf.db") as db:
        tables = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table.startswith("rf_") and table != "rf_schema":
                db.execute(f'DELETE FROM "{table}"')  # names read from the file
    clock.advance(timedelta(hours=1))
    second = _service(url, clock)
    assert second.submit(demo_requester(), "password-reset", Channel.PORTAL).id == rid
    second.complete_task(rid, "reset", AGENT)
    assert _notifications(second, rid) == wanted
    after = first.effects_of(rid, wanted)
    assert after == second.effects_of(rid, wanted)
    assert after[1] != before  # the same ids, now an hour later
