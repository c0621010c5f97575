from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reqfulfill import Catalog, TaskKind, ValidationError
from reqfulfill.testing import DEMO_CATALOG, demo_catalog


def data() -> dict:  # type: ignore[type-arg]
    return copy.deepcopy(DEMO_CATALOG)


def test_demo_catalog_round_trips() -> None:
    catalog = demo_catalog()
    assert Catalog.from_dict(catalog.to_dict()) == catalog
    assert catalog.plan("mobile-phone").task("order").kind is TaskKind.STOCK_OR_ORDER


def test_unknown_group_names_path_and_value() -> None:
    d = data()
    d["items"][2]["group"] = "desk-l9"
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(d)
    assert "items[2].group: unknown group 'desk-l9'" in str(info.value)
    assert info.value.problems[0].value == "desk-l9"


def test_all_problems_reported_at_once() -> None:
    d = data()
    d["items"][0]["impact"] = "huge"
    d["items"][1]["name"] = 5
    d["groups"][0]["bogus"] = True
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(d)
    paths = set(info.value.paths)
    assert {"items[0].impact", "items[1].name", "groups[0].bogus"} <= paths
    by_path = {p.path: p.value for p in info.value.problems}
    assert by_path["items[0].impact"] == "huge"
    assert by_path["items[1].name"] == 5


def test_no_silent_coercion() -> None:
    d = data()
    d["groups"][0]["members"] = "abc"
    d["items"][0]["physical"] = 1
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(d)
    assert set(info.value.paths) == {"groups[0].members", "items[0].physical"}


def test_missing_key_reported() -> None:
    d = data()
    del d["items"][0]["plan"]
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(d)
    assert info.value.paths == ["items[0].plan"]


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["items"][0].update(plan="nope"), "items[0].plan"),
        (lambda d: d["items"][0].update(supplier=None), "items[0].supplier"),
        (lambda d: d["plans"][0]["tasks"][0].update(after=["deliver"]), "plans[0].tasks[0].after"),
        (lambda d: d["plans"][0]["tasks"][1].update(after=["ghost"]), "plans[0].tasks[1].after[0]"),
        (lambda d: d["groups"][0].update(escalates_to="nobody"), "groups[0].escalates_to"),
        (lambda d: d.update(triage_group="nobody"), "triage_group"),
        (lambda d: d["items"].append(dict(d["items"][0])), "items[3].id"),
    ],
)
def test_cross_reference_problems(mutate, path: str) -> None:  # type: ignore[no-untyped-def]
    d = data()
    mutate(d)
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(d)
    assert path in info.value.paths


def test_cycle_is_reported() -> None:
    d = data()
    d["plans"][0]["tasks"][0]["after"] = ["deliver"]
    with pytest.raises(ValidationError, match="cycle: "):
        Catalog.from_dict(d)


def test_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(
        """
[[groups]]
id = "desk"
name = "Service Desk"
members = ["ann"]

[[plans]]
id = "p"
tasks = [{ key = "do", kind = "manual", title = "Do it" }]

[[items]]
id = "pw"
name = "Password reset"
category = "Access"
group = "desk"
impact = "low"
urgency = "high"
plan = "p"
requires_approval = false
"""
    )
    catalog = Catalog.from_toml(path)
    assert catalog.item("pw").requires_approval is False


def test_toml_syntax_error_is_validation_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[[items]\nid = ")
    with pytest.raises(ValidationError, match="invalid TOML"):
        Catalog.from_toml(path)


def test_events_round_trip_through_json() -> None:
    from reqfulfill import lifecycle
    from reqfulfill.demo import play_reference_scenario
    from reqfulfill.serialization import event_from_json, event_to_json

    service, request = play_reference_scenario()
    history = service.history(request.id)
    again = [event_from_json(event_to_json(e)) for e in history]
    assert again == history
    assert lifecycle.replay(again) == request
    assert type(again[-1]).__name__ == "FeedbackRecorded"


def test_every_catalog_type_round_trips_on_its_own() -> None:
    from reqfulfill import PlanTemplate, Requester, ServiceItem, SupportGroup, TaskTemplate

    catalog = demo_catalog()
    item, group, plan = catalog.items[0], catalog.groups[0], catalog.plans[0]
    assert ServiceItem.from_dict(item.to_dict()) == item
    assert SupportGroup.from_dict(group.to_dict()) == group
    assert PlanTemplate.from_dict(plan.to_dict()) == plan
    assert TaskTemplate.from_dict(plan.tasks[0].to_dict()) == plan.tasks[0]
    erin = Requester("erin", "Erin", "Finance", "HQ", manager="max")
    assert Requester.from_dict(erin.to_dict()) == erin
    with pytest.raises(ValidationError) as info:
        ServiceItem.from_dict({**item.to_dict(), "impact": "huge", "extra": 1})
    assert set(info.value.paths) == {"impact", "extra"}


def test_none_inside_free_form_data_survives_the_round_trip() -> None:
    d = data()
    d["items"][0]["attributes"]["warranty"] = None
    catalog = Catalog.from_dict(d)
    assert catalog.to_dict()["items"][0]["attributes"] == {"cost": 899, "warranty": None}
    assert Catalog.from_dict(catalog.to_dict()) == catalog
    assert "supplier" not in catalog.to_dict()["items"][1]  # None fields are left out


def test_reference_problems_are_reported_with_type_problems() -> None:
    d = data()
    d["items"][0]["impact"] = "huge"
    d["items"][2]["group"] = "desk-l9"
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(d)
    assert set(info.value.paths) == {"items[0].impact", "items[2].group"}


def test_the_serialization_functions_are_what_the_catalog_methods_do(tmp_path: Path) -> None:
    from reqfulfill.serialization import catalog_from_dict, load_catalog

    assert catalog_from_dict(DEMO_CATALOG) == Catalog.from_dict(DEMO_CATALOG) == demo_catalog()
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(DEMO_CATALOG), encoding="utf-8")
    assert load_catalog(path) == Catalog.from_toml(path) == demo_catalog()
    d = data()
    d["items"][2]["group"] = "desk-l9"
    with pytest.raises(ValidationError, match=r"^catalog\.json: items\[2\]\.group: unknown"):
        catalog_from_dict(d, source="catalog.json")


def test_when_conditions_are_checked_where_the_catalog_is_loaded() -> None:
    d = data()
    d["plans"][0]["tasks"][0]["when"] = {"answers.x": {"regex": "(a)\\1"}, "nowhere.y": 1}
    with pytest.raises(ValidationError) as info:
        Catalog.from_dict(d)
    assert info.value.paths == [
        "plans[0].tasks[0].when.answers.x.regex",
        "plans[0].tasks[0].when.nowhere.y",
    ]
    from reqfulfill.serialization.config import structure_config

    catalog = structure_config(d, Catalog)  # the types are fine: only the rule language objects
    assert catalog.problems() == []
    from reqfulfill.rules import condition_problems

    assert catalog.problems(condition_problems) == list(info.value.problems)


def test_the_catalog_methods_work_after_importing_only_the_model() -> None:
    code = (
        "from reqfulfill.model.catalog import Catalog\n"
        "from reqfulfill.testing import DEMO_CATALOG\n"
        "catalog = Catalog.from_dict(DEMO_CATALOG)\n"
        "assert Catalog.from_dict(catalog.to_dict()) == catalog\n"
        "print(len(catalog.items))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(DEMO_CATALOG["items"]))
