"""Strategies for lifecycle commands: submissions and command sequences.

Also what the history strategies build on: the pools a command's arguments are
drawn from (:class:`Pools`, blind or aimed at a request's state) and
:func:`draw_command`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill import lifecycle
from reqfulfill.lifecycle import Submit
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import Channel, Impact, OrderStatus, TaskKind, Urgency
from reqfulfill.model.inventory import PluginReservation
from reqfulfill.model.request import ServiceRequest
from reqfulfill.testing._demo import demo_catalog
from reqfulfill.testing.strategies._basics import (
    DEFAULT_SUPPLIERS,
    WORDS,
    attributes,
    check_sizes,
    lazy,
    names,
    slugs,
)
from reqfulfill.testing.strategies._catalog import requesters, stock_reservations
from reqfulfill.testing.strategies._rules import fact_values

__all__ = [
    "COMMAND_KINDS",
    "RARE_COMMANDS",
    "Pools",
    "answers",
    "blind_pools",
    "channels",
    "check_catalog",
    "command_sequences",
    "draw_catalog",
    "draw_command",
    "state_pools",
    "submissions",
]

_STRANGERS: Final = ("mallory", "eve.outsider")
_REFS: Final = ("R-1", "R-2", "R-3")
_MESSAGES: Final = ("m1", "m2")


def _message_id(a: _Arguments) -> str:
    """A message id of the request's own (``<request id>/m1``): requests drawn apart
    never share one."""
    request_id = a.pools.effects[0].rpartition("/")[0]
    return f"{request_id}/{a.draw(st.sampled_from(_MESSAGES))}"


_REASONS: Final = ("no longer needed", "from stock", "not here", "info", "broken")

COMMAND_KINDS: Final[tuple[type[lifecycle.Command], ...]] = tuple(
    cls for cls in lifecycle.COMMAND_STATES if cls is not lifecycle.Submit
)
"""Every lifecycle command but ``Submit``: the kinds :func:`command_sequences` draws."""

RARE_COMMANDS: Final = (
    lifecycle.Cancel,
    lifecycle.Reject,
    lifecycle.EffectFailed,
    lifecycle.RecordAttempt,
)
"""Commands that end a request early or only count attempts: drawn less often by histories."""

_BY_APPROVER: Final = (lifecycle.Approve, lifecycle.Reject)
_BY_REQUESTER: Final = (
    lifecycle.ConfirmDelivery,
    lifecycle.DisputeDelivery,
    lifecycle.RecordFeedback,
)


def channels() -> st.SearchStrategy[Channel]:
    """Any request channel.

    >>> channel = channels().example()  # doctest: +SKIP
    """
    return st.sampled_from(Channel)


def answers() -> st.SearchStrategy[dict[str, Any]]:
    """Answers to an item's questions: the ``answers.*`` facts conditions test.

    >>> given_answers = answers().example()  # doctest: +SKIP
    """
    facts = fact_values(None)
    keys = [path.split(".", 1)[1] for path in facts if path.startswith("answers.")]
    return st.fixed_dictionaries({}, optional={key: facts[f"answers.{key}"] for key in keys})


@st.composite
def _submissions(draw: st.DrawFn, catalog: Catalog) -> Submit:
    requester = draw(requesters())
    channel = draw(channels())
    item_ids = sorted(i.id for i in catalog.items)
    if channel is Channel.PORTAL or not item_ids:
        item = draw(st.sampled_from(item_ids)) if item_ids else None
    else:
        item = draw(st.none() | st.sampled_from(item_ids))
    if item is None and channel is Channel.PORTAL:
        channel = Channel.EMAIL
    return Submit(
        actor=requester.id,
        request_id=draw(slugs),
        requester=requester,
        item=item,
        channel=channel,
        answers=draw(answers()),
    )


def submissions(*, catalog: Catalog) -> st.SearchStrategy[Submit]:
    """``Submit`` commands valid for ``catalog``: portal requests always name one of its items.

    >>> command = submissions(catalog=demo_catalog()).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Submit]:
        if not isinstance(catalog, Catalog):
            raise InvalidArgument(f"catalog={catalog!r} must be a Catalog")
        return _submissions(catalog)

    return lazy(build)


