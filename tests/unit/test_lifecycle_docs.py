"""The lifecycle's and the request model's docstring examples run: they cannot rot."""

from __future__ import annotations

import doctest
import pkgutil
from types import ModuleType

import pytest

from reqfulfill import lifecycle
from reqfulfill.lifecycle import (
    approvals,
    batch,
    clock,
    command_types,
    context,
    decider,
    draft,
    evolvers,
    fold,
    guards,
    handlers_effects,
    handlers_intake,
    handlers_request,
    handlers_stock,
    handlers_tasks,
    intake,
    plan,
    progress,
    stock,
    table,
    wanted,
)
from reqfulfill.model import request

SUBMODULES = [
    approvals,
    batch,
    clock,
    command_types,
    context,
    decider,
    draft,
    evolvers,
    fold,
    guards,
    handlers_effects,
    handlers_intake,
    handlers_request,
    handlers_stock,
    handlers_tasks,
    intake,
    plan,
    progress,
    stock,
    table,
    wanted,
]
MODULES = [lifecycle, *SUBMODULES, request]


def test_every_lifecycle_module_is_checked_here() -> None:
    names = {info.name for info in pkgutil.iter_modules(lifecycle.__path__)}
    assert names == {m.__name__.rpartition(".")[2] for m in SUBMODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_examples_are_there() -> None:
    attempted = sum(
        doctest.testmod(m, optionflags=doctest.ELLIPSIS, report=False).attempted for m in MODULES
    )
    assert attempted >= 4  # the table, replay, Task.replace, the package


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_module_says_what_it_owns(module: ModuleType) -> None:
    assert module.__doc__ is not None
    assert len(module.__doc__.split()) >= 10
