"""Folding events into a request: :func:`evolve` (one event on a state),
:func:`replay` (a whole stream), and the kernel both use, :func:`apply`.

:func:`apply` is the one place an event changes a request: it checks that the event
fits the request's state (the transition table) and belongs to the request, lets the
event's evolver set its changes on the draft, then sets the new state, version and
time. The decider's batch, :func:`replay` and :func:`evolve` all go through it;
:func:`replay` applies a whole stream to one draft and builds the frozen state once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reqfulfill.lifecycle.draft import RequestDraft
from reqfulfill.lifecycle.evolvers import EVOLVERS, Evolver
from reqfulfill.lifecycle.table import EVENT_STATES, STATE_CHANGES, S
from reqfulfill.model import events as ev
from reqfulfill.model.enums import RequestState
from reqfulfill.model.errors import TransitionError
from reqfulfill.model.request import ServiceRequest

__all__ = ["STEPS", "Step", "apply", "evolve", "replay", "start"]

Step = tuple[frozenset[RequestState | None], RequestState | None, Evolver]
"""Per event type: the states it fits, the state it leads to (None: it keeps the state,
or its evolver decides) and its evolver."""


def _steps() -> dict[type[ev.Event], Step]:
    out: dict[type[ev.Event], Step] = {}
    for cls, (sources, target) in STATE_CHANGES.items():
        out[cls] = (sources, target, EVOLVERS[cls])
    for cls, states in EVENT_STATES.items():
        out[cls] = (frozenset(states), None, EVOLVERS[cls])
    return out


STEPS: Mapping[type[ev.Event], Step] = _steps()
"""The transition table and the evolvers joined: one look-up per event."""


def start(event: ev.Event) -> RequestDraft:
    """The draft of a stream's first event (which must be a ``RequestSubmitted``)."""
    if type(event) is not ev.RequestSubmitted:
        raise TransitionError(event.request_id, None, event.type, "event does not fit")
    return RequestDraft(
        id=event.request_id,
        requester=event.requester,
        item=event.item,
        channel=event.channel,
        answers=event.answers,
        state=S.SUBMITTED,
        created_at=event.at,
        updated_at=event.at,
        version=1,
        messages=() if event.message_id is None else (event.message_id,),
    )


def apply(draft: RequestDraft, event: ev.Event) -> None:
    """Apply ``event`` to ``draft`` in place.

    Raises :class:`TransitionError` when the event does not fit the draft's state or
    belongs to another request (the draft is unchanged then), or names a task the
    plan lacks (the draft is to be dropped then).
    """
    fits, target, evolver = STEPS[type(event)]
    current = draft.state
    if current not in fits:
        raise TransitionError(event.request_id, current, event.type, "event does not fit")
    if draft.id != event.request_id:
        raise TransitionError(draft.id, current, event.type, "event of another request")
    evolver(draft, event)
    if target is not None:
        draft.state = target
    draft.version += 1
    draft.updated_at = event.at


def evolve(state: ServiceRequest | None, event: ev.Event) -> ServiceRequest:
    """Apply one event to a state (``None`` before the first event).

    Raises :class:`TransitionError` when the event does not fit the state (a
    corrupt or misordered stream).
    """
    if state is None:
        return start(event).build()
    draft = RequestDraft.of(state)
    apply(draft, event)
    return draft.build()


def replay(events: Iterable[ev.Event]) -> ServiceRequest:
    """Fold a request's whole stream into its current state.

    Raises :class:`~reqfulfill.model.errors.TransitionError` where folding
    :func:`evolve` would (an event that does not fit, or of
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
