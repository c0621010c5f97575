"""The testing kit's strategies draw valid values, and register for their types."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from reqfulfill import lifecycle
from reqfulfill.lifecycle import Command, Context, Submit
from reqfulfill.model.catalog import (
    Catalog,
    PlanTemplate,
    Requester,
    ServiceItem,
    SupportGroup,
    TaskTemplate,
)
from reqfulfill.model.enums import Channel, RequestState, TaskKind
from reqfulfill.model.errors import ReqfulfillError
from reqfulfill.model.events import Event, RequestSubmitted
from reqfulfill.model.request import ServiceRequest
from reqfulfill.rules import Condition, Rule, Rules, RuleSet, build_facts, condition_problems
from reqfulfill.serialization import (
    event_from_json,
    event_to_json,
    structure_config,
    unstructure_config,
)
from reqfulfill.sla import BusinessCalendar, EscalationLevel, SlaPolicy
from reqfulfill.testing import demo_catalog, strategies
from reqfulfill.testing._hypothesis_plugin import _hypothesis_setup_hook

FEW = settings(max_examples=25)


def round_trips_as_config(value: Any) -> bool:
    return bool(structure_config(unstructure_config(value), type(value)) == value)


@given(strategies.requesters())
def test_requesters_round_trip(requester: Requester) -> None:
    assert requester.id.strip()
    assert round_trips_as_config(requester)


@given(strategies.support_groups(escalates_to=["desk-l2"]))
def test_support_groups(group: SupportGroup) -> None:
    assert group.escalates_to in (None, "desk-l2")
    assert len(set(group.members)) == len(group.members)
    assert round_trips_as_config(group)


@given(strategies.task_templates(groups=["desk"], suppliers=["acme"]))
def test_task_templates(task: TaskTemplate) -> None:
    assert task.group in (None, "desk")
    assert task.supplier in (None, "acme")
    assert task.after == ()
    if task.when is not None:
        assert condition_problems(task.when, "when") == []
    assert round_trips_as_config(task)


@given(strategies.plan_templates(min_size=2, max_size=4))
def test_plan_templates_are_dags(plan: PlanTemplate) -> None:
    assert 2 <= len(plan.tasks) <= 4
    seen: set[str] = set()
    for task in plan.tasks:
        assert set(task.after) <= seen
        seen.add(task.key)
    assert len(seen) == len(plan.tasks)
    assert round_trips_as_config(plan)


@given(st.data())
def test_service_items_follow_their_arguments(data: st.DataObject) -> None:
    plan = data.draw(strategies.plan_templates(kinds=[TaskKind.SUPPLIER_ORDER]))
    item = data.draw(strategies.service_items(groups=["desk"], plans=[plan], suppliers=["acme"]))
    assert item.group == "desk"
    assert item.plan == plan.id
    assert item.supplier == "acme" or all(t.supplier for t in plan.tasks)
    assert round_trips_as_config(item)


@FEW
@given(strategies.catalogs(max_items=4))
def test_catalogs_validate_and_round_trip(catalog: Catalog) -> None:
    assert 1 <= len(catalog.items) <= 4
    assert 1 <= len(catalog.groups) <= 3
    assert catalog.problems() == []
    assert Catalog.from_dict(catalog.to_dict()) == catalog


@given(strategies.conditions())
def test_conditions_compile(condition: dict[str, Any]) -> None:
    assert condition_problems(condition, "when") == []
    Condition(condition)


@given(strategies.rules())
def test_rules(rule: Rule) -> None:
    assert RuleSet.from_dict({"rules": [rule.to_dict()]}).rules == (rule,)


@FEW
@given(st.data())
def test_rule_sets_decide_on_facts_of_their_catalog(data: st.DataObject) -> None:
    catalog = data.draw(strategies.catalogs(max_items=3))
    ruleset = data.draw(strategies.rule_sets(catalog=catalog, max_size=6))
    assert RuleSet.from_dict(ruleset.to_dict()) == ruleset
    command = data.draw(strategies.submissions(catalog=catalog))
    item = catalog.item(command.item) if command.item else None
    facts = build_facts(
        item=item, requester=command.requester, channel=command.channel, answers=command.answers
    )
    decision = ruleset.decide(facts)
    assert decision.decided == bool(ruleset.matching(facts))
    ruleset.explain(facts)


@FEW
@given(
    strategies.routing_rules(catalog=demo_catalog()), strategies.submissions(catalog=demo_catalog())
)
def test_routing_rules_round_trip_and_route(rules: Rules, command: Submit) -> None:
    assert Rules.from_dict(rules.to_dict()) == rules
    item = demo_catalog().item(command.item) if command.item else None
    facts = build_facts(
        item=item, requester=command.requester, channel=command.channel, answers=command.answers
    )
    routing = rules.route(facts, item=item)
    if item is not None:
        assert routing.group is not None
        assert routing.priority is not None


@given(strategies.submissions(catalog=demo_catalog()))
def test_submissions_name_an_item_on_the_portal(command: Submit) -> None:
    assert command.item is not None or command.channel is not Channel.PORTAL
    assert command.item is None or demo_catalog().has_item(command.item)


@given(strategies.calendars())
def test_calendars_round_trip(calendar: BusinessCalendar) -> None:
    assert calendar.timezone in strategies.DEFAULT_TIMEZONES
    assert BusinessCalendar.from_dict(calendar.to_dict()) == calendar


@given(strategies.escalation_levels())
def test_escalation_levels_round_trip(level: EscalationLevel) -> None:
    assert EscalationLevel.from_dict(level.to_dict()) == level


@FEW
@given(strategies.sla_policies())
def test_sla_policies_round_trip(policy: SlaPolicy) -> None:
    assert SlaPolicy.from_dict(policy.to_dict()) == policy


@given(strategies.channels())
def test_channels(channel: Channel) -> None:
    assert isinstance(channel, Channel)


# -- commands, histories, requests and events --------------------------------------------

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@FEW
@given(strategies.command_sequences(max_size=15))
def test_command_sequences_feed_decide_one_by_one(commands: list[Command]) -> None:
    assert isinstance(commands[0], Submit)
    assert 1 <= len(commands) <= 16
    assert not any(isinstance(c, Submit) for c in commands[1:])
    context = Context(catalog=demo_catalog(), now=START)
    history: list[Event] = []
    state: ServiceRequest | None = None
    for command in commands:
        try:
            new = lifecycle.decide(state, command, context)
        except ReqfulfillError:
            continue  # refused: part of what the sequences are for
        history += new
        state = lifecycle.replay(history) if history else None
    assert state is not None  # the drawn Submit is always valid
    assert state.version == len(history)


@given(strategies.command_sequences(min_size=2, max_size=3))
def test_command_sequences_honour_their_sizes(commands: list[Command]) -> None:
    assert 3 <= len(commands) <= 4


@FEW
@given(strategies.histories())
def test_histories_replay_to_their_state(history: tuple[list[Event], ServiceRequest]) -> None:
    events, state = history
    assert lifecycle.replay(events) == state
    assert isinstance(events[0], RequestSubmitted)
    assert state.version == len(events)
    assert [e.event_id for e in events] == [f"{state.id}/{n}" for n in range(1, len(events) + 1)]
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    for event in events:
        assert event_from_json(event_to_json(event)) == event


@FEW
@given(strategies.service_requests(catalog=strategies.catalogs(max_items=3), max_steps=15))
def test_service_requests_of_drawn_catalogs(drawn: ServiceRequest) -> None:
    assert isinstance(drawn.state, RequestState)
    assert drawn.version >= 1


@FEW
@given(strategies.requests())
def test_requests_is_service_requests(drawn: ServiceRequest) -> None:
    assert strategies.requests is strategies.service_requests
    assert isinstance(drawn.state, RequestState)


@FEW
@given(strategies.events())
def test_events_round_trip_through_json(event: Event) -> None:
    assert isinstance(event, Event)
    assert event_from_json(event_to_json(event)) == event


@pytest.mark.parametrize(
    "strategy",
    [
        strategies.plan_templates(min_size=3, max_size=2),
        strategies.plan_templates(min_size=0),
        strategies.catalogs(min_items=-1),
        strategies.catalogs(min_groups=0),
        strategies.catalogs(min_groups=4),
        strategies.conditions(max_depth=-1),
        strategies.rule_sets(min_size=5, max_size=1),
        strategies.rule_sets(hit_policy="last"),
        strategies.service_items(plans=[]),
        strategies.calendars(timezones=[]),
        strategies.calendars(max_shifts=0),
        strategies.support_groups(escalates_to="desk"),
        strategies.command_sequences(min_size=3, max_size=1),
        strategies.command_sequences(max_size=-1),
        strategies.command_sequences(catalog="demo"),  # type: ignore[arg-type]
        strategies.histories(max_steps=-1),
        strategies.histories(rules={"rules": []}),  # type: ignore[arg-type]
        strategies.service_requests(max_steps=1.5),  # type: ignore[arg-type]
        strategies.service_requests(sla="fast"),  # type: ignore[arg-type]
        strategies.requests(catalog=42),  # type: ignore[arg-type]
        strategies.events(max_steps=-2),
        strategies.events(catalog=[]),  # type: ignore[arg-type]
    ],
    ids=repr,
)
def test_bad_arguments_are_reported_when_drawn(strategy: st.SearchStrategy[Any]) -> None:
    # building the strategy above did not raise; drawing from it does
    with pytest.raises(InvalidArgument):
        strategy.validate()


@pytest.mark.parametrize(
    "cls",
    [
        Requester,
        SupportGroup,
        TaskTemplate,
        PlanTemplate,
        ServiceItem,
        Catalog,
        Rule,
        RuleSet,
        Rules,
        BusinessCalendar,
        EscalationLevel,
        SlaPolicy,
        ServiceRequest,
        Event,
        RequestSubmitted,
    ],
)
def test_from_type_after_the_setup_hook(cls: type) -> None:
    _hypothesis_setup_hook()

    @settings(max_examples=5)
    @given(st.from_type(cls))
    def check(value: object) -> None:
        assert isinstance(value, cls)

    check()


def test_strategies_import_first_in_a_fresh_interpreter() -> None:
    # hypothesis runs reqfulfill's entry-point hook while it is being imported; the hook
    # must not need the (then half-imported) strategies module
    import subprocess
    import sys

    code = (
        "import reqfulfill.testing.strategies as rs\n"
        "from hypothesis import strategies as st\n"
        "from reqfulfill import ServiceItem\n"
        "assert rs.catalogs() is not None\n"
        "assert isinstance(st.from_type(ServiceItem).example(), ServiceItem)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
