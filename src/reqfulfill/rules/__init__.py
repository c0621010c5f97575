"""Routing rules as data: conditions, rule sets, the priority matrix and their analysis.

The public API is :func:`build_facts`, :func:`matches` / :class:`Condition`,
:class:`Rule`, :class:`RuleSet` (``decide``/``explain``), :class:`Rules`
(``route``) with :class:`Routing`, :class:`PriorityMatrix`, and
``reqfulfill.rules.analysis.lint``.
"""

from reqfulfill.rules._conditions import (
    OPERATORS,
    Condition,
    Failure,
    condition_problems,
    matches,
)
from reqfulfill.rules._facts import FACT_ROOTS, MISSING, build_facts, resolve
from reqfulfill.rules._matrix import ITIL_MATRIX, PriorityMatrix
from reqfulfill.rules._regex import MAX_REGEX_LENGTH, MAX_REGEX_MEMORY, regex_problem
from reqfulfill.rules._routing import (
    ITEM_DEFAULT,
    PARTS,
    RULES_KEYS,
    STRATEGIES,
    THEN_KEYS,
    Routing,
    Rules,
)
from reqfulfill.rules._ruleset import (
    HIT_POLICIES,
    RULE_KEYS,
    RULESET_KEYS,
    Decision,
    Explanation,
    Rule,
    RuleSet,
    RuleTrace,
)

__all__ = [
    "FACT_ROOTS",
    "HIT_POLICIES",
    "ITEM_DEFAULT",
    "ITIL_MATRIX",
    "MAX_REGEX_LENGTH",
    "MAX_REGEX_MEMORY",
    "MISSING",
    "OPERATORS",
    "PARTS",
    "RULESET_KEYS",
    "RULES_KEYS",
    "RULE_KEYS",
    "STRATEGIES",
    "THEN_KEYS",
    "Condition",
    "Decision",
    "Explanation",
    "Failure",
    "PriorityMatrix",
    "Routing",
    "Rule",
    "RuleSet",
    "RuleTrace",
    "Rules",
    "build_facts",
    "condition_problems",
    "matches",
    "regex_problem",
    "resolve",
]
