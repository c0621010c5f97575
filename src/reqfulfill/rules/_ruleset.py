"""Rules and rule sets: ordered, named conditions with a decision each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any, ClassVar, Final, Literal

import attrs

from reqfulfill.model.errors import Problem, ValidationError, nesting_problem
from reqfulfill.rules._conditions import AllOf, Facts, Failure, _compile, first_failure
from reqfulfill.rules._matcher import Matcher
from reqfulfill.serialization.config import load_data_file

__all__ = [
    "HIT_POLICIES",
    "RULESET_KEYS",
    "RULE_KEYS",
    "Decision",
    "Explanation",
    "Rule",
    "RuleSet",
    "RuleTrace",
    "matcher_of",
]

HIT_POLICIES: Final = ("first", "collect")
"""``first``: the first matching rule decides. ``collect``: every matching rule, in order."""

HitPolicy = Literal["first", "collect"]

RESERVED_NAMES: Final = frozenset({"item default"})

RULE_KEYS: Final = ("name", "when", "then")
"""The keys of a rule's data form (``name`` is required)."""

RULESET_KEYS: Final = ("rules", "hit_policy")
"""The keys of a rule set's data form."""


def _plain_data(value: Any) -> Any:
    """A deep copy as plain dicts and lists, so equality survives a round trip."""
    kind = value.__class__
    if kind is str or kind is int or kind is bool or kind is float:
        return value
    if isinstance(value, Mapping):
        return {k: _plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_data(v) for v in value]
    return value


def _table(value: Any) -> Any:
    return _plain_data(value) if isinstance(value, Mapping) else value


@attrs.frozen
class Rule:
    """A named condition and what it decides when it holds.

    ``when`` is a condition (an empty one always holds: a catch-all);
    ``then`` is the decision, e.g. ``{"group": "desk", "strategy": "queue"}``.
    """

    name: str
    when: Mapping[str, Any] = attrs.field(factory=dict, converter=_table)
    then: Mapping[str, Any] = attrs.field(factory=dict, converter=_table)

    def to_dict(self) -> dict[str, Any]:
        """The data form: ``{"name": ..., "when": {...}, "then": {...}}``."""
        return {"name": self.name, "when": _plain_data(self.when), "then": _plain_data(self.then)}


@attrs.frozen
class Decision:
    """What a rule set decided: the ``then`` of the deciding rule and its name.

    With hit policy ``collect``, ``value`` is a tuple of the ``then`` tables of
    every matching rule in order, ``rule`` the first one's name and ``rules``
    all their names. ``Decision.undecided`` (value None, rule None) means no
    rule matched.
    """

    value: Any
    rule: str | None
    rules: tuple[str, ...] = ()

    undecided: ClassVar[Decision]

    @property
    def decided(self) -> bool:
        """True when some rule matched."""
        return self.rule is not None


Decision.undecided = Decision(None, None)


@attrs.frozen
class RuleTrace:
    """One rule as tried by :meth:`RuleSet.explain`: matched, or its first failed test."""

    index: int
    rule: str
    matched: bool
    failure: Failure | None = None

    def __str__(self) -> str:
        head = f"rules[{self.index}] {self.rule!r}"
        if self.matched:
            return f"{head}: matched"
        return f"{head}: no match, {self.failure}"


@attrs.frozen
class Explanation:
    """The trace of a decision: every rule tried in order, then the decision."""

    decision: Decision
    trace: tuple[RuleTrace, ...]

    def __str__(self) -> str:
        lines = [str(step) for step in self.trace]
        if self.decision.decided:
            lines.append(f"decided by {self.decision.rule!r}: {self.decision.value!r}")
        else:
            lines.append("undecided: no rule matched")
        return "\n".join(lines)


