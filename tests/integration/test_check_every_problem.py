"""``reqfulfill check`` reports every problem of every file in one run: a problem that
stops a file from loading no longer hides the others (nor the rules' lint findings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reqfulfill.cli import main
from reqfulfill.model.catalog import Catalog
from reqfulfill.model.errors import ValidationError
from reqfulfill.rules import Rules
from reqfulfill.sla import SlaPolicy
from reqfulfill.testing import demo_catalog

DATA = Path(__file__).parent.parent / "data" / "rules"


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    status = main(["check", *argv, "--json"])
    return status, json.loads(capsys.readouterr().out)


def paths(report: dict[str, Any], source: str) -> list[str]:
    return [p["path"] for p in report["problems"] if p["source"] == source]


def bad_catalog() -> dict[str, Any]:
    data = demo_catalog().to_dict()
    plan = data["plans"][0]
    plan["tasks"][0]["kind"] = "telepathy"  # a type problem: used to stop everything
    plan["tasks"][1]["after"] = ["no-such-task"]  # a reference problem
    data["groups"][0]["escalates_to"] = "ghosts"  # another
    data["items"][0]["impact"] = 3  # another type problem
    data["items"][1]["colour"] = "red"  # an unknown key
    return data


def test_an_invalid_task_kind_no_longer_hides_a_bad_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = write(tmp_path, "catalog.json", bad_catalog())
    status, report = check(capsys, catalog, str(DATA / "rules.toml"))
    assert status == 1
    assert sorted(paths(report, catalog)) == [
        "groups[0].escalates_to",
        "items[0].impact",
        "items[1].colour",
        "plans[0].tasks[0].kind",
        "plans[0].tasks[1].after[0]",
    ]
    # and the library says the same
    with pytest.raises(ValidationError) as raised:
        Catalog.from_dict(bad_catalog())
    assert len(raised.value.problems) == 5


def test_a_duplicate_rule_name_no_longer_hides_lint_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write(
        tmp_path,
        "rules.json",
        {
            "assignment": {
                "rules": [
                    {"name": "desk", "then": {"group": "desk"}},
                    {"name": "desk", "then": {"group": "vip-desk"}},  # duplicate name
                    {"name": "ghost", "then": {"group": "no-such-group"}},  # lint: unknown
                ]
            },
            "prioritization": {"rules": [{"name": "p", "then": {"impact": "huge"}}]},
        },
    )
    status, report = check(capsys, str(DATA / "catalog.toml"), rules)
    assert status == 1
    assert paths(report, rules) == [
        "assignment.rules[1].name",
        "prioritization.rules[0].then.impact",
    ]
    codes = {(f["code"], f["rule"]) for f in report["findings"]}
    assert ("unknown-group", "ghost") in codes
    assert ("duplicate", "ghost") in codes  # the same (empty) condition as 'desk' before it


def test_sla_problems_are_reported_together_with_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sla = write(
        tmp_path,
        "sla.json",
        {
            "targets": {"1": "999d", "3": "0bd", "9": "4h"},
            "calendar": {"timezone": "Mars/Olympus", "hours": {"mon": ["9-5"]}},
            "escalation": [{"at": 0.5, "action": "notify"}, {"at": 0.5, "action": "notify"}],
            "colour": "red",
        },
    )
    status, report = check(
        capsys, str(DATA / "catalog.toml"), str(DATA / "rules.toml"), "--sla", sla
    )
    assert status == 1
    assert sorted(paths(report, sla)) == [
        "calendar.hours.mon[0]",
        "calendar.timezone",
        "colour",
        "escalation[1]",
        "targets.1",
        "targets.3",
        "targets.9",
    ]


def test_clean_files_check_clean(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).parents[2] / "examples"
    status, report = check(
        capsys,
        str(root / "catalog.toml"),
        str(root / "rules" / "rules.toml"),
        "--sla",
        str(root / "sla.toml"),
    )
    assert (status, report["problems"]) == (0, [])


def test_rules_and_policies_with_several_problems_list_them_all() -> None:
    with pytest.raises(ValidationError) as raised:
        Rules.from_dict(
            {
                "assignment": {"rules": [{"name": "a", "when": {"x": 1}, "then": {}}]},
                "categorization": {"hit_policy": "last", "rules": [{"name": 5}]},
                "extra": 1,
            }
        )
    assert len(raised.value.problems) >= 4
    with pytest.raises(ValidationError) as raised:
        SlaPolicy.from_dict({"targets": {"1": "999d"}, "pause_in": ["nap"]})
    assert sorted(raised.value.paths) == ["pause_in[0]", "targets.1"]
