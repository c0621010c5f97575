"""The lifecycle's mutable draft is ServiceRequest's twin, and the model's copies are
``attrs.evolve``'s.

``RequestDraft`` must keep exactly ServiceRequest's fields, in the same order, with
the same defaults: both are built from each other by position. ``Task.replace`` and
``SlaStatus.replace`` copy by position too, and must give what ``attrs.evolve`` gives;
so must ``Notification.with_key``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reqfulfill import lifecycle
from reqfulfill.lifecycle import Context
from reqfulfill.lifecycle.draft import FIELD_NAMES, RequestDraft
from reqfulfill.model.enums import Channel, OrderStatus, TaskKind, TaskState
from reqfulfill.model.request import RequestQueries, ServiceRequest, SlaStatus, Task
from reqfulfill.model.supplier import Notification
from reqfulfill.testing import demo_catalog, demo_requester

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _default(a: attrs.Attribute) -> Any:  # type: ignore[type-arg]
    if isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]
        return a.default.factory()  # type: ignore[attr-defined]
    return a.default


def test_the_draft_has_the_requests_fields_in_order_with_the_same_defaults() -> None:
    request = attrs.fields(ServiceRequest)
    draft = attrs.fields(RequestDraft)
    assert [a.name for a in draft] == [a.name for a in request] == list(FIELD_NAMES)
    assert [a.type for a in draft] == [a.type for a in request]
    assert [_default(a) for a in draft] == [_default(a) for a in request]
    assert all(a.init and not a.kw_only for a in (*request, *draft))


def test_both_answer_the_same_questions() -> None:
    assert issubclass(ServiceRequest, RequestQueries)
    assert issubclass(RequestDraft, RequestQueries)
    assert not hasattr(RequestDraft(*(None,) * len(FIELD_NAMES)), "__dict__")


def _closed_request() -> ServiceRequest:
    context = Context(catalog=demo_catalog(), now=START)
    submit = lifecycle.Submit(
        actor="erin.user",
        request_id="R-1",
        requester=demo_requester(),
        item="password-reset",
        channel=Channel.PORTAL,
    )
    _, state = lifecycle.decide_and_evolve(None, submit, context)
    assert state is not None
    for command in (
        lifecycle.CompleteTask(actor="sam.agent", task_key="reset"),
        lifecycle.Close(actor="sam.agent"),
    ):
        _, state = lifecycle.decide_and_evolve(state, command, context)
        assert state is not None
    return state


def test_a_draft_builds_the_request_it_was_made_of_and_leaves_it_alone() -> None:
    request = _closed_request()
    draft = RequestDraft.of(request)
    assert draft.task("reset") == request.task("reset")
    assert (draft.group, draft.agent) == (request.group, request.agent)
    built = draft.build()
    assert built == request
    assert built is not request
    draft.version += 5
    draft.plan = ()
    assert request.version == built.version
    assert request.plan == built.plan != ()
    assert draft.build().version == request.version + 5


def test_build_passes_every_field_in_its_place() -> None:
    built = RequestDraft(*range(len(FIELD_NAMES))).build()
    assert list(built.__dict__) == list(FIELD_NAMES)
    assert list(built.__dict__.values()) == list(range(len(FIELD_NAMES)))


def test_a_state_holds_its_fields_alone_in_field_order() -> None:
    """What :meth:`RequestDraft.of` reads: a state's ``__dict__`` values by position,
    however the state was made (decided, replayed, evolved, copied)."""
    import copy

    context = Context(catalog=demo_catalog(), now=START)
    submit = lifecycle.Submit(
        actor="erin.user",
        request_id="R-2",
        requester=demo_requester(),
        item="password-reset",
        channel=Channel.PORTAL,
    )
    events, request = lifecycle.decide_and_evolve(None, submit, context)
    assert request is not None
    more, request = lifecycle.decide_and_evolve(
        request, lifecycle.CompleteTask(actor="sam.agent", task_key="reset"), context
    )
    assert request is not None
    events += more
    made = [
        request,
        lifecycle.replay(events),
        lifecycle.evolve(lifecycle.replay(events[:-1]), events[-1]),
        attrs.evolve(request, version=request.version),
        copy.copy(request),
        copy.deepcopy(request),
        RequestDraft.of(request).build(),
    ]
    for state in made:
        assert list(state.__dict__) == list(FIELD_NAMES)
        assert RequestDraft.of(state).build() == request


tasks = st.builds(
    Task,
    key=st.sampled_from(["a", "b"]),
    kind=st.sampled_from(list(TaskKind)),
    title=st.text(max_size=3),
    attempts=st.integers(0, 3),
)
task_changes = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(list(TaskState)),
        "order_status": st.none() | st.sampled_from(list(OrderStatus)),
        "reason": st.text(max_size=3),
        "shipped": st.booleans(),
        "attempts": st.integers(0, 5),
        "result": st.none() | st.just({"ok": 1}),
    },
)


@given(task=tasks, changes=task_changes)
def test_task_replace_is_attrs_evolve(task: Task, changes: dict[str, Any]) -> None:
    assert task.replace(**changes) == attrs.evolve(task, **changes)


@given(
    changes=st.fixed_dictionaries(
        {},
        optional={
            "paused": st.booleans(),
            "used": st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
            "fired": st.tuples(st.integers(0, 3)),
            "level": st.integers(0, 3),
            "due": st.none() | st.just(START),
        },
    )
)
def test_sla_replace_is_attrs_evolve(changes: dict[str, Any]) -> None:
    sla = SlaStatus(target=timedelta(hours=4), used_at=START)
    assert sla.replace(**changes) == attrs.evolve(sla, **changes)


def test_replace_refuses_a_field_the_class_lacks() -> None:
    task = Task(key="a", kind=TaskKind.MANUAL, title="A")
    with pytest.raises(TypeError, match="'colour'"):
        task.replace(colour="red")
    with pytest.raises(TypeError, match="'colour'"):
        SlaStatus().replace(colour="red")


@given(
    fields=st.tuples(*(st.text(max_size=5) for _ in range(6))),
    key=st.text(max_size=5),
)
def test_notification_with_key_is_attrs_evolve(fields: tuple[str, ...], key: str) -> None:
    assert [a.name for a in attrs.fields(Notification)] == [
        "kind",
        "recipient",
        "request_id",
        "subject",
        "body",
        "key",
    ]
    note = Notification(*fields)
    assert note.with_key(key) == attrs.evolve(note, key=key)
