"""The plugin manager and the typed wrapper the host calls hooks through.

A plugin that fails never takes down hooks it does not implement: an entry point
that cannot be loaded is left out (and named when a hook it might have answered
goes unanswered), and an implementation that raises is named in a
:class:`~reqfulfill.model.errors.PluginError` raised from that hook's call only.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import ModuleType
from typing import Any, cast, final

import pluggy

from reqfulfill import hookspecs
from reqfulfill._hooks import PROJECT
from reqfulfill._plugin_loading import (
    ORIGINS,
    PluginOrigins,
    blame,
    describe_failures,
    load_entry_points,
    one_line,
    origins_of,
)
from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.catalog import Requester
from reqfulfill.model.errors import (
    InventoryError,
    NotFoundError,
    PluginError,
    ReqfulfillError,
    ValidationError,
    mask_password,
    short_repr,
)
from reqfulfill.model.events import Event
from reqfulfill.model.inventory import Asset, StockReservation
from reqfulfill.model.request import ServiceRequest, Task
from reqfulfill.model.supplier import Notification
from reqfulfill.stores import BuiltinStores, Store

__all__ = ["PluginHost", "get_plugin_manager", "open_store", "stable_name"]

log = logging.getLogger(__name__)


def get_plugin_manager(
    plugins: Iterable[object] = (), *, load_entrypoints: bool = True
) -> pluggy.PluginManager:
    """A plugin manager with reqfulfill's hooks, the built-in plugins, entry points
    (group ``reqfulfill``) and ``plugins`` registered.

    An entry point may name a module, an instance or a class (instantiated with no
    arguments). One that fails to load is left out and logged; a
    :class:`PluginHost` on this manager names it (a :class:`PluginError`) when a
    hook it might have answered goes unanswered. Raises
    ``pluggy.PluginValidationError`` for a misspelled hook implementation in
    ``plugins``.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(BuiltinStores(), name="reqfulfill.builtin-stores")
    origins = PluginOrigins()
    pm.register(origins, name=ORIGINS)
    if load_entrypoints:
        load_entry_points(pm, origins)
    for plugin in plugins:
        if not pm.is_registered(plugin):
            pm.register(plugin, name=_name_for(pm, plugin))
    pm.check_pending()
    return pm


def _name_for(pm: pluggy.PluginManager, plugin: object) -> str:
    """A readable name for a plugin registered in code, for errors: a module's name, else
    its class's (``FakeSupplier``, then ``FakeSupplier#2``...)."""
    base = plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__qualname__
    name, number = base, 1
    while pm.has_plugin(name) or pm.is_blocked(name):
        number += 1
        name = f"{base}#{number}"
    return name


def open_store(url: str, plugins: Iterable[object] | None = None) -> Store:
    """The store for ``url`` from the first storage plugin that takes it.

    >>> open_store("memory://").load("nothing")
    []
    """
    pm = get_plugin_manager(plugins or ())
    return PluginHost(pm).storage(url)


