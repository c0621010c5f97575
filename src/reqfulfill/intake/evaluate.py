"""How well a suggester does on labelled messages: precision at 1 and at 3, and per
confidence threshold the share auto-triaged and the share auto-triaged to a wrong
item (``reqfulfill suggest-eval``).

A labelled file has one JSON object a line, ``{"text": ..., "item": ...}``: ``item``
is the catalog item the message is about, or ``null`` for a message no item fits
(a thank-you, an out-of-office reply), which is wrong whatever it is triaged to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

import attrs

from reqfulfill.intake.suggest import Suggester
from reqfulfill.intake.text import split_reply
from reqfulfill.model.errors import Problem, ValidationError

__all__ = ["THRESHOLDS", "Evaluation", "Labelled", "ThresholdRow", "evaluate", "read_labelled"]

THRESHOLDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
"""The thresholds an evaluation reports."""

_MAX_FILE = 50 * 1024 * 1024
"""The largest labelled file read, in bytes."""


@attrs.frozen
class Labelled:
    """A message's text and the item it is about (None: no item fits)."""

    text: str
    item: str | None


@attrs.frozen
class ThresholdRow:
    """At ``threshold``: the share of messages auto-triaged, and wrongly so."""

    threshold: float
    auto: float
    wrong: float


@attrs.frozen
class Evaluation:
    """An evaluation's figures; ``messages`` counts all, ``labelled`` those with an item."""

    messages: int
    labelled: int
    precision_at_1: float
    precision_at_3: float
    thresholds: tuple[ThresholdRow, ...]

    def to_dict(self) -> dict[str, object]:
        """The figures as JSON data."""
        return attrs.asdict(self)


def read_labelled(path: str | PathLike[str]) -> list[Labelled]:
    """The labelled messages of a JSON-lines file; ``ValidationError`` naming each bad
    line (``line 7: expected {"text": ..., "item": ...}``)."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > _MAX_FILE:
            raise ValidationError.single(str(path), size, f"over {_MAX_FILE} bytes")
        content = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError.single(str(path), None, f"cannot be read: {error}") from None
    rows: list[Labelled] = []
    problems: list[Problem] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            problems.append(Problem(f"line {number}", line[:80], "not JSON"))
            continue
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("text"), str)
            or not isinstance(data.get("item"), str | None)
        ):
            problems.append(
                Problem(f"line {number}", line[:80], 'expected {"text": ..., "item": ...}')
            )
            continue
        rows.append(Labelled(data["text"], data["item"]))
    if problems:
        raise ValidationError(problems, source=str(path))
    return rows


def evaluate(
    suggester: Suggester,
    messages: Sequence[Labelled],
    thresholds: Iterable[float] = THRESHOLDS,
) -> Evaluation:
    """Suggest for each message (its text without quoted history and signature, as
    ``receive`` reads a mail) and count."""
    catalog = suggester.catalog
    unknown = sorted({m.item for m in messages if m.item and not catalog.has_item(m.item)})
    if unknown:
        raise ValidationError.single("item", unknown[0], "not an item of the catalog")
    tops: list[tuple[str | None, float, bool, bool]] = []  # top item, confidence, @1, @3
    for message in messages:
        new, _ = split_reply(message.text)
        found = suggester.suggest(new or message.text, k=3)
        items = [s.item for s in found]
        top = found[0] if found else None
        tops.append(
            (
                top.item if top else None,
                top.confidence if top else 0.0,
                bool(items) and items[0] == message.item,
                message.item in items,
            )
        )
    labelled = [t for t, m in zip(tops, messages, strict=True) if m.item is not None]
    count = len(messages) or 1
    rows = []
    for threshold in thresholds:
        auto = [(t, m) for t, m in zip(tops, messages, strict=True) if t[0] and t[1] >= threshold]
        wrong = [1 for t, m in auto if t[0] != m.item]
        rows.append(ThresholdRow(threshold, len(auto) / count, len(wrong) / count))
    return Evaluation(
        messages=len(messages),
        labelled=len(labelled),
        precision_at_1=sum(t[2] for t in labelled) / (len(labelled) or 1),
        precision_at_3=sum(t[3] for t in labelled) / (len(labelled) or 1),
        thresholds=tuple(rows),
    )
