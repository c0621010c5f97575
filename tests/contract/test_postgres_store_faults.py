"""What the PostgreSQL store does when the server or the connection fails: one
``StoreError`` naming the URL (never its password) and what failed, one more try
when the connection dropped, and the URL's ``connect_timeout`` honoured."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from reqfulfill import ConcurrencyError, StoreError, ValidationError
from reqfulfill.stores import Store
from reqfulfill.testing.samples import T0, notification_event, waiting_stream

psycopg = pytest.importorskip("psycopg")

from reqfulfill.stores.postgres import (  # noqa: E402
    DEFAULT_CONNECT_TIMEOUT,
    SCHEMA_VERSION,
    PostgresStore,
    split_url,
)


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    opened = PostgresStore.from_url(pg_url)
    try:
        yield opened
    finally:
        opened.close()


def _kill_backend(store: PostgresStore, pg_dsn: str) -> int:
    """Terminate the store's server process from another connection; return its pid."""
    pid: int = store._db.info.backend_pid
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return pid


def _with_password(url: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user or 'postgres'}:{password}@{host}"


# -- cannot connect ----------------------------------------------------------------------


def test_an_unreachable_server_is_a_store_error_without_the_password() -> None:
    url = "postgresql://rf:s3cret-pw@127.0.0.1:1/itsm?connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        PostgresStore.from_url(url)
    err = caught.value
    assert err.operation == "connect"
    assert err.url == "postgresql://rf:***@127.0.0.1:1/itsm?connect_timeout=2"
    assert "s3cret-pw" not in str(err)
    assert "s3cret-pw" not in repr(err)
    assert "OperationalError" in str(err)  # what the driver said, by name
    assert isinstance(err.__cause__, psycopg.OperationalError)


@pytest.mark.postgres
def test_a_missing_database_is_a_store_error(pg_dsn: str) -> None:
    base = split_url(pg_dsn)[0]
    parts = base.rsplit("/", 1)
    url = _with_password(parts[0], "hunter2-secret") + "/rf_no_such_database"
    with pytest.raises(StoreError, match="rf_no_such_database") as caught:
        PostgresStore.from_url(url)
    assert caught.value.operation == "connect"
    assert "hunter2-secret" not in str(caught.value)


def test_a_password_in_a_connection_string_is_masked() -> None:
    dsn = "host=127.0.0.1 port=1 dbname=itsm password=s3cret-pw connect_timeout=2"
    with pytest.raises(StoreError) as caught:
        PostgresStore(dsn)
    assert "s3cret-pw" not in str(caught.value)
    assert "password=***" in caught.value.url


# -- connect_timeout ---------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a hung server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_connect_timeout_in_the_url_is_honoured(silent_server: int) -> None:
    url = f"postgresql://rf:pw@127.0.0.1:{silent_server}/itsm?connect_timeout=1&sslmode=disable"
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        PostgresStore.from_url(url)
    waited = time.monotonic() - started
    assert caught.value.operation == "connect"
    assert 0.9 <= waited < DEFAULT_CONNECT_TIMEOUT / 2, waited


def test_the_connect_timeout_is_passed_to_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def refuse(dsn: str, **kwargs: Any) -> None:
        seen.append(kwargs)
        raise psycopg.OperationalError("no server here")

    monkeypatch.setattr(psycopg, "connect", refuse)
    for url, expected in [
        ("postgresql://u@h/db?connect_timeout=3", 3),
        ("postgresql://u@h/db", DEFAULT_CONNECT_TIMEOUT),
    ]:
        with pytest.raises(StoreError):
            PostgresStore.from_url(url)
        assert seen.pop()["connect_timeout"] == expected
    with pytest.raises(StoreError):
        PostgresStore("postgresql://u@h/db?connect_timeout=3", connect_timeout=7)
    assert seen.pop()["connect_timeout"] == 7  # the caller's word wins


@pytest.mark.parametrize(
    "url",
    ["postgresql://rf:s3cret-pw@h/db?schema=", "postgresql://rf:s3cret-pw@h/db?connect_timeout=x"],
)
def test_a_refused_url_does_not_show_its_password(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        PostgresStore.from_url(url)
    assert "s3cret-pw" not in str(caught.value)


def test_a_connect_timeout_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValidationError, match="connect_timeout"):
        PostgresStore.from_url("postgresql://u@h/db?connect_timeout=soon")


# -- the connection drops --------------------------------------------------------------

_COMMANDS: dict[str, Callable[[Store], object]] = {
    "load": lambda s: s.load("R-1"),
    "load_after": lambda s: s.load_after("R-1", 1),
    "append": lambda s: s.append("R-1", waiting_stream("R-1", 1, start=3), 2),
    "append_and_complete": lambda s: s.append_and_complete(
        "R-1", [], 2, effect_ids=["R-1/9"], worker="w"
    ),
    "query": lambda s: s.query(),
    "find_order": lambda s: s.find_order("acme", "PO-1"),
    "claim_effects": lambda s: s.claim_effects(T0, worker="w", lease=timedelta(minutes=1)),
    "complete_effect": lambda s: s.complete_effect("R-1/9", worker="w"),
    "retry_effect": lambda s: s.retry_effect("R-1/9", worker="w", available_at=T0, error="x"),
    "set_timers": lambda s: s.set_timers("R-1", {"sla": T0}),
    "due_timers": lambda s: s.due_timers(T0),
}


