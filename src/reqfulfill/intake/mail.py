"""Mail parsing: :func:`parse_email` turns a raw RFC 5322 message into an
:class:`~reqfulfill.intake.message.InboundMessage`.

The standard library's ``email`` package reads it (modern policy). A mail that cannot
be received -- over the size limit, without a message id or a sender address -- is
refused with a ``ValidationError`` naming the header (or ``raw``) and what is wrong;
anything else odd (8-bit headers in an unknown charset, a broken MIME structure, a
charset Python does not know) is read as well as it can be, undecodable bytes
replaced. HTML bodies are turned into text; no script or remote content is loaded.
"""

from __future__ import annotations

import email.errors
import email.message
import email.policy
import re
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from reqfulfill.intake.message import Attachment, InboundMessage
from reqfulfill.intake.text import clean_text, html_to_text, split_reply
from reqfulfill.model.enums import Channel
from reqfulfill.model.errors import Problem, ValidationError, short_repr
from reqfulfill.serialization.arguments import MAX_ID_LENGTH

__all__ = ["MAX_EMAIL_SIZE", "parse_email"]

MAX_EMAIL_SIZE = 10 * 1024 * 1024
"""The largest mail :func:`parse_email` reads by default, in bytes (10 MB)."""

_MAX_PARTS = 500
"""MIME parts looked at, at most (a mail of thousands of parts is read no further)."""

_MAX_DEPTH = 20
"""How deeply nested multipart parts are looked into."""

_MAX_REFERENCES = 100
"""Message ids kept of a ``References`` header (the most recent ones)."""

_MAX_TEXT = 1_000_000
"""Characters of body text kept."""

_MAX_HEADER = 32_768
"""Characters of a header's value parsed; a longer one is cut (``References`` keeps its
end, the most recent ids). The ``email`` package's header parser takes time quadratic
in a value's length: a 240 KB ``Content-Type`` took 5 s of CPU, 10 MB would take hours."""

_MSG_ID = re.compile(r"<([^<>\s]{1,998})>")


class _CuttingPolicy(email.policy.EmailPolicy):
    """The modern policy, parsing at most :data:`_MAX_HEADER` characters of a header."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if isinstance(value, str) and len(value) > _MAX_HEADER:
            keep_end = name.lower() == "references"
            value = value[-_MAX_HEADER:] if keep_end else value[:_MAX_HEADER]
        parsed: str = super().header_fetch_parse(name, value)
        return parsed


_POLICY = _CuttingPolicy()

_HEADER_ERRORS = (
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    email.errors.MessageError,
)
"""What reading a malformed header or part can raise in the ``email`` package (its
header parsers are lenient but not total)."""


def parse_email(raw: bytes, *, max_size: int = MAX_EMAIL_SIZE) -> InboundMessage:
    """The message a raw mail holds.

    >>> mail = (b"Message-ID: <a1@mail.example>\\r\\nFrom: Erin User <Erin.User@example.com>"
    ...         b"\\r\\nSubject: new phone\\r\\n\\r\\nMy phone is broken.\\r\\n-- \\r\\nErin\\r\\n")
    >>> message = parse_email(mail)
    >>> message.message_id, message.sender, message.sender_name, message.text
    ('a1@mail.example', 'erin.user@example.com', 'Erin User', 'My phone is broken.')

    :param raw: the mail's bytes, as received (``bytes``, ``bytearray`` or ``memoryview``).
    :param max_size: the largest mail read, in bytes; a larger one is refused.
    :raises ValidationError: naming ``raw`` (not bytes, too large), ``Message-ID``
        (missing, empty or longer than 255 characters) or ``From`` (no address).
    """
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
        raise ValidationError.single("max_size", max_size, "expected a number of bytes")
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise ValidationError.single("raw", raw, "expected the mail's bytes")
    size = raw.nbytes if isinstance(raw, memoryview) else len(raw)
    if size > max_size:
        raise ValidationError.single(
            "raw", f"{size} bytes", f"the mail is over the size limit of {max_size} bytes"
        )
    data = bytes(raw)
    if not data.strip():
        raise ValidationError.single("raw", short_repr(data), "an empty mail")
    message = BytesParser(policy=_POLICY).parsebytes(data)
    problems: list[Problem] = []
    message_id = _message_id(message, problems)
    sender, name = _sender(message, problems)
    if problems:
        raise ValidationError(problems)
    body, attachments = _body(message)
    text, quoted = split_reply(body)
    return InboundMessage(
        message_id=message_id,
        sender=sender,
        subject=_header(message, "Subject"),
        text=text,
        in_reply_to=next(iter(_ids(_header(message, "In-Reply-To"))), None),
        references=tuple(_ids(_header(message, "References"))[-_MAX_REFERENCES:]),
        channel=Channel.EMAIL,
        sender_name=name,
        quoted=quoted,
        attachments=tuple(attachments),
    )


def _header(message: email.message.Message, name: str) -> str:
    """A header's decoded text ('' when missing or unreadable): 8-bit bytes in it are
    read as UTF-8 where they are, else replaced."""
    try:
        value = message.get(name)
        text = "" if value is None else str(value)
    except _HEADER_ERRORS:
        text = _raw_header(message, name)
    return " ".join(_undo_escapes(clean_text(text)).split())


def _raw_header(message: email.message.Message, name: str) -> str:
    """A header as it stands in the mail, undecoded (for a value the header registry
    cannot parse)."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return value if isinstance(value, str) else ""
    return ""


