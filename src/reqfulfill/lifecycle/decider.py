"""The decider: ``decide`` checks a command against the request and the context and
returns the events it records.

The handlers live by concern in :mod:`~reqfulfill.lifecycle.handlers_request`,
:mod:`~reqfulfill.lifecycle.handlers_tasks` and
:mod:`~reqfulfill.lifecycle.handlers_effects` (``Submit`` in
:mod:`~reqfulfill.lifecycle.intake`); :data:`HANDLERS` joins their tables. A command
runs on a :class:`~reqfulfill.lifecycle.batch.Batch` holding a draft of the request;
the frozen state after the command is built once.
"""

from __future__ import annotations

from collections.abc import Mapping

from reqfulfill.lifecycle import (
    handlers_effects,
    handlers_intake,
    handlers_request,
    handlers_stock,
    handlers_tasks,
)
from reqfulfill.lifecycle.batch import Batch, Handler
from reqfulfill.lifecycle.clock import sync_sla
from reqfulfill.lifecycle.command_types import COMMAND_STATES, Command, Submit
from reqfulfill.lifecycle.context import Context
from reqfulfill.lifecycle.draft import RequestDraft
from reqfulfill.lifecycle.intake import submit
from reqfulfill.model import events as ev
from reqfulfill.model.errors import TransitionError
from reqfulfill.model.request import ServiceRequest

__all__ = ["HANDLERS", "decide", "decide_and_evolve"]

HANDLERS: Mapping[type[Command], Handler] = {
    **handlers_request.HANDLERS,
    **handlers_tasks.HANDLERS,
    **handlers_effects.HANDLERS,
    **handlers_intake.HANDLERS,
    **handlers_stock.HANDLERS,
}
"""Per command type other than ``Submit``, its handler."""

_missing = set(COMMAND_STATES) - set(HANDLERS)
if _missing:  # pragma: no cover - caught by the import itself
    raise AssertionError(f"commands without a handler: {_missing}")


def decide(state: ServiceRequest | None, command: Command, context: Context) -> list[ev.Event]:
    """Check ``command`` against ``state`` and policy; return the new events.

    Raises :class:`TransitionError` when the command is not valid in the state,
    :class:`AuthorizationError` when the actor may not run it, and
    :class:`ValidationError` for bad arguments. Returns ``[]`` for commands that
    change nothing (a duplicate supplier update, closing a closed request).
    """
    return decide_and_evolve(state, command, context)[0]


def decide_and_evolve(
    state: ServiceRequest | None, command: Command, context: Context
) -> tuple[list[ev.Event], ServiceRequest | None]:
    """:func:`decide`, and the state after its events (``decide`` folds them anyway,
    so the caller need not apply them a second time; ``state`` itself when there are
    none)."""
    if isinstance(command, Submit):
        if state is not None:
            raise TransitionError(command.request_id, state.state, command.name, "already exists")
        return submit(command, context).outcome(None)
    if state is None:
        raise TransitionError(None, None, command.name, "no such request")
    allowed = COMMAND_STATES[type(command)]
    if state.state not in allowed:
        raise TransitionError(state.id, state.state, command.name)
    batch = Batch(RequestDraft.of(state), context, command.actor)
    HANDLERS[type(command)](batch, command)
    sync_sla(batch)
    return batch.outcome(state)
