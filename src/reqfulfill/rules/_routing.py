"""The rules of a service: assignment, categorization, prioritization and the matrix.

:meth:`Rules.route` decides over one probe: the three rule sets' indexes are
laid out over one :class:`~reqfulfill.rules._matcher.Probe`, so a route reads
each indexed fact once and every set looks its groups up in the same keys.
What a rule decides -- its group and strategy, its category, its impact,
urgency and priority -- is built the first time the rule decides and shared
by every later route it decides; the reason is kept as the rules behind it
(:class:`Because`) and worded only when read. A route whose rules decide
alone allocates nothing but the keys and the :class:`Routing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from types import MappingProxyType
from typing import Any, Final, TypeAlias, final

import attrs

from reqfulfill.model.catalog import ServiceItem
from reqfulfill.model.enums import Impact, Priority, Urgency
from reqfulfill.model.errors import Problem, ValidationError, nesting_problem
from reqfulfill.rules._conditions import Facts
from reqfulfill.rules._matcher import Matcher, Probe
from reqfulfill.rules._matrix import PriorityMatrix
from reqfulfill.rules._ruleset import RuleSet, matcher_of
from reqfulfill.serialization.config import load_data_file

__all__ = ["ITEM_DEFAULT", "PARTS", "RULES_KEYS", "STRATEGIES", "THEN_KEYS", "Routing", "Rules"]

STRATEGIES: Final = ("queue", "round_robin", "least_loaded")
"""How an agent is chosen in the assigned group: ``queue`` leaves it to a claim."""

PARTS: Final = ("assignment", "categorization", "prioritization")
"""The rule sets of :class:`Rules`, in data-form order."""

ITEM_DEFAULT: Final = "item default"
"""The rule name recorded when no rule matched and the service item decided."""

ITEM_REASON: Final = "no rule matched; item default"
"""The reason recorded when no rule matched and the service item decided."""

NO_ITEM_REASON: Final = "no rule matched; no item"
"""The reason recorded when no rule matched and there is no item."""


def reason(ruleset: RuleSet, name: str) -> str:
    """Why the named rule decided, in words: its condition (a catch-all says so)."""
    text = ruleset.describe(name)
    return "always (catch-all rule)" if text == "always" else text


@final
class Because:
    """A reason not yet worded: the rules that decided, in order, then what the item gave."""

    __slots__ = ("names", "ruleset", "tail")

    def __init__(self, ruleset: RuleSet, names: tuple[str, ...], tail: str | None = None) -> None:
        self.ruleset = ruleset
        self.names = names
        self.tail = tail

    def __str__(self) -> str:
        said = [reason(self.ruleset, name) for name in self.names]
        if self.tail is not None:
            said.append(self.tail)
        return "; ".join(said)


Why: TypeAlias = str | Because
"""A reason: in words already, or the rules to word it from."""


def worded(why: Why) -> str:
    """The reason in words."""
    return why if why.__class__ is str else str(why)


Assigned: TypeAlias = tuple[str | None, str, str | None, Why]
"""group, strategy, rule, reason."""

Categorized: TypeAlias = tuple[str | None, str | None, Why]
"""category, rule, reason."""

Prioritized: TypeAlias = tuple[Impact | None, Urgency | None, Priority | None, str | None, Why]
"""impact, urgency, priority, rule, reason."""

Levels: TypeAlias = tuple[Impact | None, Urgency | None, Priority | None, str, Why]
"""What one prioritization rule decides: impact, urgency, priority, its name, its reason."""

_UNASSIGNED: Final[Assigned] = (None, "queue", None, NO_ITEM_REASON)
_UNCATEGORIZED: Final[Categorized] = (None, None, NO_ITEM_REASON)
_UNPRIORITIZED: Final[Prioritized] = (None, None, None, None, NO_ITEM_REASON)


def _on(ruleset: RuleSet, probe: Probe, payloads: Sequence[Any]) -> Matcher | None:
    return matcher_of(ruleset).rebased(probe, payloads) if ruleset.rules else None


def _levels(ruleset: RuleSet, matrix: PriorityMatrix) -> list[Levels]:
    """What each prioritization rule decides on its own."""
    out: list[Levels] = []
    for rule in ruleset.rules:
        then = rule.then
        impact = Impact(then["impact"]) if "impact" in then else None
        urgency = Urgency(then["urgency"]) if "urgency" in then else None
        priority = matrix.priority(impact, urgency) if impact and urgency else None
        out.append((impact, urgency, priority, rule.name, Because(ruleset, (rule.name,))))
    return out


@final
class RoutePlan:
    """The three rule sets of a ``Rules`` compiled to decide over one probe of the facts.

    :attr:`probe` reads the facts; :meth:`assign`, :meth:`categorize` and
    :meth:`prioritize` each take its keys and give that part of the routing.
    Each rule's part is built once, here, and is what its index hands out.
    """

    __slots__ = (
        "_assignment",
        "_categorization",
        "_collect",
        "_levels",
        "_matrix",
        "_prioritization",
        "_sets",
        "probe",
    )

    def __init__(
        self,
        assignment: RuleSet,
        categorization: RuleSet,
        prioritization: RuleSet,
        matrix: PriorityMatrix,
    ) -> None:
        sets = (assignment, categorization, prioritization)
        self.probe = Probe(path for ruleset in sets for path in matcher_of(ruleset).paths)
        assigned: list[Assigned] = [
            (
                r.then["group"],
                r.then.get("strategy", "queue"),
                r.name,
                Because(assignment, (r.name,)),
            )
            for r in assignment.rules
        ]
        categorized: list[Categorized] = [
            (r.then["category"], r.name, Because(categorization, (r.name,)))
            for r in categorization.rules
        ]
        self._levels = _levels(prioritization, matrix)
        self._assignment = _on(assignment, self.probe, assigned)
        self._categorization = _on(categorization, self.probe, categorized)
        self._prioritization = _on(prioritization, self.probe, self._levels)
        self._collect = prioritization.hit_policy == "collect"
        self._matrix = matrix
        self._sets = sets

    def assign(self, keys: Sequence[Any], facts: Facts, item: ServiceItem | None) -> Assigned:
        """Group, strategy, rule and reason: the first matching rule's, else the item's."""
        matcher = self._assignment
        if matcher is not None:
            known: Assigned | None = matcher.first_keyed(keys, facts)
            if known is not None:
                return known
        if item is not None:
            return item.group, "queue", ITEM_DEFAULT, ITEM_REASON
        return _UNASSIGNED

    def categorize(
        self, keys: Sequence[Any], facts: Facts, item: ServiceItem | None
    ) -> Categorized:
        """Category, rule and reason: the first matching rule's, else the item's."""
        matcher = self._categorization
        if matcher is not None:
            known: Categorized | None = matcher.first_keyed(keys, facts)
            if known is not None:
                return known
        if item is not None:
            return item.category, ITEM_DEFAULT, ITEM_REASON
        return _UNCATEGORIZED

    def prioritize(
        self, keys: Sequence[Any], facts: Facts, item: ServiceItem | None
    ) -> Prioritized:
        """Impact, urgency, priority, rule and reason.

        Impact and urgency each come from the first matching rule that sets
        it (under ``first``, the one matching rule); the item supplies what
        no rule set.
        """
        matcher = self._prioritization
        if matcher is None:
            return self._completed((), item)
        if self._collect:
            levels = self._levels
            return self._completed([levels[i] for i in matcher.all_keyed(keys, facts)], item)
        known: Levels | None = matcher.first_keyed(keys, facts)
        if known is None:
            return self._completed((), item)
        if item is None or (known[0] is not None and known[1] is not None):
            return known
        return self._completed((known,), item)

    def _completed(self, matched: Iterable[Levels], item: ServiceItem | None) -> Prioritized:
        """Impact and urgency from the matching rules in order, then from the item."""
        impact: Impact | None = None
        urgency: Urgency | None = None
        names: list[str] = []
        for rule_impact, rule_urgency, _, name, _ in matched:
            took = False
            if impact is None and rule_impact is not None:
                impact, took = rule_impact, True
            if urgency is None and rule_urgency is not None:
                urgency, took = rule_urgency, True
            if took:
                names.append(name)
        tail: str | None = None
        if item is not None and (impact is None or urgency is None):
            missing = [k for k, v in (("impact", impact), ("urgency", urgency)) if v is None]
            impact = impact or item.impact
            urgency = urgency or item.urgency
            tail = ITEM_REASON if not names else f"{' and '.join(missing)} from item default"
        elif not names:
            return _UNPRIORITIZED
        priority = self._matrix.priority(impact, urgency) if impact and urgency else None
        rule = names[0] if names else ITEM_DEFAULT
        why: Why = Because(self._sets[2], tuple(names), tail) if names else ITEM_REASON
        return impact, urgency, priority, rule, why


FIELDS: Final = (
    "group",
    "strategy",
    "category",
    "impact",
    "urgency",
    "priority",
    "assignment_rule",
    "category_rule",
    "priority_rule",
    "assignment_reason",
    "category_reason",
    "priority_reason",
)
"""The attributes of a :class:`Routing`, in constructor order."""


@final
class Routing:
    """Where a request goes and how urgent it is, with the rule behind each part.

    ``*_rule`` is the deciding rule's name, ``"item default"`` when no rule
    matched and the item supplied the value, or None when nothing decided;
    ``*_reason`` says why in words.

    Immutable, equal when every attribute is. A routing from
    :meth:`Rules.route` holds what each part's rule decides and words its
    reasons when they are read.
    """

    __slots__ = ("_assigned", "_categorized", "_prioritized")
    __match_args__ = FIELDS

    def __init__(
        self,
        group: str | None = None,
        strategy: str = "queue",
        category: str | None = None,
        impact: Impact | None = None,
        urgency: Urgency | None = None,
        priority: Priority | None = None,
        assignment_rule: str | None = None,
        category_rule: str | None = None,
        priority_rule: str | None = None,
        assignment_reason: str = "",
        category_reason: str = "",
        priority_reason: str = "",
    ) -> None:
        self._assigned: Assigned = (group, strategy, assignment_rule, assignment_reason)
        self._categorized: Categorized = (category, category_rule, category_reason)
        self._prioritized: Prioritized = (impact, urgency, priority, priority_rule, priority_reason)

    @classmethod
    def _decided(
        cls, assigned: Assigned, categorized: Categorized, prioritized: Prioritized
    ) -> Routing:
        routing = cls.__new__(cls)
        routing._assigned = assigned
        routing._categorized = categorized
        routing._prioritized = prioritized
        return routing

    @property
    def group(self) -> str | None:
        """The assigned support group (None: nothing decided)."""
        return self._assigned[0]

    @property
    def strategy(self) -> str:
        """How an agent is chosen in the group (see :data:`STRATEGIES`)."""
        return self._assigned[1]

    @property
    def category(self) -> str | None:
        """The request's category."""
        return self._categorized[0]

    @property
    def impact(self) -> Impact | None:
        """The request's impact."""
        return self._prioritized[0]

    @property
    def urgency(self) -> Urgency | None:
        """The request's urgency."""
        return self._prioritized[1]

    @property
    def priority(self) -> Priority | None:
        """The matrix's priority for impact and urgency (None unless both are known)."""
        return self._prioritized[2]

    @property
    def assignment_rule(self) -> str | None:
        """The rule that chose the group."""
        return self._assigned[2]

    @property
    def category_rule(self) -> str | None:
        """The rule that chose the category."""
        return self._categorized[1]

    @property
    def priority_rule(self) -> str | None:
        """The first rule that set impact or urgency."""
        return self._prioritized[3]

    @property
    def assignment_reason(self) -> str:
        """Why the group, in words."""
        return worded(self._assigned[3])

    @property
    def category_reason(self) -> str:
        """Why the category, in words."""
        return worded(self._categorized[2])

    @property
    def priority_reason(self) -> str:
        """Why the impact and urgency, in words."""
        return worded(self._prioritized[4])

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Routing:
            return NotImplemented
        assert isinstance(other, Routing)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}" for name, value in zip(FIELDS, self._values(), strict=True)
        )
        return f"Routing({shown})"

    def __reduce__(self) -> tuple[type[Routing], tuple[Any, ...]]:
        return Routing, self._values()


