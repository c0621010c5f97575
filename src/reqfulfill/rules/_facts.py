"""Facts: the nested mapping a condition is decided against, and fact paths over it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from reqfulfill.model.catalog import Requester, ServiceItem
from reqfulfill.model.enums import Channel

__all__ = ["FACT_ROOTS", "ITEM_FIELDS", "MISSING", "REQUESTER_FIELDS", "build_facts", "resolve"]


class _Missing:
    """The value of a fact path that leads nowhere."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"

    def __str__(self) -> str:
        return "<missing>"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()
"""Sentinel returned by :func:`resolve` when a fact path leads nowhere."""

FACT_ROOTS: Final = frozenset({"item", "requester", "channel", "answers"})
"""The top-level keys of the facts; every fact path starts with one of them."""

ITEM_FIELDS: Final = frozenset(f.name for f in attrs.fields(ServiceItem))
"""Field names of a service item, as they appear under ``item.``."""

REQUESTER_FIELDS: Final = frozenset(f.name for f in attrs.fields(Requester))
"""Field names of a requester, as they appear under ``requester.``."""


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
"""Exact types ``_plain`` returns as they are (checked first: most fact values are
these, and ``isinstance`` against the ``Mapping`` ABC is comparatively slow)."""


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            out[name] = _plain(value)
    return out


_ITEM_ORDER: Final = tuple(f.name for f in attrs.fields(ServiceItem))
_REQUESTER_ORDER: Final = tuple(f.name for f in attrs.fields(Requester))


def build_facts(
    *,
    item: ServiceItem | None,
    requester: Requester,
    channel: Channel,
    answers: Mapping[str, object],
) -> dict[str, object]:
    """The facts rules decide on, as a nested mapping of plain values.

    Enums become their lower-case values, ``item.attributes`` a nested mapping;
    fields whose value is ``None`` (e.g. an item without a supplier) are left
    out, so ``{"item.supplier": {"exists": false}}`` reads naturally. ``item``
    is absent when the request names no item.

    >>> from reqfulfill.model.catalog import Requester
    >>> from reqfulfill.model.enums import Channel
    >>> facts = build_facts(item=None, requester=Requester("u1", "Ann", "IT", "HEL"),
    ...                     channel=Channel.EMAIL, answers={"cost": 120})
    >>> facts["channel"], facts["answers"], "item" in facts
    ('email', {'cost': 120}, False)
    """
    facts: dict[str, object] = {}
    if item is not None:
        facts["item"] = _fields(item, _ITEM_ORDER)
    facts["requester"] = _fields(requester, _REQUESTER_ORDER)
    facts["channel"] = channel.value
    facts["answers"] = _plain(dict(answers))
    return facts


def resolve(facts: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at a split fact path, or :data:`MISSING`.

    >>> resolve({"answers": {"cost": 5}}, ("answers", "cost"))
    5
    >>> resolve({"answers": {"cost": 5}}, ("answers", "size"))
    <missing>
    """
    current: Any = facts
    for part in parts:
        if type(current) is dict or isinstance(current, Mapping):
            current = current.get(part, MISSING)
        else:
            return MISSING
        if current is MISSING:
            return MISSING
    return current
