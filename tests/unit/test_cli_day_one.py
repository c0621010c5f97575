"""Day-one command-line details: ``--version``, help texts, ``db upgrade`` with a bare
path, and the demo's timeline in words for every event type."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_event_codec import instances_of

import reqfulfill
from reqfulfill.cli import build_parser, main
from reqfulfill.demo import describe
from reqfulfill.model import events as ev
from reqfulfill.stores.sqlite import SCHEMA_VERSION


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"reqfulfill {reqfulfill.__version__}"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["report", "--help"], ["SLA attainment", "--by", "support group or agent", "STORE"]),
        (["db", "--help"], ["db upgrade STORE", "upgrade"]),
        (["db", "upgrade", "--help"], ["SQLite file path", "examples:"]),
    ],
)
def test_help_says_what_each_command_and_option_does(
    argv: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    for word in words:
        assert word in out


def test_every_option_has_help() -> None:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest != "help" and action.nargs != argparse.PARSER:
                assert action.help, f"{name} {action.dest} has no help"


def test_db_upgrade_takes_a_bare_path_as_report_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.db"
    assert main(["db", "upgrade", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"schema version {SCHEMA_VERSION}")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT max(version) FROM rf_schema").fetchone() == (SCHEMA_VERSION,)


@pytest.mark.parametrize("name", sorted(ev.EVENT_TYPES))
@settings(max_examples=5, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_is_told_in_words(name: str, data: st.DataObject) -> None:
    event = data.draw(instances_of(ev.EVENT_TYPES[name]))
    text = describe(event)
    assert text != event.type
    assert name not in text
