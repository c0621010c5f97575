"""The rules of a service: assignment, categorization, prioritization and the matrix."""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from typing import Any, Final

import attrs

from reqfulfill.model.catalog import ServiceItem
from reqfulfill.model.enums import Impact, Priority, Urgency
from reqfulfill.model.errors import Problem, ValidationError, nesting_problem
from reqfulfill.rules._conditions import Facts
from reqfulfill.rules._matrix import PriorityMatrix
from reqfulfill.rules._ruleset import Decision, RuleSet
from reqfulfill.serialization.config import load_data_file

__all__ = ["ITEM_DEFAULT", "PARTS", "STRATEGIES", "Routing", "Rules"]

ITEM_DEFAULT: Final = "item default"
"""The rule name recorded when no rule matched and the service item decided."""

STRATEGIES: Final = ("queue", "round_robin", "least_loaded")
"""How an agent is chosen in the assigned group: ``queue`` leaves it to a claim."""

PARTS: Final = ("assignment", "categorization", "prioritization")
"""The rule sets of :class:`Rules`, in data-form order."""


_ITEM_REASON: Final = "no rule matched; item default"
_NO_ITEM_REASON: Final = "no rule matched; no item"


@attrs.frozen
class Routing:
    """Where a request goes and how urgent it is, with the rule behind each part.

    ``*_rule`` is the deciding rule's name, ``"item default"`` when no rule
    matched and the item supplied the value, or None when nothing decided;
    ``*_reason`` says why in words.
    """

    group: str | None = None
    strategy: str = "queue"
    category: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    priority: Priority | None = None
    assignment_rule: str | None = None
    category_rule: str | None = None
    priority_rule: str | None = None
    assignment_reason: str = ""
    category_reason: str = ""
    priority_reason: str = ""


def _then_problems(part: str, then: Mapping[str, Any], where: str) -> list[Problem]:
    problems: list[Problem] = []
    allowed = {
        "assignment": ("group", "strategy"),
        "categorization": ("category",),
        "prioritization": ("impact", "urgency"),
    }[part]
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


def _first_then(ruleset: RuleSet, decision: Decision) -> tuple[Mapping[str, Any], str] | None:
    if not decision.decided:
        return None
    assert decision.rule is not None
    value = decision.value[0] if ruleset.hit_policy == "collect" else decision.value
    return value, decision.rule


def _reason(ruleset: RuleSet, rule: str) -> str:
    text = ruleset.describe(rule)
    return "always (catch-all rule)" if text == "always" else text


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

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        for part in PARTS:
            ruleset: RuleSet = getattr(self, part)
            for index, rule in enumerate(ruleset.rules):
                problems.extend(_then_problems(part, rule.then, f"{part}.rules[{index}].then"))
        if problems:
            raise ValidationError(problems)

    def route(self, facts: Facts, *, item: ServiceItem | None) -> Routing:
        """Decide group, category, impact, urgency and priority for a request.

        A part no rule decides falls back to the item's default (rule
        ``"item default"``); a prioritization rule may set only impact or only
        urgency, the item supplying the other.
        """
        group: str | None = None
        strategy = "queue"
        assignment_rule: str | None = None
        hit = _first_then(self.assignment, self.assignment.decide(facts))
        if hit is not None:
            then, assignment_rule = hit
            group = then["group"]
            strategy = then.get("strategy", "queue")
            assignment_reason = _reason(self.assignment, assignment_rule)
        elif item is not None:
            group, assignment_rule = item.group, ITEM_DEFAULT
            assignment_reason = _ITEM_REASON
        else:
            assignment_reason = _NO_ITEM_REASON

        category: str | None = None
        category_rule: str | None = None
        hit = _first_then(self.categorization, self.categorization.decide(facts))
        if hit is not None:
            then, category_rule = hit
            category = then["category"]
            category_reason = _reason(self.categorization, category_rule)
        elif item is not None:
            category, category_rule = item.category, ITEM_DEFAULT
            category_reason = _ITEM_REASON
        else:
            category_reason = _NO_ITEM_REASON

        impact, urgency, priority, priority_rule, priority_reason = self._prioritize(facts, item)
        return Routing(
            group,
            strategy,
            category,
            impact,
            urgency,
            priority,
            assignment_rule,
            category_rule,
            priority_rule,
            assignment_reason,
            category_reason,
            priority_reason,
        )

    def _prioritize(
        self, facts: Facts, item: ServiceItem | None
    ) -> tuple[Impact | None, Urgency | None, Priority | None, str | None, str]:
        decision = self.prioritization.decide(facts)
        impact: Impact | None = None
        urgency: Urgency | None = None
        rule: str | None = None
        reasons: list[str] = []
        if decision.decided:
            thens = (
                decision.value if self.prioritization.hit_policy == "collect" else (decision.value,)
            )
            for then, name in zip(thens, decision.rules, strict=True):
                took = False
                if impact is None and "impact" in then:
                    impact, took = Impact(then["impact"]), True
                if urgency is None and "urgency" in then:
                    urgency, took = Urgency(then["urgency"]), True
                if took:
                    rule = rule or name
                    reasons.append(_reason(self.prioritization, name))
        if item is not None and (impact is None or urgency is None):
            missing = [k for k, v in (("impact", impact), ("urgency", urgency)) if v is None]
            impact = impact or item.impact
            urgency = urgency or item.urgency
            if rule is None:
                rule = ITEM_DEFAULT
                reasons.append(_ITEM_REASON)
            else:
                reasons.append(f"{' and '.join(missing)} from item default")
        elif rule is None:
            reasons.append(_NO_ITEM_REASON)
        priority = self.matrix.priority(impact, urgency) if impact and urgency else None
        return impact, urgency, priority, rule, "; ".join(reasons)

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
