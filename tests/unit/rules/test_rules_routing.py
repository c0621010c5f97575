"""Rules.route: rule decisions, item defaults and the priority matrix."""

from __future__ import annotations

import copy

import pytest

from reqfulfill.model.catalog import Requester, ServiceItem
from reqfulfill.model.enums import Channel, Impact, Priority, Urgency
from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import ITEM_DEFAULT, PriorityMatrix, Routing, Rules, build_facts

PHONE = ServiceItem(
    id="iphone-15",
    name="iPhone 15",
    category="Hardware/Mobile",
    group="desk",
    impact=Impact.LOW,
    urgency=Urgency.MEDIUM,
    plan="phone",
    physical=True,
    supplier="acme",
    attributes={"cost": 900, "vendor": {"name": "Apple"}},
)
ANN = Requester("ann", "Ann", "Sales", "HEL", vip=True, manager="bob")

RULES = Rules.from_dict(
    {
        "assignment": {
            "rules": [
                {
                    "name": "vip-phones",
                    "when": {"item.id": "iphone-15", "requester.vip": True},
                    "then": {"group": "vip-desk", "strategy": "round_robin"},
                },
            ]
        },
        "categorization": {
            "rules": [{"name": "email", "when": {"channel": "email"}, "then": {"category": "Mail"}}]
        },
        "prioritization": {
            "rules": [
                {"name": "vip-impact", "when": {"requester.vip": True}, "then": {"impact": "high"}}
            ]
        },
    }
)


def facts(requester: Requester = ANN, channel: Channel = Channel.PORTAL) -> dict[str, object]:
    return build_facts(item=PHONE, requester=requester, channel=channel, answers={"n": 1})


def test_build_facts_flattens_enums_and_drops_none() -> None:
    built = build_facts(
        item=PHONE, requester=Requester("u", "U", "IT", "HEL"), channel=Channel.CHAT, answers={}
    )
    assert built["channel"] == "chat"
    item = built["item"]
    assert isinstance(item, dict)
    assert item["impact"] == "low"
    assert item["attributes"] == {"cost": 900, "vendor": {"name": "Apple"}}
    requester = built["requester"]
    assert isinstance(requester, dict)
    assert "manager" not in requester
    assert requester["vip"] is False
    assert "item" not in build_facts(item=None, requester=ANN, channel=Channel.EMAIL, answers={})


def test_route_rules_and_item_defaults() -> None:
    routing = RULES.route(facts(), item=PHONE)
    assert routing == Routing(
        group="vip-desk",
        strategy="round_robin",
        category="Hardware/Mobile",
        impact=Impact.HIGH,
        urgency=Urgency.MEDIUM,
        priority=Priority(2),
        assignment_rule="vip-phones",
        category_rule=ITEM_DEFAULT,
        priority_rule="vip-impact",
        assignment_reason="item.id == 'iphone-15' and requester.vip == True",
        category_reason="no rule matched; item default",
        priority_reason="requester.vip == True; urgency from item default",
    )


def test_route_without_rules_uses_item_and_matrix() -> None:
    plain = Requester("u", "U", "IT", "HEL")
    routing = Rules().route(facts(plain), item=PHONE)
    assert (routing.group, routing.strategy, routing.category) == (
        "desk",
        "queue",
        "Hardware/Mobile",
    )
    assert routing.priority is Priority(4)
    assert routing.assignment_rule == routing.priority_rule == ITEM_DEFAULT


def test_route_without_item_or_rule_decides_nothing() -> None:
    built = build_facts(item=None, requester=ANN, channel=Channel.EMAIL, answers={})
    routing = Rules().route(built, item=None)
    assert routing.group is None
    assert routing.assignment_rule is None
    assert routing.priority is None
    assert routing.priority_rule is None
    assert routing.category is None


def test_route_without_item_rule_gives_half_priority() -> None:
    built = build_facts(item=None, requester=ANN, channel=Channel.EMAIL, answers={})
    routing = RULES.route(built, item=None)
    assert routing.category == "Mail"
    assert routing.impact is Impact.HIGH
    assert routing.urgency is None
    assert routing.priority is None


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        (Impact.HIGH, Urgency.HIGH, 1),
        (Impact.HIGH, Urgency.MEDIUM, 2),
        (Impact.MEDIUM, Urgency.HIGH, 2),
        (Impact.HIGH, Urgency.LOW, 3),
        (Impact.MEDIUM, Urgency.MEDIUM, 3),
        (Impact.LOW, Urgency.HIGH, 3),
        (Impact.MEDIUM, Urgency.LOW, 4),
        (Impact.LOW, Urgency.MEDIUM, 4),
        (Impact.LOW, Urgency.LOW, 5),
    ],
)
def test_itil_matrix(impact: Impact, urgency: Urgency, priority: int) -> None:
    assert PriorityMatrix().priority(impact, urgency) == Priority(priority)


def test_bad_then_tables_name_their_path() -> None:
    with pytest.raises(ValidationError) as info:
        Rules.from_dict(
            {
                "assignment": {
                    "rules": [{"name": "a", "then": {"group": "g", "strategy": "fast"}}]
                },
                "prioritization": {"rules": [{"name": "p", "then": {"impact": "huge"}}]},
                "extra": 1,
            }
        )
    paths = {(p.path, p.value) for p in info.value.problems}
    assert ("assignment.rules[0].then.strategy", "fast") in paths
    assert ("prioritization.rules[0].then.impact", "huge") in paths
    assert ("extra", 1) in paths


def test_routing_is_immutable_and_compares_by_its_attributes() -> None:
    routed = RULES.route(facts(), item=PHONE)
    with pytest.raises(AttributeError):
        routed.group = "elsewhere"  # type: ignore[misc]
    same = Routing(*(getattr(routed, name) for name in Routing.__match_args__))
    assert routed == same
    assert hash(routed) == hash(same)
    assert routed != Routing(group="elsewhere")
    assert routed != (routed.group,)
    assert repr(routed).startswith("Routing(group='vip-desk', strategy='round_robin', ")
    assert copy.copy(routed) == copy.deepcopy(routed) == routed


def test_routing_words_its_reasons_from_the_deciding_rules() -> None:
    routed = RULES.route(facts(), item=PHONE)
    assert routed.assignment_reason == "item.id == 'iphone-15' and requester.vip == True"
    assert routed.priority_reason == "requester.vip == True; urgency from item default"
    # the same words however often they are read
    assert routed.assignment_reason == routed.assignment_reason
    match routed:
        case Routing(group, strategy):
            assert (group, strategy) == ("vip-desk", "round_robin")


def test_route_reads_each_indexed_fact_once() -> None:
    reads: list[str] = []

    class Counting(dict[str, object]):
        def get(self, key: str, default: object = None) -> object:
            reads.append(key)
            return super().get(key, default)

    RULES.route(Counting(facts()), item=PHONE)
    # item.id, requester.vip and channel are indexed by the three rule sets together
    assert sorted(reads) == ["channel", "item", "requester"]
