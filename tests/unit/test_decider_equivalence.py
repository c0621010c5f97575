"""The decider, ``replay`` and ``evolve`` agree, and nothing they are given changes.

``decide_and_evolve`` and ``replay`` apply a command's (or a stream's) events to one
mutable draft and build the frozen state once; ``evolve`` applies one event to a
frozen state. Over random command sequences: the state ``decide_and_evolve`` returns
is the one folding ``evolve`` over its events gives, ``decide`` returns the same
events, ``replay`` of the whole history gives the same state, and no state passed in
or returned earlier is ever changed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from reqfulfill import lifecycle
from reqfulfill.lifecycle import Context
from reqfulfill.lifecycle.draft import RequestDraft
from reqfulfill.lifecycle.evolvers import plan_with
from reqfulfill.lifecycle.plan import plan_tasks
from reqfulfill.model import events as ev
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.enums import Channel, Impact, OrderStatus, TaskKind, TaskState, Urgency
from reqfulfill.model.errors import ReqfulfillError, TransitionError
from reqfulfill.model.request import ServiceRequest, Task
from reqfulfill.rules import matches
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing import demo_catalog, demo_requester

CATALOG = demo_catalog()
POLICY = SlaPolicy.default()
REQUESTER = demo_requester()
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ACTORS = ["erin.user", "max.manager", "sam.agent", "tia.agent", "lee.expert", "ida.admin"]
ITEMS = ["iphone-15", "password-reset", "crm-access", None]
COMMANDS = [
    "approve", "reject", "triage", "assign", "claim", "start_task", "complete_task", "fail_task",
    "skip_task", "ship", "confirm_delivery", "dispute_delivery", "close", "auto_close", "cancel",
    "feedback", "wait", "resume", "reprioritize", "supplier", "placed", "notified", "fire_sla",
    "automation_ok", "effect_failed",
]  # fmt: skip
PROGRESS = [
    "approve", "claim", "start_task", "complete_task", "skip_task", "ship", "confirm_delivery",
    "close", "auto_close", "notified", "placed", "automation_ok", "supplier", "resume",
] * 4  # fmt: skip


# -- the references -----------------------------------------------------------------------


def fold(events: Sequence[ev.Event], state: ServiceRequest | None = None) -> ServiceRequest:
    """``replay`` the plain way: one ``evolve`` (a fresh frozen state) per event."""
    if not events and state is None:
        raise ValueError("cannot replay an empty stream")
    return functools.reduce(lifecycle.evolve, events, state)  # type: ignore[arg-type,return-value]


def fields_of(state: ServiceRequest) -> tuple[Any, ...]:
    return attrs.astuple(state, recurse=False)


def unchanged(state: ServiceRequest, before: tuple[Any, ...]) -> bool:
    return all(a is b for a, b in zip(fields_of(state), before, strict=True))


def outcome(
    state: ServiceRequest | None, command: lifecycle.Command, context: Context
) -> tuple[list[ev.Event], ServiceRequest | None] | tuple[str, str]:
    try:
        return lifecycle.decide_and_evolve(state, command, context)
    except ReqfulfillError as exc:
        return type(exc).__name__, str(exc)


def decided(
    state: ServiceRequest | None, command: lifecycle.Command, context: Context
) -> list[ev.Event] | tuple[str, str]:
    try:
        return lifecycle.decide(state, command, context)
    except ReqfulfillError as exc:
        return type(exc).__name__, str(exc)


# -- random commands ---------------------------------------------------------------------


def command_for(data: st.DataObject, state: ServiceRequest) -> lifecycle.Command | None:
    kind = data.draw(st.sampled_from(COMMANDS + PROGRESS))
    # mostly people with a role on the request, so that requests get far
    group = state.group or (CATALOG.item(state.item).group if state.item else None)
    groups = {g for g in (group, CATALOG.triage_group, *(t.group for t in state.plan)) if g}
    people = [state.requester.id, REQUESTER.manager or "max.manager", *ACTORS]
    for g in sorted(groups):
        people.extend(CATALOG.group(g).members * 2)
    actor = data.draw(st.sampled_from(people))
    keys = [t.key for t in state.plan if not t.finished] or ["fulfil"]
    task = data.draw(st.sampled_from([*keys, *keys, "nope"]))
    pick = data.draw(st.integers(0, 50))
    simple: dict[str, Any] = {
        "approve": lambda: lifecycle.Approve(actor=actor),
        "reject": lambda: lifecycle.Reject(actor=actor, reason="no"),
        "triage": lambda: lifecycle.Triage(
            actor=actor, item=ITEMS[pick % 4], urgency=list(Urgency)[pick % 3]
        ),
        "assign": lambda: lifecycle.Assign(
            actor=actor, group=["service-desk", "desk-l2", "identity"][pick % 3]
        ),
        "claim": lambda: lifecycle.Claim(actor=actor),
        "start_task": lambda: lifecycle.StartTask(actor=actor, task_key=task),
        "complete_task": lambda: lifecycle.CompleteTask(actor=actor, task_key=task),
        "fail_task": lambda: lifecycle.FailTask(actor=actor, task_key=task, reason="broken"),
        "skip_task": lambda: lifecycle.SkipTask(actor=actor, task_key=task, reason="stock"),
        "ship": lambda: lifecycle.Ship(actor=actor, task_key=task, tracking="T1"),
        "confirm_delivery": lambda: lifecycle.ConfirmDelivery(actor=actor),
        "dispute_delivery": lambda: lifecycle.DisputeDelivery(actor=actor, reason="not here"),
        "close": lambda: lifecycle.Close(actor=actor),
        "auto_close": lambda: lifecycle.AutoClose(actor=lifecycle.WORKER),
        "cancel": lambda: lifecycle.Cancel(actor=actor, reason="not needed"),
        "feedback": lambda: lifecycle.RecordFeedback(actor=actor, rating=pick % 7),
        "wait": lambda: lifecycle.Wait(actor=actor, reason="info"),
        "resume": lambda: lifecycle.Resume(actor=actor),
        "reprioritize": lambda: lifecycle.Reprioritize(
            actor=actor, impact=list(Impact)[pick % 3], urgency=list(Urgency)[(pick // 3) % 3]
        ),
        "fire_sla": lambda: lifecycle.FireSla(actor=lifecycle.SYSTEM),
    }
    if kind in simple:
        command: lifecycle.Command = simple[kind]()
        return command
    if kind == "supplier":
        orders = [t for t in state.plan if t.kind is TaskKind.SUPPLIER_ORDER and t.order_ref]
        if not orders:
            return None
        return lifecycle.RecordSupplierUpdate(
            actor="supplier:acme-mobile",
            supplier_id="acme-mobile",
            ref=orders[0].order_ref or "",
            status=list(OrderStatus)[pick % len(OrderStatus)],
        )
    if kind == "notified":
        pending = sorted(state.pending_notifications)
        if not pending:
            return None
        return lifecycle.NotificationDelivered(actor=lifecycle.WORKER, effect_id=pending[0])
    effects = [t.order_effect for t in state.plan if t.order_effect]
    if not effects:
        return None
    effect = effects[pick % len(effects)]
    assert effect is not None
    if kind == "placed":
        return lifecycle.OrderPlaced(actor=lifecycle.WORKER, effect_id=effect, ref=f"R{pick}")
    if kind == "automation_ok":
        return lifecycle.AutomationSucceeded(
            actor=lifecycle.WORKER, effect_id=effect, result={"ok": 1}
        )
    return lifecycle.EffectFailed(actor=lifecycle.WORKER, effect_id=effect, reason="gave up")


# -- the properties ----------------------------------------------------------------------


@given(
    data=st.data(),
    item=st.sampled_from(ITEMS),
    channel=st.sampled_from([Channel.PORTAL, Channel.EMAIL, Channel.PHONE]),
    answers=st.fixed_dictionaries({}, optional={"from_stock": st.booleans()}),
    sla=st.sampled_from([POLICY, None]),
    extra_approvers=st.sampled_from([frozenset(), frozenset({"ida.admin"})]),
    length=st.integers(15, 60),
)
def test_decide_agrees_with_evolve_one_event_at_a_time(  # type: ignore[no-untyped-def]
    data, item, channel, answers, sla, extra_approvers, length
) -> None:
    if item is None:
        channel = Channel.EMAIL
    now = START
    submit = lifecycle.Submit(
        actor=REQUESTER.id,
        request_id="REQ-1",
        requester=REQUESTER,
        item=item,
        channel=channel,
        answers=answers,
    )
    context = Context(catalog=CATALOG, now=now, sla=sla, approvers=extra_approvers)
    first = outcome(None, submit, context)
    history, state = first
    assert isinstance(history, list)
    assert isinstance(state, ServiceRequest)
    assert decided(None, submit, context) == history
    assert state == fold(history)
    kept: list[tuple[ServiceRequest, tuple[Any, ...]]] = [(state, fields_of(state))]
    for _ in range(length):
        now += timedelta(minutes=data.draw(st.integers(0, 600)))
        context = Context(
            catalog=CATALOG,
            now=now,
            sla=sla,
            approvers=extra_approvers,
            survey=data.draw(st.booleans()),
        )
        command = command_for(data, state)
        if command is None:
            continue
        result = outcome(state, command, context)
        # nothing anybody may hold was changed: the states passed in or returned so far
        for held, before in kept:
            assert unchanged(held, before), command
        events, after = result
        if isinstance(events, str):  # refused: ``decide`` refuses it the same way
            assert decided(state, command, context) == result, command
            event(f"{command.name}: refused")
            continue
        assert decided(state, command, context) == events, command
        event(f"{command.name}: {len(events) > 0}")
        if not events:
            assert after is state  # nothing recorded: the state given back as it was
            continue
        assert isinstance(after, ServiceRequest)
        assert after == fold(events, state), command
        history.extend(events)
        state = after
        kept.append((state, fields_of(state)))
        assert lifecycle.replay(history) == state == fold(history)


@given(data=st.data(), item=st.sampled_from(ITEMS), length=st.integers(1, 30))
def test_replay_of_a_damaged_stream_fails_like_the_fold(data, item, length) -> None:  # type: ignore[no-untyped-def]
    """Misordered, cut or foreign streams: ``replay`` raises what folding ``evolve`` raises."""
    context = Context(catalog=CATALOG, now=START, sla=POLICY)
    submit = lifecycle.Submit(
        actor=REQUESTER.id,
        request_id="REQ-9",
        requester=REQUESTER,
        item=item,
        channel=Channel.PORTAL if item else Channel.EMAIL,
    )
    history, state = lifecycle.decide_and_evolve(None, submit, context)
    assert state is not None
    for step in range(length):
        command = command_for(data, state)
        if command is None:
            continue
        context = Context(catalog=CATALOG, now=START + timedelta(hours=step), sla=POLICY)
        try:
            events, after = lifecycle.decide_and_evolve(state, command, context)
        except ReqfulfillError:
            continue
        if events:
            assert after is not None
            history, state = history + events, after
    damaged = data.draw(st.permutations(history))
    damaged = damaged[data.draw(st.integers(0, len(damaged) - 1)) :]
    if data.draw(st.booleans()):
        foreign = attrs.evolve(damaged[-1], request_id="REQ-OTHER")
        damaged = [*damaged, foreign]

    def result(fn: Any) -> Any:
        try:
            return fn(damaged)
        except (TransitionError, AssertionError, KeyError) as exc:
            return type(exc), str(exc)

    assert result(lifecycle.replay) == result(fold)


def test_replay_leaves_no_state_behind_but_the_last() -> None:
    """Every state ``replay`` returns is a fresh object: replaying twice gives equal,
    distinct states, and replaying a longer stream does not touch the shorter one's."""
    context = Context(catalog=CATALOG, now=START)
    submit = lifecycle.Submit(
        actor=REQUESTER.id,
        request_id="REQ-3",
        requester=REQUESTER,
        item="password-reset",
        channel=Channel.PORTAL,
    )
    events = lifecycle.decide(None, submit, context)
    short = lifecycle.replay(events[:2])
    before = fields_of(short)
    full = lifecycle.replay(events)
    again = lifecycle.replay(events)
    assert full == again
    assert full is not again
    assert unchanged(short, before)
    assert short.version == 2
    assert full.version == len(events)


