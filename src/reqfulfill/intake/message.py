"""What came in by mail, chat or phone: :class:`InboundMessage` and its attachments."""

from __future__ import annotations

import attrs

from reqfulfill.model.enums import Channel
from reqfulfill.serialization.arguments import Id, Text

__all__ = ["Attachment", "InboundMessage"]


@attrs.frozen
class Attachment:
    """An attachment's file name and size in bytes (its content is not kept)."""

    name: str
    size: int


@attrs.frozen
class InboundMessage:
    """A message a requester sent: a mail (:func:`~reqfulfill.intake.parse_email`),
    or a chat message or phone note a host builds itself.

    ``message_id`` identifies it (receiving it twice makes one request); ``sender``
    is the address (lower case for mail); ``text`` what the sender wrote, without
    the quoted reply history and the signature, which are kept in ``quoted``.
    ``in_reply_to`` and ``references`` name earlier messages of the thread.

    >>> note = InboundMessage("chat-81", "erin.user", "", "my phone is broken",
    ...                       channel=Channel.CHAT)
    >>> note.channel.value
    'chat'
    """

    message_id: Id
    sender: Id
    subject: Text
    text: Text
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    channel: Channel = Channel.EMAIL
    sender_name: Text = ""
    quoted: Text = ""
    attachments: tuple[Attachment, ...] = ()

    @property
    def thread(self) -> tuple[str, ...]:
        """The earlier messages this one names, the one it answers first."""
        named = [self.in_reply_to] if self.in_reply_to else []
        named += reversed(self.references)
        return tuple(dict.fromkeys(named))
