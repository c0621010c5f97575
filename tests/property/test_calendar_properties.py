"""BusinessCalendar arithmetic on random calendars: laws, and agreement with a brute force.

Calendars are drawn in zones with DST (Lord Howe shifts by half an hour),
with split shifts, ``24:00`` ends and holidays near the span; starts cluster
around the zones' DST days. The brute force walks the span minute by minute
through ``zoneinfo``, independently of the calendar's own transition finding.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from reqfulfill.sla import WEEKDAYS, BusinessCalendar

ZONES = ("Europe/Helsinki", "America/New_York", "UTC", "Australia/Lord_Howe")
DST_DAYS = {
    "Europe/Helsinki": ("2025-03-30", "2025-10-26", "2026-03-29", "2026-10-25"),
    "America/New_York": ("2025-03-09", "2025-11-02", "2026-03-08", "2026-11-01"),
    "UTC": ("2026-01-01",),
    "Australia/Lord_Howe": ("2025-04-06", "2025-10-05", "2026-04-05", "2026-10-04"),
}
MINUTE = timedelta(minutes=1)
US = timedelta(microseconds=1)
ZERO = timedelta(0)


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_hours(draw: st.DrawFn) -> list[str]:
    step = draw(st.sampled_from([30, 60, 15, 1]))
    points = sorted(draw(st.lists(st.integers(0, 1440 // step), unique=True, max_size=6).map(set)))
    points = [p * step for p in points][: len(points) // 2 * 2]
    return [f"{_clock(a)}-{_clock(b)}" for a, b in zip(points[::2], points[1::2], strict=True)]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[BusinessCalendar, datetime]:
    """A random calendar and a minute-aligned UTC start near the interesting days."""
    zone = draw(st.sampled_from(ZONES))
    hours = {day: draw(day_hours()) for day in WEEKDAYS if draw(st.booleans())}
    if not any(hours.values()):
        hours[draw(st.sampled_from(WEEKDAYS))] = [
            draw(st.sampled_from(["00:00-24:00", "02:00-03:00"]))
        ]
    if draw(st.booleans()):
        anchor = datetime.fromisoformat(draw(st.sampled_from(DST_DAYS[zone]))).replace(tzinfo=UTC)
        start = anchor + draw(st.integers(-2 * 1440, 1440)) * MINUTE
    else:
        start = datetime(2020, 1, 1, tzinfo=UTC) + draw(st.integers(0, 11 * 525_600)) * MINUTE
    near = st.integers(-2, 6).map(lambda n: start.date() + timedelta(days=n))
    holidays = draw(st.lists(near, max_size=3))
    return BusinessCalendar(timezone=zone, hours=hours, holidays=holidays), start


def brute_open(cal: BusinessCalendar, at: datetime) -> bool:
    local = at.astimezone(ZoneInfo(cal.timezone))
    if local.date() in cal.holidays:
        return False
    minute = local.hour * 60 + local.minute
    for interval in cal.hours.get(WEEKDAYS[local.weekday()], ()):
        a, b = interval.split("-")
        if int(a[:2]) * 60 + int(a[3:]) <= minute < int(b[:2]) * 60 + int(b[3:]):
            return True
    return False


def brute_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    # Every boundary falls on a whole minute in these zones, so a minute is open or not.
    total, at = 0, start
    while at < end:
        total += brute_open(cal, at)
        at += MINUTE
    return total * MINUTE


business = st.integers(0, 400 * 3_600_000_000).map(lambda us: timedelta(microseconds=us))
jitter = st.integers(0, 60_000_000 - 1).map(lambda us: timedelta(microseconds=us))


# -- agreement with the brute force ---------------------------------------------------------


@settings(deadline=None)
@given(scenarios(), st.integers(0, 2 * 1440))
def test_between_agrees_with_minute_brute_force(
    scenario: tuple[BusinessCalendar, datetime], minutes: int
) -> None:
    cal, start = scenario
    end = start + minutes * MINUTE
    assert cal.between(start, end) == brute_between(cal, start, end)


@given(scenarios(), st.lists(st.integers(0, 3 * 1440), min_size=1, max_size=20))
def test_is_open_agrees_with_brute_force(
    scenario: tuple[BusinessCalendar, datetime], offsets: list[int]
) -> None:
    cal, start = scenario
    for minutes in offsets:
        at = start + minutes * MINUTE
        assert cal.is_open(at) == brute_open(cal, at), at


@settings(deadline=None)
@given(scenarios(), st.integers(1, 1440))
def test_add_agrees_with_minute_brute_force(
    scenario: tuple[BusinessCalendar, datetime], minutes: int
) -> None:
    cal, start = scenario
    budget = minutes * MINUTE
    end = cal.add(start, budget)
    # The minute that uses up the budget is open and ends exactly at ``end``.
    assert brute_open(cal, end - MINUTE)
    if end - start <= timedelta(days=3):  # sparse calendars reach far: keep examples cheap
        assert brute_between(cal, start, end - MINUTE) == budget - MINUTE
    else:
        assert cal.between(start, end - MINUTE) == budget - MINUTE


# -- laws ---------------------------------------------------------------------------------


@given(scenarios(), jitter, business)
def test_between_undoes_add(
    scenario: tuple[BusinessCalendar, datetime], shift: timedelta, budget: timedelta
) -> None:
    cal, start = scenario
    start += shift
    end = cal.add(start, budget)
    assert end >= start
    assert cal.between(start, end) == budget


@given(scenarios(), jitter, business)
def test_add_is_the_earliest_such_instant(
    scenario: tuple[BusinessCalendar, datetime], shift: timedelta, budget: timedelta
) -> None:
    cal, start = scenario
    start += shift
    end = cal.add(start, budget)
    if budget > ZERO:
        assert cal.between(start, end - US) < budget
    else:
        assert end == start


@given(scenarios(), jitter, business)
def test_negative_add_counts_back_to_the_latest_instant(
    scenario: tuple[BusinessCalendar, datetime], shift: timedelta, budget: timedelta
) -> None:
    cal, end = scenario
    end += shift + timedelta(days=200)
    start = cal.add(end, -budget)
    assert start <= end
    assert cal.between(start, end) == budget
    if budget > ZERO:
        assert cal.between(start + US, end) < budget


@given(scenarios(), jitter, business, business)
def test_add_is_monotone(
    scenario: tuple[BusinessCalendar, datetime], shift: timedelta, a: timedelta, b: timedelta
) -> None:
    cal, start = scenario
    start += shift
    low, high = sorted((a, b))
    assert cal.add(start, low) <= cal.add(start, high)


@given(scenarios(), jitter, business, business)
def test_add_is_additive(
    scenario: tuple[BusinessCalendar, datetime], shift: timedelta, a: timedelta, b: timedelta
) -> None:
    cal, start = scenario
    start += shift
    assert cal.add(cal.add(start, a), b) == cal.add(start, a + b)


@given(
    scenarios(),
    st.lists(st.integers(0, 60 * 24 * 3_600_000_000), min_size=3, max_size=3).map(sorted),
)
def test_between_is_additive(
    scenario: tuple[BusinessCalendar, datetime], offsets: list[int]
) -> None:
    cal, start = scenario
    a, b, c = (start + timedelta(microseconds=us) for us in offsets)
    assert cal.between(a, c) == cal.between(a, b) + cal.between(b, c)
    assert cal.between(c, a) == ZERO


@given(scenarios(), jitter, st.integers(0, 3 * 1440))
def test_next_open_is_the_first_open_instant(
    scenario: tuple[BusinessCalendar, datetime], shift: timedelta, minutes: int
) -> None:
    cal, start = scenario
    at = start + shift + minutes * MINUTE
    opening = cal.next_open(at)
    assert opening >= at
    assert cal.is_open(opening)
    assert cal.between(at, opening) == ZERO
    assert (opening == at) == cal.is_open(at)


@given(scenarios())
def test_round_trip(scenario: tuple[BusinessCalendar, datetime]) -> None:
    cal, _ = scenario
    assert BusinessCalendar.from_dict(cal.to_dict()) == cal


@given(
    st.sampled_from(ZONES).flatmap(lambda z: st.tuples(st.just(z), st.sampled_from(DST_DAYS[z])))
)
def test_a_local_day_lasts_its_real_length(zone_and_day: tuple[str, str]) -> None:
    zone_name, day = zone_and_day
    always = BusinessCalendar(timezone=zone_name, hours={d: ["00:00-24:00"] for d in WEEKDAYS})
    zone = ZoneInfo(zone_name)
    start = datetime.fromisoformat(day).replace(tzinfo=zone)
    end = (start.date() + timedelta(days=1)).isoformat()
    real = datetime.fromisoformat(end).replace(tzinfo=zone).astimezone(UTC) - start.astimezone(UTC)
    assert real != timedelta(days=1) or zone_name == "UTC"
    assert always.between(start, datetime.fromisoformat(end).replace(tzinfo=zone)) == real
