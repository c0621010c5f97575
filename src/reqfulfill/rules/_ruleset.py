"""Rules and rule sets: ordered, named conditions with a decision each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any, ClassVar, Final, Literal

import attrs

from reqfulfill.model.errors import Problem, ValidationError
from reqfulfill.rules._conditions import AllOf, Facts, Failure, _compile, first_failure
from reqfulfill.rules._matcher import Matcher

__all__ = ["HIT_POLICIES", "Decision", "Explanation", "Rule", "RuleSet", "RuleTrace"]

HIT_POLICIES: Final = ("first", "collect")
"""``first``: the first matching rule decides. ``collect``: every matching rule, in order."""

HitPolicy = Literal["first", "collect"]

RESERVED_NAMES: Final = frozenset({"item default"})


def _plain_data(value: Any) -> Any:
    """A deep copy as plain dicts and lists, so equality survives a round trip."""
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


@attrs.frozen
class _RuleSetForm:
    rules: tuple[Rule, ...] = ()
    hit_policy: str = "first"


def _prefixed(problems: tuple[Problem, ...] | list[Problem], path: str) -> list[Problem]:
    if not path:
        return list(problems)
    return [Problem(f"{path}.{p.path}" if p.path else path, p.value, p.reason) for p in problems]


def _partial_problems(data: object, path: str) -> list[Problem]:
    from reqfulfill.serialization import structure_config

    raw = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(raw, list):
        return []
    good: list[tuple[int, Rule]] = []
    for index, entry in enumerate(raw):
        try:
            good.append((index, structure_config(entry, Rule)))
        except ValidationError:
            continue
    return _prefixed(_ruleset_problems(good, "first", []), path)


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

    rules: tuple[Rule, ...] = attrs.field(default=(), converter=tuple)
    hit_policy: HitPolicy = "first"
    _nodes: tuple[AllOf, ...] = attrs.field(init=False, eq=False, repr=False)
    _matcher: Matcher = attrs.field(init=False, eq=False, repr=False)
    _by_name: dict[str, int] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        nodes: list[AllOf] = []
        problems = _ruleset_problems(list(enumerate(self.rules)), self.hit_policy, nodes)
        if problems:
            raise ValidationError(problems)
        object.__setattr__(self, "_nodes", tuple(nodes))
        object.__setattr__(self, "_matcher", Matcher(nodes))
        object.__setattr__(self, "_by_name", {r.name: i for i, r in enumerate(self.rules)})

    def rule(self, name: str) -> Rule:
        """The rule with this name; ``KeyError`` if there is none."""
        return self.rules[self._by_name[name]]

    def describe(self, name: str) -> str:
        """The condition of the named rule in words (``always`` for a catch-all)."""
        return self._nodes[self._by_name[name]].describe()

    @property
    def conditions(self) -> tuple[AllOf, ...]:
        """The compiled condition of each rule, in order."""
        return self._nodes

    def decide(self, facts: Facts) -> Decision:
        """The decision for ``facts`` under the hit policy; ``Decision.undecided`` if none."""
        if self.hit_policy == "first":
            index = self._matcher.first(facts)
            if index < 0:
                return Decision.undecided
            rule = self.rules[index]
            return Decision(rule.then, rule.name, (rule.name,))
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
        """Build a rule set from its data form; ``ValidationError`` lists every problem."""
        from reqfulfill.serialization import structure_config

        try:
            form = structure_config(data, _RuleSetForm, source=source, path=path)
        except ValidationError as exc:
            # Report the problems of the rules that did structure too: all at once.
            problems = list(exc.problems) + _partial_problems(data, path)
            raise ValidationError(problems, source=source) from None
        try:
            return cls(form.rules, form.hit_policy)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ValidationError(_prefixed(exc.problems, path), source=source) from None

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> RuleSet:
        """Load a rule set from a TOML (or ``.json``) file: ``hit_policy``, ``[[rules]]``."""
        from reqfulfill.serialization import load_data_file

        return cls.from_dict(load_data_file(path), source=str(path))
