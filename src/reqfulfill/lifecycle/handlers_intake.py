"""The handler of a reply that came in by mail or chat (:class:`RecordReply`).

A reply is recorded once per message id (a mail delivered twice changes nothing the
second time) and its assignee -- the agent, else the group -- is told about it.
"""

from __future__ import annotations

from collections.abc import Mapping

from reqfulfill.lifecycle.batch import Batch, Handler
from reqfulfill.lifecycle.command_types import INTERNAL_ACTORS, Command, RecordReply
from reqfulfill.lifecycle.guards import deny
from reqfulfill.lifecycle.progress import notify
from reqfulfill.model import events as ev

__all__ = ["HANDLERS", "REPLY_NOTICE"]

REPLY_NOTICE = "requester_replied"
"""The kind of the notification that tells the assignee about a reply."""

_EXCERPT = 500
"""How much of a reply's text the notification quotes."""


def _record_reply(batch: Batch, command: RecordReply) -> None:
    if command.actor in INTERNAL_ACTORS:
        raise deny(batch, command, "a reply comes from a person, not the system")
    request = batch.draft
    if command.message_id in request.messages:
        return  # delivered again: recorded the first time
    batch.emit(ev.RequesterReplied, message_id=command.message_id, text=command.text)
    excerpt = command.text[:_EXCERPT] + ("..." if len(command.text) > _EXCERPT else "")
    subject = f"Reply on {request.id}"
    if request.agent is not None:
        notify(batch, REPLY_NOTICE, request.agent, subject, excerpt)
    elif request.group is not None:
        notify(batch, REPLY_NOTICE, f"group:{request.group}", subject, excerpt)


HANDLERS: Mapping[type[Command], Handler] = {RecordReply: _record_reply}
"""Per command type, its handler."""
