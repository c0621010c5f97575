"""The inventory effects, as the worker runs them: reserve stock, release a
reservation, tell the host of an asset handed over.

Each runs with its effect's id as the idempotency key, like a supplier order
(:mod:`reqfulfill.worker`). A reservation is recorded as attempted before the
inventory is called, so after a crash between reserving and recording the worker
reserves again with the same key (the plugin answers with the reservation it holds)
instead of abandoning it; a reservation the request no longer wants by then is
recorded and given back by the decider. Errors are :class:`~reqfulfill.InventoryError`
naming the plugin; the worker retries them with backoff unless they say they are
permanent.
"""

from __future__ import annotations

from reqfulfill import lifecycle
from reqfulfill.model import events as ev
from reqfulfill.model.inventory import Asset
from reqfulfill.model.request import ServiceRequest
from reqfulfill.service import FulfillmentService

__all__ = ["hand_over", "release", "reserve"]


def _unwanted(effect: ev.Event, why: str) -> lifecycle.Command:
    return lifecycle.EffectFailed(
        actor=lifecycle.WORKER,
        effect_id=effect.event_id,
        reason=f"no longer wanted: {why}",
        effect_type=effect.type,
    )


def reserve(
    service: FulfillmentService,
    effect: ev.StockReservationRequested,
    state: ServiceRequest,
    unwanted: str | None,
    *,
    recorded: bool = False,
) -> tuple[lifecycle.Command, ServiceRequest]:
    """Ask the inventory plugins for a reservation; return the command recording the
    answer and the state to decide it on.

    An effect no longer wanted (``unwanted``) is abandoned unless an earlier attempt
    may have reached the inventory: then it is asked again with the same key and the
    decider gives back what it answers. ``recorded``: the worker's claim recorded this
    attempt already (``state`` holds it)."""
    key = effect.event_id
    if unwanted is not None and not state.attempted.get(key):
        return _unwanted(effect, unwanted), state  # never asked: nothing to give back
    after = (
        state
        if recorded
        else service.execute(
            state.id, lifecycle.RecordAttempt(actor=lifecycle.WORKER, effect_id=key)
        )
    )
    if not after.attempted.get(key):
        reason = lifecycle.why_unwanted(after, effect) or "the attempt was not recorded"
        return _unwanted(effect, reason), after
    found = service.plugins.reserve_stock(effect.item, effect.quantity, effect.location, key)
    if found is None:
        return lifecycle.RecordReservation(actor=lifecycle.WORKER, effect_id=key), after
    plugin, reservation = found
    command = lifecycle.RecordReservation(
        actor=lifecycle.WORKER, effect_id=key, reservation=reservation, plugin=plugin
    )
    return command, after


def release(service: FulfillmentService, effect: ev.StockReleaseRequested) -> lifecycle.Command:
    """Give a reservation back to the plugin that made it (always wanted)."""
    key = effect.event_id
    service.plugins.release_stock(effect.plugin, effect.reservation, key)
    return lifecycle.RecordRelease(
        actor=lifecycle.WORKER,
        effect_id=key,
        task_key=effect.task_key,
        reservation=effect.reservation,
    )


def hand_over(
    service: FulfillmentService, effect: ev.AssetHandedOver, state: ServiceRequest
) -> lifecycle.Command:
    """Tell the host of a device handed over (always wanted: it was)."""
    asset = Asset(
        asset_tag=effect.asset_tag,
        serial=effect.serial,
        item=effect.item,
        requester=effect.requester,
    )
    service.plugins.asset_handed_over(state, asset, effect.event_id)
    return lifecycle.RecordAssetRegistered(actor=lifecycle.WORKER, effect_id=effect.event_id)
