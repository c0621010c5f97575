"""Hook specifications: what plugins can provide to reqfulfill.

Plugins register through the ``reqfulfill`` entry-point group (an entry point
naming a class, ``acme = "acme_connector:AcmePlugin"``, is instantiated with no
arguments; a module or an instance is registered as it is), through
``get_plugin_manager().register(obj)``, or per service with
``FulfillmentService(plugins=[obj, ...])``. Implementations are marked with
:data:`reqfulfill.hookimpl` and take their arguments by name. A plugin that fails
to load or raises is named in a :class:`reqfulfill.PluginError` (see
:mod:`reqfulfill.plugins`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from reqfulfill._hooks import hookspec
from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.catalog import Requester
from reqfulfill.model.events import Event
from reqfulfill.model.inventory import Asset, StockReservation
from reqfulfill.model.request import ServiceRequest, Task
from reqfulfill.model.supplier import Notification
from reqfulfill.stores import Store

# ---------------------------------------------------------------------------
# storage
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def reqfulfill_storage(url: str) -> Store | None:
    """Return the store for ``url``, or None when the URL is not yours.

    Called once by :func:`reqfulfill.open_store` (and by ``FulfillmentService``
    given a store URL). Stops at first non-None result. The built-in plugin
    answers ``memory://``, ``sqlite:///…`` and ``postgresql://…`` and runs last,
    so a plugin can take over any scheme.

    :param url: the store URL, e.g. ``memory://``, ``sqlite:///data/rf.db``.
    :return: an object implementing :class:`reqfulfill.stores.Store`, or None.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# suppliers
# ---------------------------------------------------------------------------


@hookspec
def reqfulfill_supplier_connectors() -> Sequence[SupplierConnector]:
    """Return the supplier connectors this plugin provides.

    Called the first time a service needs a connector (a worker starting, placing
    or polling an order, a pushed status update); the result is kept for the
    service's lifetime. All plugins are called, each on its own; the lists are
    joined, and the first connector with a given ``supplier_id`` wins. A plugin
    that raises is left out of that answer (and named in a
    :class:`reqfulfill.PluginError` when a supplier only it could serve is looked
    up), and the plugins are asked again next time.

    :return: connectors, each with ``supplier_id``, ``place_order(order,
        idempotency_key)``, ``order_status(ref)``, ``cancel_order(ref,
        idempotency_key)``.

    .. versionadded:: 0.1
    """
    return ()


# ---------------------------------------------------------------------------
# inventory
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def reqfulfill_reserve_stock(
    item: str, quantity: int, location: str, key: str
) -> StockReservation | None:
    """Reserve ``quantity`` of ``item`` for a request at ``location``, or say none is there.

    Called by the worker only, for the first task of kind ``stock_or_order`` that
    starts, as an outbox effect: ``key`` is the effect's id, the same on every retry,
    so reserve each key once (a second call with a known key returns the first
    reservation, even one given back). Plugins are asked in registration order; the
    first non-None answer wins. With none, the item's supplier order is placed.

    Once an attempt may have reached the inventory (a retry, after an error or a
    crash), every plugin is asked with the key, so that what one reserved under it
    before is found: the first answer is kept and every other plugin's reservation is
    given back (``reqfulfill_release_stock``). When the effect fails for good, every
    plugin is asked once more and what they answer is given back. A plugin asked for
    the first time then may reserve only to have it given back.

    Raise :class:`reqfulfill.InventoryError` with ``retryable`` to fail the attempt
    (any other exception counts as retryable); an unknown item is an
    ``InventoryError`` too. A result that is not a ``StockReservation`` of exactly
    ``quantity`` is an ``InventoryError`` naming the plugin: the effect is not marked
    done and is tried again with the same key.

    :param item: the service item's id.
    :param quantity: how many, at least 1 (the request's ``quantity`` answer, else 1).
    :param location: the requester's location.
    :param key: the idempotency key.
    :return: a :class:`reqfulfill.StockReservation`, or None when nothing is in stock.

    .. versionadded:: 0.2
    """


@hookspec
def reqfulfill_release_stock(reservation: StockReservation, key: str) -> None:
    """Give ``reservation`` back (the request was cancelled, the task restarted or
    skipped, another plugin's answer was kept, or the reserve effect failed). Called
    by the worker on the plugin that made the reservation only, with
    the release effect's id as ``key`` (release each key once). Errors are retried as
    for ``reqfulfill_reserve_stock``.

    .. versionadded:: 0.2
    """


@hookspec
def reqfulfill_asset_handed_over(request: ServiceRequest, asset: Asset, key: str) -> None:
    """A requester confirmed receipt of a device shipped with an asset tag or serial
    number: register it in the host's CMDB. Called by the worker, on every plugin, once
    per ``AssetHandedOver`` event; ``key`` (the event's id) is the same on every retry.
    Raising makes the worker retry later with backoff.

    .. versionadded:: 0.2
    """


