"""Plan building: the tasks a request's plan starts with, and the order a supplier
task asks for.

:func:`plan_tasks` turns an item's plan template into the planned tasks of one
request: a task whose ``when`` condition is false for the request's facts is left
out, and the tasks that came after it wait for what it waited for instead. A request
without an item gets the one task :data:`DEFAULT_TASK`. :func:`supplier_order` is the
order a supplier task sends (quantity and address from the answers).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from reqfulfill.lifecycle.context import Context, rules_api
from reqfulfill.lifecycle.draft import RequestDraft
from reqfulfill.model import events as ev
from reqfulfill.model.catalog import Catalog, PlanTemplate, ServiceItem, kept_dependencies
from reqfulfill.model.enums import TaskKind
from reqfulfill.model.request import Task
from reqfulfill.model.supplier import OrderLine, SupplierOrder

__all__ = ["DEFAULT_TASK", "Planned", "plan_tasks", "requested_quantity", "supplier_order"]

DEFAULT_TASK = ev.PlannedTask(key="fulfil", kind=TaskKind.MANUAL, title="Fulfil the request")
"""The one task of a request triaged without a service item."""

Planned = tuple[tuple[ev.PlannedTask, ...], tuple[str, ...]]
"""A request's planned tasks, and the keys of the template's tasks left out."""


def plan_tasks(context: Context, item: ServiceItem | None, facts: Mapping[str, object]) -> Planned:
    """The tasks of ``item``'s plan for a request with these facts, and those left out."""
    if item is None:
        return (DEFAULT_TASK,), ()
    template = context.catalog.plan(item.plan)
    if all(t.when is None for t in template.tasks):
        return _unconditional(template, item.supplier)
    matches = rules_api().matches
    keep = {t.key for t in template.tasks if t.when is None or matches(t.when, facts)}
    return _planned(template, keep, item.supplier)


@functools.lru_cache(maxsize=256)
def _unconditional(template: PlanTemplate, supplier: str | None) -> Planned:
    """The plan of a template without conditions: every request for an item with this
    template and supplier gets the same (immutable) tasks. Kept by value: a template
    without conditions is hashable, and the item's supplier is all it takes of the item."""
    return _planned(template, {t.key for t in template.tasks}, supplier)


def _planned(template: PlanTemplate, keep: set[str], supplier: str | None) -> Planned:
    # every task kept: each waits for its own ``after`` (each once, in order); else a
    # left-out task is replaced by the kept tasks it waited for (an iterative walk)
    waits = (
        {t.key: tuple(dict.fromkeys(t.after)) for t in template.tasks}
        if len(keep) == len(template.tasks)
        else kept_dependencies(template, keep)
    )
    tasks = tuple(
        ev.PlannedTask(
            key=t.key,
            kind=t.kind,
            title=t.title,
            after=waits[t.key],
            group=t.group,
            supplier=t.supplier or (supplier if t.kind.orders else None),
        )
        for t in template.tasks
        if t.key in keep
    )
    return tasks, tuple(t.key for t in template.tasks if t.key not in keep)


def requested_quantity(answers: Mapping[str, object]) -> int:
    """How many the request asks for: its ``quantity`` answer when that is a whole
    number of at least 1, else 1 (the same for a supplier order and a stock
    reservation).

    >>> requested_quantity({"quantity": 3}), requested_quantity({"quantity": "three"})
    (3, 1)
    """
    quantity = answers.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        return 1
    return quantity


def supplier_order(request: RequestDraft, catalog: Catalog, task: Task) -> SupplierOrder:
    """The order supplier task ``task`` asks for: the item, the quantity answered (1 if
    none or not a whole number), the delivery address answered (else the requester's
    location)."""
    answers = request.answers
    quantity = requested_quantity(answers)
    deliver_to = next(
        (
            str(answers[k])
            for k in ("delivery_address", "address", "location")
            if isinstance(answers.get(k), str) and answers[k]
        ),
        request.requester.location,
    )
    item = catalog.item(request.item) if request.item else None
    assert task.supplier is not None
    return SupplierOrder(
        supplier_id=task.supplier,
        request_id=request.id,
        task_key=task.key,
        lines=(
            OrderLine(
                item=request.item or task.key,
                quantity=quantity,
                description=item.name if item else task.title,
            ),
        ),
        deliver_to=deliver_to,
        requester=request.requester.id,
        reference=f"{request.id}/{task.key}",
        attributes=dict(item.attributes) if item else {},
    )
