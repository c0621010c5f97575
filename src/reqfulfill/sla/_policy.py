"""SLA policies: resolution targets per priority, the calendar they count on, escalation levels."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from os import PathLike
from types import MappingProxyType
from typing import Any, Final, final

import attrs

from reqfulfill.model.enums import Priority, RequestState
from reqfulfill.model.errors import Problem, ValidationError, nesting_problem
from reqfulfill.serialization.config import format_duration, load_data_file
from reqfulfill.sla._business_days import (
    BusinessDays,
    Target,
    business_days_budget,
    format_target,
    longest_day,
    parse_target,
)
from reqfulfill.sla._calendar import (
    BusinessCalendar,
    calendar_from_data,
    prefixed,
    weekly_hours,
    years_to_spend,
)

__all__ = [
    "DEFAULT_ESCALATION",
    "ESCALATION_ACTIONS",
    "ESCALATION_LEVEL_KEYS",
    "MAX_HORIZON_YEARS",
    "MAX_TARGET",
    "POLICY_KEYS",
    "EscalationLevel",
    "SlaPolicy",
]

ESCALATION_ACTIONS: Final = ("notify", "notify_manager", "escalate")
"""What an escalation level may do when its threshold is reached."""


@final
@attrs.frozen
class EscalationLevel:
    """A threshold, as a fraction of the target, and what to do when it is reached.

    ``at=0.75`` fires when three quarters of the target's business time are
    used; ``at=1.0`` at the breach; above 1 after it. ``action`` is
    ``"notify"`` (the assigned group), ``"notify_manager"`` or ``"escalate"``
    (reassign to the group's ``escalates_to`` and notify).

    >>> EscalationLevel(at=0.75, action="notify").to_dict()
    {'at': 0.75, 'action': 'notify'}
    """

    at: float
    action: str

    def __attrs_post_init__(self) -> None:
        problems = _level_problems(self.at, self.action)
        if problems:
            raise ValidationError(problems)
        object.__setattr__(self, "at", float(self.at))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> EscalationLevel:
        """Build a level from ``{"at": 0.75, "action": "notify"}``."""
        level, problems = _level_from_data(data)
        if level is None:
            raise ValidationError(problems, source=source)
        return level

    def to_dict(self) -> dict[str, Any]:
        """The data form; ``EscalationLevel.from_dict(level.to_dict()) == level``."""
        return {"at": self.at, "action": self.action}


def _level_problems(at: object, action: object) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(at, bool) or not isinstance(at, int | float):
        problems.append(Problem("at", at, "expected a number"))
    elif not (math.isfinite(at) and at > 0):
        problems.append(Problem("at", at, "must be a finite number above 0 (1.0 is the target)"))
    if action not in ESCALATION_ACTIONS:
        problems.append(
            Problem("action", action, f"expected one of {', '.join(ESCALATION_ACTIONS)}")
        )
    return problems


def _level_from_data(data: Any, prefix: str = "") -> tuple[EscalationLevel | None, list[Problem]]:
    if not isinstance(data, Mapping):
        return None, [Problem(prefix, data, "expected a table with 'at' and 'action'")]
    problems = [
        Problem(str(k), data[k], "unknown key") for k in data if k not in ESCALATION_LEVEL_KEYS
    ]
    problems += [
        Problem(k, None, "missing required key") for k in ESCALATION_LEVEL_KEYS if k not in data
    ]
    if not problems:
        problems = _level_problems(data["at"], data["action"])
    if problems:
        return None, [prefixed(prefix, p) for p in problems]
    return EscalationLevel(at=data["at"], action=data["action"]), []


MAX_TARGET: Final = timedelta(days=366)
"""The largest SLA target: ``"366d"``, a year of round-the-clock business time (1,098
business days of eight hours). A larger target is refused when the policy is built."""

MAX_HORIZON_YEARS: Final = 200
"""How far after the clock starts a policy's timers may fall, in years of calendar time.

A policy is refused when its largest target, times its last escalation level (or the
breach), could need more calendar time than this on its calendar: business hours too
sparse for the targets (one minute a week), or holidays that close years of days. This
keeps every due date well inside the range ``datetime`` can hold and the cost of
computing it small."""

DEFAULT_ESCALATION: Final = (
    EscalationLevel(at=0.75, action="notify"),
    EscalationLevel(at=1.0, action="escalate"),
)
"""Notify at 75 % of the target, escalate at the breach."""

_DEFAULT_TARGETS: Final = MappingProxyType(
    {
        Priority.CRITICAL: timedelta(hours=4),
        Priority.HIGH: timedelta(hours=8),
        Priority.MODERATE: timedelta(hours=3 * 8),
        Priority.LOW: timedelta(hours=5 * 8),
        Priority.PLANNING: timedelta(hours=10 * 8),
    }
)


def _targets_in(value: Mapping[Priority, Target]) -> Mapping[Priority, Target]:
    if not isinstance(value, Mapping):
        return value  # reported by __attrs_post_init__
    out: dict[Any, Any] = {}
    for key, target in value.items():
        try:
            out[Priority(key)] = target
        except (ValueError, TypeError):
            out[key] = target
    return out


def _targets_repr(value: Mapping[Priority, Target]) -> str:
    return repr({int(k): v for k, v in value.items()})


def _tuple(value: Sequence[Any]) -> tuple[Any, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        return value  # type: ignore[return-value]  # reported by __attrs_post_init__
    return tuple(value)


@final
@attrs.frozen
class SlaPolicy:
    """Resolution targets per priority: business days of ``calendar``
    (:class:`~reqfulfill.sla.BusinessDays`, ``"2bd"`` in the data form) or business
    time on it (a ``timedelta``, ``"4h"``).

    Time spent in a ``pause_in`` state does not count. Each escalation level
    fires once, when that fraction of the target is used. With
    ``hold_notifications`` the notifications of a level wait until the
    calendar next opens. A priority missing from ``targets`` takes the target
    of the nearest less urgent priority that has one, or, when none is less
    urgent, of the nearest more urgent one; ``targets`` must not be empty.

    >>> from datetime import timedelta
    >>> from reqfulfill.model.enums import Priority
    >>> policy = SlaPolicy(targets={Priority.CRITICAL: timedelta(hours=4),
    ...                             Priority.MODERATE: timedelta(hours=24)})
    >>> policy.target_for(Priority.HIGH)  # no P2 target: P3's
    datetime.timedelta(days=1)
    >>> [level.action for level in policy.escalation]
    ['notify', 'escalate']
    """

    targets: Mapping[Priority, Target] = attrs.field(
        converter=_targets_in, hash=False, repr=_targets_repr
    )
    calendar: BusinessCalendar = attrs.field(factory=BusinessCalendar)
    pause_in: tuple[RequestState, ...] = attrs.field(
        default=(RequestState.WAITING,), converter=_tuple
    )
    escalation: tuple[EscalationLevel, ...] = attrs.field(
        default=DEFAULT_ESCALATION, converter=_tuple
    )
    hold_notifications: bool = True

    def __attrs_post_init__(self) -> None:
        problems = _target_problems(self.targets)
        if not isinstance(self.calendar, BusinessCalendar):
            problems.append(Problem("calendar", self.calendar, "expected a BusinessCalendar"))
        if not isinstance(self.pause_in, tuple):
            problems.append(Problem("pause_in", self.pause_in, "expected a list of states"))
        else:
            for index, state in enumerate(self.pause_in):
                if not isinstance(state, RequestState):
                    problems.append(Problem(f"pause_in[{index}]", state, "expected a RequestState"))
        problems += _escalation_problems(self.escalation)
        if not isinstance(self.hold_notifications, bool):
            problems.append(
                Problem("hold_notifications", self.hold_notifications, "expected a bool")
            )
        if not problems:
            problems += _horizon_problems(self.targets, self.calendar, self.escalation)
        if problems:
            raise ValidationError(problems)
        targets = dict(sorted(self.targets.items()))
        object.__setattr__(self, "targets", MappingProxyType(targets))
        # Levels fire in order of their thresholds; sorting makes equal policies equal.
        order = {action: i for i, action in enumerate(ESCALATION_ACTIONS)}
        levels = sorted(self.escalation, key=lambda lv: (lv.at, order[lv.action]))
        object.__setattr__(self, "escalation", tuple(levels))

    def target_for(self, priority: Priority | int) -> Target:
        """The target for ``priority`` (see the class docstring for missing priorities):
        a ``timedelta`` of business time or :class:`~reqfulfill.sla.BusinessDays`.

        >>> SlaPolicy.default().target_for(Priority.CRITICAL)
        datetime.timedelta(seconds=14400)
        """
        wanted = Priority(priority)
        target = self.targets.get(wanted)
        if target is not None:
            return target
        less_urgent = [p for p in self.targets if p > wanted]
        if less_urgent:
            return self.targets[min(less_urgent)]
        return self.targets[max(self.targets)]

    def budget_for(self, priority: Priority | int, start: datetime) -> timedelta:
        """The business time the target for ``priority`` gives a clock that starts at
        ``start``: the target itself, or for business days the business time from
        ``start`` to that many business days later (``docs/sla.md``).

        >>> from datetime import UTC
        >>> policy = SlaPolicy.from_dict({"targets": {"3": "2bd"},
        ...                               "calendar": {"timezone": "UTC"}})
        >>> policy.budget_for(3, datetime(2026, 1, 5, 10, tzinfo=UTC))  # Monday 10:00
        datetime.timedelta(seconds=57600)
        """
        target = self.target_for(priority)
        if isinstance(target, BusinessDays):
            return business_days_budget(self.calendar, start, target.days)
        return target

    @classmethod
    def default(cls) -> SlaPolicy:
        """ITIL-style targets in business time on the default calendar.

        P1 4 h, P2 8 h, P3 three business days, P4 five, P5 ten (a business day
        being the default calendar's 8 hours, so P3 is ``24h`` of business time).

        >>> SlaPolicy.default().target_for(Priority.MODERATE)
        datetime.timedelta(days=1)
        """
        return cls(targets=_DEFAULT_TARGETS)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> SlaPolicy:
        """Build a policy from its data form; every problem is reported at once.

        >>> policy = SlaPolicy.from_dict({
        ...     "targets": {"1": "4h", "2": "1h30m"},
        ...     "calendar": {"timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}},
        ...     "pause_in": ["waiting"],
        ...     "escalation": [{"at": 0.5, "action": "notify"}],
        ... })
        >>> policy.target_for(2)
        datetime.timedelta(seconds=5400)
        """
        deep = nesting_problem(data)
        if deep is not None:
            raise ValidationError([deep], source=source)
        policy, problems = _policy_from_data(data)
        if policy is None:
            raise ValidationError(problems, source=source)
        return policy

    @classmethod
    def from_toml(cls, path: str | PathLike[str]) -> SlaPolicy:
        """Load a policy from a TOML (or ``.json``) file in the data form."""
        return cls.from_dict(load_data_file(path), source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """The data form; ``SlaPolicy.from_dict(policy.to_dict()) == policy``.

        >>> SlaPolicy.default().to_dict()["targets"]
        {'1': '4h', '2': '8h', '3': '1d', '4': '1d16h', '5': '3d8h'}
        """
        return {
            "targets": {str(int(p)): format_target(t) for p, t in self.targets.items()},
            "calendar": self.calendar.to_dict(),
            "pause_in": [state.value for state in self.pause_in],
            "escalation": [level.to_dict() for level in self.escalation],
            "hold_notifications": self.hold_notifications,
        }


def _target_problems(targets: object) -> list[Problem]:
    if not isinstance(targets, Mapping):
        return [Problem("targets", targets, "expected a table priority: target")]
    if not targets:
        return [Problem("targets", {}, "needs a target for at least one priority")]
    problems: list[Problem] = []
    for key, target in targets.items():
        where = f"targets.{int(key) if isinstance(key, Priority) else key}"
        if not isinstance(key, Priority):
            problems.append(Problem(where, key, "expected a priority from 1 to 5"))
        if isinstance(target, BusinessDays):
            continue  # checked when built: 1 to MAX_BUSINESS_DAYS
        if not isinstance(target, timedelta):
            problems.append(Problem(where, target, "expected a duration or BusinessDays"))
        elif target <= timedelta(0):
            problems.append(Problem(where, target, "must be positive"))
        elif target > MAX_TARGET:
            problems.append(
                Problem(
                    where,
                    format_duration(target),
                    f"a target may be at most {format_duration(MAX_TARGET)} of business time",
                )
            )
    return problems


def _escalation_problems(escalation: object) -> list[Problem]:
    if not isinstance(escalation, tuple):
        return [Problem("escalation", escalation, "expected a list of levels")]
    problems: list[Problem] = []
    seen: set[EscalationLevel] = set()
    for index, level in enumerate(escalation):
        if not isinstance(level, EscalationLevel):
            problems.append(Problem(f"escalation[{index}]", level, "expected an EscalationLevel"))
        elif level in seen:
            problems.append(Problem(f"escalation[{index}]", level.to_dict(), "duplicate"))
        else:
            seen.add(level)
    return problems


def _bound(target: Target, calendar: BusinessCalendar) -> timedelta:
    """The most business time ``target`` can give a clock on ``calendar``: N business
    days span at most N + 1 of its longest days."""
    if isinstance(target, BusinessDays):
        return (target.days + 1) * longest_day(calendar)
    return target


def _horizon_problems(
    targets: Mapping[Priority, Target],
    calendar: BusinessCalendar,
    escalation: tuple[EscalationLevel, ...],
) -> list[Problem]:
    """The latest timer a policy can set -- the largest target times the last level, or
    the breach -- must fall within :data:`MAX_HORIZON_YEARS` on its calendar."""
    priority, most = max(targets.items(), key=lambda pt: (_bound(pt[1], calendar), -pt[0]))
    target = _bound(most, calendar)
    last = max([1.0, *(level.at for level in escalation)])
    budget = target / timedelta(microseconds=1) * last
    years = years_to_spend(calendar, budget)
    if years <= MAX_HORIZON_YEARS:
        return []
    what = f"target {format_target(most)}" + (f" at level {last:g}" if last > 1 else "")
    found = f"{_hours_text(weekly_hours(calendar))} of business hours a week"
    if calendar.holidays:
        found += f", {len(calendar.holidays)} holidays"
    return [
        Problem(
            "calendar",
            found,
            f"too few business hours for priority {int(priority)}'s {what}: it could take "
            f"{_years(years)} of calendar time, more than the {MAX_HORIZON_YEARS}-year horizon",
        )
    ]


def _hours_text(value: timedelta) -> str:
    """``"40h"``, ``"2h30m"``, ``"1m"``: business hours in hours and minutes."""
    hours, minutes = divmod(int(value.total_seconds()) // 60, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def _years(years: float) -> str:
    return f"{years:,.0f} years" if years < 1e12 else "far more than a trillion years"


POLICY_KEYS: Final = ("targets", "calendar", "pause_in", "escalation", "hold_notifications")
"""The keys of an SLA policy's data form (``targets`` is required)."""

ESCALATION_LEVEL_KEYS: Final = ("at", "action")
"""The keys of an escalation level's data form (both required)."""


def _targets_from_data(data: Mapping[Any, Any], problems: list[Problem]) -> dict[Priority, Target]:
    """The ``targets`` table: priority number -> business days or a duration."""
    raw_targets = data.get("targets")
    targets: dict[Priority, Target] = {}
    if "targets" not in data:
        problems.append(Problem("targets", None, "missing required key"))
    elif not isinstance(raw_targets, Mapping):
        problems.append(Problem("targets", raw_targets, "expected a table like {'1': '4h'}"))
    else:
        for key, raw in raw_targets.items():
            where = f"targets.{key}"
            try:
                if isinstance(key, str) and not (key.isascii() and key.isdigit()):
                    raise ValueError
                if isinstance(key, bool) or not isinstance(key, str | int):
                    raise ValueError
                priority = Priority(int(key))
            except ValueError:
                problems.append(Problem(where, key, "expected a priority number from '1' to '5'"))
                continue
            try:
                targets[priority] = parse_target(raw)
            except (TypeError, ValueError) as exc:
                problems.append(Problem(where, raw, str(exc)))
    return targets


def _states_from_data(raw_states: Any, problems: list[Problem]) -> tuple[RequestState, ...]:
    """The ``pause_in`` list of request states."""
    if isinstance(raw_states, str) or not isinstance(raw_states, Sequence):
        problems.append(Problem("pause_in", raw_states, "expected a list of states"))
        return ()
    states = []
    for index, raw in enumerate(raw_states):
        try:
            states.append(RequestState(raw))
        except (TypeError, ValueError):
            allowed = ", ".join(s.value for s in RequestState)
            problems.append(
                Problem(f"pause_in[{index}]", raw, f"unknown state; expected one of {allowed}")
            )
    return tuple(states)


def _levels_from_data(raw_levels: Any, problems: list[Problem]) -> tuple[EscalationLevel, ...]:
    """The ``escalation`` list of levels."""
    if isinstance(raw_levels, str) or not isinstance(raw_levels, Sequence):
        problems.append(Problem("escalation", raw_levels, "expected a list of levels"))
        return ()
    levels = []
    for index, raw in enumerate(raw_levels):
        level, found = _level_from_data(raw, f"escalation[{index}]")
        problems += found
        if level is not None:
            levels.append(level)
    return tuple(levels)


def _policy_from_data(data: Any) -> tuple[SlaPolicy | None, list[Problem]]:
    if not isinstance(data, Mapping):
        return None, [Problem("", data, "expected a table")]
    problems = [Problem(str(k), data[k], "unknown key") for k in data if k not in POLICY_KEYS]
    kwargs: dict[str, Any] = {"targets": _targets_from_data(data, problems)}
    if "calendar" in data:
        calendar, found = calendar_from_data(data["calendar"], "calendar")
        problems += found
        kwargs["calendar"] = calendar
    if "pause_in" in data:
        kwargs["pause_in"] = _states_from_data(data["pause_in"], problems)
    if "escalation" in data:
        kwargs["escalation"] = _levels_from_data(data["escalation"], problems)
    if "hold_notifications" in data:
        if not isinstance(data["hold_notifications"], bool):
            problems.append(
                Problem("hold_notifications", data["hold_notifications"], "expected true or false")
            )
        kwargs["hold_notifications"] = data["hold_notifications"]
    if problems:
        # what the policy itself would check, as far as the parts that loaded show it
        if kwargs["targets"]:
            problems += _target_problems(kwargs["targets"])
        problems += _escalation_problems(kwargs.get("escalation", ()))
        return None, problems
    try:
        return SlaPolicy(**kwargs), []
    except ValidationError as exc:
        return None, list(exc.problems)
