"""Business calendars: business hours in a time zone, with holidays, and exact arithmetic on them.

Business time is the real elapsed time during which the calendar's local wall
clock shows a time inside business hours on a day that is not a holiday. The
arithmetic is exact to the microsecond and its cost does not grow with the
length of the span (see :class:`_Schedule`).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from itertools import pairwise
from os import PathLike
from types import MappingProxyType
from typing import Any, Final, final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from reqfulfill.model.errors import (
    Problem,
    ReqfulfillError,
    ValidationError,
    nesting_problem,
)
from reqfulfill.serialization.config import load_data_file
from reqfulfill.sla._zone import (
    DAY,
    FIRST_US,
    LAST_US,
    MINUTE,
    WEEK,
    YEAR,
    ZoneOffsets,
    from_us,
    out_of_range,
    to_us,
)

__all__ = [
    "CALENDAR_KEYS",
    "DEFAULT_HOURS",
    "DEFAULT_TIMEZONE",
    "INTERVAL_PATTERN",
    "WEEKDAYS",
    "BusinessCalendar",
    "MissingExtraError",
    "calendar_from_data",
    "prefixed",
    "weekly_hours",
    "years_to_spend",
]

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The keys of :attr:`BusinessCalendar.hours`, Monday first."""

DEFAULT_TIMEZONE: Final = "Europe/Helsinki"
"""The zone of ``BusinessCalendar()``."""

DEFAULT_HOURS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {day: ("08:00-16:00",) for day in WEEKDAYS[:5]}
)
"""The hours of ``BusinessCalendar()``: Monday to Friday, 08:00-16:00."""

_ALWAYS_HOURS: Final = MappingProxyType({day: ("00:00-24:00",) for day in WEEKDAYS})
INTERVAL_PATTERN: Final = "([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2})"
"""The form of a business-hours interval, ``"08:00-16:00"`` (the times are checked too)."""
_INTERVAL: Final = re.compile(INTERVAL_PATTERN, re.ASCII)
_US: Final = timedelta(microseconds=1)
_ZERO: Final = timedelta(0)
_CHANGES_PER_YEAR: Final = 4
"""A bound on how often a zone's offset changes in a year (twice, with DST), kept loose."""


