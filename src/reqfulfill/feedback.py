"""How reqfulfill asks requesters for feedback: the window and the sampling policy.

>>> from datetime import timedelta
>>> policy = FeedbackPolicy(window=timedelta(days=7), every_nth=3)
>>> [policy.surveys(n) for n in range(5)]
[True, False, False, True, False]
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

import attrs

from reqfulfill.serialization.config import structure_config, unstructure_config

__all__ = ["FeedbackPolicy"]


def _positive(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a whole number >= 1, got {value!r}")


def _rating(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 5:
        raise ValueError(f"{attribute.name} must be a whole number from 0 to 5, got {value!r}")


def _window(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
        raise ValueError(f"{attribute.name} must be a positive duration or None, got {value!r}")


@attrs.frozen
class FeedbackPolicy:
    """When feedback is asked for and accepted.

    :param window: how long after closure the requester may rate (None: no limit).
    :param every_nth: survey every Nth closed request (1: every request).
    :param per: count requests ``"requester"`` by requester or ``"item"`` by item.
    :param low_rating: ratings at or below this raise ``ReviewRequested`` for the group
        (0 turns reviews off).
    """

    window: timedelta | None = attrs.field(default=timedelta(days=14), validator=_window)
    every_nth: int = attrs.field(default=1, validator=_positive)
    per: Literal["requester", "item"] = attrs.field(
        default="requester", validator=attrs.validators.in_(("requester", "item"))
    )
    low_rating: int = attrs.field(default=2, validator=_rating)

    def surveys(self, closed_before: int) -> bool:
        """Whether to invite feedback for a request when ``closed_before`` requests of the
        same requester (or item) were closed before it."""
        return closed_before % self.every_nth == 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeedbackPolicy:
        """Build from the data form (``window = "14d"``)."""
        return structure_config(data, cls)

    def to_dict(self) -> dict[str, Any]:
        """The data form; ``from_dict(to_dict())`` gives the policy back."""
        data: dict[str, Any] = unstructure_config(self)
        return data
