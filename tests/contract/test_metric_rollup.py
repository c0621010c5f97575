"""All-time metric tallies come from the rollup on the SQL stores (issue 20): they equal
the tallies of a scan of the facts rows (a window covering all time) after any appends
and rebuilds, on memory://, SQLite and PostgreSQL; an append landing between a
catch-up's read and its mark leaves its row for the next catch-up; a store upgraded
from the schema before the rollup answers the same metrics; a read-only SQLite store,
and a PostgreSQL reader that may not write (read-only transactions, a role with only
SELECT), with changes not rolled up answer from the scan."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import attrs
import pytest

from reqfulfill import Channel, FixedClock, FulfillmentService, open_store
from reqfulfill.cli.db import upgrade
from reqfulfill.stores import MetricFacts, MetricsTally, RequestSummary, Store
from reqfulfill.stores import postgres as pg_module
from reqfulfill.stores import sqlite as sqlite_module
from reqfulfill.stores._rollup import DIRTY_PROBE, ROLLUP_UNDO
from reqfulfill.stores.postgres import PostgresStore
from reqfulfill.stores.sqlite import SQLiteStore
from reqfulfill.stores.sqlite_rollup import catch_up as sqlite_catch_up
from reqfulfill.testing import demo_catalog, demo_requester
from reqfulfill.testing.samples import T0, sample_summary, waiting_stream

DIMENSIONS = ("item", "group", "agent")
ALL_TIME = {"since": datetime(1970, 1, 2, tzinfo=UTC), "until": datetime(2999, 1, 1, tzinfo=UTC)}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/rf.db"
    found: str = request.getfixturevalue("pg_url")
    return found


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = open_store(url)
    try:
        yield opened
    finally:
        opened.close()


def _by_key(tallies: list[MetricsTally]) -> dict[str | None, MetricsTally]:
    return {t.key: t for t in tallies}


def _assert_rollup_equals_scan(store: Store) -> None:
    for by in DIMENSIONS:
        assert _by_key(store.metric_tallies(by)) == _by_key(store.metric_tallies(by, **ALL_TIME))


def _random_summary(rng: random.Random, request_id: str, created: datetime) -> RequestSummary:
    closed = rng.random() < 0.5
    fulfilled = closed or rng.random() < 0.3
    return sample_summary(
        request_id,
        state="closed" if closed else rng.choice(["in_fulfillment", "waiting", "fulfilled"]),
        item=rng.choice(["phone", "laptop", None]),
        group=rng.choice(["desk", "l2", None]),
        agent=rng.choice(["sam", "lee", "kim", None]),
        created_at=created,
        facts=MetricFacts(
            assign_ch=rng.choice([None, rng.randrange(50)]),
            fulfil_ch=rng.randrange(500) if fulfilled else None,
            sla_met=rng.choice([None, True, False]),
            rating=rng.choice([None, 1, 4, 5]),
            escalations=rng.choice([0, 0, 1]),
            surveyed=rng.choice([None, True, False]),
            source=rng.choice([None, "stock", "supplier", "mixed"]) if fulfilled else None,
        ),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_all_time_tallies_equal_the_scan_after_any_appends(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    for step in range(80):
        rid = f"R-{rng.randrange(12)}"
        created = T0 + timedelta(hours=int(rid[2:]))
        version = versions.get(rid, 0)
        store.append(
            rid,
            waiting_stream(rid, 1, start=version + 1),
            version,
            summary=_random_summary(rng, rid, created),
        )
        versions[rid] = version + 1
        if step % 7 == 0:  # catch-ups now and then, between appends
            _assert_rollup_equals_scan(store)
    _assert_rollup_equals_scan(store)
    assert sum(t.count for t in store.metric_tallies("agent")) == len(versions)


def _dirty(store: Store) -> bool:
    if isinstance(store, SQLiteStore):
        return store._db.execute(DIRTY_PROBE).fetchone() is not None
    assert isinstance(store, PostgresStore)
    with store._tx(single=True) as db:
        return db.execute(DIRTY_PROBE).fetchone() is not None


def _put(store: Store, summary: RequestSummary, version: int) -> None:
    events = waiting_stream(summary.request_id, 1, start=version + 1)
    store.append(summary.request_id, events, version, summary=summary)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_rebuilt_facts_are_rolled_up_again(kind: str, request: pytest.FixtureRequest) -> None:
    url = (
        request.getfixturevalue("pg_url")
        if kind == "postgresql"
        else f"sqlite:///{request.getfixturevalue('tmp_path')}/rf.db"
    )
    store = open_store(url)
    try:
        _put(store, sample_summary("F-1", facts=MetricFacts(assign_ch=3)), 0)
        assert _dirty(store)
        (tally,) = store.metric_tallies("item")  # caught up
        assert not _dirty(store)
        assert store.rebuild_facts("F-1", 1, MetricFacts(assign_ch=10, escalations=2))
        assert _dirty(store)
        (tally,) = store.metric_tallies("item")
        assert (tally.assign, tally.escalations) == (((10, 1),), 2)
        assert not _dirty(store)
    finally:
        store.close()


def test_an_append_between_a_sqlite_catch_ups_read_and_mark_stays_dirty(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "rf.db")
    try:
        _put(store, sample_summary("C-1", item="phone", facts=MetricFacts(fulfil_ch=5)), 0)
        _put(store, sample_summary("C-2", item="phone"), 0)
        store.roll_up_facts()  # the first catch-up builds the rollup in bulk
        _put(store, sample_summary("C-1", item="laptop", facts=MetricFacts(fulfil_ch=7)), 1)

        def append_meanwhile() -> None:
            # what an append of another connection does to the facts row (SQLite's write
            # lock keeps one out for real: the catch-up holds it)
            store._db.execute(
                "UPDATE rf_request_facts SET item = 'tablet', fulfil_ch = 9, rolled = 0,"
                " seq = seq + 1 WHERE request_id = 'C-1'"
            )

        assert sqlite_catch_up(store._db, store._tx, between=append_meanwhile) == 1
        assert _dirty(store)  # the row read was not the row left: not marked
        tallies = _by_key(store.metric_tallies("item"))
        assert {k: t.count for k, t in tallies.items()} == {"phone": 1, "tablet": 1}
        assert tallies["tablet"].fulfil == ((9, 1),)
        assert not _dirty(store)
        _assert_rollup_equals_scan(store)
    finally:
        store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("isolation", [None, "serializable"])
def test_an_append_between_a_postgresql_catch_ups_read_and_mark_stays_dirty(
    pg_url: str, isolation: str | None
) -> None:
    from reqfulfill.stores.postgres_rollup import catch_up

    if isolation is not None:  # a server or role whose transactions default to another level
        pg_url += "&options=" + quote(f"-cdefault_transaction_isolation={isolation}")
    store = PostgresStore.from_url(pg_url)
    other = PostgresStore.from_url(pg_url)  # another connection: a concurrent writer
    try:
        _put(store, sample_summary("C-1", item="phone", facts=MetricFacts(fulfil_ch=5)), 0)
        _put(store, sample_summary("C-2", item="phone"), 0)
        store.roll_up_facts()
        _put(store, sample_summary("C-1", item="laptop", facts=MetricFacts(fulfil_ch=7)), 1)

        def append_meanwhile() -> None:  # commits while the catch-up's transaction is open
            summary = sample_summary("C-1", item="tablet", facts=MetricFacts(fulfil_ch=9))
            _put(other, summary, 2)

        assert catch_up(store._tx, store._rollup_lock(), between=append_meanwhile) == 1
        assert _dirty(store)
        tallies = _by_key(store.metric_tallies("item"))
        assert {k: t.count for k, t in tallies.items()} == {"phone": 1, "tablet": 1}
        assert tallies["tablet"].fulfil == ((9, 1),)
        assert not _dirty(store)
        _assert_rollup_equals_scan(store)
        _assert_rollup_equals_scan(other)  # and another store reads the same rollup
    finally:
        other.close()
        store.close()


def _requests(url: str) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    service = FulfillmentService(demo_catalog(), store=url, clock=clock, load_entrypoints=False)
    try:
        for n in range(6):
            rid = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
            clock.advance(timedelta(minutes=20 * (n + 1)))
            if n % 2:
                service.claim(rid, "sam.agent")
                service.complete_task(rid, "reset", "sam.agent")
    finally:
        service.store.close()


def _downgrade(url: str) -> None:
    """Set a store back to the schema before the rollup's step."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for statement in ROLLUP_UNDO:
                db.execute(statement)
            db.execute("UPDATE rf_schema SET version = ?", (sqlite_module.SCHEMA_VERSION - 1,))
        db.close()
        return
    import psycopg
    from psycopg import sql

    dsn, schema = pg_module.split_url(url)
    assert schema is not None
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in ROLLUP_UNDO:
            db.execute(statement)  # constant text
        db.execute("DELETE FROM rf_schema WHERE version >= %s", (pg_module.SCHEMA_VERSION,))


