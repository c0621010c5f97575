"""The service catalog: who requests, who fulfils, what can be ordered and how.

``Catalog.from_dict`` / ``Catalog.from_toml`` load the data form (lists of
tables with an ``id``); every problem is reported at once with its path and
value, e.g. ``items[3].group: unknown group 'desk-l9'``.

The model reads no files and holds no converter: ``from_dict``, ``to_dict`` and
``from_toml`` are entry points to :mod:`reqfulfill.serialization`, which does the
work (it checks each task's ``when`` condition in the rule language too) and
registers itself here when it is imported (``import reqfulfill`` imports it), so
the model imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from os import PathLike
from typing import Any, Final, Protocol, TypeVar

import attrs

from reqfulfill.model.approval import ApprovalPolicy, policy_problems
from reqfulfill.model.enums import Channel, Impact, TaskKind, Urgency
from reqfulfill.model.errors import NotFoundError, Problem, ValidationError

__all__ = [
    "Catalog",
    "ConditionCheck",
    "DataForms",
    "IntakeSettings",
    "PlanTemplate",
    "Requester",
    "ServiceItem",
    "SupportGroup",
    "TaskTemplate",
    "kept_dependencies",
    "use_data_forms",
]


def _non_empty(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value or not value.strip():
        raise ValueError(f"{attribute.name} must not be empty")


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value)


def _doc(text: str) -> dict[str, Any]:
    """A field's description in its data form (``reqfulfill schema catalog``,
    ``docs/formats.md``): ``attrs.field(metadata=_doc(...))``."""
    return {"doc": text}


_ID_CHECKS: Final = (attrs.validators.instance_of(str), _non_empty)
"""The validators of an id: a string, not empty (``_id_doc`` says so to the schema)."""


def _id_doc(text: str) -> dict[str, Any]:
    """An id field's metadata: its description, and that it is not empty (``min_length``)."""
    return {**_doc(text), "min_length": 1}


T = TypeVar("T")
D = TypeVar("D", bound="_DataForm")

ConditionCheck = Callable[[Mapping[str, Any], str], list[Problem]]
"""``check(condition, path)``: the problems of a ``when`` condition (the rule language's
``reqfulfill.rules.condition_problems``)."""


class DataForms(Protocol):
    """What the catalog types' ``from_dict``, ``to_dict`` and ``Catalog.from_toml`` do:
    :mod:`reqfulfill.serialization` provides it (see :func:`use_data_forms`)."""

    def structure(self, data: Mapping[str, Any], cls: type[T], *, source: str | None) -> T:
        """``cls`` from its data form, strictly; ``ValidationError`` lists every problem."""
        ...

    def unstructure(self, value: object) -> dict[str, Any]:
        """The data form of a value; ``None`` fields are left out."""
        ...

    def catalog(
        self, data: Mapping[str, Any], cls: type[Catalog], *, source: str | None
    ) -> Catalog:
        """A catalog from its data form, with its references and conditions checked."""
        ...

    def load_catalog(self, path: str | PathLike[str], cls: type[Catalog]) -> Catalog:
        """A catalog from a TOML or JSON file."""
        ...


_data_forms: list[DataForms] = []


def use_data_forms(forms: DataForms) -> None:
    """Set what the data-form entry points delegate to (called once, by
    :mod:`reqfulfill.serialization` when it is imported)."""
    _data_forms[:] = [forms]


def _forms() -> DataForms:
    if not _data_forms:
        raise RuntimeError("the catalog's data forms need reqfulfill.serialization: import it")
    return _data_forms[0]


class _DataForm:
    """``from_dict``/``to_dict`` for the catalog's value types.

    ``X.from_dict(x.to_dict()) == x`` for each of them.
    """

    __slots__ = ()

    @classmethod
    def from_dict(cls: type[D], data: Mapping[str, Any], *, source: str | None = None) -> D:
        """Build from the data form, strictly; ``ValidationError`` lists every problem."""
        return _forms().structure(data, cls, source=source)

    def to_dict(self) -> dict[str, Any]:
        """The data form; ``None`` fields are left out."""
        return _forms().unstructure(self)


