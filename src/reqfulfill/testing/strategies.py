"""Hypothesis strategies for reqfulfill's public types, valid by construction.

Every strategy is named with the plural of what it draws, takes keyword-only
arguments with defaults and reports bad arguments (``InvalidArgument``) when
it is drawn from, as hypothesis' own strategies do::

    from hypothesis import given
    from reqfulfill.testing.strategies import catalogs, rule_sets

    @given(catalogs(max_items=3))
    def test_catalog_round_trips(catalog):
        assert Catalog.from_dict(catalog.to_dict()) == catalog

Drawn catalogs pass ``Catalog.validate``, drawn conditions compile, drawn
rule sets build, and every type with a data form survives
``X.from_dict(x.to_dict()) == x``. With the ``hypothesis`` entry point
installed, ``st.from_type(ServiceItem)`` and friends use these strategies.
Needs the ``testing`` extra (``pip install 'reqfulfill[testing]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill import lifecycle
from reqfulfill.lifecycle import Submit
from reqfulfill.model.catalog import (
    Catalog,
    PlanTemplate,
    Requester,
    ServiceItem,
    SupportGroup,
    TaskTemplate,
)
from reqfulfill.model.enums import (
    Channel,
    Impact,
    OrderStatus,
    Priority,
    RequestState,
    TaskKind,
    Urgency,
)
from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.model.events import Event
from reqfulfill.model.request import ServiceRequest
from reqfulfill.rules import (
    HIT_POLICIES,
    OPERATORS,
    STRATEGIES,
    PriorityMatrix,
    Rule,
    Rules,
    RuleSet,
)
from reqfulfill.sla import (
    ESCALATION_ACTIONS,
    WEEKDAYS,
    BusinessCalendar,
    EscalationLevel,
    SlaPolicy,
)
from reqfulfill.testing._demo import demo_catalog

__all__ = [
    "DEFAULT_SUPPLIERS",
    "DEFAULT_TIMEZONES",
    "answers",
    "calendars",
    "catalogs",
    "channels",
    "command_sequences",
    "conditions",
    "escalation_levels",
    "events",
    "histories",
    "plan_templates",
    "priority_matrices",
    "requesters",
    "requests",
    "routing_rules",
    "rule_sets",
    "rules",
    "service_items",
    "service_requests",
    "sla_policies",
    "submissions",
    "submitted_events",
    "support_groups",
    "task_templates",
]

T = TypeVar("T")

DEFAULT_SUPPLIERS: Final = ("acme-mobile", "globex", "initech")
"""The supplier ids :func:`service_items` and :func:`catalogs` draw from by default."""

DEFAULT_TIMEZONES: Final = (
    "UTC",
    "Europe/Helsinki",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
)
"""The zones :func:`calendars` draws from: no DST, DST both ways, half-hour offsets."""

# -- small building blocks ---------------------------------------------------------------

_LOWER: Final = "abcdefghijklmnopqrstuvwxyz"
_SLUG_REST: Final = _LOWER + "0123456789-"
_WORDS: Final = (
    "Hardware",
    "Software",
    "Access",
    "Network",
    "Mobile",
    "Facilities",
    "IT",
    "Sales",
    "Finance",
    "HEL",
    "NYC",
)
_SAFE_REGEXES: Final = ("^a", "b$", "a|c", "[ab]+", "^[a-z]+-\\d+$", "x*", "(?i)iphone")

_slugs: st.SearchStrategy[str] = st.builds(
    lambda head, rest: head + rest,
    st.sampled_from(_LOWER),
    st.text(alphabet=_SLUG_REST, max_size=10),
)
_names: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(_WORDS),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)
_words: st.SearchStrategy[str] = st.one_of(st.sampled_from(_WORDS), _slugs)
_numbers: st.SearchStrategy[int | float] = st.one_of(
    st.integers(-10_000, 10_000), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
)
_scalars: st.SearchStrategy[Any] = st.one_of(st.booleans(), _numbers, _words)
_levels: st.SearchStrategy[str] = st.sampled_from([v.value for v in Impact])


def _lazy(build: Callable[[], st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """A strategy built (and its arguments checked) only when it is first drawn from."""
    return st.deferred(build)


def _check_int(name: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be at least {minimum}")
    return value


def _check_sizes(prefix: str, low: object, high: object, minimum: int = 0) -> tuple[int, int]:
    lo = _check_int(f"min_{prefix}", low, minimum)
    hi = _check_int(f"max_{prefix}", high, minimum)
    if lo > hi:
        raise InvalidArgument(f"min_{prefix}={lo!r} is larger than max_{prefix}={hi!r}")
    return lo, hi


def _check_ids(name: str, values: object, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidArgument(f"{name}={values!r} must be a sequence of ids")
    out = tuple(values)
    for value in out:
        if not isinstance(value, str) or not value.strip():
            raise InvalidArgument(f"{name} holds {value!r}, which is not a non-empty string id")
    if not out and not allow_empty:
        raise InvalidArgument(f"{name} must not be empty")
    return out


# -- catalog types -----------------------------------------------------------------------


def requesters() -> st.SearchStrategy[Requester]:
    """Requesters with slug ids, some VIPs, some with a manager.

    >>> requester = requesters().example()  # doctest: +SKIP
    """
    return st.builds(
        Requester,
        id=_slugs,
        name=_names,
        department=_words,
        location=_words,
        vip=st.booleans(),
        manager=st.none() | _slugs,
    )


def support_groups(*, escalates_to: Sequence[str] = ()) -> st.SearchStrategy[SupportGroup]:
    """Support groups with unique members; ``escalates_to`` is None or one of ``escalates_to``.

    >>> group = support_groups(escalates_to=["desk-l2"]).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[SupportGroup]:
        above = _check_ids("escalates_to", escalates_to, allow_empty=True)
        return st.builds(
            SupportGroup,
            id=_slugs,
            name=_names,
            members=st.lists(_slugs, unique=True, max_size=4).map(tuple),
            escalates_to=st.none() | st.sampled_from(above) if above else st.none(),
        )

    return _lazy(build)


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
        group_ids = _check_ids("groups", groups, allow_empty=True)
        supplier_ids = _check_ids("suppliers", suppliers, allow_empty=True)
        kind_list = tuple(kinds)
        if not kind_list or not all(isinstance(k, TaskKind) for k in kind_list):
            raise InvalidArgument(f"kinds={kinds!r} must be a non-empty sequence of TaskKind")
        return st.builds(
            TaskTemplate,
            key=keys if keys is not None else _slugs,
            kind=st.sampled_from(kind_list),
            title=_names,
            group=st.none() | st.sampled_from(group_ids) if group_ids else st.none(),
            supplier=(st.none() | st.sampled_from(supplier_ids) if supplier_ids else st.none()),
            when=st.none() | conditions(max_depth=1),
        )

    return _lazy(build)


