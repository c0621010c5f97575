"""The errors reqfulfill raises: one base class, one subclass per kind of refusal.

Every refusal of a command is one of these, and a refused command writes
nothing. Each error carries structured fields so callers can act on it
without parsing the message.
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "AuthorizationError",
    "AutomationError",
    "ConcurrencyError",
    "NotFoundError",
    "Problem",
    "ReqfulfillError",
    "SupplierError",
    "TransitionError",
    "ValidationError",
    "nesting_problem",
    "short_repr",
]


class ReqfulfillError(Exception):
    """Base class of every error reqfulfill raises on purpose."""


@attrs.frozen
class Problem:
    """One thing wrong with configuration or input.

    ``path`` locates it (``items[2].group``), ``value`` is what was found
    there, ``reason`` says what is wrong with it.
    """

    path: str
    value: object
    reason: str

    def __str__(self) -> str:
        where = self.path or "<root>"
        if self.reason.startswith("missing"):
            return f"{where}: {self.reason}"
        return f"{where}: {self.reason} (got {_short(self.value)})"


_MISSING_VALUE = object()


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6

MAX_NESTING = 32
"""How deep lists and tables in configuration and request input may nest."""


def short_repr(value: object, limit: int = 80) -> str:
    """A bounded ``repr`` for messages: safe for huge and deeply nested values."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_short = short_repr


def nesting_problem(value: object, path: str = "", limit: int = MAX_NESTING) -> Problem | None:
    """The first place where ``value`` nests lists/tables deeper than ``limit``, if any.

    Iterative, so it cannot itself run out of stack on hostile input.

    >>> nesting_problem({"a": [[1]]}, "answers", limit=2).path
    'answers.a[0]'
    """
    if not nests_deeper(value, limit):
        return None  # the common case: no path strings built at all
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


_NESTED = (dict, list, tuple)
_LEAVES = frozenset({str, int, float, bool, type(None)})


def nests_deeper(value: object, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` holds a list/table at depth ``limit`` or more (``value`` itself
    is at depth 0): exactly when :func:`nesting_problem` finds a problem, but without
    building any paths.

    Iterative (one iterator per open level, at most ``limit`` of them).

    >>> nests_deeper({"a": [[1]]}, limit=2), nests_deeper({"a": [1]}, limit=2)
    (True, False)
    """
    if not isinstance(value, _NESTED):
        return False
    if limit <= 0:
        return True
    open_levels = [iter(value.values() if isinstance(value, dict) else value)]
    while open_levels:
        for inner in open_levels[-1]:
            if type(inner) in _LEAVES:
                continue  # the usual element: skip the isinstance checks
            if isinstance(inner, _NESTED):
                if len(open_levels) >= limit:
                    return True
                open_levels.append(iter(inner.values() if isinstance(inner, dict) else inner))
                break
        else:
            open_levels.pop()
    return False


class ValidationError(ReqfulfillError, ValueError):
    """Bad configuration or input. ``problems`` lists every problem found.

    >>> err = ValidationError([Problem("items[2].group", "desk-l9", "unknown group 'desk-l9'")])
    >>> err.problems[0].path
    'items[2].group'
    """

    problems: tuple[Problem, ...]

    def __init__(self, problems: Iterable[Problem] | str, *, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem("", _MISSING_VALUE, problems)]
        self.problems = tuple(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.source}: " if self.source else ""
        lines = [
            str(p) if p.value is not _MISSING_VALUE else f"{p.path or '<root>'}: {p.reason}"
            for p in self.problems
        ]
        if len(lines) == 1:
            return head + lines[0]
        return head + f"{len(lines)} problems:\n  " + "\n  ".join(lines)

    @classmethod
    def single(cls, path: str, value: object, reason: str) -> ValidationError:
        """One problem at ``path``."""
        return cls([Problem(path, value, reason)])

    @property
    def paths(self) -> Sequence[str]:
        """The paths of all problems, in order."""
        return [p.path for p in self.problems]


class NotFoundError(ReqfulfillError, LookupError):
    """Something named by id does not exist (a request, an order ref, a task)."""

    def __init__(self, kind: str, key: str, message: str | None = None) -> None:
        self.kind = kind
        self.key = key
        super().__init__(message or f"{kind} {key!r} not found")


class AuthorizationError(ReqfulfillError, PermissionError):
    """The actor is not allowed to run this command on this request."""

    def __init__(
        self, actor: str | None, command: str, request_id: str | None, reason: str
    ) -> None:
        self.actor = actor
        self.command = command
        self.request_id = request_id
        self.reason = reason
        super().__init__(f"{actor!r} may not {command} request {request_id!r}: {reason}")


class TransitionError(ReqfulfillError):
    """The command is not valid in the request's current state.

    Carries ``request_id``, ``state`` (a :class:`RequestState` or None for a
    request that does not exist yet) and ``command`` (the command's name).
    """

    def __init__(
        self, request_id: str | None, state: object, command: str, reason: str = ""
    ) -> None:
        self.request_id = request_id
        self.state = state
        self.command = command
        self.reason = reason
        state_name = getattr(state, "value", state)
        detail = f": {reason}" if reason else ""
        super().__init__(f"cannot {command} request {request_id!r} in state {state_name!r}{detail}")


class ConcurrencyError(ReqfulfillError):
    """An append named a stale expected version: someone else wrote first."""

    def __init__(self, request_id: str, expected: int, actual: int | None = None) -> None:
        self.request_id = request_id
        self.expected = expected
        self.actual = actual
        found = "" if actual is None else f", found {actual}"
        super().__init__(f"request {request_id!r}: expected version {expected}{found}")


class SupplierError(ReqfulfillError):
    """A supplier connector failed. ``retryable`` says whether to try again."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        self.message = message
        self.retryable = retryable
        super().__init__(message)


class AutomationError(ReqfulfillError):
    """An automation runner failed. ``retryable`` says whether to try again."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        self.message = message
        self.retryable = retryable
        super().__init__(message)