def _undo_escapes(text: str) -> str:
    """Text the parser read from 8-bit bytes (as surrogate escapes): as UTF-8 where it
    is, with replacement characters where it is not."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    return data.decode("utf-8", "replace")


def _ids(value: str) -> list[str]:
    """The message ids (``<...>``) in a header, without the brackets, in order."""
    found = [m for m in _MSG_ID.findall(value) if len(m) <= MAX_ID_LENGTH]
    return list(dict.fromkeys(found))


def _message_id(message: email.message.Message, problems: list[Problem]) -> str:
    value = _header(message, "Message-ID")
    found = _MSG_ID.findall(value)
    message_id = found[0] if found else value.strip().strip("<>").strip()
    if not message_id:
        problems.append(
            Problem("Message-ID", value or None, "a mail without a message id cannot be received")
        )
    elif len(message_id) > MAX_ID_LENGTH or any(ch.isspace() for ch in message_id):
        problems.append(
            Problem("Message-ID", value, f"not a message id (at most {MAX_ID_LENGTH} characters)")
        )
    return message_id


def _sender(message: email.message.Message, problems: list[Problem]) -> tuple[str, str]:
    """The sender's address (lower case) and name, from ``From`` (else ``Sender``)."""
    for header in ("From", "Sender"):
        value = _header(message, header)
        if not value:
            continue
        pairs = getaddresses([value])
        name, address = pairs[0] if pairs else parseaddr(value)
        address = address.strip().lower()
        if "@" in address and len(address) <= MAX_ID_LENGTH and _plain_address(address):
            return address, name.strip()
        problems.append(Problem(header, value, "no sender address in it"))
        return "", ""
    problems.append(Problem("From", None, "a mail without a sender cannot be received"))
    return "", ""


def _plain_address(address: str) -> bool:
    """Whether ``address`` reads as one mailbox (no spaces, one ``@``, both sides)."""
    local, _, domain = address.rpartition("@")
    return bool(local and domain) and not any(ch.isspace() or ch in "<>,;" for ch in address)


def _body(message: email.message.Message) -> tuple[str, list[Attachment]]:
    """The body's text (the first text/plain part, else the first text/html one as
    text) and the attachments' names and sizes."""
    plain: str | None = None
    markup: str | None = None
    attachments: list[Attachment] = []
    for part in _parts(message):
        filename = _filename(part)
        content_type = _content_type(part)
        if filename is not None or _disposition(part) == "attachment":
            payload = _payload(part)
            attachments.append(Attachment(filename or "", len(payload)))
        elif content_type == "text/plain" and plain is None:
            plain = _text(part)
        elif content_type == "text/html" and markup is None:
            markup = _text(part)
    if plain is not None and plain.strip():
        text = plain
    elif markup is not None:
        text = html_to_text(markup)
    else:
        text = plain or ""
    return clean_text(text[:_MAX_TEXT]).strip(), attachments


def _parts(message: email.message.Message) -> list[email.message.Message]:
    """The leaf parts, depth first, at most :data:`_MAX_PARTS` of them and no deeper
    than :data:`_MAX_DEPTH` (no recursion: a deeply nested mail is no danger)."""
    leaves: list[email.message.Message] = []
    stack: list[tuple[email.message.Message, int]] = [(message, 0)]
    seen = 0
    while stack and seen < _MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            if depth < _MAX_DEPTH:
                children = [c for c in payload if isinstance(c, email.message.Message)]
                stack.extend((child, depth + 1) for child in reversed(children))
        else:
            leaves.append(part)
    return leaves


def _content_type(part: email.message.Message) -> str:
    try:
        return part.get_content_type()
    except _HEADER_ERRORS:
        return "text/plain"


def _disposition(part: email.message.Message) -> str | None:
    try:
        return part.get_content_disposition()
    except _HEADER_ERRORS:
        return None


def _filename(part: email.message.Message) -> str | None:
    try:
        name = part.get_filename()
    except _HEADER_ERRORS:
        return None
    return None if name is None else _undo_escapes(clean_text(str(name)))[:MAX_ID_LENGTH]


def _payload(part: email.message.Message) -> bytes:
    """A part's decoded bytes (transfer encoding undone; b'' when unreadable)."""
    try:
        data = part.get_payload(decode=True)
    except _HEADER_ERRORS:
        return b""
    return data if isinstance(data, bytes) else b""


def _text(part: email.message.Message) -> str:
    """A text part's content in its declared charset; UTF-8 with replacement for an
    unknown or wrong one."""
    data = _payload(part)
    try:
        charset = part.get_content_charset() or "utf-8"
    except _HEADER_ERRORS:
        charset = "utf-8"
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError):  # a charset Python does not know, or no name at all
        return data.decode("utf-8", "replace")
