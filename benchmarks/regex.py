"""Regex benchmark: the worst patterns decide a 100 KB fact in time linear in its length.

``regex`` conditions run on RE2, whose cost per byte of the fact is bounded by
the size of the compiled pattern, itself bounded by RE2's memory budget
(``reqfulfill.rules.MAX_REGEX_MEMORY``). Each row times one
``RuleSet.decide`` on a one-rule set whose condition is the pattern, against a
hostile fact of ``size`` characters (``a`` repeated, then ``!``: every pattern
below must read all of it and none matches, except ``(.*a){20}``):

* the classic catastrophic family -- ``(a+)+$``, ``(a|aa)+$``, ``(a|a?)+b``,
  ``(.*a){20}``, ``(\\w+\\s?)+$`` -- exponential under backtracking;
* ``a{0,999}a{0,999}b``, the issue's ``a{0,999}a{0,999}a{0,999}b`` less one
  repetition (that one exceeds the budget and is refused at load);
* ``budget``: ``a{0,99}`` repeated as often as the budget allows, then ``b``
  -- the worst pattern we know: thousands of instructions, every one of them
  live on every byte, so RE2's DFA gives up and its NFA does all the work.

The answers are checked before anything is timed. ``median_s`` is seconds per
decision; ``ratio`` is the row's time divided by the same pattern's time on
the smallest fact (10 KB): about 10 at 100 KB means linear growth. Patterns
ending in ``$`` are cheaper still: RE2 runs them backwards from the end of the
fact, and the ``!`` there ends the search at once (what remains is encoding the
fact to UTF-8).

Run: ``python -m benchmarks regex [--quick]``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.lifecycle import row
from reqfulfill.rules import RuleSet, regex_problem

SIZES = (10_000, 100_000)
FAMILY = (
    "(a+)+$",
    "(a|aa)+$",
    "(a|a?)+b",
    "(.*a){20}",
    "(\\w+\\s?)+$",
    "a{0,999}a{0,999}b",
)
MATCHES = {"(.*a){20}"}


def budget_pattern() -> str:
    """``a{0,99}`` repeated as often as RE2's memory budget allows, then ``b``."""
    low, high = 1, 1_000
    while low < high:
        middle = (low + high + 1) // 2
        if regex_problem("a{0,99}" * middle + "b") is None:
            low = middle
        else:
            high = middle - 1
    return "a{0,99}" * low + "b"


def _label(pattern: str) -> str:
    if len(pattern) <= 24:
        return pattern
    return f"budget: a{{0,99}} x {pattern.count('a{0,99}')} + b"


def _times(
    pattern: str, rules: RuleSet, facts: dict[str, Any], expected: str | None, rounds: int
) -> list[float]:
    """Seconds per decision, one figure per round; a round lasts at least ~20 ms."""
    start = time.perf_counter()
    if rules.decide(facts).rule != expected:
        raise AssertionError(f"{pattern!r}: wrong decision")
    per_round = max(1, int(0.02 / max(time.perf_counter() - start, 1e-7)))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            rules.decide(facts)
        times.append((time.perf_counter() - start) / per_round)
    return times


def run(quick: bool = False, *, sizes: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """One decision per pattern and fact size; ratio = time / time at the smallest size."""
    sizes = sizes or ((1_000, 10_000) if quick else SIZES)
    rounds = 1 if quick else 5
    rows: list[dict[str, Any]] = []
    for pattern in (*FAMILY, budget_pattern()):
        rules = RuleSet.from_dict(
            {"rules": [{"name": "r", "when": {"answers.text": {"regex": pattern}}, "then": {}}]}
        )
        expected = "r" if pattern in MATCHES else None
        first = 0.0
        for size in sizes:
            facts = {"answers": {"text": "a" * (size - 1) + "!"}}
            times = _times(pattern, rules, facts, expected, rounds)
            median = statistics.median(times)
            first = first or median
            rows.append(row("regex", size, _label(pattern), times, median / first))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(quick="--quick" in sys.argv):
        print(r)
