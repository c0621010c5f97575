"""What a command may carry: values of the types its fields declare, in forms every store
holds.

A command is accepted only when everything it could put into an event can be written by
the event codec, read back equal, and held by every store. Its fields are checked before
anything is decided, by rules built once per class from the declared field types:

* the value fits the field's type exactly as the event codec writes it -- the codec's
  own encoder for that type checks it (:func:`~reqfulfill.serialization._event_codec.field_codec`):
  a string field takes a string, an integer field an integer and not a boolean, an enum
  field one of its members, a ``Requester`` field a ``Requester``;
* strings hold no NUL character and no surrogate code point (PostgreSQL's ``text`` refuses
  NUL, and neither SQLite nor PostgreSQL can store a surrogate, which is not text), and are
  at most :data:`MAX_ID_LENGTH` characters long -- :data:`MAX_TEXT_LENGTH` for fields
  declared :data:`Text` (reasons, comments); a field declared :data:`Id` must not be empty;
* integers fit in a signed 64-bit integer (SQLite's ``INTEGER``);
* free-form tables (answers, automation results) are JSON data: string keys, text,
  finite numbers, booleans, null, lists and tables, nested at most
  ``MAX_NESTING - 1`` levels (an event's fields sit one level below the event).

>>> from reqfulfill.model.catalog import Requester
>>> erin = Requester(id="erin\\x00", name="Erin", department="", location="")
>>> [p.path + ": " + p.reason for p in argument_problems(erin)]
['id: contains a NUL character']
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import Enum
from types import NoneType
from typing import Annotated, Any, Final, TypeVar, get_args, get_origin, get_type_hints

import attrs

from reqfulfill.model.errors import MAX_NESTING, Problem, ValidationError, nesting_problem
from reqfulfill.serialization._event_codec import FieldCodec, Invalid, field_codec

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_INTEGER",
    "MAX_TEXT_LENGTH",
    "MIN_INTEGER",
    "Id",
    "Length",
    "Text",
    "argument_problems",
    "check_arguments",
    "check_count",
    "check_duration",
    "check_enum",
    "check_id",
    "check_instance",
    "check_time",
    "storable_text",
    "string_problem",
]

MAX_ID_LENGTH: Final = 255
"""The longest a string argument may be unless its field says otherwise: ids, names,
keys. 255 characters are at most 1,020 bytes of UTF-8, so two of them fit in one
PostgreSQL index entry (at most 2,704 bytes)."""

MAX_TEXT_LENGTH: Final = 1_000_000
"""The longest free text (a field declared :data:`Text`: reasons, comments) may be."""

MIN_INTEGER: Final = -(2**63)
MAX_INTEGER: Final = 2**63 - 1
"""The integers every store holds (SQLite's ``INTEGER`` is a signed 64-bit integer)."""

_TABLE_NESTING: Final = MAX_NESTING - 1
"""How deep a free-form table in an event field may nest: the codec reads an event's
fields one level below the event itself."""


@attrs.frozen
class Length:
    """How many characters a string field may have (the metadata of :data:`Id` and
    :data:`Text`; a plain ``str`` field is ``Length(0, MAX_ID_LENGTH)``)."""

    min_length: int
    max_length: int


_PLAIN: Final = Length(0, MAX_ID_LENGTH)
_TEXT: Final = Length(0, MAX_TEXT_LENGTH)
_ID: Final = Length(1, MAX_ID_LENGTH)

Id = Annotated[str, _ID]
"""A string field naming something: not empty, at most :data:`MAX_ID_LENGTH` characters."""

Text = Annotated[str, _TEXT]
"""A free-text field: at most :data:`MAX_TEXT_LENGTH` characters."""

_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")

Check = Callable[[Any, str], list[Problem]]
"""``check(value, path)``: the problems of a value found at ``path`` (none: ``[]``)."""


def _no_problems(value: Any, path: str) -> list[Problem]:
    return []


def string_problem(value: object, path: str, length: Length = _PLAIN) -> Problem | None:
    """What keeps ``value`` from being a string argument of ``length`` that every store
    holds, if anything: not a string, too short or too long, a NUL character or a
    surrogate code point.

    >>> string_problem("REQ-1", "request_id") is None
    True
    >>> string_problem("", "request_id", Length(1, 9)).reason
    'must not be empty'
    """
    if not isinstance(value, str):
        return Problem(path, value, f"expected a string, got {type(value).__name__}")
    if len(value) < length.min_length:
        return Problem(path, value, "must not be empty")
    if len(value) > length.max_length:
        return Problem(path, value, f"longer than {length.max_length:,} characters")
    if value.isascii():
        if "\x00" in value:
            return Problem(path, value, "contains a NUL character")
        return None
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return Problem(path, value, "contains a NUL character")
    return Problem(path, value, f"contains a surrogate code point (U+{ord(found.group()):04X})")


def storable_text(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """``text`` as free text every store holds: each NUL character and surrogate replaced
    by U+FFFD, cut to ``limit`` characters. For text made from what the outside world said
    (an exception's message), which must be recorded rather than refused.

    >>> storable_text("bad\\x00byte \\udc80", limit=8) == "bad\\ufffdbyte"
    True
    """
    if not text.isascii() or "\x00" in text:
        text = _UNSTORABLE.sub("\ufffd", text)
    return text[:limit]


def _string_limits(length: Length) -> Check:
    def check(value: Any, path: str) -> list[Problem]:
        found = string_problem(value, path, length)
        return [] if found is None else [found]

    return check


def _integer_limits(value: Any, path: str) -> list[Problem]:
    if MIN_INTEGER <= value <= MAX_INTEGER:
        return []
    return [Problem(path, value, "out of range (a signed 64-bit integer)")]


def _json_problems(value: Any, path: str) -> list[Problem]:
    """Free-form JSON data: the first problem found (nesting was checked first)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if current is None or isinstance(current, bool):
            continue
        if isinstance(current, str):
            found = string_problem(current, where, _TEXT)
        elif isinstance(current, int):
            found = next(iter(_integer_limits(current, where)), None)
        elif isinstance(current, float):
            found = None if math.isfinite(current) else Problem(where, current, "not finite")
        elif isinstance(current, Mapping):
            for key, inner in current.items():
                found = string_problem(key, where, _TEXT)
                if found is not None:
                    return [Problem(where, key, f"bad table key: {found.reason}")]
                stack.append((inner, f"{where}.{key}"))
            continue
        elif isinstance(current, list | tuple):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(current))
            continue
        else:
            reason = f"not JSON data ({type(current).__name__})"
            found = Problem(where, current, reason)
        if found is not None:
            return [found]
    return []


def _optional_of(t: Any) -> Any:
    """``X`` for ``X | None``, else None."""
    args = get_args(t)
    if len(args) == 2 and NoneType in args:
        return args[0] if args[1] is NoneType else args[1]
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _limits(t: Any, length: Length) -> Check:
    """The store's limits on a value of type ``t`` (one already known to fit ``t``)."""
    if t is str:
        return _string_limits(length)
    if t is int:
        return _integer_limits
    inner = _optional_of(t)
    if inner is not None:
        inner_check = _limits(inner, length)
        return lambda value, path: [] if value is None else inner_check(value, path)
    args = get_args(t)
    if get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis:
        element = _limits(args[0], length)
        return lambda value, path: [
            found for i, inner in enumerate(value) for found in element(inner, f"{path}[{i}]")
        ]
    if get_origin(t) in (Mapping, dict):
        return _json_problems
    if isinstance(t, type) and attrs.has(t):
        fields = [(name, _limits(ft, fl)) for name, ft, fl in _declared(t)]
        return lambda value, path: [
            found
            for name, check in fields
            for found in check(getattr(value, name), _join(path, name))
        ]
    return _no_problems


def _declared(cls: type[Any]) -> list[tuple[str, Any, Length]]:
    """Each field of an attrs class: its name, its type without ``Annotated`` metadata, and
    the length that metadata gives (``Length(0, MAX_ID_LENGTH)`` when none does)."""
    hints = get_type_hints(cls, include_extras=True)
    return [
        (field.name, *_unannotated(hints.get(field.name, field.type)))
        for field in attrs.fields(cls)
    ]


def _unannotated(t: Any) -> tuple[Any, Length]:
    """``t`` without its ``Annotated`` metadata (outside, or inside ``X | None``), and the
    :class:`Length` found there."""
    if get_origin(t) is Annotated:
        base, *extras = get_args(t)
        return base, next((e for e in extras if isinstance(e, Length)), _PLAIN)
    inner = _optional_of(t)
    if inner is not None and get_origin(inner) is Annotated:
        base, length = _unannotated(inner)
        return base | None, length
    return t, _PLAIN


def _is_table(t: Any) -> bool:
    return get_origin(_optional_of(t) or t) in (Mapping, dict)


def _type_reason(codec: FieldCodec, value: object, error: Exception) -> str:
    if str in codec.kept and isinstance(error, TypeError):
        return f"expected a string, got {type(value).__name__}"  # the decoder's words
    return str(error) or type(error).__name__


_FINE: Final[list[Problem]] = []
"""What a check returns for a value without problems (shared: never changed)."""


def _field_check(t: Any, length: Length, where: str) -> Check:
    """The check of one field declared as ``t``: the event codec's encoder for ``t``
    (the value fits the type as events are written), then the store's limits.

    A value of one of the exact types the codec keeps as they are (a string, an integer,
    a boolean, None) is checked at once, without calling the encoder."""
    codec = field_codec(t, where)
    check = _full_check(codec, _limits(t, length), _is_table(t))
    kept = codec.kept
    low, high = length.min_length, length.max_length
    if str in kept:
        none_ok = NoneType in kept

        def check_string(value: Any, path: str) -> list[Problem]:
            if type(value) is str:
                if low <= len(value) <= high and value.isascii() and "\x00" not in value:
                    return _FINE
            elif value is None and none_ok:
                return _FINE
            return check(value, path)

        return check_string
    if kept == {int}:
        return lambda value, path: (
            _FINE
            if type(value) is int and MIN_INTEGER <= value <= MAX_INTEGER
            else check(value, path)
        )
    if kept == {bool}:
        return lambda value, path: _FINE if type(value) is bool else check(value, path)
    if isinstance(t, type) and attrs.has(t):
        # what the codec's encoder checks of an object: its class, then each field
        return lambda value, path: (
            argument_problems(value, path) if type(value) is t else check(value, path)
        )
    return check


def _full_check(codec: FieldCodec, limits: Check, table: bool) -> Check:
    """The codec's encoder, then ``limits``. A free-form table is walked first (its
    nesting, then its contents), before the encoder: the walk names the bad value's path
    and keeps the encoder from data it would write in another form (a set as a list)."""

    def check(value: Any, path: str) -> list[Problem]:
        if table and isinstance(value, Mapping):
            deep = nesting_problem(value, path, _TABLE_NESTING)
            if deep is not None:
                return [deep]
            found = limits(value, path)
            if found:
                return found
        try:
            codec.encode(value)
        except Invalid as invalid:
            return [Problem(path + step, found, reason) for step, found, reason in invalid.problems]
        except (TypeError, ValueError) as error:
            return [Problem(path, value, _type_reason(codec, value, error))]
        return _FINE if table else limits(value, path)

    return check


_checks: dict[type[Any], tuple[tuple[str, Check], ...]] = {}
_lock = threading.Lock()


def _class_checks(cls: type[Any]) -> tuple[tuple[str, Check], ...]:
    """Per field of an attrs class, its name and its check: built at the class's first use."""
    try:
        return _checks[cls]
    except KeyError:
        pass
    if not attrs.has(cls):
        raise TypeError(f"{cls.__name__} is not an attrs class")
    built = tuple(
        (name, _field_check(t, length, f"{cls.__name__}.{name}"))
        for name, t, length in _declared(cls)
    )
    with _lock:
        return _checks.setdefault(cls, built)


def argument_problems(obj: object, path: str = "") -> list[Problem]:
    """Every field of the attrs instance ``obj`` (a command) whose value does not fit its
    declared type as the event codec writes it, or that a store cannot hold; each problem's
    path is the field's name (under ``path``), or where inside it the problem is.
    """
    problems: list[Problem] = []
    checks = _checks.get(type(obj))  # built at the class's first use
    for name, check in checks if checks is not None else _class_checks(type(obj)):
        found = check(getattr(obj, name), _join(path, name) if path else name)
        if found:
            problems += found
    return problems


def check_arguments(obj: object) -> None:
    """:func:`argument_problems`, raised as a ``ValidationError`` listing every problem."""
    problems = argument_problems(obj)
    if problems:
        raise ValidationError(problems)


# -- single arguments of the service's and the worker's methods ---------------------------

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


def check_id(value: object, path: str) -> str:
    """``value`` if it is an id (a request id, a group, an agent): a non-empty string of at
    most :data:`MAX_ID_LENGTH` characters without NUL or surrogates; else a
    ``ValidationError`` naming ``path``.

    >>> check_id(["REQ-1"], "request_id")
    Traceback (most recent call last):
    ...
    reqfulfill.model.errors.ValidationError: request_id: expected a string, got list (got ['REQ-1'])
    """
    if (
        type(value) is str
        and 0 < len(value) <= MAX_ID_LENGTH
        and value.isascii()
        and "\x00" not in value
    ):
        return value
    found = string_problem(value, path, _ID)
    if found is not None:
        raise ValidationError([found])
    assert isinstance(value, str)
    return value


def check_instance(value: object, kind: type[T], path: str, what: str) -> T:
    """``value`` if it is a ``kind``; else a ``ValidationError`` naming ``path`` that says
    ``expected`` ``what``."""
    if not isinstance(value, kind):
        raise ValidationError.single(path, value, f"expected {what}, got {type(value).__name__}")
    return value


def check_count(value: object, path: str, minimum: int = 0) -> int:
    """``value`` if it is an integer (not a boolean) from ``minimum`` to
    :data:`MAX_INTEGER`; else a ``ValidationError`` naming ``path``."""
    if isinstance(value, bool) or not isinstance(value, int):
        kind = type(value).__name__
        raise ValidationError.single(path, value, f"expected an integer, got {kind}")
    if not minimum <= value <= MAX_INTEGER:
        raise ValidationError.single(path, value, f"expected an integer of at least {minimum}")
    return value


def check_duration(value: object, path: str, *, zero: bool = False) -> timedelta:
    """``value`` if it is a positive ``timedelta`` (or zero, with ``zero``); else a
    ``ValidationError`` naming ``path``."""
    duration = check_instance(value, timedelta, path, "a duration (timedelta)")
    if duration < timedelta(0) or (duration == timedelta(0) and not zero):
        least = "zero or more" if zero else "more than zero"
        raise ValidationError.single(path, value, f"expected a duration of {least}")
    return duration


def check_time(value: object, path: str) -> datetime:
    """``value`` if it is an aware ``datetime``; else a ``ValidationError`` naming ``path``."""
    at = check_instance(value, datetime, path, "a date-time")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError.single(path, value, "a date-time needs a time zone")
    return at


def check_enum(kind: type[E], value: object, path: str) -> E | None:
    """``value`` as a member of the enum ``kind`` (a member, or its value); None stays
    None; anything else is a ``ValidationError`` naming ``path`` and the allowed values."""
    if value is None or isinstance(value, kind):
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ValidationError.single(path, value, f"expected one of {allowed}") from None
