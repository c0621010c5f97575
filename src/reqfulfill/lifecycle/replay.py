"""Replay: a whole stream folded into the request's current state.

The same as folding :func:`~reqfulfill.lifecycle.evolve` over the events, with one
draft for the whole stream and one frozen state built at the end.
"""

from __future__ import annotations

from collections.abc import Iterable

from reqfulfill.lifecycle.evolve import apply, start
from reqfulfill.model import events as ev
from reqfulfill.model.request import ServiceRequest

__all__ = ["replay"]


def replay(events: Iterable[ev.Event]) -> ServiceRequest:
    """Fold a request's whole stream into its current state.

    Raises :class:`~reqfulfill.model.errors.TransitionError` where folding
    :func:`~reqfulfill.lifecycle.evolve` would (an event that does not fit, or of
    another request).

    >>> replay([])
    Traceback (most recent call last):
    ...
    ValueError: cannot replay an empty stream
    """
    stream = iter(events)
    first = next(stream, None)
    if first is None:
        raise ValueError("cannot replay an empty stream")
    draft = start(first)
    for event in stream:
        apply(draft, event)
    return draft.build()
