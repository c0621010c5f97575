"""An in-memory inventory for tests and demos: an inventory plugin (and a small CMDB).

``FakeInventory`` answers ``reqfulfill_reserve_stock`` and ``reqfulfill_release_stock``
the way a real asset tool's API should: once per idempotency key, from a stock count
per item, and records the assets handed over (``reqfulfill_asset_handed_over``), each
key once.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping

import attrs

from reqfulfill._hooks import hookimpl
from reqfulfill.model.errors import InventoryError
from reqfulfill.model.inventory import Asset, StockReservation
from reqfulfill.model.request import ServiceRequest

__all__ = ["FakeInventory", "FakeReservation"]


@attrs.define
class FakeReservation:
    """A reservation the fake inventory made: under idempotency ``key``, of ``item``;
    ``release_keys`` are the keys of the releases it received (each once)."""

    key: str
    item: str
    reservation: StockReservation
    released: bool = False
    release_keys: list[str] = attrs.field(factory=list)

    @property
    def request_id(self) -> str:
        """The request the reservation is for (the key is ``<request id>/<n>``)."""
        return self.key.rpartition("/")[0]


class FakeInventory:
    """An inventory plugin that keeps its stock in memory.

    >>> inventory = FakeInventory(stock={"iphone-15": 1})
    >>> first = inventory.reqfulfill_reserve_stock("iphone-15", 1, "Helsinki", "R-1/9")
    >>> inventory.reqfulfill_reserve_stock("iphone-15", 1, "Helsinki", "R-1/9") == first
    True
    >>> inventory.reqfulfill_reserve_stock("iphone-15", 1, "Helsinki", "R-2/9") is None
    True
    >>> inventory.reqfulfill_release_stock(first, "R-1/12")
    >>> inventory.stock["iphone-15"], [r.released for r in inventory.reservations]
    (1, [True])

    :param stock: how many of each item are in stock; an item not named is unknown to
        this inventory (reserving it is a permanent ``InventoryError``).
    :param location: the stock room's location: only requesters there are served (the
        others get None: nothing in stock for them); None serves every location.
    :param fail_first: the first N reserve calls raise a retryable error.
    :param failure_rate: the chance that any reserve or release call raises a
        retryable error.
    :param reject: every reservation is refused with a permanent error.
    :param seed: seeds the random failures.
    :param ref_prefix: starts the refs of its reservations (``RES``: ``RES-00001``...);
        two fakes in one service need prefixes of their own for their refs to differ.
    """

    def __init__(
        self,
        stock: Mapping[str, int] | None = None,
        location: str | None = None,
        *,
        fail_first: int = 0,
        failure_rate: float = 0.0,
        reject: bool = False,
        seed: int | None = 0,
        ref_prefix: str = "RES",
    ) -> None:
        counts = dict(stock or {})
        for item, count in counts.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"stock[{item!r}] is a count of items, not {count!r}")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate is a probability, not {failure_rate!r}")
        self.stock = counts
        """How many of each item are in stock now (reservations taken out)."""
        self.location = location
        self.ref_prefix = ref_prefix
        self.fail_first = fail_first
        self.failure_rate = failure_rate
        self.reject = reject
        self._random = random.Random(seed)
        self._lock = threading.RLock()
        self._by_key: dict[str, FakeReservation] = {}
        self._by_ref: dict[str, FakeReservation] = {}
        self.assets: dict[str, Asset] = {}
        """The assets handed over, by idempotency key."""
        self.reserve_calls = 0
        self.release_calls = 0
        self.duplicate_calls = 0
        """Reserve, release and hand-over calls that repeated a known key."""
        self.failures = 0
        """Simulated retryable failures raised so far."""

    # -- the plugin ----------------------------------------------------------------------

    @hookimpl
    def reqfulfill_reserve_stock(
        self, item: str, quantity: int, location: str, key: str
    ) -> StockReservation | None:
        """Reserve ``quantity`` of ``item`` once per ``key``; None when too few are in
        stock (at ``location``)."""
        with self._lock:
            self.reserve_calls += 1
            if self.reserve_calls <= self.fail_first:
                self.failures += 1
                raise InventoryError("the inventory is unavailable (simulated)")
            if self.reject:
                raise InventoryError("reservations are refused", retryable=False)
            self._maybe_fail("reserving")
            known = self._by_key.get(key)
            if known is not None:
                self.duplicate_calls += 1
                return known.reservation
            if item not in self.stock:
                raise InventoryError(f"unknown item {item!r}", retryable=False)
            if self.location is not None and location != self.location:
                return None
            if self.stock[item] < quantity:
                return None
            self.stock[item] -= quantity
            reservation = StockReservation(
                ref=f"{self.ref_prefix}-{len(self._by_key) + 1:05d}",
                location=self.location or location,
                quantity=quantity,
            )
            made = FakeReservation(key=key, item=item, reservation=reservation)
            self._by_key[key] = made
            self._by_ref[reservation.ref] = made
            return reservation

    @hookimpl
    def reqfulfill_release_stock(self, reservation: StockReservation, key: str) -> None:
        """Put a reservation's items back in stock; idempotent per ``key``."""
        with self._lock:
            self.release_calls += 1
            self._maybe_fail("releasing")
            made = self._by_ref.get(reservation.ref)
            if made is None:
                raise InventoryError(f"unknown reservation {reservation.ref!r}", retryable=False)
            if key in made.release_keys:
                self.duplicate_calls += 1
                return
            made.release_keys.append(key)
            if not made.released:
                made.released = True
                self.stock[made.item] = self.stock.get(made.item, 0) + reservation.quantity

    @hookimpl
    def reqfulfill_asset_handed_over(self, request: ServiceRequest, asset: Asset, key: str) -> None:
        """Record the asset (a CMDB of one table), once per ``key``."""
        with self._lock:
            if key in self.assets:
                self.duplicate_calls += 1
                return
            self.assets[key] = asset

    def _maybe_fail(self, what: str) -> None:
        if self.failure_rate and self._random.random() < self.failure_rate:
            self.failures += 1
            raise InventoryError(f"{what} timed out (simulated)")

    # -- what a test looks at ------------------------------------------------------------

    @property
    def reservations(self) -> list[FakeReservation]:
        """Every reservation made, in order (one per idempotency key)."""
        with self._lock:
            return list(self._by_key.values())

    @property
    def held(self) -> list[FakeReservation]:
        """The reservations not given back."""
        return [r for r in self.reservations if not r.released]

    def reservation_for(self, request_id: str) -> FakeReservation | None:
        """The reservation still held for a request, if any."""
        return next((r for r in self.held if r.request_id == request_id), None)

    def __repr__(self) -> str:
        return f"FakeInventory(stock={self.stock!r}, held={len(self.held)})"
