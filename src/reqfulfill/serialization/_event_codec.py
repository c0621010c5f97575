"""The event codec: per event class, one encoder and one decoder built from its attrs fields.

Every event is written once and read again and again, so each class gets, at its first
use, a pair of functions made from its fields (no code is generated: they are closures
over tables built from the fields):

* the encoder fills a per-class template (keys already sorted, ``type`` and ``v``
  already in place) with each field's JSON text, exactly as
  ``json.dumps(..., sort_keys=True, separators=(",", ":"))`` writes it; a value that
  does not fit its field is refused (:class:`Invalid`), never written;
* the decoder checks and converts each field with the converter's own strict hooks
  (:data:`~reqfulfill.serialization.config.STRICT_HOOKS` and friends), reporting every
  problem at once with its path (:class:`Invalid`). For the usual payload, a table with
  exactly the keys the encoder writes, the fields whose values are kept as they are
  (strings, integers, booleans) are checked all at once by the tuple of their types;
  only the others are converted one by one.

The depth of nested values is tracked as the configuration loader counts it, so a value
nested too deeply is refused; the caller then reports where (``nesting_problem``).
"""

from __future__ import annotations

import enum
import itertools
import json
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from json.encoder import encode_basestring_ascii as escape
from operator import attrgetter, call, itemgetter
from types import NoneType, UnionType
from typing import Any, Final, Protocol, Union, get_args, get_origin

import attrs

from reqfulfill.model._json import FrozenDict, FrozenList
from reqfulfill.model.errors import MAX_NESTING, nests_deeper
from reqfulfill.model.events import OMIT_DEFAULT
from reqfulfill.serialization.config import (
    STRICT_HOOKS,
    converter,
    expect_list,
    expect_table,
    format_duration,
    structure_enum,
    structure_table,
)

__all__ = [
    "EVENT_KEYS",
    "EventCodec",
    "FieldCodec",
    "Invalid",
    "ObjectDecoder",
    "event_codec",
    "field_codec",
]

EVENT_KEYS: Final = frozenset({"type", "v"})
"""The keys a stored event has besides its fields: its type name and schema version."""

Encode = Callable[[Any], str]
Decode = Callable[[Any, int], Any]
"""``decode(value, depth)``: the field value from its JSON value found at ``depth``."""
Found = list[tuple[str, object, str]]


class ObjectDecoder(Protocol):
    """``decode(data, depth, extra=0)``: an object from its table found at ``depth``;
    ``extra`` counts the keys the table has besides the fields (an event's ``type``, ``v``)."""

    def __call__(self, data: Any, depth: int, extra: int = 0, /) -> Any: ...


class Invalid(Exception):
    """A value that does not fit its field: ``problems`` lists ``(path, value, reason)``,
    each path relative to the value (``""``, ``".name"``, ``"[2].key"``)."""

    def __init__(self, problems: Found) -> None:
        super().__init__(problems)
        self.problems = problems

    @classmethod
    def here(cls, value: object, error: Exception) -> Invalid:
        """The value itself is wrong; ``error`` says why."""
        return cls([("", value, str(error) or type(error).__name__)])

    def under(self, step: str) -> Found:
        """The problems, with paths relative to the value one ``step`` up."""
        return [(step + path, value, reason) for path, value, reason in self.problems]


@attrs.frozen
class FieldCodec:
    """How one field's value is written and read. ``kept``: the exact types whose
    values ``decode`` keeps as they are (so a caller may check those all at once)."""

    encode: Encode
    decode: Decode
    kept: frozenset[type] = frozenset()


_JSON: Final = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
"""What ``json.dumps(..., separators=(",", ":"), sort_keys=True)`` uses."""
_STRINGS: Final = frozenset({str})
_STRINGS_OR_NONE: Final = frozenset({str, NoneType})
_JSON_LEAVES: Final = frozenset({str, int, float, bool, NoneType})
_JSON_TABLES: Final[frozenset[type]] = frozenset((dict, FrozenDict))
_JSON_LISTS: Final[frozenset[type]] = frozenset({list, FrozenList, tuple})
_TOO_DEEP: Final = "nested too deeply"


def _type_name(value: object) -> str:
    return type(value).__name__


# -- primitive values ------------------------------------------------------------------


def _hooked(exact: type | None, t: Any, hook: Callable[[Any, Any], Any]) -> Decode:
    """Decode with ``hook``; a value of exactly type ``exact`` is kept as it is."""

    def decode(value: Any, depth: int) -> Any:
        if type(value) is exact:
            return value
        try:
            return hook(value, t)
        except (TypeError, ValueError) as error:
            raise Invalid.here(value, error) from None

    return decode


