"""``regex`` conditions on RE2: a search costs time linear in the fact, by construction.

RE2 (the ``google-re2`` package) matches with automata, never by
backtracking: it reads the fact once, and each byte costs at most one step
per instruction of the compiled pattern (its lazy DFA usually makes that one
step in all). No pattern can make a decision exponential, or even quadratic,
in the fact. What is bounded, and how:

* the pattern's text: at most :data:`MAX_REGEX_LENGTH` characters;
* what it compiles to: RE2 compiles within :data:`MAX_REGEX_MEMORY` bytes
  (its ``max_mem``), which holds a program of about 5,000 instructions; a
  pattern that needs more (``a{0,999}a{0,999}a{0,999}b``, ``\\w{0,999}``) is
  refused when it is loaded, with RE2's ``pattern too large - compile failed``;
* the fact: matched whole, however long -- the time grows with its length and
  nothing else.

This module is the only one that talks to ``re2`` (which ships no type
information): everything it hands out is typed.
"""

from __future__ import annotations

from typing import Any, Final, final

import re2

__all__ = ["MAX_REGEX_LENGTH", "MAX_REGEX_MEMORY", "Regex", "compile_regex", "regex_problem"]

MAX_REGEX_LENGTH: Final = 256
"""The longest regex (in characters) a condition may hold."""

MAX_REGEX_MEMORY: Final = 64 * 1024
"""RE2's memory budget (``max_mem``, bytes) for one compiled regex.

Two thirds hold the compiled program -- about 5,000 instructions, which bounds
the cost of a search per byte of the fact -- and the rest RE2's DFA cache.
"""


def _options() -> Any:
    options = re2.Options()
    options.max_mem = MAX_REGEX_MEMORY
    options.log_errors = False  # a refused pattern is reported as a Problem, not on stderr
    options.never_capture = True  # a condition asks "is there a match?": no groups to track
    return options


_OPTIONS: Final = _options()


def _utf8(text: str) -> bytes:
    # "surrogatepass": a lone surrogate (valid JSON, "\ud800") becomes bytes RE2
    # reads as one unknown character instead of failing the whole decision
    return text.encode("utf-8", "surrogatepass")


@final
class Regex:
    """A ``regex`` operand compiled by RE2; :meth:`search` is Python's
    ``re.search(pattern, text) is not None`` in RE2's syntax.

    >>> ticket = compile_regex("^INC[0-9]{6}$")
    >>> isinstance(ticket, Regex) and ticket.search("INC000123")
    True
    """

    __slots__ = ("_compiled", "pattern")

    pattern: str
    _compiled: Any

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def search(self, text: str) -> bool:
        """True when the pattern matches anywhere in ``text`` (the whole of it)."""
        return self._compiled.search(_utf8(text)) is not None

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def compile_regex(pattern: str) -> Regex | str:
    """``pattern`` compiled by RE2, or why it is refused (RE2's own message).

    >>> compile_regex("(?i)outage|down")
    Regex('(?i)outage|down')
    >>> compile_regex("(a)\\\\1")
    'invalid escape sequence: \\\\1'
    """
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"a regex may be at most {MAX_REGEX_LENGTH} characters, got {len(pattern)}"
    try:
        compiled = re2.compile(_utf8(pattern), _OPTIONS)
    except re2.error as exc:
        message = exc.args[0] if exc.args else exc
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        reason = str(message)
        if "too large" in reason:
            reason += (
                f" (its compiled program exceeds RE2's {MAX_REGEX_MEMORY // 1024} KiB budget, "
                "reqfulfill.rules.MAX_REGEX_MEMORY: use fewer or smaller counted repetitions)"
            )
        return reason
    return Regex(pattern, compiled)


def regex_problem(pattern: str) -> str | None:
    """Why a regex is not allowed in a condition, or None when it is.

    The reason is RE2's own message: RE2 has no backreferences, lookarounds,
    atomic groups, possessive quantifiers, conditionals or ``(?x)``, and a
    pattern whose compiled program exceeds :data:`MAX_REGEX_MEMORY` is "too
    large". Every pattern RE2 accepts searches in time linear in the fact.

    >>> regex_problem("(a+)+$") is None
    True
    >>> regex_problem("(?=a)")
    'invalid perl operator: (?='
    """
    found = compile_regex(pattern)
    return found if isinstance(found, str) else None