@attrs.frozen
class Pools:
    """What the arguments of a command are drawn from."""

    actors: tuple[str, ...]
    likely: tuple[str, ...]  # actors who may well be allowed to run the command
    approvers: tuple[str, ...]
    requester: str
    tasks: tuple[str, ...]
    effects: tuple[str, ...]  # any effect id
    orders: tuple[str, ...]  # ids of supplier order requests
    automations: tuple[str, ...]
    notifications: tuple[str, ...]
    cancels: tuple[str, ...]  # ids of order cancel requests
    refs: tuple[str, ...]
    suppliers: tuple[str, ...]
    items: tuple[str | None, ...]
    groups: tuple[str, ...]
    categories: tuple[str, ...]


def _catalog_suppliers(catalog: Catalog) -> tuple[str, ...]:
    found = {i.supplier for i in catalog.items if i.supplier}
    found |= {t.supplier for p in catalog.plans for t in p.tasks if t.supplier}
    return tuple(sorted(found)) or DEFAULT_SUPPLIERS[:1]


def _everyone(catalog: Catalog, requester: Requester) -> tuple[str, ...]:
    members = {m for g in catalog.groups for m in g.members}
    people = [requester.id, *([requester.manager] if requester.manager else [])]
    return tuple(dict.fromkeys([*people, *sorted(members), *_STRANGERS]))


def blind_pools(catalog: Catalog, submit: lifecycle.Submit, max_size: int) -> Pools:
    """Pools that do not look at the request's state: some commands will miss."""
    keys = {t.key for p in catalog.plans for t in p.tasks} | {lifecycle.DEFAULT_TASK.key}
    actors = _everyone(catalog, submit.requester)
    # effect ids are the event ids of the requests for effect: "<request id>/<version>"
    effects = tuple(f"{submit.request_id}/{n}" for n in range(1, 4 * max_size + 8))
    return Pools(
        actors=actors,
        likely=actors,
        approvers=(submit.requester.manager,) if submit.requester.manager else actors,
        requester=submit.requester.id,
        tasks=(*sorted(keys), "no-such-task"),
        effects=effects,
        orders=effects,
        automations=effects,
        notifications=effects,
        cancels=effects,
        refs=_REFS,
        suppliers=_catalog_suppliers(catalog),
        items=(None, *sorted(i.id for i in catalog.items)),
        groups=tuple(sorted(g.id for g in catalog.groups)) or ("no-such-group",),
        categories=tuple(sorted(catalog.categories)) or WORDS[:1],
    )


def state_pools(catalog: Catalog, state: ServiceRequest, blind: Pools) -> Pools:
    """Pools aimed at ``state``: its tasks, open effects, order refs and likely actors."""
    groups = {state.group, catalog.triage_group, *(t.group for t in state.plan)}
    if state.item is not None and catalog.has_item(state.item):
        groups.add(catalog.item(state.item).group)
    likely = [state.requester.id, *([state.requester.manager] if state.requester.manager else [])]
    for group in sorted(g for g in groups if g is not None and catalog.has_group(g)):
        likely.extend(catalog.group(group).members)

    def ids(found: Iterable[str | None]) -> tuple[str, ...]:
        return tuple(sorted({e for e in found if e})) or blind.effects[:1]

    orders = ids(t.order_effect for t in state.plan if t.kind.orders)
    automations = ids(t.order_effect for t in state.plan if t.kind is TaskKind.AUTOMATED)
    notifications = ids(state.pending_notifications)
    cancels = ids(e for found in state.cancel_effects.values() for e in found)
    refs = {t.order_ref for t in state.plan if t.order_ref}
    return attrs.evolve(
        blind,
        likely=tuple(dict.fromkeys(likely)) or blind.actors,
        approvers=state.approvers or blind.approvers,
        tasks=tuple(t.key for t in state.plan) or blind.tasks,
        effects=ids([*orders, *automations, *notifications, *cancels]),
        orders=orders,
        automations=automations,
        notifications=notifications,
        cancels=cancels,
        refs=tuple(sorted(r for r in refs if r)) or blind.refs[:1],
        suppliers=tuple(sorted({t.supplier for t in state.plan if t.supplier})) or blind.suppliers,
    )