THEN_KEYS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "assignment": ("group", "strategy"),
        "categorization": ("category",),
        "prioritization": ("impact", "urgency"),
    }
)
"""What a rule of each part decides: the keys its ``then`` table may hold."""

RULES_KEYS: Final = (*PARTS, "priority_matrix")
"""The top-level keys of a rules file."""


def _then_problems(part: str, then: Mapping[str, Any], where: str) -> list[Problem]:
    problems: list[Problem] = []
    allowed = THEN_KEYS[part]
    for key in then:
        if key not in allowed:
            problems.append(
                Problem(
                    f"{where}.{key}", then[key], f"unknown key; {part} decides {', '.join(allowed)}"
                )
            )
    if part == "assignment":
        group = then.get("group")
        if not isinstance(group, str) or not group.strip():
            problems.append(Problem(f"{where}.group", group, "assignment needs a group id"))
        strategy = then.get("strategy", "queue")
        if strategy not in STRATEGIES:
            problems.append(
                Problem(
                    f"{where}.strategy", strategy, f"unknown strategy; expected one of {STRATEGIES}"
                )
            )
    elif part == "categorization":
        category = then.get("category")
        if not isinstance(category, str) or not category.strip():
            problems.append(
                Problem(f"{where}.category", category, "categorization needs a category")
            )
    else:
        if "impact" not in then and "urgency" not in then:
            problems.append(
                Problem(where, dict(then), "prioritization needs an impact or an urgency")
            )
        for key, enum_type in (("impact", Impact), ("urgency", Urgency)):
            if key in then and (
                not isinstance(then[key], str) or then[key] not in {e.value for e in enum_type}
            ):
                problems.append(
                    Problem(
                        f"{where}.{key}", then[key], f"unknown {key}; expected high, medium or low"
                    )
                )
    return problems


