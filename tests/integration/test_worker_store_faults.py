"""The worker and a store that fails: an effect whose request cannot be read stays in
the outbox (retried, never given up on), unlike one whose request does not exist; and
a request's effects run in stream order, so the requester hears "closed" last."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    Notification,
    StoreError,
    Worker,
    hookimpl,
)
from reqfulfill.stores import SQLiteStore
from reqfulfill.testing import FakeSupplier, demo_catalog, demo_requester

MANAGER = "max.manager"
AGENT = "sam.agent"


class Inbox:
    def __init__(self) -> None:
        self.got: list[Notification] = []

    @hookimpl
    def reqfulfill_notify(self, notification: Notification) -> None:
        self.got.append(notification)


def _service(url: str, clock: FixedClock, *plugins: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store=url, plugins=list(plugins), clock=clock, load_entrypoints=False
    )


def _submitted(tmp_path: Path, clock: FixedClock) -> tuple[str, str]:
    """A SQLite store with one submitted request (its approval notification waits in the
    outbox); returns the store URL and the request id."""
    url = f"sqlite:///{tmp_path}/rf.db"
    service = _service(url, clock)
    request_id = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    service.store.close()
    return url, request_id


def _corrupt(url: str, request_id: str, version: int) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute(
            "UPDATE rf_events SET payload = '{garbage' WHERE request_id = ? AND version = ?",
            (request_id, version),
        )
    db.close()


def _outbox(url: str) -> list[tuple[str, int, str | None]]:
    store = SQLiteStore(url.removeprefix("sqlite:///"))
    try:
        return [(e.effect_id, e.attempts, e.last_error) for e in store.outbox()]
    finally:
        store.close()


def test_an_effect_whose_request_cannot_be_read_stays_in_the_outbox(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    url, request_id = _submitted(tmp_path, clock)
    _corrupt(url, request_id, 1)
    inbox = Inbox()
    service = _service(url, clock, inbox)
    worker = Worker(
        service, allow_missing=True, max_attempts=3, backoff=timedelta(minutes=1), seed=1
    )
    with caplog.at_level(logging.ERROR, logger="reqfulfill.worker"):
        for _ in range(6):  # twice as many runs as attempts: still never given up
            worker.run_pending()
            clock.advance(hours=2)
    ((effect_id, attempts, last_error),) = _outbox(url)
    assert effect_id == f"{request_id}/3"
    assert attempts == 6
    assert last_error is not None
    assert f"request {request_id!r} event 1" in last_error
    assert inbox.got == []
    assert "the store failed" in caplog.text
    with pytest.raises(StoreError):
        service.get(request_id)


def test_an_effect_of_a_request_that_does_not_exist_is_dropped(
    tmp_path: Path, clock: FixedClock
) -> None:
    url, request_id = _submitted(tmp_path, clock)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        db.execute("DELETE FROM rf_events WHERE request_id = ?", (request_id,))
    db.close()
    service = _service(url, clock)
    assert Worker(service, allow_missing=True).run_pending() == 1
    assert _outbox(url) == []


def test_the_effect_runs_once_the_stored_event_is_repaired(
    tmp_path: Path, clock: FixedClock
) -> None:
    url, request_id = _submitted(tmp_path, clock)
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (good,) = db.execute(
            "SELECT payload FROM rf_events WHERE request_id = ? AND version = 1", (request_id,)
        ).fetchone()
    db.close()
    _corrupt(url, request_id, 1)
    inbox = Inbox()
    worker = Worker(_service(url, clock, inbox), seed=1, allow_missing=True)
    worker.run_pending()
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE rf_events SET payload = ? WHERE request_id = ? AND version = 1",
            (good, request_id),
        )
    db.close()
    clock.advance(hours=2)
    worker.run_pending()
    assert [n.kind for n in inbox.got] == ["approval_requested"]
    assert _outbox(url) == []


def test_a_timer_stays_when_its_request_cannot_be_read(tmp_path: Path, clock: FixedClock) -> None:
    url, request_id = _submitted(tmp_path, clock)
    service = _service(url, clock)
    service.store.set_timers(request_id, {"sla": clock.now()})
    _corrupt(url, request_id, 1)
    Worker(service, allow_missing=True, seed=1).run_pending()
    assert [(t.request_id, t.key) for t in service.store.due_timers(clock.now())] == [
        (request_id, "sla")
    ]


def test_a_requests_notifications_go_out_in_stream_order(store_url: str, clock: FixedClock) -> None:
    # a password reset asks for "fulfilled" at position 9 and "closed" at 11; as text
    # "…/11" sorts before "…/9", and the requester would hear "closed" first
    inbox = Inbox()
    service = _service(store_url, clock, inbox, FakeSupplier("acme-mobile"))
    request_id = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
    service.complete_task(request_id, "reset", AGENT)
    service.close(request_id, AGENT)
    wanted = [e.event_id for e in service.history(request_id) if e.type == "NotificationRequested"]
    assert [int(i.rpartition("/")[2]) for i in wanted] == [9, 11]
    Worker(service, allow_missing=True, seed=1).run_pending()
    assert [n.key for n in inbox.got] == wanted
    assert [n.kind for n in inbox.got] == ["request_fulfilled", "request_closed"]