@attrs.frozen
class _Arguments:
    """What every command's arguments are drawn from; ``draw`` draws the rest."""

    draw: st.DrawFn
    pools: Pools
    actor: str
    worker: str  # the worker's outcomes: mostly the worker, sometimes a person (refused)
    system: str  # timers: mostly the system, sometimes a person (refused)
    task: str
    effect: str
    reason: str
    impact: Impact | None
    urgency: Urgency | None
    status: OrderStatus


_INVENTORIES: Final = ("fake-inventory", None)


def _plugin_reservations() -> st.SearchStrategy[PluginReservation]:
    return st.builds(
        PluginReservation,
        plugin=st.sampled_from(_INVENTORIES[:1]),
        reservation=stock_reservations(),
    )


"""The inventory plugins a drawn reservation names (None: refused, a reservation names one)."""

_BUILDERS: Final[Mapping[type[lifecycle.Command], Callable[[_Arguments], lifecycle.Command]]] = {
    lifecycle.Approve: lambda a: lifecycle.Approve(actor=a.actor),
    lifecycle.Reject: lambda a: lifecycle.Reject(actor=a.actor, reason=a.reason),
    lifecycle.Claim: lambda a: lifecycle.Claim(actor=a.actor),
    lifecycle.StartTask: lambda a: lifecycle.StartTask(actor=a.actor, task_key=a.task),
    lifecycle.CompleteTask: lambda a: lifecycle.CompleteTask(actor=a.actor, task_key=a.task),
    lifecycle.FailTask: lambda a: lifecycle.FailTask(
        actor=a.actor, task_key=a.task, reason=a.reason
    ),
    lifecycle.SkipTask: lambda a: lifecycle.SkipTask(
        actor=a.actor, task_key=a.task, reason=a.reason
    ),
    lifecycle.Ship: lambda a: lifecycle.Ship(
        actor=a.actor,
        task_key=a.task,
        tracking=a.draw(st.none() | slugs),
        asset_tag=a.draw(st.none() | slugs),
        serial=a.draw(st.none() | slugs),
    ),
    lifecycle.ConfirmDelivery: lambda a: lifecycle.ConfirmDelivery(actor=a.actor),
    lifecycle.DisputeDelivery: lambda a: lifecycle.DisputeDelivery(actor=a.actor, reason=a.reason),
    lifecycle.Close: lambda a: lifecycle.Close(actor=a.actor),
    lifecycle.AutoClose: lambda a: lifecycle.AutoClose(actor=a.system, reason="no reply"),
    lifecycle.Cancel: lambda a: lifecycle.Cancel(actor=a.actor, reason=a.reason),
    lifecycle.Wait: lambda a: lifecycle.Wait(actor=a.actor, reason=a.reason),
    lifecycle.Resume: lambda a: lifecycle.Resume(actor=a.actor),
    lifecycle.Reprioritize: lambda a: lifecycle.Reprioritize(
        actor=a.actor, impact=a.impact, urgency=a.urgency
    ),
    lifecycle.RecordFeedback: lambda a: lifecycle.RecordFeedback(
        actor=a.actor, rating=a.draw(st.integers(0, 6)), comment=a.draw(names)
    ),
    lifecycle.OrderPlaced: lambda a: lifecycle.OrderPlaced(
        actor=a.worker,
        effect_id=a.draw(st.sampled_from(a.pools.orders)),
        ref=a.draw(st.sampled_from(_REFS)),
        status=a.draw(st.just(OrderStatus.PLACED) | st.sampled_from(OrderStatus)),
    ),
    lifecycle.OrderCancelled: lambda a: lifecycle.OrderCancelled(
        actor=a.worker, effect_id=a.draw(st.sampled_from(a.pools.cancels)), status=a.status
    ),
    lifecycle.AutomationSucceeded: lambda a: lifecycle.AutomationSucceeded(
        actor=a.worker,
        effect_id=a.draw(st.sampled_from(a.pools.automations)),
        result=a.draw(attributes),
    ),
    lifecycle.EffectFailed: lambda a: lifecycle.EffectFailed(
        actor=a.worker, effect_id=a.effect, reason=a.reason
    ),
    lifecycle.NotificationDelivered: lambda a: lifecycle.NotificationDelivered(
        actor=a.worker, effect_id=a.draw(st.sampled_from(a.pools.notifications))
    ),
    lifecycle.RecordAttempt: lambda a: lifecycle.RecordAttempt(actor=a.worker, effect_id=a.effect),
    lifecycle.FireSla: lambda a: lifecycle.FireSla(actor=a.system),
    lifecycle.FireApproval: lambda a: lifecycle.FireApproval(actor=a.system),
    lifecycle.RecordReply: lambda a: lifecycle.RecordReply(
        actor=a.actor, message_id=_message_id(a), text=a.reason
    ),
    lifecycle.RecordReservation: lambda a: lifecycle.RecordReservation(
        actor=a.worker,
        effect_id=a.draw(st.sampled_from(a.pools.orders)),
        reservation=a.draw(st.none() | stock_reservations()),
        plugin=a.draw(st.sampled_from(_INVENTORIES)),
        # other plugins' answers to give back; a failure (with a reservation: refused)
        release=tuple(a.draw(st.lists(_plugin_reservations(), max_size=2))),
        failure=a.draw(st.none() | st.just(a.reason)),
    ),
    lifecycle.RecordRelease: lambda a: lifecycle.RecordRelease(
        actor=a.worker,
        effect_id=a.effect,
        task_key=a.task,
        reservation=a.draw(stock_reservations()),
    ),
    lifecycle.RecordAssetRegistered: lambda a: lifecycle.RecordAssetRegistered(
        actor=a.worker, effect_id=a.effect
    ),
    lifecycle.Triage: lambda a: lifecycle.Triage(
        actor=a.actor,
        item=a.draw(st.sampled_from(a.pools.items)),
        category=a.draw(st.none() | st.sampled_from(a.pools.categories)),
        impact=a.impact,
        urgency=a.urgency,
    ),
    lifecycle.Assign: lambda a: lifecycle.Assign(
        actor=a.actor,
        group=a.draw(st.sampled_from(a.pools.groups)),
        agent=a.draw(st.none() | st.sampled_from(a.pools.actors)),
    ),
    lifecycle.RecordSupplierUpdate: lambda a: _supplier_update(
        a, a.draw(st.sampled_from(a.pools.suppliers))
    ),
}
"""Command type -> how its arguments are put together (and the extra ones drawn)."""


