"""Clocks: the only place reqfulfill reads the time.

>>> from datetime import datetime, timezone
>>> clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
>>> clock.advance(hours=2).isoformat()
'2026-01-05T11:00:00+00:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, final, runtime_checkable

__all__ = ["Clock", "FixedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        ...


@final
class SystemClock:
    """The real time."""

    __slots__ = ()

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


@final
class FixedClock:
    """A clock that only moves when told to: for tests and simulations."""

    __slots__ = ("_at",)

    def __init__(self, at: datetime | None = None) -> None:
        if at is None:
            at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The clock's current time."""
        return self._at

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move the clock forward by ``delta`` or ``timedelta(**kwargs)``; return the new time."""
        step = (delta or timedelta(0)) + timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock does not go backwards")
        self._at += step
        return self._at

    def set(self, at: datetime) -> datetime:
        """Move the clock to ``at`` (not before the current time)."""
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        at = at.astimezone(UTC)
        if at < self._at:
            raise ValueError("a clock does not go backwards")
        self._at = at
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()!r})"
