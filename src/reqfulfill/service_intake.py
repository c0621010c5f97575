"""``receive``: a mail or chat message made into a request, or recorded on the request
it answers (a mixin of :class:`~reqfulfill.service.FulfillmentService`).

A message is received once: its id is stored with the request in the append that
records it (``RequestSummary.messages``), so the same mail delivered again -- to this
process or another -- finds the request it made and writes nothing. Two processes
receiving it at the same moment both try; the store's unique key on the message id
makes the second append fail (``ConcurrencyError``), and the second finds the first's
request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cached_property

from reqfulfill import lifecycle
from reqfulfill.intake.message import InboundMessage
from reqfulfill.intake.suggest import Suggester
from reqfulfill.model.catalog import Catalog, Requester
from reqfulfill.model.enums import Channel
from reqfulfill.model.errors import ConcurrencyError, NotFoundError, ValidationError
from reqfulfill.model.events import ItemSuggestion
from reqfulfill.model.request import ServiceRequest
from reqfulfill.plugins import PluginHost
from reqfulfill.serialization.arguments import argument_problems, check_instance, string_problem
from reqfulfill.stores import Store

__all__ = ["MessageIntake", "bracketed_ids"]

_BRACKETED = re.compile(r"\[([^\[\]\s]{1,255})\]")
"""``[REQ-1A2B3C]`` in a subject: a bracketed word, without spaces (linear to match)."""

_MAX_BRACKETS = 5
"""Bracketed words of a subject looked up, at most (``[EXT] [SPAM?] ...``)."""

_MAX_SUBJECT = 2_000
"""Characters of a subject searched for a request id."""


def bracketed_ids(subject: str) -> list[str]:
    """The bracketed words of a subject that may be request ids, in order.

    >>> bracketed_ids("Re: [EXTERNAL] still broken [REQ-0A1B2C3D4E5F]")
    ['EXTERNAL', 'REQ-0A1B2C3D4E5F']
    """
    found = _BRACKETED.findall(subject[:_MAX_SUBJECT])
    return list(dict.fromkeys(found))[:_MAX_BRACKETS]


class MessageIntake:
    """:meth:`receive` (a base class of :class:`~reqfulfill.service.FulfillmentService`)."""

    catalog: Catalog
    store: Store
    plugins: PluginHost

    def execute(self, request_id: str, command: lifecycle.Command) -> ServiceRequest:
        """Run one command on a request (implemented by the service)."""
        raise NotImplementedError

    def get(self, request_id: str) -> ServiceRequest:
        """A request's current state (implemented by the service)."""
        raise NotImplementedError

    def submit(
        self,
        requester: Requester,
        item: str | None,
        channel: Channel,
        answers: Mapping[str, object] | None = None,
        actor: str | None = None,
        *,
        request_id: str | None = None,
        message_id: str | None = None,
        suggestions: Sequence[ItemSuggestion] = (),
    ) -> ServiceRequest:
        """Create a request (implemented by the service)."""
        raise NotImplementedError

    @cached_property
    def suggester(self) -> Suggester:
        """The suggester :meth:`receive` asks, built from the catalog on first use
        (assign another -- one with a reranker, say -- to replace it)."""
        return Suggester(self.catalog)

    def receive(
        self, message: InboundMessage, requester: Requester | None = None
    ) -> ServiceRequest:
        """Make a request of ``message``, or record it on the request it answers.

        - A message received before (the same ``message_id``) returns the request it
          made or was recorded on, and writes nothing.
        - A reply -- its ``in_reply_to`` or ``references`` name a message of a known
          request, or its subject holds a request id in brackets (``[REQ-…]``) -- is
          recorded on that request (``RequesterReplied``) and its assignee notified.
        - Otherwise it is a new request of ``requester`` (else the first answer of the
          ``reqfulfill_requester`` hook for the sender's address) through the message's
          channel, waiting in triage with the suggester's items attached; when the
          top one's confidence reaches the channel's threshold in the catalog
          (``[intake] auto_triage``), it is triaged to that item at once.

        :raises ValidationError: ``message`` or ``requester`` is not one, or a field
            of it does not fit (``message.message_id: ...``); nothing is written.
        :raises NotFoundError: a new request whose sender no one knows (naming the
            address); nothing is written.
        """
        message = check_instance(message, InboundMessage, "message", "an InboundMessage")
        problems = argument_problems(message, "message")
        if problems:
            raise ValidationError(problems)
        if requester is not None:
            check_instance(requester, Requester, "requester", "a Requester or None")
        known = self.store.find_message(message.message_id)
        if known is not None:
            return self.get(known)
        answered = self._answered(message)
        if answered is not None:
            who = requester or self.plugins.requester(message.sender)
            actor = who.id if who is not None else message.sender
            return self.execute(
                answered,
                lifecycle.RecordReply(
                    actor=actor, message_id=message.message_id, text=message.text
                ),
            )
        who = requester if requester is not None else self.plugins.requester(message.sender)
        if who is None:
            raise NotFoundError(
                "requester", message.sender, f"no requester known for address {message.sender!r}"
            )
        text = f"{message.subject}\n{message.text}".strip()
        suggestions = [s.recorded() for s in self.suggester.suggest(text)]
        try:
            return self.submit(
                who,
                None,
                message.channel,
                actor=who.id,
                message_id=message.message_id,
                suggestions=suggestions,
            )
        except ConcurrencyError:
            # another process recorded the same message first: that is the request
            first = self.store.find_message(message.message_id)
            if first is None:
                raise
            return self.get(first)

    def _answered(self, message: InboundMessage) -> str | None:
        """The id of the request ``message`` answers, if any: the request of a message
        of its thread, else a request whose id its subject holds in brackets."""
        for named in message.thread:
            if string_problem(named, "message.references") is not None:
                continue
            found = self.store.find_message(named)
            if found is not None:
                return found
        for candidate in bracketed_ids(message.subject):
            if string_problem(candidate, "message.subject") is not None:
                continue
            try:
                self.get(candidate)
            except NotFoundError:
                continue
            return candidate
        return None
