"""``FakeInventory`` and ``JournalInventory`` pass the inventory contract kit; the fake's
own knobs do what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from reqfulfill import InventoryError, StockReservation
from reqfulfill.testing import FakeInventory
from reqfulfill.testing._journal_inventory import JournalInventory
from reqfulfill.testing.contracts import InventoryContract


class TestFakeInventory(InventoryContract):
    @pytest.fixture
    def inventory(self) -> FakeInventory:
        return FakeInventory(stock={"iphone-15": 3})

    @pytest.fixture
    def item(self) -> str:
        return "iphone-15"

    @pytest.fixture
    def location(self) -> str:
        return "Helsinki HQ"


class TestJournalInventory(InventoryContract):
    @pytest.fixture
    def inventory(self, tmp_path: Path) -> JournalInventory:
        return JournalInventory(tmp_path / "inventory.db", stock={"iphone-15": 3})

    @pytest.fixture
    def item(self) -> str:
        return "iphone-15"

    @pytest.fixture
    def location(self) -> str:
        return "Helsinki HQ"


def test_a_stock_room_serves_its_own_location_only() -> None:
    berlin = FakeInventory(stock={"iphone-15": 1}, location="Berlin")
    assert berlin.reqfulfill_reserve_stock("iphone-15", 1, "Helsinki HQ", "R-1/3") is None
    found = berlin.reqfulfill_reserve_stock("iphone-15", 1, "Berlin", "R-2/3")
    assert found == StockReservation("RES-00001", "Berlin", 1)


def test_too_few_in_stock_is_nothing_in_stock() -> None:
    inventory = FakeInventory(stock={"iphone-15": 1})
    assert inventory.reqfulfill_reserve_stock("iphone-15", 2, "HQ", "R-1/3") is None
    assert inventory.stock == {"iphone-15": 1}


def test_told_to_fail_it_fails_then_serves() -> None:
    inventory = FakeInventory(stock={"iphone-15": 1}, fail_first=1)
    with pytest.raises(InventoryError) as caught:
        inventory.reqfulfill_reserve_stock("iphone-15", 1, "HQ", "R-1/3")
    assert caught.value.retryable
    assert inventory.reqfulfill_reserve_stock("iphone-15", 1, "HQ", "R-1/3") is not None
    rejecting = FakeInventory(stock={"iphone-15": 1}, reject=True)
    with pytest.raises(InventoryError) as refused:
        rejecting.reqfulfill_reserve_stock("iphone-15", 1, "HQ", "R-1/3")
    assert not refused.value.retryable


@pytest.mark.parametrize(
    ("arguments", "words"),
    [({"stock": {"x": -1}}, "count"), ({"failure_rate": 2.0}, "probability")],
)
def test_bad_knobs_are_refused(arguments: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        FakeInventory(**arguments)  # type: ignore[arg-type]