@attrs.frozen
class Requester(_DataForm):
    """The person a request is for (and, on the portal, who submits it)."""

    id: str = attrs.field(validator=[attrs.validators.instance_of(str), _non_empty])
    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    department: str = attrs.field(validator=attrs.validators.instance_of(str))
    location: str = attrs.field(validator=attrs.validators.instance_of(str))
    vip: bool = attrs.field(default=False, validator=attrs.validators.instance_of(bool))
    manager: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )


@attrs.frozen
class SupportGroup(_DataForm):
    """A team that fulfils requests. ``escalates_to`` names the group above it."""

    id: str = attrs.field(
        validator=list(_ID_CHECKS),
        metadata=_id_doc("the group's id, named by items, tasks, rules and escalations"),
    )
    name: str = attrs.field(
        validator=attrs.validators.instance_of(str), metadata=_doc("the name people see")
    )
    members: tuple[str, ...] = attrs.field(
        default=(),
        converter=_str_tuple,
        metadata=_doc("the agents who work the group's queue (for round-robin and load)"),
    )
    escalates_to: str | None = attrs.field(
        default=None, metadata=_doc("the group an SLA escalation reassigns to")
    )


@attrs.frozen
class TaskTemplate(_DataForm):
    """One step of a plan template.

    ``after`` lists the keys of the tasks that must be done first (a DAG);
    ``when`` is an optional rule-language condition decided when the plan
    starts: a task whose condition is false is left out of that request's plan.
    """

    key: str = attrs.field(
        validator=list(_ID_CHECKS),
        metadata=_id_doc("the task's key, unique in its plan (named by after and by commands)"),
    )
    kind: TaskKind = attrs.field(
        validator=attrs.validators.instance_of(TaskKind),
        metadata=_doc(
            "manual (an agent completes it), supplier_order (the worker orders from the "
            "supplier), delivery (shipped, then confirmed by the requester), automated "
            "(an automation runner does it)"
        ),
    )
    title: str = attrs.field(
        validator=attrs.validators.instance_of(str), metadata=_doc("what the task is, in words")
    )
    after: tuple[str, ...] = attrs.field(
        default=(),
        converter=_str_tuple,
        metadata=_doc("keys of the tasks of this plan that must be done first"),
    )
    group: str | None = attrs.field(
        default=None, metadata=_doc("the group that does it (default: the request's group)")
    )
    supplier: str | None = attrs.field(
        default=None,
        metadata=_doc("the supplier of a supplier_order task (default: the item's supplier)"),
    )
    when: Mapping[str, Any] | None = attrs.field(
        default=None,
        metadata=_doc(
            "a rule-language condition (docs/rules.md) decided when the plan starts: "
            "the task is left out where it is false"
        ),
    )


@attrs.frozen
class PlanTemplate(_DataForm):
    """A small DAG of tasks that fulfils a service item."""

    id: str = attrs.field(
        validator=list(_ID_CHECKS), metadata=_id_doc("the plan's id, named by items")
    )
    tasks: tuple[TaskTemplate, ...] = attrs.field(
        converter=tuple, metadata=_doc("the tasks, at least one; after makes them a DAG")
    )

    def task(self, key: str) -> TaskTemplate:
        """The task template with this key."""
        for task in self.tasks:
            if task.key == key:
                return task
        raise KeyError(key)


