"""Catalogs the unit tests share."""

from __future__ import annotations

import copy

from reqfulfill import Catalog
from reqfulfill.testing import DEMO_CATALOG


def ordering_catalog() -> Catalog:
    """The demo catalog with the phone ordered from the supplier at once (its first task
    a ``supplier_order`` task, as before the stock room): for the tests of supplier
    orders asked for when the plan starts."""
    data = copy.deepcopy(DEMO_CATALOG)
    order = data["plans"][0]["tasks"][0]
    assert order["key"] == "order"
    order["kind"] = "supplier_order"
    order["title"] = "Order the phone from the supplier"
    return Catalog.from_dict(data)


def conditional_catalog() -> Catalog:
    """:func:`ordering_catalog` with the order left out when ``answers.from_stock`` is
    true (a ``when`` condition decided when the plan starts)."""
    data = ordering_catalog().to_dict()
    data["plans"][0]["tasks"][0]["when"] = {"not": {"answers.from_stock": True}}
    return Catalog.from_dict(data)
