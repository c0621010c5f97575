"""The enumerations of the domain. Values are the lower-case data forms."""

from __future__ import annotations

import enum

__all__ = [
    "Channel",
    "Impact",
    "OrderStatus",
    "Priority",
    "RequestState",
    "TaskKind",
    "TaskState",
    "Urgency",
]


_identity_hash = object.__hash__
"""Members are singletons compared by identity: their hash is the object's own, not
``Enum.__hash__`` (a Python call hashing the name), since states, kinds and statuses
are looked up in sets and tables on every command."""


class Channel(enum.Enum):
    """How a request arrived."""

    __hash__ = _identity_hash

    PORTAL = "portal"
    EMAIL = "email"
    PHONE = "phone"
    CHAT = "chat"


class RequestState(enum.Enum):
    """Where a request is in its lifecycle."""

    __hash__ = _identity_hash

    SUBMITTED = "submitted"
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    APPROVED = "approved"
    TRIAGE = "triage"
    IN_FULFILLMENT = "in_fulfillment"
    WAITING = "waiting"
    FULFILLED = "fulfilled"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True for states no command leaves (closed requests still take feedback)."""
        return self in _TERMINAL

    @property
    def open(self) -> bool:
        """True while work on the request is still expected."""
        return self in _OPEN


_TERMINAL = frozenset({RequestState.REJECTED, RequestState.CLOSED, RequestState.CANCELLED})
_OPEN = frozenset(
    {
        RequestState.SUBMITTED,
        RequestState.AWAITING_APPROVAL,
        RequestState.APPROVED,
        RequestState.TRIAGE,
        RequestState.IN_FULFILLMENT,
        RequestState.WAITING,
    }
)


class Impact(enum.Enum):
    """How much of the business is affected (ITIL)."""

    __hash__ = _identity_hash

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Urgency(enum.Enum):
    """How soon the business needs it (ITIL)."""

    __hash__ = _identity_hash

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(enum.IntEnum):
    """ITIL priority: 1 is critical, 5 is planning."""

    CRITICAL = 1
    HIGH = 2
    MODERATE = 3
    LOW = 4
    PLANNING = 5


class TaskKind(enum.Enum):
    """What kind of work a plan task is."""

    __hash__ = _identity_hash

    MANUAL = "manual"
    SUPPLIER_ORDER = "supplier_order"
    DELIVERY = "delivery"
    AUTOMATED = "automated"
    STOCK_OR_ORDER = "stock_or_order"
    """Reserve the item from the inventory; order it from the item's supplier when
    nothing is in stock (see ``docs/inventory.md``)."""

    @property
    def orders(self) -> bool:
        """True for the kinds whose task may place a supplier order (``supplier_order``,
        and ``stock_or_order`` when nothing is in stock): they name a supplier.

        >>> TaskKind.STOCK_OR_ORDER.orders, TaskKind.MANUAL.orders
        (True, False)
        """
        return self in _ORDERING


class TaskState(enum.Enum):
    """Where one task of a request's plan is."""

    __hash__ = _identity_hash

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """Done or skipped: counts as done for the tasks after it."""
        return self in _FINISHED


class OrderStatus(enum.Enum):
    """A supplier order's status. Statuses only move forward (see ``rank``)."""

    __hash__ = _identity_hash

    PLACED = "placed"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def rank(self) -> int:
        """Order of progress; FAILED and CANCELLED are final like DELIVERED."""
        return _ORDER_RANK[self]

    @property
    def final(self) -> bool:
        """No further update can follow."""
        return self in _FINAL


_ORDERING = frozenset({TaskKind.SUPPLIER_ORDER, TaskKind.STOCK_OR_ORDER})
_FINISHED = frozenset({TaskState.DONE, TaskState.SKIPPED})
_FINAL = frozenset({OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.CANCELLED})
"""The members ``orders``, ``finished`` and ``final`` are true of: built once, looked up
by identity hash (a tuple of members built per call costs more than the look-up)."""

_ORDER_RANK = {
    OrderStatus.PLACED: 0,
    OrderStatus.CONFIRMED: 1,
    OrderStatus.SHIPPED: 2,
    OrderStatus.DELIVERED: 3,
    OrderStatus.FAILED: 3,
    OrderStatus.CANCELLED: 3,
}
