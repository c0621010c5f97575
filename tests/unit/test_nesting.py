"""How deep request data and configuration may nest: ``nests_deeper`` and
``nesting_problem`` agree, name a path that really is too deep, and end on any input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.model._json import FrozenDict, FrozenList
from reqfulfill.model.errors import MAX_NESTING, nesting_problem, nests_deeper

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3)
_nested = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text("abc", min_size=1, max_size=2), inner, max_size=4)
    ),
    max_leaves=40,
)


def deepest(value: Any, level: int = 0) -> int:
    """The level of the deepest list or table in ``value`` (itself at 0); -1 if none."""
    if isinstance(value, dict):
        return max([level, *(deepest(v, level + 1) for v in value.values())])
    if isinstance(value, list | tuple):
        return max([level, *(deepest(v, level + 1) for v in value)])
    return -1


def walk(value: Any, path: str, start: str) -> tuple[Any, int]:
    """The value a problem's path leads to, and its level."""
    rest = path[len(start) :]
    level = 0
    for key, index in re.findall(r"\.?([a-c]+)|\[(\d+)\]", rest):
        value = value[key] if key else value[int(index)]
        level += 1
    return value, level


@given(_nested, st.integers(0, 6), st.sampled_from(["", "answers", "x.y[0]"]))
def test_a_reported_path_leads_to_a_list_or_table_too_deep(
    value: Any, limit: int, start: str
) -> None:
    found = nesting_problem(value, start, limit=limit)
    assert nests_deeper(value, limit) is (found is not None)
    assert (found is not None) is (deepest(value) >= limit)
    if found is not None:
        assert found.path.startswith(start)
        inner, level = walk(value, found.path, start)
        assert isinstance(inner, dict | list | tuple)
        assert level >= limit
        assert found.value == "<nested value>"
        assert found.reason == f"nested deeper than {limit} levels"


def _chain(depth: int, leaf: object = 1) -> Any:
    value: Any = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [0, 1, MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1])
def test_the_limit_is_max_nesting_levels_below_the_value(depth: int) -> None:
    value = {"answers": _chain(depth)}
    assert (nesting_problem(value, "answers") is not None) is (depth >= MAX_NESTING)


def test_the_last_deep_place_in_table_order_is_reported() -> None:
    value = {"a": [[1]], "b": {"c": {"d": 2}}, "e": [1, [2, [3]]]}
    found = nesting_problem(value, "answers", limit=2)
    assert str(found) == "answers.e[1]: nested deeper than 2 levels (got '<nested value>')"


def test_hostile_depth_does_not_blow_the_stack() -> None:
    deep = _chain(200_000)
    found = nesting_problem(deep, "x")
    assert found is not None
    assert found.reason == f"nested deeper than {MAX_NESTING} levels"
    assert nests_deeper(deep)


def test_shared_and_cyclic_values_end() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert nests_deeper(loop)
    assert nesting_problem(loop) is not None
    wide: Any = 1
    for _ in range(MAX_NESTING + 5):
        wide = [wide, wide]  # 2**37 paths: a depth-first walk still ends at once
    assert nests_deeper(wide)
    found = nesting_problem(wide)
    assert found is not None
    assert found.path == "[1]" * MAX_NESTING


def test_frozen_tables_and_lists_count_as_nesting() -> None:
    value = FrozenDict({"a": FrozenList([FrozenDict({"b": 1})])})
    assert nests_deeper(value, 2)
    assert not nests_deeper(value, 3)
    found = nesting_problem(value, "p", 2)
    assert found is not None
    assert found.path == "p.a[0]"
