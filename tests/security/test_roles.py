"""Every service command refuses an actor without the right role, and writes nothing.

Table-driven over every command and the roles that may run it; each request is
brought to a state where the command is valid, so the refusal is about the actor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reqfulfill import AuthorizationError, FulfillmentService, Worker
from reqfulfill.model.enums import RequestState
from reqfulfill.testing import FakeInventory, demo_requester


@pytest.fixture
def rf_plugins() -> list[object]:
    """A stock room with phones: a phone request goes straight to preparing."""
    return [FakeInventory(stock={"iphone-15": 50})]


ERIN = demo_requester()
Setup = Callable[[FulfillmentService], str]


def awaiting_approval(svc: FulfillmentService) -> str:
    return svc.submit(ERIN, "iphone-15", "portal").id


def in_triage(svc: FulfillmentService) -> str:
    return svc.submit(ERIN, None, "email").id


def in_fulfillment(svc: FulfillmentService) -> str:
    return svc.submit(ERIN, "password-reset", "portal").id


def with_failed_task(svc: FulfillmentService) -> str:
    rid = in_fulfillment(svc)
    svc.fail_task(rid, "reset", "sam.agent", "locked")
    return rid


def waiting(svc: FulfillmentService) -> str:
    rid = in_fulfillment(svc)
    svc.wait(rid, "sam.agent", "asked the user")
    return rid


def delivering(svc: FulfillmentService) -> str:
    rid = svc.submit(ERIN, "iphone-15", "portal").id
    svc.approve(rid, "max.manager")
    Worker(svc).run_pending()  # the phone is taken from stock (see rf_plugins)
    svc.complete_task(rid, "prepare", "sam.agent")
    return rid


def shipped(svc: FulfillmentService) -> str:
    rid = delivering(svc)
    svc.ship(rid, "deliver", "sam.agent", tracking="T1")
    return rid


def fulfilled(svc: FulfillmentService) -> str:
    rid = in_fulfillment(svc)
    svc.complete_task(rid, "reset", "sam.agent")
    return rid


def closed(svc: FulfillmentService) -> str:
    rid = fulfilled(svc)
    svc.close(rid, "sam.agent")
    return rid


OUTSIDERS = ["mallory.outsider", "ida.admin"]  # nobody; an agent of another group
# command, setup, call, actors who must be refused
TABLE: list[tuple[str, Setup, Callable[[FulfillmentService, str, str], Any], list[str]]] = [
    (
        "approve",
        awaiting_approval,
        lambda s, r, a: s.approve(r, a),
        [ERIN.id, "sam.agent", *OUTSIDERS],
    ),
    (
        "reject",
        awaiting_approval,
        lambda s, r, a: s.reject(r, a, "no"),
        [ERIN.id, "sam.agent", *OUTSIDERS],
    ),
    (
        "triage",
        in_triage,
        lambda s, r, a: s.triage(r, a, item="password-reset"),
        [ERIN.id, "max.manager", *OUTSIDERS],
    ),
    (
        "assign",
        in_fulfillment,
        lambda s, r, a: s.assign(r, a, "desk-l2"),
        [ERIN.id, "max.manager", *OUTSIDERS],
    ),
    ("claim", in_fulfillment, lambda s, r, a: s.claim(r, a), [ERIN.id, "lee.expert", *OUTSIDERS]),
    (
        "start_task",
        with_failed_task,
        lambda s, r, a: s.start_task(r, "reset", a),
        [ERIN.id, *OUTSIDERS],
    ),
    (
        "complete_task",
        in_fulfillment,
        lambda s, r, a: s.complete_task(r, "reset", a),
        [ERIN.id, *OUTSIDERS],
    ),
    (
        "fail_task",
        in_fulfillment,
        lambda s, r, a: s.fail_task(r, "reset", a, "x"),
        [ERIN.id, *OUTSIDERS],
    ),
    (
        "skip_task",
        in_fulfillment,
        lambda s, r, a: s.skip_task(r, "reset", a, "x"),
        [ERIN.id, *OUTSIDERS],
    ),
    (
        "ship",
        delivering,
        lambda s, r, a: s.ship(r, "deliver", a),
        [ERIN.id, "max.manager", *OUTSIDERS],
    ),
    (
        "confirm_delivery",
        shipped,
        lambda s, r, a: s.confirm_delivery(r, a),
        ["sam.agent", "max.manager", *OUTSIDERS],
    ),
    (
        "dispute_delivery",
        shipped,
        lambda s, r, a: s.dispute_delivery(r, a, "x"),
        ["sam.agent", *OUTSIDERS],
    ),
    ("close", fulfilled, lambda s, r, a: s.close(r, a), [ERIN.id, "max.manager", *OUTSIDERS]),
    ("cancel", in_fulfillment, lambda s, r, a: s.cancel(r, a, "x"), ["max.manager", *OUTSIDERS]),
    (
        "record_feedback",
        closed,
        lambda s, r, a: s.record_feedback(r, a, 5),
        ["sam.agent", "max.manager", *OUTSIDERS],
    ),
    ("wait", in_fulfillment, lambda s, r, a: s.wait(r, a, "x"), [ERIN.id, *OUTSIDERS]),
    ("resume", waiting, lambda s, r, a: s.resume(r, a), [ERIN.id, *OUTSIDERS]),
    (
        "reprioritize",
        in_fulfillment,
        lambda s, r, a: s.reprioritize(r, a, impact="high"),
        [ERIN.id, *OUTSIDERS],
    ),
]
CASES = [
    pytest.param(command, setup, call, actor, id=f"{command}-by-{actor}")
    for command, setup, call, actors in TABLE
    for actor in actors
]


def test_the_table_covers_every_actor_checked_command() -> None:
    role_table = {
        "approve", "reject", "triage", "assign", "claim", "start_task", "complete_task",
        "fail_task", "skip_task", "ship", "confirm_delivery", "dispute_delivery", "close",
        "cancel", "record_feedback", "wait", "resume", "reprioritize",
    }  # fmt: skip
    assert {row[0] for row in TABLE} == role_table


@pytest.mark.parametrize(("command", "setup", "call", "actor"), CASES)
def test_command_refuses_an_actor_without_the_role(
    rf_service: FulfillmentService, command: str, setup: Setup, call: Any, actor: str
) -> None:
    rid = setup(rf_service)
    before = rf_service.history(rid)
    with pytest.raises(AuthorizationError) as refused:
        call(rf_service, rid, actor)
    assert refused.value.actor == actor
    assert rf_service.history(rid) == before  # a refused command writes nothing


ALLOWED = {
    "approve": "max.manager",
    "triage": "tia.agent",
    "claim": "tia.agent",
    "ship": "sam.agent",
    "confirm_delivery": ERIN.id,
    "close": "tia.agent",
    "record_feedback": ERIN.id,
    "cancel": ERIN.id,
    "resume": "sam.agent",
}


@pytest.mark.parametrize("command", sorted(ALLOWED))
def test_the_right_actor_is_accepted(rf_service: FulfillmentService, command: str) -> None:
    """The setups are valid: with the right actor the same command goes through."""
    _, setup, call, _ = next(row for row in TABLE if row[0] == command)
    rid = setup(rf_service)
    version = rf_service.get(rid).version
    after = call(rf_service, rid, ALLOWED[command])
    assert after.version > version


def test_requester_never_approves_even_as_their_own_manager(
    rf_service: FulfillmentService,
) -> None:
    selfish = demo_requester()
    import attrs

    selfish = attrs.evolve(selfish, manager=selfish.id)
    rid = rf_service.submit(selfish, "iphone-15", "portal").id
    with pytest.raises(AuthorizationError):
        rf_service.approve(rid, selfish.id)
    assert rf_service.get(rid).state is RequestState.AWAITING_APPROVAL
