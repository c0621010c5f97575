"""``InventoryContract``: the checks every inventory plugin passes (see
:mod:`reqfulfill.testing.contracts`)."""

from __future__ import annotations

import pytest

from reqfulfill.model.errors import InventoryError
from reqfulfill.model.inventory import StockReservation
from reqfulfill.plugins import PluginHost, get_plugin_manager
from reqfulfill.testing.samples import new_id

__all__ = ["InventoryContract"]


class InventoryContract:
    """The checks every inventory plugin passes. Needs ``inventory``, ``item`` and
    ``location``.

    ``inventory`` is a fresh plugin object (pointed at a sandbox, or a fake)
    implementing ``reqfulfill_reserve_stock`` and ``reqfulfill_release_stock``;
    ``item`` an item it holds at least two of at ``location``. The checks reserve
    and release real stock through the same host the worker calls plugins through,
    so a result the worker would refuse fails here too.
    """

    @pytest.fixture
    def inventory(self) -> object:
        """Return a fresh inventory plugin. Every implementer must override this."""
        raise NotImplementedError("define an inventory fixture returning a fresh plugin")

    @pytest.fixture
    def item(self) -> str:
        """Return an item the plugin holds at least two of. Every implementer must
        override this."""
        raise NotImplementedError("define an item fixture naming an item in stock")

    @pytest.fixture
    def location(self) -> str:
        """Return the location the item is held at. Every implementer must override this."""
        raise NotImplementedError("define a location fixture naming where the stock is")

    @pytest.fixture
    def host(self, inventory: object) -> PluginHost:
        """The plugin host the worker would call ``inventory`` through."""
        return PluginHost(get_plugin_manager([inventory], load_entrypoints=False))

    def test_implements_both_stock_hooks(self, host: PluginHost, inventory: object) -> None:
        hooks = host.pm.hook
        for caller in (hooks.reqfulfill_reserve_stock, hooks.reqfulfill_release_stock):
            assert [i.plugin for i in caller.get_hookimpls()] == [inventory], caller.name

    def test_reserve_returns_a_reservation_of_the_quantity(
        self, host: PluginHost, item: str, location: str
    ) -> None:
        found = host.reserve_stock(item, 1, location, new_id("key"))
        assert found is not None, f"nothing reserved: is {item!r} in stock at {location!r}?"
        _plugin, reservation = found
        assert isinstance(reservation, StockReservation)
        assert reservation.ref
        assert reservation.quantity == 1

    def test_same_key_reserves_once(self, host: PluginHost, item: str, location: str) -> None:
        key = new_id("key")
        first = host.reserve_stock(item, 1, location, key)
        again = host.reserve_stock(item, 1, location, key)
        assert first is not None
        assert again == first, "a known idempotency key must answer with its reservation"
        other = host.reserve_stock(item, 1, location, new_id("key"))
        assert other is not None, f"hold at least two of {item!r} for this check"
        assert other[1].ref != first[1].ref, "a new idempotency key must reserve anew"

    def test_release_is_idempotent_per_key_and_gives_the_stock_back(
        self, host: PluginHost, item: str, location: str
    ) -> None:
        found = host.reserve_stock(item, 1, location, new_id("key"))
        assert found is not None
        plugin, reservation = found
        key = new_id("release")
        host.release_stock(plugin, reservation, key)
        host.release_stock(plugin, reservation, key)  # a retry with the same key
        again = host.reserve_stock(item, 1, location, new_id("key"))
        assert again is not None, "a released reservation's stock is available again"

    def test_unknown_item_is_an_inventory_error_naming_the_plugin(
        self, host: PluginHost, location: str
    ) -> None:
        unknown = new_id("no-such-item")
        with pytest.raises(InventoryError) as caught:
            host.reserve_stock(unknown, 1, location, new_id("key"))
        assert caught.value.plugin, "the error names the plugin"
