"""Routing benchmark: reqfulfill's indexed rules against zen-engine and a naive scan.

Synthetic routing tables of 100 / 1,000 / 10,000 first-hit rules (5,000
items, 50 departments, 30 locations, 4 channels, some numeric ranges on
``answers.cost``, a catch-all last) plus a small prioritization table. Each
implementation decides (group, impact, urgency) for the same requests:

* ``reqfulfill`` -- ``Rules.route(facts, item=None)`` (compiled, indexed);
* ``naive-scan`` -- the same compiled conditions tried one by one in order;
* ``zen-engine/static``, ``zen-engine/content``, ``zen-engine/decision`` --
  zen-engine on a JDM graph of two first-hit decision tables (routing +
  priority), in three modes (see :func:`zen_impls`; the ``impl`` name carries
  the mode). ``static`` is its fastest documented mode: the static loader
  compiles the graph once and keeps it. (An earlier version of this file gave
  zen-engine a Python callable returning the JSON text, which made it fetch and
  parse the whole graph on every ``evaluate``: not its fastest mode.)

All implementations must return the same decisions before anything is timed.
``run()`` returns rows ``{benchmark, size, impl, ops_per_s, median_s, spread,
ratio}``: ``median_s`` is the median time of one decision over the repeats,
``spread`` is (max - min) / median of those repeats, and ``ratio`` is
reqfulfill's speed divided by the row's (so ``ratio`` 10 means reqfulfill is
ten times faster; reqfulfill's own row is 1). The ``scaling`` rows compare
reqfulfill at each size with itself at 100 rules (time ratio, lower is
better): ``reqfulfill`` is the whole ``route``, ``decide`` the assignment
``RuleSet.decide`` alone; the ``compile`` rows time building the rule set.

Run: ``python benchmarks/routing.py [--quick]`` (zen-engine is optional:
``pip install zen-engine``; without it its rows are left out).
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from reqfulfill.rules import Rule, Rules, RuleSet
from reqfulfill.rules._conditions import predicate

SIZES = (100, 1_000, 10_000)
ITEMS = [f"item-{i:04d}" for i in range(5_000)]
DEPARTMENTS = [f"dept-{i:02d}" for i in range(50)]
LOCATIONS = [f"loc-{i:02d}" for i in range(30)]
CHANNELS = ["portal", "email", "phone", "chat"]
GROUPS = [f"group-{i:03d}" for i in range(200)]

Decision = tuple[str | None, str | None, str | None]


# -- synthetic data -----------------------------------------------------------------


def routing_rules(size: int, seed: int = 7) -> list[dict[str, Any]]:
    """``size`` first-hit routing rules in data form; the last is a catch-all."""
    rng = random.Random(seed)
    rules: list[dict[str, Any]] = []
    for index in range(size - 1):
        roll = rng.random()
        when: dict[str, Any]
        if roll < 0.55:
            when = {"item.id": rng.choice(ITEMS)}
            if rng.random() < 0.3:
                when["channel"] = rng.choice(CHANNELS)
        elif roll < 0.70:
            when = {"item.id": rng.sample(ITEMS, 2), "requester.vip": True}
        elif roll < 0.80:
            low = rng.randrange(0, 2_000, 100)
            when = {"item.id": rng.choice(ITEMS), "answers.cost": {"ge": low, "lt": low + 500}}
        elif roll < 0.95:
            when = {
                "requester.department": rng.choice(DEPARTMENTS),
                "requester.location": rng.choice(LOCATIONS),
            }
        else:
            when = {
                "requester.department": rng.choice(DEPARTMENTS),
                "requester.location": rng.choice(LOCATIONS),
                "answers.cost": {"ge": rng.randrange(500, 3_000, 250)},
            }
        rules.append({"name": f"r{index}", "when": when, "then": {"group": rng.choice(GROUPS)}})
    rules.append({"name": "catch-all", "when": {}, "then": {"group": "service-desk"}})
    return rules


PRIORITY_RULES: list[dict[str, Any]] = [
    {
        "name": "vip-chat",
        "when": {"requester.vip": True, "channel": ["chat", "phone"]},
        "then": {"impact": "high", "urgency": "high"},
    },
    {
        "name": "vip",
        "when": {"requester.vip": True},
        "then": {"impact": "high", "urgency": "medium"},
    },
    {
        "name": "expensive",
        "when": {"answers.cost": {"ge": 2_000}},
        "then": {"impact": "medium", "urgency": "medium"},
    },
    {
        "name": "mid-phone",
        "when": {"answers.cost": {"ge": 500, "lt": 2_000}, "channel": "phone"},
        "then": {"impact": "medium", "urgency": "high"},
    },
    {"name": "email", "when": {"channel": "email"}, "then": {"impact": "low", "urgency": "low"}},
    {"name": "default", "when": {}, "then": {"impact": "low", "urgency": "medium"}},
]


def requests(count: int, rules: Sequence[dict[str, Any]], seed: int = 11) -> list[dict[str, Any]]:
    """Facts of ``count`` requests; half order an item some rule names."""
    rng = random.Random(seed)
    named = [
        item
        for rule in rules
        for value in [rule["when"].get("item.id")]
        if value is not None
        for item in (value if isinstance(value, list) else [value])
    ]
    out = []
    for _ in range(count):
        item = rng.choice(named) if named and rng.random() < 0.5 else rng.choice(ITEMS)
        out.append(
            {
                "item": {"id": item},
                "requester": {
                    "id": f"u{rng.randrange(10_000)}",
                    "department": rng.choice(DEPARTMENTS),
                    "location": rng.choice(LOCATIONS),
                    "vip": rng.random() < 0.1,
                },
                "channel": rng.choice(CHANNELS),
                "answers": {"cost": rng.randrange(0, 3_000)},
            }
        )
    return out


# -- implementations -----------------------------------------------------------------


def reqfulfill_impl(routing: list[dict[str, Any]]) -> Callable[[dict[str, Any]], Decision]:
    rules = Rules.from_dict(
        {"assignment": {"rules": routing}, "prioritization": {"rules": PRIORITY_RULES}}
    )

    def decide(facts: dict[str, Any]) -> Decision:
        routed = rules.route(facts, item=None)
        return (
            routed.group,
            routed.impact.value if routed.impact else None,
            routed.urgency.value if routed.urgency else None,
        )

    return decide


def naive_impl(routing: list[dict[str, Any]]) -> Callable[[dict[str, Any]], Decision]:
    def scan_table(data: list[dict[str, Any]]) -> list[tuple[Callable[[Any], bool], Any]]:
        ruleset = RuleSet([Rule(r["name"], r["when"], r["then"]) for r in data])
        return [
            (predicate(node), rule.then)
            for node, rule in zip(ruleset.conditions, ruleset.rules, strict=True)
        ]

    route, prio = scan_table(routing), scan_table(PRIORITY_RULES)

    def first(table: list[tuple[Callable[[Any], bool], Any]], facts: dict[str, Any]) -> Any:
        for test, then in table:
            if test(facts):
                return then
        return None

    def decide(facts: dict[str, Any]) -> Decision:
        group = first(route, facts)
        level = first(prio, facts)
        return (
            group["group"] if group else None,
            level.get("impact") if level else None,
            level.get("urgency") if level else None,
        )

    return decide


_ZEN_COLUMNS = [
    ("item.id", "Item"),
    ("requester.department", "Department"),
    ("requester.location", "Location"),
    ("requester.vip", "VIP"),
    ("channel", "Channel"),
    ("answers.cost", "Cost"),
]


def _zen_cell(expected: Any) -> str:
    """A zen unary expression for one of our condition values."""
    if isinstance(expected, bool):
        return "true" if expected else "false"
    if isinstance(expected, str):
        return json.dumps(expected)
    if isinstance(expected, list):
        return ", ".join(_zen_cell(v) for v in expected)
    if isinstance(expected, dict):
        low, high = expected.get("ge"), expected.get("lt")
        if low is not None and high is not None:
            return f"[{low}..{high})"
        if low is not None:
            return f">= {low}"
        return f"< {high}"
    return json.dumps(expected)


def _zen_table(node_id: str, data: list[dict[str, Any]], outputs: list[str]) -> dict[str, Any]:
    inputs = [
        {"id": f"in{i}", "name": name, "field": field, "type": "expression"}
        for i, (field, name) in enumerate(_ZEN_COLUMNS)
    ]
    rows = []
    for index, rule in enumerate(data):
        row: dict[str, str] = {"_id": f"{node_id}-{index}"}
        for i, (field, _) in enumerate(_ZEN_COLUMNS):
            row[f"in{i}"] = _zen_cell(rule["when"][field]) if field in rule["when"] else ""
        for j, out in enumerate(outputs):
            row[f"out{j}"] = json.dumps(rule["then"][out])
        rows.append(row)
    return {
        "id": node_id,
        "type": "decisionTableNode",
        "name": node_id,
        "position": {"x": 200, "y": 0},
        "content": {
            "hitPolicy": "first",
            "inputs": inputs,
            "outputs": [
                {"id": f"out{j}", "name": out, "field": out, "type": "expression"}
                for j, out in enumerate(outputs)
            ],
            "rules": rows,
        },
    }


def zen_graph(routing: list[dict[str, Any]]) -> dict[str, Any]:
    """A JDM graph: input -> (routing table, priority table) -> output."""
    return {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            _zen_table("routing", routing, ["group"]),
            _zen_table("priority", PRIORITY_RULES, ["impact", "urgency"]),
            {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}},
        ],
        "edges": [
            {"id": "e1", "sourceId": "in", "targetId": "routing", "type": "edge"},
            {"id": "e2", "sourceId": "in", "targetId": "priority", "type": "edge"},
            {"id": "e3", "sourceId": "routing", "targetId": "out", "type": "edge"},
            {"id": "e4", "sourceId": "priority", "targetId": "out", "type": "edge"},
        ],
    }


ZEN_MODES = {
    "zen-engine/static": "ZenEngine static loader: the graph compiled once, kept",
    "zen-engine/content": "loader returning one cached ZenDecisionContent (pre-compiled)",
    "zen-engine/decision": "create_decision(content) once, decision.evaluate per request",
}
"""zen-engine's modes timed, by ``impl`` name. The static loader is its fastest
documented mode and the one the targets are measured against."""


def zen_impls(
    routing: list[dict[str, Any]], modes: Sequence[str] = tuple(ZEN_MODES)
) -> dict[str, Callable[[dict[str, Any]], Decision]]:
    """zen-engine in each of ``modes`` (empty when zen-engine is not installed).

    * ``static`` -- ``ZenEngine({"loader": {"type": "static", "content": {key: graph}}})``
      and ``engine.evaluate(key, facts)``: the engine loads and compiles the graph on
      first use and keeps it (zen-engine's documented static loader);
    * ``content`` -- a Python loader that returns one ``ZenDecisionContent`` made
      once (the pre-compiled content zen-engine's Python docs recommend for loaders);
    * ``decision`` -- ``engine.create_decision(content)`` once, then
      ``decision.evaluate(facts)`` (zen-engine's basic usage; slower in this
      binding, kept as a labelled row).
    """
    try:
        import zen
    except ImportError:
        return {}
    graph = zen_graph(routing)
    content = json.dumps(graph)
    engines: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
    if "zen-engine/static" in modes:
        static = zen.ZenEngine({"loader": {"type": "static", "content": {"routing": graph}}})
        engines["zen-engine/static"] = lambda facts: static.evaluate("routing", facts)
    if "zen-engine/content" in modes:
        compiled = zen.ZenDecisionContent(content)
        loaded = zen.ZenEngine({"loader": lambda key: compiled})
        engines["zen-engine/content"] = lambda facts: loaded.evaluate("routing", facts)
    if "zen-engine/decision" in modes:
        decision = zen.ZenEngine().create_decision(content)
        engines["zen-engine/decision"] = decision.evaluate

    def deciding(evaluate: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Decision]:
        def decide(facts: dict[str, Any]) -> Decision:
            result = evaluate(facts)["result"]
            return (result.get("group"), result.get("impact"), result.get("urgency"))

        return decide

    return {name: deciding(evaluate) for name, evaluate in engines.items()}


# -- timing ----------------------------------------------------------------------------


def _calibrate(
    decide: Callable[[dict[str, Any]], Any],
    facts: Sequence[dict[str, Any]],
    budget_s: float,
    least: int,
) -> int:
    """How many requests one timed pass over ``decide`` should take (about ``budget_s``)."""
    probe = facts[:least]
    start = time.perf_counter()
    for f in probe:
        decide(f)
    per = (time.perf_counter() - start) / len(probe)
    return max(least, min(len(facts), int(budget_s / max(per, 1e-9))))


def _time_pass(
    decide: Callable[[dict[str, Any]], Decision], facts: Sequence[dict[str, Any]]
) -> float:
    """Seconds per decision over one pass (garbage collection off, as timeit does)."""
    gc.disable()
    try:
        start = time.perf_counter()
        for f in facts:
            decide(f)
        return (time.perf_counter() - start) / len(facts)
    finally:
        gc.enable()


def _check_agree(
    size: int,
    impls: dict[str, Callable[[dict[str, Any]], Decision]],
    check: Sequence[dict[str, Any]],
) -> None:
    """Raise unless every implementation decides ``check`` as reqfulfill does."""
    expected = [impls["reqfulfill"](f) for f in check]
    for name, decide in impls.items():
        got = [decide(f) for f in check]
        if got != expected:
            bad = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
            raise AssertionError(
                f"{name} disagrees at {size} rules on request {bad}: {got[bad]} != {expected[bad]}"
            )


def _compile_row(size: int, data: list[dict[str, Any]], repeats: int) -> dict[str, Any]:
    """The time to build the assignment rule set of ``size`` rules."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        RuleSet([Rule(r["name"], r["when"], r["then"]) for r in data])
        times.append(time.perf_counter() - start)
    return _row("compile", size, "reqfulfill", times, statistics.median(times), None)


def run(quick: bool = False, *, sizes: Sequence[int] = SIZES) -> list[dict[str, Any]]:
    """Run the routing benchmark; one row per (benchmark, size, implementation).

    Repeats are interleaved across sizes and implementations, so load on a
    shared machine slows every contender alike instead of skewing one ratio.
    """
    repeats = 3 if quick else 7
    budget = 0.05 if quick else 0.2
    least = 5 if quick else 20
    rows: list[dict[str, Any]] = []
    work: list[tuple[int, str, Callable[[dict[str, Any]], Any], list[dict[str, Any]]]] = []
    for size in sizes:
        data = routing_rules(size)
        facts = requests(1_000 if quick else 4_000, data)

        rows.append(_compile_row(size, data, 1 if quick else 3))

        impls: dict[str, Callable[[dict[str, Any]], Decision]] = {
            "reqfulfill": reqfulfill_impl(data),
            "naive-scan": naive_impl(data),
        }
        impls.update(zen_impls(data))
        _check_agree(size, impls, facts[: 50 if quick else 300])
        for name, decide in impls.items():
            work.append((size, name, decide, facts[: _calibrate(decide, facts, budget, least)]))
        # the assignment rule set alone: what the index does, without Routing's assembly
        alone = RuleSet([Rule(r["name"], r["when"], r["then"]) for r in data])
        work.append(
            (size, "decide", alone.decide, facts[: _calibrate(alone.decide, facts, budget, least)])
        )

    times: dict[tuple[int, str], list[float]] = {(size, name): [] for size, name, _, _ in work}
    for _ in range(repeats):
        for size, name, decide, chosen in work:
            times[size, name].append(_time_pass(decide, chosen))

    medians = {key: statistics.median(values) for key, values in times.items()}
    baseline = medians[sizes[0], "reqfulfill"]
    for size in sizes:
        ours = medians[size, "reqfulfill"]
        for (at, name), values in times.items():
            if at == size and name != "decide":
                rows.append(
                    _row("routing", size, name, values, medians[at, name], medians[at, name] / ours)
                )
        rows.append(
            _row("scaling", size, "reqfulfill", times[size, "reqfulfill"], ours, ours / baseline)
        )
        decided = medians[size, "decide"]
        first = medians[sizes[0], "decide"]
        rows.append(
            _row("scaling", size, "decide", times[size, "decide"], decided, decided / first)
        )
    return rows


def _row(
    benchmark: str, size: int, impl: str, times: Sequence[float], median: float, ratio: float | None
) -> dict[str, Any]:
    spread = (max(times) - min(times)) / median if median else 0.0
    return {
        "benchmark": benchmark,
        "size": size,
        "impl": impl,
        "ops_per_s": round(1 / median, 1) if median else 0.0,
        "median_s": median,
        "spread": round(spread, 3),
        "ratio": round(ratio, 2) if ratio is not None else 1.0,
    }


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as an aligned text table."""
    head = (
        f"{'benchmark':<10} {'size':>6} {'impl':<20} {'ops/s':>12} {'median':>11} "
        f"{'spread':>7} {'ratio':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['benchmark']:<10} {r['size']:>6} {r['impl']:<20} {r['ops_per_s']:>12,.0f} "
            f"{r['median_s'] * 1e6:>9.1f}us {r['spread']:>7.2f} {r['ratio']:>7.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(run(quick="--quick" in sys.argv[1:])))
