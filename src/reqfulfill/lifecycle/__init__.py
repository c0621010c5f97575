"""The request lifecycle as a pure decider: ``decide``, ``evolve``, ``replay``.

``decide(state, command, context)`` checks a command against the current state
and policy and returns the new events (or raises a typed error and writes
nothing); ``evolve(state, event)`` applies one event; ``replay(events)`` folds a
whole stream. Nothing here reads a clock, a store or a plugin: the service
passes ``now`` and a snapshot of the directory in the :class:`Context`.

The transition table is data (:data:`STATE_CHANGES`, :data:`EVENT_STATES`,
:data:`COMMAND_STATES`) and is checked when this package is imported.

The package's modules, one concern each: ``table`` (the transition table),
``command_types`` (the commands and the states they run in), ``context`` (what a
decision needs besides the state), ``decider`` (``decide``) with ``batch`` (its
kernel), ``guards`` (who may do what), ``intake`` (submit, routing, approval, triage),
``plan`` (plan building), ``progress`` (tasks starting, fulfilment, notices), ``clock``
(the request's SLA clock), ``wanted`` (whether a request still wants an effect, asked
by the worker and the handlers), the handlers by concern (``handlers_request``,
``handlers_tasks``, ``handlers_effects``, ``handlers_stock``), ``stock`` (asking the
inventory for a reservation and giving one back), ``draft`` (the mutable request events are
applied to), ``evolvers`` (what each event changes) and ``fold`` (``evolve``,
``replay`` and the kernel applying an event). This package re-exports the public
names. No module is named after a name it re-exports: ``lifecycle.decide``,
``lifecycle.evolve``, ``lifecycle.replay`` and ``lifecycle.commands`` are functions.

>>> from reqfulfill.model.enums import RequestState
>>> RequestState.IN_FULFILLMENT in TRANSITIONS[RequestState.APPROVED]
True
"""

from __future__ import annotations

from reqfulfill.lifecycle.approvals import next_approval_deadline as next_approval_deadline
from reqfulfill.lifecycle.clock import next_sla_deadline as next_sla_deadline
from reqfulfill.lifecycle.command_types import (
    COMMAND_STATES,
    SYSTEM,
    WORKER,
    Approve,
    Assign,
    AutoClose,
    AutomationSucceeded,
    Cancel,
    Claim,
    Close,
    Command,
    CompleteTask,
    ConfirmDelivery,
    DisputeDelivery,
    EffectFailed,
    FailTask,
    FireApproval,
    FireSla,
    NotificationDelivered,
    OrderCancelled,
    OrderPlaced,
    RecordAssetRegistered,
    RecordAttempt,
    RecordFeedback,
    RecordRelease,
    RecordReply,
    RecordReservation,
    RecordSupplierUpdate,
    Reject,
    Reprioritize,
    Resume,
    Ship,
    SkipTask,
    StartTask,
    Submit,
    Triage,
    Wait,
)
from reqfulfill.lifecycle.command_types import commands as commands
from reqfulfill.lifecycle.context import Context, Directory, StaticDirectory
from reqfulfill.lifecycle.decider import decide, decide_and_evolve
from reqfulfill.lifecycle.fold import evolve, replay
from reqfulfill.lifecycle.intake import submitted_event as submitted_event
from reqfulfill.lifecycle.plan import DEFAULT_TASK as DEFAULT_TASK
from reqfulfill.lifecycle.table import EVENT_STATES, STATE_CHANGES, TRANSITIONS
from reqfulfill.lifecycle.table import S as S
from reqfulfill.lifecycle.wanted import why_unwanted

__all__ = [
    "COMMAND_STATES",
    "EVENT_STATES",
    "STATE_CHANGES",
    "SYSTEM",
    "TRANSITIONS",
    "WORKER",
    "Approve",
    "Assign",
    "AutoClose",
    "AutomationSucceeded",
    "Cancel",
    "Claim",
    "Close",
    "Command",
    "CompleteTask",
    "ConfirmDelivery",
    "Context",
    "Directory",
    "DisputeDelivery",
    "EffectFailed",
    "FailTask",
    "FireApproval",
    "FireSla",
    "NotificationDelivered",
    "OrderCancelled",
    "OrderPlaced",
    "RecordAssetRegistered",
    "RecordAttempt",
    "RecordFeedback",
    "RecordRelease",
    "RecordReply",
    "RecordReservation",
    "RecordSupplierUpdate",
    "Reject",
    "Reprioritize",
    "Resume",
    "Ship",
    "SkipTask",
    "StartTask",
    "StaticDirectory",
    "Submit",
    "Triage",
    "Wait",
    "decide",
    "decide_and_evolve",
    "evolve",
    "replay",
    "why_unwanted",
]

# Also public (imported ``as`` themselves above) but not in ``__all__``, as before:
# ``S``, ``DEFAULT_TASK``, ``commands``, ``next_sla_deadline``, ``next_approval_deadline``,
# ``submitted_event``.
