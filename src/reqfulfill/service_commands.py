"""The typed command methods of :class:`~reqfulfill.service.FulfillmentService`.

Each method builds one lifecycle command and hands it to
:meth:`~reqfulfill.service.FulfillmentService.execute`, which checks its arguments,
decides and appends. They live here, apart from the load/decide/append plumbing in
:mod:`reqfulfill.service`, so a new command is one method in this file and one
command class in :mod:`reqfulfill.lifecycle.command_types`.
"""

from __future__ import annotations

from reqfulfill import lifecycle
from reqfulfill.lifecycle import Command
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import Impact, OrderStatus, Urgency
from reqfulfill.model.errors import NotFoundError, ValidationError
from reqfulfill.model.request import ServiceRequest
from reqfulfill.plugins import PluginHost
from reqfulfill.serialization.arguments import check_enum, check_id
from reqfulfill.stores import Store

__all__ = ["RequestCommands"]


class RequestCommands:
    """The commands a host calls on a request, one method each (a base class of
    :class:`~reqfulfill.service.FulfillmentService`)."""

    catalog: Catalog
    store: Store
    plugins: PluginHost

    def execute(self, request_id: str, command: Command) -> ServiceRequest:
        """Run one command on a request (implemented by the service)."""
        raise NotImplementedError

    def approve(self, request_id: str, actor: str) -> ServiceRequest:
        """Approve (the requester's manager or a plugin-named approver; never the requester)."""
        return self.execute(request_id, lifecycle.Approve(actor=actor))

    def reject(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """Reject; the request ends in REJECTED and the requester is notified."""
        return self.execute(request_id, lifecycle.Reject(actor=actor, reason=reason))

    def triage(
        self,
        request_id: str,
        actor: str,
        item: str | None = None,
        category: str | None = None,
        impact: Impact | None = None,
        urgency: Urgency | None = None,
    ) -> ServiceRequest:
        """Set item, category and priority by hand on a request in TRIAGE."""
        return self.execute(
            request_id,
            lifecycle.Triage(
                actor=actor,
                item=item,
                category=category,
                impact=check_enum(Impact, impact, "impact"),
                urgency=check_enum(Urgency, urgency, "urgency"),
            ),
        )

    def assign(
        self, request_id: str, actor: str, group: str, agent: str | None = None
    ) -> ServiceRequest:
        """Reassign to another group (and optionally an agent of it)."""
        return self.execute(request_id, lifecycle.Assign(actor=actor, group=group, agent=agent))

    def claim(self, request_id: str, actor: str) -> ServiceRequest:
        """An agent of the assigned group takes the request."""
        return self.execute(request_id, lifecycle.Claim(actor=actor))

    def start_task(self, request_id: str, task_key: str, actor: str) -> ServiceRequest:
        """Start a task, or restart a failed one."""
        return self.execute(request_id, lifecycle.StartTask(actor=actor, task_key=task_key))

    def complete_task(self, request_id: str, task_key: str, actor: str) -> ServiceRequest:
        """Complete a manual task."""
        return self.execute(request_id, lifecycle.CompleteTask(actor=actor, task_key=task_key))

    def fail_task(self, request_id: str, task_key: str, actor: str, reason: str) -> ServiceRequest:
        """Mark a task failed; the group is notified."""
        return self.execute(
            request_id, lifecycle.FailTask(actor=actor, task_key=task_key, reason=reason)
        )

    def skip_task(self, request_id: str, task_key: str, actor: str, reason: str) -> ServiceRequest:
        """Skip a task (it counts as done); an open supplier order is cancelled."""
        return self.execute(
            request_id, lifecycle.SkipTask(actor=actor, task_key=task_key, reason=reason)
        )

    def ship(
        self,
        request_id: str,
        task_key: str,
        actor: str,
        tracking: str | None = None,
        asset_tag: str | None = None,
        serial: str | None = None,
    ) -> ServiceRequest:
        """Record that the item of a delivery task has shipped; with the device's
        ``asset_tag`` and/or ``serial``, the host hears of the asset handed over when the
        requester confirms receipt (``reqfulfill_asset_handed_over``)."""
        return self.execute(
            request_id,
            lifecycle.Ship(
                actor=actor,
                task_key=task_key,
                tracking=tracking,
                asset_tag=asset_tag,
                serial=serial,
            ),
        )

    def confirm_delivery(self, request_id: str, actor: str) -> ServiceRequest:
        """The requester confirms receipt; the delivery task completes."""
        return self.execute(request_id, lifecycle.ConfirmDelivery(actor=actor))

    def dispute_delivery(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """The requester says the shipped item did not arrive; the delivery reopens."""
        return self.execute(request_id, lifecycle.DisputeDelivery(actor=actor, reason=reason))

    def close(self, request_id: str, actor: str) -> ServiceRequest:
        """Close a fulfilled request; the requester is notified."""
        return self.execute(request_id, lifecycle.Close(actor=actor))

    def cancel(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """Cancel an open request; open supplier orders get cancel requests."""
        return self.execute(request_id, lifecycle.Cancel(actor=actor, reason=reason))

    def record_feedback(
        self, request_id: str, actor: str, rating: int, comment: str = ""
    ) -> ServiceRequest:
        """The requester rates the closed request (1-5), once."""
        return self.execute(
            request_id, lifecycle.RecordFeedback(actor=actor, rating=rating, comment=comment)
        )

    def wait(self, request_id: str, actor: str, reason: str) -> ServiceRequest:
        """Put the request on hold (the SLA pauses)."""
        return self.execute(request_id, lifecycle.Wait(actor=actor, reason=reason))

    def resume(self, request_id: str, actor: str) -> ServiceRequest:
        """Take the request off hold."""
        return self.execute(request_id, lifecycle.Resume(actor=actor))

    def reprioritize(
        self,
        request_id: str,
        actor: str,
        impact: Impact | None = None,
        urgency: Urgency | None = None,
    ) -> ServiceRequest:
        """Change impact/urgency; the SLA keeps the business time already used."""
        return self.execute(
            request_id,
            lifecycle.Reprioritize(
                actor=actor,
                impact=check_enum(Impact, impact, "impact"),
                urgency=check_enum(Urgency, urgency, "urgency"),
            ),
        )

    def record_supplier_update(
        self, supplier_id: str, ref: str, status: OrderStatus, *, actor: str | None = None
    ) -> ServiceRequest:
        """A supplier pushes a status (webhooks). Forward-only and idempotent.

        Raises ``NotFoundError`` for an unknown supplier or order reference.
        """
        check_id(supplier_id, "supplier_id")
        check_id(ref, "ref")
        checked = check_enum(OrderStatus, status, "status")
        if checked is None:
            raise ValidationError.single("status", status, "expected an order status")
        if supplier_id not in self.plugins.connectors() and not self._names_supplier(supplier_id):
            raise NotFoundError("supplier", supplier_id)
        request_id = self.store.find_order(supplier_id, ref)
        if request_id is None:
            raise NotFoundError("supplier order", f"{supplier_id}:{ref}")
        return self.execute(
            request_id,
            lifecycle.RecordSupplierUpdate(
                actor=actor or f"supplier:{supplier_id}",
                supplier_id=supplier_id,
                ref=ref,
                status=checked,
            ),
        )

    def _names_supplier(self, supplier_id: str) -> bool:
        if any(i.supplier == supplier_id for i in self.catalog.items):
            return True
        return any(t.supplier == supplier_id for p in self.catalog.plans for t in p.tasks)
