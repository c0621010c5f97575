"""Strategies for SLA types: business calendars, escalation levels, SLA policies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill.model.enums import Priority, RequestState
from reqfulfill.sla import (
    ESCALATION_ACTIONS,
    WEEKDAYS,
    BusinessCalendar,
    BusinessDays,
    EscalationLevel,
    SlaPolicy,
    Target,
)
from reqfulfill.testing.strategies._basics import DEFAULT_TIMEZONES, check_ids, check_int, lazy

__all__ = ["calendars", "escalation_levels", "sla_policies"]


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def _day_hours(draw: st.DrawFn, max_shifts: int) -> tuple[str, ...]:
    shifts = draw(st.integers(1, max_shifts))
    # Quarter-hour boundaries; strictly increasing, so shifts neither overlap nor touch.
    cuts = sorted(
        draw(st.lists(st.integers(0, 96), min_size=2 * shifts, max_size=2 * shifts, unique=True))
    )
    return tuple(
        f"{_clock(cuts[i] * 15)}-{_clock(cuts[i + 1] * 15)}" for i in range(0, len(cuts), 2)
    )


@st.composite
def _calendars(
    draw: st.DrawFn, zones: tuple[str, ...], max_shifts: int, max_holidays: int
) -> BusinessCalendar:
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True))
    hours = {day: draw(_day_hours(max_shifts)) for day in days}
    holidays = draw(
        st.lists(st.dates(date(2024, 1, 1), date(2030, 12, 31)), unique=True, max_size=max_holidays)
    )
    return BusinessCalendar(timezone=draw(st.sampled_from(zones)), hours=hours, holidays=holidays)


def calendars(
    *,
    timezones: Sequence[str] = DEFAULT_TIMEZONES,
    max_shifts: int = 3,
    max_holidays: int = 3,
) -> st.SearchStrategy[BusinessCalendar]:
    """Business calendars: a zone from ``timezones``, split shifts, a few holidays (2024-2030).

    Each open weekday has 1 to ``max_shifts`` disjoint ``"HH:MM-HH:MM"``
    shifts on quarter hours (``24:00`` may end a day); at least one day is open.

    >>> calendar = calendars(timezones=["UTC"]).example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[BusinessCalendar]:
        zones = check_ids("timezones", timezones)
        shifts = check_int("max_shifts", max_shifts, 1)
        if shifts > 48:
            raise InvalidArgument(f"max_shifts={shifts} must be at most 48")
        holidays = check_int("max_holidays", max_holidays)
        return _calendars(zones, shifts, holidays)

    return lazy(build)


def escalation_levels() -> st.SearchStrategy[EscalationLevel]:
    """Escalation levels between 5 % and 300 % of the target.

    >>> level = escalation_levels().example()  # doctest: +SKIP
    """
    return st.builds(
        EscalationLevel,
        at=st.floats(0.05, 3.0, allow_nan=False),
        action=st.sampled_from(ESCALATION_ACTIONS),
    )


_durations: st.SearchStrategy[timedelta] = st.integers(60, 30 * 86_400).map(
    lambda s: timedelta(seconds=s)
)
_targets: st.SearchStrategy[Target] = _durations | st.integers(1, 20).map(BusinessDays)
"""SLA targets: business time, or business days (``"2bd"``)."""


def sla_policies(
    *, calendars: st.SearchStrategy[BusinessCalendar] | None = None
) -> st.SearchStrategy[SlaPolicy]:
    """SLA policies: targets for some priorities, pause states, escalation levels.

    ``calendars`` defaults to :func:`calendars` (the module function).

    >>> policy = sla_policies().example()  # doctest: +SKIP
    """

    def build() -> st.SearchStrategy[SlaPolicy]:
        calendar_strategy = calendars if calendars is not None else _default_calendars()
        if not isinstance(calendar_strategy, st.SearchStrategy):
            raise InvalidArgument(f"calendars={calendars!r} must be a strategy")
        return st.builds(
            SlaPolicy,
            targets=st.dictionaries(st.sampled_from(Priority), _targets, min_size=1),
            calendar=calendar_strategy,
            pause_in=st.lists(st.sampled_from(RequestState), unique=True, max_size=3).map(tuple),
            escalation=st.lists(escalation_levels(), unique=True, max_size=3).map(tuple),
            hold_notifications=st.booleans(),
        )

    return lazy(build)


_calendars_fn = calendars


def _default_calendars() -> st.SearchStrategy[BusinessCalendar]:
    return _calendars_fn()
