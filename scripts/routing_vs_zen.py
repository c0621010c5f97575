"""``Rules.route`` against zen-engine's static loader, side by side, in one process.

The rules, requests and the zen decision graph are those of
``benchmarks/routing.py`` (100 / 1,000 / 10,000 first-hit rules and the
priority table); zen-engine runs with its static loader (the graph compiled
once, the fastest documented mode). Each round times one pass of every
contender at every size, alternated, on CPU time (``time.process_time``), so
load on a shared machine slows them alike; the medians are printed as
decisions/s, reqfulfill / zen, and reqfulfill at each size against itself at
100 rules::

    PYTHONPATH=src python scripts/routing_vs_zen.py [--rounds 9] [--requests 4000]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import zen

from reqfulfill.rules import Rules

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "routing.py"


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location("routing_benchmark", BENCHMARK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _contenders(bench: ModuleType, size: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    data = bench.routing_rules(size)
    rules = Rules.from_dict(
        {"assignment": {"rules": data}, "prioritization": {"rules": bench.PRIORITY_RULES}}
    )
    static = {"type": "static", "content": {"routing": bench.zen_graph(data)}}
    engine = zen.ZenEngine({"loader": static})

    def ours(facts: dict[str, Any]) -> tuple[Any, ...]:
        routed = rules.route(facts, item=None)
        impact, urgency = routed.impact, routed.urgency
        return (routed.group, impact and impact.value, urgency and urgency.value)

    def theirs(facts: dict[str, Any]) -> tuple[Any, ...]:
        result = engine.evaluate("routing", facts)["result"]
        return (result.get("group"), result.get("impact"), result.get("urgency"))

    return ours, theirs


def _pass(decide: Callable[..., Any], facts: Sequence[dict[str, Any]]) -> float:
    gc.disable()
    try:
        start = time.process_time()
        for one in facts:
            decide(one)
        return (time.process_time() - start) / len(facts)
    finally:
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args(argv)
    bench = _benchmark()
    work = []
    for size in bench.SIZES:
        ours, theirs = _contenders(bench, size)
        facts = bench.requests(args.requests, bench.routing_rules(size))
        check = facts[:300]
        if [ours(f) for f in check] != [theirs(f) for f in check]:
            raise SystemExit(f"reqfulfill and zen-engine disagree at {size} rules")
        work.append((size, ours, theirs, facts))
    times: dict[tuple[int, str], list[float]] = {}
    for _ in range(args.rounds):
        for size, ours, theirs, facts in work:
            times.setdefault((size, "reqfulfill"), []).append(_pass(ours, facts))
            times.setdefault((size, "zen"), []).append(_pass(theirs, facts[: len(facts) // 4]))
    median = {key: statistics.median(values) for key, values in times.items()}
    first = median[bench.SIZES[0], "reqfulfill"]
    print(f"{'rules':>6} {'reqfulfill/s':>13} {'zen static/s':>13} {'ratio':>6} {'vs 100':>7}")
    for size in bench.SIZES:
        ours_s, zen_s = median[size, "reqfulfill"], median[size, "zen"]
        print(
            f"{size:>6} {1 / ours_s:>13,.0f} {1 / zen_s:>13,.0f} {zen_s / ours_s:>6.2f} "
            f"{ours_s / first:>7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
