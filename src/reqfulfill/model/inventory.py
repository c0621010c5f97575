"""Values exchanged with inventory plugins: a stock reservation and an asset handed over.

An inventory plugin (Snipe-IT, GLPI's inventory, ServiceNow's stock rooms...) answers
``reqfulfill_reserve_stock`` with a :class:`StockReservation`; the host's CMDB hears of
each device handed over to a requester as an :class:`Asset`
(``reqfulfill_asset_handed_over``). See ``docs/inventory.md``.
"""

from __future__ import annotations

import attrs

__all__ = ["Asset", "PluginReservation", "StockReservation"]


def _text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must be a non-empty string, not {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive whole number, not {value!r}")


@attrs.frozen
class StockReservation:
    """Items held for one request in the inventory: the inventory's ``ref`` for the
    reservation, the stock ``location`` they are held at and how many (``quantity``).

    >>> StockReservation("RES-1", "Helsinki", 1).quantity
    1
    >>> StockReservation("RES-1", "Helsinki", 0)
    Traceback (most recent call last):
    ...
    ValueError: quantity must be a positive whole number, not 0
    """

    ref: str = attrs.field(validator=_text)
    location: str = attrs.field(validator=attrs.validators.instance_of(str))
    quantity: int = attrs.field(validator=_positive)


@attrs.frozen
class Asset:
    """A device handed over to a requester: its ``asset_tag`` and ``serial`` (either
    may be None, not both), the service ``item`` and the ``requester``'s id."""

    asset_tag: str | None
    serial: str | None
    item: str | None
    requester: str


@attrs.frozen
class PluginReservation:
    """A reservation and the inventory plugin holding it (its stable name): what the
    worker records of an answer it will not keep (another plugin's under the same key,
    or one made for a reserve effect that failed), so that it is given back to that
    plugin."""

    plugin: str = attrs.field(validator=_text)
    reservation: StockReservation = attrs.field(
        validator=attrs.validators.instance_of(StockReservation)
    )
