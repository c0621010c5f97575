"""``SupplierConnectorContract``: the checks every supplier connector passes (see
:mod:`reqfulfill.testing.contracts`)."""

from __future__ import annotations

import pytest

from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.enums import OrderStatus
from reqfulfill.model.errors import SupplierError
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder
from reqfulfill.testing.samples import new_id

__all__ = ["SupplierConnectorContract"]


class SupplierConnectorContract:
    """The checks every supplier connector passes. Needs ``connector`` and ``order``.

    ``connector`` is a fresh connector (a sandbox account, or a fake), ``order``
    a :class:`~reqfulfill.model.supplier.SupplierOrder` it accepts. The checks
    place real orders with it, so point it at a test system.
    """

    @pytest.fixture
    def connector(self) -> SupplierConnector:
        """Return a fresh connector. Every implementer must override this."""
        raise NotImplementedError("define a connector fixture returning a fresh connector")

    @pytest.fixture
    def order(self) -> SupplierOrder:
        """Return an order the connector accepts. Every implementer must override this."""
        raise NotImplementedError("define an order fixture returning a SupplierOrder")

    def test_is_a_supplier_connector(self, connector: SupplierConnector) -> None:
        assert isinstance(connector, SupplierConnector)
        assert isinstance(connector.supplier_id, str)
        assert connector.supplier_id

    def test_place_order_returns_a_receipt_with_a_ref(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        receipt = connector.place_order(order, new_id("key"))
        assert isinstance(receipt, OrderReceipt)
        assert isinstance(receipt.ref, str)
        assert receipt.ref
        assert isinstance(receipt.status, OrderStatus)

    def test_same_idempotency_key_places_one_order(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        key = new_id("key")
        first = connector.place_order(order, key)
        again = connector.place_order(order, key)
        assert again.ref == first.ref
        other = connector.place_order(order, new_id("key"))
        assert other.ref != first.ref, "a new idempotency key must place a new order"

    def test_order_status_reports_an_order_status(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        receipt = connector.place_order(order, new_id("key"))
        assert isinstance(connector.order_status(receipt.ref), OrderStatus)

    def test_cancel_order_is_idempotent_per_key(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        receipt = connector.place_order(order, new_id("key"))
        key = new_id("cancel")
        first = connector.cancel_order(receipt.ref, key)
        assert isinstance(first, OrderStatus)
        assert connector.cancel_order(receipt.ref, key) == first
        assert connector.order_status(receipt.ref) in (first, OrderStatus.CANCELLED)

    def test_unknown_ref_raises_supplier_error(self, connector: SupplierConnector) -> None:
        unknown = new_id("no-such-order")
        with pytest.raises(SupplierError):
            connector.order_status(unknown)
        with pytest.raises(SupplierError):
            connector.cancel_order(unknown, new_id("cancel"))
