"""Values exchanged with supplier connectors and notifiers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from reqfulfill.model.enums import OrderStatus

__all__ = ["Notification", "OrderLine", "OrderReceipt", "SupplierOrder"]


@attrs.frozen
class OrderLine:
    """One line of a supplier order: a service item and a quantity."""

    item: str
    quantity: int = 1
    description: str = ""


@attrs.frozen
class SupplierOrder:
    """What reqfulfill asks a supplier for.

    ``reference`` is our reference (the request id and task key); ``deliver_to``
    is the delivery address or location taken from the request's answers.
    """

    supplier_id: str
    request_id: str
    task_key: str
    lines: tuple[OrderLine, ...]
    deliver_to: str
    requester: str
    reference: str
    attributes: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class OrderReceipt:
    """A connector's answer to ``place_order``: the supplier's ref and status."""

    ref: str
    status: OrderStatus = OrderStatus.PLACED


@attrs.frozen
class Notification:
    """A message for a person or group about a request.

    ``recipient`` is an actor id, or ``group:<id>`` for a whole support group.
    ``key`` is the id of the event that asked for it: the same on every retry,
    so a notifier can deliver each notification once.
    """

    kind: str
    recipient: str
    request_id: str
    subject: str
    body: str
    key: str = ""

    def with_key(self, key: str) -> Notification:
        """A copy with ``key`` (``attrs.evolve``, faster: fields passed by position; the
        worker keys each notification it sends).

        >>> Notification("k", "ann", "R-1", "s", "b").with_key("R-1/4").key
        'R-1/4'
        """
        return Notification(
            self.kind, self.recipient, self.request_id, self.subject, self.body, key
        )