class MissingExtraError(ReqfulfillError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


# -- the schedule: business time as integer arithmetic ------------------------------------


@final
class _Schedule:
    """Cumulative business time on the local wall-clock line, and its inverses.

    ``f(L)`` is the business time (µs) between the line's origin (0001-01-01
    00:00 local, a Monday) and local time ``L``. It is the weekly pattern's
    cumulative sum ``w(L)`` -- whole weeks by multiplication, the rest by
    bisecting the week's intervals -- minus the business time of the holidays
    before ``L``, found by bisecting the sorted holidays with their prefix sums.
    Every operation is O(log(intervals) + log(holidays)).
    """

    __slots__ = (
        "cumend",
        "cumstart",
        "day_max",
        "ends",
        "hol_a",
        "hol_cum",
        "hol_start",
        "hol_w",
        "starts",
        "total",
    )

    def __init__(self, days: Sequence[Sequence[tuple[int, int]]], holidays: Sequence[date]) -> None:
        merged: list[list[int]] = []
        for weekday, intervals in enumerate(days):
            for a, b in intervals:
                lo, hi = weekday * DAY + a * MINUTE, weekday * DAY + b * MINUTE
                if merged and merged[-1][1] == lo:
                    merged[-1][1] = hi
                else:
                    merged.append([lo, hi])
        self.starts = [lo for lo, _ in merged]
        self.ends = [hi for _, hi in merged]
        self.cumstart: list[int] = []
        self.cumend: list[int] = []
        running = 0
        for lo, hi in merged:
            self.cumstart.append(running)
            running += hi - lo
            self.cumend.append(running)
        self.total = running
        day_total = [sum(b - a for a, b in intervals) * MINUTE for intervals in days]
        self.day_max = max(day_total)
        # Only holidays on open weekdays change anything; keep those.
        self.hol_start: list[int] = []
        self.hol_w: list[int] = []
        self.hol_cum: list[int] = [0]
        self.hol_a: list[int] = []
        for day in holidays:
            full = day_total[day.weekday()]
            if not full:
                continue
            start = (day.toordinal() - 1) * DAY
            w = self.w(start)
            self.hol_start.append(start)
            self.hol_w.append(w)
            self.hol_a.append(w - self.hol_cum[-1])
            self.hol_cum.append(self.hol_cum[-1] + full)

    def w(self, local: int) -> int:
        """Business time up to ``local`` by the weekly pattern alone."""
        q, r = divmod(local, WEEK)
        j = bisect_right(self.starts, r) - 1
        if j < 0:
            return q * self.total
        return (
            q * self.total
            + self.cumstart[j]
            + min(r - self.starts[j], self.ends[j] - self.starts[j])
        )

    def f(self, local: int) -> int:
        """Business time up to ``local``, holidays excluded."""
        i = bisect_right(self.hol_start, local) - 1
        if i < 0:
            return self.w(local)
        if local < self.hol_start[i] + DAY:
            return self.hol_a[i]  # inside a holiday: flat
        return self.w(local) - self.hol_cum[i + 1]

    def first_reaching(self, value: int) -> int:
        """The smallest ``L`` with ``f(L) >= value``."""
        k = bisect_left(self.hol_a, value)
        q, rem = divmod(value + self.hol_cum[k], self.total)
        if rem == 0:
            q, rem = q - 1, self.total
        j = bisect_left(self.cumend, rem)
        return q * WEEK + self.starts[j] + rem - self.cumstart[j]

    def last_within(self, value: int) -> int:
        """The largest ``L`` with ``f(L) <= value``."""
        k = bisect_right(self.hol_a, value)
        q, rem = divmod(value + self.hol_cum[k], self.total)
        j = bisect_right(self.cumend, rem)
        return q * WEEK + self.starts[j] + rem - self.cumstart[j]

    def is_open(self, local: int) -> bool:
        """True when local time ``local`` is inside business hours and not on a holiday."""
        i = bisect_right(self.hol_start, local) - 1
        if i >= 0 and local < self.hol_start[i] + DAY:
            return False
        r = local % WEEK
        j = bisect_right(self.starts, r) - 1
        return j >= 0 and r < self.ends[j]


# -- validation ------------------------------------------------------------------------


def _parse_interval(text: str) -> tuple[int, int] | str:
    """Minutes since midnight ``(start, end)``, or the reason ``text`` is not an interval."""
    match = _INTERVAL.fullmatch(text)
    if match is None:
        return "expected an interval like '08:00-16:00'"
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59:
        return "the start must be a time from 00:00 to 23:59"
    if not (h2 <= 23 and m2 <= 59) and (h2, m2) != (24, 0):
        return "the end must be a time from 00:01 to 24:00"
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        return "the end must come after the start (an interval cannot cross midnight)"
    return start, end


def _check_hours(hours: Any, problems: list[Problem]) -> list[list[tuple[int, int]]]:
    days: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    if not isinstance(hours, Mapping):
        problems.append(Problem("hours", hours, "expected a table of weekday: intervals"))
        return days
    for key, intervals in hours.items():
        where = f"hours.{key}"
        if key not in WEEKDAYS:
            problems.append(
                Problem(where, key, f"unknown weekday; expected one of {', '.join(WEEKDAYS)}")
            )
            continue
        if isinstance(intervals, str) or not isinstance(intervals, Sequence):
            problems.append(Problem(where, intervals, "expected a list of intervals"))
            continue
        parsed: list[tuple[int, int, int, str]] = []
        for index, text in enumerate(intervals):
            if not isinstance(text, str):
                problems.append(Problem(f"{where}[{index}]", text, "expected a string"))
                continue
            found = _parse_interval(text)
            if isinstance(found, str):
                problems.append(Problem(f"{where}[{index}]", text, found))
            else:
                parsed.append((found[0], found[1], index, text))
        parsed.sort()
        for (_, prev_end, _, prev_text), (start, _, index, text) in pairwise(parsed):
            if start < prev_end:
                problems.append(Problem(f"{where}[{index}]", text, f"overlaps {prev_text!r}"))
        days[WEEKDAYS.index(key)] = [(a, b) for a, b, _, _ in parsed]
    return days


def _check_holidays(holidays: Any, problems: list[Problem]) -> list[date]:
    if isinstance(holidays, str | bytes | Mapping) or not isinstance(holidays, Iterable):
        problems.append(Problem("holidays", holidays, "expected a list of dates"))
        return []
    found: list[date] = []
    for index, day in enumerate(holidays):
        if isinstance(day, datetime) or not isinstance(day, date):
            problems.append(Problem(f"holidays[{index}]", day, "expected a date"))
        else:
            found.append(day)
    return found


def _check_timezone(timezone: Any, problems: list[Problem]) -> None:
    if not isinstance(timezone, str):
        problems.append(Problem("timezone", timezone, "expected an IANA zone name"))
        return
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.append(
            Problem("timezone", timezone, "unknown time zone; expected an IANA name such as 'UTC'")
        )


def _hours_in(value: Mapping[str, Sequence[str]]) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        return value  # reported by __attrs_post_init__
    # A value that is not a list is kept as it is, for __attrs_post_init__ to report.
    out: dict[str, Any] = {
        key: tuple(v) if isinstance(v, Sequence) and not isinstance(v, str) else v
        for key, v in value.items()
    }
    return out


def _holidays_in(value: Iterable[date]) -> tuple[date, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        return value  # type: ignore[return-value]  # reported by __attrs_post_init__
    return tuple(value)


def _hours_repr(value: Mapping[str, tuple[str, ...]]) -> str:
    return repr({k: list(v) for k, v in value.items()})


def _aware(moment: object, name: str) -> int:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), got {moment!r}")
    return to_us(moment)


def _duration(value: object) -> int:
    if not isinstance(value, timedelta):
        raise TypeError(f"duration must be a timedelta, not {type(value).__name__}")
    return value // _US


# -- the calendar ----------------------------------------------------------------------


@final
@attrs.frozen
class BusinessCalendar:
    """Business hours in a time zone, with holidays; counts business time exactly.

    ``hours`` maps weekdays (``"mon"`` .. ``"sun"``) to lists of local
    ``"HH:MM-HH:MM"`` intervals; split shifts are allowed, ``"24:00"`` ends a
    day, weekdays left out are closed. On a holiday the whole local day is
    closed. Business time is the real elapsed time during which the local wall
    clock shows business hours: an hour skipped when clocks spring forward
    counts nothing, an hour repeated when they fall back counts twice.

    >>> from datetime import date, datetime, timedelta, timezone
    >>> cal = BusinessCalendar(
    ...     timezone="UTC",
    ...     hours={"mon": ["08:00-12:00", "13:00-17:00"], "tue": ["08:00-12:00"]},
    ...     holidays=[date(2026, 1, 6)],
    ... )
    >>> monday_11 = datetime(2026, 1, 5, 11, 0, tzinfo=timezone.utc)
    >>> cal.add(monday_11, timedelta(hours=6)).isoformat()  # Tuesday is a holiday
    '2026-01-12T09:00:00+00:00'
    >>> cal.between(monday_11, datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc))
    datetime.timedelta(seconds=7200)
    """

    timezone: str = DEFAULT_TIMEZONE
    hours: Mapping[str, tuple[str, ...]] = attrs.field(
        default=DEFAULT_HOURS, converter=_hours_in, hash=False, repr=_hours_repr
    )
    holidays: tuple[date, ...] = attrs.field(default=(), converter=_holidays_in)
    _schedule: _Schedule = attrs.field(init=False, eq=False, hash=False, repr=False)
    _offsets: ZoneOffsets = attrs.field(init=False, eq=False, hash=False, repr=False)
    # F(tau + before) - F(tau + after) per DST transition tau, filled as met.
    _corrections: dict[int, int] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems: list[Problem] = []
        _check_timezone(self.timezone, problems)
        days = _check_hours(self.hours, problems)
        holidays = sorted(set(_check_holidays(self.holidays, problems)))
        if not problems and not any(days):
            problems.append(Problem("hours", dict(self.hours), "no business hours at all"))
        if problems:
            raise ValidationError(problems)
        hours = {day: tuple(sorted(self.hours[day])) for day in WEEKDAYS if self.hours.get(day)}
        object.__setattr__(self, "hours", MappingProxyType(hours))
        object.__setattr__(self, "holidays", tuple(holidays))
        object.__setattr__(self, "_schedule", _Schedule(days, holidays))
        object.__setattr__(self, "_offsets", ZoneOffsets(self.timezone))
        object.__setattr__(self, "_corrections", {})

    # -- constructors ----------------------------------------------------------------

    @classmethod
    def always(cls) -> BusinessCalendar:
        """A 24/7 calendar in UTC: business time is real time.

        >>> from datetime import datetime, timedelta, timezone
        >>> start = datetime(2026, 3, 29, 0, 0, tzinfo=timezone.utc)
        >>> BusinessCalendar.always().add(start, timedelta(days=2)) - start
        datetime.timedelta(days=2)
        """
        return cls(timezone="UTC", hours=_ALWAYS_HOURS)

    @classmethod
    def for_country(
        cls,
        country: str,
        subdivision: str | None = None,
        years: Iterable[int] = (2026, 2027),
        *,
        timezone: str = DEFAULT_TIMEZONE,
        hours: Mapping[str, Sequence[str]] = DEFAULT_HOURS,
        extra_holidays: Iterable[date] = (),
    ) -> BusinessCalendar:
        """A calendar whose holidays are a country's public holidays in ``years``.

        Needs the optional ``holidays`` package (``pip install 'reqfulfill[holidays]'``).
        ``country`` is an ISO 3166-1 code, ``subdivision`` a state or province code.
        The holidays become an explicit list, so ``to_dict`` writes them out.

        >>> cal = BusinessCalendar.for_country("FI", years=[2026])
        >>> date(2026, 12, 24) in cal.holidays  # Christmas Eve
        True
        """
        try:
            import holidays as holidays_lib
        except ImportError as exc:
            raise MissingExtraError(
                "BusinessCalendar.for_country needs the 'holidays' package; "
                "install it with: pip install 'reqfulfill[holidays]'"
            ) from exc
        year_list = list(years)
        try:
            found = holidays_lib.country_holidays(country, subdiv=subdivision, years=year_list)
        except NotImplementedError as exc:
            path, value = ("subdivision", subdivision) if subdivision else ("country", country)
            reason = f"unknown to the holidays package: {exc}"
            raise ValidationError.single(path, value, reason) from None
        days = set(found.keys()) | set(extra_holidays)
        return cls(timezone=timezone, hours=hours, holidays=sorted(days))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> BusinessCalendar:
        """Build a calendar from its data form; every problem is reported at once.

        >>> BusinessCalendar.from_dict({
        ...     "timezone": "Europe/Helsinki",
        ...     "hours": {"mon": ["08:00-16:00"], "fri": ["08:00-12:00"]},
        ...     "holidays": ["2026-12-24"],
        ... }).holidays
        (datetime.date(2026, 12, 24),)
        """
        deep = nesting_problem(data)
        if deep is not None:
            raise ValidationError([deep], source=source)
        calendar, problems = calendar_from_data(data)
        if calendar is None:
            raise ValidationError(problems, source=source)
        return calendar

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> BusinessCalendar:
        """Load a calendar from a TOML (or ``.json``) file in the data form."""
        return cls.from_dict(load_data_file(path), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The data form: ``BusinessCalendar.from_dict(cal.to_dict()) == cal``.

        >>> BusinessCalendar.always().to_dict()["hours"]["sun"]
        ['00:00-24:00']
        """
        return {
            "timezone": self.timezone,
            "hours": {day: list(intervals) for day, intervals in self.hours.items()},
            "holidays": [day.isoformat() for day in self.holidays],
        }

    # -- arithmetic ------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant at which ``duration`` of business time from ``start`` is used up.

        ``start`` must be aware; the result is aware, in UTC. A zero duration gives
        ``start`` itself. A negative duration counts backwards: the latest instant
        ``t <= start`` with ``between(t, start) == -duration``.

        >>> from datetime import datetime, timedelta, timezone
        >>> cal = BusinessCalendar(timezone="UTC")  # Mon-Fri 08:00-16:00
        >>> friday_15 = datetime(2026, 1, 9, 15, 0, tzinfo=timezone.utc)
        >>> cal.add(friday_15, timedelta(hours=2)).isoformat()
        '2026-01-12T09:00:00+00:00'
        >>> cal.add(friday_15, timedelta(hours=1)).isoformat()  # not Monday 08:00
        '2026-01-09T16:00:00+00:00'
        """
        t = _aware(start, "start")
        need = _duration(duration)
        if need == 0:
            return from_us(t)
        if not FIRST_US <= t < LAST_US:
            raise out_of_range("start", start)
        if abs(need) > self._reachable(t, forward=need > 0):
            raise out_of_range("duration", duration)
        found = self._forward(t, need) if need > 0 else self._backward(t, -need)
        if not FIRST_US <= found < LAST_US:
            raise out_of_range("duration", duration)
        return from_us(found)

    def _forward(self, t: int, need: int) -> int:
        """The earliest instant with ``need`` (> 0) of business time in ``[t, instant)``."""
        schedule, offsets = self._schedule, self._offsets
        _, hi, off = offsets.segment(t)
        base = schedule.f(t + off)
        while True:
            top = schedule.f(hi + off)
            if need <= top - base:
                return schedule.first_reaching(base + need) - off
            need -= top - base
            _, next_hi, next_off = offsets.segment(hi)
            base = top - self._correction(hi, off, next_off)
            hi, off = next_hi, next_off

    def _backward(self, t: int, need: int) -> int:
        """The latest instant with ``need`` (> 0) of business time in ``[instant, t)``."""
        schedule, offsets = self._schedule, self._offsets
        while True:
            lo, _, off = offsets.segment(t - 1)
            top = schedule.f(t + off)
            available = top - schedule.f(lo + off)
            if need <= available:
                return schedule.last_within(top - need) - off
            need -= available
            t = lo

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in ``[start, end)``; ``timedelta(0)`` when ``end <= start``.

        >>> from datetime import datetime, timezone
        >>> cal = BusinessCalendar(timezone="UTC")  # Mon-Fri 08:00-16:00
        >>> cal.between(datetime(2026, 1, 9, 15, tzinfo=timezone.utc),
        ...             datetime(2026, 1, 12, 9, tzinfo=timezone.utc))
        datetime.timedelta(seconds=7200)
        """
        t = _aware(start, "start")
        end_us = _aware(end, "end")
        if end_us <= t:
            return _ZERO
        if t < FIRST_US:
            raise out_of_range("start", start)
        if end_us >= LAST_US:
            raise out_of_range("end", end)
        f = self._schedule.f
        _, hi, off = self._offsets.segment(t)
        if end_us <= hi:
            return timedelta(microseconds=f(end_us + off) - f(t + off))
        # Sum over constant-offset segments telescopes to the two ends plus, per
        # transition, F(tau + before) - F(tau + after): minus the local time a
        # spring-forward skips, plus the local time a fall-back repeats.
        total = -f(t + off)
        for tau, before, after in self._offsets.transitions(t, end_us):
            total += self._correction(tau, before, after)
            off = after
        total += f(end_us + off)
        return timedelta(microseconds=total)

    def _reachable(self, t: int, *, forward: bool) -> float:
        """A bound on the business time from ``t`` to the end (or from the start) of the
        range the arithmetic supports: a longer duration is refused before any work."""
        span = LAST_US - t if forward else t - FIRST_US
        schedule = self._schedule
        weeks = span // WEEK + 2
        return weeks * schedule.total + _CHANGES_PER_YEAR * schedule.day_max * (span / YEAR + 1)

    def _correction(self, tau: int, before: int, after: int) -> int:
        """``F(tau + before) - F(tau + after)``: what the offset change at ``tau`` adds."""
        if before == after:
            return 0
        correction = self._corrections.get(tau)
        if correction is None:
            f = self._schedule.f
            correction = self._corrections[tau] = f(tau + before) - f(tau + after)
        return correction

    def is_open(self, at: datetime) -> bool:
        """True when the local wall clock at ``at`` is inside business hours, not on a holiday.

        >>> from datetime import datetime, timezone
        >>> cal = BusinessCalendar(timezone="UTC")
        >>> cal.is_open(datetime(2026, 1, 9, 15, 59, tzinfo=timezone.utc))
        True
        >>> cal.is_open(datetime(2026, 1, 9, 16, 0, tzinfo=timezone.utc))
        False
        """
        t = _aware(at, "at")
        if not FIRST_US <= t < LAST_US:
            raise out_of_range("at", at)
        _, _, off = self._offsets.segment(t)
        return self._schedule.is_open(t + off)

    def next_open(self, at: datetime) -> datetime:
        """The earliest instant at or after ``at`` inside business hours, in UTC.

        >>> from datetime import datetime, timezone
        >>> cal = BusinessCalendar(timezone="UTC")
        >>> cal.next_open(datetime(2026, 1, 9, 16, 0, tzinfo=timezone.utc)).isoformat()
        '2026-01-12T08:00:00+00:00'
        """
        # Business time accrues from the first open instant on; every boundary of
        # the open set falls on a whole second, so one microsecond finds it.
        return self.add(at, _US) - _US


def weekly_hours(calendar: BusinessCalendar) -> timedelta:
    """The business hours of ``calendar``'s week, holidays aside.

    >>> weekly_hours(BusinessCalendar())
    datetime.timedelta(days=1, seconds=57600)
    """
    return timedelta(microseconds=calendar._schedule.total)


def years_to_spend(calendar: BusinessCalendar, business_time: float) -> float:
    """A bound, in years, on the calendar time that ``business_time`` (microseconds)
    of business time on ``calendar`` can take, from any start.

    Every stretch of exactly ``k`` weeks holds ``k`` weeks of the weekly hours; the
    holidays take away at most their own hours, and clock changes skip at most a
    day of business hours each, at most four times a year. The bound is loose (by
    under a tenth), never short.

    >>> round(years_to_spend(BusinessCalendar.always(), 365.2425 * 86_400e6), 2)
    1.05
    """
    schedule = calendar._schedule
    per_week = schedule.total - _CHANGES_PER_YEAR * schedule.day_max * WEEK / YEAR
    needed = business_time + schedule.hol_cum[-1]
    return (needed / per_week + 2) * WEEK / YEAR


# -- data form ---------------------------------------------------------------------------

CALENDAR_KEYS: Final = ("timezone", "hours", "holidays")
"""The keys of a business calendar's data form (all optional)."""


def calendar_from_data(
    data: Any, prefix: str = ""
) -> tuple[BusinessCalendar | None, list[Problem]]:
    """The calendar in ``data``, or None and the problems, their paths under ``prefix``."""
    if not isinstance(data, Mapping):
        return None, [Problem(prefix, data, "expected a table")]
    problems: list[Problem] = [
        Problem(str(key), data[key], "unknown key") for key in data if key not in CALENDAR_KEYS
    ]
    raw_holidays = data.get("holidays", ())
    holidays: list[date] = []
    if isinstance(raw_holidays, str | Mapping) or not isinstance(raw_holidays, Sequence):
        problems.append(Problem("holidays", raw_holidays, "expected a list of dates"))
    else:
        for index, day in enumerate(raw_holidays):
            if isinstance(day, str):
                try:
                    if not day.isascii():
                        raise ValueError(day)
                    holidays.append(date.fromisoformat(day))
                except ValueError:
                    problems.append(Problem(f"holidays[{index}]", day, "expected YYYY-MM-DD"))
            elif isinstance(day, date) and not isinstance(day, datetime):
                holidays.append(day)
            else:
                problems.append(Problem(f"holidays[{index}]", day, "expected a date (YYYY-MM-DD)"))
    calendar: BusinessCalendar | None = None
    try:
        calendar = BusinessCalendar(
            timezone=data.get("timezone", DEFAULT_TIMEZONE),
            hours=data.get("hours", DEFAULT_HOURS),
            holidays=holidays,
        )
    except ValidationError as exc:
        problems.extend(exc.problems)
    if problems:
        return None, [prefixed(prefix, p) for p in problems]
    return calendar, []


def prefixed(prefix: str, problem: Problem) -> Problem:
    """``problem`` with its path under ``prefix`` (``calendar`` + ``hours.mon`` gives
    ``calendar.hours.mon``)."""
    if not prefix:
        return problem
    path = f"{prefix}.{problem.path}" if problem.path else prefix
    return Problem(path, problem.value, problem.reason)
