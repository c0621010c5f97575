"""Long commands draw progress on stderr only when it is a terminal, never with ``--json``.

A fake terminal (a ``StringIO`` whose ``isatty`` is true) stands for stderr.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from reqfulfill.cli import main
from reqfulfill.cli.progress import Progress, format_seconds, progress
from reqfulfill.demo import play_reference_scenario

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "rules"
SIMULATE = [
    "simulate",
    str(DATA / "catalog.toml"),
    str(DATA / "rules.toml"),
    str(DATA / "rules_new.toml"),
    str(DATA / "requests.jsonl"),
]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def as_terminal(monkeypatch: pytest.MonkeyPatch) -> FakeTerminal:
    """stderr as a terminal. Called in the test itself: pytest's capture sets
    ``sys.stderr`` again when the test starts, after the fixtures."""
    fake = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    return fake


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = tmp_path / "rf.db"
    service, _ = play_reference_scenario(f"sqlite:///{path}")
    service.store.close()
    return str(path)


def test_the_line_shows_done_total_rate_and_time_left() -> None:
    ticks = iter([0.0, 1.0, 1.05, 2.0, 4.0])
    out = FakeTerminal()
    with Progress(8, "work", stream=out, clock=lambda: next(ticks)) as shown:
        shown.advance(2)  # drawn at 1.0 s: 2/s, 3 s left
        shown.advance(2)  # 0.05 s later: too soon to redraw
        shown.advance(4)  # drawn at 2.0 s
    frames = out.getvalue().split("\r")[1:]
    assert frames[0] == "work: 2/8 (25%), 2.0/s, 3s left"
    assert frames[1].startswith("work: 8/8 (100%), 4.0/s")
    assert frames[2].endswith("\n")
    assert frames[2].rstrip() == "work: 8/8 done in 4s"


def test_nothing_is_drawn_off_a_terminal_or_when_turned_off() -> None:
    piped, terminal = io.StringIO(), FakeTerminal()
    assert list(progress([1, 2, 3], label="x", stream=piped)) == [1, 2, 3]
    assert list(progress([1, 2, 3], label="x", stream=terminal, enabled=False)) == [1, 2, 3]
    assert piped.getvalue() == terminal.getvalue() == ""


def test_an_interrupted_run_says_where_it_stopped() -> None:
    out = FakeTerminal()
    shown = Progress(None, "work", stream=out)
    shown.advance(3)
    shown.__exit__(KeyError, KeyError("boom"), None)
    assert out.getvalue().endswith("\n")
    assert out.getvalue().split("\r")[-1].rstrip() == "work: 3 stopped"


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (0, 59.4, 61, 3599, 3600, 90000)] == [
        "0s",
        "59s",
        "1m01s",
        "59m59s",
        "1h00m",
        "25h00m",
    ]


def test_simulate_shows_progress_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = as_terminal(monkeypatch)
    assert main(SIMULATE) == 0
    assert "4 request(s) simulated" in capsys.readouterr().out
    assert "simulate: 4/4 done in" in terminal.getvalue()


def test_simulate_json_and_piped_runs_show_nothing_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = as_terminal(monkeypatch)
    assert main([*SIMULATE, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["requests"] == 4
    assert terminal.getvalue() == ""


def test_report_shows_progress_on_a_terminal_only(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = as_terminal(monkeypatch)
    catalog = str(ROOT / "examples" / "catalog.toml")
    assert main(["report", catalog, store]) == 0
    assert "report: 1/1 done in" in terminal.getvalue()
    text = capsys.readouterr().out
    terminal.seek(0)
    terminal.truncate()
    assert main(["report", catalog, store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["key"] == "iphone-15"
    assert terminal.getvalue() == ""
    assert "report:" not in text


def test_report_off_a_terminal_writes_nothing_to_stderr(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(ROOT / "examples" / "catalog.toml"), store]) == 0
    assert capsys.readouterr().err == ""


def test_db_upgrade_shows_its_schema_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = as_terminal(monkeypatch)
    from reqfulfill.stores.sqlite import SCHEMA_VERSION

    assert main(["db", "upgrade", str(tmp_path / "new.db")]) == 0
    drawn = terminal.getvalue()
    assert f"schema 0 -> {SCHEMA_VERSION}: {SCHEMA_VERSION}/{SCHEMA_VERSION} done" in drawn
    assert capsys.readouterr().out.strip().endswith(f"schema version {SCHEMA_VERSION}")
    terminal.seek(0)
    terminal.truncate()
    assert main(["db", "upgrade", "--json", str(tmp_path / "new.db")]) == 0
    assert terminal.getvalue() == ""
