"""examples/rules: the rule author's walkthrough runs as its README says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reqfulfill.cli import main

HERE = Path(__file__).parents[2] / "examples"
CATALOG = str(HERE / "catalog.toml")
RULES = HERE / "rules"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(list(args))
    return status, capsys.readouterr().out


def test_check(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "check", CATALOG, str(RULES / "rules.toml"))
    assert status == 0
    assert "0 error(s)" in out


def test_explain_names_the_deciding_rules(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(
        capsys, "explain", CATALOG, str(RULES / "rules.toml"), str(RULES / "request.json")
    )
    assert status == 0
    assert "by rule 'vip phones to level 2'" in out
    assert "by rule 'expensive phones'" in out


def test_simulate_reports_the_changes_the_readme_promises(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = (
        "simulate",
        CATALOG,
        str(RULES / "rules.toml"),
        str(RULES / "rules_new.toml"),
        str(RULES / "requests.jsonl"),
    )
    status, out = run(capsys, *args, "--json")
    assert status == 0
    report = json.loads(out)
    assert report["requests"] == 4
    assert report["changed"] == 2
    by_id = {c["id"]: c["changes"] for c in report["changes"]}
    assert set(by_id) == {"REQ-101", "REQ-102"}
    assert by_id["REQ-101"]["group"]["new"] == "desk-l2"
    assert by_id["REQ-102"]["urgency"]["new"] == "medium"
    assert run(capsys, *args, "--fail-on-change")[0] == 1
