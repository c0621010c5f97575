"""The performance suite's own modules run in quick mode with tiny sizes.

Each module checks its answers before timing (a wrong answer raises), so a
passing run means the figures are of correct work; here we check the rows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# the benchmarks package lives at the project root, beside src/
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import footprint, lifecycle, regex, scale, stores, timers  # noqa: E402

COLUMNS = {"benchmark", "size", "impl", "ops_per_s", "median_s", "spread", "ratio"}


def _check(rows: list[dict[str, Any]], benchmarks: set[str]) -> None:
    assert rows
    for r in rows:
        assert set(r) >= COLUMNS, r
        assert r["checked"] is True
        assert r["median_s"] > 0
        assert r["spread"] >= 0
    assert {r["benchmark"] for r in rows} >= benchmarks


def test_lifecycle_quick() -> None:
    rows = lifecycle.run(quick=True, counts={"memory": 4, "sqlite": 3, "postgresql": 3})
    _check(rows, {"password-reset", "phone-worker"})
    assert {r["impl"] for r in rows} >= {"memory", "sqlite"}


def test_stores_quick() -> None:
    pytest.importorskip("eventsourcing")
    rows = stores.run(quick=True, requests=3)
    _check(rows, {"append"})
    assert {r["impl"] for r in rows} >= {"reqfulfill-sqlite", "eventsourcing-sqlite"}


def test_timers_quick() -> None:
    rows = timers.run(quick=True, sizes=(200, 2_000))
    _check(rows, {"timers-none-due", "timers-10-due"})


def test_footprint_quick() -> None:
    rows = footprint.run(quick=True)
    _check(rows, {"import", "memory-per-request"})
    assert next(r for r in rows if r["benchmark"] == "memory-per-request")["bytes"] > 0


def test_scale_quick() -> None:
    rows = scale.run(quick=True, parts=("replay", "routing"))
    _check(rows, {"replay", "routing"})


def test_regex_quick() -> None:
    rows = regex.run(quick=True, sizes=(500, 1_000))
    _check(rows, {"regex"})
    assert {r["impl"] for r in rows} >= {"(a+)+$", "a{0,999}a{0,999}b"}
    assert any(r["impl"].startswith("budget:") for r in rows)


def test_main_lists_the_modules() -> None:
    from benchmarks.__main__ import _modules

    assert {"lifecycle", "stores", "timers", "footprint", "scale", "regex"} <= set(_modules())
