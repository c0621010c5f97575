"""Static analysis of rule sets: ``lint(ruleset, catalog=None) -> list[Finding]``.

Findings (``code``):

* ``never-true`` -- a condition no facts can satisfy (``gt 5`` and ``lt 3`` on
  one path, ``in []``, ``{"any": []}``, a number test and a string test on
  one path, ``exists: false`` with another test);
* ``duplicate`` -- a rule with the same condition as an earlier one;
* ``shadowed`` -- (hit policy ``first``) every request an earlier rule
  matches covers this rule's, so it never decides;
* ``unknown-path`` / ``unknown-value`` -- a fact path that does not exist
  (``item.colour``, ``requester.dept``), a channel/impact/urgency value that
  does not exist;
* ``unknown-group`` / ``unknown-item`` / ``unknown-category`` -- with a
  catalog, references to ids it does not have.

The analysis is sound but not complete: a reported rule really is shadowed
or never true; some shadowed rules (covered only by several earlier rules
together) are not reported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

import attrs

from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import Channel, Impact, Urgency
from reqfulfill.model.errors import ValidationError
from reqfulfill.rules._conditions import AllOf, AnyOf, Node, NotOf, Test, _BoolKey
from reqfulfill.rules._facts import ITEM_FIELDS, REQUESTER_FIELDS
from reqfulfill.rules._matrix import PriorityMatrix
from reqfulfill.rules._routing import PARTS, Rules
from reqfulfill.rules._ruleset import HIT_POLICIES, Rule, RuleSet

__all__ = ["CODES", "Finding", "lint", "lint_rules", "loadable_rules"]

CODES: Final = (
    "never-true",
    "duplicate",
    "shadowed",
    "unknown-path",
    "unknown-value",
    "unknown-group",
    "unknown-item",
    "unknown-category",
)
"""Every finding code, in the order findings of one rule are reported."""


@attrs.frozen
class Finding:
    """One thing a rule author should look at.

    ``rule`` is the rule's name (None for the rule set as a whole),
    ``severity`` is ``"error"`` (the rule does not do what it says) or
    ``"warning"`` (worth a look), ``ruleset`` names the part of
    :class:`~reqfulfill.rules.Rules` it was found in, if any.
    """

    code: str
    rule: str | None
    message: str
    severity: str = "error"
    ruleset: str | None = None

    def __str__(self) -> str:
        where = f"{self.ruleset}: " if self.ruleset else ""
        name = f"rule {self.rule!r}: " if self.rule is not None else ""
        return f"{self.severity} [{self.code}] {where}{name}{self.message}"


def _raw(value: object) -> object:
    return value.value if isinstance(value, _BoolKey) else value


# -- per-path summaries of a conjunction ---------------------------------------------


def _tests_by_path(node: AllOf) -> dict[str, list[Test]]:
    by_path: dict[str, list[Test]] = {}
    for child in node.children:
        if isinstance(child, Test):
            by_path.setdefault(child.path, []).append(child)
    return by_path


def _finite(tests: Sequence[Test]) -> list[object] | None:
    """The raw values the path may take under these tests, when eq/in make it finite."""
    allowed: frozenset[object] | None = None
    for test in tests:
        if test.op in ("eq", "in"):
            allowed = test.values if allowed is None else allowed & test.values
    if allowed is None:
        return None
    raw = [_raw(v) for v in allowed]
    return [v for v in raw if all(t.check(v) for t in tests)]


_NUMBER_OPS: Final = ("gt", "ge", "lt", "le")


def _kind(test: Test) -> str | None:
    """What type a fact must have for the test to hold (None: any or several)."""
    if test.op in ("prefix", "regex"):
        return "str"
    if test.op in _NUMBER_OPS:
        return "str" if isinstance(test.operand, str) else "number"
    return None


def _interval_empty(tests: Sequence[Test]) -> bool:
    for kind in ("number", "str"):
        lows = [
            (t.operand, t.op == "gt") for t in tests if t.op in ("gt", "ge") and _kind(t) == kind
        ]
        highs = [
            (t.operand, t.op == "lt") for t in tests if t.op in ("lt", "le") and _kind(t) == kind
        ]
        for low, low_strict in lows:
            for high, high_strict in highs:
                if low > high or (low == high and (low_strict or high_strict)):  # type: ignore[operator]
                    return True
    return False


def _path_never(tests: Sequence[Test]) -> str | None:
    finite = _finite(tests)
    if finite is not None and not finite:
        return "no value satisfies " + " and ".join(t.describe() for t in tests)
    if any(t.op == "exists" and t.operand is False for t in tests) and len(tests) > 1:
        return "a missing fact satisfies no other test: " + " and ".join(
            t.describe() for t in tests
        )
    kinds = {_kind(t) for t in tests} - {None}
    if len(kinds) > 1:
        return "a fact cannot be both a number and a string: " + " and ".join(
            t.describe() for t in tests
        )
    if _interval_empty(tests):
        return "the range is empty: " + " and ".join(t.describe() for t in tests)
    return None


def never_true(node: Node) -> str | None:
    """Why ``node`` can never hold, or None when it might."""
    if isinstance(node, Test):
        return _path_never([node])
    if isinstance(node, AnyOf):
        if not node.children:
            return "an empty 'any' never holds"
        reasons = [never_true(c) for c in node.children]
        if all(reasons):
            return "no alternative of 'any' can hold: " + "; ".join(r for r in reasons if r)
        return None
    if isinstance(node, NotOf):
        if isinstance(node.child, AllOf) and not node.child.children:
            return "'not' of an empty condition never holds"
        return None
    for tests in _tests_by_path(node).values():
        reason = _path_never(tests)
        if reason:
            return reason
    for child in node.children:
        if not isinstance(child, Test):
            reason = never_true(child)
            if reason:
                return reason
    return None


# -- implication: does every fact set matching B also match A? --------------------------


def _implies(b_tests: Sequence[Test], a_test: Test) -> bool:
    """True when facts satisfying all of ``b_tests`` (one path) satisfy ``a_test``."""
    if not b_tests:
        return False
    finite = _finite(b_tests)
    if finite is not None:
        return all(a_test.check(v) for v in finite)
    op, x = a_test.op, a_test.operand
    for b in b_tests:
        if b.op == op and b.operand == x and type(b.operand) is type(x):
            return True
    if op == "exists":
        if x:
            return any(not (b.op == "exists" and b.operand is False) for b in b_tests)
        return any(b.op == "exists" and b.operand is False for b in b_tests)
    if op in _NUMBER_OPS:
        kind = _kind(a_test)
        for b in b_tests:
            if _kind(b) != kind or b.op not in _NUMBER_OPS:
                continue
            y: Any = b.operand
            tight = y == x and (op in ("ge", "le") or b.op in ("gt", "lt"))
            if op in ("gt", "ge") and b.op in ("gt", "ge") and (y > x or tight):
                return True
            if op in ("lt", "le") and b.op in ("lt", "le") and (y < x or tight):
                return True
        return False
    if op == "prefix":
        return any(
            b.op == "prefix" and isinstance(b.operand, str) and b.operand.startswith(str(x))
            for b in b_tests
        )
    if op in ("ne", "not_in"):
        excluded: set[object] = set()
        for b in b_tests:
            if b.op in ("ne", "not_in"):
                excluded |= b.values
        return a_test.values <= excluded
    return False


def _opaque(node: AllOf) -> set[str]:
    return {c.describe() for c in node.children if not isinstance(c, Test)}


def covers(a: AllOf, b: AllOf) -> bool:
    """True when every facts matching ``b`` also match ``a`` (a sound, partial test)."""
    b_paths = _tests_by_path(b)
    b_opaque = _opaque(b)
    for child in a.children:
        if isinstance(child, Test):
            if not _implies(b_paths.get(child.path, ()), child):
                return False
        elif child.describe() not in b_opaque:
            return False
    return True


def _canonical(node: AllOf) -> tuple[str, ...]:
    return tuple(sorted({c.describe() for c in node.children}))


# -- fact paths and catalog references ----------------------------------------------------


def _walk(node: Node) -> Iterator[Test]:
    if isinstance(node, Test):
        yield node
    elif isinstance(node, NotOf):
        yield from _walk(node.child)
    else:
        for child in node.children:
            yield from _walk(child)


_ENUM_PATHS: Final = {
    "channel": frozenset(c.value for c in Channel),
    "item.impact": frozenset(i.value for i in Impact),
    "item.urgency": frozenset(u.value for u in Urgency),
}


def _path_problem(test: Test, catalog: Catalog | None) -> tuple[str, str] | None:
    parts = test.parts
    root = parts[0]
    if root == "channel" and len(parts) > 1:
        return "error", f"{test.path}: channel is a plain value with no fields"
    if root in ("item", "requester"):
        if len(parts) == 1:
            if test.op == "exists":
                return None
            return "error", f"{test.path}: compare a field of {root}, e.g. {root}.id"
        fields = ITEM_FIELDS if root == "item" else REQUESTER_FIELDS
        if parts[1] not in fields:
            known = ", ".join(sorted(fields))
            return "error", f"{test.path}: {root} has no field {parts[1]!r} (fields: {known})"
        if len(parts) > 2 and not (root == "item" and parts[1] == "attributes"):
            return "error", f"{test.path}: {root}.{parts[1]} has no fields"
        attribute = root == "item" and parts[1] == "attributes" and len(parts) > 2
        if (
            attribute
            and catalog is not None
            and not any(parts[2] in item.attributes for item in catalog.items)
        ):
            return "warning", f"{test.path}: no catalog item has attribute {parts[2]!r}"
    return None


def _ids(test: Test) -> list[str]:
    if test.op in ("eq", "ne", "in", "not_in"):
        return sorted(str(_raw(v)) for v in test.values if isinstance(_raw(v), str))
    return []


def _reference_findings(
    name: str, node: AllOf, then: Mapping[str, Any], catalog: Catalog
) -> Iterator[Finding]:
    groups = {g.id for g in catalog.groups}
    items = {i.id for i in catalog.items}
    categories = catalog.categories
    known = {"item.id": ("unknown-item", items), "item.group": ("unknown-group", groups)}
    for test in _walk(node):
        if test.path in known:
            code, ids = known[test.path]
            for value in _ids(test):
                if value not in ids:
                    yield Finding(code, name, f"{test.describe()}: the catalog has no {value!r}")
        elif test.path == "item.category":
            for value in _ids(test):
                if value not in categories:
                    yield Finding(
                        "unknown-category",
                        name,
                        f"{test.describe()}: no catalog item has category {value!r}",
                        "warning",
                    )
    group = then.get("group")
    if isinstance(group, str) and group not in groups:
        yield Finding("unknown-group", name, f"then.group {group!r}: the catalog has no such group")
    category = then.get("category")
    if isinstance(category, str) and category not in categories:
        yield Finding(
            "unknown-category",
            name,
            f"then.category {category!r}: no catalog item has this category",
            "warning",
        )


# -- lint -----------------------------------------------------------------------------------


class _Coverers:
    """Earlier rules grouped by the paths they test, each indexed on its most selective path.

    An earlier rule A can only cover B when B tests every path A tests and,
    on A's indexed path, B's values are among A's: so B looks up only the
    groups whose paths it tests, and in those only the rules indexed under
    one of its own values.
    """

    def __init__(self, cardinality: Mapping[str, int]) -> None:
        self._cardinality = cardinality
        self._groups: dict[
            frozenset[str], tuple[dict[str, dict[object, list[int]]], list[int]]
        ] = {}

    @staticmethod
    def _signature(node: AllOf, tests: Mapping[str, Sequence[Test]]) -> frozenset[str]:
        return frozenset(tests) | frozenset(f"#{c}" for c in _opaque(node))

    def add(self, index: int, node: AllOf) -> None:
        tests = _tests_by_path(node)
        tables, rest = self._groups.setdefault(self._signature(node, tests), ({}, []))
        finite_paths = [p for p in tests if any(t.op in ("eq", "in") for t in tests[p])]
        if not finite_paths:
            rest.append(index)
            return
        path = max(finite_paths, key=lambda p: (self._cardinality.get(p, 0), p))
        table = tables.setdefault(path, {})
        for value in _finite(tests[path]) or ():
            table.setdefault(_key(value), []).append(index)

    def candidates(self, node: AllOf) -> list[int]:
        tests = _tests_by_path(node)
        have = self._signature(node, tests)
        found: set[int] = set()
        for signature, (tables, rest) in self._groups.items():
            if not signature <= have:
                continue
            found.update(rest)
            for path, table in tables.items():
                finite = _finite(tests[path])
                if finite:
                    found.update(table.get(_key(finite[0]), ()))
        return sorted(found)


def _key(value: object) -> object:
    # keep True apart from 1 in dict keys; unhashable values never come from conditions
    return (value,) if isinstance(value, bool) else value


def _cardinality(nodes: Sequence[AllOf]) -> dict[str, int]:
    distinct: dict[str, set[object]] = {}
    for node in nodes:
        for child in node.children:
            if isinstance(child, Test) and child.op in ("eq", "in"):
                distinct.setdefault(child.path, set()).update(child.values)
    return {path: len(values) for path, values in distinct.items()}


def _test_findings(rule: str, node: Node, catalog: Catalog | None) -> list[Finding]:
    """The fact paths and enum values of a rule's tests that name nothing."""
    found: list[Finding] = []
    for test in _walk(node):
        problem = _path_problem(test, catalog)
        if problem:
            found.append(Finding("unknown-path", rule, problem[1], problem[0]))
        allowed = _ENUM_PATHS.get(test.path)
        if allowed is not None:
            for value in _ids(test):
                if value not in allowed:
                    message = f"{test.describe()}: {value!r} is not a valid {test.path}"
                    found.append(Finding("unknown-value", rule, message))
    return found


