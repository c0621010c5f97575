"""The fast paths of ``nesting_problem`` and of the stored-event JSON give exactly what
the plain implementations gave: same results, same messages, same bytes.

The plain implementations are kept here, copied from before the fast paths, as the
reference the fast ones are compared with.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.model.errors import MAX_NESTING, Problem, nesting_problem, nests_deeper

# -- the reference: nesting_problem as it was ------------------------------------------


def reference_nesting_problem(
    value: object, path: str = "", limit: int = MAX_NESTING
) -> Problem | None:
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    while stack:
        current, where, depth = stack.pop()
        if isinstance(current, dict | list | tuple):
            if depth >= limit:
                return Problem(where, "<nested value>", f"nested deeper than {limit} levels")
            if isinstance(current, dict):
                for key, inner in current.items():
                    stack.append((inner, f"{where}.{key}" if where else str(key), depth + 1))
            else:
                for index, inner in enumerate(current):
                    stack.append((inner, f"{where}[{index}]", depth + 1))
    return None


# -- nesting_problem ---------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3)
_nested = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=40,
)


@given(_nested, st.integers(0, 6), st.sampled_from(["", "answers", "x.y[0]"]))
def test_nesting_problem_matches_the_reference(value: Any, limit: int, path: str) -> None:
    found = nesting_problem(value, path, limit=limit)
    assert found == reference_nesting_problem(value, path, limit=limit)
    assert nests_deeper(value, limit) is (found is not None)


def _chain(depth: int, leaf: object = 1) -> Any:
    value: Any = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [0, 1, MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1])
def test_nesting_problem_at_the_limit(depth: int) -> None:
    value = {"answers": _chain(depth)}
    found = nesting_problem(value, "answers")
    assert found == reference_nesting_problem(value, "answers")
    assert (found is not None) is (depth >= MAX_NESTING)


def test_nesting_problem_reports_the_first_deep_path_as_before() -> None:
    value = {"a": [[1]], "b": {"c": {"d": 2}}, "e": [1, [2, [3]]]}
    found = nesting_problem(value, "answers", limit=2)
    assert found is not None
    assert found == reference_nesting_problem(value, "answers", limit=2)
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
    assert nesting_problem(loop) == reference_nesting_problem(loop)
    wide: Any = 1
    for _ in range(MAX_NESTING + 5):
        wide = [wide, wide]  # 2**37 paths: a depth-first walk still ends at once
    assert nests_deeper(wide)
    assert nesting_problem(wide) == reference_nesting_problem(wide)


def test_subclasses_count_as_containers() -> None:
    from reqfulfill.model._json import FrozenDict, FrozenList

    value = FrozenDict({"a": FrozenList([FrozenDict({"b": 1})])})
    assert nests_deeper(value, 2)
    assert not nests_deeper(value, 3)
    assert nesting_problem(value, "p", 2) == reference_nesting_problem(value, "p", 2)
