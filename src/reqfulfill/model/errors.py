"""The errors reqfulfill raises: one base class, one subclass per kind of refusal.

Every refusal of a command is one of these, and a refused command writes
nothing. Each error carries structured fields so callers can act on it
without parsing the message.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "AuthorizationError",
    "AutomationError",
    "ConcurrencyError",
    "InventoryError",
    "NotFoundError",
    "PluginError",
    "Problem",
    "ReqfulfillError",
    "StoreError",
    "SupplierError",
    "TransitionError",
    "ValidationError",
    "mask_password",
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


class PluginError(ReqfulfillError):
    """A plugin failed to load (its import, or its class's constructor, raised) or
    raised while answering a hook.

    ``plugin`` is its name (the entry point's name, or the name it was registered
    under), ``distribution`` the installed distribution that provides it
    (``"reqfulfill-acme 1.2"``; ``None`` for a plugin registered in code), ``hook`` the
    hook it was answering (``None``: it failed to load), ``reason`` the exception in
    one line; the exception itself is the ``__cause__``. ``retryable``: a failure
    while answering may not recur (a timeout), a failure to load recurs until the
    plugin is fixed or uninstalled.

    >>> err = PluginError("dynamo", "reqfulfill-dynamo 1.0", "ImportError: no boto3")
    >>> str(err)
    "plugin 'dynamo' (from reqfulfill-dynamo 1.0) failed to load: ImportError: no boto3"
    >>> err.retryable
    False
    """

    def __init__(
        self, plugin: str, distribution: str | None, reason: str, *, hook: str | None = None
    ) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.hook = hook
        self.reason = reason
        self.retryable = hook is not None
        origin = f" (from {distribution})" if distribution else ""
        what = "failed to load" if hook is None else f"raised in {hook}"
        super().__init__(f"plugin {plugin!r}{origin} {what}: {reason}")


class InventoryError(ReqfulfillError):
    """An inventory plugin failed or answered wrongly (a malformed reservation, a
    non-positive quantity, an unknown item). ``plugin`` names the plugin (its name in
    the plugin manager); ``retryable`` says whether to try again.

    >>> str(InventoryError("unknown item 'x'", plugin="stockroom", retryable=False))
    "inventory plugin 'stockroom': unknown item 'x'"
    """

    def __init__(self, message: str, plugin: str | None = None, retryable: bool = True) -> None:
        self.message = message
        self.plugin = plugin
        self.retryable = retryable
        where = f"inventory plugin {plugin!r}: " if plugin is not None else ""
        super().__init__(where + message)

    def named(self, plugin: str) -> InventoryError:
        """This error with ``plugin`` named (a plugin's own error names none)."""
        if self.plugin == plugin:
            return self
        return InventoryError(self.message, plugin=plugin, retryable=self.retryable)


class StoreError(ReqfulfillError, OSError):
    """The store failed: it cannot be reached or opened, refuses the write, or what it
    holds cannot be read (a corrupt file, a stored event that does not decode).

    ``url`` names the store (any password masked), ``operation`` what failed (a store
    method such as ``load`` or ``append``, or ``open``, ``connect``, ``upgrade``),
    ``reason`` why; for stored data that cannot be read, ``request_id`` and
    ``position`` (the event's version in its stream) say where. The driver's
    exception, if any, is the ``__cause__``. A :class:`ConcurrencyError` is never a
    store error: it means "decide again", this one "the store is not working".

    >>> err = StoreError("postgresql://rf:s3cret@db/itsm", "connect", "connection refused")
    >>> err.url, "s3cret" in str(err), isinstance(err, OSError)
    ('postgresql://rf:***@db/itsm', False, True)
    """

    def __init__(
        self,
        url: str,
        operation: str,
        reason: str,
        *,
        request_id: str | None = None,
        position: int | None = None,
    ) -> None:
        for secret in _passwords_of(url):
            reason = reason.replace(secret, "***")
        self.url = mask_password(url)
        self.operation = operation
        self.reason = reason
        self.request_id = request_id
        self.position = position
        where = "" if request_id is None else f" request {request_id!r}"
        where += "" if position is None else f" event {position}"
        super().__init__(f"{self.url}: {operation}{where}: {self.reason}")


_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^/?#@:]*:)([^/?#@]*)(@)", re.IGNORECASE)
_PARAM_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&;]*)", re.IGNORECASE)


def _passwords_of(url: str) -> list[str]:
    """The passwords a store URL or libpq connection string carries (user part and
    ``password=`` parameters)."""
    found = _URL_PASSWORD.match(url)
    secrets = [found.group(2)] if found else []
    secrets += [m.group(2) for m in _PARAM_PASSWORD.finditer(url)]
    return [secret for secret in secrets if secret]


def mask_password(url: str) -> str:
    """``url`` (a store URL or a libpq connection string) with the password of its user
    part and of any ``password=`` parameter replaced by ``***``.

    >>> mask_password("postgresql://rf:s3cret@db/itsm?sslmode=require")
    'postgresql://rf:***@db/itsm?sslmode=require'
    >>> mask_password("host=db password=s3cret")
    'host=db password=***'
    """
    masked = _URL_PASSWORD.sub(r"\1***\3", url)
    return _PARAM_PASSWORD.sub(lambda m: m.group(1) + "***", masked)
