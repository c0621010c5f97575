"""The one cattrs converter: configuration data forms, events and state as JSON.

Structuring is strict: no silent coercion (``5`` is not a string, ``"abc"``
is not a list), unknown keys are errors, and every problem is reported at
once as a :class:`~reqfulfill.model.errors.ValidationError` whose problems
carry the path and the offending value.
"""

from __future__ import annotations

import enum
import itertools
import json
import math
import re
import sys
import threading
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from json.encoder import encode_basestring_ascii as _esc
from operator import attrgetter, call, itemgetter
from os import PathLike
from pathlib import Path
from types import UnionType
from typing import Any, Protocol, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn

from reqfulfill.model._json import FrozenDict, FrozenList
from reqfulfill.model.errors import (
    MAX_NESTING,
    Problem,
    ValidationError,
    nesting_problem,
    nests_deeper,
)

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
    decode = _event_decoder_for(data)
    if decode is not None:
        try:
            return decode(data, 0, 1 + ("v" in data))  # its fields, "type" and maybe "v"
        except Exception:  # not sure: the plain way decides (the same event, or its errors)
            return _plain_event_from_dict(data)
    return _plain_event_from_dict(data)


def _plain_event_from_dict(data: Mapping[str, Any]) -> Any:
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
    # Payloads of the current version pass unchanged: the fast decoders rely on it.
    if version != EVENT_SCHEMA_VERSION:
        raise ValidationError.single("v", version, "unsupported event schema version")
    return payload


def event_to_json(event: Any) -> str:
    """The event as compact JSON text."""
    encode = _event_encoder_for(type(event))
    if encode is not None:
        try:
            return encode(event)
        except Exception:  # not sure: the plain way decides (the same text, or its error)
            return _plain_event_to_json(event)
    return _plain_event_to_json(event)


def _plain_event_to_json(event: Any) -> str:
    return json.dumps(event_to_dict(event), separators=(",", ":"), sort_keys=True)


def event_from_json(text: str | bytes) -> Any:
    """Rebuild an event from :func:`event_to_json`'s text."""
    return event_from_dict(_load_json(text))


_DECODER = json.JSONDecoder()
"""What ``json.loads`` uses (its default decoder)."""


def _load_json(text: str | bytes) -> Any:
    """``json.loads(text)``; a string that is one JSON document and nothing else (as
    stored events are) skips its slower checks, which would pass."""
    if type(text) is str:
        try:
            value, end = _DECODER.raw_decode(text)
        except Exception:  # json.loads raises it again, or its own error for the same text
            return json.loads(text)
        if end == len(text):
            return value
    return json.loads(text)


# -- events as JSON: specialised per-class functions ------------------------------------
#
# The plain functions above define the stored format and the errors. Every event is
# written and read again and again, so for each event class a pair of functions is
# built once from its attrs fields that does the same for the usual input, much
# faster: the encoder fills a per-class template (keys already sorted) with each
# field's JSON text, the decoder checks and converts each field of a payload that has
# exactly the keys event_to_json writes. Both copy the converter's hooks above, and
# give up (raise) on anything they are not sure of, such as a value of an unexpected
# type, a payload with missing or unknown keys, a value nested too deeply: then the
# plain function runs and its result or error is what the caller gets. No code is
# generated: these are closures over tables built from the fields.

_Encode = Callable[[Any], str]
_Decode = Callable[[Any, int], Any]


class _DecodeObject(Protocol):
    def __call__(self, data: Any, depth: int, extra: int = 0, /) -> Any: ...


class _GiveUp(Exception):
    """A fast path is not sure: the plain function decides."""


class _Unsupported(Exception):
    """A field type the fast paths do not cover: the class always takes the plain way."""


_BUILDING = threading.RLock()
"""Held while the functions of a class are built (once per class)."""
_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
"""What ``json.dumps(..., separators=(",", ":"), sort_keys=True)`` uses."""
_STRINGS = frozenset({str})
_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})
_JSON_TABLES: frozenset[type[Any]] = frozenset((dict, FrozenDict))
_JSON_LISTS: frozenset[type[Any]] = frozenset({list, FrozenList, tuple})


