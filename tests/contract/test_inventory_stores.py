"""The inventory's events on every store: written by one service, read back equal by
a new one (and, for SQLite, by a fresh process)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    RequestState,
    TaskState,
    Worker,
    hookimpl,
)
from reqfulfill.model import events as ev
from reqfulfill.testing import FakeInventory, FakeSupplier, demo_catalog, demo_requester

AGENT = "sam.agent"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/rf.db"
    url: str = request.getfixturevalue("pg_url")
    return url


def play(store: object) -> tuple[FulfillmentService, FakeInventory, str, str]:
    """A phone from stock, handed over with its asset tag, and one cancelled after its
    reservation: every inventory event is written."""
    clock = FixedClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    inventory = FakeInventory(stock={"iphone-15": 2})
    service = FulfillmentService(
        demo_catalog(),
        store=store,  # type: ignore[arg-type]
        plugins=[inventory, FakeSupplier("acme-mobile")],
        clock=clock,
        load_entrypoints=False,
    )
    worker = Worker(service)
    erin = demo_requester()
    kept = service.submit(erin, "iphone-15", Channel.PORTAL, {"quantity": 1}).id
    dropped = service.submit(erin, "iphone-15", Channel.PORTAL).id
    for rid in (kept, dropped):
        service.approve(rid, "max.manager")
    worker.run_pending()
    service.cancel(dropped, erin.id, "two is one too many")
    service.complete_task(kept, "prepare", AGENT)
    service.ship(kept, "deliver", AGENT, asset_tag="HEL-IT-0042", serial="F2LXK1234567")
    service.confirm_delivery(kept, erin.id)
    worker.run_pending()
    return service, inventory, kept, dropped


def test_inventory_events_round_trip_through_the_store(store_url: str) -> None:
    service, inventory, kept, dropped = play(store_url)
    try:
        kinds = {type(e) for rid in (kept, dropped) for e in service.history(rid)}
        assert {
            ev.StockReservationRequested,
            ev.StockReserved,
            ev.StockReleaseRequested,
            ev.StockReleased,
            ev.AssetShipped,
            ev.AssetHandedOver,
            ev.AssetRegistered,
        } <= kinds
        assert [r.request_id for r in inventory.held] == [kept]
        assert service.get(dropped).state is RequestState.CANCELLED
        if store_url == "memory://":
            return
        again = FulfillmentService(demo_catalog(), store=store_url, load_entrypoints=False)
        try:
            for rid in (kept, dropped):
                assert again.history(rid) == service.history(rid)
                assert again.get(rid) == service.get(rid)
            order = again.get(kept).task("order")
            assert order.source == "stock"
            assert order.reservation == inventory.held[0].reservation
            assert again.get(dropped).task("order").reservation is None
        finally:
            again.store.close()
    finally:
        service.store.close()


def test_a_fresh_process_reads_where_the_phone_came_from(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/rf.db"
    service, inventory, kept, _ = play(url)
    service.store.close()
    code = (
        "import sys\n"
        "from reqfulfill import FulfillmentService\n"
        "from reqfulfill.testing import demo_catalog\n"
        "s = FulfillmentService(demo_catalog(), store=sys.argv[1], load_entrypoints=False)\n"
        "task = s.get(sys.argv[2]).task('order')\n"
        "print(task.source, task.reservation.ref, s.progress(sys.argv[2]).coming_from)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, url, kept],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ref = inventory.held[0].reservation.ref
    assert result.stdout.split()[:2] == ["stock", ref]
    assert "iphone-15 from stock at Helsinki HQ" in result.stdout


class _OneTooMany(FakeInventory):
    """Reserves one more than asked for (by key): a malformed answer, given up on."""

    @hookimpl
    def reqfulfill_reserve_stock(self, item, quantity, location, key):  # type: ignore[no-untyped-def]
        return super().reqfulfill_reserve_stock(item, quantity + 1, location, key)


def test_a_reserve_effect_given_up_gives_back_what_it_made_on_every_store(
    store_url: str,
) -> None:
    clock = FixedClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    inventory = _OneTooMany(stock={"iphone-15": 3})
    service = FulfillmentService(
        demo_catalog(),
        store=store_url,
        plugins=[inventory, FakeSupplier("acme-mobile")],
        clock=clock,
        load_entrypoints=False,
    )
    try:
        worker = Worker(service, max_attempts=2)
        rid = service.submit(demo_requester(), "iphone-15", Channel.PORTAL).id
        service.approve(rid, "max.manager")
        for _ in range(4):
            clock.advance(timedelta(hours=2))
            worker.run_pending()
        order = service.get(rid).task("order")
        assert order.state is TaskState.FAILED
        assert "giving back 1 reservation(s) made under the key" in order.reason
        assert inventory.held == []
        assert inventory.stock == {"iphone-15": 3}
        kinds = [type(e) for e in service.history(rid)]
        assert kinds.count(ev.StockReleaseRequested) == kinds.count(ev.StockReleased) == 1
        if store_url == "memory://":
            return
        again = FulfillmentService(demo_catalog(), store=store_url, load_entrypoints=False)
        try:
            assert again.history(rid) == service.history(rid)
            assert again.get(rid) == service.get(rid)
        finally:
            again.store.close()
    finally:
        service.store.close()
