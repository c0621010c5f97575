"""What a catalog needs from plugins, and whether the installed plugins provide it.

A :class:`Need` is one thing the catalog names that only a plugin can serve: today
a supplier (served by a connector from the ``reqfulfill_supplier_connectors``
hook). :func:`catalog_needs` lists them with the path that names each one;
:func:`unserved` keeps those no plugin serves. The :class:`~reqfulfill.Worker`
refuses to start while any is unserved (unless the host allows it), so a missing
connector is found at deploy time, not when the first order fails for good.

A new kind of need (an inventory pool a stock plugin serves...) is one finder
added to :data:`FINDERS` and one entry in :data:`PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

import attrs

from reqfulfill.model.catalog import Catalog
from reqfulfill.model.errors import Problem, ValidationError
from reqfulfill.plugins import PluginHost
from reqfulfill.serialization.arguments import check_id

__all__ = [
    "FINDERS",
    "PROVIDERS",
    "Need",
    "catalog_needs",
    "check_served",
    "supplier_needs",
    "unserved",
]


@attrs.frozen
class Need:
    """Something the catalog names that a plugin must serve.

    ``kind`` says what (``"supplier"``), ``key`` which one (the supplier id),
    ``path`` where the catalog names it (``items[3].supplier``,
    ``plans[1].tasks[0].supplier``) and ``items`` the ids of the items that need it.
    """

    kind: str
    key: str
    path: str
    items: tuple[str, ...]

    def problem(self) -> Problem:
        """The :class:`Problem` saying that no installed plugin serves this need."""
        return Problem(
            self.path,
            self.key,
            f"no installed plugin serves {self.kind} {self.key!r} (needed by item"
            f"{'s' if len(self.items) > 1 else ''} {', '.join(map(repr, self.items))}): "
            f"install or register its plugin, or start the worker with "
            f"allow_missing=[{self.key!r}]",
        )


def supplier_needs(catalog: Catalog) -> list[Need]:
    """Every supplier a task of an item's plan may order from (``supplier_order``, and
    ``stock_or_order`` when nothing is in stock), once per place that names it: the
    task when it names its supplier, else the item."""
    plan_index = {plan.id: index for index, plan in enumerate(catalog.plans)}
    found: dict[tuple[str, str], list[str]] = {}
    for item_index, item in enumerate(catalog.items):
        plan = catalog.plan(item.plan)
        for task_index, task in enumerate(plan.tasks):
            if not task.kind.orders:
                continue
            if task.supplier is not None:
                path = f"plans[{plan_index[plan.id]}].tasks[{task_index}].supplier"
                supplier = task.supplier
            elif item.supplier is not None:
                path, supplier = f"items[{item_index}].supplier", item.supplier
            else:
                continue  # the catalog's own check refuses this
            users = found.setdefault((path, supplier), [])
            if item.id not in users:
                users.append(item.id)
    return [Need("supplier", key, path, tuple(items)) for (path, key), items in found.items()]


FINDERS: Final[tuple[Callable[[Catalog], list[Need]], ...]] = (supplier_needs,)
"""The functions listing a catalog's needs, one per kind."""

PROVIDERS: Final[Mapping[str, Callable[[PluginHost], Iterable[str]]]] = {
    "supplier": lambda plugins: plugins.connectors().keys(),
}
"""For each kind of need, the keys the installed plugins serve."""


def catalog_needs(catalog: Catalog) -> list[Need]:
    """Everything ``catalog`` needs from plugins, kind by kind, in catalog order."""
    return [need for finder in FINDERS for need in finder(catalog)]


def unserved(catalog: Catalog, plugins: PluginHost) -> list[Need]:
    """The needs of ``catalog`` that no plugin of ``plugins`` serves."""
    needs = catalog_needs(catalog)
    served = {kind: set(PROVIDERS[kind](plugins)) for kind in {n.kind for n in needs}}
    return [need for need in needs if need.key not in served[need.kind]]


def _allowed(allow_missing: bool | Iterable[str]) -> bool | frozenset[str]:
    """``allow_missing`` checked: True, False, or the set of keys (a list of ids)."""
    if isinstance(allow_missing, bool):
        return allow_missing
    if isinstance(allow_missing, str | bytes | Mapping) or not isinstance(allow_missing, Iterable):
        raise ValidationError.single(
            "allow_missing", allow_missing, "expected True, False or a list of supplier ids"
        )
    return frozenset(
        check_id(key, f"allow_missing[{index}]") for index, key in enumerate(allow_missing)
    )


def check_served(
    catalog: Catalog, plugins: PluginHost, allow_missing: bool | Iterable[str] = False
) -> list[Need]:
    """Raise :class:`ValidationError` listing every need no plugin serves, and every
    plugin that failed to load, unless ``allow_missing`` allows the need (True: all;
    a list: the needs with these keys). Returns the unserved needs that were allowed.

    Plugins that failed to load are problems whatever ``allow_missing`` says: a worker
    with a notifier or a runner missing would drop or fail work without a word.
    """
    allowed = _allowed(allow_missing)
    keys: frozenset[str] = frozenset() if isinstance(allowed, bool) else allowed
    missing = unserved(catalog, plugins)
    failures = [*plugins.failures, *plugins.connector_failures]
    problems = [
        Problem(f"plugins[{failure.plugin!r}]", failure.distribution, str(failure))
        for failure in failures
    ]
    permitted = [need for need in missing if allowed is True or need.key in keys]
    problems += [need.problem() for need in missing if need not in permitted]
    if problems:
        error = ValidationError(problems, source="the worker cannot start")
        if failures:
            raise error from failures[0]
        raise error
    return permitted
