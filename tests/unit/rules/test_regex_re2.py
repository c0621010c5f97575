"""What a ``regex`` condition means on RE2: Python's ``re.search``, in RE2's syntax.

On the syntax both engines share, RE2 and ``re`` give the same answers (a property
test); the few places where they differ are pinned here and listed in docs/rules.md.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.rules import Condition, matches, regex_problem
from reqfulfill.rules._regex import Regex, compile_regex


def _match(pattern: str, text: Any) -> bool:
    return matches({"answers.x": {"regex": pattern}}, {"answers": {"x": text}})


# -- the subset both engines share ----------------------------------------------------------

ATOMS = ["a", "b", "1", "-", ".", "\\.", "[ab]", "[^a]", "[a-c1]", "\\d", "\\w", "\\s", "\\D"]
QUANTIFIERS = ["", "", "*", "+", "?", "*?", "+?", "??", "{2}", "{0,2}", "{1,3}", "{2,}"]


def _pieces(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    group = st.tuples(st.sampled_from(["(", "(?:"]), inner).map(lambda t: f"{t[0]}{t[1]})")
    return st.tuples(st.sampled_from(ATOMS) | group, st.sampled_from(QUANTIFIERS)).map("".join)


def _alternatives(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    branch = st.lists(_pieces(inner), min_size=1, max_size=3).map("".join)
    return st.lists(branch, min_size=1, max_size=3).map("|".join)


BODIES = st.recursive(st.sampled_from(ATOMS), _alternatives, max_leaves=6)
PATTERNS = st.tuples(
    st.sampled_from(["", "(?i)", "(?s)"]),
    st.sampled_from(["", "^"]),
    BODIES,
    st.sampled_from(["", "$"]),
).map("".join)
# no newline: Python's "$" also matches before a final newline, RE2's only at the very end;
# ASCII only: RE2's \d \w \s are ASCII classes, Python's are Unicode ones
TEXTS = st.text(alphabet="aAb1 -._", max_size=12)


@given(pattern=PATTERNS, text=TEXTS)
def test_re2_answers_as_python_re_search_on_the_common_subset(pattern: str, text: str) -> None:
    assert regex_problem(pattern) is None, pattern
    assert _match(pattern, text) == (re.search(pattern, text) is not None)


# -- semantics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("down", "the printer is down again", True),  # search: anywhere in the fact
        ("^down", "the printer is down", False),
        ("(?i)OUTAGE", "Outage in B2", True),
        ("(?i)é", "É", True),  # case folding is Unicode-aware
        (".", "\n", False),
        ("(?s).", "\n", True),
        ("(?m)^b", "a\nb", True),
        ("^INC[0-9]{6}$", "INC000123", True),
        ("\\pL", "é", True),  # Unicode classes spelled the RE2 way
        ("\\x{e9}", "é", True),
        ("a\\z", "a", True),  # \z is RE2's end of text (Python's \Z)
        ("\\Qa.b\\E", "a.b", True),
    ],
)
def test_regex_is_an_unanchored_search(pattern: str, text: str, expected: bool) -> None:
    assert _match(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "text", "python_re"),
    [
        ("b$", "ab\n", True),  # RE2's "$" is the end of the fact, not before a final newline
        ("\\d", "\u0663", True),  # ARABIC-INDIC DIGIT THREE: \d is ASCII in RE2
        ("\\w", "é", True),
        ("\\s", "\u00a0", True),
        ("a{,3}", "a", True),  # "{,3}" is literal text in RE2: write {0,3}
    ],
)
def test_the_documented_differences_from_python_re(
    pattern: str, text: str, python_re: bool
) -> None:
    assert (re.search(pattern, text) is not None) is python_re
    assert _match(pattern, text) is not python_re


@pytest.mark.parametrize("fact", [5, 1.5, True, None, ["down"], {"a": "down"}])
def test_a_regex_on_a_fact_that_is_not_a_string_is_false(fact: object) -> None:
    assert not _match("down|5|1|True|None", fact)


def test_a_missing_fact_fails_a_regex_and_explain_says_so() -> None:
    condition = Condition({"answers.x": {"regex": "^a"}})
    failure = condition.explain({"answers": {}})
    assert failure is not None
    assert failure.missing
    assert condition.describe() == "answers.x matches /^a/"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a+)+$", None),
        ("(?i)outage|down", None),
        ("(a)\\1", "invalid escape sequence: \\1"),
        ("\\Z", "invalid escape sequence: \\Z"),
        ("(?=a)", "invalid perl operator: (?="),
    ],
)
def test_regex_problem_is_re2s_own_reason(pattern: str, reason: str | None) -> None:
    assert regex_problem(pattern) == reason


def test_compile_regex_gives_a_searchable_regex_or_the_reason() -> None:
    found = compile_regex("^[a-z]+-\\d+$")
    assert isinstance(found, Regex)
    assert found.search("vpn-42")
    assert not found.search("VPN-42")
    assert repr(found) == "Regex('^[a-z]+-\\\\d+$')"
    assert compile_regex("a++") == "bad repetition operator: ++"
