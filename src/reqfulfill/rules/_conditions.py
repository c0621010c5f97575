"""Conditions as data: validation, compilation to predicates, failure traces.

A condition is a mapping of fact path to expected value, MongoDB-style:

* ``{"item.id": "iphone-15"}`` -- equality;
* ``{"channel": ["portal", "chat"]}`` -- membership (a list value);
* ``{"answers.cost": {"gt": 500, "le": 2000}}`` -- operators ``eq ne in not_in
  gt ge lt le prefix regex exists``, several in one table are ANDed;
* several keys are ANDed; ``{"any": [c1, c2]}`` is an OR; ``{"not": c}``
  negates ``c`` as a whole.

A condition on a missing fact is false whatever the operator (``ne`` and
``not_in`` included) -- only ``exists`` tests presence. A type mismatch is
false, never an error; booleans never equal numbers. Nothing is evaluated as
code: a ``regex`` runs on RE2 (:mod:`reqfulfill.rules._regex`), in time linear
in the fact, which it matches whole.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final, TypeAlias, final

import attrs

from reqfulfill.model.errors import Problem, ValidationError
from reqfulfill.rules._facts import FACT_ROOTS, MISSING, resolve
from reqfulfill.rules._regex import Regex, compile_regex

__all__ = [
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "Condition",
    "Failure",
    "NotOf",
    "Test",
    "condition_problems",
    "matches",
    "shape",
]

OPERATORS: Final = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "prefix", "regex", "exists")
"""The operators of the condition language, in documentation order."""

Facts: TypeAlias = Mapping[str, Any]
Check: TypeAlias = Callable[[Any], bool]
Predicate: TypeAlias = Callable[[Facts], bool]


@final
class _BoolKey:
    """Stands for True/False in value sets so that ``True`` never equals ``1``."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


_TRUE: Final = _BoolKey(True)
_FALSE: Final = _BoolKey(False)


def norm(value: Any) -> Any:
    """The key of a scalar in value sets and indexes: booleans are kept apart from numbers."""
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value


_NUMBER: Final = (int, float)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SYMBOLS: Final = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


# -- the compiled tree ---------------------------------------------------------------


@attrs.frozen
class Test:
    """One test of one fact: ``answers.cost gt 500``.

    ``where`` is its location inside the condition (``any[1].answers.cost.gt``).
    ``values`` holds the normalized value set for ``eq``/``in``/``ne``/``not_in``.
    """

    path: str
    op: str
    operand: object
    where: str
    parts: tuple[str, ...] = attrs.field(eq=False, repr=False)
    check: Check = attrs.field(eq=False, repr=False)
    values: frozenset[object] = attrs.field(eq=False, repr=False, default=frozenset())

    def describe(self) -> str:
        """The test in words: ``answers.cost > 500``."""
        op, x = self.op, self.operand
        if op in _SYMBOLS:
            return f"{self.path} {_SYMBOLS[op]} {x!r}"
        if op == "in":
            return f"{self.path} in {list(x)!r}"  # type: ignore[call-overload]
        if op == "not_in":
            return f"{self.path} not in {list(x)!r}"  # type: ignore[call-overload]
        if op == "prefix":
            return f"{self.path} starts with {x!r}"
        if op == "regex":
            return f"{self.path} matches /{x}/"
        return f"{self.path} exists" if x else f"{self.path} is missing"


@attrs.frozen
class AllOf:
    """Every child must hold (several keys, several operators)."""

    children: tuple[Node, ...]
    where: str

    def describe(self) -> str:
        """The conjunction in words; ``always`` when there is nothing to test."""
        if not self.children:
            return "always"
        return " and ".join(_paren(c) for c in self.children)


@attrs.frozen
class AnyOf:
    """At least one child must hold (``{"any": [...]}``)."""

    children: tuple[Node, ...]
    where: str

    def describe(self) -> str:
        """The disjunction in words; ``never`` for an empty ``any``."""
        if not self.children:
            return "never"
        return " or ".join(_paren(c) for c in self.children)


