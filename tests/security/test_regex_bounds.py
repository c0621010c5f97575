"""No regex can hang a decision: conditions run on RE2, in time linear in the fact.

The classic catastrophic patterns load and decide on a 100 KB fact with the right
answer (no timing is asserted here; ``python -m benchmarks regex`` shows the time
grows with the fact's length and nothing else). Patterns RE2 does not support, and
patterns whose compiled program exceeds RE2's memory budget, are refused when the
rules load, with RE2's own message and the condition's path. Facts are matched
whole: nothing past some length is silently ignored.
"""

from __future__ import annotations

import pytest

from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import MAX_REGEX_LENGTH, RuleSet, matches

N = 100_000
A = "a" * N  # 100 KB of the character every pattern below fights over
A_BANG = A + "!"  # ... with a last character that fails a "$"
A_B = A + "b"  # ... with the "b" some of them look for

# pattern -> whether it matches A, A_BANG, A_B (known answers; Python's re would take
# longer than the age of the universe on most of these inputs)
CATASTROPHIC = {
    "(a+)+$": (True, False, False),
    "(a|aa)+$": (True, False, False),
    "(a|a?)+b": (False, False, True),
    "(a*)*b": (False, False, True),
    "(.*a){20}": (True, True, True),
    "(\\w+\\s?)+$": (True, False, True),
    "(a+) +$": (False, False, False),  # the "(?x)(a+) +$" without (?x): a literal space
    "(a+)+$|(a+)+b": (True, False, True),
    "(x+x+)+y": (False, False, False),
}

# pattern -> RE2's own message when it refuses it
REFUSED = {
    "(a)\\1": "invalid escape sequence: \\1",
    "(?=a)": "invalid perl operator: (?=",
    "(?<=a)b": "invalid perl operator: (?<=",
    "a++": "bad repetition operator: ++",
    "(?>a+)b": "invalid perl operator: (?>",
    "(?P<x>a)(?P=x)": "invalid perl operator: (?P",
    "(?(1)a|b)": "invalid perl operator: (?(",
    "(?x)(a+) +$": "invalid perl operator: (?x",  # RE2 has no verbose mode
    "a{0,999}a{0,999}a{0,999}b": "pattern too large - compile failed",
    "\\w{0,999}!": "pattern too large - compile failed",
    "a{1001}": "invalid repetition size: {1001}",
    "(unclosed": "missing ): (unclosed",
}


def _rules(pattern: str) -> RuleSet:
    return RuleSet.from_dict(
        {"rules": [{"name": "r", "when": {"answers.text": {"regex": pattern}}, "then": {"x": 1}}]}
    )


@pytest.mark.parametrize("pattern", list(CATASTROPHIC))
def test_catastrophic_patterns_decide_a_100_kb_fact_correctly(pattern: str) -> None:
    rules = _rules(pattern)
    got = tuple(rules.decide({"answers": {"text": text}}).rule == "r" for text in (A, A_BANG, A_B))
    assert got == CATASTROPHIC[pattern]


def test_a_pattern_near_the_program_budget_decides_long_facts_correctly() -> None:
    # the slowest family RE2 still compiles (every instruction busy on every byte): a
    # 10 KB fact keeps the suite quick, the benchmark shows 100 KB and the linear growth
    rules = _rules("a{0,999}a{0,999}b")
    for text, expected in ((A[:10_000], None), (A[:10_000] + "!", None), (A[:10_000] + "b", "r")):
        assert rules.decide({"answers": {"text": text}}).rule == expected


@pytest.mark.parametrize(("pattern", "message"), list(REFUSED.items()))
def test_patterns_re2_refuses_are_validation_errors_with_its_message(
    pattern: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _rules(pattern)
    [problem] = refused.value.problems
    assert problem.path == "rules[0].when.answers.text.regex"
    assert problem.value == pattern
    assert message in problem.reason
    assert "rules[0].when.answers.text.regex" in str(refused.value)


def test_a_pattern_too_large_for_the_budget_says_which_budget() -> None:
    with pytest.raises(ValidationError, match="MAX_REGEX_MEMORY"):
        _rules("a{0,999}a{0,999}a{0,999}b")


def test_a_pattern_over_the_length_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_REGEX_LENGTH} characters"):
        _rules("a" * (MAX_REGEX_LENGTH + 1))
    assert _rules("a" * MAX_REGEX_LENGTH).decide({"answers": {"text": "a" * 300}}).rule == "r"


def test_facts_are_matched_whole_not_cut_at_some_length() -> None:
    # the old engine looked at the first 1,000 characters: "b$" was false here
    email = "x" * 4_999 + "b"
    assert matches({"answers.text": {"regex": "b$"}}, {"answers": {"text": email}})
    long_mail = "quoted reply\n" * 8_000 + "sent from alice@example.com"
    assert matches({"answers.text": {"regex": "@example\\.com$"}}, {"answers": {"text": long_mail}})
    assert not matches({"answers.text": {"regex": "^sent"}}, {"answers": {"text": long_mail}})


def test_a_fact_with_a_lone_surrogate_is_decided_not_crashed() -> None:
    # valid JSON ("\ud800") gives a str that is not valid UTF-8
    facts = {"answers": {"text": "ab\ud800cd" * 1_000}}
    assert matches({"answers.text": {"regex": "cd$"}}, facts)
    assert not matches({"answers.text": {"regex": "^cd"}}, facts)
