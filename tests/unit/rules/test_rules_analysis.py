"""lint: shadowed, duplicate and never-true rules, unknown paths and catalog references."""

from __future__ import annotations

from typing import Any

import pytest

from reqfulfill.model.catalog import Catalog
from reqfulfill.rules import Rules, RuleSet
from reqfulfill.rules.analysis import Finding, lint, lint_rules

CATALOG = Catalog.from_dict(
    {
        "groups": [{"id": "desk", "name": "Service Desk"}, {"id": "net", "name": "Network"}],
        "plans": [{"id": "p", "tasks": [{"key": "do", "kind": "manual", "title": "Do"}]}],
        "items": [
            {
                "id": "iphone-15",
                "name": "iPhone",
                "category": "Hardware/Mobile",
                "group": "desk",
                "impact": "low",
                "urgency": "low",
                "plan": "p",
                "attributes": {"cost": 900},
            }
        ],
    }
)


def codes(
    when_list: list[dict[str, Any]], policy: str = "first", **kw: Any
) -> list[tuple[str, str | None]]:
    ruleset = RuleSet.from_dict(
        {
            "hit_policy": policy,
            "rules": [
                {"name": f"r{i}", "when": when, "then": {"group": "desk"}}
                for i, when in enumerate(when_list)
            ],
        }
    )
    return [(f.code, f.rule) for f in lint(ruleset, **kw)]


@pytest.mark.parametrize(
    "when",
    [
        {"answers.n": {"gt": 5, "lt": 3}},
        {"answers.n": {"ge": 5, "lt": 5}},
        {"answers.s": {"gt": "b", "le": "a"}},
        {"answers.n": {"in": []}},
        {"answers.n": [1, 2], "any": []},
        {"answers.n": {"eq": 1, "ne": 1}},
        {"answers.n": {"in": [1, 2], "gt": 5}},
        {"answers.n": {"gt": 1, "prefix": "a"}},
        {"answers.n": {"exists": False, "eq": 1}},
        {"any": [{"answers.n": []}, {"answers.m": {"lt": 0, "gt": 0}}]},
        {"not": {}},
    ],
)
def test_never_true(when: dict[str, Any]) -> None:
    assert codes([when]) == [("never-true", "r0")]


@pytest.mark.parametrize(
    "when",
    [
        {"answers.n": {"gt": 3, "lt": 5}},
        {"answers.n": {"ge": 5, "le": 5}},
        {"answers.n": {"in": [1, 2], "gt": 1}},
        {"any": [{"answers.n": []}, {"answers.m": 1}]},
        {"not": {"answers.n": 1}},
    ],
)
def test_satisfiable_is_not_reported(when: dict[str, Any]) -> None:
    assert codes([when]) == []


@pytest.mark.parametrize(
    ("first", "later"),
    [
        ({}, {"channel": "portal"}),
        ({"channel": ["portal", "chat"]}, {"channel": "portal", "requester.vip": True}),
        ({"answers.n": {"gt": 5}}, {"answers.n": {"gt": 10}}),
        ({"answers.n": {"ge": 5}}, {"answers.n": {"gt": 5}}),
        ({"answers.n": {"gt": 5}}, {"answers.n": [6, 7]}),
        ({"answers.n": {"exists": True}}, {"answers.n": {"lt": 1}}),
        ({"answers.s": {"prefix": "ab"}}, {"answers.s": {"prefix": "abc"}}),
        ({"answers.s": {"ne": "x"}}, {"answers.s": {"not_in": ["x", "y"]}}),
        ({"any": [{"channel": "email"}]}, {"any": [{"channel": "email"}], "answers.n": 1}),
    ],
)
def test_shadowed(first: dict[str, Any], later: dict[str, Any]) -> None:
    assert codes([first, later]) == [("shadowed", "r1")]
    assert codes([first, later], policy="collect") == []  # every match counts under collect


@pytest.mark.parametrize(
    ("first", "later"),
    [
        ({"channel": "portal"}, {}),
        ({"answers.n": {"gt": 5}}, {"answers.n": {"ge": 5}}),
        ({"channel": "portal", "requester.vip": True}, {"channel": "portal"}),
        ({"answers.n": {"gt": 5}}, {"answers.n": [5, 6]}),
        ({"answers.n": 1}, {"answers.n": True}),
        ({"answers.s": {"ne": "x"}}, {"answers.s": {"prefix": "a"}}),
    ],
)
def test_not_shadowed(first: dict[str, Any], later: dict[str, Any]) -> None:
    assert codes([first, later]) == []


def test_duplicates() -> None:
    same = {"channel": "portal", "requester.vip": True}
    swapped = {"requester.vip": True, "channel": "portal"}
    assert codes([same, swapped]) == [("duplicate", "r1")]
    assert codes([same, swapped], policy="collect") == [("duplicate", "r1")]  # same then


def test_shadow_index_scales_to_many_rules() -> None:
    whens: list[dict[str, Any]] = [{"item.id": f"i{i}", "channel": "portal"} for i in range(2000)]
    whens.append({"item.id": "i7", "channel": "portal", "requester.vip": True})
    assert codes(whens) == [("shadowed", "r2000")]


def test_unknown_paths_and_values() -> None:
    found = codes(
        [
            {"item.colour": "red"},
            {"requester.dept": "IT"},
            {"channel.name": "x"},
            {"channel": ["portal", "web"]},
            {"item.impact": "huge"},
            {"item.attributes.weight": {"gt": 1}},
            {"item": {"exists": True}},
        ],
        catalog=CATALOG,
    )
    assert found == [
        ("unknown-path", "r0"),
        ("unknown-path", "r1"),
        ("unknown-path", "r2"),
        ("unknown-value", "r3"),
        ("unknown-value", "r4"),
        ("unknown-path", "r5"),
    ]


def test_catalog_references() -> None:
    rules = Rules.from_dict(
        {
            "assignment": {
                "rules": [
                    {
                        "name": "a",
                        "when": {"item.id": ["iphone-15", "pixel"]},
                        "then": {"group": "desq"},
                    },
                    {"name": "b", "when": {"item.group": "ops"}, "then": {"group": "net"}},
                ]
            },
            "categorization": {
                "rules": [
                    {"name": "c", "when": {"item.category": "Soft"}, "then": {"category": "X"}}
                ]
            },
        }
    )
    found = lint_rules(rules, CATALOG)
    assert [(f.ruleset, f.code, f.rule, f.severity) for f in found] == [
        ("assignment", "unknown-item", "a", "error"),
        ("assignment", "unknown-group", "a", "error"),
        ("assignment", "unknown-group", "b", "error"),
        ("categorization", "unknown-category", "c", "warning"),
        ("categorization", "unknown-category", "c", "warning"),
    ]
    assert "'pixel'" in found[0].message
    assert str(found[1]).startswith("error [unknown-group] assignment: rule 'a': then.group 'desq'")
    assert lint_rules(rules) == []  # no catalog: references are not checked


def test_finding_fields() -> None:
    finding = Finding("shadowed", "r1", "msg")
    assert (finding.code, finding.rule, finding.message, finding.severity) == (
        "shadowed",
        "r1",
        "msg",
        "error",
    )