@attrs.frozen
class Rules:
    """The three rule sets over the same facts and the priority matrix.

    Every part is optional: with no rules the item's defaults and the ITIL
    matrix decide.

    >>> rules = Rules.from_dict({"assignment": {"rules": [
    ...     {"name": "vip", "when": {"requester.vip": True}, "then": {"group": "vip-desk"}}]}})
    >>> routing = rules.route({"requester": {"vip": True}}, item=None)
    >>> routing.group, routing.assignment_rule, routing.assignment_reason
    ('vip-desk', 'vip', 'requester.vip == True')
    """

    assignment: RuleSet = attrs.field(factory=RuleSet)
    categorization: RuleSet = attrs.field(factory=RuleSet)
    prioritization: RuleSet = attrs.field(factory=RuleSet)
    matrix: PriorityMatrix = attrs.field(factory=PriorityMatrix)
    _plan: RoutePlan = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        for part in PARTS:
            ruleset: RuleSet = getattr(self, part)
            for index, rule in enumerate(ruleset.rules):
                problems.extend(_then_problems(part, rule.then, f"{part}.rules[{index}].then"))
        if problems:
            raise ValidationError(problems)
        plan = RoutePlan(self.assignment, self.categorization, self.prioritization, self.matrix)
        object.__setattr__(self, "_plan", plan)

    def route(self, facts: Facts, *, item: ServiceItem | None) -> Routing:
        """Decide group, category, impact, urgency and priority for a request.

        A part no rule decides falls back to the item's default (rule
        ``"item default"``); a prioritization rule may set only impact or only
        urgency, the item supplying the other.
        """
        plan = self._plan
        keys = plan.probe.read(facts)  # every indexed fact, read once for the three sets
        return Routing._decided(
            plan.assign(keys, facts, item),
            plan.categorize(keys, facts, item),
            plan.prioritize(keys, facts, item),
        )

    def to_dict(self) -> dict[str, Any]:
        """The data form: ``{"assignment": {...}, ..., "priority_matrix": {...}}``."""
        data: dict[str, Any] = {part: getattr(self, part).to_dict() for part in PARTS}
        data["priority_matrix"] = self.matrix.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Rules:
        """Build the rules from their data form; every problem in every part at once."""
        if not isinstance(data, Mapping):
            raise ValidationError([Problem("", data, "expected a table")], source=source)
        deep = nesting_problem(data)
        if deep is not None:
            raise ValidationError([deep], source=source)
        problems: list[Problem] = []
        parts: dict[str, Any] = {}
        for key, value in data.items():
            if key in PARTS:
                try:
                    parts[key] = RuleSet.from_dict(value, path=key)
                except ValidationError as exc:
                    problems.extend(exc.problems)
            elif key == "priority_matrix":
                try:
                    parts["matrix"] = PriorityMatrix.from_dict(value, path=key)
                except ValidationError as exc:
                    problems.extend(exc.problems)
            else:
                problems.append(Problem(str(key), value, "unknown key"))
        if not problems:
            try:
                return cls(**parts)
            except ValidationError as exc:
                problems.extend(exc.problems)
        else:
            # also report bad ``then`` tables of the parts that did load
            for part, ruleset in parts.items():
                if part in PARTS:
                    for index, rule in enumerate(ruleset.rules):
                        where = f"{part}.rules[{index}].then"
                        problems.extend(_then_problems(part, rule.then, where))
        raise ValidationError(problems, source=source)

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> Rules:
        """Load the rules from a TOML (or ``.json``) file."""
        return cls.from_dict(load_data_file(path), source=str(path))
