"""Requests from email and chat: parse a mail, suggest catalog items for its text.

- :func:`parse_email` turns a raw mail into an :class:`InboundMessage` (hosts build
  one themselves for chat messages and phone notes);
- :meth:`FulfillmentService.receive <reqfulfill.FulfillmentService.receive>` makes a
  request of it, idempotently, or records it on the request it answers;
- :class:`Suggester` proposes catalog items for free text, with a confidence and the
  words that led to them; :func:`evaluate` measures it on labelled messages.
"""

from __future__ import annotations

from reqfulfill.intake.evaluate import (
    THRESHOLDS,
    Evaluation,
    Labelled,
    ThresholdRow,
    evaluate,
    read_labelled,
)
from reqfulfill.intake.mail import MAX_EMAIL_SIZE, parse_email
from reqfulfill.intake.message import Attachment, InboundMessage
from reqfulfill.intake.suggest import FIELD_WEIGHTS, Reranker, Suggester, Suggestion

__all__ = [
    "FIELD_WEIGHTS",
    "MAX_EMAIL_SIZE",
    "THRESHOLDS",
    "Attachment",
    "Evaluation",
    "InboundMessage",
    "Labelled",
    "Reranker",
    "Suggester",
    "Suggestion",
    "ThresholdRow",
    "evaluate",
    "parse_email",
    "read_labelled",
]
