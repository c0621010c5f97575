"""Sample events, summaries and ids for the contract kits (and for tests of stores).

Every value is built from the model's own classes, so a new event type or field is
covered the day it is added (:func:`sample_events`).
"""

from __future__ import annotations

import enum
import types
import typing
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from reqfulfill.model.events import EVENT_TYPES, Event, NotificationRequested, RequestWaiting
from reqfulfill.model.supplier import Notification
from reqfulfill.stores import RequestSummary

__all__ = [
    "T0",
    "new_id",
    "notification_event",
    "sample_event",
    "sample_events",
    "sample_summary",
    "summary_fields",
    "waiting_event",
    "waiting_stream",
]

T0 = datetime(2025, 3, 3, 9, 0, 0, 123456, tzinfo=UTC)
"""The instant the kit's sample events happen (a Monday morning, with microseconds)."""

# -- sample events --------------------------------------------------------------------------

_SAMPLE_MAPPING: Mapping[str, Any] = {
    "cost": 899,
    "from_stock": False,
    "ratio": 0.5,
    "note": "Toimitus Helsinkiin ✓",
    "tags": ["a", "b"],
    "nested": {"depth": 2, "none": None},
}


def _sample_value(hint: Any, name: str, at: datetime) -> Any:
    """A non-default value of type ``hint`` for field ``name`` (raises for unknown types)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        chosen = next(a for a in args if a is not type(None))
        return _sample_value(chosen, name, at)
    if hint is Any:
        return {"value": name}
    if hint is bool:
        return True
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return list(hint)[-1]
    if hint is int:
        return 3
    if hint is float:
        return 0.75
    if hint is str:
        return f"{name} «sample» ✓"
    if hint is datetime:
        return at + timedelta(hours=4, microseconds=7)
    if hint is timedelta:
        return timedelta(hours=2, minutes=15)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (_sample_value(args[0], name, at), _sample_value(args[0], name + "2", at))
        return tuple(_sample_value(a, name, at) for a in args)
    if origin in (Mapping, dict):
        return dict(_SAMPLE_MAPPING)
    if isinstance(hint, type) and attrs.has(hint):
        return _sample_attrs(hint, when=at)
    raise TypeError(f"the contract kit cannot build a sample {name}: {hint!r}; teach _sample_value")


def _sample_attrs(cls: type[Any], when: datetime, **given: Any) -> Any:
    hints = typing.get_type_hints(cls)
    values = dict(given)
    for field in attrs.fields(cls):
        if field.name not in values and field.init:
            values[field.name] = _sample_value(hints[field.name], field.name, when)
    return cls(**values)


def sample_event(
    cls: type[Event], request_id: str, version: int, *, at: datetime = T0, actor: str = "tester"
) -> Event:
    """An instance of event class ``cls`` with every field set to a non-default value.

    ``event_id`` is ``"<request_id>/<version>"``, as the service makes them.

    >>> from reqfulfill.model.events import RequestWaiting
    >>> sample_event(RequestWaiting, "REQ-1", 7).event_id
    'REQ-1/7'
    """
    return typing.cast(
        Event,
        _sample_attrs(
            cls,
            when=at,
            event_id=f"{request_id}/{version}",
            request_id=request_id,
            at=at,
            actor=actor,
        ),
    )


def sample_events(request_id: str, *, start: int = 1, at: datetime = T0) -> list[Event]:
    """One sample of every event type (sorted by name), numbered from version ``start``."""
    return [
        sample_event(cls, request_id, start + i, at=at + timedelta(seconds=i))
        for i, cls in enumerate(sorted(EVENT_TYPES.values(), key=lambda c: c.__name__))
    ]


def waiting_event(request_id: str, version: int, reason: str, at: datetime = T0) -> Event:
    """A ``RequestWaiting`` event (not an effect) with id ``"<request_id>/<version>"``."""
    return RequestWaiting(
        event_id=f"{request_id}/{version}",
        request_id=request_id,
        at=at,
        actor="tester",
        reason=reason,
    )


def waiting_stream(
    request_id: str, count: int, *, start: int = 1, at: datetime = T0
) -> list[Event]:
    """``count`` waiting events numbered from version ``start``, one second apart,
    each with its own reason (``"step <n>"``)."""
    return [
        waiting_event(request_id, start + i, f"step {start + i}", at + timedelta(seconds=i))
        for i in range(count)
    ]


def notification_event(request_id: str, version: int, at: datetime = T0) -> Event:
    """A ``NotificationRequested`` event: an effect, so an append puts it in the outbox."""
    return NotificationRequested(
        event_id=f"{request_id}/{version}",
        request_id=request_id,
        at=at,
        actor="tester",
        notification=Notification(
            kind="request_fulfilled",
            recipient="erin.user",
            request_id=request_id,
            subject="Done",
            body="Your request is fulfilled.",
        ),
    )


def sample_summary(request_id: str, **changes: Any) -> RequestSummary:
    """A summary of an in-fulfillment password reset, with ``changes`` applied."""
    base = RequestSummary(
        request_id=request_id,
        state="in_fulfillment",
        group="service-desk",
        agent=None,
        item="password-reset",
        requester="erin.user",
        priority=3,
        created_at=T0,
        updated_at=T0,
    )
    return attrs.evolve(base, **changes)


def summary_fields(summary: RequestSummary) -> tuple[Any, ...]:
    """A summary's fields as queries give them back (:meth:`RequestSummary.listed
    <reqfulfill.stores.RequestSummary.listed>`), as a tuple."""
    return attrs.astuple(summary.listed(), recurse=False)


def new_id(prefix: str = "REQ") -> str:
    """A fresh random id, ``<prefix>-`` and ten hex digits."""
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"