@st.composite
def _plan_templates(
    draw: st.DrawFn,
    min_size: int,
    max_size: int,
    groups: tuple[str, ...],
    suppliers: tuple[str, ...],
    kinds: tuple[TaskKind, ...],
) -> PlanTemplate:
    keys = draw(st.lists(_slugs, min_size=min_size, max_size=max_size, unique=True))
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
    return PlanTemplate(id=draw(_slugs), tasks=tuple(tasks))  # type: ignore[arg-type]


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
        lo, hi = _check_sizes("size", min_size, max_size, minimum=1)
        group_ids = _check_ids("groups", groups, allow_empty=True)
        supplier_ids = _check_ids("suppliers", suppliers, allow_empty=True)
        kind_list = tuple(kinds)
        if not kind_list or not all(isinstance(k, TaskKind) for k in kind_list):
            raise InvalidArgument(f"kinds={kinds!r} must be a non-empty sequence of TaskKind")
        return _plan_templates(lo, hi, group_ids, supplier_ids, kind_list)

    return _lazy(build)


def _needs_supplier(plan: PlanTemplate) -> bool:
    return any(t.kind is TaskKind.SUPPLIER_ORDER and not t.supplier for t in plan.tasks)


_attributes: st.SearchStrategy[dict[str, Any]] = st.dictionaries(_slugs, _scalars, max_size=3)


@st.composite
def _service_items(
    draw: st.DrawFn,
    groups: tuple[str, ...] | None,
    plans: tuple[PlanTemplate | str, ...] | None,
    suppliers: tuple[str, ...],
) -> ServiceItem:
    if plans is None:
        plan: PlanTemplate | str = draw(_slugs)
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
        id=draw(_slugs),
        name=draw(_names),
        category=draw(st.sampled_from(_WORDS[:6])),
        group=draw(st.sampled_from(groups) if groups else _slugs),
        impact=draw(st.sampled_from(Impact)),
        urgency=draw(st.sampled_from(Urgency)),
        plan=plan.id if isinstance(plan, PlanTemplate) else plan,
        physical=draw(st.booleans()),
        supplier=supplier,
        requires_approval=draw(st.booleans()),
        attributes=draw(_attributes),
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
        group_ids = None if groups is None else _check_ids("groups", groups)
        supplier_ids = _check_ids("suppliers", suppliers, allow_empty=True)
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

    return _lazy(build)


