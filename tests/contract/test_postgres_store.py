"""What the PostgreSQL store adds to the contract: URLs, migrations, reconnects."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from reqfulfill.model.errors import ValidationError
from reqfulfill.model.events import RequestWaiting
from reqfulfill.plugins import open_store

psycopg = pytest.importorskip("psycopg")

from reqfulfill.stores.postgres import SCHEMA_VERSION, PostgresStore, split_url  # noqa: E402

pytestmark = pytest.mark.postgres

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _event(request_id: str, n: int) -> RequestWaiting:
    return RequestWaiting(
        event_id=f"{request_id}/{n}", request_id=request_id, at=T0, actor="t", reason=str(n)
    )


def _tables(pg_dsn: str, schema: str) -> set[str]:
    with psycopg.connect(pg_dsn) as db:
        rows = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {r[0] for r in rows}


def _schema_of(url: str) -> str:
    schema = split_url(url)[1]
    assert schema is not None
    return schema


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h:5432/db?schema=s1", ("postgresql://u@h:5432/db", "s1")),
        ("postgres://u@h/db?sslmode=disable&schema=x", ("postgres://u@h/db?sslmode=disable", "x")),
        ("postgresql://u:pw@h/db", ("postgresql://u:pw@h/db", None)),
    ],
)
def test_split_url(url: str, expected: tuple[str, str | None]) -> None:
    assert split_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://u@h/db?schema="])
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        split_url(url)


def test_open_store_routes_postgres_urls(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        assert isinstance(store, PostgresStore)
        assert store.schema == _schema_of(pg_url)
        assert "rf_events" in _tables(split_url(pg_url)[0], _schema_of(pg_url))
    finally:
        store.close()


def test_without_migrate_nothing_is_created_until_upgrade(pg_url: str, pg_dsn: str) -> None:
    schema = _schema_of(pg_url)
    store = PostgresStore.from_url(pg_url, migrate=False)
    try:
        assert store.schema_version() == 0
        assert _tables(pg_dsn, schema) == set()
        assert store.upgrade() == SCHEMA_VERSION
        assert store.upgrade() == SCHEMA_VERSION  # idempotent
        assert store.schema_version() == SCHEMA_VERSION
        assert {"rf_events", "rf_requests", "rf_orders", "rf_outbox", "rf_timers"} <= _tables(
            pg_dsn, schema
        )
        store.append("R-1", [_event("R-1", 1)], 0)
        assert [e.event_id for e in store.load("R-1")] == ["R-1/1"]
    finally:
        store.close()


def test_a_newer_database_is_refused(pg_url: str) -> None:
    store = PostgresStore.from_url(pg_url)
    try:
        with psycopg.connect(split_url(pg_url)[0], autocommit=True) as db:
            db.execute(
                psycopg.sql.SQL("INSERT INTO {}.rf_schema (version) VALUES (%s)").format(
                    psycopg.sql.Identifier(_schema_of(pg_url))
                ),
                (SCHEMA_VERSION + 1,),
            )
        with pytest.raises(ValidationError, match="newer than this release"):
            store.upgrade()
    finally:
        store.close()


def test_a_schema_1_store_upgrades_and_keeps_its_events(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reqfulfill.model.errors import ConcurrencyError
    from reqfulfill.stores import _base
    from reqfulfill.stores import postgres as pg

    # a store as release 0.1.0 left it: schema 1, one event written by then
    monkeypatch.setattr(pg, "SCHEMA_VERSION", 1)
    store = PostgresStore.from_url(pg_url)
    assert store.schema_version() == 1
    with store._tx() as db:  # schema 1 had no rf_check_append: write the row directly
        db.execute(
            "INSERT INTO rf_events (request_id, version, event_id, type, at, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            _base.event_rows("R-1", [_event("R-1", 1)], 0)[0],
        )
    store.close()
    monkeypatch.undo()
    store = PostgresStore.from_url(pg_url)  # opening migrates to the current schema
    try:
        assert store.schema_version() == SCHEMA_VERSION == 4
        assert store.load("R-1") == [_event("R-1", 1)]
        store.append("R-1", [_event("R-1", 2)], 1)
        with pytest.raises(ConcurrencyError) as stale:
            store.append("R-1", [_event("R-1", 2)], 1)
        assert (stale.value.expected, stale.value.actual) == (1, 2)
        with pytest.raises(ConcurrencyError) as ahead:  # a gap is refused too
            store.append("R-1", [_event("R-1", 9)], 8)
        assert ahead.value.actual == 2
        assert [e.event_id for e in store.load("R-1")] == ["R-1/1", "R-1/2"]
    finally:
        store.close()


def test_many_first_uses_at_once_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []
    start = threading.Barrier(6)

    def open_one() -> None:
        try:
            start.wait(timeout=30)
            stores.append(PostgresStore.from_url(pg_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert [s.schema_version() for s in stores] == [SCHEMA_VERSION] * 6
        with psycopg.connect(split_url(pg_url)[0]) as db:
            rows = db.execute(
                psycopg.sql.SQL("SELECT version FROM {}.rf_schema").format(
                    psycopg.sql.Identifier(_schema_of(pg_url))
                )
            ).fetchall()
        assert sorted(rows) == [(v,) for v in range(1, SCHEMA_VERSION + 1)]  # each step once
    finally:
        for store in stores:
            store.close()


def test_a_broken_connection_is_replaced(pg_url: str) -> None:
    store = PostgresStore.from_url(pg_url)
    try:
        store.append("R-1", [_event("R-1", 1)], 0)
        pid = store._db.info.backend_pid
        with psycopg.connect(split_url(pg_url)[0], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # the call that finds the connection gone runs again on a new one
        assert [e.event_id for e in store.load("R-1")] == ["R-1/1"]
        assert store._db.info.backend_pid != pid
    finally:
        store.close()


def test_closed_store_refuses_work(pg_url: str) -> None:
    store = PostgresStore.from_url(pg_url)
    store.close()
    store.close()
    with pytest.raises(ValidationError, match="closed"):
        store.load("R-1")


def test_repr_hides_the_password() -> None:
    store = PostgresStore.__new__(PostgresStore)
    store.dsn = "postgresql://u:s3cret@h/db"
    store.schema = "s"
    assert "s3cret" not in repr(store)


def test_refused_appends_leave_the_connection_clean(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # More rounds than psycopg's prepare threshold (5): statements get prepared while
    # appends fail, and every later append must still find them
    from reqfulfill.model.errors import ConcurrencyError

    store = PostgresStore.from_url(pg_url)
    try:
        store.append("R-1", [_event("R-1", 1)], 0)
        with caplog.at_level("WARNING", logger="psycopg"):
            for n in range(2, 14):
                with pytest.raises(ConcurrencyError) as stale:
                    store.append("R-1", [_event("R-1", n - 1)], n - 2)
                assert stale.value.actual == n - 1
                with pytest.raises(ConcurrencyError):  # ahead of the stream: a gap
                    store.append("R-1", [_event("R-1", n + 5)], n + 4)
                with pytest.raises(ConcurrencyError):  # no events, stale version
                    store.append("R-1", [], n - 2)
                store.append("R-1", [_event("R-1", n)], n - 1)
        # psycopg had no aborted pipeline to warn about
        assert [r.getMessage() for r in caplog.records] == []
        assert [e.event_id for e in store.load("R-1")] == [f"R-1/{n}" for n in range(1, 14)]
    finally:
        store.close()


@pytest.mark.parametrize(("option", "expected"), [("", "on"), ("&outcome_commit=off", "off")])
def test_outcome_commit_from_the_url(pg_url: str, option: str, expected: str) -> None:
    store = PostgresStore.from_url(pg_url + option)
    try:
        assert store.outcome_commit == expected
        store.append("R-1", [_event("R-1", 1)], 0)  # libpq never saw the parameter
    finally:
        store.close()


def test_an_unknown_outcome_commit_is_refused(pg_url: str) -> None:
    with pytest.raises(ValidationError, match="outcome_commit") as refused:
        PostgresStore.from_url(pg_url + "&outcome_commit=sometimes")
    assert refused.value.problems[0].value == "sometimes"


@pytest.mark.parametrize("setting", ["off", "on"])
def test_only_outcomes_relax_the_commit(
    pg_url: str, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore.from_url(pg_url + f"&outcome_commit={setting}")
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def spy(self, query, *args, **kw):  # type: ignore[no-untyped-def]
        sent.append(str(query))
        return execute(self, query, *args, **kw)

    try:
        store.append("R-1", [_event("R-1", 1)], 0)
        monkeypatch.setattr(psycopg.Connection, "execute", spy)
        store.append("R-1", [_event("R-1", 2)], 1)
        plain = list(sent)
        sent.clear()
        store.append_and_complete("R-1", [_event("R-1", 3)], 2, effect_ids=["R-1/1"], worker="w")
        relaxed = [q for q in sent if "synchronous_commit" in q]
        assert not [q for q in plain if "synchronous_commit" in q]
        assert relaxed == (["SET LOCAL synchronous_commit = off"] if setting == "off" else [])
        assert [e.event_id for e in store.load("R-1")] == ["R-1/1", "R-1/2", "R-1/3"]
    finally:
        monkeypatch.undo()
        store.close()


def test_an_append_that_fails_mid_pipeline_leaves_later_appends_working(
    pg_url: str, pg_dsn: str
) -> None:
    # The summary's row is locked elsewhere and the store gives up waiting (lock
    # timeout) while psycopg prepares the events statement (its sixth use): the
    # server skips that statement, and psycopg must not keep naming it.
    from reqfulfill.model.errors import ConcurrencyError
    from reqfulfill.testing.samples import sample_summary

    store = PostgresStore.from_url(pg_url)
    other = psycopg.connect(pg_dsn, autocommit=True)
    try:
        with pytest.raises(ConcurrencyError):  # a refused append before anything is prepared
            store.append("R-1", [_event("R-1", 5)], 4)
        for n in range(1, 6):
            store.append("R-1", [_event("R-1", n)], n - 1, summary=sample_summary("R-1"))
        other.execute(
            psycopg.sql.SQL("SET search_path TO {}").format(
                psycopg.sql.Identifier(_schema_of(pg_url))
            )
        )
        other.execute("BEGIN")
        other.execute("SELECT 1 FROM rf_requests WHERE request_id = 'R-1' FOR UPDATE")
        with store._tx(single=True) as db:
            db.execute("SET lock_timeout = '200ms'")
        with pytest.raises(ConcurrencyError):  # lock_not_available: decided again later
            store.append("R-1", [_event("R-1", 6)], 5, summary=sample_summary("R-1"))
        other.execute("ROLLBACK")
        for n in range(6, 10):
            store.append("R-1", [_event("R-1", n)], n - 1, summary=sample_summary("R-1"))
        assert [e.event_id for e in store.load("R-1")] == [f"R-1/{n}" for n in range(1, 10)]
    finally:
        other.close()
        store.close()
