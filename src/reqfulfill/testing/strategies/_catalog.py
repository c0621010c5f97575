"""Strategies for catalog types: requesters, support groups, task and plan templates, items.

:func:`catalogs` puts them together so that every reference resolves.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill.model.catalog import (
    Catalog,
    PlanTemplate,
    Requester,
    ServiceItem,
    SupportGroup,
    TaskTemplate,
)
from reqfulfill.model.enums import Impact, TaskKind, Urgency
from reqfulfill.model.inventory import StockReservation
from reqfulfill.testing.strategies._basics import (
    DEFAULT_SUPPLIERS,
    WORDS,
    attributes,
    check_ids,
    check_sizes,
    lazy,
    names,
    slugs,
    words,
)
from reqfulfill.testing.strategies._rules import conditions

__all__ = [
    "catalogs",
    "plan_templates",
    "requesters",
    "service_items",
    "support_groups",
    "task_templates",
]


def requesters() -> st.SearchStrategy[Requester]:
    """Requesters with slug ids, some VIPs, some with a manager.

    >>> requester = requesters().example()  # doctest: +SKIP
    """
    return st.builds(
        Requester,
        id=slugs,
        name=names,
        department=words,
        location=words,
        vip=st.booleans(),
        manager=st.none() | slugs,
    )


def stock_reservations() -> st.SearchStrategy[StockReservation]:
    """Reservations an inventory plugin may answer with (a ref, a location, 1 to 5 items).

    >>> reservation = stock_reservations().example()  # doctest: +SKIP
    """
    return st.builds(StockReservation, ref=slugs, location=words, quantity=st.integers(1, 5))


def support_groups(*, escalates_to: Sequence[str] = ()) -> st.SearchStrategy[SupportGroup]:
    """Support groups with unique members; ``escalates_to`` is None or one of ``escalates_to``.

    >>> group = support_groups(escalates_to=["desk-l2"]).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[SupportGroup]:
        above = check_ids("escalates_to", escalates_to, allow_empty=True)
        return st.builds(
            SupportGroup,
            id=slugs,
            name=names,
            members=st.lists(slugs, unique=True, max_size=4).map(tuple),
            escalates_to=st.none() | st.sampled_from(above) if above else st.none(),
        )

    return lazy(build)