def lint(
    ruleset: RuleSet, catalog: Catalog | None = None, *, name: str | None = None
) -> list[Finding]:
    """Every finding for ``ruleset``, rule by rule in order.

    >>> rs = RuleSet.from_dict({"rules": [
    ...     {"name": "all", "then": {"group": "desk"}},
    ...     {"name": "vip", "when": {"requester.vip": True}, "then": {"group": "vip"}},
    ...     {"name": "odd", "when": {"answers.n": {"gt": 5, "lt": 3}}, "then": {"group": "x"}},
    ... ]})
    >>> [(f.code, f.rule) for f in lint(rs)]
    [('shadowed', 'vip'), ('never-true', 'odd')]
    """
    findings: list[Finding] = []
    nodes = ruleset.conditions
    seen: dict[tuple[str, ...], int] = {}
    coverers = _Coverers(_cardinality(nodes))
    for index, (rule, node) in enumerate(zip(ruleset.rules, nodes, strict=True)):
        here: list[Finding] = []
        never = never_true(node)
        if never:
            here.append(Finding("never-true", rule.name, never))
        canonical = _canonical(node)
        first = seen.get(canonical)
        if never is None and first is not None:
            earlier = ruleset.rules[first]
            if ruleset.hit_policy == "first" or earlier.then == rule.then:
                same = (
                    "and the same decision" if earlier.then == rule.then else "so it never decides"
                )
                here.append(
                    Finding(
                        "duplicate",
                        rule.name,
                        f"same condition as rule {earlier.name!r} (rules[{first}]) {same}",
                    )
                )
        elif never is None and ruleset.hit_policy == "first":
            for other in coverers.candidates(node):
                if covers(nodes[other], node):
                    earlier = ruleset.rules[other]
                    here.append(
                        Finding(
                            "shadowed",
                            rule.name,
                            f"every request it matches is decided first by rule {earlier.name!r} "
                            f"(rules[{other}]: {nodes[other].describe()})",
                        )
                    )
                    break
        seen.setdefault(canonical, index)
        if never is None:
            coverers.add(index, node)
        here.extend(_test_findings(rule.name, node, catalog))
        if catalog is not None:
            here.extend(_reference_findings(rule.name, node, rule.then, catalog))
        findings.extend(attrs.evolve(f, ruleset=name) for f in here)
    return findings


