"""The reference scenario as a script, through the public API only.

An end user orders a mobile phone in the portal; the manager approves; the
request is assigned to the Service Desk and categorized/prioritized from the
item; an agent claims it; the stock room (a ``FakeInventory``) has no phone, so
the phone is ordered from a supplier (a ``FakeSupplier``), prepared and delivered
with its asset tag and serial number; the end user confirms receipt; the worker
tells the CMDB of the asset, closes the request and notifies the requester; the
requester rates it.

Run it with ``.venv/bin/python examples/reference_scenario.py``; it prints the
request's timeline and exits 0 when the request ends CLOSED.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    OrderStatus,
    RequestState,
    Worker,
)
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing import FakeInventory, FakeSupplier, demo_catalog, demo_requester

AGENT = "sam.agent"
MANAGER = "max.manager"
DETAILS = ("task_key", "group", "agent", "category", "priority", "status", "recipient", "rating")
"""Event fields shown in the timeline, where the event has them."""


def describe(event: object) -> str:
    """The event's type and its most telling fields."""
    shown = []
    for name in DETAILS:
        value = getattr(event, name, None)
        if value is not None:
            shown.append(f"{name}={getattr(value, 'value', value)}")
    return f"{type(event).__name__} {' '.join(shown)}".rstrip()


def main() -> int:
    clock = FixedClock(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    supplier = FakeSupplier("acme-mobile")
    stockroom = FakeInventory(stock={"iphone-15": 0})  # no phone in stock today
    service = FulfillmentService(
        demo_catalog(),
        sla=SlaPolicy.default(),
        store="memory://",
        plugins=[supplier, stockroom],
        clock=clock,
        load_entrypoints=False,
    )
    worker = Worker(service, seed=1)
    erin = demo_requester()

    request = service.submit(erin, "iphone-15", Channel.PORTAL, {"colour": "black"})
    rid = request.id
    worker.run_pending()  # the manager is told an approval is waiting
    clock.advance(minutes=20)
    service.approve(rid, MANAGER)  # routing, plan, SLA, first task: one append
    clock.advance(minutes=10)
    service.claim(rid, AGENT)
    worker.run_pending()  # asks the stock room (none in stock), orders from the supplier
    ref = supplier.order_for(rid).ref
    clock.advance(days=1)
    supplier.advance(ref, OrderStatus.SHIPPED)
    clock.advance(minutes=15)
    worker.run_pending()  # the status poll records SHIPPED
    clock.advance(days=1)
    supplier.advance(ref, OrderStatus.DELIVERED)
    clock.advance(minutes=15)
    worker.run_pending()  # the poll records DELIVERED: the order task completes
    clock.advance(hours=2)
    service.complete_task(rid, "prepare", AGENT)
    clock.advance(minutes=30)
    service.ship(
        rid,
        "deliver",
        AGENT,
        tracking="internal mail, desk 4B",
        asset_tag="HEL-IT-0042",
        serial="F2LXK1234567",
    )
    clock.advance(hours=3)
    service.confirm_delivery(rid, erin.id)
    worker.run_pending()  # the CMDB hears of the asset; the close timer closes the request
    clock.advance(hours=1)
    final = service.record_feedback(rid, erin.id, 5, "Quick and painless, thanks!")

    print(f"Request {rid}: {erin.name} orders {final.item} via {final.channel.value}\n")
    for event in service.history(rid):
        rule = getattr(event, "rule", None)
        why = f"  [rule: {rule}]" if rule else ""
        print(f"{event.at:%Y-%m-%d %H:%M}  {event.actor:<21} {describe(event)}{why}")
    print(
        f"\nFinal state: {final.state.value}; group {final.group}; agent {final.agent}; "
        f"category {final.category}; priority P{int(final.priority or 0)}; "
        f"SLA {'missed' if final.sla.breached else 'met'} ({final.sla.used} business time used); "
        f"rating {final.feedback.rating if final.feedback else None}/5; "
        f"supplier orders placed: {len(supplier.orders)}; "
        f"assets registered: {[a.asset_tag for a in stockroom.assets.values()]}"
    )
    return 0 if final.state is RequestState.CLOSED else 1


if __name__ == "__main__":
    sys.exit(main())
