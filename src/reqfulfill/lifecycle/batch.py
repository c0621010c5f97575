"""The decider's kernel: a :class:`Batch` collects one command's events and applies
each to a draft of the request as it is emitted.

Handlers read the request through :attr:`Batch.draft`, a live
:class:`~reqfulfill.lifecycle.draft.RequestDraft`: it is the request after the events
emitted so far, and it changes with the next :meth:`Batch.emit`. A handler reads a
field when it needs it; a value it read (a frozen ``Task``, a tuple, the SLA status)
stays what it was. The frozen state is built once, when the command is decided
(:meth:`Batch.outcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from reqfulfill.lifecycle.context import Context
from reqfulfill.lifecycle.draft import RequestDraft
from reqfulfill.lifecycle.fold import apply
from reqfulfill.model import events as ev
from reqfulfill.model.request import ServiceRequest

__all__ = ["Batch", "Handler"]


class Batch:
    """The events of one decision, applied to a draft of the request as they are
    emitted: ``events`` in order, ``draft`` the request after them."""

    __slots__ = ("actor", "context", "draft", "events", "request_id")

    def __init__(
        self,
        draft: RequestDraft,
        context: Context,
        actor: str,
        events: Iterable[ev.Event] = (),
    ) -> None:
        self.draft = draft
        self.request_id = draft.id
        self.context = context
        self.actor = actor
        self.events: list[ev.Event] = list(events)

    def emit(self, cls: type[ev.Event], *, actor: str | None = None, **fields: Any) -> ev.Event:
        """Record an event of type ``cls`` (by ``actor``, else the command's actor) and
        apply it to the draft; raises ``TransitionError`` if it does not fit."""
        event = cls(
            event_id=f"{self.request_id}/{self.draft.version + 1}",
            request_id=self.request_id,
            at=self.context.now,
            actor=actor if actor is not None else self.actor,
            **fields,
        )
        apply(self.draft, event)
        self.events.append(event)
        return event

    def outcome(
        self, before: ServiceRequest | None
    ) -> tuple[list[ev.Event], ServiceRequest | None]:
        """The events and the state after them, built once (``before`` itself when the
        command recorded nothing)."""
        if not self.events:
            return self.events, before
        return self.events, self.draft.build()


Handler = Callable[[Batch, Any], None]
"""A command handler: checks the command against the batch's request and emits."""
