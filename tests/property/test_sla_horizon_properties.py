"""Whatever SLA policy loads, its due dates compute: inside the horizon, never untyped errors.

Policies are drawn with targets up to the ceiling, escalation levels far past the
breach and calendars as sparse as one minute a week; each is either refused at load
(a ``ValidationError`` on ``calendar``) or every due date it can ask for is a datetime
after the start, exactly that much business time later, within ``MAX_HORIZON_YEARS``
and within the bound the load checked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.model.enums import Priority
from reqfulfill.model.errors import ValidationError
from reqfulfill.sla import (
    MAX_HORIZON_YEARS,
    MAX_TARGET,
    WEEKDAYS,
    BusinessCalendar,
    EscalationLevel,
    SlaPolicy,
)
from reqfulfill.sla._calendar import years_to_spend

YEAR = timedelta(days=365.2425)
T = TypeVar("T")


def outcome(compute: Callable[[], T]) -> T | ValidationError:
    """What ``compute`` returns, or the ``ValidationError`` it raises."""
    try:
        return compute()
    except ValidationError as error:
        return error


@st.composite
def day_hours(draw: st.DrawFn) -> list[str]:
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(start + 1, min(1440, start + draw(st.sampled_from([1, 15, 600])))))
    return [f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"]


calendars = st.builds(
    BusinessCalendar,
    timezone=st.sampled_from(["UTC", "Europe/Helsinki", "Australia/Lord_Howe"]),
    hours=st.dictionaries(st.sampled_from(WEEKDAYS), day_hours(), min_size=1),
    holidays=st.lists(st.dates(date(2000, 1, 1), date(2300, 12, 31)), max_size=20),
)
targets = st.integers(1, MAX_TARGET // timedelta(minutes=1)).map(lambda m: timedelta(minutes=m))
levels = st.lists(
    st.builds(
        EscalationLevel,
        at=st.floats(0.01, 1000.0, allow_nan=False),
        action=st.just("notify"),
    ),
    unique=True,
    max_size=3,
).map(tuple)
starts = st.datetimes(datetime(1950, 1, 1), datetime(2300, 1, 1), timezones=st.just(UTC))


@given(calendars, targets, levels, starts)
def test_a_loaded_policy_computes_every_due_date_inside_the_horizon(
    calendar: BusinessCalendar,
    target: timedelta,
    escalation: tuple[EscalationLevel, ...],
    start: datetime,
) -> None:
    policy = outcome(
        lambda: SlaPolicy(targets={Priority.HIGH: target}, calendar=calendar, escalation=escalation)
    )
    if isinstance(policy, ValidationError):
        assert policy.paths == ["calendar"]
        assert f"{MAX_HORIZON_YEARS}-year horizon" in str(policy)
        return
    last = max([1.0, *(level.at for level in policy.escalation)])
    budget = target * last
    due = policy.calendar.add(start, budget)
    assert isinstance(due, datetime)
    assert due > start
    assert policy.calendar.between(start, due) == budget
    assert due - start <= YEAR * years_to_spend(calendar, budget / timedelta(microseconds=1))
    assert due - start < YEAR * MAX_HORIZON_YEARS


edges = st.one_of(
    st.tuples(
        st.datetimes(datetime(9990, 1, 1), datetime(9999, 12, 31), timezones=st.just(UTC)),
        st.just(1),
    ),
    st.tuples(
        st.datetimes(datetime(1, 1, 2), datetime(9, 12, 31), timezones=st.just(UTC)),
        st.just(-1),
    ),
)


@given(calendars, st.integers(1, 3660).map(lambda d: timedelta(days=d)), edges)
def test_near_the_ends_of_time_the_calendar_answers_or_refuses_with_a_typed_error(
    calendar: BusinessCalendar, duration: timedelta, edge: tuple[datetime, int]
) -> None:
    start, sign = edge
    due = outcome(lambda: calendar.add(start, sign * duration))
    if isinstance(due, ValidationError):
        assert due.paths in (["start"], ["duration"], ["year"])
        return
    assert (due > start) if sign > 0 else (due < start)
    first, last = sorted((start, due))
    assert calendar.between(first, last) == duration
