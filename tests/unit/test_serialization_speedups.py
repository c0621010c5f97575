"""The fast paths of ``nesting_problem`` and of the stored-event JSON give exactly what
the plain implementations gave: same results, same messages, same bytes.

The plain implementations are kept here, copied from before the fast paths, as the
reference the fast ones are compared with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reqfulfill.model import events as ev
from reqfulfill.model.catalog import Requester
from reqfulfill.model.enums import Channel, Impact, OrderStatus, Priority, TaskKind, Urgency
from reqfulfill.model.errors import (
    MAX_NESTING,
    Problem,
    ValidationError,
    nesting_problem,
    nests_deeper,
)
from reqfulfill.model.supplier import Notification, OrderLine, SupplierOrder
from reqfulfill.serialization import (
    EVENT_SCHEMA_VERSION,
    converter,
    event_from_dict,
    event_from_json,
    event_to_dict,
    event_to_json,
    structure_config,
)
from reqfulfill.testing import strategies

# -- the reference: nesting_problem as it was ------------------------------------------


def reference_nesting_problem(
    value: object, path: str = "", limit: int = MAX_NESTING
) -> Problem | None:
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    while stack:
        current, where, depth = stack.pop()
        if isinstance(current, dict | list | tuple):
            if depth >= limit:
                return Problem(where, "<nested value>", f"nested deeper than {limit} levels")
            if isinstance(current, dict):
                for key, inner in current.items():
                    stack.append((inner, f"{where}.{key}" if where else str(key), depth + 1))
            else:
                for index, inner in enumerate(current):
                    stack.append((inner, f"{where}[{index}]", depth + 1))
    return None


def reference_event_to_json(event: Any) -> str:
    data: dict[str, Any] = converter.unstructure(event)
    data["type"] = type(event).__name__
    data["v"] = EVENT_SCHEMA_VERSION
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def reference_event_from_dict(data: Mapping[str, Any]) -> Any:
    payload = dict(data)
    version = payload.pop("v", 1)
    kind = payload.pop("type", None)
    if version != EVENT_SCHEMA_VERSION:
        raise ValidationError.single("v", version, "unsupported event schema version")
    cls = ev.EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError.single("type", kind, "unknown event type")
    return structure_config(payload, cls, path=str(kind))


def reference_event_from_json(text: str | bytes) -> Any:
    return reference_event_from_dict(json.loads(text))


# -- nesting_problem ---------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3)
_nested = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=40,
)


@given(_nested, st.integers(0, 6), st.sampled_from(["", "answers", "x.y[0]"]))
def test_nesting_problem_matches_the_reference(value: Any, limit: int, path: str) -> None:
    found = nesting_problem(value, path, limit=limit)
    assert found == reference_nesting_problem(value, path, limit=limit)
    assert nests_deeper(value, limit) is (found is not None)


def _chain(depth: int, leaf: object = 1) -> Any:
    value: Any = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


@pytest.mark.parametrize("depth", [0, 1, MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1])
def test_nesting_problem_at_the_limit(depth: int) -> None:
    value = {"answers": _chain(depth)}
    found = nesting_problem(value, "answers")
    assert found == reference_nesting_problem(value, "answers")
    assert (found is not None) is (depth >= MAX_NESTING)


def test_nesting_problem_reports_the_first_deep_path_as_before() -> None:
    value = {"a": [[1]], "b": {"c": {"d": 2}}, "e": [1, [2, [3]]]}
    found = nesting_problem(value, "answers", limit=2)
    assert found is not None
    assert found == reference_nesting_problem(value, "answers", limit=2)
    assert str(found) == "answers.e[1]: nested deeper than 2 levels (got '<nested value>')"


def test_hostile_depth_does_not_blow_the_stack() -> None:
    deep = _chain(200_000)
    found = nesting_problem(deep, "x")
    assert found is not None
    assert found.reason == f"nested deeper than {MAX_NESTING} levels"
    assert nests_deeper(deep)


def test_shared_and_cyclic_values_end() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert nests_deeper(loop)
    assert nesting_problem(loop) == reference_nesting_problem(loop)
    wide: Any = 1
    for _ in range(MAX_NESTING + 5):
        wide = [wide, wide]  # 2**37 paths: a depth-first walk still ends at once
    assert nests_deeper(wide)
    assert nesting_problem(wide) == reference_nesting_problem(wide)


def test_subclasses_count_as_containers() -> None:
    from reqfulfill.model._json import FrozenDict, FrozenList

    value = FrozenDict({"a": FrozenList([FrozenDict({"b": 1})])})
    assert nests_deeper(value, 2)
    assert not nests_deeper(value, 3)
    assert nesting_problem(value, "p", 2) == reference_nesting_problem(value, "p", 2)


# -- the stored JSON of events, pinned ------------------------------------------------
# Stored data and tests/data/stores/schema-v1.db depend on these exact bytes: keys
# sorted, compact separators, ASCII only, enums by value, durations as "4h30m".

AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
HELSINKI = datetime(2026, 3, 2, 10, 30, 0, 250_000, tzinfo=timezone(timedelta(hours=2)))
COMMON = {"request_id": "REQ-1", "at": AT, "actor": "erin.user"}


def pinned_events() -> dict[str, ev.Event]:
    return {
        "submitted": ev.RequestSubmitted(
            event_id="REQ-1/1",
            **COMMON,
            requester=Requester("erin.user", "Erin Ärrä", "Finance", "HQ", manager="max"),
            item="iphone-15",
            channel=Channel.PORTAL,
            answers={
                "zeta": [1, 2.5, None, True, {"b": "\u2713", "a": "tab\there"}],
                "alpha": {"quote": 'say "hi"\\', "n": -0.0, "big": 10**20},
                "Émoji": "\U0001f600",
                "empty": {},
            },
        ),
        "assigned": ev.RequestAssigned(
            event_id="REQ-1/2", **COMMON, group="service-desk", rule="item default"
        ),
        "triaged": ev.RequestTriaged(
            event_id="REQ-1/3", **COMMON, item=None, impact=Impact.HIGH, urgency=Urgency.LOW
        ),
        "plan": ev.PlanStarted(
            event_id="REQ-1/4",
            **COMMON,
            plan="phone",
            tasks=(
                ev.PlannedTask("order", TaskKind.SUPPLIER_ORDER, "Order it", supplier="acme"),
                ev.PlannedTask("ship", TaskKind.DELIVERY, "Ship it", after=("order",)),
            ),
            left_out=("setup", "wipe"),
        ),
        "order": ev.SupplierOrderRequested(
            event_id="REQ-1/5",
            **COMMON,
            task_key="order",
            supplier_id="acme",
            order=SupplierOrder(
                supplier_id="acme",
                request_id="REQ-1",
                task_key="order",
                lines=(OrderLine("iphone-15", 2, "Phone\nblack"), OrderLine("case")),
                deliver_to="HQ, floor 3",
                requester="erin.user",
                reference="REQ-1/order",
                attributes={"cost": 899, "colour": "black", "tags": ["a", "b"]},
            ),
        ),
        "placed": ev.SupplierOrderPlaced(
            event_id="REQ-1/6",
            **COMMON,
            task_key="order",
            supplier_id="acme",
            ref="PO-7",
            status=OrderStatus.CONFIRMED,
            effect_id="REQ-1/5",
            superseded=True,
        ),
        "completed": ev.TaskCompleted(
            event_id="REQ-1/7", **COMMON, task_key="setup", result={"ok": True, "id": 7}
        ),
        "notify": ev.NotificationRequested(
            event_id="REQ-1/8",
            **COMMON,
            notification=Notification(
                "request_closed", "group:desk", "REQ-1", "Closed", "Bye <b>&</b>", "REQ-1/8"
            ),
            not_before=HELSINKI,
        ),
        "sla": ev.SlaStarted(
            event_id="REQ-1/9",
            **COMMON,
            target=timedelta(hours=4, minutes=30),
            due=HELSINKI,
            priority=Priority.HIGH,
        ),
        "threshold": ev.SlaThresholdReached(
            event_id="REQ-1/10",
            **COMMON,
            level=1,
            fraction=0.75,
            action="notify",
            used=timedelta(hours=3, seconds=1.5),
        ),
        "closed": ev.RequestClosed(event_id="REQ-1/11", **COMMON, survey=False),
        "feedback": ev.FeedbackRecorded(event_id="REQ-1/12", **COMMON, rating=2, comment=""),
    }


PINNED_JSON = {
    "submitted": (
        '{"actor":"erin.user","answers":{"alpha":{"big":100000000000000000000'
        ',"n":-0.0,"quote":"say \\"hi\\"\\\\"},"empty":{},"zeta":[1,2.5,null,true'
        ',{"a":"tab\\there","b":"\\u2713"}],"\\u00c9moji":"\\ud83d\\ude00"}'
        ',"at":"2026-03-02T08:30:00+00:00","channel":"portal","event_id":"REQ-1/1"'
        ',"item":"iphone-15","request_id":"REQ-1","requester":{"department":"Finance"'
        ',"id":"erin.user","location":"HQ","manager":"max"'
        ',"name":"Erin \\u00c4rr\\u00e4","vip":false},"type":"RequestSubmitted"'
        ',"v":1}'
    ),
    "assigned": (
        '{"actor":"erin.user","agent":null,"at":"2026-03-02T08:30:00+00:00"'
        ',"event_id":"REQ-1/2","group":"service-desk","reason":""'
        ',"request_id":"REQ-1","rule":"item default","strategy":"queue"'
        ',"type":"RequestAssigned","v":1}'
    ),
    "triaged": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","category":null'
        ',"event_id":"REQ-1/3","impact":"high","item":null,"request_id":"REQ-1"'
        ',"rule":"manual","type":"RequestTriaged","urgency":"low","v":1}'
    ),
    "plan": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","event_id":"REQ-1/4"'
        ',"left_out":["setup","wipe"],"plan":"phone","request_id":"REQ-1","rule":null'
        ',"tasks":[{"after":[],"group":null,"key":"order","kind":"supplier_order"'
        ',"supplier":"acme","title":"Order it"},{"after":["order"],"group":null'
        ',"key":"ship","kind":"delivery","supplier":null,"title":"Ship it"}]'
        ',"type":"PlanStarted","v":1}'
    ),
    "order": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","event_id":"REQ-1/5"'
        ',"order":{"attributes":{"colour":"black","cost":899,"tags":["a","b"]}'
        ',"deliver_to":"HQ, floor 3","lines":[{"description":"Phone\\nblack"'
        ',"item":"iphone-15","quantity":2},{"description":"","item":"case"'
        ',"quantity":1}],"reference":"REQ-1/order","request_id":"REQ-1"'
        ',"requester":"erin.user","supplier_id":"acme","task_key":"order"}'
        ',"request_id":"REQ-1","supplier_id":"acme","task_key":"order"'
        ',"type":"SupplierOrderRequested","v":1}'
    ),
    "placed": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","effect_id":"REQ-1/5"'
        ',"event_id":"REQ-1/6","ref":"PO-7","request_id":"REQ-1","status":"confirmed"'
        ',"superseded":true,"supplier_id":"acme","task_key":"order"'
        ',"type":"SupplierOrderPlaced","v":1}'
    ),
    "completed": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","effect_id":null'
        ',"event_id":"REQ-1/7","request_id":"REQ-1","result":{"id":7,"ok":true}'
        ',"task_key":"setup","type":"TaskCompleted","v":1}'
    ),
    "notify": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","event_id":"REQ-1/8"'
        ',"not_before":"2026-03-02T10:30:00.250000+02:00"'
        ',"notification":{"body":"Bye <b>&</b>","key":"REQ-1/8"'
        ',"kind":"request_closed","recipient":"group:desk","request_id":"REQ-1"'
        ',"subject":"Closed"},"request_id":"REQ-1","type":"NotificationRequested"'
        ',"v":1}'
    ),
    "sla": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00"'
        ',"due":"2026-03-02T10:30:00.250000+02:00","event_id":"REQ-1/9","priority":2'
        ',"request_id":"REQ-1","rule":null,"target":"4h30m","type":"SlaStarted"'
        ',"v":1}'
    ),
    "threshold": (
        '{"action":"notify","actor":"erin.user","at":"2026-03-02T08:30:00+00:00"'
        ',"event_id":"REQ-1/10","fraction":0.75,"level":1,"request_id":"REQ-1"'
        ',"type":"SlaThresholdReached","used":"3h1.5s","v":1}'
    ),
    "closed": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","event_id":"REQ-1/11"'
        ',"reason":"","request_id":"REQ-1","rule":null,"survey":false'
        ',"type":"RequestClosed","v":1}'
    ),
    "feedback": (
        '{"actor":"erin.user","at":"2026-03-02T08:30:00+00:00","comment":""'
        ',"event_id":"REQ-1/12","rating":2,"request_id":"REQ-1"'
        ',"type":"FeedbackRecorded","v":1}'
    ),
}


@pytest.mark.parametrize("name", sorted(PINNED_JSON))
def test_event_json_is_pinned(name: str) -> None:
    event = pinned_events()[name]
    expected = "".join(PINNED_JSON[name])
    assert event_to_json(event) == expected
    assert reference_event_to_json(event) == expected
    assert event_from_json(expected) == event
    assert event_from_json(expected.encode()) == event
    assert json.loads(expected) == event_to_dict(event)


def test_every_event_type_is_pinned_or_drawn() -> None:
    assert set(ev.EVENT_TYPES) >= {type(e).__name__ for e in pinned_events().values()}


# -- drawn events: same bytes and same events as the reference ---------------------------

HISTORIES = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])


@HISTORIES
@given(strategies.histories(max_steps=20))
def test_drawn_histories_encode_like_the_reference(drawn: tuple[list[ev.Event], Any]) -> None:
    for event in drawn[0]:
        text = event_to_json(event)
        assert text == reference_event_to_json(event)
        assert event_from_json(text) == event
        assert reference_event_from_json(text) == event


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(strategies.events())
def test_drawn_events_round_trip_and_encode_like_the_reference(event: ev.Event) -> None:
    text = event_to_json(event)
    assert text == reference_event_to_json(event)
    again = event_from_json(text)
    assert again == event
    assert type(again) is type(event)
    assert event_to_json(again) == text


# -- decoding stays strict: corrupt payloads fail exactly as before ------------------------


def outcome(decode: Any, data: Any) -> tuple[Any, ...]:
    """What decoding gave: the event, or the error with every problem."""
    try:
        return ("event", decode(data))
    except ValidationError as exc:
        problems = [(p.path, repr(p.value), p.reason) for p in exc.problems]
        return ("invalid", problems, exc.source, str(exc))
    except Exception as exc:
        return ("error", type(exc), str(exc))


WRONG_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    "high",
    "3h",
    "-1h",
    "2026-03-02T08:30:00",
    "2026-03-02T08:30:00+00:00",
    [],
    ["x"],
    [1],
    {},
    {"a": 1},
    {"kind": "manual"},
    {"nested": _chain(MAX_NESTING + 2)},
    _chain(MAX_NESTING - 1),
]


def _paths(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [where]
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(_paths(inner, (*where, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(_paths(inner, (*where, index)))
    return found


def _mutated(data: Any, where: tuple[Any, ...], how: str, value: Any) -> Any:
    copy = json.loads(json.dumps(data))
    if not where:
        return value if how == "replace" else copy
    parent = copy
    for step in where[:-1]:
        parent = parent[step]
    last = where[-1]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    else:
        parent.append(value)
    return copy


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(PINNED_JSON)),
    st.data(),
    st.sampled_from(["replace", "delete", "add"]),
    st.sampled_from(WRONG_VALUES),
)
def test_corrupt_payloads_fail_like_the_reference(
    name: str, data: st.DataObject, how: str, value: Any
) -> None:
    stored = json.loads("".join(PINNED_JSON[name]))
    where = data.draw(st.sampled_from(_paths(stored)))
    corrupt = _mutated(stored, where, how, value)
    expected = outcome(reference_event_from_dict, corrupt)
    assert outcome(event_from_dict, corrupt) == expected
    assert outcome(event_from_json, json.dumps(corrupt)) == expected


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        ({"type": "NoSuchEvent"}, "type", "unknown event type"),
        ({"type": 7}, "type", "unknown event type"),
        ({"v": 2}, "v", "unsupported event schema version"),
        ({"rating": "5"}, "FeedbackRecorded.rating", "expected an integer, got str"),
        ({"rating": True}, "FeedbackRecorded.rating", "expected an integer, got bool"),
        ({"at": "2026-03-02T08:30:00"}, "FeedbackRecorded.at", "a date-time needs a time zone"),
        ({"surprise": 1}, "FeedbackRecorded.surprise", "unknown key"),
        ({"comment": None}, "FeedbackRecorded.comment", "expected a string, got NoneType"),
    ],
)
def test_corrupt_feedback_names_path_and_value(
    change: dict[str, Any], path: str, reason: str
) -> None:
    stored = {**json.loads("".join(PINNED_JSON["feedback"])), **change}
    with pytest.raises(ValidationError) as info:
        event_from_json(json.dumps(stored))
    (problem,) = info.value.problems
    assert problem.path == path
    assert problem.reason.startswith(reason)
    key = path.rpartition(".")[2]
    assert problem.value == stored[key]
    assert outcome(event_from_dict, stored) == outcome(reference_event_from_dict, stored)


def test_missing_and_too_deep_are_reported_as_before() -> None:
    stored = json.loads("".join(PINNED_JSON["submitted"]))
    del stored["requester"]["name"]
    stored["answers"]["deep"] = _chain(MAX_NESTING + 3)
    expected = outcome(reference_event_from_dict, stored)
    assert expected[0] == "invalid"
    assert outcome(event_from_dict, stored) == expected
    del stored["answers"]["deep"]
    expected = outcome(reference_event_from_dict, stored)
    assert expected[1] == [("RequestSubmitted.requester.name", "None", "missing required key")]
    assert outcome(event_from_dict, stored) == expected


def test_old_payloads_without_defaulted_fields_still_load() -> None:
    stored = json.loads("".join(PINNED_JSON["assigned"]))
    for key in ("agent", "strategy", "rule", "reason", "v"):
        del stored[key]
    event = event_from_dict(stored)
    assert event == reference_event_from_dict(stored)
    assert event.strategy == "queue"
    assert event.rule is None


def test_any_mapping_decodes_and_the_input_is_not_kept() -> None:
    from types import MappingProxyType

    stored = json.loads("".join(PINNED_JSON["order"]))
    event = event_from_dict(MappingProxyType(stored))
    assert event == reference_event_from_dict(stored) == pinned_events()["order"]
    again = event_from_dict(stored)
    stored["order"]["attributes"]["cost"] = 1
    assert again.order.attributes["cost"] == 899


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(["high", "manual", "4h", "2026-03-02T08:30:00+02:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(PINNED_JSON)), st.data(), _json_values)
def test_payloads_with_any_json_anywhere_decode_like_the_reference(
    name: str, data: st.DataObject, value: Any
) -> None:
    stored = json.loads("".join(PINNED_JSON[name]))
    where = data.draw(st.sampled_from(_paths(stored)))
    changed = _mutated(stored, where, "replace", value)
    expected = outcome(reference_event_from_dict, changed)
    assert outcome(event_from_dict, changed) == expected


# -- encoding values the fast path does not expect: the plain way decides ---------------


def _free_form() -> st.SearchStrategy[Any]:
    keys = st.text(max_size=3)
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=5)
        | st.sampled_from([Priority.HIGH, Channel.EMAIL, AT, timedelta(hours=1)]),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.lists(inner, max_size=3).map(tuple)
            | st.dictionaries(keys, inner, max_size=3)
            | st.dictionaries(st.integers(0, 3), inner, max_size=2)
            | st.frozensets(st.integers(0, 9), max_size=3)
        ),
        max_leaves=12,
    )


@settings(max_examples=300)
@given(_free_form(), _free_form())
def test_free_form_values_encode_like_the_reference(result: Any, attributes: Any) -> None:
    completed = ev.TaskCompleted(event_id="R/1", **COMMON, task_key="t")
    object.__setattr__(completed, "result", result)  # past the freezing converter
    order = pinned_events()["order"]
    assert isinstance(order, ev.SupplierOrderRequested)
    object.__setattr__(order.order, "attributes", attributes)
    for event in (completed, order):
        assert outcome(event_to_json, event) == outcome(reference_event_to_json, event)


class _Text(str):
    pass


class _Level(int):
    def __repr__(self) -> str:
        return "level"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor", 7),
        ("actor", None),
        ("actor", _Text("sub\u00e9")),
        ("rating", True),
        ("rating", _Level(3)),
        ("rating", Priority.LOW),
        ("rating", 2.5),
        ("rating", "5"),
        ("comment", ["x"]),
        ("at", datetime(2026, 3, 2, 8, 30)),
        ("at", "2026-03-02"),
        ("at", None),
    ],
)
def test_unexpected_field_values_encode_like_the_reference(field: str, value: Any) -> None:
    event = pinned_events()["feedback"]
    object.__setattr__(event, field, value)
    assert outcome(event_to_json, event) == outcome(reference_event_to_json, event)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priority", 2),
        ("priority", "high"),
        ("target", "4h"),
        ("due", AT.date()),
        ("rule", 1),
    ],
)
def test_unexpected_values_in_other_fields_encode_like_the_reference(
    field: str, value: Any
) -> None:
    event = pinned_events()["sla"]
    object.__setattr__(event, field, value)
    assert outcome(event_to_json, event) == outcome(reference_event_to_json, event)


def test_unexpected_nested_values_encode_like_the_reference() -> None:
    plan = pinned_events()["plan"]
    assert isinstance(plan, ev.PlanStarted)
    for tasks in ((), [plan.tasks[0]], "ab", None, (plan.tasks[0], "x")):
        object.__setattr__(plan, "tasks", tasks)
        assert outcome(event_to_json, plan) == outcome(reference_event_to_json, plan)
    for left_out in (["a"], ("a", 1), frozenset({"b", "a"}), {"k": 1}, "ab"):
        object.__setattr__(plan, "left_out", left_out)
        assert outcome(event_to_json, plan) == outcome(reference_event_to_json, plan)


def test_one_datetime_object_in_many_events_and_many_zones() -> None:
    zones = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    for zone in zones:
        at = datetime(2026, 3, 2, 8, 30, 15, 7, tzinfo=zone)
        for n in range(3):
            event = ev.TaskStarted(
                event_id=f"R/{n}", request_id="R", at=at, actor="a", task_key="t"
            )
            assert event_to_json(event) == reference_event_to_json(event)
            assert event_from_json(event_to_json(event)) == event
    naive = ev.TaskStarted(
        event_id="R/9", request_id="R", at=datetime(2026, 3, 2), actor="a", task_key="t"
    )
    assert event_to_json(naive) == reference_event_to_json(naive)


def test_every_event_type_has_both_fast_paths() -> None:
    from reqfulfill import serialization

    for name, cls in ev.EVENT_TYPES.items():
        assert serialization._event_encoder_for(cls) is not None, name
        assert serialization._event_decoder_for({"type": name}) is not None, name


def test_a_class_the_fast_paths_do_not_cover_takes_the_plain_way() -> None:
    import attrs

    from reqfulfill import serialization

    @attrs.frozen
    class Odd:  # not an Event subclass: EVENT_TYPES and its users stay as they are
        at: datetime
        values: list[int]

    odd = Odd(AT, [3, 1])
    assert serialization._event_encoder_for(Odd) is None
    assert event_to_json(odd) == reference_event_to_json(odd)
    assert event_to_json(odd) == (
        '{"at":"2026-03-02T08:30:00+00:00","type":"Odd","v":1,"values":[3,1]}'
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1}',
        ' {"a":1}',
        '{"a":1}\n',
        '{"a":1} x',
        '{"a":1}{"b":2}',
        "\ufeff{}",
        "",
        "nul",
        '{"a":',
        "[1,2]",
        '"text"',
        "[" * 100_000 + "]" * 100_000,
        b'{"a":1}',
        '{"a":1}'.encode("utf-16"),
    ],
)
def test_reading_json_text_is_json_loads(text: str | bytes) -> None:
    from reqfulfill.serialization import _load_json

    def loads(text: str | bytes) -> Any:
        return json.loads(text)

    def error(call: Any) -> tuple[Any, ...]:
        try:
            return ("value", call(text))
        except Exception as exc:
            return ("error", type(exc), str(exc))

    assert error(_load_json) == error(loads)


def test_decoding_leaves_the_input_alone() -> None:
    for name in PINNED_JSON:
        stored = json.loads("".join(PINNED_JSON[name]))
        before = json.dumps(stored, sort_keys=True)
        assert event_from_dict(stored) == pinned_events()[name]
        assert json.dumps(stored, sort_keys=True) == before
        assert "type" in stored


def test_stored_events_take_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain functions are the fallback only: the usual events never need them."""
    from reqfulfill import serialization
    from reqfulfill.demo import play_reference_scenario

    def refuse(*_: object) -> None:
        raise AssertionError("took the plain way")

    service, request = play_reference_scenario()
    events = [*pinned_events().values(), *service.history(request.id)]
    texts = [event_to_json(event) for event in events]
    monkeypatch.setattr(serialization, "_plain_event_to_json", refuse)
    monkeypatch.setattr(serialization, "_plain_event_from_dict", refuse)
    assert [event_to_json(event) for event in events] == texts
    assert [event_from_json(text) for text in texts] == events
