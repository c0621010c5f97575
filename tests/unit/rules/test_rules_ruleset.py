"""RuleSet: hit policies, decisions, explain traces, data forms; PriorityMatrix data form."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.model.enums import Impact, Priority, Urgency
from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import MISSING, Decision, PriorityMatrix, Rule, Rules, RuleSet

RULES = [
    Rule("vip", {"requester.vip": True}, {"group": "vip"}),
    Rule("big", {"answers.cost": {"ge": 500}}, {"group": "finance"}),
    Rule("rest", {}, {"group": "desk"}),
]


def test_first_hit_and_undecided() -> None:
    ruleset = RuleSet(RULES)
    assert ruleset.decide({"requester": {"vip": True}}) == Decision(
        {"group": "vip"}, "vip", ("vip",)
    )
    assert ruleset.decide({"answers": {"cost": 900}}).rule == "big"
    assert ruleset.decide({}).rule == "rest"
    empty = RuleSet(RULES[:2])
    assert empty.decide({}) is Decision.undecided
    assert Decision.undecided.value is None
    assert not Decision.undecided.decided


def test_collect_returns_every_match_in_order() -> None:
    ruleset = RuleSet(RULES, hit_policy="collect")
    decision = ruleset.decide({"requester": {"vip": True}, "answers": {"cost": 900}})
    assert decision.value == ({"group": "vip"}, {"group": "finance"}, {"group": "desk"})
    assert decision.rule == "vip"
    assert decision.rules == ("vip", "big", "rest")
    trace = ruleset.explain({"answers": {"cost": 1}}).trace
    assert [(s.rule, s.matched) for s in trace] == [("vip", False), ("big", False), ("rest", True)]


def test_explain_stops_at_the_deciding_rule_under_first() -> None:
    explanation = RuleSet(RULES).explain({"requester": {"vip": False}, "answers": {"cost": 900}})
    assert [(s.index, s.rule, s.matched) for s in explanation.trace] == [
        (0, "vip", False),
        (1, "big", True),
    ]
    failure = explanation.trace[0].failure
    assert failure is not None
    assert (failure.path, failure.actual) == ("requester.vip", False)
    assert explanation.decision.rule == "big"
    assert str(explanation).splitlines()[-1] == "decided by 'big': {'group': 'finance'}"
    missing = RuleSet(RULES[:1]).explain({}).trace[0].failure
    assert missing is not None
    assert missing.actual is MISSING
    assert str(RuleSet(RULES[:1]).explain({})).endswith("undecided: no rule matched")


@given(st.booleans(), st.integers(-5000, 5000))
def test_an_explanation_is_searched_as_its_text(vip: bool, cost: int) -> None:
    explanation = RuleSet(RULES).explain({"requester": {"vip": vip}, "answers": {"cost": cost}})
    text = str(explanation)
    for line in text.splitlines():
        assert line in explanation
    assert f"decided by {explanation.decision.rule!r}" in explanation
    assert ("no match" in explanation) == ("no match" in text)
    assert "a line no explanation holds" not in explanation
    with pytest.raises(TypeError, match="requires a string"):
        assert 3 in explanation


@pytest.mark.parametrize(
    ("rules", "policy", "path"),
    [
        ([Rule("a"), Rule("a")], "first", "rules[1].name"),
        ([Rule("")], "first", "rules[0].name"),
        ([Rule("item default")], "first", "rules[0].name"),
        ([Rule("a")], "any", "hit_policy"),
    ],
)
def test_rule_set_problems(rules: list[Rule], policy: str, path: str) -> None:
    with pytest.raises(ValidationError) as info:
        RuleSet(rules, policy)  # type: ignore[arg-type]
    assert info.value.paths == [path]


def test_from_dict_rejects_unknown_keys_and_types() -> None:
    with pytest.raises(ValidationError) as info:
        RuleSet.from_dict({"rules": [{"name": 5, "when": [], "extra": 1}, "x"], "policy": "first"})
    assert [(p.path, p.value) for p in info.value.problems] == [
        ("policy", "first"),
        ("rules[0].extra", 1),
        ("rules[0].name", 5),
        ("rules[0].when", []),
        ("rules[1]", "x"),
    ]


def test_to_dict_and_toml(tmp_path: Path) -> None:
    ruleset = RuleSet(
        [Rule("r", {"channel": ("portal", "chat")}, {"group": "g"})], hit_policy="collect"
    )
    assert ruleset.to_dict() == {
        "hit_policy": "collect",
        "rules": [{"name": "r", "when": {"channel": ["portal", "chat"]}, "then": {"group": "g"}}],
    }
    assert RuleSet.from_dict(ruleset.to_dict()) == ruleset
    path = tmp_path / "rules.toml"
    path.write_text(
        'hit_policy = "collect"\n[[rules]]\nname = "r"\nwhen = { channel = ["portal", "chat"] }\n'
        'then = { group = "g" }\n'
    )
    assert RuleSet.from_toml(path) == ruleset
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "r"\nwhen = { "answers.x" = { gt = true } }\n')
    with pytest.raises(ValidationError) as info:
        RuleSet.from_toml(bad)
    assert info.value.source == str(bad)
    assert info.value.paths == ["rules[0].when.answers.x.gt"]


def test_collect_prioritization_takes_each_part_from_first_setter() -> None:
    rules = Rules(
        prioritization=RuleSet(
            [
                Rule("u", {"channel": "chat"}, {"urgency": "high"}),
                Rule("both", {}, {"impact": "medium", "urgency": "low"}),
            ],
            hit_policy="collect",
        )
    )
    routing = rules.route({"channel": "chat"}, item=None)
    assert (routing.impact, routing.urgency, routing.priority) == (
        Impact.MEDIUM,
        Urgency.HIGH,
        Priority(2),
    )
    assert routing.priority_rule == "u"
    assert routing.priority_reason == "channel == 'chat'; always (catch-all rule)"


def test_matrix_data_form() -> None:
    matrix = PriorityMatrix.from_dict({"low": {"low": 4}})
    assert matrix.to_dict()["low"] == {"high": 3, "medium": 4, "low": 4}
    assert matrix.to_dict()["high"] == {"high": 1, "medium": 2, "low": 3}
    with pytest.raises(ValidationError) as info:
        PriorityMatrix.from_dict({"huge": {}, "low": {"low": 0, "soon": 1, "high": True}})
    assert [(p.path, p.value) for p in info.value.problems] == [
        ("huge", "huge"),
        ("low.low", 0),
        ("low.soon", "soon"),
        ("low.high", True),
    ]
    with pytest.raises(ValidationError) as bundle:
        Rules.from_dict({"priority_matrix": {"high": {"high": 9}}})
    assert bundle.value.paths == ["priority_matrix.high.high"]
