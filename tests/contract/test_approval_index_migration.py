"""Upgrading a database from before the index of pending approvers (issue 17) fills it
for the requests already waiting, so ``pending_approvals`` answers for them at once; the
approval flow on a PostgreSQL store reads the same in a fresh service."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reqfulfill import Channel, FixedClock, FulfillmentService, RequestState
from reqfulfill.stores._rollup import ROLLUP_UNDO
from reqfulfill.stores.postgres import PostgresStore
from reqfulfill.stores.sqlite import SCHEMA_VERSION, SQLiteStore
from reqfulfill.testing import demo_catalog, demo_requester

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _service(url: str) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store=url, clock=FixedClock(T0), load_entrypoints=False
    )


def test_upgrading_sqlite_fills_the_index_for_waiting_requests(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/rf.db"
    service = _service(url)
    waiting = service.submit(demo_requester(), "iphone-15", Channel.PORTAL)
    done = service.submit(demo_requester(), "iphone-15", Channel.PORTAL)
    service.approve(done.id, "max.manager")
    service.store.close()
    with sqlite3.connect(tmp_path / "rf.db") as db:  # as schema 4 (before issue 17) left it
        for statement in ROLLUP_UNDO:  # schema 8
            db.execute(statement)
        db.execute("DROP TABLE rf_approvals")
        db.execute("DROP TABLE rf_messages")  # schema 6, after the approvals' step 5
        db.execute("ALTER TABLE rf_request_facts DROP COLUMN source")  # schema 7
        db.execute("UPDATE rf_schema SET version = 4")
    db.close()
    store = SQLiteStore(str(tmp_path / "rf.db"))
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert [s.request_id for s in store.pending_approvals("max.manager")] == [waiting.id]
    finally:
        store.close()


@pytest.mark.postgres
def test_upgrading_postgresql_fills_the_index_for_waiting_requests(pg_url: str) -> None:
    service = _service(pg_url)
    waiting = service.submit(demo_requester(), "iphone-15", Channel.PORTAL)
    done = service.submit(demo_requester(), "iphone-15", Channel.PORTAL)
    service.approve(done.id, "max.manager")
    assert [s.request_id for s in service.pending_approvals("max.manager")] == [waiting.id]
    store = service.store
    assert isinstance(store, PostgresStore)
    with store._tx() as db:  # set the schema back to 5 (before issue 17), as it was
        for statement in ROLLUP_UNDO:  # schema 9
            db.execute(statement)
        db.execute("DROP TABLE rf_approvals")
        db.execute("DROP TABLE rf_messages")  # schema 7, after the approvals' step 6
        db.execute("ALTER TABLE rf_request_facts DROP COLUMN source")  # schema 8
        db.execute("DELETE FROM rf_schema WHERE version > 5")
    store.close()
    again = _service(pg_url)  # opening migrates
    try:
        assert [s.request_id for s in again.pending_approvals("max.manager")] == [waiting.id]
        assert again.get(waiting.id).state is RequestState.AWAITING_APPROVAL
        again.approve(waiting.id, "max.manager")
        assert again.pending_approvals("max.manager") == []
    finally:
        again.store.close()
