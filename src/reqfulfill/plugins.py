"""The plugin manager and the typed wrapper the host calls hooks through."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import ModuleType
from typing import Any, final

import pluggy

from reqfulfill import hookspecs
from reqfulfill._hooks import PROJECT
from reqfulfill.connectors import SupplierConnector
from reqfulfill.model.errors import (
    InventoryError,
    NotFoundError,
    ReqfulfillError,
    ValidationError,
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

    Raises ``pluggy.PluginValidationError`` for a misspelled hook implementation.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(BuiltinStores(), name="reqfulfill.builtin-stores")
    if load_entrypoints:
        pm.load_setuptools_entrypoints(PROJECT)
    for plugin in plugins:
        if not pm.is_registered(plugin):
            pm.register(plugin)
    pm.check_pending()
    return pm


def open_store(url: str, plugins: Iterable[object] | None = None) -> Store:
    """The store for ``url`` from the first storage plugin that takes it.

    >>> open_store("memory://").load("nothing")
    []
    """
    pm = get_plugin_manager(plugins or ())
    return PluginHost(pm).storage(url)


@final
class PluginHost:
    """One typed method per hook; always calls with keyword arguments (tox's habit)."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._connectors: dict[str, SupplierConnector] | None = None

    def storage(self, url: str) -> Store:
        """The store for ``url``."""
        if not isinstance(url, str):
            raise ValidationError.single("store", url, "a store is a URL string or a Store")
        store: Store | None = self.pm.hook.reqfulfill_storage(url=url)
        if store is None:
            raise ValidationError.single("store", url, "no storage plugin handles this URL")
        return store

    def connectors(self) -> Mapping[str, SupplierConnector]:
        """Every supplier connector by supplier id (first registration wins)."""
        if self._connectors is None:
            found: dict[str, SupplierConnector] = {}
            for batch in self.pm.hook.reqfulfill_supplier_connectors():
                for connector in batch or ():
                    found.setdefault(connector.supplier_id, connector)
            self._connectors = found
        return self._connectors

    def connector(self, supplier_id: str) -> SupplierConnector:
        """The connector for a supplier; ``NotFoundError`` if no plugin provides one."""
        try:
            return self.connectors()[supplier_id]
        except KeyError:
            raise NotFoundError("supplier", supplier_id) from None

    def group_members(self, group_id: str) -> set[str]:
        """Members the directory plugins add to a group."""
        out: set[str] = set()
        for members in self.pm.hook.reqfulfill_group_members(group_id=group_id):
            out.update(members or ())
        return out

    def agent_available(self, agent_id: str, at: datetime) -> bool:
        """Whether the agent can take work (available unless a plugin says no)."""
        answer = self.pm.hook.reqfulfill_agent_available(agent_id=agent_id, at=at)
        return True if answer is None else bool(answer)

    def approvers(self, request: ServiceRequest) -> set[str]:
        """Approvers the plugins add."""
        out: set[str] = set()
        for who in self.pm.hook.reqfulfill_approvers(request=request):
            out.update(who or ())
        return out

    def render_notification(
        self, notification: Notification, request: ServiceRequest
    ) -> Notification:
        """The notification as a plugin renders it (its own templates), or as it is."""
        rendered: Notification | None = self.pm.hook.reqfulfill_render_notification(
            notification=notification, request=request
        )
        return rendered if rendered is not None else notification

    def notify(self, notification: Notification) -> None:
        """Hand a notification to every notifier."""
        self.pm.hook.reqfulfill_notify(notification=notification)

    def run_automation(
        self, task: Task, request: ServiceRequest, idempotency_key: str
    ) -> Mapping[str, Any] | None:
        """Run an automated task through the first runner that handles it."""
        result: Mapping[str, Any] | None = self.pm.hook.reqfulfill_run_automation(
            task=task, request=request, idempotency_key=idempotency_key
        )
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
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValidationError.single("quantity", quantity, "a positive whole number")
        arguments = {"item": item, "quantity": quantity, "location": location, "key": key}
        for name, impl in self._implementations(self.pm.hook.reqfulfill_reserve_stock):
            result = _call(name, impl, arguments)
            if result is None:
                continue
            if not isinstance(result, StockReservation):
                raise InventoryError(
                    f"reserve_stock returned {short_repr(result)}, not a StockReservation or None",
                    plugin=name,
                )
            if result.quantity != quantity:
                raise InventoryError(
                    f"reserved {result.quantity} of {item!r} where {quantity} was asked for",
                    plugin=name,
                )
            return name, result
        return None

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
            self.pm.hook.reqfulfill_on_event(event=event)
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
