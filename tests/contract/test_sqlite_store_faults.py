"""What the SQLite store does with files it cannot use as they are: each fault is one
``StoreError`` naming the file and what failed, never a raw ``sqlite3`` error."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from reqfulfill import StoreError, ValidationError
from reqfulfill.plugins import open_store
from reqfulfill.stores import SQLiteStore
from reqfulfill.stores.sqlite import SCHEMA_VERSION
from reqfulfill.testing.samples import T0, notification_event, waiting_stream

FIXTURE = Path(__file__).parents[1] / "data" / "stores" / "schema-v1.db"


def _filled(path: Path) -> None:
    """A store at ``path`` holding one request's two events, closed again."""
    store = SQLiteStore(path)
    store.append("R-1", waiting_stream("R-1", 2), 0)
    store.close()


@pytest.fixture
def read_only_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ro.db"
    _filled(path)
    path.chmod(0o444)
    yield path
    path.chmod(0o644)


# -- files that are no store ----------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [os.urandom(4096), b"hello, not a database\n" * 200],
    ids=["random bytes", "text"],
)
def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        SQLiteStore(path)
    err = caught.value
    assert (err.url, err.operation) == (f"sqlite:///{path}", "open")
    assert "not a database" in str(err)
    assert isinstance(err.__cause__, sqlite3.DatabaseError)
    assert path.read_bytes() == content  # nothing written into it


def test_a_corrupt_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    store = SQLiteStore(path)
    for n in range(40):
        store.append(f"R-{n}", waiting_stream(f"R-{n}", 20), 0)
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data), page):  # every page but the schema's
        data[offset : offset + 100] = b"\xff" * 100
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="malformed") as caught:
        SQLiteStore(path)  # reading the schema version finds the damage
    assert str(path) in caught.value.url
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


def test_a_database_of_another_application_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO customers (name) VALUES ('Acme')")
    db.close()
    with pytest.raises(StoreError, match="not a reqfulfill store") as caught:
        open_store(f"sqlite:///{path}")
    assert "customers" in str(caught.value)
    assert caught.value.operation == "open"
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert tables == {"customers"}  # no rf_ table was created in it


def test_an_empty_database_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    store = SQLiteStore(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.load("R-1") == []
    finally:
        store.close()


def test_a_folder_that_cannot_be_made_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    with pytest.raises(StoreError, match="cannot create its folder") as caught:
        SQLiteStore(blocker / "sub" / "rf.db")
    assert caught.value.operation == "open"
    assert isinstance(caught.value.__cause__, OSError)


# -- read-only files --------------------------------------------------------------------


def test_a_file_without_write_permission_opens_read_only(read_only_file: Path) -> None:
    before = read_only_file.read_bytes()
    store = SQLiteStore(read_only_file)
    try:
        assert store.read_only
        assert store.upgrade() == SCHEMA_VERSION  # nothing to do: no write
        assert store.load("R-1") == waiting_stream("R-1", 2)
        assert store.query() == []
        assert store.due_timers(T0) == []
        with pytest.raises(StoreError, match="read-only") as caught:
            store.append("R-1", waiting_stream("R-1", 1, start=3), 2)
        assert (caught.value.operation, caught.value.request_id) == ("append", "R-1")
        with pytest.raises(StoreError, match="read-only"):
            store.claim_effects(T0, worker="w", lease=timedelta(minutes=1))
        with pytest.raises(StoreError, match="read-only"):
            store.set_timers("R-1", {"sla": T0})
    finally:
        store.close()
    assert read_only_file.read_bytes() == before
    assert stat.S_IMODE(read_only_file.stat().st_mode) == 0o444


def test_a_read_only_file_of_an_older_schema_is_read_without_migrating(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    shutil.copyfile(FIXTURE, path)
    path.chmod(0o444)
    try:
        store = open_store(f"sqlite:///{path}")
        try:
            assert isinstance(store, SQLiteStore)
            assert store.schema_version() == 1  # not migrated
            with pytest.raises(StoreError, match="read-only at schema 1"):
                store.upgrade()
            (summary,) = store.query()
            assert len(store.load(summary.request_id)) == 34
        finally:
            store.close()
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == FIXTURE.read_bytes()


def test_mode_ro_in_the_url_opens_read_only(tmp_path: Path) -> None:
    path = tmp_path / "rf.db"
    _filled(path)
    store = open_store(f"sqlite:///{path}?mode=ro")
    try:
        assert [e.event_id for e in store.load("R-1")] == ["R-1/1", "R-1/2"]
        with pytest.raises(StoreError, match="read-only"):
            store.append("R-2", waiting_stream("R-2", 1), 0)
    finally:
        store.close()
    assert open_store(f"sqlite:///{path}").load("R-2") == []


def test_mode_ro_of_a_missing_file_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{tmp_path}/missing.db?mode=ro")
    assert caught.value.operation == "open"
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize("query", ["mode=rwc", "cache=shared", "mode=ro&x=1"])
def test_other_url_parameters_are_refused(tmp_path: Path, query: str) -> None:
    with pytest.raises(ValidationError, match="mode=ro"):
        open_store(f"sqlite:///{tmp_path}/rf.db?{query}")


# -- stored events that do not decode --------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "cause"),
    [
        ("{not json", json.JSONDecodeError),
        ('{"type": "NoSuchEvent", "v": 1}', ValidationError),
        ('"text"', ValueError),
        ("17", TypeError),
    ],
    ids=["garbage", "unknown type", "a string", "a number"],
)
def test_a_stored_event_that_does_not_decode_names_request_and_position(
    tmp_path: Path, payload: str, cause: type[Exception]
) -> None:
    path = tmp_path / "rf.db"
    store = SQLiteStore(path)
    store.append("R-1", waiting_stream("R-1", 3), 0)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE rf_events SET payload = ? WHERE request_id = 'R-1' AND version = 2", (payload,)
        )
    db.close()
    store = SQLiteStore(path)
    try:
        for read in (lambda: store.load("R-1"), lambda: store.load_after("R-1", 1)):
            with pytest.raises(StoreError) as caught:
                read()
            err = caught.value
            assert (err.request_id, err.position) == ("R-1", 2)
            assert "request 'R-1' event 2" in str(err)
            assert isinstance(err.__cause__, cause)
        assert [e.event_id for e in store.load_after("R-1", 2)] == ["R-1/3"]  # after it: read
    finally:
        store.close()


