"""Decisions keep what people set and refuse what the catalog or the plan does not have."""

from __future__ import annotations

from typing import Any

import pytest

from reqfulfill import (
    Channel,
    FixedClock,
    FulfillmentService,
    Impact,
    Priority,
    TransitionError,
    Urgency,
    ValidationError,
    lifecycle,
)
from reqfulfill.model import events as ev
from reqfulfill.rules import Rules
from reqfulfill.testing import demo_catalog, demo_requester

ERIN = demo_requester()
AGENT = "sam.agent"
MANAGER = "max.manager"


def make(clock: FixedClock, *plugins: object, **options: Any) -> FulfillmentService:
    """A service on the demo catalog with ``plugins`` only (no entry points)."""
    options.setdefault("store", "memory://")
    return FulfillmentService(
        demo_catalog(), plugins=list(plugins), clock=clock, load_entrypoints=False, **options
    )


def test_manual_priority_survives_approval(clock: FixedClock) -> None:
    service = make(clock)
    rid = service.submit(ERIN, "iphone-15", Channel.PORTAL).id
    service.reprioritize(rid, AGENT, impact=Impact.HIGH, urgency=Urgency.HIGH)
    assert service.approve(rid, MANAGER).priority is Priority.CRITICAL


def test_evolve_refuses_events_for_tasks_the_plan_does_not_have(clock: FixedClock) -> None:
    service = make(clock)
    rid = service.submit(ERIN, "password-reset", Channel.PORTAL).id
    state = service.get(rid)
    bogus = ev.TaskCompleted(
        event_id=f"{rid}/99", request_id=rid, at=clock.now(), actor=AGENT, task_key="nope"
    )
    with pytest.raises(TransitionError):
        lifecycle.evolve(state, bogus)


def test_rules_assigning_to_an_unknown_group_are_refused(clock: FixedClock) -> None:
    rules = Rules.from_dict(
        {
            "assignment": {
                "rules": [
                    {
                        "name": "typo",
                        "when": {"item.id": "password-reset"},
                        "then": {"group": "servcie-desk"},
                    }
                ]
            }
        }
    )
    with pytest.raises(ValidationError) as info:
        make(clock, rules=rules)
    assert info.value.paths == ["assignment.rules[0].then.group"]
    assert info.value.problems[0].value == "servcie-desk"
