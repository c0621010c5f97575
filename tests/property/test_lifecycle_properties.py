"""Invariants of the pure lifecycle over random command sequences.

- replaying the events gives the state the decider worked on;
- no sequence reaches a state change outside the transition table;
- an actor the role table does not allow never changes anything;
- versions are dense and event ids unique.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reqfulfill import lifecycle
from reqfulfill.lifecycle import TRANSITIONS, Context
from reqfulfill.model.enums import Channel, Impact, OrderStatus, RequestState, TaskKind, Urgency
from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.model.events import Event, NotificationRequested, SupplierOrderRequested
from reqfulfill.model.request import ServiceRequest
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing import demo_catalog, demo_requester

CATALOG = demo_catalog()
POLICY = SlaPolicy.default()
REQUESTER = demo_requester()
ACTORS = [
    "erin.user",
    "max.manager",
    "sam.agent",
    "tia.agent",
    "lee.expert",
    "ida.admin",
    "mallory",
]
TASKS = ["order", "prepare", "deliver", "reset", "grant", "verify", "fulfil", "nope"]
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

COMMANDS = [
    "approve", "reject", "triage", "assign", "claim", "start_task", "complete_task", "fail_task",
    "skip_task", "ship", "confirm_delivery", "dispute_delivery", "close", "auto_close", "cancel",
    "feedback", "wait", "resume", "reprioritize", "supplier", "placed", "notified", "fire_sla",
    "automation_ok", "effect_failed",
]  # fmt: skip


def members(group: str | None) -> set[str]:
    return set(CATALOG.group(group).members) if group else set()


def responsible(state: ServiceRequest) -> str | None:
    if state.group:
        return state.group
    if state.item:
        return CATALOG.item(state.item).group
    return CATALOG.triage_group


def allowed(kind: str, actor: str, state: ServiceRequest, task_key: str) -> bool:
    """Who may run each command (the roles), written independently of the decider."""
    if kind in ("approve", "reject"):
        return actor == REQUESTER.manager and actor != state.requester.id
    if kind == "triage":
        return actor in members(CATALOG.triage_group)
    if kind in ("assign", "wait", "resume", "reprioritize", "close"):
        return actor in members(responsible(state))
    if kind == "claim":
        return actor in members(state.group)
    if kind in ("start_task", "complete_task", "fail_task", "skip_task", "ship"):
        task = next((t for t in state.plan if t.key == task_key), None)
        group = (task.group if task else None) or responsible(state)
        return actor in members(group)
    if kind in ("confirm_delivery", "dispute_delivery", "feedback"):
        return actor == state.requester.id
    if kind == "cancel":
        return actor == state.requester.id or actor in members(responsible(state))
    return True  # worker and supplier commands are not actor-checked


def build(kind: str, actor: str, task: str, pick: int, state: ServiceRequest) -> Any:
    impacts = list(Impact)
    urgencies = list(Urgency)
    if kind == "approve":
        return lifecycle.Approve(actor=actor)
    if kind == "reject":
        return lifecycle.Reject(actor=actor, reason="no")
    if kind == "triage":
        item = [None, "iphone-15", "password-reset", "crm-access"][pick % 4]
        return lifecycle.Triage(actor=actor, item=item, urgency=urgencies[pick % 3])
    if kind == "assign":
        group = ["service-desk", "desk-l2", "identity"][pick % 3]
        agent = [None, *CATALOG.group(group).members][pick % 2] if pick % 2 else None
        return lifecycle.Assign(actor=actor, group=group, agent=agent)
    if kind == "claim":
        return lifecycle.Claim(actor=actor)
    if kind == "start_task":
        return lifecycle.StartTask(actor=actor, task_key=task)
    if kind == "complete_task":
        return lifecycle.CompleteTask(actor=actor, task_key=task)
    if kind == "fail_task":
        return lifecycle.FailTask(actor=actor, task_key=task, reason="broken")
    if kind == "skip_task":
        return lifecycle.SkipTask(actor=actor, task_key=task, reason="from stock")
    if kind == "ship":
        return lifecycle.Ship(actor=actor, task_key=task, tracking="T")
    if kind == "confirm_delivery":
        return lifecycle.ConfirmDelivery(actor=actor)
    if kind == "dispute_delivery":
        return lifecycle.DisputeDelivery(actor=actor, reason="not here")
    if kind == "close":
        return lifecycle.Close(actor=actor)
    if kind == "auto_close":
        return lifecycle.AutoClose(actor="system")
    if kind == "cancel":
        return lifecycle.Cancel(actor=actor, reason="no longer needed")
    if kind == "feedback":
        return lifecycle.RecordFeedback(actor=actor, rating=pick % 7, comment="")
    if kind == "wait":
        return lifecycle.Wait(actor=actor, reason="info")
    if kind == "resume":
        return lifecycle.Resume(actor=actor)
    if kind == "reprioritize":
        return lifecycle.Reprioritize(
            actor=actor, impact=impacts[pick % 3], urgency=urgencies[(pick // 3) % 3]
        )
    orders = [t for t in state.plan if t.kind is TaskKind.SUPPLIER_ORDER and t.order_ref]
    if kind == "supplier":
        if not orders:
            return None
        return lifecycle.RecordSupplierUpdate(
            actor="supplier:acme-mobile",
            supplier_id="acme-mobile",
            ref=orders[0].order_ref or "",
            status=list(OrderStatus)[pick % len(OrderStatus)],
        )
    if kind in ("placed", "automation_ok", "effect_failed"):
        effects = [t.order_effect for t in state.plan if t.order_effect]
        if not effects:
            return None
        effect = effects[pick % len(effects)]
        assert effect is not None
        if kind == "placed":
            return lifecycle.OrderPlaced(actor="worker", effect_id=effect, ref=f"R{pick}")
        if kind == "automation_ok":
            return lifecycle.AutomationSucceeded(actor="worker", effect_id=effect, result={"ok": 1})
        return lifecycle.EffectFailed(actor="worker", effect_id=effect, reason="gave up")
    if kind == "notified":
        pending = sorted(state.pending_notifications)
        if not pending:
            return None
        return lifecycle.NotificationDelivered(actor="worker", effect_id=pending[0])
    return lifecycle.FireSla(actor="system")


steps = st.lists(
    st.tuples(
        st.sampled_from(COMMANDS),
        st.sampled_from(ACTORS),
        st.sampled_from(TASKS),
        st.integers(0, 50),
        st.integers(0, 600),  # minutes to advance before the step
    ),
    max_size=40,
)


@given(
    item=st.sampled_from(["iphone-15", "password-reset", "crm-access", None]),
    channel=st.sampled_from([Channel.PORTAL, Channel.EMAIL, Channel.PHONE]),
    answers=st.fixed_dictionaries({}, optional={"from_stock": st.booleans()}),
    steps=steps,
)
def test_random_command_sequences_keep_the_invariants(item, channel, answers, steps) -> None:  # type: ignore[no-untyped-def]
    if item is None:
        channel = Channel.EMAIL
    now = START
    context = Context(catalog=CATALOG, now=now, sla=POLICY)
    submit = lifecycle.Submit(
        actor=REQUESTER.id,
        request_id="REQ-1",
        requester=REQUESTER,
        item=item,
        channel=channel,
        answers=answers,
    )
    history: list[Event] = lifecycle.decide(None, submit, context)
    state = lifecycle.replay(history)
    for kind, actor, task, pick, minutes in steps:
        now += timedelta(minutes=minutes)
        context = Context(catalog=CATALOG, now=now, sla=POLICY)
        command = build(kind, actor, task, pick, state)
        if command is None:
            continue
        try:
            new = lifecycle.decide(state, command, context)
        except ReqfulfillError:
            continue
        if new and not allowed(kind, actor, state, task):
            raise AssertionError(f"{actor} changed the request with {kind} in {state.state}")
        before = state.state
        for event in new:
            after = lifecycle.evolve(state, event)
            if after.state is not state.state:
                assert after.state in TRANSITIONS[state.state], (state.state, event.type)
            state = after
        history.extend(new)
        assert lifecycle.replay(history) == state
        if before is RequestState.CLOSED:
            assert state.state is RequestState.CLOSED
    assert state.version == len(history)
    assert [e.event_id for e in history] == [f"REQ-1/{n}" for n in range(1, len(history) + 1)]
    assert len({e.event_id for e in history}) == len(history)
    for event in history:
        assert event.request_id == "REQ-1"
    effects = [e for e in history if isinstance(e, SupplierOrderRequested | NotificationRequested)]
    assert all(e.effect for e in effects)


@given(rating=st.integers(-5, 10), steps=st.integers(0, 3))
def test_terminal_states_accept_no_state_changes(rating: int, steps: int) -> None:
    context = Context(catalog=CATALOG, now=START)
    submit = lifecycle.Submit(
        actor=REQUESTER.id,
        request_id="REQ-2",
        requester=REQUESTER,
        item="iphone-15",
        channel=Channel.PORTAL,
    )
    state = lifecycle.replay(lifecycle.decide(None, submit, context))
    events = lifecycle.decide(state, lifecycle.Reject(actor="max.manager", reason="no"), context)
    for event in events:
        state = lifecycle.evolve(state, event)
    assert state.state is RequestState.REJECTED
    for command in (
        lifecycle.Approve(actor="max.manager"),
        lifecycle.Cancel(actor=REQUESTER.id, reason="x"),
        lifecycle.RecordFeedback(actor=REQUESTER.id, rating=rating),
        lifecycle.Close(actor="sam.agent"),
    )[: steps + 1]:
        try:
            new = lifecycle.decide(state, command, context)
        except ReqfulfillError:
            continue
        assert not new
