"""The state machine's inventory side: :class:`StockMachine`, a mixin of
:class:`~reqfulfill.testing.machine.FulfillmentMachine`.

Every machine runs a :class:`MachineInventory` (a :class:`FakeInventory` holding one of
each catalog item) and a :class:`SecondInventory` (asked after it, with the same
stock) beside its fake suppliers, so a ``stock_or_order`` task is served from
stock or, once the stock is gone, from the supplier. The mixin's rules restock an
item, make an inventory fail for a moment, refuse for good, or answer with one item
too many (malformed: retried, then given up), kill the worker between reserving and
recording (or lose an inventory's answer: the retry asks both and gives back the
answer it does not keep), and cancel a request while it holds a reservation (the
machine's own rules reject, fail, restart and skip tasks too). Its invariants, after
every step:

- one reservation per key: every reservation the inventory made answers one
  ``StockReservationRequested`` event (its idempotency key is that event's id, the
  item and quantity are the event's), and every ``StockReserved`` event records the
  inventory's answer to its key, once;
- no reservation outlives its request: a reservation the inventory still holds is
  held by its task (the task's current reservation, the request not cancelled), or
  its release is asked for and not yet recorded, or its reserve effect is not yet
  recorded (the worker died in between); a recorded release was made, and no release
  was given up;
- no reservation was first asked for by a request that surely did not want it.

A plugin that refuses for good a key it holds a reservation under is the one leak no
library can undo (the failure's reason names it: tested on its own); the machine's
inventories answer a key they hold before they refuse anything (idempotency first).

At the end of each example the worker runs until nothing is due (:meth:`drain_stock`),
every reservation still held must be its task's, and no key may be held by both
inventories (a double reservation). The counts (made, released,
held at the end, worker deaths) go to the machine's ``effects`` counter.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from reqfulfill._hooks import hookimpl
from reqfulfill.model import events as ev
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import RequestState, TaskKind
from reqfulfill.model.errors import InventoryError
from reqfulfill.model.inventory import StockReservation
from reqfulfill.model.request import ServiceRequest
from reqfulfill.testing._demo import demo_catalog
from reqfulfill.testing._effect_watch import surely_unwanted
from reqfulfill.testing._fake_inventory import FakeInventory, FakeReservation

if TYPE_CHECKING:
    from reqfulfill.clock import FixedClock
    from reqfulfill.service import FulfillmentService
    from reqfulfill.worker import Worker

__all__ = ["MachineInventory", "SecondInventory", "StockMachine", "WorkerDied"]

_ENDED = (RequestState.CANCELLED, RequestState.REJECTED)


class WorkerDied(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing catches it."""


class MachineInventory(FakeInventory):
    """The machine's inventory: dies once after reserving when told to, and checks
    that no reservation is first asked for by a request that surely did not want it
    (``read`` returns the request as the store holds it)."""

    def __init__(self, stock: dict[str, int], ref_prefix: str = "RES") -> None:
        super().__init__(stock=stock, ref_prefix=ref_prefix)
        self.die_after_reserving = False
        self.lose_next_answer = False
        self.refuse_next = False
        self.refuse_after_losing = False
        self.malform_next = False
        self.deaths = 0
        self.lost_answers = 0
        self.refusals = 0
        self.malformed: set[str] = set()
        """The keys it answered with a reservation of the wrong quantity."""
        self.partner: MachineInventory | None = None
        """The other inventory of the machine (it refuses after this one lost an answer)."""
        self.trouble: random.Random | None = None
        """Seeded by the example: arms some trouble for a good share of new keys."""
        self.violations: list[str] = []
        self.read: Any = None

    @hookimpl
    def reqfulfill_reserve_stock(
        self, item: str, quantity: int, location: str, key: str
    ) -> StockReservation | None:
        """Reserve, checking the request still wants it; die after it when told to."""
        if self.read is not None:
            state: ServiceRequest = self.read(key.rpartition("/")[0])
            task_key = state.order_tasks.get(key)
            why = None if task_key is None else surely_unwanted(state, key=key, task_key=task_key)
            if why is not None:
                self.violations.append(f"reservation {key} ran unwanted: {why}")
        if self.trouble is not None and all(r.key != key for r in self.reservations):
            self._arm(self.trouble.random())
        if self.refuse_next and all(r.key != key for r in self.reservations):
            # a key it holds a reservation under is answered with it (idempotency
            # first): what it refuses for good is a key it never reserved under
            self.refuse_next = False
            self.refusals += 1
            raise InventoryError("the stock room refuses (simulated)", retryable=False)
        if self.malform_next and all(r.key != key for r in self.reservations):
            found = super().reqfulfill_reserve_stock(item, quantity + 1, location, key)
            if found is not None:  # armed until it reserves
                self.malform_next = False
                self.malformed.add(key)  # one too many, under this key from now on
        else:
            found = super().reqfulfill_reserve_stock(item, quantity, location, key)
        if self.die_after_reserving:
            self.die_after_reserving = False
            self.deaths += 1
            raise WorkerDied
        if self.lose_next_answer and found is not None:  # armed until it reserves
            self.lose_next_answer = False
            self.lost_answers += 1
            if self.refuse_after_losing:  # and the other inventory refuses the retry
                self.refuse_after_losing = False
                (self.partner or self).refuse_next = True
            raise InventoryError("the connection dropped after reserving (simulated)")
        return found

    def _arm(self, draw: float) -> None:
        """Arm trouble for a new key (unless some is armed): a malformed answer, a lost
        answer, or a lost answer whose retry the other inventory refuses for good, one
        key in twenty each (rarely enough for whole phone orders to get through)."""
        if self.malform_next or self.lose_next_answer or self.refuse_next:
            return
        if draw < 0.05:
            self.malform_next = True
        elif draw < 0.15:
            self.lose_next_answer = True
            self.refuse_after_losing = draw < 0.1


