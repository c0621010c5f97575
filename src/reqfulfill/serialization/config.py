"""The one cattrs converter: configuration data forms, and reading them from files.

Structuring is strict: no silent coercion (``5`` is not a string, ``"abc"``
is not a list), unknown keys are errors, and every problem is reported at
once as a :class:`~reqfulfill.model.errors.ValidationError` whose problems
carry the path and the offending value.

:func:`load_data_file` is the one place configuration files are read (catalogs,
rules, calendars and SLA policies all load through it). The strict primitive
hooks (:data:`STRICT_HOOKS`, :func:`structure_enum`, :func:`structure_table`)
are public so the event codec checks values with the very same functions.
"""

from __future__ import annotations

import enum
import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from reqfulfill.model.errors import Problem, ValidationError, nesting_problem, short_repr
from reqfulfill.serialization.strict_json import parse_json, too_many_digits

__all__ = [
    "DURATION_PATTERN",
    "STRICT_HOOKS",
    "converter",
    "expect_list",
    "expect_table",
    "format_duration",
    "load_data_file",
    "parse_duration",
    "structure_config",
    "structure_enum",
    "structure_table",
    "unstructure_config",
]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
"""The project's converter. Use :func:`structure_config` to get our errors."""

# -- durations -----------------------------------------------------------------

