"""SLA targets and calendars that would overflow are refused when the policy loads.

A target over ``MAX_TARGET``, or one that a calendar's business hours (and holidays)
could stretch past ``MAX_HORIZON_YEARS``, is a ``ValidationError`` naming the path
and value; so are durations, weekdays' hours, holidays and priorities written with
digits other than ASCII ``0``-``9``. What loads computes its due dates: never an
``OverflowError``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from reqfulfill import FixedClock, FulfillmentService
from reqfulfill.model.errors import ValidationError
from reqfulfill.sla import MAX_HORIZON_YEARS, MAX_TARGET, BusinessCalendar, SlaPolicy
from reqfulfill.testing import demo_catalog, demo_requester

NOW = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
FULLWIDTH_2026 = "\uff12\uff10\uff12\uff16"


def refusal(data: dict[str, object]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        SlaPolicy.from_dict(data)
    return caught.value


def test_a_target_over_the_ceiling_is_refused_with_its_path_and_value() -> None:
    error = refusal({"targets": {"1": "4h", "3": "1000000d"}})
    assert [(p.path, p.value) for p in error.problems] == [("targets.3", "1000000d")]
    assert "at most 366d" in str(error)


def test_the_ceiling_itself_loads_on_a_round_the_clock_calendar() -> None:
    policy = SlaPolicy(targets={1: MAX_TARGET}, calendar=BusinessCalendar.always())
    due = policy.calendar.add(NOW, policy.target_for(1))
    assert due - NOW == MAX_TARGET


def test_the_ceiling_is_checked_when_the_policy_is_built_in_python() -> None:
    with pytest.raises(ValidationError) as caught:
        SlaPolicy(targets={1: MAX_TARGET + timedelta(microseconds=1)})
    assert caught.value.paths == ["targets.1"]


def test_a_calendar_open_one_minute_a_week_cannot_carry_a_long_target() -> None:
    sparse = {"timezone": "UTC", "hours": {"mon": ["08:00-08:01"]}}
    error = refusal({"targets": {"1": "30d"}, "calendar": sparse})
    (problem,) = error.problems
    assert problem.path == "calendar"
    assert problem.value == "1m of business hours a week"
    assert f"more than the {MAX_HORIZON_YEARS}-year horizon" in problem.reason


def test_a_short_target_on_the_same_sparse_calendar_loads_and_computes() -> None:
    policy = SlaPolicy.from_dict(
        {"targets": {"1": "4h"}, "calendar": {"timezone": "UTC", "hours": {"mon": ["08:00-08:01"]}}}
    )
    due = policy.calendar.add(NOW, timedelta(hours=4))
    assert policy.calendar.between(NOW, due) == timedelta(hours=4)
    assert due.year == 2030  # 240 Mondays later


def test_a_late_escalation_level_counts_towards_the_horizon() -> None:
    base = {"targets": {"1": "366d"}, "calendar": {"hours": {"mon": ["08:00-16:00"]}}}
    SlaPolicy.from_dict(base)  # the breach falls in about 21 years
    error = refusal({**base, "escalation": [{"at": 50.0, "action": "notify"}]})
    assert error.paths == ["calendar"]
    assert "at level 50" in str(error)
    error = refusal({**base, "escalation": [{"at": 1e300, "action": "notify"}]})
    assert "far more than a trillion years" in str(error)


def test_holidays_closing_years_of_days_count_towards_the_horizon() -> None:
    start = date(2026, 1, 1)
    closed = [start + timedelta(days=n) for n in range(0, 366 * 200, 1)]
    error = refusal(
        {
            "targets": {"1": "8h"},
            "calendar": {"timezone": "UTC", "holidays": [d.isoformat() for d in closed]},
        }
    )
    assert error.paths == ["calendar"]
    assert f"{len(closed)} holidays" in str(error)


def test_the_horizon_holds_for_what_loads_at_its_edge() -> None:
    # one hour a week carries 366d in about 168 years: inside the horizon
    hourly = {"timezone": "UTC", "hours": {"sun": ["23:00-24:00"]}}
    policy = SlaPolicy.from_dict({"targets": {"1": "366d"}, "calendar": hourly})
    due = policy.calendar.add(NOW, MAX_TARGET)
    assert NOW < due < NOW.replace(year=NOW.year + MAX_HORIZON_YEARS)


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"targets": {"1": "\u0664h"}}, "targets.1"),
        ({"targets": {"1": "\uff14h"}}, "targets.1"),
        ({"targets": {"\u0661": "4h"}}, "targets.\u0661"),
        ({"targets": {"1": "4h"}, "calendar": {"hours": {"mon": ["\u06608:00-16:00"]}}}, None),
        ({"targets": {"1": "4h"}, "calendar": {"holidays": [FULLWIDTH_2026 + "-01-01"]}}, None),
    ],
)
def test_digits_other_than_ascii_are_refused(data: dict[str, object], path: str | None) -> None:
    error = refusal(data)
    assert len(error.problems) == 1
    if path is not None:
        assert error.paths == [path]
    else:
        assert error.paths[0].startswith("calendar.")


def test_instants_outside_the_supported_years_are_validation_errors() -> None:
    cal = BusinessCalendar.always()
    with pytest.raises(ValidationError) as caught:
        cal.add(datetime(9996, 12, 1, tzinfo=UTC), timedelta(days=400))
    assert caught.value.paths == ["duration"]
    with pytest.raises(ValidationError) as caught:
        cal.add(datetime(9997, 6, 1, tzinfo=UTC), timedelta(hours=1))
    assert caught.value.paths == ["start"]
    with pytest.raises(ValidationError) as caught:
        cal.add(datetime(1, 1, 2, tzinfo=UTC), timedelta(hours=1))
    assert caught.value.paths == ["start"]
    with pytest.raises(ValidationError) as caught:
        cal.between(NOW, datetime(9999, 1, 1, tzinfo=UTC))
    assert caught.value.paths == ["end"]
    with pytest.raises(ValidationError) as caught:
        cal.is_open(datetime(9999, 1, 1, tzinfo=UTC))
    assert caught.value.paths == ["at"]


@pytest.mark.parametrize("days", [4_000_000, -4_000_000, 999_999_999])
def test_a_duration_past_the_supported_years_is_refused_before_any_work(days: int) -> None:
    with pytest.raises(ValidationError) as caught:
        BusinessCalendar().add(NOW, timedelta(days=days))
    assert caught.value.paths == ["duration"]


def test_submit_with_a_policy_at_the_edge_sets_its_due_date() -> None:
    policy = SlaPolicy.from_dict(
        {
            "targets": {"1": "366d", "5": "366d"},
            "calendar": {"timezone": "Europe/Helsinki", "hours": {"wed": ["10:00-11:00"]}},
        }
    )
    service = FulfillmentService(
        demo_catalog(), sla=policy, store="memory://", clock=FixedClock(NOW)
    )
    request = service.submit(demo_requester(), "password-reset", "portal", {})
    assert request.sla.due is not None
    assert NOW < request.sla.due < NOW.replace(year=NOW.year + MAX_HORIZON_YEARS)
    assert policy.calendar.between(NOW, request.sla.due) == request.sla.target
