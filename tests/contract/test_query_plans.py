"""Each filter combination docs/queries.md recommends is one index range scan in the
order of the page, on SQLite and on PostgreSQL: ``EXPLAIN`` of the statement the store
runs, over 30,000 analysed summaries of 20 groups, 30 items, 2,000 requesters and 9
states, names the index and no sort of the matches (PostgreSQL may fetch the few
matches it expects, a requester's, with a bitmap scan of the index and sort them).
Several states in one statement (a queue) are one such scan per state, merged.

The planner chooses freely (no ``enable_seqscan = off``): with the statistics of a
table this size, a plan that read every match and sorted it would be the cheaper one
had the index not been there (the last tests check that without the indexes SQLite
sorts and PostgreSQL's plan costs several times as much).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reqfulfill.model.enums import RequestState
from reqfulfill.stores import SQLiteStore
from reqfulfill.stores._query_sql import pg, query_sql
from reqfulfill.testing.samples import T0

ROWS = 30_000
STATES = [s.value for s in RequestState]
SINCE, UNTIL = T0 + timedelta(minutes=100), T0 + timedelta(minutes=900)
AFTER = (T0 + timedelta(minutes=400), "R-00000400")

# (filters, window, after) -> the index that must serve it: the combinations of
# docs/queries.md, with a state where the service scans one state at a time
RECOMMENDED: list[tuple[dict[str, str], bool, bool, str]] = [
    ({"requester": "u-7"}, False, False, "rf_requests_requester"),
    ({"requester": "u-7"}, False, True, "rf_requests_requester"),
    ({"requester": "u-7", "state": "closed"}, False, False, "rf_requests_requester"),
    ({"grp": "g-3", "state": "in_fulfillment"}, False, False, "rf_requests_queue"),
    ({"grp": "g-3", "state": "in_fulfillment"}, True, True, "rf_requests_queue"),
    ({"agent": "a-4", "state": "in_fulfillment"}, False, True, "rf_requests_agent"),
    ({"item": "i-5", "state": "waiting"}, False, False, "rf_requests_item"),
    ({"state": "submitted"}, False, True, "rf_requests_state"),
    ({}, False, False, "rf_requests_created"),
    ({}, True, True, "rf_requests_created"),
]


# (filters, window, after) -> the index each state's subquery must be served by: a
# group's, an agent's or an item's requests in any state, and queues of the open states
# (the service's one statement of several states, ``Store.query(states=...)``)
QUEUE_STATES = [s.value for s in RequestState if s.open or s is RequestState.FULFILLED]
MERGED: list[tuple[dict[str, str], list[str], bool, bool, str]] = [
    ({"grp": "g-3"}, STATES, False, False, "rf_requests_queue"),
    ({"grp": "g-3"}, QUEUE_STATES, False, False, "rf_requests_queue"),
    ({"grp": "g-3"}, QUEUE_STATES, True, True, "rf_requests_queue"),
    ({"agent": "a-4"}, QUEUE_STATES, False, True, "rf_requests_agent"),
    ({"item": "i-5"}, STATES, False, False, "rf_requests_item"),
    ({}, QUEUE_STATES, False, False, "rf_requests_state"),
]


def _merged_ids(case: tuple[dict[str, str], list[str], bool, bool, str]) -> str:
    filters, states, window, after, _ = case
    return _ids((filters, window, after, "")) + f"+{len(states)}-states"


def _rows() -> Iterator[tuple[Any, ...]]:
    for n in range(ROWS):
        created = (n * 60_000_000) + 1_772_000_000_000_000
        yield (
            f"R-{n:08d}",
            STATES[n % len(STATES)],
            f"g-{n % 20}",
            f"a-{n % 50}" if n % 3 == 0 else None,
            f"i-{n % 30}",
            f"u-{n % 2000}",
            3,
            created,
            created,
            1,
        )


_INSERT = (
    "INSERT INTO rf_requests (request_id, state, grp, agent, item, requester, priority,"
    " created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _statement(
    filters: dict[str, str], window: bool, after: bool, states: list[str] | None = None
) -> tuple[str, list[object]]:
    columns = {c: filters.get(c) for c in ("grp", "agent", "item", "requester")}
    return query_sql(
        columns,
        filters.get("state"),
        states,
        SINCE if window else None,
        UNTIL if window else None,
        AFTER if after else None,
        51,
    )


def _ids(case: tuple[dict[str, str], bool, bool, str]) -> str:
    filters, window, after, _ = case
    return "+".join([*filters, *(["window"] if window else []), *(["after"] if after else [])])


# -- SQLite ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("plans") / "plans.db"
    SQLiteStore(path).close()  # the current schema, with its indexes
    db = sqlite3.connect(path)
    db.executemany(_INSERT, _rows())
    db.commit()
    db.execute("ANALYZE")
    yield db
    db.close()


@pytest.mark.parametrize("case", RECOMMENDED, ids=_ids)
def test_sqlite_serves_each_recommended_combination_from_an_index(
    sqlite_db: sqlite3.Connection, case: tuple[dict[str, str], bool, bool, str]
) -> None:
    filters, window, after, index = case
    statement, params = _statement(filters, window, after)
    plan = [row[3] for row in sqlite_db.execute("EXPLAIN QUERY PLAN " + statement, params)]
    assert any(
        f"USING INDEX {index}" in step or f"COVERING INDEX {index}" in step for step in plan
    ), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort of the matches


@pytest.mark.parametrize("case", MERGED, ids=_merged_ids)
def test_sqlite_serves_several_states_from_an_index_scan_each(
    sqlite_db: sqlite3.Connection, case: tuple[dict[str, str], list[str], bool, bool, str]
) -> None:
    filters, states, window, after, index = case
    statement, params = _statement(filters, window, after, states)
    plan = list(sqlite_db.execute("EXPLAIN QUERY PLAN " + statement, params))
    parents = {row[0]: row[1] for row in plan}
    coroutines = {row[0] for row in plan if row[3].startswith("CO-ROUTINE")}

    def inside(step: int) -> bool:  # a step of a state's subquery
        while step in parents:
            if step in coroutines:
                return True
            step = parents[step]
        return False

    searches = [row[3] for row in plan if row[3].startswith(("SEARCH", "SCAN rf_"))]
    assert len(searches) == len(states), plan  # one scan per state
    assert all(f"INDEX {index}" in step for step in searches), plan
    # no sort of a state's matches: only the merge orders each subquery's <= 51 rows
    assert not any("TEMP B-TREE" in row[3] and inside(row[0]) for row in plan), plan


def test_sqlite_without_the_indexes_sorts(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "bare.db")
    db.execute(
        "CREATE TABLE rf_requests (request_id TEXT PRIMARY KEY, state TEXT, grp TEXT,"
        " agent TEXT, item TEXT, requester TEXT, priority INTEGER, created_at INTEGER,"
        " updated_at INTEGER, version INTEGER)"
    )
    db.executemany(_INSERT, _rows())
    db.execute("ANALYZE")
    statement, params = _statement({"grp": "g-3", "state": "in_fulfillment"}, False, False)
    plan = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + statement, params)]
    assert any("TEMP B-TREE" in step for step in plan), plan
    db.close()


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_db() -> Iterator[Any]:
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn:
        pytest.skip("REQFULFILL_PG_DSN is not set")
    psycopg = pytest.importorskip("psycopg")
    from psycopg import sql

    from reqfulfill.stores.postgres import PostgresStore

    schema = f"rf_plans_{os.urandom(6).hex()}"
    PostgresStore(dsn, schema=schema).close()
    db = psycopg.connect(dsn, autocommit=True)
    db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    with db.cursor() as cur:
        cur.executemany(pg(_INSERT), list(_rows()))
    db.execute("ANALYZE rf_requests")
    yield db
    db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    db.close()


_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan", "Bitmap Heap Scan")


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _plan(db: Any, statement: str, params: list[object]) -> list[dict[str, Any]]:
    (row,) = db.execute("EXPLAIN (FORMAT JSON) " + pg(statement), params).fetchall()
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return list(_nodes(document[0]["Plan"]))


@pytest.mark.parametrize("case", RECOMMENDED, ids=_ids)
def test_postgres_serves_each_recommended_combination_from_an_index(
    pg_db: Any, case: tuple[dict[str, str], bool, bool, str]
) -> None:
    filters, window, after, index = case
    statement, params = _statement(filters, window, after)
    nodes = _plan(pg_db, statement, params)
    scans = [n for n in nodes if "Scan" in n["Node Type"]]
    assert scans, nodes
    assert all(n["Node Type"] in _INDEX_SCANS for n in scans), nodes  # never a Seq Scan
    used = {n["Index Name"] for n in scans if "Index Name" in n}
    # with a window and a cursor a few hundred rows remain: the planner may walk the
    # creation index and filter them
    allowed = {index, "rf_requests_created"} if window else {index}
    assert used, nodes
    assert used <= allowed, nodes
    if any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes):
        # a bitmap scan fetches the few matches it expects (a requester's) and sorts them
        assert any(n["Node Type"] == "Bitmap Heap Scan" and n["Plan Rows"] < 1000 for n in scans)


@pytest.mark.parametrize("case", MERGED, ids=_merged_ids)
def test_postgres_merges_several_states_from_an_index_scan_each(
    pg_db: Any, case: tuple[dict[str, str], list[str], bool, bool, str]
) -> None:
    filters, states, window, after, index = case
    statement, params = _statement(filters, window, after, states)
    nodes = _plan(pg_db, statement, params)
    assert nodes[0]["Node Type"] == "Limit", nodes
    assert nodes[1]["Node Type"] == "Merge Append", nodes  # stops after the limit's rows
    scans = [n for n in nodes if "Scan" in n["Node Type"]]
    assert len(scans) == len(states), nodes
    assert all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in scans), nodes
    allowed = {index, "rf_requests_created"} if window else {index}
    assert {n["Index Name"] for n in scans} <= allowed, nodes
    assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes), nodes


def test_postgres_without_the_index_plans_a_dearer_read(pg_db: Any) -> None:
    statement, params = _statement({"grp": "g-3", "state": "in_fulfillment"}, False, False)
    with_index = _plan(pg_db, statement, params)[0]["Total Cost"]
    pg_db.execute("BEGIN")
    try:
        pg_db.execute("DROP INDEX rf_requests_queue")
        without = _plan(pg_db, statement, params)
    finally:
        pg_db.execute("ROLLBACK")
    assert not any(n.get("Index Name") == "rf_requests_queue" for n in without)
    assert without[0]["Total Cost"] > 3 * with_index, (with_index, without)