def lint_rules(rules: Rules, catalog: Catalog | None = None) -> list[Finding]:
    """Lint every rule set of a :class:`Rules` bundle; findings name their part."""
    findings: list[Finding] = []
    for part in PARTS:
        findings.extend(lint(getattr(rules, part), catalog, name=part))
    return findings


def loadable_rules(data: object) -> Rules:
    """The rules of a rules file's data that load, each rule on its own: what
    ``reqfulfill check`` lints when the file has errors, so one run reports both.

    A rule that does not load (a bad condition or ``then``, a reserved name, a name
    already taken by an earlier rule) is left out; so are a bad ``hit_policy`` (the
    default, ``first``, stands in) and a bad priority matrix (the ITIL one). The
    errors themselves are :meth:`Rules.from_dict`'s to report.

    >>> rules = loadable_rules({"assignment": {"rules": [
    ...     {"name": "a", "then": {"group": "desk"}},
    ...     {"name": "a", "then": {"group": "other"}},
    ...     {"name": "b", "when": {"nope": 1}, "then": {"group": "x"}}]}})
    >>> [rule.name for rule in rules.assignment.rules]
    ['a']
    """
    if not isinstance(data, Mapping):
        return Rules()
    parts: dict[str, Any] = {}
    for part in PARTS:
        raw = data.get(part)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("rules"), list):
            continue
        policy = raw.get("hit_policy", "first")
        kept: list[Rule] = []
        for entry in raw["rules"]:
            try:
                one = RuleSet.from_dict({"rules": [entry]})
                Rules(**{part: one})  # type: ignore[arg-type]  # checks the ``then``
            except ValidationError:
                continue
            if all(rule.name != one.rules[0].name for rule in kept):
                kept.append(one.rules[0])
        parts[part] = RuleSet(kept, policy if policy in HIT_POLICIES else "first")
    with contextlib.suppress(ValidationError):
        parts["matrix"] = PriorityMatrix.from_dict(data.get("priority_matrix", {}))
    return Rules(**parts)
