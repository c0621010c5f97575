"""The rule commands: check, explain and simulate, their output and exit status."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from reqfulfill.cli.rules import add_commands

DATA = Path(__file__).parent.parent / "data" / "rules"
CATALOG = str(DATA / "catalog.toml")
RULES = str(DATA / "rules.toml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="reqfulfill")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    status = args.func(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_check_clean_rules(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", CATALOG, RULES)
    assert status == 0
    assert "assignment 2, categorization 1, prioritization 2 rules" in out
    assert out.rstrip().endswith("0 error(s), 0 warning(s): ok")


def test_check_reports_lint_findings(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", CATALOG, str(DATA / "rules_lint.toml"), "--json")
    assert status == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert [(f["code"], f["rule"]) for f in report["findings"]] == [
        ("shadowed", "vip-phones"),
        ("never-true", "impossible"),
        ("unknown-path", "typo"),
        ("unknown-item", "typo"),
        ("unknown-group", "typo"),
    ]
    assert all(f["ruleset"] == "assignment" for f in report["findings"])


def test_check_reports_invalid_rules_with_paths(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", CATALOG, str(DATA / "rules_invalid.json"), "--json")
    assert status == 1
    problems = json.loads(out)["problems"]
    assert [(p["path"], p["value"]) for p in problems] == [
        ("assignment.rules[0].when.answers.cost", "gte"),
        ("assignment.rules[1].when.answers.r.regex", "(?=a)"),
    ]


def test_check_unreadable_input_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "check", CATALOG, str(DATA / "rules_syntax.json"))
    assert status == 2
    assert out == ""
    assert "rules_syntax.json:2: invalid JSON" in err
    status, _, err = run(capsys, "check", str(DATA / "nope.toml"), RULES)
    assert status == 2
    assert "nope.toml" in err


def test_explain_text(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "explain", CATALOG, RULES, str(DATA / "request.json"))
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "request: item iphone-15, channel portal, requester ann"
    assert lines[1] == (
        "assignment: group 'vip-desk' (strategy round_robin) by rule 'vip-phones': "
        "item.id == 'iphone-15' and requester.vip == True"
    )
    assert "priority 3 by rule 'vip-urgent'" in out


def test_explain_json_traces_misses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = json.loads((DATA / "request.json").read_text())
    request["requester"]["vip"] = False
    request["answers"]["cost"] = 300
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    status, out, _ = run(capsys, "explain", CATALOG, RULES, str(path), "--json")
    assert status == 0
    report = json.loads(out)
    assert report["routing"]["group"] == "desk"
    assert report["routing"]["assignment_rule"] == "item default"
    assert report["routing"]["priority"] == 4
    first = report["trace"]["assignment"][0]
    assert first == {
        "index": 0,
        "rule": "vip-phones",
        "matched": False,
        "failure": "requester.vip == True is false: requester.vip is False",
    }
    assert report["trace"]["categorization"][0]["failure"] == (
        "answers.cost > 1000 is false: answers.cost is 300"
    )


def test_explain_bad_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "request.json"
    path.write_text(
        '{"requester": {"id": "x", "name": "X", "department": 5, "location": "L"},\n'
        ' "item": "nope", "colour": 1}'
    )
    status, _, err = run(capsys, "explain", CATALOG, RULES, str(path))
    assert status == 2
    assert "requester.department" in err
    assert "unknown item 'nope'" in err
    assert "colour: unknown key" in err


def test_simulate_reports_changes(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", CATALOG, RULES, str(DATA / "rules_new.toml"), str(DATA / "requests.jsonl")]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert out.splitlines() == [
        "REQ-2: impact 'low' -> 'medium' (rule 'item default' -> 'sales-phones'); "
        "priority 4 -> 3 (rule 'item default' -> 'sales-phones')",
        "line 5: group 'network' -> 'vip-desk' (rule 'item default' -> 'vip-all'); "
        "strategy 'queue' -> 'round_robin' (rule 'item default' -> 'vip-all')",
        "4 request(s) simulated, 2 would change (group 1, impact 1, priority 1, strategy 1)",
    ]
    status, out, _ = run(capsys, *argv, "--fail-on-change", "--json", "--limit", "2")
    assert status == 1
    report = json.loads(out)
    assert (report["requests"], report["changed"]) == (2, 1)
    assert report["changes"][0]["id"] == "REQ-2"
    assert report["changes"][0]["changes"]["priority"] == {
        "old": 4,
        "new": 3,
        "old_rule": "item default",
        "new_rule": "sales-phones",
    }


def test_simulate_no_change_passes_fail_on_change(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", CATALOG, RULES, RULES, str(DATA / "requests.jsonl"), "--fail-on-change"]
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert out.strip() == "4 request(s) simulated, 0 would change"


def test_simulate_bad_line_names_file_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", CATALOG, RULES, RULES, str(DATA / "requests_bad.jsonl")]
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert "requests_bad.jsonl:2:" in err
    assert "unknown channel" in err


def test_simulate_rejects_bad_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run(capsys, "simulate", CATALOG, RULES, RULES, "x.jsonl", "--limit", "0")
    assert info.value.code == 2


def test_main_cli_wires_the_rule_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reqfulfill", "check", CATALOG, str(DATA / "rules_lint.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "[shadowed]" in done.stdout
