"""Business-calendar arithmetic: cost per call of ``add`` and ``between`` by span length.

The calendar's arithmetic jumps whole weeks and bisects holidays, so a
year-long span should cost about what a day costs (the design target is a
year/day ratio under 3). Run ``python benchmarks/sla_calendar.py [--quick]``.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from reqfulfill.sla import BusinessCalendar

# Calendar span -> (wall-clock span for between, business time for add on Mon-Fri 8h days)
SPANS: dict[str, tuple[timedelta, timedelta]] = {
    "day": (timedelta(days=1), timedelta(hours=8)),
    "month": (timedelta(days=30), timedelta(hours=8 * 21)),
    "year": (timedelta(days=365), timedelta(hours=8 * 250)),
}


def _calendar() -> BusinessCalendar:
    try:
        return BusinessCalendar.for_country("FI", years=range(2024, 2030))
    except ImportError:  # the holidays extra is optional
        return BusinessCalendar()


def _time(call: Callable[[], object], calls: int, rounds: int) -> list[float]:
    call()  # warm the zone's transition cache
    per_call = []
    for _ in range(rounds):
        began = time.perf_counter()
        for _ in range(calls):
            call()
        per_call.append((time.perf_counter() - began) / calls)
    return per_call


def run(quick: bool = False) -> list[dict[str, Any]]:
    """One row per (operation, span): ops per second, median seconds per call, spread, ratio.

    ``spread`` is (max - min) / median over the rounds; ``ratio`` is the median
    divided by the same operation's median on a one-day span.
    """
    calendar = _calendar()
    rng = random.Random(6)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    starts = [base + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(64)]
    calls, rounds = (200, 5) if quick else (2_000, 15)
    rows: list[dict[str, Any]] = []
    for operation in ("add", "between"):
        day_median = None
        for size, (span, budget) in SPANS.items():
            index = 0

            def call(
                op: str = operation, span: timedelta = span, budget: timedelta = budget
            ) -> object:
                nonlocal index
                index = (index + 1) % len(starts)
                start = starts[index]
                if op == "add":
                    return calendar.add(start, budget)
                return calendar.between(start, start + span)

            samples = _time(call, calls, rounds)
            median = statistics.median(samples)
            day_median = day_median or median
            rows.append(
                {
                    "benchmark": f"calendar.{operation}",
                    "size": size,
                    "impl": "reqfulfill",
                    "ops_per_s": 1.0 / median,
                    "median_s": median,
                    "spread": (max(samples) - min(samples)) / median,
                    "ratio": median / day_median,
                }
            )
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    head = f"{'benchmark':<20} {'size':<6} {'impl':<11} {'ops/s':>10} {'median':>10} "
    head += f"{'spread':>7} {'ratio':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['benchmark']:<20} {r['size']:<6} {r['impl']:<11} {r['ops_per_s']:>10,.0f} "
            f"{r['median_s'] * 1e6:>8.2f}µs {r['spread']:>7.0%} {r['ratio']:>6.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    results = run(quick="--quick" in sys.argv[1:])
    print(_table(results))
    for op in ("add", "between"):
        year = next(
            r for r in results if r["benchmark"] == f"calendar.{op}" and r["size"] == "year"
        )
        print(f"{op}: year/day cost ratio {year['ratio']:.2f}")
