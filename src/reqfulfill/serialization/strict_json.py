"""Strict JSON input: what configuration files and command-line input may hold.

:func:`parse_json` reads JSON text the way :func:`~reqfulfill.serialization.config.
load_data_file` and the command line do. Beyond ``json.loads`` it refuses, each as a
:class:`~reqfulfill.model.errors.ValidationError` naming the source, the line and, for a
repeated key, the path of the table:

* a key repeated in one object (a duplicate key) (``json.loads`` would keep the last value silently;
  TOML refuses it too);
* ``NaN``, ``Infinity`` and ``-Infinity`` (they are not JSON) and numbers too large
  for a float (``1e400`` would become infinity);
* integers of more than :data:`MAX_INT_DIGITS` digits (Python refuses to convert
  them; the error now says where);
* documents nested so deeply that the parser runs out of stack.

Lists and tables nested deeper than the configuration limit
(:data:`~reqfulfill.model.errors.MAX_NESTING`) parse; the loaders refuse them with
their path.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from reqfulfill.model.errors import Problem, ValidationError, short_repr

__all__ = ["MAX_INT_DIGITS", "parse_json", "too_many_digits"]

MAX_INT_DIGITS: Final = 4300
"""The most digits an integer in JSON input may have: Python's default limit on
converting text to ``int`` (TOML files are held to the interpreter's limit, which is
this one unless changed)."""

_STRING: Final = r'"(?:[^"\\]|\\.)*"'


class _Refused(Exception):
    """A value the parser met that strict JSON refuses (raised from its hooks)."""

    def __init__(self, pattern: str, token: str, reason: str) -> None:
        super().__init__(reason)
        self.pattern = pattern
        self.token = token
        self.reason = reason


def _refuse_constant(token: str) -> Any:
    raise _Refused(re.escape(token), token, f"{token} is not JSON: numbers must be finite")


def _bounded_int(token: str) -> int:
    if len(token.lstrip("-")) > MAX_INT_DIGITS:
        pattern = r"(?<![0-9.])" + re.escape(token) + r"(?![0-9.eE])"
        digits = f"<integer of {len(token.lstrip('-'))} digits>"
        raise _Refused(pattern, digits, f"integers may have at most {MAX_INT_DIGITS} digits")
    return int(token)


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        pattern = r"(?<![0-9.eE+-])" + re.escape(token) + r"(?![0-9.eE])"
        raise _Refused(pattern, token, "number too large: numbers must be finite")
    return value


class _Tables:
    """The ``object_pairs_hook``: builds each table, remembering the first repeated key."""

    def __init__(self) -> None:
        self.repeated: tuple[dict[str, Any], str] | None = None

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for key, value in pairs:
            if key in table and self.repeated is None:
                self.repeated = (table, key)
            table[key] = value
        return table


def parse_json(text: str, *, source: str, first_line: int = 1) -> Any:
    """The JSON value in ``text``, or ``ValidationError`` saying what is wrong and where.

    ``source`` names the input in messages (a file name); ``first_line`` is the line
    number of the text's first line (for one line of a JSONL file).

    >>> parse_json('{"a": [1, 2.5, null]}', source="x.json")
    {'a': [1, 2.5, None]}
    >>> parse_json('{"a": 1,\\n "a": 2}', source="x.json")
    Traceback (most recent call last):
    ...
    reqfulfill.model.errors.ValidationError: x.json: a: duplicate key 'a' (got 'a')
    """
    tables = _Tables()
    try:
        data = json.loads(
            text,
            object_pairs_hook=tables,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except _Refused as exc:
        line = _line_of(text, exc.pattern, first_line)
        raise ValidationError.single(f"{source}:{line}", exc.token, exc.reason) from None
    except json.JSONDecodeError as exc:
        snippet = exc.doc[exc.pos : exc.pos + 20]
        where = f"{source}:{first_line + exc.lineno - 1}"
        raise ValidationError.single(where, snippet, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ValidationError.single(source, "<deeply nested>", "input nested too deeply") from None
    if tables.repeated is not None:
        table, key = tables.repeated
        path = _path_to(data, table)
        # one line (of a JSONL file): its number says where; otherwise the path does
        where = source if "\n" in text.strip() else f"{source}:{first_line}"
        raise ValidationError(
            [Problem(f"{path}.{key}" if path else key, key, f"duplicate key {key!r}")],
            source=where,
        )
    return data


def too_many_digits(text: str, source: str, first_line: int, exc: ValueError) -> ValidationError:
    """The error for an integer over :data:`MAX_INT_DIGITS` digits in ``text`` (JSON or
    TOML), at the line of the first such integer."""
    pattern = rf"(?<![0-9_.])[-+]?[0-9][0-9_]{{{MAX_INT_DIGITS},}}(?![0-9_.eE])"
    found = _search_outside_strings(text, pattern)
    line = first_line + text.count("\n", 0, found.start()) if found else first_line
    digits = sum(c.isdigit() for c in found.group()) if found else None
    value = f"<integer of {digits} digits>" if digits else short_repr(str(exc))
    return ValidationError.single(
        f"{source}:{line}", value, f"integers may have at most {MAX_INT_DIGITS} digits"
    )


def _search_outside_strings(text: str, pattern: str) -> re.Match[str] | None:
    """The first match of ``pattern`` in ``text`` that is not inside a JSON string."""
    for match in re.finditer(f"{_STRING}|({pattern})", text):
        if match.group(1) is not None:
            return match
    return None


def _line_of(text: str, pattern: str, first_line: int) -> int:
    found = _search_outside_strings(text, pattern)
    return first_line + (text.count("\n", 0, found.start(1)) if found else 0)


def _path_to(data: Any, target: object) -> str:
    """The path (``plans[0].tasks[2]``) from ``data`` to the table ``target`` (by identity);
    ``""`` for ``data`` itself. Iterative, so any depth is fine."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        current, where = stack.pop()
        if current is target:
            return where
        if isinstance(current, dict):
            stack.extend(
                (value, f"{where}.{key}" if where else str(key)) for key, value in current.items()
            )
        elif isinstance(current, list):
            stack.extend((value, f"{where}[{i}]") for i, value in enumerate(current))
    return "<unknown>"
