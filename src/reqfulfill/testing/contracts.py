"""Conformance kits for plugin authors: ``StoreContract``, ``SupplierConnectorContract``
and ``InventoryContract``.

Subclass a kit in your test suite, give it its fixtures, and pytest runs every
check against your plugin (the fsspec habit). For a storage backend::

    import pytest
    from reqfulfill.testing.contracts import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store_url(self, tmp_path):
            return f"mystore:///{tmp_path}/db"  # a fresh, empty store

and for a supplier connector::

    from reqfulfill.testing.contracts import SupplierConnectorContract

    class TestAcme(SupplierConnectorContract):
        @pytest.fixture
        def connector(self):
            return AcmeConnector(sandbox=True)

        @pytest.fixture
        def order(self):
            return SupplierOrder("acme", "REQ-1", "order", (OrderLine("phone"),), ...)

        @pytest.fixture
        def refused_order(self):  # place_order must raise SupplierError(retryable=False)
            return SupplierOrder("acme", "REQ-1", "order", (OrderLine("phone", 99),), ...)

        @pytest.fixture
        def unreachable_connector(self):  # every call: SupplierError(retryable=True)
            return AcmeConnector("http://127.0.0.1:9")

and for an inventory plugin::

    from reqfulfill.testing.contracts import InventoryContract

    class TestStockroom(InventoryContract):
        @pytest.fixture
        def inventory(self):
            return StockroomPlugin(sandbox=True)

        @pytest.fixture
        def item(self):
            return "iphone-15"  # at least two in stock

        @pytest.fixture
        def location(self):
            return "Helsinki HQ"

A backend that cannot do something says so with a capability flag (a class
attribute, like SQLAlchemy's requirements); the checks that need it are then
skipped, with the flag named in the reason. Every method of the
:class:`~reqfulfill.stores.Store` protocol is required: none has a flag.

The kits live in :mod:`reqfulfill.testing.store_contract` and
:mod:`reqfulfill.testing.connector_contract` and
:mod:`reqfulfill.testing.inventory_contract`, their sample data in
:mod:`reqfulfill.testing.samples` and the multi-process helper in
:mod:`reqfulfill.testing.processes`; this module gathers them under the name plugin
authors import.

This module needs the ``testing`` extra (pytest, hypothesis).
"""

from __future__ import annotations

from reqfulfill.testing.connector_contract import SupplierConnectorContract
from reqfulfill.testing.inventory_contract import InventoryContract
from reqfulfill.testing.processes import run_in_processes
from reqfulfill.testing.samples import T0 as T0
from reqfulfill.testing.samples import sample_event, sample_events
from reqfulfill.testing.store_contract import StoreContract

__all__ = [
    "InventoryContract",
    "StoreContract",
    "SupplierConnectorContract",
    "run_in_processes",
    "sample_event",
    "sample_events",
]