@attrs.frozen
class ServiceItem(_DataForm):
    """Something a requester can order from the catalog, with its defaults."""

    id: str = attrs.field(
        validator=list(_ID_CHECKS), metadata=_id_doc("the item's id: what a request orders")
    )
    name: str = attrs.field(
        validator=attrs.validators.instance_of(str), metadata=_doc("the name people see")
    )
    category: str = attrs.field(
        validator=attrs.validators.instance_of(str),
        metadata=_doc("the default category (categorization rules may decide another)"),
    )
    group: str = attrs.field(
        validator=attrs.validators.instance_of(str),
        metadata=_doc("the default group (assignment rules may decide another)"),
    )
    impact: Impact = attrs.field(
        validator=attrs.validators.instance_of(Impact),
        metadata=_doc("the default impact: with urgency, it gives the priority"),
    )
    urgency: Urgency = attrs.field(
        validator=attrs.validators.instance_of(Urgency), metadata=_doc("the default urgency")
    )
    plan: str = attrs.field(
        validator=attrs.validators.instance_of(str),
        metadata=_doc("the id of the plan that fulfils it"),
    )
    physical: bool = attrs.field(
        default=False, metadata=_doc("a thing that is shipped and delivered")
    )
    supplier: str | None = attrs.field(
        default=None, metadata=_doc("the supplier its supplier_order tasks order from")
    )
    requires_approval: bool = attrs.field(
        default=True, metadata=_doc("the requester's manager approves it first")
    )
    attributes: Mapping[str, Any] = attrs.field(
        factory=dict, metadata=_doc("free-form facts rules can test (item.attributes.*)")
    )
    approval: str | None = attrs.field(
        default=None,
        metadata=_doc("the id of the approval policy it is approved by (default: none)"),
    )
    description: str = attrs.field(
        default="",
        validator=attrs.validators.instance_of(str),
        metadata=_doc("what the item is, in the catalog's words (the suggester reads it)"),
    )
    keywords: tuple[str, ...] = attrs.field(
        default=(),
        converter=_str_tuple,
        metadata=_doc('words and phrases users write for it ("mobile", "cell phone")'),
    )


def _thresholds(value: Any) -> Mapping[str, float]:
    return dict(value)


@attrs.frozen
class IntakeSettings(_DataForm):
    """The catalog's ``[intake]`` table: how requests from email and chat are triaged.

    ``auto_triage`` maps a channel's name to the confidence at which the top suggestion
    triages a new request automatically (``{ email = 0.85 }``); a channel without
    one is never triaged automatically. ``language`` names the stemmer's language
    (a ``snowballstemmer`` name; English by default).
    """

    auto_triage: Mapping[str, float] = attrs.field(
        factory=dict,
        converter=_thresholds,
        metadata=_doc(
            "per channel, the confidence from which the top suggestion triages a new request"
            " (none: an agent triages)"
        ),
    )
    language: str = attrs.field(
        default="english",
        validator=attrs.validators.instance_of(str),
        metadata=_doc("the language of the catalog's words, for stemming (a Snowball name)"),
    )

    def threshold(self, channel: Channel) -> float | None:
        """The auto-triage threshold of ``channel``; None: never automatic."""
        return self.auto_triage.get(channel.value)


