"""Events as JSON: the stored form every store writes and reads.

The stored form of an event is a JSON object of its fields plus ``type`` (the class
name) and ``v`` (the schema version), keys sorted, compact, ASCII only: enums by
value, date-times in ISO 8601 with their offset, durations as ``"4h30m"``. Stored
events are read again with every load, so each event class has one codec built from
its fields (:mod:`reqfulfill.serialization._event_codec`); reading is as strict as
loading configuration, and a corrupt payload is a ``ValidationError`` naming every
bad path (``FeedbackRecorded.rating: expected an integer, got str``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from reqfulfill.model.errors import Problem, ValidationError, nesting_problem
from reqfulfill.model.events import EVENT_TYPES, Event
from reqfulfill.serialization._event_codec import EVENT_KEYS, Invalid, ObjectDecoder, event_codec

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "event_from_dict",
    "event_from_json",
    "event_to_dict",
    "event_to_json",
]

EVENT_SCHEMA_VERSION: Final = 1
"""Written with every stored event; readers refuse other versions (none exist yet)."""


def event_to_json(event: Event) -> str:
    """The event as compact JSON text (its stored form).

    A field value that does not fit the field's type is a ``ValidationError`` naming
    it: an event is never written in a form it could not be read back from.
    """
    try:
        return event_codec(type(event), EVENT_SCHEMA_VERSION).encode(event)
    except Invalid as invalid:
        kind = type(event).__name__
        problems = [Problem(kind + path, value, reason) for path, value, reason in invalid.problems]
        raise ValidationError(problems) from None


def event_to_dict(event: Event) -> dict[str, Any]:
    """The stored form of an event as a table: its fields, ``type`` and ``v``."""
    data: dict[str, Any] = json.loads(event_to_json(event))
    return data


def event_from_dict(data: Mapping[str, Any]) -> Any:
    """Rebuild an event from its stored form (:func:`event_to_dict`'s table).

    Strict: a missing or unknown key, a value of the wrong type or one nested too
    deeply is a ``ValidationError`` listing every problem with its path and value.
    """
    payload = data if type(data) is dict else dict(data)
    version = payload.get("v", 1)
    if version != EVENT_SCHEMA_VERSION:
        raise ValidationError.single("v", version, "unsupported event schema version")
    kind = payload.get("type")
    decode = _decoders.get(kind) if type(kind) is str else None
    if decode is None:
        decode = _decoder_for(kind)
    try:
        return decode(payload, 0, 1 + ("v" in payload))
    except Invalid as invalid:
        raise _corrupt(payload, str(kind), invalid) from None


_decoders: dict[str, ObjectDecoder] = {}
"""The decoder of each event type name read so far."""


def _decoder_for(kind: object) -> ObjectDecoder:
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError.single("type", kind, "unknown event type")
    decode = event_codec(cls, EVENT_SCHEMA_VERSION).decode
    if type(kind) is str:
        _decoders[kind] = decode
    return decode


def _corrupt(payload: Mapping[str, Any], kind: str, invalid: Invalid) -> ValidationError:
    """The error for a payload that did not decode: a value nested too deeply, wherever
    it is, or else every problem found."""
    fields = {key: value for key, value in payload.items() if key not in EVENT_KEYS}
    deep = nesting_problem(fields, kind)
    if deep is not None:
        return ValidationError([deep])
    return ValidationError(
        [Problem(kind + path, value, reason) for path, value, reason in invalid.problems]
    )


def event_from_json(text: str | bytes) -> Any:
    """Rebuild an event from :func:`event_to_json`'s text."""
    return event_from_dict(_load_json(text))


_DECODER: Final = json.JSONDecoder()
"""What ``json.loads`` uses (its default decoder)."""


def _load_json(text: str | bytes) -> Any:
    """``json.loads(text)``. A string that starts with ``{`` is read by the decoder at
    once (``json.loads`` would skip no white space before it, and raise the same errors);
    when the object is all of the text, as in a stored event, ``json.loads``' check for
    trailing text is not needed."""
    if type(text) is str and text[:1] == "{":
        value, end = _DECODER.raw_decode(text)
        if end == len(text):
            return value
    return json.loads(text)
