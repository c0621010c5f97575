"""The SLA docstrings and docs/sla.md are executed: their examples cannot rot."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from reqfulfill.sla import _calendar, _policy, _zone

DOCS = Path(__file__).parents[3] / "docs" / "sla.md"


@pytest.mark.parametrize("module", [_calendar, _policy, _zone], ids=lambda m: m.__name__)
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0
    assert result.failed == 0


def test_user_guide_examples() -> None:
    result = doctest.testfile(str(DOCS), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
