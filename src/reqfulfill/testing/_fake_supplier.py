"""An in-memory supplier for tests and demos: a connector and a plugin in one."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Collection, Sequence

import attrs

from reqfulfill._hooks import hookimpl
from reqfulfill.model.enums import OrderStatus
from reqfulfill.model.errors import NotFoundError, SupplierError
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder

__all__ = ["FakeOrder", "FakeSupplier", "Webhook"]

Webhook = Callable[[str, str, OrderStatus], object]
"""Where a supplier pushes status changes: ``(supplier_id, ref, status)``, e.g.
``service.record_supplier_update``."""


@attrs.define
class FakeOrder:
    """An order the fake supplier accepted.

    ``status`` is the supplier's own, current status; ``history`` every status
    it has held, oldest first; ``cancel_keys`` the idempotency keys of the
    cancel requests it received (each key once).
    """

    ref: str
    idempotency_key: str
    order: SupplierOrder
    status: OrderStatus = OrderStatus.PLACED
    polls: int = 0
    cancel_keys: list[str] = attrs.field(factory=list)
    history: list[OrderStatus] = attrs.field(factory=lambda: [OrderStatus.PLACED])
    visible_from: int = 0
    """The poll count from which ``status`` is reported (the ``latency`` knob)."""


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
    :param latency: polls after a status change during which the old status is
        still reported (the supplier's systems lag).
    :param fail_first: the first N calls to ``place_order`` raise a retryable error.
    :param failure_rate: the chance that any call raises a retryable error
        (``place_order``, ``order_status`` and ``cancel_order``).
    :param reject: every order is refused with a permanent error.
    :param reject_items: orders with a line for one of these items are refused
        with a permanent error.
    :param auto_deliver: orders report DELIVERED on the first poll.
    :param out_of_order: polls sometimes report a status the order held before
        (a lagging replica), and each pushed update is followed by a stale one.
    :param duplicates: each pushed update is sent twice.
    :param webhook: where :meth:`advance` pushes status changes, e.g.
        ``service.record_supplier_update``; with none, changes are only polled.
    :param seed: seeds the random failures and stale reports.
    """

    def __init__(
        self,
        supplier_id: str,
        *,
        latency: int = 0,
        fail_first: int = 0,
        failure_rate: float = 0.0,
        reject: bool = False,
        reject_items: Collection[str] = (),
        auto_deliver: bool = False,
        out_of_order: bool = False,
        duplicates: bool = False,
        webhook: Webhook | None = None,
        seed: int | None = 0,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency is a number of polls, not {latency!r}")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate is a probability, not {failure_rate!r}")
        self.supplier_id = supplier_id
        self.latency = latency
        self.fail_first = fail_first
        self.failure_rate = failure_rate
        self.reject = reject
        self.reject_items = frozenset(reject_items)
        self.auto_deliver = auto_deliver
        self.out_of_order = out_of_order
        self.duplicates = duplicates
        self.webhook = webhook
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._by_key: dict[str, FakeOrder] = {}
        self._by_ref: dict[str, FakeOrder] = {}
        self.place_calls = 0
        self.duplicate_calls = 0
        self.status_calls = 0
        self.cancel_calls = 0
        self.failures = 0
        """Simulated retryable failures raised so far (``fail_first`` and ``failure_rate``)."""
        self.stale_reports = 0
        """Polls answered with an older status than the current one (``out_of_order``)."""
        self.pushes: list[tuple[str, OrderStatus]] = []
        """Every update sent to the webhook, duplicates and stale ones included."""

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

    def _maybe_fail(self, what: str) -> None:
        if self.failure_rate and self._random.random() < self.failure_rate:
            self.failures += 1
            raise SupplierError(f"{self.supplier_id}: {what} timed out (simulated)", retryable=True)

    def place_order(self, order: SupplierOrder, idempotency_key: str) -> OrderReceipt:
        """Accept an order once per idempotency key."""
        with self._lock:
            self.place_calls += 1
            if self.place_calls <= self.fail_first:
                self.failures += 1
                raise SupplierError(f"{self.supplier_id}: service unavailable", retryable=True)
            if self.reject:
                raise SupplierError(f"{self.supplier_id}: item not sold here", retryable=False)
            refused = sorted({line.item for line in order.lines} & self.reject_items)
            if refused:
                raise SupplierError(
                    f"{self.supplier_id}: unknown item {refused[0]!r}", retryable=False
                )
            self._maybe_fail("placing the order")
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
            raise NotFoundError(
                "supplier order", ref, f"{self.supplier_id}: unknown order {ref!r}"
            ) from None

    def _set_status(self, placed: FakeOrder, status: OrderStatus) -> None:
        if status is placed.status:
            return
        placed.status = status
        placed.history.append(status)
        placed.visible_from = placed.polls + self.latency

    def order_status(self, ref: str) -> OrderStatus:
        """The order's status as the supplier reports it (``latency``, ``out_of_order``)."""
        with self._lock:
            self.status_calls += 1
            self._maybe_fail("the status query")
            placed = self._order(ref)
            if self.auto_deliver and placed.status in (OrderStatus.PLACED, OrderStatus.CONFIRMED):
                self._set_status(placed, OrderStatus.DELIVERED)
            placed.polls += 1
            older = placed.history[:-1]
            if placed.polls <= placed.visible_from and older:
                return older[-1]  # the change has not reached the supplier's API yet
            if self.out_of_order and older and self._random.random() < 0.3:
                self.stale_reports += 1
                return self._random.choice(older)
            return placed.status

    def cancel_order(self, ref: str, idempotency_key: str) -> OrderStatus:
        """Cancel unless already delivered; idempotent per key."""
        with self._lock:
            self.cancel_calls += 1
            self._maybe_fail("cancelling the order")
            placed = self._order(ref)
            if idempotency_key not in placed.cancel_keys:
                placed.cancel_keys.append(idempotency_key)
            if not placed.status.final:
                self._set_status(placed, OrderStatus.CANCELLED)
            return placed.status

    # -- test controls -------------------------------------------------------------------

    def advance(self, ref: str, status: OrderStatus) -> None:
        """Move an order on: the worker's next poll sees it (after ``latency`` polls),
        and the ``webhook``, if any, is told at once."""
        with self._lock:
            placed = self._by_ref.get(ref)
            if placed is None:
                raise NotFoundError("supplier order", ref)
            before = list(placed.history)
            self._set_status(placed, status)
        if self.webhook is None:
            return
        sends = [status, status] if self.duplicates else [status]
        if self.out_of_order and before:
            sends.append(before[-1])  # a stale update overtaken by the newer one
        for sent in sends:
            self.pushes.append((ref, sent))
            self.webhook(self.supplier_id, ref, sent)

    def order_for(self, request_id: str) -> FakeOrder:
        """The order placed for a request."""
        for placed in self.orders:
            if placed.order.request_id == request_id:
                return placed
        raise NotFoundError("supplier order for request", request_id)

    def __repr__(self) -> str:
        return f"FakeSupplier({self.supplier_id!r}, orders={len(self._by_key)})"
