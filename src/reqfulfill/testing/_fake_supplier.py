"""An in-memory supplier for tests and demos: a connector and a plugin in one."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

import attrs

from reqfulfill._hooks import hookimpl
from reqfulfill.model.enums import OrderStatus
from reqfulfill.model.errors import NotFoundError, SupplierError
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder

__all__ = ["FakeOrder", "FakeSupplier"]


@attrs.define
class FakeOrder:
    """An order the fake supplier accepted."""

    ref: str
    idempotency_key: str
    order: SupplierOrder
    status: OrderStatus = OrderStatus.PLACED
    polls: int = 0
    cancel_keys: list[str] = attrs.field(factory=list)


class FakeSupplier:
    """A configurable supplier that keeps its orders in memory.

    It deduplicates by idempotency key the way real supplier APIs do: placing an
    order again with a known key returns the first order's receipt and counts a
    duplicate in ``duplicate_calls``.

    >>> from reqfulfill.model.supplier import OrderLine
    >>> supplier = FakeSupplier("acme")
    >>> order = SupplierOrder(
    ...     "acme", "REQ-1", "order", (OrderLine("phone"),), "HEL", "u1", "REQ-1/order"
    ... )
    >>> supplier.place_order(order, "key-1").ref == supplier.place_order(order, "key-1").ref
    True
    >>> len(supplier.orders), supplier.duplicate_calls
    (1, 1)

    :param supplier_id: the supplier's id in the catalog.
    :param latency: polls before an advanced status becomes visible.
    :param fail_first: the first N calls to ``place_order`` raise a retryable error.
    :param failure_rate: the chance that any call raises a retryable error.
    :param reject: every order is refused with a permanent error.
    :param auto_deliver: orders report DELIVERED on the first poll.
    :param out_of_order: polls report an older status now and then.
    :param seed: seeds the random failures.
    """

    def __init__(
        self,
        supplier_id: str,
        *,
        latency: int = 0,
        fail_first: int = 0,
        failure_rate: float = 0.0,
        reject: bool = False,
        auto_deliver: bool = False,
        out_of_order: bool = False,
        seed: int | None = 0,
    ) -> None:
        self.supplier_id = supplier_id
        self.latency = latency
        self.fail_first = fail_first
        self.failure_rate = failure_rate
        self.reject = reject
        self.auto_deliver = auto_deliver
        self.out_of_order = out_of_order
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._by_key: dict[str, FakeOrder] = {}
        self._by_ref: dict[str, FakeOrder] = {}
        self.place_calls = 0
        self.duplicate_calls = 0
        self.status_calls = 0
        self.cancel_calls = 0

    # -- plugin ---------------------------------------------------------------------

    @hookimpl
    def reqfulfill_supplier_connectors(self) -> Sequence[FakeSupplier]:
        """This supplier, as the plugin's one connector."""
        return [self]

    # -- connector ------------------------------------------------------------------

    @property
    def orders(self) -> list[FakeOrder]:
        """The orders accepted, in order (one per idempotency key)."""
        with self._lock:
            return list(self._by_key.values())

    def _maybe_fail(self) -> None:
        if self.failure_rate and self._random.random() < self.failure_rate:
            raise SupplierError(f"{self.supplier_id}: timed out (simulated)", retryable=True)

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        """Accept an order once per idempotency key."""
        with self._lock:
            self.place_calls += 1
            if self.place_calls <= self.fail_first:
                raise SupplierError(f"{self.supplier_id}: service unavailable", retryable=True)
            if self.reject:
                raise SupplierError(f"{self.supplier_id}: item not sold here", retryable=False)
            self._maybe_fail()
            known = self._by_key.get(idempotency_key)
            if known is not None:
                self.duplicate_calls += 1
                return OrderReceipt(known.ref, known.status)
            ref = f"{self.supplier_id.upper()}-{len(self._by_key) + 1:05d}"
            placed = FakeOrder(ref=ref, idempotency_key=idempotency_key, order=order)
            self._by_key[idempotency_key] = placed
            self._by_ref[ref] = placed
            return OrderReceipt(ref, placed.status)

    def _order(self, ref: str) -> FakeOrder:
        try:
            return self._by_ref[ref]
        except KeyError:
            raise SupplierError(
                f"{self.supplier_id}: unknown order {ref!r}", retryable=False
            ) from None

    def order_status(self, ref: str) -> OrderStatus:
        """The order's status as the supplier reports it."""
        with self._lock:
            self.status_calls += 1
            self._maybe_fail()
            placed = self._order(ref)
            placed.polls += 1
            if self.auto_deliver and placed.status in (OrderStatus.PLACED, OrderStatus.CONFIRMED):
                placed.status = OrderStatus.DELIVERED
            if placed.polls <= self.latency:
                return OrderStatus.PLACED
            if self.out_of_order and self._random.random() < 0.3:
                return OrderStatus.PLACED
            return placed.status

    def cancel_order(self, ref: str, idempotency_key: str) -> OrderStatus:
        """Cancel unless already delivered; idempotent per key."""
        with self._lock:
            self.cancel_calls += 1
            placed = self._order(ref)
            if idempotency_key not in placed.cancel_keys:
                placed.cancel_keys.append(idempotency_key)
            if placed.status is not OrderStatus.DELIVERED:
                placed.status = OrderStatus.CANCELLED
            return placed.status

    # -- test controls -------------------------------------------------------------------

    def advance(self, ref: str, status: OrderStatus) -> None:
        """Move an order on (the worker's next poll sees it)."""
        with self._lock:
            placed = self._by_ref.get(ref)
            if placed is None:
                raise NotFoundError("supplier order", ref)
            placed.status = status

    def order_for(self, request_id: str) -> FakeOrder:
        """The order placed for a request."""
        for placed in self.orders:
            if placed.order.request_id == request_id:
                return placed
        raise NotFoundError("supplier order for request", request_id)

    def __repr__(self) -> str:
        return f"FakeSupplier({self.supplier_id!r}, orders={len(self._by_key)})"
