"""BusinessCalendar: examples, DST days, validation, data form, country holidays."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reqfulfill.model.errors import ReqfulfillError, ValidationError
from reqfulfill.sla import WEEKDAYS, BusinessCalendar, MissingExtraError

HELSINKI = ZoneInfo("Europe/Helsinki")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
ALL_DAY = {day: ["00:00-24:00"] for day in WEEKDAYS}


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# -- everyday arithmetic ----------------------------------------------------------------


class TestWeekdays:
    cal = BusinessCalendar(timezone="UTC")  # Mon-Fri 08:00-16:00

    def test_add_within_the_day(self) -> None:
        assert self.cal.add(utc(2026, 1, 5, 9), h(3)) == utc(2026, 1, 5, 12)

    def test_add_ends_at_closing_time_not_next_opening(self) -> None:
        assert self.cal.add(utc(2026, 1, 5, 9), h(7)) == utc(2026, 1, 5, 16)

    def test_add_over_the_weekend(self) -> None:
        assert self.cal.add(utc(2026, 1, 9, 15), h(2)) == utc(2026, 1, 12, 9)

    def test_add_from_closed_time_starts_at_opening(self) -> None:
        assert self.cal.add(utc(2026, 1, 10, 12), h(1)) == utc(2026, 1, 12, 9)

    def test_add_zero_is_start_even_when_closed(self) -> None:
        saturday = utc(2026, 1, 10, 12)
        assert self.cal.add(saturday, timedelta(0)) == saturday

    def test_add_negative_counts_backwards_to_the_latest_instant(self) -> None:
        assert self.cal.add(utc(2026, 1, 12, 9), -h(1)) == utc(2026, 1, 12, 8)
        assert self.cal.add(utc(2026, 1, 12, 9), -h(2)) == utc(2026, 1, 9, 15)

    def test_add_whole_weeks(self) -> None:
        assert self.cal.add(utc(2026, 1, 5, 8), h(40 * 52)) == utc(2027, 1, 1, 16)

    def test_between_counts_only_business_hours(self) -> None:
        assert self.cal.between(utc(2026, 1, 9, 15), utc(2026, 1, 12, 9)) == h(2)

    def test_between_reversed_or_empty_is_zero(self) -> None:
        assert self.cal.between(utc(2026, 1, 12, 9), utc(2026, 1, 9, 15)) == timedelta(0)
        assert self.cal.between(utc(2026, 1, 9, 9), utc(2026, 1, 9, 9)) == timedelta(0)

    def test_microseconds_are_exact(self) -> None:
        start = utc(2026, 1, 5, 15, 59, 59, 999_999)
        assert self.cal.add(start, timedelta(microseconds=2)) == utc(2026, 1, 6, 8, 0, 0, 1)

    def test_result_is_utc_for_any_input_zone(self) -> None:
        result = self.cal.add(datetime(2026, 1, 5, 11, tzinfo=HELSINKI), h(1))
        assert result.tzinfo is UTC
        assert result == utc(2026, 1, 5, 10)

    def test_is_open_and_next_open(self) -> None:
        assert self.cal.is_open(utc(2026, 1, 5, 8))
        assert not self.cal.is_open(utc(2026, 1, 5, 16))
        assert self.cal.next_open(utc(2026, 1, 5, 16)) == utc(2026, 1, 6, 8)
        assert self.cal.next_open(utc(2026, 1, 5, 12, 30)) == utc(2026, 1, 5, 12, 30)

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            self.cal.add(datetime(2026, 1, 5, 9), h(1))
        with pytest.raises(ValueError, match="aware"):
            self.cal.between(utc(2026, 1, 5, 9), datetime(2026, 1, 6, 9))


def test_split_shifts_and_midnight() -> None:
    cal = BusinessCalendar(
        timezone="UTC", hours={"mon": ["13:00-17:00", "08:00-12:00"], "tue": ["22:00-24:00"]}
    )
    assert cal.hours["mon"] == ("08:00-12:00", "13:00-17:00")
    assert cal.add(utc(2026, 1, 5, 11), h(2)) == utc(2026, 1, 5, 14)
    assert cal.add(utc(2026, 1, 5, 16), h(2)) == utc(2026, 1, 6, 23)
    assert cal.between(utc(2026, 1, 5), utc(2026, 1, 7)) == h(10)
    assert cal.is_open(utc(2026, 1, 6, 23, 59, 59))
    assert not cal.is_open(utc(2026, 1, 7, 0, 0))


def test_adjacent_intervals_across_midnight_count_continuously() -> None:
    cal = BusinessCalendar(timezone="UTC", hours={"mon": ["20:00-24:00"], "tue": ["00:00-04:00"]})
    assert cal.add(utc(2026, 1, 5, 22), h(4)) == utc(2026, 1, 6, 2)


def test_holidays_close_the_whole_local_day() -> None:
    cal = BusinessCalendar(timezone="Europe/Helsinki", holidays=[date(2026, 12, 24)])
    # Wed 23 Dec 15:00 local; Thu 24th is a holiday; Fri 25th is not (none listed).
    start = datetime(2026, 12, 23, 15, tzinfo=HELSINKI)
    assert cal.add(start, h(2)) == datetime(2026, 12, 25, 9, tzinfo=HELSINKI)
    assert not cal.is_open(datetime(2026, 12, 24, 10, tzinfo=HELSINKI))
    assert cal.between(start, datetime(2026, 12, 26, tzinfo=HELSINKI)) == h(9)


def test_holiday_on_a_closed_day_changes_nothing() -> None:
    plain = BusinessCalendar(timezone="UTC")
    with_sunday = BusinessCalendar(timezone="UTC", holidays=[date(2026, 1, 11)])
    start = utc(2026, 1, 9, 12)
    assert with_sunday.add(start, h(10)) == plain.add(start, h(10))


def test_always_is_real_time() -> None:
    cal = BusinessCalendar.always()
    start = datetime(2026, 3, 29, 2, 30, tzinfo=HELSINKI)
    assert cal.add(start, h(100)) == start.astimezone(UTC) + h(100)
    # Wall-clock addition in Helsinki crosses the skipped hour: 4 real hours.
    assert cal.between(start, start + h(5)) == h(4)
    assert cal.between(start, start.astimezone(UTC) + h(5)) == h(5)
    assert cal.is_open(start)


# -- DST ---------------------------------------------------------------------------------


class TestDaylightSavingTime:
    def test_helsinki_spring_forward_day_is_23_hours(self) -> None:
        cal = BusinessCalendar(timezone="Europe/Helsinki", hours=ALL_DAY)
        start = datetime(2026, 3, 29, tzinfo=HELSINKI)
        end = datetime(2026, 3, 30, tzinfo=HELSINKI)
        assert cal.between(start, end) == h(23)
        assert cal.add(start, h(23)) == end

    def test_helsinki_fall_back_day_is_25_hours(self) -> None:
        cal = BusinessCalendar(timezone="Europe/Helsinki", hours=ALL_DAY)
        start, end = (
            datetime(2026, 10, 25, tzinfo=HELSINKI),
            datetime(2026, 10, 26, tzinfo=HELSINKI),
        )
        assert cal.between(start, end) == h(25)
        assert cal.add(start, h(25)) == end

    def test_helsinki_skipped_hour_counts_nothing(self) -> None:
        # 2026-03-29: 03:00 EET jumps to 04:00 EEST (01:00 UTC).
        cal = BusinessCalendar(timezone="Europe/Helsinki", hours={"sun": ["02:00-05:00"]})
        assert cal.between(utc(2026, 3, 28), utc(2026, 3, 30)) == h(2)
        assert cal.add(utc(2026, 3, 28), h(1)) == utc(2026, 3, 29, 1)  # 02:00-03:00 EET
        assert cal.add(utc(2026, 3, 28), h(1.5)) == utc(2026, 3, 29, 1, 30)  # 04:30 EEST
        assert cal.is_open(utc(2026, 3, 29, 1, 0))  # 04:00 EEST

    def test_helsinki_repeated_hour_counts_twice(self) -> None:
        # 2026-10-25: 04:00 EEST falls back to 03:00 EET (01:00 UTC).
        cal = BusinessCalendar(timezone="Europe/Helsinki", hours={"sun": ["02:00-05:00"]})
        assert cal.between(utc(2026, 10, 24), utc(2026, 10, 26)) == h(4)
        assert cal.add(utc(2026, 10, 24), h(4)) == utc(2026, 10, 25, 3)
        # The repeated 03:00-04:00 is open both times it is shown.
        assert cal.is_open(utc(2026, 10, 25, 0, 30))
        assert cal.is_open(utc(2026, 10, 25, 1, 30))

    def test_new_york_spring_forward(self) -> None:
        # 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        cal = BusinessCalendar(timezone="America/New_York", hours={"sun": ["01:00-04:00"]})
        day = datetime(2026, 3, 8, tzinfo=NEW_YORK)
        assert cal.between(day, day + h(24)) == h(2)
        assert cal.add(day, h(2)) == datetime(2026, 3, 8, 4, tzinfo=NEW_YORK)
        assert cal.next_open(utc(2026, 3, 8, 5, 30)) == utc(2026, 3, 8, 6)

    def test_new_york_fall_back(self) -> None:
        # 2026-11-01: 02:00 EDT falls back to 01:00 EST (06:00 UTC).
        cal = BusinessCalendar(timezone="America/New_York", hours={"sun": ["00:00-03:00"]})
        day = datetime(2026, 11, 1, tzinfo=NEW_YORK)
        assert cal.between(day, day + h(30)) == h(4)
        assert cal.add(day, h(4)) == datetime(2026, 11, 1, 3, tzinfo=NEW_YORK)
        assert cal.add(day, h(2)) == utc(2026, 11, 1, 6)  # the first 02:00 == second 01:00

    def test_lord_howe_half_hour_shifts(self) -> None:
        cal = BusinessCalendar(timezone="Australia/Lord_Howe", hours={"sun": ["01:00-03:00"]})
        # 2026-04-05: 02:00 +11 falls back to 01:30 +10:30: half an hour counts twice.
        autumn = datetime(2026, 4, 5, tzinfo=LORD_HOWE)
        assert cal.between(autumn, autumn + h(30)) == h(2.5)
        # 2026-10-04: 02:00 +10:30 jumps to 02:30 +11: half an hour is skipped.
        spring = datetime(2026, 10, 4, tzinfo=LORD_HOWE)
        assert cal.between(spring, spring + h(30)) == h(1.5)
        assert cal.add(spring, h(1.5)) == datetime(2026, 10, 4, 3, tzinfo=LORD_HOWE)

    def test_span_over_both_transitions_of_a_year(self) -> None:
        cal = BusinessCalendar(timezone="Europe/Helsinki", hours=ALL_DAY)
        start = datetime(2026, 1, 1, tzinfo=HELSINKI)
        assert cal.between(start, datetime(2027, 1, 1, tzinfo=HELSINKI)) == h(365 * 24)
        end = datetime(2026, 7, 1, tzinfo=HELSINKI)
        # Real time: the skipped hour is not counted (same-zone subtraction would count it).
        assert (
            cal.between(start, end)
            == end.astimezone(UTC) - start.astimezone(UTC)
            == h(181 * 24 - 1)
        )


# -- validation ------------------------------------------------------------------------


def _problems(**kwargs: object) -> dict[str, object]:
    with pytest.raises(ValidationError) as info:
        BusinessCalendar(**kwargs)  # type: ignore[arg-type]
    return {p.path: p.value for p in info.value.problems}


@pytest.mark.parametrize(
    ("kwargs", "path", "value"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"timezone": 3}, "timezone", 3),
        ({"hours": {"monday": ["08:00-16:00"]}}, "hours.monday", "monday"),
        ({"hours": {"mon": ["16:00-08:00"]}}, "hours.mon[0]", "16:00-08:00"),
        ({"hours": {"mon": ["08:00-08:00"]}}, "hours.mon[0]", "08:00-08:00"),
        ({"hours": {"mon": ["8:00-16:00"]}}, "hours.mon[0]", "8:00-16:00"),
        ({"hours": {"mon": ["24:00-24:00"]}}, "hours.mon[0]", "24:00-24:00"),
        ({"hours": {"mon": ["22:00-24:30"]}}, "hours.mon[0]", "22:00-24:30"),
        ({"hours": {"mon": ["08:00-12:00", "11:00-13:00"]}}, "hours.mon[1]", "11:00-13:00"),
        ({"hours": {"mon": "08:00-16:00"}}, "hours.mon", "08:00-16:00"),
        ({"hours": {"mon": [800]}}, "hours.mon[0]", 800),
        ({"hours": ["08:00-16:00"]}, "hours", ["08:00-16:00"]),
        ({"holidays": ["2026-12-24"]}, "holidays[0]", "2026-12-24"),
        ({"holidays": [utc(2026, 12, 24)]}, "holidays[0]", utc(2026, 12, 24)),
    ],
)
def test_validation_names_path_and_value(
    kwargs: dict[str, object], path: str, value: object
) -> None:
    assert _problems(**kwargs) == {path: value}


def test_validation_reports_every_problem_at_once() -> None:
    found = _problems(timezone="Nowhere/Else", hours={"mon": ["9-5"], "xyz": []})
    assert set(found) == {"timezone", "hours.mon[0]", "hours.xyz"}


def test_a_calendar_needs_some_business_hours() -> None:
    assert list(_problems(hours={"sat": []})) == ["hours"]


def test_message_names_path_and_value() -> None:
    with pytest.raises(ValidationError, match=r"hours\.mon\[1\].*overlaps.*'11:00-13:00'"):
        BusinessCalendar(hours={"mon": ["08:00-12:00", "11:00-13:00"]})


def test_adjacent_intervals_are_not_overlapping() -> None:
    cal = BusinessCalendar(hours={"mon": ["12:00-16:00", "08:00-12:00"]})
    assert cal.hours == {"mon": ("08:00-12:00", "12:00-16:00")}


# -- equality and data form -------------------------------------------------------------


def test_equal_calendars_are_equal_and_hash_alike() -> None:
    a = BusinessCalendar(
        hours={"tue": ["13:00-17:00", "08:00-12:00"], "sun": []},
        holidays=[date(2026, 5, 1), date(2026, 1, 1), date(2026, 5, 1)],
    )
    b = BusinessCalendar(
        hours={"tue": ("08:00-12:00", "13:00-17:00")}, holidays=(date(2026, 1, 1), date(2026, 5, 1))
    )
    assert a == b
    assert hash(a) == hash(b)
    assert a != BusinessCalendar(hours={"tue": ["08:00-12:00"]}, holidays=b.holidays)


def test_hours_cannot_be_changed_after_construction() -> None:
    cal = BusinessCalendar()
    with pytest.raises(TypeError):
        cal.hours["sat"] = ("08:00-16:00",)  # type: ignore[index]


@pytest.mark.parametrize(
    "cal",
    [
        BusinessCalendar(),
        BusinessCalendar.always(),
        BusinessCalendar(
            timezone="America/New_York",
            hours={"mon": ["08:00-12:00", "13:00-17:00"], "sat": ["22:00-24:00"]},
            holidays=[date(2026, 7, 3), date(2026, 12, 25)],
        ),
    ],
)
def test_round_trip(cal: BusinessCalendar) -> None:
    assert BusinessCalendar.from_dict(cal.to_dict()) == cal


def test_data_form() -> None:
    cal = BusinessCalendar(
        timezone="UTC", hours={"fri": ["08:00-12:00"]}, holidays=[date(2026, 1, 2)]
    )
    assert cal.to_dict() == {
        "timezone": "UTC",
        "hours": {"fri": ["08:00-12:00"]},
        "holidays": ["2026-01-02"],
    }


def test_from_dict_reports_every_problem_with_its_path() -> None:
    with pytest.raises(ValidationError) as info:
        BusinessCalendar.from_dict(
            {"timezone": "UTC", "hours": {"mon": ["9-5"]}, "holidays": ["2026-13-01"], "x": 1}
        )
    found = {p.path: p.value for p in info.value.problems}
    assert found == {"x": 1, "holidays[0]": "2026-13-01", "hours.mon[0]": "9-5"}


def test_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(
        'timezone = "Europe/Helsinki"\n'
        'holidays = [2026-12-24, "2026-12-25"]\n'
        "[hours]\n"
        'mon = ["08:00-12:00", "13:00-17:00"]\n'
    )
    cal = BusinessCalendar.from_toml(path)
    assert cal.holidays == (date(2026, 12, 24), date(2026, 12, 25))
    assert cal.hours == {"mon": ("08:00-12:00", "13:00-17:00")}


def test_from_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text('timezone = "Nowhere"\n')
    with pytest.raises(ValidationError, match=r"calendar\.toml: timezone"):
        BusinessCalendar.from_toml(path)


# -- country holidays -------------------------------------------------------------------


def test_for_country_finland() -> None:
    cal = BusinessCalendar.for_country("FI", years=[2026, 2027])
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2027, 5, 1)} <= set(cal.holidays)
    assert cal.timezone == "Europe/Helsinki"
    # Thursday 24 December and Friday 25 December 2026 are closed.
    start = datetime(2026, 12, 23, 15, tzinfo=HELSINKI)
    assert cal.add(start, h(2)) == datetime(2026, 12, 28, 9, tzinfo=HELSINKI)
    assert BusinessCalendar.from_dict(cal.to_dict()) == cal


def test_for_country_subdivision_and_extras() -> None:
    cal = BusinessCalendar.for_country(
        "US",
        subdivision="CA",
        years=[2026],
        timezone="America/Los_Angeles",
        extra_holidays=[date(2026, 12, 24)],
    )
    assert date(2026, 7, 3) in cal.holidays  # Independence Day, observed
    assert date(2026, 12, 24) in cal.holidays


def test_for_country_unknown_country() -> None:
    with pytest.raises(ValidationError) as info:
        BusinessCalendar.for_country("XX")
    assert info.value.paths == ["country"]
    assert info.value.problems[0].value == "XX"


def test_for_country_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    with pytest.raises(MissingExtraError, match=r"reqfulfill\[holidays\]") as info:
        BusinessCalendar.for_country("FI")
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, ReqfulfillError)