@st.composite
def _catalogs(
    draw: st.DrawFn,
    items: tuple[int, int],
    groups: tuple[int, int],
    suppliers: tuple[str, ...],
) -> Catalog:
    group_ids = draw(st.lists(_slugs, min_size=groups[0], max_size=groups[1], unique=True))
    support: list[SupportGroup] = []
    for index, group_id in enumerate(group_ids):
        group = draw(support_groups(escalates_to=group_ids[:index]))
        support.append(SupportGroup(group_id, group.name, group.members, group.escalates_to))
    n_items = draw(st.integers(items[0], items[1]))
    plans: list[PlanTemplate] = []
    if n_items:
        n_plans = draw(st.integers(1, min(n_items, 3)))
        plan_ids = draw(st.lists(_slugs, min_size=n_plans, max_size=n_plans, unique=True))
        kinds = (
            tuple(TaskKind)
            if suppliers
            else tuple(k for k in TaskKind if k is not TaskKind.SUPPLIER_ORDER)
        )
        for plan_id in plan_ids:
            plan = draw(plan_templates(max_size=4, groups=group_ids, kinds=kinds))
            plans.append(PlanTemplate(plan_id, plan.tasks))  # type: ignore[arg-type]
    item_ids = draw(st.lists(_slugs, min_size=n_items, max_size=n_items, unique=True))
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
        items = _check_sizes("items", min_items, max_items)
        groups = _check_sizes("groups", min_groups, max_groups)
        if items[1] > 0 and groups[0] == 0:
            raise InvalidArgument("a catalog with items needs min_groups >= 1")
        supplier_ids = _check_ids("suppliers", suppliers, allow_empty=True)
        return _catalogs(items, groups, supplier_ids)

    return _lazy(build)


# -- conditions and rules ----------------------------------------------------------------


def _fact_values(catalog: Catalog | None) -> dict[str, st.SearchStrategy[Any]]:
    """Fact path -> the kind of value that fact holds (so tests often match)."""
    item_ids: st.SearchStrategy[str] = _slugs
    group_ids: st.SearchStrategy[str] = _slugs
    categories: st.SearchStrategy[str] = _words
    if catalog is not None:
        if catalog.items:
            item_ids = st.sampled_from(sorted(i.id for i in catalog.items))
            categories = st.sampled_from(sorted(catalog.categories))
        if catalog.groups:
            group_ids = st.sampled_from(sorted(g.id for g in catalog.groups))
    return {
        "item.id": item_ids,
        "item.name": _words,
        "item.category": categories,
        "item.group": group_ids,
        "item.impact": _levels,
        "item.urgency": _levels,
        "item.physical": st.booleans(),
        "item.requires_approval": st.booleans(),
        "item.supplier": st.sampled_from(DEFAULT_SUPPLIERS),
        "item.attributes.size": _scalars,
        "requester.id": _slugs,
        "requester.vip": st.booleans(),
        "requester.department": _words,
        "requester.location": _words,
        "requester.manager": _slugs,
        "channel": st.sampled_from([c.value for c in Channel]),
        "answers.cost": _numbers,
        "answers.from_stock": st.booleans(),
        "answers.reason": _words,
        "answers.quantity": st.integers(0, 100),
    }


