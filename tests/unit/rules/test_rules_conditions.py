"""Condition semantics and validation errors (regexes on RE2: test_regex_re2.py)."""

from __future__ import annotations

from typing import Any

import pytest

from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import MISSING, Condition, RuleSet, condition_problems, matches

FACTS: dict[str, Any] = {
    "item": {"id": "iphone-15", "attributes": {"cost": 900, "tags": ["a"]}},
    "requester": {"id": "ann", "vip": True, "department": "Sales", "location": "HEL"},
    "channel": "portal",
    "answers": {"cost": 600, "reason": "Broken screen", "count": 1, "flag": False},
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({}, True),
        ({"item.id": "iphone-15"}, True),
        ({"item.id": "pixel"}, False),
        ({"channel": ["portal", "chat"]}, True),
        ({"channel": ["email"]}, False),
        ({"channel": []}, False),
        ({"requester.vip": True}, True),
        ({"requester.vip": 1}, False),  # booleans never equal numbers
        ({"answers.count": True}, False),
        ({"answers.count": 1.0}, True),
        ({"answers.count": "1"}, False),
        ({"answers.cost": {"gt": 500}}, True),
        ({"answers.cost": {"gt": 500, "lt": 600}}, False),
        ({"answers.cost": {"ge": 600, "le": 600}}, True),
        ({"answers.reason": {"gt": 5}}, False),  # type mismatch is false
        ({"answers.flag": {"lt": 1}}, False),  # a boolean is not a number
        ({"answers.reason": {"prefix": "Broken"}}, True),
        ({"answers.reason": {"regex": "screen$"}}, True),
        ({"answers.reason": {"regex": "^screen"}}, False),  # re.search, anchors honoured
        ({"answers.cost": {"regex": "6"}}, False),
        ({"answers.cost": {"ne": 5}}, True),
        ({"answers.cost": {"not_in": [1, 2]}}, True),
        ({"answers.cost": {"in": [600]}}, True),
        ({"answers.cost": {"exists": True}}, True),
        ({"answers.size": {"exists": False}}, True),
        ({"answers.size": {"ne": 5}}, False),  # missing: false whatever the operator
        ({"answers.size": {"not_in": [5]}}, False),
        ({"not": {"answers.size": {"ne": 5}}}, True),  # not negates the whole
        ({"not": {"requester.vip": True}}, False),
        ({"any": [{"channel": "email"}, {"requester.vip": True}]}, True),
        ({"any": []}, False),
        ({"item.attributes.cost": {"ge": 900}}, True),
        ({"item.attributes.tags": "a"}, False),  # a list fact equals no scalar
        ({"item.attributes.tags": ["a"]}, False),
        ({"item.id.more": "x"}, False),  # walking past a scalar is a missing fact
        ({"channel": "portal", "requester.department": "IT"}, False),
    ],
)
def test_semantics(condition: dict[str, Any], expected: bool) -> None:
    assert matches(condition, FACTS) is expected


def test_index_keeps_booleans_apart_from_numbers() -> None:
    ruleset = RuleSet.from_dict(
        {
            "rules": [
                {"name": "one", "when": {"answers.x": 1}},
                {"name": "in", "when": {"answers.x": [0, "True"]}},
                {"name": "yes", "when": {"answers.x": True}},
            ]
        }
    )
    assert ruleset.decide({"answers": {"x": True}}).rule == "yes"
    assert ruleset.decide({"answers": {"x": 1.0}}).rule == "one"
    assert ruleset.decide({"answers": {"x": False}}).rule is None
    assert ruleset.decide({"answers": {"x": [1]}}).rule is None