def _supplier_update(a: _Arguments, supplier: str) -> lifecycle.Command:
    return lifecycle.RecordSupplierUpdate(
        actor=f"supplier:{supplier}",
        supplier_id=supplier,
        ref=a.draw(st.sampled_from(a.pools.refs)),
        status=a.status,
    )


def draw_command(draw: st.DrawFn, kind: type[lifecycle.Command], pools: Pools) -> lifecycle.Command:
    """A command of ``kind`` with arguments drawn from ``pools``."""
    if kind in _BY_APPROVER:
        likely = st.sampled_from(pools.approvers)
    elif kind in _BY_REQUESTER:
        likely = st.just(pools.requester)
    else:
        likely = st.sampled_from(pools.likely)
    actor = draw(likely | st.sampled_from(pools.actors))
    arguments = _Arguments(
        draw=draw,
        pools=pools,
        actor=actor,
        worker=draw(st.sampled_from((lifecycle.WORKER,) * 3 + (actor,))),
        system=draw(st.sampled_from((lifecycle.SYSTEM,) * 3 + (actor,))),
        task=draw(st.sampled_from(pools.tasks)),
        effect=draw(st.sampled_from(pools.effects)),
        reason=draw(st.sampled_from(_REASONS)),
        impact=draw(st.none() | st.sampled_from(Impact)),
        urgency=draw(st.none() | st.sampled_from(Urgency)),
        status=draw(st.sampled_from(OrderStatus)),
    )
    return _BUILDERS[kind](arguments)