class SecondInventory(MachineInventory):
    """The machine's second inventory, asked after the first (its own class: the plugin
    name recorded with a reservation tells them apart)."""


class StockMachine:
    """The inventory side of :class:`~reqfulfill.testing.machine.FulfillmentMachine`
    (a mixin: hypothesis collects its rules and invariants from the base class).

    ``inventory_stock`` sets how many of each item the inventory starts with (default:
    one of every catalog item)."""

    inventory_stock: ClassVar[dict[str, int] | None] = None
    stock_counts: ClassVar[Counter[str]] = Counter()
    """Across every example of the class: reservations made, released, held at the end
    (handed over), leaked and doubled (both must stay 0), worker deaths."""

    if TYPE_CHECKING:
        catalog: ClassVar[Catalog | None]
        service: FulfillmentService
        worker: Worker
        clock: FixedClock

        def run_worker(self, limit: int | None) -> None: ...

        def cancel(self, request: str, data: st.DataObject) -> None: ...

    @property
    def inventory(self) -> MachineInventory:
        """The machine's inventory (made at first use, before the service)."""
        found: MachineInventory | None = self.__dict__.get("_stock_inventory")
        if found is None:
            catalog = self.catalog if self.catalog is not None else demo_catalog()
            stock = dict(self.inventory_stock or {i.id: 1 for i in catalog.items})
            found = MachineInventory(stock)
            self.__dict__["_stock_inventory"] = found
        return found

    @property
    def second_inventory(self) -> SecondInventory:
        """The machine's second inventory, asked after the first: it starts with what
        the first starts with (made at first use, before the service)."""
        found: SecondInventory | None = self.__dict__.get("_second_inventory")
        if found is None:
            found = SecondInventory(dict(self.inventory.stock), ref_prefix="TWO")
            found.partner, self.inventory.partner = self.inventory, found
            self.__dict__["_second_inventory"] = found
        return found

    @property
    def inventories(self) -> dict[str, MachineInventory]:
        """Both inventories, by the plugin name a reservation records."""
        return {"MachineInventory": self.inventory, "SecondInventory": self.second_inventory}

    def stock_plugins(self) -> list[object]:
        """The plugins the machine's service gets for the inventory side."""
        return [self.inventory, self.second_inventory]

    def _stock_requests(self) -> list[ServiceRequest]:
        ids = [row.request_id for row in self.service.store.query()]
        return [self.service.get(rid) for rid in ids]

    def _holding(self) -> list[str]:
        """Open requests whose ``stock_or_order`` task holds a reservation or asks for one."""
        return [
            r.id
            for r in self._stock_requests()
            if r.state.open
            and any(
                t.kind is TaskKind.STOCK_OR_ORDER
                and (t.reservation is not None or (t.source is None and t.order_effect))
                for t in r.plan
            )
        ]

    # -- rules -------------------------------------------------------------------------

    @initialize(seed=st.integers(0, 2**32 - 1))
    def seed_inventory_trouble(self, seed: int) -> None:
        """Seed the trouble the inventories arm for new keys (reservations are few: a
        rule arming trouble rarely comes just before one)."""
        for index, inventory in enumerate(self.inventories.values()):
            inventory.trouble = random.Random(seed + index)

    def _draw_inventory(self, data: st.DataObject) -> MachineInventory:
        name = data.draw(st.sampled_from(sorted(self.inventories)), label="inventory")
        return self.inventories[name]

    @rule(data=st.data(), count=st.integers(1, 2))
    def restock(self, data: st.DataObject, count: int) -> None:
        """Stock arrives: later requests may be served from stock again."""
        inventory = self._draw_inventory(data)
        item = data.draw(st.sampled_from(sorted(inventory.stock)), label="item")
        inventory.stock[item] += count

    @rule(failures=st.integers(1, 2))
    def inventory_hiccups(self, failures: int) -> None:
        """The inventory fails the next few reservations (retryable: backoff, same key)."""
        self.inventory.fail_first = self.inventory.reserve_calls + failures

    def _reserving(self) -> bool:
        return any(
            t.kind is TaskKind.STOCK_OR_ORDER
            and t.source is None
            and t.order_effect is not None
            and t.order_effect not in r.settled
            for r in self._stock_requests()
            for t in r.plan
        )

    @rule(data=st.data())
    def inventory_answer_is_lost(self, data: st.DataObject) -> None:
        """The next reservation is made, but its answer never reaches the worker (a
        retryable error after reserving): the retry asks every inventory again with
        the same key, keeps one answer and gives the others back."""
        self._draw_inventory(data).lose_next_answer = True

    @rule(data=st.data(), after_losing=st.booleans())
    def inventory_refuses(self, data: st.DataObject, after_losing: bool) -> None:
        """The next call for a key it holds nothing under is refused for good (a
        permanent error): the effect is given up, and what the inventories hold under
        its key is given back. With ``after_losing``, the next reservation's answer is
        lost first, and the other inventory refuses the retry: the reservation is found
        and given back when the effect is given up."""
        inventory = self._draw_inventory(data)
        if after_losing:
            inventory.lose_next_answer = True
            inventory.refuse_after_losing = True
        else:
            inventory.refuse_next = True

    @rule(data=st.data())
    def inventory_answers_wrongly(self, data: st.DataObject) -> None:
        """The next reservation is of one too many (a malformed answer, the same on
        every retry with its key): retried, then given up, and given back."""
        self._draw_inventory(data).malform_next = True

    @precondition(_reserving)
    @rule(data=st.data())
    def worker_dies_after_reserving(self, data: st.DataObject) -> None:
        """The worker dies right after an inventory reserved, before it recorded it;
        its lease lapses and another run reserves again with the same key."""
        inventory = self._draw_inventory(data)
        inventory.die_after_reserving = True
        try:
            self.run_worker(None)
        except WorkerDied:
            self.run_worker(0)  # nothing runs: the machine only re-reads every request
        inventory.die_after_reserving = False

    @precondition(lambda self: bool(self._holding()))
    @rule(data=st.data())
    def cancel_while_reserved(self, data: st.DataObject) -> None:
        """A request is cancelled while it holds a reservation (or asks for one)."""
        request = data.draw(st.sampled_from(self._holding()), label="request")
        self.cancel(request, data)

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def one_reservation_per_key(self) -> None:
        """Each reservation answers its request event; each key is recorded once."""
        made: dict[str, dict[str, FakeReservation]] = {}
        for name, inventory in self.inventories.items():
            inventory.read = self.service.get
            made[name] = {r.key: r for r in inventory.reservations}
        asked: dict[str, ev.StockReservationRequested] = {}
        recorded: Counter[str] = Counter()
        for state in self._stock_requests():
            for event in self.service.history(state.id):
                if isinstance(event, ev.StockReservationRequested):
                    asked[event.event_id] = event
                elif isinstance(event, ev.StockReserved):
                    recorded[event.effect_id] += 1
                    answer = made.get(event.plugin, {}).get(event.effect_id)
                    assert answer is not None, f"{event.effect_id}: recorded, never reserved"
                    assert answer.reservation == event.reservation, event.effect_id
        doubled = [key for key, n in recorded.items() if n > 1]
        assert not doubled, f"reservations recorded twice: {doubled}"
        for name, inventory in self.inventories.items():
            for key, reservation in made[name].items():
                request = asked.get(key)
                assert request is not None, f"reservation {key} answers no request event"
                quantity = request.quantity + (key in inventory.malformed)
                assert (request.item, quantity) == (
                    reservation.item,
                    reservation.reservation.quantity,
                ), key
            assert not inventory.violations, inventory.violations[0]

    @invariant()
    def no_reservation_outlives_its_request(self) -> None:
        """A held reservation is its task's, or on its way back, or not recorded yet."""
        for name, inventory in self.inventories.items():
            for reservation in inventory.held:
                state = self.service.get(reservation.request_id)
                history = self.service.history(state.id)
                why = _unaccounted(state, history, name, reservation)
                assert why is None, f"{name}'s reservation {reservation.key} leaked: {why}"
        released = {
            r.reservation for i in self.inventories.values() for r in i.reservations if r.released
        }
        for state in self._stock_requests():
            for event in self.service.history(state.id):
                if isinstance(event, ev.StockReleased):
                    assert event.reservation in released, f"{event.event_id}: not released"
                if (
                    isinstance(event, ev.EffectAbandoned)
                    and event.effect_type == "StockReleaseRequested"
                ):
                    raise AssertionError(f"a release was given up: {event.reason}")

    # -- the end of an example -----------------------------------------------------------

    def drain_stock(self) -> None:
        """Run the worker until nothing is due (leases lapse, backoffs pass), then check
        that every reservation still held is its task's, and that no key is held by
        both inventories; count what happened."""
        for inventory in self.inventories.values():
            inventory.die_after_reserving = False  # the others are one-shot: they stay
            inventory.fail_first = 0
        # enough rounds for an effect's every attempt, and the attempts a give-up waits
        # for an inventory to say what it holds (2 * max_attempts in all)
        for _ in range(4 * self.worker.max_attempts):
            self.clock.advance(timedelta(hours=2))
            if not self.worker.run_pending():
                break
        cls = type(self)
        if "stock_counts" not in cls.__dict__:  # each machine class counts its own
            cls.stock_counts = Counter()
        counts = cls.stock_counts
        held: Counter[str] = Counter()
        for name, inventory in self.inventories.items():
            for reservation in inventory.held:
                held[reservation.key] += 1
                state = self.service.get(reservation.request_id)
                owned = _owner(state, name, reservation)
                if owned is not None:
                    counts["leaked"] += 1
                assert owned is None, f"reservation {reservation.key} outlived its request: {owned}"
            counts["reservations made"] += len(inventory.reservations)
            counts["released"] += sum(r.released for r in inventory.reservations)
            counts["held at the end (handed over or in use)"] += len(inventory.held)
            counts["worker deaths after reserving"] += inventory.deaths
            counts["answers lost after reserving"] += inventory.lost_answers
            counts["refused for good"] += inventory.refusals
            counts["malformed answers"] += len(inventory.malformed)
            counts["made by the second inventory"] += (
                len(inventory.reservations) if isinstance(inventory, SecondInventory) else 0
            )
        doubled = sorted(key for key, n in held.items() if n > 1)
        counts["doubled"] += len(doubled)
        assert not doubled, f"keys held by both inventories: {doubled}"
        for state in self._stock_requests():
            self._count_givebacks(state, counts)
        counts["leaked"] += 0  # shown as 0: a leak fails the example above

    def _count_givebacks(self, state: ServiceRequest, counts: Counter[str]) -> None:
        """Count the releases of answers not kept (another plugin's under the key) and
        of reservations found when a reserve effect was given up."""
        kept = {}
        for event in self.service.history(state.id):
            if isinstance(event, ev.StockReserved):
                kept[event.effect_id] = event.plugin
            elif isinstance(event, ev.StockReleaseRequested) and event.reserve_effect in kept:
                if kept[event.reserve_effect] != event.plugin:
                    counts["another plugin's answer given back"] += 1
            elif isinstance(event, ev.TaskFailed | ev.EffectAbandoned):
                reason = event.reason or ""
                if "giving back" in reason and "reservation(s) made under the key" in reason:
                    counts["given back when a reserve effect was given up"] += 1


def _owner(state: ServiceRequest, plugin: str, reservation: FakeReservation) -> str | None:
    """None when ``state``'s task holds ``reservation`` (made by ``plugin``); else why not."""
    if state.state in _ENDED:
        return f"the request is {state.state.value}"
    for task in state.plan:
        if (
            task.order_effect == reservation.key
            and task.reservation == reservation.reservation
            and task.reserved_by == plugin
        ):
            return None
    return "no task holds it"


def _unaccounted(
    state: ServiceRequest, history: list[ev.Event], plugin: str, reservation: FakeReservation
) -> str | None:
    """None when a held reservation is accounted for (held by its task, its release
    pending, or its reserve effect not yet recorded); else why it leaked."""
    owner = _owner(state, plugin, reservation)
    if owner is None or reservation.key not in state.settled:
        return None
    pending = any(
        isinstance(e, ev.StockReleaseRequested)
        and e.reservation == reservation.reservation
        and e.plugin == plugin
        and e.event_id not in state.settled
        for e in history
    )
    return None if pending else owner
