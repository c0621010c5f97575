"""The stock side of a ``stock_or_order`` task, shared by the handlers: ask the
inventory for a reservation, and give a reservation back.

A ``stock_or_order`` task starts by asking the inventory plugins to reserve the item
(:func:`request_reservation`: the quantity the request asks for, at the requester's
location). Reserved, the task is done with source ``"stock"``; nothing in stock, the
item's supplier order is asked for and the task is done with source ``"supplier"``
when the order is delivered. A reservation the request no longer wants (cancelled,
the task restarted or skipped, or the reservation came in after the request moved
on) is given back, once: :func:`release` asks for it and clears the task's
reservation, so a second cancel or restart finds nothing to release.
"""

from __future__ import annotations

from reqfulfill.lifecycle.batch import Batch
from reqfulfill.lifecycle.plan import requested_quantity
from reqfulfill.model import events as ev
from reqfulfill.model.inventory import StockReservation
from reqfulfill.model.request import Task

__all__ = ["release", "release_held", "request_reservation"]


def request_reservation(batch: Batch, task: Task, actor: str) -> None:
    """Ask the inventory to reserve the request's item for ``task``."""
    request = batch.draft
    batch.emit(
        ev.StockReservationRequested,
        actor=actor,
        task_key=task.key,
        item=request.item or task.key,
        quantity=requested_quantity(request.answers),
        location=request.requester.location,
    )


def release(
    batch: Batch,
    task_key: str,
    reservation: StockReservation,
    plugin: str,
    reserve_effect: str,
    actor: str,
) -> None:
    """Ask the inventory plugin ``plugin`` to give ``reservation`` back."""
    batch.emit(
        ev.StockReleaseRequested,
        actor=actor,
        task_key=task_key,
        reservation=reservation,
        plugin=plugin,
        reserve_effect=reserve_effect,
    )


def release_held(batch: Batch, actor: str, task: Task | None = None) -> None:
    """Give back the reservation ``task`` holds (every task's, when ``task`` is None)."""
    tasks = batch.draft.plan if task is None else (task,)
    for held in tasks:
        if (
            held.reservation is not None
            and held.reserved_by is not None
            and held.order_effect is not None
        ):
            release(batch, held.key, held.reservation, held.reserved_by, held.order_effect, actor)