def test_replay_and_evolve_refuse_the_same_first_events() -> None:
    event = ev.RequestApproved(event_id="R/1", request_id="R", at=START, actor="max.manager")
    with pytest.raises(TransitionError, match="event does not fit"):
        lifecycle.replay([event])
    with pytest.raises(TransitionError, match="event does not fit"):
        lifecycle.evolve(None, event)
    with pytest.raises(ValueError, match="empty stream"):
        lifecycle.replay(iter(()))


def _with_task_reference(request: ServiceRequest, key: str, **changes: Any) -> ServiceRequest:
    """The evolvers' task update written plainly: check, then ``attrs.evolve`` each match."""
    if not request.has_task(key):
        raise TransitionError(request.id, request.state, "evolve", f"no task {key!r} in the plan")
    plan = tuple(attrs.evolve(t, **changes) if t.key == key else t for t in request.plan)
    return attrs.evolve(request, plan=plan)


@given(
    keys=st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=5),
    key=st.sampled_from(["a", "b", "c", "d"]),
    state=st.sampled_from(list(TaskState)),
    reason=st.text(max_size=3),
)
def test_a_task_change_changes_the_plan_like_attrs_evolve(keys, key, state, reason) -> None:  # type: ignore[no-untyped-def]
    request = lifecycle.replay(
        [
            ev.RequestSubmitted(
                event_id="R/1",
                request_id="R",
                at=START,
                actor=REQUESTER.id,
                requester=REQUESTER,
                item=None,
                channel=Channel.EMAIL,
            )
        ]
    )
    request = attrs.evolve(
        request, plan=tuple(Task(key=k, kind=TaskKind.MANUAL, title=k) for k in keys)
    )
    try:
        expected: Any = _with_task_reference(request, key, state=state, reason=reason).plan
    except TransitionError as exc:
        expected = str(exc)
    try:
        got: Any = plan_with(RequestDraft.of(request), key, state=state, reason=reason)
    except TransitionError as exc:
        got = str(exc)
    assert got == expected


