"""Properties of the rule engine: the index and route agree with a plain scan, data round-trips."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reqfulfill.model.catalog import ServiceItem
from reqfulfill.model.enums import Impact, Priority, Urgency
from reqfulfill.rules import (
    ITEM_DEFAULT,
    OPERATORS,
    PriorityMatrix,
    Routing,
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


# -- Rules.route against an in-order scan ------------------------------------------------

# Equality tests on a few paths from a small universe: rules share head values often,
# so the index builds flat nodes and sub-indexes alike (more than four rules under one
# head value and one more path make a sub-index).
NARROW = st.sampled_from(["a", "b", 1, True])
NARROW_PATHS = ["item.id", "requester.department", "channel", "requester.vip"]


@st.composite
def indexed_conditions(draw: st.DrawFn) -> dict[str, Any]:
    paths = draw(st.lists(st.sampled_from(NARROW_PATHS), max_size=3, unique=True))
    condition: dict[str, Any] = {
        path: draw(st.one_of(NARROW, st.lists(NARROW, min_size=1, max_size=2))) for path in paths
    }
    if draw(st.integers(0, 3)) == 0:
        condition["answers.cost"] = draw(operator_tables())
    return condition


@st.composite
def paired_conditions(draw: st.DrawFn) -> dict[str, Any]:
    """Rules on the same two paths: many share a head value, so sub-indexes form."""
    condition = {
        "requester.department": draw(st.sampled_from(["a", "b"])),
        "channel": draw(st.one_of(NARROW, st.lists(NARROW, min_size=1, max_size=2))),
    }
    if draw(st.booleans()):
        condition["answers.cost"] = draw(operator_tables())
    return condition


def _table(draw: st.DrawFn, then: st.SearchStrategy[dict[str, Any]], policy: str) -> RuleSet:
    whens = draw(
        st.lists(st.one_of(indexed_conditions(), conditions(1)), max_size=30)
        | st.lists(st.one_of(indexed_conditions(), paired_conditions()), min_size=12, max_size=40)
    )
    rules = [Rule(f"r{i}", when, draw(then)) for i, when in enumerate(whens)]
    return RuleSet(rules, policy)  # type: ignore[arg-type]


@st.composite
def routed_rules(draw: st.DrawFn) -> Rules:
    levels = st.sampled_from(["high", "medium", "low"])
    assignment = st.fixed_dictionaries(
        {"group": st.sampled_from(["desk", "net"])},
        optional={"strategy": st.sampled_from(["queue", "round_robin", "least_loaded"])},
    )
    category = st.fixed_dictionaries({"category": st.sampled_from(["A", "A/B"])})
    priority = st.fixed_dictionaries({}, optional={"impact": levels, "urgency": levels}).filter(
        bool
    )
    policy = st.sampled_from(["first", "collect"])
    return Rules(
        assignment=_table(draw, assignment, draw(policy)),
        categorization=_table(draw, category, draw(policy)),
        prioritization=_table(draw, priority, draw(policy)),
        matrix=draw(MATRICES),
    )


ITEMS = st.none() | st.builds(
    ServiceItem,
    id=st.just("a"),
    name=st.just("A"),
    category=st.just("Item/Category"),
    group=st.just("item-desk"),
    impact=st.sampled_from(list(Impact)),
    urgency=st.sampled_from(list(Urgency)),
    plan=st.just("p"),
)


def _because(ruleset: RuleSet, name: str) -> str:
    text = ruleset.describe(name)
    return "always (catch-all rule)" if text == "always" else text


def scanned_route(rules: Rules, facts: dict[str, Any], item: ServiceItem | None) -> Routing:
    """What ``route`` answers, worked out by trying every rule in order."""

    def scan(ruleset: RuleSet) -> list[Rule]:
        pairs = zip(ruleset.rules, ruleset.conditions, strict=True)
        return [rule for rule, node in pairs if evaluate(node, facts)]

    none = "no rule matched; no item"
    fallback = "no rule matched; item default"
    assigned, categorized = scan(rules.assignment), scan(rules.categorization)
    if assigned:
        first = assigned[0]
        group, strategy = first.then["group"], first.then.get("strategy", "queue")
        a_rule, a_reason = first.name, _because(rules.assignment, first.name)
    elif item is not None:
        group, strategy, a_rule, a_reason = item.group, "queue", ITEM_DEFAULT, fallback
    else:
        group, strategy, a_rule, a_reason = None, "queue", None, none
    if categorized:
        first = categorized[0]
        category, c_rule = first.then["category"], first.name
        c_reason = _because(rules.categorization, first.name)
    elif item is not None:
        category, c_rule, c_reason = item.category, ITEM_DEFAULT, fallback
    else:
        category, c_rule, c_reason = None, None, none
    prioritized = scan(rules.prioritization)
    if rules.prioritization.hit_policy == "first":
        prioritized = prioritized[:1]
    impact: Impact | None = None
    urgency: Urgency | None = None
    p_rule: str | None = None
    reasons: list[str] = []
    for rule in prioritized:
        took = False
        if impact is None and "impact" in rule.then:
            impact, took = Impact(rule.then["impact"]), True
        if urgency is None and "urgency" in rule.then:
            urgency, took = Urgency(rule.then["urgency"]), True
        if took:
            p_rule = p_rule or rule.name
            reasons.append(_because(rules.prioritization, rule.name))
    if item is not None and (impact is None or urgency is None):
        missing = [k for k, v in (("impact", impact), ("urgency", urgency)) if v is None]
        impact, urgency = impact or item.impact, urgency or item.urgency
        if p_rule is None:
            p_rule = ITEM_DEFAULT
            reasons.append(fallback)
        else:
            reasons.append(f"{' and '.join(missing)} from item default")
    elif p_rule is None:
        reasons.append(none)
    priority = rules.matrix.priority(impact, urgency) if impact and urgency else None
    return Routing(
        group,
        strategy,
        category,
        impact,
        urgency,
        priority,
        a_rule,
        c_rule,
        p_rule,
        a_reason,
        c_reason,
        "; ".join(reasons),
    )


@settings(max_examples=200)
@given(routed_rules(), st.lists(facts(), min_size=1, max_size=6), ITEMS)
def test_route_equals_an_in_order_scan(
    rules: Rules, many: list[dict[str, Any]], item: ServiceItem | None
) -> None:
    for fact in many:
        routed = rules.route(fact, item=item)
        expected = scanned_route(rules, fact, item)
        assert routed == expected
        assert hash(routed) == hash(expected)
        assert repr(routed) == repr(expected)
        for name in Routing.__match_args__:
            assert getattr(routed, name) == getattr(expected, name)


@settings(max_examples=150)
@given(
    st.lists(paired_conditions(), min_size=5, max_size=60)
    | st.lists(st.one_of(indexed_conditions(), paired_conditions()), min_size=5, max_size=60),
    st.lists(facts(), max_size=8),
)
def test_many_rules_on_few_values_decide_as_a_scan(
    whens: list[dict[str, Any]], many: list[dict[str, Any]]
) -> None:
    # many rules under one head value: the index's sub-indexes decide, not only its nodes
    first = RuleSet([Rule(f"r{i}", when, {"value": i}) for i, when in enumerate(whens)])
    for fact in [*many, {}]:
        scanned = [
            rule.name
            for rule, node in zip(first.rules, first.conditions, strict=True)
            if evaluate(node, fact)
        ]
        assert first.decide(fact).rule == (scanned[0] if scanned else None)
        assert [rule.name for rule in first.matching(fact)] == scanned


# Many rules on two paths with few values each, as a large routing table's department and
# location rules are: every head value holds more than four rules on the same second path,
# so the whole head is laid out as nested sub-indexes (looked up without a node step).
DEPARTMENTS = ["d0", "d1", "d2"]
LOCATIONS = ["l0", "l1", "l2", "l3"]


@st.composite
def site_conditions(draw: st.DrawFn) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "requester.department": draw(st.sampled_from(DEPARTMENTS)),
        "requester.location": draw(
            st.sampled_from(LOCATIONS) | st.lists(st.sampled_from(LOCATIONS), min_size=1)
        ),
    }
    if draw(st.booleans()):
        low = draw(st.integers(0, 4))
        condition["answers.cost"] = {"ge": low, "lt": low + draw(st.integers(1, 3))}
    return condition


@st.composite
def site_facts(draw: st.DrawFn) -> dict[str, Any]:
    requester: dict[str, Any] = {}
    if draw(st.integers(0, 5)):
        requester["department"] = draw(st.sampled_from([*DEPARTMENTS, "other", 1]))
    if draw(st.integers(0, 5)):
        requester["location"] = draw(st.sampled_from([*LOCATIONS, "other"]))
    return {"requester": requester, "answers": {"cost": draw(st.integers(0, 6))}}


@settings(max_examples=150)
@given(
    st.lists(site_conditions(), min_size=20, max_size=60),
    st.booleans(),
    st.lists(site_facts(), min_size=1, max_size=8),
)
def test_nested_sub_indexes_route_as_a_scan(
    whens: list[dict[str, Any]], item_rules: bool, many: list[dict[str, Any]]
) -> None:
    rules_data = [Rule(f"r{i}", when, {"group": f"g{i}"}) for i, when in enumerate(whens)]
    if item_rules:  # another head before the nested one: both must compete on rule order
        rules_data[1::3] = [
            Rule(rule.name, {"item.id": "x"}, rule.then) for rule in rules_data[1::3]
        ]
    rules = Rules(assignment=RuleSet(rules_data))
    for fact in many:
        fact = {**fact, "item": {"id": "x"}} if item_rules and len(fact["requester"]) else fact
        scanned = [
            rule.name
            for rule, node in zip(rules.assignment.rules, rules.assignment.conditions, strict=True)
            if evaluate(node, fact)
        ]
        assert rules.assignment.decide(fact).rule == (scanned[0] if scanned else None)
        assert rules.route(fact, item=None) == scanned_route(rules, fact, None)
