"""The rules docstrings and docs/rules.md are executed: their examples cannot rot."""

from __future__ import annotations

import doctest
from pathlib import Path
from types import ModuleType

import pytest

from reqfulfill.rules import _conditions, _facts, _matrix, _routing, _ruleset, analysis

DOCS = Path(__file__).parents[3] / "docs" / "rules.md"


@pytest.mark.parametrize(
    "module", [_conditions, _facts, _matrix, _routing, _ruleset, analysis], ids=lambda m: m.__name__
)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_rule_authors_guide_examples() -> None:
    result = doctest.testfile(str(DOCS), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
