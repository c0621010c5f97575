"""Business days on random calendars (DST zones, split shifts, holidays): the laws of
"N business days from t" (docs/sla.md), checked against the calendar's open days
counted here from its hours and holidays directly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from test_calendar_properties import scenarios

from reqfulfill.sla import (
    WEEKDAYS,
    BusinessCalendar,
    BusinessDays,
    SlaPolicy,
    add_business_days,
    business_days_budget,
    format_target,
    parse_target,
)

US = timedelta(microseconds=1)
DAYS = st.integers(1, 8)


def is_open_day(calendar: BusinessCalendar, day: date) -> bool:
    return bool(calendar.hours.get(WEEKDAYS[day.weekday()])) and day not in calendar.holidays


def local_day(calendar: BusinessCalendar, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(calendar.timezone)).date()


def start_day(calendar: BusinessCalendar, start: datetime) -> date:
    """The business day a clock starting at ``start`` counts from."""
    return local_day(calendar, calendar.next_open(start))


def open_days_after(calendar: BusinessCalendar, day: date, until: date) -> int:
    count = 0
    while day < until:
        day += timedelta(days=1)
        count += is_open_day(calendar, day)
    return count


def nth_open_day(calendar: BusinessCalendar, day: date, n: int) -> date:
    while n:
        day += timedelta(days=1)
        n -= is_open_day(calendar, day)
    return day


def day_close(calendar: BusinessCalendar, day: date) -> datetime:
    """The last business instant of open day ``day`` (its close)."""
    zone = ZoneInfo(calendar.timezone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    begin = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    return calendar.add(begin, calendar.between(begin, end))


@settings(max_examples=150, deadline=None)
@given(scenarios(), DAYS)
def test_more_business_days_always_end_later(
    scenario: tuple[BusinessCalendar, datetime], days: int
) -> None:
    calendar, start = scenario
    assert add_business_days(calendar, start, days) < add_business_days(calendar, start, days + 1)


@settings(max_examples=150, deadline=None)
@given(scenarios(), DAYS)
def test_n_business_days_end_between_the_closes_of_open_days_n_minus_1_and_n(
    scenario: tuple[BusinessCalendar, datetime], days: int
) -> None:
    calendar, start = scenario
    due = add_business_days(calendar, start, days)
    first = start_day(calendar, start)
    before = day_close(calendar, nth_open_day(calendar, first, days - 1))
    after = day_close(calendar, nth_open_day(calendar, first, days))
    assert max(before, start) <= due <= after
    # so at least N - 1 whole open days fit in, and at most N after the first
    counted = open_days_after(calendar, first, local_day(calendar, due - US))
    assert counted in (days - 1, days)
    assert due > start


@settings(max_examples=150, deadline=None)
@given(scenarios(), DAYS)
def test_the_budget_is_the_business_time_to_the_deadline(
    scenario: tuple[BusinessCalendar, datetime], days: int
) -> None:
    calendar, start = scenario
    budget = business_days_budget(calendar, start, days)
    due = add_business_days(calendar, start, days)
    assert calendar.between(start, due) == budget
    assert calendar.add(start, budget) == due


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    DAYS,
)
def test_on_a_round_the_clock_calendar_a_business_day_is_a_day(start: datetime, days: int) -> None:
    assert add_business_days(BusinessCalendar.always(), start, days) == start + timedelta(days=days)


@settings(max_examples=100, deadline=None)
@given(scenarios(), DAYS, st.integers(0, 3 * 24 * 60), st.integers(0, 5 * 24 * 60))
def test_a_pause_moves_the_deadline_by_the_business_time_it_took(
    scenario: tuple[BusinessCalendar, datetime], days: int, run: int, paused: int
) -> None:
    """The clock's rule (lifecycle.clock): the budget is fixed when it starts; a pause from
    p to r leaves due = add(r, budget - used). The business time outside the pause from
    the start to that due date is exactly the target's."""
    calendar, start = scenario
    budget = business_days_budget(calendar, start, days)
    pause = start + timedelta(minutes=run)
    used = calendar.between(start, pause)
    if used >= budget:
        return  # breached before the pause
    resume = pause + timedelta(minutes=paused)
    due = calendar.add(resume, budget - used)
    assert calendar.between(start, due) - calendar.between(pause, resume) == budget
    assert due >= add_business_days(calendar, start, days)


@given(st.integers(1, 366))
def test_business_days_round_trip_through_the_data_form(days: int) -> None:
    assert parse_target(format_target(BusinessDays(days))) == BusinessDays(days)
    policy = SlaPolicy(targets={3: BusinessDays(days)}, calendar=BusinessCalendar.always())
    assert SlaPolicy.from_dict(policy.to_dict()) == policy