@attrs.frozen
class NotOf:
    """The child must not hold (``{"not": {...}}``), as a whole."""

    child: Node
    where: str

    def describe(self) -> str:
        """The negation in words."""
        return f"not ({self.child.describe()})"


Node: TypeAlias = Test | AllOf | AnyOf | NotOf


def _paren(node: Node) -> str:
    text = node.describe()
    if isinstance(node, AnyOf | AllOf) and len(node.children) > 1:
        return f"({text})"
    return text


@attrs.frozen
class Failure:
    """Why a condition did not hold: the first failed test and the fact's actual value.

    ``actual`` is :data:`~reqfulfill.rules.MISSING` when the fact is absent;
    ``path`` is None for ``any``/``not``, whose ``causes`` say more.
    """

    condition: str
    where: str
    path: str | None = None
    actual: object = None
    causes: tuple[Failure, ...] = ()

    @property
    def missing(self) -> bool:
        """True when the failed test's fact is absent."""
        return self.path is not None and self.actual is MISSING

    def __str__(self) -> str:
        if self.path is None:
            reason = f"{self.condition} is false"
            if self.causes:
                reason += " (" + "; ".join(str(c) for c in self.causes) + ")"
            return reason
        if self.actual is MISSING:
            return f"{self.condition} is false: {self.path} is missing"
        return f"{self.condition} is false: {self.path} is {self.actual!r}"


# -- evaluation ------------------------------------------------------------------------


def evaluate(node: Node, facts: Facts) -> bool:
    """Decide ``node`` against ``facts`` by walking the tree (the reference semantics)."""
    if isinstance(node, Test):
        return node.check(resolve(facts, node.parts))
    if isinstance(node, AllOf):
        return all(evaluate(c, facts) for c in node.children)
    if isinstance(node, AnyOf):
        return any(evaluate(c, facts) for c in node.children)
    return not evaluate(node.child, facts)


def first_failure(node: Node, facts: Facts) -> Failure | None:
    """The first failed test of ``node`` against ``facts``, or None when it holds."""
    if isinstance(node, Test):
        actual = resolve(facts, node.parts)
        if node.check(actual):
            return None
        return Failure(node.describe(), node.where, node.path, actual)
    if isinstance(node, AllOf):
        for child in node.children:
            failed = first_failure(child, facts)
            if failed is not None:
                return failed
        return None
    if isinstance(node, AnyOf):
        causes = []
        for child in node.children:
            failed = first_failure(child, facts)
            if failed is None:
                return None
            causes.append(failed)
        return Failure(node.describe(), node.where, causes=tuple(causes))
    if evaluate(node.child, facts):
        return Failure(node.describe(), node.where)
    return None


def predicate(node: Node) -> Predicate:
    """A fast closure deciding ``node``; same answers as :func:`evaluate`."""
    if isinstance(node, Test):
        return _path_predicate(node.parts, (node.check,))
    if isinstance(node, AllOf):
        # Tests on one path share a single walk of the facts (e.g. a ge/lt range).
        by_path: dict[tuple[str, ...], list[Test]] = {}
        others: list[Predicate] = []
        for child in node.children:
            if isinstance(child, Test):
                by_path.setdefault(child.parts, []).append(child)
            else:
                others.append(predicate(child))
        preds = (*(_path_predicate(p, _checks(t)) for p, t in by_path.items()), *others)
        if not preds:
            return _always
        if len(preds) == 1:
            return preds[0]
        if len(preds) == 2:
            p0, p1 = preds
            return lambda facts: p0(facts) and p1(facts)

        def all_of(facts: Facts) -> bool:
            for p in preds:  # noqa: SIM110 - a plain loop is faster than all(generator)
                if not p(facts):
                    return False
            return True

        return all_of
    if isinstance(node, AnyOf):
        alts = tuple(predicate(c) for c in node.children)

        def any_of(facts: Facts) -> bool:
            for p in alts:  # noqa: SIM110 - a plain loop is faster than any(generator)
                if p(facts):
                    return True
            return False

        return any_of
    inner = predicate(node.child)
    return lambda facts: not inner(facts)