def _encode_int(value: Any) -> str:
    if type(value) is int:
        return int.__repr__(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {_type_name(value)}")
    return int.__repr__(value)


def _encode_float(value: Any) -> str:
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_type_name(value)}")
    return _JSON.encode(value)


def _decode_float(value: Any, depth: int) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    try:
        return STRICT_HOOKS[float](value, float)
    except TypeError as error:
        raise Invalid.here(value, error) from None


def _encode_bool(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise TypeError(f"expected true or false, got {_type_name(value)}")


def _encode_str_or_none(value: Any) -> str:
    return "null" if value is None else escape(value)


_last_datetime: list[tuple[object, str]] = [(None, "")]
"""The last date-time written and its text: the events of one command share one ``at``,
and ``isoformat`` is slow. Only plain date-times with a fixed offset are remembered, so
one object always has one text."""


def _encode_datetime(value: Any) -> str:
    seen, text = _last_datetime[0]
    if value is seen:
        return text
    if not isinstance(value, datetime):
        raise TypeError(f"expected an ISO 8601 date-time, got {_type_name(value)}")
    if value.tzinfo is None:
        raise ValueError("a date-time needs a time zone offset")
    text = escape(value.isoformat())
    if type(value) is datetime and type(value.tzinfo) is timezone:
        _last_datetime[0] = (value, text)
    return text


def _decode_datetime(value: Any, depth: int) -> Any:
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None  # the hook below says what is wrong
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    try:
        return STRICT_HOOKS[datetime](value, datetime)
    except (TypeError, ValueError) as error:
        raise Invalid.here(value, error) from None


def _encode_date(value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return escape(value.isoformat())
    raise TypeError(f"expected a date (YYYY-MM-DD), got {_type_name(value)}")


def _encode_duration(value: Any) -> str:
    if not isinstance(value, timedelta):
        raise TypeError(f"expected a duration, got {_type_name(value)}")
    return escape(format_duration(value))


_PRIMITIVES: Final[Mapping[type, FieldCodec]] = {
    str: FieldCodec(escape, _hooked(str, str, STRICT_HOOKS[str]), frozenset({str})),
    int: FieldCodec(_encode_int, _hooked(int, int, STRICT_HOOKS[int]), frozenset({int})),
    bool: FieldCodec(_encode_bool, _hooked(bool, bool, STRICT_HOOKS[bool]), frozenset({bool})),
    float: FieldCodec(_encode_float, _decode_float),
    datetime: FieldCodec(_encode_datetime, _decode_datetime),
    date: FieldCodec(_encode_date, _hooked(None, date, STRICT_HOOKS[date])),
    timedelta: FieldCodec(_encode_duration, _hooked(None, timedelta, STRICT_HOOKS[timedelta])),
}


def _enum_codec(cls: type[enum.Enum]) -> FieldCodec:
    texts = {member: _JSON.encode(converter.unstructure(member)) for member in cls}
    members = {member.value: member for member in cls}
    (value_type, *others) = {type(member.value) for member in cls}

    def encode(value: Any) -> str:
        if type(value) is cls:
            return texts[value]
        raise TypeError(f"expected a {cls.__name__}, got {_type_name(value)}")

    def decode(value: Any, depth: int) -> Any:
        if type(value) is value_type and not others:  # exact types: True is not 1
            try:
                return members[value]
            except KeyError:
                pass  # the hook names the values there are
        try:
            return structure_enum(value, cls)
        except (TypeError, ValueError) as error:
            raise Invalid.here(value, error) from None

    return FieldCodec(encode, decode)


def _optional_codec(inner: FieldCodec) -> FieldCodec:
    if inner.encode is escape:
        encode = _encode_str_or_none
    else:

        def encode(value: Any) -> str:
            return "null" if value is None else inner.encode(value)

    inner_decode = inner.decode

    def decode(value: Any, depth: int) -> Any:
        return None if value is None else inner_decode(value, depth)

    kept = inner.kept | {NoneType} if inner.kept else frozenset()
    return FieldCodec(encode, decode, kept)


# -- lists and free-form tables --------------------------------------------------------


def _tuple_codec(inner: FieldCodec) -> FieldCodec:
    encode_element, decode_element = inner.encode, inner.decode
    strings = inner.kept == _STRINGS

    def encode(value: Any) -> str:
        if type(value) is not tuple and not isinstance(value, tuple | list):
            raise TypeError(f"expected a list, got {_type_name(value)}")
        try:
            return "[" + ",".join(map(encode_element, value)) + "]"
        except (TypeError, ValueError, Invalid) as error:
            raise _unwritable_element(value, encode_element, error) from None

    def decode(value: Any, depth: int) -> Any:
        if type(value) is not list:
            try:
                expect_list(value)
            except TypeError as error:
                raise Invalid.here(value, error) from None
        if depth >= MAX_NESTING:
            raise Invalid([("", value, _TOO_DEEP)])
        if strings and _STRINGS.issuperset(map(type, value)):
            return tuple(value)
        out: list[Any] = []
        problems: Found = []
        for index, element in enumerate(value):
            try:
                out.append(decode_element(element, depth + 1))
            except Invalid as invalid:
                problems += invalid.under(f"[{index}]")
        if problems:
            raise Invalid(problems)
        return tuple(out)

    return FieldCodec(encode, decode)


def _unwritable_element(value: Sequence[Any], encode: Encode, error: Exception) -> Exception:
    """Which element of a list could not be written, and why (else ``error`` itself)."""
    for index, element in enumerate(value):
        try:
            encode(element)
        except Invalid as invalid:
            return Invalid(invalid.under(f"[{index}]"))
        except (TypeError, ValueError) as wrong:
            return Invalid([(f"[{index}]", element, str(wrong) or type(wrong).__name__)])
    return error


def _is_plain_json(value: Any, limit: int = 2 * MAX_NESTING) -> bool:
    """Whether ``value`` is tables with string keys, lists and scalars of exactly the
    built-in types (and our frozen ones): data the converter would leave as it is;
    iterative, giving up beyond ``limit`` levels."""
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


def _table_codec(t: Any) -> FieldCodec:
    """A free-form table (``Mapping[str, Any]``): JSON data, written as it is."""

    def encode(value: Any) -> str:
        if type(value) in _JSON_TABLES:
            if not value:
                return "{}"
            if _is_plain_json(value):
                return _JSON.encode(value)
        elif not isinstance(value, Mapping):
            raise TypeError(f"expected a table, got {_type_name(value)}")
        # enums, dates, tuples, frozensets...: in their data form
        return _JSON.encode(converter.unstructure(value, t))

    def decode(value: Any, depth: int) -> Any:
        if nests_deeper(value, MAX_NESTING - depth):
            raise Invalid([("", value, _TOO_DEEP)])
        if type(value) is dict and _STRINGS.issuperset(map(type, value)):
            return dict(value)
        try:
            return structure_table(value, t)
        except (TypeError, ValueError) as error:
            raise Invalid.here(value, error) from None

    return FieldCodec(encode, decode)


def _optional_of(t: Any) -> Any:
    """``X`` for ``X | None`` (or ``Optional[X]``), else None."""
    if get_origin(t) in (Union, UnionType):
        args = get_args(t)
        if len(args) == 2 and NoneType in args:
            return args[0] if args[1] is NoneType else args[1]
    return None


def _field_codec(t: Any, where: str) -> FieldCodec:
    """The codec of a field declared as ``t`` (``where`` names it in errors)."""
    if t in _PRIMITIVES:
        return _PRIMITIVES[t]
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return _enum_codec(t)
    inner = _optional_of(t)
    if inner is not None:
        return _optional_codec(_field_codec(inner, where))
    args = get_args(t)
    if get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _tuple_codec(_field_codec(args[0], f"{where}[]"))
    if get_origin(t) in (Mapping, dict) and args == (str, Any):
        return _table_codec(t)
    if isinstance(t, type) and attrs.has(t):
        return _object_codec(t).field
    raise TypeError(f"{where}: the event codec does not support fields of type {t!r}")


# -- objects ---------------------------------------------------------------------------


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


_KEEP: Final = object()
"""A field that is always written."""


@attrs.frozen
class _Field:
    name: str
    codec: FieldCodec
    required: bool
    omitted: Any = _KEEP
    """A field added to a class after its events were first written
    (:data:`~reqfulfill.model.events.OMIT_DEFAULT`): its default, which is not written
    (so events written before read and write the same bytes)."""


@attrs.frozen
class _ObjectCodec:
    """The field codec of an attrs class, and its parts an event codec reuses."""

    field: FieldCodec
    fields: tuple[_Field, ...]
    decode: ObjectDecoder


_MAX_SIGNATURES: Final = 64
_codecs: dict[type[Any], _ObjectCodec] = {}
_building: set[type[Any]] = set()


def _fields_of(cls: type[Any]) -> tuple[_Field, ...]:
    attrs.resolve_types(cls)
    found: list[_Field] = []
    for field in attrs.fields(cls):
        where = f"{cls.__name__}.{field.name}"
        if not field.init or field.alias != field.name or field.type is None:
            raise TypeError(f"{where}: the event codec needs init fields named as declared")
        if field.name in EVENT_KEYS:
            raise TypeError(f"{where}: {field.name!r} is the stored event's own key")
        required = field.default is attrs.NOTHING
        omitted = field.default if field.metadata.get(OMIT_DEFAULT) else _KEEP
        if omitted is not _KEEP and (required or isinstance(omitted, attrs.Factory)):  # type: ignore[arg-type]
            raise TypeError(f"{where}: a field left out at its default needs a plain default")
        found.append(_Field(field.name, _field_codec(field.type, where), required, omitted))
    return tuple(found)


def _object_codec(cls: type[Any]) -> _ObjectCodec:
    """The codec of an attrs class: built once, from its fields."""
    if cls in _codecs:
        return _codecs[cls]
    if cls in _building:
        raise TypeError(f"{cls.__name__} contains itself: the event codec cannot write it")
    _building.add(cls)
    try:
        fields = _fields_of(cls)
    finally:
        _building.discard(cls)
    decode = _object_decoder(cls, fields)
    encode_object = _template_encoder(fields, {})

    def encode(value: Any) -> str:
        if type(value) is cls:
            return encode_object(value)
        raise TypeError(f"expected a {cls.__name__}, got {_type_name(value)}")

    codec = _ObjectCodec(FieldCodec(encode, decode), fields, decode)
    _codecs[cls] = codec
    return codec


def _template_encoder(fields: Sequence[_Field], fixed: Mapping[str, str]) -> Encode:
    """The JSON text of an object, keys sorted; ``fixed`` adds keys with a fixed text;
    a field added later is left out while it holds its default (one template per
    combination met, made at its first use)."""
    optional = [field for field in fields if field.omitted is not _KEEP]
    if not optional:
        return _fixed_template_encoder(fields, fixed)
    values = _tuple_getter(attrgetter, [field.name for field in optional])
    defaults = tuple(field.omitted for field in optional)
    templates: dict[tuple[bool, ...], Encode] = {}

    def encode(obj: Any) -> str:
        absent = tuple(
            type(value) is type(default) and value == default
            for value, default in zip(values(obj), defaults, strict=True)
        )
        chosen = templates.get(absent)
        if chosen is None:
            left_out = {f.name for f, gone in zip(optional, absent, strict=True) if gone}
            kept = [field for field in fields if field.name not in left_out]
            chosen = templates.setdefault(absent, _fixed_template_encoder(kept, fixed))
        return chosen(obj)

    return encode


def _fixed_template_encoder(fields: Sequence[_Field], fixed: Mapping[str, str]) -> Encode:
    """The JSON text of an object with every one of ``fields``, keys sorted."""
    by_name = {field.name: field for field in fields}
    parts: list[str] = []
    names: list[str] = []
    for key in sorted({*by_name, *fixed}):
        head = escape(key) + ":"
        if key in fixed:
            parts.append((head + fixed[key]).replace("%", "%%"))
        else:
            parts.append(head.replace("%", "%%") + "%s")
            names.append(key)
    template = "{" + ",".join(parts) + "}"
    values = _tuple_getter(attrgetter, names)
    encoders = tuple(by_name[name].codec.encode for name in names)

    def encode(obj: Any) -> str:
        try:
            return template % tuple(map(call, encoders, values(obj)))
        except (TypeError, ValueError, Invalid) as error:
            raise _unwritable(obj, fields, error) from None

    return encode


def _unwritable(obj: Any, fields: Sequence[_Field], error: Exception) -> Exception:
    """Which field of ``obj`` could not be written, and why (else ``error`` itself)."""
    for field in fields:
        value = getattr(obj, field.name, None)
        try:
            field.codec.encode(value)
        except Invalid as invalid:
            return Invalid(invalid.under("." + field.name))
        except (TypeError, ValueError) as wrong:
            reason = str(wrong) or type(wrong).__name__
            if isinstance(wrong, TypeError) and field.codec.kept in (_STRINGS, _STRINGS_OR_NONE):
                reason = f"expected a string, got {_type_name(value)}"  # in the hooks' words
            return Invalid([("." + field.name, value, reason)])
    return error


def _decode_fields(
    fields: Sequence[_Field], data: Mapping[str, Any], depth: int, extra: int
) -> tuple[dict[str, Any], Found]:
    """Every field's value from a table, field by field: the way for any table (missing
    keys take their defaults, values of other types go through the hooks)."""
    arguments: dict[str, Any] = {}
    problems: Found = []
    for field in fields:
        if field.name in data:
            try:
                arguments[field.name] = field.codec.decode(data[field.name], depth + 1)
            except Invalid as invalid:
                problems += invalid.under("." + field.name)
        elif field.required:
            problems.append(("." + field.name, None, "missing required key"))
    names = {field.name for field in fields}
    ignored = EVENT_KEYS if extra else frozenset()
    unknown = [key for key in data if key not in names and key not in ignored]
    problems += [(f".{key}", data[key], "unknown key") for key in sorted(unknown)]
    return arguments, problems


def _refused(data: Mapping[str, Any], extra: int, error: Exception) -> Invalid:
    """The class refused its values (a validator or converter of its own)."""
    if extra:
        data = {key: value for key, value in data.items() if key not in EVENT_KEYS}
    return Invalid.here(data, error)


def _object_decoder(cls: type[Any], fields: Sequence[_Field]) -> ObjectDecoder:
    """``decode(data, depth, extra)``: ``cls`` from its table at ``depth``; ``extra`` is
    how many of an event's own keys (``type``, ``v``) the table has besides the fields."""
    count = len(fields)
    names = tuple(field.name for field in fields)
    values = _tuple_getter(itemgetter, names)
    kept = [(field.name, field.codec.kept) for field in fields if field.codec.kept]
    while math.prod(len(types) for _, types in kept) > _MAX_SIGNATURES:
        kept.pop()  # many optional fields: the last ones are converted one by one
    kept_names = {name for name, _ in kept}
    kept_types = _tuple_getter(itemgetter, [name for name, _ in kept])
    signatures = frozenset(itertools.product(*[types for _, types in kept]))
    converted = tuple(
        (field.name, field.codec.decode) for field in fields if field.name not in kept_names
    )

    def decode(data: Any, depth: int, extra: int = 0, /) -> Any:
        problems: Found | None = None
        if type(data) is dict and len(data) == count + extra and depth < MAX_NESTING:
            try:
                arguments = dict(zip(names, values(data), strict=False))
            except KeyError:  # a key is missing and another one is unknown
                arguments = None
            if arguments is not None and tuple(map(type, kept_types(data))) in signatures:
                for name, decode_value in converted:
                    try:
                        arguments[name] = decode_value(arguments[name], depth + 1)
                    except Invalid as invalid:
                        problems = [*(problems or ()), *invalid.under("." + name)]
                if problems is None:
                    try:
                        return cls(**arguments)
                    except (TypeError, ValueError) as error:  # the class's own checks
                        raise _refused(data, extra, error) from None
                raise Invalid(problems)
        try:
            expect_table(data)
        except TypeError as error:
            raise Invalid.here(data, error) from None
        if depth >= MAX_NESTING:
            raise Invalid([("", data, _TOO_DEEP)])
        arguments, problems = _decode_fields(fields, data, depth, extra)
        if problems:
            raise Invalid(problems)
        try:
            return cls(**arguments)
        except (TypeError, ValueError) as error:
            raise _refused(data, extra, error) from None

    return decode


# -- events ----------------------------------------------------------------------------


@attrs.frozen
class EventCodec:
    """An event class's JSON text (``encode``) and its event from a stored table
    (``decode(table, 0, extra)``, ``extra`` the number of ``type``/``v`` keys it has)."""

    encode: Encode
    decode: ObjectDecoder


_event_codecs: dict[type[Any], EventCodec] = {}
_lock = threading.Lock()


def event_codec(cls: type[Any], version: int) -> EventCodec:
    """The codec of an event class (an attrs class), built at its first use.

    ``TypeError`` for a class the codec cannot write (a field type it does not know).
    """
    try:
        return _event_codecs[cls]
    except KeyError:
        pass
    with _lock:
        if cls not in _event_codecs:
            if not attrs.has(cls):
                raise TypeError(f"{cls.__name__} is not an attrs class: not an event")
            parts = _object_codec(cls)
            fixed = {"type": escape(cls.__name__), "v": _JSON.encode(version)}
            _event_codecs[cls] = EventCodec(_template_encoder(parts.fields, fixed), parts.decode)
    return _event_codecs[cls]


def field_codec(t: Any, where: str) -> FieldCodec:
    """The codec of a value declared as ``t`` (``where`` names it in errors): what checks
    command arguments by the rules events are written by (built once per attrs class).

    ``TypeError`` for a type the codec cannot write.
    """
    with _lock:
        return _field_codec(t, where)