def task_templates(
    *,
    keys: st.SearchStrategy[str] | None = None,
    groups: Sequence[str] = (),
    suppliers: Sequence[str] = (),
    kinds: Sequence[TaskKind] = tuple(TaskKind),
) -> st.SearchStrategy[TaskTemplate]:
    """A single task with no ``after``: its group from ``groups``, supplier from ``suppliers``.

    A ``supplier_order`` task names a supplier only when ``suppliers`` is not
    empty (otherwise the catalog item must name one); ``when`` is None or a
    condition from :func:`conditions`.

    >>> task = task_templates(groups=["desk"], kinds=[TaskKind.MANUAL]).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[TaskTemplate]:
        group_ids = check_ids("groups", groups, allow_empty=True)
        supplier_ids = check_ids("suppliers", suppliers, allow_empty=True)
        kind_list = tuple(kinds)
        if not kind_list or not all(isinstance(k, TaskKind) for k in kind_list):
            raise InvalidArgument(f"kinds={kinds!r} must be a non-empty sequence of TaskKind")
        return st.builds(
            TaskTemplate,
            key=keys if keys is not None else slugs,
            kind=st.sampled_from(kind_list),
            title=names,
            group=st.none() | st.sampled_from(group_ids) if group_ids else st.none(),
            supplier=(st.none() | st.sampled_from(supplier_ids) if supplier_ids else st.none()),
            when=st.none() | conditions(max_depth=1),
        )

    return lazy(build)


@st.composite
def _plan_templates(
    draw: st.DrawFn,
    min_size: int,
    max_size: int,
    groups: tuple[str, ...],
    suppliers: tuple[str, ...],
    kinds: tuple[TaskKind, ...],
) -> PlanTemplate:
    keys = draw(st.lists(slugs, min_size=min_size, max_size=max_size, unique=True))
    tasks: list[TaskTemplate] = []
    for index, key in enumerate(keys):
        task = draw(
            task_templates(keys=st.just(key), groups=groups, suppliers=suppliers, kinds=kinds)
        )
        after = draw(st.lists(st.sampled_from(keys[:index]), unique=True)) if index else []
        tasks.append(
            TaskTemplate(
                key=task.key,
                kind=task.kind,
                title=task.title,
                after=tuple(after),
                group=task.group,
                supplier=task.supplier,
                when=task.when,
            )
        )
    # attrs' ``converter=tuple`` confuses mypy's view of the argument type
    return PlanTemplate(id=draw(slugs), tasks=tuple(tasks))  # type: ignore[arg-type]


def plan_templates(
    *,
    min_size: int = 1,
    max_size: int = 5,
    groups: Sequence[str] = (),
    suppliers: Sequence[str] = (),
    kinds: Sequence[TaskKind] = tuple(TaskKind),
) -> st.SearchStrategy[PlanTemplate]:
    """Plans of ``min_size`` to ``max_size`` tasks forming a DAG (``after`` names earlier keys).

    ``groups``, ``suppliers`` and ``kinds`` are passed to :func:`task_templates`.

    >>> plan = plan_templates(max_size=3).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[PlanTemplate]:
        lo, hi = check_sizes("size", min_size, max_size, minimum=1)
        group_ids = check_ids("groups", groups, allow_empty=True)
        supplier_ids = check_ids("suppliers", suppliers, allow_empty=True)
        kind_list = tuple(kinds)
        if not kind_list or not all(isinstance(k, TaskKind) for k in kind_list):
            raise InvalidArgument(f"kinds={kinds!r} must be a non-empty sequence of TaskKind")
        return _plan_templates(lo, hi, group_ids, supplier_ids, kind_list)

    return lazy(build)


def _needs_supplier(plan: PlanTemplate) -> bool:
    return any(t.kind.orders and not t.supplier for t in plan.tasks)


@st.composite
def _service_items(
    draw: st.DrawFn,
    groups: tuple[str, ...] | None,
    plans: tuple[PlanTemplate | str, ...] | None,
    suppliers: tuple[str, ...],
) -> ServiceItem:
    if plans is None:
        plan: PlanTemplate | str = draw(slugs)
    else:
        usable = (
            plans
            if suppliers
            else tuple(p for p in plans if not (isinstance(p, PlanTemplate) and _needs_supplier(p)))
        )
        plan = draw(st.sampled_from(usable))
    if isinstance(plan, PlanTemplate) and _needs_supplier(plan):
        supplier: str | None = draw(st.sampled_from(suppliers))
    else:
        supplier = draw(st.none() | st.sampled_from(suppliers)) if suppliers else None
    return ServiceItem(
        id=draw(slugs),
        name=draw(names),
        category=draw(st.sampled_from(WORDS[:6])),
        group=draw(st.sampled_from(groups) if groups else slugs),
        impact=draw(st.sampled_from(Impact)),
        urgency=draw(st.sampled_from(Urgency)),
        plan=plan.id if isinstance(plan, PlanTemplate) else plan,
        physical=draw(st.booleans()),
        supplier=supplier,
        requires_approval=draw(st.booleans()),
        attributes=draw(attributes),
    )


