"""Nothing a caller sends can poison a request, on any store.

For every public method of ``FulfillmentService`` (found on the class) and arbitrary
argument values -- values that fit the request at hand, mixed with None, huge integers,
NaN, booleans, bytes, lists, tables, strings with NUL or surrogates or a million
characters, unknown enum values, tables nested too deeply -- a call either raises a
``ReqfulfillError`` and leaves the request's stream as it was, or a fresh service on
the same store loads what it returned equal (``_command_inputs`` holds the oracle).
The counts of a run are printed at the end (``-s``); ``scripts/fuzz_commands.py`` runs
the same checks at scale.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _command_inputs import (
    METHODS,
    Bench,
    Pools,
    Tally,
    calls,
    check_every_parameter_has_a_strategy,
    scenarios,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reqfulfill.stores import MemoryStore, SQLiteStore, Store

TALLY: dict[str, Tally] = {}


def _pg_dsn() -> str:
    """``REQFULFILL_PG_DSN``; without it the PostgreSQL case is skipped (fails under CI)."""
    dsn = os.environ.get("REQFULFILL_PG_DSN", "").strip()
    if not dsn:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("REQFULFILL_PG_DSN is not set (CI=true: PostgreSQL tests must run)")
        pytest.skip("REQFULFILL_PG_DSN is not set")
    pytest.importorskip("psycopg")
    return dsn


def _postgres(pg_dsn: str) -> Iterator[tuple[Store, Store]]:
    import psycopg
    from psycopg import sql

    from reqfulfill.stores.postgres import PostgresStore

    schema = f"rf_test_{uuid.uuid4().hex[:12]}"
    url = f"{pg_dsn}{'&' if '?' in pg_dsn else '?'}schema={schema}"
    acting, observer = PostgresStore.from_url(url), PostgresStore.from_url(url)
    try:
        yield acting, observer
    finally:
        acting.close()
        observer.close()
        with psycopg.connect(pg_dsn, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgresql"])
def bench(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bench]:
    if request.param == "memory":
        store = MemoryStore()
        yield Bench(store, store)
    elif request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("inputs") / "rf.db"
        acting, observer = SQLiteStore(path), SQLiteStore(path)
        yield Bench(acting, observer)
        acting.close()
        observer.close()
    else:
        yield from (Bench(*pair) for pair in _postgres(_pg_dsn()))
    tally = TALLY.get(request.param)
    if tally is not None:
        print(
            f"\n{request.param}: {tally.inputs} inputs ({tally.refused} refused, "
            f"{tally.accepted} accepted), {tally.untyped_count()} untyped"
        )


def test_every_public_method_has_an_argument_strategy() -> None:
    assert len(METHODS) >= 28
    assert {"submit", "reject", "queue", "metrics", "record_outcomes"} <= set(METHODS)
    check_every_parameter_has_a_strategy()


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_call_is_refused_with_nothing_written_or_a_fresh_service_loads_its_result(
    bench: Bench, data: st.DataObject
) -> None:
    store = type(bench.acting_store).__name__
    tally = TALLY.setdefault(
        {"MemoryStore": "memory", "SQLiteStore": "sqlite"}.get(store, "postgresql"), Tally()
    )
    events, state = data.draw(scenarios(), label="request")
    pools = bench.plant(events, state)
    for method in data.draw(st.permutations(METHODS), label="order")[
        : data.draw(st.integers(1, 8))
    ]:
        arguments: dict[str, Any] = data.draw(calls(pools, method), label=method)
        bench.call(method, arguments, pools, tally)
        pools = Pools.of(bench.service.get(pools.request_id))
