"""``reqfulfill db upgrade`` gives the events of an existing database their global
positions, in the order they were recorded, and the feed goes on from there."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from reqfulfill import FulfillmentService
from reqfulfill.cli.db import upgrade
from reqfulfill.serialization import event_to_json
from reqfulfill.stores import SQLiteStore
from reqfulfill.stores import sqlite as sqlite_module
from reqfulfill.stores._base import to_micros
from reqfulfill.testing import demo_catalog
from reqfulfill.testing.samples import T0, waiting_event, waiting_stream

FIXTURE = Path(__file__).parents[1] / "data" / "stores" / "schema-v1.db"

# Three streams recorded before positions existed: B's clock went back at its second
# event, which must still come after its first.
_OLD = [
    ("A", 1, 10),
    ("B", 1, 5),
    ("B", 2, 3),
    ("A", 2, 20),
    ("C", 1, 20),
    ("B", 3, 30),
]
_ORDER = [("B", 1), ("B", 2), ("A", 1), ("A", 2), ("C", 1), ("B", 3)]


def _old_rows() -> list[tuple[str, int, str, str, int, str]]:
    rows = []
    for rid, version, seconds in _OLD:
        event = waiting_event(rid, version, "old", T0)
        at = to_micros(T0) + seconds
        rows.append((rid, version, event.event_id, event.type, at, event_to_json(event)))
    return rows


def test_the_schema_v1_fixture_upgrades_with_its_events_in_stream_order(tmp_path: Path) -> None:
    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)
    url = f"sqlite:///{copy}"
    assert upgrade(url) == sqlite_module.SCHEMA_VERSION
    service = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    try:
        (row,) = service.store.query()
        feed = service.store.read_all()
        assert [e.position for e in feed] == list(range(1, 35))
        assert [e.event for e in feed] == service.history(row.request_id)
        assert {e.request_id for e in feed} == {row.request_id}
        service.store.append("NEW-1", waiting_stream("NEW-1", 2), 0)
        assert [e.position for e in service.store.read_all(after=34)] == [35, 36]
    finally:
        service.store.close()
    assert upgrade(url) == sqlite_module.SCHEMA_VERSION  # again: nothing to do


def test_an_upgraded_sqlite_file_orders_old_events_by_when_they_were_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rf.db"
    monkeypatch.setattr(sqlite_module, "SCHEMA_VERSION", 2)
    SQLiteStore(path).close()
    monkeypatch.undo()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO rf_events (request_id, version, event_id, type, at, payload)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            _old_rows(),
        )
    db.close()
    assert upgrade(f"sqlite:///{path}") == sqlite_module.SCHEMA_VERSION
    store = SQLiteStore(path)
    try:
        feed = store.read_all()
        assert [(e.request_id, e.version) for e in feed] == _ORDER
        assert [e.position for e in feed] == list(range(1, 7))
    finally:
        store.close()


@pytest.mark.postgres
def test_an_upgraded_postgres_schema_orders_old_events_and_goes_on(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reqfulfill.stores import postgres as pg

    monkeypatch.setattr(pg, "SCHEMA_VERSION", 3)
    old = pg.PostgresStore.from_url(pg_url)
    with old._tx() as db, db.cursor() as cur:  # schema 3 had no positions: write as it did
        cur.executemany(
            "INSERT INTO rf_events (request_id, version, event_id, type, at, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            _old_rows(),
        )
    old.close()
    monkeypatch.undo()
    assert upgrade(pg_url) == pg.SCHEMA_VERSION
    store = pg.PostgresStore.from_url(pg_url)
    try:
        feed = store.read_all()
        assert [(e.request_id, e.version) for e in feed] == _ORDER
        assert [e.position for e in feed] == list(range(1, 7))
        store.append("A", waiting_stream("A", 1, start=3), 2)
        assert [(e.position, e.request_id, e.version) for e in store.read_all(after=6)] == [
            (7, "A", 3)
        ]
    finally:
        store.close()
