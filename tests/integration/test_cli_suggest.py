"""``reqfulfill suggest`` and ``reqfulfill suggest-eval`` on the shipped examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reqfulfill.cli import main

INTAKE = Path(__file__).parents[2] / "examples" / "intake"
CATALOG = str(INTAKE / "catalog.toml")
LABELLED = str(INTAKE / "labelled.jsonl")
# the demo catalog as a file (tests/integration/test_intake_labelled.py checks that)
DEMO_CATALOG = str(INTAKE.parent / "catalog.toml")
DEMO_LABELLED = str(INTAKE / "labelled-demo.jsonl")


def test_suggest_prints_items_with_confidence_and_terms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest", CATALOG, "Mein Diensthandy ist kaputt"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.split()[1] == "iphone-15"
    assert "(diensthandy)" in first
    assert 0.5 < float(first.split()[0]) <= 1


def test_suggest_says_when_nothing_fits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest", CATALOG, "is the canteen open?"]) == 0
    assert capsys.readouterr().out.startswith("no suggestion")


def test_suggest_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest", CATALOG, "new laptop please", "-k", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["item"] == "laptop"
    assert set(rows[0]) == {"item", "confidence", "score", "terms"}
    assert len(rows) <= 2


def test_suggest_eval_prints_precision_and_thresholds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest-eval", CATALOG, LABELLED]) == 0
    out = capsys.readouterr().out
    assert "messages: 218 (199 about a catalog item)" in out
    assert "precision at 1: 0.930" in out
    assert "precision at 3: 0.990" in out
    assert "     0.85         67.0%     0.5%" in out


def test_suggest_eval_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["suggest-eval", CATALOG, LABELLED, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["messages"] == 218
    assert [row["threshold"] for row in data["thresholds"]][:2] == [0.5, 0.6]


def test_suggest_eval_on_the_demo_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    # the figures docs/intake.md gives for the demo catalog
    assert main(["suggest-eval", DEMO_CATALOG, DEMO_LABELLED]) == 0
    out = capsys.readouterr().out
    assert "messages: 218 (81 about a catalog item)" in out
    assert "precision at 1: 1.000" in out
    assert "     0.85         32.1%     1.4%" in out
