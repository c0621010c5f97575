"""SlaPolicy on random policies: the data form round-trips, target_for follows its rule."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from reqfulfill.model.enums import Priority, RequestState
from reqfulfill.sla import (
    ESCALATION_ACTIONS,
    WEEKDAYS,
    BusinessCalendar,
    EscalationLevel,
    SlaPolicy,
)

durations = st.integers(1, 30 * 86_400).map(lambda s: timedelta(seconds=s))
levels = st.builds(
    EscalationLevel,
    at=st.floats(0.01, 3.0, allow_nan=False),
    action=st.sampled_from(ESCALATION_ACTIONS),
)
calendars = st.builds(
    BusinessCalendar,
    timezone=st.sampled_from(["UTC", "Europe/Helsinki", "America/New_York"]),
    hours=st.sets(st.sampled_from(WEEKDAYS), min_size=1).map(
        lambda days: {d: ["09:00-12:00", "13:00-24:00"] for d in days}
    ),
    holidays=st.lists(st.dates(), max_size=3),
)
policies = st.builds(
    SlaPolicy,
    targets=st.dictionaries(st.sampled_from(Priority), durations, min_size=1),
    calendar=calendars,
    pause_in=st.lists(st.sampled_from(RequestState), unique=True, max_size=3).map(tuple),
    escalation=st.lists(levels, unique=True, max_size=4).map(tuple),
    hold_notifications=st.booleans(),
)


@given(policies)
def test_round_trip(policy: SlaPolicy) -> None:
    assert SlaPolicy.from_dict(policy.to_dict()) == policy


@given(policies)
def test_escalation_levels_are_sorted(policy: SlaPolicy) -> None:
    thresholds = [level.at for level in policy.escalation]
    assert thresholds == sorted(thresholds)


@given(policies, st.sampled_from(Priority))
def test_target_for_uses_nearest_less_urgent_then_more_urgent(
    policy: SlaPolicy, priority: Priority
) -> None:
    defined = sorted(policy.targets)
    less_urgent = [p for p in defined if p >= priority]
    chosen = less_urgent[0] if less_urgent else defined[-1]
    assert policy.target_for(priority) == policy.targets[chosen]
