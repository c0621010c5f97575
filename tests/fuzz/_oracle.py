"""The bad-input oracle shared by the fuzz tests and the atheris harness (``fuzz/``).

Every refusal of bad configuration or input must be a ``ValidationError`` whose
``problems`` name a path; anything else is a bug.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable
from typing import Any

from reqfulfill.model.errors import ValidationError

HUGE = "x" * 200_000
DEEP_LIST: Any = []
_cursor = DEEP_LIST
for _ in range(10_000):
    _cursor.append([])
    _cursor = _cursor[0]
DEEP_DICT: Any = {}
_node = DEEP_DICT
for _ in range(10_000):
    _node["a"] = {}
    _node = _node["a"]

WRONG_VALUES: list[Any] = [
    None,
    0,
    -1,
    2**80,
    1.5,
    float("nan"),
    float("inf"),
    True,
    "",
    "no-such-value",
    "HIGH",
    "\x00\ud7ff\u202e",
    [],
    [1, "a", None],
    {},
    {"unknown": 1},
    b"bytes",
    HUGE,
]
"""Values of the wrong type, unknown enum values, huge values."""

DEEP_VALUES: list[Any] = [DEEP_LIST, DEEP_DICT]
"""10,000-deep nesting (kept apart: hypothesis cannot print them, and they are slow)."""


KNOWN_BUGS: dict[tuple[str, str, str], str] = {}
"""Crashes found by this suite and not fixed yet: (type, file, function) -> what.
Each needs a strict xfail test; the property tests step over them so they keep looking
for new ones. Empty since the first round of findings was fixed."""


def known_bug(exc: BaseException) -> str | None:
    """The ``KNOWN_BUGS`` entry an exception matches (by its innermost reqfulfill frame)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "reqfulfill" in f.filename]
    for frame in frames[-3:]:
        key = (type(exc).__name__, frame.filename.rsplit("/", 1)[-1], frame.name)
        if key in KNOWN_BUGS:
            return KNOWN_BUGS[key]
    return None


def check_refusal(
    call: Callable[[], object], *, tolerate_known: bool = False
) -> ValidationError | None:
    """Run ``call``: it may succeed or raise ``ValidationError`` with named paths; nothing else.

    With ``tolerate_known``, a crash listed in ``KNOWN_BUGS`` counts as a refusal.
    """
    error: ValidationError | None = None
    try:
        call()
    except ValidationError as exc:
        error = exc
    except Exception as exc:
        if tolerate_known and known_bug(exc):
            return None
        raise
    if error is not None:
        assert error.problems, f"ValidationError without problems: {error!r}"
        for problem in error.problems:
            assert isinstance(problem.path, str), problem
            assert isinstance(problem.reason, str), problem
            assert problem.reason
        str(error)  # the message renders, whatever the offending value
    return error


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) into a data form, the root included."""
    found = [prefix]
    if len(prefix) > 12:  # do not walk into the 10,000-deep values
        return found
    if isinstance(data, dict):
        for key, value in data.items():
            found.extend(paths(value, (*prefix, key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(paths(value, (*prefix, index)))
    return found


def _copy(data: Any, depth: int = 0) -> Any:
    """A copy of the containers a mutation may touch (deep values are shared, not walked)."""
    if depth > 14:
        return data
    if isinstance(data, dict):
        return {k: _copy(v, depth + 1) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v, depth + 1) for v in data]
    return data


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


def mutate(data: Any, path: tuple[Any, ...], kind: str, value: Any) -> Any:
    """A copy of ``data`` with one mutation at ``path``.

    ``kind``: ``replace`` (put ``value`` there), ``delete`` (drop the key or
    element), ``unknown_key`` (add a key nobody knows to the table there),
    ``wrap`` (put the value in a list), ``cycle`` (make a plan's tasks depend on
    each other in a ring).
    """
    out = _copy(data)
    if kind == "cycle":
        plans = out.get("plans") if isinstance(out, dict) else None
        for plan in plans if isinstance(plans, list) else []:
            tasks = plan.get("tasks") if isinstance(plan, dict) else None
            if isinstance(tasks, list) and tasks and all(isinstance(t, dict) for t in tasks):
                keys = [t.get("key") for t in tasks]
                for index, task in enumerate(tasks):
                    task["after"] = [keys[index - 1]]
                break
        return out
    if not path:
        return value if kind == "replace" else ([out] if kind == "wrap" else out)
    parent = _parent(out, path)
    last = path[-1]
    if kind == "replace":
        parent[last] = value
    elif kind == "delete":
        del parent[last]
    elif kind == "wrap":
        parent[last] = [parent[last]]
    elif kind == "unknown_key":
        target = parent[last]
        if isinstance(target, dict):
            target["no_such_key"] = value
        else:
            parent[last] = {"no_such_key": value}
    return out


def random_mutation(data: Any, rng: random.Random) -> Any:
    """One random mutation (the atheris harness's fallback mutator uses this)."""
    where = rng.choice(paths(data))
    kind = rng.choice(["replace", "replace", "delete", "unknown_key", "wrap", "cycle"])
    if kind == "delete" and not where:
        kind = "replace"
    value = rng.choice(DEEP_VALUES) if rng.random() < 0.02 else rng.choice(WRONG_VALUES)
    return mutate(data, where, kind, value)