@pytest.mark.parametrize(
    ("condition", "path", "value"),
    [
        ({"answers.cost": {"gte": 5}}, "rules[0].when.answers.cost", "gte"),
        ({"answers.cost": {"gt": True}}, "rules[0].when.answers.cost.gt", True),
        ({"answers.cost": {"gt": [1]}}, "rules[0].when.answers.cost.gt", [1]),
        ({"answers.cost": {"in": "abc"}}, "rules[0].when.answers.cost.in", "abc"),
        ({"answers.cost": [1, {"a": 1}]}, "rules[0].when.answers.cost[1]", {"a": 1}),
        ({"answers.cost": {"exists": "yes"}}, "rules[0].when.answers.cost.exists", "yes"),
        ({"answers.cost": {}}, "rules[0].when.answers.cost", {}),
        ({"answers.cost": float("nan")}, "rules[0].when.answers.cost", pytest.approx),
        ({"requestor.vip": True}, "rules[0].when.requestor.vip", "requestor.vip"),
        ({"answers..x": 1}, "rules[0].when.answers..x", "answers..x"),
        ({"any": {"channel": "x"}}, "rules[0].when.any", {"channel": "x"}),
        ({"any": [{"channel": {"eq": None}}]}, "rules[0].when.any[0].channel.eq", None),
        ({"not": "x"}, "rules[0].when.not", "x"),
        ({"answers.r": {"regex": "(?=a)"}}, "rules[0].when.answers.r.regex", "(?=a)"),
        ({"answers.r": {"regex": "(x)\\1"}}, "rules[0].when.answers.r.regex", "(x)\\1"),
        ({"answers.r": {"regex": "a" * 300}}, "rules[0].when.answers.r.regex", "a" * 300),
        ({"answers.r": {"regex": "(unclosed"}}, "rules[0].when.answers.r.regex", "(unclosed"),
    ],
)
def test_invalid_conditions_name_path_and_value(
    condition: dict[str, Any], path: str, value: object
) -> None:
    with pytest.raises(ValidationError) as info:
        RuleSet.from_dict({"rules": [{"name": "r", "when": condition}]})
    problem = info.value.problems[0]
    assert problem.path == path
    if value is not pytest.approx:
        assert problem.value == value
    assert path in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    found = condition_problems(
        {"answers.a": {"gte": 1}, "answers.b": {"regex": 5}, "any": [{"x.y": 1}]}, "when"
    )
    assert [p.path for p in found] == ["when.answers.a", "when.answers.b.regex", "when.any[0].x.y"]


def test_rule_set_paths_under_rules_bundle() -> None:
    with pytest.raises(ValidationError) as info:
        RuleSet.from_dict(
            {"rules": [{}, {"name": "a"}, {"name": "a", "when": {"channel": {"lt": None}}}]},
            path="assignment",
        )
    paths = info.value.paths
    assert "assignment.rules[0].name" in paths
    assert "assignment.rules[2].name" in paths
    assert "assignment.rules[2].when.channel.lt" in paths


def test_explain_names_first_failed_test_and_actual_value() -> None:
    condition = Condition({"channel": "portal", "answers.cost": {"gt": 1000}})
    failure = condition.explain(FACTS)
    assert failure is not None
    assert failure.path == "answers.cost"
    assert failure.actual == 600
    assert failure.where == "answers.cost.gt"
    assert str(failure) == "answers.cost > 1000 is false: answers.cost is 600"
    missing = Condition({"answers.size": {"in": ["S"]}}).explain(FACTS)
    assert missing is not None
    assert missing.actual is MISSING
    assert missing.missing
    assert str(missing) == "answers.size in ['S'] is false: answers.size is missing"


def test_explain_any_and_not() -> None:
    failed = Condition({"any": [{"channel": "email"}, {"requester.vip": False}]}).explain(FACTS)
    assert failed is not None
    assert failed.path is None
    assert [c.path for c in failed.causes] == ["channel", "requester.vip"]
    assert "channel is 'portal'" in str(failed)
    negated = Condition({"not": {"requester.vip": True}}).explain(FACTS)
    assert negated is not None
    assert str(negated) == "not (requester.vip == True) is false"


def test_describe() -> None:
    condition = Condition(
        {
            "item.id": "iphone-15",
            "any": [{"channel": ["portal", "chat"]}, {"answers.n": {"ge": 2, "lt": 5}}],
            "not": {"answers.r": {"regex": "x", "prefix": "y"}},
            "answers.s": {"exists": False},
        }
    )
    assert condition.describe() == (
        "item.id == 'iphone-15' and (channel in ['portal', 'chat'] or "
        "(answers.n >= 2 and answers.n < 5)) and not (answers.r matches /x/ and "
        "answers.r starts with 'y') and answers.s is missing"
    )
    assert Condition({}).describe() == "always"