def _ruleset_problems(
    rules: Sequence[tuple[int, Rule]], hit_policy: object, nodes: list[AllOf]
) -> list[Problem]:
    problems: list[Problem] = []
    if hit_policy not in HIT_POLICIES:
        problems.append(
            Problem("hit_policy", hit_policy, f"unknown hit policy; expected one of {HIT_POLICIES}")
        )
    seen: dict[str, int] = {}
    for index, rule in rules:
        where = f"rules[{index}]"
        if not isinstance(rule, Rule):
            problems.append(Problem(where, rule, "expected a Rule"))
            continue
        if not isinstance(rule.name, str) or not rule.name.strip():
            problems.append(Problem(f"{where}.name", rule.name, "a rule needs a non-empty name"))
        elif rule.name in RESERVED_NAMES:
            problems.append(Problem(f"{where}.name", rule.name, "this name is reserved"))
        elif rule.name in seen:
            problems.append(
                Problem(
                    f"{where}.name",
                    rule.name,
                    f"duplicate rule name (first at rules[{seen[rule.name]}])",
                )
            )
        else:
            seen[rule.name] = index
        if not isinstance(rule.then, Mapping):
            problems.append(Problem(f"{where}.then", rule.then, "then is a table"))
        node = _compile(rule.when, f"{where}.when", problems)
        if isinstance(node, AllOf):
            nodes.append(node)
    return problems


def _prefixed(problems: tuple[Problem, ...] | list[Problem], path: str) -> list[Problem]:
    if not path:
        return list(problems)
    return [Problem(f"{path}.{p.path}" if p.path else path, p.value, p.reason) for p in problems]