# -- submit: plans -------------------------------------------------------------


def _plan_tasks_reference(
    catalog: Any, item: Any, facts: Any
) -> tuple[tuple[ev.PlannedTask, ...], tuple[str, ...]]:
    """``plan_tasks`` written plainly: every task's condition matched, every dependency
    resolved, nothing kept between calls."""
    if item is None:
        return (lifecycle.DEFAULT_TASK,), ()
    template = catalog.plan(item.plan)
    keep = {t.key for t in template.tasks if t.when is None or matches(t.when, facts)}
    deps = {t.key: t.after for t in template.tasks}

    def resolve(key: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if key in keep:
            return {key}
        out: set[str] = set()
        for dep in deps.get(key, ()):
            if dep not in seen:
                out |= resolve(dep, seen | {key})
        return out

    tasks = []
    for t in template.tasks:
        if t.key not in keep:
            continue
        after: list[str] = []
        for dep in t.after:
            for resolved in sorted(resolve(dep)):
                if resolved not in after:
                    after.append(resolved)
        ordering = t.kind in (TaskKind.SUPPLIER_ORDER, TaskKind.STOCK_OR_ORDER)
        supplier = t.supplier or (item.supplier if ordering else None)
        tasks.append(
            ev.PlannedTask(
                key=t.key,
                kind=t.kind,
                title=t.title,
                after=tuple(after),
                group=t.group,
                supplier=supplier,
            )
        )
    return tuple(tasks), tuple(t.key for t in template.tasks if t.key not in keep)


def _catalog_with_plans(whens: list[bool], chain: bool) -> Catalog:
    tasks = []
    for index, conditional in enumerate(whens):
        task: dict[str, Any] = {"key": f"t{index}", "kind": "manual", "title": f"T{index}"}
        if chain and index:
            task["after"] = [f"t{index - 1}"]
        if conditional:
            task["when"] = {"answers.skip": {"ne": f"t{index}"}}
        tasks.append(task)
    return Catalog.from_dict(
        {
            "groups": [{"id": "desk", "name": "Desk", "members": ["ann"]}],
            "plans": [{"id": "p", "tasks": tasks}],
            "items": [
                {
                    "id": "x",
                    "name": "X",
                    "category": "C",
                    "group": "desk",
                    "impact": "low",
                    "urgency": "low",
                    "plan": "p",
                    "requires_approval": False,
                }
            ],
        }
    )


@given(
    whens=st.lists(st.booleans(), min_size=1, max_size=4),
    chain=st.booleans(),
    skips=st.lists(st.sampled_from(["t0", "t1", "t2", "t3", "none"]), min_size=1, max_size=4),
    demo_item=st.sampled_from([*ITEMS]),
)
def test_plans_are_those_of_the_plain_planning(whens, chain, skips, demo_item) -> None:  # type: ignore[no-untyped-def]
    """Plans of templates without conditions are kept (by value); each request still
    gets the plan the plain planning gives, with or without conditions, whatever came
    before."""
    for catalog, item_id in ((_catalog_with_plans(whens, chain), "x"), (CATALOG, demo_item)):
        item = catalog.item(item_id) if item_id else None
        context = Context(catalog=catalog, now=START)
        for skip in skips:
            facts = {"answers": {"skip": skip, "from_stock": skip == "t1"}}
            got = plan_tasks(context, item, facts)
            assert got == _plan_tasks_reference(catalog, item, facts)
