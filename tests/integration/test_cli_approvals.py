"""``reqfulfill check`` validates approval policies; ``reqfulfill diagram plan`` draws an
item's approval stages before its plan (issue 17)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from reqfulfill.cli import diagram, rules

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULES = str(Path(__file__).parent.parent / "data" / "rules" / "rules.toml")


def _catalog(tmp_path: Path, text: str | None = None) -> str:
    """The laptop catalog of docs/approvals.md (its CATALOG block), as a file."""
    page = (DOCS / "approvals.md").read_text(encoding="utf-8")
    found = re.search(r"CATALOG = '''\n(.*?)'''", page, re.DOTALL)
    assert found is not None
    path = tmp_path / "catalog.toml"
    path.write_text(text if text is not None else found.group(1), encoding="utf-8")
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], module: object, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="reqfulfill")
    module.add_commands(parser.add_subparsers(dest="command", required=True))  # type: ignore[attr-defined]
    args = parser.parse_args(list(argv))
    status = args.func(args)
    return status, capsys.readouterr().out


def test_check_counts_the_policies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = _run(capsys, rules, "check", _catalog(tmp_path), RULES, "--json")
    problems = json.loads(out)["problems"]
    assert not [p for p in problems if p["path"].startswith(("approval", "items"))]
    _, out = _run(capsys, rules, "check", _catalog(tmp_path), RULES)
    assert "1 approval policies" in out


def test_check_names_every_bad_policy_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (DOCS / "approvals.md").read_text(encoding="utf-8")
    text = re.search(r"CATALOG = '''\n(.*?)'''", page, re.DOTALL)
    assert text is not None
    bad = (
        text.group(1)
        .replace('mode = "quorum"', 'mode = "all"')
        .replace('key = "finance"', 'key = "manager"')
    )
    status, out = _run(capsys, rules, "check", _catalog(tmp_path, bad), RULES, "--json")
    assert status == 1
    paths = [p["path"] for p in json.loads(out)["problems"]]
    assert "approval_policies[0].stages[1].quorum" in paths
    assert "approval_policies[0].stages[1].key" in paths


def test_diagram_plan_draws_the_stages_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _run(capsys, diagram, "diagram", "plan", _catalog(tmp_path), "laptop-pro")
    assert status == 0
    lines = out.splitlines()
    assert "    start --> a0" in lines
    assert "    a0 -.-> a1" in lines  # the finance stage is conditional
    assert "    a1 -.-> t0" in lines
    assert lines.index("    start --> a0") < lines.index("    a1 -.-> t0")
    assert "approval: finance" in out
    assert "2 of them" in out
