"""Regexes in rules are bounded: catastrophic shapes are refused when the rules load,
and the shapes allowed decide on long hostile input (no timing asserted: it returns)."""

from __future__ import annotations

import pytest

from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import MAX_REGEX_LENGTH, RuleSet, matches

CATASTROPHIC = ["(a+)+$", "(a*)*b", "(a|aa)+$", "(\\w+\\s?)+$", "(x+x+)+y", "^(a+)\\1$"]
ALLOWED = ["(?i)outage|down", "^INC[0-9]{6}$", "a+b$", "^(ab|cd)x", ".*foo.*bar", "[a-z]+@x\\.y$"]
# 5,000 characters: the allowed shapes are linear or at worst quadratic under re.search
# ("a+b$" on 100,000 "a"s takes seconds; see docs/testing.md, "Regex policy")
HOSTILE = ["a" * 5_000, "a" * 5_000 + "!", ("ab" * 2_500) + "c", " " * 5_000 + "\n"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_regex_in_a_rule_file_is_rejected(pattern: str) -> None:
    data = {"rules": [{"name": "r", "when": {"answers.text": {"regex": pattern}}, "then": {}}]}
    with pytest.raises(ValidationError) as refused:
        RuleSet.from_dict(data)
    assert refused.value.problems[0].path == "rules[0].when.answers.text.regex"


def test_overlong_regex_is_rejected() -> None:
    pattern = "a" * (MAX_REGEX_LENGTH + 1)
    with pytest.raises(ValidationError, match="at most"):
        RuleSet.from_dict(
            {"rules": [{"name": "r", "when": {"answers.t": {"regex": pattern}}, "then": {}}]}
        )


@pytest.mark.parametrize("pattern", ALLOWED)
@pytest.mark.parametrize("text", HOSTILE, ids=["a", "a!", "ab", "spaces"])
def test_allowed_regexes_decide_long_input(pattern: str, text: str) -> None:
    ruleset = RuleSet.from_dict(
        {"rules": [{"name": "r", "when": {"answers.text": {"regex": pattern}}, "then": {"x": 1}}]}
    )
    facts = {"answers": {"text": text}}
    decision = ruleset.decide(facts)
    assert (decision.rule == "r") == matches({"answers.text": {"regex": pattern}}, facts)