def check_catalog(catalog: object) -> Catalog | st.SearchStrategy[Catalog]:
    """The ``catalog`` argument, checked: the demo catalog for None."""
    if catalog is None:
        return demo_catalog()
    if not isinstance(catalog, Catalog | st.SearchStrategy):
        raise InvalidArgument(f"catalog={catalog!r} must be a Catalog, a strategy of them or None")
    return catalog


def draw_catalog(draw: st.DrawFn, catalog: Catalog | st.SearchStrategy[Catalog]) -> Catalog:
    """``catalog`` itself, or a catalog drawn from it when it is a strategy."""
    if isinstance(catalog, Catalog):
        return catalog
    drawn = draw(catalog)
    if not isinstance(drawn, Catalog):
        raise InvalidArgument(f"the catalog strategy drew {drawn!r}, not a Catalog")
    return drawn


@st.composite
def _command_sequences(
    draw: st.DrawFn, catalog: Catalog | st.SearchStrategy[Catalog], sizes: tuple[int, int]
) -> list[lifecycle.Command]:
    the_catalog = draw_catalog(draw, catalog)
    submit = draw(submissions(catalog=the_catalog))
    pools = blind_pools(the_catalog, submit, sizes[1])
    kinds = draw(st.lists(st.sampled_from(COMMAND_KINDS), min_size=sizes[0], max_size=sizes[1]))
    return [submit, *(draw_command(draw, kind, pools) for kind in kinds)]


def command_sequences(
    *,
    catalog: Catalog | st.SearchStrategy[Catalog] | None = None,
    min_size: int = 0,
    max_size: int = 30,
) -> st.SearchStrategy[list[lifecycle.Command]]:
    """A ``Submit`` for ``catalog`` followed by ``min_size`` to ``max_size`` other commands.

    The first command is always a valid :func:`submissions` draw, so a drawn
    list has ``1 + n`` commands with ``min_size <= n <= max_size``. The rest
    are any lifecycle command, drawn without looking at the request's state:
    actors are the catalog's group members, the requester, the requester's
    manager and a few strangers (plus, mostly, ``worker`` and ``system``, and
    ``supplier:<id>`` for the commands of the worker, the SLA timer and
    suppliers); task keys are the catalog's plan keys, ``fulfil`` and a key no
    plan has; effect ids are ``"<request id>/<n>"``. Feed them to
    :func:`reqfulfill.lifecycle.decide` one by one: **many are refused**
    (``TransitionError``, ``AuthorizationError``, ``ValidationError`` — all
    ``ReqfulfillError``), and that is the point: refusals are part of what a
    test checks. ``catalog`` is a ``Catalog``, a strategy of catalogs, or None
    for :func:`reqfulfill.testing.demo_catalog`.

    A test drives them like this::

        history, state = [], None
        for command in commands:
            try:
                new = lifecycle.decide(state, command, context)
            except ReqfulfillError:
                continue  # refused: nothing changed
            history += new
            state = lifecycle.replay(history) if history else None
    """

    def build() -> st.SearchStrategy[list[lifecycle.Command]]:
        sizes = check_sizes("size", min_size, max_size)
        return _command_sequences(check_catalog(catalog), sizes)

    return lazy(build)
