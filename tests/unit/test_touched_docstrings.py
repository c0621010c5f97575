"""The examples in the docstrings of the plugin, worker, progress and error modules run
(other packages run their own: rules, sla, lifecycle)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from reqfulfill import needs, plugins, progress, worker
from reqfulfill.model import errors
from reqfulfill.stores import sqlite

MODULES = [errors, needs, plugins, progress, sqlite, worker]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_there_are_examples_to_run() -> None:
    attempted = sum(doctest.testmod(m, report=False).attempted for m in MODULES)
    assert attempted >= 10