# -- stream order of effects in a database of the first schema ---------------------------


def test_upgrading_a_schema_1_file_orders_its_waiting_effects_by_stream_position(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.db"
    shutil.copyfile(FIXTURE, path)
    with sqlite3.connect(path) as db:
        effects = db.execute(
            "SELECT event_id, request_id, type FROM rf_events"
            " WHERE type IN ('NotificationRequested', 'SupplierOrderRequested')"
        ).fetchall()
        db.executemany(
            "INSERT INTO rf_outbox (effect_id, request_id, kind, available_at) VALUES (?, ?, ?, 0)",
            effects,
        )
    db.close()
    ids = [effect_id for effect_id, _, _ in effects]
    by_position = sorted(ids, key=lambda i: int(i.rpartition("/")[2]))
    assert sorted(ids) != by_position  # "…/12" sorts before "…/3" as text
    store = SQLiteStore(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION == 3
        assert [e.effect_id for e in store.outbox()] == by_position
        claimed = store.claim_effects(T0, worker="w", lease=timedelta(minutes=1), limit=100)
        assert [c.effect_id for c in claimed] == by_position
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM rf_schema").fetchall() == [(3,)]
    db.close()


def test_the_schema_table_holds_one_row_the_version(tmp_path: Path) -> None:
    # a release of schema 1 read the first row of rf_schema and refused a version above
    # 1: with one row, an older process refuses the file rather than writing effects
    # without their positions
    path = tmp_path / "rf.db"
    _filled(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM rf_schema").fetchone() == (SCHEMA_VERSION,)
    db.close()


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rf.db"
    _filled(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE rf_schema SET version = ?", (SCHEMA_VERSION + 1,))
    db.close()
    with pytest.raises(ValidationError, match="newer than this release"):
        SQLiteStore(path)


def test_effects_of_one_append_are_listed_in_stream_order(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "rf.db")
    try:
        events = [notification_event("R-1", n) for n in range(1, 13)]
        store.append("R-1", events, 0)
        assert [e.effect_id for e in store.outbox()] == [e.event_id for e in events]
    finally:
        store.close()


def test_programming_errors_are_not_turned_into_store_errors(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "rf.db")
    try:
        with pytest.raises(AttributeError):
            store.append("R-1", [object()], 0)  # type: ignore[list-item]
    finally:
        store.close()


_OPENED: list[list[sqlite3.Connection]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    # Python's documented audit event hands over every sqlite3 connection opened
    if event == "sqlite3.connect/handle" and _OPENED and isinstance(args[0], sqlite3.Connection):
        _OPENED[-1].append(args[0])


@pytest.mark.parametrize(
    ("query", "level"), [("", 1), ("?synchronous=full", 2), ("?synchronous=extra", 3)]
)
def test_the_synchronous_level_comes_from_the_url(tmp_path: Path, query: str, level: int) -> None:
    # PRAGMA synchronous reads 1 for NORMAL, 2 for FULL, 3 for EXTRA, per connection
    if not getattr(_audit, "added", False):
        sys.addaudithook(_audit)
        _audit.added = True  # type: ignore[attr-defined]
    _OPENED.append([])
    try:
        store = open_store(f"sqlite:///{tmp_path}/s.db{query}")
    finally:
        opened = _OPENED.pop()
    assert isinstance(store, SQLiteStore)
    assert [c.execute("PRAGMA synchronous").fetchone()[0] for c in opened] == [level]
    assert store.synchronous == {1: "normal", 2: "full", 3: "extra"}[level]
    store.close()


@pytest.mark.parametrize("value", ["off", "FULL", "2", ""])
def test_an_unknown_synchronous_level_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValidationError, match="synchronous"):
        open_store(f"sqlite:///{tmp_path}/s.db?synchronous={value}")
    assert not (tmp_path / "s.db").exists()