# ---------------------------------------------------------------------------
# directory
# ---------------------------------------------------------------------------


@hookspec
def reqfulfill_group_members(group_id: str) -> Iterable[str] | None:
    """Return extra members of a support group (the catalog lists the rest).

    Called when a command checks who may act and when an agent is chosen. All
    plugins are called; the union of the ids returned and the catalog's
    ``SupportGroup.members`` is the group.

    :param group_id: the support group's id.
    :return: agent ids, or None.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def reqfulfill_requester(address: str) -> Requester | None:
    """Return the requester who writes from mail or chat ``address``, if you know them.

    Called by :meth:`FulfillmentService.receive <reqfulfill.FulfillmentService.receive>`
    for a message that starts a new request when the host named no requester. Stops
    at the first non-None result; with no answer the message is refused
    (``NotFoundError`` naming the address) and nothing is written.

    :param address: the sender's address, lower case (``erin.user@example.com``).
    :return: a :class:`~reqfulfill.Requester`, or None.

    .. versionadded:: 0.2
    """


@hookspec(firstresult=True)
def reqfulfill_agent_available(agent_id: str, at: datetime) -> bool | None:
    """Say whether an agent can take work at ``at`` (for round robin and least loaded).

    Stops at first non-None result; with no answer the agent is available.

    :param agent_id: the agent's id.
    :param at: the time of the assignment.
    :return: True, False, or None for "don't know".

    .. versionadded:: 0.1
    """


@hookspec
def reqfulfill_approvers(request: ServiceRequest) -> Iterable[str] | None:
    """Return actors who may approve or reject ``request``, besides the requester's manager.

    Called when a request needs approval and when someone approves or rejects.
    All plugins are called; the union of the ids returned may approve. The
    requester never may, whatever a plugin returns.

    :param request: the request as it stands.
    :return: actor ids, or None.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def reqfulfill_delegate(actor: str, at: datetime) -> str | None:
    """Name who approves in ``actor``'s place at ``at`` (while they are on leave, say).

    Called for each approver when an approval stage of an approval policy starts (and
    for ``escalate_to`` when a stage escalates); the history records each delegation
    (``ApprovalDelegated``). Stops at first non-None result; with none, ``actor``
    approves. A delegate is not asked for their own delegate, and the requester never
    approves, even as a delegate.

    :param actor: an approver of the stage.
    :param at: when the stage starts.
    :return: the delegate's actor id, or None.

    .. versionadded:: 0.2
    """


# ---------------------------------------------------------------------------
# notifications
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def reqfulfill_render_notification(
    notification: Notification, request: ServiceRequest
) -> Notification | None:
    """Render a notification with the host's own templates (language, branding).

    Called by the worker just before ``reqfulfill_notify``. Stops at first
    non-None result; with none, the built-in subject and body are sent.

    :param notification: the notification with reqfulfill's default text; its
        ``kind`` says which message it is (``request_closed``, ``sla_warning``...).
    :param request: the request as it stands.
    :return: a replacement :class:`~reqfulfill.Notification` (keep ``key``,
        ``recipient`` and ``request_id``), or None.

    .. versionadded:: 0.1
    """


@hookspec
def reqfulfill_notify(notification: Notification) -> None:
    """Deliver a notification (e-mail, chat, portal inbox...).

    Called by the worker for every ``NotificationRequested`` event, at or after
    its ``not_before`` time, that the request still wants then (an "approval
    needed" of a request approved or cancelled meanwhile is abandoned unsent).
    ``notification.key`` is the event id, the same on every retry: deliver each
    key once. All plugins are called. Raising an
    exception makes the worker retry later with backoff; after the last attempt
    the history records ``EffectAbandoned``.

    :param notification: kind, recipient (an actor id or ``group:<id>``),
        request id, subject and body.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# automations
# ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def reqfulfill_run_automation(
    task: Task, request: ServiceRequest, idempotency_key: str
) -> Mapping[str, Any] | None:
    """Perform an ``automated`` task (grant an access right, reset a password...).

    Called by the worker for every ``AutomationRequested`` event whose request still
    wants it (worked on, the task in progress and this its current effect); the same
    ``idempotency_key`` is passed on every retry of the same effect. Stops at
    first non-None result.

    :param task: the task to perform.
    :param request: the request as it stands.
    :param idempotency_key: the effect's event id.
    :return: a result mapping (recorded with the completion) when this plugin
        handles the task, None otherwise. Raise
        :class:`reqfulfill.AutomationError` with ``retryable`` to fail the
        attempt; any other exception counts as retryable.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# observers
# ---------------------------------------------------------------------------


@hookspec
def reqfulfill_on_event(event: Event) -> None:
    """Observe an event after it is committed (audit feeds, search indexes, metrics).

    Called once per event after every successful append, in order. All
    plugins are called; exceptions are logged and do not undo the append.

    :param event: the committed event.

    .. versionadded:: 0.1
    """
