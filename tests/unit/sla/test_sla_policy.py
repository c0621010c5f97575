"""SlaPolicy and EscalationLevel: targets, validation, data form."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reqfulfill.model.enums import Priority, RequestState
from reqfulfill.model.errors import ValidationError
from reqfulfill.sla import BusinessCalendar, EscalationLevel, SlaPolicy

H = timedelta(hours=1)


def test_defaults() -> None:
    policy = SlaPolicy(targets={Priority.CRITICAL: 4 * H})
    assert policy.calendar == BusinessCalendar()
    assert policy.pause_in == (RequestState.WAITING,)
    assert policy.escalation == (
        EscalationLevel(at=0.75, action="notify"),
        EscalationLevel(at=1.0, action="escalate"),
    )
    assert policy.hold_notifications is True


def test_default_policy_targets() -> None:
    policy = SlaPolicy.default()
    assert [policy.target_for(p) for p in Priority] == [4 * H, 8 * H, 24 * H, 40 * H, 80 * H]


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        (Priority.CRITICAL, 4 * H),
        (Priority.HIGH, 24 * H),  # nearest less urgent: P3
        (Priority.MODERATE, 24 * H),
        (Priority.LOW, 24 * H),  # nothing less urgent: nearest more urgent, P3
        (5, 24 * H),
    ],
)
def test_missing_priorities_fall_back(priority: Priority | int, expected: timedelta) -> None:
    policy = SlaPolicy(targets={Priority.CRITICAL: 4 * H, Priority.MODERATE: 24 * H})
    assert policy.target_for(priority) == expected


def test_integer_keys_become_priorities() -> None:
    policy = SlaPolicy(targets={1: 4 * H})  # type: ignore[dict-item]
    assert list(policy.targets) == [Priority.CRITICAL]
    assert policy == SlaPolicy(targets={Priority.CRITICAL: 4 * H})


def test_escalation_levels_are_ordered_by_threshold() -> None:
    a = SlaPolicy(
        targets={Priority.CRITICAL: H},
        escalation=[EscalationLevel(1.0, "escalate"), EscalationLevel(0.5, "notify")],
    )
    assert [lv.at for lv in a.escalation] == [0.5, 1.0]
    assert a == SlaPolicy(
        targets={Priority.CRITICAL: H},
        escalation=(EscalationLevel(0.5, "notify"), EscalationLevel(1.0, "escalate")),
    )
    assert hash(a) == hash(SlaPolicy(targets={Priority.CRITICAL: H}, escalation=a.escalation))


def _paths(**kwargs: Any) -> dict[str, object]:
    kwargs.setdefault("targets", {Priority.CRITICAL: H})
    with pytest.raises(ValidationError) as info:
        SlaPolicy(**kwargs)
    return {p.path: p.value for p in info.value.problems}


def test_policy_validation() -> None:
    assert _paths(targets={}) == {"targets": {}}
    assert _paths(targets={Priority.HIGH: timedelta(0)}) == {"targets.2": timedelta(0)}
    assert _paths(targets={7: H}) == {"targets.7": 7}
    assert _paths(pause_in=("waiting",)) == {"pause_in[0]": "waiting"}
    level = EscalationLevel(0.5, "notify")
    assert _paths(escalation=(level, level)) == {"escalation[1]": level.to_dict()}
    assert _paths(calendar="UTC") == {"calendar": "UTC"}


@pytest.mark.parametrize(
    ("at", "action", "path", "value"),
    [
        (0, "notify", "at", 0),
        (-0.5, "notify", "at", -0.5),
        (float("inf"), "notify", "at", float("inf")),
        ("0.5", "notify", "at", "0.5"),
        (True, "notify", "at", True),
        (0.5, "page", "action", "page"),
    ],
)
def test_level_validation(at: Any, action: Any, path: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        EscalationLevel(at=at, action=action)
    assert [(p.path, p.value) for p in info.value.problems] == [(path, value)]


def test_level_at_accepts_integers_as_floats() -> None:
    level = EscalationLevel(at=1, action="escalate")
    assert level.at == 1.0
    assert isinstance(level.at, float)


# -- data form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        SlaPolicy.default(),
        SlaPolicy(
            targets={Priority.HIGH: timedelta(hours=1, minutes=30), Priority.PLANNING: 10 * H},
            calendar=BusinessCalendar.always(),
            pause_in=(RequestState.WAITING, RequestState.AWAITING_APPROVAL),
            escalation=(EscalationLevel(0.5, "notify"), EscalationLevel(1.25, "notify_manager")),
            hold_notifications=False,
        ),
        SlaPolicy(targets={Priority.LOW: H}, pause_in=(), escalation=()),
    ],
)
def test_round_trip(policy: SlaPolicy) -> None:
    assert SlaPolicy.from_dict(policy.to_dict()) == policy


def test_level_round_trip() -> None:
    level = EscalationLevel(at=0.9, action="notify_manager")
    assert EscalationLevel.from_dict(level.to_dict()) == level


def test_data_form() -> None:
    policy = SlaPolicy(
        targets={Priority.CRITICAL: 4 * H, Priority.HIGH: timedelta(hours=1, minutes=30)},
        calendar=BusinessCalendar(timezone="UTC", hours={"mon": ["09:00-17:00"]}),
    )
    assert policy.to_dict() == {
        "targets": {"1": "4h", "2": "1h30m"},
        "calendar": {"timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}, "holidays": []},
        "pause_in": ["waiting"],
        "escalation": [{"at": 0.75, "action": "notify"}, {"at": 1.0, "action": "escalate"}],
        "hold_notifications": True,
    }


def test_from_dict_reports_every_problem_with_nested_paths() -> None:
    data = {
        "targets": {"1": "4 hours", "p2": "8h", "3": 5},
        "calendar": {"timezone": "UTC", "hours": {"mon": ["17:00-09:00"]}, "colour": "red"},
        "pause_in": ["waiting", "asleep"],
        "escalation": [{"at": 0.5, "action": "notify"}, {"at": 0, "action": "shout"}, {"at": 1}],
        "hold_notifications": "yes",
        "extra": True,
    }
    with pytest.raises(ValidationError) as info:
        SlaPolicy.from_dict(data, source="sla.toml")
    found = {p.path: p.value for p in info.value.problems}
    assert found == {
        "extra": True,
        "targets.1": "4 hours",
        "targets.p2": "p2",
        "targets.3": 5,
        "calendar.colour": "red",
        "calendar.hours.mon[0]": "17:00-09:00",
        "pause_in[1]": "asleep",
        "escalation[1].at": 0,
        "escalation[1].action": "shout",
        "escalation[2].action": None,
        "hold_notifications": "yes",
    }
    assert str(info.value).startswith("sla.toml: 11 problems")


def test_from_dict_needs_targets() -> None:
    with pytest.raises(ValidationError) as info:
        SlaPolicy.from_dict({})
    assert info.value.paths == ["targets"]
    with pytest.raises(ValidationError) as info:
        SlaPolicy.from_dict({"targets": {}})
    assert info.value.paths == ["targets"]


def test_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "sla.toml"
    path.write_text(
        'pause_in = ["waiting"]\n'
        "[targets]\n"
        '1 = "4h"\n'
        '2 = "1d"\n'
        "[calendar]\n"
        'timezone = "America/New_York"\n'
        "holidays = [2026-07-03]\n"
        "[calendar.hours]\n"
        'mon = ["09:00-17:00"]\n'
        "[[escalation]]\n"
        "at = 1\n"
        'action = "escalate"\n'
    )
    policy = SlaPolicy.from_toml(path)
    assert policy.target_for(Priority.HIGH) == timedelta(days=1)
    assert policy.calendar.timezone == "America/New_York"
    assert policy.escalation == (EscalationLevel(1.0, "escalate"),)
    assert SlaPolicy.from_dict(policy.to_dict()) == policy
