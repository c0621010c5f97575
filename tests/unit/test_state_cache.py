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