DURATION_PATTERN: Final = (
    r"(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?"
    r"(?:(?P<s>[0-9]+)(?:\.(?P<us>[0-9]{1,6}))?s)?"
)
"""The form of a duration (:func:`parse_duration`; at least one unit, not empty)."""
_DURATION = re.compile(DURATION_PATTERN, re.ASCII)
_US_PER: Final = {"d": 86_400_000_000, "h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000}
_MAX_DURATION_US: Final = timedelta.max // timedelta(microseconds=1)
_MAX_DURATION_DIGITS: Final = 18
"""Digits a number of a duration may have: ``timedelta.max`` is under 10**17 microseconds,
so a longer number is too long whatever its unit (and ``int`` never sees thousands of digits)."""


def parse_duration(text: str) -> timedelta:
    """Parse ``"4h"``, ``"30m"``, ``"1h30m"``, ``"2d"``, ``"45s"``, ``"1.5s"``, ``"0s"``.

    Units in this order, each at most once: ``d`` (24 hours), ``h``, ``m``, ``s``
    (with up to six decimals). Digits are ASCII ``0``-``9`` only. The result is exact
    and at most ``timedelta.max``; anything else is a ``ValueError`` naming the text.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if not isinstance(text, str):
        raise TypeError(f"a duration is a string like '4h' or '1h30m', not {type(text).__name__}")
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groupdict().values()):
        raise ValueError(
            f"invalid duration {short_repr(text)}: use forms like '4h', '30m', '1h30m', '2d'"
        )
    parts = match.groupdict()
    total = _MAX_DURATION_US + 1
    if all(len(v) <= _MAX_DURATION_DIGITS for v in parts.values() if v):
        total = sum(int(parts[unit]) * per for unit, per in _US_PER.items() if parts[unit])
        total += int(parts["us"].ljust(6, "0")) if parts["us"] else 0
    if total > _MAX_DURATION_US:
        raise ValueError(
            f"duration {short_repr(text)} is longer than the largest duration "
            f"({format_duration(timedelta.max)})"
        )
    return timedelta(microseconds=total)


def format_duration(value: timedelta) -> str:
    """The data form of a duration; ``parse_duration(format_duration(d)) == d``.

    >>> format_duration(timedelta(hours=1, minutes=30))
    '1h30m'
    """
    if value < timedelta(0):
        raise ValueError(f"negative duration {value!r}")
    total_us = value // timedelta(microseconds=1)
    days, rest = divmod(total_us, 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    out = ""
    if days:
        out += f"{days}d"
    if hours:
        out += f"{hours}h"
    if minutes:
        out += f"{minutes}m"
    if seconds or micros:
        out += f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "s"
    return out or "0s"


# -- strict primitive hooks ---------------------------------------------------------


def _type_name(value: object) -> str:
    return type(value).__name__


def expect_table(value: object) -> None:
    """Raise ``TypeError`` unless ``value`` is a table (a mapping)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a table, got {_type_name(value)}")


def expect_list(value: object) -> None:
    """Raise ``TypeError`` unless ``value`` is a list (a sequence other than text)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise TypeError(f"expected a list, got {_type_name(value)}")


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_type_name(value)}")
    return value


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {_type_name(value)}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_type_name(value)}")
    return float(value)


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {_type_name(value)}")
    return value


def structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    """The member of ``cls`` with this value (a member passes as it is)."""
    if isinstance(value, cls):
        return value
    if issubclass(cls, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {_type_name(value)}")
    elif not isinstance(value, str):
        raise TypeError(f"expected a string, got {_type_name(value)}")
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"unknown {cls.__name__} {value!r}; expected one of {allowed}") from None


def _structure_timedelta(value: Any, _: type) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


def _ascii(text: str, what: str) -> str:
    """``text`` if it is ASCII: dates and times are written with the digits 0-9 only."""
    if not text.isascii():
        raise ValueError(f"expected {what} written with ASCII digits")
    return text


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(_ascii(value, "an ISO 8601 date-time"))
    else:
        raise TypeError(f"expected an ISO 8601 date-time, got {_type_name(value)}")
    if parsed.tzinfo is None:
        raise ValueError("a date-time needs a time zone offset")
    return parsed


def _structure_date(value: Any, _: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return date.fromisoformat(_ascii(value, "a date (YYYY-MM-DD)"))
    raise TypeError(f"expected a date (YYYY-MM-DD), got {_type_name(value)}")


def _structure_any(value: Any, _: type) -> Any:
    return value


STRICT_HOOKS: Final[Mapping[type, Callable[[Any, type], Any]]] = {
    str: _strict_str,
    int: _strict_int,
    float: _strict_float,
    bool: _strict_bool,
    datetime: _structure_datetime,
    date: _structure_date,
    timedelta: _structure_timedelta,
}
"""How each primitive type structures: ``hook(value, type)`` gives the value or raises
``TypeError``/``ValueError`` with the reason."""


def _is_tuple_of(t: Any) -> bool:
    origin = getattr(t, "__origin__", None)
    return origin in (tuple, Sequence, list)


def _structure_sequence(value: Any, t: Any) -> Any:
    expect_list(value)
    args = getattr(t, "__args__", ())
    inner = args[0] if args else Any
    out: list[Any] = []
    errors: list[Exception] = []
    for index, element in enumerate(value):
        try:
            out.append(converter.structure(element, inner))
        except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
            exc.__notes__ = [
                *getattr(exc, "__notes__", []),
                IterableValidationNote(f"Structuring {t!r} @ index {index}", index, inner),
            ]
            errors.append(exc)
    if errors:
        raise IterableValidationError(f"While structuring {t!r}", errors, t)
    return tuple(out) if getattr(t, "__origin__", None) is tuple else out


def structure_table(value: Any, t: Any) -> Any:
    """A table (``Mapping[str, X]``) as a new dict; keys must be strings."""
    expect_table(value)
    args: tuple[Any, ...] = tuple(getattr(t, "__args__", ()))
    if len(args) == 2 and args[0] is str and args[1] is not Any:
        inner = args[1]
        return {_strict_str(k, str): converter.structure(v, inner) for k, v in value.items()}
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"table keys must be strings, got {_type_name(key)}")
    return dict(value)


for _type, _hook in STRICT_HOOKS.items():
    converter.register_structure_hook(_type, _hook)
converter.register_structure_hook_func(
    lambda t: isinstance(t, type) and issubclass(t, enum.Enum), structure_enum
)
# IntEnum subclasses int: without this the int hook above would win and drop the enum.
converter.register_structure_hook(enum.IntEnum, structure_enum)
converter.register_structure_hook_func(_is_tuple_of, _structure_sequence)
converter.register_structure_hook_func(
    lambda t: getattr(t, "__origin__", None) in (dict, Mapping), structure_table
)
converter.register_structure_hook_func(lambda t: t is Any or t is object, _structure_any)

converter.register_unstructure_hook(timedelta, format_duration)
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_unstructure_hook(date, lambda d: d.isoformat())
converter.register_unstructure_hook(frozenset, lambda v: sorted(v))


def _structure_attrs_strict(cl: type[Any]) -> Any:
    base = make_dict_structure_fn(cl, converter, _cattrs_forbid_extra_keys=True)

    def structure(value: Any, t: type) -> Any:
        expect_table(value)
        return base(value, t)

    return structure


converter.register_structure_hook_factory(attrs.has, _structure_attrs_strict)


# -- errors: cattrs' exception groups to our ValidationError ---------------------------


def _problems_from(exc: BaseException, data: Any, path: str) -> list[Problem]:
    if isinstance(exc, ClassValidationError | IterableValidationError):
        found: list[Problem] = []
        for sub in exc.exceptions:
            sub_path, sub_data = path, data
            for note in getattr(sub, "__notes__", ()):
                if isinstance(note, AttributeValidationNote):
                    sub_path = f"{path}.{note.name}" if path else note.name
                    sub_data = _get(data, note.name)
                    break
                if isinstance(note, IterableValidationNote):
                    sub_path = f"{path}[{note.index}]"
                    sub_data = _index(data, int(note.index))
                    break
            found.extend(_problems_from(sub, sub_data, sub_path))
        return found
    if isinstance(exc, cattrs.errors.ForbiddenExtraKeysError):
        return [
            Problem(f"{path}.{key}" if path else key, _get(data, key), "unknown key")
            for key in sorted(exc.extra_fields)
        ]
    if data is _ABSENT:
        return [Problem(path, None, "missing required key")]
    reason = str(exc) if str(exc) else type(exc).__name__
    return [Problem(path, data, reason)]


class _Absent:
    def __repr__(self) -> str:
        return "<missing>"


_ABSENT: Any = _Absent()


def _index(data: Any, index: int) -> Any:
    if isinstance(data, Sequence) and not isinstance(data, str) and 0 <= index < len(data):
        return data[index]
    return _ABSENT


def _get(data: Any, key: str) -> Any:
    return data.get(key, _ABSENT) if isinstance(data, Mapping) else _ABSENT


def structure_config(data: Any, cls: type[T], *, source: str | None = None, path: str = "") -> T:
    """Structure ``data`` into ``cls`` strictly; raise ``ValidationError`` with every problem."""
    deep = nesting_problem(data, path)
    if deep is not None:
        raise ValidationError([deep], source=source)
    try:
        return converter.structure(data, cls)
    except ValidationError:
        raise
    except (cattrs.BaseValidationError, TypeError, ValueError, KeyError) as exc:
        problems = _problems_from(exc, data, path)
        raise ValidationError(problems or [Problem(path, data, str(exc))], source=source) from None
    except RecursionError:
        raise ValidationError(
            [Problem(path, "<deeply nested>", "input nested too deeply")], source=source
        ) from None


def _drop_none_fields(obj: Any, data: Any) -> Any:
    """Leave out the attrs fields whose value is ``None``, guided by the object, so a
    ``None`` inside free-form data (item attributes, conditions) is kept."""
    if attrs.has(type(obj)) and isinstance(data, dict):
        out = dict(data)
        for field in attrs.fields(type(obj)):
            key = field.alias if field.alias in out else field.name
            if key not in out:
                continue
            value = getattr(obj, field.name)
            if value is None:
                del out[key]
            else:
                out[key] = _drop_none_fields(value, out[key])
        return out
    if isinstance(obj, list | tuple) and isinstance(data, list):
        return [_drop_none_fields(o, d) for o, d in zip(obj, data, strict=False)]
    return data


def unstructure_config(value: Any) -> Any:
    """The data form of a configuration value: ``None`` fields are left out (so it can be
    written as TOML); free-form tables inside it are kept as they are."""
    return _drop_none_fields(value, converter.unstructure(value))


def load_data_file(path: str | PathLike[str]) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON (``.json``) file into a table.

    Unreadable files and syntax errors become a ``ValidationError`` naming the file
    (and for syntax errors the line). Both are UTF-8 text. JSON is read strictly
    (:func:`~reqfulfill.serialization.strict_json.parse_json`: no duplicate keys, no
    ``NaN`` or ``Infinity``, integers of at most 4,300 digits); TOML refuses
    duplicate keys itself, and ``nan`` and ``inf`` are refused here too.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ValidationError.single(str(p), str(p), f"cannot read file: {exc.strerror}") from None
    try:
        if p.suffix.lower() == ".json":
            data = parse_json(raw.decode("utf-8-sig"), source=str(p))
        else:
            data = _parse_toml(raw.decode("utf-8"), str(p))
    except UnicodeDecodeError as exc:
        raise ValidationError.single(str(p), str(p), f"not UTF-8 text: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError.single(str(p), data, "expected a table at the top level")
    return data


def _toml_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _NotFinite(token)
    return value


class _NotFinite(ValueError):
    """A TOML ``nan`` or ``inf``: refused, configuration numbers are finite."""


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text, parse_float=_toml_float)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError.single(source, source, f"invalid TOML: {exc}") from None
    except _NotFinite as exc:
        token = str(exc)
        found = re.search(r"(?<![\w.])[-+]?" + re.escape(token.lstrip("+-")) + r"\b", text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        raise ValidationError.single(
            f"{source}:{line}", token, "not a finite number: numbers must be finite"
        ) from None
    except RecursionError:
        raise ValidationError.single(source, source, "input nested too deeply") from None
    except ValueError as exc:  # an integer over the interpreter's digit limit
        raise too_many_digits(text, source, 1, exc) from None
