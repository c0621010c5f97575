"""``SupplierConnectorContract``: the checks every supplier connector passes (see
:mod:`reqfulfill.testing.contracts` and ``docs/connectors.md``).

Besides the protocol's shape and idempotency, the kit checks what the worker relies
on: every failure is a :class:`~reqfulfill.SupplierError` that says whether to try
again (the worker retries anything else, so an unclassified bug would be retried
``max_attempts`` times), a refused order is permanent and an unreachable supplier
retryable, an unknown reference is a :class:`~reqfulfill.NotFoundError`, and an
order's status never moves backwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.enums import OrderStatus
from reqfulfill.model.errors import NotFoundError, SupplierError
from reqfulfill.model.supplier import OrderReceipt, SupplierOrder
from reqfulfill.testing.samples import new_id

__all__ = ["SupplierConnectorContract"]


class SupplierConnectorContract:
    """The checks every supplier connector passes.

    Fixtures to give:

    - ``connector``: a fresh connector (a sandbox account, or a fake);
    - ``order``: a :class:`~reqfulfill.model.supplier.SupplierOrder` it accepts;
    - ``refused_order``: an order the supplier refuses (an item it does not sell,
      too many units): ``place_order`` must raise ``SupplierError(retryable=False)``;
    - ``unreachable_connector``: a connector whose supplier does not answer (a
      closed port, a stub answering 503): every call must raise
      ``SupplierError(retryable=True)``.

    Override :meth:`advance_order` to let the kit move an order on at the
    supplier (a sandbox's test API) and watch the statuses it reports. The checks
    place real orders, so point the connector at a test system.

    A test double that cannot refuse an order or be cut off says so with a
    capability flag (``can_refuse = False``, ``can_be_unreachable = False``): the
    check is then skipped with the flag in the reason. A real connector has both.
    """

    can_refuse: bool = True
    """The supplier can refuse an order (``refused_order``)."""

    can_be_unreachable: bool = True
    """A connector to a supplier that does not answer can be built
    (``unreachable_connector``)."""

    def advance_order(self, connector: SupplierConnector, ref: str) -> bool:
        """Move order ``ref`` one step on at the supplier (placed → confirmed → shipped
        → delivered); False when it cannot (the default: statuses are only polled)."""
        del connector, ref
        return False

    @pytest.fixture
    def connector(self) -> SupplierConnector:
        """Return a fresh connector. Every implementer must override this."""
        raise NotImplementedError("define a connector fixture returning a fresh connector")

    @pytest.fixture
    def order(self) -> SupplierOrder:
        """Return an order the connector accepts. Every implementer must override this."""
        raise NotImplementedError("define an order fixture returning a SupplierOrder")

    @pytest.fixture
    def refused_order(self) -> SupplierOrder:
        """Return an order the supplier refuses. Every implementer must override this."""
        raise NotImplementedError("define a refused_order fixture the supplier refuses")

    @pytest.fixture
    def unreachable_connector(self) -> SupplierConnector:
        """Return a connector whose supplier does not answer. Every implementer must
        override this."""
        raise NotImplementedError("define an unreachable_connector fixture")

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

    def test_an_unknown_ref_is_not_found(self, connector: SupplierConnector) -> None:
        # record_supplier_update and the worker's poll tell "no such order" from "the
        # supplier is down" by the type: NotFoundError is never retried as an outage
        unknown = new_id("no-such-order")
        with pytest.raises(NotFoundError):
            connector.order_status(unknown)
        with pytest.raises(NotFoundError):
            connector.cancel_order(unknown, new_id("cancel"))

    def test_a_refused_order_is_a_permanent_supplier_error(
        self, connector: SupplierConnector, request: pytest.FixtureRequest
    ) -> None:
        if not self.can_refuse:
            pytest.skip("can_refuse = False")
        refused_order: SupplierOrder = request.getfixturevalue("refused_order")
        with pytest.raises(Exception) as raised:  # noqa: PT011 - the type is what is checked
            connector.place_order(refused_order, new_id("key"))
        _assert_classified(raised.value, retryable=False, call="place_order(refused_order)")

    def test_an_unreachable_supplier_is_a_retryable_supplier_error(
        self, order: SupplierOrder, request: pytest.FixtureRequest
    ) -> None:
        if not self.can_be_unreachable:
            pytest.skip("can_be_unreachable = False")
        unreachable_connector: SupplierConnector = request.getfixturevalue("unreachable_connector")
        calls: dict[str, Callable[[], object]] = {
            "place_order": lambda: unreachable_connector.place_order(order, new_id("key")),
            "order_status": lambda: unreachable_connector.order_status("REF-1"),
            "cancel_order": lambda: unreachable_connector.cancel_order("REF-1", new_id("c")),
        }
        for name, call in calls.items():
            with pytest.raises(Exception) as raised:  # noqa: PT011 - checked below
                call()
            _assert_classified(raised.value, retryable=True, call=name)

    def test_a_status_never_moves_backwards(
        self, connector: SupplierConnector, order: SupplierOrder
    ) -> None:
        receipt = connector.place_order(order, new_id("key"))
        seen = [receipt.status]
        for _step in range(4):
            seen += [connector.order_status(receipt.ref) for _poll in range(3)]
            if not self.advance_order(connector, receipt.ref):
                break
        seen.append(connector.cancel_order(receipt.ref, new_id("cancel")))
        seen += [connector.order_status(receipt.ref) for _poll in range(3)]
        for before, after in itertools.pairwise(seen):
            assert after.rank >= before.rank, (
                f"the order's status moved backwards: {before.value} then {after.value} "
                f"(all reports: {[s.value for s in seen]})"
            )
            if before.final:
                assert after is before, f"a final status changed: {before.value} then {after.value}"


def _assert_classified(error: BaseException, *, retryable: bool, call: str) -> None:
    """``error`` is a SupplierError saying whether to try again, as ``retryable``."""
    assert isinstance(error, SupplierError), (
        f"{call} raised {type(error).__name__}: {error}; raise SupplierError(message, "
        f"retryable={retryable}) instead (the worker retries anything else as an outage)"
    )
    assert error.retryable is retryable, (
        f"{call} raised SupplierError with retryable={error.retryable!r}, expected {retryable}"
    )
