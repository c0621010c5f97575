"""The handlers of the inventory's answers, recorded by the worker: a reservation made
or nothing in stock, a reservation given back, an asset told to the host.

A reservation that comes in for a task that still wants it completes the task (source
``"stock"``); nothing in stock asks for the item's supplier order on the same task
(source ``"supplier"``, done when the order is delivered). A reservation that comes in
after the request moved on (cancelled, the task skipped, failed or restarted) is
recorded and given back at once, so none outlives its request. A retried answer (its
effect already settled) changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from reqfulfill.lifecycle.batch import Batch, Handler
from reqfulfill.lifecycle.command_types import (
    Command,
    RecordAssetRegistered,
    RecordRelease,
    RecordReservation,
)
from reqfulfill.lifecycle.guards import require_internal
from reqfulfill.lifecycle.progress import advance, fail, request_order
from reqfulfill.lifecycle.stock import release
from reqfulfill.lifecycle.wanted import task_effect_unwanted
from reqfulfill.model import events as ev
from reqfulfill.model.enums import TaskKind
from reqfulfill.model.errors import ValidationError

__all__ = ["HANDLERS"]


def _record_reservation(batch: Batch, command: RecordReservation) -> None:
    require_internal(batch, command)
    request = batch.draft
    effect_id = command.effect_id
    if effect_id in request.settled:
        return
    key = request.order_tasks.get(effect_id)
    if key is None or request.task(key).kind is not TaskKind.STOCK_OR_ORDER:
        raise ValidationError.single("effect_id", effect_id, "no such stock reservation request")
    reservation = command.reservation
    if reservation is not None and (command.plugin is None or not command.plugin.strip()):
        raise ValidationError.single(
            "plugin", command.plugin, "a reservation names the inventory plugin that made it"
        )
    if reservation is not None and command.failure is not None:
        raise ValidationError.single(
            "failure", command.failure, "a failed reservation effect keeps no reservation"
        )
    task = request.task(key)
    current = task if task.order_effect == effect_id else None
    unwanted = task_effect_unwanted(request.state, request.approval, current)
    for stray in command.release:
        # another plugin's answer under the same key, or one made for an effect that
        # failed: the task will not keep it, so it goes back to its plugin
        release(batch, key, stray.reservation, stray.plugin, effect_id, command.actor)
    if command.failure is not None:
        _failed(batch, key, effect_id, command.failure, command.actor, unwanted)
        return
    if reservation is None:
        batch.emit(ev.StockUnavailable, task_key=key, effect_id=effect_id)
        if unwanted is None:
            request_order(batch, batch.draft.task(key), command.actor)
        return
    assert command.plugin is not None
    batch.emit(
        ev.StockReserved,
        task_key=key,
        reservation=reservation,
        plugin=command.plugin,
        effect_id=effect_id,
    )
    if unwanted is not None:
        # reserved, but the request moved on meanwhile: give it back at once
        release(batch, key, reservation, command.plugin, effect_id, command.actor)
        return
    batch.emit(ev.TaskCompleted, task_key=key)
    advance(batch)


def _failed(
    batch: Batch, task_key: str, effect_id: str, reason: str, actor: str, unwanted: str | None
) -> None:
    """The reserve effect ``effect_id`` failed for good: its task fails (as on
    ``EffectFailed``), unless the request no longer wants it: then it is abandoned."""
    if unwanted is None:
        fail(batch, batch.draft.task(task_key), reason, actor, effect_id)
        return
    batch.emit(
        ev.EffectAbandoned,
        effect_id=effect_id,
        effect_type="StockReservationRequested",
        reason=f"{reason} (no longer wanted: {unwanted})",
    )


def _record_release(batch: Batch, command: RecordRelease) -> None:
    require_internal(batch, command)
    request = batch.draft
    if command.effect_id in request.settled:
        return
    if not request.has_task(command.task_key):
        raise ValidationError.single("task_key", command.task_key, "no such task in the plan")
    batch.emit(
        ev.StockReleased,
        task_key=command.task_key,
        reservation=command.reservation,
        effect_id=command.effect_id,
    )


def _record_asset_registered(batch: Batch, command: RecordAssetRegistered) -> None:
    require_internal(batch, command)
    if command.effect_id in batch.draft.settled:
        return
    batch.emit(ev.AssetRegistered, effect_id=command.effect_id)


HANDLERS: Mapping[type[Command], Handler] = {
    RecordReservation: _record_reservation,
    RecordRelease: _record_release,
    RecordAssetRegistered: _record_asset_registered,
}
"""Per command type, its handler."""
