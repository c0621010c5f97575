"""Assignment strategies over the group's members, with the directory hooks."""

from __future__ import annotations

from datetime import datetime

import pytest

from reqfulfill import Channel, FixedClock, FulfillmentService, hookimpl
from reqfulfill.model import events as ev
from reqfulfill.rules import Rules
from reqfulfill.testing import demo_catalog, demo_requester

ERIN = demo_requester()


def rules(strategy: str) -> Rules:
    return Rules.from_dict(
        {
            "assignment": {
                "rules": [
                    {
                        "name": "resets to the desk",
                        "when": {"item.id": "password-reset"},
                        "then": {"group": "service-desk", "strategy": strategy},
                    }
                ]
            }
        }
    )


def service(clock: FixedClock, strategy: str, *plugins: object) -> FulfillmentService:
    return FulfillmentService(
        demo_catalog(),
        rules=rules(strategy),
        store="memory://",
        clock=clock,
        plugins=list(plugins),
        load_entrypoints=False,
    )


def submit(svc: FulfillmentService, clock: FixedClock) -> str:
    clock.advance(minutes=1)
    return svc.submit(ERIN, "password-reset", Channel.PORTAL).id


def test_round_robin_takes_turns(clock: FixedClock) -> None:
    svc = service(clock, "round_robin")
    agents = [svc.get(submit(svc, clock)).agent for _ in range(4)]
    assert agents == ["sam.agent", "tia.agent", "sam.agent", "tia.agent"]
    rid = submit(svc, clock)
    assigned = next(e for e in svc.history(rid) if isinstance(e, ev.RequestAssigned))
    assert assigned.rule == "resets to the desk"
    assert assigned.strategy == "round_robin"


def test_round_robin_counts_the_group_once_then_keeps_its_own_turn(
    clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = service(clock, "round_robin")
    queries: list[dict[str, object]] = []
    query = svc.store.query

    def counting(**filters: object) -> object:
        queries.append(filters)
        return query(**filters)  # type: ignore[arg-type]

    monkeypatch.setattr(svc.store, "query", counting)
    agents = [svc.get(submit(svc, clock)).agent for _ in range(5)]
    assert agents == ["sam.agent", "tia.agent"] * 2 + ["sam.agent"]
    # one count of the group's assignments, not one per assignment
    assert queries == [{"group": "service-desk"}]
    # a service that starts later on the same store counts from what is stored
    later = FulfillmentService(
        demo_catalog(),
        rules=rules("round_robin"),
        store=svc.store,
        clock=clock,
        load_entrypoints=False,
    )
    assert [later.get(submit(later, clock)).agent for _ in range(2)] == [
        "tia.agent",
        "sam.agent",
    ]


def test_least_loaded_prefers_the_agent_with_less_open_work(clock: FixedClock) -> None:
    svc = service(clock, "queue")
    for _ in range(2):
        svc.claim(submit(svc, clock), "sam.agent")
    svc = FulfillmentService(
        demo_catalog(),
        rules=rules("least_loaded"),
        store=svc.store,
        clock=clock,
        load_entrypoints=False,
    )
    assert svc.get(submit(svc, clock)).agent == "tia.agent"


def test_unavailable_agents_are_skipped_and_hook_members_join(clock: FixedClock) -> None:
    class Directory:
        @hookimpl
        def reqfulfill_agent_available(self, agent_id: str, at: datetime) -> bool | None:
            return agent_id != "sam.agent"

        @hookimpl
        def reqfulfill_group_members(self, group_id: str) -> list[str] | None:
            return ["zoe.temp"] if group_id == "service-desk" else None

    svc = service(clock, "round_robin", Directory())
    agents = {svc.get(submit(svc, clock)).agent for _ in range(4)}
    assert agents == {"tia.agent", "zoe.temp"}
    rid = submit(svc, clock)
    assert svc.claim(rid, "zoe.temp").agent == "zoe.temp"  # hook members may act too


def test_queue_leaves_the_agent_empty(clock: FixedClock) -> None:
    svc = service(clock, "queue")
    request = svc.get(submit(svc, clock))
    assert request.group == "service-desk"
    assert request.agent is None
