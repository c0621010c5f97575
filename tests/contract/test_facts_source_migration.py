"""Upgrading a database from before the facts' source column (SQLite schema 6,
PostgreSQL 7; issue 18): the schema step adds the column and marks the facts of the
requests already fulfilled stale, and ``db upgrade`` replays them, so ``metrics()``
equals the metrics of the replayed histories, where the items came from included.
Open requests are not replayed: their source is None until an append sets it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    Worker,
    lifecycle,
    open_store,
)
from reqfulfill.cli.db import upgrade
from reqfulfill.metrics import metrics_rows, request_facts
from reqfulfill.stores import postgres as pg_module
from reqfulfill.stores import sqlite as sqlite_module
from reqfulfill.stores._rollup import ROLLUP_UNDO
from reqfulfill.testing import FakeInventory, FakeSupplier, demo_catalog, demo_requester

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
AGENT = "sam.agent"
# what the schema before this step had: no rollup (the step after), no source column
_DOWNGRADE = (*ROLLUP_UNDO, "ALTER TABLE rf_request_facts DROP COLUMN source")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/rf.db"
    found: str = request.getfixturevalue("pg_url")
    return found


def _downgrade(url: str) -> int:
    """Set the store back to the schema before the source column; its version."""
    if url.startswith("sqlite"):
        before = sqlite_module.SCHEMA_VERSION - 2
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for statement in _DOWNGRADE:
                db.execute(statement)
            db.execute("UPDATE rf_schema SET version = ?", (before,))
        db.close()
        return before
    import psycopg
    from psycopg import sql

    dsn, schema = pg_module.split_url(url)
    assert schema is not None
    before = pg_module.SCHEMA_VERSION - 2
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        for statement in _DOWNGRADE:
            db.execute(statement)
        db.execute("DELETE FROM rf_schema WHERE version > %s", (before,))
    return before


def _service(url: str, clock: FixedClock, *plugins: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(), store=url, plugins=list(plugins), clock=clock, load_entrypoints=False
    )


def _requests(url: str, clock: FixedClock) -> tuple[list[str], str]:
    """Two phones fulfilled, the first from stock, the second from the supplier, and a
    password reset (fulfilled, from neither); a third phone left waiting. Returns the
    fulfilled ids and the open one."""
    supplier = FakeSupplier("acme-mobile")
    service = _service(url, clock, FakeInventory(stock={"iphone-15": 1}), supplier)
    worker = Worker(service)
    done = []
    try:
        for hours in (1, 5):
            rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
            service.approve(rid, "max.manager")
            worker.run_pending()
            order = service.get(rid).task("order")
            if order.source == "supplier":
                assert order.order_ref is not None
                supplier.advance(order.order_ref, OrderStatus.DELIVERED)
            clock.advance(timedelta(hours=hours))
            worker.run_pending()
            service.complete_task(rid, "prepare", AGENT)
            service.ship(rid, "deliver", AGENT)
            service.confirm_delivery(rid, demo_requester().id)
            done.append(rid)
        reset = service.submit(demo_requester(), "password-reset", Channel.PORTAL).id
        service.claim(reset, AGENT)
        service.complete_task(reset, "reset", AGENT)
        done.append(reset)
        waiting = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
    finally:
        service.store.close()
    return done, waiting


def _replayed(url: str, by: str) -> list[Any]:
    store = open_store(url)
    try:
        histories = [store.load(s.request_id) for s in store.query()]
    finally:
        store.close()
    return metrics_rows([request_facts(lifecycle.replay(h), h) for h in histories], by)  # type: ignore[arg-type]


def test_db_upgrade_replays_the_fulfilled_requests_for_their_source(url: str) -> None:
    clock = FixedClock(T0)
    done, _waiting = _requests(url, clock)
    expected = {by: _replayed(url, by) for by in ("item", "group", "agent")}
    phone = next(r for r in expected["item"] if r.key == "iphone-15")
    assert (phone.from_stock_pct, phone.from_supplier_pct) == (50.0, 50.0)
    assert _downgrade(url) + 2 == (
        sqlite_module.SCHEMA_VERSION if url.startswith("sqlite") else pg_module.SCHEMA_VERSION
    )
    store = open_store(url)  # opening migrates: the fulfilled requests' facts are stale
    try:
        assert store.facts_to_rebuild() == sorted(done)  # not the waiting one
    finally:
        store.close()
    assert upgrade(url) == (
        sqlite_module.SCHEMA_VERSION if url.startswith("sqlite") else pg_module.SCHEMA_VERSION
    )
    service = _service(url, clock)
    try:
        assert service.store.facts_to_rebuild() == []  # db upgrade replayed them
        for by, rows in expected.items():
            assert service.metrics(by=by) == rows
    finally:
        service.store.close()


def test_appends_after_the_upgrade_keep_the_source(url: str) -> None:
    clock = FixedClock(T0)
    _requests(url, clock)
    _downgrade(url)
    assert upgrade(url) > 0
    supplier = FakeSupplier("acme-mobile")
    service = _service(url, clock, FakeInventory(stock={"iphone-15": 1}), supplier)
    try:
        rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
        service.approve(rid, "max.manager")
        worker = Worker(service)
        worker.run_pending()
        assert service.get(rid).task("order").source == "stock"
        service.complete_task(rid, "prepare", AGENT)
        service.ship(rid, "deliver", AGENT)
        service.confirm_delivery(rid, demo_requester().id)
        (phone,) = (r for r in service.metrics(by="item") if r.key == "iphone-15")
        assert phone.from_stock_pct == round(100 * 2 / 3, 1)  # two of three from stock
        for by in ("item", "group", "agent"):
            assert service.metrics(by=by) == _replayed(url, by)
    finally:
        service.store.close()