@final
class PluginHost:
    """One typed method per hook; always calls with keyword arguments (tox's habit).

    A hook implementation that raises anything but a :class:`ReqfulfillError` (which
    is a plugin's deliberate answer, such as ``AutomationError``) is re-raised as a
    :class:`PluginError` naming the plugin, its distribution and the hook, the
    original exception as its cause. A hook left unanswered while some plugin
    failed to load raises that plugin's :class:`PluginError` instead of the usual
    "not found": it may be the plugin that would have answered.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._origins = origins_of(pm)
        self._connectors: dict[str, SupplierConnector] | None = None
        self._connector_failures: list[PluginError] = []

    @property
    def failures(self) -> tuple[PluginError, ...]:
        """The entry-point plugins that failed to load (each a :class:`PluginError`)."""
        return tuple(self._origins.failures)

    @property
    def connector_failures(self) -> tuple[PluginError, ...]:
        """The plugins that raised the last time the connectors were asked for."""
        return tuple(self._connector_failures)

    def _call(self, caller: pluggy.HookCaller, **kwargs: Any) -> Any:
        """Call a hook; an implementation's unexpected exception names its plugin."""
        try:
            return caller(**kwargs)
        except ReqfulfillError:
            raise
        except Exception as exc:
            named = blame(caller, exc, self._origins)
            if named is None:
                raise
            raise named from exc

    def _unanswered(self, what: str, failed: Iterable[PluginError] = ()) -> PluginError | None:
        """The error for a hook nobody answered about ``what`` when some plugins failed
        (``failed``: while answering it; else those that failed to load), or None."""
        failures = list(failed) or list(self._origins.failures)
        if not failures:
            return None
        first, others = failures[0], failures[1:]
        reason = f"{first.reason}; no other plugin answers {what}"
        if others:
            reason += f" (these failed too: {describe_failures(others)})"
        error = PluginError(first.plugin, first.distribution, reason, hook=first.hook)
        error.__cause__ = first.__cause__
        return error

    def storage(self, url: str) -> Store:
        """The store for ``url`` (its password is never in an error's message)."""
        if not isinstance(url, str):
            raise ValidationError.single("store", url, "a store is a URL string or a Store")
        store: Store | None = self._call(self.pm.hook.reqfulfill_storage, url=url)
        if store is None:
            masked = mask_password(url)
            failed = self._unanswered(f"the store URL {masked!r}")
            if failed is not None:
                raise failed
            raise ValidationError.single("store", masked, "no storage plugin handles this URL")
        return store

    def connectors(self) -> Mapping[str, SupplierConnector]:
        """Every supplier connector by supplier id (first registration wins).

        Each plugin is asked on its own: one that raises is left out of the answer
        (and named when a supplier no other plugin serves is looked up), and the
        plugins are asked again next time. A complete answer is kept.
        """
        if self._connectors is not None:
            return self._connectors
        found: dict[str, SupplierConnector] = {}
        failures: list[PluginError] = []
        caller = self.pm.hook.reqfulfill_supplier_connectors
        # pluggy calls the implementations registered last first
        for impl in reversed(caller.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            try:
                batch = cast("Iterable[SupplierConnector] | None", impl.function())
            except ReqfulfillError:
                raise
            except Exception as exc:
                error = PluginError(
                    impl.plugin_name,
                    self._origins.distribution(impl.plugin_name),
                    one_line(exc),
                    hook=caller.name,
                )
                error.__cause__ = exc
                log.error("%s", error)
                failures.append(error)
                continue
            for connector in batch or ():
                found.setdefault(connector.supplier_id, connector)
        self._connector_failures = failures
        if not failures:
            self._connectors = found
        return found

    def connector(self, supplier_id: str) -> SupplierConnector:
        """The connector for a supplier; ``NotFoundError`` if no plugin provides one, the
        :class:`PluginError` of a plugin that failed (to load or to answer) if one did."""
        found = self.connectors()
        if supplier_id in found:
            return found[supplier_id]
        failed = self._unanswered(f"for supplier {supplier_id!r}", self._connector_failures)
        if failed is not None:
            raise failed
        raise NotFoundError("supplier", supplier_id)

    def group_members(self, group_id: str) -> set[str]:
        """Members the directory plugins add to a group."""
        out: set[str] = set()
        for members in self._call(self.pm.hook.reqfulfill_group_members, group_id=group_id):
            out.update(members or ())
        return out

    def agent_available(self, agent_id: str, at: datetime) -> bool:
        """Whether the agent can take work (available unless a plugin says no)."""
        answer = self._call(self.pm.hook.reqfulfill_agent_available, agent_id=agent_id, at=at)
        return True if answer is None else bool(answer)

    def requester(self, address: str) -> Requester | None:
        """The requester a plugin knows by mail or chat address (first answer), if any;
        an answer that is not a ``Requester`` is a ``ValidationError`` naming the hook."""
        found: object = self.pm.hook.reqfulfill_requester(address=address)
        if found is None or isinstance(found, Requester):
            return found
        raise ValidationError.single(
            "reqfulfill_requester", found, f"a plugin's answer for {address!r} is not a Requester"
        )

    def approvers(self, request: ServiceRequest) -> set[str]:
        """Approvers the plugins add."""
        out: set[str] = set()
        for who in self._call(self.pm.hook.reqfulfill_approvers, request=request):
            out.update(who or ())
        return out

    def delegate(self, actor: str, at: datetime) -> str | None:
        """Who approves in ``actor``'s place at ``at`` (the first plugin's answer), if anyone."""
        answer = self.pm.hook.reqfulfill_delegate(actor=actor, at=at)
        return answer if isinstance(answer, str) and answer else None

    def render_notification(
        self, notification: Notification, request: ServiceRequest
    ) -> Notification:
        """The notification as a plugin renders it (its own templates), or as it is."""
        rendered: Notification | None = self._call(
            self.pm.hook.reqfulfill_render_notification,
            notification=notification,
            request=request,
        )
        return rendered if rendered is not None else notification

    def notify(self, notification: Notification) -> None:
        """Hand a notification to every notifier."""
        self._call(self.pm.hook.reqfulfill_notify, notification=notification)

    def run_automation(
        self, task: Task, request: ServiceRequest, idempotency_key: str
    ) -> Mapping[str, Any] | None:
        """Run an automated task through the first runner that handles it; None when
        none does, or the :class:`PluginError` of a plugin that failed to load."""
        result: Mapping[str, Any] | None = self._call(
            self.pm.hook.reqfulfill_run_automation,
            task=task,
            request=request,
            idempotency_key=idempotency_key,
        )
        if result is None:
            failed = self._unanswered(f"task {task.key!r} of {request.id}")
            if failed is not None:
                raise failed
        return result

    @staticmethod
    def _implementations(caller: pluggy.HookCaller) -> list[tuple[str, Any]]:
        """A hook's implementations in registration order, with their plugins' stable
        names (pluggy calls the last registered first; the inventory asks in
        registration order)."""
        return [
            (stable_name(impl.plugin_name, impl.plugin), impl) for impl in caller.get_hookimpls()
        ]

    def reserve_stock(
        self, item: str, quantity: int, location: str, key: str
    ) -> tuple[str, StockReservation] | None:
        """The first reservation an inventory plugin makes, with the plugin's name; None
        when none has the item in stock. ``InventoryError`` naming the plugin when one
        fails or answers with anything but a reservation of ``quantity``."""
        for name, answer in self.stock_answers(item, quantity, location, key):
            if isinstance(answer, InventoryError):
                raise answer
            if answer is not None:
                return name, self.exact_reservation(name, answer, item, quantity)
        return None

    @staticmethod
    def exact_reservation(
        plugin: str, reservation: StockReservation, item: str, quantity: int
    ) -> StockReservation:
        """``reservation`` if it is of ``quantity``; else the ``InventoryError`` naming
        ``plugin``, which made it (retryable: the plugin may be fixed meanwhile)."""
        if reservation.quantity != quantity:
            raise InventoryError(
                f"reserved {reservation.quantity} of {item!r} where {quantity} was asked for",
                plugin=plugin,
            )
        return reservation

    def stock_answers(
        self, item: str, quantity: int, location: str, key: str, *, every: bool = False
    ) -> list[tuple[str, StockReservation | InventoryError | None]]:
        """Each inventory plugin's answer to ``reqfulfill_reserve_stock``, in
        registration order, with its name: a reservation (of any quantity: see
        :meth:`exact_reservation`), None (nothing in stock), or the ``InventoryError`` naming it
        that it raised or that its malformed answer is. The plugins are asked up to the
        first answer that is not None, or with ``every``, all of them (what each holds
        under ``key``: a retried reservation may have reached any of them). A quantity
        that is not a positive whole number is a ``ValidationError``, before any
        plugin is asked."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValidationError.single("quantity", quantity, "a positive whole number")
        arguments = {"item": item, "quantity": quantity, "location": location, "key": key}
        answers: list[tuple[str, StockReservation | InventoryError | None]] = []
        for name, impl in self._implementations(self.pm.hook.reqfulfill_reserve_stock):
            answer: StockReservation | InventoryError | None
            try:
                result = _call(name, impl, arguments)
            except InventoryError as exc:
                answer = exc
            else:
                if result is None or isinstance(result, StockReservation):
                    answer = result
                else:
                    answer = InventoryError(
                        f"reserve_stock returned {short_repr(result)}, "
                        "not a StockReservation or None",
                        plugin=name,
                    )
            answers.append((name, answer))
            if answer is not None and not every:
                break
        return answers

    def release_stock(self, plugin: str, reservation: StockReservation, key: str) -> None:
        """Give ``reservation`` back to the inventory plugin ``plugin`` that made it."""
        for name, impl in self._implementations(self.pm.hook.reqfulfill_release_stock):
            if name == plugin:
                _call(name, impl, {"reservation": reservation, "key": key})
                return
        raise InventoryError(
            f"no such inventory plugin releases stock (reservation {reservation.ref!r})",
            plugin=plugin,
            retryable=False,
        )

    def asset_handed_over(self, request: ServiceRequest, asset: Asset, key: str) -> None:
        """Tell every plugin of an asset handed over."""
        self.pm.hook.reqfulfill_asset_handed_over(request=request, asset=asset, key=key)

    def on_event(self, event: Event) -> None:
        """Tell the observers; their failures are logged, never raised."""
        try:
            self._call(self.pm.hook.reqfulfill_on_event, event=event)
        except Exception:
            log.exception("an observer failed on %s", event.event_id)


def _call(name: str, impl: Any, arguments: Mapping[str, Any]) -> Any:
    """Call one hook implementation with the arguments it takes; its failure is an
    ``InventoryError`` naming it (retryable unless it said otherwise)."""
    try:
        return impl.function(*[arguments[a] for a in impl.argnames])
    except InventoryError as exc:
        raise exc.named(name) from exc
    except ReqfulfillError as exc:
        raise InventoryError(str(exc), plugin=name, retryable=False) from exc
    except Exception as exc:
        raise InventoryError(f"{type(exc).__name__}: {exc}", plugin=name) from exc


def stable_name(registered: str, plugin: object) -> str:
    """A plugin's name that is the same in every process: the name it was registered
    under (an entry point's name), unless pluggy made one up from the object's
    address; then its class's qualified name (a module plugin: the module's name).
    It is recorded with a reservation, so that any worker gives the reservation back
    to the plugin that made it.

    >>> class Stockroom: ...
    >>> room = Stockroom()
    >>> stable_name(str(id(room)), room).endswith("Stockroom")
    True
    >>> stable_name("snipe-it", room)
    'snipe-it'
    """
    if registered != str(id(plugin)):
        return registered
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    kind = type(plugin)
    return f"{kind.__module__}.{kind.__qualname__}"