def _metrics(url: str) -> dict[str, Any]:
    service = FulfillmentService(demo_catalog(), store=url, load_entrypoints=False)
    try:
        return {by: service.metrics(by=by) for by in DIMENSIONS}
    finally:
        service.store.close()


@pytest.mark.parametrize("db_upgrade", [True, False])
def test_a_store_upgraded_from_before_the_rollup_gives_the_same_metrics(
    url: str, db_upgrade: bool
) -> None:
    if url == "memory://":
        pytest.skip("nothing to upgrade in memory")
    _requests(url)
    before = _metrics(url)
    assert before["agent"][0].count > 0
    _downgrade(url)
    if db_upgrade:  # builds the rollup ahead: nothing left to catch up
        upgrade(url)
        store = open_store(url)
        try:
            assert not _dirty(store)
        finally:
            store.close()
    assert _metrics(url) == before  # else the first metrics call builds it
    store = open_store(url)
    try:
        assert not _dirty(store)
        _assert_rollup_equals_scan(store)
    finally:
        store.close()


def test_a_read_only_sqlite_store_with_changes_not_rolled_up_answers_from_the_scan(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rf.db"
    store = SQLiteStore(path)
    try:
        _put(store, sample_summary("O-1", facts=MetricFacts(fulfil_ch=4)), 0)
        store.metric_tallies("item")  # rolled up
        _put(store, attrs.evolve(sample_summary("O-1"), item="laptop"), 1)  # not yet
    finally:
        store.close()
    reader = SQLiteStore(path, read_only=True)
    try:
        (tally,) = reader.metric_tallies("item")
        assert (tally.key, tally.count, tally.fulfil) == ("laptop", 1, ())
    finally:
        reader.close()
    writer = SQLiteStore(path)
    try:
        assert writer.roll_up_facts() == 1
    finally:
        writer.close()
    with sqlite3.connect(path) as db:  # marked, to tell which one the reader reads
        db.execute("UPDATE rf_metric_rollup SET escalations = 7 WHERE dim = 'item'")
    db.close()
    reader = SQLiteStore(path, read_only=True)
    try:
        (tally,) = reader.metric_tallies("item")  # clean: the rollup
        assert (tally.key, tally.count, tally.escalations) == ("laptop", 1, 7)
    finally:
        reader.close()
    _downgrade(f"sqlite:///{path}")  # a file from before the rollup, opened read-only
    reader = SQLiteStore(path, read_only=True)
    try:
        (tally,) = reader.metric_tallies("item")
        assert (tally.key, tally.count, tally.escalations) == ("laptop", 1, 0)
    finally:
        reader.close()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "how", ["read-only transactions", "a role that may only read", "a role that may also insert"]
)
def test_a_postgresql_reader_that_may_not_write_the_rollup_answers_from_the_scan(
    pg_url: str, pg_dsn: str, how: str
) -> None:
    import psycopg
    from psycopg import sql

    store = PostgresStore.from_url(pg_url)
    try:
        _put(store, sample_summary("O-1", facts=MetricFacts(fulfil_ch=4)), 0)
        store.metric_tallies("item")  # rolled up
        _put(store, attrs.evolve(sample_summary("O-1"), item="laptop"), 1)  # not yet
        schema = store.schema
    finally:
        store.close()
    assert schema is not None
    role = f"rf_reader_{schema}"
    if how == "read-only transactions":
        reader_url = pg_url + "&options=" + quote("-cdefault_transaction_read_only=on")
    else:
        with psycopg.connect(pg_dsn, autocommit=True) as db:
            db.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            names = {"s": sql.Identifier(schema), "r": sql.Identifier(role)}
            db.execute(sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}").format(**names))
            db.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}").format(**names))
            if how == "a role that may also insert":  # some of what a catch-up needs, not all
                grant = "GRANT INSERT ON ALL TABLES IN SCHEMA {s} TO {r}"
                db.execute(sql.SQL(grant).format(**names))
        parts = urlsplit(pg_url)
        host = parts.netloc.rpartition("@")[2]
        reader_url = urlunsplit(parts._replace(netloc=f"{role}@{host}"))
        assert reader_url != pg_url
    try:
        reader = PostgresStore.from_url(reader_url)
        try:
            (tally,) = reader.metric_tallies("item")
            assert (tally.key, tally.count, tally.fulfil) == ("laptop", 1, ())
            assert _dirty(reader)  # nothing written: the changes wait for a writer
        finally:
            reader.close()
        writer = PostgresStore.from_url(pg_url)
        try:
            assert writer.roll_up_facts() == 1
            with writer._tx(single=True) as db:  # marked, to tell which one is read
                db.execute("UPDATE rf_metric_rollup SET escalations = 7 WHERE dim = 'item'")
        finally:
            writer.close()
        reader = PostgresStore.from_url(reader_url)
        try:
            (tally,) = reader.metric_tallies("item")  # clean: the rollup
            assert (tally.key, tally.count, tally.escalations) == ("laptop", 1, 7)
        finally:
            reader.close()
    finally:
        if how != "read-only transactions":
            with psycopg.connect(pg_dsn, autocommit=True) as db:
                db.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
                db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
