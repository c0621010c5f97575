"""Properties of the rule engine: the index agrees with a plain scan, data forms round-trip."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reqfulfill.model.enums import Impact, Priority, Urgency
from reqfulfill.rules import (
    OPERATORS,
    PriorityMatrix,
    Rule,
    Rules,
    RuleSet,
    matches,
)
from reqfulfill.rules._conditions import evaluate
from reqfulfill.rules.analysis import lint

PATHS = [
    "item.id",
    "item.group",
    "item.attributes.size",
    "requester.vip",
    "requester.department",
    "channel",
    "answers.cost",
    "answers.tag",
]
# A small universe so that rules and facts collide often; 1, 1.0 and True side by side.
SCALARS = st.sampled_from(["a", "b", "ab", "", 0, 1, 1.0, 2.5, True, False])
PATTERNS = st.sampled_from(["^a", "b$", "a|c", "[ab]+", "x*"])


def operand(op: str) -> st.SearchStrategy[Any]:
    if op in ("in", "not_in"):
        return st.lists(SCALARS, max_size=3)
    if op in ("gt", "ge", "lt", "le"):
        return st.sampled_from(["a", "b", 0, 1, 2, 1.5])
    if op == "prefix":
        return st.sampled_from(["", "a", "ab"])
    if op == "regex":
        return PATTERNS
    if op == "exists":
        return st.booleans()
    return SCALARS


@st.composite
def operator_tables(draw: st.DrawFn) -> dict[str, Any]:
    ops = draw(st.lists(st.sampled_from(OPERATORS), min_size=1, max_size=2, unique=True))
    return {op: draw(operand(op)) for op in ops}


def conditions(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    expected = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), operator_tables())
    flat = st.dictionaries(st.sampled_from(PATHS), expected, max_size=3)
    if depth == 0:
        return flat
    inner = conditions(depth - 1)
    extra = st.fixed_dictionaries({}, optional={"any": st.lists(inner, max_size=3), "not": inner})
    return st.builds(lambda a, b: {**a, **b}, flat, extra)


@st.composite
def facts(draw: st.DrawFn) -> dict[str, Any]:
    value = st.one_of(SCALARS, st.just([1]), st.just({"a": 1}))
    present = st.integers(0, 3).map(bool)  # mostly present: misses are tested too, hits matter
    out: dict[str, Any] = {}
    for root, fields in (
        ("item", ["id", "group", "attributes"]),
        ("requester", ["vip", "department"]),
        ("answers", ["cost", "tag"]),
    ):
        if draw(present):
            table: dict[str, Any] = {}
            for field in fields:
                if draw(present):
                    if field == "attributes":
                        table[field] = draw(
                            st.one_of(st.just({}), st.builds(lambda v: {"size": v}, value))
                        )
                    else:
                        table[field] = draw(value)
            out[root] = table
    if draw(st.booleans()):
        out["channel"] = draw(st.sampled_from(["portal", "email", "a", 1, True]))
    return out


@st.composite
def rule_sets(draw: st.DrawFn, hit_policy: str | None = None) -> RuleSet:
    whens = draw(st.lists(conditions(), max_size=12))
    policy = hit_policy or draw(st.sampled_from(["first", "collect"]))
    rules = [Rule(f"r{i}", when, {"value": i}) for i, when in enumerate(whens)]
    return RuleSet(rules, policy)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(rule_sets(), st.lists(facts(), min_size=1, max_size=8))
def test_indexed_decision_equals_in_order_scan(
    ruleset: RuleSet, many: list[dict[str, Any]]
) -> None:
    for fact in many:
        scanned = [
            rule.name
            for rule, node in zip(ruleset.rules, ruleset.conditions, strict=True)
            if evaluate(node, fact)
        ]
        decision = ruleset.decide(fact)
        if ruleset.hit_policy == "first":
            assert decision.rule == (scanned[0] if scanned else None)
        else:
            assert list(decision.rules) == scanned
        assert [r.name for r in ruleset.matching(fact)] == scanned


@given(conditions(), facts())
def test_compiled_predicate_equals_tree_walk_and_explain(
    condition: dict[str, Any], fact: dict[str, Any]
) -> None:
    ruleset = RuleSet([Rule("only", condition)])
    node = ruleset.conditions[0]
    held = matches(condition, fact)
    assert held == evaluate(node, fact)
    failure = ruleset.explain(fact).trace[0].failure
    assert (failure is None) == held


@given(st.sampled_from([op for op in OPERATORS if op != "exists"]), st.data())
def test_a_missing_fact_fails_every_operator_but_exists(op: str, data: st.DataObject) -> None:
    condition = {"answers.cost": {op: data.draw(operand(op))}}
    assert not matches(condition, {"answers": {}})
    assert not matches(condition, {})
    assert matches({"not": condition}, {"answers": {}})


@given(rule_sets())
def test_rule_set_round_trip(ruleset: RuleSet) -> None:
    assert RuleSet.from_dict(ruleset.to_dict()) == ruleset


MATRICES = st.builds(
    PriorityMatrix,
    st.dictionaries(
        st.sampled_from(list(Impact)),
        st.dictionaries(st.sampled_from(list(Urgency)), st.sampled_from(list(Priority))),
    ),
)


@st.composite
def bundles(draw: st.DrawFn) -> Rules:
    def part(then: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[RuleSet]:
        return st.lists(st.tuples(conditions(1), then), max_size=4).map(
            lambda pairs: RuleSet([Rule(f"r{i}", w, t) for i, (w, t) in enumerate(pairs)])
        )

    levels = st.sampled_from(["high", "medium", "low"])
    assignment = st.fixed_dictionaries(
        {"group": st.sampled_from(["desk", "net"])},
        optional={"strategy": st.sampled_from(["queue", "round_robin", "least_loaded"])},
    )
    category = st.fixed_dictionaries({"category": st.sampled_from(["A", "A/B"])})
    priority = st.fixed_dictionaries({}, optional={"impact": levels, "urgency": levels}).filter(
        bool
    )
    return Rules(
        assignment=draw(part(assignment)),
        categorization=draw(part(category)),
        prioritization=draw(part(priority)),
        matrix=draw(MATRICES),
    )


@given(bundles())
def test_rules_round_trip(rules: Rules) -> None:
    assert Rules.from_dict(rules.to_dict()) == rules


@given(MATRICES)
def test_matrix_round_trip(matrix: PriorityMatrix) -> None:
    assert PriorityMatrix.from_dict(matrix.to_dict()) == matrix


@settings(max_examples=150)
@given(rule_sets(hit_policy="first"), st.lists(facts(), min_size=1, max_size=8))
def test_lint_is_sound(ruleset: RuleSet, many: list[dict[str, Any]]) -> None:
    never = {f.rule for f in lint(ruleset) if f.code == "never-true"}
    unreachable = never | {f.rule for f in lint(ruleset) if f.code in ("shadowed", "duplicate")}
    for fact in many:
        assert not never & {rule.name for rule in ruleset.matching(fact)}
        assert ruleset.decide(fact).rule not in unreachable