def _resolved_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    attrs.resolve_types(cls)
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    for field in fields:
        if not field.init or field.alias != field.name or field.type is None:
            raise _Unsupported(f"{cls.__name__}.{field.name}")
    return fields


def _optional_of(t: Any) -> Any:
    """``X`` for ``X | None`` (or ``Optional[X]``), else None."""
    if get_origin(t) in (Union, UnionType):
        args = get_args(t)
        if len(args) == 2 and type(None) in args:
            return args[0] if args[1] is type(None) else args[1]
    return None


def _tuple_getter(
    make: Callable[..., Callable[[Any], Any]], names: Sequence[str]
) -> Callable[[Any], tuple[Any, ...]]:
    """``make(*names)`` (an ``attrgetter`` or ``itemgetter``), always giving a tuple."""
    if len(names) > 1:
        return make(*names)
    if names:
        one = make(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


# -- encoding: each value to its JSON text, as json.dumps writes what the converter gives


def _encode_optional_str(value: Any) -> str:
    return "null" if value is None else _esc(value)


def _encode_bool(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _JSON.encode(value)


def _encode_int(value: Any) -> str:
    return int.__repr__(value) if type(value) is int else _JSON.encode(value)


def _encode_float(value: Any) -> str:
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    return _JSON.encode(value)


def _is_plain_json(value: Any, limit: int = 2 * MAX_NESTING) -> bool:
    """Whether ``value`` is tables with string keys, lists and scalars of exactly the
    built-in types (and our frozen ones), for which the converter changes nothing that
    shows in JSON; iterative, giving up beyond ``limit`` levels."""
    open_levels = [iter((value,))]
    while open_levels:
        for inner in open_levels[-1]:
            kind = type(inner)
            if kind in _JSON_LEAVES:
                continue
            if len(open_levels) > limit:
                return False
            if kind in _JSON_TABLES:
                if not _STRINGS.issuperset(map(type, inner)):
                    return False
                open_levels.append(iter(inner.values()))
            elif kind in _JSON_LISTS:
                open_levels.append(iter(inner))
            else:
                return False
            break
        else:
            open_levels.pop()
    return True


def _encode_table(value: Any) -> str:
    if type(value) in _JSON_TABLES:
        if not value:
            return "{}"
        if _is_plain_json(value):
            return _JSON.encode(value)
    raise _GiveUp


def _encode_with(hook: Callable[[Any], Any]) -> _Encode:
    """For types whose unstructure hook gives a string (dates, durations)."""

    def encode(value: Any) -> str:
        return _esc(hook(value))

    return encode


def _encode_datetime_with(hook: Callable[[Any], Any]) -> _Encode:
    """Like :func:`_encode_with`, remembering the last text: the events of one command
    usually share one ``at``, and ``isoformat`` is slow. Only plain datetimes with a
    fixed offset are remembered, so the same object always gives the same text."""
    last: list[tuple[object, str]] = [(None, "")]

    def encode(value: Any) -> str:
        seen, text = last[0]
        if value is seen:
            return text
        text = _esc(hook(value))
        if type(value) is datetime and type(value.tzinfo) is timezone:
            last[0] = (value, text)
        return text

    return encode


def _encode_enum(cls: type[enum.Enum]) -> _Encode:
    hook = converter.get_unstructure_hook(cls)
    texts = {member: _JSON.encode(hook(member)) for member in cls}

    def encode(value: Any) -> str:
        if type(value) is cls:
            return texts[value]
        raise _GiveUp

    return encode


def _encode_sequence(inner: _Encode) -> _Encode:
    def encode(value: Any) -> str:
        return "[" + ",".join(map(inner, value)) + "]"

    return encode


def _encode_optional(inner: _Encode) -> _Encode:
    def encode(value: Any) -> str:
        return "null" if value is None else inner(value)

    return encode


_OBJECT_ENCODERS: dict[type[Any], _Encode] = {}
_DATETIME_ENCODERS: dict[Callable[[Any], Any], _Encode] = {}


def _value_encoder(t: Any) -> _Encode:
    """The JSON text of a field value declared as ``t``, as the plain way writes it."""
    if t in (str, bool, int, float):
        if converter.get_unstructure_hook(t) is not identity:
            raise _Unsupported(repr(t))  # someone changed how these unstructure
        simple: dict[Any, _Encode] = {
            str: _esc,
            bool: _encode_bool,
            int: _encode_int,
            float: _encode_float,
        }
        return simple[t]
    if t is datetime:
        hook = converter.get_unstructure_hook(datetime)
        if hook not in _DATETIME_ENCODERS:  # one for every field: all share the last text
            _DATETIME_ENCODERS[hook] = _encode_datetime_with(hook)
        return _DATETIME_ENCODERS[hook]
    if t in (date, timedelta):
        return _encode_with(converter.get_unstructure_hook(t))
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return _encode_enum(t)
    inner = _optional_of(t)
    if inner is not None:
        if inner is str and converter.get_unstructure_hook(str) is identity:
            return _encode_optional_str
        return _encode_optional(_value_encoder(inner))
    args = get_args(t)
    if get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _encode_sequence(_value_encoder(args[0]))
    if get_origin(t) in (Mapping, dict) and args == (str, Any):
        return _encode_table
    if isinstance(t, type) and attrs.has(t):
        return _object_encoder(t)
    raise _Unsupported(repr(t))


def _object_encoder(cls: type[Any], extra: Mapping[str, str] | None = None) -> _Encode:
    """The JSON text of an attrs object, keys sorted; ``extra`` adds keys with fixed JSON
    text (an event's ``type`` and ``v``)."""
    if extra is None and cls in _OBJECT_ENCODERS:
        return _OBJECT_ENCODERS[cls]
    if cls in _ENCODERS_BUILDING:
        raise _Unsupported(f"{cls.__name__} contains itself")
    _ENCODERS_BUILDING.add(cls)
    try:
        fields = {f.name: _value_encoder(f.type) for f in _resolved_fields(cls)}
    finally:
        _ENCODERS_BUILDING.discard(cls)
    fixed = dict(extra or {})
    parts: list[str] = []
    names: list[str] = []
    encoders: list[_Encode] = []
    for key in sorted({*fields, *fixed}):
        head = _esc(key) + ":"
        if key in fixed:
            parts.append((head + fixed[key]).replace("%", "%%"))
        else:
            parts.append(head.replace("%", "%%") + "%s")
            names.append(key)
            encoders.append(fields[key])
    template = "{" + ",".join(parts) + "}"
    values = _tuple_getter(attrgetter, names)
    field_encoders = tuple(encoders)

    def encode(obj: Any) -> str:
        return template % tuple(map(call, field_encoders, values(obj)))

    if extra is None:
        _OBJECT_ENCODERS[cls] = encode
    return encode


_ENCODERS_BUILDING: set[type[Any]] = set()
_EVENT_ENCODERS: dict[type[Any], _Encode | None] = {}


def _event_encoder_for(cls: type[Any]) -> _Encode | None:
    """The fast :func:`event_to_json` of an event class, or None to take the plain way."""
    try:
        return _EVENT_ENCODERS[cls]
    except KeyError:
        pass
    encode: _Encode | None = None
    with _BUILDING:
        if attrs.has(cls):
            fixed = {"type": _esc(cls.__name__), "v": _JSON.encode(EVENT_SCHEMA_VERSION)}
            try:
                encode = _object_encoder(cls, fixed)
            except Exception:  # a field type not covered (or odd): always the plain way
                encode = None
        _EVENT_ENCODERS[cls] = encode
    return encode


# -- decoding: each value checked and converted as the structure hooks above would -----


def _decode_str(value: Any, depth: int) -> Any:
    if type(value) is str:
        return value
    raise _GiveUp


def _decode_optional_str(value: Any, depth: int) -> Any:
    if value is None or type(value) is str:
        return value
    raise _GiveUp


def _decode_int(value: Any, depth: int) -> Any:
    if type(value) is int:
        return value
    raise _GiveUp


def _decode_float(value: Any, depth: int) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise _GiveUp


def _decode_bool(value: Any, depth: int) -> Any:
    if value is True or value is False:
        return value
    raise _GiveUp


def _decode_datetime(value: Any, depth: int) -> Any:
    if type(value) is str:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed
    raise _GiveUp


def _decode_date(value: Any, depth: int) -> Any:
    if type(value) is str:
        return date.fromisoformat(value)
    raise _GiveUp


def _decode_timedelta(value: Any, depth: int) -> Any:
    if type(value) is str:
        return parse_duration(value)
    raise _GiveUp


def _decode_table(value: Any, depth: int) -> Any:
    """A free-form table (``Mapping[str, Any]``) at ``depth``, copied like the hook does."""
    if (
        type(value) is dict
        and _STRINGS.issuperset(map(type, value))
        and not nests_deeper(value, MAX_NESTING - depth)
    ):
        return dict(value)
    raise _GiveUp


def _decode_enum(cls: type[enum.Enum]) -> _Decode:
    wanted = int if issubclass(cls, int) else str
    members = {m.value: m for m in cls if type(m.value) is wanted}

    def decode(value: Any, depth: int) -> Any:
        if type(value) is wanted:
            return members[value]  # KeyError for others: the hook says which values exist
        raise _GiveUp

    return decode


def _decode_optional(inner: _Decode) -> _Decode:
    def decode(value: Any, depth: int) -> Any:
        return None if value is None else inner(value, depth)

    return decode


def _decode_tuple(inner: _Decode) -> _Decode:
    if inner is _decode_str:

        def decode_strings(value: Any, depth: int) -> Any:
            if (
                type(value) is list
                and depth < MAX_NESTING
                and _STRINGS.issuperset(map(type, value))
            ):
                return tuple(value)
            raise _GiveUp

        return decode_strings

    def decode(value: Any, depth: int) -> Any:
        if type(value) is list and depth < MAX_NESTING:
            return tuple([inner(element, depth + 1) for element in value])
        raise _GiveUp

    return decode


_STRICT_HOOKS: dict[Any, tuple[Callable[..., Any], _Decode]] = {
    str: (_strict_str, _decode_str),
    int: (_strict_int, _decode_int),
    float: (_strict_float, _decode_float),
    bool: (_strict_bool, _decode_bool),
    datetime: (_structure_datetime, _decode_datetime),
    date: (_structure_date, _decode_date),
    timedelta: (_structure_timedelta, _decode_timedelta),
}


def _value_decoder(t: Any) -> _Decode:
    """Check and convert a JSON value for a field declared as ``t`` at some depth."""
    if t in _STRICT_HOOKS:
        hook, decode = _STRICT_HOOKS[t]
        if converter.get_structure_hook(t) is not hook:
            raise _Unsupported(repr(t))  # someone changed how these structure
        return decode
    if isinstance(t, type) and issubclass(t, enum.Enum):
        if converter.get_structure_hook(t) is not _structure_enum:
            raise _Unsupported(repr(t))
        return _decode_enum(t)
    inner = _optional_of(t)
    if inner is not None:
        decode_inner = _value_decoder(inner)
        if decode_inner is _decode_str:
            return _decode_optional_str
        return _decode_optional(decode_inner)
    args = get_args(t)
    if get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis:
        if converter.get_structure_hook(t) is not _structure_sequence:
            raise _Unsupported(repr(t))
        return _decode_tuple(_value_decoder(args[0]))
    if get_origin(t) in (Mapping, dict) and args == (str, Any):
        if converter.get_structure_hook(t) is not _structure_mapping:
            raise _Unsupported(repr(t))
        return _decode_table
    if isinstance(t, type) and attrs.has(t):
        return _object_decoder(t)
    raise _Unsupported(repr(t))


_OBJECT_DECODERS: dict[type[Any], _DecodeObject] = {}
_DECODERS_BUILDING: set[type[Any]] = set()
_KEPT_TYPES: dict[_Decode, frozenset[type[Any]]] = {
    _decode_str: frozenset((str,)),
    _decode_optional_str: frozenset((str, type(None))),
    _decode_int: frozenset((int,)),
    _decode_bool: frozenset((bool,)),
}
"""The decoders that keep a value as it is when it has one of these exact types."""
_MAX_SIGNATURES = 64


def _object_decoder(cls: type[Any]) -> _DecodeObject:
    """Build ``cls`` from a table with exactly its fields' keys (and a given number of
    others: a stored event also holds ``type`` and maybe ``v``)."""
    if cls in _OBJECT_DECODERS:
        return _OBJECT_DECODERS[cls]
    if cls in _DECODERS_BUILDING:
        raise _Unsupported(f"{cls.__name__} contains itself")
    _DECODERS_BUILDING.add(cls)
    try:
        fields = _resolved_fields(cls)
        decoders = tuple(_value_decoder(f.type) for f in fields)
    finally:
        _DECODERS_BUILDING.discard(cls)
    count = len(fields)
    # The argument names, interned: the call below then matches them by identity.
    names = tuple(sys.intern(f.name) for f in fields)
    values = _tuple_getter(itemgetter, names)
    # Values kept as they are only need their type checked, all at once: the tuple of
    # their types must be one of the allowed ones (few: only optional fields add some).
    kept: list[tuple[str, frozenset[type[Any]]]] = []
    converted: list[tuple[int, str, _Decode]] = []
    for index, (name, decode_value) in enumerate(zip(names, decoders, strict=True)):
        if decode_value in _KEPT_TYPES:
            kept.append((name, _KEPT_TYPES[decode_value]))
        else:
            converted.append((index, name, decode_value))
    while math.prod(len(allowed) for _, allowed in kept) > _MAX_SIGNATURES:
        name, _ = kept.pop()  # too many optional fields: check the last ones one by one
        index = names.index(name)
        converted.append((index, name, decoders[index]))
    kept_types = _tuple_getter(itemgetter, [name for name, _ in kept])
    signatures = frozenset(itertools.product(*[allowed for _, allowed in kept]))

    def decode_by_name(data: Any, depth: int, extra: int = 0) -> Any:
        """``cls`` from its table at ``depth``, which has exactly its fields' keys and
        ``extra`` more (an event's ``type`` and ``v``, checked by the caller)."""
        if type(data) is not dict or depth >= MAX_NESTING or len(data) != count + extra:
            raise _GiveUp
        arguments = dict(zip(names, values(data), strict=False))  # KeyError: one is missing
        if tuple(map(type, kept_types(data))) not in signatures:
            raise _GiveUp
        for _, name, decode_value in converted:
            arguments[name] = decode_value(arguments[name], depth + 1)
        return cls(**arguments)

    def decode_by_position(data: Any, depth: int, extra: int = 0) -> Any:
        """The same for a class without keyword-only fields: a little faster."""
        if type(data) is not dict or depth >= MAX_NESTING or len(data) != count + extra:
            raise _GiveUp
        arguments = list(values(data))  # KeyError: one is missing
        if tuple(map(type, kept_types(data))) not in signatures:
            raise _GiveUp
        for index, _, decode_value in converted:
            arguments[index] = decode_value(arguments[index], depth + 1)
        return cls(*arguments)

    decode = decode_by_name if any(f.kw_only for f in fields) else decode_by_position
    _OBJECT_DECODERS[cls] = decode
    return decode


_EVENT_DECODERS: dict[type[Any], _DecodeObject | None] = {}
_events_module: Any = None


def _event_decoder_for(data: Any) -> _DecodeObject | None:
    """The fast :func:`event_from_dict` for ``data``, or None to take the plain way: only
    plain dicts of the current schema version naming a known event type qualify."""
    global _events_module
    if type(data) is not dict:
        return None
    kind = data.get("type")
    if type(kind) is not str or data.get("v", 1) != EVENT_SCHEMA_VERSION:
        return None
    if _events_module is None:
        from reqfulfill.model import events

        _events_module = events
    cls = _events_module.EVENT_TYPES.get(kind)
    if cls is None:
        return None
    try:
        return _EVENT_DECODERS[cls]
    except KeyError:
        pass
    decode: _DecodeObject | None = None
    with _BUILDING:
        if attrs.has(cls) and not {"type", "v"} & {f.name for f in attrs.fields(cls)}:
            try:
                decode = _object_decoder(cls)
            except Exception:  # a field type not covered (or odd): always the plain way
                decode = None
        _EVENT_DECODERS[cls] = decode
    return decode
