"""A third-party test suite that uses only reqfulfill's public testing kit.

It tests a made-up plugin, ``TeamsNotifier``, that collects notifications, and a
made-up supplier connector, ``MyConnector``, through the kit: the strategies,
the state machine, the contract kit and the ``rf_*`` fixtures.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reqfulfill import Catalog, FulfillmentService, Worker, hookimpl
from reqfulfill.model.enums import OrderStatus, RequestState
from reqfulfill.model.supplier import OrderLine, SupplierOrder
from reqfulfill.testing import FakeSupplier, demo_requester
from reqfulfill.testing.contracts import SupplierConnectorContract
from reqfulfill.testing.machine import FulfillmentMachine
from reqfulfill.testing.strategies import catalogs, requesters


class TeamsNotifier:
    """The plugin under test: remembers every notification it is given."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    @hookimpl
    def reqfulfill_notify(self, notification):  # type: ignore[no-untyped-def]
        self.sent.append(f"{notification.kind}:{notification.recipient}")


class MyConnector(FakeSupplier):
    """The connector under test (here a FakeSupplier subclass, to stay self-contained)."""


# -- 1. strategies ---------------------------------------------------------------------------


@settings(max_examples=25)
@given(catalogs(max_items=3))
def test_any_catalog_round_trips(catalog: Catalog) -> None:
    assert Catalog.from_dict(catalog.to_dict()) == catalog


@settings(max_examples=25)
@given(requester=requesters(), rating=st.integers(1, 5))
def test_any_requester_can_rate_a_closed_request(requester, rating) -> None:  # type: ignore[no-untyped-def]
    service = FulfillmentService(
        Catalog.from_dict(
            {
                "groups": [{"id": "desk", "name": "Desk", "members": ["ann"]}],
                "plans": [{"id": "p", "tasks": [{"key": "t", "kind": "manual", "title": "T"}]}],
                "items": [
                    {
                        "id": "reset",
                        "name": "Reset",
                        "category": "Access",
                        "group": "desk",
                        "impact": "low",
                        "urgency": "low",
                        "plan": "p",
                        "requires_approval": False,
                    }
                ],
            }
        ),
        store="memory://",
        load_entrypoints=False,
    )
    request = service.submit(requester, "reset", "portal")
    service.complete_task(request.id, "t", "ann")
    service.close(request.id, "ann")
    assert service.record_feedback(request.id, requester.id, rating).feedback.rating == rating


# -- 2. the state machine, with the plugin wired in ------------------------------------------


class MachineWithMyPlugin(FulfillmentMachine):
    """Random work on SQLite with the plugin registered; every invariant still holds."""

    store_url = "sqlite:///{tmp}/machine.db"

    def make_service(self) -> FulfillmentService:
        service = super().make_service()
        service.plugins.pm.register(TeamsNotifier())
        return service


TestMachineWithMyPlugin = MachineWithMyPlugin.TestCase
TestMachineWithMyPlugin.settings = settings(max_examples=10, stateful_step_count=20, deadline=None)


# -- 3. the contract kit ---------------------------------------------------------------------


def _order(item: str) -> SupplierOrder:
    return SupplierOrder(
        supplier_id="acme-mobile",
        request_id="REQ-1",
        task_key="order",
        lines=(OrderLine(item),),
        deliver_to="Helsinki HQ",
        requester="erin.user",
        reference="REQ-1/order",
    )


class TestMyConnector(SupplierConnectorContract):
    @pytest.fixture
    def connector(self) -> MyConnector:
        return MyConnector("acme-mobile", reject_items={"pager"})

    @pytest.fixture
    def order(self) -> SupplierOrder:
        return _order("iphone-15")

    @pytest.fixture
    def refused_order(self) -> SupplierOrder:
        return _order("pager")  # the supplier does not sell it: a permanent error

    @pytest.fixture
    def unreachable_connector(self) -> MyConnector:
        return MyConnector("acme-mobile", failure_rate=1.0)  # every call times out


# -- 4. the fixtures -------------------------------------------------------------------------


@pytest.fixture
def notifier() -> TeamsNotifier:
    return TeamsNotifier()


@pytest.fixture
def rf_plugins(notifier: TeamsNotifier) -> list[object]:
    return [notifier]


@pytest.mark.parametrize("rf_store_url", ["memory://", "sqlite:///{tmp}/rf.db"], indirect=True)
def test_the_requester_hears_about_the_phone(
    rf_service: FulfillmentService,
    rf_worker: Worker,
    rf_fake_supplier: FakeSupplier,
    rf_clock,  # type: ignore[no-untyped-def]
    notifier: TeamsNotifier,
) -> None:
    request = rf_service.submit(demo_requester(), "iphone-15", "portal")
    rf_service.approve(request.id, "max.manager")
    rf_worker.run_pending()
    rf_fake_supplier.advance(rf_fake_supplier.order_for(request.id).ref, OrderStatus.DELIVERED)
    rf_clock.advance(minutes=16)
    rf_worker.run_pending()
    rf_service.complete_task(request.id, "prepare", "sam.agent")
    rf_service.ship(request.id, "deliver", "sam.agent", tracking="TRK-1")
    rf_service.confirm_delivery(request.id, "erin.user")
    rf_worker.run_pending()
    assert rf_service.get(request.id).state is RequestState.CLOSED
    assert "request_closed:erin.user" in notifier.sent