def _always(facts: Facts) -> bool:
    return True


_ORDERS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _checks(tests: list[Test]) -> tuple[Check, ...]:
    """The checks of the tests of one path; a numeric range (``ge`` and ``lt``) as one."""
    if len(tests) == 2 and all(t.op in _ORDERS and _is_number(t.operand) for t in tests):
        (f0, x0), (f1, x1) = ((_ORDERS[t.op], t.operand) for t in tests)
        return (
            lambda v: (
                isinstance(v, _NUMBER) and v.__class__ is not bool and f0(v, x0) and f1(v, x1)
            ),
        )
    return tuple(t.check for t in tests)


def shape(node: Node) -> Hashable:
    """What decides ``node``'s answers, leaving out where it sits in its rule.

    Nodes of equal shape have equal predicates: a rule set compiles each
    shape once, and rules testing the same thing share one check.
    """
    if isinstance(node, Test):
        return (node.path, node.op, _typed(node.operand))
    if isinstance(node, AllOf | AnyOf):
        return (node.__class__.__name__, tuple(shape(c) for c in node.children))
    return ("not", shape(node.child))


def _typed(value: object) -> Hashable:
    """A key telling ``1``, ``1.0`` and ``True`` apart."""
    if isinstance(value, tuple):
        return tuple(_typed(v) for v in value)
    return (value.__class__, value)


def _combined(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        c0, c1 = checks
        return lambda v: c0(v) and c1(v)

    def every(v: Any) -> bool:
        for c in checks:  # noqa: SIM110 - a plain loop is faster than all(generator)
            if not c(v):
                return False
        return True

    return every


def _path_predicate(parts: tuple[str, ...], checks: tuple[Check, ...]) -> Predicate:
    check = _combined(checks)
    if len(parts) == 1:
        key = parts[0]
        return lambda facts: check(facts.get(key, MISSING))
    if len(parts) == 2:
        first, second = parts

        def two(facts: Facts) -> bool:
            inner = facts.get(first, MISSING)
            if type(inner) is dict or isinstance(inner, Mapping):
                return check(inner.get(second, MISSING))
            return check(MISSING)

        return two
    return lambda facts: check(resolve(facts, parts))


# -- checks: one closure per operator, specialised on the operand's type ----------------


def _eq_check(x: Any) -> Check:
    if isinstance(x, bool):
        return (lambda v: v is True) if x else (lambda v: v is False)
    if isinstance(x, str):
        return lambda v: isinstance(v, str) and v == x
    return lambda v: v.__class__ is not bool and _is_number(v) and v == x


def _in_check(values: frozenset[object]) -> Check:
    if all(isinstance(v, str) for v in values):
        return lambda v: isinstance(v, str) and v in values

    def contains(v: Any) -> bool:
        try:
            return norm(v) in values
        except TypeError:  # an unhashable fact (a list, a table) is in no value set
            return False

    return contains


def _order_check(op: str, x: Any) -> Check:
    if isinstance(x, str):
        if op == "gt":
            return lambda v: isinstance(v, str) and v > x
        if op == "ge":
            return lambda v: isinstance(v, str) and v >= x
        if op == "lt":
            return lambda v: isinstance(v, str) and v < x
        return lambda v: isinstance(v, str) and v <= x
    # _is_number inlined: these run in the hot path of range rules
    if op == "gt":
        return lambda v: isinstance(v, _NUMBER) and v.__class__ is not bool and v > x
    if op == "ge":
        return lambda v: isinstance(v, _NUMBER) and v.__class__ is not bool and v >= x
    if op == "lt":
        return lambda v: isinstance(v, _NUMBER) and v.__class__ is not bool and v < x
    return lambda v: isinstance(v, _NUMBER) and v.__class__ is not bool and v <= x


def _make_check(op: str, operand: Any, values: frozenset[object], pattern: Regex | None) -> Check:
    if op == "eq":
        return _eq_check(operand)
    if op == "ne":
        eq = _eq_check(operand)
        return lambda v: v is not MISSING and not eq(v)
    if op == "in":
        return _in_check(values)
    if op == "not_in":
        contained = _in_check(values)
        return lambda v: v is not MISSING and not contained(v)
    if op in ("gt", "ge", "lt", "le"):
        return _order_check(op, operand)
    if op == "prefix":
        return lambda v: isinstance(v, str) and v.startswith(operand)
    if op == "regex":
        assert pattern is not None
        search = pattern.search  # RE2: linear in the fact, which it sees whole
        return lambda v: isinstance(v, str) and search(v)
    if operand:
        return lambda v: v is not MISSING
    return lambda v: v is MISSING


# -- validation and compilation ----------------------------------------------------------


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, bool | str):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "a number must be finite"
        return None
    return f"expected a string, number or boolean, got {type(value).__name__}"


