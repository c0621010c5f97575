"""Testing kit: ``FakeSupplier``, ``FakeInventory``, the demo catalog: no hypothesis needed.

``reqfulfill.testing.strategies`` and ``reqfulfill.testing.contracts`` need the
``testing`` extra (hypothesis, pytest).
"""

from __future__ import annotations

from reqfulfill.testing._demo import DEMO_CATALOG, demo_catalog, demo_requester
from reqfulfill.testing._fake_inventory import FakeInventory, FakeReservation
from reqfulfill.testing._fake_supplier import FakeOrder, FakeSupplier
from reqfulfill.testing._journal import JournalSupplier

__all__ = [
    "DEMO_CATALOG",
    "FakeInventory",
    "FakeOrder",
    "FakeReservation",
    "FakeSupplier",
    "FulfillmentMachine",
    "JournalSupplier",
    "demo_catalog",
    "demo_requester",
]


def __getattr__(name: str) -> object:
    # the stateful machine needs hypothesis: import it only when asked for
    if name == "FulfillmentMachine":
        from reqfulfill.testing.machine import FulfillmentMachine

        return FulfillmentMachine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
