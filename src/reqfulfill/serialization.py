"""The one cattrs converter: configuration data forms, events and state as JSON.

Structuring is strict: no silent coercion (``5`` is not a string, ``"abc"``
is not a list), unknown keys are errors, and every problem is reported at
once as a :class:`~reqfulfill.model.errors.ValidationError` whose problems
carry the path and the offending value.
"""

from __future__ import annotations

import enum
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn

from reqfulfill.model.errors import Problem, ValidationError, nesting_problem

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "converter",
    "event_from_dict",
    "event_from_json",
    "event_to_dict",
    "event_to_json",
    "format_duration",
    "load_data_file",
    "parse_duration",
    "structure_config",
    "unstructure_config",
]

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
"""The project's converter. Use :func:`structure_config` to get our errors."""

# -- durations -----------------------------------------------------------------

_DURATION = re.compile(
    r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d{1,6})?)s)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse ``"4h"``, ``"30m"``, ``"1h30m"``, ``"2d"``, ``"45s"``, ``"0s"``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    if not isinstance(text, str):
        raise TypeError(f"a duration is a string like '4h' or '1h30m', not {type(text).__name__}")
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groupdict().values()):
        raise ValueError(f"invalid duration {text!r}: use forms like '4h', '30m', '1h30m', '2d'")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


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


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
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


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise TypeError(f"expected an ISO 8601 date-time, got {_type_name(value)}")
    if parsed.tzinfo is None:
        raise ValueError("a date-time needs a time zone offset")
    return parsed


def _structure_date(value: Any, _: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"expected a date (YYYY-MM-DD), got {_type_name(value)}")


def _structure_any(value: Any, _: type) -> Any:
    return value


def _is_tuple_of(t: Any) -> bool:
    origin = getattr(t, "__origin__", None)
    return origin in (tuple, Sequence, list)


def _structure_sequence(value: Any, t: Any) -> Any:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise TypeError(f"expected a list, got {_type_name(value)}")
    args = getattr(t, "__args__", ())
    inner = args[0] if args else Any
    out: list[Any] = []
    errors: list[Exception] = []
    for index, element in enumerate(value):
        try:
            out.append(converter.structure(element, inner))
        except Exception as exc:
            exc.__notes__ = [
                *getattr(exc, "__notes__", []),
                IterableValidationNote(f"Structuring {t!r} @ index {index}", index, inner),
            ]
            errors.append(exc)
    if errors:
        raise IterableValidationError(f"While structuring {t!r}", errors, t)
    return tuple(out) if getattr(t, "__origin__", None) is tuple else out


def _structure_mapping(value: Any, t: Any) -> Any:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a table, got {_type_name(value)}")
    args: tuple[Any, ...] = tuple(getattr(t, "__args__", ()))
    if len(args) == 2 and args[0] is str and args[1] is not Any:
        inner = args[1]
        return {_strict_str(k, str): converter.structure(v, inner) for k, v in value.items()}
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"table keys must be strings, got {_type_name(key)}")
    return dict(value)


converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(int, _strict_int)
converter.register_structure_hook(float, _strict_float)
converter.register_structure_hook(bool, _strict_bool)
converter.register_structure_hook(timedelta, _structure_timedelta)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_structure_hook(date, _structure_date)
converter.register_structure_hook_func(
    lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _structure_enum
)
# IntEnum subclasses int: without this the int hook above would win and drop the enum.
converter.register_structure_hook(enum.IntEnum, _structure_enum)
converter.register_structure_hook_func(_is_tuple_of, _structure_sequence)
converter.register_structure_hook_func(
    lambda t: getattr(t, "__origin__", None) in (dict, Mapping), _structure_mapping
)
converter.register_structure_hook_func(lambda t: t is Any or t is object, _structure_any)

converter.register_unstructure_hook(timedelta, format_duration)
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_unstructure_hook(date, lambda d: d.isoformat())


def _structure_attrs_strict(cl: type[Any]) -> Any:
    base = make_dict_structure_fn(cl, converter, _cattrs_forbid_extra_keys=True)

    def structure(value: Any, t: type) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a table, got {_type_name(value)}")
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
    if isinstance(exc, KeyError) and data is _ABSENT:
        return [Problem(path, None, "missing required key")]
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
    (and for syntax errors the line).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ValidationError.single(str(p), str(p), f"cannot read file: {exc.strerror}") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError.single(
            f"{p}:{exc.lineno}", exc.doc[exc.pos : exc.pos + 20], f"invalid JSON: {exc.msg}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError.single(str(p), str(p), f"invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError.single(str(p), str(p), f"not UTF-8 text: {exc}") from None
    except RecursionError:
        raise ValidationError.single(str(p), str(p), "input nested too deeply") from None
    if not isinstance(data, dict):
        raise ValidationError.single(str(p), data, "expected a table at the top level")
    return data


# -- events and state as JSON ---------------------------------------------------------

EVENT_SCHEMA_VERSION = 1
"""Written with every stored event; readers upgrade older payloads in ``_upgrade``."""

converter.register_unstructure_hook(frozenset, lambda v: sorted(v))


def event_to_dict(event: Any) -> dict[str, Any]:
    """The stored form of an event: its fields, ``type`` and schema version ``v``."""
    data: dict[str, Any] = converter.unstructure(event)
    data["type"] = type(event).__name__
    data["v"] = EVENT_SCHEMA_VERSION
    return data


def event_from_dict(data: Mapping[str, Any]) -> Any:
    """Rebuild an event from :func:`event_to_dict`'s form (any schema version so far)."""
    from reqfulfill.model.events import EVENT_TYPES

    payload = dict(data)
    version = payload.pop("v", 1)
    kind = payload.pop("type", None)
    payload = _upgrade(payload, kind, version)
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError.single("type", kind, "unknown event type")
    return structure_config(payload, cls, path=str(kind))


def _upgrade(payload: dict[str, Any], kind: object, version: object) -> dict[str, Any]:
    if version != EVENT_SCHEMA_VERSION:
        raise ValidationError.single("v", version, "unsupported event schema version")
    return payload


def event_to_json(event: Any) -> str:
    """The event as compact JSON text."""
    return json.dumps(event_to_dict(event), separators=(",", ":"), sort_keys=True)


def event_from_json(text: str | bytes) -> Any:
    """Rebuild an event from :func:`event_to_json`'s text."""
    return event_from_dict(json.loads(text))