def _compile_test(
    path: str, op: str, operand: Any, where: str, problems: list[Problem]
) -> Test | None:
    before = len(problems)
    values: frozenset[object] = frozenset()
    pattern: Regex | None = None
    shown: object = operand
    if op in ("eq", "ne"):
        reason = _scalar_problem(operand)
        if reason:
            problems.append(Problem(where, operand, f"{op}: {reason}"))
        else:
            values = frozenset({norm(operand)})
    elif op in ("in", "not_in"):
        if isinstance(operand, str | bytes | Mapping) or not isinstance(operand, Sequence):
            problems.append(Problem(where, operand, f"{op} needs a list of values"))
        else:
            for index, element in enumerate(operand):
                reason = _scalar_problem(element)
                if reason:
                    problems.append(Problem(f"{where}[{index}]", element, reason))
            if len(problems) == before:
                values = frozenset(norm(v) for v in operand)
                shown = tuple(operand)
    elif op in ("gt", "ge", "lt", "le"):
        if not (isinstance(operand, str) or _is_number(operand)):
            problems.append(
                Problem(
                    where, operand, f"{op} needs a number or a string, got {type(operand).__name__}"
                )
            )
        elif isinstance(operand, float) and not math.isfinite(operand):
            problems.append(Problem(where, operand, "a number must be finite"))
    elif op == "prefix":
        if not isinstance(operand, str):
            problems.append(
                Problem(where, operand, f"prefix needs a string, got {type(operand).__name__}")
            )
    elif op == "regex":
        if not isinstance(operand, str):
            problems.append(
                Problem(where, operand, f"regex needs a string, got {type(operand).__name__}")
            )
        else:
            found = compile_regex(operand)
            if isinstance(found, str):
                problems.append(Problem(where, operand, f"RE2 refuses this regex: {found}"))
            else:
                pattern = found
    elif op == "exists" and not isinstance(operand, bool):
        problems.append(
            Problem(where, operand, f"exists needs true or false, got {type(operand).__name__}")
        )
    if len(problems) != before:
        return None
    check = _make_check(op, operand, values, pattern)
    parts = tuple(path.split("."))
    return Test(path, op, shown, where, parts, check, values)


def _path_problem(path: object) -> str | None:
    if not isinstance(path, str):
        return f"a fact path is a string, got {type(path).__name__}"
    parts = path.split(".")
    if not all(parts):
        return f"malformed fact path {path!r}"
    if parts[0] not in FACT_ROOTS:
        roots = ", ".join(sorted(FACT_ROOTS))
        return f"unknown fact {parts[0]!r}; a fact path starts with one of {roots}, any, not"
    return None


