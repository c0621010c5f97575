"""Regexes that backtrack polynomially are refused at load; accepted ones see bounded input."""

from __future__ import annotations

import pytest

from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import RuleSet
from reqfulfill.rules._conditions import MAX_REGEX_INPUT, regex_problem


@pytest.mark.parametrize(
    "pattern",
    [
        r"\w*\w*\w*\w*\w*\w*\w*!",  # took 47 s to match 60 characters before it was refused
        r"a*a*a*a*a*a*b",
        r"\w*\w*!",
        r"\d+\w+",
        r"a+.*b+.*c+",
        r"(ab)*c+",
    ],
)
def test_polynomial_shapes_are_refused(pattern: str) -> None:
    assert regex_problem(pattern) is not None
    with pytest.raises(ValidationError) as info:
        RuleSet.from_dict(
            {"rules": [{"name": "r", "when": {"answers.x": {"regex": pattern}}, "then": {}}]}
        )
    assert info.value.paths == ["rules[0].when.answers.x.regex"]


@pytest.mark.parametrize(
    "pattern",
    [
        r"^INC[0-9]{6}$",
        r"[a-z]*[0-9]+",
        r"a+b$",
        r".*foo.*bar",
        r"(?i)outage|down",
        r"^\s{0,9}\w+$",
    ],
)
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert regex_problem(pattern) is None


def test_a_regex_sees_a_bounded_prefix_of_the_fact() -> None:
    rules = RuleSet.from_dict(
        {"rules": [{"name": "tail", "when": {"answers.x": {"regex": "END$"}}, "then": {"g": 1}}]}
    )
    short = "a" * 10 + "END"
    long = "a" * MAX_REGEX_INPUT + "END"
    assert rules.decide({"answers": {"x": short}}).rule == "tail"
    assert rules.decide({"answers": {"x": long}}).rule is None