@attrs.frozen
class Catalog:
    """The service catalog: items, the groups that fulfil them, their plans.

    >>> cat = Catalog.from_dict({
    ...     "groups": [{"id": "desk", "name": "Service Desk", "members": ["ann"]}],
    ...     "plans": [{"id": "p", "tasks": [{"key": "do", "kind": "manual", "title": "Do it"}]}],
    ...     "items": [{"id": "pw", "name": "Password reset", "category": "Access",
    ...                "group": "desk", "impact": "low", "urgency": "high", "plan": "p",
    ...                "requires_approval": False}],
    ... })
    >>> cat.item("pw").group
    'desk'
    """

    items: tuple[ServiceItem, ...] = attrs.field(
        converter=tuple, metadata=_doc("what can be ordered ([[items]])")
    )
    groups: tuple[SupportGroup, ...] = attrs.field(
        converter=tuple, metadata=_doc("the teams that fulfil requests ([[groups]])")
    )
    plans: tuple[PlanTemplate, ...] = attrs.field(
        converter=tuple, metadata=_doc("how items are fulfilled ([[plans]])")
    )
    triage_group: str | None = attrs.field(
        default=None,
        metadata=_doc("the group that triages requests without an item (default: none)"),
    )
    approval_policies: tuple[ApprovalPolicy, ...] = attrs.field(
        default=(),
        converter=tuple,
        metadata=_doc("how items are approved, stage by stage ([[approval_policies]])"),
    )
    intake: IntakeSettings = attrs.field(
        factory=IntakeSettings,
        metadata=_doc("email and chat intake: auto_triage thresholds, language ([intake])"),
    )
    _items_by_id: dict[str, ServiceItem] = attrs.field(init=False, eq=False, repr=False)
    _groups_by_id: dict[str, SupportGroup] = attrs.field(init=False, eq=False, repr=False)
    _plans_by_id: dict[str, PlanTemplate] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_items_by_id", {i.id: i for i in self.items})
        object.__setattr__(self, "_groups_by_id", {g.id: g for g in self.groups})
        object.__setattr__(self, "_plans_by_id", {p.id: p for p in self.plans})

    def item(self, item_id: str) -> ServiceItem:
        """The service item with this id; ``NotFoundError`` if there is none."""
        try:
            return self._items_by_id[item_id]
        except KeyError:
            raise NotFoundError("service item", item_id) from None

    def group(self, group_id: str) -> SupportGroup:
        """The support group with this id; ``NotFoundError`` if there is none."""
        try:
            return self._groups_by_id[group_id]
        except KeyError:
            raise NotFoundError("support group", group_id) from None

    def plan(self, plan_id: str) -> PlanTemplate:
        """The plan template with this id; ``NotFoundError`` if there is none."""
        try:
            return self._plans_by_id[plan_id]
        except KeyError:
            raise NotFoundError("plan template", plan_id) from None

    def approval_policy(self, policy_id: str) -> ApprovalPolicy:
        """The approval policy with this id; ``NotFoundError`` if there is none."""
        for policy in self.approval_policies:
            if policy.id == policy_id:
                return policy
        raise NotFoundError("approval policy", policy_id)

    def has_approval_policy(self, policy_id: str) -> bool:
        """True when the catalog has an approval policy with this id."""
        return any(p.id == policy_id for p in self.approval_policies)

    def has_item(self, item_id: str) -> bool:
        """True when the catalog has an item with this id."""
        return item_id in self._items_by_id

    def has_group(self, group_id: str) -> bool:
        """True when the catalog has a group with this id."""
        return group_id in self._groups_by_id

    @property
    def categories(self) -> frozenset[str]:
        """Every category named by an item."""
        return frozenset(i.category for i in self.items)

    def problems(self, conditions: ConditionCheck | None = None) -> list[Problem]:
        """Cross-reference problems: unknown ids, duplicates, bad plan DAGs; with
        ``conditions``, also each task's ``when`` condition checked by it."""
        found: list[Problem] = []
        id_lists: list[tuple[str, list[str]]] = [
            ("groups", [g.id for g in self.groups]),
            ("plans", [p.id for p in self.plans]),
            ("items", [i.id for i in self.items]),
        ]
        for kind, ids in id_lists:
            seen: set[str] = set()
            for index, entry_id in enumerate(ids):
                if entry_id in seen:
                    found.append(
                        Problem(f"{kind}[{index}].id", entry_id, f"duplicate id {entry_id!r}")
                    )
                seen.add(entry_id)
        for gi, group in enumerate(self.groups):
            if group.escalates_to is not None and group.escalates_to not in self._groups_by_id:
                found.append(
                    Problem(
                        f"groups[{gi}].escalates_to",
                        group.escalates_to,
                        f"unknown group {group.escalates_to!r}",
                    )
                )
        if self.triage_group is not None and self.triage_group not in self._groups_by_id:
            found.append(
                Problem("triage_group", self.triage_group, f"unknown group {self.triage_group!r}")
            )
        for pi, plan in enumerate(self.plans):
            found.extend(_plan_problems(f"plans[{pi}]", plan, self._groups_by_id, conditions))
        found.extend(
            policy_problems(
                self.approval_policies,
                {g.id: tuple(g.members) for g in self.groups},
                tuple((i.approval, i.requires_approval) for i in self.items),
                conditions,
            )
        )
        for ii, item in enumerate(self.items):
            where = f"items[{ii}]"
            if item.group not in self._groups_by_id:
                found.append(Problem(f"{where}.group", item.group, f"unknown group {item.group!r}"))
            item_plan = self._plans_by_id.get(item.plan)
            if item_plan is None:
                found.append(Problem(f"{where}.plan", item.plan, f"unknown plan {item.plan!r}"))
                continue
            for task in item_plan.tasks:
                if task.kind.orders and not (task.supplier or item.supplier):
                    orders = (
                        "orders from a supplier when nothing is in stock"
                        if task.kind is TaskKind.STOCK_OR_ORDER
                        else "orders from a supplier"
                    )
                    found.append(
                        Problem(
                            f"{where}.supplier",
                            item.supplier,
                            f"plan {item_plan.id!r} task {task.key!r} {orders} "
                            "but neither the task nor the item names one",
                        )
                    )
        channels = {c.value for c in Channel}
        for channel, threshold in self.intake.auto_triage.items():
            if channel not in channels:
                found.append(Problem(f"intake.auto_triage.{channel}", threshold, "unknown channel"))
            elif not 0.0 <= threshold <= 1.0:
                found.append(
                    Problem(
                        f"intake.auto_triage.{channel}",
                        threshold,
                        "a confidence threshold lies between 0 and 1",
                    )
                )
        return found

    def validate(self, conditions: ConditionCheck | None = None) -> Catalog:
        """Raise ``ValidationError`` listing every problem :meth:`problems` finds."""
        found = self.problems(conditions)
        if found:
            raise ValidationError(found)
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Catalog:
        """Build a catalog from its data form, checking types, references and conditions."""
        return _forms().catalog(data, cls, source=source)

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> Catalog:
        """Load a catalog from a TOML file (``[[groups]]``, ``[[plans]]``, ``[[items]]``)."""
        return _forms().load_catalog(path, cls)

    def to_dict(self) -> dict[str, Any]:
        """The data form; ``None`` values are left out so it can be written as TOML."""
        return _forms().unstructure(self)