def _compile(condition: object, where: str, problems: list[Problem]) -> Node | None:
    if not isinstance(condition, Mapping):
        problems.append(
            Problem(where, condition, f"a condition is a table, got {type(condition).__name__}")
        )
        return None
    before = len(problems)
    children: list[Node] = []
    for key, expected in condition.items():
        here = f"{where}.{key}" if where else str(key)
        if key == "any":
            if isinstance(expected, str | bytes | Mapping) or not isinstance(expected, Sequence):
                problems.append(Problem(here, expected, "any needs a list of conditions"))
                continue
            alts = [_compile(alt, f"{here}[{i}]", problems) for i, alt in enumerate(expected)]
            children.append(AnyOf(tuple(a for a in alts if a is not None), here))
            continue
        if key == "not":
            inner = _compile(expected, here, problems)
            if inner is not None:
                children.append(NotOf(inner, here))
            continue
        reason = _path_problem(key)
        if reason:
            problems.append(Problem(here, key, reason))
            continue
        if isinstance(expected, Mapping):
            if not expected:
                problems.append(
                    Problem(here, expected, "an operator table needs at least one operator")
                )
            for op, operand in expected.items():
                if op not in OPERATORS:
                    problems.append(
                        Problem(
                            here,
                            op,
                            f"unknown operator {op!r}; expected one of {', '.join(OPERATORS)}",
                        )
                    )
                    continue
                test = _compile_test(key, op, operand, f"{here}.{op}", problems)
                if test is not None:
                    children.append(test)
        elif isinstance(expected, list | tuple):
            test = _compile_test(key, "in", expected, here, problems)
            if test is not None:
                children.append(test)
        else:
            test = _compile_test(key, "eq", expected, here, problems)
            if test is not None:
                children.append(test)
    if len(problems) != before:
        return None
    return AllOf(tuple(children), where)


def condition_problems(condition: object, path: str) -> list[Problem]:
    """Every problem with a condition, each naming its location under ``path``.

    >>> found = condition_problems({"answers.cost": {"gte": 5}}, "rules[3].when")
    >>> [(p.path, p.value) for p in found]
    [('rules[3].when.answers.cost', 'gte')]
    """
    problems: list[Problem] = []
    _compile(condition, path, problems)
    return problems


@final
class Condition:
    """A compiled condition: validated once, then decided many times.

    >>> cond = Condition({"answers.cost": {"gt": 500}, "channel": ["portal", "chat"]})
    >>> cond.matches({"channel": "portal", "answers": {"cost": 900}})
    True
    >>> print(cond.explain({"channel": "portal", "answers": {"cost": 120}}))
    answers.cost > 500 is false: answers.cost is 120
    >>> cond.describe()
    "answers.cost > 500 and channel in ['portal', 'chat']"
    """

    __slots__ = ("_match", "data", "node")

    data: Mapping[str, Any]
    node: AllOf

    def __init__(self, data: Mapping[str, Any], *, path: str = "") -> None:
        problems: list[Problem] = []
        node = _compile(data, path, problems)
        if problems or node is None:
            raise ValidationError(problems)
        assert isinstance(node, AllOf)
        self.data = data
        self.node = node
        self._match = predicate(node)

    def matches(self, facts: Facts) -> bool:
        """True when the condition holds for ``facts``."""
        return self._match(facts)

    def explain(self, facts: Facts) -> Failure | None:
        """The first failed test, or None when the condition holds."""
        return first_failure(self.node, facts)

    def describe(self) -> str:
        """The condition in words, e.g. ``item.id == 'iphone-15' and requester.vip == True``."""
        return self.node.describe()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Condition) and self.data == other.data

    def __hash__(self) -> int:
        return hash(repr(self.node))

    def __repr__(self) -> str:
        return f"Condition({dict(self.data)!r})"


def matches(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """True when ``condition`` holds for ``facts``; ``ValidationError`` if it is invalid.

    >>> matches({"answers.from_stock": {"ne": True}}, {"answers": {}})
    False
    >>> matches({"not": {"answers.from_stock": True}}, {"answers": {}})
    True
    """
    return Condition(condition).matches(facts)