def _operand(op: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if op in ("eq", "ne"):
        return values
    if op in ("in", "not_in"):
        return st.lists(values, max_size=3)
    if op in ("gt", "ge", "lt", "le"):
        return st.one_of(_numbers, _words)
    if op == "prefix":
        return st.text(alphabet=_SLUG_REST, max_size=3)
    if op == "regex":
        return st.sampled_from(_SAFE_REGEXES)
    return st.booleans()  # exists


@st.composite
def _expectations(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Any:
    form = draw(st.sampled_from(("eq", "in", "table")))
    if form == "eq":
        return draw(values)
    if form == "in":
        return draw(st.lists(values, max_size=3))
    ops = draw(st.lists(st.sampled_from(OPERATORS), min_size=1, max_size=2, unique=True))
    return {op: draw(_operand(op, values)) for op in ops}


@st.composite
def _conditions(
    draw: st.DrawFn, depth: int, facts: Mapping[str, st.SearchStrategy[Any]], min_size: int
) -> dict[str, Any]:
    paths = draw(st.lists(st.sampled_from(sorted(facts)), unique=True, max_size=3))
    condition: dict[str, Any] = {path: draw(_expectations(facts[path])) for path in paths}
    if depth > 0:
        if draw(st.booleans()):
            condition["any"] = draw(
                st.lists(_conditions(depth - 1, facts, 1), min_size=1, max_size=3)
            )
        if draw(st.booleans()):
            condition["not"] = draw(_conditions(depth - 1, facts, 1))
    if len(condition) < min_size:
        path = draw(st.sampled_from(sorted(facts)))
        condition[path] = draw(facts[path])
    return condition


def conditions(
    *, max_depth: int = 2, catalog: Catalog | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid rule conditions over ``item.*``, ``requester.*``, ``channel`` and ``answers.*``.

    Equality, membership lists and operator tables (every operator of the
    language; regexes from a small safe set), nested in ``any``/``not`` up to
    ``max_depth`` levels. With a ``catalog``, item ids, groups and categories
    are the catalog's, so conditions often match its requests. The empty
    condition (always true) can be drawn.

    >>> condition = conditions(max_depth=0).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[dict[str, Any]]:
        depth = _check_int("max_depth", max_depth)
        if catalog is not None and not isinstance(catalog, Catalog):
            raise InvalidArgument(f"catalog={catalog!r} must be a Catalog or None")
        return _conditions(depth, _fact_values(catalog), 0)

    return _lazy(build)


_generic_thens: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.sampled_from(("group", "strategy", "category", "note")), _words, max_size=2
)


def rules(
    *,
    names: st.SearchStrategy[str] | None = None,
    thens: st.SearchStrategy[Mapping[str, Any]] | None = None,
    catalog: Catalog | None = None,
    max_depth: int = 2,
) -> st.SearchStrategy[Rule]:
    """A single rule: a name, a condition from :func:`conditions` and a ``then`` table.

    >>> rule = rules(thens=st.just({"group": "desk"})).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Rule]:
        return st.builds(
            Rule,
            name=names if names is not None else _slugs,
            when=conditions(max_depth=max_depth, catalog=catalog),
            then=thens if thens is not None else _generic_thens,
        )

    return _lazy(build)


def _assignment_thens(catalog: Catalog | None) -> st.SearchStrategy[dict[str, Any]]:
    groups = (
        st.sampled_from(sorted(g.id for g in catalog.groups))
        if catalog is not None and catalog.groups
        else _slugs
    )
    return st.fixed_dictionaries(
        {"group": groups}, optional={"strategy": st.sampled_from(STRATEGIES)}
    )


@st.composite
def _rule_sets(
    draw: st.DrawFn,
    catalog: Catalog | None,
    sizes: tuple[int, int],
    hit_policy: str | None,
    thens: st.SearchStrategy[Mapping[str, Any]],
    max_depth: int,
) -> RuleSet:
    names = draw(st.lists(_slugs, min_size=sizes[0], max_size=sizes[1], unique=True))
    drawn = [
        draw(rules(names=st.just(name), thens=thens, catalog=catalog, max_depth=max_depth))
        for name in names
    ]
    policy = hit_policy if hit_policy is not None else draw(st.sampled_from(HIT_POLICIES))
    return RuleSet(drawn, policy)  # type: ignore[arg-type]


def rule_sets(
    *,
    catalog: Catalog | None = None,
    min_size: int = 0,
    max_size: int = 10,
    hit_policy: str | None = None,
    thens: st.SearchStrategy[Mapping[str, Any]] | None = None,
    max_depth: int = 2,
) -> st.SearchStrategy[RuleSet]:
    """Rule sets of ``min_size`` to ``max_size`` uniquely named rules.

    ``hit_policy`` None draws ``first`` or ``collect``. With a ``catalog``,
    conditions use its ids and the default ``then`` tables assign to its
    groups (``{"group": ..., "strategy": ...}``).

    >>> ruleset = rule_sets(catalog=demo_catalog(), max_size=5).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[RuleSet]:
        sizes = _check_sizes("size", min_size, max_size)
        if hit_policy is not None and hit_policy not in HIT_POLICIES:
            raise InvalidArgument(f"hit_policy={hit_policy!r} must be one of {HIT_POLICIES}")
        if catalog is not None and not isinstance(catalog, Catalog):
            raise InvalidArgument(f"catalog={catalog!r} must be a Catalog or None")
        depth = _check_int("max_depth", max_depth)
        if thens is not None:
            then_strategy: st.SearchStrategy[Mapping[str, Any]] = thens
        elif catalog is not None:
            then_strategy = _assignment_thens(catalog)
        else:
            then_strategy = _generic_thens
        return _rule_sets(catalog, sizes, hit_policy, then_strategy, depth)

    return _lazy(build)


def priority_matrices() -> st.SearchStrategy[PriorityMatrix]:
    """Priority matrices: the ITIL matrix with some cells changed.

    >>> matrix = priority_matrices().example()  # doctest: +SKIP
    """
    rows = st.dictionaries(st.sampled_from(Urgency), st.sampled_from(Priority), max_size=3)
    return st.builds(PriorityMatrix, st.dictionaries(st.sampled_from(Impact), rows, max_size=3))


def routing_rules(
    *, catalog: Catalog | None = None, max_size: int = 5, max_depth: int = 1
) -> st.SearchStrategy[Rules]:
    """The three rule sets of :class:`~reqfulfill.rules.Rules` with valid ``then`` tables.

    >>> routing = routing_rules(catalog=demo_catalog()).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Rules]:
        size = _check_int("max_size", max_size)
        categories = (
            st.sampled_from(sorted(catalog.categories))
            if catalog is not None and catalog.categories
            else _words
        )
        prioritization = st.one_of(
            st.fixed_dictionaries({"impact": _levels}, optional={"urgency": _levels}),
            st.fixed_dictionaries({"urgency": _levels}),
        )

        def part(thens: st.SearchStrategy[Mapping[str, Any]]) -> st.SearchStrategy[RuleSet]:
            return rule_sets(catalog=catalog, max_size=size, thens=thens, max_depth=max_depth)

        return st.builds(
            Rules,
            assignment=part(_assignment_thens(catalog)),
            categorization=part(st.fixed_dictionaries({"category": categories})),
            prioritization=part(prioritization),
            matrix=priority_matrices(),
        )

    return _lazy(build)


def channels() -> st.SearchStrategy[Channel]:
    """Any request channel.

    >>> channel = channels().example()  # doctest: +SKIP
    """
    return st.sampled_from(Channel)


def answers() -> st.SearchStrategy[dict[str, Any]]:
    """Answers to an item's questions: the ``answers.*`` facts conditions test.

    >>> given_answers = answers().example()  # doctest: +SKIP
    """
    facts = _fact_values(None)
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
        request_id=draw(_slugs),
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

    return _lazy(build)


# -- SLA -----------------------------------------------------------------------------------


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def _day_hours(draw: st.DrawFn, max_shifts: int) -> tuple[str, ...]:
    shifts = draw(st.integers(1, max_shifts))
    # Quarter-hour boundaries; strictly increasing, so shifts neither overlap nor touch.
    cuts = sorted(
        draw(st.lists(st.integers(0, 96), min_size=2 * shifts, max_size=2 * shifts, unique=True))
    )
    return tuple(
        f"{_clock(cuts[i] * 15)}-{_clock(cuts[i + 1] * 15)}" for i in range(0, len(cuts), 2)
    )


@st.composite
def _calendars(
    draw: st.DrawFn, zones: tuple[str, ...], max_shifts: int, max_holidays: int
) -> BusinessCalendar:
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True))
    hours = {day: draw(_day_hours(max_shifts)) for day in days}
    holidays = draw(
        st.lists(st.dates(date(2024, 1, 1), date(2030, 12, 31)), unique=True, max_size=max_holidays)
    )
    return BusinessCalendar(timezone=draw(st.sampled_from(zones)), hours=hours, holidays=holidays)


def calendars(
    *,
    timezones: Sequence[str] = DEFAULT_TIMEZONES,
    max_shifts: int = 3,
    max_holidays: int = 3,
) -> st.SearchStrategy[BusinessCalendar]:
    """Business calendars: a zone from ``timezones``, split shifts, a few holidays (2024-2030).

    Each open weekday has 1 to ``max_shifts`` disjoint ``"HH:MM-HH:MM"``
    shifts on quarter hours (``24:00`` may end a day); at least one day is open.

    >>> calendar = calendars(timezones=["UTC"]).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[BusinessCalendar]:
        zones = _check_ids("timezones", timezones)
        shifts = _check_int("max_shifts", max_shifts, 1)
        if shifts > 48:
            raise InvalidArgument(f"max_shifts={shifts} must be at most 48")
        holidays = _check_int("max_holidays", max_holidays)
        return _calendars(zones, shifts, holidays)

    return _lazy(build)


def escalation_levels() -> st.SearchStrategy[EscalationLevel]:
    """Escalation levels between 5 % and 300 % of the target.

    >>> level = escalation_levels().example()  # doctest: +SKIP
    """
    return st.builds(
        EscalationLevel,
        at=st.floats(0.05, 3.0, allow_nan=False),
        action=st.sampled_from(ESCALATION_ACTIONS),
    )


_durations: st.SearchStrategy[timedelta] = st.integers(60, 30 * 86_400).map(
    lambda s: timedelta(seconds=s)
)


def sla_policies(
    *, calendars: st.SearchStrategy[BusinessCalendar] | None = None
) -> st.SearchStrategy[SlaPolicy]:
    """SLA policies: targets for some priorities, pause states, escalation levels.

    ``calendars`` defaults to :func:`calendars` (the module function).

    >>> policy = sla_policies().example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[SlaPolicy]:
        calendar_strategy = calendars if calendars is not None else _default_calendars()
        if not isinstance(calendar_strategy, st.SearchStrategy):
            raise InvalidArgument(f"calendars={calendars!r} must be a strategy")
        return st.builds(
            SlaPolicy,
            targets=st.dictionaries(st.sampled_from(Priority), _durations, min_size=1),
            calendar=calendar_strategy,
            pause_in=st.lists(st.sampled_from(RequestState), unique=True, max_size=3).map(tuple),
            escalation=st.lists(escalation_levels(), unique=True, max_size=3).map(tuple),
            hold_notifications=st.booleans(),
        )

    return _lazy(build)


_calendars_fn = calendars


def _default_calendars() -> st.SearchStrategy[BusinessCalendar]:
    return _calendars_fn()


# -- commands, histories, requests and events ----------------------------------------------

_START: Final = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
_STRANGERS: Final = ("mallory", "eve.outsider")
_REFS: Final = ("R-1", "R-2", "R-3")
_REASONS: Final = ("no longer needed", "from stock", "not here", "info", "broken")

_COMMAND_KINDS: Final[tuple[type[lifecycle.Command], ...]] = tuple(
    cls for cls in lifecycle.COMMAND_STATES if cls is not lifecycle.Submit
)
"""Every lifecycle command but ``Submit``: the kinds :func:`command_sequences` draws."""

# commands that end a request early or only count attempts: drawn less often by histories()
_RARE: Final = (lifecycle.Cancel, lifecycle.Reject, lifecycle.EffectFailed, lifecycle.RecordAttempt)
_BY_APPROVER: Final = (lifecycle.Approve, lifecycle.Reject)
_BY_REQUESTER: Final = (
    lifecycle.ConfirmDelivery,
    lifecycle.DisputeDelivery,
    lifecycle.RecordFeedback,
)

# minutes the clock moves before a step: mostly a little, sometimes days (SLA thresholds)
_pauses: st.SearchStrategy[int] = st.one_of(
    st.integers(0, 90), st.integers(90, 3 * 24 * 60), st.just(0)
)
_starts: st.SearchStrategy[datetime] = st.datetimes(
    datetime(2024, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)
).map(lambda at: at.replace(second=0, microsecond=0))


@attrs.frozen
class _Pools:
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


def _blind_pools(catalog: Catalog, submit: lifecycle.Submit, max_size: int) -> _Pools:
    """Pools that do not look at the request's state: some commands will miss."""
    keys = {t.key for p in catalog.plans for t in p.tasks} | {lifecycle.DEFAULT_TASK.key}
    actors = _everyone(catalog, submit.requester)
    # effect ids are the event ids of the requests for effect: "<request id>/<version>"
    effects = tuple(f"{submit.request_id}/{n}" for n in range(1, 4 * max_size + 8))
    return _Pools(
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
        categories=tuple(sorted(catalog.categories)) or _WORDS[:1],
    )


def _state_pools(catalog: Catalog, state: ServiceRequest, blind: _Pools) -> _Pools:
    """Pools aimed at ``state``: its tasks, open effects, order refs and likely actors."""
    groups = {state.group, catalog.triage_group, *(t.group for t in state.plan)}
    if state.item is not None and catalog.has_item(state.item):
        groups.add(catalog.item(state.item).group)
    likely = [state.requester.id, *([state.requester.manager] if state.requester.manager else [])]
    for group in sorted(g for g in groups if g is not None and catalog.has_group(g)):
        likely.extend(catalog.group(group).members)

    def ids(found: Iterable[str | None]) -> tuple[str, ...]:
        return tuple(sorted({e for e in found if e})) or blind.effects[:1]

    orders = ids(t.order_effect for t in state.plan if t.kind is TaskKind.SUPPLIER_ORDER)
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


def _command(draw: st.DrawFn, kind: type[lifecycle.Command], pools: _Pools) -> lifecycle.Command:
    """A command of ``kind`` with arguments from ``pools``."""
    c = lifecycle
    if kind in _BY_APPROVER:
        likely = st.sampled_from(pools.approvers)
    elif kind in _BY_REQUESTER:
        likely = st.just(pools.requester)
    else:
        likely = st.sampled_from(pools.likely)
    actor = draw(likely | st.sampled_from(pools.actors))
    # effect outcomes and timers: mostly the worker, sometimes a person (who is refused)
    worker = draw(st.sampled_from((lifecycle.WORKER,) * 3 + (actor,)))
    system = draw(st.sampled_from((lifecycle.SYSTEM,) * 3 + (actor,)))
    task = draw(st.sampled_from(pools.tasks))
    effect = draw(st.sampled_from(pools.effects))
    reason = draw(st.sampled_from(_REASONS))
    impact = draw(st.none() | st.sampled_from(Impact))
    urgency = draw(st.none() | st.sampled_from(Urgency))
    status = draw(st.sampled_from(OrderStatus))
    simple: dict[type[c.Command], Callable[[], c.Command]] = {
        c.Approve: lambda: c.Approve(actor=actor),
        c.Reject: lambda: c.Reject(actor=actor, reason=reason),
        c.Claim: lambda: c.Claim(actor=actor),
        c.StartTask: lambda: c.StartTask(actor=actor, task_key=task),
        c.CompleteTask: lambda: c.CompleteTask(actor=actor, task_key=task),
        c.FailTask: lambda: c.FailTask(actor=actor, task_key=task, reason=reason),
        c.SkipTask: lambda: c.SkipTask(actor=actor, task_key=task, reason=reason),
        c.Ship: lambda: c.Ship(actor=actor, task_key=task, tracking=draw(st.none() | _slugs)),
        c.ConfirmDelivery: lambda: c.ConfirmDelivery(actor=actor),
        c.DisputeDelivery: lambda: c.DisputeDelivery(actor=actor, reason=reason),
        c.Close: lambda: c.Close(actor=actor),
        c.AutoClose: lambda: c.AutoClose(actor=system, reason="no reply"),
        c.Cancel: lambda: c.Cancel(actor=actor, reason=reason),
        c.Wait: lambda: c.Wait(actor=actor, reason=reason),
        c.Resume: lambda: c.Resume(actor=actor),
        c.Reprioritize: lambda: c.Reprioritize(actor=actor, impact=impact, urgency=urgency),
        c.RecordFeedback: lambda: c.RecordFeedback(
            actor=actor, rating=draw(st.integers(0, 6)), comment=draw(_names)
        ),
        c.OrderPlaced: lambda: c.OrderPlaced(
            actor=worker,
            effect_id=draw(st.sampled_from(pools.orders)),
            ref=draw(st.sampled_from(_REFS)),
            status=draw(st.just(OrderStatus.PLACED) | st.sampled_from(OrderStatus)),
        ),
        c.OrderCancelled: lambda: c.OrderCancelled(
            actor=worker, effect_id=draw(st.sampled_from(pools.cancels)), status=status
        ),
        c.AutomationSucceeded: lambda: c.AutomationSucceeded(
            actor=worker,
            effect_id=draw(st.sampled_from(pools.automations)),
            result=draw(_attributes),
        ),
        c.EffectFailed: lambda: c.EffectFailed(actor=worker, effect_id=effect, reason=reason),
        c.NotificationDelivered: lambda: c.NotificationDelivered(
            actor=worker, effect_id=draw(st.sampled_from(pools.notifications))
        ),
        c.RecordAttempt: lambda: c.RecordAttempt(actor=worker, effect_id=effect),
        c.FireSla: lambda: c.FireSla(actor=system),
    }
    if kind in simple:
        return simple[kind]()
    if kind is c.Triage:
        return c.Triage(
            actor=actor,
            item=draw(st.sampled_from(pools.items)),
            category=draw(st.none() | st.sampled_from(pools.categories)),
            impact=impact,
            urgency=urgency,
        )
    if kind is c.Assign:
        return c.Assign(
            actor=actor,
            group=draw(st.sampled_from(pools.groups)),
            agent=draw(st.none() | st.sampled_from(pools.actors)),
        )
    if kind is c.RecordSupplierUpdate:
        supplier = draw(st.sampled_from(pools.suppliers))
        return c.RecordSupplierUpdate(
            actor=f"supplier:{supplier}",
            supplier_id=supplier,
            ref=draw(st.sampled_from(pools.refs)),
            status=status,
        )
    raise AssertionError(f"no strategy for {kind.__name__}")  # pragma: no cover


def _check_catalog(catalog: object) -> Catalog | st.SearchStrategy[Catalog]:
    if catalog is None:
        return demo_catalog()
    if not isinstance(catalog, Catalog | st.SearchStrategy):
        raise InvalidArgument(f"catalog={catalog!r} must be a Catalog, a strategy of them or None")
    return catalog


def _draw_catalog(draw: st.DrawFn, catalog: Catalog | st.SearchStrategy[Catalog]) -> Catalog:
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
    the_catalog = _draw_catalog(draw, catalog)
    submit = draw(submissions(catalog=the_catalog))
    pools = _blind_pools(the_catalog, submit, sizes[1])
    kinds = draw(st.lists(st.sampled_from(_COMMAND_KINDS), min_size=sizes[0], max_size=sizes[1]))
    return [submit, *(_command(draw, kind, pools) for kind in kinds)]


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
        sizes = _check_sizes("size", min_size, max_size)
        return _command_sequences(_check_catalog(catalog), sizes)

    return _lazy(build)


@st.composite
def _histories(
    draw: st.DrawFn,
    catalog: Catalog | st.SearchStrategy[Catalog],
    sla: SlaPolicy | None,
    rules: Rules | None,
    max_steps: int,
) -> tuple[list[Event], ServiceRequest]:
    the_catalog = _draw_catalog(draw, catalog)
    submit = draw(submissions(catalog=the_catalog))
    now = draw(_starts)

    def context() -> lifecycle.Context:
        return lifecycle.Context(catalog=the_catalog, now=now, sla=sla, rules=rules)

    history, state = lifecycle.decide_and_evolve(None, submit, context())
    assert state is not None
    blind = _blind_pools(the_catalog, submit, max_steps)
    for _ in range(draw(st.integers(0, max_steps))):
        now += timedelta(minutes=draw(_pauses))
        # mostly a command the state accepts that moves it on, aimed at its tasks and effects
        fitting = [
            k
            for k in _COMMAND_KINDS
            if state.state in lifecycle.COMMAND_STATES[k] and k not in _RARE
        ]
        aimed = draw(st.integers(0, 3)) < 3 and fitting
        kind = draw(st.sampled_from(fitting if aimed else _COMMAND_KINDS))
        command = _command(draw, kind, _state_pools(the_catalog, state, blind))
        try:
            new, after = lifecycle.decide_and_evolve(state, command, context())
        except ReqfulfillError:
            continue  # refused: nothing happened
        if after is not None:
            history.extend(new)
            state = after
    return history, state


def histories(
    *,
    catalog: Catalog | st.SearchStrategy[Catalog] | None = None,
    sla: SlaPolicy | None = None,
    rules: Rules | None = None,
    max_steps: int = 30,
) -> st.SearchStrategy[tuple[list[Event], ServiceRequest]]:
    """``(events, state)``: a request's whole event stream and the state it folds to.

    A drawn :func:`submissions` command is decided, then up to ``max_steps``
    further commands (mostly ones the current state accepts, aimed at its
    tasks, open effects and likely actors), each with the clock moved on by
    minutes to days; refused commands are dropped and the events of the
    accepted ones kept, so every stream is one :func:`reqfulfill.lifecycle.decide`
    can produce and ``lifecycle.replay(events) == state``. ``sla`` defaults to
    ``SlaPolicy.default()`` and ``rules`` to the built-in routing;
    ``catalog`` is a ``Catalog``, a strategy of catalogs, or None for
    :func:`reqfulfill.testing.demo_catalog`.

    >>> events, state = histories(max_steps=10).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[tuple[list[Event], ServiceRequest]]:
        steps = _check_int("max_steps", max_steps)
        if sla is not None and not isinstance(sla, SlaPolicy):
            raise InvalidArgument(f"sla={sla!r} must be a SlaPolicy or None")
        if rules is not None and not isinstance(rules, Rules):
            raise InvalidArgument(f"rules={rules!r} must be a Rules or None")
        policy = sla if sla is not None else SlaPolicy.default()
        return _histories(_check_catalog(catalog), policy, rules, steps)

    return _lazy(build)


def service_requests(
    *,
    catalog: Catalog | st.SearchStrategy[Catalog] | None = None,
    sla: SlaPolicy | None = None,
    rules: Rules | None = None,
    max_steps: int = 30,
) -> st.SearchStrategy[ServiceRequest]:
    """Service requests in any reachable state: the state of a :func:`histories` draw.

    Every drawn request is reachable by construction (it is the fold of events
    ``decide`` produced), in any state from ``awaiting_approval`` to
    ``closed`` with feedback. Arguments as for :func:`histories`.

    >>> request = service_requests(catalog=demo_catalog()).example()  # doctest: +SKIP
    """
    return histories(catalog=catalog, sla=sla, rules=rules, max_steps=max_steps).map(
        lambda pair: pair[1]
    )


requests = service_requests
"""The name DESIGN.md uses for :func:`service_requests`."""


def events(
    *,
    catalog: Catalog | st.SearchStrategy[Catalog] | None = None,
    sla: SlaPolicy | None = None,
    rules: Rules | None = None,
    max_steps: int = 30,
) -> st.SearchStrategy[Event]:
    """Single events of any type a :func:`histories` stream holds, valid by construction.

    Each one was produced by ``decide`` for some request, so it serializes and
    fits the state before it. Arguments as for :func:`histories`.

    >>> event = events().example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[Event]:
        streams = histories(catalog=catalog, sla=sla, rules=rules, max_steps=max_steps)
        return streams.flatmap(lambda pair: st.sampled_from(pair[0]))

    return _lazy(build)


def submitted_events(
    *, catalog: Catalog | st.SearchStrategy[Catalog] | None = None
) -> st.SearchStrategy[Event]:
    """``RequestSubmitted`` events: the first event of drawn request streams.

    >>> submitted_events().example().type  # doctest: +SKIP
    'RequestSubmitted'
    """
    return histories(catalog=catalog, max_steps=0).map(lambda pair: pair[0][0])
