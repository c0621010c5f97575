"""Free-form data (request answers, automation results) as frozen JSON values.

Answers travel through events into every store, so they must be JSON data and
must not change after they are recorded: ``freeze`` turns tables into
read-only dicts and lists into read-only lists (both still compare equal to
plain ones), and ``json_problem`` names the first value that is not JSON data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NoReturn

from reqfulfill.model.errors import Problem, nesting_problem, short_repr

__all__ = ["FrozenDict", "FrozenList", "freeze", "json_problem"]


def _read_only(*_: object, **__: object) -> NoReturn:
    raise TypeError("recorded request data is read-only")


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes (a recorded table)."""

    __slots__ = ()
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))

    def __reduce__(self) -> Any:
        return (FrozenDict, (dict(self),))


class FrozenList(list[Any]):
    """A list that refuses changes (a recorded array)."""

    __slots__ = ()
    __setitem__ = __delitem__ = append = extend = insert = pop = remove = _read_only
    clear = reverse = sort = _read_only
    __iadd__ = __imul__ = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> Any:
        return (FrozenList, (list(self),))


def json_problem(value: object, path: str) -> Problem | None:
    """The first place where ``value`` is not JSON data, if any.

    >>> json_problem({"tags": {"a", "b"}}, "answers").path
    'answers.tags'
    """
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if current is None or isinstance(current, bool | int | str):
            continue
        if isinstance(current, float):
            if not math.isfinite(current):
                return Problem(where, current, "numbers must be finite")
            continue
        if isinstance(current, Mapping):
            for key, inner in current.items():
                if not isinstance(key, str):
                    return Problem(where, short_repr(key), "table keys must be strings")
                stack.append((inner, f"{where}.{key}" if where else key))
            continue
        if isinstance(current, list | tuple):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(current))
            continue
        return Problem(
            where,
            short_repr(current),
            f"not JSON data ({type(current).__name__}); use text, numbers, true/false, "
            "null, lists and tables",
        )
    return None


def freeze(value: Any) -> Any:
    """A read-only copy of JSON data: tables become ``FrozenDict``, lists ``FrozenList``.

    Raises ``ValueError`` for data nested deeper than ``MAX_NESTING`` (checked first,
    so hostile input cannot exhaust the stack here).
    """
    deep = nesting_problem(value)
    if deep is not None:
        raise ValueError(f"{deep.path or 'value'}: {deep.reason}")
    return _freeze(value)


def _freeze(value: Any) -> Any:
    if isinstance(value, FrozenDict | FrozenList):
        return value
    if isinstance(value, Mapping):
        return FrozenDict({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return FrozenList(_freeze(v) for v in value)
    return value


def freeze_table(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``freeze`` for a table field (``None`` becomes an empty table)."""
    frozen: Mapping[str, Any] = freeze(value if value is not None else {})
    return frozen


def freeze_optional(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``freeze`` for an optional table field."""
    return None if value is None else freeze(value)
