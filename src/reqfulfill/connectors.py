"""The supplier connector protocol (implemented by supplier plugins)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from reqfulfill.model.enums import OrderStatus
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder

__all__ = ["SupplierConnector"]


@runtime_checkable
class SupplierConnector(Protocol):
    """Talks to one third-party supplier.

    Every call may raise :class:`reqfulfill.SupplierError` with
    ``retryable=True`` (timeouts, 5xx-like) or ``retryable=False`` (rejected,
    unknown item). ``place_order`` and ``cancel_order`` get the same
    ``idempotency_key`` on every retry of the same effect and must not act twice
    for one key.
    """

    supplier_id: str

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        """Order from the supplier; return its reference and status."""
        ...

    def order_status(self, ref: str) -> OrderStatus:
        """The order's current status at the supplier."""
        ...

    def cancel_order(self, ref: str, idempotency_key: str) -> OrderStatus:
        """Ask the supplier to cancel; return the resulting status."""
        ...
