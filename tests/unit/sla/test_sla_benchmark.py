"""The calendar benchmark runs, reports every row, and cost does not grow with the span."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCHMARK = Path(__file__).parents[3] / "benchmarks" / "sla_calendar.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sla_calendar_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_every_span() -> None:
    rows = _load().run(quick=True)
    assert [(r["benchmark"], r["size"]) for r in rows] == [
        (op, size)
        for op in ("calendar.add", "calendar.between")
        for size in ("day", "month", "year")
    ]
    for row in rows:
        assert set(row) == {"benchmark", "size", "impl", "ops_per_s", "median_s", "spread", "ratio"}
        assert row["median_s"] > 0
        # A day-by-day walk would make a year ~365 times a day; allow plenty of noise.
        assert row["ratio"] < 20