def _plan_problems(
    where: str,
    plan: PlanTemplate,
    groups: Mapping[str, SupportGroup],
    conditions: ConditionCheck | None,
) -> list[Problem]:
    found: list[Problem] = []
    keys: dict[str, int] = {}
    for ti, task in enumerate(plan.tasks):
        if task.key in keys:
            found.append(Problem(f"{where}.tasks[{ti}].key", task.key, "duplicate task key"))
        keys.setdefault(task.key, ti)
        if task.group is not None and task.group not in groups:
            found.append(
                Problem(f"{where}.tasks[{ti}].group", task.group, f"unknown group {task.group!r}")
            )
    if not plan.tasks:
        found.append(Problem(f"{where}.tasks", [], "a plan needs at least one task"))
    for ti, task in enumerate(plan.tasks):
        if task.when is not None and conditions is not None:
            found.extend(conditions(task.when, f"{where}.tasks[{ti}].when"))
    for ti, task in enumerate(plan.tasks):
        for ai, dep in enumerate(task.after):
            if dep not in keys:
                found.append(
                    Problem(f"{where}.tasks[{ti}].after[{ai}]", dep, f"unknown task {dep!r}")
                )
            elif dep == task.key:
                found.append(
                    Problem(f"{where}.tasks[{ti}].after[{ai}]", dep, "a task cannot follow itself")
                )
    cycle = _find_cycle(plan)
    if cycle:
        first = keys[cycle[0]]
        shown = cycle if len(cycle) <= 12 else [*cycle[:5], "...", *cycle[-5:]]
        size = "" if len(cycle) <= 12 else f" ({len(cycle) - 1} tasks)"
        found.append(
            Problem(
                f"{where}.tasks[{first}].after",
                list(cycle),
                "cycle: " + " -> ".join(shown) + size,
            )
        )
    return found


