"""The request being worked on: :class:`RequestDraft`, a mutable twin of
:class:`~reqfulfill.model.request.ServiceRequest`.

The decider and :func:`~reqfulfill.lifecycle.fold.replay` apply many events in a row. A
frozen state copied per event would cost a thirty-field copy each time; instead they
take one draft (:meth:`RequestDraft.of` a state, or the first event), let every event
set the fields it changes on the draft (plain attribute writes on a mutable object),
and build the frozen state once at the end (:meth:`RequestDraft.build`). Nobody but
the code that made a draft ever sees it.

The draft has exactly ServiceRequest's fields, in the same order (a unit test checks
it), and the same questions (:class:`~reqfulfill.model.request.RequestQueries`). Its
field values are the frozen state's own values, shared: a change replaces a field's
value with a new one, it never changes a value (a mapping, a task) in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from reqfulfill.model.approval import StageStatus
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel, Impact, Priority, RequestState, Urgency
from reqfulfill.model.request import (
    Approval,
    Assignment,
    Feedback,
    RequestQueries,
    ServiceRequest,
    SlaStatus,
    Task,
)
from reqfulfill.model.supplier import Notification

__all__ = ["FIELD_NAMES", "RequestDraft"]


@attrs.define(slots=True)
class RequestDraft(RequestQueries):
    """A service request while events are applied to it: ServiceRequest's fields,
    writable. Made by :meth:`of` (from a state) or by the first event; turned into a
    state by :meth:`build`."""

    id: str
    requester: Requester
    item: str | None
    channel: Channel
    answers: Mapping[str, Any]
    state: RequestState
    created_at: datetime
    updated_at: datetime
    version: int
    approval: Approval | None = None
    assignment: Assignment | None = None
    category: str | None = None
    priority: Priority | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    plan: tuple[Task, ...] = ()
    sla: SlaStatus = attrs.field(factory=SlaStatus)
    feedback: Feedback | None = None
    approvers: tuple[str, ...] = ()
    waiting_reason: str | None = None
    resume_to: RequestState | None = None
    cancel_reason: str | None = None
    delivery_confirmed: bool = False
    fulfilled_at: datetime | None = None
    closed_at: datetime | None = None
    manual: tuple[str, ...] = ()
    settled: frozenset[str] = frozenset()
    attempted: Mapping[str, int] = attrs.field(factory=dict)
    order_tasks: Mapping[str, str] = attrs.field(factory=dict)
    cancel_effects: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    pending_notifications: Mapping[str, Notification] = attrs.field(factory=dict)
    approval_stages: tuple[StageStatus, ...] = ()
    messages: tuple[str, ...] = ()

    @classmethod
    def of(cls, request: ServiceRequest) -> RequestDraft:
        """A draft holding ``request``'s field values (the request is not changed).

        A state keeps its fields, and nothing else, in its ``__dict__`` (a frozen attrs
        class without slots, see ServiceRequest), written by ``__init__`` in field order:
        its values are the draft's arguments in order, read without a look-up per field."""
        return cls(*request.__dict__.values())

    def build(self) -> ServiceRequest:
        """The frozen state with the draft's field values (the draft may go on).

        Every field by name, in field order (a unit test checks it): a slot read each,
        where one ``operator.attrgetter`` of them all makes a generic look-up per field."""
        return ServiceRequest(
            self.id,
            self.requester,
            self.item,
            self.channel,
            self.answers,
            self.state,
            self.created_at,
            self.updated_at,
            self.version,
            self.approval,
            self.assignment,
            self.category,
            self.priority,
            self.impact,
            self.urgency,
            self.plan,
            self.sla,
            self.feedback,
            self.approvers,
            self.waiting_reason,
            self.resume_to,
            self.cancel_reason,
            self.delivery_confirmed,
            self.fulfilled_at,
            self.closed_at,
            self.manual,
            self.settled,
            self.attempted,
            self.order_tasks,
            self.cancel_effects,
            self.pending_notifications,
            self.approval_stages,
            self.messages,
        )


FIELD_NAMES: tuple[str, ...] = tuple(a.name for a in attrs.fields(ServiceRequest))
"""ServiceRequest's fields, in order: the draft's too."""