def service_items(
    *,
    groups: Sequence[str] | None = None,
    plans: Sequence[PlanTemplate | str] | None = None,
    suppliers: Sequence[str] = DEFAULT_SUPPLIERS,
) -> st.SearchStrategy[ServiceItem]:
    """Service items whose group is one of ``groups`` and plan one of ``plans``.

    With None, group and plan are random ids. When a plan template orders from
    a supplier without naming one, the item names one of ``suppliers``; with
    ``suppliers=()`` such plans are never chosen.

    >>> item = service_items(groups=["desk"], plans=["p"]).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[ServiceItem]:
        group_ids = None if groups is None else check_ids("groups", groups)
        supplier_ids = check_ids("suppliers", suppliers, allow_empty=True)
        plan_list: tuple[PlanTemplate | str, ...] | None = None
        if plans is not None:
            if isinstance(plans, str) or not isinstance(plans, Sequence) or not plans:
                raise InvalidArgument(f"plans={plans!r} must be a non-empty sequence")
            plan_list = tuple(plans)
            for plan in plan_list:
                if not isinstance(plan, PlanTemplate | str):
                    raise InvalidArgument(f"plans holds {plan!r}: expected a PlanTemplate or id")
            if not supplier_ids and all(
                isinstance(p, PlanTemplate) and _needs_supplier(p) for p in plan_list
            ):
                raise InvalidArgument("every plan orders from a supplier but suppliers is empty")
        return _service_items(group_ids, plan_list, supplier_ids)

    return lazy(build)


@st.composite
def _catalogs(
    draw: st.DrawFn,
    items: tuple[int, int],
    groups: tuple[int, int],
    suppliers: tuple[str, ...],
) -> Catalog:
    group_ids = draw(st.lists(slugs, min_size=groups[0], max_size=groups[1], unique=True))
    support: list[SupportGroup] = []
    for index, group_id in enumerate(group_ids):
        group = draw(support_groups(escalates_to=group_ids[:index]))
        support.append(SupportGroup(group_id, group.name, group.members, group.escalates_to))
    n_items = draw(st.integers(items[0], items[1]))
    plans: list[PlanTemplate] = []
    if n_items:
        n_plans = draw(st.integers(1, min(n_items, 3)))
        plan_ids = draw(st.lists(slugs, min_size=n_plans, max_size=n_plans, unique=True))
        kinds = tuple(TaskKind) if suppliers else tuple(k for k in TaskKind if not k.orders)
        for plan_id in plan_ids:
            plan = draw(plan_templates(max_size=4, groups=group_ids, kinds=kinds))
            plans.append(PlanTemplate(plan_id, plan.tasks))  # type: ignore[arg-type]
    item_ids = draw(st.lists(slugs, min_size=n_items, max_size=n_items, unique=True))
    catalog_items: list[ServiceItem] = []
    for item_id in item_ids:
        item = draw(service_items(groups=group_ids, plans=plans, suppliers=suppliers))
        catalog_items.append(
            ServiceItem(
                item_id,
                item.name,
                item.category,
                item.group,
                item.impact,
                item.urgency,
                item.plan,
                item.physical,
                item.supplier,
                item.requires_approval,
                item.attributes,
            )
        )
    triage = draw(st.none() | st.sampled_from(group_ids)) if group_ids else None
    catalog = Catalog(
        items=tuple(catalog_items),  # type: ignore[arg-type]
        groups=tuple(support),  # type: ignore[arg-type]
        plans=tuple(plans),  # type: ignore[arg-type]
        triage_group=triage,
    )
    return catalog.validate()


def catalogs(
    *,
    min_items: int = 1,
    max_items: int = 5,
    min_groups: int = 1,
    max_groups: int = 3,
    suppliers: Sequence[str] = DEFAULT_SUPPLIERS,
) -> st.SearchStrategy[Catalog]:
    """Consistent catalogs: every group, plan and escalation reference resolves.

    Plans are DAGs, group escalations point at earlier groups (no cycles), and
    an item whose plan orders from a supplier names one of ``suppliers``. The
    result passes ``Catalog.validate`` and ``Catalog.from_dict(c.to_dict()) == c``.

    >>> catalog = catalogs(max_items=3).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Catalog]:
        items = check_sizes("items", min_items, max_items)
        groups = check_sizes("groups", min_groups, max_groups)
        if items[1] > 0 and groups[0] == 0:
            raise InvalidArgument("a catalog with items needs min_groups >= 1")
        supplier_ids = check_ids("suppliers", suppliers, allow_empty=True)
        return _catalogs(items, groups, supplier_ids)

    return lazy(build)
