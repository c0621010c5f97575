"""Business days: SLA targets counted in open days of a calendar (``"2bd"``).

A business day is an *open day* of a :class:`~reqfulfill.sla.BusinessCalendar`: a
local date whose weekday has business hours and that is not a holiday. Each open
day counts one, whatever its hours (a Friday of four hours counts as much as a
Monday of eight).

**N business days from t** (what ServiceNow and Jira Service Management call a
target of "N business days"): the deadline falls on the Nth open day after the
day the clock starts, at the same business-time offset into that day as the start
had into its own day.

* The start's day is the open day whose business hours ``t`` falls in or before:
  ``t`` on an open day before its close counts from that day, with the business
  time already passed on that day as its offset (0 before the opening); ``t``
  after the close, on a closed day or on a holiday counts from the next opening,
  offset 0.
* The deadline is that offset into the Nth open day after it. A day with fewer
  business hours than the offset ends the target at its close.
* As for every SLA instant, the deadline is the *earliest* instant with that much
  business time after ``t``: a clock that starts at an opening (offset 0) is due
  at the close of the (N-1)th open day after it, not at the next morning's opening.

So on Mon-Fri 08:00-16:00, 2 business days from Monday 10:00 are Wednesday 10:00;
from Friday 15:00, Tuesday 15:00; from Saturday, or Monday 07:00, Tuesday 16:00.

The SLA clock turns the target into business time once, when it starts
(:func:`business_days_budget`): pauses then move the deadline by the business
time they took, and escalation levels are fractions of that budget, as for a
target in hours.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Final, final
from zoneinfo import ZoneInfo

import attrs

from reqfulfill.model.errors import short_repr
from reqfulfill.serialization.config import format_duration, parse_duration
from reqfulfill.sla._calendar import WEEKDAYS, BusinessCalendar

__all__ = [
    "BUSINESS_DAYS_PATTERN",
    "MAX_BUSINESS_DAYS",
    "BusinessDays",
    "Target",
    "add_business_days",
    "business_days_budget",
    "format_target",
    "longest_day",
    "parse_target",
]

MAX_BUSINESS_DAYS: Final = 366
"""The largest target in business days: ``"366bd"`` (well over a year of open days)."""

BUSINESS_DAYS_PATTERN: Final = "([0-9]{1,6})bd"
"""The form of a target in business days, ``"2bd"``."""
_BUSINESS_DAYS = re.compile(BUSINESS_DAYS_PATTERN, re.ASCII)


@final
@attrs.frozen(order=True)
class BusinessDays:
    """A target of ``days`` business days (open days of the policy's calendar).

    >>> BusinessDays(2), str(BusinessDays(2))
    (BusinessDays(days=2), '2bd')
    """

    days: int = attrs.field()

    @days.validator
    def _check(self, _: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"business days are a whole number, not {short_repr(value)}")
        if not 1 <= value <= MAX_BUSINESS_DAYS:
            raise ValueError(f"business days must be from 1 to {MAX_BUSINESS_DAYS}, not {value}")

    def __str__(self) -> str:
        return f"{self.days}bd"


Target = timedelta | BusinessDays
"""An SLA target: business time (``timedelta``) or :class:`BusinessDays`."""


def parse_target(text: str) -> Target:
    """An SLA target from its data form: ``"2bd"`` (business days) or a duration of
    business time (``"4h"``, ``"1h30m"``; see
    :func:`~reqfulfill.serialization.config.parse_duration`).

    >>> parse_target("2bd"), parse_target("4h")
    (BusinessDays(days=2), datetime.timedelta(seconds=14400))
    """
    if isinstance(text, str):
        match = _BUSINESS_DAYS.fullmatch(text.strip())
        if match is not None:
            return BusinessDays(int(match.group(1)))
        if text.strip().endswith("bd"):
            raise ValueError(
                f"invalid target {short_repr(text)}: business days are a whole number "
                "alone, like '2bd' (not combined with hours)"
            )
    return parse_duration(text)


def format_target(target: Target) -> str:
    """The data form of a target: ``parse_target(format_target(t)) == t``.

    >>> format_target(BusinessDays(3)), format_target(timedelta(hours=4))
    ('3bd', '4h')
    """
    if isinstance(target, BusinessDays):
        return str(target)
    return format_duration(target)


def _open(calendar: BusinessCalendar, day: date) -> bool:
    return bool(calendar.hours.get(WEEKDAYS[day.weekday()])) and day not in calendar.holidays


def _opening(calendar: BusinessCalendar, zone: ZoneInfo, day: date) -> datetime:
    """The first open instant of the open day ``day``."""
    return calendar.next_open(datetime.combine(day, time(0), tzinfo=zone))


def _day_length(calendar: BusinessCalendar, zone: ZoneInfo, day: date) -> timedelta:
    """The business time of ``day`` (its wall-clock hours, give or take a DST change)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return calendar.between(start, end)


def _anchor(calendar: BusinessCalendar, start: datetime, days: int) -> datetime:
    """The offset of ``start`` into its business day, on the ``days``-th open day after."""
    zone = ZoneInfo(calendar.timezone)
    first_open = calendar.next_open(start)
    today = start.astimezone(zone).date()
    if first_open.astimezone(zone).date() == today:
        offset = calendar.between(_opening(calendar, zone, today), start)
    else:  # after the close, or a closed day: counts from the next opening
        today, offset = first_open.astimezone(zone).date(), timedelta(0)
    day, counted = today, 0
    while counted < days:
        day += timedelta(days=1)
        counted += _open(calendar, day)
    opening = _opening(calendar, zone, day)
    return calendar.add(opening, min(offset, _day_length(calendar, zone, day)))


def business_days_budget(calendar: BusinessCalendar, start: datetime, days: int) -> timedelta:
    """The business time from ``start`` to ``days`` business days later (see the module's
    docstring): what an SLA clock starting at ``start`` may use.

    >>> from datetime import UTC
    >>> cal = BusinessCalendar(timezone="UTC")  # Mon-Fri 08:00-16:00
    >>> business_days_budget(cal, datetime(2026, 1, 9, 15, tzinfo=UTC), 2)  # a Friday
    datetime.timedelta(seconds=57600)
    """
    return calendar.between(start, _anchor(calendar, start, days))


def add_business_days(calendar: BusinessCalendar, start: datetime, days: int) -> datetime:
    """When ``days`` business days from ``start`` are up (in UTC; see the module's docstring).

    >>> from datetime import UTC
    >>> cal = BusinessCalendar(timezone="UTC")  # Mon-Fri 08:00-16:00
    >>> add_business_days(cal, datetime(2026, 1, 5, 10, tzinfo=UTC), 2).isoformat()  # Monday
    '2026-01-07T10:00:00+00:00'
    >>> add_business_days(cal, datetime(2026, 1, 9, 15, tzinfo=UTC), 2).isoformat()  # Friday
    '2026-01-13T15:00:00+00:00'
    >>> add_business_days(cal, datetime(2026, 1, 5, 7, tzinfo=UTC), 2).isoformat()  # early
    '2026-01-06T16:00:00+00:00'
    """
    return calendar.add(start, business_days_budget(calendar, start, days))


def longest_day(calendar: BusinessCalendar) -> timedelta:
    """The business time of the calendar's longest weekday, plus an hour for a DST change:
    a bound on what one business day can take."""
    longest = timedelta(0)
    for intervals in calendar.hours.values():
        total = timedelta(0)
        for interval in intervals:
            begin, end = interval.split("-")
            total += _clock(end) - _clock(begin)
        longest = max(longest, total)
    return longest + timedelta(hours=1)


def _clock(text: str) -> timedelta:
    hours, minutes = text.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes))
