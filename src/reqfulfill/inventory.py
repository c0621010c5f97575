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

import logging

from reqfulfill import lifecycle
from reqfulfill.model import events as ev
from reqfulfill.model.errors import InventoryError
from reqfulfill.model.inventory import Asset, PluginReservation, StockReservation
from reqfulfill.model.request import ServiceRequest
from reqfulfill.serialization.arguments import storable_text
from reqfulfill.service import FulfillmentService

__all__ = ["give_up", "hand_over", "release", "reserve"]

log = logging.getLogger(__name__)


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
    decider gives back what it answers. A first attempt asks the plugins in
    registration order up to the first answer; a later one asks every plugin (what
    each holds under the key: an earlier answer may have been lost), keeps the first
    answer and gives the others back. A plugin's error, or a malformed answer, fails
    the attempt (nothing is recorded: what the plugins hold, they answer again with
    the same key, and :func:`give_up` gives it back if the effect fails for good).
    ``recorded``: the worker's claim recorded this attempt already (``state`` holds
    it), so it is not counted as an earlier one."""
    key = effect.event_id
    retry = state.attempted.get(key, 0) > (1 if recorded else 0)  # an earlier attempt
    if unwanted is not None and not retry:
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
    plugins = service.plugins
    answers = plugins.stock_answers(effect.item, effect.quantity, effect.location, key, every=retry)
    first = next(((n, a) for n, a in answers if a is not None), None)
    if first is None:
        return lifecycle.RecordReservation(actor=lifecycle.WORKER, effect_id=key), after
    plugin, answer = first
    if isinstance(answer, InventoryError):
        raise answer
    reservation = plugins.exact_reservation(plugin, answer, effect.item, effect.quantity)
    strays: list[PluginReservation] = []
    for name, other in answers:
        if isinstance(other, InventoryError) and other.retryable:
            raise other  # it may hold one under the key: ask again later
        if isinstance(other, StockReservation) and name != plugin:
            strays.append(PluginReservation(name, other))
        elif isinstance(other, InventoryError) and name != plugin:
            log.warning("reservation %s: %s (after %r answered)", key, other, plugin)
    command = lifecycle.RecordReservation(
        actor=lifecycle.WORKER,
        effect_id=key,
        reservation=reservation,
        plugin=plugin,
        release=tuple(strays),
    )
    return command, after


def give_up(
    service: FulfillmentService,
    request_id: str,
    effect_id: str,
    reason: str,
    *,
    patient: bool = True,
) -> lifecycle.Command:
    """The command recording that the reserve effect ``effect_id`` failed for good
    (``reason``). When an attempt may have reached the inventory, every plugin is asked
    once more with the effect's key (a plugin answers with what it holds under it) and
    every reservation found is given back with the failure, so none outlives the
    effect. While ``patient``, a plugin's retryable error is raised (the effect is not
    given up yet: the worker tries it again later); a plugin that refuses for good, or
    still fails once patience is out, is named in the reason (what it holds under the
    key, the library cannot give back)."""
    failed = lifecycle.EffectFailed(
        actor=lifecycle.WORKER,
        effect_id=effect_id,
        reason=reason,
        effect_type="StockReservationRequested",
    )
    state, events = service.effects_of(request_id, [effect_id])
    effect = events.get(effect_id)
    if (
        not isinstance(effect, ev.StockReservationRequested)
        or effect_id in state.settled
        or not state.attempted.get(effect_id)
    ):
        return failed  # never asked (or settled already): nothing to give back
    # recorded before the call, as any attempt: a crash in the sweep leaves the effect
    # to be run (and swept) again
    service.execute(
        request_id, lifecycle.RecordAttempt(actor=lifecycle.WORKER, effect_id=effect_id)
    )
    answers = service.plugins.stock_answers(
        effect.item, effect.quantity, effect.location, effect_id, every=True
    )
    for _, answer in answers:
        if isinstance(answer, InventoryError) and answer.retryable and patient:
            raise answer  # what it holds is not known yet: the worker asks again later
    held = tuple(
        PluginReservation(name, answer)
        for name, answer in answers
        if isinstance(answer, StockReservation)
    )
    unasked = [str(a) for _, a in answers if isinstance(a, InventoryError)]
    if unasked:
        reason += "; could not ask what is held under the key: " + "; ".join(unasked)
    if held:
        reason += f"; giving back {len(held)} reservation(s) made under the key"
    return lifecycle.RecordReservation(
        actor=lifecycle.WORKER, effect_id=effect_id, release=held, failure=storable_text(reason)
    )


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