def _rule_tuple(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(rules)


def _structure_rule(entry: object, where: str, problems: list[Problem]) -> Rule | None:
    """A rule from its data form, strictly: no coercion, no unknown keys."""
    if not isinstance(entry, Mapping):
        problems.append(Problem(where, entry, f"expected a table, got {type(entry).__name__}"))
        return None
    before = len(problems)
    for key in entry:
        if key not in RULE_KEYS:
            problems.append(Problem(f"{where}.{key}", entry[key], "unknown key"))
    name = entry.get("name")
    if name is None:
        problems.append(Problem(f"{where}.name", None, "missing required key"))
    elif not isinstance(name, str):
        problems.append(
            Problem(f"{where}.name", name, f"expected a string, got {type(name).__name__}")
        )
    for key in ("when", "then"):
        value = entry.get(key, {})
        if not isinstance(value, Mapping):
            problems.append(
                Problem(f"{where}.{key}", value, f"expected a table, got {type(value).__name__}")
            )
    if len(problems) != before:
        return None
    return Rule(name, entry.get("when", {}), entry.get("then", {}))  # type: ignore[arg-type]


@attrs.frozen
class RuleSet:
    """An ordered list of rules and the policy that turns matches into a decision.

    Compiled once when built (every invalid condition is reported at once,
    naming ``rules[i].when.<path>``); deciding uses an index over equality and
    membership tests, so 10,000 rules cost about what 100 do.

    >>> rs = RuleSet.from_dict({"rules": [
    ...     {"name": "vip", "when": {"requester.vip": True}, "then": {"group": "vip-desk"}},
    ...     {"name": "default", "then": {"group": "desk"}},
    ... ]})
    >>> rs.decide({"requester": {"vip": True}})
    Decision(value={'group': 'vip-desk'}, rule='vip', rules=('vip',))
    >>> rs.decide({"requester": {"vip": False}}).rule
    'default'
    """

    rules: tuple[Rule, ...] = attrs.field(default=(), converter=_rule_tuple)
    hit_policy: HitPolicy = "first"
    _nodes: tuple[AllOf, ...] = attrs.field(init=False, eq=False, repr=False)
    _matcher: Matcher = attrs.field(init=False, eq=False, repr=False)
    _by_name: dict[str, int] = attrs.field(init=False, eq=False, repr=False)
    _described: dict[str, str] = attrs.field(init=False, eq=False, repr=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        nodes: list[AllOf] = []
        problems = _ruleset_problems(list(enumerate(self.rules)), self.hit_policy, nodes)
        if problems:
            raise ValidationError(problems)
        object.__setattr__(self, "_nodes", tuple(nodes))
        object.__setattr__(self, "_by_name", {r.name: i for i, r in enumerate(self.rules)})
        # decisions are immutable: build each rule's once, the index hands out the same one
        decisions = tuple(Decision(r.then, r.name, (r.name,)) for r in self.rules)
        object.__setattr__(self, "_matcher", Matcher(nodes, decisions))

    def rule(self, name: str) -> Rule:
        """The rule with this name; ``KeyError`` if there is none."""
        return self.rules[self._by_name[name]]

    def describe(self, name: str) -> str:
        """The condition of the named rule in words (``always`` for a catch-all)."""
        text = self._described.get(name)
        if text is None:
            text = self._described[name] = self._nodes[self._by_name[name]].describe()
        return text

    @property
    def conditions(self) -> tuple[AllOf, ...]:
        """The compiled condition of each rule, in order."""
        return self._nodes

    def decide(self, facts: Facts) -> Decision:
        """The decision for ``facts`` under the hit policy; ``Decision.undecided`` if none."""
        if self.hit_policy == "first":
            decided: Decision | None = self._matcher.first(facts)
            return Decision.undecided if decided is None else decided
        hits = self._matcher.all(facts)
        if not hits:
            return Decision.undecided
        chosen = [self.rules[i] for i in hits]
        return Decision(
            tuple(r.then for r in chosen), chosen[0].name, tuple(r.name for r in chosen)
        )

    def matching(self, facts: Facts) -> tuple[Rule, ...]:
        """Every rule whose condition holds, in order (whatever the hit policy)."""
        return tuple(self.rules[i] for i in self._matcher.all(facts))

    def explain(self, facts: Facts) -> Explanation:
        """Every rule tried in order: matched, or its first failed test with the fact's value.

        With hit policy ``first`` the trace stops at the deciding rule.
        """
        trace: list[RuleTrace] = []
        for index, (rule, node) in enumerate(zip(self.rules, self._nodes, strict=True)):
            failure = first_failure(node, facts)
            trace.append(RuleTrace(index, rule.name, failure is None, failure))
            if failure is None and self.hit_policy == "first":
                break
        return Explanation(self.decide(facts), tuple(trace))

    def to_dict(self) -> dict[str, Any]:
        """The data form: ``{"hit_policy": "first", "rules": [...]}``."""
        return {"hit_policy": self.hit_policy, "rules": [rule.to_dict() for rule in self.rules]}

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str | None = None, path: str = ""
    ) -> RuleSet:
        """Build a rule set from its data form; ``ValidationError`` lists every problem.

        ``path`` prefixes every problem's path (``assignment`` gives
        ``assignment.rules[3].when.answers.cost``).
        """
        problems: list[Problem] = []
        if not isinstance(data, Mapping):
            problems.append(Problem("", data, f"expected a table, got {type(data).__name__}"))
            raise ValidationError(_prefixed(problems, path), source=source)
        deep = nesting_problem(data)
        if deep is not None:
            raise ValidationError(_prefixed([deep], path), source=source)
        for key in data:
            if key not in RULESET_KEYS:
                problems.append(Problem(str(key), data[key], "unknown key"))
        raw = data.get("rules", [])
        if isinstance(raw, str | bytes | Mapping) or not isinstance(raw, Sequence):
            problems.append(Problem("rules", raw, f"expected a list, got {type(raw).__name__}"))
            raw = []
        rules: list[tuple[int, Rule]] = []
        for index, entry in enumerate(raw):
            rule = _structure_rule(entry, f"rules[{index}]", problems)
            if rule is not None:
                rules.append((index, rule))
        policy = data.get("hit_policy", "first")
        if problems:
            # report the problems of the well-formed rules too: everything at once
            problems.extend(_ruleset_problems(rules, policy, []))
            raise ValidationError(_prefixed(problems, path), source=source)
        try:
            return cls([rule for _, rule in rules], policy)
        except ValidationError as exc:
            raise ValidationError(_prefixed(exc.problems, path), source=source) from None

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> RuleSet:
        """Load a rule set from a TOML (or ``.json``) file: ``hit_policy``, ``[[rules]]``."""
        return cls.from_dict(load_data_file(path), source=str(path))


def matcher_of(ruleset: RuleSet) -> Matcher:
    """The compiled index of ``ruleset`` (``Rules`` lays the three out over one probe)."""
    return ruleset._matcher
