"""A time zone's UTC offsets as integer microseconds, split into constant-offset segments.

The calendar arithmetic works on two integer time lines, both counted in
microseconds from 0001-01-01 00:00 (a Monday): the UTC line (real time) and
the local wall-clock line. Within a segment the zone's offset is constant, so
local = utc + offset there. ``zoneinfo`` does not expose its transitions, so
they are found once per zone and year by sampling the offset daily and
bisecting to the second, and cached. (This assumes the offset changes at most
once within a UTC day.)
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, final
from zoneinfo import ZoneInfo

from reqfulfill.model.errors import ValidationError

__all__ = [
    "DAY",
    "FIRST_US",
    "LAST_US",
    "MINUTE",
    "WEEK",
    "YEAR",
    "ZoneOffsets",
    "from_us",
    "out_of_range",
    "to_us",
]

US: Final = timedelta(microseconds=1)
SECOND: Final = 1_000_000
MINUTE: Final = 60 * SECOND
DAY: Final = 1440 * MINUTE
WEEK: Final = 7 * DAY
YEAR: Final = 365.2425 * DAY
"""The mean Gregorian year, in microseconds (a float: for estimates only)."""
_EPOCH: Final = datetime(1, 1, 1, tzinfo=UTC)

# Years whose transitions can be computed: the sampling looks one second before
# the year and the look-ahead one year after it, inside datetime's range.
_MIN_YEAR: Final = 2
_MAX_YEAR: Final = 9997


def out_of_range(what: str, value: object) -> ValidationError:
    """The error for an instant the arithmetic cannot reach: outside years 2 to 9996."""
    return ValidationError.single(
        what,
        value,
        f"outside the range the calendar arithmetic supports (years {_MIN_YEAR} to "
        f"{_MAX_YEAR - 1})",
    )


def to_us(moment: datetime) -> int:
    """An aware datetime as microseconds on the UTC line."""
    return (moment - _EPOCH) // US


def from_us(value: int) -> datetime:
    """A point of the UTC line as an aware UTC datetime."""
    try:
        return _EPOCH + timedelta(microseconds=value)
    except OverflowError:
        raise out_of_range("result", "<beyond datetime's range>") from None


def _year_start(year: int) -> int:
    return (date(year, 1, 1).toordinal() - 1) * DAY


FIRST_US: Final = _year_start(_MIN_YEAR)
"""The first instant (UTC line) the arithmetic reaches: 0002-01-01."""
LAST_US: Final = _year_start(_MAX_YEAR)
"""The end of the instants (UTC line) the arithmetic reaches: 9997-01-01 (each
segment looks one year ahead, and the sampling one second behind)."""


def _offset(zone: ZoneInfo, value: int) -> int:
    offset = from_us(value).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset // US


@lru_cache(maxsize=2048)
def _year(key: str, year: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """(offset just before the year, transition instants in the year, offsets after them)."""
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise out_of_range("year", year)
    zone = ZoneInfo(key)
    start = _year_start(year)
    end = _year_start(year + 1)
    # Sample daily (a second before the year first, so that a transition exactly
    # at the year's start belongs to this year), then bisect each change to the
    # second: tzdata transitions fall on whole seconds.
    samples = [start - SECOND, *range(start + DAY, end, DAY), end]
    offsets = [_offset(zone, t) for t in samples]
    taus: list[int] = []
    after: list[int] = []
    for i in range(len(samples) - 1):
        if offsets[i] == offsets[i + 1]:
            continue
        lo, hi = samples[i] // SECOND, samples[i + 1] // SECOND
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(zone, mid * SECOND) == offsets[i]:
                lo = mid
            else:
                hi = mid
        tau = hi * SECOND
        if tau < end:
            taus.append(tau)
            after.append(_offset(zone, tau))
    return offsets[0], tuple(taus), tuple(after)


@final
class ZoneOffsets:
    """The constant-offset segments of one zone.

    >>> z = ZoneOffsets("Europe/Helsinki")
    >>> lo, hi, off = z.segment(to_us(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)))
    >>> from_us(hi), off // 3_600_000_000
    (datetime.datetime(2026, 3, 29, 1, 0, tzinfo=datetime.timezone.utc), 2)
    """

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def segment(self, value: int) -> tuple[int, int, int]:
        """``(lo, hi, offset)``: the offset is constant on ``[lo, hi)``, which holds ``value``.

        ``lo`` may be later than the true start of the segment (a year boundary);
        ``hi`` is the next transition, looking at most into the next year.
        """
        year = date.fromordinal(value // DAY + 1).year
        before, taus, after = _year(self.key, year)
        i = bisect_right(taus, value)
        if i:
            lo, offset = taus[i - 1], after[i - 1]
        else:
            lo, offset = _year_start(year), before
        if i < len(taus):
            hi = taus[i]
        else:
            _, next_taus, _ = _year(self.key, year + 1)
            hi = next_taus[0] if next_taus else _year_start(year + 2)
        return lo, hi, offset

    def transitions(self, after: int, until: int) -> list[tuple[int, int, int]]:
        """``(instant, offset before, offset after)`` of each transition in ``(after, until]``."""
        found: list[tuple[int, int, int]] = []
        first = date.fromordinal(after // DAY + 1).year
        last = date.fromordinal(until // DAY + 1).year
        for year in range(first, last + 1):
            before, taus, offsets = _year(self.key, year)
            lo = bisect_right(taus, after) if year == first else 0
            hi = bisect_right(taus, until) if year == last else len(taus)
            for i in range(lo, hi):
                found.append((taus[i], offsets[i - 1] if i else before, offsets[i]))
        return found