@pytest.mark.postgres
@pytest.mark.parametrize("command", sorted(_COMMANDS))
def test_a_command_after_the_backend_was_killed_succeeds(
    store: PostgresStore, pg_dsn: str, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    store.append("R-1", waiting_stream("R-1", 2), 0)
    pid = _kill_backend(store, pg_dsn)
    _COMMANDS[command](store)
    assert store._db.info.backend_pid != pid
    assert "the connection dropped" in caplog.text
    assert len(store.load("R-1")) == (3 if command == "append" else 2)


@pytest.mark.postgres
def test_an_append_retried_after_its_commit_gets_a_concurrency_error(
    store: PostgresStore, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the connection drops after the server committed the append but before the store
    # heard so: the second try finds its own events and says "decide again"
    store.append("R-1", waiting_stream("R-1", 1), 0)
    pipelined = PostgresStore._pipelined
    calls = 0

    def commit_then_drop(self: PostgresStore, db: Any) -> Iterator[Any]:
        nonlocal calls
        calls += 1
        yield from pipelined(self, db)
        if calls == 1:
            _kill_backend(self, pg_dsn)
            db.execute("SELECT 1")  # the lost answer: fails on the dead connection

    monkeypatch.setattr(PostgresStore, "_pipelined", commit_then_drop)
    with pytest.raises(ConcurrencyError) as caught:
        store.append("R-1", waiting_stream("R-1", 1, start=2), 1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert calls == 2  # the first try committed, the second found its events there
    monkeypatch.undo()
    assert [e.event_id for e in store.load("R-1")] == ["R-1/1", "R-1/2"]


@pytest.mark.postgres
def test_when_the_server_stays_away_the_second_try_is_a_store_error(
    store: PostgresStore, pg_dsn: str
) -> None:
    store.append("R-1", waiting_stream("R-1", 1), 0)
    _kill_backend(store, pg_dsn)
    store.dsn = "postgresql://rf:s3cret-pw@127.0.0.1:1/none?connect_timeout=2"  # gone for good
    with pytest.raises(StoreError) as caught:
        store.load("R-1")
    assert caught.value.operation == "connect"
    assert "s3cret-pw" not in str(caught.value)


@pytest.mark.postgres
def test_a_server_error_that_is_no_dropped_connection_is_not_retried(
    store: PostgresStore, pg_dsn: str
) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL("DROP TABLE {}.rf_timers").format(psycopg.sql.Identifier(store.schema))
        )
    with pytest.raises(StoreError, match="rf_timers") as caught:
        store.due_timers(T0)
    assert caught.value.operation == "due_timers"
    assert isinstance(caught.value.__cause__, psycopg.errors.UndefinedTable)


# -- stored events that do not decode ---------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("payload", "cause"),
    [("{not json", ValueError), ('{"type": "NoSuchEvent", "v": 1}', ValidationError)],
    ids=["garbage", "unknown type"],
)
def test_a_stored_event_that_does_not_decode_names_request_and_position(
    store: PostgresStore, pg_dsn: str, payload: str, cause: type[Exception]
) -> None:
    store.append("R-1", waiting_stream("R-1", 3), 0)
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL(
                "UPDATE {}.rf_events SET payload = %s WHERE request_id = 'R-1' AND version = 2"
            ).format(psycopg.sql.Identifier(store.schema)),
            (payload,),
        )
    for read in (lambda: store.load("R-1"), lambda: store.load_after("R-1", 1)):
        with pytest.raises(StoreError) as caught:
            read()
        assert (caught.value.request_id, caught.value.position) == ("R-1", 2)
        assert isinstance(caught.value.__cause__, cause)
    assert [e.event_id for e in store.load_after("R-1", 2)] == ["R-1/3"]


# -- stream order of effects in a database of schema 2 -----------------------------------


@pytest.mark.postgres
def test_upgrading_schema_2_orders_waiting_effects_by_stream_position(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reqfulfill.stores import postgres as pg

    monkeypatch.setattr(pg, "SCHEMA_VERSION", 2)
    old = PostgresStore.from_url(pg_url)
    events = [notification_event("R-1", n) for n in range(1, 13)]
    with old._tx() as db:  # schema 2 had no version column: write as it did
        db.execute(
            "INSERT INTO rf_events (request_id, version, event_id, type, at, payload)"
            " SELECT 'R-1', n, 'R-1/' || n, 'NotificationRequested', 0, '{}'"
            " FROM generate_series(1, 12) AS n"
        )
        db.execute(
            "INSERT INTO rf_outbox (effect_id, request_id, kind, available_at)"
            " SELECT 'R-1/' || n, 'R-1', 'NotificationRequested', 0"
            " FROM generate_series(1, 12) AS n"
        )
    old.close()
    monkeypatch.undo()
    store = PostgresStore.from_url(pg_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        wanted = [e.event_id for e in events]
        assert [e.effect_id for e in store.outbox()] == wanted
        claimed = store.claim_effects(T0, worker="w", lease=timedelta(minutes=1), limit=100)
        assert [c.effect_id for c in claimed] == wanted
    finally:
        store.close()


@pytest.mark.postgres
def test_a_url_option_with_a_space_reaches_the_server(pg_url: str, pg_dsn: str) -> None:
    # libpq decodes %20 in a URL, not "+": an option such as "-c name=value" (a space)
    # survives the store's own parameters being taken out of the URL
    options = "options=-c%20application_name%3Drf-space-test"
    url = pg_url + ("&" if "?" in pg_url else "?") + options
    assert "%20" in split_url(url)[0]
    store = PostgresStore.from_url(url)
    try:
        assert store.load("REQ-NONE") == []  # connected
        with psycopg.connect(pg_dsn) as other:
            names = other.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                ("rf-space-test",),
            ).fetchone()
        assert names is not None
        assert names[0] >= 1
    finally:
        store.close()