def _find_cycle(plan: PlanTemplate) -> list[str] | None:
    """The first cycle of ``after`` dependencies, as ``[a, b, ..., a]``, or None.

    A depth-first search with an explicit stack (one iterator per open task), so a
    plan of any size or depth is walked without recursion, each task and edge once.
    """
    deps = {t.key: [d for d in t.after if d != t.key] for t in plan.tasks}
    done: set[str] = set()
    for root in deps:
        if root in done:
            continue
        path: list[str] = [root]
        on_path: set[str] = {root}
        pending = [iter(deps[root])]
        while pending:
            for dep in pending[-1]:
                if dep not in deps or dep in done:
                    continue
                if dep in on_path:
                    return [*path[path.index(dep) :], dep]
                path.append(dep)
                on_path.add(dep)
                pending.append(iter(deps[dep]))
                break
            else:
                pending.pop()
                on_path.discard(path[-1])
                done.add(path.pop())
    return None


def kept_dependencies(plan: PlanTemplate, keep: Set[str]) -> dict[str, tuple[str, ...]]:
    """The ``after`` of each kept task once the tasks not in ``keep`` are left out.

    A left-out task in a kept task's ``after`` is replaced by the nearest kept tasks
    it waits for, through any chain of left-out tasks (sorted, for each replaced
    task); repeats are dropped, the order is kept. Each task is resolved once and
    the walk uses an explicit stack, so any size and depth of plan takes linear
    steps per kept set.

    >>> plan = PlanTemplate(id="p", tasks=[
    ...     TaskTemplate(key="a", kind=TaskKind.MANUAL, title="A"),
    ...     TaskTemplate(key="b", kind=TaskKind.MANUAL, title="B", after=("a",)),
    ...     TaskTemplate(key="c", kind=TaskKind.MANUAL, title="C", after=("b",)),
    ... ])
    >>> kept_dependencies(plan, {"a", "c"})
    {'a': (), 'c': ('a',)}
    """
    deps = {t.key: t.after for t in plan.tasks}
    reach: dict[str, frozenset[str]] = {}
    result: dict[str, tuple[str, ...]] = {}
    for task in plan.tasks:
        if task.key not in keep:
            continue
        after: list[str] = []
        seen: set[str] = set()
        for dep in task.after:
            nearest = {dep} if dep in keep else _nearest_kept(dep, deps, keep, reach)
            for found in sorted(nearest - seen):
                seen.add(found)
                after.append(found)
        result[task.key] = tuple(after)
    return result


def _nearest_kept(
    key: str,
    deps: Mapping[str, tuple[str, ...]],
    keep: Set[str],
    reach: dict[str, frozenset[str]],
) -> frozenset[str]:
    """The kept tasks that left-out task ``key`` waits for through left-out tasks;
    ``reach`` memoizes them per left-out task (a task on the current path is skipped,
    so even a cyclic plan ends)."""
    if key in reach:
        return reach[key]
    path = [key]
    on_path = {key}
    pending = [iter(deps.get(key, ()))]
    while pending:
        for dep in pending[-1]:
            if dep in keep or dep in reach or dep in on_path:
                continue
            path.append(dep)
            on_path.add(dep)
            pending.append(iter(deps.get(dep, ())))
            break
        else:
            pending.pop()
            done = path.pop()
            on_path.discard(done)
            found: set[str] = set()
            for dep in deps.get(done, ()):
                if dep in keep:
                    found.add(dep)
                else:
                    found |= reach.get(dep, frozenset())
            reach[done] = frozenset(found)
    return reach[key]
